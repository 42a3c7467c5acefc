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


def _four_ports():
    """port/A has a history (steps of 2: scale 2 at m=1); port/B none; port/C a closed port's zeros; port/D's actuals are 0."""
    forecasts = pd.concat([_forecast(u) for u in ("port/A", "port/B", "port/C", "port/D")], ignore_index=True)
    actuals = pd.concat([_actuals("port/A"), _actuals("port/B"), _actuals("port/C"), _actuals("port/D", (0.0, 0.0, 0.0))], ignore_index=True)
    before = pd.date_range("2023-10-01", periods=3, freq="MS")
    history = pd.concat([pd.DataFrame({"unique_id": "port/A", "ds": before, "y": [0.0, 2.0, 4.0]}),
                         pd.DataFrame({"unique_id": "port/C", "ds": before, "y": 0.0}),
                         pd.DataFrame({"unique_id": "port/D", "ds": before, "y": [5.0, 7.0, 9.0]})], ignore_index=True)
    return forecasts, actuals, history


def test_a_series_without_a_scale_has_no_mase_and_zero_actuals_no_bias():
    """No history (port/B) or a flat one (port/C) leaves nothing to scale errors by: their MASE is missing, not their
    error in people (scale 1.0); actuals summing to 0 (port/D) leave bias undefined, not (f - y) / 1e-9."""
    per_series, per_level = score_forecasts(*_four_ports()[:2], history=_four_ports()[2], m=1)
    per_series = per_series.set_index("unique_id")
    assert per_series.loc["port/A", "mase"] == pytest.approx((2 + 2 + 0) / 3 / 2)
    assert per_series.loc["port/D", "mase"] == pytest.approx(60 / 3 / 2)
    assert per_series.loc[["port/B", "port/C"], "mase"].isna().all()
    assert per_series.loc["port/D", "bias"] != per_series.loc["port/D", "bias"]  # NaN
    assert per_series.loc["port/A", "bias"] == pytest.approx((60 - 60) / 60)
    everything = per_level.set_index("level").loc["all"]
    assert everything["n_series"] == 4
    assert everything["n_mase"] == 2 and everything["mase"] == pytest.approx((2 / 3 + 10) / 2)
    assert everything["n_bias"] == 3 and everything["bias"] == pytest.approx(0.0)


def test_evaluate_forecasts_names_the_series_without_a_mase_or_a_bias(tmp_path, capsys, monkeypatch):
    from riskmodel.apps.cli import main

    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # scored, not logged: the printed lines are the subject

    forecasts, actuals, history = _four_ports()
    forecasts.to_csv(tmp_path / "fc.csv", index=False)
    actuals.to_csv(tmp_path / "actuals.csv", index=False)
    history.to_csv(tmp_path / "history.csv", index=False)
    assert main(["evaluate-forecasts", str(tmp_path / "fc.csv"), str(tmp_path / "actuals.csv"), "--history", str(tmp_path / "history.csv"),
                 "--season", "1"]) == 0
    out = capsys.readouterr().out
    assert "no MASE for 2 of 4 series" in out and "port/B, port/C" in out
    assert "no bias for 1 of 4 series" in out and "port/D" in out
