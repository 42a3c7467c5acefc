"""Run every requested model on a set of series, in parallel, with fallbacks.

This is the shared engine of :class:`~riskmodel.core.forecasting.Forecaster` and of the
backtest: it prepares each history (declared breaks rebased or imputed, calendar
regressors), runs the local models across series with joblib, the global model
once, applies the daily moving-event effects, and reports every fallback so that
the caller can warn in the main process (warnings raised in joblib workers would
be lost).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import FallbackWarning
from riskmodel.core.forecasting.calendar import calendar_features, in_break
from riskmodel.core.forecasting.models import GLOBAL_MODELS, YEARLY, fit_local, lgbm_forecast, season_positions
from riskmodel.core.forecasting.series import FREQS

__all__ = ["RunSettings", "run_models", "impute_break", "rebase_break", "recover_break", "recovery_offset", "scaled_history", "BREAK_METHODS", "warn_fallbacks"]

#: Daily events whose effect a seasonal model cannot learn because their date moves.
MOVING_EVENTS = ("nyepi", "eid", "lunar_new_year")


@dataclass(frozen=True)
class RunSettings:
    """What :func:`run_models` needs besides the data (mirrors Forecaster's arguments)."""

    freq: str
    m: int
    models: tuple[str, ...]
    events: tuple[str, ...] | None = None
    breaks: tuple[tuple[str, str], ...] = ()
    break_method: str = "recover"
    n_jobs: int = 1
    progress: bool = False
    seed: int = 0
    #: ``mstl`` fits the yearly period only for a series with more than two years of periods up to this date (the
    #: earliest backtest cutoff of the fit, see :func:`~riskmodel.core.forecasting.backtest.first_cutoff`), so that
    #: every backtest window and the final forecast fit the same model under that name; None: each history decides.
    yearly_from: pd.Timestamp | None = None


def _yearly(ds: pd.DatetimeIndex, settings: RunSettings) -> int:
    """The yearly period ``mstl`` may fit on this series in this fit: 365 days, or 0 (none) when some run of the fit cannot."""
    if settings.yearly_from is None:
        return YEARLY
    return YEARLY if int(np.searchsorted(ds.to_numpy(), settings.yearly_from.to_datetime64(), side="right")) > 2 * YEARLY else 0


def impute_break(y: np.ndarray, mask: np.ndarray, m: int) -> np.ndarray:
    """Replace the periods of a declared break by what the seasons around it imply.

    On the log scale, the deseasonalised level is interpolated linearly from the
    last season before the break to the first season after it (or carried forward
    when the break runs to the end), and the pre-break seasonal profile is added
    back. A series that starts inside the break keeps its values. This keeps the
    break from being learned as seasonality or trend while keeping the season
    phase intact.

    Parameters
    ----------
    y : ndarray
        Counts, oldest first.
    mask : ndarray of bool
        True inside the break.
    m : int
        Season length.

    Returns
    -------
    ndarray
        A copy of ``y`` with the break periods replaced.
    """
    if not mask.any():
        return y
    idx = np.flatnonzero(mask)
    first, last = idx[0], idx[-1]
    if first < max(m, 2):
        return y
    z = np.log1p(np.asarray(y, dtype=float))
    pre = z[:first]
    if m > 1 and len(pre) >= 2 * m:
        prof = np.zeros(m)
        tail = pre[-(len(pre) // m) * m:].reshape(-1, m)
        prof_cycle = (tail - tail.mean(axis=1, keepdims=True)).mean(axis=0)
        start_phase = (first - (len(pre) // m) * m) % m  # phase of z[first] within the cycles above
        prof = np.roll(prof_cycle, -start_phase)  # prof[j] = profile of phase first+j
    else:
        prof = np.zeros(max(m, 1))
    season = lambda t: prof[(t - first) % len(prof)]  # noqa: E731 - tiny local helper
    level_pre = np.mean(pre[-m:] - season(np.arange(first - m, first))) if m > 1 else pre[-1]
    post_idx = np.arange(last + 1, len(z))
    if len(post_idx):
        take = post_idx[: max(m // 4, 1) if m > 1 else 1]
        level_post = np.mean(z[take] - season(take))
    else:
        level_post = level_pre
    t = np.arange(first, last + 1)
    frac = (t - first + 1) / (last - first + 2)
    out = z.copy()
    out[t] = level_pre + frac * (level_post - level_pre) + season(t)
    return np.expm1(out)


def _robust_profile(z: np.ndarray, m: int, cycles: int = 5) -> np.ndarray:
    """Seasonal indices by absolute phase (``t % m``): the median of the last demeaned cycles.

    Before a declared break the last cycle often holds its onset (arrivals fell in
    February-March 2020, the COVID break is declared from April): a median over up
    to ``cycles`` cycles ignores one disturbed year, where a recency-weighted mean
    (:func:`~riskmodel.core.forecasting.models.seasonal_profile`) would keep it.
    """
    n = len(z)
    k = min(n // m, cycles)
    if k < 1:
        return np.zeros(m)
    block = z[n - k * m :].reshape(k, m)
    block = block - np.median(block, axis=1, keepdims=True)
    idx = np.empty(m)
    idx[np.arange(n - m, n) % m] = np.median(block, axis=0)
    return idx - idx.mean()


def rebase_break(y: np.ndarray, mask: np.ndarray, m: int) -> np.ndarray:
    """Put the history before a declared break at the level of the regime after it.

    The break is a change of regime, not a gap to bridge: after it, arrivals run at
    a new level and recover at their own pace, while the seasonal shape is still
    the one learned before it. On the log scale, the seasonal profile of the
    pre-break history (the median of its last cycles) deseasonalises the
    first months of the new regime (the periods after the break or, when the history
    ends inside it, its last ``m // 2`` periods); their level becomes the level of
    the whole earlier history: the pre-break history is shifted to it and the
    break periods before the regime are filled with it plus the profile. Models
    then learn the seasons from the long history and the level and trend (the
    recovery) from the periods after the break, and a collapse and rebound is no
    longer a multi-year decline.

    Parameters
    ----------
    y : ndarray
        Counts, oldest first.
    mask : ndarray of bool
        True inside the break.
    m : int
        Season length.

    Returns
    -------
    ndarray
        A copy of ``y`` rebased; ``y`` itself when there is no break or fewer than
        two seasons (two periods for ``m = 1``) before it.
    """
    if not mask.any():
        return y
    idx = np.flatnonzero(mask)
    first, last = idx[0], idx[-1]
    if first < max(2 * m, 2):
        return y
    z = np.log1p(np.asarray(y, dtype=float))
    prof = _robust_profile(z[:first], m) if m > 1 else np.zeros(1)
    season = lambda t: prof[np.asarray(t) % len(prof)]  # noqa: E731 - profile index is the absolute period mod m
    tail = np.arange(first - max(m, 1), first)
    level_pre = float(np.mean(z[tail] - season(tail)))
    if last + 1 < len(z):
        regime = np.arange(last + 1, len(z))
    else:
        regime = np.arange(max(first, len(z) - max(m // 2, 1)), len(z))
    anchor_idx = regime[: max(m // 4, 1)]
    anchor = float(np.mean(z[anchor_idx] - season(anchor_idx)))
    out = z.copy()
    out[:first] = z[:first] - level_pre + anchor
    gap = np.arange(first, regime[0])
    out[gap] = anchor + season(gap)
    return np.expm1(out)


def _adjusted_after_break(y: np.ndarray, mask: np.ndarray, m: int, h: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A rebased series deseasonalised with its pre-break profile, and that profile over the horizon.

    After a break the last cycles mix the recovery with the seasons, so a local
    model that estimated its own seasonal profile there would learn the recovery
    as seasonality; given the pre-break profile it fits the level (and the trend
    of the recovery) only. ``(y, None)`` when there is no usable break.
    """
    if not mask.any() or np.flatnonzero(mask)[0] < 2 * m:
        return y, None
    first = int(np.flatnonzero(mask)[0])
    z = np.log1p(np.asarray(y, dtype=float))
    prof = _robust_profile(z[:first], m)
    n = len(z)
    adjusted = np.expm1(z - prof[np.arange(n) % m])
    return np.clip(adjusted, 0.0, None), prof[np.arange(n, n + h) % m]


def _rhos(m: int) -> np.ndarray:
    """Recovery rates tried (the share of the gap left after a period): half-lives from one period to
    ten seasons, log-spaced so that daily and weekly series get rates as fine near 1 as monthly ones, and 1."""
    half_lives = np.geomspace(1, 10 * max(m, 1), 60)
    return np.append(0.5 ** (1 / half_lives), 1.0)


def _recovery_fit(y: np.ndarray, mask: np.ndarray, m: int) -> tuple[np.ndarray, float, float, float] | None:
    """Profile, pre-break level, gap at the last period and monthly rate of a recovery after a break.

    On the log scale, the gap is the pre-break level (deseasonalised, last season
    before the break) minus the deseasonalised periods after the break; it is fitted
    by least squares as ``g * rho ** (t - last)`` (an intervention whose effect
    decays geometrically, Box and Tiao 1975) with ``rho`` on a grid of half-lives
    from one period to ten seasons, or 1 (a permanent level shift). None when there is no usable break, fewer than
    three periods after it, or no gap to close (the level is back).
    """
    if not mask.any() or m <= 1:
        return None
    idx = np.flatnonzero(mask)
    first, last = int(idx[0]), int(idx[-1])
    n = len(y)
    if first < 2 * m or n - 1 - last < 3:
        return None
    z = np.log1p(np.asarray(y, dtype=float))
    prof = _robust_profile(z[:first], m)
    tail = np.arange(first - m, first)
    level_pre = float(np.mean(z[tail] - prof[tail % m]))
    post = np.arange(last + 1, n)
    gap = level_pre - (z[post] - prof[post % m])
    age = (post - (n - 1)).astype(float)  # <= 0: periods before the last one
    rhos = _rhos(m)
    w = rhos[:, None] ** age[None, :]
    g = (w @ gap) / np.einsum("ij,ij->i", w, w)
    sse = ((gap[None, :] - g[:, None] * w) ** 2).sum(axis=1)
    best = int(np.argmin(sse))
    if g[best] <= 0:
        return None
    return prof, level_pre, float(g[best]), float(rhos[best])


def recover_break(y: np.ndarray, mask: np.ndarray, m: int) -> np.ndarray:
    """Lift the recovery after a declared break back to the pre-break regime (intervention model).

    The gap between the pre-break level and the periods after the break is fitted
    as a geometric decay (:func:`_recovery_fit`); the periods after the break get
    that fitted gap added back, the break periods the pre-break level plus its
    seasonal profile, and the history before the break is kept. Models then learn
    seasons, level and trend from one regime, and :func:`recovery_offset` takes the
    part of the gap still open off their forecasts: the recovery continues at the
    pace it showed, toward the level before the break. Without a recovery to fit
    (the history ends inside the break or less than three periods after it, or the
    level is back), this is :func:`rebase_break`.

    Parameters
    ----------
    y : ndarray
        Counts, oldest first.
    mask : ndarray of bool
        True inside the break.
    m : int
        Season length.

    Returns
    -------
    ndarray
        A copy of ``y`` lifted (or rebased, see above).
    """
    fit = _recovery_fit(y, mask, m)
    if fit is None:
        return rebase_break(y, mask, m)
    prof, level_pre, g, rho = fit
    idx = np.flatnonzero(mask)
    first, last = idx[0], idx[-1]
    z = np.log1p(np.asarray(y, dtype=float))
    n = len(z)
    out = z.copy()
    gap = np.arange(first, last + 1)
    out[gap] = level_pre + prof[gap % m]
    post = np.arange(last + 1, n)
    out[post] = z[post] + g * rho ** (post - (n - 1))
    return np.expm1(out)


def recovery_offset(y: np.ndarray, mask: np.ndarray, m: int, h: int) -> np.ndarray:
    """Log-scale offset of the ``h`` forecast periods of a series lifted by :func:`recover_break`.

    ``-g * rho ** k`` at step ``k``: the part of the gap to the pre-break level still
    open then. Zeros when :func:`recover_break` rebased instead.
    """
    fit = _recovery_fit(y, mask, m)
    if fit is None:
        return np.zeros(h)
    _, _, g, rho = fit
    return -g * rho ** np.arange(1, h + 1)


def scaled_history(y: np.ndarray, mask: np.ndarray, m: int, method: str) -> np.ndarray:
    """The history whose variation sets a series' interval scale (:func:`~riskmodel.core.forecasting.intervals.log_scale`).

    With ``recover``, the lifted series of :func:`recover_break`: after the break its
    month-to-month variation is the noise around the fitted recovery, which the
    forecast's errors follow, not the recovery itself, which the forecast already
    holds (on the BPS series it halved the scale of Batam and Ngurah Rai in 2022).
    Otherwise ``y`` itself.
    """
    if method != "recover" or _recovery_fit(y, mask, m) is None:
        return y
    return recover_break(y, mask, m)


#: How a declared break is handled: see :func:`impute_break`, :func:`rebase_break` and :func:`recover_break`.
BREAK_METHODS = {"impute": impute_break, "rebase": rebase_break, "recover": recover_break}
#: Break methods that learn the level after a break from the periods after it (seasons from before it).
_AFTER_BREAK = ("rebase", "recover")


def _event_ratios(ds: pd.DatetimeIndex, y: np.ndarray, cal: pd.DataFrame, events: Sequence[str]) -> dict[str, float]:
    """Median ratio of arrivals on an event day to the same weekday in the weeks around it."""
    out = {}
    s = pd.Series(y, index=ds)
    for ev in events:
        if ev not in cal:
            continue
        days = ds[cal[ev].to_numpy() > 0]
        flagged = set(days)
        ratios = []
        for d in days:
            around = [d + pd.Timedelta(days=7 * k) for k in (-3, -2, 2, 3)]
            ref = [s[a] for a in around if a in s.index and a not in flagged]
            if len(ref) >= 2 and np.mean(ref) > 0:
                ratios.append((s[d] + 0.5) / (np.mean(ref) + 0.5))
        if ratios:
            out[ev] = float(np.median(ratios))
    return out


def _young_regimes(histories: dict[str, tuple[pd.DatetimeIndex, np.ndarray]], settings: RunSettings) -> list[str]:
    """Series whose history ends inside a declared break or less than one season after it.

    The global model forecasts a ratio to the mean of the last season; in a regime
    younger than one season that mean mixes the break with the recovery and lags
    it, so these series take the mean of the local models instead (on the 2022
    BPS holdout, trained through 2021-12 inside the COVID break, LightGBM was the
    worst of the four default models).
    """
    if settings.break_method not in _AFTER_BREAK or not settings.breaks:
        return []
    out = []
    for uid, (ds, _) in histories.items():
        mask = in_break(ds, settings.breaks)
        if mask.any() and len(mask) - 1 - int(np.flatnonzero(mask)[-1]) < settings.m:
            out.append(uid)
    return out


def _handle_break(y: np.ndarray, mask: np.ndarray, h: int, settings: RunSettings) -> tuple[np.ndarray, np.ndarray | None]:
    """A history as the models see it (its declared breaks handled) and, with ``recover``, the log offset of its forecast."""
    off = recovery_offset(y, mask, settings.m, h) if settings.break_method == "recover" and mask.any() else None
    return BREAK_METHODS[settings.break_method](y, mask, settings.m), off


def _continue_recoveries(forecasts: dict[str, dict[str, np.ndarray]], offsets: dict[str, np.ndarray | None]) -> None:
    """Take the part of each recovery still open (:func:`recovery_offset`) off every model's forecast, in place."""
    for uid, off in offsets.items():
        if off is not None and np.any(off):
            for name in forecasts:
                forecasts[name][uid] = np.clip((1 + forecasts[name][uid]) * np.exp(off) - 1, 0.0, None)


#: The local model whose seasonal indices are pooled across the series of a run (:func:`_pooled_groups`).
POOLED = "ets_pooled"


def _pooled_groups(tasks: list, positions: dict[str, np.ndarray], m: int, h: int) -> dict[str, np.ndarray]:
    """Each series' group seasonal index at every period of its history and horizon, for ``ets_pooled``.

    The group of a series is every other series of the run with at least one complete
    cycle and its own seasons (not fixed from before a break): the equal-weight mean of
    their :func:`~riskmodel.core.forecasting.models.seasonal_profile` indices (log scale)
    by calendar phase (season position mod ``m``), leaving the series itself out so that
    its own noise is not in the target it is shrunk toward. Series with no such other
    series get no group (their ``ets_pooled`` is then the mean of the other models).
    """
    from riskmodel.core.forecasting.models import seasonal_profile

    own: dict[str, np.ndarray] = {}
    for uid, y, _x, _xf, season in tasks:
        n = len(y)
        if season is None and m > 1 and n >= m:
            prof = seasonal_profile(np.log1p(np.asarray(y, dtype=float)), m)
            by_phase = np.zeros(m)
            by_phase[positions[uid][n - m : n] % m] = prof[np.arange(n - m, n) % m]
            own[uid] = by_phase
    if not own:
        return {}
    total, count = np.sum(list(own.values()), axis=0), len(own)
    out = {}
    for uid, y, _x, _xf, season in tasks:
        if season is not None or m <= 1:
            continue
        rest = count - (uid in own)
        if rest < 1:
            continue
        group = (total - own.get(uid, 0.0)) / rest
        out[uid] = group[positions[uid][: len(y) + h] % m]
    return out


def _fill_unpooled(forecasts: dict[str, dict[str, np.ndarray]]) -> None:
    """``ets_pooled`` where it had no group: the mean of the other models, which leaves the ``mean`` combination as it was."""
    if POOLED not in forecasts:
        return
    others = [n for n in forecasts if n != POOLED]
    for uid in forecasts[others[0]] if others else ():
        if uid not in forecasts[POOLED]:
            forecasts[POOLED][uid] = np.mean([forecasts[n][uid] for n in others], axis=0)


def _lgbm_calendars(cals: dict, histories: dict, future: dict, freq: str) -> dict[str, np.ndarray]:
    """The global model's calendar regressors per series (daily: without the moving events, with day of year and month)."""
    drop = set(MOVING_EVENTS) if freq == "D" else set()
    out = {}
    for uid, cal in cals.items():
        mat = cal[[c for c in cal.columns if c not in drop]].to_numpy()
        if freq == "D":
            allds = pd.DatetimeIndex(histories[uid][0]).append(future[uid])
            mat = np.column_stack([mat, allds.day_of_year.to_numpy(), allds.month.to_numpy()])
        out[uid] = mat
    return out


def _local_batch(batch, names, h, m):
    from threadpoolctl import threadpool_limits

    results = []
    # One BLAS thread: these fits are tiny, and BLAS threads spinning on a busy machine
    # made statsmodels fits ~5x slower (workers run in parallel already).
    with threadpool_limits(limits=1):
        for uid, y, x, xf, season, group, yearly in batch:
            row = {}
            for name in names:
                if name == POOLED and (season is not None or group is None):
                    continue  # nothing to pool: filled in by _fill_unpooled
                if season is None:
                    row[name] = fit_local(name, y, h, m, x=x, x_future=xf, group=group, yearly=yearly)
                else:  # seasons fixed from before a break: the model sees only the level
                    fc, reason = fit_local(name, y, h, 1, x=x, x_future=xf)
                    row[name] = (np.clip((1 + fc) * np.exp(season) - 1, 0.0, None), reason)
            results.append((uid, row))
    return results


def run_models(
    histories: dict[str, tuple[pd.DatetimeIndex, np.ndarray]],
    h: int,
    settings: RunSettings,
) -> tuple[dict[str, dict[str, np.ndarray]], pd.DatetimeIndex | dict[str, pd.DatetimeIndex], list[tuple[str, str, str]]]:
    """Forecast ``h`` periods of every series with every model.

    Parameters
    ----------
    histories : dict of str to (DatetimeIndex, ndarray)
        Per series, its complete period starts and counts.
    h : int
        Horizon.
    settings : RunSettings

    Returns
    -------
    forecasts : dict of str to dict of str to ndarray
        ``forecasts[model][unique_id]``: ``h`` point forecasts (>= 0).
    future : dict of str to DatetimeIndex
        The ``h`` forecast periods of each series.
    fallbacks : list of (model, unique_id, reason)
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    freq, m = settings.freq, settings.m
    offset = pd.tseries.frequencies.to_offset(FREQS[freq])
    local = [n for n in settings.models if n not in GLOBAL_MODELS]
    events = settings.events
    prepared, future, cals, positions, offsets = {}, {}, {}, {}, {}
    cal_cache: dict[tuple[pd.Timestamp, int], pd.DataFrame] = {}  # series share spans: compute each once
    for uid, (ds, y) in histories.items():
        ds = pd.DatetimeIndex(ds)
        fut = pd.date_range(ds[-1] + offset, periods=h, freq=FREQS[freq])
        future[uid] = fut
        prepared[uid], offsets[uid] = _handle_break(np.asarray(y, dtype=float), in_break(ds, settings.breaks), h, settings)
        allds = ds.append(fut)
        key = (allds[0], len(allds))
        if key not in cal_cache:
            cal_cache[key] = calendar_features(allds, freq, events)
        cals[uid] = cal_cache[key]
        positions[uid] = season_positions(allds, freq)
    needs_x = "sarimax" in local or "lgbm" in settings.models
    tasks = []
    for uid, y in prepared.items():
        x = xf = None
        if needs_x and cals[uid].shape[1]:
            mat = cals[uid].to_numpy()
            x, xf = mat[: len(y)], mat[len(y):]
        season = None
        if settings.break_method in _AFTER_BREAK and m > 1:
            y, season = _adjusted_after_break(y, in_break(histories[uid][0], settings.breaks), m, h)
        tasks.append((uid, y, x, xf, season))
    groups = _pooled_groups(tasks, positions, m, h) if POOLED in local else {}
    tasks = [(*t, groups.get(t[0]), _yearly(pd.DatetimeIndex(histories[t[0]][0]), settings)) for t in tasks]
    forecasts: dict[str, dict[str, np.ndarray]] = {n: {} for n in settings.models}
    fallbacks: list[tuple[str, str, str]] = []
    if local:
        n_batches = max(1, min(len(tasks), 4 * max(settings.n_jobs, 1) if settings.n_jobs != 1 else len(tasks) // 20 + 1))
        batches = [tasks[i::n_batches] for i in range(n_batches)]
        bar = tqdm(total=len(tasks), desc=f"local models ({', '.join(local)})", disable=not settings.progress, leave=False)
        if settings.n_jobs == 1:
            chunks = (_local_batch(b, local, h, m) for b in batches)
        else:
            chunks = Parallel(n_jobs=settings.n_jobs, return_as="generator_unordered")(
                delayed(_local_batch)(b, local, h, m) for b in batches
            )
        for chunk in chunks:
            for uid, row in chunk:
                for name, (fc, reason) in row.items():
                    forecasts[name][uid] = fc
                    if reason is not None:
                        fallbacks.append((name, uid, reason))
            bar.update(len(chunk))
        bar.close()
    if "lgbm" in settings.models:
        forecasts["lgbm"] = lgbm_forecast(
            prepared, positions, h, m, calendar=_lgbm_calendars(cals, histories, future, freq), seed=settings.seed, n_jobs=max(settings.n_jobs, 1)
        )
        for uid in _young_regimes(histories, settings) if local else ():
            forecasts["lgbm"][uid] = np.mean([forecasts[n][uid] for n in local if uid in forecasts[n]], axis=0)
    _fill_unpooled(forecasts)
    _continue_recoveries(forecasts, offsets)
    if freq == "D":
        for uid, (ds, y) in histories.items():
            ratios = _event_ratios(pd.DatetimeIndex(ds), prepared[uid], cals[uid].iloc[: len(y)].set_index(pd.DatetimeIndex(ds)), MOVING_EVENTS)
            if not ratios:
                continue
            fut_cal = cals[uid].iloc[len(y):]
            factor = np.ones(h)
            for ev, r in ratios.items():
                if ev in fut_cal:
                    factor = np.where(fut_cal[ev].to_numpy() > 0, factor * r, factor)
            for name in forecasts:
                forecasts[name][uid] = forecasts[name][uid] * factor
    return forecasts, future, fallbacks


def warn_fallbacks(fallbacks: list[tuple[str, str, str]], *, stacklevel: int = 3) -> None:
    """Emit one FallbackWarning per model summarising its fallbacks."""
    by_model: dict[str, list[tuple[str, str]]] = {}
    for model, uid, reason in fallbacks:
        by_model.setdefault(model, []).append((uid, reason))
    for model, items in by_model.items():
        shown = "; ".join(f"{uid}: {reason}" for uid, reason in items[:3])
        more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
        warnings.warn(
            f"model `{model}` fell back to seasonal naive on {len(items)} series: {shown}{more}. "
            "Silence with warnings.filterwarnings('ignore', category=riskmodel.FallbackWarning).",
            FallbackWarning,
            stacklevel=stacklevel,
        )
