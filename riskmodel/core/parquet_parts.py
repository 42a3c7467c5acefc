"""A folder of Parquet files read as one table: every file must give each column one kind of value.

A log written night by night, or by several systems, can hold files whose columns disagree: one file's
``timestamp`` written as text, or with a time zone, or ``group_size`` as decimals where the others hold whole
numbers, or a column missing from one file. Read as one table, the readers settle it by file order: pyarrow
takes the first file's schema and casts the others to it (a zone-aware time becomes its UTC clock time, seven
hours from Jakarta's, with no word), Spark reads some files and fails on others with a Java stack trace, or reads
a missing column as empty. The same folder then gives other times, or another error, when its files are renamed.

:func:`parts_problems` compares the files' Parquet footers (no data is read) and names each column on which they
disagree, the files on each side and the fix, whatever the files' order. A column that is empty in a file (every
value missing, as an exit-only file's entry fields) is not judged in it: it has no values to disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.core.exceptions import SchemaProblem, UnreadableFileError

_INDEX = re.compile(r"__index_level_\d+__")

#: Files named per side of a disagreement, at most.
SHOWN = 3


def kind(t: pa.DataType) -> str:
    """The kind of value a Parquet column holds, in words; widths and units (int32/int64, ms/us) are one kind."""
    if pa.types.is_dictionary(t):
        return kind(t.value_type)
    if pa.types.is_integer(t):
        return "whole numbers"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "decimal numbers"
    if pa.types.is_boolean(t):
        return "true/false"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_timestamp(t):
        return f"date-times in zone {t.tz}" if t.tz else "date-times without a zone"
    if pa.types.is_date(t):
        return "dates"
    return str(t)


def _kinds(path: str | Path) -> dict[str, str | None]:
    """Each column of one file and its kind; None for a column every value of which is missing."""
    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    out: dict[str, str | None] = {}
    for i, f in enumerate(schema):
        if _INDEX.fullmatch(f.name):  # pandas' index, written by some writers and not others: not a column
            continue
        empty = pa.types.is_null(f.type)
        if not empty and meta.num_rows and meta.num_row_groups and i < meta.num_columns:
            stats = [meta.row_group(g).column(i).statistics for g in range(meta.num_row_groups)]
            empty = all(s is not None and s.null_count is not None for s in stats) and \
                sum(s.null_count for s in stats) == meta.num_rows
        out[f.name] = None if empty else kind(f.type)
    return out


def _named(files: list[str]) -> str:
    more = f" and {len(files) - SHOWN} more" if len(files) > SHOWN else ""
    return ", ".join(files[:SHOWN]) + more


def parts_problems(files: Sequence[str | Path], *, root: str | Path | None = None) -> list[SchemaProblem]:
    """Every column on which the Parquet ``files`` of one table disagree; empty when they agree.

    Parameters
    ----------
    files : sequence of str or Path
        Local Parquet files read as one table.
    root : str or Path, optional
        The folder the files are named relative to in the problems (default: their names).

    Returns
    -------
    list of SchemaProblem
        One per column held by some files and not others, and per column whose values are of two or more kinds
        across the files (:func:`kind`); the problem names the files on each side (the first few).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"t": pd.to_datetime(["2024-01-01 10:00"])}).to_parquet(d / "a.parquet")
    >>> pd.DataFrame({"t": ["2024-01-02 10:00"]}).to_parquet(d / "b.parquet")
    >>> [(p.column, p.problem) for p in parts_problems(sorted(d.glob("*.parquet")), root=d)]
    [('t', 'the files disagree on its values: a.parquet holds date-times without a zone, b.parquet holds text')]
    """
    names = [str(Path(f).relative_to(root)) if root is not None else Path(f).name for f in files]
    kinds = [_kinds(f) for f in files]
    columns = list(dict.fromkeys(c for k in kinds for c in k))
    problems = []
    for c in columns:
        missing = [n for n, k in zip(names, kinds, strict=True) if c not in k]
        if missing:
            problems.append(SchemaProblem(
                c, f"held by some of the folder's files and not others: {_named(missing)} "
                   f"{'has' if len(missing) == 1 else 'have'} no such column",
                f"write `{c}` in every file (empty where unknown), or move the files without it out of the folder"))
            continue
        sides: dict[str, list[str]] = {}
        for n, k in zip(names, kinds, strict=True):
            if k[c] is not None:
                sides.setdefault(k[c], []).append(n)
        if len(sides) > 1:
            held = ", ".join(f"{_named(fs)} {'holds' if len(fs) == 1 else 'hold'} {k}" for k, fs in sides.items())
            problems.append(SchemaProblem(
                c, f"the files disagree on its values: {held}",
                f"write `{c}` with one type in every file{_hint(set(sides))}"))
    return problems


def _hint(kinds: set[str]) -> str:
    if any(k.startswith("date-times") for k in kinds):
        return (": the contract's times are local port time without a zone (convert a zone-aware column to the "
                "port's zone, then `.dt.tz_localize(None)`; parse text with `pd.to_datetime`)")
    if kinds == {"whole numbers", "decimal numbers"}:
        return ": whole numbers as an integer dtype (`Int32` where values may be missing), not as floats"
    return ", the type the data contract gives it (docs: the data contract tables in README.md)"


def folder_files(folder: str | Path) -> list[Path]:
    """The Parquet files of a folder as pandas and pyarrow read it as one table (names starting ``_`` or ``.`` skipped)."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*.parquet") if p.is_file()
                  and not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts))


def read_parquet(path: str | Path, **kwargs) -> pd.DataFrame:
    """``pd.read_parquet(path)``, after checking that a folder's files agree (:func:`parts_problems`).

    Raises
    ------
    UnreadableFileError
        If ``path`` is a folder whose Parquet files disagree on a column: every such column, the files on each
        side and the fix.
    """
    path = Path(path)
    if path.is_dir():
        problems = parts_problems(folder_files(path), root=path)
        if problems:
            raise UnreadableFileError(
                path, "its Parquet files disagree, and read as one table they would be read by the order of their names:\n"
                + "\n".join(str(p) for p in problems) + "\n",
                "rewrite the files named above as each line says (or read them apart), then run again")
    return pd.read_parquet(path, **kwargs)
