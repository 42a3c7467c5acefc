"""Travel-trend signals: recent growth per series and surges or collapses against a forecast.

For each series (a port, a market, the total), :func:`travel_trends` reports

- the growth of the last ``short`` and ``long`` periods (by default 3 and 12
  months) against the same periods a year before: the same months for monthly
  series, the same weekdays 52 weeks (364 days) back for daily and weekly ones, so
  neither weekends nor a Monday week start moved to a Tuesday spoil the comparison;
- the same windows against the pre-break level: the same calendar periods (for days
  and weeks, whole 52-week steps back) in the last year before the latest declared
  break that began before them (how far a recovery has come);
- given a forecast made *before* the latest actuals (e.g. last quarter's
  ``forecast()`` output, or ``backcast=3`` to fit one now on the history before the
  last three periods), how many of those actuals left its ``level``% interval and
  a ``signal``: ``surge`` (more of them above it than below), ``collapse`` (more
  below than above), ``mixed`` (as many above as below, at least one: the series
  left its range both ways, neither a surge nor a collapse), ``within``, or
  ``unchecked`` when no forecast covers the recent actuals.

A growth is a ratio minus one (``0.25`` = 25% more), NaN where the reference
period is missing or holds no arrivals.

A flag is a lead to check, not proof of a change: a series that did not change
leaves a 95% interval in a checked period 5% of the time, so one period of three
outside it flags 1 - 0.95**3 = 14% of unchanged series (about 10 of 73).
:func:`flags_by_chance` counts what chance alone gives for a table of signals;
the report prints it beside the number flagged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError, SchemaError, SchemaProblem
from riskmodel.core.forecasting.calendar import COVID_BREAK
from riskmodel.core.forecasting.series import infer_freq, validate_series
from riskmodel.core.progress import ProgressHook

__all__ = ["travel_trends", "monthly_trends", "complete_months", "flags_by_chance", "TREND_COLUMNS", "MONTHLY_TREND_COLUMNS"]

#: Output columns of :func:`travel_trends`, in order (``<short>``/``<long>`` filled in).
TREND_COLUMNS = (
    "unique_id", "last_ds", "recent_{short}", "growth_{short}", "growth_{long}",
    "vs_pre_break_{short}", "vs_pre_break_{long}", "n_checked", "n_above", "n_below", "signal",
)


def _year_back(freq: str) -> pd.DateOffset | pd.Timedelta:
    """One year back as a step that keeps the period: 52 weeks (the same weekday) for days and weeks, else a year."""
    # a calendar year back lands a Monday on a Tuesday (or Wednesday): weekly references were never found, and
    # daily ones compared other weekdays, so a weekly rhythm read as growth
    return pd.Timedelta(days=364) if freq in ("D", "W") else pd.DateOffset(years=1)


def _growth(s: pd.Series, end: pd.Timestamp, n: int, back: pd.DateOffset | pd.Timedelta) -> tuple[float, float]:
    """Sum of the ``n`` periods ending at ``end`` and its ratio - 1 to the same periods shifted back by ``back``."""
    recent = s.loc[:end].iloc[-n:]
    if len(recent) < n:
        return float(recent.sum()), np.nan
    ref_idx = pd.DatetimeIndex(recent.index) - back
    ref = s.reindex(ref_idx)
    if ref.isna().any() or ref.sum() <= 0:
        return float(recent.sum()), np.nan
    return float(recent.sum()), float(recent.sum() / ref.sum() - 1)


def _pre_break_offset(
    end: pd.Timestamp, breaks: Sequence[tuple[str, str]], year: pd.DateOffset | pd.Timedelta
) -> pd.DateOffset | pd.Timedelta | None:
    """Whole ``year`` steps back from ``end`` to the last year before the latest break that started by then."""
    starts = [pd.Timestamp(lo) for lo, _ in breaks if pd.Timestamp(lo) <= end]
    if not starts:
        return None
    start = max(starts)
    years = 1
    while end - year * years >= start:
        years += 1
    return year * years


def _rows(key: pd.DataFrame, mask: np.ndarray) -> tuple[tuple[str, ...], int]:
    """The first few ``<unique_id> <ds>`` of the masked forecast rows, and how many there are."""
    return tuple(f"{u} {str(d)[:10]}" for u, d in key[mask].head(5).itertuples(index=False)), int(mask.sum())


def _check(forecast: pd.DataFrame, level: int) -> None:
    need = ["unique_id", "ds", f"y_lo_{level}", f"y_hi_{level}"]
    missing = [c for c in need if c not in forecast.columns]
    if missing:
        raise SchemaError("forecast", [SchemaProblem(c, "column is missing", f"pass the output of forecast() with level {level} in `level`") for c in missing])
    key = pd.DataFrame({"unique_id": forecast["unique_id"].astype(str), "ds": pd.to_datetime(forecast["ds"])})
    twice = key.duplicated(keep=False).to_numpy()
    if twice.any():
        raise SchemaError("forecast", [SchemaProblem(
            "unique_id, ds", "more than one forecast row per series and period", "pass one forecast (each actual is checked once)",
            *_rows(key, twice))])
    # else a month inside the interval is both above and below it, and reads as a surge
    crossed = (pd.to_numeric(forecast[f"y_lo_{level}"], errors="coerce") > pd.to_numeric(forecast[f"y_hi_{level}"], errors="coerce")).to_numpy()
    if crossed.any():
        raise SchemaError("forecast", [SchemaProblem(
            f"y_lo_{level}, y_hi_{level}", "lower bound above the upper one",
            f"pass forecast() output (y_lo_{level} <= y_hi_{level}); check that the two columns are not swapped",
            *_rows(key, crossed))])


def _flags(history: pd.DataFrame, forecast: pd.DataFrame, level: int) -> pd.DataFrame:
    fc = forecast[["unique_id", "ds", f"y_lo_{level}", f"y_hi_{level}"]].copy()
    fc["unique_id"] = fc["unique_id"].astype(str)
    fc["ds"] = pd.to_datetime(fc["ds"]).astype("datetime64[ns]")
    both = history.merge(fc, on=["unique_id", "ds"], how="inner")
    # a row without both bounds has no interval to leave: it is not checked (never "within" by default)
    both = both[both[f"y_lo_{level}"].notna() & both[f"y_hi_{level}"].notna()]
    both["above"] = both["y"] > both[f"y_hi_{level}"]
    both["below"] = both["y"] < both[f"y_lo_{level}"]
    return both.groupby("unique_id").agg(n_checked=("y", "size"), n_above=("above", "sum"), n_below=("below", "sum"))


def travel_trends(
    history: pd.DataFrame,
    *,
    forecast: pd.DataFrame | None = None,
    backcast: int = 0,
    breaks: Sequence[tuple[str, str]] = (COVID_BREAK,),
    short: int = 3,
    long: int = 12,
    level: int = 95,
    on_progress: ProgressHook | None = None,
) -> pd.DataFrame:
    """Growth and surge/collapse signals per series, as a table.

    Parameters
    ----------
    history : DataFrame
        Long frame ``unique_id, ds, y`` up to the latest actuals.
    forecast : DataFrame, optional
        A forecast made before the latest actuals (columns ``unique_id, ds,
        y_lo_<level>, y_hi_<level>``, as :func:`~riskmodel.core.forecasting.forecast`
        returns): the actuals it covers are checked against its interval.
    backcast : int, default=0
        Without ``forecast``: when > 0, fit a default
        :class:`~riskmodel.core.forecasting.Forecaster` on the history before the
        last ``backcast`` periods and check those periods against its forecast.
    breaks : sequence of (str, str), default=(COVID_BREAK,)
        Declared breaks, for the pre-break comparison; ``()`` for none.
    short, long : int, default=3, 12
        Window lengths in periods.
    level : int, default=95
        Interval level of the surge/collapse check.
    on_progress : callable, optional
        The backcast forecaster's progress hook (:meth:`Forecaster.fit`,
        :mod:`riskmodel.core.progress`).

    Returns
    -------
    DataFrame
        One row per series sorted by ``unique_id``: ``unique_id`` (str), ``last_ds``
        (datetime64[ns]), ``recent_<short>`` (float: sum of the last ``short``
        periods), ``growth_<short>``, ``growth_<long>`` (float: against the same
        periods a year before, 52 weeks before for daily and weekly series),
        ``vs_pre_break_<short>``, ``vs_pre_break_<long>`` (float: against the same
        periods before the latest break, NaN without one), ``n_checked``, ``n_above``, ``n_below`` (int: actuals covered
        by the forecast with both bounds, above and below its interval) and ``signal`` (str:
        ``surge``, ``collapse``, ``mixed``, ``within`` or ``unchecked``; see the module docstring).

    Raises
    ------
    SchemaError
        If ``history`` is not a valid series frame, or ``forecast`` lacks a column, holds a
        series and period twice or has a lower bound above its upper one.
    ConfigError
        If ``short``, ``long`` or ``backcast`` is not a valid count, ``backcast``
        reaches back over every period, ``level`` is not in 1..99, or both
        ``forecast`` and ``backcast`` are given.

    Examples
    --------
    >>> ds = pd.date_range("2018-01-01", periods=30, freq="MS")
    >>> df = pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y": np.linspace(100, 390, 30)})
    >>> t = travel_trends(df, breaks=())
    >>> round(float(t.loc[0, "growth_12"]), 3)
    0.558
    """
    for name, value in (("short", short), ("long", long)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"`{name}` must be an int >= 1; got {value!r}.")
    if isinstance(backcast, bool) or not isinstance(backcast, int) or backcast < 0:
        raise ConfigError(f"`backcast` must be an int >= 0; got {backcast!r}.")
    if isinstance(level, bool) or not isinstance(level, int | np.integer) or not 0 < level < 100:
        raise ConfigError(f"`level` must be an interval level in percent, an int from 1 to 99; got {level!r}.")
    if forecast is not None and backcast:
        raise ConfigError("pass either `forecast` (made before the latest actuals) or `backcast` (fit one now), not both.")
    hist = validate_series(history)
    longest = int(hist.groupby("unique_id").size().max()) if len(hist) else 0
    if backcast and backcast >= longest:
        raise ConfigError(f"`backcast`={backcast} leaves nothing to fit on: the longest series has {longest} periods; check fewer.")
    if backcast:
        from riskmodel.core.forecasting.forecaster import Forecaster

        cut = hist.groupby("unique_id")["ds"].transform(lambda d: d.sort_values().iloc[-backcast - 1] if len(d) > backcast else d.min() - pd.Timedelta(days=1))
        forecast = Forecaster(h=backcast, level=(level,), breaks=breaks).fit(hist[hist["ds"] <= cut], on_progress=on_progress).predict()
    if forecast is not None:
        _check(forecast, level)
        flags = _flags(hist, forecast, level)
    else:
        flags = pd.DataFrame(columns=["n_checked", "n_above", "n_below"])
    year = _year_back(infer_freq(hist))
    rows = []
    for uid, g in hist.groupby("unique_id", sort=True):
        s = pd.Series(g["y"].to_numpy(dtype=float), index=pd.DatetimeIndex(g["ds"]))
        end = s.index[-1]
        recent, g_short = _growth(s, end, short, year)
        _, g_long = _growth(s, end, long, year)
        row = {"unique_id": str(uid), "last_ds": end, f"recent_{short}": recent, f"growth_{short}": g_short, f"growth_{long}": g_long}
        back = _pre_break_offset(end, breaks, year)
        for n in (short, long):
            row[f"vs_pre_break_{n}"] = _growth(s, end, n, back)[1] if back is not None else np.nan
        f = flags.loc[str(uid)] if str(uid) in flags.index else None
        n_checked, above, below = (int(f["n_checked"]), int(f["n_above"]), int(f["n_below"])) if f is not None else (0, 0, 0)
        signal = "unchecked" if not n_checked else "surge" if above > below else "collapse" if below > above else "mixed" if above else "within"
        row.update(n_checked=n_checked, n_above=above, n_below=below, signal=signal)
        rows.append(row)
    columns = [c.format(short=short, long=long) for c in TREND_COLUMNS]
    out = pd.DataFrame(rows)[columns]
    out["last_ds"] = out["last_ds"].astype("datetime64[ns]")
    return out


def flags_by_chance(trends: pd.DataFrame, level: int = 95) -> float:
    """How many series of a signals table chance alone would flag, had none of them changed.

    An unchanged series leaves its ``level``% interval in a checked period with probability
    ``1 - level/100`` and is flagged (surge, collapse or mixed) when any of its ``n_checked``
    periods does, so the expected number flagged is the sum of ``1 - (level/100) ** n_checked``,
    taking the intervals as calibrated and the periods as independent.

    Parameters
    ----------
    trends : DataFrame
        Output of :func:`travel_trends` or :func:`monthly_trends` (only ``n_checked`` is read).
    level : int, default=95
        Interval level of the check that made the signals.

    Returns
    -------
    float
        The expected number of series flagged by chance alone.

    Examples
    --------
    >>> round(flags_by_chance(pd.DataFrame({"n_checked": [3] * 73})), 1)
    10.4
    """
    n = pd.to_numeric(trends["n_checked"], errors="coerce").fillna(0).to_numpy(dtype=float)
    return float(np.sum(1.0 - (level / 100.0) ** n))


#: Models of :func:`monthly_trends`' backcast forecaster.
TREND_MODELS = ("snaive", "ets", "theta")
#: Output columns of :func:`monthly_trends`, in order.
MONTHLY_TREND_COLUMNS = (
    "unique_id", "last_month", "recent_3m", "growth_3m", "growth_12m",
    "vs_pre_break_3m", "vs_pre_break_12m", "n_checked", "n_above", "n_below", "signal",
)


def complete_months(history: pd.DataFrame) -> pd.DataFrame:
    """Daily counts summed to calendar months, only the months the history covers every day of.

    A month cut short at either end of the history (the job ran on the 17th) would read as a
    collapse; it is left out rather than compared.

    Parameters
    ----------
    history : DataFrame
        Long frame ``unique_id, ds, y`` of daily counts.

    Returns
    -------
    DataFrame
        ``unique_id`` (str), ``ds`` (datetime64[ns], month start), ``y`` (float: the month's sum),
        sorted by ``unique_id, ds``.

    Raises
    ------
    SchemaError
        If ``history`` is not a valid daily series frame.

    Examples
    --------
    >>> days = pd.date_range("2023-01-15", "2023-03-31", freq="D")
    >>> complete_months(pd.DataFrame({"unique_id": "total", "ds": days, "y": 1.0}))
      unique_id         ds     y
    0     total 2023-02-01  28.0
    1     total 2023-03-01  31.0
    """
    hist = validate_series(history, "D")
    month = hist["ds"].dt.to_period("M")
    grouped = hist.assign(month=month).groupby(["unique_id", "month"], sort=True)
    out = grouped.agg(y=("y", "sum"), days=("y", "size")).reset_index()
    out = out[out["days"] == out["month"].dt.days_in_month]
    out = pd.DataFrame({
        "unique_id": out["unique_id"].astype(str).to_numpy(),
        "ds": out["month"].dt.to_timestamp().astype("datetime64[ns]").to_numpy(),
        "y": out["y"].to_numpy(dtype=float),
    })
    return out.reset_index(drop=True)


def monthly_trends(
    history: pd.DataFrame,
    *,
    backcast: int = 3,
    models: Sequence[str] = TREND_MODELS,
    breaks: Sequence[tuple[str, str]] = (COVID_BREAK,),
    level: int = 95,
    on_progress: ProgressHook | None = None,
) -> pd.DataFrame:
    """Trend signals of daily series by calendar month: :func:`travel_trends` on :func:`complete_months`.

    Growth over the last 3 and 12 complete months, and the last ``backcast`` months checked
    against the ``level``% interval of a :class:`~riskmodel.core.forecasting.Forecaster` of
    ``models`` fitted on the months before them.

    Parameters
    ----------
    history : DataFrame
        Long frame ``unique_id, ds, y`` of daily counts.
    backcast : int, default=3
        Months checked against the forecast made before them (0: no check, signal ``unchecked``).
    models : sequence of str, default=TREND_MODELS
        Models of the backcast forecaster: seasonal naive, ETS and Theta, the monthly peers'
        families, fit in seconds (LightGBM, the monthly default's fourth, quadruples the time).
    breaks : sequence of (str, str), default=(COVID_BREAK,)
        Declared breaks (see :func:`travel_trends`).
    level : int, default=95
        Interval level of the check.
    on_progress : callable, optional
        The backcast forecaster's progress hook (:meth:`Forecaster.fit`).

    Returns
    -------
    DataFrame
        :data:`MONTHLY_TREND_COLUMNS`: as :func:`travel_trends` with months for periods
        (``last_month`` for ``last_ds``, ``recent_3m``, ``growth_3m``, ``growth_12m``,
        ``vs_pre_break_3m``, ``vs_pre_break_12m``), one row per series.

    Raises
    ------
    SchemaError
        If ``history`` is not a valid daily series frame.
    ConfigError
        If ``backcast`` is not an int >= 0.
    """
    if isinstance(backcast, bool) or not isinstance(backcast, int) or backcast < 0:
        raise ConfigError(f"`backcast` must be an int >= 0; got {backcast!r}.")
    months = complete_months(history)
    forecast = None
    if backcast:
        from riskmodel.core.forecasting.forecaster import Forecaster

        last = months.groupby("unique_id")["ds"].transform("max")
        before = months[months["ds"] <= last - pd.DateOffset(months=backcast)]
        forecaster = Forecaster(h=backcast, freq="M", models=list(models), level=(level,), breaks=breaks)
        forecast = forecaster.fit(before, on_progress=on_progress).predict()
    t = travel_trends(months, forecast=forecast, breaks=breaks, level=level)
    t = t.rename(columns={"last_ds": "last_month", "recent_3": "recent_3m", "growth_3": "growth_3m", "growth_12": "growth_12m",
                          "vs_pre_break_3": "vs_pre_break_3m", "vs_pre_break_12": "vs_pre_break_12m"})
    return t[list(MONTHLY_TREND_COLUMNS)]
