"""The nightly run on Spark: crossings log in, features, scores, drift, partitioned Parquet out, resumable.

:func:`nightly_spark` reads the crossings log (Parquet at any Hadoop-compatible URI, or a
Spark DataFrame read from the database with ``spark.read.jdbc``), builds stays and
point-in-time features on the cluster (:mod:`riskmodel.integrations.spark_features`),
scores them with the batch defaults (bad rows flagged, reasons only for ``elevated`` and
``high``) and writes ``<output>/part=<k>/`` Parquet folders, one per traveller bucket
``pmod(xxhash64(traveller_id), parts)``. A traveller's whole history lies in one bucket, so
each bucket is a complete, independent piece of the run.

Resuming: after a bucket's Parquet is written, one row (bucket, row and band counts,
drift bin counts) is appended to the commit log ``<output>/_commits`` (Parquet; Spark's
readers skip folders starting with ``_``). A rerun skips committed buckets and rewrites
the others with ``mode("overwrite")``, so a run killed at any moment loses no row and
repeats none. The commit rows carry a digest of the run's settings (input, ``as_of``,
scope, buckets, model SHA-256): a rerun with other settings is refused, not mixed in.

Drift: the training reference's bins are counted by one Spark aggregation per bucket
(features and score) and only the counts reach the driver; PSI is computed from the
summed counts. The run summary is written to ``<output>/_summary`` (JSON text) through
Spark as well, so no step needs a driver-local path and the driver holds only counts.

The model travels as its verified text (see :func:`riskmodel.integrations.spark.model_payload`).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from riskmodel.core.batch_result import BatchResult
from riskmodel.core.exceptions import BatchError, ConfigError
from riskmodel.core.monitoring.drift import profile_from_reference, psi, psi_verdict
from riskmodel.core.scoring import BAND_ORDER, as_scorer

__all__ = ["nightly_spark", "NIGHTLY_REASONS", "NIGHTLY_REASONS_MIN_BAND", "NIGHTLY_ERRORS", "SCOPES"]

#: The batch defaults the nightly run scores with (as :func:`riskmodel.score_file`).
NIGHTLY_REASONS = 3
NIGHTLY_REASONS_MIN_BAND = "elevated"
NIGHTLY_ERRORS = "flag"
#: ``in_country``: stays with no exit at ``as_of`` (everyone in the country); ``all``: every stay.
SCOPES = ("in_country", "all")
_PASSTHROUGH = ("traveller_id", "entry_time", "entry_port", "nationality")
_COMMIT_COLUMNS = ("part", "digest", "rows", "bands", "drift")


def _join(uri: str, name: str) -> str:
    return f"{uri.rstrip('/')}/{name}"


def _resolve_as_of(log, as_of) -> str:
    """``as_of`` pinned to a fixed time (default: the log's last crossing), so every bucket and a rerun agree."""
    import pandas as pd

    from riskmodel.integrations.spark_features import _as_of_seconds

    seconds = _as_of_seconds(log, as_of)  # also refuses a zoned or unreadable as_of
    if seconds is None:
        raise BatchError("the crossings log is empty: nothing to score; check the input URI or the database query.")
    return str(pd.Timestamp(int(seconds), unit="s"))


def _read_commits(spark, output: str) -> list[dict[str, Any]]:
    """The committed buckets of an earlier run at ``output`` (empty when there is none)."""
    from pyspark.errors import AnalysisException

    try:
        rows = spark.read.parquet(_join(output, "_commits")).collect()
    except AnalysisException:
        return []
    return [r.asDict() for r in rows]


def _append_commit(spark, output: str, row: dict[str, Any], *, mode: str = "append") -> None:
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField("part", T.IntegerType()), T.StructField("digest", T.StringType()),
                           T.StructField("rows", T.LongType()), T.StructField("bands", T.StringType()),
                           T.StructField("drift", T.StringType())])
    data = [tuple(row[c] for c in _COMMIT_COLUMNS)] if row else []
    spark.createDataFrame(data, schema).coalesce(1).write.mode(mode).parquet(_join(output, "_commits"))


def _bin_index(df, column: str, spec: dict):
    """A Spark column: the reference bin of ``column``'s value, as :class:`DriftCounter` bins it."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    last = len(spec["edges"]) + 1 if spec["kind"] == "numeric" else len(spec["levels"])
    if column not in df.columns:
        return F.lit(last)
    col = F.col(column)
    if spec["kind"] == "numeric":
        value = col.cast("double")
        idx = sum((F.when(value >= F.lit(float(e)), 1).otherwise(0) for e in spec["edges"]), F.lit(0))
        return F.when(value.isNull() | F.isnan(value), F.lit(last)).otherwise(idx)
    is_bool = isinstance(df.schema[column].dataType, T.BooleanType)
    # pandas renders booleans "True"/"False" where Spark writes "true"/"false"
    text = F.when(col, "True").otherwise("False") if is_bool else col.cast("string")
    codes = F.create_map(*[x for i, level in enumerate(spec["levels"]) for x in (F.lit(str(level)), F.lit(i))])
    return F.coalesce(codes[text], F.lit(last))


def _drift_counts(df, reference: dict) -> dict[str, list[int]]:
    """Bin counts of every reference column in ``df``, in one Spark aggregation."""
    from pyspark.sql import functions as F

    wanted = {c: spec for c, spec in reference.items() if c in df.columns}
    if not wanted:
        return {}
    binned = df.select(*[_bin_index(df, c, spec).alias(f"b{i}") for i, (c, spec) in enumerate(wanted.items())])
    sizes = {c: (len(s["edges"]) + 2 if s["kind"] == "numeric" else len(s["levels"]) + 1) for c, s in wanted.items()}
    aggs = [F.count(F.when(F.col(f"b{i}") == b, 1)) for i, c in enumerate(wanted) for b in range(sizes[c])]
    row = binned.agg(*aggs).first()
    out, pos = {}, 0
    for c in wanted:
        out[c] = [int(v) for v in row[pos:pos + sizes[c]]]
        pos += sizes[c]
    return out


def _write_part(scored, uri: str) -> None:
    """Write one bucket's scores (a separate function so a test can kill the run in the middle)."""
    scored.write.mode("overwrite").parquet(uri)


def _run_part(spark, log, k: int, plan: dict[str, Any], scorer, reference: dict) -> dict[str, Any]:
    """Features, scores, Parquet and counts of bucket ``k``; returns its commit row."""
    from pyspark.sql import functions as F

    from riskmodel.integrations.spark import score_spark
    from riskmodel.integrations.spark_features import build_features_spark

    mine = log.where(F.pmod(F.xxhash64("traveller_id"), F.lit(plan["parts"])) == k)
    feats = build_features_spark(mine, as_of=plan["as_of"])
    if plan["scope"] == "in_country":
        feats = feats.where(F.col("exit_time").isNull())
    feats = feats.persist()
    try:
        scored = score_spark(feats, model=scorer, reasons=NIGHTLY_REASONS, reasons_min_band=NIGHTLY_REASONS_MIN_BAND,
                             errors=NIGHTLY_ERRORS, passthrough=_PASSTHROUGH, audit_log=False)
        uri = _join(plan["output"], f"part={k}")
        _write_part(scored, uri)
        written = spark.read.parquet(uri)
        bands = {(b if b is not None else "flagged"): int(n) for b, n in written.groupBy("risk_band").count().collect()}
        drift = _drift_counts(feats, {c: s for c, s in reference.items() if c != "probability"})
        drift.update(_drift_counts(written, {"probability": reference["probability"]} if "probability" in reference else {}))
    finally:
        feats.unpersist()
    return {"part": k, "digest": plan["digest"], "rows": sum(bands.values()), "bands": json.dumps(bands),
            "drift": json.dumps(drift)}


def _summary(commits: list[dict[str, Any]], reference: dict, scorer, plan: dict[str, Any]) -> dict[str, Any]:
    """The run summary from the commit rows: counts summed over buckets, PSI per column."""
    bands = dict.fromkeys((*BAND_ORDER, "flagged"), 0)
    counts: dict[str, list[int]] = {}
    for row in commits:
        for b, n in json.loads(row["bands"]).items():
            bands[b] = bands.get(b, 0) + n
        for c, v in json.loads(row["drift"]).items():
            counts[c] = [a + b for a, b in zip(counts.get(c, [0] * len(v)), v, strict=True)]
    values = {c: psi(reference[c]["fractions"], v) for c, v in counts.items()}
    rows = sum(int(r["rows"]) for r in commits)
    return {
        "model_name": scorer.name, "model_version": scorer.version, "model_sha256": plan["model_sha256"],
        "as_of": plan["as_of"], "scope": plan["scope"], "rows_out": rows, "parts": plan["parts"],
        "band_counts": bands, "band_shares": {b: n / max(rows, 1) for b, n in bands.items()},
        "psi": {c: (round(v, 5) if v == v else None) for c, v in values.items()},
        "psi_verdict": {c: psi_verdict(v) for c, v in values.items()},
        "psi_rule": "PSI < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift (check the feed or retrain)",
    }


def _session():
    """A Spark Connect session when ``SPARK_REMOTE`` names a server, else the active or a local one."""
    import os

    from riskmodel.integrations.spark import local_session

    if os.environ.get("SPARK_REMOTE"):
        from pyspark.sql import SparkSession

        # a master URL beside SPARK_REMOTE is refused by pyspark: the server owns the cluster settings
        return SparkSession.builder.appName("riskmodel-nightly").getOrCreate(), True
    return local_session("riskmodel-nightly")


def _plan(log, crossings, output: str, *, scorer, as_of, scope: str, parts: int) -> dict[str, Any]:
    from riskmodel.integrations.spark import model_payload

    if scope not in SCOPES:
        raise ConfigError(f"`scope` must be one of {SCOPES}; got {scope!r}.")
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ConfigError(f"`parts` must be an int >= 1; got {parts!r}.")
    sha = model_payload(scorer)["sha256"]
    plan = {"input": crossings if isinstance(crossings, str) else "<DataFrame>", "output": output,
            "as_of": _resolve_as_of(log, as_of), "scope": scope, "parts": parts, "model_sha256": sha,
            "reasons": NIGHTLY_REASONS, "reasons_min_band": NIGHTLY_REASONS_MIN_BAND, "errors": NIGHTLY_ERRORS}
    plan["digest"] = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()
    return plan


def nightly_spark(
    crossings,
    output: str | Path,
    *,
    model,
    as_of=None,
    scope: str = "in_country",
    parts: int = 8,
    overwrite: bool = False,
    spark=None,
) -> BatchResult:
    """The nightly run on Spark: stays, features, scores, drift; partitioned Parquet, resumable by bucket.

    Parameters
    ----------
    crossings : str, Path or pyspark.sql.DataFrame
        The crossings log: Parquet at a Hadoop-compatible URI (``hdfs://``, ``s3a://``,
        ``abfss://``, ``gs://``, ``file:/``), or a DataFrame (e.g. ``spark.read.jdbc``).
    output : str or Path
        Output folder URI: ``part=<k>/`` Parquet folders, ``_commits`` and ``_summary``.
    model : str, Path, RiskModel or Scorer
        As for :func:`riskmodel.score`; loaded (and its manifest verified) once on the driver,
        shipped to the workers as text with its SHA-256.
    as_of : str or Timestamp, optional
        Read the log as known at this local time. Default: its last crossing (pinned in
        the run's settings, so a resumed run reads it the same way).
    scope : {"in_country", "all"}, default="in_country"
        Score the stays with no exit at ``as_of`` (everyone in the country), or every stay.
    parts : int, default=8
        Traveller buckets: the unit of writing and resuming.
    overwrite : bool, default=False
        Start again, deleting ``output``; otherwise an earlier run with the same settings
        is resumed and one with other settings is refused.
    spark : SparkSession, optional
        Default: the active session (``spark-submit``, Spark Connect), else a local one.

    Returns
    -------
    BatchResult
        ``output``, ``rows_in`` = ``rows_out`` (stays scored), ``parts``, ``resumed_parts``
        (buckets committed by an earlier run) and ``extra``: ``summary`` (model, ``as_of``,
        ``band_counts``, ``band_shares``, ``psi``, ``psi_verdict``), ``engine`` ("spark"),
        ``seconds``. Output columns: those of :func:`riskmodel.core.scoring.output_columns`
        then ``traveller_id, entry_time, entry_port, nationality`` (``part`` when read as a
        partitioned folder).

    Raises
    ------
    BatchError
        If ``output`` holds a run with other settings (and not ``overwrite``), or the log is empty.
    ConfigError
        For a bad ``scope`` or ``parts``.
    """
    start = time.perf_counter()
    output = str(output)
    session, owned = (spark, False) if spark is not None else _session()
    try:
        log = session.read.parquet(str(crossings)) if isinstance(crossings, str | Path) else crossings
        scorer = as_scorer(model)
        plan = _plan(log, str(crossings) if isinstance(crossings, str | Path) else crossings, output,
                     scorer=scorer, as_of=as_of, scope=scope, parts=parts)
        reference = profile_from_reference(scorer.model.reference_)
        if overwrite:
            # an empty partitioned write empties the folder and leaves no data file beside the part= folders
            session.range(0).withColumnRenamed("id", "part").write.partitionBy("part").mode("overwrite").parquet(output)
            commits = []
        else:
            commits = _read_commits(session, output)
        foreign = sorted({c["digest"][:12] for c in commits if c["digest"] != plan["digest"]})
        if foreign:
            raise BatchError(f"`output` {output} holds a nightly run with other settings (digest {', '.join(foreign)}; "
                             f"this run is {plan['digest'][:12]}): pass overwrite=True (--overwrite) or another output.")
        done = {int(c["part"]) for c in commits}
        for k in range(parts):
            if k not in done:
                row = _run_part(session, log, k, plan, scorer, reference)
                _append_commit(session, output, row)
                commits.append(row)
        summary = _summary(commits, reference, scorer, plan)
        summary["seconds"] = round(time.perf_counter() - start, 2)
        session.createDataFrame([(json.dumps(summary, sort_keys=True),)], "value string").coalesce(1).write.mode(
            "overwrite").text(_join(output, "_summary"))
    finally:
        if owned:
            session.stop()
    rows = summary["rows_out"]
    return BatchResult(output=output, rows_in=rows, rows_out=rows, parts=parts, resumed_parts=len(done),
                       extra={"summary": summary, "engine": "spark", "seconds": summary["seconds"]})
