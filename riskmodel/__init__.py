"""riskmodel: overstay-risk scoring and seasonal arrival forecasting, tracked in MLflow.

Everything a user needs is importable from here::

    from riskmodel import make_crossings, build_stays, validate_crossings
"""

from riskmodel.core.datasets import Dataset, make_crossings
from riskmodel.core.exceptions import (
    ArtifactIntegrityError,
    ConfigError,
    BreakWarning,
    FallbackWarning,
    IntervalWarning,
    ModelLoadError,
    NotFittedError,
    PartialPeriodWarning,
    RiskModelError,
    RiskModelWarning,
    SchemaError,
    StaleForecastWarning,
    UnreadableFileError,
    UnseenCategoryWarning,
    YoungSeriesWarning,
)
from riskmodel.core.features import build_features, label_mature, training_table
from riskmodel.core.forecasting import Forecaster, make_series, validate_series
from riskmodel.core.risk import RiskConfig, RiskModel, evaluate_gate, explain, fairness_audit, train_risk_model
from riskmodel.core.schema import validate_crossings, validate_stays
from riskmodel.core.stays import build_stays
# model references (URIs) are resolved here; the Spark forms import pyspark only when called (extra `spark`)
from riskmodel.api import forecast, forecast_spark, load, score, score_file, score_spark

__version__ = "0.1.0"

__all__ = [
    "ArtifactIntegrityError",
    "ConfigError",
    "Dataset",
    "BreakWarning",
    "FallbackWarning",
    "Forecaster",
    "IntervalWarning",
    "ModelLoadError",
    "NotFittedError",
    "PartialPeriodWarning",
    "RiskModelError",
    "RiskModelWarning",
    "SchemaError",
    "StaleForecastWarning",
    "UnreadableFileError",
    "UnseenCategoryWarning",
    "YoungSeriesWarning",
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
    "score_file",
    "score_spark",
    "validate_crossings",
    "validate_series",
    "validate_stays",
]
