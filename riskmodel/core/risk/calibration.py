"""Probability calibration stored as plain numbers (JSON), never as pickled objects.

Both calibrators map the booster's raw margin (log-odds) to a probability and
are fitted on a time slice *later* than the one the booster was trained on, so
they also absorb drift in the base rate between training and use.

* :class:`IsotonicCalibrator`: isotonic regression turned into a strictly
  increasing curve (linear between the centres of its blocks, a tiny log-odds
  slope beyond them), stored as its knots; it keeps the booster's ranking, so
  referring the top 1% of probabilities refers 1% of the rows, not a whole
  isotonic step. Each block's rate is a Jeffreys posterior mean, so a block of a
  few rows never claims a probability of 0 or 1.
* :class:`PlattCalibrator`: ``p = 1 / (1 + exp(-(a * margin + b)))``, stored as
  ``a, b`` with ``a > 0``; keeps the ranking of the margin exactly.
"""

from __future__ import annotations

import warnings

import numpy as np

from riskmodel.core.exceptions import ConfigError, NotFittedError, RiskModelWarning

__all__ = ["IsotonicCalibrator", "PlattCalibrator", "IdentityCalibrator", "make_calibrator", "calibrator_from_dict"]


#: Knot rates stay this far from 0 and 1, so that the log-odds tails of the isotonic calibrator exist.
_EPS = 1e-6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class IsotonicCalibrator:
    """Isotonic regression of the outcome on the margin, made strictly increasing so that it keeps the ranking.

    Plain isotonic regression is a step function: every row of one block gets the
    same probability, so a few dozen distinct probabilities cover thousands of rows
    and "refer the top 1%" refers a whole block, often several times the budget.
    This calibrator keeps the isotonic fit but not its steps:

    1. Pool-adjacent-violators (scikit-learn's ``IsotonicRegression``) on the margin
       gives blocks of rows, block ``i`` with ``k_i`` positives out of ``n_i`` rows.
    2. Each block's rate is the posterior mean under a Jeffreys prior, Beta(1/2, 1/2):
       ``(k_i + 1/2) / (n_i + 1)``, not the observed ``k_i / n_i``. A top block of 15
       rows that all overstayed is evidence of a high rate, not of certainty: the observed
       rate would show every traveller there as p = 1.000 (and a bottom block as 0.000),
       and a single later outcome against it costs the log-loss ~14. The posterior mean
       moves a block by at most half a row, so blocks of thousands of rows keep their
       observed rate to within ``1 / (2 n_i)``. The Jeffreys prior is the usual
       non-informative one for a proportion (it is what the drift measures here use too).
    3. Smoothing can reverse the order of a small block and its neighbour (one negative
       row, 0.5 / 2 = 0.25, below 1 positive in 20, 1.5 / 21 = 0.07), so a second
       isotonic pass over the smoothed rates, weighted by ``n_i``, pools such blocks, and
       blocks whose rates then tie are merged into one (its rows' mean margin, their
       pooled rate): the rates are strictly increasing again.
    4. Each block becomes one knot: the mean margin of its rows and its rate. Between
       knots the probability is interpolated linearly, so it rises strictly with the
       margin and stays within one block's rate of the (smoothed) isotonic fit.
    5. Below the first knot and above the last, the log-odds of the end knot go on
       with a tiny slope (``tail_slope`` per unit of margin, 0.001 by default): a
       monotone tie-break by the raw score that moves no probability by more than a
       fraction of a percent of itself over the margins seen.

    Distinct margins therefore map to distinct probabilities and the ranking of the
    booster is kept exactly, which is what makes a referral budget mean its share.
    (Knot rates are still clipped to ``[1e-6, 1 - 1e-6]``, a no-op unless a block
    holds half a million rows, so that the log-odds tails always exist.)

    The saved form records how its rates were estimated (``"rates": "jeffreys"``).
    A calibrator saved before (no ``rates``: observed rates, clipped) is applied and
    saved again exactly as it was fitted, so a model logged earlier keeps its
    probabilities and its content hash; one saved before the tails existed (no
    ``tail_slope``) is applied as a clipped step-wise interpolation. A ``rates``
    value this version does not know is refused (``ConfigError``).

    Attributes
    ----------
    x_ : ndarray
        Knot margins (strictly increasing).
    y_ : ndarray
        Calibrated probability at each knot (strictly increasing).
    tail_slope_ : float or None
        Log-odds slope beyond the end knots; ``None`` for a calibrator saved in the old form.
    rates_ : str or None
        How the knot rates were estimated: ``"jeffreys"``; ``None`` for a calibrator saved
        before (observed rates).
    """

    kind = "isotonic"

    def __init__(self, *, tail_slope: float = 1e-3):
        self.tail_slope = tail_slope

    def fit(self, margin: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        margin = np.asarray(margin, float)
        fitted = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True).fit_transform(
            margin, np.asarray(y, float)
        )
        # PAV gives equal fitted values within a block and strictly larger ones in the next block
        observed, block = np.unique(fitted, return_inverse=True)
        n = np.bincount(block).astype(float)
        sums = np.bincount(block, weights=margin)
        smoothed = (observed * n + 0.5) / (n + 1)  # Jeffreys posterior mean (k + 1/2) / (n + 1)
        # restore the order smoothing may have broken; blocks whose rates then tie become one
        rates, merged = np.unique(_weighted_isotonic(smoothed, n), return_inverse=True)
        centres = np.bincount(merged, weights=sums) / np.bincount(merged, weights=n)
        self.x_, self.y_ = _strictly_increasing(centres, np.clip(rates, _EPS, 1 - _EPS))
        self.tail_slope_ = float(self.tail_slope)
        self.rates_ = _RATES
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        if not hasattr(self, "x_"):
            raise NotFittedError("IsotonicCalibrator is not fitted; call fit(margin, y) first.")
        m = np.asarray(margin, float)
        if self.tail_slope_ is None:
            return np.interp(m, self.x_, self.y_)
        p = np.interp(m, self.x_, self.y_)
        lo, hi = m < self.x_[0], m > self.x_[-1]
        if lo.any():
            p[lo] = _sigmoid(_logit(self.y_[0]) + self.tail_slope_ * (m[lo] - self.x_[0]))
        if hi.any():
            p[hi] = _sigmoid(_logit(self.y_[-1]) + self.tail_slope_ * (m[hi] - self.x_[-1]))
        return p

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "x": self.x_.tolist(), "y": self.y_.tolist()}
        if self.tail_slope_ is not None:
            out["tail_slope"] = self.tail_slope_
        if getattr(self, "rates_", None) is not None:
            out["rates"] = self.rates_
        return out


#: How :class:`IsotonicCalibrator` estimates its knot rates, written into its saved form.
_RATES = "jeffreys"


def _weighted_isotonic(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence nearest to ``values`` in weighted least squares (pools violators)."""
    from sklearn.isotonic import IsotonicRegression

    index = np.arange(len(values), dtype=float)
    return IsotonicRegression(increasing=True).fit_transform(index, values, sample_weight=weights)


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _strictly_increasing(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots with both coordinates strictly increasing (clipping can tie two end rates; merge those)."""
    keep = np.ones(len(x), bool)
    keep[1:] = (np.diff(y) > 0) & (np.diff(x) > 0)
    return x[keep], y[keep]


#: Smallest log-odds slope per unit of margin a sigmoid calibrator keeps (the isotonic tails' default).
_MIN_SLOPE = 1e-3


class PlattCalibrator:
    """Logistic (sigmoid) calibration of the margin: ``p = sigmoid(a * margin + b)``, with ``a > 0``.

    The slope is kept positive: a calibrator that lowers the probability as the margin rises would
    reverse the booster's ranking (the high band would refer the rows it ranks lowest) and make every
    reason code (a contribution raising the margin) point the wrong way. When the calibration slice's
    outcomes fall as the margin rises, the margin tells nothing there that can be used: the slope is
    set to a tiny ``1e-3`` (a tie-break by the margin, as the isotonic tails are), the intercept to
    the slice's rate, and a :class:`~riskmodel.RiskModelWarning` says so.
    """

    kind = "sigmoid"

    def fit(self, margin: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        m, yy = np.asarray(margin, float), np.asarray(y, int)
        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(m.reshape(-1, 1), yy)
        self.a_ = float(lr.coef_[0, 0])
        self.b_ = float(lr.intercept_[0])
        if not self.a_ > 0:
            warnings.warn(
                f"the booster's margin ranks the calibration rows backwards (sigmoid slope {self.a_:.3g}): the "
                f"calibrator keeps the ranking with slope {_MIN_SLOPE:g} and gives every row about the slice's rate "
                f"({yy.mean():.4g}); the booster does not rank this later slice, so retrain on recent data. Silence with "
                "warnings.filterwarnings('ignore', category=riskmodel.RiskModelWarning).",
                RiskModelWarning,
                stacklevel=2,
            )
            self.a_, self.b_ = _MIN_SLOPE, _intercept(_MIN_SLOPE * m, yy)
        return self

    def transform(self, margin: np.ndarray) -> np.ndarray:
        if not hasattr(self, "a_"):
            raise NotFittedError("PlattCalibrator is not fitted; call fit(margin, y) first.")
        return _sigmoid(self.a_ * np.asarray(margin, float) + self.b_)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "a": self.a_, "b": self.b_}


def _intercept(offset: np.ndarray, y: np.ndarray) -> float:
    """The ``b`` whose ``sigmoid(offset + b)`` predicts as many positives as ``y`` holds (Newton's method)."""
    rate = float(np.clip(y.mean(), 1e-9, 1 - 1e-9))
    b = float(np.log(rate / (1 - rate)) - offset.mean())
    for _ in range(50):
        q = _sigmoid(offset + b)
        step = (y.sum() - q.sum()) / max(float((q * (1 - q)).sum()), 1e-300)
        b += float(np.clip(step, -1.0, 1.0))
        if abs(step) < 1e-12:
            break
    return b


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
    """Rebuild a fitted calibrator from :meth:`to_dict` output.

    Raises
    ------
    ConfigError
        If ``kind`` is unknown, or the numbers are no calibration: isotonic knots whose margins
        ``x`` are not finite and strictly increasing, whose probabilities ``y`` (one per margin)
        are not in [0, 1] or fall as the margin rises, or a tail slope that is negative or not
        finite; sigmoid coefficients that are not finite, or a slope ``a`` not above 0.
    """
    cal = make_calibrator(data.get("kind", ""))
    if cal.kind == "isotonic":
        cal.x_, cal.y_ = _knots(data["x"], data["y"])
        slope = data.get("tail_slope")
        cal.tail_slope_ = None if slope is None else float(slope)
        if cal.tail_slope_ is not None and not (np.isfinite(cal.tail_slope_) and cal.tail_slope_ >= 0):
            raise ConfigError(
                f"isotonic calibrator `tail_slope` must be a finite number >= 0 (a negative one reverses the ranking beyond "
                f"the end knots); got {slope!r}: the saved model is damaged, re-save or re-log it."
            )
        rates = data.get("rates")
        if rates not in (None, _RATES):
            raise ConfigError(
                f"isotonic calibrator `rates` must be {_RATES!r} or absent (saved before smoothing); got {rates!r}: "
                "the model was saved by a newer riskmodel, load it with that version."
            )
        cal.rates_ = rates
    elif cal.kind == "sigmoid":
        cal.a_, cal.b_ = float(data["a"]), float(data["b"])
        for name, value in (("a", cal.a_), ("b", cal.b_)):
            if not np.isfinite(value):
                raise ConfigError(
                    f"sigmoid calibrator `{name}` must be a finite number; got {value!r}: the saved model is damaged, re-save or re-log it."
                )
        if not cal.a_ > 0:
            raise ConfigError(
                f"sigmoid calibrator `a` must be a number > 0 (a slope of 0 or below ties or reverses the ranking of the margin); "
                f"got {cal.a_!r}: the saved model is damaged, re-save or re-log it."
            )
    return cal


def _knots(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Saved isotonic knots as arrays, refused unless they are a calibration curve (see :func:`calibrator_from_dict`)."""
    fix = "the saved model is damaged, re-save or re-log it."
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    if xs.ndim != 1 or len(xs) < 1 or not np.isfinite(xs).all() or (np.diff(xs) <= 0).any():
        raise ConfigError(f"isotonic calibrator `x` must be a non-empty list of finite, strictly increasing margins; got {x!r}: {fix}")
    if ys.shape != xs.shape:
        raise ConfigError(f"isotonic calibrator `y` must be a list of one probability per margin of `x` ({len(xs)}); got {y!r}: {fix}")
    # NaN fails both comparisons; ties are kept (a calibrator saved before the tails existed has steps)
    if not ((ys >= 0) & (ys <= 1)).all() or (np.diff(ys) < 0).any():
        raise ConfigError(f"isotonic calibrator `y` must be probabilities in [0, 1] that never fall as the margin rises; got {y!r}: {fix}")
    return xs, ys
