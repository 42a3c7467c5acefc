"""The forecast benchmark's yardsticks measure what they say they measure."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import benchmarks.forecast as bench
from benchmarks.forecast import _scales, _snaive_intervals
from riskmodel.core.forecasting import Forecaster
from tests.conftest import seasonal_panel

# pandas 2 warned that DataFrameGroupBy.apply operated on the grouping columns (the benchmark's scales):
# a deprecation is an error here, so the benchmark keeps running on the next pandas
pytestmark = pytest.mark.filterwarnings("error::FutureWarning")


def _seasonal_panel():
    """36 months of strongly seasonal series (the test fits the first 24)."""
    return seasonal_panel(k=20, seed=5, base=300.0)


def test_msis_reference_is_seasonal_naive_calibrated_as_riskmodel_calibrates():
    # The MSIS reference is seasonal naive with intervals from its own backtest errors, by
    # riskmodel's conformal code. A forecaster that is seasonal naive must then get the very same
    # bounds: before, the reference skipped the seasonal units of a one-season window (a 24-month
    # history), so its intervals differed from riskmodel's own seasonal naive.
    df = _seasonal_panel()
    train, test = df[df["ds"] < "2019-01-01"], df[df["ds"] >= "2019-01-01"]
    f = Forecaster(h=12, models=["snaive"], breaks=()).fit(train)
    assert set(f.chosen_.values()) == {"snaive"}
    ours = f.predict().sort_values(["unique_id", "ds"]).reset_index(drop=True)
    ref = _snaive_intervals(f, train, test).sort_values(["unique_id", "ds"]).reset_index(drop=True)
    np.testing.assert_allclose(ref["snaive"], ours["y_hat"])
    np.testing.assert_allclose(ref["y_lo_95"], ours["y_lo_95"], rtol=1e-9)
    np.testing.assert_allclose(ref["y_hi_95"], ours["y_hi_95"], rtol=1e-9)


def test_msis_reference_is_calibrated_per_volume_group_as_riskmodel_calibrates():
    # riskmodel calibrates its intervals per volume group (Mondrian conformal: a port with thousands of
    # arrivals a month and a market with a few have differently shaped errors). The reference must too:
    # pooled over every series, a seasonal-naive forecaster's bounds and the reference's came apart by
    # 21% on two volume decades (and the 2019 holdout holds six volume groups).
    small = seasonal_panel(k=10, seed=6, base=3.0)
    small["unique_id"] = "t" + small["unique_id"]
    df = pd.concat([seasonal_panel(k=10, seed=5, base=3000.0), small], ignore_index=True)
    train, test = df[df["ds"] < "2019-01-01"], df[df["ds"] >= "2019-01-01"]
    f = Forecaster(h=12, models=["snaive"], breaks=()).fit(train)
    assert set(f.chosen_.values()) == {"snaive"} and f.interval_groups_.nunique() == 2
    ours = f.predict().sort_values(["unique_id", "ds"]).reset_index(drop=True)
    ref = _snaive_intervals(f, train, test).sort_values(["unique_id", "ds"]).reset_index(drop=True)
    np.testing.assert_allclose(ref["snaive"], ours["y_hat"])
    np.testing.assert_allclose(ref["y_lo_95"], ours["y_lo_95"], rtol=1e-9)
    np.testing.assert_allclose(ref["y_hi_95"], ours["y_hi_95"], rtol=1e-9)

def test_mase_scales_are_the_seasonal_differences_outside_the_break():
    # A season plus a trend of 1 (2) a month: every 12-month difference is 12 (24), except those
    # touching the COVID break (2020-04..2022-03), where the series collapses to zero.
    ds = pd.date_range("2017-01-01", "2023-12-01", freq="MS")
    t = np.arange(len(ds), dtype=float)
    covid = (ds >= "2020-04-01") & (ds <= "2022-03-31")
    rows = [pd.DataFrame({"unique_id": uid, "ds": ds, "y": np.where(covid, 0.0, 500 + slope * t + 80 * (ds.month == 7))})
            for uid, slope in (("a", 1.0), ("b", 2.0))]
    got = _scales(pd.concat(rows, ignore_index=True), 12)
    assert got.to_dict() == pytest.approx({"a": 12.0, "b": 24.0}, rel=1e-12)


def test_backtest_mase_is_read_on_the_scale_of_the_holdout_mase():
    # fc_bps2019_holdout_over_backtest_mase divides the holdout MASE (each series' error over the mean 12-month
    # difference of its training history) by the backtest MASE of the chosen model on its selection windows.
    # A 24-month fit's one window has 12 months of history, so the backtest's own scale fell back to
    # month-to-month differences: another unit (0.761 read as no selection optimism; 1.04 on one scale).
    ds = pd.date_range("2017-01-01", periods=24, freq="MS")
    train = pd.concat([pd.DataFrame({"unique_id": "a", "ds": ds, "y": np.r_[np.full(12, 100.0), np.full(12, 120.0)]}),
                       pd.DataFrame({"unique_id": "b", "ds": ds, "y": np.r_[np.full(12, 1000.0), np.full(12, 1100.0)]})])
    window = ds[12:]
    cv = pd.concat([
        # selection window: errors 10 (a, 12-month scale 20) and 150 (b, scale 100): MASE 0.5 and 1.5
        pd.DataFrame({"unique_id": "a", "ds": window, "cutoff": ds[11], "y": 120.0, "chosen": 110.0, "scale": 2.0, "holdout": False}),
        pd.DataFrame({"unique_id": "b", "ds": window, "cutoff": ds[11], "y": 1100.0, "chosen": 1250.0, "scale": 3.0, "holdout": False}),
        # an inner holdout window chose nothing: not part of the figure
        pd.DataFrame({"unique_id": "a", "ds": window[-1:], "cutoff": ds[22], "y": 120.0, "chosen": 9999.0, "scale": 2.0, "holdout": True}),
    ], ignore_index=True)
    fitted = SimpleNamespace(cv_=cv)
    assert bench._backtest_mase(fitted, train, 12) == pytest.approx((10 / 20 + 150 / 100) / 2)
