"""Overstay-risk classifier on >= 1M synthetic stays with hidden risk: honest accuracy, calibration, baselines, speed.

Data: the default generator, which hides part of the risk (``make_crossings(...)``,
the same data as ``**HIDDEN_RISK``): a latent per traveller and noise per stay,
total SD 1 on the logit; 0.2% of land exits unrecorded; a drift of +0.08 log-odds a
year, so part of the risk is irreducible. **As-of backtest** (issue 14 part 3): the
cut-off is the day from which the latest ``test_fraction`` of entries lie; the
model trains on the stays mature at the cut-off with labels as known then, and is
evaluated on the stays that entered after it and matured by the end of the data
(figures per visa type too). Stays whose label cannot mature by the end of the
data are not in that holdout at all: a limited stay permit (ITAS) matures only
after its permit, as long again in extension room, and 30 days, so no ITAS or
ITAP stay that entered after the cut-off is evaluated (``visa_types_not_in_holdout``
gives their share of the entries after the cut-off, and
``top5pct_referrals_not_in_holdout_visa_types`` their share of the stays the 5%
threshold refers there). Accuracy is reported against the **observable
oracle** (the best probability from what is recorded at entry and the earlier
recorded outcomes, latent integrated out) and the **full oracle** (hidden risk
known, irreducible for any model), both on the same holdout rows. No model beats the observable oracle beyond
noise without reading what was not known at entry, so the bars are two-sided: at least 0.98 (AUC) and 0.90 (PR-AUC)
of the oracle's, and the lower end of each ratio's 95% interval at most 1 (``risk_*_over_observable_lo``; above it,
a leak). AUC, PR-AUC,
Gini ratios and ``prauc_over_logreg`` come with paired bootstrap 95% intervals
(200 replicates, Poisson weights drawn per traveller and shared by all of that traveller's
holdout stays: they resample travellers, not stays, since a traveller's stays share the latent
risk; the fairness audit's intervals resample travellers too). The logistic baseline learns
from the training slice only, the rows the trees learn from (fitted on every row before the
cut-off, an auditor measured ``prauc_over_logreg`` 1.24 instead of 1.33 on a 60k seed-0 draw). The timed pipeline is features (twice: at the
cut-off and at the end) + fit + calibrate + evaluate (model, baselines,
intervals, fairness audit), with no MLflow; generating the data and validating
the log are not in that figure. The load average is reported because the timings
are wall-clock on a shared 2-core machine.

Budgets: thresholds for the top 1/2/5% are set on the calibration slice; the share
of as-of holdout stays at or above them is divided by the budget (the bar), and
apart the share of every stay that entered after the cut-off, labelled or not
(what a desk refers). Fairness: the shipped audit (configs/risk.yaml: each group's
calibration relative to the rest's, log-odds intercepts, bound sqrt(2); referral and
false-positive ratios over the group's overstay-rate ratio, backstop 4x; FNR and
precision) on the as-of holdout, then with the model's odds doubled (post hoc) for
one group at a time among the five largest nationalities and the five largest
regions; ``fairness_bias2_detected_share`` is the share refused for a breach of that
very group. The audit of the model as trained gives ``fairness_breaches_model_as_trained``, its violations.
Each group found in breach is judged by the generator's truth as well: ``fairness_breach_<attr>_<group>_odds_over_observable``
is the model's odds over the observable oracle's for that group, relative to the same ratio for the rest (exp of
the difference of mean log-odds offsets), and ``fairness_breaches_not_confirmed_by_truth`` counts the breaches whose
ratio lies within the audit's calibration bound (1/1.41 to 1.41): those are the false alarms (a breach of a referral
or error-rate bound with a well calibrated group counts here too). ``fairness_false_alarm`` is that count plus any
violation that names no group (none can be judged by the truth). Until 2026-12-07 the bar read every violation of the
model as trained as a false alarm, taking that model for unbiased; it is not: the truth gives under-18s lower odds
(-1.0 log-odds), the model rightly does not read age, and so it overstates children's odds. Since the calibration
exemption reads a group's referrals against its own overstays (2026-12-07) the audit refuses this model for the
under-18 age band and the truth confirms it: a real breach, which the old reading counted as a false alarm (1, NOT
MET). The bar now reads only breaches the truth does not confirm; the refusal itself stays in
``fairness_passed`` and ``fairness_breaches_model_as_trained``: the cure is in the model (or a data owner's policy on
age), not the audit. Reasons: top-3 reasons of the elevated and high
holdout rows. ``reasons_lowering_share`` recomputes each shown reason's grouped TreeSHAP
contribution and counts those <= 0; the reasons code filters on that very sum, so this is a
consistency check of the code, not of whether a reason is true. The independent check is the
generator's truth: each shown reason's **true effect** on the generator's log-odds
(``true_logit``, hidden noise left out), the interventional effect
``true_logit(x) - mean_z true_logit(x with the group's raw inputs taken from z)`` over 500
stays ``z`` drawn from the calibration slice: how much this traveller's facts of that group
raise his true risk over a random traveller's. ``TRUTH_INPUTS`` maps each reason group to the
raw fields its features come from (visa type, planned stay, earlier visits, recorded overstays,
days since the last exit, ...), rebuilt from the stays and the generator's recorded outcomes,
never from the model's features; where a feature reads two groups' fields (the planned stay over
the visa's permitted days), each group is measured with the other's field as this traveller's.
``reasons_true_raising_share`` (``reasons_true_lowering_share``) is the share of shown reasons
whose true effect is > 0 (< 0); ``reasons_no_truth_share`` the share from groups the truth does
not read at all (document, port, entry month, earlier extensions, earlier ports, earlier visa);
what is left of 1 is mapped groups with a true effect of exactly 0;
``reasons_true_lowering_groups`` names the groups of the truly lowering reasons. The ``reasons_random_``
figures are the same for 3 groups drawn at random per row: the chance level. No bar is set on
these: a bar chosen after seeing the figure would test nothing. One caveat when reading the lowering share:
the earlier-trip groups also tell a model about the traveller's hidden propensity (earlier recorded
overstays raise its posterior), which ``true_logit`` leaves out, so a history reason can raise the
risk one can know from the records while its ``true_logit`` effect is negative, and the
share can overstate the reasons that point the wrong way. The seed agreement compares the
top-1 reason group with a model refitted with seed 1. ``RISK_BENCH_TRAVELLERS`` sets a smaller quick
run (figures then below the 1M bar: ``risk_stays`` says how many).
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import pandas as pd

from riskmodel.core.config import load_config
from riskmodel.core.datasets import EntryFacts, TravelHistory, make_crossings, true_logit
from riskmodel.core.features import build_features
from riskmodel.core.risk import RiskConfig, RiskModel, explain, fairness_audit, train_risk_model
from riskmodel.core.risk.train import as_of_cutoff, as_of_tables, fit_slices
from riskmodel.core.risk.reasons import reason_groups
from riskmodel.core.schema import validate_crossings

from benchmarks.__main__ import HERE

N_TRAVELLERS = int(os.environ.get("RISK_BENCH_TRAVELLERS", 220_000))
ABOUT = __doc__
BARS = {
    "risk_auc_over_observable": (">=", 0.98),
    "risk_prauc_over_observable": (">=", 0.90),
    # no model beats the observable oracle beyond noise without reading what was not known at entry: a lower end of
    # the 95% interval above 1 is a leak, which the one-sided bars above would read as met
    "risk_auc_over_observable_lo": ("<=", 1.0),
    "risk_prauc_over_observable_lo": ("<=", 1.0),
    "risk_ece": ("<=", 0.01),
    "risk_prauc_over_logreg": (">", 1.0),
    "risk_pipeline_1m_seconds": ("<=", 300),
    "risk_stays": (">=", 1_000_000),
    # the share over the budget must lie in [0.9, 1.1]: its distance from 1 at most 0.1
    "risk_referral_share_off_budget_1pct": ("<=", 0.1),
    "risk_referral_share_off_budget_5pct": ("<=", 0.1),
    "fairness_bias2_detected_share": (">=", 0.8),
    "fairness_false_alarm": ("<=", 0),
    # a consistency check of the reasons code (it filters on that very sum): it cannot fail; the
    # independent check is reasons_true_*_share against the generator's truth, with no bar
    "reasons_lowering_share": ("<=", 0),
    "reasons_top1_seed_agreement": (">=", 0.8),
}


def run() -> dict:
    cfg = load_config(HERE.parent / "configs" / "risk.yaml", RiskConfig)
    data = make_crossings(N_TRAVELLERS, "2017-01-01", "2023-12-31", seed=0)
    n_stays = len(data.stays)
    truth = data.truth.set_index("stay_id")
    start = time.perf_counter()
    validate_crossings(data.crossings)
    t_validate = time.perf_counter() - start
    # validation is timed apart: the bar covers features + fit + calibrate + evaluate
    start = time.perf_counter()
    cutoff = as_of_cutoff(data.crossings, cfg.model.splits.test_fraction)
    train, holdout = as_of_tables(data.crossings, cutoff, grace_days=cfg.data.grace_days)
    t_features = time.perf_counter() - start
    res = train_risk_model(
        train, cfg.model, fairness=cfg.fairness, holdout=holdout,
        oracle=truth.loc[holdout["stay_id"], "p_full"].to_numpy(), observable=truth.loc[holdout["stay_id"], "p_observable"].to_numpy(),
    )
    total = time.perf_counter() - start
    m = res.metrics
    p_test = res.test_scores["p"].to_numpy()
    parts = fit_slices(train, cfg.model, holdout)
    extra = {
        **_budget_shares(res.model, parts["calib"], data.crossings, cutoff, cfg, p_test, holdout),
        **_fairness_power(holdout, res.test_scores["y"].to_numpy(), p_test, cfg, truth.loc[holdout["stay_id"], "p_observable"].to_numpy()),
        **_reason_figures(res.model, parts, holdout, p_test, cfg, truth_inputs(data.stays, data.truth)),
    }
    with_ci = ("auc_over_observable", "prauc_over_observable", "gini_over_observable", "auc_over_oracle", "prauc_over_oracle",
               "gini_over_oracle", "prauc_over_logreg", "roc_auc", "pr_auc", "observable_roc_auc", "observable_pr_auc",
               "oracle_roc_auc", "oracle_pr_auc")
    return {
        **oracle_figures(m),
        "risk_ece": m["ece"],
        "risk_prauc_over_logreg": m["prauc_over_logreg"],
        "risk_pipeline_1m_seconds": total,
        "risk_stays": n_stays,
        **{f"{k}_95ci": f"[{m[k + '_lo']:.4f}, {m[k + '_hi']:.4f}]" for k in with_ci},
        "risk_auc_over_oracle_full": m["auc_over_oracle"],
        "risk_prauc_over_oracle_full": m["prauc_over_oracle"],
        "gini_over_observable": m["gini_over_observable"],
        "gini_over_oracle_full": m["gini_over_oracle"],
        "as_of_cutoff": str(cutoff.date()),
        "training_rows_as_of_cutoff": len(train),
        "holdout_rows": int(m["n"]),
        "holdout_positives": int(m["positives"]),
        "roc_auc": m["roc_auc"],
        "observable_roc_auc": m["observable_roc_auc"],
        "oracle_full_roc_auc": m["oracle_roc_auc"],
        "pr_auc": m["pr_auc"],
        "observable_pr_auc": m["observable_pr_auc"],
        "oracle_full_pr_auc": m["oracle_pr_auc"],
        "observable_ece": m["observable_ece"],
        "logreg_pr_auc": m["logreg_pr_auc"],
        "logreg_roc_auc": m["logreg_roc_auc"],
        "visa_rate_pr_auc": m["group_rate_pr_auc"],
        "ece_quantile_20": m["ece_quantile"],
        "brier": m["brier"],
        "precision_at_1pct": m["precision_at_1pct"],
        "recall_at_1pct": m["recall_at_1pct"],
        "precision_at_5pct": m["precision_at_5pct"],
        "recall_at_5pct": m["recall_at_5pct"],
        "lift_at_1pct": m["lift_at_1pct"],
        **_by_visa(m),
        "fairness_passed": bool(res.fairness.passed),
        **{f"fairness_{k}": v for k, v in res.fairness.summary.items()},
        "best_iteration": res.model.best_iteration_,
        "features_seconds": t_features,
        "fit_seconds": res.seconds["fit"],
        "baselines_seconds": res.seconds.get("baselines", 0.0),
        "intervals_seconds": res.seconds["intervals"],
        "validate_crossings_seconds": t_validate,
        **extra,
        "load_average_1min": _load(),
    }


def oracle_figures(m: dict) -> dict:
    """The model's ratios to the observable oracle that the bars judge: each ratio, and the lower end of its 95% interval.

    The observable oracle is the best probability from what is recorded at entry and the earlier recorded outcomes
    (:mod:`riskmodel.core.synth.hidden`), so a model whose ratio lies above 1 beyond its interval has read what was not
    known at entry (a leak in the features, the labels or the split): ``risk_*_over_observable_lo`` above 1 fails.

    Parameters
    ----------
    m : dict
        :func:`~riskmodel.core.risk.train_risk_model`'s metrics, with ``observable=`` given.

    Returns
    -------
    dict
        ``risk_auc_over_observable``, ``risk_prauc_over_observable`` and each with ``_lo``.
    """
    return {f"risk_{k}{end}": m[k + end] for k in ("auc_over_observable", "prauc_over_observable") for end in ("", "_lo")}


def _by_visa(m: dict) -> dict:
    """One line per visa type of the as-of holdout: stays, positives, ROC-AUC, PR-AUC."""
    visas = sorted({k[len("by_visa_type_"):-len("_n")] for k in m if k.startswith("by_visa_type_") and k.endswith("_n")})
    return {
        f"holdout_{v}": f"{int(m[f'by_visa_type_{v}_n'])} stays, {int(m[f'by_visa_type_{v}_positives'])} positives, "
                        f"ROC-AUC {m[f'by_visa_type_{v}_roc_auc']:.4f}, PR-AUC {m[f'by_visa_type_{v}_pr_auc']:.4f}"
        for v in visas
    }


def _budget_shares(model: RiskModel, calib: pd.DataFrame, crossings: pd.DataFrame, cutoff: pd.Timestamp, cfg: RiskConfig,
                   p_test: np.ndarray, holdout: pd.DataFrame) -> dict:
    """Share of later stays at or above each budget's threshold (set on the calibration slice), over the budget.

    The bar reads the as-of holdout (stays that entered after the cut-off, matured by the end);
    apart, every stay that entered after the cut-off, labelled or not (what a desk refers).
    """
    p_cal = model.predict_proba(calib)[:, 1]
    feats = build_features(crossings, validate=False)
    later = feats[feats[cfg.model.time_column] >= cutoff]
    p_later = model.predict_proba(later)[:, 1]
    out = {"distinct_probabilities_holdout": int(len(np.unique(p_test))), "stays_entered_after_cutoff": int(len(later)),
           **_not_evaluated(later, holdout, threshold=np.quantile(p_cal, 0.95), p_later=p_later)}
    for b in (0.01, 0.02, 0.05):
        threshold = np.quantile(p_cal, 1 - b)
        tag = f"{b * 100:g}pct"
        share = float((p_test >= threshold).mean()) / b
        out[f"risk_referral_share_over_budget_{tag}"] = share
        out[f"risk_referral_share_off_budget_{tag}"] = abs(share - 1)
        out[f"referral_share_over_budget_{tag}_all_entered_after_cutoff"] = float((p_later >= threshold).mean()) / b
    return out


def _not_evaluated(later: pd.DataFrame, holdout: pd.DataFrame, *, threshold: float, p_later: np.ndarray) -> dict:
    """Visa types that entered after the cut-off but have no stay in the as-of holdout (labels not mature by the end).

    Their share of the entries after the cut-off, and of the stays there at or above the top-5% threshold.
    """
    visas = later["visa_type"].astype(str)
    missing = sorted(set(visas) - set(holdout["visa_type"].astype(str)))
    share = visas.value_counts(normalize=True)
    gone = visas.isin(missing).to_numpy()
    referred = p_later >= threshold
    return {
        "visa_types_not_in_holdout": ", ".join(f"{v} ({share[v]:.1%} of entries after the cut-off)" for v in missing) or "none",
        "top5pct_referrals_not_in_holdout_visa_types": float(gone[referred].mean()) if referred.any() else 0.0,
    }


def _double_odds(p: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = p.copy()
    out[mask] = 2 * p[mask] / (1 + p[mask])
    return out


def _truth_odds_ratios(test: pd.DataFrame, p: np.ndarray, observable: np.ndarray, violations: list[str], bound: float) -> dict:
    """Each group the audit found in breach, judged by the generator's truth instead of the labels: the model's odds
    over the observable oracle's for that group, relative to the same ratio for everyone else (exp of the difference
    of mean log-odds offsets). Outside ``[1/bound, bound]`` the truth confirms the model misjudges that group."""
    def logit(q):
        q = np.clip(np.asarray(q, dtype=float), 1e-9, 1 - 1e-9)
        return np.log(q / (1 - q))

    offset = logit(p) - logit(observable)
    out, unconfirmed = {}, 0
    for attr, group in dict.fromkeys((v.split(":", 1)[0], v.rsplit(" by group ", 1)[1]) for v in violations if " by group " in v):
        inside = (test[attr].astype(str) == group).to_numpy()
        ratio = float(np.exp(offset[inside].mean() - offset[~inside].mean()))
        out[f"fairness_breach_{attr}_{group.replace(' ', '_')}_odds_over_observable"] = round(ratio, 3)
        unconfirmed += 1 / bound <= ratio <= bound
    out["fairness_breaches_not_confirmed_by_truth"] = unconfirmed
    return out


def false_alarms(test: pd.DataFrame, p: np.ndarray, observable: np.ndarray, violations: list[str], bound: float) -> dict:
    """The audit's violations of the model as trained, each group's judged by the truth (:func:`_truth_odds_ratios`);
    ``fairness_false_alarm`` counts the breaches the truth does not confirm and the violations naming no group."""
    truth = _truth_odds_ratios(test, p, observable, violations, bound)
    ungrouped = sum(" by group " not in v for v in violations)
    return {"fairness_false_alarm": truth["fairness_breaches_not_confirmed_by_truth"] + ungrouped,
            "fairness_breaches_model_as_trained": len(violations), **truth}


def _fairness_power(test: pd.DataFrame, y: np.ndarray, p: np.ndarray, cfg: RiskConfig, observable: np.ndarray) -> dict:
    """The shipped audit on the holdout, each breach judged by the truth too, then with doubled odds for each large
    nationality and region."""
    audit = cfg.model.audit
    travellers = test.get("traveller_id")
    fair = fairness_audit(test, y, p, audit, cfg.fairness, clusters=travellers)
    out = false_alarms(test, p, observable, fair.violations, cfg.fairness.max_calibration_ratio)
    caught = []
    for attr in ("nationality", "region"):
        values = test[attr].astype(str)
        for group in values.value_counts().index[:5]:
            rep = fairness_audit(test, y, _double_odds(p, (values == group).to_numpy()), audit, cfg.fairness, clusters=travellers)
            hit = any(v.startswith(f"{attr}:") and v.endswith(f"by group {group}") for v in rep.violations)
            caught.append(hit)
            out[f"fairness_bias2_{attr}_{group.replace(' ', '_')}"] = "refused" if hit else "passed"
    out["fairness_bias2_detected_share"] = float(np.mean(caught))
    out["fairness_auditable_groups"] = ", ".join(f"{a} {int(fair.summary[f'{a}_auditable_groups'])}" for a in audit)
    return out


#: The raw inputs of the generator's ``true_logit`` (fields of ``EntryFacts`` and ``TravelHistory``)
#: each reason group of configs/risk.yaml is built from; ``None``: the truth reads none of them. A
#: group's true effect replaces these raw fields, never the features, so the features of one group
#: stay consistent (the planned-stay ratios follow the planned stay). Where a feature reads two
#: groups' fields (the planned stay over the visa's permitted days), each group gets its own field
#: and the ratio is recomputed with the other group's field as this traveller's.
TRUTH_INPUTS: dict[str, tuple[str, ...] | None] = {
    "visa": ("visa_type",),  # permitted days (a stay permit's own term: not read) and extension room
    "planned_stay": ("planned_stay_days",),  # and its ratios to the visa's permitted days
    "purpose": ("purpose",),
    "sponsor": ("sponsor",),
    "accommodation": ("accommodation",),
    "document": None,  # document_type: not read by the truth
    "entry_port": None,  # port and port type: not read
    "return_ticket": ("has_return_ticket",),
    "party": ("group_size",),
    "season": None,  # entry_month: not read
    "earlier_visits": ("prior_visits",),  # prior_visits_365d comes from the same earlier entries
    "earlier_extensions": None,  # not read
    # prior_exits equals prior_visits in the generator (no re-entry without an exit): credited to earlier_visits
    "last_departure": ("days_since_last_exit",),
    "earlier_stays": ("prior_overstays",),  # the overstay days and the permit use: same earlier stays
    "earlier_ports": None,  # not read
    "earlier_visa": None,  # the earlier visa type: not read
}
#: Truth inputs that no feature carries (audit attributes): in no reason group.
NOT_FEATURES = ("age", "nationality")
#: Stays of the calibration slice the true effects average over.
REFERENCE_STAYS = 500
_ENTRY = tuple(f.name for f in dataclasses.fields(EntryFacts))
_HISTORY = tuple(f.name for f in dataclasses.fields(TravelHistory))


def truth_inputs(stays: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Each stay's raw inputs of ``true_logit``, rebuilt from the stays and the generator's truth table.

    The history is the generator's own: earlier entries, earlier *recorded* overstays
    (``truth["recorded_overstay"]``, what the generator's history counts) and days from the
    previous exit's day to this entry's day (``10**6`` on a first visit); age is the entry year
    less the birth year. Built from the log, not from the features, so that the check does not
    lean on :mod:`riskmodel.core.features`.

    Returns
    -------
    DataFrame
        Indexed by ``stay_id``: one column per field of ``EntryFacts`` and ``TravelHistory``.
    """
    s = stays.sort_values(["traveller_id", "entry_time"], kind="stable")
    rec = truth.set_index("stay_id")["recorded_overstay"].loc[s["stay_id"]].to_numpy(dtype=float)
    by = s.groupby("traveller_id", sort=False)
    first = (by.cumcount() == 0).to_numpy()
    prev_exit = by["exit_time"].shift(1).dt.normalize()
    since = (s["entry_time"].dt.normalize() - prev_exit).dt.days.to_numpy(dtype=float, na_value=np.nan)
    out = pd.DataFrame({c: s[c].astype(object).to_numpy() for c in ("visa_type", "purpose", "sponsor", "accommodation", "nationality")},
                       index=pd.Index(s["stay_id"].to_numpy(), name="stay_id"))
    out["has_return_ticket"] = s["has_return_ticket"].to_numpy(dtype=bool)
    out["planned_stay_days"] = s["planned_stay_days"].to_numpy(dtype=float)
    out["group_size"] = s["group_size"].to_numpy(dtype=float)
    out["age"] = (s["entry_time"].dt.year - s["birth_year"]).to_numpy(dtype=float)
    out["prior_visits"] = by.cumcount().to_numpy()
    out["prior_overstays"] = (pd.Series(rec).groupby(by.ngroup().to_numpy()).cumsum().to_numpy() - rec).astype(int)
    out["days_since_last_exit"] = np.where(first, 10**6, since)
    return out[list(_ENTRY + _HISTORY)]


def _true_logit(columns: dict[str, np.ndarray]) -> np.ndarray:
    return true_logit(EntryFacts(**{f: columns[f] for f in _ENTRY}), TravelHistory(**{f: columns[f] for f in _HISTORY}))


def true_effect(group: str, x: pd.DataFrame, reference: pd.DataFrame, *, inputs: dict | None = None) -> np.ndarray:
    """True effect of reason group ``group`` on each row's generator log-odds, independent of any model.

    ``true_logit(x) - mean_z true_logit(x with the group's raw inputs replaced by z's)`` over the
    stays ``z`` of ``reference`` (the interventional effect: how much this traveller's facts of
    that group raise his true risk over a random traveller's). Hidden noise is left out: no record
    shows it. A group whose features the truth does not read has effect 0.

    Parameters
    ----------
    group : str
        A reason group's name, a key of ``inputs``.
    x, reference : DataFrame
        Rows of :func:`truth_inputs`.
    inputs : dict, default=TRUTH_INPUTS
        Reason group -> the raw truth fields its features come from (``None``: none).

    Returns
    -------
    ndarray of float
        One effect per row of ``x``, in log-odds.

    Raises
    ------
    KeyError
        If ``group`` is not mapped.
    """
    inputs = TRUTH_INPUTS if inputs is None else inputs
    if group not in inputs:
        raise KeyError(f"reason group {group!r} is not in TRUTH_INPUTS; map it to the truth inputs its features come from, or to None.")
    fields = list(inputs[group] or ())
    if not fields or not len(x):
        return np.zeros(len(x))
    # each distinct value of the group's fields once, weighted by how often the reference holds it
    combos = reference[fields].value_counts(normalize=True, dropna=False, sort=False)
    values = {f: combos.index.get_level_values(f).to_numpy() for f in fields}
    w, m = combos.to_numpy(), len(combos)
    cols = {c: x[c].to_numpy() for c in x.columns}
    base = _true_logit(cols)
    out = np.empty(len(x))
    step = max(1, 1_000_000 // m)
    for lo in range(0, len(x), step):
        rows = np.arange(lo, min(lo + step, len(x)))
        tiled = {c: np.repeat(v[rows], m) for c, v in cols.items()}
        tiled.update({f: np.tile(v, len(rows)) for f, v in values.items()})
        out[rows] = (base[rows, None] - _true_logit(tiled).reshape(len(rows), m)) @ w
    return out


def truth_shares(chosen: np.ndarray, effects: dict[str, np.ndarray], *, inputs: dict | None = None) -> dict[str, float]:
    """Shares of the chosen reasons whose true effect is > 0, < 0, or that the truth does not read at all.

    ``chosen`` is rows x slots of group names (``None``: an empty slot, not counted);
    ``effects`` maps a group to its true effect on every row. The three shares leave out the
    mapped groups whose effect is exactly 0.
    """
    inputs = TRUTH_INPUTS if inputs is None else inputs
    raising = lowering = none = shown = 0
    for r, c in zip(*np.nonzero(pd.notna(chosen))):
        g = chosen[r, c]
        shown += 1
        if not inputs[g]:
            none += 1
        else:
            raising += effects[g][r] > 0
            lowering += effects[g][r] < 0
    n = max(shown, 1)
    return {"true_raising": raising / n, "true_lowering": lowering / n, "no_truth": none / n}


def lowering_groups(chosen: np.ndarray, effects: dict[str, np.ndarray], *, inputs: dict | None = None) -> str:
    """The groups of the chosen reasons whose true effect is < 0, each with its share of those (most first), or ``"none"``.

    ``chosen`` and ``effects`` as in :func:`truth_shares`.
    """
    inputs = TRUTH_INPUTS if inputs is None else inputs
    low = []
    for r, c in zip(*np.nonzero(pd.notna(chosen))):
        g = chosen[r, c]
        if inputs[g] and effects[g][r] < 0:
            low.append(g)
    counts = sorted(pd.Series(low, dtype=object).value_counts().items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{g} {n / len(low):.0%}" for g, n in counts) or "none"


def _reason_figures(model: RiskModel, parts: dict, test: pd.DataFrame, p_test: np.ndarray, cfg: RiskConfig, inputs: pd.DataFrame) -> dict:
    """Top-3 reasons of elevated and high rows: their true effects, lowering share, top-1 agreement with a seed-1 refit.

    ``inputs`` holds every stay's raw truth inputs (:func:`truth_inputs`).
    """
    rows = test[model.band(p_test) != "low"]
    out = explain(model, rows, k=3)
    truth = _true_reason_figures(model, out, inputs.loc[rows["stay_id"]], inputs.loc[parts["calib"]["stay_id"]])
    contrib = model.contributions(rows)[:, :-1]
    members = {g.name: [model.features.index(f) for f in g.features] for g in reason_groups(model)}
    shown = lowering = 0
    for i in (1, 2, 3):
        for r, g in enumerate(out[f"reason_{i}_feature"]):
            if g is not None:
                shown += 1
                lowering += contrib[r, members[g]].sum() <= 0
    other = RiskModel.from_config(dataclasses.replace(cfg.model, seed=1))
    other.fit(parts["train"], valid=parts["valid"], calib=parts["calib"])
    top1 = explain(other, rows, k=1)["reason_1_feature"]
    agree = (out["reason_1_feature"].fillna("-") == top1.fillna("-")).mean()
    return {
        "reasons_rows_explained": int(len(rows)),
        "reasons_lowering_share": lowering / max(shown, 1),
        **truth,
        "reasons_top1_seed_agreement": float(agree),
    }


def _true_reason_figures(model: RiskModel, out: pd.DataFrame, x: pd.DataFrame, calib: pd.DataFrame) -> dict:
    """Shares of the shown reasons (of 3 groups drawn at random per row) that truly raise, lower, or are not read by the truth.

    True effects (:func:`true_effect`) over :data:`REFERENCE_STAYS` stays drawn from the calibration slice.
    """
    rng = np.random.default_rng(0)
    reference = calib.iloc[rng.choice(len(calib), min(REFERENCE_STAYS, len(calib)), replace=False)]
    names = np.array([g.name for g in reason_groups(model)], dtype=object)
    shown = np.column_stack([out[f"reason_{i}_feature"].to_numpy(dtype=object) for i in (1, 2, 3)])
    drawn = names[np.argsort(rng.random((len(x), len(names))), axis=1)[:, :3]]
    effects = {}
    for g in names:
        need = ((shown == g) | (drawn == g)).any(axis=1)
        effects[g] = np.zeros(len(x))
        effects[g][need] = true_effect(g, x[need], reference)
    figures = {}
    for tag, chosen in (("", shown), ("random_", drawn)):
        for k, v in truth_shares(chosen, effects).items():
            figures[f"reasons_{tag}{k}_share"] = v
    figures["reasons_true_lowering_groups"] = lowering_groups(shown, effects)
    return figures


def _load() -> float:
    """1-minute load average while the benchmark ran (other jobs on the machine inflate the timings)."""
    import os

    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")
