"""Holdout metrics of a probability score for a rare binary outcome.

Ranking (ROC-AUC, PR-AUC as average precision), probability quality (Brier,
expected calibration error, reliability table) and what a desk with a referral
budget sees: precision, recall and lift of the top 1%, 2%, 5% of scores.
Bootstrap helpers give 95% intervals for the ranking metrics, their ratios to
reference scores (the oracles, a baseline) and paired differences between two
models on the same rows. Given ``clusters`` (the traveller of each stay) they
resample travellers, not stays: a traveller's stays share a persistent risk, so
resampling the stays one by one would give intervals too narrow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "classification_metrics", "expected_calibration_error", "reliability_table", "at_budget",
    "weighted_auc_ap", "ranking_intervals", "paired_difference", "cluster_codes",
]


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


class _Ranked:
    """One score sorted once (descending, ties grouped), so each bootstrap replicate costs O(n)."""

    def __init__(self, p: np.ndarray):
        p = np.asarray(p, float)
        self.order = np.argsort(-p, kind="stable")
        ps = p[self.order]
        self.starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])

    def auc_ap(self, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
        yw = (y * w)[self.order]
        nw = ((1.0 - y) * w)[self.order]
        tp = np.add.reduceat(yw, self.starts)
        fp = np.add.reduceat(nw, self.starts)
        pos, neg = tp.sum(), fp.sum()
        if pos <= 0 or neg <= 0:
            return float("nan"), float("nan")
        ctp, cfp = np.cumsum(tp), np.cumsum(fp)
        # a positive beats every negative scored lower, and half of those tied with it
        auc = float((tp * (neg - cfp) + 0.5 * tp * fp).sum() / (pos * neg))
        ap = float((tp / pos * (ctp / np.maximum(ctp + cfp, 1e-300))).sum())
        return auc, ap


def weighted_auc_ap(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """ROC-AUC and average precision (as scikit-learn defines them, ties included) with row weights."""
    y = np.asarray(y, float)
    return _Ranked(p).auc_ap(y, np.ones(len(y)) if w is None else np.asarray(w, float))


def _interval(values: list[float], level: float) -> tuple[float, float]:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return float("nan"), float("nan")
    a = (1.0 - level) / 2
    return float(np.quantile(v, a)), float(np.quantile(v, 1 - a))


def cluster_codes(clusters, n: int) -> np.ndarray | None:
    """Per row, the code (0 to k - 1) of its cluster, e.g. its traveller; None when ``clusters`` is None.

    A missing label (NaN, None) is a cluster of its own: a row of unknown traveller is
    resampled alone, as before.

    Raises
    ------
    ValueError
        If ``clusters`` does not hold one label per row.
    """
    if clusters is None:
        return None
    codes = pd.factorize(pd.Series(clusters))[0].astype(np.int64)
    if len(codes) != n:
        raise ValueError(f"`clusters` must hold one label per row ({n}); got {len(codes)}.")
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def _poisson_weights(rng: np.random.Generator, n: int, codes: np.ndarray | None) -> np.ndarray:
    """One replicate's row weights: Poisson(1) per row, or per cluster and shared by its rows."""
    if codes is None:
        return rng.poisson(1.0, n).astype(float)
    return rng.poisson(1.0, int(codes.max(initial=-1)) + 1)[codes].astype(float)


def ranking_intervals(
    y: np.ndarray, p: np.ndarray, references: dict | None = None, *, n_boot: int = 200, seed: int = 0, level: float = 0.95,
    clusters=None,
) -> dict[str, float]:
    """ROC-AUC, PR-AUC and their ratios to reference scores, each with a bootstrap interval.

    Every replicate reweights the rows with Poisson(1) weights shared by all scores
    (a paired bootstrap), so a ratio's interval reflects that model and reference
    are judged on the same rows. With ``clusters`` a replicate draws one weight per
    cluster and gives it to all its rows: travellers are resampled, not stays, since
    a traveller's stays have correlated outcomes (their rows resampled one by one
    give intervals too narrow).

    Parameters
    ----------
    y, p : array-like
        Outcomes (0/1) and the model's scores.
    references : dict of str to array-like, optional
        Named reference scores on the same rows (e.g. ``{"observable": ..., "oracle": ...}``).
    n_boot : int, default=200
    seed : int, default=0
    level : float, default=0.95
    clusters : array-like, optional
        One label per row (e.g. ``traveller_id``): the unit resampled. Default: the row.

    Returns
    -------
    dict of str to float
        ``roc_auc, pr_auc``; per reference ``r``: ``{r}_roc_auc, {r}_pr_auc,
        auc_over_{r}, prauc_over_{r}, gini_over_{r}`` (Gini = 2 AUC - 1); every
        value also with ``_lo`` and ``_hi``, the bounds of its ``level`` interval.

    Raises
    ------
    ValueError
        If ``clusters`` does not hold one label per row.
    """
    y = np.asarray(y, float)
    codes = cluster_codes(clusters, len(y))
    refs = {k: _Ranked(v) for k, v in (references or {}).items()}
    model = _Ranked(p)

    def figures(w: np.ndarray) -> dict[str, float]:
        auc, ap = model.auc_ap(y, w)
        out = {"roc_auc": auc, "pr_auc": ap}
        for name, r in refs.items():
            ra, rp = r.auc_ap(y, w)
            out.update({f"{name}_roc_auc": ra, f"{name}_pr_auc": rp, f"auc_over_{name}": auc / ra,
                        f"prauc_over_{name}": ap / rp, f"gini_over_{name}": (2 * auc - 1) / (2 * ra - 1)})
        return out

    point = figures(np.ones(len(y)))
    rng = np.random.default_rng(seed)
    reps = [figures(_poisson_weights(rng, len(y), codes)) for _ in range(n_boot)]
    out = dict(point)
    for k in point:
        out[f"{k}_lo"], out[f"{k}_hi"] = _interval([r[k] for r in reps], level)
    return out


def paired_difference(
    y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, *, metric: str = "pr_auc", n_boot: int = 400, seed: int = 0, level: float = 0.95,
    clusters=None,
) -> tuple[float, float, float]:
    """``metric(p_a) - metric(p_b)`` on the same rows, with a paired bootstrap interval.

    Parameters
    ----------
    y : array-like
        Outcomes (0/1).
    p_a, p_b : array-like
        Two scores of the same rows (e.g. challenger and champion).
    metric : {"pr_auc", "roc_auc"}, default="pr_auc"
    n_boot, seed, level
        Replicates (Poisson(1) row weights shared by both scores), seed, interval level.
    clusters : array-like, optional
        One label per row (e.g. ``traveller_id``): each replicate draws one Poisson(1)
        weight per cluster, shared by its rows, so travellers are resampled, not stays
        (correlated stays of one traveller resampled apart give an interval too narrow).

    Returns
    -------
    tuple of float
        ``(difference, lower, upper)``.

    Raises
    ------
    ValueError
        If ``metric`` is not one of the two above, or ``clusters`` does not hold one label per row.
    """
    if metric not in ("pr_auc", "roc_auc"):
        raise ValueError(f"`metric` must be 'pr_auc' or 'roc_auc'; got {metric!r}.")
    k = 1 if metric == "pr_auc" else 0
    y = np.asarray(y, float)
    codes = cluster_codes(clusters, len(y))
    a, b = _Ranked(p_a), _Ranked(p_b)

    def diff(w):
        return a.auc_ap(y, w)[k] - b.auc_ap(y, w)[k]

    rng = np.random.default_rng(seed)
    reps = [diff(_poisson_weights(rng, len(y), codes)) for _ in range(n_boot)]
    lo, hi = _interval(reps, level)
    return float(diff(np.ones(len(y)))), lo, hi
