"""The forecasters' promotion gate: backtest rules a challenger must pass.

A challenger passes when, for the rules of
:class:`~riskmodel.core.forecasting.config.ForecastGateConfig`:

* its backtest MASE over all series is at most ``max_mase``;
* with ``beat_snaive``, its MASE is at most seasonal naive's (``mase_over_snaive <= 1``);
* its 95% interval coverage (when logged) lies in ``[min_coverage_95, max_coverage_95]``;
* with a champion, its MASE is at most the champion's times ``1 + mase_tolerance``.

A missing MASE or ratio counts as infinite, so it fails its rule.
"""

from __future__ import annotations

from riskmodel.core.forecasting.config import ForecastGateConfig
from riskmodel.core.gate import GateChecks, GateDecision

__all__ = ["forecast_gate"]


def forecast_gate(candidate: dict[str, float], champion: dict[str, float] | None, gate: ForecastGateConfig) -> GateDecision:
    """Check a challenger's backtest metrics against the rules of ``gate`` (and the champion's).

    Parameters
    ----------
    candidate : dict of str to float
        The challenger's run metrics (``mase``, ``mase_over_snaive``, ``coverage_95``).
    champion : dict of str to float or None
        The champion's run metrics, or None when there is no champion yet.
    gate : ForecastGateConfig
        Rules and tolerances.

    Returns
    -------
    GateDecision
        One reason and one comparison per rule checked.

    Examples
    --------
    >>> forecast_gate({"mase": 0.9, "mase_over_snaive": 0.95}, None, ForecastGateConfig()).passed
    True
    """
    checks = GateChecks()
    mase = candidate.get("mase", float("inf"))
    shown = candidate.get("mase")
    checks.compare(
        "mase", shown, upper=gate.max_mase, rule=f"<= {gate.max_mase}",
        text=lambda ok: f"backtest MASE {mase:.4f} {'<=' if ok else '>'} max {gate.max_mase}",
    )
    if gate.beat_snaive:
        ratio = candidate.get("mase_over_snaive", float("inf"))
        checks.compare(
            "mase_over_snaive", candidate.get("mase_over_snaive"), upper=1.0, rule="<= 1",
            text=lambda ok: f"MASE over seasonal naive {ratio:.4f} {'<=' if ok else '>'} 1",
        )
    cov = candidate.get("coverage_95")
    if cov is not None:
        lo, hi = gate.min_coverage_95, gate.max_coverage_95
        checks.compare(
            "coverage_95", cov, lower=lo, upper=hi, rule=f"within [{lo}, {hi}]",
            text=lambda ok: f"95% coverage {cov:.3f} {'within' if ok else 'outside'} [{lo}, {hi}]",
        )
    if champion is not None and "mase" in champion:
        factor = 1 + gate.mase_tolerance
        checks.compare(
            "mase", shown, upper=champion["mase"] * factor, reference=champion["mase"], tolerance=gate.mase_tolerance,
            rule="<= champion x (1 + tolerance)",
            text=lambda ok: f"MASE {mase:.4f} {'<=' if ok else '>'} champion's {champion['mase']:.4f} x {factor}",
        )
    return checks.decision()
