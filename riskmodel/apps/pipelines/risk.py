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

import numpy as np
import pandas as pd

from riskmodel.core.config import load_config
from riskmodel.core.csv_files import check_csv, iso_dates, read_csv
from riskmodel.core.exceptions import ConfigError, UnreadableFileError
from riskmodel.core.features import training_table
from riskmodel.core.parquet_parts import read_parquet
from riskmodel.core.progress import ProgressHook
from riskmodel.core.risk import RiskConfig, TrainResult, fairness_audit, train_risk_model
from riskmodel.core.risk.config import audit_policy_changes
from riskmodel.core.risk.train import fit_slices, known_then_tables, logistic_baseline
from riskmodel.core.stays import check_exit_feed

__all__ = ["TrainOutcome", "load_risk_config", "load_crossings", "label_cutoff", "train", "gate_window", "promote", "tune", "audit_policy_changes"]


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
    A CSV log's identifier columns are read as text (``007`` stays ``007``, not 7), after the checks every
    CSV reader runs (:func:`~riskmodel.core.csv_files.check_csv`).

    Raises
    ------
    ConfigError
        If ``data.crossings_path`` does not exist.
    SchemaError
        If a CSV log's header names a column more than once.
    UnreadableFileError
        If a CSV log was cut off in its last row.
    """
    d = cfg.data
    if d.crossings_path:
        path = Path(d.crossings_path)
        if not path.exists():
            raise ConfigError(f"`data.crossings_path` `{path}` does not exist; give a Parquet or CSV crossings log, or null for synthetic data.")
        if path.suffix != ".csv":
            return read_parquet(path), None  # a folder whose files disagree on a column is refused
        try:
            check_csv(path)  # a column named twice would be read as `name.1`, a cut-off last row completed with missing values
        except pd.errors.ParserError as exc:
            raise UnreadableFileError(path, str(exc), "re-export the crossings log and check it was copied completely") from None
        # a CSV has no types: ids read as numbers lose their zeros, and travellers '007' and '7' become one
        log = read_csv(path)  # a traveller whose id is the text "NA" keeps it
        for col in ("timestamp", "permit_end"):  # ISO 8601 only, as every CSV reader: day-first dates are not guessed
            if col in log.columns:
                log[col] = iso_dates(log[col], col, str(path))
        return log, None
    from riskmodel.core.datasets import make_crossings

    data = make_crossings(d.n_travellers, d.start, d.end, seed=d.seed)
    return data.crossings, data.truth.set_index("stay_id")[["p_full", "p_observable"]]


def label_cutoff(cfg: RiskConfig, crossings: pd.DataFrame) -> str:
    """The time labels are read at: ``data.cutoff``, or the log's last crossing.

    Raises
    ------
    ConfigError
        If ``data.cutoff`` is not a date or lies after the log's last crossing: the log cannot tell who left in
        between, so travellers still in the country when it ends would be labelled overstayers.
    """
    last = crossings["timestamp"].max()
    if cfg.data.cutoff is None:
        return str(last)
    try:
        when = pd.Timestamp(cfg.data.cutoff)
    except ValueError:
        raise ConfigError(f"`data.cutoff` {cfg.data.cutoff!r} is not a date; write it as YYYY-MM-DD, or null for the end of the log.") from None
    if when > last:
        raise ConfigError(f"`data.cutoff` {cfg.data.cutoff} is after the last crossing of the log ({last}): exits after the log "
                          "ends are unknown, so everyone still in the country would be labelled an overstayer once their permit "
                          "ran out. Give a cut-off on or before the log's last crossing, or null for the end of the log.")
    return cfg.data.cutoff


def _oracle_of(oracle: pd.Series | pd.DataFrame | None, stay_ids: pd.Series):
    """``(truth, observable)``: the synthetic data's true probabilities of the test slice's stays, for the oracle ratios;
    a frame from :func:`load_crossings` holds both, a series the full one only, None neither."""
    truth = observable = None
    if isinstance(oracle, pd.DataFrame):
        truth = oracle["p_full"].reindex(stay_ids).to_numpy()
        observable = oracle["p_observable"].reindex(stay_ids).to_numpy()
    elif oracle is not None:
        truth = oracle.reindex(stay_ids).to_numpy()
    return truth, observable


def _holdout_words(result: TrainResult) -> str:
    """The progress line of a training's held-out figures and audit verdict, with what the audit did not judge in full."""
    m, notes = result.metrics, list(result.fairness.notes)
    words = (f"holdout ROC-AUC {m['roc_auc']:.4f}, PR-AUC {m['pr_auc']:.4f}, ECE {m['ece']:.4f}; fairness "
             + ("passed" if result.fairness.passed else "FAILED: " + "; ".join(result.fairness.violations)))
    if notes:  # three and a count, as the gate's line: every one of them was a wall of text a reader skipped
        words += (f"; {len(notes)} group{'s' if len(notes) != 1 else ''} (or pool{'s' if len(notes) != 1 else ''} of groups) "
                  f"not judged in full: {'; '.join(notes[:3])}"
                  + (f"; and {len(notes) - 3} more (the model card's Fairness summary lists every one)" if len(notes) > 3 else ""))
    return words


def _log_and_register(result: TrainResult, cfg: RiskConfig, table: pd.DataFrame, cutoff, progress: Callable[[str], None]):
    """Log the training run to MLflow with its data's lineage and register the model as ``challenger``; MLflow is
    imported only here, so ``train(log=False)`` never touches it."""
    from riskmodel.integrations.tracking.risk import log_risk_run

    lineage = {
        "label_cutoff": cutoff,
        "grace_days": cfg.data.grace_days,
        "source": cfg.data.crossings_path or f"synthetic n_travellers={cfg.data.n_travellers} seed={cfg.data.seed}",
    }
    logged = log_risk_run(result, cfg, table=table, lineage=lineage)
    progress(f"logged run {logged.run_id}; registered {logged.name} version {logged.version} as challenger")
    return logged


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

    The test slice (the latest ``splits.test_fraction`` of the stays mature at the data's
    cut-off) keeps the labels known at that cut-off; the slices fitted, early-stopped and
    calibrated on hold the earlier stays with labels as known when the test slice begins
    (:func:`~riskmodel.core.risk.train.known_then_tables`): a stay whose label had not
    matured by then is left out, and counted (``not_matured_at_test_start`` in the lineage).

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

    Raises
    ------
    SchemaError
        If the log has a week of 30 entries or more and no exit (:func:`~riskmodel.core.stays.check_exit_feed`:
        the exit feed was down), or fails the crossings contract.
    """
    cfg = load_risk_config(config)
    if crossings is None:
        progress("loading crossings" + (" (synthetic)" if not cfg.data.crossings_path else ""))
        crossings, oracle = load_crossings(cfg)
    cutoff = label_cutoff(cfg, crossings)
    check_exit_feed(crossings)  # a week with no exit would label everyone who left then, and has not come back, an overstayer
    progress(f"building point-in-time features; labels mature at {cutoff} (grace {cfg.data.grace_days} days)")
    table = training_table(crossings, cutoff=cutoff, grace_days=cfg.data.grace_days)
    # fitting slices with labels as known when the test slice begins; the test slice as known at the cut-off
    fit, test, not_matured = known_then_tables(crossings, table, cfg.model, grace_days=cfg.data.grace_days)
    known_at = test[cfg.model.time_column].min()
    truth, observable = _oracle_of(oracle, test["stay_id"])
    progress(f"fitting on {len(fit):,} stays with labels as known at the test slice's start {known_at} "
             f"({not_matured:,} earlier stays not matured then, left out); testing on {len(test):,} stays")
    result = train_risk_model(fit, cfg.model, fairness=cfg.fairness, oracle=truth, observable=observable,
                              holdout=test, on_progress=on_progress)
    result.lineage.update(fit_labels_known_at=str(known_at), not_matured_at_test_start=not_matured)
    progress(_holdout_words(result))
    logged = _log_and_register(result, cfg, pd.concat([fit, test]), cutoff, progress) if log else None
    return TrainOutcome(result=result, logged=logged, n_rows=len(fit) + len(test))


def gate_window(cfg: RiskConfig, crossings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(before, window)``: the gate's recent window of matured stays and the training rows before it.

    The window is the latest ``splits.test_fraction`` of the stays mature at the data's
    cut-off: the slice :func:`train` evaluates the challenger on, which its fit, early
    stopping and calibration never read. ``before`` is that training's first slice, with
    labels as known when the window begins (:func:`~riskmodel.core.risk.train.known_then_tables`),
    on which the logistic baseline is fitted. A log whose exit feed was down for a week is refused
    (:func:`~riskmodel.core.stays.check_exit_feed`), as by :func:`train`.
    """
    cutoff = label_cutoff(cfg, crossings)
    check_exit_feed(crossings)  # the window's labels would hold the outage's leavers as overstayers
    table = training_table(crossings, cutoff=cutoff, grace_days=cfg.data.grace_days)
    fit, window, _ = known_then_tables(crossings, table, cfg.model, grace_days=cfg.data.grace_days)
    return fit_slices(fit, cfg.model, window)["train"], window


def _challenger_refusal(name: str, version, through, start, cfg: RiskConfig):
    """The gate's refusals of a challenger before it is scored: a window it may have been fitted, early-stopped,
    calibrated or tuned on, or an audit policy other than its own; None when it may be judged on the window."""
    from riskmodel.core.gate import GateDecision
    from riskmodel.integrations.tracking.risk import logged_config

    if through is None:
        # a check the gate cannot make is no pass: the window may be rows the challenger was fitted on
        return GateDecision(False, ("FAIL: the challenger's training run logged no fitting lineage (data_train_to, "
                                    "data_valid_to, data_calib_to), so the gate cannot tell whether the window "
                                    f"starting {start} was held out; retrain and register it with the risk pipeline",))
    if start <= through:
        # a window the challenger was fitted, early-stopped or calibrated on would flatter it
        return GateDecision(False, (f"FAIL: the gate window starts {start} but the challenger read rows up to {through} "
                                    "to fit, stop or calibrate; promote with the crossings log it was trained on",))
    trained = logged_config(name, version=version)
    searched = ((trained or {}).get("tuning") or {}).get("searched_through") if isinstance(trained, dict) else None
    if searched is not None and start <= pd.Timestamp(searched):  # parameters chosen on the window would flatter it there
        return GateDecision(False, (f"FAIL: the challenger's hyper-parameters were chosen by a search on stays up to {searched} "
                                    f"(its config's tuning.searched_through), and the gate window starts {start}: its figures "
                                    "there would be flattered by that choice; tune again on a log ending before the window, or "
                                    "promote on a log whose window starts after it",))
    changed = audit_policy_changes(trained, cfg)
    if changed:  # a looser copy of the config would pass a challenger its own policy failed
        return GateDecision(False, (f"FAIL: the audit policy differs from the one version {version} was trained and "
                                    f"audited under (its run's config/risk.json): {'; '.join(changed)}; promote with the config it "
                                    "was trained with, or retrain it under this policy",))
    return None


def _champion_on_window(name: str, champion, window: pd.DataFrame, start):
    """``(refusal, scores, words)`` of the champion the challenger is compared with: refused when it was fitted on the
    window (compared in-sample, flattered), said in ``words`` when that cannot be told, else scored on the window."""
    from riskmodel.core.gate import GateDecision
    from riskmodel.integrations.tracking.loading import check_pinned_champion
    from riskmodel.integrations.tracking.risk import fitted_through, load_risk_model

    undated = ()
    check_pinned_champion(name, champion.version, champion.tags)  # a champion moved by hand is refused, as at load
    # a champion fitted on the window is compared in-sample, flattered against any challenger
    champ_through = fitted_through(name, version=champion.version)
    if champ_through is not None and start <= champ_through:
        return GateDecision(False, (f"FAIL: the champion version {champion.version} read rows up to {champ_through} to fit, "
                                    f"stop or calibrate, and the gate window starts {start}: its figure there would be "
                                    "in-sample; train the challenger on a log reaching past the champion's, so that the "
                                    "window starts after both models' fitting rows",)), None, ()
    if champ_through is None:  # said, not refused: an in-sample champion is flattered, the challenger judged harder
        undated = (f"OFF: the champion version {champion.version}'s training run logged no fitting lineage (data_train_to, "
                   "data_valid_to, data_calib_to), so whether this window holds rows it was fitted on cannot be told: its "
                   "figures here may be in-sample, flattering it against the challenger",)
    champ = load_risk_model(champion.uri).predict_proba(window)[:, 1]
    return None, champ, undated


def _earlier_on_window(name: str, besides: tuple[str, ...], window: pd.DataFrame, start):
    """``(scores, words)``: the champions before the current one scored on the window, by version, for the gate's rule
    on drops that add up over promotions; those that cannot be compared out of sample are left out and said."""
    from riskmodel.integrations.tracking.risk import earlier_champions, fitted_through, load_risk_model

    scores, left = {}, []
    for v in earlier_champions(name, besides=besides):
        through = fitted_through(name, version=v)
        if through is None or start <= through:  # in-sample on the window, or cannot be told: a flattered figure
            left.append(f"{v} ({'no fitting lineage' if through is None else f'fitted on rows up to {through}'})")
            continue
        scores[v] = load_risk_model(f"models:/{name}/{v}").predict_proba(window)[:, 1]
    words = (f"note: earlier champion{'s' if len(left) != 1 else ''} {', '.join(left)} not scored on the window: "
             "their figures there could be in-sample",) if left else ()
    return scores, words


def _judge_on_window(before: pd.DataFrame, window: pd.DataFrame, y, p, champ, cfg: RiskConfig, earlier=None):
    """The paired gate's decision on the window (:func:`~riskmodel.core.risk.gate.evaluate_window_gate`) after the
    challenger's fairness audit there, with the audit's words after its reasons."""
    from riskmodel.core.risk.gate import evaluate_window_gate

    m = cfg.model
    # no audit attribute is no pass: the audit then fails (it judged no one), as the gate must
    # a traveller's stays share a risk: the intervals resample travellers (the ids are never logged)
    travellers = window.get("traveller_id")
    fair = fairness_audit(window, y, p, m.audit, cfg.fairness, clusters=travellers)
    decision = evaluate_window_gate(
        y, p, champ, logistic_baseline(before, window, m.features, m.categorical, m.target),
        fairness_passed=fair.passed, config=cfg.gate, clusters=travellers, earlier=earlier,
    )
    decision = _with_audit_words(decision, fair)
    return decision


def promote(config: str | Path | RiskConfig, *, crossings: pd.DataFrame | None = None, version: str | int | None = None):
    """Move ``champion`` to the current ``challenger`` (or to ``version``) if it passes the paired gate; returns the decision.

    Champion, challenger and the challenger's logistic baseline are scored on the same
    recent window of matured stays (:func:`gate_window`), and the challenger is audited
    there; :func:`~riskmodel.core.risk.gate.evaluate_window_gate` decides: the config's
    absolute bounds, not worse than the champion beyond noise (paired bootstrap
    interval) nor by more than the paired metric's written tolerance on the window (nor by more than
    it below the best earlier champion scored there: drops within the tolerance at each promotion
    would add up), better than the logistic baseline, fair. The window's bootstrap intervals (the
    paired differences and the audit's) resample its travellers (``traveller_id``), not its stays.

    A window that starts before the last row the challenger read to fit, stop or calibrate
    (its logged lineage: another, shorter log than it was trained on) is refused outright, and so
    is a challenger whose training run logged no such lineage (the check cannot be made). So is a
    ``config`` whose audit policy (the fairness section, audit attributes, target, grace days) differs
    from the one the challenger was trained and audited under (:func:`audit_policy_changes`).

    The decision and its reasons are recorded on the version (``gate.*`` tags) and written into its
    model card: the version's description and the run's ``model_card.md``.

    The versions judged are those the promotion picked under its lease, by number
    (:func:`~riskmodel.integrations.tracking.registry.promote_pinned`): a trainer registering a new
    ``challenger`` meanwhile changes neither the version judged nor the version promoted.

    This process's next call by alias (``score(model="models:/<name>@champion")``) then serves
    the new champion at once (:func:`riskmodel.api.forget_aliases`).

    Parameters
    ----------
    config : str, Path or RiskConfig
    crossings : DataFrame, optional
        The crossings log the challenger was trained on; default: ``config.data`` again.
    version : str or int, optional
        Judge and promote this version rather than the one behind ``challenger`` (a trainer
        promoting the version it just registered, as ``riskmodel run`` does).
    """
    from riskmodel.api import forget_aliases
    from riskmodel.core.gate import GateDecision
    from riskmodel.integrations.tracking import cards, registry
    from riskmodel.integrations.tracking.risk import evaluated_on, fitted_through, load_risk_model

    cfg = load_risk_config(config)
    if crossings is None:
        crossings, _ = load_crossings(cfg)
    before, window = gate_window(cfg, crossings)
    m, name = cfg.model, cfg.tracking.registered_name
    y = window[m.target].to_numpy(dtype=float)

    def decide(candidate: registry.Pinned, champion: registry.Pinned | None):
        # the versions registry.promote picked, by number: a trainer registering a new challenger does not take the
        # promotion lease, so @challenger may point at another version by now; the version judged is the one promoted
        through, start = fitted_through(name, version=candidate.version), window[m.time_column].min()
        refusal = _challenger_refusal(name, candidate.version, through, start, cfg)
        if refusal is not None:
            return refusal
        p = load_risk_model(candidate.uri).predict_proba(window)[:, 1]
        champ, undated, earlier = None, (), {}
        if champion is not None:
            refusal, champ, undated = _champion_on_window(name, champion, window, start)
            if refusal is not None:
                return refusal
            # each promotion may drop by the tolerance from the champion it replaces: the gate reads the sum too
            earlier, unscored = _earlier_on_window(name, (str(candidate.version), str(champion.version)), window, start)
            undated += unscored
        decision = _judge_on_window(before, window, y, p, champ, cfg, earlier)
        return GateDecision(decision.passed, undated + decision.reasons, decision.comparisons)

    seen = _window_words(window, y, m.time_column, label_cutoff(cfg, crossings))

    def decide_naming_the_window(candidate: registry.Pinned, champion: registry.Pinned | None):
        decision = decide(candidate, champion)  # every figure below was read on these rows, and a refusal says where it looked
        t = window[m.time_column]
        others = evaluated_on(name, str(t.min()), str(t.max()), besides=candidate.version) if len(window) else []
        return GateDecision(decision.passed, (seen, *_reuse_words(others), *decision.reasons), decision.comparisons)

    try:
        decision = registry.promote_pinned(name, decide_naming_the_window, version=version)
    finally:
        forget_aliases(name)  # this process's next call by alias serves the new champion at once
    cards.record_decision(name, decision.candidate)  # the card said "not decided yet" until now
    return decision


def _window_words(window: pd.DataFrame, y, time_column: str, cutoff: str) -> str:
    """The decision's first line: the rows every figure after it was read on, so each can be traced back to them.

    Stays, overstays and travellers (a count: the ids are never logged), their entry span and when their labels were
    read. Promoted with the log it was trained on, this is the challenger's test slice (its run's ``data_test_*``)."""
    t = window[time_column]
    travellers = f" of {window['traveller_id'].nunique():,} travellers" if "traveller_id" in window.columns else ""
    span = f"entered {t.min()} to {t.max()}" if len(window) else "no stay entered"
    return (f"window: {len(window):,} stays ({int(np.sum(y)):,} overstays){travellers}, {span}, labels as known at {cutoff}; "
            "every figure below was read on these rows")


def _reuse_words(others: list[str], shown: int = 5) -> tuple[str, ...]:
    """A note when other versions were tested on the same window: trying challengers on one window until one passes tunes on it."""
    if not others:
        return ()
    listed = ", ".join(others[:shown]) + (f" and {len(others) - shown} more" if len(others) > shown else "")
    return (f"note: this window was also the test slice of {len(others)} other version{'s' if len(others) != 1 else ''} ({listed}), "
            "whose holdout figures were each seen on it when trained: a challenger chosen among several on one window is flattered "
            "there by the choice, which the intervals below do not count; judge it again on a later window once newer stays have "
            "matured",)


def _with_audit_words(decision, audit, shown: int = 10):
    """``decision`` with the audit's words after its reasons (``audit: ...``): each violation, so a refusal names each
    group and bound, and the groups the audit did not judge on every comparison, so a pass is not read as covering them."""
    from riskmodel.core.gate import GateDecision

    violations, notes = list(audit.violations), list(audit.notes)
    lines = [f"audit: {v}" for v in violations[:shown]]
    if len(violations) > shown:
        lines.append(f"audit: and {len(violations) - shown} more (the training run's fairness table holds every group)")
    if notes:  # FairnessReport.notes: what a pass does not cover, shown beside the verdict
        lines.append(f"audit: {len(notes)} group{'s' if len(notes) != 1 else ''} (or pools of groups) not judged in full (too few rows or "
                     f"overstays, an interval too wide, or pooled as other): {'; '.join(notes[:3])}"
                     + (f"; and {len(notes) - 3} more" if len(notes) > 3 else ""))
    return GateDecision(decision.passed, decision.reasons + tuple(lines), decision.comparisons)


def tune(
    config: str | Path | RiskConfig,
    out: str | Path,
    *,
    crossings: pd.DataFrame | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> Path:
    """Time-budgeted search (``config.tuning``) logged to MLflow as child runs; writes the tuned config to ``out``.

    The search runs on the stays before :func:`train`'s test slice; each fold fits on the
    labels as known when its validation block begins (stays not mature then are left out
    and counted, per fold, in the progress lines and the tuning run's ``fold{k}_not_matured``)
    and is scored on the block with the labels known at the data's cut-off.
    """
    from riskmodel.core.risk.tuning import time_folds, tuned_config, write_config
    from riskmodel.integrations.tracking.risk import tune_risk

    cfg = load_risk_config(config)
    if crossings is None:
        crossings, _ = load_crossings(cfg)
    cutoff = label_cutoff(cfg, crossings)
    check_exit_feed(crossings)
    table = training_table(crossings, cutoff=cutoff, grace_days=cfg.data.grace_days)
    progress(f"tuning on {len(table):,} mature stays: {cfg.tuning.n_trials} trials, {cfg.tuning.timeout_seconds} s budget")
    result = tune_risk(table, cfg, crossings=crossings)
    for f in result.folds.itertuples():
        progress(f"fold {f.fold}: fitted on {f.fit_rows:,} stays with labels as known at {f.labels_known_at} "
                 f"({f.not_matured:,} earlier stays not matured then, left out); scored on {f.valid_rows:,}")
    # the best of many trials on the folds that chose it: a selection score, higher than what the config will score later
    progress(f"best mean fold PR-AUC {result.best_score:.4f} after {len(result.trials)} trials (the folds chose it, so it is "
             "optimistic; `riskmodel train` with the tuned config reports it on the later test slice)")
    # the last stay the folds read: a gate window starting on or before it would judge parameters chosen on it
    m = cfg.model
    searched = time_folds(table, m.time_column, cfg.tuning.folds, holdout_fraction=m.splits.test_fraction)[-1][1][m.time_column].max()
    return write_config(tuned_config(cfg, result.best_params, searched_through=str(searched)), out,
                        note=f"tuned: best mean fold PR-AUC {result.best_score:.4f} of {len(result.trials)} trials (optimistic: the "
                             "folds chose it; train with this config for a held-out figure); review, then commit")
