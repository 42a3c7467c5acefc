"""Bootstrap helpers of the risk metrics: weighted AUC/AP, ratio intervals, paired differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from riskmodel.core.risk.metrics import cluster_codes, paired_difference, ranking_intervals, weighted_auc_ap


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


def _quadrupled(n: int = 3_000, seed: int = 4):
    """``n`` travellers of one stay each, then every stay four times over (shuffled), with its traveller.

    Four identical copies of a stay carry no more information than one: an interval on them must
    be as wide as on the travellers' single rows, and resampling the copies one by one halves it.
    """
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.08).astype(float)
    p = y * 0.9 + rng.normal(0, 1, n)
    ref = y * 0.5 + rng.normal(0, 1, n)
    rows = rng.permutation(np.repeat(np.arange(n), 4))
    return (y, p, ref), (y[rows], p[rows], ref[rows], np.char.add("T", rows.astype(str)))


def test_intervals_resample_travellers_given_clusters_not_their_stays():
    (y, p, ref), (y4, p4, ref4, travellers) = _quadrupled()
    one = ranking_intervals(y, p, {"ref": ref}, n_boot=400, seed=1)
    by_traveller = ranking_intervals(y4, p4, {"ref": ref4}, n_boot=400, seed=2, clusters=travellers)
    by_row = ranking_intervals(y4, p4, {"ref": ref4}, n_boot=400, seed=2)
    for k in ("pr_auc", "roc_auc", "prauc_over_ref"):
        width = one[f"{k}_hi"] - one[f"{k}_lo"]
        assert 0.8 < (by_traveller[f"{k}_hi"] - by_traveller[f"{k}_lo"]) / width < 1.25, k
        assert 0.35 < (by_row[f"{k}_hi"] - by_row[f"{k}_lo"]) / width < 0.65, k


def test_paired_difference_resamples_travellers_given_clusters_not_their_stays():
    (y, p, ref), (y4, p4, ref4, travellers) = _quadrupled()
    _, lo, hi = paired_difference(y, p, ref, n_boot=400, seed=1)
    _, lo_t, hi_t = paired_difference(y4, p4, ref4, n_boot=400, seed=2, clusters=travellers)
    _, lo_r, hi_r = paired_difference(y4, p4, ref4, n_boot=400, seed=2)
    assert 0.8 < (hi_t - lo_t) / (hi - lo) < 1.25
    assert 0.35 < (hi_r - lo_r) / (hi - lo) < 0.65


def test_clusters_must_label_every_row(rows):
    y, p, _ = rows
    with pytest.raises(ValueError, match=r"`clusters` must hold one label per row \(4000\); got 3"):
        paired_difference(y, p, p, clusters=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"`clusters` must hold one label per row"):
        ranking_intervals(y, p, clusters=np.arange(10))


def test_a_row_of_unknown_traveller_is_a_cluster_of_its_own():
    codes = cluster_codes(pd.Series(["a", None, "b", "a", None], dtype="str"), 5)
    assert codes[0] == codes[3] and len(set(codes.tolist())) == 4
