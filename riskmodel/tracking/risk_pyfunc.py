"""MLflow pyfunc of the risk model, logged as *models-from-code* (nothing pickled).

MLflow stores this file as the model's code. At load it builds
:class:`RiskPyfunc`, which verifies the model folder against its manifest and
reads the LightGBM text model and JSON metadata with
:meth:`riskmodel.risk.model.RiskModel.load`. Categorical columns arrive as
plain strings and are encoded to the levels fixed at training (no pandas
``category`` dtype needed from callers: the source of mlflow#12910 and
LightGBM#5244 errors).

Input: the model's feature columns. Categorical ones as plain strings (MLflow's
schema enforcement refuses pandas ``category`` dtype: cast with ``.astype(str)``;
JSON at ``mlflow models serve`` is already strings), booleans as true/false (the
data contract never leaves them missing on entry rows), numbers as numbers
(missing allowed). In Python, :func:`riskmodel.score` and
:class:`~riskmodel.risk.model.RiskModel` accept any of these dtypes.

Output columns: ``probability`` (calibrated, float64) and ``risk_band`` (str), one row per input row, same order.
"""

from __future__ import annotations

import mlflow
import pandas as pd

ARTIFACT = "risk_model"


class RiskPyfunc(mlflow.pyfunc.PythonModel):
    """Calibrated overstay probability and risk band for each input row."""

    def load_context(self, context):
        from riskmodel.risk.model import RiskModel
        from riskmodel.tracking.registry import verify_manifest

        folder = context.artifacts[ARTIFACT]
        verify_manifest(folder)
        self.model = RiskModel.load(folder)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        p = self.model.predict_proba(model_input)
        return pd.DataFrame({"probability": p, "risk_band": self.model.band(p).astype(str)})


mlflow.models.set_model(RiskPyfunc())
