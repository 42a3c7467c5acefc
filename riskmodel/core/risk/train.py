"""One call from a table and a config to a fitted, evaluated and audited risk model.

:func:`train_risk_model` is generic: any table with the config's ``target``,
``time_column`` and feature columns will do (stays, a credit book, a
recidivism table). It splits by time (train on the past, test on the future),
fits and calibrates a :class:`~riskmodel.core.risk.model.RiskModel`, scores the
holdout, runs the baselines on the same rows (logistic regression on the same
features; the training base rate per ``baseline_group``), and audits fairness
on ``audit`` columns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.risk.config import FairnessConfig, ModelConfig
from riskmodel.core.risk.fairness import FairnessReport, fairness_audit
from riskmodel.core.risk.metrics import classification_metrics, reliability_table
from riskmodel.core.risk.model import RiskModel, time_split

__all__ = ["TrainResult", "train_risk_model", "logistic_baseline", "group_rate_baseline"]


@dataclass
class TrainResult:
    """What :func:`train_risk_model` returns.

    Attributes
    ----------
    model : RiskModel
        The fitted, calibrated model.
    metrics : dict of str to float
        Holdout metrics of the model (see :func:`~riskmodel.core.risk.metrics.classification_metrics`),
        then ``logreg_*`` and ``group_rate_*`` for the baselines, ``oracle_*`` and
        ``*_over_oracle`` when an oracle was given, ``fairness_passed`` and the
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


def train_risk_model(
    table: pd.DataFrame,
    config: ModelConfig,
    *,
    fairness: FairnessConfig | None = None,
    oracle: pd.Series | np.ndarray | None = None,
    baselines: bool = True,
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
        The true probability of each row of ``table`` (synthetic data only), aligned with it.
        Adds ``oracle_roc_auc``, ``oracle_pr_auc``, ``auc_over_oracle``, ``prauc_over_oracle``.
    baselines : bool, default=True
        Also fit the logistic-regression and group-rate baselines.

    Returns
    -------
    TrainResult

    Raises
    ------
    SchemaError
        If a configured column is missing or the target has missing values.

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
    needed = [config.target, config.time_column, *config.features, *config.audit]
    if config.baseline_group:
        needed.append(config.baseline_group)
    missing = [c for c in dict.fromkeys(needed) if c not in table.columns]
    if missing:
        raise SchemaError("table", [SchemaProblem(c, "column named in the config is missing", "add it or fix the config") for c in missing])
    if table[config.target].isna().any():
        raise SchemaError(
            "table",
            [SchemaProblem(config.target, "target is missing on some rows (immature labels?)",
                           "keep only mature, labelled rows (riskmodel.core.features.label_mature)", n_rows=int(table[config.target].isna().sum()))],
        )
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    parts = time_split(table, config.time_column, config.splits)
    model = RiskModel.from_config(config)
    model.fit(parts["train"], valid=parts["valid"], calib=parts["calib"])
    seconds["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    test = parts["test"]
    y = test[config.target].to_numpy(dtype=float)
    p = model.predict_proba(test)[:, 1]
    unseen = int(sum(model.unseen_counts_.values()))
    metrics = classification_metrics(y, p, budgets=config.budgets)
    metrics["unseen_test_values"] = float(unseen)
    metrics["best_iteration"] = float(model.best_iteration_)
    if oracle is not None:
        o = pd.Series(np.asarray(oracle, float), index=table.index).loc[test.index].to_numpy()
        om = classification_metrics(y, o, budgets=())
        metrics["oracle_roc_auc"] = om["roc_auc"]
        metrics["oracle_pr_auc"] = om["pr_auc"]
        metrics["oracle_ece"] = om["ece"]
        metrics["auc_over_oracle"] = metrics["roc_auc"] / om["roc_auc"]
        metrics["prauc_over_oracle"] = metrics["pr_auc"] / om["pr_auc"]
    seconds["evaluate"] = time.perf_counter() - t0
    if baselines:
        t0 = time.perf_counter()
        pl = logistic_baseline(parts["train"], test, config.features, config.categorical, config.target)
        for k, v in classification_metrics(y, pl, budgets=config.budgets).items():
            metrics[f"logreg_{k}"] = v
        metrics["prauc_over_logreg"] = metrics["pr_auc"] / metrics["logreg_pr_auc"]
        if config.baseline_group:
            pg = group_rate_baseline(parts["train"], test, config.baseline_group, config.target)
            for k, v in classification_metrics(y, pg, budgets=config.budgets).items():
                metrics[f"group_rate_{k}"] = v
        seconds["baselines"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    audit = fairness_audit(test, y, p, config.audit, fcfg) if config.audit else FairnessReport(pd.DataFrame(), {})
    metrics.update({f"fairness_{k}": v for k, v in audit.summary.items()})
    metrics["fairness_passed"] = float(audit.passed)
    seconds["fairness"] = time.perf_counter() - t0
    lineage = {"n_rows": int(len(table)), "n_features": len(config.features)}
    for name, part in parts.items():
        lineage[f"{name}_rows"] = int(len(part))
        lineage[f"{name}_positives"] = int(part[config.target].astype(float).sum())
        if len(part):
            lineage[f"{name}_from"] = str(part[config.time_column].min())
            lineage[f"{name}_to"] = str(part[config.time_column].max())
    return TrainResult(
        model=model,
        metrics=metrics,
        fairness=audit,
        reliability=reliability_table(y, p, bins=20, strategy="quantile"),
        lineage=lineage,
        test_scores=pd.DataFrame({"y": y, "p": p}, index=test.index),
        seconds=seconds,
    )
