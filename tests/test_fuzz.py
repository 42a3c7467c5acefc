"""Property-based tests: any frame either gives a valid output with the same rows or the documented error.

Frames start valid and are broken by random mutations: dropped, extra and
misspelt columns, wrong dtypes, NaN and infinities, empty frames, huge and
unicode strings, duplicated ids, negative or absurd durations, dates far out of
range. The ``typed`` mutation keeps the column's type: NaN, infinities and huge
values in a float column (not an object column, which every check refuses
anyway), NaT, the calendar's ends and time zones in a datetime column, new
levels in a category column. Targets: the validators, ``build_stays``,
``score`` (frames and JSON-like records), ``pseudonymise_table`` and
``forecast``. The number of examples run and of unexpected exceptions is
printed at the end of the run (see ``conftest.pytest_terminal_summary``).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import ConfigError, SchemaError, build_stays, score, validate_crossings, validate_stays
from riskmodel import forecast
from riskmodel.core.forecasting import Forecaster
from riskmodel.core.privacy import pseudonymise_table
from riskmodel.core.schema import FEATURE_DOMAINS, STAYS
from riskmodel.core.score_input import outside_domain, to_float
from riskmodel.core.scoring import output_columns

from .conftest import FUZZ

_SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WEIRD_VALUES = st.one_of(
    st.none(),
    st.just(np.nan),
    st.just(np.inf),
    st.just(-np.inf),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=30),
    st.just("\u202e\u0000\U0001f600" * 1000),  # huge, unicode, control characters
    st.just("x" * 100_000),
    st.sampled_from([dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31), pd.Timestamp("1677-09-22"), "2999-01-01", "not a date"]),
    st.sampled_from([-1, -10**9, 10**12, 0, 1, 13, 2, 1e308, -1e308]),
    st.sampled_from([pd.Timestamp("2019-06-01 10:00", tz="Asia/Jakarta"), pd.Timestamp("2019-06-01", tz="UTC"), pd.NaT]),
)
TYPED_FLOATS = st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 2.0**63, 1e-300, -0.0, 0.5, 13.0])
ZONES = st.sampled_from(["UTC", "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"])


def _typed(df: pd.DataFrame, data) -> pd.DataFrame:
    """Put an edge value into a column while keeping its type (float, datetime, category, boolean, text)."""
    col = data.draw(st.sampled_from(list(df.columns)), label="col")
    rows = data.draw(st.lists(st.integers(0, len(df) - 1), min_size=1, max_size=5), label="rows")
    s = df[col]
    if pd.api.types.is_datetime64_any_dtype(s):
        kind = data.draw(st.sampled_from(["tz", "nat", "min", "max"]), label="kind")
        if kind == "tz":
            s = s.dt.tz_localize(data.draw(ZONES, label="zone"), ambiguous="NaT", nonexistent="NaT") if s.dt.tz is None else s.dt.tz_convert("UTC")
        else:
            s = s.copy()
            s.iloc[rows] = {"nat": pd.NaT, "min": pd.Timestamp("1677-09-22"), "max": pd.Timestamp("2262-04-11")}[kind]
    elif isinstance(s.dtype, pd.CategoricalDtype):
        level = data.draw(st.text(max_size=12), label="level")
        s = s.cat.add_categories([level]) if level not in s.cat.categories else s.copy()
        s.iloc[rows] = level
    elif pd.api.types.is_bool_dtype(s):
        s = s.astype("boolean")
        s.iloc[rows] = pd.NA
    elif pd.api.types.is_numeric_dtype(s):
        s = s.astype("float64")  # a float column holding NaN/inf, as a Parquet file can
        s.iloc[rows] = data.draw(TYPED_FLOATS, label="value")
    else:
        s = s.copy()
        s.iloc[rows] = data.draw(st.one_of(st.text(max_size=30), st.just("x" * 10_000), st.none()), label="value")
    df[col] = s
    return df


def _mutate(df: pd.DataFrame, data) -> pd.DataFrame:
    """Apply 1-4 random mutations to a copy of ``df``."""
    df = df.copy()
    for _ in range(data.draw(st.integers(1, 4), label="n_mutations")):
        op = data.draw(st.sampled_from(["set", "set", "typed", "typed", "dtype", "drop", "rename", "dup", "extra", "empty", "reorder"]), label="op")
        cols = list(df.columns)
        if op == "typed" and len(df) and cols:
            df = _typed(df, data)
        elif op == "rename" and cols:
            col = data.draw(st.sampled_from(cols), label="col")
            how = data.draw(st.sampled_from([str.upper, str.title, lambda c: c.replace("_", ""), lambda c: c[:-1]]), label="how")
            df = df.rename(columns={col: how(col)})
        elif op == "set" and len(df) and cols:
            col = data.draw(st.sampled_from(cols), label="col")
            rows = data.draw(st.lists(st.integers(0, len(df) - 1), min_size=1, max_size=5), label="rows")
            df[col] = df[col].astype(object)
            value = data.draw(WEIRD_VALUES, label="value")
            for r in rows:
                df.iat[r, df.columns.get_loc(col)] = value
        elif op == "dtype" and cols:
            col = data.draw(st.sampled_from(cols), label="col")
            kind = data.draw(st.sampled_from(["str", "object", "float", "category", "bool"]), label="kind")
            try:
                df[col] = df[col].astype({"str": str, "object": object, "float": float, "category": "category", "bool": bool}[kind])
            except (TypeError, ValueError):
                df[col] = df[col].astype(str)
        elif op == "drop" and cols:
            df = df.drop(columns=[data.draw(st.sampled_from(cols), label="col")])
        elif op == "dup" and len(df):
            df = pd.concat([df, df.iloc[[data.draw(st.integers(0, len(df) - 1), label="row")]]], ignore_index=True)
        elif op == "extra":
            df[data.draw(st.text(min_size=1, max_size=8), label="name")] = data.draw(WEIRD_VALUES, label="value")
        elif op == "empty":
            df = df.iloc[0:0]
        elif op == "reorder" and len(df):
            df = df.sample(frac=1.0, random_state=data.draw(st.integers(0, 1000), label="seed"))
    return df


def _run(kind: str, fn, allowed: tuple[type[BaseException], ...]):
    FUZZ["examples"] += 1
    FUZZ[f"examples.{kind}"] = FUZZ.get(f"examples.{kind}", 0) + 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(), None
    except allowed as exc:
        return None, exc
    except Exception:
        FUZZ["unexpected"] += 1
        raise


@pytest.fixture(scope="module")
def crossings_sample(small_data):
    return small_data.crossings.head(40).reset_index(drop=True)


@pytest.fixture(scope="module")
def stays_sample(small_data):
    return small_data.stays.head(40).reset_index(drop=True)


@settings(max_examples=300, **_SETTINGS)
@given(data=st.data())
def test_validators_raise_only_schema_errors(crossings_sample, stays_sample, data):
    for frame, validate in ((crossings_sample, validate_crossings), (stays_sample, validate_stays)):
        broken = _mutate(frame, data)
        out, exc = _run("validators", lambda: validate(broken), (SchemaError,))
        assert exc is not None or out is broken


AS_OF = st.sampled_from([None, "2019-06-30", "1900-01-01", "2261-12-31", pd.Timestamp("2019-06-30", tz="UTC"), "2019-06-30T00:00+08:00", "soon", pd.NaT])


@settings(max_examples=250, **_SETTINGS)
@given(data=st.data())
def test_build_stays_gives_contract_stays_or_schema_error(crossings_sample, data):
    broken = _mutate(crossings_sample, data)
    as_of = data.draw(AS_OF, label="as_of")
    out, exc = _run("build_stays", lambda: build_stays(broken, as_of=as_of), (SchemaError,))
    if exc is None:
        assert list(out.columns) == [c.name for c in STAYS]
        assert len(out) <= len(broken)


KEY = "fuzz-key-0123456789abcdef-0123456789"
PSEUDO_COLUMNS = st.sampled_from([None, ["traveller_id"], ["document_id"], ["traveler_id"], ["Traveller_ID"], "traveller_id"])


@settings(max_examples=300, **_SETTINGS)
@given(data=st.data())
def test_pseudonymise_keeps_every_value_or_refuses(crossings_sample, stays_sample, data):
    frame = data.draw(st.sampled_from([crossings_sample, stays_sample]), label="table")
    broken = _mutate(frame, data)
    columns = data.draw(PSEUDO_COLUMNS, label="columns")
    out, exc = _run("pseudonymise", lambda: pseudonymise_table(broken, columns, key=KEY), (SchemaError,))
    if exc is None:
        assert out.shape == broken.shape and out.index.equals(broken.index)
        chosen = [columns] if isinstance(columns, str) else columns or [c for c in ("traveller_id", "document_id") if c in broken.columns]
        for c in chosen:
            # missing ids stay missing, every other value gets a pseudonym (no id lost as NaN)
            assert (out[c].isna().to_numpy() == broken[c].isna().to_numpy()).all()
            assert not (set(out[c].dropna().astype(str)) & set(broken[c].dropna().astype(str)))


def _is_yes_no(v) -> bool:
    return isinstance(v, bool | np.bool_) or (isinstance(v, str) and v.strip().lower() in {"true", "false", "yes", "no", "y", "n", "t", "f"})


def _check_scored(out, broken: pd.DataFrame, model, errors: str, reasons: int) -> None:
    """The output contract, and the guards of issue 15: nothing scored without its features or outside their domain."""
    assert isinstance(out, pd.DataFrame) and len(out) == len(broken)
    assert out.index.equals(broken.index)
    assert list(out.columns) == output_columns("stay_id", reasons)
    p = out["probability"].to_numpy(dtype=float)
    ok = ~np.isnan(p)
    assert ((p[ok] >= 0) & (p[ok] <= 1)).all()
    if errors == "raise":
        assert ok.all()
    else:
        assert (out["error"].notna().to_numpy() == ~ok).all()
    if not ok.any():
        return
    assert set(model.features) <= set(broken.columns), "a row was scored although a feature column is missing"
    for c in model.features:
        d = FEATURE_DOMAINS.get(c)
        if d is None or d.kind == "enum" or c in model.levels_:
            continue
        for v in broken[c].to_numpy(dtype=object)[ok]:
            x = None if v is None or v is pd.NA or v is pd.NaT else to_float(v)
            assert x is None or np.isnan(x) or (np.isfinite(x) and outside_domain(d, x) is None), f"{c}={v!r} was scored"
            # a yes/no value is no count or month (True was scored as entry_month 1)
            assert x is None or np.isnan(x) or d.kind == "bool" or not _is_yes_no(v), f"{c}={v!r} was scored as a number"


@settings(max_examples=450, **_SETTINGS)
@given(data=st.data())
def test_score_returns_same_rows_or_schema_error(fitted, data):
    model, _, rows = fitted
    base = rows.head(data.draw(st.integers(1, 12), label="n")).reset_index(drop=True)
    broken = _mutate(base, data)
    errors = data.draw(st.sampled_from(["raise", "flag"]), label="errors")
    reasons = data.draw(st.integers(0, 3), label="reasons")
    out, exc = _run("score", lambda: score(broken, model=model, errors=errors, reasons=reasons, audit_log=False), (SchemaError,))
    if exc is None:
        _check_scored(out, broken, model, errors, reasons)


@settings(max_examples=300, **_SETTINGS)
@given(data=st.data())
def test_score_records_as_a_service_sends_them(fitted, data):
    model, _, rows = fitted
    base = rows.head(data.draw(st.integers(1, 3), label="n")).reset_index(drop=True)
    broken = _mutate(base[[*model.features, "stay_id"]], data).reset_index(drop=True)
    records = broken.to_dict(orient="records")
    errors = data.draw(st.sampled_from(["raise", "flag"]), label="errors")
    out, exc = _run("score_records", lambda: score(records, model=model, errors=errors, reasons=1, audit_log=False), (SchemaError,))
    if exc is None:
        _check_scored(out, broken, model, errors, 1)


@pytest.fixture(scope="module")
def small_forecaster():
    ds = pd.date_range("2018-01-01", periods=48, freq="MS")
    y = 100 + 20 * np.sin(np.arange(48) / 12 * 2 * np.pi)
    df = pd.concat([pd.DataFrame({"unique_id": u, "ds": ds, "y": y * (k + 1)}) for k, u in enumerate(["a", "b"])], ignore_index=True)
    return Forecaster(h=3, models=("snaive",), combine=False, n_windows=1, step=3, breaks=(), reconcile=None).fit(df), df


@settings(max_examples=200, **_SETTINGS)
@given(data=st.data())
def test_forecast_history_returns_forecasts_or_documented_error(small_forecaster, data):
    model, history = small_forecaster
    broken = _mutate(history, data)
    horizon = data.draw(st.sampled_from([1, 3, 0, -2]), label="horizon")
    out, exc = _run("forecast", lambda: forecast(horizon, model=model, history=broken), (SchemaError, ConfigError))
    if exc is None:
        assert isinstance(out, pd.DataFrame)
        assert list(out.columns) == ["unique_id", "ds", "y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95", "model"]
        assert out.groupby("unique_id").size().eq(horizon).all()
        assert np.isfinite(out["y_hat"].to_numpy(dtype=float)).all()
