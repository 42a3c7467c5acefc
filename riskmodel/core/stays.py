"""Join a crossings log into stays: one row per entry with its matching exit and label.

A stay starts at an entry and ends at the same traveller's next crossing when
that crossing is an exit. Exits with no entry before them in the log (the
traveller was already in the country when the log starts) open no stay.

The label is point-in-time: :func:`build_stays` with ``as_of`` uses only
crossings up to ``as_of``, so a stay whose permitted stay has not ended by
then has a missing label, never a guessed one.

Times are local port time without a zone (see :mod:`riskmodel.core.schema`): a
timezone-aware ``as_of`` or log is refused with a
:class:`~riskmodel.core.exceptions.SchemaError`, never compared across zones.
An empty log (or an ``as_of`` before its first crossing) gives an empty stays
table with the contract's columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.csv_files import iso_time
from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.schema import STAYS, validate_crossings

__all__ = ["build_stays", "exit_feed_gaps", "check_exit_feed", "check_not_after_the_run", "check_log_tail"]

_TRIP_COLUMNS = (
    "nationality",
    "sex",
    "birth_year",
    "document_type",
    "visa_type",
    "permit_end",
    "purpose",
    "sponsor",
    "has_return_ticket",
    "accommodation",
    "group_size",
    "planned_stay_days",
)


def build_stays(
    crossings: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp | None = None,
    validate: bool = True,
) -> pd.DataFrame:
    """Pair every entry with its exit and label it as known at ``as_of``.

    Parameters
    ----------
    crossings : DataFrame
        A crossings log meeting :data:`riskmodel.core.schema.CROSSINGS`.
    as_of : str or Timestamp, optional
        Only crossings at or before this time are used, and labels are as
        known then. Default: the last crossing in the log.
    validate : bool, default=True
        Check the log against the contract first.

    Returns
    -------
    DataFrame
        One row per entry at or before ``as_of``, in entry-time order, with
        the columns of :data:`riskmodel.core.schema.STAYS`: ``stay_id,
        traveller_id, entry_time, entry_port, exit_time, exit_port,
        nationality, sex, birth_year, document_type, visa_type, permit_end,
        final_permit_end, purpose, sponsor, has_return_ticket, accommodation,
        group_size, planned_stay_days, overstayed, overstay_days``.

        ``final_permit_end`` is the permit in force at exit: the exit record's
        ``permit_end`` (extended, or cut short: revoked, shortened), the one
        granted at entry when the exit record has none or the traveller is
        still in the country.

        ``overstayed`` is True when the exit day is after ``final_permit_end``
        or the traveller is still in the country after it at ``as_of``; False
        when the traveller left on or before it; missing otherwise.

    Raises
    ------
    SchemaError
        If ``validate`` and the log breaks the contract or its last crossings come after a silence its own rhythm
        makes impossible (:func:`check_log_tail`); if ``as_of`` is not a
        date, is missing, carries a time zone or lies on a day after the log's
        last crossing (exits after the log ends are unknown; a time later on
        its last day is taken); if the log's timestamps carry a time zone, or a
        crossing lies after the time of the run (:func:`check_not_after_the_run`)
        (the last three even without ``validate``).

    Examples
    --------
    >>> from riskmodel.core.datasets import make_crossings
    >>> data = make_crossings(300, "2019-01-01", "2019-06-30", seed=2)
    >>> stays = build_stays(data.crossings)
    >>> len(stays) == int((data.crossings["direction"] == "entry").sum())
    True
    """
    if validate:
        validate_crossings(crossings)
    # the labels' as-of day defaults to the last crossing, and a later as_of is judged against it: one crossing keyed
    # with a mistyped year (2033 for 2023) made every stay still open then an overstayer, mature for training
    check_not_after_the_run(crossings)
    df = crossings
    if "timestamp" in df.columns and getattr(df["timestamp"].dtype, "tz", None) is not None:
        raise SchemaError(
            "crossings",
            [SchemaProblem("timestamp", f"timezone-aware timestamps ({df['timestamp'].dtype}); the contract holds local port time",
                           "convert to the port's local time and drop the zone: .dt.tz_convert(<port zone>).dt.tz_localize(None)")],
        )
    as_of_ts = None if as_of is None else _as_of(as_of)
    if validate:  # a mistyped year into the past, after the log's real end, passes the clock's check
        check_log_tail(df, as_of_ts)
    if as_of_ts is None:
        return _stays_through(df, None)
    # exits after the log ends are not on file: a later day would label everyone still in then by their permit alone
    check_within_log(df, as_of_ts, "as_of")
    return _stays_through(df, as_of_ts)


def _stays_through(crossings: pd.DataFrame, as_of_ts: pd.Timestamp | None) -> pd.DataFrame:
    """:func:`build_stays` of a log the caller holds complete through ``as_of_ts`` (None: its last crossing); inputs trusted.

    For the library's own readers of a log they know to run to ``as_of_ts`` (the generator's window, a day's sources):
    no crossing need fall on that day.
    """
    df = crossings
    if as_of_ts is None:
        as_of_ts = df["timestamp"].max()  # NaT for an empty log: no stay, nothing to label
    else:
        df = df.loc[df["timestamp"] <= as_of_ts]

    ts = df["timestamp"].to_numpy()
    trav = df["traveller_id"].astype(str).to_numpy()
    order = np.lexsort((ts, trav))
    is_entry = (df["direction"].astype(object).to_numpy() == "entry")[order]
    trav_s = trav[order]
    has_next = np.zeros(len(order), dtype=bool)
    has_next[:-1] = trav_s[:-1] == trav_s[1:]
    exit_follows = has_next & ~np.roll(is_entry, -1)
    entry_pos = order[is_entry]
    exit_pos = np.where(exit_follows[is_entry], order[np.minimum(np.flatnonzero(is_entry) + 1, len(order) - 1)], -1)

    entries = df.iloc[entry_pos]
    has_exit = exit_pos >= 0
    exits = df.iloc[np.where(has_exit, exit_pos, 0)]

    out = pd.DataFrame(
        {
            # .array keeps the log's dtypes, also when there are no rows (to_numpy gives object then)
            "stay_id": entries["crossing_id"].array,
            "traveller_id": entries["traveller_id"].array,
            "entry_time": entries["timestamp"].to_numpy(),
            "entry_port": entries["port"].array,
        }
    )
    exit_time = exits["timestamp"].to_numpy().copy()
    exit_time[~has_exit] = np.datetime64("NaT")
    out["exit_time"] = pd.Series(exit_time).astype(df["timestamp"].dtype)
    exit_port = exits["port"].to_numpy(dtype=object).copy()
    exit_port[~has_exit] = None
    out["exit_port"] = pd.Series(exit_port, dtype=object).astype(df["port"].dtype)
    for col in _TRIP_COLUMNS:
        values = entries[col]
        out[col] = values.array
    out["permit_end"] = entries["permit_end"].to_numpy()
    exit_permit = exits["permit_end"].to_numpy().copy()
    exit_permit[~has_exit] = np.datetime64("NaT")
    # the permit in force at exit is the exit record's, extended or cut short (revoked, shortened by a deportation
    # order): the later of the two ignored a permit cut short. None on the exit record: the one granted at entry.
    # A missing entry permit stays missing (the stay's permitted days are unknown), as np.maximum gave it before.
    entry_permit = out["permit_end"].to_numpy()
    final = np.where(np.isnat(exit_permit) | np.isnat(entry_permit), entry_permit, exit_permit)
    out["final_permit_end"] = pd.Series(final).astype(df["permit_end"].dtype)

    exit_day = out["exit_time"].dt.normalize()
    final_end = out["final_permit_end"]
    as_of_day = as_of_ts.normalize() if not pd.isna(as_of_ts) else pd.NaT
    left_late = (exit_day > final_end).to_numpy(dtype=bool, na_value=False)
    left_ok = (exit_day <= final_end).to_numpy(dtype=bool, na_value=False)
    still_in = ~has_exit
    known_late = still_in & (as_of_day > final_end).to_numpy(dtype=bool, na_value=False)
    label = pd.array(np.where(left_late | known_late, True, False), dtype="boolean")
    label[~(left_late | left_ok | known_late)] = pd.NA
    out["overstayed"] = label
    end_day = exit_day.where(has_exit, as_of_day)
    # calendar days past the last permitted day, as linking and prior_overstay_days count them: a last day given to
    # its last second (23:59:59) or to noon and an exit the next morning is one day, not the hours floored to 0
    days = (end_day - final_end.dt.normalize()).dt.days.to_numpy(dtype=float, na_value=np.nan)
    days = np.where(label.to_numpy(dtype=bool, na_value=False), days, 0.0)
    days[~(left_late | left_ok | known_late)] = np.nan
    out["overstay_days"] = pd.array(days, dtype="Int32")
    out["group_size"] = pd.array(out["group_size"], dtype="Int32")
    out["planned_stay_days"] = pd.array(out["planned_stay_days"], dtype="Int32")
    out["has_return_ticket"] = pd.array(out["has_return_ticket"], dtype="boolean")
    out = out[[c.name for c in STAYS]]
    return out.sort_values(["entry_time", "stay_id"], kind="stable").reset_index(drop=True)


def check_not_after_the_run(crossings: pd.DataFrame, shown: int = 5) -> None:
    """Refuse crossings after the time of the run (a day's margin for local time), naming them: a mistyped year.

    A log's last crossing is where its labels are read by default, and the day a later ``as_of`` is judged against
    (:func:`check_within_log`): one exit keyed 2033 for 2023 read the whole log as known in 2033, everyone still in
    the country then an overstayer. The monitor's inputs and the incremental database read are refused the same way.
    """
    times = crossings["timestamp"] if "timestamp" in crossings.columns else None
    if times is None or not pd.api.types.is_datetime64_any_dtype(times) or getattr(times.dtype, "tz", None) is not None:
        return  # the contract's check names what is wrong with the log
    limit = run_time_limit()
    late = (times > limit).to_numpy(dtype=bool, na_value=False)
    n = int(late.sum())
    if not n:
        return
    ids = crossings["crossing_id"] if "crossing_id" in crossings.columns else pd.Series(crossings.index, index=crossings.index)
    raise after_the_run_error(n, limit, times[late].max(), tuple(str(i) for i in ids[late][:shown]))


def run_time_limit() -> pd.Timestamp:
    """The latest local port time a crossing can have now: the run's clock in UTC plus a day (as the monitor judges it)."""
    return (pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(days=1)).floor("s")


def after_the_run_error(n: int, limit: pd.Timestamp, latest, ids: tuple[str, ...]) -> SchemaError:
    """The refusal of ``n`` crossings after ``limit`` (:func:`run_time_limit`), also Spark's, which finds them on the cluster."""
    return SchemaError("crossings", [SchemaProblem(
        "timestamp",
        f"{n} crossing{'s' if n != 1 else ''} after the time of this run (a day's margin for local time included: {limit}; "
        f"the latest {latest}): read as the log's end, every stay still open then would be labelled an overstayer once its "
        "permit ran out, and a cut-off up to that day taken as within the log",
        "correct `timestamp` (a mistyped year, a placeholder for 'unknown') at the source and export the log again, then rerun",
        ids, n)])


#: Crossings the log's own rhythm (its 90 days before) must have expected on the whole days with none before its last
#: crossings for those to be taken for a mistyped date: 30 (no chance: e^-30); the last 3 crossings are looked at.
TAIL_SILENCE_EXPECTED = 30
_TAIL_CROSSINGS = 3


def check_log_tail(crossings: pd.DataFrame, as_of: pd.Timestamp | None = None) -> None:
    """Refuse a log whose last crossings (up to 3) come after a silence its own rhythm makes impossible: a mistyped date.

    One exit keyed 2020 for 2019 in a log that ends in 2019 is the log's end (and the labels' default as-of day), every stay
    still open then an overstayer; the clock's check (:func:`check_not_after_the_run`) cannot see a year in the past. The
    silence is counted in whole days with no crossing (a quiet night is none), the rhythm over the 90 days before it.
    Not judged when ``as_of`` lies before those crossings (they are not read).
    """
    times = crossings["timestamp"] if "timestamp" in crossings.columns else None
    if times is None or not pd.api.types.is_datetime64_any_dtype(times) or getattr(times.dtype, "tz", None) is not None:
        return
    t = np.sort(times.dropna().to_numpy())
    day = t.astype("datetime64[D]")
    found = tail_silence(t[-(_TAIL_CROSSINGS + 2):] if len(t) >= _TAIL_CROSSINGS + 2 else t[:0],
                         lambda first, last: int(((day > first) & (day <= last)).sum()), as_of)
    if found is not None:
        tail = (times > found[0]).to_numpy(dtype=bool, na_value=False)
        ids = crossings["crossing_id"] if "crossing_id" in crossings.columns else pd.Series(crossings.index, index=crossings.index)
        raise silence_error(*found, tuple(str(i) for i in ids[tail][:5]), int(tail.sum()))


def tail_silence(last: np.ndarray, crossings_on_days, as_of: pd.Timestamp | None = None):
    """The judgement of :func:`check_log_tail` on the log's last ``_TAIL_CROSSINGS + 2`` crossing times (ascending; fewer:
    not judged), shared by the Spark forms, which find those times and counts on the cluster.

    ``crossings_on_days(after, through)`` counts the log's crossings on the days after ``after`` through ``through``
    (``numpy.datetime64`` days). Returns ``(prev, empty, rate)`` for a silence no rhythm explains (the crossing before it,
    the whole days with none, crossings a day over the 90 days before), or None.
    """
    if len(last) < _TAIL_CROSSINGS + 2:
        return None
    t = last
    day = t.astype("datetime64[D]")
    for m in range(1, _TAIL_CROSSINGS + 1):
        empty = int((day[-m] - day[-m - 1]) // np.timedelta64(1, "D")) - 1
        if empty <= 0:
            continue
        prev = pd.Timestamp(t[-m - 1])
        rate = float(crossings_on_days(day[-m - 1] - np.timedelta64(90, "D"), day[-m - 1])) / 90.0
        if rate * empty < TAIL_SILENCE_EXPECTED or (as_of is not None and as_of < pd.Timestamp(t[-m])):
            continue
        return prev, empty, rate
    return None


def silence_error(prev: pd.Timestamp, empty: int, rate: float, ids: tuple[str, ...], n: int) -> SchemaError:
    """The refusal of :func:`check_log_tail` (also the Spark forms'): ``n`` crossings after ``prev``, the first ``ids``."""
    return SchemaError("crossings", [SchemaProblem(
        "timestamp",
        f"the last crossing{'s come' if n != 1 else ' comes'} {empty + 1} days after the one before ({prev}), {empty} whole "
        f"days with none where the log held {rate:.1f} crossings a day in the 90 days before (about {rate * empty:.0f} "
        "expected): a mistyped date (a year), not a quiet spell; read as the log's end, every stay still open then would "
        "be labelled an overstayer once its permit ran out",
        "correct `timestamp` at the source and export the log again; if the log really went silent, give an as-of day "
        "before the silence", ids, n)])


def check_within_log(crossings: pd.DataFrame, when: pd.Timestamp, argument: str) -> None:
    """Refuse a day after the log's last crossing (labels are by day: later on its last day is taken), naming ``argument``."""
    times = crossings["timestamp"] if isinstance(crossings, pd.DataFrame) and "timestamp" in crossings.columns else None
    if times is None or not pd.api.types.is_datetime64_any_dtype(times) or getattr(times.dtype, "tz", None) is not None:
        return  # the contract's check names what is wrong with the log
    last = times.max()
    if not pd.isna(last) and when.normalize() > last.normalize():
        raise within_log_error(when, last, argument)


def within_log_error(when: pd.Timestamp, last: pd.Timestamp, argument: str) -> SchemaError:
    """The refusal of ``when`` after ``last``, the log's last crossing (also Spark's, which finds ``last`` on the cluster)."""
    return SchemaError("crossings", [SchemaProblem(
        argument, f"`{argument}` {when} is after the last crossing of the log ({last}): exits after the log ends are unknown, "
                  "so everyone still in the country then would be labelled an overstayer once their permit ran out",
        f"give {'a cut-off' if argument == 'cutoff' else 'an as-of day'} on or before the log's last day, or None for the end of the log")])


def _as_of(as_of, argument: str = "as_of") -> pd.Timestamp:
    """``as_of`` as a naive local timestamp, or a SchemaError naming ``argument`` and what is wrong with it.

    Also how :func:`~riskmodel.core.features.label_mature` and :func:`~riskmodel.core.risk.train.as_of_tables`
    read their ``cutoff``: ISO 8601 text only, so a day-first date or ``now`` is refused, never guessed.
    """
    fix = "pass a local date or time without a zone, e.g. '2023-06-30' (text in ISO 8601: day-first dates are not guessed)"
    try:
        ts = iso_time(as_of)
    except (TypeError, ValueError, OverflowError):
        raise SchemaError("crossings", [SchemaProblem(argument, f"`{argument}` must be a date or timestamp; got {as_of!r} (text is read as ISO 8601 only)", fix)]) from None
    if pd.isna(ts):
        raise SchemaError("crossings", [SchemaProblem(argument, f"`{argument}` is missing (got {as_of!r})", f"{fix}, or None for the last crossing")])
    if ts.tzinfo is not None:
        raise SchemaError(
            "crossings",
            [SchemaProblem(argument, f"`{argument}` carries a time zone ({ts}); the contract's times are local port time without one",
                           f"{fix}, or convert first: ts.tz_convert(<port zone>).tz_localize(None)")],
        )
    return ts


#: Entries a calendar week needs before a week with no exit at all counts as the exit feed down: travellers leave every
#: day, so with as many leaving as arriving, 30 entries and not one exit is no chance (Poisson: e^-30), while a small
#: extract (one land post) may see a quiet week.
FEED_MIN_ENTRIES = 30


def exit_feed_gaps(crossings: pd.DataFrame, *, min_entries: int = FEED_MIN_ENTRIES) -> pd.DataFrame:
    """The calendar weeks (Monday to Sunday) with at least ``min_entries`` entries and not one exit: the exit feed down.

    The log's first and last weeks are not judged (an extract may start or end mid-week). A log without
    ``timestamp`` times or a ``direction`` column gives no weeks (the crossings validator reports those).

    Returns
    -------
    DataFrame
        ``week`` (its Monday) and ``entries``, oldest first.
    """
    empty = pd.DataFrame({"week": pd.Series(dtype="datetime64[ns]"), "entries": pd.Series(dtype=int)})
    if not {"timestamp", "direction"} <= set(crossings.columns) or not pd.api.types.is_datetime64_any_dtype(crossings["timestamp"]):
        return empty
    week = crossings["timestamp"].dt.to_period("W-SUN").dt.start_time
    if week.isna().all():
        return empty
    direction = crossings["direction"].astype(str)
    counts = pd.DataFrame({"entries": (direction == "entry").groupby(week).sum(), "exits": (direction == "exit").groupby(week).sum()})
    counts = counts.reindex(pd.date_range(week.min(), week.max(), freq="7D"), fill_value=0).iloc[1:-1]
    gaps = counts[(counts["exits"] == 0) & (counts["entries"] >= min_entries)]
    return pd.DataFrame({"week": gaps.index, "entries": gaps["entries"].astype(int).to_numpy()})


def check_exit_feed(crossings: pd.DataFrame, *, min_entries: int = FEED_MIN_ENTRIES, shown: int = 5) -> None:
    """Refuse a log whose exit feed was down for a week or more (:func:`exit_feed_gaps`).

    Every traveller who left in such a week and has not crossed since reads as still in the country, an
    overstayer once the permit ends: labels a model would be trained and judged on.

    Raises
    ------
    SchemaError
        On column ``direction``, naming the weeks, the entries of each and the fix.
    """
    gaps = exit_feed_gaps(crossings, min_entries=min_entries)
    if gaps.empty:
        return
    n = len(gaps)
    weeks = ", ".join(f"{w:%Y-%m-%d} ({e:,} entries)" for w, e in zip(gaps["week"][:shown], gaps["entries"][:shown]))
    weeks += f" and {n - shown} more" if n > shown else ""
    raise SchemaError("crossings", [SchemaProblem(
        "direction",
        f"no exit recorded in {n} week{'s' if n != 1 else ''} (Monday to Sunday) of {min_entries} entries or more: {weeks}; the "
        "exit feed was down then, and every traveller who left in those weeks and has not crossed since would be labelled an "
        "overstayer",
        "re-export the crossings of those weeks from the border system; do not drop travellers' later entries to get past the "
        "check 'entered again without an exit', which this outage also trips",
    )])

