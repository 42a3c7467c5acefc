"""Reading CSV files safely: ids as text, and a file cut off mid-row is an error, not a short row.

A CSV carries no types: pandas reads ``00123``, ``0123`` and ``123`` in an id
column as the number 123, merging three stays or people, and a chunked reader
can even guess a different type per chunk. :func:`text_id_dtypes` gives the
``dtype`` that reads every identifier column of the data contract as text.

pandas fills the missing trailing fields of a short last row with missing
values, and missing features are allowed (LightGBM scores them), so a CSV
truncated by a failed copy or a full disk would score its half row as if it
were complete, usually as "low" risk. Every tool that writes CSV ends the file
with a line end; a last line without one that holds fewer fields than the
header is the sign of a cut-off file.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

__all__ = ["check_not_truncated", "text_id_dtypes"]

_TAIL = 1 << 20  # the last row is read from the last MiB


def text_id_dtypes() -> dict[str, type]:
    """``read_csv``'s ``dtype`` for the contract's identifier columns (``stay_id`` included): text."""
    from riskmodel.core.schema import CROSSINGS, STAYS

    names = {c.name for c in (*CROSSINGS, *STAYS) if c.kind == "id"} | {"stay_id"}
    return dict.fromkeys(sorted(names), str)


def check_not_truncated(path: str | Path) -> None:
    """Refuse a CSV whose last line has no line end and fewer fields than its header.

    Raises
    ------
    pandas.errors.ParserError
        Naming the file, the last line's field count and the header's (the
        readers turn it into their "cannot read" error with its fix).
    """
    path = Path(path)
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) in (b"\n", b"\r"):
            return
        fh.seek(0)
        header = fh.readline()
        fh.seek(max(0, size - _TAIL))
        lines = fh.read().splitlines()
    if not lines or size == len(header):
        return  # a header alone, without a line end
    n_header = len(next(csv.reader([header.decode("utf-8", "replace").rstrip("\r\n")])))
    n_last = len(next(csv.reader([lines[-1].decode("utf-8", "replace")])))
    if n_last < n_header:
        raise pd.errors.ParserError(
            f"the last line of `{path}` has {n_last} of the header's {n_header} fields and no line end: the file was cut off"
        )
