"""Rolling-origin backtests and forecast accuracy metrics.

A backtest refits every model at several *cutoffs* and forecasts the periods
after each one; its output is long format with a ``cutoff`` column and always
``cutoff < ds``: nothing at or after the cutoff is seen by the models of that
window. Windows near the end of the history are truncated rather than dropped,
so short series (e.g. two years of monthly data) still get several windows.

Metrics (per series, then averaged per model and level):

``mase``   mean absolute error / in-sample mean absolute seasonal difference
           (computed on the history before each cutoff)
``smape``  mean of 2|y - f| / (|y| + |f|), in [0, 2] (0 where both are 0)
``mape``   mean of |y - f| / y over periods with y > 0
``rmse``   root mean squared error
``coverage_<L>``, ``width_<L>``  share of actuals inside the L% interval and its
           mean width relative to the mean actual
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmodel.core.forecasting.calendar import in_break
from riskmodel.core.forecasting.engine import RunSettings, run_models

__all__ = ["make_cutoffs", "cross_validation", "mase_scale", "evaluate", "METRICS"]

METRICS = ("mase", "smape", "mape", "rmse")


def make_cutoffs(ds: pd.DatetimeIndex, n_windows: int, step: int, min_train: int) -> list[pd.Timestamp]:
    """The last ``n_windows`` cutoffs, ``step`` periods apart, ending one period before the last.

    Cutoffs that would leave fewer than ``min_train`` periods of history are dropped.
    """
    ds = pd.DatetimeIndex(ds).sort_values().unique()
    out = []
    for k in range(n_windows, 0, -1):
        i = len(ds) - 1 - k * step
        if i + 1 >= min_train:
            out.append(ds[i])
    return out


def mase_scale(y: np.ndarray, m: int) -> float:
    """Mean absolute seasonal difference of a history (falls back to lag 1, then 1.0)."""
    y = np.asarray(y, dtype=float)
    for lag in (m, 1):
        if len(y) > lag:
            scale = np.mean(np.abs(y[lag:] - y[:-lag]))
            if scale > 0:
                return float(scale)
    return 1.0


def cross_validation(
    df: pd.DataFrame,
    h: int,
    settings: RunSettings,
    *,
    n_windows: int = 3,
    step: int | None = None,
    min_train: int | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
    """Rolling-origin backtest of every model of ``settings``.

    Parameters
    ----------
    df : DataFrame
        Validated long frame ``unique_id, ds, y`` (see :func:`validate_series`).
    h : int
        Horizon of each window (truncated at the end of the history).
    settings : RunSettings
        Models, frequency, season length, breaks, parallelism.
    n_windows : int, default=3
        Number of cutoffs.
    step : int, optional
        Periods between cutoffs; default ``max(1, h // n_windows)``.
    min_train : int, optional
        Fewest periods of history a window needs; default ``m + 3``.

    Returns
    -------
    cv : DataFrame
        Columns ``unique_id, ds, cutoff, y, scale`` and one column of point
        forecasts per model; ``cutoff < ds`` on every row. Periods inside a declared
        break are not scored. ``scale`` is the MASE
        denominator of the series computed on the history up to the cutoff.
    fallbacks : list of (model, unique_id, reason)
    """
    step = step or max(1, h // n_windows)
    min_train = min_train or settings.m + 3
    all_ds = pd.DatetimeIndex(df["ds"].unique()).sort_values()
    frames, fallbacks = [], []
    groups = {uid: (pd.DatetimeIndex(g["ds"]), g["y"].to_numpy(dtype=float)) for uid, g in df.groupby("unique_id", sort=True)}
    for cutoff in make_cutoffs(all_ds, n_windows, step, min_train):
        hist = {}
        scales = {}
        for uid, (ds, y) in groups.items():
            n = int(np.searchsorted(ds.to_numpy(), cutoff.to_datetime64(), side="right"))
            if n >= min_train and n < len(ds):
                hist[uid] = (ds[:n], y[:n])
                scales[uid] = mase_scale(y[:n], settings.m)
        if not hist:
            continue
        fcs, future, fb = run_models(hist, h, settings)
        fallbacks += [(m, uid, f"{r} (backtest cutoff {cutoff.date()})") for m, uid, r in fb]
        for uid in hist:
            ds, y = groups[uid]
            actual = pd.Series(y, index=ds)
            fut = future[uid]
            keep = fut.isin(ds)
            part = pd.DataFrame({"unique_id": uid, "ds": fut[keep], "cutoff": cutoff, "y": actual.reindex(fut[keep]).to_numpy(), "scale": scales[uid]})
            for name, per_series in fcs.items():
                part[name] = per_series[uid][keep]
            frames.append(part[~in_break(part["ds"], settings.breaks)])  # a declared break never scores a model
    if not frames:
        return pd.DataFrame(columns=["unique_id", "ds", "cutoff", "y", "scale", *settings.models]), fallbacks
    cv = pd.concat(frames, ignore_index=True)
    cv["unique_id"] = cv["unique_id"].astype(str)
    return cv, fallbacks


def _series_metrics(y: np.ndarray, f: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    err = y - f
    denom = np.abs(y) + np.abs(f)
    smape = np.where(denom > 0, 2 * np.abs(err) / np.where(denom > 0, denom, 1), 0.0)
    pos = y > 0
    return {
        "mase": float(np.mean(np.abs(err) / scale)),
        "smape": float(np.mean(smape)),
        "mape": float(np.mean(np.abs(err[pos]) / y[pos])) if pos.any() else np.nan,
        "rmse": float(np.sqrt(np.mean(err**2))),
    }


def evaluate(
    cv: pd.DataFrame,
    models: Sequence[str],
    *,
    levels: Sequence[int] = (),
    tags: dict[str, list[str]] | None = None,
    intervals: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Accuracy of each model per series, averaged per level of the hierarchy.

    Parameters
    ----------
    cv : DataFrame
        Output of :func:`cross_validation` (or any frame with ``unique_id, y, scale``
        and one forecast column per model; ``y_lo_<L>``/``y_hi_<L>`` columns named
        ``<model>-lo-<L>``/``<model>-hi-<L>`` add coverage and width).
    models : sequence of str
        Forecast columns to score.
    levels : sequence of int, default=()
        Interval levels whose coverage and width to report.
    tags : dict of str to list of str, optional
        Hierarchy level -> series ids; without it every series is level ``"all"``.

    Returns
    -------
    DataFrame
        Columns ``level, model, n_series, mase, smape, mape, rmse`` and
        ``coverage_<L>, width_<L>`` per interval level; one row per level and model
        plus level ``"all"`` over every series.
    """
    rows = []
    membership = {"all": None}
    if tags:
        membership.update({lv: set(ids) for lv, ids in tags.items()})
    for name in models:
        per_series = []
        for uid, g in cv.groupby("unique_id", sort=False):
            y = g["y"].to_numpy(dtype=float)
            rec = {"unique_id": uid, **_series_metrics(y, g[name].to_numpy(dtype=float), g["scale"].to_numpy(dtype=float))}
            mean_y = max(float(np.mean(np.abs(y))), 1e-9)
            for L in levels:
                lo, hi = g.get(f"{name}-lo-{L}"), g.get(f"{name}-hi-{L}")
                if lo is not None and hi is not None:
                    rec[f"coverage_{L}"] = float(np.mean((y >= lo.to_numpy()) & (y <= hi.to_numpy())))
                    rec[f"width_{L}"] = float(np.mean(hi.to_numpy() - lo.to_numpy()) / mean_y)
            per_series.append(rec)
        table = pd.DataFrame(per_series)
        for lv, ids in membership.items():
            part = table if ids is None else table[table["unique_id"].isin(ids)]
            if part.empty:
                continue
            agg = part.drop(columns="unique_id").mean(numeric_only=True).to_dict()
            rows.append({"level": lv, "model": name, "n_series": len(part), **agg})
    return pd.DataFrame(rows)
