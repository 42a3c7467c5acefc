"""Time-budgeted tuning on time-ordered folds, and the tuned config written back."""

from __future__ import annotations

import dataclasses
import warnings

import mlflow
import pandas as pd
import pytest

from riskmodel.core.config import load_config
from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import ConfigError, RiskModelWarning, SchemaError, UnseenCategoryWarning
from riskmodel.core.features import training_table
from riskmodel.core.risk import RiskConfig, time_split
from riskmodel.core.risk.tuning import known_then_folds, time_folds, tune, tuned_config, write_config
from tests.conftest import REPO, one_more_stay


@pytest.fixture(scope="module")
def cfg() -> RiskConfig:
    base = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    model = dataclasses.replace(base.model, num_boost_round=30, early_stopping_rounds=5)
    return dataclasses.replace(base, model=model, tuning=dataclasses.replace(base.tuning, n_trials=2, folds=2, timeout_seconds=120))


@pytest.fixture(scope="module")
def crossings():
    return make_crossings(2_000, "2017-01-01", "2023-12-31", seed=4).crossings


@pytest.fixture(scope="module")
def table(crossings):
    return training_table(crossings)


def test_folds_are_time_ordered_and_leave_the_holdout_out(table, cfg):
    holdout = time_split(table, "entry_time", cfg.model.splits)["test"]
    pairs = time_folds(table, "entry_time", 3, holdout_fraction=cfg.model.splits.test_fraction)
    assert len(pairs) == 3
    for train, valid in pairs:
        assert train["entry_time"].max() < valid["entry_time"].min()
        assert valid["entry_time"].max() < holdout["entry_time"].min()
    with pytest.raises(ConfigError, match="folds"):
        time_folds(table, "entry_time", 0, holdout_fraction=0.2)


def test_tune_and_write_back(crossings, table, cfg, tmp_path):
    seen = []
    res = tune(table, cfg.model, crossings=crossings, n_trials=2, folds=2, timeout_seconds=120, on_trial=lambda *a: seen.append(a))
    assert len(res.trials) == len(seen) == 2
    assert res.best_score == res.trials["pr_auc"].max()
    path = write_config(tuned_config(cfg, res.best_params), tmp_path / "tuned.yaml", note="test")
    again = load_config(path, RiskConfig)
    assert again.model.params["num_leaves"] == res.best_params["num_leaves"]
    assert again.model.features == cfg.model.features


@pytest.mark.slow
def test_trials_are_child_runs(crossings, table, cfg, tmp_path, monkeypatch):
    from riskmodel.integrations.tracking.risk import tune_risk

    monkeypatch.chdir(tmp_path)
    res = tune_risk(table, cfg, crossings=crossings)
    runs = mlflow.search_runs(experiment_names=[cfg.tracking.experiment])
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(children) == len(res.trials)
    assert children["tags.mlflow.parentRunId"].nunique() == 1
    parent = mlflow.MlflowClient().get_run(children["tags.mlflow.parentRunId"].iloc[0]).data.params
    # the folds' not-matured counts are logged with the run
    assert [parent[f"fold{k}_not_matured"] for k in range(cfg.tuning.folds)] == [str(n) for n in res.folds["not_matured"]]
    tags = mlflow.MlflowClient().get_run(children["tags.mlflow.parentRunId"].iloc[0]).data.tags
    assert tags["best_cv_pr_auc"].startswith("optimistic: the best of the trials on the folds that chose the parameters")


def test_tuning_early_stops_on_rows_apart_from_those_it_scores(crossings, table, cfg, monkeypatch):
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
    tune(table, cfg.model, crossings=crossings, n_trials=1, timeout_seconds=60, folds=2)
    assert len(stopped) == len(scored) == 2
    for stop, block in zip(stopped, scored, strict=True):
        assert not set(stop["stay_id"]) & set(block["stay_id"])
        assert stop["entry_time"].max() <= block["entry_time"].min()


def _spy_fits(monkeypatch) -> list[pd.DataFrame]:
    """Every fold's fitting rows (fit and early-stopping) that tune hands to RiskModel.fit, in call order."""
    from riskmodel.core.risk import tuning

    fitted, fit = [], tuning.RiskModel.fit

    def spy_fit(self, train, *, valid=None, calib=None, **kw):
        fitted.append(pd.concat([train, valid]))
        return fit(self, train, valid=valid, calib=calib, **kw)

    monkeypatch.setattr(tuning.RiskModel, "fit", spy_fit)
    return fitted


def test_each_fold_fits_on_labels_as_known_when_its_block_begins(crossings, table, cfg, monkeypatch):
    """An overstay entered before a fold's validation block but settled after it began is not fitted in that fold.

    The old tune cut every fold from the table labelled at the end of the data, so the first fold
    fitted this stay with its overstay, known only months after the block it was scored on began. A
    visit-visa stay of a new traveller (60 days' permit, no extension, leaves after 100 days: its label
    settles 60 + 120 days' extension room + 30 days' grace after entry) enters five days before the first
    block; the second block begins more than a year later, when the overstay is known.
    """
    tc = "entry_time"
    starts = [valid[tc].min() for _, valid in time_folds(table, tc, 2, holdout_fraction=cfg.model.splits.test_fraction)]
    assert starts[1] - starts[0] > pd.Timedelta(days=215)  # the draw gives the second fold its label
    entered = starts[0].normalize() - pd.Timedelta(days=5)
    injected = one_more_stay(crossings, "c1_visit", "C999999990", entered, 60, 100)
    at_end = training_table(injected)
    assert at_end.loc[at_end["stay_id"] == "C999999990", "overstayed"].tolist() == [1]

    fitted = _spy_fits(monkeypatch)
    res = tune(at_end, cfg.model, crossings=injected, n_trials=1, timeout_seconds=60, folds=2)
    assert len(fitted) == 2
    assert res.folds["labels_known_at"].iloc[0] > entered  # the stay entered before the first block
    assert "C999999990" not in set(fitted[0]["stay_id"])
    # once its overstay is known it is fitted, with that label
    assert fitted[1].loc[fitted[1]["stay_id"] == "C999999990", "overstayed"].tolist() == [1]

    # and it is counted as left out of the first fold only (one more than on the log without it)
    before = [n for *_, n in known_then_folds(crossings, table, tc, 2, holdout_fraction=cfg.model.splits.test_fraction)]
    assert res.folds["not_matured"].tolist() == [before[0] + 1, before[1]]


def test_tune_without_the_crossings_log_warns_it_fits_end_of_data_labels(table, cfg):
    with pytest.warns(RiskModelWarning, match="end of the data"):
        res = tune(table, cfg.model, n_trials=1, timeout_seconds=60, folds=2)
    assert res.folds["not_matured"].tolist() == [0, 0]


def test_a_fold_that_cannot_rank_trials_is_refused_before_any_trial_and_named(crossings, table, cfg):
    tc, holdout = "entry_time", cfg.model.splits.test_fraction
    (_, first), (_, last) = time_folds(table, tc, 2, holdout_fraction=holdout)
    trials = []
    # the last fold's block holds no overstay: its average precision is 0 for every trial and was averaged in silently
    quiet = table.copy()
    quiet.loc[last.index, "overstayed"] = False
    with pytest.warns(RiskModelWarning, match="end of the data"):
        with pytest.raises(SchemaError, match=r"fold 1: its validation block \(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d, "
                                              rf"{len(last)} rows\) holds no overstay") as err:
            tune(quiet, cfg.model, n_trials=1, timeout_seconds=60, folds=2, on_trial=lambda *a: trials.append(a))
    assert "tuning.folds" in str(err.value) and "fold 0" not in str(err.value)
    # every row before the first block is a non-overstay: the fold's fitting rows hold one outcome (LightGBM's error
    # named neither the fold nor the fix, after Optuna had logged the trial as failed)
    early = table.copy()
    early.loc[early[tc] < first[tc].min(), "overstayed"] = False
    with pytest.warns(RiskModelWarning, match="end of the data"):
        with pytest.raises(SchemaError, match=r"fold 0: its fitting rows \(.*\) hold no overstay"):
            tune(early, cfg.model, n_trials=1, timeout_seconds=60, folds=2, on_trial=lambda *a: trials.append(a))
    assert trials == []
    # the known-then path is checked the same way: a log too short for its folds is refused, fold named
    short = crossings[crossings["timestamp"] < crossings["timestamp"].min() + pd.Timedelta(days=200)]
    with pytest.raises(SchemaError, match=r"fold 0: its (fitting|early-stopping) rows"):
        tune(training_table(short), cfg.model, crossings=short, n_trials=1, timeout_seconds=60, folds=2)


def test_a_validation_block_with_missing_labels_is_refused_before_any_trial_and_named(crossings, table, cfg):
    """Missing labels counted as non-overstays let the fold through, then every trial crashed in scikit-learn's
    average precision ("Input contains NaN"), naming neither the fold nor the fix."""
    tc, holdout = "entry_time", cfg.model.splits.test_fraction
    (_, last), = time_folds(table, tc, 1, holdout_fraction=holdout)
    unlabelled = table.copy()
    unlabelled.loc[last.index[:7], "overstayed"] = pd.NA
    trials = []
    for log in (None, crossings):
        with pytest.raises(SchemaError, match=r"fold 0: its validation block \(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d, "
                                              rf"{len(last)} rows\) holds 7 rows without a label.*mature, labelled rows"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RiskModelWarning)
                tune(unlabelled, cfg.model, crossings=log, n_trials=1, timeout_seconds=60, folds=1, on_trial=lambda *a: trials.append(a))
    assert trials == []


@pytest.mark.parametrize(("kw", "key"), [({"n_trials": 0}, "n_trials"), ({"timeout_seconds": 0}, "timeout_seconds"),
                                         ({"timeout_seconds": -1.5}, "timeout_seconds"), ({"folds": 0}, "folds")])
def test_tune_refuses_settings_that_run_no_trial_before_any_work(kw, key):
    """tune() is a public entry point: n_trials 0 or no time budget ran no trial, then optuna stopped with
    "No trials are completed yet", naming no setting (the table is never read: the check comes first)."""
    with pytest.raises(ConfigError, match=rf"`tuning\.{key}` must be"):
        tune(pd.DataFrame(), load_config(REPO / "configs" / "risk.yaml", RiskConfig).model, **kw)


def test_an_unseen_level_in_a_fold_is_warned_once_not_once_per_trial(crossings, table, cfg):
    """A port first used after a fold's fitting rows is unseen in its validation block in every trial: `--tune`
    printed the same UnseenCategoryWarning once per trial (20 by default), however it was filtered."""
    tc, holdout = "entry_time", cfg.model.splits.test_fraction
    # hand-made: a port no stay of the log used, given to the first 5 rows of the last fold's block
    (_, _), (_, last) = time_folds(table, tc, 2, holdout_fraction=holdout)
    moved = table.copy()
    moved["entry_port"] = moved["entry_port"].astype(object)
    moved.loc[last.index[:5], "entry_port"] = "NEW-PORT"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        res = tune(moved, cfg.model, n_trials=3, timeout_seconds=120, folds=2)
    assert len(res.trials) == 3
    unseen = [str(w.message) for w in seen if issubclass(w.category, UnseenCategoryWarning)]
    assert len(unseen) == 1, unseen
    assert "fold 1" in unseen[0] and "'entry_port': 5" in unseen[0], unseen[0]


@pytest.mark.slow
def test_pipeline_tunes_on_labels_as_known_then_and_says_what_it_left_out(crossings, cfg, tmp_path, monkeypatch):
    import warnings

    from riskmodel.apps.pipelines.risk import tune as tune_pipeline

    monkeypatch.chdir(tmp_path)
    lines = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        path = tune_pipeline(cfg, tmp_path / "tuned.yaml", crossings=crossings, progress=lines.append)
    assert not [w for w in seen if "end of the data" in str(w.message)]  # the pipeline hands tune the log
    folds = [line for line in lines if line.startswith("fold ")]
    assert [line.split(":")[0] for line in folds] == [f"fold {k}" for k in range(cfg.tuning.folds)]
    assert all("earlier stays not matured then, left out" in line for line in folds)
    assert load_config(path, RiskConfig).model.features == cfg.model.features
    # the best of many trials on the folds that chose it is a selection score, and the header and the log say so
    assert "(optimistic: the folds chose it; train with this config for a held-out figure)" in path.read_text(encoding="utf-8").splitlines()[0]
    assert any(line.startswith("best mean fold PR-AUC") and "optimistic" in line for line in lines)


@pytest.mark.slow
def test_the_tuned_config_records_the_last_stay_its_search_read(crossings, table, cfg, tmp_path, monkeypatch):
    """The folds are cut from the stays before the test slice (its latest ``test_fraction``): the last stay they read is
    the latest one before that slice, and the tuned config says so (``tuning.searched_through``), so a gate window
    starting on or before it can be refused (review17promote 05)."""
    from riskmodel.apps.pipelines.risk import tune as tune_pipeline

    monkeypatch.chdir(tmp_path)
    t = table["entry_time"]
    last = t[t < t.quantile(1 - cfg.model.splits.test_fraction)].max()
    path = tune_pipeline(cfg, tmp_path / "tuned.yaml", crossings=crossings)
    assert load_config(path, RiskConfig).tuning.searched_through == str(last)
