"""The night's feed itself: how many rows came, until when of the day, and whether they are tonight's, once each.

The like-with-like checks (:mod:`riskmodel.core.monitoring.drift`) judge the mix of what came, and a feed cut short has
the mix of a whole night: a third of a night's rows, a port's file with a third of its rows, or every row after 14:00
missing all read green there. :func:`feed_checks` judges the feed on what it delivered on the nights before (never on
the night judged):

- ``rows`` and ``rows at <port>``: tonight's count against the mean of the same weekday of the ``weeks`` weeks before,
  on the log scale, amber / red beyond what the earlier nights' own counts strayed from theirs (Poisson noise plus the
  night-to-night spread the last ``history_days`` nights showed: holidays, weather), at the tails the distribution
  checks use (1e-3 and 1e-7 under a normal law). A quiet holiday is green where such nights were seen before; a feed
  whose nights never dipped flags a dip. Ports shut by the calendar (Ngurah Rai on Nyepi) are left out, that night
  and on the earlier nights. Ports usually bringing fewer than 20 rows a night are not judged on their own (a third of
  them is within Poisson noise); they count in ``rows``.
- ``time of day``: the share ``q`` of the last ``weeks`` weeks' arrivals later in the day than tonight's last row (or
  earlier than its first); all ``n`` of tonight's rows fall before it by chance with ``(1 - q) ** n``: amber under
  1e-3, red under 1e-7 (a feed that stopped at 18:00, an extract taken before midnight).
- ``duplicate rows``: rows repeating another of tonight's (by ``stay_id``): a feed or a file delivered twice.
- ``rows of another day``: rows whose entry time is not on the night: another night's file.

Each row names the count, the usual range and what to check; none names a traveller or a stay.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["FEED_COMPARISON", "SCHEDULED_CLOSURES", "closed_ports", "daily_count_checks", "feed_checks", "window_count_check"]

#: Chance, per check, that sampling noise alone crosses the amber / red line (also the drift checks', per column and
#: comparison).
_NOISE_AMBER, _NOISE_RED = 1e-3, 1e-7
#: Ports shut on a calendar event (``riskmodel.core.forecasting.calendar``): their absence that
#: night is the calendar, not a broken feed.
SCHEDULED_CLOSURES = {"nyepi": ("Ngurah Rai",)}

#: The ``comparison`` of :func:`feed_checks` rows in ``drift.csv``.
FEED_COMPARISON = "feed"
#: A port usually bringing fewer rows a night is not judged on its own count: a third of 20 rows (7) has Poisson chance
#: 8e-4, at the amber tail; below it a file cut to a third is noise (and on 2023 of the operations benchmark's log, ports
#: of 10-20 rows read amber on normal nights 3 times in 700: the log scale's normal law is too thin-tailed there).
_MIN_EXPECTED = 20.0
#: Earlier nights with a usual count needed to learn how much nights stray from it.
_MIN_HISTORY = 28
#: Rows repeated or of another day from which the night is red (fewer: amber).
_RED_ROWS = 10


def _tails() -> tuple[float, float]:
    return _NOISE_AMBER, _NOISE_RED


def closed_ports(night: str | pd.Timestamp) -> list[str]:
    """Ports shut on ``night`` by :data:`SCHEDULED_CLOSURES` (Ngurah Rai on Nyepi)."""
    from riskmodel.core.forecasting.calendar import event_days

    night = pd.Timestamp(night).normalize()
    return [port for event, ports in SCHEDULED_CLOSURES.items() if len(event_days(event, night, night)) for port in ports]


def _row(column: str, verdict: str, count: float, usual: str, detail: str) -> dict:
    return {"comparison": FEED_COMPARISON, "column": column, "psi": float("nan"), "amber_at": float("nan"),
            "red_at": float("nan"), "missing_reference": float("nan"), "missing_current": float("nan"), "vanished": "",
            "appeared": "", "verdict": verdict, "count": count, "usual": usual, "detail": detail}


def _closures(start: pd.Timestamp, end: pd.Timestamp) -> dict[pd.Timestamp, set[str]]:
    """Ports shut by the calendar on each day of ``start .. end`` (:data:`SCHEDULED_CLOSURES`)."""
    from riskmodel.core.forecasting.calendar import event_days

    out: dict[pd.Timestamp, set[str]] = {}
    for event, ports in SCHEDULED_CLOSURES.items():
        for day in event_days(event, start, end):
            out.setdefault(pd.Timestamp(day), set()).update(ports)
    return out


def feed_checks(
    stays: pd.DataFrame,
    night: str | pd.Timestamp,
    tonight: pd.DataFrame,
    *,
    weeks: int = 4,
    history_days: int = 364,
    closed: list[str] | None = None,
    port_column: str = "entry_port",
    time_column: str = "entry_time",
    id_column: str = "stay_id",
) -> pd.DataFrame:
    """Judge the night's feed on its size, its hours and its rows against the nights before.

    Parameters
    ----------
    stays : DataFrame
        Stays with ``time_column`` (and ``port_column``); only the rows before ``night`` are read.
    night : str or Timestamp
        The night judged.
    tonight : DataFrame
        Tonight's arrivals as the feed delivered them.
    weeks : int, default=4
        The usual count of a night is the mean of the same weekday over this many weeks before; the time of day is
        learnt on the arrivals of those weeks.
    history_days : int, default=364
        Earlier nights whose counts set how far a night strays from its usual count.
    closed : list of str, optional
        Ports shut tonight, not judged (default: the calendar's, :func:`closed_ports`).
    port_column, time_column, id_column : str
        The port, the entry time and the row id (without it a duplicate is a row repeated whole).

    Returns
    -------
    DataFrame
        The columns of :func:`~riskmodel.core.monitoring.drift.compare_like_with_like` (``psi`` and its lines empty)
        with ``comparison`` ``"feed"``, ``column`` one of ``rows``, ``rows at <port>``, ``time of day``,
        ``duplicate rows``, ``rows of another day``, plus ``count`` (tonight's rows, or the rows at fault),
        ``usual`` (the green range of the count, ``"lo-hi"``) and ``detail`` (what came, what usually comes and what
        to check). ``verdict`` ``not judged`` when the log holds too few earlier nights.
    """
    night = pd.Timestamp(night).normalize()
    day = pd.Timedelta(days=1)
    amber_tail, red_tail = _tails()
    closed_tonight = set(closed_ports(night) if closed is None else closed)
    times = pd.to_datetime(stays[time_column])
    start = night - (history_days + 7 * weeks) * day
    earlier = stays[(times >= start) & (times < night)]
    e_times = pd.to_datetime(earlier[time_column])
    t_times = pd.to_datetime(tonight[time_column]) if time_column in tonight.columns else pd.Series(pd.NaT, index=tonight.index)
    rows = _count_rows(earlier, e_times, tonight, night, weeks, closed_tonight, port_column, amber_tail, red_tail)
    on_night = (t_times >= night) & (t_times < night + day)
    rows.append(_time_of_day(e_times[e_times >= night - 7 * weeks * day], t_times[on_night], weeks, amber_tail, red_tail))
    rows.append(_duplicates(tonight, id_column))
    rows.append(_another_day(t_times, on_night, night))
    return pd.DataFrame(rows)


def _count_rows(earlier, e_times, tonight, night, weeks, closed_tonight, port_column, amber_tail, red_tail) -> list[dict]:
    """The ``rows`` row and a ``rows at <port>`` row per port usually bringing :data:`_MIN_EXPECTED` rows or more."""
    day = pd.Timedelta(days=1)
    n_tonight = len(tonight)
    if not len(earlier):
        return [_row("rows", "not judged", n_tonight, "", "no earlier night in the log to know the usual count from")]
    days = pd.date_range(e_times.min().normalize(), night, freq="D")
    ports_of = (earlier[port_column].astype(object).astype(str) if port_column in earlier.columns
                else pd.Series("*", index=earlier.index))
    counts = pd.crosstab(e_times.dt.normalize(), ports_of).reindex(days, fill_value=0).astype(float)
    t_ports = (tonight[port_column].astype(object).astype(str) if port_column in tonight.columns
               else pd.Series("*", index=tonight.index))
    counts = counts.reindex(columns=sorted(set(counts.columns) | set(t_ports)), fill_value=0.0)
    counts.loc[night] = t_ports.value_counts().reindex(counts.columns, fill_value=0).to_numpy(dtype=float)
    shut = _closures(days[0], night)
    shut[night] = closed_tonight
    for d, ports in shut.items():
        at = [p for p in ports if p in counts.columns]
        if d in counts.index and at:
            counts.loc[d, at] = np.nan  # a port shut by the calendar: neither judged nor a usual count
    lags = [counts.shift(7 * k) for k in range(1, weeks + 1)]
    n_lags = sum(lag.notna().astype(int) for lag in lags)
    usual = (sum(lag.fillna(0.0) for lag in lags) / n_lags.where(n_lags >= 2)).where(counts.notna())
    weekday = night.day_name()
    out = []
    # every port open that night, against the sum of their usual counts
    open_usual = usual.where(counts.notna())
    total, total_usual = counts.sum(axis=1, min_count=1), open_usual.sum(axis=1, min_count=1)
    total_usual = total_usual.where(open_usual.notna().sum(axis=1) == counts.notna().sum(axis=1))
    out.append(_judge_count("rows", total, total_usual, night, weeks, weekday, amber_tail, red_tail, force=True))
    for port in counts.columns:
        if port == "*" or port in closed_tonight:
            continue
        u = usual.at[night, port]
        if np.isfinite(u) and u >= _MIN_EXPECTED:
            out.append(_judge_count(f"rows at {port}", counts[port], usual[port], night, weeks, weekday, amber_tail, red_tail))
    return [r for r in out if r is not None]


def _judge_count(column, counts, usual, night, weeks, weekday, amber_tail, red_tail, force=False) -> dict | None:
    """Tonight's count against its usual one on the log scale, the spread learnt on the nights before."""
    c, u = float(counts.at[night]), float(usual.at[night]) if night in usual.index else float("nan")
    hist = pd.DataFrame({"c": counts, "u": usual}).drop(index=night).dropna()
    hist = hist[hist["u"] >= _MIN_EXPECTED / 2]
    if not np.isfinite(u) or len(hist) < _MIN_HISTORY:
        return _row(column, "not judged", c, "", f"{c:.0f} rows tonight; the log holds {len(hist)} earlier nights with a "
                    f"usual count ({_MIN_HISTORY} needed, {weeks} weeks before each): too few to know the usual") if force else None

    def poisson_var(mean):  # of log(count) and of log(the mean of ``weeks`` such counts)
        return (1.0 + 1.0 / weeks) / (np.asarray(mean, dtype=float) + 0.5)

    z_hist = np.log(hist["c"] + 0.5) - np.log(hist["u"] + 0.5)
    spread = max(0.0, float(z_hist.var(ddof=1)) - float(np.mean(poisson_var(hist["u"]))))
    sd = float(np.sqrt(spread + poisson_var(u)))
    z = (np.log(c + 0.5) - np.log(u + 0.5)) / sd
    z_amber, z_red = stats.norm.isf(amber_tail), stats.norm.isf(red_tail)
    lo = int(np.ceil(np.exp(np.log(u + 0.5) - z_amber * sd) - 0.5))
    hi = int(np.floor(np.exp(np.log(u + 0.5) + z_amber * sd) - 0.5))
    verdict = "red" if abs(z) >= z_red else "amber" if abs(z) >= z_amber else "green"
    usual_text = f"{lo}-{hi}"
    detail = (f"{c:.0f} rows tonight; a {weekday} usually brings {usual_text} (the same weekday of the last {weeks} weeks "
              f"averaged {u:.0f}; the range allows for how far the {len(hist)} nights before strayed from theirs)")
    if verdict != "green":
        detail += (". Fewer: check that every file of the night was delivered and read to its end (a port's file, the "
                   "hours after a cut-off); more: check that no file was delivered twice"
                   if c < u else ". More: check that no file was delivered twice, or whether a surge is real")
    return _row(column, verdict, c, usual_text, detail)


def _time_of_day(recent: pd.Series, tonight: pd.Series, weeks, amber_tail, red_tail) -> dict:
    """All of tonight's rows before its last (after its first): chance ``(1 - q) ** n``, ``q`` the recent share later (earlier)."""
    if not len(recent) or not len(tonight):
        return _row("time of day", "not judged", len(tonight), "", "no rows tonight or in the weeks before to compare hours with")

    def seconds(t):
        t = pd.to_datetime(t)
        return (t - t.dt.normalize()).dt.total_seconds().to_numpy()

    past, now = seconds(recent), seconds(tonight)
    n = len(now)
    first, last = float(now.min()), float(now.max())
    q_after, q_before = float((past > last).mean()), float((past < first).mean())
    p_after, p_before = (1 - q_after) ** n, (1 - q_before) ** n

    def clock(s):
        return f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}"

    if p_after <= p_before:
        p, detail = p_after, (f"tonight's {n} rows stop at {clock(last)}; {q_after:.0%} of the arrivals of the last {weeks} "
                              f"weeks came later in the day: all {n} before it by chance {p_after:.1e}")
        fix = "check that the feed ran to the end of the day (a file cut short, an extract taken before midnight)"
    else:
        p, detail = p_before, (f"tonight's {n} rows start at {clock(first)}; {q_before:.0%} of the arrivals of the last "
                               f"{weeks} weeks came earlier in the day: all {n} after it by chance {p_before:.1e}")
        fix = "check that the feed holds the start of the day (a first file missing)"
    verdict = "red" if p < red_tail else "amber" if p < amber_tail else "green"
    return _row("time of day", verdict, n, "", detail + (f". Fix: {fix}" if verdict != "green" else ""))


def _duplicates(tonight: pd.DataFrame, id_column: str) -> dict:
    """Rows repeating another of tonight's: by ``id_column``, or whole rows without it."""
    key = [id_column] if id_column in tonight.columns else None
    k = int(tonight.duplicated(subset=key).sum()) if len(tonight) else 0
    verdict = "red" if k >= _RED_ROWS else "amber" if k else "green"
    what = f"`{id_column}`" if key else "every column"
    detail = f"{k} of tonight's {len(tonight)} rows repeat another row's {what}"
    if k:
        detail += (": the feed, or a file of it, was delivered twice, and every count tonight is inflated. Fix: load each "
                   "file of the night once")
    return _row("duplicate rows", verdict, k, "0", detail)


def _another_day(t_times: pd.Series, on_night: pd.Series, night: pd.Timestamp) -> dict:
    """Rows whose entry time is not on ``night`` (or missing)."""
    off = ~on_night.to_numpy(dtype=bool)
    k = int(off.sum())
    verdict = "red" if k >= _RED_ROWS else "amber" if k else "green"
    detail = f"{k} of tonight's {len(off)} rows did not enter on {night:%Y-%m-%d}"
    if k:
        days = pd.Series(t_times.to_numpy()[off]).dt.normalize().value_counts().sort_index()
        named = [f"{d:%Y-%m-%d} ({c})" for d, c in days.head(5).items()]
        if days.sum() < k:
            named.append(f"no entry time ({k - int(days.sum())})")
        detail += (f": {', '.join(named)}{' and more' if len(days) > 5 else ''}: another night's file, or one appended. "
                   f"Fix: check the extract's date and deliver the night's own file")
    return _row("rows of another day", verdict, k, "0", detail)


def daily_count_checks(times: pd.Series, last_day: str | pd.Timestamp, *, days: int = 7, weeks: int = 4,
                       label: str = "rows", shut=()) -> pd.DataFrame:
    """Judge how many of ``times`` fall on each of the ``days`` days up to ``last_day``, as :func:`feed_checks` judges
    tonight's ``rows``: against the same weekday of the ``weeks`` weeks before, beyond how far the earlier days strayed
    (each day judged on the days before it only).

    ``shut``: days the counted place was shut by the calendar (a port on Nyepi): neither judged nor a usual count.

    Returns
    -------
    DataFrame
        One :func:`feed_checks` row per day judged (``column`` ``"<label> on <day>"``), oldest first; a day the log is
        too short for is ``not judged``.
    """
    amber_tail, red_tail = _tails()
    last_day = pd.Timestamp(last_day).normalize()
    counts, usual = _daily_counts(times, last_day, weeks, shut)
    if counts is None:
        return pd.DataFrame([_row(label, "not judged", 0, "", f"no {label} in the log")])
    judged = pd.date_range(end=last_day, periods=days)
    rows = []
    for day in judged:
        if day not in counts.index or not np.isfinite(counts.at[day]):
            continue
        # the spread is learnt on the days before those judged: a feed down on several of them must not widen it
        before = counts.loc[:day].mask(counts.loc[:day].index.isin(judged) & (counts.loc[:day].index != day))
        rows.append(_judge_count(f"{label} on {day:%Y-%m-%d}", before, usual.loc[:day], day, weeks, day.day_name(),
                                 amber_tail, red_tail, force=True))
    return pd.DataFrame(rows)


def _daily_counts(times: pd.Series, last_day: pd.Timestamp, weeks: int, shut) -> tuple[pd.Series | None, pd.Series | None]:
    """Counts of ``times`` per day up to ``last_day`` (missing on ``shut`` days) and each day's usual count (the same weekday
    of the ``weeks`` weeks before, averaged); ``(None, None)`` when no time falls up to ``last_day``."""
    t = pd.to_datetime(times).dropna()
    t = t[t < last_day + pd.Timedelta(days=1)]
    if not len(t):
        return None, None
    counts = t.dt.normalize().value_counts().reindex(pd.date_range(t.min().normalize(), last_day, freq="D"), fill_value=0)
    counts = counts.astype(float)
    counts[counts.index.isin(pd.DatetimeIndex(list(shut)).normalize())] = np.nan
    return counts, sum(counts.shift(7 * k) for k in range(1, weeks + 1)) / weeks


def window_count_check(times: pd.Series, last_day: str | pd.Timestamp, *, days: int = 7, weeks: int = 4, label: str = "rows",
                       shut=()) -> dict:
    """Judge how many of ``times`` fall on the ``days`` days up to ``last_day`` together, as :func:`daily_count_checks`
    judges each day: against the sum of those days' usual counts, beyond how far the sums of as many days strayed from
    theirs before them (every earlier run of ``days`` days ending before the first day judged).

    A feed at half for a week reads about half on each day, inside the red tail of one day (a day strays a lot), but a sum
    of seven days strays far less: one day far off is named by the daily check, a run of days each a little short here.
    Days ``shut`` by the calendar count in neither sum.

    Returns
    -------
    dict
        One :func:`feed_checks` row, ``column`` ``"<label> on <first day> to <last day>"``; ``not judged`` when the log
        is too short.
    """
    amber_tail, red_tail = _tails()
    last_day = pd.Timestamp(last_day).normalize()
    first = last_day - pd.Timedelta(days=days - 1)
    column = f"{label} on {first:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    counts, usual = _daily_counts(times, last_day, weeks, shut)
    if counts is None:
        return _row(column, "not judged", 0, "", f"no {label} in the log")
    # a shut day, or one with no usual count yet, counts in neither sum; only runs of ``days`` whole days teach the spread
    c = counts.where(usual.notna())
    u = usual.where(c.notna())
    c_sum, u_sum = c.rolling(days, min_periods=1).sum(), u.rolling(days, min_periods=1).sum()
    whole = c.rolling(days).count() == days
    # the runs before the days judged only (a feed down on them must not widen the spread), and the run judged
    keep = (whole & (c.index < first)) | (c.index == last_day)
    row = _judge_count(column, c_sum[keep], u_sum[keep], last_day, weeks, f"run of {days} days", amber_tail, red_tail, force=True)
    if row["verdict"] != "not judged":
        row["detail"] = (f"{row['count']:.0f} {label} on the {days} days to {last_day:%Y-%m-%d}; such a run usually brings "
                         f"{row['usual']} (the same weekdays of the last {weeks} weeks; the range allows for how far the runs "
                         f"of {days} days before strayed from theirs)")
    return row
