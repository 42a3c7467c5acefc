"""The promotion gate: a written-down list of metric rules a challenger must pass.

A challenger passes when, for every rule in :class:`~riskmodel.core.risk.config.GateConfig`:

* no ``higher_is_better`` metric is below the champion's minus its tolerance;
* no ``lower_is_better`` metric is above the champion's plus its tolerance;
* every ``minimum`` / ``maximum`` absolute bound holds;
* the fairness audit passed (``fairness_passed`` metric equal to 1), when required.

Without a champion only the absolute bounds and fairness apply. A metric the
challenger lacks fails its rule: a gate never passes by omission.
"""

from __future__ import annotations

import math

from riskmodel.core.gate import GateChecks, GateDecision
from riskmodel.core.risk.config import GateConfig

__all__ = ["GateDecision", "evaluate_gate"]


def _value(metrics: dict, name: str) -> float | None:
    v = metrics.get(name)
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def _fmt(value: float | None) -> str:
    return "None" if value is None else format(value, ".4g")


def evaluate_gate(candidate: dict[str, float], champion: dict[str, float] | None, config: GateConfig) -> GateDecision:
    """Check a challenger's metrics against the champion's and the gate's rules.

    Parameters
    ----------
    candidate : dict of str to float
        The challenger's holdout metrics (and ``fairness_passed``: 1 or 0).
    champion : dict of str to float or None
        The champion's metrics, or None when there is no champion yet.
    config : GateConfig
        Rules and tolerances.

    Returns
    -------
    GateDecision
        Reasons start with ``ok:`` or ``FAIL:``; one comparison per rule checked.

    Examples
    --------
    >>> from riskmodel.core.risk.config import GateConfig
    >>> evaluate_gate({"roc_auc": 0.80}, {"roc_auc": 0.90}, GateConfig(lower_is_better={}, higher_is_better={"roc_auc": 0.01}, require_fairness=False)).passed
    False
    """
    checks = GateChecks()

    def verdict(text: str):
        return lambda ok: ("ok: " if ok else "FAIL: ") + text

    if champion:
        for name, tol, sign, word in (
            *((n, t, -1, "drop") for n, t in config.higher_is_better.items()),
            *((n, t, +1, "rise") for n, t in config.lower_is_better.items()),
        ):
            c, b = _value(candidate, name), _value(champion, name)
            if b is None:
                continue
            text = f"{name} missing for the challenger" if c is None else f"{name} {c:.4g} vs champion {b:.4g} (may {word} by at most {tol:g})"
            bound = {"lower": b - tol} if sign < 0 else {"upper": b + tol}
            checks.compare(name, c, text=verdict(text), reference=b, tolerance=tol, rule=f"may {word} by at most {tol:g}", **bound)
    else:
        checks.note("no champion yet: only absolute bounds and fairness apply")
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
    return checks.decision()
