"""Arrival series: aggregation of the crossings log, hierarchy, validation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.exceptions import SchemaError
from riskmodel.core.forecasting import aggregate, fill_gaps, make_series, validate_series

PORTS = pd.DataFrame({"port": ["Ngurah Rai", "Batam", "Entikong"], "port_type": ["air", "sea", "land"]})
NATS = pd.DataFrame({"nationality": ["AUS", "SGP", "MYS"], "region": ["Oceania", "ASEAN", "ASEAN"]})


@pytest.fixture
def crossings():
    # 7 entries and 2 exits written by hand, so that every count below is known.
    rows = [
        ("entry", "2024-01-03 10:00", "Ngurah Rai", "AUS"),
        ("entry", "2024-01-03 23:59", "Ngurah Rai", "AUS"),
        ("entry", "2024-01-20 08:00", "Batam", "SGP"),
        ("entry", "2024-02-01 00:00", "Batam", "MYS"),
        ("entry", "2024-03-15 12:00", "Entikong", "MYS"),
        ("entry", "2024-03-16 12:00", "Ngurah Rai", "SGP"),
        ("entry", "2024-03-31 23:00", "Ngurah Rai", "AUS"),
        ("exit", "2024-01-10 09:00", "Ngurah Rai", "AUS"),
        ("exit", "2024-02-10 09:00", "Batam", "SGP"),
    ]
    df = pd.DataFrame(rows, columns=["direction", "timestamp", "port", "nationality"])
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return df


def _value(df, uid, ds):
    return float(df.loc[(df["unique_id"] == uid) & (df["ds"] == pd.Timestamp(ds)), "y"].iloc[0])


def test_monthly_counts_by_level(crossings):
    s = make_series(crossings, freq="M", ports=PORTS, nationalities=NATS)
    df = s.df
    assert list(df.columns) == ["unique_id", "ds", "y"]
    assert _value(df, "total", "2024-01-01") == 3  # exits never count
    assert _value(df, "total", "2024-03-01") == 3
    assert _value(df, "port_type/air", "2024-03-01") == 2
    assert _value(df, "port/Batam", "2024-02-01") == 1
    assert _value(df, "region/ASEAN", "2024-03-01") == 2
    assert _value(df, "nationality/AUS", "2024-02-01") == 0  # gap filled with zero
    assert _value(df, "port_nationality/Ngurah Rai|AUS", "2024-01-01") == 2
    assert not df.duplicated(["unique_id", "ds"]).any()
    assert df.groupby("unique_id").size().eq(3).all()  # every series spans Jan..Mar


def test_a_span_with_no_period_or_a_log_with_no_entry_is_refused_by_name(crossings):
    """An `end` before the log's first entry or a `start` after `end` crashed with pandas' IndexError ("index 0 is out
    of bounds"); a log of exits only with pandas' "Neither `start` nor `end` can be NaT"."""
    kw = dict(freq="M", levels=["total"])
    with pytest.raises(ValueError, match=r"`end` \(2023-12-31\) is before `start` \(2024-01-03\): no month lies between them"):
        make_series(crossings, end="2023-12-31", **kw)  # the first entry is on 3 January 2024
    with pytest.raises(ValueError, match=r"`end` \(2024-01-01\) is before `start` \(2024-03-01\)"):
        make_series(crossings, start="2024-03-01", end="2024-01-01", **kw)
    with pytest.raises(ValueError, match=r"no entry to count and no span: pass a log with entry rows, or `start` and `end`"):
        make_series(crossings[crossings["direction"] == "exit"], **kw)


def test_daily_and_weekly_periods(crossings):
    d = make_series(crossings, freq="D", levels=["total"]).df
    assert _value(d, "total", "2024-01-03") == 2  # 10:00 and 23:59 are the same day
    assert len(d) == (pd.Timestamp("2024-03-31") - pd.Timestamp("2024-01-03")).days + 1
    w = make_series(crossings, freq="W", levels=["total"]).df
    assert (w["ds"].dt.day_of_week == 0).all()
    assert _value(w, "total", "2024-01-01") == 2  # Wed 3 Jan is in the week of Monday 1 Jan


def test_hierarchy_sums_bottom_series(crossings):
    s = make_series(crossings, freq="M", ports=PORTS, nationalities=NATS)
    S = s.hierarchy.S
    assert set(S.index) == set(s.df["unique_id"])
    assert all(c.startswith("port_nationality/") for c in S.columns)
    wide = s.df.pivot(index="ds", columns="unique_id", values="y")
    np.testing.assert_allclose(wide[S.index].to_numpy(), wide[S.columns].to_numpy() @ S.to_numpy().T)
    assert s.hierarchy.tags["port_type"] == ["port_type/air", "port_type/land", "port_type/sea"]


def test_single_branch_hierarchy_bottom_is_port(crossings):
    s = make_series(crossings, freq="M", levels=["total", "port_type", "port"], ports=PORTS)
    assert sorted(s.hierarchy.bottom) == ["port/Batam", "port/Entikong", "port/Ngurah Rai"]
    assert s.hierarchy.S.loc["total"].sum() == 3


def test_mixed_branches_without_cross_level_is_an_error(crossings):
    with pytest.raises(ValueError, match="port_nationality"):
        make_series(crossings, levels=["total", "port", "nationality"])


def test_unknown_level_and_missing_metadata(crossings):
    with pytest.raises(ValueError, match="levels"):
        make_series(crossings, levels=["airline"])
    with pytest.raises(SchemaError, match="Entikong"):
        make_series(crossings, levels=["total", "port_type", "port"], ports=PORTS.iloc[:2])


def test_a_partial_last_period_is_left_out_with_a_warning(crossings):
    """A nightly job ran on a log that ends on 15 March: make_series counted the half month as a whole one, so March
    read 3 arrivals where a month of that pace holds about 6, and the forecaster fitted a collapse. The last period
    counts only when the log (exits too) reaches its last day; a partial one is left out, named in a warning, and
    an explicit `end` keeps it (the caller's choice)."""
    import riskmodel

    cut = crossings[crossings["timestamp"] < "2024-03-16"]  # the log ends on 15 March
    with pytest.warns(riskmodel.PartialPeriodWarning, match=r"2024-03.*15 March 2024|2024-03.*2024-03-15"):
        monthly = make_series(cut, freq="M", levels=["total"]).df
    assert monthly["ds"].max() == pd.Timestamp("2024-02-01") and len(monthly) == 2
    with pytest.warns(riskmodel.PartialPeriodWarning, match=r"2024-03-11"):  # the week of Monday 11 March ends on Sunday 17
        weekly = make_series(cut, freq="W", levels=["total"]).df
    assert weekly["ds"].max() == pd.Timestamp("2024-03-04")
    kept = make_series(cut, freq="M", levels=["total"], end="2024-03-31").df
    assert _value(kept, "total", "2024-03-01") == 1
    ended = crossings[crossings["timestamp"] < "2024-03-31"].copy()  # the last entry on 16 March, an exit on 30 March
    ended.loc[len(ended)] = ("exit", pd.Timestamp("2024-03-30 10:00"), "Batam", "SGP")
    with pytest.warns(riskmodel.PartialPeriodWarning, match="2024-03"):
        make_series(ended, freq="M", levels=["total"])
    ended.loc[len(ended)] = ("exit", pd.Timestamp("2024-03-31 06:00"), "Batam", "SGP")  # the log reaches 31 March
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = make_series(ended, freq="M", levels=["total"]).df
        daily = make_series(cut, freq="D", levels=["total"]).df  # a day is whole once the log reaches it
    assert _value(whole, "total", "2024-03-01") == 2 and daily["ds"].max() == pd.Timestamp("2024-03-15")


def test_make_series_on_synthetic_log(small_data):
    s = make_series(small_data.crossings, freq="M")
    entries = (small_data.crossings["direction"].astype(str) == "entry").sum()
    assert s.df.loc[s.df["unique_id"] == "total", "y"].sum() == entries
    assert (s.df["y"] >= 0).all()


def test_aggregate_any_frame_and_non_nesting_levels():
    df = pd.DataFrame(
        {"port": ["A", "A", "B"], "kind": ["air", "air", "sea"], "ds": pd.to_datetime(["2020-01-01"] * 3), "y": [1.0, 2.0, 5.0]}
    )
    out = aggregate(df, {"total": [], "kind": ["kind"], "port": ["port"]}, freq="M")
    assert _value(out.df, "kind/air", "2020-01-01") == 3
    assert _value(out.df, "total", "2020-01-01") == 8
    bad = df.assign(kind=["air", "sea", "sea"])  # port A in two kinds
    with pytest.raises(ValueError, match="do not nest"):
        aggregate(bad, {"total": [], "kind": ["kind"], "port": ["port"]}, freq="M")


def _frame():
    ds = pd.date_range("2020-01-01", periods=6, freq="MS")
    return pd.concat([pd.DataFrame({"unique_id": u, "ds": ds, "y": np.arange(6.0)}) for u in ("a", "b")], ignore_index=True)


def test_validate_series_accepts_and_sorts():
    df = _frame().sample(frac=1, random_state=0)
    out = validate_series(df)
    assert list(out.columns) == ["unique_id", "ds", "y"]
    assert out["y"].dtype == np.float64
    assert out.equals(out.sort_values(["unique_id", "ds"], ignore_index=True))


def test_validate_series_reports_every_problem_with_series_names():
    df = _frame()
    df.loc[1, "y"] = -3
    df = pd.concat([df, df.iloc[[2]]], ignore_index=True)  # duplicate a @ 2020-03
    df = df.drop(index=9)  # gap in b
    with pytest.raises(SchemaError) as info:
        validate_series(df, "M")
    text = str(info.value)
    assert "negative counts" in text and "a @ 2020-02-01" in text
    assert "duplicate" in text and "a @ 2020-03-01" in text
    assert "gaps" in text and "b" in text and "fill_gaps" in text


def test_validate_series_frequency_and_columns():
    df = _frame()
    with pytest.raises(SchemaError, match="period start"):
        validate_series(df.assign(ds=df["ds"] + pd.Timedelta(days=3)), "M")
    with pytest.raises(SchemaError, match="column is missing"):
        validate_series(df.drop(columns="y"))
    with pytest.raises(SchemaError, match="datetime64"):
        validate_series(df.assign(ds=df["ds"].astype(str)))
    with pytest.raises(SchemaError, match="not a day, week or month"):
        validate_series(df.assign(ds=pd.date_range("2020-01-01", periods=12, freq="3D").repeat(1)[:12]))


def test_fill_gaps_then_valid():
    df = _frame().drop(index=[2, 3])
    filled = fill_gaps(df, "M")
    assert len(filled) == 12
    assert filled.loc[(filled["unique_id"] == "a") & (filled["ds"] == "2020-03-01"), "y"].item() == 0
    validate_series(filled, "M")


@pytest.mark.bps
def test_bps_nationality_gap_is_reported(bps_data_dir):
    df = pd.read_csv(bps_data_dir / "bps_arrivals_by_nationality_2017_2023.csv", parse_dates=["ds"])
    with pytest.raises(SchemaError, match="gaps"):
        validate_series(df[["unique_id", "ds", "y"]], "M")
    assert validate_series(fill_gaps(df[["unique_id", "ds", "y"]], "M"), "M")["unique_id"].nunique() == 118


def test_a_series_csv_keeps_its_series_ids_as_text(tmp_path):
    # Two series named "007" and "7" (e.g. port codes): read with guessed types they both become 7,
    # and the forecaster would see one series with two values a month.
    from riskmodel.apps.pipelines.forecast import load_series
    from riskmodel.core.forecasting.config import ForecastConfig, ForecastDataConfig

    path = tmp_path / "series.csv"
    path.write_text("unique_id,ds,y\n007,2024-01-01,10\n7,2024-01-01,20\n007,2024-02-01,11\n7,2024-02-01,21\n")
    df, _, _ = load_series(ForecastConfig(data=ForecastDataConfig(series_path=str(path))))
    assert df["unique_id"].tolist() == ["007", "7", "007", "7"]
    assert df.loc[df["unique_id"] == "007", "y"].tolist() == [10, 11]


def test_a_series_csv_with_day_first_dates_is_refused_by_name_not_read_month_first(tmp_path):
    # '02/01/2024' is 2 January where the file was written (Indonesia writes dates day first); pandas guessed month
    # first and read 1 February, so the config's series held each month's count under another month
    from riskmodel.apps.pipelines.forecast import load_series
    from riskmodel.core.forecasting.config import ForecastConfig, ForecastDataConfig

    path = tmp_path / "series.csv"
    path.write_text("unique_id,ds,y\na,01/01/2024,10\na,01/02/2024,11\na,01/03/2024,12\n")
    with pytest.raises(SchemaError, match=r"`ds`: values that are not dates \('01/01/2024', '01/02/2024', '01/03/2024'\)"):
        load_series(ForecastConfig(data=ForecastDataConfig(series_path=str(path))))


def test_a_config_series_csv_with_a_dot_between_thousands_is_refused_not_read_as_fractions(tmp_path):
    # Excel in an Indonesian locale writes 1030 arrivals as '1.030': read as 1.03, `train forecast` fitted a port's
    # thousand a month as one; '812' beside it is a month under a thousand
    from riskmodel.apps.pipelines.forecast import load_series
    from riskmodel.core.forecasting.config import ForecastConfig, ForecastDataConfig

    path = tmp_path / "series.csv"
    path.write_text("unique_id,ds,y\na,2024-01-01,812\na,2024-02-01,1.030\na,2024-03-01,2.500\n")
    with pytest.raises(SchemaError, match=r"`y`: whole numbers written with '.' between groups of three digits \('1.030', '2.500'\), "
                                          r"which read as fractions \(2 rows: row 1, row 2\)"):
        load_series(ForecastConfig(data=ForecastDataConfig(series_path=str(path))))


def test_counts_that_are_no_numbers_are_named_by_row_with_a_fix_that_works():
    # '1,234' (Excel's thousands comma, quoted) and '-' (a month not published) were refused with "must be numeric,
    # got object. Fix: convert it with pd.to_numeric(df['y'])": no row, no value, and that fix fails on '1,234'
    ds = pd.date_range("2022-01-01", periods=12, freq="MS")
    y = pd.Series(["1,234", "-", *range(102, 112)], dtype=object)
    with pytest.raises(SchemaError) as err:
        validate_series(pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y": y}))
    assert ("column `y`: values that are not numbers ('1,234', '-') (2 rows: port/Batam @ 2022-01-01, port/Batam @ 2022-02-01). "
            "Fix: write each count as a plain number (1234, not '1,234'); a period without a count is no number: "
            "fill it from another source, or drop it and call fill_gaps") in str(err.value)


def test_counts_given_as_decimals_are_read_as_the_numbers_they_are():
    # a database's NUMERIC counts (a SQL SUM) reach pandas as Decimal objects; they are exact numbers, as score() reads
    # them, not a dtype to refuse; a Decimal NaN is no count and is named as missing
    from decimal import Decimal

    ds = pd.date_range("2022-01-01", periods=3, freq="MS")
    out = validate_series(pd.DataFrame({"unique_id": "a", "ds": ds, "y": [Decimal("812"), Decimal("1030"), Decimal("0")]}))
    assert out["y"].tolist() == [812.0, 1030.0, 0.0]
    assert out["y"].dtype == np.float64
    with pytest.raises(SchemaError, match=r"`y`: has missing values \(1 row: a @ 2022-02-01\)"):
        validate_series(pd.DataFrame({"unique_id": "a", "ds": ds, "y": [Decimal("812"), Decimal("NaN"), Decimal("0")]}))


@pytest.mark.parametrize("other", ["Juanda ", " Juanda", "JUANDA", "Juanda\u00a0"])
def test_ids_that_differ_only_in_spaces_or_case_are_named_not_split_into_two_series(other):
    # a spreadsheet pads some cells: 'Juanda ' on every other month made two series of 61-day steps, refused as "the
    # usual step between periods is 61 days, not a day, week or month", nothing said about the ids
    ds = pd.date_range("2022-01-01", periods=12, freq="MS")
    ids = np.where(np.arange(12) % 3 == 0, other, "Juanda")  # 4 of the 12 months
    with pytest.raises(SchemaError) as err:
        validate_series(pd.DataFrame({"unique_id": ids, "ds": ds, "y": np.arange(12.0) + 100}))
    assert [p.column for p in err.value.problems] == ["unique_id"]
    assert (f"column `unique_id`: ids that differ only in spaces or case ({'Juanda'!r} and {other!r}), whose series would be "
            "two where one was meant (4 rows: ") in str(err.value)
    assert "Fix: write each series' id one way" in str(err.value)


@pytest.mark.parametrize("placeholder", ["1677-10-01", "1800-01-01", "2262-04-01"])
def test_a_placeholder_period_far_outside_any_arrival_record_is_refused_by_name(placeholder):
    # A database's "no date" (pandas' earliest or latest month, a 1800 default) in one row of a monthly series: on
    # pandas 2 the step between it and 2018 overflowed into a raw OverflowError, on pandas 3 it was reported as
    # centuries of missing months whose fix (fill_gaps) would fill them with zeros. It is no period of arrivals.
    ds = pd.date_range("2018-01-01", periods=24, freq="MS")
    df = pd.DataFrame({"unique_id": "a", "ds": ds, "y": np.arange(24.0)})
    df.loc[0, "ds"] = pd.Timestamp(placeholder)
    with pytest.raises(SchemaError, match=r"`ds`: periods before 1900 or from 2200 on \(1 row: a @ " + placeholder + r"\)"):
        validate_series(df)


def test_series_at_different_frequencies_are_named_not_called_gappy():
    # A monthly port beside a daily one: the frequency was read as daily (the commoner step) and the monthly port was
    # refused as "series have gaps", with the fix "add the missing periods with their counts" (1,700 invented days).
    monthly = pd.DataFrame({"unique_id": "port/A", "ds": pd.date_range("2015-01-01", periods=60, freq="MS"), "y": 1000.0})
    daily = pd.DataFrame({"unique_id": "port/B", "ds": pd.date_range("2019-06-14", periods=200, freq="D"), "y": 3.0})
    with pytest.raises(SchemaError) as info:
        validate_series(pd.concat([monthly, daily], ignore_index=True))
    text = str(info.value)
    assert "different frequencies" in text and "'M': port/A" in text and "'D': port/B" in text
    assert "aggregate" in text and "series have gaps" not in text
    # one frequency with a gap is still a gap
    with pytest.raises(SchemaError, match="series have gaps"):
        validate_series(monthly.drop(index=[10]))
