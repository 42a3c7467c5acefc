"""Append-only audit log of every scoring call and batch, as the EU AI Act asks of high-risk systems.

Each record is one JSON line: time (UTC), event (``score``, ``score_refused``: a call refused for bad input, with
the rows refused and the count per column (a border call refused for its entry record or history, or a REST call for its params: ``refused_by``
names which, ``input_digest`` is null), ``batch``, or ``monitor``: a ``riskmodel monitor`` run's counts), model
name and version, a SHA-256 digest of the input the model saw, the row count,
band counts, and the caller's stated purpose. No identifier and no feature
value is written: a purpose holding a run of 5 or more digits (an id, a passport or a phone number, separators
allowed; a date is not one) is refused (:func:`check_purpose`) before anything is scored or written. The log is a JSON-lines file, ``riskmodel-audit.jsonl`` in
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
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["AUDIT_ENV", "audit_path", "append", "read", "digest", "check_purpose"]

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
            # hashed through the buffer protocol: the same bytes as .tobytes() gives, without copying them first
            h.update(bits.sum(axis=0, dtype=np.uint64))
            h.update(np.ascontiguousarray(a[::16]))
        else:
            h.update(np.ascontiguousarray(a))
    return h.hexdigest()


#: Digits that may name a person: 5 or more, single spaces, hyphens, dots or slashes between them allowed
#: (``T00001234``, ``A1234567``, ``+62 812 3456 7890``, ``2023/0004711``).
_ID_DIGITS = re.compile(r"\d(?:[ \-./]?\d){4,}")
#: A calendar day (``2024-01-17``, ``2024/01/17``, ``20240117``): digits that name a day, not a person; standing
#: alone (``T20240117`` is an id).
_DATE = re.compile(r"(?<![0-9A-Za-z])((?:19|20)\d\d)([-/.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?![0-9A-Za-z])")


def check_purpose(purpose: Any, argument: str = "purpose") -> None:
    """Refuse a stated purpose that could name a person: the audit log keeps it as given and holds no identifier.

    A run of 5 or more digits (single separators allowed) is what a traveller or stay id, a passport, an identity
    card or a phone number has; a calendar day (``2024-01-17``, ``20240117``) is not counted. Names cannot be told
    from words, so the purpose should say why, not whom.

    Raises
    ------
    ValueError
        Naming ``purpose`` (or ``argument``: the text's name for the caller) and where the digits are (never the digits
        themselves: the message is logged too).
    """
    if purpose is None:
        return
    text = _DATE.sub(" ", str(purpose))
    found = _ID_DIGITS.search(text)
    if found:
        n = sum(ch.isdigit() for ch in found.group())
        raise ValueError(
            f"`{argument}` holds a run of 5 or more digits ({n} digits, from character {found.start() + 1} of the {argument} with its "
            f"dates left out), as a traveller's id, a passport or a phone number has: the audit log keeps the {argument} as given "
            "and holds no identifier. Fix: state why, not whom "
            + ("(e.g. 'desk check', 'case review'); the audit record's input digest ties it to the rows scored." if argument == "purpose"
               else "(e.g. 'leak in the exit feed join'); keep case details in the case file.")
        )


def append(event: str, **fields: Any) -> dict[str, Any]:
    """Append one record and return it.

    Parameters
    ----------
    event : str
        ``"score"``, ``"batch"``, ...
    **fields
        ``model_name, model_version, input_digest, rows, band_counts, purpose`` and any
        other JSON-serialisable facts (never identifiers).

    Raises
    ------
    ValueError
        If ``purpose`` could name a person (:func:`check_purpose`); nothing is written.
    """
    if "purpose" in fields:
        check_purpose(fields["purpose"])
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
