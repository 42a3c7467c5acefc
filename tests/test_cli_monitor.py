"""``riskmodel monitor`` and ``riskmodel synth-sources`` (riskmodel/apps/cli/monitor.py), through their own parser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.apps.cli import main
from riskmodel.apps.cli.monitor import SOURCE_FILES
from riskmodel.core.exceptions import ConfigError

from .conftest import run_command, write_synthetic_log


_run = run_command


@pytest.fixture(autouse=True)
def _signing_key(monkeypatch):
    """A model saved by ``monitor --save-model`` is signed: with this key, not a key file left in the working directory."""
    monkeypatch.setenv("RISKMODEL_SIGNING_KEY", "a-test-key-of-at-least-32-bytes-0123456789")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_synthetic_log(tmp_path_factory.mktemp("data"), 1_500)


def test_synth_sources_then_monitor(data_dir, tmp_path, capsys):
    assert _run("synth-sources", "--data", str(data_dir)) == 0
    for name in SOURCE_FILES:
        assert (data_dir / f"{name}.parquet").exists()
    out = tmp_path / "lists"
    # 1,500 travellers are too few to judge the model's fairness (tests/test_cli_monitor_fairness.py): lists written anyway
    code = _run("monitor", "--as-of", "2023-09-30", "--data", str(data_dir), "--out", str(out), "--train-months", "9",
                "--save-model", str(tmp_path / "model"), "--quiet", "--allow-unfair")
    assert code == 0
    printed = capsys.readouterr().out
    assert "WARNING: fairness audit CANNOT JUDGE; at-risk lists written anyway (--allow-unfair)" in printed
    assert "as of 2023-09-30:" in printed and "unlinked records by reason" in printed
    overstays = pd.read_csv(out / "overstays.csv")
    at_risk = pd.read_csv(out / "at_risk.csv")
    assert list(overstays.columns) == ["office", "stay_id", "traveller_id", "nationality", "visa_type", "entry_time",
                                       "permit_end_now", "days_overstayed"]
    assert len(overstays) > 0 and (overstays["days_overstayed"] >= 1).all()
    assert at_risk["days_to_permit_end"].between(0, 13).all()
    # the output states the model's training window: snapshots every 14 days from 9 months back; the latest fifth of
    # them (at least 2), the last one 21 days (horizon 14 + 7 for late records) or less 14 days more before the day of
    # the lists, are held out for the fairness audit; labels read on the day of the lists
    window = re.search(r"model: trained on (\d+) snapshots of everyone in the country from (\S+) to (\S+), each labelled with "
                       r"whether an overstay began within 14 days, as known on 2023-09-30\n", printed)
    assert window is not None, printed
    held = re.search(r"fairness audit of the model on \d+ held-out rows \((\d+) snapshots (\S+) \.\. (\S+);", printed)
    assert held is not None, printed
    # of the 19 snapshot days, the one 14 days before the first held out is neither fitted nor audited: its label
    # (horizon 14, 7 more for late records) is settled only after the audit window begins
    assert window.group(2) == "2022-12-30" and int(window.group(1)) + int(held.group(1)) == 18 and int(held.group(1)) == 4
    assert pd.Timestamp(held.group(2)) - pd.Timestamp(window.group(3)) == pd.Timedelta(days=28)
    assert pd.Timestamp("2023-09-30") - pd.Timestamp(held.group(3)) in [pd.Timedelta(days=d) for d in range(21, 35)]
    # of the 14 fitting snapshots, early stopping reads 2 and the calibration the 2 after them, the last before the audit's
    saved = json.loads((tmp_path / "model" / "monitor_training.json").read_text(encoding="utf-8"))
    stop, calib = saved["early_stopping"], saved["calibration"]
    assert (stop["snapshots"], calib["snapshots"]) == (2, 2) and calib["last"] == window.group(3) == saved["last_snapshot"]
    assert pd.Timestamp(stop["first"]) > pd.Timestamp(window.group(2)) and pd.Timestamp(stop["last"]) < pd.Timestamp(calib["first"])
    assert pd.Timestamp(calib["last"]) < pd.Timestamp(held.group(2)) == pd.Timestamp(saved["audit"]["first"])
    # every overstay is printed, under its office; the at-risk rows name their reasons in words, none empty
    assert len(re.findall(r"day\(s\) past it\n", printed)) == len(overstays)
    for office, n in overstays.groupby("office").size().items():
        assert f"\n{office}: {n} past their permit on 2023-09-30 (all of them)\n" in printed
    risk_lines = [line for line in printed.splitlines() if " p=0." in line]
    assert risk_lines and not [line for line in risk_lines if "None" in line or "_" in line.split(": ", 1)[1] or " = " in line]
    # a scheduled run's console goes to its log (cron, Airflow): no traveller's or stay's id is printed, each listed row
    # is named by its line in the CSV (the header is line 1), which holds the ids
    ids = {*overstays["stay_id"], *overstays["traveller_id"], *at_risk["stay_id"], *at_risk["traveller_id"]}
    words = set(re.findall(r"[A-Za-z0-9_]+", printed))
    assert ids and not words & {str(i) for i in ids}, sorted(words & {str(i) for i in ids})[:5]
    first = overstays.iloc[0]
    assert f"  overstays.csv line 2: {first['nationality']} {first['visa_type']}: permit ended" in printed
    assert f"  at_risk.csv line 2: p={at_risk.iloc[0]['p_overstay']:.3f} " in printed
    # scoring everyone in the country is a scoring call: audited as every other (no id, no value), with its counts
    from riskmodel.core import audit

    records = audit.read()
    assert [r["event"] for r in records] == ["monitor"], records
    rec = records[0]
    in_country = int(re.search(r"as of 2023-09-30: ([\d,]+) in the country", printed).group(1).replace(",", ""))
    assert (rec["as_of"], rec["in_country"], rec["overstays"], rec["at_risk"]) == ("2023-09-30", in_country, len(overstays), len(at_risk))
    assert rec["at_risk_written"] is True and rec["fairness"] == "CANNOT JUDGE" and rec["model"] == "fitted in this run"
    assert rec["purpose"] == "in-country monitoring lists" and len(rec["scores_digest"]) == 64
    assert not set(re.findall(r"[A-Za-z0-9_]+", audit.audit_path().read_text())) & {str(i) for i in ids}
    # the model was saved after an audit that could not judge it (with --allow-unfair): reused with --model it is no
    # fairer, so its lists are refused again (they were written without a word before, the refusal bypassed in two runs)
    again = tmp_path / "again"
    assert _run("monitor", "--as-of", "2023-09-30", "--data", str(data_dir), "--out", str(again), "--model", str(tmp_path / "model"),
                "--quiet") == 1
    assert not (again / "at_risk.csv").exists()
    assert "REFUSED: the fairness audit of the monitoring model: CANNOT JUDGE when the --model was saved" in capsys.readouterr().out
    # a refused run scored everyone too: audited, its lists not written
    rec = audit.read()[-1]
    assert rec["event"] == "monitor" and rec["at_risk_written"] is False and rec["model"] == "saved (--model)"
    assert rec["fairness"] == "CANNOT JUDGE when the --model was saved"
    # with --allow-unfair, a saved model gives the same lists without refitting, and its saved training window
    assert _run("monitor", "--as-of", "2023-09-30", "--data", str(data_dir), "--out", str(again), "--model", str(tmp_path / "model"),
                "--quiet", "--allow-unfair") == 0
    pd.testing.assert_frame_equal(pd.read_csv(again / "at_risk.csv"), at_risk)
    printed = capsys.readouterr().out
    assert window.group(0) in printed and "fairness: not audited in this run (a --model is used as saved" in printed
    assert "its audit when saved: CANNOT JUDGE" in printed and "WARNING: fairness audit CANNOT JUDGE when the --model was saved" in printed
    assert (tmp_path / "model" / "monitor_fairness.csv").exists() and not (again / "monitor_fairness.csv").exists()
    # the same model read for lists a month earlier says that it learnt from outcomes not known that day
    assert _run("monitor", "--as-of", "2023-08-31", "--data", str(data_dir), "--out", str(again), "--model", str(tmp_path / "model"),
                "--quiet", "--allow-unfair") == 0
    assert "as known on 2023-09-30 (after 2023-08-31: it learnt from outcomes not yet known" in capsys.readouterr().out


def test_monitor_trains_on_labels_that_are_settled(data_dir, tmp_path):
    """The last training snapshot leaves the horizon and the late records' days before the labels are read.

    From 2023-01-30 every 14 days, the last snapshot up to 14 days before 2023-09-30 is 2023-09-11: its 14 days
    have passed on 2023-09-30, but a decision of their last days may not be on file yet.
    """
    assert _run("synth-sources", "--data", str(data_dir), "--out", str(tmp_path / "d")) == 0
    with pytest.raises(ConfigError, match=r"at least `horizon_days` \+ `late_days` \(14 \+ 7\) before `label_as_of` "
                                          r"\(2023-09-30\), so that their outcome is known and on file; got \['2023-09-11'\]"):
        _run("monitor", "--as-of", "2023-09-30", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--train-months", "8",
             "--label-gap-days", "14", "--quiet")


def test_monitor_names_the_missing_files(tmp_path):
    with pytest.raises(ConfigError, match=r"lacks \['crossings.parquet', 'presence_reports.parquet'"):
        _run("monitor", "--as-of", "2023-09-30", "--data", str(tmp_path))
    with pytest.raises(ConfigError, match="give `--data DIR` \\(Parquet files\\) or `--database"):
        _run("monitor", "--as-of", "2023-09-30")


def test_monitor_is_a_riskmodel_command_with_a_one_paragraph_error(tmp_path, capsys):
    assert main(["monitor", "--as-of", "2023-09-30", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "crossings.parquet" in err


@pytest.mark.parametrize(("gap", "days"), [(["--label-gap-days", "21"], 3), (["--horizon", "7", "--late-records-days", "7"], 4)])
def test_monitor_needs_snapshots_to_hold_out_for_its_fairness_audit(data_dir, tmp_path, gap, days):
    """Two months are 3 or 4 snapshots: the model needs 3 (train, early stopping, calibration) and the audit the latest 2."""
    assert _run("synth-sources", "--data", str(data_dir), "--out", str(tmp_path / "d")) == 0
    with pytest.raises(ConfigError, match=rf"the training window holds {days} snapshot day\(s\): the model needs 3 \(to train, "
                                          r"stop early and calibrate on\) whose \d+-day horizon and \d+ days for late records end before its "
                                          r"fairness audit on "
                                          r"the latest 2 held out; give a longer"):
        _run("monitor", "--as-of", "2023-09-30", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--train-months", "2",
             *gap, "--quiet")


def test_a_saved_verdict_is_only_believed_when_signed_with_the_model(data_dir, tmp_path, capsys):
    """``--model`` refuses the lists of a model not saved after a passed audit: the verdict saved beside it must not be
    editable, nor carried to other model files, without the signing key (the core's signed manifest)."""
    import shutil

    from riskmodel.core.artifacts import MANIFEST
    from riskmodel.core.exceptions import ArtifactIntegrityError

    assert _run("synth-sources", "--data", str(data_dir), "--out", str(tmp_path / "d")) == 0
    model = tmp_path / "model"
    # 1,500 travellers are too few to judge the model's fairness: saved only with --allow-unfair, its verdict CANNOT JUDGE
    assert _run("monitor", "--as-of", "2023-09-30", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--train-months", "9",
                "--save-model", str(model), "--quiet", "--allow-unfair") == 0
    window = json.loads((model / "monitor_training.json").read_text(encoding="utf-8"))
    assert window["audit"]["verdict"] == "CANNOT JUDGE"
    assert window["unlinked"] == []  # every generated source links: no warning was overridden with --allow-unlinked

    def reuse(folder):
        out = tmp_path / "reused"
        shutil.rmtree(out, ignore_errors=True)
        return _run("monitor", "--as-of", "2023-09-30", "--data", str(tmp_path / "d"), "--out", str(out), "--model", str(folder),
                    "--quiet")

    # the verdict edited to "passed" is a changed file of a signed model folder
    edited = tmp_path / "edited"
    shutil.copytree(model, edited)
    window["audit"]["verdict"] = "passed"
    (edited / "monitor_training.json").write_text(json.dumps(window, indent=1), encoding="utf-8")
    with pytest.raises(ArtifactIntegrityError, match=r"content of monitor_training.json changed"):
        reuse(edited)
    assert not (tmp_path / "reused" / "at_risk.csv").exists()
    # without its manifest (deleted, or a model folder from elsewhere with a verdict written beside it) the verdict is
    # not believed: the lists are refused as for a model never audited
    (edited / MANIFEST).unlink()
    capsys.readouterr()
    assert reuse(edited) == 1
    assert not (tmp_path / "reused" / "at_risk.csv").exists()
    assert "REFUSED: the fairness audit of the monitoring model: not verifiable" in capsys.readouterr().out


def test_a_saved_model_is_refused_for_another_horizon_than_it_learnt(data_dir, tmp_path):
    """A model saved for overstays beginning within 14 days of a snapshot says nothing about 30 days: a permit ending in
    20 days was a 0 in every row it learnt from, so a 30-day at-risk list ranked by it is no ranking of that question."""
    assert _run("synth-sources", "--data", str(data_dir), "--out", str(tmp_path / "d")) == 0
    args = ("monitor", "--as-of", "2023-09-30", "--data", str(tmp_path / "d"), "--quiet", "--allow-unfair")
    assert _run(*args, "--out", str(tmp_path / "o"), "--train-months", "9", "--save-model", str(tmp_path / "model")) == 0
    with pytest.raises(ConfigError, match=r"`--horizon 30`: the --model learnt whether an overstay began within 14 days of a "
                                          r"snapshot.*pass --horizon 14, or fit a model for 30 days"):
        _run(*args, "--out", str(tmp_path / "again"), "--model", str(tmp_path / "model"), "--horizon", "30")
    assert not (tmp_path / "again" / "at_risk.csv").exists()
    assert _run(*args, "--out", str(tmp_path / "again"), "--model", str(tmp_path / "model"), "--horizon", "14") == 0


def test_no_fitting_snapshot_reads_outcomes_the_audit_scores(data_dir, tmp_path):
    """A fitting snapshot's label reads the overstays beginning up to --horizon days after it: with a horizon longer than
    the 14 days between snapshots, the last fitting labels held outcomes inside the audit window, which the model then
    learnt before being audited on them. The fitting snapshots end at least --horizon days before the first audited one,
    and --late-records-days more: their labels are read on --as-of, and an extension put on file that late after its
    decision (a label settled only then) is news the model would have learnt after its audit window began."""
    from riskmodel.core.risk.model import RiskModel

    if not (data_dir / "presence_reports.parquet").exists():
        assert _run("synth-sources", "--data", str(data_dir)) == 0
    model = tmp_path / "model"
    assert _run("monitor", "--as-of", "2023-09-30", "--data", str(data_dir), "--out", str(tmp_path / "lists"), "--train-months", "12",
                "--horizon", "45", "--late-records-days", "30", "--save-model", str(model), "--quiet", "--allow-unfair") == 0
    window = json.loads((model / "monitor_training.json").read_text(encoding="utf-8"))
    last, audited = pd.Timestamp(window["last_snapshot"]), pd.Timestamp(window["audit"]["first"])
    assert last + pd.Timedelta(days=45 + 30) <= audited, window
    # the window says what the model was fitted on: its latest snapshot day is that last one
    assert max(max(days) for days in RiskModel.load(model).snapshot_days_.values()) == last


def test_monitor_refuses_a_day_after_the_extract_ends(data_dir, tmp_path):
    """The synthetic extract ends on 2023-12-31: lists for 2024-03-31 would call everyone whose permit ended since an
    overstay, their exits not being on file. On main the lists were written (exit 0)."""
    assert _run("synth-sources", "--data", str(data_dir)) == 0
    with pytest.raises(ConfigError, match=r"`--as-of` \(2024-03-31\) is after the last day of the crossings log \(2023-12-31\)"):
        _run("monitor", "--as-of", "2024-03-31", "--data", str(data_dir), "--out", str(tmp_path / "lists"), "--train-months", "9",
             "--quiet", "--allow-unfair")
    assert not (tmp_path / "lists").exists()


def _hand_made_data(folder, reports):
    """Parquet files of two travellers in the country on 20 January 2022 (permits to 30 April: nobody at risk within
    14 days) and a third whose visit ends that day, with ``reports`` as the presence feed."""
    from .test_sources import _log, _reports, _tables_with

    folder.mkdir(parents=True, exist_ok=True)
    log = _log(("C1", "T1", "entry", "2022-01-10 09:00", "2022-04-30", "D1"), ("C2", "T2", "entry", "2022-01-12 09:00", "2022-04-30", "D2"),
               ("C3", "T3", "entry", "2022-01-18 09:00", "2022-02-16", "D3"), ("C4", "T3", "exit", "2022-01-20 09:00", "2022-02-16", "D3"))
    for name, table in {"crossings": log, **_tables_with(presence_reports=_reports(*reports))}.items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _signed_model_folder(folder, verdict, audit=None):
    """A ``--model`` folder as ``--save-model`` leaves it: its training window with the audit's ``verdict``, signed."""
    from riskmodel.core.artifacts import write_manifest

    folder.mkdir(parents=True, exist_ok=True)
    window = {"first_snapshot": "2021-02-01", "last_snapshot": "2021-11-01", "snapshots": 20, "label_as_of": "2022-01-01",
              "horizon_days": 14, "audit": {"verdict": verdict, "rows": 6104, "list_rows": 230} if audit is None else audit}
    (folder / "monitor_training.json").write_text(json.dumps(window), encoding="utf-8")
    write_manifest(folder)
    return folder


class _ConstantModel:
    def predict_proba(self, x):
        import numpy as np

        return np.tile([0.5, 0.5], (len(x), 1))


_KNOWN = [("P1", "T1", None, "2022-01-10", "2022-01-11"), ("P2", "T2", None, "2022-01-12", "2022-01-13")]
# three of four reports name travellers (T8, T9) or a document (D9) the crossings log never held: a feed hashed with another key
_UNKNOWN = [_KNOWN[0], ("P3", "T9", None, "2022-01-12", "2022-01-13"), ("P4", "T8", None, "2022-01-14", "2022-01-15"),
            ("P5", None, "D9", "2022-01-14", "2022-01-15")]


def test_monitor_refuses_the_lists_when_a_feed_is_linked_to_almost_nobody(tmp_path, capsys, monkeypatch):
    """On main the lists were written and the command exited 0 with three of the feed's four records linked to
    nobody: everyone scored as if never reported, the only trace a count among the unlinked. Now exit 1, no
    lists (an earlier run's neither), the source and figures on stderr, before any model is fitted; with
    --allow-unlinked the lists are written and the warning is printed in the output and on stderr."""
    from riskmodel.core.risk.model import RiskModel

    monkeypatch.setattr(RiskModel, "from_files", staticmethod(lambda files, where: _ConstantModel()))
    data = _hand_made_data(tmp_path / "data", _UNKNOWN)
    model = _signed_model_folder(tmp_path / "model", "passed")
    out = tmp_path / "lists"
    out.mkdir()
    (out / "overstays.csv").write_text("left by an earlier run\n", encoding="utf-8")
    args = ("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--quiet")
    capsys.readouterr()
    assert _run(*args, "--model", str(model)) == 1
    printed = capsys.readouterr()
    assert not (out / "overstays.csv").exists() and not (out / "at_risk.csv").exists()
    for text in (printed.out, printed.err):
        assert "REFUSED: presence_reports: 3 of 4 records (75%) name a traveller or document the crossings log never held" in text
        assert "--allow-unlinked" in text
    # the refusal comes before fitting: two hand-made travellers could not fit a model, yet the answer is the same
    assert _run(*args) == 1
    assert _run(*args, "--model", str(model), "--allow-unlinked") == 0
    printed = capsys.readouterr()
    assert (out / "overstays.csv").exists() and (out / "at_risk.csv").exists()
    for text in (printed.out, printed.err):
        assert "WARNING: presence_reports: 3 of 4 records (75%) name a traveller or document" in text
    # a feed with one unknown record of four is no warning
    data = _hand_made_data(tmp_path / "fine", [*_KNOWN, ("P3", "T1", None, "2022-01-15", "2022-01-16"), _UNKNOWN[2]])
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--quiet", "--model", str(model)) == 0
    printed = capsys.readouterr()
    assert "WARNING" not in printed.out + printed.err and "REFUSED" not in printed.out + printed.err
    # T1 and T2 in the country, T3 left: no open entry counted out
    assert "as of 2022-01-20: 2 in the country" in printed.out
    assert "entries with no exit on file not counted in the country, by reason: {'entered_again': 0}" in printed.out


def test_a_saved_models_window_and_verdict_come_from_one_read_of_its_file(tmp_path, capsys, monkeypatch):
    """The folder is verified against its signed manifest, then monitor_training.json was read twice: for the window
    (before the model was loaded) and for the fairness verdict (after). Rewritten in between (a --save-model into the
    same folder, or an edit), the run mixed two versions: here the signed one said CANNOT JUDGE and the unsigned
    rewrite "passed", so on main the at-risk list was written, exit 0. Read once, the verified verdict refuses it."""
    from riskmodel.core.risk.model import RiskModel

    model = _signed_model_folder(tmp_path / "model", "CANNOT JUDGE")
    window_file = model / "monitor_training.json"

    def load_while_the_file_changes(files, where):
        window = json.loads(window_file.read_text(encoding="utf-8"))
        window["audit"]["verdict"] = "passed"
        window_file.write_text(json.dumps(window), encoding="utf-8")
        return _ConstantModel()

    monkeypatch.setattr(RiskModel, "from_files", staticmethod(load_while_the_file_changes))
    data = _hand_made_data(tmp_path / "data", _KNOWN)
    out = tmp_path / "lists"
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--model", str(model), "--quiet") == 1
    assert not (out / "at_risk.csv").exists()
    assert "REFUSED: the fairness audit of the monitoring model: CANNOT JUDGE when the --model was saved" in capsys.readouterr().out


def test_monitor_refuses_the_lists_of_a_feed_re_keyed_last_week(tmp_path, capsys, monkeypatch):
    """The CLI judges the feed before fitting, apart from `monitor()`: a presence feed re-keyed on 14 January (its 10
    reports since name nobody the log holds, its 20 December ones link) was 33% unknown overall, and on main the lists
    were written, exit 0. Now exit 1 with no list, naming the last 7 days' records; --allow-unlinked writes them."""
    from riskmodel.core.risk.model import RiskModel

    from .test_sources import _rekeyed_feed, _tables_with

    monkeypatch.setattr(RiskModel, "from_files", staticmethod(lambda files, where: _ConstantModel()))
    log, reports = _rekeyed_feed(new=10, unknown=10)
    data = tmp_path / "data"
    data.mkdir()
    for name, table in {"crossings": log, **_tables_with(presence_reports=reports)}.items():
        table.to_parquet(data / f"{name}.parquet", index=False)
    model = _signed_model_folder(tmp_path / "model", "passed")
    out = tmp_path / "lists"
    args = ("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--quiet", "--model", str(model))
    capsys.readouterr()
    assert _run(*args) == 1
    printed = capsys.readouterr()
    assert not (out / "overstays.csv").exists() and not (out / "at_risk.csv").exists()
    assert ("REFUSED: presence_reports: 10 of the 10 records that reached the service in the last 7 days (100%) name a "
            "traveller or document the crossings log never held") in printed.err
    assert _run(*args, "--allow-unlinked") == 0
    assert (out / "at_risk.csv").exists()


def _real_model_folder(fitted, folder, verdict, **saved):
    """A ``--model`` folder holding a real saved RiskModel (model.txt, meta.json) and its training window with ``verdict``,
    signed as ``--save-model`` signs it."""
    import shutil

    from riskmodel.core.artifacts import write_manifest

    shutil.copytree(fitted[1], folder)
    window = {"first_snapshot": "2021-02-01", "last_snapshot": "2021-11-01", "snapshots": 20, "label_as_of": "2022-01-01",
              "horizon_days": 14, "audit": {"verdict": verdict, "rows": 6104, "list_rows": 230}, **saved}
    (folder / "monitor_training.json").write_text(json.dumps(window), encoding="utf-8")
    write_manifest(folder)
    return folder


def test_a_model_fitted_despite_link_warnings_says_so_when_reused(fitted, tmp_path, capsys):
    """A model fitted with --allow-unlinked learnt from snapshots where a source linked to almost nobody. On main the
    override was not saved with it: reused with --model, its lists read like any other's. The saved window records the
    warnings, and the lists' reader is told."""
    warning = "presence_reports: from the snapshot of 2022-02-16 on, most records name a traveller the log never held"
    model = _real_model_folder(fitted, tmp_path / "model", "passed", unlinked=[warning])
    data = _hand_made_data(tmp_path / "data", _KNOWN)
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(tmp_path / "lists"), "--model", str(model)) == 0
    out = capsys.readouterr().out
    assert f"the model was fitted despite 1 link warning (--allow-unlinked): {warning}" in out


def _rewrite_after_verification(monkeypatch, rewrite):
    """Wrap the monitor CLI's verification of a ``--model`` folder: once it has returned (the files checked against the
    signed manifest), ``rewrite(folder)`` changes files in the folder, as another process could before they are read."""
    import riskmodel.apps.cli.monitor as cli

    real = cli.verify_manifest

    def verify_then_rewrite(folder, *args, **kwargs):
        verified = real(folder, *args, **kwargs)
        rewrite(Path(folder))
        return verified

    monkeypatch.setattr(cli, "verify_manifest", verify_then_rewrite)


def test_a_saved_verdict_rewritten_after_the_check_is_not_the_one_used(fitted, tmp_path, capsys, monkeypatch):
    """Time of check, time of use: the folder was verified, then monitor_training.json read from the disk again. A file
    rewritten between the two ("passed" in place of the signed "CANNOT JUDGE") decided, unsigned: on main the at-risk
    list is written, exit 0. The bytes verified must be the bytes parsed: the signed verdict refuses the lists."""

    def pass_it(folder):
        window = json.loads((folder / "monitor_training.json").read_text(encoding="utf-8"))
        window["audit"]["verdict"] = "passed"
        (folder / "monitor_training.json").write_text(json.dumps(window), encoding="utf-8")

    model = _real_model_folder(fitted, tmp_path / "model", "CANNOT JUDGE")
    _rewrite_after_verification(monkeypatch, pass_it)
    data = _hand_made_data(tmp_path / "data", _KNOWN)
    out = tmp_path / "lists"
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--model", str(model), "--quiet") == 1
    assert not (out / "at_risk.csv").exists()
    assert "REFUSED: the fairness audit of the monitoring model: CANNOT JUDGE when the --model was saved" in capsys.readouterr().out
    # the rewrite did happen: the file on disk now says "passed", which the run did not believe
    assert json.loads((model / "monitor_training.json").read_text(encoding="utf-8"))["audit"]["verdict"] == "passed"


def _fewer_trees(folder):
    """The booster cut to its first 3 trees: a valid LightGBM model that scores otherwise."""
    from riskmodel.core.risk.model import RiskModel

    text = RiskModel.load(folder).booster_.model_to_string(num_iteration=3)
    (folder / "model.txt").write_text(text, encoding="utf-8")


def _best_iteration_3(folder):
    """meta.json's best iteration set to 3 (the calibrator and thresholds kept): a valid model that scores otherwise."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["best_iteration"] = 3
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.parametrize("rewrite", [_fewer_trees, _best_iteration_3], ids=["model.txt", "meta.json"])
def test_the_saved_model_used_is_the_one_verified_not_a_rewrite_after_the_check(fitted, tmp_path, monkeypatch, rewrite):
    """The model's files were verified, then RiskModel.load read them from the disk again: a model.txt or meta.json
    rewritten in between (another model, unsigned) ranked the lists. On main the model handed to the monitoring is the
    rewritten one (its probabilities differ from the signed model's); it must be the one whose bytes were verified."""
    import shutil

    import riskmodel.core.sources.monitor as monitoring
    from riskmodel.core.risk.model import RiskModel

    signed, rows = fitted[0], fitted[2].head(200)
    # the rewrite makes a model that scores otherwise, so the comparison below can tell the two apart
    shutil.copytree(fitted[1], tmp_path / "other")
    rewrite(tmp_path / "other")
    assert not (RiskModel.load(tmp_path / "other").predict_proba(rows) == signed.predict_proba(rows)).all()

    model = _real_model_folder(fitted, tmp_path / "model", "passed")
    _rewrite_after_verification(monkeypatch, rewrite)
    used = []
    real_monitor = monitoring.monitor

    def record(*args, model, **kwargs):
        used.append(model)
        return real_monitor(*args, model=model, **kwargs)

    monkeypatch.setattr(monitoring, "monitor", record)
    data = _hand_made_data(tmp_path / "data", _KNOWN)
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(tmp_path / "lists"), "--model", str(model),
                "--quiet") == 0
    assert len(used) == 1
    assert (used[0].predict_proba(rows) == signed.predict_proba(rows)).all()


def test_monitor_refuses_a_feed_rekeyed_during_its_training_window(tmp_path, capsys):
    """The presence feed links for its January reports and names nobody from 7 February (another key): on 31 March its
    records on file are 24 of 48 unknown, 50%, so the day's check passed, and on main the model was fitted on snapshots
    whose last fortnights' reports link to nobody, without a word (here: a ConfigError from fitting 12 travellers, after
    the check). Each snapshot day the model trains on is checked: refused before fitting, naming the source and 16 February
    (snapshots every 14 days from 2021-03-31: ..., 2022-02-02, 2022-02-16, 2022-03-02)."""
    from .test_sources import _OTHERS, _TWELVE, rekeyed_feed

    log, tables = rekeyed_feed([("2022-01-10", _TWELVE), ("2022-01-24", _TWELVE), ("2022-02-07", _OTHERS), ("2022-02-21", _OTHERS)])
    data = tmp_path / "data"
    data.mkdir()
    for name, table in {"crossings": log, **tables}.items():
        table.to_parquet(data / f"{name}.parquet", index=False)
    out = tmp_path / "lists"
    assert _run("monitor", "--as-of", "2022-03-31", "--data", str(data), "--out", str(out), "--quiet") == 1
    printed = capsys.readouterr()
    assert not (out / "overstays.csv").exists() and not (out / "at_risk.csv").exists()
    for text in (printed.out, printed.err):
        assert "REFUSED: presence_reports: from the snapshot of 2022-02-16 on, most records name a traveller or document" in text
        assert "--allow-unlinked" in text


def _count_linking(monkeypatch) -> dict[str, int]:
    """Calls of the linking function (:func:`~riskmodel.core.sources.link.link_records`) per source, from now on."""
    from collections import Counter

    from riskmodel.core.sources import features, link

    calls, real = Counter(), link.link_records

    def spy(name, *args, **kwargs):
        calls[name] += 1
        return real(name, *args, **kwargs)

    monkeypatch.setattr(link, "link_records", spy)
    monkeypatch.setattr(features, "link_records", spy)
    return calls


def test_monitor_links_each_source_once_per_run(tmp_path, capsys, monkeypatch):
    """On main every source was linked three times in a run with a --model: for the day's unknown-id check, for the
    snapshot-period check and by `monitor()`, each time as of the same day. Linked once, the three read the same
    links; the lists and counts are those of two travellers in the country, none past or near the end of a permit."""
    from riskmodel.core.risk.model import RiskModel

    monkeypatch.setattr(RiskModel, "from_files", staticmethod(lambda files, where: _ConstantModel()))
    data = _hand_made_data(tmp_path / "data", _KNOWN)
    model = _signed_model_folder(tmp_path / "model", "passed")
    out = tmp_path / "lists"
    calls = _count_linking(monkeypatch)
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--quiet", "--model", str(model)) == 0
    assert calls == {"presence_reports": 1, "permit_applications": 1, "enforcement": 1}
    printed = capsys.readouterr().out
    assert "as of 2022-01-20: 2 in the country, 0 past their permit, 0 with a permit ending within 14 days" in printed
    assert "unlinked records by reason: {'presence_reports': {}, 'permit_applications': {}, 'enforcement': {}}" in printed
    assert "WARNING" not in printed and len(pd.read_csv(out / "overstays.csv")) == 0


def test_a_fitting_run_links_each_source_once_per_snapshot_day(tmp_path, monkeypatch):
    """A run that fits its model links each source once per snapshot day it is fitted and audited on, and once for the
    day of the lists: on main 4 times for that day (the day's check, the period check, the labels and the training
    table's own period check). Twelve hand-made travellers cannot fit a model: the run stops after the table is built."""
    from .test_sources import _TWELVE, rekeyed_feed

    log, tables = rekeyed_feed([(day, _TWELVE) for day in ("2022-01-10", "2022-01-24", "2022-02-07", "2022-02-21")])
    data = tmp_path / "data"
    data.mkdir()
    for name, table in {"crossings": log, **tables}.items():
        table.to_parquet(data / f"{name}.parquet", index=False)
    calls = _count_linking(monkeypatch)
    # stopped by the check that the snapshot days fitted on hold anyone (the log begins in 2022), after the table
    with pytest.raises(ConfigError, match=r"of the snapshot days from 2021-03-31, 0 to fit on and \d+ to audit on hold anyone"):
        _run("monitor", "--as-of", "2022-03-31", "--data", str(data), "--out", str(tmp_path / "lists"), "--quiet")
    # 25 snapshot days, every 14 days from 2021-03-31 to 2022-03-02 (21 days or more before 31 March), but the one 14 days
    # before the first audited (its label settles 21 days after it), and 31 March once
    assert calls == {"presence_reports": 25, "permit_applications": 25, "enforcement": 25}


def test_the_entries_counted_out_are_printed_with_the_counts_when_the_lists_are_refused(tmp_path, capsys, monkeypatch):
    """T4 entered on 5 January with no exit on file and again on 15 January: the first entry is not in the country
    (``entered_again``); T3 came and left by the day. With a --model saved after an audit that could not judge it the at-risk list is refused,
    exit 1, after the counts are printed (3 in the country: T1, T2 and T4's second entry); on main the count of the
    entries left out was printed only with the lists, so the "3 in the country" did not say that one was counted out."""
    from riskmodel.core.risk.model import RiskModel

    from .test_sources import _log, _reports, _tables_with

    monkeypatch.setattr(RiskModel, "from_files", staticmethod(lambda files, where: _ConstantModel()))
    data = tmp_path / "data"
    data.mkdir()
    log = _log(("C1", "T1", "entry", "2022-01-10 09:00", "2022-04-30", "D1"), ("C2", "T2", "entry", "2022-01-12 09:00", "2022-04-30", "D2"),
               ("C3", "T4", "entry", "2022-01-05 09:00", "2022-04-30", "D4"), ("C4", "T4", "entry", "2022-01-15 09:00", "2022-04-30", "D4"),
               ("C5", "T3", "entry", "2022-01-18 09:00", "2022-02-16", "D3"), ("C6", "T3", "exit", "2022-01-20 09:00", "2022-02-16", "D3"))
    for name, table in {"crossings": log, **_tables_with(presence_reports=_reports(*_KNOWN))}.items():
        table.to_parquet(data / f"{name}.parquet", index=False)
    model = _signed_model_folder(tmp_path / "model", "CANNOT JUDGE")
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(tmp_path / "lists"), "--quiet",
                "--model", str(model)) == 1
    printed = capsys.readouterr().out
    assert "REFUSED: the fairness audit of the monitoring model" in printed
    assert "as of 2022-01-20: 3 in the country, 0 past their permit, 0 with a permit ending within 14 days" in printed
    assert "entries with no exit on file not counted in the country, by reason: {'entered_again': 1}" in printed


def test_travellers_with_no_permit_end_on_file_are_written_and_said_not_dropped(tmp_path, capsys, monkeypatch):
    """T1's entry of 10 January has no permit end on file: on main `monitor` said "2 in the country, 0 past their
    permit" and T1 was on no list and in no count. They cannot be judged overstayed, so they are written to
    no_permit_end.csv and said in the counts."""
    from riskmodel.core.risk.model import RiskModel

    from .test_sources import _log, _reports, _tables_with

    monkeypatch.setattr(RiskModel, "from_files", staticmethod(lambda files, where: _ConstantModel()))
    data = tmp_path / "data"
    data.mkdir()
    log = _log(("C1", "T1", "entry", "2022-01-10 09:00", None, "D1"), ("C2", "T2", "entry", "2022-01-12 09:00", "2022-04-30", "D2"),
               ("C3", "T3", "entry", "2022-01-18 09:00", "2022-02-16", "D3"), ("C4", "T3", "exit", "2022-01-20 09:00", "2022-02-16", "D3"))
    for name, table in {"crossings": log, **_tables_with(presence_reports=_reports(*_KNOWN))}.items():
        table.to_parquet(data / f"{name}.parquet", index=False)
    out = tmp_path / "lists"
    model = _signed_model_folder(tmp_path / "model", "passed")
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--quiet", "--model", str(model)) == 0
    printed = capsys.readouterr().out
    assert ("as of 2022-01-20: 2 in the country, 0 past their permit, 0 with a permit ending within 14 days, "
            "1 with no permit end on file (not judged: chase their permit record)") in printed
    chase = pd.read_csv(out / "no_permit_end.csv")
    assert chase["stay_id"].tolist() == ["C1"] and chase["days_in_country"].tolist() == [10]
    assert f"no_permit_end: {out / 'no_permit_end.csv'}" in printed
    # a fact from the records, as the overstays: written even when the fairness audit refuses the at-risk list
    (out / "no_permit_end.csv").unlink()
    unfair = _signed_model_folder(tmp_path / "unfair", "CANNOT JUDGE")
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--quiet", "--model", str(unfair)) == 1
    assert pd.read_csv(out / "no_permit_end.csv")["stay_id"].tolist() == ["C1"]


def test_a_model_saved_before_the_lists_were_audited_alone_is_no_passed_model(tmp_path, capsys, monkeypatch):
    """A model saved "passed" by an audit of everyone in the country alone (no `list_rows` in its window: saved before
    the rows the lists rank were audited apart) passed an audit that could not see how its lists are ranked."""
    from riskmodel.core.risk.model import RiskModel

    monkeypatch.setattr(RiskModel, "from_files", staticmethod(lambda files, where: _ConstantModel()))
    model = _signed_model_folder(tmp_path / "model", "passed", audit={"verdict": "passed", "rows": 6104})
    data = _hand_made_data(tmp_path / "data", _KNOWN)
    out = tmp_path / "lists"
    assert _run("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--model", str(model), "--quiet") == 1
    assert not (out / "at_risk.csv").exists()
    assert "not audited on the at-risk lists" in capsys.readouterr().out


def test_the_training_window_names_only_the_snapshot_days_that_held_anyone(tmp_path, capsys):
    """A log younger than --train-months: the snapshot days before its first entry hold nobody, and the model learns
    from none of them, yet the window said "trained on N snapshots of everyone in the country from <a day before the
    log>", in the output and in the saved monitor_training.json. From 2022-09-30 back 12 months every 14 days, the
    first day after the log's first entries (2022-01-01) is 2022-01-06 (2021-09-30 + 7 x 14 = 98 days; 7 x 14 - 14 is
    2021-12-23, before the log)."""
    (tmp_path / "data").mkdir()
    data = write_synthetic_log(tmp_path / "data", 1_500, start="2022-01-01", end="2022-12-31")
    assert _run("synth-sources", "--data", str(data)) == 0
    capsys.readouterr()
    assert _run("monitor", "--as-of", "2022-09-30", "--data", str(data), "--out", str(tmp_path / "lists"), "--train-months", "12",
                "--save-model", str(tmp_path / "model"), "--quiet", "--allow-unfair") == 0
    printed = capsys.readouterr().out
    window = re.search(r"model: trained on (\d+) snapshots of everyone in the country from (\S+) to (\S+),", printed)
    assert window is not None, printed
    first, last = pd.Timestamp(window.group(2)), pd.Timestamp(window.group(3))
    assert first == pd.Timestamp("2022-01-06")
    assert int(window.group(1)) == (last - first).days // 14 + 1
    saved = json.loads((tmp_path / "model" / "monitor_training.json").read_text(encoding="utf-8"))
    assert (saved["first_snapshot"], saved["snapshots"]) == ("2022-01-06", int(window.group(1)))


def test_monitor_says_an_exit_feed_down_before_its_day(tmp_path, capsys, monkeypatch):
    """20 travellers a day enter at 09:00 and leave five days later at 15:00, from October 2021 to 20 January 2022; the
    exits of 18-20 January are missing. Those 60 read as in the country (as overstays once past their permit) and the
    command said nothing: now a warning on stdout and stderr names the three days with their counts, and a log with
    every exit says nothing (review18ops 07). The lists are refused (exit 1, none written) unless --allow-exit-gaps,
    and the audit record holds the warning in every case ([] on a whole feed) (review19drift 02)."""
    from riskmodel.core.risk.model import RiskModel

    from .test_sources import _log, _reports, _tables_with

    monkeypatch.setattr(RiskModel, "from_files", staticmethod(lambda files, where: _ConstantModel()))
    rows = []
    for day in pd.date_range("2021-10-01", "2022-01-20"):
        for i in range(20):
            t, doc, end = f"T{day:%m%d}{i:02d}", f"D{day:%m%d}{i:02d}", f"{day + pd.Timedelta(days=30):%Y-%m-%d}"
            rows.append((f"C{day:%m%d}{i:02d}e", t, "entry", f"{day:%Y-%m-%d} 09:00", end, doc))
            if day + pd.Timedelta(days=5) <= pd.Timestamp("2022-01-20"):
                rows.append((f"C{day:%m%d}{i:02d}x", t, "exit", f"{day + pd.Timedelta(days=5):%Y-%m-%d} 15:00", end, doc))
    log = _log(*rows)
    reports = [("P1", "T011000", None, "2022-01-10", "2022-01-11")]
    model = _signed_model_folder(tmp_path / "model", "passed")
    audit_log = tmp_path / "audit.jsonl"

    def last_record():
        return json.loads(audit_log.read_text(encoding="utf-8").splitlines()[-1])

    def named(text):
        return "WARNING: exit feed" in text and "2022-01-18 (0 recorded" in text and "2022-01-20 (0 recorded" in text

    for name, crossings in (("whole", log), ("down", log[~((log["direction"] == "exit") & (log["timestamp"] >= "2022-01-18"))])):
        data = tmp_path / name
        data.mkdir()
        for file, table in {"crossings": crossings, **_tables_with(presence_reports=_reports(*reports))}.items():
            table.to_parquet(data / f"{file}.parquet", index=False)
        capsys.readouterr()
        out = tmp_path / f"lists_{name}"
        args = ("monitor", "--as-of", "2022-01-20", "--data", str(data), "--out", str(out), "--quiet", "--model", str(model))
        if name == "whole":
            assert _run(*args) == 0
            printed = capsys.readouterr()
            assert "exit feed" not in printed.out + printed.err, printed.out
            assert (out / "overstays.csv").exists() and last_record()["exit_feed_warnings"] == []
            continue
        # an earlier run's lists in --out must not pass for this run's
        out.mkdir()
        for file in ("overstays.csv", "at_risk.csv", "no_permit_end.csv"):
            (out / file).write_text("stay_id\nOLD\n", encoding="utf-8")
        assert _run(*args) == 1
        printed = capsys.readouterr()
        for text in (printed.out, printed.err):
            assert named(text) and "REFUSED" in text and "--allow-exit-gaps" in text, text
        assert not any((out / f).exists() for f in ("overstays.csv", "at_risk.csv", "no_permit_end.csv")), list(out.iterdir())
        record = last_record()
        assert record["event"] == "monitor" and record["at_risk_written"] is False and named("WARNING: " + record["exit_feed_warnings"][0])
        assert _run(*args, "--allow-exit-gaps") == 0
        printed = capsys.readouterr()
        for text in (printed.out, printed.err):
            assert named(text), text
        assert (out / "overstays.csv").exists() and (out / "at_risk.csv").exists()
        record = last_record()
        assert record["at_risk_written"] is True and named("WARNING: " + record["exit_feed_warnings"][0])
