"""The database reader under bad URLs, broken tables and incremental edge cases (issue #15 rerun).

Each case either gives a library error naming the problem (never the password) or reads every
row exactly once. A real PostgreSQL server as in tests/test_database.py.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import ConfigError, DatabaseUnavailableError, SchemaError, UnreadableFileError
from riskmodel.core.sources.generate import make_sources

sa = pytest.importorskip("sqlalchemy", reason="the `db` extra is not installed")
pytest.importorskip("psycopg", reason="the `db` extra is not installed")

from riskmodel.integrations.database import DATABASE_URL_ENV, IncrementalReader, engine_from_env, read_table, write_table  # noqa: E402

pytestmark = pytest.mark.slow  # starts a PostgreSQL server

SECRET = "Hunter2-not-for-logs"


@pytest.fixture(scope="module")
def reports():
    return make_sources(make_crossings(400, "2022-01-01", "2022-12-31", seed=4), seed=4).tables()["presence_reports"].head(60)


@pytest.fixture(scope="module")
def engine(postgres_url):
    return engine_from_env(postgres_url)


@pytest.mark.parametrize(
    ("url", "error", "match"),
    [
        (f"postgres ql://admin:{SECRET}@db:5432/x", ConfigError, "not a SQLAlchemy URL"),
        (f"oracle+nodriver://admin:{SECRET}@db/x", ConfigError, r"admin:\*\*\*@db/x .*driver"),
        (f"postgresql+psycopg://admin:{SECRET}@127.0.0.1:1/x", DatabaseUnavailableError, r"cannot connect .*admin:\*\*\*@127.0.0.1:1"),
    ],
)
def test_a_bad_url_is_a_library_error_without_the_password(monkeypatch, url, error, match):
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    with pytest.raises(error, match=match) as caught:
        read_table(engine_from_env(), "enforcement")
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no chained driver error carrying the URL


def test_a_wrong_password_on_a_real_server_is_a_library_error(engine):
    url = engine.url.set(username="nosuchuser", password=SECRET)
    with pytest.raises(DatabaseUnavailableError, match="nosuchuser") as caught:
        read_table(engine_from_env(url.render_as_string(hide_password=False)), "enforcement")
    assert SECRET not in str(caught.value)


def test_a_missing_table_or_column_names_it(engine, reports):
    with engine.begin() as con:
        con.execute(sa.text('DROP TABLE IF EXISTS "permit_applications"'))
    with pytest.raises(SchemaError, match="`permit_applications` does not exist"):
        read_table(engine, "permit_applications")
    write_table(engine, "presence_reports", reports)
    with engine.begin() as con:
        con.execute(sa.text('ALTER TABLE "presence_reports" DROP COLUMN "regency"'))
    with pytest.raises(SchemaError, match="`regency`: required column is missing"):
        read_table(engine, "presence_reports")


@pytest.mark.parametrize(("column", "garbage", "match"), [
    ("stay_from", "not a date", "not dates"), ("known_at", "2022-13-45", "not dates"),
    # day first, as Indonesia writes it: was read month first (2 January as 1 February), silently
    ("stay_from", "02/01/2022", "not dates"),
])
def test_values_of_the_wrong_kind_name_the_column_and_rows(engine, reports, column, garbage, match):
    bad = reports.astype({column: str})
    bad.loc[2, column] = garbage
    bad.to_sql("presence_reports", engine, if_exists="replace", index=False)
    with pytest.raises(SchemaError, match=rf"`{column}`: values that are {match} \('{garbage}'\) \(1 row: {reports.loc[2, 'report_id']}\)"):
        read_table(engine, "presence_reports")


def test_rows_without_a_watermark_stop_the_incremental_read_instead_of_vanishing(engine, reports, tmp_path):
    table = reports.copy()
    table.loc[[3, 20, 59], "known_at"] = pd.NaT
    write_table(engine, "presence_reports", table)
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=10)
    with pytest.raises(SchemaError, match=r"`known_at`: missing \(NULL\).* \(3 rows"):
        reader.read_into(tmp_path / "parts")
    assert not (tmp_path / "parts").exists() and not (tmp_path / "state.json").exists()


def test_a_time_zone_column_is_refused(engine, reports, tmp_path):
    write_table(engine, "presence_reports", reports)
    with engine.begin() as con:
        con.execute(sa.text("""ALTER TABLE "presence_reports" ALTER COLUMN "known_at" TYPE timestamptz USING "known_at" AT TIME ZONE 'Asia/Jakarta'"""))
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=10)
    with pytest.raises(SchemaError, match="`known_at`: a timestamp with a time zone"):
        reader.read_into(tmp_path / "parts")


@pytest.mark.parametrize("text", ["{not json", '{"watermark": "NaT", "last_id": "P1", "next_part": 1}', "[]",
                                  '{"watermark": "2022-05-01T10:00:00", "last_id": 1.5, "next_part": 1}',
                                  '{"watermark": "2022-05-01T10:00:00", "last_id": true, "next_part": 1}',
                                  '{"watermark": "2022-05-01T10:00:00", "last_id": null, "next_part": 1}'])
def test_a_corrupt_state_file_is_named(engine, reports, tmp_path, text):
    write_table(engine, "presence_reports", reports)
    (tmp_path / "state.json").write_text(text)
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=10)
    with pytest.raises(UnreadableFileError, match="state.json"):
        reader.read_into(tmp_path / "parts")


def test_the_monitor_command_exits_4_without_the_password_when_the_database_is_down(capsys):
    from riskmodel.apps.cli import main

    code = main(["monitor", "--as-of", "2023-03-31", "--database", f"postgresql+psycopg://admin:{SECRET}@127.0.0.1:1/x", "--quiet"])
    err = capsys.readouterr().err
    assert code == 4
    assert "cannot connect to the database" in err and SECRET not in err and "Traceback" not in err


def test_an_id_repeated_at_the_same_watermark_stops_the_read_instead_of_being_skipped(engine, reports, tmp_path):
    table = reports.head(20).copy()
    table["known_at"] = pd.Timestamp("2022-05-01")
    table.loc[11, "report_id"] = table.loc[10, "report_id"]
    write_table(engine, "presence_reports", table)
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=1)
    with pytest.raises(SchemaError, match=rf"`report_id`: the same id at the same `known_at` .*\(1 row: {table.loc[10, 'report_id']}\)"):
        reader.read_into(tmp_path / "parts")
    # distinct ids at one watermark are all read, once each
    table.loc[11, "report_id"] = "P-distinct"
    write_table(engine, "presence_reports", table)
    assert reader.read_into(tmp_path / "parts") == 20


def test_a_level_outside_the_contract_is_named_not_read_as_missing(engine):
    """A visa code the contract does not know (``b211a``) in the crossings table: as a pandas
    category it would become a missing value, and the row would be judged for a missing visa."""
    crossings = make_crossings(200, "2022-01-01", "2022-06-30", seed=5).crossings
    bad = crossings.astype({"visa_type": object})
    row = int(bad.index[(bad["direction"] == "entry").to_numpy()][3])
    bad.loc[row, "visa_type"] = "b211a"
    bad.to_sql("crossings", engine, if_exists="replace", index=False)  # (astype(str) would write pandas 2's missing as 'nan')
    with pytest.raises(SchemaError, match=rf"`visa_type`: values that are not one of the contract's levels .*\('b211a'\) \(1 row: {crossings.loc[row, 'crossing_id']}\)"):
        read_table(engine, "crossings")


def _stop_after(parts: int):
    """An on_part hook that fails the read once it has written more parts than the table can fill (a read going round in circles)."""
    seen = []

    def hook(part):
        seen.append(part)
        if len(seen) > parts:
            raise AssertionError(f"more than {parts} parts written: the read repeats rows")

    return hook


def test_rows_sharing_a_watermark_in_sqlite_are_read_once_each(reports, tmp_path):
    """SQLite holds times as text ("2022-05-01 10:00:00.000000") and compared them with the saved watermark bound as
    "2022-05-01 10:00:00": every stored time was after it, so each batch read the same first rows again and wrote them
    as new parts for ever (42,000 parts of the same 7 rows before it was stopped)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    table = reports.assign(known_at=pd.Timestamp("2022-05-01 10:00"))
    write_table(engine, "presence_reports", table)
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=7)
    assert reader.read_into(tmp_path / "parts", on_part=_stop_after(9)) == 60
    got = pd.read_parquet(tmp_path / "parts")
    assert got["report_id"].is_unique and set(got["report_id"]) == set(table["report_id"])
    assert reader.read_into(tmp_path / "parts", on_part=_stop_after(0)) == 0


def test_a_watermark_the_database_compares_as_text_of_another_format_stops_the_read_instead_of_repeating_rows(reports, tmp_path):
    """Times stored as text by another tool ("2022-05-01T10:00:00") are compared as text with the saved watermark:
    the read went round in circles; the reader must stop, naming the column and the fix, before writing a row twice."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    write_table(engine, "presence_reports", reports)
    with engine.begin() as con:
        con.execute(sa.text("UPDATE presence_reports SET known_at = replace(substr(known_at, 1, 19), ' ', 'T')"))
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=7)
    with pytest.raises(SchemaError, match=r"`known_at`: the database returned rows this reader had already read"):
        reader.read_into(tmp_path / "parts", on_part=_stop_after(9))
    got = pd.read_parquet(tmp_path / "parts")
    assert got["report_id"].is_unique
    assert reader.state()["next_part"] == len(list((tmp_path / "parts").glob("part-*.parquet")))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names synced files through /proc (Linux)")
def test_each_part_is_on_disk_before_the_state_moves_past_it(reports, tmp_path, monkeypatch):
    """The state moved past a part that was only in the page cache (no fsync of the part nor of its rename): a power
    cut after the state's rename reached the disk left an empty or missing part and a watermark beyond its rows, so
    the next run never read them again."""
    from riskmodel.integrations.database import tables

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(tables.os, "fsync", fsync)
    monkeypatch.setattr(tables.os, "replace", replace)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    write_table(engine, "presence_reports", reports)
    parts = tmp_path / "parts"
    assert IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=25).read_into(parts) == 60
    saves = [i for i, e in enumerate(events) if e == ("replace", str(tmp_path / "state.json"))]
    assert len(saves) == 3
    for k, save in enumerate(saves):
        part = str(parts / f"part-{k:06d}.parquet")
        renamed = events.index(("replace", part))
        synced = [i for i, (what, path) in enumerate(events[:renamed]) if what == "fsync" and path.startswith(str(parts / f"part-{k:06d}"))]
        assert synced, f"part {k} was not synced before its rename"
        assert ("fsync", str(parts)) in events[renamed:save], f"the rename of part {k} was not synced before the state moved on"


@pytest.mark.parametrize("zoned", ["all", "one"])
def test_times_stored_as_text_with_a_zone_are_named_not_a_pandas_error(engine, reports, zoned):
    """An extract holding its times as text with an offset ("2022-05-01 10:00:00+07:00") failed the read with pandas'
    own TypeError ("Cannot use .astype to convert from timezone-aware ...") or, when some rows had no zone,
    ValueError ("Mixed timezones detected"): no column, no rows, no fix. The contract refuses zoned times by name."""
    bad = reports.astype({"known_at": str})
    rows = list(bad.index) if zoned == "all" else [2]
    bad.loc[rows, "known_at"] = bad.loc[rows, "known_at"] + "+07:00"
    bad.to_sql("presence_reports", engine, if_exists="replace", index=False)
    n = len(rows)
    with pytest.raises(SchemaError, match=rf"`known_at`: values that are not times without a time zone .*\({n} rows?: {reports.loc[rows[0], 'report_id']}"):
        read_table(engine, "presence_reports")


# ------------------------------------------------------------------ ids that are whole numbers (INTEGER, BIGINT)

WM = pd.Timestamp("2022-05-01 10:00")


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request, tmp_path):
    """The same checks on both databases the reader supports."""
    if request.param == "sqlite":
        return sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    return request.getfixturevalue("engine")


def _numbered(reports: pd.DataFrame, ids: list, watermarks: list) -> pd.DataFrame:
    """The first ``len(ids)`` reports with whole-number ids (an INTEGER/BIGINT column) and the given watermarks."""
    return reports.head(len(ids)).assign(report_id=ids, known_at=watermarks)


def _read_ids(folder) -> list:
    return sorted(pd.read_parquet(folder)["report_id"].astype(int))


def test_whole_number_ids_sharing_a_watermark_are_read_once_each_across_batches_and_a_crash(db, reports, tmp_path):
    """Ids 1..12 at one watermark and 13..15 at a later one, in batches of 3: the read must stop after 9 and go on at 10
    (10 sorts before 9 as text), also in a new reader after a crash; the saved last id is the whole number, as the
    column holds it, not its text."""
    table = _numbered(reports, list(range(1, 16)), [WM] * 12 + [WM + pd.Timedelta(hours=1)] * 3)
    write_table(db, "presence_reports", table)
    state, parts = tmp_path / "state.json", tmp_path / "parts"

    def crash(part):
        if part.name == "part-000003.parquet":
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        IncrementalReader(db, "presence_reports", state, batch_rows=3).read_into(parts, on_part=crash)
    assert IncrementalReader(db, "presence_reports", state).state() == {"watermark": WM.isoformat(), "last_id": 9, "next_part": 3, "rows": 9}
    reader = IncrementalReader(db, "presence_reports", state, batch_rows=3)
    assert reader.read_into(parts) == 6
    assert _read_ids(parts) == list(range(1, 16))
    assert reader.state()["last_id"] == 15 and reader.read_into(parts) == 0


def test_whole_number_ids_beyond_double_precision_are_read_once_each(engine, reports, tmp_path):
    """BIGINT ids above 2**53 differ by 1: a float anywhere on the way would merge them or lose one."""
    ids = [2**62 + i for i in (1, 2, 3, 4, 5)]
    write_table(engine, "presence_reports", _numbered(reports, ids, [WM] * 5))
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=2)
    assert reader.read_into(tmp_path / "parts") == 5
    assert sorted(pd.read_parquet(tmp_path / "parts")["report_id"].map(int)) == ids
    assert reader.state()["last_id"] == 2**62 + 5


def _untyped_sqlite(tmp_path, table: pd.DataFrame):
    """An SQLite extract of ``table`` whose id column is declared without a type (as other tools create them)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    write_table(engine, "presence_reports", table)
    cols = ", ".join(f'"{c}"' for c in table.columns if c != "report_id")
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE presence_reports RENAME TO loaded"))
        con.execute(sa.text(f"CREATE TABLE presence_reports (report_id, {cols})"))
        con.execute(sa.text(f"INSERT INTO presence_reports SELECT report_id, {cols} FROM loaded"))
    return engine


def test_whole_number_ids_in_an_sqlite_column_without_a_type_are_read_once_each(reports, tmp_path):
    """A column declared without a type (as other tools create them) holds the ids as SQLite integers; the last id was
    bound as text and SQLite ranks every integer below every text: `id > '4'` matched none, so after the first batch
    the other 8 rows at that watermark were skipped without a word (4 of 12 read)."""
    engine = _untyped_sqlite(tmp_path, _numbered(reports, list(range(1, 13)), [WM] * 12))
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=4)
    assert reader.read_into(tmp_path / "parts") == 12
    assert _read_ids(tmp_path / "parts") == list(range(1, 13))


def test_a_state_file_of_the_old_format_resumes_over_an_sqlite_column_without_a_type(reports, tmp_path):
    """An older reader's "9" is the number 9 for such a column: bound as the text '9' it matched none of the integers
    at that watermark, and the rows after 9 were skipped without a word."""
    engine = _untyped_sqlite(tmp_path, _numbered(reports, list(range(1, 13)), [WM] * 12))
    (tmp_path / "state.json").write_text(json.dumps({"watermark": WM.isoformat(), "last_id": "9", "next_part": 3}))
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=2)
    assert reader.read_into(tmp_path / "parts") == 3
    assert _read_ids(tmp_path / "parts") == [10, 11, 12]


def test_a_state_file_of_the_old_format_resumes(db, reports, tmp_path):
    """Older readers saved every last id as text ("9"); such a file must resume where it stopped, for whole-number
    ids (at 10, not after "9" as text) and for text ids alike."""
    write_table(db, "presence_reports", _numbered(reports, list(range(1, 13)), [WM] * 12))
    (tmp_path / "state.json").write_text(json.dumps({"watermark": WM.isoformat(), "last_id": "9", "next_part": 3}))
    reader = IncrementalReader(db, "presence_reports", tmp_path / "state.json", batch_rows=2)
    assert reader.read_into(tmp_path / "parts") == 3
    assert _read_ids(tmp_path / "parts") == [10, 11, 12]
    assert reader.state() == {"watermark": WM.isoformat(), "last_id": 12, "next_part": 5, "rows": 12}  # 9 on file then, 3 read
    text_ids = reports.head(6).assign(report_id=["P1", "P2", "P3", "P4", "P5", "P6"], known_at=WM)
    write_table(db, "presence_reports", text_ids)
    (tmp_path / "state.json").write_text(json.dumps({"watermark": WM.isoformat(), "last_id": "P4", "next_part": 2}))
    assert reader.read_into(tmp_path / "parts2") == 2
    assert sorted(pd.read_parquet(tmp_path / "parts2")["report_id"]) == ["P5", "P6"]


@pytest.mark.parametrize(("saved", "match"), [
    ("P9", r"`report_id`: the state file's last id is text that is not a whole number, but the column holds whole numbers"),
    (9, r"`report_id`: the state file's last id is a whole number, but the column holds text"),
])
def test_a_state_file_whose_last_id_does_not_fit_the_column_is_named(db, reports, tmp_path, saved, match):
    """The table was reloaded with ids of another kind since the last run: text "P9" bound against whole numbers
    failed in PostgreSQL with the driver's own error and in SQLite matched no row of the watermark (rows skipped);
    a whole number against text ids failed with `operator does not exist`. Either must name the column and the fix."""
    ids = list(range(1, 7)) if isinstance(saved, str) else ["P1", "P2", "P3", "P4", "P5", "P6"]
    write_table(db, "presence_reports", _numbered(reports, ids, [WM] * 6))
    (tmp_path / "state.json").write_text(json.dumps({"watermark": WM.isoformat(), "last_id": saved, "next_part": 1}))
    reader = IncrementalReader(db, "presence_reports", tmp_path / "state.json", batch_rows=2)
    with pytest.raises(SchemaError, match=match + r".*Fix: .*delete .*state.json"):
        reader.read_into(tmp_path / "parts")
    assert not (tmp_path / "parts").exists()


def _retype_sqlite(con, kind: str) -> None:
    if kind == "sqlite-real":
        con.execute(sa.text("UPDATE presence_reports SET report_id = report_id + 0.5 WHERE report_id = 3"))
    else:  # one id as text in an INTEGER column: SQLite keeps it as text, beside the integers
        con.execute(sa.text("UPDATE presence_reports SET report_id = 'A3' WHERE report_id = 3"))


@pytest.mark.parametrize(("kind", "match"), [
    ("double precision", r"`report_id`: ids of SQL type DOUBLE.PRECISION"),
    ("numeric", r"`report_id`: ids of SQL type NUMERIC"),
    ("numeric(12,2)", r"`report_id`: ids of SQL type NUMERIC\(12, 2\)"),
    ("sqlite-real", r"`report_id`: ids stored as SQLite integer and real values"),
    ("sqlite-mixed", r"`report_id`: ids stored as SQLite integer and text values"),
])
def test_an_id_column_the_reader_cannot_order_safely_is_refused(engine, reports, tmp_path, kind, match):
    """Fractional ids (2.9999999999999996 and 3.0 print alike) and ids of mixed kinds (SQLite ranks every number below
    every text) cannot resume a read safely; they were read as if they could. The read must stop, naming the column
    and the fix, before anything is written."""
    table = _numbered(reports, list(range(1, 9)), [WM] * 8)
    if kind.startswith("sqlite"):
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    write_table(engine, "presence_reports", table)
    with engine.begin() as con:
        if kind.startswith("sqlite"):
            _retype_sqlite(con, kind)
        else:
            con.execute(sa.text(f'ALTER TABLE presence_reports ALTER COLUMN report_id TYPE {kind}'))
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=3)
    with pytest.raises(SchemaError, match=match + r".*Fix: store .*whole numbers .* or text"):
        reader.read_into(tmp_path / "parts")
    assert not (tmp_path / "parts").exists() and not (tmp_path / "state.json").exists()


def test_rows_without_an_id_stop_the_read_instead_of_vanishing(db, reports, tmp_path):
    """A NULL id compares with nothing: PostgreSQL sorts it last at its watermark, and a batch ending on it saved "None"
    as the last id; SQLite sorts it first, and pandas read the other ids of its batch as floats ("1.0"). Rows were
    lost or written under another id; the read must stop before anything is written, naming the column."""
    table = _numbered(reports, list(range(1, 13)), [WM] * 8 + [WM + pd.Timedelta(hours=1)] * 4).astype({"report_id": "Int64"})
    table.loc[[4, 9], "report_id"] = pd.NA  # one at each watermark
    write_table(db, "presence_reports", table)
    reader = IncrementalReader(db, "presence_reports", tmp_path / "state.json", batch_rows=4)
    with pytest.raises(SchemaError, match=r"`report_id`: missing \(NULL\).*\(2 rows"):
        reader.read_into(tmp_path / "parts")
    assert not (tmp_path / "parts").exists() and not (tmp_path / "state.json").exists()


def test_a_repeat_of_whole_number_ids_is_caught_by_number(reports, tmp_path):
    """Rows returned again (times stored as text in another format) are found by comparing their ids with the saved
    last id as numbers: with the last id saved as the number 7, a comparison of text ids with it would find none and
    the same rows would be written again and again (here row 7, the last one read, came back first)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    write_table(engine, "presence_reports", _numbered(reports, list(range(1, 13)), [WM] * 12))
    with engine.begin() as con:
        con.execute(sa.text("UPDATE presence_reports SET known_at = replace(substr(known_at, 1, 19), ' ', 'T')"))
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=7)
    with pytest.raises(SchemaError, match=r"`known_at`: the database returned rows this reader had already read .*\(1 row: 7\)"):
        reader.read_into(tmp_path / "parts", on_part=_stop_after(1))
    assert _read_ids(tmp_path / "parts") == [1, 2, 3, 4, 5, 6, 7]


def _read_with_a_crash(engine, folder, state) -> None:
    """Read in batches of 3, killed after the fourth part is written and before the state moves past it."""
    def crash(part):
        if part.name == "part-000003.parquet":
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        IncrementalReader(engine, "presence_reports", state, batch_rows=3).read_into(folder, on_part=crash)


def test_numeric_ids_of_scale_0_are_whole_numbers_read_once_each_across_a_crash(engine, reports, tmp_path):
    """NUMERIC(12,0) holds whole numbers only, yet the reader refused it as fractional. Ids 1..12 at one watermark and
    13..15 at a later one, in batches of 3, killed after the fourth part: the state keeps the whole number 9 (10 sorts
    before 9 as text) and a new reader goes on at 10, with the part the crash left written again under its name."""
    write_table(engine, "presence_reports", _numbered(reports, list(range(1, 16)), [WM] * 12 + [WM + pd.Timedelta(hours=1)] * 3))
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE presence_reports ALTER COLUMN report_id TYPE numeric(12, 0)"))
    state, parts = tmp_path / "state.json", tmp_path / "parts"
    _read_with_a_crash(engine, parts, state)
    assert IncrementalReader(engine, "presence_reports", state).state() == {"watermark": WM.isoformat(), "last_id": 9, "next_part": 3, "rows": 9}
    reader = IncrementalReader(engine, "presence_reports", state, batch_rows=3)
    assert reader.read_into(parts) == 6
    assert _read_ids(parts) == list(range(1, 16))
    assert reader.state()["last_id"] == 15 and reader.read_into(parts) == 0


def test_uuid_ids_are_read_once_each_across_a_crash(engine, reports, tmp_path):
    """A UUID id column is text to the reader (ordered as PostgreSQL orders UUIDs): 12 ids at one watermark and 3 at a
    later one, in batches of 3, killed after the fourth part; a new reader must go on after the ninth id, and every
    row must be in the parts once, its id as the text of its UUID."""
    ids = [f"{i:08x}-0000-4000-8000-{i * 7919:012x}" for i in (12, 3, 7, 1, 15, 9, 2, 14, 5, 11, 4, 13, 6, 10, 8)]
    watermarks = [WM + pd.Timedelta(hours=1) if i in (13, 14, 15) else WM for i in (12, 3, 7, 1, 15, 9, 2, 14, 5, 11, 4, 13, 6, 10, 8)]
    write_table(engine, "presence_reports", _numbered(reports, ids, watermarks))
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE presence_reports ALTER COLUMN report_id TYPE uuid USING report_id::uuid"))
    state, parts = tmp_path / "state.json", tmp_path / "parts"
    _read_with_a_crash(engine, parts, state)
    ninth = f"{9:08x}-0000-4000-8000-{9 * 7919:012x}"  # ids 1..12 at WM in order, then 13..15
    assert IncrementalReader(engine, "presence_reports", state).state() == {"watermark": WM.isoformat(), "last_id": ninth, "next_part": 3, "rows": 9}
    reader = IncrementalReader(engine, "presence_reports", state, batch_rows=3)
    assert reader.read_into(parts) == 6
    got = pd.read_parquet(parts)["report_id"].tolist()
    assert sorted(got) == sorted(ids) and len(got) == 15
    assert reader.read_into(parts) == 0


def test_numeric_ids_of_scale_0_beyond_double_precision_are_read_once_each(engine, reports, tmp_path):
    """NUMERIC(20,0) ids above 2**53 differ by 1: pd.read_sql's default turns Decimals into floats, which would merge
    them (and write "1.0" for 1); the ids must reach the parts and the state file exactly."""
    ids = [2**62 + i for i in (1, 2, 3, 4, 5)]
    write_table(engine, "presence_reports", _numbered(reports, ids, [WM] * 5))
    with engine.begin() as con:
        con.execute(sa.text("ALTER TABLE presence_reports ALTER COLUMN report_id TYPE numeric(20, 0)"))
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=2)
    assert reader.read_into(tmp_path / "parts") == 5
    assert sorted(pd.read_parquet(tmp_path / "parts")["report_id"].map(int)) == ids
    assert reader.state()["last_id"] == 2**62 + 5


def test_a_watermark_after_the_time_of_the_read_is_refused_before_it_stalls_every_later_run(reports, tmp_path):
    """A report whose `known_at` reads 2203 (a typo for 2023) was read and moved the watermark to 2203: every later
    run asked for rows after it and read nothing, the reports that arrived since never landed, with no word (0 rows,
    exit 0). No row is held by the service after the read that finds it, so the read stops, naming the column and
    the row, before anything is written; corrected, the table reads whole."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    table = reports.head(10).copy()
    table.loc[3, "known_at"] = pd.Timestamp("2203-06-01 11:00")
    write_table(engine, "presence_reports", table)
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=4)
    with pytest.raises(SchemaError, match=rf"`known_at`: after the time of this read .*\(1 row: {table.loc[3, 'report_id']}\)"):
        reader.read_into(tmp_path / "parts")
    assert not list((tmp_path / "parts").glob("part-*")) and reader.state()["watermark"] is None
    with engine.begin() as con:
        con.execute(sa.text("UPDATE presence_reports SET known_at = replace(known_at, '2203-', '2022-')"))
    assert reader.read_into(tmp_path / "parts") == 10


def test_a_second_reader_of_the_same_state_is_refused_while_the_first_reads(reports, tmp_path):
    """Two readers of one state file at once (a nightly run that overran into the next) each wrote parts from their
    own idea of the state: A wrote part 1 = [3, 4]; a row 3b landed between 3 and 4; B, started from the saved state,
    wrote parts 1-3 = [3, 3b], [4, 5], [6]; A saved its state (after 4) and wrote part 2 = [5, 6]. The parts held
    1, 2, 3, 3b, 5, 6, 6: row 4 lost and row 6 twice. The second reader must be refused, the first read every row once
    (but 3b: a row landing with a watermark before the last key read is not seen by an incremental read, as documented)."""
    from riskmodel.core.exceptions import BatchError

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    t0 = pd.Timestamp("2022-05-01 10:00")
    table = reports.head(7).assign(report_id=["1", "2", "3", "4", "5", "6", "3b"],
                                   known_at=[t0 + pd.Timedelta(minutes=m) for m in (1, 2, 3, 5, 6, 7, 4)])
    write_table(engine, "presence_reports", table.head(6))
    refused = []

    def meanwhile(part):
        if part.name == "part-000001.parquet":
            table.tail(1).to_sql("presence_reports", engine, if_exists="append", index=False)
            with pytest.raises(BatchError, match=r"another incremental read .*state\.json.* is running") as caught:
                IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=2).read_into(tmp_path / "parts")
            refused.append(caught.value)

    IncrementalReader(engine, "presence_reports", tmp_path / "state.json", batch_rows=2).read_into(tmp_path / "parts", on_part=meanwhile)
    assert len(refused) == 1
    assert sorted(pd.read_parquet(tmp_path / "parts")["report_id"]) == ["1", "2", "3", "4", "5", "6"]
    # the lock goes with the read: the next run reads (nothing new) without being refused
    assert IncrementalReader(engine, "presence_reports", tmp_path / "state.json").read_into(tmp_path / "parts") == 0


def test_whole_number_person_ids_with_a_null_are_read_as_the_ids_they_are(db, tmp_path):
    """`traveller_id` and `document_id` held as BIGINT may be NULL (a report without them): one NULL sent the column
    through pandas' float64, so 123 came back as "123.0" (linked to no "123" of the crossings log) and
    9007199254740993 as "9007199254740992.0" (another person's id), by read_table and the incremental reader alike."""
    with db.begin() as con:
        con.execute(sa.text("DROP TABLE IF EXISTS presence_reports"))
        con.execute(sa.text("CREATE TABLE presence_reports (report_id TEXT, traveller_id BIGINT, document_id BIGINT, stay_from "
                            "TIMESTAMP, known_at TIMESTAMP, province TEXT, regency TEXT, accommodation TEXT, reporter_type TEXT)"))
        con.execute(sa.text("INSERT INTO presence_reports VALUES "
                            "('R1', 9007199254740993, 5, '2022-05-01 00:00:00', '2022-05-02 10:00:00', 'BALI', 'BADUNG', 'hotel', 'hotel'), "
                            "('R2', 123, NULL, '2022-05-01 00:00:00', '2022-05-02 10:00:00', 'BALI', 'BADUNG', 'hotel', 'hotel'), "
                            "('R3', NULL, 7, '2022-05-01 00:00:00', '2022-05-02 10:00:00', 'BALI', 'BADUNG', 'hotel', 'hotel')"))
    expected = {"traveller_id": ["9007199254740993", "123", None], "document_id": ["5", None, "7"]}
    IncrementalReader(db, "presence_reports", tmp_path / "state.json").read_into(tmp_path / "parts")
    for got in (read_table(db, "presence_reports"), pd.read_parquet(tmp_path / "parts").sort_values("report_id")):
        for column, ids in expected.items():
            assert [None if pd.isna(v) else v for v in got[column]] == ids, column


def test_a_watermark_held_as_text_in_postgresql_is_named_before_the_incremental_read(engine, reports, tmp_path):
    """`known_at` stored as TEXT: read_table reads it (the text is parsed), but the incremental read compares it with the
    saved watermark in SQL, and PostgreSQL stopped it with psycopg's "operator does not exist: text > timestamp" (a
    ProgrammingError quoting the SQL). Named instead, with the fix, before anything is written."""
    table = reports.head(5).astype({"known_at": str})
    write_table(engine, "presence_reports", table)
    assert len(read_table(engine, "presence_reports")) == 5
    reader = IncrementalReader(engine, "presence_reports", tmp_path / "state.json")
    with pytest.raises(SchemaError, match=r"`known_at`: held as text .*\. Fix: store `known_at` as `timestamp without time zone`"):
        reader.read_into(tmp_path / "parts")
    assert not list((tmp_path / "parts").glob("part-*")) and reader.state()["watermark"] is None


def test_a_boolean_column_holding_text_names_the_column_and_rows(tmp_path):
    """`has_return_ticket` exported as text ('true'/'false'): read_table stopped with pandas' "Need to pass bool-like
    values", naming no column, row or fix; dates and whole numbers of the wrong kind were named already. Booleans as
    the database holds them (PostgreSQL's boolean, SQLite's 0 and 1) and missing values (exits) still read."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    log = make_crossings(50, "2022-01-01", "2022-03-31", seed=2).crossings
    write_table(engine, "crossings", log)
    pd.testing.assert_series_equal(read_table(engine, "crossings")["has_return_ticket"], log["has_return_ticket"].reset_index(drop=True))
    bad = log.astype({"has_return_ticket": object})
    entries = bad.index[bad["has_return_ticket"].notna().to_numpy()]
    bad.loc[entries, "has_return_ticket"] = bad.loc[entries, "has_return_ticket"].map({True: "true", False: "false"})
    write_table(engine, "crossings", bad)
    with pytest.raises(SchemaError, match=rf"`has_return_ticket`: values that are not booleans \('(true|false)', .*\({len(entries)} rows: "
                                          rf"{log.loc[entries[0], 'crossing_id']}, .*Fix: store booleans .*"):
        read_table(engine, "crossings")


@pytest.mark.parametrize(("url", "error"), [
    (f"postgresql+psycopg://admin@127.0.0.1:1/x?password={SECRET}", DatabaseUnavailableError),
    (f"postgresql+psycopg://admin@127.0.0.1:1/x?sslmode=disable&sslpassword={SECRET}", DatabaseUnavailableError),
    (f"oracle+nodriver://admin@db/x?password={SECRET}", ConfigError),
])
def test_a_password_given_as_a_query_parameter_of_the_url_is_never_shown(url, error):
    """libpq (and psycopg) take the password as a query parameter too (`?password=...`, as some secret stores write
    the URL); only the `user:password@` form was hidden, and the error quoted the URL whole, the password in it."""
    with pytest.raises(error, match=r"admin@.*password=\*\*\*") as caught:
        read_table(engine_from_env(url), "enforcement")
    assert SECRET not in str(caught.value)


def test_two_state_files_writing_into_one_parts_folder_are_refused(reports, tmp_path):
    """Two reads with their own state files (two tables, or one table read twice) into one folder each wrote
    part-000000.parquet, ...: the second overwrote the first's parts, and its rows were lost without a word."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    write_table(engine, "presence_reports", reports)
    parts = tmp_path / "landing"
    assert IncrementalReader(engine, "presence_reports", tmp_path / "reports.json", batch_rows=25).read_into(parts) == 60
    written = sorted(p.name for p in parts.glob("*.parquet"))
    assert written == ["part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]
    other = IncrementalReader(engine, "presence_reports", tmp_path / "other.json", batch_rows=25)
    with pytest.raises(ConfigError, match=r"`out_dir` .*landing holds the parts of another incremental read \(table "
                                          r"`presence_reports`, state file .*reports\.json\).*Fix: give each state file its own parts folder"):
        other.read_into(parts)
    assert sorted(p.name for p in parts.glob("*.parquet")) == written and not (tmp_path / "other.json").exists()
    assert set(pd.read_parquet(parts)["report_id"]) == set(reports["report_id"])  # nothing overwritten
    # the same state file goes on reading into its own folder; a new state file into a folder of parts nobody claims
    # (written by a reader of before this check, or left by a state file deleted without its parts) is refused too
    assert IncrementalReader(engine, "presence_reports", tmp_path / "reports.json").read_into(parts) == 0
    (parts / "_reader.json").unlink()
    with pytest.raises(ConfigError, match=r"holds parts no state file claims"):
        other.read_into(parts)
    assert IncrementalReader(engine, "presence_reports", tmp_path / "reports.json").read_into(parts) == 0  # adopted again
    assert other.read_into(tmp_path / "landing2") == 60


def test_crossings_recorded_late_or_deleted_since_the_last_read_are_named_not_lost_silently(tmp_path):
    """An incremental read asks only for rows after the saved (timestamp, id) key: an exit keyed in two days late (its
    timestamp before the key) was never read, its stay stayed open and was labelled an overstay; a crossing deleted
    from the table stayed in the parts. Neither was said. The next read counts the rows at or before the key."""
    from riskmodel.core.exceptions import RiskModelWarning

    log = make_crossings(60, "2022-01-01", "2022-06-30", seed=4).crossings
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    held, late = log.drop(index=[10]), log.loc[[10]]
    write_table(engine, "crossings", held)
    reader = IncrementalReader(engine, "crossings", tmp_path / "state.json", batch_rows=50)
    assert reader.read_into(tmp_path / "parts") == len(held)
    write_table(engine, "crossings", late, if_exists="append")  # recorded late: its timestamp is long before the key
    with pytest.warns(RiskModelWarning, match=r"`crossings`: 1 row .*at or before the last key read .*never reads "
                                             r"them.*read_table"):
        assert reader.read_into(tmp_path / "parts") == 0
    with engine.begin() as con:
        con.execute(sa.text('DELETE FROM "crossings" WHERE "crossing_id" IN (:a, :b)'),
                    {"a": log.loc[3, "crossing_id"], "b": log.loc[4, "crossing_id"]})
    with pytest.warns(RiskModelWarning, match=r"`crossings`: 1 row fewer .*deleted"):  # 2 deleted, 1 late: one fewer
        reader.read_into(tmp_path / "parts")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RiskModelWarning)
        assert IncrementalReader(engine, "crossings", tmp_path / "fresh.json").read_into(tmp_path / "fresh") == len(log) - 2


@pytest.mark.parametrize(("name", "column"), [("presence_reports", "known_at"), ("crossings", "timestamp")])
def test_a_watermark_typed_date_is_refused_not_read_as_midnight(engine, name, column, tmp_path):
    """`known_at` typed DATE (a column retyped in the database) was read as 00:00 of its day: a report on T1's first
    stay filed at 16:00 on 1 March, after T1 entered again at 09:00, counted in that entry's history (prior_reports 1,
    where the service held nothing at the entry: 0), a leak into the entry-time score; the crossings log's time
    typed DATE puts every entry and exit of a day at 00:00 the same way. Both reads refuse it, naming the column and
    the fix (a timestamp; where only the day is known, the end of that day)."""
    from .test_sources import _log, _reports

    log = _log(("C1", "T1", "entry", "2022-01-10 09:00", "2022-02-08", "D1"), ("C2", "T1", "exit", "2022-02-01 09:00", "2022-02-08", "D1"),
               ("C3", "T1", "entry", "2022-03-01 09:00", "2022-03-30", "D1"))
    table = _reports(("P1", "T1", None, "2022-01-10", "2022-03-01 16:00")) if name == "presence_reports" else log
    write_table(engine, name, table)
    assert read_table(engine, name)[column].tolist() == table[column].tolist()  # as a timestamp: read as written
    with engine.begin() as con:
        con.execute(sa.text(f'ALTER TABLE "{name}" ALTER COLUMN "{column}" TYPE date'))
    match = rf"`{column}`: a date without a time of day.*Fix: store `{column}` as `timestamp without time zone`.*the end of that day"
    with pytest.raises(SchemaError, match=match):
        read_table(engine, name)
    with pytest.raises(SchemaError, match=match):
        IncrementalReader(engine, name, tmp_path / "state.json").read_into(tmp_path / "parts")
    assert not list((tmp_path / "parts").glob("part-*"))


def test_an_empty_table_whose_watermark_is_typed_date_is_refused_by_its_declared_type(engine, tmp_path):
    """A table retyped before its first rows: no value says 'a day alone' yet, only the column's SQL type DATE. The
    value check (a day with no time of day) sees nothing; the declared type must refuse it, or the first incremental read
    keeps a watermark of a type that reads every later row as held from 00:00 of its day. (Added after W16, the
    declared-type guard, survived on merged main: the value check refused the rows of the other test alone.)"""
    from .test_sources import _reports

    write_table(engine, "presence_reports", _reports(("P1", "T1", None, "2022-01-10", "2022-03-01 16:00")).iloc[:0])
    with engine.begin() as con:
        con.execute(sa.text('ALTER TABLE "presence_reports" ALTER COLUMN "known_at" TYPE date'))
    match = r"`known_at`: a date without a time of day \(SQL type DATE\)"
    with pytest.raises(SchemaError, match=match):
        read_table(engine, "presence_reports")
    with pytest.raises(SchemaError, match=match):
        IncrementalReader(engine, "presence_reports", tmp_path / "state.json").read_into(tmp_path / "parts")


def _drop_other_sessions(url, where: str = "") -> int:
    """Terminate every other client session of the server (a restart, a failover, a DBA), as the server itself would."""
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with admin.begin() as con:
            return len(con.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                           f"AND backend_type = 'client backend' {where}")).all())
    finally:
        admin.dispose()


def test_a_connection_the_server_dropped_is_replaced_or_named_not_a_driver_traceback(postgres_url):
    """The server dropped its sessions between two reads of one engine (a restart overnight): the next read took the
    dead connection from the pool and stopped with SQLAlchemy's raw OperationalError ("terminating connection due to
    administrator command"), a traceback from `riskmodel monitor --database`, not exit 4. It is now replaced before use
    (every row read). A session dropped during a read is a DatabaseUnavailableError naming the server, not the password,
    and the fix."""
    import threading
    import time

    engine = engine_from_env(postgres_url)
    write_table(engine, "enforcement", _enforcement_rows())
    assert len(read_table(engine, "enforcement")) == 3
    assert _drop_other_sessions(postgres_url) >= 1
    assert len(read_table(engine, "enforcement")) == 3  # the pool's dead connection replaced, every row read
    # dropped during a read: the read waits on a lock while its session is terminated
    locker = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    caught: list[BaseException] = []

    def read():
        try:
            read_table(engine, "enforcement")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            caught.append(exc)

    with locker.connect() as con:
        con.execute(sa.text('LOCK TABLE "enforcement" IN ACCESS EXCLUSIVE MODE'))
        reader = threading.Thread(target=read)
        reader.start()
        for _ in range(200):
            time.sleep(0.05)
            if _drop_other_sessions(postgres_url, "AND wait_event_type = 'Lock'"):
                break
        con.rollback()
    reader.join(30)
    locker.dispose()
    assert len(caught) == 1 and isinstance(caught[0], DatabaseUnavailableError), caught
    assert "lost the connection to the database" in str(caught[0]) and "Fix: " in str(caught[0])
    assert caught[0].__cause__ is None and caught[0].__suppress_context__


def _enforcement_rows() -> pd.DataFrame:
    return pd.DataFrame({"record_id": ["E1", "E2", "E3"], "traveller_id": ["T1", "T2", "T3"], "document_id": [None, None, None],
                         "action": "overstay_charge", "action_at": pd.to_datetime(["2022-01-02", "2022-01-03", "2022-01-04"]),
                         "known_at": pd.to_datetime(["2022-01-02", "2022-01-03", "2022-01-04"]), "overstay_days": [1, 2, 3],
                         "amount_idr": [1_000_000, 2_000_000, 3_000_000], "ban_until": pd.to_datetime([None, None, None])})


def test_an_application_decided_with_an_older_known_at_than_the_last_read_is_named_not_lost(tmp_path):
    """A1 was read while pending (known_at its lodging, 1 February); its decision, granted on 4 February, was keyed in
    after the read of 5 February with `known_at` the decision time (the contract's "the decision time"), before the
    saved key. The next read asked only for rows after the key: it never read the decision, the parts kept A1 pending
    (the extension lost: T1 past the permit), and the count of rows at or before the key was the same (A1 moved, not
    added), so nothing was said. Each read now also counts the decided applications at or before the key."""
    from riskmodel.core.exceptions import LateRowsWarning

    from .test_sources import _apps

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    apps = _apps(("A1", "T1", "2022-02-01 10:00", None, "2022-02-01 10:00", "pending", None),
                 ("A2", "T2", "2022-02-01 11:00", "2022-02-05 10:00", "2022-02-05 10:00", "refused", None))
    write_table(engine, "permit_applications", apps)
    reader = IncrementalReader(engine, "permit_applications", tmp_path / "state.json")
    assert reader.read_into(tmp_path / "parts") == 2
    decided = apps.copy()
    decided.loc[0, ["decided_at", "known_at"]] = pd.Timestamp("2022-02-04 10:00")
    decided.loc[0, ["decision", "new_permit_end"]] = ["granted", pd.Timestamp("2022-03-08")]
    write_table(engine, "permit_applications", decided)  # the row updated in place
    with pytest.warns(LateRowsWarning, match=r"`permit_applications`: 1 application decided .*at or before the last key read.*"
                                             r"never read"):
        assert reader.read_into(tmp_path / "parts") == 0


def test_a_load_that_fails_leaves_the_table_it_replaces(engine):
    """`write_table` replaced the table (dropped and created empty, committed), then copied the rows in a second
    transaction: a load that failed on a row (here a NUL character PostgreSQL refuses in text) left the table empty,
    and a monitor reading it then read "no record on file" (every extension none, every traveller extended listed
    past the permit). The table is replaced and its rows copied in one transaction: a failed load leaves the table
    as it was."""
    from .test_sources import _apps

    good = _apps(("A1", "T1", "2022-02-01 10:00", "2022-02-02 10:00", "2022-02-02 10:00", "granted", "2022-03-08"),
                 ("A2", "T2", "2022-02-01 11:00", "2022-02-05 10:00", "2022-02-05 10:00", "refused", None))
    write_table(engine, "permit_applications", good)
    bad = pd.concat([good.assign(application_id=["A3", "A4"]), good.head(1).assign(application_id="A5", regency="Bad\x00ung")],
                    ignore_index=True)
    with pytest.raises(Exception, match="0x00|NUL"):
        write_table(engine, "permit_applications", bad)
    assert sorted(read_table(engine, "permit_applications")["application_id"]) == ["A1", "A2"]


def test_a_watermark_held_as_text_without_a_time_of_day_is_refused(reports, tmp_path):
    """The DATE column's twin (test above): `known_at` held as text with only the day ("2022-05-01", an extract keyed
    by day; SQLite holds every time as text) was parsed as 00:00 of that day, a record counted before everything that
    happened that day. Refused by both reads, naming the column, the rows and the fix."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    write_table(engine, "presence_reports", reports.head(6))
    assert len(read_table(engine, "presence_reports")) == 6
    with engine.begin() as con:
        con.execute(sa.text("UPDATE presence_reports SET known_at = substr(known_at, 1, 10) WHERE rowid <= 2"))
    match = r"`known_at`: a date without a time of day .*\(2 rows: .*Fix: store `known_at` as .*the end of that day"
    with pytest.raises(SchemaError, match=match):
        read_table(engine, "presence_reports")
    with pytest.raises(SchemaError, match=match):
        IncrementalReader(engine, "presence_reports", tmp_path / "state.json").read_into(tmp_path / "parts")
    assert not list((tmp_path / "parts").glob("part-*"))


def test_an_application_recorded_late_is_named_though_decisions_were_read_again(tmp_path):
    """A1 was read pending, then again once decided (its row updated, after the key: read again, as it should be):
    two rows read, one in the table. A0, lodged on 2 February and keyed in late with that `known_at`, before the key,
    was never read; the count of rows behind the key (3) met the rows read (3), so the late-rows warning never came
    and A0 was in no part. The permit applications' reads also count the applications the parts hold (each once)
    against the table's rows at or before the key: one fewer is named."""
    from riskmodel.core.exceptions import LateRowsWarning

    from .test_sources import _apps

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'extract.db'}")
    apps = _apps(("A1", "T1", "2022-02-01 10:00", None, "2022-02-01 10:00", "pending", None),
                 ("A2", "T2", "2022-02-03 11:00", None, "2022-02-03 11:00", "pending", None))
    write_table(engine, "permit_applications", apps)
    reader = IncrementalReader(engine, "permit_applications", tmp_path / "state.json")
    assert reader.read_into(tmp_path / "parts") == 2
    decided = apps.copy()
    decided.loc[0, ["decided_at", "known_at"]] = pd.Timestamp("2022-02-06 10:00")
    decided.loc[0, "decision"] = "refused"
    write_table(engine, "permit_applications", decided)
    assert reader.read_into(tmp_path / "parts") == 1
    late = _apps(("A0", "T3", "2022-02-02 09:00", None, "2022-02-02 09:00", "pending", None))
    write_table(engine, "permit_applications", pd.concat([decided, late], ignore_index=True))
    with pytest.warns(LateRowsWarning, match=r"`permit_applications`: 1 application at or before the last key read .*in no part"):
        assert reader.read_into(tmp_path / "parts") == 0
