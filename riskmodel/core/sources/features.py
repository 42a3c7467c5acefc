"""Point-in-time features from every source: at entry, and in the country as of a date.

**At entry** (:func:`add_source_history`): what the other sources said about the
traveller's earlier stays, counting only records linked before the entry
(``linked_at < entry_time``) and still linked then (a record naming only a
document later seen with a second traveller counts until then): presence reports, refused applications, granted
extensions, overstay charges and deportations.

**In the country as of a date** (:func:`monitoring_snapshot`): everyone whose
stay is open at the end of day ``as_of``, with the crossings features, the
entry-time history above, and what the sources say about this stay by then:
days since the last presence report, regions reported, reports from a place
unlike the declared one, moves in the last 30 days, extensions applied for,
refused or pending, and the permit in force (the end granted last: an
extension, or a conversion that may end it earlier), hence whether the
traveller has already overstayed. Only records known by then count,
and an application decided later is still pending that day, so nothing after
``as_of`` changes a feature (``tests/test_sources.py`` checks it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError, SchemaError, SchemaProblem
from riskmodel.core.features import add_event_history, add_history_features
from riskmodel.core.schema import CROSSINGS, _check_columns, _id_checks, _ids, _not_a_table
from riskmodel.core.sources.contracts import SOURCE_KEYS, SOURCES, check_source
from riskmodel.core.sources.link import LinkResult, document_pairs, link_records
from riskmodel.core.stays import _as_of, _stays_through

__all__ = [
    "SOURCE_HISTORY_FEATURES",
    "CROSSINGS_MONITOR_FEATURES",
    "SOURCE_MONITOR_FEATURES",
    "SOURCE_FEATURE_GROUPS",
    "add_source_history",
    "link_all",
    "link_sources",
    "SourceLinks",
    "as_known_at",
    "monitoring_snapshot",
    "check_monitor_inputs",
    "local_day",
    "STAY_REASONS",
    "FEED_RATE_DAYS",
    "FEED_GAP_MIN_DAYS",
    "EXTENDED_EXITS_MIN",
]

#: Entry-time features from earlier stays' records.
SOURCE_HISTORY_FEATURES = ("prior_reports", "prior_refusals", "prior_extensions_granted", "prior_charges", "prior_deportations")
#: In-country features the crossings log alone gives.
CROSSINGS_MONITOR_FEATURES = ("days_in_country", "days_to_entry_permit_end")
#: In-country features from the other sources.
SOURCE_MONITOR_FEATURES = (
    "reports", "days_since_last_report", "regions_reported", "unlike_reports", "moves_30d",
    "reports_per_30d", "places_per_30d", "first_report_unlike", "new_places_60d", "days_to_first_report",
    "applications", "refusals", "pending_applications", "extensions_granted", "days_to_permit_end",
    "days_pending", "conversions", "moves_reported", "moves_per_30d", "moves_before_permit_end", "planned_beyond_permit_days",
)
#: Which of the features above each source gives (at entry, then in the country).
SOURCE_FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "presence_reports": ("prior_reports", "reports", "days_since_last_report", "regions_reported", "unlike_reports", "moves_30d",
                         "reports_per_30d", "places_per_30d", "first_report_unlike", "new_places_60d", "days_to_first_report",
                         "moves_reported", "moves_per_30d", "moves_before_permit_end"),
    "permit_applications": ("prior_refusals", "prior_extensions_granted", "applications", "refusals", "pending_applications",
                            "extensions_granted", "days_to_permit_end", "days_pending", "conversions", "planned_beyond_permit_days"),
    "enforcement": ("prior_charges", "prior_deportations"),
}
#: Why an open entry (no exit on file by the day) is not in the in-country snapshot; counted in ``stay_counts``
#: beside ``in_country`` (:func:`~riskmodel.core.sources.monitor.monitor`), so that every open entry is one or the other.
STAY_REASONS = {
    "entered_again": "the same traveller entered again by then: the later entry proves they left (an exit the log missed)",
}
_DECLARED = {"hotel": "hotel", "rental": "rental", "friends_family": "friends_family", "employer": "employer", "none_declared": ""}


def as_known_at(tables: dict[str, pd.DataFrame], crossings: pd.DataFrame, as_of: pd.Timestamp) -> tuple[dict, pd.DataFrame]:
    """The sources and crossings as the service held them at ``as_of``.

    An application lodged by then but decided later is pending that day (its
    decision, decision time and new permit end are hidden); one still pending
    counts from its ``known_at``, when it reached the service.
    """
    out = {}
    for name, t in tables.items():
        if name == "permit_applications":
            undecided = (t["decided_at"] > as_of).to_numpy(dtype=bool, na_value=False)
            # lodged by then, and its record on file by then; an application decided after that day is on file (pending)
            # from lodging (its known_at is the decision's: when it was keyed in is not kept), but a copy or correction
            # filed after it was decided is not, nor one still pending whose known_at says when it was keyed in (a paper
            # application keyed in days after its lodging counted as pending on days the service held nothing of it)
            t = t.loc[(t["applied_at"] <= as_of).to_numpy() & ((t["known_at"] <= as_of).to_numpy() | undecided)].copy()
            later = (t["decided_at"] > as_of).to_numpy(dtype=bool, na_value=False)
            # held as categories, the decisions may lack `pending`: read as text, the way every feature compares them
            t["decision"] = t["decision"].astype(object)
            t.loc[later, "decision"] = "pending"
            t.loc[later, ["decided_at", "new_permit_end"]] = pd.NaT
            t.loc[later, "known_at"] = t.loc[later, "applied_at"]
            out[name] = t
        else:
            out[name] = t.loc[t["known_at"] <= as_of]
    return out, crossings.loc[crossings["timestamp"] <= as_of]


def link_all(tables: dict[str, pd.DataFrame], crossings: pd.DataFrame, stays: pd.DataFrame) -> dict[str, LinkResult]:
    """Link every source table to the stays (one set of document pairs for all)."""
    pairs = document_pairs(crossings, *tables.values())
    return {name: link_records(name, t, stays, pairs) for name, t in tables.items()}


class SourceLinks(dict):
    """Per source name, its :class:`~riskmodel.core.sources.link.LinkResult` as known at the end of ``day``
    (:func:`link_sources`): a dict that knows its day, so that links of another day are refused, never read as this one's.

    Attributes
    ----------
    day : Timestamp
        The day (naive, local) whose end the records and crossings were read as of.
    """

    def __init__(self, links: dict[str, LinkResult], day: pd.Timestamp):
        super().__init__(links)
        self.day = day


def link_sources(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], as_of: str | pd.Timestamp) -> SourceLinks:
    """Every source linked to the stays as the service held them at the end of day ``as_of``, the inputs checked first.

    The linking of :func:`monitoring_snapshot` of that day, done once for the callers that read it
    (``links=`` of :func:`~riskmodel.core.sources.monitor.monitor`,
    :func:`~riskmodel.core.sources.monitor.link_warnings`, :func:`~riskmodel.core.sources.monitor.unknown_id_periods`,
    :func:`~riskmodel.core.sources.monitor.overstay_starts` and
    :func:`~riskmodel.core.sources.monitor.monitor_training_table`): each links every source again otherwise.

    Raises
    ------
    SchemaError
        As :func:`check_monitor_inputs`.
    """
    return _link_at(crossings, tables, check_monitor_inputs(crossings, tables, as_of))[0]


def links_of_day(links: dict[str, LinkResult], as_of: str | pd.Timestamp, argument: str = "links") -> pd.Timestamp:
    """``as_of`` as a naive local day, once ``links`` are known to be the :func:`link_sources` of that day.

    Raises
    ------
    ConfigError
        If ``links`` are not a :class:`SourceLinks` of that day: links of another day would give that day's lists.
    """
    day = local_day(as_of)
    given = getattr(links, "day", None)
    if given is None or local_day(given) != day:
        of = f"the links of {given.date()}" if given is not None else f"a {type(links).__name__} of no stated day"
        raise ConfigError(f"`{argument}` must be the sources linked as of the end of {day.date()}: pass "
                          f"link_sources(crossings, tables, {str(day.date())!r}) of the same tables, or no `{argument}`; got {of}.")
    return day


def _day_end(day: pd.Timestamp) -> pd.Timestamp:
    """The last moment of ``day``: everything known by then counts for that day."""
    return day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def _stays_at(crossings: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The stays of the crossings on file at the end of ``day`` (inputs trusted)."""
    end = _day_end(day)
    return _stays_through(crossings, end)


def _link_at(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], day: pd.Timestamp) -> tuple[SourceLinks, pd.DataFrame]:
    """The sources linked as known at the end of ``day`` (inputs trusted), and the stays they were linked to."""
    known, log = as_known_at(tables, crossings, _day_end(day))
    stays = _stays_at(crossings, day)
    return SourceLinks(link_all(known, log, stays), day), stays


def add_source_history(stays: pd.DataFrame, linked: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Add :data:`SOURCE_HISTORY_FEATURES`: counts of the traveller's records linked as of each entry.

    A record counts when it was linked before the entry and its link had not
    ended by then (``ambiguous_at``: its document seen with a second traveller
    before the entry), so records and crossings after the entry change nothing,
    and linking once on all the data gives every entry its own point in time.
    Records of the stay itself are never counted (``stay_id``, when both have it),
    whatever their time: the history is that of earlier stays.

    Parameters
    ----------
    stays : DataFrame
        Stays with ``traveller_id`` and ``entry_time``.
    linked : dict of str to DataFrame
        Linked records per source (``LinkResult.linked``; without ``ambiguous_at``,
        every link holds from ``linked_at`` on); a missing source counts zero.

    Returns
    -------
    DataFrame
        A copy of ``stays`` with the five columns added, same row order.
    """
    empty = pd.DataFrame({"traveller_id": pd.Series(dtype=object), "linked_at": pd.Series(dtype="datetime64[us]")})
    reports = linked.get("presence_reports", empty)
    apps = linked.get("permit_applications", empty.assign(decision=pd.Series(dtype=object)))
    enf = linked.get("enforcement", empty.assign(action=pd.Series(dtype=object)))
    events = {
        "prior_reports": reports,
        "prior_refusals": apps.loc[apps["decision"].astype(object) == "refused"],
        "prior_extensions_granted": apps.loc[apps["decision"].astype(object) == "granted"],
        "prior_charges": enf.loc[enf["action"].astype(object) == "overstay_charge"],
        "prior_deportations": enf.loc[enf["action"].astype(object) == "deportation"],
    }
    out = stays.copy()
    for col, ev in events.items():
        if not ev["linked_at"].notna().any():
            # add_event_history indexes its (empty) event keys when there are none; nothing to count anyway
            out[col] = 0.0
            continue
        out[col] = _before_entry(stays, ev, "linked_at", col)
        if "ambiguous_at" in ev.columns and ev["ambiguous_at"].notna().any():
            # a link ended before the entry: linked before it too (it ends after it began), so counted once above
            out[col] -= _before_entry(stays, ev, "ambiguous_at", col)
        out[col] -= _own_before_entry(stays, ev)
    return out


def _own_before_entry(stays: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """How many of :func:`_before_entry`'s records at each entry belong to that stay itself.

    Earlier stays' records only: a record of this stay on file before its entry (a report kept to the day, on file
    at 09:00 for a 14:00 crossing) was counted, and the entry-time score read the stay it scored.
    """
    if "stay_id" not in stays.columns or "stay_id" not in events.columns:
        return np.zeros(len(stays))
    own = events.merge(stays[["stay_id", "entry_time"]].dropna(subset=["stay_id"]), on="stay_id", how="inner")
    counted = own["linked_at"] < own["entry_time"]
    if "ambiguous_at" in own.columns:
        counted &= ~(own["ambiguous_at"] < own["entry_time"])  # a link that had ended was not counted either
    per_stay = own.loc[counted.to_numpy(dtype=bool, na_value=False)].groupby("stay_id").size()
    return stays["stay_id"].map(per_stay).fillna(0).to_numpy(dtype=float)


def _before_entry(stays: pd.DataFrame, events: pd.DataFrame, time_column: str, name: str) -> np.ndarray:
    """How many of the traveller's ``events`` have ``time_column`` strictly before each entry."""
    counted = add_event_history(stays[["traveller_id", "entry_time"]], events, name=name, time_column=time_column, window_days=None)
    return counted[f"{name}_before_entry"].to_numpy()


def _report_features(snap: pd.DataFrame, reports: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Presence-report features of each open stay, and the regency last reported.

    Counts are also given per 30 days in the country (a long stay has more
    reports and places for the same behaviour); the first place reported is
    compared with the declared accommodation on its own (later places are
    anywhere by nature); ``new_places_60d`` counts places first reported in the
    last 60 days other than the first place of the stay (moves, not the arrival).
    """
    r = reports.merge(snap[["stay_id", "accommodation"]].rename(columns={"accommodation": "_declared"}), on="stay_id")
    r["_unlike"] = r["accommodation"].astype(object).to_numpy() != r["_declared"].astype(object).map(_DECLARED).to_numpy()
    r["_recent"] = r["stay_from"] >= day - pd.Timedelta(days=30)
    r = r.sort_values(["stay_id", "stay_from", "linked_at"], kind="stable")
    g = r.groupby("stay_id", sort=False)
    first_from = g["stay_from"].transform("min")
    r["_move_60d"] = (r["stay_from"] >= day - pd.Timedelta(days=60)) & (r["stay_from"] > first_from)
    agg = pd.DataFrame({
        "reports": g.size(),
        "last_report": g["stay_from"].max(),
        "regions_reported": g["regency"].nunique(),
        "unlike_reports": g["_unlike"].sum(),
        "moves_30d": g["_recent"].sum(),
        "first_report_unlike": g["_unlike"].first().astype(float),
        "_first_report": g["stay_from"].min(),
        "new_places_60d": r.loc[r["_move_60d"]].groupby("stay_id", sort=False)["regency"].nunique(),
        "last_regency": g["regency"].last(),
    })
    out = snap[["stay_id"]].join(agg, on="stay_id")
    since = (day - out["last_report"]).dt.days.astype(float)
    # never reported: count the days since entry, the longest it could have been
    out["days_since_last_report"] = since.fillna(snap["days_in_country"] + 1)
    # where the traveller stayed on arrival is reported within days (hotels almost always): a first report
    # well after entry means the first place went unreported; never reported: the days since entry, as above
    first = (out.pop("_first_report") - snap["entry_time"].dt.normalize()).dt.days.astype(float)
    out["days_to_first_report"] = first.fillna(snap["days_in_country"] + 1)
    out = out.join(_move_features(snap, r), on="stay_id")
    out = out.fillna({"reports": 0, "regions_reported": 0, "unlike_reports": 0, "moves_30d": 0, "first_report_unlike": 0,
                      "new_places_60d": 0, "moves_reported": 0, "moves_before_permit_end": 0})
    months = (snap["days_in_country"].to_numpy(dtype=float) + 1) / 30.0
    out["reports_per_30d"] = out["reports"].to_numpy(dtype=float) / months
    out["places_per_30d"] = out["regions_reported"].to_numpy(dtype=float) / months
    out["moves_per_30d"] = out["moves_reported"].to_numpy(dtype=float) / months
    return out


def _move_features(snap: pd.DataFrame, r: pd.DataFrame) -> pd.DataFrame:
    """Places moved to after the arrival day (linking already dropped the records filed twice).

    ``moves_before_permit_end`` counts those moved into in the 60 days before the
    permit in force ends (``snap["permit_end_now"]``): a move shortly before the
    permit runs out, whatever the day of the snapshot.
    """
    if r.empty:  # mapping times over no rows gives floats, which cannot be compared with times
        return pd.DataFrame({"moves_reported": pd.Series(dtype=float), "moves_before_permit_end": pd.Series(dtype=float)})
    entry = snap.set_index("stay_id")["entry_time"].dt.normalize()
    window = snap.set_index("stay_id")["permit_end_now"] - pd.Timedelta(days=60)
    moved = r.loc[(r["stay_from"] > r["stay_id"].map(entry)).to_numpy()]
    before_end = moved["stay_from"] >= moved["stay_id"].map(window)
    return pd.DataFrame({"moves_reported": moved.groupby("stay_id", sort=False).size(),
                         "moves_before_permit_end": before_end.groupby(moved["stay_id"], sort=False).sum()})


def _permit_features(snap: pd.DataFrame, apps: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Applications of each open stay and the permit in force: the end of the application granted last (the contract's
    "last permitted day after a granted application", earlier than the one before it too: an ITAS cancelled and
    converted to an exit permit), or the one granted at entry when none was granted.

    ``days_pending`` is how long the oldest application still undecided that day
    has waited (0 when none): an extension is usually decided within days, so a
    long wait is news by itself.
    """
    a = apps.loc[apps["stay_id"].isin(snap["stay_id"])]
    decision = a["decision"].astype(object)
    waited = (day - a["applied_at"].dt.normalize()).dt.days.astype(float).where(decision == "pending")
    g = a.assign(_ref=decision == "refused", _pend=decision == "pending", _grant=decision == "granted", _wait=waited,
                 _conv=a["kind"].astype(object) == "conversion").groupby("stay_id")
    # the grant decided last sets the permit in force, not the latest date ever granted (ties: the later on file)
    granted = a.loc[(decision == "granted").to_numpy()].sort_values(["decided_at", "known_at"], kind="stable")
    agg = pd.DataFrame({"applications": g.size(), "refusals": g["_ref"].sum(), "pending_applications": g["_pend"].sum(),
                        "extensions_granted": g["_grant"].sum(), "_granted_end": granted.groupby("stay_id")["new_permit_end"].last(),
                        "days_pending": g["_wait"].max(), "conversions": g["_conv"].sum()})
    out = snap[["stay_id", "permit_end"]].join(agg, on="stay_id")
    out["permit_end_now"] = out["_granted_end"].where(out["_granted_end"].notna(), out["permit_end"])
    out["days_to_permit_end"] = (out["permit_end_now"] - day).dt.days.astype(float)
    # the declared stay against the permit in force: days the traveller said they would stay beyond it
    permitted = (out["permit_end_now"] - snap["entry_time"].dt.normalize()).dt.days.astype(float) + 1
    out["planned_beyond_permit_days"] = snap["planned_stay_days"].to_numpy(dtype=float, na_value=np.nan) - permitted
    return out.drop(columns=["permit_end", "_granted_end"]).fillna(
        {"applications": 0, "refusals": 0, "pending_applications": 0, "extensions_granted": 0, "days_pending": 0, "conversions": 0})


def local_day(as_of: str | pd.Timestamp) -> pd.Timestamp:
    """``as_of`` as a naive local day; SchemaError if it is not a date or carries a time zone."""
    return _as_of(as_of).normalize()


def check_monitor_inputs(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], as_of: str | pd.Timestamp) -> pd.Timestamp:
    """Refuse what monitoring cannot use faithfully; return ``as_of`` as a naive local day.

    A record with no ``known_at``, a missing column, text or timezone-aware
    times, or an unknown table would otherwise crash deep inside linking or,
    worse, be left out of the counts without a word.

    Raises
    ------
    SchemaError
        Naming every problem of the crossings log's columns and ids (blank or
        not text; not of its entry/exit sequence) and of each source table
        (:func:`~riskmodel.core.sources.contracts.check_source`), an unknown
        table name or a source not given, a source that stopped early (no
        record on file since a day, nor up to the crossings log's last, when
        its days with a record in the :data:`FEED_RATE_DAYS` days before give
        :data:`FEED_GAP_MIN_DAYS` or more since), a permit table with no
        record on file by the day while the crossings log holds
        :data:`EXTENDED_EXITS_MIN` or more exits by then on a permit extended
        since entry (a load that failed: every extended traveller would read
        as past the entry permit), a record or crossing on file after the
        time of the run (a day's margin: a mistyped year, counted on no day), or an
        ``as_of`` that is not a date or carries a time zone.
    """
    day = local_day(as_of)
    if not isinstance(tables, dict):
        raise SchemaError("sources", [SchemaProblem("<tables>", f"expected a dict of source name to DataFrame, got {type(tables).__name__}",
                                                    f"pass {{name: DataFrame}} with names among {sorted(SOURCES)}")])
    unknown = sorted(str(n) for n in tables if n not in SOURCES)
    if unknown:
        raise SchemaError("sources", [SchemaProblem("<tables>", f"unknown source table(s) {unknown}", f"use names among {sorted(SOURCES)}")])
    # a table not given would read as "no record on file": without the permits, every extended traveller is an overstay
    left_out = [n for n in SOURCES if n not in tables]
    if left_out:
        raise SchemaError("sources", [SchemaProblem("<tables>", f"source table(s) not given: {left_out}",
                                                    "pass every source; one with no records as an empty table with its contract's columns")])
    # columns, types, missing and unknown values of the log; not its entry/exit sequence, which real logs
    # break (unrecorded land exits) and stays are built to survive
    problems = _not_a_table(crossings)
    if not problems:
        entry = (crossings["direction"].astype(object) == "entry").to_numpy() if "direction" in crossings.columns else None
        problems, usable = _check_columns(crossings, CROSSINGS, "crossing_id", entry)
        # the log's ids are what every record is linked by: blank or non-text ones merge or part travellers
        problems += _id_checks(crossings, CROSSINGS, "crossing_id", usable)
    if problems:
        raise SchemaError("crossings", problems)
    for name, table in tables.items():
        problems = check_source(name, table)
        if problems:
            raise SchemaError(name, problems)
    # the clock of the run, in local port time at most a day ahead of UTC (as the incremental database read judges it)
    limit = (pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(days=1)).floor("s")
    ahead = {name: problem for name, table, column, id_col in
             [("crossings", crossings, "timestamp", "crossing_id"), *((n, t, "known_at", SOURCE_KEYS[n][0]) for n, t in tables.items())]
             if (problem := _after_the_run(table, column, id_col, limit)) is not None}
    if ahead:
        raise SchemaError(", ".join(ahead), list(ahead.values()))
    log_end = crossings["timestamp"].max().normalize() if crossings["timestamp"].notna().any() else day
    stopped = {name: problem for name, table in tables.items() if (problem := _stopped_feed(table, day, log_end)) is not None}
    no_permits = _no_permit_on_file(crossings, tables["permit_applications"], day)
    if no_permits is not None:
        stopped["permit_applications"] = no_permits
    if stopped:
        raise SchemaError(", ".join(stopped), list(stopped.values()))
    return day


def _after_the_run(table: pd.DataFrame, column: str, id_col: str, limit: pd.Timestamp) -> SchemaProblem | None:
    """A problem naming the rows on file (``column``) after ``limit``, the time of the run: a mistyped year.

    Read as on file then, such a record counts on no day up to it: a granted extension keyed 2033 for 2022 never
    moved its traveller's permit, who was listed past it with no word. The incremental database read refuses such a
    watermark; a table read whole or from files came here.
    """
    late = (table[column] > limit).to_numpy(dtype=bool, na_value=False)
    if not late.any():
        return None
    ids, n = _ids(table, id_col, late)
    return SchemaProblem(column, f"after the time of this run (a day's margin for local time included: {limit}): nothing is on file "
                                 "before it reaches the service, and read as on file then the record counts on no day up to it "
                                 "(a granted extension on none: its traveller listed past the permit)",
                         f"correct `{column}` (a mistyped year, a placeholder for 'unknown'), then rerun", ids, n)


#: A source is judged on the days with a record in this many days before its last one (its recent rhythm) ...
FEED_RATE_DAYS = 90
#: ... and refused when that rhythm gives at least this many days with a record since, none on file (a day has no
#: record by chance with at most 1 - 10/gap: all of them, e^-10, 1 time in 22,000; days, not records, so a feed
#: filed in weekly batches is judged by its batches; a feed too sparse to expect 10 days is not judged).
FEED_GAP_MIN_DAYS = 10


def _stopped_feed(table: pd.DataFrame, day: pd.Timestamp, log_end: pd.Timestamp) -> SchemaProblem | None:
    """A problem when the source's records on file by the end of ``day`` stop so long before it (or before ``log_end``,
    the crossings log's last day, if earlier) that its own recent rhythm says records should have come since: an
    extract that ended early, read as if nothing happened since.

    A permit feed cut a month short reads every extension granted in that month as none, so the travellers it
    extended read as past their permit. A day after the crossings log's last is refused by
    :func:`~riskmodel.core.sources.monitor.check_log_covers`; a table with no record is not judged (no rhythm).
    """
    known = table["known_at"]
    known = known.loc[(known <= _day_end(day)).to_numpy(dtype=bool, na_value=False)]
    if known.empty:
        return None
    last, until = known.max(), min(day, log_end)
    gap = (until - last.normalize()).days
    recent = known.loc[(known > last - pd.Timedelta(days=FEED_RATE_DAYS)).to_numpy()].dt.normalize().nunique()
    expected = recent / FEED_RATE_DAYS * gap
    if expected < FEED_GAP_MIN_DAYS:
        return None
    return SchemaProblem("known_at", f"no record on file after {last.date()}, {gap} days before {until.date()}, where it had "
                                     f"records on {recent} of the {FEED_RATE_DAYS} days before that (about {expected:.0f} "
                                     "days with one since): the extract stopped early, and what it no longer holds would read "
                                     "as never happened (an extension granted since as none, its traveller past the permit)",
                         f"read a newer extract of the source, or give a day on or before {last.date()}")


#: Fewest exits on a permit extended since entry (the exit record's permit past the entry's) that the crossings log may
#: hold by a day while the permit table has no record on file then: each is a granted extension on file, not a chance,
#: so 10 of them with no permit record at all is a load that failed or did not finish (one or two could be exit records
#: keyed with a wrong permit end).
EXTENDED_EXITS_MIN = 10


def _no_permit_on_file(crossings: pd.DataFrame, apps: pd.DataFrame, day: pd.Timestamp) -> SchemaProblem | None:
    """A problem when the permit table has no record on file by the end of ``day`` while the crossings log holds
    :data:`EXTENDED_EXITS_MIN` or more exits by then on a permit extended since entry.

    :func:`_stopped_feed` judges a table by its own rhythm and cannot judge one with no record: an empty permit table
    (a load that failed between TRUNCATE and COPY) read as "no extension ever", and every traveller extended since
    entry was listed past the entry permit. The crossings log's exit records say extensions were granted.
    """
    end = _day_end(day)
    if (apps["known_at"] <= end).to_numpy(dtype=bool, na_value=False).any():
        return None
    stays = _stays_through(crossings, end)
    extended = (stays["exit_time"].notna() & (stays["final_permit_end"] > stays["permit_end"])).to_numpy(dtype=bool, na_value=False)
    n = int(extended.sum())
    if n < EXTENDED_EXITS_MIN:
        return None
    later = apps["known_at"].dropna()
    since = f", or give a day on or after {later.min().date()}, when its first record is on file" if len(later) else ""
    return SchemaProblem("<table>", f"no record on file by the end of {day.date()}, while the crossings log holds {n} exits by then "
                                    f"on a permit extended since entry (the latest on {stays.loc[extended, 'exit_time'].max().date()}): "
                                    "each an extension granted that this table should hold; read as none, every traveller extended "
                                    "since entry would be listed past the entry permit",
                         f"read the permit applications again (a load that failed or did not finish){since}")


def monitoring_snapshot(
    crossings: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    as_of: str | pd.Timestamp,
    *,
    validate: bool = True,
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """Everyone in the country at the end of day ``as_of``, with what every source says by then.

    A stay with no recorded exit whose traveller entered again by then is not
    in the country (the log missed the exit): it is neither listed nor an overstay
    (:func:`~riskmodel.core.sources.monitor.monitor` counts it, :data:`STAY_REASONS`).

    Parameters
    ----------
    crossings : DataFrame
        The crossings log (later crossings are ignored).
    tables : dict of str to DataFrame
        Every other source by name (later records are ignored; see
        :func:`as_known_at`); a source with no records as an empty table.
    as_of : str or Timestamp
        The day; everything known by its end counts.
    validate : bool, default=True
        Check the inputs first (:func:`check_monitor_inputs`); False only for
        tables already checked (e.g. one snapshot of many on the same tables).

    Returns
    -------
    snapshot : DataFrame
        One row per open stay: the stay and crossings features
        (:func:`riskmodel.core.features.add_history_features`),
        :data:`SOURCE_HISTORY_FEATURES`, :data:`CROSSINGS_MONITOR_FEATURES`,
        :data:`SOURCE_MONITOR_FEATURES`, ``permit_end_now`` (the permit in force;
        missing when the entry has no permit end on file and no extension was
        granted), ``overstaying`` (the day is after it: an actual overstay; False
        where it is missing, an outcome not known, which
        :func:`~riskmodel.core.sources.monitor.monitor` lists apart), ``office``
        (regency last reported, else the province of entry) and ``as_of``.
    link_counts : dict
        Per source, the counts of :class:`~riskmodel.core.sources.link.LinkResult`.

    Raises
    ------
    SchemaError
        If ``validate`` and an input does not meet its contract (:func:`check_monitor_inputs`).
    """
    snap, links, _ = _monitoring_snapshot(crossings, tables, as_of, validate)
    return snap, {n: r.counts for n, r in links.items()}


def _monitoring_snapshot(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], as_of: str | pd.Timestamp,
                         validate: bool, links: SourceLinks | None = None) -> tuple[pd.DataFrame, SourceLinks, dict[str, int]]:
    """:func:`monitoring_snapshot` with each source's :class:`LinkResult` (not only its counts: when its records
    reached the service tells a feed re-keyed lately), and the open entries counted: ``in_country`` and one per
    :data:`STAY_REASONS`.

    The open-entry counts add up to every entry with no exit on file by the end of ``as_of``. Given ``links``
    (:func:`link_sources` of the same tables and day, which checked them), the sources are not linked nor checked again.
    """
    if links is None:
        day = check_monitor_inputs(crossings, tables, as_of) if validate else pd.Timestamp(as_of).normalize()
        links, stays = _link_at(crossings, tables, day)
    else:
        day = links_of_day(links, as_of)
        stays = _stays_at(crossings, day)  # the stays the links were made to, built again (no linking)
    end = _day_end(day)
    linked = {name: r.linked for name, r in links.items()}
    # this stay's records as linked that day: not those whose document was seen with a second traveller by then
    # (the history at entry keeps them while they were linked, as the entry-time score did)
    now = {name: r.loc[~(r["ambiguous_at"] <= end).to_numpy()] for name, r in linked.items()}
    # an entry with no recorded exit before the same traveller's next entry (an unrecorded land exit) is no stay in the
    # country: the next entry proves they left, when the log does not say, so it is neither present nor an overstay
    entered_again = stays["entry_time"] < stays.groupby("traveller_id", sort=False)["entry_time"].transform("max")
    open_ = stays["exit_time"].isna()
    # the history features of a stay come from the traveller's earlier stays: built on every stay of the travellers in
    # the country (history is per traveller, so their stays alone give the same), then the open ones kept
    here = (open_ & ~entered_again).to_numpy()
    theirs = stays["traveller_id"].isin(stays.loc[here, "traveller_id"]).to_numpy()
    snap = add_history_features(stays.loc[theirs]).loc[here[theirs]].reset_index(drop=True)
    snap = add_source_history(snap, linked)
    snap["days_in_country"] = (day - snap["entry_time"].dt.normalize()).dt.days.astype(float)
    snap["days_to_entry_permit_end"] = (snap["permit_end"] - day).dt.days.astype(float)
    per = _permit_features(snap, now.get("permit_applications", _no_records()), day)
    snap = pd.concat([snap, per.drop(columns="stay_id")], axis=1)
    rep = _report_features(snap, now.get("presence_reports", _no_records()), day)
    snap = pd.concat([snap, rep.drop(columns="stay_id")], axis=1)
    from riskmodel.core.reference import PORTS

    province = snap["entry_port"].astype(object).map(dict(zip(PORTS["port"], PORTS["province"], strict=True)))
    snap["office"] = snap["last_regency"].astype(object).fillna(province).fillna("unknown").astype(object)
    snap["overstaying"] = (day > snap["permit_end_now"]).to_numpy()
    snap["as_of"] = day
    stay_counts = {"in_country": len(snap), "entered_again": int((open_ & entered_again).sum())}
    return snap.drop(columns=["last_report", "last_regency"]), links, stay_counts


def _no_records() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ("stay_id", "traveller_id", "regency", "accommodation", "decision", "kind")}
                        | {c: pd.Series(dtype="datetime64[us]") for c in ("stay_from", "linked_at", "new_permit_end", "applied_at")})
