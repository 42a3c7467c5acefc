"""Model cards in the registry: each registered version's description is its model card.

A reviewer opening a registered version in the MLflow UI reads what it is for, its
holdout metrics with their intervals, where its data came from, its fairness summary,
its limits and the gate's decision with every reason, without downloading anything.

* :func:`describe_version`: when a model is registered, its card becomes the version's
  description (with the gate section marked as not decided yet) and a short description
  goes on the registered model.
* :func:`record_decision`: once the gate has decided (:func:`registry.promote` records
  the decision as ``gate.*`` version tags), the card's gate section is rewritten from
  those tags, in the version's description and in the run's ``model_card.md``. (The copy
  of the card inside the signed model folder is the card as trained: a signed file
  cannot change.)

The registry keeps at most 5,000 characters of a description (a ``VARCHAR(5000)`` on
PostgreSQL, which refuses longer ones): :func:`fit_description` keeps a card within
that, gate section first, and says where the full card is.
"""

from __future__ import annotations

import mlflow

from riskmodel.integrations.tracking import registry

__all__ = ["GATE_HEADING", "DESCRIPTION_LIMIT", "gate_section", "with_gate", "fit_description", "describe_version", "record_decision"]

GATE_HEADING = "## Gate decision"
#: The store's limit is 5,000 characters; a margin for the cut note.
DESCRIPTION_LIMIT = 4900
#: The gate's reasons shown in a description, at most (all of them are in the ``gate.reasons`` tag).
_REASONS_LIMIT = 2000
CARD_ARTIFACT = "model_card.md"
_PENDING = (
    "Not decided yet: the promotion gate runs at `riskmodel promote` (or `promote_risk` / "
    "`promote_forecaster`) and rewrites this section with its decision and every reason."
)
_CUT = "\n\n(cut at the registry's description limit; the full card is the run artifact `model_card.md`)\n"


def gate_section(tags: dict[str, str] | None = None) -> str:
    """The card's gate section from a version's ``gate.*`` tags (the pending text before any decision)."""
    tags = tags or {}
    decision = tags.get("gate.decision")
    if not decision:
        return f"{GATE_HEADING}\n\n{_PENDING}\n"
    compared = tags.get("gate.compared_with", "none")
    against = "no champion yet (absolute bounds only)" if compared in ("", "none") else f"champion version {compared}"
    outcome = "moved `champion` to this version" if decision == "promoted" else "`champion` unchanged"
    lines = [GATE_HEADING, "", f"**{decision}** on {tags.get('gate.time', 'unknown time')} against {against}: {outcome}.", ""]
    reasons = [r for r in tags.get("gate.reasons", "").splitlines() if r.strip()]
    # failures first: they are why a version was refused
    reasons = [r for r in reasons if not r.startswith("ok")] + [r for r in reasons if r.startswith("ok")]
    shown, size = [], 0
    for r in reasons:
        size += len(r) + 3
        if size > _REASONS_LIMIT:
            shown.append(f"- ... and {len(reasons) - len(shown)} more (version tag `gate.reasons`)")
            break
        shown.append(f"- {r}")
    return "\n".join(lines + shown) + "\n"


def with_gate(card: str, section: str) -> str:
    """``card`` with its gate section replaced by ``section`` (appended when the card has none)."""
    start = card.find(GATE_HEADING)
    if start < 0:
        return card.rstrip("\n") + ("\n\n" if card.strip() else "") + section
    end = card.find("\n## ", start + len(GATE_HEADING))
    rest = card[end + 1:] if end >= 0 else ""
    return card[:start] + section + ("\n" + rest if rest else "")


def fit_description(card: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """``card`` within ``limit`` characters: cut at a line boundary with a note saying where the full card is."""
    if len(card) <= limit:
        return card
    head = card[: limit - len(_CUT)]
    head = head[: head.rfind("\n")] if "\n" in head else head
    return head + _CUT


def describe_version(name: str, version: str | int, card: str, summary: str) -> None:
    """Set ``card`` as the description of version ``version`` of ``name``, and ``summary`` on the registered model."""
    client = registry.configure()
    client.update_model_version(name, str(version), description=fit_description(card))
    client.update_registered_model(name, description=fit_description(summary))


def record_decision(name: str, version: str | int) -> str:
    """Rewrite the gate section of a version's card from its ``gate.*`` tags; return the new description.

    Updates the version's description and, when the run logged one, the run's
    ``model_card.md``.
    """
    client = registry.configure()
    mv = client.get_model_version(name, str(version))
    section = gate_section(mv.tags)
    description = fit_description(with_gate(mv.description or "", section))
    client.update_model_version(name, str(version), description=description)
    if mv.run_id and any(a.path == CARD_ARTIFACT for a in client.list_artifacts(mv.run_id)):
        card = mlflow.artifacts.load_text(f"runs:/{mv.run_id}/{CARD_ARTIFACT}")
        client.log_text(mv.run_id, with_gate(card, section), CARD_ARTIFACT)
    return description
