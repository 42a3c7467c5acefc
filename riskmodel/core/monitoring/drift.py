"""Drift of inputs and scores: population stability index (PSI) against a training reference.

A *profile* summarises a column of the training data in JSON-friendly form:
numeric columns by decile edges and the share of rows in each bin (plus a
missing bin), categorical columns by their most common levels and an "other"
bucket. :class:`DriftCounter` accumulates counts chunk by chunk, so a batch of
millions of rows is compared without holding it in memory.

A model stores its own *training reference* (:func:`training_reference`: per
feature the bin or level shares of the training rows, and the same for its
score); :func:`profile_from_reference` turns it into profile form for
:class:`DriftCounter`.

Rule of thumb (Siddiqi): PSI < 0.1 stable, 0.1-0.25 a moderate shift worth a
look, > 0.25 a major shift: check the data feed or retrain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "profile",
    "training_reference",
    "profile_from_reference",
    "DriftCounter",
    "psi",
    "psi_verdict",
    "PSI_MODERATE",
    "PSI_MAJOR",
]

PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
_EPS = 1e-4
_MAX_LEVELS = 30


def _is_categorical(s: pd.Series) -> bool:
    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(s)
        or s.dtype == object
        or pd.api.types.is_bool_dtype(s)
    )


def profile(df: pd.DataFrame, columns: list[str] | tuple[str, ...] | None = None, *, bins: int = 10) -> dict[str, Any]:
    """Profile columns of a reference frame (typically the training data).

    Parameters
    ----------
    df : DataFrame
        Reference rows.
    columns : list of str, optional
        Columns to profile; default all.
    bins : int, default=10
        Quantile bins for numeric columns.

    Returns
    -------
    dict
        ``{column: {"kind": "numeric", "edges": [...], "fractions": [...]}}`` or
        ``{column: {"kind": "categorical", "levels": [...], "fractions": [...]}}``;
        the last fraction is the missing bin (numeric) or "other or missing" (categorical).
    """
    out: dict[str, Any] = {}
    for col in columns if columns is not None else list(df.columns):
        s = df[col]
        if _is_categorical(s):
            counts = s.dropna().astype(object).astype(str).value_counts()
            levels = [str(v) for v in counts.index[:_MAX_LEVELS]]
            out[col] = {"kind": "categorical", "levels": levels}
        else:
            values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            finite = values[np.isfinite(values)]
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])) if len(finite) else np.array([])
            out[col] = {"kind": "numeric", "edges": [float(e) for e in edges]}
        counter = DriftCounter({col: out[col]})
        counter.update(df[[col]])
        out[col]["fractions"] = (counter.counts[col] / max(counter.counts[col].sum(), 1)).tolist()
    return out


def _numeric_reference(values: np.ndarray, n: int) -> dict[str, Any]:
    """Inner decile edges of ``values`` and the share of all ``n`` rows in each bin."""
    inner = np.unique(np.quantile(values, np.linspace(0, 1, 11)))[1:-1] if len(values) else np.array([])
    share = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1) / max(n, 1)
    return {"kind": "numeric", "edges": inner.tolist(), "share": share.tolist()}


def training_reference(
    encoded: np.ndarray, features: list[str], levels: dict[str, list], scores: np.ndarray
) -> dict[str, Any]:
    """A model's training distribution per feature and of its score, stored with the model.

    Parameters
    ----------
    encoded : ndarray of shape (n_rows, n_features)
        The training rows as the model encodes them (categorical levels as codes, missing as NaN).
    features : list of str
        Column names of ``encoded``, in order.
    levels : dict of str to list
        Levels of each categorical feature (code ``i`` is ``levels[name][i]``).
    scores : ndarray of shape (n_rows,)
        The model's calibrated score of each training row.

    Returns
    -------
    dict
        ``{"features": {name: spec}, "score": spec}``; a numeric spec holds ``edges``
        (inner decile edges), ``share`` (of all rows, per bin) and ``missing``; a
        categorical spec holds ``levels``, ``share`` (per level) and ``missing``.
    """
    ref: dict[str, Any] = {"features": {}}
    for j, c in enumerate(features):
        col = encoded[:, j]
        miss = float(np.isnan(col).mean())
        if c in levels:
            codes = col[~np.isnan(col)].astype(int)
            counts = np.bincount(codes, minlength=len(levels[c])) / max(len(col), 1)
            ref["features"][c] = {"kind": "categorical", "levels": levels[c], "share": counts.tolist(), "missing": miss}
        else:
            ref["features"][c] = {**_numeric_reference(col[~np.isnan(col)], len(col)), "missing": miss}
    scores = np.asarray(scores, dtype=float)
    ref["score"] = {**_numeric_reference(scores, len(scores)), "missing": 0.0}
    return ref


def profile_from_reference(reference: dict) -> dict[str, Any]:
    """A :func:`training_reference` in :func:`profile` form, the score named ``probability``."""
    out = {}
    for name, spec in {**reference.get("features", {}), "probability": reference.get("score", {})}.items():
        if not spec:
            continue
        fractions = list(spec["share"]) + [spec.get("missing", 0.0)]
        if spec["kind"] == "categorical":
            out[name] = {"kind": "categorical", "levels": list(spec["levels"]), "fractions": fractions}
        else:
            out[name] = {"kind": "numeric", "edges": list(spec["edges"]), "fractions": fractions}
    return out


class DriftCounter:
    """Accumulate bin counts of new data against a reference profile, chunk by chunk.

    Parameters
    ----------
    reference : dict
        A :func:`profile` result.

    Examples
    --------
    >>> ref = profile(pd.DataFrame({"x": np.arange(1000.0)}))
    >>> c = DriftCounter(ref)
    >>> c.update(pd.DataFrame({"x": np.arange(1000.0)}))
    >>> round(c.psi()["x"], 6)
    0.0
    """

    def __init__(self, reference: dict[str, Any]):
        self.reference = reference
        self.counts = {col: np.zeros(self._n_bins(spec)) for col, spec in reference.items()}

    @staticmethod
    def _n_bins(spec: dict) -> int:
        return len(spec["edges"]) + 2 if spec["kind"] == "numeric" else len(spec["levels"]) + 1

    def update(self, df: pd.DataFrame) -> None:
        """Add the rows of ``df`` (columns absent from ``df`` count as missing)."""
        for col, spec in self.reference.items():
            n_bins = self._n_bins(spec)
            if col not in df.columns:
                self.counts[col][-1] += len(df)
                continue
            s = df[col]
            if spec["kind"] == "numeric":
                values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                idx = np.searchsorted(np.asarray(spec["edges"]), values, side="right")
                idx = np.where(np.isfinite(values), idx, n_bins - 1)
            else:
                codes = pd.Categorical(s.astype(object).astype(str).where(s.notna(), None), categories=spec["levels"]).codes
                idx = np.where(codes >= 0, codes, n_bins - 1)
            self.counts[col] += np.bincount(idx, minlength=n_bins)[:n_bins]

    def psi(self) -> dict[str, float]:
        """PSI of each column so far."""
        return {col: psi(spec["fractions"], self.counts[col]) for col, spec in self.reference.items()}


def psi(expected_fractions, actual_counts) -> float:
    """Population stability index between reference fractions and observed counts."""
    e = np.asarray(expected_fractions, dtype=float)
    a = np.asarray(actual_counts, dtype=float)
    if a.sum() == 0:
        return float("nan")
    a = a / a.sum()
    e, a = np.clip(e, _EPS, None), np.clip(a, _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_verdict(value: float) -> str:
    """``"stable"``, ``"moderate shift"`` or ``"major shift"`` by the 0.1/0.25 rule of thumb."""
    if not np.isfinite(value):
        return "no data"
    if value < PSI_MODERATE:
        return "stable"
    return "moderate shift" if value < PSI_MAJOR else "major shift"
