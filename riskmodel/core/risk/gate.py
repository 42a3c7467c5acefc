"""The promotion gate: a written-down list of metric rules a challenger must pass.

A challenger passes when, for every rule in :class:`~riskmodel.core.risk.config.GateConfig`:

* no ``higher_is_better`` metric is below the champion's minus its tolerance;
* no ``lower_is_better`` metric is above the champion's plus its tolerance (a tolerance that cannot
  fail against this champion, a floor at or below 0 or a 0-1 metric's ceiling at or above 1, is said
  in an ``OFF:`` line);
* every ``minimum`` / ``maximum`` absolute bound holds;
* the fairness audit passed (``fairness_passed`` metric equal to 1), when required (when not, the
  decision says so in an ``OFF:`` line).

Without a champion only the absolute bounds and fairness apply. A metric the
challenger lacks fails its rule, and a gate with no rule to check fails: a gate never passes by omission.
A champion rule whose champion figure is missing or NaN (a champion logged by an older gate) is skipped,
and said in an ``OFF:`` line.

:func:`evaluate_paired_gate` is the gate that can tell (issue 14 part 5): champion,
challenger and the challenger's logistic baseline are scored on the *same* recent
window of matured stays, and a paired bootstrap gives each difference with its
interval (resampling travellers, not stays, when the caller passes ``clusters``:
a traveller's stays have correlated outcomes). The challenger is promoted only when it is not worse than the champion
beyond noise (the interval of ``challenger - champion`` reaches 0 or above) nor, on the
point estimate, by more than the written tolerance of the paired metric (a small window's
interval reaches 0 for a large drop; without a tolerance an ``OFF:`` line says so) nor by more
than that tolerance below the best of the earlier champions scored on the window (drops within the
tolerance at each promotion would add up), is
better than its logistic baseline (``challenger - baseline`` above 0), and passed
the fairness audit. :func:`evaluate_window_gate` adds the config's absolute bounds, read on
the same window; it is what the risk pipeline's ``promote`` decides with.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

from riskmodel.core.gate import GateChecks, GateDecision
from riskmodel.core.risk.config import GateConfig, unit_metric
from riskmodel.core.risk.metrics import classification_metrics, paired_difference, weighted_auc_ap

__all__ = ["GateDecision", "evaluate_gate", "evaluate_paired_gate", "evaluate_window_gate"]


def _value(metrics: dict, name: str) -> float | None:
    v = metrics.get(name)
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def _budget_tag(metric: str) -> str | None:
    """``5`` of ``recall_at_5pct``, ``1_5`` of ``precision_at_1_5pct``; None for a metric of no budget."""
    found = re.fullmatch(r"(?:precision|recall|lift)_at_(\d+(?:_\d+)?)pct", metric)
    return found.group(1) if found else None


def _fmt(value: float | None) -> str:
    return "None" if value is None else format(value, ".4g")


def _say_tolerance_off(checks: GateChecks, name: str, champion: float, tol: float, sign: int) -> None:
    """An ``OFF:`` line when a champion rule's bound lies where no value can cross it, against this champion.

    Every gate metric lies at or above 0, and those of :func:`~riskmodel.core.risk.config.unit_metric` at or
    below 1: a floor at or below 0, or such a metric's ceiling at or above 1, passes any challenger that has the metric.
    """
    if sign < 0 and champion - tol <= 0:
        checks.note(f"OFF: {name} cannot fail against this champion: its {champion:.4g} less the tolerance {tol:g} "
                    f"(gate.higher_is_better.{name}) is at or below 0, which no {name} lies below")
    elif sign > 0 and unit_metric(name) and champion + tol >= 1:
        checks.note(f"OFF: {name} cannot fail against this champion: its {champion:.4g} plus the tolerance {tol:g} "
                    f"(gate.lower_is_better.{name}) is at or above 1, which no {name} exceeds")


def evaluate_gate(candidate: dict[str, float], champion: dict[str, float] | None, config: GateConfig) -> GateDecision:
    """Check a challenger's metrics against the champion's and the gate's rules.

    Parameters
    ----------
    candidate : dict of str to float
        The challenger's holdout metrics (and ``fairness_passed``: 1 or 0).
    champion : dict of str to float or None
        The champion's metrics, or None when there is no champion yet (an empty dict is a
        champion whose metrics could not be read: its rules then fail).
    config : GateConfig
        Rules and tolerances.

    Returns
    -------
    GateDecision
        Reasons start with ``ok:`` or ``FAIL:``; one comparison per rule checked.

    Examples
    --------
    >>> from riskmodel.core.risk.config import GateConfig, unit_metric
    >>> evaluate_gate({"roc_auc": 0.80}, {"roc_auc": 0.90}, GateConfig(lower_is_better={}, higher_is_better={"roc_auc": 0.01}, require_fairness=False)).passed
    False
    """
    checks = GateChecks()

    def verdict(text: str):
        return lambda ok: ("ok: " if ok else "FAIL: ") + text

    if champion is not None:
        compared = 0
        for name, tol, sign, word in (
            *((n, t, -1, "drop") for n, t in config.higher_is_better.items()),
            *((n, t, +1, "rise") for n, t in config.lower_is_better.items()),
        ):
            c, b = _value(candidate, name), _value(champion, name)
            if b is None:  # a metric the champion was logged without (an older gate), or NaN: that rule only, said
                section = "higher_is_better" if sign < 0 else "lower_is_better"
                checks.note(f"OFF: {name} not compared (gate.{section}.{name}): the champion has no {name} figure "
                            "(logged before the rule, or not measurable), so this rule does not judge the challenger")
                continue
            compared += 1
            text = f"{name} missing for the challenger" if c is None else f"{name} {c:.4g} vs champion {b:.4g} (may {word} by at most {tol:g})"
            bound = {"lower": b - tol} if sign < 0 else {"upper": b + tol}
            _say_tolerance_off(checks, name, b, tol, sign)
            checks.compare(name, c, text=verdict(text), reference=b, tolerance=tol, rule=f"may {word} by at most {tol:g}", **bound)
        if not compared and (config.higher_is_better or config.lower_is_better):
            # a champion exists but none of its figures could be read ({} from the registry): no comparison is no pass
            checks.compare("champion", None, text=verdict("the champion's metrics could not be read: cannot compare with it"),
                           rule="champion metrics readable")
    else:
        checks.note("no champion yet: only absolute bounds" + (" and fairness apply" if config.require_fairness else " apply"))
    for name, floor in config.minimum.items():
        c = _value(candidate, name)
        checks.compare(name, c, lower=floor, text=verdict(f"{name} {_fmt(c)} must be >= {floor:g}"), rule=f">= {floor:g}")
    for name, ceiling in config.maximum.items():
        c = _value(candidate, name)
        checks.compare(name, c, upper=ceiling, text=verdict(f"{name} {_fmt(c)} must be <= {ceiling:g}"), rule=f"<= {ceiling:g}")
    if config.require_fairness:
        f = _value(candidate, "fairness_passed")
        checks.compare(
            "fairness_passed", f, lower=1.0, upper=1.0, rule="== 1",
            text=verdict("fairness audit " + ("passed" if f == 1.0 else "failed or missing")),
        )
    else:  # a rule switched off is said, never left out: the decision must not read as if the audit had passed
        checks.note("OFF: fairness audit not checked (gate.require_fairness is false)")
    if not checks.decision().comparisons:  # a gate that judged nothing is no pass
        checks.compare("rules", None, rule="at least one rule", text="FAIL: the gate checks no rule (higher_is_better, lower_is_better, "
                       "minimum and maximum are empty and require_fairness is false): add at least one rule to the gate config")
    return checks.decision()


def evaluate_paired_gate(
    y: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray | None,
    logistic: np.ndarray,
    *,
    fairness_passed: bool,
    metric: str = "pr_auc",
    n_boot: int = 400,
    seed: int = 0,
    clusters=None,
    min_per_class: int = 30,
) -> GateDecision:
    """Promote or not from scores of the same matured window, with paired bootstrap intervals.

    Parameters
    ----------
    y : ndarray
        Matured labels (0/1) of the window's stays.
    challenger, champion, logistic : ndarray
        Scores of the same rows by the challenger, the champion (None when there is
        none yet) and the challenger's logistic-regression baseline.
    fairness_passed : bool
        Verdict of the challenger's fairness audit.
    metric : {"pr_auc", "roc_auc"}, default="pr_auc"
    n_boot, seed : int
        Bootstrap replicates and seed.
    clusters : array-like, optional
        The traveller of each row (``traveller_id``): the bootstrap resamples travellers,
        not stays (see :func:`~riskmodel.core.risk.metrics.paired_difference`). Default: the row.
    min_per_class : int, default=30
        Overstays, and other stays, the window needs: with fewer of either, the paired
        comparisons FAIL as unmeasurable (their intervals would be noise, and a challenger no
        better than its champion would pass), naming the counts.

    Returns
    -------
    GateDecision
        Comparisons ``{metric}_minus_champion`` (must not lie below 0 beyond noise:
        the interval's upper bound >= 0), ``{metric}_minus_logreg`` (> 0) and
        ``fairness_passed``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(5_000) < 0.1
    >>> good = y + rng.normal(0, 1, 5_000)
    >>> evaluate_paired_gate(y, good, good, rng.random(5_000), fairness_passed=True).passed
    True
    """
    checks = GateChecks()
    labels = np.asarray(y, dtype=bool)
    both = len(np.unique(labels)) == 2  # overstays and other stays: a ranking to judge
    if not both:
        _unmeasurable(checks, metric, y, champion is not None)
    elif min(few := (int(labels.sum()), int((~labels).sum()))) < min_per_class:
        _too_few(checks, metric, *few, min_per_class, champion is not None)
        both = False
    elif champion is None:
        checks.note("no champion yet: the baseline and fairness rules apply")
    else:
        d, lo, hi = paired_difference(y, challenger, champion, metric=metric, n_boot=n_boot, seed=seed, clusters=clusters)
        checks.compare(
            f"{metric}_minus_champion", hi, lower=0.0, reference=d, rule="95% interval of challenger - champion reaches 0",
            text=lambda ok: ("ok: " if ok else "FAIL: ") + f"{metric} challenger - champion {d:+.4f} (95% interval {lo:+.4f} to {hi:+.4f})"
            + ("" if ok else ": worse beyond noise"),
        )
    if both:
        d, lo, hi = paired_difference(y, challenger, logistic, metric=metric, n_boot=n_boot, seed=seed + 1, clusters=clusters)
        checks.compare(
            f"{metric}_minus_logreg", d, lower=np.nextafter(0.0, 1.0), reference=None, rule="> 0",
            text=lambda ok: ("ok: " if ok else "FAIL: ") + f"{metric} challenger - logistic baseline {d:+.4f} (95% interval {lo:+.4f} to {hi:+.4f})"
            + (": not better than the baseline" if not ok else ": better on the point estimate, within noise" if lo <= 0 else ""),
        )
    checks.compare(
        "fairness_passed", 1.0 if fairness_passed else 0.0, lower=1.0, upper=1.0, rule="== 1",
        text=lambda ok: ("ok: " if ok else "FAIL: ") + "fairness audit " + ("passed" if ok else "failed"),
    )
    return checks.decision()


def _with_drop_rule(paired: GateDecision, metric: str, tolerance: float | None, y=None, champion=None) -> GateDecision:
    """``paired`` with the champion rule on the point estimate after its interval rule: the drop the written tolerance
    allows (comparison ``{metric}_drop_from_champion``), or an ``OFF:`` line without one. Nothing is added when the
    paired gate compared no champion (none yet, or a window it could not measure: its own lines say why).

    Given the window's labels ``y`` and the ``champion``'s scores, a tolerance that puts the floor (the champion's figure
    less it) at or below what a ranking by chance gets (the share of overstays for PR-AUC, 0.5 for ROC-AUC) is said in an
    ``OFF:`` line: such a rule refuses no challenger better than chance, however far below its champion, and its ``ok:``
    line alone would read as a rule that held."""
    at = [i for i, c in enumerate(paired.comparisons) if c.metric == f"{metric}_minus_champion" and c.reference is not None]
    if not at:
        return paired
    d = float(paired.comparisons[at[0]].reference)
    line = next(i for i, r in enumerate(paired.reasons) if r.startswith((f"ok: {metric} challenger - champion",
                                                                         f"FAIL: {metric} challenger - champion")))
    checks = GateChecks()
    key = f"gate.higher_is_better.{metric}"
    if tolerance is None:
        checks.note(f"OFF: no written tolerance for a drop in {metric} from the champion ({key}): a challenger is judged "
                    "only on whether it is worse beyond noise, which a small window passes however large the drop")
    else:
        tol = float(tolerance)
        checks.compare(
            f"{metric}_drop_from_champion", d, lower=-tol, reference=0.0, tolerance=tol, rule=f"may drop by at most {tol:g}",
            text=lambda ok: (f"ok: {metric} challenger - champion {d:+.4f} on the window, within the tolerance {tol:g} ({key})" if ok
                             else f"FAIL: {metric} challenger - champion {d:+.4f} on the window, a drop beyond the tolerance {tol:g} "
                                  f"({key}): retrain until the challenger is within it, or have the gate's owner change {key}"),
        )
    if tolerance is not None and y is not None and champion is not None:
        _check_tolerance_decides(checks, metric, float(tolerance), key, y, champion)
    rule = checks.decision()
    i = at[0] + 1
    return GateDecision(paired.passed and rule.passed, paired.reasons[:line + 1] + rule.reasons + paired.reasons[line + 1:],
                        paired.comparisons[:i] + rule.comparisons + paired.comparisons[i:])


def _check_tolerance_decides(checks: GateChecks, metric: str, tol: float, key: str, y, champion) -> None:
    """An ``OFF:`` line when the champion's figure on the window less ``tol`` is at or below a ranking by chance (see
    :func:`_with_drop_rule`). Said, not refused: against a champion itself near chance any tolerance reaches chance, and
    refusing would keep a useless champion in place; the interval rule still judges."""
    y = np.asarray(y, dtype=float)
    figure = weighted_auc_ap(y, np.asarray(champion, dtype=float))[1 if metric == "pr_auc" else 0]
    chance = float(y.mean()) if metric == "pr_auc" else 0.5
    floor = figure - tol
    if floor > chance:  # a rule that can decide: its own line says how it did
        return
    checks.note(
        f"OFF: the tolerance {tol:g} ({key}) puts the floor at the champion's {metric} {figure:.4f} on the window less "
        f"{tol:g} = {floor:.4f}, at or below the {chance:.4f} a ranking by chance gets ({'the share of overstays' if metric == 'pr_auc' else 'ROC-AUC 0.5'}): "
        "the drop rule refuses no challenger better than chance, so only the interval judges the drop (which a small window "
        f"passes however large); a tolerance below {max(figure - chance, 0):.4f} would decide (the shipped one is 0.01)"
    )


def _with_lineage_rule(paired: GateDecision, metric: str, tolerance: float | None, y, challenger, earlier) -> GateDecision:
    """``paired`` with the drop from the best earlier champion on the window, after the champion's drop rule.

    Each promotion may lose up to the written tolerance against the champion it replaces; five such steps of 0.009
    would lose 0.045 against a tolerance of 0.01. Nothing is added without earlier champions, without a tolerance
    (the drop rule's ``OFF:`` line says so), or when the paired gate compared no champion (its lines say why).
    """
    if not earlier or tolerance is None or not any(c.metric == f"{metric}_drop_from_champion" for c in paired.comparisons):
        return paired
    k = 1 if metric == "pr_auc" else 0
    y = np.asarray(y, dtype=float)
    mine = weighted_auc_ap(y, np.asarray(challenger, dtype=float))[k]
    figures = {v: weighted_auc_ap(y, np.asarray(p, dtype=float))[k] for v, p in earlier.items()}
    best = max(figures, key=lambda v: (figures[v], -int(v) if str(v).isdigit() else 0))
    d, tol, key = mine - figures[best], float(tolerance), f"gate.higher_is_better.{metric}"
    checks = GateChecks()
    checks.compare(
        f"{metric}_drop_from_earlier_champions", d, lower=-tol, reference=0.0, tolerance=tol,
        rule=f"may drop by at most {tol:g} from the best earlier champion",
        text=lambda ok: (f"ok: {metric} challenger - earlier champion version {best} {d:+.4f} on the window (the best of "
                         f"{len(figures)} earlier champion{'s' if len(figures) != 1 else ''} scored there), within the tolerance {tol:g} ({key})"
                         if ok else
                         f"FAIL: {metric} challenger - earlier champion version {best} {d:+.4f} on the window (the best of "
                         f"{len(figures)} earlier champion{'s' if len(figures) != 1 else ''} scored there), a drop beyond the tolerance "
                         f"{tol:g} ({key}): promotions each within the tolerance have added up; retrain until the challenger is "
                         f"within it of version {best}, or put version {best} back (`riskmodel rollback risk --to {best} --reason ...`)"),
    )
    rule = checks.decision()
    at = next(i for i, c in enumerate(paired.comparisons) if c.metric == f"{metric}_drop_from_champion") + 1
    line = next(i for i, r in enumerate(paired.reasons) if f"{metric} challenger - champion" in r and "tolerance" in r) + 1
    return GateDecision(paired.passed and rule.passed, paired.reasons[:line] + rule.reasons + paired.reasons[line:],
                        paired.comparisons[:at] + rule.comparisons + paired.comparisons[at:])


def _unmeasurable(checks: GateChecks, metric: str, y, champion: bool) -> None:
    """FAIL lines for the comparisons a window with one class cannot measure (no ranking of overstayers to judge)."""
    labels = np.asarray(y, dtype=bool)
    # a window of no rows holds no stay at all (np.all of nothing is True: it read "only overstays")
    have = "no stay" if not len(labels) else "only overstays" if labels.all() else "no overstay"
    why = f"cannot be measured: the window holds {have}, and {metric} needs both overstays and other stays"
    for name, other in (("minus_champion", "champion"), ("minus_logreg", "logistic baseline"))[0 if champion else 1:]:
        checks.compare(f"{metric}_{name}", float("nan"), lower=0.0, reference=None, rule="needs both classes",
                       text=lambda ok, other=other: f"FAIL: {metric} challenger - {other} {why}")


def _too_few(checks: GateChecks, metric: str, overstays: int, others: int, least: int, champion: bool) -> None:
    """FAIL lines for the comparisons a window with too few of a class cannot judge (their intervals would be noise)."""
    short = " and ".join(f"{n:,} {what}" for n, what in ((overstays, "overstays"), (others, "other stays")) if n < least)
    why = (f"cannot be judged: the window holds {short}, and the paired comparison needs at least {least} of each "
           "(gate.paired_min_per_class); promote on a longer log, whose window holds more matured stays")
    for name, other in (("minus_champion", "champion"), ("minus_logreg", "logistic baseline"))[0 if champion else 1:]:
        checks.compare(f"{metric}_{name}", float("nan"), lower=0.0, reference=None, rule=f">= {least} of each class",
                       text=lambda ok, other=other: f"FAIL: {metric} challenger - {other} {why}")


def evaluate_window_gate(
    y: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray | None,
    logistic: np.ndarray,
    *,
    fairness_passed: bool,
    config: GateConfig,
    clusters=None,
    earlier: dict[str, np.ndarray] | None = None,
) -> GateDecision:
    """The promotion decision on one recent window of matured stays, every score on the same rows.

    The challenger must keep the config's absolute bounds (``minimum``, ``maximum``) on the
    window (a budget metric such as ``recall_at_5pct`` computed at the budget it names), then pass :func:`evaluate_paired_gate` with ``config.paired_metric`` and
    ``config.paired_bootstrap`` replicates: not worse than the champion beyond noise, nor by more
    than the written tolerance of that metric (``config.higher_is_better[config.paired_metric]``)
    on the window's point estimate, better than its logistic baseline, fair. (The other champion
    tolerances of :func:`evaluate_gate` compare figures logged on different periods and are not used
    here; the paired metric's tolerance is read on the same window for both models.)

    Parameters
    ----------
    y : ndarray
        Matured labels (0/1) of the window.
    challenger, champion, logistic : ndarray
        Probabilities of the same rows; ``champion`` None when there is none yet.
    fairness_passed : bool
        The challenger's fairness audit on the window.
    config : GateConfig
    clusters : array-like, optional
        The traveller of each row: the paired bootstrap resamples travellers, not stays.
    earlier : dict of str to ndarray, optional
        Probabilities of the same rows by the champions before this one, by version. The challenger may not lie
        below the best of them on the window's point estimate by more than the paired metric's written tolerance
        either (comparison ``{metric}_drop_from_earlier_champions``): a drop within the tolerance at each
        promotion would otherwise add up over promotions.

    Returns
    -------
    GateDecision
        The absolute bounds first, then the paired comparisons.

    Examples
    --------
    >>> from riskmodel.core.risk.config import GateConfig, unit_metric
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(5_000) < 0.1
    >>> p = np.clip(0.1 + 0.3 * (y - 0.1) + rng.normal(0, 0.05, 5_000), 0.001, 0.999)
    >>> cfg = GateConfig(minimum={"roc_auc": 0.75})
    >>> evaluate_window_gate(y, p, p, rng.random(5_000), fairness_passed=True, config=cfg).passed
    True
    """
    # the budgets the bounds name (recall_at_5pct: 0.05), or such a bound read None and failed every challenger
    budgets = sorted({float(t.replace("_", ".")) / 100 for name in [*config.minimum, *config.maximum] if (t := _budget_tag(name))})
    # a window of no stays measures nothing: its bounds read missing and fail, and the paired rules say why
    m = classification_metrics(np.asarray(y, float), np.asarray(challenger, float), budgets=budgets) if len(y) else {}
    absolute = dataclasses.replace(config, higher_is_better={}, lower_is_better={}, require_fairness=False)
    # without absolute bounds the paired rules below are the whole gate (evaluate_gate would refuse a gate of no rule)
    bounds = evaluate_gate(m, None, absolute) if config.minimum or config.maximum else GateDecision(True)
    paired = evaluate_paired_gate(
        y, challenger, champion, logistic, fairness_passed=fairness_passed, metric=config.paired_metric, n_boot=config.paired_bootstrap,
        clusters=clusters, min_per_class=config.paired_min_per_class,
    )
    paired = _with_drop_rule(paired, config.paired_metric, config.higher_is_better.get(config.paired_metric), y, champion)
    paired = _with_lineage_rule(paired, config.paired_metric, config.higher_is_better.get(config.paired_metric), y, challenger, earlier)
    # evaluate_gate's "no champion yet" note is about its champion rules, which are not used here
    notes = tuple(r for r in bounds.reasons if r.startswith(("ok:", "FAIL:")))
    if not config.require_fairness:  # said, not silently overruled: the paired gate below always checks the audit
        notes += ("note: gate.require_fairness is false, but promotion still requires the fairness audit on the window",)
    return GateDecision(bounds.passed and paired.passed, notes + paired.reasons, bounds.comparisons + paired.comparisons)
