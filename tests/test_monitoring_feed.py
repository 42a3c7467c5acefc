"""The night's feed itself: how many rows came, until when, twice or of another day (riskmodel.core.monitoring.feed).

Every distribution check reads green on a feed cut short: a third of a night's rows, or every row after 14:00 missing,
has the mix of a whole night (review17monitor 13, review18ops 01). These checks compare what came with what the feed
delivered on the nights before, never on the night judged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.monitoring.drift import night_verdict, nightly_checks
from riskmodel.core.monitoring.feed import feed_checks

NIGHT = pd.Timestamp("2023-06-14")  # a Wednesday
#: Arrivals a night by weekday (Monday first): 100 a Monday, 95 a Wednesday.
WEEKDAY = np.array([100, 95, 95, 100, 120, 135, 110])


def _night(day, n, *, start_hour=0.0, end_hour=24.0, rng=None, first_id=0):
    """``n`` arrivals on ``day``, evenly spread from ``start_hour`` to ``end_hour``, 60% at Ngurah Rai, 40% at Batam."""
    hours = start_hour + (np.arange(n) + 0.5) / max(n, 1) * (end_hour - start_hour)
    entry = pd.Timestamp(day) + pd.to_timedelta(hours, unit="h")
    port = np.where(np.arange(n) % 5 < 3, "Ngurah Rai", "Batam")
    return pd.DataFrame({
        "stay_id": [f"S{first_id + i:07d}" for i in range(n)],
        "entry_time": entry, "exit_time": entry + pd.Timedelta(days=20), "entry_port": port,
        "visa_type": np.where(np.arange(n) % 2 == 0, "voa", "visa_exempt"),
    })


def _log(*, seed=0, nights=200, spread=0.1, holidays=4):
    """The ``nights`` nights before :data:`NIGHT`: Poisson counts around :data:`WEEKDAY` times a night-to-night factor
    (log-normal, sd ``spread``), and ``holidays`` quiet nights at 65% of the usual."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(end=NIGHT - pd.Timedelta(days=1), periods=nights)
    quiet = set(days[np.linspace(30, nights - 20, holidays).astype(int)]) if holidays else set()
    frames, first = [], 0
    for day in days:
        mean = WEEKDAY[day.weekday()] * np.exp(rng.normal(0, spread)) * (0.65 if day in quiet else 1.0)
        frames.append(_night(day, int(rng.poisson(mean)), first_id=first))
        first += len(frames[-1])
    return pd.concat(frames, ignore_index=True)


def _row(checks, column):
    rows = checks[checks["column"] == column]
    assert len(rows) == 1, checks
    return rows.iloc[0]


def test_a_feed_cut_to_a_third_is_red_and_a_quiet_holiday_night_is_green():
    """A Wednesday usually brings 95 arrivals; a third of them (32) is red, with the count, the usual range and the fix;
    65% of them (62, a public holiday) is green: earlier nights held such quiet nights."""
    stays = _log()
    partial = feed_checks(stays, NIGHT, _night(NIGHT, 32, first_id=10**6))
    row = _row(partial, "rows")
    assert row["verdict"] == "red" and row["count"] == 32, row.to_dict()
    assert "32" in row["detail"] and row["usual"] in row["detail"] and "check" in row["detail"].lower(), row["detail"]
    lo, hi = (int(x) for x in row["usual"].split("-"))
    assert lo < 62 and 95 < hi < 200, row["usual"]
    quiet = feed_checks(stays, NIGHT, _night(NIGHT, 62, first_id=10**6))
    assert _row(quiet, "rows")["verdict"] == "green", quiet
    # the usual range comes from the earlier nights only, never from the night judged
    assert _row(quiet, "rows")["usual"] == row["usual"]
    assert night_verdict(nightly_checks(stays.assign(nationality="AUS"), NIGHT, tonight=_night(NIGHT, 32, first_id=10**6).assign(nationality="AUS"))) == "red"


def test_the_usual_range_is_learnt_from_the_earlier_nights_spread():
    """The same quiet night (62 of a usual 95) on a feed whose earlier nights never dipped (no holiday, no spread beyond
    Poisson's) is outside its usual range: not green."""
    steady = _log(spread=0.0, holidays=0)
    row = _row(feed_checks(steady, NIGHT, _night(NIGHT, 62, first_id=10**6)), "rows")
    assert row["verdict"] != "green", row.to_dict()
    assert _row(feed_checks(steady, NIGHT, _night(NIGHT, 95, first_id=10**6)), "rows")["verdict"] == "green"


def test_one_port_delivering_a_third_of_its_rows_is_red_and_named():
    stays = _log()
    whole = _night(NIGHT, 95, first_id=10**6)
    ngr = whole[whole["entry_port"] == "Ngurah Rai"]
    feed = pd.concat([whole[whole["entry_port"] != "Ngurah Rai"], ngr.iloc[: len(ngr) // 3]])
    checks = feed_checks(stays, NIGHT, feed)
    assert _row(checks, "rows at Ngurah Rai")["verdict"] == "red", checks
    assert _row(checks, "rows at Batam")["verdict"] == "green", checks
    assert night_verdict(feed_checks(stays, NIGHT, whole)) == "green"


def test_a_port_shut_by_the_calendar_is_not_judged_on_its_rows():
    stays = _log()
    whole = _night(NIGHT, 95, first_id=10**6)
    shut = whole[whole["entry_port"] != "Ngurah Rai"]
    checks = feed_checks(stays, NIGHT, shut, closed=["Ngurah Rai"])
    assert "rows at Ngurah Rai" not in set(checks["column"]) and night_verdict(checks) == "green", checks
    assert night_verdict(feed_checks(stays, NIGHT, shut)) == "red"


def test_a_feed_that_stops_partway_through_the_day_is_seen():
    """Arrivals come evenly round the clock: a quarter of them after 18:00. 95 rows all before 18:00 happen by chance with
    0.75 ** 95 = 1.4e-12: red; 30 rows with 0.75 ** 30 = 1.8e-4: amber (the amber tail is 1e-3, the red 1e-7); a feed
    that starts at 08:00 is seen the same way."""
    stays = _log()
    late = _row(feed_checks(stays, NIGHT, _night(NIGHT, 95, end_hour=18, first_id=10**6)), "time of day")
    assert late["verdict"] == "red" and "17:" in late["detail"] and "25%" in late["detail"], late.to_dict()
    few = _row(feed_checks(stays, NIGHT, _night(NIGHT, 30, end_hour=18, first_id=10**6)), "time of day")
    assert few["verdict"] == "amber", few.to_dict()
    early = _row(feed_checks(stays, NIGHT, _night(NIGHT, 95, start_hour=8, first_id=10**6)), "time of day")
    # its first row at 8 + 0.5 / 95 * 16 h = 08:05, with 8.084 / 24 = 34% of the hours of a day before it
    assert early["verdict"] == "red" and "08:05" in early["detail"] and "34%" in early["detail"], early.to_dict()
    assert _row(feed_checks(stays, NIGHT, _night(NIGHT, 95, first_id=10**6)), "time of day")["verdict"] == "green"


def test_a_feed_delivered_twice_is_red_with_the_count():
    stays = _log()
    whole = _night(NIGHT, 95, first_id=10**6)
    row = _row(feed_checks(stays, NIGHT, pd.concat([whole, whole])), "duplicate rows")
    assert row["verdict"] == "red" and row["count"] == 95 and "95" in row["detail"], row.to_dict()
    assert _row(feed_checks(stays, NIGHT, whole), "duplicate rows")["verdict"] == "green"


def test_a_feed_of_another_day_is_red_and_names_the_day():
    stays = _log()
    yesterday = stays[stays["entry_time"].dt.normalize() == NIGHT - pd.Timedelta(days=1)]
    row = _row(feed_checks(stays, NIGHT, yesterday), "rows of another day")
    assert row["verdict"] == "red" and row["count"] == len(yesterday) and "2023-06-13" in row["detail"], row.to_dict()
    whole = _night(NIGHT, 95, first_id=10**6)
    assert _row(feed_checks(stays, NIGHT, whole), "rows of another day")["verdict"] == "green"


@pytest.mark.parametrize("nights", [10])
def test_a_log_too_short_to_know_the_usual_is_not_judged(nights):
    stays = _log(nights=nights, holidays=0)
    row = _row(feed_checks(stays, NIGHT, _night(NIGHT, 32, first_id=10**6)), "rows")
    assert row["verdict"] == "not judged", row.to_dict()
