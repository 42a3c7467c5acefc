"""Fairness audit: error and referral rates per group of each audit attribute.

Audit attributes (nationality or region, sex, age band by default) are *not*
model features unless a config says so; the audit measures what the model does
to each group anyway. Referral means "score in the top ``referral_budget`` of
the audited rows", the way a desk with a fixed capacity would use the score.

Per group: ``support, positives, referral_rate, fpr, fnr, precision,
mean_predicted, observed_rate, calibration_gap``. Across the groups of one
attribute with enough support (``min_support`` rows; ``min_positives``
positives for the rates that need them): the max ratio of referral rates, the
max ratio of false-positive rates, the max difference of false-negative rates
and the largest calibration gap. The bounds come from config
(:class:`~riskmodel.core.risk.config.FairnessConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.risk.config import FairnessConfig

__all__ = ["FairnessReport", "fairness_audit"]


@dataclass
class FairnessReport:
    """Result of :func:`fairness_audit`.

    Attributes
    ----------
    table : DataFrame
        One row per (attribute, group): ``attribute, group, support, positives,
        referral_rate, fpr, fnr, precision, mean_predicted, observed_rate,
        calibration_gap, enough_support``.
    summary : dict of str to float
        ``{attribute}_max_referral_ratio``, ``{attribute}_max_fpr_ratio``,
        ``{attribute}_max_fnr_diff``, ``{attribute}_max_calibration_gap``.
    violations : list of str
        Each bound broken, in words. Empty when the audit passes.
    threshold : float
        Score at and above which a row is referred.
    """

    table: pd.DataFrame
    summary: dict[str, float]
    violations: list[str] = field(default_factory=list)
    threshold: float = float("nan")

    @property
    def passed(self) -> bool:
        return not self.violations


def _ratio(values: pd.Series) -> float:
    values = values.dropna()
    if len(values) < 2:
        return 1.0
    lo, hi = float(values.min()), float(values.max())
    if hi == 0:
        return 1.0
    return hi / lo if lo > 0 else float("inf")


def fairness_audit(
    frame: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    attributes,
    config: FairnessConfig | None = None,
) -> FairnessReport:
    """Audit a score per group of each attribute.

    Parameters
    ----------
    frame : DataFrame
        Rows scored, holding the ``attributes`` columns (same order as ``y`` and ``p``).
    y : array-like
        Observed outcomes (0/1).
    p : array-like
        Calibrated probabilities.
    attributes : sequence of str
        Audit columns, e.g. ``("region", "sex", "age_band")``.
    config : FairnessConfig, optional
        Referral budget, support minimums and bounds. Default: :class:`FairnessConfig()`.

    Returns
    -------
    FairnessReport

    Raises
    ------
    SchemaError
        If an audit column is missing or the lengths differ.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"sex": ["F", "M"] * 500})
    >>> rep = fairness_audit(df, np.tile([0, 1], 500), np.linspace(0, 1, 1000), ["sex"])
    >>> sorted(rep.table["group"])
    ['F', 'M']
    """
    cfg = config or FairnessConfig()
    missing = [a for a in attributes if a not in frame.columns]
    if missing:
        raise SchemaError(
            "audit",
            [SchemaProblem(a, "audit attribute column is missing", "add it (see riskmodel.core.features.AUDIT_COLUMNS)") for a in missing],
        )
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    if not len(y) == len(p) == len(frame):
        raise SchemaError("audit", [SchemaProblem("<table>", f"lengths differ: frame {len(frame)}, y {len(y)}, p {len(p)}", "pass aligned rows")])
    k = max(int(round(cfg.referral_budget * len(p))), 1)
    threshold = float(np.sort(p)[-k]) if len(p) else float("nan")
    referred = p >= threshold
    rows = []
    for attr in attributes:
        g = pd.Series(frame[attr].astype(object).to_numpy()).fillna("<missing>").astype(str).to_numpy()
        df = pd.DataFrame({"g": g, "y": y, "r": referred.astype(float), "p": p})
        df["tp"] = df["y"] * df["r"]
        df["fp"] = (1 - df["y"]) * df["r"]
        agg = df.groupby("g").agg(
            support=("y", "size"), positives=("y", "sum"), referred=("r", "sum"), tp=("tp", "sum"), fp=("fp", "sum"),
            mean_predicted=("p", "mean"), observed_rate=("y", "mean"),
        )
        negatives = agg["support"] - agg["positives"]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = pd.DataFrame(
                {
                    "attribute": attr,
                    "group": agg.index,
                    "support": agg["support"].astype(int).to_numpy(),
                    "positives": agg["positives"].astype(int).to_numpy(),
                    "referral_rate": (agg["referred"] / agg["support"]).to_numpy(),
                    "fpr": (agg["fp"] / negatives).to_numpy(),
                    "fnr": (1 - agg["tp"] / agg["positives"]).to_numpy(),
                    "precision": (agg["tp"] / agg["referred"]).to_numpy(),
                    "mean_predicted": agg["mean_predicted"].to_numpy(),
                    "observed_rate": agg["observed_rate"].to_numpy(),
                }
            )
        t["calibration_gap"] = (t["mean_predicted"] - t["observed_rate"]).abs()
        t["enough_support"] = (t["support"] >= cfg.min_support) & (t["positives"] >= cfg.min_positives)
        rows.append(t)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    summary: dict[str, float] = {}
    violations: list[str] = []
    bounds = {
        "max_referral_ratio": cfg.max_referral_ratio,
        "max_fpr_ratio": cfg.max_fpr_ratio,
        "max_fnr_diff": cfg.max_fnr_diff,
        "max_calibration_gap": cfg.max_calibration_gap,
    }
    for attr in attributes:
        ok = table[(table["attribute"] == attr) & table["enough_support"]]
        values = {
            "max_referral_ratio": _ratio(ok["referral_rate"]),
            "max_fpr_ratio": _ratio(ok["fpr"]),
            "max_fnr_diff": float(ok["fnr"].max() - ok["fnr"].min()) if len(ok) > 1 else 0.0,
            "max_calibration_gap": float(ok["calibration_gap"].max()) if len(ok) else 0.0,
        }
        for name, value in values.items():
            summary[f"{attr}_{name}"] = value
            if value > bounds[name]:
                violations.append(f"{attr}: {name} is {value:.3g}, above the bound {bounds[name]:g}")
    return FairnessReport(table=table, summary=summary, violations=violations, threshold=threshold)
