"""Conformal prediction intervals calibrated on backtest errors.

Errors are measured on the log scale, ``e = log1p(y) - log1p(y_hat)``, and divided
by a per-series scale ``s`` (the mean absolute seasonal difference of
``log1p(y)`` in the history), so that errors of big and small series can be
pooled. For each horizon step ``k`` the ``L``% quantile of ``|e| / s`` over all
series, windows and neighbouring steps (``k / 1.25 <= j <= 1.25 k``, at least
``k - 1 .. k + 1``) is the half-width multiplier ``q_k``; steps the backtest did
not reach take the last calibrated multiplier grown like ``sqrt(k)``. ``q_k`` is
then made non-decreasing in ``k`` by isotonic regression, not by a running
maximum: one step that happened to fall on a holiday in every backtest window
must not widen every later step (daily counters closed on holidays blew up to
intervals a hundred times the forecast that way). The interval is
``expm1(log1p(y_hat) -/+ q_k * s)``, clipped at 0.

Pooling across series is what makes a few windows enough; the backtest reports
the empirical coverage so that it can be checked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["log_scale", "calibrate", "apply_intervals"]


def log_scale(y: np.ndarray, m: int) -> float:
    """Mean absolute seasonal (else first) difference of ``log1p(y)``; 0.1 when flat."""
    z = np.log1p(np.asarray(y, dtype=float))
    for lag in (m, 1):
        if len(z) > lag:
            s = float(np.mean(np.abs(z[lag:] - z[:-lag])))
            if s > 0:
                return s
    return 0.1


def calibrate(cv: pd.DataFrame, column: str, scales: pd.Series, h: int, levels: Sequence[int]) -> dict[int, np.ndarray]:
    """Half-width multipliers ``q[L][k-1]`` for steps ``k = 1..h``.

    Parameters
    ----------
    cv : DataFrame
        Backtest rows ``unique_id, ds, cutoff, y`` and the forecast ``column``.
    column : str
        Forecast column to calibrate.
    scales : Series
        Per-series log scale (index ``unique_id``), see :func:`log_scale`.
    h : int
        Horizon to cover.
    levels : sequence of int
        Interval levels in percent.

    Returns
    -------
    dict of int to ndarray
        Level -> ``h`` non-decreasing multipliers.
    """
    if cv.empty:
        return {L: np.full(h, 2.0 if L >= 90 else 1.3) * np.sqrt(np.arange(1, h + 1)) for L in levels}
    from sklearn.isotonic import IsotonicRegression

    step = cv.groupby(["unique_id", "cutoff"]).cumcount().to_numpy() + 1
    err = np.abs(np.log1p(cv["y"].to_numpy(dtype=float)) - np.log1p(np.clip(cv[column].to_numpy(dtype=float), 0, None)))
    u = err / cv["unique_id"].map(scales).to_numpy(dtype=float)
    ok = np.isfinite(u)
    step, u = step[ok], u[ok]
    out = {}
    for L in levels:
        q = np.full(h, np.nan)
        for k in range(1, h + 1):
            lo, hi = min(k - 1, k / 1.25), max(k + 1, k * 1.25)
            vals = u[(step >= lo) & (step <= hi)]
            if len(vals) >= 5:
                n = len(vals)
                rank = min(1.0, np.ceil((n + 1) * L / 100) / n)  # finite-sample conformal quantile
                q[k - 1] = np.quantile(vals, rank)
        known = np.flatnonzero(np.isfinite(q))
        if len(known) == 0:
            q = np.full(h, np.quantile(u, L / 100)) * np.sqrt(np.arange(1, h + 1))
        else:
            last = known[-1]
            for k in range(h):
                if not np.isfinite(q[k]):
                    q[k] = q[last] * np.sqrt((k + 1) / (last + 1)) if k > last else q[known[0]]
        steps = np.arange(1, h + 1)
        out[L] = IsotonicRegression(increasing=True).fit(steps, q).predict(steps)
    return out


def apply_intervals(y_hat: np.ndarray, scale: float, q: dict[int, np.ndarray]) -> dict[str, np.ndarray]:
    """Interval bounds ``y_lo_<L>``, ``y_hi_<L>`` around one series' point forecasts."""
    z = np.log1p(np.clip(y_hat, 0, None))
    h = len(z)
    out = {}
    for L, mult in sorted(q.items()):
        half = mult[:h] * scale if len(mult) >= h else np.concatenate([mult, np.full(h - len(mult), mult[-1])]) * scale
        out[f"y_lo_{L}"] = np.clip(np.expm1(z - half), 0, None)
        out[f"y_hi_{L}"] = np.expm1(z + half)
    return out
