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
from riskmodel.features import build_features, label_mature, training_table
# ``forecast`` is rebound from the subpackage to the function: riskmodel.forecast(h, ...).
from riskmodel.forecast import Forecaster, forecast, make_series, validate_series
from riskmodel.risk import RiskConfig, RiskModel, evaluate_gate, explain, fairness_audit, train_risk_model
from riskmodel.schema import validate_crossings, validate_stays
from riskmodel.scoring import load, score
# the Spark adapters import pyspark only when called (extra `spark`)
from riskmodel.spark import forecast_spark, score_spark
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
    "RiskConfig",
    "RiskModel",
    "build_features",
    "build_stays",
    "evaluate_gate",
    "explain",
    "fairness_audit",
    "label_mature",
    "train_risk_model",
    "training_table",
    "forecast",
    "forecast_spark",
    "make_crossings",
    "load",
    "make_series",
    "score",
    "score_spark",
    "validate_crossings",
    "validate_series",
    "validate_stays",
]
