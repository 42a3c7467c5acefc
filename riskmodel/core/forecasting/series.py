"""Arrival series: aggregate a crossings log into long-format series and validate them.

Every forecaster in :mod:`riskmodel.core.forecasting` reads series in long format, one row
per series and period, as the Nixtla libraries do:

========== =========== ==================================================
column     dtype       meaning
========== =========== ==================================================
unique_id  str         series id, ``"<level>/<key>"`` (``"total"`` alone)
ds         datetime64  start of the period (day, Monday of the week, 1st
                       of the month)
y          float64     arrivals in the period (>= 0)
========== =========== ==================================================

:func:`make_series` builds them from the entries of a crossings log at the levels
``total``, ``port_type``, ``port``, ``region``, ``nationality`` and
``port_nationality``; :func:`aggregate` does the same for any frame of bottom-level
counts (e.g. BPS tables), and both return the :class:`Hierarchy` saying which
bottom series sum to which aggregate. :func:`validate_series` checks any long
frame (duplicates, gaps, negative or missing counts, frequency).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import PartialPeriodWarning, SchemaError, SchemaProblem

__all__ = [
    "LEVELS",
    "FREQS",
    "ArrivalSeries",
    "Hierarchy",
    "aggregate",
    "make_series",
    "check_series",
    "validate_series",
    "fill_gaps",
    "infer_freq",
    "season_length",
    "duplicate_periods",
]

#: Levels :func:`make_series` can build, with the key columns that define them.
LEVELS: dict[str, tuple[str, ...]] = {
    "total": (),
    "port_type": ("port_type",),
    "port": ("port",),
    "region": ("region",),
    "nationality": ("nationality",),
    "port_nationality": ("port", "nationality"),
}

#: Accepted frequencies and the pandas offset of their period starts.
FREQS: dict[str, str] = {"D": "D", "W": "W-MON", "M": "MS"}
_PERIOD = {"D": "D", "W": "W", "M": "M"}
_SEASON = {"D": 7, "W": 52, "M": 12}
_MAX_IDS = 5


def season_length(freq: str) -> int:
    """Main seasonal period of a frequency: 7 for daily, 52 for weekly, 12 for monthly."""
    return _SEASON[_check_freq(freq)]


@dataclass(frozen=True)
class Hierarchy:
    """Which bottom series sum to which series.

    Attributes
    ----------
    S : DataFrame
        Summing matrix of 0/1 floats: one row per series (index ``unique_id``, every
        series of the hierarchy), one column per bottom series. Row ``i`` says which
        bottom series add up to series ``i``.
    tags : dict of str to list of str
        The series ids of each level, from the top level to the bottom one.
    """

    S: pd.DataFrame
    tags: dict[str, list[str]] = field(default_factory=dict)

    @property
    def bottom(self) -> list[str]:
        """Ids of the bottom series, in the column order of ``S``."""
        return list(self.S.columns)


@dataclass(frozen=True)
class ArrivalSeries:
    """Series in long format together with their hierarchy.

    Attributes
    ----------
    df : DataFrame
        Columns ``unique_id, ds, y`` (see the module docstring), sorted by
        ``unique_id, ds``, every series complete (no gaps) over the whole span.
    hierarchy : Hierarchy
        How the series add up.
    freq : {"D", "W", "M"}
        Frequency of ``ds``.
    """

    df: pd.DataFrame
    hierarchy: Hierarchy
    freq: str


def _check_freq(freq: str) -> str:
    if freq not in FREQS:
        raise ValueError(f"`freq` must be one of {sorted(FREQS)}; got {freq!r}.")
    return freq


def _period_start(ts: pd.Series, freq: str) -> pd.Series:
    ts = pd.to_datetime(ts)
    if freq == "D":
        return ts.dt.normalize()
    return ts.dt.to_period(_PERIOD[freq]).dt.start_time.astype("datetime64[ns]")


def _series_id(level: str, keys: pd.DataFrame) -> pd.Series:
    if keys.shape[1] == 0:
        return pd.Series(level, index=keys.index, dtype=object)
    joined = keys.astype(str).agg("|".join, axis=1) if keys.shape[1] > 1 else keys.iloc[:, 0].astype(str)
    return level + "/" + joined.astype(object)


def aggregate(
    df: pd.DataFrame,
    spec: Mapping[str, Sequence[str]],
    *,
    freq: str = "M",
    time_col: str = "ds",
    value_col: str | None = "y",
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> ArrivalSeries:
    """Aggregate bottom-level records or counts into the series of every level.

    Parameters
    ----------
    df : DataFrame
        One row per record (``value_col=None``: each row counts 1) or per
        bottom cell with a count in ``value_col``; the key columns named in
        ``spec`` and a time column.
    spec : mapping of str to list of str
        Level name -> key columns naming its series, e.g. ``{"total": [],
        "port_type": ["port_type"], "port": ["port"]}``. The level with the most
        series is the bottom (on a tie, the one listed last); each bottom series must belong to exactly one series of
        every other level (here: one port type per port).
    freq : {"D", "W", "M"}, default="M"
        Period of the series (day, ISO week starting Monday, calendar month).
    time_col : str, default="ds"
        Column holding timestamps; they are floored to the period start.
    value_col : str or None, default="y"
        Column holding counts, or None to count rows.
    start, end : str or Timestamp, optional
        Span of the series; defaults to the first and last period in ``df``.
        Periods without records are zeros.

    Returns
    -------
    ArrivalSeries
        ``df`` with columns ``unique_id, ds, y`` and the :class:`Hierarchy`.
        Ids are ``"<level>/<key>"`` (keys of several columns joined with ``|``)
        and just the level name for a level without keys (``"total"``).

    Raises
    ------
    ValueError
        If ``freq`` is unknown or ``spec`` is not a hierarchy, if ``end`` is before ``start`` (no period
        between them), or there is no row and no ``start``/``end``.
    SchemaError
        If a key or time column is missing.
    """
    freq = _check_freq(freq)
    if not spec:
        raise ValueError("`spec` must name at least one level; got an empty mapping.")
    group_cols = list(dict.fromkeys(c for cols in spec.values() for c in cols))
    needed = group_cols + [time_col] + ([value_col] if value_col else [])
    missing = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if missing:
        raise SchemaError(
            "series",
            [SchemaProblem(c, "column is missing", f"add column `{c}` or change `spec`") for c in missing],
        )
    work = pd.DataFrame({c: df[c].astype(str).to_numpy(dtype=object) for c in group_cols})
    work["ds"] = _period_start(df[time_col], freq).to_numpy()
    work["y"] = df[value_col].to_numpy(dtype=float) if value_col else 1.0
    lo = pd.Timestamp(start) if start is not None else work["ds"].min()
    hi = pd.Timestamp(end) if end is not None else work["ds"].max()
    if pd.isna(lo) or pd.isna(hi):
        raise ValueError("no entry to count and no span: pass a log with entry rows, or `start` and `end`.")
    grid = pd.date_range(_period_start(pd.Series([lo]), freq).iloc[0], _period_start(pd.Series([hi]), freq).iloc[0], freq=FREQS[freq])
    if not len(grid):  # else pandas' IndexError below
        times = pd.to_datetime(df[time_col])
        first, last = (pd.Timestamp(start) if start is not None else times.min()), (pd.Timestamp(end) if end is not None else times.max())
        raise ValueError(f"`end` ({last.date()}) is before `start` ({first.date()}): no {dict(M='month', W='week', D='day')[freq]} lies "
                         "between them. Fix: give an `end` on or after `start` (by default the log's first entry and last whole period).")
    work = work[(work["ds"] >= grid[0]) & (work["ds"] <= grid[-1])]
    if group_cols:
        bottom = work.groupby(group_cols + ["ds"], sort=False)["y"].sum().reset_index()
        keys = bottom[group_cols].drop_duplicates().reset_index(drop=True)
    else:
        bottom = work.groupby("ds")["y"].sum().reset_index()
        keys = pd.DataFrame(index=[0])
    order = {level: i for i, level in enumerate(spec)}
    bottom_level = max(spec, key=lambda k: (len(keys[list(spec[k])].drop_duplicates()) if spec[k] else 1, len(spec[k]), order[k]))
    bottom_ids = _series_id(bottom_level, keys[list(spec[bottom_level])]).astype(str)
    if bottom_ids.duplicated().any():
        dup = sorted(bottom_ids[bottom_ids.duplicated()].unique())
        raise ValueError(
            f"levels of `spec` do not nest: bottom series {dup[:_MAX_IDS]} belong to several parents; "
            "make every key map to exactly one parent (e.g. one port type per port)."
        )
    frames, s_rows, tags = [], [], {}
    for level in sorted(spec, key=lambda k: (len(spec[k]), k)):
        cols = list(spec[level])
        if cols:
            g = bottom.groupby(cols + ["ds"])["y"].sum().reset_index()
            ids = _series_id(level, g[cols])
        else:
            g = bottom.groupby("ds")["y"].sum().reset_index()
            ids = pd.Series(level, index=g.index, dtype=object)
        frames.append(pd.DataFrame({"unique_id": ids.to_numpy(dtype=object), "ds": g["ds"].to_numpy(), "y": g["y"].to_numpy()}))
        parent = (_series_id(level, keys[cols]) if cols else pd.Series(level, index=keys.index)).astype(str)
        level_ids = sorted(set(parent))
        tags[level] = level_ids
        onehot = pd.crosstab(parent.to_numpy(), bottom_ids.to_numpy()).reindex(index=level_ids, columns=sorted(bottom_ids), fill_value=0)
        s_rows.append(onehot.astype(float))
    S = pd.concat(s_rows)
    S.index.name = "unique_id"
    S.columns.name = None
    long = pd.concat(frames, ignore_index=True)
    long = fill_gaps(long, freq, start=grid[0], end=grid[-1])
    return ArrivalSeries(df=long, hierarchy=Hierarchy(S=S, tags=tags), freq=freq)


def make_series(
    crossings: pd.DataFrame,
    *,
    freq: str = "M",
    levels: Sequence[str] = tuple(LEVELS),
    ports: pd.DataFrame | None = None,
    nationalities: pd.DataFrame | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> ArrivalSeries:
    """Arrival series from the entries of a crossings log.

    Parameters
    ----------
    crossings : DataFrame
        Crossings log (see :mod:`riskmodel.core.schema`); only ``direction == "entry"`` rows
        count, using columns ``timestamp``, ``port`` and ``nationality``.
    freq : {"D", "W", "M"}, default="M"
        Day, ISO week (starting Monday) or calendar month.
    levels : sequence of str, default=all of :data:`LEVELS`
        Which levels to build. With ``port_nationality`` the hierarchy is grouped
        (port x nationality at the bottom); otherwise the finest requested level of a
        single branch (total > port type > port, or total > region > nationality)
        is the bottom, and asking for both branches without ``port_nationality`` is
        an error because they do not share bottom series.
    ports : DataFrame, optional
        Columns ``port, port_type``; defaults to :data:`riskmodel.core.datasets.PORTS`.
    nationalities : DataFrame, optional
        Columns ``nationality, region``; defaults to
        :data:`riskmodel.core.datasets.NATIONALITIES`.
    start, end : str or Timestamp, optional
        Span; defaults to the first entry and the last whole period of the log: a last month
        or week the log (exits too) does not reach the last day of is partial, left out with a
        :class:`~riskmodel.core.exceptions.PartialPeriodWarning` (pass ``end`` to keep it).
        Periods without entries are zeros.

    Returns
    -------
    ArrivalSeries
        ``.df`` with columns ``unique_id, ds, y``; ``.hierarchy`` with the summing
        matrix; ids such as ``"total"``, ``"port_type/air"``, ``"port/Ngurah Rai"``,
        ``"region/Oceania"``, ``"nationality/AUS"``, ``"port_nationality/Batam|SGP"``.

    Raises
    ------
    ValueError
        If a level or ``freq`` is unknown, or the levels do not form one hierarchy; if ``end`` is before
        ``start`` (no period between them), or the log holds no entry and no ``start``/``end`` is given.
    SchemaError
        If a needed column is missing or a port or nationality has no metadata.

    Examples
    --------
    >>> from riskmodel import make_crossings, make_series
    >>> data = make_crossings(2_000, "2023-01-01", "2023-12-31", seed=0)
    >>> series = make_series(data.crossings, freq="M", levels=["total", "port_type", "port"])
    >>> list(series.df.columns)
    ['unique_id', 'ds', 'y']
    """
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown or not levels:
        raise ValueError(f"`levels` must be a non-empty subset of {list(LEVELS)}; got {list(levels)}.")
    port_branch = {"port_type", "port"} & set(levels)
    nat_branch = {"region", "nationality"} & set(levels)
    if port_branch and nat_branch and "port_nationality" not in levels:
        raise ValueError(
            f"`levels` {list(levels)} mix the port and nationality branches, which share no bottom "
            "series; add 'port_nationality' or build the two branches with two calls."
        )
    missing = [c for c in ("direction", "timestamp", "port", "nationality") if c not in crossings.columns]
    if missing:
        raise SchemaError(
            "crossings",
            [SchemaProblem(c, "column is missing", "pass a crossings log (see riskmodel.core.schema.CROSSINGS)") for c in missing],
        )
    entries = crossings.loc[crossings["direction"].astype(str) == "entry", ["timestamp", "port", "nationality"]].copy()
    entries["port"] = entries["port"].astype(str)
    entries["nationality"] = entries["nationality"].astype(str)
    need_ports = bool({"port_type"} & set(levels))
    need_nats = bool({"region"} & set(levels))
    if need_ports or need_nats:
        from riskmodel.core import datasets  # metadata only; imported lazily to keep this module light

        if need_ports:
            ports = datasets.PORTS if ports is None else ports
            entries = _attach(entries, ports, "port", "port_type")
        if need_nats:
            nationalities = datasets.NATIONALITIES if nationalities is None else nationalities
            entries = _attach(entries, nationalities, "nationality", "region")
    spec = {level: list(LEVELS[level]) for level in levels}
    if end is None and len(entries):
        end = _last_whole_period(crossings["timestamp"], freq)
    return aggregate(entries, spec, freq=freq, time_col="timestamp", value_col=None, start=start, end=end)


def _last_whole_period(timestamps: pd.Series, freq: str) -> pd.Timestamp:
    """The start of the last period the log covers to its last day (every direction counts: an exit
    shows the log ran that day); a :class:`PartialPeriodWarning` names a later, partial period left out."""
    freq = _check_freq(freq)
    last = pd.to_datetime(timestamps).max()
    period = _period_start(pd.Series([last]), freq).iloc[0]
    following = period + pd.tseries.frequencies.to_offset(FREQS[freq])
    if last.normalize() >= following - pd.Timedelta(days=1):
        return period
    label = {"M": f"{period:%Y-%m}", "W": f"the week of Monday {period:%Y-%m-%d}"}.get(freq, f"{period:%Y-%m-%d}")
    warnings.warn(
        f"the last period, {label}, was left out of the series: the crossings log ends on {last:%Y-%m-%d}, before the "
        "period's last day, so its count holds only part of its arrivals and would read as a fall. Fix: build the series "
        f"again once the log covers the whole period, or pass end=\"{following - pd.Timedelta(days=1):%Y-%m-%d}\" to keep it anyway.",
        PartialPeriodWarning, stacklevel=3,
    )
    return period - pd.Timedelta(days=1)


def _attach(entries: pd.DataFrame, meta: pd.DataFrame, key: str, col: str) -> pd.DataFrame:
    lookup = dict(zip(meta[key].astype(str), meta[col].astype(str), strict=False))
    mapped = entries[key].map(lookup)
    bad = mapped.isna()
    if bad.any():
        values = sorted(entries.loc[bad, key].unique())
        raise SchemaError(
            "crossings",
            [SchemaProblem(key, f"has values with no `{col}` in the metadata table", f"add them to the `{key}` table passed to make_series", tuple(values[:_MAX_IDS]), int(bad.sum()))],
        )
    entries[col] = mapped.astype(str)
    return entries


#: The fix of a series with gaps: an unpublished period is no period of zero arrivals.
_GAP_FIX = ("add the missing periods with their counts (a period not published is no period of zero arrivals: fill it from "
            "another source, or leave the series out); where none arrived, riskmodel.core.forecasting.fill_gaps(df, freq) adds zeros")


def fill_gaps(
    df: pd.DataFrame,
    freq: str,
    *,
    value: float = 0.0,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Add the missing periods of each series with ``y = value``.

    Parameters
    ----------
    df : DataFrame
        Long frame ``unique_id, ds, y``.
    freq : {"D", "W", "M"}
        Frequency of ``ds``.
    value : float, default=0.0
        Value of the added rows (0 suits counts: no record means no arrival).
    start, end : Timestamp, optional
        Extend every series to this span; by default each series keeps its own
        first and last period.

    Returns
    -------
    DataFrame
        Columns ``unique_id, ds, y`` sorted by ``unique_id, ds``.
    """
    freq = _check_freq(freq)
    parts = []
    for uid, g in df.groupby("unique_id", sort=True):
        lo = start if start is not None else g["ds"].min()
        hi = end if end is not None else g["ds"].max()
        grid = pd.date_range(lo, hi, freq=FREQS[freq])
        s = g.set_index("ds")["y"].astype(float).reindex(grid, fill_value=value)
        parts.append(pd.DataFrame({"unique_id": uid, "ds": grid, "y": s.to_numpy()}))
    out = pd.concat(parts, ignore_index=True) if parts else df[["unique_id", "ds", "y"]].iloc[:0]
    out["unique_id"] = out["unique_id"].astype(str)
    out["ds"] = out["ds"].astype("datetime64[ns]")
    return out


def infer_freq(df: pd.DataFrame) -> str:
    """Guess ``"D"``, ``"W"`` or ``"M"`` from the most common step between periods.

    Raises
    ------
    SchemaError
        If no series has two periods or the step is none of a day, a week or a month.
    """
    ds = df.sort_values(["unique_id", "ds"])
    steps = ds.groupby("unique_id")["ds"].diff().dropna()
    if steps.empty:
        raise SchemaError("series", [SchemaProblem("ds", "no series has two periods, so the frequency is unknown", "pass `freq` explicitly")])
    days = steps.dt.days.mode().iloc[0]
    if days == 1:
        return "D"
    if days == 7:
        return "W"
    if 28 <= days <= 31:
        return "M"
    raise SchemaError(
        "series",
        [SchemaProblem("ds", f"the usual step between periods is {days} days, not a day, week or month", "aggregate the series to 'D', 'W' or 'M' first")],
    )


#: The periods a series may hold: arrival records are neither older nor centuries ahead (placeholders are).
PERIODS_FROM = pd.Timestamp("1900-01-01")
PERIODS_BEFORE = pd.Timestamp("2200-01-01")


def _placeholder_periods(df: pd.DataFrame) -> list[SchemaProblem]:
    """Periods outside :data:`PERIODS_FROM` .. :data:`PERIODS_BEFORE`.

    A database's "no date" (pandas' earliest or latest month, a 1800 default) is no period of arrivals: kept, it
    read as centuries of gaps (whose fix, fill_gaps, adds zeros), and on pandas 2 the step to it overflowed.
    """
    ds = pd.to_datetime(df["ds"])
    ids, n = _ids(df, ((ds < PERIODS_FROM) | (ds >= PERIODS_BEFORE)).to_numpy(dtype=bool, na_value=False))
    if not n:
        return []
    return [SchemaProblem("ds", f"periods before {PERIODS_FROM.year} or from {PERIODS_BEFORE.year} on",
                          "fix the dates, or drop those rows if they stand for an unknown date", ids, n)]


def _mixed_frequencies(df: pd.DataFrame) -> list[SchemaProblem]:
    """One problem naming the series at each frequency when series' usual steps are of different frequencies.

    The frequency of a table is its commonest step: a monthly port beside a daily one was refused as a series "with
    gaps" and the fix was to add some 1,700 days. Each series' own commonest step says what it is.
    """
    d = pd.DataFrame({"unique_id": df["unique_id"].astype(str).to_numpy(), "ds": df["ds"].to_numpy()})  # ids 1 and "1" do not sort
    d = d.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    steps = pd.DataFrame({"uid": d["unique_id"], "days": d.groupby("unique_id")["ds"].diff().dt.days}).dropna()
    if steps.empty:
        return []
    counts = steps.groupby(["uid", "days"]).size().rename("n").reset_index()
    usual = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("uid").set_index("uid")["days"].sort_index()
    kind = usual.map(lambda days: "D" if days == 1 else "W" if days == 7 else "M" if 28 <= days <= 31 else None).dropna()
    if kind.nunique() < 2:
        return []
    named = "; ".join(f"{f!r}: " + ", ".join(map(str, ids[:_MAX_IDS])) + (f" (+{len(ids) - _MAX_IDS} more)" if len(ids) > _MAX_IDS else "")
                      for f, ids in ((f, list(kind.index[kind == f])) for f in ("D", "W", "M")) if ids)
    return [SchemaProblem("ds", f"series are at different frequencies ({named})",
                          "aggregate every series to one frequency (riskmodel.core.forecasting.aggregate), or forecast them apart; "
                          "a series that only lacks periods (a port open one day a week) needs them filled (fill_gaps), or pass `freq`",
                          tuple(map(str, kind.index[:_MAX_IDS])), int(len(kind)))]


def _ids(df: pd.DataFrame, mask: np.ndarray) -> tuple[tuple[str, ...], int]:
    bad = df.loc[mask]
    labels = (bad["unique_id"].astype(str) + " @ " + pd.to_datetime(bad["ds"]).dt.strftime("%Y-%m-%d")).tolist()
    return tuple(labels[:_MAX_IDS]), int(mask.sum())


def _id_problems(df: pd.DataFrame) -> list[SchemaProblem]:
    """Ids that name nothing (empty or blank), ids of different types with the same text (1 and '1'), and ids that
    differ only in spaces or case."""
    problems = []
    text_id = df["unique_id"].astype(str)
    blank = (text_id.str.strip() == "").to_numpy()
    if blank.any():  # a forecast row with no name says nothing anyone can act on
        problems.append(SchemaProblem("unique_id", "has empty ids", "give every row the id of its series",
                                      tuple(f"row {i}" for i in blank.nonzero()[0][:5]), int(blank.sum())))
    # ids become text later: 1 and "1" are two series here and one after, every period listed twice
    clash = np.zeros(len(df), dtype=bool)
    if df["unique_id"].dtype == object or isinstance(df["unique_id"].dtype, pd.CategoricalDtype):  # only these can hold 1 and "1"
        kinds = df["unique_id"].groupby(text_id.to_numpy()).nunique()
        clash = text_id.isin(kinds.index[kinds.to_numpy() > 1]).to_numpy()
    if clash.any():
        ids, n = _ids(df, clash) if pd.api.types.is_datetime64_any_dtype(df["ds"]) else (tuple(text_id[clash].unique()[:_MAX_IDS]), int(clash.sum()))
        problems.append(SchemaProblem("unique_id", "has ids of different types with the same text (e.g. 1 and '1'), whose series would merge into one",
                                      "give every series one id of one type (e.g. df['unique_id'].astype(str)) and aggregate the rows that are then duplicates", ids, n))
    return problems + _near_ids(df, text_id)


def _near_ids(df: pd.DataFrame, text_id: pd.Series) -> list[SchemaProblem]:
    """Ids that differ only in spaces or case ('Juanda' and 'Juanda '): a padded cell made two series of one port.

    The rows named are those of every spelling but the main one of its group (most rows; then one without stray
    spaces; then the first met).
    """
    distinct = pd.unique(text_id.to_numpy())
    keys = {t: " ".join(t.split()).casefold() for t in distinct}
    if len(set(keys.values())) == len(distinct):
        return []
    counts = text_id.value_counts(sort=False)
    groups: dict[str, list[str]] = {}
    for t in distinct:  # in order of first appearance
        groups.setdefault(keys[t], []).append(t)
    pairs = []
    for spellings in groups.values():
        if len(spellings) > 1:
            main = max(spellings, key=lambda t: (counts[t], t == " ".join(t.split()), -spellings.index(t)))
            pairs += [(main, t) for t in spellings if t != main]
    others = text_id.isin([t for _, t in pairs]).to_numpy()
    ids, n = _ids(df, others) if pd.api.types.is_datetime64_any_dtype(df["ds"]) else (tuple(text_id[others].unique()[:_MAX_IDS]), int(others.sum()))
    return [SchemaProblem("unique_id", f"ids that differ only in spaces or case ({pairs[0][0]!r} and {pairs[0][1]!r}), whose series would be "
                                       "two where one was meant",
                          "write each series' id one way (df['unique_id'].str.strip(), one case), then aggregate the rows that are "
                          "then duplicates", ids, n)]


def duplicate_periods(df: pd.DataFrame, dup: np.ndarray | None = None) -> list[SchemaProblem]:
    """The rows that repeat an earlier row's ``(unique_id, ds)`` pair, as one problem (or none).

    Parameters
    ----------
    df : DataFrame
        A long frame with ``unique_id`` and datetime ``ds`` columns.
    dup : ndarray of bool, optional
        ``df.duplicated(["unique_id", "ds"])``, when the caller has it already.

    Returns
    -------
    list of SchemaProblem
        Empty, or one problem naming the repeated pairs as ``"<unique_id> @ <ds>"``.
    """
    dup = df.duplicated(["unique_id", "ds"], keep="first").to_numpy() if dup is None else dup
    ids, n = _ids(df, dup)
    if not n:
        return []
    return [SchemaProblem("ds", "has duplicate (unique_id, ds) pairs", "aggregate duplicates, e.g. df.groupby(['unique_id', 'ds'], as_index=False)['y'].sum()", ids, n)]


_NUMBER_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _no_numbers(y: pd.Series) -> np.ndarray:
    """Where a column that is not numeric holds no number: text, a yes/no, a list (a Decimal, a database's NUMERIC, is a number).

    Text that reads as a plain number is named only where no other value is wrong: one '1,234' in a CSV makes pandas
    read every count of the column as text, and that row is the one to fix.
    """
    values = y.to_numpy(dtype=object)
    bad = np.fromiter((isinstance(v, bool | np.bool_) or not (v is None or v is pd.NA or isinstance(v, int | float | np.integer | np.floating | Decimal))
                       for v in values), dtype=bool, count=len(y))
    worst = bad & np.fromiter((not (isinstance(v, str) and _NUMBER_TEXT.fullmatch(v)) for v in values), dtype=bool, count=len(y))
    return worst if worst.any() else bad


def _numeric_y(df: pd.DataFrame, problems: list[SchemaProblem]) -> np.ndarray | None:
    """``y`` as floats (Decimals and other number objects read as the numbers they are), or None after adding to
    ``problems`` the values that are no numbers."""
    if not pd.api.types.is_numeric_dtype(df["y"]) or pd.api.types.is_bool_dtype(df["y"]):
        bad = _no_numbers(df["y"])
        if bad.any():
            problems.append(_no_numbers_problem(df, bad))
            return None
    return np.array([np.nan if v is None or v is pd.NA else float(v) for v in df["y"]]) if df["y"].dtype == object else df["y"].to_numpy(dtype=float)


def _no_numbers_problem(df: pd.DataFrame, bad: np.ndarray) -> SchemaProblem:
    ids, n = _ids(df, bad)
    examples = ", ".join(repr(v) for v in df["y"].to_numpy(dtype=object)[bad][:3])
    return SchemaProblem("y", f"values that are not numbers ({examples})",
                         "write each count as a plain number (1234, not '1,234'); a period without a count is no number: fill it "
                         "from another source, or drop it and call fill_gaps", ids, n)


def check_series(df: pd.DataFrame, freq: str | None = None) -> list[SchemaProblem]:
    """Every problem of a long-format series frame, without raising.

    See :func:`validate_series`. Record ids are ``"<unique_id> @ <ds>"`` (or the
    ``unique_id`` alone for problems of a whole series).
    """
    problems: list[SchemaProblem] = []
    if not isinstance(df, pd.DataFrame):
        return [SchemaProblem("<table>", f"expected a pandas DataFrame, got {type(df).__name__}", "pass a long frame with columns unique_id, ds, y")]
    missing = [SchemaProblem(c, "column is missing", "pass a long frame with columns unique_id, ds, y (rename yours)")
               for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        return missing
    if df.empty:  # before the dtypes: a header alone reads every column as text
        return [SchemaProblem("<table>", "has no rows", "pass at least one series with history")]
    no_id = df["unique_id"].isna().to_numpy()
    if no_id.any():  # else their rows look like gaps in no series at all
        return [SchemaProblem("unique_id", "has missing values", "give every row the id of its series",
                              tuple(f"row {i}" for i in no_id.nonzero()[0][:5]), int(no_id.sum()))]
    problems += _id_problems(df)
    if any(p.problem.startswith("ids that differ only") for p in problems):
        return problems  # else the halves of a series read as gappy, or as another frequency
    if not pd.api.types.is_datetime64_any_dtype(df["ds"]):
        problems.append(SchemaProblem("ds", f"must be datetime64, got {df['ds'].dtype}", "convert it with pd.to_datetime(df['ds'], format='ISO8601') (dates written YYYY-MM-DD: day-first text is not guessed right)"))
        return problems
    if getattr(df["ds"].dtype, "tz", None) is not None:
        # periods are local calendar periods (the arrivals' port time), as in the data contract
        problems.append(SchemaProblem("ds", f"timezone-aware timestamps ({df['ds'].dtype}); periods are local calendar periods",
                                      "convert to local time and drop the zone: df['ds'].dt.tz_convert(<zone>).dt.tz_localize(None)"))
        return problems
    y = _numeric_y(df, problems)
    if y is None:
        return problems
    ids, n = _ids(df, np.isnan(y))
    if n:
        problems.append(SchemaProblem("y", "has missing values", "fill them (e.g. 0 for counts) or drop the periods and call fill_gaps", ids, n))
    ids, n = _ids(df, y < 0)
    if n:
        problems.append(SchemaProblem("y", "has negative counts", "arrival counts must be >= 0; fix the source", ids, n))
    # an infinite count passed every check above and came out of the models as NaN forecasts
    ids, n = _ids(df, np.isposinf(y))
    if n:
        problems.append(SchemaProblem("y", "has infinite values", "arrival counts must be finite; fix the source or drop those periods and call fill_gaps", ids, n))
    ids, n = _ids(df, df["ds"].isna().to_numpy())
    if n:
        problems.append(SchemaProblem("ds", "has missing timestamps", "drop or fix those rows", ids, n))
    odd = _placeholder_periods(df)
    if odd:
        return problems + odd
    dup = df.duplicated(["unique_id", "ds"], keep="first").to_numpy()
    problems += duplicate_periods(df, dup)
    clean = df.loc[~dup & df["ds"].notna().to_numpy()]
    try:
        mixed = _mixed_frequencies(clean) if freq is None else []
        freq = _check_freq(freq) if freq is not None else infer_freq(clean)
    except SchemaError as exc:
        return problems + exc.problems
    if mixed:  # else the rarer frequency's series read as gappy at the commoner one (a given `freq` is the caller's word)
        return problems + mixed
    ds = pd.to_datetime(clean["ds"])
    if freq == "M":
        aligned = (ds.dt.day == 1) & (ds == ds.dt.normalize())
    elif freq == "W":
        aligned = (ds.dt.day_of_week == 0) & (ds == ds.dt.normalize())
    else:
        aligned = ds == ds.dt.normalize()
    ids, n = _ids(clean, ~aligned.to_numpy())
    if n:
        what = {"M": "the first day of a month", "W": "a Monday at midnight", "D": "midnight"}[freq]
        problems.append(SchemaProblem("ds", f"is not at a period start for freq={freq!r} ({what})", f"floor ds to period starts (riskmodel.core.forecasting.aggregate does) or pass the right `freq`", ids, n))
        return problems
    g = clean.groupby("unique_id")["ds"].agg(["min", "max", "size"])
    if freq == "M":
        expected = (g["max"].dt.year - g["min"].dt.year) * 12 + (g["max"].dt.month - g["min"].dt.month) + 1
    else:
        expected = (g["max"] - g["min"]).dt.days // (7 if freq == "W" else 1) + 1
    gappy = g.index[(expected != g["size"]).to_numpy()]
    if len(gappy):
        problems.append(
            SchemaProblem(
                "ds",
                f"series have gaps (missing {freq!r} periods between their first and last period)",
                _GAP_FIX,
                tuple(str(u) for u in gappy[:_MAX_IDS]),
                len(gappy),
            )
        )
    return problems


def validate_series(df: pd.DataFrame, freq: str | None = None) -> pd.DataFrame:
    """Check a long-format series frame and return it, sorted, with clean dtypes.

    Parameters
    ----------
    df : DataFrame
        Columns ``unique_id`` (any text or number), ``ds`` (datetime64) and ``y``
        (numbers: a numeric dtype, or objects that are numbers, Decimals included); other columns are dropped.
    freq : {"D", "W", "M"}, optional
        Expected frequency; inferred from the most common step when omitted.

    Returns
    -------
    DataFrame
        Columns ``unique_id`` (str), ``ds`` (datetime64[ns]), ``y`` (float64), sorted
        by ``unique_id, ds``.

    Raises
    ------
    SchemaError
        Listing every problem: missing columns, missing or empty ids, wrong dtypes, counts that are no
        numbers (``'1,234'``, ``'-'``: named by row), missing, negative or
        infinite ``y``, duplicate ``(unique_id, ds)``, ids of different types with the same
        text (``1`` and ``"1"``), timestamps off the period start,
        gaps inside a series, an unknown frequency, series at different frequencies (with no
        ``freq`` given). Offending series are named.
    """
    problems = check_series(df, freq)
    if problems:
        raise SchemaError("series", problems)
    out = pd.DataFrame(
        {
            "unique_id": df["unique_id"].astype(str).to_numpy(dtype=object),
            "ds": pd.to_datetime(df["ds"]).astype("datetime64[ns]").to_numpy(),
            "y": df["y"].to_numpy(dtype=float),
        }
    )
    out["unique_id"] = out["unique_id"].astype(str)
    return out.sort_values(["unique_id", "ds"], ignore_index=True)
