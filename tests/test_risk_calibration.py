"""Calibration that keeps the ranking: distinct probabilities, and budgets that refer their share."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from riskmodel.core.exceptions import ConfigError
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


def _expit(z: float) -> float:
    return 1.0 / (1.0 + np.exp(-z))


def _three_blocks() -> tuple[np.ndarray, np.ndarray]:
    """20 all-negative rows, 30 rows at rate 1/3 (10 positives then 20 negatives: PAV pools them), 15 all-positive rows."""
    bottom = -6.0 + 0.05 * np.arange(20)  # -6.00 .. -5.05, centre -5.525
    middle = -3.0 + 0.05 * np.arange(30)  # -3.00 .. -1.55, centre -2.275
    top = 1.0 + 0.05 * np.arange(15)  # 1.00 .. 1.70, centre 1.35
    margin = np.concatenate([bottom, middle, top])
    y = np.concatenate([np.zeros(20), np.ones(10), np.zeros(20), np.ones(15)])
    return margin, y


def test_a_handful_of_rows_never_gives_certainty():
    margin, y = _three_blocks()
    cal = IsotonicCalibrator().fit(margin, y)
    # each block's rate is its Jeffreys posterior mean (k + 1/2) / (n + 1), not k / n clipped to 1e-6
    np.testing.assert_allclose(cal.x_, [-5.525, -2.275, 1.35], rtol=1e-12)
    np.testing.assert_allclose(cal.y_, [0.5 / 21, 10.5 / 31, 15.5 / 16], rtol=1e-12)
    top, bottom = cal.transform(margin[-15:]), cal.transform(margin[:20])
    # above the top centre only the tail slope (0.001 per unit of margin) moves p: at most 0.35 units here
    assert top.max() <= _expit(np.log(31.0) + 0.001 * 0.35) < 0.9688
    assert bottom.min() >= _expit(np.log(0.5 / 20.5) - 0.001 * 0.475) > 0.0237
    # even far beyond the rows seen, 15 rows do not make a certainty
    assert cal.transform(np.array([10.0]))[0] < 0.97
    assert cal.transform(np.array([-15.0]))[0] > 0.023
    # between the middle and top centres, linear interpolation of the smoothed rates
    p = cal.transform(np.array([(-2.275 + 1.35) / 2]))[0]
    assert p == pytest.approx((10.5 / 31 + 15.5 / 16) / 2, rel=1e-12)


def test_smoothing_that_breaks_the_order_is_pooled_back_into_an_increasing_curve():
    # one negative row alone (Jeffreys 0.5/2 = 0.25) below a block of 20 with one positive (1.5/21 = 1/14):
    # the smoothed rates decrease, so the two blocks are pooled with weights n: (1 * 1/4 + 20 * 1/14) / 21
    margin = np.concatenate([[-5.0], -3.0 + 0.05 * np.arange(20), 1.0 + 0.1 * np.arange(10)])
    y = np.concatenate([[0.0, 1.0], np.zeros(19), np.ones(10)])
    cal = IsotonicCalibrator().fit(margin, y)
    np.testing.assert_allclose(cal.x_, [-55.5 / 21, 1.45], rtol=1e-12)
    np.testing.assert_allclose(cal.y_, [47 / 588, 10.5 / 11], rtol=1e-12)


def test_smoothed_curve_keeps_the_ranking_and_stays_inside_what_the_rows_justify():
    rng = np.random.default_rng(3)
    n = 5_000
    m = np.round(rng.normal(0.0, 3.0, n), 3)  # steep: the lowest rows are all negative, the highest all positive
    y = rng.random(n) < 1 / (1 + np.exp(-m))
    cal = IsotonicCalibrator().fit(m, y)
    assert np.all(np.diff(cal.x_) > 0) and np.all(np.diff(cal.y_) > 0)
    p = cal.transform(m)
    assert len(np.unique(p)) == len(np.unique(m))
    order = np.argsort(m, kind="stable")
    assert (np.diff(p[order])[np.diff(m[order]) > 0] > 0).all()
    # no block holds more than all n rows, so no knot rate is beyond half a row in n + 1
    assert cal.y_[0] >= 0.5 / (n + 1) and cal.y_[-1] <= (n + 0.5) / (n + 1)
    assert p.min() > 0.0 and p.max() < 1.0 and np.round(p, 3).max() < 1.0
    # and it is still calibrated on rows it did not see
    mt = np.round(rng.normal(0.0, 3.0, 200_000), 3)
    yt = rng.random(len(mt)) < 1 / (1 + np.exp(-mt))
    assert expected_calibration_error(yt, cal.transform(mt)) < 0.01


def test_a_calibrator_saved_before_smoothing_applies_and_saves_as_it_was_fitted():
    saved = {"kind": "isotonic", "x": [-5.0, -3.0, -1.0], "y": [1e-6, 0.3, 1 - 1e-6], "tail_slope": 0.001}
    old = calibrator_from_dict(json.loads(json.dumps(saved)))
    got = old.transform(np.array([-4.0, -1.0, 0.0, -6.0]))
    want = [(1e-6 + 0.3) / 2, 1 - 1e-6, _expit(np.log((1 - 1e-6) / 1e-6) + 0.001), _expit(np.log(1e-6 / (1 - 1e-6)) - 0.001)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # its dict is unchanged, so the content hash of a model logged before (score-file resume) is unchanged
    assert old.to_dict() == saved
    margin, y = _three_blocks()
    assert IsotonicCalibrator().fit(margin, y).to_dict()["rates"] == "jeffreys"


def test_a_calibrator_whose_rates_this_version_does_not_know_is_refused():
    with pytest.raises(ConfigError, match="rates"):
        calibrator_from_dict({"kind": "isotonic", "x": [-1.0, 1.0], "y": [0.1, 0.9], "tail_slope": 0.001, "rates": "wilson"})


_KNOTS = {"kind": "isotonic", "x": [-3.0, -1.0], "y": [0.1, 0.4], "tail_slope": 0.001, "rates": "jeffreys"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"y": [0.1, 1.5]}, "y"),  # a probability above 1
        ({"y": [-0.2, 0.4]}, "y"),  # below 0
        ({"y": [0.4, 0.1]}, "y"),  # decreasing: a higher margin, a lower probability
        ({"y": [float("nan"), 0.4]}, "y"),
        ({"x": [-1.0, -3.0]}, "x"),  # knots out of order: np.interp then gives anything
        ({"x": [-3.0, float("inf")]}, "x"),
        ({"x": [-3.0, -1.0, 0.0]}, "y"),  # one margin more than probabilities: `y` lacks one
        ({"x": [], "y": []}, "x"),
        ({"y": "0.1"}, "y"),
        ({"tail_slope": -0.5}, "tail_slope"),  # the tails would run against the ranking
        ({"tail_slope": float("nan")}, "tail_slope"),
    ],
)
def test_saved_knots_that_are_no_calibration_curve_are_refused(change, field):
    """A saved calibrator is read back only if it maps margins to probabilities in [0, 1] that never fall as the margin rises."""
    with pytest.raises(ConfigError, match=rf"isotonic calibrator `{field}` must be"):
        calibrator_from_dict({**_KNOTS, **change})


@pytest.mark.parametrize("change", [{"a": float("nan")}, {"b": float("inf")}])
def test_saved_sigmoid_coefficients_that_are_not_finite_are_refused(change):
    with pytest.raises(ConfigError, match=rf"sigmoid calibrator `{next(iter(change))}` must be a finite number"):
        calibrator_from_dict({"kind": "sigmoid", "a": 0.8, "b": 0.3, **change})


def test_a_model_whose_saved_calibrator_gives_no_probability_is_not_loaded(fitted, tmp_path):
    """RiskModel.load of a folder (no signature required) must not score with a meta.json edited to give p = 1.5."""
    import shutil

    from riskmodel.core.exceptions import ModelLoadError
    from riskmodel.core.risk.model import RiskModel

    _, folder, _ = fitted
    copy = Path(shutil.copytree(folder, tmp_path / "model"))
    meta = json.loads((copy / "meta.json").read_text(encoding="utf-8"))
    meta["calibrator"] = {**_KNOTS, "y": [0.1, 1.5]}
    (copy / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"meta.json` is not the metadata of a RiskModel \(ConfigError: isotonic calibrator `y` must be"):
        RiskModel.load(copy)


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda t: {**t, "high": 1.5}, "above 1: nobody would ever be referred as high"),
        (lambda t: {**t, "high": -0.1}, "below 0: everybody would be"),
        (lambda t: {**t, "high": float("nan")}, "not a number"),
        (lambda t: {**t, "high": "0.3"}, "text"),
        (lambda t: {k: v for k, v in t.items() if k != "high"}, "a band of the model without its threshold"),
        (lambda t: {**t, "urgent": 0.5}, "a threshold of no band of the model"),
        (lambda t: {"high": t["elevated"] / 2, "elevated": t["high"]}, "the tighter band's threshold below the wider band's"),
    ],
)
def test_a_model_whose_saved_band_thresholds_are_no_thresholds_is_not_loaded(fitted, tmp_path, edit, why):
    """RiskModel.load must not refer travellers with thresholds edited into meta.json: each is checked against the bands."""
    import shutil

    from riskmodel.core.exceptions import ModelLoadError
    from riskmodel.core.risk.model import RiskModel

    _, folder, _ = fitted
    copy = Path(shutil.copytree(folder, tmp_path / "model"))
    meta = json.loads((copy / "meta.json").read_text(encoding="utf-8"))
    assert set(meta["thresholds"]) == set(meta["bands"]) == {"high", "elevated"}
    meta["thresholds"] = edit(meta["thresholds"])
    (copy / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"meta.json` is not the metadata of a RiskModel \(ConfigError: band `?thresholds"):
        RiskModel.load(copy)


def test_a_sigmoid_calibrator_never_reverses_the_ranking_of_the_margin():
    """Platt scaling fitted on a slice where the booster ranks backwards (drift) found a negative slope, and the
    "calibrated" probability then fell as the margin rose: the high band referred the rows the booster ranks
    lowest, and a reason (a positive TreeSHAP contribution to the margin) was shown for a traveller whose
    probability that very input lowered. Every calibrator must be non-decreasing in the margin."""
    import warnings

    from riskmodel.core.exceptions import RiskModelWarning
    from riskmodel.core.risk.calibration import PlattCalibrator

    rng = np.random.default_rng(3)
    margin = rng.normal(-3.0, 1.0, 5_000)
    # on this slice the outcome falls as the margin rises: the unconstrained fit's slope is about -1
    y = rng.random(5_000) < 1 / (1 + np.exp(-(-6.0 - margin)))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        cal = PlattCalibrator().fit(margin, y)
    grid = np.linspace(-8.0, 2.0, 101)
    p = cal.transform(grid)
    assert (np.diff(p) >= 0).all(), p[[0, -1]]
    # the margin tells nothing there: every probability is the slice's rate (to 1%), where the reversed curve ran from 0.88 to 0.0004
    assert np.abs(cal.transform(margin) / y.mean() - 1).max() < 0.01
    assert any(issubclass(w.category, RiskModelWarning) and "ranks the calibration rows backwards" in str(w.message) for w in seen)
    # and a saved sigmoid whose slope reverses the ranking is no calibration: refused on load
    with pytest.raises(ConfigError, match=r"sigmoid calibrator `a` must be"):
        calibrator_from_dict({"kind": "sigmoid", "a": -1.0, "b": -6.0})


def test_the_score_drift_reference_is_read_on_rows_the_booster_did_not_learn(fitted):
    """Tonight's score distribution is compared with the model's reference (PSI). Read on the training rows, in-sample
    scores are more spread than any new night's, so a model in steady state already showed a score PSI of about 0.06
    (amber starts at 0.1); the reference is the calibrated scores of the calibration slice, rows the trees never saw."""
    from riskmodel.core.config import load_config
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import training_table
    from riskmodel.core.monitoring.drift import psi
    from riskmodel.core.risk import RiskConfig
    from riskmodel.core.risk.model import time_split

    from .conftest import REPO

    model = fitted[0]
    ref = model.reference_["score"]
    edges, share = np.asarray(ref["edges"]), np.asarray(ref["share"])

    def score_psi(rows) -> float:
        p = model.predict_proba(rows)[:, 1]
        return psi(share, np.bincount(np.searchsorted(edges, p, side="right"), minlength=len(share)))

    # the slices the `fitted` model was trained on (the fixture's own recipe)
    cfg = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    parts = time_split(training_table(make_crossings(6_000, "2017-01-01", "2023-12-31", seed=4).crossings), "entry_time", cfg.model.splits)
    assert score_psi(parts["calib"]) < 1e-6  # the rows the reference was read on
    assert score_psi(parts["train"]) > 10 * score_psi(parts["calib"])  # in-sample scores are another distribution
