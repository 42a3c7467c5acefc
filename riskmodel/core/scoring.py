"""``score()``: calibrated overstay risk for one stay or millions, with reasons, for services and batches.

Input rows are stays with the model's feature columns, as
:func:`riskmodel.core.features.build_features` makes them (extra columns are
ignored). Categorical values may arrive as ``str``, ``object``, ``category`` or
straight from JSON; booleans as ``True/False``, ``0/1`` or ``"true"/"false"``.
A missing *value* (None, NaN) is scored as missing where training had missing
values of that feature (LightGBM learnt a branch for them); in a numeric feature
never missing in training it is a problem of its row, since LightGBM would read
it as 0 (a null ``entry_month`` scored as month 0). A feature *column* that is
absent is a problem of every row, named with the nearest input column when one looks like a misspelling (``Visa_Type``,
``plannedStayDays``), because scoring a record without its features would
give a confident "low" for garbage. Column labels must be flat; a feature given twice is a problem of
every row, the record id or a passthrough column given twice a SchemaError (which copy to copy out?), and
any other column given twice an extra column, ignored.

Bad values never reach LightGBM: text in a numeric column, infinities, a list where one value
belongs (a dict of columns sent as one record), values
outside the feature's domain in the data contract
(:data:`riskmodel.core.schema.FEATURE_DOMAINS`: ranges, allowed levels,
booleans), rows breaking a rule between features that ``build_features`` always meets
(:data:`riskmodel.core.schema.FEATURE_INVARIANTS`: ``prior_visits_365d <= prior_visits``, ...), and
negative values in other columns that were never negative in training are problems of that row. With ``errors="raise"`` (default) one
:class:`~riskmodel.core.exceptions.SchemaError` lists every problem, with the
column, the record ids and the fix; with ``errors="flag"`` those rows get a
missing probability and their problem in the ``error`` column while the other
rows are scored. A level seen in training but sent in another case or with other
spaces (``batam`` for ``Batam``) is a problem of its row, naming the level meant, and so is a
row whose id (``id_column``, when given) is missing or blank text (``""``, spaces: an empty form field): its score would be for nobody a caller can find, and so is every
row whose id another row of the same call has (a feed delivered twice, or two stays under one id: which copy to
score cannot be told; a batch job or Spark judges each chunk or Arrow batch it scores, not the file).
Categorical levels allowed by the contract but never seen in
training are scored as missing, named per row in the ``warning`` column and
counted in an :class:`~riskmodel.core.exceptions.UnseenCategoryWarning`.

Every call appends a record to the audit log (:mod:`riskmodel.core.audit`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.core import audit
from riskmodel.core.artifacts import MANIFEST, logged_model_around, verify_manifest
from riskmodel.core.entry import features_at_entry
from riskmodel.core.exceptions import ModelLoadError, RiskModelWarning, SchemaError, SchemaProblem, UnseenCategoryWarning
from riskmodel.core.risk.model import MODEL_FILES, RiskModel
from riskmodel.core.risk.reasons import reason_arrays
from riskmodel.core.schema import scientific_ids
from riskmodel.core.score_input import (
    FAST_ROWS,
    Problems,
    Scorer,
    absent_features,
    as_input,
    encode_frame,
    encode_small,
    flag_broken_invariants,
    flag_missing_read_as_zero,
    flat_unique,
    misspelt_id,
)

__all__ = ["score", "as_scorer", "Scorer", "MissingFeatureWarning", "BAND_ORDER", "output_columns", "check_passthrough"]

BAND_ORDER = ("low", "elevated", "high")
#: Most reasons a call may ask for: more than any model has inputs (the shipped config's has about a dozen reason groups,
#: and the columns past a model's groups are empty); a larger ``reasons`` only builds empty columns, for minutes.
MAX_REASONS = 100


class MissingFeatureWarning(RiskModelWarning):
    """Feature columns absent from the input (no longer emitted by :func:`score`, which flags such rows)."""


def output_columns(id_column: str = "stay_id", reasons: int = 3) -> list[str]:
    """The exact output columns of :func:`score`, in order."""
    return [
        id_column, "probability", "risk_band", *[f"reason_{i}" for i in range(1, reasons + 1)],
        "model_name", "model_version", "error", "warning",
    ]


def as_scorer(model: str | Path | RiskModel | Scorer) -> Scorer:
    """The :class:`Scorer` for a fitted model or a local model folder (verified against its manifest).

    MLflow URIs (``models:/...``, ``runs:/...``) are resolved by :func:`riskmodel.load`,
    which caches what it loads; this core function reads only local files. A folder of a
    model logged to MLflow (or its ``data/risk_model``) is refused: only :func:`riskmodel.load`
    checks it whole, with the store's key.

    Raises
    ------
    ModelLoadError
        If ``model`` is a model URI or a folder of a logged model, or the folder does not exist or holds no risk model.
    ArtifactIntegrityError
        If the folder's files differ from its manifest.
    """
    if isinstance(model, Scorer):
        return model
    if isinstance(model, RiskModel):
        return _wrapped(model)
    if not isinstance(model, str | Path):
        raise ModelLoadError(f"`model` must be a RiskModel, a Scorer, a local model folder or a model URI; got {type(model).__name__}.")
    text = str(model)
    if text.startswith(("models:", "runs:")):
        raise ModelLoadError(f"`{text}` is a model URI: load it with riskmodel.load(uri) and pass the result, or call riskmodel.score.")
    path = Path(model)
    if not path.exists():
        raise ModelLoadError(f"model `{text}` not found: pass models:/name@alias, runs:/<run_id>/model, or a local model folder.")
    logged = logged_model_around(path)
    if logged is not None:
        # only the whole logged model can be checked, with its store's key: a manifest of data/risk_model alone can be deleted
        raise ModelLoadError(
            f"`{text}` lies in a model logged to MLflow (`{logged}`), which only riskmodel.load can check, as a whole and "
            f"with the store's key. Fix: pass riskmodel.load({text!r}) (or the models:/ URI), or call riskmodel.score / "
            "riskmodel.score_file, which load it so."
        )
    folder = path / "artifacts" / "risk_model" if (path / "artifacts" / "risk_model").is_dir() else path
    if not (folder / "meta.json").is_file():
        raise ModelLoadError(f"`{text}` holds no risk model (no meta.json); pass a folder written by RiskModel.save or logged to MLflow.")
    if (folder / MANIFEST).is_file() or folder != path:
        # the bytes checked are the bytes parsed: loaded again from the folder, a file rewritten after the check would score
        loaded = RiskModel.from_files(verify_manifest(folder, read=MODEL_FILES), where=folder)
    else:
        loaded = RiskModel.load(folder)
    return Scorer(loaded, name=path.name, version="local", source=str(path))


def _wrapped(model: RiskModel) -> Scorer:
    """The Scorer of a fitted model given itself, built once per fit and held on the model.

    Building one dumps every tree of the booster (40 ms for the benchmark's model, 70 times a one-record score), which
    ``score(record, model=fitted)`` paid on every call. It is held with what it was built from (the booster, levels,
    training reference, iteration and features): a new fit replaces them, and the next call builds a new Scorer.
    """
    state = (getattr(model, "booster_", None), getattr(model, "levels_", None), getattr(model, "reference_", None),
             getattr(model, "best_iteration_", None), tuple(model.features))
    if state[0] is None:
        model._require_fitted()  # NotFittedError naming the fix, not an AttributeError from inside the Scorer
    held = model.__dict__.get("_scorer_cache")
    # the held Scorer's own model: a copy (copy.copy, a __dict__ copied over) holds its original's Scorer
    if held is not None and held[1].model is model and all(a is b for a, b in zip(held[0][:3], state[:3], strict=True)) \
            and held[0][3:] == state[3:]:
        return held[1]
    scorer = Scorer(model, name="in-memory", version="unsaved")
    model.__dict__["_scorer_cache"] = (state, scorer)
    return scorer


# ----------------------------------------------------------------------------- output text

# the dtype itself, not its name: pd.array looks a name up in the dtype registry on every call (half the cost of a
# one-row text column, and a border score builds several)
_TEXT = object if pd.__version__ < "3" else pd.api.types.pandas_dtype("str")


def _text(values: np.ndarray) -> Any:
    """Text output column from an object array of text and missing values (str dtype on pandas 3, object on pandas 2)."""
    if _TEXT is object:
        return pd.array(values, dtype=_TEXT)
    import pyarrow as pa

    try:  # the str dtype's own Arrow array, built directly: pd.array's checks cost more than a one-row score's text
        return pd.arrays.ArrowStringArray(pa.array(values, pa.large_string(), from_pandas=True), dtype=_TEXT)
    except (pa.ArrowException, TypeError, ValueError):
        return pd.array(values, dtype=_TEXT)


def _text_constant(value: str | None, n: int) -> Any:
    """A text column repeating one value (or missing): built in Arrow, not element by element."""
    if _TEXT is object:
        return np.full(n, value, dtype=object)
    import pyarrow as pa

    arr = pa.nulls(n, pa.large_string()) if value is None else pa.repeat(pa.scalar(value, pa.large_string()), n)
    return pd.arrays.ArrowStringArray(arr, dtype=_TEXT)


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
    history=None,
) -> pd.DataFrame:
    """Score stays: calibrated overstay probability, risk band and top reasons, one row per input row.

    Parameters
    ----------
    stays : DataFrame, dict, list of dict or Series
        Stays with the model's feature columns (a Series is one stay, as ``df.iloc[0]`` gives it) (see :func:`riskmodel.core.features.build_features`);
        other columns are ignored unless listed in ``passthrough``. Numbers may be ints, floats or
        finite ``decimal.Decimal`` values (a database's NUMERIC columns). With ``history``: one entry
        record instead (a crossings-log entry row, see :func:`riskmodel.core.entry.features_at_entry`).
    model : str, Path, RiskModel or Scorer
        A fitted model, a local model folder, or an MLflow URI such as
        ``models:/overstay-risk@champion`` or ``runs:/<run_id>/model`` (see :func:`load`).
    reasons : int, default=3
        Reasons per row (0 for none: much faster on large batches), at most :data:`MAX_REASONS` (100); columns past
        the model's reason groups are empty.
    reasons_min_band : {"low", "elevated", "high"}, optional
        Compute reasons only for rows in this band or above (batch jobs); others get empty reasons.
        ``"low"`` (every band) is the same as None.
    errors : {"raise", "flag"}, default="raise"
        ``"raise"``: one SchemaError listing every bad value and every missing,
        misspelt, duplicated or MultiIndex column. ``"flag"``: bad rows (every row,
        for a column problem) get a missing probability and band and their problem
        in ``error``.
    passthrough : sequence of str, default=()
        Input columns copied to the output after the fixed columns; none may be named as an output
        column other than ``id_column`` (it would replace the score). A list: one name given as a
        string is refused (it would be read letter by letter).
    id_column : str, default="stay_id"
        Record id column, copied first (an index of that name is read as it, ``df.set_index("stay_id")``; row positions
        are used when neither is there; a column differing from it only in
        case or separators, ``StayID``, is a problem of every row, named: its ids would be replaced by row numbers).
    purpose : str, optional
        Why this scoring is done (recorded in the audit log as given): say why, not whom; a run of 5 or more
        digits (an id, a passport or a phone number; dates aside) is refused (:func:`riskmodel.core.audit.check_purpose`).
    audit_log : bool, default=True
        Append an audit record for this call.
    history : DataFrame or list of dict, optional
        The traveller's other crossings: ``stays`` is then an arriving traveller's entry record,
        and its feature row is built from both (:func:`~riskmodel.core.entry.features_at_entry`)
        before scoring, so a border desk needs no feature pipeline. ``[]`` for a first visit. ``id_column`` and
        ``passthrough`` may name the entry record's own fields (``crossing_id``, a field the desk adds).

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
        missing"``; a reason such a level raises reads e.g. ``"entry port not seen in training, scored as
        unknown"``). Text columns are ``str`` dtype on pandas 3 and ``object`` on
        pandas 2. Reasons explain the booster's uncalibrated margin (see
        :mod:`riskmodel.core.risk.reasons`).

    Raises
    ------
    SchemaError
        With ``errors="raise"``, listing every bad or missing column with its record ids and the
        fix (a misspelt or wrongly cased column is named with the expected name);
        in any mode, when ``stays`` is not tabular, a passthrough column is absent or named as an
        output column, the record id or a passthrough column is given twice, or (with
        ``history``) when the entry record or the history lacks a field or either breaks the
        crossings log's contract (see :func:`~riskmodel.core.entry.features_at_entry`).
    ValueError
        For a bad argument (``errors``, ``reasons``, ``reasons_min_band``, a string as ``passthrough``, a ``purpose``
        that could name a person).
    ModelLoadError, ArtifactIntegrityError
        If ``model`` cannot be loaded or fails its integrity check.

    Examples
    --------
    >>> from riskmodel import score
    >>> out = score(feature_rows, model="models:/overstay-risk@champion")  # doctest: +SKIP
    >>> list(out.columns)[:3]  # doctest: +SKIP
    ['stay_id', 'probability', 'risk_band']
    >>> score(entry_record, history=earlier_crossings, model=...)  # doctest: +SKIP
    """
    check_score_args(errors, reasons, reasons_min_band, passthrough)
    if audit_log:
        audit.check_purpose(purpose)  # before any row is scored: a refused call is audited with its purpose too
    scorer = as_scorer(model)
    if history is not None:
        stays = _with_entry_fields(_entry_row(stays, history, scorer, purpose, audit_log), stays, (id_column, *passthrough))
    problems = Problems(len(stays) if isinstance(stays, pd.DataFrame) else 0)
    if isinstance(stays, pd.DataFrame) and (isinstance(stays.columns, pd.MultiIndex) or not stays.columns.is_unique):
        stays = flat_unique(stays, problems, scorer.model.features, (id_column, *passthrough))
    frame, columns, values, index = as_input(stays)
    n = len(index)
    problems.n = n
    notes = Problems(n)
    # a list of no records has no columns to lack (an empty frame still has its own): nothing to refuse, no row to score
    no_records = frame is None and len(index) == 0
    if not no_records:
        absent_features(scorer.model.features, columns if columns is not None else list(frame.columns), problems)
    if values is not None:
        enc = encode_small(scorer, columns, values, problems, notes)
        pos = {c: j for j, c in enumerate(columns)}

        def column(c):
            return values[:, pos[c]] if c in pos else None
    else:
        enc = encode_frame(scorer, frame, problems, notes)

        def column(c):
            if c not in frame.columns:
                return None
            # pandas 3 (copy-on-write): the column's own array, no copy of a million ids
            return frame[c].array if _TEXT != object else frame[c].to_numpy()

    flag_missing_read_as_zero(scorer, enc, problems, notes)
    flag_broken_invariants(scorer, enc, problems)
    check_passthrough(passthrough, [c for c in passthrough if column(c) is None and not no_records],
                      output_columns(id_column, reasons), id_column)
    given_ids = _given_ids(column(id_column), stays, id_column)
    if given_ids is None and not no_records:
        misspelt_id(id_column, columns if columns is not None else list(frame.columns), problems)
    ids = _row_names(given_ids, n, id_column, problems)
    bad = problems.any_row() if problems.masks else np.zeros(n, dtype=bool)
    # a missing or malformed column is refused even when there are no rows to flag
    if errors == "raise" and (bad.any() or problems.masks):
        if audit_log:
            # a refused call is a call: its record says what was refused (rows, columns), never a value or an id
            _audit_call("score_refused", scorer, enc, purpose, refused_rows=int(bad.sum()), problems=problems.counts())
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
    unseen = {column: rows for (column, _problem, _fix), rows in notes.masks.items()}
    for name, texts in _reasons(model_, enc, band, names, good, reasons, reasons_min_band, unseen).items():
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
        _audit_call("score", scorer, enc, purpose, band_counts=counts)
    return result


def _given_ids(ids, stays, id_column: str):
    """The record ids: the ``id_column`` column's, else an index of that name (``df.set_index("stay_id")``), else None.
    Numbering the rows of a frame whose ids are its index put 0, 1, ... beside each score."""
    if ids is None and isinstance(stays, pd.DataFrame) and stays.index.nlevels == 1 and stays.index.name == id_column:
        return stays.index.array if _TEXT != object else stays.index.to_numpy()
    return ids


def _entry_row(entry, history, scorer: Scorer, purpose, audit_log: bool) -> dict:
    """:func:`features_at_entry`; a call it refuses (the entry record or the history) is audited as any refused call
    is: one ``score_refused`` record with the count per column, no value and no id (no feature row exists to digest)."""
    try:
        return features_at_entry(entry, history)
    except SchemaError as exc:
        if audit_log:
            columns: dict[str, int] = {}
            for p in exc.problems:
                columns[p.column] = columns.get(p.column, 0) + max(p.n_rows, 1)
            audit.append("score_refused", model_name=scorer.name, model_version=scorer.version, input_digest=None, rows=1,
                         refused_rows=1, problems=columns, refused_by=exc.table, purpose=purpose)
        raise


def _with_entry_fields(row: dict, entry, names) -> dict:
    """The feature row of an entry with the entry record's own fields among ``names`` (``id_column`` and
    ``passthrough``) that the row lacks: the record's ``crossing_id`` as its id, a field the desk added. Without them the
    id came back as a row number and a passthrough field present in the record was called missing."""
    wanted = [c for c in names if c not in row]
    if not wanted:
        return row
    record = entry.iloc[0] if isinstance(entry, pd.DataFrame) else entry  # features_at_entry took it: one record
    for c in wanted:
        if c in record:
            row[c] = record[c]
    return row


def _row_names(given_ids, n: int, id_column: str, problems: Problems) -> np.ndarray:
    """What messages name each row by: its id, or ``row <i>`` without the id column. A row whose id is missing or blank is a
    problem of that row (named by its position): a score beside no id is a score for nobody a caller can find."""
    if given_ids is None:
        return np.array([f"row {i}" for i in range(n)], dtype=object)
    missing = np.asarray(pd.isna(given_ids), dtype=bool) if n else np.zeros(0, dtype=bool)
    # an empty form field comes as "" (or spaces), not null: an id that names no stay either
    blank = _blank_ids(given_ids) if n else missing
    _flag_repeated_ids(given_ids, missing | blank, id_column, problems)
    mangled = scientific_ids(given_ids) if n else missing
    if mangled.any():  # a score under an id that matches no stay; several stays may show alike
        problems.add(id_column, "id a spreadsheet wrote in scientific notation (such as 1.23457E+10): its digits are gone",
                     "re-export the ids from their source as text (in a spreadsheet, format the column as Text before saving)", mangled)
    if not (missing.any() or blank.any()):
        return given_ids
    if missing.any():
        problems.add(id_column, "id is missing", f"give every row its {id_column} (or leave the column out: rows are then numbered)",
                     missing)
    if blank.any():
        problems.add(id_column, "id is blank text", f"send the stay's {id_column} (an empty form field is no id; an unknown one is "
                     "null), or leave the column out: rows are then numbered", blank)
    unnamed = missing | blank
    named = np.asarray(given_ids, dtype=object).copy()
    named[unnamed] = [f"row {i}" for i in np.flatnonzero(unnamed)]
    return named


def _blank_ids(given_ids) -> np.ndarray:
    """Where an id is text that is empty or only spaces (missing ids and ids that are no text: False).

    Arrow-backed text (pandas 3's ``str``) is judged in Arrow, a million ids in milliseconds; other ids value by value.
    """
    dtype = getattr(given_ids, "dtype", None)
    arrow = isinstance(dtype, pd.ArrowDtype) or getattr(dtype, "storage", None) == "pyarrow"
    if arrow or (len(given_ids) > FAST_ROWS and (dtype is None or dtype == object)):
        import pyarrow as pa
        import pyarrow.compute as pc

        try:  # Python strings of a batch converted once: faster than judging each in Python; other ids fail here
            arr = pa.array(given_ids) if arrow else pa.array(np.asarray(given_ids, dtype=object), pa.large_string(), from_pandas=True)
            if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
                blank = pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr))
                return blank.to_numpy(zero_copy_only=False).astype(bool, copy=False) if not blank.null_count \
                    else np.asarray(blank.fill_null(False), dtype=bool)
        except (pa.ArrowException, TypeError, ValueError):
            pass
    values = np.asarray(given_ids, dtype=object) if dtype is None or dtype == object or dtype.kind not in "iufb" else None
    if values is None:  # numbers: no text at all
        return np.zeros(len(given_ids), dtype=bool)
    return np.fromiter((isinstance(v, str) and not v.strip() for v in values), dtype=bool, count=len(values))


#: score()'s words for an id given to more than one row (of its call; of a whole input for a batch job or Spark).
REPEATED_ID = "id given to more than one row"


def repeated_id_problem(id_column: str, shown, rows: int) -> SchemaProblem:
    """The refusal of an input (a night's file, a Spark DataFrame) that gives an id to more than one row, whether they
    fall in one :func:`score` call or in several: ``shown``, the first few such ids, held by ``rows`` rows in all."""
    return SchemaProblem(id_column, REPEATED_ID, "send each stay once per night: drop the repeated rows (a feed delivered "
                         f"twice), or give each stay its own {id_column}", tuple(str(v) for v in shown), int(rows))


def flag_repeated_rows(out: pd.DataFrame, hit: np.ndarray, id_column: str, reasons: int) -> pd.DataFrame:
    """``out`` (score()'s output under ``errors="flag"``) with the rows at ``hit`` flagged as score() flags an id repeated
    within its call: no probability, band or reasons, and ``<id_column>: id given to more than one row`` in ``error``
    (rows that say so already are left as they are). For ids repeated across calls (chunks, Spark batches)."""
    text = f"{id_column}: {REPEATED_ID}"
    error = out["error"].astype(object)
    hit = np.asarray(hit, dtype=bool) & ~error.fillna("").str.contains(text, regex=False).to_numpy()
    if not hit.any():
        return out
    out = out.copy()
    out.loc[hit, "probability"] = np.nan
    for c in ("risk_band", *(f"reason_{i}" for i in range(1, reasons + 1))):
        out.loc[hit, c] = None
    out.loc[hit, "error"] = [text if pd.isna(e) else f"{e}; {text}" for e in error[hit]]
    return out


def _flag_repeated_ids(given_ids, missing: np.ndarray, id_column: str, problems: Problems) -> None:
    """Flag every row whose id another row of the call has too: the id is the stay's own (the stays contract), so two
    rows under it are a feed delivered twice (its stays counted twice) or two stays under one id (two scores no caller
    can tell apart). Which copy is right cannot be told: each is a problem of its row. Missing ids are no repeat."""
    n = len(missing)
    if n < 2:
        return
    repeated = None
    if n > FAST_ROWS:
        if not missing.any() and _distinct_text_ids(given_ids):
            return  # equal ids would share their words and keys: these are distinct (otherwise judged id by id below)
        try:
            ids = pd.Index(given_ids)
            if ids.is_unique:
                return
            repeated = ids.duplicated(keep=False) & ~missing
        except TypeError:  # an id that cannot be hashed (a list): judged value by value below
            repeated = None
    if repeated is None:
        seen: dict = {}
        for i, v in enumerate(given_ids):
            if not missing[i]:
                seen.setdefault(_id_key(v), []).append(i)
        repeated = np.zeros(n, dtype=bool)
        repeated[[i for where in seen.values() if len(where) > 1 for i in where]] = True
    if not repeated.any():
        return
    problems.add(id_column, REPEATED_ID,
                 f"send each stay once per call: drop the repeated rows (a feed delivered twice), or give each stay its own "
                 f"{id_column}", repeated)


# an odd 64-bit constant to fold an id's words into one key (equal ids fold alike)
_FOLD = np.uint64(0x9E3779B97F4A7C15)
#: Text ids up to this many bytes are read from their Arrow buffers; longer ones are judged as Python strings.
_KEY_BYTES = 32


def _text_id_words(given_ids) -> tuple[np.ndarray, np.ndarray] | None:
    """The bytes of each id of an Arrow-backed text column with no missing id, as a row of big-endian 64-bit words
    (zeros after its end; rows compare as the ids' bytes do), and each id's length in bytes; None for other ids, or ids
    over :data:`_KEY_BYTES` bytes.

    Judging a million text ids by pandas' hash table first makes a Python string of each (two thirds of the check).
    """
    dtype = getattr(given_ids, "dtype", None)
    if not (isinstance(dtype, pd.ArrowDtype) or getattr(dtype, "storage", None) == "pyarrow"):
        return None  # Python strings (object, string[python]) are hashed as they are; converting them costs as much
    import pyarrow as pa

    try:
        arr = pa.array(given_ids)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if arr.null_count or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or not len(arr):
        return None
    _, offsets_buf, data_buf = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width, count=len(arr) + 1, offset=arr.offset * np.dtype(width).itemsize)
    lengths = np.diff(offsets)
    longest = int(lengths.max())
    if longest > _KEY_BYTES:
        return None
    data = np.frombuffer(data_buf if data_buf is not None else b"", dtype=np.uint8, count=int(offsets[-1]))[int(offsets[0]):]
    words = -(-max(longest, 1) // 8)
    block = np.zeros((len(arr), words * 8), dtype=np.uint8)
    if int(lengths.min()) == longest:  # ids of one length (the usual): the bytes are already a rows x length table
        block[:, :longest] = data.reshape(len(arr), longest)
    else:  # each id's bytes at the start of its row, zeros after: a row-major mask takes the bytes in their order
        block[np.arange(words * 8) < lengths[:, None]] = data
    return block.view(">u8").astype(np.uint64), lengths


def _distinct_text_ids(given_ids) -> bool:
    """True when the ids are Arrow-backed text (:func:`_text_id_words`) and plainly distinct: in strictly increasing or
    decreasing order (a feed sorted by id: no hashing at all), or each with its own folded key. False says nothing:
    the ids are then judged one by one. Equal ids have equal words and keys, so neither test passes a repeat."""
    read = _text_id_words(given_ids)
    if read is None:
        return False
    words, lengths = read
    if len(words) < 2:
        return True
    for first, then in ((words[:-1], words[1:]), (words[1:], words[:-1])):
        less, tied = np.zeros(len(first), dtype=bool), np.ones(len(first), dtype=bool)
        for w in range(words.shape[1]):  # at the first word where two neighbours differ, the earlier one is smaller
            less |= tied & (first[:, w] < then[:, w])
            tied &= first[:, w] == then[:, w]
        if less.all():
            return True
    return bool(pd.Index(_folded(words, lengths)).is_unique)


def _folded(words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One 64-bit key per id from its words and length (:func:`_text_id_words`): equal ids fold alike."""
    folded = lengths.astype(np.uint64)  # the length too: `S7` and `S7` + NUL have the same padded words
    for w in words.T:
        folded = folded * _FOLD + w  # wraps modulo 2**64
    return folded


def id_keys(ids) -> np.ndarray:
    """A 64-bit key per id, equal for equal ids (unequal ids may share one: confirm a match on the ids themselves).

    Arrow-backed text ids are folded from their bytes (:func:`_text_id_words`) with no Python string made; other ids
    are hashed by pandas.
    """
    read = _text_id_words(ids) if len(ids) else None
    if read is None:
        ids = pd.Series(ids, dtype=getattr(ids, "dtype", None))
        try:
            return pd.util.hash_pandas_object(ids, index=False).to_numpy()
        except TypeError:  # an id that cannot be hashed (a list): by its text, as score() judges it
            return pd.util.hash_pandas_object(ids.map(repr), index=False).to_numpy()
    return _folded(*read)


def _id_key(v):
    """``v`` as a dictionary key: itself, or its text when it cannot be hashed (a list sent as an id)."""
    try:
        hash(v)
    except TypeError:
        return ("<unhashable>", repr(v))
    return v


def _audit_call(event: str, scorer: Scorer, enc: np.ndarray, purpose, **facts) -> None:
    """Append the audit record of a scoring call: the model, a digest of its encoded input, its rows and purpose, and
    ``facts`` (counts, column names; never a value or an identifier)."""
    audit.append(event, model_name=scorer.name, model_version=scorer.version, input_digest=audit.digest(enc), rows=len(enc),
                 **facts, purpose=purpose)


def check_passthrough(passthrough, missing: list[str], outputs: list[str], id_column: str, *, case_sensitive: bool = True) -> None:
    """SchemaError for passthrough columns absent from the input, or named as an output column (yesterday's
    ``probability`` would be copied over the new score); the id column is copied as given either way.

    The Spark adapter calls it on the driver, so a Spark plan is refused before any job runs, with
    ``case_sensitive=False`` where the session resolves names without case (Spark's default): there
    ``Probability`` is the name of the output column ``probability``.
    """
    key = (lambda c: c) if case_sensitive else (lambda c: str(c).casefold())
    outputs = {key(c) for c in outputs}
    shadowing = [c for c in passthrough if c != id_column and key(c) in outputs]
    if missing or shadowing:
        raise SchemaError("stays", [SchemaProblem(c, "passthrough column is missing", "drop it from `passthrough` or add it to the input") for c in missing]
                          + [SchemaProblem(c, "passthrough column has the name of an output column, which it would replace",
                                           f"drop it from `passthrough`, or rename it before scoring (e.g. `input_{c}`)") for c in shadowing])


def _band_text(codes: np.ndarray, names: list[str]) -> Any:
    """Text band column from codes (-1: flagged row, missing band)."""
    if _TEXT is object or len(codes) <= FAST_ROWS:
        return _text(np.array([*names, None], dtype=object)[codes])
    import pyarrow as pa

    return pd.array(pa.array([*names, None], pa.large_string()).take(pa.array(np.where(codes < 0, len(names), codes))), dtype=_TEXT)


def check_score_args(errors: str, reasons, reasons_min_band: str | None, passthrough=()) -> None:
    """Validate the options shared by :func:`score` and the Spark adapter; raise ValueError naming the argument."""
    if isinstance(passthrough, str | bytes):  # a string is a sequence of str: each letter would be read as a column
        raise ValueError(f"`passthrough` must be a list of column names; got the string {passthrough!r}. "
                         f"Fix: passthrough=[{passthrough!r}]")
    if errors not in ("raise", "flag"):
        raise ValueError(f"`errors` must be 'raise' or 'flag'; got {errors!r}.")
    if isinstance(reasons, bool) or not isinstance(reasons, int | np.integer) or reasons < 0:
        raise ValueError(f"`reasons` must be an int >= 0; got {reasons!r}.")
    if reasons > MAX_REASONS:
        raise ValueError(f"`reasons` must be at most {MAX_REASONS} (columns past the model's reason groups are empty); got {reasons!r}.")
    if reasons_min_band is not None and reasons_min_band not in BAND_ORDER:
        raise ValueError(f"`reasons_min_band` must be one of {list(BAND_ORDER)} or None; got {reasons_min_band!r}.")


def _predict(model: RiskModel, enc: np.ndarray) -> np.ndarray:
    """Calibrated probabilities; a few rows predict on one thread (no OpenMP start-up per call)."""
    # the positive class only: predict_proba's (n, 2) array would cost a copy on millions of rows
    threads = {"num_threads": 1} if len(enc) <= FAST_ROWS else {}
    margin = model.booster_.predict(enc, raw_score=True, num_iteration=model.best_iteration_, **threads)
    return model.calibrator_.transform(margin)


def _reasons(
    model: RiskModel, enc: np.ndarray, band: np.ndarray, names: list[str], good: np.ndarray, k: int, min_band: str | None,
    unseen: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Reason columns for the rows wanted; ``unseen``: per column, the rows whose level was given but not seen in training."""
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
    if len(rows) <= FAST_ROWS:
        contrib = np.asarray(model.booster_.predict(rows, pred_contrib=True, num_iteration=model.best_iteration_, num_threads=1))
    if not want.all():
        unseen = {c: m[want] for c, m in unseen.items()}
    explained = reason_arrays(model, rows, k=k, contributions=contrib, unseen=unseen)
    for i in range(1, k + 1):
        if f"reason_{i}" in explained:  # k beyond the model's reason groups: the rest stay empty
            cols[f"reason_{i}"][want] = explained[f"reason_{i}"]
    return cols
