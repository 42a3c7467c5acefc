"""Link source records to the traveller and the stay they belong to.

A record names its traveller directly (``traveller_id``) or only through the
document it shows. Documents are resolved through every pair of (document,
traveller) the service has seen: the crossings log and records that carry
both ids, so a traveller's new passport after a renewal keeps their history
once it has been seen with them. A pair only counts from the time it was
first known (``linked_at``), so point-in-time features never use an identity
learnt later.

The stay is the traveller's stay whose entry day is on or before the record's
event day and whose exit day (if any) is on or after it; on a day the traveller
left and came back, a timed record (an application, an enforcement action) made
before the re-entry belongs to the stay that ended that day. Records filed twice
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

from riskmodel.core.sources.contracts import SOURCE_KEYS

__all__ = ["LinkResult", "link_records", "document_pairs", "LINK_REASONS"]

#: Why a record was not linked (or was set aside).
LINK_REASONS = {
    "no_ids": "neither a traveller id nor a document number",
    "unknown_document": "document number never seen with a traveller (by then)",
    "ambiguous_document": "document number seen with more than one traveller",
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
        The linked records: the source's columns, ``traveller_id`` filled in,
        ``stay_id`` and ``linked_at`` (when the link could first be made: the
        later of ``known_at`` and the time the document was first seen with the
        traveller).
    unlinked : DataFrame
        The other records with a ``reason`` (a key of :data:`LINK_REASONS`).
    counts : dict of str to int
        ``linked`` and the number of records per reason.
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
    """
    parts = [crossings[["document_id", "traveller_id"]].assign(first_seen=crossings["timestamp"])]
    parts += [t[["document_id", "traveller_id"]].assign(first_seen=t["known_at"]) for t in tables]
    pairs = pd.concat([p.astype({"document_id": object, "traveller_id": object}) for p in parts], ignore_index=True).dropna()
    pairs = pairs.groupby(["document_id", "traveller_id"], sort=False, as_index=False)["first_seen"].min()
    pairs["travellers"] = pairs.groupby("document_id")["traveller_id"].transform("size")
    return pairs


def _resolve(records: pd.DataFrame, pairs: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Traveller of each record, when that was knowable, and the reason where it was not."""
    tid = records["traveller_id"].astype(object)
    known = records["known_at"]
    one = pairs.loc[pairs["travellers"] == 1].set_index("document_id")
    doc = records["document_id"].astype(object)
    via_doc = doc.map(one["traveller_id"])
    # an empty mapping would come back as float, not as times
    seen = doc.map(one["first_seen"]) if len(one) else pd.Series(pd.NaT, index=records.index, dtype=known.dtype)
    direct = tid.notna()
    traveller = tid.where(direct, via_doc)
    linked_at = known.where(direct, np.maximum(known, seen.astype(known.dtype)))
    reason = pd.Series(None, index=records.index, dtype=object)
    ambiguous = doc.isin(pairs.loc[pairs["travellers"] > 1, "document_id"])
    reason[~direct & doc.notna() & via_doc.isna()] = "unknown_document"
    reason[~direct & ambiguous] = "ambiguous_document"
    reason[~direct & doc.isna()] = "no_ids"
    return traveller, linked_at, reason


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


def _before_overstay(records: pd.DataFrame, stays: pd.DataFrame, pos: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Enforcement records dated before their stay's permit end plus the days of overstay they answer.

    Nobody is charged for, or deported over, days of overstay that have not passed yet: such a record
    names the wrong stay, date or days, and counted as a feature it would tell of an overstay that was not.
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
    traveller, linked_at, reason = _resolve(records, pairs)
    event_col = SOURCE_KEYS[name][1]
    day = records[event_col].to_numpy(dtype="datetime64[D]").astype(np.int64)
    # a presence report gives the day a stay at a place began, the others the time of the event
    time = None if name == "presence_reports" else records[event_col].to_numpy(dtype="datetime64[us]").astype(np.int64)
    pos = _stay_of(stays, traveller.where(reason.isna()), day, time)
    # a traveller the log never held is no traveller out of the country: a feed hashed with another key shows here
    unknown = ~traveller.isin(stays["traveller_id"].astype(object)).to_numpy()
    reason[reason.isna() & (pos < 0) & unknown] = "unknown_traveller"
    reason[reason.isna() & (pos < 0)] = "no_stay_at_time"
    if name == "enforcement":
        reason[reason.isna() & _before_overstay(records, stays, pos, day)] = "before_overstay"
    out = records.assign(traveller_id=traveller.to_numpy(dtype=object), linked_at=linked_at)
    out["stay_id"] = np.where(pos >= 0, stays["stay_id"].to_numpy(dtype=object)[np.maximum(pos, 0)], None)
    ok = reason.isna().to_numpy()
    linked = out.loc[ok].sort_values(["linked_at", SOURCE_KEYS[name][0]], kind="stable")
    dup = linked.duplicated(["stay_id", *_SAME[name]], keep="first")
    unlinked = pd.concat([out.loc[~ok].assign(reason=reason[~ok]), linked.loc[dup].assign(reason="duplicate")])
    linked = linked.loc[~dup].sort_index()
    counts = {"linked": int(len(linked))} | {r: int((unlinked["reason"] == r).sum()) for r in LINK_REASONS}
    return LinkResult(linked=linked.reset_index(drop=True), unlinked=unlinked.drop(columns=["stay_id"]).reset_index(drop=True), counts=counts)
