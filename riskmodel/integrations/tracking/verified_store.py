"""riskmodel's artifact-store schemes: MLflow's own loaders get a model's files only after they are verified.

Experiments that riskmodel creates (:func:`riskmodel.integrations.tracking.registry.use_experiment`)
keep their artifacts under a location in a URI scheme of riskmodel's own,
``riskmodel+<scheme>:`` wrapping what MLflow would have chosen
(``riskmodel+file:///abs/mlruns/<folder>`` beside a local store,
``riskmodel+mlflow-artifacts:/<folder>`` on a tracking server that proxies
artifacts). MLflow looks artifact repositories up by scheme, through the entry
point group ``mlflow.artifact_repository`` (pyproject.toml), so every process
that reads those artifacts, by ``models:/name/1``, ``models:/name@alias``,
``models:/m-<id>``, ``runs:/<run>/model`` or the location itself, gets
:class:`VerifiedArtifactRepository`: ``mlflow.pyfunc.load_model``, ``mlflow
models serve``, MLflow's Spark UDF and riskmodel alike.

The repository hands every operation to the repository of the inner URI, except
that what it downloads is verified before it is returned: a downloaded folder
holding ``MLmodel`` is checked against its signed manifest, and a file or
subfolder that lies inside a model folder is checked against the entries of
that folder's signed manifest (fetched for the purpose), with the store's key
(:func:`riskmodel.integrations.tracking.signing.store_key`). On any mismatch, or
when no key is available, what was downloaded is deleted and
:class:`~riskmodel.core.exceptions.ArtifactIntegrityError` names the file and
the fix, before MLflow reads a byte of it (so a ``MLmodel`` replaced by the
cloudpickle flavour, a models-from-code file or a ``code`` folder never runs).
When a registered version of the model recorded its manifest's digest (tag
``manifest_sha256``), a manifest other than that one is refused too (re-signed by
someone who read the key). MLflow's ``runs:/`` repository drops the exceptions of
both things it tries (the run's artifacts, then its logged model) and reports a
wrong path instead; so a run's root hands it the folder of the run's logged model
(:meth:`VerifiedArtifactRepository._place_for_logged_model`), and a refused model
folder (or ``MLmodel``) in a caller's folder is replaced by a stub whose loader,
this module's :func:`_load_pyfunc`, raises the refusal. Other artifacts (reports,
plots, model cards) are not checked, though they take the private route below; a
folder that cannot be listed, to tell whether a file lies in a model, fails closed.

MLflow reads what was delivered from the download folder, after the check. So
that nobody can change it in between, the inner repository downloads into a
private folder of ours (mode 0700), where the files are verified, made writable
by their owner only, and only then moved to where the caller asked; a download
folder that another user could change or rename away (one writable by group or
others and not sticky, or another user's, on the path from ``/`` down to a
folder they cannot enter) is refused before anything is downloaded
(:func:`_exposure`). What stays open: this user and root can still change the
files between the check and MLflow's read (nothing in-process can stop them),
and ACLs are not read.

A process without riskmodel installed cannot resolve the scheme at all and
refuses to read such an experiment, which is safe. Experiments created before
(or by other tools) keep their plain location; riskmodel's own loaders still
verify their models.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import shutil
import stat
import tempfile
import threading
import uuid
from pathlib import Path

import mlflow
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.utils.uri import get_uri_scheme

from riskmodel.core.artifacts import MANIFEST, file_digest, signed_files, verify_part
from riskmodel.core.exceptions import ArtifactIntegrityError
from riskmodel.integrations.tracking import signing

__all__ = ["PREFIX", "INNER_SCHEMES", "VerifiedArtifactRepository", "wrap", "inner_uri", "experiment_location", "take_refusal"]

PREFIX = "riskmodel+"
#: Inner schemes with an entry point (pyproject.toml); file and mlflow-artifacts are tested, the others only delegate.
INNER_SCHEMES = ("file", "mlflow-artifacts", "http", "https", "s3", "gs", "wasbs", "abfss")
MLMODEL = "MLmodel"
#: a logged model's artifact folder, ``.../models/m-<id>/artifacts`` (MLflow 3)
#: a run's artifact root, ``.../<run id>/artifacts``
_RUN_ROOT = re.compile(r"/([0-9a-f]{32})/artifacts$")
#: the file of a refused model's stub that holds the refusal
REFUSED_FILE = "refused.txt"
_MODEL_ID = re.compile(r"/models/(m-[0-9a-f]+)/artifacts$")
_logger = logging.getLogger(__name__)
_last = threading.local()
# what `mlflow server` exports to its workers when it proxies artifacts (mlflow.server.constants)
_SERVE_ARTIFACTS_ENV = "_MLFLOW_SERVER_SERVE_ARTIFACTS"
_DESTINATION_ENV = "_MLFLOW_SERVER_ARTIFACT_DESTINATION"


def inner_uri(uri: str) -> str:
    """The URI under riskmodel's scheme (``riskmodel+file:///x`` -> ``file:///x``); other URIs as given."""
    return uri[len(PREFIX):] if uri.startswith(PREFIX) else uri


def wrap(uri: str) -> str | None:
    """``uri`` under riskmodel's scheme (a plain absolute path becomes ``file://``), or None for an inner scheme without an entry point."""
    scheme = get_uri_scheme(uri)
    if not scheme:
        if not os.path.isabs(uri):
            return None
        uri, scheme = Path(uri).as_uri(), "file"
    return PREFIX + uri if scheme in INNER_SCHEMES else None


def experiment_location(default_experiment_location: str) -> str | None:
    """A new experiment's artifact location under riskmodel's scheme, beside the store's default experiment's (``.../0``).

    None when the default location does not end in ``/0`` (the store's root cannot be told) or its
    scheme has no riskmodel entry point: the experiment is then created with MLflow's own location.
    """
    base = default_experiment_location.rstrip("/")
    if not base.endswith("/0"):
        return None
    root = wrap(base[: -len("/0")] or "/")
    return None if root is None else f"{root.rstrip('/')}/{uuid.uuid4().hex}"


def take_refusal() -> ArtifactIntegrityError | None:
    """The last refusal of this thread, cleared: for callers whose MLflow wrapper (``runs:/``) replaced it by a vaguer error."""
    exc, _last.error = getattr(_last, "error", None), None
    return exc


def _server_side(uri: str) -> str:
    """Inside `mlflow server --serve-artifacts` (listing for the UI), a proxied location is the server's own destination."""
    destination = os.environ.get(_DESTINATION_ENV)
    if get_uri_scheme(uri) != "mlflow-artifacts" or os.environ.get(_SERVE_ARTIFACTS_ENV) != "true" or not destination:
        return uri
    from urllib.parse import urlparse

    return posixpath.join(destination.rstrip("/"), urlparse(uri).path.lstrip("/"))


class VerifiedArtifactRepository(ArtifactRepository):
    """An MLflow artifact repository for ``riskmodel+<scheme>:`` URIs: the inner one's, with downloads verified (module docstring)."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        # imported here: MLflow loads this class while its registry module is still initialising
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        super().__init__(artifact_uri, tracking_uri, registry_uri)
        self.repo = get_artifact_repository(_server_side(inner_uri(artifact_uri)), tracking_uri=tracking_uri, registry_uri=registry_uri)

    # --------------------------------------------------------------- writing and listing: as the inner repository

    def log_artifact(self, local_file, artifact_path=None):
        return self.repo.log_artifact(local_file, artifact_path)

    def log_artifacts(self, local_dir, artifact_path=None):
        return self.repo.log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, path=None):
        return self.repo.list_artifacts(path)

    def delete_artifacts(self, artifact_path=None):
        return self.repo.delete_artifacts(artifact_path)

    # --------------------------------------------------------------- reading: verified

    def download_artifacts(self, artifact_path, dst_path=None):
        """Download as the inner repository does, verified, where no other user can change it before MLflow reads it.

        The inner repository downloads into a private folder of ours (mode 0700) inside ``dst_path`` (default the
        system's temporary folder, where the folder itself is delivered); its files are verified there, made
        writable by their owner only, and only then moved to where the caller asked. A ``dst_path`` that another
        user could change, or rename away, is refused first: between riskmodel's check and MLflow's read of
        ``MLmodel``, they could plant a loader of their own (:func:`_exposure`).
        """
        path = artifact_path or ""
        own = dst_path is None
        dst = Path(os.path.realpath(tempfile.gettempdir() if own else dst_path))
        self._refuse_exposed(dst, path)
        stage = Path(tempfile.mkdtemp(prefix="riskmodel-verified-", dir=dst))
        try:
            local = Path(self.repo.download_artifacts(artifact_path, str(stage)))
        except Exception:
            shutil.rmtree(stage, ignore_errors=True)
            place = None if own else self._place_for_logged_model(path, str(dst))
            if place is None:
                raise
            return place
        return str(self._deliver(path, local, stage, None if own else dst))

    def _place_for_logged_model(self, path: str, dst: str) -> str | None:
        """For a run's root asked for ``<name>[/...]`` that is not among the run's own artifacts but names a logged
        model of the run under riskmodel's scheme: the (empty) folder MLflow's ``runs:/`` repository then fills
        from that model's repository, verified, or with the refusal stub (see :func:`_write_stub`). Else None.

        MLflow's ``runs:/`` repository tries the run's artifacts, then the logged model, and turns a failure of
        both into "Failed to download artifacts"; with this folder it returns what the model's repository
        delivered, so a refusal reaches the caller as riskmodel's error, not as a wrong path.
        """
        found = _RUN_ROOT.search(self.artifact_uri.rstrip("/"))
        name, _, rest = path.strip("/").partition("/")
        if found is None or not name:
            return None
        try:
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
            run = client.get_run(found.group(1))
            models = client.search_logged_models(experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")
        except Exception:  # noqa: BLE001 - no tracking store to ask: the caller gets the original error
            return None
        if not any(m.name == name and m.artifact_location.startswith(PREFIX) for m in models):
            return None
        folder = Path(dst) / name
        folder.mkdir(parents=True, exist_ok=True)
        _seal(folder)  # the model's repository is asked to download into it: it must pass _exposure under any umask
        return str(folder / rest) if rest else str(folder)

    def _download_file(self, remote_file_path, local_path):
        target = Path(os.path.realpath(local_path))
        self._refuse_exposed(target.parent, remote_file_path)
        stage = Path(tempfile.mkdtemp(prefix="riskmodel-verified-", dir=target.parent))
        try:
            self.repo._download_file(remote_file_path, str(stage / target.name))
            self._deliver(remote_file_path, stage / target.name, stage, target.parent)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _refuse_exposed(self, folder: Path, path: str) -> None:
        """Refuse to download ``path`` into ``folder`` when another user could change it (:func:`_exposure`)."""
        reason = _exposure(folder)
        if reason is None:
            return
        exc = ArtifactIntegrityError(
            f"riskmodel will not download `{self.artifact_uri}/{path}` into `{folder}`: {reason}, so someone else could "
            "replace a file between riskmodel's check and MLflow's read of it. Download into a folder only you can write "
            "(chmod go-w on it and its parents, or leave dst_path unset for a private temporary folder)."
        )
        _last.error = exc
        _logger.error("riskmodel refused to download `%s`: %s", path or "/", exc)  # runs:/ hides the exception itself
        raise exc

    def _deliver(self, path: str, local: Path, stage: Path, dst: Path | None) -> Path:
        """Verify ``local`` (downloaded from ``path`` into our private ``stage``), then hand it over: writable by its
        owner only, moved to the same place under ``dst`` (or left in ``stage``, ours, when ``dst`` is None).

        On failure delete it, leave in a caller's folder a model stub that refuses to load (runs:/ drops the
        exception), and raise.
        """
        target = None if dst is None else dst / local.relative_to(stage)
        try:
            self._verify(path.strip("/"), local)
        except ArtifactIntegrityError as exc:
            model = local.name == MLMODEL or (local / MLMODEL).is_file()
            shutil.rmtree(stage, ignore_errors=True)
            if target is not None and model:
                if target != dst:
                    _remove(target)
                _write_stub(target, str(exc))
            _last.error = exc
            _logger.error("riskmodel refused to deliver `%s`: %s", path or "/", exc)  # runs:/ hides the exception itself
            raise
        for p in (stage, *stage.rglob("*")):
            _seal(p)
        if target is None:
            return local
        return _move_out(stage, local, dst)

    def _verify(self, path: str, local: Path) -> None:
        if local.is_dir():  # every model folder delivered whole
            for mlmodel in sorted(local.rglob(MLMODEL)):
                folder = mlmodel.parent
                inside = folder.relative_to(local).as_posix()
                where = "/".join(p for p in (self.artifact_uri, path, "" if inside == "." else inside) if p)
                recorded = self._signed(folder / MANIFEST, folder, f"model `{where}`")
                self._check_recorded(where, folder / MANIFEST)
                verify_part(recorded, folder, "", where=f"model `{where}`")
                _check_model_id(where, mlmodel)
        root = self._model_root_above(path)
        if root is None:
            return
        where = f"model `{self.artifact_uri}/{root}`" if root else f"model `{self.artifact_uri}`"
        recorded = self._signed_files_of(root, where)
        part = posixpath.relpath(path, root) if root else path
        if part == MANIFEST:  # the manifest alone: its signature is what counts
            self._signed(local, local.parent, where)
            return
        verify_part(recorded, local, part, where=where)
        if part == MLMODEL:
            _check_model_id(f"{self.artifact_uri.rstrip('/')}/{root}" if root else self.artifact_uri, local)

    def _model_root_above(self, path: str) -> str | None:
        """The nearest folder strictly above ``path`` that holds ``MLmodel`` (``""`` for this repository's root), or None."""
        if not path or path == ".":
            return None
        parts = path.split("/")
        for depth in range(len(parts) - 1, -1, -1):
            folder = "/".join(parts[:depth])
            try:
                names = {posixpath.basename(f.path) for f in self.repo.list_artifacts(folder or None) if not f.is_dir}
            except Exception as exc:  # noqa: BLE001 - fail closed: unknown is not "no model"
                raise ArtifactIntegrityError(
                    f"cannot tell whether `{self.artifact_uri}/{path}` lies in a model folder: listing `{folder or '/'}` failed "
                    f"({exc}). Nothing was delivered unverified; retry when the store answers."
                ) from None
            if MLMODEL in names:
                return folder
        return None

    def _signed_files_of(self, root: str, where: str) -> dict[str, str]:
        with tempfile.TemporaryDirectory(prefix="riskmodel-manifest-") as tmp:
            remote = f"{root}/{MANIFEST}" if root else MANIFEST
            try:
                self.repo._download_file(remote, os.path.join(tmp, MANIFEST))
            except Exception:  # noqa: BLE001 - no manifest to fetch: refused just below
                raise ArtifactIntegrityError(
                    f"{where} has no {MANIFEST}; the model was not logged by riskmodel or was altered. Do not use it."
                ) from None
            recorded = self._signed(Path(tmp) / MANIFEST, Path(tmp), where)
            self._check_recorded(f"{self.artifact_uri.rstrip('/')}/{root}" if root else self.artifact_uri, Path(tmp) / MANIFEST)
            return recorded

    def _check_recorded(self, location: str, manifest: Path) -> None:
        """Refuse a manifest other than the one a registered version of this logged model recorded (tag ``manifest_sha256``).

        The signature is the check; this one adds what riskmodel's own loader checks by
        ``models:/`` (a manifest re-signed by someone who read the key), when the tag is there.
        """
        found = _MODEL_ID.search(location.rstrip("/"))
        if found is None:
            return
        try:
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
            versions = client.search_model_versions(f"source_path = 'models:/{found.group(1)}'")
        except Exception:  # noqa: BLE001 - no registry to ask: the signature alone decides, as for a logged model never registered
            return
        recorded = {(v.name, v.version, v.tags["manifest_sha256"]) for v in versions if v.tags.get("manifest_sha256")}
        if recorded and file_digest(manifest) not in {digest for _, _, digest in recorded}:
            name, version, _ = sorted(recorded)[0]
            raise ArtifactIntegrityError(
                f"{MANIFEST} of model `{location}` differs from the one recorded at logging (tag manifest_sha256 of "
                f"{name} version {version}): it was re-signed after logging, or another model signed with the same key was "
                "copied over it; do not use this model."
            )

    def _signed(self, manifest: Path, local_folder: Path, where: str) -> dict[str, str]:
        """:func:`signed_files`, its messages naming the model in the store rather than a temporary copy."""
        try:
            return signed_files(manifest, key=self._key(where))
        except ArtifactIntegrityError as exc:
            if not str(exc).startswith(where):
                raise ArtifactIntegrityError(str(exc).replace(f"`{local_folder}`", where)) from None
            raise

    def _key(self, where: str) -> bytes:
        store = self.tracking_uri or mlflow.get_tracking_uri()
        try:
            return signing.store_key(store)
        except ArtifactIntegrityError as exc:
            raise ArtifactIntegrityError(
                f"{where} cannot be verified: {exc} riskmodel delivers a model's files only verified; set "
                f"$RISKMODEL_SIGNING_KEY (the key the model was logged with) in this process's environment."
            ) from None


def _check_model_id(location: str, mlmodel: Path) -> None:
    """Refuse a verified ``MLmodel`` that names a logged model other than the one its location is (``.../models/m-<id>/...``).

    Every model riskmodel logs is signed with the store's one key: another model's folder copied over this one passes
    the signature, and without the ``manifest_sha256`` tag (:meth:`VerifiedArtifactRepository._check_recorded`) nothing
    else tells them apart. ``MLmodel`` is signed with the rest and names its logged model.
    """
    found = _MODEL_ID.search(location.rstrip("/"))
    if found is None:
        return
    import yaml

    try:
        doc = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        doc = None
    got = doc.get("model_id") if isinstance(doc, dict) else None
    if got != found.group(1):
        raise ArtifactIntegrityError(
            f"model `{location}` holds the logged model {got}, not the one its location names ({found.group(1)}): another "
            "model signed with the store's key was copied over it in the artifact store. Do not use it; restore the "
            "store's copy or log the model again."
        )


def _write_stub(local: Path, message: str) -> None:
    """In place of a refused model folder (or its ``MLmodel``): a model whose loader is :func:`_load_pyfunc` below."""
    import yaml

    mlmodel = {"flavors": {"python_function": {"loader_module": __name__, "data": REFUSED_FILE}}, "riskmodel_refused": message}
    if local.name == MLMODEL:
        local.write_text(yaml.safe_dump(mlmodel), encoding="utf-8")
        return
    local.mkdir(parents=True, exist_ok=True)
    (local / REFUSED_FILE).write_text(message, encoding="utf-8")
    (local / MLMODEL).write_text(yaml.safe_dump(mlmodel), encoding="utf-8")


def _load_pyfunc(path: str, model_config: dict | None = None):
    """MLflow's entry point for a refused model (:func:`_write_stub`): raise the refusal, load nothing."""
    text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else "its files do not match the signed manifest (see the log)"
    raise ArtifactIntegrityError(f"riskmodel refused this model: {text}")


def _exposure(folder: Path) -> str | None:
    """Why a user other than this one (or root) could change what lies under ``folder``, or which folder its path names; else None.

    Walked from ``/`` down: a folder others cannot enter (no execute bit for group or others) shields all
    below it; above it, or along the whole path when there is none, no folder may belong to another user,
    nor be writable by group or others unless sticky (where they cannot rename what they do not own).
    POSIX modes only: ACLs are not read, and where there are no user ids (Windows) nothing is refused.
    """
    if not hasattr(os, "geteuid"):
        return None
    me = os.geteuid()
    for d in (*reversed(folder.parents), folder):
        try:
            st = d.stat()
        except FileNotFoundError:
            return None  # not there yet: creating the download folder in it fails and says so
        mode = stat.S_IMODE(st.st_mode)
        if st.st_uid not in (me, 0):
            return f"`{d}` belongs to another user (uid {st.st_uid})"
        if mode & 0o022 and not mode & stat.S_ISVTX:
            return f"`{d}` is writable by {'others' if mode & 0o002 else 'its group'} (mode {mode:o})"
        if not mode & 0o011:
            return None
    return None


def _seal(path: Path) -> None:
    """Take write permission from group and others (a symbolic link is left alone: chmod would follow it)."""
    if not path.is_symlink():
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o022)


def _move_out(stage: Path, local: Path, dst: Path) -> Path:
    """Move verified ``local`` from ``stage`` to the same place under ``dst``, replacing what was there by that name."""
    rel = local.relative_to(stage)
    moved = [(entry, dst / entry.name) for entry in stage.iterdir()] if rel == Path(".") else [(local, dst / rel)]
    for d in reversed((dst / rel).parents):
        if d.is_relative_to(dst) and d != dst and not d.exists():
            d.mkdir()
            _seal(d)
    try:
        for source, target in moved:
            reason = None if target.parent == dst else _exposure(target.parent)  # a folder of the caller's between dst and target
            if reason is not None:
                raise ArtifactIntegrityError(f"riskmodel will not deliver a verified download into `{target.parent}`: {reason}. "
                                             "chmod go-w it, or download elsewhere.")
            _remove(target)
            os.replace(source, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return dst / rel


def _remove(local: Path) -> None:
    if local.is_dir():
        shutil.rmtree(local, ignore_errors=True)
    else:
        local.unlink(missing_ok=True)
