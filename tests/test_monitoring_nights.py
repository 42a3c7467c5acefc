"""Night against night (riskmodel.core.monitoring.nights): the nightly run's drift verdict, like with like.

The nightly run printed tonight's in-country population against the model's training *entries*: PSI >= 0.25 on 26 of
28 columns on every normal night (review18ops 06), a line that fires every night and so tells nothing. These tests hold
the like-with-like verdict to its written lines, on hand-made counts and on the nights of a synthetic log.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.monitoring.nights import NIGHT_MOVES, compare_nights, night_bins, night_profile

# two columns: a categorical one with levels A, B (then "unseen or missing"), a numeric one with one inner edge
# (bins: below 1, 1 and above, missing)
REF = {"port": {"kind": "categorical", "levels": ["A", "B"], "fractions": [0.5, 0.5, 0.0]},
       "x": {"kind": "numeric", "edges": [1.0], "fractions": [0.5, 0.5, 0.0]}}


def _night(day: str, port, x, sha: str = "m1") -> dict:
    return night_profile({"port": list(port), "x": list(x)}, as_of=day, scope="in_country", model_sha256=sha)


def _jeffreys_psi(ref, cur) -> float:
    """PSI with half a count in every bin, by hand (the module's docstring: as compare_like_with_like)."""
    ref, cur = np.asarray(ref, float) + 0.5, np.asarray(cur, float) + 0.5
    e, a = ref / ref.sum(), cur / cur.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def test_a_first_night_says_so_instead_of_a_verdict():
    """No previous profile: every row `not judged`, saying it is the first night and how to pass the previous one."""
    checks, keep = compare_nights(_night("2023-12-01", (500, 500, 0), (500, 500, 0)), None, REF)
    assert list(checks["column"]) == ["rows", "port", "x"]
    assert set(checks["verdict"]) == {"not judged"}
    assert checks["detail"].str.contains("first night").all() and checks["detail"].str.contains("--previous").all()
    assert keep["baseline"]["port"] == {"as_of": "2023-12-01", "counts": [500, 500, 0]}
    # another model's bins: not comparable, said so; the next night is judged against this one
    other, _ = compare_nights(_night("2023-12-02", (500, 500, 0), (500, 500, 0), sha="m2"), keep, REF)
    assert set(other["verdict"]) == {"not judged"} and other["detail"].str.contains("another model").all()
    # the same night again (or a later one given as previous) is no previous night
    again, _ = compare_nights(_night("2023-12-01", (500, 500, 0), (500, 500, 0)), keep, REF)
    assert set(again["verdict"]) == {"not judged"} and again["detail"].str.contains("not before tonight").all()


def test_the_lines_are_the_written_floors_noise_and_twice_the_earlier_moves():
    """10,000 rows a night: the chi-square noise lines (2 bins: 10.8 x 2/10,000 = 0.002 at 1e-3; 28.4 x 2e-4 = 0.006 at
    1e-7) lie under the floors, so amber is at 0.25 and red at 1.0; the rows lines at log 1.25 and log 2 (3.29 /
    sqrt(10,000) = 0.033 under log 1.25 = 0.223). Once a column moved 0.3 on an earlier green night, its lines are
    twice and four times that: 0.6 and 1.2."""
    _, keep = compare_nights(_night("2023-12-01", (6000, 4000, 0), (5000, 5000, 0)), None, REF)
    checks, keep2 = compare_nights(_night("2023-12-02", (4000, 6000, 0), (5000, 5000, 0)), keep, REF)
    got = checks.set_index("column")
    assert got.loc["port", "amber_at"] == pytest.approx(0.25) and got.loc["port", "red_at"] == pytest.approx(1.0)
    assert got.loc["rows", "amber_at"] == pytest.approx(math.log(1.25)) and got.loc["rows", "red_at"] == pytest.approx(math.log(2))
    assert got.loc["port", "value"] == pytest.approx(_jeffreys_psi((6000, 4000, 0), (4000, 6000, 0)))
    assert got.loc["port", "verdict"] == "green" and got.loc["x", "verdict"] == "green"  # 0.162 < 0.25
    assert keep2["moves"]["port"] == [pytest.approx(_jeffreys_psi((6000, 4000, 0), (4000, 6000, 0)))]
    keep2["moves"]["port"] = [0.2, 0.3]
    checks, _ = compare_nights(_night("2023-12-03", (4000, 6000, 0), (5000, 5000, 0)), keep2, REF)
    got = checks.set_index("column")
    assert got.loc["port", "amber_at"] == pytest.approx(0.6) and got.loc["port", "red_at"] == pytest.approx(1.2)
    assert got.loc["x", "amber_at"] == pytest.approx(0.25)  # x's own moves (0 so far), not port's


def test_a_small_population_gets_the_noise_lines():
    """40 rows a night, 3 bins used: chi-square(2) at 1e-3 is 13.8, times 2/40 is 0.69 (amber), at 1e-7 32.2 x 0.05 =
    1.61 (red); the rows lines 3.29 / sqrt(40) = 0.52 and 5.33 / sqrt(40) = 0.84."""
    _, keep = compare_nights(_night("2023-12-01", (20, 20, 0), (10, 20, 10)), None, REF)
    checks, _ = compare_nights(_night("2023-12-02", (20, 20, 0), (10, 20, 10)), keep, REF)
    got = checks.set_index("column")
    assert got.loc["x", "amber_at"] == pytest.approx(13.8155 * 2 / 40, rel=1e-4)
    assert got.loc["x", "red_at"] == pytest.approx(32.2362 * 2 / 40, rel=1e-4)
    assert got.loc["rows", "amber_at"] == pytest.approx(3.29 / math.sqrt(40))
    assert got.loc["rows", "red_at"] == pytest.approx(5.33 / math.sqrt(40))


def test_a_broken_column_stays_red_until_fixed_and_does_not_widen_the_lines():
    """A level emptied (port A's rows gone): red, naming the level and the fix. The next night, still broken, is
    compared with the last good night (not with the broken one, which would read green): red again. Its moves never
    enter the kept moves, and the night the feed is fixed reads green against the last good night."""
    _, keep = compare_nights(_night("2023-12-01", (500, 500, 0), (500, 500, 0)), None, REF)
    _, keep = compare_nights(_night("2023-12-02", (505, 495, 0), (500, 500, 0)), keep, REF)
    moves = dict(keep["moves"])
    for day in ("2023-12-03", "2023-12-04"):
        checks, keep = compare_nights(_night(day, (0, 400, 0), (200, 200, 0)), keep, REF)
        got = checks.set_index("column")
        assert got.loc["port", "verdict"] == "red" and got.loc["port", "baseline_as_of"] == "2023-12-02"
        assert "A (about" in got.loc["port", "vanished"] and "`port`" in got.loc["port", "detail"]
        assert "Fix: check tonight's export of `port`" in got.loc["port", "detail"]
        assert got.loc["rows", "verdict"] == "red"  # 400 against 1,000: log 2.5 > log 2
        assert keep["moves"]["port"] == moves["port"]
    checks, _ = compare_nights(_night("2023-12-05", (498, 502, 0), (500, 500, 0)), keep, REF)
    assert set(checks["verdict"]) == {"green"}, checks


def test_a_real_change_stays_red_until_a_person_accepts_a_night_as_the_baseline():
    """A new port opens (600 rows a night in the unseen-level bin of `port`, every night from 3 December): red, and red
    again the next night, since a red column keeps its last good night (2 December) as its baseline: an unaccepted
    change never turns green by itself, however many nights it lasts (review19drift 01 left no way but a night run
    without --previous, which keeps no record of who decided it). Accepted on 4 December (who, why, when): that night
    still reads red (what it is, against 2 December), the acceptance is kept with the profile, every column's baseline
    is 4 December, and 5 December, the same population, reads green against it."""
    new_port = ((500, 500, 600), (500, 500, 600))  # (port counts: A, B, a level unseen in training), x counts
    _, keep = compare_nights(_night("2023-12-01", (500, 500, 0), (500, 500, 0)), None, REF)
    _, keep = compare_nights(_night("2023-12-02", (505, 495, 0), (500, 500, 0)), keep, REF)
    for day in ("2023-12-03", "2023-12-04"):
        checks, unaccepted = compare_nights(_night(day, *new_port), keep, REF)
        got = checks.set_index("column")
        assert got.loc["port", "verdict"] == "red" and got.loc["port", "baseline_as_of"] == "2023-12-02", got
        assert "accepted" not in unaccepted and unaccepted["baseline"]["port"]["as_of"] == "2023-12-02"
        if day == "2023-12-03":
            keep = unaccepted  # 4 December is judged again below against 3 December's profile, accepted
    accept = {"by": "duty manager, Soekarno-Hatta", "why": "Kertajati opened to international flights", "time": "2023-12-05T08:00:00+00:00"}
    checks, accepted = compare_nights(_night("2023-12-04", *new_port), keep, REF, accept=accept)
    got = checks.set_index("column")
    assert got.loc["port", "verdict"] == "red" and got.loc["port", "baseline_as_of"] == "2023-12-02"
    assert "accepted as the new baseline" in got.loc["port", "detail"] and "Kertajati opened" in got.loc["port", "detail"]
    assert accepted["accepted"] == {**accept, "as_of": "2023-12-04", "verdict": "red"}
    assert {b["as_of"] for b in accepted["baseline"].values()} == {"2023-12-04"}
    assert accepted["rows_baseline"] == {"as_of": "2023-12-04", "rows": 1600}
    checks, after = compare_nights(_night("2023-12-05", *new_port), accepted, REF)
    assert set(checks["verdict"]) == {"green"}, checks
    assert set(checks["baseline_as_of"]) == {"2023-12-04"} and "accepted" not in after
    # an acceptance must say who and why: a blank one is refused, naming what is missing
    with pytest.raises(ValueError, match="`accept`.*`by`"):
        compare_nights(_night("2023-12-04", *new_port), keep, REF, accept={**accept, "by": " "})


def test_a_numeric_column_gets_a_bin_far_above_its_training_range():
    """The model's top bin is open: an in-country population holds a third of its planned stays there already, and
    stays x 1000 moved the rest in for PSI 1.0 (amber). One more edge 10 times the top edge's magnitude (at least 1):
    27 -> 270, -30 -> 300, 0.5 -> 10; a categorical column is left as it is."""
    bins = night_bins({"a": {"kind": "numeric", "edges": [3.0, 27.0], "fractions": [0.2, 0.3, 0.5, 0.0]},
                       "b": {"kind": "numeric", "edges": [-30.0], "fractions": [0.5, 0.5, 0.0]},
                       "c": {"kind": "numeric", "edges": [0.1, 0.5], "fractions": [0.3, 0.3, 0.4, 0.0]},
                       "d": {"kind": "numeric", "edges": [], "fractions": [1.0, 0.0]},
                       "port": REF["port"]})
    assert [bins[c]["edges"] for c in "abcd"] == [[3.0, 27.0, 270.0], [-30.0, 300.0], [0.1, 0.5, 10.0], [10.0]]
    assert bins["port"] == REF["port"]


def test_the_kept_moves_are_four_weeks():
    _, keep = compare_nights(_night("2023-11-01", (500, 500, 0), (500, 500, 0)), None, REF)
    for day in pd.date_range("2023-11-02", periods=NIGHT_MOVES + 5):
        _, keep = compare_nights(_night(f"{day:%Y-%m-%d}", (500 + day.day, 500, 0), (500, 500, 0)), keep, REF)
    assert len(keep["moves"]["port"]) == NIGHT_MOVES == 28


# ----------------------------------------------------------------------------- the nights of a synthetic log


@pytest.fixture(scope="module")
def nights(fitted):
    """In-country profiles (the model's drift bins, as the Spark nightly counts them) of 21 nights of December 2023."""
    from riskmodel import score
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import build_features
    from riskmodel.core.monitoring.drift import DriftCounter, profile_from_reference

    model = fitted[0]
    reference = night_bins(profile_from_reference(model.reference_))
    crossings = make_crossings(8_000, "2020-01-01", "2023-12-31", seed=5).crossings

    def counts(rows: pd.DataFrame) -> dict:
        rows = rows.reset_index(drop=True)
        out = score(rows, model=model, reasons=0, audit_log=False, errors="flag")
        counter = DriftCounter(reference)
        counter.update(rows.assign(probability=out["probability"].to_numpy()))
        return {c: v.tolist() for c, v in counter.counts.items()}

    population = {}
    for night in pd.date_range("2023-12-01", "2023-12-21"):
        as_of = night + pd.Timedelta(hours=23, minutes=59)
        feats = build_features(crossings[crossings["timestamp"] <= as_of], as_of=as_of, validate=False)
        population[f"{night:%Y-%m-%d}"] = feats[feats["exit_time"].isna()].reset_index(drop=True)
    return reference, counts, population


def _chain(reference, profiles: list[tuple[str, dict]]) -> list[pd.DataFrame]:
    keep, out = None, []
    for day, c in profiles:
        checks, keep = compare_nights(night_profile(c, as_of=day, scope="in_country", model_sha256="m"), keep, reference)
        out.append(checks)
    return out


def test_normal_nights_read_green_and_broken_feeds_read_red_naming_the_column(nights):
    """21 normal nights: the first not judged, the 20 after it green on every column (against the training entries
    most columns read PSI >= 0.25 on each of them). Then the last night as a broken feed delivers it: `visa_type` all
    missing, `planned_stay_days` in another unit (x 1000), the Ngurah Rai rows gone: red on that column, naming it and
    the fix (Ngurah Rai by name, and the population's size)."""
    reference, counts, population = nights
    days = sorted(population)
    normal = {d: counts(population[d]) for d in days}
    checks = _chain(reference, [(d, normal[d]) for d in days])
    assert set(checks[0]["verdict"]) == {"not judged"}
    for day, night in zip(days[1:], checks[1:], strict=True):
        assert set(night["verdict"]) == {"green"}, (day, night[night["verdict"] != "green"])
    last = population[days[-1]]
    broken = {
        "visa_type": last.assign(visa_type=pd.Series(pd.NA, index=last.index, dtype=object)),
        "planned_stay_days": last.assign(planned_stay_days=last["planned_stay_days"] * 1000),
        "entry_port": last[last["entry_port"].astype(str) != "Ngurah Rai"],
    }
    for column, rows in broken.items():
        night = _chain(reference, [(d, normal[d]) for d in days[:-1]] + [(days[-1], counts(rows))])[-1].set_index("column")
        assert night.loc[column, "verdict"] == "red", night.loc[column]
        assert f"`{column}`" in night.loc[column, "detail"] and "Fix:" in night.loc[column, "detail"]
        if column == "entry_port":
            assert night.loc["entry_port", "vanished"].startswith("Ngurah Rai (about")
            share = 1 - len(rows) / len(last)
            assert night.loc["rows", "verdict"] == ("red" if share >= 0.5 else "amber" if share >= 0.2 else "green")
