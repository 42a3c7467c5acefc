"""Datasets that ship with riskmodel: the synthetic crossings generator and reference tables.

``make_crossings`` is how every user first meets the library and how every test
and benchmark gets data; ``PORTS`` and ``NATIONALITIES`` describe the ports
(with their type, for the air/sea/land hierarchy) and markets (with their BPS
region) that appear in it. ``make_crossings`` hides part of the risk by default, as real
records do; ``make_crossings(..., **NO_HIDDEN_RISK)`` gives the older data without it.
"""

from riskmodel.core.synth import (
    HIDDEN_RISK,
    NATIONALITIES,
    NO_HIDDEN_RISK,
    PORTS,
    Dataset,
    EntryFacts,
    TravelHistory,
    make_crossings,
    true_logit,
)

__all__ = ["Dataset", "EntryFacts", "TravelHistory", "make_crossings", "true_logit", "HIDDEN_RISK", "NO_HIDDEN_RISK", "PORTS", "NATIONALITIES"]
