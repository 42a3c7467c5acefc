"""One call from a table and a config to a fitted, evaluated and audited risk model.

:func:`train_risk_model` is generic: any table with the config's ``target``,
``time_column`` and feature columns will do (stays, a credit book, a
recidivism table). It splits by time (train on the past, test on the future),
fits and calibrates a :class:`~riskmodel.core.risk.model.RiskModel`, scores the
holdout, runs the baselines on the same rows (logistic regression on the same
features; the training base rate per ``baseline_group``), and audits fairness
on ``audit`` columns. Ranking figures carry bootstrap 95% intervals, and their
ratios to the oracles (synthetic data) and to the logistic baseline too. When the
rows carry ``traveller_id`` the bootstrap (intervals and fairness audit) resamples
travellers, not stays: a traveller's stays have correlated outcomes.

Without a holdout, on a stays table, the slices fitted, early-stopped and calibrated on
keep only the stays whose label was mature when the test slice begins (:func:`fit_slices`),
as :func:`known_then_tables` does from the crossings: an outcome that settled once the test
slice had begun is of the window the figures are on.

A **true as-of backtest** (issue 14 part 3) passes ``holdout``:
:func:`as_of_tables` gives the training rows with labels as known at a cut-off
and the stays that entered after it, labelled once matured at the end of the
data; metrics are then also reported per ``baseline_group`` (visa type). A stay
whose label has not matured by the end of the data is left out of the holdout:
with a holdout of a year or so, no limited or permanent stay permit (ITAS: its
permit, as long again in extension room, and the grace) that entered after the
cut-off is evaluated; evaluating long permits needs an earlier cut-off of their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.risk.config import FairnessConfig, ModelConfig
from riskmodel.core.risk.fairness import FairnessReport, fairness_audit
from riskmodel.core.features import label_mature, training_table
from riskmodel.core.risk.metrics import classification_metrics, ranking_intervals, reliability_table
from riskmodel.core.risk.model import RiskModel, time_split
from riskmodel.core.progress import ProgressHook, Stages
from riskmodel.core.stays import _as_of

__all__ = ["TrainResult", "train_risk_model", "logistic_baseline", "group_rate_baseline", "as_of_tables", "as_of_cutoff", "fit_slices", "known_then_tables"]


@dataclass
class TrainResult:
    """What :func:`train_risk_model` returns.

    Attributes
    ----------
    model : RiskModel
        The fitted, calibrated model.
    metrics : dict of str to float
        Holdout metrics of the model (see :func:`~riskmodel.core.risk.metrics.classification_metrics`),
        ``roc_auc_lo/_hi`` and ``pr_auc_lo/_hi`` (bootstrap 95%), then ``logreg_*`` and
        ``group_rate_*`` for the baselines with ``prauc_over_logreg`` (and its interval),
        per reference ``r`` given (``oracle``: the full oracle, ``observable``: the
        observable oracle) ``{r}_roc_auc, {r}_pr_auc, auc_over_{r}, prauc_over_{r},
        gini_over_{r}`` each with ``_lo/_hi``; ``by_{group}_{value}_{n, positives,
        roc_auc, pr_auc}`` per ``baseline_group`` value; ``fairness_passed`` and the
        fairness summary, ``unseen_test_values``.
    fairness : FairnessReport
    reliability : DataFrame
        Reliability table of the holdout (20 equal-count bins).
    lineage : dict
        Row counts and time span of each slice, number of features.
    test_scores : DataFrame
        Holdout rows: ``y`` and ``p`` (index of the input table).
    seconds : dict of str to float
        Wall time of each step.
    """

    model: RiskModel
    metrics: dict[str, float]
    fairness: FairnessReport
    reliability: pd.DataFrame
    lineage: dict
    test_scores: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)


def _design(frame: pd.DataFrame, features, categorical) -> pd.DataFrame:
    out = {}
    for c in features:
        s = frame[c]
        if c in categorical:
            out[c] = s.astype(object).where(s.notna(), "<missing>").astype(str)
        else:
            out[c] = s.to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame(out, index=frame.index)


def logistic_baseline(train: pd.DataFrame, test: pd.DataFrame, features, categorical, target: str) -> np.ndarray:
    """Probabilities of a logistic regression on the same features (one-hot levels, imputed and scaled numbers)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = [c for c in features if c in categorical]
    nums = [c for c in features if c not in categorical]
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), cats),
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()), nums),
        ]
    )
    clf = make_pipeline(pre, LogisticRegression(max_iter=300, C=1.0))
    clf.fit(_design(train, features, categorical), train[target].to_numpy(dtype=int))
    return clf.predict_proba(_design(test, features, categorical))[:, 1]


def group_rate_baseline(train: pd.DataFrame, test: pd.DataFrame, group: str, target: str) -> np.ndarray:
    """The training rate of the target per ``group`` (e.g. visa type); the overall rate for unseen groups."""
    y = train[target].to_numpy(dtype=float)
    rates = pd.Series(y).groupby(train[group].astype(object).to_numpy()).mean()
    return test[group].astype(object).map(rates).fillna(float(y.mean())).to_numpy(dtype=float)


def as_of_cutoff(crossings: pd.DataFrame, test_fraction: float) -> pd.Timestamp:
    """The day from which the latest ``test_fraction`` of entries lie: the as-of backtest's training cut-off."""
    ts = crossings.loc[crossings["direction"].astype(str) == "entry", "timestamp"]
    return pd.Timestamp(ts.quantile(1 - test_fraction)).normalize()


def as_of_tables(crossings: pd.DataFrame, cutoff: str | pd.Timestamp, *, grace_days: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows as known at ``cutoff``, and the stays that entered after it, labelled once matured.

    Parameters
    ----------
    crossings : DataFrame
        The whole crossings log (validated by the caller).
    cutoff : str or Timestamp
        The training cut-off: only crossings up to it are read for training.
    grace_days : int, default=30
        See :func:`riskmodel.core.features.label_mature`.

    Returns
    -------
    tuple of DataFrame
        ``(train, holdout)``: ``train`` holds the stays mature at ``cutoff`` with
        labels as known then; ``holdout`` the stays that entered on or after
        ``cutoff`` and are mature at the end of the log, labelled as known then.

    Raises
    ------
    SchemaError
        If ``cutoff`` is not a date (text in ISO 8601 only: day-first text and ``now`` are not guessed), is
        missing or carries a time zone.
    """
    cutoff = _as_of(cutoff, "cutoff")
    train = training_table(crossings, cutoff=cutoff, grace_days=grace_days, validate=False)
    later = training_table(crossings, grace_days=grace_days, validate=False)
    return train, later[later["entry_time"] >= cutoff].reset_index(drop=True)


def known_then_tables(
    crossings: pd.DataFrame, table: pd.DataFrame, config: ModelConfig, *, grace_days: int = 30
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The rows a pipeline fits on, with labels as known when its test slice begins, and that test slice.

    ``table`` is :func:`~riskmodel.core.features.training_table` at the data's cut-off; its
    time split's test slice (:func:`time_split`) keeps those labels. The fitting rows are
    the stays that entered before the test slice's first ``time_column`` value and whose
    label was mature then (:func:`~riskmodel.core.features.label_mature`, same
    ``grace_days``), labelled as known then: a stay of the earlier slices whose label
    settled only once the test slice had begun would hand the fit future knowledge.

    Parameters
    ----------
    crossings : DataFrame
        The crossings log ``table`` was built from (validated by the caller).
    table : DataFrame
        The stays mature at the data's cut-off.
    config : ModelConfig
        Time column and splits.
    grace_days : int, default=30

    Returns
    -------
    tuple
        ``(fit, test, not_matured)``: ``fit`` for :func:`train_risk_model`'s ``table``,
        ``test`` for its ``holdout`` (indexed after ``fit``, so the two never share an
        index), and how many earlier rows of ``table`` were left out, their label not
        yet mature at the test slice's start.
    """
    return known_before(crossings, table, time_split(table, config.time_column, config.splits)["test"], config.time_column,
                        grace_days=grace_days)


def known_before(
    crossings: pd.DataFrame, table: pd.DataFrame, block: pd.DataFrame, time_column: str, *, grace_days: int = 30
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(fit, block, not_matured)``: the stays that entered before ``block`` begins, labelled as known then.

    ``fit`` is :func:`~riskmodel.core.features.training_table` at ``block``'s first
    ``time_column`` value, cut before it; ``block`` comes back indexed after ``fit`` (the two
    never share an index) with ``table``'s labels; ``not_matured`` counts the earlier rows of
    ``table`` left out, their label not yet mature then. Shared by :func:`known_then_tables`
    and :func:`~riskmodel.core.risk.tuning.known_then_folds`.
    """
    start = block[time_column].min()
    then = training_table(crossings, cutoff=start, grace_days=grace_days, validate=False)
    fit = then[then[time_column] < start].reset_index(drop=True)
    not_matured = int((table[time_column] < start).sum()) - len(fit)
    return fit, block.set_axis(pd.RangeIndex(len(fit), len(fit) + len(block))), not_matured


def fit_slices(table: pd.DataFrame, config: ModelConfig, holdout: pd.DataFrame | None, *,
               grace_days: int = 30) -> dict[str, pd.DataFrame]:
    """train / valid / calib / test: the time split, or (with a holdout) the training rows cut without a test slice.

    In the time split of a stays table (``visa_type``, ``permit_end``, ``overstayed`` by ``entry_time``), the
    slices fitted on keep only the stays whose label was mature when the test slice begins
    (:func:`~riskmodel.core.features.label_mature`, ``grace_days``): the rows
    :func:`known_then_tables` fits on. A label that settled once the test slice had begun is an outcome of the
    window the figures are on (19% of the calibration rows of an 8,000-traveller log).
    """
    if holdout is None:
        return _mature_at_test_start(time_split(table, config.time_column, config.splits), config, grace_days)
    sp = config.splits
    rest = 1.0 - sp.test_fraction
    # the same valid and calib shares of the pre-test rows as in the plain time split
    q = [1 - (sp.valid_fraction + sp.calib_fraction) / rest, 1 - sp.calib_fraction / rest]
    t = table[config.time_column]
    cuts = t.quantile(q).to_numpy()
    return {"train": table[t < cuts[0]], "valid": table[(t >= cuts[0]) & (t < cuts[1])], "calib": table[t >= cuts[1]], "test": holdout}


def _mature_at_test_start(parts: dict[str, pd.DataFrame], config: ModelConfig, grace_days: int) -> dict[str, pd.DataFrame]:
    """``parts`` with the fitting slices cut to the stays mature when the test slice begins (a stays table's split only)."""
    test = parts["test"]
    stays = {"visa_type", "permit_end", "entry_time"} <= set(test.columns)
    if not (stays and config.time_column == "entry_time" and config.target == "overstayed" and len(test)):
        return parts
    start = test["entry_time"].min()
    return {k: (p.loc[label_mature(p, start, grace_days=grace_days)] if k != "test" else p) for k, p in parts.items()}


def _by_group(test: pd.DataFrame, y: np.ndarray, p: np.ndarray, group: str) -> dict[str, float]:
    """Support, positives, ROC-AUC and PR-AUC of the holdout per value of ``group``."""
    out = {}
    values = test[group].astype(str).to_numpy()
    for v in sorted(set(values)):
        m = values == v
        cm = classification_metrics(y[m], p[m], budgets=())
        for k in ("n", "positives", "roc_auc", "pr_auc"):
            out[f"by_{group}_{v}_{k}"] = cm[k]
    return out


def _aligned(values, index: pd.Index, rows: pd.Index) -> np.ndarray:
    return pd.Series(np.asarray(values, float), index=index).loc[rows].to_numpy()


def train_risk_model(
    table: pd.DataFrame,
    config: ModelConfig,
    *,
    fairness: FairnessConfig | None = None,
    oracle: pd.Series | np.ndarray | None = None,
    baselines: bool = True,
    holdout: pd.DataFrame | None = None,
    observable: pd.Series | np.ndarray | None = None,
    n_boot: int = 200,
    on_progress: ProgressHook | None = None,
    grace_days: int = 30,
) -> TrainResult:
    """Split by time, fit, calibrate, evaluate on the future slice, compare with baselines, audit.

    Parameters
    ----------
    table : DataFrame
        Labelled, mature rows only: every ``target`` value present. For stays, filter with
        :func:`riskmodel.core.features.label_mature` first.
    config : ModelConfig
        Target, time column, features, categorical and audit columns, params, splits.
    fairness : FairnessConfig, optional
        Audit bounds; default :class:`FairnessConfig()`.
    oracle : Series or ndarray, optional
        The full oracle (synthetic data only): the probability of each row's label
        given everything, hidden risk included; aligned with the evaluated rows (``table``,
        or ``holdout`` when given). Adds ``oracle_*``, ``auc_over_oracle``,
        ``prauc_over_oracle``, ``gini_over_oracle`` with intervals.
    baselines : bool, default=True
        Also fit the logistic-regression and group-rate baselines.
    holdout : DataFrame, optional
        The as-of holdout (see :func:`as_of_tables`, or :func:`known_then_tables` for
        the pipeline's time split): then ``table`` holds only
        training rows (labels as known at the cut-off), cut into train, valid and
        calib, and the model is evaluated on ``holdout``.
    observable : Series or ndarray, optional
        The observable oracle (synthetic data), aligned like ``oracle``: adds
        ``observable_*``, ``auc_over_observable``, ``prauc_over_observable``, ``gini_over_observable``.
    n_boot : int, default=200
        Bootstrap replicates of the intervals (resampling the test slice's travellers when
        it has a ``traveller_id`` column, its rows otherwise).
    on_progress : callable, optional
        ``on_progress(what, done, total)`` (:mod:`riskmodel.core.progress`) as each stage
        finishes: fit, evaluate, baselines, intervals, fairness audit.
    grace_days : int, default=30
        Without ``holdout``, on a stays table: the slices fitted, early-stopped and calibrated on
        keep the stays whose label was mature when the test slice begins (:func:`fit_slices`), the
        others counted in ``lineage["not_matured_at_test_start"]``; ``table``'s ``grace_days``.

    Returns
    -------
    TrainResult

    Raises
    ------
    SchemaError
        If a configured column is missing, the target has missing values, or ``holdout`` does not
        lie after every row of ``table`` (its first ``time_column`` value not after their last).

    Examples
    --------
    >>> from riskmodel.core.datasets import make_crossings
    >>> from riskmodel.core.features import build_features, label_mature
    >>> from riskmodel.core.risk.config import ModelConfig
    >>> data = make_crossings(3_000, seed=1)
    >>> f = build_features(data.crossings)
    >>> f = f[label_mature(f, data.as_of)]
    >>> cfg = ModelConfig(target="overstayed", time_column="entry_time", features=("visa_type", "planned_over_max"),
    ...                   categorical=("visa_type",), audit=("sex",), num_boost_round=50)
    >>> res = train_risk_model(f, cfg, baselines=False)
    >>> 0 < res.metrics["roc_auc"] <= 1
    True
    """
    fcfg = fairness or FairnessConfig()
    for name, frame in (("table", table), ("holdout", holdout)):
        if frame is not None:
            _check_columns(name, frame, config)
    if holdout is not None:
        _check_holdout_is_later(table, holdout, config.time_column)
    seconds: dict[str, float] = {}
    stages = Stages(on_progress, "risk training", ["fit", "evaluate", "baselines", "intervals", "fairness audit"])
    t0 = time.perf_counter()
    parts = fit_slices(table, config, holdout, grace_days=grace_days)
    model = RiskModel.from_config(config)
    model.fit(parts["train"], valid=parts["valid"], calib=parts["calib"])
    seconds["fit"] = time.perf_counter() - t0
    stages.done("fit")

    t0 = time.perf_counter()
    test = parts["test"]
    y = test[config.target].to_numpy(dtype=float)
    p = model.predict_proba(test)[:, 1]
    metrics = classification_metrics(y, p, budgets=config.budgets)
    metrics["unseen_test_values"] = float(sum(model.unseen_counts_.values()))
    metrics["best_iteration"] = float(model.best_iteration_)
    source = holdout if holdout is not None else table
    refs = {k: _aligned(v, source.index, test.index) for k, v in (("oracle", oracle), ("observable", observable)) if v is not None}
    for name, r in refs.items():
        metrics[f"{name}_ece"] = classification_metrics(y, r, budgets=())["ece"]
    if config.baseline_group:
        metrics.update(_by_group(test, y, p, config.baseline_group))
    seconds["evaluate"] = time.perf_counter() - t0
    stages.done("evaluate")
    if baselines:
        t0 = time.perf_counter()
        pl = logistic_baseline(parts["train"], test, config.features, config.categorical, config.target)
        for k, v in classification_metrics(y, pl, budgets=config.budgets).items():
            metrics[f"logreg_{k}"] = v
        refs["logreg"] = pl
        if config.baseline_group:
            pg = group_rate_baseline(parts["train"], test, config.baseline_group, config.target)
            for k, v in classification_metrics(y, pg, budgets=config.budgets).items():
                metrics[f"group_rate_{k}"] = v
        seconds["baselines"] = time.perf_counter() - t0
    stages.done("baselines")
    t0 = time.perf_counter()
    # a traveller's stays share a risk: the intervals resample travellers, not stays
    metrics.update(ranking_intervals(y, p, refs, n_boot=n_boot, seed=config.seed, clusters=test.get("traveller_id")))
    seconds["intervals"] = time.perf_counter() - t0
    stages.done("intervals")
    t0 = time.perf_counter()
    # with no audit attribute the audit fails (it judged no one), so a gate requiring fairness refuses
    audit = fairness_audit(test, y, p, config.audit, fcfg, clusters=test.get("traveller_id"))
    metrics.update({f"fairness_{k}": v for k, v in audit.summary.items()})
    metrics["fairness_passed"] = float(audit.passed)
    seconds["fairness"] = time.perf_counter() - t0
    stages.done("fairness audit")
    return TrainResult(
        model=model,
        metrics=metrics,
        fairness=audit,
        reliability=reliability_table(y, p, bins=20, strategy="quantile"),
        lineage=_lineage(table, parts, config, holdout is None),
        test_scores=pd.DataFrame({"y": y, "p": p}, index=test.index),
        seconds=seconds,
    )


def _check_columns(name: str, frame: pd.DataFrame, config: ModelConfig) -> None:
    needed = [config.target, config.time_column, *config.features, *config.audit]
    if config.baseline_group:
        needed.append(config.baseline_group)
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise SchemaError(name, [SchemaProblem(c, "column named in the config is missing", "add it or fix the config") for c in missing])
    if frame[config.target].isna().any():
        raise SchemaError(
            name,
            [SchemaProblem(config.target, "target is missing on some rows (immature labels?)",
                           "keep only mature, labelled rows (riskmodel.core.features.label_mature)", n_rows=int(frame[config.target].isna().sum()))],
        )


def _check_holdout_is_later(table: pd.DataFrame, holdout: pd.DataFrame, time_column: str) -> None:
    """Refuse a holdout that does not lie after every fitting row: its figures would be read on rows fitted, stopped or calibrated on."""
    if not len(table) or not len(holdout):
        return
    first, last = holdout[time_column].min(), table[time_column].max()
    if not first > last:
        raise SchemaError(
            "holdout",
            [SchemaProblem(time_column, f"the holdout starts at {first}, not after the last row of `table` ({last}) that the model is "
                                        "fitted, early-stopped or calibrated on, so its figures would not be held out",
                           "hold out the stays that entered after every fitting row (as_of_tables, known_then_tables)")],
        )


def _lineage(table: pd.DataFrame, parts: dict[str, pd.DataFrame], config: ModelConfig, split: bool) -> dict:
    lineage = {"n_rows": int(len(table)), "n_features": len(config.features)}
    if split and len(parts["test"]):  # the time split's earlier rows not fitted on: their label not mature then
        before = int((table[config.time_column] < parts["test"][config.time_column].min()).sum())
        lineage["not_matured_at_test_start"] = before - sum(len(parts[k]) for k in ("train", "valid", "calib"))
    for name, part in parts.items():
        lineage[f"{name}_rows"] = int(len(part))
        lineage[f"{name}_positives"] = int(part[config.target].astype(float).sum())
        if len(part):
            lineage[f"{name}_from"] = str(part[config.time_column].min())
            lineage[f"{name}_to"] = str(part[config.time_column].max())
    return lineage
