"""Synthetic, Indonesia-realistic border crossings with ground-truth overstay risk."""

from riskmodel.core.synth.generator import (
    ARCHETYPES,
    NATIONALITY_EFFECT,
    Dataset,
    EntryFacts,
    TravelHistory,
    make_crossings,
    true_logit,
)
from riskmodel.core.reference import NATIONALITIES, PORTS

__all__ = ["ARCHETYPES", "NATIONALITY_EFFECT", "NATIONALITIES", "PORTS", "Dataset", "EntryFacts", "TravelHistory", "make_crossings", "true_logit"]
