"""Stays and history features on Spark equal the pandas path, every column (local[2], a few thousand travellers).

Runs in .venv-pandas2 (pyspark needs pandas < 3), like tests/test_spark.py.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pandas as pd
import pytest

if importlib.util.find_spec("pyspark") is None and int(pd.__version__.split(".")[0]) >= 3:
    pytest.skip("pyspark needs pandas < 3: scripts/test runs this file in .venv-pandas2", allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402

from riskmodel.core.datasets import make_crossings  # noqa: E402
from riskmodel.core.exceptions import SchemaError  # noqa: E402
from riskmodel.core.features import add_history_features, build_features, label_mature  # noqa: E402
from riskmodel.core.stays import build_stays  # noqa: E402
from riskmodel.integrations.spark_features import (  # noqa: E402
    add_history_features_spark,
    build_features_spark,
    build_stays_spark,
    label_mature_spark,
)

pytestmark = pytest.mark.spark
AS_OF = "2022-06-30 12:00"


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]").appName("riskmodel-tests-features")
        .config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """3,000 synthetic travellers over five years, as a Parquet file (the production input)."""
    crossings = make_crossings(3_000, "2018-01-01", "2022-12-31", seed=11).crossings
    path = tmp_path_factory.mktemp("log") / "crossings.parquet"
    crossings.to_parquet(path, index=False)
    return crossings, path


def assert_frames_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Every column equal, row by row after sorting by stay id; missing equals missing.

    Numbers are compared to 1e-9 relative: the pandas path reads window sums as differences of
    one running total over all travellers, which rounds in the last digits; Spark sums per
    traveller. Everything else (ids, text, times, counts, flags) is compared exactly.
    """
    assert list(got.columns) == list(want.columns)
    got = got.sort_values("stay_id", kind="stable").reset_index(drop=True)
    want = want.sort_values("stay_id", kind="stable").reset_index(drop=True)
    assert len(got) == len(want) > 0
    for c in want.columns:
        w, g = want[c], got[c]
        if pd.api.types.is_float_dtype(w.dtype):
            np.testing.assert_allclose(g.to_numpy(float, na_value=np.nan), w.to_numpy(float), rtol=1e-9, atol=0, err_msg=c)
        elif pd.api.types.is_datetime64_any_dtype(w.dtype):
            assert (pd.to_datetime(g).astype("datetime64[ns]").fillna(pd.Timestamp(0)) == w.astype("datetime64[ns]").fillna(pd.Timestamp(0))).all(), c
        else:
            assert [_plain(v) for v in g] == [_plain(v) for v in w], c


def _plain(v):
    """A cell as None, int (counts, flags: Spark's nullable ints arrive as floats in pandas) or text."""
    if pd.isna(v):
        return None
    if isinstance(v, bool | np.bool_ | int | np.integer) or (isinstance(v, float | np.floating) and float(v).is_integer()):
        return int(v)
    return str(v)


def test_build_stays_spark_equals_pandas(spark, log):
    crossings, path = log
    want = build_stays(crossings, as_of=AS_OF)
    got = build_stays_spark(spark.read.parquet(str(path)), as_of=AS_OF).toPandas()
    assert want["overstayed"].isna().any() and want["overstayed"].fillna(False).any()  # all three label states occur
    assert_frames_equal(got, want)


def test_build_features_spark_equals_pandas_every_column(spark, log):
    crossings, path = log
    want = build_features(crossings, as_of=AS_OF)
    got = build_features_spark(spark.read.parquet(str(path)), as_of=AS_OF).toPandas()
    assert (want["prior_exits"] > 0).mean() > 0.2 and (want["prior_overstays"] > 0).any()  # the history is not empty
    assert_frames_equal(got, want)


def test_history_equal_to_pandas_when_an_exit_and_entries_share_a_second(spark, tmp_path):
    # the Spark exit history reads running sums up to the last earlier-second stay, less that stay when its
    # exit falls at the entry's very second: one traveller here re-enters at the second of an exit, and then
    # enters again at that same second with no exit between (ids follow the log order, as the pandas path does)
    crossings = make_crossings(30, "2018-01-01", "2022-12-31", seed=11).crossings
    mine = crossings.index[crossings["traveller_id"] == "T00000024"]
    assert list(crossings.loc[mine[:6], "direction"]) == ["entry", "exit"] * 3
    x_a, e_b, x_b, e_c, x_c, e_d = mine[1:7]
    crossings.loc[e_b, "timestamp"] = crossings.loc[x_a, "timestamp"]
    crossings.loc[[e_c, e_d], "timestamp"] = crossings.loc[x_b, "timestamp"]
    crossings = crossings.drop(index=x_c)  # stay c has no exit: the next crossing is entry d, at its second
    crossings.to_parquet(tmp_path / "ties.parquet", index=False)
    want = build_features(crossings, validate=False)  # validation refuses the entry without an exit, on both paths
    got = build_features_spark(spark.read.parquet(str(tmp_path / "ties.parquet")), validate=False).toPandas()
    at = want.set_index("stay_id").loc[crossings.loc[[e_b, e_c, e_d], "crossing_id"], "prior_exits"]
    assert list(at) == [0, 1, 1]  # the exit at the entry's second does not count; stay c's lack of an exit neither
    assert_frames_equal(got, want)


def test_overstay_days_count_calendar_days_when_permits_end_at_their_last_second(spark, log, tmp_path):
    # the last permitted day given to 23:59:59: a stay one day late is one day late, on Spark as in pandas (the floor of
    # the exit day less the permit's last second counted it as 0 days, an overstay with no days)
    crossings = log[0].assign(permit_end=lambda d: (d["permit_end"] + pd.Timedelta(hours=23, minutes=59, seconds=59)).astype(d["permit_end"].dtype))
    crossings.to_parquet(tmp_path / "late_second.parquet", index=False)
    want = build_stays(crossings, as_of=AS_OF)
    got = build_stays_spark(spark.read.parquet(str(tmp_path / "late_second.parquet")), as_of=AS_OF).toPandas()
    late = got[got["overstayed"].astype("boolean").fillna(False)]
    assert len(late) > 50 and (late["overstay_days"] >= 1).all()
    assert_frames_equal(got, want)


def test_features_equal_in_another_session_time_zone(spark, log):
    # TIMESTAMP columns from createDataFrame are instants in the session zone: days must still be local days
    crossings, _ = log
    stays = build_stays(crossings, as_of=AS_OF)
    plain = stays.astype({c: object for c in stays.columns if isinstance(stays[c].dtype, pd.CategoricalDtype)})
    spark.conf.set("spark.sql.session.timeZone", "Asia/Jakarta")
    try:
        got = add_history_features_spark(spark.createDataFrame(plain.astype({"overstayed": object, "has_return_ticket": object}))).toPandas()
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    want = add_history_features(stays)
    assert_frames_equal(got.drop(columns=["entry_time", "exit_time", "permit_end", "final_permit_end"]),
                        want.drop(columns=["entry_time", "exit_time", "permit_end", "final_permit_end"]))


def test_label_mature_spark_equals_pandas(spark, log):
    crossings, path = log
    stays = build_stays(crossings, as_of=AS_OF)
    want = stays.loc[label_mature(stays, AS_OF), "stay_id"].tolist()
    got = build_stays_spark(spark.read.parquet(str(path)), as_of=AS_OF).where(label_mature_spark(cutoff=AS_OF))
    assert 0 < len(want) < len(stays)
    assert sorted(r[0] for r in got.select("stay_id").collect()) == sorted(want)


def test_spark_features_refuse_a_table_without_the_columns_they_need(spark, log):
    _, path = log
    with pytest.raises(SchemaError, match="final_permit_end"):
        add_history_features_spark(build_stays_spark(spark.read.parquet(str(path))).drop("final_permit_end"))


def test_spark_as_of_refuses_a_zoned_time(spark, log):
    _, path = log
    with pytest.raises(SchemaError, match="time zone"):
        build_stays_spark(spark.read.parquet(str(path)), as_of="2022-06-30T00:00+07:00")


def test_a_stay_with_no_permit_end_is_no_known_overstay_as_in_pandas(spark, tmp_path):
    # the crossings contract allows an entry with no permit end; on main pandas counted it an overstay of 1.07e14 days
    # and Spark read the share of the permit used as the stay's days over 1 (greatest() skips a null): both give the
    # hand-made figures of tests/test_features.py, and each other's every column
    from tests.test_features import check_no_permit_end_features, no_permit_end_log

    log = no_permit_end_log()
    log.to_parquet(tmp_path / "no_permit_end.parquet", index=False)
    got = build_features_spark(spark.read.parquet(str(tmp_path / "no_permit_end.parquet"))).toPandas()
    assert sorted(got["stay_id"]) == ["C1", "C3", "C5"]
    check_no_permit_end_features(got)
    assert_frames_equal(got, build_features(log))
    # add_history_features_spark on stays reads the exits as events (not build_features_spark's sequential windows)
    got = add_history_features_spark(build_stays_spark(spark.read.parquet(str(tmp_path / "no_permit_end.parquet")))).toPandas()
    assert sorted(got["stay_id"]) == ["C1", "C3", "C5"]
    check_no_permit_end_features(got)


def test_a_permit_cut_short_before_the_exit_is_judged_alike_on_all_three_paths(spark, tmp_path):
    # the permit in force at exit is the exit record's (revoked, shortened or extended), on Spark as in pandas and at
    # the border: hand-made labels of tests/test_stays.py, and build_stays' every column on the three paths
    from riskmodel.core.entry import features_at_entry
    from tests.test_stays import CUT_SHORT, cut_short_log

    log = cut_short_log().astype({"timestamp": "datetime64[us]", "permit_end": "datetime64[us]"})  # Spark reads no ns
    log.to_parquet(tmp_path / "cut_short.parquet", index=False)
    got = build_stays_spark(spark.read.parquet(str(tmp_path / "cut_short.parquet")), as_of="2019-04-14 23:59").toPandas()
    want = build_stays(log, as_of="2019-04-14 23:59")
    border = pd.concat([features_at_entry(e.to_dict(), log.loc[log["traveller_id"] == e["traveller_id"]], as_of="2019-04-14 23:59",
                                          as_frame=True)[list(want.columns)] for _, e in log.loc[log["direction"] == "entry"].iterrows()])
    first = got.loc[got["stay_id"] != "C8"].set_index("traveller_id")
    for traveller, (final, late, days) in CUT_SHORT.items():
        assert pd.Timestamp(first.loc[traveller, "final_permit_end"]) == pd.Timestamp(final), traveller
        assert (bool(first.loc[traveller, "overstayed"]), int(first.loc[traveller, "overstay_days"])) == (late, days), traveller
    assert_frames_equal(got, want)
    assert_frames_equal(border.reset_index(drop=True), want)
    got = build_features_spark(spark.read.parquet(str(tmp_path / "cut_short.parquet"))).toPandas().set_index("stay_id")
    assert (got.loc["C8", "prior_overstays"], got.loc["C8", "prior_overstay_days"]) == (1, 21)


def test_an_as_of_after_the_logs_last_day_is_refused_as_in_pandas(spark, log):
    """build_stays and build_features refuse an as_of on a day after the log's last crossing (exits after the log ends
    are not on file, so everyone still in then would be labelled an overstayer by their permit alone); the Spark forms
    took it and labelled them. Later on the log's last day is taken, as in pandas."""
    import re

    crossings, path = log
    last = crossings["timestamp"].max()
    assert last.normalize() == pd.Timestamp("2022-12-31")
    df = spark.read.parquet(str(path))
    for fn in (build_stays_spark, build_features_spark):
        with pytest.raises(SchemaError, match=rf"`as_of`: `as_of` 2023-01-01 00:00:00 is after the last crossing of the log "
                                              rf"\({re.escape(str(last))}\).*Fix: give an as-of day on or before the log's last day"):
            fn(df, as_of="2023-01-01")
    assert build_stays_spark(df, as_of="2022-12-31 23:59").count() == int((crossings["direction"] == "entry").sum())


def test_build_stays_spark_refuses_what_build_stays_refuses(spark, tmp_path):
    """build_stays checks the log first (validate=True); the Spark form ran no check: exits written `EXIT` made every
    entry a stay still open, a day's rows delivered twice paired each repeated entry with its own copy, a lower-case
    nationality and a missing traveller id went into the stays, all without a word. Each is refused now with the problems
    build_stays names (column, problem, rows); validate=False takes the log as it is, as in pandas."""
    crossings = make_crossings(200, "2019-01-01", "2019-06-30", seed=2).crossings
    crossings = crossings.astype({"timestamp": "datetime64[us]", "permit_end": "datetime64[us]"})  # Spark reads no ns
    cases = {
        "caps": crossings.assign(direction=crossings["direction"].astype(str).str.upper()),
        "twice": pd.concat([crossings, crossings.iloc[50:80]], ignore_index=True),
        "lower": crossings.assign(nationality=crossings["nationality"].astype(str).str.lower()),
        "no_id": crossings.assign(traveller_id=crossings["traveller_id"].astype(object).where(crossings.index != 3, None)),
    }
    for name, log in cases.items():
        with pytest.raises(SchemaError) as want:
            build_stays(log)
        log.to_parquet(tmp_path / f"{name}.parquet", index=False)
        df = spark.read.parquet(str(tmp_path / f"{name}.parquet"))
        for fn in (build_stays_spark, build_features_spark):
            with pytest.raises(SchemaError) as got:
                fn(df)
            assert {(p.column, p.problem, p.n_rows) for p in got.value.problems} == {
                (p.column, p.problem, p.n_rows) for p in want.value.problems}, (name, fn.__name__)
    assert build_stays_spark(spark.read.parquet(str(tmp_path / "lower.parquet")), validate=False).count() == int(
        (crossings["direction"] == "entry").sum())


def test_a_local_time_in_a_daylight_saving_gap_of_the_session_zone_keeps_its_wall_clock(spark, tmp_path):
    """The log's times are local port times (TIMESTAMP_NTZ in Parquet). A cluster left on a zone with daylight saving
    (Europe/Amsterdam: 2019-03-31 02:00-02:59 does not exist there) read A's exit keyed 02:30 that night as 03:30: on Spark
    A's next stay was 5.1875 days after the exit and the stay before 88.8125 days long, in pandas (and by hand) 5 days
    5.5 hours and 88 days 18.5 hours. The module promises the wall clock "whatever spark.sql.session.timeZone is"."""
    from .test_stays import _log

    log = _log([("A", "entry", 0, 120), ("A", "exit", 89, None), ("A", "entry", 94, 30), ("B", "entry", 95, 30)])
    log.loc[1, "timestamp"] = pd.Timestamp("2019-03-31 02:30")
    log = log.astype({"timestamp": "datetime64[us]", "permit_end": "datetime64[us]"})
    log.to_parquet(tmp_path / "gap.parquet", index=False)
    spark.conf.set("spark.sql.session.timeZone", "Europe/Amsterdam")
    try:
        got = build_features_spark(spark.read.parquet(str(tmp_path / "gap.parquet"))).toPandas().set_index("stay_id")
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    second = got.loc["C2"]
    assert second["days_since_last_exit"] == pytest.approx(5 + 5.5 / 24, abs=1e-9)
    assert second["mean_prior_stay_days"] == pytest.approx(88 + 18.5 / 24, abs=1e-9)
    want = build_features(log).set_index("stay_id")
    for col in ("days_since_last_exit", "mean_prior_stay_days", "max_prior_stay_days", "permitted_days"):
        assert got.loc["C2", col] == pytest.approx(want.loc["C2", col], abs=1e-9), col


def test_a_crossing_after_the_time_of_the_run_is_refused_as_in_pandas(spark, tmp_path):
    """One exit keyed ten years ahead of today (a mistyped year) is the log's last crossing: build_stays refuses it (the
    labels' default as-of day, every open stay an overstayer then); build_stays_spark and the nightly run (whose as_of
    defaults to it) read the log as known then. Refused on Spark too, with pandas' words, validate=False included (as the
    as-of day after the log's end is)."""
    crossings = make_crossings(200, "2019-01-01", "2019-06-30", seed=2).crossings
    crossings = crossings.astype({"timestamp": "datetime64[us]", "permit_end": "datetime64[us]"})  # Spark reads no ns
    i = crossings.index[crossings["direction"] == "exit"][-1]
    crossings.loc[i, "timestamp"] = crossings.loc[i, "timestamp"].replace(year=pd.Timestamp.now().year + 10)
    crossings.to_parquet(tmp_path / "ahead.parquet", index=False)
    message = (rf"column `timestamp`: 1 crossing after the time of this run \(a day's margin for local time included: .*\)"
               rf".*\(1 row: {crossings.loc[i, 'crossing_id']}\)\. Fix: correct `timestamp`")
    with pytest.raises(SchemaError, match=message):
        build_stays(crossings)
    df = spark.read.parquet(str(tmp_path / "ahead.parquet"))
    for fn, validate in ((build_stays_spark, True), (build_stays_spark, False), (build_features_spark, True)):
        with pytest.raises(SchemaError, match=message):
            fn(df, validate=validate)


def test_a_last_crossing_after_an_impossible_silence_is_refused_as_in_pandas(spark, tmp_path):
    """build_stays refuses a log whose last crossing comes after a silence its own rhythm makes impossible (a year
    mistyped into the past, after the log's real end: the labels' default as-of day, every open stay an overstayer then);
    the Spark forms read it as the log's end. Refused on Spark too, with pandas' words; 10 days after is no silence."""
    crossings = make_crossings(200, "2019-01-01", "2019-06-30", seed=2).crossings
    crossings = crossings.astype({"timestamp": "datetime64[us]", "permit_end": "datetime64[us]"})  # Spark reads no ns
    i = crossings.index[crossings["direction"] == "exit"][-1]
    stray, near = crossings.copy(), crossings.copy()
    stray.loc[i, "timestamp"] = crossings["timestamp"].max() + pd.Timedelta(days=278)
    near.loc[i, "timestamp"] = crossings["timestamp"].max() + pd.Timedelta(days=10)
    stray.to_parquet(tmp_path / "stray.parquet", index=False)
    near.to_parquet(tmp_path / "near.parquet", index=False)
    message = (r"column `timestamp`: the last crossing comes 27\d days after the one before .*"
               rf"\(1 row: {crossings.loc[i, 'crossing_id']}\)\. Fix: correct `timestamp`")
    with pytest.raises(SchemaError, match=message):
        build_stays(stray)
    df = spark.read.parquet(str(tmp_path / "stray.parquet"))
    for fn in (build_stays_spark, build_features_spark):
        with pytest.raises(SchemaError, match=message):
            fn(df)
    assert build_stays_spark(spark.read.parquet(str(tmp_path / "near.parquet"))).count() == len(build_stays(near))
