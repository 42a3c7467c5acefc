"""Calendar regressors (Indonesian holidays, school holidays) and break periods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.forecasting import COVID_BREAK, calendar_features, in_break
from riskmodel.core.forecasting.calendar import event_days


def test_nyepi_daily_flag_on_the_known_dates():
    # Nyepi (Day of Silence) fell on 22 March 2023 and 11 March 2024.
    ds = pd.date_range("2023-03-01", "2024-03-31", freq="D")
    feats = calendar_features(ds, "D", ["nyepi"])
    flagged = ds[feats["nyepi"].to_numpy() == 1]
    assert list(flagged) == [pd.Timestamp("2023-03-22"), pd.Timestamp("2024-03-11")]


def test_eid_window_fraction_moves_between_months():
    # Eid al-Fitr: 10 April 2024 (window 3..17 April, all in April) and 22 April 2023.
    feats = calendar_features(pd.date_range("2023-01-01", "2024-12-01", freq="MS"), "M", ["eid"])
    eid = feats["eid"].to_numpy()
    assert eid[15] == pytest.approx(15 / 30)  # April 2024
    assert eid[3] == pytest.approx(15 / 30)  # April 2023: 15..29 April
    assert np.count_nonzero(eid) == 2


def test_eid_window_split_across_months():
    # Eid 2025 fell on 31 March: window 24 March .. 7 April.
    feats = calendar_features(pd.to_datetime(["2025-03-01", "2025-04-01"]), "M", ["eid"])
    assert feats["eid"].to_numpy() == pytest.approx([8 / 31, 7 / 30])


def test_weekly_features_and_order_preserved():
    ds = pd.to_datetime(["2024-03-11", "2024-03-04", "2024-03-11"])  # Mondays, unsorted, repeated
    feats = calendar_features(ds, "W", ["nyepi"])
    assert feats["nyepi"].to_numpy() == pytest.approx([1 / 7, 0, 1 / 7])


def test_school_holidays_table_and_default_columns():
    days = event_days("school_AUS", "2024-01-01", "2024-12-31")
    assert pd.Timestamp("2024-07-05") in days and pd.Timestamp("2024-05-15") not in days
    feats = calendar_features(pd.date_range("2024-01-01", periods=3, freq="MS"), "M")
    assert {"eid", "nyepi", "lunar_new_year", "christmas", "school_AUS", "school_CHN"} <= set(feats.columns)
    assert feats.to_numpy().min() >= 0 and feats.to_numpy().max() <= 1


def test_unknown_event_is_an_error():
    with pytest.raises(ValueError, match="event"):
        calendar_features(pd.date_range("2024-01-01", periods=3, freq="MS"), "M", ["diwali"])
    with pytest.raises(ValueError, match="market"):
        event_days("school_XXX", "2024-01-01", "2024-02-01")


def test_covid_break_mask():
    ds = pd.date_range("2019-12-01", "2022-06-01", freq="MS")
    mask = in_break(ds, [COVID_BREAK])
    assert ds[mask][0] == pd.Timestamp("2020-04-01")
    assert ds[mask][-1] == pd.Timestamp("2022-03-01")
    assert mask.sum() == 24
    assert not in_break(ds, None).any()
