"""What a batch job did: one result type for the in-process and the Spark engines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BatchResult"]


@dataclass
class BatchResult:
    """What a batch job did.

    Attributes
    ----------
    output : Path or str
        The output folder or file (a URI string such as ``s3a://...`` for a remote Spark output).
    rows_in, rows_out : int
        Rows read and written (always equal on success).
    parts : int
        Parts in the output.
    resumed_parts : int
        Parts found complete from an earlier, interrupted run and not redone.
    extra : dict
        Whatever the caller's ``finish`` callback returned (e.g. a summary).
    """

    output: Path | str
    rows_in: int
    rows_out: int
    parts: int
    resumed_parts: int
    extra: dict[str, Any] = field(default_factory=dict)
