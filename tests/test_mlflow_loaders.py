"""MLflow's own loaders get a riskmodel model's files only verified (issue 15, the last security case).

Whoever can write the artifact store replaces a logged model's ``MLmodel`` by
MLflow's cloudpickle flavour, or by a loader module shipped in the model's
``code`` folder, with a payload that writes a marker file. riskmodel's scheme
(``riskmodel+file:``, :mod:`riskmodel.integrations.tracking.verified_store`)
must refuse it on every URI form of ``mlflow.pyfunc.load_model`` and in ``mlflow
models serve``, before the payload runs, and still deliver a sound model.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import pickle
import shutil
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from mlflow import MlflowClient

from riskmodel import load
from riskmodel.core.artifacts import write_manifest
from riskmodel.core.exceptions import ArtifactIntegrityError
from riskmodel.integrations.tracking.signing import CLIENT_FILES, store_key

from .conftest import free_port, log_promoted_risk_model, use_local_store, wait_for_http
from .test_model_signing import _stored_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A risk model logged by riskmodel into a local store and promoted to champion."""
    root = tmp_path_factory.mktemp("loaders")
    mp = pytest.MonkeyPatch()
    use_local_store(mp, root)
    name, logged, _, rows = log_promoted_risk_model()
    yield root, name, logged, rows
    mp.undo()


@pytest.fixture
def env(store, monkeypatch):
    use_local_store(monkeypatch, store[0])
    return store


def _uri_forms(name: str, logged) -> dict[str, str]:
    return {
        "version": f"models:/{name}/{logged.version}",
        "alias": f"models:/{name}@champion",
        "logged model id": MlflowClient().get_model_version(name, logged.version).source,
        "run": f"runs:/{logged.run_id}/model",
    }


class _Payload:
    """Unpickling it writes the marker: what a planted python_model.pkl would do."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return pathlib.Path.write_text, (pathlib.Path(self.marker), "the store's code ran")


def _plant(stored: Path, how: str, marker: Path) -> None:
    """Replace MLmodel by MLflow's cloudpickle flavour (or a loader module in a ``code`` folder) that writes ``marker``."""
    mlmodel = yaml.safe_load((stored / "MLmodel").read_text())
    pyfunc = mlmodel["flavors"]["python_function"]
    if how == "cloudpickle":
        import cloudpickle

        (stored / "python_model.pkl").write_bytes(pickle.dumps(_Payload(marker)))
        pyfunc.update(loader_module="mlflow.pyfunc.model", python_model="python_model.pkl", cloudpickle_version=cloudpickle.__version__)
        pyfunc.pop("data", None)
    else:
        (stored / "code").mkdir()
        (stored / "code" / "planted_loader.py").write_text(
            f"import pathlib\npathlib.Path({str(marker)!r}).write_text('the store\\'s code ran')\n"
            "def _load_pyfunc(path, model_config=None):\n    raise RuntimeError('planted')\n"
        )
        pyfunc.update(loader_module="planted_loader", code="code")
    (stored / "MLmodel").write_text(yaml.safe_dump(mlmodel))


@contextlib.contextmanager
def _restored(stored: Path):
    """Put the stored model back as it was, whatever the test planted in it."""
    saved = {p: p.read_bytes() for p in stored.rglob("*") if p.is_file()}
    try:
        yield stored
    finally:
        for p in sorted(stored.rglob("*"), reverse=True):
            if p.is_file() and p not in saved:
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        for p, data in saved.items():
            p.write_bytes(data)


@pytest.fixture(params=["cloudpickle", "code folder"])
def planted(request, env, tmp_path):
    _, name, logged, _ = env
    with _restored(_stored_dir(name, logged.version)) as stored:
        _plant(stored, request.param, tmp_path / "marker")
        yield name, logged, tmp_path / "marker"


def _refusal(uri: str) -> str:
    """What mlflow.pyfunc.load_model(uri) raised: riskmodel's refusal on every URI form (runs:/ included)."""
    with pytest.raises(ArtifactIntegrityError) as info:
        mlflow.pyfunc.load_model(uri)
    return str(info.value)


#: MLflow's ArtifactRepository methods VerifiedArtifactRepository inherits, each read for how it reaches the store (MLflow
#: 3.11-3.18): through list_artifacts (delegated), _download_file or download_artifacts (verified), or traces and writes.
_INHERITED_ON_PURPOSE = {
    "_create_download_destination", "_create_thread_pool", "_is_directory", "_iter_artifacts_recursive", "_log_artifact_async",
    "flush_async_logging", "max_workers",
    "get_local_path",  # the base answers None: MLflow's server then downloads, verified, rather than reading the folder
    "download_trace_data", "download_trace_data_to_file", "download_archived_trace_data", "download_trace_attachment",
    "download_trace_attachment_to_file", "upload_trace_data", "upload_archived_trace_data", "upload_archived_trace_data_bytes",
    "upload_attachment",
}


def test_every_artifact_repository_method_is_verified_delegated_or_reviewed():
    """A method MLflow adds to its ArtifactRepository is inherited by riskmodel's repository unseen: one that reads a file
    another way than download_artifacts/_download_file (MLflow 3.2 to 3.18 added nine) would hand MLflow's loaders a
    model's files past the check. Fails on an MLflow whose base class has a method nobody here has read: read it, then
    override it in verified_store.py or add it above with why it is safe."""
    from mlflow.store.artifact.artifact_repo import ArtifactRepository

    from riskmodel.integrations.tracking.verified_store import VerifiedArtifactRepository

    own = set(vars(VerifiedArtifactRepository))
    base = {n for n in vars(ArtifactRepository) if not n.startswith("__")}
    assert base - own - _INHERITED_ON_PURPOSE == set()
    assert {"download_artifacts", "_download_file", "list_artifacts"} <= own


def test_mlflow_places_models_and_runs_where_the_verified_store_reads_their_identity(env):
    """The verified store tells which logged model a folder is (its recorded manifest digest, the MLmodel's model_id) from
    MLflow's layout, `.../models/m-<id>/artifacts` and `.../<run id>/artifacts`; a location in another layout skips both
    checks without a word. Fails on an MLflow that lays the store out otherwise."""
    from riskmodel.integrations.tracking import verified_store

    _, name, logged, _ = env
    client = MlflowClient()
    model_id = client.get_model_version(name, logged.version).source.split("/")[-1]
    found = verified_store._MODEL_ID.search(client.get_logged_model(model_id).artifact_location.rstrip("/"))
    assert found is not None and found.group(1) == model_id
    found = verified_store._RUN_ROOT.search(client.get_run(logged.run_id).info.artifact_uri.rstrip("/"))
    assert found is not None and found.group(1) == logged.run_id


def test_riskmodel_creates_its_experiments_under_its_scheme(env):
    _, name, logged, _ = env
    client = MlflowClient()
    run = client.get_run(logged.run_id)
    assert client.get_experiment(run.info.experiment_id).artifact_location.startswith("riskmodel+file:")
    model_id = client.get_model_version(name, logged.version).source.split("/")[-1]
    assert client.get_logged_model(model_id).artifact_location.startswith("riskmodel+file:")
    # the run's other artifacts (card, plots) are listed and download as before
    assert "model_card.md" in {f.path for f in client.list_artifacts(logged.run_id)}
    assert "# Model card" in mlflow.artifacts.load_text(f"runs:/{logged.run_id}/model_card.md")


def test_mlflow_loads_a_sound_model_through_the_scheme(env):
    _, name, logged, sample = env
    from riskmodel import load

    expected = load(f"models:/{name}/{logged.version}", refresh=True).model
    X = sample[expected.features].copy()
    for c in expected.categorical:
        X[c] = X[c].astype(object).astype(str)
    for form, uri in _uri_forms(name, logged).items():
        out = mlflow.pyfunc.load_model(uri).predict(X)
        np.testing.assert_array_equal(out["probability"].to_numpy(dtype=float), expected.predict_proba(sample)[:, 1], err_msg=form)
    text = mlflow.artifacts.load_text(f"models:/{name}/{logged.version}/MLmodel")  # one file of a model: checked, delivered
    assert "riskmodel.integrations.tracking.risk_pyfunc" in text


def test_mlflow_pyfunc_refuses_a_planted_loader_on_every_uri_form(planted, tmp_path):
    name, logged, marker = planted
    for form, uri in _uri_forms(name, logged).items():
        said = _refusal(uri)
        assert "does not match its manifest" in said and "content of MLmodel changed" in said, form
        assert not marker.exists(), f"{form}: the planted code ran"
    # MLmodel alone, as `mlflow models serve` reads it first: refused, and nothing left behind
    with pytest.raises(ArtifactIntegrityError, match="content of MLmodel changed"):
        mlflow.artifacts.download_artifacts(f"models:/{name}/{logged.version}/MLmodel")
    # runs:/ (whose repository would drop the exception) delivers a stub that refuses to load, never the planted files
    got = Path(mlflow.artifacts.download_artifacts(f"runs:/{logged.run_id}/model", dst_path=str(tmp_path / "dl")))
    assert sorted(p.name for p in got.iterdir()) == ["MLmodel", "refused.txt"]
    assert "content of MLmodel changed" in (got / "refused.txt").read_text()
    assert not marker.exists()


def test_a_model_re_signed_with_the_stores_key_is_refused_by_its_recorded_digest(env):
    """Someone who read the key changes meta.json (every row "low") and signs again: the manifest_sha256 tag still refuses it."""
    root, name, logged, _ = env
    with _restored(_stored_dir(name, logged.version)) as stored:
        meta = stored / "data" / "risk_model" / "meta.json"
        state = json.loads(meta.read_text())
        state["bands"] = {k: 2.0 for k in state["bands"]} if isinstance(state["bands"], dict) else [2.0] * len(state["bands"])
        meta.write_text(json.dumps(state))
        key = store_key(f"sqlite:///{root / 'mlflow.db'}")
        for folder in (meta.parent, stored):
            write_manifest(folder, key=key, ignore=("registered_model_meta",))
        for form, uri in _uri_forms(name, logged).items():
            assert "differs from the one recorded at logging" in _refusal(uri), form


def test_registered_model_meta_is_allowed_only_where_the_installed_mlflow_writes_it(env, tmp_path):
    """MLflow up to 3.17 wrote `registered_model_meta` into a `models:/name/...` download after the store had delivered
    it; 3.18 writes none. The store never holds one, so one planted there is an unsigned file like any other and refused
    on every URI form; and a downloaded copy may carry one only where the installed MLflow writes it
    (signing.CLIENT_FILES), else it is refused too: before, it was ignored everywhere, on every MLflow."""
    _, name, logged, _ = env
    got = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{logged.version}", dst_path=str(tmp_path / "dl")))
    writes = (got / "registered_model_meta").is_file()  # what the installed MLflow does
    assert CLIENT_FILES == (("registered_model_meta",) if writes else ())
    with _restored(_stored_dir(name, logged.version)) as stored:
        (stored / "registered_model_meta").write_text("model_name: overstay-risk\nmodel_version: '7'\n")
        for form, uri in _uri_forms(name, logged).items():
            assert "unexpected file registered_model_meta" in _refusal(uri), form
        with pytest.raises(ArtifactIntegrityError, match="unexpected file registered_model_meta"):  # by the store, not delivered
            mlflow.artifacts.download_artifacts(f"models:/{name}/{logged.version}", dst_path=str(tmp_path / "planted"))
    (got / "registered_model_meta").write_text("model_name: overstay-risk\nmodel_version: '7'\n")
    if writes:
        load(str(got))  # a local folder as MLflow left it: the meta file aside, it loads
    else:
        with pytest.raises(ArtifactIntegrityError, match="unexpected file registered_model_meta"):
            load(str(got))


def test_riskmodel_load_names_the_changed_file_on_the_run_uri(planted):
    from riskmodel import load

    name, logged, marker = planted
    with pytest.raises(ArtifactIntegrityError, match="content of MLmodel changed"):
        load(f"runs:/{logged.run_id}/model", refresh=True)
    assert not marker.exists()


def test_a_model_folder_without_a_key_is_refused_with_how_to_set_it(env, monkeypatch, tmp_path):
    _, name, logged, _ = env
    key = Path(env[0]) / "riskmodel-signing.key"
    moved = tmp_path / "key"
    shutil.move(key, moved)
    try:
        with pytest.raises(ArtifactIntegrityError, match="set \\$RISKMODEL_SIGNING_KEY"):
            mlflow.pyfunc.load_model(f"models:/{name}/{logged.version}")
        assert "# Model card" in mlflow.artifacts.load_text(f"runs:/{logged.run_id}/model_card.md")  # not a model: as before
    finally:
        shutil.move(moved, key)


def _serve(uri: str, root: Path, log: Path):
    port = free_port()
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        cwd=root, env={**os.environ, "PATH": path}, stdout=subprocess.DEVNULL, stderr=open(log, "w"), start_new_session=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def _stop(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("planted", ["cloudpickle"], indirect=True)
def test_mlflow_models_serve_refuses_to_start_on_a_planted_loader(planted, tmp_path):
    name, logged, marker = planted
    proc, _ = _serve(f"models:/{name}/{logged.version}", Path.cwd(), tmp_path / "serve.log")
    try:
        proc.wait(timeout=300)
    finally:
        _stop(proc)
    log = (tmp_path / "serve.log").read_text()
    assert proc.returncode != 0 and "content of MLmodel changed" in log, log[-2000:]
    assert not marker.exists()


def test_mlflow_models_serve_serves_a_sound_model(env, tmp_path):
    _, name, logged, sample = env
    proc, base = _serve(f"models:/{name}@champion", Path.cwd(), tmp_path / "serve.log")
    try:
        wait_for_http(base + "/ping", proc, tmp_path / "serve.log", 300, "mlflow models serve")
    finally:
        _stop(proc)


@pytest.mark.parametrize(("default", "expected"), [
    ("/srv/mlruns/0", "riskmodel+file:///srv/mlruns/"),
    ("file:///srv/mlruns/0", "riskmodel+file:///srv/mlruns/"),
    ("mlflow-artifacts:/0", "riskmodel+mlflow-artifacts:/"),
    ("s3://bucket/prefix/0", "riskmodel+s3://bucket/prefix/"),
    ("ftp://host/mlruns/0", None),  # no riskmodel entry point for ftp: MLflow's own location
    ("/srv/mlruns/default", None),  # the store's root cannot be told
])
def test_a_new_experiment_is_placed_beside_the_default_one_under_riskmodels_scheme(default, expected):
    from mlflow.store.artifact.artifact_repository_registry import get_registered_artifact_repositories

    from riskmodel.integrations.tracking.verified_store import VerifiedArtifactRepository, experiment_location

    got = experiment_location(default)
    if expected is None:
        assert got is None
        return
    assert got.startswith(expected) and len(got) == len(expected) + 32, got
    assert get_registered_artifact_repositories()[got.split(":", 1)[0]] is VerifiedArtifactRepository


@contextlib.contextmanager
def _open_folder(mode: int):
    """A folder outside pytest's private (0700) temporary root, whose mode is ``mode``: others could reach into it."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="riskmodel-test-open-"))
    try:
        base.chmod(mode)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("shared", ["the folder is writable by everyone", "its parent is writable by everyone", "another user owns it"])
def test_a_download_folder_others_can_change_is_refused_before_mlflow_reads_from_it(env, tmp_path, monkeypatch, shared):
    """Time of check, time of use in MLflow's own loaders: the store verified what it downloaded into the caller's
    dst_path, then MLflow read MLmodel from that folder again. Whoever can write it (or rename it away: a parent
    writable by others, or another user's folder) replaces MLmodel right after the check by the cloudpickle flavour.
    On main the planted payload runs; such a folder must be refused before anything lands in it."""
    from riskmodel.integrations.tracking import verified_store

    _, name, logged, _ = env
    marker = tmp_path / "marker"
    real = verified_store.verify_part

    def verify_then_plant(recorded, local, path, **kwargs):
        real(recorded, local, path, **kwargs)
        if Path(local).is_dir() and (Path(local) / "MLmodel").is_file():
            _plant(Path(local), "cloudpickle", marker)  # what a writer of the download folder does after the check

    monkeypatch.setattr(verified_store, "verify_part", verify_then_plant)
    with _open_folder(0o777 if shared == "its parent is writable by everyone" else 0o755) as base:
        dst = base / "dl"
        dst.mkdir(mode=0o777 if shared == "the folder is writable by everyone" else 0o755)
        dst.chmod(0o777 if shared == "the folder is writable by everyone" else 0o755)
        if shared == "another user owns it":
            if os.geteuid() != 0:
                pytest.skip("only root can give a folder to another user")
            os.chown(dst, 65534, 65534)
        with pytest.raises(ArtifactIntegrityError, match="only you can write"):
            mlflow.pyfunc.load_model(f"models:/{name}/{logged.version}", dst_path=str(dst))
        assert not marker.exists(), "the payload planted after the check ran"
        assert list(dst.iterdir()) == []


def test_a_model_downloaded_into_a_folder_others_can_enter_is_delivered_read_only_to_them(env, tmp_path):
    """With umask 002, what MLflow downloads into a folder others can enter (mode 755) is writable by the group: a
    member adds or replaces files there between the check and MLflow's read. Every delivered folder and file must be
    writable by its owner only (registered_model_meta, which MLflow writes after delivery, aside); on main the folders
    data and data/risk_model come out 775."""
    _, name, logged, sample = env
    with _open_folder(0o755) as base:
        dst = base / "dl"
        dst.mkdir(mode=0o755)
        old = os.umask(0o002)
        try:
            model = mlflow.pyfunc.load_model(f"models:/{name}/{logged.version}", dst_path=str(dst))
        finally:
            os.umask(old)
        loose = sorted(str(p.relative_to(dst)) for p in dst.rglob("*") if p.stat().st_mode & 0o022 and p.name not in CLIENT_FILES)
        assert loose == []
        assert (dst / "MLmodel").is_file() and model.metadata.flavors["python_function"]["loader_module"].endswith("risk_pyfunc")


def test_one_file_asked_of_the_store_is_refused_into_a_folder_others_can_write(env):
    """MLflow's other way in, the repository's ``_download_file(remote, local)`` (ModelsArtifactRepository hands it on):
    the file was downloaded to the caller's path and verified there, where whoever can write the folder replaces it
    after the check. On main the file is delivered into a folder writable by everyone."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    _, name, logged, _ = env
    client = MlflowClient()
    model_id = client.get_model_version(name, logged.version).source.split("/")[-1]
    repo = get_artifact_repository(client.get_logged_model(model_id).artifact_location)
    with _open_folder(0o777) as shared:
        with pytest.raises(ArtifactIntegrityError, match="only you can write"):
            repo._download_file("MLmodel", str(shared / "MLmodel"))
        assert list(shared.iterdir()) == []
    with _open_folder(0o755) as private:
        repo._download_file("MLmodel", str(private / "MLmodel"))
        assert sorted(p.name for p in private.iterdir()) == ["MLmodel"]  # the file alone: no staging folder left behind
        assert "risk_pyfunc" in (private / "MLmodel").read_text()


def test_a_loader_planted_while_the_model_is_being_logged_is_never_signed(env, tmp_path, monkeypatch):
    """riskmodel signs what it logged, not what the store holds by the time it signs (review16sec 02).

    Whoever can write the store replaces ``MLmodel`` by the cloudpickle flavour in the moment between MLflow writing
    the model and riskmodel signing it (a process polling the store's folder wins it). The plant follows the real
    ``mlflow.pyfunc.log_model`` here; the logging must refuse to sign or register it, and no loader may run it."""
    import tempfile

    from riskmodel.integrations.tracking import publish, registry, risk_pyfunc

    _, name, logged, _ = env
    marker = tmp_path / "marker"
    real = mlflow.pyfunc.log_model

    def log_then_plant(**kwargs):
        info = real(**kwargs)
        location = MlflowClient().get_logged_model(info.model_id).artifact_location
        _plant(Path(urllib.parse.urlparse(location.removeprefix("riskmodel+")).path), "cloudpickle", marker)
        return info

    model = load(f"models:/{name}/{logged.version}", refresh=True).model
    registry.use_experiment("planted-while-logging")
    monkeypatch.setattr(mlflow.pyfunc, "log_model", log_then_plant)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / "risk_model")
        with pytest.raises(ArtifactIntegrityError, match=r"MLmodel.*python_model\.pkl|python_model\.pkl.*MLmodel"):
            publish.log_signed_pyfunc(folder, loader_module=risk_pyfunc.__name__, registered_name="planted-while-logging",
                                      signature=None, pip_requirements=["riskmodel"])
    monkeypatch.setattr(mlflow.pyfunc, "log_model", real)
    assert MlflowClient().search_model_versions("name = 'planted-while-logging'") == []  # nothing registered
    (planted,) = MlflowClient().search_logged_models(experiment_ids=[run.info.experiment_id])
    with pytest.raises(ArtifactIntegrityError):  # never signed: every loader refuses it
        mlflow.pyfunc.load_model(f"models:/{planted.model_id}")
    assert not marker.exists(), "the planted code ran"
