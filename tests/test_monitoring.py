"""Monitoring maths in one module family: a model's training reference, drift profiles, outcome monitoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.monitoring.drift import DriftCounter, profile_from_reference, training_reference


def _reference():
    x = np.r_[np.arange(10.0), np.nan]  # deciles of 0..9: one value per bin, plus a missing row
    codes = np.r_[[0.0] * 5, [1.0] * 4, [np.nan] * 2]
    scores = np.r_[[0.1] * 5, 0.5, [0.9] * 5]
    return training_reference(np.column_stack([x, codes]), ["x", "c"], {"c": ["a", "b", "z"]}, scores)


def test_training_reference_by_hand():
    ref = _reference()
    x = ref["features"]["x"]
    assert x["kind"] == "numeric" and x["missing"] == 1 / 11
    np.testing.assert_allclose(x["edges"], 0.9 * np.arange(1, 10), rtol=1e-12)
    assert x["share"] == [1 / 11] * 10
    assert ref["features"]["c"] == {"kind": "categorical", "levels": ["a", "b", "z"], "share": [5 / 11, 4 / 11, 0.0], "missing": 2 / 11}
    # each score value held by 5% or more of the rows is a bin of its own: 0.5 (1 of 11) is no longer lumped with 0.9 (5 of 11)
    assert ref["score"] == {"kind": "numeric", "edges": [0.5, 0.9], "share": [5 / 11, 1 / 11, 5 / 11], "missing": 0.0}


def test_a_model_reference_sees_a_0_1_feature_or_a_count_most_rows_hold_at_0_shift():
    """The reference a model stores for the nightly drift check kept the deciles less the smallest and the largest value:
    a 0/1 feature (has_return_ticket, 75% at 1) or a count most travellers hold at 0 (prior_overstays, 95% at 0) had no edge,
    one bin, and read PSI 0.000 "stable" on a night when every row was 0 (review15fair 05). Each value held by 5% or more
    of the rows now bounds a bin of its own."""
    ticket = np.r_[np.zeros(250), np.ones(750)]
    prior = np.r_[np.zeros(950), np.ones(40), np.full(10, 3.0)]
    ref = training_reference(np.column_stack([ticket, prior]), ["ticket", "prior"], {}, np.linspace(0.01, 0.99, 1000))
    assert ref["features"]["ticket"] == {"kind": "numeric", "edges": [1.0], "share": [0.25, 0.75], "missing": 0.0}
    assert ref["features"]["prior"]["edges"] == [1.0] and ref["features"]["prior"]["share"] == [0.95, 0.05]
    counter = DriftCounter(profile_from_reference(ref))
    counter.update(pd.DataFrame({"ticket": np.zeros(200), "prior": np.zeros(200)}))  # a feed whose fields all read 0
    psi = counter.psi()
    # by hand: every row in the 0 bin; an empty bin counts as 1e-4 (the missing bin, empty on both sides, adds 0)
    assert psi["ticket"] == pytest.approx((1 - 0.25) * np.log(1 / 0.25) + (1e-4 - 0.75) * np.log(1e-4 / 0.75))
    assert psi["prior"] == pytest.approx((1 - 0.95) * np.log(1 / 0.95) + (1e-4 - 0.05) * np.log(1e-4 / 0.05))


def test_profile_from_reference_feeds_the_drift_counter():
    prof = profile_from_reference(_reference())
    assert list(prof) == ["x", "c", "probability"]
    assert prof["c"] == {"kind": "categorical", "levels": ["a", "b", "z"], "fractions": [5 / 11, 4 / 11, 0.0, 2 / 11]}
    assert prof["probability"] == {"kind": "numeric", "edges": [0.5, 0.9], "fractions": [5 / 11, 1 / 11, 5 / 11, 0.0]}
    counter = DriftCounter({"probability": prof["probability"]})
    counter.update(pd.DataFrame({"probability": [0.1, 0.9, np.nan]}))
    assert counter.counts["probability"].tolist() == [1.0, 0.0, 1.0, 1.0]


def test_outcome_monitoring_lives_in_the_core_and_the_batch_job_reexports_it():
    from riskmodel.core.monitoring.outcomes import evaluate_scores
    from riskmodel.integrations.batch import scoring

    assert scoring.evaluate_scores is evaluate_scores


def test_outcome_monitoring_refuses_a_stay_scored_or_labelled_more_than_once():
    # A month of nightly score files gathered together holds each stay once per night it was in the country: the join on
    # stay_id counted it that many times (n 4 for 2 stays, the long stay most), and a repeated outcome row the same way.
    import pytest

    from riskmodel.core.exceptions import SchemaError
    from riskmodel.core.monitoring.outcomes import evaluate_scores

    scored = pd.DataFrame({"stay_id": ["S1", "S2", "S1", "S1"], "probability": [0.9, 0.1, 0.9, 0.9],
                           "risk_band": ["high", "low", "high", "high"]})
    outcomes = pd.DataFrame({"stay_id": ["S1", "S2"], "overstayed": [True, False], "entry_time": pd.Timestamp("2024-01-15")})
    with pytest.raises(SchemaError, match=r"scores table has 1 problem\(s\):\n- column `stay_id`: the same stay scored more than once \(3 rows: S1, S1, S1\)"):
        evaluate_scores(scored, outcomes)
    with pytest.raises(SchemaError, match=r"outcomes table has 1 problem\(s\):\n- column `stay_id`: the same stay's outcome more than once \(2 rows: S2, S2\)"):
        evaluate_scores(scored.head(2), pd.concat([outcomes, outcomes.tail(1)]))
    once = evaluate_scores(scored.head(2), outcomes)
    assert once.loc[once["slice"] == "all", ["n", "positives", "referred"]].to_numpy().tolist() == [[2, 1, 1]]


def test_outcome_monitoring_refuses_stays_without_an_id_and_counts_the_unscored():
    # merge() matches every missing key with every other: 2 scores and 2 outcomes without a stay id joined as 4 rows (n 5
    # for 3 stays). A score without its stay id cannot be matched to any outcome: refused, rows named by position. Rows
    # score() flagged (no probability) were left out without a word: counted in attrs["unscored"].
    import pytest

    from riskmodel.core.exceptions import SchemaError
    from riskmodel.core.monitoring.outcomes import evaluate_scores

    scored = pd.DataFrame({"stay_id": ["S1", None, None], "probability": [0.9, 0.2, 0.3], "risk_band": ["high", "low", "low"]})
    outcomes = pd.DataFrame({"stay_id": ["S1", None, None], "overstayed": [True, False, True], "entry_time": pd.Timestamp("2024-01-15")})
    with pytest.raises(SchemaError, match=r"scores table has 1 problem\(s\):\n- column `stay_id`: scores without a stay id, which no "
                                          r"outcome can be matched to \(2 rows: row 1, row 2\)"):
        evaluate_scores(scored, outcomes.head(1))
    with pytest.raises(SchemaError, match=r"outcomes table has 1 problem\(s\):\n- column `stay_id`: outcomes without a stay id"):
        evaluate_scores(scored.head(1), outcomes)
    flagged = pd.DataFrame({"stay_id": ["S1", "S2"], "probability": [0.9, np.nan], "risk_band": ["high", None]})
    two = pd.DataFrame({"stay_id": ["S1", "S2"], "overstayed": [True, False], "entry_time": pd.Timestamp("2024-01-15")})
    out = evaluate_scores(flagged, two)
    assert out.loc[out["slice"] == "all", "n"].tolist() == [1] and out.attrs["unscored"] == 1


def test_outcome_slices_below_min_rows_have_counts_but_no_metrics():
    """The docstring: slices with fewer than ``min_rows`` rows "are reported with their counts but no metrics". A month of
    one referred stay that did not overstay read referral_precision 0.0, observed_rate 0.0 and mean_predicted 0.9 (review15fair
    02): a figure nobody can judge from one stay. Its counts stay; every rate is missing."""
    from riskmodel.core.monitoring.outcomes import evaluate_scores

    n = 60
    scored = pd.DataFrame({"stay_id": range(n), "probability": [0.9] + [0.1] * (n - 1), "risk_band": ["high"] + ["low"] * (n - 1)})
    outcomes = pd.DataFrame({"stay_id": range(n), "overstayed": [False] + [True] * 10 + [False] * (n - 11),
                             "entry_time": [pd.Timestamp("2024-05-03")] + [pd.Timestamp("2024-01-10")] * (n - 1)})
    table = evaluate_scores(scored, outcomes, groups=(), min_rows=50).set_index("value")
    may = table.loc["2024-05"]
    assert (may["n"], may["positives"], may["referred"]) == (1, 0, 1)
    for col in ("roc_auc", "pr_auc", "mean_predicted", "observed_rate", "ece", "referral_precision"):
        assert np.isnan(may[col]), (col, may[col])
    # the 60-row total is judged: 10 of 60 overstayed, its one referral did not
    assert table.loc["all", "observed_rate"] == pytest.approx(10 / 60) and table.loc["all", "referral_precision"] == 0.0


def test_outcome_monitoring_counts_the_scored_stays_whose_outcome_is_not_known_yet():
    """A scored stay still in the country with its permit running has no outcome yet (``overstayed`` missing): it was
    left out of every slice without a word, so a recent month of mostly pending stays read as a settled month, its rate
    that of the early leavers. Each slice says how many of its scored stays are pending, a month of pending stays alone
    is listed with none known, and the scored stays the outcomes do not hold at all are counted too."""
    from riskmodel.core.monitoring.outcomes import evaluate_scores

    scored = pd.DataFrame({"stay_id": ["S1", "S2", "S3", "S4", "S5"], "probability": [0.8, 0.2, 0.3, 0.4, 0.5],
                           "risk_band": ["high", "low", "low", "elevated", "elevated"]})
    outcomes = pd.DataFrame({"stay_id": ["S1", "S2", "S3", "S4"], "overstayed": pd.array([True, False, None, None], dtype="boolean"),
                             "entry_time": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-01-28", "2024-02-10"])})
    table = evaluate_scores(scored, outcomes, groups=(), min_rows=1).set_index("value")
    assert table.loc["all", ["n", "pending", "positives"]].tolist() == [2, 2, 1]
    assert table.loc["2024-01", ["n", "pending", "positives"]].tolist() == [2, 1, 1]
    assert table.loc["2024-02", ["n", "pending", "positives", "referred"]].tolist() == [0, 1, 0, 0]
    assert np.isnan(table.loc["2024-02", "observed_rate"]) and np.isnan(table.loc["2024-02", "mean_predicted"])
    assert table.attrs["pending"] == 2 and table.attrs["not_in_outcomes"] == 1
    assert list(table.columns[:3]) == ["slice", "n", "pending"]


def test_outcome_monitoring_reads_each_risk_band_against_its_outcomes():
    """Observed against predicted by band is the first question of outcome monitoring (of the stays called high, how
    many overstayed?); the table had months and groups only, and the referral precision of the referred bands together.
    Hand-made: 60 low stays at 0.05 of which 3 overstayed, 60 high at 0.5 of which 30 did; one high stay still pending."""
    import pytest

    from riskmodel.core.monitoring.outcomes import evaluate_scores

    n = 121
    band = ["low"] * 60 + ["high"] * 61
    scored = pd.DataFrame({"stay_id": range(n), "probability": [0.05] * 60 + [0.5] * 61, "risk_band": band})
    outcomes = pd.DataFrame({"stay_id": range(n),
                             "overstayed": pd.array([True] * 3 + [False] * 57 + [True] * 30 + [False] * 30 + [None], dtype="boolean"),
                             "entry_time": pd.Timestamp("2024-03-01")})
    table = evaluate_scores(scored, outcomes, groups=(), min_rows=50)
    bands = table[table["slice"] == "risk_band"].set_index("value")
    assert list(bands.index) == ["low", "high"]
    assert bands.loc["low", ["n", "positives", "pending"]].tolist() == [60, 3, 0]
    assert bands.loc["low", "observed_rate"] == pytest.approx(0.05) and bands.loc["low", "mean_predicted"] == pytest.approx(0.05)
    assert bands.loc["high", ["n", "positives", "pending"]].tolist() == [60, 30, 1]
    assert bands.loc["high", "observed_rate"] == pytest.approx(0.5) and bands.loc["high", "mean_predicted"] == pytest.approx(0.5)


def test_an_overstay_read_while_the_visa_still_allows_an_extension_is_pending_not_an_outcome():
    """The outcomes are stays labelled as known on a later day (``riskmodel features`` of the later log). A traveller
    still in the country past the permit granted at entry is labelled an overstayer then, yet an extension is recorded
    only at exit: until the longest stay the visa allows has ended, plus the 30 days' grace, the outcome is not known
    (label_mature's rule; training waits for it), and evaluate-scores counted it as an overstay. Read on 2024-06-30:
    S3, a visa on arrival 17 days past its entry permit (30 days' extension room), and S5, a C1 visit visa 121 days past
    its 60 (120 days' room), are pending; S4, visa exempt 61 days past (no room), is an overstay."""
    from riskmodel.core.monitoring.outcomes import evaluate_scores

    ids = ["S1", "S2", "S3", "S4", "S5", "S6"]
    scored = pd.DataFrame({"stay_id": ids, "probability": [0.8, 0.1, 0.6, 0.7, 0.5, 0.2],
                           "risk_band": ["high", "low", "elevated", "high", "elevated", "low"]})
    t = pd.to_datetime
    outcomes = pd.DataFrame({
        "stay_id": ids,
        "entry_time": t(["2024-03-01 10:00", "2024-03-01 11:00", "2024-05-15 09:00", "2024-04-01 09:00", "2024-01-02 09:00",
                         "2024-06-20 09:00"]),
        "exit_time": t(["2024-04-10 12:00", "2024-03-25 12:00", None, None, None, None]),
        "visa_type": ["voa", "voa", "voa", "visa_exempt", "c1_visit", "voa"],
        "permit_end": t(["2024-03-30", "2024-03-30", "2024-06-13", "2024-04-30", "2024-03-01", "2024-07-19"]),
        "overstayed": pd.array([True, False, True, True, True, None], dtype="boolean"),
        "overstay_days": pd.array([11, 0, 17, 61, 121, None], dtype="Int32"),
    })
    table = evaluate_scores(scored, outcomes, groups=(), min_rows=1).set_index("value")
    assert table.loc["all", ["n", "pending", "positives"]].tolist() == [3, 3, 2]
    assert table.attrs["pending"] == 3
    # without the stays' columns the label is all there is to read: as before
    bare = evaluate_scores(scored, outcomes[["stay_id", "entry_time", "overstayed"]], groups=(), min_rows=1).set_index("value")
    assert bare.loc["all", ["n", "pending", "positives"]].tolist() == [5, 1, 4]
