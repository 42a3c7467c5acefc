"""Log, register, promote, load and monitor the arrival forecaster in MLflow.

One MLflow run per training holds: the Forecaster's settings as params, backtest
metrics per hierarchy level and model (``bt.<level>.<model>.<metric>``; the chosen
model's as ``mase``, ``coverage_95``, ...), the chosen model per series
(``forecast/chosen.csv``), the backtest metrics table, the forecast
(``forecast/forecast.csv``) and plots of history, forecast and intervals of the
largest series. The forecaster is an MLflow pyfunc in the ``loader_module`` form
(:mod:`riskmodel.integrations.tracking.forecast_pyfunc`, from the installed package)
whose data are JSON and Parquet files, with a signed manifest of every file of the
model: it loads without unpickling anything or running code from the store.

Forecast monitoring (:func:`log_forecast_monitoring`) scores stored forecasts
against actuals and logs MASE, coverage and bias per series and level.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from riskmodel.core.config import to_dict
from riskmodel.core.forecasting.gate import honest_metrics
from riskmodel.core.forecasting.config import ForecastConfig, ForecastGateConfig
from riskmodel.core.forecasting.forecaster import Forecaster
from riskmodel.core.forecasting.gate import forecast_gate
from riskmodel.core.gate import GateDecision
from riskmodel.core.monitoring.forecasts import score_forecasts
from riskmodel.integrations.tracking import forecast_pyfunc, registry
from riskmodel.integrations.tracking.forecast_pyfunc import ARTIFACT
from riskmodel.integrations.tracking.loading import pin
from riskmodel.integrations.tracking.publish import log_signed_pyfunc

__all__ = ["LoggedForecaster", "GateResult", "log_forecast_run", "load_forecaster", "forecast_gate", "promote_forecaster", "log_forecast_monitoring"]


#: Where a logged forecaster went (the same record as a logged risk model).
LoggedForecaster = registry.LoggedModel


#: The forecast gate's decision: the one gate decision type of the core (kept under its old name).
GateResult = GateDecision


def _key(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", str(text))


def _metrics(forecaster: Forecaster) -> dict[str, float]:
    # the headline figures the gate reads are the holdout window's, which chose and calibrated nothing;
    # the selection windows' figures stay under bt.* (optimistic: they chose the model)
    out: dict[str, float] = dict(honest_metrics(forecaster))
    table = forecaster.metrics_
    for _, row in (table if table is not None else pd.DataFrame()).iterrows():
        for col in table.columns:
            if col in ("level", "model", "n_series"):
                continue
            value = row[col]
            if pd.notna(value) and np.isfinite(value):
                out[f"bt.{_key(row['level'])}.{_key(row['model'])}.{col}"] = float(value)
    return out


def _plot(forecaster: Forecaster, n: int = 4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = forecaster.history_
    fc = forecaster.forecasts_
    top = hist.groupby("unique_id")["y"].sum().sort_values(ascending=False).index[:n]
    fig, axes = plt.subplots(len(top), 1, figsize=(9, 2.6 * len(top)), squeeze=False)
    hi_level = max(forecaster.level_)
    lo_level = min(forecaster.level_)
    for ax, uid in zip(axes[:, 0], top, strict=False):
        h = hist[hist["unique_id"] == uid]
        f = fc[fc["unique_id"] == uid]
        ax.plot(h["ds"], h["y"], color="black", lw=1, label="history")
        ax.plot(f["ds"], f["y_hat"], color="C0", lw=1.5, label=f"forecast ({f['model'].iloc[0]})")
        ax.fill_between(f["ds"], f[f"y_lo_{hi_level}"], f[f"y_hi_{hi_level}"], color="C0", alpha=0.15, label=f"{hi_level}%")
        ax.fill_between(f["ds"], f[f"y_lo_{lo_level}"], f[f"y_hi_{lo_level}"], color="C0", alpha=0.3, label=f"{lo_level}%")
        ax.set_title(uid, fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def _requirements() -> list[str]:
    reqs = []
    for pkg in ("numpy", "pandas", "pyarrow", "lightgbm", "statsmodels", "scikit-learn", "holidays", "joblib", "tqdm", "pyyaml", "mlflow"):
        try:
            reqs.append(f"{pkg}=={importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return reqs


def log_forecast_run(
    forecaster: Forecaster,
    config: ForecastConfig | None = None,
    *,
    lineage: dict | None = None,
    register_alias: str = "challenger",
    extra_metrics: dict[str, float] | None = None,
) -> LoggedForecaster:
    """Log a fitted forecaster to MLflow, register it and set ``challenger`` on it.

    Parameters
    ----------
    forecaster : Forecaster
        Fitted.
    config : ForecastConfig, optional
        The config used (logged as ``config/forecast.json``); gives the experiment
        and registered name (default ``arrival-forecast``).
    lineage : dict, optional
        Data lineage logged as ``data_*`` params (source, span, ...).
    register_alias : str, default="challenger"
    extra_metrics : dict of str to float, optional
        Further run metrics the gate reads (e.g. ``champion_mase_same_window``).

    Returns
    -------
    LoggedForecaster
    """
    config = config or ForecastConfig()
    registry.configure()
    mlflow.set_experiment(config.tracking.experiment)
    name = config.tracking.registered_name
    with mlflow.start_run(run_name=f"{name}-train") as run, tempfile.TemporaryDirectory() as tmp:
        params = {k: v for k, v in forecaster.get_params().items() if k != "progress"}
        params.update({"freq_": forecaster.freq_, "models_": ",".join(forecaster.models_), "n_series": forecaster.history_["unique_id"].nunique()})
        params.update({f"data_{k}": v for k, v in (lineage or {}).items()})
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_dict(to_dict(config), "config/forecast.json")
        mlflow.log_metrics(_metrics(forecaster) | {k: float(v) for k, v in (extra_metrics or {}).items() if v is not None})
        chosen = pd.DataFrame(sorted(forecaster.chosen_.items()), columns=["unique_id", "model"])
        mlflow.log_text(chosen.to_csv(index=False), "forecast/chosen.csv")
        mlflow.log_text(forecaster.metrics_.to_csv(index=False), "forecast/backtest_metrics.csv")
        mlflow.log_text(forecaster.forecasts_.to_csv(index=False), "forecast/forecast.csv")
        counts = chosen["model"].value_counts().to_dict()
        mlflow.set_tags({f"chosen.{k}": str(v) for k, v in counts.items()})
        mlflow.log_figure(_plot(forecaster), "plots/largest_series.png")
        import matplotlib.pyplot as plt

        plt.close("all")
        folder = forecaster.save(Path(tmp) / ARTIFACT)
        version, digest = log_signed_pyfunc(
            folder,
            loader_module=forecast_pyfunc.__name__,
            registered_name=name,
            signature=ModelSignature(inputs=Schema([ColSpec("long", "h"), ColSpec("string", "unique_id", required=False)])),
            pip_requirements=_requirements(),
        )
        registry.register(name, version, alias=register_alias, tags={"manifest_sha256": digest, "run_id": run.info.run_id})
    return LoggedForecaster(run_id=run.info.run_id, model_uri=f"models:/{name}/{version}", name=name, version=version)


def load_forecaster(uri: str | Path, *, allow_ungated: bool = False) -> Forecaster:
    """Load a :class:`Forecaster` from ``models:/name@alias``, a run URI or a local copy, verified.

    ``@champion`` must be a version promoted through the gate, unless ``allow_ungated``
    (see :func:`riskmodel.integrations.tracking.loading.load_logged`).

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved, the folder is not a saved forecaster, or
        ``@champion`` was not promoted through the gate.
    ArtifactIntegrityError
        If the model's signed manifest is missing or invalid, or a file differs from it.
    """
    uri = pin(uri, allow_ungated=allow_ungated)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(str(uri)).exists()
        folder = registry.download_model_folder(uri, ARTIFACT, dst=None if local else tmp)
        return Forecaster.load(folder)


def promote_forecaster(name: str, gate: ForecastGateConfig) -> registry.Decision:
    """Promote ``name@challenger`` to ``champion`` if it passes ``gate``; the decision is tagged either way.

    The rules are :func:`riskmodel.core.forecasting.gate.forecast_gate` (re-exported here).
    """
    return registry.promote(name, lambda cand, champ: forecast_gate(cand, champ, gate))


def log_forecast_monitoring(
    forecasts: pd.DataFrame,
    actuals: pd.DataFrame,
    *,
    history: pd.DataFrame | None = None,
    m: int = 12,
    tags: dict[str, list[str]] | None = None,
    experiment: str = "arrival-forecast-monitoring",
    run_name: str | None = None,
) -> tuple[str, pd.DataFrame]:
    """Score stored forecasts against actuals and log the result to MLflow.

    Parameters
    ----------
    forecasts, actuals, history, m, tags
        See :func:`riskmodel.core.monitoring.forecasts.score_forecasts`.
    experiment : str, default="arrival-forecast-monitoring"
    run_name : str, optional

    Returns
    -------
    run_id : str
    per_level : DataFrame
        MASE, bias and coverage per hierarchy level (level ``"all"`` first).
    """
    per_series, per_level = score_forecasts(forecasts, actuals, history=history, m=m, tags=tags)
    registry.configure()
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name or "forecast-monitoring") as run:
        metrics = {}
        for _, row in per_level.iterrows():
            for col in per_level.columns.drop(["level", "n_series"]):
                if pd.notna(row[col]):
                    metrics[f"{_key(row['level'])}.{col}"] = float(row[col])
        mlflow.log_metrics(metrics)
        mlflow.log_text(per_series.to_csv(index=False), "monitoring/per_series.csv")
        mlflow.log_text(per_level.to_csv(index=False), "monitoring/per_level.csv")
        mlflow.log_text(json.dumps({"first_ds": str(actuals["ds"].min()), "last_ds": str(actuals["ds"].max())}), "monitoring/span.json")
    return run.info.run_id, per_level
