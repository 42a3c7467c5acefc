"""Configuration of the forecasting pipeline (``configs/forecast.yaml``).

Sections mirror the steps: ``data`` (where arrivals come from), ``series``
(how they are aggregated), ``forecaster`` (the :class:`~riskmodel.core.forecasting.Forecaster`
arguments: :class:`ForecasterConfig` is derived from its constructor, so each setting is
written once), ``gate`` (promotion rules) and ``tracking`` (experiment and registered
name; the server comes from ``MLFLOW_TRACKING_URI``).

>>> from riskmodel.core.config import load_config
>>> cfg = load_config("configs/forecast.yaml", ForecastConfig)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

from riskmodel.core.config import TrackingConfig, check_iso_dates, config_from_signature
from riskmodel.core.forecasting.forecaster import Forecaster

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

    def __post_init__(self):
        check_iso_dates("data", start=self.start, end=self.end)


@dataclass(frozen=True)
class SeriesConfig:
    """How a crossings log becomes series (ignored for ``series_path``)."""

    freq: Literal["D", "W", "M"] = "M"
    levels: tuple[str, ...] = ("total", "port_type", "port")


#: Constructor parameters of :class:`Forecaster` that are not config keys: the frequency
#: comes from the series (``series.freq``, or inferred from a series file) and progress
#: bars are a choice of the run, not a setting of the model.
NOT_CONFIG = ("freq", "progress")


def _check_forecaster_config(self) -> None:
    """Validate with the Forecaster's own checks, so a bad value fails when the YAML loads."""
    for b in self.breaks:
        if len(b) != 2:
            raise ValueError(f"each break must be [start, end]; got {list(b)}.")
    Forecaster(**self.kwargs())._check_params()


def _forecaster_kwargs(self) -> dict:
    """Keyword arguments for :class:`~riskmodel.core.forecasting.Forecaster`."""
    kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
    kwargs["breaks"] = tuple(tuple(b) for b in kwargs["breaks"])
    return kwargs


ForecasterConfig = config_from_signature(
    Forecaster.__init__,
    "ForecasterConfig",
    exclude=NOT_CONFIG,
    doc="Arguments of :class:`~riskmodel.core.forecasting.Forecaster`, derived from its constructor.",
    module=__name__,
    namespace={"__post_init__": _check_forecaster_config, "kwargs": _forecaster_kwargs},
)


@dataclass(frozen=True)
class ForecastGateConfig:
    """Promotion rules on the holdout window of the served forecast, over all series and at each level of its hierarchy.

    The challenger is promoted when its MASE is at most ``max_mase``, at most
    ``1 + mase_tolerance`` times the champion's on the same window, strictly below the
    best of the simple peers naive, seasonal naive and drift (``beat_best_peer``),
    at each level of a hierarchy at most ``max_level_mase_over_snaive`` times seasonal
    naive's MASE at that level (null: not judged per level, said in an ``OFF:`` line),
    and its 95% coverage lies in ``[min_coverage_95, max_coverage_95]``
    (:mod:`riskmodel.core.forecasting.gate`). ``mase_tolerance`` is relative and below 1
    (0.02 is 2%; a negative one asks the challenger to beat the champion by that much).
    A coverage bound at the end of [0, 1] (a minimum of 0, a maximum of 1) cannot fail on its side:
    it is kept, and the gate's decision says so in an ``OFF:`` line.
    """

    max_mase: float = 2.0
    mase_tolerance: float = 0.02
    beat_best_peer: bool = True
    beat_snaive: bool = False
    min_coverage_95: float = 0.85
    max_coverage_95: float = 0.995
    max_level_mase_over_snaive: float | None = 1.0

    def __post_init__(self):
        def refuse(name: str, why: str):
            raise ValueError(f"`gate.{name}` {why}; got {getattr(self, name)!r} (configs/forecast.yaml, section gate).")

        for name in ("max_mase", "mase_tolerance", "min_coverage_95", "max_coverage_95"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                refuse(name, "must be a finite number (an infinite one passes every challenger)")
        bound = self.max_level_mase_over_snaive
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound) or bound <= 0):
            refuse("max_level_mase_over_snaive", "must be a finite number above 0 (1.0: no level of the hierarchy worse than "
                   "seasonal naive at that level), or null to switch the rule off")
        # relative: 2 (meant as 2%) let a challenger at three times the champion's MASE pass; a negative one asks for a gain
        if not self.mase_tolerance < 1:
            refuse("mase_tolerance", "must be a relative tolerance below 1 (0.02 is 2%: the challenger's MASE may be at most "
                   "1.02 times the champion's)")
        # a bound outside [0, 1] switches its side of the rule off; one that no forecaster can meet fails with the reason
        # in the gate's decision (tests and drills use max_mase 0 to see a refusal), so it is not refused here
        for name in ("min_coverage_95", "max_coverage_95"):
            if not 0 <= getattr(self, name) <= 1:
                refuse(name, "must lie in [0, 1] (a coverage is the share of actuals inside the 95% interval)")


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
        return self.forecaster.kwargs()
