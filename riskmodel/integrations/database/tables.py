"""Tables in a SQL database: load, read whole, and read incrementally by watermark (resumable).

Every table of the contract (the crossings log and the three sources) has an
id column and a watermark column: the time the service first held the row
(``timestamp`` for crossings, ``known_at`` for the sources). An incremental
read asks only for rows after the last run's watermark, ordered by
``(watermark, id)`` so that rows sharing a watermark are neither lost nor
repeated. Rows that arrive later with an *older* watermark are not seen by an
incremental read (the watermark columns are the contract's, fixed in :data:`TABLES`):
the next read warns of them (below); read such a table whole with :func:`read_table`.
A row whose watermark lies after the time of the read (a mistyped year) stops the
read before anything is written: read, it would move the watermark past every row
still to come, and later runs would read nothing.
The saved watermark is bound as a time (SQLite compares its text-held times as
text), and a batch holding a row at or before the last key read (times stored
as text in another format) stops the read before anything of it is written,
rather than reading the same rows round and round. Ids are whole numbers or text
(see :class:`IncrementalReader`), saved and bound as the column holds them (a
Python int or str; the drivers send an int as an integer): a whole number bound
as text matched no integer in an SQLite column without a type, and NULL or
fractional ids cannot be resumed after exactly. A row updated since it was read (a
permit application, once decided, moves its ``known_at``) is read again: the parts
hold each version, and the one with the latest watermark is the record. One decided
in place with a ``known_at`` before the last key read is not: each read of the permit
applications counts the decided rows at or before the key and warns when there are
more than it read decided (the parts hold such an application pending).

Read batches are written as numbered Parquet parts and the state (last key and
next part number) is saved *after* each part is on disk (the part and its
rename synced), atomically; a run killed between
the two writes the same part again under the same name, so the parts never hold
a row twice. One read of a state file at a time: a read holds ``<state file>.lock``
and a second is refused (two at once overwrote each other's parts, losing rows).
A parts folder belongs to one state file: ``<folder>/_reader.json`` names the
table and state file that write it, and another state file's read into it is
refused (both numbered their parts from 0, so one overwrote the other's).

Rows deleted from the table are never seen by an incremental read (it asks only
for rows after the watermark): their parts keep them. Where records are withdrawn
by deleting them, read the table whole with :func:`read_table` on a schedule and
replace the landed copy, rather than trusting the parts to mirror the table.
The state file counts the rows read; each read counts the table's rows at or before
the saved key and warns (:class:`~riskmodel.core.exceptions.LateRowsWarning`) when
there are more (recorded late with an older watermark: never read; an exit keyed in
late would leave its stay open, labelled an overstay) or, in the crossings log, whose
rows are never updated, fewer (deleted).
The person ids (``traveller_id``, ``document_id``) are cast to text by the
database: a whole-number column with a NULL would reach pandas as floats.
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import fcntl
import json
import os
import re
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.core.csv_files import not_a_year_first
from riskmodel.core.exceptions import (
    BatchError,
    ConfigError,
    DatabaseUnavailableError,
    LateRowsWarning,
    SchemaError,
    SchemaProblem,
    UnreadableFileError,
)
from riskmodel.core.schema import CROSSINGS
from riskmodel.core.temp_files import temp_beside
from riskmodel.core.sources.contracts import SOURCE_KEYS, SOURCES

__all__ = ["DATABASE_URL_ENV", "TABLES", "TableSpec", "engine_from_env", "write_table", "read_table", "IncrementalReader"]

#: Environment variable holding the SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host:5432/db``.
DATABASE_URL_ENV = "RISKMODEL_DATABASE_URL"


@dataclass(frozen=True)
class TableSpec:
    """A table of the contract: its columns, id column and watermark column."""

    columns: tuple
    id_column: str
    watermark: str
    categorical: bool  # enumerations as pandas categories (as the crossings generator emits them)


TABLES: dict[str, TableSpec] = {"crossings": TableSpec(CROSSINGS, "crossing_id", "timestamp", True)} | {
    name: TableSpec(cols, SOURCE_KEYS[name][0], "known_at", False) for name, cols in SOURCES.items()
}
#: The file in a parts folder naming the table and state file that write it (pyarrow skips names starting with "_").
_OWNER = "_reader.json"
_CROSSINGS_INTS = {"birth_year": "int32", "group_size": "Int32", "planned_stay_days": "Int32"}


def _statement(sql: str):
    """``sa.text(sql)`` with ``:wm`` bound as a time: SQLite holds times as text and compares them as text
    ('2022-05-01 10:00:00.000000' is after the '2022-05-01 10:00:00' a bare datetime is written as)."""
    import sqlalchemy as sa

    stmt = sa.text(sql)
    return stmt.bindparams(sa.bindparam("wm", type_=sa.DateTime())) if ":wm" in sql else stmt


def _select_list(spec: TableSpec) -> str:
    """The contract's columns for a SELECT, the person ids (every id column but the row's own) cast to text by the database.

    A whole-number id column (BIGINT ``traveller_id``) with a NULL reaches pandas as float64: 123 became "123.0", linked
    to no "123" of the crossings log, and 9007199254740993 became another person's 9007199254740992. The row's own id
    is never NULL (refused) and keeps its kind: the incremental reader orders and resumes by it.
    """
    return ", ".join(f'CAST("{c.name}" AS TEXT) AS "{c.name}"' if c.kind == "id" and c.name != spec.id_column else f'"{c.name}"'
                     for c in spec.columns)


def _sync(path: Path) -> None:
    """fsync a file's content, or a folder's entries (the renames into it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _spec(name: str) -> TableSpec:
    if name not in TABLES:
        raise ConfigError(f"`name` must be one of {sorted(TABLES)}; got {name!r}.")
    return TABLES[name]


#: Query parameters of a URL that libpq (and psycopg) take as secrets: ``?password=`` is a password like ``user:password@``.
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


def _shown(url) -> str:
    """``url`` as text for a message: its password hidden, in the ``user:password@`` part and in the query alike."""
    query = {k: ("***" if k.lower() in _SECRET_PARAMETERS else v) for k, v in url.query.items()}
    return url.set(query=query).render_as_string(hide_password=True).replace("=%2A%2A%2A", "=***")  # the URL quotes '*'


def _secrets(url) -> list[str]:
    """The URL's passwords as given (to take out of a driver's message)."""
    given = [url.password, *(v for k, v in url.query.items() if k.lower() in _SECRET_PARAMETERS)]
    return [str(x) for v in given if v for x in (v if isinstance(v, tuple) else (v,))]


def engine_from_env(url: str | None = None):
    """A SQLAlchemy engine for ``url``, or for the URL in ``RISKMODEL_DATABASE_URL``.

    Raises
    ------
    ConfigError
        If no URL is given and the variable is unset or empty, or the URL cannot
        be parsed or names a driver that is not installed. The message never
        shows the URL's password (nor the URL at all when it cannot be parsed).
    """
    import sqlalchemy as sa

    where = "`url`" if url else f"${DATABASE_URL_ENV}"
    url = url or os.environ.get(DATABASE_URL_ENV, "")
    if not url:
        raise ConfigError(
            f"no database URL: pass `url` or set {DATABASE_URL_ENV} (e.g. postgresql+psycopg://user@127.0.0.1:5432/riskmodel)."
        )
    example = "e.g. postgresql+psycopg://user:password@host:5432/database"
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"the database URL in {where} is not a SQLAlchemy URL (not shown: it may hold a password); "
                          f"fix it, {example}.") from None
    try:
        # a pooled connection the server dropped since (a restart, a failover) is replaced before use, not handed to a read
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"the database URL {_shown(parsed)} in {where} names a driver that "
                          f"cannot be loaded ({type(exc).__name__}); use postgresql+psycopg ({example}).") from None


def _detail(engine, exc) -> str:
    """The driver's words of ``exc`` on one line, at most 300 characters, the URL's passwords taken out."""
    detail = " ".join(str(getattr(exc, "orig", exc) or type(exc).__name__).split())
    for secret in _secrets(engine.url):
        detail = detail.replace(secret, "***")
    return detail[:300]


def _lost_connection(exc: BaseException):
    """The SQLAlchemy error of a connection lost to the server in ``exc`` or its causes (pandas' read_sql wraps it in its
    own DatabaseError), or None."""
    import sqlalchemy as sa

    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


@contextlib.contextmanager
def _connect(engine):
    """``engine.connect()``, a login or network failure raised as DatabaseUnavailableError without the password, and so
    is a connection lost during the read (the server restarted or failed over: the driver's OperationalError, with the
    SQL, was a traceback)."""
    import sqlalchemy as sa

    try:
        con = engine.connect()
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise DatabaseUnavailableError(
            f"cannot connect to the database {_shown(engine.url)}: {_detail(engine, exc)}. Fix: check that the server runs and accepts this "
            f"host, port, user and password (set in {DATABASE_URL_ENV} or --database), then rerun."
        ) from None
    with con:
        try:
            yield con
        except Exception as exc:
            lost = _lost_connection(exc)
            if lost is None:
                raise
            raise DatabaseUnavailableError(
                f"lost the connection to the database {_shown(engine.url)} during the read: {_detail(engine, lost)}. Fix: check that "
                "the server runs (a restart or failover drops every session), then rerun: nothing of this read was kept but the "
                "parts an incremental read wrote, which it resumes after."
            ) from None


def _check_table(con, name: str, spec: TableSpec) -> None:
    """SchemaError if the table is missing, lacks a contract column, holds a contract time with a time zone, or its
    watermark as a DATE (outside SQLite)."""
    import sqlalchemy as sa

    inspector = sa.inspect(con)
    if not inspector.has_table(name):
        raise SchemaError(name, [SchemaProblem("<table>", f"table `{name}` does not exist in the database",
                                               f"load it (riskmodel.integrations.database.write_table) or point the URL at the right database")])
    found = {c["name"]: c["type"] for c in inspector.get_columns(name)}
    problems = [SchemaProblem(c.name, "required column is missing in the database table", f"add the column `{c.name}` ({c.kind}): {c.description}")
                for c in spec.columns if c.name not in found]
    problems += [SchemaProblem(c.name, "a timestamp with a time zone; the contract holds local port time without one",
                               f"store it as `timestamp without time zone` in local port time")
                 for c in spec.columns if c.kind == "datetime" and getattr(found.get(c.name), "timezone", False)]
    # the watermark is when the service first held the row: a DATE reads as 00:00 of its day, before everything that
    # happened that day (a report filed at 16:00 counted in the history of an entry at 09:00). SQLite aside: its types
    # belong to values, and a column declared DATE holds whatever time it was given.
    declared = found.get(spec.watermark)
    if con.dialect.name != "sqlite" and isinstance(declared, sa.Date) and not isinstance(declared, sa.DateTime):
        problems.append(SchemaProblem(
            spec.watermark, "a date without a time of day (SQL type DATE): every row would read as held from 00:00 of its day, "
            "before what happened that day (a record filed at 16:00 counted before an entry at 09:00)",
            _day_only_fix(name, spec.watermark)))
    if problems:
        raise SchemaError(name, problems)


def _check_watermark_type(con, name: str, spec: TableSpec) -> None:
    """SchemaError if the watermark column is not a time column (SQLite aside: its types belong to values).

    An incremental read compares the watermark with the saved one in SQL; PostgreSQL has no comparison of text
    with a time, and stopped the read with its own "operator does not exist: text > timestamp".
    """
    import sqlalchemy as sa

    if con.dialect.name == "sqlite":
        return
    declared = {c["name"]: c["type"] for c in sa.inspect(con).get_columns(name)}[spec.watermark]
    if not isinstance(declared, sa.DateTime | sa.Date):
        raise SchemaError(name, [SchemaProblem(
            spec.watermark, f"held as text or another type that is not a time (SQL type {declared}): an incremental read "
            "compares it with the saved watermark in the database, which cannot compare such a column with a time",
            f"store `{spec.watermark}` as `timestamp without time zone` (ALTER TABLE \"{name}\" ALTER COLUMN "
            f"\"{spec.watermark}\" TYPE timestamp USING \"{spec.watermark}\"::timestamp), then rerun (nothing was read); "
            "read_table reads it as it is")])


def _id_kind(con, name: str, spec: TableSpec) -> str | None:
    """How the table's ids are ordered and bound: "int" (whole numbers) or "text"; None when the table has no rows.

    Raises
    ------
    SchemaError
        If an id is missing (NULL), or the ids are of a kind a read cannot resume
        after exactly: fractional numbers (FLOAT, DOUBLE PRECISION, REAL, NUMERIC
        but NUMERIC(p, 0), which round) or, in SQLite (whose types belong to values, not columns),
        values of several kinds.
    """
    import sqlalchemy as sa

    key = f'"{spec.id_column}"'
    nulls, first = con.execute(sa.text(f'SELECT count(*), min("{spec.watermark}") FROM "{name}" WHERE {key} IS NULL')).one()
    if nulls:
        raise SchemaError(name, [SchemaProblem(
            spec.id_column, "missing (NULL): a read resumes after a (watermark, id) key, and a NULL id compares with none",
            "give every row its own id, then rerun", (f"first at {spec.watermark} {first}",), int(nulls))])
    fix = (f"store `{spec.id_column}` as whole numbers (INTEGER, BIGINT, NUMERIC(p, 0)) or text (TEXT, VARCHAR), one kind on every row, "
           "then rerun")
    if con.dialect.name == "sqlite":
        stored = sorted(k for (k,) in con.execute(sa.text(f'SELECT DISTINCT typeof({key}) FROM "{name}"')))
        if len(stored) > 1 or (stored and stored[0] not in ("integer", "text")):
            raise SchemaError(name, [SchemaProblem(
                spec.id_column, f"ids stored as SQLite {' and '.join(stored)} values: a read resumes exactly only after ids "
                "of one kind, whole numbers or text (fractions round, and SQLite ranks every number below every text)", fix)])
        return {"integer": "int", "text": "text"}.get(stored[0]) if stored else None
    declared = {c["name"]: c["type"] for c in sa.inspect(con).get_columns(name)}[spec.id_column]
    # NUMERIC(p, 0) holds whole numbers only; NUMERIC without a scale holds any fraction
    if isinstance(declared, sa.Integer) or (isinstance(declared, sa.Numeric) and declared.scale == 0):
        return "int"
    if isinstance(declared, (sa.String, sa.Uuid)):
        return "text"
    raise SchemaError(name, [SchemaProblem(
        spec.id_column, f"ids of SQL type {declared}: a read resumes exactly only after whole numbers or text "
        "(fractions round; other types have no order this reader knows)", fix)])


def _count_and_least(con, rows: str, params: dict | None = None) -> tuple[int, object]:
    """How many rows the query ``rows`` gives, and its least ``k`` as the database orders ids (None without rows).

    ORDER BY, not min(): PostgreSQL has no min() of UUIDs, which the reader takes as text ids.
    """
    return con.execute(_statement(
        f"SELECT (SELECT count(*) FROM ({rows}) r), (SELECT k FROM ({rows}) r ORDER BY k LIMIT 1)"), params or {}).one()


def _text(s: pd.Series) -> pd.Series:
    """``s`` as text (pandas 3) or as the objects the driver gave (pandas 2), but NUMERIC(p, 0) and UUID ids as their text.

    Arrow writes Decimals at each part's own precision (parts of ids 1-3 and 10-12 cannot be read as one table)
    and UUIDs as 16 bytes: such ids are written as the text pandas 3 writes for every id.
    """
    first = s.first_valid_index()
    exact = pd.__version__ >= "3" or (first is not None and isinstance(s[first], decimal.Decimal | uuid.UUID))
    out = s.astype("str") if exact else s.astype(object)
    return out.where(s.notna(), None) if s.isna().any() else out


def _unreadable(name: str, df: pd.DataFrame, column: str, bad: np.ndarray, kind: str) -> SchemaProblem:
    ids = df[_spec(name).id_column].astype(str).to_numpy()[bad]
    examples = ", ".join(repr(v) for v in df[column].to_numpy()[bad][:3])
    return SchemaProblem(column, f"values that are not {kind} ({examples})", f"store {kind} values in `{column}`",
                         tuple(ids[:5]), int(bad.sum()))


def _zoned(v: pd.Series) -> np.ndarray:
    """Which values of a time column carry a time zone (text with an offset included)."""
    if getattr(v.dtype, "tz", None) is not None:
        return v.notna().to_numpy()
    if not (v.dtype == object or pd.api.types.is_string_dtype(v)):
        return np.zeros(len(v), dtype=bool)
    try:  # the common case in one call: every value parses to a time without a zone
        # (pandas 2 parses a mix of zoned and plain times to objects: those are judged value by value below)
        if pd.api.types.is_datetime64_dtype(pd.to_datetime(v, errors="coerce", format="mixed").dtype):
            return np.zeros(len(v), dtype=bool)
    except (ValueError, TypeError):  # zoned and unzoned, or several offsets
        pass
    return np.array([_has_zone(x) for x in v], dtype=bool)


def _has_zone(x) -> bool:
    try:
        return x is not None and not pd.isna(x) and pd.Timestamp(x).tzinfo is not None
    except (ValueError, TypeError):
        return False


#: A time given as its day alone ("2022-05-01").
_DAY_ONLY = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*")


def _day_only_fix(name: str, column: str) -> str:
    """How to store a watermark held without a time of day."""
    return (f"store `{column}` as `timestamp without time zone` with the time the service first held the row; where only the "
            f"day is known, the end of that day (ALTER TABLE \"{name}\" ALTER COLUMN \"{column}\" TYPE timestamp USING "
            f"\"{column}\"::date + interval '1 day' - interval '1 microsecond'), so that nothing counts before the day is over")


def coerce(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Dtypes of the contract (as the generator and the Parquet files hold them) on a frame read from SQL.

    Raises
    ------
    SchemaError
        Naming each column holding values that are not dates, whole numbers or
        booleans where the contract wants them (e.g. a text column with "not a date"), or
        times with a zone (text such as "2022-05-01 10:00:00+07:00").
    """
    spec = _spec(name)
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    problems = []
    for c in spec.columns:
        v = df[c.name].reset_index(drop=True)
        if c.kind == "datetime":
            zoned = _zoned(v)
            if zoned.any():
                problems.append(dataclasses.replace(
                    _unreadable(name, df, c.name, zoned, "times without a time zone"),
                    fix=f"store `{c.name}` in local port time without a zone (the contract's time), then read again"))
                continue
            text = v.dtype == object or pd.api.types.is_string_dtype(v)
            if text and c.name == spec.watermark:
                # the DATE column's twin: a day alone reads as 00:00, before everything that happened that day
                shaped = v.astype("string").str.fullmatch(_DAY_ONLY.pattern).fillna(False).to_numpy(dtype=bool)
                # a day that is no date ("2022-13-45") is named as not a date below
                day_only = shaped & pd.to_datetime(v.where(shaped), errors="coerce", format="ISO8601").notna().to_numpy()
                if day_only.any():
                    problems.append(dataclasses.replace(
                        _unreadable(name, df, c.name, day_only, "times"), problem=f"a date without a time of day ({v[day_only].iloc[0]!r}): "
                        "the row would read as held from 00:00 of its day, before what happened that day",
                        fix=_day_only_fix(name, c.name)))
                    continue
            parsed = pd.to_datetime(v, errors="coerce", format="ISO8601") if text else pd.to_datetime(v)
            bad = (parsed.isna() & v.notna()).to_numpy() | not_a_year_first(v)
            if bad.any():
                problems.append(_unreadable(name, df, c.name, bad, "dates"))
                continue
            out[c.name] = parsed.astype("datetime64[us]")
        elif c.kind == "int":
            num = pd.to_numeric(v, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            bad = (np.isnan(num) & v.notna().to_numpy()) | (np.isfinite(num) & (num != np.round(num))) | np.isinf(num)
            if bad.any():
                problems.append(_unreadable(name, df, c.name, bad, "whole numbers"))
                continue
            dtype = _CROSSINGS_INTS.get(c.name, "Int32") if name == "crossings" else "Int64"
            out[c.name] = pd.array(num, dtype="Int64").astype(dtype)
        elif c.kind == "bool":
            # PostgreSQL's boolean or SQLite's 0 and 1 (True == 1); text such as 'true' made pandas raise, naming nothing
            bad = np.zeros(len(v), dtype=bool) if pd.api.types.is_bool_dtype(v) else (v.notna() & ~v.astype(object).isin([True, False])).to_numpy()
            if bad.any():
                problems.append(dataclasses.replace(_unreadable(name, df, c.name, bad, "booleans"),
                                                    fix=f"store booleans in `{c.name}` (a boolean column; true/false as values, not text)"))
                continue
            out[c.name] = pd.array(v, dtype="boolean")
        elif c.kind == "enum" and spec.categorical:
            obj = v.astype(object)
            bad = (obj.notna() & ~obj.isin(list(c.values))).to_numpy()
            if bad.any():  # a Categorical would turn them into missing values: the value and the row would be lost
                problems.append(_unreadable(name, df, c.name, bad, f"one of the contract's levels {list(c.values)}"))
                continue
            out[c.name] = pd.Categorical(obj, categories=list(c.values))
        else:
            out[c.name] = _text(v)
    if problems:
        raise SchemaError(name, problems)
    return out


def write_table(engine, name: str, df: pd.DataFrame, *, if_exists: str = "replace") -> int:
    """Load a contract table into the database (categories as text), indexed by ``(watermark, id)``.

    The table is replaced (or appended to), its rows written and its index made in one transaction: a load that
    fails leaves the table as it was, never empty or half written (a reader then read "no record on file").

    Returns
    -------
    int
        Rows written.
    """
    import sqlalchemy as sa

    spec = _spec(name)
    plain = df[[c.name for c in spec.columns]].copy()
    for col in plain.columns:
        if isinstance(plain[col].dtype, pd.CategoricalDtype):
            plain[col] = plain[col].astype(object)
    # one transaction: the table dropped and created empty, committed apart from its rows, was left empty by a load
    # that failed (and read so by whoever read it meanwhile)
    with engine.begin() as con:
        if engine.dialect.name == "postgresql":
            plain.head(0).to_sql(name, con, if_exists=if_exists, index=False)
            _copy_rows(con, name, plain)
        else:
            # one multi-row INSERT per chunk; keep under the usual 65,535-parameter limit of a statement
            chunk = max(1, 60_000 // max(len(plain.columns), 1))
            plain.to_sql(name, con, if_exists=if_exists, index=False, chunksize=chunk, method="multi")
        con.execute(sa.text(f'CREATE INDEX IF NOT EXISTS "{name}_wm" ON "{name}" ("{spec.watermark}", "{spec.id_column}")'))
    return len(plain)


def _copy_rows(con, name: str, plain: pd.DataFrame) -> None:
    """Append rows through PostgreSQL's COPY (tens of times faster than INSERTs), in ``con``'s transaction."""
    cols = ", ".join(f'"{c}"' for c in plain.columns)
    columns = []
    for col in plain.columns:
        s = plain[col]
        missing = s.isna().to_numpy()
        values = s.dt.to_pydatetime() if pd.api.types.is_datetime64_any_dtype(s) else s.astype(object).to_numpy()
        columns.append([None if m else (v.item() if isinstance(v, np.generic) else v) for v, m in zip(values, missing, strict=True)])
    with con.connection.driver_connection.cursor() as cur, cur.copy(f'COPY "{name}" ({cols}) FROM STDIN') as copy:
        for row in zip(*columns, strict=True):
            copy.write_row(row)


def read_table(engine, name: str) -> pd.DataFrame:
    """A whole contract table, in id order, with the contract's dtypes (person ids as the text the database writes).

    Raises
    ------
    DatabaseUnavailableError
        If the database cannot be reached or refuses the login, or drops the
        connection during the read (a pooled connection it dropped before is
        replaced first).
    SchemaError
        If the table is missing, lacks a column, holds a time with a zone or
        values of the wrong kind, or holds its watermark (``known_at``, the
        crossings' ``timestamp``) as a DATE: read as 00:00, a row would count
        before what happened earlier that day.
    """
    import sqlalchemy as sa

    spec = _spec(name)
    with _connect(engine) as con:
        _check_table(con, name, spec)
        df = pd.read_sql(sa.text(f'SELECT {_select_list(spec)} FROM "{name}" ORDER BY "{spec.id_column}"'), con, coerce_float=False)
    return coerce(name, df)


class IncrementalReader:
    """Read the rows of a table newer than the last run's watermark, in resumable batches.

    The id column (the table's ``id_column`` in :data:`TABLES`) must hold whole
    numbers (SQL INTEGER, BIGINT, SMALLINT, NUMERIC(p, 0): ordered and resumed as
    numbers, 10 after 9) or text (TEXT, VARCHAR, CHAR, or UUID in PostgreSQL: ordered as the
    database orders text), one kind on every row and never NULL. The state file
    keeps the last id as the column holds it: a JSON number for whole numbers, a
    string for text. A state file of older readers, which saved every id as
    text, resumes as before for text ids and, for whole-number ids, at the
    number it names. Fractional ids (FLOAT, DOUBLE PRECISION, REAL, NUMERIC with a
    scale other than 0),
    ids of other types, NULL ids, or (in SQLite) ids of several kinds stop the
    read with a SchemaError naming the column before anything is written.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        Where the table lives (:func:`engine_from_env`).
    name : str
        A table of :data:`TABLES`.
    state_path : str or Path
        JSON file holding the last key read and the next part number.
    batch_rows : int, default=50_000
        Rows per batch (and per Parquet part).

    Examples
    --------
    >>> reader = IncrementalReader(engine, "presence_reports", "state/reports.json")  # doctest: +SKIP
    >>> reader.read_into("landing/presence_reports")  # doctest: +SKIP
    120345
    """

    def __init__(self, engine, name: str, state_path: str | Path, *, batch_rows: int = 50_000):
        self.engine = engine
        self.name = name
        self.spec = _spec(name)
        self.state_path = Path(state_path)
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise ConfigError(f"`batch_rows` must be an int >= 1; got {batch_rows!r}.")
        self.batch_rows = batch_rows

    def state(self) -> dict:
        """``watermark`` and ``last_id`` of the last row read (None before the first run) and ``next_part``.

        ``last_id`` is an int for a whole-number id column and a str for a text one
        (a str for every column in state files of older readers).
        """
        if not self.state_path.exists():
            return {"watermark": None, "last_id": None, "next_part": 0}
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            last = state.get("last_id") if isinstance(state, dict) else None
            ok = isinstance(state, dict) and isinstance(state.get("next_part"), int) and (
                state.get("watermark") is None or not pd.isna(pd.Timestamp(state["watermark"]))) and (
                (last is None) == (state.get("watermark") is None)) and (
                last is None or isinstance(last, str) or (isinstance(last, int) and not isinstance(last, bool)))
        except (ValueError, TypeError, UnicodeDecodeError):
            ok = False
        if not ok:
            raise UnreadableFileError(self.state_path, "it is not a state file of this reader (corrupt, truncated or edited)",
                                      "restore it, or delete it together with the parts folder to read the table again from the start")
        return state

    @contextlib.contextmanager
    def _only_reader(self):
        """Hold an exclusive lock on ``<state file>.lock`` for a read; BatchError if another read holds it.

        Two reads of one state at once each write parts from their own idea of the state, and overwrite each other's
        parts of the same number: rows are lost and others written twice. The lock goes with the process (a killed
        read leaves none behind).
        """
        lock = self.state_path.with_name(self.state_path.name + ".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o640)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BatchError(
                    f"another incremental read of `{self.name}` with the state file {self.state_path} is running (it holds "
                    f"{lock}): two reads at once lose rows and write others twice. Fix: let it finish (or stop it), then "
                    "rerun; schedule the reads so that one ends before the next starts.") from None
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _save(self, state: dict) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(state), encoding="utf-8")
        _sync(tmp)
        os.replace(tmp, self.state_path)

    def _resume(self, state: dict, kind: str | None) -> dict:
        """``state`` with its last id of the column's ``kind``: an old state file's text "9" becomes 9 for whole numbers.

        A last id of the other kind (the table reloaded with other ids since) is a SchemaError: the
        saved place cannot be found in the new order, and guessing it would skip or repeat rows.
        """
        last = state["last_id"]
        if kind == "int" and isinstance(last, str):
            if re.fullmatch(r"-?[0-9]+", last):  # how readers before ids kept their kind wrote a whole number
                return state | {"last_id": int(last)}
            problem = "the state file's last id is text that is not a whole number, but the column holds whole numbers"
        elif kind == "text" and isinstance(last, int):
            problem = "the state file's last id is a whole number, but the column holds text"
        else:
            return state
        raise SchemaError(self.name, [SchemaProblem(
            self.spec.id_column, f"{problem} (the table was reloaded with ids of another kind since the last run): "
            "the saved place cannot be found in its order", f"delete {self.state_path} together with the parts folder to read "
            "the table again from the start, or restore the table the state file was written from")])

    def _after(self, state: dict) -> tuple[str, dict]:
        """The WHERE clause and parameters of the rows after the key in ``state``."""
        wm, key = f'"{self.spec.watermark}"', f'"{self.spec.id_column}"'
        if state["watermark"] is None:
            return "", {}
        return (f"WHERE {wm} > :wm OR ({wm} = :wm AND {key} > :id)",
                {"wm": pd.Timestamp(state["watermark"]).to_pydatetime(), "id": state["last_id"]})

    def _check_keys(self, state: dict) -> tuple[str | None, dict]:
        """The id column's kind (:func:`_id_kind`) and ``state`` with its last id of that kind (:meth:`_resume`).

        SchemaError if rows to read lack the watermark or repeat a (watermark, id) key: either would be skipped
        without a word; if a row's watermark lies after the time of the read (read, it would move the watermark
        past every row still to come); or if the ids are NULL or of a kind a read cannot resume after, or the saved last id
        does not fit them.
        """
        import sqlalchemy as sa

        wm, key = f'"{self.spec.watermark}"', f'"{self.spec.id_column}"'
        kind, twice, late = None, 0, 0
        # local port time (at most UTC+9) of a row the service holds is never a day past the reader's clock
        limit = (pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(days=1)).floor("s")
        with _connect(self.engine) as con:
            _check_table(con, self.name, self.spec)
            _check_watermark_type(con, self.name, self.spec)
            n, first = _count_and_least(con, f'SELECT {key} AS k FROM "{self.name}" WHERE {wm} IS NULL')
            if not n:
                late, future = _count_and_least(con, f'SELECT {key} AS k FROM "{self.name}" WHERE {wm} > :limit',
                                                {"limit": limit.to_pydatetime()})
            if not n and not late:
                kind = _id_kind(con, self.name, self.spec)
                state = self._resume(state, kind)
                where, params = self._after(state)
                twice, example = _count_and_least(
                    con, f'SELECT {key} AS k FROM "{self.name}" {where} GROUP BY {wm}, {key} HAVING count(*) > 1', params)
        if n:
            raise SchemaError(self.name, [SchemaProblem(
                self.spec.watermark, "missing (NULL): an incremental read orders rows by it and would never read these",
                f"fill `{self.spec.watermark}` (when the service first held the row, e.g. its load time), then rerun",
                (str(first),), int(n))])
        if late:
            # read, it would move the watermark past every row still to come: later runs would read nothing, without a word
            raise SchemaError(self.name, [SchemaProblem(
                self.spec.watermark, f"after the time of this read (a day's margin for local time included: {limit}): no row is held before it arrives, and read, "
                "it would move the watermark past every row still to come", f"correct `{self.spec.watermark}` (a mistyped "
                "year, a placeholder for 'unknown'), then rerun (nothing was read)", (str(future),), int(late))])
        if twice:
            raise SchemaError(self.name, [SchemaProblem(
                self.spec.id_column, f"the same id at the same `{self.spec.watermark}` on several rows: a read resumes after "
                "a (watermark, id) key and would skip the repeats", "drop the repeated rows or give each its own id, then rerun",
                (str(example),), int(twice))])
        return kind, state

    def _check_progress(self, state: dict, batch: pd.DataFrame, ids: pd.Series) -> None:
        """SchemaError if ``batch`` holds a row at or before the last key read: the read would repeat rows, or go round for ever.

        ``ids`` are the batch's ids as the database returned them, compared with the saved last id as
        the same kind: as whole numbers (int) or as text.
        """
        if state["watermark"] is None:
            return
        wm = batch[self.spec.watermark]
        saved = pd.Timestamp(state["watermark"])
        same = ids == state["last_id"] if isinstance(state["last_id"], int) else ids.astype(str) == state["last_id"]
        # an id compared only for equality: the database's collation, not Python's, orders ids
        again = ((wm < saved) | ((wm == saved) & same.to_numpy())).to_numpy()
        if again.any():
            raise SchemaError(self.name, [SchemaProblem(
                self.spec.watermark, f"the database returned rows this reader had already read (at or before the last key read, "
                f"{self.spec.watermark} {saved}): it does not compare `{self.spec.watermark}` with the saved watermark as a time, "
                "e.g. times stored as text in another format", f"store `{self.spec.watermark}` as a timestamp column, then rerun "
                "(nothing of this batch was written)", tuple(ids[again].astype(str).head(5)), int(again.sum()))])

    def _fetch(self, state: dict) -> pd.DataFrame:
        """The next ``batch_rows`` rows after the key in ``state``, in ``(watermark, id)`` order, as the database returns them."""
        wm, key = f'"{self.spec.watermark}"', f'"{self.spec.id_column}"'
        where, params = self._after(state)
        sql = _statement(f'SELECT {_select_list(self.spec)} FROM "{self.name}" {where} ORDER BY {wm}, {key} LIMIT :n')
        with _connect(self.engine) as con:
            # NUMERIC(p, 0) ids as the exact Decimals the driver gives: read_sql's default makes them floats (2**53 + 1
            # read as 2**53, and written to the parts as "1.0")
            return pd.read_sql(sql, con, params=params | {"n": self.batch_rows}, coerce_float=False)

    def next_batch(self, state: dict) -> pd.DataFrame:
        """The next ``batch_rows`` rows after the key in ``state``, in ``(watermark, id)`` order, with the contract's dtypes.

        Raises
        ------
        SchemaError
            As :meth:`read_into` does before it reads.
        """
        return coerce(self.name, self._fetch(self._check_keys(state)[1]))

    def read_into(self, out_dir: str | Path, *, on_part=None) -> int:
        """Write every new row to ``out_dir/part-NNNNNN.parquet`` and advance the watermark after each part.

        Rows deleted from the table since an earlier read stay in its parts (only rows after the watermark are
        read): read the table whole (:func:`read_table`) where records are withdrawn by deleting them.

        Parameters
        ----------
        out_dir : str or Path
            Folder of the parts (created if missing).
        on_part : callable, optional
            Called with each part's path after it is written and before the state moves on.

        Returns
        -------
        int
            Rows read by this run.

        Raises
        ------
        SchemaError
            If the table is missing, lacks a column, holds its watermark in a
            column that is not a time (TEXT in PostgreSQL) or as a DATE (read as
            00:00 of its day), has rows without a
            watermark or an id, or with a watermark after the time of the read
            (a day's margin for local port time: 2203 for 2023 would move the
            watermark past every row still to come), repeats an id at the same watermark, holds ids
            of a kind a read cannot resume after (fractional, other types or
            mixed kinds), or its ids are of another kind than the state file's
            last id (all checked before anything is read); or when the
            database returns a row at or before the last key read (before that
            batch is written).
        UnreadableFileError
            If the state file is corrupt.
        ConfigError
            If ``out_dir`` holds the parts of another state file (its ``_reader.json`` names it), or parts no
            state file claims while this one has read nothing yet: numbered from 0, its parts would overwrite them.
        DatabaseUnavailableError
            If the database cannot be reached, or drops the connection during
            the read (the parts written so far are kept: a rerun resumes after them).
        BatchError
            If another read of the same state file is running (it holds ``<state file>.lock``): two reads at
            once would lose rows and write others twice.
        """
        with self._only_reader():
            return self._read_into(Path(out_dir), on_part)

    def _claim(self, out: Path, state: dict) -> None:
        """Make ``out`` this state file's parts folder (``_reader.json``), or refuse one another read writes.

        A folder of parts no state file claims (a reader of before this check wrote it, or a state file was
        deleted without its parts) is this state file's if it has read before, and refused to a new one: its
        parts numbered from 0 would overwrite them.
        """
        marker = out / _OWNER
        me = {"table": self.name, "state_file": str(self.state_path.resolve())}
        if marker.is_file():
            try:
                owner = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                owner = None
            if owner == me:
                return
            shown = (f"table `{owner.get('table')}`, state file {owner.get('state_file')}" if isinstance(owner, dict)
                     else f"an unreadable {marker.name}")
            raise ConfigError(
                f"`out_dir` {out} holds the parts of another incremental read ({shown}), not of {self.state_path}: "
                f"both number their parts from part-000000, so one read overwrites the other's and rows are lost. "
                f"Fix: give each state file its own parts folder (if this state file was moved, delete {marker} and "
                f"read again: it claims the folder anew).")
        if state["next_part"] == 0 and any(out.glob("part-*.parquet")):
            raise ConfigError(
                f"`out_dir` {out} holds parts no state file claims, and {self.state_path} has read nothing yet: its parts "
                f"would overwrite them. Fix: give it an empty folder, or delete the parts to read the table again from the start.")
        tmp = temp_beside(marker)
        tmp.write_text(json.dumps(me), encoding="utf-8")
        os.replace(tmp, marker)

    def _count_behind(self, state: dict) -> int:
        """Rows of the table at or before the key in ``state``."""
        wm, key = f'"{self.spec.watermark}"', f'"{self.spec.id_column}"'
        sql = _statement(f'SELECT COUNT(*) FROM "{self.name}" WHERE {wm} < :wm OR ({wm} = :wm AND {key} <= :id)')
        with _connect(self.engine) as con:
            return int(con.execute(sql, {"wm": pd.Timestamp(state["watermark"]).to_pydatetime(), "id": state["last_id"]}).scalar())

    def _check_unread(self, out: Path, state: dict) -> None:
        """Warn when the permit table holds more applications at or before the key than the parts hold (each once).

        An application is read again after each update, so the rows read run ahead of the table's by one per decision
        and offset an application recorded late (an older ``known_at``, never read): the late-rows count never warned.
        Every application in the table at or before the key is in the parts but one recorded late (deleted ones,
        still in the parts, can offset it: the count named is at least the late ones).
        """
        parts = sorted(out.glob("part-*.parquet"))
        held = pd.concat([pd.read_parquet(p, columns=[self.spec.id_column]) for p in parts])[self.spec.id_column].nunique() if parts else 0
        n = self._count_behind(state) - int(held)
        if n >= 1:  # more at or before the key than the parts hold
            at = f'{self.spec.watermark} {state["watermark"]}, {self.spec.id_column} {state["last_id"]}'
            warnings.warn(f"`{self.name}`: {n} application{'s' if n != 1 else ''} at or before the last key read ({at}) in no part "
                          f"of {out}: recorded late, with an older `known_at`, and an incremental read never reads them (a grant "
                          f"so missed leaves its traveller past the permit). Fix: read the table whole with read_table and land it "
                          f"anew (delete {self.state_path} with its parts folder); silence with "
                          "warnings.filterwarnings('ignore', category=LateRowsWarning).", LateRowsWarning, stacklevel=4)

    def _decided_behind(self, state: dict) -> int:
        """Permit applications decided (``decided_at`` given) at or before the key in ``state``."""
        wm, key = f'"{self.spec.watermark}"', f'"{self.spec.id_column}"'
        sql = _statement(f'SELECT COUNT(*) FROM "{self.name}" WHERE "decided_at" IS NOT NULL AND ({wm} < :wm OR ({wm} = :wm AND {key} <= :id))')
        with _connect(self.engine) as con:
            return int(con.execute(sql, {"wm": pd.Timestamp(state["watermark"]).to_pydatetime(), "id": state["last_id"]}).scalar())

    def _check_decided(self, state: dict) -> dict:
        """Warn when more permit applications are decided at or before the saved key than the reads read decided.

        An application read while pending and decided in place with a ``known_at`` before the key (the decision time,
        keyed in after the read) moves, it is not added: the count of rows behind the key is the same, the decision is
        never read, and the parts hold it pending (a granted extension lost). ``state`` with the count of decided rows
        read (a state file of older readers: counted now).
        """
        behind = self._decided_behind(state)
        if not isinstance(state.get("decided"), int) or isinstance(state.get("decided"), bool):
            state = state | {"decided": behind}
            self._save(state)
            return state
        n = behind - state["decided"]
        if n >= 1:  # more decided at or before the key than read decided
            at = f'{self.spec.watermark} {state["watermark"]}, {self.spec.id_column} {state["last_id"]}'
            warnings.warn(f"`{self.name}`: {n} application{'s' if n != 1 else ''} decided with a `known_at` at or before the last key "
                          f"read ({at}) that the reads of {self.state_path} never read decided: updated in place after the read "
                          "with an older `known_at` (the decision time, keyed in later), an incremental read never reads the "
                          "decision and the parts hold the application pending (a granted extension lost: its traveller past the "
                          "permit). Fix: give `known_at` the time the decision reached the database, or read the table whole with "
                          f"read_table and land it anew (delete {self.state_path} with its parts folder); silence with "
                          "warnings.filterwarnings('ignore', category=LateRowsWarning).", LateRowsWarning, stacklevel=4)
        return state

    def _check_behind(self, state: dict) -> dict:
        """Warn when the table holds more rows at or before the saved key than were read (recorded late), or, in the
        crossings log, fewer (deleted); ``state`` with the count of rows read (a state file of older readers: counted now)."""
        if state["watermark"] is None:
            return state | {"rows": 0} | ({"decided": 0} if self.name == "permit_applications" else {})
        if self.name == "permit_applications":
            state = self._check_decided(state)
        behind = self._count_behind(state)
        if not isinstance(state.get("rows"), int) or isinstance(state.get("rows"), bool):
            state = state | {"rows": behind}  # an older reader's state: what the table holds now is the baseline
            self._save(state)
            return state
        n, at = behind - state["rows"], f'{self.spec.watermark} {state["watermark"]}, {self.spec.id_column} {state["last_id"]}'
        fix = (f"read the table whole with read_table and land it anew (delete {self.state_path} with its parts folder to start "
               f"the incremental reads again); silence with warnings.filterwarnings('ignore', category=LateRowsWarning)")
        if n > 0:
            warnings.warn(f"`{self.name}`: {n} row{'s' if n != 1 else ''} at or before the last key read ({at}) that the reads of "
                          f"{self.state_path} never read: recorded late, with an older `{self.spec.watermark}`, and an incremental "
                          f"read never reads them (a crossing missing so leaves its stay open). Fix: {fix}.", LateRowsWarning, stacklevel=4)
        elif n < 0 and self.spec.watermark == "timestamp":  # crossings are never updated: fewer rows were deleted
            warnings.warn(f"`{self.name}`: {-n} row{'s' if n != -1 else ''} fewer at or before the last key read ({at}) than the "
                          f"reads of {self.state_path} read: deleted from the table, they stay in the parts. Fix: {fix}.",
                          LateRowsWarning, stacklevel=4)
        return state

    def _read_into(self, out: Path, on_part) -> int:
        """:meth:`read_into` under the lock of :meth:`_only_reader`."""
        total = 0
        kind, state = self._check_keys(self.state())
        out.mkdir(parents=True, exist_ok=True)
        self._claim(out, state)
        state = self._check_behind(state)
        while True:
            raw = self._fetch(state)
            if raw.empty:
                if self.name == "permit_applications" and state["watermark"] is not None:
                    self._check_unread(out, state)
                return total
            batch = coerce(self.name, raw)
            ids = raw[self.spec.id_column].reset_index(drop=True)
            self._check_progress(state, batch, ids)
            part = out / f"part-{state['next_part']:06d}.parquet"
            tmp = part.with_suffix(".tmp")
            batch.to_parquet(tmp, index=False)
            # the part and its rename on disk before the state moves past its rows (else a power cut can lose them)
            _sync(tmp)
            os.replace(tmp, part)
            _sync(out)
            if on_part is not None:
                on_part(part)
            last = ids.iloc[-1]
            decided = ({"decided": state["decided"] + int(batch["decided_at"].notna().sum())}
                       if self.name == "permit_applications" else {})
            state = {"watermark": pd.Timestamp(batch[self.spec.watermark].iloc[-1]).isoformat(),
                     "last_id": int(last) if kind == "int" else str(last), "next_part": state["next_part"] + 1,
                     "rows": state["rows"] + len(batch)} | decided
            self._save(state)
            total += len(batch)
