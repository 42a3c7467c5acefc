"""Configuration of the forecasting pipeline (``configs/forecast.yaml``).

Sections mirror the steps: ``data`` (where arrivals come from), ``series``
(how they are aggregated), ``forecaster`` (the :class:`~riskmodel.core.forecasting.Forecaster`
arguments), ``gate`` (promotion rules) and ``tracking`` (experiment and registered
name; the server comes from ``MLFLOW_TRACKING_URI``).

>>> from riskmodel.core.config import load_config
>>> cfg = load_config("configs/forecast.yaml", ForecastConfig)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from riskmodel.core.config import TrackingConfig

__all__ = ["ForecastConfig", "ForecastDataConfig", "SeriesConfig", "ForecasterConfig", "ForecastGateConfig", "ForecastTrackingConfig"]


@dataclass(frozen=True)
class ForecastDataConfig:
    """Arrivals: a long series file (``unique_id, ds, y``), a crossings log, or the synthetic generator."""

    series_path: str | None = None
    crossings_path: str | None = None
    n_travellers: int = 20_000
    start: str = "2017-01-01"
    end: str = "2023-12-31"
    seed: int = 0
    covid: bool = True


@dataclass(frozen=True)
class SeriesConfig:
    """How a crossings log becomes series (ignored for ``series_path``)."""

    freq: Literal["D", "W", "M"] = "M"
    levels: tuple[str, ...] = ("total", "port_type", "port")


@dataclass(frozen=True)
class ForecasterConfig:
    """Arguments of :class:`~riskmodel.core.forecasting.Forecaster`."""

    h: int = 12
    models: tuple[str, ...] | None = None
    combine: bool = True
    selection: Literal["global", "series"] = "global"
    level: tuple[int, ...] = (80, 95)
    n_windows: int = 3
    step: int | None = None
    breaks: tuple[tuple[str, ...], ...] = (("2020-04-01", "2022-03-31"),)
    events: tuple[str, ...] | None = None
    reconcile: Literal["bottom_up", "wls_struct", "mint_shrink"] | None = "wls_struct"
    n_jobs: int = 1
    seed: int = 0

    def __post_init__(self):
        if self.h < 1:
            raise ValueError(f"`h` must be an int >= 1; got {self.h}.")
        for b in self.breaks:
            if len(b) != 2:
                raise ValueError(f"each break must be [start, end]; got {list(b)}.")


@dataclass(frozen=True)
class ForecastGateConfig:
    """Promotion rules on the backtest of the chosen model over all series.

    The challenger is promoted when its MASE is at most ``max_mase``, at most
    ``1 + mase_tolerance`` times the champion's, below seasonal naive's, and its
    95% coverage lies in ``[min_coverage_95, max_coverage_95]``.
    """

    max_mase: float = 2.0
    mase_tolerance: float = 0.02
    beat_snaive: bool = True
    min_coverage_95: float = 0.85
    max_coverage_95: float = 0.995


#: The forecasting config's ``tracking`` section: the one tracking config of the core (old name kept).
ForecastTrackingConfig = TrackingConfig


@dataclass(frozen=True)
class ForecastConfig:
    """The whole ``configs/forecast.yaml``."""

    data: ForecastDataConfig = field(default_factory=ForecastDataConfig)
    series: SeriesConfig = field(default_factory=SeriesConfig)
    forecaster: ForecasterConfig = field(default_factory=ForecasterConfig)
    gate: ForecastGateConfig = field(default_factory=ForecastGateConfig)
    tracking: TrackingConfig = field(default_factory=lambda: TrackingConfig("arrival-forecast", "arrival-forecast"))

    def forecaster_kwargs(self) -> dict:
        """Keyword arguments for :class:`~riskmodel.core.forecasting.Forecaster`."""
        f = self.forecaster
        return {
            "h": f.h, "models": f.models, "combine": f.combine, "selection": f.selection, "level": f.level,
            "n_windows": f.n_windows, "step": f.step, "breaks": tuple(tuple(b) for b in f.breaks),
            "events": f.events, "reconcile": f.reconcile, "n_jobs": f.n_jobs, "seed": f.seed,
        }
