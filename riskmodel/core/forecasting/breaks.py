"""Proposed structural breaks: collapses found in the data, for a person to confirm.

A forecaster is told about a break (``Forecaster(breaks=...)``); this module finds
candidates so that nobody has to know the dates in advance. A break starts when
arrivals fall below ``drop`` times the same period a year before for at least
``min_periods`` periods in a row, and ends before the first run of
``min_periods`` periods back at or above ``drop`` times the *pre-break* reference
(the last season before the start, same phase): a year-on-year test alone would
call the second year of a collapse normal, since it is compared with the first.

The output is a proposal, never applied by itself: a surge of visitors, a new
port or a change of how BPS counts can look like a break too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError
from riskmodel.core.forecasting.calendar import in_break
from riskmodel.core.forecasting.series import infer_freq, season_length, validate_series

__all__ = ["detect_breaks", "open_breaks", "open_breaks_message", "ALL_SERIES", "OPEN_BREAK_COLUMNS"]

#: ``unique_id`` of the row proposed for the sum of all series.
ALL_SERIES = "(all series)"


def _runs(flags: np.ndarray, length: int) -> np.ndarray:
    """Start index of every run of at least ``length`` True values."""
    out = []
    i, n = 0, len(flags)
    while i < n:
        if flags[i]:
            j = i
            while j < n and flags[j]:
                j += 1
            if j - i >= length:
                out.append(i)
            i = j
        else:
            i += 1
    return np.asarray(out, dtype=int)


def _one(ds: pd.DatetimeIndex, y: np.ndarray, m: int, drop: float, min_periods: int) -> dict | None:
    """The first break of one series, or None."""
    if len(y) < m + min_periods:
        return None
    ratio = (y[m:] + 1.0) / (y[:-m] + 1.0)
    starts = _runs(ratio < drop, min_periods) + m
    if not len(starts):
        return None
    start = int(starts[0])
    ref = y[start - m : start]
    after = np.arange(start, len(y))
    low = (y[after] + 1.0) < drop * (ref[(after - start) % m] + 1.0)
    back = _runs(~low, min_periods)
    end = start + int(back[0]) - 1 if len(back) else len(y) - 1
    depth = float(np.min((y[start : end + 1] + 1.0) / (ref[np.arange(end + 1 - start) % m] + 1.0)))
    return {"start": ds[start], "end": ds[end], "periods": end - start + 1, "ongoing": not len(back), "depth": depth}


def detect_breaks(df: pd.DataFrame, *, drop: float = 0.5, min_periods: int = 3, freq: str | None = None) -> pd.DataFrame:
    """Propose a break period per series and for the sum of all series.

    Parameters
    ----------
    df : DataFrame
        Long frame ``unique_id, ds, y`` (see :func:`~riskmodel.core.forecasting.validate_series`).
    drop : float, default=0.5
        A period is in a collapse below ``drop`` times its reference.
    min_periods : int, default=3
        Consecutive periods that start a break and that end it.
    freq : {"D", "W", "M"}, optional
        Inferred when omitted.

    Returns
    -------
    DataFrame
        One row per series with a break, the sum of all series first
        (``unique_id`` :data:`ALL_SERIES`): ``unique_id`` (str), ``start``,
        ``end`` (datetime64[ns], inclusive), ``periods`` (int), ``ongoing`` (bool:
        not recovered by the end of the data) and ``depth`` (float: the lowest
        ratio to the reference). Pass a confirmed row on as
        ``Forecaster(breaks=[(str(row.start.date()), str(row.end.date()))])``.

    Raises
    ------
    SchemaError
        If ``df`` is not a valid series frame.
    ConfigError
        If ``drop`` is not in (0, 1) or ``min_periods`` < 1.

    Examples
    --------
    >>> ds = pd.date_range("2017-01-01", periods=60, freq="MS")
    >>> y = np.where((ds >= "2020-04-01") & (ds <= "2021-06-01"), 10.0, 1000.0)
    >>> detect_breaks(pd.DataFrame({"unique_id": "a", "ds": ds, "y": y}))[["start", "end"]].iloc[0].dt.strftime("%Y-%m").tolist()
    ['2020-04', '2021-06']
    """
    if not 0 < drop < 1:
        raise ConfigError(f"`drop` must be a ratio between 0 and 1 (exclusive); got {drop!r}.")
    if isinstance(min_periods, bool) or not isinstance(min_periods, int) or min_periods < 1:
        raise ConfigError(f"`min_periods` must be an int >= 1; got {min_periods!r}.")
    history = validate_series(df, freq)
    m = season_length(freq or infer_freq(history))
    total = history.groupby("ds", sort=True)["y"].sum()
    rows = []
    found = _one(pd.DatetimeIndex(total.index), total.to_numpy(dtype=float), m, drop, min_periods)
    if found:
        rows.append({"unique_id": ALL_SERIES, **found})
    for uid, g in history.groupby("unique_id", sort=True):
        found = _one(pd.DatetimeIndex(g["ds"]), g["y"].to_numpy(dtype=float), m, drop, min_periods)
        if found:
            rows.append({"unique_id": str(uid), **found})
    columns = ["unique_id", "start", "end", "periods", "ongoing", "depth"]
    out = pd.DataFrame(rows, columns=columns)
    for c in ("start", "end"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    return out.astype({"unique_id": str, "periods": int, "ongoing": bool, "depth": float})


#: Columns of :func:`open_breaks`.
OPEN_BREAK_COLUMNS = ["unique_id", "kind", "start", "end", "last"]


def open_breaks(history: pd.DataFrame, breaks, freq: str) -> pd.DataFrame:
    """Series whose history ends inside a break: declared, or detected and not declared.

    ``declared``: the last period lies inside a declared break (e.g. a fit through 2021-12
    with COVID declared through 2022-03). ``detected`` (monthly and weekly series only: daily
    counts of small ports dip for days too often): :func:`detect_breaks` finds a collapse
    not recovered by the end of the data, which no declared break overlaps (a recovery
    still under way after a declared break is the break method's business, not this one).
    Either way the forecast continues the break's level, as nothing in the data shows a
    recovery yet.

    Parameters
    ----------
    history : DataFrame
        A validated long frame ``unique_id, ds, y``.
    breaks : sequence of (str, str)
        The declared breaks (inclusive dates).
    freq : {"D", "W", "M"}

    Returns
    -------
    DataFrame
        ``unique_id`` (str), ``kind`` (``declared`` or ``detected``), ``start``, ``end``
        (str ``YYYY-MM-DD``: the declared dates, or the detected start and the last
        period) and ``last`` (the last period of the history); one row per series.
    """
    rows = []
    last = history.groupby("unique_id", sort=True)["ds"].max()
    for uid, ds in last.items():
        for lo, hi in breaks or ():
            if in_break([ds], [(lo, hi)])[0]:
                rows.append((str(uid), "declared", str(pd.Timestamp(lo).date()), str(pd.Timestamp(hi).date()), str(ds.date())))
                break
    if freq in ("M", "W"):
        declared = {r[0] for r in rows}
        found = detect_breaks(history, freq=freq)
        for r in found[found["ongoing"] & (found["unique_id"] != ALL_SERIES)].itertuples(index=False):
            end = last[r.unique_id]
            if r.unique_id in declared or any(pd.Timestamp(lo) <= end and pd.Timestamp(hi) >= r.start for lo, hi in breaks or ()):
                continue
            rows.append((r.unique_id, "detected", str(r.start.date()), str(r.end.date()), str(end.date())))
    return pd.DataFrame(rows, columns=OPEN_BREAK_COLUMNS).astype(str)


def open_breaks_message(table: pd.DataFrame) -> str:
    """What :class:`~riskmodel.core.exceptions.BreakWarning` says about :func:`open_breaks`' table, with the fix."""
    shown = "; ".join(
        f"{r.unique_id}: history ends {r.last} inside the {r.kind} break from {r.start}"
        + (f" to {r.end}" if r.kind == "declared" else " (not recovered)")
        for r in table.head(3).itertuples(index=False)
    )
    more = f" (and {len(table) - 3} more)" if len(table) > 3 else ""
    kinds = set(table["kind"])
    fix = []
    if "declared" in kinds:
        fix.append("a declared break running past the data: if it has ended, refit once three periods after its end are in "
                   "the data (the recovery is then fitted), or declare the end it really had")
    if "detected" in kinds:
        fix.append("a detected collapse: confirm it with detect_breaks() and declare it (Forecaster(breaks=[(start, end)])), "
                   "then wait for data after it")
    return (f"the history of {len(table)} series ends inside a structural break, so their forecasts continue the "
            f"break's level, not a recovery: {shown}{more}. Fix: {'; '.join(fix)}. Listed in Forecaster.open_breaks_.")
