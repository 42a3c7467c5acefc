"""Reasons an officer can act on: only raising factors, grouped inputs, plain sentences, a row with none says so."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from riskmodel import UnseenCategoryWarning, score
from riskmodel.core.config import load_config
from riskmodel.core.risk import ModelConfig, RiskConfig, RiskModel, explain
from riskmodel.core.risk.reasons import MIN_WEIGHT, NO_RAISING_FACTOR, reason_groups
from tests.conftest import REPO

SHIPPED = load_config(REPO / "configs" / "risk.yaml", RiskConfig)

GROUPS = {
    "stay": {
        "features": ["stay_days", "stay_over_permit"],
        "text": "plans to stay {stay_days} days, {stay_over_permit:.1f} times the permit",
        "missing": "no planned stay declared",
    },
    "ticket": {"features": ["ticket"], "text": "no return ticket shown|return ticket shown", "missing": "ticket not on record"},
    "lodging": {
        "features": ["lodging"],
        "text": "{lodging}",
        "words": {"lodging": {"hotel": "staying at a hotel", "friends_family": "staying with friends or family"}},
    },
}


@pytest.fixture(scope="module")
def toy():
    """Risk rises with the planned stay (two engineered forms of one input), falls with a return ticket."""
    rng = np.random.default_rng(0)
    n = 12_000
    stay = rng.integers(5, 120, n).astype(float)
    ticket = (rng.random(n) < 0.7).astype(float)
    lodging = rng.choice(["hotel", "friends_family"], n)
    logit = -5 + 0.03 * stay - 1.2 * ticket + 0.6 * (lodging == "friends_family")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"stay_days": stay, "stay_over_permit": stay / 30, "ticket": ticket, "lodging": lodging, "y": y})
    df.loc[:50, "stay_days"] = np.nan
    m = RiskModel(
        features=["stay_days", "stay_over_permit", "ticket", "lodging"], categorical=["lodging"], target="y",
        num_boost_round=120, reasons=GROUPS,
    )
    return m.fit(df.iloc[:7_000], valid=df.iloc[7_000:9_000], calib=df.iloc[9_000:]), df.iloc[9_000:]


def test_only_raising_groups_are_reasons_and_weights_add_up(toy):
    model, rows = toy
    out = explain(model, rows, k=3)
    contrib = model.contributions(rows)[:, :-1]
    stay = contrib[:, 0] + contrib[:, 1]  # the two forms of the planned stay are one reason
    for i in (1, 2, 3):
        shown = out[f"reason_{i}_feature"].notna().to_numpy()
        feat = out[f"reason_{i}_feature"].to_numpy()
        w = out[f"reason_{i}_weight"].to_numpy()
        assert (w[shown] >= MIN_WEIGHT).all()
        np.testing.assert_allclose(w[shown & (feat == "stay")], stay[shown & (feat == "stay")], rtol=1e-9)
        ticket_rows = shown & (feat == "ticket")
        # a return ticket lowers the risk: it is never given as a reason
        assert (rows["ticket"].to_numpy()[ticket_rows] == 0).all()
        assert not out[f"reason_{i}"].fillna("").str.startswith("return ticket shown").any()
    assert set(out["reason_1_feature"].dropna()) <= {"stay", "ticket", "lodging"}
    shares = out[["reason_1_share", "reason_2_share", "reason_3_share"]].fillna(0).sum(axis=1)
    assert (shares <= 1 + 1e-9).all()


def test_sentences_are_plain_and_a_row_without_raising_factor_says_so(toy):
    model, rows = toy
    out = explain(model, rows, k=3)
    texts = [t for t in out[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel() if t]
    assert not [t for t in texts if re.search(r"_|=|stay_days|friends_family", t)]
    assert any(t.startswith("staying with friends or family (") and t.endswith("% of the added risk)") for t in texts)
    # a short stay with a ticket at a hotel: nothing raises the risk
    calm = pd.DataFrame({"stay_days": [6.0], "stay_over_permit": [0.2], "ticket": [1.0], "lodging": ["hotel"]})
    one = explain(model, calm, k=3).iloc[0]
    assert one["reason_1"] == NO_RAISING_FACTOR
    assert one["reason_2"] is None and np.isnan(one["reason_1_weight"])
    # an unknown planned stay reads the group's `missing` sentence, not a column name
    unknown = explain(model, calm.assign(stay_days=np.nan, stay_over_permit=np.nan, ticket=0.0, lodging="friends_family"), k=3)
    assert not unknown.filter(like="reason_").astype(str).apply(lambda c: c.str.contains("stay_days")).any().any()


def test_models_saved_with_one_template_per_feature_still_explain(toy, tmp_path):
    model, rows = toy
    old = RiskModel.load(model.save(tmp_path / "m"))
    old.reasons = {"ticket": "no return ticket|return ticket shown"}
    groups = {g.name: g.features for g in reason_groups(old)}
    assert groups == {"ticket": ("ticket",), "stay_days": ("stay_days",), "stay_over_permit": ("stay_over_permit",), "lodging": ("lodging",)}
    out = explain(old, rows.head(50), k=2)
    assert (out["reason_1_weight"].dropna() >= MIN_WEIGHT).all()


def test_reason_groups_are_validated():
    base = dataclasses.asdict(SHIPPED.model) | {"splits": SHIPPED.model.splits}
    with pytest.raises(ValueError, match="unknown key"):
        ModelConfig(**(base | {"reasons": {"visa": {"features": ["visa_type"], "text": "x", "word": {}}}}))
    with pytest.raises(ValueError, match="must be a template or a mapping with `features`"):
        ModelConfig(**(base | {"reasons": {"visa": {"text": "x"}}}))
    with pytest.raises(ValueError, match="is in reason groups 'a' and 'b'"):
        ModelConfig(**(base | {"reasons": {"a": {"features": ["visa_type"], "text": "x"}, "b": {"features": ["visa_type"], "text": "y"}}}))


def test_shipped_groups_cover_every_feature_once():
    owners = [f for spec in SHIPPED.model.reasons.values() for f in spec["features"]]
    assert sorted(owners) == sorted(SHIPPED.model.features)
    assert {"planned_stay_days", "planned_over_permitted", "planned_over_max", "planned_beyond_max_days"} == set(
        SHIPPED.model.reasons["planned_stay"]["features"]
    )
    assert SHIPPED.model.reasons["last_departure"]["missing"] == "no earlier departure on record"


def test_shipped_sentences_format_every_number():
    # a raw float ("2.148912037 days") differs between a JSON round trip and the frame it came from
    import string

    for name, spec in SHIPPED.model.reasons.items():
        for _, field, fmt, _ in string.Formatter().parse(spec["text"]):
            if field and field not in SHIPPED.model.categorical and field not in spec.get("words", {}):
                assert fmt, f"{name}: {{{field}}} has no format spec"


@pytest.fixture(scope="module")
def unknown_lodging_is_risky():
    """Lodging left blank in training raises the risk a lot, so LightGBM learns a branch for a missing lodging."""
    rng = np.random.default_rng(1)
    n = 12_000
    stay = rng.integers(5, 120, n).astype(float)
    lodging = rng.choice(np.array(["hotel", "friends_family", None], dtype=object), n, p=[0.45, 0.45, 0.10])
    logit = -4 + 0.01 * stay + 3.0 * pd.isna(lodging)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"stay_days": stay, "lodging": lodging, "y": y})
    groups = {"lodging": {"features": ["lodging"], "text": "{lodging}", "missing": "lodging not on record",
                          "words": {"lodging": {"hotel": "staying at a hotel"}}}}
    m = RiskModel(features=["stay_days", "lodging"], categorical=["lodging"], target="y", num_boost_round=60, reasons=groups)
    return m.fit(df.iloc[:7_000], valid=df.iloc[7_000:9_000], calib=df.iloc[9_000:])


@pytest.mark.parametrize("n", [1, 100])
def test_a_level_never_seen_in_training_is_not_called_not_on_record(unknown_lodging_is_risky, n):
    """A port the model never saw (Entikong) is scored down the branch for a missing port, and its reason read
    "port of entry not on record (32% of the added risk)" while the row's `warning` said the port was given. The
    level is on record: the reason says it was not seen in training, on every path (one record, a batch, explain),
    and a lodging really left blank still reads the group's `missing` sentence."""
    model = unknown_lodging_is_risky
    rows = pd.DataFrame({"stay_days": [30.0] * n, "lodging": ["tent"] * n})
    blank = pd.DataFrame({"stay_days": [30.0], "lodging": [None]})
    with pytest.warns(UnseenCategoryWarning):
        scored = score(rows, model=model, reasons=2, audit_log=False)
    with pytest.warns(UnseenCategoryWarning):
        explained = explain(model, rows, k=2)
    for out in (scored, explained):
        for row in out[["reason_1", "reason_2"]].fillna("").to_numpy().tolist():
            assert not [t for t in row if "not on record" in t], row
            lodging = [t for t in row if t.startswith("lodging")]
            assert len(lodging) == 1 and lodging[0].startswith("lodging not seen in training"), row
            assert lodging[0].endswith("% of the added risk)") and "tent" not in lodging[0], row  # a value sent is never echoed
    assert (scored["warning"] == "lodging: level not seen in training, scored as missing").all()
    assert score(blank, model=model, reasons=2, audit_log=False)["reason_1"].iat[0].startswith("lodging not on record (")


@pytest.fixture(scope="module")
def history():
    """Earlier overstays and long earlier stays both raise the risk, in one reason group with a clause for each."""
    rng = np.random.default_rng(2)
    n = 12_000
    overstays = rng.poisson(0.4, n).astype(float)
    days = rng.integers(5, 200, n).astype(float)
    logit = -4.5 + 0.9 * overstays + 0.015 * days
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"prior_overstays": overstays, "prior_days": days, "y": y})
    groups = {"earlier": {"features": ["prior_overstays", "prior_days"],
                          "text": "{prior_overstays:.0f} earlier overstay(s); earlier stays of {prior_days:.0f} days"}}
    m = RiskModel(features=["prior_overstays", "prior_days"], target="y", num_boost_round=80, reasons=groups)
    return m.fit(df.iloc[:7_000], valid=df.iloc[7_000:9_000], calib=df.iloc[9_000:]), df.iloc[9_000:]


def test_a_reason_states_only_the_clauses_whose_facts_raise_the_risk(history):
    """'0 earlier overstay(s)' lowers the risk: a reason for referral raised by the long earlier stays does not state it."""
    model, rows = history
    out = explain(model, rows, k=1)
    contrib = model.contributions(model.encode(rows))
    shown = (out["reason_1_feature"] == "earlier").to_numpy()
    lowering = contrib[:, 0] < MIN_WEIGHT  # the overstays' own contribution does not raise
    raising_days = contrib[:, 1] >= MIN_WEIGHT
    only_days = shown & lowering & raising_days & (rows["prior_overstays"] == 0).to_numpy()
    both = shown & ~lowering & raising_days
    assert only_days.sum() > 20 and both.sum() > 20  # both kinds of rows are there
    for r in np.flatnonzero(only_days):
        assert re.fullmatch(rf"earlier stays of {rows['prior_days'].iat[r]:.0f} days \(\d+% of the added risk\)", out["reason_1"].iat[r])
    for r in np.flatnonzero(both):
        assert out["reason_1"].iat[r].startswith(f"{rows['prior_overstays'].iat[r]:.0f} earlier overstay(s); earlier stays of ")


def test_the_shipped_planned_stay_reason_reads_as_plain_english_for_a_short_stay():
    """A one-day plan on a 30-day permit: "1 day(s)" and 1/30 = 3% of the stay, not "1 days, 0.0 times the stay"."""
    from riskmodel.core.risk.reasons import ReasonGroup

    spec = SHIPPED.model.reasons["planned_stay"]
    group = ReasonGroup(name="planned_stay", features=tuple(spec["features"]), text=spec["text"], missing=spec.get("missing"))
    values = {"planned_stay_days": 1.0, "planned_over_permitted": 1 / 30, "planned_over_max": 1 / 90, "planned_beyond_max_days": 0.0}
    assert group.render(values) == "plans to stay 1 day(s), 3% of the stay permitted at entry"
