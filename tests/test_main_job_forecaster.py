"""The main job's forecaster step: the report's history and backtest are always the champion's.

A challenger refused by its gate must not leave its own accuracy table and history in the
output folder, where the duty report reads them while forecasts come from the champion.
Real MLflow (the test's local sqlite store), real forecasters, small synthetic monthly data.
"""

from __future__ import annotations

import dataclasses
import numpy as np
import pandas as pd
import pytest

from riskmodel.apps.pipelines.main_job import MainJobSettings, _forecaster_step, _gated_champion, _open_break_facts, _Run, _served_forecasts
from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import GateRefusedError, ModelLoadError

#: A gate every sane forecaster passes, and one no forecaster can pass (MASE must be <= 0).
OPEN_GATE = ("max_mase: 100.0\n  mase_tolerance: 0.99\n  beat_best_peer: false\n  min_coverage_95: 0.0\n  max_coverage_95: 1.0\n"
             "  max_level_mase_over_snaive: null")
SHUT_GATE = "max_mase: 0.0\n  mase_tolerance: 0.0\n  beat_best_peer: false\n  min_coverage_95: 0.0\n  max_coverage_95: 1.0"


def _config(path, levels: str, models: str, gate: str, breaks: str = '[["2020-04-01", "2022-03-31"]]'):
    path.write_text(
        f"""series:
  freq: M
  levels: {levels}
forecaster:
  h: 6
  models: {models}
  n_windows: 2
  step: 6
  breaks: {breaks}
  n_jobs: 1
gate:
  {gate}
tracking:
  experiment: mj-forecast-test
  registered_name: mj-forecast-test
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def run(tmp_path):
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    make_crossings(1_500, "2017-01-01", "2023-12-31", seed=3).crossings.to_parquet(out / "data" / "crossings.parquet", index=False)
    return _Run(out=out, settings=MainJobSettings(travellers=1_500, seed=3), state={}, progress=lambda _m: None)


def test_a_refused_challenger_leaves_the_champions_history_and_backtest(run, tmp_path):
    v1 = _forecaster_step(run, "3/7", "port", _config(tmp_path / "v1.yaml", "[total, port]", "[snaive, theta]", OPEN_GATE), "forecaster")
    assert v1.version == "1"
    history_v1 = pd.read_parquet(run.out / "history.parquet")
    backtest_v1 = pd.read_csv(run.out / "forecast_backtest.csv")
    assert (history_v1["unique_id"] == "total").any() and history_v1["unique_id"].str.startswith("port/").any()

    # a different challenger (the total only, other models) that its gate refuses
    v2 = _forecaster_step(run, "3/7", "port", _config(tmp_path / "v2.yaml", "[total]", "[ets]", SHUT_GATE), "forecaster")
    assert v2.version == "1"  # the champion did not move
    pd.testing.assert_frame_equal(v2.history, history_v1)
    pd.testing.assert_frame_equal(pd.read_parquet(run.out / "history.parquet"), history_v1)
    pd.testing.assert_frame_equal(pd.read_csv(run.out / "forecast_backtest.csv"), backtest_v1)
    # version 2 was trained, logged and refused (its history, the total only, is not what the files hold)
    from mlflow import MlflowClient

    assert MlflowClient().get_model_version("mj-forecast-test", "2").tags["gate.decision"] == "refused"

    # a second run on the same data and config reuses the champion and its files
    again = _forecaster_step(run, "3/7", "port", tmp_path / "v2.yaml", "forecaster")
    assert again.version == "1"
    pd.testing.assert_frame_equal(pd.read_csv(again.backtest), backtest_v1)


def test_a_refused_first_challenger_writes_nothing_and_raises(run, tmp_path):
    with pytest.raises(GateRefusedError, match="did not pass its gate"):
        _forecaster_step(run, "3/7", "port", _config(tmp_path / "v1.yaml", "[total]", "[snaive]", SHUT_GATE), "forecaster")
    assert not (run.out / "history.parquet").exists()
    assert not (run.out / "forecast_backtest.csv").exists()


def test_the_report_says_when_the_champions_history_ends_inside_a_break(run, tmp_path):
    """A break declared past the data's end (2023-12): the report's facts carry the BreakWarning's text and fix."""
    from riskmodel.core.exceptions import BreakWarning

    open_end = '[["2020-04-01", "2022-03-31"], ["2023-10-01", "2024-06-30"]]'
    with pytest.warns(BreakWarning, match="ends inside a structural break"):
        step = _forecaster_step(run, "3/7", "port", _config(tmp_path / "b.yaml", "[total]", "[snaive, theta]", OPEN_GATE, open_end), "forecaster")
    facts = _open_break_facts({"ports": step})
    assert list(facts) == ["forecaster, ports: history ends inside a break"]
    assert "total: history ends 2023-12-01 inside the declared break from 2023-10-01 to 2024-06-30" in facts["forecaster, ports: history ends inside a break"]
    assert "Fix:" in facts["forecaster, ports: history ends inside a break"]


def test_the_report_has_no_break_line_when_the_history_ends_after_the_breaks(run, tmp_path):
    step = _forecaster_step(run, "3/7", "port", _config(tmp_path / "v1.yaml", "[total]", "[snaive, theta]", OPEN_GATE), "forecaster")
    assert _open_break_facts({"ports": step}) == {}


def test_the_step_promotes_the_version_it_trained_when_another_trainer_registers_a_challenger_meanwhile(run, tmp_path, monkeypatch):
    """Version 1 is registered as challenger by another trainer between this step's training (version 2) and its
    promotion: the step must judge and promote version 2, the forecaster whose history and backtest it writes."""
    from mlflow import MlflowClient

    from riskmodel.apps.pipelines import forecast as forecast_pipeline
    from riskmodel.core.config import load_config
    from riskmodel.core.forecasting.config import ForecastConfig
    from riskmodel.integrations.tracking import registry

    path = _config(tmp_path / "f.yaml", "[total]", "[snaive, theta]", OPEN_GATE)
    other = load_config(path, ForecastConfig)
    other = dataclasses.replace(other, data=dataclasses.replace(other.data, crossings_path=str(run.out / "data" / "crossings.parquet")))
    assert forecast_pipeline.train(other).logged.version == "1"  # another trainer's version, never promoted
    trained = forecast_pipeline.train

    def train_then_another_registers(*args, **kwargs):
        outcome = trained(*args, **kwargs)
        registry.register("mj-forecast-test", "1")  # the other trainer's log_forecast_run, after this one's
        return outcome

    monkeypatch.setattr(forecast_pipeline, "train", train_then_another_registers)
    step = _forecaster_step(run, "3/7", "port", path, "forecaster")
    client = MlflowClient()
    assert step.version == "2"
    assert str(client.get_model_version_by_alias("mj-forecast-test", "champion").version) == "2"
    assert client.get_model_version("mj-forecast-test", "2").tags["gate.decision"] == "promoted"
    assert "gate.decision" not in client.get_model_version("mj-forecast-test", "1").tags
def test_the_run_serves_the_forecasts_of_the_champion_it_promoted_and_names(run, tmp_path, monkeypatch):
    """The monthly run (review r11c, repro 08): v1, trained on data to 2019-12, is the champion; this run trains v2
    on data to 2023-12 and promotes it, and the report names v2.

    Training v2 compares it with the champion on the same window, which loads v1 by its alias. The forecasts,
    asked for right after (load's clock held still: well inside its 10 s alias re-check), must be v2's:
    from 2024-01, the month after its data ends, not v1's from 2020-01. They stay v2's if the alias moves
    meanwhile (a rollback by hand): the forecasts are those of the version the report names."""
    from riskmodel import api
    from riskmodel.integrations.tracking import registry

    monkeypatch.setattr(api, "_now", lambda: 1_000.0, raising=False)
    run.settings = MainJobSettings(travellers=1_500, seed=3, horizon=6)
    crossings = pd.read_parquet(run.data_dir / "crossings.parquet")
    crossings[crossings["timestamp"] < "2020-01-01"].to_parquet(run.data_dir / "crossings.parquet", index=False)
    v1 = _forecaster_step(run, "3/7", "port", _config(tmp_path / "v1.yaml", "[total, port]", "[snaive, theta]", OPEN_GATE, "[]"), "forecaster")
    assert v1.version == "1"
    crossings.to_parquet(run.data_dir / "crossings.parquet", index=False)
    v2 = _forecaster_step(run, "3/7", "port", _config(tmp_path / "v2.yaml", "[total, port]", "[snaive, theta]", OPEN_GATE), "forecaster")
    assert v2.version == "2"

    frames = _served_forecasts(run, v2, v2)
    for file in ("forecasts.parquet", "forecasts_nationality.parquet"):
        assert frames[file]["ds"].min() == pd.Timestamp("2024-01-01"), file
        assert pd.read_parquet(run.out / file)["ds"].min() == pd.Timestamp("2024-01-01"), file

    registry.register(v2.name, "1", alias="champion")  # rolled back by hand while the run was forecasting
    assert _served_forecasts(run, v2, v2)["forecasts.parquet"]["ds"].min() == pd.Timestamp("2024-01-01")


def test_the_version_the_run_names_is_refused_when_the_champion_was_moved_past_the_gate(monkeypatch):
    """The steps load the version they name by number, which loads unchecked; so the version is taken from
    ``@champion`` only through the gate's check, as loading ``@champion`` itself does (signed decision or override)."""
    from riskmodel.core.config import TrackingConfig
    from riskmodel.core.forecasting import Forecaster, aggregate
    from riskmodel.core.forecasting.config import ForecastConfig
    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.forecast import log_forecast_run

    monkeypatch.delenv("RISKMODEL_ALLOW_UNGATED", raising=False)
    assert _gated_champion("mj-forecast-test") is None  # no champion yet
    arrivals = pd.DataFrame({"port": "A", "ds": pd.date_range("2018-01-01", periods=36, freq="MS"), "y": 100.0 + np.arange(36) % 12})
    s = aggregate(arrivals, {"total": []}, freq="M")
    fitted = Forecaster(h=3, models=["snaive"], n_windows=1, step=3).fit(s.df, s.hierarchy)
    logged = log_forecast_run(fitted, ForecastConfig(tracking=TrackingConfig(experiment="mj-forecast-test", registered_name="mj-forecast-test")))
    registry.register("mj-forecast-test", logged.version, alias="champion")  # by hand, as in the MLflow UI
    with pytest.raises(ModelLoadError, match="moved past the promotion gate"):
        _gated_champion("mj-forecast-test")
    monkeypatch.setenv("RISKMODEL_ALLOW_UNGATED", "1")  # the emergency override, recorded in the audit log
    assert _gated_champion("mj-forecast-test") == "1"
