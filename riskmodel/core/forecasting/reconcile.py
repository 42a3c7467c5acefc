"""Make forecasts of a hierarchy coherent: aggregates equal the sum of their parts.

Methods (``S`` is the summing matrix of :class:`~riskmodel.core.forecasting.series.Hierarchy`,
``y_hat`` the base forecasts of every series):

``bottom_up``
    Keep the bottom forecasts, sum them up.
``wls_struct``
    Weighted least squares with structural weights ``W = diag(S 1)`` (each series
    weighted by how many bottom series it holds); needs no residuals.
``mint_shrink``
    MinT with the Schäfer-Strimmer shrinkage estimate of the covariance of the base
    forecast errors (from backtest residuals, one column per series).

The reconciled bottom forecasts ``P y_hat`` are clipped at 0 and summed up again,
so results are coherent *and* non-negative.

Interval bounds are reconciled as quantiles: each bound (``y_lo_<L>``, ``y_hi_<L>``
of every series) goes through the same projection, its bottom values are clipped
at 0 and kept on their side of the reconciled point forecast, and the aggregates
are their sums. The bounds of a total are thus the sums of its parts' bounds:
exact for series that move together (comonotone), as arrivals at the ports and
from the markets of one country largely do (one COVID, one exchange rate, one
visa policy), and conservative otherwise. Shifting each bound by its point
adjustment, as before, left a total's interval unrelated to its parts'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmodel.core.forecasting.series import Hierarchy

__all__ = ["METHODS", "reconcile", "reconcile_backtest", "shrink_covariance"]

METHODS = ("bottom_up", "wls_struct", "mint_shrink")


def shrink_covariance(residuals: np.ndarray) -> np.ndarray:
    """Schäfer-Strimmer shrinkage of a residual covariance towards its diagonal.

    Parameters
    ----------
    residuals : ndarray, shape (n_obs, n_series)
        Residuals, NaN where missing (treated as 0 after centring).

    Returns
    -------
    ndarray, shape (n_series, n_series)
    """
    r = np.nan_to_num(residuals - np.nanmean(residuals, axis=0))
    n = max(r.shape[0], 2)
    cov = r.T @ r / n
    sd = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
    corr = cov / np.outer(sd, sd)
    std_r = r / sd
    w = std_r[:, :, None] * std_r[:, None, :]
    var_corr = n / (n - 1) ** 3 * ((w - w.mean(axis=0)) ** 2).sum(axis=0)
    off = ~np.eye(len(sd), dtype=bool)
    denom = (corr[off] ** 2).sum()
    lam = float(np.clip(var_corr[off].sum() / denom, 0, 1)) if denom > 0 else 1.0
    shrunk = corr * (1 - lam)
    np.fill_diagonal(shrunk, 1.0)
    return shrunk * np.outer(sd, sd)


def _projection(S: np.ndarray, method: str, residuals: np.ndarray | None, bottom_rows: Sequence[int]) -> np.ndarray:
    """``bottom_rows[j]``: the row of bottom series ``j`` in ``S`` (its own row, not an aggregate of it alone)."""
    n_all, n_bottom = S.shape
    if method == "bottom_up":
        P = np.zeros((n_bottom, n_all))
        P[np.arange(n_bottom), list(bottom_rows)] = 1.0
        return P
    if method == "wls_struct":
        W_inv = np.diag(1.0 / S.sum(axis=1))
    elif method == "mint_shrink":
        if residuals is None:
            raise ValueError("`residuals` are required for method='mint_shrink'; use 'wls_struct' or pass backtest residuals.")
        W = shrink_covariance(residuals)
        W_inv = np.linalg.pinv(W + 1e-9 * np.eye(n_all) * np.trace(W) / n_all)
    else:
        raise ValueError(f"`method` must be one of {list(METHODS)}; got {method!r}.")
    return np.linalg.solve(S.T @ W_inv @ S, S.T @ W_inv)


def _bottom_rows(S: pd.DataFrame) -> list[int]:
    """The row of each bottom series (column of ``S``): the row of its own id.

    An aggregate with one part (a port type with one port, a total over one port) has the same
    row of ``S`` as that part: the first row equal to the part's unit row was the aggregate's, and
    bottom-up summed the aggregate's forecast and bounds as the part's. A summing matrix whose
    bottom series are not named in its index falls back to the last row equal to the unit row
    (levels are listed from the top, so the last is the finest).
    """
    ids = pd.Index(S.index.astype(str))
    M = S.to_numpy(dtype=float)
    out = []
    for j, col in enumerate(S.columns.astype(str)):
        pos = ids.get_indexer([col])[0]
        out.append(int(pos) if pos >= 0 else int(np.flatnonzero((M == np.eye(M.shape[1])[j]).all(axis=1))[-1]))
    return out


def _combine(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``values @ weights.T``, missing only where a value it uses (a nonzero weight) is missing.

    A plain product spreads one missing value to every output (NaN * 0 is NaN): a series
    without interval bounds would take every other series' bounds with it.
    """
    missing = np.isnan(values)
    out = np.where(missing, 0.0, values) @ weights.T
    out[(missing.astype(float) @ (weights != 0).T.astype(float)) > 0] = np.nan
    return out


def reconcile(
    forecasts: pd.DataFrame,
    hierarchy: Hierarchy,
    *,
    method: str = "bottom_up",
    residuals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Reconcile forecasts over a hierarchy.

    Parameters
    ----------
    forecasts : DataFrame
        Long frame with ``unique_id, ds, y_hat`` and optional ``y_lo_<L>``/``y_hi_<L>``
        columns, for every series of ``hierarchy.S`` (other columns are kept).
    hierarchy : Hierarchy
        The summing matrix.
    method : {"bottom_up", "wls_struct", "mint_shrink"}, default="bottom_up"
        ``bottom_up`` keeps the bottom series' bounds as they were calibrated;
        ``wls_struct`` moves them toward the aggregates' narrower bounds, which
        under-covers (:class:`~riskmodel.core.forecasting.Forecaster`, ``reconcile``).
    residuals : DataFrame, optional
        Backtest residuals, one column per series id, one row per (cutoff, ds);
        required by ``mint_shrink``.

    Returns
    -------
    DataFrame
        Same rows and columns, with coherent, non-negative ``y_hat`` and bounds
        (``y_lo <= y_hat <= y_hi``; each aggregate's bounds are the sums of its
        bottom series' bounds). A bound that needs a series without bounds (a port
        too new for an interval) is missing; every other keeps its value.

    Raises
    ------
    ValueError
        If a series of the hierarchy has no forecast, or the method is unknown.
    """
    S_df = hierarchy.S
    ids = list(S_df.index)
    wide = forecasts.pivot(index="ds", columns="unique_id", values="y_hat")
    missing = [u for u in ids if u not in wide.columns]
    if missing:
        raise ValueError(f"`forecasts` lack series of the hierarchy: {missing[:5]}; forecast every series of hierarchy.S.")
    S = S_df.to_numpy(dtype=float)
    Y = wide[ids].to_numpy(dtype=float)  # (h, n_all)
    res = residuals.reindex(columns=ids).to_numpy(dtype=float) if residuals is not None else None
    P = _projection(S, method, res, _bottom_rows(S_df))
    bottom = np.clip(Y @ P.T, 0, None)
    coherent = bottom @ S.T
    out = forecasts.copy()
    bounds = [c for c in forecasts.columns if c.startswith(("y_lo_", "y_hi_"))]
    # Every column is reconciled on the same wide (ds x series) layout, then put back in
    # the row order of ``forecasts``.
    pos = wide.index.get_indexer(out["ds"]), pd.Index(ids).get_indexer(out["unique_id"])
    out["y_hat"] = np.where(pos[1] >= 0, coherent[pos[0], np.clip(pos[1], 0, None)], out["y_hat"])
    inner = {"y_lo_": bottom, "y_hi_": bottom}  # the next-narrower bound on each side
    for col in sorted(bounds, key=lambda c: int(c.rsplit("_", 1)[1])):  # narrowest level first
        side = col[:5]
        B = forecasts.pivot(index="ds", columns="unique_id", values=col).reindex(index=wide.index, columns=ids).to_numpy(dtype=float)
        own = np.clip(_combine(B, P), 0, None)  # a series without bounds leaves missing only the bounds that use it
        # kept outside the next-narrower bound where that one exists; missing where its own is
        b = np.where(np.isnan(own), np.nan, np.fmin(own, inner[side]) if side == "y_lo_" else np.fmax(own, inner[side]))
        inner[side] = np.where(np.isnan(b), inner[side], b)
        agg = _combine(b, S)
        out[col] = np.where(pos[1] >= 0, agg[pos[0], np.clip(pos[1], 0, None)], out[col])
    return out[forecasts.columns]


def reconcile_backtest(cv: pd.DataFrame, hierarchy: Hierarchy, method: str, level: Sequence[int]) -> pd.DataFrame:
    """Holdout rows of a Forecaster's backtest with ``reconciled``: ``chosen`` reconciled window by window.

    ``cv`` is :attr:`Forecaster.cv_ <riskmodel.core.forecasting.Forecaster.cv_>`;
    ``reconciled-lo-<L>``/``reconciled-hi-<L>`` are the reconciled bounds.

    Reconciliation is then scored on the same unseen window as the base forecasts;
    ``mint_shrink`` takes its residuals from the selection windows only. A window that lacks
    a series at some period (a port too young at its cutoff) is reconciled over the series
    it holds (:func:`_window_hierarchy`); the series left out get no reconciled values.
    """
    held = cv[cv["holdout"]].copy()
    residuals = None
    if method == "mint_shrink":
        sel = cv[~cv["holdout"]]
        residuals = sel.assign(res=sel["y"] - sel["chosen"]).pivot_table(index=["cutoff", "ds"], columns="unique_id", values="res")
    names = {"chosen": "y_hat"} | {f"chosen-{side}-{L}": f"y_{side}_{L}" for L in level for side in ("lo", "hi")}
    parts = []
    for _, g in held.groupby("cutoff", sort=True):
        # a series without every period of the window (a port too young at its cutoff) had no forecast there:
        # the window is reconciled over the series it has, never left unreconciled (then the 'chosen'
        # figures would stand for the served forecast's)
        sub = _window_hierarchy(hierarchy, g)
        inside = g["unique_id"].isin(sub.S.index).to_numpy()
        rec = reconcile(g.loc[inside, ["unique_id", "ds", *names]].rename(columns=names), sub, method=method, residuals=residuals)
        out = g.copy()
        for src, dst in names.items():
            values = np.full(len(g), np.nan)
            values[inside] = rec[dst].to_numpy()
            out[src.replace("chosen", "reconciled")] = values
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


def _window_hierarchy(hierarchy: Hierarchy, window: pd.DataFrame) -> Hierarchy:
    """The hierarchy of the series a backtest window holds at every one of its periods.

    Its bottom series are those the window holds; its aggregates those it holds with at least one of
    these parts, each the sum of the parts present (the actual of a total still counts a part that had no
    forecast: the error is the one a forecast made then would have had). The others get no reconciled value.
    """
    S = hierarchy.S
    periods = window.groupby("unique_id")["ds"].nunique()
    present = set(periods.index[periods.to_numpy() == window["ds"].nunique()].astype(str))
    if present >= set(S.index.astype(str)):
        return hierarchy
    bottom = [c for c in S.columns if str(c) in present]
    rows = [r for r in S.index if str(r) in present and S.loc[r, bottom].to_numpy().any()]
    return Hierarchy(S=S.loc[rows, bottom])
