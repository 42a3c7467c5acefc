"""A throwaway PostgreSQL server on 127.0.0.1 with a temporary data directory (tests, benchmarks, demos).

Uses the server binaries of Debian's ``postgresql`` package (``/usr/lib/postgresql/<version>/bin``).
``initdb`` and ``postgres`` refuse to run as root, so under root they run as the ``postgres``
user through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["postgres_bin_dir", "temporary_postgres"]


def postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server bin directory installed, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def temporary_postgres(user: str = "riskmodel"):
    """Start a PostgreSQL server for the duration of a ``with`` block; yield its SQLAlchemy URL.

    Raises
    ------
    FileNotFoundError
        If no PostgreSQL server binaries are installed.
    subprocess.CalledProcessError
        If the server cannot be initialised or started.
    """
    bindir = postgres_bin_dir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server under /usr/lib/postgresql/*/bin; install Debian's `postgresql` package.")
    root = os.geteuid() == 0
    data = Path(tempfile.mkdtemp(prefix="riskmodel-pg-"))
    if root:
        shutil.chown(data, "postgres", "postgres")
    run_as = ["runuser", "-u", "postgres", "--"] if root else []
    port = _free_port()
    pgdata = data / "data"
    log = data / "server.log"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    started = False
    try:
        subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(pgdata), "-A", "trust", "-U", user, "-E", "UTF8"], **quiet)
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off -c full_page_writes=off"
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(pgdata), "-l", str(log), "-o", opts, "-w", "start"], **quiet)
        started = True
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(data, ignore_errors=True)
