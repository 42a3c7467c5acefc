"""Security and reliability across the MLflow store: tampered artifacts, identifiers, promotion races."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import re
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from riskmodel import ArtifactIntegrityError, load, make_crossings
from riskmodel import score_file
from riskmodel.core.config import load_config
from riskmodel.core.features import build_features
from riskmodel.core.risk import RiskConfig
from riskmodel.integrations.tracking import registry

from .conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Train and log through the real pipeline on a log whose ids look like real passport numbers."""
    root = tmp_path_factory.mktemp("store")
    mp_ = pytest.MonkeyPatch()
    mp_.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp_.chdir(root)
    data = make_crossings(4_000, "2017-01-01", "2023-12-31", seed=12)
    crossings = data.crossings.copy()
    rng = np.random.default_rng(0)
    travellers = crossings["traveller_id"].unique()
    raw_ids = dict(zip(travellers, [f"PX{n:07d}" for n in rng.choice(10**7, len(travellers), replace=False)], strict=True))
    crossings["traveller_id"] = crossings["traveller_id"].map(raw_ids).astype(str)
    crossings["document_id"] = crossings["document_id"].map(lambda d: f"DOC{d[1:]}Z").astype(str)
    from riskmodel.apps.pipelines.risk import promote, train

    cfg = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    cfg = dataclasses.replace(cfg, fairness=dataclasses.replace(cfg.fairness, min_support=100, min_positives=5, max_calibration_ratio=5.0))  # a smaller-sample fairness policy for a small test log
    train(cfg, crossings=crossings, log=True)
    promote(cfg, crossings=crossings)  # the gate scores the window of the log the model was trained on
    feats = build_features(crossings, validate=False)
    feats[feats["exit_time"].isna()].to_parquet(root / "in.parquet", index=False)
    score_file(root / "in.parquet", root / "scores.parquet", model="models:/overstay-risk@champion", progress=False, track=True)
    yield root, crossings, cfg
    mp_.undo()


def test_no_raw_identifier_anywhere_in_the_store(store):
    root, crossings, _ = store
    ids = set(crossings["traveller_id"]) | set(crossings["document_id"])
    found = set()
    files = [root / "mlflow.db", *[p for p in (root / "mlruns").rglob("*") if p.is_file()]]
    assert len(files) > 10
    for path in files:
        text = path.read_bytes().decode("latin-1")
        found |= set(re.findall(r"PX\d{7}|DOC\d{8}Z", text)) & ids
    assert not found, f"raw identifiers in the MLflow store: {sorted(found)[:5]}"


def test_tampered_artifact_in_the_store_is_refused(store, monkeypatch):
    root, _, cfg = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.chdir(root)
    name = cfg.tracking.registered_name
    mv = MlflowClient().get_model_version_by_alias(name, "champion")
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{mv.version}")).resolve()
    # find the logged file in the store itself (not a downloaded copy) and change one byte of meaning
    stored = [p for p in (root / "mlruns").rglob("model.txt") if "risk_model" in p.parts]
    assert stored, "no logged risk model found in the store"
    for p in stored:
        p.write_text(p.read_text().replace("shrinkage=", "shrinkage=9", 1))
    with pytest.raises(ArtifactIntegrityError, match="model.txt"):
        load(f"models:/{name}@champion", refresh=True)
    with pytest.raises(ArtifactIntegrityError):
        mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}")
    assert local.exists()


def _promote_worker(uri, name, version, barrier, queue):
    import os

    os.environ["MLFLOW_TRACKING_URI"] = uri

    class Gate:
        def __init__(self, passed, reasons):
            self.passed, self.reasons = passed, reasons

    def decide(cand, champ):
        if champ is None:
            return Gate(True, ["no champion yet"])
        return Gate(cand["roc_auc"] >= champ["roc_auc"], [f"roc_auc {cand['roc_auc']} vs {champ['roc_auc']}"])

    barrier.wait()
    d = registry.promote(name, decide, version=version)
    queue.put((version, d.passed, d.champion))


def test_two_trainers_promoting_at_once_leave_one_consistent_champion(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'race.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    client = registry.configure()
    mlflow.set_experiment("promotion-race")
    name = "race-model"
    client.create_registered_model(name)
    versions = {}
    for auc in (0.80, 0.85):
        with mlflow.start_run() as run:
            mlflow.log_metric("roc_auc", auc)
            mlflow.log_text("x", "model/file.txt")
        versions[auc] = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id).version
    ctx = mp.get_context("spawn")
    for _ in range(3):  # several rounds: the race must never win
        client.delete_registered_model_alias(name, "champion") if client.get_registered_model(name).aliases.get("champion") else None
        barrier, queue = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_promote_worker, args=(uri, name, str(v), barrier, queue)) for v in versions.values()]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
            assert p.exitcode == 0
        results = [queue.get(timeout=5) for _ in procs]
        assert len(results) == 2
        champion = str(client.get_model_version_by_alias(name, "champion").version)
        assert champion == str(versions[0.85])
        for v in versions.values():
            tags = client.get_model_version(name, str(v)).tags
            assert tags["gate.decision"] in ("promoted", "refused") and tags["gate.time"]
