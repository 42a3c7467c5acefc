"""Two-stage fits (riskmodel.core.forecasting.distributed): model runs per group, choice and calibration pooled."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.forecasting import Forecaster
from riskmodel.core.forecasting.distributed import fit_from_parts, run_parts

SETTINGS = {"h": 12, "freq": "M", "models": ("snaive", "theta"), "reconcile": None, "n_windows": 2}


def _panel(n: int, k: int = 6) -> pd.DataFrame:
    ds = pd.date_range("2016-01-01", periods=n, freq="MS")
    rng = np.random.default_rng(1)
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n) / 12)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": np.round(10 ** (i % 4 + 1) * season * rng.lognormal(0, 0.15, n))})
                      for i in range(k)], ignore_index=True)


@pytest.mark.parametrize("months", [24, 60])  # 24: the one full-horizon window has a season of history (seasonal units)
def test_pooled_fit_from_the_groups_facts_equals_one_fit_without_the_history(months):
    df = _panel(months)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = Forecaster(**SETTINGS).fit(df).predict()
        parts = [run_parts(Forecaster(**SETTINGS), g) for _, g in df.groupby(df["unique_id"].isin(["s0", "s3", "s5"]))]
        cv, forecasts, fallbacks, series, cutoffs = (pd.concat(list(p), ignore_index=True) for p in zip(*parts, strict=True))
        fitted = fit_from_parts(Forecaster(**{**SETTINGS, "freq": None}), None, cv, forecasts, fallbacks, facts=(series, cutoffs))
    got = fitted.predict()
    assert fitted.history_ is None and fitted.freq_ == "M"
    assert got["unique_id"].tolist() == want["unique_id"].tolist() and got["model"].tolist() == want["model"].tolist()
    for c in ["y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"]:
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-9, err_msg=c)


def test_fit_from_parts_refuses_to_fit_without_history_or_its_facts():
    df = _panel(36)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv, forecasts, fallbacks, _, _ = run_parts(Forecaster(**SETTINGS), df)
    with pytest.raises(ValueError, match="needs `facts`"):
        fit_from_parts(Forecaster(**SETTINGS), None, cv, forecasts, fallbacks)


def test_groups_run_apart_still_refuse_a_series_that_stopped_before_the_others():
    """On Spark the groups run apart, so no group sees that its series stopped before the others': the check is made
    where every group's forecasts meet, as one in-process fit makes it."""
    from riskmodel import SchemaError

    df = _panel(48)
    df = df[(df["unique_id"] != "s3") | (df["ds"] <= "2018-09-01")]  # s3 stops 15 months before the others' 2019-12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = [run_parts(Forecaster(**SETTINGS), g) for _, g in df.groupby(df["unique_id"].isin(["s0", "s3", "s5"]))]
    cv, forecasts, fallbacks, series, cutoffs = (pd.concat(list(p), ignore_index=True) for p in zip(*parts, strict=True))
    with pytest.raises(SchemaError, match=r"`ds`: 1 series stop before 2019-12.*\(1 row: s3 last 2018-09\)"):
        fit_from_parts(Forecaster(**{**SETTINGS, "freq": None}), None, cv, forecasts, fallbacks, facts=(series, cutoffs))
