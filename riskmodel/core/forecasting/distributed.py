"""A Forecaster fitted in two stages: model runs per group of series, pooled choice and calibration.

The expensive part of :meth:`Forecaster.fit <riskmodel.core.forecasting.Forecaster.fit>`
is running every model at every backtest cutoff and at the end of the history;
choosing models and calibrating intervals is cheap but needs *all* the backtest
errors at once: intervals calibrated on one series' ~20 errors cover far less
than pooled ones. :func:`run_parts` does the first stage on one group of series
(e.g. on a Spark worker) and returns plain frames; :func:`fit_from_parts` does
the second on the concatenated parts of every group (e.g. on the driver). The
history stays with the groups: the second stage reads it only through a few
numbers per series and cutoff (:func:`~riskmodel.core.forecasting.forecaster.history_facts`),
which the first stage returns. With local models the result equals
``Forecaster.fit`` on all series; the global model ``lgbm`` is pooled within each
group. Groups are assumed to share the calendar (the same last period), so that
their backtest cutoffs agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.forecasting.engine import run_models
from riskmodel.core.forecasting.forecaster import Forecaster, _check_hierarchy, _check_series_reach_the_end, _infer, history_facts
from riskmodel.core.forecasting.series import FREQS, Hierarchy, validate_series

__all__ = ["run_parts", "fit_from_parts", "PART_COLUMNS"]

#: Columns of the ``forecasts`` part: one row per series, model and future period.
PART_COLUMNS = ("unique_id", "ds", "model", "y_hat")


def run_parts(forecaster: Forecaster, df: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """Backtests and final model forecasts of one group of series.

    Parameters
    ----------
    forecaster : Forecaster
        Unfitted; its settings are used (``freq`` should be set, so that every
        group agrees on it).
    df : DataFrame
        Long frame ``unique_id, ds, y`` of the group.

    Returns
    -------
    cv : DataFrame
        The backtest rows (see :attr:`Forecaster.cv_`, before the choice), with ``holdout``.
    forecasts : DataFrame
        Columns :data:`PART_COLUMNS`: each model's forecast of the next ``h`` periods.
    fallbacks : DataFrame
        Columns ``model, unique_id, reason``.
    series, cutoffs : DataFrame
        What choice and calibration need of the group's history
        (:func:`~riskmodel.core.forecasting.forecaster.history_facts`; ``series`` with
        ``unique_id`` and the group's ``freq`` as columns).
    """
    forecaster._check_params()
    history = validate_series(df, forecaster.freq)
    settings = forecaster._fit_settings(forecaster.freq or _infer(history), history)
    cv, fallbacks = forecaster._backtests(history, settings)
    hist = {uid: (pd.DatetimeIndex(g["ds"]), g["y"].to_numpy(dtype=float)) for uid, g in history.groupby("unique_id", sort=True)}
    fcs, future, fb = run_models(hist, forecaster.h, settings)
    rows = [
        pd.DataFrame({"unique_id": uid, "ds": future[uid], "model": name, "y_hat": per_series[uid]})
        for name, per_series in fcs.items() for uid in per_series
    ]
    forecasts = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(PART_COLUMNS))
    falls = pd.DataFrame(fallbacks + fb, columns=["model", "unique_id", "reason"])
    per_series, at_cutoff = history_facts(history, cv, settings)
    return cv, forecasts, falls, per_series.reset_index().assign(freq=settings.freq), at_cutoff


def fit_from_parts(
    forecaster: Forecaster,
    df: pd.DataFrame | None,
    cv: pd.DataFrame,
    forecasts: pd.DataFrame,
    fallbacks: pd.DataFrame | None = None,
    hierarchy: Hierarchy | None = None,
    facts: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> Forecaster:
    """Choose, calibrate and forecast from the concatenated :func:`run_parts` of every group.

    Parameters
    ----------
    forecaster : Forecaster
        Unfitted, with the settings the parts were run with.
    df : DataFrame or None
        The whole history ``unique_id, ds, y`` (for the interval scales and
        volume groups, and the fitted ``history_``), or None with ``facts``.
    cv, forecasts, fallbacks : DataFrame
        The parts of every group, concatenated.
    hierarchy : Hierarchy, optional
        Reconcile as :meth:`Forecaster.fit` does (needs ``df``).
    facts : (DataFrame, DataFrame), optional
        The ``series`` and ``cutoffs`` parts of every group, concatenated: then the
        history is not needed, and the fitted forecaster's ``history_`` is None
        (its :meth:`~Forecaster.predict` gives the ``h`` periods it was fitted for).

    Returns
    -------
    Forecaster
        ``forecaster``, fitted: the same attributes as after :meth:`Forecaster.fit`.
    """
    forecaster._check_params()
    if df is None and (facts is None or hierarchy is not None):
        raise ValueError("fit_from_parts without the history `df` needs `facts` and no hierarchy.")
    history = validate_series(df, forecaster.freq) if df is not None else None
    if hierarchy is not None:
        _check_hierarchy(history, hierarchy)
    freq = forecaster.freq or (_infer(history) if history is not None else str(facts[0]["freq"].iloc[0]))
    settings = forecaster._fit_settings(freq, history)
    if facts is not None:
        per_series, at_cutoff = facts
        per_series = per_series.drop(columns="freq", errors="ignore").assign(unique_id=per_series["unique_id"].astype(str)).set_index("unique_id").sort_index()
        at_cutoff = at_cutoff.assign(unique_id=at_cutoff["unique_id"].astype(str), cutoff=pd.to_datetime(at_cutoff["cutoff"]).astype("datetime64[ns]"))
        facts = (per_series, at_cutoff)
    cv = cv.sort_values(["unique_id", "cutoff", "ds"], kind="stable").reset_index(drop=True)
    cv["unique_id"] = cv["unique_id"].astype(str)
    cv["holdout"] = cv["holdout"].astype(bool)
    for col in ("cutoff", "ds"):
        cv[col] = pd.to_datetime(cv[col]).astype("datetime64[ns]")
    fcs: dict[str, dict[str, np.ndarray]] = {name: {} for name in settings.models}
    future: dict[str, pd.DatetimeIndex] = {}
    for (uid, name), g in forecasts.sort_values("ds").groupby(["unique_id", "model"], sort=True):
        fcs[str(name)][str(uid)] = g["y_hat"].to_numpy(dtype=float)
        future[str(uid)] = pd.DatetimeIndex(g["ds"]).astype("datetime64[ns]")
    # the groups ran apart: a series that stopped before the others is seen here, where every group's forecasts meet
    step = pd.tseries.frequencies.to_offset(FREQS[freq])
    _check_series_reach_the_end(pd.Series({uid: ds[0] - step for uid, ds in future.items() if len(ds)}, dtype="datetime64[ns]"), freq)
    falls = [tuple(r) for r in fallbacks[["model", "unique_id", "reason"]].itertuples(index=False)] if fallbacks is not None else []
    forecaster._finish(history, cv, falls, settings, hierarchy, base=(fcs, future, []), facts=facts)
    return forecaster
