"""MLflow pyfunc of the arrival forecaster, logged as *models-from-code* (nothing pickled).

At load, the model folder is verified against its manifest and read with
:meth:`riskmodel.core.forecasting.Forecaster.load` (JSON and Parquet only).

Input: a DataFrame with a column ``h`` (the horizon; the first row is used) and,
optionally, ``unique_id`` to keep only some series; or ``params={"h": 12}``.
Output: the columns of :meth:`riskmodel.core.forecasting.Forecaster.predict`
(``unique_id, ds, y_hat, y_lo_<L>, y_hi_<L>, model``).
"""

from __future__ import annotations

import mlflow
import pandas as pd

ARTIFACT = "forecaster"


class ForecastPyfunc(mlflow.pyfunc.PythonModel):
    """Point forecasts and intervals for every series of the fitted hierarchy."""

    def load_context(self, context):
        from riskmodel.core.forecasting import Forecaster
        from riskmodel.core.artifacts import verify_manifest

        folder = context.artifacts[ARTIFACT]
        verify_manifest(folder)
        self.forecaster = Forecaster.load(folder)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        h = (params or {}).get("h")
        if h is None and model_input is not None and "h" in model_input and len(model_input):
            h = int(model_input["h"].iloc[0])
        out = self.forecaster.predict(int(h) if h is not None else None)
        if model_input is not None and "unique_id" in model_input and model_input["unique_id"].notna().any():
            out = out[out["unique_id"].isin(set(model_input["unique_id"].dropna().astype(str)))]
        return out.reset_index(drop=True)


mlflow.models.set_model(ForecastPyfunc())
