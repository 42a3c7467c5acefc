"""Scoring speed: score() against the raw LightGBM booster, single-record latency, threads, 10M-row batch."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ABOUT = (
    "A model trained from `configs/risk.yaml` on synthetic stays (40k travellers, 2017-2023). "
    "`score_1m_over_booster`: `score(reasons=0)` on 1M feature rows (held-out rows tiled) over "
    "`booster.predict` on the same rows already encoded, same run. `score_reasons_over_contrib`: "
    "`score(reasons=3)` for every row of 100k over raw `pred_contrib` on them; `score_100k_band_reasons_s` "
    "asks reasons only at band `elevated` or above (the batch default). Single record: median of 2,000 calls "
    "with a dict (a JSON record) and with a one-row DataFrame, audit log on; `score_single_audit_cost_ms` is "
    "the median difference with the audit log off. Threads: single-record calls from 1 and 8 threads "
    "(LightGBM#6021: the booster's single-row path holds a lock; riskmodel predicts a few rows on one "
    "OpenMP thread through the matrix path, no per-thread booster copies). Batch: `riskmodel score` over "
    "10M rows of Parquet parts in a fresh process, peak RSS of that process. By URI: the same model logged "
    "to an embedded store (sqlite, local artifacts) and promoted to `champion` through the shipped gate (fairness rule off: a latency vehicle); `score_single_uri_ms` is the "
    "median of 2,000 `riskmodel.score(record, model='models:/overstay-risk@champion')` calls after the "
    "first (`load_uri_first_s`). At the border: `features_at_entry` for the latest entry of a traveller "
    "with its 50 earlier crossings as a list of dicts (`_frame_ms`: as a DataFrame), and `score_entry_ms` "
    "= `score(entry, history=..., reasons=3)`, features included; medians of 2,000 calls. "
    "An earlier Dec 4 run on the 2-core box shared with six other engineers' jobs (load average 11-19) missed `score_entry_ms` (6.9) and `score_single_reasons_ms` (2.1) with every timing several times its quiet value (`contrib_100k_s` 109 s against 14.7 s); the figures below are the re-run on the same box once it was quiet (load average about 1), where every bar is met. On Dec 5 a run on the quiet box (load average about 2) measured `score_single_reasons_ms` 2.069 (NOT MET), its single-row timings 10-40% and the 10M batch 13% above the run below, taken five minutes later with no code change (1.477): that bar sits near its limit and moves with the machine. On Dec 6 at 02:02 (quiet box, load average about 1), on the code with that morning's input guards (lists, complex numbers, case variants of levels, passthrough names), every bar was met: `score_1m_over_booster` 1.297 (1.21 before those guards; timing `score(reasons=0)` on 1M rows directly, before and after them, gave 0.84 s against 0.82-0.94 s), `score_single_ms` 0.613, `score_entry_ms` 1.791, `score_single_reasons_ms` 1.529, `score_single_uri_ms` 0.614. A run at Dec 6 03:54 (no other job on the box, load average under 2), on the code with the second round's guards (upper bounds on counts and days, rules between features, Spark parity), missed four bars: `score_1m_over_booster` 1.379, `score_single_uri_ms` 1.002, `score_entry_ms` 2.417, `score_single_reasons_ms` 2.016; raw LightGBM itself ran 25% slower than at 02:02 (`booster_1m_s` 1.518 against 1.218, `contrib_100k_s` 19.8 against 17.7). An A/B right after it (the same model and 1M rows, separate processes alternating the code before this round, 368b547, and after it, twice each): `score(reasons=0)` over the booster 1.501 and 1.488 before, 1.557 and 1.483 after, no difference beyond the noise; a single record 0.856 and 0.903 ms before, 0.974 and 0.933 ms after (the new checks cost about 0.03-0.12 ms a call); with 3 reasons 1.947 and 2.039 ms before, 2.039 and 2.084 ms after. On that slower host the code before the round missed the same bars: the single-record bars (1.0 and 2.0 ms) sit within 10% of what a call takes, and the new checks are a few percent of that. The run after it at 04:57 on the same code, with the host faster again (`booster_1m_s` 1.295), met every bar (`score_1m_over_booster` 1.289, `score_entry_ms` 1.949). The table below is the run of Dec 6 09:56 (quiet box, load average about 1; the rule set before running it: the latest run's table is the one shown, whatever it says), on the code of the fourth trust round, whose border path checks the entry record by the crossings contract (a plain-Python fast path for a plainly valid record, the pandas checks otherwise): every bar is met, `features_at_entry_ms` 0.205 (0.167 before) and `score_entry_ms` 1.972 near its limit of 2.0. On the code of the fifth trust round (the border history checked by the crossings contract, ISO-only text times, hidden characters in levels, missing categories refused) a run at Dec 6 12:53 (quiet box, load average under 2) missed `score_entry_ms` (2.088, `features_at_entry_ms` 0.227): profiled, a quarter of a border score built its one-row text columns through `pd.array` with the dtype's name; built directly (the str dtype's Arrow array, the dtype object) the table below, run at 13:00 on that code, meets it (1.818) and misses `score_1m_over_booster` (1.315): `score_1m_s` is 1.567 s against 1.565 s in the run before the change, the booster 1.192 s against 1.22 s; the ratio moves with the booster's time, and was not run again. On the code of the sixth trust round (the alias re-check doing what a fresh load does, `reasons` bounded, ISO-only `as_of`), a run at Dec 6 15:58 (quiet box, load average about 1.5) met every bar but `score_1m_over_booster`, 1.307 against a bar of 1.3 (NOT MET; `score_1m_s` 1.392 s, the booster 1.065 s). On the code of the seventh (a refused call audited, a row without its id refused), a run of Dec 6 18:52 (quiet box, load average about 2) met every bar but `score_1m_over_booster`, 1.319 (NOT MET; `score_1m_s` 1.384 s, the booster 1.049 s). "
    "On the code of the ninth (repeated stay ids refused, which hashes every id of a call above 64 rows; an id column under another spelling named), the run of Dec 7 00:43 (quiet box, load average under 2) met every bar but `score_1m_over_booster`, 1.348 (NOT MET; `score_1m_s` 1.599 s, the booster 1.186 s: 0.41 s of checks and encoding on 1M rows against 0.34 s before); the 10M batch took 152 s against 123 s. Faster forms of the repeated-id check (Arrow `count_distinct`, hashing to uint64 and sorting) were not faster on this box. It was not run again. "
    "On the code of the twelfth (2026-12-07, h19-speed: text ids read from their Arrow buffers, one integer key per id, no hashing at all for ids sorted by id; the audit digest without a copy; no check dropped), the benchmark's 1M and 10M rows carry their ids in a random order (until then `B000000000` upwards, sorted: the new fast path would have been what the bar measured; the helper measured shuffled ids 50-70 ms slower per million than sorted ones). The table below is the run of Dec 7 09:19 on that code (quiet box, load average about 1.5; no other job): every bar is met, `score_1m_over_booster` 1.294 against its bar of 1.3 (`score_1m_s` 1.406 s, the booster 1.087 s: 0.32 s of checks and encoding on 1M rows with ids in no order, against 0.41 s in the run of Dec 7 00:43 with sorted ids), near its limit: it moves with the machine as the runs above show; the 10M batch took 163 s (its parts' ids now in no order too)."
    "On the code of the fifteenth round (2026-12-07 evening: blank-text ids flagged, an Arrow pass over the ids, about 6 ms "
    "per million; the border entry checked against the history's open stays, the entry record's own fields read as id and "
    "passthrough), the table below is the run of Dec 7 18:47 (quiet box, load average under 1 at the start): "
    "`score_entry_ms` 2.04 (bar 2.0) and `score_1m_over_booster` 1.324 (bar 1.3), both NOT MET. A second run at 18:53 on the "
    "same code read 2.181 and 1.679 (`score_1m_s` 1.851 s against 1.426: the box slower, nothing else running). A control "
    "run at 18:58 of the code before the round (497b4d4, which met both at 09:19) read 2.056 and 1.44, NOT MET too: both bars "
    "sit within the machine's run-to-run spread, and the round's checks cost less than that spread; no faster form was tried. "
    "`load_uri_first_s` read 0.354 and 0.371 s against 0.077 s in the control run; profiled on a small model, the first "
    "load took 0.097 s on the new code and 0.096 s on the old: the cause of the benchmark's difference was not found this stop. "
    "Looked at again on Dec 7 at 21:15 (the benchmark's own model and store, cProfile around the first `load`, while two "
    "reviews loaded the box): the code before the round (497b4d4) took 0.414 s and the code after it 0.379 s, both on "
    "MLflow 3.18.0, 0.27-0.29 s of each in MLflow's first `get_registered_model` on the sqlite store (SQLAlchemy setting up "
    "its row loaders), so the round's code is not the cause; the control run of Dec 7 18:58 may have used a venv still on "
    "MLflow 3.17.2. The quiet run below reads 0.063 s: the 0.35 s was not reproduced, and its cause is still not known. "
    "On the code of the sixteenth round (2026-12-07 night), the table below is the run of Dec 7 22:41 (quiet box, load "
    "average about 1): `score_1m_over_booster` 1.52, NOT MET, every other bar met (`score_entry_ms` 1.755). The latency "
    "vehicle is `train_risk_model` without a holdout, which now fits, stops early and calibrates only on stays whose labels "
    "were mature when its test slice begins (as the pipeline's model always was): its booster scores 1M rows in 0.579 s "
    "against 1.087 s before (a smaller model), while `score`'s own checks and encoding take 0.30 s per million rows against "
    "0.32 s before. The bar is a ratio, so the same overhead over a faster booster reads worse; the overhead itself did not grow."
)
BARS = {
    "score_1m_over_booster": ("<=", 1.3),
    "score_reasons_over_contrib": ("<=", 1.3),
    "score_single_ms": ("<=", 1.0),
    "score_single_reasons_ms": ("<=", 2.0),
    "score_single_uri_ms": ("<=", 1.0),
    "features_at_entry_ms": ("<=", 1.0),
    "score_entry_ms": ("<=", 2.0),
    "batch_10m_peak_gib": ("<=", 2.0),
}


def _train(tmp: Path):
    from riskmodel.core.config import load_config
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import training_table
    from riskmodel.core.risk import train_risk_model
    from riskmodel.core.risk.config import RiskConfig
    from riskmodel.core.risk.model import time_split

    repo = Path(__file__).resolve().parents[1]
    cfg = load_config(repo / "configs" / "risk.yaml", RiskConfig)
    crossings = make_crossings(40_000, "2017-01-01", "2023-12-31", seed=17).crossings
    table = training_table(crossings)
    # train_risk_model fits the same model as RiskModel.fit on the same split, and gives what logging needs
    result = train_risk_model(table, cfg.model, fairness=cfg.fairness, baselines=False)
    folder = result.model.save(tmp / "overstay-risk")
    test = time_split(table, "entry_time", cfg.model.splits)["test"].reset_index(drop=True)
    return result, folder, test, crossings, cfg


def _log_champion(tmp: Path, result, cfg) -> str:
    """Log the model to an embedded store in ``tmp`` and promote it through the gate, as a service finds it.

    ``@champion`` loads only for a version the gate promoted (an alias set by hand is refused).
    The gate's fairness rule is off here: this model (no baselines, shipped audit on synthetic
    stays) is only a vehicle for latency, and fairness is judged in the risk benchmark.
    """
    import dataclasses

    from riskmodel.integrations.tracking.risk import log_risk_run, promote_risk

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    logged = log_risk_run(result, cfg)
    decision = promote_risk(logged.name, dataclasses.replace(cfg.gate, require_fairness=False))
    if not decision.passed:
        raise RuntimeError("the benchmark model was refused by the gate: " + "; ".join(decision.reasons))
    return f"models:/{logged.name}@champion"


def _border_case(crossings: pd.DataFrame) -> tuple[dict, list[dict], pd.DataFrame]:
    """The latest entry of a traveller with at least 50 earlier crossings, and those 50 (records and frame)."""
    counts = crossings.groupby("traveller_id", observed=True).size()
    tid = counts.index[counts.to_numpy() >= 51][0]
    mine = crossings.loc[crossings["traveller_id"] == tid]
    entry = mine.loc[mine["direction"] == "entry"].iloc[-1]
    earlier = mine.loc[mine["timestamp"] < entry["timestamp"]].tail(50)
    if len(earlier) < 50:
        raise RuntimeError("no traveller with 50 crossings before an entry")
    return entry.to_dict(), earlier.to_dict("records"), earlier


def _tile(rows: pd.DataFrame, n: int) -> pd.DataFrame:
    idx = np.resize(np.arange(len(rows)), n)
    out = rows.iloc[idx].reset_index(drop=True)
    # ids in no order: the repeated-id check skips hashing ids sorted by id (2026-12-07), which a
    # nightly input in the order of its source rarely is; the bar is read on the slower, usual case
    out["stay_id"] = np.char.mod("B%09d", np.random.default_rng(0).permutation(n))
    return out


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _median_ms(fn, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


_BATCH_CHILD = """
import json, resource, sys, time
from riskmodel import score_file
t = time.perf_counter()
res = score_file(sys.argv[1], sys.argv[2], model=sys.argv[3], progress=False, track=False)
print(json.dumps({"seconds": time.perf_counter() - t, "rows": res.rows_out,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _services(tmp: Path, result, test: pd.DataFrame, crossings: pd.DataFrame, cfg, scorer) -> dict:
    """Single-record figures of a service: through the champion URI, and at the border from entry + history."""
    from riskmodel import load, score
    from riskmodel.core.entry import features_at_entry

    figures: dict = {}
    cols = [*result.model.features, "stay_id"]
    record = test[cols].iloc[100].to_dict()
    cwd = Path.cwd()
    os.chdir(tmp)  # the embedded store's artifacts land beside it
    try:
        uri = _log_champion(tmp, result, cfg)
        t = time.perf_counter()
        load(uri)
        figures["load_uri_first_s"] = round(time.perf_counter() - t, 3)
        for _ in range(50):
            score(record, model=uri)
        figures["score_single_uri_ms"] = round(_median_ms(lambda: score(record, model=uri, reasons=0), 2000), 3)
    finally:
        os.chdir(cwd)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    entry, records, frame = _border_case(crossings)
    figures["features_at_entry_ms"] = round(_median_ms(lambda: features_at_entry(entry, records), 2000), 3)
    figures["features_at_entry_frame_ms"] = round(_median_ms(lambda: features_at_entry(entry, frame), 2000), 3)
    for _ in range(50):
        score(entry, history=records, model=scorer, reasons=3)
    figures["score_entry_ms"] = round(_median_ms(lambda: score(entry, history=records, model=scorer, reasons=3), 2000), 3)
    return figures


def run() -> dict:
    from riskmodel import load, score

    warnings.simplefilter("ignore")
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        os.environ["RISKMODEL_AUDIT_LOG"] = str(tmp / "audit.jsonl")
        result, folder, test, crossings, cfg = _train(tmp)
        model = result.model
        scorer = load(folder)
        figures.update(_services(tmp, result, test, crossings, cfg, scorer))
        booster = model.booster_
        cols = [*model.features, "stay_id"]

        rows_1m = _tile(test[cols], 1_000_000)
        enc_1m = model.encode(rows_1m)
        t_booster = _best(lambda: booster.predict(enc_1m, raw_score=True, num_iteration=model.best_iteration_))
        t_score = _best(lambda: score(rows_1m, model=scorer, reasons=0))
        figures["booster_1m_s"] = round(t_booster, 3)
        figures["score_1m_s"] = round(t_score, 3)
        figures["score_1m_over_booster"] = round(t_score / t_booster, 3)
        del enc_1m

        rows_100k = rows_1m.iloc[:100_000]
        enc_100k = model.encode(rows_100k)
        t_contrib = _best(lambda: booster.predict(enc_100k, pred_contrib=True, num_iteration=model.best_iteration_), repeat=1)
        t_reasons = _best(lambda: score(rows_100k, model=scorer, reasons=3), repeat=1)
        t_band = _best(lambda: score(rows_100k, model=scorer, reasons=3, reasons_min_band="elevated"), repeat=1)
        figures["contrib_100k_s"] = round(t_contrib, 2)
        figures["score_100k_reasons_s"] = round(t_reasons, 2)
        figures["score_reasons_over_contrib"] = round(t_reasons / t_contrib, 3)
        figures["score_100k_band_reasons_s"] = round(t_band, 2)

        record = test[cols].iloc[100].to_dict()
        one_row = test[cols].iloc[[100]]
        for _ in range(50):
            score(record, model=scorer)
        figures["score_single_ms"] = round(_median_ms(lambda: score(record, model=scorer, reasons=0), 2000), 3)
        figures["score_single_reasons_ms"] = round(_median_ms(lambda: score(record, model=scorer, reasons=3), 2000), 3)
        figures["score_single_frame_ms"] = round(_median_ms(lambda: score(one_row, model=scorer, reasons=0), 1000), 3)
        no_audit = _median_ms(lambda: score(record, model=scorer, reasons=0, audit_log=False), 2000)
        figures["score_single_audit_cost_ms"] = round(figures["score_single_ms"] - no_audit, 3)
        enc_row = model.encode(one_row)
        figures["booster_single_row_ms"] = round(
            _median_ms(lambda: booster.predict(enc_row, raw_score=True, num_iteration=model.best_iteration_, num_threads=1), 2000), 3
        )

        records = test[cols].iloc[:4000].to_dict("records")
        for n_threads in (1, 8):
            chunks = [records[i::n_threads] for i in range(n_threads)]

            def work(chunk):
                for r in chunk:
                    score(r, model=scorer, reasons=0, audit_log=False)

            threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            figures[f"score_single_threads{n_threads}_per_s"] = round(len(records) / (time.perf_counter() - t))

        big = tmp / "big"
        big.mkdir()
        part = _tile(test[cols], 1_000_000)
        for i in range(10):
            part.assign(stay_id=np.char.mod(f"N{i}%08d", np.random.default_rng(i).permutation(len(part)))).to_parquet(big / f"part-{i:02d}.parquet", index=False)
        del part, rows_1m
        out = subprocess.run(
            [sys.executable, "-c", _BATCH_CHILD, str(big), str(tmp / "scores"), str(folder)], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        figures["batch_10m_rows"] = r["rows"]
        figures["batch_10m_seconds"] = round(r["seconds"], 1)
        figures["batch_rows_per_s"] = round(r["rows"] / r["seconds"])
        figures["batch_10m_peak_gib"] = round(r["peak_kib"] / 2**20, 2)
    return figures
