"""Calibration that keeps the ranking: distinct probabilities, and budgets that refer their share."""

from __future__ import annotations

import json

import numpy as np
import pytest

from riskmodel.core.risk.calibration import IsotonicCalibrator, calibrator_from_dict
from riskmodel.core.risk.metrics import expected_calibration_error


def _margins(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Booster-like margins (rounded, so some rows tie as leaf sums do) and outcomes drawn from them."""
    m = np.round(rng.normal(-4.5, 1.3, n), 3)
    y = rng.random(n) < 1 / (1 + np.exp(-(m + 0.4)))
    return m, y


def test_isotonic_keeps_every_distinct_margin_distinct():
    rng = np.random.default_rng(0)
    m, y = _margins(20_000, rng)
    cal = IsotonicCalibrator().fit(m, y)
    p = cal.transform(m)
    # a step function would give a few dozen values here; ranking-preserving gives one per margin
    assert len(np.unique(p)) == len(np.unique(m))
    order = np.argsort(m, kind="stable")
    assert (np.diff(p[order])[np.diff(m[order]) > 0] > 0).all()
    assert np.all(np.diff(cal.x_) > 0) and np.all(np.diff(cal.y_) > 0)
    # and it is still calibrated on rows it did not see
    mt, yt = _margins(200_000, rng)
    assert expected_calibration_error(yt, cal.transform(mt)) < 0.005


@pytest.mark.parametrize("budget", [0.01, 0.02, 0.05])
def test_referral_budget_refers_its_share_of_a_later_period(budget):
    rng = np.random.default_rng(1)
    m_cal, y_cal = _margins(50_000, rng)
    m_new, _ = _margins(200_000, rng)
    cal = IsotonicCalibrator().fit(m_cal, y_cal)
    # the threshold is set on the calibration slice, as RiskModel's bands are, and used on later stays
    threshold = np.quantile(cal.transform(m_cal), 1 - budget)
    share = float((cal.transform(m_new) >= threshold).mean())
    assert 0.9 <= share / budget <= 1.1, share


def test_saved_knots_round_trip_and_old_form_still_loads():
    rng = np.random.default_rng(2)
    m, y = _margins(10_000, rng)
    cal = IsotonicCalibrator().fit(m, y)
    again = calibrator_from_dict(json.loads(json.dumps(cal.to_dict())))
    probe = np.linspace(-12, 4, 1001)  # beyond both end knots too
    np.testing.assert_array_equal(again.transform(probe), cal.transform(probe))
    assert np.all(np.diff(cal.transform(probe)) > 0)
    # a calibrator saved before the tails existed is applied exactly as it was fitted
    old = calibrator_from_dict({"kind": "isotonic", "x": [-5.0, -3.0, -1.0], "y": [0.01, 0.01, 0.2]})
    np.testing.assert_array_equal(old.transform(np.array([-9.0, -4.0, -2.0, 3.0])), [0.01, 0.01, 0.105, 0.2])


def test_fitted_model_gives_as_many_probabilities_as_margins(fitted):
    model, _, test = fitted
    margin = model.predict_margin(test)
    p = model.predict_proba(test)[:, 1]
    assert len(np.unique(p)) == len(np.unique(margin))
