"""The forecast benchmark's yardsticks measure what they say they measure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.forecast import _snaive_intervals
from riskmodel.core.forecasting import Forecaster
from tests.conftest import seasonal_panel


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
