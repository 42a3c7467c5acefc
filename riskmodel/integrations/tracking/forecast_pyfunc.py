"""MLflow pyfunc of the arrival forecaster, in MLflow's ``loader_module`` form (nothing pickled, no code from the store).

MLflow calls :func:`_load_pyfunc` of this installed module with the model's
``data/forecaster`` folder; the signed manifest of the whole logged model is
verified first, and the forecaster is parsed from the bytes that check read
(:func:`verified_forecaster`, :meth:`riskmodel.core.forecasting.Forecaster.from_files`: JSON and Parquet only).

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


def verified_forecaster(root: Path, *, expected_digest: str | None = None):
    """The forecaster of the logged model ``root``, parsed from the bytes that the check of its signed manifest read.

    Read again from ``data/forecaster`` after the check, a forecaster.json or Parquet file rewritten in between would
    be used unsigned.

    Raises
    ------
    ArtifactIntegrityError
        If the logged model does not match its signed manifest.
    ModelLoadError
        If its forecaster's files are missing or not a Forecaster.
    """
    from riskmodel.core.forecasting.forecaster import FORECASTER_FILES, Forecaster
    from riskmodel.integrations.tracking import registry

    names = {f"data/{ARTIFACT}/{name}": name for name in FORECASTER_FILES}
    files = registry.verify_manifest(root, expected_digest=expected_digest, read=tuple(names))
    return Forecaster.from_files({names[path]: data for path, data in files.items()}, where=root / "data" / ARTIFACT)


def _load_pyfunc(path: str, model_config: dict | None = None) -> ForecastPyfunc:
    """MLflow's entry point: verify the whole logged model, and parse ``path`` (its ``data/forecaster``) from the bytes checked."""
    from riskmodel.core.exceptions import ArtifactIntegrityError
    from riskmodel.integrations.tracking import registry, signing
    from riskmodel.integrations.tracking.risk_pyfunc import registered_version

    folder = Path(path)
    root = registry.model_root(folder)
    if root is None or folder != root / "data" / ARTIFACT:
        raise ArtifactIntegrityError(f"`{folder}` is not the data/{ARTIFACT} folder of a model logged by riskmodel; do not use it.")
    forecaster = verified_forecaster(root)
    mv = registered_version(root)
    if mv is not None and signing.CHAMPION in (mv.aliases or []):  # the champion serves only with its signed gate decision
        signing.check_champion(registry.tracking_uri(), mv.name, str(mv.version), dict(mv.tags), allow_ungated=False,
                               uri=f"models:/{mv.name}/{mv.version} (pyfunc)")
    return ForecastPyfunc(forecaster)
