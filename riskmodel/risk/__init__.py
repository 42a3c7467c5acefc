"""The overstay-risk classifier: a generic, calibrated LightGBM trainer with evaluation, audit and reasons.

Modules: :mod:`~riskmodel.risk.config` (YAML sections), :mod:`~riskmodel.risk.model`
(:class:`RiskModel`, :func:`time_split`), :mod:`~riskmodel.risk.calibration`,
:mod:`~riskmodel.risk.metrics`, :mod:`~riskmodel.risk.fairness`,
:mod:`~riskmodel.risk.reasons`, :mod:`~riskmodel.risk.gate`,
:mod:`~riskmodel.risk.train` (:func:`train_risk_model`) and
:mod:`~riskmodel.risk.tuning`. Nothing here imports MLflow.
"""

from riskmodel.risk.config import (
    DataConfig,
    FairnessConfig,
    GateConfig,
    ModelConfig,
    RiskConfig,
    Splits,
    TrackingConfig,
    TuningConfig,
)
from riskmodel.risk.fairness import FairnessReport, fairness_audit
from riskmodel.risk.gate import GateDecision, evaluate_gate
from riskmodel.risk.metrics import classification_metrics, expected_calibration_error, reliability_table
from riskmodel.risk.model import RiskModel, time_split
from riskmodel.risk.reasons import explain
from riskmodel.risk.train import TrainResult, train_risk_model

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
