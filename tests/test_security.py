"""Security and reliability across the MLflow store: tampered artifacts, identifiers (promotion races: test_promotion_lease.py)."""

from __future__ import annotations

import dataclasses
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
