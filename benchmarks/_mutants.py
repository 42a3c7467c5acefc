"""Hand-made mutation testing of riskmodel's guards: does some test fail when a guard is switched off?

Usage (from the repository root)::

    python -m benchmarks._mutants --list          # the mutants, one line each
    python -m benchmarks._mutants                 # run them all (about half an hour on a quiet machine)
    python -m benchmarks._mutants G03 S05         # run some
    python -m benchmarks._mutants --baseline      # the test selections on the real code: all must pass

Each mutant replaces one exact snippet of one file of ``riskmodel/`` (the snippet must occur exactly
once, so a mutant that no longer applies is reported, not silently skipped), runs the tests that
concern that guard with ``-x``, then writes the original file back. ``killed`` means some test
failed on the mutant; ``SURVIVED`` means none did: the guard could be switched off unnoticed.
Bytecode goes to a private cache (``PYTHONPYCACHEPREFIX``) that is cleared for the mutated file after
every run, so a mutant is never run from the original's cached bytecode, nor the reverse.
The table with the verdicts before and after the tests added for the survivors is in
``benchmarks/MUTATION.md``. Not one of ``python -m benchmarks``' benchmarks (the leading underscore):
it writes no section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    id: str
    guard: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    what: str


# test selections, one per guard family (pytest arguments)
MODEL = ("tests/test_risk_calibration.py", "tests/test_risk_model.py")
EDGES = ("tests/test_forecast_edges.py",)
GATE = ("tests/test_risk_gate.py",)
FGATE = ("tests/test_forecast_gate.py",)
FAIR = ("tests/test_risk_fairness.py", "tests/test_risk_gate.py", "-k", "fairness or breach or group or burden or policy")
ART = ("tests/test_artifacts.py",)
SIGN = ("tests/test_model_signing.py",)
SCORE = ("tests/test_scoring.py",)
SCHEMA = ("tests/test_schema.py", "tests/test_stays.py")
SOURCES = ("tests/test_sources.py", "tests/test_monitor_inputs.py")
LEAK = ("tests/test_stays.py", "tests/test_features.py")
BATCH = ("tests/test_batch_resume.py", "tests/test_batch.py")
PRIV = ("tests/test_privacy.py",)
LEASE = ("tests/test_promotion_lease.py", "-k", "not real_mlflow_server")
DRIFT = ("tests/test_drift.py",)
DB = ("tests/test_database_errors.py",)
SPARK = ("tests/test_spark.py",)  # run with a venv that has pyspark (scripts/test's .venv-pandas2); skipped elsewhere
TRENDS = ("tests/test_forecast_trends.py",)
REPORT = ("tests/test_report.py",)

G = "riskmodel/core/gate.py"
RG = "riskmodel/core/risk/gate.py"
FG = "riskmodel/core/forecasting/gate.py"
FA = "riskmodel/core/risk/fairness.py"
AR = "riskmodel/core/artifacts.py"
SG = "riskmodel/integrations/tracking/signing.py"
SI = "riskmodel/core/score_input.py"
SC = "riskmodel/core/schema.py"
SO = "riskmodel/core/sources/contracts.py"
ST = "riskmodel/core/stays.py"
FE = "riskmodel/core/features.py"
JB = "riskmodel/integrations/batch/jobs.py"
PR = "riskmodel/core/privacy.py"
LE = "riskmodel/integrations/tracking/lease.py"
DR = "riskmodel/core/monitoring/drift.py"
TB = "riskmodel/integrations/database/tables.py"
RP = "riskmodel/apps/report.py"
RM = "riskmodel/core/risk/model.py"
RC = "riskmodel/core/risk/config.py"
FC = "riskmodel/core/forecasting/config.py"
CA = "riskmodel/core/risk/calibration.py"
TR = "riskmodel/core/risk/train.py"
PL = "riskmodel/apps/pipelines/risk.py"
MO = "riskmodel/apps/cli/monitor.py"
SV = "riskmodel/core/scoring.py"
FS = "riskmodel/core/forecasting/series.py"
FF = "riskmodel/core/forecasting/forecaster.py"
FT = "riskmodel/core/forecasting/trends.py"
FI = "riskmodel/core/forecasting/intervals.py"
SL = "riskmodel/core/sources/link.py"
SF = "riskmodel/core/sources/features.py"
SM = "riskmodel/core/sources/monitor.py"
SP = "riskmodel/integrations/spark.py"
SGN = "riskmodel/core/sources/generate.py"

MUTANTS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- the risk promotion gate
    Mutant("G01", "gate rules (GateChecks)", G, "self._passed &= bool(ok)", "self._passed &= True", GATE + FGATE,
           "a failed rule no longer fails the decision"),
    Mutant("G02", "gate rules (GateChecks)", G, "(lower is None or candidate >= lower)", "(lower is None or candidate > lower)", GATE + FGATE,
           "a candidate exactly at its lower bound is refused"),
    Mutant("G03", "risk gate: champion rules", RG, 'bound = {"lower": b - tol} if sign < 0 else {"upper": b + tol}',
           'bound = {"lower": b - tol} if sign < 0 else {}', GATE, "lower-is-better metrics (ece, brier) may rise without limit"),
    Mutant("G04", "risk gate: champion rules", RG, 'bound = {"lower": b - tol} if sign < 0', 'bound = {"lower": b - 2 * tol} if sign < 0', GATE,
           "twice the written tolerance on higher-is-better metrics"),
    Mutant("G05", "risk gate: absolute bounds", RG, "checks.compare(name, c, upper=ceiling,", "checks.compare(name, c, upper=None,", GATE,
           "the config's `maximum` bounds are never enforced"),
    Mutant("G06", "risk gate: absolute bounds", RG, "checks.compare(name, c, lower=floor,", "checks.compare(name, c, lower=None,", GATE,
           "the config's `minimum` bounds are never enforced"),
    Mutant("G07", "risk gate: fairness rule", RG, '"fairness_passed", f, lower=1.0, upper=1.0', '"fairness_passed", f, lower=0.0, upper=1.0', GATE,
           "a failed fairness audit passes"),
    Mutant("G08", "paired gate: beats champion beyond noise", RG, 'f"{metric}_minus_champion", hi, lower=0.0',
           'f"{metric}_minus_champion", hi, lower=-1.0', GATE, "a challenger worse than the champion beyond noise passes"),
    Mutant("G09", "paired gate: beats baseline", RG, 'f"{metric}_minus_logreg", d, lower=np.nextafter(0.0, 1.0)',
           'f"{metric}_minus_logreg", d, lower=0.0', GATE, "a challenger merely equal to its logistic baseline passes (rule says > 0)"),
    Mutant("G10", "paired gate: fairness", RG, '"fairness_passed", 1.0 if fairness_passed else 0.0,', '"fairness_passed", 1.0,', GATE,
           "the paired gate ignores the fairness verdict"),
    Mutant("G11", "window gate", RG, "bounds.passed and paired.passed", "paired.passed", GATE,
           "the absolute bounds on the window are reported but do not refuse"),
    Mutant("G12", "window gate", RG, "m = classification_metrics(np.asarray(y, float), np.asarray(challenger, float), budgets=budgets)",
           "m = classification_metrics(np.asarray(y, float), np.asarray(challenger if champion is None else champion, float), budgets=budgets)",
           GATE, "the absolute bounds are read on the champion's scores, not the challenger's"),
    # ---------------------------------------------------------------- the forecast gate
    Mutant("F01", "forecast gate: max MASE", FG, '"mase", shown, upper=gate.max_mase,', '"mase", shown, upper=None,', FGATE,
           "max_mase never refuses"),
    # before the fix of the tie (commit bcd2de7) the snippet was upper=math.nextafter(1.0, 0.0)
    Mutant("F02", "forecast gate: beats best peer", FG, "upper=1.0 - TIE, rule=\"< 1\"", "upper=1.0, rule=\"< 1\"", FGATE,
           "a challenger as good as the best peer (the peer itself) passes"),
    Mutant("F03", "forecast gate: beats seasonal naive", FG, 'candidate.get("mase_over_snaive"), upper=1.0,',
           'candidate.get("mase_over_snaive"), upper=None,', FGATE, "beat_snaive never refuses"),
    Mutant("F04", "forecast gate: coverage", FG, '"coverage_95", cov, lower=lo, upper=hi,', '"coverage_95", cov, lower=None, upper=hi,', FGATE,
           "under-covering intervals pass"),
    Mutant("F05", "forecast gate: beats champion", FG, "upper=reference * factor, reference=reference,", "upper=None, reference=reference,",
           FGATE, "a challenger worse than the champion passes"),
    Mutant("F06", "forecast gate: champion on the same window", FG,
           'reference = same if same is not None else champion.get("mase") if champion is not None else None',
           'reference = champion.get("mase") if champion is not None else same', FGATE,
           "the champion's logged MASE (another window) is used when the same-window figure exists"),
    Mutant("F07", "forecast gate: honest metrics", FG, 'served = "reconciled" if "reconciled" in rows.index else "chosen"',
           'served = "chosen"', FGATE, "the gate judges the unreconciled forecast, not the one served"),
    Mutant("F08", "forecast gate: honest metrics", FG, 'best = min(peers.values(), default=float("nan"))',
           'best = max(peers.values(), default=float("nan"))', FGATE, "the challenger is compared with the worst peer"),
    Mutant("F09", "forecast gate: no holdout", FG, 'shown = candidate.get("mase")', 'shown = candidate.get("mase", 0.0)', FGATE,
           "a challenger without a holdout MASE passes max_mase"),
    # ---------------------------------------------------------------- the fairness audit
    Mutant("A01", "fairness: whole interval beyond the bound", FA, "beyond = lo > limit", "beyond = hi > limit", FAIR,
           "a breach on the upper end of the interval (noise fails a model)"),
    Mutant("A02", "fairness: below-side bounds", FA, "beyond = hi < limit", "beyond = hi < -np.inf", FAIR,
           "fnr_diff and precision_ratio never breach"),
    Mutant("A03", "fairness: calibration exemption", FA, 'beyond &= ~(t["referral_ratio_high"].to_numpy() < 1)',
           'beyond &= ~(t["referral_ratio_low"].to_numpy() < 1)', FAIR,
           "overstated calibration exempted for groups referred less often within noise"),
    Mutant("A04", "fairness: minimum groups", FA, "if len(ok) < config.min_groups:", "if len(ok) < config.min_groups - 1:", FAIR,
           "an attribute with one group too few to audit passes"),
    Mutant("A05", "fairness: minimum group size", FA,
           't["enough_support"] = t["enough_rows"] & (t["positives"] >= config.min_positives)',
           't["enough_support"] = t["enough_rows"]', FAIR, "groups with too few positives are judged"),
    Mutant("A06", "fairness: breaches become violations", FA, 'for row in t[t["status"] == "breach"].itertuples(index=False):',
           'for row in t[t["status"] == "breached"].itertuples(index=False):', FAIR, "breaches are tabled but do not fail the audit"),
    Mutant("A07", "fairness: bootstrap", FA, "if cfg.bootstrap and any(", "if False and any(", FAIR,
           "no intervals, so no breach can be found"),
    Mutant("A08", "fairness: confidence", FA, "alpha = (1 - config.confidence) / 2", "alpha = (1 - config.confidence)", FAIR,
           "a 90% interval where the policy says 95%"),
    Mutant("A09", "fairness: minimum group size", FA, 't["enough_rows"] = t["support"] >= config.min_support',
           't["enough_rows"] = t["support"] > config.min_support', FAIR,
           "a group of exactly min_support rows is not judged"),
    # ---------------------------------------------------------------- signed manifests and gate signatures
    Mutant("S01", "manifest: signature", AR, "if manifest.get(\"format\") != _FORMAT or not signature_matches(key, signature[\"value\"], _body(recorded)):",
           "if manifest.get(\"format\") != _FORMAT:", ART, "a regenerated or foreign-key manifest is accepted"),
    Mutant("S02", "manifest: added files", AR, 'problems += [f"unexpected file {name}" for name in sorted(set(present) - set(recorded))]', "pass", ART,
           "a file added to a model folder is accepted"),
    Mutant("S03", "manifest: changed files", AR, "if digest(name) != recorded[name]]", "if False]", ART,
           "a changed file is accepted"),
    Mutant("S04", "manifest: missing files", AR, 'problems = [f"missing file {name}" for name in sorted(expected - set(present))]', "problems = []",
           ART, "a deleted file is accepted"),
    Mutant("S05", "manifest: recorded digest", AR, "if expected_digest is not None and file_digest(mf) != expected_digest:",
           "if False:", ART, "the manifest digest recorded at logging is never checked"),
    Mutant("S06", "manifest: key length", AR, "if len(key) < MIN_KEY_BYTES:", "if len(key) < 1:", ART, "a short signing key is accepted"),
    Mutant("S07", "manifest: signature compare", AR, "return isinstance(signature, str) and hmac.compare_digest(signature, sign(key, *fields))",
           "return isinstance(signature, str)", ART + SIGN, "any text is a valid signature"),
    Mutant("S08", "check_gate: decision", SG, 'if decision != "promoted":', "if decision is None:", SIGN,
           "a version whose gate refused it loads as champion"),
    Mutant("S09", "check_gate: signature", SG, 'if not signature_matches(store_key(store_uri), signature, "gate", name, str(version), decision, time):',
           "if signature is None:", SIGN, "any gate.signature tag passes"),
    Mutant("S10", "check_champion: override", SG, "os.environ.get(ALLOW_UNGATED_ENV) == \"1\"", "os.environ.get(ALLOW_UNGATED_ENV)", SIGN,
           "RISKMODEL_ALLOW_UNGATED=0 (or any value) overrides the gate"),
    Mutant("S11", "check_champion: audit of the override", SG,
           'audit.append("ungated_load", model_name=name, model_version=version, uri=uri, override=override, refused_because=str(exc))',
           "pass", SIGN, "an ungated load leaves no audit record"),
    # ---------------------------------------------------------------- scoring input validators
    Mutant("V01", "score input: missing features", SI, "    if not absent:\n        return absent\n", "    return []\n", SCORE,
           "absent feature columns are scored as missing without a word"),
    Mutant("V02", "score input: upper bound", SI, 'checks.append((x > d.high, f"above', 'checks.append((x > d.high + 1, f"above', SCORE,
           "one above a feature's maximum is accepted (batch path)"),
    Mutant("V03", "score input: lower bound", SI, "if d.low is not None and x < d.low:", "if d.low is not None and x < d.low - 1:", SCORE,
           "one below a feature's minimum is accepted (few-rows path)"),
    Mutant("V04", "score input: unknown categories", SI, "refused = given & ~pd.Series(raw).isin(domain.values).to_numpy()",
           "refused = given & False", SCORE, "levels the contract forbids are scored as unseen (batch path)"),
    Mutant("V05", "score input: types", SI, "if (other & ~listed).any():\n                        problems.add(c, _NOT_TEXT",
           "if False:\n                        problems.add(c, _NOT_TEXT", SCORE, "a number in a category column is scored as missing (batch path)"),
    Mutant("V06", "score input: infinities", SI, "        if inf.any():\n            problems.add(c, _INFINITE",
           "        if False:\n            problems.add(c, _INFINITE", SCORE, "infinite values reach the model (batch path)"),
    Mutant("V07", "score input: training floor", SI, "neg = x < floor", "neg = x < floor - 1", SCORE,
           "a negative value where training never had one is accepted (batch path)"),
    Mutant("V08", "score input: whole numbers", SI, 'if d.kind == "int":', 'if d.kind == "integer":', SCORE,
           "fractions in whole-number features are accepted (batch path)"),
    Mutant("V09", "score input: yes/no in a number", SI, 'elif domain is not None and domain.kind in ("int", "number") and _yes_no(v):',
           "elif False:", SCORE, "`yes` in a count is read as 1 (few-rows path)"),
    Mutant("V10", "score input: raise on problems", "riskmodel/core/scoring.py", 'if errors == "raise" and (bad.any() or problems.masks):',
           'if errors == "raise" and bad.all():', SCORE, "a batch with some bad rows is scored instead of refused"),
    # ---------------------------------------------------------------- crossings / stays / source contracts
    Mutant("C01", "crossings: birth year", SC, "bad = (by > year) | (by < year - 120)", "bad = by > year", SCHEMA,
           "birth years over 120 years back are accepted"),
    Mutant("C02", "crossings: group size", SC, "sel & (gs < 1)", "sel & (gs < 0)", SCHEMA, "group_size 0 is accepted"),
    Mutant("C03", "stays: exit before entry", SC, 'bad = (df["exit_time"] < df["entry_time"]).to_numpy(',
           'bad = (df["exit_time"] < df["entry_time"] - pd.Timedelta(days=1)).to_numpy(', SCHEMA, "an exit up to a day before entry is accepted"),
    Mutant("C04", "crossings: repeated exits", SC, "bad_sorted = same & (direction == label) & (prev == label)",
           'bad_sorted = same & (direction == label) & (prev == label) & (label == "entry")', SCHEMA, "a traveller leaving twice is accepted"),
    Mutant("C05", "contracts: unknown categories", SC, "unknown = ~null & ~pd.Series(values).isin(col.values).to_numpy()",
           "unknown = ~null & False", SCHEMA + SOURCES, "values outside an enum are accepted"),
    Mutant("C06", "stays: overlapping stays", SC, "overlap = nxt_same & (np.isnat(exit_) | (exit_ > nxt_entry))",
           "overlap = nxt_same & (exit_ > nxt_entry)", SCHEMA, "a stay with no exit followed by another entry is accepted"),
    Mutant("C07", "crossings: permit end before entry", SC, 'bad = sel & (df["permit_end"] < day).to_numpy(',
           'bad = sel & (df["permit_end"] < day - pd.Timedelta(days=1)).to_numpy(', SCHEMA, "a permit ending the day before entry is accepted"),
    Mutant("C08", "sources: enforcement days", SO, 'df["overstay_days"].to_numpy(dtype=float, na_value=np.nan) < 1',
           'df["overstay_days"].to_numpy(dtype=float, na_value=np.nan) < 0', SOURCES, "an enforcement record for 0 days is accepted"),
    Mutant("C09", "sources: known before action", SO,
           'problems += _order_check(df, id_col, usable, "action_at", "known_at", "a record reaches the database after its action")', "pass",
           SOURCES, "enforcement records known before their action are accepted (leakage)"),
    Mutant("C10", "sources: granted without end", SO, 'no_end = granted & df["new_permit_end"].isna().to_numpy()', "no_end = granted & False",
           SOURCES, "a granted application without its new permit end is accepted"),
    Mutant("C11", "sources: charge", SO, 'df["amount_idr"].to_numpy(dtype=float, na_value=np.nan) < 0',
           'df["amount_idr"].to_numpy(dtype=float, na_value=np.nan) < -1', SOURCES, "a charge of Rp -1 is accepted"),
    Mutant("C12", "sources: report before stay", SO,
           'problems += _order_check(df, id_col, usable, "stay_from", "known_at", "a report is filed on or after the day the stay began")',
           "pass", SOURCES, "presence reports known before the stay began are accepted"),
    # ---------------------------------------------------------------- ranges that mean what their labels say (h10-intervals)
    Mutant("C13", "operations: referral range 80%", "riskmodel/core/operations.py",
           'np.quantile(draws, 0.1, axis=-1, method="inverted_cdf")', 'np.quantile(draws, 0.02, axis=-1, method="inverted_cdf")',
           ("tests/test_operations.py", "-k", "referral_range"), "the referral range labelled 80% holds about 88% (its low end at 2%)"),
    Mutant("C14", "operations: all-ports referral range", "riskmodel/core/operations.py",
           "z_arrivals = rng.standard_normal((1, draws))", "z_arrivals = rng.standard_normal((len(workload), draws))",
           ("tests/test_operations.py", "-k", "referral_range"),
           "the ports' arrival errors are drawn apart, not together as the forecaster makes them: the all-ports range is too narrow"),
    Mutant("C15", "report: all-ports referral range", RP, "    if len(rows) == 1:\n        return _range(rows[\"referrals_lo_80\"]",
           "    if len(rows) >= 1:\n        return _range(rows[\"referrals_lo_80\"]", ("tests/test_report.py", "-k", "headline_numbers"),
           "the report's all-ports and 7-day referral ranges show one row's range"),
    Mutant("C16", "intervals: ends at the largest error", FI, "if rank >= 1.0 and notes is not None:", "if rank > 1.0 and notes is not None:",
           ("tests/test_forecast_intervals.py",), "interval ends that are only the largest backtest error go unlisted and unwarned"),
    Mutant("C17", "model card: ends at the largest error", "riskmodel/integrations/tracking/forecast.py",
           'table = getattr(forecaster, "largest_error_ends_", None)', "table = None",
           ("tests/test_forecast_intervals.py", "-k", "model_card"), "the model card says nothing of interval ends at the largest error"),
    Mutant("C18", "forecaster: series too young", "riskmodel/core/forecasting/young.py",
           "if not len(counted) or len(y) - counted[0] >= m + h:", "if not len(counted) or len(y) >= m + h:",
           ("tests/test_forecast_young.py",), "a port that just opened has its leading zeros counted as its past: not named too young"),
    Mutant("C19", "report: series too young", RP, 'marked = forecasts["model"].astype(str).str.endswith(YOUNG_LABEL)',
           'marked = forecasts["model"].astype(str).str.endswith(YOUNG_LABEL) & False', ("tests/test_report.py", "-k", "too_young"),
           "the report draws forecasts marked too young without a caution"),
    # ---------------------------------------------------------------- a missing permit end is unknown (h11-permit)
    Mutant("C20", "history features: a missing permit end is no overstay", FE,
           "late_days = np.where(known, np.maximum(exit_day - final_day, 0), 0).astype(float)",
           "late_days = np.maximum(exit_day - final_day, 0).astype(float)", ("tests/test_features.py", "-k", "no_permit_end"),
           "a stay with no permit end counts as an overstay of 1.07e14 days for every later stay"),
    Mutant("C21", "history features: a missing permit end is no share of a permit used", FE,
           "np.where(has_prev & (window_sum(unknown) == 0), window_sum(used) / count, np.nan)",
           "np.where(has_prev, window_sum(used) / count, np.nan)", ("tests/test_features.py", "-k", "no_permit_end"),
           "the mean share of permits used reads a stay with no permit end as having used none of one"),
    Mutant("C22", "entry features: a missing permit end is no permitted stay", FE,
           'np.where(out["permit_end"].notna().to_numpy(), permit_day - entry_day + 1, np.nan)', "(permit_day - entry_day + 1)",
           ("tests/test_features.py", "-k", "no_permit_end"), "a stay with no permit end gets permitted_days -1.07e14"),
    Mutant("C23", "border desk: a missing permit end in the history is no overstay", "riskmodel/core/entry.py",
           "        if final_s == _NAT_S:\n", "        if False:\n", ("tests/test_features.py", "-k", "no_permit_end"),
           "features_at_entry counts an earlier stay with no permit end as an overstay of 1.07e14 days"),
    Mutant("C24", "spark history: a missing permit end is no share of a permit used", "riskmodel/integrations/spark_features.py",
           'F.when(F.col("_h.unknown") == 0, F.col("_h.used") / n)', 'F.col("_h.used") / n',
           ("tests/test_spark_features.py", "-k", "no_permit_end"),
           "build_features_spark reads a stay with no permit end as having used none of its permit"),
    Mutant("C25", "spark entry features: a missing permitted stay stays missing", "riskmodel/integrations/spark_features.py",
           "return F.when(days < 1.0, F.lit(1.0)).otherwise(days)", "return F.greatest(days, F.lit(1.0))",
           ("tests/test_spark_features.py", "-k", "no_permit_end"),
           "build_features_spark reads planned_over_permitted of a stay with no permit end as its planned days over one"),
    Mutant("C28", "spark history (events): a missing permit end is no share of a permit used", "riskmodel/integrations/spark_features.py",
           'F.when(F.sum("_unknown").over(w) == 0, F.sum("_used").over(w) / n)', 'F.sum("_used").over(w) / n',
           ("tests/test_spark_features.py", "-k", "no_permit_end"),
           "add_history_features_spark reads a stay with no permit end as having used none of its permit"),
    Mutant("C26", "monitor: no permit end on file is listed", SM, 'unknown = snap["permit_end_now"].isna()',
           'unknown = snap["permit_end_now"].isna() & False', ("tests/test_sources.py", "-k", "no_permit_end"),
           "a traveller in the country with no permit end on file is on no list"),
    Mutant("C27", "monitor CLI: no permit end on file is written", MO,
           '    res.no_permit_end.to_csv(out / "no_permit_end.csv", index=False)\n', "",
           ("tests/test_cli_monitor.py", "-k", "no_permit_end"), "riskmodel monitor writes no list of the travellers with no permit end"),
    # ---------------------------------------------------------------- leakage guards
    Mutant("L01", "as-of filtering", ST, 'df = df.loc[df["timestamp"] <= as_of_ts]', "df = df", LEAK,
           "crossings after as_of are used"),
    Mutant("L02", "label maturity", FE, "return (settled_day < cutoff_day) & labelled", "return (settled_day <= cutoff_day) & labelled", LEAK,
           "a label settling on the cut-off day counts as mature"),
    Mutant("L03", "label maturity", FE, "settled_day = permit_day + room + grace_days", "settled_day = permit_day + room", LEAK,
           "the grace period is ignored"),
    Mutant("L04", "history features: exits before entry", FE, 'hi = np.searchsorted(ev_key, stay_key, side="left")',
           'hi = np.searchsorted(ev_key, stay_key, side="right")', LEAK, "an exit at the entry's own second counts as history"),
    Mutant("L05", "labels as known at as_of", ST, "known_late = still_in & (as_of_day > final_end)", "known_late = still_in & (as_of_day >= final_end)",
           LEAK, "a traveller still in on the permit's last day is labelled an overstayer"),
    # ---------------------------------------------------------------- batch resume, pseudonymisation, lease
    Mutant("B01", "batch resume: other job", JB, 'same = job_file.exists() and job_file.read_text(encoding="utf-8") == job_text',
           "same = job_file.exists()", BATCH, "another job's parts are resumed"),
    Mutant("B02", "batch resume: fingerprint", JB, '"sha256": digest}', '"sha256": ""}', BATCH,
           "an input edited in place (same size) resumes with old results"),
    Mutant("P01", "pseudonymisation: key length", PR, "if len(raw) < _MIN_KEY:", "if len(raw) < 1:", PRIV, "a short key is accepted"),
    Mutant("P02", "pseudonymisation: look-alike ids", PR, "        _refuse_lookalike_identifiers(df)\n", "", PRIV,
           "`Document_ID` stays raw beside a pseudonymised traveller_id"),
    Mutant("P03", "pseudonymisation: missing key", PR, "    if not key:\n        raise ConfigError(", "    if key is None:\n        raise ConfigError(", PRIV,
           "an empty key from the environment is used"),
    Mutant("K01", "promotion lease: time left", LE, "if self.left() < self.ttl * SAFETY:", "if False:", LEASE,
           "a promotion with its lease nearly expired moves the alias"),
    Mutant("K02", "promotion lease: holder", LE, "if holder != self.token:", "if holder is None:", LEASE,
           "a promotion whose lease was broken and taken by another moves the alias"),
    Mutant("K03", "promotion lease: settings", LE, "if not ttl > 0 or not wait >= 0:", "if ttl <= 0 or wait < 0:", LEASE,
           "a NaN lease_ttl or wait is accepted"),
    Mutant("K04", "promotion lease: staleness", LE, "if now - seen[1] < stale:", "if now - seen[1] < 0:", LEASE,
           "a held lease is broken at once"),
    # ---------------------------------------------------------------- drift alerts, database watermark, report
    Mutant("D01", "drift: empty feed", DR, '        if n_cur == 0:\n            verdict = "red"', '        if False:\n            verdict = "red"', DRIFT,
           "a night with no arrivals is not red"),
    Mutant("D02", "drift: vanished level", DR, "if e >= _VANISHED_EXPECTED and c == 0]", "if e >= _VANISHED_EXPECTED and c < 0]", DRIFT,
           "a level that vanished is not red"),
    Mutant("D03", "drift: night verdict", DR, 'return "red" if "red" in verdicts else', 'return "red" if "red" in verdicts and "amber" not in verdicts else', DRIFT,
           "a red column is hidden by an amber one"),
    Mutant("D04", "drift: amber threshold", DR, "amber = max(PSI_MAJOR, _noise_psi(", "amber = max(PSI_RED, _noise_psi(", DRIFT,
           "amber only at the red PSI"),
    Mutant("W01", "database: NULL watermark", TB, "        if n:\n            raise SchemaError(self.name", "        if False:\n            raise SchemaError(self.name", DB,
           "rows with a NULL watermark are never read, without a word"),
    Mutant("W02", "database: repeated key", TB, "        if twice:\n", "        if False:\n", DB,
           "rows repeating a (watermark, id) key are skipped, without a word"),
    Mutant("R01", "report: input columns", RP, "        if missing:\n            raise SchemaError(name,", "        if False:\n            raise SchemaError(name,",
           REPORT, "a table lacking a column the report draws from fails halfway with a KeyError"),
    Mutant("R02", "report: nationality forecasts", RP, ',\n             "nationality_forecasts": (i.nationality_forecasts, ("unique_id", "ds", "y_hat"))}', "}",
           REPORT, "nationality forecasts are not checked"),
    # ---------------------------------------------------------------- added in the trust round of 2026-12-06
    Mutant("T01", "saved model: band thresholds", RM, "        if saved[tight] < saved[wide]:\n", "        if False:\n", MODEL,
           "a saved model whose tighter band's threshold lies below a wider band's loads"),
    Mutant("T02", "saved model: band thresholds", RM, "or not 0 <= v <= 1}", "}", MODEL,
           "a saved threshold above 1 (nobody referred) or NaN loads"),
    Mutant("T03", "gate config: finite rules", RC, "items() if not _finite_number(v)}", "items() if False}", GATE,
           "an infinite tolerance or bound switches a risk gate rule off"),
    Mutant("T04", "forecast gate config: finite rules", FC, "or not math.isfinite(v):", "or False:", FGATE,
           "an infinite max_mase or tolerance switches a forecast gate rule off"),
    Mutant("T05", "fairness policy: finite ratio bounds", RC, "if any(not 1 < v < math.inf for v in ratios.values()):",
           "if any(not 1 < v for v in ratios.values()):", FAIR, "an infinite ratio bound, never breached, is accepted"),
    Mutant("T06", "fit: calib sharing rows", RM, "                if shared:  #", "                if False:  #", MODEL,
           "a calib slice with some training rows in it calibrates without a word"),
    Mutant("T07", "sigmoid calibrator: positive slope", CA, "        if not self.a_ > 0:\n            warnings.warn(",
           "        if False:\n            warnings.warn(", MODEL, "a sigmoid calibrator may reverse the booster's ranking"),
    Mutant("T08", "training: holdout after the fitting rows", TR, "    if not first > last:\n", "    if False:\n", ("tests/test_risk_train.py",),
           "a holdout overlapping the fitting rows is scored and reported as held out"),
    Mutant("T09", "promotion: fitting lineage", PL, "        if through is None:\n", "        if False:\n",
           ("tests/test_risk_pipeline.py", "-k", "cannot_date"), "a challenger without fitting lineage is judged on any window"),
    Mutant("T10", "drift: score reference", RM, "training_reference(enc, self.features, self.levels_, p_cal)",
           "training_reference(enc, self.features, self.levels_, self.predict_proba(train)[:, 1])", MODEL,
           "the score's drift reference is read in-sample on the training rows"),
    Mutant("T11", "monitor: fit labels before the audit", MO, "        fit = fit[fit + pd.Timedelta(days=horizon) <= audit[0]]\n", "        fit = fit\n",
           ("tests/test_cli_monitor.py", "-k", "no_fitting_snapshot"), "the last fitting labels read outcomes the audit scores"),
    Mutant("U01", "scoring: passthrough over an output", SV, "shadowing = [c for c in passthrough if c != id_column and key(c) in outputs]",
           "shadowing = []", SCORE, "a passthrough column named probability replaces the new score"),
    Mutant("U02", "scoring: complex numbers in batches", SI, "and not pd.api.types.is_complex_dtype(s))", ")", SCORE,
           "a complex column of more than 64 rows is scored on its real part"),
    Mutant("U03", "scoring: case or space variants of a level", SI, "lookup = {v: scorer._folded[c].get(_fold(v)) for v in distinct}",
           "lookup = {v: None for v in distinct}", SCORE, "' pintu udara lainnya ' in a batch is scored as an unseen port"),
    Mutant("U04", "database: rows read again", TB, "        if again.any():\n", "        if False:\n", DB,
           "a database comparing watermarks as text repeats rows for ever"),
    Mutant("U05", "series: empty ids", FS, "    if blank.any():  #", "    if False:  #", EDGES, "a series with an empty id is forecast"),
    Mutant("U06", "series: ids that merge as text", FS, "kinds.index[kinds.to_numpy() > 1]", "kinds.index[kinds.to_numpy() > 99]", EDGES,
           "series 1 and '1' merge into one with every period twice"),
    Mutant("U07", "forecaster: a level twice", FF, "        if twice:  #", "        if False:  #", EDGES,
           "level=(80, 80) gives two y_lo_80 columns"),
    Mutant("U08", "travel trends: swapped bounds", FT, "    if crossed.any():\n", "    if False:\n", ("tests/test_forecast_trends.py",),
           "a forecast with its bounds swapped reads as a surge"),
    Mutant("U09", "forecast refit: the model's hierarchy", FF,
           "            _check_hierarchy(validate_series(history, model.freq), model.hierarchy_, of_model=True)\n", "            pass\n",
           ("tests/test_forecast_forecaster.py", "-k", "hierarchy"), "a refit on a history lacking series of the model's hierarchy"),
    Mutant("U10", "intervals: bounds around the point", FI, "np.minimum(np.clip(np.expm1(z - mult[gi, 0, steps] * scale), 0, None), point)",
           "np.clip(np.expm1(z - mult[gi, 0, steps] * scale), 0, None)", ("tests/test_forecast_honest.py", "-k", "zero_width"),
           "a lower bound calibrated to zero width lies a rounding step above the point forecast"),
    # ---------------------------------------------------------------- score input: plausibility (h8)
    Mutant("X01", "score input: rules between features", SI, "    if not scorer._invariants or not n:\n        return\n", "    return\n", SCORE,
           "a row breaking a rule build_features always meets (prior_visits_365d > prior_visits) is scored"),
    Mutant("X02", "score input: rules in batches", SI, "if worst > INVARIANT_TOLERANCE:", "if False:", SCORE,
           "a batch row breaking a rule is scored (the few-rows path still refuses it)"),
    Mutant("X03", "score input: bounds on the fast path", SI,
           "    if (low is not None and lo < low) or (high is not None and hi > high):\n        return False\n", "", SCORE,
           "a batch column with a value outside its domain skips the per-value checks"),
    Mutant("X04", "score input: whole numbers on the fast path", SI, "        if np.fmax.reduce(frac) > 0:\n            return False\n",
           "        pass\n", SCORE, "a batch column with a fraction in a count skips the per-value checks"),
    Mutant("X05", "score input: a copied column twice", SI, "    refused = [c for c in twice if c in set(copied)]", "    refused = []", SCORE,
           "a passthrough column or the id given twice is called missing, or its ids come out as row numbers"),
    Mutant("X06", "score input: an extra column twice", SI, "        if c in set(features):\n", "        if True:\n", SCORE,
           "an extra column given twice refuses every row"),
    # 2026-12-06, second round: this stop's guards (trends, report, database ids, sources, Spark parity)
    Mutant("Y01", "trends: a tie is mixed", FT, '"mixed" if above else "within"', '"surge" if above else "within"', TRENDS,
           "as many months above the interval as below reads as a surge"),
    Mutant("Y02", "report: a red feed said first", RP, 'if i.drift is not None and not i.drift.empty and (i.drift["verdict"] == "red").any():',
           "if False:", REPORT, "a red data check is said only in the appendix"),
    Mutant("Y03", "database: NULL ids", TB, "    if nulls:\n", "    if False:\n", DB, "rows without an id vanish from an incremental read"),
    Mutant("Y04", "database: SQLite ids of one kind", TB, 'if len(stored) > 1 or (stored and stored[0] not in ("integer", "text")):',
           "if False:", DB, "fractional or mixed SQLite ids are read as if they could be resumed after"),
    Mutant("Y05", "database: id types with an order", TB, "if isinstance(declared, (sa.String, sa.Uuid)):", "if True:", DB,
           "a DOUBLE PRECISION or NUMERIC id column is read as text"),
    Mutant("Y06", "database: an old state file's whole number", TB, 'return state | {"last_id": int(last)}', "return state", DB,
           "an old state file's text last id is bound as text against whole-number ids"),
    Mutant("Y07", "database: the state file's last id", TB,
           "last is None or isinstance(last, str) or (isinstance(last, int) and not isinstance(last, bool)))", "True)", DB,
           "a state file with a last id of 1.5, true or null is accepted"),
    Mutant("Y08", "permits: a decision on file before it was made", SO,
           '    problems += _order_check(df, id_col, usable, "decided_at", "known_at", ', '    problems += [] or _order_check(df, id_col, set(), "decided_at", "known_at", ',
           SOURCES, "a refusal on file before its decision is counted before it was made"),
    Mutant("Y09", "permits: a new end only when granted", SO, '~granted & df["new_permit_end"].notna().to_numpy()', "np.zeros(len(df), dtype=bool)",
           SOURCES, "a refused application's new permit end hides an overstay"),
    Mutant("Y10", "sources: ids are non-blank text", SO, "    problems += _id_checks(table, SOURCES[name], id_col, usable)\n", "    pass\n",
           SOURCES, "blank ids and 1 vs '1' accepted in source tables"),
    Mutant("Y11", "enforcement: fields of another action", SO, "known & (action != own) & df[column].notna().to_numpy()",
           "np.zeros(len(df), dtype=bool)", SOURCES, "a charge amount or a ban end on another action accepted"),
    Mutant("Y12", "linking: the visa-run day", SL, "cand = np.where(earlier, prev, cand)", "cand = cand", SOURCES,
           "a record made before a same-day re-entry goes to the new stay"),
    Mutant("Y13", "linking: unknown travellers", SL, 'reason[reason.isna() & (pos < 0) & unknown] = "unknown_traveller"', "pass",
           SOURCES, "a traveller id the log never held is counted as out of the country"),
    Mutant("Y14", "monitoring: re-entered stays", SF, "stays.loc[open_ & ~entered_again]", "stays.loc[open_]", SOURCES,
           "a stay whose traveller entered again is in the country and an overstay"),
    Mutant("Y15", "monitoring: every source given", SF, "    if left_out:\n", "    if False:\n", SOURCES,
           "a source table left out reads as no records on file"),
    Mutant("Y16", "monitoring: a day the log covers", SM, "    if day > last:\n", "    if False:\n", SOURCES,
           "lists and labels for a day after the crossings log ends"),
    Mutant("Y17", "contracts: infinity is no whole number", SC, "np.isfinite(present) & (present == np.round(present))",
           "(present == np.round(present))", SOURCES, "an infinite count accepted in an int column"),
    Mutant("Y18", "Spark: passthrough over an output", SP,
           "    check_passthrough(passthrough, [], output_columns(id_column, int(reasons)), id_column, case_sensitive=_case_sensitive(stays))\n",
           "    pass\n", SPARK, "a passthrough named as an output fails inside the UDF, not when the plan is built"),
    Mutant("Y19", "Spark: column types the workers read", SP, "    if bad:\n", "    if False:\n", SPARK,
           "an interval column fails inside the job, not on the driver"),
    Mutant("Y20", "Spark: score()'s error on the driver", SP, "            raise found from None", "            raise", SPARK,
           "score_parquet with errors='raise' raises a Java trace, not score()'s SchemaError"),
    Mutant("Y21", "permits: a placeholder end", SO, 'problems += _where(df, id_col, far, "new_permit_end"', 'problems += _where(df, id_col, far & False, "new_permit_end"',
           SOURCES, "a 'no end' placeholder (2099-12-31) on a granted application hides an overstay"),
    Mutant("Y22", "Spark: a feature given twice", SP, "flat_unique(pd.DataFrame(columns=list(columns)), found, features, copied)",
           "flat_unique(pd.DataFrame(columns=list(columns)), found)", SPARK, "a feature given twice is scored from one of its copies on Spark"),
    # ---------------------------------------------------------------- in-country monitoring: silent losses
    Mutant("H01", "monitoring: a source linked to almost nobody", SM, "or unknown / total <= UNKNOWN_ID_SHARE:",
           "or unknown / total <= 1.0:", SOURCES, "a feed pseudonymised with another key is linked to nobody without a warning"),
    Mutant("H02", "monitor CLI: lists refused for an unlinked source", MO, "    if unlinked and not args.allow_unlinked:\n",
           "    if False:\n", ("tests/test_cli_monitor.py",), "the lists of a feed linked to nobody are written, exit 0"),
    Mutant("H03", "monitor CLI: the saved window file read once", MO, "_saved_verdict(saved) if signed else UNSIGNED",
           "_saved_verdict(_parse_saved((Path(args.model) / WINDOW_FILE).read_bytes())) if signed else UNSIGNED", ("tests/test_cli_monitor.py",),
           "the verdict is read again after the model is loaded: a rewritten file's unsigned verdict decides"),
    Mutant("H04", "monitoring: open entries counted out", SF, '"entered_again": int((open_ & entered_again).sum())', '"entered_again": 0',
           SOURCES, "a stay left out because its traveller entered again is not counted"),
    Mutant("Q01", "crossings: ids are non-blank text", SC, "    problems += _id_checks(df, CROSSINGS, id_col, usable)\n", "    pass\n",
           SCHEMA, "blank ids, 1.0 and 1 vs '1' accepted in the crossings log that training and features read"),
    Mutant("Q02", "training: a crossings CSV's ids as text", PL, "log = pd.read_csv(path, dtype=text_id_dtypes())", "log = pd.read_csv(path)",
           ("tests/test_risk_pipeline.py", "-k", "ids_as_text"), "a crossings CSV's '007' and '7' read as one traveller 7"),
    Mutant("Q03", "stays: ids are non-blank text", SC, "    problems += _id_checks(df, STAYS, id_col, usable)\n", "    pass\n",
           SCHEMA, "blank stay ids and 1 vs '1' traveller ids accepted in a stays table"),
    Mutant("Q04", "forecasting: a series CSV's ids as text", "riskmodel/apps/pipelines/forecast.py",
           'pd.read_csv(path, dtype={**text_id_dtypes(), "unique_id": str})', "pd.read_csv(path)",
           ("tests/test_forecast_series.py", "-k", "csv_keeps"), "a series CSV's '007' and '7' read as one series 7"),
    Mutant("J01", "linking: ambiguous from when shared", SL, 'reason[(ambiguous_at <= linked_at).to_numpy()] = "ambiguous_document"',
           'reason[ambiguous_at.notna().to_numpy()] = "ambiguous_document"', SOURCES,
           "a document shared after an entry takes earlier records out of that entry's history (leakage by removal)"),
    Mutant("J02", "entry history: links ended before the entry", SF, 'out[col] -= _before_entry(stays, ev, "ambiguous_at", col)',
           "out[col] -= 0", SOURCES, "a record whose document was shared before the entry still counts at that entry"),
    Mutant("J03", "monitoring: this stay's records as linked that day", SF, 'r.loc[~(r["ambiguous_at"] <= end).to_numpy()]', "r", SOURCES,
           "a record whose document was shared by the day still counts in the in-country features"),
    Mutant("J04", "linking: a filing again takes over when the earlier link ends", SL, '    linked.loc[later, "linked_at"] = ', "    _ = ",
           SOURCES, "a record filed twice counts twice while both filings are linked"),
    Mutant("J05", "linking: a filing again covered by an earlier link", SL, "    return before >= end\n", "    return before >= 0\n", SOURCES,
           "a record filed again is dropped though the first filing's link ended when its document was shared"),
    Mutant("Z01", "enforcement: a charge's amount", SO, "charged & ~np.isnan(amount) & ~np.isnan(due) & (amount != due)",
           "charged & ~np.isnan(amount) & ~np.isnan(due) & (amount != due) & False", SOURCES, "a charge of Rp 400,000 for 4 days of overstay is accepted"),
    Mutant("Z02", "enforcement: dated before the overstay", SL, "_before_overstay(records, stays, pos, day)]",
           "_before_overstay(records, stays, pos, day) & False]", SOURCES,
           "a charge dated before its stay's permit end + its days is linked and counted as a prior charge"),
    Mutant("Z03", "enforcement: a charge for 60 days", SO, 'long = df["overstay_days"].to_numpy(dtype=float, na_value=np.nan) >= DEPORTATION_DAYS',
           'long = df["overstay_days"].to_numpy(dtype=float, na_value=np.nan) > DEPORTATION_DAYS', SOURCES,
           "an overstay charge for exactly 60 days (deportation and a ban, by DESIGN.md) is accepted"),
    Mutant("Z04", "generator: 60 days is deportation", SGN, "deport = d >= DEPORTATION_DAYS", "deport = d > DEPORTATION_DAYS", SOURCES,
           "the generator charges an overstay of exactly 60 days instead of deporting"),
    Mutant("Z05", "enforcement: a placeholder ban end", SO, 'problems += _where(df, id_col, far, "ban_until"',
           'problems += _where(df, id_col, far & False, "ban_until"', SOURCES, "a ban to 9999-12-31 is accepted as a ban's last day"),
    Mutant("Z06", "presence reports: a regency of another province", SO,
           'wrong = (home.notna() & (_name_keys(home) != _name_keys(df["province"].astype(object)))).to_numpy(dtype=bool)',
           'wrong = (home.notna() & (_name_keys(home) != _name_keys(df["province"].astype(object)))).to_numpy(dtype=bool) & False', SOURCES,
           "a report from Badung in DKI Jakarta is accepted"),
    Mutant("E01", "score input: a Decimal NaN", SI, "return None if v.is_nan() else float(v)", "return float(v)", SCORE,
           "a NUMERIC 'NaN' is scored as a missing value (or fails in float())"),
    Mutant("E02", "database: NUMERIC ids of scale 0 only", TB, "(isinstance(declared, sa.Numeric) and declared.scale == 0)",
           "isinstance(declared, sa.Numeric)", DB, "NUMERIC ids with fractions are read as whole numbers"),
    Mutant("E03", "database: NUMERIC ids exact", TB, 'params=params | {"n": self.batch_rows}, coerce_float=False)',
           'params=params | {"n": self.batch_rows})', DB, "NUMERIC ids are read as floats: past 2**53 they merge"),
    Mutant("E04", "database: the least id of any kind", TB, "(SELECT k FROM ({rows}) r ORDER BY k LIMIT 1)", "(SELECT min(k) FROM ({rows}) r)",
           DB, "a UUID id column fails the read with 'function min(uuid) does not exist'"),
    Mutant("E05", "database: NUMERIC and UUID ids as text on pandas 2", TB, "isinstance(s[first], decimal.Decimal | uuid.UUID)", "False", DB,
           "on pandas 2 the parts hold UUIDs as 16 bytes and Decimal ids at each part's own precision (run it in .venv-pandas2)"),
    Mutant("E06", "database: zoned times on pandas 2", "riskmodel/integrations/database/tables.py",
           'if pd.api.types.is_datetime64_dtype(pd.to_datetime(v, errors="coerce", format="mixed").dtype):',
           'if getattr(pd.to_datetime(v, errors="coerce", format="mixed").dtype, "tz", None) is None:',
           ("tests/test_database_errors.py", "-k", "zone_are_named"),
           "on pandas 2 a text time column with one zoned value fails the read with pandas' own ValueError (run with the pandas-2 venv)"),
    # ---------------------------------------------------------------- promotion judges what it promotes (h11-promote)
    Mutant("E07", "risk promote: the version picked is the version judged", PL,
           "p = load_risk_model(candidate.uri).predict_proba(window)[:, 1]",
           'p = load_risk_model(f"models:/{name}@challenger").predict_proba(window)[:, 1]',
           ("tests/test_promote_pinned.py", "-k", "judges_the_version_it_promotes"),
           "the gate scores whatever @challenger is by then: a weak version is promoted on another's figures"),
    Mutant("E08", "main job: the forecaster step promotes the version it trained", "riskmodel/apps/pipelines/main_job.py",
           "decision = forecast_pipeline.promote(fcfg, version=fout.logged.version)", "decision = forecast_pipeline.promote(fcfg)",
           ("tests/test_main_job_forecaster.py", "-k", "another_trainer"),
           "another trainer's challenger is made champion under the history and backtest this run wrote"),
    Mutant("E09", "main job: the risk step promotes the version it trained", "riskmodel/apps/pipelines/main_job.py",
           "decision = risk_pipeline.promote(rcfg, crossings=crossings, version=outcome.logged.version)",
           "decision = risk_pipeline.promote(rcfg, crossings=crossings)",
           ("tests/test_main_job_risk.py", "-k", "another_trainer"),
           "another trainer's challenger is made champion under the reliability and fairness tables this run wrote"),
    Mutant("E10", "forecast gate: a same-window figure of a former champion", FG,
           'if measured_on is not None and f"{measured_on:.0f}" == str(champion_version):', "if True:",
           ("tests/test_forecast_gate.py", "-k", "only_for_the_champion"),
           "a challenger is held against the champion of its training day, quoted as the champion's of now"),
    Mutant("E11", "forecast promote: the champion of now measured on the same window", "riskmodel/integrations/tracking/forecast.py",
           'if measured_on is not None and f"{measured_on:.0f}" == champion.version:\n        return metrics, None',
           "if True:\n        return metrics, None",
           ("tests/test_forecast_tracking.py", "-k", "former_champion"),
           "a stale same-window figure is never measured again: the champion of now is judged on its own window's MASE"),
    Mutant("E12", "risk promote: the decision in the model card", PL,
           "    cards.record_decision(name, decision.candidate)  # the card", "    str(name)  # the card",
           ("tests/test_promote_pinned.py", "-k", "model_card"),
           "the card of a decided version says 'Not decided yet'"),
    # ---------------------------------------------------------------- config red team (h9-config)
    Mutant("M01", "gate config: known metrics", RC, "unknown = [m for m in names if _direction(m) is None]", "unknown = []",
           ("tests/test_risk_gate.py", "-k", "does_not_know or misspelt"), "a misspelt metric in a gate rule is accepted (its champion rule then skipped)"),
    Mutant("M02", "gate config: rule direction", RC, "wrong = [m for m in names if rules in", "wrong = [m for m in () if rules in",
           ("tests/test_risk_gate.py", "-k", "wrong_direction"), "brier in higher_is_better is accepted: the rule refuses improvements"),
    Mutant("M03", "gate config: bounds that can fail", RC, "    if never_fail:\n", "    if False:\n",
           ("tests/test_risk_gate.py", "-k", "never_fail"), "maximum ece 5 (every model passes) is accepted"),
    Mutant("M04", "gate config: a percentage as a minimum", RC, 'if unit and rules == "minimum" and v > 1:', "if False:",
           ("tests/test_risk_gate.py", "-k", "never_fail"), "minimum roc_auc 80 (for 0.8; no model passes) is accepted"),
    Mutant("M05", "gate config: a negative maximum", RC, 'if unit and rules == "maximum" and v < 0:', "if False:",
           ("tests/test_risk_gate.py", "-k", "never_fail"), "maximum ece -0.01 (no model passes) is accepted"),
    Mutant("M06", "fairness policy: top_groups attributes", RC, "stray = sorted(set(self.fairness.top_groups) - set(self.model.audit), key=str)",
           "stray = []", ("tests/test_risk_fairness.py", "-k", "top_groups"), "top_groups on a misspelt attribute is ignored"),
    Mutant("M07", "fairness policy: top_groups counts", RC, "few = {k: v for k, v in self.top_groups.items() if v < 1}",
           "few = {}", ("tests/test_risk_fairness.py", "-k", "top_groups"), "top_groups -3 keeps all but the 3 smallest groups"),
    Mutant("M08", "risk config: NaN split fractions", RC, "if not all(p > 0 for p in parts) or not sum(parts) < 0.9:",
           "if any(p <= 0 for p in parts) or sum(parts) >= 0.9:", ("tests/test_config.py", "-k", "nan_split"),
           "a NaN split fraction is accepted (and stops training in pandas, naming no key)"),
    Mutant("M09", "risk config: negative grace", RC, "        if self.grace_days < 0:\n", "        if False:\n",
           ("tests/test_config.py", "-k", "negative_grace"), "a negative grace_days settles labels of stays still allowed to run"),
    Mutant("M10", "risk gate: fairness switched off is said", RG, 'checks.note("OFF: fairness audit not checked',
           'str("OFF: fairness audit not checked', ("tests/test_risk_gate.py", "-k", "switched_off or maximum_bounds"),
           "require_fairness false drops the fairness line: the decision reads as a plain pass"),
    Mutant("M11", "window gate: require_fairness overruled is said", RG, "    if not config.require_fairness:  # said",
           "    if False:  # said", ("tests/test_risk_gate.py", "-k", "whatever_require"),
           "require_fairness false is silently overruled by the window gate"),
    Mutant("M12", "forecast gate: peer rules switched off are said", FG, 'checks.note("OFF: not compared with the simple peers',
           'str("OFF: not compared with the simple peers', ("tests/test_forecast_gate.py", "-k", "switched_off"),
           "beat_best_peer false drops the peer rule's line: the decision reads as a plain pass"),
    Mutant("M13", "risk gate: a gate of no rule", RG, "    if not checks.decision().comparisons:", "    if False:",
           ("tests/test_risk_gate.py", "-k", "no_rule_to_check"), "a metric gate with no rule to check passes any challenger"),
    Mutant("M14", "risk pipeline: a label cut-off after the log", PL, "    if when > last:\n", "    if False:\n",
           ("tests/test_risk_pipeline.py", "-k", "cutoff_after"), "a data.cutoff after the log's end labels travellers still in the country overstayers"),
    Mutant("M15", "forecast gate config: a percentage tolerance", FC, "        if not self.mase_tolerance < 1:\n", "        if False:\n",
           ("tests/test_forecast_gate.py", "-k", "percentage"), "mase_tolerance 2 (for 2%) passes a challenger at three times the champion's MASE"),
    Mutant("M16", "fairness policy: a resolvable confidence", RC, "if self.bootstrap * (1 - self.confidence) / 2 < 1:", "if False:",
           ("tests/test_risk_fairness.py", "-k", "cannot_resolve"), "confidence 0.999 on 200 replicates is accepted: the interval is their range"),
    Mutant("M17", "window gate: budget metrics of its bounds", RG, "budgets=budgets)", "budgets=())",
           ("tests/test_risk_gate.py", "-k", "budget_metric"), "a floor on recall_at_5pct fails every challenger as None"),
    Mutant("M18", "risk config: gate budgets training logs", RC, "        _check_gate_budgets(self.gate, self.model.budgets)\n", "",
           ("tests/test_risk_gate.py", "-k", "training_does_not_log"), "a gate on recall_at_3pct with budgets 1%, 2%, 5% is accepted"),
    # ---------------------------------------------------------------- review of the h9 branches
    Mutant("R10", "enforcement: a ban's 20 years by days", SO, 'far = (df["ban_until"].dt.normalize() > last)',
           'far = (df["ban_until"] > df["action_at"] + pd.DateOffset(years=MAX_BAN_YEARS))', SOURCES,
           "a ban of exactly 20 years whose last day is given as 23:59:59 is refused as a placeholder"),
    Mutant("R11", "monitoring: a feed re-keyed lately", SM, "            line = _unknown_line(name, recent.get(name, {}), lately=True)\n",
           "            pass\n", SOURCES + ("tests/test_cli_monitor.py",), "a feed re-keyed last week, its history still linked, is no warning"),
    Mutant("R12", "monitor CLI: a feed re-keyed lately refused before fitting", SM,
           "unknown_id_warnings({n: r.counts for n, r in links.items()}, recent_link_counts(links, as_of))",
           "unknown_id_warnings({n: r.counts for n, r in links.items()}, None)", ("tests/test_cli_monitor.py",),
           "the CLI writes the lists of a feed re-keyed last week, exit 0 (monitor() itself warns)"),
    Mutant("R13", "enforcement: a charge's missing days are no wrong amount", SO, "& ~np.isnan(due) & (amount != due)", "& (amount != due)",
           SOURCES, "a charge with its days missing is also told its right amount is wrong"),
    Mutant("R14", "ids: no spaces around them", SC, "    if stripped != value:\n        return _ID_PADDED\n",
           "", SCHEMA + ("tests/test_sources.py",),
           "'T1 ' passes as an id: T1 entering as 'T1' and leaving as 'T1 ' stays in the country"),
    Mutant("R15", "presence reports: place names compared case and spacing aside", SO, '    return " ".join(str(name).split()).casefold()\n',
           "    return str(name)\n", SOURCES, "Badung in 'BALI' is refused as another province, 'BADUNG' in DKI Jakarta not judged"),
    # guards of this morning's h9-ambiguous that no test held (both SURVIVED the SOURCES selection before the test)
    Mutant("R16", "linking: a document shared by the end, its record with no stay", SL,
           'reason[reason.isna() & (pos < 0) & ambiguous_at.notna()] = "ambiguous_document"', "pass", SOURCES,
           "a record whose document was shared later and that had no stay counts as no_stay_at_time and names the first traveller"),
    Mutant("R17", "linking: an ambiguous record names nobody", SL,
           'shown = traveller.where(reason != "ambiguous_document").to_numpy(dtype=object)', "shown = traveller.to_numpy(dtype=object)",
           SOURCES, "the unlinked records of a shared document name the first traveller seen with it"),
    Mutant("R18", "CLI: a CSV date that is no date", "riskmodel/apps/cli/command.py", "    if problems:\n        raise SchemaError(name, problems)\n",
           "    if False:\n        raise SchemaError(name, problems)\n", ("tests/test_cli_bad_inputs.py",),
           "a ban_until of '2042-13-01' in a CSV is read as missing, a ban without end, and passes validate"),
    Mutant("R19", "CLI: a CSV's 'NaT' is a missing date", "riskmodel/apps/cli/command.py", 'lost = ~text.isin(["", "nat"]).to_numpy()',
           'lost = ~text.isin([""]).to_numpy()', ("tests/test_cli_bad_inputs.py",), "a CSV whose missing times read 'NaT' is refused as no dates"),
    # ---------------------------------------------------------------- a saved folder: the bytes verified are the bytes used
    Mutant("N01", "monitor CLI: the saved verdict from the verified bytes", MO, "saved = _parse_saved(files.get(WINDOW_FILE))",
           "saved = _parse_saved((Path(args.model) / WINDOW_FILE).read_bytes())",
           ("tests/test_cli_monitor.py", "-k", "rewritten_after_the_check"),
           "monitor_training.json is read again after the check: an unsigned 'passed' written in between decides"),
    Mutant("N02", "monitor CLI: the saved model from the verified bytes", MO, "model = RiskModel.from_files(files, where=args.model)",
           "model = RiskModel.load(args.model)", ("tests/test_cli_monitor.py", "-k", "rewrite_after_the_check"),
           "model.txt and meta.json are read again after the check: a model written in between ranks the lists"),
    Mutant("N03", "manifest: the bytes returned are the bytes checked", AR,
           'where=f"model folder `{folder}`", data=data)', 'where=f"model folder `{folder}`", data=None)',
           ("tests/test_artifacts.py", "-k", "bytes_read"),
           "the files are hashed again after the bytes handed back were read: a file put back in between passes"),
    Mutant("N04", "scoring: a signed folder from the verified bytes", SV,
           "loaded = RiskModel.from_files(verify_manifest(folder, read=MODEL_FILES), where=folder)",
           "verify_manifest(folder); loaded = RiskModel.load(folder)", ("tests/test_scoring.py", "-k", "bytes_verified"),
           "score(model=folder) reads the files again after the check: a model written in between scores"),
    Mutant("N08", "pyfunc and load(): a logged risk model from the verified bytes", "riskmodel/integrations/tracking/risk_pyfunc.py",
           'return RiskModel.from_files({names[path]: data for path, data in files.items()}, where=root / "data" / ARTIFACT)',
           'return RiskModel.load(root / "data" / ARTIFACT)', ("tests/test_model_signing.py", "-k", "bytes_verified"),
           "data/risk_model is read again after the check: a model written in between is served"),
    Mutant("N09", "load(): a logged risk model through the verified load", "riskmodel/integrations/tracking/loading.py",
           "LoadedModel(risk_pyfunc.verified_risk_model(root, expected_digest=expected), name, version, text)",
           "LoadedModel((registry.verify_manifest(root, expected_digest=expected), RiskModel.load(root / \"data\" / "
           "risk_pyfunc.ARTIFACT))[1], name, version, text)", ("tests/test_model_signing.py", "-k", "bytes_verified and load"),
           "riskmodel.load(folder) reads data/risk_model again after the check: a model written in between scores"),
    # ---------------------------------------------------------------- forecasters and store downloads: the bytes verified are the bytes used
    Mutant("W03", "pyfunc and load(): a logged forecaster from the verified bytes", "riskmodel/integrations/tracking/forecast_pyfunc.py",
           'return Forecaster.from_files({names[path]: data for path, data in files.items()}, where=root / "data" / ARTIFACT)',
           'return Forecaster.load(root / "data" / ARTIFACT)', ("tests/test_forecast_tracking.py", "-k", "bytes_verified"),
           "data/forecaster is read again after the check: a forecaster written in between forecasts"),
    Mutant("W04", "load_forecaster: the verified bytes", "riskmodel/integrations/tracking/forecast.py",
           "return Forecaster.from_files(files, where=folder)", "return Forecaster.load(folder)",
           ("tests/test_forecast_tracking.py", "-k", "bytes_verified and load_forecaster"),
           "load_forecaster reads the folder again after the check: a forecaster written in between forecasts"),
    Mutant("W05", "load_risk_model: the verified bytes", "riskmodel/integrations/tracking/risk.py",
           "return RiskModel.from_files(files, where=folder)", "return RiskModel.load(folder)",
           ("tests/test_model_signing.py", "-k", "bytes_verified and load_risk_model"),
           "load_risk_model reads data/risk_model again after the check: a model written in between scores"),
    Mutant("W06", "store downloads: a folder others can change", "riskmodel/integrations/tracking/verified_store.py",
           "        if reason is None:\n            return\n        exc = ArtifactIntegrityError(",
           "        if True:\n            return\n        exc = ArtifactIntegrityError(",
           ("tests/test_mlflow_loaders.py", "-k", "others_can_change or one_file_asked"),
           "a download into a folder writable by everyone is delivered there: MLmodel replaced after the check is loaded"),
    Mutant("W07", "store downloads: another user's folder", "riskmodel/integrations/tracking/verified_store.py",
           "if st.st_uid not in (me, 0):", "if False:", ("tests/test_mlflow_loaders.py", "-k", "others_can_change"),
           "a download into another user's folder is delivered there"),
    Mutant("W08", "store downloads: the folders above", "riskmodel/integrations/tracking/verified_store.py",
           "for d in (*reversed(folder.parents), folder):", "for d in (folder,):", ("tests/test_mlflow_loaders.py", "-k", "others_can_change"),
           "a download folder whose parent others can write (they rename it away) is accepted"),
    Mutant("W09", "store downloads: delivered writable by the owner only", "riskmodel/integrations/tracking/verified_store.py",
           '        for p in (stage, *stage.rglob("*")):\n            _seal(p)\n', "        pass\n",
           ("tests/test_mlflow_loaders.py", "-k", "read_only_to_them"),
           "with umask 002 the delivered folders are writable by the group in a folder others can enter"),
    # ---------------------------------------------------------------- a feed re-keyed partway through the training window
    Mutant("N05", "monitoring: unknown ids per snapshot period", SM, "over = judged & (bad > UNKNOWN_ID_SHARE * total)",
           "over = judged & False", ("tests/test_sources.py", "-k", "rekeyed"),
           "a feed that links to nobody from February on passes: 50% of the records on file on the day"),
    Mutant("N06", "monitoring: a period judged on enough records", SM, "judged = total >= UNKNOWN_ID_MIN_RECORDS",
           "judged = total >= 1", ("tests/test_sources.py", "-k", "rekeyed"),
           "one fortnight of 3 mistyped reports refuses the lists as a re-keyed feed"),
    Mutant("N07", "monitor CLI: the training days checked for unknown ids", MO, "return [*fit_days, *audit_days, as_of]",
           "return [as_of]", ("tests/test_cli_monitor.py", "-k", "rekeyed"),
           "the model is fitted on snapshots of a feed re-keyed in February, without a word"),
    Mutant("O01", "REST: the body quoted after a JSON error", "riskmodel/integrations/tracking/serving.py",
           "if _BODY_ECHO in message:", "if False and _BODY_ECHO in message:", ("tests/test_serving_app.py",),
           "a broken JSON request is answered with the request quoted back"),
    Mutant("O02", "evaluate-forecasts: per level", "riskmodel/apps/cli/forecasting.py",
           'tags = levels_of_ids(forecasts["unique_id"]) if "unique_id" in forecasts else {}', "tags = {}",
           ("tests/test_forecast_cli.py", "-k", "evaluate"), "the per-level table holds only 'all'"),
    Mutant("Q05", "series: placeholder periods", "riskmodel/core/forecasting/series.py",
           "    odd = _placeholder_periods(df)\n", "    odd = []\n", ("tests/test_forecast_series.py", "-k", "placeholder"),
           "a 1677 or 1800 'no date' in a series reads as centuries of gaps (pandas 2: a raw OverflowError)"),
    Mutant("Q06", "entry history: the stay's own records", "riskmodel/core/sources/features.py",
           "        out[col] -= _own_before_entry(stays, ev)\n", "        pass\n", ("tests/test_sources.py", "-k", "stay_itself"),
           "a report of the stay on file hours before its entry counts in that stay's own prior_reports"),
    # ---------------------------------------------------------------- the sources' edge cases (h10-sources)
    Mutant("D05", "permits: a placeholder end by days", SO, 'far = (df["new_permit_end"].dt.normalize() > last)',
           'far = (df["new_permit_end"] > df["applied_at"] + pd.DateOffset(years=MAX_PERMIT_YEARS))',
           ("tests/test_sources.py", "-k", "twenty_year_permit or placeholder_permit"),
           "a permit of exactly 20 years whose last day is given as 23:59:59 is refused as a placeholder"),
    Mutant("D06", "training: its crossings CSV checked", PL, "            check_csv(path)  #", "            str(path)  #",
           ("tests/test_risk_pipeline.py", "-k", "checked_as_every"),
           "a crossings CSV naming traveller_id twice trains on traveller_id.1 unseen; a cut-off last row is read"),
    Mutant("D07", "linking: one place spelt two ways", SL, "    records = place_names(name, records)\n", "", ("tests/test_sources.py", "-k", "spelt_two_ways"),
           "BADUNG and Badung are two places: a report filed again in capitals is no copy, and two regions_reported"),
    Mutant("P04", "train forecast: the holdout MASE the gate decides on", "riskmodel/apps/pipelines/forecast.py",
           "text = f\"holdout MASE {honest['mase']:.4f}, ", "text = f\"holdout MASE {rows.loc['chosen', 'mase']:.4f}, ",
           ("tests/test_forecast_cli.py", "-k", "holdout_mase"),
           "train prints the chosen model's holdout MASE before reconciliation as the holdout MASE (0.923 where the gate read 0.9158)"),
    Mutant("P05", "report: a range that starts at the forecast", RP,
           'one_sided = _people(lo) == _people(point) and _people(point) != "0"', "one_sided = False",
           ("tests/test_report.py", "-k", "no_floor"), "tomorrow's '40-56' reads as a floor of 40 when the lower side was calibrated to zero width"),
    # ---------------------------------------------------------------- h10: monitoring links once, the library checks re-keyed feeds
    Mutant("B03", "training table: a feed re-keyed during its snapshots", SM, "    if not warnings or allow_unlinked:\n",
           "    if True:\n", ("tests/test_sources.py", "-k", "rekeyed_during"),
           "a library caller builds a training table on a feed that links to nobody from February on, without a word"),
    Mutant("B04", "monitor CLI: the lists read the run's one linking", MO,
           "res = monitor(crossings, tables, as_of, model=model, horizon_days=args.horizon, links=links)",
           "res = monitor(crossings, tables, as_of, model=model, horizon_days=args.horizon)",
           ("tests/test_cli_monitor.py", "-k", "links_each_source_once"), "monitor() links every source again for the lists"),
    Mutant("B05", "training table: the labels read the label day's one linking", SM,
           "starts = overstay_starts(crossings, tables, label_day, links=links)", "starts = overstay_starts(crossings, tables, label_day)",
           ("tests/test_sources.py", "-k", "label_day_once"), "the label day is linked twice for one training table"),
    Mutant("B06", "monitoring: links of another day refused", SF, "    if given is None or local_day(given) != day:\n", "    if False:\n",
           ("tests/test_sources.py", "-k", "another_day"), "links of 2 March give 31 March's labels and checks without a word"),
    Mutant("B07", "monitor CLI: entries counted out printed with the counts", MO,
           '    print(f"entries with no exit on file not counted in the country, by reason: {left_out}")\n', "",
           ("tests/test_cli_monitor.py", "-k", "entries_counted_out"),
           "a run refused after the counts does not say which open entries '3 in the country' left out"),
    Mutant("B08", "ids: a string column read in bulk, the rest judged one by one", SC,
           "    kind[rest] = [_id_kind(v) for v in series.iloc[rest].to_numpy(dtype=object)]\n", "    kind[rest] = _ID_TEXT\n",
           ("tests/test_schema.py",), "blank and padded ids of a string column (pandas 3's default) pass as text"),
    # ---------------------------------------------------------------- the border desk and its reasons (h10-entry)
    Mutant("A10", "border desk: the entry record meets the crossings contract", "riskmodel/core/entry.py",
           'problems = check_crossing_record(row, "the entry record")', "problems = []",
           ("tests/test_entry.py", "-k", "contract"), "an entry with no visa type or purpose and a blank id is scored as a normal traveller"),
    Mutant("A11", "border desk: a stay's permit end", "riskmodel/core/entry.py", '    if row["permit_end"] is None:\n', "    if False:\n",
           ("tests/test_entry.py", "-k", "permit_end_is_named"),
           "a missing permit end becomes about -1e8 permitted days, refused on fields the desk never sent"),
    Mutant("A12", "border desk: the fast path of the entry check", SC,
           "return within and (permit is None or permit is pd.NaT or permit >= r[\"timestamp\"].normalize())", "return within",
           ("tests/test_entry.py", "-k", "permit_end_is_named or contract"),
           "a record with its permit ending before the entry day is found plainly valid and skips the crossings checks"),
    Mutant("A13", "reasons: a level never seen in training", "riskmodel/core/risk/reasons.py",
           "if u is not None and u[r] is not None:", "if False:", ("tests/test_risk_reasons.py", "-k", "not_called"),
           "a port the model never saw reads 'port of entry not on record'"),
    # ---------------------------------------------------------------- the border path as the crossings contract (h11-border)
    Mutant("A14", "border desk: text times ISO 8601 only", "riskmodel/core/entry.py",
           "if not isinstance(v, str) or _ISO_PLAIN.fullmatch(v):", "if True:", ("tests/test_entry.py", "-k", "iso_8601"),
           "a day-first 10/12/2023 is read as 12 October: 295 permitted days instead of 30, the score moves"),
    Mutant("A15", "border desk: the history meets the crossings contract", "riskmodel/core/entry.py",
           "    problems = check_crossing_rows(cols)\n", "    problems = []\n",
           ("tests/test_entry.py", "-k", "history_is_checked or for_a_history_row"),
           "a history sent twice doubles prior_visits; a direction 'ENTRY' is dropped; an unknown visa type is a visa switch"),
    Mutant("A16", "border desk: the fast path of the history check", SC,
           "if nullable == \"no\" or not set(take(values)) <= allowed or not all(_absent(v) for v in seen - allowed):",
           "if nullable == \"no\":", ("tests/test_entry.py", "-k", "history_check_s_fast_path"),
           "a history with an unknown visa type or purpose is found plainly valid and skips the crossings checks"),
    Mutant("A17", "border desk: a history frame's time beyond nanoseconds", "riskmodel/core/entry.py",
           "    if len(beyond):\n", "    if False:\n", ("tests/test_entry.py", "-k", "beyond_nanoseconds"),
           "a 2500 crossing time in a history frame wraps to 1915 and the features are built from it"),
    # ---------------------------------------------------------------- the review's findings, fixed by the lead (round 10)
    Mutant("Q07", "ids: characters that do not print", SC, "return _ID_TEXT if value.isprintable() else _ID_HIDDEN", "return _ID_TEXT",
           ("tests/test_schema.py", "-k", "do_not_print"), "an exit filed as 'T1' plus a zero-width space leaves T1 in the country"),
    Mutant("Q08", "series files: ISO 8601 dates only", "riskmodel/core/csv_files.py",
           'parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")', 'parsed = pd.to_datetime(values, errors="coerce", format="mixed")',
           ("tests/test_cli_bad_inputs.py", "tests/test_forecast_series.py", "-k", "without_its_columns or day_first"),
           "'02/01/2018' (2 January) is read as 1 February: trends and forecasts on other months' counts"),
    Mutant("Q09", "outcome monitoring: a stay counted once", "riskmodel/core/monitoring/outcomes.py",
           "    if repeated.any():\n", "    if False:\n", ("tests/test_monitoring.py", "-k", "once"),
           "a month of nightly score files counts each stay once per night: n, positives and AUC inflated"),
    Mutant("Q10", "report: the same weeks in 2019", RP, "pre = _same_days_in(history, fc[fc[\"unique_id\"].isin(ids)], 2019).reindex(ids)",
           "pre = _same_weeks(history, first, last, 52 * (first.year - 2019)).reindex(ids)", ("tests/test_report.py", "-k", "2019"),
           "a late-December horizon compares with January-April 2020, the collapse, as 'the same weeks in 2019'"),
    Mutant("Q11", "stays: overstay days by calendar day", "riskmodel/core/stays.py",
           "days = (end_day - final_end.dt.normalize()).dt.days", "days = (end_day - final_end).dt.days", ("tests/test_stays.py", "-k", "calendar_days"),
           "a permit to 23:59:59 and an exit the next morning: an overstay of 0 days"),
    Mutant("Q12", "entry: overstay days by calendar day", "riskmodel/core/entry.py",
           "((end - final.normalize()).days if late else 0)", "((end - final).days if late else 0)", ("tests/test_stays.py", "-k", "calendar_days"),
           "features_at_entry labels a stay one day late with 0 overstay days"),
    Mutant("Q13", "spark stays: overstay days by calendar day", "riskmodel/integrations/spark_features.py",
           "F.floor((end_day_s - _day(final_s) * _DAY) / F.lit(_DAY))", "F.floor((end_day_s - final_s) / F.lit(_DAY))",
           ("tests/test_spark_features.py", "-k", "calendar_days"), "build_stays_spark labels stays one day late with 0 overstay days"),
    # ---------------------------------------------------------------- h10-config: config values that switched a rule off silently
    Mutant("K05", "fairness policy: an FNR bound that can fail", RC, "if not 0 < self.max_fnr_diff < 1:",
           "if not 0 < self.max_fnr_diff <= 1:", ("tests/test_risk_fairness.py", "-k", "fnr_bound_of_1"),
           "max_fnr_diff 1 is accepted: no interval lies below -1, so the FNR rule is off without a word"),
    Mutant("K06", "forecast gate: coverage sides that cannot fail are said", FG, "    _say_coverage_sides_off(checks, lo, hi)\n", "",
           ("tests/test_forecast_gate.py", "-k", "said_off"), "coverage bounds [0, 1] pass any interval, the decision silent"),
    Mutant("K07", "forecast gate: no holdout window is said", FG, "if shown is not None else NO_HOLDOUT", "if True else NO_HOLDOUT",
           ("tests/test_forecast_gate.py", "tests/test_forecast_tracking.py", "-k", "inf or gate_decision"),
           "holdout_windows 0 is refused without saying there is no holdout window, nor the fix"),
    Mutant("K08", "forecaster card: holdout_windows 0 named", "riskmodel/integrations/tracking/forecast.py",
           'why = "holdout_windows is 0" if not forecaster.holdout_windows else', 'why = "holdout_windows is 0" if False else',
           ("tests/test_forecast_tracking.py", "-k", "card_of_a_forecaster"), "the card of holdout_windows 0 blames a short history"),
    Mutant("K09", "tuning config: trials", RC, "    if not (whole(n_trials) and n_trials >= 1):\n", "    if False:\n",
           ("tests/test_config.py", "-k", "tune_nothing or nan_tuning"), "n_trials 0 is accepted: no trial runs, optuna stops naming nothing"),
    Mutant("K10", "tuning config: time budget", RC, "or not timeout_seconds > 0:", "or timeout_seconds != timeout_seconds:",
           ("tests/test_config.py", "-k", "tune_nothing"), "timeout_seconds 0 is accepted: no trial starts"),
    Mutant("K11", "tuning config: folds", RC, "    if not (whole(folds) and folds >= 1):\n", "    if False:\n",
           ("tests/test_config.py", "-k", "tune_nothing or nan_tuning"), "folds 0 is accepted when the config is read"),
    Mutant("K12", "tune(): settings checked before any work", "riskmodel/core/risk/tuning.py",
           "    check_tuning(n_trials, timeout_seconds, folds, error=ConfigError)\n", "",
           ("tests/test_risk_tuning.py", "-k", "tune_refuses"), "tune(n_trials=0) builds folds, runs nothing and stops naming no setting"),
    Mutant("K13", "pseudonymise CLI: the key's variable named", "riskmodel/apps/cli/data.py",
           "    if not os.environ.get(KEY_ENV):  # the library's", "    if False:  # the library's",
           ("tests/test_cli_errors.py", "-k", "pseudonymise"), "without a key the CLI says 'or pass key=', which no CLI user can"),
    Mutant("K14", "tune(): unseen levels warned once, after the search", "riskmodel/core/risk/tuning.py", "    if unseen:\n",
           "    if False:\n", ("tests/test_risk_tuning.py", "-k", "unseen_level"),
           "levels a fold never saw go unsaid: the trials' own warnings are held back and none is given after"),
    Mutant("K15", "tune(): the trials' unseen-level warnings held back", "riskmodel/core/risk/tuning.py",
           '                warnings.simplefilter("ignore", UnseenCategoryWarning)\n', "                pass\n",
           ("tests/test_risk_tuning.py", "-k", "unseen_level"), "--tune prints the same unseen-level warning once per trial and fold"),
    Mutant("K16", "risk gate: a champion tolerance that cannot fail is said", RG, "            _say_tolerance_off(checks, name, b, tol, sign)\n",
           "", ("tests/test_risk_gate.py", "-k", "cannot_fail_against"),
           "pr_auc 'may drop by at most 0.3' against a champion at 0.2 passes any challenger, reading 'ok'"),
    Mutant("K17", "fairness: referral and false-positive excess judged on rows", FA,
           "judged = full if name in NEEDS_POSITIVES else rows", "judged = full", ("tests/test_risk_fairness.py", "-k", "few_overstayers"),
           "a large group with 0 or 10 overstays, all referred against 12.5% of the rest, is not judged and the audit passes"),
    Mutant("K18", "fairness: what needs overstayers not judged without them", FA,
           "judged = full if name in NEEDS_POSITIVES else rows", "judged = rows", ("tests/test_risk_fairness.py", "-k", "few_overstayers"),
           "a group with 10 overstays is judged on its FNR, precision and calibration as if it had the policy's 30"),
    Mutant("K19", "fairness: a small overstay count read at its exact interval", FA, "    if few.any():\n", "    if False:\n",
           ("tests/test_risk_fairness.py", "-k", "without_overstayers"),
           "0 overstayers of 600 where the rest's rate expects 1.8 is an infinite excess beyond noise: a breach"),
    Mutant("K20", "fairness: a partly judged group says so", FA, '["too small", "breach", "partly judged"]', '["too small", "breach", "ok"]',
           ("tests/test_risk_fairness.py", "-k", "few_overstayers"), "a group judged on referral and false positives only reads 'ok'"),
    Mutant("K21", "fairness: the notes name each group not judged in full", FA,
           'notes += [f"{attr}: group {row.group}: {row.not_judged}"', 'notes += [] and [f"{attr}: group {row.group}: {row.not_judged}"',
           ("tests/test_risk_fairness.py", "-k", "few_overstayers"), "a pass says nothing of a group not judged on FNR, precision, calibration"),
    Mutant("K22", "monitor: a passed verdict names the groups judged in part", MO, 'return "passed", unjudged', 'return "passed", []',
           ("tests/test_cli_monitor_fairness.py", "-k", "judged_only_in_part"),
           "the monitor prints 'passed' with no word of a group whose FNR, precision and calibration were not judged"),
    Mutant("K23", "model card: a passed audit names the groups judged in part", "riskmodel/integrations/tracking/risk.py",
           "    if report.notes:", "    if False:", ("tests/test_cards.py", "-k", "judged_in_part"),
           "the card reads 'Audit: passed' with no word of what the audit did not judge"),
    Mutant("K24", "model card: an interval ending at inf is judged", "riskmodel/integrations/tracking/risk.py",
           'if not (np.isnan(a) or np.isnan(b)) else "not judged"', 'if np.isfinite(a) and np.isfinite(b) else "not judged"',
           ("tests/test_cards.py", "-k", "judged_in_part"), "a group breached on an excess interval ending at inf reads 'not judged'"),
    Mutant("K25", "report: an interval ending at inf is judged", RP,
           'if not (np.isnan(a) or np.isnan(b)) else "not judged"', 'if np.isfinite(a) and np.isfinite(b) else "not judged"',
           ("tests/test_report.py", "-k", "ending_at_inf"), "a group breached on an excess interval ending at inf reads 'not judged'"),
    Mutant("Q14", "fairness: group size floors of at least 1", "riskmodel/core/risk/config.py",
           "            if not v >= 1 or v != int(v):  # NaN fails both comparisons\n", "            if False:\n",
           ("tests/test_risk_fairness.py", "-k", "floor_below"), "min_support 0 lets groups no interval can judge count as audited"),
    Mutant("Q15", "problems: a row named by a usable id only", SC,
           'str(v) if _id_kind(v) == _ID_TEXT else f"row {i}" for v, i in', 'str(v) if True else f"row {i}" for v, i in',
           ("tests/test_schema.py", "-k", "unusable"), "a record with a blank id and another problem is named '(1 row:  )'"),
    Mutant("Q16", "backtest: no coverage without bounds", "riskmodel/core/forecasting/backtest.py",
           "float(np.mean(held)) if np.isfinite(a).all() and np.isfinite(b).all() else np.nan", "float(np.mean(held))",
           ("tests/test_forecast_backtest.py", "-k", "without_interval"), "a series without bounds reads coverage 0.000 and the gate refuses on it"),
    Mutant("Q17", "report: every fairness comparison shown", RP, "    judged = [c for c, *_ in COMPARISONS]",
           '    judged = ["referral_excess", "fpr_excess", "calibration_ratio"]', ("tests/test_report.py", "-k", "fairness_section"),
           "a breach on the FNR difference or the precision ratio reads 'breach' with no figure"),
    Mutant("Q18", "crossings: placeholder permit ends", SC, "    problems += _placeholder_times(df, id_col, usable, time_col, sel)\n", "",
           ("tests/test_schema.py", "-k", "placeholder_permit_end"), "a permit end of 2099-12-31 or a crossing dated 2250 passes the contract"),
    Mutant("Q19", "entry check: the fast path's permit bound", SC,
           "if permit is not None and permit is not pd.NaT and permit.normalize() > r[\"timestamp\"].normalize()",
           "if False and permit.normalize() > r[\"timestamp\"].normalize()", ("tests/test_entry.py", "-k", "fast_path"),
           "at the border a permit end of 2500 stops with pandas' OverflowError, no column named"),
    Mutant("Q20", "Spark pooled forecast: young series from the facts", "riskmodel/core/forecasting/forecaster.py",
           "if history is not None else young_from_facts(per_series, settings.m, self.h)", "if history is not None else young_table([])",
           ("tests/test_spark.py", "-k", "pools_choice"), "Spark's pooled forecast of a port that just opened is not marked too young"),
    Mutant("Q21", "Reconciled bounds: a series without bounds empties only the bounds that use it", "riskmodel/core/forecasting/reconcile.py",
           "own = np.clip(_combine(B, P), 0, None)", "own = np.clip(B @ P.T, 0, None)",
           ("tests/test_forecast_honest.py", "-k", "without_bounds or opened_after"),
           "one port without an interval empties every reconciled bound and blocks the forecast gate"),
    Mutant("Q22", "A saved monitoring model keeps its link warnings", "riskmodel/core/risk/model.py",
           '**({"unlinked": list(self.unlinked_)} if getattr(self, "unlinked_", None) is not None else {}),', "",
           ("tests/test_sources.py", "-k", "allow_unlinked_records"), "the --allow-unlinked override is lost when the model is saved"),
    Mutant("Q23", "monitor --save-model records the link warnings overridden", "riskmodel/apps/cli/monitor.py",
           '"unlinked": list(model.unlinked_ or []),', "",
           ("tests/test_cli_monitor.py", "-k", "only_believed_when_signed"), "monitor_training.json does not say the model was fitted with --allow-unlinked"),
    Mutant("Q24", "monitor --model says the model was fitted despite link warnings", "riskmodel/apps/cli/monitor.py",
           'if window.get("unlinked"):', "if False:",
           ("tests/test_cli_monitor.py", "-k", "despite_link"), "the lists of a model fitted with --allow-unlinked read like any other's"),
    Mutant("Q25", "CLI --ignore-warning silences the warning it names", "riskmodel/apps/cli/__init__.py",
           'warnings.filterwarnings("ignore", category=_warning_classes()[name])', "pass",
           ("tests/test_forecast_young.py", "-k", "cli"), "the option the warning names does not silence it"),
    Mutant("Q26", "CLI warnings name the option, not warnings.filterwarnings", "riskmodel/apps/cli/__init__.py",
           '_LIBRARY_SILENCE.sub(r"`riskmodel --ignore-warning \\1 ...`", str(message))', "str(message)",
           ("tests/test_forecast_young.py", "-k", "cli"), "a person at a terminal is told to call warnings.filterwarnings"),
    Mutant("Q27", "The gate's coverage line says on how many series it was measured", "riskmodel/core/forecasting/gate.py",
           "{_measured_on(candidate)}", "",
           ("tests/test_forecast_honest.py", "-k", "opened_after"), "a coverage measured on one series of three reads as the holdout's"),
    Mutant("Q28", "Holdout coverage counts the series with an interval", "riskmodel/core/forecasting/backtest.py",
           'counts = {f"n_intervals_{L}": int(part[f"coverage_{L}"].notna().sum())', 'counts = {f"n_intervals_{L}": len(part)',
           ("tests/test_forecast_honest.py", "-k", "opened_after"), "every series counted as having an interval"),
    Mutant("Q29", "Pseudonymisation refuses ids the contract refuses, before hashing", "riskmodel/core/privacy.py",
           "    problems = raw_id_problems(df, chosen)\n", "    problems = []\n",
           ("tests/test_privacy.py", "-k", "laundered"), "'T1 ', blank and zero-width ids become clean pseudonyms"),
    Mutant("Q30", "git_tags claims no commit for a folder the repository does not track", "riskmodel/integrations/tracking/provenance.py",
           'if not commit or not _git(folder, "ls-files", "--", "."):', "if not commit:",
           ("tests/test_cards.py", "-k", "git_tags"), "a wheel in another project's ignored .venv is tagged with that project's commit"),
    Mutant("Q31", "A signing key file others can read is refused", "riskmodel/core/artifacts.py",
           "    elif st.st_mode & 0o044:\n", "    elif False:\n",
           ("tests/test_artifacts.py", "-k", "others_can_read"), "a world-readable key file signs models anyone could sign"),
    Mutant("Q32", "A signing key file another user owns is refused", "riskmodel/core/artifacts.py",
           "if st.st_uid not in (os.geteuid(), 0):", "if False:",
           ("tests/test_artifacts.py", "-k", "others_can_read"), "a key planted by another user beside a shared store is trusted"),
    Mutant("Q33", "evaluate_scores refuses scores without a stay id", "riskmodel/core/monitoring/outcomes.py",
           "    missing = np.flatnonzero(df[id_column].isna().to_numpy())\n", "    missing = []\n",
           ("tests/test_monitoring.py", "-k", "without_an_id"), "scores and outcomes without a stay id are joined each with each"),
    Mutant("Q34", "An early-stopping slice with one class stops nothing, and says so", "riskmodel/core/risk/model.py",
           "if len(np.unique(y_valid)) > 1:", "if True:",
           ("tests/test_risk_model.py", "-k", "early_stopping_slice"), "a one-class early-stopping slice cuts the booster to one tree"),
    Mutant("Q35", "Training's crossings CSV reads dates as ISO 8601 only", "riskmodel/apps/pipelines/risk.py",
           "log[col] = iso_dates(log[col], col, str(path))", "log[col] = pd.to_datetime(log[col])",
           ("tests/test_risk_pipeline.py", "-k", "day_first"), "day-first dates in training's crossings CSV are guessed month first"),
    Mutant("Q36", "score() refuses a missing category training never had missing", "riskmodel/core/score_input.py",
           " or f in never_missing)", ")",
           ("tests/test_scoring.py", "-k", "missing_category"), "a null visa type, entry port or purpose is scored silently"),
    Mutant("G13", "CLI: a CSV's series ids are text", "riskmodel/apps/cli/command.py",
           'table = read_table(Path(path), text=("unique_id",))', "table = read_table(Path(path))",
           ("tests/test_forecast_cli.py", "-k", "keep_their_ids"), "'0101' read as 101, '007' and '7' one series"),
    Mutant("G14", "Forecast monitoring refuses a repeated (unique_id, ds)", "riskmodel/core/monitoring/forecasts.py",
           "problems = duplicate_periods(frame) if frame is not None else []", "problems = []",
           ("tests/test_monitoring_forecasts.py", "-k", "sent_twice"), "a month sent twice counted twice"),
    Mutant("G15", "Forecast monitoring: a flat history gives no MASE", "riskmodel/core/monitoring/forecasts.py",
           'mase_scale(g["y"].to_numpy(dtype=float), m, mask, fallback=np.nan)', 'mase_scale(g["y"].to_numpy(dtype=float), m, mask)',
           ("tests/test_monitoring_forecasts.py", "-k", "without_a_scale"), "a closed port's MASE is its error in people"),
    Mutant("G16", "Forecast monitoring: a series absent from the history gives no MASE", "riskmodel/core/monitoring/forecasts.py",
           "scales.get(uid, np.nan)", "scales.get(uid, 1.0)",
           ("tests/test_monitoring_forecasts.py", "-k", "without_a_scale"), "a series without history scored with scale 1.0"),
    Mutant("G17", "Forecast monitoring: actuals of 0 give no bias", "riskmodel/core/monitoring/forecasts.py",
           '"bias": float((f - y).sum() / y.sum()) if y.sum() > 0 else np.nan,', '"bias": float((f - y).sum() / max(y.sum(), 1e-9)),',
           ("tests/test_monitoring_forecasts.py", "-k", "without_a_scale"), "bias (f - y)/1e-9 on a closed port"),
    Mutant("G18", "Forecast monitoring: the MASE scale leaves the declared breaks out", "riskmodel/core/monitoring/forecasts.py",
           'mask = in_break(pd.DatetimeIndex(g["ds"]), breaks) if breaks else None', "mask = None",
           ("tests/test_monitoring_forecasts.py", "-k", "forecasters_scale"), "the COVID collapse in the scale: errors read small"),
    Mutant("G19", "Forecast monitoring: the season follows the frequency", "riskmodel/core/monitoring/forecasts.py",
           "m if m is not None else mase_season(base)", "m if m is not None else 12",
           ("tests/test_monitoring_forecasts.py", "-k", "season_follows"), "daily series scaled by 12-day differences"),
    Mutant("G20", "evaluate-forecasts declares the COVID break by default", "riskmodel/apps/cli/forecasting.py",
           "breaks = () if args.no_break else (COVID_BREAK,)", "breaks = ()",
           ("tests/test_monitoring_forecasts.py", "-k", "says_which_scale"), "the CLI scores with no break"),
    Mutant("G21", "Forecast pyfunc: h a whole number", "riskmodel/integrations/tracking/forecast_pyfunc.py",
           "bad = ~missing & ~(np.isfinite(v) & (v >= 1) & (v == np.floor(v)))", "bad = ~missing & ~(np.isfinite(v) & (v >= 1))",
           ("tests/test_forecast_tracking.py", "-k", "pyfunc_refuses"), "h = 2.9 answered with 2 periods"),
    Mutant("G22", "Forecast pyfunc: one h per request", "riskmodel/integrations/tracking/forecast_pyfunc.py",
           "if not problems and len(np.unique(v)) > 1:", "if False:",
           ("tests/test_forecast_tracking.py", "-k", "pyfunc_refuses"), "rows asking h=3 and h=12 get 3"),
    Mutant("G23", "Forecast pyfunc: a missing h", "riskmodel/integrations/tracking/forecast_pyfunc.py", "    if missing.any():\n", "    if False:\n",
           ("tests/test_forecast_tracking.py", "-k", "pyfunc_refuses"), "a missing h named as no number, not as missing"),
    Mutant("G24", "Forecast pyfunc: an unknown series id", "riskmodel/integrations/tracking/forecast_pyfunc.py",
           "unknown = ~text.isin(known).to_numpy()", "unknown = np.zeros(len(text), dtype=bool)",
           ("tests/test_forecast_tracking.py", "-k", "pyfunc_refuses"), "a miscased id answered with no rows"),
    Mutant("G25", "Forecast pyfunc: rows with and without a series id", "riskmodel/integrations/tracking/forecast_pyfunc.py",
           "    if unnamed.any():\n", "    if False:\n",
           ("tests/test_forecast_tracking.py", "-k", "pyfunc_refuses"), "a row asking every series dropped"),
    Mutant("H05", "Trends: daily and weekly growth against the same weekdays 52 weeks back", "riskmodel/core/forecasting/trends.py",
           'return pd.Timedelta(days=364) if freq in ("D", "W") else pd.DateOffset(years=1)', "return pd.DateOffset(years=1)",
           ("tests/test_forecast_trends.py", "-k", "same_weekdays"), "weekly growth is NaN, daily growth compares other weekdays"),
    Mutant("H06", "mstl keeps a period as statsmodels' MSTL does", "riskmodel/core/forecasting/models.py",
           "if p > 1 and len(z) > 2 * p]", "if p > 1 and len(z) >= 2 * p]",
           ("tests/test_forecast_models.py", "-k", "two_years"), "mstl on exactly two years of days falls back to seasonal naive"),
    Mutant("H07", "score(), a few rows: a level with characters that do not print", "riskmodel/core/score_input.py",
           "                    elif hidden := hidden_characters(v):\n", "                    elif False:\n",
           ("tests/test_scoring.py", "-k", "do_not_print"), "'Ngurah Rai' + U+200B scored as an unseen port"),
    Mutant("H08", "score(), batches: a level with characters that do not print", "riskmodel/core/score_input.py",
           "    hidden = {v: codes for v in distinct if (codes := hidden_characters(v))}\n", "    hidden = {}\n",
           ("tests/test_scoring.py", "-k", "do_not_print"), "a batch scores 'Ngurah Rai' + U+200B as an unseen port"),
    Mutant("H09", "contracts: free text with characters that do not print", "riskmodel/core/schema.py",
           "            problems += _hidden_text(df, col.name, id_col, ~null)\n", "            pass\n",
           ("tests/test_schema.py", "-k", "do_not_print"), "the crossings log takes a port with a zero-width space as a port of its own"),
    Mutant("H10", "entry record fast path: free text with characters that do not print", "riskmodel/core/schema.py",
           '(v.isprintable() if col.kind == "text" else v in col.values)', '(True if col.kind == "text" else v in col.values)',
           ("tests/test_entry.py", "-k", "each_rule and port"), "the border's entry record skips the contract's check of its port"),
    Mutant("H11", "mstl's yearly period decided once per fit", "riskmodel/core/forecasting/forecaster.py",
           "return dataclasses.replace(settings, yearly_from=first) if first is not None else settings", "return settings",
           ("tests/test_forecast_models.py", "-k", "served"), "the backtests score weekly STL as 'mstl', the forecast serves weekly + yearly MSTL"),
    Mutant("H12", "Report: how many flags chance alone would give", "riskmodel/apps/report.py",
           "    if chance > 0:  # one month of 3", "    if False:  # one month of 3",
           ("tests/test_report.py", "-k", "chance"), "'8 of 73 flagged' with no word of the ~10 that chance alone gives"),
    Mutant("Q37", "Monitoring training leaves out stays with no permit end", "riskmodel/core/sources/monitor.py",
           'snap = snap.loc[~snap["overstaying"].to_numpy(dtype=bool) & ~no_end].copy()',
           'snap = snap.loc[~snap["overstaying"].to_numpy(dtype=bool)].copy()',
           ("tests/test_sources.py", "-k", "leaves_out_stays_with_no_permit_end"), "a stay with no permit end is learnt as no overstay"),
    Mutant("Q38", "The history check's fast path leaves ports with hidden characters to the full check", "riskmodel/core/schema.py",
           'if "port" in c and not all(isinstance(p, str) and p.isprintable() for p in set(c["port"])):',
           'if "port" in c and not all(isinstance(p, str) for p in set(c["port"])):',
           ("tests/test_entry.py", "-k", "history_check_s_fast_path"), "a history port with a zero-width space is scored as another port"),
    # ---------------------------------------------------------------- the champion a process serves and the main job names
    Mutant("F10", "load looks a cached alias up again", "riskmodel/api.py",
           "moved = str(model_version(uri).version) != entry.version", "moved = False",
           ("tests/test_api.py",), "a long-lived process keeps the replaced champion after a promotion or rollback"),
    Mutant("F11", "the main job forecasts with the version it names", "riskmodel/apps/pipelines/main_job.py",
           '"forecasts.parquet": forecast(horizon, model=ports.uri),',
           '"forecasts.parquet": forecast(horizon, model=f"models:/{ports.name}@champion"),',
           ("tests/test_main_job_forecaster.py", "-k", "promoted_and_names"), "the run serves the replaced champion's forecasts"),
    Mutant("F12", "the version the main job names passed the gate", "riskmodel/apps/pipelines/main_job.py",
           'return pin(f"models:/{name}@champion").rsplit("/", 1)[1]', 'return str(resolve_version(name, "champion").version)',
           ("tests/test_main_job_forecaster.py", "-k", "moved_past"), "a champion moved by hand is scored and forecast by number"),
    Mutant("F13", "the main job scores with the version it names", "riskmodel/apps/pipelines/main_job.py",
           "    uri = risk.uri\n", '    uri = f"models:/{risk.name}@champion"\n',
           ("tests/test_main_job_risk.py", "-k", "cached_champion"), "the run writes the replaced champion's scores under the new version's name"),
    Mutant("F14", "a pipeline's promotion reaches its own process at once", "riskmodel/apps/pipelines/forecast.py",
           "        forget_aliases(cfg.tracking.registered_name)", "        pass",
           ("tests/test_api.py", "-k", "made_by_this_process"), "a notebook that promotes then forecasts by alias gets the replaced champion"),
    Mutant("F15", "a failed alias look-up keeps the cached version serving", "riskmodel/api.py", "        moved = False\n", "        raise\n",
           ("tests/test_api.py", "-k", "failed_look_up"), "a tracking store out of reach stops scoring by alias every 10 s"),
    Mutant("Q39", "@champion must be the version the last signed promotion made champion", "riskmodel/integrations/tracking/signing.py",
           "    if promoted != str(version):\n", "    if False:\n",
           ("tests/test_forecast_tracking.py", "-k", "moved_back_by_hand"), "champion moved back by hand to a replaced version loads as gated"),
    # ---------------------------------------------------------------- review 12, operations: workload, report, batch outputs
    Mutant("R20", "operations: the share's range is never zero wide", "riskmodel/core/operations.py", "    lo, hi = _wilson_80(share, n)\n",
           "    se = np.sqrt(share * (1 - share) / max(n, 1))\n    lo, hi = np.clip(share - _Z80 * se, 0.0, 1.0), np.clip(share + _Z80 * se, 0.0, 1.0)\n",
           ("tests/test_operations.py", "-k", "no_referral_yet"), "0 of a new port's 12 entries referred plans 800 arrivals at referrals 0-0"),
    Mutant("R21", "operations: a thin port pulled towards every port's share", "riskmodel/core/operations.py",
           "    if every is not None:\n        port_rate", "    if False:\n        port_rate",
           ("tests/test_operations.py", "-k", "thin_port"), "3 of a port's 3 entries referred plans every arrival as a referral"),
    Mutant("R22", "operations: a throughput for no known port", "riskmodel/core/operations.py",
           "    unknown = sorted({*config.throughput, *config.handling_minutes} - known)", "    unknown = []",
           ("tests/test_operations.py", "-k", "throughput_for_no"), "'Bandara Int. Lombok: 20' is ignored and the default 60 an hour used"),
    Mutant("R23", "operations: a forecast row without its point or bound", "riskmodel/core/operations.py",
           "        if missing.any():\n            rows = fc.loc", "        if False:\n            rows = fc.loc",
           ("tests/test_operations.py", "-k", "without_its_point"), "a missing bound stops with numpy's 'lam value too large'"),
    Mutant("R24", "report: a year-earlier sum needs the history to its last day", "riskmodel/apps/report.py",
           '(span["min"] <= lo) & (span["max"] >= hi)', '(span["min"] <= lo)',
           ("tests/test_report.py", "-k", "reaches_the_last"), "a 400-day outlook compares with 364 days a year earlier: +120% for +100%"),
    Mutant("R25", "batch: a folder with files no job wrote is never cleared", "riskmodel/integrations/batch/jobs.py",
           "        if foreign:\n", "        if False:\n",
           ("tests/test_batch.py", "-k", "overwrite_never"), "--overwrite into a folder of the user's files deletes them all"),
    Mutant("R26", "batch: a finished file output refused to another job", "riskmodel/integrations/batch/jobs.py",
           "    if overwrite or not output.exists():\n        return\n", "    if True:\n        return\n",
           ("tests/test_batch.py", "-k", "finished_file_output"), "another job replaces a finished scores.parquet (or a user's file) silently"),
    Mutant("R27", "batch: an output inside its input folder", "riskmodel/integrations/batch/jobs.py",
           "    if src.is_dir() and src in out.parents:\n", "    if False:\n",
           ("tests/test_batch.py", "-k", "inside_its_input"), "stays/scores.parquet is read back as input the next night: rows double"),
    Mutant("R28", "batch: an output that is the input file", "riskmodel/integrations/batch/jobs.py",
           "    if out == src:\n", "    if False:\n",
           ("tests/test_batch.py", "-k", "inside_its_input"), "score stays.parquet into stays.parquet --overwrite replaces the stays with scores"),
)


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    # this checkout first, also in the subprocesses tests start (CLI, workers), whatever is installed
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return env


def _pytest(tests: tuple[str, ...], cache: Path, timeout: float) -> tuple[int, str, float]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--no-header", *tests]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=_env(cache), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "timeout", time.monotonic() - start
    failed = [line.split(" ", 1)[1].split(" - ")[0] for line in proc.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return proc.returncode, (failed[0] if failed else proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""), time.monotonic() - start


def _forget_bytecode(cache: Path, path: Path) -> None:
    folder = cache / path.parent.resolve().relative_to("/")
    if folder.is_dir():
        for pyc in folder.glob(f"{path.stem}.*.pyc"):
            pyc.unlink()


def run_mutant(m: Mutant, cache: Path, timeout: float) -> tuple[str, str, float]:
    """``(verdict, detail, seconds)``: verdict ``killed``, ``SURVIVED``, ``not applicable`` or ``broken``."""
    path = REPO / m.path
    original = path.read_text(encoding="utf-8")
    if original.count(m.old) != 1:
        return "not applicable", f"snippet found {original.count(m.old)} times in {m.path}", 0.0
    mutated = original.replace(m.old, m.new)
    try:
        compile(mutated, str(path), "exec")
    except SyntaxError as exc:
        return "broken", f"{exc.msg} (line {exc.lineno})", 0.0
    try:
        path.write_text(mutated, encoding="utf-8")
        _forget_bytecode(cache, path)
        rc, detail, seconds = _pytest(m.tests, cache, timeout)
    finally:
        path.write_text(original, encoding="utf-8")
        _forget_bytecode(cache, path)
    if rc == 1:
        return "killed", detail, seconds
    if rc == 0:
        return "SURVIVED", detail, seconds
    return ("timeout" if rc == -1 else f"error (pytest exit {rc})"), detail, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="mutant ids (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--baseline", action="store_true", help="run each test selection on the real code")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per test run")
    parser.add_argument("--tests", help="pytest arguments to run instead of each mutant's own selection (one string)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.ids) - {m.id for m in MUTANTS})
    if unknown:
        parser.error(f"unknown mutant ids {unknown}")
    chosen = [m for m in MUTANTS if not args.ids or m.id in args.ids]
    if args.tests:
        chosen = [dataclasses.replace(m, tests=tuple(shlex.split(args.tests))) for m in chosen]
    if args.list:
        for m in chosen:
            print(f"{m.id}  {m.guard}: {m.what}  [{m.path}]")
        return 0
    cache = Path(tempfile.mkdtemp(prefix="riskmodel-mutants-"))
    try:
        if args.baseline:
            bad = 0
            for tests in dict.fromkeys(m.tests for m in chosen):
                rc, detail, seconds = _pytest(tests, cache, args.timeout)
                bad += rc != 0
                print(f"{'pass' if rc == 0 else 'FAIL'}  {seconds:6.1f} s  {' '.join(tests)}  {detail}", flush=True)
            return 1 if bad else 0
        counts: dict[str, int] = {}
        for m in chosen:
            verdict, detail, seconds = run_mutant(m, cache, args.timeout)
            counts[verdict] = counts.get(verdict, 0) + 1
            print(f"{m.id}  {verdict:<8}  {seconds:6.1f} s  {m.guard}: {m.what}  | {detail}", flush=True)
        print("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return 0
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
