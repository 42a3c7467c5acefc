"""Checking and encoding :func:`riskmodel.core.scoring.score` input: the model's float matrix and every problem found.

A loaded model is held as a :class:`Scorer` with its fast-path lookups (level
codes, the contract's feature domains). Every row's problems are collected in
a :class:`Problems` (column, problem, fix -> rows): missing, misspelt,
duplicated or MultiIndex columns; text in a number (a finite Decimal is a number); a list where one value
belongs; infinities; values outside :data:`riskmodel.core.schema.FEATURE_DOMAINS`; rows breaking a rule
between features that build_features always meets (:data:`riskmodel.core.schema.FEATURE_INVARIANTS`);
negative values where training never had one; missing values where training
never had one (the model would read them as 0); levels the contract does not allow; a training level in another
case or with other spaces (``batam`` for ``Batam``), or with look-alike characters (an en dash for ``-``). Levels allowed but never
seen in training are notes, not problems: they are scored as missing.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.risk.model import RiskModel
from riskmodel.core.schema import (
    FEATURE_DOMAINS, FEATURE_INVARIANTS, INVARIANT_TOLERANCE, Domain, Invariant, broken_invariant, hidden_characters, number_text,
)

__all__ = [
    "Scorer", "Problems", "FAST_ROWS", "as_input", "flat_unique", "absent_features", "misspelt_id", "encode_small", "encode_frame",
    "to_float",
    "outside_domain", "missing_read_as_zero", "flag_missing_read_as_zero", "flag_broken_invariants",
]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_MAX_IDS = 5


@dataclass
class Scorer:
    """A fitted :class:`~riskmodel.core.risk.model.RiskModel` with its name, version and fast-path lookups.

    Build one with :func:`riskmodel.load` or :func:`as_scorer`; it is immutable after construction and safe to
    share between threads.
    """

    model: RiskModel
    name: str = "overstay-risk"
    version: str = "local"
    source: str = ""
    _numeric_floor: dict[str, float] = field(default_factory=dict, repr=False)
    _lookup: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    _domain: dict[str, Domain] = field(default_factory=dict, repr=False)
    _no_missing: frozenset = field(default_factory=frozenset, repr=False)
    _folded: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _invariants: tuple[tuple[Invariant, tuple[int, ...]], ...] = field(default_factory=tuple, repr=False)

    def __post_init__(self):
        dump = self.model.booster_.dump_model(num_iteration=self.model.best_iteration_)
        infos = dump.get("feature_infos", {})
        names = self.model.booster_.feature_name()
        by_position = dict(zip(self.model.features, names, strict=False))
        zero = missing_read_as_zero(dump)
        # a number LightGBM reads a missing value of as 0; a category training never saw missing (no learnt answer for it)
        seen = (getattr(self.model, "reference_", None) or {}).get("features", {})
        never_missing = {c for c in self.model.levels_ if isinstance(seen.get(c), dict) and seen[c].get("missing") == 0}
        self._no_missing = frozenset(f for f in self.model.features
                                     if (f not in self.model.levels_ and by_position.get(f, f) in zero) or f in never_missing)
        floor = {}
        self._domain = {f: FEATURE_DOMAINS[f] for f in self.model.features if f in FEATURE_DOMAINS}
        for feature in self.model.features:
            if feature in self.model.levels_ or feature in self._domain:
                continue
            info = infos.get(by_position.get(feature, feature), {})
            low = info.get("min_value") if isinstance(info, dict) else None
            if low is not None and low >= 0:
                floor[feature] = 0.0
        self._numeric_floor = floor
        self._lookup = {c: {level: i for i, level in enumerate(levels)} for c, levels in self.model.levels_.items()}
        self._folded = {c: {_fold(v): v for v in reversed(levels) if isinstance(v, str)} for c, levels in self.model.levels_.items()}
        # a rule is checked only when the model uses all its features (a config may drop some)
        pos = {f: j for j, f in enumerate(self.model.features)}
        self._invariants = tuple((inv, tuple(pos[c] for c in inv.columns)) for inv in FEATURE_INVARIANTS if all(c in pos for c in inv.columns))


def missing_read_as_zero(dump: dict) -> frozenset[str]:
    """Booster feature names some numeric split of ``dump`` (``Booster.dump_model()``) reads a missing value of as 0.

    LightGBM gives a split the missing type ``None`` when its feature had no missing value in
    training; predicting, it reads a missing value there as 0, a value it may never have seen
    (a month 0, a party of 0), so such a missing value is a problem of its row, not a missing branch.
    """
    names = dump.get("feature_names", [])
    found: set[str] = set()
    stack = [t["tree_structure"] for t in dump.get("tree_info", [])]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            if node.get("missing_type") == "None" and node.get("decision_type") == "<=":
                found.add(names[node["split_feature"]])
            stack += [node["left_child"], node["right_child"]]
    return frozenset(found)


# ----------------------------------------------------------------------------- input checks
#
# Two encoders with the same rules: a per-value one for a few rows (a service
# scoring one traveller must not pay pandas' per-column overhead) and a
# vectorised one for batches. tests/test_scoring.py checks they agree.

FAST_ROWS = 64


class Problems:
    """Bad values found while encoding: (column, problem, fix) -> row mask."""

    def __init__(self, n: int):
        self.n = n
        self.masks: dict[tuple[str, str, str], np.ndarray] = {}

    def add(self, column: str, problem: str, fix: str, rows) -> None:
        key = (column, problem, fix)
        if key not in self.masks:
            self.masks[key] = np.zeros(self.n, dtype=bool)
        self.masks[key][rows] = True

    def any_row(self) -> np.ndarray:
        bad = np.zeros(self.n, dtype=bool)
        for m in self.masks.values():
            bad |= m
        return bad

    def error(self, ids: np.ndarray) -> SchemaError:
        out = []
        for (column, problem, fix), mask in self.masks.items():
            rows = np.flatnonzero(mask)
            out.append(SchemaProblem(column, problem, fix, tuple(str(ids[i]) for i in rows[:_MAX_IDS]), len(rows)))
        return SchemaError("stays", out)

    def texts(self) -> np.ndarray:
        text = np.full(self.n, None, dtype=object)
        for (column, problem, _fix), mask in self.masks.items():
            for i in np.flatnonzero(mask):
                text[i] = f"{column}: {problem}" if text[i] is None else f"{text[i]}; {column}: {problem}"
        return text

    def counts(self) -> dict[str, int]:
        """Rows per column (for the summary warning)."""
        return {column: int(mask.sum()) for (column, _p, _f), mask in self.masks.items()}


_NOT_TEXT = "expected text (a category level)"
_NOT_NUMBER = "expected a number"
_INFINITE = "infinite value"
_NEGATIVE = "negative value where training never had one"


def _fix_text(levels):
    return f"send one of the levels seen in training, e.g. {list(levels)[:3]}"


_FIX_NUMBER = "send numbers (or true/false for yes/no fields)"
_FIX_INFINITE = "send a finite number, or leave the field empty if unknown"


def _fix_negative(c):
    return f"`{c}` counts days or events: send a value >= 0"


_LIST = "a list of values where one value is expected"
_FIX_LIST = "send one value per field and record; several stays as a list of records or a DataFrame (pd.DataFrame(d) for a dict of lists)"


def _is_list(v) -> bool:
    """Whether ``v`` holds several values (a list, array, dict, ...): a field of one stay holds one."""
    return isinstance(v, list | tuple | set | dict | np.ndarray | pd.Series)


_UNSEEN = "level not seen in training, scored as missing"


def _fold(level: str) -> str:
    """A level without case, with its spaces normalised and look-alike characters read as what they look like:
    ' pintu  udara Lainnya' folds as 'Pintu Udara Lainnya', 'Soekarno–Hatta' (an en dash, as Word and Excel write
    '-') and full-width letters as 'Soekarno-Hatta'."""
    text = unicodedata.normalize("NFKC", level)
    text = "".join("-" if unicodedata.category(ch) == "Pd" else ch for ch in text)
    return " ".join(text.split()).casefold()


def _variant(level: str, given: str) -> str:
    if " ".join(given.split()).casefold() == " ".join(level.split()).casefold():
        return f"level differs from the training level `{level}` only in case or spaces"
    return (f"level differs from the training level `{level}` only in look-alike characters (a dash or hyphen other than '-', "
            "full-width letters), case or spaces")


def _fix_variant(level: str) -> str:
    return f"send `{level}` exactly (levels are case- and space-sensitive)"


def _hidden(codes: tuple[str, ...]) -> str:
    # a level with a zero-width space or a byte-order mark was scored as unseen (another probability), while the
    # same level with a no-break space was refused as a variant: _fold normalises spaces, not what does not print
    return f"level holds characters that do not print ({', '.join(codes)})"


def _fix_hidden(scorer: Scorer, c: str, level: str) -> str:
    why = "zero-width spaces, byte-order marks and control characters come with copies from web forms and spreadsheet exports"
    clean = "".join(ch for ch in level if ch.isprintable() or ch.isspace())
    near = clean if clean in scorer._lookup[c] else scorer._folded[c].get(_fold(clean))
    if near is not None:
        return f"send `{near}` ({why})"
    return f"remove them ({why}); {_fix_text(scorer._lookup[c])}"


_NOT_ALLOWED = "level not allowed by the data contract"
_NOT_BOOL = "not a yes/no value; expected true/false (or 1/0)"
_YES_NO = "a yes/no value where a number is expected"


def _yes_no(v) -> bool:
    """Whether ``v`` is a boolean or a yes/no word (``True``, ``"false"``, ``"yes"``): never a count or a month."""
    if isinstance(v, bool | np.bool_):
        return True
    return isinstance(v, str) and v.strip().lower() in (_TRUE | _FALSE) - {"1", "0"}


def _fix_domain(c: str, d: Domain) -> str:
    return f"send `{c}` as {d.describe()} (see riskmodel.core.schema.FEATURE_DOMAINS)"


def _below(d: Domain) -> str:
    # the same words as the training-floor check: a caller sees one message for a negative count
    return _NEGATIVE if d.low == 0 else f"below {number_text(d.low)}; expected {d.describe()}"


def _not_a_number(c: str, d: Domain | None) -> tuple[str, str]:
    """The problem and fix of text that reads as no number: in a yes/no feature, no yes/no value (what it expects)."""
    return (_NOT_BOOL, _fix_domain(c, d)) if d is not None and d.kind == "bool" else (_NOT_NUMBER, _FIX_NUMBER)


def outside_domain(d: Domain, x: float) -> str | None:
    """Why the finite number ``x`` is outside the numeric domain ``d`` (None when inside)."""
    if d.kind == "bool":
        return None if x in (0.0, 1.0) else _NOT_BOOL
    if d.low is not None and x < d.low:
        return _below(d)
    if d.high is not None and x > d.high:
        return f"above {number_text(d.high)}; expected {d.describe()}"
    if d.kind != "number" and not x.is_integer():
        return f"not a whole number; expected {d.describe()}"
    return None


def _check_domain(c: str, d: Domain, x: np.ndarray, problems: Problems) -> np.ndarray:
    """Flag the values of ``x`` outside ``d`` (vectorised :func:`outside_domain`); returns ``x`` with them missing."""
    with np.errstate(invalid="ignore"):
        checks = []
        if d.kind == "bool":
            checks.append(((x != 0) & (x != 1) & ~np.isnan(x), _NOT_BOOL))
        elif d.low is not None:
            checks.append((x < d.low, _below(d)))
        if d.high is not None and d.kind != "bool":
            checks.append((x > d.high, f"above {number_text(d.high)}; expected {d.describe()}"))
        if d.kind == "int":
            checks.append(((x != np.floor(x)) & ~np.isnan(x), f"not a whole number; expected {d.describe()}"))
    out_of_domain = np.zeros(len(x), dtype=bool)
    for mask, problem in checks:
        mask &= ~out_of_domain  # one problem per value, the first that applies
        if mask.any():
            problems.add(c, problem, _fix_domain(c, d), mask)
            out_of_domain |= mask
    return np.where(out_of_domain, np.nan, x) if out_of_domain.any() else x


_MISSING_AS_ZERO = "missing where training never had a missing value (the model would read it as 0)"
_MISSING_CATEGORY = "missing where training never had a missing value (the model learnt no answer for it)"


def flag_missing_read_as_zero(scorer: Scorer, enc: np.ndarray, problems: Problems, notes: Problems | None = None) -> None:
    """Flag the rows whose encoded value is missing in a feature the model reads a missing value of as 0, or in a
    category training never saw missing.

    Rows already flagged for that column (absent, or a value refused) keep their own problem; a level not seen in
    training (in ``notes``) is scored as missing, with its warning.
    """
    for j, c in enumerate(scorer.model.features):
        if c not in scorer._no_missing:
            continue
        miss = np.isnan(enc[:, j])
        if not miss.any():
            continue
        for (column, _p, _f), mask in [*problems.masks.items(), *(notes.masks.items() if notes is not None else ())]:
            if column == c:
                miss &= ~mask
        if miss.any():
            d = scorer._domain.get(c)
            problems.add(c, _MISSING_CATEGORY if c in scorer.model.levels_ else _MISSING_AS_ZERO,
                         f"send `{c}`" + (f" as {d.describe()}" if d else "") + "; it is never missing in training", miss)


# a batch is judged in blocks of rows: each rule's temporaries then stay in the CPU cache, where over
# a million rows at once every one was a fresh 8 MB array
_BLOCK = 1 << 15
# up to this many rows, each row is judged on Python floats: cheaper than numpy calls on tiny arrays
_SCALAR_ROWS = 4


def flag_broken_invariants(scorer: Scorer, enc: np.ndarray, problems: Problems) -> None:
    """Flag the rows breaking a rule of :data:`~riskmodel.core.schema.FEATURE_INVARIANTS` among the model's features.

    Judged on the encoded values: a value refused already is missing there, and a missing value breaks no rule.
    """
    n = len(enc)
    if not scorer._invariants or not n:
        return
    records = enc.tolist() if n <= _SCALAR_ROWS else None
    for inv, idx in scorer._invariants:
        if records is not None:
            bad = [i for i, r in enumerate(records) if inv.excess(*(r[j] for j in idx)) > INVARIANT_TOLERANCE]
            if not bad:
                continue
        else:
            bad = None
            for start in range(0, n, _BLOCK):
                block = [enc[start:start + _BLOCK, j] for j in idx]
                with np.errstate(invalid="ignore", divide="ignore"):
                    worst = np.fmax.reduce(inv.excess(*block))  # NaN-ignoring: a missing value breaks no rule
                if worst > INVARIANT_TOLERANCE:
                    bad = np.zeros(n, dtype=bool) if bad is None else bad
                    bad[start:start + _BLOCK] = broken_invariant(inv, *block)
            if bad is None:
                continue
        c = inv.columns[0]
        others = ", ".join(f"`{o}`" for o in inv.columns[1:])
        problems.add(c, f"breaks `{inv.rule}` ({inv.why})",
                     f"correct `{c}` or {others}: riskmodel.core.features.build_features always meets this rule", bad)


def _norm(name) -> str:
    """A column name without case and separators: `Visa_Type`, `visaType` and `visa_type` agree."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def absent_features(features: list[str], columns: list, problems: Problems) -> list[str]:
    """Flag every row for each feature column the input lacks, naming the input column it was probably meant to be.

    A feature flagged already (given twice, see :func:`flat_unique`) is not called missing too.
    """
    present = set(columns) | {column for column, _p, _f in problems.masks}
    absent = [f for f in features if f not in present]
    if not absent:
        return absent
    others = [c for c in columns if c not in set(features)]
    by_norm = {_norm(c): c for c in reversed(others)}
    for f in absent:
        near = by_norm.get(_norm(f))
        if near is None:
            close = difflib.get_close_matches(f, [str(c) for c in others], n=1, cutoff=0.75)
            near = close[0] if close else None
        if near is None:
            problems.add(f, "feature column is missing", f"add `{f}` (rows as riskmodel.core.features.build_features makes them)", slice(None))
        else:
            problems.add(f, f"feature column is missing; the input has `{near}`", f"rename `{near}` to `{f}` (names are case-sensitive)", slice(None))
    return absent


def misspelt_id(id_column: str, columns: list, problems: Problems) -> None:
    """Flag every row when the record id column is absent but a column differing from it only in case or separators is
    there (``StayID`` for ``stay_id``): the rows would be numbered 0..n-1 under ``id_column``, and a caller whose ids are
    numbers would join each score to the stay whose id is its row number."""
    key = _norm(id_column)
    near = next((c for c in columns if c != id_column and _norm(c) == key), None)
    if near is not None:
        problems.add(id_column, f"id column is missing; the input has `{near}`",
                     f"rename `{near}` to `{id_column}`, or pass id_column={str(near)!r}", slice(None))


def flat_unique(frame: pd.DataFrame, problems: Problems, features=(), copied=()) -> pd.DataFrame:
    """The frame with only flat, unique column labels.

    Every row is flagged for a MultiIndex and for a feature given twice (which copy to score?). A column
    given twice that is copied to the output (``copied``: the record id, the passthrough columns) is a
    :class:`SchemaError` in any mode, as other passthrough problems are. Any other column given twice is an
    extra column, ignored like the rest: refusing every row for a column nothing reads was the old defect.
    """
    if isinstance(frame.columns, pd.MultiIndex):
        problems.add(
            "<columns>",
            f"column labels are a MultiIndex of {frame.columns.nlevels} levels, not feature names",
            "flatten them first, e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns], and name them as the features",
            slice(None),
        )
        return pd.DataFrame(index=frame.index)
    dup = frame.columns.duplicated(keep=False)
    twice = list(dict.fromkeys(frame.columns[dup]))
    refused = [c for c in twice if c in set(copied)]
    if refused:
        raise SchemaError("stays", [SchemaProblem(str(c), "column appears more than once", f"keep one column named `{c}`") for c in refused])
    for c in twice:
        if c in set(features):
            problems.add(str(c), "column appears more than once", f"keep one column named `{c}`", slice(None))
    return frame.loc[:, ~dup]


def to_float(v) -> float | None:
    """A JSON-ish scalar or a Decimal as float; None when it is not a number (the text "nan" and a Decimal NaN included).

    A Decimal is how a database's NUMERIC column reaches pandas (``pd.read_sql``) and Spark's DecimalType reaches
    ``mapInPandas``: an exact number, read as the float nearest to it (an infinite Decimal as an infinity).
    """
    if isinstance(v, bool | np.bool_):
        return float(v)
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    if isinstance(v, Decimal):
        # NUMERIC's 'NaN' is no number and no missing value either (that is NULL, read as None): refused, as the text "nan"
        return None if v.is_nan() else float(v)
    if isinstance(v, str):
        t = v.strip().lower()
        if t in _TRUE:
            return 1.0
        if t in _FALSE:
            return 0.0
        try:
            x = float(t)
        except ValueError:
            return None
        # the text "nan" is no number: a missing value is sent as null, never as text
        return None if x != x else x
    return None


def encode_small(scorer: Scorer, columns: list, values: np.ndarray, problems: Problems, notes: Problems) -> np.ndarray:
    """Encode a few rows value by value (``values``: object array, rows x columns)."""
    model = scorer.model
    n = values.shape[0]
    pos = {c: j for j, c in enumerate(columns)}
    enc = np.full((n, len(model.features)), np.nan)
    for f, c in enumerate(model.features):
        j = pos.get(c)
        if j is None:
            continue
        lut = scorer._lookup.get(c)
        floor = scorer._numeric_floor.get(c)
        domain = scorer._domain.get(c)
        for i in range(n):
            v = values[i, j]
            if v is None or v is pd.NA or (isinstance(v, float) and v != v) or v is pd.NaT:
                continue
            if _is_list(v):
                problems.add(c, _LIST, _FIX_LIST, i)
                continue
            if lut is not None:
                if isinstance(v, str):
                    code = lut.get(v)
                    if code is not None:
                        enc[i, f] = code
                    elif hidden := hidden_characters(v):
                        problems.add(c, _hidden(hidden), _fix_hidden(scorer, c, v), i)
                    elif (near := scorer._folded[c].get(_fold(v))) is not None:
                        problems.add(c, _variant(near, v), _fix_variant(near), i)
                    elif domain is not None and domain.kind == "enum" and v not in domain.values:
                        problems.add(c, _NOT_ALLOWED, _fix_domain(c, domain), i)
                    else:
                        notes.add(c, _UNSEEN, "", i)
                else:
                    problems.add(c, _NOT_TEXT, _fix_text(lut), i)
                continue
            x = to_float(v)
            if x is None:
                problems.add(c, *_not_a_number(c, domain), i)
            elif domain is not None and domain.kind in ("int", "number") and _yes_no(v):
                problems.add(c, _YES_NO, _fix_domain(c, domain), i)
            elif x in (np.inf, -np.inf):
                problems.add(c, _INFINITE, _FIX_INFINITE, i)
            elif domain is not None and domain.kind != "enum" and (why := outside_domain(domain, x)) is not None:
                problems.add(c, why, _fix_domain(c, domain), i)
            elif floor is not None and x < floor:
                problems.add(c, _NEGATIVE, _fix_negative(c), i)
            else:
                enc[i, f] = x
    return enc


def encode_frame(scorer: Scorer, df: pd.DataFrame, problems: Problems, notes: Problems) -> np.ndarray:
    """Encode a frame column by column (batches), straight into the model's float matrix.

    Same encoding as :meth:`RiskModel.encode` (levels as codes, unseen as missing),
    without building an intermediate frame: on a million rows the extra copy of
    every text column cost more than LightGBM's own predict.
    """
    model = scorer.model
    n = len(df)
    # column-major: each feature is written into contiguous memory (a row-major matrix took
    # strided writes, a cache miss per value); LightGBM predicts from either layout directly
    enc = np.empty((n, len(model.features)), dtype=np.float64, order="F")
    for j, c in enumerate(model.features):
        if c not in df.columns:
            enc[:, j] = np.nan
            continue
        s = df[c]
        if c in model.levels_:
            levels = model.levels_[c]
            if isinstance(s.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(s.cat.categories):
                values = s
            elif pd.api.types.is_string_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype) and s.dtype != object:
                values = s
            else:
                raw = s.to_numpy(dtype=object)
                text = np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=n)
                other = ~text & ~pd.isna(s).to_numpy()
                if other.any():
                    listed = other & np.fromiter((_is_list(v) for v in raw), dtype=bool, count=n)
                    if listed.any():
                        problems.add(c, _LIST, _FIX_LIST, listed)
                    if (other & ~listed).any():
                        problems.add(c, _NOT_TEXT, _fix_text(levels), other & ~listed)
                values = np.where(text, raw, None)
            codes = _level_codes(values, levels)
            if codes.dtype.kind == "f":  # Arrow gave nulls for missing and unseen levels
                codes = np.where(np.isnan(codes), -1, codes).astype(np.int64)
            missing = codes < 0
            if missing.any():
                _unknown_levels(c, scorer, values, missing, problems, notes)
            enc[:, j] = np.where(missing, np.nan, codes)
            continue
        domain = scorer._domain.get(c)
        numeric = domain is not None and domain.kind in ("int", "number")  # a count or a month, not a yes/no field
        # complex values go value by value and are refused as the few-rows path does (a cast drops the imaginary part)
        if pd.api.types.is_bool_dtype(s) or (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_complex_dtype(s)):
            x = s.to_numpy(dtype=float, na_value=np.nan)
            if numeric and pd.api.types.is_bool_dtype(s):
                given = ~np.isnan(x)
                if given.any():
                    problems.add(c, _YES_NO, _fix_domain(c, domain), given)
                    x = np.where(given, np.nan, x)
        else:
            raw = s.to_numpy(dtype=object)
            x = np.full(n, np.nan)
            for i, v in enumerate(raw):
                if v is None or v is pd.NA or (isinstance(v, float) and v != v):
                    continue
                f = to_float(v)
                if _is_list(v):
                    problems.add(c, _LIST, _FIX_LIST, i)
                elif f is None:
                    problems.add(c, *_not_a_number(c, domain), i)
                elif numeric and _yes_no(v):
                    problems.add(c, _YES_NO, _fix_domain(c, domain), i)
                else:
                    x[i] = f
        floor = scorer._numeric_floor.get(c)
        if _plainly_valid(x, domain, floor, whole=s.dtype.kind in "iub"):
            enc[:, j] = x
            continue
        inf = np.isinf(x)
        if inf.any():
            problems.add(c, _INFINITE, _FIX_INFINITE, inf)
            x = np.where(inf, np.nan, x)
        if domain is not None and domain.kind != "enum":
            x = _check_domain(c, domain, x, problems)
        if floor is not None:
            neg = x < floor
            if neg.any():
                problems.add(c, _NEGATIVE, _fix_negative(c), neg)
                x = np.where(neg, np.nan, x)
        enc[:, j] = x
    return enc


def _plainly_valid(x: np.ndarray, domain: Domain | None, floor: float | None, *, whole: bool) -> bool:
    """Whether every value of ``x`` is missing or plainly valid: finite, inside ``domain`` and ``floor``, whole where it must be.

    Two reductions (NaN-ignoring) answer for the whole column, so a batch pays for the per-value masks
    of the checks only when some value is bad; ``False`` sends it to them. ``whole``: the column came as integers.
    """
    if not len(x):
        return False
    lo, hi = np.fmin.reduce(x), np.fmax.reduce(x)
    if not (-np.inf < lo and hi < np.inf):  # an infinity, or every value missing: the checks decide
        return False
    if floor is not None and lo < floor:
        return False
    if domain is None or domain.kind == "enum":
        return True
    low, high = (0.0, 1.0) if domain.kind == "bool" else (domain.low, domain.high)
    if (low is not None and lo < low) or (high is not None and hi > high):
        return False
    return whole or domain.kind == "number" or _whole(x)


def _whole(x: np.ndarray) -> bool:
    """Whether every non-missing value of ``x`` is a whole number, in cache-sized blocks (no 8 MB temporaries)."""
    buf = np.empty(min(len(x), _BLOCK))
    for start in range(0, len(x), _BLOCK):
        part = x[start:start + _BLOCK]
        frac = buf[: len(part)]
        np.floor(part, out=frac)
        np.subtract(part, frac, out=frac)  # in [0, 1) for a finite value, NaN for a missing one
        if np.fmax.reduce(frac) > 0:
            return False
    return True


def _unknown_levels(c: str, scorer: Scorer, values, missing: np.ndarray, problems: Problems, notes: Problems) -> None:
    """Sort the given values without a code into levels with characters that do not print, training levels misspelt
    in case or spaces and levels the contract refuses (problems), and unseen ones (notes)."""
    domain = scorer._domain.get(c)
    raw = np.asarray(values, dtype=object)
    given = missing & pd.notna(raw)
    if not given.any():
        return
    near = np.full(len(raw), None, dtype=object)
    unseen = raw[given]
    # each distinct level folded once: a batch of millions repeats a few levels
    distinct = pd.unique(unseen)
    hidden = {v: codes for v in distinct if (codes := hidden_characters(v))}
    if hidden:
        which = np.full(len(raw), None, dtype=object)
        which[given] = [v if v in hidden else None for v in unseen]
        for v, codes in hidden.items():
            rows = which == v
            problems.add(c, _hidden(codes), _fix_hidden(scorer, c, v), rows)
            given &= ~rows
        unseen = raw[given]
        distinct = pd.unique(unseen)
    lookup = {v: scorer._folded[c].get(_fold(v)) for v in distinct}
    why = {v: _variant(level, v) for v, level in lookup.items() if level is not None}  # in case or spaces, or look-alikes
    near[given] = [why.get(v) for v in unseen]
    for problem, level in dict.fromkeys((why[v], lookup[v]) for v in why):
        rows = near == problem
        problems.add(c, problem, _fix_variant(level), rows)
        given &= ~rows
    if domain is not None and domain.kind == "enum":
        refused = given & ~pd.Series(raw).isin(domain.values).to_numpy()
        if refused.any():
            problems.add(c, _NOT_ALLOWED, _fix_domain(c, domain), refused)
            given &= ~refused
    if given.any():
        notes.add(c, _UNSEEN, "", given)


def _level_codes(values, levels: list[str]) -> np.ndarray:
    """Codes of ``values`` among ``levels`` (-1 for missing or unseen)."""
    if isinstance(values, pd.Series) and pd.api.types.is_string_dtype(values) and not isinstance(values.dtype, pd.CategoricalDtype):
        try:
            import pyarrow as pa
            import pyarrow.compute as pc

            arr = pa.array(values)  # zero-copy for Arrow-backed text
            idx = pc.index_in(arr, value_set=pa.array(levels, type=arr.type))
            return idx.to_numpy(zero_copy_only=False).astype(float) if idx.null_count else idx.to_numpy().astype(np.int64)
        except (ImportError, TypeError, ValueError, NotImplementedError):
            pass
    if isinstance(values, np.ndarray):
        # a hash lookup: pd.Categorical of values outside its categories is deprecated (pandas 3 warns, later raises)
        return pd.Index(levels, dtype=object).get_indexer(values)
    return pd.Categorical(values, categories=levels).codes


def as_input(stays) -> tuple[pd.DataFrame | None, list | None, np.ndarray | None, pd.Index]:
    """(frame, columns, values, index): a frame for batches, or columns + object values for a few rows."""
    if isinstance(stays, pd.Series):  # one row as pandas hands it out (df.iloc[0]): its record
        stays = stays.to_dict()
    if isinstance(stays, dict):
        stays = [stays]
    if isinstance(stays, list | tuple) and all(isinstance(r, dict) for r in stays):
        columns = list(dict.fromkeys(k for r in stays for k in r))
        # filled cell by cell: np.array() of records whose values are lists makes a 3-d array or fails
        values = np.empty((len(stays), len(columns)), dtype=object)
        for i, r in enumerate(stays):
            values[i, :] = [r.get(c) for c in columns]
        return None, columns, values, pd.RangeIndex(len(stays))
    if isinstance(stays, pd.DataFrame):
        if len(stays) <= FAST_ROWS and stays.columns.is_unique:
            return stays, list(stays.columns), stays.to_numpy(dtype=object), stays.index
        return stays, None, None, stays.index
    raise SchemaError(
        "stays",
        [SchemaProblem("<table>", f"expected a DataFrame, a dict or a list of dicts; got {type(stays).__name__}",
                       "pass a DataFrame of stays, or one stay as a dict or a Series")],
    )
