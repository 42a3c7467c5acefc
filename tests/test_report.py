"""The duty report: self-contained HTML with every section, checked in a real headless browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from riskmodel import score
from riskmodel.apps.report import DECISION_SECTIONS, SECTIONS, ReportInputs, write_report
from riskmodel.core.forecasting.trends import monthly_trends
from riskmodel.core.operations import ErrorCorrelation, arrival_range, expected_workload, referral_range, referral_shares

#: The error correlation the report fixture is drawn with (as error_correlation would measure it on a backtest).
CORRELATION = ErrorCorrelation(days={7: 0.4, 30: 0.3}, ports=0.5)
from riskmodel.core.risk.metrics import reliability_table


def _forecasts(ports=("Ngurah Rai", "Soekarno-Hatta", "Batam"), days=30, start="2024-01-01"):
    rows = []
    ds = pd.date_range(start, periods=days, freq="D")
    for k, port in enumerate(ports):
        y = 1000.0 / (k + 1) + 50 * np.sin(np.arange(days) / 3)
        rows.append(pd.DataFrame({"unique_id": f"port/{port}", "ds": ds, "y_hat": y, "y_lo_80": y * 0.9, "y_hi_80": y * 1.1,
                                  "y_lo_95": y * 0.8, "y_hi_95": y * 1.2, "model": "ets"}))
    return pd.concat(rows, ignore_index=True)


def _trend_history() -> pd.DataFrame:
    """Daily arrivals 2018-2023 at three ports with a yearly season; Batam triples from October 2023 (a surge)."""
    ds = pd.date_range("2018-01-01", "2023-12-31", freq="D")
    rng = np.random.default_rng(3)
    season = 1 + 0.3 * np.sin(2 * np.pi * ds.day_of_year.to_numpy() / 365.25)
    month = (ds.year * 12 + ds.month).to_numpy()
    frames = []
    for port, level in (("Ngurah Rai", 300.0), ("Soekarno-Hatta", 150.0), ("Batam", 80.0)):
        # months differ by more than counting noise, as real months do (weather, fares, events)
        noise = rng.lognormal(0.0, 0.08, month.max() + 1)[month]
        lam = level * season * noise * np.where((port == "Batam") & (ds >= "2023-10-01"), 3.0, 1.0)
        frames.append(pd.DataFrame({"unique_id": f"port/{port}", "ds": ds, "y": rng.poisson(lam).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def _accuracy_table() -> pd.DataFrame:
    """As the main job writes it (forecast_backtest*.csv read back): both forecasters' holdout windows."""
    rows = []
    for hierarchy, start, end, cov80, cov95 in (("port", "2023-10-03", "2023-12-31", 0.83, 0.96), ("nationality", "2023-10-03", "2023-12-31", 0.74, 0.91)):
        for model, mase, c80, c95 in (("reconciled", 0.7, cov80, cov95), ("chosen", 0.72, cov80 - 0.01, cov95 - 0.01), ("peer:snaive", 1.0, np.nan, np.nan)):
            rows.append({"hierarchy": hierarchy, "window": "holdout", "window_from": start, "window_to": end, "level": "all", "model": model,
                         "mase": mase, "coverage_80": c80, "coverage_95": c95, "mase_over_snaive": mase})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def report_path(tmp_path_factory, fitted):
    model, folder, rows = fitted
    scored = score(rows, model=folder, reasons=3, reasons_min_band="elevated", passthrough=["entry_port", "nationality", "entry_time"],
                   audit_log=False)
    rel = reliability_table(rows["overstayed"].astype(float).to_numpy(), scored["probability"].to_numpy())
    fairness = pd.DataFrame({
        "attribute": ["sex", "sex", "region", "region"], "group": ["F", "M", "ASEAN", "Oceania"],
        "support": [900, 1100, 700, 300], "referral_rate": [0.04, 0.05, 0.06, 0.03], "fpr": [0.03, 0.04, 0.05, 0.02],
        "fnr": [0.4, 0.3, 0.35, 0.5], "precision": [0.2, 0.25, 0.2, 0.3], "mean_predicted": [0.01] * 4,
        "observed_rate": [0.012] * 4, "enough_support": [True] * 4,
    })
    fc = _forecasts()
    history = fc.assign(ds=fc["ds"] - pd.Timedelta(days=30), y=fc["y_hat"])[["unique_id", "ds", "y"]]
    backtest = _accuracy_table()
    nat_fc, nat_history = _nationality_forecasts()
    path = tmp_path_factory.mktemp("report") / "report.html"
    # as the main job does: the report is drawn from what workload.csv holds
    work = expected_workload(fc, referral_shares(scored))
    work.round(dict.fromkeys(work.select_dtypes("float").columns, 2)).to_csv(path.parent / "workload.csv", index=False)
    workload = pd.read_csv(path.parent / "workload.csv", parse_dates=["ds"])
    # and from what trends.csv holds (arrivals whole, changes to four decimals)
    trends = monthly_trends(_trend_history())
    trends.round({"recent_3m": 0, **dict.fromkeys([c for c in trends.columns if c.startswith(("growth_", "vs_pre"))], 4)}).to_csv(
        path.parent / "trends.csv", index=False)
    trends = pd.read_csv(path.parent / "trends.csv", parse_dates=["last_month"])
    write_report(path, ReportInputs(scored=scored, forecasts=fc, history=history, reliability=rel, fairness=fairness,
                                    fairness_bounds={"max_referral_excess": 4.0, "max_fpr_excess": 4.0, "max_calibration_ratio": 1.41}, backtest=backtest,
                                    workload=workload, facts={"risk model": "overstay-risk v1"}, arrival_correlation=CORRELATION,
                                    nationality_forecasts=nat_fc, nationality_history=nat_history, trends=trends))
    return path


def _section_table(text: str, sid: str, nth: int = 0) -> pd.DataFrame:
    """The ``nth`` table of a section as text cells."""
    section = text[text.index(f'<section id="{sid}">'):]
    section = section[: section.index("</section>")]
    table = section.split("<table>")[nth + 1].split("</table>")[0]
    head = re.findall(r"<th>(.*?)</th>", table)
    rows = [re.findall(r"<td>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>", 1)[1])]
    return pd.DataFrame(rows, columns=head)


def _whole(v: float) -> str:
    return f"{int(round(v)):,}"


def _headline_matches_workload(headline: pd.DataFrame, workload: pd.DataFrame) -> None:
    first = workload["ds"].min()
    for _, row in headline.iterrows():
        w = workload if row["port"] == "All ports" else workload[workload["port"] == row["port"]]
        day, week = w[w["ds"] == first], w[w["ds"] < first + pd.Timedelta(days=7)]
        assert row["tomorrow: arrivals"] == _whole(day["expected_arrivals"].sum())
        assert row["tomorrow: referrals"] == _whole(day["expected_referrals"].sum())
        if row["port"] == "All ports":  # ports combined before the quantiles, not their ends added
            lo, hi = arrival_range(day, CORRELATION)
            assert row["range (80%)"] == f"{_whole(lo)}-{_whole(hi)}"
            lo, hi = referral_range(day, correlation=CORRELATION)
            assert row["referral range"] == f"{lo:,}-{hi:,}"
            lo, hi = referral_range(week, correlation=CORRELATION)
            assert row["7-day referral range"] == f"{lo:,}-{hi:,}"
        else:
            assert row["range (80%)"] == f'{_whole(day["arrivals_lo_80"].sum())}-{_whole(day["arrivals_hi_80"].sum())}'
            lo, hi = arrival_range(week, CORRELATION)  # the week's days combined before the quantiles
            assert row["7-day range"] == f"{_whole(lo)}-{_whole(hi)}"
            assert row["referral range"] == f'{_whole(day["referrals_lo_80"].sum())}-{_whole(day["referrals_hi_80"].sum())}'
        assert row["tomorrow: officers"] == _whole(day["officers"].sum())
        assert row["7 days: arrivals"] == _whole(week["expected_arrivals"].sum())
        assert row["7 days: referrals"] == _whole(week["expected_referrals"].sum())
        assert row["7 days: officer shifts"] == _whole(week["officers"].sum())


def test_headline_numbers_equal_workload_csv(report_path):
    headline = _section_table(report_path.read_text(encoding="utf-8"), "headline")
    workload = pd.read_csv(report_path.parent / "workload.csv", parse_dates=["ds"])
    assert list(headline["port"]) == ["Ngurah Rai", "Soekarno-Hatta", "Batam", "All ports"]  # busiest first
    _headline_matches_workload(headline, workload)
    assert not any("." in v for v in headline.drop(columns="port").to_numpy().ravel())  # whole people


def test_sections_in_decision_order_then_the_appendix(report_path):
    text = report_path.read_text(encoding="utf-8")
    positions = [text.index(f'<section id="{sid}">') for sid in SECTIONS]
    assert positions == sorted(positions)
    assert positions[len(DECISION_SECTIONS) - 1] < text.index('<div id="appendix">') < positions[len(DECISION_SECTIONS)]


def _pct(v: float) -> str:
    return f"{v:+.0%}" if np.isfinite(v) else ""


def _trends_match_csv(text: str, trends: pd.DataFrame) -> None:
    """The trends section's tables: the flagged series, then every port busiest first, as trends.csv holds them."""
    trends = trends.sort_values(["recent_3m", "unique_id"], ascending=[False, True])
    flagged_csv = trends[trends["signal"].isin(["surge", "collapse"])]
    ports_csv = trends[trends["unique_id"].str.startswith("port/")].head(12)  # the busiest twelve
    csvs = [flagged_csv, ports_csv] if len(flagged_csv) else [ports_csv]  # no "Flagged" table when none is
    tables = [_section_table(text, "trends", k) for k in range(len(csvs))]
    assert len(ports_csv) > 0
    for table, csv in zip(tables, csvs, strict=True):
        assert len(table) == len(csv)
        assert list(table["name"]) == [u.split("/", 1)[1] if "/" in u else "All arrivals" for u in csv["unique_id"]]
        assert list(table["arrivals, last 3 months"]) == [_whole(v) for v in csv["recent_3m"]]
        assert list(table["on a year earlier, 3 months"]) == [_pct(v) for v in csv["growth_3m"]]
        assert list(table["on a year earlier, 12 months"]) == [_pct(v) for v in csv["growth_12m"]]
        assert list(table["12 months on before COVID"]) == [_pct(v) for v in csv["vs_pre_break_12m"]]
        assert list(table["months outside the 95% range"]) == [
            f"{a} above, {b} below of {n}" for a, b, n in zip(csv["n_above"], csv["n_below"], csv["n_checked"], strict=True)]


def test_trends_section_lists_the_surges_then_every_port_as_trends_csv_holds_them(report_path):
    text = report_path.read_text(encoding="utf-8")
    trends = pd.read_csv(report_path.parent / "trends.csv")
    _trends_match_csv(text, trends)
    flagged = _section_table(text, "trends", 0).set_index("name")
    assert flagged.loc["Batam", "signal"] == "surge"  # the port that tripled
    assert flagged.loc["Batam", "months outside the 95% range"] == "3 above, 0 below of 3"
    section = text.split('<section id="trends">')[1].split("</section>")[0]
    n = int(trends["signal"].isin(["surge", "collapse"]).sum())
    assert f"<strong>{n}</strong> of 3 ports and markets flagged" in section and "(October to December 2023)" in section


def test_trends_section_none_flagged(tmp_path):
    fc = _forecasts()
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    path = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc))
    assert "none flagged" in path.read_text(encoding="utf-8").split('<section id="trends">')[1].split("</section>")[0]
    calm = pd.DataFrame({"unique_id": ["port/Batam"], "last_month": [pd.Timestamp("2023-12-01")], "recent_3m": [900.0],
                         "growth_3m": [0.4], "growth_12m": [0.25], "vs_pre_break_3m": [-0.1], "vs_pre_break_12m": [np.nan],
                         "n_checked": [3], "n_above": [0], "n_below": [0], "signal": ["within"]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, trends=calm)).read_text(encoding="utf-8")
    assert "<strong>none flagged</strong> among 1 ports and markets" in text
    assert _section_table(text, "trends").iloc[0].tolist() == [
        "port", "Batam", "as forecast", "0 above, 0 below of 3", "900", "+40%", "+25%", ""]


def test_outlook_against_a_year_earlier_and_2019(tmp_path):
    ds = pd.date_range("2024-01-01", periods=90, freq="D")
    fc = pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y_hat": 10.0})
    past = pd.date_range("2018-01-01", "2023-12-31", freq="D")
    history = pd.DataFrame({"unique_id": "port/Batam", "ds": past, "y": np.where(past.year == 2019, 20.0, 5.0)})
    path = write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}),
                                                         forecasts=fc, history=history))
    row = _section_table(path.read_text(encoding="utf-8"), "outlook").iloc[0].tolist()
    assert row == ["Batam", "900", "450", "+100%", "1,800", "-50%"]


def test_outlook_compares_with_2019_itself_for_a_forecast_that_starts_in_late_december(tmp_path):
    # 52 weeks per year back slid 1-2 days a year: for a nightly run whose 90 days start on 30 December 2024 "the same
    # weeks in 2019" were 6 January - 4 April 2020 (the collapse). 2019 days hold 1 arrival a day here and every other
    # year 1,000, so only a sum over 2019 days reads 90 for the 90 days; a year earlier must still be 2023-24's 52 weeks.
    ds = pd.date_range("2024-12-30", periods=90, freq="D")
    fc = pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y_hat": 1.0})
    past = pd.date_range("2018-01-01", "2024-12-29", freq="D")
    history = pd.DataFrame({"unique_id": "port/Batam", "ds": past, "y": np.where(past.year == 2019, 1.0, 1000.0)})
    path = write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}),
                                                         forecasts=fc, history=history))
    row = _section_table(path.read_text(encoding="utf-8"), "outlook").iloc[0].tolist()
    assert row == ["Batam", "90", "90,000", "-100%", "90", "+0%"]


def _section(text: str, sid: str) -> str:
    return text.split(f'<section id="{sid}">')[1].split("</section>")[0]


def test_forecast_accuracy_states_its_window_and_the_charts_how_often_the_intervals_held(report_path):
    text = report_path.read_text(encoding="utf-8")
    accuracy = _section(text, "backtest")
    assert "<h2>Forecast accuracy on the holdout window (it chose and calibrated nothing)</h2>" in accuracy
    assert ("Port forecaster scored on the holdout window 2023-10-03 to 2023-12-31; "
            "nationality forecaster scored on the holdout window 2023-10-03 to 2023-12-31.") in accuracy
    assert "coverage_80, coverage_95: the share of actual arrivals inside the 80% and 95% intervals" in accuracy
    # the served (reconciled) forecast's coverage on that window, under each forecaster's fan charts
    assert ("On the holdout window 2023-10-03 to 2023-12-31 the 80% intervals held 83% and the 95% intervals 96% "
            "of the actual daily counts") in _section(text, "forecasts")
    assert "the 80% intervals held 74% and the 95% intervals 91%" in _section(text, "nationalities")


def test_forecast_accuracy_without_a_window_or_from_selection_windows_says_it_is_optimistic(tmp_path):
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    bare = pd.DataFrame({"level": ["all", "all"], "model": ["snaive", "ets"], "mase": [1.0, 0.7], "coverage_80": [0.8, 0.7], "coverage_95": [0.9, 0.95]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), backtest=bare)).read_text(encoding="utf-8")
    assert "<h2>Forecast accuracy (window not stated)</h2>" in _section(text, "backtest")
    assert "read them as optimistic" in _section(text, "backtest")
    assert "intervals held" not in _section(text, "forecasts")  # no served row, no window: no coverage claimed
    selection = _accuracy_table().assign(window="selection (optimistic)")
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), backtest=selection)).read_text(encoding="utf-8")
    assert "optimistic" in re.search(r"<h2>(.*?)</h2>", _section(text, "backtest")).group(1)
    assert "On the selection windows (optimistic: they chose the model) 2023-10-03 to 2023-12-31" in _section(text, "forecasts")
    old_csv = _accuracy_table().drop(columns=["window_from", "window_to"])  # written before the dates were
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), backtest=old_csv)).read_text(encoding="utf-8")
    assert "Port forecaster scored on the holdout window (dates not given)" in _section(text, "backtest")


def test_outlook_gives_the_80_percent_range_of_the_sums(report_path):
    outlook = _section_table(report_path.read_text(encoding="utf-8"), "outlook").set_index("port")
    fc = _forecasts()
    for port, g in fc.groupby(fc["unique_id"].str.split("/").str[1]):
        rows = pd.DataFrame({"port": port, "ds": g["ds"], "expected_arrivals": g["y_hat"], "arrivals_lo_80": g["y_lo_80"],
                             "arrivals_hi_80": g["y_hi_80"]})
        lo, hi = arrival_range(rows, CORRELATION)  # the horizon's days combined before the quantiles, not their ends added
        assert outlook.loc[port, "range (80%)"] == f"{_whole(lo)}-{_whole(hi)}"
        assert _whole(lo) != _whole(g["y_lo_80"].sum())


def test_the_main_jobs_accuracy_table_names_the_holdout_window_it_was_scored_on():
    from riskmodel.apps.pipelines.main_job import _backtest_table
    from riskmodel.core.forecasting import Forecaster

    ds = pd.date_range("2015-01-01", "2019-12-01", freq="MS")
    df = pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": 100.0 * (i + 1) + 30 * (ds.month == 7) + np.arange(len(ds))})
                    for i in range(3)])
    table = _backtest_table(Forecaster(h=6, models=["snaive", "theta"], n_windows=2, breaks=()).fit(df))
    # the latest 6 months (the holdout window), as the horizon reaches the end of the history
    assert set(table["window"]) == {"holdout"}
    assert set(table["window_from"]) == {"2019-07-01"} and set(table["window_to"]) == {"2019-12-01"}
    short = _backtest_table(Forecaster(h=6, models=["snaive"], n_windows=1, breaks=()).fit(df[df["ds"] >= "2018-07-01"]))
    assert set(short["window"]) == {"selection (optimistic)"}  # 18 months: one window, nothing left to hold out
    assert set(short["window_from"]) == {"2019-07-01"} and set(short["window_to"]) == {"2019-12-01"}


def test_in_country_at_high_risk_by_port_and_nationality(tmp_path):
    scored = pd.DataFrame({"risk_band": ["high", "high", "elevated", "low"], "probability": [0.5, 0.4, 0.1, 0.01],
                           "entry_port": ["Batam", "Juanda", "Batam", "Batam"], "nationality": ["MYS", "MYS", "AUS", "AUS"]})
    path = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts()))
    text = path.read_text(encoding="utf-8")
    assert "<strong>2</strong> people in the country are at high risk and <strong>1</strong> at elevated risk, of 4" in text
    by_port = _section_table(text, "in-country", 0)
    assert by_port.values.tolist() == [["Batam", "1", "1"], ["Juanda", "1", "0"]]
    by_nat = _section_table(text, "in-country", 1)
    assert by_nat.values.tolist() == [["MYS", "2", "0"], ["AUS", "0", "1"]]


def _nationality_forecasts(days=90, start="2024-01-01"):
    """Flat daily forecasts: MYS 10 a day, AUS 4, CHN 7 (+ region and total); a year earlier half as many."""
    ds = pd.date_range(start, periods=days, freq="D")
    rates = {"nationality/MYS": 10.0, "nationality/AUS": 4.0, "nationality/CHN": 7.0, "region/ASEAN": 10.0, "total": 21.0}
    fc = pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y_hat": r, "y_lo_80": r * 0.8, "y_hi_80": r * 1.2,
                                  "y_lo_95": r * 0.6, "y_hi_95": r * 1.4, "model": "lgbm"}) for uid, r in rates.items()], ignore_index=True)
    past = pd.date_range(pd.Timestamp(start) - pd.DateOffset(years=2), pd.Timestamp(start) - pd.Timedelta(days=1), freq="D")
    history = pd.concat([pd.DataFrame({"unique_id": uid, "ds": past, "y": r / 2}) for uid, r in rates.items()], ignore_index=True)
    return fc, history


def test_nationality_outlook_lists_the_largest_first_with_sums_and_change(report_path):
    text = report_path.read_text(encoding="utf-8")
    section = text[text.index('<section id="nationalities">'):]
    section = section[: section.index("</section>")]
    head = re.findall(r"<th>(.*?)</th>", section)
    rows = [re.findall(r"<td>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", section.split("</thead>", 1)[1])]
    table = pd.DataFrame(rows, columns=head)
    for col in head[1:-1]:
        table[col] = table[col].str.replace(",", "").astype(float)
    assert list(table["nationality"]) == ["MYS", "CHN", "AUS"]  # regions and the total are not nationalities
    assert list(table["next 30 days"]) == [300.0, 210.0, 120.0]
    assert list(table["next 90 days"]) == [900.0, 630.0, 360.0]
    assert list(table["same weeks a year earlier"]) == [450.0, 315.0, 180.0]  # 52 weeks back: 90 days even across 29 Feb
    assert list(table["change"]) == ["+100%"] * 3
    assert section.count("data:image/png;base64,") == 1  # the fan charts of the top three


def test_report_is_self_contained_with_every_section(report_path):
    text = report_path.read_text(encoding="utf-8")
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in text
    assert len(re.findall(r'src="data:image/png;base64,', text)) >= 4
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing fetched from elsewhere
    assert "Tomorrow and the next 7 days, per port" in text and '<meta name="viewport"' in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_report_renders_in_a_real_browser(report_path, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; scripts/test installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (scripts/test installs it in CI)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", report_path.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    positions = [dom.index(f'id="{sid}"') for sid in SECTIONS]
    assert positions == sorted(positions)  # the decisions first, the appendix last, as rendered
    headline = _section_table(dom.replace(' class="scroll"', ""), "headline")
    _headline_matches_workload(headline, pd.read_csv(report_path.parent / "workload.csv", parse_dates=["ds"]))
    _trends_match_csv(dom.replace(' class="scroll"', ""), pd.read_csv(report_path.parent / "trends.csv"))
    shot = tmp_path / "report.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1200,3000", report_path.as_uri()],
                   capture_output=True, timeout=120, check=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a rendered page, not a blank one


@pytest.mark.parametrize(
    ("table", "column"),
    [("scored", "risk_band"), ("scored", "probability"), ("forecasts", "y_hat"), ("forecasts", "ds"), ("nationality_forecasts", "unique_id")],
)
def test_a_table_lacking_a_column_the_report_draws_from_is_refused_before_any_output(tmp_path, table, column):
    from riskmodel.core.exceptions import SchemaError

    fc = _forecasts(days=5)
    tables = {
        "scored": pd.DataFrame({"probability": [0.02, 0.4], "risk_band": ["low", "high"]}),
        "forecasts": fc,
        "nationality_forecasts": fc.assign(unique_id=fc["unique_id"].str.replace("port/", "nationality/")),
    }
    tables[table] = tables[table].drop(columns=column)
    with pytest.raises(SchemaError, match=rf"{table} table has 1 problem\(s\):\n- column `{column}`: column is missing"):
        write_report(tmp_path / "report.html", ReportInputs(**tables))
    assert not (tmp_path / "report.html").exists()


def test_year_earlier_sums_only_for_series_whose_history_covers_those_weeks(tmp_path):
    # CHN's history starts in February 2023, inside the weeks a year before the forecast (from 2 January):
    # a sum over part of those weeks read as growth that never happened; the other series reach back
    nat_fc, nat_history = _nationality_forecasts()
    nat_history = nat_history[(nat_history["unique_id"] != "nationality/CHN") | (nat_history["ds"] >= "2023-02-01")]
    ds = pd.date_range("2024-01-01", periods=90, freq="D")
    fc = pd.concat([pd.DataFrame({"unique_id": f"port/{p}", "ds": ds, "y_hat": 10.0}) for p in ("Batam", "Entikong")], ignore_index=True)
    past = pd.date_range("2018-01-01", "2023-12-31", freq="D")
    history = pd.concat([pd.DataFrame({"unique_id": "port/Batam", "ds": past, "y": 5.0}),
                         pd.DataFrame({"unique_id": "port/Entikong", "ds": past[past >= "2023-02-01"], "y": 5.0})], ignore_index=True)
    text = write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}), forecasts=fc,
                                                           history=history, nationality_forecasts=nat_fc, nationality_history=nat_history)
                        ).read_text(encoding="utf-8")
    nats = _section_table(text, "nationalities").set_index("nationality")
    assert nats.loc["MYS", ["same weeks a year earlier", "change"]].tolist() == ["450", "+100%"]
    assert nats.loc["CHN", ["same weeks a year earlier", "change"]].tolist() == ["", ""]
    ports = _section_table(text, "outlook").set_index("port")
    assert ports.loc["Batam", ["same weeks a year earlier", "change on a year earlier"]].tolist() == ["450", "+100%"]
    assert ports.loc["Entikong", ["same weeks a year earlier", "change on a year earlier"]].tolist() == ["", ""]


def test_year_earlier_sums_only_where_the_history_reaches_the_last_of_those_weeks(tmp_path):
    # `riskmodel run --horizon 400`: 52 weeks back from the last forecast day is 36 days after the history ends, so
    # the year-earlier sum covered 364 of 400 days and a series at half the rate read +120% instead of +100% (a flat
    # one +10%; 730 days: +101%). A window the history does not cover to its last day gets no sum, as one it does not
    # reach back to. 364 days is the longest horizon whose year-earlier weeks all lie in the history.
    for days, year_ago, change in ((364, "1,820", "+100%"), (400, "", "")):
        nat_fc, nat_history = _nationality_forecasts(days=days)
        ds = pd.date_range("2024-01-01", periods=days, freq="D")
        fc = pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y_hat": 10.0})
        history = pd.DataFrame({"unique_id": "port/Batam", "ds": pd.date_range("2018-01-01", "2023-12-31", freq="D"), "y": 5.0})
        text = write_report(tmp_path / f"r{days}.html", ReportInputs(
            scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}), forecasts=fc, history=history,
            nationality_forecasts=nat_fc, nationality_history=nat_history)).read_text(encoding="utf-8")
        ports = _section_table(text, "outlook").set_index("port")
        assert ports.loc["Batam", ["same weeks a year earlier", "change on a year earlier"]].tolist() == [year_ago, change], days
        nats = _section_table(text, "nationalities").set_index("nationality")
        assert nats.loc["MYS", ["same weeks a year earlier", "change"]].tolist() == [year_ago, change], days


def test_horizon_labels_match_the_days_the_forecast_holds(tmp_path):
    # the main job's horizon is a setting: with 14 days of forecasts the outlook was titled "the next 90 days" and the
    # nationality table had a "next 30 days" column that summed the same 14 days as its "next 14 days" column
    nat_fc, nat_history = _nationality_forecasts(days=14)
    fc = _forecasts(days=14)
    text = write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}), forecasts=fc,
                                                           nationality_forecasts=nat_fc, nationality_history=nat_history)
                        ).read_text(encoding="utf-8")
    assert "<h2>The next 14 days per port against earlier years</h2>" in _section(text, "outlook")
    assert "90 days" not in _section(text, "outlook")
    nats = _section_table(text, "nationalities")
    assert [c for c in nats.columns if c.startswith("next ")] == ["next 14 days"]
    assert nats.set_index("nationality").loc["MYS", "next 14 days"] == "140"  # 14 days at 10 a day


def test_fairness_section_shows_each_groups_interval_and_whether_it_was_judged(tmp_path):
    """The audit judges a group on its bootstrap interval and does not judge a group too small; the report told
    duty managers so in a note but drew only the point estimates, a group of 40 stays read like one of 6,000,
    and no row said which groups were breaches: the uncertainty the audit computed never reached the page."""
    from riskmodel.core.risk import FairnessConfig, fairness_audit

    rng = np.random.default_rng(0)
    g = np.r_[np.repeat(["big", "large"], 6_000), np.repeat("tiny", 40)]
    p = 1 / (1 + np.exp(-rng.normal(-3.0, 1.0, len(g))))
    y = (rng.random(len(g)) < p).astype(float)
    cfg = FairnessConfig(min_support=500, min_positives=30, min_groups=2)
    table = fairness_audit(pd.DataFrame({"g": g}), y, p, ["g"], cfg).table
    path = write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}),
                                                         forecasts=_forecasts(), fairness=table,
                                                         fairness_bounds={"max_referral_excess": 4.0}))
    shown = _section_table(path.read_text(encoding="utf-8"), "fairness").set_index("group")
    assert shown.loc["tiny", "status"] == "too small" and list(shown.loc[["big", "large"], "status"]) == ["ok", "ok"]
    t = table.set_index("group")
    # every comparison the audit judges, each with its interval: the FNR difference and the precision ratio were
    # left out, so a breach on them read "breach" with no figure to say why
    for name in ("referral_excess", "fpr_excess", "fnr_diff", "precision_ratio", "calibration_ratio"):
        assert name in shown.columns
        for grp in ("big", "large"):
            assert shown.loc[grp, f"{name} interval"] == f"{t.loc[grp, f'{name}_low']:,.3f} to {t.loc[grp, f'{name}_high']:,.3f}"
        assert shown.loc["tiny", f"{name} interval"] == "not judged"


def test_fairness_section_gives_each_group_rate_its_interval_at_the_audits_level(tmp_path):
    """The audit gives each group's referral rate, false-positive rate, miss rate and precision an interval at the
    policy's confidence; the report showed the rates bare and its interval columns without a level (the card says 90%,
    the holdout metrics 95%): a duty manager could not tell a rate of 0.2 on 40 stays from one on 6,000."""
    table = pd.DataFrame({"attribute": ["sex", "sex"], "group": ["F", "M"], "support": [900, 1100],
                          "enough_rows": [True, True], "status": ["ok", "ok"],
                          "referral_rate": [0.2, 0.25], "referral_rate_low": [0.1, 0.2], "referral_rate_high": [0.3, 0.3],
                          "fpr": [0.05, 0.06], "fpr_low": [0.04, 0.05], "fpr_high": [0.07, 0.08],
                          "referral_excess": [0.9, 1.1], "referral_excess_low": [0.7, 0.9], "referral_excess_high": [1.2, 1.4]})
    path = write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}),
                                                         forecasts=_forecasts(), fairness=table, fairness_confidence=0.9))
    shown = _section_table(path.read_text(encoding="utf-8"), "fairness").set_index("group")
    assert shown.loc["F", "referral_rate 90% interval"] == "0.100 to 0.300"
    assert shown.loc["M", "fpr 90% interval"] == "0.050 to 0.080"
    assert shown.loc["M", "referral_excess 90% interval"] == "0.900 to 1.400"


def test_trends_section_flags_a_mixed_series_in_words(tmp_path):
    """Months both above and below the range are flagged (the series left its range) and named in words."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    mixed = pd.DataFrame({"unique_id": ["port/Batam"], "last_month": [pd.Timestamp("2023-12-01")], "recent_3m": [900.0],
                          "growth_3m": [0.4], "growth_12m": [0.25], "vs_pre_break_3m": [-0.1], "vs_pre_break_12m": [np.nan],
                          "n_checked": [3], "n_above": [1], "n_below": [1], "signal": ["mixed"]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), trends=mixed)).read_text(encoding="utf-8")
    assert "<strong>1</strong> of 1 ports and markets flagged" in text
    assert _section_table(text, "trends", 0).iloc[0].tolist()[:4] == ["port", "Batam", "above and below", "1 above, 1 below of 3"]


def test_cautions_come_before_the_numbers_a_duty_manager_acts_on(tmp_path):
    """A forecast that continues a break's level, or a broken feed, was said only in the appendix; the decisions
    above it read as sound. Cautions now open the report, before the headline."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    eve = dt.date(2023, 12, 31)  # made the day before the forecasts' first day: no stale-forecast caution
    plain = write_report(tmp_path / "plain.html", ReportInputs(scored=scored, forecasts=_forecasts()), today=eve).read_text(encoding="utf-8")
    assert 'id="cautions"' not in plain
    line = "the history of 1 series ends inside a structural break. Fix: refit later."
    red = pd.DataFrame({"comparison": ["tonight vs last night"], "column": ["port"], "psi": [2.5], "red_at": [0.25],
                        "vanished": ["port/Batam"], "verdict": ["red"]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), drift=red,
                                                          cautions={"forecaster, ports: history ends inside a break": line})
                        ).read_text(encoding="utf-8")
    cautions = text.split('<section id="cautions">')[1].split("</section>")[0]
    assert text.index('<section id="cautions">') < text.index('<section id="headline">')
    assert "forecaster, ports: history ends inside a break" in cautions and line in cautions
    assert "Tonight's data checks are red" in cautions
    amber = write_report(tmp_path / "a.html", ReportInputs(scored=scored, forecasts=_forecasts(), drift=red.assign(verdict="amber")), today=eve)
    assert 'id="cautions"' not in amber.read_text(encoding="utf-8")


def _workload_rows(port: str, point, lo, hi) -> pd.DataFrame:
    ds = pd.date_range("2024-01-01", periods=7, freq="D")
    return pd.DataFrame({
        "port": port, "ds": ds, "expected_arrivals": point, "arrivals_lo_80": lo, "arrivals_hi_80": hi, "referral_share": 0.05,
        "referral_share_lo_80": 0.04, "referral_share_hi_80": 0.06, "expected_referrals": 2.0, "referrals_lo_80": 1,
        "referrals_hi_80": 4, "officer_hours": 8.0, "officers": 1,
    })


def _forecasts_of(workload: pd.DataFrame) -> pd.DataFrame:
    """The port forecasts a workload was built from (its arrivals and their 80% ends), as the report is given both."""
    return pd.DataFrame({"unique_id": "port/" + workload["port"], "ds": workload["ds"], "y_hat": workload["expected_arrivals"],
                         "y_lo_80": workload["arrivals_lo_80"], "y_hi_80": workload["arrivals_hi_80"], "model": "ets"})


def test_a_range_that_starts_at_the_forecast_says_it_is_no_floor(tmp_path):
    """Docs trial: tomorrow at Ngurah Rai read "40, range 40-56", as if fewer than 40 arrivals could not come. The
    80% interval's lower side had been calibrated to zero width (in the backtest windows behind it, arrivals on those
    days all came in above the forecast; the holdout then had days below it). The report must say so."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    ngurah = _workload_rows("Ngurah Rai", [40.3, 45.5, 40.0, 40.0, 40.0, 40.0, 40.0], [40.3, 45.5, 35.0, 35.0, 35.0, 35.0, 35.0], 56.4)
    batam = _workload_rows("Batam", 15.0, 12.0, 20.0)
    aruk = _workload_rows("Aruk", 0.2, 0.0, 1.4)  # nothing can come in below 0: a range from 0 says nothing false
    # errors moving as one (a correlation of 1): the ranges of the sums are the ends added, as the figures below
    as_one = ErrorCorrelation(days={7: 1.0}, ports=1.0)
    work = pd.concat([ngurah, batam, aruk], ignore_index=True)
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts_of(work), workload=work,
                                                          arrival_correlation=as_one)).read_text(encoding="utf-8")
    headline = _section_table(text, "headline").set_index("port")
    one_sided = headline.loc["Ngurah Rai", "range (80%)"]
    assert one_sided.startswith("40-56") and one_sided != "40-56", one_sided  # marked, not shown as a plain range
    assert headline.loc["Batam", "range (80%)"] == "12-20"
    assert headline.loc["Aruk", "range (80%)"] == "0-1"
    assert headline.loc["All ports", "range (80%)"] == "52-78"  # 52.3 below the 55.5 forecast: an ordinary range
    assert headline.loc["Ngurah Rai", "7-day range"] == "261-395"
    note = _section(text, "headline")
    assert "starts at the forecast" in note and "not a floor" in note
    work = pd.concat([batam, aruk], ignore_index=True)
    plain = write_report(tmp_path / "p.html", ReportInputs(scored=scored, forecasts=_forecasts_of(work), workload=work)).read_text(encoding="utf-8")
    assert "not a floor" not in _section(plain, "headline")


def test_cautions_name_the_series_too_young_to_forecast(tmp_path):
    """A port that just opened is forecast from its leading zeros; its rows' model ends in ' (too young)'
    (Forecaster.young_series_). The report says so first, with the rows' series, for any caller."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    fc = _forecasts(("Ngurah Rai", "Tanjung Benoa", "Batam"))
    young = fc["unique_id"] == "port/Tanjung Benoa"
    fc.loc[young, "model"] = "ets+bottom_up (too young)"
    nat = fc.assign(unique_id=fc["unique_id"].str.replace("port/", "nationality/"), model="ets")
    nat.loc[nat["unique_id"] == "nationality/Batam", "model"] = "theta (too young)"
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, nationality_forecasts=nat)).read_text(encoding="utf-8")
    assert 'id="cautions"' in text and text.index('<section id="cautions">') < text.index('<section id="headline">')
    cautions = text.split('<section id="cautions">')[1].split("</section>")[0]
    assert "too young to forecast" in cautions
    assert "port/Tanjung Benoa" in cautions and "nationality/Batam" in cautions and "port/Ngurah Rai" not in cautions


def test_fairness_section_shows_an_interval_ending_at_inf_as_judged_and_what_was_not(tmp_path):
    """A group without overstays, all referred, breaches on an excess interval ending at inf: the report read it
    "not judged" (and left it out of the bars), and nothing said what the audit did not judge for it."""
    from .test_risk_fairness import all_referred_audit

    table = all_referred_audit().table
    path = write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}),
                                                         forecasts=_forecasts(), fairness=table,
                                                         fairness_bounds={"max_referral_excess": 4.0}))
    shown = _section_table(path.read_text(encoding="utf-8"), "fairness").set_index("group")
    assert shown.loc["C", "status"] == "breach"
    assert shown.loc["C", "referral_excess interval"].endswith(" to inf")
    assert shown.loc["C", "fnr_diff interval"] == "not judged"
    assert shown.loc["C", "not_judged"].startswith("fnr_diff, precision_ratio, calibration_ratio not judged: 0 overstays (need 30)")
def test_trends_section_says_how_many_flags_chance_alone_would_give(tmp_path):
    """Review 11b repro 08: one month of three outside a 95% range flags a series, which chance alone does to
    1 - 0.95^3 = 14.3% of series that did not change; the report said "8 of 73 flagged" with no word of the ~10
    that chance alone gives. Here 20 series with 3 months checked each: 20 x 0.142625 = 2.85, about 3."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    n = 20
    trends = pd.DataFrame({"unique_id": [f"port/P{i:02d}" for i in range(n)], "last_month": pd.Timestamp("2023-12-01"),
                           "recent_3m": np.arange(n, 0, -1) * 100.0, "growth_3m": 0.0, "growth_12m": 0.0,
                           "vs_pre_break_3m": np.nan, "vs_pre_break_12m": np.nan, "n_checked": 3,
                           "n_above": [1] + [0] * (n - 1), "n_below": [0, 1] + [0] * (n - 2),
                           "signal": ["surge", "collapse"] + ["within"] * (n - 2)})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), trends=trends)).read_text(encoding="utf-8")
    section = text.split('<section id="trends">')[1].split("</section>")[0]
    assert "<strong>2</strong> of 20 ports and markets flagged" in section
    assert "Chance alone would flag about <strong>3</strong> of 20" in section
    calm = trends.assign(n_above=0, n_below=0, signal="within")
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), trends=calm)).read_text(encoding="utf-8")
    assert "Chance alone would flag about <strong>3</strong> of 20" in text.split('<section id="trends">')[1]


def test_the_headline_states_the_shift_length_the_officers_were_counted_in(tmp_path):
    """The note said "8-hour shifts" whatever configs/operations.yaml's shift_hours: with 12-hour shifts the officers
    column held a third fewer people than 8-hour rosters need, under a note saying 8 (review13train 07)."""
    from riskmodel.core.operations import OperationsConfig

    fc = _forecasts(days=7)
    shares = pd.DataFrame({"port": "*", "month": range(1, 13), "referral_share": 0.02,  # every port: all ports' share
                           "referral_share_lo_80": 0.018, "referral_share_hi_80": 0.022})
    work = expected_workload(fc, shares, OperationsConfig(shift_hours=12))
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, workload=work)).read_text(encoding="utf-8")
    assert "-hour shifts" not in _section(text, "headline")  # not given: no length is claimed
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, workload=work, shift_hours=12)).read_text(encoding="utf-8")
    assert "in 12-hour shifts" in _section(text, "headline") and "8-hour" not in text


def test_a_horizon_shorter_than_7_days_is_labelled_with_the_days_it_holds(tmp_path):
    """`riskmodel run --horizon 3`: the headline's "7 days" columns summed the 3 days there are (300 arrivals at 100 a
    day) under a 7-day label and the title "Tomorrow and the next 7 days" (review16report 01)."""
    ds = pd.date_range("2024-01-01", periods=3, freq="D")
    fc = pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y_hat": 100.0, "y_lo_80": 90.0, "y_hi_80": 110.0, "model": "x"})
    shares = pd.DataFrame({"port": "*", "month": range(1, 13), "referral_share": 0.02, "referral_share_lo_80": 0.018,
                           "referral_share_hi_80": 0.022})
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, workload=expected_workload(fc, shares))
                        ).read_text(encoding="utf-8")
    headline = _section(text, "headline")
    assert "<h2>Tomorrow and the next 3 days, per port</h2>" in headline
    assert "7 days" not in headline and "7-day" not in headline
    table = _section_table(text, "headline").set_index("port")
    assert table.loc["Batam", "3 days: arrivals"] == "300"  # 3 days at 100
    assert table.loc["Batam", "3 days: referrals"] == "6"  # 300 x a share of 0.02
    one = write_report(tmp_path / "one.html", ReportInputs(scored=scored, forecasts=fc.head(1), workload=expected_workload(fc.head(1), shares))
                       ).read_text(encoding="utf-8")
    assert "<h2>Tomorrow, per port</h2>" in _section(one, "headline")
    assert "days:" not in _section(one, "headline")  # a 1-day sum is tomorrow's column again


def test_ranges_of_sums_in_the_report_are_ranges_of_the_sum_not_the_ends_added(tmp_path):
    """Review16report 02: the 7-day, all-ports and outlook ranges added the daily and ports' 80% ends (6,860-7,140 for 7
    days of 1,000 at 980-1,020), which holds 80% only when every day and port misses by the same amount. At the
    backtest's correlation (0 here) the range of the sum is 7,000 -+ 20 sqrt(7) = 6,947-7,053 for the week and
    2,000 -+ 20 sqrt(2) = 1,972-2,028 for two such ports on one day (within 3: simulated, near-linear on the log scale).
    Without a measured correlation no range of a sum is shown, and the page says why."""
    days = pd.date_range("2024-01-01", periods=7, freq="D")
    fc = pd.concat([pd.DataFrame({"unique_id": f"port/{p}", "ds": days, "y_hat": 1000.0, "y_lo_80": 980.0, "y_hi_80": 1020.0,
                                  "model": "x"}) for p in ("Batam", "Entikong")], ignore_index=True)
    shares = pd.DataFrame({"port": "*", "month": range(1, 13), "referral_share": 0.02, "referral_share_lo_80": 0.018,
                           "referral_share_hi_80": 0.022})
    inputs = ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}), forecasts=fc,
                          workload=expected_workload(fc, shares), arrival_correlation=ErrorCorrelation(days={7: 0.0}, ports=0.0))
    text = write_report(tmp_path / "r.html", inputs).read_text(encoding="utf-8")

    def ends(cell: str) -> tuple[int, int]:
        lo, hi = cell.rstrip(" *").replace(",", "").split("-")
        return int(lo), int(hi)

    headline = _section_table(text, "headline").set_index("port")
    for got, want in ((ends(headline.loc["Batam", "7-day range"]), (6947, 7053)),
                      (ends(headline.loc["All ports", "range (80%)"]), (1972, 2028)),
                      (ends(_section_table(text, "outlook").set_index("port").loc["Batam", "range (80%)"]), (6947, 7053))):
        assert abs(got[0] - want[0]) <= 3 and abs(got[1] - want[1]) <= 3, (got, want)
    assert headline.loc["Batam", "range (80%)"] == "980-1,020"  # one day of one port: its own 80% range
    assert "add the daily" not in _section(text, "headline") and "adds the ends" not in _section(text, "outlook")

    bare = write_report(tmp_path / "b.html", dataclasses.replace(inputs, arrival_correlation=None)).read_text(encoding="utf-8")
    headline = _section_table(bare, "headline").set_index("port")
    assert headline.loc["Batam", "7-day range"] == "" and headline.loc["All ports", "range (80%)"] == ""
    assert headline.loc["Batam", "range (80%)"] == "980-1,020"
    assert "range (80%)" not in _section_table(bare, "outlook").columns
    assert "no error correlation was given" in _section(bare, "headline")


def test_tomorrow_is_only_said_of_the_day_after_the_report_was_made(tmp_path):
    """The headline said "Tomorrow is Monday 01 January 2024" of the first forecast day whatever day the report was made:
    a nightly job run after midnight on its data to yesterday forecasts from today, and a stale extract from days ago
    (review16report 03). The first day is "tomorrow" only when it is; otherwise the page names the date, and a first day
    already begun or past is a caution before the numbers."""
    fc = _forecasts(days=7, start="2024-03-10")
    shares = pd.DataFrame({"port": "*", "month": range(1, 13), "referral_share": 0.02, "referral_share_lo_80": 0.018,
                           "referral_share_hi_80": 0.022})
    inputs = ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}), forecasts=fc,
                          workload=expected_workload(fc, shares))
    on_time = write_report(tmp_path / "a.html", inputs, today=dt.date(2024, 3, 9)).read_text(encoding="utf-8")
    assert "Tomorrow is <strong>Sunday 10 March 2024</strong>" in _section(on_time, "headline")
    assert 'id="cautions"' not in on_time
    stale = write_report(tmp_path / "b.html", inputs, today=dt.date(2024, 3, 12)).read_text(encoding="utf-8")
    assert "Tomorrow is" not in stale
    assert "The first forecast day is <strong>Sunday 10 March 2024</strong>" in _section(stale, "headline")
    cautions = _section(stale, "cautions")
    assert "2 days before this report was made (2024-03-12)" in cautions


def test_a_range_of_a_sum_above_the_forecasts_is_marked_and_explained(tmp_path):
    """The rendered main-job report read "Husein Sastranegara, next 90 days 87, range 140-580": a range of the sum
    that does not hold the sum of the forecasts, unexplained (review16report 02). Each day of 1 expected with the range
    0-3 is log1p-normal with sd 0.541 about log 2 (the ends are its 10% and 90% quantiles), whose mean is 2 x
    exp(0.541^2 / 2) - 1 = 1.32, sd 1.35: 90 independent days sum to 119.5 -+ 1.2816 x 1.35 x sqrt(90) = 103-136
    (within 2: simulated; the 10% of days drawn below 0 are counted as 0). That is the forecast's own skew (the
    backtest's arrivals came in far above these forecasts), so the range stands, marked and explained."""
    days = pd.date_range("2024-01-01", periods=90, freq="D")
    fc = pd.DataFrame({"unique_id": "port/Aruk", "ds": days, "y_hat": 1.0, "y_lo_80": 0.0, "y_hi_80": 3.0, "model": "x"})
    inputs = ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}), forecasts=fc,
                          arrival_correlation=ErrorCorrelation(days={90: 0.0}, ports=0.0))
    text = write_report(tmp_path / "r.html", inputs, today=dt.date(2023, 12, 31)).read_text(encoding="utf-8")
    cell = _section_table(text, "outlook").set_index("port").loc["Aruk", "range (80%)"]
    assert cell.endswith(" †"), cell
    lo, hi = (int(v) for v in cell.removesuffix(" †").replace(",", "").split("-"))
    assert abs(lo - 103) <= 2 and abs(hi - 136) <= 2, cell
    assert "lies above the sum of the forecasts" in _section(text, "outlook")


def test_the_officers_come_first_and_stay_readable_on_a_phone(tmp_path):
    """Rendered at 390 px (review16report 06), the headline showed port, arrivals, range and referrals; the officers a
    duty manager staffs by were the sixth column, off the screen, and the port names scrolled away with the columns;
    ranges broke across lines ("3,812-" over "4,971"). Officers now follow the port, the port column stays put while
    the table scrolls, and no figure is broken across lines."""
    fc = _forecasts(days=7)
    shares = pd.DataFrame({"port": "*", "month": range(1, 13), "referral_share": 0.02, "referral_share_lo_80": 0.018,
                           "referral_share_hi_80": 0.022})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}),
                                                          forecasts=fc, workload=expected_workload(fc, shares)),
                        today=dt.date(2023, 12, 31)).read_text(encoding="utf-8")
    columns = list(_section_table(text, "headline").columns)
    assert columns[:3] == ["port", "tomorrow: officers", "tomorrow: arrivals"], columns
    assert columns[6] == "7 days: officer shifts", columns
    css = text.split("<style>")[1].split("</style>")[0]
    assert "position:sticky" in css and "white-space:nowrap" in css


def test_a_feed_check_shows_its_count_usual_range_and_fix(tmp_path):
    """A feed cut short is red on its row count (riskmodel.core.monitoring.feed): the report's data checks showed the
    comparison, column and verdict only, so the duty manager saw "feed / rows / red" without how many rows came, how
    many usually come or what to check."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    detail = ("32 rows tonight; a Wednesday usually brings 66-132 (...). Fewer: check that every file of the night was "
              "delivered and read to its end")
    drift = pd.DataFrame({"comparison": ["feed", "arrivals vs last 28 days"], "column": ["rows", "visa_type"],
                          "psi": [float("nan"), 0.01], "red_at": [float("nan"), 1.0], "vanished": ["", ""], "appeared": ["", ""],
                          "verdict": ["red", "green"], "count": [32.0, float("nan")], "usual": ["66-132", ""],
                          "detail": [detail, ""]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), drift=drift),
                        today=dt.date(2023, 12, 31)).read_text(encoding="utf-8")
    checks = text.split('<section id="data-checks">')[1].split("</section>")[0]
    assert "66-132" in checks and "every file of the night was delivered" in checks, checks


def test_a_series_too_young_to_forecast_is_marked_in_the_tables_that_give_its_number(tmp_path):
    """The cautions named a port too young to forecast, but the outlook table gave its 30-day sum as a plain number
    beside the others' (and the nationality table the same): a duty manager reading the table staffed from it."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    fc = _forecasts(("Ngurah Rai", "Tanjung Benoa", "Batam"))
    fc.loc[fc["unique_id"] == "port/Tanjung Benoa", "model"] = "ets+bottom_up (too young)"
    nat = fc.assign(unique_id=fc["unique_id"].str.replace("port/", "nationality/"), model="ets")
    nat.loc[nat["unique_id"] == "nationality/Batam", "model"] = "theta (too young)"
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, nationality_forecasts=nat)).read_text(encoding="utf-8")
    ports = _section_table(text, "outlook")["port"].tolist()
    assert "Tanjung Benoa (too young)" in ports and "Ngurah Rai" in ports and "Batam" in ports, ports
    assert "too young" in _section(text, "outlook").split("</table>")[1]  # the note under the table says what it means
    nationalities = _section_table(text, "nationalities")["nationality"].tolist()
    assert "Batam (too young)" in nationalities and "Tanjung Benoa" in nationalities, nationalities


@pytest.mark.parametrize("table", ["forecasts", "nationality_forecasts", "history", "nationality_history"])
def test_forecasts_or_history_that_are_not_daily_are_refused_naming_the_series_and_the_step(tmp_path, table):
    """Monthly forecasts (a forecaster of the BPS monthly series) were drawn as days: 3 months Jan-Mar 2024 read
    "The next 61 days per port" (300,000 arrivals), against 2 months a year earlier (+50% on a flat series)."""
    from riskmodel.core.exceptions import SchemaError

    fc = _forecasts(days=5)
    tables = {
        "scored": pd.DataFrame({"probability": [0.02], "risk_band": ["low"]}), "forecasts": fc,
        "nationality_forecasts": fc.assign(unique_id=fc["unique_id"].str.replace("port/", "nationality/")),
        "history": pd.DataFrame({"unique_id": "port/Batam", "ds": pd.date_range("2023-01-01", "2023-12-31", freq="D"), "y": 1.0}),
    }
    tables["nationality_history"] = tables["history"].assign(unique_id="nationality/MYS")
    months = pd.date_range("2023-01-01" if "history" in table else "2024-01-01", periods=3, freq="MS")
    uid = "nationality/MYS" if table.startswith("nationality") else "port/Batam"
    column = "y" if "history" in table else "y_hat"
    tables[table] = pd.concat([tables[table][tables[table]["unique_id"] != uid],
                               pd.DataFrame({"unique_id": uid, "ds": months, column: 100_000.0})], ignore_index=True)
    with pytest.raises(SchemaError, match=rf"(?s){table} table has 1 problem.*column `ds`: is not daily.*{uid}: 31 days after 20\d\d-01-01.*Fix: .*daily"):
        write_report(tmp_path / "report.html", ReportInputs(**tables))
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("table", ["forecasts", "nationality_forecasts"])
def test_a_series_without_a_point_forecast_is_refused_not_shown_as_0_arrivals(tmp_path, table):
    """A port whose rows had no point forecast (y_hat missing) read "Aruk: 0" arrivals over the next 30 days in the
    outlook (a sum of nothing), beside the ports that have one; the workload step refuses the same rows."""
    from riskmodel.core.exceptions import SchemaError

    fc = _forecasts(("Batam", "Aruk"), days=5)
    fc.loc[fc["unique_id"] == "port/Aruk", "y_hat"] = np.nan
    tables = {"scored": pd.DataFrame({"probability": [0.02], "risk_band": ["low"]}), "forecasts": _forecasts(("Batam",), days=5)}
    tables[table] = fc.assign(unique_id=fc["unique_id"].str.replace("port/", "nationality/")) if table.startswith("nat") else fc
    uid = "nationality/Aruk" if table.startswith("nat") else "port/Aruk"
    with pytest.raises(SchemaError, match=rf"{table} table has 1 problem.*\n- column `y_hat`: .*missing.*\(5 rows: {uid} 2024-01-01, "
                                          rf"{uid} 2024-01-02, .*\)\. Fix: "):
        write_report(tmp_path / "report.html", ReportInputs(**tables))
    assert not (tmp_path / "report.html").exists()


def test_fan_charts_name_the_port_and_their_axis_in_arrivals_per_day(tmp_path, monkeypatch):
    """The fan charts a duty manager looks at had no axis label (arrivals per day? per month? per counter?) and were
    titled with the raw series id ("port/Ngurah Rai"). Every figure the report saves is looked at as it is saved."""
    import matplotlib.figure

    seen = []
    save = matplotlib.figure.Figure.savefig

    def looked_at(fig, *args, **kwargs):
        seen.extend((ax.get_title(), ax.get_ylabel()) for ax in fig.axes)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", looked_at)
    fc = _forecasts(("Ngurah Rai", "Batam"), days=10)
    nat, _ = _nationality_forecasts(days=10)
    write_report(tmp_path / "r.html", ReportInputs(scored=pd.DataFrame({"risk_band": ["low"], "probability": [0.01]}), forecasts=fc,
                                                   nationality_forecasts=nat), main_ports=("port/Ngurah Rai", "port/Batam"))
    fans = {title: label for title, label in seen if title in {"Ngurah Rai", "Batam", "port/Ngurah Rai", "port/Batam"}}
    assert fans == {"Ngurah Rai": "arrivals per day", "Batam": "arrivals per day"}, seen
    assert ("nationality MYS", "arrivals per day") in seen, seen  # the largest nationality (10 a day) is drawn


def test_a_port_too_young_to_forecast_is_marked_in_the_headline_the_officers_are_staffed_from(tmp_path):
    """The outlook and nationality tables mark a series too young (h20-fc), but the headline, drawn from the workload
    table (no `model` column), gave a new port's officers and arrivals as plain numbers beside the established ports'
    (review20fc 05, left): a new airport opening big is among the ten busiest."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    fc = _forecasts(("Ngurah Rai", "Yogyakarta", "Batam"), days=7)
    fc.loc[fc["unique_id"] == "port/Yogyakarta", "model"] = "ets+bottom_up (too young)"
    shares = pd.DataFrame({"port": "*", "month": range(1, 13), "referral_share": 0.02,
                           "referral_share_lo_80": 0.018, "referral_share_hi_80": 0.022})
    from riskmodel.core.operations import OperationsConfig

    work = expected_workload(fc, shares, OperationsConfig())
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, workload=work, arrival_correlation=CORRELATION),
                        today=dt.date(2023, 12, 31)).read_text(encoding="utf-8")
    assert _section_table(text, "headline")["port"].tolist() == ["Ngurah Rai", "Yogyakarta (too young)", "Batam", "All ports"]
    assert "(too young): the series started too recently" in _section(text, "headline").split("</table>")[1]


def test_a_series_with_no_arrival_on_record_is_named_in_the_cautions_not_only_shown_as_0(tmp_path):
    """A port whose history is all zeros (never an arrival: closed, or a feed that never sent it) is forecast 0 with an
    80% and 95% range of 0-0 (review20fc 07); the report showed "0" and "0-0" as certain, said nowhere."""
    fc = _forecasts(("Batam", "Aruk"), days=7)
    fc.loc[fc["unique_id"] == "port/Aruk", ["y_hat", "y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"]] = 0.0
    past = pd.date_range("2023-01-01", "2023-12-31", freq="D")
    history = pd.concat([pd.DataFrame({"unique_id": "port/Batam", "ds": past, "y": 900.0}),
                         pd.DataFrame({"unique_id": "port/Aruk", "ds": past, "y": 0.0})], ignore_index=True)
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, history=history),
                        today=dt.date(2023, 12, 31)).read_text(encoding="utf-8")
    cautions = _section(text, "cautions")
    assert "No arrival on record" in cautions and "port/Aruk" in cautions and "port/Batam" not in cautions, cautions
    assert "2023-01-01 to 2023-12-31" in cautions and "check that the feed" in cautions, cautions


def test_forecasts_without_an_80_percent_range_are_said_to_have_none_not_shown_as_a_range_at_the_forecast(tmp_path):
    """expected_workload plans on the point forecast when the forecasts carry no y_lo_80/y_hi_80 (its docstring). The
    headline then read "1,000-1,000 *" under a note that the backtest had found arrivals at or above the forecast, and
    "Officers cover the upper end of the range": a range nobody computed, and officers counted with no margin."""
    fc = _forecasts(ports=("Batam",), days=14).drop(columns=["y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"]).assign(y_hat=1000.0)
    shares = pd.DataFrame({"port": "*", "month": range(1, 13), "referral_share": 0.02,
                           "referral_share_lo_80": 0.015, "referral_share_hi_80": 0.025})
    work = expected_workload(fc, shares)
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, workload=work, shift_hours=8,
                                                          arrival_correlation=CORRELATION), today=dt.date(2023, 12, 31)).read_text(encoding="utf-8")
    headline = _section_table(text, "headline").set_index("port")
    assert "range (80%)" not in headline.columns and "7-day range" not in headline.columns, list(headline.columns)
    assert headline.loc["Batam", "tomorrow: arrivals"] == "1,000" and headline.loc["Batam", "7 days: arrivals"] == "7,000"
    note = _section(text, "headline")
    assert "not a floor" not in note and "upper end of the range" not in note
    assert "Officers cover the point forecast" in note
    cautions = _section(text, "cautions")
    assert "The forecasts carry no range" in cautions and "y_lo_80" in cautions
    # with the range, no such caution (the report fixture's forecasts carry it)
    ranged = write_report(tmp_path / "k.html", ReportInputs(scored=scored, forecasts=_forecasts(), workload=expected_workload(_forecasts(), shares)),
                          today=dt.date(2023, 12, 31)).read_text(encoding="utf-8")
    assert "carry no range" not in ranged and "upper end of the range" in _section(ranged, "headline")


def test_nationality_forecasts_of_other_days_than_the_ports_are_said_first_and_their_days_named(tmp_path):
    """The nationality outlook ("next 90 days") named no dates, and the report's check of a forecast that does not start
    tomorrow looked at the port forecasts only: nationality forecasts from a forecaster whose data ended six months
    earlier read as the same coming days as the ports', with no word."""
    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    eve = dt.date(2023, 12, 31)
    old_fc, old_history = _nationality_forecasts(start="2023-07-01")
    text = write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=_forecasts(), nationality_forecasts=old_fc,
                                                          nationality_history=old_history), today=eve).read_text(encoding="utf-8")
    cautions = _section(text, "cautions")
    assert "The nationality forecasts are of other days" in cautions
    assert "start 2023-07-01" in cautions and "the port forecasts 2024-01-01" in cautions
    assert "2023-07-01 to 2023-09-28" in _section(text, "nationalities")
    same_fc, same_history = _nationality_forecasts()
    text = write_report(tmp_path / "s.html", ReportInputs(scored=scored, forecasts=_forecasts(), nationality_forecasts=same_fc,
                                                          nationality_history=same_history), today=eve).read_text(encoding="utf-8")
    assert 'id="cautions"' not in text
    assert "2024-01-01 to 2024-03-30" in _section(text, "nationalities")


@pytest.mark.parametrize("table", ["forecasts", "nationality_forecasts"])
@pytest.mark.parametrize("cut", ["first", "last"])
def test_a_series_forecast_over_fewer_days_than_the_others_is_refused_not_shown_as_0_tomorrow(tmp_path, table, cut):
    """Forecasts of two forecasters put together, Aruk's starting two days after Batam's: the headline read "Aruk:
    0 officers, 0 arrivals" tomorrow and "7 days: 2,500" (5 days of 500 under a 7-day label); the outlook summed 12 of
    its 14 days beside Batam's 14. Each series was daily, so the check of steps let it through."""
    from riskmodel.core.exceptions import SchemaError

    fc = _forecasts(("Batam", "Aruk"), days=14)
    aruk = fc["unique_id"] == "port/Aruk"
    days = fc["ds"] >= "2024-01-03" if cut == "first" else fc["ds"] <= "2024-01-12"
    fc = fc[~aruk | days].reset_index(drop=True)
    tables = {"scored": pd.DataFrame({"probability": [0.02], "risk_band": ["low"]}), "forecasts": _forecasts(("Batam",), days=14)}
    tables[table] = fc.assign(unique_id=fc["unique_id"].str.replace("port/", "nationality/")) if table.startswith("nat") else fc
    uid = "nationality/Aruk" if table.startswith("nat") else "port/Aruk"
    span = "2024-01-03 to 2024-01-14" if cut == "first" else "2024-01-01 to 2024-01-12"
    with pytest.raises(SchemaError, match=rf"(?s){table} table has 1 problem.*column `ds`: .*1 series .*not the days of the others, "
                                          rf"2024-01-01 to 2024-01-14.*{uid}: {span} \(12 days\).*Fix: "):
        write_report(tmp_path / "report.html", ReportInputs(**tables))
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("change", ["other_number", "other_port", "port_missing"])
def test_a_workload_not_built_from_the_forecasts_beside_it_is_refused(tmp_path, change):
    """h24-forecast 6: the headline's officers and arrivals come from the workload, the outlook and fan charts from the
    forecasts. Given a workload of another run (another number, a port the forecasts do not hold, a forecast port with
    no workload), the report staffed from numbers it showed nowhere else. A workload written to 2 decimals (workload.csv)
    is its forecasts' still."""
    from riskmodel.core.exceptions import SchemaError

    scored = pd.DataFrame({"risk_band": ["low"], "probability": [0.01]})
    work = pd.concat([_workload_rows("Batam", 15.0, 12.0, 20.0), _workload_rows("Aruk", 0.2, 0.0, 1.4)], ignore_index=True)
    fc = _forecasts_of(work)
    fc["y_hat"] = fc["y_hat"] + 0.004  # rounded away in workload.csv's 2 decimals
    write_report(tmp_path / "ok.html", ReportInputs(scored=scored, forecasts=fc, workload=work))
    if change == "other_number":
        work.loc[3, "expected_arrivals"] = 150.0
        words, rows = r"0 workload rows with no port forecast, 1 with another number, 0 port forecasts with no workload row", r"1 row: Batam 2024-01-04"
    elif change == "other_port":
        work.loc[work["port"] == "Aruk", "port"] = "Entikong"
        words, rows = r"7 workload rows with no port forecast, 0 with another number, 7 port forecasts with no workload row", r"14 rows: Entikong 2024-01-01"
    else:
        work = work[work["port"] == "Batam"]
        words, rows = r"0 workload rows with no port forecast, 0 with another number, 7 port forecasts with no workload row", r"7 rows: Aruk 2024-01-01"
    with pytest.raises(SchemaError, match=rf"(?s)column `expected_arrivals`: is not the port forecasts' y_hat \({words}\).*{rows}.*Fix: build the workload"):
        write_report(tmp_path / "r.html", ReportInputs(scored=scored, forecasts=fc, workload=work))
    assert not (tmp_path / "r.html").exists()
