"""Nightly batch scoring of files, its run summary, and outcome monitoring of past scores.

:func:`score_file` streams a Parquet file, a folder of Parquet parts or a CSV
file through :func:`riskmodel.score` in chunks (bounded memory, progress bar,
resumable after a kill, rows in = rows out; see :mod:`riskmodel.integrations.batch.jobs`). Each
run writes ``<output>.summary.json`` (or ``_summary.json`` inside an output
folder) with the score distribution, band counts and the PSI of every feature
and of the score against the training reference stored with the model, judged
by the 0.1/0.25 rule of thumb; with tracking on, the same goes to MLflow.

:func:`evaluate_scores` joins past scores with outcomes that have matured since
and reports the realised AUC, PR-AUC, calibration and referral precision by
month and by audit group: the signal that says when to retrain.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.core import audit
from riskmodel.integrations.batch.jobs import BatchResult, JobHooks, run_job
from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.monitoring.drift import DriftCounter, psi_verdict
from riskmodel.core.scoring import BAND_ORDER, as_scorer, score

__all__ = ["score_file", "ScoreFileOptions", "summary_path", "evaluate_scores"]


def summary_path(output: str | Path) -> Path:
    """Where :func:`score_file` writes the run summary for ``output``."""
    output = Path(output)
    if output.suffix.lower() in (".parquet", ".csv"):
        return output.with_name(output.name + ".summary.json")
    return output / "_summary.json"


def _reference_profile(reference: dict) -> dict[str, Any]:
    """The model's stored training reference in :mod:`riskmodel.core.monitoring.drift` profile form."""
    out = {}
    for name, spec in {**reference.get("features", {}), "probability": reference.get("score", {})}.items():
        if not spec:
            continue
        fractions = list(spec["share"]) + [spec.get("missing", 0.0)]
        if spec["kind"] == "categorical":
            out[name] = {"kind": "categorical", "levels": list(spec["levels"]), "fractions": fractions}
        else:
            out[name] = {"kind": "numeric", "edges": list(spec["edges"]), "fractions": fractions}
    return out


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
    progress : bool, default=True
        Progress bar on stderr.
    purpose : str, optional
        Recorded in the audit log.
    """

    reasons: int = 3
    reasons_min_band: str | None = "elevated"
    errors: str = "flag"
    passthrough: tuple[str, ...] = ()
    chunk_rows: int = 200_000
    overwrite: bool = False
    progress: bool = True
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
        return {
            "model": scorer.source or scorer.name,
            "model_version": scorer.version,
            "reasons": self.reasons,
            "reasons_min_band": self.reasons_min_band,
            "errors": self.errors,
            "passthrough": list(self.passthrough),
        }


class _ScoreTally:
    """Accumulates the run summary chunk by chunk: bands, flagged rows, score histogram and drift."""

    hist_edges = np.linspace(0.0, 1.0, 101)

    def __init__(self, scorer):
        self.drift = DriftCounter(_reference_profile(scorer.model.reference_))
        self.bands = dict.fromkeys((*BAND_ORDER, "flagged"), 0)
        self.hist = np.zeros(100, dtype=np.int64)
        self.flagged_examples: list[str] = []

    def on_chunk(self, chunk: pd.DataFrame, out: pd.DataFrame) -> None:
        self.drift.update(chunk.assign(probability=out["probability"].to_numpy()))
        band = out["risk_band"].astype(object).to_numpy()
        for b in BAND_ORDER:
            self.bands[b] += int(np.sum(band == b))
        err = out["error"].notna().to_numpy()
        self.bands["flagged"] += int(err.sum())
        if err.any() and len(self.flagged_examples) < 5:
            self.flagged_examples.extend(out.loc[err, "error"].astype(str).head(5 - len(self.flagged_examples)))
        p = out["probability"].to_numpy(dtype=float)
        self.hist[:] += np.histogram(p[np.isfinite(p)], bins=self.hist_edges)[0]

    def summary(self, scorer, result: BatchResult, seconds: float) -> dict[str, Any]:
        psi = self.drift.psi()
        cdf = np.cumsum(self.hist) / max(self.hist.sum(), 1)
        quantiles = {f"p{q}": float(self.hist_edges[1:][np.searchsorted(cdf, q / 100)]) for q in (50, 90, 99)}
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
            "psi_rule": "PSI < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift (check the feed or retrain)",
            "flagged_examples": self.flagged_examples,
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
        Bad input path, another job's output, or lost rows.
    SchemaError
        With ``errors="raise"``, on the first chunk with a bad value.
    TypeError
        On an option that is not a field of :class:`ScoreFileOptions`.
    """
    opts = ScoreFileOptions.from_keywords(options)
    started = time.perf_counter()
    scorer = as_scorer(model)
    tally = _ScoreTally(scorer)

    def transform(chunk: pd.DataFrame) -> pd.DataFrame:
        return score(
            chunk, model=scorer, reasons=opts.reasons, reasons_min_band=opts.reasons_min_band,
            errors=opts.errors, passthrough=opts.passthrough, audit_log=False,
        )

    spec = opts.job_spec(scorer)
    result = run_job(
        input, output, transform, spec=spec, chunk_rows=opts.chunk_rows, overwrite=opts.overwrite,
        hooks=JobHooks(on_chunk=tally.on_chunk), progress=opts.progress, description="scoring",
    )
    summary = tally.summary(scorer, result, time.perf_counter() - started)
    path = summary_path(output)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    os.replace(tmp, path)
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
    result.extra["summary"] = summary
    result.extra["summary_path"] = str(path)
    return result


# ----------------------------------------------------------------------------- outcome monitoring


def evaluate_scores(
    scored: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    id_column: str = "stay_id",
    target: str = "overstayed",
    time_column: str = "entry_time",
    groups: tuple[str, ...] = ("region", "sex", "age_band"),
    refer_bands: tuple[str, ...] = ("elevated", "high"),
    min_rows: int = 50,
) -> pd.DataFrame:
    """Realised accuracy of past scores once their outcomes are known, by month and by audit group.

    Parameters
    ----------
    scored : DataFrame
        Output of :func:`riskmodel.score` (``id_column, probability, risk_band``).
    outcomes : DataFrame
        Stays with matured labels: ``id_column``, ``target`` (missing = not yet known,
        those rows are left out), ``time_column`` and the audit ``groups`` present.
    id_column, target, time_column : str
        Column names.
    groups : tuple of str, default=("region", "sex", "age_band")
        Audit attributes to break down by (those absent from ``outcomes`` are skipped).
    refer_bands : tuple of str, default=("elevated", "high")
        Bands that mean "referred to an officer".
    min_rows : int, default=50
        Slices with fewer rows are reported with their counts but no metrics.

    Returns
    -------
    DataFrame
        One row per slice: ``slice`` (``all``, ``month``, or a group attribute),
        ``value``, ``n``, ``positives``, ``roc_auc``, ``pr_auc``, ``mean_predicted``,
        ``observed_rate``, ``ece``, ``referred``, ``referral_precision``.

    Raises
    ------
    SchemaError
        If a needed column is missing, or no scored row has a known outcome.
    """
    from riskmodel.core.risk.metrics import expected_calibration_error

    problems = [
        SchemaProblem(c, "required column is missing", f"add `{c}`")
        for c, df in ((id_column, scored), ("probability", scored), ("risk_band", scored), (id_column, outcomes), (target, outcomes))
        if c not in df.columns
    ]
    if problems:
        raise SchemaError("scores/outcomes", problems)
    keep = [c for c in (id_column, target, time_column, *groups) if c in outcomes.columns]
    joined = scored[[id_column, "probability", "risk_band"]].merge(outcomes[keep], on=id_column, how="inner")
    joined = joined[joined[target].notna() & joined["probability"].notna()]
    if joined.empty:
        raise SchemaError(
            "scores/outcomes",
            [SchemaProblem(id_column, "no scored stay has a known outcome yet", "wait until permits have ended, or check that the ids match")],
        )
    joined["_y"] = joined[target].astype(float)
    joined["_refer"] = joined["risk_band"].astype(object).isin(refer_bands)
    slices: list[tuple[str, str, pd.DataFrame]] = [("all", "all", joined)]
    if time_column in joined.columns:
        month = pd.to_datetime(joined[time_column]).dt.to_period("M").astype(str)
        slices += [("month", m, g) for m, g in joined.groupby(month, sort=True)]
    for g in groups:
        if g in joined.columns:
            slices += [(g, str(v), part) for v, part in joined.groupby(joined[g].astype(object), sort=True)]
    rows = []
    from sklearn.metrics import average_precision_score, roc_auc_score

    for name, value, part in slices:
        y, p = part["_y"].to_numpy(), part["probability"].to_numpy(dtype=float)
        both = 0 < y.sum() < len(y)
        enough = len(part) >= min_rows
        referred = int(part["_refer"].sum())
        rows.append(
            {
                "slice": name,
                "value": value,
                "n": len(part),
                "positives": int(y.sum()),
                "roc_auc": float(roc_auc_score(y, p)) if both and enough else np.nan,
                "pr_auc": float(average_precision_score(y, p)) if both and enough else np.nan,
                "mean_predicted": float(p.mean()),
                "observed_rate": float(y.mean()),
                "ece": expected_calibration_error(y, p) if enough else np.nan,
                "referred": referred,
                "referral_precision": float(part.loc[part["_refer"], "_y"].mean()) if referred else np.nan,
            }
        )
    return pd.DataFrame(rows)
