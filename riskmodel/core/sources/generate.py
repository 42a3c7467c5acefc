"""Synthetic presence reports, permit applications and enforcement records, consistent with a crossings dataset.

:func:`make_sources` takes what :func:`riskmodel.core.synth.make_crossings` made
(crossings, stays and the truth) and draws the three other sources the service
holds, so that they tell the same story:

* **Permit applications.** Every extension that the stay's final permit end
  implies is applied for 3-30 days before the permit in force ends and granted
  before it ends (so the permit in force on any day is known that day). Of the
  travellers who will overstay, two in three also lodge a late application (in the last 30
  days before the end, decided after 5-25 days), which is refused; a few compliant travellers are refused too.
* **Presence reports.** Each stay is a sequence of places (the first one near
  the port of entry, of the declared accommodation type); every place is
  reported by its hotel, host, employer or school, mostly the same day, some
  late, some never. Travellers who will overstay move more, report less, more
  often from a place unlike the one they declared: half as many of their places
  are reported, a quarter of those they move to in the 60 days before their permit ends.
* **Enforcement.** Every exit after the permit ended brings an overstay charge
  (Rp 1,000,000 a day) for under 60 days, deportation and an entry ban from 60 days.

Records are then spoilt as real extracts are: some filed twice, some late; presence
reports (filed by third parties) some without a traveller id (linkable through the
document), with a mistyped document number, or without any id,
and some travellers renew their passport, so that later records carry a new
document number (the returned ``crossings`` carry it too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.core.features import EXTENSION_ROOM_DAYS
from riskmodel.core.reference import PORTS
from riskmodel.core.sources.contracts import DEPORTATION_DAYS, OVERSTAY_CHARGE_IDR, REGENCIES, SOURCE_KEYS

__all__ = ["SourceData", "make_sources", "OVERSTAY_CHARGE_IDR", "DEPORTATION_DAYS", "BAN_DAYS"]

#: Length of the entry ban the synthetic generator applies after a deportation.
BAN_DAYS = 365
_STEP = {"voa": 30, "c1_visit": 60}
_DAY = pd.Timedelta(days=1)
_REPORTER = {"hotel": "hotel", "rental": "host", "friends_family": "host", "employer": "employer", "dormitory": "school"}
_PROVINCES = tuple(REGENCIES)


@dataclass
class SourceData:
    """The four sources of one synthetic population and the truth behind them.

    Attributes
    ----------
    crossings : DataFrame
        The crossings log, with renewed document numbers after a passport renewal.
    presence_reports, permit_applications, enforcement : DataFrame
        The sources, meeting their contracts (:mod:`riskmodel.core.sources.contracts`).
    truth : DataFrame
        Per stay: ``stay_id, traveller_id, true_final_permit_end`` (after every
        extension, also for stays not ended by the end of the data),
        ``p_overstay`` and ``will_overstay`` (from the crossings' truth).
    as_of : Timestamp
        Last day of the data; no record is known after it.
    """

    crossings: pd.DataFrame
    presence_reports: pd.DataFrame
    permit_applications: pd.DataFrame
    enforcement: pd.DataFrame
    truth: pd.DataFrame
    as_of: pd.Timestamp

    def tables(self) -> dict[str, pd.DataFrame]:
        """The three new sources by name."""
        return {"presence_reports": self.presence_reports, "permit_applications": self.permit_applications,
                "enforcement": self.enforcement}


def _stay_frame(data) -> pd.DataFrame:
    """Stays with the truth, the province of entry and the days each stay is in the country by the end of data."""
    s = data.stays.merge(data.truth[["stay_id", "p_overstay", "will_overstay"]], on="stay_id", how="left")
    prov = dict(zip(PORTS["port"], PORTS["province"], strict=True))
    s["province"] = s["entry_port"].astype(object).map(prov).fillna("other provinces").astype(object)
    end = pd.Timestamp(data.as_of).normalize()
    s["entry_day"] = s["entry_time"].dt.normalize()
    s["last_day"] = s["exit_time"].dt.normalize().fillna(end).clip(upper=end)
    return s.reset_index(drop=True)


def _true_final_end(s: pd.DataFrame, end: pd.Timestamp, rng: np.random.Generator) -> np.ndarray:
    """The last permitted day after every extension.

    Known from the exit record where the stay ended; otherwise drawn as the
    generator would: a compliant stay is extended (in steps, within the visa's
    room) at least until the end of the data, since it has not left yet; a stay
    that will overstay gets the extensions its declared stay asks for.
    """
    permit = s["permit_end"].to_numpy(dtype="datetime64[s]")
    final = s["final_permit_end"].to_numpy(dtype="datetime64[s]")
    open_ = s["exit_time"].isna().to_numpy()
    visa = s["visa_type"].astype(object).to_numpy()
    base = (permit - s["entry_day"].to_numpy(dtype="datetime64[s]")).astype("timedelta64[D]").astype(float) + 1
    step = np.array([_STEP.get(v, 0) for v in visa], float)
    step = np.where(visa == "itas", base, step)
    room = np.array([EXTENSION_ROOM_DAYS.get(v, 0) or 0 for v in visa], float)
    room = np.where(visa == "itas", base, room)
    max_k = np.where(step > 0, np.floor(room / np.maximum(step, 1)), 0)
    end_days = (np.datetime64(end.date(), "s") - permit).astype("timedelta64[D]").astype(float)
    k_compliant = np.ceil(np.maximum(end_days, 0) / np.maximum(step, 1))
    planned = s["planned_stay_days"].to_numpy(dtype=float, na_value=0.0)
    k_over = np.ceil(np.maximum(planned - base, 0) / np.maximum(step, 1)) * (rng.random(len(s)) < 0.85)
    k = np.minimum(np.where(s["will_overstay"].to_numpy(dtype=bool), k_over, k_compliant), max_k)
    drawn = permit + (k * step).astype("timedelta64[D]")
    return np.where(open_, drawn, final).astype("datetime64[s]")


def _hours(rng: np.random.Generator, n: int, lo: float = 7, hi: float = 20) -> np.ndarray:
    return (rng.uniform(lo, hi, n) * 3600).astype("timedelta64[s]")


def _extensions(s: pd.DataFrame, final: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """One granted application per extension step, decided before the permit in force ends."""
    permit = s["permit_end"].to_numpy(dtype="datetime64[s]")
    ext_days = (final - permit).astype("timedelta64[D]").astype(np.int64)
    visa = s["visa_type"].astype(object).to_numpy()
    entry_days = (permit - s["entry_day"].to_numpy(dtype="datetime64[s]")).astype("timedelta64[D]").astype(np.int64) + 1
    step = np.where(visa == "itas", entry_days, np.array([_STEP.get(v, 1) for v in visa], np.int64))
    n_steps = np.where(ext_days > 0, np.ceil(ext_days / np.maximum(step, 1)).astype(np.int64), 0)
    row = np.repeat(np.arange(len(s)), n_steps)
    k = np.arange(len(row)) - np.repeat(np.cumsum(n_steps) - n_steps, n_steps)
    cur_end = permit[row] + (k * step[row]).astype("timedelta64[D]")
    new_end = np.minimum(cur_end + step[row].astype("timedelta64[D]"), final[row])
    entry = s["entry_time"].to_numpy(dtype="datetime64[s]")[row]
    lead = rng.integers(3, 31, len(row)).astype("timedelta64[D]")
    applied = np.maximum(cur_end - lead + _hours(rng, len(row)), entry + np.timedelta64(3600, "s"))
    # granted before the permit in force ends: the permit of any day is known that day
    decided = np.minimum(applied + rng.integers(1, 8, len(row)).astype("timedelta64[D]"), cur_end + np.timedelta64(20 * 3600, "s"))
    decided = np.maximum(decided, applied + np.timedelta64(3600, "s"))
    return pd.DataFrame({"_row": row, "kind": "extension", "applied_at": applied, "decided_at": decided,
                         "decision": "granted", "new_permit_end": new_end})


def _refusals(s: pd.DataFrame, final: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Late applications of travellers who will overstay (refused), and a few refusals of compliant ones."""
    over = s["will_overstay"].to_numpy(dtype=bool)
    entry = s["entry_time"].to_numpy(dtype="datetime64[s]")
    last = s["last_day"].to_numpy(dtype="datetime64[s]") + np.timedelta64(20 * 3600, "s")
    late = over & (rng.random(len(s)) < 0.65)
    early = ~over & (rng.random(len(s)) < 0.02) & (s["visa_type"].astype(object).isin(("voa", "c1_visit", "itas")).to_numpy())
    applied = np.where(late, final - rng.integers(0, 31, len(s)).astype("timedelta64[D]"),
                       final - rng.integers(10, 40, len(s)).astype("timedelta64[D]")) + _hours(rng, len(s))
    applied = np.maximum(applied, entry + np.timedelta64(3600, "s"))
    keep = (late | early) & (applied < last)
    row = np.flatnonzero(keep)
    kind = np.where(rng.random(len(row)) < 0.3, "conversion", "extension")
    decided = applied[row] + np.where(late[row], rng.integers(5, 26, len(row)), rng.integers(2, 15, len(row))).astype("timedelta64[D]")
    return pd.DataFrame({"_row": row, "kind": kind, "applied_at": applied[row], "decided_at": decided,
                         "decision": "refused", "new_permit_end": np.datetime64("NaT", "s")})


def _office(s: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A regency in the stay's province of entry (any province for the BPS "other" ports)."""
    prov = s["province"].to_numpy(dtype=object)[rows]
    prov = np.where(np.isin(prov, _PROVINCES), prov, np.asarray(_PROVINCES, dtype=object)[rng.integers(0, len(_PROVINCES), len(rows))])
    return np.array([REGENCIES[p][i % len(REGENCIES[p])] for p, i in zip(prov, rng.integers(0, 60, len(rows)), strict=True)], dtype=object)


def _permit_applications(s: pd.DataFrame, final: np.ndarray, end: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    apps = pd.concat([_extensions(s, final, rng), _refusals(s, final, rng)], ignore_index=True)
    apps = apps.sort_values(["applied_at", "_row"], kind="stable").reset_index(drop=True)
    horizon = np.datetime64((end + _DAY).date(), "s")
    apps = apps.loc[apps["applied_at"].to_numpy(dtype="datetime64[s]") < horizon].reset_index(drop=True)
    pending = apps["decided_at"].to_numpy(dtype="datetime64[s]") >= horizon
    apps.loc[pending, "decision"] = "pending"
    apps["decided_at"] = apps["decided_at"].where(~pending)
    apps["new_permit_end"] = apps["new_permit_end"].where(~pending)
    apps["known_at"] = apps["decided_at"].fillna(apps["applied_at"])
    apps["regency"] = _office(s, apps["_row"].to_numpy(), rng)
    return apps


def _places(s: pd.DataFrame, final: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Where each stay is spent: one row per place, with the day the traveller moved in (offset from entry)."""
    over = s["will_overstay"].to_numpy(dtype=bool)
    entry = s["entry_day"].to_numpy(dtype="datetime64[D]")
    width = (s["last_day"].to_numpy(dtype="datetime64[D]") - entry).astype(np.int64) + 1
    moves = rng.poisson(np.where(over, 0.35, 0.06) * width / 30.0)
    # before the permit ends, travellers who will overstay move again (1-4 times in its last 60 days)
    to_end = (final.astype("datetime64[D]") - entry).astype(np.int64)
    pre_lo, pre_hi = np.clip(to_end - 60, 0, width - 1), np.clip(to_end, 0, width - 1)
    pre = np.where(over & (pre_hi > pre_lo), 1 + rng.poisson(1.5, len(s)), 0)
    n = 1 + moves + pre
    row = np.repeat(np.arange(len(s)), n)
    k = np.arange(len(row)) - np.repeat(np.cumsum(n) - n, n)
    u = rng.random(len(row))
    in_pre = k > moves[row]
    offset = np.where(in_pre, pre_lo[row] + np.floor(u * (pre_hi - pre_lo + 1)[row]), np.floor(u * width[row]))
    offset = np.where(k == 0, 0, offset).astype(np.int64)
    return pd.DataFrame({"_row": row, "_k": k, "_offset": offset, "_pre": in_pre})


def _place_details(s: pd.DataFrame, places: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Kind and region of each place: the first of the declared kind (mostly), later ones anywhere."""
    row, first = places["_row"].to_numpy(), places["_k"].to_numpy() == 0
    over = s["will_overstay"].to_numpy(dtype=bool)[row]
    n = len(row)
    declared = s["accommodation"].astype(object).to_numpy()[row]
    study = s["purpose"].astype(object).to_numpy()[row] == "study"
    declared = np.where(declared == "none_declared", np.where(rng.random(n) < 0.5, "rental", "friends_family"), declared)
    declared = np.where(study & (rng.random(n) < 0.5), "dormitory", declared)
    other = np.array(["rental", "hotel", "friends_family", "employer"], dtype=object)[
        np.searchsorted([0.4, 0.7, 0.95], rng.random(n), side="right")]
    unlike = rng.random(n) < np.where(over, 0.4, 0.06)
    accom = np.where(first & ~unlike, declared, other)
    office = _office(s, row, rng)
    regency_of = {r: p for p, rs in REGENCIES.items() for r in rs}
    same_prov = rng.random(n) < 0.75
    # a later place is in the province of the first one three times in four
    first_office = pd.Series(office).where(first).ffill().to_numpy(dtype=object)
    prov = np.array([regency_of[r] for r in first_office], dtype=object)
    anywhere = np.asarray(_PROVINCES, dtype=object)[rng.integers(0, len(_PROVINCES), n)]
    prov = np.where(first | same_prov, prov, anywhere)
    regency = np.array([REGENCIES[p][i % len(REGENCIES[p])] for p, i in zip(prov, rng.integers(0, 60, n), strict=True)], dtype=object)
    places = places.assign(accommodation=accom, province=prov, regency=np.where(first, first_office, regency))
    places["reporter_type"] = places["accommodation"].map(_REPORTER)
    return places


def _presence_reports(s: pd.DataFrame, final: np.ndarray, end: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    places = _place_details(s, _places(s, final, rng), rng)
    row = places["_row"].to_numpy()
    over = s["will_overstay"].to_numpy(dtype=bool)[row]
    p_file = places["accommodation"].map({"hotel": 0.97, "rental": 0.8, "friends_family": 0.6, "employer": 0.95, "dormitory": 0.95})
    p_file = p_file.to_numpy(float) * np.where(over, 0.5, 1.0) * np.where(places["_pre"].to_numpy(), 0.5, 1.0)
    filed = rng.random(len(row)) < p_file
    places = places.loc[filed].reset_index(drop=True)
    row = places["_row"].to_numpy()
    stay_from = s["entry_day"].to_numpy(dtype="datetime64[s]")[row] + places["_offset"].to_numpy().astype("timedelta64[D]")
    late = np.where(rng.random(len(row)) < 0.7, 0, 1 + rng.geometric(0.25, len(row)))
    known = stay_from + late.astype("timedelta64[D]") + _hours(rng, len(row), 9, 23)
    places = places.assign(stay_from=stay_from, known_at=known)
    horizon = np.datetime64((end + _DAY).date(), "s")
    return places.loc[places["known_at"].to_numpy(dtype="datetime64[s]") < horizon].reset_index(drop=True)


def _enforcement(s: pd.DataFrame, end: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """A charge at exit for an overstay under 60 days; deportation and an entry ban from 60 days."""
    days = s["overstay_days"].to_numpy(dtype=float, na_value=0.0)
    left = s["exit_time"].notna().to_numpy() & (days > 0)
    row = np.flatnonzero(left)
    d = days[row].astype(np.int64)
    at = s["exit_time"].to_numpy(dtype="datetime64[s]")[row] - np.timedelta64(3600, "s")
    deport = d >= DEPORTATION_DAYS
    charge = pd.DataFrame({"_row": row, "action": np.where(deport, "deportation", "overstay_charge"), "action_at": at,
                           "overstay_days": d, "amount_idr": np.where(deport, np.nan, d * float(OVERSTAY_CHARGE_IDR))})
    ban = charge.loc[deport].assign(action="entry_ban", amount_idr=np.nan)
    ban["ban_until"] = ban["action_at"].dt.normalize() + pd.Timedelta(days=BAN_DAYS)
    out = pd.concat([charge, ban], ignore_index=True)
    late = np.where(rng.random(len(out)) < 0.8, rng.integers(0, 3, len(out)), rng.integers(3, 45, len(out)))
    out["known_at"] = out["action_at"] + pd.to_timedelta(late, unit="D")
    horizon = (end + _DAY)
    return out.loc[out["known_at"] < horizon].sort_values(["action_at", "_row", "action"], kind="stable").reset_index(drop=True)


def _renewals(crossings: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """Travellers who renew their passport, with the day and the new (pseudonymised) number."""
    first = crossings.drop_duplicates("traveller_id")
    first = first.loc[first["document_type"].astype(object) == "passport"]
    pick = first.loc[rng.random(len(first)) < 0.04, ["traveller_id"]].reset_index(drop=True)
    span = max((end - start).days, 1)
    pick["renewed_on"] = start + pd.to_timedelta(rng.integers(0, span, len(pick)), unit="D")
    pick["new_document_id"] = [f"N{i:08d}" for i in rng.permutation(10_000_000)[: len(pick)]]
    return pick


def _documents(travellers: np.ndarray, at: np.ndarray, old: dict, renewals: pd.DataFrame) -> np.ndarray:
    """The document each traveller held at each time."""
    doc = pd.Series(travellers, dtype=object).map(old).to_numpy(dtype=object)
    r = renewals.set_index("traveller_id")
    when = pd.Series(travellers, dtype=object).map(r["renewed_on"]).to_numpy(dtype="datetime64[s]")
    renewed = ~np.isnat(when) & (at >= when)
    doc[renewed] = pd.Series(travellers[renewed], dtype=object).map(r["new_document_id"]).to_numpy(dtype=object)
    return doc


def _spoil(df: pd.DataFrame, name: str, rng: np.random.Generator, rates: tuple[float, float, float]) -> pd.DataFrame:
    """Duplicate some records, drop the traveller id of some and every id of a few; number them."""
    dup_rate, no_traveller, no_ids, garble = rates
    dups = df.loc[rng.random(len(df)) < dup_rate].copy()
    dups["known_at"] = dups["known_at"] + pd.to_timedelta(rng.integers(0, 3 * 86400, len(dups)), unit="s")
    df = pd.concat([df, dups], ignore_index=True)
    u = rng.random(len(df))
    df.loc[u < no_traveller + no_ids, "traveller_id"] = None
    df.loc[u < no_ids, "document_id"] = None
    garbled = df["traveller_id"].isna().to_numpy() & df["document_id"].notna().to_numpy() & (rng.random(len(df)) < garble)
    df.loc[garbled, "document_id"] = [f"G{i:08d}" for i in rng.integers(0, 10**8, int(garbled.sum()))]
    df = df.sort_values("known_at", kind="stable").reset_index(drop=True)
    id_col = SOURCE_KEYS[name][0]
    prefix = {"presence_reports": "P", "permit_applications": "A", "enforcement": "E"}[name]
    df.insert(0, id_col, [f"{prefix}{i:09d}" for i in range(len(df))])
    return df


def _finish(df: pd.DataFrame, name: str, columns, s: pd.DataFrame, event_col: str, docs: tuple) -> pd.DataFrame:
    """Ids from the stay, dtypes of the contract, contract column order."""
    old, renewals, rng = docs
    row = df["_row"].to_numpy()
    travellers = s["traveller_id"].to_numpy(dtype=object)[row]
    df = df.assign(traveller_id=travellers,
                   document_id=_documents(travellers, df[event_col].to_numpy(dtype="datetime64[s]"), old, renewals))
    # third parties (hotels, hosts) leave ids out or mistype them; the service's own permit and
    # enforcement systems always hold the traveller id, but file some records twice
    df = _spoil(df, name, rng, {"presence_reports": (0.03, 0.06, 0.01, 0.05), "permit_applications": (0.01, 0.0, 0.0, 0.0),
                                "enforcement": (0.02, 0.0, 0.0, 0.0)}[name])
    out = pd.DataFrame(index=df.index)
    for c in columns:
        v = df[c.name] if c.name in df.columns else pd.Series(np.nan, index=df.index)
        if c.kind == "datetime":
            out[c.name] = pd.to_datetime(v).astype("datetime64[us]")
        elif c.kind == "int":
            out[c.name] = pd.array(v.to_numpy(dtype=float, na_value=np.nan).round(), dtype="Int64")
        else:
            out[c.name] = v.astype("str") if pd.__version__ >= "3" else v.astype(object)
            out.loc[v.isna().to_numpy(), c.name] = None
    return out


def make_sources(data, *, seed: int = 0) -> SourceData:
    """Presence reports, permit applications and enforcement records for a synthetic crossings dataset.

    Parameters
    ----------
    data : Dataset
        What :func:`riskmodel.core.synth.make_crossings` returned.
    seed : int, default=0
        Same dataset and seed, same sources.

    Returns
    -------
    SourceData
        The three sources (each meeting its contract), the crossings with
        renewed document numbers, and the truth per stay.

    Examples
    --------
    >>> from riskmodel.core.datasets import make_crossings
    >>> data = make_crossings(300, "2019-01-01", "2019-12-31", seed=3)
    >>> src = make_sources(data, seed=3)
    >>> sorted(src.tables())
    ['enforcement', 'permit_applications', 'presence_reports']
    """
    from riskmodel.core.sources.contracts import ENFORCEMENT, PERMIT_APPLICATIONS, PRESENCE_REPORTS

    rng = np.random.default_rng(seed)
    end = pd.Timestamp(data.as_of).normalize()
    s = _stay_frame(data)
    final = _true_final_end(s, end, rng)
    start = data.crossings["timestamp"].min().normalize()
    renewals = _renewals(data.crossings, start, end, rng)
    old = dict(zip(data.crossings["traveller_id"], data.crossings["document_id"], strict=True))
    crossings = data.crossings.copy()
    doc = _documents(crossings["traveller_id"].to_numpy(dtype=object), crossings["timestamp"].to_numpy(dtype="datetime64[s]"), old, renewals)
    crossings["document_id"] = pd.Series(doc, index=crossings.index).astype(crossings["document_id"].dtype)
    docs = (old, renewals, rng)
    apps = _finish(_permit_applications(s, final, end, rng), "permit_applications", PERMIT_APPLICATIONS, s, "applied_at", docs)
    reports = _finish(_presence_reports(s, final, end, rng), "presence_reports", PRESENCE_REPORTS, s, "stay_from", docs)
    enforcement = _finish(_enforcement(s, end, rng), "enforcement", ENFORCEMENT, s, "action_at", docs)
    truth = pd.DataFrame({"stay_id": s["stay_id"], "traveller_id": s["traveller_id"],
                          "true_final_permit_end": pd.Series(final).astype("datetime64[us]"),
                          "p_overstay": s["p_overstay"], "will_overstay": s["will_overstay"].astype(bool)})
    return SourceData(crossings=crossings, presence_reports=reports, permit_applications=apps, enforcement=enforcement,
                      truth=truth, as_of=end)
