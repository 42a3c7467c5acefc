"""What each trip is: visa regime, purpose, sponsor, ticket, accommodation, group and length of stay.

Each archetype of traveller (see :data:`riskmodel.core.synth.mix.ARCHETYPES`) has
its own habits; the draws come in a fixed order, so the same seed gives the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.core.reference import ASEAN
from riskmodel.core.schema import ACCOMMODATIONS
from riskmodel.core.synth.mix import ARCHETYPES

__all__ = ["BASE_PERMIT", "EXTENSION_ROOM", "EXTENSION_STEP", "EXEMPTION_SUSPENDED", "trip_attributes", "granted_days"]

#: Days granted at entry and extension room (days) per visa type.
BASE_PERMIT = {"visa_exempt": 30, "voa": 30, "c1_visit": 60, "d1_multiple": 60, "itas": 365, "itap": 1825}
EXTENSION_ROOM = {"visa_exempt": 0, "voa": 30, "c1_visit": 120, "d1_multiple": 0, "itas": 365, "itap": 0}
EXTENSION_STEP = {"voa": 30, "c1_visit": 60, "itas": 365}
#: Visa exemption for most nationalities was suspended from this day (COVID) and replaced by e-VoA.
EXEMPTION_SUSPENDED = pd.Timestamp("2020-03-20")


def _choice(rng: np.random.Generator, options: tuple[str, ...], probs, n: int) -> np.ndarray:
    probs = np.asarray(probs, float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=probs / probs.sum())]


def _archetype_draws(rng: np.random.Generator, a: str, short_visa: np.ndarray, exempt_ok: np.ndarray, port_type: np.ndarray) -> dict:
    """Draws for the trips of one archetype: ``visa, purpose, sponsor, accom, ticket, group, desired`` (and ``base``).

    ``short_visa``, ``exempt_ok`` and ``port_type`` are those trips' values; the
    random draws come in a fixed order, so the same seed gives the same data.
    """
    k = len(short_visa)
    d: dict = {}
    if a == "commuter":
        d["visa"] = short_visa
        d["purpose"] = _choice(rng, ("tourism", "family", "business"), (0.6, 0.2, 0.2), k)
        d["sponsor"] = _choice(rng, ("none", "family"), (0.85, 0.15), k)
        d["accom"] = _choice(rng, ("hotel", "friends_family", "none_declared"), (0.5, 0.4, 0.1), k)
        d["ticket"] = np.where(port_type == "land", rng.random(k) < 0.5, rng.random(k) < 0.92)
        d["group"] = 1 + rng.poisson(0.6, k)
        d["desired"] = 1 + rng.geometric(0.6, k) - 1
    elif a == "tourist":
        d["visa"] = short_visa
        d["purpose"] = _choice(rng, ("tourism", "transit", "other"), (0.93, 0.04, 0.03), k)
        d["sponsor"] = "none"
        d["accom"] = _choice(rng, ACCOMMODATIONS[:4] + ("none_declared",), (0.74, 0.15, 0.07, 0.0, 0.04), k)
        d["ticket"] = rng.random(k) < 0.94
        d["group"] = 1 + rng.poisson(1.2, k)
        d["desired"] = np.clip(np.round(np.exp(rng.normal(np.log(7), 0.5, k))), 1, 60)
    elif a == "long_stay":
        d["visa"] = np.where(rng.random(k) < 0.6, "c1_visit", np.where(exempt_ok & (rng.random(k) < 0.3), "visa_exempt", "voa"))
        d["purpose"] = _choice(rng, ("tourism", "other", "family"), (0.6, 0.25, 0.15), k)
        c1 = d["visa"] == "c1_visit"
        d["sponsor"] = np.where(c1, _choice(rng, ("company", "family"), (0.7, 0.3), k), _choice(rng, ("none", "family"), (0.8, 0.2), k))
        d["accom"] = _choice(rng, ("rental", "hotel", "friends_family", "none_declared"), (0.7, 0.12, 0.1, 0.08), k)
        d["ticket"] = rng.random(k) < 0.45
        d["group"] = 1 + rng.poisson(0.4, k)
        d["desired"] = np.clip(np.round(np.exp(rng.normal(np.log(80), 0.6, k))), 20, 400)
    elif a == "business":
        d["visa"] = np.where(rng.random(k) < 0.35, "d1_multiple", short_visa)
        d["purpose"] = "business"
        d["sponsor"] = _choice(rng, ("company", "none", "government"), (0.8, 0.17, 0.03), k)
        d["accom"] = _choice(rng, ("hotel", "employer", "rental"), (0.88, 0.08, 0.04), k)
        d["ticket"] = rng.random(k) < 0.97
        d["group"] = 1 + rng.poisson(0.3, k)
        d["desired"] = np.clip(np.round(np.exp(rng.normal(np.log(4), 0.5, k))), 1, 30)
    elif a in ("worker", "student"):
        itap = (rng.random(k) < 0.05) if a == "worker" else np.zeros(k, bool)
        d["visa"] = np.where(itap, "itap", "itas")
        d["purpose"] = "work" if a == "worker" else "study"
        d["sponsor"] = np.where(rng.random(k) < 0.95, "company" if a == "worker" else "school", "none")
        d["accom"] = _choice(rng, ("employer", "rental", "friends_family"), (0.6, 0.35, 0.05) if a == "worker" else (0.1, 0.7, 0.2), k)
        d["ticket"] = rng.random(k) < 0.3
        d["group"] = 1 + rng.poisson(0.2, k)
        permit = np.where(itap, 1825, _choice(rng, ("180", "365", "730"), (0.3, 0.5, 0.2), k).astype(int))
        d["base"] = permit
        d["desired"] = np.round(permit * rng.uniform(0.4, 1.15, k))
    elif a == "family":
        d["visa"] = np.where(rng.random(k) < 0.4, "c1_visit", short_visa)
        d["purpose"] = "family"
        d["sponsor"] = _choice(rng, ("family", "none"), (0.7, 0.3), k)
        d["accom"] = _choice(rng, ("friends_family", "hotel", "rental"), (0.8, 0.12, 0.08), k)
        d["ticket"] = rng.random(k) < 0.75
        d["group"] = 1 + rng.poisson(1.0, k)
        d["desired"] = np.clip(np.round(np.exp(rng.normal(np.log(20), 0.6, k))), 3, 150)
    return d


def trip_attributes(rng: np.random.Generator, arch: np.ndarray, nat: np.ndarray, entry: pd.DatetimeIndex, port_type: np.ndarray) -> dict:
    """Visa, purpose, sponsor, ticket, accommodation, group, desired and planned stay of each trip."""
    n = len(arch)
    visa = np.empty(n, dtype=object)
    purpose = np.empty(n, dtype=object)
    sponsor = np.empty(n, dtype=object)
    accom = np.empty(n, dtype=object)
    ticket = np.ones(n, dtype=bool)
    group = np.ones(n, dtype=np.int32)
    desired = np.ones(n)
    base = np.zeros(n)
    asean = np.isin(nat, tuple(ASEAN))
    exempt_ok = asean | (np.asarray(entry < EXEMPTION_SUSPENDED) & (rng.random(n) < 0.85))
    short_visa = np.where(exempt_ok, "visa_exempt", "voa").astype(object)
    cols = {"visa": visa, "purpose": purpose, "sponsor": sponsor, "accom": accom, "ticket": ticket, "group": group,
            "desired": desired, "base": base}
    for a in ARCHETYPES:
        m = arch == a
        if not m.any():
            continue
        for key, values in _archetype_draws(rng, a, short_visa[m], exempt_ok[m], port_type[m]).items():
            cols[key][m] = values
    base = np.where(base > 0, base, np.vectorize(BASE_PERMIT.get, otypes=[float])(visa))
    # the declared stay is the wish, blurred; some long stayers without a ticket understate it
    planned = np.round(desired * np.exp(rng.normal(0.0, 0.2, n)))
    understate = (arch == "long_stay") & ~ticket & (rng.random(n) < 0.3)
    planned = np.where(understate, np.minimum(planned, 30), planned)
    return {
        "visa_type": visa,
        "purpose": purpose,
        "sponsor": sponsor,
        "accommodation": accom,
        "has_return_ticket": ticket,
        "group_size": group,
        "desired": np.maximum(desired, 1),
        # the contract caps a declared stay at ten years (3660 days); a blurred five-year ITAP wish can exceed it
        "planned_stay_days": np.clip(planned, 0, 3660).astype(np.int32),
        "base_days": base,
    }


def granted_days(attrs: dict, u_ext: np.ndarray) -> np.ndarray:
    """Days finally permitted: the base permit plus the extensions wanted and granted (85% of requests)."""
    visa = attrs["visa_type"]
    base_days = attrs["base_days"]
    room = np.where(visa == "itas", base_days, np.vectorize(EXTENSION_ROOM.get, otypes=[float])(visa))
    step = np.where(visa == "itas", base_days, np.vectorize(lambda v: EXTENSION_STEP.get(v, 1), otypes=[float])(visa))
    want_ext = np.minimum(np.maximum(attrs["desired"] - base_days, 0), room)
    ext_days = np.ceil(want_ext / step) * step
    ext_days = np.where(u_ext < 0.85, ext_days, 0.0)
    return base_days + ext_days
