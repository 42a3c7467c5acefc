"""A series too young to forecast (a port that just opened) is named, in warnings, its rows and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import riskmodel
from riskmodel import forecast
from riskmodel.core.forecasting import Forecaster


def _history(start: str, periods: int) -> pd.DataFrame:
    """Three established ports and port/New: zeros until 400 and 520 arrivals in its last two months;
    port/Cruise: arrivals in three months of every year only, from its first month (intermittent, not young);
    port/Shut: all zeros."""
    ds = pd.date_range(start, periods=periods, freq="MS")
    rng = np.random.default_rng(0)
    rows = []
    for i, base in enumerate([5000, 2000, 800]):
        y = base * (1 + 0.2 * np.sin(2 * np.pi * ds.month / 12)) * rng.lognormal(0, 0.05, len(ds))
        rows.append(pd.DataFrame({"unique_id": f"port/P{i}", "ds": ds, "y": np.round(y)}))
    new = np.zeros(len(ds))
    new[-2:] = [400, 520]
    rows.append(pd.DataFrame({"unique_id": "port/New", "ds": ds, "y": new}))
    rows.append(pd.DataFrame({"unique_id": "port/Cruise", "ds": ds, "y": np.where(np.arange(len(ds)) % 12 < 3, 300.0, 0.0)}))
    rows.append(pd.DataFrame({"unique_id": "port/Shut", "ds": ds, "y": 0.0}))
    return pd.concat(rows, ignore_index=True)


def _young_warnings(seen) -> list[str]:
    category = getattr(riskmodel, "YoungSeriesWarning", None)
    return [str(w.message) for w in seen if category is not None and issubclass(w.category, category)]


@pytest.mark.parametrize("start,periods", [("2016-01-01", 48), ("2022-04-01", 21)])  # the second starts after the COVID break
def test_a_port_that_just_opened_is_named_too_young(start, periods, tmp_path):
    # threshold: one season (12 months) plus the horizon (6): 18 months since the first count.
    # port/New has 2; the established ports have 48 or 21; port/Cruise's first count is in its first
    # month; port/Shut never had one (nothing to forecast from, nothing started).
    history = _history(start, periods)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        f = Forecaster(h=6, models=("snaive", "theta"), combine=False, n_windows=2).fit(history)
    table = f.young_series_
    assert list(table.columns) == ["unique_id", "first_count", "periods", "nonzero_periods", "needed"]
    assert table.to_dict("records") == [{"unique_id": "port/New", "first_count": history["ds"].iloc[periods - 2],
                                         "periods": 2, "nonzero_periods": 2, "needed": 18}]
    said = _young_warnings(seen)
    assert len(said) == 1
    for part in ("1 series too young to forecast", "port/New: first count", "2 months since, 2 of them non-zero",
                 "fewer than 18 months", "Fix:", "young_series_", "category=riskmodel.YoungSeriesWarning"):
        assert part in said[0], part
    fc = f.predict()
    assert fc.loc[fc["unique_id"] == "port/New", "model"].str.endswith(" (too young)").all()
    assert not fc.loc[fc["unique_id"] != "port/New", "model"].str.contains("young").any()
    # saved and loaded, the forecaster still knows, and forecasting from it says so again
    loaded = Forecaster.load(f.save(tmp_path / "fc"))
    pd.testing.assert_frame_equal(loaded.young_series_, table)
    with pytest.warns(riskmodel.YoungSeriesWarning, match="port/New"):
        again = forecast(6, model=loaded)
    assert again.loc[again["unique_id"] == "port/New", "model"].str.endswith(" (too young)").all()


def test_the_cli_prints_the_young_series_warning(tmp_path):
    _history("2016-01-01", 48).to_csv(tmp_path / "hist.csv", index=False)
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "riskmodel.apps.cli", "forecast", "--horizon", "6", "--history", str(tmp_path / "hist.csv"),
                           "--out", str(tmp_path / "fc.csv"), "--quiet"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if "too young to forecast" in line]
    assert len(said) == 1 and said[0].startswith("warning: ") and "port/New" in said[0], proc.stderr
    # the CLI's reader cannot call warnings.filterwarnings (nor use PYTHONWARNINGS: Python refuses a category it cannot
    # import at startup): the warning names the option that silences it, and the option does
    assert "warnings.filterwarnings" not in said[0] and "Silence with `riskmodel --ignore-warning YoungSeriesWarning ...`" in said[0]
    proc = subprocess.run([sys.executable, "-m", "riskmodel.apps.cli", "--ignore-warning", "YoungSeriesWarning", "forecast", "--horizon",
                           "6", "--history", str(tmp_path / "hist.csv"), "--out", str(tmp_path / "fc.csv"), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "too young to forecast" not in proc.stderr
    # a name that is not one of riskmodel's warnings is bad usage, not a silent no-op
    proc = subprocess.run([sys.executable, "-m", "riskmodel.apps.cli", "--ignore-warning", "YoungSeries", "forecast", "--horizon", "6",
                           "--history", str(tmp_path / "hist.csv"), "--out", str(tmp_path / "fc.csv")], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 2 and "YoungSeriesWarning" in proc.stderr


def test_the_pyfunc_says_a_series_is_too_young_as_forecast_does():
    """`mlflow models serve` answers through ForecastPyfunc.predict, which marked the young series' rows but did not
    say so in the server's log (forecast() warns): said there too, naming the series."""
    from riskmodel.integrations.tracking.forecast_pyfunc import ForecastPyfunc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = Forecaster(h=6, models=("snaive", "theta"), combine=False, n_windows=2).fit(_history("2016-01-01", 48))
    with pytest.warns(riskmodel.YoungSeriesWarning, match="port/New: first count"):
        ForecastPyfunc(f).predict(pd.DataFrame({"h": [6]}))
