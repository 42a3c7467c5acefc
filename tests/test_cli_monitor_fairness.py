"""``riskmodel monitor`` audits the fairness of the model it fits, on held-out snapshots, and refuses an unfair one.

The audit is the risk model's (:func:`riskmodel.core.risk.fairness_audit`) with the risk config's policy, on everyone in
the country and on the rows the at-risk lists rank alone. The data here is small, so the test config lowers the support a
group needs (and audits nationality, the largest market
against the rest, and sex); the bounds and the bootstrap are the shipped ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import riskmodel.core.sources.monitor as monitor_module
from riskmodel.core.risk.model import RiskModel

from .conftest import REPO, run_command, write_synthetic_log

AS_OF = "2023-09-30"


_run = run_command


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = write_synthetic_log(tmp_path_factory.mktemp("data"), 16_000)
    assert _run("synth-sources", "--data", str(folder)) == 0
    return folder


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    cfg = yaml.safe_load((REPO / "configs" / "risk.yaml").read_text(encoding="utf-8"))
    cfg["model"]["audit"] = ["nationality", "sex"]
    cfg["model"]["audit_override"] = {"age": "the monitoring audit reads nationality and sex here"}  # left out on record
    # the rows the at-risk lists rank are audited alone too: 230 held-out rows here (CHN, the largest market: 38)
    cfg["fairness"].update(min_support=30, min_positives=15, top_groups={"nationality": 1})
    path = tmp_path_factory.mktemp("config") / "risk.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


class _OddsTimes(RiskModel):
    """A fitted monitoring model whose odds are multiplied for one nationality: a planted disparity."""

    nationality: str = ""
    factor: float = 1.0

    def predict_proba(self, X):
        proba = super().predict_proba(X)
        if isinstance(X, pd.DataFrame) and "nationality" in X:
            p = proba[:, 1]
            odds = p / (1 - p) * np.where(X["nationality"].astype(str).to_numpy() == self.nationality, self.factor, 1.0)
            proba = np.column_stack([1 / (1 + odds), odds / (1 + odds)])
        return proba


class _ListByNationality(RiskModel):
    """A fitted monitoring model that ranks the at-risk lists by nationality: among the rows whose permit ends within
    the horizon (the rows a list ranks), the same scores handed out again, the nationality's rows first. Everyone
    else keeps the model's score, so the top 5% of everyone in the country is the same set of rows."""

    nationality: str = ""
    horizon: int = 14

    def predict_proba(self, X):
        proba = super().predict_proba(X)
        if isinstance(X, pd.DataFrame) and "days_to_permit_end" in X:
            p = proba[:, 1].copy()
            listed = np.flatnonzero(X["days_to_permit_end"].between(0, self.horizon - 1).to_numpy())
            first = X["nationality"].astype(str).to_numpy()[listed] == self.nationality
            order = np.lexsort((-p[listed], ~first))  # the nationality first, each part in the model's order
            p[listed[order]] = np.sort(p[listed])[::-1]
            proba = np.column_stack([1 - p, p])
        return proba


def _plant(monkeypatch, cls, **attrs) -> list[str]:
    """Make the monitor's fitted model a ``cls`` planted on the nationality most in the country (the one the audit,
    its largest market against the rest, judges); returns the list that nationality is put in once fitted."""
    real_fit = monitor_module.fit_monitor_model
    planted_on = []

    def planted(table, **kwargs):
        model = real_fit(table, **kwargs)
        unfair = cls.__new__(cls)
        planted_on.append(table["nationality"].astype(str).value_counts().index[0])
        unfair.__dict__.update(model.__dict__, nationality=planted_on[0], **attrs)
        return unfair

    monkeypatch.setattr(monitor_module, "fit_monitor_model", planted)
    return planted_on


def _monitor(data_dir, out, config, *extra):
    return _run("monitor", "--as-of", AS_OF, "--data", str(data_dir), "--out", str(out), "--risk-config", str(config),
                "--top", "0", "--quiet", *extra)


def test_a_fitted_model_is_audited_on_held_out_snapshots_and_a_fair_one_passes(data_dir, tmp_path, config, capsys):
    assert _monitor(data_dir, tmp_path / "lists", config) == 0
    printed = capsys.readouterr().out
    assert "): passed\n" in printed, printed
    # the audit reads the latest fifth of the 25 snapshots (5), which the model did not learn from; the one 14 days
    # before them (2023-06-23) is left out too, its label settled (horizon 14, late records 7) only in the audit window
    assert "model: trained on 19 snapshots of everyone in the country from 2022-09-30 to 2023-06-09," in printed
    assert "fairness audit of the model on " in printed and " held-out rows (5 snapshots 2023-07-07 .. 2023-09-01;" in printed
    table = pd.read_csv(tmp_path / "lists" / "monitor_fairness.csv")
    assert set(table["attribute"]) == {"nationality", "sex"} and (table["status"] != "breach").all()
    assert {"referral_ratio_low", "fpr_excess_high", "fnr_diff_low", "calibration_ratio_high"} <= set(table.columns)
    assert (tmp_path / "lists" / "at_risk.csv").exists()


def test_a_model_that_overstates_one_nationality_is_refused(data_dir, tmp_path, config, capsys, monkeypatch):
    planted_on = _plant(monkeypatch, _OddsTimes, factor=4.0)
    out = tmp_path / "lists"
    out.mkdir()
    (out / "at_risk.csv").write_text("an earlier run's list\n", encoding="utf-8")
    assert _monitor(data_dir, out, config, "--save-model", str(tmp_path / "model")) == 1
    captured = capsys.readouterr()
    largest = planted_on[0]
    assert "): FAILED\n" in captured.out
    assert f"out of line with their outcomes: in the country: {largest} (nationality)" in captured.out, captured.out
    assert "REFUSED: the fairness audit of the monitoring model: FAILED; no at-risk list written" in captured.err
    assert "fix: do not hand these at-risk lists out" in captured.err
    table = pd.read_csv(out / "monitor_fairness.csv")
    row = table.loc[(table["attribute"] == "nationality") & (table["group"] == largest)].iloc[0]
    assert row["status"] == "breach" and "max_calibration_ratio breached" in row["breaches"]
    # no at-risk list from this model, not even an earlier run's; the overstays (facts) are written; the model is not saved
    assert not (out / "at_risk.csv").exists() and (out / "overstays.csv").exists()
    assert not (tmp_path / "model").exists()
    # --allow-unfair writes the lists, saying the audit failed
    assert _monitor(data_dir, out, config, "--allow-unfair") == 0
    assert "WARNING: fairness audit FAILED; at-risk lists written anyway (--allow-unfair)" in capsys.readouterr().out
    assert (out / "at_risk.csv").exists()


def test_an_at_risk_list_ranked_by_nationality_is_refused(data_dir, tmp_path, config, capsys, monkeypatch):
    """The lists rank only the rows whose permit ends within the horizon, and the top 5% of everyone in the country
    holds all of them: an audit of everyone cannot see how a list is ranked. One ranked by nationality is refused."""
    planted_on = _plant(monkeypatch, _ListByNationality)
    out = tmp_path / "lists"
    assert _monitor(data_dir, out, config) == 1
    captured = capsys.readouterr()
    assert "): FAILED\n" in captured.out, captured.out
    assert f"on the at-risk lists: {planted_on[0]} (nationality)" in captured.out
    assert "REFUSED: the fairness audit of the monitoring model: FAILED; no at-risk list written" in captured.err
    assert not (out / "at_risk.csv").exists()


def test_too_few_rows_to_judge_is_no_pass(data_dir, tmp_path, capsys):
    """With the shipped policy (500 rows and 30 overstays a group) these held-out rows cannot be judged: refused."""
    assert _run("monitor", "--as-of", AS_OF, "--data", str(data_dir), "--out", str(tmp_path), "--top", "0", "--quiet") == 1
    captured = capsys.readouterr()
    assert "): CANNOT JUDGE\n" in captured.out and "REFUSED: the fairness audit of the monitoring model: CANNOT JUDGE" in captured.err
    assert not (tmp_path / "at_risk.csv").exists()


def test_the_audit_resamples_travellers_not_snapshot_rows(data_dir, tmp_path, config, monkeypatch):
    """A traveller in the country is a row of every held-out snapshot: the audit's intervals resample travellers.

    The same run with a label per row in place of the traveller (the model and rows unchanged) resamples
    the rows one by one, as if a traveller's snapshots were independent: its intervals are narrower.
    """
    assert _monitor(data_dir, tmp_path / "travellers", config) == 0
    real_table = monitor_module.monitor_training_table

    def one_label_per_row(*args, **kwargs):
        table = real_table(*args, **kwargs)
        return table.assign(traveller_id=[f"row{i}" for i in range(len(table))])

    monkeypatch.setattr(monitor_module, "monitor_training_table", one_label_per_row)
    assert _monitor(data_dir, tmp_path / "rows", config) == 0
    tables = [pd.read_csv(tmp_path / run / "monitor_fairness.csv") for run in ("travellers", "rows")]
    # everyone in the country (a traveller on each snapshot); on the lists a traveller is a row of one or two at most
    judged = [t.loc[(t["audited"] == "in the country") & (t["status"] != "too small")].set_index(["attribute", "group"])
              for t in tables]
    assert len(judged[0]) >= 2 and list(judged[0].index) == list(judged[1].index)
    assert (judged[0]["support"] == judged[1]["support"]).all() and (judged[0]["referral_ratio"] == judged[1]["referral_ratio"]).all()
    widths = [np.log(j["referral_ratio_high"] / j["referral_ratio_low"]).to_numpy() for j in judged]
    # measured 1.12 (nationality, the largest market against the rest: both its rows) and 1.4 (sex); equal on rows alone
    assert (widths[0] > 1.05 * widths[1]).all(), widths


def test_a_passed_audit_names_each_group_it_judged_only_in_part(capsys):
    """A group with the rows but too few overstays is judged on referral and false positives only: the monitor's
    "passed" said nothing of it, a pass by omission of its FNR, precision and calibration."""
    from riskmodel.apps.cli.monitor import MonitorAudit, _print_audit, _verdict

    from .test_risk_fairness import partly_judged_audit

    # C: 1,000 rows, 10 overstays (the policy needs 30), referred in proportion
    audit = MonitorAudit({"in the country": partly_judged_audit()}, {"in the country": 5000})
    verdict, why = _verdict(audit)
    assert verdict == "passed"
    assert any("group C" in line and "10 overstays (need 30)" in line for line in why), why
    _print_audit(audit, {"rows": 5000, "snapshots": 2, "first": "2023-09-01", "last": "2023-09-30"})
    assert ("passed: not judged in full: in the country: g: group C: fnr_diff, precision_ratio, calibration_ratio not judged"
            in capsys.readouterr().out)
