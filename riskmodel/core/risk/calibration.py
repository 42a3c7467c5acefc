"""Probability calibration stored as plain numbers (JSON), never as pickled objects.

Both calibrators map the booster's raw margin (log-odds) to a probability and
are fitted on a time slice *later* than the one the booster was trained on, so
they also absorb drift in the base rate between training and use.

* :class:`IsotonicCalibrator`: monotone step function, stored as its
  thresholds; applied with linear interpolation between them (as scikit-learn's
  ``IsotonicRegression.predict`` does).
* :class:`PlattCalibrator`: ``p = 1 / (1 + exp(-(a * margin + b)))``, stored as
  ``a, b``; keeps the ranking of the margin exactly.
"""

from __future__ import annotations

import numpy as np

from riskmodel.core.exceptions import ConfigError, NotFittedError

__all__ = ["IsotonicCalibrator", "PlattCalibrator", "IdentityCalibrator", "make_calibrator", "calibrator_from_dict"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class IsotonicCalibrator:
    """Isotonic regression of the outcome on the margin.

    Attributes
    ----------
    x_ : ndarray
        Margin thresholds (increasing).
    y_ : ndarray
        Calibrated probability at each threshold.
    """

    kind = "isotonic"

    def fit(self, margin: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
        iso.fit(np.asarray(margin, float), np.asarray(y, float))
        self.x_ = np.asarray(iso.X_thresholds_, float)
        self.y_ = np.asarray(iso.y_thresholds_, float)
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        if not hasattr(self, "x_"):
            raise NotFittedError("IsotonicCalibrator is not fitted; call fit(margin, y) first.")
        return np.interp(np.asarray(margin, float), self.x_, self.y_)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "x": self.x_.tolist(), "y": self.y_.tolist()}


class PlattCalibrator:
    """Logistic (sigmoid) calibration of the margin: ``p = sigmoid(a * margin + b)``."""

    kind = "sigmoid"

    def fit(self, margin: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(np.asarray(margin, float).reshape(-1, 1), np.asarray(y, int))
        self.a_ = float(lr.coef_[0, 0])
        self.b_ = float(lr.intercept_[0])
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        if not hasattr(self, "a_"):
            raise NotFittedError("PlattCalibrator is not fitted; call fit(margin, y) first.")
        return _sigmoid(self.a_ * np.asarray(margin, float) + self.b_)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "a": self.a_, "b": self.b_}


class IdentityCalibrator:
    """No calibration: the booster's own probability."""

    kind = "none"

    def fit(self, margin: np.ndarray, y: np.ndarray) -> IdentityCalibrator:
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        return _sigmoid(np.asarray(margin, float))

    def to_dict(self) -> dict:
        return {"kind": self.kind}


_KINDS = {"isotonic": IsotonicCalibrator, "sigmoid": PlattCalibrator, "none": IdentityCalibrator}


def make_calibrator(kind: str):
    """A new, unfitted calibrator of ``kind`` (``"isotonic"``, ``"sigmoid"`` or ``"none"``).

    Raises
    ------
    ConfigError
        If ``kind`` is not one of them.
    """
    if kind not in _KINDS:
        raise ConfigError(f"`calibration` must be one of {sorted(_KINDS)}; got {kind!r}.")
    return _KINDS[kind]()


def calibrator_from_dict(data: dict):
    """Rebuild a fitted calibrator from :meth:`to_dict` output."""
    cal = make_calibrator(data.get("kind", ""))
    if cal.kind == "isotonic":
        cal.x_, cal.y_ = np.asarray(data["x"], float), np.asarray(data["y"], float)
    elif cal.kind == "sigmoid":
        cal.a_, cal.b_ = float(data["a"]), float(data["b"])
    return cal
