"""The data contract: the crossings log and the stays table.

Two tables cross every boundary of the library:

**Crossings log** (:data:`CROSSINGS`): one row per border crossing, entry or exit,
as a border-control system records it. Entry rows carry what is known about the
trip at entry (visa, permitted stay, purpose, sponsor, return ticket, ...); exit
rows carry the permitted-stay end in force at exit (after any extensions, or
cut short: revoked, shortened) and leave the trip fields empty.

**Stays** (:data:`STAYS`): one row per entry, joined to the traveller's next
exit (see :func:`riskmodel.core.stays.build_stays`). The risk model scores stays. The
label ``overstayed`` is true when the traveller left after the permitted stay
ended, or had not left by then; it is missing while that cannot be known yet.

Columns, dtypes, allowed values and nullability are declared once here, and the
README's data-contract tables are generated from these declarations
(:func:`contract_markdown`). Text columns may arrive as ``str``, ``object`` or
``category`` dtype; the generator emits ``category`` for enumerations.

:func:`validate_crossings` and :func:`validate_stays` report *every* problem at
once in one :class:`~riskmodel.core.exceptions.SchemaError`, naming each column and
the first offending record ids.

**Feature domains** (:data:`FEATURE_DOMAINS`): the values every model feature
may take (ranges, allowed levels, booleans), declared once here. The
validators check the contract columns against them and
:func:`riskmodel.core.scoring.score` flags any row with a value outside them,
so a record such as ``group_size=1e9`` or ``entry_month=13`` is never scored. Counts and day-valued
features are bounded too, where no real traveller can reach (``prior_visits=1e30`` is a data error).

**Feature rules** (:data:`FEATURE_INVARIANTS`): relations between features that
:func:`riskmodel.core.features.build_features` meets on every row it makes
(``prior_visits_365d <= prior_visits``, a first visit has no ``port_switch``, ...);
:func:`riskmodel.core.scoring.score` refuses a row breaking one.

**Time**: every timestamp in the contract is the *local time at the port*,
stored without a time zone (Indonesia spans three zones, and a stay's dates
are the port's calendar days). Timezone-aware timestamps are refused with a
:class:`~riskmodel.core.exceptions.SchemaError` naming the column and the fix
(convert to local port time, then drop the zone with ``.dt.tz_localize(None)``)
rather than converted silently, because the port's zone is the caller's
knowledge, not the library's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from operator import itemgetter

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem

__all__ = [
    "Column",
    "CROSSINGS",
    "STAYS",
    "STAY_OUTCOME_COLUMNS",
    "DIRECTIONS",
    "SEXES",
    "DOCUMENT_TYPES",
    "VISA_TYPES",
    "PURPOSES",
    "SPONSORS",
    "ACCOMMODATIONS",
    "PORT_TYPES",
    "validate_crossings",
    "validate_stays",
    "check_crossings",
    "check_crossing_record",
    "raw_id_problems",
    "check_crossing_rows",
    "MAX_PERMIT_YEARS",
    "check_stays",
    "contract_markdown",
    "Domain",
    "FEATURE_DOMAINS",
    "MAX_GROUP_SIZE",
    "MAX_PLANNED_STAY_DAYS",
    "MAX_DAYS",
    "MAX_CROSSINGS",
    "MAX_ENTRIES_A_YEAR",
    "MAX_PORTS",
    "domain_markdown",
    "number_text",
    "hidden_characters",
    "Invariant",
    "FEATURE_INVARIANTS",
    "INVARIANT_TOLERANCE",
    "broken_invariant",
    "invariant_markdown",
]

DIRECTIONS = ("entry", "exit")
SEXES = ("F", "M", "X")
DOCUMENT_TYPES = ("passport", "travel_document", "border_pass")
#: Visa and permit types with their permitted stay at entry and extension room, in days.
VISA_TYPES = ("visa_exempt", "voa", "c1_visit", "d1_multiple", "itas", "itap")
PURPOSES = ("tourism", "business", "family", "work", "study", "transit", "other")
SPONSORS = ("none", "company", "family", "school", "government")
ACCOMMODATIONS = ("hotel", "rental", "friends_family", "employer", "none_declared")
PORT_TYPES = ("air", "sea", "land")

_MAX_IDS = 5

#: Largest declared party accepted: a coach tour on one declaration. Larger values are data errors.
MAX_GROUP_SIZE = 200
#: Longest declared stay accepted, in days: ten years (permanent stay permits run five years).
MAX_PLANNED_STAY_DAYS = 3660
#: Longest span of days a feature may cover: 150 years (150 x 365.25 = 54,787.5, rounded up). No permit,
#: stay or gap between two visits outlasts a human life; the generator's longest is about five years.
MAX_DAYS = 54_800
#: Entries a day no traveller can keep up: one every hour, day and night (a Batam ferry commuter makes two).
MAX_ENTRIES_A_DAY = 24
#: Most earlier entries (and so exits, overstays, extensions) of one traveller: 24 a day for 150 years.
MAX_CROSSINGS = MAX_ENTRIES_A_DAY * MAX_DAYS
#: Most entries in the 365 days before one: 24 a day for 366 days (the window spans 366 calendar days).
MAX_ENTRIES_A_YEAR = MAX_ENTRIES_A_DAY * 366
#: Most distinct ports of entry one traveller used: far more than any country has.
MAX_PORTS = 10_000


@dataclass(frozen=True)
class Domain:
    """The values one model feature may take.

    Attributes
    ----------
    kind : {"number", "int", "bool", "enum"}
        ``bool`` features are 0/1 (True/False); ``enum`` features take only ``values``.
    low, high : float, optional
        Inclusive bounds of a numeric feature (None: unbounded on that side).
    values : tuple of str
        Allowed levels of an ``enum`` feature.
    why : str
        Why the bounds are where they are (the README's domain table shows it).
    """

    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()
    why: str = ""

    def describe(self) -> str:
        """The domain in words, for error messages and the README."""
        if self.kind == "enum":
            return f"one of {list(self.values)}"
        if self.kind == "bool":
            return "true/false (or 1/0)"
        what = "a whole number" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            return f"{what} from {number_text(self.low)} to {number_text(self.high)}"
        if self.low is not None:
            return f"{what} >= {number_text(self.low)}"
        if self.high is not None:
            return f"{what} <= {number_text(self.high)}"
        return f"{what} (finite)"


def number_text(x: float) -> str:
    """A bound in words: ``12``, ``0.5``, ``1315200`` (never ``1.3152e+06``, which hides the figure)."""
    return f"{x:.0f}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


_BOOL = Domain("bool", 0, 1)
_LIFETIME = "150 years of days: no permit, stay or gap between visits outlasts a human life"
_CROSSINGS = "24 entries a day (one an hour, day and night) for 150 years: no one crosses more often"
_CROSSING_COUNT = Domain("int", 0, MAX_CROSSINGS, why=_CROSSINGS)
_DAYS = Domain("number", 0, MAX_DAYS, why=_LIFETIME)

#: Domain of every model feature the library builds (:mod:`riskmodel.core.features`). Features a
#: config adds from other sources are not listed: ``score`` still refuses values below zero for
#: those the model never saw negative. Every numeric feature has an upper bound too, set where no
#: real traveller can reach it (``why``): a count of 1e30 visits is a data error, never a traveller.
#: The generator's data stays under a tenth of each lifetime bound (tests/test_schema.py).
FEATURE_DOMAINS: dict[str, Domain] = {
    "visa_type": Domain("enum", values=VISA_TYPES),
    "purpose": Domain("enum", values=PURPOSES),
    "sponsor": Domain("enum", values=SPONSORS),
    "accommodation": Domain("enum", values=ACCOMMODATIONS),
    "document_type": Domain("enum", values=DOCUMENT_TYPES),
    # build_features maps a port missing from the port table to "unknown"
    "port_type": Domain("enum", values=(*PORT_TYPES, "unknown")),
    "has_return_ticket": _BOOL,
    "group_size": Domain("int", 1, MAX_GROUP_SIZE, why="a coach tour on one declaration"),
    "planned_stay_days": Domain("int", 0, MAX_PLANNED_STAY_DAYS, why="ten years (permanent stay permits run five)"),
    "permitted_days": Domain("int", 1, MAX_DAYS, why=_LIFETIME),
    # at most the permitted stay (limited stay permits) or 120 days (EXTENSION_ROOM_DAYS)
    "extension_room_days": Domain("number", 0, MAX_DAYS, why=_LIFETIME),
    # planned_stay_days (at most MAX_PLANNED_STAY_DAYS) over at least one day
    "planned_over_permitted": Domain("number", 0, MAX_PLANNED_STAY_DAYS, why="planned_stay_days over at least one day"),
    "planned_over_max": Domain("number", 0, MAX_PLANNED_STAY_DAYS, why="planned_stay_days over at least one day"),
    # planned_stay_days minus the permitted stay and its extension room, each at most MAX_DAYS
    "planned_beyond_max_days": Domain(
        "number", -2 * MAX_DAYS, MAX_PLANNED_STAY_DAYS, why="planned_stay_days less a permitted stay and its extension room"
    ),
    "entry_month": Domain("int", 1, 12, why="a calendar month"),
    "prior_visits": _CROSSING_COUNT,
    "prior_visits_365d": Domain("int", 0, MAX_ENTRIES_A_YEAR, why="24 entries a day for the 366 days a year's window spans"),
    "prior_exits": _CROSSING_COUNT,
    "prior_overstays": _CROSSING_COUNT,
    # days late lie inside the traveller's stays, which do not overlap
    "prior_overstay_days": Domain("int", 0, MAX_DAYS, why=_LIFETIME),
    "prior_extensions": _CROSSING_COUNT,
    "days_since_last_exit": _DAYS,
    "mean_prior_stay_days": _DAYS,
    "max_prior_stay_days": _DAYS,
    # stay days over at least one permitted day: at most the stay days
    "mean_prior_permit_used": _DAYS,
    "prior_ports": Domain("int", 0, MAX_PORTS, why="far more ports of entry than any country has"),
    "port_switch": _BOOL,
    "visa_switch": _BOOL,
}


#: How far a value may miss a rule of :data:`FEATURE_INVARIANTS` and still meet it: counts miss by 1 or
#: more, while a mean of many stays or a ratio stored as float32 or printed to 3 decimals misses by
#: less than 1e-3; an off-by-one day in a ratio's parts (20/30 against 20/31) misses by 0.02.
INVARIANT_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Invariant:
    """A rule between model features that :func:`riskmodel.core.features.build_features` meets on every row.

    A row breaking it was not made by ``build_features`` (nor by
    :func:`riskmodel.core.entry.features_at_entry`, which makes the same rows), whatever its
    values: :func:`riskmodel.core.scoring.score` refuses it. A missing value breaks no rule.

    Attributes
    ----------
    kind : {"at_most", "at_least_one_if", "missing_unless", "ratio", "difference"}
        ``at_most``: a <= b; ``at_least_one_if``: a >= 1 when b >= 1; ``missing_unless``: a is
        missing when b is 0; ``ratio``: a = b / (c + ...); ``difference``: a = b - c - ...
    columns : tuple of str
        The features of the rule, ``a`` first (the column an error names).
    why : str
        Why ``build_features`` always meets it.
    """

    kind: str
    columns: tuple[str, ...]
    why: str

    @property
    def rule(self) -> str:
        """The rule in symbols, e.g. ``prior_visits_365d <= prior_visits``."""
        a, b, *rest = self.columns
        if self.kind == "at_most":
            return f"{a} <= {b}"
        if self.kind == "at_least_one_if":
            return f"{a} >= 1 when {b} >= 1"
        if self.kind == "missing_unless":
            return f"{a} is missing when {b} is 0"
        if self.kind == "ratio":
            return f"{a} = {b} / " + (f"({' + '.join(rest)})" if len(rest) > 1 else rest[0])
        return f"{a} = {b} - " + " - ".join(rest)

    def excess(self, a, b, *rest):
        """How far the values break the rule: above :data:`INVARIANT_TOLERANCE` is broken, NaN is not judged.

        Plain arithmetic, so it takes floats (one record) or arrays (a batch).
        """
        # as few operations as the rule allows: a batch of a million rows pays for each one
        if self.kind == "at_most":
            return a - b
        if self.kind == "at_least_one_if":
            return (b >= 1) - a
        if self.kind == "missing_unless":
            return (a == a) - b  # 1 - b where a is given (a is no NaN): above the tolerance only when b is 0
        if self.kind == "ratio":
            return abs(a - b / (rest[0] + rest[1] if len(rest) == 2 else rest[0]))
        out = a - b
        for r in rest:
            out = out + r
        return abs(out)


#: The rules build_features meets by construction (see :mod:`riskmodel.core.features`); score() checks
#: those whose features a model uses all of. tests/test_schema.py shows every one on generated data.
FEATURE_INVARIANTS: tuple[Invariant, ...] = (
    Invariant("at_most", ("prior_visits_365d", "prior_visits"), "visits in the last 365 days are among all earlier visits"),
    Invariant("at_most", ("prior_ports", "prior_visits"), "each earlier visit adds at most one port"),
    Invariant("at_least_one_if", ("prior_ports", "prior_visits"), "an earlier visit entered at some port"),
    Invariant("at_most", ("prior_exits", "prior_visits"), "every earlier exit ends an earlier visit"),
    Invariant("at_most", ("prior_overstays", "prior_exits"), "an overstay is known at its exit"),
    Invariant("at_most", ("prior_extensions", "prior_exits"), "an extension is known at its exit"),
    Invariant("at_most", ("prior_overstays", "prior_overstay_days"), "each overstay is at least one day late"),
    Invariant("at_least_one_if", ("prior_overstays", "prior_overstay_days"), "days late come from overstays"),
    Invariant("missing_unless", ("port_switch", "prior_visits"), "a first visit has no previous port to switch from"),
    Invariant("missing_unless", ("visa_switch", "prior_visits"), "a first visit has no previous visa to switch from"),
    Invariant("missing_unless", ("days_since_last_exit", "prior_exits"), "with no earlier exit there is no last one"),
    Invariant("missing_unless", ("mean_prior_stay_days", "prior_exits"), "with no earlier exit no stay has a length"),
    Invariant("missing_unless", ("max_prior_stay_days", "prior_exits"), "with no earlier exit no stay has a length"),
    Invariant("missing_unless", ("mean_prior_permit_used", "prior_exits"), "with no earlier exit no stay used its permit"),
    Invariant("at_most", ("mean_prior_stay_days", "max_prior_stay_days"), "a mean is at most the largest value"),
    Invariant("at_most", ("mean_prior_permit_used", "mean_prior_stay_days"),
              "each stay's share of its permit is its days over at least one permitted day"),
    Invariant("ratio", ("planned_over_permitted", "planned_stay_days", "permitted_days"),
              "how it is defined (the permitted stay is at least one day)"),
    Invariant("ratio", ("planned_over_max", "planned_stay_days", "permitted_days", "extension_room_days"),
              "how it is defined (the longest stay the visa allows, extensions included)"),
    Invariant("difference", ("planned_beyond_max_days", "planned_stay_days", "permitted_days", "extension_room_days"),
              "how it is defined (days planned beyond the longest stay the visa allows)"),
)


def broken_invariant(invariant: Invariant, *values: np.ndarray) -> np.ndarray:
    """Which rows of ``values`` (one float array per column of ``invariant``, in order) break it."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(invariant.excess(*values) > INVARIANT_TOLERANCE)


def domain_markdown() -> str:
    """:data:`FEATURE_DOMAINS` as a markdown table (for the README)."""
    lines = ["| feature | allowed values | why the bounds |", "|---|---|---|"]
    lines += [f"| `{name}` | {d.describe()} | {d.why} |" for name, d in FEATURE_DOMAINS.items()]
    return "\n".join(lines)


def invariant_markdown() -> str:
    """:data:`FEATURE_INVARIANTS` as a markdown list (for the README)."""
    return "\n".join(f"- `{inv.rule}`: {inv.why}" for inv in FEATURE_INVARIANTS)


@dataclass(frozen=True)
class Column:
    """Declaration of one column of a table in the contract.

    Attributes
    ----------
    name : str
        Column name.
    kind : {"id", "text", "enum", "datetime", "int", "bool"}
        Logical type; ``enum`` columns take only ``values``.
    description : str
        What the column holds.
    nullable : {"no", "yes", "exit"}
        ``"no"``: never missing; ``"yes"``: may be missing; ``"exit"``: missing
        exactly where the row is not an entry (crossings only: trip fields are
        filled on entry rows and empty on exit rows).
    values : tuple of str, optional
        Allowed values of an ``enum`` column.
    required : bool
        Whether the column must be present.
    """

    name: str
    kind: str
    description: str
    nullable: str = "no"
    values: tuple[str, ...] = ()
    required: bool = True


CROSSINGS: tuple[Column, ...] = (
    Column("crossing_id", "id", "Unique id of the crossing record."),
    Column("traveller_id", "id", "Pseudonymised traveller id (keyed hash), the same for every crossing of one person."),
    Column("direction", "enum", "`entry` into or `exit` from Indonesia.", values=DIRECTIONS),
    Column("timestamp", "datetime", "Local time of the crossing at the port."),
    Column("port", "text", "Port of entry or exit (BPS port name, e.g. `Ngurah Rai`, `Batam`)."),
    Column("nationality", "text", "ISO 3166-1 alpha-3 code of the travel document's nationality (audit attribute)."),
    Column("sex", "enum", "Sex as on the document (audit attribute).", values=SEXES),
    Column("birth_year", "int", "Year of birth (audit attribute, as age band)."),
    Column("document_type", "enum", "Travel document used.", values=DOCUMENT_TYPES),
    Column("document_id", "id", "Pseudonymised document number (keyed hash).", nullable="yes"),
    Column("visa_type", "enum", "Visa or permit the traveller entered on.", nullable="exit", values=VISA_TYPES),
    Column(
        "permit_end",
        "datetime",
        "Last permitted day: on entry rows as granted at entry, on exit rows as in force at exit (extended or cut short).",
        nullable="yes",
    ),
    Column("purpose", "enum", "Declared purpose of the visit.", nullable="exit", values=PURPOSES),
    Column("sponsor", "enum", "Sponsor (guarantor) of the visit.", nullable="exit", values=SPONSORS),
    Column("has_return_ticket", "bool", "An onward or return ticket was shown at entry.", nullable="exit"),
    Column("accommodation", "enum", "Declared accommodation type.", nullable="exit", values=ACCOMMODATIONS),
    Column("group_size", "int", "Travellers in the declared party, including this one (>= 1).", nullable="exit"),
    Column("planned_stay_days", "int", "Length of stay declared at entry, in days (>= 0).", nullable="exit"),
)

STAYS: tuple[Column, ...] = (
    Column("stay_id", "id", "Unique id of the stay: the `crossing_id` of its entry."),
    Column("traveller_id", "id", "Pseudonymised traveller id."),
    Column("entry_time", "datetime", "Time of entry."),
    Column("entry_port", "text", "Port of entry."),
    Column("exit_time", "datetime", "Time of the matching exit; missing while the traveller is in the country.", nullable="yes"),
    Column("exit_port", "text", "Port of exit; missing while the traveller is in the country.", nullable="yes"),
    Column("nationality", "text", "ISO 3166-1 alpha-3 nationality (audit attribute)."),
    Column("sex", "enum", "Sex (audit attribute).", values=SEXES),
    Column("birth_year", "int", "Year of birth (audit attribute)."),
    Column("document_type", "enum", "Travel document used at entry.", values=DOCUMENT_TYPES),
    Column("visa_type", "enum", "Visa or permit at entry.", values=VISA_TYPES),
    Column("permit_end", "datetime", "Last permitted day as granted at entry."),
    Column(
        "final_permit_end",
        "datetime",
        "Last permitted day in force at exit (extended or cut short; `permit_end` while in the country or when the exit record has none). Never a feature.",
    ),
    Column("purpose", "enum", "Declared purpose.", values=PURPOSES),
    Column("sponsor", "enum", "Sponsor of the visit.", values=SPONSORS),
    Column("has_return_ticket", "bool", "Return or onward ticket shown at entry."),
    Column("accommodation", "enum", "Declared accommodation type.", values=ACCOMMODATIONS),
    Column("group_size", "int", "Declared party size (>= 1)."),
    Column("planned_stay_days", "int", "Declared length of stay in days (>= 0)."),
    Column(
        "overstayed",
        "bool",
        "Label: left after `final_permit_end`, or still in the country after it; missing while not yet known.",
        nullable="yes",
        required=False,
    ),
    Column(
        "overstay_days",
        "int",
        "Days past `final_permit_end` (at exit, or at the as-of date while still in the country); missing while not yet known.",
        nullable="yes",
        required=False,
    ),
)

#: The columns of :data:`STAYS` known only once the stay ended (or read on a later as-of day): the exit, the permit in
#: force at exit and the label. Never features: a model reading one learns the outcome it is to predict, offline, and
#: at the border none of them is known (``riskmodel.core.risk.config.ModelConfig`` refuses them).
STAY_OUTCOME_COLUMNS = ("exit_time", "exit_port", "final_permit_end", "overstayed", "overstay_days")


# --------------------------------------------------------------------------- checks


def _ids(df: pd.DataFrame, id_col: str, mask: np.ndarray) -> tuple[tuple[str, ...], int]:
    """The first offending record ids (or row positions) and how many rows offend."""
    mask = np.asarray(mask, dtype=bool)
    n = int(mask.sum())
    if n == 0:
        return (), 0
    rows = np.flatnonzero(mask)[:_MAX_IDS]
    if id_col not in df.columns:
        return tuple(f"row {i}" for i in rows), n
    values = df[id_col].to_numpy(dtype=object)[rows]
    # a row whose own id is blank, missing, hidden or not text is named by its position: the id names nothing
    return tuple(str(v) if _id_kind(v) == _ID_TEXT else f"row {i}" for v, i in zip(values, rows, strict=True)), n


def _type_ok(series: pd.Series, kind: str) -> bool:
    if kind in ("id", "text", "enum"):
        return (
            pd.api.types.is_string_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype)
            or (series.dtype == object)
        )
    if kind == "datetime":
        return pd.api.types.is_datetime64_any_dtype(series)
    if kind == "int":
        if pd.api.types.is_integer_dtype(series):
            return True
        if pd.api.types.is_float_dtype(series):
            values = series.to_numpy(dtype=float, na_value=np.nan)
            present = values[~np.isnan(values)]
            # infinity equals its own rounding, but is no whole number
            return bool(np.all(np.isfinite(present) & (present == np.round(present))))
        return False
    if kind == "bool":
        if pd.api.types.is_bool_dtype(series):
            return True
        if series.dtype == object:
            return bool(series.dropna().map(lambda v: isinstance(v, bool | np.bool_)).all())
        return False
    raise AssertionError(kind)  # pragma: no cover - contract declarations only


_FIX_TYPE = {
    "id": "store the ids as text (str)",
    "text": "store the column as text (str) or category",
    "enum": "store the column as text or category",
    "datetime": "convert with pd.to_datetime(...)",
    "int": "store whole numbers (an integer dtype, or Int32 where values may be missing)",
    "bool": "store True/False (bool, or the nullable 'boolean' dtype)",
}


def _check_columns(
    df: pd.DataFrame, columns: tuple[Column, ...], id_col: str, required_rows: np.ndarray | None
) -> tuple[list[SchemaProblem], set[str]]:
    """Presence, dtype, allowed values and missing values of each declared column.

    Returns the problems and the names of the columns usable for row-level checks.
    """
    problems: list[SchemaProblem] = []
    usable: set[str] = set()
    for col in columns:
        if col.name not in df.columns:
            if col.required:
                problems.append(
                    SchemaProblem(col.name, f"required column is missing ({col.kind})", f"add the column `{col.name}`: {col.description}")
                )
            continue
        s = df[col.name]
        if not _type_ok(s, col.kind):
            problems.append(
                SchemaProblem(col.name, f"expected {col.kind} values, got dtype {s.dtype}", _FIX_TYPE[col.kind])
            )
            continue
        if col.kind == "datetime" and getattr(s.dtype, "tz", None) is not None:
            problems.append(
                SchemaProblem(
                    col.name,
                    f"timezone-aware timestamps ({s.dtype}); the contract holds local port time without a zone",
                    f"convert to the port's local time and drop the zone: df['{col.name}'].dt.tz_convert(<port zone>).dt.tz_localize(None)",
                )
            )
            continue
        usable.add(col.name)
        null = s.isna().to_numpy()
        if col.nullable == "no":
            bad = null
            what = "is missing"
        elif col.nullable == "exit" and required_rows is not None:
            bad = null & required_rows
            what = "is missing on entry rows"
        else:
            bad = np.zeros(len(s), dtype=bool)
            what = ""
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(SchemaProblem(col.name, f"value {what}", f"fill `{col.name}` for every such row", ids, n))
        if col.kind == "text":
            problems += _hidden_text(df, col.name, id_col, ~null)
            problems += _not_text(df, col.name, id_col, ~null)
        if col.kind == "enum":
            values = s.astype(object).to_numpy()
            unknown = ~null & ~pd.Series(values).isin(col.values).to_numpy()
            ids, n = _ids(df, id_col, unknown)
            if n:
                seen = sorted({str(v) for v in values[unknown]})[:_MAX_IDS]
                problems.append(
                    SchemaProblem(
                        col.name,
                        f"unknown value(s) {seen}",
                        f"use one of {list(col.values)}",
                        ids,
                        n,
                    )
                )
    return problems, usable


def _duplicates(df: pd.DataFrame, id_col: str, usable: set[str]) -> list[SchemaProblem]:
    if id_col not in usable:
        return []
    dup = df[id_col].duplicated(keep=False).to_numpy() & df[id_col].notna().to_numpy()
    ids, n = _ids(df, id_col, dup)
    if not n:
        return []
    return [SchemaProblem(id_col, "duplicate ids", f"make `{id_col}` unique (drop repeated records)", ids, n)]


def hidden_characters(text: str) -> tuple[str, ...]:
    """The characters of ``text`` that do not print and are no space, as ``"U+200B"``, each once, in order.

    Zero-width spaces and joiners, byte-order marks, soft hyphens, control characters: copies from web
    forms and spreadsheet exports carry them, nobody sees them, yet ``"Batam"`` with one is another value
    to pandas and to a model. Spaces (a no-break space, a tab) are left to the rules about spaces.
    ``str.isprintable`` answers for plain text in C, so a value without them costs one call.

    Examples
    --------
    >>> hidden_characters("Ngurah Rai\u200b"), hidden_characters("Ngurah\u00a0Rai")
    (('U+200B',), ())
    """
    if text.isprintable():
        return ()
    return tuple(dict.fromkeys(f"U+{ord(ch):04X}" for ch in text if not ch.isprintable() and not ch.isspace()))


def _hidden_text(df: pd.DataFrame, name: str, id_col: str, present: np.ndarray) -> list[SchemaProblem]:
    """Values of free-text column ``name`` with :func:`hidden_characters`, one problem per set of them."""
    values = df[name].astype(object).to_numpy()
    found: dict[tuple[str, ...], list[str]] = {}
    for v in pd.unique(values[present]):  # a log repeats a few ports millions of times: each judged once
        if isinstance(v, str) and (codes := hidden_characters(v)):
            found.setdefault(codes, []).append(v)
    problems = []
    for codes, texts in found.items():
        ids, n = _ids(df, id_col, present & pd.Series(values).isin(texts).to_numpy())
        problems.append(SchemaProblem(name, f"text with characters that do not print ({', '.join(codes)})",
                                      f"remove them from `{name}` (zero-width spaces, byte-order marks, control characters: copies "
                                      "from web forms and spreadsheet exports carry them): a value with one is another value "
                                      "nobody can tell from the first", ids, n))
    return problems


def _padded_text(df: pd.DataFrame, name: str, id_col: str) -> list[SchemaProblem]:
    """Values of free-text column ``name`` of the crossings log with spaces around them (' Batam'): another port to every
    feature, series and model level. A space inside ('Ngurah\u00a0Rai') is a space. (The sources' places are read in
    their reference spelling, spacing aside, and are not judged here.)"""
    values = df[name].astype(object).to_numpy()
    padded = [v for v in pd.unique(values) if isinstance(v, str) and v != v.strip()]  # a log repeats a few ports: each judged once
    if not padded:
        return []
    ids, n = _ids(df, id_col, pd.Series(values).isin(padded).to_numpy())
    return [SchemaProblem(name, f"text with spaces around it ({', '.join(repr(v) for v in padded[:3])})",
                          f"strip the spaces around `{name}` (a padded value is another value than the same text without them)",
                          ids, n)]


def _not_text(df: pd.DataFrame, name: str, id_col: str, present: np.ndarray) -> list[SchemaProblem]:
    """Values of free-text column ``name`` that are no text: a list or tuple (a form's multi-select), a number."""
    values = df[name].astype(object).to_numpy()
    bad = present & np.fromiter((not isinstance(v, str) for v in values), dtype=bool, count=len(values))
    ids, n = _ids(df, id_col, bad)
    if not n:
        return []
    kinds = sorted({type(v).__name__ for v in values[bad]})
    return [SchemaProblem(name, f"values that are no text ({', '.join(kinds)})",
                          f"send one text value per row in `{name}` (a list where one value belongs is no {name})", ids, n)]


#: What :func:`_id_kind` finds in a present id.
_ID_TEXT, _ID_NOT_TEXT, _ID_BLANK, _ID_PADDED, _ID_HIDDEN, _ID_SCIENTIFIC = 0, 1, 2, 3, 4, 5
#: A number as a spreadsheet shows a long one ("1.23457E+10"): its digits are gone, and many ids read the same.
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?[Ee]\+[0-9]{1,3}")
_FIX_SCIENTIFIC = ("re-export the ids from their source as text (in a spreadsheet, format the column as Text before "
                   "pasting or opening the file): the digits a spreadsheet dropped cannot be recovered, and every id it "
                   "shows alike would be one person")


def _id_kind(value) -> int:
    if not isinstance(value, str):
        return _ID_NOT_TEXT
    stripped = value.strip()
    if not stripped:
        return _ID_BLANK
    if stripped != value:
        return _ID_PADDED
    # a zero-width space, a byte-order mark, a control character or a no-break space inside: str.strip() keeps them
    # and nobody sees them, yet 'T1' and 'T1' with one are two people (isprintable: only the plain space passes)
    if not value.isprintable():
        return _ID_HIDDEN
    # (the '+' first: one look at a short text, where the pattern costs more on every id of an object column)
    return _ID_SCIENTIFIC if "+" in value and _SCIENTIFIC.fullmatch(value) else _ID_TEXT


def _id_kinds(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whether each value is present, and :func:`_id_kind` of each (a missing one :data:`_ID_NOT_TEXT`, as it finds it).

    The verdicts are :func:`_id_kind`'s, value for value. A column of a string dtype (pandas 3's default for text)
    holds text only, and its values of ASCII letters and digits only, at least one (``ascii_is_alnum``, in C), have
    nothing to strip: they are :data:`_ID_TEXT`, and every other value (spaces, punctuation, any other letter,
    empty text) is judged by :func:`_id_kind` itself. A column of objects (pandas 2's default) is judged value by
    value: reading its values in bulk costs as much as judging them (``benchmarks/_id_rule_timing.py``).
    """
    if not isinstance(series.dtype, pd.StringDtype):
        values = series.astype(object).to_numpy()
        return ~pd.isna(values), np.fromiter((_id_kind(v) for v in values), dtype=np.int8, count=len(values))
    import pyarrow as pa
    import pyarrow.compute as pc

    present = series.notna().to_numpy()
    try:
        plain = pc.ascii_is_alnum(pa.array(series, type=pa.large_string(), from_pandas=True)).fill_null(False)
        plain = plain.to_numpy(zero_copy_only=False)
    except (pa.ArrowException, ValueError):  # e.g. a lone surrogate, no UTF-8: every value judged one by one
        plain = np.zeros(len(series), dtype=bool)
    kind = np.where(plain, _ID_TEXT, _ID_NOT_TEXT).astype(np.int8)
    rest = np.flatnonzero(present & ~plain)
    kind[rest] = [_id_kind(v) for v in series.iloc[rest].to_numpy(dtype=object)]
    return present, kind


def _ids_of_own_kind(df: pd.DataFrame, id_col: str, name: str, mask: np.ndarray) -> tuple[str, ...]:
    """The first rows of ``mask`` as :func:`_ids` names them; by position when ``name`` is the record id itself, whose
    value (blank, hidden characters, a spreadsheet's number) cannot name its own row."""
    return tuple(f"row {i}" for i in np.flatnonzero(mask)[:_MAX_IDS]) if name == id_col else _ids(df, id_col, mask)[0]


def _id_checks(df: pd.DataFrame, columns: tuple[Column, ...], id_col: str, usable: set[str]) -> list[SchemaProblem]:
    """Ids that are not text, blank text, or text with spaces around it, in every id column of a contract.

    Crossings and the other sources' records are linked by id: an integer 1
    never meets the text '1' in pandas, yet 1 and '1' are one id once written to
    a file or a database, so one traveller's entry and exit could part or two
    travellers merge. 'T1 ' and 'T1' part the same way (a database that pads
    text, a fixed-width extract). A blank id names nobody, yet is not missing: two travellers
    whose ids were left blank would be one, and a record with a blank traveller id
    and a usable document would never be resolved through the document.
    """
    problems: list[SchemaProblem] = []
    for col in columns:
        if col.kind != "id" or col.name not in usable:
            continue
        present, kind = _id_kinds(df[col.name])
        ids, n = _ids(df, id_col, present & (kind == _ID_NOT_TEXT))
        if n:
            problems.append(SchemaProblem(col.name, "ids that are not text",
                                          f"store every `{col.name}` as text, as every table holds ids: "
                                          ".astype(str) on the present values, missing ones left missing", ids, n))
        blank = kind == _ID_BLANK
        if blank.any():
            # a blank record id cannot name its own row
            ids = _ids_of_own_kind(df, id_col, col.name, blank)
            problems.append(SchemaProblem(col.name, "blank ids", "leave an unknown id missing (None), never empty text", ids, int(blank.sum())))
        ids, n = _ids(df, id_col, kind == _ID_PADDED)
        if n:
            problems.append(SchemaProblem(col.name, "ids with spaces around them",
                                          f"strip them (`.str.strip()` on `{col.name}`): 'T1 ' and 'T1' are one id to a "
                                          "person or a database that pads text, two to pandas", ids, n))
        hidden = kind == _ID_HIDDEN
        if hidden.any():  # a record id with a character that does not print cannot name its own row readably
            ids = _ids_of_own_kind(df, id_col, col.name, hidden)
            problems.append(SchemaProblem(col.name, "ids with characters that do not print",
                                          f"remove them from `{col.name}` (zero-width spaces, byte-order marks, control characters, "
                                          "no-break spaces: copy-paste and OCR leave them): ids are compared character by character, "
                                          "so an id with one is another person", ids, int(hidden.sum())))
        mangled = kind == _ID_SCIENTIFIC
        if mangled.any():  # the value names nobody: a record id of this kind is named by its row
            ids = _ids_of_own_kind(df, id_col, col.name, mangled)
            problems.append(SchemaProblem(col.name, "ids a spreadsheet wrote in scientific notation (such as 1.23457E+10)",
                                          _FIX_SCIENTIFIC, ids, int(mangled.sum())))
    return problems


def raw_id_problems(df: pd.DataFrame, columns: list[str]) -> list[SchemaProblem]:
    """Blank ids, ids with spaces around them and ids with characters that do not print, in raw id ``columns``.

    What the contracts' id rule refuses, checked before ids are pseudonymised (hashed, each would become a clean
    pseudonym the rule can no longer see). Rows are named by position only: the values are raw identifiers. Ids that
    are numbers are left to the caller (pseudonymisation writes whole numbers as text, one id in every dtype).
    """
    problems: list[SchemaProblem] = []
    for col in columns:
        present, kind = _id_kinds(df[col])
        for code, what, fix in (
            (_ID_BLANK, "blank ids", "leave an unknown id missing (None), never empty text"),
            (_ID_PADDED, "ids with spaces around them", f"strip them (`.str.strip()` on `{col}`) before pseudonymising"),
            (_ID_HIDDEN, "ids with characters that do not print",
             f"remove them from `{col}` (zero-width spaces, byte-order marks, control characters, no-break spaces) before "
             "pseudonymising: ids are compared character by character, so an id with one is another person"),
            (_ID_SCIENTIFIC, "ids a spreadsheet wrote in scientific notation (such as 1.23457E+10)", _FIX_SCIENTIFIC),
        ):
            rows = np.flatnonzero(present & (kind == code))
            if len(rows):
                problems.append(SchemaProblem(col, what, fix, tuple(f"row {i}" for i in rows[:_MAX_IDS]), len(rows)))
    return problems


def _years(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=float, na_value=np.nan)


def _range_checks(
    df: pd.DataFrame, id_col: str, usable: set[str], time_col: str, rows: np.ndarray | None = None
) -> list[SchemaProblem]:
    """Impossible values shared by both tables."""
    problems = []
    sel = np.ones(len(df), dtype=bool) if rows is None else rows
    if {"birth_year", time_col} <= usable:
        by = _years(df["birth_year"])
        year = df[time_col].dt.year.to_numpy(dtype=float, na_value=np.nan)
        bad = (by > year) | (by < year - 120)
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(
                SchemaProblem(
                    "birth_year",
                    f"birth year after the {time_col} year or more than 120 years before it",
                    "correct the year of birth (a four-digit year)",
                    ids,
                    n,
                )
            )
    if "group_size" in usable:
        gs = _years(df["group_size"])
        ids, n = _ids(df, id_col, sel & (gs < 1))
        if n:
            problems.append(SchemaProblem("group_size", "group size below 1", "count the traveller too: group_size >= 1", ids, n))
    if "planned_stay_days" in usable:
        ps = _years(df["planned_stay_days"])
        ids, n = _ids(df, id_col, sel & (ps < 0))
        if n:
            problems.append(SchemaProblem("planned_stay_days", "negative planned stay", "planned_stay_days >= 0", ids, n))
    for name in ("group_size", "planned_stay_days"):
        if name in usable:
            high = FEATURE_DOMAINS[name].high
            ids, n = _ids(df, id_col, sel & (_years(df[name]) > high))
            if n:
                problems.append(
                    SchemaProblem(name, f"above the contract's maximum {high:g}", f"`{name}` must be {FEATURE_DOMAINS[name].describe()}; fix the source", ids, n)
                )
    problems += _placeholder_times(df, id_col, usable, time_col, sel)
    if {"permit_end", time_col} <= usable:
        day = df[time_col].dt.normalize()
        bad = sel & (df["permit_end"] < day).to_numpy(dtype=bool, na_value=False)
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(
                SchemaProblem(
                    "permit_end",
                    f"permitted stay ends before the {time_col} date",
                    "check the permit end date (it must be on or after the entry day)",
                    ids,
                    n,
                )
            )
    return problems


def _not_a_table(df) -> list[SchemaProblem]:
    """Problems that stop every other check: not a DataFrame, MultiIndex column labels, a column name given twice."""
    if not isinstance(df, pd.DataFrame):
        return [SchemaProblem("<table>", f"expected a pandas DataFrame, got {type(df).__name__}", "pass a DataFrame")]
    if isinstance(df.columns, pd.MultiIndex):
        return [SchemaProblem("<columns>", f"column labels are a MultiIndex of {df.columns.nlevels} levels, not column names",
                              "flatten them first, e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns]")]
    repeated = list(dict.fromkeys(df.columns[df.columns.duplicated()]))
    return [SchemaProblem(str(c), "column appears more than once", f"keep one column named `{c}`") for c in repeated]


def check_crossings(crossings: pd.DataFrame) -> list[SchemaProblem]:
    """Every problem of a crossings log, without raising.

    Parameters
    ----------
    crossings : DataFrame
        A crossings log (see :data:`CROSSINGS`).

    Returns
    -------
    list of SchemaProblem
        Empty when the log meets the contract.
    """
    not_flat = _not_a_table(crossings)
    if not_flat:
        return not_flat
    df = crossings
    id_col = "crossing_id"
    entry = (df["direction"].astype(object) == "entry").to_numpy() if "direction" in df.columns else None
    problems, usable = _check_columns(df, CROSSINGS, id_col, entry)
    problems += [p for c in CROSSINGS if c.kind == "text" and c.name in usable for p in _padded_text(df, c.name, id_col)]
    problems += _duplicates(df, id_col, usable)
    # ids link every crossing of a traveller (stays, history) and the other sources' records
    problems += _id_checks(df, CROSSINGS, id_col, usable)
    if "nationality" in usable:
        nat = df["nationality"].astype(object)
        bad = nat.notna().to_numpy() & ~nat.astype(str).str.fullmatch(r"[A-Z]{3}").to_numpy(dtype=bool, na_value=False)
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(
                SchemaProblem("nationality", "not an ISO 3166-1 alpha-3 code", "use three capital letters, e.g. `AUS`", ids, n)
            )
    if "direction" in usable:
        problems += _range_checks(df, id_col, usable, "timestamp", rows=entry)
    if {"traveller_id", "direction", "timestamp"} <= usable:
        problems += _sequence_checks(df, id_col, usable)
    return problems


def check_crossing_record(record: Mapping, name: str = "the record") -> list[SchemaProblem]:
    """Every problem :func:`check_crossings` finds in one crossing record, each naming the record as ``name``.

    One record (a border desk's entry) is judged by the log's own checks on a one-row table, so its
    rules are the log's. Those checks cost milliseconds of pandas on one row, more than scoring it:
    a record :func:`_plainly_valid_record` finds plainly valid skips them (it says only "plainly
    valid", never why not; ``tests/test_entry.py`` refuses one value per rule through it).

    Parameters
    ----------
    record : Mapping
        The fields of :data:`CROSSINGS` (``document_id`` may be absent), with times as tz-naive
        Timestamps (or None) and whole-number fields as floats (NaN when missing).
    name : str, default="the record"
        How problems name the record: its own id may be the problem (blank, not text).

    Returns
    -------
    list of SchemaProblem
        Empty when the record meets the contract.
    """
    if _plainly_valid_record(record):
        return []
    columns = {}
    for col in CROSSINGS:
        v = record.get(col.name)
        if col.kind == "datetime":
            columns[col.name] = np.array([np.datetime64("NaT") if v is None else v.to_datetime64()], dtype="datetime64[ns]")
        elif col.kind == "int":
            columns[col.name] = np.array([v], dtype=float)
        else:  # ids, text, levels and booleans as given, so that the checks see what came
            columns[col.name] = np.empty(1, dtype=object)
            columns[col.name][0] = v  # a list stays one value (np.array([v]) made it a row of several)
    return [replace(p, record_ids=(name,)) if p.n_rows else _record_kind(p, record.get(p.column), name)
            for p in check_crossings(pd.DataFrame(columns))]


def _record_kind(p: SchemaProblem, value, name: str) -> SchemaProblem:
    """A table's dtype problem (``expected bool values, got dtype str``) of one record's int or yes/no field, in the
    words of a record: what the field takes, the record named; other problems of the column as they are."""
    kind = _KINDS.get(p.column)
    if kind == "bool":
        return SchemaProblem(p.column, f"not true or false (got {type(value).__name__})",
                             f"send `{p.column}` as true or false (JSON true/false), or null if unknown", (name,), 1)
    if kind == "int":
        return SchemaProblem(p.column, "not a whole number", f"send `{p.column}` as a whole number, or null if unknown", (name,), 1)
    return p


def check_crossing_rows(columns: Mapping[str, list]) -> list[SchemaProblem]:
    """Every problem :func:`check_crossings` finds in a few crossings of one traveller, given column by column.

    A border desk's history of a traveller (tens of rows) is judged by the log's own checks, on the columns
    it gives: a column of :data:`CROSSINGS` it does not give is not missing here (the caller says which it
    needs). The pandas checks cost milliseconds, more than scoring: rows that :func:`_plainly_valid_rows`
    finds plainly valid skip them (``tests/test_entry.py`` gives every column odd values through both).

    Parameters
    ----------
    columns : Mapping of str to list
        The given columns of :data:`CROSSINGS` (at least ``crossing_id``, ``traveller_id``, ``direction`` and
        ``timestamp``), each a list of the values as sent, row by row; except the times, already read (zones
        and text that is no time refused): ``timestamp`` as integer nanoseconds and ``permit_end`` as integer
        seconds since 1970, the int64 minimum where missing.

    Returns
    -------
    list of SchemaProblem
        Empty when the rows meet the contract; rows are named by crossing id, or by position ("row 3")
        when their own id is the problem.
    """
    try:
        if _plainly_valid_rows(columns):
            return []
    except (TypeError, ValueError):  # a value that cannot be hashed or compared: the full checks say what it is
        pass
    frame = pd.DataFrame({name: _row_column(name, values) for name, values in columns.items()})
    # a column of the wrong kind names no rows in a log (its dtype is the problem); here the values are: name them
    return [replace(p, record_ids=_ids(frame, "crossing_id", _not_of_kind(_KINDS[p.column], columns[p.column]))[0],
                    n_rows=int(_not_of_kind(_KINDS[p.column], columns[p.column]).sum()))
            if not p.n_rows and _KINDS[p.column] in ("int", "bool") else p
            for p in check_crossings(frame) if p.column in columns]


_KINDS = {c.name: c.kind for c in CROSSINGS}
_NAT = int(np.iinfo(np.int64).min)


def _absent(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _row_column(name: str, values: list) -> np.ndarray | pd.Series:
    """One column of :func:`check_crossing_rows` as :func:`check_crossings` reads it (missing values as None)."""
    if name in ("timestamp", "permit_end"):
        return np.array(values, dtype=np.int64).view("datetime64[ns]" if name == "timestamp" else "datetime64[s]")
    given = [None if _absent(v) else v for v in values]
    if _KINDS[name] == "int" and all(v is None or isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
                                     for v in given):
        return np.array([np.nan if v is None else v for v in given], dtype=float)
    return pd.Series(given, dtype=object)


def _not_of_kind(kind: str, values: list) -> np.ndarray:
    """Which given values are no whole number (``int``) or no True/False (``bool``)."""
    if kind == "bool":
        return np.array([not (_absent(v) or isinstance(v, bool | np.bool_)) for v in values], dtype=bool)
    return np.array([not (_absent(v) or isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
                          and float(v).is_integer()) for v in values], dtype=bool)


_DAY_S = 86_400
_EPOCH = datetime(1970, 1, 1)
_ENUMS = {c.name: (frozenset(c.values), c.nullable) for c in CROSSINGS if c.kind == "enum" and c.name != "direction"}
_DIRECTIONS = frozenset(DIRECTIONS)
_NUMBER_TYPES = frozenset({int, float, type(None), type(pd.NA)})
_BOOL_TYPES = frozenset({bool, np.bool_})


def scientific_ids(values) -> np.ndarray:
    """Where ``values`` (ids) holds text a spreadsheet wrote in scientific notation (``1.23457E+10``): its digits are gone.

    Only values holding a ``+`` are matched against the pattern; a column of pandas text is searched for one at once.
    """
    s = pd.Series(values, copy=False)
    if not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):  # numbers, times: no text at all
        return np.zeros(len(s), dtype=bool)
    if s.dtype != object:
        plus = np.array(s.str.contains("+", regex=False).fillna(False), dtype=bool)
    else:
        given = s.to_numpy(dtype=object)
        try:
            if "+" not in "".join(given):  # all text (the usual batch): one pass in C
                return np.zeros(len(s), dtype=bool)
        except TypeError:  # something that is no text (a number, a missing id): judged value by value
            pass
        plus = np.fromiter((isinstance(v, str) and "+" in v for v in given), dtype=bool, count=len(s))
    if plus.any():
        given = s.to_numpy(dtype=object)
        plus[plus] = [_SCIENTIFIC.fullmatch(given[i]) is not None for i in np.flatnonzero(plus)]
    return plus


def _plain_ids(values: list, nullable: bool) -> bool:
    """Whether every id is text :func:`_id_kind` finds plain, none in scientific notation (missing ones too, when
    ``nullable``)."""
    try:
        joined = "".join(values)  # refuses anything that is no text
    except TypeError:
        if not nullable:
            return False
        values = [v for v in values if not _absent(v)]
        return _plain_ids(values, False)
    if "+" in joined and any(_SCIENTIFIC.fullmatch(v) for v in values):
        return False
    return joined.isprintable() and all(values) and list(map(str.strip, values)) == values


def _plain_whole(values: list, need: tuple, low: float, high: float) -> bool:
    """Whole numbers wherever given (``values``), present and within [low, high] where needed (``need``)."""
    types = set(map(type, values))
    if not types <= _NUMBER_TYPES or float in types and any(type(v) is float and v == v and not v.is_integer() for v in values):
        return False
    need_types = set(map(type, need))
    if not need_types <= {int, float} or float in need_types and any(v != v for v in need):  # None, NA, NaN: missing
        return False
    return not need or low <= min(need) and max(need) <= high


def _rows_of(rows: list[int]):
    """A function taking the values at ``rows`` out of a list, as a tuple (operator.itemgetter, for any count)."""
    if len(rows) > 1:
        return itemgetter(*rows)
    return lambda values: tuple(values[i] for i in rows)


def _plainly_valid_rows(c: Mapping[str, list]) -> bool:
    """Whether rows (as :func:`check_crossing_rows` takes them) plainly meet every check of :func:`check_crossings`.

    False is no refusal, only "ask :func:`check_crossings`". It mirrors: each given column's kind, allowed values
    and missing values (an entry's trip fields are required), the id rules and unique crossing ids, the nationality
    code, the ranges of :func:`_range_checks` (a birth year within 120 years before the crossing's, judged against the
    first and last crossing years) and the sequence of one traveller's entries and exits.
    """
    d, ts, ids = c["direction"], c["timestamp"], c["crossing_id"]
    if not set(d) <= _DIRECTIONS or _NAT in ts or not _plain_ids(ids, False) or len(set(ids)) != len(ids):
        return False
    if min(ts, default=0) < TIMES_FROM.value or max(ts, default=0) >= TIMES_BEFORE.value:
        return False
    travellers = set(c["traveller_id"])
    if len(travellers) > 1 or not _plain_ids(list(travellers), False) or not _plain_ids(c.get("document_id", []), True):
        return False
    take = _rows_of([i for i, x in enumerate(d) if x == "entry"])
    for name, (allowed, nullable) in _ENUMS.items():
        values = c.get(name)
        if values is None:
            continue
        seen = set(values)
        if seen <= allowed:
            continue
        if nullable == "no" or not set(take(values)) <= allowed or not all(_absent(v) for v in seen - allowed):
            return False
    return _plain_row_values(c, take)


def _plain_row_values(c: Mapping[str, list], take) -> bool:
    """The rest of :func:`_plainly_valid_rows`: text, numbers, booleans, permit ends and the sequence (``take``: entry rows)."""
    d, ts = c["direction"], c["timestamp"]
    # a port with a character that does not print is the full check's to judge (hidden ones refused, spaces taken)
    if "port" in c and not all(isinstance(p, str) and p.isprintable() and p == p.strip() for p in set(c["port"])):
        return False
    if "nationality" in c and not all(isinstance(v, str) and _ISO3.fullmatch(v) for v in set(c["nationality"])):
        return False
    if "has_return_ticket" in c:
        values = c["has_return_ticket"]
        if not (set(map(type, take(values))) <= _BOOL_TYPES and all(_absent(v) for v in values if type(v) not in _BOOL_TYPES)):
            return False
    if "birth_year" in c:
        first, last = (_EPOCH + timedelta(microseconds=min(ts) // 1000)).year, (_EPOCH + timedelta(microseconds=max(ts) // 1000)).year
        if not _plain_whole(c["birth_year"], tuple(c["birth_year"]), last - 120, first):
            return False
    for name in ("group_size", "planned_stay_days"):
        domain = FEATURE_DOMAINS[name]
        if name in c and not _plain_whole(c[name], take(c[name]), domain.low, domain.high):
            return False
    if "permit_end" in c:
        longest = 365 * MAX_PERMIT_YEARS  # days; fewer than any 20 calendar years
        for p, t in zip(take(c["permit_end"]), take(ts), strict=True):
            day = t // 1_000_000_000 // _DAY_S
            if p != _NAT and not day <= p // _DAY_S <= day + longest:
                return False
    order = sorted(range(len(d)), key=ts.__getitem__)  # stable: same-time crossings as given, as the log's sort keeps them
    if not all(d[a] != d[b] for a, b in zip(order, order[1:])):
        return False
    p = c.get("permit_end")
    # an exit whose permit in force ends before the day of the entry it closes (_sequence_checks names it)
    return p is None or not any(d[a] == "entry" and p[b] != _NAT and p[b] // _DAY_S < ts[a] // 1_000_000_000 // _DAY_S
                                for a, b in zip(order, order[1:]))


#: Longest a permit may run, in years, from the entry day (here) or a permit's application (sources): twice the
#: longest Indonesian stay permit (the ten-year golden visa), so that only a placeholder date for "no end" is
#: refused. Compared by days: a permit whose last day is twenty years on is accepted at any time of that day.
MAX_PERMIT_YEARS = 20
#: Crossings are dated from 1900 to before 2200, as series periods are: outside, a placeholder ("no date").
TIMES_FROM, TIMES_BEFORE = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")


def _placeholder_times(df: pd.DataFrame, id_col: str, usable: set[str], time_col: str, sel: np.ndarray) -> list[SchemaProblem]:
    """Crossing times outside 1900-2199 and permit ends more than :data:`MAX_PERMIT_YEARS` after the crossing day."""
    problems = []
    if time_col in usable:
        t = df[time_col]
        bad = sel & ((t < TIMES_FROM) | (t >= TIMES_BEFORE)).to_numpy(dtype=bool, na_value=False)
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(SchemaProblem(time_col, "times before 1900 or from 2200 on",
                                          f"a placeholder for 'no date': give the crossing's local time, or leave `{time_col}` out "
                                          "with its record", ids, n))
    if {"permit_end", time_col} <= usable:
        day = df[time_col].dt.normalize()
        # a crossing dated from 2200 on is refused above; twenty years on from it would overflow pandas 2's nanoseconds
        last = day.where(day < TIMES_BEFORE) + pd.DateOffset(years=MAX_PERMIT_YEARS)
        bad = sel & (df["permit_end"].dt.normalize() > last).to_numpy(dtype=bool, na_value=False)
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(SchemaProblem("permit_end", f"more than {MAX_PERMIT_YEARS} years after the {time_col} day",
                                          "a placeholder for 'no end' (2099-12-31, 9999-12-31): give the last permitted day",
                                          ids, n))
    return problems


_ISO3 = re.compile(r"[A-Z]{3}")


def _plainly_valid_record(r: Mapping) -> bool:
    """Whether one record (as :func:`check_crossing_record` takes it) plainly meets every check of a one-row log.

    False is no refusal, only "ask :func:`check_crossings`". The checks it mirrors: each column's kind,
    allowed values and missing values (an entry's trip fields are required), the id rules, the nationality
    code, and the ranges of :func:`_range_checks`.
    """
    entry = r.get("direction") == "entry"
    for col in CROSSINGS:
        v = r.get(col.name)
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            if col.nullable == "no" or (col.nullable == "exit" and entry):
                return False
            continue
        if col.kind == "id":
            ok = _id_kind(v) == _ID_TEXT
        elif col.kind in ("text", "enum"):
            ok = isinstance(v, str) and (v.isprintable() and v == v.strip() if col.kind == "text" else v in col.values)
        elif col.kind == "datetime":
            ok = isinstance(v, pd.Timestamp) and v.tzinfo is None
        elif col.kind == "int":
            ok = isinstance(v, float) and v.is_integer()
        else:
            ok = isinstance(v, bool | np.bool_)
        if not ok:
            return False
    if not _ISO3.fullmatch(r["nationality"]) or not r["timestamp"].year - 120 <= r["birth_year"] <= r["timestamp"].year:
        return False
    if not TIMES_FROM <= r["timestamp"] < TIMES_BEFORE:
        return False
    permit = r.get("permit_end")
    if permit is not None and permit is not pd.NaT and permit.normalize() > r["timestamp"].normalize() + pd.DateOffset(years=MAX_PERMIT_YEARS):
        return False
    if not entry:
        return True
    within = all(FEATURE_DOMAINS[c].low <= r[c] <= FEATURE_DOMAINS[c].high for c in ("group_size", "planned_stay_days"))
    permit = r.get("permit_end")
    return within and (permit is None or permit is pd.NaT or permit >= r["timestamp"].normalize())


def exit_permit_before_entry(ids: tuple[str, ...], n: int) -> SchemaProblem:
    """The problem of exit records whose permit in force ends before the day of the entry they close."""
    return SchemaProblem("permit_end", "permit in force at exit ends before the day of the entry it closes",
                         "give the exit record the permit end in force at that exit (extended or cut short, never before "
                         "the stay began), or leave it empty to judge the stay by the permit granted at entry", ids, n)


def _sequence_checks(df: pd.DataFrame, id_col: str, usable: set[str]) -> list[SchemaProblem]:
    """A traveller entering twice without leaving, or leaving twice without entering; an exit's permit ending before its entry day."""
    # group by factorised ids: missing ids (reported elsewhere) must not break the sort
    codes = pd.factorize(df["traveller_id"])[0]
    order = np.lexsort((df["timestamp"].to_numpy(), codes))
    trav = codes[order]
    direction = df["direction"].astype(object).to_numpy()[order]
    same = np.zeros(len(df), dtype=bool)
    same[1:] = trav[1:] == trav[:-1]
    prev = np.empty(len(df), dtype=object)
    prev[1:] = direction[:-1]
    problems = []
    for label, what, fix in (
        ("entry", "traveller entered again without an exit in between", "add the missing exit, or drop the repeated entry"),
        ("exit", "traveller left again without an entry in between", "add the missing entry, or drop the repeated exit"),
    ):
        bad_sorted = same & (direction == label) & (prev == label)
        bad = np.zeros(len(df), dtype=bool)
        bad[order[bad_sorted]] = True
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(SchemaProblem("direction", what, fix, ids, n))
    if "permit_end" in usable:
        # the exit's permit in force (the stay's label, build_stays) against the day of the entry just before it
        closes = same & (direction == "exit") & (prev == "entry")
        # in seconds: a 2500 permit end held in microseconds wraps to 1915 compared at nanoseconds
        permit = df["permit_end"].to_numpy(dtype="datetime64[s]")[order]
        entry_day = df["timestamp"].dt.normalize().to_numpy(dtype="datetime64[s]")[order]
        before = np.zeros(len(df), dtype=bool)
        before[1:] = permit[1:] < entry_day[:-1]  # NaT compares False: no permit on the exit record is no problem
        bad = np.zeros(len(df), dtype=bool)
        bad[order[closes & before]] = True
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(exit_permit_before_entry(ids, n))
    return problems


def check_stays(stays: pd.DataFrame) -> list[SchemaProblem]:
    """Every problem of a stays table, without raising.

    Parameters
    ----------
    stays : DataFrame
        A stays table (see :data:`STAYS`).

    Returns
    -------
    list of SchemaProblem
    """
    not_flat = _not_a_table(stays)
    if not_flat:
        return not_flat
    df = stays
    id_col = "stay_id"
    problems, usable = _check_columns(df, STAYS, id_col, None)
    problems += _duplicates(df, id_col, usable)
    # the crossings' id rule: a stay's traveller id links it to that traveller's other stays
    problems += _id_checks(df, STAYS, id_col, usable)
    problems += _range_checks(df, id_col, usable, "entry_time")
    if {"entry_time", "exit_time"} <= usable:
        bad = (df["exit_time"] < df["entry_time"]).to_numpy(dtype=bool, na_value=False)
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(SchemaProblem("exit_time", "exit before entry", "pair each entry with the exit that follows it", ids, n))
    if {"entry_time", "final_permit_end"} <= usable:
        # extended or cut short (revoked, shortened), the permit in force at exit never ends before the stay began
        bad = (df["final_permit_end"] < df["entry_time"].dt.normalize()).to_numpy(dtype=bool, na_value=False)
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(SchemaProblem("final_permit_end", "permit in force at exit ends before the entry day",
                                          "take the permit end in force at the stay's exit, on or after its entry day", ids, n))
    if {"traveller_id", "entry_time", "exit_time"} <= usable:
        codes = pd.factorize(df["traveller_id"])[0]
        order = np.lexsort((df["entry_time"].to_numpy(), codes))
        trav = codes[order]
        entry = df["entry_time"].to_numpy()[order]
        exit_ = df["exit_time"].to_numpy()[order]
        nxt_same = np.zeros(len(df), dtype=bool)
        nxt_same[:-1] = trav[:-1] == trav[1:]
        nxt_entry = np.empty_like(entry)
        nxt_entry[:-1] = entry[1:]
        # a stay still open (no exit) followed by another entry, or an exit after the next entry
        overlap = nxt_same & (np.isnat(exit_) | (exit_ > nxt_entry))
        bad = np.zeros(len(df), dtype=bool)
        bad[order[overlap]] = True
        ids, n = _ids(df, id_col, bad)
        if n:
            problems.append(
                SchemaProblem(
                    "entry_time",
                    "traveller entered again before this stay's exit",
                    "each stay must end (exit_time) before the same traveller's next entry",
                    ids,
                    n,
                )
            )
    return problems


def validate_crossings(crossings: pd.DataFrame) -> pd.DataFrame:
    """Check a crossings log against the contract and raise on any problem.

    Parameters
    ----------
    crossings : DataFrame
        One row per border crossing with the columns of :data:`CROSSINGS`.

    Returns
    -------
    DataFrame
        The same object, unchanged, so calls can be chained.

    Raises
    ------
    SchemaError
        Listing every problem: missing columns, wrong types, unknown values,
        impossible values, duplicate ids, ids that are blank, not text or with
        spaces around them (``1`` beside ``'1'``, ``1.0``, ``''``, ``'T1 '``), and travellers entering twice
        without leaving (or leaving twice without entering).

    Examples
    --------
    >>> from riskmodel.core.datasets import make_crossings
    >>> data = make_crossings(200, "2019-01-01", "2019-03-31", seed=1)
    >>> validate_crossings(data.crossings) is data.crossings
    True
    """
    problems = check_crossings(crossings)
    if problems:
        raise SchemaError("crossings", problems)
    return crossings


def validate_stays(stays: pd.DataFrame) -> pd.DataFrame:
    """Check a stays table against the contract and raise on any problem.

    Parameters
    ----------
    stays : DataFrame
        One row per stay with the columns of :data:`STAYS`.

    Returns
    -------
    DataFrame
        The same object, unchanged.

    Raises
    ------
    SchemaError
        Listing every problem: missing columns, wrong types, unknown values,
        exit before entry, permit end before entry, birth year in the future,
        group size below 1, duplicate ids, ids that are blank, not text or with spaces around them,
        overlapping stays of one traveller.
    """
    problems = check_stays(stays)
    if problems:
        raise SchemaError("stays", problems)
    return stays


def contract_markdown(columns: tuple[Column, ...]) -> str:
    """The contract of one table as a markdown table (used for the README)."""
    lines = ["| column | type | missing | allowed values | meaning |", "|---|---|---|---|---|"]
    for c in columns:
        missing = {"no": "never", "yes": "allowed", "exit": "on exit rows"}[c.nullable]
        if not c.required:
            missing += " (optional column)"
        values = ", ".join(f"`{v}`" for v in c.values)
        lines.append(f"| `{c.name}` | {c.kind} | {missing} | {values} | {c.description} |")
    return "\n".join(lines)
