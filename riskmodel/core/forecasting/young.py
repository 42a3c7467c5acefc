"""Series too young to forecast: a port that just opened, a market BPS has just begun to list.

Such a series is zeros until its first count, and the models fit those leading zeros as its
own past: a port with 400 and 520 arrivals in its only two months was forecast at about 9 a
month (0 when the history starts after the COVID break), with intervals calibrated on the
other series' errors. A series is *too young* when fewer than one season plus one horizon
(``m + h`` periods: 18 months for a monthly forecaster at ``h=6``, 24 at ``h=12``) run from
its first non-zero count to the end of its history: no backtest window of the full horizon
can be scored on it after a season to fit on. The count runs from the first non-zero count,
so an old series with empty months (a cruise port) is not young, and a series that never had
a count (all zeros) is not listed: nothing has started.

The Forecaster lists them (``young_series_``), marks their rows (``model`` ends in
:data:`YOUNG_LABEL`) and warns with :class:`~riskmodel.core.exceptions.YoungSeriesWarning`;
their forecasts are left as the models made them (several series of the BPS nationality
file start late in the benchmark's fits, and the benchmark scores them as they are).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["YOUNG_COLUMNS", "YOUNG_LABEL", "young_from_facts", "young_series", "young_series_message", "young_table"]

#: Columns of :func:`young_series`.
YOUNG_COLUMNS = ["unique_id", "first_count", "periods", "nonzero_periods", "needed"]
#: Appended to the ``model`` of a young series' forecast rows.
YOUNG_LABEL = " (too young)"
_UNITS = {"M": "months", "W": "weeks", "D": "days"}


def young_table(records: list) -> pd.DataFrame:
    """A :func:`young_series` table (typed, possibly empty) from its records (e.g. as saved in JSON)."""
    table = pd.DataFrame(records, columns=YOUNG_COLUMNS)
    return table.astype({"unique_id": str, "first_count": "datetime64[ns]", "periods": int, "nonzero_periods": int, "needed": int})


def young_series(history: pd.DataFrame | None, m: int, h: int) -> pd.DataFrame:
    """Series with fewer than ``m + h`` periods from their first non-zero count to the end of the history.

    Parameters
    ----------
    history : DataFrame or None
        Validated long frame ``unique_id, ds, y``, sorted by ``unique_id, ds``; None: no table rows.
    m : int
        Season length.
    h : int
        Forecast horizon.

    Returns
    -------
    DataFrame
        :data:`YOUNG_COLUMNS`: ``first_count`` (the period of the first non-zero count),
        ``periods`` (from it to the end of the history, itself included), ``nonzero_periods``
        (how many of them are non-zero) and ``needed`` (``m + h``), one row per young series.
    """
    rows = []
    for uid, g in (history.groupby("unique_id", sort=True) if history is not None else ()):
        y = g["y"].to_numpy(dtype=float)
        counted = np.flatnonzero(y > 0)
        if not len(counted) or len(y) - counted[0] >= m + h:
            continue
        rows.append({"unique_id": str(uid), "first_count": pd.Timestamp(g["ds"].iloc[counted[0]]), "periods": int(len(y) - counted[0]),
                     "nonzero_periods": int(len(counted)), "needed": int(m + h)})
    return young_table(rows)


def young_from_facts(per_series: pd.DataFrame, m: int, h: int) -> pd.DataFrame:
    """:func:`young_series` from the per-series facts computed where the history is (Spark's pooled fit).

    ``per_series`` is :func:`~riskmodel.core.forecasting.forecaster.history_facts`' first frame: index
    ``unique_id`` with ``first_count``, ``periods`` and ``nonzero_periods``; facts without them (computed
    before they were) give no rows.
    """
    if not {"first_count", "periods", "nonzero_periods"} <= set(per_series.columns):
        return young_table([])
    young = per_series[(per_series["periods"] > 0) & (per_series["periods"] < m + h)].sort_index()
    return young_table([{"unique_id": str(uid), "first_count": pd.Timestamp(r.first_count), "periods": int(r.periods),
                         "nonzero_periods": int(r.nonzero_periods), "needed": int(m + h)} for uid, r in young.iterrows()])


def young_series_message(table: pd.DataFrame, freq: str) -> str:
    """What :class:`~riskmodel.core.exceptions.YoungSeriesWarning` says about :func:`young_series`' table, with the fix."""
    unit = _UNITS.get(freq, "periods")
    shown = "; ".join(
        f"{r.unique_id}: first count {pd.Timestamp(r.first_count):%Y-%m-%d}, {r.periods} {unit} since, {r.nonzero_periods} of them non-zero"
        for r in table.head(3).itertuples(index=False)
    )
    more = f" (and {len(table) - 3} more)" if len(table) > 3 else ""
    needed = int(table["needed"].max())
    return (f"{len(table)} series too young to forecast, with fewer than {needed} {unit} (one season plus the horizon) since "
            f"their first count: {shown}{more}. The models fit their leading zeros as their own past, so their forecasts "
            f"and intervals can sit far below what they just had; their rows' `model` ends in '{YOUNG_LABEL.strip()}'. "
            f"Fix: plan them from their recent counts by hand until they have {needed} {unit} of history, or leave them "
            "out of the history. Listed in Forecaster.young_series_.")
