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
repeats none. The commit rows carry a digest of the run's settings (input, its files' sizes and
modification times, ``as_of``, scope, buckets, model SHA-256): a rerun with other settings or on a
log that changed since is refused, not mixed in.

One pass per bucket: the features are computed once and go straight into the scoring
``mapInPandas``, whose tasks also count the training reference's drift bins (the in-process
:class:`~riskmodel.core.monitoring.drift.DriftCounter`, on the batch they already hold) and
the risk bands; each task appends one counts row to its scores. The scores are persisted
until they are written and the counts rows collected, so nothing is computed twice and only
counts reach the driver; PSI is computed from the summed counts. The same tasks count the night bins
(:func:`~riskmodel.core.monitoring.nights.night_bins`), which the summary keeps as tonight's profile and judges against
the profile of the ``previous`` night's run, like with like (against the training entries an in-country population
reads "major shift" every normal night). The run summary is written
to ``<output>/_summary`` (JSON text) through Spark as well, so no step needs a driver-local
path.

One run of an output at a time: a run holds ``<output>/_running`` (host, pid, start, ``as_of``) while it writes and
removes it when it ends; another run into that output is refused at its start (a marker of a run killed on this machine,
its pid gone, is taken over).

Before any bucket, the log is checked against the crossings contract on the executors (each
traveller's crossings together), as ``build_features`` checks it in-process. ``<output>/_SUCCESS`` is
written last, after the summary: a running or killed run has none, and neither has a night that read red against the
last good night (its outputs are written, but not to be used until checked).

The model travels as its verified text (see :func:`riskmodel.integrations.spark.model_payload`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodel.core.batch_result import BatchResult
from riskmodel.core.exceptions import BatchError, ConfigError
from riskmodel.core.monitoring.drift import DriftCounter, profile_from_reference, psi, psi_verdict
from riskmodel.core.monitoring.nights import compare_nights, night_bins, night_profile, nights_summary
from riskmodel.core.output_claim import RUNNING, OutputClaim
from riskmodel.core.progress import ProgressHook
from riskmodel.core.scoring import BAND_ORDER, MissingFeatureWarning, as_scorer, score
from riskmodel.integrations.spark_checks import _check_log, _not_plain  # noqa: F401 - _not_plain: the tests judge it here

__all__ = ["accept_night", "auto_parts", "CROSSINGS_PER_PART", "nightly_spark", "NIGHTLY_REASONS", "NIGHTLY_REASONS_MIN_BAND", "NIGHTLY_ERRORS", "SCOPES"]

#: The batch defaults the nightly run scores with (as :func:`riskmodel.score_file`).
NIGHTLY_REASONS = 3
NIGHTLY_REASONS_MIN_BAND = "elevated"
NIGHTLY_ERRORS = "flag"
#: ``in_country``: stays with no exit at ``as_of`` (everyone in the country); ``all``: every stay.
SCOPES = ("in_country", "all")
#: Crossings per traveller bucket when ``parts="auto"``: about a million stays (an entry and an exit each).
CROSSINGS_PER_PART = 2_000_000
_PASSTHROUGH = ("traveller_id", "entry_time", "entry_port", "nationality")
_COMMIT_COLUMNS = ("part", "digest", "rows", "bands", "drift")


def _join(uri: str, name: str) -> str:
    return f"{uri.rstrip('/')}/{name}"


def _resolve_as_of(log, as_of) -> str:
    """``as_of`` pinned to a fixed time (default: the log's last crossing), so every bucket and a rerun agree."""
    import pandas as pd

    from riskmodel.integrations.spark_features import _as_of_seconds

    seconds = _as_of_seconds(log, as_of)  # also refuses a zoned or unreadable as_of, or one after the log's last day
    if seconds is None:
        raise BatchError("the crossings log is empty: nothing to score; check the input URI or the database query.")
    return str(pd.Timestamp(int(seconds), unit="s"))


def _exists(spark, uri: str) -> bool | None:
    """Whether ``uri`` exists, asked of the cluster's Hadoop file system; None on Spark Connect (no JVM here)."""
    try:
        jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    except AttributeError:
        return None
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return bool(path.getFileSystem(conf).exists(path))


def _read_commits(spark, output: str) -> list[dict[str, Any]]:
    """The committed buckets of an earlier run at ``output`` (empty when there is none).

    On a first run there is no commit log: asked first, so Spark's reader does not log a
    warning and a Java stack for the missing folder (on Spark Connect the read is tried).
    """
    from pyspark.errors import AnalysisException

    if _exists(spark, _join(output, "_commits")) is False:
        return []
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


def _nightly_files(name: str, folder: bool) -> bool:
    """What a nightly run writes in its output folder: ``part=<k>/``, ``_commits/``, ``_summary/`` and Spark's records."""
    from riskmodel.integrations.spark import _SPARK_RECORDS

    if folder:
        return re.fullmatch(r"part=\d+|_commits|_summary|_temporary", name) is not None
    return name == RUNNING or _SPARK_RECORDS.fullmatch(name) is not None


def _check_output(spark, crossings, output: str) -> None:
    """Refuse an output that is the crossings log or lies inside its folder (the next night would read it as
    crossings), or a folder holding anything no nightly run writes (``overwrite`` would delete it)."""
    from riskmodel.integrations.spark import qualified_uri, refuse_foreign_files

    if isinstance(crossings, str | Path):
        src, out = qualified_uri(spark, str(crossings)), qualified_uri(spark, output)
        if out == src:
            raise BatchError(f"output `{output}` is the input: the run would delete the crossings log. Fix: write to another path.")
        if out.startswith(src + "/"):
            raise BatchError(f"output `{output}` is inside the input folder `{crossings}`: the next run would read this run's "
                             "output as crossings. Fix: write the output outside the input folder.")
    refuse_foreign_files(spark, output, _nightly_files, "a nightly run")


class _Claim(OutputClaim):
    """OUTPUT/_running (:class:`~riskmodel.core.output_claim.OutputClaim`: host, pid, start, and the night's as_of) through
    the session's Hadoop file system (any URI), or from this side for a local output on Spark Connect; a remote output on
    Spark Connect is not marked (no file system on this side). Another run into the same output is refused at its start,
    not left to overwrite the first's buckets (two runs of a night at once: a scheduler's retry while the first still runs)."""

    def __init__(self, spark, output: str, as_of: str):
        from riskmodel.integrations.spark import _hadoop, _local

        self.fs, self.local = _hadoop(spark, _join(output, RUNNING)), _local(_join(output, RUNNING))
        self._folder = _hadoop(spark, output)
        super().__init__(output, job="the nightly job", clash="overwrite each other's buckets",
                         wait="a scheduler's retry while the first run still runs: let it finish, then rerun: its buckets "
                              "are reused", facts={"as_of": as_of})
        self.path = self.local  # a local output reached from this side (Spark Connect); None: a remote one

    def _folder_exists(self) -> bool:
        if self._folder is not None:
            return bool(self._folder[0].exists(self._folder[1]))
        return self.local is not None and self.local.parent.exists()

    def describe(self, held: dict) -> str:
        return f"{super().describe(held)}, as of {held.get('as_of', '?')}"

    def read(self) -> str | None:
        if self.fs is not None:
            fs, path = self.fs
            if not fs.exists(path):
                return None
            stream = fs.open(path)
            try:
                return bytes(stream.readAllBytes()).decode("utf-8", "replace")
            finally:
                stream.close()
        return super().read()

    def write(self, *, exclusive: bool) -> bool:
        if self.fs is not None:
            fs, path = self.fs
            try:
                stream = fs.create(path, not exclusive)  # overwrite=False: refused where the file exists
            except Exception as exc:  # py4j's error, the JVM's FileAlreadyExistsException inside
                if exclusive and "FileAlreadyExists" in str(exc):
                    return False
                raise
            stream.write(bytearray(json.dumps(self.mine), "utf-8"))
            stream.close()
            return True
        return super().write(exclusive=exclusive)

    def _remove(self, *, folder_if_empty: bool) -> None:
        if self.fs is not None:
            self.fs[0].delete(self.fs[1], False)
            parent = self.fs[1].getParent()
            if folder_if_empty and not self.fs[0].listStatus(parent):
                self.fs[0].delete(parent, False)
        else:
            super()._remove(folder_if_empty=folder_if_empty)


def _success_marker(spark, output: str, *, present: bool) -> None:
    """Write (``present``) or remove ``OUTPUT/_SUCCESS``, the Hadoop committer's "this folder is complete" marker."""
    from riskmodel.integrations.spark import _hadoop, _local

    uri = _join(output, "_SUCCESS")
    fs = _hadoop(spark, uri)
    if fs is not None:
        fs, path = fs
        fs.create(path, True).close() if present else fs.delete(path, False)
        return
    local = _local(uri)  # Spark Connect: a remote output keeps Spark's own markers only
    if local is not None:
        local.touch() if present else local.unlink(missing_ok=True)


#: The column that marks the one counts row each scoring task appends to its scores.
_COUNTS = "_counts"


def _score_and_count(batches: Iterator[pd.DataFrame], *, payload, kwargs: dict[str, Any], names: list[str],
                     columns: list[str], reference: dict) -> Iterator[pd.DataFrame]:
    """Score every Arrow batch and count its drift bins and bands in the same pass (one Spark task).

    The scores go out with ``_counts`` null; the task's last row carries its counts (JSON) in
    ``_counts`` and nulls elsewhere. The bins are :class:`DriftCounter`'s, the in-process ones,
    counted on the features the scoring batch already holds: no second scan of the features.
    """
    from riskmodel.integrations.spark import _worker_scorer

    scorer = _worker_scorer(payload.value if hasattr(payload, "value") else payload)
    counter, nights = DriftCounter(reference), DriftCounter(night_bins(reference))
    bands = dict.fromkeys((*BAND_ORDER, "flagged"), 0)
    with warnings.catch_warnings():
        # unseen levels are scored as missing and reported per row, as in-process
        warnings.simplefilter("ignore", MissingFeatureWarning)
        for pdf in batches:
            pdf = pdf.set_axis(names, axis=1)  # the plan's column names (see ScoringPlan.select)
            out = score(pdf, model=scorer, audit_log=False, **kwargs).reset_index(drop=True)
            counted = pdf.reset_index(drop=True).assign(probability=out["probability"].to_numpy())
            counter.update(counted)
            nights.update(counted)
            for band, n in out["risk_band"].astype(object).fillna("flagged").value_counts().items():
                bands[band] += int(n)
            yield out[columns].assign(**{_COUNTS: None})
    counts = {"bands": bands, "drift": {c: [int(v) for v in n] for c, n in counter.counts.items()},
              "night": {c: [int(v) for v in n] for c, n in nights.counts.items()}}
    yield pd.DataFrame({**{c: [None] for c in columns}, _COUNTS: [json.dumps(counts)]})


def _scored_with_counts(feats, scorer, reference: dict):
    """Lazy: the batch-default scores of ``feats`` plus one counts row per task (see :func:`_score_and_count`)."""
    from pyspark.sql import types as T

    from riskmodel.integrations.spark import scoring_plan

    plan = scoring_plan(feats, model=scorer, reasons=NIGHTLY_REASONS, reasons_min_band=NIGHTLY_REASONS_MIN_BAND,
                        errors=NIGHTLY_ERRORS, passthrough=_PASSTHROUGH)
    fn = functools.partial(_score_and_count, payload=plan.shipped, kwargs=plan.kwargs, names=plan.wanted,
                           columns=plan.columns, reference=reference)
    schema = T.StructType([*plan.schema.fields, T.StructField(_COUNTS, T.StringType(), True)])
    return plan.select(feats).mapInPandas(fn, schema)


def _write_part(scored, uri: str) -> None:
    """Write one bucket's scores (a separate function so a test can kill the run in the middle)."""
    scored.write.mode("overwrite").parquet(uri)


def _run_part(spark, log, k: int, plan: dict[str, Any], scorer, reference: dict) -> dict[str, Any]:
    """Features, scores, Parquet and counts of bucket ``k``; returns its commit row.

    One pass: the features are computed once, scored and counted by the same tasks; the scores
    are kept (memory, else local disk) only until they are written and the counts collected.
    """
    from pyspark.sql import functions as F

    from riskmodel.integrations.spark_features import _bucket_features

    mine = log.where(F.pmod(F.xxhash64("traveller_id"), F.lit(plan["parts"])) == k)
    # plan["as_of"] was judged against the whole log's last crossing (_resolve_as_of): a bucket's may be earlier
    feats = _bucket_features(mine, as_of=plan["as_of"])
    if plan["scope"] == "in_country":
        feats = feats.where(F.col("exit_time").isNull())
    scored = _scored_with_counts(feats, scorer, reference).persist()
    try:
        _write_part(scored.where(F.col(_COUNTS).isNull()).drop(_COUNTS), _join(plan["output"], f"part={k}"))
        tasks = [json.loads(r[0]) for r in scored.where(F.col(_COUNTS).isNotNull()).select(_COUNTS).collect()]
    finally:
        scored.unpersist()
    bands = {b: sum(t["bands"][b] for t in tasks) for b in (*BAND_ORDER, "flagged")}
    drift = {key: {c: [sum(v) for v in zip(*(t[key][c] for t in tasks), strict=True)] for c in reference}
             for key in ("drift", "night")}
    return {"part": k, "digest": plan["digest"], "rows": sum(bands.values()), "bands": json.dumps(bands),
            "drift": json.dumps({"training": drift["drift"], "night": drift["night"]})}


def _summed(rows: list[dict[str, list[int]]]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for row in rows:
        for c, v in row.items():
            counts[c] = [a + b for a, b in zip(counts.get(c, [0] * len(v)), v, strict=True)]
    return counts


def _summary(commits: list[dict[str, Any]], reference: dict, scorer, plan: dict[str, Any],
             previous: tuple[dict | None, str | None]) -> dict[str, Any]:
    """The run summary from the commit rows: counts summed over buckets, PSI per column against the training entries,
    and tonight's population against the last good night's (:func:`~riskmodel.core.monitoring.nights.compare_nights`)."""
    bands = dict.fromkeys((*BAND_ORDER, "flagged"), 0)
    for row in commits:
        for b, n in json.loads(row["bands"]).items():
            bands[b] = bands.get(b, 0) + n
    drift = [json.loads(row["drift"]) for row in commits]
    counts = _summed([d.get("training", d) for d in drift])  # a bucket committed before the night bins: training only
    values = {c: psi(reference[c]["fractions"], v) for c, v in counts.items()}
    rows = sum(int(r["rows"]) for r in commits)
    tonight = night_profile(_summed([d["night"] for d in drift if "night" in d]), as_of=plan["as_of"], scope=plan["scope"],
                            model_sha256=plan["model_sha256"])
    profile, why = previous
    if any("night" not in d for d in drift):
        profile, why = None, "buckets committed by an earlier version of the run hold no night bins: not comparable"
    checks, keep = compare_nights(tonight, profile, night_bins(reference), no_previous=why)
    verdict, line = nights_summary(checks)
    return {
        "model_name": scorer.name, "model_version": scorer.version, "model_sha256": plan["model_sha256"],
        "as_of": plan["as_of"], "scope": plan["scope"], "rows_out": rows, "parts": plan["parts"],
        "band_counts": bands, "band_shares": {b: n / max(rows, 1) for b, n in bands.items()},
        "psi": {c: (round(v, 5) if v == v else None) for c, v in values.items()},
        "psi_verdict": {c: psi_verdict(v) for c, v in values.items()},
        "psi_rule": ("against the model's training entries: PSI < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift "
                     "(a rule for a model's inputs against its training data; an in-country population reads 'major shift' "
                     "there on every normal night: the night's verdict is night_verdict)"),
        "night_verdict": verdict, "night_summary": line, "night_accepted": None,
        "night_psi": {c: round(float(v), 5) for c, v in zip(checks["column"], checks["value"], strict=True) if v == v},
        "night_checks": checks.astype(object).where(checks.notna(), None).to_dict(orient="records"),  # JSON: no NaN
        "night_profile": keep,
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


def auto_parts(crossings: int) -> int:
    """Traveller buckets for a log of ``crossings`` rows: one per :data:`CROSSINGS_PER_PART`, at least one."""
    return max(1, round(crossings / CROSSINGS_PER_PART))


def _input_files(log) -> list[list]:
    """The log's files with their sizes and modification times, for the run's digest: a resumed run must read the
    log its first buckets read (a file added, removed or rewritten since changes the digest). A DataFrame read from
    a database has none; on Spark Connect only the names are compared (no file system on this side)."""
    from riskmodel.integrations.spark import _hadoop

    files = sorted(log.inputFiles())
    stats: dict[str, tuple[int, int]] = {}
    for folder in sorted({f.rsplit("/", 1)[0] for f in files}):
        fs = _hadoop(log.sparkSession, folder)
        if fs is not None:  # one listing per folder, not one call per file
            stats |= {str(st.getPath().toUri().getPath()): (int(st.getLen()), int(st.getModificationTime()))
                      for st in fs[0].listStatus(fs[1])}
    return [[f, *stats.get(urllib.parse.urlparse(f).path, ())] for f in files]


def _plan(log, crossings, output: str, *, scorer, as_of, scope: str, parts: int | str) -> dict[str, Any]:
    from riskmodel.integrations.spark import model_payload

    if scope not in SCOPES:
        raise ConfigError(f"`scope` must be one of {SCOPES}; got {scope!r}.")
    if parts == "auto":
        parts = auto_parts(log.count())  # a Parquet log's count comes from its footers
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ConfigError(f"`parts` must be \"auto\" or an int >= 1; got {parts!r}.")
    sha = model_payload(scorer)["sha256"]
    plan = {"input": crossings if isinstance(crossings, str) else "<DataFrame>", "files": _input_files(log), "output": output,
            "as_of": _resolve_as_of(log, as_of), "scope": scope, "parts": parts, "model_sha256": sha,
            "reasons": NIGHTLY_REASONS, "reasons_min_band": NIGHTLY_REASONS_MIN_BAND, "errors": NIGHTLY_ERRORS}
    plan["digest"] = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()
    return plan


def _refuse_twice_committed(commits: list[dict[str, Any]], output: str) -> None:
    """Refuse a commit log holding a bucket more than once: two runs of the night wrote it at once (a scheduler's retry
    while the first still ran), its files may mix both, and a summary would count it twice."""
    from collections import Counter

    counted = Counter(int(c["part"]) for c in commits)
    twice = sorted(k for k, n in counted.items() if n > 1)
    if twice:
        more = f" (and {len(twice) - 1} more buckets: {', '.join(map(str, twice[1:6]))}{' ...' if len(twice) > 6 else ''})" \
            if len(twice) > 1 else ""
        raise BatchError(f"`output` {output}: bucket {twice[0]} is committed {counted[twice[0]]} times{more}: two runs of "
                         "this night wrote it at once (a retry while the first still ran?), its files may mix both runs and "
                         "the summary would count it twice. Fix: rerun with overwrite=True (--overwrite), one run of a night "
                         "at a time.")


def _previous_profile(spark, previous: str | Path | None) -> tuple[dict | None, str | None]:
    """The profile an earlier night kept in ``<previous>/_summary`` (``night_profile``), or None and why not."""
    from pyspark.errors import AnalysisException

    if previous is None:
        return None, None
    uri = _join(str(previous), "_summary")
    try:
        text = "".join(r[0] for r in spark.read.text(uri).collect())
        profile = json.loads(text).get("night_profile") if text else None
    except (AnalysisException, ValueError, AttributeError):
        return None, (f"no nightly summary readable at {uri} (the previous night's run failed, or another path): no "
                      "previous profile; the next night is judged against this one")
    if not isinstance(profile, dict):
        return None, (f"the summary at {uri} holds no night profile (written by an earlier version of the run); the next "
                      "night is judged against this one")
    return profile, None


def accept_night(output: str | Path, *, by: str, why: str, spark=None) -> dict[str, Any]:
    """Accept the night whose run wrote ``output`` as the new baseline: a person's decision after a real change (a new
    port, a new rule) read red, which otherwise reads red every night (a red column keeps its last good night).

    The night stays reported as it read (``night_verdict``); its kept profile's baselines become its own counts
    (:func:`~riskmodel.core.monitoring.nights.accept_tonight`), each row not green and ``night_summary`` say who
    accepted it, when and why, ``night_accepted`` records it, the summary is rewritten and ``_SUCCESS`` written. Nothing
    is scored again.

    Parameters
    ----------
    output : str or Path
        The night's output folder (its ``_summary`` is read and rewritten).
    by, why : str
        Who accepts (a name or role) and why (the real change; no id-like run of digits, as a run's purpose).
    spark : SparkSession, optional
        Default: the active session, else a local one.

    Returns
    -------
    dict
        The rewritten summary.

    Raises
    ------
    ConfigError
        If ``by`` or ``why`` is blank, or ``why`` holds a run of 5 or more digits.
    BatchError
        If ``output`` holds no readable nightly summary (the night's run did not finish).
    """
    import datetime as dt

    from pyspark.errors import AnalysisException

    from riskmodel.core import audit
    from riskmodel.core.monitoring.nights import accept_tonight

    missing = [name for name, text in (("by", by), ("why", why)) if not str(text or "").strip()]
    if missing:
        raise ConfigError(f"accepting a night as the baseline must say who and why; {' and '.join(missing)} missing or blank. "
                          "Fix: pass both (--accept-baseline WHY --accepted-by WHO).")
    try:
        audit.check_purpose(why, "accept-baseline")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    accept = {"by": str(by).strip(), "why": str(why).strip(), "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    output = str(output)
    uri = _join(output, "_summary")
    session, owned = (spark, False) if spark is not None else _session()
    try:
        try:
            summary = json.loads("".join(r[0] for r in session.read.text(uri).collect()))
            profile = summary["night_profile"]
        except (AnalysisException, ValueError, KeyError, TypeError):
            raise BatchError(f"no nightly summary readable at {uri}: the night's run did not finish (or another path). Fix: "
                             "rerun the night's command to its end, then accept it.") from None
        checks, keep = accept_tonight(pd.DataFrame(summary["night_checks"]), profile, accept)
        summary |= {"night_checks": checks.astype(object).where(checks.notna(), None).to_dict(orient="records"),
                    "night_profile": keep, "night_accepted": keep["accepted"],
                    "night_summary": (f"{summary['night_summary']}; accepted as the new baseline by {accept['by']} "
                                      f"({accept['time']}): {accept['why']}; the next night is judged against this one")}
        session.createDataFrame([(json.dumps(summary, sort_keys=True),)], "value string").coalesce(1).write.mode(
            "overwrite").text(uri)
        _success_marker(session, output, present=True)  # accepted: usable
    finally:
        if owned:
            session.stop()
    return summary


def nightly_spark(
    crossings,
    output: str | Path,
    *,
    model,
    as_of=None,
    scope: str = "in_country",
    parts: int | str = "auto",
    overwrite: bool = False,
    previous: str | Path | None = None,
    spark=None,
    on_progress: ProgressHook | None = None,
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
    parts : int or "auto", default="auto"
        Traveller buckets: the unit of writing and resuming. ``"auto"``: one per
        :data:`CROSSINGS_PER_PART` rows of the log (about a million stays), at least one.
        Each bucket reads the whole log and has its own Spark jobs, so more buckets cost
        more; fewer buckets make a killed run redo more.
    overwrite : bool, default=False
        Start again, deleting an earlier run's files at ``output``; otherwise an earlier run with
        the same settings is resumed and one with other settings is refused. A folder holding
        anything a nightly run does not write is refused either way, and nothing is deleted.
    previous : str or Path, optional
        The output folder of the previous night's run: tonight's population is judged against the profile it kept
        (:func:`~riskmodel.core.monitoring.nights.compare_nights`: the last good night's bin counts, no identifier).
        Default (or a folder with no readable summary): a first night, ``night_verdict`` "not judged", saying why.
    spark : SparkSession, optional
        Default: the active session (``spark-submit``, Spark Connect), else a local one.
    on_progress : callable, optional
        ``on_progress("nightly buckets", done, total)`` (:mod:`riskmodel.core.progress`): when the
        buckets start (``done`` counts those an earlier run committed) and after each bucket is written.

    Returns
    -------
    BatchResult
        ``output``, ``rows_in`` = ``rows_out`` (stays scored), ``parts``, ``resumed_parts``
        (buckets committed by an earlier run) and ``extra``: ``summary`` (model, ``as_of``,
        ``band_counts``, ``band_shares``, ``psi`` and ``psi_verdict`` against the model's training entries (read
        "major shift" on most columns of every normal night: not a verdict on a feed), ``night_verdict`` (green,
        amber, red or not judged), ``night_summary`` (one line), ``night_psi``, ``night_checks`` and ``night_profile``
        (what the next night's ``previous`` reads): tonight against the last good night), ``engine`` ("spark"),
        ``seconds``. Output columns: those of :func:`riskmodel.core.scoring.output_columns`
        then ``traveller_id, entry_time, entry_port, nationality`` (``part`` when read as a
        partitioned folder).

    Raises
    ------
    BatchError
        If ``output`` holds a run with other settings or of another version of the log (files added,
        removed or rewritten since; and not ``overwrite``), a bucket committed twice (two runs at once), or files no
        nightly run writes, is the log or lies inside its folder, or the log is empty; if another run is writing
        ``output`` (its ``_running`` marker held by a live process of this machine, or by another machine), with
        ``overwrite`` too, before anything is written.
    SchemaError
        If the log breaks the crossings contract (:func:`~riskmodel.core.schema.check_crossings`, each
        traveller's crossings checked together), or ``as_of`` lies on a day after the log's last crossing
        (as ``build_features`` refuses it), before any bucket is written.
    ConfigError
        For a bad ``scope`` or ``parts``.
    """
    start = time.perf_counter()
    output = str(output)
    session, owned = (spark, False) if spark is not None else _session()
    claim = None
    try:
        log = session.read.parquet(str(crossings)) if isinstance(crossings, str | Path) else crossings
        _check_output(session, crossings, output)  # before anything is read, written or deleted
        _check_log(session, log)
        from riskmodel.integrations.spark_features import _check_log_tail

        _check_log_tail(log, as_of)  # a mistyped year into the past, after the log's end, would be the night's as-of day
        scorer = as_scorer(model)
        plan = _plan(log, str(crossings) if isinstance(crossings, str | Path) else crossings, output,
                     scorer=scorer, as_of=as_of, scope=scope, parts=parts)
        reference = profile_from_reference(scorer.model.reference_)
        before = _previous_profile(session, previous)
        claim = _Claim(session, output, plan["as_of"])
        claim.take()  # another run writing this output is refused here, before anything is written or deleted
        if overwrite:
            # an empty partitioned write empties the folder and leaves no data file beside the part= folders
            # (Spark refuses a write whose every column is a partition column: hence the second column)
            session.range(0).selectExpr("id AS part", "id AS empty").write.partitionBy("part").mode("overwrite").parquet(output)
            claim.write(exclusive=False)  # that write deleted the folder, this run's marker with it
            _success_marker(session, output, present=False)  # that write's marker: the run has only begun
            commits = []
        else:
            commits = _read_commits(session, output)
        foreign = sorted({c["digest"][:12] for c in commits if c["digest"] != plan["digest"]})
        if foreign:
            raise BatchError(f"`output` {output} holds a nightly run with other settings or another version of the input "
                             f"(files added, removed or rewritten since its first buckets; digest {', '.join(foreign)}; "
                             f"this run is {plan['digest'][:12]}): pass overwrite=True (--overwrite) or another output.")
        _refuse_twice_committed(commits, output)
        done = {int(c["part"]) for c in commits}
        parts = plan["parts"]
        report = on_progress or (lambda *_: None)
        report("nightly buckets", len(done), parts)
        for k in range(parts):
            if k not in done:
                row = _run_part(session, log, k, plan, scorer, reference)
                _append_commit(session, output, row)
                commits.append(row)
                report("nightly buckets", len(commits), parts)
        summary = _summary(commits, reference, scorer, plan, before)
        summary["seconds"] = round(time.perf_counter() - start, 2)
        session.createDataFrame([(json.dumps(summary, sort_keys=True),)], "value string").coalesce(1).write.mode(
            "overwrite").text(_join(output, "_summary"))
        # last: every bucket and the summary are written; a red night is written but not to be used, and an earlier
        # run's marker must not pass for tonight's (a rerun of the same settings against another --previous)
        _success_marker(session, output, present=summary["night_verdict"] != "red")
    finally:
        if claim is not None:
            claim.release()
        if owned:
            session.stop()
    rows = summary["rows_out"]
    return BatchResult(output=output, rows_in=rows, rows_out=rows, parts=parts, resumed_parts=len(done),
                       extra={"summary": summary, "engine": "spark", "seconds": summary["seconds"]})
