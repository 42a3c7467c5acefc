"""The crossings contract checked on Spark: a log's problems found on the cluster, named as :func:`check_crossings` names them.

:func:`_check_log` is :func:`~riskmodel.core.schema.check_crossings` on a Spark log, as ``build_features`` runs it
in-process: Spark's own expressions first (:func:`_not_plain`, no row shipped to Python), and only a log they do not
find plainly valid goes to the full check, each traveller's crossings together on the executors. The nightly run
(:mod:`riskmodel.integrations.spark_nightly`) and the Spark stays and features
(:mod:`riskmodel.integrations.spark_features`, ``validate=True``) run it before anything is built.

This module imports ``pyspark`` and belongs to the Spark integration.
"""

from __future__ import annotations

import json

import pandas as pd

__all__: list[str] = []


def _check_group(pdf: pd.DataFrame) -> pd.DataFrame:
    """The crossings contract's problems in one group of travellers (each with its whole history), as JSON rows."""
    import dataclasses

    from riskmodel.core.schema import check_crossings

    found = check_crossings(pdf.drop(columns="_group"))
    return pd.DataFrame({"problem": [json.dumps(dataclasses.asdict(p)) for p in found]}, dtype=object)


#: Spark types a column of each contract kind may have for the fast path; any other (a float year, zoned times, text
#: times) is left to the full check, which names the problem.
_PLAIN_TYPES = {"id": ("StringType",), "text": ("StringType",), "enum": ("StringType",), "datetime": ("TimestampNTZType",),
                "int": ("ByteType", "ShortType", "IntegerType", "LongType"), "bool": ("BooleanType",)}
#: Java regular expressions (``\A``/``\z``: ``$`` would also match before a final line break): printable ASCII, an id
#: or a text (a port) with no space around it (the contract's rules take more, the full check judges it).
_PLAIN_ID, _PLAIN_TEXT, _PLAIN_ISO3 = r"\A[!-~]([ -~]*[!-~])?\z", r"\A([!-~]([ -~]*[!-~])?)?\z", r"\A[A-Z]{3}\z"


def _plain_row_rules(log) -> list:
    """Spark expressions, each true on a row that may break a row rule of ``check_crossings`` (null: no verdict, the
    rules for missing values come first and are never null)."""
    from pyspark.sql import functions as F

    from riskmodel.core.schema import CROSSINGS, FEATURE_DOMAINS, MAX_PERMIT_YEARS, TIMES_BEFORE, TIMES_FROM

    present, entry = set(log.columns), F.col("direction") == "entry"
    rules = []
    for c in (c for c in CROSSINGS if c.name in present):
        v = F.col(c.name)
        rules.append(v.isNull() if c.nullable == "no" else (v.isNull() & entry) if c.nullable == "exit" else F.lit(False))
        if c.kind in ("id", "text"):
            rules.append(~v.rlike(_PLAIN_ID if c.kind == "id" else _PLAIN_TEXT))
        if c.kind == "id":  # a '+': maybe a spreadsheet's 1.23457E+10, which the id rule refuses
            rules.append(v.contains("+"))
        elif c.kind == "enum":
            rules.append(~v.isin(*c.values))
    ts = F.col("timestamp")
    rules.append((ts < F.lit(str(TIMES_FROM)).cast("timestamp_ntz")) | (ts >= F.lit(str(TIMES_BEFORE)).cast("timestamp_ntz")))
    if "nationality" in present:
        rules.append(~F.col("nationality").rlike(_PLAIN_ISO3))
    if "birth_year" in present:
        rules.append((F.col("birth_year") > F.year(ts)) | (F.col("birth_year") < F.year(ts) - 120))
    for name in ("group_size", "planned_stay_days"):
        if name in present:
            low, high = FEATURE_DOMAINS[name].low, FEATURE_DOMAINS[name].high
            rules.append(entry & ((F.col(name) < low) | (F.col(name) > high)))
    if "permit_end" in present:  # days apart, not a date moved: no overflow on any date
        apart = F.datediff(F.to_date("permit_end"), F.to_date(ts))
        rules.append((apart > 365 * MAX_PERMIT_YEARS) | (entry & (apart < 0)))
    return rules


def _not_plain(log, by: str = "traveller_id") -> list:
    """Lazy DataFrames of the values of ``by`` whose crossings are not *plainly* valid; all empty: the log is.

    The fast path of :func:`_check_log`: Spark's own expressions, no row shipped to Python. They mirror every rule of
    :func:`~riskmodel.core.schema.check_crossings`, conservatively (printable ASCII only, every time within 1900-2199,
    no two crossings of a traveller at one time): a log they do not find plainly valid goes to the full check, which
    names the problems. Rows are judged within each value of ``by`` (a test judges many small logs at once); with a
    column type the fast path does not take, one DataFrame of every ``by`` value.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from riskmodel.core.schema import CROSSINGS

    types = {f.name: type(f.dataType).__name__ for f in log.schema.fields}
    if any(c.name in types and types[c.name] not in _PLAIN_TYPES[c.kind] for c in CROSSINGS):
        return [log.select(by)]
    flag = F.lit(False)
    for rule in _plain_row_rules(log):
        flag = flag | F.coalesce(rule, F.lit(False))  # a missing value is judged by its column's rule for missing ones
    keys = list(dict.fromkeys((by, "traveller_id")))
    order = Window.partitionBy(*keys).orderBy("timestamp")
    broken = (F.lag("timestamp").over(order) == F.col("timestamp")) | (F.lag("direction").over(order) == F.col("direction"))
    carried = [*keys, "timestamp", "direction"]
    if "permit_end" in log.columns:
        # an exit whose permit in force ends before the day of the entry it closes (check_crossings' sequence rule)
        broken = broken | ((F.lag("direction").over(order) == "entry") & (F.col("direction") == "exit")
                           & (F.datediff(F.to_date("permit_end"), F.to_date(F.lag("timestamp").over(order))) < 0))
        carried.append("permit_end")
    # one scan: the row verdict travels with the sequence's shuffle (one boolean beside the keys)
    rows = log.select(*carried, flag.alias("_bad"))
    # ids repeat across the whole log, not within a traveller only: two files numbered from 1 give two travellers' crossings
    # one id (a test's small logs, each its own `by`, are judged apart)
    ids = log.groupBy("crossing_id").agg(F.count(F.lit(1)).alias("count"), F.first(by).alias(by)) if by == "traveller_id" \
        else log.groupBy(by, "crossing_id").count()
    return [
        rows.select(by, (F.col("_bad") | F.coalesce(broken, F.lit(False))).alias("_bad")).where("_bad").select(by),
        ids.where(F.col("count") > 1).select(by),
    ]


def _duplicate_ids(log) -> list:
    """check_crossings' "duplicate ids" problem over the whole log (a traveller bucket sees its own repeats only).

    Every repeated row counted, the first few ids named (in id order: Spark has no row order), or none.
    """
    from pyspark.sql import functions as F

    from riskmodel.core.exceptions import SchemaProblem

    repeated = log.where(F.col("crossing_id").isNotNull()).groupBy("crossing_id").count().where(F.col("count") > 1)
    n = repeated.agg(F.sum("count")).first()[0]
    if not n:
        return []
    first = [str(r[0]) for r in repeated.orderBy("crossing_id").limit(5).select("crossing_id").collect()]
    return [SchemaProblem("crossing_id", "duplicate ids", "make `crossing_id` unique (drop repeated records)", tuple(first), int(n))]


def _file_problems(spark, log) -> list:
    """The columns on which the Parquet files of a log read from files disagree (:mod:`riskmodel.core.parquet_parts`).

    Spark reads such a folder with the schema of one file it picks: a file whose column has another type fails the
    read with a Java stack trace, a zone-aware time is read as another clock time, a column missing from some files
    is read as empty. Local files (``file:``) have their footers compared one by one, every column named with the
    files on each side; files on another store are read once with ``mergeSchema``, which finds two types of one
    column (not a column missing from some files: those rows then reach the contract check as missing values).
    """
    import os
    import urllib.parse

    from riskmodel.core.exceptions import SchemaProblem
    from riskmodel.core.parquet_parts import parts_problems

    files = [f for f in log.inputFiles() if f.lower().endswith(".parquet")]
    if len(files) < 2:
        return []
    urls = [urllib.parse.urlparse(f) for f in files]
    if all(u.scheme in ("", "file") for u in urls):
        paths = sorted(urllib.parse.unquote(u.path) for u in urls)
        return parts_problems(paths, root=os.path.commonpath(paths))
    try:
        spark.read.option("mergeSchema", "true").parquet(*files).schema  # noqa: B018 - the footers are read and merged
    except Exception as exc:  # pyspark raises several classes for it (Py4JJavaError, AnalysisException, Connect's)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "MERGE" not in first.upper():
            raise
        return [SchemaProblem("<table>", f"the log's Parquet files disagree on the type of a column (Spark: {first[:300]})",
                              "write every column with one type in every file (times as local port time without a "
                              "zone, whole numbers as an integer dtype), then run again")]
    return []


def _check_log(spark, log) -> None:
    """:func:`~riskmodel.core.schema.check_crossings` on the log, as ``build_features`` runs it in-process.

    Column problems (a missing column, text times) are found on the log's empty head on the driver. A log Spark's
    expressions find plainly valid (:func:`_not_plain`) is done; any other has every
    traveller's crossings checked together on the executors (``pmod(xxhash64(traveller_id), groups)``, one
    group per shuffle partition), so duplicates within a traveller and entries without exits are found as in-process.
    Only the problems reach the driver, merged by column and problem (the first few ids, every row counted); repeated
    crossing ids are counted on the whole log (:func:`_duplicate_ids`), as two travellers may share one across buckets.
    """
    from dataclasses import replace

    from pyspark.sql import functions as F

    from riskmodel.core.exceptions import SchemaError, SchemaProblem
    from riskmodel.core.schema import CROSSINGS, check_crossings

    files = _file_problems(spark, log)  # files that disagree: Spark would read them by its own choice of file
    if files:
        raise SchemaError("crossings", files)
    log = log.select(*[c for c in log.columns if c in {col.name for col in CROSSINGS}])
    found = check_crossings(log.limit(0).toPandas())
    if not found and all(part.isEmpty() for part in _not_plain(log)):
        return
    if not found:
        groups = max(1, int(spark.conf.get("spark.sql.shuffle.partitions", "200")))
        keyed = log.withColumn("_group", F.pmod(F.xxhash64("traveller_id"), F.lit(groups)))
        rows = keyed.groupBy("_group").applyInPandas(_check_group, "problem string").collect()
        merged: dict[tuple[str, str, str], SchemaProblem] = {}
        for r in rows:
            fields = json.loads(r[0])
            p = SchemaProblem(**{**fields, "record_ids": tuple(fields["record_ids"])})
            m = merged.get((p.column, p.problem, p.fix))
            merged[(p.column, p.problem, p.fix)] = p if m is None else replace(
                m, record_ids=(m.record_ids + p.record_ids)[:5], n_rows=m.n_rows + p.n_rows)
        # the buckets saw only the repeats whose twin fell in the same bucket: counted again on the whole log
        found = [p for p in merged.values() if (p.column, p.problem) != ("crossing_id", "duplicate ids")]
        found[:0] = _duplicate_ids(log)
    if found:
        raise SchemaError("crossings", found)
