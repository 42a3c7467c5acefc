"""Optional, time-budgeted hyperparameter search on time-ordered folds.

The search never sees the holdout: it runs on the rows before the config's test
slice, cut into ``folds`` expanding windows (train on everything before a block,
validate on the block), and maximises the mean validation PR-AUC of the booster.
Early stopping uses the most recent slice of each fold's training rows, never the
block the trial is scored on (:func:`early_stopping_slice`).
Each finished trial is passed to ``on_trial`` (the MLflow layer logs it as a
child run). :func:`tuned_config` writes the best parameters back into a config
a data scientist can review and commit.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

from riskmodel.core.config import to_dict
from riskmodel.core.exceptions import ConfigError
from riskmodel.core.risk.config import ModelConfig, RiskConfig
from riskmodel.core.risk.model import RiskModel

__all__ = ["TuningResult", "tune", "time_folds", "early_stopping_slice", "tuned_config", "write_config"]


@dataclass
class TuningResult:
    """``best_params`` (LightGBM parameters), ``best_score`` (mean fold PR-AUC) and ``trials`` (one row per trial)."""

    best_params: dict[str, Any]
    best_score: float
    trials: pd.DataFrame


def time_folds(table: pd.DataFrame, time_column: str, folds: int, *, holdout_fraction: float):
    """Expanding-window (train, valid) pairs over the rows before the holdout, oldest first.

    Raises
    ------
    ConfigError
        If ``folds`` is below 1.
    """
    if folds < 1:
        raise ConfigError(f"`tuning.folds` must be an int >= 1; got {folds}.")
    t = table[time_column]
    usable = table[t < t.quantile(1 - holdout_fraction)]
    tu = usable[time_column]
    # the first half of the usable rows is always training; the rest is cut into `folds` validation blocks
    edges = tu.quantile(np.linspace(0.5, 1.0, folds + 1)).to_numpy()
    out = []
    for k in range(folds):
        train = usable[tu < edges[k]]
        valid = usable[(tu >= edges[k]) & ((tu < edges[k + 1]) if k < folds - 1 else (tu <= edges[k + 1]))]
        out.append((train, valid))
    return out


def early_stopping_slice(train: pd.DataFrame, time_column: str, *, fraction: float = 0.15) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a fold's training rows into (fit, early-stopping) rows: the latest ``fraction`` stops the boosting."""
    t = train[time_column]
    cut = t.quantile(1 - fraction)
    return train[t < cut], train[t >= cut]


def _suggest(trial) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 15, 127, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 20, 500, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        "cat_smooth": trial.suggest_float("cat_smooth", 1.0, 50.0, log=True),
    }


def tune(
    table: pd.DataFrame,
    config: ModelConfig,
    *,
    n_trials: int = 20,
    timeout_seconds: float = 600,
    folds: int = 3,
    on_trial: Callable[[int, dict, float, float], None] | None = None,
) -> TuningResult:
    """Search LightGBM parameters with Optuna (TPE, seeded) within a time budget.

    Parameters
    ----------
    table : DataFrame
        Mature, labelled rows (the same table :func:`~riskmodel.core.risk.train.train_risk_model` takes).
    config : ModelConfig
        Features, target, time column, and the ``splits.test_fraction`` kept out of the search.
    n_trials : int, default=20
    timeout_seconds : float, default=600
        Wall-clock budget; the trial running when it ends finishes.
    folds : int, default=3
    on_trial : callable, optional
        ``on_trial(number, params, score, seconds)`` after each trial.

    Returns
    -------
    TuningResult
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from sklearn.metrics import average_precision_score

    pairs = time_folds(table, config.time_column, folds, holdout_fraction=config.splits.test_fraction)
    rows = []

    def objective(trial) -> float:
        params = {**config.params, **_suggest(trial)}
        start = time.perf_counter()
        scores = []
        for train, valid in pairs:
            fit_rows, stop_rows = early_stopping_slice(train, config.time_column)
            m = RiskModel.from_config(dataclasses.replace(config, params=params, calibration="none"))
            # early stopping on the block it is scored on would pick the round that fits that block best
            m.fit(fit_rows, valid=stop_rows, calib=stop_rows)
            scores.append(average_precision_score(valid[config.target].to_numpy(float), m.predict_margin(valid)))
        score = float(np.mean(scores))
        seconds = time.perf_counter() - start
        rows.append({"trial": trial.number, **params, "pr_auc": score, "seconds": seconds})
        if on_trial is not None:
            on_trial(trial.number, params, score, seconds)
        return score

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    study.optimize(objective, n_trials=n_trials, timeout=timeout_seconds)
    best = {**config.params, **study.best_params}
    return TuningResult(best_params=best, best_score=float(study.best_value), trials=pd.DataFrame(rows))


def tuned_config(config: RiskConfig, best_params: dict[str, Any]) -> RiskConfig:
    """A copy of ``config`` with ``model.params`` replaced by ``best_params`` (rounded for reading)."""
    clean = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in best_params.items()}
    return dataclasses.replace(config, model=dataclasses.replace(config.model, params=clean))


def write_config(config: RiskConfig, path: str | Path, *, note: str = "") -> Path:
    """Write a config as YAML (loadable with ``load_config(path, RiskConfig)``)."""
    path = Path(path)
    header = f"# {note}\n" if note else ""
    path.write_text(header + yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
