"""The generic risk trainer: encoding, calibration, persistence, metrics, baselines, errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.config import from_dict, load_config, to_dict
from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import ConfigError, ModelLoadError, NotFittedError, RiskModelWarning, SchemaError, UnseenCategoryWarning
from riskmodel.core.features import training_table
from riskmodel.core.risk import (
    ModelConfig,
    RiskConfig,
    RiskModel,
    Splits,
    classification_metrics,
    expected_calibration_error,
    time_split,
    train_risk_model,
)
from riskmodel.core.risk.calibration import IsotonicCalibrator, PlattCalibrator, calibrator_from_dict, make_calibrator
from riskmodel.core.risk.metrics import at_budget
from tests.conftest import REPO

CONFIG = REPO / "configs" / "risk.yaml"


@pytest.fixture(scope="session")
def risk_config() -> RiskConfig:
    return load_config(CONFIG, RiskConfig)


@pytest.fixture(scope="session")
def risk_data():
    return make_crossings(8_000, "2017-01-01", "2023-12-31", seed=5)


@pytest.fixture(scope="session")
def risk_table(risk_data):
    return training_table(risk_data.crossings, grace_days=30)


@pytest.fixture(scope="session")
def risk_result(risk_table, risk_data, risk_config):
    oracle = risk_data.truth.set_index("stay_id").loc[risk_table["stay_id"], "p_overstay"].to_numpy()
    return train_risk_model(risk_table, risk_config.model, fairness=risk_config.fairness, oracle=oracle)


def test_config_file_loads_and_rejects_typos(risk_config, tmp_path):
    assert risk_config.model.target == "overstayed"
    assert not set(risk_config.model.audit) & set(risk_config.model.features), "audit attributes must not be features"
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.read_text().replace("early_stopping_rounds:", "early_stoping_rounds:"))
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(bad, RiskConfig)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"categorical": ["nope"]}, "not in `features`"),
        ({"features": []}, "at least one column"),
        ({"budgets": [2.0]}, "fractions between 0 and 1"),
        ({"calibration": "magic"}, "must be one of"),
        ({"splits": {"valid_fraction": 0.5, "calib_fraction": 0.3, "test_fraction": 0.2}}, "sum below 0.9"),
    ],
)
def test_model_config_errors(change, match):
    base = {"target": "y", "time_column": "t", "features": ["a", "b"], "categorical": ["a"]}
    with pytest.raises(ConfigError, match=match):
        from_dict(ModelConfig, {**base, **change})


@pytest.mark.parametrize(
    ("features", "audit", "named"),
    [
        (["a", "nationality"], ["nationality"], "nationality"),  # the attribute itself
        (["a", "birth_year"], ["age_band"], "birth_year"),  # a derived age: the year of birth the band is read from
        (["a", "age"], ["age_band"], "age"),
        (["a", "nationality"], ["region"], "nationality"),  # the region is read from the nationality
        (["a", "region"], ["nationality", "sex"], "region"),
    ],
)
def test_an_audit_attribute_or_what_it_is_derived_from_is_no_model_input(features, audit, named):
    """The model card says the audit attributes are not model inputs: a config that makes one (or its source) an input is refused."""
    base = {"target": "y", "time_column": "t", "features": features, "audit": audit}
    with pytest.raises(ConfigError, match=rf"`{named}`.*audit attribute.*remove"):
        from_dict(ModelConfig, base)


def test_features_beside_the_audit_attributes_are_accepted():
    cfg = from_dict(ModelConfig, {"target": "y", "time_column": "t", "features": ["a", "sexes_seen"], "audit": ["sex", "age_band"]})
    assert cfg.features == ("a", "sexes_seen")


def test_time_split_is_ordered(risk_table, risk_config):
    parts = time_split(risk_table, "entry_time", risk_config.model.splits)
    order = ["train", "valid", "calib", "test"]
    for a, b in zip(order, order[1:]):
        assert parts[a]["entry_time"].max() <= parts[b]["entry_time"].min()
    assert sum(len(p) for p in parts.values()) == len(risk_table)


def test_time_split_missing_column():
    with pytest.raises(SchemaError, match="time column is missing"):
        time_split(pd.DataFrame({"a": [1]}), "when", Splits())


def test_holdout_quality(risk_result):
    m = risk_result.metrics
    assert m["auc_over_oracle"] > 0.9
    assert m["roc_auc"] > m["group_rate_roc_auc"]
    assert abs(m["mean_predicted"] - m["base_rate"]) < 0.01
    assert m["ece"] < 0.02
    assert m["lift_at_1pct"] > 5
    assert risk_result.lineage["train_to"] <= risk_result.lineage["test_from"]


def test_every_model_reports_per_group_rates(risk_result, risk_config):
    table = risk_result.fairness.table
    assert set(table["attribute"]) == set(risk_config.model.audit)
    for col in ("support", "referral_rate", "fpr", "fnr", "precision", "mean_predicted", "observed_rate"):
        assert col in table.columns
    assert "fairness_passed" in risk_result.metrics


def test_predictions_in_input_order_and_bands(risk_result, risk_table):
    model = risk_result.model
    sample = risk_table.sample(300, random_state=1)
    p = model.predict_proba(sample)[:, 1]
    p_rev = model.predict_proba(sample.iloc[::-1])[:, 1]
    np.testing.assert_allclose(p, p_rev[::-1])
    bands = model.band(p)
    assert set(bands) <= {"low", "elevated", "high"}
    assert (p[bands == "high"].min(initial=1) >= p[bands == "low"].max(initial=0))


def test_encoding_takes_plain_strings_and_counts_unseen(risk_result, risk_table):
    model = risk_result.model
    rows = risk_table.head(50).copy()
    as_str = rows.copy()
    for c in model.categorical:
        as_str[c] = as_str[c].astype(object).astype(str)
    np.testing.assert_allclose(model.predict_proba(rows), model.predict_proba(as_str))
    as_str.loc[as_str.index[:3], "visa_type"] = "golden_visa"
    with pytest.warns(UnseenCategoryWarning, match="not seen in training"):
        enc = model.encode(as_str)
    assert model.unseen_counts_ == {"visa_type": 3}
    assert np.isnan(enc[:3, model.features.index("visa_type")]).all()


def test_save_load_round_trip_without_pickle(risk_result, risk_table, tmp_path):
    model = risk_result.model
    folder = model.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "model.txt"]
    meta = json.loads((folder / "meta.json").read_text())
    for key in ("levels", "features", "thresholds", "reference", "calibrator"):
        assert key in meta
    loaded = RiskModel.load(folder)
    sample = risk_table.tail(500)
    np.testing.assert_allclose(loaded.predict_proba(sample), model.predict_proba(sample), rtol=0, atol=1e-12)


def test_reference_distribution_is_stored(risk_result):
    ref = risk_result.model.reference_
    assert set(ref["features"]) == set(risk_result.model.features)
    for spec in ref["features"].values():
        assert abs(sum(spec["share"]) + spec["missing"] - 1) < 1e-9
    assert abs(sum(ref["score"]["share"]) - 1) < 1e-9


def test_not_fitted_and_missing_columns(risk_result):
    m = RiskModel(features=["a"], categorical=[])
    with pytest.raises(NotFittedError, match="not fitted"):
        m.predict_proba(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(SchemaError, match="required column is missing"):
        risk_result.model.predict_proba(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(ModelLoadError, match="not a saved RiskModel"):
        RiskModel.load("/nonexistent/folder")


def test_fit_errors():
    df = pd.DataFrame({"a": np.arange(100.0), "y": [0.0] * 100, "t": np.arange(100)})
    m = RiskModel(features=["a"], target="y")
    with pytest.raises(SchemaError, match="single class"):
        m.fit(df)
    df["y"] = pd.array([True, False] * 49 + [None, None], dtype="boolean")
    with pytest.raises(SchemaError, match="target is missing"):
        m.fit(df)
    df2 = pd.DataFrame({"a": ["x"] * 10, "y": [0, 1] * 5})
    with pytest.raises(SchemaError, match="expected numbers"):
        RiskModel(features=["a"], target="y").fit(df2)


def test_immature_rows_refused_by_trainer(risk_config):
    df = pd.DataFrame({c: [1.0, 2.0] for c in ("a",)})
    df["t"] = [1, 2]
    df["y"] = pd.array([True, None], dtype="boolean")
    cfg = ModelConfig(target="y", time_column="t", features=("a",))
    with pytest.raises(SchemaError, match="immature labels"):
        train_risk_model(df, cfg)


def test_trainer_is_generic_credit_table():
    """A non-immigration table, trained from a config dict alone."""
    rng = np.random.default_rng(3)
    n = 12_000
    income = rng.lognormal(10, 0.5, n)
    debt_ratio = rng.uniform(0, 1.5, n)
    employment = rng.choice(["salaried", "self_employed", "unemployed"], n, p=[0.7, 0.2, 0.1])
    region = rng.choice(["north", "south"], n)
    logit = -4 + 2.5 * debt_ratio - 0.5 * (np.log(income) - 10) + np.where(employment == "unemployed", 1.5, 0)
    default = rng.random(n) < 1 / (1 + np.exp(-logit))
    credit = pd.DataFrame(
        {
            "application_date": pd.date_range("2015-01-01", periods=n, freq="h"),
            "income": income,
            "debt_ratio": debt_ratio,
            "employment": pd.array(employment, dtype="str"),
            "region": region,
            "defaulted": default,
        }
    )
    cfg = from_dict(
        ModelConfig,
        {
            "target": "defaulted",
            "time_column": "application_date",
            "features": ["income", "debt_ratio", "employment"],
            "categorical": ["employment"],
            "audit": ["region"],
            "baseline_group": "employment",
            "num_boost_round": 300,
        },
    )
    res = train_risk_model(credit, cfg)
    assert res.metrics["roc_auc"] > 0.7
    assert res.metrics["roc_auc"] > res.metrics["group_rate_roc_auc"]
    assert set(res.fairness.table["group"]) == {"north", "south"}


def test_calibrators_round_trip_and_errors():
    rng = np.random.default_rng(0)
    margin = rng.normal(-3, 1.5, 20_000)
    y = rng.random(20_000) < 1 / (1 + np.exp(-(0.8 * margin + 0.3)))
    for cal in (IsotonicCalibrator(), PlattCalibrator()):
        fitted = cal.fit(margin, y)
        again = calibrator_from_dict(json.loads(json.dumps(fitted.to_dict())))
        np.testing.assert_allclose(again.transform(margin), fitted.transform(margin))
        assert expected_calibration_error(y, fitted.transform(margin)) < 0.01
    platt = PlattCalibrator().fit(margin, y)
    assert platt.a_ == pytest.approx(0.8, abs=0.1)
    with pytest.raises(NotFittedError, match="not fitted"):
        IsotonicCalibrator().transform(margin)
    with pytest.raises(ConfigError, match="must be one of"):
        make_calibrator("magic")


def test_metrics_against_hand_computed_values():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], float)
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    top = at_budget(y, p, 0.2)  # top 2 rows: one hit out of two positives
    assert top == {"precision": 0.5, "recall": 0.5, "lift": 2.5}
    m = classification_metrics(y, p, budgets=(0.1,))
    assert m["precision_at_10pct"] == 1.0
    assert m["roc_auc"] == pytest.approx(15 / 16)
    perfect = expected_calibration_error(np.array([0, 1] * 50, float), np.full(100, 0.5))
    assert perfect == pytest.approx(0.0)
    assert expected_calibration_error(np.zeros(100), np.full(100, 0.3)) == pytest.approx(0.3)


def test_reason_codes_plain_words_direction_weight(risk_result, risk_table):
    from riskmodel.core.risk import explain
    from riskmodel.core.risk.reasons import MIN_WEIGHT, reason_groups

    model = risk_result.model
    rows = risk_table.sort_values("prior_overstays").tail(20)
    out = explain(model, rows, k=3)
    assert list(out.index) == list(rows.index)
    for i in (1, 2, 3):
        assert {f"reason_{i}", f"reason_{i}_feature", f"reason_{i}_direction", f"reason_{i}_weight", f"reason_{i}_share"} <= set(out.columns)
        shown = out[f"reason_{i}_direction"].notna()
        # only factors that raise the risk are reasons, each with its weight
        assert set(out.loc[shown, f"reason_{i}_direction"]) <= {"raises"}
        assert (out.loc[shown, f"reason_{i}_weight"] >= MIN_WEIGHT).all()
        assert out.loc[~shown, f"reason_{i}_weight"].isna().all()
    # weights are sorted by size; a group's weight is the sum of its features' contributions
    w = out[["reason_1_weight", "reason_2_weight", "reason_3_weight"]].fillna(-np.inf).to_numpy()
    assert (w[:, 0] >= w[:, 1]).all() and (w[:, 1] >= w[:, 2]).all()
    contrib = model.contributions(rows)
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict_margin(rows), rtol=1e-6, atol=1e-6)
    members = {g.name: [model.features.index(f) for f in g.features] for g in reason_groups(model)}
    by_hand = [contrib[r, members[g]].sum() for r, g in enumerate(out["reason_1_feature"])]
    np.testing.assert_allclose(out["reason_1_weight"], by_hand, rtol=1e-9)
    # texts come from the config's groups: plain sentences, never column names or codes
    hit = out[out["reason_1_feature"] == "earlier_stays"]
    assert len(hit) and hit["reason_1"].str.contains("earlier overstay").all()
    texts = [t for t in out[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel() if t]
    assert not any("=" in t or "_" in t for t in texts), texts


def test_reason_text_templates():
    from riskmodel.core.risk.reasons import reason_text

    assert reason_text("prior_overstays", 2.0, "{value:.0f} earlier overstay(s)") == "2 earlier overstay(s)"
    assert reason_text("has_return_ticket", 0.0, "no return ticket|return ticket shown") == "no return ticket"
    assert reason_text("has_return_ticket", 1.0, "no return ticket|return ticket shown") == "return ticket shown"
    assert reason_text("visa_type", None, "visa {value}") == "visa_type: unknown"
    assert reason_text("prior_overstays", float("nan"), "{value:.0f} earlier overstay(s)") == "prior_overstays: unknown"
    assert reason_text("x", 3.0, None) == "x = 3"


def test_trainer_names_missing_config_columns(risk_table, risk_config):
    with pytest.raises(SchemaError, match="column named in the config is missing"):
        train_risk_model(risk_table.drop(columns=["prior_visits"]), risk_config.model)


def test_single_class_calibration_slice_keeps_the_booster_probability():
    from riskmodel.core.exceptions import RiskModelWarning

    rng = np.random.default_rng(0)
    a = rng.normal(size=400)
    train = pd.DataFrame({"a": a, "y": (a + rng.normal(size=400) > 0).astype(int)})
    calib = pd.DataFrame({"a": rng.normal(size=50), "y": [0] * 50})
    with pytest.warns(RiskModelWarning, match="single class"):
        m = RiskModel(features=["a"], target="y", num_boost_round=5).fit(train, calib=calib)
    p = m.predict_proba(train)[:, 1]
    assert m.calibrator_.kind == "none" and np.unique(p).size > 1


def test_single_class_early_stopping_slice_warns_and_stops_nothing():
    # An early-stopping slice with no overstay stopped the booster at the tree that best predicts "nobody overstays"
    # (the first), without a word: 29 distinct scores. Stopping on one outcome chooses nothing: all num_boost_round
    # trees are grown, as without `valid`, and the slice is named in a warning.
    from riskmodel.core.exceptions import RiskModelWarning

    rng = np.random.default_rng(0)
    a = rng.normal(size=600)
    train = pd.DataFrame({"a": a, "y": (a + rng.normal(size=600) > 0).astype(int)})
    valid = pd.DataFrame({"a": rng.normal(size=80), "y": [0] * 80})
    calib = pd.DataFrame({"a": (b := rng.normal(size=200)), "y": (b + rng.normal(size=200) > 0).astype(int)})
    with pytest.warns(RiskModelWarning, match=r"the early-stopping slice `valid` \(80 rows\) has a single class"):
        m = RiskModel(features=["a"], target="y", num_boost_round=40, early_stopping_rounds=5).fit(train, valid=valid, calib=calib)
    assert m.best_iteration_ == 40


# ----------------------------------------------------------------------------- scikit-learn citizenship


def _timed_table(n: int = 900, seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    """A time-ordered table where a high ``a`` means overstaying, with a text category and gaps."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "entry_time": pd.date_range("2019-01-01", periods=n, freq="D"),
            "a": np.where(rng.random(n) < 0.05, np.nan, a),
            "c": rng.choice(["x", "y", "z"], size=n),
        }
    )
    y = pd.Series((a + rng.normal(scale=0.5, size=n) > 0.8).astype(int), name="overstayed")
    return X, y


def _small_model(**settings) -> RiskModel:
    return RiskModel(features=["a", "c"], categorical=["c"], params={"min_child_samples": 20}, num_boost_round=30, **settings)


def _on_training_rows():
    """``fit`` without ``valid`` and ``calib`` (the scikit-learn path) warns that it calibrates on the training rows."""
    return pytest.warns(RiskModelWarning, match="band thresholds are fitted on the training rows")


def _slices() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    X, y = _timed_table()
    table = X.assign(overstayed=y)
    return table.iloc[:500], table.iloc[500:700], table.iloc[700:]


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid", "none"])
def test_fit_without_valid_or_calib_warns_that_it_fits_on_the_training_rows(calibration):
    """In-sample margins: a calibrator is overconfident there and band thresholds refer another share of new rows,
    so even ``calibration="none"`` (thresholds only) warns."""
    X, y = _timed_table()
    with pytest.warns(RiskModelWarning, match=r"band thresholds are fitted on the training rows.*pass `valid=` and `calib=`") as seen:
        _small_model(calibration=calibration).fit(X, y)
    assert len([w for w in seen if issubclass(w.category, RiskModelWarning)]) == 1


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid"])
def test_fit_with_valid_but_no_calib_warns_that_it_calibrates_on_the_early_stopping_rows(calibration):
    train, valid, _ = _slices()
    with pytest.warns(RiskModelWarning, match=r"calibrator is fitted on `valid`.*pass `calib=` a time slice later than `valid`.*calibration=\"none\""):
        _small_model(calibration=calibration).fit(train, valid=valid)
    # the same defect through the front door: `calib` is the early-stopping table itself
    with pytest.warns(RiskModelWarning, match="calibrator is fitted on `valid`"):
        _small_model(calibration=calibration).fit(train, valid=valid, calib=valid)


def test_fit_with_a_later_calib_slice_or_without_a_calibrator_on_valid_does_not_warn():
    train, valid, calib = _slices()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RiskModelWarning)
        _small_model().fit(train, valid=valid, calib=calib)
        # no calibrator: only band thresholds are read from `valid`, rows the trees never learned (the tuning path)
        _small_model(calibration="none").fit(train, valid=valid)
        _small_model(calibration="none").fit(train, valid=valid, calib=valid)


def test_fit_refuses_the_training_table_as_calib():
    train, valid, _ = _slices()
    with pytest.raises(ConfigError, match=r"`calib` is the training table.*pass `calib=` a time slice later than"):
        _small_model().fit(train, valid=valid, calib=train)
    with pytest.raises(ConfigError, match="`calib` is the training table"):
        _small_model(calibration="none").fit(train, calib=train)


def test_fit_refuses_a_copy_or_a_slice_of_the_training_table_as_calib():
    """Not only the same object: a copy (index kept or reset) or a slice of the training rows is in-sample calibration too."""
    train, valid, _ = _slices()
    for calib in (train.copy(), train.reset_index(drop=True), train.iloc[-100:], train.sample(50, random_state=0)):
        with pytest.raises(ConfigError, match=r"`calib` is the training table, a copy or a slice of it \(\d+ of its rows\)"):
            _small_model().fit(train, valid=valid, calib=calib)


@pytest.mark.parametrize(("which", "n"), [("train", 200), ("valid", 60)])
def test_fit_warns_when_calib_holds_some_training_or_early_stopping_rows(which, n):
    """A later slice with some rows of `train` (or `valid`) appended is calibrated partly in-sample: said, with the count."""
    train, valid, calib = _slices()
    leaked = pd.concat([{"train": train, "valid": valid}[which].iloc[-n:], calib])
    with pytest.warns(RiskModelWarning, match=rf"{n} of the {len(leaked)} `calib` rows are rows of `{which}`"):
        _small_model().fit(train, valid=valid, calib=leaked)


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid"])
def test_fit_with_a_copy_of_valid_as_calib_warns_as_for_valid_itself(calibration):
    train, valid, _ = _slices()
    for calib in (valid.copy(), valid.iloc[:120]):
        with pytest.warns(RiskModelWarning, match="calibrator is fitted on `valid`, the rows that chose the number of trees"):
            _small_model(calibration=calibration).fit(train, valid=valid, calib=calib)


def test_get_params_set_params_and_clone_give_an_unfitted_equal_copy():
    from sklearn.base import clone, is_classifier

    m = _small_model(seed=4)
    assert m.get_params() == {
        "features": ["a", "c"], "categorical": ["c"], "target": "overstayed", "params": {"min_child_samples": 20},
        "num_boost_round": 30, "early_stopping_rounds": 100, "calibration": "isotonic", "bands": None,
        "reasons": None, "seed": 4,
    }
    X, y = _timed_table()
    with _on_training_rows():
        m.fit(X, y)
    copy = clone(m)
    assert copy.get_params() == m.get_params()
    assert copy.params is not m.params  # settings are copied, not shared
    assert not hasattr(copy, "booster_") and not hasattr(copy, "classes_")
    with pytest.raises(NotFittedError, match="not fitted"):
        copy.predict_proba(X)
    assert is_classifier(m)
    assert m.set_params(num_boost_round=5, seed=9) is m
    assert (m.num_boost_round, m.seed) == (5, 9)
    with pytest.raises(ConfigError, match="`num_boost_rounds` is not a RiskModel setting; did you mean `num_boost_round`"):
        m.set_params(num_boost_rounds=5)


def test_settings_are_resolved_at_fit_and_saved_as_before(tmp_path):
    X, y = _timed_table()
    with _on_training_rows():
        m = _small_model().fit(X, y)
    assert m.bands is None and m.reasons is None  # stored as given
    assert sorted(m.thresholds_) == ["elevated", "high"]  # the default referral budgets applied
    meta = json.loads((m.save(tmp_path / "m") / "meta.json").read_text())
    assert (meta["bands"], meta["reasons"], meta["params"]) == ({"high": 0.01, "elevated": 0.05}, {}, {"min_child_samples": 20})
    assert RiskModel.load(tmp_path / "m").classes_.tolist() == [0, 1]


def test_predict_proba_has_one_column_per_class():
    X, y = _timed_table()
    with _on_training_rows():
        m = _small_model().fit(X, y)
    assert m.classes_.tolist() == [0, 1]
    p = m.predict_proba(X)
    assert p.shape == (len(X), 2)
    np.testing.assert_array_equal(p[:, 0], 1.0 - p[:, 1])
    # column 1 is the overstay probability: the extremes of `a` are ordered accordingly
    lo_hi = m.predict_proba(pd.DataFrame({"a": [-3.0, 3.0], "c": ["x", "x"]}))
    assert lo_hi[0, 1] < lo_hi[1, 1] and lo_hi[0, 0] > lo_hi[1, 0]
    assert m.predict(pd.DataFrame({"a": [-3.0, 3.0], "c": ["x", "x"]})).tolist() == [0, 1]
    with pytest.raises(NotFittedError, match="not fitted"):
        _small_model().predict(X)


def test_fit_takes_labels_apart_from_the_table_or_as_its_target_column():
    X, y = _timed_table()
    with _on_training_rows():
        apart = _small_model().fit(X, y).predict_proba(X)
    with _on_training_rows():
        inside = _small_model().fit(X.assign(overstayed=y)).predict_proba(X)
    np.testing.assert_array_equal(apart, inside)
    with pytest.raises(SchemaError, match=r"expected one label per row of the table \(900\), got 899"):
        _small_model().fit(X, y.iloc[1:])
    with pytest.raises(SchemaError, match="target is missing on some rows"):
        _small_model().fit(X, y.astype(float).where(y.index > 5))
    with pytest.raises(SchemaError, match="column `overstayed`: required column is missing"):
        _small_model().fit(X)


def test_works_as_the_last_step_of_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _timed_table()
    doubled = FunctionTransformer(lambda df: df.assign(a=df["a"] * 2.0))
    with _on_training_rows():
        pipe = make_pipeline(doubled, _small_model()).fit(X, y)
    with _on_training_rows():
        direct = _small_model().fit(X.assign(a=X["a"] * 2.0), y)
    assert pipe.classes_.tolist() == [0, 1]
    np.testing.assert_array_equal(pipe.predict_proba(X), direct.predict_proba(X.assign(a=X["a"] * 2.0)))


def test_cross_validation_on_a_time_ordered_table():
    from sklearn.model_selection import KFold, TimeSeriesSplit, cross_val_predict, cross_validate

    X, y = _timed_table()
    # contiguous blocks in time order: every row predicted once, by a model that did not see it
    with _on_training_rows():
        p = cross_val_predict(_small_model(), X, y, cv=KFold(3), method="predict_proba")
    assert p.shape == (len(X), 2)
    with _on_training_rows():
        first = _small_model().fit(X.iloc[300:], y.iloc[300:]).predict_proba(X.iloc[:300])
    np.testing.assert_array_equal(p[:300], first)
    # past-only training: TimeSeriesSplit does not cover the first rows, so scikit-learn's
    # cross_val_predict refuses it; cross_validate scores each later fold
    with _on_training_rows():
        res = cross_validate(_small_model(), X, y, cv=TimeSeriesSplit(3), scoring="neg_log_loss", return_estimator=True)
    assert len(res["test_score"]) == 3 and np.isfinite(res["test_score"]).all() and (res["test_score"] < 0).all()
    assert all(est.classes_.tolist() == [0, 1] for est in res["estimator"])


@pytest.mark.parametrize("meta", ["[1, 2]", '{"features": ["a"]}', '{"features": 5, "categorical": null}', '"text"'])
def test_a_malformed_meta_json_is_a_model_load_error(risk_result, tmp_path, meta):
    """A hand-edited or foreign meta.json (JSON, but not a model's metadata) is refused with the file named (was a TypeError)."""
    folder = risk_result.model.save(tmp_path / "m")
    (folder / "meta.json").write_text(meta, encoding="utf-8")
    with pytest.raises(ModelLoadError, match="is not the metadata of a RiskModel"):
        RiskModel.load(folder)


def test_fitting_the_same_model_again_on_other_levels_gives_the_model_a_new_one_gives():
    """scikit-learn's contract: ``fit`` on a fitted object gives what it gives on a new one. The encoder's level index
    was cached on the object and never dropped: refitted where a level no longer occurs (a port closed that year), the
    booster trained on the first fit's codes (every later level shifted by one) while score() and the saved copy encode
    by the new levels, so every probability was off."""
    train, valid, calib = _slices()
    refit = _small_model()
    refit.fit(train, valid=valid, calib=calib)
    assert refit.levels_["c"] == ["x", "y", "z"]

    def without_x(t):
        return t[t["c"] != "x"]

    refit.fit(without_x(train), valid=without_x(valid), calib=without_x(calib))
    fresh = _small_model().fit(without_x(train), valid=without_x(valid), calib=without_x(calib))
    assert refit.levels_["c"] == fresh.levels_["c"] == ["y", "z"]
    rows = without_x(calib)
    np.testing.assert_array_equal(refit.encode(rows)[:, 1], np.where(rows["c"] == "y", 0.0, 1.0))
    np.testing.assert_array_equal(refit.predict_proba(rows), fresh.predict_proba(rows))


@pytest.mark.parametrize(
    ("features", "audit", "named", "attribute"),
    [
        (["a", "nationality"], ["sex", "age_band"], "nationality", "nationality"),  # dropped from the audit, then an input
        (["a", "region"], ["sex"], "region", "nationality"),  # what stands for the nationality
        (["a", "birth_year"], ["nationality"], "birth_year", "age"),  # the year an age is read from
        (["a", "sex"], [], "sex", "sex"),
    ],
)
def test_a_protected_attribute_is_no_model_input_without_a_recorded_override(features, audit, named, attribute):
    """Nationality, sex and age (and what they are read from or stand for) are no model input while audited (review 18)
    nor once dropped from ``audit``: only ``model.audit_override`` naming the attribute and the reason lets one in, and the
    config that is logged with the run then holds that reason. Fails on the code before the fix (accepted without a word)."""
    base = {"target": "y", "time_column": "t", "features": features, "audit": audit}
    with pytest.raises(ConfigError, match=rf"`{named}`.*protected attribute `{attribute}`.*model\.audit_override"):
        from_dict(ModelConfig, base)
    why = f"{attribute} approved as an input by the data owner on 2026-12-01 (ticket DPO-17)"
    cfg = from_dict(ModelConfig, {**base, "audit_override": {attribute: why}})
    assert named in cfg.features and cfg.audit_override == {attribute: why}
    assert to_dict(cfg)["audit_override"] == {attribute: why}  # what config/risk.json records with the run


@pytest.mark.parametrize("override", [{"religion": "because"}, {"nationality": ""}, {"nationality": "  "}])
def test_an_audit_override_names_a_protected_attribute_and_a_reason(override):
    """An override of an attribute that is not protected, or without a reason, records nothing a reviewer can read: refused."""
    with pytest.raises(ConfigError, match=r"model\.audit_override"):
        from_dict(ModelConfig, {"target": "y", "time_column": "t", "features": ["a", "nationality"], "audit": [],
                                "audit_override": override})


@pytest.mark.parametrize("column", ["overstay_days", "exit_port"])
def test_a_risk_model_built_in_code_refuses_a_stay_column_known_only_once_the_stay_ended(risk_table, column):
    """ModelConfig refuses ``overstay_days`` or ``exit_port`` as a feature; a RiskModel built in code (as the monitoring
    model and scikit-learn users build it) fitted on them without a word, and scored the label's own days (a held-out
    PR-AUC of 1.0 with ``overstay_days``). Refused before anything is fitted, naming the column.
    Fails on the code before the fix (the model fitted)."""
    features = ["permitted_days", "prior_overstays", column]
    model = RiskModel(features=features, categorical=[column] if column == "exit_port" else [], num_boost_round=5,
                      early_stopping_rounds=5)
    rows = risk_table.iloc[:2_000]
    with pytest.raises(ConfigError, match=rf"`features` names `{column}`: known only once the stay ended.*remove it"):
        model.fit(rows, valid=risk_table.iloc[2_000:2_500], calib=risk_table.iloc[2_500:3_000])
    assert not hasattr(model, "booster_")
    # the guard can pass: the same model without the column fits
    RiskModel(features=features[:2], num_boost_round=5, early_stopping_rounds=5).fit(
        rows, valid=risk_table.iloc[2_000:2_500], calib=risk_table.iloc[2_500:3_000])
