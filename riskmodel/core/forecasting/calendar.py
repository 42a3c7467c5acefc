"""Indonesian calendar regressors and declared break periods for the forecasters.

Events come from the ``holidays`` package (Indonesia) and, for what it lacks,
from :data:`SCHOOL_HOLIDAYS`, a documented table of the main source markets'
school holidays. Each event is a window of days around its date:

================== ====================================== =================
column             event (``holidays`` name)              window (days)
================== ====================================== =================
``eid``            Eid al-Fitr (Lebaran) and its mudik     -7 .. +7
``nyepi``          Day of Silence: Bali's airport closes   0 .. 0
``lunar_new_year`` Lunar New Year (Imlek, Chinese market)  -3 .. +4
``christmas``      Christmas and New Year                  Dec 20 .. Jan 2
``school_<ISO3>``  school holidays of a source market      see the table
================== ====================================== =================

Daily features are 0/1 flags; weekly and monthly features are the fraction of
the period's days inside the window (e.g. ``eid = 0.48`` for a month holding 15
of the 15 Eid-window days in 31 days), so that Eid moving ~11 days a year moves
weight between months.

A *break* is a declared period of abnormal data (by default COVID-19, April 2020
to March 2022) that models must not learn as seasonality; see
:data:`COVID_BREAK` and :func:`in_break`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = [
    "EVENTS",
    "SCHOOL_HOLIDAYS",
    "COVID_BREAK",
    "event_days",
    "calendar_features",
    "in_break",
    "same_regime_pairs",
]

#: Event name -> (``holidays`` name to match, days before, days after).
EVENTS: dict[str, tuple[str, int, int]] = {
    "eid": ("Eid al-Fitr", 7, 7),
    "nyepi": ("Day of Silence", 0, 0),
    "lunar_new_year": ("Lunar New Year", 3, 4),
    "christmas": ("Christmas Day", 5, 8),
}

#: School holidays of the main source markets that the ``holidays`` package lacks:
#: market (ISO3) -> list of (start "MM-DD", end "MM-DD"), inclusive, repeating every
#: year; windows crossing New Year are split. Approximate national patterns (dates
#: shift by a few days a year and by state), enough for a regressor:
#: AUS: summer Dec 18 - Jan 31, autumn Apr 8-22, winter Jun 29 - Jul 14, spring Sep 21 - Oct 6;
#: SGP: Jun 1-30, Nov 18 - Dec 31; MYS: Dec 1-31 (year-end), Jun 1-15;
#: CHN: summer Jul 10 - Aug 31, Golden Week Oct 1-7 (Spring Festival is ``lunar_new_year``);
#: JPN: Golden Week Apr 29 - May 5, summer Jul 20 - Aug 31;
#: EUR (Western Europe, UK, FRA, DEU, NLD): summer Jul 1 - Aug 31.
SCHOOL_HOLIDAYS: dict[str, list[tuple[str, str]]] = {
    "AUS": [("12-18", "12-31"), ("01-01", "01-31"), ("04-08", "04-22"), ("06-29", "07-14"), ("09-21", "10-06")],
    "SGP": [("06-01", "06-30"), ("11-18", "12-31")],
    "MYS": [("12-01", "12-31"), ("06-01", "06-15")],
    "CHN": [("07-10", "08-31"), ("10-01", "10-07")],
    "JPN": [("04-29", "05-05"), ("07-20", "08-31")],
    "EUR": [("07-01", "08-31")],
}

#: Default break: COVID-19 border closure and reopening, monthly periods from
#: April 2020 through March 2022 (Indonesia reopened Bali to tourists in March 2022).
COVID_BREAK: tuple[str, str] = ("2020-04-01", "2022-03-31")


@lru_cache(maxsize=64)
def _holiday_dates(name: str, first_year: int, last_year: int) -> tuple[pd.Timestamp, ...]:
    import holidays  # imported here so that importing the package stays fast

    table = holidays.country_holidays("ID", years=range(first_year, last_year + 1))
    return tuple(sorted(pd.Timestamp(d) for d, label in table.items() if name in label and "Second Day" not in label))


def event_days(event: str, start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DatetimeIndex:
    """Days inside the window of ``event`` between ``start`` and ``end``.

    Parameters
    ----------
    event : str
        A key of :data:`EVENTS` or ``"school_<market>"`` with a market of
        :data:`SCHOOL_HOLIDAYS`.
    start, end : str or Timestamp
        Span of days to look at (inclusive).

    Returns
    -------
    DatetimeIndex
        Sorted days (midnight) inside the event's windows.

    Raises
    ------
    ValueError
        If the event is unknown.
    """
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if event.startswith("school_"):
        market = event.removeprefix("school_")
        if market not in SCHOOL_HOLIDAYS:
            raise ValueError(f"`event` {event!r} names no market of SCHOOL_HOLIDAYS {sorted(SCHOOL_HOLIDAYS)}.")
        days = []
        for year in range(start.year, end.year + 1):
            for lo, hi in SCHOOL_HOLIDAYS[market]:
                days.append(pd.date_range(f"{year}-{lo}", f"{year}-{hi}", freq="D"))
        out = days[0].append(days[1:]) if days else pd.DatetimeIndex([])
    elif event in EVENTS:
        name, before, after = EVENTS[event]
        anchors = _holiday_dates(name, start.year - 1, end.year + 1)
        parts = [pd.date_range(a - pd.Timedelta(days=before), a + pd.Timedelta(days=after), freq="D") for a in anchors]
        out = parts[0].append(parts[1:]) if parts else pd.DatetimeIndex([])
    else:
        raise ValueError(f"`event` must be one of {sorted(EVENTS)} or 'school_<market>'; got {event!r}.")
    out = out.unique().sort_values()
    return out[(out >= start) & (out <= end)]


def default_events() -> list[str]:
    """Every event of :data:`EVENTS` and every market of :data:`SCHOOL_HOLIDAYS`."""
    return list(EVENTS) + [f"school_{m}" for m in SCHOOL_HOLIDAYS]


def calendar_features(ds: Iterable, freq: str, events: Sequence[str] | None = None) -> pd.DataFrame:
    """Calendar regressors for a set of periods.

    Parameters
    ----------
    ds : array-like of datetime
        Period starts (any order, repeats allowed).
    freq : {"D", "W", "M"}
        Frequency of ``ds``: a day, a week starting that day, or a calendar month.
    events : sequence of str, optional
        Events to include; default every event of :data:`EVENTS` and every market
        of :data:`SCHOOL_HOLIDAYS`.

    Returns
    -------
    DataFrame
        One row per element of ``ds`` (same order, default index), one float column
        per event: a 0/1 flag for daily data, the fraction of the period's days inside
        the event window for weekly and monthly data.

    Examples
    --------
    >>> import pandas as pd
    >>> feats = calendar_features(pd.date_range("2024-01-01", periods=12, freq="MS"), "M", ["eid"])
    >>> round(float(feats["eid"].iloc[3]), 2)  # Eid 2024 fell on April 10
    0.5
    """
    ds = pd.DatetimeIndex(pd.to_datetime(pd.Index(ds))).normalize()
    events = list(default_events() if events is None else events)
    if freq not in ("D", "W", "M"):
        raise ValueError(f"`freq` must be 'D', 'W' or 'M'; got {freq!r}.")
    if len(ds) == 0:
        return pd.DataFrame({e: np.zeros(0) for e in events})
    uniq = ds.unique()
    lo = uniq.min()
    hi = uniq.max() + (pd.offsets.MonthEnd(1) if freq == "M" else pd.Timedelta(days=6 if freq == "W" else 0))
    out = {}
    for event in events:
        days = event_days(event, lo, hi)
        if freq == "D":
            values = pd.Series(uniq.isin(days).astype(float), index=uniq)
        else:
            flags = pd.Series(1.0, index=days)
            grid = pd.date_range(lo, hi, freq="D")
            daily = flags.reindex(grid, fill_value=0.0)
            if freq == "M":
                values = daily.groupby(daily.index.to_period("M")).mean()
                values.index = values.index.to_timestamp()
            else:
                values = pd.Series([daily.loc[d : d + pd.Timedelta(days=6)].mean() for d in uniq], index=uniq)
        out[event] = values.reindex(ds).fillna(0.0).to_numpy(dtype=float)
    return pd.DataFrame(out)


def in_break(ds: Iterable, breaks: Sequence[tuple[str, str]] | None) -> np.ndarray:
    """Boolean mask of the periods that fall inside a declared break.

    Parameters
    ----------
    ds : array-like of datetime
        Period starts.
    breaks : sequence of (start, end), or None
        Inclusive date ranges, e.g. ``[COVID_BREAK]``; None or empty means no break.

    Returns
    -------
    ndarray of bool
    """
    ds = pd.DatetimeIndex(pd.to_datetime(pd.Index(ds)))
    mask = np.zeros(len(ds), dtype=bool)
    for lo, hi in breaks or ():
        mask |= np.asarray((ds >= pd.Timestamp(lo)) & (ds <= pd.Timestamp(hi)))
    return mask


def same_regime_pairs(n: int, lag: int, mask: np.ndarray | None) -> np.ndarray:
    """Which pairs of periods ``(t - lag, t)``, ``t = lag .. n - 1``, share a regime.

    A pair shares a regime when neither period is inside a break (``mask`` True) and
    no break lies between them: differences across a collapse or a recovery are not
    the series' usual variation and must not set the scale of its errors.

    Returns
    -------
    ndarray of bool, length ``max(n - lag, 0)``
    """
    if mask is None or not np.any(mask):
        return np.ones(max(n - lag, 0), dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    regime = np.cumsum(np.r_[False, mask[1:] & ~mask[:-1]])  # a new regime starts with each break
    return ~mask[lag:] & ~mask[:-lag] & (regime[lag:] == regime[:-lag])
