"""The data contracts of the three sources held next to the crossings log.

**Presence reports** (:data:`PRESENCE_REPORTS`): one row per report that a
hotel, host, employer or school files on a foreigner staying with them (the
foreigner-monitoring application, APOA). Reports arrive late, twice, or not at
all, and some carry no usable id.

**Permit applications** (:data:`PERMIT_APPLICATIONS`): one row per application
to extend a stay permit or convert it to another, with its decision.

**Enforcement** (:data:`ENFORCEMENT`): one row per overstay charge paid,
deportation or entry ban.

Every record has a ``known_at`` column: when the service first held it. That is
the only time point-in-time features may compare with an entry or an as-of date,
and the watermark of incremental database reads. The README tables are generated
from these declarations (:func:`riskmodel.core.schema.contract_markdown`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.schema import MAX_PERMIT_YEARS, Column, _check_columns, _duplicates, _id_checks, _ids, _not_a_table

__all__ = [
    "PRESENCE_REPORTS",
    "PERMIT_APPLICATIONS",
    "ENFORCEMENT",
    "SOURCES",
    "SOURCE_KEYS",
    "REPORTED_ACCOMMODATIONS",
    "REPORTER_TYPES",
    "APPLICATION_KINDS",
    "DECISIONS",
    "ENFORCEMENT_ACTIONS",
    "REGENCIES",
    "OVERSTAY_CHARGE_IDR",
    "DEPORTATION_DAYS",
    "MAX_BAN_YEARS",
    "check_source",
    "validate_source",
    "place_names",
]

REPORTED_ACCOMMODATIONS = ("hotel", "rental", "friends_family", "employer", "dormitory")
REPORTER_TYPES = ("hotel", "host", "employer", "school")
APPLICATION_KINDS = ("extension", "conversion")
DECISIONS = ("granted", "refused", "pending")
ENFORCEMENT_ACTIONS = ("overstay_charge", "deportation", "entry_ban")
#: Charge per day of overstay (DESIGN.md: Rp 1,000,000 a day): an overstay charge is ``overstay_days`` times this.
OVERSTAY_CHARGE_IDR = 1_000_000
#: Overstays of this many days or more are not charged: they end in deportation and an entry ban. DESIGN.md
#: charges "under 60 days" and deports "over 60 days"; exactly 60 is not under 60, so it is no charge.
DEPORTATION_DAYS = 60

#: Regencies and cities where foreigners are reported, per province (a province's capital first).
REGENCIES: dict[str, tuple[str, ...]] = {
    "Bali": ("Denpasar", "Badung", "Gianyar", "Tabanan", "Buleleng", "Karangasem"),
    "DKI Jakarta": ("Jakarta Selatan", "Jakarta Pusat", "Jakarta Barat", "Jakarta Utara", "Jakarta Timur"),
    "Kepulauan Riau": ("Batam", "Tanjung Pinang", "Bintan", "Karimun"),
    "Jawa Timur": ("Surabaya", "Malang", "Sidoarjo"),
    "Sumatera Utara": ("Medan", "Deli Serdang", "Toba"),
    "Jawa Barat": ("Bandung", "Bogor", "Bekasi"),
    "DI Yogyakarta": ("Yogyakarta", "Sleman"),
    "Sulawesi Utara": ("Manado", "Minahasa Utara"),
    "Papua": ("Jayapura", "Keerom"),
    "Nusa Tenggara Barat": ("Mataram", "Lombok Utara", "Lombok Tengah"),
    "Nusa Tenggara Timur": ("Belu", "Kupang"),
    "Sumatera Barat": ("Padang", "Bukittinggi"),
    "Riau": ("Pekanbaru", "Dumai"),
    "Aceh": ("Banda Aceh", "Sabang"),
    "Jawa Tengah": ("Semarang", "Surakarta"),
    "Kalimantan Barat": ("Pontianak", "Sanggau", "Kapuas Hulu"),
    "Sulawesi Selatan": ("Makassar", "Gowa"),
    "Sumatera Selatan": ("Palembang",),
}

PRESENCE_REPORTS: tuple[Column, ...] = (
    Column("report_id", "id", "Unique id of the report as filed (a re-filed report gets a new id)."),
    Column("traveller_id", "id", "Pseudonymised traveller id, as on the crossings log; missing when the reporter did not give it.", nullable="yes"),
    Column("document_id", "id", "Pseudonymised document number the reporter saw (a renewed passport gives a new one).", nullable="yes"),
    Column("stay_from", "datetime", "Day the foreigner began staying at this place."),
    Column("known_at", "datetime", "When the report was filed: reports may be days late."),
    Column("province", "text", "Province of the place; one `REGENCIES` holds is read in its spelling there (case and spacing aside)."),
    Column("regency", "text", "Regency or city of the place (its immigration office's area); one `REGENCIES` holds must be in its province there, and is read in its spelling there."),
    Column("accommodation", "enum", "Kind of place.", values=REPORTED_ACCOMMODATIONS),
    Column("reporter_type", "enum", "Who filed the report.", values=REPORTER_TYPES),
)

PERMIT_APPLICATIONS: tuple[Column, ...] = (
    Column("application_id", "id", "Unique id of the application."),
    Column("traveller_id", "id", "Pseudonymised traveller id; missing on some paper applications.", nullable="yes"),
    Column("document_id", "id", "Pseudonymised document number on the application.", nullable="yes"),
    Column("kind", "enum", "`extension` of the current permit or `conversion` to another permit.", values=APPLICATION_KINDS),
    Column("applied_at", "datetime", "When the application was lodged."),
    Column("decided_at", "datetime", "When it was decided; missing while pending.", nullable="yes"),
    Column("known_at", "datetime", "When the record was last updated: the decision time, or the application time while pending."),
    Column("decision", "enum", "Outcome as of `known_at`.", values=DECISIONS),
    Column("new_permit_end", "datetime", "Last permitted day after a granted application; missing otherwise.", nullable="yes"),
    Column("regency", "text", "Regency or city of the immigration office that handled it; one `REGENCIES` holds (in any province) is read in its spelling there, another is kept as given."),
)

ENFORCEMENT: tuple[Column, ...] = (
    Column("record_id", "id", "Unique id of the enforcement record."),
    Column("traveller_id", "id", "Pseudonymised traveller id.", nullable="yes"),
    Column("document_id", "id", "Pseudonymised document number.", nullable="yes"),
    Column("action", "enum", "Overstay charge paid (for under 60 days of overstay: 60 or more end in deportation and an entry ban), deportation, or entry ban.",
           values=ENFORCEMENT_ACTIONS),
    Column("action_at", "datetime", "When the charge was paid, the deportation carried out or the ban imposed."),
    Column("known_at", "datetime", "When the record reached the service's database."),
    Column("overstay_days", "int", "Days overstayed that the action answers."),
    Column("amount_idr", "int", "Overstay charge paid, in rupiah (Rp 1,000,000 a day); missing for other actions.", nullable="yes"),
    Column("ban_until", "datetime", "Last day of an entry ban, at most 20 years after `action_at`; missing for a ban without end and for other actions.",
           nullable="yes"),
)

#: Contract, id column and event-time column of each source, by name.
SOURCES: dict[str, tuple[Column, ...]] = {
    "presence_reports": PRESENCE_REPORTS,
    "permit_applications": PERMIT_APPLICATIONS,
    "enforcement": ENFORCEMENT,
}
SOURCE_KEYS: dict[str, tuple[str, str]] = {
    "presence_reports": ("report_id", "stay_from"),
    "permit_applications": ("application_id", "applied_at"),
    "enforcement": ("record_id", "action_at"),
}


#: Longest an entry ban may run after it is imposed, in years. DESIGN.md gives no legal maximum, so this is a
#: plausible bound, not the law's: twenty years, as for permits and twenty times the one-year ban the generator
#: imposes, so that only a placeholder for "no end" (2099-12-31, 9999-12-31) or a mistyped century is refused.
MAX_BAN_YEARS = 20


def _order_check(df: pd.DataFrame, id_col: str, usable: set[str], early: str, late: str, fix: str) -> list[SchemaProblem]:
    """Rows where ``late`` comes before ``early``."""
    if not {early, late} <= usable:
        return []
    bad = (df[late] < df[early]).to_numpy(dtype=bool, na_value=False)
    ids, n = _ids(df, id_col, bad)
    return [SchemaProblem(late, f"before `{early}`", fix, ids, n)] if n else []


def _where(df: pd.DataFrame, id_col: str, mask: np.ndarray, column: str, what: str, fix: str) -> list[SchemaProblem]:
    """One problem naming the rows of ``mask``, or none."""
    ids, n = _ids(df, id_col, mask)
    return [SchemaProblem(column, what, fix, ids, n)] if n else []


def _application_checks(df: pd.DataFrame, id_col: str, usable: set[str]) -> list[SchemaProblem]:
    """Dates in order, and the decision's fields present exactly where the decision gives them."""
    problems = _order_check(df, id_col, usable, "applied_at", "decided_at", "an application is decided after it is lodged")
    problems += _order_check(df, id_col, usable, "applied_at", "known_at", "the service holds an application from when it is lodged")
    problems += _order_check(df, id_col, usable, "applied_at", "new_permit_end", "a granted permit ends after the application")
    if {"applied_at", "new_permit_end"} <= usable:
        # a "no end" placeholder (2099-12-31, 9999-12-31) would read as a permit in force for decades and hide an overstay;
        # by days: `new_permit_end` is the last permitted day, which a feed may give at 00:00 or at 23:59:59
        last = df["applied_at"].dt.normalize() + pd.DateOffset(years=MAX_PERMIT_YEARS)
        far = (df["new_permit_end"].dt.normalize() > last).to_numpy(dtype=bool, na_value=False)
        problems += _where(df, id_col, far, "new_permit_end", f"more than {MAX_PERMIT_YEARS} years after `applied_at`",
                           "give the last day the granted permit allows (no stay permit runs longer than ten years); "
                           "a placeholder for 'no end' is no date")
    # known_at is the decision time of a decided application: one on file before it was decided would count
    # the decision in features before it was made
    problems += _order_check(df, id_col, usable, "decided_at", "known_at", "a decision is on file from when it is made: give its time as `known_at`")
    if {"decision", "new_permit_end", "decided_at"} <= usable:
        decision = df["decision"].astype(object).to_numpy()
        granted = decision == "granted"
        no_end = granted & df["new_permit_end"].isna().to_numpy()
        ids, n = _ids(df, id_col, no_end)
        if n:
            problems.append(SchemaProblem("new_permit_end", "missing on a granted application", "give the new last permitted day", ids, n))
        undecided = (decision != "pending") & df["decided_at"].isna().to_numpy()
        ids, n = _ids(df, id_col, undecided)
        if n:
            problems.append(SchemaProblem("decided_at", "missing on a decided application", "give the decision time, or mark it `pending`", ids, n))
        # a new permit end moves the permit in force: on a refused or pending application it would hide an overstay
        problems += _where(df, id_col, ~granted & df["new_permit_end"].notna().to_numpy(), "new_permit_end", "given on an application not granted",
                           "leave `new_permit_end` missing unless `decision` is `granted`")
        problems += _where(df, id_col, (decision == "pending") & df["decided_at"].notna().to_numpy(), "decided_at",
                           "given on a pending application", "give the decision it records, or leave `decided_at` missing")
    return problems


def _name_key(name) -> str:
    """A place name as a person reads it: case and spacing aside (BPS writes "DKI JAKARTA", others "DKI Jakarta")."""
    return " ".join(str(name).split()).casefold()


def _name_keys(names: pd.Series) -> pd.Series:
    """:func:`_name_key` of each text value (each distinct one once); missing and non-text values missing."""
    return names.map({v: _name_key(v) for v in pd.unique(names) if isinstance(v, str)})


#: The province of each regency in :data:`REGENCIES`, by :func:`_name_key`.
_PROVINCE_OF = {_name_key(regency): province for province, regencies in REGENCIES.items() for regency in regencies}
#: The table's spelling of each province and regency it holds, by :func:`_name_key`.
_SPELLING = {"province": {_name_key(p): p for p in REGENCIES}, "regency": {_name_key(r): r for rs in REGENCIES.values() for r in rs}}


def _spelt(values: pd.Series, spelling: dict[str, str]) -> pd.Series | None:
    """``values`` with each name ``spelling`` holds (by :func:`_name_key`) in its spelling; None when none changes."""
    text = values.astype(object)
    table = _name_keys(text).map(spelling)
    changed = (table.notna() & (table != text)).to_numpy(dtype=bool)
    if not changed.any():
        return None
    out = text.where(~changed, table)
    return out.astype("category") if isinstance(values.dtype, pd.CategoricalDtype) else out.astype(values.dtype)


def place_names(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """A source table with its place names in the spelling of :data:`REGENCIES`, where the table holds them.

    Names are matched as a person reads them, case and spacing aside ("BADUNG",
    " badung " and "Badung" are one regency), as the regency rule of
    :func:`check_source` matches them, so that linking (records filed twice)
    and the features (places reported, the office) count one place once.
    Presence reports' ``province`` and ``regency`` are matched against the
    table's provinces and regencies; a permit application names a regency
    without its province, so its ``regency`` is matched against the regencies
    of every province. A name the table does not hold is kept as given,
    neither judged nor respelt: the table lists where foreigners are reported,
    it is no gazetteer of Indonesia.

    Parameters
    ----------
    name : {"presence_reports", "permit_applications", "enforcement"}
        The source (enforcement records name no place: returned as they are).
    table : DataFrame
        Its records, meeting the contract.

    Returns
    -------
    DataFrame
        ``table`` itself when every name is already spelt as the table spells
        it (or names no place), else a copy with the names respelt; the caller's
        table is never changed.
    """
    out = table
    places = ("province", "regency") if name == "presence_reports" else ("regency",) if name == "permit_applications" else ()
    for column in (c for c in places if c in table.columns):  # linking needs only the ids and times: a table may hold no place
        spelt = _spelt(table[column], _SPELLING[column])
        if spelt is not None:
            out = out.assign(**{column: spelt})
    return out


def _regency_check(df: pd.DataFrame, id_col: str, usable: set[str]) -> list[SchemaProblem]:
    """Rows whose regency is one :data:`REGENCIES` puts in another province (names compared by :func:`_name_key`).

    A regency the table does not hold is not judged: the table lists where
    foreigners are reported, it is no gazetteer of Indonesia.
    """
    if not {"province", "regency"} <= usable:
        return []
    regency = df["regency"].astype(object)
    home = _name_keys(regency).map(_PROVINCE_OF)
    wrong = (home.notna() & (_name_keys(home) != _name_keys(df["province"].astype(object)))).to_numpy(dtype=bool)
    where = "; ".join(f"{r}: {_PROVINCE_OF[_name_key(r)]}" for r in pd.unique(regency[wrong])[:5])
    return _where(df, id_col, wrong, "regency", "a regency of another province than `province`",
                  f"give the province the regency is in ({where}), or check `regency`")


def _row_checks(name: str, df: pd.DataFrame, id_col: str, usable: set[str]) -> list[SchemaProblem]:
    problems: list[SchemaProblem] = []
    if name == "presence_reports":
        problems += _order_check(df, id_col, usable, "stay_from", "known_at", "a report is filed on or after the day the stay began")
        problems += _regency_check(df, id_col, usable)
    elif name == "permit_applications":
        problems += _application_checks(df, id_col, usable)
    else:
        problems += _enforcement_checks(df, id_col, usable)
    return problems


def _enforcement_checks(df: pd.DataFrame, id_col: str, usable: set[str]) -> list[SchemaProblem]:
    """Days and amounts in range, dates in order, and each action's own fields only on that action."""
    problems: list[SchemaProblem] = []
    if "overstay_days" in usable:
        ids, n = _ids(df, id_col, df["overstay_days"].to_numpy(dtype=float, na_value=np.nan) < 1)
        if n:
            problems.append(SchemaProblem("overstay_days", "below 1", "an enforcement record answers at least one day of overstay", ids, n))
    problems += _order_check(df, id_col, usable, "action_at", "ban_until", "a ban ends after it is imposed")
    if {"action_at", "ban_until"} <= usable:
        # by days: `ban_until` is the ban's last day, which a feed may give at 00:00 or at 23:59:59
        last = df["action_at"].dt.normalize() + pd.DateOffset(years=MAX_BAN_YEARS)
        far = (df["ban_until"].dt.normalize() > last).to_numpy(dtype=bool, na_value=False)
        problems += _where(df, id_col, far, "ban_until", f"more than {MAX_BAN_YEARS} years after `action_at`",
                           "give the last day of the ban; a placeholder for 'no end' is no date (a ban without end: leave `ban_until` missing)")
    problems += _order_check(df, id_col, usable, "action_at", "known_at", "a record reaches the database after its action")
    if "amount_idr" in usable:
        ids, n = _ids(df, id_col, df["amount_idr"].to_numpy(dtype=float, na_value=np.nan) < 0)
        if n:
            problems.append(SchemaProblem("amount_idr", "negative", "an overstay charge paid is a positive amount in rupiah", ids, n))
    if {"action", "overstay_days"} <= usable:
        long = df["overstay_days"].to_numpy(dtype=float, na_value=np.nan) >= DEPORTATION_DAYS
        problems += _where(df, id_col, (df["action"].astype(object).to_numpy() == "overstay_charge") & long, "overstay_days",
                           f"{DEPORTATION_DAYS} or more on an overstay charge",
                           f"{DEPORTATION_DAYS} days or more of overstay end in deportation and an entry ban, not a charge: check `action` or `overstay_days`")
    if {"action", "overstay_days", "amount_idr"} <= usable:
        # a charge of another amount fines another overstay than the one it names (a digit lost or added)
        charged = df["action"].astype(object).to_numpy() == "overstay_charge"
        due = df["overstay_days"].to_numpy(dtype=float, na_value=np.nan) * OVERSTAY_CHARGE_IDR
        amount = df["amount_idr"].to_numpy(dtype=float, na_value=np.nan)
        # missing days are their own problem (reported above), not a wrong amount
        problems += _where(df, id_col, charged & ~np.isnan(amount) & ~np.isnan(due) & (amount != due), "amount_idr", f"not `overstay_days` x Rp {OVERSTAY_CHARGE_IDR:,}",
                           f"give the charge paid: Rp {OVERSTAY_CHARGE_IDR:,} for each day in `overstay_days`, or check `overstay_days`")
    if "action" in usable:
        # the contract leaves these missing for other actions: one given there says the action or the field is wrong
        action = df["action"].astype(object).to_numpy()
        known = pd.Series(action).isin(ENFORCEMENT_ACTIONS).to_numpy()  # an unknown action is reported as such already
        for column, own, what in (("amount_idr", "overstay_charge", "an overstay charge"), ("ban_until", "entry_ban", "an entry ban")):
            if column in usable:
                problems += _where(df, id_col, known & (action != own) & df[column].notna().to_numpy(), column, f"given on an action that is not {what}",
                                   f"check `action`, or leave `{column}` missing on records other than `{own}`")
    return problems


def _updated_again(df: pd.DataFrame, id_col: str, usable: set[str]) -> list[SchemaProblem]:
    """Repeated ids of permit applications: copies at several ``known_at`` are one application read again after an
    update (pending, then decided: an incremental read lands each update), named with the copy that holds it; the rest
    are plain duplicates (:func:`~riskmodel.core.schema._duplicates`)."""
    if id_col not in usable or "known_at" not in usable:
        return _duplicates(df, id_col, usable)
    ids = df[id_col].astype(object)
    repeated = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
    versions = df.loc[repeated].groupby(ids[repeated], sort=False)["known_at"].nunique()
    updated = ids.isin(versions.index[versions > 1]).to_numpy()
    problems = _duplicates(df.loc[~updated], id_col, usable)
    if updated.any():
        shown, n = _ids(df, id_col, updated)
        problems.append(SchemaProblem(
            id_col, "the same application at several `known_at` (an update read again: pending, then decided)",
            "keep the row of each application with the latest `known_at`, its last update (e.g. sort by `known_at` and "
            f"drop_duplicates('{id_col}', keep='last')); the earlier rows would undo its decision", shown, n))
    return problems


def check_source(name: str, table: pd.DataFrame) -> list[SchemaProblem]:
    """Every problem of one source table, without raising.

    Parameters
    ----------
    name : {"presence_reports", "permit_applications", "enforcement"}
        Which contract to check against (:data:`SOURCES`).
    table : DataFrame
        The records.

    Returns
    -------
    list of SchemaProblem
        Empty when the table meets the contract.

    Raises
    ------
    ValueError
        If ``name`` is not a known source.
    """
    if name not in SOURCES:
        raise ValueError(f"`name` must be one of {sorted(SOURCES)}; got {name!r}.")
    not_flat = _not_a_table(table)  # a column given twice reads as a frame, not a column: every check below would crash
    if not_flat:
        return not_flat
    id_col = SOURCE_KEYS[name][0]
    problems, usable = _check_columns(table, SOURCES[name], id_col, None)
    problems += _updated_again(table, id_col, usable) if name == "permit_applications" else _duplicates(table, id_col, usable)
    problems += _id_checks(table, SOURCES[name], id_col, usable)
    problems += _row_checks(name, table, id_col, usable)
    return problems


def validate_source(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """Check one source table against its contract and raise on any problem.

    Parameters
    ----------
    name : {"presence_reports", "permit_applications", "enforcement"}
    table : DataFrame

    Returns
    -------
    DataFrame
        The same object, unchanged.

    Raises
    ------
    SchemaError
        Listing every problem: missing columns, wrong types, unknown values,
        duplicate ids (a permit application at several ``known_at``, an update
        read again, named with the copy to keep: the latest), ids that are not text, are blank or have spaces around them, a report filed before the stay began or
        from a regency that :data:`REGENCIES` puts in another province, a decision, a
        record or a new permit end before its application, a decided
        application on file before its decision, a granted application
        without its new permit end or with one over 20 years after it (a
        placeholder for "no end"), a new permit end on an application not
        granted, a decision time on a pending one, an enforcement record known
        before its action, for less than a day of overstay, a charge for
        :data:`DEPORTATION_DAYS` (60) days or more, with a ban end over 20 years
        after it (:data:`MAX_BAN_YEARS`), with a negative
        charge or a charge other than ``overstay_days`` x :data:`OVERSTAY_CHARGE_IDR`, or with a
        charge amount or a ban end on another action.

    Examples
    --------
    >>> import pandas as pd
    >>> bad = pd.DataFrame({"record_id": ["E1"], "traveller_id": ["T1"], "document_id": [None],
    ...     "action": ["fine"], "action_at": pd.to_datetime(["2020-01-02"]), "known_at": pd.to_datetime(["2020-01-02"]),
    ...     "overstay_days": [3], "amount_idr": [3_000_000], "ban_until": pd.to_datetime([None])})
    >>> len(check_source("enforcement", bad))
    1
    """
    problems = check_source(name, table)
    if problems:
        raise SchemaError(name, problems)
    return table
