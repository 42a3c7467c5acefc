"""Reasons an officer can act on: the inputs that raise this traveller's risk, in plain sentences, with their weight.

Contributions come from LightGBM's ``pred_contrib`` (exact TreeSHAP values of
the booster): each feature's share of the distance between this row's margin
(log-odds) and the baseline, the booster's average margin. The calibrator is
monotone, so what raises the margin raises the probability too; weights are in
log-odds "points" and as a share of the raise.

Four rules make them usable at a desk:

* **One reason per input.** Engineered variants of one input (the planned stay
  and its ratios to the permitted and the longest stay) split the credit between
  them; a *reason group* adds their contributions back into one reason. Groups
  come from config (``model.reasons``).
* **Only what raises the risk.** A group is a reason only when its contribution
  is positive (at least :data:`MIN_WEIGHT` log-odds: a 1% change in the odds);
  groups that lower the risk ("return ticket shown") are never shown as a reason
  for a referral. Within a shown group's sentence, a clause (clauses are separated by
  ``"; "``) is said only where one of the features it names raises the risk on its own,
  so "0 earlier overstay(s)" is not stated for a raise that came from long earlier stays.
  A row with no raising group reads :data:`NO_RAISING_FACTOR`.
* **Plain words.** Each group has a sentence template over its features' values
  (``"{planned_stay_days:.0f}"``; ``{value}`` is the first feature's), ``words``
  that turn codes into words, a ``missing`` sentence for when the first feature
  is unknown, and ``"a|b"`` templates that pick by a 0/1 first feature.
* **True.** A level given but never seen in training is scored as missing (LightGBM's branch for
  a missing value), yet it is on record: a group holding one reads
  ``"<feature> not seen in training, scored as unknown"`` (:func:`unseen_text`), never the group's
  ``missing`` sentence. Shown, not left out: the model did raise the risk for it, and the officer
  should know that part of the raise comes from what the model does not know, not from the
  traveller. The level itself is not repeated: a free-text field may hold anything.

Config (``model.reasons``), one entry per group::

    planned_stay:
      features: [planned_stay_days, planned_over_permitted]
      text: "plans to stay {planned_stay_days:.0f} days"
      missing: "no planned length of stay declared"
    accommodation:
      features: [accommodation]
      text: "{accommodation}"
      words: {accommodation: {hotel: "staying at a hotel"}}

An entry that is a plain string (models saved before groups existed) is a
one-feature group with that template, read by :func:`reason_text`; a feature in
no group is a group of its own.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["explain", "explain_encoded", "reason_text", "unseen_text", "reason_groups", "ReasonGroup", "MIN_WEIGHT",
           "NO_RAISING_FACTOR"]

#: Smallest contribution (log-odds) that counts as raising the risk: a 1% change in the odds.
MIN_WEIGHT = 0.01
#: The first reason of a row where no input raises the risk above the baseline.
NO_RAISING_FACTOR = "nothing on record raises this traveller's risk above the average"


def unseen_text(feature: str) -> str:
    """The reason of a group whose ``feature`` held a level never seen in training (scored as missing)."""
    return f"{feature.replace('_', ' ')} not seen in training, scored as unknown"


def reason_text(feature: str, value, template: str | None) -> str:
    """Text of one feature value under a one-feature template (the form of models saved before reason groups).

    ``"{value:.0f} earlier overstay(s)"`` formats the value; ``"no return ticket|return ticket shown"``
    picks by a 0/1 value; a missing value or a feature with no template reads ``feature: unknown`` or
    ``feature = value``.
    """
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


@dataclass(frozen=True)
class ReasonGroup:
    """Features that stand for one input, and the sentence that reads them."""

    name: str
    features: tuple[str, ...]
    text: str = ""
    missing: str | None = None
    words: dict[str, dict[str, str]] = field(default_factory=dict)
    legacy: bool = False

    def render(self, values: dict, raising: set[str] | None = None) -> str:
        """The sentence for one row; ``values`` maps each feature to its value (level text, float or None).

        Given ``raising`` (the group's features whose own contribution raises this row's risk), a sentence of
        clauses separated by ``"; "`` keeps only the clauses that name one of them: a clause stating only facts that
        lower the risk ("0 earlier overstay(s)") is no reason for a referral. With no such clause, all are kept.
        """
        lead = self.features[0]
        if self.legacy:
            return reason_text(lead, values[lead], self.text)
        if _is_missing(values[lead]):
            return self.missing or f"{self.name.replace('_', ' ')} not on record"
        if "|" in self.text and "{" not in self.text:
            no, yes = self.text.split("|", 1)
            return yes if float(values[lead]) >= 0.5 else no
        shown = {f: self._word(f, v) for f, v in values.items()}
        text = self.text if raising is None else _raising_clauses(self.text, raising)
        try:
            return text.format(value=shown[lead], **shown)
        except (ValueError, TypeError, KeyError):
            # a value the template cannot format (another feature of the group unknown): the plain fallback
            return self.missing or f"{self.name.replace('_', ' ')} not on record"

    def _word(self, feature: str, value):
        if _is_missing(value):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        words = self.words.get(feature)
        return words.get(str(value), value) if words else value


def _raising_clauses(text: str, raising: set[str]) -> str:
    """The clauses of ``text`` (separated by ``"; "``) that name a feature in ``raising``; all of them if none does."""
    clauses = text.split("; ")
    kept = [c for c in clauses if {f for _, f, _, _ in string.Formatter().parse(c) if f} & raising]
    return "; ".join(kept) if kept else text


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def reason_groups(model) -> list[ReasonGroup]:
    """The model's reason groups, in config order, then one group per feature named in none.

    A group's features that the model does not have are skipped, and a group with none is dropped.

    Raises
    ------
    ValueError
        If a feature is in two groups.
    """
    groups: list[ReasonGroup] = []
    seen: dict[str, str] = {}
    for name, spec in (model.reasons or {}).items():
        if isinstance(spec, str):
            g = ReasonGroup(name=name, features=(name,), text=spec, legacy=True)
        else:
            # features the model leaves out are skipped: the config is a catalogue of texts
            present = tuple(f for f in spec.get("features", ()) if f in model.features)
            g = ReasonGroup(name=name, features=present, text=spec.get("text", ""), missing=spec.get("missing"), words=dict(spec.get("words", {})))
        if not g.features or g.features[0] not in model.features:
            continue  # nothing of this group (or no feature of that name) in the model: nothing to explain
        for f in g.features:
            if f in seen:
                raise ValueError(f"feature {f!r} is in reason groups {seen[f]!r} and {name!r}; put it in one.")
            seen[f] = name
        groups.append(g)
    groups += [ReasonGroup(name=f, features=(f,), legacy=True) for f in model.features if f not in seen]
    return groups


def explain(model, X: pd.DataFrame, *, k: int = 3) -> pd.DataFrame:
    """Top-``k`` reasons per row: the input groups that raise the risk most, in plain words.

    Parameters
    ----------
    model : RiskModel
        A fitted model (its ``reasons`` hold the groups and their texts).
    X : DataFrame
        Rows to explain, with the model's feature columns.
    k : int, default=3
        Reasons per row (at most the number of groups).

    Returns
    -------
    DataFrame
        Same rows and index as ``X``; for ``i`` in ``1..k``: ``reason_{i}`` (sentence
        ending with the share of the raise, e.g. ``"no return ticket (41% of the added
        risk)"``), ``reason_{i}_feature`` (the group's name), ``reason_{i}_direction``
        (``"raises"``), ``reason_{i}_weight`` (contribution to the log-odds margin) and
        ``reason_{i}_share`` (share of all raising contributions of the row). Slots
        beyond the row's raising groups are empty (``None``, weight and share NaN);
        a row with none reads :data:`NO_RAISING_FACTOR` in ``reason_1``.

    Raises
    ------
    NotFittedError
        If the model is not fitted.
    SchemaError
        If a feature column is missing.
    """
    enc = model.encode(X)
    # a level given but encoded as missing was not seen in training (model.encode's rule)
    unseen = {c: np.isnan(enc[:, j]) & X[c].notna().to_numpy() for j, c in enumerate(model.features) if c in model.levels_}
    return explain_encoded(model, enc, k=k, index=X.index, unseen=unseen)


def group_contributions(model, contrib: np.ndarray, groups: list[ReasonGroup]) -> np.ndarray:
    """Per-row contribution of each group: the sum of its features' contributions (bias column excluded)."""
    member = np.zeros((len(model.features), len(groups)))
    for j, g in enumerate(groups):
        for f in g.features:
            member[model.features.index(f), j] = 1.0
    return contrib @ member


def explain_encoded(model, enc: np.ndarray, *, k: int = 3, index=None, contributions: np.ndarray | None = None,
                    unseen: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """:func:`explain` for rows already encoded by ``model.encode`` (the scoring hot path).

    ``contributions`` may pass ``pred_contrib`` output computed by the caller (e.g. on one thread);
    ``unseen`` maps a feature to the rows whose given level was not seen in training (see :func:`reason_arrays`).
    """
    arrays = reason_arrays(model, enc, k=k, contributions=contributions, unseen=unseen)
    # object columns, so that an empty slot stays None rather than becoming a NaN string
    return pd.DataFrame({name: pd.Series(a, dtype=object if a.dtype == object else None, index=index) for name, a in arrays.items()},
                        index=index)


def reason_arrays(model, enc: np.ndarray, *, k: int = 3, contributions: np.ndarray | None = None,
                  unseen: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The columns of :func:`explain_encoded` as arrays: no pandas objects for a service's single record.

    ``unseen`` maps a categorical feature to a boolean mask over the rows of ``enc``: where its level
    was given but never seen in training (encoded as missing, as score's ``warning`` names it). Those
    rows' group reads :func:`unseen_text`, not its ``missing`` sentence. Without it a missing code reads
    as missing.
    """
    contrib = (model.contributions(enc) if contributions is None else contributions)[:, :-1]
    groups = reason_groups(model)
    said_unseen = _unseen_by_group(groups, unseen or {}, len(enc))
    gc = group_contributions(model, contrib, groups)
    k = max(1, min(int(k), gc.shape[1]))
    raising = np.where(gc >= MIN_WEIGHT, gc, 0.0)
    total = raising.sum(axis=1)
    top = np.argsort(-gc, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(enc))
    col = {f: i for i, f in enumerate(model.features)}
    names = np.array([g.name for g in groups], dtype=object)
    out = {}
    for i in range(k):
        j = top[:, i]
        w = gc[rows, j]
        shown = w >= MIN_WEIGHT
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(shown, w / total, np.nan)
        texts = np.full(len(enc), None, dtype=object)
        for r in np.flatnonzero(shown):
            g = groups[j[r]]
            u = said_unseen[j[r]]
            if u is not None and u[r] is not None:
                text = unseen_text(u[r])
            else:
                # each clause of the sentence only where one of its facts raises this row's risk on its own
                raising = {f for f in g.features if contrib[r, col[f]] >= MIN_WEIGHT}
                text = g.render({f: _value(model, f, enc[r, col[f]]) for f in g.features}, raising)
            texts[r] = f"{text} ({share[r]:.0%} of the added risk)"
        if i == 0:
            texts[~shown] = NO_RAISING_FACTOR
        out[f"reason_{i + 1}"] = texts
        out[f"reason_{i + 1}_feature"] = np.where(shown, names[j], None).astype(object)
        out[f"reason_{i + 1}_direction"] = np.where(shown, "raises", None).astype(object)
        out[f"reason_{i + 1}_weight"] = np.where(shown, w, np.nan)
        out[f"reason_{i + 1}_share"] = share
    return out


def _unseen_by_group(groups: list[ReasonGroup], unseen: Mapping[str, np.ndarray], n: int) -> list[np.ndarray | None]:
    """Per group, the first of its features holding an unseen level, per row (None where none); None for a group with none."""
    out: list[np.ndarray | None] = [None] * len(groups)
    for i, g in enumerate(groups):
        hit = [f for f in g.features if f in unseen and unseen[f].any()]
        if hit:
            first = np.full(n, None, dtype=object)
            for f in reversed(hit):  # the group's first unseen feature wins
                first[unseen[f]] = f
            out[i] = first
    return out


def _value(model, feature: str, v: float):
    """A feature's value as the template sees it: the level's text for a categorical, else the float (None if missing)."""
    if feature in model.levels_:
        return None if np.isnan(v) else model.levels_[feature][int(v)]
    return None if np.isnan(v) else float(v)
