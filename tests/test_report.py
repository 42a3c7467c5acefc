"""The duty report: self-contained HTML with every section, checked in a real headless browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from riskmodel import score
from riskmodel.apps.report import SECTIONS, ReportInputs, expected_workload, write_report
from riskmodel.core.risk.metrics import reliability_table


def _forecasts(ports=("Ngurah Rai", "Soekarno-Hatta", "Batam"), days=30, start="2024-01-01"):
    rows = []
    ds = pd.date_range(start, periods=days, freq="D")
    for k, port in enumerate(ports):
        y = 1000.0 / (k + 1) + 50 * np.sin(np.arange(days) / 3)
        rows.append(pd.DataFrame({"unique_id": f"port/{port}", "ds": ds, "y_hat": y, "y_lo_80": y * 0.9, "y_hi_80": y * 1.1,
                                  "y_lo_95": y * 0.8, "y_hi_95": y * 1.2, "model": "ets"}))
    return pd.concat(rows, ignore_index=True)


def test_expected_workload_is_forecast_times_port_referral_rate():
    fc = _forecasts(("A", "B", "C"), days=20)
    scored = pd.DataFrame({
        "entry_port": ["A", "A", "A", "A", "B", "B"],
        "risk_band": ["high", "low", "elevated", "low", "low", "low"],
    })
    w = expected_workload(fc, scored, days=7)
    assert len(w) == 3 * 7 and w["ds"].nunique() == 7
    a = w[w["port"] == "A"].iloc[0]
    assert a["referral_rate"] == pytest.approx(0.5)
    assert a["expected_referrals"] == pytest.approx(0.5 * a["expected_arrivals"])
    assert (w.loc[w["port"] == "B", "expected_referrals"] == 0).all()
    c = w[w["port"] == "C"].iloc[0]
    assert c["referral_rate"] == pytest.approx(2 / 6)  # no scored stays at C: the overall rate


@pytest.fixture(scope="module")
def report_path(tmp_path_factory, fitted):
    model, folder, rows = fitted
    scored = score(rows, model=folder, reasons=3, reasons_min_band="elevated", passthrough=["entry_port"], audit_log=False)
    rel = reliability_table(rows["overstayed"].astype(float).to_numpy(), scored["probability"].to_numpy())
    fairness = pd.DataFrame({
        "attribute": ["sex", "sex", "region", "region"], "group": ["F", "M", "ASEAN", "Oceania"],
        "support": [900, 1100, 700, 300], "referral_rate": [0.04, 0.05, 0.06, 0.03], "fpr": [0.03, 0.04, 0.05, 0.02],
        "fnr": [0.4, 0.3, 0.35, 0.5], "precision": [0.2, 0.25, 0.2, 0.3], "mean_predicted": [0.01] * 4,
        "observed_rate": [0.012] * 4, "enough_support": [True] * 4,
    })
    fc = _forecasts()
    history = fc.assign(ds=fc["ds"] - pd.Timedelta(days=30), y=fc["y_hat"])[["unique_id", "ds", "y"]]
    backtest = pd.DataFrame({"model": ["snaive", "ets"], "mase": [1.0, 0.7], "coverage_95": [0.9, 0.95]})
    nat_fc, nat_history = _nationality_forecasts()
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, ReportInputs(scored=scored, forecasts=fc, history=history, reliability=rel, fairness=fairness,
                                    fairness_bounds={"max_referral_ratio": 3.0, "max_fpr_ratio": 3.0}, backtest=backtest,
                                    workload=expected_workload(fc, scored), facts={"risk model": "overstay-risk v1"},
                                    nationality_forecasts=nat_fc, nationality_history=nat_history))
    return path


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
    assert "Expected workload per port and day" in text and "Ngurah Rai: referrals" in text


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
    for sid in SECTIONS:
        assert f'id="{sid}"' in dom
    shot = tmp_path / "report.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1200,3000", report_path.as_uri()],
                   capture_output=True, timeout=120, check=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a rendered page, not a blank one
