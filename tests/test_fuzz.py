"""Property-based tests: any frame either gives a valid output with the same rows or the documented error.

Frames start valid and are broken by random mutations: dropped and extra columns,
wrong dtypes, NaN and infinities, empty frames, huge and unicode strings,
duplicated ids, negative or absurd durations, dates far out of range. The
number of examples run and of unexpected exceptions is printed at the end of
the run (see ``conftest.pytest_terminal_summary``).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import ConfigError, SchemaError, score, validate_crossings, validate_stays
from riskmodel import forecast
from riskmodel.core.forecasting import Forecaster
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
    st.sampled_from([-1, -10**9, 10**12, 0, 1]),
)


def _mutate(df: pd.DataFrame, data) -> pd.DataFrame:
    """Apply 1-4 random mutations to a copy of ``df``."""
    df = df.copy()
    for _ in range(data.draw(st.integers(1, 4), label="n_mutations")):
        op = data.draw(st.sampled_from(["set", "set", "set", "dtype", "drop", "dup", "extra", "empty", "reorder"]), label="op")
        cols = list(df.columns)
        if op == "set" and len(df) and cols:
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


@settings(max_examples=500, **_SETTINGS)
@given(data=st.data())
def test_score_returns_same_rows_or_schema_error(fitted, data):
    model, _, rows = fitted
    base = rows.head(data.draw(st.integers(1, 12), label="n")).reset_index(drop=True)
    broken = _mutate(base, data)
    errors = data.draw(st.sampled_from(["raise", "flag"]), label="errors")
    reasons = data.draw(st.integers(0, 3), label="reasons")
    out, exc = _run("score", lambda: score(broken, model=model, errors=errors, reasons=reasons, audit_log=False), (SchemaError,))
    if exc is None:
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
