"""Forecasting models: baselines, fallbacks on failing or exploding fits, break imputation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.exceptions import FallbackWarning
from riskmodel.core.forecasting import models as fm
from riskmodel.core.forecasting.engine import RunSettings, impute_break, run_models, warn_fallbacks
from riskmodel.core.forecasting.models import fit_local, lgbm_forecast, seasonal_profile


def _seasonal(n=48, m=12, level=1000.0, amp=0.3, seed=0, growth=0.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return level * np.exp(amp * np.sin(2 * np.pi * t / m) + growth * t) * rng.lognormal(0, 0.03, n)


def test_snaive_repeats_last_season():
    y = np.arange(1.0, 25.0)
    fc, reason = fit_local("snaive", y, 15, 12)
    assert reason is None
    np.testing.assert_allclose(fc, np.r_[y[-12:], y[-12:-9]])


@pytest.mark.parametrize("name", ["ets", "theta", "ets_statsmodels", "theta_statsmodels", "sarimax"])
def test_local_models_follow_a_clean_seasonal_series(name):
    y = _seasonal()
    truth = _seasonal(n=60)[48:]
    fc, reason = fit_local(name, y, 12, 12, x=np.zeros((48, 1)), x_future=np.zeros((12, 1)))
    assert reason is None
    assert np.mean(np.abs(fc - truth) / truth) < 0.08


def test_seasonal_profile_weights_recent_cycles():
    z = np.r_[np.zeros(12), np.tile([1.0, -1.0], 6)]  # first year flat, second year alternating
    prof = seasonal_profile(z, 12, decay=0.5)
    assert prof.sum() == pytest.approx(0)
    assert prof[0] == pytest.approx(1 / 1.5 * 1.0)  # weight 1 on the last cycle, 0.5 on the flat one


def test_failing_model_falls_back_to_snaive(monkeypatch):
    def broken(z, h, m, **_):
        raise np.linalg.LinAlgError("singular matrix")

    monkeypatch.setitem(fm.LOCAL_MODELS, "ets", broken)
    y = _seasonal(n=30)
    fc, reason = fit_local("ets", y, 6, 12)
    assert "LinAlgError" in reason
    np.testing.assert_allclose(fc, y[-12:-6])


def test_exploding_model_falls_back(monkeypatch):
    monkeypatch.setitem(fm.LOCAL_MODELS, "theta", lambda z, h, m, **_: z[-1] + np.arange(h) * 10.0)
    fc, reason = fit_local("theta", _seasonal(n=30), 6, 12)
    assert "exploded" in reason
    assert fc.max() < 5000


def test_ets_on_series_that_breaks_it_never_crashes():
    # All zeros then one spike, and a series shorter than a season: fits that
    # statsmodels cannot do well. Whatever happens, the result is finite and >= 0.
    for y in (np.r_[np.zeros(30), 5000.0], np.array([3.0, 0.0, 7.0]), np.zeros(40)):
        fc, _ = fit_local("ets", y, 12, 12)
        assert fc.shape == (12,) and np.all(np.isfinite(fc)) and np.all(fc >= 0)


def test_run_models_reports_fallbacks_and_warning_is_raised(monkeypatch):
    monkeypatch.setitem(fm.LOCAL_MODELS, "ets", lambda z, h, m, **_: np.full(h, np.nan))
    ds = pd.date_range("2018-01-01", periods=36, freq="MS")
    hist = {"a": (ds, _seasonal(36)), "b": (ds, _seasonal(36, seed=1))}
    fcs, future, fallbacks = run_models(hist, 6, RunSettings(freq="M", m=12, models=("snaive", "ets")))
    assert {(m, u) for m, u, _ in fallbacks} == {("ets", "a"), ("ets", "b")}
    assert future["a"][0] == pd.Timestamp("2021-01-01")
    np.testing.assert_allclose(fcs["ets"]["a"], fcs["snaive"]["a"])
    with pytest.warns(FallbackWarning, match="ets.*2 series"):
        warn_fallbacks(fallbacks)


def test_impute_break_keeps_level_and_season_not_the_collapse():
    y = _seasonal(n=72)
    mask = np.zeros(72, dtype=bool)
    mask[36:54] = True
    broken = y.copy()
    broken[mask] = 1.0  # the collapse
    fixed = impute_break(broken, mask, 12)
    np.testing.assert_allclose(fixed[~mask], broken[~mask])
    assert np.mean(np.abs(fixed[mask] - y[mask]) / y[mask]) < 0.1


def test_lgbm_global_model_learns_shared_seasonality():
    ds = pd.date_range("2015-01-01", periods=72, freq="MS")
    series = {f"s{i}": _seasonal(n=60, level=100.0 * (i + 1), seed=i) for i in range(12)}
    truth = {f"s{i}": _seasonal(n=72, level=100.0 * (i + 1), seed=i)[60:] for i in range(12)}
    pos = {u: ds.month.to_numpy() for u in series}
    out = lgbm_forecast(series, pos, 12, 12, seed=0)
    err = np.mean([np.mean(np.abs(out[u] - truth[u]) / truth[u]) for u in series])
    flat = np.mean([np.mean(np.abs(series[u][-12:].mean() - truth[u]) / truth[u]) for u in series])
    assert err < 0.5 * flat


def test_daily_moving_event_effect_is_applied():
    # A daily series that is zero on Nyepi: forecasts for the next Nyepi must be near zero.
    ds = pd.date_range("2021-01-01", "2024-02-29", freq="D")
    rng = np.random.default_rng(0)
    y = 200 * (1 + 0.3 * (ds.day_of_week >= 5)) * rng.lognormal(0, 0.05, len(ds))
    nyepi = pd.to_datetime(["2021-03-14", "2022-03-03", "2023-03-22"])
    y[np.isin(ds, nyepi)] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        fcs, future, _ = run_models({"port/Ngurah Rai": (ds, y)}, 31, RunSettings(freq="D", m=7, models=("snaive",)))
    fc = pd.Series(fcs["snaive"]["port/Ngurah Rai"], index=future["port/Ngurah Rai"])
    assert fc["2024-03-11"] < 0.05 * fc.drop(pd.Timestamp("2024-03-11")).mean()


@pytest.mark.parametrize("days", [729, 730])
def test_mstl_on_two_years_of_days_fits_the_weekly_period(days):
    """Review 11b repro 05: on exactly 730 days (examples/counter_demand.py) mstl kept the yearly period
    (len >= 2 x 365) that statsmodels' MSTL drops (period >= nobs / 2), then indexed a second seasonal column:
    IndexError, and every series fell back to seasonal naive. Two years and less fit the weekly period alone."""
    rng = np.random.default_rng(0)
    rhythm = np.array([1.0, 1.0, 1.0, 1.0, 1.2, 2.0, 1.8])  # a weekly rhythm on a flat level
    y = 1000 * rhythm[np.arange(days) % 7] * rng.lognormal(0, 0.01, days)
    fc, reason = fit_local("mstl", y, 14, 7)
    assert reason is None
    np.testing.assert_allclose(fc, 1000 * rhythm[np.arange(days, days + 14) % 7], rtol=0.05)


def test_mstl_scored_in_the_backtests_is_the_model_served(monkeypatch):
    """Review 11b repro 05: mstl fitted the yearly period wherever the history held more than two years, so on 750
    days the backtest windows (shorter histories) scored weekly STL + ETS under the name "mstl" while the final fit
    served weekly + yearly MSTL. Every run of one fit (backtest windows and the final forecast) decomposes a series
    the same way: here the earliest backtest window has under two years, so none fits the yearly period."""
    import statsmodels.tsa.seasonal as seasonal

    from riskmodel.core.forecasting import Forecaster

    used = []

    def spy(name, cls):
        def make(*args, **kwargs):
            used.append(name)
            return cls(*args, **kwargs)
        return make

    monkeypatch.setattr(seasonal, "STL", spy("weekly", seasonal.STL))
    monkeypatch.setattr(seasonal, "MSTL", spy("weekly + yearly", seasonal.MSTL))
    days = pd.date_range("2022-01-03", periods=750, freq="D")
    rhythm = np.array([1.0, 1.0, 1.0, 1.0, 1.2, 2.0, 1.8])[days.day_of_week]
    y = np.round(1000 * rhythm * np.random.default_rng(0).lognormal(0, 0.02, len(days)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Forecaster(h=14, models=["mstl"], combine=False, breaks=()).fit(pd.DataFrame({"unique_id": "passport", "ds": days, "y": y}))
    assert len(used) == 5  # 3 selection windows, 1 holdout window, the final fit
    assert set(used) == {"weekly"}
