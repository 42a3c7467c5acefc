"""Progress people can read: the core's hooks (riskmodel.core.progress) and the CLI's printer of them."""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pandas as pd
import pytest

from riskmodel.apps.cli.progress import Progress, eta_text
from riskmodel.core.forecasting import Forecaster
from riskmodel.core.progress import Stages

RUNS = "forecaster: backtest windows, then the final fit"


def _panel(n=60, k=3):
    ds = pd.date_range("2015-01-01", periods=n, freq="MS")
    rng = np.random.default_rng(0)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": np.round(100 * (i + 1) * rng.lognormal(0, 0.1, n))})
                      for i in range(k)], ignore_index=True)


def test_forecaster_fit_counts_every_backtest_window_then_the_final_fit():
    seen: list[tuple] = []
    f = Forecaster(h=6, models=["snaive", "theta"], n_windows=2, holdout_windows=1, step=3).fit(_panel(), on_progress=lambda *a: seen.append(a))
    windows = f.cv_["cutoff"].nunique()
    assert windows == 3  # one holdout window and two to choose on
    assert seen == [(RUNS, done, windows + 1) for done in range(windows + 2)]


def test_forecaster_count_corrects_its_total_when_fewer_windows_fit_the_history():
    seen: list[tuple] = []
    # 20 months hold fewer than the 6 planned windows of 6 months
    Forecaster(h=6, models=["snaive"], n_windows=5, holdout_windows=1, step=6).fit(_panel(n=20), on_progress=lambda *a: seen.append(a))
    assert seen[0] == (RUNS, 0, 7)  # planned: 1 + 5 windows, then the final fit
    done, total = seen[-1][1:]
    assert done == total < 7  # fewer runs than planned, and the count ends full
    assert all(d <= t for _, d, t in seen) and [d for _, d, _ in seen] == list(range(done + 1))


def test_risk_training_reports_its_stages(small_data):
    from riskmodel.core.features import build_features, label_mature
    from riskmodel.core.risk.config import ModelConfig
    from riskmodel.core.risk.train import train_risk_model

    f = build_features(small_data.crossings)
    f = f[label_mature(f, small_data.as_of)]
    cfg = ModelConfig(target="overstayed", time_column="entry_time", features=("visa_type", "planned_over_max"),
                      categorical=("visa_type",), audit=("sex",), num_boost_round=20)
    seen: list[tuple] = []
    train_risk_model(f, cfg, n_boot=10, on_progress=lambda *a: seen.append(a))
    stages = ["fit", "evaluate", "baselines", "intervals", "fairness audit", "done"]
    assert seen == [(f"risk training stages: {name}", i, 5) for i, name in enumerate(stages)]


def test_stages_skip_forward_and_ignore_unknown_or_repeated_names():
    seen: list[tuple] = []
    stages = Stages(lambda *a: seen.append(a), "work", ["a", "b", "c"])
    stages.done("b")  # "a" was skipped
    stages.done("b")
    stages.done("x")
    stages.done("c")
    assert seen == [("work stages: a", 0, 3), ("work stages: c", 2, 3), ("work stages: done", 3, 3)]


def test_batch_job_reports_rows_to_a_hook_and_draws_no_bar(tmp_path, capsys):
    from riskmodel.integrations.batch.jobs import run_job

    pd.DataFrame({"x": np.arange(25)}).to_parquet(tmp_path / "in.parquet", index=False)
    seen: list[tuple] = []
    run_job(tmp_path / "in.parquet", tmp_path / "out.parquet", lambda c: c, spec={}, chunk_rows=10,
            progress=lambda *a: seen.append(a), description="rows scored")
    assert seen == [("rows scored", 0, 25), ("rows scored", 10, 25), ("rows scored", 20, 25), ("rows scored", 25, 25)]
    assert capsys.readouterr().err == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_printer_in_a_file_writes_plain_lines_with_counts_and_an_eta_at_most_every_so_often():
    out = io.StringIO()
    p = Progress(False, stream=out, every=3600)
    p("3/7 training the arrival forecaster per port")
    for done in range(5):
        p.count(RUNS, done, 4)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert len(lines) == 3  # the step, the first count, the last (the others within the hour are skipped)
    assert re.fullmatch(rf"\[ *\d+\.\ds\]     {RUNS}: 1/4 \(25%\), about \d+ s left", lines[1])
    assert re.fullmatch(rf"\[ *\d+\.\ds\]     {RUNS}: 4/4 \(100%\) in \d+ s", lines[2])
    every = io.StringIO()
    q = Progress(False, stream=every, every=0)
    for done in range(5):
        q.count(RUNS, done, 4)
    assert len(every.getvalue().splitlines()) == 4  # every count after the start


def test_printer_on_a_terminal_updates_one_line_in_place():
    out = _Terminal()
    p = Progress(False, stream=out, tick=0)
    p.count("rows scored", 0, 200)
    p.count("rows scored", 100, 200)
    p("a step line")  # ends the open count line first
    p.count("rows scored", 200, 200)
    text = out.getvalue()
    assert text.count("\r\x1b[K") == 3
    assert re.search(r"rows scored: 100/200 \(50%\)[^\n]*\n\[ *\d+\.\ds\] a step line\n", text)
    assert text.endswith("rows scored: 200/200 (100%) in 0 s\n")


def test_quiet_printer_prints_nothing():
    out = _Terminal()
    with Progress(True, stream=out, tick=0.01) as p:
        p("step")
        p.count("rows scored", 1, 2)
        time.sleep(0.1)
    assert out.getvalue() == ""
    # outside a with block nothing ticks either
    Progress(False, stream=out, tick=0.01)("step")
    time.sleep(0.1)
    assert "since the last line" not in out.getvalue()


def test_on_a_terminal_a_clock_ticks_while_nothing_is_printed_and_gives_way_to_the_next_line():
    out = _Terminal()
    with Progress(False, stream=out, tick=0.02) as p:
        p("1/7 generating synthetic crossings")
        time.sleep(0.3)
        assert re.search(r"\r\x1b\[K\[ *\d+\.\ds\]     \.\.\. 0 s since the last line$", out.getvalue())
        p("2/7 training")
        p.count(RUNS, 0, 4)
        p.count(RUNS, 1, 4)
        time.sleep(0.3)  # the open count is redrawn as time passes
    text = out.getvalue()
    assert "\r\x1b[K[" in text.split("2/7 training")[0][-30:]  # the clock line was erased, not kept
    assert text.count(f"{RUNS}: 1/4 (25%), about") >= 3 and text.endswith("\n")


def test_stages_get_counts_without_an_eta():
    out = io.StringIO()
    p = Progress(False, stream=out, every=0)
    stages = Stages(p.count, "risk training", ["fit", "evaluate"])
    stages.done("fit")
    stages.done("evaluate")
    lines = [line.split("]", 1)[1] for line in out.getvalue().splitlines()]
    assert lines[0] == "     risk training stages: evaluate: 1/2 (50%)"  # no "about ... left": stages differ in length
    assert re.fullmatch(r"     risk training stages: done: 2/2 \(100%\) in \d+ s", lines[1])


@pytest.mark.parametrize(("done", "total", "elapsed", "text"), [
    (1, 4, 30.0, "1/4 (25%), about 1 min 30 s left"),
    (1, 2, 4000.0, "1/2 (50%), about 1 h 07 min left"),
    (0, 0, 1.0, "0"),
    (2_000_000, 2_000_000, 12.4, "2,000,000/2,000,000 (100%) in 12 s"),
])
def test_eta_text(done, total, elapsed, text):
    assert eta_text(done, total, elapsed) == text


def test_score_command_logs_rows_scored_as_plain_lines_not_a_bar(fitted, tmp_path, capsys):
    from riskmodel.apps.cli import main

    _, folder, rows = fitted
    rows.head(120).to_parquet(tmp_path / "stays.parquet", index=False)
    assert main(["score", str(tmp_path / "stays.parquet"), str(tmp_path / "scores.parquet"), "--model", str(folder), "--chunk-rows", "50"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s" not in err  # captured stderr is no terminal: no bar redrawn
    assert re.search(r"^\[ *\d+\.\ds\]     rows scored: 120/120 \(100%\) in \d+ s$", err, re.M), err


def test_the_champions_refit_for_the_gate_reports_its_runs_too():
    from riskmodel.core.forecasting.gate import champion_on_same_window

    settings = dict(h=6, models=["snaive", "theta"], n_windows=2, holdout_windows=1, step=3)
    champion, challenger = Forecaster(**settings).fit(_panel()), Forecaster(**settings).fit(_panel(k=2))
    seen: list[tuple] = []
    champion_on_same_window(champion, challenger, on_progress=lambda *a: seen.append(a))
    assert seen and seen[0][1] == 0 and seen[-1][1] == seen[-1][2] == 4


def test_forecast_fitted_on_a_history_reports_its_runs():
    from riskmodel.core.forecasting import forecast

    seen: list[tuple] = []
    forecast(6, history=_panel(), on_progress=lambda *a: seen.append(a))
    assert seen and seen[0] == (RUNS, 0, seen[0][2]) and seen[-1][1] == seen[-1][2] > 1


def test_trends_backcast_reports_its_forecasters_runs():
    from riskmodel.core.forecasting.trends import travel_trends

    seen: list[tuple] = []
    travel_trends(_panel(), backcast=3, breaks=(), on_progress=lambda *a: seen.append(a))
    assert seen and seen[0][0] == RUNS and seen[0][1] == 0 and seen[-1][1] == seen[-1][2] > 1


def test_forecast_and_trends_commands_log_the_forecasters_runs(tmp_path, capsys):
    from riskmodel.apps.cli import main

    _panel().to_csv(tmp_path / "history.csv", index=False)
    assert main(["forecast", "--horizon", "6", "--history", str(tmp_path / "history.csv"), "--out", str(tmp_path / "fc.csv")]) == 0
    assert re.search(rf"^\[ *\d+\.\ds\]     {RUNS}: (\d+)/\1 \(100%\) in \d+ s$", capsys.readouterr().err, re.M)
    assert main(["trends", str(tmp_path / "history.csv"), "--backcast", "3", "--no-break"]) == 0
    captured = capsys.readouterr()
    assert re.search(rf"^\[ *\d+\.\ds\]     {RUNS}: (\d+)/\1 \(100%\) in \d+ s$", captured.err, re.M)
    assert RUNS not in captured.out  # the table alone on stdout
    assert main(["trends", str(tmp_path / "history.csv"), "--backcast", "3", "--no-break", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
