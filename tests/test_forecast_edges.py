"""Time and numbers at the edges of forecasting (issue 15, part 9): infinite counts, horizons past the
calendar, and every Forecaster setting checked at construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel import ConfigError, SchemaError, forecast
from riskmodel.core.forecasting import Forecaster
from riskmodel.core.forecasting.calendar import EVENTS, event_days
from riskmodel.core.forecasting.forecaster import CALENDAR_END
from riskmodel.core.forecasting.series import validate_series

DS = pd.date_range("2016-01-01", periods=48, freq="MS")
HISTORY = pd.DataFrame({"unique_id": "total", "ds": DS, "y": 500.0 + 100 * (DS.month == 7)})


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(h=3, models=("snaive",), combine=False, n_windows=1, step=3, breaks=(), reconcile=None).fit(HISTORY)


def test_infinite_count_is_refused_by_validate_series():
    bad = HISTORY.assign(y=np.where(HISTORY.index == 5, np.inf, HISTORY["y"]))
    with pytest.raises(SchemaError, match=r"column `y`: has infinite values \(1 row: total @ 2016-06-01"):
        validate_series(bad)
    with pytest.raises(SchemaError, match=r"has infinite values"):
        forecast(3, history=bad)


@pytest.mark.parametrize("horizon", [10**5, 373])
def test_horizon_past_the_calendar_is_a_config_error(fitted, horizon):
    message = rf"horizon `h`={horizon} months after the last period 2019-12-01 reaches past the event calendar's end 2050-12-31; forecast at most 372 months ahead"
    with pytest.raises(ConfigError, match=message):
        forecast(horizon, model=fitted)
    with pytest.raises(ConfigError, match=message):
        forecast(horizon, history=HISTORY)
    with pytest.raises(ConfigError, match=message):
        fitted.predict(horizon)


def test_daily_horizon_limit_counts_days():
    ds = pd.date_range(end="2050-12-29", periods=60, freq="D")
    daily = pd.DataFrame({"unique_id": "a", "ds": ds, "y": 10.0})
    with pytest.raises(ConfigError, match=r"forecast at most 2 days ahead"):
        Forecaster(h=3, models=("snaive",), combine=False, n_windows=1, breaks=(), reconcile=None).fit(daily)


def test_the_calendar_knows_every_event_through_its_end():
    # CALENDAR_END is a promise about the holidays package: a downgrade that loses years must fail here
    last = CALENDAR_END.year
    for event in EVENTS:
        assert len(event_days(event, f"{last}-01-01", f"{last}-12-31")), event


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"h": 0}, r"`h` must be an int >= 1; got 0"),
        ({"h": 2.5}, r"`h` must be an int >= 1; got 2.5"),
        ({"freq": "Q"}, r"`freq` must be one of \['D', 'M', 'W'\] or None; got 'Q'"),
        ({"models": "ets"}, r"`models` must be a list of model names, e.g. \['ets'\]"),
        ({"models": ["prophet"]}, r"`models` has unknown model\(s\) \['prophet'\]"),
        ({"combine": "yes"}, r"`combine` must be True or False; got 'yes'"),
        ({"selection": "best"}, r"`selection` must be 'global' or 'series'"),
        ({"level": [80, 150]}, r"`level` must be a non-empty list of ints between 1 and 99"),
        ({"level": ["80"]}, r"`level` must be a non-empty list of ints between 1 and 99"),
        ({"level": ()}, r"`level` must be a non-empty list"),
        ({"n_windows": 0}, r"`n_windows` must be an int >= 1; got 0"),
        ({"n_windows": "3"}, r"`n_windows` must be an int >= 1; got '3'"),
        ({"step": 0}, r"`step` must be an int >= 1 or None; got 0"),
        ({"breaks": [("2022-03-31", "2020-04-01")]}, r"`breaks` has \('2022-03-31', '2020-04-01'\): the start must be a date on or before the end"),
        ({"breaks": [("2020-04-01",)]}, r"`breaks` has \('2020-04-01',\), not a \(start, end\) pair of dates"),
        ({"breaks": "2020"}, r"`breaks` must be a list of \(start, end\) dates"),
        ({"events": ["ramadan"]}, r"`events` must be a list of \['eid', "),
        ({"reconcile": "ols"}, r"`reconcile` must be one of"),
        ({"n_jobs": 0}, r"`n_jobs` must be a non-zero int"),
        ({"progress": None}, r"`progress` must be True or False; got None"),
        ({"seed": -1}, r"`seed` must be an int >= 0; got -1"),
    ],
)
def test_every_setting_is_checked_at_construction(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Forecaster(**kwargs)


def test_valid_settings_still_construct():
    Forecaster(freq="W", models=["snaive", "ets"], level=(80.0, 95), breaks=[["2020-04-01", "2022-03-31"]], events=["eid", "school_AUS"], n_jobs=-2)


def test_timezone_aware_periods_are_refused():
    aware = HISTORY.assign(ds=HISTORY["ds"].dt.tz_localize("Asia/Jakarta"))
    with pytest.raises(SchemaError, match=r"column `ds`: timezone-aware timestamps \(datetime64\[\w+, Asia/Jakarta\]\)"):
        validate_series(aware)


def test_ids_that_become_the_same_text_are_duplicate_series_not_one_series():
    # 1 and "1" differ in the frame but both become the series "1": twice as many rows as periods, which
    # every model then read as one series with every month listed twice
    mixed = pd.concat([HISTORY.assign(unique_id=1), HISTORY.assign(unique_id="1")], ignore_index=True)
    with pytest.raises(SchemaError, match=r"column `unique_id`: .*same text.*\(96 rows: 1 @ 2016-01-01"):
        validate_series(mixed)
    with pytest.raises(SchemaError, match=r"column `unique_id`: .*same text"):
        forecast(3, history=mixed)


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_series_with_an_empty_id_is_refused(blank):
    # a CSV reads an empty id as missing (refused); a frame kept it, and its forecast rows had no name to act on
    unnamed = pd.concat([HISTORY, HISTORY.assign(unique_id=blank)], ignore_index=True)
    with pytest.raises(SchemaError, match=r"column `unique_id`: has empty ids \(48 rows: row 48, row 49.*Fix: give every row the id"):
        validate_series(unnamed)
    with pytest.raises(SchemaError, match=r"column `unique_id`: has empty ids"):
        forecast(3, history=unnamed)


def test_settings_the_constructor_accepts_survive_save_and_load(tmp_path):
    # numpy ints and Timestamp breaks pass every check; save() then died in json.dumps after the whole fit,
    # leaving an empty model folder behind
    settings = dict(h=np.int64(3), models=("snaive",), combine=False, n_windows=np.int64(1), step=np.int64(3), holdout_windows=np.int64(1),
                    seed=np.int64(0), breaks=[(pd.Timestamp("2017-03-01"), pd.Timestamp("2017-04-01"))], reconcile=None)
    model = Forecaster(**settings).fit(HISTORY)
    loaded = Forecaster.load(model.save(tmp_path / "f"))
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())
    pd.testing.assert_frame_equal(loaded.predict(5), model.predict(5))
    assert [tuple(map(pd.Timestamp, b)) for b in loaded.breaks] == [tuple(b) for b in settings["breaks"]]


@pytest.mark.parametrize("level", [(80, 80), (95, 80, 95.0)])
def test_an_interval_level_listed_twice_is_refused(level):
    # it gave two y_lo_80 and two y_hi_80 columns: the output contract broken, and to_parquet (the CLI's --out) refuses
    # such a frame only after the whole fit
    with pytest.raises(ConfigError, match=r"`level` lists \d+ more than once; got .*: list each level once, e.g. \(80, 95\)"):
        Forecaster(level=level)
    with pytest.raises(ConfigError, match=r"`level` lists \d+ more than once"):
        forecast(3, history=HISTORY, level=level)


def test_a_series_that_stopped_before_the_others_is_refused_by_name():
    """Port B last reported in March 2023, port A in December: the forecaster forecast each from its own last month,
    so B's "next 3 months" were April-June 2023, already past, in the same table as A's 2024 months, with no word
    (the report reads the table's first month as tomorrow). A series that stops before the latest period is
    refused, named with its last period."""
    ds = pd.date_range("2015-01-01", "2023-12-01", freq="MS")
    y = np.round(1000 + 200 * np.sin(np.arange(len(ds)) * 2 * np.pi / 12))
    a = pd.DataFrame({"unique_id": "port/A", "ds": ds, "y": y})
    b = a[a["ds"] <= "2023-03-01"].assign(unique_id="port/B")
    with pytest.raises(SchemaError, match=r"`ds`: 1 series stop.*before 2023-12.*\(1 row: port/B last 2023-03\)"):
        Forecaster(h=3, freq="M", models=["snaive"], n_windows=2, breaks=()).fit(pd.concat([a, b]))
    fitted = Forecaster(h=3, freq="M", models=["snaive"], n_windows=2, breaks=()).fit(pd.concat([a, a.assign(unique_id="port/C")]))
    assert fitted.predict()["ds"].min() == pd.Timestamp("2024-01-01")


def _parts_and_total(extra: float, b_from: str = "2015-01-01"):
    ds = pd.date_range("2015-01-01", "2019-12-01", freq="MS")
    rng = np.random.default_rng(0)
    a = np.round(1000 + 200 * np.sin(np.arange(len(ds)) * 2 * np.pi / 12) + rng.normal(0, 30, len(ds)))
    b = np.where(ds >= b_from, np.round(500 + rng.normal(0, 20, len(ds))), 0.0)
    t = a + b + extra
    late = ds >= b_from
    df = pd.concat([pd.DataFrame({"unique_id": "A", "ds": ds, "y": a}), pd.DataFrame({"unique_id": "B", "ds": ds[late], "y": b[late]}),
                    pd.DataFrame({"unique_id": "T", "ds": ds, "y": t})])
    from riskmodel.core.forecasting import Hierarchy

    S = pd.DataFrame([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], index=["T", "A", "B"], columns=["A", "B"])
    return df, Hierarchy(S=S), (t[0], a[0] + b[0])


def test_a_history_whose_total_is_not_the_sum_of_its_parts_is_refused_by_name():
    """300 a month arrive at ports the extract does not list: the total's history is its parts' plus 300. Bottom-up
    served the parts' sum as the total's forecast, 300 a month short of its own history, with no word (h16-hier)."""
    df, hierarchy, (total, parts) = _parts_and_total(300.0)
    settings = {"h": 6, "models": ["snaive"], "n_windows": 2, "breaks": ()}
    with pytest.raises(SchemaError, match=rf"column `y`: 1 series not the sum of their parts.*\(60 rows: T 2015-01: {total:g} against {parts:g}"):
        Forecaster(**settings).fit(df, hierarchy)
    with pytest.raises(SchemaError, match=r"not the sum of their parts"):  # the function form refits on the history it is given
        forecast(6, model=Forecaster(**settings).fit(*_parts_and_total(0.0)[:2]), history=df)
    # coherent, and a part whose history starts later (its missing periods count as none arrived): fitted
    Forecaster(**settings).fit(*_parts_and_total(0.0)[:2])
    Forecaster(**settings).fit(*_parts_and_total(0.0, b_from="2017-06-01")[:2])


def _monthly_through(last: pd.Timestamp) -> pd.DataFrame:
    ds = pd.date_range(end=last, periods=48, freq="MS")
    return pd.DataFrame({"unique_id": "port/A", "ds": ds, "y": 500.0 + 100 * (ds.month == 7)})


def _stale_warnings(call) -> list[str]:
    import warnings

    import riskmodel

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    kind = getattr(riskmodel, "StaleForecastWarning", None)
    return [str(w.message) for w in seen if kind is not None and issubclass(w.category, kind)]


def test_an_outlook_whose_periods_are_already_past_says_so():
    """A service asks the champion for the next 3 months; the champion's data ends December 2019, so the outlook is
    January to March 2020, years before today, served as if it were the coming months, without a word."""
    from riskmodel.integrations.tracking.forecast_pyfunc import ForecastPyfunc

    settings = dict(h=3, models=("snaive",), combine=False, n_windows=2, holdout_windows=0, breaks=(), reconcile=None)
    stale = Forecaster(**settings).fit(_monthly_through(pd.Timestamp("2019-12-01")))
    now = pd.Timestamp.today().to_period("M").start_time
    behind = (now.year - 2020) * 12 + now.month - 1  # months from January 2020 up to this month, by hand
    for call in (lambda: forecast(3, model=stale), lambda: ForecastPyfunc(stale).predict(pd.DataFrame({"h": [3]}))):
        said = _stale_warnings(call)
        assert len(said) == 1, said
        for part in ("starts 2020-01-01", "last data (2019-12-01)", "3 of its 3 periods are past",
                     f"{behind} periods behind", "history=", "StaleForecastWarning"):
            assert part in said[0], (part, said[0])
    # data up to last month: the outlook starts this month, nothing is past
    fresh = Forecaster(**settings).fit(_monthly_through(now - pd.DateOffset(months=1)))
    assert _stale_warnings(lambda: forecast(3, model=fresh)) == []


@pytest.mark.parametrize("h", [3.0, np.float64(3)])
def test_predict_refuses_a_fractional_type_horizon_equal_to_the_fitted_one(fitted, h):
    # the docstring: ConfigError if `h` is not an int >= 1; a float equal to the fitted h was answered with the stored forecast
    with pytest.raises(ConfigError, match=r"`h` must be an int >= 1; got "):
        fitted.predict(h)
    assert len(fitted.predict(3)) == 3 and len(fitted.predict(None)) == 3


@pytest.mark.parametrize("level", [80, "95", None, 95.0])
def test_forecast_refuses_a_level_that_is_no_list_of_levels_naming_what_came(fitted, level):
    # 80 and None were a TypeError from tuple(); "95" became the levels ('9', '5') in the message
    message = rf"`level` must be a list of interval levels in percent, e\.g\. \(80, 95\); got {level!r}"
    with pytest.raises(ConfigError, match=message):
        forecast(3, model=fitted, level=level)
    with pytest.raises(ConfigError, match=message):
        forecast(3, history=HISTORY, level=level)
