"""Drift of inputs and scores: population stability index (PSI) against a training reference.

A *profile* summarises a column of the training data in JSON-friendly form:
numeric columns by decile edges (a value held by 5% or more of the rows a bin of
its own) and the share of rows in each bin (plus a missing bin), categorical columns by their most common levels and an "other"
bucket. :class:`DriftCounter` accumulates counts chunk by chunk, so a batch of
millions of rows is compared without holding it in memory.

A model stores its own *training reference* (:func:`training_reference`: per
feature the bin or level shares of the training rows, and the same for its
score on rows the booster did not learn, the calibration slice: in-sample scores
are more spread than any new night's); :func:`profile_from_reference` turns it into profile form for
:class:`DriftCounter`.

Rule of thumb (Siddiqi): PSI < 0.1 stable, 0.1-0.25 a moderate shift worth a
look, > 0.25 a major shift: check the data feed or retrain.

That rule of thumb is for a model's inputs against its training data, and it
reads red on every normal night when tonight's in-country population is set
against training *entries* (long stays are over-represented in the country).
:func:`compare_like_with_like` compares like with like (tonight's in-country
population with last night's, tonight's arrivals with recent arrivals) and
grades each column green / amber / red with thresholds that also allow for
the sampling noise of small nights (the chi-square law of PSI between two
samples of the same population), so a normal night is green and a broken feed
(a column all missing, a category renamed, a unit changed, a port gone) is red;
a level never seen in the reference, 10 times or more tonight (a new nationality), is amber.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# the calendar's closures and the noise tails are the feed checks' too; drift imports them from there (never the reverse)
from riskmodel.core.monitoring.feed import _NOISE_AMBER, _NOISE_RED, SCHEDULED_CLOSURES, closed_ports, feed_checks

__all__ = [
    "profile",
    "training_reference",
    "profile_from_reference",
    "DriftCounter",
    "psi",
    "psi_verdict",
    "PSI_MODERATE",
    "PSI_MAJOR",
    "PSI_RED",
    "compare_like_with_like",
    "night_verdict",
    "night_summary",
    "nightly_checks",
    "in_country_at",
    "NIGHTLY_COLUMNS",
    "SCHEDULED_CLOSURES",
    "closed_ports",
]

PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
#: PSI at or above which a like-with-like comparison is red, however large the samples: far
#: beyond what a season moves between one night and the next (a broken feed reads 3-10).
PSI_RED = 1.0
#: A level expected this many times tonight but never seen is a vanished level (a port gone):
#: Poisson P(0 | 10) = 4.5e-5. Expected given the rows that did come: ``n f / (1 - f)``, since a
#: missing level also shrinks tonight's count.
_VANISHED_EXPECTED = 10.0
#: A level the reference never held (not even among the levels outside its most common), seen this many times tonight,
#: is a new level (a nationality never seen before): amber. Fewer could be one party; the PSI alone missed it, as it
#: joins the "other" bucket of the less common levels (300 of 1,500 arrivals of a never-seen nationality read green).
#: Also, as for the PSI, beyond sampling noise: of ``k`` rows of a level in both samples of one population, all ``k``
#: fall in tonight's with chance ``(n_c / (n_c + n_r)) ** k``, which must be under the amber tail (a reference much
#: smaller than tonight, a year earlier on a growing log, lacks a 2% level often enough).
_APPEARED_MIN = 10
_EPS = 1e-4
_MAX_LEVELS = 30


def _is_categorical(s: pd.Series) -> bool:
    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(s)
        or s.dtype == object
        or pd.api.types.is_bool_dtype(s)
    )


def profile(df: pd.DataFrame, columns: list[str] | tuple[str, ...] | None = None, *, bins: int = 10) -> dict[str, Any]:
    """Profile columns of a reference frame (typically the training data).

    Parameters
    ----------
    df : DataFrame
        Reference rows.
    columns : list of str, optional
        Columns to profile; default all.
    bins : int, default=10
        Quantile bins for numeric columns.

    Returns
    -------
    dict
        ``{column: {"kind": "numeric", "edges": [...], "fractions": [...]}}`` or
        ``{column: {"kind": "categorical", "levels": [...], "fractions": [...]}}``;
        the last fraction is the missing bin (numeric) or "other or missing" (categorical).
    """
    out: dict[str, Any] = {}
    for col in columns if columns is not None else list(df.columns):
        s = df[col]
        if _is_categorical(s):
            counts = s.dropna().astype(object).astype(str).value_counts()
            levels = [str(v) for v in counts.index[:_MAX_LEVELS]]
            out[col] = {"kind": "categorical", "levels": levels}
        else:
            values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            finite = values[np.isfinite(values)]
            edges = _edges(finite, bins)
            out[col] = {"kind": "numeric", "edges": [float(e) for e in edges]}
        counter = DriftCounter({col: out[col]})
        counter.update(df[[col]])
        out[col]["fractions"] = (counter.counts[col] / max(counter.counts[col].sum(), 1)).tolist()
    return out


#: A value held by this share of a feature's training rows or more (the 0 of a count most travellers hold, either
#: value of a 0/1 feature) bounds a bin of its own in a model's drift reference.
_MASS = 0.05


def _edges(values: np.ndarray, bins: int = 10) -> np.ndarray:
    """Inner bin edges of the finite ``values``: a bin holds the values from its edge up to the next.

    The edges are the quantiles at ``1/bins .. (bins-1)/bins``, and the next value above each such quantile held by
    :data:`_MASS` of the rows or more, so such a value is a bin of its own; an edge at or below the smallest value
    bounds no bin and is dropped. Without the second kind a 0/1 feature, a count most rows hold at 0, or permits 92%
    of which are 30 days had at most one edge, and the values either side of it shared a bin: PSI about 0 whatever
    the night held.
    """
    if not len(values):
        return np.array([])
    quantiles = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    above = [values[values > v].min() for v in quantiles if (values == v).mean() >= _MASS and (values > v).any()]
    inner = np.unique(np.r_[quantiles, above])
    return inner[inner > values.min()]


def _numeric_reference(values: np.ndarray, n: int) -> dict[str, Any]:
    """Inner edges of ``values`` (:func:`_edges`) and the share of all ``n`` rows in each bin."""
    inner = _edges(values)
    share = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1) / max(n, 1)
    return {"kind": "numeric", "edges": inner.tolist(), "share": share.tolist()}


def training_reference(
    encoded: np.ndarray, features: list[str], levels: dict[str, list], scores: np.ndarray
) -> dict[str, Any]:
    """A model's training distribution per feature and of its score, stored with the model.

    Parameters
    ----------
    encoded : ndarray of shape (n_rows, n_features)
        The training rows as the model encodes them (categorical levels as codes, missing as NaN).
    features : list of str
        Column names of ``encoded``, in order.
    levels : dict of str to list
        Levels of each categorical feature (code ``i`` is ``levels[name][i]``).
    scores : ndarray
        The model's calibrated scores on rows it did not learn (:class:`~riskmodel.core.risk.model.RiskModel`:
        its calibration rows), any number of them.

    Returns
    -------
    dict
        ``{"features": {name: spec}, "score": spec}``; a numeric spec holds ``edges``
        (inner decile edges), ``share`` (of all rows, per bin) and ``missing``; a
        categorical spec holds ``levels``, ``share`` (per level) and ``missing``.
    """
    ref: dict[str, Any] = {"features": {}}
    for j, c in enumerate(features):
        col = encoded[:, j]
        miss = float(np.isnan(col).mean())
        if c in levels:
            codes = col[~np.isnan(col)].astype(int)
            counts = np.bincount(codes, minlength=len(levels[c])) / max(len(col), 1)
            ref["features"][c] = {"kind": "categorical", "levels": levels[c], "share": counts.tolist(), "missing": miss}
        else:
            ref["features"][c] = {**_numeric_reference(col[~np.isnan(col)], len(col)), "missing": miss}
    scores = np.asarray(scores, dtype=float)
    ref["score"] = {**_numeric_reference(scores, len(scores)), "missing": 0.0}
    return ref


def profile_from_reference(reference: dict) -> dict[str, Any]:
    """A :func:`training_reference` in :func:`profile` form, the score named ``probability``."""
    out = {}
    for name, spec in {**reference.get("features", {}), "probability": reference.get("score", {})}.items():
        if not spec:
            continue
        fractions = list(spec["share"]) + [spec.get("missing", 0.0)]
        if spec["kind"] == "categorical":
            out[name] = {"kind": "categorical", "levels": list(spec["levels"]), "fractions": fractions}
        else:
            out[name] = {"kind": "numeric", "edges": list(spec["edges"]), "fractions": fractions}
    return out


class DriftCounter:
    """Accumulate bin counts of new data against a reference profile, chunk by chunk.

    Parameters
    ----------
    reference : dict
        A :func:`profile` result.

    Examples
    --------
    >>> ref = profile(pd.DataFrame({"x": np.arange(1000.0)}))
    >>> c = DriftCounter(ref)
    >>> c.update(pd.DataFrame({"x": np.arange(1000.0)}))
    >>> round(c.psi()["x"], 6)
    0.0
    """

    def __init__(self, reference: dict[str, Any]):
        self.reference = reference
        self.counts = {col: np.zeros(self._n_bins(spec)) for col, spec in reference.items()}

    @staticmethod
    def _n_bins(spec: dict) -> int:
        return len(spec["edges"]) + 2 if spec["kind"] == "numeric" else len(spec["levels"]) + 1

    def update(self, df: pd.DataFrame) -> None:
        """Add the rows of ``df`` (columns absent from ``df`` count as missing)."""
        for col, spec in self.reference.items():
            n_bins = self._n_bins(spec)
            if col not in df.columns:
                self.counts[col][-1] += len(df)
                continue
            s = df[col]
            if spec["kind"] == "numeric":
                values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                idx = np.searchsorted(np.asarray(spec["edges"]), values, side="right")
                idx = np.where(np.isfinite(values), idx, n_bins - 1)
            else:
                # levels the reference never saw (and missing values) fall in the last bin; an index lookup,
                # as a Categorical built from values outside its categories is deprecated in pandas
                codes = pd.Index(spec["levels"], dtype=object).get_indexer(s.astype(object).astype(str).where(s.notna(), None))
                idx = np.where(codes >= 0, codes, n_bins - 1)
            self.counts[col] += np.bincount(idx, minlength=n_bins)[:n_bins]

    def psi(self) -> dict[str, float]:
        """PSI of each column so far."""
        return {col: psi(spec["fractions"], self.counts[col]) for col, spec in self.reference.items()}


def psi(expected_fractions, actual_counts) -> float:
    """Population stability index between reference fractions and observed counts."""
    e = np.asarray(expected_fractions, dtype=float)
    a = np.asarray(actual_counts, dtype=float)
    if a.sum() == 0:
        return float("nan")
    a = a / a.sum()
    e, a = np.clip(e, _EPS, None), np.clip(a, _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_verdict(value: float) -> str:
    """``"stable"``, ``"moderate shift"`` or ``"major shift"`` by the 0.1/0.25 rule of thumb."""
    if not np.isfinite(value):
        return "no data"
    if value < PSI_MODERATE:
        return "stable"
    return "moderate shift" if value < PSI_MAJOR else "major shift"


def _noise_psi(n_bins: int, n_current: int, n_reference: int, tail: float) -> float:
    """PSI that two samples of one population exceed with chance ``tail``.

    PSI is Jeffreys' divergence; times ``n_c n_r / (n_c + n_r)`` it is close to chi-square
    with ``n_bins - 1`` degrees of freedom when nothing changed.
    """
    from scipy import stats

    return float(stats.chi2.isf(tail, max(n_bins - 1, 1)) * (1.0 / max(n_current, 1) + 1.0 / max(n_reference, 1)))


def compare_like_with_like(
    current: pd.DataFrame, reference: pd.DataFrame, columns: list[str] | tuple[str, ...], *, comparison: str = ""
) -> pd.DataFrame:
    """Grade each column of ``current`` against a population of the same kind.

    Parameters
    ----------
    current : DataFrame
        Tonight's rows (tonight's in-country stays, or tonight's arrivals).
    reference : DataFrame
        The like population (last night's in-country stays, a reference in-country
        population, or the arrivals of recent weeks).
    columns : list of str
        Columns to compare; a column absent from ``current`` counts as all missing.
    comparison : str, default=""
        A label copied into the output (e.g. ``"arrivals vs last 28 days"``).

    Returns
    -------
    DataFrame
        ``comparison, column, psi, amber_at, red_at, missing_reference, missing_current,
        vanished, appeared, verdict`` with ``verdict`` in ``green, amber, red, not judged``: red when PSI reaches
        ``max(PSI_RED, noise at 1e-7)`` or a level expected at least 10 times (given the rows
        that came) is absent (``vanished``), or ``current`` has no row; amber when PSI reaches
        ``max(PSI_MAJOR, noise at 1e-3)`` and some bin's count is beyond sampling noise (Fisher's exact
        test of the bin at 1e-3 over twice the bins: a small night's empty bin is often chance), or a level ``reference`` never held is seen at least 10
        times in ``current``, and more than noise at 1e-3 puts there (``appeared``: a nationality never
        seen before); ``not judged`` (no ``psi``,
        ``amber_at``, ``red_at``) when ``reference`` has no row to compare with.
    """
    ref = profile(reference, list(columns))
    counter = DriftCounter(ref)
    counter.update(current)
    rows = []
    n_cur, n_ref = len(current), len(reference)
    for col in columns:
        spec, counts = ref[col], counter.counts[col]
        fractions = np.asarray(spec["fractions"], dtype=float)
        # half a count in every bin (Jeffreys) instead of the 1e-4 floor: on a small night an empty
        # bin is chance, and the floor would make it weigh like a broken feed
        value = psi((fractions * n_ref + 0.5) / (n_ref + 0.5 * len(fractions)), counts + 0.5) if n_cur else float("nan")
        n_bins = int(((fractions > 0) | (counts > 0)).sum())
        amber = max(PSI_MAJOR, _noise_psi(n_bins, n_cur, n_ref, _NOISE_AMBER))
        red = max(PSI_RED, _noise_psi(n_bins, n_cur, n_ref, _NOISE_RED))
        vanished, appeared = [], []
        if spec["kind"] == "categorical":
            level_f = fractions[:-1]
            expected = n_cur * level_f / np.clip(1.0 - level_f, 1e-9, None)
            vanished = [lvl for lvl, e, c in zip(spec["levels"], expected, counts[:-1], strict=True) if e >= _VANISHED_EXPECTED and c == 0]
            if n_ref and col in current.columns:
                appeared = _appeared(current[col], reference[col], n_cur / (n_cur + n_ref))
        shifted = np.isfinite(value) and value >= amber and _beyond_noise(fractions * n_ref, counts, _NOISE_AMBER)
        verdict = ("red" if (np.isfinite(value) and value >= red) or vanished
                   else "amber" if shifted or appeared else "green")
        if n_ref == 0:
            # nothing to compare with (a year earlier on a log under a year old): no figure, and no green either
            value, amber, red, verdict = float("nan"), float("nan"), float("nan"), "not judged"
        if n_cur == 0:
            verdict = "red"  # nothing arrived at all: the feed is empty
        rows.append({
            "comparison": comparison, "column": col, "psi": value, "amber_at": amber, "red_at": red,
            "missing_reference": (float(fractions[-1]) if spec["kind"] == "numeric" else float(reference[col].isna().mean())) if n_ref else float("nan"),
            "missing_current": float(current[col].isna().mean()) if col in current.columns and n_cur else 1.0,
            "vanished": ", ".join(vanished), "appeared": ", ".join(appeared), "verdict": verdict,
        })
    return pd.DataFrame(rows)


def _beyond_noise(reference_counts: np.ndarray, current_counts: np.ndarray, tail: float) -> bool:
    """Whether some bin holds a count tonight beyond sampling noise: Fisher's exact test of each bin (of the bin's rows
    in both samples, tonight's share is hypergeometric when nothing changed), each side at ``tail`` over twice the bins.

    The chi-square law of PSI is loose on a small night's sparse bins: none of 50 arrivals without a return ticket
    (chance 0.9 ** 50 = 0.52% at 10%) read PSI 0.253, over the amber line, five times the amber tail.
    """
    from scipy import stats

    ref, cur = np.rint(reference_counts).astype(int), np.rint(current_counts).astype(int)
    held = ref + cur
    total, n_cur = int(held.sum()), int(cur.sum())
    if not n_cur or total == n_cur:
        return True
    lower = stats.hypergeom.cdf(cur, total, held, n_cur)
    upper = stats.hypergeom.sf(cur - 1, total, held, n_cur)
    return bool((np.minimum(lower, upper) < tail / (2 * max(int((held > 0).sum()), 1))).any())


def _appeared(current: pd.Series, reference: pd.Series, share: float) -> list[str]:
    """Levels of ``current`` that ``reference`` never holds, seen :data:`_APPEARED_MIN` times or more and more often than
    sampling noise puts them all in ``current`` (``share ** k`` under the amber tail; ``share``: ``current``'s part of
    both samples' rows), most common first."""
    # on the distinct values, not on every row: an in-country population is millions of rows on a national feed
    held = {str(v) for v in reference.dropna().unique()}
    raw = current.dropna().value_counts(sort=False)
    counts = raw.groupby(raw.index.map(str)).sum().sort_values(ascending=False, kind="stable")
    return [str(lvl) for lvl, c in counts.items() if c >= _APPEARED_MIN and share ** c < _NOISE_AMBER and lvl not in held]


def night_verdict(checks: pd.DataFrame) -> str:
    """The night's verdict: the worst of its columns' (``red`` > ``amber`` > ``green``; ``not judged`` columns, which had
    nothing to compare with, do not count), or ``"not judged"`` when no check was judged: a green needs something judged."""
    verdicts = set(checks["verdict"])
    if not verdicts - {"not judged"}:
        return "not judged"
    return "red" if "red" in verdicts else "amber" if "amber" in verdicts else "green"


def _not_judged(checks: pd.DataFrame) -> str:
    """The checks not judged, per comparison (a comparison's column named when it is alone, else counted): "" when none."""
    rows = checks[checks["verdict"] == "not judged"]
    parts = [f"{c} {cols.iloc[0]}" if len(cols) == 1 else f"{c} ({len(cols)} checks)"
             for c, cols in rows.groupby("comparison", sort=False)["column"]]
    return ", ".join(parts)


def night_summary(checks: pd.DataFrame, shown: int = 3) -> str:
    """One line for a run's log: the night's verdict (:func:`night_verdict`), then its first ``shown`` red checks (their
    ``detail`` in brackets when they have one), then its first ``shown`` amber ones, then the checks not judged (per
    comparison); ``"green"`` alone on a night every check passed, ``"green on J of N checks; not judged ..."`` when some
    had nothing to compare with, ``"not judged: ..."`` when none had."""
    verdict = night_verdict(checks)
    if verdict == "not judged":
        return f"not judged: none of {len(checks)} checks had anything to compare with (a log's first night?)"
    # a green that judged 2 checks of 34 is no green of 34: what had nothing to compare with is said
    unjudged = _not_judged(checks)
    tail = f"; not judged (nothing to compare with): {unjudged}" if unjudged else ""
    if verdict == "green":
        judged = int((checks["verdict"] != "not judged").sum())
        return f"green on {judged} of {len(checks)} checks{tail}" if unjudged else "green"

    def named(level):
        rows = checks[checks["verdict"] == level]
        details = rows["detail"] if "detail" in rows.columns else pd.Series("", index=rows.index)
        items = [f"{c} {col}" + (f" ({d})" if isinstance(d, str) and d else "")
                 for c, col, d in zip(rows["comparison"], rows["column"], details.fillna(""), strict=True)]
        return "; ".join(items[:shown]) + (f"; and {len(items) - shown} more" if len(items) > shown else "")

    parts = [f"red: {named('red')}"] if verdict == "red" else []
    if (checks["verdict"] == "amber").any():
        parts.append(f"amber: {named('amber')}")
    return "; ".join(parts) + tail


#: Columns the nightly checks compare: what a feed fault breaks and what the model reads.
NIGHTLY_COLUMNS = (
    "entry_port", "nationality", "visa_type", "purpose", "document_type", "accommodation",
    "planned_stay_days", "group_size", "has_return_ticket", "permitted_days",
)



def in_country_at(stays: pd.DataFrame, night: pd.Timestamp) -> pd.DataFrame:
    """Stays in the country at the end of ``night``: entered by then and not yet left."""
    end = pd.Timestamp(night).normalize() + pd.Timedelta(days=1)
    exit_time = stays["exit_time"]
    return stays[(stays["entry_time"] < end) & (exit_time.isna() | (exit_time >= end))]


def _check_local_times(table: pd.DataFrame, name: str) -> None:
    """SchemaError naming the entry / exit time columns that carry a time zone (the schema's times are local, without one)."""
    from riskmodel.core.exceptions import SchemaError, SchemaProblem

    zoned = [c for c in ("entry_time", "exit_time") if c in table.columns and getattr(table[c].dtype, "tz", None) is not None]
    if zoned:
        raise SchemaError(name, [SchemaProblem(c, f"times carry a time zone ({table[c].dtype.tz}); the nightly checks compare "
                                               "local port times without one",
                                               f"convert to the port's local time and drop the zone: df['{c}'].dt.tz_convert("
                                               "<port zone>).dt.tz_localize(None)") for c in zoned])


def nightly_checks(
    stays: pd.DataFrame,
    night: str | pd.Timestamp,
    *,
    columns: tuple[str, ...] = NIGHTLY_COLUMNS,
    recent_days: int = 28,
    tonight: pd.DataFrame | None = None,
    closed: list[str] | None = None,
) -> pd.DataFrame:
    """The nightly like-with-like checks of one night's feed.

    Parameters
    ----------
    stays : DataFrame
        Stays with ``entry_time``, ``exit_time`` (missing while in the country) and ``columns``.
    night : str or Timestamp
        The night checked (its day's arrivals and the population at its end).
    columns : tuple of str, default=NIGHTLY_COLUMNS
    recent_days : int, default=28
        Tonight's arrivals are compared with the arrivals of this many days before.
    tonight : DataFrame, optional
        Tonight's arrivals as the feed delivered them (default: taken from ``stays``); the
        in-country population tonight is last night's survivors plus these.
    closed : list of str, optional
        Ports shut tonight, left out of the recent arrivals tonight's are compared with
        (default: :func:`closed_ports`, Ngurah Rai on Nyepi).

    Returns
    -------
    DataFrame
        First the ``feed`` rows of :func:`riskmodel.core.monitoring.feed.feed_checks` (tonight's row count, overall
        and per port, against the same weekday of the ``recent_days`` before; the time of day the rows stop or
        start; rows delivered twice or of another day), then :func:`compare_like_with_like` rows for three
        comparisons: ``in-country vs last night``, ``in-country vs a year earlier`` (the same weekday 52 weeks
        before: the same season) and ``arrivals vs last {recent_days} days``; columns ``count, usual, detail``
        are filled on the ``feed`` rows (empty on the others).
    """
    _check_local_times(stays, "stays")
    if tonight is not None:
        _check_local_times(tonight, "tonight")
    night = pd.Timestamp(night).tz_localize(None).normalize()
    day = pd.Timedelta(days=1)
    cols = [c for c in columns if c in stays.columns]
    if tonight is None:
        tonight = stays[(stays["entry_time"] >= night) & (stays["entry_time"] < night + day)]
    survivors = in_country_at(stays, night)
    survivors = survivors[survivors["entry_time"] < night]
    present = pd.concat([survivors, tonight], ignore_index=True)
    recent = stays[(stays["entry_time"] >= night - recent_days * day) & (stays["entry_time"] < night)]
    closed = closed_ports(night) if closed is None else closed
    if closed and "entry_port" in recent.columns:
        recent = recent[~recent["entry_port"].astype(object).isin(closed)]
    feed = feed_checks(stays, night, tonight, weeks=max(recent_days // 7, 1), closed=closed)
    checks = pd.concat([
        compare_like_with_like(present, in_country_at(stays, night - day), cols, comparison="in-country vs last night"),
        compare_like_with_like(present, in_country_at(stays, night - pd.Timedelta(weeks=52)), cols, comparison="in-country vs a year earlier"),
        compare_like_with_like(tonight, recent, cols, comparison=f"arrivals vs last {recent_days} days"),
    ], ignore_index=True).assign(count=float("nan"), usual="", detail="")
    return pd.concat([feed, checks], ignore_index=True)
