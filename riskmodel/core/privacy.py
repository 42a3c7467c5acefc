"""Pseudonymise traveller identifiers with a keyed hash before anything is stored.

Traveller ids and document numbers are replaced by ``HMAC-SHA256(key, value)``
(truncated to 80 bits, hex): the same person keeps the same pseudonym across
extracts made with the same key, so travel histories still join, but the raw
value cannot be recovered or brute-forced without the key. The key comes from
the environment variable ``RISKMODEL_PSEUDONYM_KEY`` (or the ``key``
argument), must be at least 32 bytes (the HMAC-SHA256 block of security), and
is never logged or stored.

Safe by default: :func:`pseudonymise_table` pseudonymises every identifier
column of the contract (:data:`IDENTIFIER_COLUMNS`) present unless told
otherwise, refuses a column name that does not exist (a typo must not leave the
raw ids in place), and keeps every dtype's values (``category`` columns keep
their codes, with pseudonymised categories). Ids are compared as text in one
canonical form, and :func:`pseudonymise_file` reads them from CSV as text, so
``"00123"`` stays ``"00123"`` and the same id gets the same pseudonym from CSV
and from Parquet.

Pseudonyms are never hashed again: an id already of their form (the prefix and 20
lowercase hex digits) is refused, naming the column and rows. A pipeline run twice
on its own output would otherwise give every traveller a new pseudonym that joins
none of their records pseudonymised once (other sources, earlier extracts).
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.core.csv_files import check_csv, read_csv
from riskmodel.core.exceptions import ConfigError, SchemaError, SchemaProblem, UnreadableFileError
from riskmodel.core.schema import raw_id_problems
from riskmodel.core.temp_files import temp_beside

__all__ = ["KEY_ENV", "pseudonymise", "pseudonymise_table", "pseudonymise_file", "IDENTIFIER_COLUMNS"]

KEY_ENV = "RISKMODEL_PSEUDONYM_KEY"
#: The contract's personal identifiers (the columns :mod:`riskmodel.core.schema` describes as pseudonymised).
IDENTIFIER_COLUMNS = ("traveller_id", "document_id")
_MIN_KEY = 32
#: The shortest key accepted, in bytes (characters, for a plain ASCII key).
MIN_KEY_BYTES = _MIN_KEY


#: Hex digits of a pseudonym after its prefix.
_HEX_DIGITS = 20


def already_pseudonymised(df: pd.DataFrame, columns: Sequence[str], prefix: str = "P") -> list[SchemaProblem]:
    """The rows of ``columns`` holding a pseudonym already (``prefix`` and 20 lowercase hex digits), by position.

    Hashed again, each would become a pseudonym of a pseudonym that joins none of the person's other records.
    """
    pattern = re.compile(re.escape(prefix) + f"[0-9a-f]{{{_HEX_DIGITS}}}")
    problems = []
    for col in columns:
        codes, uniques = pd.factorize(pd.Series(df[col].to_numpy(dtype=object), dtype=object), use_na_sentinel=True)
        hit = np.array([isinstance(u, str) and pattern.fullmatch(u) is not None for u in uniques], dtype=bool)
        if not hit.any():
            continue
        rows = np.flatnonzero((codes >= 0) & hit[np.maximum(codes, 0)])
        problems.append(SchemaProblem(
            str(col), "already pseudonymised",
            f"use the table as it is (its ids are pseudonyms: hashed again, they would join none of the records pseudonymised "
            f"once); pseudonymise the raw extract instead, or leave `{col}` out of `columns`",
            tuple(f"row {i}" for i in rows[:5]), len(rows)))
    return problems


def _key(key: str | bytes | None) -> bytes:
    if key is None:
        key = os.environ.get(KEY_ENV)
    if not key:
        raise ConfigError(
            f"no pseudonymisation key: set the environment variable {KEY_ENV} to a secret of at least "
            f"{_MIN_KEY} characters (e.g. from your secrets store), or pass key=."
        )
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < _MIN_KEY:
        raise ConfigError(f"the pseudonymisation key must be at least {_MIN_KEY} bytes; got {len(raw)}.")
    return raw


def pseudonymise(values, *, key: str | bytes | None = None, prefix: str = "P") -> np.ndarray:
    """Keyed-hash pseudonyms of identifier values.

    Parameters
    ----------
    values : array-like
        Identifiers (any type; compared as text). Missing values stay missing.
    key : str or bytes, optional
        The secret; default ``$RISKMODEL_PSEUDONYM_KEY``.
    prefix : str, default="P"
        Prepended to every pseudonym, so pseudonyms never look like raw ids.

    Returns
    -------
    ndarray of object
        ``prefix + 20 hex digits`` per value, None where the value was missing.

    Raises
    ------
    ConfigError
        If no key is set or it is shorter than 32 bytes.
    SchemaError
        If a value is blank text, has spaces around it or characters that do not print, or is a
        pseudonym already (``prefix`` and 20 lowercase hex digits).

    Examples
    --------
    >>> pseudonymise(["A123", "A123", None], key="a-secret-of-at-least-thirty-two-bytes")[0][:1]
    'P'
    """
    k = _key(key)
    frame = pd.DataFrame({"values": pd.Series(values, dtype=object)})
    problems = raw_id_problems(frame, ["values"]) + already_pseudonymised(frame, ["values"], prefix)
    if problems:
        raise SchemaError("values", problems)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    hashed = np.array(
        [prefix + hmac.new(k, _canonical(u).encode("utf-8"), hashlib.sha256).hexdigest()[:20] for u in uniques], dtype=object
    )
    out = np.empty(len(codes), dtype=object)
    out[codes >= 0] = hashed[codes[codes >= 0]]
    out[codes < 0] = None
    return out


def _canonical(value) -> str:
    """One text form per id: a whole number is written without a decimal point, whatever its dtype.

    Parquet may hold ``123`` as int64 and a CSV with a missing id as ``123.0``;
    both are the id ``"123"``. Text is taken as it is (``"00123"`` is not ``"123"``).
    """
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _bare(name) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _refuse_lookalike_identifiers(df: pd.DataFrame) -> None:
    """Refuse a column spelt like an identifier but not exactly (``Document_ID``, ``traveller id``): the default
    would leave its raw ids in place beside a pseudonymised ``traveller_id``."""
    wanted = {_bare(c): c for c in IDENTIFIER_COLUMNS}
    lookalikes = [c for c in df.columns if c not in IDENTIFIER_COLUMNS and _bare(c) in wanted]
    if lookalikes:
        raise SchemaError(
            "table",
            [SchemaProblem(str(c), f"looks like the identifier column `{wanted[_bare(c)]}` but is not spelt so, and would stay raw",
                           f"rename it to `{wanted[_bare(c)]}`, or name every column to pseudonymise with `columns`") for c in lookalikes],
        )


def _columns(df: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    """The columns to pseudonymise: all given ones must exist; by default the contract's identifiers present."""
    if columns is None:
        _refuse_lookalike_identifiers(df)
        chosen = [c for c in IDENTIFIER_COLUMNS if c in df.columns]
        if not chosen:
            raise SchemaError(
                "table",
                [SchemaProblem("<columns>", f"none of the identifier columns {list(IDENTIFIER_COLUMNS)} is present",
                               f"name the identifier columns to pseudonymise with `columns` (the table has {list(map(str, df.columns))[:10]})")],
            )
        return _columns(df, chosen)  # the same checks as named columns
    if isinstance(columns, str):
        columns = [columns]
    problems = []
    for c in columns:
        if c not in df.columns:
            near = difflib.get_close_matches(str(c), [str(x) for x in df.columns], n=1, cutoff=0.6)
            hint = f"did you mean `{near[0]}`? " if near else ""
            problems.append(SchemaProblem(c, "column to pseudonymise does not exist",
                                          f"{hint}name an existing column (the table has {list(map(str, df.columns))[:10]})"))
    for c in dict.fromkeys(columns):
        if c in df.columns and not isinstance(df[c], pd.Series):
            problems.append(SchemaProblem(c, "column name appears more than once", f"keep one column named `{c}`"))
    if problems:
        raise SchemaError("table", problems)
    return list(dict.fromkeys(columns))


def pseudonymise_table(df: pd.DataFrame, columns: Sequence[str] | None = None, *, key: str | bytes | None = None) -> pd.DataFrame:
    """A copy of ``df`` with its identifier columns pseudonymised.

    Parameters
    ----------
    df : DataFrame
        Any table holding identifiers.
    columns : sequence of str, optional
        Columns to pseudonymise; every one must exist. Default: every column of
        :data:`IDENTIFIER_COLUMNS` that ``df`` has (at least one).
    key : str or bytes, optional
        The secret; default ``$RISKMODEL_PSEUDONYM_KEY``.

    Returns
    -------
    DataFrame
        Same rows, columns and index; each pseudonymised column holds text
        pseudonyms (``category`` columns stay ``category`` with pseudonymised
        categories, string columns keep their string dtype, other dtypes become
        ``object``); missing ids stay missing.

    Raises
    ------
    SchemaError
        If a named column does not exist (the nearest existing name is suggested), by
        default when the table has none of :data:`IDENTIFIER_COLUMNS`, or if an id is
        blank, has spaces around it or characters that do not print (rows named by
        position): hashed, it would pass every later check as a clean pseudonym; or if an id is
        a pseudonym already (P and 20 lowercase hex digits: the table was pseudonymised before).
    ConfigError
        If no key is set or it is shorter than 32 bytes.
    """
    k = _key(key)
    chosen = _columns(df, columns)
    # what the id rule refuses must be refused before hashing: a pseudonym of 'T1 ' or of a blank id looks clean
    problems = raw_id_problems(df, chosen) + already_pseudonymised(df, chosen)
    if problems:
        raise SchemaError("table", problems)
    out = df.copy()
    for col in chosen:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            # rename the categories, keep the codes: casting pseudonyms to the old categories made them all NaN
            renamed = pseudonymise(s.cat.categories.to_numpy(dtype=object), key=k)
            if len(set(renamed)) == len(renamed):
                out[col] = s.cat.rename_categories(list(renamed))
                continue
        out[col] = pd.array(pseudonymise(s.to_numpy(dtype=object), key=k), dtype=object)
        if pd.api.types.is_string_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(s.dtype)
    return out


def _contract_ids() -> dict[str, type]:
    """``read_csv``'s ``dtype`` for every id column of the contracts (the crossings log, stays and the sources): text."""
    from riskmodel.core.csv_files import text_id_dtypes
    from riskmodel.core.sources.contracts import SOURCES

    return text_id_dtypes() | {c.name: str for cols in SOURCES.values() for c in cols if c.kind == "id"}


def _read_ids_as_text(src: Path, columns: Sequence[str] | None) -> tuple[pd.DataFrame, list[str]]:
    """The table and the columns to pseudonymise, identifier columns of a CSV read as text."""
    if src.suffix.lower() == ".csv":
        # a repeated `traveller_id` header would reach pandas as `traveller_id.1` and stay raw; a cut-off file is refused
        check_csv(src)
        header = pd.read_csv(src, nrows=0)
        chosen = _columns(header, columns)
        # ids as text: "00123" and "123" are different people; and the file's other ids (crossing_id, stay_id, a
        # source's record id) are written back as they were read, not as numbers ("0123" and "123" one crossing)
        return read_csv(src, ids={*_contract_ids(), *chosen}), chosen
    if src.suffix.lower() == ".parquet" or src.is_dir():
        df = pd.read_parquet(src)
        return df, _columns(df, columns)
    raise ConfigError(f"`input` must be a .csv or .parquet file or a folder of Parquet parts; got `{src}`.")


def pseudonymise_file(
    input: str | Path, output: str | Path, columns: Sequence[str] | None = None, *, key: str | bytes | None = None
) -> tuple[int, list[str]]:
    """Write a pseudonymised copy of a CSV or Parquet file, reading ids as text (every id column of the contracts).

    Parameters
    ----------
    input : str or Path
        A ``.csv`` or ``.parquet`` file (or a folder of Parquet parts).
    output : str or Path
        Where to write the copy (``.csv`` or ``.parquet``); written to a temporary
        name and renamed, so a failure leaves no partial file.
    columns : sequence of str, optional
        As in :func:`pseudonymise_table`.
    key : str or bytes, optional
        The secret; default ``$RISKMODEL_PSEUDONYM_KEY``.

    Returns
    -------
    (int, list of str)
        Rows written and the columns pseudonymised.

    Raises
    ------
    SchemaError, ConfigError
        As :func:`pseudonymise_table`; ConfigError also for an unknown file type.
    UnreadableFileError
        If ``input`` is missing, unreadable, corrupt or cut off mid-row (nothing is written).
    """
    src, dst = Path(input), Path(output)
    k = _key(key)
    try:
        df, chosen = _read_ids_as_text(src, columns)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # pandas' and pyarrow's read errors are ValueErrors
        if isinstance(exc, SchemaError | ConfigError):
            raise
        problem = "the file does not exist" if isinstance(exc, FileNotFoundError) else f"it is missing, unreadable, corrupt or truncated ({' '.join(str(exc).split())[:300]})"
        raise UnreadableFileError(src, problem, "check the path, and re-export the file (Parquet, or CSV with a header line)") from None
    if dst.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"`output` must end in .csv or .parquet; got `{dst}`.")
    out = pseudonymise_table(df, chosen, key=k)
    tmp = temp_beside(dst)
    try:
        if dst.suffix.lower() == ".csv":
            out.to_csv(tmp, index=False)
        else:
            out.to_parquet(tmp, index=False)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return len(out), chosen
