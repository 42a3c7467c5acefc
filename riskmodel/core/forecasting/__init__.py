"""Seasonal arrival forecasting: series, calendar, models, backtests, intervals, hierarchy.

The public face is :class:`Forecaster` and :func:`forecast` (re-exported by
``riskmodel``), :func:`make_series` to build arrival series from a crossings log,
and :func:`validate_series` for any long frame ``unique_id, ds, y``;
:func:`detect_breaks` proposes break periods and :func:`travel_trends` reports
growth and surges or collapses per series.
"""

from riskmodel.core.forecasting.backtest import cross_validation, evaluate
from riskmodel.core.forecasting.breaks import detect_breaks
from riskmodel.core.forecasting.calendar import COVID_BREAK, EVENTS, SCHOOL_HOLIDAYS, calendar_features, in_break
from riskmodel.core.forecasting.forecaster import DEFAULT_MODELS, Forecaster, forecast, output_columns
from riskmodel.core.forecasting.reconcile import reconcile
from riskmodel.core.forecasting.series import (
    LEVELS,
    ArrivalSeries,
    Hierarchy,
    aggregate,
    check_series,
    fill_gaps,
    make_series,
    validate_series,
)
from riskmodel.core.forecasting.trends import travel_trends

__all__ = [
    "COVID_BREAK",
    "DEFAULT_MODELS",
    "EVENTS",
    "LEVELS",
    "SCHOOL_HOLIDAYS",
    "ArrivalSeries",
    "Forecaster",
    "Hierarchy",
    "aggregate",
    "calendar_features",
    "check_series",
    "cross_validation",
    "detect_breaks",
    "evaluate",
    "fill_gaps",
    "forecast",
    "in_break",
    "make_series",
    "output_columns",
    "reconcile",
    "travel_trends",
    "validate_series",
]
