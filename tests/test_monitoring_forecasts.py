"""Scoring stored forecasts against the actuals (riskmodel.core.monitoring.forecasts), by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.exceptions import SchemaError
from riskmodel.core.monitoring.forecasts import score_forecasts

MONTHS = pd.date_range("2024-01-01", periods=3, freq="MS")


def _forecast(uid: str = "port/A", y_hat=(10.0, 20.0, 30.0)) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "ds": MONTHS, "y_hat": list(y_hat)})


def _actuals(uid: str = "port/A", y=(12.0, 18.0, 30.0)) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": uid, "ds": MONTHS, "y": list(y)})


def test_a_period_sent_twice_is_refused_by_name_not_counted_twice():
    """A re-sent extract appended: February twice. forecast() and trends refuse that by name; so does the monitoring."""
    actuals = _actuals()
    twice = pd.concat([actuals, actuals.iloc[[1]]], ignore_index=True)
    with pytest.raises(SchemaError, match=r"(?s)actuals.*`ds`: has duplicate \(unique_id, ds\) pairs \(1 row: port/A @ 2024-02-01\)"):
        score_forecasts(_forecast(), twice, m=1)
    forecast = _forecast()
    with pytest.raises(SchemaError, match=r"(?s)forecasts.*`ds`: has duplicate \(unique_id, ds\) pairs \(1 row: port/A @ 2024-03-01\)"):
        score_forecasts(pd.concat([forecast, forecast.iloc[[2]]], ignore_index=True), actuals, m=1)
