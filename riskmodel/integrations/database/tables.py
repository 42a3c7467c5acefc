"""Tables in a SQL database: load, read whole, and read incrementally by watermark (resumable).

Every table of the contract (the crossings log and the three sources) has an
id column and a watermark column: the time the service first held the row
(``timestamp`` for crossings, ``known_at`` for the sources). An incremental
read asks only for rows after the last run's watermark, ordered by
``(watermark, id)`` so that rows sharing a watermark are neither lost nor
repeated. Rows that arrive later with an *older* watermark are not seen by an
incremental read: point the reader at a load-time column if extracts behave so.

Read batches are written as numbered Parquet parts and the state (last key and
next part number) is saved *after* each part, atomically; a run killed between
the two writes the same part again under the same name, so the parts never hold
a row twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError
from riskmodel.core.schema import CROSSINGS
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
_CROSSINGS_INTS = {"birth_year": "int32", "group_size": "Int32", "planned_stay_days": "Int32"}


def _spec(name: str) -> TableSpec:
    if name not in TABLES:
        raise ConfigError(f"`name` must be one of {sorted(TABLES)}; got {name!r}.")
    return TABLES[name]


def engine_from_env(url: str | None = None):
    """A SQLAlchemy engine for ``url``, or for the URL in ``RISKMODEL_DATABASE_URL``.

    Raises
    ------
    ConfigError
        If no URL is given and the variable is unset or empty.
    """
    import sqlalchemy as sa

    url = url or os.environ.get(DATABASE_URL_ENV, "")
    if not url:
        raise ConfigError(
            f"no database URL: pass `url` or set {DATABASE_URL_ENV} (e.g. postgresql+psycopg://user@127.0.0.1:5432/riskmodel)."
        )
    return sa.create_engine(url)


def _text(s: pd.Series) -> pd.Series:
    out = s.astype("str") if pd.__version__ >= "3" else s.astype(object)
    return out.where(s.notna(), None) if s.isna().any() else out


def coerce(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Dtypes of the contract (as the generator and the Parquet files hold them) on a frame read from SQL."""
    spec = _spec(name)
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for c in spec.columns:
        v = df[c.name].reset_index(drop=True)
        if c.kind == "datetime":
            out[c.name] = pd.to_datetime(v).astype("datetime64[us]")
        elif c.kind == "int":
            dtype = _CROSSINGS_INTS.get(c.name, "Int32") if name == "crossings" else "Int64"
            out[c.name] = pd.array(v.to_numpy(dtype=float, na_value=np.nan), dtype="Int64").astype(dtype)
        elif c.kind == "bool":
            out[c.name] = pd.array(v, dtype="boolean")
        elif c.kind == "enum" and spec.categorical:
            out[c.name] = pd.Categorical(v.astype(object), categories=list(c.values))
        else:
            out[c.name] = _text(v)
    return out


def write_table(engine, name: str, df: pd.DataFrame, *, if_exists: str = "replace") -> int:
    """Load a contract table into the database (categories as text), indexed by ``(watermark, id)``.

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
    if engine.dialect.name == "postgresql":
        plain.head(0).to_sql(name, engine, if_exists=if_exists, index=False)
        _copy_rows(engine, name, plain)
    else:
        # one multi-row INSERT per chunk; keep under the usual 65,535-parameter limit of a statement
        chunk = max(1, 60_000 // max(len(plain.columns), 1))
        plain.to_sql(name, engine, if_exists=if_exists, index=False, chunksize=chunk, method="multi")
    with engine.begin() as con:
        con.execute(sa.text(f'CREATE INDEX IF NOT EXISTS "{name}_wm" ON "{name}" ("{spec.watermark}", "{spec.id_column}")'))
    return len(plain)


def _copy_rows(engine, name: str, plain: pd.DataFrame) -> None:
    """Append rows through PostgreSQL's COPY (tens of times faster than INSERTs)."""
    cols = ", ".join(f'"{c}"' for c in plain.columns)
    columns = []
    for col in plain.columns:
        s = plain[col]
        missing = s.isna().to_numpy()
        values = s.dt.to_pydatetime() if pd.api.types.is_datetime64_any_dtype(s) else s.astype(object).to_numpy()
        columns.append([None if m else (v.item() if isinstance(v, np.generic) else v) for v, m in zip(values, missing, strict=True)])
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f'COPY "{name}" ({cols}) FROM STDIN') as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def read_table(engine, name: str) -> pd.DataFrame:
    """A whole contract table, in id order, with the contract's dtypes."""
    import sqlalchemy as sa

    spec = _spec(name)
    cols = ", ".join(f'"{c.name}"' for c in spec.columns)
    with engine.connect() as con:
        df = pd.read_sql(sa.text(f'SELECT {cols} FROM "{name}" ORDER BY "{spec.id_column}"'), con)
    return coerce(name, df)


class IncrementalReader:
    """Read the rows of a table newer than the last run's watermark, in resumable batches.

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
        """``watermark`` and ``last_id`` of the last row read (None before the first run) and ``next_part``."""
        if self.state_path.exists():
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        return {"watermark": None, "last_id": None, "next_part": 0}

    def _save(self, state: dict) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_path)

    def next_batch(self, state: dict) -> pd.DataFrame:
        """The next ``batch_rows`` rows after the key in ``state``, in ``(watermark, id)`` order."""
        import sqlalchemy as sa

        wm, key = f'"{self.spec.watermark}"', f'"{self.spec.id_column}"'
        cols = ", ".join(f'"{c.name}"' for c in self.spec.columns)
        where, params = "", {"n": self.batch_rows}
        if state["watermark"] is not None:
            where = f"WHERE {wm} > :wm OR ({wm} = :wm AND {key} > :id)"
            params |= {"wm": pd.Timestamp(state["watermark"]).to_pydatetime(), "id": state["last_id"]}
        sql = sa.text(f'SELECT {cols} FROM "{self.name}" {where} ORDER BY {wm}, {key} LIMIT :n')
        with self.engine.connect() as con:
            return coerce(self.name, pd.read_sql(sql, con, params=params))

    def read_into(self, out_dir: str | Path, *, on_part=None) -> int:
        """Write every new row to ``out_dir/part-NNNNNN.parquet`` and advance the watermark after each part.

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
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        state, total = self.state(), 0
        while True:
            batch = self.next_batch(state)
            if batch.empty:
                return total
            part = out / f"part-{state['next_part']:06d}.parquet"
            tmp = part.with_suffix(".tmp")
            batch.to_parquet(tmp, index=False)
            os.replace(tmp, part)
            if on_part is not None:
                on_part(part)
            last = batch.iloc[-1]
            state = {"watermark": pd.Timestamp(last[self.spec.watermark]).isoformat(), "last_id": str(last[self.spec.id_column]),
                     "next_part": state["next_part"] + 1}
            self._save(state)
            total += len(batch)
