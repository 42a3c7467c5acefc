"""Outlooks whose periods are already past: a model whose data ends months or years before today.

A forecast starts the period after the last one of the history the forecaster was fitted on, whatever the date. A
service asking the champion for "the next 3 months" from a model fitted on data to December 2019 was served January to
March 2020 as if they were the coming months; nothing said so. :func:`warn_stale_outlook` warns with
:class:`~riskmodel.core.exceptions.StaleForecastWarning` when some forecast periods ended before the period that holds
today began, naming where the forecast starts, how far behind today the model's data is, and the fix.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd

from riskmodel.core.exceptions import StaleForecastWarning

__all__ = ["past_periods", "warn_stale_outlook"]

_PERIOD = {"D": "D", "W": "W", "M": "M"}
_UNITS = {"D": "days", "W": "weeks", "M": "months"}


def past_periods(forecasts: pd.DataFrame, freq: str, today: dt.date | None = None) -> tuple[int, int, int, pd.Timestamp]:
    """``(past, periods, behind, now)``: forecast periods that ended before today's period began, of how many, how many
    periods lie from the forecast's first to today's (exclusive), and the start of today's period."""
    now = pd.Timestamp(today or dt.date.today()).to_period(_PERIOD[freq]).start_time
    ds = pd.DatetimeIndex(forecasts["ds"].unique()).sort_values()
    if not len(ds):
        return 0, 0, 0, now
    behind = len(pd.period_range(ds[0], now, freq=_PERIOD[freq])) - 1 if ds[0] < now else 0
    return int((ds < now).sum()), len(ds), behind, now


def warn_stale_outlook(forecasts: pd.DataFrame, freq: str, last_data, *, today: dt.date | None = None,
                       stacklevel: int = 3) -> None:
    """A :class:`~riskmodel.core.exceptions.StaleForecastWarning` when some of ``forecasts``' periods are already past."""
    past, n, behind, now = past_periods(forecasts, freq, today)
    if not past:
        return
    first, unit = pd.Timestamp(forecasts["ds"].min()), _UNITS[freq]
    warnings.warn(
        f"the forecast starts {first:%Y-%m-%d}, the period after the model's last data ({pd.Timestamp(last_data):%Y-%m-%d}), "
        f"and {past} of its {n} periods are past: today ({pd.Timestamp(today or dt.date.today()):%Y-%m-%d}) is in the period "
        f"starting {now:%Y-%m-%d}, {behind} periods behind the forecast's first ({unit}). Its first rows are no outlook. "
        "Fix: train the forecaster on data up to the last complete period (`riskmodel train forecast`), or pass "
        f"history= with recent data to refit its settings; a horizon of {behind + 1} or more reaches today's period. "
        "Silence with warnings.filterwarnings('ignore', category=riskmodel.StaleForecastWarning).",
        StaleForecastWarning, stacklevel=stacklevel,
    )
