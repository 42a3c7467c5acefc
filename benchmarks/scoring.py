"""Scoring speed: score() against the raw LightGBM booster, single-record latency, threads, 10M-row batch."""

from __future__ import annotations

import json
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
    "10M rows of Parquet parts in a fresh process, peak RSS of that process."
)
BARS = {
    "score_1m_over_booster": ("<=", 1.3),
    "score_reasons_over_contrib": ("<=", 1.3),
    "score_single_ms": ("<=", 1.0),
    "score_single_reasons_ms": ("<=", 2.0),
    "batch_10m_peak_gib": ("<=", 2.0),
}


def _train(tmp: Path):
    from riskmodel.core.config import load_config
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import training_table
    from riskmodel.core.risk.config import RiskConfig
    from riskmodel.core.risk.model import RiskModel, time_split

    repo = Path(__file__).resolve().parents[1]
    cfg = load_config(repo / "configs" / "risk.yaml", RiskConfig)
    table = training_table(make_crossings(40_000, "2017-01-01", "2023-12-31", seed=17).crossings)
    parts = time_split(table, "entry_time", cfg.model.splits)
    model = RiskModel.from_config(cfg.model).fit(parts["train"], valid=parts["valid"], calib=parts["calib"])
    folder = model.save(tmp / "overstay-risk")
    return model, folder, parts["test"].reset_index(drop=True)


def _tile(rows: pd.DataFrame, n: int) -> pd.DataFrame:
    idx = np.resize(np.arange(len(rows)), n)
    out = rows.iloc[idx].reset_index(drop=True)
    out["stay_id"] = np.char.mod("B%09d", np.arange(n))
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


def run() -> dict:
    from riskmodel import load, score

    warnings.simplefilter("ignore")
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        import os

        os.environ["RISKMODEL_AUDIT_LOG"] = str(tmp / "audit.jsonl")
        model, folder, test = _train(tmp)
        scorer = load(folder)
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
            part.assign(stay_id=np.char.mod(f"N{i}%08d", np.arange(len(part)))).to_parquet(big / f"part-{i:02d}.parquet", index=False)
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
