"""Forecaster persistence (no pickles), MLflow logging, pyfunc round trip, gate and monitoring."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.exceptions import ArtifactIntegrityError, ModelLoadError, SchemaError
from riskmodel import forecast
from riskmodel.core.forecasting import Forecaster, aggregate
from riskmodel.core.forecasting.config import ForecastConfig, ForecastGateConfig
from riskmodel.core.forecasting.gate import TIE, honest_metrics
from riskmodel.core.monitoring.forecasts import score_forecasts
from tests.test_cards import check_forecaster_store


def _series():
    rng = np.random.default_rng(2)
    ds = pd.date_range("2016-01-01", periods=48, freq="MS")
    rows = []
    for port, kind, level in [("A", "air", 500), ("B", "air", 80), ("C", "sea", 300)]:
        y = level * np.exp(0.3 * np.sin(2 * np.pi * np.arange(48) / 12)) * rng.lognormal(0, 0.08, 48)
        rows.append(pd.DataFrame({"port": port, "kind": kind, "ds": ds, "y": np.round(y)}))
    return aggregate(pd.concat(rows), {"total": [], "kind": ["kind"], "port": ["port"]}, freq="M")


@pytest.fixture(scope="module")
def fitted():
    s = _series()
    return Forecaster(h=6, models=["snaive", "theta", "ets"], n_windows=2, step=3).fit(s.df, s.hierarchy)


def test_save_load_round_trip_without_pickles(fitted, tmp_path):
    folder = fitted.save(tmp_path / "fc")
    suffixes = {p.suffix for p in folder.iterdir()}
    assert suffixes <= {".json", ".parquet"}
    loaded = Forecaster.load(folder)
    pd.testing.assert_frame_equal(loaded.predict(), fitted.predict())
    pd.testing.assert_frame_equal(loaded.predict(h=9), fitted.predict(h=9))
    assert loaded.chosen_ == fitted.chosen_
    pd.testing.assert_frame_equal(forecast(6, model=loaded), fitted.predict())


def test_load_bad_folder_and_save_unfitted(tmp_path):
    with pytest.raises(ModelLoadError, match="Forecaster.save"):
        Forecaster.load(tmp_path)
    with pytest.raises(Exception, match="not fitted"):
        Forecaster().save(tmp_path / "x")


def test_score_forecasts_by_hand():
    fc = pd.DataFrame({"unique_id": ["a", "a"], "ds": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                       "y_hat": [10.0, 20.0], "y_lo_95": [8.0, 19.0], "y_hi_95": [12.0, 21.0]})
    actual = pd.DataFrame({"unique_id": ["a", "a"], "ds": fc["ds"], "y": [11.0, 25.0]})
    history = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2023-01-01", periods=3, freq="MS"), "y": [0.0, 2.0, 4.0]})
    per_series, per_level = score_forecasts(fc, actual, history=history, m=1)
    row = per_series.iloc[0]
    assert row["mase"] == pytest.approx(3.0 / 2.0)
    assert row["bias"] == pytest.approx((30 - 36) / 36)
    assert row["coverage_95"] == pytest.approx(0.5)
    assert per_level["level"].iloc[0] == "all"
    with pytest.raises(SchemaError, match="no forecast period"):
        score_forecasts(fc, actual.assign(ds=actual["ds"] + pd.DateOffset(years=1)))


def _no_rule_risk_gate():
    from riskmodel.core.risk.config import GateConfig

    return GateConfig(higher_is_better={}, lower_is_better={}, require_fairness=False)


def test_gate_rules():
    from riskmodel.core.forecasting.gate import forecast_gate

    gate = ForecastGateConfig(max_mase=1.5, mase_tolerance=0.0, min_coverage_95=0.85, max_coverage_95=0.99)
    good = {"mase": 0.9, "mase_over_best_peer": 0.95, "coverage_95": 0.93}
    assert forecast_gate(good, None, gate).passed
    assert not forecast_gate({**good, "mase_over_best_peer": 1.05}, None, gate).passed
    assert not forecast_gate({**good, "mase_over_best_peer": 1.0}, None, gate).passed  # a tie with a peer adds nothing
    snaive_rule = ForecastGateConfig(max_mase=1.5, beat_best_peer=False, beat_snaive=True, min_coverage_95=0.85, max_coverage_95=0.99)
    assert not forecast_gate({**good, "mase_over_snaive": 1.05}, None, snaive_rule).passed
    assert not forecast_gate({**good, "coverage_95": 0.70}, None, gate).passed
    result = forecast_gate(good, {"mase": 0.8}, gate)
    assert not result.passed and any("champion" in r for r in result.reasons)


def test_gate_decision_is_the_risk_gates_type_with_comparisons():
    from riskmodel.core.forecasting.gate import forecast_gate
    from riskmodel.core.gate import Comparison, GateDecision
    from riskmodel.core.risk.gate import evaluate_gate
    from riskmodel.integrations.tracking.forecast import GateResult

    gate = ForecastGateConfig(max_mase=1.5, mase_tolerance=0.1, min_coverage_95=0.85, max_coverage_95=0.99)
    result = forecast_gate({"mase": 0.9, "mase_over_best_peer": 0.95, "coverage_95": 0.80}, {"mase": 0.8}, gate)
    assert type(result) is GateDecision is GateResult and type(result) is type(evaluate_gate({}, None, _no_rule_risk_gate()))
    assert result.reasons == (
        "holdout MASE 0.9000 <= max 1.5",
        "holdout MASE over the best of naive, seasonal naive and drift 0.9500 < 1",
        "95% coverage 0.800 outside [0.85, 0.99]",
        "MASE 0.9000 > champion's 0.8000 (as logged) x 1.1",
    )
    assert result.comparisons == (
        Comparison("mase", 0.9, None, None, None, 1.5, True, "<= 1.5"),
        Comparison("mase_over_best_peer", 0.95, None, None, None, 1.0 - TIE, True, "< 1"),
        Comparison("coverage_95", 0.80, None, None, 0.85, 0.99, False, "within [0.85, 0.99]"),
        Comparison("mase", 0.9, 0.8, 0.1, None, 0.8 * 1.1, False, "<= champion x (1 + tolerance)"),
    )
    missing = forecast_gate({}, None, ForecastGateConfig())
    assert not missing.passed and [c.candidate for c in missing.comparisons] == [None, None, None]  # coverage too
    # no holdout figure is said as such, with the fix, never quoted as a MASE of inf
    assert missing.reasons[0].startswith("no holdout window to judge") and "inf" not in missing.reasons[0]


@pytest.mark.slow
def test_mlflow_log_load_pyfunc_promote_and_tamper(fitted, tmp_path):
    import mlflow

    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.forecast import load_forecaster, log_forecast_monitoring, log_forecast_run, promote_forecaster

    cfg = ForecastConfig()
    logged = log_forecast_run(fitted, cfg, lineage={"source": "test"})
    expected = fitted.predict()
    by_alias = load_forecaster(f"models:/{cfg.tracking.registered_name}@challenger")
    pd.testing.assert_frame_equal(by_alias.predict(), expected)
    pyfunc = mlflow.pyfunc.load_model(logged.model_uri)
    out = pyfunc.predict(pd.DataFrame({"h": [6]}))
    pd.testing.assert_frame_equal(out.reset_index(drop=True), expected, check_dtype=False)
    assert pd.api.types.is_datetime64_any_dtype(out["ds"])
    assert set(pyfunc.predict(pd.DataFrame({"h": [6], "unique_id": ["total"]}))["unique_id"]) == {"total"}

    run = mlflow.get_run(logged.run_id)
    assert "mase" in run.data.metrics and "bt.all.snaive.mase" in run.data.metrics
    assert any(k.startswith("bt.port.") for k in run.data.metrics)
    check_forecaster_store(run, fitted, cfg.tracking.registered_name, logged)

    decision = promote_forecaster(cfg.tracking.registered_name, ForecastGateConfig(max_mase=10, beat_best_peer=False, min_coverage_95=0, max_coverage_95=1,
                                                                                 max_level_mase_over_snaive=None))
    assert decision.passed
    client = registry.configure()
    assert str(client.get_model_version_by_alias(cfg.tracking.registered_name, "champion").version) == logged.version
    tags = client.get_model_version(cfg.tracking.registered_name, logged.version).tags
    assert tags["gate.decision"] == "promoted"
    # recorded the same way as the risk gate's decision: one comparison per rule, as JSON
    assert json.loads(tags["gate.comparisons"]) == [c.as_dict() for c in decision.comparisons]
    assert [c["metric"] for c in json.loads(tags["gate.comparisons"])] == ["mase", "coverage_95"]
    text = client.get_model_version(cfg.tracking.registered_name, logged.version).description
    assert f"**promoted** on {tags['gate.time']} against no champion yet" in text and f"- {decision.reasons[0]}" in text

    local = mlflow.artifacts.download_artifacts(artifact_uri=logged.model_uri, dst_path=str(tmp_path / "dl"))
    folder = tmp_path / "dl" / "data" / "forecaster"  # loader_module form: the model lives under data/
    state = json.loads((folder / "forecaster.json").read_text())
    state["chosen_"] = dict.fromkeys(state["chosen_"], "snaive")
    (folder / "forecaster.json").write_text(json.dumps(state))
    with pytest.raises(ArtifactIntegrityError, match="changed"):
        load_forecaster(local)

    actual = expected[["unique_id", "ds"]].assign(y=expected["y_hat"] * 1.1)
    run_id, per_level = log_forecast_monitoring(expected, actual, history=fitted.history_, tags=fitted.hierarchy_.tags)
    assert set(per_level["level"]) >= {"all", "port", "total"}
    assert "all.mase" in mlflow.get_run(run_id).data.metrics


@pytest.mark.slow
@pytest.mark.parametrize("path", ["load", "pyfunc", "load_forecaster"])
def test_a_logged_forecaster_is_built_from_the_bytes_verified_not_a_rewrite_after_the_check(fitted, tmp_path, monkeypatch, path):
    """Time of check, time of use: riskmodel.load, the forecast pyfunc and load_forecaster verified a local copy of a
    logged forecaster, then Forecaster.load read forecaster.json and the Parquet files from the disk again. Rewritten in
    between (every series' chosen model, and forecasts 1000 higher, unsigned), the rewrite was the forecaster used."""
    import mlflow

    from riskmodel import load
    from riskmodel.integrations.tracking import forecast_pyfunc, registry
    from riskmodel.integrations.tracking.forecast import load_forecaster, log_forecast_run

    logged = log_forecast_run(fitted, ForecastConfig(), lineage={"source": "test"})
    copy = Path(mlflow.artifacts.download_artifacts(artifact_uri=logged.model_uri, dst_path=str(tmp_path / "dl")))
    folder = copy / "data" / "forecaster"
    real = registry.verify_manifest

    def verify_then_rewrite(root, *args, **kwargs):
        verified = real(root, *args, **kwargs)
        state = json.loads((folder / "forecaster.json").read_text())
        state["chosen_"] = dict.fromkeys(state["chosen_"], "tampered")
        (folder / "forecaster.json").write_text(json.dumps(state))
        forecasts = pd.read_parquet(folder / "forecasts.parquet")
        forecasts.assign(y_hat=forecasts["y_hat"] + 1000.0).to_parquet(folder / "forecasts.parquet", index=False)
        return verified

    monkeypatch.setattr(registry, "verify_manifest", verify_then_rewrite)
    if path == "load":
        model = load(str(copy), refresh=True)
    elif path == "pyfunc":
        model = forecast_pyfunc._load_pyfunc(str(folder)).forecaster  # what MLflow's loader_module calls
    else:
        model = load_forecaster(str(copy))
    rewritten = Forecaster.load(folder)
    assert set(rewritten.chosen_.values()) == {"tampered"}
    assert (rewritten.predict()["y_hat"] == fitted.predict()["y_hat"] + 1000.0).all()
    assert model.chosen_ == fitted.chosen_
    pd.testing.assert_frame_equal(model.predict(), fitted.predict())


def test_the_card_of_a_forecaster_without_holdout_window_says_why_and_the_fix():
    """holdout_windows 0 gave a card reading 'the history was too short', a cause it did not have (h10-config)."""
    from riskmodel.integrations.tracking.forecast import forecast_card

    s = _series()
    none = Forecaster(h=6, models=["snaive"], n_windows=2, step=3, holdout_windows=0).fit(s.df, s.hierarchy)
    card = forecast_card(none, ForecastConfig(), {})
    said = [line for line in card.splitlines() if line.startswith("No holdout window")]
    assert said and "holdout_windows is 0" in said[0] and "too short" not in said[0] and "1 or more" in said[0], said


@pytest.mark.parametrize(("records", "column", "words"), [
    ([{"h": 3, "unique_id": "port/a"}], "unique_id", r"series the forecaster does not hold \(1 row: row 0\)\. Fix: .*did you mean 'port/A'"),
    ([{"h": 3, "unique_id": "total"}, {"h": 3, "unique_id": "port/Z"}], "unique_id", r"does not hold \(1 row: row 1\)"),
    ([{"h": 3, "unique_id": "total"}, {"h": 3}], "unique_id", r"some rows name a series and some do not \(1 row: row 1\)"),
    ([{"h": 2.9}], "h", r"whole number >= 1 \(1 row: row 0\)"),
    ([{"h": 0}], "h", r"whole number >= 1 \(1 row: row 0\)"),
    ([{"h": 3}, {"h": 12}], "h", r"different horizons in one request \(2 rows: row 0, row 1\)"),
    ([{"h": None}], "h", r"missing \(1 row: row 0\)"),
    # a field of another name is no horizon: answered with the forecaster's own, 12 periods for a request of 30
    ([{"horizon": 30}], "horizon", r"is no field of a forecast request \(1 row: row 0\)\. Fix: .*`h`"),
    ([{"h": 3, "series": "port/A"}], "series", r"is no field of a forecast request .*`unique_id`"),
])
def test_the_forecast_pyfunc_refuses_a_request_it_cannot_honour(fitted, records, column, words):
    """What `riskmodel serve` answers with: an unknown or miscased series, a fractional, zero, conflicting or missing h
    was an empty answer, 2 periods for 2.9, 3 periods for rows asking 3 and 12, a TypeError. Each is a clear error
    (an MlflowException, which MLflow's server passes on, with the SchemaError as its cause)."""
    from mlflow.exceptions import MlflowException

    from riskmodel.integrations.tracking.forecast_pyfunc import ForecastPyfunc

    with pytest.raises(MlflowException, match=rf"(?s)column `{column}`: .*{words}") as refused:
        ForecastPyfunc(fitted).predict(pd.DataFrame.from_records(records))
    assert "Fix: " in str(refused.value) and isinstance(refused.value.__cause__, SchemaError)


def test_the_forecast_pyfunc_answers_what_was_asked(fitted):
    from riskmodel.integrations.tracking.forecast_pyfunc import ForecastPyfunc

    pyfunc = ForecastPyfunc(fitted)
    out = pyfunc.predict(pd.DataFrame.from_records([{"h": 3.0, "unique_id": "port/A"}, {"h": 3, "unique_id": "total"}]))
    assert sorted(out["unique_id"].unique()) == ["port/A", "total"] and len(out) == 2 * 3
    assert len(pyfunc.predict(pd.DataFrame({"h": [6]}))) == 6 * 6
def _version_with_metrics(client, name: str, metrics: dict[str, float], source: str) -> str:
    """A registered version whose run logged only ``metrics`` (no model: what the gate reads is run metrics), as challenger."""
    import mlflow

    from riskmodel.integrations.tracking import registry

    # an experiment of this test's store: the active one may be another test's (mlflow keeps it per process)
    with mlflow.start_run(experiment_id=mlflow.set_experiment("gate-figures").experiment_id) as run:
        mlflow.log_metrics(metrics)
    version = client.create_model_version(name, source=source, run_id=run.info.run_id).version
    registry.register(name, version)
    return str(version)


def _first_champion(tmp_path, name):
    """A registered model whose version 1 (MASE 1.00, no model files) was promoted: (client, name, gate, good, fake),
    ``good`` the gate figures that pass, ``fake`` the source of versions that cannot be loaded."""
    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.forecast import promote_forecaster

    client, gate = registry.configure(), ForecastGateConfig()
    client.create_registered_model(name)
    good = {"mase_over_best_peer": 0.9, "mase_over_snaive": 0.9, "coverage_95": 0.95}
    fake = str(tmp_path / "no-model")
    _version_with_metrics(client, name, good | {"mase": 1.0}, fake)
    assert promote_forecaster(name, gate).passed
    return client, name, gate, good, fake


def test_the_champion_rule_is_not_judged_on_a_same_window_figure_of_a_former_champion(tmp_path):
    """Two challengers trained while version 1 (MASE 1.00) was champion both measured version 1 on their window
    (1.00). Version 2 (MASE 0.50) is promoted first; version 3 (MASE 0.95) must then be held against version 2,
    the champion it would replace, not against version 1's figure: here the models cannot be loaded to measure
    version 2 on version 3's window, so the rule uses version 2's logged 0.50 and says so."""
    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.forecast import promote_forecaster

    client, name, gate, good, fake = _first_champion(tmp_path, "arrival-forecast-daily")
    stale = {"champion_mase_same_window": 1.0, "champion_version_same_window": 1.0}
    assert _version_with_metrics(client, name, good | {"mase": 0.5} | stale, fake) == "2"
    assert promote_forecaster(name, gate).passed
    assert _version_with_metrics(client, name, good | {"mase": 0.95} | stale, fake) == "3"
    decision = promote_forecaster(name, gate)
    assert not decision.passed, decision.reasons
    assert [c.metric for c in decision.comparisons if not c.passed] == ["mase"]
    line = [r for r in decision.reasons if r.startswith("MASE ") and "champion version 2" in r]
    assert len(line) == 1 and "0.5000" in line[0] and "as logged" in line[0] and "version 1" in line[0], decision.reasons
    assert any(r.startswith("the champion version 2 could not be measured on version 3's holdout window") for r in decision.reasons)
    assert str(registry.resolve_version(name, "champion").version) == "2"


@pytest.mark.slow
def test_a_same_window_figure_of_a_former_champion_is_measured_again_on_the_champion_of_now(fitted):
    """Version 3 logged a same-window figure of version 1 (10.0: anything passes against it); version 2 is champion
    when it is promoted. The gate measures version 2 on version 3's holdout window then, and names version 2."""
    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.forecast import log_forecast_run, promote_forecaster

    cfg, name = ForecastConfig(), ForecastConfig().tracking.registered_name
    open_gate = ForecastGateConfig(max_mase=10, beat_best_peer=False, min_coverage_95=0, max_coverage_95=1, max_level_mase_over_snaive=None)
    log_forecast_run(fitted, cfg, lineage={"source": "test"})
    assert promote_forecaster(name, open_gate).passed  # version 1
    log_forecast_run(fitted, cfg, lineage={"source": "test"})
    assert promote_forecaster(name, open_gate).passed  # version 2, the champion of now
    third = log_forecast_run(fitted, cfg, lineage={"source": "test"},
                             extra_metrics={"champion_mase_same_window": 10.0, "champion_version_same_window": 1})
    decision = promote_forecaster(name, open_gate)
    line = [r for r in decision.reasons if "champion" in r and "earlier champion" not in r and not r.startswith("level ")]
    assert len(line) == 1 and "champion version 2's" in line[0] and "on the same window" in line[0], decision.reasons
    assert "10.0000" not in line[0]
    # version 1, an earlier champion, is measured on the same window too (the same settings: the same figure)
    assert [r for r in decision.reasons if "earlier champion version 1's" in r and "on the same window" in r], decision.reasons
    # the same settings refitted on the same history: version 2 scores what version 3 scores, within the tolerance
    assert decision.passed and str(registry.resolve_version(name, "champion").version) == third.version


def test_champion_moved_back_by_hand_to_a_replaced_version_is_refused(tmp_path):
    """Each promotion signed its version's decision only (name, version, decision, time): every version ever promoted
    kept a valid signature after it was replaced, so `champion` moved back by hand (MLflow UI, registry API) to
    version 1 loaded as gated, with no ungated_load record. A promotion now also signs which version it made
    champion, on the registered model; loading @champion refuses an alias that points elsewhere (review r11c, 09)."""
    from mlflow import MlflowClient

    from riskmodel.core.exceptions import ModelLoadError
    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.forecast import promote_forecaster
    from riskmodel.integrations.tracking.loading import pin

    client, name, gate, good, fake = _first_champion(tmp_path, "arrival-forecast-rollback")
    _version_with_metrics(client, name, good | {"mase": 0.5}, fake)
    assert promote_forecaster(name, gate).passed
    assert pin(f"models:/{name}@champion") == f"models:/{name}/2"
    MlflowClient().set_registered_model_alias(name, "champion", "1")  # by hand
    with pytest.raises(ModelLoadError, match=rf"`models:/{name}@champion` is version 1, but the last promotion made version 2 "
                                             r"champion: the alias was moved by hand"):
        pin(f"models:/{name}@champion")
    assert pin(f"models:/{name}@champion", allow_ungated=True) == f"models:/{name}/1"  # the emergency override, audited
    MlflowClient().set_registered_model_alias(name, "champion", "2")
    assert pin(f"models:/{name}@champion") == f"models:/{name}/2"


@pytest.mark.parametrize(("records", "words"), [
    ([{"h": 3, "unique_id": "port/a"}], r"column `unique_id`: names a series the forecaster does not hold \(1 row: row 0\)\. Fix: .*did you mean 'port/A'"),
    ([{"h": 100000}], r"horizon `h`=100000 months after the last period 2019-12-01 reaches past the event calendar's end .*forecast at most \d+ months ahead"),
])
def test_riskmodel_serve_answers_a_forecast_request_it_refuses_with_the_refusal(fitted, records, words):
    """MLflow's scoring server passes on the message of an MlflowException only; the pyfunc's SchemaError (an unknown
    series) or ConfigError (a horizon past the calendar) became "Encountered an unexpected error while evaluating the
    model", its words left in the stack trace that serving.py drops: no field, no rows, no fix (review12serve, repro 04).
    Through MLflow's own loader and request handler, then serving.py's rewriting, as `riskmodel serve` answers."""
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server

    from riskmodel.integrations.tracking import serving
    from riskmodel.integrations.tracking.forecast import log_forecast_run

    model = mlflow.pyfunc.load_model(log_forecast_run(fitted, ForecastConfig()).model_uri)
    with pytest.raises(MlflowException) as refused:
        scoring_server.invocations(json.dumps({"dataframe_records": records}), "application/json", model,
                                   model.metadata.get_input_schema())
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    answer = json.loads(serving.one_line_error(json.dumps({"error_code": refused.value.error_code,
                                                           "message": refused.value.message}).encode()))
    assert re.search(words, answer["message"]), answer["message"]


def test_a_logged_forecaster_honours_params_h_through_mlflow(fitted):
    """The pyfunc's documented `params={"h": 2}` (taking precedence over the column) was dropped by MLflow before the
    pyfunc saw it, because the logged signature declared no params: a request asking 2 months got 3, without a word
    (review12serve, repro 05). Through MLflow's loader, as `riskmodel serve` and `mlflow.pyfunc.load_model` run it."""
    import mlflow.pyfunc

    from riskmodel.integrations.tracking.forecast import log_forecast_run

    model = mlflow.pyfunc.load_model(log_forecast_run(fitted, ForecastConfig()).model_uri)
    out = model.predict(pd.DataFrame({"h": [3], "unique_id": ["total"]}), params={"h": 2})
    assert list(out["ds"]) == [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-02-01")]
    assert len(model.predict(pd.DataFrame({"h": [3], "unique_id": ["total"]}))) == 3  # no params: the column's h


def test_the_card_and_the_gate_say_over_how_many_series_the_holdout_mase_is_a_mean():
    """A port with no arrivals has no MASE scale: the holdout MASE is the mean over the other series, and the card and
    the gate's decision said 'MASE 0.50' as if over all of them (h16-hier)."""
    from riskmodel.core.forecasting.config import ForecastGateConfig
    from riskmodel.core.forecasting.gate import forecast_gate, honest_metrics
    from riskmodel.integrations.tracking.forecast import forecast_card

    s = _series()
    recs = s.df[s.df["unique_id"].str.startswith("port/")].assign(
        port=lambda d: d["unique_id"].str[5:], kind=lambda d: d["port"].map({"A": "air", "B": "air", "C": "sea"}))
    zero = recs[recs["port"] == "C"].assign(port="Z", y=0.0)
    series = aggregate(pd.concat([recs, zero])[["port", "kind", "ds", "y"]], {"total": [], "kind": ["kind"], "port": ["port"]}, freq="M")
    fitted = Forecaster(h=6, models=["snaive"], n_windows=2, step=3).fit(series.df, series.hierarchy)
    # total, kind/air, kind/sea, port/A, port/B, port/C, port/Z: seven series, port/Z without a MASE scale
    card = forecast_card(fitted, ForecastConfig(), {})
    said = [line for line in card.splitlines() if "MASE" in line and "of 7 series" in line]
    assert said and "mean over 6 of 7 series" in said[0] and "port/Z" in said[0], card
    decision = forecast_gate(honest_metrics(fitted), None, ForecastGateConfig(max_mase=1e9, beat_best_peer=False, min_coverage_95=0))
    assert any(r.startswith("holdout MASE") and "(mean over 6 of 7 series" in r for r in decision.reasons), decision.reasons


def test_the_card_gives_the_holdout_mase_of_each_level_beside_seasonal_naives(fitted):
    """The gate judges each level against seasonal naive there; the card quoted the figures over all series only."""
    from riskmodel.integrations.tracking.forecast import forecast_card

    card = forecast_card(fitted, ForecastConfig(), {})
    said = [line for line in card.splitlines() if line.startswith("- per level of the hierarchy")]
    assert len(said) == 1, card
    table = fitted.holdout_metrics_.set_index(["level", "model"])["mase"]
    for level in ("total", "kind", "port"):
        served, snaive = table[(level, "reconciled")], table[(level, "peer:snaive")]
        assert f"{level} {served:.4f} ({served / snaive:.4f}x seasonal naive's {snaive:.4f})" in said[0], said[0]


def test_a_forecaster_champion_is_rolled_back_to_the_one_before_and_loads_by_alias(fitted):
    """`riskmodel rollback forecast`: the registry's rollback works for a logged forecaster as for a risk model."""
    from types import SimpleNamespace

    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.forecast import log_forecast_run
    from riskmodel.integrations.tracking.loading import pin
    from riskmodel.integrations.tracking.rollback import rollback

    cfg = ForecastConfig()
    name = cfg.tracking.registered_name
    passing = lambda cand, champ: SimpleNamespace(passed=True, reasons=["ok: test gate"])  # noqa: E731
    first = log_forecast_run(fitted, cfg, lineage={"source": "test"})
    assert registry.promote(name, passing).passed
    second = log_forecast_run(fitted, cfg, lineage={"source": "test"})
    assert registry.promote(name, passing).passed
    done = rollback(name, first.version, reason="holiday calendar of version 2 was a year off")
    assert (done.candidate, done.champion) == (str(first.version), str(second.version))
    assert pin(f"models:/{name}@champion") == f"models:/{name}/{first.version}"


def test_a_forecaster_that_lost_within_the_tolerance_at_each_step_is_held_to_the_best_earlier_champion(tmp_path):
    """Version 1 (MASE 1.00) champion; version 2 (1.015, 1.5% worse: within gate.mase_tolerance 2%) promoted; version 3
    (1.03, 1.5% worse than version 2 but 3% worse than version 1) passed too, and so on without end. The gate now holds
    a challenger to the best earlier champion as well (here their models cannot be loaded to be measured on the
    challenger's window: their logged MASE is read, and said)."""
    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.forecast import promote_forecaster

    client, name, gate, good, fake = _first_champion(tmp_path, "arrival-forecast-lineage")
    assert _version_with_metrics(client, name, good | {"mase": 1.015}, fake) == "2"
    assert promote_forecaster(name, gate).passed
    assert _version_with_metrics(client, name, good | {"mase": 1.03}, fake) == "3"
    decision = promote_forecaster(name, gate)
    assert not decision.passed, decision.reasons
    assert [c.metric for c in decision.comparisons if not c.passed] == ["mase_over_earlier_champions"]
    said = [r for r in decision.reasons if "earlier champion" in r]
    assert len(said) == 1 and "version 1" in said[0] and "1.0000" in said[0] and "as logged" in said[0], decision.reasons
    assert str(registry.resolve_version(name, "champion").version) == "2"


def test_the_champion_of_now_measured_at_promotion_is_compared_level_by_level(fitted):
    """A challenger whose logged same-window figures are of another version: the champion of now is refitted on its
    holdout window at promotion, and each level of the hierarchy (total, kind, port) is held to the champion's there."""
    from riskmodel.integrations.tracking.forecast import log_forecast_run, promote_forecaster

    cfg, name = ForecastConfig(), ForecastConfig().tracking.registered_name
    open_gate = ForecastGateConfig(max_mase=10, beat_best_peer=False, min_coverage_95=0, max_coverage_95=1, max_level_mase_over_snaive=None)
    first = log_forecast_run(fitted, cfg, lineage={"source": "test"})
    assert promote_forecaster(name, open_gate).passed
    log_forecast_run(fitted, cfg, lineage={"source": "test"}, extra_metrics={"champion_mase_same_window": 10.0, "champion_version_same_window": 99})
    decision = promote_forecaster(name, open_gate)
    table = fitted.holdout_metrics_.set_index(["level", "model"])["mase"]
    for level in ("total", "kind", "port"):
        [c] = [c for c in decision.comparisons if c.metric == f"level.{level}.mase_over_champion"]
        # the same settings refitted on the same history: the champion's figure at each level is the challenger's
        assert c.reference == pytest.approx(table[(level, "reconciled")], rel=1e-9) and c.passed
        assert any(r.startswith(f"level {level}:") and f"champion version {first.version}'s" in r and "on the same window" in r
                   for r in decision.reasons), decision.reasons
    assert decision.passed


def test_earlier_champions_of_settings_already_measured_are_not_refitted_under_the_lease(fitted, monkeypatch):
    """The promotion lease lasts 300 s and the gate must end well inside it; a refit of a daily forecaster takes minutes.
    Versions 1-3 share their settings: version 1 (an earlier champion when version 3 is judged) refits alike to the
    challenger, whose own holdout MASE is that figure; it is read, not refitted."""
    import riskmodel.integrations.tracking.forecast as tracking_forecast
    from riskmodel.integrations.tracking.forecast import log_forecast_run, promote_forecaster

    cfg, name = ForecastConfig(), ForecastConfig().tracking.registered_name
    open_gate = ForecastGateConfig(max_mase=10, beat_best_peer=False, min_coverage_95=0, max_coverage_95=1, max_level_mase_over_snaive=None)
    for _ in range(2):
        log_forecast_run(fitted, cfg, lineage={"source": "test"})
        assert promote_forecaster(name, open_gate).passed
    log_forecast_run(fitted, cfg, lineage={"source": "test"})
    refits = []
    real = tracking_forecast.champion_on_same_window
    monkeypatch.setattr(tracking_forecast, "champion_on_same_window", lambda *a, **k: refits.append(1) or real(*a, **k))
    decision = promote_forecaster(name, open_gate)
    assert decision.passed and refits == [], decision.reasons
    [c] = [c for c in decision.comparisons if c.metric == "mase_over_earlier_champions"]
    assert c.reference == pytest.approx(honest_metrics(fitted)["mase"], rel=1e-12)
