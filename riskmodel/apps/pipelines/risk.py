"""The overstay-risk pipeline: config -> data -> features -> fit -> evaluate -> log -> register.

Promotion is a separate step (:func:`promote`), so a data scientist can read the
challenger's run before the gate moves ``champion``.

Examples
--------
>>> from riskmodel.apps.pipelines.risk import train, promote                  # doctest: +SKIP
>>> outcome = train("configs/risk.yaml")                       # doctest: +SKIP
>>> promote("configs/risk.yaml").passed                        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskmodel.core.config import load_config
from riskmodel.core.exceptions import ConfigError
from riskmodel.core.features import training_table
from riskmodel.core.risk import RiskConfig, TrainResult, train_risk_model
from riskmodel.core.progress import ProgressHook

__all__ = ["TrainOutcome", "load_risk_config", "load_crossings", "train", "promote", "tune"]


@dataclass
class TrainOutcome:
    """What :func:`train` returns: the training result and, when logged, where the model went."""

    result: TrainResult
    logged: object | None
    n_rows: int


def load_risk_config(config: str | Path | RiskConfig) -> RiskConfig:
    """A :class:`RiskConfig` from a YAML path, or the object itself."""
    return config if isinstance(config, RiskConfig) else load_config(config, RiskConfig)


def load_crossings(cfg: RiskConfig):
    """The crossings log of ``cfg.data`` and, for synthetic data, the truth per stay id (else None).

    The truth is a frame indexed by ``stay_id`` with ``p_full`` (the full oracle: hidden risk
    included) and ``p_observable`` (the best any model could do from what is recorded).
    """
    d = cfg.data
    if d.crossings_path:
        path = Path(d.crossings_path)
        if not path.exists():
            raise ConfigError(f"`data.crossings_path` `{path}` does not exist; give a Parquet or CSV crossings log, or null for synthetic data.")
        crossings = pd.read_csv(path, parse_dates=["timestamp", "permit_end"]) if path.suffix == ".csv" else pd.read_parquet(path)
        return crossings, None
    from riskmodel.core.datasets import make_crossings

    data = make_crossings(d.n_travellers, d.start, d.end, seed=d.seed)
    return data.crossings, data.truth.set_index("stay_id")[["p_full", "p_observable"]]


def train(
    config: str | Path | RiskConfig,
    *,
    crossings: pd.DataFrame | None = None,
    oracle: pd.Series | None = None,
    log: bool = True,
    progress: Callable[[str], None] = lambda _m: None,
    on_progress: ProgressHook | None = None,
) -> TrainOutcome:
    """Train, evaluate, audit, log to MLflow and register as ``challenger``, from one config.

    Parameters
    ----------
    config : str, Path or RiskConfig
        ``configs/risk.yaml`` or an equivalent object.
    crossings : DataFrame, optional
        A crossings log to use instead of ``config.data``.
    oracle : Series or DataFrame, optional
        True probability per ``stay_id`` (synthetic data), to report the oracle ratios; a
        frame from :func:`load_crossings` gives both the full and the observable oracle.
    log : bool, default=True
        Log the run and register the model (MLflow at ``MLFLOW_TRACKING_URI``, default
        ``sqlite:///mlflow.db``). With False, nothing touches MLflow.
    progress : callable, optional
        Receives one line per step.
    on_progress : callable, optional
        ``on_progress(what, done, total)`` (:mod:`riskmodel.core.progress`): the training stages.

    Returns
    -------
    TrainOutcome
    """
    cfg = load_risk_config(config)
    if crossings is None:
        progress("loading crossings" + (" (synthetic)" if not cfg.data.crossings_path else ""))
        crossings, oracle = load_crossings(cfg)
    cutoff = cfg.data.cutoff or str(crossings["timestamp"].max())
    progress(f"building point-in-time features; labels mature at {cutoff} (grace {cfg.data.grace_days} days)")
    table = training_table(crossings, cutoff=cutoff, grace_days=cfg.data.grace_days)
    truth = observable = None
    if isinstance(oracle, pd.DataFrame):
        truth = oracle["p_full"].reindex(table["stay_id"]).to_numpy()
        observable = oracle["p_observable"].reindex(table["stay_id"]).to_numpy()
    elif oracle is not None:
        truth = oracle.reindex(table["stay_id"]).to_numpy()
    progress(f"training on {len(table):,} mature stays")
    result = train_risk_model(table, cfg.model, fairness=cfg.fairness, oracle=truth, observable=observable, on_progress=on_progress)
    m = result.metrics
    progress(f"holdout ROC-AUC {m['roc_auc']:.4f}, PR-AUC {m['pr_auc']:.4f}, ECE {m['ece']:.4f}; fairness "
             + ("passed" if result.fairness.passed else "FAILED: " + "; ".join(result.fairness.violations)))
    logged = None
    if log:
        from riskmodel.integrations.tracking.risk import log_risk_run

        lineage = {
            "label_cutoff": cutoff,
            "grace_days": cfg.data.grace_days,
            "source": cfg.data.crossings_path or f"synthetic n_travellers={cfg.data.n_travellers} seed={cfg.data.seed}",
        }
        logged = log_risk_run(result, cfg, table=table, lineage=lineage)
        progress(f"logged run {logged.run_id}; registered {logged.name} version {logged.version} as challenger")
    return TrainOutcome(result=result, logged=logged, n_rows=len(table))


def promote(config: str | Path | RiskConfig):
    """Move ``champion`` to the current ``challenger`` if the config's gate passes; returns the decision."""
    from riskmodel.integrations.tracking.risk import promote_risk

    cfg = load_risk_config(config)
    return promote_risk(cfg.tracking.registered_name, cfg.gate)


def tune(
    config: str | Path | RiskConfig,
    out: str | Path,
    *,
    crossings: pd.DataFrame | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> Path:
    """Time-budgeted search (``config.tuning``) logged to MLflow as child runs; writes the tuned config to ``out``."""
    from riskmodel.core.risk.tuning import tuned_config, write_config
    from riskmodel.integrations.tracking.risk import tune_risk

    cfg = load_risk_config(config)
    if crossings is None:
        crossings, _ = load_crossings(cfg)
    cutoff = cfg.data.cutoff or str(crossings["timestamp"].max())
    table = training_table(crossings, cutoff=cutoff, grace_days=cfg.data.grace_days)
    progress(f"tuning on {len(table):,} mature stays: {cfg.tuning.n_trials} trials, {cfg.tuning.timeout_seconds} s budget")
    result = tune_risk(table, cfg)
    progress(f"best mean fold PR-AUC {result.best_score:.4f} after {len(result.trials)} trials")
    return write_config(tuned_config(cfg, result.best_params), out,
                        note=f"tuned: mean fold PR-AUC {result.best_score:.4f} over {len(result.trials)} trials; review, then commit")
