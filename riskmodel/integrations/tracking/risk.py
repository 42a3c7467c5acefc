"""Log, register, promote and load the risk model in MLflow.

One MLflow run per training holds: the config (``config/risk.json``) and its
settings as params (each once; what fitting found is a metric or in the card),
data lineage (dataset digest, time span and rows of each slice, label maturity
cut-off and grace), the fitting rows and the holdout as dataset inputs
(``training``, ``holdout``: digest, schema and row counts, no rows), the
library's git commit and dirty flag (:mod:`~riskmodel.integrations.tracking.provenance`),
every holdout metric (model, baselines, oracle when known, fairness summary),
plots (ROC, PR, reliability, per-group referral and error rates, feature
importance), the fairness table (``fairness/fairness.csv``), the reliability
table and a model card (``model_card.md``). The card, without its per-group
tables, is the registered version's description, and its gate section is
rewritten with the gate's decision and reasons at promotion
(:mod:`~riskmodel.integrations.tracking.cards`).

The model is an MLflow pyfunc in the ``loader_module`` form
(:mod:`riskmodel.integrations.tracking.risk_pyfunc`, from the installed package:
no code is taken from the store) with the LightGBM text model and JSON metadata
as data and a signed manifest of the SHA-256 digests of every file of the model
(:mod:`riskmodel.integrations.tracking.publish`); it loads without unpickling
anything, and its signature takes plain strings for categorical columns. No
record ids or input examples are logged.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from riskmodel.core.config import SHIPPED_CONFIGS, load_config, to_dict
from riskmodel.core.gate import GateDecision
from riskmodel.core.risk.config import PROTECTED, GateConfig, RiskConfig, audit_policy_changes
from riskmodel.core.risk.gate import evaluate_gate
from riskmodel.core.risk.model import MODEL_FILES, RiskModel
from riskmodel.core.risk.train import TrainResult
from riskmodel.integrations.tracking import cards, provenance, registry, risk_pyfunc
from riskmodel.integrations.tracking.loading import pin
from riskmodel.integrations.tracking.publish import log_signed_pyfunc
from riskmodel.integrations.tracking.registry import LoggedModel
from riskmodel.integrations.tracking.risk_pyfunc import ARTIFACT

__all__ = ["LoggedModel", "log_risk_run", "load_risk_model", "promote_risk", "tune_risk", "dataset_digest", "model_card", "fitted_through", "logged_config",
           "policy_config"]



def dataset_digest(table: pd.DataFrame, columns) -> str:
    """SHA-256 of the values of ``columns`` (row order included): identifies the training data without revealing it."""
    hashed = pd.util.hash_pandas_object(table[list(columns)], index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _signature(model: RiskModel) -> ModelSignature:
    """Input columns of any type, all optional: MLflow passes every value through and ``score()`` judges each row.

    Typed input columns would let MLflow's schema enforcement refuse a whole
    REST request for one bad value (``"abc"`` in a number column) or one
    missing column, and coerce an out-of-domain ``2`` into a boolean ``True``
    before ``score()`` sees it; with ``any`` types the pyfunc flags exactly the
    bad rows, as :func:`riskmodel.score` does. The expected type of each column
    is the data contract's (:mod:`riskmodel.core.schema`). Params: ``reasons``
    (int, default 3) and ``purpose`` (text, recorded in the audit log).
    """
    from mlflow.types.schema import AnyType, ParamSchema, ParamSpec

    cols = [ColSpec(AnyType(), "stay_id", required=False)] + [ColSpec(AnyType(), c, required=False) for c in model.features]
    # the output is riskmodel.score()'s contract, with three reasons by default
    outputs = Schema(
        [ColSpec("string", "stay_id"), ColSpec("double", "probability"), ColSpec("string", "risk_band")]
        + [ColSpec("string", f"reason_{i}", required=False) for i in (1, 2, 3)]
        + [ColSpec("string", "model_name"), ColSpec("string", "model_version"), ColSpec("string", "error", required=False),
           ColSpec("string", "warning", required=False)]
    )
    params = ParamSchema([ParamSpec("reasons", "long", 3), ParamSpec("purpose", "string", None)])
    return ModelSignature(inputs=Schema(cols), outputs=outputs, params=params)


def _requirements() -> list[str]:
    reqs = []
    for pkg in ("lightgbm", "pandas", "numpy", "scikit-learn", "pyyaml"):
        try:
            reqs.append(f"{pkg}=={importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        reqs.append(f"riskmodel=={importlib.metadata.version('riskmodel')}")
    except importlib.metadata.PackageNotFoundError:
        pass
    return reqs


def _finite(metrics: dict) -> tuple[dict[str, float], dict[str, str]]:
    ok, other = {}, {}
    for k, v in metrics.items():
        v = float(v)
        (ok if np.isfinite(v) else other)[k] = v if np.isfinite(v) else str(v)
    return ok, other


# ----------------------------------------------------------------------------- plots


def _plots(result: TrainResult) -> dict[str, object]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    y, p = result.test_scores["y"].to_numpy(), result.test_scores["p"].to_numpy()
    figs = {}
    fig, ax = plt.subplots(figsize=(5, 5))
    fpr, tpr, _ = roc_curve(y, p)
    ax.plot(fpr, tpr, label=f"model (AUC {result.metrics['roc_auc']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC, holdout")
    ax.legend(loc="lower right")
    figs["plots/roc.png"] = fig
    fig, ax = plt.subplots(figsize=(5, 5))
    prec, rec, _ = precision_recall_curve(y, p)
    ax.plot(rec, prec, label=f"model (AP {result.metrics['pr_auc']:.3f})")
    ax.axhline(y.mean(), color="k", ls=":", lw=0.8, label="base rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, holdout")
    ax.legend()
    figs["plots/precision_recall.png"] = fig
    fig, ax = plt.subplots(figsize=(5, 5))
    rel = result.reliability
    top = max(rel["mean_predicted"].max(), rel["observed_rate"].max()) * 1.05
    ax.plot(rel["mean_predicted"], rel["observed_rate"], "o-")
    ax.plot([0, top], [0, top], "k:", lw=0.8)
    ax.set(xlabel="mean predicted", ylabel="observed rate", title="Reliability (equal-count bins)")
    figs["plots/reliability.png"] = fig
    table = result.fairness.table
    if len(table):
        attrs = list(dict.fromkeys(table["attribute"]))
        fig, axes = plt.subplots(len(attrs), 1, figsize=(8, 2.6 * len(attrs)), squeeze=False)
        for ax, attr in zip(axes[:, 0], attrs, strict=True):
            t = table[table["attribute"] == attr]
            x = np.arange(len(t))
            ax.bar(x - 0.2, t["referral_rate"], 0.4, label="referral rate")
            ax.bar(x + 0.2, t["fpr"].fillna(0), 0.4, label="false-positive rate")
            ax.set_xticks(x, t["group"], rotation=45, ha="right", fontsize=7)
            ax.set_title(attr)
            ax.legend(fontsize=7)
        fig.tight_layout()
        figs["plots/fairness_groups.png"] = fig
    imp = result.model.feature_importance().head(20)[::-1]
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.barh(imp.index, imp.to_numpy())
    ax.set(xlabel="total gain", title="Feature importance")
    fig.tight_layout()
    figs["plots/importance.png"] = fig
    return figs


_INTENDED_USE = (
    "Ranks stays by their probability of overstaying the permitted stay, to focus *human* review at the border "
    "or by foreigner monitoring within a referral budget. It is decision support, not a decision: no person may be "
    "refused entry or sanctioned on the score alone. Migration risk assessment is high-risk under the EU AI Act: "
    "keep logs, human oversight and per-group accuracy."
)
_LIMITS = (
    "- Labels are mature only after the longest permit the visa allows plus a grace period: the newest stays are "
    "never in training, and long permits (ITAS) are under-represented in recent data.",
    "- Reason codes explain the booster's uncalibrated log-odds margin (TreeSHAP), not the calibrated probability.",
    "- Categorical values unseen in training are scored as missing and counted (UnseenCategoryWarning).",
    "- Trained on synthetic data unless the lineage says otherwise; re-check every metric on real extracts.",
    "- Base rates move (COVID, visa policy): the calibrator is fitted on a later slice than the booster; retrain monthly "
    "and watch drift (PSI against the stored reference distribution).",
)
_CARD_METRICS = ("roc_auc", "pr_auc", "brier", "ece", "precision_at_1pct", "recall_at_1pct", "precision_at_5pct", "recall_at_5pct", "lift_at_1pct")


def _with_interval(m: dict, key: str) -> str:
    text = f"{m[key]:.4f}"
    if f"{key}_lo" in m and f"{key}_hi" in m:
        text += f" [{m[f'{key}_lo']:.4f}, {m[f'{key}_hi']:.4f}]"
    return text


def _metric_lines(result: TrainResult, detail: bool) -> list[str]:
    m, lin = result.metrics, result.lineage
    lines = [f"Time-ordered holdout: {lin.get('test_rows', len(result.test_scores)):,} stays from {lin.get('test_from', '?')} "
             f"to {lin.get('test_to', '?')}, {lin.get('test_positives', '?')} overstays; trained on earlier stays. "
             "Intervals of these metrics are bootstrap 95%.", ""]
    for k in ("roc_auc", "pr_auc"):
        lines.append(f"- {k}: {_with_interval(m, k)}; logistic regression {m.get('logreg_' + k, float('nan')):.4f}")
    if "prauc_over_logreg" in m:
        lines.append(f"- PR-AUC over the logistic regression: {_with_interval(m, 'prauc_over_logreg')}")
    lines.append("- " + ", ".join(f"{k} {m[k]:.4f}" for k in _CARD_METRICS[2:] if k in m))
    if "best_iteration" in m:
        lines.append(f"- boosting rounds kept (early stopping): {int(m['best_iteration'])}")
    for ref, what in (("observable", "observable oracle (best from the records)"), ("oracle", "full oracle (hidden risk known)")):
        if f"auc_over_{ref}_lo" in m:
            lines.append(f"- over the {what}: AUC {_with_interval(m, f'auc_over_{ref}')}, PR-AUC {_with_interval(m, f'prauc_over_{ref}')}"
                         + (f", Gini {_with_interval(m, f'gini_over_{ref}')}" if detail and f"gini_over_{ref}" in m else ""))
    if detail and "oracle_roc_auc" in m:
        lines.append(f"- synthetic oracle (true probability) on the same rows: ROC-AUC {m['oracle_roc_auc']:.4f}, PR-AUC {m['oracle_pr_auc']:.4f}")
    if detail:
        lines += ["", "| metric | model | logistic regression | base rate by group |", "|---|---|---|---|"]
        for k in _CARD_METRICS:
            if k in m:
                lines.append(f"| {k} | {m[k]:.4f} | {m.get('logreg_' + k, float('nan')):.4f} | {m.get('group_rate_' + k, float('nan')):.4f} |")
    return lines


def _violations(violations: list[str], detail: bool, shown: int = 6) -> str:
    if detail or len(violations) <= shown:
        return "; ".join(violations)
    return "; ".join(violations[:shown]) + f"; and {len(violations) - shown} more (run artifact `model_card.md`)"


def _fairness_lines(result: TrainResult, config: RiskConfig, detail: bool) -> list[str]:
    report = result.fairness
    table = report.table
    attrs = list(config.model.audit) or (list(dict.fromkeys(table["attribute"])) if len(table) else [])
    override = dict(config.model.audit_override)
    # a protected attribute read by the model, or left unaudited, only under the data owner's recorded decision: said here
    inputs = [f for f in result.model.features if any(f in cols for cols in PROTECTED.values())]
    lines = [f"Audit attributes ({'not model inputs' if not inputs else 'model inputs among them or their sources: ' + ', '.join(inputs)}): "
             f"{', '.join(attrs) or 'none'}; referral = top {config.fairness.referral_budget:.0%} of scores.", "",
             *([f"Audit override (model.audit_override, the data owner's recorded decision): "
                + "; ".join(f"{k}: {v}" for k, v in override.items()), ""] if override else []),
             # the audit's intervals are the policy's, not the holdout metrics' 95%: said where they are shown
             f"Intervals in this section: percentile bootstrap, {config.fairness.confidence:.0%} two-sided "
             f"({config.fairness.bootstrap} replicates, resampling travellers where the rows name them); a bound is breached "
             f"only when the whole interval lies beyond it, a one-sided {0.5 + config.fairness.confidence / 2:.1%} test. "
             "A group with too few rows is not judged: its figures have no interval.", "",
             "Audit: " + ("passed" if report.passed else "FAILED: " + _violations(report.violations, detail)), ""]
    if report.notes:  # a pass does not cover what the audit could not judge: say it beside the verdict
        lines[-1:-1] = [f"Not judged in full (too few rows or overstays): {_violations(report.notes, detail)}"]
    claimed: set[str] = set()
    per_attr: dict[str, dict] = {}
    for attr in sorted(attrs, key=len, reverse=True):  # longest first: `age_band_*` keys are not `age`'s
        per_attr[attr] = {k[len(attr) + 1:]: v for k, v in report.summary.items() if k.startswith(attr + "_") and k not in claimed}
        claimed.update(f"{attr}_{k}" for k in per_attr[attr])
    lines += [f"- {a}: " + ", ".join(f"{k} {v:.4g}" for k, v in per_attr[a].items()) for a in attrs if per_attr[a]]
    if detail and len(table):
        cols = ["attribute", "group", "support", "positives", "referral_rate", "fpr", "fnr", "precision", "mean_predicted", "observed_rate"]
        shown = table[cols].copy()
        # a group is judged on its interval, not its point estimate: show it, and which groups were judged at all
        for name in ("referral_rate", "fpr", "fnr", "precision", "referral_excess", "fpr_excess", "calibration_ratio"):
            if {f"{name}_low", f"{name}_high"} <= set(table.columns):
                lo, hi = table[f"{name}_low"].astype(float), table[f"{name}_high"].astype(float)
                # no interval is "not judged"; an infinite end (a group referred when none of the rest is) is judged
                shown[f"{name} interval"] = [f"{a:.4f} to {b:.4f}" if not (np.isnan(a) or np.isnan(b)) else "not judged"
                                             for a, b in zip(lo, hi, strict=True)]
        for col in ("status", "not_judged"):
            if col in table.columns:
                shown[col] = table[col].fillna("").to_numpy()
        lines += ["", "| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
        for row in shown.itertuples(index=False):
            lines.append("| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return lines


def _lineage_lines(lineage: dict) -> list[str]:
    """One line per time slice (rows, positives, span), then every other lineage entry."""
    slices, rest = {}, {}
    for k, v in lineage.items():
        head, _, field = k.rpartition("_")
        if field in ("rows", "positives", "from", "to") and head in ("train", "valid", "calib", "test"):
            slices.setdefault(head, {})[field] = v
        else:
            rest[k] = v
    lines = [f"- {name}: {s.get('rows', '?'):,} rows, {s.get('positives', '?')} positives, {s.get('from', '?')} to {s.get('to', '?')}"
             for name, s in slices.items()]
    return lines + [f"- {k}: {v}" for k, v in rest.items()]


def model_card(result: TrainResult, config: RiskConfig, lineage: dict, *, detail: bool = True, gate: str | None = None) -> str:
    """The model card (markdown): gate decision, holdout metrics with intervals, fairness, intended use, data, limits.

    Parameters
    ----------
    result : TrainResult
    config : RiskConfig
    lineage : dict
        Data lineage (source, label cut-off, row counts and spans of each slice, digests).
    detail : bool, default=True
        Add the per-group audit table, the metric table and the feature list (the run
        artifact); without them the card fits a registry description (5,000 characters).
    gate : str, optional
        The gate section (:func:`riskmodel.integrations.tracking.cards.gate_section`); by
        default the section saying the gate has not decided yet.
    """
    lines = [f"# Model card: {config.tracking.registered_name}", "",
             "Overstay-risk classifier (LightGBM, calibrated), trained by riskmodel.", "",
             (gate or cards.gate_section()).rstrip("\n"), "", "## Holdout metrics", ""]
    lines += _metric_lines(result, detail)
    lines += ["", "## Fairness summary", ""] + _fairness_lines(result, config, detail)
    lines += ["", "## Intended use", "", _INTENDED_USE, "", "## Data lineage", ""]
    lines += _lineage_lines(lineage)
    if detail:
        lines += ["", f"Features ({len(result.model.features)}): {', '.join(result.model.features)}."]
    lines += ["", "## Limits", "", *_LIMITS]
    return "\n".join(lines) + "\n"


_SUMMARY = (
    "Overstay-risk classifier for stays of foreigners in Indonesia: ranks stays for human review within a referral "
    "budget; decision support only. Each version's description is its model card (holdout metrics with intervals, "
    "data lineage, fairness summary, gate decision and reasons, intended use and limits). Aliases: `champion` "
    "(promoted through the gate), `challenger` (latest registered)."
)


# ----------------------------------------------------------------------------- log / load / promote


def log_risk_run(
    result: TrainResult,
    config: RiskConfig,
    *,
    table: pd.DataFrame | None = None,
    lineage: dict | None = None,
    register_alias: str = "challenger",
) -> LoggedModel:
    """Log one training to MLflow, register the model and set ``challenger`` on it.

    Parameters
    ----------
    result : TrainResult
        From :func:`riskmodel.core.risk.train.train_risk_model`.
    config : RiskConfig
        The config used (logged as ``config/risk.json``).
    table : DataFrame, optional
        The training table, for the dataset digest (only a hash is logged).
    lineage : dict, optional
        Extra lineage (e.g. label maturity cut-off, data source), logged as params.
    register_alias : str, default="challenger"

    Returns
    -------
    LoggedModel
    """
    registry.use_experiment(config.tracking.experiment)
    name = config.tracking.registered_name
    mc = config.model
    lin = {**result.lineage, **(lineage or {})}
    if table is not None:
        lin["dataset_digest"] = dataset_digest(table, [mc.time_column, mc.target, *mc.features])
    with mlflow.start_run(run_name=f"{name}-train") as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags(provenance.run_tags())
        # settings once; what fitting found (best iteration, row counts per slice) is a metric or in the card
        params = {
            "target": mc.target,
            "time_column": mc.time_column,
            "calibration": mc.calibration,
            "num_boost_round": mc.num_boost_round,
            "early_stopping_rounds": mc.early_stopping_rounds,
            "seed": mc.seed,
            **{f"lgb_{k}": v for k, v in mc.params.items()},
            **{f"data_{k}": v for k, v in lin.items()},
        }
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        if table is not None:
            _log_datasets(table, result, config, lin.get("source"))
        mlflow.log_dict(to_dict(config), "config/risk.json")
        finite, other = _finite(result.metrics)
        mlflow.log_metrics(finite)
        if other:
            mlflow.set_tags({f"metric.{k}": v for k, v in other.items()})
        _log_evaluation(result)
        card = model_card(result, config, lin)
        mlflow.log_text(card, cards.CARD_ARTIFACT)
        folder = result.model.save(Path(tmp) / ARTIFACT)
        (folder / cards.CARD_ARTIFACT).write_text(card, encoding="utf-8")
        version, digest = log_signed_pyfunc(
            folder,
            loader_module=risk_pyfunc.__name__,
            registered_name=name,
            signature=_signature(result.model),
            pip_requirements=_requirements(),
            model_config={"name": name},
        )
        registry.register(
            name,
            version,
            alias=register_alias,
            tags={"manifest_sha256": digest, "fairness_passed": str(result.fairness.passed), "run_id": run.info.run_id},
        )
        cards.describe_version(name, version, model_card(result, config, lin, detail=False), _SUMMARY)
    return LoggedModel(run_id=run.info.run_id, model_uri=f"models:/{name}/{version}", name=name, version=version)


def _log_datasets(table: pd.DataFrame, result: TrainResult, config: RiskConfig, source: str | None) -> None:
    """The fitting rows and the holdout as MLflow dataset inputs: model columns only, no record ids."""
    mc = config.model
    frame = table[[mc.time_column, mc.target, *mc.features]]
    holdout = frame.index.isin(result.test_scores.index)
    provenance.log_datasets({"training": frame[~holdout], "holdout": frame[holdout]},
                            name=config.tracking.registered_name, targets=mc.target, source=source)


def _log_evaluation(result: TrainResult) -> None:
    for path, fig in _plots(result).items():
        mlflow.log_figure(fig, path)
    import matplotlib.pyplot as plt

    plt.close("all")
    mlflow.log_text(result.fairness.table.to_csv(index=False), "fairness/fairness.csv")
    mlflow.log_text(json.dumps(result.fairness.summary, indent=1), "fairness/summary.json")
    mlflow.log_text(result.reliability.to_csv(index=False), "evaluation/reliability.csv")


def _training_run(name: str, alias: str, client, version: str | int | None = None) -> str | None:
    """The id of the run that trained ``name@alias`` (or version ``version``); None when the alias is not set."""
    mv = registry.resolve_version(name, alias, client) if version is None else client.get_model_version(name, str(version))
    return None if mv is None else (mv.tags.get("run_id") or mv.run_id)


def fitted_through(name: str, alias: str = "challenger", *, version: str | int | None = None) -> pd.Timestamp | None:
    """The latest time any fitting slice of ``name@alias`` (or of version ``version``) read (training, early stopping, calibration).

    Read from the lineage its training run logged (``data_train_to``, ``data_valid_to``,
    ``data_calib_to``); None when the alias is not set or the run logged no such lineage. A gate
    passes ``version``: the alias may move to another version while it decides.
    """
    client = registry.configure()
    run_id = _training_run(name, alias, client, version)
    if not run_id:
        return None
    params = client.get_run(run_id).data.params
    ends = [pd.Timestamp(params[k]) for k in ("data_train_to", "data_valid_to", "data_calib_to") if params.get(k)]
    return max(ends) if ends else None


def evaluated_on(name: str, first: str, last: str, *, besides: str | int) -> list[str]:
    """The other versions of ``name`` whose training run was tested on the window of stays entered ``first`` to ``last``.

    Read from the lineage each run logged (``data_test_from``, ``data_test_to``), oldest version first. Each saw its
    holdout figures on that window when it was trained, so a version chosen among them is flattered there by the choice.
    """
    client = registry.configure()
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, filter_string=f"params.data_test_from = '{first}' and params.data_test_to = '{last}'",
                              max_results=5000)
    ids = {r.info.run_id for r in runs}
    escaped = name.replace("'", "\\'")
    versions = client.search_model_versions(f"name = '{escaped}'")
    return sorted((str(mv.version) for mv in versions if (mv.tags.get("run_id") or mv.run_id) in ids and str(mv.version) != str(besides)),
                  key=int)


def earlier_champions(name: str, *, besides: tuple[str, ...]) -> list[str]:
    """The versions of ``name`` a passed promotion made champion, besides those in ``besides``, oldest first.

    A version counts when its tags hold a "promoted" gate decision signed with the store's key
    (:func:`~riskmodel.integrations.tracking.signing.check_gate`): a decision tag set by hand is none. A version a
    rollback withdrew (:func:`~riskmodel.integrations.tracking.rollback.rollback`, signed) does not count.
    """
    from riskmodel.core.exceptions import ModelLoadError
    from riskmodel.integrations.tracking import signing

    client = registry.configure()
    escaped = name.replace("'", "\\'")
    found = []
    for mv in client.search_model_versions(f"name = '{escaped}'"):
        if str(mv.version) in besides:
            continue
        try:
            signing.check_gate(registry.tracking_uri(), name, str(mv.version), dict(mv.tags or {}), signing.CHAMPION)
        except ModelLoadError:
            continue
        if signing.is_withdrawn(registry.tracking_uri(), name, str(mv.version), dict(mv.tags or {})):
            continue  # withdrawn from service by a rollback: no standard for the challengers
        found.append(str(mv.version))
    return sorted(found, key=int)


def logged_config(name: str, *, version: str | int) -> dict | None:
    """The config version ``version``'s training run logged (``config/risk.json``), read as JSON data; None without one."""
    client = registry.configure()
    run_id = _training_run(name, "challenger", client, version)
    if not run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return json.loads(Path(client.download_artifacts(run_id, "config/risk.json", tmp)).read_text(encoding="utf-8"))
        except (mlflow.exceptions.MlflowException, OSError, ValueError):
            return None


def logged_evaluation(name: str, alias: str = "champion") -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``(reliability, fairness)`` tables that ``name@alias``'s training run logged on its test slice.

    Plain CSV text (``evaluation/reliability.csv``, ``fairness/fairness.csv``), read as data;
    None when the alias is not set or the run logged no such tables.
    """
    client = registry.configure()
    run_id = _training_run(name, alias, client)
    if not run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            tables = [
                pd.read_csv(client.download_artifacts(run_id, path, tmp))
                for path in ("evaluation/reliability.csv", "fairness/fairness.csv")
            ]
        except (mlflow.exceptions.MlflowException, OSError):
            return None
    return tables[0], tables[1]


def load_risk_model(uri: str | Path, *, allow_ungated: bool = False) -> RiskModel:
    """Load a :class:`RiskModel` from ``models:/name@alias``, a run URI or a local copy, verified.

    ``@champion`` must be a version promoted through the gate, unless ``allow_ungated``
    (see :func:`riskmodel.integrations.tracking.loading.load_logged`).

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved, or ``@champion`` was not promoted through the gate.
    ArtifactIntegrityError
        If the model's signed manifest is missing or invalid, or a file differs from it.
    """
    uri = pin(uri, allow_ungated=allow_ungated)
    with tempfile.TemporaryDirectory() as tmp:
        folder, files = registry.verified_model_files(uri, ARTIFACT, MODEL_FILES, dst=tmp if not Path(str(uri)).exists() else None)
        return RiskModel.from_files(files, where=folder)  # the bytes verified, not a second read of the folder


def promote_risk(name: str, gate: GateConfig, *, config: str | Path | RiskConfig | None = None) -> registry.Decision:
    """Promote ``name@challenger`` to ``champion`` if it passes ``gate`` against the current champion.

    A metric-only gate on the metrics the challenger's training run logged (the paired window gate is
    :func:`riskmodel.apps.pipelines.risk.promote`). Where ``gate.require_fairness``, the ``fairness_passed`` it reads
    is only a pass under the policy the training audit ran under, so that policy (the run's ``config/risk.json``: the
    fairness section, audit attributes and their override, target, grace days) must be ``config``'s, default the
    shipped ``risk.yaml``; another, or none logged, is refused, naming each change.

    The decision and its reasons are recorded on the version (``gate.*`` tags) and written
    into its model card: the version's description and the run's ``model_card.md``.
    """
    policy = policy_config(config) if gate.require_fairness else None

    def decide(cand: registry.Pinned, champ: registry.Pinned | None) -> GateDecision:
        changes = [] if policy is None else audit_policy_changes(logged_config(name, version=cand.version), policy)
        if changes:  # an audit under looser bounds passes what this policy would refuse
            return GateDecision(False, (f"FAIL: fairness_passed of version {cand.version} was read under another audit policy "
                                        f"than {_said(config)}'s: {'; '.join(changes)}; promote with `config` naming the policy "
                                        "it was trained under (only if that is the policy in force), or retrain it under this one",))
        return evaluate_gate(cand.metrics, None if champ is None else champ.metrics, gate)

    # pinned: the version whose logged policy is read is the version judged and promoted, whatever @challenger is by then
    decision = registry.promote_pinned(name, decide)
    cards.record_decision(name, decision.candidate)
    return decision


def policy_config(config: str | Path | RiskConfig | None) -> RiskConfig:
    """The risk config whose audit policy a promotion or rollback holds a version to: ``config``, or the shipped ``risk.yaml``."""
    if isinstance(config, RiskConfig):
        return config
    return load_config(SHIPPED_CONFIGS / "risk.yaml" if config is None else config, RiskConfig)


def _said(config) -> str:
    return "the RiskConfig given" if isinstance(config, RiskConfig) else f"`{SHIPPED_CONFIGS / 'risk.yaml' if config is None else config}`"


def tune_risk(table: pd.DataFrame, config: RiskConfig, *, crossings: pd.DataFrame):
    """Run :func:`riskmodel.core.risk.tuning.tune` inside an MLflow run, each trial a child run.

    ``table`` is the crossings log's training table at the data's cut-off with grace
    ``config.data.grace_days``; each fold fits on the labels as known when its validation
    block begins (:func:`~riskmodel.core.risk.tuning.known_then_folds`).

    Returns
    -------
    TuningResult
        Also logged: per fold ``fold{k}_labels_known_at``, ``fold{k}_fit_rows`` and
        ``fold{k}_not_matured`` (earlier stays left out, not mature then) and the fold table as
        ``tuning/folds.csv``; the best params and score on the parent run, the trials table
        as ``tuning/trials.csv`` and the tuned config as ``tuning/risk.tuned.json``.
    """
    from riskmodel.core.risk.tuning import tune, tuned_config

    registry.use_experiment(config.tracking.experiment)
    t = config.tuning
    with mlflow.start_run(run_name=f"{config.tracking.registered_name}-tuning") as parent:
        mlflow.log_params({"n_trials": t.n_trials, "timeout_seconds": t.timeout_seconds, "folds": t.folds, "n_rows": len(table),
                           "grace_days": config.data.grace_days})

        def on_trial(number: int, params: dict, score: float, seconds: float) -> None:
            with mlflow.start_run(run_name=f"trial-{number}", nested=True, parent_run_id=parent.info.run_id):
                mlflow.log_params({f"lgb_{k}": v for k, v in params.items()})
                mlflow.log_metrics({"cv_pr_auc": score, "seconds": seconds})

        result = tune(table, config.model, crossings=crossings, grace_days=config.data.grace_days, n_trials=t.n_trials,
                      timeout_seconds=t.timeout_seconds, folds=t.folds, on_trial=on_trial)
        mlflow.log_params({f"fold{f.fold}_{k}": str(getattr(f, k)) for f in result.folds.itertuples()
                           for k in ("labels_known_at", "fit_rows", "not_matured")})
        mlflow.log_text(result.folds.to_csv(index=False), "tuning/folds.csv")
        mlflow.log_metric("best_cv_pr_auc", result.best_score)
        # a selection score: the best of the trials on the folds that chose it, not a held-out figure
        mlflow.set_tag("best_cv_pr_auc", "optimistic: the best of the trials on the folds that chose the parameters; "
                                          "a run trained with the tuned config reports the held-out figure")
        mlflow.log_params({f"best_{k}": v for k, v in result.best_params.items()})
        mlflow.log_text(result.trials.to_csv(index=False), "tuning/trials.csv")
        mlflow.log_dict(to_dict(tuned_config(config, result.best_params)), "tuning/risk.tuned.json")
    return result
