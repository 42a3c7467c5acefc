"""Pseudonymise traveller identifiers with a keyed hash before anything is stored.

Traveller ids and document numbers are replaced by ``HMAC-SHA256(key, value)``
(truncated to 80 bits, hex): the same person keeps the same pseudonym across
extracts made with the same key, so travel histories still join, but the raw
value cannot be recovered or brute-forced without the key. The key comes from
the environment variable ``RISKMODEL_PSEUDONYM_KEY`` (or the ``key``
argument); it is never logged or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError

__all__ = ["KEY_ENV", "pseudonymise", "pseudonymise_table", "IDENTIFIER_COLUMNS"]

KEY_ENV = "RISKMODEL_PSEUDONYM_KEY"
IDENTIFIER_COLUMNS = ("traveller_id", "document_id")
_MIN_KEY = 16


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
        If no key is set or it is shorter than 16 bytes.

    Examples
    --------
    >>> pseudonymise(["A123", "A123", None], key="a-secret-of-16-bytes")[0][:1]
    'P'
    """
    k = _key(key)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    hashed = np.array(
        [prefix + hmac.new(k, str(u).encode("utf-8"), hashlib.sha256).hexdigest()[:20] for u in uniques], dtype=object
    )
    out = np.empty(len(codes), dtype=object)
    out[codes >= 0] = hashed[codes[codes >= 0]]
    out[codes < 0] = None
    return out


def pseudonymise_table(
    df: pd.DataFrame, columns: tuple[str, ...] = IDENTIFIER_COLUMNS, *, key: str | bytes | None = None
) -> pd.DataFrame:
    """A copy of ``df`` with its identifier columns pseudonymised (absent columns are skipped)."""
    k = _key(key)
    out = df.copy()
    for col in columns:
        if col in out.columns:
            out[col] = pd.array(pseudonymise(out[col].to_numpy(), key=k), dtype=object)
            if pd.api.types.is_string_dtype(df[col]):
                out[col] = out[col].astype(df[col].dtype)
    return out
