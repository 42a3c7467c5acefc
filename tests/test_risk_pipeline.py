"""The training pipeline end to end: one Python call and the CLI, on a small synthetic config."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from riskmodel.apps.cli import main
from riskmodel.core.config import load_config
from riskmodel.core.exceptions import ConfigError, SchemaError
from riskmodel.core.risk import RiskConfig
from tests.conftest import REPO, one_more_stay
from riskmodel.apps.pipelines.risk import train


@pytest.fixture()
def small_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (REPO / "configs" / "risk.yaml").read_text()
    assert "n_travellers: 40000" in text
    # 5k travellers: on the default data (hidden risk) the first model is promoted on seeds 0, 1 and 2;
    # at 3k it was refused on seed 0 (one age band's referrals right too seldom, on 5 overstays)
    text = text.replace("n_travellers: 40000", "n_travellers: 5000")
    # 5k travellers hold too few overstays per group for the shipped audit, which then (rightly) fails
    # every model; these tests are about the pipeline: judge groups from 5 overstays, with loose bounds
    for shipped, small in (("min_support: 500", "min_support: 100"), ("min_positives: 30", "min_positives: 5"),
                           ("max_calibration_ratio: 1.41", "max_calibration_ratio: 5.0")):
        assert shipped in text
        text = text.replace(shipped, small)
    path = tmp_path / "risk.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_cli_train_then_promote(small_config, capsys):
    assert main(["train", "risk", "--config", str(small_config), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "alias challenger" in out and "roc_auc:" in out
    assert main(["promote", "risk", "--config", str(small_config)]) == 0
    assert "PROMOTED" in capsys.readouterr().out
    name = load_config(small_config, RiskConfig).tracking.registered_name
    mv = MlflowClient().get_model_version_by_alias(name, "champion")
    assert mv.tags["gate.decision"] == "promoted"


def test_python_call_without_mlflow(small_config, tmp_path):
    outcome = train(small_config, log=False)
    assert outcome.logged is None
    assert outcome.result.metrics["roc_auc"] > 0.7
    assert "oracle_roc_auc" in outcome.result.metrics
    assert not (tmp_path / "mlflow.db").exists()


def test_missing_crossings_file(small_config):
    cfg = load_config(small_config, RiskConfig)
    bad = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, crossings_path="nope.parquet"))
    with pytest.raises(ConfigError, match="does not exist"):
        train(bad, log=False)


@pytest.mark.slow
def test_promote_scores_champion_and_challenger_on_one_window_and_refuses_the_worse(small_config):
    """The paired gate of issue 14 part 5, through the pipeline and the registry.

    A booster of three stumps loses to its logistic baseline (no champion yet: only that rule and
    fairness can refuse it); the shipped model is promoted; a refit without the planned stay and the
    earlier trips, the strongest signals, is worse than that champion beyond noise on the same
    window and is refused.
    """
    from riskmodel.apps.pipelines.risk import load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    name = cfg.tracking.registered_name

    def variant(**model):
        return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, **model))

    stumps = variant(params={**cfg.model.params, "num_leaves": 2, "learning_rate": 0.05}, num_boost_round=3, early_stopping_rounds=3)
    train(stumps, crossings=crossings)
    weak = promote(stumps, crossings=crossings)
    assert not weak.passed
    assert any(r.startswith("FAIL: pr_auc challenger - logistic baseline") and r.endswith("not better than the baseline") for r in weak.reasons), weak.reasons
    assert MlflowClient().get_registered_model(name).aliases.get("champion") is None

    good = train(cfg, crossings=crossings)
    first = promote(cfg, crossings=crossings)
    assert first.passed, first.reasons
    assert [c.metric for c in first.comparisons][-2:] == ["pr_auc_minus_logreg", "fairness_passed"]

    # blind to the planned stay and to every earlier trip: on the default data (hidden risk) the
    # earlier trips are what reveal a traveller's latent propensity; without the planned stay alone
    # the refit was worse by 0.05 PR-AUC at 5k travellers, within noise on this window
    groups = ("planned_stay", "earlier_visits", "earlier_extensions", "last_departure", "earlier_stays", "earlier_ports", "earlier_visa")
    hidden = {f for g in groups for f in cfg.model.reasons[g]["features"]}
    blind = variant(features=tuple(f for f in cfg.model.features if f not in hidden),
                    reasons={k: v for k, v in cfg.model.reasons.items() if k not in groups})
    train(blind, crossings=crossings)
    worse = promote(blind, crossings=crossings)
    assert not worse.passed
    assert any(r.startswith("FAIL: pr_auc challenger - champion") and r.endswith("worse beyond noise") for r in worse.reasons), worse.reasons
    assert str(MlflowClient().get_model_version_by_alias(name, "champion").version) == str(good.logged.version)


@pytest.mark.slow
def test_a_config_auditing_no_attribute_is_neither_passed_by_training_nor_promoted(small_config):
    """An audit of no attribute judges no one: training records it as failed and the paired gate refuses.

    The old code skipped the audit when ``model.audit`` was empty and counted that as passed, on
    the training metrics and in ``promote`` alike, so a config that left the attributes out switched
    the fairness rule off.
    """
    from riskmodel.apps.pipelines.risk import load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    unaudited = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, audit=()), fairness=dataclasses.replace(cfg.fairness, top_groups={}))
    outcome = train(unaudited, crossings=crossings)
    assert outcome.result.metrics["fairness_passed"] == 0.0 and not outcome.result.fairness.passed
    decision = promote(unaudited, crossings=crossings)
    assert not decision.passed
    assert "FAIL: fairness audit failed" in decision.reasons, decision.reasons
    # the decision says why the audit failed (review15fair 06: "fairness audit failed" and nothing else, the audit's
    # own words dropped, so the card and `promote risk` named no group and no bound)
    assert any(r.startswith("audit: ") and "no audit attribute" in r for r in decision.reasons), decision.reasons
    assert MlflowClient().get_registered_model(cfg.tracking.registered_name).aliases.get("champion") is None


@pytest.mark.slow
def test_promote_refuses_a_window_the_challenger_was_fitted_or_calibrated_on(small_config):
    """Promoting with a shorter log than the challenger's moves the gate window into its fitting slices.

    There its early stopping and calibration read the very rows it is judged on; the old gate scored
    it there all the same (and promoted it: only the baseline and fairness rules apply to a first model).
    """
    from riskmodel.apps.pipelines.risk import gate_window, load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    outcome = train(cfg, crossings=crossings)
    shorter = crossings[crossings["timestamp"] < "2023-09-30"]  # three months short: the window moves into the calibration slice
    _, window = gate_window(cfg, shorter)
    assert window["entry_time"].min() <= pd.Timestamp(outcome.result.lineage["calib_to"])  # it overlaps what the challenger read
    decision = promote(cfg, crossings=shorter)
    assert not decision.passed
    assert any(r.startswith("FAIL: the gate window starts") for r in decision.reasons), decision.reasons
    assert MlflowClient().get_registered_model(cfg.tracking.registered_name).aliases.get("champion") is None


@pytest.mark.slow
def test_the_fitting_slices_read_labels_as_known_when_the_test_slice_begins(small_config):
    """Overstays of the fitting slices that settle only after the test slice began are not fitted on.

    The old pipeline built every label at the end of the data, so such a stay was fitted, early-stopped
    or calibrated on with a label nobody knew when the test slice began (future knowledge in the fit),
    and the gate's logistic baseline was fitted on it too. Two stays of new travellers are added, each
    leaving long after its permit with no extension, mature at the end of the data but not when the
    test slice starts: a visit-visa stay (60 days, 120 days' extension room, 30 days' grace: settled
    210 days after entry) five days before the last calibration entry (the test slice starts two
    months after it on this draw), and a two-year stay permit (as long again in extension room) a
    month before the last training entry.
    """
    from riskmodel.apps.pipelines.risk import gate_window, load_crossings

    cfg = load_config(small_config, RiskConfig)
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, num_boost_round=60))
    crossings, _ = load_crossings(cfg)
    base = train(cfg, crossings=crossings, log=False).result.lineage
    day = {k: pd.Timestamp(base[f"{k}_to"]).normalize() for k in ("train", "calib")}
    injected = one_more_stay(crossings, "c1_visit", "C999999990", day["calib"] - pd.Timedelta(days=5), 60, 100)
    injected = one_more_stay(injected, "itas", "C999999980", day["train"] - pd.Timedelta(days=30), 730, 800)

    outcome = train(cfg, crossings=injected)
    lin = outcome.result.lineage
    # both stays entered before the test slice, which is unchanged
    assert (lin["test_from"], lin["test_rows"], lin["test_positives"]) == (base["test_from"], base["test_rows"], base["test_positives"])
    # neither is fitted on (the old code fitted one more overstay in the train and one in the calibration slice)
    for part in ("train", "valid", "calib"):
        assert (lin[f"{part}_rows"], lin[f"{part}_positives"]) == (base[f"{part}_rows"], base[f"{part}_positives"]), part
    assert lin["not_matured_at_test_start"] == base["not_matured_at_test_start"] + 2
    params = MlflowClient().get_run(outcome.logged.run_id).data.params
    assert params["data_not_matured_at_test_start"] == str(base["not_matured_at_test_start"] + 2)
    assert params["data_fit_labels_known_at"] == base["test_from"]
    # the gate fits its logistic baseline on the same training slice, and scores the same test slice
    before, window = gate_window(cfg, injected)
    assert not before["stay_id"].isin(["C999999980", "C999999990"]).any()
    assert (len(before), len(window), str(window["entry_time"].min())) == (lin["train_rows"], lin["test_rows"], lin["test_from"])


@pytest.mark.slow
def test_promote_intervals_resample_the_windows_travellers(small_config, monkeypatch):
    """The gate's paired interval and its fairness audit resample the window's travellers, not its stays.

    The same challenger is judged twice on its window with every stay four times over: once under
    the stays' travellers, once with a label per copy. Four copies of a stay tell no more than one, so
    resampling travellers must give intervals about twice as wide as resampling the copies; a gate that
    ignored the travellers would give the same interval twice. A minimum AUC no model reaches keeps
    the challenger unpromoted, so both decisions are taken against the same (empty) champion.
    """
    import re

    import riskmodel.apps.pipelines.risk as pipeline
    from riskmodel.apps.pipelines.risk import gate_window, load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    cfg = dataclasses.replace(cfg, gate=dataclasses.replace(cfg.gate, minimum={"roc_auc": 0.9999}))
    crossings, _ = load_crossings(cfg)
    train(cfg, crossings=crossings)
    before, window = gate_window(cfg, crossings)
    four = pd.concat([window] * 4, ignore_index=True)
    audits, widths = [], []
    real_audit = pipeline.fairness_audit
    monkeypatch.setattr(pipeline, "fairness_audit", lambda *a, **k: audits.append(real_audit(*a, **k)) or audits[-1])
    for rows in (four, four.assign(traveller_id=[f"copy{i}" for i in range(len(four))])):
        monkeypatch.setattr(pipeline, "gate_window", lambda _cfg, _crossings, rows=rows: (before, rows))
        decision = promote(cfg, crossings=crossings)
        assert not decision.passed
        [text] = [r for r in decision.reasons if "challenger - logistic baseline" in r]
        lo, hi = map(float, re.search(r"95% interval ([-+.\d]+) to ([-+.\d]+)", text).groups())
        widths.append(hi - lo)
    assert widths[0] / widths[1] > 1.5, widths
    judged = [a.table.loc[a.table["enough_support"]] for a in audits]
    assert len(judged[0]) >= 2 and list(judged[0]["group"]) == list(judged[1]["group"])
    ratio = [np.log(j["referral_ratio_high"] / j["referral_ratio_low"]).to_numpy() for j in judged]
    assert np.median(ratio[0] / ratio[1]) > 1.5, ratio


@pytest.mark.slow
def test_promote_refuses_a_challenger_whose_fitting_rows_it_cannot_date(small_config):
    """The gate refuses a window the challenger was fitted, stopped or calibrated on, reading those dates from
    its training run's lineage; a challenger whose run logged none (an older or hand-logged run) skipped the
    check and was judged, and promoted, on whatever window it was given, here one overlapping its calibration
    slice. A check the gate cannot make is no pass."""
    from riskmodel.apps.pipelines.risk import load_crossings, promote
    from riskmodel.integrations.tracking.risk import log_risk_run

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    outcome = train(cfg, crossings=crossings, log=False)
    for part in ("train", "valid", "calib"):
        outcome.result.lineage.pop(f"{part}_to")
    log_risk_run(outcome.result, cfg)
    decision = promote(cfg, crossings=crossings[crossings["timestamp"] < "2023-09-30"])
    assert not decision.passed
    assert any(r.startswith("FAIL: the challenger's training run logged no fitting lineage") for r in decision.reasons), decision.reasons
    assert MlflowClient().get_registered_model(cfg.tracking.registered_name).aliases.get("champion") is None


def test_a_crossings_csv_keeps_its_ids_as_text(small_config, tmp_path):
    """A CSV carries no types: read as numbers, travellers '007' and '7' were both 7, one history of
    entry, exit, entry, and document '0042' became 42 (then refused as an id that is not text).
    The config's crossings file is read with the contract's ids as text, as the CLI reads one.
    """
    from riskmodel import validate_crossings
    from riskmodel.apps.pipelines.risk import load_crossings

    from .test_sources import _log

    log = _log(("001", "007", "entry", "2022-01-10 09:00", "2022-02-08", "0042"), ("002", "007", "exit", "2022-01-20 09:00", "2022-02-08", "0042"),
               ("003", "7", "entry", "2022-01-12 09:00", "2022-02-10", None))
    path = tmp_path / "crossings.csv"
    log.to_csv(path, index=False)
    cfg = load_config(small_config, RiskConfig)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, crossings_path=str(path)))
    crossings, oracle = load_crossings(cfg)
    assert oracle is None
    assert crossings["crossing_id"].tolist() == ["001", "002", "003"]
    assert crossings["traveller_id"].tolist() == ["007", "007", "7"]
    assert crossings["document_id"].tolist()[:2] == ["0042", "0042"] and pd.isna(crossings["document_id"].iloc[2])
    assert validate_crossings(crossings) is crossings



def test_a_crossings_csv_is_checked_as_every_csv_reader_checks_one(small_config, tmp_path):
    """The CLI's, the batch jobs' and the pseudonymiser's CSV readers run `check_csv` first; training read its
    crossings file without it. A header naming `traveller_id` twice (a raw copy of the column in the middle of it)
    was read as `traveller_id` and `traveller_id.1`, the second never pseudonymised nor refused; a file cut off in
    its last row was read with that half row completed by missing values. Both are refused, naming what is wrong.
    """
    from riskmodel.apps.pipelines.risk import load_crossings
    from riskmodel.core.exceptions import UnreadableFileError

    from .test_sources import _log

    log = _log(("001", "007", "entry", "2022-01-10 09:00", "2022-02-08", "0042"), ("002", "007", "exit", "2022-01-20 09:00", "2022-02-08", "0042"),
               ("003", "8", "entry", "2022-01-12 09:00", "2022-02-10", None))
    cfg = load_config(small_config, RiskConfig)

    def read(path):
        return load_crossings(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, crossings_path=str(path))))

    twice = tmp_path / "twice.csv"
    raw = log[["traveller_id"]].assign(traveller_id=["Ana Raw", "Ana Raw", "Budi Raw"])
    pd.concat([log.iloc[:, :4], raw, log.iloc[:, 4:]], axis=1).to_csv(twice, index=False)
    with pytest.raises(SchemaError, match=r"`traveller_id`: column name appears 2 times in the header"):
        read(twice)
    cut = tmp_path / "cut.csv"
    text = log.to_csv(index=False)
    cut.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 12])  # the last row cut after its 12th character
    with pytest.raises(UnreadableFileError, match=r"cut\.csv.*the file was cut off"):
        read(cut)

def test_a_crossings_csv_with_day_first_times_is_refused_not_guessed(small_config, tmp_path):
    """Training read its crossings CSV with parse_dates: pandas guessed each column's format, read '10/12/2023' month
    first where it could, and left a column it could not read as text (refused later, by another name). Every other
    CSV reader reads dates as ISO 8601 only (iso_dates): so does training's, naming the column and the rows."""
    from riskmodel.apps.pipelines.risk import load_crossings

    from .test_sources import _log

    log = _log(("001", "007", "entry", "2022-01-10 09:00", "2022-02-08", "0042"), ("002", "007", "exit", "2022-01-20 09:00", "2022-02-08", "0042"))
    cfg = load_config(small_config, RiskConfig)
    path = tmp_path / "dayfirst.csv"
    log.assign(permit_end=["08/02/2022", "08/02/2022"]).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"`permit_end`: values that are not dates \('08/02/2022'.*\(2 rows: row 0, row 1\)"):
        load_crossings(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, crossings_path=str(path))))
    path = tmp_path / "iso.csv"
    log.to_csv(path, index=False)
    crossings, _ = load_crossings(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, crossings_path=str(path))))
    assert crossings["permit_end"].tolist() == [pd.Timestamp("2022-02-08")] * 2
    assert crossings["timestamp"].tolist() == [pd.Timestamp("2022-01-10 09:00"), pd.Timestamp("2022-01-20 09:00")]


def test_iso_dates_refuses_the_words_pandas_reads_as_the_clock():
    """pandas' ISO 8601 reader also takes 'now' and 'today': a crossings or series CSV with `now` in a date column
    was read as the moment of reading (a permit ending today, a month that moves with the clock). They are not
    dates: refused, naming the column and the rows."""
    from riskmodel.core.csv_files import iso_dates

    values = pd.Series(["2024-01-01", "now", "2024-02-01", "Today", None])
    with pytest.raises(SchemaError, match=r"`ds`: values that are not dates \('now', 'Today'\).*\(2 rows: row 1, row 3\)"):
        iso_dates(values, "ds", "series.csv")
    read = iso_dates(values.drop([1, 3]), "ds", "series.csv")
    assert read.tolist()[:2] == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")] and read.isna().tolist()[2]


def test_a_label_cutoff_after_the_logs_last_crossing_is_refused(small_config):
    """Labels are read as known at `data.cutoff`; a log that ends before it cannot know who left in between.

    On main, a cut-off a year after a 2021-2023 log added every stay whose permit ran out in that year,
    the travellers still in the country when the log ends labelled as overstayers (75 of 484 such stays on
    1,500 travellers, against 73 of 2,493 in the stays the log could settle)."""
    from riskmodel.core.datasets import make_crossings

    crossings = make_crossings(300, "2022-01-01", "2023-12-31", seed=0).crossings
    cfg = load_config(small_config, RiskConfig)
    late = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, cutoff="2024-12-31"))
    with pytest.raises(ConfigError, match=r"`data\.cutoff` 2024-12-31 is after the last crossing of the log \(2023-12-3\d.*\).*null"):
        train(late, crossings=crossings, log=False)


@pytest.mark.slow
def test_promote_refuses_an_audit_policy_other_than_the_one_the_challenger_was_trained_under(small_config):
    """A challenger whose training audit failed was promoted with a copy of the config holding a looser fairness policy,
    and the registry kept no trace of which policy passed it (review13train 06). The policy and the audit attributes
    the gate judges with must be those logged with the challenger's run (config/risk.json)."""
    from riskmodel.apps.pipelines.risk import load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    train(cfg, crossings=crossings)
    looser = dataclasses.replace(cfg, fairness=dataclasses.replace(cfg.fairness, max_calibration_ratio=10.0, max_referral_excess=10.0))
    decision = promote(looser, crossings=crossings)
    assert not decision.passed
    assert any(r.startswith("FAIL:") and "fairness.max_calibration_ratio" in r and "fairness.max_referral_excess" in r
               for r in decision.reasons), decision.reasons
    name = cfg.tracking.registered_name
    assert MlflowClient().get_registered_model(name).aliases.get("champion") is None
    assert promote(cfg, crossings=crossings).passed  # the same version under the policy it was trained with


@pytest.mark.slow
def test_promote_refuses_to_compare_with_a_champion_fitted_on_the_window(small_config):
    """The gate checked that the challenger never read its window, not the champion: a challenger trained to an earlier
    cut-off (last year's training run again) was compared with a champion fitted on the window's own stays, an
    in-sample figure, with no word (review13train 08)."""
    from riskmodel.apps.pipelines.risk import load_crossings, promote
    from riskmodel.integrations.tracking.risk import fitted_through

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    train(cfg, crossings=crossings)
    assert promote(cfg, crossings=crossings).passed
    name = cfg.tracking.registered_name
    through = fitted_through(name, version=1)
    earlier = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, cutoff="2021-12-31"))
    v2 = train(earlier, crossings=crossings).logged.version
    decision = promote(earlier, crossings=crossings)
    assert not decision.passed
    assert f"FAIL: the champion version 1 read rows up to {through} to fit, stop or calibrate" in "\n".join(decision.reasons), decision.reasons
    assert str(MlflowClient().get_model_version_by_alias(name, "champion").version) == "1" and str(v2) == "2"


@pytest.mark.slow
def test_a_promotion_names_the_window_it_judged_on(small_config):
    """A decision quoted paired differences and an audit with no word of the rows they were read on: which stays, how
    many overstays, labelled as known when, so a figure could not be traced back to its rows, nor two decisions told to
    share a window (review17promote 02). Promoted with the log it was trained on, the window is the challenger's test
    slice, whose rows, overstays, span and label cut-off its training run logged."""
    from riskmodel.apps.pipelines.risk import load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    logged = train(cfg, crossings=crossings).logged
    # a refusal names its window too: a shorter log's, which starts where its FAIL line says
    shorter = promote(cfg, crossings=crossings[crossings["timestamp"] < "2023-09-30"])
    start = next(r for r in shorter.reasons if r.startswith("FAIL: the gate window starts")).split("starts ")[1].split(" but")[0]
    assert shorter.reasons[0].startswith("window: ") and f"entered {start} to " in shorter.reasons[0], shorter.reasons
    decision = promote(cfg, crossings=crossings)
    client = MlflowClient()
    mv = client.get_model_version(logged.name, str(logged.version))
    p = client.get_run(mv.run_id).data.params
    line = decision.reasons[0]
    assert line.startswith("window: "), decision.reasons
    for part in (f"{int(p['data_test_rows']):,} stays", f"{int(p['data_test_positives']):,} overstays",
                 f"entered {p['data_test_from']} to {p['data_test_to']}", f"labels as known at {p['data_label_cutoff']}"):
        assert part in line, (part, line)
    assert line in mv.tags["gate.reasons"].splitlines()


@pytest.mark.slow
def test_a_promotion_says_when_other_versions_were_tested_on_its_window(small_config):
    """Train, read the holdout figure, change the config, train again: each version of one log is tested on the same
    slice, and the gate then judges the one chosen on that very window, flattered by the choice, with no word of how
    many were tried there (review17promote 03)."""
    from riskmodel.apps.pipelines.risk import load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    first = train(cfg, crossings=crossings).logged
    tweaked = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, params={**cfg.model.params, "num_leaves": 15}))
    second = train(tweaked, crossings=crossings).logged
    decision = promote(tweaked, crossings=crossings)
    assert decision.candidate == str(second.version)
    [note] = [r for r in decision.reasons if r.startswith("note: this window was also the test slice")]
    assert f"of 1 other version ({first.version})" in note, note
    assert decision.reasons[1] == note  # right under the window's line


@pytest.mark.slow
def test_a_log_whose_exit_feed_broke_is_refused_naming_the_weeks(small_config):
    """The exit feed down for July and August 2023: travellers back since then are refused by the crossings check
    ("entered again without an exit"), whose fix reads "drop the repeated entry"; done so, every traveller who left
    in those weeks was trained on and judged as an overstayer, without a word (review17promote 04)."""
    from riskmodel.apps.pipelines.risk import gate_window, load_crossings
    from riskmodel.core.exceptions import SchemaError

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    down = (crossings["direction"].astype(str) == "exit") & crossings["timestamp"].between("2023-07-01", "2023-08-31 23:59:59")
    lost = crossings[down].groupby("traveller_id")["timestamp"].min()
    after = crossings["traveller_id"].map(lost)
    broken = crossings[~down & ~(crossings["timestamp"] > after)].reset_index(drop=True)  # the repeated entries dropped too
    weekly = broken.assign(week=broken["timestamp"].dt.to_period("W-SUN").dt.start_time)
    entries = weekly[weekly["direction"].astype(str) == "entry"].groupby("week").size()
    assert entries.loc["2023-07-03":"2023-08-28"].min() >= 30  # every whole week of the outage holds 30 entries or more
    for call in (lambda: train(cfg, crossings=broken, log=False), lambda: gate_window(cfg, broken)):
        with pytest.raises(SchemaError, match=r"(?s)`direction`.*no exit recorded in 8 weeks.*2023-07-03.*re-export") as err:
            call()
        assert f"({int(entries.loc['2023-07-03']):,} entries)" in str(err.value), str(err.value)


@pytest.mark.slow
def test_promote_says_when_the_champion_cannot_be_dated(small_config):
    """A champion whose training run logged no fitting lineage (promoted by older code) was compared without the
    in-sample check and without a word, while a challenger without one is refused (review17promote 06)."""
    from types import SimpleNamespace

    from riskmodel.apps.pipelines.risk import load_crossings, promote
    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.risk import log_risk_run

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    outcome = train(cfg, crossings=crossings, log=False)
    for part in ("train", "valid", "calib"):
        outcome.result.lineage.pop(f"{part}_to")
    old = log_risk_run(outcome.result, cfg)
    name = cfg.tracking.registered_name
    assert registry.promote(name, lambda cand, champ: SimpleNamespace(passed=True, reasons=["test"]), version=str(old.version)).passed
    train(cfg, crossings=crossings)
    decision = promote(cfg, crossings=crossings)
    assert decision.champion == str(old.version)
    assert any(r.startswith(f"OFF: the champion version {old.version}'s training run logged no fitting lineage") for r in decision.reasons), \
        decision.reasons


@pytest.mark.slow
def test_promote_refuses_a_window_the_challengers_hyper_parameters_were_chosen_on(small_config):
    """A tuned config carried no trace of the rows its search read: trained at an earlier cut-off (a backfill), the gate
    window lay inside the stays that chose its hyper-parameters, and the gate judged it there (review17promote 05)."""
    from riskmodel.apps.pipelines.risk import gate_window, load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    tuned = dataclasses.replace(cfg, tuning=dataclasses.replace(cfg.tuning, searched_through="2023-06-30 00:00:00"))
    train(tuned, crossings=crossings)
    _, window = gate_window(tuned, crossings)
    assert window["entry_time"].min() <= pd.Timestamp("2023-06-30")
    decision = promote(tuned, crossings=crossings)
    assert not decision.passed
    assert any(r.startswith("FAIL: the challenger's hyper-parameters were chosen by a search on stays up to 2023-06-30 00:00:00")
               and "tuning.searched_through" in r for r in decision.reasons), decision.reasons


@pytest.mark.slow
def test_a_promotion_is_judged_against_the_earlier_champions_on_its_window_too(small_config):
    """The written tolerance bounded each promotion's drop from the champion it replaced, never the sum over
    promotions. The gate scores the champions before the current one on the window too: a version promoted by a
    passed gate counts, one whose decision tag was set by hand does not (it is no champion the gate made)."""
    from riskmodel.apps.pipelines.risk import load_crossings, promote

    cfg = load_config(small_config, RiskConfig)
    crossings, _ = load_crossings(cfg)
    name = cfg.tracking.registered_name
    first = train(cfg, crossings=crossings).logged
    assert promote(cfg, crossings=crossings).passed
    forged = train(cfg, crossings=crossings).logged  # never promoted: its decision tag written by hand
    MlflowClient().set_model_version_tag(name, str(forged.version), "gate.decision", "promoted")
    second = train(cfg, crossings=crossings).logged
    assert promote(cfg, crossings=crossings).passed  # the same settings on the same log: the same model
    third = train(cfg, crossings=crossings).logged
    decision = promote(cfg, crossings=crossings)
    assert decision.candidate == str(third.version) and decision.champion == str(second.version)
    [line] = [r for r in decision.reasons if "earlier champion" in r]
    assert line.startswith(f"ok: pr_auc challenger - earlier champion version {first.version} +0.0000 on the window (the best of "
                           "1 earlier champion scored there)"), line
    assert decision.passed, decision.reasons
