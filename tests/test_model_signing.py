"""Signed models in a real MLflow store: every file, every URI form, the pyfunc path, gated champions (issue 15 parts 1, 2, 10)."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from riskmodel import api, forecast, load, score
from riskmodel.core import audit
from riskmodel.core.artifacts import MANIFEST, write_manifest
from riskmodel.core.exceptions import ArtifactIntegrityError, ModelLoadError
from riskmodel.core.forecasting import Forecaster, aggregate
from riskmodel.core.forecasting.config import ForecastConfig, ForecastGateConfig
from riskmodel.integrations.tracking.forecast import load_forecaster, log_forecast_run, promote_forecaster
from riskmodel.integrations.tracking.risk import load_risk_model

from .conftest import log_promoted_risk_model, use_local_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One risk model logged, promoted to champion through the gate; a second version logged but not promoted."""
    root = tmp_path_factory.mktemp("signed")
    mp = pytest.MonkeyPatch()
    use_local_store(mp, root)
    name, first, second, rows = log_promoted_risk_model(challenger=True)
    yield root, name, first, second, rows
    mp.undo()


@pytest.fixture
def env(store, monkeypatch):
    use_local_store(monkeypatch, store[0])
    return store


def _stored_dir(name: str, version: str) -> Path:
    """The logged model's folder inside the store itself (not a downloaded copy)."""
    client = MlflowClient()
    model_id = client.get_model_version(name, version).source.split("/")[-1]
    location = client.get_logged_model(model_id).artifact_location
    return Path(urllib.parse.urlparse(location.removeprefix("riskmodel+")).path)  # riskmodel+file:/... (verified_store)


def _uri_forms(name: str, logged) -> dict[str, str]:
    client = MlflowClient()
    mv = client.get_model_version(name, logged.version)
    return {
        "version": f"models:/{name}/{logged.version}",
        "alias": f"models:/{name}@champion",
        "logged model id": mv.source,
        "run": f"runs:/{logged.run_id}/model",
    }


def _all_paths_refuse(name, logged, match=None):
    for form, uri in _uri_forms(name, logged).items():
        with pytest.raises(ArtifactIntegrityError, match=match):
            load(uri, refresh=True)
    with pytest.raises(ArtifactIntegrityError, match=match):
        mlflow.pyfunc.load_model(f"models:/{name}/{logged.version}")
    with pytest.raises(ArtifactIntegrityError, match=match):  # runs:/ too: the refused model's stub raises the refusal
        mlflow.pyfunc.load_model(f"runs:/{logged.run_id}/model")


def _rows(sample, model):
    X = sample[model.features].copy()
    for c in model.categorical:
        X[c] = X[c].astype(object).astype(str)
    return X


# ----------------------------------------------------------------------------- what is logged


def test_every_uri_form_and_the_pyfunc_load_the_signed_model(env):
    _, name, first, _, sample = env
    scorers = {form: load(uri, refresh=True) for form, uri in _uri_forms(name, first).items()}
    expected = scorers["version"].model.predict_proba(sample)[:, 1]
    for form, scorer in scorers.items():
        np.testing.assert_array_equal(scorer.model.predict_proba(sample)[:, 1], expected, err_msg=form)
    assert (scorers["alias"].name, scorers["alias"].version) == (name, first.version)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    out = pyfunc.predict(_rows(sample, scorers["version"].model))
    np.testing.assert_array_equal(out["probability"].to_numpy(dtype=float), expected)


def test_every_file_is_in_the_signed_manifest_and_no_code_is_stored(env):
    _, name, first, _, _ = env
    stored = _stored_dir(name, first.version)
    files = {p.relative_to(stored).as_posix() for p in stored.rglob("*") if p.is_file()} - {MANIFEST, "registered_model_meta"}
    manifest = json.loads((stored / MANIFEST).read_text())
    assert set(manifest["files"]) == files
    assert {"MLmodel", "data/risk_model/model.txt", "data/risk_model/meta.json"} <= files
    assert manifest["signature"]["algorithm"] == "hmac-sha256"
    assert not [f for f in files if f.endswith((".py", ".pkl", ".pickle", ".cloudpickle"))]
    flavor = yaml.safe_load((stored / "MLmodel").read_text())["flavors"]["python_function"]
    assert flavor["loader_module"] == "riskmodel.integrations.tracking.risk_pyfunc"
    assert "python_model" not in flavor and not flavor.get("code")


# ----------------------------------------------------------------------------- tampering in the store


def _tampered(path: Path, original: bytes) -> bytes:
    """A change that keeps the file valid: a YAML comment, JSON whitespace, a trailing line; for a manifest, one digest."""
    if path.name == MANIFEST:  # its meaning is signed, not its bytes: change what it says
        manifest = json.loads(original)
        first = sorted(manifest["files"])[0]
        manifest["files"][first] = hashlib.sha256(b"something else").hexdigest()
        return json.dumps(manifest).encode()
    return original + (b" " if path.suffix == ".json" else b"\n# changed\n")


def test_changing_any_stored_file_is_refused_on_every_path(env):
    _, name, first, _, _ = env
    stored = _stored_dir(name, first.version)
    files = sorted(p for p in stored.rglob("*") if p.is_file() and p.name != "registered_model_meta")
    assert len(files) >= 8
    for path in files:
        original = path.read_bytes()
        path.write_bytes(_tampered(path, original))
        try:
            _all_paths_refuse(name, first)
        finally:
            path.write_bytes(original)
    load(f"models:/{name}/{first.version}", refresh=True)  # restored: loads again


def test_deleted_manifest_is_refused_on_every_path(env):
    _, name, first, _, _ = env
    manifest = _stored_dir(name, first.version) / MANIFEST
    original = manifest.read_bytes()
    manifest.unlink()
    try:
        _all_paths_refuse(name, first, match="has no manifest.json")
    finally:
        manifest.write_bytes(original)


def _regenerate_unsigned(folder: Path) -> None:
    """What an attacker does with the hashing helper: list every file's SHA-256 again (no key)."""
    files = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in (MANIFEST, "registered_model_meta")}
    (folder / MANIFEST).write_text(json.dumps({"algorithm": "sha256", "files": files}, indent=1, sort_keys=True))


def test_regenerated_manifest_and_deleted_tag_are_refused(env):
    _, name, first, _, _ = env
    stored = _stored_dir(name, first.version)
    client = MlflowClient()
    tag = client.get_model_version(name, first.version).tags["manifest_sha256"]
    saved = {p: p.read_bytes() for p in stored.rglob("*") if p.is_file()}
    meta = stored / "data" / "risk_model" / "meta.json"
    state = json.loads(meta.read_text())
    state["bands"] = {k: 2.0 for k in state["bands"]} if isinstance(state["bands"], dict) else [2.0] * len(state["bands"])
    meta.write_text(json.dumps(state))  # thresholds above 1: every row would be "low"
    client.delete_model_version_tag(name, first.version, "manifest_sha256")
    try:
        for folder in (meta.parent, stored):
            _regenerate_unsigned(folder)
        _all_paths_refuse(name, first, match="is not signed")
        # re-signed with a key of the attacker's own: refused as well
        for folder in (meta.parent, stored):
            write_manifest(folder, key=b"attacker" * 4, ignore=("registered_model_meta",))
        _all_paths_refuse(name, first, match="signed with another key")
    finally:
        for p in [p for p in stored.rglob("*") if p.is_file() and p not in saved]:
            p.unlink()
        for p, data in saved.items():
            p.write_bytes(data)
        client.set_model_version_tag(name, first.version, "manifest_sha256", tag)
    load(f"models:/{name}/{first.version}", refresh=True)


def test_a_deleted_tag_does_not_turn_the_check_off(env):
    _, name, first, _, _ = env
    client = MlflowClient()
    tag = client.get_model_version(name, first.version).tags["manifest_sha256"]
    client.delete_model_version_tag(name, first.version, "manifest_sha256")
    model_txt = _stored_dir(name, first.version) / "data" / "risk_model" / "model.txt"
    original = model_txt.read_bytes()
    model_txt.write_bytes(original.replace(b"shrinkage=", b"shrinkage=9", 1))
    try:
        _all_paths_refuse(name, first, match="content of data/risk_model/model.txt changed")
    finally:
        model_txt.write_bytes(original)
        client.set_model_version_tag(name, first.version, "manifest_sha256", tag)
    load(f"models:/{name}/{first.version}", refresh=True)  # the tag is not needed to load a sound model



def test_another_signed_model_copied_over_a_logged_one_is_refused_without_the_tag(env):
    """Version 2's whole folder (signed with the same key) copied over version 1's in the store: the signature passes, and
    without the manifest_sha256 tags (a version logged before them, or a runs:/ or models:/m- URI, for which riskmodel's
    loader never read them) version 2 was served as version 1 (review16sec 04). The signed MLmodel names its own run
    and logged model: each path must refuse a model other than the one its URI names."""
    import shutil

    _, name, first, second, _ = env
    client = MlflowClient()
    tags = {v: client.get_model_version(name, v).tags["manifest_sha256"] for v in (first.version, second.version)}
    stored, other = _stored_dir(name, first.version), _stored_dir(name, second.version)
    saved = stored.with_name(stored.name + ".saved")
    shutil.move(stored, saved)
    shutil.copytree(other, stored)
    for v in tags:
        client.delete_model_version_tag(name, v, "manifest_sha256")
    try:
        for uri in _uri_forms(name, first).values():
            with pytest.raises(ArtifactIntegrityError, match="not the one"):
                load(uri, refresh=True)
        for uri in (f"models:/{name}/{first.version}", f"runs:/{first.run_id}/model"):
            with pytest.raises(ArtifactIntegrityError, match="not the one"):
                mlflow.pyfunc.load_model(uri)
    finally:
        shutil.rmtree(stored)
        shutil.move(saved, stored)
        for v, tag in tags.items():
            client.set_model_version_tag(name, v, "manifest_sha256", tag)
    assert load(f"models:/{name}@champion", refresh=True).version == first.version


def test_a_verified_copy_must_be_the_logged_model_its_uri_names(env, tmp_path):
    """riskmodel's own loader checks that the signed MLmodel names the run and logged model of its URI, also where no
    riskmodel scheme stands before it (an experiment created before it; review16sec 04): version 2's copy is not version 1."""
    from riskmodel.integrations.tracking import registry

    _, name, first, second, _ = env
    copy = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{second.version}", dst_path=str(tmp_path / "v2")))
    own = registry.logged_identity(f"models:/{name}/{second.version}")
    assert own["run_id"] == second.run_id and own["model_id"].startswith("m-")
    registry.verify_manifest(copy, identity=own, uri=f"models:/{name}/{second.version}")
    for uri in (f"models:/{name}/{first.version}", f"runs:/{first.run_id}/model", MlflowClient().get_model_version(name, first.version).source):
        with pytest.raises(ArtifactIntegrityError, match=f"of run {second.run_id}, not the one `{uri}` names"):
            registry.verify_manifest(copy, identity=registry.logged_identity(uri), uri=uri)


def test_riskmodel_load_refuses_a_swapped_model_of_an_experiment_without_its_scheme(env, tmp_path):
    """An experiment created before riskmodel's scheme (MLflow's own artifact location): whoever writes the store copies
    version 2's signed folder over version 1's; riskmodel.load by runs:/ read no manifest_sha256 tag and served version 2
    as version 1's run (review16sec 04)."""
    import shutil
    import tempfile

    from riskmodel.integrations.tracking import publish, risk_pyfunc

    _, name, first, _, _ = env
    model = load(f"models:/{name}/{first.version}", refresh=True).model
    client = MlflowClient()
    experiment = client.create_experiment("plain-location", artifact_location=str(tmp_path / "plain"))
    runs = []
    for _ in range(2):
        with mlflow.start_run(experiment_id=experiment) as run, tempfile.TemporaryDirectory() as tmp:
            publish.log_signed_pyfunc(model.save(Path(tmp) / "risk_model"), loader_module=risk_pyfunc.__name__,
                                      registered_name="plain-location-model", signature=None, pip_requirements=["riskmodel"])
            runs.append(run.info.run_id)
    (one, two) = (next((tmp_path / "plain").glob(f"models/{client.get_logged_model(m.model_id).model_id}/artifacts"))
                  for m in sorted(client.search_logged_models(experiment_ids=[experiment]), key=lambda m: m.source_run_id != runs[0]))
    assert not client.get_logged_model(one.parent.name).artifact_location.startswith("riskmodel+")
    load(f"runs:/{runs[0]}/model", refresh=True)
    shutil.rmtree(one)
    shutil.copytree(two, one)
    with pytest.raises(ArtifactIntegrityError, match=f"of run {runs[1]}, not the one"):
        load(f"runs:/{runs[0]}/model", refresh=True)

def test_local_copy_without_its_manifests_is_refused(env, tmp_path):
    _, name, first, _, _ = env
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{first.version}", dst_path=str(tmp_path / "dl")))
    load(local, refresh=True)
    load(local / "data" / "risk_model", refresh=True)
    for manifest in (local / MANIFEST, local / "data" / "risk_model" / MANIFEST):
        manifest.unlink()
    for path in (local, local / "data" / "risk_model"):
        with pytest.raises(ArtifactIntegrityError, match="has no manifest.json"):
            load(path, refresh=True)



def test_the_core_and_the_batch_job_refuse_a_logged_models_folder_they_cannot_check(env, tmp_path):
    """The core's as_scorer/score and the batch job's own score_file checked only a manifest *inside* data/risk_model:
    whoever changed model.txt of a logged model and deleted that manifest had it scored, unverified (review16sec 01).
    They cannot check the whole logged model with the store's key: they must refuse it and name riskmodel.load."""
    from riskmodel.core.scoring import as_scorer
    from riskmodel.core.scoring import score as core_score
    from riskmodel.integrations.batch.scoring import score_file

    _, name, first, _, sample = env
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{first.version}", dst_path=str(tmp_path / "dl")))
    folder = local / "data" / "risk_model"
    (folder / MANIFEST).unlink()
    (folder / "model.txt").write_text((folder / "model.txt").read_text() + "\n")  # another model.txt, unsigned
    sample.to_parquet(tmp_path / "in.parquet", index=False)
    for call in (lambda: as_scorer(folder), lambda: core_score(sample, model=str(folder)),
                 lambda: score_file(tmp_path / "in.parquet", tmp_path / "out.parquet", model=str(folder), progress=False)):
        with pytest.raises(ModelLoadError, match=r"lies in a model logged to MLflow.*riskmodel\.load"):
            call()
    assert not (tmp_path / "out.parquet").exists()
    with pytest.raises(ArtifactIntegrityError, match="model.txt"):  # riskmodel.load checks the whole logged model
        load(folder, refresh=True)
    (local / "MLmodel").unlink()  # its signed manifest still says it is a logged model: not a plain saved folder
    with pytest.raises(ModelLoadError, match="MLmodel"):
        load(folder, refresh=True)
    with pytest.raises(ModelLoadError, match="lies in a model logged to MLflow"):
        as_scorer(folder)

def test_a_key_other_than_the_stores_is_refused(env, monkeypatch):
    _, name, first, _, _ = env
    monkeypatch.setenv("RISKMODEL_SIGNING_KEY", "x" * 32)
    with pytest.raises(ArtifactIntegrityError, match="signed with another key"):
        load(f"models:/{name}/{first.version}", refresh=True)


# ----------------------------------------------------------------------------- URI forms


@pytest.mark.parametrize(
    "uri, match",
    [
        ("models:/overstay-risk", "names no version"),
        ("models:/overstay-risk/latest", "not a number"),
        ("models:/overstay-risk/Production", "not a number"),
        ("models:/", "not a model URI"),
        ("models:/overstay-risk@no-such-alias", "cannot resolve"),
        ("models:/no-such-model/1", "cannot resolve"),
        ("runs:/abc", "expected runs:/<run_id>/<artifact path>"),
        ("file:///tmp", r"a file:// URI is not a form riskmodel loads; pass the folder's path, /tmp"),
    ],
)
def test_unsupported_or_unknown_uris_are_refused_clearly(env, uri, match):
    with pytest.raises(ModelLoadError, match=match):
        load(uri, refresh=True)


# ----------------------------------------------------------------------------- only gated champions score


def test_champion_moved_by_hand_is_refused_unless_overridden(env, monkeypatch):
    root, name, first, second, sample = env
    monkeypatch.setattr(api, "_cache", {})  # score() below must resolve the alias now, not reuse an earlier load
    client = MlflowClient()
    client.set_registered_model_alias(name, "champion", second.version)  # as in the MLflow UI
    try:
        with pytest.raises(ModelLoadError, match=f"version {second.version}, which has no gate decision"):
            load(f"models:/{name}@champion", refresh=True)
        with pytest.raises(ModelLoadError, match="moved past the promotion gate"):
            score(sample, model=f"models:/{name}@champion")
        with pytest.raises(ModelLoadError, match="moved past the promotion gate"):
            load_risk_model(f"models:/{name}@champion")
        # the gate tags of the promoted version copied by hand: the signature names the version
        for k, v in client.get_model_version(name, first.version).tags.items():
            if k.startswith("gate."):
                client.set_model_version_tag(name, second.version, k, v)
        with pytest.raises(ModelLoadError, match="not signed by riskmodel"):
            load(f"models:/{name}@champion", refresh=True)
        client.set_model_version_tag(name, second.version, "gate.signature", "0" * 64)
        with pytest.raises(ModelLoadError, match="not signed by riskmodel"):
            load(f"models:/{name}@champion", refresh=True)

        before = len(audit.read(root / "audit.jsonl"))
        scorer = load(f"models:/{name}@champion", refresh=True, allow_ungated=True)
        assert scorer.version == second.version
        with pytest.raises(ModelLoadError, match="not signed by riskmodel"):
            load(f"models:/{name}@champion")  # the override's model is never served from the cache to a call without it
        monkeypatch.setenv("RISKMODEL_ALLOW_UNGATED", "1")
        assert load(f"models:/{name}@champion", refresh=True).version == second.version
        assert score(sample, model=f"models:/{name}@champion")["model_version"].eq(second.version).all()
        records = [r for r in audit.read(root / "audit.jsonl")[before:] if r["event"] == "ungated_load"]
        assert [(r["model_version"], r["override"]) for r in records] == [(second.version, "allow_ungated=True"), (second.version, "$RISKMODEL_ALLOW_UNGATED")]
        assert all(r["model_name"] == name and "not signed" in r["refused_because"] for r in records)
    finally:
        client.set_registered_model_alias(name, "champion", first.version)
        for k in ("gate.decision", "gate.reasons", "gate.compared_with", "gate.time", "gate.signature"):
            client.delete_model_version_tag(name, second.version, k)
    monkeypatch.delenv("RISKMODEL_ALLOW_UNGATED")
    assert load(f"models:/{name}@champion", refresh=True).version == first.version


def test_a_refused_promotion_is_not_a_pass(env):
    _, name, first, second, _ = env
    client = MlflowClient()
    client.set_model_version_tag(name, second.version, "gate.decision", "refused")
    client.set_registered_model_alias(name, "champion", second.version)
    try:
        with pytest.raises(ModelLoadError, match="gate decision 'refused'"):
            load(f"models:/{name}@champion", refresh=True)
    finally:
        client.set_registered_model_alias(name, "champion", first.version)
        client.delete_model_version_tag(name, second.version, "gate.decision")


def _series():
    rng = np.random.default_rng(2)
    ds = pd.date_range("2016-01-01", periods=48, freq="MS")
    rows = []
    for port, kind, level in [("A", "air", 500), ("C", "sea", 300)]:
        y = level * np.exp(0.3 * np.sin(2 * np.pi * np.arange(48) / 12)) * rng.lognormal(0, 0.08, 48)
        rows.append(pd.DataFrame({"port": port, "kind": kind, "ds": ds, "y": np.round(y)}))
    return aggregate(pd.concat(rows), {"total": [], "port": ["port"]}, freq="M")


def test_forecaster_champion_moved_by_hand_is_refused_and_tamper_checked(env):
    _, _, _, _, _ = env
    s = _series()
    fitted = Forecaster(h=3, models=["snaive"], n_windows=1, step=3).fit(s.df, s.hierarchy)
    cfg = ForecastConfig()
    name = cfg.tracking.registered_name
    first = log_forecast_run(fitted, cfg)
    MlflowClient().set_registered_model_alias(name, "champion", first.version)
    with pytest.raises(ModelLoadError, match="no gate decision"):
        forecast(3, model=f"models:/{name}@champion")
    with pytest.raises(ModelLoadError, match="no gate decision"):
        load_forecaster(f"models:/{name}@champion")
    with pytest.raises(ModelLoadError, match="no gate decision"):  # MLflow's own loader and `mlflow models serve`
        mlflow.pyfunc.load_model(f"models:/{name}@champion")
    # seasonal naive itself: it ties its own peer, so the peer rule is off here (this test is about the alias)
    gate = ForecastGateConfig(max_mase=100, beat_best_peer=False, beat_snaive=False, min_coverage_95=0, max_coverage_95=1)
    MlflowClient().delete_registered_model_alias(name, "champion")
    assert promote_forecaster(name, gate).passed
    pd.testing.assert_frame_equal(load(f"models:/{name}@champion", refresh=True).predict(3), fitted.predict(3))
    assert len(forecast(3, model=f"models:/{name}@champion"))
    state = _stored_dir(name, first.version) / "data" / "forecaster" / "forecaster.json"
    original = state.read_bytes()
    state.write_bytes(original + b" ")
    try:
        with pytest.raises(ArtifactIntegrityError, match="content of data/forecaster/forecaster.json changed"):
            load(f"models:/{name}@champion", refresh=True)
        with pytest.raises(ArtifactIntegrityError):
            mlflow.pyfunc.load_model(f"models:/{name}/{first.version}")
    finally:
        state.write_bytes(original)


# ----------------------------------------------------------------------------- the gate checks on their own (no model needed)


def test_check_gate_needs_a_promoted_decision_signed_for_this_version(tmp_path):
    from riskmodel.integrations.tracking.signing import check_gate, sign_gate

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def tags(decision, version="3", time="2026-01-01T00:00:00+00:00"):
        return {"gate.decision": decision, "gate.time": time, "gate.signature": sign_gate(store, "m", version, decision, time)}

    check_gate(store, "m", "3", tags("promoted"), "champion")
    with pytest.raises(ModelLoadError, match="gate decision 'refused'"):
        check_gate(store, "m", "3", tags("refused"), "champion")  # signed, but the gate said no
    with pytest.raises(ModelLoadError, match="not signed by riskmodel"):
        check_gate(store, "m", "3", tags("promoted", version="2"), "champion")  # another version's signature
    with pytest.raises(ModelLoadError, match="not signed by riskmodel"):
        check_gate(store, "m", "3", tags("promoted") | {"gate.time": "2026-01-02T00:00:00+00:00"}, "champion")


@pytest.mark.parametrize("value", ["0", "", "true", "yes"])
def test_only_allow_ungated_1_overrides_the_gate_and_each_override_is_audited(tmp_path, monkeypatch, value):
    from riskmodel.integrations.tracking.signing import check_champion

    store, log = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "audit.jsonl"
    monkeypatch.setenv("RISKMODEL_AUDIT_LOG", str(log))
    monkeypatch.setenv("RISKMODEL_ALLOW_UNGATED", value)
    with pytest.raises(ModelLoadError, match="no gate decision"):
        check_champion(store, "m", "4", {}, allow_ungated=False, uri="models:/m@champion")
    assert not audit.read(log)
    monkeypatch.setenv("RISKMODEL_ALLOW_UNGATED", "1")
    check_champion(store, "m", "4", {}, allow_ungated=False, uri="models:/m@champion")
    assert [(r["event"], r["model_version"], r["override"]) for r in audit.read(log)] == [("ungated_load", "4", "$RISKMODEL_ALLOW_UNGATED")]


@pytest.mark.parametrize("path", ["load", "pyfunc", "load_risk_model"])
def test_a_local_logged_model_is_loaded_from_the_bytes_verified_not_a_rewrite_after_the_check(env, tmp_path, monkeypatch, path):
    """Time of check, time of use: ``riskmodel.load(folder)`` and the pyfunc verified a local copy of a logged model, then
    RiskModel.load read data/risk_model/model.txt from the disk again: rewritten in between (another model, unsigned), it
    did the scoring. On main the model loaded is the rewritten one (its probabilities differ from the signed model's)."""
    import shutil

    from riskmodel.core.risk.model import RiskModel
    from riskmodel.integrations.tracking import registry, risk_pyfunc

    from .test_cli_monitor import _fewer_trees

    _, name, first, _, sample = env
    signed = load(f"models:/{name}/{first.version}", refresh=True).model
    copy = tmp_path / "model"
    shutil.copytree(_stored_dir(name, first.version), copy)
    real = registry.verify_manifest

    def verify_then_rewrite(folder, *args, **kwargs):
        verified = real(folder, *args, **kwargs)
        _fewer_trees(copy / "data" / "risk_model")
        return verified

    monkeypatch.setattr(registry, "verify_manifest", verify_then_rewrite)
    if path == "load":
        model = load(str(copy), refresh=True).model
    elif path == "pyfunc":
        model = risk_pyfunc._load_pyfunc(str(copy / "data" / "risk_model")).scorer.model  # what MLflow's loader_module calls
    else:
        from riskmodel.integrations.tracking.risk import load_risk_model

        model = load_risk_model(str(copy))
    rewritten = RiskModel.load(copy / "data" / "risk_model")
    assert not (rewritten.predict_proba(sample) == signed.predict_proba(sample)).all()
    np.testing.assert_array_equal(model.predict_proba(sample), signed.predict_proba(sample))



def test_a_promotion_that_fails_moving_the_alias_leaves_the_champion_serving(env, monkeypatch):
    """The signed champion record was written before the alias moved: a store that failed on the alias left @champion
    on the old version and the record naming the new one, so every load of @champion was refused as "moved by hand"
    and the new version read "promoted" while it was not champion (review13train 09)."""
    from riskmodel.core.gate import GateDecision
    from riskmodel.integrations.tracking import registry

    _, name, first, second, _ = env
    client = MlflowClient()
    real = MlflowClient.set_registered_model_alias

    def store_drops_the_alias_write(self, n, alias, version):
        if alias == "champion":
            raise ConnectionError("tracking store timed out")
        return real(self, n, alias, version)

    record = dict(client.get_registered_model(name).tags)  # the signed champion record, put back after the test
    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", store_drops_the_alias_write)
    try:
        with pytest.raises(ConnectionError):
            registry.promote_pinned(name, lambda cand, champ: GateDecision(True, ("ok: judged",)), version=second.version)
        monkeypatch.setattr(MlflowClient, "set_registered_model_alias", real)
        assert str(client.get_registered_model(name).aliases["champion"]) == str(first.version)
        assert load(f"models:/{name}@champion", refresh=True).version == first.version  # still serves, as gated
        assert client.get_model_version(name, second.version).tags["gate.decision"] != "promoted"
    finally:
        monkeypatch.setattr(MlflowClient, "set_registered_model_alias", real)
        for k, _v in client.get_model_version(name, second.version).tags.items():
            if k.startswith("gate."):
                client.delete_model_version_tag(name, second.version, k)
        for k, v in record.items():
            if k.startswith("gate."):
                client.set_registered_model_tag(name, k, v)


def test_the_key_file_of_a_server_store_is_named_after_the_store_not_its_password(tmp_path, monkeypatch):
    """h16-sec 08: the key file of a non-sqlite store was named after the whole URI, password included: a rotated
    database password (or `http://host:5000/` for `http://host:5000`) silently made a new key, and every model signed
    before was refused as signed with another key. The store is its scheme, host, port and path; a file of the old
    name (the SHA-256 of the whole URI, 16 hex digits) is still read, so no installed key is orphaned."""
    from riskmodel.integrations.tracking.signing import key_file

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    first = key_file("postgresql://mlflow:old-Secret-1@db.example:5432/mlflow")
    assert first.parent == tmp_path / "riskmodel"
    assert key_file("postgresql://mlflow:new-Secret-2@db.example:5432/mlflow") == first
    assert key_file("postgresql://mlflow:new-Secret-2@db.example:5432/mlflow?sslmode=require") == first
    assert key_file("http://mlflow.example:5000/") == key_file("http://mlflow.example:5000")
    assert key_file("postgresql://mlflow:old-Secret-1@db.example:5432/other") != first
    assert key_file("postgresql://mlflow:old-Secret-1@db2.example:5432/mlflow") != first
    # a key file written under the old name keeps being the store's key
    uri = "postgresql://mlflow:old-Secret-1@db.example:5432/mlflow"
    old = tmp_path / "riskmodel" / f"signing-{hashlib.sha256(uri.encode()).hexdigest()[:16]}.key"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text("k" * 64)
    assert key_file(uri) == old
