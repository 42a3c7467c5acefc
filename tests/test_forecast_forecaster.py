"""Forecaster / forecast(): output contract, errors, interval coverage, reconciliation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import riskmodel
from riskmodel.core.exceptions import ConfigError, FallbackWarning, NotFittedError, SchemaError
from riskmodel import forecast
from riskmodel.core.forecasting import Forecaster, Hierarchy, aggregate, reconcile
from riskmodel.core.forecasting import models as fm

COLUMNS = ["unique_id", "ds", "y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95", "model"]


def _panel(n=60, k=6, seed=0, noise=0.08):
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2015-01-01", periods=n, freq="MS")
    frames = []
    for i in range(k):
        y = 200 * (i + 1) * np.exp(0.4 * np.sin(2 * np.pi * np.arange(n) / 12 + i)) * rng.lognormal(0, noise, n)
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": np.round(y)}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(h=6, models=["snaive", "ets", "theta"], n_windows=3, step=3).fit(_panel())


def test_output_columns_dtypes_and_order(fitted):
    fc = fitted.predict()
    assert list(fc.columns) == COLUMNS
    assert fc["ds"].dtype == "datetime64[ns]"
    assert pd.api.types.is_string_dtype(fc["unique_id"]) and pd.api.types.is_string_dtype(fc["model"])
    for col in COLUMNS[2:7]:
        assert fc[col].dtype == np.float64
    assert len(fc) == 6 * 6
    assert fc.equals(fc.sort_values(["unique_id", "ds"], ignore_index=True))
    assert (fc["y_lo_95"] >= 0).all()
    assert (fc["y_lo_95"] <= fc["y_lo_80"]).all() and (fc["y_lo_80"] <= fc["y_hat"]).all()
    assert (fc["y_hat"] <= fc["y_hi_80"]).all() and (fc["y_hi_80"] <= fc["y_hi_95"]).all()
    assert fc["ds"].min() == pd.Timestamp("2020-01-01")
    assert set(fc["model"]) <= {"snaive", "ets", "theta", "mean", "median"}


def test_backtest_attributes_have_no_leakage(fitted):
    assert (fitted.cv_["cutoff"] < fitted.cv_["ds"]).all()
    assert {"chosen", "chosen-lo-95", "chosen-hi-95"} <= set(fitted.cv_.columns)
    row = fitted.metrics_.set_index("model").loc["chosen"]
    assert 0 <= row["coverage_95"] <= 1


def test_longer_horizon_widens_intervals(fitted):
    fc = fitted.predict(h=18)
    assert len(fc) == 6 * 18
    width = (fc["y_hi_95"] - fc["y_lo_95"]) / fc["y_hat"]
    by_step = width.groupby(fc.groupby("unique_id").cumcount()).mean()
    assert by_step.iloc[-1] > by_step.iloc[0]


def test_interval_coverage_holds_on_new_data():
    # Calibrate on 5 years, then check the 95% intervals on the next year of the same processes.
    full = _panel(n=72, k=30, seed=3)
    train = full[full["ds"] < "2020-01-01"]
    test = full[full["ds"] >= "2020-01-01"]
    f = Forecaster(h=12, models=["snaive", "theta"], combine=False, n_windows=4, step=3).fit(train)
    merged = f.predict().merge(test, on=["unique_id", "ds"])
    cov95 = ((merged["y"] >= merged["y_lo_95"]) & (merged["y"] <= merged["y_hi_95"])).mean()
    cov80 = ((merged["y"] >= merged["y_lo_80"]) & (merged["y"] <= merged["y_hi_80"])).mean()
    assert 0.85 <= cov95 <= 1.0
    assert 0.65 <= cov80 <= 0.95


def test_not_fitted_and_bad_arguments():
    with pytest.raises(NotFittedError, match="fit"):
        Forecaster().predict()
    with pytest.raises(ConfigError, match=r"`h` must be an int >= 1; got 0"):
        Forecaster(h=0).fit(_panel())
    with pytest.raises(ConfigError, match="unknown model"):
        Forecaster(models=["prophet"]).fit(_panel())
    with pytest.raises(ConfigError, match="reconcile"):
        Forecaster(reconcile="magic").fit(_panel())
    with pytest.raises(SchemaError, match="duplicate"):
        Forecaster().fit(pd.concat([_panel(), _panel().iloc[:1]]))
    with pytest.raises(ConfigError, match="horizon"):
        forecast(0, history=_panel())
    with pytest.raises(ConfigError, match="neither"):
        forecast(3)


def test_forecast_function_and_top_level_names():
    assert riskmodel.forecast is forecast and riskmodel.Forecaster is Forecaster
    # the subpackage has its own name, so importing it never shadows the function
    import riskmodel.core.forecasting as sub

    assert sub.Forecaster is Forecaster and callable(riskmodel.forecast) and not callable(sub)
    fc = forecast(4, history=_panel(k=2), level=(90,))
    assert list(fc.columns) == ["unique_id", "ds", "y_hat", "y_lo_90", "y_hi_90", "model"]
    assert len(fc) == 8


def test_fit_warns_on_fallback(monkeypatch):
    monkeypatch.setitem(fm.LOCAL_MODELS, "theta", lambda z, h, m, **_: np.full(h, np.inf))
    with pytest.warns(FallbackWarning, match="theta"):
        fc = Forecaster(h=3, models=["snaive", "theta"], n_windows=1).fit(_panel(k=2)).predict()
    assert np.isfinite(fc["y_hat"]).all()


def test_predicting_other_horizons_from_two_threads_leaves_the_fitted_fallbacks_as_they_were(monkeypatch):
    """A service calls predict(h) from several threads. Each call at another horizon than the model's added its runs'
    fallbacks to the forecaster's `fallbacks_` and put the list back afterwards: a call that started while another's
    were in it put those back for good, and warned of none of its own. Here thread A's runs are in the list when B
    starts, and A finishes while B is still forecasting."""
    import threading

    from riskmodel.core.forecasting import forecaster as module

    fc = Forecaster(h=3, models=["snaive", "theta"], n_windows=1).fit(_panel(k=2))
    fitted_fallbacks = list(fc.fallbacks_)
    real_runs, real_intervals = module.run_models, module.apply_intervals
    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()

    def runs(hist, h, settings):
        fcs, future, fallbacks = real_runs(hist, h, settings)
        if threading.current_thread().name == "B":
            b_in.set()
        return fcs, future, [*fallbacks, ("theta", "s0", f"a planted fallback of the run at h={h}")]

    def intervals(*args, **kwargs):
        if threading.current_thread().name == "A" and not a_in.is_set():
            a_in.set()  # A's runs are done: under the old code, its fallbacks are in fc.fallbacks_ now
            b_in.wait(10)
        elif threading.current_thread().name == "B":
            a_done.wait(10)
        return real_intervals(*args, **kwargs)

    monkeypatch.setattr(module, "run_models", runs)
    monkeypatch.setattr(module, "apply_intervals", intervals)
    results = {}

    def call(h):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results[h] = fc.predict(h=h)
        if h == 5:
            a_done.set()

    a = threading.Thread(target=call, args=(5,), name="A")
    b = threading.Thread(target=call, args=(4,), name="B")
    a.start()
    assert a_in.wait(10)
    b.start()
    a.join(20)
    b.join(20)
    assert fc.fallbacks_ == fitted_fallbacks
    assert {h: len(r) for h, r in results.items()} == {5: 10, 4: 8}


def _hier_panel():
    rng = np.random.default_rng(1)
    ds = pd.date_range("2016-01-01", periods=48, freq="MS")
    rows = []
    for port, kind, level in [("A", "air", 500), ("B", "air", 80), ("C", "sea", 300), ("D", "land", 5)]:
        y = level * np.exp(0.3 * np.sin(2 * np.pi * np.arange(48) / 12)) * rng.lognormal(0, 0.1, 48)
        rows.append(pd.DataFrame({"port": port, "kind": kind, "ds": ds, "y": np.round(y)}))
    return aggregate(pd.concat(rows), {"total": [], "kind": ["kind"], "port": ["port"]}, freq="M")


@pytest.mark.parametrize("method", ["bottom_up", "wls_struct", "mint_shrink"])
def test_reconciled_forecasts_are_coherent_and_non_negative(method):
    series = _hier_panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        f = Forecaster(h=6, models=["snaive", "theta"], reconcile=method, n_windows=3, step=2).fit(series.df, series.hierarchy)
    fc = f.predict()
    S = series.hierarchy.S
    wide = fc.pivot(index="ds", columns="unique_id", values="y_hat")
    np.testing.assert_allclose(wide[S.index].to_numpy(), wide[S.columns].to_numpy() @ S.to_numpy().T, rtol=1e-9)
    assert (fc[["y_hat", "y_lo_80", "y_lo_95"]] >= 0).all().all()
    assert fc["model"].str.endswith(f"+{method}").all()


def test_reconcile_clips_negative_bottom_forecasts():
    S = pd.DataFrame([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], index=["total", "a", "b"], columns=["a", "b"])
    fc = pd.DataFrame({"unique_id": ["total", "a", "b"], "ds": pd.Timestamp("2024-01-01"), "y_hat": [10.0, 30.0, 0.0]})
    out = reconcile(fc, Hierarchy(S=S), method="wls_struct").set_index("unique_id")["y_hat"]
    assert out["b"] >= 0
    assert out["total"] == pytest.approx(out["a"] + out["b"])
    bu = reconcile(fc, Hierarchy(S=S), method="bottom_up").set_index("unique_id")["y_hat"]
    assert bu["total"] == pytest.approx(30.0)
    with pytest.raises(ValueError, match="residuals"):
        reconcile(fc, Hierarchy(S=S), method="mint_shrink")
    with pytest.raises(ValueError, match="lack series"):
        reconcile(fc.iloc[:2], Hierarchy(S=S))


def test_hierarchy_must_match_the_series():
    series = _hier_panel()
    df = series.df[series.df["unique_id"] != "total"]
    with pytest.raises(SchemaError, match="missing from `df`.*total"):
        Forecaster(h=3, models=["snaive"]).fit(df, series.hierarchy)


def test_series_too_short_for_a_backtest_still_forecast():
    df = _panel(n=10, k=2)
    f = Forecaster(h=3, models=["snaive", "theta", "ets"]).fit(df)
    assert f.cv_.empty and set(f.chosen_.values()) == {"snaive"}
    fc = f.predict()
    assert list(fc.columns) == COLUMNS and len(fc) == 6
    assert (fc["y_lo_95"] <= fc["y_hat"]).all() and (fc["y_hat"] <= fc["y_hi_95"]).all()


def test_weekly_series_per_series_selection_and_sarimax_with_regressors():
    rng = np.random.default_rng(5)
    ds = pd.date_range("2019-01-07", periods=160, freq="W-MON")
    y = 300 * np.exp(0.3 * np.sin(2 * np.pi * np.arange(160) / 52)) * rng.lognormal(0, 0.05, 160)
    weekly = pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y": np.round(y)})
    f = Forecaster(h=8, models=["snaive", "theta"], selection="series", breaks=()).fit(weekly)
    assert f.freq_ == "W" and len(f.predict()) == 8
    assert (f.predict()["ds"].dt.day_of_week == 0).all()
    monthly = _panel(n=48, k=2)
    g = Forecaster(h=6, models=["snaive", "sarimax"], n_windows=2, step=3).fit(monthly)
    assert set(g.models_) == {"snaive", "sarimax"} and np.isfinite(g.predict()["y_hat"]).all()


def _daily_mix(days, seed):
    """One busy port (Poisson ~400 a day, weekly cycle) among 20 series with a group of 1-4 every few weeks."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2016-01-01", periods=days, freq="D")
    week = 1 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 7)
    frames = [pd.DataFrame({"unique_id": "busy", "ds": ds, "y": rng.poisson(400 * week).astype(float)})]
    for i in range(20):
        groups = rng.poisson(0.06 * week) * rng.integers(1, 5, days)
        frames.append(pd.DataFrame({"unique_id": f"sparse{i}", "ds": ds, "y": groups.astype(float)}))
    return pd.concat(frames, ignore_index=True)


def test_sparse_series_do_not_widen_the_intervals_of_a_busy_one():
    # Log-scale errors of series with a few arrivals a week are heavy-tailed (0 -> 3 is a big jump);
    # pooled with a busy port's they once gave it 95% upper bounds several times its forecast.
    full = _daily_mix(760, seed=5)
    train = full[full["ds"] < "2018-01-01"]
    test = full[full["ds"] >= "2018-01-01"]
    f = Forecaster(h=28, models=["snaive", "ets"], combine=False, n_windows=3, step=28).fit(train)
    merged = f.predict().merge(test, on=["unique_id", "ds"])
    busy = merged[merged["unique_id"] == "busy"]
    # Poisson(400 x weekly factor): a 95% interval is about +-10% of the level
    assert (busy["y_hi_95"] / busy["y_hat"]).max() < 1.4
    assert (busy["y_lo_95"] / busy["y_hat"]).min() > 0.6
    inside = (busy["y"] >= busy["y_lo_95"]) & (busy["y"] <= busy["y_hi_95"])
    assert inside.mean() >= 0.8
    sparse = merged[merged["unique_id"] != "busy"]
    inside = (sparse["y"] >= sparse["y_lo_95"]) & (sparse["y"] <= sparse["y_hi_95"])
    assert inside.mean() >= 0.85


def test_forecasters_saved_with_symmetric_multipliers_still_load(tmp_path, fitted):
    # format 1 stored one symmetric multiplier row per level
    import json

    folder = fitted.save(tmp_path / "f")
    state = json.loads((folder / "forecaster.json").read_text())
    state["format"] = 1
    state["quantiles_"] = {L: q[0][1] for L, q in state["quantiles_"].items()}
    state.pop("interval_groups_")
    (folder / "forecaster.json").write_text(json.dumps(state))
    old = Forecaster.load(folder).predict(h=9)  # not the stored horizon: recomputed from the multipliers
    z = np.log1p(old["y_hat"])
    # symmetric on the log scale: the same distance below and above
    lo = z - np.log1p(old["y_lo_95"])
    hi = np.log1p(old["y_hi_95"]) - z
    assert np.allclose(lo[old["y_lo_95"] > 0], hi[old["y_lo_95"] > 0])


@pytest.mark.parametrize("method", ["bottom_up", "wls_struct"])
def test_reconciling_coherent_holdout_forecasts_changes_nothing_whatever_the_row_order(method):
    from riskmodel.core.forecasting.reconcile import reconcile_backtest

    series = _hier_panel()
    fitted = Forecaster(h=6, models=["snaive"], n_windows=1, reconcile=method).fit(series.df, series.hierarchy)
    cv = fitted.cv_.copy()
    cv["chosen"] = cv["y"]  # actuals of aggregated series are coherent: reconciliation must leave them as they are
    shuffled = cv.sample(frac=1.0, random_state=3)
    got = reconcile_backtest(shuffled, series.hierarchy, method, fitted.level_)
    assert len(got) == cv["holdout"].sum()
    np.testing.assert_allclose(got["reconciled"].to_numpy(float), got["y"].to_numpy(float), rtol=1e-9, atol=1e-6)


def test_refitting_a_reconciled_forecaster_on_new_history_keeps_its_hierarchy():
    # forecast(model=..., history=...) refits "the model's settings": reconcile="bottom_up" was dropped with the
    # hierarchy, so the total no longer equalled the sum of its ports, without a word
    series = _hier_panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        model = Forecaster(h=3, models=["snaive", "theta"], n_windows=2, step=2).fit(series.df, series.hierarchy)
        fc = forecast(3, model=model, history=series.df)
    S = series.hierarchy.S
    wide = fc.pivot(index="ds", columns="unique_id", values="y_hat")
    np.testing.assert_allclose(wide[S.index].to_numpy(), wide[S.columns].to_numpy() @ S.to_numpy().T, rtol=1e-9)
    assert fc["model"].str.endswith("+bottom_up").all()
    fewer = series.df[series.df["unique_id"] != "total"]
    with pytest.raises(SchemaError, match=r"column `unique_id`: series of the model's hierarchy are missing from `history` \(1 row: total\)"):
        forecast(3, model=model, history=fewer)


def test_asking_other_interval_levels_answers_with_the_models_own_forecast(fitted):
    """`forecast(3, model=m, level=(80,))` refitted m's settings with the asked horizon (3) as the backtest horizon in
    place of m's own (6): those backtests chose ETS where m chose Theta, so a service asking for one interval level got
    another model's point forecast and wider or narrower ends (review12serve, repro 07). A level picks interval columns."""
    own = fitted.predict(3)
    got = forecast(3, model=fitted, level=(80,))
    assert list(got.columns) == ["unique_id", "ds", "y_hat", "y_lo_80", "y_hi_80", "model"]
    assert sorted(set(got["model"])) == sorted(set(fitted.chosen_.values()))
    pd.testing.assert_frame_equal(got, own[got.columns.tolist()])
