"""MLflow pyfunc of the risk model, logged as *models-from-code* (nothing pickled).

MLflow stores this file as the model's code. At load it builds
:class:`RiskPyfunc`, which verifies the model folder against its manifest and
reads the LightGBM text model and JSON metadata with
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

import mlflow
import pandas as pd

ARTIFACT = "risk_model"


class RiskPyfunc(mlflow.pyfunc.PythonModel):
    """Calibrated overstay probability and risk band for each input row."""

    def load_context(self, context):
        from riskmodel.core.risk.model import RiskModel
        from riskmodel.core.scoring import Scorer
        from riskmodel.core.artifacts import verify_manifest

        folder = context.artifacts[ARTIFACT]
        verify_manifest(folder)
        self.model = RiskModel.load(folder)
        meta = context.model_config or {}
        self.scorer = Scorer(self.model, name=meta.get("name", "overstay-risk"), version=str(meta.get("version", "logged")))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from riskmodel.core.scoring import score

        reasons = int((params or {}).get("reasons", 3))
        out = score(model_input, model=self.scorer, reasons=reasons, errors="flag", purpose="mlflow pyfunc")
        # missing values as None, so JSON answers carry null rather than NaN
        return out.astype(object).where(out.notna(), None)


mlflow.models.set_model(RiskPyfunc())
