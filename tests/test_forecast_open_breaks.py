"""A history that ends inside a break: the forecaster says so (BreakWarning, open_breaks_), at fit and at forecast."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodel import BreakWarning, forecast
from riskmodel.core.forecasting import Forecaster

COVID = ("2020-04-01", "2022-03-31")


def _frame(end: str, collapse_from: str | None = "2020-04-01", back_from: str | None = "2022-04-01") -> pd.DataFrame:
    ds = pd.date_range("2016-01-01", end, freq="MS")
    rng = np.random.default_rng(0)
    rows = []
    for uid, level in (("port/A", 5000.0), ("port/B", 800.0)):
        y = level * np.exp(0.2 * np.sin(2 * np.pi * ds.month.to_numpy() / 12) + rng.normal(0, 0.03, len(ds)))
        if collapse_from is not None:
            low = (ds >= collapse_from) & ((ds < back_from) if back_from else True)
            y[low] *= 0.05
        rows.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": np.round(y)}))
    return pd.concat(rows, ignore_index=True)


def _fit(df, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = Forecaster(h=6, models=["snaive", "theta"], n_windows=1, **kw).fit(df)
    return f, [w for w in caught if issubclass(w.category, BreakWarning)]


def test_a_history_ending_inside_the_declared_break_warns_with_the_fix(tmp_path):
    f, caught = _fit(_frame("2021-12-01"), breaks=[COVID])
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "2 series ends inside a structural break" in text and "port/A: history ends 2021-12-01 inside the declared break from 2020-04-01 to 2022-03-31" in text
    assert "Fix: a declared break running past the data" in text and "category=riskmodel.BreakWarning" in text
    assert f.open_breaks_[["unique_id", "kind"]].values.tolist() == [["port/A", "declared"], ["port/B", "declared"]]
    # the saved model keeps the list, and forecasting from it says it again
    loaded = Forecaster.load(f.save(tmp_path / "fc"))
    pd.testing.assert_frame_equal(loaded.open_breaks_, f.open_breaks_)
    with pytest.warns(BreakWarning, match="ends inside a structural break"):
        forecast(6, model=loaded)


def test_a_history_ending_after_the_declared_break_does_not_warn():
    f, caught = _fit(_frame("2022-12-01"), breaks=[COVID])
    assert caught == [] and f.open_breaks_.empty
    with warnings.catch_warnings():
        warnings.simplefilter("error", BreakWarning)
        forecast(6, model=f)


def test_an_undeclared_collapse_at_the_end_is_detected_and_a_recovered_one_is_not():
    _, caught = _fit(_frame("2020-12-01", collapse_from="2020-06-01", back_from=None), breaks=())
    assert len(caught) == 1
    assert "port/A: history ends 2020-12-01 inside the detected break from 2020-06-01 (not recovered)" in str(caught[0].message)
    assert "declare it (Forecaster(breaks=[(start, end)]))" in str(caught[0].message)
    _, caught = _fit(_frame("2021-12-01", collapse_from="2020-06-01", back_from="2021-01-01"), breaks=())
    assert caught == []


def test_a_recovery_still_under_way_after_a_declared_break_is_not_an_open_break():
    """Still below half the pre-break level after the declared end: the break method handles it, no warning."""
    df = _frame("2022-12-01", back_from=None)  # never back, but the declared break ended 2022-03
    _, caught = _fit(df, breaks=[COVID])
    assert caught == []


def test_the_pyfunc_says_a_history_ends_inside_a_break_as_forecast_does():
    """`mlflow models serve` answers through ForecastPyfunc.predict, which said nothing of a history ending inside a
    break (forecast() does): a REST client got the break's level continued, the server's log silent."""
    from riskmodel.integrations.tracking.forecast_pyfunc import ForecastPyfunc

    f, _ = _fit(_frame("2021-12-01"), breaks=[COVID])
    with pytest.warns(BreakWarning, match="port/A: history ends 2021-12-01 inside the declared break"):
        ForecastPyfunc(f).predict(pd.DataFrame({"h": [6]}))
