"""Spark adapters: score stays and forecast many series on a Spark cluster, same contracts as in-process.

This is the only module that imports ``pyspark`` (install the ``spark`` extra:
``pip install "riskmodel[spark]"``), and it imports it inside the functions, so
``import riskmodel`` never needs Spark.

:func:`score_spark`
    Scores a Spark DataFrame of stays with ``mapInPandas``. The driver loads the
    model once (any URI :func:`riskmodel.load` accepts), turns it into its two
    plain files (``model.txt``, LightGBM's text format, and ``meta.json``) and
    broadcasts their *text*; each Python worker rebuilds the model from that text
    once (cached by content hash for the life of the worker) and runs
    :func:`riskmodel.score` on every Arrow batch of its partitions. No model object
    is pickled. Output columns and values are those of :func:`riskmodel.score`.

:func:`forecast_spark`
    Runs the models of a :class:`~riskmodel.core.forecasting.Forecaster` per group
    (by default per series) with ``groupBy(...).applyInPandas``; the groups' backtest
    errors come back to the driver, which chooses and calibrates over all series
    (the history itself is never collected); the forecasts (series x horizon rows,
    small) are collected to the driver and, given a hierarchy, reconciled there
    with :func:`riskmodel.core.forecasting.reconcile`.

Partitioning: scoring is embarrassingly parallel, one task per input partition
(for Parquet, about one per 128 MB split); Arrow batches of
``spark.sql.execution.arrow.maxRecordsPerBatch`` rows (Spark's default 10,000;
50,000 in sessions :func:`local_session` starts) are each one :func:`~riskmodel.score`
call. Forecasting shuffles the history by group
into ``spark.sql.shuffle.partitions`` partitions; one group must fit in a
worker's memory.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import tempfile
import threading
import urllib.parse
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.core.batch_result import BatchResult
from riskmodel.core.exceptions import ConfigError, SchemaError, SchemaProblem
from riskmodel.core.forecasting.distributed import fit_from_parts, run_parts
from riskmodel.core.forecasting.engine import warn_fallbacks
from riskmodel.core.forecasting.forecaster import (
    Forecaster, _check_hierarchy, _check_series_reach_the_end, incoherent_error, output_columns as forecast_columns, warn_largest_error_ends,
    warn_young_series,
)
from riskmodel.core.forecasting.reconcile import reconcile as reconcile_forecasts
from riskmodel.core.forecasting.series import Hierarchy
from riskmodel.core.progress import ProgressHook, Stages
from riskmodel.core.risk.model import RiskModel
from riskmodel.core.score_input import Problems, absent_features, flat_unique
from riskmodel.core.scoring import (
    BAND_ORDER, MissingFeatureWarning, Scorer, as_scorer, check_passthrough, check_score_args, flag_repeated_rows, output_columns,
    repeated_id_problem, score,
)

__all__ = ["score_spark", "score_parquet", "forecast_spark", "model_payload", "local_session", "scoring_plan", "ScoringPlan"]

_MODEL_FILES = ("model.txt", "meta.json")


# ----------------------------------------------------------------------------- model shipping


def model_payload(model) -> dict[str, str]:
    """The model as plain text for shipping to Spark workers: its saved files, its name and version.

    Parameters
    ----------
    model : str, Path, RiskModel or Scorer
        Anything :func:`riskmodel.load` accepts.

    Returns
    -------
    dict of str to str
        ``model.txt`` and ``meta.json`` (the contents :meth:`RiskModel.save` writes),
        ``name``, ``version`` and ``sha256`` (of the two files, the worker-side cache key).
    """
    scorer = as_scorer(model)
    with tempfile.TemporaryDirectory(prefix="riskmodel-payload-") as tmp:
        scorer.model.save(tmp)
        files = {name: (Path(tmp) / name).read_text(encoding="utf-8") for name in _MODEL_FILES}
    h = hashlib.sha256()
    for name in _MODEL_FILES:
        h.update(files[name].encode("utf-8"))
    return {**files, "name": scorer.name, "version": scorer.version, "sha256": h.hexdigest()}


def _verify_payload(payload: dict[str, str]) -> None:
    """Refuse model text whose SHA-256 is not the one the driver computed (a corrupted or altered payload)."""
    from riskmodel.core.exceptions import ModelLoadError

    h = hashlib.sha256()
    for name in _MODEL_FILES:
        h.update(payload[name].encode("utf-8"))
    if h.hexdigest() != payload["sha256"]:
        raise ModelLoadError(
            f"the model text shipped to this Spark worker has SHA-256 {h.hexdigest()[:12]}, not the driver's "
            f"{payload['sha256'][:12]}: the payload was altered in transit; rerun, and check the cluster's storage."
        )


_worker_scorers: dict[str, Scorer] = {}
_worker_lock = threading.Lock()


def _worker_scorer(payload: dict[str, str]) -> Scorer:
    """The payload's model, rebuilt from its files once per Python worker process.

    LightGBM predicts on OpenMP's default thread count, which Spark sets for its Python
    workers (``OMP_NUM_THREADS`` = ``spark.task.cpus`` unless ``spark.executorEnv`` sets it),
    so concurrent tasks do not oversubscribe an executor.
    """
    key = payload["sha256"]
    with _worker_lock:
        scorer = _worker_scorers.get(key)
        if scorer is None:
            _verify_payload(payload)
            with tempfile.TemporaryDirectory(prefix="riskmodel-worker-") as tmp:
                for name in _MODEL_FILES:
                    (Path(tmp) / name).write_text(payload[name], encoding="utf-8")
                model = RiskModel.load(tmp)
            scorer = Scorer(model, name=payload["name"], version=payload["version"], source=f"spark:{key[:12]}")
            _worker_scorers[key] = scorer
        return scorer


# ----------------------------------------------------------------------------- scoring


def _score_batches(batches: Iterator[pd.DataFrame], *, payload, kwargs: dict[str, Any], names: list[str],
                   columns: list[str], marked: bool = False) -> Iterator[pd.DataFrame]:
    """score() on every batch; ``marked``: each batch's last column says which rows' ids the whole input repeats
    (:func:`_mark_repeats`), flagged (or refused) as score() does a repeat within its call."""
    # module level (not a closure) so cloudpickle ships a reference, and the worker cache is shared by tasks
    scorer = _worker_scorer(payload.value if hasattr(payload, "value") else payload)
    with warnings.catch_warnings():
        # unseen levels are scored as missing and reported per row, as in-process
        warnings.simplefilter("ignore", MissingFeatureWarning)
        for pdf in batches:
            hit = None
            if marked:
                pdf, hit = pdf.iloc[:, :-1], _repeats_in_batch(pdf.iloc[:, -1], pdf.iloc[:, 0])
            try:
                if hit is not None and hit.any() and kwargs["errors"] == "raise":
                    ids = pdf.iloc[:, 0][hit]
                    raise SchemaError("stays", [repeated_id_problem(kwargs["id_column"], ids.unique()[:5], int(hit.sum()))])
                out = score(pdf.set_axis(names, axis=1), model=scorer, audit_log=False, **kwargs)
            except SchemaError as exc:
                raise _with_problems(exc) from None
            if hit is not None and hit.any():
                out = flag_repeated_rows(out.reset_index(drop=True), hit, kwargs["id_column"], kwargs["reasons"])
            yield out.reset_index(drop=True)[columns]


def _repeats_in_batch(marks: pd.Series, ids: pd.Series) -> np.ndarray:
    """The rows of a batch whose id the whole input repeats (``marks``), missing and blank ids left out as
    score() leaves them out (it flags them on their own, never as repeats)."""
    hit = marks.fillna(False).to_numpy(dtype=bool) & ~np.asarray(pd.isna(ids), dtype=bool)
    if hit.any():
        hit[hit] = [not (isinstance(v, str) and not v.strip()) for v in ids[hit]]
    return hit


def _repeated_ids(selected, id_name: str):
    """The ids ``selected`` (a :meth:`ScoringPlan.select`) gives to more than one row, with their row ``count``: a
    Spark aggregation (lazy) over every partition, missing and blank ids left out as score() leaves them out."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    ids = selected.select(F.col(id_name).alias("_rid")).where(F.col("_rid").isNotNull())
    if isinstance(ids.schema["_rid"].dataType, T.StringType):
        ids = ids.where(~F.col("_rid").rlike(r"(?U)^[\s\x1c-\x1f]*$"))  # Python's str.isspace, as score() judges blanks
    return ids.groupBy("_rid").count().where(F.col("count") > 1)


def _mark_repeats(selected, id_name: str):
    """``selected`` with a last column true on the rows whose id any other row of it has too (in any partition), so that
    each worker's score() call flags them as it flags a repeat within its call. A left join on the (few) repeated ids,
    broadcast: ``selected``'s partitions and row order stay as they were."""
    from pyspark.sql import functions as F

    repeats = _repeated_ids(selected, id_name).select("_rid", F.lit(True).alias("_repeat"))
    return selected.join(F.broadcast(repeats), F.col(id_name) == F.col("_rid"), "left").drop("_rid")


def _refuse_repeated_ids(selected, id_column: str, id_name: str) -> None:
    """score_file's refusal (errors="raise") of an input that gives an id to more than one row, before any output:
    the first five such ids (in id order) and their rows' count, from an aggregation on the cluster."""
    from pyspark.sql import functions as F

    repeated = _repeated_ids(selected, id_name).cache()
    try:
        rows = repeated.agg(F.sum("count")).first()[0]
        if not rows:
            return
        shown = [r[0] for r in repeated.orderBy("_rid").limit(5).collect()]
    finally:
        repeated.unpersist()
    raise SchemaError("stays", [repeated_id_problem(id_column, shown, int(rows))])


_PROBLEMS = "riskmodel-problems: "


def _with_problems(exc: SchemaError) -> SchemaError:
    """A worker's SchemaError with its problems appended as one JSON line, for the driver to raise again.

    Spark hands the driver a worker's failure as text (a PythonException around a Java trace); this line
    lets :func:`_driver_schema_error` rebuild the very error :func:`riskmodel.score` raised.
    """
    err = SchemaError(exc.table, exc.problems)
    data = {"table": exc.table, "problems": [dataclasses.asdict(p) for p in exc.problems]}
    err.args = (f"{err}\n{_PROBLEMS}{json.dumps(data)}",)
    return err


def _driver_schema_error(exc: BaseException) -> SchemaError | None:
    """The SchemaError a worker failed with (see :func:`_with_problems`), or None for any other failure."""
    found = re.search(re.escape(_PROBLEMS) + r"(\{.*\})\s*$", str(exc), re.MULTILINE)
    if found is None:
        return None
    data = json.loads(found.group(1))
    return SchemaError(data["table"], [SchemaProblem(**{**p, "record_ids": tuple(p["record_ids"])}) for p in data["problems"]])


def score_spark(
    stays,
    *,
    model,
    reasons: int = 3,
    reasons_min_band: str | None = None,
    errors: str = "raise",
    passthrough: Sequence[str] = (),
    id_column: str = "stay_id",
    purpose: str | None = None,
    audit_log: bool = True,
):
    """Score a Spark DataFrame of stays: :func:`riskmodel.score` on every partition, lazily.

    Parameters
    ----------
    stays : pyspark.sql.DataFrame
        Stays with the model's feature columns and ``id_column``; other columns are
        dropped before scoring unless listed in ``passthrough``.
    model : str, Path, RiskModel or Scorer
        As for :func:`riskmodel.score`; loaded once on the driver and broadcast as text.
    reasons : int, default=3
        Reasons per row.
    reasons_min_band : {"elevated", "high"}, optional
        Reasons only for rows in this band or above.
    errors : {"raise", "flag"}, default="raise"
        ``"raise"`` fails the Spark job on the first batch with a bad value (the
        :class:`~riskmodel.core.exceptions.SchemaError` text is in the Spark error);
        ``"flag"`` scores the good rows and describes the bad ones in ``error``. The whole DataFrame is one
        call for its ids, as :func:`~riskmodel.integrations.batch.scoring.score_file`'s input is: every row of an
        id given to more than one row, in one batch or partition or in several, is flagged
        (``<id_column>: id given to more than one row``), or, with ``"raise"``, fails the job. The ids are
        counted on the cluster first (one more pass over the id column) and the repeated ones broadcast.
    passthrough : sequence of str, default=()
        Input columns copied to the output after the fixed columns; none may be named as an output
        column other than ``id_column`` (it would replace the score).
    id_column : str, default="stay_id"
        Record id column; required (row positions mean nothing across partitions).
    purpose : str, optional
        Recorded in the audit log.
    audit_log : bool, default=True
        Append one ``score_spark`` record on the driver (model, version, purpose,
        input columns). Row and band counts are known only once an action has run:
        ``riskmodel score --engine spark`` records them after writing.

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy; same partitions and, within each, same row order as ``stays``; columns
        exactly :func:`riskmodel.core.scoring.output_columns` (then ``passthrough``):
        ``<id_column>`` (input type), ``probability`` (double), ``risk_band``,
        ``reason_1`` .. ``reason_<reasons>``, ``model_name``, ``model_version``,
        ``error`` (string, nullable). Values equal those of :func:`riskmodel.score`.

    Raises
    ------
    SchemaError
        Raised here, before any Spark job runs, with the words of :func:`riskmodel.score`: if ``id_column``
        or a passthrough column is missing, a column label appears more than once, a passthrough column
        has the name of an output column other than ``id_column`` (in any case, unless the session sets
        ``spark.sql.caseSensitive``), a column to score or pass through is of a Spark type the workers
        cannot read (an interval), or (with ``errors="raise"``) a feature
        column is missing (naming the input column it was probably meant to be).
    ValueError
        For a bad ``errors``, ``reasons`` or ``reasons_min_band``.
    ModelLoadError
        If ``model`` cannot be loaded.

    Examples
    --------
    >>> from riskmodel.integrations.spark import score_spark
    >>> stays = spark.read.parquet("stays/")  # doctest: +SKIP
    >>> score_spark(stays, model="models:/overstay-risk@champion").write.parquet("scores/")  # doctest: +SKIP
    """
    plan = scoring_plan(stays, model=model, reasons=reasons, reasons_min_band=reasons_min_band, errors=errors,
                        passthrough=passthrough, id_column=id_column)
    fn = functools.partial(_score_batches, payload=plan.shipped, kwargs=plan.kwargs, names=plan.wanted, columns=plan.columns,
                           marked=True)
    if audit_log:
        from riskmodel.core import audit

        payload = plan.payload
        audit.append("score_spark", model_name=payload["name"], model_version=payload["version"],
                     model_sha256=payload["sha256"], input_columns=plan.wanted, purpose=purpose)
    # the input is one call for its ids, as score_file's night is: an id in two batches or partitions is a repeat
    selected = plan.select(stays)
    return _mark_repeats(selected, selected.columns[0]).mapInPandas(fn, plan.schema)  # the id is the first column wanted


@dataclasses.dataclass(frozen=True)
class ScoringPlan:
    """What a scoring ``mapInPandas`` needs, checked on the driver (see :func:`scoring_plan`)."""

    wanted: list[str]  # input columns sent to the workers
    columns: list[str]  # output columns, in order
    schema: Any  # the output's pyspark StructType
    payload: dict[str, str]  # the model text (see model_payload)
    shipped: Any  # the payload as the workers get it: a broadcast, or the dict itself on Spark Connect
    kwargs: dict[str, Any]  # the score() options

    def select(self, stays):
        """``stays``' columns :attr:`wanted`, taken by position and named ``_<position>`` for the trip to the
        workers, which name each batch's columns :attr:`wanted` again (``batch.set_axis(plan.wanted, axis=1)``).

        No name is resolved by Spark, which parses a bare name (``desk.no`` would be field ``no`` of a struct
        ``desk``; ``mapInPandas`` does so with every input column) and, by default, ignores case (a raw
        ``VISA_TYPE`` beside ``visa_type`` is ambiguous): any name ``score()`` tells apart reaches the workers.
        """
        names = list(stays.columns)
        # a label the plan let through twice is an extra column nothing reads: its last copy goes, as any copy would
        position = {c: i for i, c in enumerate(names)}
        return stays.toDF(*[f"_{i}" for i in range(len(names))]).select(*[f"_{position[c]}" for c in self.wanted])


def scoring_plan(stays, *, model, reasons: int = 3, reasons_min_band: str | None = None, errors: str = "raise",
                 passthrough: Sequence[str] = (), id_column: str = "stay_id") -> ScoringPlan:
    """Check :func:`score_spark`'s arguments against ``stays``' schema and ship the model text.

    Raises as :func:`score_spark` does. The nightly run builds its own one-pass function
    (scores and drift counts) on the same plan.
    """
    from pyspark.sql import types as T

    check_score_args(errors, reasons, reasons_min_band, passthrough)
    passthrough = list(dict.fromkeys(passthrough))  # one column each, as score() copies them
    fields = {f.name: f for f in stays.schema.fields}
    missing = [c for c in (id_column, *passthrough) if c not in fields]
    if missing:
        raise SchemaError(
            "stays",
            [SchemaProblem(c, "column is missing", "add it to the input, or name the record id in `id_column`" if c == id_column
                           else "drop it from `passthrough` or add it to the input") for c in missing],
        )
    # score() refuses these in every batch; here the plan refuses them before a job starts
    check_passthrough(passthrough, [], output_columns(id_column, int(reasons)), id_column, case_sensitive=_case_sensitive(stays))
    payload = model_payload(model)
    _refuse_duplicated(stays.columns, _features(payload), [id_column, *passthrough])
    features = [c for c in _features(payload) if c in fields]
    # as score() does in-process, with its words: a missing feature is never scored as if it were valid,
    # and the input column it was probably meant to be (`Visa_Type`) is named
    found = Problems(0)
    absent = absent_features(_features(payload), list(stays.columns), found)
    if absent and errors == "raise":
        raise found.error(np.array([], dtype=object))
    # under errors="flag" the workers flag every row; they get every column, so that their score() names
    # the misspelt one in each row's `error` too (the other columns it ignores)
    wanted = list(dict.fromkeys([id_column, *features, *passthrough, *(stays.columns if absent else [])]))
    _refuse_unshippable(fields, wanted)
    columns = output_columns(id_column, int(reasons)) + [c for c in passthrough if c != id_column]
    text = T.StringType()
    schema = T.StructType(
        [T.StructField(id_column, fields[id_column].dataType, True), T.StructField("probability", T.DoubleType(), True)]
        + [T.StructField(c, text, True) for c in columns[2 : 2 + 1 + int(reasons) + 4]]
        + [T.StructField(c, fields[c].dataType, True) for c in columns[2 + 1 + int(reasons) + 4 :]]
    )
    try:
        shipped = stays.sparkSession.sparkContext.broadcast(payload)
    except AttributeError:
        # Spark Connect (e.g. serverless services) has no SparkContext: the text travels with the function
        shipped = payload
    kwargs = {
        "reasons": int(reasons),
        "reasons_min_band": reasons_min_band,
        "errors": errors,
        "passthrough": tuple(c for c in passthrough if c != id_column),
        "id_column": id_column,
    }
    return ScoringPlan(wanted=wanted, columns=columns, schema=schema, payload=payload, shipped=shipped, kwargs=kwargs)


def local_session(app: str = "riskmodel", *, cores: int = 2, shuffle_partitions: int = 4, driver_memory: str = "2g"):
    """The active Spark session, or a new local one (``local[cores]``) when there is none.

    Under ``spark-submit`` or on a managed Spark service the active session (its master,
    memory and partitions set by the platform) is returned unchanged.

    Returns
    -------
    (SparkSession, bool)
        The session and whether this call created it (then the caller stops it).
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    session = (
        SparkSession.builder.appName(app)
        .master(f"local[{int(cores)}]")
        .config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.showConsoleProgress", "false")
        # never fall back silently to the non-Arrow path: on pandas 3 it writes missing text as "nan"
        .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false")
        # one score() call per Arrow batch: larger batches amortise its fixed cost (~10 MB a batch here)
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50000")
        .getOrCreate()
    )
    return session, True


def score_parquet(
    input: str | Path,
    output: str | Path,
    *,
    model,
    reasons: int = 3,
    reasons_min_band: str | None = "elevated",
    errors: str = "flag",
    passthrough: Sequence[str] = (),
    overwrite: bool = False,
    purpose: str | None = "nightly batch",
    spark=None,
) -> BatchResult:
    """The batch job on Spark: read Parquet stays, :func:`score_spark` them, write Parquet parts.

    Defaults are those of :func:`riskmodel.integrations.batch.scoring.score_file`. Unlike it, a run
    is not resumable part by part: Spark retries failed tasks, and a failed job leaves
    no committed output (Spark writes through a temporary folder).

    Parameters
    ----------
    input : str or Path
        Parquet file or folder (any URI Spark reads, e.g. ``s3a://`` or ``abfss://``).
    output : str or Path
        Output folder of Parquet parts.
    model, reasons, reasons_min_band, errors, passthrough, purpose
        As for :func:`score_spark`.
    overwrite : bool, default=False
        Replace an existing output; otherwise an existing output is an error. A folder holding anything
        but a Spark job's ``part-*`` files and records is refused even so, and nothing is deleted.
    spark : SparkSession, optional
        Default: the active session, else a local one that is stopped at the end.

    Returns
    -------
    BatchResult
        The result type of the in-process job: ``output``, ``rows_in``, ``rows_out``,
        ``parts`` (Parquet files written), ``resumed_parts`` (always 0 here) and
        ``extra["band_counts"]`` (``low, elevated, high, flagged``), ``extra["flagged_by_column"]`` (flagged rows per
        column their ``error`` names, most rows first, as in :func:`score_file`'s summary), ``extra["engine"]``
        (``"spark"``) and ``extra["audit_record"]``. One ``batch`` audit record with
        the same counts is appended on the driver.

    Raises
    ------
    BatchError
        If the input is not Parquet, the output exists (without ``overwrite``), or ``overwrite`` would
        delete files no batch job wrote.
    SchemaError
        As :func:`score_spark` does before the job; with ``errors="raise"``, also the error
        :func:`riskmodel.score` raised for the first batch with a bad value (the job fails, no output
        is committed), raised here rather than wrapped in Spark's trace; before the job, as ``score_file``
        refuses it, an input that gives one ``stay_id`` to more than one row.
    """
    from riskmodel.core import audit
    from riskmodel.core.exceptions import BatchError

    text = str(input)
    if text.lower().endswith(".csv"):
        raise BatchError(f"`input` {text}: the Spark engine reads Parquet only; convert the CSV or use --engine local.")
    try:  # the audit record is appended after the job: a purpose that could name someone is refused before it starts
        audit.check_purpose(purpose)
    except ValueError as exc:
        raise BatchError(str(exc)) from None
    session, owned = (spark, False) if spark is not None else local_session("riskmodel-score")
    try:
        if overwrite:
            refuse_foreign_files(session, str(output), _scores_files, "a batch job")
        stays = session.read.parquet(text)
        scored = score_spark(stays, model=model, reasons=reasons, reasons_min_band=reasons_min_band, errors=errors,
                             passthrough=passthrough, purpose=purpose, audit_log=False)
        if errors == "raise":  # score_file's refusal of a stay given twice in the night, before any output
            names = list(stays.columns)
            where = {c: i for i, c in enumerate(names)}["stay_id"]  # by position, as the plan selects (score_spark checked it)
            _refuse_repeated_ids(stays.toDF(*[f"_{i}" for i in range(len(names))]).select(f"_{where}"), "stay_id", f"_{where}")
        try:
            scored.write.mode("overwrite" if overwrite else "errorifexists").parquet(str(output))
        except Exception as exc:  # what Spark raises for a failed task varies (PythonException, Py4JJavaError)
            if "PATH_ALREADY_EXISTS" in str(exc):  # Spark's words name its API ("Set mode as overwrite"), not ours
                raise BatchError(f"output `{output}` already exists; nothing was written. Fix: pass overwrite=True "
                                 "(CLI: --overwrite) to replace an earlier job's output, or choose another output.") from None
            found = _driver_schema_error(exc)
            if found is None:
                raise
            raise found from None  # errors="raise": score()'s error naming the rows, not a Java trace
        written = session.read.parquet(str(output))
        by_band = {r[0]: r[1] for r in written.groupBy("risk_band").count().collect()}
        rows_in = stays.count()
        counts = {b: int(by_band.get(b, 0)) for b in BAND_ORDER}
        counts["flagged"] = int(by_band.get(None, 0))
        rows_out = sum(counts.values())
        scorer = as_scorer(model)
        flagged = _flagged_by_column(written, {*stays.columns, *scorer.model.features, "stay_id"})
        parts = len(written.inputFiles())
        record = audit.append("batch", engine="spark", model_name=scorer.name, model_version=scorer.version,
                              rows=rows_out, band_counts=counts, purpose=purpose)
    finally:
        if owned:
            session.stop()
    if rows_out != rows_in:
        raise BatchError(f"rows in ({rows_in:,}) and rows out ({rows_out:,}) differ for `{output}`; rerun with --overwrite.")
    # a remote URI (s3a://...) stays a string: Path would fold its double slash
    where = str(output) if "://" in str(output) else Path(output)
    return BatchResult(output=where, rows_in=int(rows_in), rows_out=int(rows_out), parts=parts, resumed_parts=0,
                       extra={"band_counts": counts, "flagged_by_column": flagged, "engine": "spark", "audit_record": record})


def _flagged_by_column(written, known: set[str]) -> dict[str, int]:
    """score_file's ``flagged_by_column`` of a written output: flagged rows per column their ``error`` names
    ("column: problem; column: problem"; a row once a column; only ``known`` names, as a problem's own words may hold
    "; " and ": "), most rows first, counted on the cluster."""
    from pyspark.sql import functions as F

    named = F.array_distinct(F.expr(r"regexp_extract_all(error, '(?:^|; )([^;:]+): ', 1)"))
    rows = (written.where(F.col("error").isNotNull()).select(F.explode(named).alias("column"))
            .where(F.col("column").isin(sorted(known))).groupBy("column").count().collect())
    return {r[0]: int(r[1]) for r in sorted(rows, key=lambda r: (-r[1], r[0]))}


# ----------------------------------------------------------------------------- output folders

#: What a Spark write leaves in its folder beside its data: the committer's marker and records, checksums.
_SPARK_RECORDS = re.compile(r"_SUCCESS|_committed_.*|_started_.*|\..*\.crc")


def _hadoop(spark, uri: str):
    """``(file system, path)`` of ``uri`` through the session's JVM; None on Spark Connect (no JVM on this side)."""
    try:
        jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    except AttributeError:
        return None
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(conf), path


def _local(uri: str) -> Path | None:
    """``uri`` as a local path (a plain path or ``file:``), None for a remote one (``s3a://``, ``hdfs://``, ...)."""
    if uri.startswith("file:"):
        return Path(urllib.parse.urlparse(uri).path)
    return None if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", uri) else Path(uri)


def folder_entries(spark, uri: str) -> list[tuple[str, bool]] | None:
    """The names in the folder ``uri``, each with whether it is a folder: ``[]`` when nothing is there, the
    name alone when ``uri`` is a file, None when it cannot be listed (a remote URI on Spark Connect)."""
    fs = _hadoop(spark, uri)
    if fs is not None:
        fs, path = fs
        if not fs.exists(path):
            return []
        if not fs.getFileStatus(path).isDirectory():
            return [(path.getName(), False)]
        return [(s.getPath().getName(), bool(s.isDirectory())) for s in fs.listStatus(path)]
    local = _local(uri)
    if local is None:
        return None
    if not local.exists():
        return []
    return [(p.name, p.is_dir()) for p in local.iterdir()] if local.is_dir() else [(local.name, False)]


def refuse_foreign_files(spark, uri: str, job_files, what: str) -> None:
    """BatchError when the folder ``uri`` holds anything ``job_files(name, is_folder)`` says no job writes:
    Spark's ``mode("overwrite")`` deletes the whole folder, the user's files with it (an output of ``.``)."""
    from riskmodel.core.exceptions import BatchError

    entries = folder_entries(spark, uri) or []
    foreign = sorted(name for name, folder in entries if not job_files(name, folder))
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise BatchError(f"output `{uri}` holds files not written by {what} ({shown}); nothing was deleted. Fix: choose a new "
                         "or empty output folder (overwrite=True, CLI --overwrite, replaces only a job's own output).")


def qualified_uri(spark, uri: str) -> str:
    """``uri`` made absolute as Spark's file system reads it (``file:/work/log``), without a trailing slash, so
    two spellings of one place compare equal; a remote URI on Spark Connect as written."""
    fs = _hadoop(spark, uri)
    if fs is not None:
        fs, path = fs
        return str(fs.makeQualified(path).toUri().normalize().toString()).rstrip("/")
    local = _local(uri)
    return local.resolve().as_uri() if local is not None else uri.rstrip("/")


def _scores_files(name: str, folder: bool) -> bool:
    """What ``score_parquet`` writes in its output folder: ``part-*`` files and Spark's records."""
    return name == "_temporary" if folder else bool(name.startswith("part-") or _SPARK_RECORDS.fullmatch(name))


def _features(payload: dict[str, str]) -> list[str]:
    return list(json.loads(payload["meta.json"])["features"])


def _case_sensitive(stays) -> bool:
    """Whether ``stays``' session tells column names apart by case (``spark.sql.caseSensitive``, false by default)."""
    return str(stays.sparkSession.conf.get("spark.sql.caseSensitive", "false")).strip().lower() == "true"


def _refuse_unshippable(fields: dict, wanted: list[str]) -> None:
    """SchemaError naming the ``wanted`` columns of a type Arrow cannot hand to pandas (year-month and calendar
    intervals: pyarrow fails with ``KeyError: 21``): every task would fail, under ``errors="flag"`` too."""
    from pyspark.sql import types as T

    bad = [c for c in wanted if isinstance(fields[c].dataType, T.YearMonthIntervalType | T.CalendarIntervalType)]
    if bad:
        raise SchemaError("stays", [SchemaProblem(
            c, f"Spark type {fields[c].dataType.simpleString()} cannot be sent to score() (Arrow has no pandas form of it)",
            f"cast `{c}` to a number (e.g. its months or days) or to text, or leave it out") for c in bad])


def _refuse_duplicated(columns: list[str], features: Sequence[str], copied: Sequence[str]) -> None:
    """score()'s SchemaError for a feature, the id or a passthrough column whose label appears more than once
    (Spark's own error was an AnalysisException of the ambiguous reference); raised in either ``errors`` mode,
    as a missing id column is. Any other column given twice is ignored, as :func:`riskmodel.score` ignores it."""
    found = Problems(0)
    flat_unique(pd.DataFrame(columns=list(columns)), found, features, copied)
    if found.masks:
        raise found.error(np.array([], dtype=object))


# ----------------------------------------------------------------------------- forecasting


def _forecast_group(pdf: pd.DataFrame, params: dict[str, Any], columns: list[str]) -> pd.DataFrame:
    history = pdf[["unique_id", "ds", "y"]].copy()
    history["ds"] = pd.to_datetime(history["ds"]).astype("datetime64[ns]")
    history["y"] = history["y"].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fallbacks are visible in the `model` column
        out = Forecaster(**params).fit(history).predict()
    out = out[columns]
    out["unique_id"] = out["unique_id"].astype(object)
    return out


_PARTS = ("cv", "forecasts", "fallbacks", "series", "cutoffs")


def _group_parts(pdf: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """One group's backtests and model forecasts, as Parquet bytes (plain data, nothing pickled)."""
    import io

    history = pdf[["unique_id", "ds", "y"]].copy()
    history["ds"] = pd.to_datetime(history["ds"]).astype("datetime64[ns]")
    history["y"] = history["y"].astype(float)
    payloads = []
    for frame in run_parts(Forecaster(**params), history):
        buf = io.BytesIO()
        frame.columns = [str(c) for c in frame.columns]
        frame.to_parquet(buf, index=False)
        payloads.append(buf.getvalue())
    return pd.DataFrame({"part": list(_PARTS), "payload": payloads})


def _fit_pooled(parts: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Choose models and calibrate intervals on the driver from every group's backtest errors.

    The history is not collected: the groups send what calibration needs of it
    (a few numbers per series and cutoff, :func:`riskmodel.core.forecasting.forecaster.history_facts`).
    """
    import io

    frames = {name: pd.concat([pd.read_parquet(io.BytesIO(b)) for b in parts.loc[parts["part"] == name, "payload"]], ignore_index=True) for name in _PARTS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # said once below, as Forecaster.fit says them
        fitted = fit_from_parts(Forecaster(**params), None, frames["cv"], frames["forecasts"], frames["fallbacks"], facts=(frames["series"], frames["cutoffs"]))
    # the fit's own warnings, from what the driver holds (open breaks need the history, which stays on the executors)
    warn_fallbacks(fitted.fallbacks_, stacklevel=4)
    warn_largest_error_ends(fitted, stacklevel=4)
    warn_young_series(fitted, stacklevel=4)
    return fitted.predict()


def _refuse_text_history(history) -> None:
    """:func:`~riskmodel.core.forecasting.series.check_series`' type refusals, read from the Spark schema before any
    task: text dates are never guessed (day-first text was read month first), text or boolean counts never converted."""
    from pyspark.sql import types as T

    types = {f.name: f.dataType for f in history.schema.fields}
    problems = []
    if not isinstance(types["ds"], T.DateType | T.TimestampType | T.TimestampNTZType):
        problems.append(SchemaProblem("ds", f"must be a date or timestamp, got {types['ds'].simpleString()}",
                                      "cast it on Spark: F.to_date('ds', 'yyyy-MM-dd') (dates written YYYY-MM-DD: day-first text "
                                      "is not guessed right)"))
    if not isinstance(types["y"], T.NumericType):
        problems.append(SchemaProblem("y", f"must be numeric, got {types['y'].simpleString()}", "cast it on Spark: F.col('y').cast('double')"))
    if problems:
        raise SchemaError("history", problems)


def _refuse_stale_series(history, freq: str | None) -> None:
    """:meth:`Forecaster.fit`'s refusal of series that stop before the latest period, over every group's series
    (one number per series reaches the driver)."""
    from pyspark.sql import functions as F

    last = history.groupBy("unique_id").agg(F.max("ds").alias("ds")).toPandas()
    ends = pd.Series(pd.to_datetime(last["ds"]).to_numpy(), index=last["unique_id"].astype(str).to_numpy())
    _check_series_reach_the_end(ends, freq or "D")  # unknown frequency: whole dates


def _refuse_incoherent_history(history, hierarchy: Hierarchy, freq: str | None) -> None:
    """:meth:`Forecaster.fit`'s refusal of a reconciled hierarchy whose series are not the sums of their parts
    (``_check_coherent``), on the cluster: each aggregate's own count against its parts' sum at every period it has (a
    part without the period counts as none arrived). Only the count and the first few rows reach the driver."""
    from pyspark.sql import functions as F

    S = hierarchy.S
    pairs = [(str(a), str(p), float(w)) for a, row in S.iterrows() for p, w in row.items() if w != 0 and not (
        str(a) == str(p) and (row != 0).sum() == 1)]  # a bottom series is its own sum
    if not pairs:
        return
    spark = history.sparkSession
    weights = F.broadcast(spark.createDataFrame(pairs, "_agg string, _part string, _w double"))
    h = history.select(F.col("unique_id").cast("string").alias("unique_id"), "ds", F.col("y").cast("double").alias("y"))
    sums = (h.join(weights, h["unique_id"] == weights["_part"]).groupBy("_agg", "ds")
            .agg(F.sum(F.col("y") * F.col("_w")).alias("_parts")))
    aggregates = F.broadcast(spark.createDataFrame([(a,) for a in sorted({a for a, _, _ in pairs})], "_agg string"))
    own = h.where(F.col("y").isNotNull()).join(aggregates, h["unique_id"] == aggregates["_agg"])
    both = own.join(sums, ["_agg", "ds"], "left").withColumn("_parts", F.coalesce("_parts", F.lit(0.0)))
    off = both.where(F.abs(F.col("y") - F.col("_parts")) > F.lit(1e-6) + F.lit(1e-9) * F.abs(F.col("_parts"))).cache()
    try:
        n = off.count()
        if not n:
            return
        first = [(r["unique_id"], r["ds"], r["y"], r["_parts"]) for r in off.orderBy("unique_id", "ds").limit(5).collect()]
        series = sorted(r[0] for r in off.select("unique_id").distinct().collect())
    finally:
        off.unpersist()
    raise incoherent_error(first, series, n, freq)


def _checked_forecast_inputs(
    history, horizon: int, level: Sequence[int], by: str, hierarchy: Hierarchy | None, reconcile: str | None, params: dict[str, Any]
) -> tuple[tuple[int, ...], list[str], dict[str, Any], Any]:
    """:func:`forecast_spark`'s checks on the driver, in its order, before any stage starts or task runs: the settings,
    the history's columns and types, and (reconciled) its series against the hierarchy.

    Returns the sorted levels, the output columns, the per-group fit settings and the history's selected columns
    (Spark resolves that selection here, between the settings' checks and the hierarchy's, as it always did)."""
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ConfigError(f"`horizon` must be an int >= 1; got {horizon!r}.")
    if reconcile not in (None, "bottom_up", "wls_struct"):
        raise ConfigError(
            f"`reconcile` must be 'bottom_up', 'wls_struct' or None; got {reconcile!r}. "
            "mint_shrink needs every series' backtest residuals together: use Forecaster in-process for it."
        )
    taken = sorted({"h", "level", "reconcile"} & set(params))
    if taken:
        raise ConfigError(f"{taken} are set by forecast_spark itself (`horizon`, `level`, `reconcile`); drop them from the settings.")
    fields = set(history.columns)
    missing = [c for c in dict.fromkeys(["unique_id", "ds", "y", by]) if c not in fields]
    if missing:
        raise SchemaError("history", [SchemaProblem(c, "column is missing", "pass a long frame unique_id, ds, y") for c in missing])
    _refuse_text_history(history)
    level = tuple(sorted(int(L) for L in level))
    columns = forecast_columns(level)
    fit_params = {**params, "h": int(horizon), "level": level, "reconcile": None}
    Forecaster(**fit_params)._check_params()  # fail on the driver, not in every task
    keep = list(dict.fromkeys(["unique_id", "ds", "y", by]))
    selected = history.select(*keep)
    if hierarchy is not None and reconcile is not None:  # served as sums of parts only when reconciled, as in-process
        # exactly the hierarchy's series, as Forecaster.fit wants them: one it lacks was served as if reconciled
        ids = pd.DataFrame({"unique_id": [str(r[0]) for r in history.select("unique_id").distinct().collect()]})
        _check_hierarchy(ids, hierarchy, name="history")
        _refuse_incoherent_history(history, hierarchy, fit_params.get("freq"))
    return level, columns, fit_params, selected


def forecast_spark(
    history,
    *,
    horizon: int,
    level: Sequence[int] = (80, 95),
    by: str = "unique_id",
    hierarchy: Hierarchy | None = None,
    reconcile: str | None = "bottom_up",
    pool: bool = True,
    on_progress: ProgressHook | None = None,
    **params: Any,
) -> pd.DataFrame:
    """Fit and forecast many series on Spark, the models run per group of series.

    With ``pool=True`` (the default) each group's models run on a worker
    (``groupBy(by).applyInPandas``): every backtest cutoff and the final forecasts,
    the expensive part. The backtests of all groups then come back to the driver,
    which chooses the models and calibrates the intervals on *all* their errors
    (see :mod:`riskmodel.core.forecasting.distributed`), as one in-process fit does:
    calibrated per series on ~20 errors each, 95% intervals covered about half of
    what they should on the BPS ports. With local models the result equals
    ``Forecaster(h=horizon, level=level, reconcile=None, **params).fit`` on all
    series; the global model ``lgbm`` is pooled within each group, so group series
    that share a model (a subtree of the hierarchy) with ``by``. The history is not
    collected: each group also returns the few numbers per series and cutoff that
    calibration reads of it (scales, recent volume, largest count).

    With ``pool=False`` each group is an independent Forecaster: choice and
    intervals use that group's series only (equal to fitting each group in turn).
    Either way the forecasts are collected to the driver and, given a
    ``hierarchy``, reconciled there over all series at once.

    Parameters
    ----------
    history : pyspark.sql.DataFrame
        Long frame ``unique_id`` (string), ``ds`` (date or timestamp), ``y`` (number),
        plus ``by`` when it is not ``unique_id``.
    horizon : int
        Periods to forecast.
    level : sequence of int, default=(80, 95)
        Interval levels in percent.
    by : str, default="unique_id"
        Column whose groups are fitted together (e.g. a column naming a port's
        subtree, to share a global model); every series must lie in one group.
    hierarchy : Hierarchy, optional
        Summing matrix over the forecast series (e.g. ``make_series(...).hierarchy``);
        the collected forecasts are reconciled with ``reconcile``.
    reconcile : {"bottom_up", "wls_struct"} or None, default="bottom_up"
        Method used with a hierarchy, the in-process default: ``bottom_up`` keeps each
        series' calibrated interval, ``wls_struct`` under-covers (see
        :class:`~riskmodel.core.forecasting.Forecaster`). ``mint_shrink`` needs the
        backtest residuals of all series together, which the per-group fits do not return.
    pool : bool, default=True
        Choose and calibrate on the driver from every group's backtest errors
        (True) or within each group (False).
    on_progress : callable, optional
        ``on_progress(what, done, total)`` (:mod:`riskmodel.core.progress`): the
        stages of the job (``"spark forecast stages: ..."``: the groups' model runs on
        the executors, the pooled choice and calibration on the driver, the
        reconciliation), each reported when it starts and ends.
    **params
        Other :class:`~riskmodel.core.forecasting.Forecaster` settings (``freq``, ``models``,
        ``n_windows``, ``selection``, ...).

    Returns
    -------
    pandas.DataFrame
        Columns :func:`riskmodel.core.forecasting.output_columns` of ``level``:
        ``unique_id, ds, y_hat, y_lo_<L>, y_hi_<L>, model``, sorted by
        ``unique_id, ds`` (``"+<method>"`` appended to ``model`` when reconciled).

    Warns
    -----
    RiskModelWarning
        With ``pool=True``, those :meth:`Forecaster.fit` gives for the same fit, from the driver: model
        fallbacks, 80%/95% ends that coincide (``IntervalWarning``), young series (``YoungSeriesWarning``);
        not open breaks (they need the history). With ``pool=False`` the groups' warnings stay on the workers
        (the ``model`` column still says fallbacks and young series).

    Raises
    ------
    ConfigError
        For a bad ``horizon``, ``reconcile`` or a setting that the per-group fit sets itself.
    SchemaError
        If ``history`` lacks a column, ``ds`` is not a date or timestamp or ``y`` not a number
        (text is never guessed), a series stops before the latest period of the others
        (pooled or not, as :meth:`Forecaster.fit` refuses it), or, reconciled, the history's series are
        not exactly the ``hierarchy``'s (one missing or one it lacks, named) or a series of the
        ``hierarchy`` is not the sum of its parts at some period; a group's invalid series fails its
        Spark task with the :class:`~riskmodel.core.exceptions.SchemaError` text.
    ValueError
        If the hierarchy names series that have no forecast.

    Examples
    --------
    >>> from riskmodel.integrations.spark import forecast_spark
    >>> fc = forecast_spark(spark.createDataFrame(series.df), horizon=12, freq="M")  # doctest: +SKIP
    """
    from pyspark.sql import types as T

    level, columns, fit_params, selected = _checked_forecast_inputs(history, horizon, level, by, hierarchy, reconcile, params)
    schema = T.StructType(
        [T.StructField("unique_id", T.StringType(), False), T.StructField("ds", T.TimestampNTZType(), False)]
        + [T.StructField(c, T.DoubleType(), True) for c in columns[2:-1]]
        + [T.StructField("model", T.StringType(), True)]
    )

    def fn(pdf: pd.DataFrame) -> pd.DataFrame:  # a plain function: Spark reads its type hints
        return _forecast_group(pdf, fit_params, columns)

    def parts_fn(pdf: pd.DataFrame) -> pd.DataFrame:
        return _group_parts(pdf, fit_params)

    grouped = selected.groupBy(by)
    reconciling = hierarchy is not None and reconcile is not None
    names = ["model runs per group on the executors", *(["choice and calibration on the driver"] if pool else []), *(["reconciliation"] if reconciling else [])]
    stages = Stages(on_progress, "spark forecast", names)
    if not pool:
        # each group is its own Forecaster there, whose latest period is its own: a series that stopped early
        # would be forecast for months already past (the pooled fit refuses it where the groups meet)
        _refuse_stale_series(history, fit_params.get("freq"))
    if pool:
        parts_schema = T.StructType([T.StructField("part", T.StringType(), False), T.StructField("payload", T.BinaryType(), False)])
        parts = grouped.applyInPandas(parts_fn, parts_schema).toPandas()
        stages.done(names[0])
        rows = _fit_pooled(parts, fit_params)
    else:
        rows = grouped.applyInPandas(fn, schema).toPandas()
    stages.done(names[1] if pool else names[0])
    out = rows.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    out["ds"] = pd.to_datetime(out["ds"]).astype("datetime64[ns]")
    if reconciling:
        out = reconcile_forecasts(out, hierarchy, method=reconcile)
        out["model"] = out["model"] + f"+{reconcile}"
        stages.done("reconciliation")
    out["unique_id"] = out["unique_id"].astype(str)
    return out[columns]
