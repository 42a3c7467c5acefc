"""Scoring stored forecasts against the actuals (riskmodel.core.monitoring.forecasts), by hand."""

from __future__ import annotations

import json

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


def _collapse_history():
    """Monthly 2019-2023: 1000 + 10 a year outside the COVID break, 0 inside it (2020-04 .. 2022-03).

    Lag-12 differences that stay clear of the break (2020-01..03 on 2019, 2023-04..12 on 2022) are all 10;
    all 48 of them, the collapse included, sum to 30 + 9 * 1000 + 3 * 1010 + 9 * 1030 + 3 * 1040 + 9 * 10 = 24540.
    """
    ds = pd.date_range("2019-01-01", "2023-12-01", freq="MS")
    y = np.where((ds >= "2020-04-01") & (ds <= "2022-03-31"), 0.0, 1000.0 + 10 * (ds.year - 2019))
    history = pd.DataFrame({"unique_id": "port/A", "ds": ds, "y": y})
    months = pd.date_range("2024-01-01", periods=3, freq="MS")
    actuals = pd.DataFrame({"unique_id": "port/A", "ds": months, "y": 1050.0})
    return pd.DataFrame({"unique_id": "port/A", "ds": months, "y_hat": 1070.0}), actuals, history


def test_mase_is_on_the_forecasters_scale_breaks_left_out():
    """The forecaster leaves differences touching a declared break out of its MASE scale (default: COVID); so does the
    monitoring of its forecasts, else the collapse makes the same errors read ~50 times smaller."""
    forecasts, actuals, history = _collapse_history()
    per_series, _ = score_forecasts(forecasts, actuals, history=history, m=12)
    assert per_series["mase"].iloc[0] == pytest.approx(20 / 10)
    per_series, _ = score_forecasts(forecasts, actuals, history=history, m=12, breaks=())
    assert per_series["mase"].iloc[0] == pytest.approx(20 / (24540 / 48))


def _daily():
    """Four weeks of days, each weekday 10 more than a week before: lag-7 differences all 10."""
    ds = pd.date_range("2024-01-01", periods=35, freq="D")
    week = np.array([100.0, 100.0, 100.0, 100.0, 150.0, 300.0, 250.0])
    y = week[ds.day_of_week] + 10 * (np.arange(35) // 7)
    series = pd.DataFrame({"unique_id": "port/A", "ds": ds, "y": y})
    history, actuals = series.iloc[:28], series.iloc[28:]
    return actuals.drop(columns="y").assign(y_hat=actuals["y"] + 20.0), actuals, history


def test_the_season_follows_the_series_frequency():
    """Daily series are scaled by weekly differences (m=7, as the Forecaster does for 'D'), not 12-day ones."""
    forecasts, actuals, history = _daily()
    per_series, _ = score_forecasts(forecasts, actuals, history=history)
    assert per_series["mase"].iloc[0] == pytest.approx(20 / 10)


def test_evaluate_forecasts_says_which_scale_it_used(tmp_path, capsys, monkeypatch):
    from riskmodel.apps.cli import main

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    for name, (forecasts, actuals, history) in (("daily", _daily()), ("monthly", _collapse_history())):
        for frame, what in ((forecasts, "fc"), (actuals, "actuals"), (history, "history")):
            frame.to_csv(tmp_path / f"{name}_{what}.csv", index=False)
    files = [str(tmp_path / f"daily_{w}.csv") for w in ("fc", "actuals")]
    assert main(["evaluate-forecasts", *files, "--history", str(tmp_path / "daily_history.csv"), "--out", str(tmp_path / "d.csv")]) == 0
    out = capsys.readouterr().out
    assert pd.read_csv(tmp_path / "d.csv")["mase"].iloc[0] == pytest.approx(2.0)
    assert "MASE scale: lag-7 differences of --history (daily series)" in out
    assert "leaving out the break 2020-04-01..2022-03-31" in out
    files = [str(tmp_path / f"monthly_{w}.csv") for w in ("fc", "actuals")]
    assert main(["evaluate-forecasts", *files, "--history", str(tmp_path / "monthly_history.csv"), "--out", str(tmp_path / "m.csv")]) == 0
    assert pd.read_csv(tmp_path / "m.csv")["mase"].iloc[0] == pytest.approx(2.0)
    assert main(["evaluate-forecasts", *files, "--history", str(tmp_path / "monthly_history.csv"), "--no-break", "--out", str(tmp_path / "m.csv")]) == 0
    assert pd.read_csv(tmp_path / "m.csv")["mase"].iloc[0] == pytest.approx(20 / (24540 / 48))
    assert "MASE scale: lag-12 differences of --history (monthly series), no break left out" in capsys.readouterr().out


def test_a_series_without_bounds_has_no_coverage_not_a_coverage_of_zero():
    """A series forecast without an interval (a port too new for one: its bounds are missing) was scored as covering
    none of its actuals, so one such port of two read as "the 95% interval held half the time" when every interval
    held. A row without bounds has no interval to hold its actual (as in the forecaster's own backtests); the
    summary says over how many series the coverage was measured."""
    ds = pd.date_range("2023-01-01", periods=3, freq="MS")
    forecasts = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 3, "ds": list(ds) * 2, "y_hat": 10.0,
                              "y_lo_95": [5.0, 5.0, 5.0, np.nan, np.nan, np.nan], "y_hi_95": [15.0, 15.0, 15.0, np.nan, np.nan, np.nan]})
    actuals = forecasts[["unique_id", "ds"]].assign(y=[10.0, 12.0, 20.0, 10.0, 10.0, 10.0])  # a: 2 of 3 inside
    history = pd.DataFrame({"unique_id": ["a"] * 24 + ["b"] * 24, "ds": list(pd.date_range("2021-01-01", periods=24, freq="MS")) * 2,
                            "y": np.arange(48.0)})
    per_series, per_level = score_forecasts(forecasts, actuals, history=history, breaks=())
    cov = per_series.set_index("unique_id")["coverage_95"]
    assert cov["a"] == pytest.approx(2 / 3) and np.isnan(cov["b"])
    row = per_level.set_index("level").loc["all"]
    assert row["coverage_95"] == pytest.approx(2 / 3) and row["n_intervals_95"] == 1


def test_the_mase_scale_compares_the_same_month_a_year_apart_across_a_gap():
    """A history with a month missing was differenced by position: 12 rows back was 13 months back across the gap,
    so the seasonal scale mixed 12- and 13-month differences. On a history rising 10 a month every same-month
    difference is 120; forecasts 60 off are a MASE of 0.5 exactly, gap or no gap."""
    months = pd.date_range("2021-01-01", periods=24, freq="MS")
    history = pd.DataFrame({"unique_id": "a", "ds": months, "y": 100.0 + 10.0 * np.arange(24)})
    ds = pd.date_range("2023-01-01", periods=3, freq="MS")
    actuals = pd.DataFrame({"unique_id": "a", "ds": ds, "y": [340.0, 350.0, 360.0]})
    forecasts = actuals.rename(columns={"y": "y_hat"}).assign(y_hat=lambda d: d["y_hat"] + 60.0)
    for gappy in (history, history.drop(index=[5, 20])):
        per_series, _ = score_forecasts(forecasts, actuals, history=gappy, breaks=())
        assert per_series["mase"].iloc[0] == pytest.approx(0.5, abs=1e-12)


def _bounded() -> pd.DataFrame:
    return _forecast().assign(y_lo_95=[5.0, 15.0, 25.0], y_hi_95=[15.0, 25.0, 35.0])


@pytest.mark.parametrize(("y", "what"), [((12.0, np.nan, 30.0), "has missing values"), ((12.0, -5.0, 30.0), "has negative counts"),
                                         ((12.0, np.inf, 30.0), "has infinite values")])
def test_an_actual_the_series_contract_refuses_is_refused_not_scored(y, what):
    """A blank February (not yet published) was a miss of the 95% interval: coverage 2/3 where both known months fell
    inside it, and the CLI blamed the missing MASE on "no history, or a flat one". -5 arrivals were scored as real."""
    with pytest.raises(SchemaError, match=rf"(?s)actuals.*`y`: {what} \(1 row: port/A @ 2024-02-01\)"):
        score_forecasts(_bounded(), _actuals(y=y), m=1)


def test_an_actual_off_the_period_start_is_refused_not_dropped():
    """Actuals dated at a month's end match no forecast month: all of them read "no forecast period has an actual yet ...
    wait" (they are there), and one of them was dropped without a word (February's 90, far outside the interval:
    coverage 1.0 on the one month left)."""
    ends = _actuals(y=(12.0, 90.0, 30.0)).assign(ds=MONTHS + pd.offsets.MonthEnd(0))
    with pytest.raises(SchemaError, match=r"(?s)actuals.*`ds`: is not at a period start for freq='M'.*port/A @ 2024-01-31"):
        score_forecasts(_bounded(), ends, m=1)
    mixed = _actuals(y=(12.0, 90.0, 30.0))
    mixed.loc[1, "ds"] = pd.Timestamp("2024-02-29")
    with pytest.raises(SchemaError, match=r"(?s)actuals.*`ds`: is not at a period start for freq='M' .*\(1 row: port/A @ 2024-02-29\)\. Fix: date each actual at its forecast period's start"):
        score_forecasts(_bounded(), mixed, m=1)


def test_actuals_with_gaps_or_of_one_month_are_still_scored():
    """The actuals need not be a whole series: a month of one port not yet in, or the first month after the forecast."""
    gappy = _actuals().iloc[[0, 2]]
    per_series, _ = score_forecasts(_bounded(), gappy, m=1)
    assert per_series.loc[0, "n"] == 2 and per_series.loc[0, "coverage_95"] == pytest.approx(1.0)
    one = pd.DataFrame({"unique_id": ["port/A"], "ds": [MONTHS[0]], "y": [12.0]})
    per_series, _ = score_forecasts(_forecast().iloc[[0]], one, m=1)
    assert per_series.loc[0, "n"] == 1 and per_series.loc[0, "bias"] == pytest.approx((10.0 - 12.0) / 12.0)


def test_a_forecast_series_whose_actuals_did_not_come_is_named_not_dropped(tmp_path, capsys, monkeypatch):
    """port/C's actuals never came while port/A's came for the same three months: port/C was left out of every figure and
    the "all" line was over port/A alone, without a word (review18ops 05). The forecast periods that the actuals hold for
    other series but not for this one are counted per series and named; a month no series has an actual for yet is not."""
    from riskmodel.apps.cli import main

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    forecasts = pd.concat([_forecast("port/A"), _forecast("port/C"), _forecast("port/D")], ignore_index=True)
    actuals = pd.concat([_actuals("port/A"), _actuals("port/D").iloc[:1]], ignore_index=True)  # port/D: February and March missing
    per_series, _ = score_forecasts(forecasts, actuals, m=1)
    assert per_series.attrs["missing_actuals"] == {"port/C": 3, "port/D": 2}
    early = score_forecasts(forecasts, _actuals("port/A").iloc[:1], m=1)[0]  # only January is in for anyone
    assert early.attrs["missing_actuals"] == {"port/C": 1, "port/D": 1}
    forecasts.to_csv(tmp_path / "fc.csv", index=False)
    actuals.to_csv(tmp_path / "actuals.csv", index=False)
    assert main(["evaluate-forecasts", str(tmp_path / "fc.csv"), str(tmp_path / "actuals.csv"), "--season", "1"]) == 0
    out = capsys.readouterr().out
    assert "no actual for 5 forecast periods of 2 series" in out and "port/C (3)" in out and "port/D (2)" in out, out


def test_the_missing_actuals_are_logged_with_the_scores(tmp_path):
    """evaluate-forecasts printed the series whose actuals did not come, but the tracking run held only the figures over
    the others: a reader of the monitoring experiment saw a clean "all" line (review18ops 05, left). The run now holds
    the count per series (``monitoring/missing_actuals.json``) and two metrics: the periods and the series missing.
    port/C lacks 3 periods (January-March), port/D 2 (February, March): 5 periods of 2 series, by hand."""
    import mlflow

    from riskmodel.integrations.tracking.forecast import log_forecast_scores

    forecasts = pd.concat([_forecast("port/A"), _forecast("port/C"), _forecast("port/D")], ignore_index=True)
    actuals = pd.concat([_actuals("port/A"), _actuals("port/D").iloc[:1]], ignore_index=True)
    per_series, per_level = score_forecasts(forecasts, actuals, m=1)
    run = mlflow.get_run(log_forecast_scores(per_series, per_level, span=(actuals["ds"].min(), actuals["ds"].max())))
    assert run.data.metrics["missing_actuals.periods"] == 5 and run.data.metrics["missing_actuals.series"] == 2
    logged = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/monitoring/missing_actuals.json")
    assert json.loads(logged) == {"port/C": 3, "port/D": 2}
    whole = score_forecasts(forecasts.loc[forecasts["unique_id"] == "port/A"], _actuals("port/A"), m=1)
    run = mlflow.get_run(log_forecast_scores(*whole, span=(MONTHS[0], MONTHS[2])))
    assert run.data.metrics["missing_actuals.periods"] == 0 and run.data.metrics["missing_actuals.series"] == 0
