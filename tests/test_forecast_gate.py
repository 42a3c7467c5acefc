"""The forecasters' gate reads the holdout window (nothing chose or calibrated on it) and can refuse."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import riskmodel.core.forecasting.models as fm
from riskmodel.core.forecasting import Forecaster
from riskmodel.core.forecasting.config import ForecastGateConfig
from riskmodel.core.forecasting.gate import champion_on_same_window, forecast_gate, honest_metrics

# 24 forecast points: a 95% coverage of 1.0 is one plausible outcome, so this test's gate allows it
GATE = ForecastGateConfig(max_coverage_95=1.0)


def _seasonal(k: int = 4, trend: float = 0.0) -> pd.DataFrame:
    ds = pd.date_range("2012-01-01", periods=96, freq="MS")
    rows = []
    for i in range(k):
        noise = np.random.default_rng(i).normal(0, 10, len(ds))
        y = 500 + 50 * i + 150 * (ds.month == 7) + trend * np.arange(len(ds)) + noise
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": y}))
    return pd.concat(rows, ignore_index=True)


def _fit(df: pd.DataFrame, models) -> Forecaster:
    return Forecaster(h=6, models=models, n_windows=2, breaks=()).fit(df)


def test_a_good_challenger_passes_on_its_holdout():
    metrics = honest_metrics(_fit(_seasonal(), ["snaive", "theta"]))
    assert metrics["mase_over_best_peer"] < 1
    decision = forecast_gate(metrics, None, GATE)
    assert decision.passed, decision.reasons


def test_a_challenger_three_times_too_high_is_refused(monkeypatch):
    snaive = fm.LOCAL_MODELS["snaive"]
    # the models work on log1p(y): + log(3) is three times the seasonal-naive level
    monkeypatch.setitem(fm.LOCAL_MODELS, "snaive", lambda z, h, m, **kw: snaive(z, h, m, **kw) + np.log(3))
    forecaster = _fit(_seasonal(), ["snaive"])
    assert forecaster.predict()["y_hat"].mean() > 2.5 * _seasonal()["y"].mean()
    decision = forecast_gate(honest_metrics(forecaster), None, GATE)
    assert not decision.passed
    assert any("best of naive, seasonal naive and drift" in r and ">= 1" in r for r in decision.reasons)


def test_seasonal_naive_itself_is_refused_when_a_better_peer_exists():
    # it can only tie its own peer, and on a strongly trending series drift beats it
    metrics = honest_metrics(_fit(_seasonal(trend=8.0), ["snaive"]))
    assert metrics["mase"] == pytest.approx(metrics["peer_snaive_mase"], rel=1e-12)  # it is seasonal naive
    assert metrics["peer_drift_mase"] < metrics["mase"]  # and a better peer exists
    decision = forecast_gate(metrics, None, GATE)
    assert not decision.passed
    # refused by the peer rule: every other rule passes it
    failed = [r for r in decision.reasons if "best of naive, seasonal naive and drift" in r]
    assert len(failed) == 1 and ">= 1" in failed[0]
    assert forecast_gate(metrics, None, dataclasses.replace(GATE, beat_best_peer=False)).passed


def test_no_holdout_window_is_refused_not_passed():
    short = _seasonal().groupby("unique_id").tail(15)
    forecaster = Forecaster(h=6, models=["snaive"], n_windows=1, breaks=()).fit(short)
    metrics = honest_metrics(forecaster)
    assert "mase" not in metrics
    assert not forecast_gate(metrics, None, GATE).passed


def test_the_champion_is_compared_on_the_same_window():
    df = _seasonal()
    challenger = _fit(df, ["snaive", "theta"])
    champion = _fit(df[df["ds"] < "2019-01-01"], ["snaive"])
    same = champion_on_same_window(champion, challenger)
    assert same == pytest.approx(honest_metrics(_fit(df, ["snaive"]))["mase"], rel=1e-9)
    metrics = honest_metrics(challenger) | {"champion_mase_same_window": same}
    assert forecast_gate(metrics, {"mase": 0.01}, GATE).passed  # the champion's own (earlier) figure is not used
    worse = metrics | {"champion_mase_same_window": metrics["mase"] / 2}
    assert not forecast_gate(worse, {"mase": 10.0}, GATE).passed
    other_h = Forecaster(h=3, models=["snaive"], n_windows=2, breaks=()).fit(df)
    assert champion_on_same_window(other_h, challenger) is None


def test_a_challenger_worse_than_the_champion_on_the_same_window_is_refused():
    # A real challenger that beats every simple peer and covers well, but is worse than the
    # champion refitted on the same history and scored on the same holdout window: with one
    # selection window it takes the mean of its models, the champion chose theta on two.
    df = _seasonal()
    champion = _fit(df[df["ds"] < "2019-01-01"], ["snaive", "theta"])
    challenger = Forecaster(h=6, models=["snaive", "theta", "ets"], n_windows=1, breaks=()).fit(df)
    assert set(challenger.chosen_.values()) == {"mean"}
    same = champion_on_same_window(champion, challenger)
    metrics = honest_metrics(challenger) | {"champion_mase_same_window": same}
    assert metrics["mase"] > same * (1 + GATE.mase_tolerance)
    # the champion's own logged figure (10.0) would let it pass: the same-window refit decides
    decision = forecast_gate(metrics, {"mase": 10.0}, GATE)
    assert not decision.passed
    failed = [r for r in decision.reasons if "champion's" in r]
    assert len(failed) == 1 and "(on the same window)" in failed[0] and " > " in failed[0]
    # and it is the champion rule that refuses: without a champion, every other rule passes it
    alone = {k: v for k, v in metrics.items() if k != "champion_mase_same_window"}
    assert forecast_gate(alone, None, GATE).passed
