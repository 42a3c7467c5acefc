"""Reading CSV files safely: ids as text, and a file cut off mid-row is an error, not a short row.

pandas also renames a repeated header name (``traveller_id``, ``traveller_id.1``)
without a word, so a file with two ``traveller_id`` columns would have only the
first pseudonymised and the second kept raw, and a repeated feature would be
scored from whichever copy came first: :func:`check_header` refuses such a
header, naming the column.

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

pandas also reads the text ``NA``, ``null``, ``None``, ``N/A`` (and a dozen other
markers) as a missing value: a traveller, a document or a series whose id is
that text (Namibia's two-letter code is ``NA``) lost it, and pseudonymised, the
id was written blank. :func:`read_csv` reads the identifier columns as text
where only an empty field is missing, the other columns with pandas' markers.

A CSV's dates are text too, and pandas guesses their format: ``02/01/2024``
(2 January where Indonesia writes it, day first) is read month first as
1 February whenever the day is 1 to 12, and a daily file then holds each day's
count under another day with no gap to show it. :func:`iso_dates` reads ISO
8601 only (``2024-01-02``, ``2024-01-02 14:05``, ``2024-01``) and names any
other text as no date.

Excel in an Indonesian (or most European) locale writes 1030 arrivals as ``1.030``: pandas
reads 1.03, while a month under 1,000 (``812``) stays 812, and a port's counts were forecast at
a thousandth of their size without a word. :func:`check_thousands_dots` refuses a count column
whose text is whole numbers, some written with ``.`` between groups of three digits.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem, UnreadableFileError

__all__ = ["NOT_UTF8_FIX", "check_csv", "check_header", "check_not_truncated", "check_thousands_dots", "iso_dates", "not_utf8", "read_csv",
           "text_id_dtypes"]

_TAIL = 1 << 20  # the last row is read from the last MiB


def text_id_dtypes() -> dict[str, type]:
    """``read_csv``'s ``dtype`` for the contract's identifier columns (``stay_id`` included): text."""
    from riskmodel.core.schema import CROSSINGS, STAYS

    names = {c.name for c in (*CROSSINGS, *STAYS) if c.kind == "id"} | {"stay_id"}
    return dict.fromkeys(sorted(names), str)


#: pandas' default missing-value markers (``read_csv``'s ``na_values`` documentation): kept for every column but the ids.
PANDAS_NA_TEXT = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
                  "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


#: The fix for a CSV that is not UTF-8 text (Excel's plain "CSV" writes the Windows code page: 'hôtel' is byte 0xf4).
NOT_UTF8_FIX = "save it as UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)'), or convert it: iconv -f cp1252 -t utf-8"


def not_utf8(exc: UnicodeDecodeError) -> str:
    """What is wrong with a file pandas could not decode: the byte and its position, never the text around it."""
    return f"it is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1].hex()} at position {exc.start}: a Windows or Latin-1 export)"


def read_csv(path: str | Path, *, ids: Iterable[str] | None = None, **kwargs):
    """``pd.read_csv`` with the identifier columns read as text, where only an empty field is a missing id.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    ids : iterable of str, optional
        The identifier columns. Default: the contract's (:func:`text_id_dtypes`).
    **kwargs
        Passed to ``pd.read_csv`` (``chunksize``, ``usecols``, ``dtype`` for other columns, ...).

    Returns
    -------
    DataFrame or TextFileReader
        As ``pd.read_csv``: an id ``"NA"``, ``"null"``, ``"None"`` or ``"N/A"`` stays that text; every other
        column reads pandas' default markers (:data:`PANDAS_NA_TEXT`) as missing, as before.

    Raises
    ------
    UnreadableFileError
        Naming ``path`` when its text is not UTF-8 (a chunked reader may still raise pandas' own error on a later chunk).
    """
    names = set(text_id_dtypes() if ids is None else ids)
    try:
        header = [str(c) for c in pd.read_csv(path, nrows=0).columns]
        na_values = {c: [""] if c in names else list(PANDAS_NA_TEXT) for c in header}
        dtype = dict.fromkeys(sorted(names), str) | dict(kwargs.pop("dtype", None) or {})
        return pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=na_values, **kwargs)
    except UnicodeDecodeError as exc:  # pandas does not say which file: a config's data file was taken for the config
        raise UnreadableFileError(path, not_utf8(exc), NOT_UTF8_FIX) from None


_GROUPED = r"[+-]?\d{1,3}(?:\.\d{3})+"  # 1.030, 12.500.000
_WHOLE = r"[+-]?\d+"


def check_thousands_dots(path: str | Path, column: str, values: pd.Series) -> None:
    """Refuse a CSV count ``column`` written with ``.`` between thousands (``1.030`` for 1030).

    ``values`` is the column as pandas read it: only a column holding fractions is read again as text. It is refused
    when every value given is a whole number, written plainly or with ``.`` between groups of three digits, and some
    are so written; ``1.125`` beside ``2.5`` is a fraction among fractions and is kept.

    Raises
    ------
    SchemaError
        Naming ``column``, the rows (by position), examples and the fix.
    """
    if not pd.api.types.is_float_dtype(values) or not (values % 1 > 0).any():
        return
    text = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)[column].str.strip()
    grouped = text.str.fullmatch(_GROUPED).to_numpy(dtype=bool)
    if grouped.any() and (grouped | text.str.fullmatch(_WHOLE).to_numpy(dtype=bool) | (text == "").to_numpy()).all():
        rows = tuple(f"row {i}" for i in grouped.nonzero()[0][:5])
        examples = ", ".join(repr(v) for v in text[grouped].head(3))
        raise SchemaError(str(path), [SchemaProblem(
            column, f"whole numbers written with '.' between groups of three digits ({examples}), which read as fractions",
            "write the counts without thousands separators (1000, not 1.000): in Excel, a number format without "
            "separators before saving as CSV", rows, int(grouped.sum()))])


def iso_dates(values: pd.Series, column: str, name: str) -> pd.Series:
    """``values`` as times, read as ISO 8601 only (a value already a time is kept).

    Raises
    ------
    SchemaError
        Naming ``column``, the rows (by position) and examples of the values
        that are not ISO 8601 dates, such as day-first ``31/01/2024``, which
        pandas would otherwise guess month first where it can.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    try:
        parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
    except (TypeError, ValueError) as exc:  # e.g. several UTC offsets in one column
        raise SchemaError(name, [SchemaProblem(column, f"dates that cannot be read together ({exc})", "write local dates as YYYY-MM-DD")]) from None
    bad = (parsed.isna() & values.notna()).to_numpy() | not_a_year_first(values)
    if bad.any():
        rows = tuple(f"row {i}" for i in bad.nonzero()[0][:5])
        examples = ", ".join(repr(str(v)) for v in values[bad].head(3))
        raise SchemaError(name, [SchemaProblem(column, f"values that are not dates ({examples})",
                                               "write dates as YYYY-MM-DD (ISO 8601; day-first dates such as 31/01/2024 are "
                                               "not guessed)", rows, int(bad.sum()))])
    return parsed


def iso_time(value):
    """One time given as text read as ISO 8601 only; any other value goes to ``pd.Timestamp`` as it is.

    Raises
    ------
    ValueError
        If the text is no ISO 8601 date or time: day-first ``10/02/2019``, which
        ``pd.Timestamp`` reads as 2 October, ``Feb 10 2019``, and ``now`` or
        ``today``, which pandas reads as the moment of reading.
    """
    if not isinstance(value, str):
        return pd.Timestamp(value)
    if not value.lstrip()[:1].isdigit() or _YEAR_ALONE.fullmatch(value):  # '2030' is no day (pandas: 1 January)
        raise ValueError(f"{value!r} is not a date in ISO 8601")
    try:
        return pd.to_datetime(value, format="ISO8601")
    except (ValueError, OverflowError):
        raise ValueError(f"{value!r} is not a date in ISO 8601") from None


_YEAR_ALONE = re.compile(r"\s*\d{4}\s*")


def not_a_year_first(values: pd.Series) -> np.ndarray:
    """Where ``values`` holds text that does not start with a digit, or is a year alone: pandas' ISO 8601 reader
    takes 'now', 'today' and 'NaT' as times, but an ISO 8601 date starts with its year; and it takes '2030' (a cell
    formatted to show the year) for 1 January 2030, a ban "until 2030" ended on its first day."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:  # all text: vectorised (a loop is 4x the parse)
        text = values.str.strip()
        return (values.notna() & (~text.str[:1].str.isdigit().fillna(False).astype(bool)
                                  | text.str.fullmatch(r"\d{4}").fillna(False).astype(bool))).to_numpy(dtype=bool)
    return np.fromiter((isinstance(v, str) and (not v.lstrip()[:1].isdigit() or _YEAR_ALONE.fullmatch(v) is not None) for v in values),
                       bool, len(values))


def check_csv(path: str | Path) -> None:
    """:func:`check_header` then :func:`check_not_truncated`: what every CSV reader runs before pandas reads the file."""
    check_header(path)
    check_not_truncated(path)


def _fields(line: bytes) -> list[str]:
    """The fields of one CSV line; a line the csv module cannot split (binary, a stray quote) is a ParserError."""
    try:
        return next(csv.reader([line.decode("utf-8", "replace").rstrip("\r\n")]), [])
    except csv.Error as exc:
        raise pd.errors.ParserError(f"not a CSV file: {exc}") from None


def check_header(path: str | Path) -> None:
    """Refuse a CSV whose header names a column more than once, or is one column holding ';' or tabs.

    Raises
    ------
    SchemaError
        Naming each repeated column (pandas would rename the copies ``name.1``, ``name.2``), or a header
        separated by ';' (Excel in a locale that writes decimal commas) or tabs, which pandas reads as one
        column: every command then called each column missing.
    pandas.errors.ParserError
        If the header line is not CSV at all (binary content).
    """
    path = Path(path)
    with path.open("rb") as fh:
        # pandas drops a UTF-8 byte-order mark (Excel's "CSV UTF-8"): kept, it hid a first name given again later
        header = fh.readline(_TAIL).removeprefix(b"\xef\xbb\xbf")
    fields = _fields(header)
    for sep, name in ((";", "';'"), ("\t", "tabs")):
        if len(fields) == 1 and sep in fields[0]:  # Excel where decimals are written with a comma separates fields so
            raise SchemaError(str(path), [SchemaProblem(
                "<header>", f"the header is one column, {fields[0].strip()!r}: the fields are separated by {name}, not by commas",
                "save the file as CSV with commas between fields (Excel: 'CSV (Comma delimited)'; where decimals are written "
                "with a comma, Excel separates fields with ';'), and numbers without thousands separators")])
    counts = Counter(name.strip() for name in fields)
    repeated = [name for name, n in counts.items() if n > 1 and name]
    if repeated:
        raise SchemaError(
            str(path),
            [SchemaProblem(name, f"column name appears {counts[name]} times in the header",
                           f"keep one column named `{name}` (pandas would rename the others `{name}.1`, ... and use only the first)")
             for name in repeated],
        )


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
    n_header = len(_fields(header))
    n_last = len(_fields(lines[-1]))
    if n_last < n_header:
        raise pd.errors.ParserError(
            f"the last line of `{path}` has {n_last} of the header's {n_header} fields and no line end: the file was cut off"
        )
