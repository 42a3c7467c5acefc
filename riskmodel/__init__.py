"""riskmodel: overstay-risk scoring and seasonal arrival forecasting, tracked in MLflow.

Everything a user needs is importable from here::

    from riskmodel import make_crossings, build_stays, validate_crossings
"""

from riskmodel.datasets import Dataset, make_crossings
from riskmodel.exceptions import (
    ArtifactIntegrityError,
    ConfigError,
    FallbackWarning,
    ModelLoadError,
    NotFittedError,
    RiskModelError,
    RiskModelWarning,
    SchemaError,
    UnseenCategoryWarning,
)
# ``forecast`` is rebound from the subpackage to the function: riskmodel.forecast(h, ...).
from riskmodel.forecast import Forecaster, forecast, make_series, validate_series
from riskmodel.schema import validate_crossings, validate_stays
from riskmodel.scoring import load, score
from riskmodel.stays import build_stays

__version__ = "0.1.0"

__all__ = [
    "ArtifactIntegrityError",
    "ConfigError",
    "Dataset",
    "FallbackWarning",
    "Forecaster",
    "ModelLoadError",
    "NotFittedError",
    "RiskModelError",
    "RiskModelWarning",
    "SchemaError",
    "UnseenCategoryWarning",
    "build_stays",
    "forecast",
    "make_crossings",
    "load",
    "make_series",
    "score",
    "validate_crossings",
    "validate_series",
    "validate_stays",
]
