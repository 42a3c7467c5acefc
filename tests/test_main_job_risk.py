"""The main job's risk step: the report's reliability and fairness tables are the champion's.

A challenger refused by its gate must not leave its own evaluation in ``risk_holdout.json``, where
the duty report reads it while the champion scores everyone. Real MLflow (the test's local sqlite
store), real LightGBM, a small synthetic log.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from riskmodel.apps.pipelines.main_job import MainJobSettings, _risk_step, _RiskStep, _Run, _score_step
from riskmodel.core.datasets import make_crossings

from .conftest import REPO, log_promoted_risk_model, use_local_store

pytestmark = pytest.mark.slow


def _config(path, *, leaves: int, minimum_auc: float):
    text = (REPO / "configs" / "risk.yaml").read_text(encoding="utf-8")
    small = (
        text.replace("min_support: 500", "min_support: 100").replace("min_positives: 30", "min_positives: 5")
        .replace("max_calibration_ratio: 1.41", "max_calibration_ratio: 5.0")
        .replace("num_leaves: 31", f"num_leaves: {leaves}").replace("minimum: {roc_auc: 0.75}", f"minimum: {{roc_auc: {minimum_auc}}}")
    )
    assert small.count(f"num_leaves: {leaves}") == 1 and f"roc_auc: {minimum_auc}" in small
    path.write_text(small, encoding="utf-8")
    return path


def _logged_tables(name: str, version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from mlflow import MlflowClient

    client = MlflowClient()
    run_id = client.get_model_version(name, version).run_id
    return tuple(pd.read_csv(client.download_artifacts(run_id, p)) for p in ("evaluation/reliability.csv", "fairness/fairness.csv"))


def test_a_refused_challenger_leaves_the_champions_reliability_and_fairness(tmp_path):
    crossings = make_crossings(12_000, "2018-01-01", "2023-12-31", seed=0).crossings
    run = _Run(out=tmp_path, settings=MainJobSettings(travellers=12_000, start="2018-01-01", seed=0, risk_config=_config(tmp_path / "v1.yaml", leaves=31, minimum_auc=0.75)),
               state={}, progress=lambda _m: None)
    first = _risk_step(run, crossings)
    assert first.version == "1"
    rel1, fair1 = _logged_tables(first.name, "1")

    # a different model (15 leaves) under a gate no model passes (ROC-AUC >= 0.9999 on the window)
    run.settings = MainJobSettings(travellers=12_000, start="2018-01-01", seed=0, risk_config=_config(tmp_path / "v2.yaml", leaves=15, minimum_auc=0.9999))
    second = _risk_step(run, crossings)
    from mlflow import MlflowClient

    assert MlflowClient().get_model_version(first.name, "2").tags["gate.decision"] == "refused"
    assert second.version == "1"
    rel2, fair2 = _logged_tables(first.name, "2")
    assert not rel2.equals(rel1)  # the challenger's own evaluation differs from the champion's
    saved = json.loads((tmp_path / "risk_holdout.json").read_text(encoding="utf-8"))
    pd.testing.assert_frame_equal(pd.DataFrame(saved["reliability"]), rel1, check_dtype=False)
    pd.testing.assert_frame_equal(second.reliability.reset_index(drop=True), rel1, check_dtype=False)
    assert list(second.fairness.columns) == list(fair1.columns) and len(second.fairness) == len(fair1)

    # a second run on the same data and config keeps the champion and says the challenger was refused
    said = []
    run.progress = said.append
    again = _risk_step(run, crossings)
    assert again.version == "1"
    assert any("v2 trained on this data was refused" in line for line in said)


def test_a_champion_that_logged_no_evaluation_tables_gets_none_not_the_refused_challengers(monkeypatch):
    """The report's holdout tables describe the model that scores: when the kept champion logged none (an older
    riskmodel), the refused challenger's tables were shown in their place under the champion's name."""
    from types import SimpleNamespace

    import riskmodel.integrations.tracking.risk as tracking_risk
    from riskmodel.apps.pipelines.main_job import _champion_evaluation

    monkeypatch.setattr(tracking_risk, "logged_evaluation", lambda name, alias: None)  # what a store without the tables gives
    said = []
    challenger = (pd.DataFrame({"mean_predicted": [0.1], "observed_rate": [0.2]}), pd.DataFrame({"attribute": ["sex"], "group": ["F"]}))
    reliability, fairness = _champion_evaluation(SimpleNamespace(step_progress=said.append), "overstay-risk", "3", challenger)
    assert reliability.empty and fairness.empty
    assert said == ["the champion v3 logged no evaluation tables: the report shows none (the refused challenger's describe "
                    "another model)"]


def test_the_step_promotes_the_version_it_trained_when_another_trainer_registers_a_challenger_meanwhile(tmp_path, monkeypatch):
    """Version 1 is registered as challenger by another trainer between this step's training (version 2) and its
    promotion: the step must judge and promote version 2, the model whose evaluation tables it writes."""
    from mlflow import MlflowClient

    from riskmodel.apps.pipelines import risk as risk_pipeline
    from riskmodel.integrations.tracking import registry

    crossings = make_crossings(5_000, "2018-01-01", "2023-12-31", seed=0).crossings
    config = _config(tmp_path / "r.yaml", leaves=31, minimum_auc=0.5)
    assert str(risk_pipeline.train(config, crossings=crossings).logged.version) == "1"  # another trainer's, never promoted
    trained = risk_pipeline.train

    def train_then_another_registers(*args, **kwargs):
        outcome = trained(*args, **kwargs)
        registry.register(outcome.logged.name, "1")  # the other trainer's log_risk_run, after this one's
        return outcome

    monkeypatch.setattr(risk_pipeline, "train", train_then_another_registers)
    run = _Run(out=tmp_path, settings=MainJobSettings(travellers=5_000, start="2018-01-01", seed=0, risk_config=config),
               state={}, progress=lambda _m: None)
    step = _risk_step(run, crossings)
    client = MlflowClient()
    assert step.version == "2"
    assert client.get_model_version(step.name, "2").tags["gate.decision"] == "promoted"
    assert "gate.decision" not in client.get_model_version(step.name, "1").tags
def test_the_run_scores_with_the_version_it_names_not_a_cached_champion(tmp_path, monkeypatch):
    """A long-lived process calling the main job each month (review r11c, repro 07): last month scored with v1 by
    its alias; this month v2 is promoted and the report names v2. Scores asked for right after (load's clock held
    still: inside its 10 s alias re-check) must carry model_version 2, in scores.parquet as in what was run."""
    from types import SimpleNamespace

    from riskmodel import api, score
    from riskmodel.integrations.tracking import registry

    use_local_store(monkeypatch, tmp_path)
    monkeypatch.setattr(api, "_cache", {})
    monkeypatch.setattr(api, "_now", lambda: 1_000.0, raising=False)
    name, first, second, rows = log_promoted_risk_model(challenger=True)
    assert (first.version, second.version) == ("1", "2")
    assert score(rows, model=f"models:/{name}@champion")["model_version"].eq("1").all()  # last month's run
    assert registry.promote(name, lambda cand, champ: SimpleNamespace(passed=True, reasons=["test"]), version="2").passed

    run = _Run(out=tmp_path / "out", settings=MainJobSettings(travellers=1_500, seed=3), state={}, progress=lambda _m: None)
    run.out.mkdir()
    risk = _RiskStep(name=name, version="2", config=None, reliability=pd.DataFrame(), fairness=pd.DataFrame())
    _score_step(run, make_crossings(1_500, "2021-01-01", "2023-12-31", seed=3).crossings, risk)
    scores = pd.read_parquet(run.out / "scores.parquet")
    assert len(scores) and scores["model_version"].eq("2").all()
