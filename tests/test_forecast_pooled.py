"""ets_pooled: seasonal indices shrunk toward the other series' (James-Stein), and how the engine pools them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.forecasting.engine import RunSettings, _pooled_groups, run_models
from riskmodel.core.forecasting.models import ets, ets_pooled, seasonal_profile, shrunk_profile

M = 12
TRUE = 0.3 * np.sin(2 * np.pi * np.arange(M) / M)  # additive log-scale indices by month, summing to 0


def _series(season, noise, n=24, seed=0):
    rng = np.random.default_rng(seed)
    return np.log(1000.0) + season[np.arange(n) % M] + rng.normal(0, noise, n)


def test_a_noisy_series_is_pulled_toward_the_group_and_gets_closer_to_the_truth():
    errs_own, errs_shrunk, weights = [], [], []
    for seed in range(20):
        z = _series(TRUE, 0.25, seed=seed)
        shrunk, weight = shrunk_profile(z, M, TRUE[np.arange(36) % M])
        weights.append(weight)
        errs_own.append(np.abs(seasonal_profile(z, M) - TRUE).mean())
        errs_shrunk.append(np.abs(shrunk[:M] - TRUE).mean())
    assert 0.0 <= min(weights) and max(weights) < 1.0
    assert np.mean(weights) < 0.5  # noise about as large as the pattern: the group's indices dominate
    assert np.mean(errs_shrunk) < 0.5 * np.mean(errs_own)


def test_a_clean_series_with_its_own_pattern_keeps_it():
    own_pattern = np.roll(TRUE, 5) * 2  # far from the group's, little noise
    z = _series(own_pattern, 0.01)
    shrunk, weight = shrunk_profile(z, M, TRUE[np.arange(36) % M])
    assert weight > 0.95
    assert np.abs(shrunk[:M] - own_pattern).max() < 0.05


def test_one_season_seen_takes_the_groups_indices():
    z = _series(np.roll(TRUE, 3), 0.01, n=18)
    group = TRUE[np.arange(30) % M]
    shrunk, weight = shrunk_profile(z, M, group)
    assert weight == 0.0
    np.testing.assert_array_equal(shrunk, group)
    # and ets_pooled then adds the group's indices over the horizon to a flat level
    fc = ets_pooled(z, 12, M, group=group)
    np.testing.assert_allclose(fc - fc.mean(), group[18:30] - group[18:30].mean(), atol=0.02)


def test_without_a_group_it_is_ets():
    z = _series(TRUE, 0.1)
    np.testing.assert_array_equal(ets_pooled(z, 12, M), ets(z, 12, M))


def test_the_group_leaves_the_series_out_and_aligns_calendar_months():
    """Two series starting in different months: each one's group is exactly the other's indices, by month."""
    pos_a = np.arange(1, 37) % M  # 24 months of history + 12 ahead, starting in January
    pos_b = np.arange(4, 40) % M  # starting in April
    ya = np.expm1(_series(TRUE, 0.05, seed=1))
    yb = np.expm1(np.log(1000.0) + TRUE[pos_b[:24]] * 1.5 + np.random.default_rng(2).normal(0, 0.05, 24))
    tasks = [("a", ya, None, None, None), ("b", yb, None, None, None)]
    groups = _pooled_groups(tasks, {"a": pos_a, "b": pos_b}, M, 12)
    prof_b = seasonal_profile(np.log1p(yb), M)  # by b's own phase (index j = phase of b's period j)
    by_month_b = {pos_b[j]: prof_b[j % M] for j in range(12, 24)}
    np.testing.assert_allclose(groups["a"], [by_month_b[p] for p in pos_a])
    # one series alone has no group
    assert _pooled_groups(tasks[:1], {"a": pos_a}, M, 12) == {}


def test_after_a_break_it_takes_the_mean_of_the_other_models_so_the_mean_is_unchanged():
    ds = pd.date_range("2014-01-01", "2022-12-01", freq="MS")
    rng = np.random.default_rng(3)
    hist = {}
    for uid in ("a", "b", "c"):
        y = 1000 * np.exp(TRUE[np.arange(len(ds)) % M] + rng.normal(0, 0.05, len(ds)))
        y[(ds >= "2020-04-01") & (ds <= "2022-03-01")] *= 0.05
        hist[uid] = (ds, y)
    base = dict(freq="M", m=M, breaks=(("2020-04-01", "2022-03-31"),), break_method="recover")
    with_pooled, _, _ = run_models(hist, 12, RunSettings(models=("snaive", "ets", "theta", "ets_pooled"), **base))
    without, _, _ = run_models(hist, 12, RunSettings(models=("snaive", "ets", "theta"), **base))
    for uid in hist:
        mean_with = np.mean([with_pooled[n][uid] for n in ("snaive", "ets", "theta", "ets_pooled")], axis=0)
        mean_without = np.mean([without[n][uid] for n in ("snaive", "ets", "theta")], axis=0)
        np.testing.assert_allclose(mean_with, mean_without, rtol=1e-9)


def test_pooling_is_the_same_in_parallel():
    ds = pd.date_range("2017-01-01", periods=24, freq="MS")
    hist = {f"s{i}": (ds, np.expm1(_series(TRUE, 0.2, seed=i))) for i in range(6)}
    got, _, fallbacks = run_models(hist, 12, RunSettings(freq="M", m=M, models=("snaive", "ets_pooled"), n_jobs=2))
    assert not fallbacks
    one, _, _ = run_models(hist, 12, RunSettings(freq="M", m=M, models=("snaive", "ets_pooled"), n_jobs=1))
    for uid in hist:
        np.testing.assert_allclose(got["ets_pooled"][uid], one["ets_pooled"][uid])
