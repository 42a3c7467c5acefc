"""Forecast monitoring: score stored forecasts against the actuals once they arrive."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.forecasting.backtest import mase_scale
from riskmodel.core.forecasting.calendar import COVID_BREAK, in_break
from riskmodel.core.forecasting.series import FREQS, check_series, duplicate_periods, infer_freq, season_length

__all__ = ["levels_of_ids", "mase_season", "score_forecasts"]


def levels_of_ids(ids) -> dict[str, list[str]]:
    """Hierarchy levels read from series ids as ``make_series`` names them: ``port/Batam`` is in ``port``.

    Parameters
    ----------
    ids : iterable of str
        Series ids (``unique_id``).

    Returns
    -------
    dict of str to list of str
        Level -> its ids, levels sorted. An id without ``/`` (``total``) is a level of its own, but
        only beside ids with one: ids of no hierarchy (``passport``, ``stay_permit``) give ``{}``.
    """
    ids = sorted({str(i) for i in ids})
    if not any("/" in i for i in ids):
        return {}
    levels: dict[str, list[str]] = {}
    for i in ids:
        levels.setdefault(i.split("/", 1)[0], []).append(i)
    return dict(sorted(levels.items()))


def mase_season(series: pd.DataFrame) -> int:
    """Season length of the MASE scale for a long frame's frequency, as the Forecaster's: M 12, W 52, D 7.

    Raises
    ------
    SchemaError
        If the frequency cannot be told (no series with two periods, or a step of no day, week or month).
    """
    try:
        return season_length(infer_freq(series))
    except SchemaError as exc:
        fix = "pass the season length `m` (evaluate-forecasts: --season): 12 for months, 52 for weeks, 7 for days"
        raise SchemaError("forecast monitoring", [dataclasses.replace(p, fix=fix) for p in exc.problems]) from None


def _scales(base: pd.DataFrame, m: int, breaks: Sequence[tuple[str, str]]) -> dict:
    """MASE scale of each series of ``base``, as the forecaster's: differences touching a break left out, NaN for none.

    No scale (no history, or a flat one) is no MASE: scale 1.0 made an error in people read as a MASE.
    """
    try:
        step = FREQS[infer_freq(base)]
    except SchemaError:  # a history of single periods: nothing to difference, by position or by date
        step = None
    out = {}
    for uid, g in base.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=False):
        y = g.set_index("ds")["y"].astype(float)
        if step is not None:  # by date, not position: a missing period is NaN, so 12 back is a year back across a gap
            y = y.reindex(pd.date_range(y.index.min(), y.index.max(), freq=step))
        mask = in_break(pd.DatetimeIndex(y.index), breaks) if breaks else None
        out[uid] = mase_scale(y.to_numpy(dtype=float), m, mask, fallback=np.nan)
    return out


def _check_inputs(forecasts: pd.DataFrame, actuals: pd.DataFrame, history: pd.DataFrame | None) -> None:
    """Missing columns, then repeated periods: a period sent twice would be counted twice in every figure."""
    problems = [SchemaProblem(c, "column is missing", "pass forecast() output") for c in ("unique_id", "ds", "y_hat") if c not in forecasts]
    problems += [SchemaProblem(c, "column is missing", "pass actuals as unique_id, ds, y") for c in ("unique_id", "ds", "y") if c not in actuals]
    if history is not None:
        problems += [SchemaProblem(c, "column is missing in the history", "pass the history as unique_id, ds, y")
                     for c in ("unique_id", "ds", "y") if c not in history]
    if problems:
        raise SchemaError("forecast monitoring", problems)
    for name, frame in (("forecasts", forecasts), ("actuals", actuals), ("history", history)):
        problems = duplicate_periods(frame) if frame is not None else []
        if problems:
            raise SchemaError(f"forecast monitoring: {name}", problems)
    problems = _actual_problems(actuals, forecasts, history)
    if problems:
        raise SchemaError("forecast monitoring: actuals", problems)


#: What the series contract says of a whole series that actuals need not be: gapless, or long enough to tell a frequency.
_NOT_ASKED_OF_ACTUALS = ("series have gaps", "no series has two periods", "the usual step between periods")


def _actual_problems(actuals: pd.DataFrame, forecasts: pd.DataFrame, history: pd.DataFrame | None) -> list[SchemaProblem]:
    """The series contract's refusals of the actuals (:func:`~riskmodel.core.forecasting.series.check_series`).

    A missing, negative or infinite actual was scored (a blank month counted as a miss of every interval), and one
    dated off the forecasts' period start (a month's end) matched no forecast and was dropped without a word. The
    frequency is the forecasts' (else the history's, else the actuals'); gaps are allowed (a month not yet in).
    """
    freq = None
    for frame in (forecasts, history, actuals):
        if frame is not None and pd.api.types.is_datetime64_any_dtype(frame["ds"]):
            try:
                freq = infer_freq(frame)
                break
            except SchemaError:
                continue
    problems = [p for p in check_series(actuals[["unique_id", "ds", "y"]], freq) if not p.problem.startswith(_NOT_ASKED_OF_ACTUALS)]
    fix = "date each actual at its forecast period's start (the first of the month, a Monday, a day at midnight), as the forecasts are"
    return [dataclasses.replace(p, fix=fix) if p.problem.startswith("is not at a period start") else p for p in problems]


def _missing_actuals(forecasts: pd.DataFrame, actuals: pd.DataFrame) -> dict[str, int]:
    """Per forecast series, its periods that the actuals hold for some other series but not for it (a port's feed down,
    not a period still to come), by series id; series missing none are left out."""
    keys = forecasts[["unique_id", "ds"]].astype({"unique_id": str})
    came = actuals[["unique_id", "ds"]].astype({"unique_id": str})
    due = keys[keys["ds"].isin(set(came["ds"]))]
    held = pd.MultiIndex.from_frame(came)
    missing = due[~pd.MultiIndex.from_frame(due).isin(held)]
    counts = missing.groupby("unique_id").size()
    return {str(k): int(v) for k, v in counts.sort_index().items()}


def score_forecasts(
    forecasts: pd.DataFrame,
    actuals: pd.DataFrame,
    *,
    history: pd.DataFrame | None = None,
    m: int | None = None,
    breaks: Sequence[tuple[str, str]] = (COVID_BREAK,),
    tags: dict[str, list[str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy of past forecasts on the periods whose actuals are now known.

    Parameters
    ----------
    forecasts : DataFrame
        Output of :func:`~riskmodel.core.forecasting.forecast` (``unique_id, ds, y_hat`` and
        ``y_lo_<L>``/``y_hi_<L>`` columns).
    actuals : DataFrame
        Long frame ``unique_id, ds, y`` of what happened.
    history : DataFrame, optional
        The history the forecasts were made from, for the MASE scale; without it
        the scale is computed on ``actuals`` themselves.
    m : int, optional
        Season length of the MASE scale; by default the Forecaster's for the frequency of
        the history (or actuals) (:func:`mase_season`: 12 for months, 52 for weeks, 7 for days).
    breaks : sequence of (str, str), default=(COVID_BREAK,)
        Declared breaks, as the Forecaster's ``breaks``: seasonal differences touching or
        spanning one are left out of the MASE scale, as in the forecaster's own backtests and
        holdout (a collapse must not make later errors look small). ``()`` for none.
    tags : dict of str to list of str, optional
        Hierarchy level -> series ids, for the per-level summary.

    Returns
    -------
    per_series : DataFrame
        ``unique_id, n, mase, bias, coverage_<L>...``; ``coverage_<L>`` is over the periods with
        both bounds, missing for a series forecast without an interval (never 0); ``bias`` is
        ``sum(y_hat - y) / sum(y)`` (positive: over-forecast). ``mase`` is missing (NaN) for a
        series with no scale (absent from the history, or no seasonal or one-step change in
        it: a closed port's zeros), never its error in people; ``bias`` is missing where the
        actuals sum to 0 (a port closed during the horizon).
    per_level : DataFrame
        ``level, n_series, n_mase, mase, n_bias, bias, coverage_<L>..., n_intervals_<L>...``: means
        over the series that have the figure, ``n_mase``/``n_bias``/``n_intervals_<L>`` of them;
        level ``"all"`` first. The MASE scale differences the history by date: a period it lacks
        leaves out the differences that touch it.

        ``per_series.attrs["missing_actuals"]``: series id -> how many of its forecast periods lack an actual
        that the actuals hold for another series (its feed, not time, is missing); those periods, and a series
        with none, are in no figure.

    Raises
    ------
    SchemaError
        If a needed column is missing, a ``(unique_id, ds)`` pair repeats in the forecasts,
        the actuals or the history (naming the table and the pairs), or no forecast period has
        an actual yet.
    """
    _check_inputs(forecasts, actuals, history)
    merged = forecasts.merge(actuals[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="inner")
    if merged.empty:
        raise SchemaError(
            "forecast monitoring",
            [SchemaProblem("ds", "no forecast period has an actual yet", "wait until actuals for the forecast periods arrive")],
        )
    levels = sorted({int(m_.group(1)) for c in forecasts.columns if (m_ := re.fullmatch(r"y_lo_(\d+)", c))})
    base = history if history is not None else actuals
    scales = _scales(base, m if m is not None else mase_season(base), breaks)
    rows = []
    for uid, g in merged.groupby("unique_id", sort=True):
        y, f = g["y"].to_numpy(dtype=float), g["y_hat"].to_numpy(dtype=float)
        rec = {
            "unique_id": uid,
            "n": len(g),
            "mase": float(np.mean(np.abs(y - f)) / scales.get(uid, np.nan)),
            # actuals of 0 (a port closed in the horizon) have no share to be off by
            "bias": float((f - y).sum() / y.sum()) if y.sum() > 0 else np.nan,
        }
        for L in levels:
            lo, hi = g[f"y_lo_{L}"].to_numpy(dtype=float), g[f"y_hi_{L}"].to_numpy(dtype=float)
            bounded = ~np.isnan(lo) & ~np.isnan(hi)  # a row without bounds has no interval to hold its actual: no coverage, never 0
            rec[f"coverage_{L}"] = float(np.mean((y >= lo) & (y <= hi), where=bounded)) if bounded.any() else np.nan
        rows.append(rec)
    per_series = pd.DataFrame(rows)
    per_series.attrs["missing_actuals"] = _missing_actuals(forecasts, actuals)
    groups = {"all": list(per_series["unique_id"])}
    groups.update(tags or {})
    summary = []
    for level, ids in groups.items():
        part = per_series[per_series["unique_id"].isin(ids)]
        if len(part):  # a mean over the series that have the figure, with their count beside it
            means = part.drop(columns=["unique_id", "n"]).mean().to_dict()
            counts = {f"n_intervals_{L}": int(part[f"coverage_{L}"].notna().sum()) for L in levels}
            summary.append({"level": level, "n_series": len(part), "n_mase": int(part["mase"].notna().sum()), "mase": means.pop("mase"),
                            "n_bias": int(part["bias"].notna().sum()), "bias": means.pop("bias"), **means, **counts})
    return per_series, pd.DataFrame(summary)
