"""Point-in-time travel-history features: one row per stay, using only what was known at entry.

A stay's features come from two places:

* **the entry row itself**: visa, permitted stay, declared purpose, sponsor,
  accommodation, return ticket, party size and planned stay, port of entry;
* **the traveller's history before the entry**: earlier entries (visits, ports,
  visa types) and earlier *exits*, which is when an earlier stay's outcome
  becomes known (did the traveller leave late, after an extension, how long did
  they stay). An earlier stay counts only once its exit happened strictly
  before this entry, so an overstay that was not yet determinable at this entry
  never counts.

Nothing after the entry is used: not the stay's own exit, not
``final_permit_end`` (the permit in force at exit, extended or cut short, a
label ingredient), not the label. ``tests/test_features.py`` proves it by altering and
dropping every later crossing and comparing.

An entry with no ``permit_end`` on file (the crossings contract allows it) has no known permitted
stay and no known outcome: its own ``permitted_days`` and the ratios on it are missing, and for the
traveller's later stays it counts as neither an overstay nor an extension (never as a stay known to
have ended in time either: ``mean_prior_permit_used`` is missing once one earlier stay has no permit
end), while its exit and its length count. :func:`riskmodel.core.entry.features_at_entry` and the
Spark features do the same.

Audit attributes (``nationality``, ``region``, ``sex``, ``age``, ``age_band``)
are added for the fairness audit; they are not model features (a risk config listing an audited
attribute, or ``birth_year`` for an audited age, as a feature is refused).

Everything is vectorised: history counts use sorted composite keys and
``searchsorted`` (an as-of join per traveller), so a million stays take seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError, SchemaError, SchemaProblem
from riskmodel.core.reference import NATIONALITIES, PORTS
from riskmodel.core.stays import _as_of, build_stays
from riskmodel.core.stays import check_within_log as _check_within_log

__all__ = [
    "build_features",
    "add_history_features",
    "label_mature",
    "training_table",
    "add_event_history",
    "EXTENSION_ROOM_DAYS",
    "ROOM_EXCEEDED_MIN",
    "check_room_covers",
    "HISTORY_FEATURES",
    "ENTRY_FEATURES",
    "AUDIT_COLUMNS",
    "AGE_BANDS",
]

#: Extension room (days) a visa type allows beyond the stay granted at entry. ``None``: as long as
#: the stay granted at entry (limited stay permits are renewed for the same term).
EXTENSION_ROOM_DAYS: dict[str, int | None] = {
    "visa_exempt": 0,
    "voa": 30,
    "c1_visit": 120,
    "d1_multiple": 0,
    "itas": None,
    "itap": 0,
}

#: Features known from the entry row.
ENTRY_FEATURES = (
    "visa_type",
    "purpose",
    "sponsor",
    "accommodation",
    "document_type",
    "entry_port",
    "port_type",
    "has_return_ticket",
    "group_size",
    "planned_stay_days",
    "permitted_days",
    "extension_room_days",
    "planned_over_permitted",
    "planned_over_max",
    "planned_beyond_max_days",
    "entry_month",
)
#: Features from the traveller's history strictly before the entry.
HISTORY_FEATURES = (
    "prior_visits",
    "prior_visits_365d",
    "prior_exits",
    "prior_overstays",
    "prior_overstay_days",
    "prior_extensions",
    "days_since_last_exit",
    "mean_prior_stay_days",
    "max_prior_stay_days",
    "mean_prior_permit_used",
    "prior_ports",
    "port_switch",
    "visa_switch",
)
AUDIT_COLUMNS = ("nationality", "region", "sex", "age", "age_band")
AGE_BANDS = ("<18", "18-25", "26-40", "41-59", "60+")

_DAY = np.int64(86_400)
_KEY = np.int64(10_000_000_000)  # per traveller, room for 1e10 seconds (317 years) of crossings
#: Keys count seconds from 1900-01-01 (the earliest crossing the contract takes), never below 0: seconds since 1970
#: are negative before it, and a traveller's 1965 crossing packed into his key fell into the previous traveller's
#: range. From 1900 the range holds crossings up to the year 2216 (the contract's last is in 2199).
_KEY_FROM = np.int64(2_208_988_800)  # seconds from 1900-01-01 to 1970-01-01


def build_features(
    crossings: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp | None = None,
    validate: bool = True,
) -> pd.DataFrame:
    """Stays with their labels and point-in-time features, from a crossings log.

    Parameters
    ----------
    crossings : DataFrame
        A crossings log meeting :data:`riskmodel.core.schema.CROSSINGS`.
    as_of : str or Timestamp, optional
        Use only crossings up to this time; labels are as known then (see
        :func:`riskmodel.core.stays.build_stays`). Default: the last crossing.
    validate : bool, default=True
        Check the log against the contract first.

    Returns
    -------
    DataFrame
        The columns of :func:`riskmodel.core.stays.build_stays`, then
        :data:`ENTRY_FEATURES` not already there, :data:`HISTORY_FEATURES` and
        :data:`AUDIT_COLUMNS`; same row order as ``build_stays`` (entry time).

    Raises
    ------
    SchemaError
        If ``validate`` and the log breaks the contract, or ``as_of`` lies on a day after the log's last
        crossing (exits after the log ends are unknown; a time later on its last day is taken).

    Examples
    --------
    >>> from riskmodel.core.datasets import make_crossings
    >>> data = make_crossings(300, "2019-01-01", "2019-06-30", seed=2)
    >>> feats = build_features(data.crossings)
    >>> int((feats["prior_visits"] >= 0).sum()) == len(feats)
    True
    """
    if as_of is not None:  # exits after the log ends are not on file: a later day labels everyone still in then by their permit
        _check_within_log(crossings, _as_of(as_of, "as_of"), "as_of")
    stays = build_stays(crossings, as_of=as_of, validate=validate)
    return add_history_features(stays)


def add_history_features(stays: pd.DataFrame) -> pd.DataFrame:
    """Add entry-derived, history and audit columns to a stays table.

    Parameters
    ----------
    stays : DataFrame
        A stays table (:data:`riskmodel.core.schema.STAYS`). Earlier stays of the same
        traveller provide the history; their ``exit_time``, ``final_permit_end``
        and exit day are used only where the exit is before the entry scored.

    Returns
    -------
    DataFrame
        A copy of ``stays`` with the feature and audit columns added, same row order.

    Raises
    ------
    SchemaError
        If a column the features need is missing.
    """
    needed = ("traveller_id", "entry_time", "entry_port", "exit_time", "nationality", "sex", "birth_year",
              "visa_type", "permit_end", "final_permit_end", "planned_stay_days")
    missing = [c for c in needed if c not in stays.columns]
    if missing:
        raise SchemaError(
            "stays",
            [SchemaProblem(c, "required column is missing", "build the table with riskmodel.build_stays") for c in missing],
        )
    out = stays.copy()
    entry_s = _seconds(out["entry_time"])
    entry_day = entry_s // _DAY
    permit_day = _seconds(out["permit_end"]) // _DAY
    _add_entry_row(out, entry_day, permit_day)
    tcode = pd.factorize(out["traveller_id"], sort=False)[0].astype(np.int64)
    hist = {**_history_from_entries(out, tcode, entry_s), **_history_from_exits(out, tcode, entry_s, permit_day)}
    for name in HISTORY_FEATURES:
        out[name] = hist[name]
    _add_audit_columns(out)
    return out


def _add_entry_row(out: pd.DataFrame, entry_day: np.ndarray, permit_day: np.ndarray) -> None:
    """Add what the entry record alone gives: permitted days, extension room, planned ratios, month, port type."""
    visa = out["visa_type"].astype(object).to_numpy()
    # no permit end on file (the log allows it): the permitted stay is unknown, never int64-min seconds as days
    permitted = np.where(out["permit_end"].notna().to_numpy(), permit_day - entry_day + 1, np.nan).astype(float)
    room = np.array([EXTENSION_ROOM_DAYS.get(v, 0) if v is not None else 0 for v in visa], dtype=object)
    room = np.where(room == None, permitted, room).astype(float)  # noqa: E711 - elementwise on object array
    planned = out["planned_stay_days"].to_numpy(dtype=float, na_value=np.nan)
    out["permitted_days"] = permitted
    out["extension_room_days"] = room
    out["planned_over_permitted"] = planned / np.maximum(permitted, 1.0)
    out["planned_over_max"] = planned / np.maximum(permitted + room, 1.0)
    out["planned_beyond_max_days"] = planned - (permitted + room)
    out["entry_month"] = out["entry_time"].dt.month.astype("int32")
    port_type = dict(zip(PORTS["port"], PORTS["port_type"], strict=True))
    out["port_type"] = out["entry_port"].astype(object).map(port_type).fillna("unknown").astype(str)


def _history_from_entries(out: pd.DataFrame, tcode: np.ndarray, entry_s: np.ndarray) -> dict[str, np.ndarray]:
    """Features from the traveller's earlier *entries* (known at entry whatever happened next), in row order."""
    n = len(out)
    order = np.lexsort((entry_s, tcode))
    t_s = tcode[order]
    e_s = entry_s[order]
    first = np.ones(n, dtype=bool)
    first[1:] = t_s[1:] != t_s[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.arange(n) - group_start
    key = t_s * _KEY + (e_s + _KEY_FROM)
    prior_365 = np.arange(n) - np.searchsorted(key, key - 365 * _DAY, side="left")

    port_codes = pd.factorize(out["entry_port"])[0][order]
    visa_codes = pd.factorize(out["visa_type"])[0][order]
    prev_port = np.where(first, -1, np.roll(port_codes, 1))
    prev_visa = np.where(first, -1, np.roll(visa_codes, 1))
    port_switch = np.where(first, np.nan, (port_codes != prev_port).astype(float))
    visa_switch = np.where(first, np.nan, (visa_codes != prev_visa).astype(float))
    # distinct ports used before this entry: new (traveller, port) pairs, counted cumulatively
    new_pair = ~pd.DataFrame({"t": t_s, "p": port_codes}).duplicated().to_numpy()
    cum_new = np.cumsum(new_pair)
    ports_before = cum_new - new_pair - (cum_new[group_start] - new_pair[group_start])

    by_entry = {
        "prior_visits": rank.astype(float),
        "prior_visits_365d": prior_365.astype(float),
        "prior_ports": ports_before.astype(float),
        "port_switch": port_switch,
        "visa_switch": visa_switch,
    }
    hist = {}
    for name, values in by_entry.items():
        unsorted = np.empty(n)
        unsorted[order] = values
        hist[name] = unsorted
    return hist


def _history_from_exits(out: pd.DataFrame, tcode: np.ndarray, entry_s: np.ndarray, permit_day: np.ndarray) -> dict[str, np.ndarray]:
    """Features from the traveller's earlier *exits*: only exits strictly before the entry count, in row order."""
    n = len(out)
    entry_day = entry_s // _DAY
    exit_known = out["exit_time"].notna().to_numpy()
    ev_idx = np.flatnonzero(exit_known)
    ev_time = _seconds(out["exit_time"].iloc[ev_idx])
    ev_t = tcode[ev_idx]
    ev_order = np.lexsort((ev_time, ev_t))
    ev_idx, ev_time, ev_t = ev_idx[ev_order], ev_time[ev_order], ev_t[ev_order]
    exit_day = ev_time // _DAY
    final_day = _seconds(out["final_permit_end"].iloc[ev_idx]) // _DAY
    # a stay with no permit end on file has no known outcome: no overstay, no extension, no share of a permit used
    # (not int64-min seconds read as days); its exit and its length are known and count
    known = out["final_permit_end"].iloc[ev_idx].notna().to_numpy()
    late_days = np.where(known, np.maximum(exit_day - final_day, 0), 0).astype(float)
    late = (late_days > 0).astype(float)
    extended = (known & (final_day > permit_day[ev_idx])).astype(float)
    stay_days = ((ev_time - entry_s[ev_idx]) / _DAY).astype(float)
    used = np.where(known, stay_days / np.maximum(final_day - entry_day[ev_idx] + 1, 1), 0.0)
    unknown = (~known).astype(float)
    ev_key = ev_t * _KEY + (ev_time + _KEY_FROM)

    stay_key = tcode * _KEY + (entry_s + _KEY_FROM)
    hi = np.searchsorted(ev_key, stay_key, side="left")  # exits strictly before the entry
    lo = np.searchsorted(ev_key, tcode * _KEY, side="left")
    count = (hi - lo).astype(float)

    running = _running_sums(ev_t)

    def window_sum(values: np.ndarray) -> np.ndarray:
        # the traveller's own running sum, read at the last exit before the entry: a difference of
        # one running sum over the whole log would tie a stay's last bits to other travellers' rows
        # (and make features_at_entry, which sees one traveller, differ from it)
        res = np.zeros(n)
        has = hi > lo
        res[has] = running(values)[hi[has] - 1]
        return res

    def window_max(values: np.ndarray) -> np.ndarray:
        # a running max per traveller, read at the last exit before the entry
        s = pd.Series(values).groupby(ev_t).cummax().to_numpy()
        res = np.full(n, np.nan)
        has = hi > lo
        res[has] = s[hi[has] - 1]
        return res

    has_prev = count > 0
    last_exit = np.full(n, np.nan)
    last_exit[has_prev] = ev_time[hi[has_prev] - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "prior_exits": count,
            "prior_overstays": window_sum(late),
            "prior_overstay_days": window_sum(late_days),
            "prior_extensions": window_sum(extended),
            "days_since_last_exit": np.where(has_prev, (entry_s - last_exit) / _DAY, np.nan),
            "mean_prior_stay_days": np.where(has_prev, window_sum(stay_days) / count, np.nan),
            "max_prior_stay_days": window_max(stay_days),
            # a mean over earlier stays one of which has no known permit is itself unknown
            "mean_prior_permit_used": np.where(has_prev & (window_sum(unknown) == 0), window_sum(used) / count, np.nan),
        }


def _running_sums(group: np.ndarray):
    """A function giving running sums within runs of equal ``group`` values, added left to right."""
    n = len(group)
    start = np.ones(n, dtype=bool)
    start[1:] = group[1:] != group[:-1]
    rank = np.arange(n) - np.maximum.accumulate(np.where(start, np.arange(n), 0))
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max(initial=0)) + 2))

    def running(values: np.ndarray) -> np.ndarray:
        out = np.asarray(values, dtype=float).copy()
        # one step per position within a group (the most exits of one traveller), each over every group
        for r in range(1, len(bounds) - 1):
            idx = by_rank[bounds[r]:bounds[r + 1]]
            out[idx] = out[idx - 1] + out[idx]
        return out

    return running


def _add_audit_columns(out: pd.DataFrame) -> None:
    """Add the audit attributes (region, age, age band): reported on, never model features of the risk model."""
    region = dict(zip(NATIONALITIES["nationality"], NATIONALITIES["region"], strict=True))
    out["region"] = out["nationality"].astype(object).map(region).fillna("Other").astype(str)
    age = out["entry_time"].dt.year.to_numpy() - out["birth_year"].to_numpy(dtype=float, na_value=np.nan)
    out["age"] = age
    band = np.select([age < 18, age <= 25, age <= 40, age <= 59], list(AGE_BANDS[:4]), AGE_BANDS[4])
    out["age_band"] = pd.Categorical(band, categories=list(AGE_BANDS))


def add_event_history(
    stays: pd.DataFrame,
    events: pd.DataFrame,
    *,
    name: str,
    time_column: str = "time",
    traveller_column: str = "traveller_id",
    window_days: int | None = 365,
) -> pd.DataFrame:
    """Point-in-time features from an extra source of dated events per traveller.

    For example visa applications, accommodation reports or earlier refusals:
    each stay gets how many events of the traveller happened strictly before its
    entry, how many in the ``window_days`` before it, and the days since the last
    one. Events at or after the entry never count.

    Parameters
    ----------
    stays : DataFrame
        Stays with ``traveller_id`` and ``entry_time``.
    events : DataFrame
        One row per event, with ``traveller_column`` and ``time_column``.
    name : str
        Prefix of the new columns.
    time_column, traveller_column : str, default="time", "traveller_id"
    window_days : int or None, default=365
        Also count events in this many days before the entry (None: skip).

    Returns
    -------
    DataFrame
        A copy of ``stays`` with ``{name}_before_entry``, ``{name}_last_{window_days}d``
        and ``days_since_last_{name}`` (missing when there was none).

    Raises
    ------
    SchemaError
        If a column is missing from either table.

    Examples
    --------
    >>> import pandas as pd
    >>> stays = pd.DataFrame({"traveller_id": ["A"], "entry_time": [pd.Timestamp("2020-05-01")]})
    >>> apps = pd.DataFrame({"traveller_id": ["A", "A"], "time": pd.to_datetime(["2020-04-01", "2020-06-01"])})
    >>> int(add_event_history(stays, apps, name="visa_applications")["visa_applications_before_entry"].iloc[0])
    1
    """
    problems = [SchemaProblem(c, "required column is missing", "add it") for c in ("traveller_id", "entry_time") if c not in stays.columns]
    problems += [
        SchemaProblem(c, f"required column of `{name}` events is missing", "name it with time_column= / traveller_column=")
        for c in (time_column, traveller_column)
        if c not in events.columns
    ]
    if problems:
        raise SchemaError(name, problems)
    out = stays.copy()
    ev = events.loc[events[time_column].notna(), [traveller_column, time_column]]
    codes, uniques = pd.factorize(pd.concat([out["traveller_id"].astype(str), ev[traveller_column].astype(str)], ignore_index=True))
    s_code = codes[: len(out)].astype(np.int64)
    e_code = codes[len(out):].astype(np.int64)
    e_time = _seconds(ev[time_column]) + _KEY_FROM  # seconds from 1900, as the crossings' keys (see _KEY_FROM)
    key = np.sort(e_code * _KEY + e_time)
    entry = _seconds(out["entry_time"]) + _KEY_FROM
    hi = np.searchsorted(key, s_code * _KEY + entry, side="left")
    lo = np.searchsorted(key, s_code * _KEY, side="left")
    count = hi - lo
    out[f"{name}_before_entry"] = count.astype(float)
    if window_days is not None:
        start = np.searchsorted(key, s_code * _KEY + entry - window_days * _DAY, side="left")
        out[f"{name}_last_{window_days}d"] = (hi - np.maximum(start, lo)).astype(float)
    last = np.where(count > 0, key[np.maximum(hi - 1, 0)] - s_code * _KEY, 0)
    out[f"days_since_last_{name}"] = np.where(count > 0, (entry - last) / _DAY, np.nan)
    return out


def label_mature(
    stays: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    *,
    grace_days: int = 30,
) -> np.ndarray:
    """Which stays have a mature label at ``cutoff``.

    A label is mature once the longest stay the visa could allow has ended plus
    ``grace_days``: ``permit_end + extension room + grace < cutoff``. The rule
    uses only entry-time facts, so it does not favour travellers who happened to
    leave early (which would bias recent training data towards "no overstay"),
    and it waits for extensions that are only recorded at exit.

    Parameters
    ----------
    stays : DataFrame
        Stays with ``visa_type``, ``permit_end``, ``entry_time`` and ``overstayed``.
    cutoff : str or Timestamp
        The training cut-off (the time the labels are read): local time without a zone, text in ISO 8601.
    grace_days : int, default=30
        Extra days before a label counts as settled (late exit records, corrections).

    Returns
    -------
    ndarray of bool
        True where the label is mature and present.

    Raises
    ------
    SchemaError
        If ``cutoff`` is not a date (day-first text and ``now`` are not guessed), is missing or carries a time zone.
    ConfigError
        If ``grace_days`` is not a whole number >= 0 (below 0, stays the visa still allows to run count as settled).
    """
    _check_grace(grace_days)
    cutoff = _as_of(cutoff, "cutoff")
    entry_day = _seconds(stays["entry_time"]) // _DAY
    permit_day = _seconds(stays["permit_end"]) // _DAY
    visa = stays["visa_type"].astype(object).to_numpy()
    permitted = permit_day - entry_day + 1
    room = np.array([EXTENSION_ROOM_DAYS.get(v, 0) for v in visa], dtype=object)
    room = np.where(room == None, permitted, room).astype(np.int64)  # noqa: E711
    settled_day = permit_day + room + grace_days
    cutoff_day = np.int64(pd.Timestamp(cutoff.normalize()).value // 1_000_000_000) // _DAY
    labelled = stays["overstayed"].notna().to_numpy() if "overstayed" in stays.columns else np.ones(len(stays), bool)
    return (settled_day < cutoff_day) & labelled


def _check_grace(grace_days) -> None:
    """Refuse a grace that is no whole number of days or below 0, as the config's ``data.grace_days`` is refused."""
    if isinstance(grace_days, (bool, np.bool_)) or not isinstance(grace_days, (int, np.integer)) or grace_days < 0:
        raise ConfigError(f"`grace_days` must be a whole number of days >= 0 (the wait after the longest stay the visa allows "
                          f"before a label counts as settled; below 0, stays still allowed to run count as settled); got "
                          f"{grace_days!r}. Use 0 for no extra wait.")


def training_table(
    crossings: pd.DataFrame,
    *,
    cutoff: str | pd.Timestamp | None = None,
    grace_days: int = 30,
    validate: bool = True,
) -> pd.DataFrame:
    """Features and labels of the stays whose label is mature at ``cutoff``: the training rows.

    Only crossings up to ``cutoff`` are read (labels as known then), and only
    mature stays are kept (:func:`label_mature`), so no immature stay can reach training.

    Parameters
    ----------
    crossings : DataFrame
        A crossings log.
    cutoff : str or Timestamp, optional
        Training cut-off. Default: the last crossing.
    grace_days : int, default=30
        See :func:`label_mature`.
    validate : bool, default=True
        Check the log against the contract first.

    Returns
    -------
    DataFrame
        The rows of :func:`build_features` with a mature label, in entry-time order.

    Raises
    ------
    ConfigError
        If ``grace_days`` is not a whole number >= 0 (checked before the log is read), or the log's exits by
        ``cutoff`` hold :data:`ROOM_EXCEEDED_MIN` or more permits extended beyond the visa's room by more than
        ``grace_days`` (:func:`check_room_covers`).
    SchemaError
        If ``validate`` and the log breaks the contract, ``cutoff`` is not a date (see :func:`label_mature`), or
        ``cutoff`` lies on a day after the log's last crossing: the log cannot tell who left in between, so everyone
        still in the country at its end would be labelled an overstayer once their permit ran out. Labels are by day,
        so a cut-off later on the last crossing's day is taken.
    """
    _check_grace(grace_days)
    if cutoff is not None:
        _check_within_log(crossings, _as_of(cutoff, "cutoff"), "cutoff")
    feats = build_features(crossings, as_of=cutoff, validate=validate)
    check_room_covers(feats, grace_days)
    when = crossings["timestamp"].max() if cutoff is None else _as_of(cutoff, "cutoff")
    return feats.loc[label_mature(feats, when, grace_days=grace_days)].reset_index(drop=True)


#: Fewest exits on a permit extended beyond the visa's room by more than the grace that :func:`check_room_covers` refuses:
#: each is an extension granted beyond what :data:`EXTENSION_ROOM_DAYS` allows, so 10 are a pattern of the data (an ITAS
#: renewed again, a visit visa converted), while one or two may be exit records keyed with a wrong permit end.
ROOM_EXCEEDED_MIN = 10


def check_room_covers(stays: pd.DataFrame, grace_days: int, *, at_least: int = ROOM_EXCEEDED_MIN) -> None:
    """Refuse stays whose exits show permits extended beyond the visa's room by more than ``grace_days``, ``at_least`` times.

    :func:`label_mature` calls a label settled once the longest stay the visa allows (the permit granted at entry and
    :data:`EXTENSION_ROOM_DAYS`) and ``grace_days`` have passed, and the crossings log learns of an extension only at
    exit: a traveller still in the country then reads as an overstayer, mature. Where the log's own exits hold
    extensions past that (an ITAS renewed twice, a visit visa converted to a stay permit), such a label is not settled:
    an ITAS holder renewed twice was a mature positive of hundreds of days, and left in time.

    Raises
    ------
    ConfigError
        Naming ``grace_days``, the exits and visa types, the most days beyond the room and the grace that covers them.
    """
    needed = ("exit_time", "permit_end", "final_permit_end", "extension_room_days", "visa_type")
    if any(c not in stays.columns for c in needed):
        return
    exited = stays.loc[stays["exit_time"].notna().to_numpy() & stays["final_permit_end"].notna().to_numpy()
                       & stays["permit_end"].notna().to_numpy()]
    granted = (exited["final_permit_end"].dt.normalize() - exited["permit_end"].dt.normalize()).dt.days.to_numpy(dtype=float)
    beyond = granted - exited["extension_room_days"].to_numpy(dtype=float, na_value=0.0)
    over = beyond > grace_days
    if int(over.sum()) < at_least:
        return
    visas = exited.loc[over, "visa_type"].astype(str).value_counts()
    most = int(beyond[over].max())
    raise ConfigError(
        f"`grace_days` ({grace_days}) does not cover the extensions this log holds: {int(over.sum())} exits by the cut-off "
        f"left on a permit extended beyond the visa's room by more than the grace ({', '.join(f'{v} {n}' for v, n in visas.items())}; "
        f"up to {most} days beyond it), so a traveller of those visas still in the country once the room and the grace have "
        f"passed may hold such an extension too, and would be a training row labelled an overstayer. Give grace_days of at "
        f"least {most} (risk config `data.grace_days`), or correct the exit records' permit ends if they are mistyped.")


def _seconds(s: pd.Series) -> np.ndarray:
    """Seconds since 1970 of a datetime column (NaT must already be filtered out)."""
    return s.to_numpy(dtype="datetime64[s]").astype(np.int64)
