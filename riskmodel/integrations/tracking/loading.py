"""Load whatever a logged model URI or folder holds, verified: a risk model or a forecaster.

The pyfunc of each model kind keeps its fitted model in one named artifact folder
(``risk_model`` or ``forecaster``); the folder found tells the kind. Versions
behind an alias are pinned first, so an alias moving meanwhile cannot mix two
models. Verification is :func:`riskmodel.core.artifacts.verify_manifest`, through
:func:`~riskmodel.integrations.tracking.registry.download_model_folder`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from riskmodel.core.artifacts import verify_manifest
from riskmodel.core.exceptions import ModelLoadError
from riskmodel.core.forecasting.forecaster import Forecaster
from riskmodel.core.risk.model import RiskModel
from riskmodel.integrations.tracking import forecast_pyfunc, registry, risk_pyfunc

__all__ = ["LoadedModel", "load_logged"]

_KINDS = {risk_pyfunc.ARTIFACT: RiskModel, forecast_pyfunc.ARTIFACT: Forecaster}


@dataclass(frozen=True)
class LoadedModel:
    """A model read from the store: the fitted object, its registered name and version, and the URI it came from."""

    model: RiskModel | Forecaster
    name: str
    version: str
    source: str


def _pin(uri: str) -> tuple[str, str, str]:
    """(uri to download, name, version) with ``@alias`` resolved to its version now."""
    rest = uri.split(":/", 1)[1].strip("/")
    if uri.startswith("models:") and "@" in rest:
        name, alias = rest.split("@", 1)
        mv = registry.resolve_version(name, alias)
        if mv is None:
            raise ModelLoadError(f"`{uri}`: registered model `{name}` has no alias `{alias}`; train and register it first.")
        return f"models:/{name}/{mv.version}", name, str(mv.version)
    if uri.startswith("models:"):
        if "/" not in rest:
            raise ModelLoadError(f"`{uri}`: expected models:/<name>/<version> or models:/<name>@<alias>.")
        name, version = rest.rsplit("/", 1)
        return uri, name, version
    return uri, "run", rest.split("/", 1)[0]


def _kind_of(folder: Path) -> str:
    for artifact in _KINDS:
        if (folder / "artifacts" / artifact).is_dir():
            return artifact
    if (folder / "meta.json").is_file():
        return risk_pyfunc.ARTIFACT
    if (folder / "forecaster.json").is_file():
        return forecast_pyfunc.ARTIFACT
    raise ModelLoadError(f"`{folder}` holds neither a risk model nor a forecaster logged by riskmodel.")


def load_logged(uri: str | Path) -> LoadedModel:
    """Read a logged model by ``models:/name@alias``, ``models:/name/version``, ``runs:/...`` or a local folder.

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved or holds no riskmodel model.
    ArtifactIntegrityError
        If the files differ from the manifest recorded at logging.
    """
    text = str(uri)
    if text.startswith(("models:", "runs:")):
        target, name, version = _pin(text)
    else:
        path = Path(text)
        if not path.exists():
            raise ModelLoadError(f"model `{text}` not found: pass models:/name@alias, runs:/<run_id>/model, or a local model folder.")
        target, name, version = text, path.name, "local"
    with tempfile.TemporaryDirectory(prefix="riskmodel-load-") as tmp:
        whole, expected = registry.fetch_model(target, dst=None if Path(target).exists() else tmp)
        kind = _kind_of(whole)
        folder = whole / "artifacts" / kind if (whole / "artifacts" / kind).is_dir() else whole
        verify_manifest(folder, expected_digest=expected)
        return LoadedModel(_KINDS[kind].load(folder), name, version, text)
