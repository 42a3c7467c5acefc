"""The promotion gates judge the exact version they promote, and record the decision on its card.

``registry.promote`` picks the candidate once, under the promotion lease; a trainer registering a new
``challenger`` meanwhile does not take the lease. Whatever the gate reads (metrics, lineage, the models it
scores) must be that picked version's, not whatever ``@challenger`` points at when the gate gets to it.
Real MLflow (the test's local sqlite store), real LightGBM, a small synthetic log.
"""

from __future__ import annotations

import dataclasses

import pytest
from mlflow import MlflowClient

from riskmodel.core.config import load_config
from riskmodel.core.risk import RiskConfig
from tests.test_risk_pipeline import small_config  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow


def test_risk_promote_judges_the_version_it_promotes_when_a_trainer_registers_another_meanwhile(small_config, monkeypatch):  # noqa: F811
    """Version 1 (one stump at learning rate 0.001: ROC-AUC near 0.6, below the config's 0.75) is challenger when
    the promotion picks it; version 2 (the shipped model) is registered as challenger between the pick and the
    decision, as log_risk_run does on another machine. The gate must judge version 1, refuse it, and leave no champion."""
    from riskmodel.apps.pipelines.risk import load_crossings, promote, train
    from riskmodel.integrations.tracking import registry

    cfg = load_config(small_config, RiskConfig)
    name = cfg.tracking.registered_name
    crossings, _ = load_crossings(cfg)
    weak = dataclasses.replace(cfg, model=dataclasses.replace(
        cfg.model, num_boost_round=1, early_stopping_rounds=1, params={**cfg.model.params, "learning_rate": 0.001, "num_leaves": 2}))
    v1 = str(train(weak, crossings=crossings).logged.version)
    v2 = str(train(cfg, crossings=crossings).logged.version)
    registry.register(name, v1)  # challenger = the weak version when the promotion starts

    picked = registry.version_metrics

    def another_trainer_registers(n, version, client=None):  # called by the promotion after its pick, before the gate
        if str(version) == v1:
            registry.register(name, v2)
        return picked(n, version, client)

    monkeypatch.setattr(registry, "version_metrics", another_trainer_registers)
    decision = promote(cfg, crossings=crossings)
    assert str(registry.resolve_version(name, "challenger").version) == v2  # the race happened
    assert decision.candidate == v1
    assert not decision.passed, decision.reasons
    assert any(r.startswith("FAIL: roc_auc") for r in decision.reasons), decision.reasons
    client = MlflowClient()
    assert client.get_registered_model(name).aliases.get("champion") is None
    assert client.get_model_version(name, v1).tags["gate.decision"] == "refused"
    assert "gate.decision" not in client.get_model_version(name, v2).tags


def test_risk_promote_writes_its_decision_into_the_versions_model_card(small_config):  # noqa: F811
    """`riskmodel promote risk` and `riskmodel run` promote through pipelines.risk.promote: the version's description
    and its run's model_card.md must carry the decision and every reason, not the pending text of training."""
    import mlflow

    from riskmodel.apps.pipelines.risk import load_crossings, promote, train

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    logged = train(cfg, crossings=crossings).logged
    decision = promote(cfg, crossings=crossings)
    mv = MlflowClient().get_model_version(logged.name, str(logged.version))
    outcome = "promoted" if decision.passed else "refused"
    assert mv.tags["gate.decision"] == outcome
    card = mlflow.artifacts.load_text(f"runs:/{mv.run_id}/model_card.md")
    for text in (mv.description, card):
        assert "Not decided yet" not in text
        assert f"**{outcome}** on {mv.tags['gate.time']} against no champion yet" in text
        assert all(f"- {r}" in text for r in decision.reasons), (decision.reasons, text)
