"""riskmodel.load's cache by URI: an alias is looked up again, so a promotion reaches a long-lived process.

Services import the library and call ``score(model="models:/x@champion")`` or ``forecast`` for months in
one process; the main job does the same in a scheduler. Real MLflow (the test's local sqlite store),
two small forecasters whose forecasts start in different months, promoted through the registry's gate.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from riskmodel import api, forecast, load
from riskmodel.core.forecasting import Forecaster, aggregate
from riskmodel.core.forecasting.config import ForecastConfig, ForecastGateConfig
from riskmodel.integrations.tracking import registry
from riskmodel.integrations.tracking.forecast import log_forecast_run

from .conftest import use_local_store

#: Three years of monthly history give few backtest errors per step; that is not what is tested here.
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.IntervalWarning")


def _series(months: int):
    """Monthly arrivals at two ports from 2016-01 for ``months`` months."""
    rng = np.random.default_rng(2)
    ds = pd.date_range("2016-01-01", periods=months, freq="MS")
    rows = []
    for port, kind, level in [("A", "air", 500), ("C", "sea", 300)]:
        y = level * np.exp(0.3 * np.sin(2 * np.pi * np.arange(months) / 12)) * rng.lognormal(0, 0.08, months)
        rows.append(pd.DataFrame({"port": port, "kind": kind, "ds": ds, "y": np.round(y)}))
    return aggregate(pd.concat(rows), {"total": [], "port": ["port"]}, freq="M")


def _promote_new_version(months: int) -> str:
    """Log a forecaster fitted on ``months`` months and promote it through the registry (a gate that passes it)."""
    s = _series(months)
    logged = log_forecast_run(Forecaster(h=3, models=["snaive"], n_windows=1, step=3).fit(s.df, s.hierarchy), ForecastConfig())
    decision = registry.promote(ForecastConfig().tracking.registered_name, lambda cand, champ: SimpleNamespace(passed=True, reasons=["test"]))
    assert decision.passed
    return str(logged.version)


def test_a_promotion_reaches_a_long_lived_process_by_alias_within_ten_seconds(tmp_path, monkeypatch):
    """Version 1 is fitted to 2018-12 (forecasts from 2019-01), version 2 to 2019-12 (from 2020-01).

    The alias is looked up again once its last look-up is over 10 seconds old (the documented rule of
    :func:`riskmodel.load`): the clock is load's own, moved by hand."""
    use_local_store(monkeypatch, tmp_path)
    monkeypatch.setattr(api, "_cache", {})
    clock = [1_000.0]
    monkeypatch.setattr(api, "_now", lambda: clock[0], raising=False)
    name = ForecastConfig().tracking.registered_name
    uri = f"models:/{name}@champion"
    assert _promote_new_version(36) == "1"
    assert forecast(3, model=uri)["ds"].min() == pd.Timestamp("2019-01-01")
    assert load(uri).history_["ds"].max() == pd.Timestamp("2018-12-01")

    assert _promote_new_version(48) == "2"
    clock[0] += 11  # no refresh=True: the next call over 10 s later sees that the alias moved
    assert load(uri).history_["ds"].max() == pd.Timestamp("2019-12-01")
    assert forecast(3, model=uri)["ds"].min() == pd.Timestamp("2020-01-01")
    # a rollback by hand is refused as ungated (no promotion made version 1 champion again); with the emergency
    # override, audited, it reaches the process the same way; the version itself is served as it was
    registry.register(name, "1", alias="champion")
    monkeypatch.setenv("RISKMODEL_ALLOW_UNGATED", "1")
    clock[0] += 11
    assert load(uri).history_["ds"].max() == pd.Timestamp("2018-12-01")
    assert forecast(3, model=f"models:/{name}/2")["ds"].min() == pd.Timestamp("2020-01-01")


def test_a_promotion_made_by_this_process_reaches_its_next_call_at_once(tmp_path, monkeypatch):
    """Train, promote with riskmodel's pipeline, then forecast by alias, all within 10 s (load's clock held still),
    as a notebook or the main job does: the promotion the process made itself is seen at once (review r11c, repro 08).
    Version 1 is fitted to 2018-12 (forecasts from 2019-01), version 2 to 2019-12 (from 2020-01)."""
    from riskmodel.apps.pipelines import forecast as forecast_pipeline

    use_local_store(monkeypatch, tmp_path)
    monkeypatch.setattr(api, "_cache", {})
    monkeypatch.setattr(api, "_now", lambda: 1_000.0)
    cfg = ForecastConfig(gate=ForecastGateConfig(max_mase=100, mase_tolerance=0.99, beat_best_peer=False, min_coverage_95=0, max_coverage_95=1,
                                                   max_level_mase_over_snaive=None))
    uri = f"models:/{cfg.tracking.registered_name}@champion"
    for months, first_month in ((36, "2019-01-01"), (48, "2020-01-01")):
        s = _series(months)
        log_forecast_run(Forecaster(h=3, models=["snaive"], n_windows=1, step=3).fit(s.df, s.hierarchy), cfg)
        assert forecast_pipeline.promote(cfg).passed
        assert forecast(3, model=uri)["ds"].min() == pd.Timestamp(first_month)


def test_a_failed_look_up_keeps_serving_the_cached_version_and_says_so(monkeypatch, caplog):
    """A border service must not stop scoring because the tracking server is down for a while: when the alias
    cannot be looked up, the version it last pointed at is served, a warning names the URI, and the look-up is
    tried again 10 s later (not on every call, each of which would wait on the client's retries)."""
    from riskmodel.core.exceptions import ModelLoadError

    calls = []

    def unreachable(uri, client=None):
        calls.append(uri)
        raise ModelLoadError(f"cannot resolve `{uri}`: connection refused")

    monkeypatch.setattr(registry, "model_version", unreachable)
    clock = [1_000.0]
    monkeypatch.setattr(api, "_now", lambda: clock[0])
    uri, cached = "models:/overstay-risk@champion", object()
    monkeypatch.setattr(api, "_cache", {api._cache_key(uri): api._Entry(cached, "3", 985.0)})  # looked up 15 s ago
    with caplog.at_level("WARNING", logger="riskmodel.api"):
        assert load(uri) is cached
        assert load(uri) is cached
    assert calls == [uri]
    assert "models:/overstay-risk@champion" in caplog.text and "version 3" in caplog.text and "connection refused" in caplog.text
    clock[0] += 11
    assert load(uri) is cached and calls == [uri, uri]


def _champion_served_from_cache(tmp_path, monkeypatch):
    """Version 1 promoted and served once by `@champion`, on a clock the test moves: (clock, name, uri)."""
    use_local_store(monkeypatch, tmp_path)
    monkeypatch.setattr(api, "_cache", {})
    clock = [1_000.0]
    monkeypatch.setattr(api, "_now", lambda: clock[0])
    name = ForecastConfig().tracking.registered_name
    uri = f"models:/{name}@champion"
    assert _promote_new_version(36) == "1"
    assert forecast(3, model=uri)["ds"].min() == pd.Timestamp("2019-01-01")
    return clock, name, uri


def test_a_champion_moved_back_by_hand_while_a_service_was_idle_is_refused_there_too(tmp_path, monkeypatch):
    """A service cached version 1; with no call of it meanwhile (a border desk at night), version 2 was promoted and
    `champion` moved back to 1 by hand. The re-check compared version numbers only (1 == 1) and served version 1 on,
    for ever, where a fresh process refuses it: the last promotion made version 2 champion (review12serve, repro 02)."""
    from riskmodel.core.exceptions import ModelLoadError

    clock, name, uri = _champion_served_from_cache(tmp_path, monkeypatch)
    assert _promote_new_version(48) == "2"
    registry.register(name, "1", alias="champion")
    clock[0] += 8 * 3600
    for _ in range(2):  # refused on every call, not served on after the first refusal
        with pytest.raises(ModelLoadError, match="is version 1, but the last promotion made version 2 champion"):
            forecast(3, model=uri)


def test_a_champion_deleted_from_the_registry_is_not_served_on(tmp_path, monkeypatch):
    """The registry answered that the alias is gone (its version was deleted): not a store out of reach, so the
    version last seen must not serve on; it did, for ever, while a fresh process refused it (review12serve, repro 01)."""
    from mlflow import MlflowClient

    from riskmodel.core.exceptions import ModelLoadError

    clock, name, uri = _champion_served_from_cache(tmp_path, monkeypatch)
    MlflowClient().delete_model_version(name, "1")
    clock[0] += 11
    with pytest.raises(ModelLoadError, match="alias champion not found"):
        forecast(3, model=uri)


@pytest.mark.parametrize("uri", ["models:/overstay-risk@champion", "models:/overstay-risk/1", "runs:/0123abcd/model"])
def test_a_look_up_where_there_is_no_store_says_so_and_creates_none(tmp_path, monkeypatch, uri):
    """A service started in the wrong folder asked for the champion: MLflow created an empty `mlflow.db` there and the
    answer was "Registered Model with name=overstay-risk not found", naming neither the store nor the folder."""
    from riskmodel.core.exceptions import ModelNotFoundError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ModelNotFoundError, match=r"no MLflow store: `sqlite:///mlflow\.db` is .*mlflow\.db, which does not exist"):
        load(uri, refresh=True)
    assert not (tmp_path / "mlflow.db").exists()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'elsewhere' / 'mlflow.db'}")
    with pytest.raises(ModelNotFoundError, match="MLFLOW_TRACKING_URI"):
        load(uri, refresh=True)
    assert list(tmp_path.iterdir()) == []
