"""Issue 13: full-horizon backtests, calendar steps, honest holdout, break scales, MSIS, coherent bounds."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.exceptions import ConfigError, FallbackWarning
from riskmodel.core.forecasting import Forecaster, Hierarchy, aggregate, cross_validation, evaluate, reconcile
from riskmodel.core.forecasting.backtest import make_cutoffs, mase_scale
from riskmodel.core.forecasting.calendar import same_regime_pairs
from riskmodel.core.forecasting.engine import RunSettings
from riskmodel.core.forecasting.reconcile import reconcile_backtest
from riskmodel.core.forecasting.intervals import log_scale
from tests.conftest import seasonal_panel


def _panel(n=60, k=6, seed=0, start="2015-01-01"):
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=n, freq="MS")
    frames = []
    for i in range(k):
        y = 200 * (i + 1) * np.exp(0.4 * np.sin(2 * np.pi * np.arange(n) / 12 + i)) * rng.lognormal(0, 0.08, n)
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": np.round(y)}))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- part 3: full horizon, calendar steps
def test_every_backtest_window_reaches_the_full_horizon():
    settings = RunSettings(freq="M", m=12, models=("snaive",))
    cv, _ = cross_validation(_panel(n=40), 12, settings, n_windows=3, step=4)
    per_window = cv.groupby(["unique_id", "cutoff"])["step"].agg(["min", "max", "size"])
    assert (per_window["min"] == 1).all() and (per_window["max"] == 12).all() and (per_window["size"] == 12).all()
    # 40 months, h=12, at least 12 months to train: cutoffs at months 20, 24 and 28.
    ds = pd.date_range("2015-01-01", periods=40, freq="MS")
    assert sorted(cv["cutoff"].unique()) == [ds[19], ds[23], ds[27]]


def test_short_history_gets_fewer_windows_not_truncated_ones():
    ds = pd.date_range("2017-01-01", periods=24, freq="MS")
    assert make_cutoffs(ds, 3, 4, 12, horizon=12) == [ds[11]]
    assert make_cutoffs(ds, 3, 4, 13, horizon=12) == []


def test_steps_after_a_left_out_break_keep_their_calendar_distance():
    settings = RunSettings(freq="M", m=12, models=("snaive",), breaks=(("2019-01-01", "2019-03-31"),))
    cv, _ = cross_validation(_panel(n=60), 12, settings, n_windows=1, step=4)
    # One window, cutoff 2018-12: Jan-Mar 2019 are not scored, April 2019 is step 4, not step 1.
    assert cv["cutoff"].unique().tolist() == [pd.Timestamp("2018-12-01")]
    first = cv[cv["unique_id"] == "s0"].sort_values("ds").iloc[0]
    assert first["ds"] == pd.Timestamp("2019-04-01") and first["step"] == 4


def test_cutoffs_inside_a_break_are_skipped_for_earlier_ones():
    ds = pd.date_range("2015-01-01", periods=60, freq="MS")  # .. 2019-12
    cuts = make_cutoffs(ds, 2, 6, 12, horizon=12, breaks=(("2018-06-01", "2018-12-31"),))
    assert all(not (pd.Timestamp("2018-06-01") <= c <= pd.Timestamp("2018-12-31")) for c in cuts)
    assert cuts == [ds[29], ds[35]]  # 2018-12 and 2018-06 lie in the break: 2017-12 and 2017-06 instead


# ---------------------------------------------------------------- part 4: scales outside breaks, MSIS
def test_scales_leave_out_differences_that_touch_or_span_a_break():
    y = np.array([10.0, 12, 10, 12, 0, 0, 100, 120, 100, 120])
    mask = np.zeros(10, dtype=bool)
    mask[4:6] = True
    ok = same_regime_pairs(10, 2, mask)
    # Pairs (t-2, t) for t = 2..9: inside the first regime (t=2,3), touching the break (4..7), after it (8, 9).
    assert ok.tolist() == [True, True, False, False, False, False, True, True]
    assert mase_scale(y, 2, mask) == pytest.approx(11.0)  # seasonal differences all 0: lag 1, (2+2+2+20+20+20)/6
    assert mase_scale(y, 1, mask) == pytest.approx(np.mean([2, 2, 2, 20, 20, 20]))
    assert mase_scale(y, 1) == pytest.approx(np.mean(np.abs(np.diff(y))))


def test_interval_scale_comes_from_the_periods_after_a_break():
    pre = np.tile([100.0, 110, 120, 110], 6)
    post = np.array([10.0, 20, 40, 80, 160])
    y = np.concatenate([pre, np.zeros(4), post])
    mask = np.zeros(len(y), dtype=bool)
    mask[24:28] = True
    z = np.log1p(post)
    assert log_scale(y, 4, mask) == pytest.approx(np.mean(np.abs(np.diff(z))))
    assert log_scale(np.full(24, 100.0), 4) == pytest.approx(0.1)  # a flat series: the floor


def test_msis_by_hand():
    cv = pd.DataFrame({"unique_id": ["a", "a"], "y": [10.0, 30.0], "scale": [2.0, 2.0], "f": [12.0, 20.0],
                       "f-lo-95": [8.0, 15.0], "f-hi-95": [14.0, 25.0]})
    m = evaluate(cv, ["f"], levels=(95,)).set_index("level")
    # widths 6 and 10; the second actual is 5 above its upper bound: 2 / 0.05 * 5 = 200.
    assert m.loc["all", "msis_95"] == pytest.approx(((6 + 0) / 2 + (10 + 200) / 2) / 2)


# ---------------------------------------------------------------- part 2: nested evaluation
@pytest.fixture(scope="module")
def held():
    return Forecaster(h=6, models=["snaive", "ets", "theta"], n_windows=2, step=3).fit(_panel())


def test_holdout_window_is_the_latest_and_scores_chosen_and_peers(held):
    cv = held.cv_
    assert cv.loc[cv["holdout"], "cutoff"].nunique() == 1
    assert cv.loc[cv["holdout"], "cutoff"].min() > cv.loc[~cv["holdout"], "cutoff"].max()
    assert cv.loc[~cv["holdout"], "cutoff"].nunique() == 2
    hm = held.holdout_metrics_.query("level == 'all'").set_index("model")
    assert set(hm.index) == {"chosen", "peer:naive", "peer:snaive", "peer:drift"}
    assert {"coverage_95", "msis_95", "width_80"} <= set(hm.columns)
    sel = held.metrics_.query("level == 'all'")
    assert "chosen" in set(sel["model"]) and len(held.cv_.query("holdout")) == 6 * 6


def test_holdout_actuals_do_not_change_the_choice_or_the_calibration(held):
    # Scramble the actuals of the holdout window only: the choice and the multipliers must not move.
    df = _panel()
    cut = held.cv_.loc[held.cv_["holdout"], "cutoff"].iloc[0]
    window = df["ds"] > cut  # the holdout window is the last 6 months
    df.loc[window, "y"] = np.round(df.loc[window, "y"] * np.random.default_rng(1).uniform(0.2, 5.0, int(window.sum())))
    again = Forecaster(h=6, models=["snaive", "ets", "theta"], n_windows=2, step=3).fit(df)
    assert again.cv_.loc[again.cv_["holdout"], "cutoff"].iloc[0] == cut
    assert again.chosen_ == held.chosen_
    for L in (80, 95):
        np.testing.assert_array_equal(again.quantiles_[L], held.quantiles_[L])
    assert not again.holdout_metrics_.equals(held.holdout_metrics_)


def test_without_room_for_a_holdout_every_window_chooses():
    f = Forecaster(h=6, models=["snaive", "theta"], n_windows=1, step=3, holdout_windows=0).fit(_panel(n=40))
    assert f.holdout_metrics_.empty and not f.cv_["holdout"].any()


def test_new_settings_are_validated():
    with pytest.raises(ConfigError, match="`break_method` must be one of"):
        Forecaster(break_method="bridge").fit(_panel())
    with pytest.raises(ConfigError, match="`holdout_windows` must be an int >= 0; got -1"):
        Forecaster(holdout_windows=-1).fit(_panel())


# ---------------------------------------------------------------- part 4: coherent intervals
def _hier():
    rng = np.random.default_rng(4)
    ds = pd.date_range("2016-01-01", periods=48, freq="MS")
    rows = []
    for port, kind, base in (("A", "air", 900), ("B", "air", 300), ("C", "sea", 50), ("D", "sea", 5)):
        y = base * np.exp(0.3 * np.sin(2 * np.pi * np.arange(48) / 12)) * rng.lognormal(0, 0.1, 48)
        rows.append(pd.DataFrame({"port": port, "kind": kind, "ds": ds, "y": np.round(y)}))
    return aggregate(pd.concat(rows), {"total": [], "kind": ["kind"], "port": ["port"]}, freq="M")


@pytest.mark.parametrize("method", ["bottom_up", "wls_struct", "mint_shrink"])
def test_reconciled_bounds_of_a_total_are_the_sums_of_its_parts(method):
    series = _hier()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        fc = Forecaster(h=6, models=["snaive", "theta"], reconcile=method, n_windows=2, step=3).fit(series.df, series.hierarchy).predict()
    S = series.hierarchy.S
    for col in ("y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"):
        wide = fc.pivot(index="ds", columns="unique_id", values=col)
        np.testing.assert_allclose(wide[S.index].to_numpy(), wide[S.columns].to_numpy() @ S.to_numpy().T, rtol=1e-9, err_msg=col)
    assert (fc["y_lo_95"] <= fc["y_lo_80"]).all() and (fc["y_lo_80"] <= fc["y_hat"]).all()
    assert (fc["y_hat"] <= fc["y_hi_80"]).all() and (fc["y_hi_80"] <= fc["y_hi_95"]).all()
    assert (fc["y_lo_95"] >= 0).all()


def test_reconcile_sums_bounds_instead_of_shifting_them():
    S = pd.DataFrame([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], index=["total", "a", "b"], columns=["a", "b"])
    fc = pd.DataFrame({"unique_id": ["total", "a", "b"], "ds": pd.Timestamp("2024-01-01"), "y_hat": [30.0, 20.0, 10.0],
                       "y_lo_95": [29.0, 10.0, 5.0], "y_hi_95": [31.0, 40.0, 20.0]})
    out = reconcile(fc, Hierarchy(S=S), method="bottom_up").set_index("unique_id")
    # The total's own, too narrow interval [29, 31] is replaced by the sum of its parts' [15, 60].
    assert out.loc["total", "y_lo_95"] == pytest.approx(15.0)
    assert out.loc["total", "y_hi_95"] == pytest.approx(60.0)


def test_bottom_up_keeps_the_parts_own_forecast_where_an_aggregate_has_one_part():
    # A total over one port has the same row of S as the port. Bottom-up keeps the port's own forecast and
    # interval and sums them up: total = port = 20 in [10, 40]. Before, the first row equal to the port's
    # unit row was the total's, and its forecast and bounds were summed as the port's (30 in [29, 31]).
    S = pd.DataFrame([[1.0], [1.0]], index=["total", "port/A"], columns=["port/A"])
    fc = pd.DataFrame({"unique_id": ["total", "port/A"], "ds": pd.Timestamp("2024-01-01"), "y_hat": [30.0, 20.0],
                       "y_lo_95": [29.0, 10.0], "y_hi_95": [31.0, 40.0]})
    out = reconcile(fc, Hierarchy(S=S), method="bottom_up").set_index("unique_id")
    for uid in ("total", "port/A"):
        assert out.loc[uid, ["y_hat", "y_lo_95", "y_hi_95"]].tolist() == [20.0, 10.0, 40.0]


@pytest.mark.parametrize("method", ["bottom_up", "wls_struct"])
def test_a_series_without_bounds_leaves_the_others_bounds_alone(method):
    # Port b has no interval (a port too new for one); a and c have theirs. Only the bounds that need
    # b's are missing after reconciling: the total's (a sum with an unbounded part), never a's or c's.
    # Before, b's NaN went through every product (NaN * 0 is NaN) and took every bound with it.
    S = pd.DataFrame([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], index=["total", "a", "b", "c"],
                     columns=["a", "b", "c"])
    fc = pd.DataFrame({"unique_id": ["total", "a", "b", "c"], "ds": pd.Timestamp("2024-01-01"), "y_hat": [35.0, 20.0, 10.0, 5.0],
                       "y_lo_95": [30.0, 10.0, np.nan, 2.0], "y_hi_95": [40.0, 40.0, np.nan, 9.0]})
    out = reconcile(fc, Hierarchy(S=S), method=method).set_index("unique_id")
    assert out.loc[["total", "b"], ["y_lo_95", "y_hi_95"]].isna().all().all()
    if method == "bottom_up":  # each part keeps its own calibrated interval
        assert out.loc["a", ["y_lo_95", "y_hi_95"]].tolist() == [10.0, 40.0]
        assert out.loc["c", ["y_lo_95", "y_hi_95"]].tolist() == [2.0, 9.0]
    else:  # wls_struct mixes a part's bound with its total's and siblings': it has none to mix with
        assert out.loc[["a", "c"], ["y_lo_95", "y_hi_95"]].isna().all().all()
    assert out["y_hat"].notna().all()


def test_a_port_opened_after_the_holdout_cutoff_leaves_the_reconciled_holdout_a_coverage():
    # Port B opens in 2019-10, after the holdout cutoff (2019-06): its holdout backtest has no interval.
    # Port A's has one, so the reconciled (served) holdout has a 95% coverage to judge: A's. Before,
    # B's missing bounds emptied every reconciled bound, and the gate refused the forecaster as
    # "95% coverage missing" until the new port was old enough.
    ds = pd.date_range("2015-01-01", "2019-12-01", freq="MS")
    rng = np.random.default_rng(0)
    a = np.round(1000 + 200 * np.sin(np.arange(len(ds)) * 2 * np.pi / 12) + rng.normal(0, 30, len(ds)))
    b = np.where(ds >= "2019-10-01", 400.0, 0.0)
    df = pd.concat([pd.DataFrame({"unique_id": u, "ds": ds, "y": v}) for u, v in (("A", a), ("B", b), ("T", a + b))])
    S = pd.DataFrame([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], index=["T", "A", "B"], columns=["A", "B"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Forecaster(h=6, models=["snaive"], n_windows=2, breaks=()).fit(df, Hierarchy(S=S))
    held = fitted.holdout_metrics_.query("level == 'all'").set_index("model")
    assert np.isfinite(held.loc["reconciled", "coverage_95"])
    # the coverage is A's alone: the gate says on how many series it was measured, never as if on all three
    from riskmodel.core.forecasting.config import ForecastGateConfig
    from riskmodel.core.forecasting.gate import forecast_gate, honest_metrics

    assert held.loc["reconciled", "n_intervals_95"] == 1 and held.loc["chosen", "n_intervals_95"] == 2
    decision = forecast_gate(honest_metrics(fitted), None, ForecastGateConfig(max_mase=1e9, beat_best_peer=False, beat_snaive=False))
    said = [r for r in decision.reasons if r.startswith("95% coverage")]
    assert len(said) == 1 and "(1 of 3 series with an interval" in said[0], decision.reasons


def _ports_hierarchy(seed: int, months: int = 72):
    """Six ports of two kinds, 2014-01 on, sizes from 2,000 down to 12 a month, independent noise (12%)."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2014-01-01", periods=months, freq="MS")
    rows = []
    for port, kind, base in (("A", "air", 2000), ("B", "air", 600), ("C", "air", 150), ("D", "sea", 400), ("E", "sea", 60), ("F", "sea", 12)):
        y = base * np.exp(0.3 * np.sin(2 * np.pi * np.arange(months) / 12)) * rng.lognormal(0, 0.12, months)
        rows.append(pd.DataFrame({"port": port, "kind": kind, "ds": ds, "y": np.round(y)}))
    return aggregate(pd.concat(rows), {"total": [], "kind": ["kind"], "port": ["port"]}, freq="M")


def test_the_default_reconciliation_keeps_each_ports_calibrated_interval():
    # Each bottom series' interval was calibrated on its own backtest errors; the default
    # reconciliation must not move it. wls_struct (the default until 2026-12-05) pulled the
    # ports' bounds toward the totals' narrower ones (and spread the totals' corrections evenly,
    # which empties the small ports' intervals).
    series = _ports_hierarchy(0)
    settings = {"h": 6, "models": ["snaive", "theta"], "n_windows": 2, "step": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        served = Forecaster(**settings).fit(series.df, series.hierarchy).predict()
        own = Forecaster(**settings, reconcile=None).fit(series.df, series.hierarchy).predict()
    S = series.hierarchy.S
    for col in ("y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"):
        got = served.pivot(index="ds", columns="unique_id", values=col)
        want = own.pivot(index="ds", columns="unique_id", values=col)
        np.testing.assert_allclose(got[S.columns].to_numpy(), want[S.columns].clip(lower=0).to_numpy(), rtol=1e-9, err_msg=col)


def test_the_default_reconciliation_covers_the_year_after():
    # Fitted through 2018-12 and checked against 2019 drawn by the same process (108 points over
    # the total, two kinds and six ports). wls_struct, the default until 2026-12-05, covered 0.65
    # of them (the ports 0.47, the smallest none), as it did on the forecast benchmark's synthetic
    # validation (fc_synthval_reconcile_cov95_wls_struct 0.56); bottom-up 0.94.
    series = _ports_hierarchy(0)
    df = series.df
    train, future = df[df["ds"] < "2019-01-01"], df[df["ds"] >= "2019-01-01"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        fc = Forecaster(h=12, models=["snaive", "theta"]).fit(train, series.hierarchy).predict()
    m = future.merge(fc, on=["unique_id", "ds"], validate="one_to_one")
    assert len(m) == 9 * 12
    inside = (m["y"] >= m["y_lo_95"]) & (m["y"] <= m["y_hi_95"])
    ports = m["unique_id"].str.startswith("port/")
    assert inside.mean() >= 0.88
    assert inside[ports].mean() >= 0.85
    assert inside.groupby(m["unique_id"]).mean().min() >= 0.5


def test_holdout_metrics_let_a_gate_refuse_seasonal_naive_when_a_better_peer_exists():
    # Random walks without seasons: naive beats seasonal naive. A forecaster that is seasonal
    # naive itself scores exactly peer:snaive on the holdout, so "beat the best peer" fails.
    rng = np.random.default_rng(7)
    ds = pd.date_range("2015-01-01", periods=60, freq="MS")
    df = pd.concat([pd.DataFrame({"unique_id": f"r{i}", "ds": ds, "y": np.round(1000 * np.exp(np.cumsum(rng.normal(0, 0.1, 60))))}) for i in range(8)])
    f = Forecaster(h=6, models=["snaive"], combine=False, breaks=(), n_windows=2, step=3).fit(df)
    hm = f.holdout_metrics_.query("level == 'all'").set_index("model")["mase"]
    assert hm["chosen"] == pytest.approx(hm["peer:snaive"], rel=1e-12)
    assert hm[["peer:naive", "peer:drift"]].min() < hm["chosen"]


def test_reconciliation_is_scored_on_the_holdout_window():
    series = _hier()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        f = Forecaster(h=6, models=["snaive", "theta"], n_windows=2, step=3).fit(series.df, series.hierarchy)
    hm = f.holdout_metrics_.query("level == 'all'").set_index("model")
    assert {"chosen", "reconciled"} <= set(hm.index) and np.isfinite(hm.loc["reconciled", "coverage_95"])
    # What was scored is coherent: each holdout bound of the total is the sum of the ports'.
    rows = reconcile_backtest(f.cv_, series.hierarchy, f.reconcile, (80, 95))
    assert len(rows) == int(f.cv_["holdout"].sum())
    wide = rows.pivot(index="ds", columns="unique_id", values="reconciled-hi-95")
    S = series.hierarchy.S
    np.testing.assert_allclose(wide[S.index].to_numpy(), wide[S.columns].to_numpy() @ S.to_numpy().T, rtol=1e-9)


# ---------------------------------------------------------------- intervals on sparse and young series
def test_upper_bounds_are_capped_at_explosion_times_the_largest_count():
    # A cruise-port-like series with empty months: on the log scale its multipliers would put
    # the upper bound at thousands of times anything it ever carried.
    from riskmodel.core.forecasting.models import EXPLOSION

    df = _panel(n=48, k=6)
    ds = pd.date_range("2015-01-01", periods=48, freq="MS")
    y = np.where(np.arange(48) % 5 == 0, 0.0, 4000.0) * np.random.default_rng(2).uniform(0.05, 1.5, 48)
    df = pd.concat([df, pd.DataFrame({"unique_id": "cruise", "ds": ds, "y": np.round(y)})], ignore_index=True)
    f = Forecaster(h=6, models=["snaive", "theta"], n_windows=2, step=3).fit(df)
    fc = f.predict().query("unique_id == 'cruise'")
    assert (fc["y_hi_95"] <= EXPLOSION * df.query("unique_id == 'cruise'")["y"].max() + 1e-9).all()
    assert (fc["y_hi_95"] >= fc["y_hat"]).all()
    held = f.cv_.query("unique_id == 'cruise'")
    assert (held["chosen-hi-95"] <= EXPLOSION * df.query("unique_id == 'cruise'")["y"].max() + 1e-9).all()


def test_a_series_that_starts_late_gets_its_scale_from_when_it_started():
    y = np.r_[np.zeros(12), np.tile([10.0, 12, 14, 12], 3)]
    assert log_scale(y, 4) == pytest.approx(log_scale(y[12:], 4))
    settings = RunSettings(freq="M", m=12, models=("snaive",))
    df = _panel(n=48, k=2)
    df.loc[(df["unique_id"] == "s1") & (df["ds"] < "2017-01-01"), "y"] = 0.0
    cv, _ = cross_validation(df, 6, settings, n_windows=3, step=6)
    # s1 held only zeros up to the first cutoff (2017-12 is the earliest for 48 months): no scale yet.
    zero_rows = cv[(cv["unique_id"] == "s1") & (cv["cutoff"] < "2017-01-01")]
    assert zero_rows["log_scale"].isna().all()


def test_global_model_gives_way_in_a_regime_younger_than_one_season():
    from riskmodel.core.forecasting.engine import run_models

    rng = np.random.default_rng(3)
    ds = pd.date_range("2015-01-01", periods=84, freq="MS")  # .. 2021-12
    hist = {}
    for i in range(6):
        y = 500.0 * (i + 1) * np.exp(0.3 * np.sin(2 * np.pi * np.arange(84) / 12)) * rng.lognormal(0, 0.05, 84)
        y[(ds >= "2020-01-01") & (ds <= "2020-06-01")] = 1.0
        hist[f"s{i}"] = (ds, y)
    young = RunSettings(freq="M", m=12, models=("snaive", "ets", "lgbm"), breaks=(("2020-01-01", "2020-06-30"),))
    fcs, _, _ = run_models(hist, 6, young)
    for uid in hist:  # 18 months after the break: not young, LightGBM keeps its own forecast
        assert not np.allclose(fcs["lgbm"][uid], (fcs["snaive"][uid] + fcs["ets"][uid]) / 2)
    short = {uid: (d[:71], y[:71]) for uid, (d, y) in hist.items()}  # to 2020-11: 5 months after the break
    fcs, _, _ = run_models(short, 6, young)
    for uid in short:
        np.testing.assert_allclose(fcs["lgbm"][uid], (fcs["snaive"][uid] + fcs["ets"][uid]) / 2, rtol=1e-12)


def test_a_series_of_zeros_at_every_cutoff_still_fits_alone():
    # One series that only started in its last year: no backtest error has a scale.
    ds = pd.date_range("2015-01-01", periods=36, freq="MS")
    y = np.r_[np.zeros(30), [5.0, 9, 4, 12, 7, 10]]
    f = Forecaster(h=6, models=["snaive", "theta"], n_windows=2, step=3).fit(pd.DataFrame({"unique_id": "new", "ds": ds, "y": y}))
    assert f.cv_["log_scale"].isna().all()
    fc = f.predict()
    assert (fc["y_lo_95"] <= fc["y_hat"]).all() and (fc["y_hat"] <= fc["y_hi_95"]).all()


def _seasonal_panel():
    """Strongly seasonal series: the month-to-month scale is ~4x the seasonal one."""
    return seasonal_panel(k=30, seed=3, base=200.0)


def test_intervals_from_a_one_season_window_are_in_seasonal_units():
    # Fitted on 24 months, the only full-horizon window has 12 months of history: no seasonal
    # difference there. Its errors must be scaled like the final interval (seasonally), else
    # they are divided by the month-to-month swing and the year after gets bounds far too narrow.
    df = _seasonal_panel()
    train, test = df[df["ds"] < "2019-01-01"], df[df["ds"] >= "2019-01-01"]
    f = Forecaster(h=12, models=["snaive", "ets", "theta"], breaks=()).fit(train)
    assert sorted(f.cv_["cutoff"].unique()) == [pd.Timestamp("2017-12-01")]
    m = test.merge(f.predict(), on=["unique_id", "ds"])
    coverage = float(((m["y"] >= m["y_lo_95"]) & (m["y"] <= m["y_hi_95"])).mean())
    assert 0.9 <= coverage <= 0.99  # 0.51 before: bounds in month-to-month units


def test_one_selection_window_takes_the_mean_not_that_windows_winner():
    # Fitted on 24 months at h=12, the only full-horizon window has a season of history: the
    # ranking on it (here seasonal naive, exact on a season that repeats) says little about
    # models fitted on twice as much, so the mean of the models is taken. With two windows, the
    # winner is chosen as before.
    ds = pd.date_range("2017-01-01", periods=36, freq="MS")
    season = 1000 * (1 + 0.5 * np.sin(2 * np.pi * np.arange(36) / 12))
    df = pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": np.round(season * (i + 1))}) for i in range(4)])
    one = Forecaster(h=12, models=["snaive", "ets", "theta"], breaks=()).fit(df[df["ds"] < "2019-01-01"])
    assert one.cv_["cutoff"].nunique() == 1
    assert set(one.chosen_.values()) == {"mean"}
    two = Forecaster(h=12, models=["snaive", "ets", "theta"], breaks=(), holdout_windows=0, n_windows=2, step=6).fit(df[df["ds"] < "2019-07-01"])
    assert two.cv_["cutoff"].nunique() == 2
    assert set(two.chosen_.values()) == {"snaive"}


def test_a_side_calibrated_to_zero_width_never_crosses_the_point_forecast():
    # when every backtest error of a step fell on one side (a history ending in a break: theta over-forecast in each
    # window), that side's multiplier is 0 and the bound is expm1(log1p(y_hat)), which misses y_hat by a rounding
    # step about half the time: y_hi_95 = 1000.9950332911076 under y_hat = 1000.9950332911079, against
    # predict()'s documented 0 <= y_lo <= y_hat <= y_hi
    from riskmodel.core.forecasting.intervals import apply_intervals

    y_hat = np.linspace(0.5, 1e6, 20_001)
    bounds = apply_intervals(y_hat, 0.3, {80: np.zeros((1, 2, len(y_hat)))}, steps=np.zeros(len(y_hat), dtype=int), cap=np.inf)
    assert (bounds["y_lo_80"] <= y_hat).all() and (y_hat <= bounds["y_hi_80"]).all()
    uncapped = apply_intervals(y_hat, 0.3, {80: np.zeros((1, 2, len(y_hat)))}, steps=np.zeros(len(y_hat), dtype=int))
    assert (uncapped["y_lo_80"] <= y_hat).all() and (y_hat <= uncapped["y_hi_80"]).all()


def _late_port():
    """Port A since 2015; port B's history starts 2019-01 (6 periods at the 2019-06 holdout cutoff, fewer than the
    12 a backtest window needs, so B has no holdout rows); T = A + B."""
    ds = pd.date_range("2015-01-01", "2019-12-01", freq="MS")
    rng = np.random.default_rng(0)
    a = np.round(1000 + 200 * np.sin(np.arange(len(ds)) * 2 * np.pi / 12) + rng.normal(0, 30, len(ds)))
    late = ds >= "2019-01-01"
    df = pd.concat([pd.DataFrame({"unique_id": "A", "ds": ds, "y": a}),
                    pd.DataFrame({"unique_id": "B", "ds": ds[late], "y": 400.0}),
                    pd.DataFrame({"unique_id": "T", "ds": ds, "y": a + np.where(late, 400.0, 0.0)})])
    S = pd.DataFrame([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], index=["T", "A", "B"], columns=["A", "B"])
    return df, Hierarchy(S=S)


def test_a_series_absent_from_the_holdout_window_leaves_the_served_forecast_scored():
    # Before, a window lacking a series returned its rows unreconciled: the holdout had no 'reconciled' row,
    # and the gate and the card reported the unreconciled 'chosen' forecast as the served one's figures.
    from riskmodel.core.forecasting.gate import honest_metrics

    df, hierarchy = _late_port()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Forecaster(h=6, models=["snaive"], n_windows=2, breaks=()).fit(df, hierarchy)
    held_rows = fitted.cv_[fitted.cv_["holdout"]]
    assert set(held_rows["unique_id"]) == {"A", "T"}  # the case under test: B is too young for the holdout window
    held = fitted.holdout_metrics_.query("level == 'all'").set_index("model")
    assert "reconciled" in held.index
    assert honest_metrics(fitted)["mase"] == held.loc["reconciled", "mase"]
    # bottom-up over the parts the window has: the total is A's forecast (B had none at that cutoff)
    rows = reconcile_backtest(fitted.cv_, hierarchy, "bottom_up", (80, 95)).set_index(["unique_id", "ds"])
    for col in ("reconciled", "reconciled-lo-95", "reconciled-hi-95"):
        np.testing.assert_allclose(rows.loc["T", col].to_numpy(), rows.loc["A", col.replace("reconciled", "chosen")].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(rows.loc["A", col].to_numpy(), rows.loc["A", col.replace("reconciled", "chosen")].to_numpy(), rtol=1e-12)


def test_a_hierarchy_without_a_scored_reconciled_holdout_gives_the_gate_no_figures():
    # The served forecast of a forecaster with a hierarchy is reconciled: without its holdout figures the gate
    # has nothing to judge, and must never take the unreconciled 'chosen' forecast's figures for it.
    from riskmodel.core.forecasting.gate import honest_metrics

    df, hierarchy = _late_port()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = Forecaster(h=6, models=["snaive"], n_windows=2, breaks=()).fit(df, hierarchy)
    fitted.holdout_metrics_ = fitted.holdout_metrics_[fitted.holdout_metrics_["model"] != "reconciled"]  # e.g. saved before
    assert "mase" not in honest_metrics(fitted)
