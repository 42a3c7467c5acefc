"""The as-of backtest and the honest-accuracy figures of the trainer (issue 14 parts 2 and 3)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.config import load_config
from riskmodel.core.datasets import make_crossings
from riskmodel.core.synth.generator import HIDDEN_RISK
from riskmodel.core.exceptions import SchemaError
from riskmodel.core.features import label_mature
from riskmodel.core.risk import RiskConfig, train_risk_model
from riskmodel.core.risk.train import as_of_cutoff, as_of_tables
from tests.conftest import REPO


@pytest.fixture(scope="module")
def data():
    return make_crossings(5_000, "2017-01-01", "2023-12-31", seed=9, **HIDDEN_RISK)


@pytest.fixture(scope="module")
def cfg():
    base = load_config(REPO / "configs" / "risk.yaml", RiskConfig).model
    return dataclasses.replace(base, num_boost_round=80)


@pytest.fixture(scope="module")
def tables(data, cfg):
    cutoff = as_of_cutoff(data.crossings, cfg.splits.test_fraction)
    return cutoff, *as_of_tables(data.crossings, cutoff)


def test_as_of_tables_read_training_labels_at_the_cutoff_and_hold_out_later_matured_stays(data, tables):
    cutoff, train, holdout = tables
    assert train["entry_time"].max() < cutoff <= holdout["entry_time"].min()
    # no training row knows of an exit after the cut-off: labels as they were known then
    assert not (train["exit_time"] > cutoff).any()
    assert label_mature(holdout, data.as_of + pd.Timedelta(days=1)).all()
    # some training labels changed after the cut-off would not be seen; the end-of-data table would see them
    late = data.stays[(data.stays["entry_time"] < cutoff) & (data.stays["exit_time"] > cutoff)]
    assert len(late) and not set(late["stay_id"]) & set(train.loc[train["exit_time"].notna(), "stay_id"])
    # long permits are in the holdout once matured, not only short visas
    assert holdout["visa_type"].astype(str).nunique() >= 4


def test_trainer_evaluates_on_the_as_of_holdout_with_intervals_ratios_and_visa_breakdown(data, tables, cfg):
    cutoff, train, holdout = tables
    truth = data.truth.set_index("stay_id")
    res = train_risk_model(train, cfg, holdout=holdout, oracle=truth.loc[holdout["stay_id"], "p_full"].to_numpy(),
                           observable=truth.loc[holdout["stay_id"], "p_observable"].to_numpy(), n_boot=50)
    m = res.metrics
    assert list(res.test_scores.index) == list(holdout.index) and m["n"] == len(holdout)
    assert res.lineage["calib_to"] < str(cutoff) <= res.lineage["test_from"]
    for k in ("roc_auc", "pr_auc", "auc_over_observable", "prauc_over_observable", "gini_over_observable",
              "auc_over_oracle", "prauc_over_oracle", "prauc_over_logreg"):
        assert m[f"{k}_lo"] <= m[k] <= m[f"{k}_hi"], k
    # what is hidden is irreducible: the full oracle ranks better than the observable one
    assert m["oracle_pr_auc"] > m["observable_pr_auc"]
    visas = holdout["visa_type"].astype(str)
    for v, n in visas.value_counts().items():
        assert m[f"by_visa_type_{v}_n"] == n
        assert m[f"by_visa_type_{v}_positives"] == holdout.loc[visas == v, "overstayed"].astype(float).sum()


def test_trainer_refuses_an_immature_holdout(tables, cfg):
    _, train, holdout = tables
    bad = holdout.copy()
    bad["overstayed"] = bad["overstayed"].astype(object)
    bad.loc[bad.index[:3], "overstayed"] = np.nan
    with pytest.raises(SchemaError, match=r"(?s)holdout table.*`overstayed`: target is missing on some rows \(immature labels\?\) \(3 rows"):
        train_risk_model(train, cfg, holdout=bad)


def test_trainer_intervals_and_audit_resample_the_holdouts_travellers(tables, cfg):
    """Every holdout stay four times over, under its traveller: the evaluation's bootstrap must resample
    the travellers (intervals as wide as on the single stays), not the copies one by one (half as wide).

    Both runs fit the same model on the same rows and score the same holdout; only whether the copies
    share a ``traveller_id`` differs, so any difference in the intervals is the resampling unit.
    """
    from riskmodel.core.risk import FairnessConfig

    _, train, holdout = tables
    four = pd.concat([holdout] * 4, ignore_index=True)
    apart = four.assign(traveller_id=[f"copy{i}" for i in range(len(four))])
    fair = FairnessConfig(min_support=100, min_positives=5, bootstrap=100)
    runs = [train_risk_model(train, cfg, holdout=h, fairness=fair, baselines=False, n_boot=100) for h in (four, apart)]
    ratio = [(r.metrics["pr_auc_hi"] - r.metrics["pr_auc_lo"]) for r in runs]
    assert runs[0].metrics["pr_auc"] == runs[1].metrics["pr_auc"]
    assert ratio[0] / ratio[1] > 1.5, ratio
    judged = [r.fairness.table.loc[r.fairness.table["enough_support"]] for r in runs]
    assert len(judged[0]) >= 2 and list(judged[0]["group"]) == list(judged[1]["group"])
    widths = [np.log(j["referral_ratio_high"] / j["referral_ratio_low"]).to_numpy() for j in judged]
    assert np.median(widths[0] / widths[1]) > 1.5, widths


def test_trainer_refuses_a_holdout_that_does_not_lie_after_every_fitting_row(tables, cfg):
    """``holdout`` is reported (and logged to MLflow) as the held-out future; the trainer cut ``table`` into
    train, valid and calib and scored whatever ``holdout`` held. Given rows of ``table`` itself (here its
    latest stays: the calibration slice), it reported their figures as holdout figures without a word."""
    _, train, _ = tables
    latest = train[train["entry_time"] >= train["entry_time"].quantile(0.9)]
    with pytest.raises(SchemaError, match=r"(?s)holdout table.*`entry_time`: the holdout starts at .* not after the last row of `table`"):
        train_risk_model(train, cfg, holdout=latest, baselines=False, n_boot=50)


def test_the_plain_time_split_fits_only_on_labels_mature_when_its_test_slice_begins(data, cfg):
    """Without a holdout, ``train_risk_model`` cuts the table (labels read at the data's end) into train, valid, calib and
    test: a stay entered before the test slice whose label matured only once the test slice had begun was fitted on (19%
    of the calibration rows of an 8,000-traveller log), the calibrator and band thresholds reading outcomes known only
    during the window the figures are on. The rows fitted on are those of ``known_then_tables`` (labels as known when the
    test slice begins: ``permit_end`` + the visa's extension room + ``grace_days`` before its first day), the others
    counted in the lineage. Fails on the code before the fix (1,000 and more such calibration rows)."""
    from riskmodel.core.features import training_table
    from riskmodel.core.risk.model import time_split
    from riskmodel.core.risk.train import fit_slices, known_then_tables

    table = training_table(data.crossings, grace_days=30)
    start = time_split(table, cfg.time_column, cfg.splits)["test"]["entry_time"].min()
    parts = fit_slices(table, cfg, None)
    fitted = pd.concat([parts[k] for k in ("train", "valid", "calib")])
    # by hand: the longest stay the visa allows, plus 30 days' grace, ended before the test slice's first day
    settled = fitted["permit_end"] + pd.to_timedelta(fitted["extension_room_days"] + 30, unit="D")
    assert len(fitted) > 10_000 and (settled < start.normalize()).all()
    before = table.loc[table["entry_time"] < start]
    unsettled = before["permit_end"] + pd.to_timedelta(before["extension_room_days"] + 30, unit="D") >= start.normalize()
    assert len(before) - len(fitted) == int(unsettled.sum()) > 500
    # the same rows and labels as the pipeline's fit on the crossings read as of the test slice's start
    fit, test, not_matured = known_then_tables(data.crossings, table, cfg)
    assert sorted(fitted["stay_id"]) == sorted(fit["stay_id"]) and not_matured == int(unsettled.sum())
    labels = fit.set_index("stay_id")["overstayed"]
    assert (fitted.set_index("stay_id")["overstayed"] == labels.loc[fitted["stay_id"]]).all()
    pd.testing.assert_frame_equal(parts["test"], table.loc[table["entry_time"] >= start])
    res = train_risk_model(table, dataclasses.replace(cfg, num_boost_round=20), baselines=False, n_boot=10)
    assert res.lineage["not_matured_at_test_start"] == int(unsettled.sum())
    assert sum(res.lineage[f"{k}_rows"] for k in ("train", "valid", "calib")) == len(fitted)
