"""Drift like with like: a normal night is green, a broken feed is red."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.monitoring.drift import PSI_RED, compare_like_with_like, in_country_at, night_verdict, nightly_checks

PORTS = np.array(["Ngurah Rai"] * 40 + ["Soekarno-Hatta"] * 20 + ["Batam"] * 12 + ["Juanda"] * 2 + ["Kualanamu"] * 26)


def _feed(n, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "entry_port": rng.choice(PORTS, n),
        "visa_type": rng.choice(["voa", "visa_exempt", "c1_visit"], n, p=[0.5, 0.4, 0.1]),
        "planned_stay_days": rng.gamma(2.0, 7.0, n).round(),
    })


COLS = ["entry_port", "visa_type", "planned_stay_days"]


def test_two_samples_of_one_population_are_green():
    for seed in range(20):
        checks = compare_like_with_like(_feed(40, seed), _feed(1200, 100 + seed), COLS)
        assert night_verdict(checks) == "green", checks


@pytest.mark.parametrize(
    "fault",
    [
        lambda f: f.assign(planned_stay_days=np.nan),  # a column all missing
        lambda f: f.drop(columns="planned_stay_days"),  # a column dropped from the extract
        lambda f: f.assign(visa_type=f["visa_type"].replace("voa", "VOA")),  # a category renamed
        lambda f: f.assign(planned_stay_days=f["planned_stay_days"] * 24),  # days become hours
        lambda f: f[f["entry_port"] != "Ngurah Rai"],  # a port missing
        lambda f: f.iloc[:0],  # nothing arrived
    ],
)
def test_a_broken_feed_is_red(fault):
    checks = compare_like_with_like(fault(_feed(60, 1)), _feed(1200, 2), COLS)
    assert night_verdict(checks) == "red"


def test_a_vanished_port_is_red_even_when_its_psi_is_small():
    ref = _feed(20_000, 3)
    tonight = _feed(20_000, 4)
    tonight = tonight[tonight["entry_port"] != "Juanda"]  # 2% of arrivals: PSI ~0.1 only
    row = compare_like_with_like(tonight, ref, ["entry_port"]).iloc[0]
    assert row["psi"] < PSI_RED and row["vanished"] == "Juanda" and row["verdict"] == "red"


def test_the_red_line_rises_with_sampling_noise_of_small_nights():
    small = compare_like_with_like(_feed(20, 5), _feed(1200, 6), ["entry_port"]).iloc[0]
    large = compare_like_with_like(_feed(5000, 5), _feed(5000, 6), ["entry_port"]).iloc[0]
    assert small["red_at"] > large["red_at"] >= PSI_RED


def _stays():
    """Three stays: one left on 2 Jan, one still in the country, one arriving on 3 Jan."""
    return pd.DataFrame({
        "stay_id": ["a", "b", "c"],
        "entry_time": pd.to_datetime(["2022-12-30 10:00", "2022-12-31 09:00", "2023-01-03 08:00"]),
        "exit_time": pd.to_datetime(["2023-01-02 12:00", None, None]),
    })


def test_in_country_at_the_end_of_a_night():
    assert list(in_country_at(_stays(), pd.Timestamp("2023-01-01"))["stay_id"]) == ["a", "b"]
    assert list(in_country_at(_stays(), pd.Timestamp("2023-01-02"))["stay_id"]) == ["b"]
    assert list(in_country_at(_stays(), pd.Timestamp("2023-01-03"))["stay_id"]) == ["b", "c"]


def test_nightly_checks_compare_three_like_populations():
    rng = np.random.default_rng(0)
    n = 40_000  # about 55 arrivals a night
    entry = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.uniform(0, 730, n), unit="D")
    stays = _feed(n, 9).assign(entry_time=entry, exit_time=entry + pd.to_timedelta(rng.uniform(1, 60, n), unit="D"))
    checks = nightly_checks(stays, "2023-06-30", columns=tuple(COLS))
    assert list(dict.fromkeys(checks["comparison"])) == ["feed", "in-country vs last night", "in-country vs a year earlier", "arrivals vs last 28 days"]
    assert night_verdict(checks) == "green"
    tonight = stays[stays["entry_time"].dt.normalize() == pd.Timestamp("2023-06-30")].assign(visa_type="VISA")
    assert night_verdict(nightly_checks(stays, "2023-06-30", columns=tuple(COLS), tonight=tonight)) == "red"


def test_a_port_shut_by_the_calendar_is_not_a_broken_feed():
    rng = np.random.default_rng(1)
    n = 40_000
    entry = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.uniform(0, 730, n), unit="D")
    stays = _feed(n, 11).assign(entry_time=entry, exit_time=entry + pd.to_timedelta(rng.uniform(1, 60, n), unit="D"))
    nyepi = pd.Timestamp("2023-03-22")  # Bali's Day of Silence: Ngurah Rai is closed
    stays = stays[~((stays["entry_time"].dt.normalize() == nyepi) & (stays["entry_port"] == "Ngurah Rai"))]
    assert night_verdict(nightly_checks(stays, nyepi, columns=tuple(COLS))) != "red"
    assert night_verdict(nightly_checks(stays, nyepi, columns=tuple(COLS), closed=[])) == "red"  # without the calendar


def test_a_moderate_shift_on_large_nights_is_amber_not_green_nor_red():
    # 50/50 in the reference, 80/20 tonight: PSI = 0.3 ln(1.6) + 0.3 ln(2.5) = 0.416 by hand, above the
    # major-shift line 0.25 and below PSI_RED 1.0; with 20,000 rows a side the sampling noise is far below both
    ref = pd.DataFrame({"visa_type": np.repeat(["voa", "visa_exempt"], [20_000, 20_000])})
    tonight = pd.DataFrame({"visa_type": np.repeat(["voa", "visa_exempt"], [16_000, 4_000])})
    row = compare_like_with_like(tonight, ref, ["visa_type"]).iloc[0]
    assert row["psi"] == pytest.approx(0.3 * np.log(1.6) + 0.3 * np.log(2.5), rel=1e-3)
    assert row["verdict"] == "amber"
    assert compare_like_with_like(ref.sample(20_000, random_state=0), ref, ["visa_type"]).iloc[0]["verdict"] == "green"


@pytest.mark.parametrize(
    ("verdicts", "night"),
    [(["green", "amber", "red"], "red"), (["amber", "red"], "red"), (["red", "amber"], "red"), (["green", "amber"], "amber"), (["green"], "green")],
)
def test_the_night_is_as_bad_as_its_worst_column(verdicts, night):
    assert night_verdict(pd.DataFrame({"verdict": verdicts})) == night


def test_a_comparison_with_no_reference_rows_is_not_judged_not_green():
    """A night compared with a reference of no rows (the same weekday a year earlier on a log under a year old) read green
    on every column, with a PSI figure, even a column all missing tonight (PSI 3.4, beyond PSI_RED): the noise line divided
    by max(0, 1) reference rows (review15fair 03). Nothing was compared: no PSI, verdict "not judged", and the night's
    verdict comes from the comparisons that could be made."""
    tonight = _feed(500, 7).assign(planned_stay_days=np.nan)
    checks = compare_like_with_like(tonight, _feed(10, 8).iloc[:0], COLS, comparison="in-country vs a year earlier")
    assert list(checks["verdict"]) == ["not judged"] * len(COLS), checks
    assert checks["psi"].isna().all(), checks
    assert night_verdict(checks) == "not judged"  # no comparison made: no verdict alone; judged on the others with them
    assert night_verdict(pd.concat([checks, compare_like_with_like(tonight, _feed(1200, 9), COLS)])) == "red"
    # an empty night is still red, whatever its reference holds
    assert set(compare_like_with_like(tonight.iloc[:0], _feed(10, 8).iloc[:0], COLS)["verdict"]) == {"red"}


def test_a_numeric_column_most_rows_hold_at_one_value_is_seen_to_move():
    """With 92% of permits at 30 days every decile is 30: one edge, and 30 and 60 shared a bin, so a night whose permits
    all read 60, or 720 (hours for days), was green with PSI 0.006 (review15fair 07). A value held by 5% or more of the
    reference rows is a bin of its own: both nights are red, and a night like the reference stays green."""
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"permitted_days": np.where(rng.random(5000) < 0.92, 30.0, 60.0)})
    for value in (60.0, 720.0):
        row = compare_like_with_like(pd.DataFrame({"permitted_days": np.full(400, value)}), ref, ["permitted_days"]).iloc[0]
        assert row["verdict"] == "red" and row["psi"] > PSI_RED, (value, row)
    alike = pd.DataFrame({"permitted_days": np.where(rng.random(400) < 0.92, 30.0, 60.0)})
    assert compare_like_with_like(alike, ref, ["permitted_days"]).iloc[0]["verdict"] == "green"


def _nationalities(n, seed, new=0, name="NEWLAND"):
    """``n`` arrivals of 60 nationalities (Zipf-like shares: the 30 least common hold about a fifth, the "other" bucket
    of a profile), ``new`` of them of a nationality the reference never held."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, 61) ** 1.1
    nat = rng.choice([f"C{i:02d}" for i in range(60)], n, p=weights / weights.sum()).astype(object)
    nat[:new] = name
    return pd.DataFrame({"nationality": nat})


def test_a_nationality_never_seen_before_is_amber_and_named():
    """A nationality the reference never held went into the profile's "other" bucket with the 30 least common: 75 of
    1,500 arrivals (5%), even 300 (20%), of a never-seen nationality read PSI 0.04-0.19, green. A level the reference
    never held, seen 10 times or more tonight, is amber and named (not red: a first charter from a new market is real;
    a renamed code is red by the vanished rule); 9 are no alarm (a party)."""
    ref = _nationalities(20_000, 11)
    for new in (75, 300):
        row = compare_like_with_like(_nationalities(1_500, 12, new), ref, ["nationality"]).iloc[0]
        assert row["appeared"] == "NEWLAND" and row["verdict"] == "amber", row.to_dict()
    row = compare_like_with_like(_nationalities(1_500, 12, 10), ref, ["nationality"]).iloc[0]
    assert row["appeared"] == "NEWLAND" and row["verdict"] == "amber"
    row = compare_like_with_like(_nationalities(1_500, 12, 9), ref, ["nationality"]).iloc[0]
    assert row["appeared"] == "" and row["verdict"] == "green"
    # a level the reference held, however rarely (outside its 30 most common), is no new level
    rare = pd.concat([ref, pd.DataFrame({"nationality": ["RARELAND"]})], ignore_index=True)
    row = compare_like_with_like(_nationalities(1_500, 12, 20, "RARELAND"), rare, ["nationality"]).iloc[0]
    assert row["appeared"] == ""
    # against a reference a fifth of tonight's size, 12 of a level it lacks are noise: all 12 of both samples fall
    # tonight with chance (1500 / 1800) ** 12 = 0.11; 40 are not: 0.833 ** 40 = 6.8e-4, under the amber tail 1e-3
    small = ref.head(300)
    assert compare_like_with_like(_nationalities(1_500, 12, 12), small, ["nationality"]).iloc[0]["appeared"] == ""
    assert compare_like_with_like(_nationalities(1_500, 12, 40), small, ["nationality"]).iloc[0]["appeared"] == "NEWLAND"
    for seed in range(10):  # samples of one population stay green
        assert night_verdict(compare_like_with_like(_nationalities(1_500, 200 + seed), ref, ["nationality"])) == "green"


def test_a_yes_no_column_on_a_small_night_is_amber_no_more_often_than_its_tail():
    """50 arrivals against 2,000 (1,800 with a return ticket, 200 without): none of the 50 without one happens with
    chance 0.9 ** 50 = 0.52% and read PSI 0.253, over the amber line 0.25: amber five times more often than the 1e-3
    tail says (review17monitor 08). Summed over every count tonight can hold (binomial, 10% without), the nights read
    amber or red must weigh no more than the tail; a real shift (20 of 50 without) is still amber."""
    from scipy import stats

    ref = pd.DataFrame({"has_return_ticket": np.repeat([True, False], [1800, 200])})

    def tonight(without):
        return pd.DataFrame({"has_return_ticket": np.repeat([True, False], [50 - without, without])})

    verdicts = {k: compare_like_with_like(tonight(k), ref, ["has_return_ticket"]).iloc[0]["verdict"] for k in range(51)}
    flagged = [k for k, v in verdicts.items() if v != "green"]
    assert stats.binom.pmf(flagged, 50, 0.1).sum() <= 1e-3, flagged
    # 0 of 50 without a ticket: all 50 drawn from the 1,850 holders of 2,050 rows, chance prod (1850 - i) / (2050 - i)
    assert np.prod([(1850 - i) / (2050 - i) for i in range(50)]) > 1e-3 and verdicts[0] == "green"
    assert verdicts[20] == "amber"


def test_nightly_checks_refuse_times_with_a_zone_naming_the_column_and_the_fix():
    """Entry and exit times with a time zone crashed deep in a comparison ("Invalid comparison between dtype=datetime64[us]
    and Timestamp"), whether the night was given with a zone or not (review18ops 04). The schema takes local port times
    without a zone: a SchemaError names the column and the conversion."""
    from riskmodel.core.exceptions import SchemaError

    stays = _stays().assign(visa_type="voa")
    zoned = stays.assign(entry_time=stays["entry_time"].dt.tz_localize("Asia/Jakarta"))
    for night in ("2023-01-02", pd.Timestamp("2023-01-02", tz="Asia/Jakarta")):
        with pytest.raises(SchemaError, match=r"(?s)entry_time.*tz_localize\(None\)"):
            nightly_checks(zoned, night, columns=("visa_type",))
    with pytest.raises(SchemaError, match=r"(?s)tonight.*entry_time"):
        nightly_checks(stays, "2023-01-03", columns=("visa_type",), tonight=zoned.iloc[2:])


def test_the_nights_summary_line_names_the_verdict_and_what_is_red():
    """`riskmodel run` printed "data checks: out/drift.csv" whatever the night's verdict, and its progress line "3 of 34
    columns not green" (hidden by --quiet): a scheduled run's log never said red (review18ops 08). The summary line gives
    the verdict first, then the red checks (their detail when they have one), then the amber ones, a few of each."""
    from riskmodel.core.monitoring.drift import night_summary

    checks = pd.DataFrame({
        "comparison": ["feed", "feed", "arrivals vs last 28 days", "in-country vs a year earlier", "arrivals vs last 28 days"],
        "column": ["rows", "time of day", "visa_type", "nationality", "purpose"],
        "verdict": ["red", "green", "red", "amber", "not judged"],
        "detail": ["32 rows tonight; a Wednesday usually brings 66-132", "", "", "", ""],
    })
    line = night_summary(checks)
    assert line.startswith("red: "), line
    assert "feed rows (32 rows tonight; a Wednesday usually brings 66-132)" in line and "arrivals vs last 28 days visa_type" in line
    assert "amber: in-country vs a year earlier nationality" in line and "time of day" not in line
    assert line.endswith("; not judged (nothing to compare with): arrivals vs last 28 days purpose"), line
    assert night_summary(checks.assign(verdict="green")) == "green"
    assert night_summary(checks.drop(columns="detail").assign(verdict=["green", "green", "amber", "green", "green"])) == (
        "amber: arrivals vs last 28 days visa_type")


def test_a_night_with_checks_not_judged_does_not_read_a_plain_green():
    """On the first night of a log 32 of its 34 checks are not judged (nothing before it to compare with), and the
    run's line read "green", as on a night every check passed; a log under a year old never judges "in-country vs a
    year earlier" and said nothing of it either (review19drift 04). The line names what was not judged, and a night
    with no check judged has no verdict."""
    from riskmodel.core.monitoring.drift import night_summary, night_verdict

    checks = pd.DataFrame({
        "comparison": ["feed", "feed", "in-country vs a year earlier", "in-country vs a year earlier", "arrivals vs last 28 days"],
        "column": ["rows", "duplicate rows", "visa_type", "nationality", "visa_type"],
        "verdict": ["not judged", "green", "not judged", "not judged", "green"],
    })
    assert night_summary(checks) == ("green on 2 of 5 checks; not judged (nothing to compare with): feed rows, "
                                     "in-country vs a year earlier (2 checks)")
    red = checks.assign(verdict=["not judged", "red", "not judged", "not judged", "green"])
    assert night_summary(red) == ("red: feed duplicate rows; not judged (nothing to compare with): feed rows, "
                                  "in-country vs a year earlier (2 checks)")
    nothing = checks.assign(verdict="not judged")
    assert night_verdict(nothing) == "not judged"
    assert night_summary(nothing).startswith("not judged: none of 5 checks had anything to compare with")
    assert night_summary(checks.assign(verdict="green")) == "green"
