"""Nightly batch scoring of files, its run summary, and outcome monitoring of past scores.

:func:`score_file` streams a Parquet file, a folder of Parquet parts or a CSV
file through :func:`riskmodel.score` in chunks (bounded memory, progress bar,
resumable after a kill, rows in = rows out; see :mod:`riskmodel.integrations.batch.jobs`). Each
run writes ``<output>.summary.json`` (or ``_summary.json`` inside an output
folder) with the score distribution, band counts, the flagged rows per column their error names, and the PSI of every feature
and of the score against the training reference stored with the model, judged
by the 0.1/0.25 rule of thumb; with tracking on, the same goes to MLflow. A folder's summary is
written before its ``_SUCCESS`` (a folder marked done has its summary, and its ``seconds`` run
to that point); a file output, which has no marker, loses the last run's summary when a run
into it starts and gets its own once the file is in place: a summary beside a file is that
file's, and a file without one is the output of a run that did not finish (or of an older one).

:func:`evaluate_scores` (from :mod:`riskmodel.core.monitoring.outcomes`, re-exported
here) joins past scores with outcomes that have matured since and reports the
realised AUC, PR-AUC, calibration and referral precision by month and by audit
group: the signal that says when to retrain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from riskmodel.core import audit
from riskmodel.core.temp_files import temp_beside
from riskmodel.core.csv_files import read_csv
from riskmodel.integrations.batch.jobs import BatchResult, JobHooks, check_chunk_rows, input_files, iter_chunks, run_job
from riskmodel.core.exceptions import BatchError, SchemaError
from riskmodel.core.monitoring.drift import DriftCounter, profile_from_reference, psi_verdict
from riskmodel.core.monitoring.outcomes import evaluate_scores
from riskmodel.core.scoring import (
    BAND_ORDER, as_scorer, check_score_args, flag_repeated_rows, id_keys, repeated_id_problem, score,
)
from riskmodel.core.progress import ProgressHook

__all__ = ["score_file", "ScoreFileOptions", "summary_path", "evaluate_scores"]


def summary_path(output: str | Path) -> Path:
    """Where :func:`score_file` writes the run summary for ``output``."""
    output = Path(output)
    if output.suffix.lower() in (".parquet", ".csv"):
        return output.with_name(output.name + ".summary.json")
    return output / "_summary.json"


@dataclass(frozen=True)
class ScoreFileOptions:
    """Settings of :func:`score_file` (pass them as keywords: ``score_file(..., reasons=0)``).

    Attributes
    ----------
    reasons : int, default=3
        Reasons per scored row.
    reasons_min_band : {"elevated", "high"} or None, default="elevated"
        Reasons only for rows in this band or above (they cost ~0.5 ms a row);
        None for every row.
    errors : {"flag", "raise"}, default="flag"
        ``"flag"`` keeps the job going: bad rows get a missing score and an error text.
    passthrough : tuple of str, default=()
        Input columns copied to the output.
    chunk_rows : int, default=200_000
        Rows per chunk; bounds memory.
    overwrite : bool, default=False
        Replace an output made by a different job (input, model or settings).
    progress : bool or callable, default=True
        Progress bar on stderr; or a hook ``progress("rows scored", done, total)``
        (:mod:`riskmodel.core.progress`) for a caller that prints its own.
    purpose : str, optional
        Recorded in the audit log.
    """

    reasons: int = 3
    reasons_min_band: str | None = "elevated"
    errors: str = "flag"
    passthrough: tuple[str, ...] = ()
    chunk_rows: int = 200_000
    overwrite: bool = False
    progress: bool | ProgressHook = True
    purpose: str | None = "nightly batch"

    @classmethod
    def from_keywords(cls, options: dict[str, Any]) -> ScoreFileOptions:
        """The options from keyword arguments; an unknown name is a TypeError, as for any function."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise TypeError(f"score_file() got unknown option(s) {unknown}; expected some of {names}.")
        return cls(**options)

    def job_spec(self, scorer) -> dict[str, Any]:
        """What defines the job's output: a rerun resumes only when it is identical."""
        model = scorer.model
        # a local folder's version is just "local": the content tells a retrained model at the same path apart
        content = model.booster_.model_to_string(num_iteration=model.best_iteration_) + json.dumps(model.calibrator_.to_dict(), sort_keys=True)
        return {
            "model": scorer.source or scorer.name,
            "model_version": scorer.version,
            "model_sha256": hashlib.sha256(content.encode("utf-8")).hexdigest(),
            "reasons": self.reasons,
            "reasons_min_band": self.reasons_min_band,
            "errors": self.errors,
            "passthrough": list(self.passthrough),
            # parts written when each chunk was its own call (an id repeated in two chunks scored twice, rows numbered
            # from 0 in every chunk) must not be resumed as this job's
            "ids": "repeats flagged across the whole input; rows without an id numbered through it",
        }


#: The id column :func:`score_file` scores under (``score()``'s default ``id_column``).
_ID = "stay_id"


def _id_chunks(input: str | Path, chunk_rows: int) -> Iterator[pd.Series]:
    """The input's ids, chunk by chunk (files without the id column give none), missing and blank ids left out:
    score() flags those on their own, and never as repeats."""
    for f in input_files(input):
        names = read_csv(f, nrows=0).columns if f.suffix.lower() == ".csv" else pq.read_schema(f).names
        if _ID not in names:
            continue
        for chunk in iter_chunks(f, chunk_rows, [_ID]):
            # a frame saved with ``set_index("stay_id")`` comes back with the ids as its index, as score() reads them
            ids = chunk[_ID] if _ID in chunk.columns else pd.Series(chunk.index, name=_ID)
            ids = ids[ids.notna()]
            yield ids[ids.astype(str).str.strip() != ""]


def _repeated_ids(input: str | Path, chunk_rows: int) -> pd.Series:
    """How many rows hold each id the input gives to more than one row, in any chunks (score() sees one chunk a call).

    One pass keeps a 64-bit key of each id (:func:`~riskmodel.core.scoring.id_keys`: 8 bytes a row, not the ids); the
    ids of keys seen twice are then read in a second pass and counted exactly, so that two ids that share a key are
    never taken for one.
    """
    hashes = [id_keys(ids) for ids in _id_chunks(input, chunk_rows)]
    values, counts = np.unique(np.concatenate(hashes) if hashes else np.zeros(0, np.uint64), return_counts=True)
    twice = values[counts > 1]
    if not len(twice):
        return pd.Series([], dtype=np.int64)
    found = [ids[np.isin(id_keys(ids), twice)].astype(object)
             for ids in _id_chunks(input, chunk_rows)]
    per_id = pd.concat(found).value_counts(sort=False)
    return per_id[per_id > 1]


def _flag_repeated(out: pd.DataFrame, repeated: pd.Series, reasons: int) -> pd.DataFrame:
    """Flag, as score() flags a repeat within its call, the rows of ``out`` whose id is repeated in another chunk."""
    return flag_repeated_rows(out, out[_ID].isin(repeated.index).to_numpy(), _ID, reasons)


def _check_ids(input: str | Path, chunk_rows: int, errors: str) -> pd.Series:
    """The ids the input repeats (:func:`_repeated_ids`); with ``errors="raise"`` a SchemaError naming them, before any
    output exists."""
    repeated = _repeated_ids(input, chunk_rows)
    if errors == "raise" and len(repeated):
        raise SchemaError("stays", [repeated_id_problem(_ID, repeated.index[:5], int(repeated.sum()))])
    return repeated


#: A column named in a flagged row's ``error``: at its start or after "; ", before ": ".
_ERROR_COLUMN = re.compile(r"(?:^|; )([^;:]+): ")


class _ScoreTally:
    """Accumulates the run summary chunk by chunk: bands, flagged rows, score histogram and drift."""

    hist_edges = np.linspace(0.0, 1.0, 101)

    def __init__(self, scorer):
        self.drift = DriftCounter(profile_from_reference(scorer.model.reference_))
        self.bands = dict.fromkeys((*BAND_ORDER, "flagged"), 0)
        self.hist = np.zeros(100, dtype=np.int64)
        self.flagged_examples: list[str] = []
        self.flagged_by_column: dict[str, int] = {}
        self.features = set(scorer.model.features)

    def _count_by_column(self, chunk: pd.DataFrame, errors: pd.Series) -> None:
        """Flagged rows per column named in their ``error`` ("column: problem; column: problem"), a row once a column.

        Only names of columns (the input's, the model's features) count: a problem's own words may hold "; " and ": ".
        """
        known = self.features | {str(c) for c in chunk.columns} | {_ID}
        for text in errors:
            for col in {m for m in _ERROR_COLUMN.findall(text) if m in known}:
                self.flagged_by_column[col] = self.flagged_by_column.get(col, 0) + 1

    def on_chunk(self, chunk: pd.DataFrame, out: pd.DataFrame) -> None:
        self.drift.update(chunk.assign(probability=out["probability"].to_numpy()))
        band = out["risk_band"].astype(object).to_numpy()
        for b in BAND_ORDER:
            self.bands[b] += int(np.sum(band == b))
        err = out["error"].notna().to_numpy()
        self.bands["flagged"] += int(err.sum())
        if err.any() and len(self.flagged_examples) < 5:
            self.flagged_examples.extend(out.loc[err, "error"].astype(str).head(5 - len(self.flagged_examples)))
        if err.any():
            self._count_by_column(chunk, out.loc[err, "error"].astype(str))
        p = out["probability"].to_numpy(dtype=float)
        self.hist[:] += np.histogram(p[np.isfinite(p)], bins=self.hist_edges)[0]

    def summary(self, scorer, result: BatchResult, seconds: float) -> dict[str, Any]:
        psi = self.drift.psi()
        cdf = np.cumsum(self.hist) / max(self.hist.sum(), 1)
        # no scored row (empty input, or every row flagged): no quantiles rather than the top bin
        quantiles = {f"p{q}": float(self.hist_edges[1:][np.searchsorted(cdf, q / 100)]) if self.hist.sum() else None for q in (50, 90, 99)}
        return {
            "model_name": scorer.name,
            "model_version": scorer.version,
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "rows_equal": result.rows_in == result.rows_out,
            "parts": result.parts,
            "resumed_parts": result.resumed_parts,
            "seconds": round(seconds, 2),
            "rows_per_s": round(result.rows_in / seconds, 1) if seconds > 0 else None,
            "band_counts": self.bands,
            "band_shares": {b: self.bands[b] / max(result.rows_out, 1) for b in self.bands},
            "score_quantiles_upper_bound": quantiles,
            "score_histogram_percent_bins": self.hist.tolist(),
            "psi": {k: (round(v, 5) if np.isfinite(v) else None) for k, v in psi.items()},
            "psi_verdict": {k: psi_verdict(v) for k, v in psi.items()},
            "psi_rule": ("against the model's training entries: PSI < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major "
                         "shift (a rule for a model's inputs against its training data: an in-country population reads "
                         "'major shift' there on every normal night; a feed is judged like with like)"),
            "flagged_examples": self.flagged_examples,
            # every flagged row counted under each column its error names, most rows first: what to fix, and how much
            "flagged_by_column": dict(sorted(self.flagged_by_column.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def score_file(input: str | Path, output: str | Path, *, model, **options) -> BatchResult:
    """Score a file or folder of stays into Parquet or CSV, resumably, with a run summary.

    Parameters
    ----------
    input : str or Path
        Parquet file, folder of Parquet parts, or CSV file of stays with the model's features.
    output : str or Path
        Output folder (parts) or a ``.parquet``/``.csv`` file.
    model : str, Path, RiskModel or Scorer
        A loaded model or a local model folder (:func:`riskmodel.score_file` also takes
        ``models:/overstay-risk@champion`` and run URIs).
    **options
        :class:`ScoreFileOptions`: ``reasons=3``, ``reasons_min_band="elevated"``,
        ``errors="flag"``, ``passthrough=()``, ``chunk_rows=200_000``, ``overwrite=False``,
        ``progress=True``, ``purpose="nightly batch"``.

    Returns
    -------
    BatchResult
        ``extra["summary"]`` holds the run summary (also written to :func:`summary_path`),
        ``extra["audit_record"]`` the audit record appended for the job.
        :func:`riskmodel.score_file` also logs both to MLflow.

    Raises
    ------
    BatchError
        Bad input path, a bad option (``reasons``, ``errors``, ``reasons_min_band``, ``chunk_rows``, a ``purpose`` that
        could name a person: :func:`riskmodel.core.audit.check_purpose`),
        another job's output, or lost rows.
    SchemaError
        With ``errors="raise"``, on the first chunk with a bad value, or, before any output, when the input gives one
        ``stay_id`` to more than one row in any of its chunks.

    Notes
    -----
    The whole input is one call of :func:`riskmodel.score` for its ids: with ``errors="flag"`` every row of a
    ``stay_id`` the input repeats, in one chunk or in two, is flagged (``stay_id: id given to more than one row``), and
    rows of an input without ``stay_id`` are numbered by their place in the whole input, not in their chunk.
    TypeError
        On an option that is not a field of :class:`ScoreFileOptions`.
    """
    opts = ScoreFileOptions.from_keywords(options)
    try:  # before any output exists: a bad option is the caller's error, not a chunk's
        check_score_args(opts.errors, opts.reasons, opts.reasons_min_band, opts.passthrough)
        audit.check_purpose(opts.purpose)  # the audit record is written at the end: a purpose naming someone, refused first
    except ValueError as exc:
        raise BatchError(str(exc)) from None
    check_chunk_rows(opts.chunk_rows)  # before the input's ids are read in chunks of it
    started = time.perf_counter()
    scorer = as_scorer(model)
    tally = _ScoreTally(scorer)
    # the night is one call: an id in two chunks is a repeat as one twice in a chunk is (score() sees one chunk)
    repeated = _check_ids(input, opts.chunk_rows, opts.errors)

    def transform(chunk: pd.DataFrame) -> pd.DataFrame:
        out = score(
            chunk, model=scorer, reasons=opts.reasons, reasons_min_band=opts.reasons_min_band,
            errors=opts.errors, passthrough=opts.passthrough, audit_log=False,
        )
        if _ID not in chunk.columns and chunk.index.name != _ID and isinstance(chunk.index, pd.RangeIndex):
            out[_ID] = chunk.index.to_numpy()  # rows numbered by their place in the whole input, not in the chunk
        return _flag_repeated(out, repeated, opts.reasons) if len(repeated) else out

    spec = opts.job_spec(scorer)
    path = summary_path(output)

    def drop_last_summary() -> None:  # a summary beside an output is that output's, never a run's still going or dead
        path.unlink(missing_ok=True)

    def write_summary(result: BatchResult) -> dict[str, Any]:
        # a folder: before its _SUCCESS (a folder marked done has its summary); a file: once the file is in place
        summary = tally.summary(scorer, result, time.perf_counter() - started)
        tmp = temp_beside(path)
        try:
            tmp.write_text(json.dumps(summary, indent=1), encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return {"summary": summary, "summary_path": str(path)}

    result = run_job(
        input, output, transform, spec=spec, chunk_rows=opts.chunk_rows, overwrite=opts.overwrite,
        hooks=JobHooks(on_chunk=tally.on_chunk, finish=write_summary, start=drop_last_summary), progress=opts.progress,
        description="rows scored" if callable(opts.progress) else "scoring",
    )
    record = audit.append(
        "batch",
        model_name=scorer.name,
        model_version=scorer.version,
        input_digest=audit.digest(np.array([json.dumps(spec, sort_keys=True), str(Path(input).resolve())], dtype=object)),
        rows=result.rows_in,
        band_counts=tally.bands,
        purpose=opts.purpose,
    )
    result.extra["audit_record"] = record
    return result
