"""Bootstrap helpers of the risk metrics: weighted AUC/AP, ratio intervals, paired differences."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from riskmodel.core.risk.metrics import paired_difference, ranking_intervals, weighted_auc_ap


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    y = (rng.random(4_000) < 0.05).astype(float)
    # rounded scores make many ties, the case a hand-written AUC most often gets wrong
    p = np.round(y * 0.8 + rng.normal(0, 1, 4_000), 1)
    w = rng.poisson(1.0, 4_000).astype(float)
    return y, p, w


def test_weighted_auc_ap_match_scikit_learn_with_ties_and_weights(rows):
    y, p, w = rows
    auc, ap = weighted_auc_ap(y, p, w)
    assert auc == pytest.approx(roc_auc_score(y, p, sample_weight=w), rel=1e-12)
    assert ap == pytest.approx(average_precision_score(y, p, sample_weight=w), rel=1e-12)
    auc, ap = weighted_auc_ap(y, p)
    assert (auc, ap) == (pytest.approx(roc_auc_score(y, p), rel=1e-12), pytest.approx(average_precision_score(y, p), rel=1e-12))


def test_ranking_intervals_give_ratios_and_bounds_around_them(rows):
    y, p, _ = rows
    ref = y * 2 + np.random.default_rng(1).normal(0, 1, len(y))
    out = ranking_intervals(y, p, {"oracle": ref}, n_boot=100)
    assert out["auc_over_oracle"] == pytest.approx(roc_auc_score(y, p) / roc_auc_score(y, ref), rel=1e-12)
    assert out["gini_over_oracle"] == pytest.approx((2 * roc_auc_score(y, p) - 1) / (2 * roc_auc_score(y, ref) - 1), rel=1e-12)
    for k in ("roc_auc", "pr_auc", "auc_over_oracle", "prauc_over_oracle", "gini_over_oracle", "oracle_pr_auc"):
        assert out[f"{k}_lo"] < out[k] < out[f"{k}_hi"], k


def test_paired_difference_of_a_score_with_itself_is_exactly_zero_and_tells_a_real_gap(rows):
    y, p, _ = rows
    assert paired_difference(y, p, p) == (0.0, 0.0, 0.0)
    noise = p + np.random.default_rng(2).normal(0, 3, len(p))
    d, lo, hi = paired_difference(y, p, noise, metric="roc_auc")
    assert 0 < lo < d < hi


def test_paired_difference_refuses_an_unknown_metric(rows):
    y, p, _ = rows
    with pytest.raises(ValueError, match=r"`metric` must be 'pr_auc' or 'roc_auc'; got 'f1'"):
        paired_difference(y, p, p, metric="f1")
