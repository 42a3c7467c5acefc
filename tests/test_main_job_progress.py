"""The main job's progress lines and MLflow's chatter, without running the job."""

from __future__ import annotations

import json
import logging
import os
import time

from riskmodel.apps.pipelines.main_job import MainJobSettings, _mlflow_chatter, _Run


def _run(tmp_path, lines):
    return _Run(out=tmp_path, settings=MainJobSettings(), state={}, progress=lines.append)


def test_a_long_step_beats_with_elapsed_time_then_an_eta_from_its_last_run(tmp_path):
    lines: list[str] = []
    run = _run(tmp_path, lines)
    with run.timed("forecast", "fitting the forecaster", every=0.05):
        time.sleep(0.3)
    assert lines and all(line.startswith("    still fitting the forecaster: ") for line in lines)
    assert not any("left" in line for line in lines)  # no earlier run: no ETA
    recorded = json.loads((tmp_path / "step_seconds.json").read_text(encoding="utf-8"))["forecast"]
    assert recorded >= 0.3
    lines.clear()
    with run.timed("forecast", "fitting the forecaster", every=0.05):
        time.sleep(0.2)
    assert lines and all(f"left by the last run ({recorded:.0f} s)" in line for line in lines)


def test_mlflow_chatter_hidden_then_restored(monkeypatch):
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "DEBUG")
    logger = logging.getLogger("mlflow")
    before = logger.level
    with _mlflow_chatter(verbose=False):
        assert logger.level == logging.WARNING and logging.getLogger("alembic").level == logging.WARNING
        assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"
        assert os.environ["MLFLOW_LOGGING_LEVEL"] == "WARNING"
    assert logger.level == before
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ and os.environ["MLFLOW_LOGGING_LEVEL"] == "DEBUG"
    with _mlflow_chatter(verbose=True):
        assert os.environ["MLFLOW_LOGGING_LEVEL"] == "DEBUG"
