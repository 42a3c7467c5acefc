"""Log a fitted model folder as a signed MLflow pyfunc and register it.

Both models are logged in MLflow's ``loader_module`` form: the model's files go
to ``data/<artifact>`` and MLflow loads them with ``_load_pyfunc`` of a module of
the *installed* riskmodel package (:mod:`~riskmodel.integrations.tracking.risk_pyfunc`,
:mod:`~riskmodel.integrations.tracking.forecast_pyfunc`), so no code is taken from
the store. Once MLflow has written the model (``MLmodel``, environment files,
data), a signed manifest of *every* file is added to it (the model's own
folder also carries one, for a copy of that folder alone)
(:func:`riskmodel.integrations.tracking.registry.write_manifest`), and only then
is the model registered: no registered version exists without its signature.

What is signed is what riskmodel logged, not whatever the store holds by then:
the same model is first written locally by ``mlflow.pyfunc.save_model``, and the
copy read back from the store must match it file for file (``MLmodel`` apart
from the fields MLflow sets when logging, which must be the logged model's own).
Whoever can write the store and changes it in between (a planted ``MLmodel``
naming the cloudpickle flavour, an added file) gets an
:class:`~riskmodel.core.exceptions.ArtifactIntegrityError`, an unsigned model
that every loader refuses, and no registered version.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import mlflow
import yaml
from mlflow.models.signature import ModelSignature

from riskmodel.core.artifacts import MANIFEST, file_digest
from riskmodel.core.exceptions import ArtifactIntegrityError
from riskmodel.integrations.tracking import registry, verified_store

__all__ = ["log_signed_pyfunc"]

#: ``MLmodel`` fields MLflow fills in when it logs (absent or other in a local save); each must be the logged model's own
_LOGGED_FIELDS = ("run_id", "model_id", "model_uuid", "artifact_path", "utc_time_created")


def log_signed_pyfunc(
    folder: Path,
    *,
    loader_module: str,
    registered_name: str,
    signature: ModelSignature,
    pip_requirements: list[str],
    model_config: dict | None = None,
) -> tuple[str, str]:
    """Log ``folder`` as pyfunc ``model`` of the active run, sign it, register it as ``registered_name``.

    Returns
    -------
    version : str
        The registered version.
    digest : str
        SHA-256 of the signed manifest (for the ``manifest_sha256`` tag).
    """
    # the model folder carries its own signed manifest too, so a copy of just that folder can be checked on its own
    registry.write_manifest(folder)
    model = dict(loader_module=loader_module, data_path=str(folder), model_config=model_config, signature=signature,
                 pip_requirements=pip_requirements)
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="riskmodel-sign-") as tmp:
        # no input example on purpose: real records must not be copied into the model store
        warnings.filterwarnings("ignore", message=".*input example was not provided.*")
        reference = Path(tmp) / "reference"  # what log_model writes, written here where nobody else can change it
        mlflow.pyfunc.save_model(path=str(reference), **model)
        info = mlflow.pyfunc.log_model(name="model", **model)
        client = registry.configure()
        # not signed yet, so riskmodel's scheme would refuse it: read it from the store underneath, to sign it
        location = verified_store.inner_uri(client.get_logged_model(info.model_id).artifact_location)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=str(Path(tmp) / "stored")))
        _check_as_logged(local, reference, info, location)
        digest = registry.write_manifest(local)
        client.log_model_artifact(info.model_id, str(local / MANIFEST))
    mv = mlflow.register_model(info.model_uri, registered_name)
    return str(mv.version), digest


def _check_as_logged(stored: Path, reference: Path, info, location: str) -> None:
    """Refuse to sign ``stored`` (the model read back from the store) unless it is ``reference`` (the same model saved
    locally): the same files with the same bytes, ``MLmodel`` the same but for :data:`_LOGGED_FIELDS`, each the
    logged model's own (``info``)."""
    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    have, want = files(stored), files(reference)
    problems = [f"unexpected file {n}" for n in sorted(have - want)] + [f"missing file {n}" for n in sorted(want - have)]
    problems += [f"content of {n} changed" for n in sorted(have & want - {"MLmodel"}) if file_digest(stored / n) != file_digest(reference / n)]
    if "MLmodel" in have & want:
        try:
            got = yaml.safe_load((stored / "MLmodel").read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            got = None
        meant = {**yaml.safe_load((reference / "MLmodel").read_text(encoding="utf-8")),
                 **{k: getattr(info, k, None) for k in _LOGGED_FIELDS}}
        if not isinstance(got, dict) or {k: str(v) for k, v in got.items()} != {k: str(v) for k, v in meant.items()}:
            problems.append("content of MLmodel changed")
    if problems:
        raise ArtifactIntegrityError(
            f"the model MLflow stored at `{location}` is not the one riskmodel logged: {'; '.join(problems)}. Someone changed "
            "the artifact store while the model was being logged; it was neither signed nor registered, and every loader "
            "refuses it. Check who can write the artifact store, then log the model again."
        )
