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
from dataclasses import dataclass, field

from riskmodel.core.risk.config import GateConfig

__all__ = ["GateDecision", "evaluate_gate"]


@dataclass(frozen=True)
class GateDecision:
    """Outcome of :func:`evaluate_gate`: ``passed`` and the reasons, one line per rule checked."""

    passed: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        head = "PASSED" if self.passed else "REFUSED"
        return head + ("\n" + "\n".join(f"- {r}" for r in self.reasons) if self.reasons else "")


def _value(metrics: dict, name: str) -> float | None:
    v = metrics.get(name)
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


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

    Examples
    --------
    >>> from riskmodel.core.risk.config import GateConfig
    >>> evaluate_gate({"roc_auc": 0.80}, {"roc_auc": 0.90}, GateConfig(lower_is_better={}, higher_is_better={"roc_auc": 0.01}, require_fairness=False)).passed
    False
    """
    ok = True
    reasons: list[str] = []

    def check(passed: bool, text: str) -> None:
        nonlocal ok
        ok &= passed
        reasons.append(("ok: " if passed else "FAIL: ") + text)

    if champion:
        for name, tol in config.higher_is_better.items():
            c, b = _value(candidate, name), _value(champion, name)
            if b is None:
                continue
            if c is None:
                check(False, f"{name} missing for the challenger")
            else:
                check(c >= b - tol, f"{name} {c:.4g} vs champion {b:.4g} (may drop by at most {tol:g})")
        for name, tol in config.lower_is_better.items():
            c, b = _value(candidate, name), _value(champion, name)
            if b is None:
                continue
            if c is None:
                check(False, f"{name} missing for the challenger")
            else:
                check(c <= b + tol, f"{name} {c:.4g} vs champion {b:.4g} (may rise by at most {tol:g})")
    else:
        reasons.append("no champion yet: only absolute bounds and fairness apply")
    for name, floor in config.minimum.items():
        c = _value(candidate, name)
        check(c is not None and c >= floor, f"{name} {c if c is None else format(c, '.4g')} must be >= {floor:g}")
    for name, ceiling in config.maximum.items():
        c = _value(candidate, name)
        check(c is not None and c <= ceiling, f"{name} {c if c is None else format(c, '.4g')} must be <= {ceiling:g}")
    if config.require_fairness:
        f = _value(candidate, "fairness_passed")
        check(f == 1.0, "fairness audit " + ("passed" if f == 1.0 else "failed or missing"))
    return GateDecision(passed=bool(ok), reasons=tuple(reasons))
