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
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import mlflow
from mlflow.models.signature import ModelSignature

from riskmodel.core.artifacts import MANIFEST
from riskmodel.integrations.tracking import registry, verified_store

__all__ = ["log_signed_pyfunc"]


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
    with warnings.catch_warnings():
        # no input example on purpose: real records must not be copied into the model store
        warnings.filterwarnings("ignore", message=".*input example was not provided.*")
        info = mlflow.pyfunc.log_model(
            name="model",
            loader_module=loader_module,
            data_path=str(folder),
            model_config=model_config,
            signature=signature,
            pip_requirements=pip_requirements,
        )
    client = registry.configure()
    with tempfile.TemporaryDirectory(prefix="riskmodel-sign-") as tmp:
        # not signed yet, so riskmodel's scheme would refuse it: read it from the store underneath, to sign it
        location = verified_store.inner_uri(client.get_logged_model(info.model_id).artifact_location)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=tmp))
        digest = registry.write_manifest(local)
        client.log_model_artifact(info.model_id, str(local / MANIFEST))
    mv = mlflow.register_model(info.model_uri, registered_name)
    return str(mv.version), digest
