"""Rolling-origin backtests and forecast accuracy metrics.

A backtest refits every model at several *cutoffs* and forecasts the periods
after each one; its output is long format with a ``cutoff`` column and always
``cutoff < ds``: nothing at or after the cutoff is seen by the models of that
window. Windows near the end of the history are truncated rather than dropped,
so short series (e.g. two years of monthly data) still get several windows.

Metrics (per series, then averaged per model and level):

``mase``   mean absolute error / in-sample mean absolute seasonal difference
           (computed on the history before each cutoff, outside declared breaks)
``smape``  mean of 2|y - f| / (|y| + |f|), in [0, 2] (0 where both are 0)
``mape``   mean of |y - f| / y over periods with y > 0
``rmse``   root mean squared error
``coverage_<L>``, ``width_<L>``  share of actuals inside the L% interval and its
           mean width relative to the mean actual (none where the actuals are all 0)
``msis_<L>`` mean scaled interval score of the M4 competition: width plus
           ``2 / alpha`` times the distance of an actual outside the interval
           (``alpha = 1 - L/100``), divided by the MASE scale
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from riskmodel.core.forecasting.calendar import in_break, same_regime_pairs
from riskmodel.core.forecasting.engine import RunSettings, run_models, scaled_history
from riskmodel.core.forecasting.intervals import log_scale

__all__ = ["make_cutoffs", "cross_validation", "nested_cross_validation", "mase_scale", "evaluate", "interval_score", "METRICS", "PEERS"]

METRICS = ("mase", "smape", "mape", "rmse")
#: Simple peers computed on the raw history at every cutoff (no break handling, no
#: calendar): the forecasts a challenger must beat. Columns ``peer:<name>`` of the backtest.
PEERS = ("naive", "snaive", "drift")


def make_cutoffs(
    ds: pd.DatetimeIndex,
    n_windows: int,
    step: int,
    min_train: int,
    horizon: int | None = None,
    breaks: Sequence[tuple[str, str]] = (),
) -> list[pd.Timestamp]:
    """The last ``n_windows`` cutoffs, ``step`` periods apart, oldest first.

    Without ``horizon`` the last cutoff is ``step`` periods before the last period.
    With ``horizon`` it is ``horizon`` periods before it, so that every window reaches
    the full horizon; a cutoff inside a declared break, or whose window lies wholly
    inside one, is skipped for an earlier one (a model trained to the middle of a
    collapse says nothing about the choice of models for normal times). Cutoffs that would leave fewer than ``min_train``
    periods of history are dropped.
    """
    ds = pd.DatetimeIndex(ds).sort_values().unique()
    if horizon is None:
        return [ds[len(ds) - 1 - k * step] for k in range(n_windows, 0, -1) if len(ds) - k * step >= min_train]
    scored = ~in_break(ds, breaks)
    out = []
    i = len(ds) - 1 - horizon
    while i + 1 >= min_train and len(out) < n_windows:
        if scored[i] and scored[i + 1 : i + 1 + horizon].any():
            out.append(ds[i])
        i -= step
    return out[::-1]


def mase_scale(y: np.ndarray, m: int, mask: np.ndarray | None = None, *, fallback: float = 1.0) -> float:
    """Mean absolute seasonal difference of a history (falls back to lag 1, then ``fallback``).

    ``mask`` (True inside a declared break) leaves out every difference that touches
    a break period or spans one: a collapse must not make later errors look small.
    ``fallback`` is returned when no difference is positive (a history too short, or flat:
    a closed port's zeros); pass NaN where an error must not be read on another unit.
    A missing value (NaN: a period the history lacks) leaves out the differences that touch it.
    """
    y = np.asarray(y, dtype=float)
    for lag in (m, 1):
        if len(y) > lag:
            diff = np.abs(y[lag:] - y[:-lag])
            ok = same_regime_pairs(len(y), lag, mask) & ~np.isnan(diff)  # NaN: a period the history lacks
            if ok.any():
                scale = np.mean(diff[ok])
                if scale > 0:
                    return float(scale)
    return fallback


def interval_score(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: int) -> np.ndarray:
    """Interval score of each actual (M4): width plus ``2/alpha`` times any miss distance."""
    alpha = 1 - level / 100
    return (hi - lo) + 2 / alpha * np.clip(lo - y, 0, None) + 2 / alpha * np.clip(y - hi, 0, None)


def _peers(y: np.ndarray, h: int, m: int) -> dict[str, np.ndarray]:
    """Naive, seasonal naive and drift forecasts from a raw history."""
    n = len(y)
    slope = (y[-1] - y[0]) / (n - 1) if n > 1 else 0.0
    return {
        "naive": np.repeat(y[-1], h),
        "snaive": np.resize(y[-m:], h) if n >= m > 1 else np.repeat(y[-1], h),
        "drift": np.clip(y[-1] + slope * np.arange(1, h + 1), 0, None),
    }


def cross_validation(
    df: pd.DataFrame,
    h: int,
    settings: RunSettings,
    *,
    n_windows: int = 3,
    step: int | None = None,
    min_train: int | None = None,
    on_window: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
    """Rolling-origin backtest of every model of ``settings``.

    Parameters
    ----------
    df : DataFrame
        Validated long frame ``unique_id, ds, y`` (see :func:`validate_series`).
    h : int
        Horizon of each window (each window reaches it: see :func:`make_cutoffs`).
    settings : RunSettings
        Models, frequency, season length, breaks, parallelism.
    n_windows : int, default=3
        Number of cutoffs.
    step : int, optional
        Periods between cutoffs; default ``max(1, h // n_windows)``.
    min_train : int, optional
        Fewest periods of history a window needs; default ``m`` (one season).
    on_window : callable, optional
        ``on_window(done, total)`` after each window (cutoff) is backtested.

    Returns
    -------
    cv : DataFrame
        Columns ``unique_id, ds, cutoff, y, scale, step, log_scale``, one column of point
        forecasts per model and ``peer:naive``, ``peer:snaive``, ``peer:drift`` (see
        :data:`PEERS`); ``cutoff < ds`` on every row and every window spans ``h``
        calendar periods. ``step`` is the 1-based number of periods from the cutoff.
        Periods inside a declared break are not scored. ``scale`` is the MASE
        denominator of the series computed on the history up to the cutoff,
        outside declared breaks (NaN for a history with no change, e.g. a closed port's
        zeros or a fixed quota: such a series has no MASE, never its error in people);
        ``log_scale`` the interval scale at the cutoff
        (:func:`~riskmodel.core.forecasting.intervals.log_scale`; NaN when the
        history up to the cutoff holds only zeros, and such rows calibrate nothing).
    fallbacks : list of (model, unique_id, reason)
    """
    step = step or max(1, h // n_windows)
    min_train = min_train or max(settings.m, 3)
    all_ds = pd.DatetimeIndex(df["ds"].unique()).sort_values()
    frames, fallbacks = [], []
    groups = {uid: (pd.DatetimeIndex(g["ds"]), g["y"].to_numpy(dtype=float)) for uid, g in df.groupby("unique_id", sort=True)}
    cutoffs = make_cutoffs(all_ds, n_windows, step, min_train, horizon=h, breaks=settings.breaks)
    for i, cutoff in enumerate(cutoffs):
        if on_window is not None and i:
            on_window(i, len(cutoffs))
        hist = {}
        scales, lscales = {}, {}
        for uid, (ds, y) in groups.items():
            n = int(np.searchsorted(ds.to_numpy(), cutoff.to_datetime64(), side="right"))
            if n >= min_train and n < len(ds):
                hist[uid] = (ds[:n], y[:n])
                mask = in_break(ds[:n], settings.breaks)
                # a flat history has no scale: its errors in people must not be averaged in as a MASE (NaN, left out)
                scales[uid] = mase_scale(y[:n], settings.m, mask, fallback=np.nan)
                # A history of zeros has no scale: its errors would calibrate nothing but noise.
                lscales[uid] = log_scale(scaled_history(y[:n], mask, settings.m, settings.break_method), settings.m, mask) if np.any(y[:n] > 0) else np.nan
        if not hist:
            continue
        fcs, future, fb = run_models(hist, h, settings)
        fallbacks += [(m, uid, f"{r} (backtest cutoff {cutoff.date()})") for m, uid, r in fb]
        for uid in hist:
            ds, y = groups[uid]
            actual = pd.Series(y, index=ds)
            fut = future[uid]
            keep = fut.isin(ds)
            steps = np.arange(1, h + 1)[keep]
            part = pd.DataFrame({"unique_id": uid, "ds": fut[keep], "cutoff": cutoff, "y": actual.reindex(fut[keep]).to_numpy(), "scale": scales[uid], "step": steps, "log_scale": lscales[uid]})
            for name, per_series in fcs.items():
                part[name] = per_series[uid][keep]
            for name, values in _peers(hist[uid][1], h, settings.m).items():
                part[f"peer:{name}"] = values[keep]
            frames.append(part[~in_break(part["ds"], settings.breaks)])  # a declared break never scores a model
    if on_window is not None and cutoffs:
        on_window(len(cutoffs), len(cutoffs))
    if not frames:
        peers = [f"peer:{p}" for p in PEERS]
        return pd.DataFrame(columns=["unique_id", "ds", "cutoff", "y", "scale", "step", "log_scale", *settings.models, *peers]), fallbacks
    cv = pd.concat(frames, ignore_index=True)
    cv["unique_id"] = cv["unique_id"].astype(str)
    return cv, fallbacks


def nested_cross_validation(
    df: pd.DataFrame, h: int, settings: RunSettings, *, n_windows: int, holdout_windows: int, step: int,
    on_window: Callable[[int, int], None] | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
    """Holdout windows on the whole history, then selection windows on the history up to the first holdout cutoff.

    Selection windows end at or before the holdout cutoff, so no actual of a holdout
    window is ever an error that chose a model or calibrated an interval. Without
    room for both, every window is a selection window. ``on_window(done, total)`` counts the
    windows of both after each one (the total is the planned one until the windows are known).

    Returns
    -------
    cv : DataFrame
        :func:`cross_validation` rows of both, with ``holdout`` (bool).
    fallbacks : list of (model, unique_id, reason)
    """
    count = _WindowCount(on_window)
    if holdout_windows:
        held, fb_held = cross_validation(df, h, settings, n_windows=holdout_windows, step=step, on_window=count.then(n_windows))
        if len(held):
            first = held["cutoff"].min()
            select, fb_select = cross_validation(df[df["ds"] <= first], h, settings, n_windows=n_windows, step=step, on_window=count.after())
            if len(select):
                cv = pd.concat([select.assign(holdout=False), held.assign(holdout=True)], ignore_index=True)
                return cv, fb_select + fb_held
    cv, fallbacks = cross_validation(df, h, settings, n_windows=n_windows, step=step, on_window=count.after())
    return cv.assign(holdout=False), fallbacks


def first_cutoff(
    df: pd.DataFrame, h: int, settings: RunSettings, *, n_windows: int, holdout_windows: int, step: int
) -> pd.Timestamp | None:
    """The earliest cutoff :func:`nested_cross_validation` plans on ``df`` with these arguments (None: no window).

    A model whose form depends on the length of its history (``mstl``'s yearly period) is decided at this
    date for every run of a fit, so the model a backtest scores under a name is the one served under it.
    Planned from the dates alone, it is never later than the earliest window that runs.
    """
    all_ds = pd.DatetimeIndex(df["ds"].unique()).sort_values()
    plan = {"step": step, "min_train": max(settings.m, 3), "horizon": h, "breaks": settings.breaks}
    held = make_cutoffs(all_ds, holdout_windows, **plan) if holdout_windows else []
    select = make_cutoffs(all_ds[all_ds <= held[0]], n_windows, **plan) if held else []
    cutoffs = select or make_cutoffs(all_ds, n_windows, **plan)
    return min([*cutoffs, *held]) if cutoffs or held else None


class _WindowCount:
    """One count over the successive :func:`cross_validation` calls of a nested backtest."""

    def __init__(self, hook: Callable[[int, int], None] | None):
        self.hook, self.last = hook, 0

    def then(self, planned_after: int) -> Callable[[int, int], None] | None:
        """A window callback for a first call, followed by ``planned_after`` more windows."""
        if self.hook is None:
            return None

        def report(done: int, total: int) -> None:
            self.last = done
            self.hook(done, total + planned_after)

        return report

    def after(self) -> Callable[[int, int], None] | None:
        """A window callback for the next call: counts on from the windows already done."""
        if self.hook is None:
            return None
        base = self.last

        def report(done: int, total: int) -> None:
            self.hook(base + done, base + total)

        return report


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
        Columns ``level, model, n_series, n_mase, mase, smape, mape, rmse`` and
        ``coverage_<L>, width_<L>, msis_<L>`` per interval level (means over the series
        with an interval, ``n_intervals_<L>`` of them); one row per level and model
        plus level ``"all"`` over every series. Each figure is the unweighted mean over
        the series that have it: ``mase`` over the ``n_mase`` series with a MASE scale.
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
            mean_y = float(np.mean(np.abs(y)))  # 0 (a port closed through the window): no width relative to it
            for L in levels:
                lo, hi = g.get(f"{name}-lo-{L}"), g.get(f"{name}-hi-{L}")
                if lo is not None and hi is not None:
                    a, b = lo.to_numpy(dtype=float), hi.to_numpy(dtype=float)
                    # a row without bounds has no interval to hold its actual: no coverage (as no width and no MSIS), never 0
                    held = (y >= a) & (y <= b)
                    rec[f"coverage_{L}"] = float(np.mean(held)) if np.isfinite(a).all() and np.isfinite(b).all() else np.nan
                    rec[f"width_{L}"] = float(np.mean(hi.to_numpy() - lo.to_numpy()) / mean_y) if mean_y > 0 else np.nan
                    score = interval_score(y, lo.to_numpy(dtype=float), hi.to_numpy(dtype=float), int(L))
                    rec[f"msis_{L}"] = float(np.mean(score / g["scale"].to_numpy(dtype=float)))
            per_series.append(rec)
        table = pd.DataFrame(per_series)
        for lv, ids in membership.items():
            part = table if ids is None else table[table["unique_id"].isin(ids)]
            if part.empty:
                continue
            agg = part.drop(columns="unique_id").mean(numeric_only=True).to_dict()
            # a coverage is the mean over the series that have an interval: how many, beside it
            counts = {f"n_intervals_{L}": int(part[f"coverage_{L}"].notna().sum()) for L in levels if f"coverage_{L}" in part}
            # so is a MASE: a series with no scale (a flat history, a port with no arrivals) has none
            rows.append({"level": lv, "model": name, "n_series": len(part), "n_mase": int(part["mase"].notna().sum()), **agg, **counts})
    return pd.DataFrame(rows)
