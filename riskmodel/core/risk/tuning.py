"""Optional, time-budgeted hyperparameter search on time-ordered folds.

The search never sees the holdout: it runs on the rows before the config's test
slice, cut into ``folds`` expanding windows (train on everything before a block,
validate on the block), and maximises the mean validation PR-AUC of the booster.
Early stopping uses the most recent slice of each fold's training rows, never the
block the trial is scored on (:func:`early_stopping_slice`).

Each finished trial is passed to ``on_trial`` (the MLflow layer logs it as a
child run). :func:`tuned_config` writes the best parameters back into a config
a data scientist can review and commit.

Given the crossings log, each fold fits on labels as known when its validation
block begins (:func:`known_then_folds`), as the pipeline's training does
(:func:`~riskmodel.core.risk.train.known_then_tables`): a stay entered before the
block whose overstay settled only after the block began is not fitted on, nor is
any stay whose label was not yet mature then. The validation block keeps the
labels of the given table (the data's end), like the test slice.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

from riskmodel.core.config import to_dict
from riskmodel.core.exceptions import ConfigError, RiskModelWarning, SchemaError, SchemaProblem, UnseenCategoryWarning
from riskmodel.core.risk.config import ModelConfig, RiskConfig, check_tuning
from riskmodel.core.risk.model import RiskModel
from riskmodel.core.risk.train import known_before

__all__ = ["TuningResult", "tune", "time_folds", "known_then_folds", "early_stopping_slice", "tuned_config", "write_config"]


@dataclass
class TuningResult:
    """``best_params`` (LightGBM parameters), ``best_score`` (mean fold PR-AUC), ``trials`` (one row per trial).

    ``folds`` has one row per fold, oldest first: ``fold``, ``labels_known_at`` (the
    validation block's first time, when the fitting labels were read; NaT on the
    end-of-data-label path), ``fit_rows`` (fit and early-stopping rows), ``not_matured``
    (earlier rows of the table left out, their label not mature at ``labels_known_at``;
    0 on the end-of-data-label path), ``valid_rows`` and ``valid_positives``.
    """

    best_params: dict[str, Any]
    best_score: float
    trials: pd.DataFrame
    folds: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)


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


def known_then_folds(
    crossings: pd.DataFrame,
    table: pd.DataFrame,
    time_column: str,
    folds: int,
    *,
    holdout_fraction: float,
    grace_days: int = 30,
) -> list[tuple[pd.DataFrame, pd.DataFrame, int]]:
    """The folds of :func:`time_folds`, each fitting on labels as known when its validation block begins.

    Parameters
    ----------
    crossings : DataFrame
        The crossings log ``table`` was built from (validated by the caller).
    table : DataFrame
        :func:`~riskmodel.core.features.training_table` at the data's cut-off.
    time_column : str
    folds : int
    holdout_fraction : float
        The latest share of ``table`` kept out of every fold (the test slice).
    grace_days : int, default=30
        See :func:`~riskmodel.core.features.label_mature`; the same as ``table``'s.

    Returns
    -------
    list of tuple
        ``(fit, valid, not_matured)`` per fold, oldest first: ``fit`` the stays that entered
        before the block's first ``time_column`` value and were mature then, labelled as known
        then (:func:`~riskmodel.core.features.training_table` at that time); ``valid`` the block
        with ``table``'s labels, indexed after ``fit`` (the two never share an index);
        ``not_matured`` how many earlier rows of ``table`` were left out, not yet mature then.

    Raises
    ------
    ConfigError
        If ``folds`` is below 1.
    """
    return [known_before(crossings, table, valid, time_column, grace_days=grace_days)
            for _train, valid in time_folds(table, time_column, folds, holdout_fraction=holdout_fraction)]


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


def _refuse_unrankable_folds(slices: list, config: ModelConfig) -> None:
    """Refuse folds that cannot rank trials: each part a trial uses must hold both outcomes.

    A validation block with no overstay scores every trial 0 (average precision), a fitting
    slice with one outcome cannot be fitted, an early-stopping slice with one cannot stop, and
    rows without a label can be neither fitted nor scored: named here, with the fold's dates and
    counts, before any trial runs.
    """
    tc, target = config.time_column, config.target
    problems = []
    for k, (fit_rows, stop_rows, valid) in enumerate(slices):
        for what, rows, verb in (("fitting rows", fit_rows, "hold"), ("early-stopping rows", stop_rows, "hold"),
                                 ("validation block", valid, "holds")):
            n, pos, unlabelled = len(rows), int(rows[target].fillna(False).astype(bool).sum()), int(rows[target].isna().sum())
            span = f"{str(rows[tc].min())[:10]} to {str(rows[tc].max())[:10]}" if n else "none"
            if unlabelled:
                # fitting refuses them itself; average precision would crash on them in the first trial
                problems.append(SchemaProblem(target, f"fold {k}: its {what} ({span}, {n} rows) {verb} {unlabelled} rows without a label",
                                              "tune on mature, labelled rows (training_table keeps only those)"))
                continue
            if 0 < pos < n:
                continue
            outcome = "no overstay" if pos == 0 else "only overstays"
            problems.append(SchemaProblem(
                target,
                f"fold {k}: its {what} ({span}, {n} rows) {verb} {outcome}, so trials cannot be "
                f"{'scored' if what == 'validation block' else 'fitted'} on it",
                "fewer folds (`tuning.folds`) or a longer history, so every fold sees both outcomes",
            ))
    if problems:
        raise SchemaError("tuning folds", problems)


def _fold_pairs(table: pd.DataFrame, config: ModelConfig, folds: int, crossings: pd.DataFrame | None, grace_days: int):
    """``(fit, early_stopping, valid)`` rows per fold (:func:`early_stopping_slice`) and the fold table of :class:`TuningResult`."""
    tc = config.time_column
    if crossings is not None:
        triples = known_then_folds(crossings, table, tc, folds, holdout_fraction=config.splits.test_fraction, grace_days=grace_days)
    else:
        warnings.warn(
            "tune() without `crossings` fits every fold on the table's labels as known at the end of the data: "
            "stays whose label settled after a fold's validation block began are fitted with future knowledge. "
            "Pass `crossings=` (and `grace_days=`) for a crossings log; on another kind of table, silence with "
            "warnings.filterwarnings('ignore', category=riskmodel.RiskModelWarning).",
            RiskModelWarning,
            stacklevel=3,
        )
        triples = [(train, valid, 0) for train, valid in time_folds(table, tc, folds, holdout_fraction=config.splits.test_fraction)]
    slices = [(*early_stopping_slice(fit, tc), valid) for fit, valid, _ in triples]
    _refuse_unrankable_folds(slices, config)
    summary = pd.DataFrame(
        [
            {
                "fold": k,
                "labels_known_at": valid[tc].min() if crossings is not None else pd.NaT,
                "fit_rows": len(fit),
                "not_matured": not_matured,
                "valid_rows": len(valid),
                "valid_positives": int(valid[config.target].sum()),
            }
            for k, (fit, valid, not_matured) in enumerate(triples)
        ]
    )
    return slices, summary


def tune(
    table: pd.DataFrame,
    config: ModelConfig,
    *,
    crossings: pd.DataFrame | None = None,
    grace_days: int = 30,
    n_trials: int = 20,
    timeout_seconds: float = 600,
    folds: int = 3,
    on_trial: Callable[[int, dict, float, float], None] | None = None,
) -> TuningResult:
    """Search LightGBM parameters with Optuna (TPE, seeded) within a time budget.

    With ``crossings``, each fold's fitting rows (fit and early stopping) are the stays that
    entered before its validation block and were mature when it began, labelled as known then
    (:func:`known_then_folds`); the block keeps ``table``'s labels. How many earlier rows each
    fold left out as not matured is in ``TuningResult.folds`` (``not_matured``).

    Parameters
    ----------
    table : DataFrame
        Mature, labelled rows at the data's cut-off (the table
        :func:`~riskmodel.core.risk.train.known_then_tables` takes).
    config : ModelConfig
        Features, target, time column, and the ``splits.test_fraction`` kept out of the search.
    crossings : DataFrame, optional
        The crossings log ``table`` was built from. Without it (a table of another kind), every
        fold fits on ``table``'s labels, known at the end of the data, and a
        :class:`~riskmodel.core.exceptions.RiskModelWarning` says so: on a crossings log, pass it.
    grace_days : int, default=30
        The grace ``table`` was built with (:func:`~riskmodel.core.features.label_mature`).
    n_trials : int, default=20
    timeout_seconds : float, default=600
        Wall-clock budget; the trial running when it ends finishes.
    folds : int, default=3
    on_trial : callable, optional
        ``on_trial(number, params, score, seconds)`` after each trial.

    Returns
    -------
    TuningResult

    Raises
    ------
    ConfigError
        Before any work, if ``n_trials`` or ``folds`` is below 1 or ``timeout_seconds`` is not above 0.
    SchemaError
        Before any trial, if a fold's fitting, early-stopping or validation rows hold one outcome
        only (a block without an overstay would score every trial 0) or rows without a label: each
        such fold is named with its dates and row counts; use fewer ``folds`` or a longer history,
        and mature, labelled rows.
    """
    # before any work: no trial or no time ran nothing, then optuna stopped naming no setting
    check_tuning(n_trials, timeout_seconds, folds, error=ConfigError)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from sklearn.metrics import average_precision_score

    slices, summary = _fold_pairs(table, config, folds, crossings, grace_days)
    rows = []
    unseen: dict[tuple[int, str], dict[str, int]] = {}  # per fold and part: the same in every trial, so warned once, after

    def objective(trial) -> float:
        params = {**config.params, **_suggest(trial)}
        start = time.perf_counter()
        scores = []
        for k, (fit_rows, stop_rows, valid) in enumerate(slices):
            m = RiskModel.from_config(dataclasses.replace(config, params=params, calibration="none"))
            with warnings.catch_warnings():  # the same in every trial: counted below, warned once after the search
                warnings.simplefilter("ignore", UnseenCategoryWarning)
                # early stopping on the block it is scored on would pick the round that fits that block best
                m.fit(fit_rows, valid=stop_rows, calib=stop_rows)
                margin = m.predict_margin(valid)
            in_valid = m.unseen_counts_  # of the block just scored
            m.encode(stop_rows, warn=False)
            for part, counts in (("early-stopping rows", m.unseen_counts_), ("validation block", in_valid)):
                if counts:
                    unseen[(k, part)] = counts
            scores.append(average_precision_score(valid[config.target].to_numpy(float), margin))
        score = float(np.mean(scores))
        seconds = time.perf_counter() - start
        rows.append({"trial": trial.number, **params, "pr_auc": score, "seconds": seconds})
        if on_trial is not None:
            on_trial(trial.number, params, score, seconds)
        return score

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    study.optimize(objective, n_trials=n_trials, timeout=timeout_seconds)
    if unseen:
        warnings.warn(
            "tuning: values not seen in a fold's fitting rows were scored as missing, in every trial: "
            f"{'; '.join(f'fold {k} {part} {v}' for (k, part), v in sorted(unseen.items()))} (column: rows). Common ones call for "
            "fewer folds or a longer history; silence with warnings.filterwarnings('ignore', "
            "category=riskmodel.UnseenCategoryWarning).",
            UnseenCategoryWarning,
            stacklevel=2,
        )
    best = {**config.params, **study.best_params}
    return TuningResult(best_params=best, best_score=float(study.best_value), trials=pd.DataFrame(rows), folds=summary)


def tuned_config(config: RiskConfig, best_params: dict[str, Any], *, searched_through: str | None = None) -> RiskConfig:
    """A copy of ``config`` with ``model.params`` replaced by ``best_params`` (rounded for reading), and
    ``tuning.searched_through`` set to the last stay the search read, when given."""
    clean = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in best_params.items()}
    tuning = config.tuning if searched_through is None else dataclasses.replace(config.tuning, searched_through=str(searched_through))
    return dataclasses.replace(config, model=dataclasses.replace(config.model, params=clean), tuning=tuning)


def write_config(config: RiskConfig, path: str | Path, *, note: str = "") -> Path:
    """Write a config as YAML (loadable with ``load_config(path, RiskConfig)``)."""
    path = Path(path)
    header = f"# {note}\n" if note else ""
    path.write_text(header + yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
