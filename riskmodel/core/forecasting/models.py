"""Forecasting models: local per-series models and a LightGBM global model.

All models work on ``z = log1p(y)``, so that seasonality is multiplicative in
arrivals, and their point forecasts come back as ``expm1(z_hat)`` clipped at 0.
Intervals are not the models' business: :mod:`riskmodel.core.forecasting.intervals`
calibrates them on backtest errors.

Local models (one series at a time, see :data:`LOCAL_MODELS`):

``snaive``
    Seasonal naive: the last season repeated (the baseline every model must beat).
``ets``
    Additive-error ETS on the log scale, chosen by AICc among {no trend, damped
    trend}, on the seasonally adjusted series, fitted over a parameter grid in numpy.
``ets_pooled``
    ``ets`` with its seasonal indices shrunk (James-Stein) toward those of the other
    series of the fit: for short histories, where one series' seasons are noisy.
``theta``
    The Theta method (SES with drift) on the seasonally adjusted series.
``ets_statsmodels``, ``theta_statsmodels``
    The same two models fitted by statsmodels (``ETSModel``, ``ThetaModel``): exact
    likelihood, ~50x slower; opt in.
``sarimax``
    Airline model SARIMA(0,1,1)(0,1,1)m with the calendar regressors as exogenous
    variables (slower; opt in).
``mstl``
    For daily data: MSTL with weekly and (given more than two years) yearly seasonality, the
    seasonally adjusted series forecast with a damped-trend ETS, each seasonal
    component repeated from its last cycle. A :class:`~riskmodel.core.forecasting.Forecaster` decides the yearly
    period once per series and fit, on the history up to its earliest backtest cutoff,
    so that its backtests score the model it serves.

The global model ``lgbm`` (:func:`lgbm_forecast`) learns, across all series at once,
the log ratio of a future period to the mean of the last season, from the same
ratio one season before, recent momentum, the season position, the horizon and
the calendar regressors.

A model that raises, returns non-finite values or explodes (a forecast above
``EXPLOSION`` times the largest value seen) falls back to ``snaive`` (to
``naive`` for a series shorter than one season); the fallback is reported to the
caller, which warns with :class:`~riskmodel.core.exceptions.FallbackWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["LOCAL_MODELS", "GLOBAL_MODELS", "EXPLOSION", "fit_local", "lgbm_forecast"]

#: A forecast above this multiple of the series' maximum counts as an explosion.
EXPLOSION = 5.0


def _tile_last(z: np.ndarray, h: int, m: int) -> np.ndarray:
    if len(z) < m or m <= 1:
        return np.repeat(z[-1], h)
    last = z[-m:]
    return np.resize(last, h)


def snaive(z: np.ndarray, h: int, m: int, **_: object) -> np.ndarray:
    """Seasonal naive on the log scale (identical to seasonal naive on counts)."""
    return _tile_last(z, h, m)


def seasonal_profile(z: np.ndarray, m: int, *, decay: float = 0.5) -> np.ndarray:
    """Additive seasonal indices of ``z`` by phase (index ``j`` is the phase of ``z[j]``), summing to 0.

    Each complete cycle counted back from the end is demeaned; the indices are the
    weighted mean of these cycles with weight ``decay ** age`` (the last cycle
    weighs most, as the seasonal smoothing of Holt-Winters does), so that one
    disturbed year (an eruption, a break) fades instead of staying in the profile.
    Zeros when the series is shorter than one cycle.
    """
    n = len(z)
    if m <= 1 or n < m:
        return np.zeros(max(m, 1))
    k = n // m
    cycles = z[n - k * m:].reshape(k, m)
    cycles = cycles - cycles.mean(axis=1, keepdims=True)
    w = decay ** np.arange(k)[::-1]
    prof_cycle = (w[:, None] * cycles).sum(axis=0) / w.sum()
    idx = np.empty(m)
    idx[np.arange(n - m, n) % m] = prof_cycle
    return idx - idx.mean()


def _deseasonalised(z: np.ndarray, h: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    prof = seasonal_profile(z, m)
    n = len(z)
    return z - prof[np.arange(n) % len(prof)], prof[np.arange(n, n + h) % len(prof)]


# Parameter grids of the exponential-smoothing models, searched in one vectorised pass:
# exact optimisation (statsmodels' L-BFGS) costs ~50x more for a loss within noise.
_ALPHAS = np.round(np.linspace(0.05, 0.95, 19), 2)
_HOLT = np.array(
    [(a, b, phi) for a in _ALPHAS for b in (0.01, 0.05, 0.1, 0.2) for phi in (0.8, 0.9, 0.98) if b <= a]
)


def _initial_level_slope(z: np.ndarray) -> tuple[float, float]:
    k = min(len(z), 6)
    if k < 2:
        return float(z[0]), 0.0
    slope, intercept = np.polyfit(np.arange(k), z[:k], 1)
    return float(intercept), float(slope)


def _ses_grid(z: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SSE of one-step errors and final level of simple exponential smoothing, per alpha."""
    level = np.full(alphas.shape, _initial_level_slope(z)[0])
    sse = np.zeros(alphas.shape)
    for t in range(len(z)):
        e = z[t] - level
        sse += e * e
        level = level + alphas * e
    return sse, level


def _damped_grid(z: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SSE, final level and slope of damped-trend (additive) exponential smoothing, per (alpha, beta, phi)."""
    a, b, phi = params[:, 0], params[:, 1], params[:, 2]
    l0, b0 = _initial_level_slope(z)
    level, slope = np.full(a.shape, l0), np.full(a.shape, b0)
    sse = np.zeros(a.shape)
    for t in range(len(z)):
        f = level + phi * slope
        e = z[t] - f
        sse += e * e
        level = f + a * e
        slope = phi * slope + b * e
    return sse, level, slope


def _aicc(sse: float, n: int, k: int) -> float:
    if n - k - 1 <= 0:
        return np.inf
    return n * np.log(max(sse, 1e-12) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def ets(z: np.ndarray, h: int, m: int, **_: object) -> np.ndarray:
    """ETS(A,N) or ETS(A,Ad) on the seasonally adjusted log series, chosen by AICc.

    Additive-error exponential smoothing, no trend (2 parameters with the initial
    level) or damped additive trend (5), fitted by least squares over a grid of
    smoothing and damping parameters; AICc picks between the two. The seasonal
    indices come from :func:`seasonal_profile` (recent cycles weigh most) and are
    added back to the forecast. Adjusting first keeps every fit small: fast on
    thousands of series and stable on two-year histories, where a full seasonal ETS
    has more states than observations allow. ``ets_statsmodels`` is the same model
    fitted by statsmodels' ``ETSModel`` (exact likelihood, ~50x slower).
    """
    adjusted, future_season = _deseasonalised(z, h, m)
    return _ets_adjusted(adjusted, future_season, h)


def _ets_adjusted(adjusted: np.ndarray, future_season: np.ndarray, h: int) -> np.ndarray:
    """:func:`ets`'s level and trend (SES or damped trend by AICc) on a seasonally adjusted log series."""
    n = len(adjusted)
    if n < 3:
        raise ValueError("series too short for ETS")
    sse_n, level_n = _ses_grid(adjusted, _ALPHAS)
    i = int(np.argmin(sse_n))
    best = (_aicc(sse_n[i], n, 2), np.full(h, level_n[i]))
    if n >= 8:
        sse_d, level_d, slope_d = _damped_grid(adjusted, _HOLT)
        j = int(np.argmin(sse_d))
        phi = _HOLT[j, 2]
        damp = np.cumsum(phi ** np.arange(1, h + 1))
        cand = (_aicc(sse_d[j], n, 5), level_d[j] + damp * slope_d[j])
        if cand[0] < best[0]:
            best = cand
    return best[1] + future_season


def shrunk_profile(z: np.ndarray, m: int, group: np.ndarray) -> tuple[np.ndarray, float]:
    """Seasonal indices of ``z`` shrunk toward a group's, per period of the history and horizon, and the own weight.

    ``group`` holds the group's additive (log-scale) index of every period of the history
    followed by the horizon. The series' own indices are :func:`seasonal_profile`'s; their
    noise variance comes from how its complete cycles (``k`` of them, demeaned) differ month by
    month, ``(k - 1)(m - 1)`` degrees of freedom, times the cycle weights' ``sum(w**2) / sum(w)**2``.
    The weight on the own indices is the positive-part James-Stein factor
    ``max(0, 1 - (m - 3) * var / ||own - group||**2)`` (``m - 1`` free indices): a series whose
    pattern differs from the group's by much more than its noise keeps its own, a noisy one
    takes the group's. With fewer than two cycles there is no noise estimate and the weight is 0.
    (Shrinking seasonal indices toward a group's: Withycombe 1989; Miller and Williams 2003.)
    """
    n, decay = len(z), 0.5
    k = n // m if m > 1 else 0
    if k < 1:
        return np.asarray(group, dtype=float), 0.0
    own = seasonal_profile(z, m, decay=decay)[np.arange(len(group)) % m]
    weight = 0.0
    if k >= 2:
        cycles = z[n - k * m:].reshape(k, m)
        cycles = cycles - cycles.mean(axis=1, keepdims=True)
        sigma2 = float(((cycles - cycles.mean(axis=0)) ** 2).sum()) / ((k - 1) * (m - 1))
        w = decay ** np.arange(k)
        var = sigma2 * float((w**2).sum()) / float(w.sum()) ** 2
        dist2 = float(((own[:m] - group[:m]) ** 2).sum())
        weight = max(0.0, 1.0 - (m - 3) * var / dist2) if dist2 > 0 else 1.0
    return group + weight * (own - group), weight


def ets_pooled(z: np.ndarray, h: int, m: int, *, group: np.ndarray | None = None, **_: object) -> np.ndarray:
    """:func:`ets` with seasonal indices shrunk toward a group's (:func:`shrunk_profile`).

    On short histories (two years of a monthly series) a series' own seasonal indices are
    noisy; the group (the other series of the same fit, see
    :func:`~riskmodel.core.forecasting.engine.run_models`) estimates a season from many.
    Level and trend are :func:`ets`'s, on the series adjusted by the shrunk indices. Without
    a group, :func:`ets` itself.
    """
    if group is None or m <= 1:
        return ets(z, h, m)
    season, _ = shrunk_profile(z, m, np.asarray(group, dtype=float))
    n = len(z)
    return _ets_adjusted(z - season[:n], season[n : n + h], h)


def theta(z: np.ndarray, h: int, m: int, **_: object) -> np.ndarray:
    """Theta method (SES with half the linear-trend drift) on the seasonally adjusted log series.

    Forecast ``l_n + b/2 * (k - 1 + 1/a - (1 - a)^n / a)`` for step ``k``, with ``b`` the
    least-squares slope and ``a`` the SES smoothing parameter chosen by least
    squares over a grid (the formula of Hyndman & Billah, 2003, as in statsmodels'
    ``ThetaModel``; ``theta_statsmodels`` fits that class).
    """
    adjusted, future_season = _deseasonalised(z, h, m)
    n = len(adjusted)
    if n < 3:
        raise ValueError("series too short for Theta")
    sse, level = _ses_grid(adjusted, _ALPHAS)
    i = int(np.argmin(sse))
    a = _ALPHAS[i]
    b0 = np.polyfit(np.arange(n), adjusted, 1)[0]
    k = np.arange(1, h + 1)
    return level[i] + 0.5 * b0 * (k - 1 + 1 / a - (1 - a) ** n / a) + future_season


def ets_statsmodels(z: np.ndarray, h: int, m: int, **_: object) -> np.ndarray:
    """statsmodels ETSModel, {no trend, damped trend} by AICc, on the seasonally adjusted log series."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    adjusted, future_season = _deseasonalised(z, h, m)
    best, best_aicc = None, np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend, damped in ((None, False), ("add", True)):
            try:
                res = ETSModel(adjusted, error="add", trend=trend, damped_trend=damped).fit(disp=False, maxiter=200)
            except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
                continue
            if np.isfinite(res.aicc) and res.aicc < best_aicc:
                best, best_aicc = res, res.aicc
        if best is None:
            raise RuntimeError("no ETS candidate could be fitted")
        return np.asarray(best.forecast(h), dtype=float) + future_season


def theta_statsmodels(z: np.ndarray, h: int, m: int, **_: object) -> np.ndarray:
    """statsmodels ThetaModel (SES with drift) on the seasonally adjusted log series."""
    from statsmodels.tsa.forecasting.theta import ThetaModel

    adjusted, future_season = _deseasonalised(z, h, m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ThetaModel(adjusted, period=1, deseasonalize=False, method="additive").fit()
        return np.asarray(res.forecast(h), dtype=float) + future_season


def sarimax(z: np.ndarray, h: int, m: int, *, x: np.ndarray | None = None, x_future: np.ndarray | None = None, **_: object) -> np.ndarray:
    """Airline SARIMA(0,1,1)(0,1,1)m with calendar regressors, on the log scale."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    if x is not None:
        keep = np.ptp(x, axis=0) > 0
        x, x_future = (x[:, keep], x_future[:, keep]) if keep.any() else (None, None)
    seasonal = (0, 1, 1, m) if m > 1 and len(z) >= 2 * m + 2 else (0, 0, 0, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SARIMAX(z, exog=x, order=(0, 1, 1), seasonal_order=seasonal).fit(disp=False, maxiter=100)
        return np.asarray(res.forecast(h, exog=x_future), dtype=float)


#: The yearly period of daily series (``mstl``).
YEARLY = 365


def mstl(z: np.ndarray, h: int, m: int, *, yearly: int = YEARLY, **_: object) -> np.ndarray:
    """MSTL (weekly, + yearly given more than two years) + damped ETS on the adjusted series."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.seasonal import MSTL, STL

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # statsmodels' MSTL keeps a period only below nobs / 2: on exactly two years it dropped the yearly one
        # this list still held, and the second seasonal column indexed here did not exist
        periods = [p for p in (m, yearly) if p > 1 and len(z) > 2 * p]
        if not periods:
            raise ValueError("series too short for MSTL")
        if len(periods) == 1:
            fit = STL(z, period=periods[0], robust=True).fit()
            seasonals = np.asarray(fit.seasonal)[:, None]
        else:
            fit = MSTL(z, periods=periods).fit()
            seasonals = np.asarray(fit.seasonal).reshape(len(z), -1)
        adjusted = z - seasonals.sum(axis=1)
        res = ETSModel(adjusted, error="add", trend="add", damped_trend=True).fit(disp=False, maxiter=200)
        out = np.asarray(res.forecast(h), dtype=float)
        for j, p in enumerate(periods):
            out += np.resize(seasonals[-p:, j], h)
        return out


#: Local models by name: ``f(z, h, m, *, x=None, x_future=None) -> z_hat``.
LOCAL_MODELS: dict[str, Callable[..., np.ndarray]] = {
    "snaive": snaive,
    "ets": ets,
    "ets_pooled": ets_pooled,
    "theta": theta,
    "ets_statsmodels": ets_statsmodels,
    "theta_statsmodels": theta_statsmodels,
    "sarimax": sarimax,
    "mstl": mstl,
}
#: Models fitted across all series at once.
GLOBAL_MODELS = ("lgbm",)


def _check(zhat: np.ndarray, z: np.ndarray, h: int) -> str | None:
    if zhat.shape != (h,):
        return f"returned shape {zhat.shape} instead of ({h},)"
    if not np.all(np.isfinite(zhat)):
        return "returned non-finite values"
    if np.max(zhat) > np.max(z) + np.log(EXPLOSION):
        return f"exploded (forecast above {EXPLOSION:g}x the largest value seen)"
    return None


def fit_local(
    name: str,
    y: np.ndarray,
    h: int,
    m: int,
    *,
    x: np.ndarray | None = None,
    x_future: np.ndarray | None = None,
    group: np.ndarray | None = None,
    yearly: int = YEARLY,
) -> tuple[np.ndarray, str | None]:
    """Fit local model ``name`` on one series of counts and forecast ``h`` periods.

    Parameters
    ----------
    name : str
        A key of :data:`LOCAL_MODELS`.
    y : ndarray of float
        History (counts >= 0), oldest first.
    h : int
        Horizon.
    m : int
        Season length.
    x, x_future : ndarray, optional
        Calendar regressors of the history and the horizon (rows x features).
    group : ndarray, optional
        A group's seasonal index of every period of the history and the horizon (``ets_pooled``).
    yearly : int, default=YEARLY
        The yearly period ``mstl`` fits given more than two of them (0: none).

    Returns
    -------
    forecast : ndarray of float
        ``h`` point forecasts, >= 0.
    fallback : str or None
        Why the model fell back to (seasonal) naive, or None when it did not.
    """
    z = np.log1p(np.asarray(y, dtype=float))
    reason = None
    try:
        zhat = np.asarray(LOCAL_MODELS[name](z, h, m, x=x, x_future=x_future, group=group, yearly=yearly), dtype=float)
        reason = _check(zhat, z, h)
    except Exception as exc:  # noqa: BLE001 - any failure of a third-party fit must fall back, not crash the run
        reason = f"failed ({type(exc).__name__}: {str(exc)[:80]})"
    if reason is not None:
        zhat = _tile_last(z, h, m)
    return np.clip(np.expm1(zhat), 0.0, None), reason


# ----------------------------------------------------------------------------- global model


def _lgbm_rows(z: np.ndarray, origins: np.ndarray, h: int, m: int, pos: np.ndarray, cal: np.ndarray | None, with_target: bool):
    """Feature rows for origins x horizons of one series (z on the log scale)."""
    n = len(z)
    csum = np.concatenate([[0.0], np.cumsum(z)])

    def level(t):  # mean of the m values ending at t (inclusive), NaN where too short
        t = np.asarray(t)
        ok = t - m + 1 >= 0
        out = np.full(t.shape, np.nan)
        out[ok] = (csum[t[ok] + 1] - csum[t[ok] - m + 1]) / m
        return out

    ks = np.arange(1, h + 1)
    T = np.repeat(origins, h)
    K = np.tile(ks, len(origins))
    target_t = T + K
    if with_target:
        keep = target_t < n
        T, K, target_t = T[keep], K[keep], target_t[keep]
    base = level(T)
    back = target_t - m * np.ceil(K / m).astype(int)  # same season position, last observed cycle
    back2 = back - m
    feats = {
        "k": K.astype(float),
        "pos": pos[target_t].astype(float),
        "last_cycle": z[np.clip(back, 0, n - 1)] - base,
        "prev_cycle": np.where(back2 >= 0, z[np.clip(back2, 0, n - 1)] - level(np.clip(T - m, 0, None)), np.nan),
        "momentum": base - level(T - m) if m > 1 else z[T] - z[np.clip(T - 1, 0, None)],
        "recent": z[T] - base,
        "level": base,
    }
    if cal is not None:
        for j in range(cal.shape[1]):
            feats[f"cal{j}"] = cal[target_t, j]
            feats[f"cal{j}_back"] = cal[np.clip(back, 0, None), j]
    X = np.column_stack(list(feats.values()))
    y = z[target_t] - base if with_target else None
    return X, y, base, T, K


def lgbm_forecast(
    series: dict[str, np.ndarray],
    positions: dict[str, np.ndarray],
    h: int,
    m: int,
    *,
    calendar: dict[str, np.ndarray] | None = None,
    max_rows: int = 400_000,
    seed: int = 0,
    n_jobs: int = 1,
) -> dict[str, np.ndarray]:
    """LightGBM global model across series, direct multi-horizon, on the log scale.

    Parameters
    ----------
    series : dict of str to ndarray
        History of each series (counts >= 0, oldest first).
    positions : dict of str to ndarray
        Season position (e.g. month 1-12 or weekday 0-6) of each period of the
        history followed by the ``h`` forecast periods.
    h, m : int
        Horizon and season length.
    calendar : dict of str to ndarray, optional
        Calendar regressors per series for the history followed by the horizon
        (rows x features).
    max_rows : int, default=400_000
        Training rows are subsampled (by forecast origin) above this size.
    seed : int, default=0
    n_jobs : int, default=1
        Threads LightGBM uses.

    Returns
    -------
    dict of str to ndarray
        ``h`` point forecasts (>= 0) per series; series shorter than ``m + 1``
        periods get seasonal naive.
    """
    import lightgbm as lgb

    min_len = m + 2
    total = sum(max(len(z) - m, 0) for z in series.values()) * h
    stride = max(1, int(np.ceil(total / max_rows)))
    Xs, ys = [], []
    logs = {uid: np.log1p(np.asarray(v, dtype=float)) for uid, v in series.items()}
    for uid, z in logs.items():
        if len(z) < min_len:
            continue
        origins = np.arange(len(z) - 2, m - 2, -stride)[::-1]
        origins = origins[origins >= m - 1]
        cal = calendar[uid] if calendar is not None else None
        X, y, *_ = _lgbm_rows(z, origins, h, m, positions[uid], cal, True)
        Xs.append(X)
        ys.append(y)
    out: dict[str, np.ndarray] = {}
    booster = None
    if Xs and sum(len(y) for y in ys) >= 50:
        X = np.vstack(Xs)
        y = np.concatenate(ys)
        params = dict(
            objective="l1", learning_rate=0.05, num_leaves=31, min_data_in_leaf=20,
            feature_fraction=0.9, bagging_fraction=0.9, bagging_freq=1, lambda_l2=1.0,
            seed=seed, num_threads=n_jobs, verbose=-1, deterministic=True, force_row_wise=True,
        )
        booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=300)
    rows, bases, owners = [], [], []
    for uid, z in logs.items():
        if booster is None or len(z) < min_len:
            out[uid] = np.clip(np.expm1(_tile_last(z, h, m)), 0.0, None)
            continue
        cal = calendar[uid] if calendar is not None else None
        zext = np.concatenate([z, np.full(h, np.nan)])
        X, _, base, _, _ = _lgbm_rows(zext, np.array([len(z) - 1]), h, m, positions[uid], cal, False)
        rows.append(X)
        bases.append(base)
        owners.append(uid)
    if rows:  # one predict call for all series: per-call overhead dominates small batches
        zhat = booster.predict(np.vstack(rows)) + np.concatenate(bases)
        for i, uid in enumerate(owners):
            out[uid] = np.clip(np.expm1(zhat[i * h : (i + 1) * h]), 0.0, None)
    return out


def season_positions(ds: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Season position of each period: month (1-12), ISO week (1-53) or weekday (0-6)."""
    ds = pd.DatetimeIndex(ds)
    if freq == "M":
        return ds.month.to_numpy()
    if freq == "W":
        return ds.isocalendar().week.to_numpy().astype(int)
    return ds.day_of_week.to_numpy()
