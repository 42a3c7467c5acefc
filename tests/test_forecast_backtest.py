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


def test_a_flat_history_has_no_mase_scale_so_no_mase_in_people():
    # A port reporting a fixed 500 a month has no seasonal or monthly change to scale its errors by. The backtest divided
    # them by 1.0, so its error in people (60 when the quota moved to 560) was averaged into every MASE as if it were a
    # MASE, and the holdout MASE the gate reads was 6.7 where the four other ports' was 0.8 (evaluate-forecasts already
    # gives such a series no MASE). Its scale is missing now, and the means are over the series that have one.
    ds = pd.date_range("2016-01-01", periods=48, freq="MS")
    flat = np.full(48, 500.0)
    flat[-6:] = 560.0
    df = pd.concat([_panel(), pd.DataFrame({"unique_id": "flat", "ds": ds, "y": flat})], ignore_index=True)
    cv, _ = cross_validation(df, 12, RunSettings(freq="M", m=12, models=("snaive",)), n_windows=1, step=12)
    assert len(cv[cv["unique_id"] == "flat"]) == 12
    assert cv.loc[cv["unique_id"] == "flat", "scale"].isna().all()
    assert cv.loc[cv["unique_id"] != "flat", "scale"].gt(0).all()
    hand = pd.DataFrame({"unique_id": ["a", "a", "flat", "flat"], "y": [10.0, 20.0, 560.0, 560.0], "scale": [5.0, 5.0, np.nan, np.nan],
                         "f": [12.0, 17.0, 500.0, 500.0]})
    m = evaluate(hand, ["f"]).set_index("level")
    assert m.loc["all", "mase"] == pytest.approx((2 / 5 + 3 / 5) / 2)  # a's alone: the flat port's 60 people are no MASE

    # and it says over how many series that mean is: one of the two
    assert (m.loc["all", "n_series"], m.loc["all", "n_mase"]) == (2, 1)

def test_a_forecaster_with_a_flat_series_chooses_and_scores_on_the_others():
    from riskmodel.core.forecasting import Forecaster

    ds = pd.date_range("2016-01-01", periods=48, freq="MS")
    flat = np.full(48, 500.0)
    flat[-6:] = 560.0
    df = pd.concat([_panel(), pd.DataFrame({"unique_id": "flat", "ds": ds, "y": flat})], ignore_index=True)
    for selection in ("global", "series"):
        f = Forecaster(h=6, models=["snaive", "theta"], breaks=(), selection=selection).fit(df)
        held = f.holdout_metrics_.set_index(["level", "model"])
        # the four seasonal ports are forecast within about one seasonal difference; 60 people read as a MASE is 10+
        assert held.loc[("all", "chosen"), "mase"] < 2.0
        assert set(f.chosen_) == {"s0", "s1", "s2", "s3", "flat"}


def test_relative_width_needs_a_mean_actual():
    # width_<L> is the interval's mean width relative to the mean actual. A port closed through the window (actuals all
    # 0) has no mean actual: divided by 1e-9 its width was 1e10 and the 'all' row's read 5e9 on the model card.
    cv = pd.DataFrame(
        {"unique_id": ["a", "a", "closed", "closed"], "y": [10.0, 30.0, 0.0, 0.0], "scale": [2.0, 2.0, 1.0, 1.0],
         "f": [12.0, 28.0, 3.0, 3.0], "f-lo-95": [8.0, 24.0, 0.0, 0.0], "f-hi-95": [16.0, 32.0, 10.0, 10.0]}
    )
    m = evaluate(cv, ["f"], levels=(95,), tags={"open": ["a"], "closed": ["closed"]}).set_index("level")
    assert m.loc["open", "width_95"] == pytest.approx(((16 - 8) + (32 - 24)) / 2 / 20)
    assert np.isnan(m.loc["closed", "width_95"])
    assert m.loc["all", "width_95"] == pytest.approx(0.4)
    assert m.loc["closed", "coverage_95"] == pytest.approx(1.0)  # its coverage is still a figure
