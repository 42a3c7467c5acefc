"""Read the crossings log and the other sources from a SQL database (PostgreSQL through SQLAlchemy 2 and psycopg 3).

The only module that imports SQLAlchemy. Files stay the embedded default; the
database is used when a URL is given or set in ``RISKMODEL_DATABASE_URL``.
"""

from riskmodel.integrations.database.tables import (
    DATABASE_URL_ENV,
    TABLES,
    IncrementalReader,
    engine_from_env,
    read_table,
    write_table,
)

__all__ = ["DATABASE_URL_ENV", "TABLES", "IncrementalReader", "engine_from_env", "read_table", "write_table"]
