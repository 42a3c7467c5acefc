"""Load whatever a logged model URI or folder holds, verified: a risk model or a forecaster.

Each logged model keeps its fitted model in one folder under ``data/``
(``risk_model`` or ``forecaster``); the folder found tells the kind. Before any
of it is read, the signed manifest of the whole logged model is verified
(:func:`riskmodel.integrations.tracking.registry.verify_manifest`). Versions
behind an alias are pinned first, so an alias moving meanwhile cannot mix two
models; a version behind ``@champion`` must carry a passed gate decision signed
by riskmodel (:func:`riskmodel.integrations.tracking.signing.check_gate`) unless
the emergency override is given, which the audit log records.

URI forms: ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
``models:/m-<logged model id>``, ``runs:/<run_id>/<path>`` and a local copy of a
logged model (its folder, or its ``data/<kind>`` folder). Anything else is
refused with :class:`~riskmodel.core.exceptions.ModelLoadError`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlflow.exceptions import MlflowException

from riskmodel.core.exceptions import ModelLoadError
from riskmodel.core.forecasting.forecaster import Forecaster
from riskmodel.core.risk.model import RiskModel
from riskmodel.integrations.tracking import forecast_pyfunc, registry, risk_pyfunc, signing

__all__ = ["ALLOW_UNGATED_ENV", "CHAMPION", "LoadedModel", "load_logged", "pin", "check_pinned_champion", "alias_still_serves"]

ALLOW_UNGATED_ENV = signing.ALLOW_UNGATED_ENV
CHAMPION = signing.CHAMPION


@dataclass(frozen=True)
class LoadedModel:
    """A model read from the store: the fitted object, its registered name and version, and the URI it came from."""

    model: RiskModel | Forecaster
    name: str
    version: str
    source: str


def _pin(uri: str, allow_ungated: bool) -> tuple[str, str, str]:
    """(uri to download, name, version), with ``@alias`` resolved to its version now and ``@champion`` gated."""
    if uri.startswith("runs:"):
        rest = uri[len("runs:"):].strip("/")
        if "/" not in rest:
            raise ModelLoadError(f"`{uri}`: expected runs:/<run_id>/<artifact path>, e.g. runs:/<run_id>/model.")
        return uri, "run", rest.split("/", 1)[0]
    if not uri.startswith("models:/"):
        raise ModelLoadError(f"`{uri}` is not a model URI; expected models:/<name>/<version>, models:/<name>@<alias>, models:/m-<id> or runs:/<run_id>/model.")
    mv = registry.model_version(uri)
    if mv is None:  # a logged-model id: not registered, so never a gated champion
        return uri, "logged-model", uri[len("models:/"):]
    name, version = mv.name, str(mv.version)
    if "@" in uri:
        alias = uri.split("@", 1)[1]
        if alias == CHAMPION:
            _check_champion(name, version, dict(mv.tags), allow_ungated, uri)
    return f"models:/{name}/{version}", name, version


def check_pinned_champion(name: str, version: str | int, tags: dict[str, str], *, allow_ungated: bool = False) -> None:
    """Refuse version ``version``, the ``champion`` a gate pinned by number, unless it carries a passed, signed gate decision.

    Loading ``models:/<name>/<version>`` checks no gate; a gate that pinned the champion by number checks it here, as
    loading ``@champion`` would (a champion moved by hand is refused, the override recorded in the audit log).

    Raises
    ------
    ModelLoadError
        If the version's gate decision is missing, refused or not signed by riskmodel, and no override is given.
    """
    _check_champion(name, str(version), dict(tags), allow_ungated, f"models:/{name}@{CHAMPION}")


def _check_champion(name: str, version: str, tags: dict[str, str], allow_ungated: bool, uri: str) -> None:
    signing.check_champion(registry.tracking_uri(), name, version, tags, allow_ungated=allow_ungated, uri=uri)


def alias_still_serves(uri: str, version: str, *, allow_ungated: bool = False) -> bool:
    """Whether the alias ``uri`` (``models:/<name>@<alias>``) still names ``version`` and may still serve it.

    For ``@champion`` (without the override) the version must also still pass :func:`check_pinned_champion`'s
    checks now: a service that cached it must not serve on a version moved back behind the alias by hand
    while it made no call. False when the alias moved or its version no longer passes: load it again,
    which refuses it with the reason.

    Raises
    ------
    ModelNotFoundError
        If the registry answers that the alias (or its model) does not exist.
    ModelLoadError
        If the store gives no answer.
    """
    mv = registry.model_version(uri)
    if mv is None or str(mv.version) != str(version):
        return False
    if allow_ungated or uri.split("@", 1)[1] != CHAMPION:
        return True
    try:
        model_tags = dict(registry.configure().get_registered_model(mv.name).tags or {})
    except MlflowException as exc:
        raise ModelLoadError(f"cannot read the gate record of `{uri}`: {exc.message}") from None
    try:
        signing.check_champion(registry.tracking_uri(), mv.name, str(mv.version), dict(mv.tags), allow_ungated=False,
                               uri=uri, model_tags=model_tags)
    except ModelLoadError:
        return False
    return True


def pin(uri: str | Path, *, allow_ungated: bool = False) -> str:
    """The URI to download for ``uri``: ``@alias`` resolved to its version now, ``@champion`` gated; others as given.

    Raises
    ------
    ModelLoadError
        As :func:`load_logged` for an unresolvable URI or an ungated champion.
    """
    text = str(uri)
    return _pin(text, allow_ungated)[0] if text.startswith(("models:", "runs:")) else text


def load_logged(uri: str | Path, *, allow_ungated: bool = False) -> LoadedModel:
    """Read a logged model by any URI form of the module docstring, verified.

    Parameters
    ----------
    uri : str or Path
    allow_ungated : bool, default=False
        Emergency override: load ``@champion`` even when its version has no passed,
        signed gate decision (also ``RISKMODEL_ALLOW_UNGATED=1``). Recorded in the
        audit log as an ``ungated_load`` event.

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved, holds no riskmodel model, or ``@champion``
        is not a gated version.
    ArtifactIntegrityError
        If the model has no valid signed manifest or any file differs from it.
    """
    text = str(uri)
    if text.startswith(("models:", "runs:")):
        registry.check_store_exists()  # before MLflow creates an empty store and answers "not found"
        target, name, version = _pin(text, allow_ungated)
    else:
        path = Path(text)
        if text.startswith("file:"):  # MLflow's spelling of a local folder; a Path of it names no folder at all
            from urllib.parse import unquote, urlparse

            raise ModelLoadError(f"`{text}`: a file:// URI is not a form riskmodel loads; pass the folder's path, "
                                 f"{unquote(urlparse(text).path)}.")
        if not path.exists():
            raise ModelLoadError(f"model `{text}` not found: pass models:/name@alias, runs:/<run_id>/model, or a local model folder.")
        target, name, version = text, path.name, "local"
    identity = registry.logged_identity(target)  # the run and logged model the URI names, as its signed MLmodel must
    with tempfile.TemporaryDirectory(prefix="riskmodel-load-") as tmp:
        whole, expected = registry.fetch_model(target, dst=None if Path(target).exists() else tmp)
        root = registry.model_root(whole)
        if root is None:
            raise ModelLoadError(
                f"`{text}` is not a model logged by riskmodel (no MLmodel file); pass a models:/ or runs:/ URI, "
                "a downloaded logged model, or a folder written by RiskModel.save or Forecaster.save."
            )
        if (root / "data" / risk_pyfunc.ARTIFACT).is_dir():  # verified first, then parsed from the bytes the check read
            return LoadedModel(risk_pyfunc.verified_risk_model(root, expected_digest=expected, identity=identity, uri=text),
                               name, version, text)
        if (root / "data" / forecast_pyfunc.ARTIFACT).is_dir():
            return LoadedModel(forecast_pyfunc.verified_forecaster(root, expected_digest=expected, identity=identity, uri=text),
                               name, version, text)
        registry.verify_manifest(root, expected_digest=expected, identity=identity, uri=text)  # neither: an altered model is named as such
    raise ModelLoadError(f"`{text}` holds neither a risk model nor a forecaster logged by riskmodel.")
