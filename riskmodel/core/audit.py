"""Append-only audit log of every scoring call and batch, as the EU AI Act asks of high-risk systems.

Each record is one JSON line: time (UTC), event (``score``, ``score_refused``: a call refused for bad input, with
the rows refused and the count per column, or ``batch``), model
name and version, a SHA-256 digest of the input the model saw, the row count,
band counts, and the caller's stated purpose. No identifier and no feature
value is written. The log is a JSON-lines file, ``riskmodel-audit.jsonl`` in
the working directory unless ``RISKMODEL_AUDIT_LOG`` names another path;
records are appended under an exclusive file lock with ``O_APPEND``, so
concurrent threads and processes never interleave a line. Batch jobs also log
their record to MLflow when tracking is on (see :mod:`riskmodel.integrations.tracking`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["AUDIT_ENV", "audit_path", "append", "read", "digest"]

AUDIT_ENV = "RISKMODEL_AUDIT_LOG"
DEFAULT_PATH = "riskmodel-audit.jsonl"
_lock = threading.Lock()


def audit_path() -> Path:
    """Where audit records go: ``$RISKMODEL_AUDIT_LOG`` or ``./riskmodel-audit.jsonl``."""
    return Path(os.environ.get(AUDIT_ENV) or DEFAULT_PATH)


_FULL_HASH_ROWS = 65_536


def digest(*arrays: np.ndarray) -> str:
    """SHA-256 fingerprint of the given arrays (the encoded model input), not the data itself.

    Up to 65,536 rows every byte is hashed; above that, the shape, per-column sums
    of the 64-bit patterns (so any changed value changes the digest) and every
    16th row, so that auditing a million-row batch costs milliseconds, not a second.
    """
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        h.update(str(a.shape).encode())
        if a.dtype == object:
            h.update("\x1f".join(map(str, a.ravel())).encode("utf-8"))
        elif a.ndim and a.shape[0] > _FULL_HASH_ROWS and a.dtype.itemsize == 8:
            # column sums of the bit patterns: every value counts, NaN included, no copy
            # (a view in either layout: the batch path encodes column-major)
            bits = (a if a.ndim == 2 else a.reshape(a.shape[0], -1)).view(np.uint64)
            h.update(bits.sum(axis=0, dtype=np.uint64).tobytes())
            h.update(np.ascontiguousarray(a[::16]).tobytes())
        else:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def append(event: str, **fields: Any) -> dict[str, Any]:
    """Append one record and return it.

    Parameters
    ----------
    event : str
        ``"score"``, ``"batch"``, ...
    **fields
        ``model_name, model_version, input_digest, rows, band_counts, purpose`` and any
        other JSON-serialisable facts (never identifiers).
    """
    record = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"), "event": event, **fields}
    line = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode("utf-8")
    path = audit_path()
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
        finally:
            os.close(fd)  # closing releases the lock
    return record


def read(path: str | Path | None = None) -> list[dict[str, Any]]:
    """All records of an audit log (for reviews and tests)."""
    p = Path(path) if path is not None else audit_path()
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
