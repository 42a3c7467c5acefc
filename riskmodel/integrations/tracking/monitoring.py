"""Log monitoring results (batch summaries, realised accuracy of past scores) to MLflow.

Each call is one run in the named experiment: flat numeric figures become
metrics (``psi.<feature>``, ``band_share.<band>``, ...), and the full result is
attached as a JSON or CSV artifact. Nothing here records identifiers.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import mlflow
import pandas as pd

from riskmodel.integrations.tracking.registry import use_experiment

__all__ = ["log_summary", "log_table"]


def _metric_key(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-. /]", "_", text)[:250]


def _flat_metrics(summary: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_metrics(value, f"{name}."))
        elif isinstance(value, bool):
            out[_metric_key(name)] = float(value)
        elif isinstance(value, int | float) and value is not None and math.isfinite(value):
            out[_metric_key(name)] = float(value)
    return out


def log_summary(
    experiment: str, summary: dict, artifact: str | Path | None = None, *, run_name: str | None = None, records: dict | None = None
) -> str:
    """Log a summary dict's numbers as metrics (and a file as artifact); return the run id.

    ``records`` are extra JSON documents to attach (e.g. ``{"audit.json": audit_record}``).
    """
    use_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_metrics(_flat_metrics(summary))
        for key in ("model_name", "model_version"):
            if key in summary:
                mlflow.set_tag(key, str(summary[key]))
        if artifact is not None:
            mlflow.log_artifact(str(artifact))
        for name, record in (records or {}).items():
            mlflow.log_dict(record, name)
        return run.info.run_id


def log_table(experiment: str, table: pd.DataFrame, *, name: str, run_name: str | None = None, metric_columns=(), tags=None) -> str:
    """Log a result table as a CSV artifact, with ``slice=value`` rows' numbers as metrics."""
    use_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        metrics = {}
        for _, row in table.iterrows():
            for col in metric_columns:
                v = row[col]
                if isinstance(v, int | float) and math.isfinite(v):
                    metrics[_metric_key(f"{col}.{row['slice']}.{row['value']}")] = float(v)
        if metrics:
            mlflow.log_metrics(metrics)
        for k, v in (tags or {}).items():
            mlflow.set_tag(k, str(v))
        mlflow.log_text(table.to_csv(index=False), f"{name}.csv")
        return run.info.run_id
