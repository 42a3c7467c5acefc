"""Conformal interval ends that are only the largest backtest error (too few errors for their level) are named."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import riskmodel
from riskmodel.core.forecasting import Forecaster

DS = pd.date_range("2010-01-01", periods=60, freq="MS")


def _ports(n: int) -> pd.DataFrame:
    """``n`` seasonal monthly series of 1,000-2,000 arrivals (one volume group), noisy, before any break."""
    rng = np.random.default_rng(3)
    season = 1 + 0.2 * np.sin(2 * np.pi * DS.month / 12)
    return pd.concat([
        pd.DataFrame({"unique_id": f"port/P{i}", "ds": DS, "y": np.round((1000 + 100 * i) * season * rng.lognormal(0, 0.1, len(DS)))})
        for i in range(n)
    ], ignore_index=True)


def _fit(n_series: int, n_windows: int) -> tuple[Forecaster, list]:
    f = Forecaster(h=6, models=("snaive",), combine=False, n_windows=n_windows, holdout_windows=0, breaks=(), reconcile=None)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        f.fit(_ports(n_series))
    return f, [w for w in seen if issubclass(w.category, getattr(riskmodel, "IntervalWarning", ()))]


def test_ends_at_the_largest_error_are_listed_and_warned_about(tmp_path):
    # 2 series x 2 windows = 4 errors per step. Step 1 pools steps 1-2: 8 errors per side; step 3
    # pools steps 2-4: 12. An L% end needs ceil((n + 1)(1 - tail)) <= n errors below it, n >= 19 at
    # 80% and n >= 79 at 95%; with fewer, the rank is capped at the largest error: both levels, every step.
    f, seen = _fit(2, 2)
    table = f.largest_error_ends_
    assert list(table.columns) == ["level", "side", "group", "step", "errors"]
    at = table.set_index(["level", "side", "step"])["errors"]
    for level in (80, 95):
        for side in ("lower", "upper"):
            assert at[(level, side, 1)] == 8 and at[(level, side, 3)] == 12 and at[(level, side, 6)] == 8
    assert len(table) == 2 * 2 * 6
    assert len(seen) == 1
    message = str(seen[0].message)
    for part in ("80% interval", "95% interval", "steps 1-6", "8-12 errors", "19 needed", "79 needed", "2 series",
                 "more history", "holdout_windows", "largest_error_ends_"):
        assert part in message, part
    # a saved forecaster keeps the list, and forecasting from it says so again
    loaded = Forecaster.load(f.save(tmp_path / "fc"))
    pd.testing.assert_frame_equal(loaded.largest_error_ends_, table)
    with pytest.warns(riskmodel.IntervalWarning, match="80% interval at steps 1-6"):
        riskmodel.forecast(6, model=loaded)


def test_enough_errors_for_80_percent_are_not_listed_at_80():
    # 10 series x 3 windows = 30 errors per step: at least 60 in every step's neighbourhood, enough at 80%;
    # at 95% steps 1 and 6 (steps 1-2, 5-6: 60 errors) still fall short of 79, steps 2-5 (90) do not.
    f, seen = _fit(10, 3)
    table = f.largest_error_ends_
    assert not (table["level"] == 80).any()
    assert sorted(set(table["step"])) == [1, 6] and set(table["errors"]) == {60} and set(table["level"]) == {95}
    assert len(seen) == 1 and "80% interval" not in str(seen[0].message)


def test_the_model_card_names_the_ends_at_the_largest_error():
    from riskmodel.core.forecasting.config import ForecastConfig
    from riskmodel.integrations.tracking.forecast import forecast_card

    few, _ = _fit(2, 2)
    card = forecast_card(few, ForecastConfig(), {})
    assert "80% interval at steps 1-6 (8-12 errors, 19 needed)" in card and "95% interval at steps 1-6" in card
    assert "n_windows" in card  # the fix
    many, _ = _fit(10, 3)
    card = forecast_card(many, ForecastConfig(), {})
    assert "95% interval at steps 1, 6 (60 errors, 79 needed)" in card and "80% interval at" not in card


def test_fewer_than_five_errors_at_every_step_are_the_largest_error_and_said():
    # A one-month-ahead forecast of one port: three selection windows give three errors at step 1. No step's
    # neighbourhood held the five a quantile was read from, so every end was np.quantile of the three at 97.5%: an
    # interpolation below the largest error (covering less than the n/(n+1) of the largest), listed nowhere and warned
    # of by no one, where 30 errors at a step are both. It is now the largest error, listed and warned.
    from riskmodel.core.forecasting.intervals import calibrate

    e = np.array([0.1, 0.2, 0.3])  # log errors log1p(y) - log1p(forecast), scale 1
    cv = pd.DataFrame({"unique_id": "port/A", "cutoff": DS[:3], "ds": DS[1:4], "step": 1, "y": np.expm1(e), "f": 0.0, "log_scale": 1.0})
    notes: list = []
    q = calibrate(cv, "f", pd.Series({"port/A": 1.0}), 1, (95,), notes=notes)
    assert q[95][0, 1, 0] == pytest.approx(0.3)  # the upper end: the largest error, not the 97.5% interpolation 0.295
    assert q[95][0, 0, 0] == pytest.approx(0.0)  # no forecast was above its actual: the lower side has no width
    assert {(n["side"], n["step"], n["errors"]) for n in notes} == {("lower", 1, 3), ("upper", 1, 3)}
    f = Forecaster(h=1, models=("snaive",), combine=False, breaks=(), reconcile=None)
    with pytest.warns(riskmodel.IntervalWarning, match=r"95% interval at steps 1 \(3 errors, 79 needed\)"):
        f.fit(_ports(1).iloc[:36])


def _beyond(seen) -> list[str]:
    return [str(w.message) for w in seen if issubclass(w.category, riskmodel.IntervalWarning) and "not calibrated" in str(w.message)]


def test_steps_past_the_backtest_horizon_are_said_to_have_no_calibrated_interval(tmp_path):
    """A forecaster backtested at h=6 asked for 9 months: steps 7-9 were never backtested (no error to calibrate their
    intervals on, no accuracy measured); their ends are step 6's grown like sqrt(step). Served without a word, the
    duty manager read a 95% interval there as one that had held 95% of arrivals."""
    f, _ = _fit(10, 3)
    for call in (lambda: riskmodel.forecast(6, model=f), lambda: f.predict(6), lambda: f.predict(3)):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            call()
        assert _beyond(seen) == []
    for call in (lambda: riskmodel.forecast(9, model=f), lambda: f.predict(9)):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            out = call()
        said = _beyond(seen)
        assert len(said) == 1, [str(w.message) for w in seen]
        for part in ("steps 7-9 of 9", "backtested at h=6", "sqrt", "h=9", "IntervalWarning"):
            assert part in said[0], (part, said[0])
        assert out["ds"].nunique() == 9
    # the pyfunc (and so `mlflow models serve`) serves the same call through Forecaster.predict: said there too
    from riskmodel.integrations.tracking.forecast_pyfunc import ForecastPyfunc

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ForecastPyfunc(f).predict(pd.DataFrame({"h": [9]}))
    assert len(_beyond(seen)) == 1


def test_the_pyfunc_says_its_interval_ends_are_the_largest_error_as_forecast_does():
    """`mlflow models serve` answers through ForecastPyfunc.predict, which said nothing of ends that are only the
    largest backtest error (forecast() does): the server's log is where a REST answer's caveats can go."""
    from riskmodel.integrations.tracking.forecast_pyfunc import ForecastPyfunc

    f, _ = _fit(2, 2)
    with pytest.warns(riskmodel.IntervalWarning, match="80% interval at steps 1-6"):
        ForecastPyfunc(f).predict(pd.DataFrame({"h": [6]}))
