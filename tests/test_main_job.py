"""The README's main command, end to end on the embedded MLflow default, run as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from riskmodel.apps.report import SECTIONS
from riskmodel.core.operations import WORKLOAD_COLUMNS

from .conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("main_job")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}  # the embedded default
    env["RISKMODEL_AUDIT_LOG"] = str(cwd / "audit.jsonl")
    # 12,000 travellers (2018-2023) are too few for the shipped fairness policy (500 stays and 30
    # overstays per group, configs/risk.yaml): at this size a data owner's smaller-sample policy is
    # passed explicitly. On the default data (hidden risk) 8,000 were too few for the gate: the first
    # model did not beat its logistic baseline beyond noise (seed 0) or one nationality's referrals
    # were out of proportion (seed 1); at 12,000 the first model is promoted on seeds 0, 1 and 2.
    text = (REPO / "configs" / "risk.yaml").read_text(encoding="utf-8")
    small = text.replace("min_support: 500", "min_support: 100").replace("min_positives: 30", "min_positives: 5")
    small = small.replace("max_calibration_ratio: 1.41", "max_calibration_ratio: 5.0")
    assert small != text
    (cwd / "risk_small.yaml").write_text(small, encoding="utf-8")
    cmd = [sys.executable, "-m", "riskmodel.apps.cli", "run", "--travellers", "12000", "--start", "2018-01-01",
           "--risk-config", str(cwd / "risk_small.yaml")]
    first = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert first.returncode == 0, first.stderr[-3000:]
    second = subprocess.run(cmd + ["--quiet"], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert second.returncode == 0, second.stderr[-3000:]
    return cwd, first, second


def _out(job):
    return job[0] / "riskmodel-output"


def test_champions_in_the_local_store(job):
    cwd, _, _ = job
    from mlflow import MlflowClient

    assert (cwd / "mlflow.db").exists()
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlflow.db'}", registry_uri=f"sqlite:///{cwd / 'mlflow.db'}")
    for name in ("overstay-risk", "arrival-forecast-daily", "arrival-forecast-daily-nationality"):
        assert str(client.get_model_version_by_alias(name, "champion").version) == "1"


def test_everyone_in_the_country_is_scored(job):
    cwd, _, _ = job
    out = cwd / "riskmodel-output"
    stays = pd.read_parquet(out / "data" / "stays.parquet")
    in_country = stays[stays["exit_time"].isna()]
    scores = pd.read_parquet(out / "scores.parquet")
    assert sorted(scores["stay_id"]) == sorted(in_country["stay_id"])
    assert scores["probability"].between(0, 1).all()


def test_forecasts_and_workload_for_90_days(job):
    cwd, _, _ = job
    out = cwd / "riskmodel-output"
    fc = pd.read_parquet(out / "forecasts.parquet")
    ports = fc[fc["unique_id"].str.startswith("port/")]
    assert ports.groupby("unique_id")["ds"].nunique().eq(90).all()
    assert ports["ds"].min() == pd.Timestamp("2024-01-01")
    crossings = pd.read_parquet(out / "data" / "crossings.parquet")
    nat = pd.read_parquet(out / "forecasts_nationality.parquet")
    nationalities = nat[nat["unique_id"].str.startswith("nationality/")]
    assert nationalities.groupby("unique_id")["ds"].nunique().eq(90).all()
    assert nationalities["ds"].min() == pd.Timestamp("2024-01-01")
    seen = set(crossings.loc[crossings["direction"] == "entry", "nationality"].astype(str))
    assert {u.split("/", 1)[1] for u in nationalities["unique_id"].unique()} == seen
    workload = pd.read_csv(out / "workload.csv", parse_dates=["ds"])
    assert tuple(workload.columns) == WORKLOAD_COLUMNS
    assert workload.groupby("port")["ds"].nunique().eq(90).all()  # the whole horizon, not 14 days
    assert set(workload["port"]) == {u.split("/", 1)[1] for u in ports["unique_id"].unique()}
    assert (workload["referrals_lo_80"] <= workload["referrals_hi_80"]).all() and (workload["officers"] >= 1).any()
    drift = pd.read_csv(out / "drift.csv")
    assert set(drift["verdict"]) <= {"green", "amber"}  # a normal night of good synthetic data is never red
    # the night's verdict is in the run's summary, also under --quiet (review18ops 08): a scheduler's log says red
    verdict = "amber" if "amber" in set(drift["verdict"]) else "green"
    for run in job[1:]:
        assert f"data checks: {verdict}" in run.stdout, run.stdout[-2000:]


def test_report_and_progress(job):
    cwd, first, second = job
    html = (cwd / "riskmodel-output" / "report.html").read_text(encoding="utf-8")
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in html
    # said first, before the numbers: the data are synthetic, and "tomorrow" is the day after their end (h21-report)
    cautions = html.split('<section id="cautions">')[1].split("</section>")[0]
    assert "Synthetic data, as of its end" in cautions and "not from real crossings" in cautions, cautions
    for step in range(1, 8):
        assert f"{step}/7 " in first.stderr
    # the fitting slices read labels as known when the test slice begins, and no five-year ITAP stay of
    # 2018-2023 is mature then: the model has never seen that visa type, and scoring says so (nothing else)
    unseen = r"^warning: .*per column: \{'visa_type': \d+\}; .*\n"
    # and the forecasters' interval ends that are only the largest backtest error (h10-intervals: a true caveat of the
    # small synthetic history, said each time a forecast is made from the model)
    largest = r"^warning: some interval ends are the largest backtest error seen, .*\n"
    # and, once for the job (not once per forecaster, in the forecaster's words), that its synthetic data ends before
    # today: the outlook is as of the data's end (h20-fc's StaleForecastWarning)
    stale = r"^warning: the job's data ends 2023-12-31 and its forecasts start 2024-01-01, before today .*\n"
    assert len(re.findall(stale, second.stderr, flags=re.M)) == 1, second.stderr
    left = re.sub(stale, "", re.sub(largest, "", re.sub(unseen, "", second.stderr, flags=re.M), flags=re.M), flags=re.M)
    assert left == "", second.stderr
    # MLflow's own log lines, notices and artifact progress bars are hidden without --verbose
    for chatter in ("INFO mlflow", "Downloading artifacts", "Successfully registered model", "Created version"):
        assert chatter not in first.stderr + first.stdout, first.stderr[-3000:]
    assert "reused: data, risk model, forecaster, nationality forecaster, trend signals" in second.stdout
    # the report's forecast accuracy is the holdout window's (it chose nothing), peers beside it
    for name in ("forecast_backtest.csv", "forecast_backtest_nationality.csv"):
        table = pd.read_csv(cwd / "riskmodel-output" / name)
        assert set(table["window"]) == {"holdout"}, name
        assert {"chosen", "peer:snaive"} <= set(table["model"]), name


def test_long_steps_show_counts_with_an_eta_as_plain_lines_in_a_log(job):
    _, first, _ = job
    log = first.stderr
    assert "\r" not in log and "it/s]" not in log  # no progress bar redrawn into the log
    # the backtest windows of both forecasters and of the monthly trend check, then their final fits
    runs = re.findall(r"forecaster: backtest windows, then the final fit: (\d+)/(\d+) \(\d+%\)(, about .+ left| in .+)$", log, re.M)
    finished = [r for r in runs if r[0] == r[1]]
    assert len(finished) == 4 and all(r[2].startswith(", about") for r in runs if r[0] != r[1])
    assert re.search(r"^\[ *\d+\.\ds\]     risk training stages: done: 5/5 \(100%\) in \d+", log, re.M)
    scores = pd.read_parquet(_out(job) / "scores.parquet")
    assert f"rows scored: {len(scores):,}/{len(scores):,} (100%) in" in log


def test_trends_csv_per_port_and_nationality_and_the_report_section_equal_to_it(job):
    from riskmodel.core.forecasting.trends import MONTHLY_TREND_COLUMNS

    from .test_report import _trends_match_csv

    out = _out(job)
    trends = pd.read_csv(out / "trends.csv")
    assert tuple(trends.columns) == MONTHLY_TREND_COLUMNS
    history = pd.read_parquet(out / "history.parquet")
    nationalities = pd.read_parquet(out / "history_nationality.parquet")
    expected = {u for u in history["unique_id"] if u.startswith("port/") or u == "total"}
    expected |= {u for u in nationalities["unique_id"] if u.startswith("nationality/")}
    assert set(trends["unique_id"]) == expected
    assert (pd.to_datetime(trends["last_month"]) == pd.Timestamp("2023-12-01")).all()  # December is complete
    assert trends["n_checked"].eq(3).all()  # the last three months checked against the forecast made before them
    _trends_match_csv((out / "report.html").read_text(encoding="utf-8"), trends)
