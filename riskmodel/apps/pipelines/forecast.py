"""The arrival-forecast pipeline: config -> series -> fit (backtest, choose, calibrate) -> log -> register.

Promotion is a separate step (:func:`promote`), so the challenger's backtest can
be read before the gate moves ``champion``.

Examples
--------
>>> from riskmodel.apps.pipelines.forecast import train, promote                # doctest: +SKIP
>>> outcome = train("configs/forecast.yaml")                     # doctest: +SKIP
>>> promote("configs/forecast.yaml").passed                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskmodel.core.config import load_config
from riskmodel.core.csv_files import check_csv, check_thousands_dots, iso_dates, read_csv, text_id_dtypes
from riskmodel.core.exceptions import ConfigError
from riskmodel.core.forecasting import Forecaster, Hierarchy, make_series
from riskmodel.core.forecasting.config import ForecastConfig
from riskmodel.core.parquet_parts import read_parquet
from riskmodel.core.progress import ProgressHook

__all__ = ["ForecastOutcome", "load_forecast_config", "load_series", "train", "promote", "holdout_summary"]


@dataclass
class ForecastOutcome:
    """What :func:`train` returns: the fitted forecaster and, when logged, where it went."""

    forecaster: Forecaster
    logged: object | None


def load_forecast_config(config: str | Path | ForecastConfig) -> ForecastConfig:
    """A :class:`ForecastConfig` from a YAML path, or the object itself."""
    return config if isinstance(config, ForecastConfig) else load_config(config, ForecastConfig)


def _read(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise ConfigError(f"`data.{what}` `{path}` does not exist; give a Parquet or CSV file, or null.")
    if path.suffix != ".csv":
        return read_parquet(path)  # a folder whose files disagree on a column is refused
    check_csv(path)  # a header separated by ';' or naming a column twice, a last row cut off: as every CSV reader
    # a CSV has no types: ids read as numbers lose their zeros, and series '007' and '7' become one
    return read_csv(path, ids=[*text_id_dtypes(), "unique_id"])  # and a series or traveller "NA" keeps its id


def load_series(cfg: ForecastConfig) -> tuple[pd.DataFrame, Hierarchy | None, str]:
    """The series of ``cfg.data`` (long frame), their hierarchy when built from crossings, and a lineage label."""
    d = cfg.data
    if d.series_path:
        df = _read(Path(d.series_path), "series_path")
        df["ds"] = iso_dates(df["ds"], "ds", d.series_path)
        if Path(d.series_path).suffix == ".csv" and "y" in df.columns:  # 1.030 arrivals (1030) are no 1.03
            check_thousands_dots(d.series_path, "y", df["y"])
        return df[["unique_id", "ds", "y"]], None, d.series_path
    if d.crossings_path:
        crossings = _read(Path(d.crossings_path), "crossings_path")
        crossings["timestamp"] = iso_dates(crossings["timestamp"], "timestamp", d.crossings_path)
        source = d.crossings_path
    else:
        from riskmodel.core.datasets import make_crossings

        crossings = make_crossings(d.n_travellers, d.start, d.end, seed=d.seed, covid=d.covid).crossings
        source = f"synthetic n_travellers={d.n_travellers} seed={d.seed} {d.start}..{d.end}"
    series = make_series(crossings, freq=cfg.series.freq, levels=cfg.series.levels)
    return series.df, series.hierarchy, source


def train(
    config: str | Path | ForecastConfig,
    *,
    series: pd.DataFrame | None = None,
    log: bool = True,
    progress: Callable[[str], None] = lambda _m: None,
    on_progress: ProgressHook | None = None,
) -> ForecastOutcome:
    """Fit the forecaster of a config, log it to MLflow and register it as ``challenger``.

    Parameters
    ----------
    config : str, Path or ForecastConfig
        ``configs/forecast.yaml`` or an equivalent object.
    series : DataFrame, optional
        Long ``unique_id, ds, y`` series to use instead of ``config.data`` (no hierarchy).
    log : bool, default=True
        Log and register (MLflow at ``MLFLOW_TRACKING_URI``, default ``sqlite:///mlflow.db``).
    progress : callable, optional
        Receives one line per step.
    on_progress : callable, optional
        ``on_progress(what, done, total)`` (:mod:`riskmodel.core.progress`): the backtest
        windows and the final fit, counted as they finish.

    Returns
    -------
    ForecastOutcome
    """
    cfg = load_forecast_config(config)
    hierarchy, source = None, "argument"
    if series is None:
        progress("loading arrival series")
        series, hierarchy, source = load_series(cfg)
    progress(f"fitting on {series['unique_id'].nunique():,} series: backtest {cfg.forecaster.n_windows} windows, h={cfg.forecaster.h}")
    forecaster = Forecaster(**cfg.forecaster_kwargs()).fit(series, hierarchy, on_progress=on_progress)
    # the holdout window's figures: the selection windows' are optimistic (they chose the model)
    held = holdout_summary(forecaster)
    row = forecaster.metrics_.query("level == 'all' and model == 'chosen'") if len(forecaster.metrics_) else forecaster.metrics_
    if held is not None:
        progress(f"chosen {sorted(set(forecaster.chosen_.values()))}; {held}")
    elif len(row):
        progress(f"chosen {sorted(set(forecaster.chosen_.values()))}; no holdout window: backtest (optimistic) MASE {row['mase'].iloc[0]:.4f}, "
                 f"95% coverage {row.get('coverage_95', pd.Series([float('nan')])).iloc[0]:.3f}")
    logged = None
    if log:
        from riskmodel.integrations.tracking.forecast import log_forecast_run

        lineage = {"source": source, "first_ds": str(series["ds"].min()), "last_ds": str(series["ds"].max())}
        extra = _champion_on_same_window(forecaster, cfg.tracking.registered_name, progress, on_progress)
        logged = log_forecast_run(forecaster, cfg, lineage=lineage, extra_metrics=extra)
        progress(f"logged run {logged.run_id}; registered {logged.name} version {logged.version} as challenger")
    return ForecastOutcome(forecaster=forecaster, logged=logged)


def holdout_summary(forecaster: Forecaster) -> str | None:
    """The holdout figures the promotion gate decides on, in words; None without a holdout window.

    The gate (:func:`~riskmodel.core.forecasting.gate.honest_metrics`) scores the forecasts
    as served: reconciled when there is a hierarchy. The chosen model's holdout MASE before
    reconciliation is another figure; it is named as such, never as the holdout MASE.

    Returns
    -------
    str or None
        ``"holdout MASE 0.9158, 95% coverage 0.944 (the promotion gate's figures: ...)"``,
        the MASE to 4 places and the coverage to 3, as the gate's decision prints them.
    """
    from riskmodel.core.forecasting.gate import honest_metrics

    honest = honest_metrics(forecaster)
    if "mase" not in honest:
        return None
    rows = forecaster.holdout_metrics_.query("level == 'all'").set_index("model")
    cov = honest.get("coverage_95", float("nan"))
    text = f"holdout MASE {honest['mase']:.4f}, 95% coverage {cov:.3f} (the promotion gate's figures"
    if "reconciled" in rows.index and "chosen" in rows.index:
        text += f": the forecasts as served, reconciled; the chosen model before reconciliation: MASE {rows.loc['chosen', 'mase']:.4f}"
    return text + ")"


def _champion_on_same_window(
    forecaster: Forecaster, name: str, progress: Callable[[str], None], on_progress: ProgressHook | None = None
) -> dict[str, float]:
    """The current champion refitted and scored on the challenger's holdout window (over all series and at each level),
    and its version, for the gate.

    The gate uses the figure only while that version is still champion (another trainer may promote first).
    """
    from riskmodel.core.exceptions import ModelLoadError
    from riskmodel.core.forecasting.gate import champion_figures_on_same_window
    from riskmodel.integrations.tracking.loading import load_logged

    try:
        champion = load_logged(f"models:/{name}@champion")  # pinned: the model measured and its version are one
    except ModelLoadError:
        return {}  # no champion yet
    if not isinstance(champion.model, Forecaster):
        return {}
    progress(f"refitting the champion's (version {champion.version}) settings on the same history, to compare on the same window")
    # its MASE over all series and at each level of the hierarchy: the gate holds the challenger to both
    figures = champion_figures_on_same_window(champion.model, forecaster, on_progress=on_progress)
    return {} if not figures else figures | {"champion_version_same_window": float(champion.version)}


def promote(config: str | Path | ForecastConfig, *, version: str | int | None = None):
    """Move ``champion`` to the current ``challenger`` (or to ``version``) if the config's gate passes; returns the decision.

    This process's next call by alias (``forecast(model="models:/<name>@champion")``) then serves the
    new champion at once (:func:`riskmodel.api.forget_aliases`).

    Parameters
    ----------
    config : str, Path or ForecastConfig
    version : str or int, optional
        Judge and promote this version rather than the one behind ``challenger`` (a trainer
        promoting the version it just registered, as ``riskmodel run`` does).
    """
    from riskmodel.api import forget_aliases
    from riskmodel.integrations.tracking.forecast import promote_forecaster

    cfg = load_forecast_config(config)
    try:
        return promote_forecaster(cfg.tracking.registered_name, cfg.gate, version=version)
    finally:
        forget_aliases(cfg.tracking.registered_name)
