"""The synthetic generator: determinism, ground truth, calendar, and realism against BPS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.datasets import NATIONALITIES, PORTS, make_crossings
from riskmodel.core.synth.seasonality import event_dates


@pytest.fixture(scope="module")
def decade():
    """Seven years, COVID included: 2017-2023."""
    return make_crossings(12_000, "2017-01-01", "2023-12-31", seed=5)


@pytest.fixture(scope="module")
def prepandemic():
    """2017-2019 with many travellers, for share and seasonality comparisons with BPS."""
    return make_crossings(60_000, "2017-01-01", "2019-12-31", seed=21)


def _entries(data):
    c = data.crossings
    return c[c["direction"].astype(str) == "entry"]


def test_same_seed_same_data_other_seed_other_data():
    a = make_crossings(800, "2019-01-01", "2019-12-31", seed=3)
    b = make_crossings(800, "2019-01-01", "2019-12-31", seed=3)
    c = make_crossings(800, "2019-01-01", "2019-12-31", seed=4)
    pd.testing.assert_frame_equal(a.crossings, b.crossings)
    pd.testing.assert_frame_equal(a.stays, b.stays)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.crossings["timestamp"].equals(c.crossings["timestamp"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_travellers": 0}, r"`n_travellers` must be an int >= 1; got 0"), ({"start": "2020-01-01", "end": "2019-01-01"}, r"`end` must be after `start`")],
)
def test_bad_arguments(kwargs, message):
    args = {"n_travellers": 10, "start": "2019-01-01", "end": "2019-02-01"} | kwargs
    with pytest.raises(ValueError, match=message):
        make_crossings(args.pop("n_travellers"), args.pop("start"), args.pop("end"))


def test_truth_is_aligned_and_apart_from_features(decade):
    assert list(decade.truth["stay_id"]) == list(decade.stays["stay_id"])
    assert "p_overstay" not in decade.stays.columns
    assert decade.truth["p_overstay"].between(0, 1, inclusive="neither").all()


def test_overall_rate_between_one_and_three_percent(decade):
    labelled = decade.stays["overstayed"].dropna().astype(bool)
    assert 0.01 <= labelled.mean() <= 0.03, labelled.mean()


def test_outcomes_follow_the_true_probability(decade):
    """Drawn outcomes agree with the true probabilities, overall and by decile."""
    t = decade.truth
    p, y = t["p_overstay"].to_numpy(), t["will_overstay"].to_numpy()
    se = np.sqrt((p * (1 - p)).sum()) / len(p)
    assert abs(y.mean() - p.mean()) < 4 * se
    decile = pd.qcut(p, 10, labels=False, duplicates="drop")
    by = pd.DataFrame({"p": p, "y": y, "d": decile}).groupby("d").mean()
    assert by["y"].iloc[-1] > 5 * by["y"].iloc[0]


def test_labels_match_the_drawn_outcome_where_mature(decade):
    s = decade.stays.merge(decade.truth, on="stay_id")
    mature = s["overstayed"].notna()
    agree = (s.loc[mature, "overstayed"].astype(bool) == s.loc[mature, "will_overstay"]).mean()
    assert agree > 0.995
    recorded = (s.loc[mature, "overstayed"].astype(bool) == s.loc[mature, "recorded_overstay"]).mean()
    assert recorded > 0.995


def test_rate_range_by_segment(decade):
    """Long visit visas and missing return tickets are far riskier than visa-exempt short trips."""
    s = decade.stays.merge(decade.truth[["stay_id", "p_overstay"]], on="stay_id")
    by_visa = s.groupby(s["visa_type"].astype(str))["p_overstay"].mean()
    assert by_visa["c1_visit"] > 3 * by_visa["visa_exempt"]
    assert by_visa["d1_multiple"] < by_visa["visa_exempt"]
    no_ticket = s.loc[~s["has_return_ticket"].astype(bool), "p_overstay"].mean()
    ticket = s.loc[s["has_return_ticket"].astype(bool), "p_overstay"].mean()
    assert no_ticket > 2 * ticket
    risky = s[(s["visa_type"].astype(str) == "c1_visit") & ~s["has_return_ticket"].astype(bool)]
    assert risky["p_overstay"].mean() > 0.08


def test_prior_overstays_raise_the_risk(decade):
    s = decade.stays.merge(decade.truth, on="stay_id").sort_values(["traveller_id", "entry_time"])
    s["prior_over"] = s.groupby("traveller_id")["will_overstay"].transform(lambda v: v.shift(fill_value=False).cumsum())
    with_prior = s.loc[s["prior_over"] > 0, "p_overstay"].mean()
    without = s.loc[s["prior_over"] == 0, "p_overstay"].mean()
    assert with_prior > 3 * without


def test_nyepi_closes_ngurah_rai(decade):
    c = decade.crossings
    ngurah = c[c["port"] == "Ngurah Rai"]
    days = ngurah["timestamp"].dt.normalize()
    for year in range(2017, 2024):
        nyepi = event_dates(year)["nyepi"]
        assert (days == nyepi).sum() == 0, f"crossings at Ngurah Rai on Nyepi {nyepi.date()}"
        # elsewhere in Indonesia the day is ordinary
        if year < 2020 or year > 2022:
            assert ((c["port"] == "Soekarno-Hatta") & (c["timestamp"].dt.normalize() == nyepi)).sum() > 0


def test_eid_moves_and_muslim_markets_follow_it(prepandemic):
    eids = [event_dates(y)["eid"] for y in (2017, 2018, 2019)]
    shifts = [(eids[i + 1] - eids[i]).days - 365 for i in range(2)]
    assert all(-13 <= s <= -9 for s in shifts), shifts  # about 11 days earlier each year
    e = _entries(prepandemic)
    mys = e[e["nationality"] == "MYS"]["timestamp"].dt.normalize()
    for eid in eids:
        ramadan = mys.between(eid - pd.Timedelta(days=29), eid - pd.Timedelta(days=1)).sum() / 29
        after = mys.between(eid + pd.Timedelta(days=2), eid + pd.Timedelta(days=10)).sum() / 9
        assert after > 1.8 * ramadan, (eid, after, ramadan)


def test_batam_ferries_peak_on_weekends(prepandemic):
    e = _entries(prepandemic)
    dow = e.loc[e["port"] == "Batam", "timestamp"].dt.day_of_week.value_counts(normalize=True)
    assert dow[5] > 1.8 * dow[1]  # Saturday over Tuesday


def test_covid_collapse(decade):
    e = _entries(decade)
    month = e["timestamp"].dt.to_period("M").value_counts()
    for m in ("2020-06", "2021-06"):
        assert month[pd.Period(m)] < 0.2 * month[pd.Period("2019-06")]
    assert month[pd.Period("2023-06")] > 0.5 * month[pd.Period("2019-06")]


def test_no_covid_option():
    data = make_crossings(3_000, "2019-06-01", "2021-06-30", seed=2, covid=False)
    e = _entries(data)
    month = e["timestamp"].dt.to_period("M").value_counts()
    assert month[pd.Period("2021-01")] > 0.6 * month[pd.Period("2019-07")]


# ----------------------------------------------------------------------------- realism against BPS

TOP_MARKET_TOLERANCE_PP = 1.5  # percentage points, top-10 markets
MARKET_RELATIVE_TOLERANCE = 0.35  # top-20 markets, relative
PORT_TOLERANCE_PP = 2.0  # top-10 ports
PROFILE_MIN_PEARSON = 0.7  # Ngurah Rai monthly indices


@pytest.mark.bps
def test_nationality_shares_match_bps(prepandemic, bps_data_dir):
    bps = pd.read_csv(bps_data_dir / "bps_arrivals_by_nationality_2017_2023.csv", parse_dates=["ds"])
    bps = bps[bps["ds"] < "2020-01-01"].groupby("unique_id")["y"].sum()
    names = NATIONALITIES.set_index("bps_name")["nationality"]
    real = bps[bps.index.isin(names.index)].rename(index=names)
    real = 100 * real / real.sum()
    gen = 100 * _entries(prepandemic)["nationality"].value_counts(normalize=True)
    top = real.sort_values(ascending=False)
    for nat in top.index[:10]:
        assert abs(gen.get(nat, 0) - top[nat]) <= TOP_MARKET_TOLERANCE_PP, (nat, gen.get(nat, 0), top[nat])
    for nat in top.index[:20]:
        assert abs(gen.get(nat, 0) / top[nat] - 1) <= MARKET_RELATIVE_TOLERANCE, (nat, gen.get(nat, 0), top[nat])


@pytest.mark.bps
def test_port_shares_match_bps(prepandemic, bps_data_dir):
    bps = pd.read_csv(bps_data_dir / "bps_arrivals_by_port_2017_2023.csv", parse_dates=["ds"])
    real = bps[bps["ds"] < "2020-01-01"].groupby("unique_id")["y"].sum()
    real = (100 * real / real.sum()).sort_values(ascending=False)
    gen = 100 * _entries(prepandemic)["port"].value_counts(normalize=True)
    assert set(gen.index) <= set(PORTS["port"])
    for port in real.index[:10]:
        assert abs(gen.get(port, 0) - real[port]) <= PORT_TOLERANCE_PP, (port, gen.get(port, 0), real[port])


@pytest.mark.bps
@pytest.mark.parametrize("port", ["Ngurah Rai", "Batam"])
def test_monthly_profile_correlates_with_bps(prepandemic, bps_data_dir, port):
    bps = pd.read_csv(bps_data_dir / "bps_arrivals_by_port_2017_2023.csv", parse_dates=["ds"])
    real = bps[(bps["unique_id"] == port) & (bps["ds"] < "2020-01-01")]
    real = real.groupby(real["ds"].dt.month)["y"].sum()
    e = _entries(prepandemic)
    gen = e.loc[e["port"] == port, "timestamp"].dt.month.value_counts().sort_index()
    r = np.corrcoef(real.to_numpy(float), gen.to_numpy(float))[0, 1]
    assert r >= PROFILE_MIN_PEARSON, r


def test_true_logit_takes_grouped_entry_facts_and_history():
    from riskmodel.core.synth import EntryFacts, TravelHistory, true_logit

    entry = EntryFacts(
        visa_type=np.array(["visa_exempt", "visa_exempt"], dtype=object), purpose=np.array(["tourism"] * 2, dtype=object),
        sponsor=np.array(["none"] * 2, dtype=object), has_return_ticket=np.array([True, True]),
        accommodation=np.array(["hotel"] * 2, dtype=object), planned_stay_days=np.array([7.0, 7.0]),
        group_size=np.array([2, 2]), age=np.array([30, 30]), nationality=np.array(["FRA", "JPN"], dtype=object),
    )
    history = TravelHistory(prior_visits=np.array([0, 0]), prior_overstays=np.array([0, 0]), days_since_last_exit=np.array([1e6, 1e6]))
    # intercept, sponsor "none", hotel, and the planned-to-permitted ratio 7/30 (visa exemption: 30 days, no extension);
    # Japan has its documented nationality effect of -0.3
    expected = -5.4 + 0.2 - 0.3 + 3.2 / (1.0 + np.exp(-7.0 * (7 / 30 - 1.0)))
    np.testing.assert_allclose(true_logit(entry, history), [expected, expected - 0.3], rtol=0, atol=1e-12)
