"""One promotion decision for every model kind: passed or not, why, and each metric compared.

The rules differ by model kind (:mod:`riskmodel.core.risk.gate` for the risk
classifier, :mod:`riskmodel.core.forecasting.gate` for the arrival forecasters);
what they decide has one shape, :class:`GateDecision`, so the registry records a
promotion the same way whichever model it is (see
:func:`riskmodel.integrations.tracking.registry.promote`).

Examples
--------
>>> checks = GateChecks()
>>> checks.compare("roc_auc", 0.81, lower=0.80, reference=0.805, tolerance=0.005, text="roc_auc 0.81 vs champion 0.805")
True
>>> checks.decision().passed
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

__all__ = ["Comparison", "GateDecision", "GateChecks"]


@dataclass(frozen=True)
class Comparison:
    """One metric held against its bound.

    Attributes
    ----------
    metric : str
        Metric name as logged (e.g. ``roc_auc``, ``mase``).
    candidate : float or None
        The challenger's value; None when it lacks the metric (the rule then fails).
    reference : float or None
        The champion's value the bound derives from; None for absolute bounds.
    tolerance : float or None
        Allowed loss against ``reference`` (absolute, or relative when ``rule`` says so).
    lower, upper : float or None
        The candidate must lie in ``[lower, upper]``; None is unbounded on that side.
    passed : bool
        The verdict of this comparison.
    rule : str
        The rule in words (e.g. ``"may drop by at most 0.005"``).
    """

    metric: str
    candidate: float | None
    reference: float | None
    tolerance: float | None
    lower: float | None
    upper: float | None
    passed: bool
    rule: str = ""

    def as_dict(self) -> dict:
        """Plain JSON-friendly values (non-finite numbers as None)."""
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class GateDecision:
    """What a promotion gate decided.

    Attributes
    ----------
    passed : bool
        True when every rule held.
    reasons : tuple of str
        One line per rule checked (``"ok: ..."`` / ``"FAIL: ..."`` for the risk
        gate), plus notes such as "no champion yet".
    comparisons : tuple of Comparison
        The metric comparisons behind the reasons.
    """

    passed: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)
    comparisons: tuple[Comparison, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        head = "PASSED" if self.passed else "REFUSED"
        return head + ("\n" + "\n".join(f"- {r}" for r in self.reasons) if self.reasons else "")


class GateChecks:
    """Collects the rules a gate checks, then gives the :class:`GateDecision`.

    A rule whose candidate value is missing or not a number fails: a gate never
    passes by omission.
    """

    def __init__(self) -> None:
        self._reasons: list[str] = []
        self._comparisons: list[Comparison] = []
        self._passed = True

    def note(self, text: str) -> None:
        """Add a reason line that is not a rule (e.g. "no champion yet")."""
        self._reasons.append(text)

    def compare(
        self,
        metric: str,
        candidate: float | None,
        *,
        text: str | Callable[[bool], str],
        lower: float | None = None,
        upper: float | None = None,
        reference: float | None = None,
        tolerance: float | None = None,
        rule: str = "",
    ) -> bool:
        """Check ``lower <= candidate <= upper``, record it and return the verdict.

        ``text`` is the reason line, or a function of the verdict giving it.
        """
        ok = candidate is not None and not math.isnan(candidate)
        ok = ok and (lower is None or candidate >= lower) and (upper is None or candidate <= upper)
        self._passed &= bool(ok)
        self._reasons.append(text(bool(ok)) if callable(text) else text)
        self._comparisons.append(Comparison(metric, candidate, reference, tolerance, lower, upper, bool(ok), rule))
        return bool(ok)

    def decision(self) -> GateDecision:
        """The decision over every rule checked so far."""
        return GateDecision(bool(self._passed), tuple(self._reasons), tuple(self._comparisons))
