"""Daily arrival intensity by market and port for the synthetic generator.

The intensity of arrivals of one market at one port on one day is the product of

- a **trend** (about 5% a year before COVID, from BPS growth),
- an optional **COVID factor** (BPS monthly totals 2020-2023 over 2019, then a
  recovery to 2019 levels through 2024),
- the **market's calendar**: Australian school holidays, Chinese New Year and
  Golden Week, European summer, Japanese Golden Week and Obon, Ramadan and Eid
  al-Fitr (moving about 11 days a year, dates from the ``holidays`` package),
  Christmas and New Year, ...,
- the **port's weekly pattern** (Singaporean weekends on the Batam ferries), and
- **closures**: Ngurah Rai is shut for 24 hours on Nyepi, the Day of Silence.

School-holiday windows are approximations of the markets' published calendars
(the ``holidays`` package has public holidays, not school terms).
"""

from __future__ import annotations

from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

from riskmodel.core.reference import ANNUAL_GROWTH, COVID_FACTOR

__all__ = ["daily_index", "market_curve", "port_weekly", "closures", "global_curve", "event_dates"]

SEA_WEEKEND_PORTS = frozenset({"Batam", "Tanjung Uban", "Tanjung Pinang", "Tanjung Balai Karimun", "Pintu Laut Lainnya"})


def daily_index(start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D")


@lru_cache(maxsize=64)
def event_dates(year: int) -> dict[str, pd.Timestamp]:
    """Moving holidays of one year, from the ``holidays`` package."""
    found: dict[str, pd.Timestamp] = {}
    for day, name in holidays.country_holidays("ID", years=year, language="en_US").items():
        for key, label in (("eid", "Eid al-Fitr"), ("nyepi", "Day of Silence"), ("cny", "Lunar New Year")):
            if name == label or (key == "eid" and name.startswith("Eid al-Fitr") and "Second" not in name and key not in found):
                found.setdefault(key, pd.Timestamp(day))
    for day, name in holidays.country_holidays("KR", years=year, language="en_US").items():
        if name == "Chuseok":
            found["chuseok"] = pd.Timestamp(day)
    return found


def _window(days: pd.DatetimeIndex, start: pd.Timestamp, first: int, last: int) -> np.ndarray:
    offset = (days - start).days.to_numpy()
    return (offset >= first) & (offset <= last)


def _annual(days: pd.DatetimeIndex, start_md: tuple[int, int], end_md: tuple[int, int]) -> np.ndarray:
    """Days between two month-day pairs every year (wrapping over New Year)."""
    md = days.month.to_numpy() * 100 + days.day.to_numpy()
    a = start_md[0] * 100 + start_md[1]
    b = end_md[0] * 100 + end_md[1]
    return (md >= a) & (md <= b) if a <= b else (md >= a) | (md <= b)


def _moving(days: pd.DatetimeIndex, key: str, first: int, last: int) -> np.ndarray:
    mask = np.zeros(len(days), dtype=bool)
    for year in range(days[0].year - 1, days[-1].year + 2):
        when = event_dates(year).get(key)
        if when is not None:
            mask |= _window(days, when, first, last)
    return mask


def market_curve(profile: str, days: pd.DatetimeIndex) -> np.ndarray:
    """Relative daily propensity to travel to Indonesia for one market profile (mean about 1)."""
    f = np.ones(len(days))
    muslim = profile in ("muslim", "gulf")
    f[_annual(days, (12, 20), (12, 31))] *= 1.05 if muslim else 1.15
    if profile == "aus":
        for a, b in (((4, 8), (4, 22)), ((6, 29), (7, 14)), ((9, 21), (10, 6))):
            f[_annual(days, a, b)] *= 1.7
        f[_annual(days, (12, 18), (1, 28))] *= 1.15
        f[_annual(days, (2, 1), (3, 20))] *= 0.85
    elif profile == "chn":
        f[_moving(days, "cny", -3, 7)] *= 2.2
        f[_annual(days, (10, 1), (10, 7))] *= 1.8
        f[_annual(days, (7, 10), (8, 25))] *= 1.25
    elif profile == "kor":
        f[_moving(days, "cny", -2, 3)] *= 1.5
        f[_moving(days, "chuseok", -2, 3)] *= 1.5
        f[_annual(days, (7, 20), (8, 15))] *= 1.3
    elif profile == "jpn":
        f[_annual(days, (4, 28), (5, 6))] *= 1.6
        f[_annual(days, (8, 10), (8, 18))] *= 1.7
        f[_annual(days, (12, 27), (1, 4))] *= 1.3
        f[_annual(days, (3, 10), (3, 31))] *= 1.2
    elif profile == "eur":
        f[_annual(days, (7, 1), (8, 31))] *= 1.8
        f[_annual(days, (6, 1), (6, 30))] *= 1.2
        f[_annual(days, (9, 1), (9, 30))] *= 1.4
        f[_annual(days, (1, 6), (3, 15))] *= 0.8
        f[_annual(days, (11, 1), (11, 30))] *= 0.85
    elif profile == "muslim":
        f[_moving(days, "eid", -30, -1)] *= 0.6
        f[_moving(days, "eid", 2, 10)] *= 1.6
        f[_annual(days, (5, 25), (6, 10))] *= 1.2
        f[_annual(days, (11, 20), (12, 31))] *= 1.3
    elif profile == "gulf":
        f[_moving(days, "eid", -30, -1)] *= 0.4
        f[_moving(days, "eid", 1, 14)] *= 2.0
        f[_annual(days, (6, 15), (8, 31))] *= 2.0
    elif profile == "sgp":
        f[_annual(days, (5, 28), (6, 26))] *= 1.4
        f[_annual(days, (11, 20), (12, 31))] *= 1.4
        f[_moving(days, "eid", -30, -1)] *= 0.9
        f[_moving(days, "cny", -2, 3)] *= 1.3
    elif profile == "ind":
        f[_annual(days, (5, 15), (6, 30))] *= 1.4
        f[_annual(days, (10, 20), (11, 15))] *= 1.2
    elif profile == "usa":
        f[_annual(days, (6, 10), (8, 20))] *= 1.4
        f[_annual(days, (3, 10), (3, 31))] *= 1.1
    elif profile == "asean":
        f[_annual(days, (4, 1), (4, 20))] *= 1.3
    elif profile == "tls":
        f[_annual(days, (12, 15), (1, 10))] *= 1.4
        f[_annual(days, (6, 20), (7, 20))] *= 1.2
    return f / f.mean()


def port_weekly(port: str, port_type: str, days: pd.DatetimeIndex) -> np.ndarray:
    """Day-of-week pattern of a port (Monday first)."""
    if port in SEA_WEEKEND_PORTS:
        week = np.array([0.7, 0.7, 0.7, 0.8, 1.5, 1.8, 0.9])
    elif port_type == "land":
        week = np.array([0.9, 0.9, 0.9, 0.95, 1.1, 1.3, 0.95])
    else:
        week = np.array([0.95, 0.9, 0.9, 0.95, 1.1, 1.15, 1.05])
    return week[days.day_of_week.to_numpy()]


def closures(port: str, days: pd.DatetimeIndex) -> np.ndarray:
    """1 on open days, 0 when the port is closed (Ngurah Rai on Nyepi)."""
    open_ = np.ones(len(days))
    if port == "Ngurah Rai":
        open_[_moving(days, "nyepi", 0, 0)] = 0.0
    return open_


def nyepi_days(days: pd.DatetimeIndex) -> np.ndarray:
    return _moving(days, "nyepi", 0, 0)


def global_curve(days: pd.DatetimeIndex, *, covid: bool = True) -> np.ndarray:
    """Trend times the COVID collapse and recovery (when ``covid``)."""
    years = (days - pd.Timestamp("2019-07-01")).days.to_numpy() / 365.25
    f = (1.0 + ANNUAL_GROWTH) ** years
    if covid:
        factor = np.ones(len(days))
        y = days.year.to_numpy()
        m = days.month.to_numpy()
        for year, months in COVID_FACTOR.items():
            for month, value in enumerate(months, start=1):
                factor[(y == year) & (m == month)] = value
        # recovery from the December 2023 level to the trend through 2024
        in_2024 = y == 2024
        factor[in_2024] = 0.83 + 0.17 * (days[in_2024].day_of_year.to_numpy() / 366)
        # during the collapse growth does not compound
        f = np.where(factor < 1.0, f * factor, f)
    return f
