"""Reason codes: the top features behind a score, in plain words, with direction and weight.

They come from LightGBM's ``pred_contrib`` (exact TreeSHAP values of the
booster), so they **explain the uncalibrated margin** (log-odds) of the
booster, not the calibrated probability: the calibrator is monotone, so a
feature that raises the margin raises the probability too, but the weights are
in log-odds and do not add up to the probability.

Texts come from config (``model.reasons``), one template per feature:

* ``"{value:.0f} earlier overstay(s)"``: formatted with the row's value;
* ``"no return ticket|return ticket shown"``: for a 0/1 feature, the text for 0
  and the text for 1;
* a feature with no template reads ``"<feature> = <value>"``.

Missing or unseen values read ``<feature>: unknown`` (a numeric template cannot format them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["explain", "explain_encoded", "reason_text"]


def reason_text(feature: str, value, template: str | None) -> str:
    """Plain-language text of one feature value (see the module docstring for templates)."""
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    if template and "|" in template and "{" not in template:
        no, yes = template.split("|", 1)
        if missing:
            return f"{feature}: unknown"
        return yes if float(value) >= 0.5 else no
    if missing:
        # a numeric format spec cannot format "unknown": say it plainly instead
        return f"{feature}: unknown"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not template:
        return f"{feature} = {value}"
    try:
        return template.format(value=value)
    except (ValueError, TypeError):
        return f"{feature} = {value}"


def explain(model, X: pd.DataFrame, *, k: int = 3) -> pd.DataFrame:
    """Top-``k`` reasons per row, largest absolute contribution first.

    Parameters
    ----------
    model : RiskModel
        A fitted model (its ``reasons`` hold the templates).
    X : DataFrame
        Rows to explain, with the model's feature columns.
    k : int, default=3
        Reasons per row (at most the number of features).

    Returns
    -------
    DataFrame
        Same rows and index as ``X``; for ``i`` in ``1..k``: ``reason_{i}`` (text),
        ``reason_{i}_feature``, ``reason_{i}_direction`` (``"raises"`` or ``"lowers"``)
        and ``reason_{i}_weight`` (contribution to the log-odds margin).

    Raises
    ------
    NotFittedError
        If the model is not fitted.
    SchemaError
        If a feature column is missing.
    """
    return explain_encoded(model, model.encode(X), k=k, index=X.index)


def explain_encoded(model, enc: np.ndarray, *, k: int = 3, index=None, contributions: np.ndarray | None = None) -> pd.DataFrame:
    """:func:`explain` for rows already encoded by ``model.encode`` (the scoring hot path).

    ``contributions`` may pass ``pred_contrib`` output computed by the caller (e.g. on one thread).
    """
    contrib = (model.contributions(enc) if contributions is None else contributions)[:, :-1]
    k = max(1, min(int(k), contrib.shape[1]))
    top = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :k]
    feats = model.features
    levels = model.levels_
    out = {}
    rows = np.arange(len(enc))
    for i in range(k):
        j = top[:, i]
        w = contrib[rows, j]
        vals = enc[rows, j]
        texts = []
        for f_idx, v in zip(j, vals, strict=True):
            name = feats[f_idx]
            if name in levels:
                value = None if np.isnan(v) else levels[name][int(v)]
            else:
                value = float(v)
            texts.append(reason_text(name, value, (model.reasons or {}).get(name)))
        out[f"reason_{i + 1}"] = texts
        out[f"reason_{i + 1}_feature"] = [feats[x] for x in j]
        out[f"reason_{i + 1}_direction"] = np.where(w >= 0, "raises", "lowers")
        out[f"reason_{i + 1}_weight"] = w
    return pd.DataFrame(out, index=index)
