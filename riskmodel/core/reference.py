"""Reference figures the synthetic generator is built on, derived from BPS.

Shares are percentages of foreign-visitor arrivals in 2017-2019 published by
Statistics Indonesia (Badan Pusat Statistik, BPS), "Kunjungan Wisatawan
Mancanegara per bulan menurut pintu masuk / kebangsaan", computed from the
monthly tables in ``../shared/data``. The COVID factors are BPS monthly totals
for 2020-2023 divided by the same month of 2019. Only these derived numbers are
kept here, not the tables.

Nationalities are the 43 largest markets of 2017-2019 (about 96% of arrivals),
renormalised; regions are BPS's own grouping (which puts Russia and Turkey under
"Asia"). Ports are the 29 entry points BPS reports, with BPS's type (air, sea,
land); the three "Lainnya" rows are BPS's "other" ports of each type.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["PORTS", "NATIONALITIES", "COVID_FACTOR", "ANNUAL_GROWTH", "ASEAN"]

# port, type, province, share of 2017-2019 arrivals (%)
_PORTS = [
    ("Ngurah Rai", "air", "Bali", 39.071),
    ("Soekarno-Hatta", "air", "DKI Jakarta", 17.379),
    ("Pintu Darat Lainnya", "land", "other provinces", 12.026),
    ("Batam", "sea", "Kepulauan Riau", 11.755),
    ("Pintu Laut Lainnya", "sea", "other provinces", 5.139),
    ("Tanjung Uban", "sea", "Kepulauan Riau", 3.328),
    ("Juanda", "air", "Jawa Timur", 1.767),
    ("Kualanamu", "air", "Sumatera Utara", 1.538),
    ("Husein Sastranegara", "air", "Jawa Barat", 1.045),
    ("Tanjung Pinang", "sea", "Kepulauan Riau", 0.931),
    ("Adi Sucipto", "air", "DI Yogyakarta", 0.865),
    ("Sam Ratulangi", "air", "Sulawesi Utara", 0.723),
    ("Jayapura", "land", "Papua", 0.621),
    ("Tanjung Balai Karimun", "sea", "Kepulauan Riau", 0.617),
    ("Bandara Int Lombok", "air", "Nusa Tenggara Barat", 0.568),
    ("Atambua", "land", "Nusa Tenggara Timur", 0.543),
    ("Minangkabau", "air", "Sumatera Barat", 0.375),
    ("Sultan Syarif Kasim II", "air", "Riau", 0.227),
    ("Tanjung Benoa", "sea", "Bali", 0.201),
    ("Sultan Iskandar Muda", "air", "Aceh", 0.198),
    ("Ahmad Yani", "air", "Jawa Tengah", 0.155),
    ("Entikong", "land", "Kalimantan Barat", 0.147),
    ("Supadio", "air", "Kalimantan Barat", 0.139),
    ("Tanjung Mas", "sea", "Jawa Tengah", 0.137),
    ("Pintu Udara Lainnya", "air", "other provinces", 0.137),
    ("Hasanuddin", "air", "Sulawesi Selatan", 0.109),
    ("Sultan Badaruddin II", "air", "Sumatera Selatan", 0.095),
    ("Aruk", "land", "Kalimantan Barat", 0.085),
    ("Nanga Badau", "land", "Kalimantan Barat", 0.078),
]

# ISO3, English name, BPS name, BPS region, share (%), seasonal market profile
_NATIONALITIES = [
    ("MYS", "Malaysia", "Malaysia", "ASEAN", 17.152, "muslim"),
    ("CHN", "China", "China", "Asia", 14.217, "chn"),
    ("SGP", "Singapore", "Singapore", "ASEAN", 11.855, "sgp"),
    ("AUS", "Australia", "Australia", "Oceania", 8.896, "aus"),
    ("TLS", "Timor-Leste", "Timor Leste", "Asia", 8.796, "tls"),
    ("IND", "India", "India", "Asia", 4.036, "ind"),
    ("JPN", "Japan", "Japan", "Asia", 3.661, "jpn"),
    ("USA", "United States", "United States of America", "America", 2.684, "usa"),
    ("KOR", "South Korea", "South Korea", "Asia", 2.639, "kor"),
    ("GBR", "United Kingdom", "United Kingdom", "West Europe", 2.634, "eur"),
    ("FRA", "France", "France", "West Europe", 1.907, "eur"),
    ("DEU", "Germany", "Germany", "West Europe", 1.848, "eur"),
    ("PHL", "Philippines", "Philippines", "ASEAN", 1.777, "asean"),
    ("TWN", "Taiwan", "Taiwan", "Asia", 1.534, "chn"),
    ("NLD", "Netherlands", "Netherlands", "West Europe", 1.433, "eur"),
    ("SAU", "Saudi Arabia", "Saudi Arabia", "Middle East", 1.140, "gulf"),
    ("RUS", "Russia", "Rusia", "Asia", 0.907, "eur"),
    ("THA", "Thailand", "Thailand", "ASEAN", 0.900, "asean"),
    ("NZL", "New Zealand", "New Zealand", "Oceania", 0.867, "aus"),
    ("PNG", "Papua New Guinea", "Papua New Guinea", "Oceania", 0.817, "tls"),
    ("CAN", "Canada", "Canada", "America", 0.671, "usa"),
    ("ITA", "Italy", "Italy", "West Europe", 0.621, "eur"),
    ("ESP", "Spain", "Spain", "West Europe", 0.565, "eur"),
    ("VNM", "Vietnam", "Vietnam", "ASEAN", 0.562, "asean"),
    ("HKG", "Hong Kong", "Hong Kong", "Asia", 0.541, "chn"),
    ("CHE", "Switzerland", "Switzerland", "West Europe", 0.404, "eur"),
    ("BGD", "Bangladesh", "Bangladesh", "Asia", 0.390, "muslim"),
    ("SWE", "Sweden", "Sweden", "West Europe", 0.357, "eur"),
    ("BEL", "Belgium", "Belgium", "West Europe", 0.328, "eur"),
    ("DNK", "Denmark", "Denmark", "West Europe", 0.306, "eur"),
    ("ZAF", "South Africa", "South Africa", "Africa", 0.288, "usa"),
    ("MMR", "Myanmar", "Myanmar", "ASEAN", 0.278, "asean"),
    ("POL", "Poland", "Polandia", "East Europe", 0.239, "eur"),
    ("PRT", "Portugal", "Portugal", "West Europe", 0.238, "eur"),
    ("LKA", "Sri Lanka", "Srilanka", "Asia", 0.219, "ind"),
    ("UKR", "Ukraine", "Ukraine", "East Europe", 0.215, "eur"),
    ("BRA", "Brazil", "Brazilia", "South America", 0.201, "usa"),
    ("AUT", "Austria", "Austria", "West Europe", 0.192, "eur"),
    ("TUR", "Turkey", "Turki", "Asia", 0.179, "muslim"),
    ("FIN", "Finland", "Finland", "West Europe", 0.167, "eur"),
    ("NOR", "Norway", "Norway", "West Europe", 0.162, "eur"),
    ("OMN", "Oman", "Oman", "Middle East", 0.154, "gulf"),
    ("CZE", "Czechia", "Ceko", "East Europe", 0.151, "eur"),
]

#: Members of ASEAN: visa-exempt for 30 days throughout.
ASEAN = frozenset({"MYS", "SGP", "PHL", "THA", "VNM", "MMR", "BRN", "KHM", "LAO"})

PORTS = pd.DataFrame(_PORTS, columns=["port", "port_type", "province", "bps_share_pct"])
"""The 29 BPS entry points: ``port, port_type (air/sea/land), province, bps_share_pct``."""

NATIONALITIES = pd.DataFrame(
    [row[:5] for row in _NATIONALITIES], columns=["nationality", "name", "bps_name", "region", "bps_share_pct"]
)
"""Markets: ``nationality (ISO3), name, bps_name, region (BPS), bps_share_pct``."""

MARKET_PROFILE = {row[0]: row[5] for row in _NATIONALITIES}

#: BPS total arrivals in each month of 2020-2023 over the same month of 2019.
COVID_FACTOR = {
    2020: (1.0, 0.702, 0.371, 0.124, 0.130, 0.109, 0.106, 0.106, 0.107, 0.113, 0.113, 0.119),
    2021: (0.105, 0.085, 0.091, 0.088, 0.112, 0.088, 0.087, 0.077, 0.086, 0.109, 0.118, 0.119),
    2022: (0.113, 0.094, 0.121, 0.181, 0.284, 0.337, 0.439, 0.438, 0.504, 0.545, 0.550, 0.692),
    2023: (0.664, 0.602, 0.663, 0.679, 0.763, 0.741, 0.764, 0.740, 0.771, 0.727, 0.727, 0.831),
}

#: Yearly growth of arrivals before COVID (BPS 2010-2019 averaged about 9%; 2019 was 2%).
ANNUAL_GROWTH = 0.05
