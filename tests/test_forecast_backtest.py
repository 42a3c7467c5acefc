"""Rolling-origin backtest: no leakage, metrics, cutoffs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.forecasting import cross_validation, evaluate
from riskmodel.core.forecasting.backtest import make_cutoffs, mase_scale
from riskmodel.core.forecasting.engine import RunSettings

SETTINGS = RunSettings(freq="M", m=12, models=("snaive", "theta", "lgbm"))


def _panel(n=48, k=4, seed=0):
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2016-01-01", periods=n, freq="MS")
    frames = []
    for i in range(k):
        y = 100 * (i + 1) * np.exp(0.3 * np.sin(2 * np.pi * np.arange(n) / 12)) * rng.lognormal(0, 0.05, n)
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": y}))
    return pd.concat(frames, ignore_index=True)


def test_cutoff_strictly_before_ds_and_columns():
    cv, _ = cross_validation(_panel(), 6, SETTINGS, n_windows=3, step=2)
    assert list(cv.columns[:5]) == ["unique_id", "ds", "cutoff", "y", "scale"]
    assert {"snaive", "theta", "lgbm"} <= set(cv.columns)
    assert (cv["cutoff"] < cv["ds"]).all()
    assert cv["cutoff"].nunique() == 3
    assert cv.groupby(["unique_id", "cutoff"]).size().max() <= 6


def test_backtest_forecasts_do_not_see_the_future():
    # Changing everything after the first cutoff must not change that window's forecasts.
    df = _panel()
    cv1, _ = cross_validation(df, 6, SETTINGS, n_windows=2, step=6)
    first = cv1["cutoff"].min()
    df2 = df.copy()
    df2.loc[df2["ds"] > first, "y"] *= 3.0
    cv2, _ = cross_validation(df2, 6, SETTINGS, n_windows=2, step=6)
    a = cv1[cv1["cutoff"] == first].reset_index(drop=True)
    b = cv2[cv2["cutoff"] == first].reset_index(drop=True)
    for col in ("snaive", "theta", "lgbm"):
        np.testing.assert_allclose(a[col], b[col])
    np.testing.assert_allclose(b["y"], a["y"] * 3.0)


def test_make_cutoffs_respects_min_train():
    ds = pd.date_range("2020-01-01", periods=20, freq="MS")
    cuts = make_cutoffs(ds, n_windows=4, step=3, min_train=10)
    assert cuts == [ds[10], ds[13], ds[16]]  # ds[7] would leave only 8 periods


def test_mase_scale_and_metrics_by_hand():
    assert mase_scale(np.array([1.0, 2, 3, 4, 6]), 2) == pytest.approx((2 + 2 + 3) / 3)
    cv = pd.DataFrame(
        {"unique_id": ["a", "a", "b", "b"], "y": [10.0, 0.0, 4.0, 4.0], "scale": [2.0, 2.0, 1.0, 1.0],
         "f": [12.0, 0.0, 4.0, 2.0], "f-lo-80": [9.0, 0.0, 3.0, 1.0], "f-hi-80": [9.5, 1.0, 5.0, 4.5]}
    )
    m = evaluate(cv, ["f"], levels=(80,), tags={"top": ["a"], "bottom": ["b"]}).set_index("level")
    assert m.loc["top", "mase"] == pytest.approx(0.5)  # (2/2 + 0) / 2
    assert m.loc["bottom", "mase"] == pytest.approx(1.0)
    assert m.loc["all", "mase"] == pytest.approx(0.75)
    assert m.loc["top", "mape"] == pytest.approx(0.2)  # y = 0 is left out
    assert m.loc["top", "smape"] == pytest.approx((4 / 22) / 2)
    assert m.loc["bottom", "rmse"] == pytest.approx(np.sqrt(2))
    assert m.loc["top", "coverage_80"] == pytest.approx(0.5)
    assert m.loc["bottom", "coverage_80"] == pytest.approx(1.0)


def test_a_series_without_interval_bounds_has_no_coverage_not_zero_coverage():
    # Reconciling the backtest of a hierarchy where one bottom series had no bounds left every sum without bounds; the
    # comparison with NaN bounds is False, so coverage read 0.000 and the gate refused on "95% coverage 0.000", a figure
    # no interval scored (the chosen model's was 0.949). Without bounds a series has no coverage, as it has no MSIS.
    cv = pd.DataFrame(
        {"unique_id": ["a", "a", "b", "b"], "y": [10.0, 0.0, 4.0, 4.0], "scale": [2.0, 2.0, 1.0, 1.0],
         "f": [12.0, 0.0, 4.0, 2.0], "f-lo-95": [9.0, 0.0, np.nan, np.nan], "f-hi-95": [11.0, 1.0, np.nan, np.nan]}
    )
    m = evaluate(cv, ["f"], levels=(95,), tags={"top": ["a"], "bottom": ["b"]}).set_index("level")
    assert m.loc["top", "coverage_95"] == pytest.approx(1.0)
    assert np.isnan(m.loc["bottom", "coverage_95"]) and np.isnan(m.loc["bottom", "msis_95"])
    assert m.loc["all", "coverage_95"] == pytest.approx(1.0)  # over the series that have bounds, as MSIS and width are
    none = evaluate(cv[cv["unique_id"] == "b"], ["f"], levels=(95,)).set_index("level")
    assert np.isnan(none.loc["all", "coverage_95"])


def test_declared_break_is_never_scored():
    settings = RunSettings(freq="M", m=12, models=("snaive",), breaks=(("2019-01-01", "2019-06-30"),))
    cv, _ = cross_validation(_panel(), 12, settings, n_windows=3, step=6)
    assert len(cv) and not cv["ds"].between("2019-01-01", "2019-06-30").any()
