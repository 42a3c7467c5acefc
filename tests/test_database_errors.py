"""The database reader under bad URLs, broken tables and incremental edge cases (issue #15 rerun).

Each case either gives a library error naming the problem (never the password) or reads every
row exactly once. A real PostgreSQL server as in tests/test_database.py.
"""

from __future__ import annotations

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


@pytest.mark.parametrize(("column", "garbage", "match"), [("stay_from", "not a date", "not dates"), ("known_at", "2022-13-45", "not dates")])
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


@pytest.mark.parametrize("text", ["{not json", '{"watermark": "NaT", "last_id": "P1", "next_part": 1}', "[]"])
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
    bad.astype({"visa_type": str}).to_sql("crossings", engine, if_exists="replace", index=False)
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
