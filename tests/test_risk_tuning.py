"""Time-budgeted tuning on time-ordered folds, and the tuned config written back."""

from __future__ import annotations

import dataclasses

import mlflow
import pytest

from riskmodel.core.config import load_config
from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import ConfigError
from riskmodel.core.features import training_table
from riskmodel.core.risk import RiskConfig, time_split
from riskmodel.core.risk.tuning import time_folds, tune, tuned_config, write_config
from tests.conftest import REPO


@pytest.fixture(scope="module")
def cfg() -> RiskConfig:
    base = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    model = dataclasses.replace(base.model, num_boost_round=30, early_stopping_rounds=5)
    return dataclasses.replace(base, model=model, tuning=dataclasses.replace(base.tuning, n_trials=2, folds=2, timeout_seconds=120))


@pytest.fixture(scope="module")
def table():
    return training_table(make_crossings(2_000, "2017-01-01", "2023-12-31", seed=4).crossings)


def test_folds_are_time_ordered_and_leave_the_holdout_out(table, cfg):
    holdout = time_split(table, "entry_time", cfg.model.splits)["test"]
    pairs = time_folds(table, "entry_time", 3, holdout_fraction=cfg.model.splits.test_fraction)
    assert len(pairs) == 3
    for train, valid in pairs:
        assert train["entry_time"].max() < valid["entry_time"].min()
        assert valid["entry_time"].max() < holdout["entry_time"].min()
    with pytest.raises(ConfigError, match="folds"):
        time_folds(table, "entry_time", 0, holdout_fraction=0.2)


def test_tune_and_write_back(table, cfg, tmp_path):
    seen = []
    res = tune(table, cfg.model, n_trials=2, folds=2, timeout_seconds=120, on_trial=lambda *a: seen.append(a))
    assert len(res.trials) == len(seen) == 2
    assert res.best_score == res.trials["pr_auc"].max()
    path = write_config(tuned_config(cfg, res.best_params), tmp_path / "tuned.yaml", note="test")
    again = load_config(path, RiskConfig)
    assert again.model.params["num_leaves"] == res.best_params["num_leaves"]
    assert again.model.features == cfg.model.features


@pytest.mark.slow
def test_trials_are_child_runs(table, cfg, tmp_path, monkeypatch):
    from riskmodel.integrations.tracking.risk import tune_risk

    monkeypatch.chdir(tmp_path)
    res = tune_risk(table, cfg)
    runs = mlflow.search_runs(experiment_names=[cfg.tracking.experiment])
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(children) == len(res.trials)
    assert children["tags.mlflow.parentRunId"].nunique() == 1


def test_tuning_early_stops_on_rows_apart_from_those_it_scores(table, cfg, monkeypatch):
    """Each trial's early-stopping rows precede, and never overlap, the block the trial is scored on."""
    from riskmodel.core.risk import tuning

    stopped, scored, inside_fit = [], [], []
    fit, margin = tuning.RiskModel.fit, tuning.RiskModel.predict_margin

    def spy_fit(self, train, *, valid=None, calib=None, **kw):
        stopped.append(valid)
        inside_fit.append(True)
        try:
            return fit(self, train, valid=valid, calib=calib, **kw)
        finally:
            inside_fit.pop()

    def spy_margin(self, frame, *a, **kw):
        if not inside_fit:  # the trial's score, not the fit's own use of the margin
            scored.append(frame)
        return margin(self, frame, *a, **kw)

    monkeypatch.setattr(tuning.RiskModel, "fit", spy_fit)
    monkeypatch.setattr(tuning.RiskModel, "predict_margin", spy_margin)
    tune(table, cfg.model, n_trials=1, timeout_seconds=60, folds=2)
    assert len(stopped) == len(scored) == 2
    for stop, block in zip(stopped, scored, strict=True):
        assert not set(stop.index) & set(block.index)
        assert stop["entry_time"].max() <= block["entry_time"].min()
