"""YAML configs load into frozen dataclasses; unknown keys and bad types are errors."""

from __future__ import annotations

import dataclasses

import pytest

from riskmodel import ConfigError
from riskmodel.core.config import from_dict, load_config, to_dict


@dataclasses.dataclass(frozen=True)
class Inner:
    rate: float = 0.1
    names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str
    rounds: int = 10
    inner: Inner = Inner()
    budget: float | None = None
    weights: dict[str, float] = dataclasses.field(default_factory=dict)


def test_round_trip(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nrounds: 3\ninner: {rate: 1, names: [a, b]}\nweights: {a: 2}\n")
    cfg = load_config(path, Outer)
    assert cfg == Outer(name="x", rounds=3, inner=Inner(rate=1.0, names=("a", "b")), weights={"a": 2.0})
    assert from_dict(Outer, to_dict(cfg)) == cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.rounds = 4


def test_unknown_key_is_an_error():
    with pytest.raises(ConfigError, match=r"`config.inner` has unknown key\(s\) \['rte'\]; allowed keys are \['names', 'rate'\]"):
        from_dict(Outer, {"name": "x", "inner": {"rte": 0.2}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "rounds": "ten"}, r"`config.rounds` must be an integer; got 'ten'"),
        ({"name": "x", "rounds": True}, r"`config.rounds` must be an integer"),
        ({"name": 3}, r"`config.name` must be a string"),
        ({"name": "x", "inner": {"names": "a"}}, r"`config.inner.names` must be a list"),
        ({"rounds": 2}, r"missing 1 required positional argument: 'name'"),
        ([1, 2], r"`config` must be a mapping"),
    ],
)
def test_bad_values(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Outer, data)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml", Outer)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad, Outer)


def test_unknown_key_names_the_nearest_valid_key():
    with pytest.raises(ConfigError, match=r"`rte`: did you mean `rate`\?"):
        from_dict(Outer, {"name": "x", "inner": {"rte": 0.2}})


def test_one_tracking_config_with_each_kinds_defaults():
    from riskmodel.core.config import TrackingConfig
    from riskmodel.core.forecasting.config import ForecastConfig
    from riskmodel.core.risk.config import RiskConfig

    model = {"target": "y", "time_column": "t", "features": ["a"]}
    risk = from_dict(RiskConfig, {"model": model, "tracking": {"experiment": "trial"}})
    fc = from_dict(ForecastConfig, {"tracking": {"experiment": "trial"}})
    assert type(risk.tracking) is TrackingConfig and type(fc.tracking) is TrackingConfig
    # a section given in part keeps the model kind's default for the keys it leaves out
    assert risk.tracking == TrackingConfig(experiment="trial", registered_name="overstay-risk")
    assert fc.tracking == TrackingConfig(experiment="trial", registered_name="arrival-forecast")
    with pytest.raises(ConfigError, match=r"`config.tracking` has unknown key\(s\) \['registered'\].*did you mean `registered_name`"):
        from_dict(ForecastConfig, {"tracking": {"registered": "x"}})


def _risk_model_section(params):
    return {"model": {"target": "y", "time_column": "t", "features": ["a"], "params": params}}


def test_lightgbm_params_typo_is_an_error():
    from riskmodel.core.risk.config import RiskConfig

    with pytest.raises(ConfigError, match=r"`config.model`: `params` has unknown key\(s\) \['learnign_rate'\].*did you mean `learning_rate`"):
        from_dict(RiskConfig, _risk_model_section({"learnign_rate": 0.1, "num_leaves": 31}))
    with pytest.raises(ConfigError, match="learning_rate"):
        from_dict(RiskConfig, _risk_model_section({"learnign_rate": 0.1}))


def test_lightgbm_params_accept_names_and_aliases():
    from riskmodel.core.risk.config import RiskConfig, lightgbm_parameter_names

    names = lightgbm_parameter_names()
    assert {"learning_rate", "eta", "num_leaves", "min_child_samples", "feature_fraction", "verbosity"} <= names
    assert "learnign_rate" not in names
    cfg = from_dict(RiskConfig, _risk_model_section({"eta": 0.05, "min_data_in_leaf": 50, "verbose": -1}))
    assert cfg.model.params == {"eta": 0.05, "min_data_in_leaf": 50, "verbose": -1}


class _Estimator:
    def __init__(self, *, rate: float = 0.1, names: tuple[str, ...] = ("a",), budget: float | None = None, verbose: bool = False):
        self.rate, self.names, self.budget, self.verbose = rate, names, budget, verbose


def test_config_from_signature_writes_each_setting_once():
    from riskmodel.core.config import config_from_signature

    Settings = config_from_signature(_Estimator.__init__, "Settings", exclude=("verbose",))
    assert [f.name for f in dataclasses.fields(Settings)] == ["rate", "names", "budget"]
    assert from_dict(Settings, {"rate": 1, "names": ["x", "y"]}) == Settings(rate=1.0, names=("x", "y"), budget=None)
    with pytest.raises(ConfigError, match=r"`config.rate` must be a number; got 'fast'"):
        from_dict(Settings, {"rate": "fast"})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['verbose'\]"):
        from_dict(Settings, {"verbose": True})
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().rate = 2.0


def test_forecaster_config_is_derived_from_the_forecaster():
    import inspect

    from riskmodel.core.forecasting import Forecaster
    from riskmodel.core.forecasting.config import NOT_CONFIG, ForecastConfig, ForecasterConfig

    params = {n: p.default for n, p in inspect.signature(Forecaster.__init__).parameters.items() if n != "self"}
    fields = {f.name: f.default for f in dataclasses.fields(ForecasterConfig)}
    assert fields == {n: d for n, d in params.items() if n not in NOT_CONFIG}
    assert ForecastConfig().forecaster_kwargs() == {n: d for n, d in params.items() if n not in NOT_CONFIG}
    with pytest.raises(ConfigError, match=r"`config.forecaster` has unknown key\(s\) \['n_window'\].*did you mean `n_windows`"):
        from_dict(ForecastConfig, {"forecaster": {"n_window": 2}})
    # values are checked by the Forecaster's own rules when the YAML loads, not at fit time
    with pytest.raises(ConfigError, match=r"`config.forecaster`: `selection` must be 'global' or 'series'; got 'per-series'"):
        from_dict(ForecastConfig, {"forecaster": {"selection": "per-series"}})
    with pytest.raises(ConfigError, match=r"`config.forecaster`: `h` must be an int >= 1; got 0"):
        from_dict(ForecastConfig, {"forecaster": {"h": 0}})
    with pytest.raises(ConfigError, match=r"each break must be \[start, end\]"):
        from_dict(ForecastConfig, {"forecaster": {"breaks": [["2020-04-01"]]}})


def test_risk_model_settings_come_from_model_config():
    import inspect

    from riskmodel.core.risk import ModelConfig, RiskModel

    cfg = ModelConfig(target="y", time_column="t", features=("a", "b"), categorical=("b",), params={"eta": 0.2}, seed=3)
    model = RiskModel.from_config(cfg)
    names = [n for n in inspect.signature(RiskModel.__init__).parameters if n != "self"]
    assert set(names) <= {f.name for f in dataclasses.fields(ModelConfig)}
    assert (model.features, model.categorical, model.target, model.params, model.seed) == (["a", "b"], ["b"], "y", {"eta": 0.2}, 3)


@pytest.mark.parametrize("key", ["valid_fraction", "calib_fraction", "test_fraction"])
def test_a_nan_split_fraction_is_refused(key):
    """`.nan` passed the old check (`p <= 0` and `sum >= 0.9` are both False for NaN); training then stopped in
    pandas ("percentiles should all be in the interval [0, 1]"), naming no key."""
    from riskmodel.core.risk.config import RiskConfig

    with pytest.raises(ConfigError, match=rf"`config\.model\.splits`: split fractions must each be > 0 .*nan"):
        from_dict(RiskConfig, {"model": {"target": "y", "time_column": "t", "features": ["a"], "splits": {key: float("nan")}}})


def test_a_negative_grace_is_refused():
    """A label is mature `grace_days` after the longest stay the visa allows ended: -40 would read a stay
    whose permit has not ended yet as settled, a traveller still allowed to stay labelled "did not overstay"."""
    from riskmodel.core.risk.config import DataConfig, RiskConfig

    assert DataConfig(grace_days=0).grace_days == 0  # no extra wait is a choice
    with pytest.raises(ConfigError, match=r"`config\.data`: `data\.grace_days` must be an int >= 0.*got -40"):
        from_dict(RiskConfig, {"model": {"target": "y", "time_column": "t", "features": ["a"]}, "data": {"grace_days": -40}})


def test_config_dates_are_read_as_iso_8601_only():
    """`data.cutoff: 01/12/2023` (1 December, day first) was read as 12 January: labels were read as known eleven
    months earlier than meant, and nothing said so. The config's dates are ISO 8601 only, as every date reader is."""
    from riskmodel.core.forecasting.config import ForecastConfig
    from riskmodel.core.risk.config import RiskConfig

    model = {"target": "y", "time_column": "t", "features": ["a"]}
    for key, value in (("cutoff", "01/12/2023"), ("start", "Jan 2017"), ("end", "today")):
        with pytest.raises(ConfigError, match=rf"`config\.data`: `data\.{key}`.*{value!r}.*ISO 8601"):
            from_dict(RiskConfig, {"model": model, "data": {key: value}})
    with pytest.raises(ConfigError, match=r"`config\.data`: `data\.end`.*'31/12/2023'.*ISO 8601"):
        from_dict(ForecastConfig, {"data": {"end": "31/12/2023"}})
    assert from_dict(RiskConfig, {"model": model, "data": {"cutoff": "2023-12-01"}}).data.cutoff == "2023-12-01"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        # optuna ran no trial for these, then stopped with "No trials are completed yet", naming no key
        ("n_trials", 0, r"`tuning\.n_trials` must be an int >= 1.*got 0.*e\.g\. 20"),
        ("n_trials", -5, r"`tuning\.n_trials` must be an int >= 1.*got -5"),
        ("timeout_seconds", 0, r"`tuning\.timeout_seconds` must be .*> 0.*got 0.*e\.g\. 600"),
        ("timeout_seconds", -60, r"`tuning\.timeout_seconds` must be .*> 0.*got -60"),
        # refused only once tuning had started (time_folds), not when the config was read
        ("folds", 0, r"`tuning\.folds` must be an int >= 1.*got 0"),
    ],
)
def test_a_tuning_config_that_would_tune_nothing_is_refused_by_name(key, value, message):
    from riskmodel.core.risk.config import RiskConfig

    model = {"target": "y", "time_column": "t", "features": ["a"]}
    assert getattr(from_dict(RiskConfig, {"model": model, "tuning": {key: 1}}).tuning, key) == 1  # 1 is a (small) search
    with pytest.raises(ConfigError, match=message):
        from_dict(RiskConfig, {"model": model, "tuning": {key: value}})


@pytest.mark.parametrize("key", ["n_trials", "timeout_seconds", "folds"])
def test_a_nan_tuning_setting_is_refused_by_name(key):
    """YAML refuses `.nan` for an int; a TuningConfig built in code took it, and NaN passes every `< 1` check."""
    from riskmodel.core.risk.config import TuningConfig

    with pytest.raises(ValueError, match=rf"`tuning\.{key}` must be"):
        TuningConfig(**{key: float("nan")})


def test_a_key_given_twice_is_refused_naming_it_and_its_lines(tmp_path):
    """PyYAML keeps the last of two equal keys without a word: a `fairness:` section appended to a config
    replaced the shipped policy whole (review13train 02); a key repeated inside a section is the same."""
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ninner:\n  rate: 0.5\n  rate: 2\n")
    with pytest.raises(ConfigError, match=r"`inner.rate` is given twice \(lines 3 and 4\)"):
        load_config(path, Outer)
    path.write_text("name: x\ninner: {rate: 0.5}\nrounds: 3\ninner: {names: [a]}\n")
    with pytest.raises(ConfigError, match=r"`inner` is given twice \(lines 2 and 4\).*keep one"):
        load_config(path, Outer)


@pytest.mark.parametrize(("bands", "message"), [
    ({"very_high": 0.01, "high": 0.05}, r"`bands` names \['very_high'\].*'high' and 'elevated'"),
    ({"high": 0.05, "elevated": 0.01}, r"`bands.high` \(0.05\) must refer fewer than `bands.elevated` \(0.01\)"),
])
def test_risk_bands_are_the_names_and_order_every_reader_of_scores_knows(bands, message):
    """score(), the report, operations' referrals and reasons_min_band read the bands 'high' and 'elevated', high the
    tighter: a band of another name was counted by none of them, and swapped names showed the top 1% as elevated
    (review13train 01)."""
    from riskmodel.core.risk.config import RiskConfig

    section = {"model": {"target": "y", "time_column": "t", "features": ["a"], "bands": bands}}
    with pytest.raises(ConfigError, match=message):
        from_dict(RiskConfig, section)
    section["model"]["bands"] = {"high": 0.02}  # one band of a known name: nobody is elevated, and the report says 0
    assert from_dict(RiskConfig, section).model.bands == {"high": 0.02}


@pytest.mark.parametrize(("key", "value"), [("early_stopping_rounds", 0), ("early_stopping_rounds", -5), ("num_boost_round", 0)])
def test_boosting_rounds_below_one_are_refused_when_the_config_is_read(key, value):
    """LightGBM reads early stopping of 0 rounds as none (all 2000 trees grown, the run logged early_stopping_rounds 0),
    and 0 boosting rounds failed after the data was built, in its own words (review13train 04)."""
    from riskmodel.core.risk.config import RiskConfig

    section = {"model": {"target": "y", "time_column": "t", "features": ["a"], key: value}}
    with pytest.raises(ConfigError, match=rf"`model.{key}` must be an int >= 1.*got {value}"):
        from_dict(RiskConfig, section)


@pytest.mark.parametrize(("param", "owner"), [
    ("seed", "model.seed"), ("random_state", "model.seed"), ("num_iterations", "model.num_boost_round"),
    ("n_estimators", "model.num_boost_round"), ("early_stopping_round", "model.early_stopping_rounds"), ("deterministic", "always true"),
])
def test_lightgbm_params_that_shadow_a_model_setting_are_refused(param, owner):
    """RiskModel sets seed and deterministic itself and lgb.train takes num_iterations from params over
    num_boost_round: params {random_seed: 7} trained with seed 0, {num_iterations: 7} grew 7 trees under a logged
    num_boost_round of 2000, each logged as if used (review13train 03)."""
    from riskmodel.core.risk.config import RiskConfig

    with pytest.raises(ConfigError, match=rf"`params.{param}` .*{owner}"):
        from_dict(RiskConfig, _risk_model_section({param: 7, "num_leaves": 31}))


def test_a_risk_config_that_stops_auditing_a_protected_attribute_needs_a_recorded_override(tmp_path):
    """Nationality, sex and age are audited by every risk config (DESIGN: the gate checks them): a config whose
    ``model.audit`` drops one is refused, naming the attribute, the file and ``model.audit_override`` (the recorded reason
    that lets it go), and the promotion refuses a config whose override differs from the challenger's training config.
    Fails on the code before the fix (the config without sex and age was read without a word)."""
    from pathlib import Path

    from riskmodel.apps.pipelines.risk import audit_policy_changes
    from riskmodel.core.risk.config import RiskConfig

    shipped = (Path(__file__).resolve().parents[1] / "configs" / "risk.yaml").read_text(encoding="utf-8")
    assert "audit: [nationality, region, sex, age_band]" in shipped
    path = tmp_path / "risk.yaml"
    path.write_text(shipped.replace("audit: [nationality, region, sex, age_band]", "audit: [nationality, region]"), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path.name}.*`model.audit`.*not.*`sex`, `age`.*model\.audit_override"):
        load_config(path, RiskConfig)
    why = "age and sex audited by the monitoring team in its own audit (DPO-18)"
    path.write_text(shipped.replace("audit: [nationality, region, sex, age_band]",
                                    f"audit: [nationality, region]\n  audit_override: {{sex: '{why}', age: '{why}'}}"), encoding="utf-8")
    cfg = load_config(path, RiskConfig)
    assert cfg.model.audit_override == {"sex": why, "age": why}
    # the override is audit policy: promoting with a config whose override differs from the training config's is refused
    trained = to_dict(cfg)
    plain = load_config(Path(__file__).resolve().parents[1] / "configs" / "risk.yaml", RiskConfig)
    assert any(c.startswith("model.audit_override") for c in audit_policy_changes(trained, plain))
    # a run logged before the key existed had no override: the shipped config is no change from it
    older = to_dict(plain)
    del older["model"]["audit_override"]
    assert audit_policy_changes(older, plain) == []


@pytest.mark.parametrize("column", ["overstay_days", "exit_port", "exit_time", "final_permit_end", "overstayed"])
def test_a_stay_column_known_only_once_the_stay_ended_is_refused_as_a_feature(tmp_path, column):
    """A stay's exit, the permit in force at exit and its label are known only once it ended (STAYS: "never a feature"):
    the shipped config with ``overstay_days`` added trained to a held-out PR-AUC of 1.0 (the label's own days), and with
    ``exit_port`` (missing while in the country) to 0.29, each registered as challenger; at the border neither is known.
    Refused when the config is read, naming the column and the fix. Fails on the code before the fix (both trained)."""
    from pathlib import Path

    from riskmodel.core.risk.config import ModelConfig, RiskConfig

    shipped = (Path(__file__).resolve().parents[1] / "configs" / "risk.yaml").read_text(encoding="utf-8")
    assert "features: [visa_type, purpose," in shipped
    path = tmp_path / "risk.yaml"
    path.write_text(shipped.replace("features: [visa_type, purpose,", f"features: [visa_type, {column}, purpose,"), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path.name}.*`model.features` names `{column}`.*known only once the stay ended.*remove"):
        load_config(path, RiskConfig)
    # the guard can pass: the shipped config is read; and it holds for a ModelConfig built in code (train_risk_model's)
    load_config(Path(__file__).resolve().parents[1] / "configs" / "risk.yaml", RiskConfig)
    with pytest.raises(ValueError, match=rf"`model.features` names `{column}`"):
        ModelConfig(target="overstayed", time_column="entry_time", features=("visa_type", column))
