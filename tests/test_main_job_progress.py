"""The main job's progress lines and MLflow's chatter, without running the job."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time

import pytest

from riskmodel.apps.pipelines.main_job import MLFLOW_PRINTED, MainJobSettings, _DropLines, _mlflow_chatter, _Run


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


def _logged_model_uri() -> str:
    import mlflow

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):
            return model_input

    with mlflow.start_run():
        return mlflow.pyfunc.log_model(name="echo", python_model=Echo(), pip_requirements=[]).model_uri


@pytest.mark.filterwarnings("ignore:Add type hints to the `predict` method")
def test_mlflow_registration_notices_hidden_unless_verbose(capsys):
    """MLflow prints "Successfully registered model" and "Created version" itself, past its loggers."""
    import mlflow

    uri = _logged_model_uri()
    capsys.readouterr()
    with _mlflow_chatter(verbose=False):
        mlflow.register_model(uri, "echo")
        print("the job's own line", file=sys.stderr)
        print("an unfinished line", end="", file=sys.stderr)
    err = capsys.readouterr().err
    assert "Successfully registered model" not in err and "Created version" not in err, err
    assert err == "the job's own line\nan unfinished line"
    assert sys.stderr is not None and not isinstance(sys.stderr, _DropLines)  # restored
    with _mlflow_chatter(verbose=True):
        mlflow.register_model(uri, "echo")
    assert "Created version '2' of model 'echo'" in capsys.readouterr().err


def test_the_filter_passes_partial_writes_and_carriage_returns_whole_lines():
    out = io.StringIO()
    f = _DropLines(out, MLFLOW_PRINTED)
    for piece in ("Created ver", "sion '3' of model 'x'.\n", "ours\r", "ours, updated\n", "Successfully registered model 'x'.\n", "tail"):
        f.write(piece)
    assert out.getvalue() == "ours\rours, updated\n"
    f.close_over()
    assert out.getvalue() == "ours\rours, updated\ntail"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_passed_line_clears_the_progress_line_it_lands_on():
    out = _Terminal()
    out.write("[  8.8s]     risk training stages: fit: 0/5 (0%)")  # drawn in place, no newline
    f = _DropLines(out, MLFLOW_PRINTED)
    f.write("UserWarning: a library's warning\n")
    assert out.getvalue().endswith("(0%)\r\x1b[KUserWarning: a library's warning\n")
    plain = io.StringIO()
    _DropLines(plain, MLFLOW_PRINTED).write("a line\n")
    assert plain.getvalue() == "a line\n"  # a log file gets no control characters


def test_the_training_line_names_the_first_groups_not_judged_and_counts_the_rest():
    """`riskmodel run` printed every group the audit did not judge in full on the training line (13 notes, 2,500
    characters on the default data): a wall a reader skips, verdict and all. The gate's line already showed three and
    a count; the training line does the same and says where every group is listed. A pass still says what it does not
    cover: no note is dropped without its count."""
    from types import SimpleNamespace

    from riskmodel.apps.pipelines.risk import _holdout_words

    notes = [f"nationality: group G{i}: not judged" for i in range(13)]
    result = SimpleNamespace(metrics={"roc_auc": 0.9, "pr_auc": 0.35, "ece": 0.004},
                             fairness=SimpleNamespace(passed=True, violations=(), notes=tuple(notes)))
    line = _holdout_words(result)
    assert line.startswith("holdout ROC-AUC 0.9000, PR-AUC 0.3500, ECE 0.0040; fairness passed; ")
    assert "13 groups (or pools of groups) not judged in full" in line
    assert all(n in line for n in notes[:3]) and not any(n in line for n in notes[3:])
    assert line.endswith("and 10 more (the model card's Fairness summary lists every one)")
    few = SimpleNamespace(**{**vars(result), "fairness": SimpleNamespace(passed=True, violations=(), notes=(notes[0],))})
    assert _holdout_words(few).endswith("1 group (or pool of groups) not judged in full: " + notes[0])
