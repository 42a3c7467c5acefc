"""The forecast benchmark's yardsticks measure what they say they measure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
