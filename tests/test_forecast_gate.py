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
    # a champion of another horizon is refitted at the challenger's: its settings at h=6 are the same fit
    other_h = Forecaster(h=3, models=["snaive"], n_windows=2, breaks=()).fit(df)
    assert champion_on_same_window(other_h, challenger) == pytest.approx(same, rel=1e-9)
    no_holdout = Forecaster(h=6, models=["snaive"], n_windows=2, holdout_windows=0, breaks=()).fit(df)
    assert champion_on_same_window(champion, no_holdout) is None


# ----------------------------------------------------------------------------- each rule can refuse
# Hand-made figures: one passing challenger, then one figure moved past one rule's written bound
# (benchmarks/MUTATION.md: each of these rules could be switched off with every test still passing).

PASSING = {"mase": 0.8, "mase_over_best_peer": 0.9, "mase_over_snaive": 0.9, "coverage_95": 0.95}
EVERY_RULE = ForecastGateConfig(max_mase=2.0, beat_best_peer=True, beat_snaive=True, min_coverage_95=0.85, max_coverage_95=0.995)


def _refused_by(decision) -> list[str]:
    return [c.metric for c in decision.comparisons if not c.passed]


def test_the_hand_made_challenger_passes_every_rule():
    decision = forecast_gate(PASSING, None, EVERY_RULE)
    assert decision.passed and _refused_by(decision) == []
    assert sorted(c.metric for c in decision.comparisons) == ["coverage_95", "mase", "mase_over_best_peer", "mase_over_snaive"]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"mase": 2.5}, "mase"),  # above max_mase 2.0
        ({"mase_over_best_peer": 1.0}, "mase_over_best_peer"),  # a tie with a peer: the rule is strictly below 1
        ({"mase_over_snaive": 1.05}, "mase_over_snaive"),
        ({"coverage_95": 0.80}, "coverage_95"),  # below 0.85
        ({"coverage_95": 0.999}, "coverage_95"),  # above 0.995
    ],
)
def test_each_rule_refuses_a_figure_past_its_bound(change, rule):
    decision = forecast_gate(PASSING | change, None, EVERY_RULE)
    assert not decision.passed
    assert _refused_by(decision) == [rule]


@pytest.mark.parametrize("missing", ["mase", "mase_over_best_peer", "mase_over_snaive", "coverage_95"])
def test_a_missing_figure_fails_its_rule(missing):
    # no holdout window (too short a history) leaves no figure: never a pass by omission
    decision = forecast_gate({k: v for k, v in PASSING.items() if k != missing}, None, EVERY_RULE)
    assert not decision.passed and _refused_by(decision) == [missing]


def test_a_challenger_worse_than_the_champion_beyond_the_tolerance_is_refused():
    gate = ForecastGateConfig(mase_tolerance=0.02)
    assert forecast_gate(PASSING, {"mase": 0.8 / 1.01}, gate).passed  # 1% worse: within 2%
    worse = forecast_gate(PASSING, {"mase": 0.7}, gate)  # 14% worse
    assert not worse.passed and _refused_by(worse) == ["mase"]
    assert [c.reference for c in worse.comparisons if not c.passed] == [0.7]


def test_seasonal_naive_tying_itself_as_best_peer_is_refused():
    # on a seasonal series without trend seasonal naive is the best peer: a challenger that is
    # seasonal naive scores the peer's MASE (up to rounding: its ratio read 0.9999999999999994 and passed)
    forecaster = _fit(_seasonal(), ["snaive"])
    rows = forecaster.holdout_metrics_.set_index("model")
    assert rows.loc["chosen", "mase"] == pytest.approx(rows.loc["peer:snaive", "mase"], rel=1e-12)
    assert rows.loc["peer:snaive", "mase"] < rows.loc[["peer:naive", "peer:drift"], "mase"].min()
    decision = forecast_gate(honest_metrics(forecaster), None, GATE)
    assert not decision.passed and _refused_by(decision) == ["mase_over_best_peer"]


class _Fitted:
    """Only what honest_metrics reads of a fitted forecaster: its holdout table and whether it serves reconciled
    forecasts (a hierarchy and a reconcile method: here, when its table scores a reconciled forecast)."""

    def __init__(self, table: pd.DataFrame):
        self.holdout_metrics_ = table
        served_reconciled = "reconciled" in set(table["model"])
        self.hierarchy_ = object() if served_reconciled else None
        self.reconcile = "bottom_up" if served_reconciled else None


def _holdout_table(**mase: float) -> pd.DataFrame:
    return pd.DataFrame({
        "level": "all", "model": list(mase), "n_series": 3, "mase": list(mase.values()),
        "coverage_95": [0.9 if not m.startswith("peer:") else np.nan for m in mase],
    })


def test_the_gate_judges_the_served_forecast_against_the_best_peer():
    # with a hierarchy the reconciled forecast is the one served: its figures are the gate's,
    # held against the best (lowest MASE) of the three peers
    table = _holdout_table(**{"chosen": 0.5, "reconciled": 1.2, "peer:naive": 2.0, "peer:snaive": 1.5, "peer:drift": 3.0})
    metrics = honest_metrics(_Fitted(table))
    assert metrics["mase"] == 1.2
    assert metrics["mase_over_best_peer"] == pytest.approx(1.2 / 1.5)
    assert metrics["mase_over_snaive"] == pytest.approx(1.2 / 1.5)
    assert {k: v for k, v in metrics.items() if k.startswith("peer_")} == {"peer_naive_mase": 2.0, "peer_snaive_mase": 1.5, "peer_drift_mase": 3.0}
    worse_than_naive = honest_metrics(_Fitted(_holdout_table(**{"chosen": 1.2, "peer:naive": 1.0, "peer:snaive": 1.5, "peer:drift": 3.0})))
    assert worse_than_naive["mase_over_best_peer"] == pytest.approx(1.2)
    assert not forecast_gate(worse_than_naive, None, GATE).passed


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


def test_a_challenger_of_another_horizon_is_held_against_the_champion_on_its_own_window(bps_data_dir):
    """A challenger of another horizon or holdout was compared with the champion's *logged* MASE, a figure of
    another window and horizon: on BPS ports before COVID a 1-month theta challenger (MASE 1.07) passed the
    champion rule against the 12-month champion's 1.68, while the champion's settings score 0.62 on the
    challenger's own 1-month window. The champion's settings are now refitted at the challenger's horizon and holdout."""
    df = pd.read_csv(bps_data_dir / "bps_arrivals_by_port_2017_2023.csv", parse_dates=["ds"])[["unique_id", "ds", "y"]]
    df = df[df["ds"] < "2020-01-01"]
    df = df[df["unique_id"].isin(df.groupby("unique_id")["y"].sum().nlargest(6).index)]
    champion = Forecaster(h=12, breaks=()).fit(df)
    challenger = Forecaster(h=1, models=["theta"], breaks=()).fit(df)
    same = champion_on_same_window(champion, challenger)
    assert same == pytest.approx(honest_metrics(Forecaster(**(champion.get_params() | {"h": 1})).fit(df))["mase"], rel=1e-9)
    mine = honest_metrics(challenger)
    decision = forecast_gate(mine | {"champion_mase_same_window": same}, honest_metrics(champion), GATE)
    rule = [c for c in decision.comparisons if c.reference is not None]
    assert len(rule) == 1 and not rule[0].passed, decision.reasons
    assert any("(on the same window)" in r for r in decision.reasons)



def test_a_champion_whose_figures_cannot_be_read_fails_the_champion_rule():
    """A champion with no readable MASE (its run's metrics empty) and none measured on the same window was
    skipped as if there were no champion: the challenger passed without the champion rule."""
    assert forecast_gate(PASSING, None, EVERY_RULE).passed
    decision = forecast_gate(PASSING, {}, EVERY_RULE)
    assert not decision.passed and _refused_by(decision) == ["mase"]
    assert any("champion" in r and "cannot" in r for r in decision.reasons), decision.reasons
    # measured on the same window, the champion's logged figures are not needed
    assert forecast_gate(PASSING | {"champion_mase_same_window": 0.9}, {}, EVERY_RULE).passed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_mase", float("inf")),  # any challenger's MASE would do
        ("mase_tolerance", float("inf")),  # any loss against the champion would do
        ("mase_tolerance", float("nan")),
        ("min_coverage_95", -0.5),  # a coverage is a share of actuals: in [0, 1]
        ("max_coverage_95", 1.5),
    ],
)
def test_a_forecast_gate_with_a_rule_that_cannot_fail_is_refused(field, value):
    with pytest.raises(ValueError, match=rf"`gate\.{field}`"):
        ForecastGateConfig(**{field: value})


def test_a_peer_rule_switched_off_is_said_in_the_decision():
    """beat_best_peer: false dropped the rule's line from the decision: a reader saw a pass with no word of it."""
    metrics = {"mase": 0.9, "mase_over_best_peer": 1.3, "coverage_95": 0.93}
    d = forecast_gate(metrics, None, dataclasses.replace(GATE, beat_best_peer=False))
    assert d.passed
    assert any(r.startswith("OFF: not compared with the simple peers") and "gate.beat_best_peer is false" in r for r in d.reasons), d.reasons
    # with beat_snaive on, the note says which rule is left
    d = forecast_gate(metrics | {"mase_over_snaive": 0.9}, None, dataclasses.replace(GATE, beat_best_peer=False, beat_snaive=True))
    assert any(r.startswith("OFF: not compared with the best simple peer") for r in d.reasons), d.reasons
    # with the rule on, no such line (GATE's max_coverage_95 of 1 has its own OFF line: that side cannot fail)
    assert not any(r.startswith("OFF: not compared") for r in forecast_gate(metrics, None, GATE).reasons)


@pytest.mark.parametrize("value", [2.0, 1.0])
def test_a_mase_tolerance_read_as_a_percentage_is_refused(value):
    """mase_tolerance is relative (0.02 is 2%): 2 let a challenger three times the champion's MASE pass."""
    champion = {"mase": 0.5}
    challenger = {"mase": 1.4, "mase_over_best_peer": 0.9, "coverage_95": 0.93}  # 2.8 times the champion's
    assert not forecast_gate(challenger, champion, ForecastGateConfig(mase_tolerance=0.02)).passed
    with pytest.raises(ValueError, match=rf"`gate\.mase_tolerance` .*below 1.*0\.02 is 2%.*got {value}"):
        ForecastGateConfig(mase_tolerance=value)


def test_a_demanding_or_zero_mase_tolerance_is_kept():
    assert ForecastGateConfig(mase_tolerance=0.0).mase_tolerance == 0.0
    assert ForecastGateConfig(mase_tolerance=-0.05).mase_tolerance == -0.05  # must beat the champion by 5%: a choice
    assert ForecastGateConfig(mase_tolerance=0.5).mase_tolerance == 0.5


# ----------------------------------------------------------------------------- bounds that cannot fail are said (h10-config)
# A coverage is a share of actuals, in [0, 1]: a min_coverage_95 of 0 or a max_coverage_95 of 1 cannot fail on its side,
# and [0, 1] together left only "a coverage exists" of the rule, with a decision that read as if it had been checked.

def _off(decision) -> list[str]:
    return [r for r in decision.reasons if r.startswith("OFF:")]


def test_coverage_bounds_holding_every_coverage_are_said_off():
    gate = dataclasses.replace(EVERY_RULE, min_coverage_95=0.0, max_coverage_95=1.0)
    d = forecast_gate(PASSING | {"coverage_95": 0.2}, None, gate)  # a 95% interval that held one actual in five
    assert d.passed  # the config's choice, kept
    off = _off(d)
    assert len(off) == 1 and "95% coverage" in off[0] and "gate.min_coverage_95" in off[0] and "gate.max_coverage_95" in off[0], d.reasons


@pytest.mark.parametrize(("side", "other"), [("min_coverage_95", "max_coverage_95"), ("max_coverage_95", "min_coverage_95")])
def test_a_coverage_side_that_cannot_fail_is_said_off(side, other):
    gate = dataclasses.replace(EVERY_RULE, **{side: 0.0 if side.startswith("min") else 1.0})
    off = _off(forecast_gate(PASSING, None, gate))
    assert len(off) == 1 and f"gate.{side}" in off[0] and f"gate.{other}" not in off[0], off
    # the other side still judges: 0.999 is above 0.995, 0.80 below 0.85
    outside = 0.80 if side.startswith("max") else 0.999
    assert _refused_by(forecast_gate(PASSING | {"coverage_95": outside}, None, gate)) == ["coverage_95"]


def test_coverage_bounds_that_can_fail_say_nothing_off():
    assert _off(forecast_gate(PASSING, None, EVERY_RULE)) == []
    assert _off(forecast_gate(PASSING, None, ForecastGateConfig())) == []


def test_a_loose_but_finite_max_mase_is_kept_and_still_judges():
    """MASE is unbounded above: any finite max_mase can fail, so 1e9 is a loose choice, kept and not said off."""
    gate = dataclasses.replace(EVERY_RULE, max_mase=1e9)
    assert _off(forecast_gate(PASSING, None, gate)) == []
    assert _refused_by(forecast_gate(PASSING | {"mase": 2e9}, None, gate)) == ["mase"]



# ----------------------------------------------------------------------------- no holdout window is said, not quoted as inf

def test_no_holdout_window_is_said_with_the_fix_not_quoted_as_inf():
    """holdout_windows 0 left no holdout figure: the decision read 'holdout MASE inf > max 2.0', as if a forecast had scored."""
    forecaster = Forecaster(h=6, models=["snaive"], n_windows=2, holdout_windows=0, breaks=()).fit(_seasonal())
    d = forecast_gate(honest_metrics(forecaster), None, EVERY_RULE)
    assert not d.passed
    assert not [r for r in d.reasons if "inf" in r.split()], d.reasons
    said = [r for r in d.reasons if "no holdout window" in r]
    assert said and "forecaster.holdout_windows" in said[0] and "1 or more" in said[0], d.reasons


def test_a_same_window_figure_is_used_only_for_the_champion_it_was_measured_on():
    """A figure measured on version 1 is no figure of champion version 2: the rule then reads version 2's logged MASE
    and says so; measured on version 2, it is used, and the reason names the champion version compared with."""
    stale = PASSING | {"mase": 0.95, "champion_mase_same_window": 1.0, "champion_version_same_window": 1.0}
    decision = forecast_gate(stale, {"mase": 0.5}, EVERY_RULE, champion_version="2")
    assert not decision.passed and _refused_by(decision) == ["mase"]
    line = [r for r in decision.reasons if "champion version 2" in r]
    assert len(line) == 1 and "0.5000" in line[0] and "as logged" in line[0] and "version 1" in line[0], decision.reasons
    # a figure that names no champion version (an older run) is of no known champion either
    unnamed = {k: v for k, v in stale.items() if k != "champion_version_same_window"}
    assert not forecast_gate(unnamed, {"mase": 0.5}, EVERY_RULE, champion_version="2").passed
    fresh = stale | {"champion_version_same_window": 2.0}
    decision = forecast_gate(fresh, {"mase": 0.5}, EVERY_RULE, champion_version="2")
    assert decision.passed, decision.reasons
    assert any("champion version 2's 1.0000 (on the same window)" in r for r in decision.reasons), decision.reasons


def _levels_table() -> pd.DataFrame:
    """A holdout table of a forecaster with a hierarchy (total > port): better than every peer over all series and on
    the ports, worse than seasonal naive on the total (MASE 1.2 against 1.0)."""
    mase = {  # level -> (reconciled, naive, snaive, drift)
        "all": (0.70, 1.00, 0.85, 1.10), "total": (1.20, 1.50, 1.00, 1.60), "port": (0.60, 0.95, 0.80, 1.00),
    }
    models = ("reconciled", "peer:naive", "peer:snaive", "peer:drift")
    return pd.DataFrame([
        {"level": lv, "model": m, "n_series": 5 if lv == "all" else (1 if lv == "total" else 4), "mase": v,
         "coverage_95": 0.93 if m == "reconciled" else np.nan}
        for lv, values in mase.items() for m, v in zip(models, values, strict=True)
    ])


def test_a_challenger_worse_than_seasonal_naive_on_one_level_is_refused_though_the_pool_passes():
    # The pooled rules read level 'all' alone: a forecaster worse than last year's same month on the national total
    # passed on the ports' strength (h16-hier). Every level of the hierarchy is held against seasonal naive at it.
    metrics = honest_metrics(_Fitted(_levels_table()))
    assert metrics["mase"] == 0.70 and metrics["mase_over_best_peer"] == pytest.approx(0.70 / 0.85)
    assert metrics["level.total.mase_over_snaive"] == pytest.approx(1.2) and metrics["level.port.mase_over_snaive"] == pytest.approx(0.75)
    decision = forecast_gate(metrics, None, dataclasses.replace(GATE, max_level_mase_over_snaive=1.0))
    assert not decision.passed and _refused_by(decision) == ["level.total.mase_over_snaive"], decision.reasons
    said = [r for r in decision.reasons if "level total" in r]
    assert len(said) == 1 and "1.2000" in said[0] and "seasonal naive" in said[0], decision.reasons
    # the bound at its written value: 1.2 <= 1.2 passes
    assert forecast_gate(metrics, None, dataclasses.replace(GATE, max_level_mase_over_snaive=1.2)).passed


def test_the_default_gate_holds_every_level_against_seasonal_naive():
    assert ForecastGateConfig().max_level_mase_over_snaive == 1.0
    assert not forecast_gate(honest_metrics(_Fitted(_levels_table())), None, dataclasses.replace(GATE)).passed


def test_the_per_level_rule_switched_off_is_said():
    d = forecast_gate(honest_metrics(_Fitted(_levels_table())), None, dataclasses.replace(GATE, max_level_mase_over_snaive=None))
    assert d.passed
    assert any(r.startswith("OFF: levels of the hierarchy not judged apart") for r in d.reasons), d.reasons


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 0.0, -1.0])
def test_a_per_level_bound_that_cannot_fail_or_cannot_pass_is_refused(value):
    with pytest.raises(ValueError, match=r"`gate\.max_level_mase_over_snaive`"):
        ForecastGateConfig(max_level_mase_over_snaive=value)


def test_a_challenger_within_the_tolerance_of_its_champion_but_not_of_an_earlier_one_is_refused():
    """Each promotion may lose up to ``mase_tolerance`` (2%) against the champion it replaces: version 2 at 1.5%
    above version 1, version 3 at 1.5% above version 2 is 3% above version 1 and passed, and so on. The best earlier
    champion on the same window bounds the challenger too (the risk gate's rule on drops that add up)."""
    gate = ForecastGateConfig(mase_tolerance=0.02)
    champion = {"mase": 0.8 / 1.015}  # version 2, 1.5% better than the challenger: within the tolerance
    first = 0.8 / 1.015 ** 2  # version 1, 3% better than the challenger
    assert forecast_gate(PASSING, champion, gate, champion_version="2").passed
    decision = forecast_gate(PASSING, champion, gate, champion_version="2", earlier={"1": (first, "on the same window")})
    assert not decision.passed and _refused_by(decision) == ["mase_over_earlier_champions"], decision.reasons
    said = [r for r in decision.reasons if "earlier champion" in r]
    assert len(said) == 1 and "version 1" in said[0] and f"{first:.4f}" in said[0], decision.reasons
    assert [c.reference for c in decision.comparisons if not c.passed] == [first]
    # the best of several earlier champions is the bound; one within the tolerance passes
    near = 0.8 / 1.01
    assert forecast_gate(PASSING, champion, gate, champion_version="2",
                         earlier={"1": (near, "on the same window"), "3": (0.9, "on the same window")}).passed
    worst = forecast_gate(PASSING, champion, gate, champion_version="2",
                          earlier={"1": (near, "on the same window"), "3": (first, "as logged")})
    assert not worst.passed and "version 3" in next(r for r in worst.reasons if "earlier champion" in r)


def test_a_challenger_better_on_average_but_worse_than_the_champion_on_one_level_is_refused():
    """The champion rule read only the MASE over all series (a mean over every series of every level): a challenger
    12.5% worse than the champion on the total, the figure the duty managers staff from, passed on the ports' gain.
    Each level of the hierarchy is held to the champion's at that level too, on the same window when it was measured
    there, else as the champion logged it."""
    gate = ForecastGateConfig(mase_tolerance=0.02)
    levels = {"level.total.mase": 0.9, "level.total.mase_over_snaive": 0.95, "level.port.mase": 0.7, "level.port.mase_over_snaive": 0.8}
    same = {"champion_mase_same_window": 0.85, "champion_version_same_window": 2.0,
            "champion_level.total.mase_same_window": 0.8, "champion_level.port.mase_same_window": 0.9}
    decision = forecast_gate(PASSING | levels | same, {"mase": 0.85}, gate, champion_version="2")
    assert not decision.passed and _refused_by(decision) == ["level.total.mase_over_champion"], decision.reasons
    said = [r for r in decision.reasons if r.startswith("level total:") and "champion" in r]
    assert len(said) == 1 and "0.9000" in said[0] and "0.8000" in said[0] and "on the same window" in said[0], decision.reasons
    assert [c.reference for c in decision.comparisons if not c.passed] == [0.8]
    # within the tolerance at every level: passes
    near = same | {"champion_level.total.mase_same_window": 0.9 / 1.01}
    assert forecast_gate(PASSING | levels | near, {"mase": 0.85}, gate, champion_version="2").passed
    # not measured on the same window (another champion version): the champion's logged figure at that level, said
    logged = forecast_gate(PASSING | levels, {"mase": 0.85, "level.total.mase": 0.8, "level.port.mase": 0.9}, gate, champion_version="2")
    assert _refused_by(logged) == ["level.total.mase_over_champion"]
    assert any(r.startswith("level total:") and "as logged" in r for r in logged.reasons), logged.reasons
    # no champion: no such rule
    assert forecast_gate(PASSING | levels, None, gate).passed
