"""MLflow pyfunc of the arrival forecaster, in MLflow's ``loader_module`` form (nothing pickled, no code from the store).

MLflow calls :func:`_load_pyfunc` of this installed module with the model's
``data/forecaster`` folder; the signed manifest of the whole logged model is
verified first, then the folder is read with
:meth:`riskmodel.core.forecasting.Forecaster.load` (JSON and Parquet only).

Input: a DataFrame with a column ``h`` (the horizon; the first row is used) and,
optionally, ``unique_id`` to keep only some series; or ``params={"h": 12}``.
Output: the columns of :meth:`riskmodel.core.forecasting.Forecaster.predict`
(``unique_id, ds, y_hat, y_lo_<L>, y_hi_<L>, model``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ARTIFACT = "forecaster"


class ForecastPyfunc:
    """Point forecasts and intervals for every series of the fitted hierarchy."""

    def __init__(self, forecaster):
        self.forecaster = forecaster

    def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        h = (params or {}).get("h")
        if h is None and model_input is not None and "h" in model_input and len(model_input):
            h = int(model_input["h"].iloc[0])
        out = self.forecaster.predict(int(h) if h is not None else None)
        if model_input is not None and "unique_id" in model_input and model_input["unique_id"].notna().any():
            out = out[out["unique_id"].isin(set(model_input["unique_id"].dropna().astype(str)))]
        return out.reset_index(drop=True)


def _load_pyfunc(path: str, model_config: dict | None = None) -> ForecastPyfunc:
    """MLflow's entry point: verify the whole logged model, then read ``path`` (its ``data/forecaster``)."""
    from riskmodel.core.exceptions import ArtifactIntegrityError
    from riskmodel.core.forecasting import Forecaster
    from riskmodel.integrations.tracking import registry, signing
    from riskmodel.integrations.tracking.risk_pyfunc import registered_version

    folder = Path(path)
    root = registry.model_root(folder)
    if root is None or folder != root / "data" / ARTIFACT:
        raise ArtifactIntegrityError(f"`{folder}` is not the data/{ARTIFACT} folder of a model logged by riskmodel; do not use it.")
    registry.verify_manifest(root)
    mv = registered_version(root)
    if mv is not None and signing.CHAMPION in (mv.aliases or []):  # the champion serves only with its signed gate decision
        signing.check_champion(registry.tracking_uri(), mv.name, str(mv.version), dict(mv.tags), allow_ungated=False,
                               uri=f"models:/{mv.name}/{mv.version} (pyfunc)")
    return ForecastPyfunc(Forecaster.load(folder))
