"""A store a reviewer can read (issue 17 part 7).

The model card is the registered version's description and carries the gate's decision;
datasets are MLflow inputs with digests and no identifiers; runs carry the git commit;
forecasters get cards too; no parameter is logged twice. The checks on a real store run
inside the tests that already log and promote models (tests/test_registry.py,
tests/test_forecast_tracking.py), so no extra model is trained for them; this module
holds those checks and the fast tests of the card and provenance helpers.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import mlflow
import pytest

from riskmodel.integrations.tracking import cards, provenance
from tests.conftest import REPO


#: a card built for audit attributes of its own: the protected attributes the shipped config audits are left out on
#: record (model.audit_override), or the risk config is refused
NOT_AUDITED = {p: "a test of the card's fairness section on other attributes" for p in ("nationality", "sex", "age")}

def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout.strip()


def no_duplicated_params(params: dict) -> None:
    assert not [k for k in params if k.endswith("_") and k[:-1] in params]


def check_git_tags(run) -> None:
    """The run carries the commit and dirty flag of this checkout (read here with git itself)."""
    if not shutil.which("git") or not (REPO / ".git").exists():
        assert "mlflow.source.git.dirty" not in run.data.tags  # no repository: no made-up commit
        return
    assert run.data.tags["mlflow.source.git.commit"] == _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    assert run.data.tags["mlflow.source.git.dirty"] == str(dirty).lower()


def check_inputs_git_and_params(run, result, table, cfg) -> None:
    """Used by tests/test_registry.py on a logged risk run: datasets, git commit, params once."""
    inputs = {d.tags[0].value: d.dataset for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "holdout"}
    holdout = table.loc[result.test_scores.index]
    assert json.loads(inputs["holdout"].profile)["num_rows"] == len(holdout)
    assert json.loads(inputs["training"].profile)["num_rows"] == len(table) - len(holdout)
    assert inputs["holdout"].digest != inputs["training"].digest and len(inputs["holdout"].digest) == 32
    schema = json.loads(inputs["training"].schema)["mlflow_colspec"]
    assert [c["name"] for c in schema] == [cfg.model.time_column, cfg.model.target, *cfg.model.features]  # no ids
    assert {c["name"]: c["type"] for c in schema}[cfg.model.target] == "boolean"
    text = json.dumps([[d.dataset.name, d.dataset.source, d.dataset.schema, d.dataset.profile] for d in run.inputs.dataset_inputs])
    assert not [s for s in list(table["traveller_id"].head(200)) + list(table["stay_id"].head(200)) if s in text]
    assert "best_iteration" not in run.data.params
    no_duplicated_params(run.data.params)
    check_git_tags(run)


def check_card_before_the_gate(text: str, result, cfg) -> None:
    """A risk version's description right after logging: the card, gate not decided yet."""
    assert "## Gate decision" in text and "Not decided yet" in text
    assert "## Fairness summary" in text and "## Intended use" in text and "## Limits" in text and "## Data lineage" in text
    m = result.metrics
    assert f"roc_auc: {m['roc_auc']:.4f} [{m['roc_auc_lo']:.4f}, {m['roc_auc_hi']:.4f}]" in text
    assert ("Audit: passed" if result.fairness.passed else "Audit: FAILED") in text
    for attr in cfg.model.audit:
        assert f"- {attr}: auditable_groups {result.fairness.summary[attr + '_auditable_groups']:.4g}" in text
    assert len(text) <= 5000


def check_card_after_the_gate(client, name: str, logged, decision) -> None:
    """The version's description and the run's card carry the gate's decision, failures first."""
    mv = client.get_model_version(name, logged.version)
    text, tags = mv.description, mv.tags
    word = "promoted" if decision.passed else "refused"
    assert tags["gate.decision"] == word and "Not decided yet" not in text
    against = "no champion yet" if decision.champion is None else f"champion version {decision.champion}"
    assert f"**{word}** on {tags['gate.time']} against {against}" in text
    assert all(f"- {r}" in text for r in decision.reasons)
    fails = [r for r in decision.reasons if r.startswith("FAIL")]
    assert not fails or text.index(f"- {fails[0]}") < min(text.index(f"- {r}") for r in decision.reasons if r.startswith("ok"))
    assert "## Fairness summary" in text and len(text) <= 5000
    card = mlflow.artifacts.load_text(f"runs:/{logged.run_id}/model_card.md")
    assert f"**{word}** on {tags['gate.time']}" in card and "| attribute | group |" in card  # the full card, decided


def check_forecaster_store(run, fitted, name: str, logged) -> None:
    """Used by tests/test_forecast_tracking.py on a logged forecaster: card, datasets, params once, fitted facts as tags."""
    from mlflow import MlflowClient

    params = run.data.params
    no_duplicated_params(params)
    assert params["freq"] == str(fitted.freq) and run.data.tags["fitted.freq"] == fitted.freq_
    cv = fitted.cv_
    rows = {d.tags[0].value: json.loads(d.dataset.profile)["num_rows"] for d in run.inputs.dataset_inputs}
    assert rows == {"training": len(fitted.history_), "backtest": int((~cv["holdout"]).sum()), "holdout": int(cv["holdout"].sum())}
    check_git_tags(run)
    text = MlflowClient().get_model_version(name, logged.version).description
    n = fitted.history_["unique_id"].nunique()
    assert f"frequency {fitted.freq_}, horizon {fitted.h} periods, {n} series" in text and "Not decided yet" in text
    cutoffs = sorted(str(c)[:10] for c in cv.loc[cv["holdout"], "cutoff"].unique())
    assert f"(cutoffs {', '.join(cutoffs)};" in text
    for L in fitted.level_:
        served = fitted.holdout_metrics_.set_index(["level", "model"]).loc[("all", "reconciled")]
        assert f"- {L}% interval: coverage {served[f'coverage_{L}']:.4f} (nominal {L / 100:.2f})" in text
    assert "## Holdout metrics (honest)" in mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/model_card.md")
    local = mlflow.artifacts.download_artifacts(artifact_uri=logged.model_uri)
    assert (Path(local) / "data" / "forecaster" / "model_card.md").read_text().startswith(f"# Model card: {name}")


def test_description_fits_the_registry_and_keeps_the_decision():
    reasons = "\n".join(f"FAIL: rule {i} " + "x" * 90 for i in range(300))
    section = cards.gate_section({"gate.decision": "refused", "gate.reasons": reasons, "gate.compared_with": "3", "gate.time": "T"})
    card = cards.with_gate("# Model card: m\n\n## Gate decision\n\npending\n\n## Limits\n\n" + "- limit\n" * 1000, section)
    text = cards.fit_description(card)
    assert len(text) <= 5000 and "**refused** on T against champion version 3" in text
    assert "- FAIL: rule 0 " in text and "more (version tag `gate.reasons`)" in text and "pending" not in text
    assert text.endswith("the full card is the run artifact `model_card.md`)\n")
    assert cards.fit_description("short") == "short"


def test_git_tags_outside_a_repository_and_dirty_flag(tmp_path):
    assert provenance.git_tags(tmp_path) == {}  # not a repository: no tag, no error
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    repo = tmp_path / "r"
    repo.mkdir()
    env = ["-c", "user.email=t@example.org", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "f.txt"], [*env, "commit", "-qm", "x"]):
        if args[0] == "add":
            (repo / "f.txt").write_text("a")
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    (repo / "untracked.txt").write_text("u")
    assert provenance.git_tags(repo) == {"mlflow.source.git.commit": head, "mlflow.source.git.dirty": "false"}
    (repo / "f.txt").write_text("b")
    assert provenance.git_tags(repo)["mlflow.source.git.dirty"] == "true"
    # a folder inside the work tree whose files the repository does not track (a wheel installed into a git-ignored
    # .venv of a service's repository): its code is not that commit's, so no commit is claimed for it
    pkg = repo / ".venv" / "site-packages" / "riskmodel"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("patched locally")
    (repo / ".gitignore").write_text(".venv/\n")
    assert provenance.git_tags(pkg) == {}
    # tracked, it is that commit's code again
    assert provenance.git_tags(repo)["mlflow.source.git.commit"] == head


def test_risk_card_in_a_description_keeps_its_sections_with_many_breaches():
    import pandas as pd
    from types import SimpleNamespace

    from riskmodel.core.config import load_config
    from riskmodel.core.risk import RiskConfig
    from riskmodel.core.risk.fairness import FairnessReport
    from riskmodel.core.risk.train import TrainResult
    from riskmodel.integrations.tracking.risk import model_card

    shipped = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    # top_groups may only name audited attributes: the shipped nationality pooling goes with nationality
    cfg = dataclasses.replace(shipped, model=dataclasses.replace(shipped.model, audit=("age", "age_band"), audit_override=NOT_AUDITED),
                              fairness=dataclasses.replace(shipped.fairness, top_groups={}))
    summary = {"age_breaches": 1.0, "age_band_breaches": 7.0, "age_band_max_fpr_ratio": 3.5}
    violations = [f"age_band: referral ratio 3.5 > 2 by group {i} " + "y" * 60 for i in range(40)]
    report = FairnessReport(table=pd.DataFrame(columns=["attribute"]), summary=summary, violations=violations, threshold=0.5)
    metrics = {"roc_auc": 0.81, "roc_auc_lo": 0.79, "roc_auc_hi": 0.83, "pr_auc": 0.2, "brier": 0.01}
    result = TrainResult(model=SimpleNamespace(features=("a", "b")), metrics=metrics, fairness=report,
                         reliability=pd.DataFrame(), lineage={"test_rows": 1000}, test_scores=pd.DataFrame())
    text = model_card(result, cfg, {"source": "synthetic"}, detail=False)
    assert "- age: breaches 1\n" in text and "- age_band: breaches 7, max_fpr_ratio 3.5\n" in text
    assert "roc_auc: 0.8100 [0.7900, 0.8300]" in text and "pr_auc: 0.2000;" in text  # no interval given, none shown
    assert "Audit: FAILED: " in text and "; and 34 more (run artifact `model_card.md`)" in text
    assert len(text) <= cards.DESCRIPTION_LIMIT and text.rstrip().endswith("(PSI against the stored reference distribution).")
    full = model_card(result, cfg, {"source": "synthetic"})
    assert all(v in full for v in violations) and len(full) > cards.DESCRIPTION_LIMIT


def test_risk_card_per_group_table_says_which_groups_were_judged_and_on_what_interval():
    """The card's per-group table listed point rates only: a group too small to judge read like a judged one,
    no row said which group breached, and the intervals the audit judged on were only in fairness.csv."""
    import numpy as np
    import pandas as pd
    from types import SimpleNamespace

    from riskmodel.core.config import load_config
    from riskmodel.core.risk import FairnessConfig, RiskConfig, fairness_audit
    from riskmodel.core.risk.train import TrainResult
    from riskmodel.integrations.tracking.risk import model_card

    rng = np.random.default_rng(0)
    g = np.r_[np.repeat(["big", "large"], 6_000), np.repeat("tiny", 40)]
    p = 1 / (1 + np.exp(-rng.normal(-3.0, 1.0, len(g))))
    y = (rng.random(len(g)) < p).astype(float)
    report = fairness_audit(pd.DataFrame({"g": g}), y, p, ["g"], FairnessConfig(min_support=500, min_positives=30))
    shipped = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    # top_groups may only name audited attributes: the shipped nationality pooling goes with nationality
    cfg = dataclasses.replace(shipped, model=dataclasses.replace(shipped.model, audit=("g",), audit_override=NOT_AUDITED),
                              fairness=dataclasses.replace(shipped.fairness, top_groups={}))
    result = TrainResult(model=SimpleNamespace(features=("a",)), metrics={"roc_auc": 0.8, "pr_auc": 0.2}, fairness=report,
                         reliability=pd.DataFrame(), lineage={"test_rows": len(g)}, test_scores=pd.DataFrame())
    card = model_card(result, cfg, {"source": "synthetic"})
    head = next(line for line in card.splitlines() if line.startswith("| attribute | group |"))
    cols = [c.strip() for c in head.strip("|").split("|")]
    rows = {r[1]: dict(zip(cols, r, strict=True)) for r in ([c.strip() for c in line.strip("|").split("|")]
                                                             for line in card.splitlines() if line.startswith("| g |"))}
    assert (rows["tiny"]["status"], rows["big"]["status"], rows["large"]["status"]) == ("too small", "ok", "ok")
    t = report.table.set_index("group")
    for name in ("referral_excess", "fpr_excess", "calibration_ratio"):
        assert rows["big"][f"{name} interval"] == f"{t.loc['big', f'{name}_low']:.4f} to {t.loc['big', f'{name}_high']:.4f}"
        assert rows["tiny"][f"{name} interval"] == "not judged"


@pytest.mark.parametrize("which", ["partly", "all referred"])
def test_risk_card_names_a_group_judged_in_part_and_an_infinite_interval_is_judged(which):
    """A passed audit read "Audit: passed" whatever it had not judged; an interval ending at inf (a group with no
    overstays, referred) read "not judged" although the audit judged it (and it breached)."""
    import pandas as pd
    from types import SimpleNamespace

    from riskmodel.core.config import load_config
    from riskmodel.core.risk import RiskConfig
    from riskmodel.core.risk.train import TrainResult
    from riskmodel.integrations.tracking.risk import model_card

    from .test_risk_fairness import all_referred_audit, partly_judged_audit

    report = partly_judged_audit() if which == "partly" else all_referred_audit()
    shipped = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    cfg = dataclasses.replace(shipped, model=dataclasses.replace(shipped.model, audit=("g",), audit_override=NOT_AUDITED),
                              fairness=dataclasses.replace(shipped.fairness, top_groups={}))
    result = TrainResult(model=SimpleNamespace(features=("a",)), metrics={"roc_auc": 0.8, "pr_auc": 0.2}, fairness=report,
                         reliability=pd.DataFrame(), lineage={"test_rows": 5000}, test_scores=pd.DataFrame())
    card = model_card(result, cfg, {"source": "synthetic"})
    overstays = 10 if which == "partly" else 0
    assert f"Not judged in full (too few rows or overstays): g: group C: fnr_diff, precision_ratio, calibration_ratio not judged: " \
           f"{overstays} overstays (need 30)" in card
    head = next(line for line in card.splitlines() if line.startswith("| attribute | group |"))
    cols = [c.strip() for c in head.strip("|").split("|")]
    rows = {r[1]: dict(zip(cols, r, strict=True)) for r in ([c.strip() for c in line.strip("|").split("|")]
                                                             for line in card.splitlines() if line.startswith("| g |"))}
    assert rows["C"]["status"] == ("partly judged" if which == "partly" else "breach")
    assert rows["C"]["not_judged"].startswith("fnr_diff, precision_ratio, calibration_ratio not judged")
    assert rows["C"]["calibration_ratio interval"] == "not judged"
    if which == "all referred":
        assert rows["C"]["referral_excess interval"].endswith(" to inf")  # judged: breached on it


def test_risk_card_says_the_audit_intervals_method_and_level_and_shows_each_groups_rates_with_them():
    """The card's only statement of a level was "Intervals are bootstrap 95%." (the holdout metrics'), above a fairness
    table whose intervals are the policy's (90% two-sided) and whose referral, false-positive and miss rates had none.
    Fails on the code before the fix."""
    import numpy as np
    import pandas as pd
    from types import SimpleNamespace

    from riskmodel.core.config import load_config
    from riskmodel.core.risk import FairnessConfig, RiskConfig, fairness_audit
    from riskmodel.core.risk.train import TrainResult
    from riskmodel.integrations.tracking.risk import model_card

    rng = np.random.default_rng(0)
    g = np.r_[np.repeat(["big", "large"], 6_000), np.repeat("tiny", 40)]
    p = 1 / (1 + np.exp(-rng.normal(-3.0, 1.0, len(g))))
    y = (rng.random(len(g)) < p).astype(float)
    shipped = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    policy = dataclasses.replace(shipped.fairness, top_groups={}, min_support=500, min_positives=30)
    assert (policy.confidence, policy.bootstrap) == (0.90, 200)
    report = fairness_audit(pd.DataFrame({"g": g}), y, p, ["g"], policy)
    cfg = dataclasses.replace(shipped, model=dataclasses.replace(shipped.model, audit=("g",), audit_override=NOT_AUDITED),
                              fairness=policy)
    result = TrainResult(model=SimpleNamespace(features=("a",)), metrics={"roc_auc": 0.8, "pr_auc": 0.2}, fairness=report,
                         reliability=pd.DataFrame(), lineage={"test_rows": len(g)}, test_scores=pd.DataFrame())
    card = model_card(result, cfg, {"source": "synthetic"})
    fairness = card[card.index("## Fairness summary"):card.index("## Intended use")]
    assert "percentile bootstrap, 90% two-sided (200 replicates" in fairness
    head = next(line for line in fairness.splitlines() if line.startswith("| attribute | group |"))
    cols = [c.strip() for c in head.strip("|").split("|")]
    rows = {r[1]: dict(zip(cols, r, strict=True)) for r in ([c.strip() for c in line.strip("|").split("|")]
                                                             for line in fairness.splitlines() if line.startswith("| g |"))}
    for name in ("referral_rate", "fpr", "fnr", "precision"):
        assert rows["big"][f"{name} interval"] == f"{report.table.set_index('group').loc['big', f'{name}_low']:.4f} to " \
                                                  f"{report.table.set_index('group').loc['big', f'{name}_high']:.4f}"
        assert rows["tiny"][f"{name} interval"] == "not judged"


def test_risk_card_prints_an_audit_override_and_the_protected_inputs_it_let_in():
    """A model that reads nationality under ``model.audit_override`` (the data owner's recorded decision) must not be
    carded "Audit attributes (not model inputs)": the card names the input and prints the override with its reason.
    Written after the fix (2da427d); mutant A34 (the override line dropped) shows it can fail."""
    import pandas as pd
    from types import SimpleNamespace

    from riskmodel.core.config import load_config
    from riskmodel.core.risk import RiskConfig
    from riskmodel.core.risk.fairness import FairnessReport
    from riskmodel.core.risk.train import TrainResult
    from riskmodel.integrations.tracking.risk import model_card

    shipped = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    why = "approved by the data owner on 2026-12-01, ticket DPO-17"
    cfg = dataclasses.replace(shipped, model=dataclasses.replace(
        shipped.model, features=("nationality", *shipped.model.features), audit=("nationality", "sex", "age_band"),
        audit_override={"nationality": why}), fairness=shipped.fairness)
    report = FairnessReport(table=pd.DataFrame(columns=["attribute"]), summary={}, violations=[], threshold=0.5)
    result = TrainResult(model=SimpleNamespace(features=cfg.model.features), metrics={"roc_auc": 0.8, "pr_auc": 0.2},
                         fairness=report, reliability=pd.DataFrame(), lineage={"test_rows": 10}, test_scores=pd.DataFrame())
    for card in (model_card(result, cfg, {"source": "synthetic"}), model_card(result, cfg, {"source": "synthetic"}, detail=False)):
        assert "Audit attributes (model inputs among them or their sources: nationality): nationality, sex, age_band" in card, card
        assert "not model inputs" not in card
        assert f"Audit override (model.audit_override, the data owner's recorded decision): nationality: {why}" in card
