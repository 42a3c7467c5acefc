"""``score()``: calibrated overstay risk for one stay or millions, with reasons, for services and batches.

Input rows are stays with the model's feature columns, as
:func:`riskmodel.core.features.build_features` makes them (extra columns are
ignored). Categorical values may arrive as ``str``, ``object``, ``category`` or
straight from JSON; booleans as ``True/False``, ``0/1`` or ``"true"/"false"``.
A missing *value* (None, NaN) is scored as missing (LightGBM has a branch for
it); a feature *column* that is absent is a problem of every row, named with
the nearest input column when one looks like a misspelling (``Visa_Type``,
``plannedStayDays``), because scoring a record without its features would
give a confident "low" for garbage. Column labels must be flat, unique names.

Bad values never reach LightGBM: text in a numeric column, infinities, values
outside the feature's domain in the data contract
(:data:`riskmodel.core.schema.FEATURE_DOMAINS`: ranges, allowed levels,
booleans), and negative values in other columns that were never negative in
training are problems of that row. With ``errors="raise"`` (default) one
:class:`~riskmodel.core.exceptions.SchemaError` lists every problem, with the
column, the record ids and the fix; with ``errors="flag"`` those rows get a
missing probability and their problem in the ``error`` column while the other
rows are scored. Categorical levels allowed by the contract but never seen in
training are scored as missing, named per row in the ``warning`` column and
counted in an :class:`~riskmodel.core.exceptions.UnseenCategoryWarning`.

Every call appends a record to the audit log (:mod:`riskmodel.core.audit`).
"""

from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.core import audit
from riskmodel.core.artifacts import MANIFEST, verify_manifest
from riskmodel.core.exceptions import ModelLoadError, RiskModelWarning, SchemaError, SchemaProblem, UnseenCategoryWarning
from riskmodel.core.risk.model import RiskModel
from riskmodel.core.risk.reasons import explain_encoded
from riskmodel.core.schema import FEATURE_DOMAINS, Domain

__all__ = ["score", "as_scorer", "Scorer", "MissingFeatureWarning", "BAND_ORDER", "output_columns"]

BAND_ORDER = ("low", "elevated", "high")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_MAX_IDS = 5


class MissingFeatureWarning(RiskModelWarning):
    """Feature columns absent from the input (no longer emitted by :func:`score`, which flags such rows)."""


def output_columns(id_column: str = "stay_id", reasons: int = 3) -> list[str]:
    """The exact output columns of :func:`score`, in order."""
    return [
        id_column, "probability", "risk_band", *[f"reason_{i}" for i in range(1, reasons + 1)],
        "model_name", "model_version", "error", "warning",
    ]


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

    def __post_init__(self):
        infos = self.model.booster_.dump_model(num_iteration=self.model.best_iteration_).get("feature_infos", {})
        names = self.model.booster_.feature_name()
        by_position = dict(zip(self.model.features, names, strict=False))
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


def as_scorer(model: str | Path | RiskModel | Scorer) -> Scorer:
    """The :class:`Scorer` for a fitted model or a local model folder (verified against its manifest).

    MLflow URIs (``models:/...``, ``runs:/...``) are resolved by :func:`riskmodel.load`,
    which caches what it loads; this core function reads only local files.

    Raises
    ------
    ModelLoadError
        If ``model`` is a model URI, or the folder does not exist or holds no risk model.
    ArtifactIntegrityError
        If the folder's files differ from its manifest.
    """
    if isinstance(model, Scorer):
        return model
    if isinstance(model, RiskModel):
        return Scorer(model, name="in-memory", version="unsaved")
    if not isinstance(model, str | Path):
        raise ModelLoadError(f"`model` must be a RiskModel, a Scorer, a local model folder or a model URI; got {type(model).__name__}.")
    text = str(model)
    if text.startswith(("models:", "runs:")):
        raise ModelLoadError(f"`{text}` is a model URI: load it with riskmodel.load(uri) and pass the result, or call riskmodel.score.")
    path = Path(model)
    if not path.exists():
        raise ModelLoadError(f"model `{text}` not found: pass models:/name@alias, runs:/<run_id>/model, or a local model folder.")
    folder = path / "artifacts" / "risk_model" if (path / "artifacts" / "risk_model").is_dir() else path
    if not (folder / "meta.json").is_file():
        raise ModelLoadError(f"`{text}` holds no risk model (no meta.json); pass a folder written by RiskModel.save or logged to MLflow.")
    if (folder / MANIFEST).is_file() or folder != path:
        verify_manifest(folder)
    return Scorer(RiskModel.load(folder), name=path.name, version="local", source=str(path))


# ----------------------------------------------------------------------------- input checks
#
# Two encoders with the same rules: a per-value one for a few rows (a service
# scoring one traveller must not pay pandas' per-column overhead) and a
# vectorised one for batches. tests/test_scoring.py checks they agree.

_FAST_ROWS = 64
_TEXT = object if pd.__version__ < "3" else "str"


def _text(values: np.ndarray) -> Any:
    """Text output column from an object array (str dtype on pandas 3, object on pandas 2)."""
    return pd.array(values, dtype=_TEXT)


def _text_constant(value: str | None, n: int) -> Any:
    """A text column repeating one value (or missing): built in Arrow, not element by element."""
    if _TEXT is object:
        return np.full(n, value, dtype=object)
    import pyarrow as pa

    arr = pa.nulls(n, pa.large_string()) if value is None else pa.repeat(pa.scalar(value, pa.large_string()), n)
    return pd.array(arr, dtype=_TEXT)


class _Problems:
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


_UNSEEN = "level not seen in training, scored as missing"
_NOT_ALLOWED = "level not allowed by the data contract"
_NOT_BOOL = "not a yes/no value; expected true/false (or 1/0)"


def _fix_domain(c: str, d: Domain) -> str:
    return f"send `{c}` as {d.describe()} (see riskmodel.core.schema.FEATURE_DOMAINS)"


def _below(d: Domain) -> str:
    # the same words as the training-floor check: a caller sees one message for a negative count
    return _NEGATIVE if d.low == 0 else f"below {d.low:g}; expected {d.describe()}"


def _outside(d: Domain, x: float) -> str | None:
    """Why the finite number ``x`` is outside the numeric domain ``d`` (None when inside)."""
    if d.kind == "bool":
        return None if x in (0.0, 1.0) else _NOT_BOOL
    if d.low is not None and x < d.low:
        return _below(d)
    if d.high is not None and x > d.high:
        return f"above {d.high:g}; expected {d.describe()}"
    if d.kind != "number" and not x.is_integer():
        return f"not a whole number; expected {d.describe()}"
    return None


def _check_domain(c: str, d: Domain, x: np.ndarray, problems: _Problems) -> np.ndarray:
    """Flag the values of ``x`` outside ``d`` (vectorised :func:`_outside`); returns ``x`` with them missing."""
    with np.errstate(invalid="ignore"):
        checks = []
        if d.kind == "bool":
            checks.append(((x != 0) & (x != 1) & ~np.isnan(x), _NOT_BOOL))
        elif d.low is not None:
            checks.append((x < d.low, _below(d)))
        if d.high is not None and d.kind != "bool":
            checks.append((x > d.high, f"above {d.high:g}; expected {d.describe()}"))
        if d.kind == "int":
            checks.append(((x != np.floor(x)) & ~np.isnan(x), f"not a whole number; expected {d.describe()}"))
    out_of_domain = np.zeros(len(x), dtype=bool)
    for mask, problem in checks:
        mask &= ~out_of_domain  # one problem per value, the first that applies
        if mask.any():
            problems.add(c, problem, _fix_domain(c, d), mask)
            out_of_domain |= mask
    return np.where(out_of_domain, np.nan, x) if out_of_domain.any() else x


def _norm(name) -> str:
    """A column name without case and separators: `Visa_Type`, `visaType` and `visa_type` agree."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _absent_features(features: list[str], columns: list, problems: _Problems) -> list[str]:
    """Flag every row for each feature column the input lacks, naming the input column it was probably meant to be."""
    present = set(columns)
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


def _flat_unique(frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    """The frame with only flat, unique column labels; every row is flagged for the others."""
    if isinstance(frame.columns, pd.MultiIndex):
        problems.add(
            "<columns>",
            f"column labels are a MultiIndex of {frame.columns.nlevels} levels, not feature names",
            "flatten them first, e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns], and name them as the features",
            slice(None),
        )
        return pd.DataFrame(index=frame.index)
    dup = frame.columns.duplicated(keep=False)
    for c in dict.fromkeys(frame.columns[dup]):
        problems.add(str(c), "column appears more than once", f"keep one column named `{c}`", slice(None))
    return frame.loc[:, ~dup]


def _to_float(v) -> float | None:
    """A JSON-ish scalar as float; None when it is not a number."""
    if isinstance(v, bool | np.bool_):
        return float(v)
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    if isinstance(v, str):
        t = v.strip().lower()
        if t in _TRUE:
            return 1.0
        if t in _FALSE:
            return 0.0
        try:
            return float(t)
        except ValueError:
            return None
    return None


def _encode_small(scorer: Scorer, columns: list, values: np.ndarray, problems: _Problems, notes: _Problems) -> np.ndarray:
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
            if lut is not None:
                if isinstance(v, str):
                    code = lut.get(v)
                    if code is not None:
                        enc[i, f] = code
                    elif domain is not None and domain.kind == "enum" and v not in domain.values:
                        problems.add(c, _NOT_ALLOWED, _fix_domain(c, domain), i)
                    else:
                        notes.add(c, _UNSEEN, "", i)
                else:
                    problems.add(c, _NOT_TEXT, _fix_text(lut), i)
                continue
            x = _to_float(v)
            if x is None:
                problems.add(c, _NOT_NUMBER, _FIX_NUMBER, i)
            elif x in (np.inf, -np.inf):
                problems.add(c, _INFINITE, _FIX_INFINITE, i)
            elif domain is not None and domain.kind != "enum" and (why := _outside(domain, x)) is not None:
                problems.add(c, why, _fix_domain(c, domain), i)
            elif floor is not None and x < floor:
                problems.add(c, _NEGATIVE, _fix_negative(c), i)
            else:
                enc[i, f] = x
    return enc


def _encode_frame(scorer: Scorer, df: pd.DataFrame, problems: _Problems, notes: _Problems) -> np.ndarray:
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
                null = pd.isna(s).to_numpy()
                if (~text & ~null).any():
                    problems.add(c, _NOT_TEXT, _fix_text(levels), ~text & ~null)
                values = np.where(text, raw, None)
            codes = _level_codes(values, levels)
            if codes.dtype.kind == "f":  # Arrow gave nulls for missing and unseen levels
                codes = np.where(np.isnan(codes), -1, codes).astype(np.int64)
            missing = codes < 0
            if missing.any():
                _unknown_levels(c, scorer._domain.get(c), values, missing, problems, notes)
            enc[:, j] = np.where(missing, np.nan, codes)
            continue
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            x = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            raw = s.to_numpy(dtype=object)
            x = np.full(n, np.nan)
            for i, v in enumerate(raw):
                if v is None or v is pd.NA or (isinstance(v, float) and v != v):
                    continue
                f = _to_float(v)
                if f is None:
                    problems.add(c, _NOT_NUMBER, _FIX_NUMBER, i)
                else:
                    x[i] = f
        inf = np.isinf(x)
        if inf.any():
            problems.add(c, _INFINITE, _FIX_INFINITE, inf)
            x = np.where(inf, np.nan, x)
        domain = scorer._domain.get(c)
        if domain is not None and domain.kind != "enum":
            x = _check_domain(c, domain, x, problems)
        floor = scorer._numeric_floor.get(c)
        if floor is not None:
            neg = x < floor
            if neg.any():
                problems.add(c, _NEGATIVE, _fix_negative(c), neg)
                x = np.where(neg, np.nan, x)
        enc[:, j] = x
    return enc


def _unknown_levels(c: str, domain: Domain | None, values, missing: np.ndarray, problems: _Problems, notes: _Problems) -> None:
    """Sort the given values without a code into levels the contract refuses (problems) and unseen ones (notes)."""
    raw = np.asarray(values, dtype=object)
    given = missing & pd.notna(raw)
    if not given.any():
        return
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


def _as_input(stays) -> tuple[pd.DataFrame | None, list | None, np.ndarray | None, pd.Index]:
    """(frame, columns, values, index): a frame for batches, or columns + object values for a few rows."""
    if isinstance(stays, dict):
        stays = [stays]
    if isinstance(stays, list | tuple) and all(isinstance(r, dict) for r in stays):
        columns = list(dict.fromkeys(k for r in stays for k in r))
        values = np.array([[r.get(c) for c in columns] for r in stays], dtype=object).reshape(len(stays), len(columns))
        return None, columns, values, pd.RangeIndex(len(stays))
    if isinstance(stays, pd.DataFrame):
        if len(stays) <= _FAST_ROWS and stays.columns.is_unique:
            return stays, list(stays.columns), stays.to_numpy(dtype=object), stays.index
        return stays, None, None, stays.index
    raise SchemaError(
        "stays",
        [SchemaProblem("<table>", f"expected a DataFrame, a dict or a list of dicts; got {type(stays).__name__}", "pass a DataFrame of stays")],
    )


# ----------------------------------------------------------------------------- score


def score(
    stays,
    *,
    model: str | Path | RiskModel | Scorer,
    reasons: int = 3,
    reasons_min_band: str | None = None,
    errors: str = "raise",
    passthrough: tuple[str, ...] | list[str] = (),
    id_column: str = "stay_id",
    purpose: str | None = None,
    audit_log: bool = True,
) -> pd.DataFrame:
    """Score stays: calibrated overstay probability, risk band and top reasons, one row per input row.

    Parameters
    ----------
    stays : DataFrame, dict or list of dict
        Stays with the model's feature columns (see :func:`riskmodel.core.features.build_features`);
        other columns are ignored unless listed in ``passthrough``.
    model : str, Path, RiskModel or Scorer
        A fitted model, a local model folder, or an MLflow URI such as
        ``models:/overstay-risk@champion`` or ``runs:/<run_id>/model`` (see :func:`load`).
    reasons : int, default=3
        Reasons per row (0 for none: much faster on large batches).
    reasons_min_band : {"elevated", "high"}, optional
        Compute reasons only for rows in this band or above (batch jobs); others get empty reasons.
    errors : {"raise", "flag"}, default="raise"
        ``"raise"``: one SchemaError listing every bad value and every missing,
        misspelt, duplicated or MultiIndex column. ``"flag"``: bad rows (every row,
        for a column problem) get a missing probability and band and their problem
        in ``error``.
    passthrough : sequence of str, default=()
        Input columns copied to the output after the fixed columns.
    id_column : str, default="stay_id"
        Record id column, copied first (row positions are used when it is absent).
    purpose : str, optional
        Why this scoring is done (recorded in the audit log).
    audit_log : bool, default=True
        Append an audit record for this call.

    Returns
    -------
    DataFrame
        Same rows, same order, same index as ``stays``, columns exactly
        :func:`output_columns` (then ``passthrough``):
        ``<id_column>`` (as given), ``probability`` (float64, calibrated; NaN for
        flagged rows), ``risk_band`` (text: ``low``, ``elevated``, ``high``;
        missing for flagged rows), ``reason_1`` .. ``reason_<reasons>`` (text or
        missing), ``model_name``, ``model_version`` (text), ``error`` (text or
        missing: why the row was not scored), ``warning`` (text or missing: what
        was scored as missing although given, i.e. categorical levels never seen
        in training, as ``"<column>: level not seen in training, scored as
        missing"``). Text columns are ``str`` dtype on pandas 3 and ``object`` on
        pandas 2. Reasons explain the booster's uncalibrated margin (see
        :mod:`riskmodel.core.risk.reasons`).

    Raises
    ------
    SchemaError
        With ``errors="raise"``, listing every bad or missing column with its record ids and the
        fix (a misspelt or wrongly cased column is named with the expected name);
        in any mode, when ``stays`` is not tabular or a passthrough column is absent.
    ValueError
        For a bad argument (``errors``, ``reasons``, ``reasons_min_band``).
    ModelLoadError, ArtifactIntegrityError
        If ``model`` cannot be loaded or fails its integrity check.

    Examples
    --------
    >>> from riskmodel import score
    >>> out = score(feature_rows, model="models:/overstay-risk@champion")  # doctest: +SKIP
    >>> list(out.columns)[:3]  # doctest: +SKIP
    ['stay_id', 'probability', 'risk_band']
    """
    check_score_args(errors, reasons, reasons_min_band)
    scorer = as_scorer(model)
    problems = _Problems(len(stays) if isinstance(stays, pd.DataFrame) else 0)
    if isinstance(stays, pd.DataFrame) and (isinstance(stays.columns, pd.MultiIndex) or not stays.columns.is_unique):
        stays = _flat_unique(stays, problems)
    frame, columns, values, index = _as_input(stays)
    n = len(index)
    problems.n = n
    notes = _Problems(n)
    absent = _absent_features(scorer.model.features, columns if columns is not None else list(frame.columns), problems)
    if values is not None:
        enc = _encode_small(scorer, columns, values, problems, notes)
        pos = {c: j for j, c in enumerate(columns)}

        def column(c):
            return values[:, pos[c]] if c in pos else None
    else:
        enc = _encode_frame(scorer, frame, problems, notes)

        def column(c):
            if c not in frame.columns:
                return None
            # pandas 3 (copy-on-write): the column's own array, no copy of a million ids
            return frame[c].array if _TEXT != object else frame[c].to_numpy()

    missing_pass = [c for c in passthrough if column(c) is None]
    if missing_pass:
        raise SchemaError("stays", [SchemaProblem(c, "passthrough column is missing", "drop it from `passthrough` or add it to the input") for c in missing_pass])
    given_ids = column(id_column)
    ids = given_ids if given_ids is not None else np.array([f"row {i}" for i in range(n)], dtype=object)
    bad = problems.any_row() if problems.masks else np.zeros(n, dtype=bool)
    # a missing or malformed column is refused even when there are no rows to flag
    if errors == "raise" and (bad.any() or problems.masks):
        raise problems.error(ids)
    if notes.masks:
        warnings.warn(
            f"categorical levels not seen in training were scored as missing (see the `warning` column), per column: "
            f"{notes.counts()}; silence with "
            "warnings.filterwarnings('ignore', category=riskmodel.UnseenCategoryWarning).",
            UnseenCategoryWarning,
            stacklevel=2,
        )
    model_ = scorer.model
    good = ~bad
    names = model_.band_names()
    if bad.any():
        probability = np.full(n, np.nan)
        band = np.full(n, -1, dtype=np.int8)
        if good.any():
            probability[good] = _predict(model_, enc[good])
            band[good] = model_.band_codes(probability[good])
    else:
        probability = _predict(model_, enc) if n else np.zeros(0)
        band = model_.band_codes(probability)
    out: dict[str, Any] = {id_column: given_ids if given_ids is not None else np.arange(n)}
    out["probability"] = probability
    out["risk_band"] = _band_text(band, names)
    for name, texts in _reasons(model_, enc, band, names, good, reasons, reasons_min_band).items():
        out[name] = _text(texts)
    out["model_name"] = _text_constant(scorer.name, n)
    out["model_version"] = _text_constant(scorer.version, n)
    # one all-missing text column, copied (building one costs more than a one-row prediction)
    empty = _text_constant(None, n) if not (problems.masks and notes.masks) else None
    out["error"] = _text(problems.texts()) if problems.masks else empty
    out["warning"] = _text(notes.texts()) if notes.masks else empty.copy()
    for c in passthrough:
        out[c] = column(c)
    result = pd.DataFrame(out, index=index, copy=False)
    if audit_log:
        per_code = np.bincount(band[band >= 0], minlength=len(names)) if n else np.zeros(len(names), dtype=int)
        counts = {b: int(per_code[names.index(b)]) if b in names else 0 for b in BAND_ORDER}
        counts["flagged"] = int(bad.sum())
        audit.append(
            "score",
            model_name=scorer.name,
            model_version=scorer.version,
            input_digest=audit.digest(enc),
            rows=n,
            band_counts=counts,
            purpose=purpose,
        )
    return result


def _band_text(codes: np.ndarray, names: list[str]) -> Any:
    """Text band column from codes (-1: flagged row, missing band)."""
    if _TEXT is object or len(codes) <= _FAST_ROWS:
        return _text(np.array([*names, None], dtype=object)[codes])
    import pyarrow as pa

    return pd.array(pa.array([*names, None], pa.large_string()).take(pa.array(np.where(codes < 0, len(names), codes))), dtype=_TEXT)


def check_score_args(errors: str, reasons, reasons_min_band: str | None) -> None:
    """Validate the options shared by :func:`score` and the Spark adapter; raise ValueError naming the argument."""
    if errors not in ("raise", "flag"):
        raise ValueError(f"`errors` must be 'raise' or 'flag'; got {errors!r}.")
    if isinstance(reasons, bool) or not isinstance(reasons, int | np.integer) or reasons < 0:
        raise ValueError(f"`reasons` must be an int >= 0; got {reasons!r}.")
    if reasons_min_band is not None and reasons_min_band not in BAND_ORDER:
        raise ValueError(f"`reasons_min_band` must be one of {list(BAND_ORDER)} or None; got {reasons_min_band!r}.")


def _predict(model: RiskModel, enc: np.ndarray) -> np.ndarray:
    """Calibrated probabilities; a few rows predict on one thread (no OpenMP start-up per call)."""
    if len(enc) <= _FAST_ROWS:
        margin = model.booster_.predict(enc, raw_score=True, num_iteration=model.best_iteration_, num_threads=1)
        return model.calibrator_.transform(margin)
    return model.predict_proba(enc)


def _reasons(
    model: RiskModel, enc: np.ndarray, band: np.ndarray, names: list[str], good: np.ndarray, k: int, min_band: str | None
) -> dict[str, np.ndarray]:
    n = len(enc)
    cols = {f"reason_{i}": np.full(n, None, dtype=object) for i in range(1, k + 1)}
    if k == 0 or n == 0:
        return cols
    want = good.copy()
    if min_band is not None:
        allowed = [i for i, name in enumerate(names) if name in BAND_ORDER[BAND_ORDER.index(min_band):]]
        want &= np.isin(band, allowed)
    if not want.any():
        return cols
    rows = enc[want] if not want.all() else enc
    contrib = None
    if len(rows) <= _FAST_ROWS:
        contrib = np.asarray(model.booster_.predict(rows, pred_contrib=True, num_iteration=model.best_iteration_, num_threads=1))
    explained = explain_encoded(model, rows, k=k, contributions=contrib)
    for i in range(1, min(k, explained.shape[1] // 4) + 1):
        cols[f"reason_{i}"][want] = explained[f"reason_{i}"].to_numpy(dtype=object)
    return cols
