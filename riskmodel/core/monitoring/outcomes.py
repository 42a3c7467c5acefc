"""Outcome monitoring of risk scores: how past scores fared once their stays' outcomes are known.

:func:`evaluate_scores` joins past scores with outcomes that have matured since
and reports the realised AUC, PR-AUC, calibration and referral precision by
month and by audit group: the signal that says when to retrain. (Input and score
drift live in :mod:`riskmodel.core.monitoring.drift`; the nightly job that
scores files is :mod:`riskmodel.integrations.batch.scoring`.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem

__all__ = ["evaluate_scores"]


def evaluate_scores(
    scored: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    id_column: str = "stay_id",
    target: str = "overstayed",
    time_column: str = "entry_time",
    groups: tuple[str, ...] = ("region", "sex", "age_band"),
    refer_bands: tuple[str, ...] = ("elevated", "high"),
    min_rows: int = 50,
) -> pd.DataFrame:
    """Realised accuracy of past scores once their outcomes are known, by month and by audit group.

    Parameters
    ----------
    scored : DataFrame
        Output of :func:`riskmodel.score` (``id_column, probability, risk_band``).
    outcomes : DataFrame
        Stays with matured labels: ``id_column``, ``target`` (missing = not yet known:
        counted as ``pending``, never judged), ``time_column`` and the audit ``groups`` present.
        A stays table (``entry_time, exit_time, visa_type, permit_end, overstay_days``, as
        ``riskmodel features`` writes it) also has an overstay of a stay still open counted as
        pending while the visa allows an extension (recorded only at exit): until the longest
        stay it allows plus :data:`SETTLE_GRACE_DAYS` (``label_mature``'s rule) has passed.
    id_column, target, time_column : str
        Column names.
    groups : tuple of str, default=("region", "sex", "age_band")
        Audit attributes to break down by (those absent from ``outcomes`` are skipped).
    refer_bands : tuple of str, default=("elevated", "high")
        Bands that mean "referred to an officer".
    min_rows : int, default=50
        Slices with fewer rows are reported with their counts (``n``, ``positives``, ``referred``)
        but no metrics: every rate, score and precision of theirs is missing (NaN).

    Returns
    -------
    DataFrame
        One row per slice: ``slice`` (``all``, ``month``, ``risk_band``: observed against predicted per
        band, low to high, or a group attribute),
        ``value``, ``n`` (scored stays with a known outcome: every other figure is of these),
        ``pending`` (scored stays of the slice whose outcome is not known yet, e.g. still in the
        country with the permit running: a slice with pending stays is not settled, its known
        outcomes lean to the stays that ended early), ``positives``, ``roc_auc``, ``pr_auc``,
        ``mean_predicted``, ``observed_rate``, ``ece``, ``referred``, ``referral_precision``;
        a month of pending stays alone is listed with ``n`` 0.
        ``attrs["unscored"]``: stays with a known outcome whose score was flagged (no
        probability), left out of every slice; ``attrs["pending"]``: the pending stays of all
        slices; ``attrs["not_in_outcomes"]``: scored stays the outcomes do not hold at all.

    Raises
    ------
    SchemaError
        If a needed column is missing, a stay is scored or labelled more than
        once (a join would count it once per copy), a score or an outcome has no
        stay id, or no scored row has a known outcome.
    """
    _check_scores_and_outcomes(scored, outcomes, id_column, target)
    joined, unscored, not_in_outcomes = _join_known(scored, outcomes, id_column, target, time_column, groups)
    joined["_y"] = joined[target].astype(float)
    joined["_refer"] = joined["risk_band"].astype(object).isin(refer_bands)
    rows = [_slice_row(name, value, whole, min_rows) for name, value, whole in _slices(joined, time_column, groups)]
    out = pd.DataFrame(rows)
    out.attrs["unscored"] = unscored
    out.attrs["pending"] = int((~joined["_known"]).sum())
    out.attrs["not_in_outcomes"] = not_in_outcomes
    return out


def _check_scores_and_outcomes(scored: pd.DataFrame, outcomes: pd.DataFrame, id_column: str, target: str) -> None:
    """:func:`evaluate_scores`' refusals before the join, in order: a missing column, a stay scored or labelled twice (a
    join would count it once per copy), a row without its stay id."""
    problems = [
        SchemaProblem(c, "required column is missing", f"add `{c}`")
        for c, df in ((id_column, scored), ("probability", scored), ("risk_band", scored), (id_column, outcomes), (target, outcomes))
        if c not in df.columns
    ]
    if problems:
        raise SchemaError("scores/outcomes", problems)
    _once_each(scored, id_column, "scores", "the same stay scored more than once",
               "keep one score per stay (e.g. one night's file, or each stay's first score) before evaluating")
    _once_each(outcomes, id_column, "outcomes", "the same stay's outcome more than once", "keep one row per stay in the outcomes")
    # merge() matches every missing key with every other: a row without its stay id would pair with each such row
    _with_ids(scored, id_column, "scores", "scores without a stay id, which no outcome can be matched to",
              "score stays that carry their stay id (the nightly job's output keeps it)")
    _with_ids(outcomes, id_column, "outcomes", "outcomes without a stay id, which no score can be matched to",
              "give every outcome its stay id")


def _join_known(scored: pd.DataFrame, outcomes: pd.DataFrame, id_column: str, target: str, time_column: str,
                groups: tuple[str, ...]) -> tuple[pd.DataFrame, int, int]:
    """``(joined, unscored, not_in_outcomes)``: the scored stays with their outcomes (``_known`` says whose is known),
    and the counts of those left out; refused when no scored stay has a known outcome."""
    keep = [c for c in (id_column, target, time_column, *groups) if c in outcomes.columns]
    # an overstay read while the visa still allows an extension is no outcome yet: pending, as a missing label
    outcomes = outcomes.assign(**{target: outcomes[target].where(_settled(outcomes, target))})
    joined = scored[[id_column, "probability", "risk_band"]].merge(outcomes[keep], on=id_column, how="inner")
    unscored = int((joined[target].notna() & joined["probability"].isna()).sum())  # flagged by score(): no probability
    # a scored stay still in the country with its permit running has no outcome yet: counted per slice, never judged
    not_in_outcomes = int(scored["probability"].notna().sum()) - int(joined["probability"].notna().sum())
    joined = joined[joined["probability"].notna()].copy()
    joined["_known"] = joined[target].notna().to_numpy()
    if not joined["_known"].any():
        raise SchemaError(
            "scores/outcomes",
            [SchemaProblem(id_column, "no scored stay has a known outcome yet", "wait until permits have ended, or check that the ids match")],
        )
    return joined, unscored, not_in_outcomes


#: Days after the longest stay a visa allows before a still-open stay's overstay is settled (label_mature's default grace).
SETTLE_GRACE_DAYS = 30
_STAY_COLUMNS = ("entry_time", "exit_time", "visa_type", "permit_end", "overstay_days")


def _settled(outcomes: pd.DataFrame, target: str) -> np.ndarray:
    """Where an outcome present is settled: not an overstay read on a stay still open while its visa allows an extension.

    A stays table (:func:`~riskmodel.core.stays.build_stays` of a later log) labels a traveller still in the country past
    the permit granted at entry an overstayer, ``overstay_days`` past it on the day it was read; an extension is recorded
    only at exit, so the outcome is known once the read day is past the longest stay the visa allows plus
    :data:`SETTLE_GRACE_DAYS` (:func:`~riskmodel.core.features.label_mature`'s rule, on the same entry-time facts).
    Outcomes without the stays' columns (or whose times are not datetimes) are taken as they are.
    """
    from riskmodel.core.features import EXTENSION_ROOM_DAYS

    times = ("entry_time", "exit_time", "permit_end")
    if any(c not in outcomes.columns for c in _STAY_COLUMNS) or not all(
            pd.api.types.is_datetime64_any_dtype(outcomes[c]) for c in times):
        return np.ones(len(outcomes), dtype=bool)
    open_late = outcomes["exit_time"].isna().to_numpy() & outcomes[target].to_numpy(dtype=bool, na_value=False)
    permitted = (outcomes["permit_end"].dt.normalize() - outcomes["entry_time"].dt.normalize()).dt.days.to_numpy(
        dtype=float, na_value=np.nan) + 1
    room = np.array([EXTENSION_ROOM_DAYS.get(v, 0) for v in outcomes["visa_type"].astype(object)], dtype=object)
    room = np.where(room == None, permitted, room).astype(float)  # noqa: E711 - None: renewed for the same term
    past = outcomes["overstay_days"].to_numpy(dtype=float, na_value=np.nan)
    return ~open_late | (past > room + SETTLE_GRACE_DAYS)


def _slices(joined: pd.DataFrame, time_column: str, groups: tuple[str, ...]) -> list[tuple[str, str, pd.DataFrame]]:
    """The report's slices ``(slice, value, rows)`` in its row order: all, each month, each risk band, each group."""
    from riskmodel.core.scoring import BAND_ORDER

    slices: list[tuple[str, str, pd.DataFrame]] = [("all", "all", joined)]
    if time_column in joined.columns:
        month = pd.to_datetime(joined[time_column]).dt.to_period("M").astype(str)
        slices += [("month", m, g) for m, g in joined.groupby(month, sort=True)]
    # observed against predicted per band: of the stays called high, how many overstayed (low to high, then any other)
    band = joined["risk_band"].astype(object)
    order = [b for b in BAND_ORDER if (band == b).any()] + sorted(set(band.dropna()) - set(BAND_ORDER), key=str)
    slices += [("risk_band", str(b), joined[band == b]) for b in order]
    for g in groups:
        if g in joined.columns:
            slices += [(g, str(v), part) for v, part in joined.groupby(joined[g].astype(object), sort=True)]
    return slices


def _slice_row(name: str, value: str, whole: pd.DataFrame, min_rows: int) -> dict:
    """One slice's row of the report: counts always, metrics of its known outcomes only when it has ``min_rows``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from riskmodel.core.risk.metrics import expected_calibration_error

    part = whole[whole["_known"]]
    y, p = part["_y"].to_numpy(), part["probability"].to_numpy(dtype=float)
    both = 0 < y.sum() < len(y)
    enough = len(part) >= max(min_rows, 1)
    referred = int(part["_refer"].sum())
    return {
        "slice": name,
        "value": value,
        "n": len(part),
        "pending": int((~whole["_known"]).sum()),
        "positives": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, p)) if both and enough else np.nan,
        "pr_auc": float(average_precision_score(y, p)) if both and enough else np.nan,
        # a slice below min_rows keeps its counts only: a rate of a handful of stays judges nothing
        "mean_predicted": float(p.mean()) if enough else np.nan,
        "observed_rate": float(y.mean()) if enough else np.nan,
        "ece": expected_calibration_error(y, p) if enough else np.nan,
        "referred": referred,
        "referral_precision": float(part.loc[part["_refer"], "_y"].mean()) if referred and enough else np.nan,
    }


def _with_ids(df: pd.DataFrame, id_column: str, table: str, problem: str, fix: str) -> None:
    """Refuse ``df`` if a row has no id, naming the first such rows by position."""
    missing = np.flatnonzero(df[id_column].isna().to_numpy())
    if len(missing):
        raise SchemaError(table, [SchemaProblem(id_column, problem, fix, tuple(f"row {i}" for i in missing[:5]), len(missing))])


def _once_each(df: pd.DataFrame, id_column: str, table: str, problem: str, fix: str) -> None:
    """Refuse ``df`` if an id repeats, naming the ids of the first rows that repeat one (as the contracts' checks do) and their count."""
    ids = df[id_column]
    repeated = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    if repeated.any():
        shown = tuple(str(v) for v in ids[repeated].head(5))
        raise SchemaError(table, [SchemaProblem(id_column, problem, fix, shown, int(repeated.sum()))])
