"""Issue 13 parts 1 and 7: proposed breaks, rebased breaks, travel-trend signals and their command."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.apps.cli import main
from riskmodel.core.exceptions import ConfigError, FallbackWarning, SchemaError
from riskmodel.core.forecasting import Forecaster, detect_breaks, travel_trends
from riskmodel.core.forecasting.breaks import ALL_SERIES
from riskmodel.core.forecasting.trends import MONTHLY_TREND_COLUMNS, complete_months, monthly_trends
from riskmodel.core.forecasting.engine import impute_break, rebase_break, recover_break, recovery_offset

from .conftest import BPS_DATA

DATA = Path(os.environ.get("RISKMODEL_BPS_DATA", BPS_DATA))


def _collapse(n=108, seed=0):
    """Monthly 2015-2023: seasons, a collapse 2020-04..2021-12, then a recovery from 300 at +5% a month."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2015-01-01", periods=n, freq="MS")
    season = np.exp(0.3 * np.sin(2 * np.pi * np.arange(n) / 12))
    level = np.where(ds < "2020-04-01", 1000.0, 5.0)
    after = np.asarray(ds > "2021-12-01")
    level[after] = 300.0 * 1.05 ** np.arange(after.sum())
    y = np.round(level * season * rng.lognormal(0, 0.03, n))
    return pd.DataFrame({"unique_id": "port/A", "ds": ds, "y": y})


# ---------------------------------------------------------------- part 1
def test_detect_breaks_finds_start_and_end_of_a_collapse():
    df = _collapse()
    found = detect_breaks(df)
    assert found["unique_id"].tolist() == [ALL_SERIES, "port/A"]
    row = found.iloc[1]
    assert row["start"] == pd.Timestamp("2020-04-01")
    # Back at >= half the pre-break reference once the recovery passes 500 (300 * 1.05^11 = 513: 2022-12).
    assert pd.Timestamp("2022-09-01") <= row["end"] <= pd.Timestamp("2022-12-01")
    assert not row["ongoing"] and row["depth"] < 0.02
    assert list(found.columns) == ["unique_id", "start", "end", "periods", "ongoing", "depth"]


def test_detect_breaks_finds_nothing_in_a_steady_series_and_checks_arguments():
    df = _collapse().query("ds < '2020-01-01'")
    assert detect_breaks(df).empty
    with pytest.raises(ConfigError, match="`drop` must be a ratio between 0 and 1"):
        detect_breaks(df, drop=1.5)
    with pytest.raises(ConfigError, match="`min_periods` must be an int >= 1; got 0"):
        detect_breaks(df, min_periods=0)


def test_rebase_learns_the_level_after_the_break_and_the_seasons_before_it():
    df = _collapse()
    y = df["y"].to_numpy(dtype=float)
    mask = ((df["ds"] >= "2020-04-01") & (df["ds"] <= "2021-12-01")).to_numpy()
    rebased = rebase_break(y, mask, 12)
    # The pre-break history now sits at the post-break level (~300 in early 2022), not at 1000;
    # the periods after the break are kept as they are.
    assert rebased[:60].mean() < 0.5 * y[:60].mean()
    after = np.arange(len(y)) > np.flatnonzero(mask)[-1]
    np.testing.assert_allclose(rebased[after], y[after], rtol=1e-12)
    # impute_break bridges to the pre-break level instead.
    assert impute_break(y, mask, 12)[:60].mean() == pytest.approx(y[:60].mean())


def test_forecast_after_a_break_follows_the_recovery_not_the_old_level():
    full = _collapse(n=102)  # fit to 2022-12 (a year of recovery), score 2023-01..06
    df, future = full.iloc[:96], full.iloc[96:]
    breaks = (("2020-04-01", "2021-12-31"),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        new = Forecaster(h=6, models=["snaive", "ets", "theta"], breaks=breaks).fit(df).predict()
        old = Forecaster(h=6, models=["snaive", "ets", "theta"], breaks=breaks, break_method="impute").fit(df).predict()
    actual = future["y"].to_numpy()
    err_new = np.mean(np.abs(new["y_hat"].to_numpy() / actual - 1))
    err_old = np.mean(np.abs(old["y_hat"].to_numpy() / actual - 1))
    assert err_new < 0.25  # within a quarter of a recovery that runs at +5% a month
    assert err_new < err_old


def _decaying_gap(n=108, seed=1):
    """Monthly 2015-2023: level 1000 with seasons, a collapse 2020-04..2021-12, then a gap to 1000 that
    shrinks by a fifth every month from log(1000/150) in 2022-01: the intervention model of a recovery."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2015-01-01", periods=n, freq="MS")
    season = np.exp(0.3 * np.sin(2 * np.pi * np.arange(n) / 12))
    level = np.where(ds < "2020-04-01", 1000.0, 5.0)
    after = np.asarray(ds > "2021-12-01")
    level[after] = 1000.0 * np.exp(-np.log(1000 / 150) * 0.8 ** np.arange(after.sum()))
    y = np.round(level * season * rng.lognormal(0, 0.02, n))
    return pd.DataFrame({"unique_id": "port/B", "ds": ds, "y": y}), level * season


def test_recover_continues_a_recovery_toward_the_pre_break_level():
    full, truth = _decaying_gap()
    df = full.iloc[:96]  # fit to 2022-12: a year of recovery; the gap left is ~7% (0.8 ** 12 of log(1000/150))
    breaks = (("2020-04-01", "2021-12-31"),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        fcs = {m: Forecaster(h=12, models=["snaive", "ets", "theta"], breaks=breaks, break_method=m).fit(df).predict()
               for m in ("recover", "rebase")}
    err = {m: np.mean(np.abs(fc["y_hat"].to_numpy() / truth[96:] - 1)) for m, fc in fcs.items()}
    # rebase holds the level of 2022 (its models see the recovery only as a trend of the last months);
    # recover closes the rest of the gap as it was closing
    assert err["recover"] < 0.02
    assert err["rebase"] > 3 * err["recover"]
    # the offset is the open part of the fitted gap: negative, shrinking toward 0
    mask = ((df["ds"] >= "2020-04-01") & (df["ds"] <= "2021-12-01")).to_numpy()
    off = recovery_offset(df["y"].to_numpy(dtype=float), mask, 12, 12)
    assert np.all(off < 0) and np.all(np.diff(off) > 0)


def test_recover_is_rebase_without_a_recovery_to_fit():
    full, _ = _decaying_gap()
    y = full["y"].to_numpy(dtype=float)
    mask = ((full["ds"] >= "2020-04-01") & (full["ds"] <= "2021-12-01")).to_numpy()
    for n in (80, 86):  # the history ends inside the break; two periods after it
        np.testing.assert_array_equal(recover_break(y[:n], mask[:n], 12), rebase_break(y[:n], mask[:n], 12))
        assert not recovery_offset(y[:n], mask[:n], 12, 6).any()
    np.testing.assert_array_equal(recover_break(y[:60], mask[:60], 12), y[:60])  # no break in the history


# ---------------------------------------------------------------- part 7
def _trend_panel():
    ds = pd.date_range("2018-01-01", periods=72, freq="MS")  # .. 2023-12
    y = np.where(ds < "2020-04-01", 1000.0, np.where(ds <= "2022-03-01", 10.0, 500.0))
    y = np.where(ds >= "2023-01-01", 800.0, y)
    return pd.DataFrame({"unique_id": "market/X", "ds": ds, "y": y})


def test_travel_trends_growth_against_last_year_and_the_pre_break_level():
    t = travel_trends(_trend_panel())
    row = t.iloc[0]
    assert list(t.columns) == ["unique_id", "last_ds", "recent_3", "growth_3", "growth_12", "vs_pre_break_3",
                               "vs_pre_break_12", "n_checked", "n_above", "n_below", "signal"]
    assert row["last_ds"] == pd.Timestamp("2023-12-01") and row["recent_3"] == 2400.0
    assert row["growth_3"] == pytest.approx(800 / 500 - 1)  # Oct-Dec 2023 against Oct-Dec 2022
    assert row["growth_12"] == pytest.approx(12 * 800 / (3 * 10 + 9 * 500) - 1)  # 2023 against 2022
    assert row["vs_pre_break_3"] == pytest.approx(800 / 1000 - 1)  # against Oct-Dec 2019
    assert row["vs_pre_break_12"] == pytest.approx(800 / 1000 - 1)  # against 2019
    assert row["signal"] == "unchecked"
    assert np.isnan(travel_trends(_trend_panel(), breaks=()).loc[0, "vs_pre_break_3"])


def test_travel_trends_flags_a_surge_and_a_collapse_against_an_earlier_forecast():
    hist = pd.concat([_trend_panel(), _trend_panel().assign(unique_id="market/Y")], ignore_index=True)
    ds = pd.date_range("2023-10-01", periods=3, freq="MS")
    fc = pd.DataFrame({"unique_id": ["market/X"] * 3 + ["market/Y"] * 3, "ds": list(ds) * 2,
                       "y_lo_95": [500.0, 500, 500, 900, 900, 900], "y_hi_95": [700.0, 700, 700, 1200, 1200, 1200]})
    t = travel_trends(hist, forecast=fc).set_index("unique_id")
    assert t.loc["market/X", "signal"] == "surge" and t.loc["market/X", "n_above"] == 3
    assert t.loc["market/Y", "signal"] == "collapse" and t.loc["market/Y", "n_below"] == 3
    inside = fc.assign(y_lo_95=0.0, y_hi_95=1e6)
    assert set(travel_trends(hist, forecast=inside)["signal"]) == {"within"}



def test_travel_trends_never_reads_an_interval_it_does_not_have_as_within():
    """A forecast row without its bounds checks nothing: a surge of 3 months at 50x read "within" (3 checked,
    none above, since every comparison with a missing bound is false); a forecast given twice counted each month twice."""
    hist = _trend_panel()
    ds = pd.date_range("2023-10-01", periods=3, freq="MS")
    surge = hist.copy()
    surge.loc[surge["ds"].isin(ds), "y"] *= 50
    fc = pd.DataFrame({"unique_id": "market/X", "ds": ds, "y_lo_95": np.nan, "y_hi_95": np.nan})
    row = travel_trends(surge, forecast=fc).iloc[0]
    assert (row["n_checked"], row["signal"]) == (0, "unchecked")
    half = fc.assign(y_lo_95=[0.0, 0.0, np.nan], y_hi_95=[1.0, np.nan, 1.0])  # one month with both bounds
    row = travel_trends(surge, forecast=half).iloc[0]
    assert (row["n_checked"], row["n_above"], row["signal"]) == (1, 1, "surge")
    with pytest.raises(SchemaError, match="more than one forecast row per series and period"):
        travel_trends(surge, forecast=pd.concat([half, half]))

def test_travel_trends_refuses_a_forecast_whose_lower_bound_is_above_its_upper_one():
    """Swapped bounds (a hand-made file, columns in the wrong order): every month inside the interval was both
    above and below it, 3 above and 3 below, and read as a surge."""
    hist = _trend_panel()
    ds = pd.date_range("2023-10-01", periods=3, freq="MS")
    actual = hist.set_index("ds").loc[ds, "y"].to_numpy()
    swapped = pd.DataFrame({"unique_id": "market/X", "ds": ds, "y_lo_95": actual * 1.2, "y_hi_95": actual * 0.8})
    with pytest.raises(SchemaError, match=r"column `y_lo_95, y_hi_95`: lower bound above the upper one \(3 rows: market/X 2023-10-01, "
                                          r"market/X 2023-11-01, market/X 2023-12-01\)\. Fix: .*swapped"):
        travel_trends(hist, forecast=swapped)


def test_travel_trends_refuses_bad_input():
    with pytest.raises(SchemaError, match="y_hi_95"):
        travel_trends(_trend_panel(), forecast=pd.DataFrame({"unique_id": ["a"], "ds": [pd.Timestamp("2024-01-01")], "y_lo_95": [1.0]}))
    with pytest.raises(ConfigError, match="`short` must be an int >= 1; got 0"):
        travel_trends(_trend_panel(), short=0)
    with pytest.raises(ConfigError, match="not both"):
        travel_trends(_trend_panel(), forecast=pd.DataFrame(), backcast=3)


def test_trends_command_prints_and_writes_the_table(tmp_path, capsys):
    path = tmp_path / "history.csv"
    _trend_panel().to_csv(path, index=False)
    assert main(["trends", str(path), "--out", str(tmp_path / "t.csv")]) == 0
    assert "market/X" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "t.csv")["growth_3"].iloc[0] == pytest.approx(0.6)


# ---------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def bps_ports():
    path = DATA / "bps_arrivals_selected_ports_2008_2023.csv"
    if not path.is_file():
        pytest.skip(f"real BPS series not found in {DATA}")
    return pd.read_csv(path, parse_dates=["ds"])[["unique_id", "ds", "y"]]


def test_bps_covid_break_is_proposed_with_its_dates(bps_ports):
    row = detect_breaks(bps_ports).set_index("unique_id").loc[ALL_SERIES]
    assert row["start"] == pd.Timestamp("2020-03-01")
    assert pd.Timestamp("2022-03-01") <= row["end"] <= pd.Timestamp("2022-12-01")


@pytest.mark.slow
def test_bps_2023_rebased_break_beats_the_bridged_one(bps_ports):
    train = bps_ports[bps_ports["ds"] <= "2022-12-01"]
    test = bps_ports[bps_ports["ds"] >= "2023-01-01"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        fcs = {m: Forecaster(h=12, break_method=m).fit(train).predict() for m in ("rebase", "impute")}
    err = {m: test.merge(fc, on=["unique_id", "ds"]).eval("abs(y - y_hat)").mean() for m, fc in fcs.items()}
    assert err["rebase"] < err["impute"]


def test_complete_months_sums_whole_months_and_leaves_out_the_cut_ones():
    days = pd.date_range("2023-01-15", "2023-04-10", freq="D")
    df = pd.DataFrame({"unique_id": "port/Batam", "ds": days, "y": 2.0})
    months = complete_months(df)
    assert months["ds"].tolist() == [pd.Timestamp("2023-02-01"), pd.Timestamp("2023-03-01")]  # January and April are cut
    assert months["y"].tolist() == [56.0, 62.0]


def test_complete_months_refuses_a_series_that_is_not_daily():
    monthly = pd.DataFrame({"unique_id": "total", "ds": pd.date_range("2020-01-01", periods=24, freq="MS"), "y": 1.0})
    with pytest.raises(SchemaError, match="ds"):
        complete_months(monthly)


def test_monthly_trends_growth_by_calendar_month():
    days = pd.date_range("2018-01-01", "2023-12-31", freq="D")
    # 10 a day, half as many again from 2023: every growth against 2022 and against 2019 (before the break) is +50%
    df = pd.DataFrame({"unique_id": "port/Batam", "ds": days, "y": np.where(days.year == 2023, 15.0, 10.0)})
    t = monthly_trends(df, backcast=0)
    assert tuple(t.columns) == MONTHLY_TREND_COLUMNS
    row = t.iloc[0]
    assert row["last_month"] == pd.Timestamp("2023-12-01") and row["recent_3m"] == 15.0 * 92
    for col in ("growth_3m", "growth_12m", "vs_pre_break_3m", "vs_pre_break_12m"):
        assert row[col] == pytest.approx(0.5, abs=1e-12), col
    assert row["signal"] == "unchecked" and row["n_checked"] == 0


def test_monthly_trends_refuses_a_bad_backcast():
    df = pd.DataFrame({"unique_id": "total", "ds": pd.date_range("2022-01-01", "2023-12-31", freq="D"), "y": 1.0})
    with pytest.raises(ConfigError, match=r"`backcast` must be an int >= 0; got -1"):
        monthly_trends(df, backcast=-1)


def test_travel_trends_calls_months_both_above_and_below_the_interval_mixed_not_a_surge():
    """One month above the interval and one below (a tie) is neither a surge nor a collapse: it used to read "surge"."""
    hist = _trend_panel()
    ds = pd.date_range("2023-10-01", periods=3, freq="MS")
    # the panel's last three months are 800 each: above [500, 700], below [900, 1200], inside [700, 900]
    fc = pd.DataFrame({"unique_id": "market/X", "ds": ds, "y_lo_95": [500.0, 900.0, 700.0], "y_hi_95": [700.0, 1200.0, 900.0]})
    row = travel_trends(hist, forecast=fc).iloc[0]
    assert (row["n_checked"], row["n_above"], row["n_below"], row["signal"]) == (3, 1, 1, "mixed")
    # one more month above than below is still a surge
    two_up = fc.assign(y_lo_95=[500.0, 900.0, 500.0], y_hi_95=[700.0, 1200.0, 700.0])
    assert travel_trends(hist, forecast=two_up).iloc[0]["signal"] == "surge"


def test_travel_trends_weekly_and_daily_growth_against_the_same_weekdays_52_weeks_back():
    """Review 11b repro 04: the reference was the periods shifted back by one calendar year, which lands Mondays on
    other weekdays: a weekly series with 120 weeks of history had no growth at all (NaN), and a daily series flat
    year on year compared Fri-Sun with Thu-Sat and read +19%. Weekly and daily series compare the same weekdays
    52 weeks (364 days) back, the pre-break level likewise (whole 52-week steps)."""
    ds = pd.date_range("2022-01-03", periods=120, freq="W-MON")  # .. 2024-04-15
    y = np.r_[np.full(16, 80.0), np.full(52, 100.0), np.full(52, 150.0)]
    weekly = pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y": y})
    row = travel_trends(weekly, short=4, long=52, breaks=()).iloc[0]
    assert row["growth_4"] == pytest.approx(150 / 100 - 1)  # the last 4 weeks against weeks 65..68 (all 100)
    assert row["growth_52"] == pytest.approx(150 / 100 - 1)  # the last 52 weeks against the 52 before them
    # a break from 2022-06-01: 2024-04-15 less 2 x 364 days is 2022-04-18, the last Monday 52-week step before it
    row = travel_trends(weekly, short=4, long=52, breaks=(("2022-06-01", "2022-09-01"),)).iloc[0]
    assert row["vs_pre_break_4"] == pytest.approx(150 / 80 - 1)  # against 2022-03-28 .. 2022-04-18 (weeks 13..16)
    assert np.isnan(row["vs_pre_break_52"])  # 104 weeks back from week 69 is before the history starts

    days = pd.date_range("2022-01-01", "2023-12-31", freq="D")
    rhythm = np.array([1.0, 1.0, 1.0, 1.0, 1.2, 2.0, 1.8])[days.day_of_week]  # Batam's weekends, the same every year
    daily = pd.DataFrame({"unique_id": "port/Batam", "ds": days, "y": 1000 * rhythm})
    row = travel_trends(daily, short=7, long=3, breaks=()).iloc[0]
    assert row["growth_3"] == pytest.approx(0.0)  # Fri-Sun 2023-12-29..31 against Fri-Sun 2022-12-30..2023-01-01
    assert row["growth_7"] == pytest.approx(0.0)


def test_flags_by_chance_counts_what_an_unchanged_series_gives():
    """A series that did not change leaves a 95% interval in a checked period 5% of the time, and is flagged when one
    of its checked periods does: 1 - 0.95^3 = 0.142625 for 3 months, 0.05 for 1, nothing for a series not checked."""
    from riskmodel.core.forecasting.trends import flags_by_chance

    t = pd.DataFrame({"n_checked": [3, 3, 0, 1]})
    assert flags_by_chance(t) == pytest.approx(2 * 0.142625 + 0.05)
    assert flags_by_chance(pd.DataFrame({"n_checked": [3]}), level=80) == pytest.approx(1 - 0.8 ** 3)
