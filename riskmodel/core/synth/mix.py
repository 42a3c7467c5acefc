"""Who travels where: the nationality-by-port mix of entries and the kinds of traveller in each cell.

The mix is fitted by iterative proportional fitting to the BPS 2017-2019 shares
of both margins (nationalities and ports), starting from affinities such as
Timor-Leste over land, Singapore on the Batam ferries and Australians in Bali.
"""

from __future__ import annotations

import numpy as np

from riskmodel.core.reference import MARKET_PROFILE, NATIONALITIES, PORTS

__all__ = ["ARCHETYPES", "archetype_mix", "joint_mix"]

#: Kinds of traveller, each with its own trip rate, stay length and habits.
ARCHETYPES = ("commuter", "tourist", "long_stay", "business", "worker", "family", "student")


def _affinity() -> np.ndarray:
    nats = NATIONALITIES["nationality"].tolist()
    ports = PORTS["port"].tolist()
    ptype = dict(zip(PORTS["port"], PORTS["port_type"], strict=True))
    a = np.ones((len(nats), len(ports)))
    for j, p in enumerate(ports):
        if ptype[p] != "air":
            a[:, j] = 0.002
    boost = {
        "SGP": {"Batam": 40, "Tanjung Uban": 40, "Tanjung Pinang": 25, "Tanjung Balai Karimun": 15, "Pintu Laut Lainnya": 20},
        "MYS": {"Batam": 10, "Tanjung Balai Karimun": 15, "Pintu Laut Lainnya": 20, "Tanjung Pinang": 8, "Pintu Darat Lainnya": 20,
                "Entikong": 200, "Aruk": 200, "Nanga Badau": 200, "Kualanamu": 6, "Minangkabau": 8, "Sultan Iskandar Muda": 8,
                "Sultan Syarif Kasim II": 8, "Supadio": 8, "Juanda": 2},
        "TLS": {"Atambua": 500, "Pintu Darat Lainnya": 100},
        "PNG": {"Jayapura": 1000, "Pintu Darat Lainnya": 5},
        "CHN": {"Batam": 0.5, "Tanjung Uban": 0.5, "Sam Ratulangi": 4, "Ngurah Rai": 2},
        "AUS": {"Ngurah Rai": 6, "Bandara Int Lombok": 3, "Tanjung Benoa": 3},
        "NZL": {"Ngurah Rai": 5, "Bandara Int Lombok": 2},
        "SAU": {"Soekarno-Hatta": 4}, "OMN": {"Soekarno-Hatta": 4},
        "JPN": {"Soekarno-Hatta": 2}, "KOR": {"Soekarno-Hatta": 2}, "TWN": {"Soekarno-Hatta": 1.5, "Juanda": 2},
        "IND": {"Batam": 0.3, "Soekarno-Hatta": 1.5, "Ngurah Rai": 1.5},
        "USA": {"Ngurah Rai": 2, "Soekarno-Hatta": 1.5},
    }
    for prof_nat, prof in MARKET_PROFILE.items():
        if prof == "eur":
            boost.setdefault(prof_nat, {}).update({"Ngurah Rai": 3, "Bandara Int Lombok": 2, "Adi Sucipto": 1.5, "Tanjung Benoa": 1})
    for i, n in enumerate(nats):
        for p, b in boost.get(n, {}).items():
            a[i, ports.index(p)] = b
    return a


def joint_mix(iterations: int = 200) -> np.ndarray:
    """Nationality-by-port shares of entries matching both BPS margins (IPF)."""
    rows = NATIONALITIES["bps_share_pct"].to_numpy(float)
    cols = PORTS["bps_share_pct"].to_numpy(float)
    rows, cols = rows / rows.sum(), cols / cols.sum()
    m = _affinity()
    m /= m.sum()
    for _ in range(iterations):
        m *= (rows / m.sum(axis=1))[:, None]
        m *= cols / m.sum(axis=0)
    return m / m.sum()


def archetype_mix(nationality: str, port_type: str) -> np.ndarray:
    """Probabilities of the archetypes (in :data:`ARCHETYPES` order) for travellers of one cell."""
    if port_type == "land":
        p = {"commuter": 0.45, "tourist": 0.15, "business": 0.05, "worker": 0.05, "family": 0.30}
    elif port_type == "sea":
        p = {"commuter": 0.35, "tourist": 0.45, "long_stay": 0.02, "business": 0.10, "worker": 0.03, "family": 0.05}
    else:
        p = {"tourist": 0.70, "long_stay": 0.05, "business": 0.10, "worker": 0.05, "family": 0.05, "student": 0.03}
        if MARKET_PROFILE.get(nationality) in ("eur", "aus") or nationality in ("RUS", "USA"):
            p["long_stay"] = 0.10
        if nationality in ("CHN", "IND", "KOR", "JPN", "TWN", "PHL"):
            p["worker"] = 0.09
    v = np.array([p.get(a, 0.0) for a in ARCHETYPES])
    return v / v.sum()
