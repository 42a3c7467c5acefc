"""The forecaster: backtest, choose, calibrate, forecast; and the ``forecast()`` function."""

from __future__ import annotations

import dataclasses

import io
import json
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import (
    BreakWarning, ConfigError, IntervalWarning, ModelLoadError, NotFittedError, SchemaError, SchemaProblem, YoungSeriesWarning,
)
from riskmodel.core.forecasting.backtest import PEERS, evaluate, first_cutoff, nested_cross_validation
from riskmodel.core.forecasting.breaks import OPEN_BREAK_COLUMNS, open_breaks, open_breaks_message
from riskmodel.core.forecasting.calendar import COVID_BREAK, EVENTS, SCHOOL_HOLIDAYS, in_break
from riskmodel.core.forecasting.engine import BREAK_METHODS, RunSettings, run_models, scaled_history, warn_fallbacks
from riskmodel.core.forecasting.intervals import (
    LARGEST_ERROR_COLUMNS, apply_intervals, calibrate, extend, group_volumes, largest_error_message, log_scale, recent_volume,
    uncalibrated_steps_message,
)
from riskmodel.core.forecasting.models import EXPLOSION, GLOBAL_MODELS, LOCAL_MODELS
from riskmodel.core.forecasting.reconcile import METHODS, reconcile, reconcile_backtest
from riskmodel.core.forecasting.series import Hierarchy, season_length, validate_series
from riskmodel.core.forecasting.stale import warn_stale_outlook
from riskmodel.core.forecasting.young import YOUNG_LABEL, young_from_facts, young_series, young_series_message, young_table
from riskmodel.core.progress import ProgressHook

__all__ = ["Forecaster", "forecast", "output_columns", "DEFAULT_MODELS", "COMBINATIONS", "CALENDAR_END", "FORECASTER_FILES"]

#: Last day of the event calendar: the ``holidays`` package dates Nyepi (Bali's Day of Silence) only
#: through 2050, and pandas timestamps end in 2262. A forecast reaching past it would silently lose its
#: event regressors (or overflow), so such horizons are refused.
CALENDAR_END = pd.Timestamp("2050-12-31")

#: The files :meth:`Forecaster.save` writes in its folder and :meth:`Forecaster.from_files` reads
#: (``holdout_metrics.parquet`` absent from forecasters saved before holdouts, ``hierarchy.parquet`` without a hierarchy).
FORECASTER_FILES = (
    "forecaster.json", "history.parquet", "forecasts.parquet", "backtest.parquet", "metrics.parquet",
    "holdout_metrics.parquet", "hierarchy.parquet",
)
#: Models tried by default, per frequency.
DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "M": ("snaive", "ets", "theta", "lgbm"),
    "W": ("snaive", "ets", "theta", "lgbm"),
    "D": ("snaive", "mstl", "lgbm"),
}
#: Combinations of all models run (the baseline included: averaging with seasonal naive
#: keeps last season's shape while the other models smooth its noise).
COMBINATIONS = ("mean", "median")
#: Selection windows needed to choose among the candidates. With fewer (one window, e.g. a
#: 24-month monthly history at h=12), the models of that window were fitted on a season or
#: less, so their ranking says little about the final fit: the mean of the models is taken, the
#: robust choice when the evidence to select on is weak. Chosen on the 2019 validation of the
#: forecast benchmark (24-month fits ending 2010..2017): mean MSIS 9.74 against 10.07 for the
#: choice made on the one window, which picked theta in six of eight years.
MIN_SELECTION_WINDOWS = 2


def output_columns(level: Sequence[int]) -> list[str]:
    """Columns of a forecast frame for interval ``level``: see :meth:`Forecaster.predict`."""
    cols = ["unique_id", "ds", "y_hat"]
    for L in sorted(level):
        cols += [f"y_lo_{L}", f"y_hi_{L}"]
    return cols + ["model"]


class Forecaster:
    """Calendar-aware arrival forecaster with backtest-chosen models and calibrated intervals.

    ``fit`` backtests every model on rolling origins that each reach the full
    horizon, picks the model (or the combination of models) with the lowest MASE
    per series or over all series, calibrates conformal intervals on the backtest
    errors of that choice, and forecasts from the whole history. The latest
    ``holdout_windows`` backtest windows take no part in the choice nor in the
    calibration: the chosen forecaster, its intervals and the simple peers are
    scored there (:attr:`holdout_metrics_`), an estimate free of the optimism of
    selection. Models that fail or explode on a series fall
    back to seasonal naive with a :class:`~riskmodel.core.exceptions.FallbackWarning`.

    Parameters
    ----------
    h : int, default=12
        Horizon (periods) of the backtest windows and of the default forecast.
    freq : {"D", "W", "M"}, optional
        Frequency of the series; inferred from the data when omitted.
    models : sequence of str, optional
        Models to try among ``snaive, ets, ets_pooled, theta, sarimax, mstl, lgbm``; default
        :data:`DEFAULT_MODELS` for the frequency. ``snaive`` is always added.
    combine : bool, default=True
        Also try the mean and the median of all models (given three or more). With
        fewer than :data:`MIN_SELECTION_WINDOWS` selection windows, the mean is taken
        without choosing: one window is too little evidence to rank models on.
    selection : {"global", "series"}, default="global"
        Choose one model for all series (stable with few windows) or per series.
    level : sequence of int, default=(80, 95)
        Interval levels in percent, each listed once.
    n_windows : int, default=3
        Backtest cutoffs used to choose models and calibrate intervals (fewer when
        the history is too short for windows that reach the full horizon ``h``).
    step : int, optional
        Periods between cutoffs; default ``max(1, h // n_windows)``.
    breaks : sequence of (str, str), default=(COVID_BREAK,)
        Declared break periods (inclusive dates) that models must not learn, never
        scored and left out of the error scales. Pass ``()`` for none; see
        :func:`~riskmodel.core.forecasting.breaks.detect_breaks` to propose them.
    break_method : {"recover", "rebase", "impute"}, default="recover"
        ``recover``: the gap between the pre-break level and the periods after the
        break is fitted as a geometric decay (an intervention model); models learn
        from the history with that fitted recovery removed and their forecasts
        continue it toward the pre-break level, at its pace (a rate of 1: a
        permanent shift); with fewer than three periods after the break, as
        ``rebase`` (:func:`~riskmodel.core.forecasting.engine.recover_break`).
        ``rebase``: the level (and recovery) after a break is learned from the
        periods after it, the seasonal shape from before it
        (:func:`~riskmodel.core.forecasting.engine.rebase_break`); ``impute``: the
        break is bridged from the seasons around it
        (:func:`~riskmodel.core.forecasting.engine.impute_break`).
    holdout_windows : int, default=1
        Latest backtest windows kept out of selection and calibration and used to
        score the result honestly; taken only when at least one window is left to
        choose on. 0 disables.
    events : sequence of str, optional
        Calendar events used as regressors; default all (see
        :mod:`riskmodel.core.forecasting.calendar`).
    reconcile : {"bottom_up", "wls_struct", "mint_shrink"} or None, default="bottom_up"
        Reconciliation used when ``fit`` gets a hierarchy. ``bottom_up`` keeps each
        bottom series' own calibrated interval and sums the parts up; ``wls_struct``
        pulls the parts' bounds toward the aggregates' narrower ones and under-covers:
        on the forecast benchmark's synthetic validation (``fc_synthval_reconcile_*``
        in ``benchmarks/RESULTS.md``, years no reported holdout scores) 95% coverage
        0.97 bottom-up, 0.56 ``wls_struct``, 0.90 ``mint_shrink``, at a MASE of
        0.860, 0.880 and 0.853.
    n_jobs : int, default=1
        Processes for the local models (joblib); -1 uses every core.
    progress : bool, default=False
        Show tqdm progress bars.
    seed : int, default=0

    Every setting is checked at construction: a bad one raises
    :class:`~riskmodel.core.exceptions.ConfigError` naming it.

    Attributes
    ----------
    freq_ : str
    models_ : tuple of str
        Models that were run.
    candidates_ : list of str
        Models and combinations (``mean``, ``median``) that competed in the backtest.
    level_ : tuple of int
        Interval levels, ascending.
    chosen_ : dict of str to str
        Chosen model or combination per series.
    cv_ : DataFrame
        Backtest: ``unique_id, ds, cutoff, y, scale, step, log_scale``, one column per model
        and combination, the peers ``peer:naive, peer:snaive, peer:drift``,
        ``chosen`` and its interval bounds ``chosen-lo-<L>``/``chosen-hi-<L>``, and
        ``holdout`` (bool: the row belongs to a holdout window).
    metrics_ : DataFrame
        Backtest metrics per hierarchy level and model on the selection windows
        (see :func:`~riskmodel.core.forecasting.backtest.evaluate`): the score of
        ``chosen`` there is optimistic, since it won on these windows.
    holdout_metrics_ : DataFrame
        The same metrics on the holdout windows for ``chosen`` (with its interval
        coverage, width and MSIS), ``reconciled`` (with a hierarchy: ``chosen``
        reconciled window by window, bounds included) and the peers ``peer:naive``,
        ``peer:snaive`` and ``peer:drift``; empty when the history left no holdout window.
    quantiles_ : dict of int to ndarray
        Conformal multipliers per level: shape ``(n_groups, 2, h)``, lower and upper
        side per volume group and step (see :mod:`riskmodel.core.forecasting.intervals`).
    interval_groups_ : Series
        Volume group of each series (0 = smallest), which multipliers it uses.
    largest_error_ends_ : DataFrame
        ``level, side, group, step, errors``: the interval ends (``side`` lower or upper, per
        volume group and 1-based horizon step) that are the largest backtest error seen, not a
        quantile of their ``level``, because the step's neighbourhood held only ``errors`` errors
        (fewer than 19 at 80%, 79 at 95%); later steps may carry them, as multipliers never
        decrease. ``fit`` warns about them with :class:`~riskmodel.core.exceptions.IntervalWarning`;
        their values are left as they are (the benchmark scores them).
    scales_ : Series
        Per-series scale of the intervals.
    history_ : DataFrame
        The validated history.
    forecasts_ : DataFrame
        Forecast of the next ``h`` periods (the output of :meth:`predict`).
    hierarchy_ : Hierarchy or None
    fallbacks_ : list of (model, unique_id, reason)
        Every fallback to seasonal naive, in the backtest and the final fit.
    open_breaks_ : DataFrame
        Series whose history ends inside a declared or detected break
        (:func:`~riskmodel.core.forecasting.breaks.open_breaks`): their forecasts continue the
        break's level. ``fit`` and :func:`forecast` warn about them with
        :class:`~riskmodel.core.exceptions.BreakWarning`.
    young_series_ : DataFrame
        Series too young to forecast (:func:`~riskmodel.core.forecasting.young.young_series`:
        fewer than one season plus ``h`` periods since their first non-zero count, e.g. a port
        that just opened): their forecast rows' ``model`` ends in ``" (too young)"``, and ``fit``
        and :func:`forecast` warn with :class:`~riskmodel.core.exceptions.YoungSeriesWarning`.
        Their forecasts are the models' own.

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> ds = pd.date_range("2015-01-01", periods=60, freq="MS")
    >>> y = 1000 + 200 * np.sin(2 * np.pi * ds.month / 12)
    >>> df = pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y": y})
    >>> fc = Forecaster(h=6, models=["snaive", "theta"]).fit(df).predict()
    >>> list(fc.columns)
    ['unique_id', 'ds', 'y_hat', 'y_lo_80', 'y_hi_80', 'y_lo_95', 'y_hi_95', 'model']
    """

    def __init__(
        self,
        *,
        h: int = 12,
        freq: str | None = None,
        models: Sequence[str] | None = None,
        combine: bool = True,
        selection: str = "global",
        level: Sequence[int] = (80, 95),
        n_windows: int = 3,
        step: int | None = None,
        breaks: Sequence[tuple[str, str]] = (COVID_BREAK,),
        break_method: str = "recover",
        holdout_windows: int = 1,
        events: Sequence[str] | None = None,
        reconcile: str | None = "bottom_up",
        n_jobs: int = 1,
        progress: bool = False,
        seed: int = 0,
    ):
        self.h = h
        self.freq = freq
        self.models = models
        self.combine = combine
        self.selection = selection
        self.level = level
        self.n_windows = n_windows
        self.step = step
        self.breaks = breaks
        self.break_method = break_method
        self.holdout_windows = holdout_windows
        self.events = events
        self.reconcile = reconcile
        self.n_jobs = n_jobs
        self.progress = progress
        self.seed = seed
        # settings are checked here, where the mistake is made, not minutes later inside fit
        self._check_params()

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if isinstance(self.h, bool) or not isinstance(self.h, int | np.integer) or self.h < 1:
            raise ConfigError(f"`h` must be an int >= 1; got {self.h!r}.")
        if isinstance(self.models, str):
            raise ConfigError(f"`models` must be a list of model names, e.g. [{self.models!r}]; got the string {self.models!r}.")
        known = set(LOCAL_MODELS) | set(GLOBAL_MODELS)
        bad = [m for m in (self.models or ()) if m not in known]
        if bad:
            raise ConfigError(f"`models` has unknown model(s) {bad}; choose from {sorted(known)}.")
        if self.selection not in ("global", "series"):
            raise ConfigError(f"`selection` must be 'global' or 'series'; got {self.selection!r}.")
        if isinstance(self.level, str | int) or not self.level or any(not _is_level(L) for L in self.level):
            raise ConfigError(f"`level` must be a non-empty list of ints between 1 and 99; got {self.level!r}.")
        twice = sorted({int(L) for L in self.level if sum(float(M) == float(L) for M in self.level) > 1})
        if twice:  # else the forecast has two y_lo_<L> and two y_hi_<L> columns
            raise ConfigError(f"`level` lists {', '.join(map(str, twice))} more than once; got {self.level!r}: list each level once, e.g. (80, 95).")
        if self.reconcile is not None and self.reconcile not in METHODS:
            raise ConfigError(f"`reconcile` must be one of {list(METHODS)} or None; got {self.reconcile!r}.")
        if not _is_int(self.n_windows) or self.n_windows < 1:
            raise ConfigError(f"`n_windows` must be an int >= 1; got {self.n_windows!r}.")
        if self.break_method not in BREAK_METHODS:
            raise ConfigError(f"`break_method` must be one of {sorted(BREAK_METHODS)}; got {self.break_method!r}.")
        if not _is_int(self.holdout_windows) or self.holdout_windows < 0:
            raise ConfigError(f"`holdout_windows` must be an int >= 0; got {self.holdout_windows!r}.")
        self._check_more_params()

    def _check_more_params(self) -> None:
        if self.freq is not None and self.freq not in DEFAULT_MODELS:
            raise ConfigError(f"`freq` must be one of {sorted(DEFAULT_MODELS)} or None; got {self.freq!r}.")
        if self.step is not None and (not _is_int(self.step) or self.step < 1):
            raise ConfigError(f"`step` must be an int >= 1 or None; got {self.step!r}.")
        for name in ("combine", "progress"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ConfigError(f"`{name}` must be True or False; got {getattr(self, name)!r}.")
        if not _is_int(self.n_jobs) or self.n_jobs == 0:
            raise ConfigError(f"`n_jobs` must be a non-zero int (-1: every core, as joblib); got {self.n_jobs!r}.")
        if not _is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"`seed` must be an int >= 0; got {self.seed!r}.")
        _check_breaks(self.breaks)
        known = [*EVENTS, *(f"school_{m}" for m in SCHOOL_HOLIDAYS)]
        if self.events is not None and (isinstance(self.events, str) or any(e not in known for e in self.events)):
            raise ConfigError(f"`events` must be a list of {known} or None; got {self.events!r}.")

    def _settings(self, freq: str) -> RunSettings:
        models = tuple(self.models) if self.models else DEFAULT_MODELS[freq]
        if "snaive" not in models:
            models = ("snaive", *models)
        return RunSettings(
            freq=freq, m=season_length(freq), models=models,
            events=tuple(self.events) if self.events is not None else None,
            breaks=tuple(tuple(b) for b in self.breaks), break_method=self.break_method, n_jobs=self.n_jobs, progress=self.progress, seed=self.seed,
        )

    def _step(self) -> int:
        return self.step or max(1, self.h // self.n_windows)

    def _fit_settings(self, freq: str, history: pd.DataFrame | None) -> RunSettings:
        """:meth:`_settings` for every run of a fit on ``history``: ``mstl``'s yearly period decided at its earliest backtest cutoff."""
        settings = self._settings(freq)
        if history is None or "mstl" not in settings.models:
            return settings
        first = first_cutoff(history, self.h, settings, n_windows=self.n_windows, holdout_windows=self.holdout_windows, step=self._step())
        # else the windows before two years fit weekly STL, the later ones and the forecast served MSTL, all as "mstl"
        return dataclasses.replace(settings, yearly_from=first) if first is not None else settings

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame, hierarchy: Hierarchy | None = None, *, on_progress: ProgressHook | None = None) -> Forecaster:
        """Backtest, choose models, calibrate intervals and forecast ``h`` periods.

        Parameters
        ----------
        df : DataFrame
            Long frame ``unique_id, ds, y`` (see :mod:`riskmodel.core.forecasting.series`).
        hierarchy : Hierarchy, optional
            When given (e.g. ``make_series(...).hierarchy``), forecasts are reconciled
            with the ``reconcile`` method.
        on_progress : callable, optional
            ``on_progress(what, done, total)`` (:mod:`riskmodel.core.progress`): the model runs
            counted as they finish, every backtest window and then the final fit.

        Returns
        -------
        Forecaster
            ``self``, fitted.

        Raises
        ------
        SchemaError
            If ``df`` is not a valid series frame (duplicates, gaps, negative counts, ...)
            or its series differ from the hierarchy's.
        ConfigError
            If a constructor argument is invalid, ``h`` periods after the history
            reach past :data:`CALENDAR_END`, or a series lies wholly inside the
            declared ``breaks``.
        """
        self._check_params()
        history = validate_series(df, self.freq)
        if hierarchy is not None:
            _check_hierarchy(history, hierarchy)
        freq = self.freq or _infer(history)
        if hierarchy is not None and self.reconcile is not None:  # served as sums of parts only when reconciled
            _check_coherent(history, hierarchy, freq)
        check_calendar(history["ds"].max(), self.h, freq)
        _check_series_reach_the_end(history.groupby("unique_id")["ds"].max(), freq)
        settings = self._fit_settings(freq, history)
        _check_history_outside_breaks(history, settings.breaks)
        runs = _RunCount(on_progress, planned=self.holdout_windows + self.n_windows)
        cv, fallbacks = self._backtests(history, settings, runs.window)
        self._finish(history, cv, fallbacks, settings, hierarchy)
        self.open_breaks_ = open_breaks(history, settings.breaks, freq)
        runs.finished()
        warn_fallbacks(self.fallbacks_, stacklevel=3)
        warn_open_breaks(self, stacklevel=3)
        warn_largest_error_ends(self, stacklevel=3)
        warn_young_series(self, stacklevel=3)
        return self

    def _finish(
        self, history: pd.DataFrame | None, cv: pd.DataFrame, fallbacks: list, settings: RunSettings, hierarchy: Hierarchy | None,
        base: tuple | None = None, facts: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    ) -> None:
        """Choose, calibrate, score the holdout and forecast, from backtests already run.

        ``base`` holds the models' final forecasts ``(forecasts, future, fallbacks)``
        when they were computed elsewhere (e.g. on Spark workers, see
        :func:`riskmodel.integrations.spark.forecast_spark`); they are computed here otherwise.
        ``facts`` are :func:`history_facts` computed where the history is (then
        ``history`` may be None, and ``history_`` is None: only :meth:`predict` at
        ``h`` works); they are computed from ``history`` otherwise.
        """
        per_series, at_cutoff = facts if facts is not None else history_facts(history, cv, settings)
        level = tuple(sorted(int(L) for L in self.level))
        candidates = list(settings.models)
        if self.combine and len(candidates) >= 3:
            for comb in COMBINATIONS:
                cv[comb] = getattr(np, comb)(cv[list(settings.models)].to_numpy(dtype=float), axis=1) if len(cv) else []
                candidates.append(comb)
        select = cv[~cv["holdout"]]
        chosen = self._choose(select, candidates, list(per_series.index))
        cv["chosen"] = _pick(cv, chosen)
        select = cv[~cv["holdout"]]
        scales = per_series["scale"]
        groups = group_volumes(per_series["volume"], select)  # from what the holdout cutoff saw: the holdout must not steer calibration
        notes: list = []
        q = calibrate(_in_seasonal_units(select, per_series["seen_scale"], at_cutoff, settings), "chosen", scales, self.h, level,
                      groups=groups, notes=notes)
        self.largest_error_ends_ = pd.DataFrame(notes, columns=LARGEST_ERROR_COLUMNS)
        if len(cv):
            s = cv["log_scale"].to_numpy(dtype=float)  # the intervals as they were at each cutoff
            bounds = apply_intervals(
                cv["chosen"].to_numpy(dtype=float), s, q, steps=cv["step"].to_numpy(dtype=int) - 1,
                group=cv["unique_id"].map(groups).to_numpy(dtype=int), cap=EXPLOSION * _at(cv, at_cutoff, "max_seen", np.inf),
            )
            for L in level:
                cv[f"chosen-lo-{L}"] = bounds[f"y_lo_{L}"]
                cv[f"chosen-hi-{L}"] = bounds[f"y_hi_{L}"]
        tags = hierarchy.tags if hierarchy else None
        self.freq_ = settings.freq
        self.models_ = settings.models
        self.level_ = level
        self.candidates_ = candidates
        self.chosen_ = chosen
        self.cv_ = cv
        select = cv[~cv["holdout"]]
        self.metrics_ = evaluate(select, [*candidates, "chosen"], levels=level, tags=tags) if len(select) else pd.DataFrame()
        holdout = cv[cv["holdout"]]
        peers = [f"peer:{p}" for p in PEERS]
        scored = ["chosen", *peers]
        if hierarchy is not None and self.reconcile is not None and len(holdout):
            holdout = reconcile_backtest(cv, hierarchy, self.reconcile, level)
            scored = ["chosen", "reconciled", *peers] if "reconciled" in holdout else scored
        self.holdout_metrics_ = evaluate(holdout, scored, levels=level, tags=tags) if len(holdout) else pd.DataFrame()
        self.quantiles_ = q
        self.interval_groups_ = groups
        self.scales_ = scales
        self.history_ = history
        self.hierarchy_ = hierarchy
        self.fallbacks_ = fallbacks
        self.max_y_ = per_series["max_y"]
        self.open_breaks_ = pd.DataFrame(columns=OPEN_BREAK_COLUMNS)  # fit() finds them from the history
        # without the history (Spark's pooled fit), from the facts computed where it is
        self.young_series_ = young_series(history, settings.m, self.h) if history is not None else young_from_facts(per_series, settings.m, self.h)
        self.forecasts_, runs = self._forecast(self.h, settings, base)
        self.fallbacks_ = [*self.fallbacks_, *runs]

    def _backtests(self, history: pd.DataFrame, settings: RunSettings, on_window=None) -> tuple[pd.DataFrame, list]:
        return nested_cross_validation(
            history, self.h, settings, n_windows=self.n_windows, holdout_windows=self.holdout_windows, step=self._step(), on_window=on_window
        )

    def _choose(self, cv: pd.DataFrame, candidates: list[str], ids: list[str]) -> dict[str, str]:
        if cv.empty:
            return dict.fromkeys(ids, "snaive")
        if cv["cutoff"].nunique() < MIN_SELECTION_WINDOWS and "mean" in candidates:
            return dict.fromkeys(ids, "mean")
        err = cv[candidates].sub(cv["y"], axis=0).abs().div(cv["scale"], axis=0)
        err["unique_id"] = cv["unique_id"].to_numpy()
        # a series with no MASE scale (a flat history) has no errors to choose on: global takes the others' choice, per series snaive
        per_series = err.groupby("unique_id").mean().dropna(how="all")
        if self.selection == "global":
            best = str(per_series.mean().idxmin()) if len(per_series) else "snaive"
            return dict.fromkeys(ids, best)
        best = per_series.idxmin(axis=1).astype(str).to_dict()
        return {uid: best.get(uid, "snaive") for uid in ids}

    def _forecast(self, h: int, settings: RunSettings, base: tuple | None = None) -> tuple[pd.DataFrame, list]:
        """The forecast at horizon ``h`` and its runs' fallbacks; nothing of the forecaster changes (``predict`` is
        called from several threads of a service)."""
        if base is None:
            hist = {uid: (pd.DatetimeIndex(g["ds"]), g["y"].to_numpy(dtype=float)) for uid, g in self.history_.groupby("unique_id", sort=True)}
            base = run_models(hist, h, settings)
        fcs, future, fallbacks = base
        base = list(settings.models)
        q = extend(self.quantiles_, h)
        frames = []
        for uid in sorted(self.chosen_):
            name = self.chosen_[uid]
            if name in COMBINATIONS:
                y_hat = getattr(np, name)(np.vstack([fcs[b][uid] for b in base]), axis=0)
            else:
                y_hat = fcs[name][uid]
            part = {"unique_id": uid, "ds": future[uid], "y_hat": y_hat}
            top = float(self.max_y_.get(uid, np.nan))
            cap = EXPLOSION * top if np.isfinite(top) else None
            part.update(apply_intervals(y_hat, float(self.scales_[uid]), q, group=int(self.interval_groups_.get(uid, 0)), cap=cap))
            part["model"] = name
            frames.append(pd.DataFrame(part))
        out = pd.concat(frames, ignore_index=True)
        out = out[output_columns(self.level_)]
        if self.hierarchy_ is not None and self.reconcile is not None:
            residuals = None
            if self.reconcile == "mint_shrink" and len(self.cv_):
                r = self.cv_.assign(res=self.cv_["y"] - self.cv_["chosen"])
                residuals = r.pivot_table(index=["cutoff", "ds"], columns="unique_id", values="res")
            out = reconcile(out, self.hierarchy_, method=self.reconcile, residuals=residuals)
            out["model"] = out["model"] + f"+{self.reconcile}"
        out["unique_id"] = out["unique_id"].astype(str)
        young = getattr(self, "young_series_", None)  # absent from forecasters saved before young series were listed
        if young is not None and len(young):
            out["model"] = out["model"].where(~out["unique_id"].isin(set(young["unique_id"])), out["model"] + YOUNG_LABEL)
        out["ds"] = out["ds"].astype("datetime64[ns]")
        return out.reset_index(drop=True), list(fallbacks)

    # ------------------------------------------------------------------ predict
    def predict(self, h: int | None = None) -> pd.DataFrame:
        """Forecast of every series.

        Parameters
        ----------
        h : int, optional
            Horizon; default the ``h`` given at construction. A longer horizon than
            the backtest's widens the intervals like ``sqrt(step)``: those steps were never backtested, so
            their intervals are not calibrated, and an :class:`~riskmodel.core.exceptions.IntervalWarning` says so.

        Returns
        -------
        DataFrame
            One row per series and future period, sorted by ``unique_id, ds``, with
            columns, in this order:

            - ``unique_id`` (str): series id;
            - ``ds`` (datetime64[ns]): period start;
            - ``y_hat`` (float64): point forecast, >= 0;
            - ``y_lo_<L>``, ``y_hi_<L>`` (float64) for each interval level ``L``
              ascending (default ``y_lo_80, y_hi_80, y_lo_95, y_hi_95``),
              with ``0 <= y_lo <= y_hat <= y_hi``;
            - ``model`` (str): the model or combination used (``"+bottom_up"`` etc.
              appended when reconciled).

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        ConfigError
            If ``h`` is not an int >= 1 or reaches past :data:`CALENDAR_END`.
        """
        if not hasattr(self, "forecasts_"):
            raise NotFittedError("This Forecaster is not fitted yet; call fit(df) before predict().")
        if h is None:
            return self.forecasts_.copy()
        # checked before the stored forecast is handed out: 12.0 equals 12, and would be answered as if it were one
        if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
            raise ConfigError(f"`h` must be an int >= 1; got {h!r}.")
        if h == self.h:
            return self.forecasts_.copy()
        check_calendar(self.history_["ds"].max(), int(h), self.freq_)
        # this call's fallbacks are warned of, never added to the fitted forecaster's (another thread may be reading them)
        out, fallbacks = self._forecast(int(h), self._fit_settings(self.freq_, self.history_))
        warn_fallbacks(fallbacks, stacklevel=3)
        if int(h) > self.h:  # no backtest error reaches these steps: their ends are grown, not calibrated
            warnings.warn(uncalibrated_steps_message(self.h, int(h), self.level_), IntervalWarning, stacklevel=3)
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        """Write the fitted forecaster to ``folder`` as JSON and Parquet (nothing pickled).

        Files: ``forecaster.json`` (settings, chosen model per series, interval
        multipliers and scales), ``history.parquet``, ``forecasts.parquet``,
        ``backtest.parquet``, ``metrics.parquet``, ``holdout_metrics.parquet`` and, with a hierarchy,
        ``hierarchy.parquet`` (the summing matrix).

        Returns
        -------
        Path
            The folder.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        """
        if not hasattr(self, "forecasts_"):
            raise NotFittedError("This Forecaster is not fitted yet; call fit(df) before save().")
        folder = Path(folder)
        params = self.get_params()
        # plain JSON values: the constructor also takes numpy ints and bools and any date pandas reads
        for name in ("h", "n_windows", "step", "holdout_windows", "n_jobs", "seed"):
            params[name] = int(params[name]) if params[name] is not None else None
        params["combine"], params["progress"] = bool(params["combine"]), bool(params["progress"])
        params["models"] = [str(m) for m in params["models"]] if params["models"] is not None else None
        params["level"] = [int(v) for v in params["level"]]
        params["breaks"] = [[d if isinstance(d, str) else pd.Timestamp(d).isoformat() for d in b] for b in params["breaks"]]
        params["events"] = [str(e) for e in params["events"]] if params["events"] is not None else None
        state = {
            "format": 2,  # 2: quantiles_ per volume group, lower and upper (format 1: one symmetric row)
            "params": params,
            "freq_": self.freq_,
            "models_": list(self.models_),
            "level_": list(self.level_),
            "candidates_": list(self.candidates_),
            "chosen_": self.chosen_,
            "quantiles_": {str(L): np.asarray(q, dtype=float).tolist() for L, q in self.quantiles_.items()},
            "scales_": {str(k): float(v) for k, v in self.scales_.items()},
            "interval_groups_": {str(k): int(v) for k, v in self.interval_groups_.items()},
            "tags": self.hierarchy_.tags if self.hierarchy_ is not None else None,
            "fallbacks_": [list(f) for f in self.fallbacks_],
            "open_breaks_": self.open_breaks_.to_dict("records"),
            "largest_error_ends_": self.largest_error_ends_.to_dict("records"),
            "young_series_": self.young_series_.assign(first_count=self.young_series_["first_count"].dt.strftime("%Y-%m-%d")).to_dict("records"),
        }
        text = json.dumps(state, indent=1, sort_keys=True)  # before the folder exists: a failure leaves nothing behind
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "forecaster.json").write_text(text, encoding="utf-8")
        self.history_.to_parquet(folder / "history.parquet", index=False)
        self.forecasts_.to_parquet(folder / "forecasts.parquet", index=False)
        cv = self.cv_.copy()
        cv.columns = [str(c) for c in cv.columns]
        cv.to_parquet(folder / "backtest.parquet", index=False)
        self.metrics_.to_parquet(folder / "metrics.parquet", index=False)
        self.holdout_metrics_.to_parquet(folder / "holdout_metrics.parquet", index=False)
        if self.hierarchy_ is not None:
            self.hierarchy_.S.reset_index().to_parquet(folder / "hierarchy.parquet", index=False)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Forecaster:
        """Read a forecaster written by :meth:`save` (JSON and Parquet only).

        Raises
        ------
        ModelLoadError
            If the folder or one of its files is missing or unreadable.
        """
        folder = Path(folder)
        try:
            files = {name: (folder / name).read_bytes() for name in FORECASTER_FILES if (folder / name).is_file()}
        except OSError as exc:
            raise ModelLoadError(f"cannot load a Forecaster from `{folder}`: {exc}. Pass a folder written by Forecaster.save().") from None
        return cls.from_files(files, where=folder)

    @classmethod
    def from_files(cls, files: dict[str, bytes], *, where: str | Path) -> Forecaster:
        """The forecaster from the bytes of the files :meth:`save` wrote (:data:`FORECASTER_FILES`), never read again from disk.

        For a folder checked against its signed manifest, pass the bytes that were checked
        (``verify_manifest(folder, read=FORECASTER_FILES)``): a file rewritten after the check is not the one used.

        Parameters
        ----------
        files : dict of str to bytes
            The files by name (others are ignored); ``holdout_metrics.parquet`` may be absent
            (forecasters saved before holdouts), ``hierarchy.parquet`` is needed only with a hierarchy.
        where : str or Path
            The folder they came from, for messages.

        Raises
        ------
        ModelLoadError
            If a file is missing or is not what :meth:`save` writes.
        """
        def frame(name: str) -> pd.DataFrame:
            if name not in files:
                raise FileNotFoundError(f"no {name}")
            return pd.read_parquet(io.BytesIO(files[name]))

        try:
            if "forecaster.json" not in files:
                raise FileNotFoundError("no forecaster.json")
            state = json.loads(files["forecaster.json"].decode("utf-8"))
            self = _from_state(cls, state)
            self.history_ = frame("history.parquet")
            self.max_y_ = self.history_.groupby("unique_id")["y"].max()
            self.forecasts_ = frame("forecasts.parquet")
            self.cv_ = frame("backtest.parquet")
            self.metrics_ = frame("metrics.parquet")
            # absent from forecasters saved before holdouts
            self.holdout_metrics_ = frame("holdout_metrics.parquet") if "holdout_metrics.parquet" in files else pd.DataFrame()
            self.hierarchy_ = None
            if state["tags"] is not None:
                self.hierarchy_ = Hierarchy(S=frame("hierarchy.parquet").set_index("unique_id"), tags=state["tags"])
        except (OSError, KeyError, ValueError, TypeError) as exc:  # UnicodeDecodeError and Arrow's errors are ValueErrors
            raise ModelLoadError(f"cannot load a Forecaster from `{where}`: {exc}. Pass a folder written by Forecaster.save().") from None
        for table in (self.history_, self.forecasts_):
            table["unique_id"] = table["unique_id"].astype(str)
        return self

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (plain values), e.g. for logging."""
        return {k: getattr(self, k) for k in (
            "h", "freq", "models", "combine", "selection", "level", "n_windows", "step",
            "breaks", "break_method", "holdout_windows", "events", "reconcile", "n_jobs", "progress", "seed",
        )}


class _RunCount:
    """The model runs of a fit for a progress hook: the backtest windows, then the final fit."""

    WHAT = "forecaster: backtest windows, then the final fit"

    def __init__(self, hook: ProgressHook | None, planned: int):
        self.hook, self.windows = hook, planned
        if hook is not None:
            hook(self.WHAT, 0, planned + 1)

    def window(self, done: int, total: int) -> None:
        self.windows = total
        if self.hook is not None:
            self.hook(self.WHAT, done, total + 1)

    def finished(self) -> None:
        if self.hook is not None:
            self.hook(self.WHAT, self.windows + 1, self.windows + 1)


def _from_state(cls, state: dict) -> Forecaster:
    """The forecaster of a parsed ``forecaster.json``, without its tables (a malformed field raises KeyError, TypeError, ...)."""
    params = dict(state["params"])
    params["breaks"] = tuple(tuple(b) for b in params["breaks"])
    params["level"] = tuple(params["level"])
    self = cls(**params)
    self.freq_ = state["freq_"]
    self.models_ = tuple(state["models_"])
    self.level_ = tuple(state["level_"])
    self.candidates_ = list(state["candidates_"])
    self.chosen_ = dict(state["chosen_"])
    self.quantiles_ = {int(L): np.asarray(q, dtype=float) for L, q in state["quantiles_"].items()}
    self.scales_ = pd.Series(state["scales_"], dtype=float)
    self.interval_groups_ = pd.Series(state.get("interval_groups_", {}), dtype=int)
    self.fallbacks_ = [tuple(f) for f in state["fallbacks_"]]
    # absent from forecasters saved before open breaks were recorded
    self.open_breaks_ = pd.DataFrame(state.get("open_breaks_", []), columns=OPEN_BREAK_COLUMNS).astype(str)
    # absent from forecasters saved before such ends were listed
    self.largest_error_ends_ = pd.DataFrame(state.get("largest_error_ends_", []), columns=LARGEST_ERROR_COLUMNS)
    self.young_series_ = young_table(state.get("young_series_", []))  # absent from forecasters saved before
    return self


def _check_hierarchy(history: pd.DataFrame, hierarchy: Hierarchy, *, of_model: bool = False, name: str = "df") -> None:
    """SchemaError unless ``history`` holds exactly the series of ``hierarchy`` (``of_model``: a fitted model's, in :func:`forecast`;
    ``name``: the argument's name in the message)."""
    ids = set(history["unique_id"])
    wanted = set(hierarchy.S.index.astype(str))
    missing, extra = sorted(wanted - ids), sorted(ids - wanted)
    if of_model:
        words = ("series of the model's hierarchy are missing from `history`", "series of `history` are not in the model's hierarchy")
        fixes = ("pass the history of every series the model forecasts: its forecasts are reconciled over them",
                 "drop them, or fit Forecaster(**model.get_params()) on these series for forecasts that are not reconciled")
    else:
        words = (f"series of the hierarchy are missing from `{name}`", f"series of `{name}` are not in the hierarchy")
        fixes = ("pass every series of hierarchy.S (make_series builds both)", "drop them or pass hierarchy=None")
    problems = []
    if missing:
        problems.append(SchemaProblem("unique_id", words[0], fixes[0], tuple(missing[:5]), len(missing)))
    if extra:
        problems.append(SchemaProblem("unique_id", words[1], fixes[1], tuple(extra[:5]), len(extra)))
    if problems:
        raise SchemaError("series", problems)


def _check_coherent(history: pd.DataFrame, hierarchy: Hierarchy, freq: str) -> None:
    """SchemaError unless each series of ``history`` is the sum of its parts (``hierarchy.S``) at every period.

    Reconciliation serves an aggregate's forecast as the sum of its parts': a total whose history holds more (arrivals
    at ports the extract does not list) would be forecast short by that much, with no word. A part without a period
    (a port whose history starts later) counts as none arrived then.
    """
    S = hierarchy.S
    wide = history.pivot(index="ds", columns="unique_id", values="y").reindex(columns=S.index.astype(str))
    parts = wide[[str(c) for c in S.columns]].fillna(0.0).to_numpy(dtype=float) @ S.to_numpy(dtype=float).T
    own = wide.to_numpy(dtype=float)
    off = ~np.isnan(own) & ~np.isclose(own, parts, rtol=1e-9, atol=1e-6)
    if not off.any():
        return
    t, j = np.nonzero(off.T)  # series first, then periods: the first few rows name the first series' periods
    ids, periods = wide.columns[t], wide.index[j]
    first = [(u, d, own[i, k], parts[i, k]) for u, d, i, k in zip(ids[:5], periods[:5], j[:5], t[:5], strict=True)]
    raise incoherent_error(first, sorted(set(map(str, ids))), int(off.sum()), freq)


def incoherent_error(first: list[tuple], series: list[str], n_rows: int, freq: str | None) -> SchemaError:
    """:func:`_check_coherent`'s refusal: ``first`` (series, period, own count, parts' sum) of the first rows, every
    offending ``series`` (sorted) and how many rows are off. Also the Spark form's, which finds them on the cluster."""
    fmt = "%Y-%m" if freq == "M" else "%Y-%m-%d"
    shown = tuple(f"{u} {pd.Timestamp(d):{fmt}}: {own:g} against {parts:g}" for u, d, own, parts in first)
    n = len(series)
    return SchemaError("series", [SchemaProblem(
        "y", f"{n} series not the sum of their parts in `hierarchy.S` (their own count against the sum of their parts' "
             f"counts): reconciled, each is forecast as the sum of its parts, so what the parts miss is lost from its "
             f"forecast without a word; series: {', '.join(series[:5])}{', ...' if n > 5 else ''}",
        "add a bottom series carrying the difference (e.g. 'port/other': the arrivals at ports the extract does not list), "
        "correct the counts, or fit without the hierarchy (hierarchy=None)",
        shown, n_rows)])


def _infer(history: pd.DataFrame) -> str:
    from riskmodel.core.forecasting.series import infer_freq

    return infer_freq(history)


def history_facts(history: pd.DataFrame, cv: pd.DataFrame, settings: RunSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What choosing and calibrating need of the history, computed where the history is.

    Choice and calibration read the history only through these few numbers, so a
    fit whose history lies elsewhere (on Spark workers) sends them instead of the
    history (see :mod:`riskmodel.core.forecasting.distributed`).

    Returns
    -------
    per_series : DataFrame
        Index ``unique_id``; ``scale`` (interval scale of the whole history),
        ``seen_scale`` and ``volume`` (scale and :func:`recent_volume` of the history
        up to the first holdout cutoff, the whole history without one: the holdout
        must not steer calibration), ``max_y`` (largest count), and ``first_count``,
        ``periods``, ``nonzero_periods`` (the first non-zero count's period, the periods
        from it to the end, the non-zero ones among them: what
        :func:`~riskmodel.core.forecasting.young.young_series` reads).
    at_cutoff : DataFrame
        One row per series and backtest cutoff: ``unique_id, cutoff, n_seen`` (periods
        of history up to the cutoff) and ``max_seen`` (largest count up to it).
    """
    held = cv["holdout"].astype(bool) if len(cv) else pd.Series(dtype=bool)
    end = cv.loc[held, "cutoff"].min() if held.any() else None
    rows = []
    for uid, g in history.groupby("unique_id", sort=True):
        y, mask = g["y"].to_numpy(dtype=float), np.asarray(in_break(g["ds"], settings.breaks), dtype=bool)
        k = len(y) if end is None else int((g["ds"] <= end).sum())
        counted = np.flatnonzero(y > 0)  # what young_series reads: where the first count is, and how many since
        first = (pd.Timestamp(g["ds"].iloc[counted[0]]), int(len(y) - counted[0]), len(counted)) if len(counted) else (pd.NaT, 0, 0)
        rows.append((uid, _scale(y, mask, settings), _scale(y[:k], mask[:k], settings), recent_volume(y[:k]),
                     float(np.max(y)) if len(y) else np.nan, *first))
    per_series = pd.DataFrame(rows, columns=["unique_id", "scale", "seen_scale", "volume", "max_y", "first_count", "periods",
                                             "nonzero_periods"]).set_index("unique_id")
    running = history[["unique_id", "ds"]].assign(
        n_seen=history.groupby("unique_id").cumcount() + 1, max_seen=history.groupby("unique_id")["y"].cummax()
    ).rename(columns={"ds": "cutoff"})
    pairs = cv[["unique_id", "cutoff"]].drop_duplicates() if len(cv) else pd.DataFrame({"unique_id": [], "cutoff": pd.to_datetime([])})
    at_cutoff = pairs.merge(running, on=["unique_id", "cutoff"], how="left").reset_index(drop=True)
    return per_series, at_cutoff


def _at(cv: pd.DataFrame, at_cutoff: pd.DataFrame, column: str, missing: float) -> np.ndarray:
    """``at_cutoff[column]`` for each backtest row (``missing`` where the cutoff has no row)."""
    rows = cv[["unique_id", "cutoff"]].merge(at_cutoff, on=["unique_id", "cutoff"], how="left")
    return rows[column].astype(float).fillna(missing).to_numpy(dtype=float)


def _scale(y: np.ndarray, mask: np.ndarray, settings: RunSettings) -> float:
    """Interval scale of one series, from the history as its break method presents it to the models."""
    return log_scale(scaled_history(y, mask, settings.m, settings.break_method), settings.m, mask)


def _seasonal_units(select: pd.DataFrame, seen: pd.DataFrame, settings: RunSettings) -> pd.DataFrame:
    """Selection rows whose errors are in the unit of the final intervals' scale (see :func:`_in_seasonal_units`).

    ``seen`` is the history up to the holdout cutoff (the whole history without one).
    """
    if settings.m <= 1 or select.empty:
        return select
    per_series, at_cutoff = history_facts(seen, select.assign(holdout=False), settings)
    return _in_seasonal_units(select, per_series["seen_scale"], at_cutoff, settings)


def _in_seasonal_units(select: pd.DataFrame, seen_scale: pd.Series, at_cutoff: pd.DataFrame, settings: RunSettings) -> pd.DataFrame:
    """Selection rows whose errors are in the unit of the final intervals' scale.

    A cutoff with at most one season of history has no seasonal difference, so
    its scale falls back to month-to-month differences, which on a seasonal series
    are the seasons themselves: errors divided by it and multiplied back by the
    final, seasonal scale mixed units (on the BPS 2019 holdout, fitted on
    2017-2018, the one full-horizon window has 12 months of history). Those rows
    take ``seen_scale``, the scale of the history up to the holdout cutoff (the whole
    history without one), which holds the selection windows but no holdout actual.
    """
    if settings.m <= 1 or select.empty:
        return select
    n_at = _at(select, at_cutoff, "n_seen", np.nan)
    short = (n_at <= settings.m) & np.isfinite(select["log_scale"].to_numpy(dtype=float))
    if not short.any():
        return select
    return select.assign(log_scale=np.where(short, select["unique_id"].map(seen_scale).to_numpy(dtype=float), select["log_scale"].to_numpy(dtype=float)))


def _pick(cv: pd.DataFrame, chosen: dict[str, str]) -> np.ndarray:
    if cv.empty:
        return np.zeros(0)
    names = cv["unique_id"].map(chosen).to_numpy()
    out = np.empty(len(cv))
    for name in set(names):
        rows = names == name
        out[rows] = cv.loc[rows, name].to_numpy(dtype=float)
    return out


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_level(value) -> bool:
    """An interval level in percent: a whole number from 1 to 99 (80 or 80.0, not "80")."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        return False
    return float(value).is_integer() and 0 < value < 100


def _check_breaks(breaks) -> None:
    fix = "pass a list of (start, end) date pairs, e.g. [('2020-04-01', '2022-03-31')], or () for none"
    if breaks is None or isinstance(breaks, str):
        raise ConfigError(f"`breaks` must be a list of (start, end) dates; got {breaks!r}: {fix}.")
    for pair in breaks:
        try:
            start, end = (pd.Timestamp(d) for d in pair)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"`breaks` has {pair!r}, not a (start, end) pair of dates: {fix}.") from None
        if pd.isna(start) or pd.isna(end) or start > end:
            raise ConfigError(f"`breaks` has {pair!r}: the start must be a date on or before the end: {fix}.")


def _check_series_reach_the_end(last: pd.Series, freq: str) -> None:
    """Refuse series whose last period (``last``: one per series id) is before the latest: each is forecast
    from its own end, so their "next" periods would be past ones, mixed into one table with the others'
    future (a port closed, a market no longer published)."""
    latest = last.max()
    stale = last[last < latest].sort_index()
    if stale.empty:
        return
    fmt = "%Y-%m" if freq == "M" else "%Y-%m-%d"
    raise SchemaError("series", [SchemaProblem(
        "ds", f"{len(stale)} series stop before {latest:{fmt}}, the latest period of the others: forecast from their own "
              "last period, their next periods would be past ones, in one table with the others' future",
        "add their periods up to the latest (zeros only where none arrived: a port closed; a period not published is no "
        "period of zero arrivals), or leave those series out",
        tuple(f"{uid} last {d:{fmt}}" for uid, d in stale.head(10).items()), len(stale))])


def _check_history_outside_breaks(history: pd.DataFrame, breaks) -> None:
    """ConfigError if a series lies wholly inside the declared breaks: there would be nothing to learn from."""
    outside = pd.Series(~in_break(history["ds"], breaks), index=history.index)
    empty = outside.groupby(history["unique_id"].to_numpy()).sum()
    gone = sorted(str(u) for u in empty.index[empty.to_numpy() == 0])
    if gone:
        raise ConfigError(
            f"every period of {len(gone)} series ({', '.join(gone[:3])}{', ...' if len(gone) > 3 else ''}) lies inside the declared "
            f"`breaks` {list(breaks)}: nothing is left to learn from. Declare the break over its real dates, or pass breaks=()."
        )


def check_calendar(last: pd.Timestamp, h: int, freq: str) -> None:
    """Raise ConfigError when ``h`` periods after ``last`` reach past :data:`CALENDAR_END`."""
    last = pd.Timestamp(last)
    if freq == "M":
        room = (CALENDAR_END.year - last.year) * 12 + CALENDAR_END.month - last.month
    else:
        room = (CALENDAR_END - last).days // (7 if freq == "W" else 1)
    if h > room:
        unit = {"M": "months", "W": "weeks", "D": "days"}[freq]
        raise ConfigError(
            f"horizon `h`={h} {unit} after the last period {last.date()} reaches past the event calendar's end "
            f"{CALENDAR_END.date()}; forecast at most {max(room, 0)} {unit} ahead."
        )


def check_horizon(horizon) -> None:
    """Raise ConfigError unless ``horizon`` is an int >= 1."""
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ConfigError(f"`horizon` must be an int >= 1; got {horizon!r}.")


def _check_level_list(level) -> None:
    """ConfigError unless ``level`` is a list of levels (its values are the Forecaster's to check): ``tuple(80)`` is a
    TypeError, and ``tuple("95")`` the levels ('9', '5'), named in the message as if they had been asked."""
    if isinstance(level, str | bytes) or not isinstance(level, Iterable):
        raise ConfigError(f"`level` must be a list of interval levels in percent, e.g. (80, 95); got {level!r}.")


def forecast(
    horizon: int,
    *,
    model: Forecaster | str | Path | None = None,
    history: pd.DataFrame | None = None,
    level: Sequence[int] = (80, 95),
    on_progress: ProgressHook | None = None,
) -> pd.DataFrame:
    """Forecast arrivals ``horizon`` periods ahead for every series.

    Parameters
    ----------
    horizon : int
        Periods to forecast (days, weeks or months, as the series).
    model : Forecaster, str or Path, optional
        A fitted :class:`Forecaster`; a local folder or MLflow model URI
        (``models:/arrival-forecast@champion``) of a logged forecaster; or None to
        fit a default Forecaster on ``history``.
    history : DataFrame, optional
        Long frame ``unique_id, ds, y``. With ``model`` given, the model's settings
        are refitted on this history, over the model's hierarchy when it has one (the
        history must then hold exactly its series, so the forecasts are reconciled as
        the model's are); required when ``model`` is None.
    level : sequence of int, default=(80, 95)
        Interval levels in percent. Levels other than those of ``model`` (with no ``history``) refit it on its
        own history with its own settings, its backtest horizon included, so the models chosen and the point
        forecasts are the model's; only the interval columns are the ones asked.
    on_progress : callable, optional
        ``on_progress(what, done, total)`` (:mod:`riskmodel.core.progress`): the
        backtest windows and the final fit, when a forecaster is fitted here.

    Returns
    -------
    DataFrame
        Columns ``unique_id, ds, y_hat, y_lo_<L>, y_hi_<L>`` (each level ascending),
        ``model``; see :meth:`Forecaster.predict`.

    Raises
    ------
    ConfigError
        If ``horizon`` is not an int >= 1 or reaches past :data:`CALENDAR_END`, ``level`` is not a
        list of levels (a bare 80 or "95"), or neither ``model`` nor ``history`` is given.
    SchemaError
        If ``history`` is not a valid series frame, or lacks or adds series to the
        hierarchy of ``model``.
    ModelLoadError
        If ``model`` is a path or URI that cannot be loaded.

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> ds = pd.date_range("2016-01-01", periods=48, freq="MS")
    >>> df = pd.DataFrame({"unique_id": "total", "ds": ds, "y": 500.0 + 100 * (ds.month == 7)})
    >>> fc = forecast(6, history=df, level=(95,))
    >>> fc.shape
    (6, 6)
    """
    check_horizon(horizon)
    _check_level_list(level)
    if model is None and history is None:
        raise ConfigError("pass `model` (a fitted Forecaster, path or URI) or `history` (series to fit on); got neither.")
    if isinstance(model, str | Path):
        raise ConfigError(f"`model` {str(model)!r} is a path or URI: call riskmodel.forecast, which loads it, or pass riskmodel.load(uri).")
    if model is not None and not isinstance(model, Forecaster):
        raise ConfigError(f"`model` must be a Forecaster, a path or a model URI; got {type(model).__name__}.")
    fitted, out = _forecast_of(int(horizon), model, history, tuple(level), on_progress)
    # every path: a model whose data ends periods before today serves past periods as the outlook
    warn_stale_outlook(out, fitted.freq_, fitted.history_["ds"].max(), stacklevel=3)
    return out


def _forecast_of(horizon: int, model, history, level: tuple, on_progress) -> tuple[Forecaster, pd.DataFrame]:
    """The forecaster that answers a :func:`forecast` call and its forecast."""
    if model is None:
        fitted = Forecaster(h=horizon, level=level).fit(history, on_progress=on_progress)
        return fitted, fitted.predict()
    if history is not None:
        params = model.get_params() | {"level": level, "h": horizon}
        if model.hierarchy_ is not None:  # its `reconcile` setting needs the hierarchy
            _check_hierarchy(validate_series(history, model.freq), model.hierarchy_, of_model=True)
        fitted = Forecaster(**params).fit(history, model.hierarchy_, on_progress=on_progress)
        return fitted, fitted.predict()
    if tuple(sorted(level)) != tuple(getattr(model, "level_", ())):
        # other interval levels need the backtest errors again: refit on the model's own history with its own backtest
        # horizon (the asked one would choose other models), then forecast the asked horizon as the model does
        params = model.get_params() | {"level": level}
        fitted = Forecaster(**params).fit(model.history_, model.hierarchy_, on_progress=on_progress)
        return fitted, fitted.predict(horizon)
    warn_open_breaks(model, stacklevel=4)
    warn_largest_error_ends(model, stacklevel=4)
    warn_young_series(model, stacklevel=4)
    return model, model.predict(horizon)


def warn_open_breaks(model: Forecaster, *, stacklevel: int = 3) -> None:
    """A :class:`~riskmodel.core.exceptions.BreakWarning` when a fitted forecaster's history ends inside a break."""
    table = getattr(model, "open_breaks_", None)
    if table is not None and len(table):
        warnings.warn(
            open_breaks_message(table) + " Silence with warnings.filterwarnings('ignore', category=riskmodel.BreakWarning).",
            BreakWarning, stacklevel=stacklevel,
        )


def warn_largest_error_ends(model: Forecaster, *, stacklevel: int = 3) -> None:
    """An :class:`~riskmodel.core.exceptions.IntervalWarning` when interval ends are the largest backtest error."""
    table = getattr(model, "largest_error_ends_", None)
    if table is not None and len(table):
        warnings.warn(
            largest_error_message(table, model.interval_groups_)
            + " Silence with warnings.filterwarnings('ignore', category=riskmodel.IntervalWarning).",
            IntervalWarning, stacklevel=stacklevel,
        )


def warn_young_series(model: Forecaster, *, stacklevel: int = 3) -> None:
    """A :class:`~riskmodel.core.exceptions.YoungSeriesWarning` when a fitted forecaster has series too young to forecast."""
    table = getattr(model, "young_series_", None)
    if table is not None and len(table):
        warnings.warn(
            young_series_message(table, model.freq_)
            + " Silence with warnings.filterwarnings('ignore', category=riskmodel.YoungSeriesWarning).",
            YoungSeriesWarning, stacklevel=stacklevel,
        )
