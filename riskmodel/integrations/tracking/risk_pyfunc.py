"""MLflow pyfunc of the risk model, in MLflow's ``loader_module`` form (nothing pickled, no code from the store).

The logged model names this module of the installed package as its loader;
MLflow calls :func:`_load_pyfunc` with the model's ``data/risk_model`` folder,
which first verifies the signed manifest of the whole logged model
(:func:`riskmodel.integrations.tracking.registry.verify_manifest`) and only
then reads the LightGBM text model and JSON metadata with
:meth:`riskmodel.core.risk.model.RiskModel.load`. Categorical columns arrive as
plain strings and are encoded to the levels fixed at training (no pandas
``category`` dtype needed from callers: the source of mlflow#12910 and
LightGBM#5244 errors).

Input: the model's feature columns. Categorical ones as plain strings (MLflow's
schema enforcement refuses pandas ``category`` dtype: cast with ``.astype(str)``;
JSON at ``mlflow models serve`` is already strings), booleans as true/false (the
data contract never leaves them missing on entry rows), numbers as numbers
(missing allowed). In Python, :func:`riskmodel.score` and
:class:`~riskmodel.core.risk.model.RiskModel` accept any of these dtypes.

Output: exactly what :func:`riskmodel.score` returns (``stay_id, probability,
risk_band, reason_1..k, model_name, model_version, error``), one row per input
row, same order, with ``errors="flag"``: a bad row gets a missing probability
and its problem in ``error`` instead of failing the whole request. The
optional param ``reasons`` (default 3) sets k; ``stay_id`` is optional in the
input and echoed back. So ``mlflow models serve`` answers with the numbers
``score()`` gives in-process.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ARTIFACT = "risk_model"


class RiskPyfunc:
    """Calibrated overstay probability and risk band for each input row."""

    def __init__(self, scorer):
        self.scorer = scorer
        self.model = scorer.model

    def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from riskmodel.core.scoring import score

        reasons = int((params or {}).get("reasons", 3))
        out = score(model_input, model=self.scorer, reasons=reasons, errors="flag", purpose="mlflow pyfunc")
        # missing values as None, so JSON answers carry null rather than NaN
        return out.astype(object).where(out.notna(), None)


def _load_pyfunc(path: str, model_config: dict | None = None) -> RiskPyfunc:
    """MLflow's entry point: verify the whole logged model, then read ``path`` (its ``data/risk_model``)."""
    from riskmodel.core.exceptions import ArtifactIntegrityError
    from riskmodel.core.risk.model import RiskModel
    from riskmodel.core.scoring import Scorer
    from riskmodel.integrations.tracking import registry

    folder = Path(path)
    root = registry.model_root(folder)
    if root is None or folder != root / "data" / ARTIFACT:
        raise ArtifactIntegrityError(f"`{folder}` is not the data/{ARTIFACT} folder of a model logged by riskmodel; do not use it.")
    registry.verify_manifest(root)
    model = RiskModel.load(folder)
    meta = model_config or {}
    return RiskPyfunc(Scorer(model, name=meta.get("name", "overstay-risk"), version=str(meta.get("version", "logged"))))
