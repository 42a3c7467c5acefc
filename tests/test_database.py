"""Every source through a real PostgreSQL server: same tables, same features and scores as Parquet; resumable incremental reads.

The server is Debian's ``postgresql`` (``scripts/test`` installs it when missing), started on
127.0.0.1 with a temporary data directory and stopped at the end; the tests skip only when no
server can be found or started, or the ``db`` extra is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import pandas as pd
import pytest

from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import ConfigError
from riskmodel.core.sources.generate import make_sources

pytest.importorskip("sqlalchemy", reason="the `db` extra is not installed")
pytest.importorskip("psycopg", reason="the `db` extra is not installed")

from riskmodel.integrations.database import (  # noqa: E402
    DATABASE_URL_ENV,
    TABLES,
    IncrementalReader,
    engine_from_env,
    read_table,
    write_table,
)
from riskmodel.integrations.database.server import postgres_bin_dir, temporary_postgres  # noqa: E402

pytestmark = pytest.mark.slow  # starts a PostgreSQL server

AS_OF = pd.Timestamp("2023-06-30")


@pytest.fixture(scope="module")
def src():
    return make_sources(make_crossings(1_500, "2021-01-01", "2023-12-31", seed=8), seed=8)


@pytest.fixture(scope="module")
def pg_url(postgres_url):
    return postgres_url


@pytest.fixture(scope="module")
def loaded(pg_url, src):
    engine = engine_from_env(pg_url)
    for name, table in {"crossings": src.crossings, **src.tables()}.items():
        write_table(engine, name, table)
    return engine


def test_every_table_comes_back_identical(loaded, src):
    for name, table in {"crossings": src.crossings, **src.tables()}.items():
        pd.testing.assert_frame_equal(read_table(loaded, name), table.reset_index(drop=True))


def test_database_and_parquet_give_the_same_features_and_scores(loaded, src, tmp_path):
    from riskmodel.core.sources.features import monitoring_snapshot
    from riskmodel.core.sources.monitor import fit_monitor_model, monitor_training_table

    files = {}
    for name, table in {"crossings": src.crossings, **src.tables()}.items():
        table.to_parquet(tmp_path / f"{name}.parquet", index=False)
        files[name] = pd.read_parquet(tmp_path / f"{name}.parquet")
    db = {name: read_table(loaded, name) for name in TABLES}
    via_files, _ = monitoring_snapshot(files.pop("crossings"), files, AS_OF)
    via_db, _ = monitoring_snapshot(db.pop("crossings"), db, AS_OF)
    pd.testing.assert_frame_equal(via_db, via_files)
    table = monitor_training_table(src.crossings, src.tables(), pd.date_range("2022-06-01", "2023-03-31", freq="28D"), AS_OF)
    model = fit_monitor_model(table, num_boost_round=30)
    assert (model.predict_proba(via_db) == model.predict_proba(via_files)).all()


def test_incremental_reads_only_new_rows(loaded, src, tmp_path):
    reader = IncrementalReader(loaded, "presence_reports", tmp_path / "state.json", batch_rows=400)
    first = reader.read_into(tmp_path / "parts")
    assert first == len(src.presence_reports)
    assert reader.read_into(tmp_path / "parts") == 0
    # new rows arrive: only they are read next time
    extra = src.presence_reports.tail(5).copy()
    extra["report_id"] = [f"X{i}" for i in range(5)]
    extra["known_at"] = extra["known_at"] + pd.Timedelta(days=30)
    write_table(loaded, "presence_reports", extra, if_exists="append")
    assert reader.read_into(tmp_path / "parts") == 5
    parts = pd.read_parquet(tmp_path / "parts")
    assert parts["report_id"].is_unique and len(parts) == first + 5
    write_table(loaded, "presence_reports", src.presence_reports)


def test_a_killed_incremental_read_resumes_without_losing_or_repeating_rows(loaded, pg_url, src, tmp_path):
    # the worst moment: a part written, the watermark not yet saved
    script = textwrap.dedent(f"""
        import os
        from riskmodel.integrations.database import IncrementalReader, engine_from_env
        seen = []
        def die(part):
            seen.append(part)
            if len(seen) == 3:
                os._exit(9)
        IncrementalReader(engine_from_env({pg_url!r}), "permit_applications", {str(tmp_path / 'state.json')!r},
                          batch_rows=40).read_into({str(tmp_path / 'parts')!r}, on_part=die)
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr
    reader = IncrementalReader(loaded, "permit_applications", tmp_path / "state.json", batch_rows=40)
    assert reader.state()["next_part"] == 2
    reader.read_into(tmp_path / "parts")
    got = pd.read_parquet(tmp_path / "parts").sort_values("application_id").reset_index(drop=True)
    want = src.permit_applications.sort_values("application_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def test_the_url_comes_from_the_environment(monkeypatch, pg_url):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"no database URL: pass `url` or set {DATABASE_URL_ENV}"):
        engine_from_env()
    monkeypatch.setenv(DATABASE_URL_ENV, pg_url)
    assert engine_from_env().url.port == int(pg_url.rsplit(":", 1)[1].split("/")[0])


def test_bad_arguments_are_refused(loaded, tmp_path):
    with pytest.raises(ConfigError, match="`name` must be one of"):
        read_table(loaded, "visas")
    with pytest.raises(ConfigError, match="`batch_rows` must be an int >= 1; got 0"):
        IncrementalReader(loaded, "enforcement", tmp_path / "s.json", batch_rows=0)


def test_the_server_is_gone_after_the_block():
    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed")
    import sqlalchemy as sa

    def data_dirs() -> set:
        return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("riskmodel-pg-")}

    before = data_dirs()
    with temporary_postgres() as url:
        ours = data_dirs() - before
        assert len(ours) == 1
        with sa.create_engine(url).connect() as con:
            assert con.execute(sa.text("select 1")).scalar() == 1
    assert not (data_dirs() & ours)
    with pytest.raises(sa.exc.OperationalError):
        sa.create_engine(url, connect_args={"connect_timeout": 2}).connect()
