"""Joining entries to exits, and labels as known at a point in time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel import SchemaError, build_stays, validate_stays

T0 = pd.Timestamp("2019-01-01 08:00")


def _log(rows):
    """A tiny crossings log from (traveller, direction, day offset, permit days) tuples."""
    records = []
    for i, (traveller, direction, day, permit) in enumerate(rows):
        ts = T0 + pd.Timedelta(days=day)
        entry = direction == "entry"
        records.append(
            {
                "crossing_id": f"C{i}",
                "traveller_id": traveller,
                "direction": direction,
                "timestamp": ts,
                "port": "Ngurah Rai",
                "nationality": "AUS",
                "sex": "F",
                "birth_year": 1980,
                "document_type": "passport",
                "document_id": "D1",
                "visa_type": "voa" if entry else None,
                "permit_end": ts.normalize() + pd.Timedelta(days=permit - 1) if permit else pd.NaT,
                "purpose": "tourism" if entry else None,
                "sponsor": "none" if entry else None,
                "has_return_ticket": True if entry else None,
                "accommodation": "hotel" if entry else None,
                "group_size": 1 if entry else None,
                "planned_stay_days": 10 if entry else None,
            }
        )
    df = pd.DataFrame(records)
    df["group_size"] = df["group_size"].astype("Int32")
    df["planned_stay_days"] = df["planned_stay_days"].astype("Int32")
    df["has_return_ticket"] = df["has_return_ticket"].astype("boolean")
    return df


def test_pairs_entries_with_exits_and_labels_them():
    log = _log(
        [
            ("A", "entry", 0, 30), ("A", "exit", 29, None),  # leaves on the last permitted day
            ("B", "entry", 0, 30), ("B", "exit", 34, None),  # five days after the last permitted day (29)
            ("C", "exit", 1, None),  # already in the country when the log starts: no stay
            ("D", "entry", 0, 30),  # never leaves
            ("E", "entry", 50, 30),  # still within the permit at as_of
            ("Z", "entry", 59, 30),  # the log runs to the as-of day (later that day: not read)
        ]
    )
    stays = build_stays(log, as_of="2019-03-01")
    validate_stays(stays)
    by = stays.set_index("traveller_id")
    assert list(by.index) == ["A", "B", "D", "E"]
    assert by.loc["A", "overstayed"] == False  # noqa: E712 - pandas nullable boolean
    assert by.loc["B", "overstayed"] == True  # noqa: E712
    assert by.loc["B", "overstay_days"] == 5
    assert by.loc["D", "overstayed"] == True  # noqa: E712
    assert pd.isna(by.loc["E", "overstayed"])
    assert pd.isna(by.loc["D", "exit_time"])


def test_extension_recorded_at_exit_counts():
    log = _log([("A", "entry", 0, 30), ("A", "exit", 50, None)])
    log.loc[1, "permit_end"] = pd.Timestamp("2019-03-01")  # extended by 30 days, in force at exit
    stays = build_stays(log)
    assert stays.loc[0, "overstayed"] == False  # noqa: E712
    assert stays.loc[0, "final_permit_end"] == pd.Timestamp("2019-03-01")


def test_as_of_ignores_later_crossings():
    log = _log([("A", "entry", 0, 30), ("A", "exit", 40, None), ("Z", "entry", 45, 30)])  # Z: the log runs to day 45
    before = build_stays(log, as_of=T0 + pd.Timedelta(days=20))
    assert pd.isna(before.loc[0, "exit_time"]) and pd.isna(before.loc[0, "overstayed"])
    after = build_stays(log, as_of=T0 + pd.Timedelta(days=45))
    assert after.loc[0, "overstayed"] == True  # noqa: E712


def test_as_of_text_is_read_as_iso_8601_only():
    """`build_stays(log, as_of="10/02/2019")` (10 February, day first) was read as 2 October, so the log was read as
    known eight months later than asked (later exits and labels counted). Text is ISO 8601 only, as every date reader
    of the library reads it; 'now' (the moment of reading) is refused too."""
    log = _log([("A", "entry", 0, 30), ("A", "exit", 40, None)])
    for text in ("10/02/2019", "now", "Feb 10 2019"):
        with pytest.raises(SchemaError, match=rf"`as_of`: .*{text!r}.*ISO 8601.*Fix: .*2023-06-30"):
            build_stays(log, as_of=text)
    assert pd.isna(build_stays(log, as_of="2019-01-21").loc[0, "exit_time"])  # T0 + 20 days, ISO: as before


def test_generated_stays_are_rebuilt_from_the_log(small_data):
    rebuilt = build_stays(small_data.crossings, as_of=small_data.as_of + pd.Timedelta(hours=23, minutes=59, seconds=59))
    pd.testing.assert_frame_equal(rebuilt, small_data.stays)


def test_bad_as_of():
    with pytest.raises(SchemaError, match=r"`as_of` must be a date or timestamp; got 'soon'"):
        build_stays(_log([("A", "entry", 0, 30)]), as_of="soon")


def test_empty_log_gives_an_empty_valid_stays_table():
    log = _log([("A", "entry", 0, 30), ("A", "exit", 10, None)])
    full = build_stays(log)
    for empty in (build_stays(log.iloc[0:0]), build_stays(log.iloc[0:0], validate=False), build_stays(log, as_of="2000-01-01")):
        assert len(empty) == 0 and list(empty.columns) == list(full.columns)
        assert [repr(t) for t in empty.dtypes] == [repr(t) for t in full.dtypes]
        assert validate_stays(empty) is empty


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        (pd.Timestamp("2019-02-01", tz="UTC"), r"`as_of` carries a time zone \(2019-02-01 00:00:00\+00:00\)"),
        ("2019-02-01T00:00+08:00", r"`as_of` carries a time zone"),
        (pd.NaT, r"`as_of` is missing \(got NaT\)"),
        ("99999-01-01", r"`as_of` must be a date or timestamp; got '99999-01-01'"),
    ],
)
def test_as_of_with_a_zone_or_missing_is_refused(as_of, message):
    with pytest.raises(SchemaError, match=message):
        build_stays(_log([("A", "entry", 0, 30)]), as_of=as_of)


@pytest.mark.parametrize("validate", [True, False])
def test_timezone_aware_log_is_refused_not_compared_across_zones(validate):
    log = _log([("A", "entry", 0, 30), ("A", "exit", 10, None)])
    log["timestamp"] = log["timestamp"].dt.tz_localize("Asia/Makassar")
    with pytest.raises(SchemaError, match=r"column `timestamp`: timezone-aware timestamps \(datetime64\[\w+, Asia/Makassar\]\)"):
        build_stays(log, as_of="2019-02-01", validate=validate)


def test_still_in_on_the_last_permitted_day_is_not_yet_an_overstay():
    # permit of 30 days from 2019-01-01: the last permitted day is 2019-01-30 (an exit that day is on time)
    log = _log([("D", "entry", 0, 30), ("Z", "entry", 30, 30)])  # Z enters at 08:00 on 31 January: the log runs to then
    on_last_day = build_stays(log, as_of="2019-01-30 23:00")
    assert on_last_day["overstayed"].isna().all() and on_last_day["overstay_days"].isna().all()  # not known yet
    next_day = build_stays(log, as_of="2019-01-31 00:30")
    assert next_day["overstayed"].tolist() == [True] and next_day["overstay_days"].tolist() == [1]


@pytest.mark.parametrize("permit_end", ["2019-01-30 23:59:59", "2019-01-30 12:00"])
def test_overstay_days_count_calendar_days_past_a_last_day_given_with_its_time(permit_end):
    # The last permitted day is 30 January, given to its last second (or to noon): an exit on 31 January at 08:00 is one
    # day late, as linking and the prior_overstay_days feature count it. The label floored the 8 h 1 s past 23:59:59 to 0
    # days, so an overstayer was labelled with no days (a one-day charge then matched no stay's days).
    from riskmodel.core.entry import features_at_entry

    log = _log([("B", "entry", 0, 30), ("B", "exit", 30, None), ("D", "entry", 0, 30), ("Z", "exit", 32, None)])  # Z leaves 2 Feb
    log["permit_end"] = log["permit_end"].where(log["direction"] == "exit", pd.Timestamp(permit_end))
    log.loc[1, "timestamp"] = pd.Timestamp("2019-01-31 08:00")
    stays = build_stays(log, as_of="2019-02-02 09:00").set_index("traveller_id")
    assert stays.loc["B", "overstayed"] == True and stays.loc["B", "overstay_days"] == 1  # noqa: E712
    assert stays.loc["D", "overstayed"] == True and stays.loc["D", "overstay_days"] == 3  # noqa: E712 - 31 Jan, 1 and 2 Feb
    entry = log.iloc[0].to_dict()
    row = features_at_entry(entry, log.iloc[[1]], as_of="2019-02-02 09:00")
    assert (row["overstayed"], row["overstay_days"]) == (True, 1)


#: Hand-made stays whose permit in force at exit (the exit record's `permit_end`) differs from the one granted at entry,
#: and the labels the contract gives them: the schema holds the exit row's permit end "as in force at exit", so a permit
#: revoked or shortened before the exit is the one a stay is judged by, as an extension is.
CUT_SHORT = {
    # traveller: (final_permit_end, overstayed, overstay_days)
    "A": ("2019-01-20", True, 21),  # 60 days granted (to 1 Mar), revoked to 20 Jan, left 10 Feb: 21 days late
    "B": ("2019-03-01", False, 0),  # 30 days granted (to 30 Jan), extended to 1 Mar, left 20 Feb
    "C": ("2019-01-10", False, 0),  # 60 days granted, cut to 10 Jan by a deportation order, left that day
    "D": ("2019-01-30", True, 6),  # 30 days granted, no permit end on the exit record: the granted one, left 5 Feb
}


def cut_short_log() -> pd.DataFrame:
    """The crossings of :data:`CUT_SHORT`, plus A's next entry (14 April, 30 days: not yet known at the log's end)."""
    log = _log([("A", "entry", 0, 60), ("A", "exit", 40, None), ("B", "entry", 0, 30), ("B", "exit", 50, None),
                ("C", "entry", 0, 60), ("C", "exit", 9, None), ("D", "entry", 0, 30), ("D", "exit", 35, None),
                ("A", "entry", 103, 30)])
    for crossing, permit in (("C1", "2019-01-20"), ("C3", "2019-03-01"), ("C5", "2019-01-10")):
        log.loc[log["crossing_id"] == crossing, "permit_end"] = pd.Timestamp(permit)
    return log


def test_a_permit_cut_short_before_the_exit_is_the_one_the_stay_is_judged_by():
    """The label took the later of the entry's and the exit's permit ends, so a permit revoked or shortened (a
    deportation order) was ignored: a traveller who left 21 days after the permit in force ended was labelled on time."""
    stays = build_stays(cut_short_log())
    validate_stays(stays)  # a permit cut short is a valid stay: final_permit_end before permit_end
    first = stays.loc[stays["stay_id"] != "C8"].set_index("traveller_id")
    for traveller, (final, late, days) in CUT_SHORT.items():
        assert first.loc[traveller, "final_permit_end"] == pd.Timestamp(final), traveller
        assert (first.loc[traveller, "overstayed"], first.loc[traveller, "overstay_days"]) == (late, days), traveller
    nxt = stays.set_index("stay_id").loc["C8"]
    assert pd.isna(nxt["overstayed"]) and nxt["final_permit_end"] == pd.Timestamp("2019-05-13")


def test_an_exit_whose_permit_ends_before_its_entry_day_is_refused():
    # a permit in force at exit cannot end before the stay began: such an exit record carries another stay's permit
    # (or a typo), and read as the permit in force it would label the stay an overstay of its whole length
    log = cut_short_log()
    log.loc[log["crossing_id"] == "C7", "permit_end"] = pd.Timestamp("2018-12-20")
    with pytest.raises(SchemaError, match=r"`permit_end`: permit in force at exit ends before the day of the entry it closes "
                                          r"\(1 row: C7\)\. Fix: .*exit"):
        build_stays(log)


def test_stays_whose_final_permit_ends_before_the_entry_day_are_refused():
    stays = build_stays(cut_short_log())
    stays.loc[stays["stay_id"] == "C6", "final_permit_end"] = pd.Timestamp("2018-12-31")
    with pytest.raises(SchemaError, match=r"`final_permit_end`: permit in force at exit ends before the entry day \(1 row: C6\)"):
        validate_stays(stays)


@pytest.mark.parametrize("validate", [True, False])
def test_an_as_of_after_the_logs_last_day_is_refused(validate):
    """The log ends on 13 January (D entered that day, 30 days' permit): read as of 14 February it knew nobody's exit
    after the 13th, yet labelled D an overstayer (permit to 11 February, no exit on file). build_features refused such an
    as_of; build_stays took it. Later on the log's last day is taken: labels are by day."""
    log = _log([("A", "entry", 0, 30), ("A", "exit", 10, None), ("D", "entry", 12, 30)])  # last crossing 2019-01-13 08:00
    with pytest.raises(SchemaError, match=r"`as_of`: `as_of` 2019-02-14 00:00:00 is after the last crossing of the log "
                                          r"\(2019-01-13 08:00:00\).*Fix: give an as-of day on or before the log's last day"):
        build_stays(log, as_of="2019-02-14", validate=validate)
    with pytest.raises(SchemaError, match=r"`as_of` 2019-01-14 00:00:00 is after the last crossing"):
        build_stays(log, as_of="2019-01-14", validate=validate)
    on_last_day = build_stays(log, as_of="2019-01-13 23:59", validate=validate).set_index("traveller_id")
    assert pd.isna(on_last_day.loc["D", "overstayed"]) and on_last_day.loc["A", "overstayed"] == False  # noqa: E712


def _daily_log(days: pd.DatetimeIndex, per_day: int) -> pd.DataFrame:
    """``per_day`` entries and ``per_day`` exits on each day: only the columns the feed check reads."""
    times = np.repeat(days.to_numpy(), per_day) + np.timedelta64(9, "h")
    return pd.DataFrame({"timestamp": np.r_[times, times + np.timedelta64(6, "h")],
                         "direction": ["entry"] * len(times) + ["exit"] * len(times)})


def test_a_week_of_entries_with_no_exit_is_a_broken_exit_feed():
    """A week in which dozens entered and not one left is the exit feed down, not the border (review17promote 04)."""
    from riskmodel.core.stays import exit_feed_gaps

    log = _daily_log(pd.date_range("2023-01-02", "2023-04-02"), 10)  # Monday 2 January to Sunday 2 April: 13 whole weeks
    down = (log["direction"] == "exit") & log["timestamp"].between("2023-03-06", "2023-03-13")  # the week of Monday 6 March
    gaps = exit_feed_gaps(log[~down])
    assert list(gaps["week"]) == [pd.Timestamp("2023-03-06")] and list(gaps["entries"]) == [70], gaps
    assert exit_feed_gaps(log).empty
    # fewer than 30 entries in the week: a small extract may see no exit by chance, not judged
    few = _daily_log(pd.date_range("2023-01-02", "2023-04-02"), 4)  # 28 entries a week
    assert exit_feed_gaps(few[~((few["direction"] == "exit") & few["timestamp"].between("2023-03-06", "2023-03-13"))]).empty
    # the log's first and last weeks may be cut short by the extract: not judged
    edge = (log["direction"] == "exit") & (log["timestamp"] < "2023-01-09")
    assert exit_feed_gaps(log[~edge]).empty


def test_a_crossing_keyed_after_the_time_of_the_run_is_refused_not_read_as_the_logs_end():
    """The log ends on 13 January 2019, D in the country within the permit (to 11 February): no label yet. A's exit keyed
    with a year ten ahead (a mistyped year) made the default as-of day that year's: D, still in then by the log, was
    labelled an overstayer, and so was A (an exit "after" the permit), and training_table kept both as mature labels (on the
    benchmark's generator: one such exit added 59 overstays to 83). The crossings the sources and the monitor read are
    refused after the time of the run; the labels' log was not."""
    from riskmodel.core.features import training_table

    log = _log([("A", "entry", 0, 30), ("A", "exit", 10, None), ("D", "entry", 12, 30)])
    right = build_stays(log).set_index("traveller_id")
    assert pd.isna(right.loc["D", "overstayed"]) and right.loc["A", "overstayed"] == False  # noqa: E712
    log.loc[1, "timestamp"] = log.loc[1, "timestamp"].replace(year=pd.Timestamp.now().year + 10)
    message = (r"column `timestamp`: 1 crossing after the time of this run \(a day's margin for local time included: .*\)"
               r".*\(1 row: C1\)\. Fix: correct `timestamp`")
    with pytest.raises(SchemaError, match=message):
        build_stays(log)
    with pytest.raises(SchemaError, match=message):
        training_table(log)


def test_a_last_crossing_after_a_silence_the_log_makes_impossible_is_refused():
    """A year mistyped into the past but after the log's real end (2020 for 2019, the run in 2026) passes the clock's check:
    T5's exit keyed a year late became the log's end, and D (in the country, within the permit when the log really ends)
    an overstayer then. About 2 crossings a day over the 90 days before, then 277 days with none before the last crossing:
    about 550 expected, no chance (the check asks for 30 expected, Poisson e^-30). Refused naming the crossing, the silence and
    the fix; the last crossing 10 days after the one before (about 20 expected) is not judged a mistake."""
    rows = []
    for i in range(100):
        rows += [(f"T{i}", "entry", i % 90, 30), (f"T{i}", "exit", i % 90 + 5, None)]
    rows.append(("D", "entry", 93, 30))
    log = _log(rows)
    right = build_stays(log).set_index("traveller_id")
    assert pd.isna(right.loc["D", "overstayed"])
    stray = log.index[(log["traveller_id"] == "T5") & (log["direction"] == "exit")][0]
    late = log.copy()
    late.loc[stray, "timestamp"] = log["timestamp"].max() + pd.Timedelta(days=278)
    with pytest.raises(SchemaError, match=rf"column `timestamp`: the last crossing comes 27\d days after the one before .*"
                                          rf"\(1 row: {log.loc[stray, 'crossing_id']}\)\. Fix: correct `timestamp`"):
        build_stays(late)
    near = log.copy()
    near.loc[stray, "timestamp"] = log["timestamp"].max() + pd.Timedelta(days=10)
    assert len(build_stays(near)) == 101
