"""Nightly batch scoring of files, its run summary, and outcome monitoring of past scores.

:func:`score_file` streams a Parquet file, a folder of Parquet parts or a CSV
file through :func:`riskmodel.score` in chunks (bounded memory, progress bar,
resumable after a kill, rows in = rows out; see :mod:`riskmodel.integrations.batch.jobs`). Each
run writes ``<output>.summary.json`` (or ``_summary.json`` inside an output
folder) with the score distribution, band counts and the PSI of every feature
and of the score against the training reference stored with the model, judged
by the 0.1/0.25 rule of thumb; with tracking on, the same goes to MLflow.

:func:`evaluate_scores` (from :mod:`riskmodel.core.monitoring.outcomes`, re-exported
here) joins past scores with outcomes that have matured since and reports the
realised AUC, PR-AUC, calibration and referral precision by month and by audit
group: the signal that says when to retrain.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.core import audit
from riskmodel.integrations.batch.jobs import BatchResult, run_job
from riskmodel.core.monitoring.drift import DriftCounter, profile_from_reference, psi_verdict
from riskmodel.core.monitoring.outcomes import evaluate_scores
from riskmodel.core.scoring import BAND_ORDER, as_scorer, score

__all__ = ["score_file", "summary_path", "evaluate_scores"]


def summary_path(output: str | Path) -> Path:
    """Where :func:`score_file` writes the run summary for ``output``."""
    output = Path(output)
    if output.suffix.lower() in (".parquet", ".csv"):
        return output.with_name(output.name + ".summary.json")
    return output / "_summary.json"


def score_file(
    input: str | Path,
    output: str | Path,
    *,
    model,
    reasons: int = 3,
    reasons_min_band: str | None = "elevated",
    errors: str = "flag",
    passthrough: tuple[str, ...] = (),
    chunk_rows: int = 200_000,
    overwrite: bool = False,
    progress: bool = True,
    purpose: str | None = "nightly batch",
) -> BatchResult:
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
    """
    started = time.perf_counter()
    scorer = as_scorer(model)
    reference = profile_from_reference(scorer.model.reference_)
    drift = DriftCounter(reference)
    bands = dict.fromkeys((*BAND_ORDER, "flagged"), 0)
    hist_edges = np.linspace(0.0, 1.0, 101)
    hist = np.zeros(100, dtype=np.int64)
    flagged_examples: list[str] = []

    def transform(chunk: pd.DataFrame) -> pd.DataFrame:
        return score(
            chunk,
            model=scorer,
            reasons=reasons,
            reasons_min_band=reasons_min_band,
            errors=errors,
            passthrough=passthrough,
            audit_log=False,
        )

    def on_chunk(chunk: pd.DataFrame, out: pd.DataFrame) -> None:
        drift.update(chunk.assign(probability=out["probability"].to_numpy()))
        band = out["risk_band"].astype(object).to_numpy()
        for b in BAND_ORDER:
            bands[b] += int(np.sum(band == b))
        err = out["error"].notna().to_numpy()
        bands["flagged"] += int(err.sum())
        if err.any() and len(flagged_examples) < 5:
            flagged_examples.extend(out.loc[err, "error"].astype(str).head(5 - len(flagged_examples)))
        p = out["probability"].to_numpy(dtype=float)
        hist[:] += np.histogram(p[np.isfinite(p)], bins=hist_edges)[0]

    spec = {
        "model": scorer.source or scorer.name,
        "model_version": scorer.version,
        "reasons": reasons,
        "reasons_min_band": reasons_min_band,
        "errors": errors,
        "passthrough": list(passthrough),
    }

    result = run_job(
        input, output, transform, spec=spec, chunk_rows=chunk_rows, overwrite=overwrite,
        on_chunk=on_chunk, progress=progress, description="scoring",
    )
    seconds = time.perf_counter() - started
    psi = drift.psi()
    cdf = np.cumsum(hist) / max(hist.sum(), 1)
    quantiles = {f"p{q}": float(hist_edges[1:][np.searchsorted(cdf, q / 100)]) for q in (50, 90, 99)}
    summary = {
        "model_name": scorer.name,
        "model_version": scorer.version,
        "rows_in": result.rows_in,
        "rows_out": result.rows_out,
        "rows_equal": result.rows_in == result.rows_out,
        "parts": result.parts,
        "resumed_parts": result.resumed_parts,
        "seconds": round(seconds, 2),
        "rows_per_s": round(result.rows_in / seconds, 1) if seconds > 0 else None,
        "band_counts": bands,
        "band_shares": {b: bands[b] / max(result.rows_out, 1) for b in bands},
        "score_quantiles_upper_bound": quantiles,
        "score_histogram_percent_bins": hist.tolist(),
        "psi": {k: (round(v, 5) if np.isfinite(v) else None) for k, v in psi.items()},
        "psi_verdict": {k: psi_verdict(v) for k, v in psi.items()},
        "psi_rule": "PSI < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift (check the feed or retrain)",
        "flagged_examples": flagged_examples,
    }
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
        band_counts=bands,
        purpose=purpose,
    )
    result.extra["audit_record"] = record
    result.extra["summary"] = summary
    result.extra["summary_path"] = str(path)
    return result
