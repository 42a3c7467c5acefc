"""In-country monitoring as of a date: who has overstayed, and who is likely to in the next days.

:func:`monitor` lists, per immigration office (the regency last reported, else
the province of entry):

* **overstays**: everyone in the country whose permit in force (the last
  granted extension, else the permit granted at entry) ended before the day:
  a fact from the records, not a prediction;
* **at risk**: everyone whose permit ends in the next ``horizon_days`` days,
  ranked by a monitoring model's probability of overstaying, with reasons;
* **no permit end on file**: everyone in the country whose entry record has no
  permit end (the crossings log allows it) and no extension granted since: they
  cannot be judged overstayed nor at risk, so they are listed apart, as the
  data problem an office has to chase, never dropped from every list.

The monitoring model (:func:`fit_monitor_model`) learns from snapshots at
earlier dates (:func:`monitor_training_table`) of everyone in the country and
not yet overstaying, each labelled with whether the stay began to overstay in
the ``horizon_days`` days after its snapshot (:func:`overstay_starts`, read at a
later date): the question the at-risk list asks. Every snapshot's horizon, and
:data:`LATE_RECORD_DAYS` for a permit decision put on file late, must have
passed by the label date, so every row's label is known and settled then, and
no row is left out for its outcome. Not settled is an overstay on record on the
label date while an application of the stay is still pending then (a grant
decided later would undo it): such a row is left out, and counted, until the
decision is on file. (Labelling with the stay's eventual outcome
instead, :func:`monitor_labels`, would have to leave out the stays still in the
country with a permit running past the label date; those kept are the ones
that left early, all compliant, which teaches "a permit ending far ahead means
no overstay" from the selection itself.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError, SchemaError, SchemaProblem
from riskmodel.core.features import ENTRY_FEATURES, HISTORY_FEATURES
from riskmodel.core.risk.model import RiskModel
from riskmodel.core.sources.features import (
    CROSSINGS_MONITOR_FEATURES,
    SOURCE_FEATURE_GROUPS,
    SOURCE_HISTORY_FEATURES,
    SOURCE_MONITOR_FEATURES,
    SourceLinks,
    _monitoring_snapshot,
    link_sources,
    links_of_day,
    local_day,
    monitoring_snapshot,
)
from riskmodel.core.sources.link import LinkResult

__all__ = ["MonitorResult", "monitor", "monitor_features", "monitor_labels", "overstay_starts", "monitor_training_table",
           "fit_monitor_model", "monitor_snapshot_groups", "late_decision_days", "check_log_covers",
           "unknown_id_warnings", "recent_link_counts", "link_warnings", "MONITOR_MIN_SNAPSHOTS", "HORIZON_DAYS",
           "LATE_RECORD_DAYS", "LABEL_GAP_DAYS", "UNKNOWN_ID_SHARE", "UNKNOWN_ID_RECENT_DAYS", "UNKNOWN_ID_RECENT_MIN",
           "unknown_id_periods", "UNKNOWN_ID_MIN_RECORDS", "exit_feed_warnings"]

#: Days ahead the at-risk list looks, and the monitoring model's target: an overstay beginning within this many days.
HORIZON_DAYS = 14
#: Days a record that settles a monitoring label may reach the service after the event. A label depends on the
#: exits in the crossings log (on file at the crossing) and on the granted extensions (the permit in force); the
#: contract has a decision on file when it is made and the synthetic extracts do so (only copies come up to 3 days
#: later), so a week is room for a decision keyed in late. :func:`monitor_training_table` checks it on the extract.
LATE_RECORD_DAYS = 7
#: Days from the last training snapshot to the day its labels are read: the horizon, then the late records' room.
LABEL_GAP_DAYS = HORIZON_DAYS + LATE_RECORD_DAYS
#: Share of a source's records on file that name a traveller or document the crossings log never held
#: (``unknown_traveller``, ``unknown_document``) above which :func:`monitor` warns. Mistyped ids are a few per cent
#: (about 2% of the synthetic presence reports); a feed pseudonymised with another key than the crossings log, or
#: another country's extract, names nobody the log holds, all of it. More than half cannot be typos, and the
#: source then says nothing about most of the people it covers while everyone is scored as if it held nothing.
UNKNOWN_ID_SHARE = 0.5
#: Days up to the day whose records (by ``known_at``) are also judged on their own. A feed re-keyed one day
#: keeps its history on file under the old key, all of it linked: over all its records the share of unknown ids
#: passes :data:`UNKNOWN_ID_SHARE` only once most of its history is new, weeks of lists later. Over a week's, in days.
UNKNOWN_ID_RECENT_DAYS = 7
#: Fewest records in those days that are judged on their own: at the typo rate (about 2%) more than half of 10
#: unknown happens about once in 10**8 weeks, while a smaller sample could be a few typos on a quiet week.
UNKNOWN_ID_RECENT_MIN = 10
_UNKNOWN_IDS = ("unknown_traveller", "unknown_document")
#: How to mend a source linked to almost nobody: said by every warning and refusal of one.
_REKEYED_FIX = "extract it again, pseudonymised with the crossings log's key"
#: Fewest records on file between two snapshot days for :func:`unknown_id_periods` to judge their share: more than half
#: of 10 or more at a few per cent of typos is no chance (under one in a million), while 1 of 1 in a quiet fortnight is a typo.
UNKNOWN_ID_MIN_RECORDS = 10
#: Fewest snapshot days :func:`fit_monitor_model` fits on: one each to train, to stop early and to calibrate on, in that order.
MONITOR_MIN_SNAPSHOTS = 3

_CATEGORICAL = ("visa_type", "purpose", "sponsor", "accommodation", "document_type", "entry_port", "port_type")
_VISAS = {"visa_exempt": "a visa exemption", "voa": "a visa on arrival", "c1_visit": "a C1 visit visa",
          "d1_multiple": "a D1 multiple-entry visa", "itas": "a limited stay permit (ITAS)", "itap": "a permanent stay permit (ITAP)"}
_MONTHS = {str(i): m for i, m in enumerate(("January", "February", "March", "April", "May", "June", "July", "August", "September",
                                            "October", "November", "December"), start=1)}


def _group(features: list[str], text: str, missing: str | None = None, **words: dict[str, str]) -> dict:
    """One reason group as :func:`~riskmodel.core.risk.reasons.reason_groups` reads it."""
    return {"features": features, "text": text, **({"missing": missing} if missing else {}), **({"words": words} if words else {})}


#: Reasons of the monitoring model, in plain words, one per input (:mod:`riskmodel.core.risk.reasons`): every feature of
#: ``monitor_features("all")`` is in a group; only groups that raise a stay's risk are shown.
_REASONS = {
    # in the country, from the crossings log and the permit records
    "permit_end": _group(["days_to_permit_end", "days_to_entry_permit_end", "extensions_granted"],
                       "the permit in force ends in {days_to_permit_end:.0f} days ({extensions_granted:.0f} extension(s) granted)"),
    "time_in_country": _group(["days_in_country"], "in the country for {days_in_country:.0f} days"),
    "refusals": _group(["refusals"], "{refusals:.0f} application(s) to extend or convert the permit refused"),
    "pending": _group(["pending_applications", "days_pending"],
                    "{pending_applications:.0f} application(s) waiting for a decision, the oldest for {days_pending:.0f} days"),
    "applications": _group(["applications", "conversions"],
                         "{applications:.0f} application(s) to extend or convert the permit, {conversions:.0f} to convert it"),
    "planned_beyond_permit": _group(["planned_beyond_permit_days"], "declared a stay {planned_beyond_permit_days:.0f} days longer than "
                                  "the permit in force allows", "no planned length of stay declared"),
    # presence reports of this stay
    "last_report": _group(["days_since_last_report"], "no presence report for {days_since_last_report:.0f} days"),
    "first_report": _group(["days_to_first_report"], "first presence report {days_to_first_report:.0f} days after entry (or none yet)"),
    "reports": _group(["reports", "reports_per_30d"], "{reports:.0f} presence report(s), {reports_per_30d:.1f} a month"),
    "places": _group(["regions_reported", "places_per_30d"], "reported in {regions_reported:.0f} place(s), {places_per_30d:.1f} a month"),
    "first_place": _group(["first_report_unlike"], "first reported at the kind of place declared, or not yet reported|"
                                                  "first reported at a kind of place unlike the accommodation declared"),
    "unlike_places": _group(["unlike_reports"], "{unlike_reports:.0f} report(s) from a kind of place unlike the accommodation declared"),
    "moves": _group(["moves_reported", "moves_per_30d"], "moved {moves_reported:.0f} time(s) since arrival, {moves_per_30d:.1f} a month"),
    "recent_moves": _group(["new_places_60d", "moves_30d"], "moved to {new_places_60d:.0f} new place(s) in the last 60 days, "
                                                          "{moves_30d:.0f} place(s) reported in the last 30"),
    "moves_before_end": _group(["moves_before_permit_end"], "moved {moves_before_permit_end:.0f} time(s) in the 60 days before the permit ends"),
    # earlier stays, from the other sources
    "earlier_reports": _group(["prior_reports"], "{prior_reports:.0f} presence report(s) on earlier stays"),
    "earlier_refusals": _group(["prior_refusals"], "{prior_refusals:.0f} application(s) refused on earlier stays"),
    "earlier_extensions_granted": _group(["prior_extensions_granted"], "{prior_extensions_granted:.0f} extension(s) granted on earlier stays"),
    "earlier_charges": _group(["prior_charges"], "{prior_charges:.0f} overstay charge(s) paid on earlier stays"),
    "earlier_deportations": _group(["prior_deportations"], "{prior_deportations:.0f} deportation(s) on earlier stays"),
    # at entry
    "visa": _group(["visa_type", "permitted_days", "extension_room_days"], "entered on {visa_type}, permitted to stay {permitted_days:.0f} days",
                 "visa type not on record", visa_type=_VISAS),
    "planned_stay": _group(["planned_stay_days", "planned_over_permitted", "planned_over_max", "planned_beyond_max_days"],
                         "declared a stay of {planned_stay_days:.0f} day(s) at entry, {planned_over_permitted:.0%} of the stay permitted",
                         "no planned length of stay declared"),
    "purpose": _group(["purpose"], "travelling for {purpose}", "no purpose of travel declared",
                    purpose={"tourism": "tourism", "business": "business", "family": "a family visit", "work": "work", "study": "study",
                             "transit": "transit", "other": "a purpose not on the list"}),
    "sponsor": _group(["sponsor"], "{sponsor}", "no sponsor on record",
                    sponsor={"none": "no sponsor named", "company": "sponsored by a company", "family": "sponsored by family",
                             "school": "sponsored by a school", "government": "sponsored by a government"}),
    "accommodation": _group(["accommodation"], "{accommodation} declared at entry", "no accommodation on record",
                          accommodation={"hotel": "a hotel", "rental": "a rented home", "friends_family": "friends or family",
                                         "employer": "housing by an employer", "none_declared": "no accommodation"}),
    "document": _group(["document_type"], "{document_type}", "travel document not on record",
                     document_type={"passport": "travelling on a passport", "border_pass": "travelling on a border pass",
                                    "travel_document": "travelling on a travel document that is not a passport"}),
    "entry_port": _group(["entry_port", "port_type"], "entered at {entry_port}, {port_type}", "port of entry not on record",
                       entry_port={"Pintu Darat Lainnya": "another land border post", "Pintu Laut Lainnya": "another seaport",
                                   "Pintu Udara Lainnya": "another airport"},
                       port_type={"air": "by air", "sea": "by sea", "land": "over a land border"}),
    "return_ticket": _group(["has_return_ticket"], "no return ticket shown|return ticket shown", "return ticket not on record"),
    "party": _group(["group_size"], "travelling in a party of {group_size:.0f}", "party size not on record"),
    "season": _group(["entry_month"], "entered in {entry_month}", "entry month not on record", entry_month=_MONTHS),
    "earlier_visits": _group(["prior_visits", "prior_visits_365d"], "{prior_visits:.0f} earlier visit(s), {prior_visits_365d:.0f} in the past year",
                           "no earlier visit on record"),
    "earlier_extensions": _group(["prior_extensions"], "{prior_extensions:.0f} earlier extension(s) of stay", "no earlier stay on record"),
    "last_departure": _group(["days_since_last_exit", "prior_exits"],
                           "last left Indonesia {days_since_last_exit:.0f} days before this entry, {prior_exits:.0f} departure(s) on record",
                           "no earlier departure on record"),
    "earlier_stays": _group(["prior_overstays", "prior_overstay_days", "mean_prior_stay_days", "max_prior_stay_days", "mean_prior_permit_used"],
                          "earlier stays used {mean_prior_permit_used:.0%} of the permitted stay on average; "
                          "{prior_overstays:.0f} earlier overstay(s)", "no earlier completed stay on record"),
    "earlier_ports": _group(["port_switch", "prior_ports"], "entered at the same port as last time|entered at a different port from last time",
                          "first visit on record"),
    "earlier_visa": _group(["visa_switch"], "same visa type as last time|a different visa type from last time", "first visit on record"),
}


def monitor_features(sources: str = "all") -> tuple[str, ...]:
    """Features of the monitoring model.

    ``"crossings"``: the crossings log only; ``"all"``: every source; a source
    name (a key of :data:`~riskmodel.core.sources.features.SOURCE_FEATURE_GROUPS`):
    the crossings log and that source.
    """
    base = ENTRY_FEATURES + HISTORY_FEATURES + CROSSINGS_MONITOR_FEATURES
    if sources == "crossings":
        return base
    if sources == "all":
        return base + SOURCE_HISTORY_FEATURES + SOURCE_MONITOR_FEATURES
    if sources in SOURCE_FEATURE_GROUPS:
        return base + SOURCE_FEATURE_GROUPS[sources]
    raise ConfigError(f"`sources` must be 'crossings', 'all' or one of {sorted(SOURCE_FEATURE_GROUPS)}; got {sources!r}.")


def check_log_covers(crossings: pd.DataFrame, as_of: str | pd.Timestamp, argument: str = "as_of") -> None:
    """Refuse a day after the last day of the crossings log, or before its first.

    Exits after the end of an extract are not on file, so on a later day
    everyone still in the country when it ended would look present, and those
    whose permit ended since would be listed (and labelled) as actual overstays.
    Before its first day nobody's entry is on file: the country would look empty.

    Raises
    ------
    ConfigError
        Naming ``argument``, the day, the log's last (or first) day and the fix. A log
        without usable timestamps is left to its validator.
    """
    if not isinstance(crossings, pd.DataFrame) or "timestamp" not in crossings.columns:
        return
    times = crossings["timestamp"]
    if not pd.api.types.is_datetime64_any_dtype(times) or getattr(times.dtype, "tz", None) is not None or not times.notna().any():
        return
    day, first, last = local_day(as_of), times.min().normalize(), times.max().normalize()
    if day < first:
        # nobody's entry is on file: the lists said "0 in the country, 0 past their permit", as if the country were empty
        raise ConfigError(f"`{argument}` ({day.date()}) is before the first day of the crossings log ({first.date()}): nobody's "
                          f"entry is on file then, so nobody would be in the country; give a day on or after {first.date()}, "
                          f"or read an extract reaching back to {day.date()}.")
    if day > last:
        raise ConfigError(f"`{argument}` ({day.date()}) is after the last day of the crossings log ({last.date()}): exits since then "
                          f"are not on file, so everyone whose permit ended after it would count as an overstay; give a day on or "
                          f"before {last.date()}, or read a newer extract.")


def monitor_labels(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], label_as_of: str | pd.Timestamp) -> pd.Series:
    """Outcome of every stay as known at ``label_as_of``: True (overstayed), False (left in time), or missing.

    A stay that ended is judged against the permit in force at exit (the exit
    record's); a stay still open against the permit in force that day (the
    permit records): after its end it has overstayed, before it the outcome is
    not known yet.
    """
    from riskmodel.core.stays import _stays_through

    day = pd.Timestamp(label_as_of).normalize()
    end = day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    stays = _stays_through(crossings, end)
    closed = stays["exit_time"].notna()
    label = pd.Series(pd.array(stays["overstayed"].where(closed), dtype="boolean").to_numpy(), index=stays["stay_id"].to_numpy())
    snap, _ = monitoring_snapshot(crossings, tables, day)
    label.loc[snap.loc[snap["overstaying"], "stay_id"].to_numpy()] = True
    return label.astype("boolean")


def overstay_starts(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], label_as_of: str | pd.Timestamp, *,
                    links: SourceLinks | None = None) -> pd.Series:
    """The first day each stay was in the country past its permit, as known at the end of ``label_as_of``; NaT if none by then.

    A stay that ended is judged against the permit in force at exit (the exit
    record's), a stay still open against the permit in force that day (the
    permit records): the day after that permit ends, if the traveller left
    after it or is still in the country after it.

    Parameters
    ----------
    crossings, tables : DataFrame, dict of str to DataFrame
        The crossings log and the other sources.
    label_as_of : str or Timestamp
        The day.
    links : SourceLinks, optional
        The sources linked as of the end of ``label_as_of``
        (:func:`~riskmodel.core.sources.features.link_sources` of the same
        ``crossings`` and ``tables``, which checks them): read as they are,
        neither linked nor checked again. Default: linked here.

    Raises
    ------
    ConfigError
        If ``links`` are not of ``label_as_of``.
    SchemaError
        If an input does not meet its contract (not checked when ``links`` are given).
    """
    return _starts_and_snapshot(crossings, tables, label_as_of, links)[0]


def _starts_and_snapshot(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], label_as_of: str | pd.Timestamp,
                         links: SourceLinks | None) -> tuple[pd.Series, pd.DataFrame]:
    """:func:`overstay_starts` and the in-country snapshot of ``label_as_of`` they were read from (one snapshot for both)."""
    from riskmodel.core.stays import _stays_through

    day = pd.Timestamp(label_as_of).normalize()
    end = day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    stays = _stays_through(crossings, end)
    late = stays["exit_time"].notna().to_numpy() & stays["overstayed"].to_numpy(dtype=bool, na_value=False)
    start = pd.Series(stays["final_permit_end"].to_numpy(), index=stays["stay_id"].to_numpy()).dt.normalize() + pd.Timedelta(days=1)
    start = start.where(late)
    snap, _, _ = _monitoring_snapshot(crossings, tables, day, True, links)
    over = snap.loc[snap["overstaying"]]
    start.loc[over["stay_id"].to_numpy()] = (over["permit_end_now"].dt.normalize() + pd.Timedelta(days=1)).to_numpy()
    return start, snap


def monitor_training_table(
    crossings: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    dates,
    label_as_of: str | pd.Timestamp,
    *,
    horizon_days: int = HORIZON_DAYS,
    late_days: int = LATE_RECORD_DAYS,
    allow_unlinked: bool = False,
    links: SourceLinks | None = None,
) -> pd.DataFrame:
    """Snapshots at ``dates`` of everyone in the country and not yet overstaying, labelled: overstay within ``horizon_days``.

    Parameters
    ----------
    crossings, tables : DataFrame, dict of str to DataFrame
        The crossings log and the other sources.
    dates : sequence of date-like
        Snapshot days; each must be at least ``horizon_days + late_days``
        (:data:`LABEL_GAP_DAYS` by default) before ``label_as_of``.
    label_as_of : str or Timestamp
        When the outcomes are read (:func:`overstay_starts`); the horizon of
        every snapshot has passed by then, and the records that settle it have
        had ``late_days`` to reach the service, so every row's label is known.
    horizon_days : int, default=HORIZON_DAYS
        ``label`` is True when the stay's first day past its permit (as known
        on ``label_as_of``) is within the ``horizon_days`` days after the snapshot.
    late_days : int, default=LATE_RECORD_DAYS
        How late a granted extension may be put on file after its decision: an
        extension on file later than the label date would turn a row labelled
        an overstay into none. Checked on the extract (:func:`late_decision_days`).
    allow_unlinked : bool, default=False
        Build the table even when a source was re-keyed partway
        (:func:`unknown_id_periods` of the snapshot days and ``label_as_of``),
        after a review; its warnings are recorded in ``attrs["unlinked"]``.
    links : SourceLinks, optional
        The sources linked as of the end of ``label_as_of``
        (:func:`~riskmodel.core.sources.features.link_sources` of the same
        ``crossings`` and ``tables``, which checks them): read as they are,
        neither linked nor checked again. Default: linked here.
        The labels and the check of the re-keyed feed read them; each snapshot
        day is linked as known that day.

    Returns
    -------
    DataFrame
        The rows of :func:`~riskmodel.core.sources.features.monitoring_snapshot`
        that are not overstaying and have a permit end on file, every one of
        them, with a boolean ``label`` column, oldest snapshot first.
        ``attrs["unlinked"]`` holds the warnings of :func:`unknown_id_periods`
        built despite (``allow_unlinked``), an empty list when every source
        links; ``attrs["no_permit_end"]`` the rows left out for want of a
        permit end (their outcome is unknown); ``attrs["unsettled"]`` the rows
        left out whose overstay, begun within the horizon, is on record on
        ``label_as_of`` while an application of the stay is still pending then
        (granted later, the permit in force moves past it: the outcome is not
        settled; read once it is decided, the row is back with its label).

    Raises
    ------
    ConfigError
        If ``dates`` is empty, ``horizon_days`` is not an int >= 1,
        ``late_days`` not an int >= 0, a snapshot's horizon and ``late_days``
        have not passed by ``label_as_of``, ``label_as_of`` is after the last
        day of the crossings log, the extract holds an extension
        put on file more than ``late_days`` after its decision, or ``links``
        are not of ``label_as_of``.
    SchemaError
        If an input does not meet its contract, or a day is not a date; or,
        unless ``allow_unlinked``, if a source was re-keyed partway: between two
        of the days (the snapshot days and ``label_as_of``) most of its records
        name a traveller or document the crossings log never held
        (:func:`unknown_id_periods`; the model would learn from snapshots on
        which it holds nothing on most people, and the labels read on
        ``label_as_of`` from records linked to nobody). Naming each such
        source and its first snapshot over the share, as ``riskmodel monitor``
        refuses it.
    """
    label_day, days = _label_days(dates, label_as_of, horizon_days, late_days)
    links = link_sources(crossings, tables, label_day) if links is None else links  # checks the inputs once
    starts, at_label = _starts_and_snapshot(crossings, tables, label_day, links)
    # an overstay on record on the label day while an application for the stay is still pending then is no settled outcome:
    # granted later, the permit in force moves past it and the overstay never began (read later, the label turns False)
    pending = at_label["overstaying"].to_numpy(dtype=bool) & (at_label["pending_applications"] > 0).to_numpy()
    unsettled_stays = at_label.loc[pending, "stay_id"]
    check_log_covers(crossings, label_day, "label_as_of")
    latest = late_decision_days(tables, label_day)
    if latest > late_days:
        raise ConfigError(f"this extract put granted extensions on file up to {latest:.1f} days after their decision, more than "
                          f"`late_days` ({late_days}): a label read on {label_day.date()} could still turn from an overstay into "
                          f"none; give `late_days` (riskmodel monitor --late-records-days) of at least {int(np.ceil(latest))}.")
    unlinked = _refuse_rekeyed(unknown_id_periods(crossings, tables, [*days, label_day], links=links), allow_unlinked)
    ahead = pd.Timedelta(days=horizon_days)
    parts, unknown, unsettled = [], 0, 0
    for d in days:
        snap, _ = monitoring_snapshot(crossings, tables, d, validate=False)
        # no permit end on file: whether an overstay began within the horizon is unknown, never a "no"
        no_end = snap["permit_end_now"].isna().to_numpy()
        unknown += int((no_end & ~snap["overstaying"].to_numpy(dtype=bool)).sum())
        snap = snap.loc[~snap["overstaying"].to_numpy(dtype=bool) & ~no_end].copy()
        start = pd.Series(starts.reindex(snap["stay_id"].to_numpy()).to_numpy(), index=snap.index)
        snap["label"] = ((start > d) & (start <= d + ahead)).to_numpy(dtype=bool, na_value=False)
        unsure = snap["label"].to_numpy() & snap["stay_id"].isin(unsettled_stays).to_numpy()
        unsettled += int(unsure.sum())
        parts.append(snap.loc[~unsure])
    table = pd.concat(parts, ignore_index=True)
    table.attrs["unlinked"] = unlinked
    table.attrs["no_permit_end"] = unknown
    table.attrs["unsettled"] = unsettled
    return table


def _refuse_rekeyed(warnings: list[str], allow_unlinked: bool) -> list[str]:
    """The :func:`unknown_id_periods` ``warnings`` when ``allow_unlinked`` (or none); else a SchemaError naming each source."""
    if not warnings or allow_unlinked:
        return list(warnings)
    names, texts = zip(*(line.split(": ", 1) for line in warnings), strict=True)
    fix = f"{_REKEYED_FIX}; or pass `allow_unlinked=True` after a review (the table then records the warning in `attrs['unlinked']`)"
    problems = [SchemaProblem("traveller_id", (f"{name}: " if len(names) > 1 else "") + text.removesuffix(f" Fix: {_REKEYED_FIX}.").rstrip("."),
                              fix) for name, text in zip(names, texts, strict=True)]
    raise SchemaError(", ".join(names), problems)


def _label_days(dates, label_as_of, horizon_days: int, late_days: int) -> tuple[pd.Timestamp, list[pd.Timestamp]]:
    """The label day and the snapshot days, refused unless each snapshot's horizon and late records have passed by then."""
    for name, value, low in (("horizon_days", horizon_days, 1), ("late_days", late_days, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"`{name}` must be an int >= {low}; got {value!r}.")
    label_day = local_day(label_as_of)
    days = [local_day(d) for d in dates]
    if not days:
        raise ConfigError("`dates` holds no snapshot day; give at least two days before `label_as_of` (e.g. more training months).")
    gap = pd.Timedelta(days=horizon_days + late_days)
    late = [str(d.date()) for d in days if d + gap > label_day]
    if late:
        raise ConfigError(f"snapshot `dates` must be at least `horizon_days` + `late_days` ({horizon_days} + {late_days}) before "
                          f"`label_as_of` ({label_day.date()}), so that their outcome is known and on file; got {late}.")
    return label_day, days


def late_decision_days(tables: dict[str, pd.DataFrame], as_of: str | pd.Timestamp) -> float:
    """How long after their decision the granted extensions decided by the end of ``as_of`` were put on file, at most (days).

    A granted extension moves the permit in force, so one on file late turns a
    stay that looked overstaying into one that was not. Every such extension of
    the extract counts, also one put on file after ``as_of``: it is the very
    record a label read that day misses. Copies of a record count from the
    first filing (the service held the decision then). 0 when none is late.
    """
    apps = tables.get("permit_applications")
    if apps is None or apps.empty:
        return 0.0
    end = local_day(as_of) + pd.Timedelta(days=1)
    g = apps.loc[(apps["decision"].astype(object) == "granted").to_numpy() & (apps["decided_at"] < end).to_numpy(dtype=bool, na_value=False)]
    if g.empty:
        return 0.0
    same = ["traveller_id", "document_id", "kind", "applied_at", "decided_at", "new_permit_end"]
    first = g.groupby([g[c].astype(object) if c in ("traveller_id", "document_id", "kind") else g[c] for c in same],
                      dropna=False, sort=False)["known_at"].min()
    decided = first.index.get_level_values("decided_at")
    return max(0.0, float(((first.to_numpy() - decided.to_numpy()) / pd.Timedelta(days=1)).max()))


def fit_monitor_model(table: pd.DataFrame, *, sources: str = "all", seed: int = 0, num_boost_round: int = 600) -> RiskModel:
    """A calibrated monitoring model from :func:`monitor_training_table` rows.

    The snapshot days are cut into three time-ordered groups, a day never split
    between two, as the entry-time pipeline cuts its slices
    (:func:`~riskmodel.core.risk.train.fit_slices`): the earlier three quarters
    train; the latest quarter (at least two days) is halved by day, its earlier
    half for early stopping (which chooses the number of trees), its later half
    (the larger when the days are odd) for the calibration and the band
    thresholds, so that these never sit on the rows that chose the model.

    Parameters
    ----------
    table : DataFrame
        Snapshots with ``label`` and ``as_of``.
    sources : {"all", "crossings", "presence_reports", "permit_applications", "enforcement"}, default="all"
        Which features (:func:`monitor_features`).
    seed : int, default=0
    num_boost_round : int, default=600

    Returns
    -------
    RiskModel
        Fitted on ``label``; its ``snapshot_days_`` (saved with the model) holds
        the snapshot days of each group: ``{"train": [...], "early_stopping": [...],
        "calibration": [...]}``, oldest first; its ``unlinked_`` the warnings
        the table was built despite (``attrs["unlinked"]`` of
        :func:`monitor_training_table` with ``allow_unlinked=True``; an empty
        list when every source linked; None for a table that does not say).

    Raises
    ------
    ConfigError
        If the table holds fewer than :data:`MONITOR_MIN_SNAPSHOTS` (3) snapshot days.
    """
    groups = monitor_snapshot_groups(table["as_of"])
    train, stop, calib = (table.loc[table["as_of"].isin(days)] for days in groups.values())
    features = monitor_features(sources)
    model = RiskModel(features=features, categorical=[c for c in _CATEGORICAL if c in features], target="label",
                      params={"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 100, "feature_fraction": 0.8},
                      num_boost_round=num_boost_round, early_stopping_rounds=50, reasons=_REASONS, seed=seed)
    model.fit(train, valid=stop, calib=calib)
    model.snapshot_days_ = {k: list(days) for k, days in groups.items()}
    model.unlinked_ = list(table.attrs["unlinked"]) if "unlinked" in table.attrs else None
    return model


def monitor_snapshot_groups(as_of) -> dict[str, pd.DatetimeIndex]:
    """The snapshot days of ``as_of`` cut into ``train``, ``early_stopping`` and ``calibration`` (:func:`fit_monitor_model`).

    Raises
    ------
    ConfigError
        If there are fewer than :data:`MONITOR_MIN_SNAPSHOTS` distinct days.
    """
    days = pd.DatetimeIndex(pd.unique(pd.Series(as_of).dropna())).sort_values()
    n = len(days)
    if n < MONITOR_MIN_SNAPSHOTS:
        raise ConfigError(f"the training table must hold at least {MONITOR_MIN_SNAPSHOTS} snapshot days (`as_of`): one to train on, "
                          f"one to stop early on and a later one to calibrate on; got {n}. Give more snapshot days (e.g. more "
                          "training months).")
    held = min(n - 1, max(2, n - int(n * 0.75)))
    first_calib = n - (held - held // 2)
    return {"train": days[: n - held], "early_stopping": days[n - held: first_calib], "calibration": days[first_calib:]}


@dataclass
class MonitorResult:
    """What :func:`monitor` returns.

    Attributes
    ----------
    overstays : DataFrame
        ``office, stay_id, traveller_id, nationality, visa_type, entry_time,
        permit_end_now, days_overstayed``: everyone past their permit in force,
        by office, longest overstay first.
    at_risk : DataFrame
        ``office, stay_id, traveller_id, nationality, visa_type, entry_time,
        permit_end_now, days_to_permit_end, p_overstay, reason_1..k``: everyone whose
        permit ends within the horizon, by office, most likely first.
    no_permit_end : DataFrame
        ``office, stay_id, traveller_id, nationality, visa_type, entry_time,
        days_in_country``: everyone in the country with no permit in force on
        file (no permit end at entry, no extension granted), by office, longest
        in the country first. They are on neither list above: whether they
        overstayed is unknown until their permit record is found.
    snapshot : DataFrame
        Everyone in the country with every feature
        (:func:`~riskmodel.core.sources.features.monitoring_snapshot`) and ``p_overstay``.
    link_counts : dict
        Per source, linked records and unlinked ones by reason.
    stay_counts : dict of str to int
        The entries with no exit on file by the day: ``in_country`` (the rows of
        ``snapshot``) and the others by reason
        (:data:`~riskmodel.core.sources.features.STAY_REASONS`: ``entered_again``);
        they add up to every open entry, none left out silently.
    warnings : list of str
        One sentence per source linked to almost nobody (:func:`unknown_id_warnings`): its lists and
        scores are not to be trusted as they stand. Empty when every source links.
    """

    overstays: pd.DataFrame
    at_risk: pd.DataFrame
    no_permit_end: pd.DataFrame
    snapshot: pd.DataFrame
    link_counts: dict
    stay_counts: dict[str, int]
    warnings: list[str]


def unknown_id_warnings(link_counts: dict[str, dict[str, int]], recent: dict[str, dict[str, int]] | None = None) -> list[str]:
    """A warning per source of which more than :data:`UNKNOWN_ID_SHARE` of the records name nobody the crossings log held:
    of all its records on file, or of those that reached the service in the last :data:`UNKNOWN_ID_RECENT_DAYS` days
    (when there are at least :data:`UNKNOWN_ID_RECENT_MIN`).

    Parameters
    ----------
    link_counts : dict of str to dict of str to int
        Per source, the counts of :class:`~riskmodel.core.sources.link.LinkResult` (``linked`` and one per reason).
    recent : dict of str to dict of str to int, optional
        The same counts of the records of the last :data:`UNKNOWN_ID_RECENT_DAYS` days only
        (:func:`recent_link_counts`); None judges all records alone.

    Returns
    -------
    list of str
        One sentence per such source: its name, the records unknown of those judged, and the fix. Empty when none.
    """
    out = []
    for name, counts in link_counts.items():
        line = _unknown_line(name, counts, lately=False)
        if line is None and recent is not None:
            line = _unknown_line(name, recent.get(name, {}), lately=True)
        if line is not None:
            out.append(line)
    return out


def _unknown_line(name: str, counts: dict[str, int], lately: bool) -> str | None:
    """The warning of :func:`unknown_id_warnings` for ``counts``: of all records on file, or of the ``lately`` ones."""
    total = sum(counts.values())
    unknown = sum(counts.get(reason, 0) for reason in _UNKNOWN_IDS)
    if total < (UNKNOWN_ID_RECENT_MIN if lately else 1) or unknown / total <= UNKNOWN_ID_SHARE:
        return None
    parts = ", ".join(f"{reason} {counts.get(reason, 0):,}" for reason in _UNKNOWN_IDS)
    of = f"the {total:,} records that reached the service in the last {UNKNOWN_ID_RECENT_DAYS} days" if lately else f"{total:,} records"
    return (f"{name}: {unknown:,} of {of} ({unknown / total:.0%}) name a traveller or document the crossings "
            f"log never held ({parts}): the source is linked to almost nobody, so everyone is scored and listed as if it "
            f"held nothing on them. Was it pseudonymised with another key than the crossings log, or is it another "
            f"extract? Fix: {_REKEYED_FIX}.")


def recent_link_counts(links: dict[str, LinkResult], as_of: str | pd.Timestamp) -> dict[str, dict[str, int]]:
    """Per source, the records that reached the service (``known_at``) in the :data:`UNKNOWN_ID_RECENT_DAYS` days
    up to the end of day ``as_of``: ``linked`` and the number per reason of those not linked.

    Parameters
    ----------
    links : dict of str to LinkResult
        Per source, :func:`~riskmodel.core.sources.link.link_records` as of that day.
    as_of : str or Timestamp
        The day.

    Returns
    -------
    dict of str to dict of str to int
        Per source, the counts of those records (records linked until their document was shared among ``linked``).
    """
    since = local_day(as_of) + pd.Timedelta(days=1 - UNKNOWN_ID_RECENT_DAYS)
    out = {}
    for name, r in links.items():
        reasons = r.unlinked.loc[(r.unlinked["known_at"] >= since).to_numpy(dtype=bool, na_value=False), "reason"]
        out[name] = {"linked": int((r.linked["known_at"] >= since).sum())} | {k: int(v) for k, v in reasons.value_counts().items()}
    return out


def link_warnings(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], as_of: str | pd.Timestamp, *,
                  links: SourceLinks | None = None) -> list[str]:
    """The ``warnings`` :func:`monitor` gives for the sources on ``as_of``, without a model: a caller's check before fitting one.

    Parameters
    ----------
    crossings : DataFrame
        The crossings log.
    tables : dict of str to DataFrame
        Every other source by name.
    as_of : str or Timestamp
        The day.
    links : SourceLinks, optional
        The sources linked as of the end of ``as_of``
        (:func:`~riskmodel.core.sources.features.link_sources` of the same
        ``crossings`` and ``tables``, which checks them): read as they are,
        neither linked nor checked again. Default: linked here.

    Returns
    -------
    list of str
        :func:`unknown_id_warnings` of all the records on file and of the last days' ones.

    Raises
    ------
    ConfigError
        If ``links`` are not of ``as_of``.
    SchemaError
        If an input does not meet its contract (not checked when ``links`` are given).
    """
    if links is None:
        links = link_sources(crossings, tables, as_of)
    else:
        links_of_day(links, as_of)
    return unknown_id_warnings({n: r.counts for n, r in links.items()}, recent_link_counts(links, as_of))


def unknown_id_periods(crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], days, *, links: SourceLinks | None = None) -> list[str]:
    """A warning per source re-keyed partway: the records reaching the service between two snapshot days mostly name nobody.

    :func:`unknown_id_warnings` reads every record on file on one day: a feed pseudonymised with another key from some
    date on (or up to it) stays under half for months, while the snapshots after (or before) that date are built from
    records that link to nobody. Here each of ``days`` is judged by the records that reached the service (``known_at``)
    since the day before it (the first: as many days before it as between the first two, or 14), linked once with
    everything on file by the end of the last day.

    Parameters
    ----------
    crossings : DataFrame
        The crossings log.
    tables : dict of str to DataFrame
        ``presence_reports``, ``permit_applications``, ``enforcement``.
    days : sequence of dates
        The snapshot days (a model's training and audit days, the day of the lists).
    links : SourceLinks, optional
        The sources linked as of the end of the last of ``days``
        (:func:`~riskmodel.core.sources.features.link_sources` of the same
        ``crossings`` and ``tables``, which checks them): read as they are,
        neither linked nor checked again. Default: linked here.

    Returns
    -------
    list of str
        One sentence per source with a period of at least :data:`UNKNOWN_ID_MIN_RECORDS` records of which more than
        :data:`UNKNOWN_ID_SHARE` name a traveller or document the crossings log never held: the first such snapshot day,
        its figures, how many of the periods judged from then are over, and the fix. Empty when none.

    Raises
    ------
    ConfigError
        If ``links`` are not of the last of ``days``.
    SchemaError
        As :func:`~riskmodel.core.sources.features.monitoring_snapshot` does, for tables it cannot use (not checked
        when ``links`` are given).
    """
    days = pd.DatetimeIndex(sorted({local_day(d) for d in days}))
    if not len(days):
        return []
    if links is None:
        links = link_sources(crossings, tables, days[-1])
    else:
        links_of_day(links, days[-1])
    step = days[1] - days[0] if len(days) > 1 else pd.Timedelta(days=14)
    ends = days + pd.Timedelta(days=1)  # a record counts for the day it is on file by the end of
    edges = ends.insert(0, ends[0] - step).to_numpy(dtype="datetime64[us]")
    out = []
    for name, result in links.items():
        unlinked = result.unlinked
        unknown = unlinked.loc[unlinked["reason"].isin(_UNKNOWN_IDS).to_numpy(), "known_at"]
        # every record on file is either linked or unlinked (with its reason, a filing again among them)
        on_file = pd.concat([result.linked["known_at"], unlinked["known_at"]], ignore_index=True)
        period = {k: np.searchsorted(edges, t.to_numpy(dtype="datetime64[us]"), side="right") - 1
                  for k, t in (("all", on_file), ("unknown", unknown))}
        total, bad = (np.bincount(p[(p >= 0) & (p < len(days))], minlength=len(days)) for p in period.values())
        judged = total >= UNKNOWN_ID_MIN_RECORDS
        over = judged & (bad > UNKNOWN_ID_SHARE * total)
        if not over.any():
            continue
        i = int(np.argmax(over))
        start = (pd.Timestamp(edges[i]).date(), days[i].date())
        out.append(f"{name}: from the snapshot of {start[1]} on, most records name a traveller or document the crossings log "
                   f"never held: {bad[i]:,} of the {total[i]:,} on file from {start[0]} to {start[1]} ({bad[i] / total[i]:.0%}), "
                   f"the first snapshot period over {UNKNOWN_ID_SHARE:.0%} ({int(over[i:].sum())} of the {int(judged[i:].sum())} "
                   f"judged from then). Was it pseudonymised with another key from (or until) then? The monitoring model "
                   f"would learn from snapshots on which the source holds nothing on most people. Fix: {_REKEYED_FIX}.")
    return out


def exit_feed_warnings(crossings: pd.DataFrame, as_of: str | pd.Timestamp, *, days: int = 7) -> list[str]:
    """Lines naming the days up to ``as_of`` whose exits fell far below the same weekday's usual: the exit feed down,
    in all or at one port.

    Whoever left on such a day reads as still in the country, and as an overstay once past the permit: names on the
    overstays list that left. :func:`~riskmodel.core.stays.exit_feed_gaps` never judges a log's last week, the one that
    matters for a list of that day. Each of the ``days`` days is judged as the nightly feed's row count is
    (:func:`~riskmodel.core.monitoring.feed.daily_count_checks`, the red tail), on the days before it only: the day's
    exits in all, then each port's (``port``) usually recording 20 exits a day or more over the 4 weeks before the days
    judged (one port's file missing moves the total less than days stray), its days shut by the calendar left out.
    The ``days`` days are also judged together (:func:`~riskmodel.core.monitoring.feed.window_count_check`): a feed at
    half for the week is short on each day and far off on none, and a sum of days strays far less than one day.

    Returns
    -------
    list of str
        One line for the total and one per port whose exits fell, or none: the days (exits recorded, usual range), what
        it does to the lists and the fix.
    """
    from riskmodel.core.monitoring.feed import _MIN_EXPECTED, _closures, daily_count_checks, window_count_check

    day = local_day(as_of)
    exits = crossings.loc[crossings["direction"].astype(str) == "exit"]
    lines = []

    def low_days(times, label, shut=()) -> str:
        checks = pd.DataFrame([*daily_count_checks(times, day, days=days, label=label, shut=shut).to_dict("records"),
                               # the days together: a feed at half for the week is short on each day, far off on none
                               window_count_check(times, day, days=days, label=label, shut=shut)])
        below = [u != "" and n < int(u.split("-")[0]) for n, u in zip(checks["count"], checks["usual"], strict=True)]
        low = checks[(checks["verdict"] == "red").to_numpy() & np.asarray(below, dtype=bool)]
        return ", ".join(f"{c.removeprefix(label + ' on ')} ({n:.0f} recorded; usually {u})"
                         for c, n, u in zip(low["column"], low["count"], low["usual"], strict=True))

    named = low_days(exits["timestamp"], "exits")
    if named:
        lines.append(f"exit feed: far fewer exits than usual on {named}: the exit feed looks down, and whoever left then "
                     "reads as in the country, and as an overstay once past the permit. Fix: re-export the exits of those "
                     "days from the border system before handing out the lists.")
    if "port" not in exits.columns or exits["port"].nunique() < 2:  # one port: its exits are the total
        return lines
    times = pd.to_datetime(exits["timestamp"])
    start = day - pd.Timedelta(days=days + 28 - 1)
    usual_window = (times >= start) & (times < day - pd.Timedelta(days=days - 1))
    shut_days = _closures(start - pd.Timedelta(days=400), day)
    ports = exits["port"].astype(object)
    for port, n in ports[usual_window.to_numpy()].value_counts().sort_index().items():
        if n / 28 < _MIN_EXPECTED:  # a third of fewer is within Poisson noise (as the nightly feed's ports)
            continue
        shut = [d for d, at in shut_days.items() if port in at]
        named = low_days(times[(ports == port).to_numpy()], f"exits at {port}", shut)
        if named:
            lines.append(f"exit feed at {port}: far fewer exits than usual on {named}, the other ports' exits as usual: "
                         f"{port}'s exit records look missing, and whoever left there then reads as in the country, and as "
                         f"an overstay once past the permit. Fix: re-export {port}'s exits of those days from the border "
                         "system before handing out the lists.")
    return lines


def monitor(
    crossings: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    as_of: str | pd.Timestamp,
    *,
    model: RiskModel,
    horizon_days: int = HORIZON_DAYS,
    reasons: int = 3,
    links: SourceLinks | None = None,
) -> MonitorResult:
    """Rescore everyone in the country with what is known on ``as_of``; list overstays and likely overstays per office.

    Parameters
    ----------
    crossings : DataFrame
        The crossings log (later crossings are ignored).
    tables : dict of str to DataFrame
        ``presence_reports``, ``permit_applications``, ``enforcement`` (later records are ignored).
    as_of : str or Timestamp
        The day of the lists.
    model : RiskModel
        A monitoring model (:func:`fit_monitor_model`).
    horizon_days : int, default=14
        List as at risk those whose permit ends within this many days.
    reasons : int, default=3
        Reasons per at-risk row.
    links : SourceLinks, optional
        The sources linked as of the end of ``as_of``
        (:func:`~riskmodel.core.sources.features.link_sources` of the same
        ``crossings`` and ``tables``, which checks them): read as they are,
        neither linked nor checked again. Default: linked here.

    Returns
    -------
    MonitorResult
        With ``warnings`` naming every source of which more than half the records
        (:data:`UNKNOWN_ID_SHARE`), or of those of the last :data:`UNKNOWN_ID_RECENT_DAYS`
        days (a feed re-keyed lately), name a traveller or document the crossings log
        never held: a feed pseudonymised with another key is linked to nobody, and
        the lists read as if it held nothing; the caller must not hand them out as
        they stand (``riskmodel monitor`` refuses them unless ``--allow-unlinked``).

    Raises
    ------
    ConfigError
        If ``horizon_days`` is not an int >= 1, ``as_of`` is after the
        last day of the crossings log (:func:`check_log_covers`), or ``links``
        are not of ``as_of``.
    SchemaError
        If an input does not meet its contract (not checked when ``links`` are given).
    """
    from riskmodel.core.risk.reasons import explain

    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise ConfigError(f"`horizon_days` must be an int >= 1; got {horizon_days!r}.")
    snap, links, stay_counts = _monitoring_snapshot(crossings, tables, as_of, True, links)
    counts = {n: r.counts for n, r in links.items()}
    check_log_covers(crossings, as_of)
    snap["p_overstay"] = model.predict_proba(snap)[:, 1] if len(snap) else np.zeros(0)
    cols = ["office", "stay_id", "traveller_id", "nationality", "visa_type", "entry_time", "permit_end_now"]
    over = snap.loc[snap["overstaying"], cols].copy()
    over["days_overstayed"] = -snap.loc[snap["overstaying"], "days_to_permit_end"].astype(int)
    over = over.sort_values(["office", "days_overstayed", "stay_id"], ascending=[True, False, True]).reset_index(drop=True)
    soon = snap.loc[~snap["overstaying"] & snap["days_to_permit_end"].between(0, horizon_days - 1)]
    risk = soon[cols + ["days_to_permit_end", "p_overstay"]].copy()
    if len(soon):
        why = explain(model, soon, k=reasons)
        risk = risk.join(why[[f"reason_{i}" for i in range(1, reasons + 1)]])
    risk = risk.sort_values(["office", "p_overstay", "stay_id"], ascending=[True, False, True]).reset_index(drop=True)
    # no permit in force on file: `day > NaT` is no overstay and a NaN days_to_permit_end is not at risk, so they are listed here
    unknown = snap["permit_end_now"].isna()
    chase = snap.loc[unknown, cols[:-1]].assign(days_in_country=snap.loc[unknown, "days_in_country"].astype(int))
    chase = chase.sort_values(["office", "days_in_country", "stay_id"], ascending=[True, False, True]).reset_index(drop=True)
    return MonitorResult(overstays=over, at_risk=risk, no_permit_end=chase, snapshot=snap, link_counts=counts, stay_counts=stay_counts,
                         warnings=unknown_id_warnings(counts, recent_link_counts(links, as_of)))
