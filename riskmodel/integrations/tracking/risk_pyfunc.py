"""MLflow pyfunc of the risk model, in MLflow's ``loader_module`` form (nothing pickled, no code from the store).

The logged model names this module of the installed package as its loader;
MLflow calls :func:`_load_pyfunc` with the model's ``data/risk_model`` folder,
which first verifies the signed manifest of the whole logged model
(:func:`riskmodel.integrations.tracking.registry.verify_manifest`) and
parses the LightGBM text model and JSON metadata from the bytes that check read
(:func:`verified_risk_model`, :meth:`riskmodel.core.risk.model.RiskModel.from_files`). Categorical columns arrive as
plain strings and are encoded to the levels fixed at training (no pandas
``category`` dtype needed from callers: the source of mlflow#12910 and
LightGBM#5244 errors).

Input: the model's feature columns, as :func:`riskmodel.score` takes them.
The signature declares every column with MLflow's ``any`` type and optional, so
MLflow's schema enforcement passes each value through and ``score()`` judges
every row: a number column holding text, an out-of-domain value (a boolean
``2``) or a missing column flags the rows concerned, never the whole request.

Output: exactly what :func:`riskmodel.score` returns (``stay_id, probability,
risk_band, reason_1..k, model_name, model_version, error, warning``), one row
per input row, same order, with ``errors="flag"``: a bad row gets a missing
probability and its problem in ``error`` instead of failing the whole request.
Params: ``reasons`` (default 3) sets k; ``purpose`` is recorded in the audit
log (default ``"mlflow pyfunc"``). A param that MLflow accepts but ``score()``
cannot (``reasons`` below 0, a ``purpose`` holding a run of 5 or more digits: an id, a passport or a phone
number, :func:`riskmodel.core.audit.check_purpose`) flags every row with a one-line message instead of
an error page with a stack trace. ``stay_id`` is optional in the input and
echoed back. ``model_name`` and ``model_version`` are those of the registered version made
from the verified model (found in the registry by the run and model id of its
signed ``MLmodel``, however MLflow fetched it: ``mlflow models serve -m
models:/overstay-risk@champion``, ``riskmodel serve``, a ``runs:/`` URI), the
versions joined by commas if it was registered more than once; otherwise the
version reads ``unregistered``. A model whose registered version is
``champion`` loads only with a passed gate decision signed by riskmodel (an
alias moved by hand in the MLflow UI is refused, whatever URI fetched it), as
:func:`riskmodel.load` does, with the same audited override
(``RISKMODEL_ALLOW_UNGATED=1``). A registry that does not answer which versions
were made from it (down, refusing this user, or an MLflow that no longer takes
the ``run_id`` filter) refuses the load under the same override: the gate
cannot tell a hand-moved champion then, and "unregistered" would switch it off.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from riskmodel.core.risk.model import RiskModel

ARTIFACT = "risk_model"


class RiskPyfunc:
    """Calibrated overstay probability and risk band for each input row."""

    def __init__(self, scorer):
        self.scorer = scorer
        self.model = scorer.model

    def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from riskmodel.core.audit import check_purpose
        from riskmodel.core.scoring import check_score_args, score

        params = params or {}
        if isinstance(model_input, pd.DataFrame) and model_input.shape[1] == 0:
            _refuse_no_columns(self.model.features)
        reasons, purpose = params.get("reasons", 3), params.get("purpose") or "mlflow pyfunc"
        try:
            check_score_args("flag", reasons, None)
            check_purpose(purpose)  # a purpose naming someone: refused as a bad param, not a server error
        except ValueError as exc:  # one line for every row, not a server error page
            return self._refused(model_input, f"params: {exc}", purpose)
        out = score(model_input, model=self.scorer, reasons=int(reasons), errors="flag", purpose=str(purpose))
        return _json_ready(out)

    def _refused(self, model_input: pd.DataFrame, message: str, purpose) -> pd.DataFrame:
        """Every row answered with ``message``, and the call audited as any refused call is (``refused_by`` "params",
        no digest, no value; a purpose that could name someone is not written): the answer is a 200 and the server's
        access log keeps no body, so without this record a refused call left no trace."""
        from riskmodel.core import audit
        from riskmodel.core.scoring import output_columns

        try:
            audit.check_purpose(purpose)
        except ValueError:
            purpose = None
        n = len(model_input)
        audit.append("score_refused", model_name=self.scorer.name, model_version=self.scorer.version, input_digest=None,
                     rows=n, refused_rows=n, problems={"params": n}, refused_by="params", purpose=purpose)

        out = pd.DataFrame(None, index=model_input.index, columns=output_columns("stay_id", 0), dtype=object)
        if "stay_id" in model_input.columns:
            out["stay_id"] = model_input["stay_id"].astype(object)
        out["model_name"], out["model_version"], out["error"] = self.scorer.name, self.scorer.version, message
        return out.where(out.notna(), None)


def _json_ready(out: pd.DataFrame) -> pd.DataFrame:
    """``out`` with object columns and None for every missing value, so JSON answers carry null rather than NaN.

    Column by column: ``astype(object).where(notna, None)`` on the whole frame cost about as much as the score of the
    one record a service sends (a frame-wide mask and a second copy of every cell)."""
    cols = {}
    for c in out.columns:
        values = out[c].to_numpy(dtype=object)
        missing = pd.isna(values)
        cols[c] = np.where(missing, None, values) if missing.any() else values  # a new array: never the caller's ids
    return pd.DataFrame(cols, index=out.index, columns=out.columns, dtype=object, copy=False)


def _refuse_no_columns(features: list[str]) -> None:
    """Refuse a request MLflow reduced to no column: a one-line 400 answer, never an empty 200.

    MLflow's schema enforcement drops every column the signature does not name and,
    when none is left, the rows too: a request whose every column was misspelt
    (``Visa_Type``) or a tensor (``{"inputs": [[...]]}``) reached :func:`score` as an
    empty table and was answered with no prediction at all.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    raise MlflowException(
        "the request holds none of the model's feature columns (the server drops column names it does not know, "
        f"e.g. misspelt ones), or no record at all: send records with the columns {features[:4]}... as riskmodel.score "
        "takes them (dataframe_records or dataframe_split); riskmodel serve answers an empty batch with no prediction.",
        error_code=INVALID_PARAMETER_VALUE,
    )


def registered_versions(root: Path) -> list:
    """The registry's versions of the logged model in ``root``, found by the run and model id of its signed ``MLmodel``.

    Call it only after the model's manifest was verified: the ids are then riskmodel's. MLflow hands a pyfunc
    loader nothing but the downloaded folder (up to 3.17 it left an unsigned ``registered_model_meta`` file
    beside it; 3.18 no longer does), so the registry is asked which versions were registered from this logged
    model, however it was fetched (``models:/name@alias``, ``models:/name/3``, ``runs:/``). Empty when none
    was, when the ``MLmodel`` names no run, or when there is no store (no ``MLFLOW_TRACKING_URI`` and no
    ``mlflow.db`` in the working directory: a copy served without one; none is created).

    Raises
    ------
    ModelLoadError
        If the registry does not answer (a server down or refusing this user, a sqlite store named by
        ``MLFLOW_TRACKING_URI`` that does not exist, or an MLflow that no longer takes the ``run_id`` filter): the champion gate could not tell a hand-moved champion from anything else, so nothing is
        loaded as "unregistered", unless the audited override ``RISKMODEL_ALLOW_UNGATED=1`` is set (then: empty).
    """
    import os

    import yaml
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from riskmodel.core.exceptions import ModelNotFoundError

    try:
        mlmodel = yaml.safe_load((root / "MLmodel").read_text(encoding="utf-8")) or {}
        run_id, model_id = str(mlmodel.get("run_id") or ""), mlmodel.get("model_id")
    except (OSError, yaml.YAMLError, UnicodeDecodeError, AttributeError):  # no MLmodel, or not a mapping: no run named
        return []
    if not run_id.isalnum():  # also keeps the filter below a plain string comparison
        return []
    from riskmodel.integrations.tracking import registry

    store = registry.tracking_uri()
    try:
        registry.check_store_exists()  # MLflow would create an empty sqlite store in the serving folder
    except ModelNotFoundError as exc:
        if os.environ.get("MLFLOW_TRACKING_URI"):  # a store named, not there: it cannot say
            _registry_silent(root, run_id, exc)
        return []  # no store at all (a copy served without one): nothing is registered
    try:
        client = MlflowClient(tracking_uri=store, registry_uri=store)
        # a search's answers carry neither aliases nor model ids: read each version whole
        found = [client.get_model_version(mv.name, mv.version) for mv in client.search_model_versions(f"run_id = '{run_id}'")]
    except MlflowException as exc:  # fail closed: "no answer" is not "never registered"
        _registry_silent(root, run_id, exc)
        return []
    # a run may log more than one model: keep the versions registered from this one
    return sorted((mv for mv in found if not (model_id and mv.model_id) or mv.model_id == model_id),
                  key=lambda mv: (mv.name, int(mv.version)))


def _registry_silent(root: Path, run_id: str, exc: Exception) -> None:
    """Refuse the model of ``root``: the registry gave no answer on which versions were made from it (see
    :func:`registered_versions`); with ``RISKMODEL_ALLOW_UNGATED=1``, record the override in the audit log instead."""
    import os

    from riskmodel.core import audit
    from riskmodel.core.exceptions import ModelLoadError
    from riskmodel.integrations.tracking import signing

    first = str(getattr(exc, "message", exc)).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    message = (f"cannot tell whether the model in `{root}` (run {run_id}) is a registered version, and so whether it may serve "
               f"as `{signing.CHAMPION}`: the registry (MLFLOW_TRACKING_URI) did not answer which versions were made from it "
               f"({first}). Nothing was loaded. Fix: make the registry reachable for this user, or point MLFLOW_TRACKING_URI "
               f"at the store the model was logged to; in an emergency, {signing.ALLOW_UNGATED_ENV}=1 loads it ungated "
               "(recorded in the audit log).")
    if os.environ.get(signing.ALLOW_UNGATED_ENV) != "1":
        raise ModelLoadError(message) from None
    audit.append("ungated_load", model_name="unknown", model_version="unknown", uri=f"{root} (pyfunc)",
                 override=f"${signing.ALLOW_UNGATED_ENV}", refused_because=message)


def check_registered(root: Path) -> tuple[str, str] | None:
    """Refuse the logged model in ``root`` if a version registered from it is ``champion`` without its signed gate.

    Returns the registered name and version its answers carry (versions joined by commas when the same logged
    model was registered more than once), or None when it was never registered.

    Raises
    ------
    ModelLoadError
        If one of its versions holds the ``champion`` alias without a passed gate decision signed by riskmodel
        (an alias moved by hand), unless the audited override ``RISKMODEL_ALLOW_UNGATED=1`` is set.
    """
    from riskmodel.integrations.tracking import registry, signing

    versions = registered_versions(root)
    for mv in versions:
        if signing.CHAMPION in (mv.aliases or []):  # the champion serves only with its signed gate decision
            signing.check_champion(registry.tracking_uri(), mv.name, str(mv.version), dict(mv.tags), allow_ungated=False,
                                   uri=f"models:/{mv.name}/{mv.version} (pyfunc)")
    if not versions:
        return None
    return ",".join(dict.fromkeys(mv.name for mv in versions)), ",".join(str(mv.version) for mv in versions)


def verified_risk_model(root: Path, *, expected_digest: str | None = None, identity: dict[str, str] | None = None,
                        uri: str = "") -> RiskModel:
    """The risk model of the logged model ``root``, parsed from the bytes that the check of its signed manifest read.

    Read again from ``data/risk_model`` after the check, a model.txt or meta.json rewritten in between would be used
    unsigned.

    ``identity``: the run and logged model its signed ``MLmodel`` must name (:func:`riskmodel.integrations.tracking.registry.check_identity`),
    those of the ``uri`` it was fetched by.

    Raises
    ------
    ArtifactIntegrityError
        If the logged model does not match its signed manifest, or is not the one ``identity`` names.
    ModelLoadError
        If its risk model's files are missing or not a RiskModel.
    """
    from riskmodel.core.risk.model import MODEL_FILES, RiskModel
    from riskmodel.integrations.tracking import registry

    names = {f"data/{ARTIFACT}/{name}": name for name in MODEL_FILES}
    files = registry.verify_manifest(root, expected_digest=expected_digest, read=tuple(names), identity=identity, uri=uri)
    return RiskModel.from_files({names[path]: data for path, data in files.items()}, where=root / "data" / ARTIFACT)


def _load_pyfunc(path: str, model_config: dict | None = None) -> RiskPyfunc:
    """MLflow's entry point: verify the whole logged model, and parse ``path`` (its ``data/risk_model``) from the bytes checked."""
    from riskmodel.core.exceptions import ArtifactIntegrityError
    from riskmodel.core.scoring import Scorer
    from riskmodel.integrations.tracking import registry, signing

    folder = Path(path)
    root = registry.model_root(folder)
    if root is None or folder != root / "data" / ARTIFACT:
        raise ArtifactIntegrityError(f"`{folder}` is not the data/{ARTIFACT} folder of a model logged by riskmodel; do not use it.")
    model = verified_risk_model(root)
    registered = check_registered(root)
    if registered is None:
        return RiskPyfunc(Scorer(model, name=(model_config or {}).get("name", "overstay-risk"), version="unregistered"))
    return RiskPyfunc(Scorer(model, name=registered[0], version=registered[1]))
