"""Synthetic, Indonesia-realistic border crossings with ground-truth overstay risk."""

from riskmodel.core.synth.generator import (
    ARCHETYPES,
    HIDDEN_RISK,
    NATIONALITY_EFFECT,
    NO_HIDDEN_RISK,
    Dataset,
    EntryFacts,
    TravelHistory,
    make_crossings,
    true_logit,
)
from riskmodel.core.reference import NATIONALITIES, PORTS

__all__ = ["ARCHETYPES", "HIDDEN_RISK", "NATIONALITY_EFFECT", "NO_HIDDEN_RISK", "NATIONALITIES", "PORTS", "Dataset", "EntryFacts", "TravelHistory", "make_crossings", "true_logit"]
