"""Link source records to the traveller and the stay they belong to.

A record names its traveller directly (``traveller_id``) or only through the
document it shows. Documents are resolved through every pair of (document,
traveller) the service has seen: the crossings log and records that carry
both ids, so a traveller's new passport after a renewal keeps their history
once it has been seen with them. A pair only counts from the time it was
first known (``linked_at``), so point-in-time features never use an identity
learnt later. Likewise a document only becomes ambiguous once it has been seen
with a second traveller: a record naming only that document is linked to the
first traveller from ``linked_at`` until then (``ambiguous_at``), so a document
shared later does not take earlier records out of features as of an earlier day.

The stay is the traveller's stay whose entry day is on or before the record's
event day and whose exit day (if any) is on or after it; on a day the traveller
left and came back, a timed record (an application, an enforcement action) made
before the re-entry belongs to the stay that ended that day. Place names the
province table holds are read in its spelling first ("BADUNG" is Badung:
:func:`~riskmodel.core.sources.contracts.place_names`). Records filed twice
(same traveller, event and content) keep their first filing. An enforcement
record dated before its stay's permit end plus the days of overstay it answers
cannot be right and is not linked.

Nothing is dropped silently: :func:`link_records` returns the unlinked records
with their reason and a count per reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.core.sources.contracts import SOURCE_KEYS, place_names

__all__ = ["LinkResult", "link_records", "document_pairs", "LINK_REASONS"]

#: Why a record was not linked (or was set aside).
LINK_REASONS = {
    "no_ids": "neither a traveller id nor a document number",
    "unknown_document": "document number never seen with a traveller (by then)",
    "ambiguous_document": "document number seen with more than one traveller (by then; linked until then, if at all)",
    "unknown_traveller": "traveller id never seen in the crossings log (by then): mistyped, or pseudonymised with another key",
    "no_stay_at_time": "the traveller was not in the country on the record's day",
    "before_overstay": "enforcement dated before the overstay it answers could have run (its stay's permit end + `overstay_days`)",
    "duplicate": "same record filed again (the first filing is kept)",
}
#: Columns that make two records of a source the same record.
_SAME = {
    "presence_reports": ("stay_from", "regency", "accommodation", "reporter_type"),
    "permit_applications": ("kind", "applied_at", "decision"),
    "enforcement": ("action", "action_at"),
}


@dataclass
class LinkResult:
    """What :func:`link_records` returns.

    Attributes
    ----------
    linked : DataFrame
        Every record linked at some time: the source's columns (place names
        in the province table's spelling where it holds them), ``traveller_id``
        filled in, ``stay_id``, ``linked_at`` (when the link could first be made:
        the later of ``known_at`` and the time the document was first seen with
        the traveller) and ``ambiguous_at`` (when a record naming only its
        document stopped being linked, the document then seen with a second
        traveller; NaT: still linked). A record is linked as of a time ``t`` when
        ``linked_at <= t < ambiguous_at``. A filing again of a record whose earlier
        filing was linked until ``ambiguous_at`` counts from then (its
        ``linked_at``), so the two never count twice at one time.
    unlinked : DataFrame
        The records never linked, with a ``reason`` (a key of :data:`LINK_REASONS`).
    counts : dict of str to int
        As of the end of the data: ``linked`` (``linked`` rows with no
        ``ambiguous_at``) and the number of records per reason, the records
        linked until ``ambiguous_at`` among ``ambiguous_document``.
    """

    linked: pd.DataFrame
    unlinked: pd.DataFrame
    counts: dict[str, int]


def document_pairs(crossings: pd.DataFrame, *tables: pd.DataFrame) -> pd.DataFrame:
    """Every (document, traveller) pair seen, with when it was first seen.

    Parameters
    ----------
    crossings : DataFrame
        The crossings log (``document_id``, ``traveller_id``, ``timestamp``).
    *tables : DataFrame
        Source records (``document_id``, ``traveller_id``, ``known_at``).

    Returns
    -------
    DataFrame
        ``document_id, traveller_id, first_seen, travellers`` (how many
        travellers the document was seen with; more than one is ambiguous).
        A record's pair counts from when both it and its traveller's first
        crossing are on file; one naming a traveller the log never held is no pair.
    """
    log = crossings[["document_id", "traveller_id"]].assign(first_seen=crossings["timestamp"]).astype({"document_id": object, "traveller_id": object})
    # a record's traveller counts once the log holds them: an id the log never held (a typo, another key) is nobody and
    # shares no document with anyone (it made the document ambiguous: every later record naming only it set aside)
    entered = log.dropna(subset=["traveller_id"]).groupby("traveller_id", sort=False)["first_seen"].min()
    parts = [log]
    for t in tables:
        p = t[["document_id", "traveller_id"]].astype({"document_id": object, "traveller_id": object})
        since = p["traveller_id"].map(entered) if len(entered) else pd.Series(pd.NaT, index=p.index)
        parts.append(p.assign(first_seen=np.maximum(t["known_at"], since.astype(t["known_at"].dtype))))
    pairs = pd.concat(parts, ignore_index=True).dropna()
    pairs = pairs.groupby(["document_id", "traveller_id"], sort=False, as_index=False)["first_seen"].min()
    pairs["travellers"] = pairs.groupby("document_id")["traveller_id"].transform("size")
    return pairs


def _times(doc: pd.Series, by_doc: pd.Series, dtype) -> pd.Series:
    """``by_doc`` (times per document) looked up for each record's document; NaT where none."""
    if not len(by_doc):  # an empty mapping would come back as float, not as times
        return pd.Series(pd.NaT, index=doc.index, dtype=dtype)
    return doc.map(by_doc).astype(dtype)


def _resolve(records: pd.DataFrame, pairs: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Traveller of each record, when the link began and ended, and the reason where there never was one.

    A record naming only its document belongs to the first traveller seen with
    it, from when both the record and that pair were known, until a second
    traveller was seen with the document (``ambiguous_at``, NaT when none was);
    a record known only after that, or a document first seen with two travellers
    at once, was never linked.
    """
    tid = records["traveller_id"].astype(object)
    known = records["known_at"]
    doc = records["document_id"].astype(object)
    # per document, in the order its travellers were first seen with it
    ordered = pairs.sort_values("first_seen", kind="stable")
    rank = ordered.groupby("document_id", sort=False).cumcount().to_numpy()
    first = ordered.loc[rank == 0].set_index("document_id")
    via_doc = doc.map(first["traveller_id"])
    seen = _times(doc, first["first_seen"], known.dtype)
    shared = _times(doc, ordered.loc[rank == 1].set_index("document_id")["first_seen"], known.dtype)
    direct = tid.notna()
    traveller = tid.where(direct, via_doc)
    linked_at = known.where(direct, np.maximum(known, seen))
    ambiguous_at = shared.where(~direct)
    reason = pd.Series(None, index=records.index, dtype=object)
    reason[~direct & doc.notna() & via_doc.isna()] = "unknown_document"
    reason[(ambiguous_at <= linked_at).to_numpy()] = "ambiguous_document"
    reason[~direct & doc.isna()] = "no_ids"
    return traveller, linked_at, ambiguous_at, reason


def _stay_of(stays: pd.DataFrame, traveller: pd.Series, day: np.ndarray, time: np.ndarray | None = None) -> np.ndarray:
    """Position in ``stays`` of the stay holding each (traveller, day), or -1.

    With ``time`` (records timed to the minute), a record made on a day the
    traveller left and came back (a visa run) goes to the stay it was made in:
    the earlier one if it was made before the re-entry.
    """
    codes, uniques = pd.factorize(pd.concat([stays["traveller_id"].astype(object), traveller.astype(object)], ignore_index=True))
    s_code, r_code = codes[: len(stays)].astype(np.int64), codes[len(stays):].astype(np.int64)
    entry = stays["entry_time"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    exit_ = stays["exit_time"].to_numpy(dtype="datetime64[D]")
    exit_day = np.where(np.isnat(exit_), np.iinfo(np.int64).max, exit_.astype(np.int64))
    big = np.int64(10**6)
    key = s_code * big + entry
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], r_code * big + day, side="right") - 1
    cand = order[np.maximum(pos, 0)]
    if time is not None:
        prev = order[np.maximum(pos - 1, 0)]
        before_entry = time < stays["entry_time"].to_numpy(dtype="datetime64[us]")[cand].astype(np.int64)
        earlier = (pos >= 1) & (s_code[prev] == s_code[cand]) & (entry[cand] == day) & before_entry & (exit_day[prev] >= day)
        cand = np.where(earlier, prev, cand)
    ok = (pos >= 0) & (r_code >= 0) & (s_code[cand] == r_code) & (exit_day[cand] >= day)
    return np.where(ok, cand, -1)


def _filed_again(linked: pd.DataFrame, same: list[str]) -> pd.Series:
    """Which of ``linked`` (in ``linked_at`` order) are filings again, fully covered by an earlier filing's link.

    A filing whose link outlasts every earlier one's (an earlier filing named only
    a document shared later) is kept; its ``linked_at`` is moved (in place) to
    when the earlier links ended, so no time counts the record twice.
    """
    never = np.iinfo(np.int64).max
    end = pd.Series(np.where(linked["ambiguous_at"].isna(), never, linked["ambiguous_at"].to_numpy(dtype="datetime64[us]").astype(np.int64)),
                    index=linked.index)
    keys = [linked[c].astype(object) for c in same]
    # the latest end of the earlier filings of the same record (-1: none earlier)
    before = end.groupby(keys, sort=False, dropna=False).cummax().groupby(keys, sort=False, dropna=False).shift(fill_value=-1)
    start = linked["linked_at"].to_numpy(dtype="datetime64[us]").astype(np.int64)
    later = (before.to_numpy() > start) & (before.to_numpy() < end.to_numpy())
    linked.loc[later, "linked_at"] = pd.to_datetime(before[later].to_numpy().astype("datetime64[us]")).astype(linked["linked_at"].dtype)
    return before >= end


def _before_overstay(records: pd.DataFrame, stays: pd.DataFrame, pos: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Enforcement records dated before their stay's permit end plus the days of overstay they answer.

    Nobody is charged for, or deported over, days of overstay that have not passed yet: such a record
    names the wrong stay, date or days, and counted as a feature it would tell of an overstay that was not.
    Days count as :func:`~riskmodel.core.stays.build_stays` counts ``overstay_days``, by calendar day: a
    record made on day D answers at most D less the last permitted day (the day it is made counts, a day
    not yet begun does not), so a charge paid at 23:50 cannot count an exit at 00:10 the next day.
    """
    end = stays["final_permit_end"].to_numpy(dtype="datetime64[D]").astype(np.int64)[np.maximum(pos, 0)]
    days = records["overstay_days"].to_numpy(dtype=float, na_value=np.nan)
    return (pos >= 0) & (day < end + days)


def link_records(
    name: str,
    records: pd.DataFrame,
    stays: pd.DataFrame,
    pairs: pd.DataFrame,
) -> LinkResult:
    """Link the records of one source to travellers and stays.

    Parameters
    ----------
    name : {"presence_reports", "permit_applications", "enforcement"}
        The source (its event-time column and what makes two records the same).
    records : DataFrame
        The records, meeting the source's contract.
    stays : DataFrame
        Stays (``stay_id, traveller_id, entry_time, exit_time``, and
        ``final_permit_end`` for enforcement) built from the same crossings
        log, as known at the same time as the records.
    pairs : DataFrame
        Document-traveller pairs from :func:`document_pairs`.

    Returns
    -------
    LinkResult
        Linked records with ``stay_id`` and ``linked_at``; unlinked ones with
        their reason; counts per reason. ``sum(counts.values()) == len(records)``.
        An enforcement record dated before its stay's ``final_permit_end``
        plus its ``overstay_days`` cannot be right: it is unlinked
        (``before_overstay``), never used as a feature.

    Examples
    --------
    >>> import pandas as pd
    >>> stays = pd.DataFrame({"stay_id": ["S1"], "traveller_id": ["T1"], "entry_time": pd.to_datetime(["2020-01-01"]),
    ...                       "exit_time": pd.to_datetime(["2020-01-20"]), "final_permit_end": pd.to_datetime(["2020-01-17"])})
    >>> recs = pd.DataFrame({"record_id": ["E1", "E2"], "traveller_id": [None, "T1"], "document_id": ["D1", None],
    ...                      "action_at": pd.to_datetime(["2020-01-19", "2020-03-01"]), "known_at": pd.to_datetime(["2020-01-19", "2020-03-01"]),
    ...                      "action": ["overstay_charge", "overstay_charge"], "overstay_days": [2, 2]})
    >>> pairs = pd.DataFrame({"document_id": ["D1"], "traveller_id": ["T1"], "first_seen": pd.to_datetime(["2020-01-01"]), "travellers": [1]})
    >>> link_records("enforcement", recs, stays, pairs).counts
    {'linked': 1, 'no_ids': 0, 'unknown_document': 0, 'ambiguous_document': 0, 'unknown_traveller': 0, 'no_stay_at_time': 1, 'before_overstay': 0, 'duplicate': 0}
    """
    if name not in SOURCE_KEYS:
        raise ValueError(f"`name` must be one of {sorted(SOURCE_KEYS)}; got {name!r}.")
    # one place spelt two ways ("BADUNG", "Badung") is one place: for the copies below and every feature after
    records = place_names(name, records)
    traveller, linked_at, ambiguous_at, reason = _resolve(records, pairs)
    event_col = SOURCE_KEYS[name][1]
    day = records[event_col].to_numpy(dtype="datetime64[D]").astype(np.int64)
    # a presence report gives the day a stay at a place began, the others the time of the event
    time = None if name == "presence_reports" else records[event_col].to_numpy(dtype="datetime64[us]").astype(np.int64)
    pos = _stay_of(stays, traveller.where(reason.isna()), day, time)
    # a traveller the log never held is no traveller out of the country: a feed hashed with another key shows here
    unknown = ~traveller.isin(stays["traveller_id"].astype(object)).to_numpy()
    # a document shared by the end of the data: ambiguous now, whatever the stay it had until then
    reason[reason.isna() & (pos < 0) & ambiguous_at.notna()] = "ambiguous_document"
    reason[reason.isna() & (pos < 0) & unknown] = "unknown_traveller"
    reason[reason.isna() & (pos < 0)] = "no_stay_at_time"
    if name == "enforcement":
        reason[reason.isna() & _before_overstay(records, stays, pos, day)] = "before_overstay"
    # the traveller of a record nobody's, by its shared document, is not shown
    shown = traveller.where(reason != "ambiguous_document").to_numpy(dtype=object)
    out = records.assign(traveller_id=shown, linked_at=linked_at, ambiguous_at=ambiguous_at)
    out["stay_id"] = np.where(pos >= 0, stays["stay_id"].to_numpy(dtype=object)[np.maximum(pos, 0)], None)
    ok = reason.isna().to_numpy()
    linked = out.loc[ok].sort_values(["linked_at", SOURCE_KEYS[name][0]], kind="stable")
    dup = _filed_again(linked, ["stay_id", *_SAME[name]])
    unlinked = pd.concat([out.loc[~ok].assign(reason=reason[~ok]), linked.loc[dup].assign(reason="duplicate")])
    linked = linked.loc[~dup].sort_index()
    ended = int(linked["ambiguous_at"].notna().sum())
    counts = {"linked": len(linked) - ended} | {r: int((unlinked["reason"] == r).sum()) + ended * (r == "ambiguous_document") for r in LINK_REASONS}
    return LinkResult(linked=linked.reset_index(drop=True), unlinked=unlinked.drop(columns=["stay_id"]).reset_index(drop=True), counts=counts)
