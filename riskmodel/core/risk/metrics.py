"""Holdout metrics of a probability score for a rare binary outcome.

Ranking (ROC-AUC, PR-AUC as average precision), probability quality (Brier,
expected calibration error, reliability table) and what a desk with a referral
budget sees: precision, recall and lift of the top 1%, 2%, 5% of scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["classification_metrics", "expected_calibration_error", "reliability_table", "at_budget"]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = 10, strategy: str = "uniform") -> float:
    """Weighted mean gap between mean predicted and observed rate per bin.

    Parameters
    ----------
    y, p : array-like
        Outcomes (0/1) and predicted probabilities.
    bins : int, default=10
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins on [0, 1] (the usual definition) or equal-count bins
        (stricter for rare outcomes, where nearly every score falls in the first
        equal-width bin).

    Returns
    -------
    float
    """
    table = reliability_table(y, p, bins=bins, strategy=strategy)
    w = table["n"] / table["n"].sum()
    return float((w * (table["mean_predicted"] - table["observed_rate"]).abs()).sum())


def reliability_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Per bin of the score: ``bin, lower, upper, n, mean_predicted, observed_rate`` (non-empty bins only)."""
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    else:
        edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    df = pd.DataFrame({"bin": idx, "p": p, "y": y})
    g = df.groupby("bin")
    out = pd.DataFrame({"n": g.size(), "mean_predicted": g["p"].mean(), "observed_rate": g["y"].mean()})
    out["lower"] = edges[out.index.to_numpy()]
    out["upper"] = edges[out.index.to_numpy() + 1]
    return out.reset_index()[["bin", "lower", "upper", "n", "mean_predicted", "observed_rate"]]


def at_budget(y: np.ndarray, p: np.ndarray, budget: float) -> dict[str, float]:
    """Precision, recall and lift when the top ``budget`` fraction of scores is referred."""
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    k = max(int(round(budget * len(p))), 1)
    # stable sort with a fixed tie order: ties at the cut are broken by position, not by luck
    top = np.argsort(-p, kind="stable")[:k]
    hits = y[top].sum()
    base = y.mean() if len(y) else float("nan")
    precision = hits / k
    return {
        "precision": float(precision),
        "recall": float(hits / y.sum()) if y.sum() else float("nan"),
        "lift": float(precision / base) if base else float("nan"),
    }


def classification_metrics(y: np.ndarray, p: np.ndarray, *, budgets=(0.01, 0.02, 0.05)) -> dict[str, float]:
    """All holdout metrics of one score, as a flat dict.

    Returns
    -------
    dict
        ``n, positives, base_rate, roc_auc, pr_auc, brier, log_loss, ece, ece_quantile,
        mean_predicted``, and per budget ``b`` (in percent): ``precision_at_{b}pct,
        recall_at_{b}pct, lift_at_{b}pct``.
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y, float)
    p = np.asarray(p, float)
    both = 0 < y.sum() < len(y)
    out = {
        "n": float(len(y)),
        "positives": float(y.sum()),
        "base_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1])),
        "ece": expected_calibration_error(y, p, bins=10, strategy="uniform"),
        "ece_quantile": expected_calibration_error(y, p, bins=20, strategy="quantile"),
        "mean_predicted": float(p.mean()),
    }
    for b in budgets:
        tag = f"{b * 100:g}".replace(".", "_")
        for k, v in at_budget(y, p, b).items():
            out[f"{k}_at_{tag}pct"] = v
    return out
