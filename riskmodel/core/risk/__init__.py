"""The overstay-risk classifier: a generic, calibrated LightGBM trainer with evaluation, audit and reasons.

Modules: :mod:`~riskmodel.core.risk.config` (YAML sections), :mod:`~riskmodel.core.risk.model`
(:class:`RiskModel`, :func:`time_split`), :mod:`~riskmodel.core.risk.calibration`,
:mod:`~riskmodel.core.risk.metrics`, :mod:`~riskmodel.core.risk.fairness`,
:mod:`~riskmodel.core.risk.reasons`, :mod:`~riskmodel.core.risk.gate`,
:mod:`~riskmodel.core.risk.train` (:func:`train_risk_model`) and
:mod:`~riskmodel.core.risk.tuning`. Nothing here imports MLflow.
"""

from riskmodel.core.risk.config import (
    DataConfig,
    FairnessConfig,
    GateConfig,
    ModelConfig,
    RiskConfig,
    Splits,
    TrackingConfig,
    TuningConfig,
)
from riskmodel.core.risk.fairness import FairnessReport, fairness_audit
from riskmodel.core.risk.gate import GateDecision, evaluate_gate
from riskmodel.core.risk.metrics import classification_metrics, expected_calibration_error, reliability_table
from riskmodel.core.risk.model import RiskModel, time_split
from riskmodel.core.risk.reasons import explain
from riskmodel.core.risk.train import TrainResult, train_risk_model

__all__ = [
    "DataConfig",
    "FairnessConfig",
    "FairnessReport",
    "GateConfig",
    "GateDecision",
    "ModelConfig",
    "RiskConfig",
    "RiskModel",
    "Splits",
    "TrackingConfig",
    "TrainResult",
    "TuningConfig",
    "classification_metrics",
    "evaluate_gate",
    "expected_calibration_error",
    "explain",
    "fairness_audit",
    "reliability_table",
    "time_split",
    "train_risk_model",
]
