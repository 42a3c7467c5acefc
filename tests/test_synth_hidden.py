"""Hidden risk in the generator (issue 14 part 1): latent propensity, stay noise, unrecorded exits, drift, observable oracle."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.synth.generator import HIDDEN_RISK, NO_HIDDEN_RISK
from riskmodel.core.datasets import make_crossings
from riskmodel.core.risk.metrics import paired_difference, reliability_table


def _digest(df: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()).hexdigest()[:16]


@pytest.fixture(scope="module")
def hidden():
    return make_crossings(20_000, "2017-01-01", "2023-12-31", seed=3, **HIDDEN_RISK)


def test_no_hidden_risk_gives_the_data_of_before_bit_for_bit():
    """Digests taken on the generator before issue 14 (commit b176caa) with the same arguments."""
    d = make_crossings(3_000, "2018-01-01", "2021-06-30", seed=5, **NO_HIDDEN_RISK)
    old_truth = d.truth[["stay_id", "p_overstay", "will_overstay", "archetype"]]
    assert (_digest(d.crossings), _digest(d.stays), _digest(old_truth)) == ("9fb1fcbc295a297f", "8b7f19dd8bc77677", "3810196bf0e276df")
    # and the default does hide risk: the same call with it differs
    hidden = make_crossings(3_000, "2018-01-01", "2021-06-30", seed=5, **HIDDEN_RISK)
    assert _digest(hidden.crossings) != "9fb1fcbc295a297f"
    # hidden risk is the generator's default (issue 14 part 1): no argument gives the HIDDEN_RISK data
    default = make_crossings(3_000, "2018-01-01", "2021-06-30", seed=5)
    assert (_digest(default.crossings), _digest(default.stays)) == (_digest(hidden.crossings), _digest(hidden.stays))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"hidden_sd": -0.5}, r"`hidden_sd` must be a number in \[0, 5\]; got -0.5"),
     ({"unrecorded_exit_share": 1.5}, r"`unrecorded_exit_share` must be a number in \[0, 1\]; got 1.5")],
)
def test_bad_hidden_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_crossings(10, "2019-01-01", "2019-02-01", **kwargs)


def test_observable_oracle_is_calibrated_on_the_drawn_outcomes(hidden):
    """Per tenth of the oracle, the recorded outcome rate lies within 4 standard errors of the mean oracle.

    The standard error of a bin's rate is sqrt(sum p (1 - p)) / n for independent
    Bernoulli draws with probabilities p (the bins hold ~10k stays, 3 to ~2,000
    positives); 4 SE over 10 bins keeps the chance of a false alarm below 0.1%.
    """
    t = hidden.truth
    p, y = t["p_observable"].to_numpy(), t["recorded_overstay"].to_numpy(float)
    bins = pd.qcut(p, 10, labels=False)
    for b in range(10):
        m = bins == b
        se = np.sqrt((p[m] * (1 - p[m])).sum()) / m.sum()
        assert abs(y[m].mean() - p[m].mean()) <= 4 * se, (b, y[m].mean(), p[m].mean(), se)
    assert abs(y.mean() - p.mean()) <= 4 * np.sqrt((p * (1 - p)).sum()) / len(p)


def test_hidden_risk_is_a_large_part_of_the_risk(hidden):
    """The full oracle (latent known) ranks clearly better than the observable one; the latent persists."""
    t = hidden.truth
    y = t["recorded_overstay"].to_numpy(float)
    d, lo, hi = paired_difference(y, t["p_full"].to_numpy(), t["p_observable"].to_numpy(), metric="pr_auc", n_boot=100)
    assert lo > 0.02, (d, lo, hi)
    s = hidden.stays[["stay_id", "traveller_id"]].merge(t, on="stay_id")
    assert s.groupby("traveller_id")["latent"].nunique().max() == 1
    assert 0.7 < t.drop_duplicates("latent")["latent"].std() < 0.9  # sd of the latent: 0.8 = sqrt(0.64)


def test_unrecorded_exits_look_like_overstays():
    # a share above the default, so that a small log holds enough of them to judge
    data = make_crossings(8_000, "2017-01-01", "2023-12-31", seed=3, **(HIDDEN_RISK | {"unrecorded_exit_share": 0.02}))
    s = data.stays.merge(data.truth, on="stay_id")
    unrec = s[s["exit_unrecorded"]]
    assert len(unrec) > 50
    assert unrec["exit_time"].isna().all()
    mature = unrec["overstayed"].notna()
    assert unrec.loc[mature, "overstayed"].astype(bool).all()
    assert (unrec["recorded_overstay"]).all() and not unrec["will_overstay"].all()
    labelled = s[s["overstayed"].notna()]
    assert (labelled["overstayed"].astype(bool) == labelled["recorded_overstay"]).mean() > 0.995


def test_base_rate_drifts_by_the_documented_log_odds_a_year():
    """With nothing else hidden, a traveller's first stay moves by drift x years since 2020-01-01 on the log-odds."""
    kw = {"hidden_sd": 0.0, "unrecorded_exit_share": 0.0}
    flat = make_crossings(1_500, "2017-01-01", "2023-12-31", seed=8, drift_per_year=0.0, **kw)
    drift = make_crossings(1_500, "2017-01-01", "2023-12-31", seed=8, drift_per_year=0.08, **kw)
    def first_stays(data):
        s = data.stays[["stay_id", "traveller_id", "entry_time"]].merge(data.truth[["stay_id", "p_overstay"]], on="stay_id")
        return s.sort_values("entry_time").drop_duplicates("traveller_id").drop(columns="stay_id")

    # stay ids are crossing ids, which shift when other outcomes (hence exits) move: match on traveller and entry
    first = first_stays(flat).merge(first_stays(drift), on=["traveller_id", "entry_time"], suffixes=("", "_drift"))
    years = (first["entry_time"].dt.normalize() - pd.Timestamp("2020-01-01")).dt.days.to_numpy() / 365.25

    def logit(p):
        return np.log(p / (1 - p))

    gap = logit(first["p_overstay_drift"].to_numpy()) - logit(first["p_overstay"].to_numpy())
    np.testing.assert_allclose(gap, 0.08 * years, atol=1e-9)
    assert years.min() < -2.5 and years.max() > 3.5


@pytest.mark.slow
def test_a_model_on_ten_times_more_data_does_not_beat_the_observable_oracle():
    """LightGBM fitted on 10x the travellers of a fresh test set; its PR-AUC is not above the oracle's beyond noise."""
    from riskmodel.core.features import build_features
    from riskmodel.core.risk import RiskModel
    from riskmodel.core.config import load_config
    from riskmodel.core.risk import RiskConfig
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "risk.yaml", RiskConfig).model
    train_data = make_crossings(60_000, "2017-01-01", "2023-12-31", seed=101, **HIDDEN_RISK)
    test_data = make_crossings(6_000, "2017-01-01", "2023-12-31", seed=202, **HIDDEN_RISK)

    def table(data):
        f = build_features(data.crossings, validate=False)
        t = data.truth.set_index("stay_id").loc[f["stay_id"]]
        f["recorded"] = t["recorded_overstay"].to_numpy()
        return f, t["p_observable"].to_numpy()

    train, _ = table(train_data)
    test, oracle = table(test_data)
    train[cfg.target] = train["recorded"]
    t = train[cfg.time_column]
    cut = t.quantile([0.8, 0.9]).to_numpy()
    model = RiskModel.from_config(cfg).fit(train[t < cut[0]], valid=train[(t >= cut[0]) & (t < cut[1])], calib=train[t >= cut[1]])
    p = model.predict_proba(test)[:, 1]
    y = test["recorded"].to_numpy(float)
    d, lo, hi = paired_difference(y, p, oracle, metric="pr_auc", n_boot=300)
    assert lo <= 0, (d, lo, hi)
    d, lo, hi = paired_difference(y, p, oracle, metric="roc_auc", n_boot=300)
    assert lo <= 0, (d, lo, hi)


def test_the_log_with_unrecorded_exits_keeps_the_contract(hidden):
    from riskmodel.core.schema import validate_crossings

    validate_crossings(hidden.crossings)
