"""Bad inputs to in-country monitoring: refused with the column named, never dropped or crashed on (issue #15 rerun)."""

from __future__ import annotations

import pandas as pd
import pytest

from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import ConfigError, SchemaError
from riskmodel.core.sources.contracts import check_source
from riskmodel.core.sources.features import monitoring_snapshot
from riskmodel.core.sources.generate import make_sources
from riskmodel.core.sources.monitor import monitor_training_table

AS_OF = pd.Timestamp("2022-09-30")


@pytest.fixture(scope="module")
def src():
    return make_sources(make_crossings(600, "2021-01-01", "2022-12-31", seed=3), seed=3)


def _tables(src, **replace):
    tables = {name: t.copy() for name, t in src.tables().items()}
    tables.update(replace)
    return tables


def test_a_record_without_known_at_is_refused_not_left_out_of_the_counts(src):
    reports = src.tables()["presence_reports"].copy()
    reports.loc[reports.index[:5], "known_at"] = pd.NaT
    with pytest.raises(SchemaError, match=r"known_at.*missing \(5 rows"):
        monitoring_snapshot(src.crossings, _tables(src, presence_reports=reports), AS_OF)


@pytest.mark.parametrize(
    ("name", "change", "match"),
    [
        ("presence_reports", lambda t: t.drop(columns="regency"), r"`regency`: required column is missing"),
        ("permit_applications", lambda t: t.assign(applied_at=t["applied_at"].astype(str)), r"`applied_at`: expected datetime"),
        ("presence_reports", lambda t: t.assign(known_at=t["known_at"].dt.tz_localize("Asia/Jakarta")), r"`known_at`: timezone-aware"),
        ("presence_reports", lambda t: t.assign(accommodation=t["accommodation"].astype(object).where(t.index > 3)), r"`accommodation`: value is missing"),
    ],
)
def test_a_broken_source_table_is_refused_naming_the_column(src, name, change, match):
    tables = _tables(src)
    tables[name] = change(tables[name])
    with pytest.raises(SchemaError, match=match):
        monitoring_snapshot(src.crossings, tables, AS_OF)


def test_a_broken_crossings_log_or_an_unknown_table_is_refused(src):
    with pytest.raises(SchemaError, match=r"`direction`: required column is missing"):
        monitoring_snapshot(src.crossings.drop(columns="direction"), _tables(src), AS_OF)
    with pytest.raises(SchemaError, match=r"unknown source table\(s\) \['visas'\]"):
        monitoring_snapshot(src.crossings, _tables(src, visas=src.tables()["enforcement"]), AS_OF)


@pytest.mark.parametrize(("as_of", "match"), [("yesterday-ish", "must be a date"), (pd.Timestamp("2022-09-30 12:00", tz="Asia/Makassar"), "time zone")])
def test_an_as_of_that_is_not_a_local_date_is_refused(src, as_of, match):
    with pytest.raises(SchemaError, match=match):
        monitoring_snapshot(src.crossings, _tables(src), as_of)


def test_a_day_before_any_data_gives_an_empty_snapshot(src):
    snap, counts = monitoring_snapshot(src.crossings, _tables(src), "2000-01-01")
    assert len(snap) == 0
    assert all(sum(c.values()) == 0 for c in counts.values())


def test_training_without_snapshot_days_is_refused(src):
    with pytest.raises(ConfigError, match="no snapshot day"):
        monitor_training_table(src.crossings, _tables(src), [], AS_OF)


@pytest.mark.parametrize(
    ("name", "column", "change", "match"),
    [
        ("enforcement", "known_at", lambda t: t["action_at"] - pd.Timedelta(days=30), "before `action_at`"),
        ("enforcement", "amount_idr", lambda t: -t["amount_idr"], "negative"),
        ("permit_applications", "new_permit_end", lambda t: t["applied_at"] - pd.Timedelta(days=400), "before `applied_at`"),
        ("permit_applications", "known_at", lambda t: t["applied_at"] - pd.Timedelta(days=30), "before `applied_at`"),
    ],
)
def test_impossible_times_and_amounts_are_problems(src, name, column, change, match):
    table = src.tables()[name].copy()
    assert check_source(name, table) == []
    table[column] = change(table)
    problems = [p for p in check_source(name, table) if p.column == column]
    assert problems and match in problems[0].problem


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        # two travellers whose ids were left blank become one, entering twice: the stays of neither are right
        ("traveller_id", "", r"(?s)crossings.*`traveller_id`: blank ids \(1 row: C000000000\)"),
        # an integer id never meets the text ids of the other sources' records
        ("traveller_id", 31, r"(?s)crossings.*`traveller_id`: ids that are not text \(1 row: C000000000\)"),
        ("document_id", "  ", r"(?s)crossings.*`document_id`: blank ids \(1 row: C000000000\)"),
    ],
)
def test_a_crossings_log_with_blank_or_non_text_ids_is_refused(src, column, value, match):
    """On main the monitoring inputs checked only the log's columns and types: an object column holding '' or 31 passed."""
    log = src.crossings.copy()
    log[column] = log[column].astype(object)
    log.loc[log.index[0], column] = value
    with pytest.raises(SchemaError, match=match):
        monitoring_snapshot(log, _tables(src), AS_OF)


def test_a_source_table_left_out_is_refused_not_read_as_no_records():
    """T1's permit (to 8 February) was extended to 8 March on 5 February. Monitoring without the permit table read
    it as "no application ever": on main T1 was an actual overstay on 20 February. An empty table says "none on
    file"; a table not given says nothing, so it is refused, naming it.
    """
    from .test_sources import _apps, _log, _tables_with

    log = _log(("C1", "T1", "entry", "2022-01-10 09:00", "2022-02-08", "D1"))
    apps = _apps(("A1", "T1", "2022-02-01 10:00", "2022-02-05 10:00", "2022-02-05 10:00", "granted", "2022-03-08"))
    snap, _ = monitoring_snapshot(log, _tables_with(permit_applications=apps), "2022-02-20")
    assert snap["permit_end_now"].tolist() == [pd.Timestamp("2022-03-08")] and snap["overstaying"].tolist() == [False]
    partial = {name: t for name, t in _tables_with(permit_applications=apps).items() if name != "permit_applications"}
    with pytest.raises(SchemaError, match=r"source table\(s\) not given: \['permit_applications'\].*empty table"):
        monitoring_snapshot(log, partial, "2022-02-20")


def _exit_log(days=200, seed=0):
    """A crossings log of ``days`` days up to 2023-06-30: Poisson entries and exits around 30 a day (40 on Fridays and
    Saturdays), at noon."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for day in pd.date_range(end="2023-06-30", periods=days):
        usual = 40 if day.weekday() in (4, 5) else 30
        for direction in ("entry", "exit"):
            rows += [(day + pd.Timedelta(hours=12), direction)] * int(rng.poisson(usual))
    return pd.DataFrame(rows, columns=["timestamp", "direction"])


def test_an_exit_feed_down_before_the_lists_day_is_said_with_the_days_and_counts():
    """With no exit recorded on the last 3 days, those who left then read as in the country, and as overstays once past
    their permit: 7 more names on a list of 24 (repro 10 of review18ops: 7 days down). Nothing checked the exit feed for
    the monitor (exit_feed_gaps never judges a log's last week). Each of the 7 days up to the day is judged against the
    same weekday's usual exits (as the nightly feed's rows); a day far below it is named with its count and the fix."""
    from riskmodel.core.sources.monitor import exit_feed_warnings

    log = _exit_log()
    as_of = pd.Timestamp("2023-06-30")
    assert exit_feed_warnings(log, as_of) == []
    down = log[~((log["direction"] == "exit") & (log["timestamp"] >= as_of - pd.Timedelta(days=2)))]
    lines = exit_feed_warnings(down, as_of)
    assert len(lines) == 1, lines
    for day in ("2023-06-28", "2023-06-29", "2023-06-30"):
        assert f"{day} (0" in lines[0], lines
    assert "2023-06-27" not in lines[0] and "exit" in lines[0] and "re-export" in lines[0], lines
    # entries are not exits: a log whose entries stopped says nothing here
    assert exit_feed_warnings(log[~((log["direction"] == "entry") & (log["timestamp"] >= as_of - pd.Timedelta(days=2)))], as_of) == []


def test_the_exit_feeds_usual_range_is_not_widened_by_the_days_it_judges():
    """The usual exits of 30 June come from the days before the week judged: the same whether the feed was down on 30 June
    alone or on 28-30 June (the outage's own zeros made it 'usually 5-145' on the seventh day of a week down)."""
    import re

    from riskmodel.core.sources.monitor import exit_feed_warnings

    log, as_of = _exit_log(), pd.Timestamp("2023-06-30")

    def usual_on_the_30th(days_down):
        down = log[~((log["direction"] == "exit") & (log["timestamp"] >= as_of - pd.Timedelta(days=days_down - 1)))]
        return re.search(r"2023-06-30 \(0 recorded; usually (\d+-\d+)\)", exit_feed_warnings(down, as_of)[0]).group(1)

    assert usual_on_the_30th(3) == usual_on_the_30th(1)


def _extended_exits(n: int) -> pd.DataFrame:
    """``n`` travellers who entered on a 30-day permit (to 8 February) and left in March on a permit extended to
    10 March (the exit record's), and T99 in the country on 25 March, whose permit (to 20 March) was extended to
    20 April: each extended exit is a granted extension the permit table must hold."""
    from .test_sources import _log

    rows = []
    for i in range(n):
        rows += [(f"C{i}a", f"T{i}", "entry", "2022-01-10 09:00", "2022-02-08", f"D{i}"),
                 (f"C{i}b", f"T{i}", "exit", f"2022-03-0{1 + i % 9} 09:00", "2022-03-10", f"D{i}")]
    return _log(*rows, ("C99", "T99", "entry", "2022-02-19 09:00", "2022-03-20", "D99"))


def test_an_empty_permit_table_is_refused_when_the_log_shows_extensions_granted():
    """A permit table with no record on file (a failed or unfinished load: TRUNCATE, then a COPY that broke) read as
    "no extension ever": T99, extended to 20 April on 15 March, was listed past the permit on 25 March, and every
    traveller extended since entry with them. The stopped-feed check judges a table by its own rhythm and skipped one
    with no record. The crossings log itself says extensions were granted: 10 exits on a permit past the entry's (a
    fact on file each, not a chance) with no permit record on file is refused, naming the table, the count and the fix;
    9 are not judged (the bound as written), nor is the same log with the grants on file."""
    from .test_sources import _apps, _tables_with

    grants = [(f"A{i}", f"T{i}", "2022-02-01 10:00", "2022-02-02 10:00", "2022-02-02 10:00", "granted", "2022-03-10") for i in range(10)]
    grants.append(("A99", "T99", "2022-03-14 10:00", "2022-03-15 10:00", "2022-03-15 10:00", "granted", "2022-04-20"))
    day = "2022-03-25"
    snap, _ = monitoring_snapshot(_extended_exits(10), _tables_with(permit_applications=_apps(*grants)), day)
    assert snap["stay_id"].tolist() == ["C99"] and snap["overstaying"].tolist() == [False]
    with pytest.raises(SchemaError, match=r"(?s)permit_applications.*no record on file by the end of 2022-03-25.*10 exits.*"
                                          r"read the permit applications again"):
        monitoring_snapshot(_extended_exits(10), _tables_with(), day)
    snap, _ = monitoring_snapshot(_extended_exits(9), _tables_with(), day)  # 9 extended exits: not judged
    assert snap["overstaying"].tolist() == [True]


def test_a_record_on_file_after_the_time_of_the_run_is_refused_not_left_out_of_every_day():
    """T1's permit (to 8 February) was extended to 8 March on 2 February, the decision's `known_at` mistyped 2033 for
    2022. Read as known in 2033, the grant counted on no day: on 20 February T1 was listed past the permit, with no
    word (the IncrementalReader refuses such a watermark, read_table and Parquet files did not). No record is on
    file after the run that reads it (a day's margin for local time): refused, naming the table, the column, the row
    and the fix; an exit keyed as 2033 (the stay read as open, the traveller past the permit) likewise."""
    from .test_sources import _apps, _log, _tables_with

    log = _log(("C1", "T1", "entry", "2022-01-10 09:00", "2022-02-08", "D1"))
    good = _apps(("A1", "T1", "2022-02-01 10:00", "2022-02-02 10:00", "2022-02-02 10:00", "granted", "2022-03-08"))
    snap, _ = monitoring_snapshot(log, _tables_with(permit_applications=good), "2022-02-20")
    assert snap["overstaying"].tolist() == [False]
    typo = good.assign(known_at=pd.to_datetime(["2033-02-02 10:00"]))
    with pytest.raises(SchemaError, match=r"(?s)permit_applications.*`known_at`: after the time of this run.*\(1 row: A1\)"
                                          r".*Fix: correct `known_at`"):
        monitoring_snapshot(log, _tables_with(permit_applications=typo), "2022-02-20")
    later = _log(("C1", "T1", "entry", "2022-01-10 09:00", "2022-02-08", "D1"), ("C2", "T1", "exit", "2033-02-05 09:00", "2022-03-08", "D1"))
    with pytest.raises(SchemaError, match=r"(?s)crossings.*`timestamp`: after the time of this run.*\(1 row: C2\)"):
        monitoring_snapshot(later, _tables_with(permit_applications=good), "2022-02-20")


def _ports_exit_log(days=200, seed=1):
    """A crossings log of ``days`` days up to 2023-06-30 at three ports: Poisson entries and exits around 150, 120 and 30
    a day, at noon."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for day in pd.date_range(end="2023-06-30", periods=days):
        for port, usual in (("Soekarno-Hatta", 150), ("Ngurah Rai", 120), ("Kualanamu", 30)):
            for direction in ("entry", "exit"):
                rows += [(day + pd.Timedelta(hours=12), direction, port)] * int(rng.poisson(usual))
    return pd.DataFrame(rows, columns=["timestamp", "direction", "port"])


def test_one_ports_exit_feed_down_is_said_naming_the_port():
    """Kualanamu's exits (about 30 a day of 300) missing on the last 3 days, the other ports whole: the day's total (about
    270 against 300) is within what days stray, and nothing was said, yet whoever left at Kualanamu then reads as in the
    country (review19drift 05's partial outage). Each port usually bringing 20 exits a day or more is judged as the total
    is (its own weekdays, its own spread, the days before the week only): the line names the port, its days (0 recorded)
    and the fix; the whole log says nothing."""
    from riskmodel.core.sources.monitor import exit_feed_warnings

    log, as_of = _ports_exit_log(), pd.Timestamp("2023-06-30")
    assert exit_feed_warnings(log, as_of) == []
    gone = (log["direction"] == "exit") & (log["port"] == "Kualanamu") & (log["timestamp"] >= as_of - pd.Timedelta(days=2))
    lines = exit_feed_warnings(log[~gone], as_of)
    assert len(lines) == 1, lines
    assert "Kualanamu" in lines[0] and "Ngurah Rai" not in lines[0] and "Soekarno-Hatta" not in lines[0], lines
    for day in ("2023-06-28", "2023-06-29", "2023-06-30"):
        assert f"{day} (0 recorded" in lines[0], lines
    assert "2023-06-27" not in lines[0] and "re-export" in lines[0], lines


def test_an_exit_feed_at_half_for_a_week_is_said_though_no_day_alone_is_far_off():
    """review19drift 05 and review20ops 07, left twice: half of each of the last 7 days' exits missing (a feed at half, a
    file cut at half). Each day alone reads about 15 against 30, inside the red tail (amber at most), so nothing was said,
    and whoever left then reads as in the country, an overstay once past the permit. The 7 days together (about 105
    against 225; a sum of 7 days strays far less than a day) are judged as each day is, on the weeks before only: one line
    naming the days, the exits recorded and the fix. One port at half for the week, the others whole, is named the same
    way. The whole logs say nothing."""
    import numpy as np

    from riskmodel.core.sources.monitor import exit_feed_warnings

    log, as_of = _exit_log(), pd.Timestamp("2023-06-30")
    week = (log["direction"] == "exit") & (log["timestamp"] >= as_of - pd.Timedelta(days=6))
    half = week & (np.random.default_rng(1).random(len(log)) < 0.5)
    kept = int((week & ~half).sum())
    lines = exit_feed_warnings(log[~half], as_of)
    assert len(lines) == 1, lines
    assert f"2023-06-24 to 2023-06-30 ({kept} recorded; usually " in lines[0] and "re-export" in lines[0], lines
    assert "2023-06-23" not in lines[0], lines

    ports = _ports_exit_log()
    assert exit_feed_warnings(ports, as_of) == []
    at_kno = (ports["direction"] == "exit") & (ports["port"] == "Kualanamu") & (ports["timestamp"] >= as_of - pd.Timedelta(days=6))
    half = at_kno & (np.random.default_rng(2).random(len(ports)) < 0.5)
    lines = exit_feed_warnings(ports[~half], as_of)
    assert len(lines) == 1 and "Kualanamu" in lines[0] and "Ngurah Rai" not in lines[0], lines
    assert f"2023-06-24 to 2023-06-30 ({int((at_kno & ~half).sum())} recorded; usually " in lines[0], lines
