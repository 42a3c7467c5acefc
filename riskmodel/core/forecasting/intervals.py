"""Conformal prediction intervals calibrated on backtest errors.

Errors are measured on the log scale, ``e = log1p(y) - log1p(y_hat)``, and divided
by a per-series scale ``s`` (the mean absolute seasonal difference of
``log1p(y)`` in the history, outside declared breaks: a collapse and rebound would
otherwise make every later interval huge), so that errors of big and small series
can be pooled. Steps are the calendar steps of the backtest (``step`` column): a
row after a left-out break period keeps its true distance from the cutoff. The two sides are calibrated apart: for an ``L``% interval and horizon
step ``k``, the upper multiplier ``u_k`` is the ``(1 + L/100) / 2`` quantile of
``e / s`` and the lower one ``l_k`` minus its ``(1 - L/100) / 2`` quantile, over
all series, windows and neighbouring steps (``k / 1.25 <= j <= 1.25 k``, at least
``k - 1 .. k + 1``). One-sided calibration matters for counts: a day with no
arrivals against a forecast of ten is a huge error on the log scale, and a
symmetric (``|e|``) quantile turned such closed days into upper bounds five
times the forecast. Steps the backtest did not reach take the last calibrated
multiplier grown like ``sqrt(k)``. Each multiplier is then made non-decreasing
in ``k`` by isotonic regression, not by a running maximum: one step that
happened to fall on a holiday in every backtest window must not widen every
later step. The interval is ``[expm1(log1p(y_hat) - l_k s), expm1(log1p(y_hat) +
u_k s)]``, clipped at 0.

Pooling across series is what makes a few windows enough; the backtest reports
the empirical coverage so that it can be checked. A step whose neighbourhood
holds fewer errors than a level needs (``ceil((n + 1)(1 - tail)) > n``: fewer
than 19 at 80%, 79 at 95%) has no finite conformal quantile at that level and
takes the largest error, which covers about ``n / (n + 1)`` whatever the level:
:func:`calibrate` lists those ends (``notes``), the Forecaster warns about them
(:class:`~riskmodel.core.exceptions.IntervalWarning`) and keeps them in
``largest_error_ends_``; their values are not changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmodel.core.forecasting.calendar import same_regime_pairs

__all__ = ["LARGEST_ERROR_COLUMNS", "log_scale", "volume_groups", "calibrate", "extend", "apply_intervals", "largest_error_message",
           "uncalibrated_steps_message"]

#: Columns of the table of interval ends that are the largest backtest error (see :func:`calibrate`).
LARGEST_ERROR_COLUMNS = ["level", "side", "group", "step", "errors"]


def log_scale(y: np.ndarray, m: int, mask: np.ndarray | None = None) -> float:
    """Mean absolute seasonal (else first) difference of ``log1p(y)``; 0.1 when flat.

    ``mask`` (True inside a declared break) leaves out the differences that touch a
    break period or span one (see :func:`~riskmodel.core.forecasting.calendar.same_regime_pairs`).
    After a break, the scale comes from the periods after it alone once they hold
    three differences (seasonal ones first, else month-to-month): a recovery moves
    faster than the seasons before the collapse, and its intervals must say so.
    Leading zeros are left out: a series that starts (a market BPS begins to list)
    jumps from 0 to its level once, which is not its usual variation.
    """
    y = np.asarray(y, dtype=float)
    start = int(np.argmax(y > 0)) if np.any(y > 0) else len(y)
    z = np.log1p(y[start:])
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)[start:]
    latest = None
    if mask is not None and np.any(mask):
        after = int(np.flatnonzero(mask)[-1]) + 1
        latest = np.arange(len(z)) >= after
    for only_latest in ((True, False) if latest is not None else (False,)):
        for lag in (m, 1):
            if len(z) <= lag:
                continue
            ok = same_regime_pairs(len(z), lag, mask)
            if only_latest:
                ok = ok & latest[lag:]
                if ok.sum() < 3:
                    continue
            s = float(np.mean(np.abs(z[lag:] - z[:-lag])[ok])) if ok.any() else 0.0
            if s > 0:
                return s
    return 0.1


def volume_groups(history: pd.DataFrame, cv: pd.DataFrame | None = None, min_errors: int = 60) -> pd.Series:
    """Group series by order of magnitude of volume, for calibration.

    A series' volume is its mean over the last tenth of its history; groups are
    decades of volume (under 1 a period, 1-10, 10-100, ...). A group with fewer than
    ``min_errors`` backtest errors in ``cv`` joins the neighbouring group below it
    (above it when it is the lowest), so each group has enough errors for its
    quantiles.

    Returns
    -------
    Series
        ``unique_id -> group``, groups numbered from 0 (smallest volume).
    """
    vol = history.groupby("unique_id", sort=True)["y"].apply(lambda y: recent_volume(y.to_numpy(dtype=float)))
    return group_volumes(vol, cv, min_errors)


def recent_volume(y: np.ndarray) -> float:
    """A series' volume for :func:`volume_groups`: its mean over the last tenth of its history."""
    return float(np.nanmean(y[-max(len(y) // 10, 1):]))


def group_volumes(vol: pd.Series, cv: pd.DataFrame | None = None, min_errors: int = 60) -> pd.Series:
    """:func:`volume_groups` from each series' volume (``unique_id -> volume``, see :func:`recent_volume`)."""
    vol = vol.sort_index()
    decade = np.floor(np.log10(np.clip(vol.to_numpy(dtype=float), 1e-9, None) + 1e-12)).clip(-1, None).astype(int)
    decade = pd.Series(decade, index=vol.index)
    n_err = cv.groupby("unique_id").size().reindex(vol.index, fill_value=0) if cv is not None and len(cv) else pd.Series(0, index=vol.index)
    groups = sorted(decade.unique())
    if cv is not None and len(cv):
        merged = True
        while merged and len(groups) > 1:
            merged = False
            for i, d in enumerate(groups):
                if int(n_err[decade == d].sum()) < min_errors:
                    into = groups[i - 1] if i > 0 else groups[i + 1]
                    decade[decade == d] = into
                    groups.remove(d)
                    merged = True
                    break
    number = {d: i for i, d in enumerate(sorted(decade.unique()))}
    return decade.map(number).astype(int).rename("group")


def _conformal_rank(n: int, tail: float) -> float:
    """Finite-sample conformal quantile level of ``n`` errors for a ``tail`` (1.0: the largest error)."""
    return min(1.0, np.ceil((n + 1) * (1 - tail)) / n)


def _errors_needed(L: int) -> int:
    """Fewest errors whose conformal quantile at level ``L`` is not the largest of them (19 at 80%, 79 at 95%)."""
    tail = (1 - L / 100) / 2
    return next(n for n in range(1, 10**7) if _conformal_rank(n, tail) < 1.0)


def _multipliers(u: np.ndarray, step: np.ndarray, h: int, L: int, notes: list | None = None) -> np.ndarray:
    """Lower and upper multipliers (shape ``(2, h)``) from scaled signed errors ``u`` at 1-based ``step``.

    ``notes`` gets ``{"level", "side", "step", "errors"}`` for every step whose end is the largest
    error of its neighbourhood because it holds too few errors for the level.
    """
    from sklearn.isotonic import IsotonicRegression

    tail = (1 - L / 100) / 2
    steps = np.arange(1, h + 1)
    sides = []
    for side, sign in (("lower", -1.0), ("upper", 1.0)):  # lower side: quantiles of -e; upper side: of e
        v_all = sign * u
        q = np.full(h, np.nan)
        for k in steps:
            lo, hi = min(k - 1, k / 1.25), max(k + 1, k * 1.25)
            vals = v_all[(step >= lo) & (step <= hi)]
            if len(vals) >= 5:
                n = len(vals)
                rank = _conformal_rank(n, tail)
                q[k - 1] = np.quantile(vals, rank)
                if rank >= 1.0 and notes is not None:  # no finite conformal quantile: the largest error, said so
                    notes.append({"level": int(L), "side": side, "step": int(k), "errors": int(n)})
        known = np.flatnonzero(np.isfinite(q))
        if len(known) == 0:  # no step with five errors near it: every error at once, by the same conformal rule
            rank = _conformal_rank(len(v_all), tail)
            q = np.full(h, np.quantile(v_all, rank)) * np.sqrt(steps)
            if notes is not None and rank >= 1.0:  # else a few errors' interpolation under the largest, said nowhere
                notes += [{"level": int(L), "side": side, "step": int(k), "errors": len(v_all)} for k in steps]
        else:
            last = known[-1]
            for k in range(h):
                if not np.isfinite(q[k]):
                    q[k] = q[last] * np.sqrt((k + 1) / (last + 1)) if k > last else q[known[0]]
        q = np.clip(q, 0, None)
        sides.append(IsotonicRegression(increasing=True).fit(steps, q).predict(steps))
    return np.vstack(sides)


def calibrate(
    cv: pd.DataFrame,
    column: str,
    scales: pd.Series,
    h: int,
    levels: Sequence[int],
    groups: pd.Series | None = None,
    min_errors: int = 20,
    notes: list | None = None,
) -> dict[int, np.ndarray]:
    """Lower and upper multipliers per volume group, level and horizon step.

    Parameters
    ----------
    cv : DataFrame
        Backtest rows ``unique_id, ds, cutoff, step, y`` and the forecast ``column``
        (without ``step``, rows are numbered within each window).
    column : str
        Forecast column to calibrate.
    scales : Series
        Per-series log scale (index ``unique_id``), see :func:`log_scale`.
    h : int
        Horizon to cover.
    levels : sequence of int
        Interval levels in percent.
    groups : Series, optional
        ``unique_id -> group`` (see :func:`volume_groups`): each group is calibrated on
        its own errors (Mondrian conformal), because the log-scale errors of a series
        with a few arrivals a day are shaped unlike those of a port with thousands.
        Default: one group.
    min_errors : int, default=20
        A group with fewer backtest errors uses the multipliers of all series pooled.
    notes : list, optional
        Gets one dict per (level, side, group, step) whose end is the largest error of the step's
        neighbourhood because it holds too few errors for the level (:data:`LARGEST_ERROR_COLUMNS`).

    Returns
    -------
    dict of int to ndarray
        Level -> array of shape ``(n_groups, 2, h)``: non-negative, non-decreasing lower
        (``[:, 0]``) and upper (``[:, 1]``) multipliers; without a usable backtest error,
        2.0 (1.3 below 90%) times ``sqrt(step)``.
    """
    n_groups = int(groups.max()) + 1 if groups is not None and len(groups) else 1
    default = {L: np.vstack([np.full(h, 2.0 if L >= 90 else 1.3) * np.sqrt(np.arange(1, h + 1))] * 2) for L in levels}
    if cv.empty:
        return {L: np.stack([q] * n_groups) for L, q in default.items()}
    step = cv["step"].to_numpy(dtype=int) if "step" in cv else cv.groupby(["unique_id", "cutoff"]).cumcount().to_numpy() + 1
    err = np.log1p(cv["y"].to_numpy(dtype=float)) - np.log1p(np.clip(cv[column].to_numpy(dtype=float), 0, None))
    # Errors are scaled by the series' scale as it was at each cutoff when the backtest
    # has it: a series whose scale grew after a break then gets wider intervals.
    s = cv["log_scale"].to_numpy(dtype=float) if "log_scale" in cv else cv["unique_id"].map(scales).to_numpy(dtype=float)
    u = err / s
    g = cv["unique_id"].map(groups).fillna(0).to_numpy(dtype=int) if groups is not None else np.zeros(len(cv), dtype=int)
    ok = np.isfinite(u)
    step, u, g = step[ok], u[ok], g[ok]
    if not len(u):  # e.g. one series that held only zeros at every cutoff: nothing to calibrate on
        return {L: np.stack([q] * n_groups) for L, q in default.items()}
    out = {}
    for L in levels:
        pooled_notes: list = []
        pooled = _multipliers(u, step, h, L, pooled_notes)
        per_group = []
        for k in range(n_groups):
            own: list = []
            per_group.append(_multipliers(u[g == k], step[g == k], h, L, own) if (g == k).sum() >= min_errors else pooled)
            if notes is not None:
                notes += [{**note, "group": k} for note in (own if (g == k).sum() >= min_errors else pooled_notes)]
        out[L] = np.stack(per_group)
    return out


def _runs(values: Sequence[int]) -> str:
    """``1, 2, 3, 5`` as ``1-3, 5``."""
    values = sorted(set(int(v) for v in values))
    runs, start = [], values[0]
    for a, b in zip(values, [*values[1:], None], strict=True):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return ", ".join(runs)


def largest_error_message(table: pd.DataFrame, groups: pd.Series) -> str:
    """What :class:`~riskmodel.core.exceptions.IntervalWarning` says about a ``largest_error_ends_`` table.

    ``groups`` is ``unique_id -> volume group`` (to count the series whose intervals are concerned).
    """
    parts = []
    for L, part in table.groupby("level", sort=True):
        needed = _errors_needed(int(L))
        n_series = int(groups.isin(set(part["group"])).sum()) if len(groups) else 0
        lo, hi = int(part["errors"].min()), int(part["errors"].max())
        parts.append(f"{L}% interval at steps {_runs(part['step'])} ({lo if lo == hi else f'{lo}-{hi}'} errors, "
                     f"{needed} needed) for {n_series} series")
    return ("some interval ends are the largest backtest error seen, not a quantile of the level, because too few "
            "errors fall near their step (the largest of n errors covers about n/(n+1), whatever the level); later "
            "steps may carry it, as multipliers never decrease: " + "; ".join(parts) + ". Fix: more history (or more "
            "series in the volume group) so that each step sees more backtest errors, more selection windows "
            "(n_windows) if the history allows them, or fewer holdout_windows (they take no part in calibration). "
            "Listed in Forecaster.largest_error_ends_.")


def uncalibrated_steps_message(backtested: int, h: int, levels) -> str:
    """What a forecast of ``h`` steps from a forecaster backtested at ``backtested`` steps cannot claim past them."""
    shown = " and ".join(f"{L}%" for L in sorted(levels)) or "no"
    return (f"steps {backtested + 1}-{h} of {h} were never backtested (the forecaster was backtested at h={backtested}): their "
            f"accuracy is unmeasured and their {shown} interval ends are step {backtested}'s grown like sqrt(step), not "
            f"calibrated, so they need not hold their level. Fix: fit the forecaster with h={h} (and the history for "
            f"backtest windows that long), or ask for at most {backtested} steps. Silence with "
            "warnings.filterwarnings('ignore', category=riskmodel.IntervalWarning).")


def extend(q: dict[int, np.ndarray], h: int) -> dict[int, np.ndarray]:
    """Multipliers of shape ``(n_groups, 2, h)``: calibrated ones first, then the last grown like ``sqrt(k)``.

    Also reads the shapes of forecasters saved before volume groups: ``(2, h)`` (one
    group) and ``(h,)`` (one symmetric multiplier, format 1).
    """
    out = {}
    for L, v in q.items():
        v = np.asarray(v, dtype=float)
        if v.ndim == 1:
            v = np.stack([v, v])
        if v.ndim == 2:
            v = v[None, :, :]
        n = v.shape[2]
        if h > n:
            grow = np.sqrt(np.arange(n + 1, h + 1) / n)
            v = np.concatenate([v, v[:, :, -1:] * grow], axis=2)
        out[L] = v[:, :, :h]
    return out


def apply_intervals(
    y_hat: np.ndarray,
    scale: float | np.ndarray,
    q: dict[int, np.ndarray],
    steps: np.ndarray | None = None,
    group: int | np.ndarray = 0,
    cap: float | np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Interval bounds ``y_lo_<L>``, ``y_hi_<L>`` around point forecasts.

    ``steps`` are the 0-based horizon steps of ``y_hat`` (default ``0 .. len - 1``,
    one series' forecast path); ``scale``, ``group`` and ``cap`` a value for all or
    one per value. Upper bounds above ``cap`` are lowered to it, never below the
    point forecast: on the log scale an intermittent series (a cruise port with
    empty months) gets multipliers that would put its upper bound at thousands of
    times anything it ever saw (the Forecaster passes ``EXPLOSION`` times the
    series' largest count, the limit above which a model's forecast counts as
    exploded).
    """
    point = np.clip(np.asarray(y_hat, dtype=float), 0, None)
    z = np.log1p(point)
    steps = np.arange(len(z)) if steps is None else np.asarray(steps)
    q = extend(q, int(steps.max()) + 1 if len(steps) else 1)
    out = {}
    for L, mult in sorted(q.items()):
        gi = np.minimum(np.asarray(group), mult.shape[0] - 1)
        # a side calibrated to zero width gives expm1(log1p(y_hat)), a rounding step off y_hat: never across it
        out[f"y_lo_{L}"] = np.minimum(np.clip(np.expm1(z - mult[gi, 0, steps] * scale), 0, None), point)
        hi = np.expm1(z + mult[gi, 1, steps] * scale)
        out[f"y_hi_{L}"] = np.maximum(hi if cap is None else np.minimum(hi, cap), point)
    return out
