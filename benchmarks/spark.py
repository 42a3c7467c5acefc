"""The nightly run on local Spark at 1M and 4M stays: features equal, throughput, driver memory, in-process beside it."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SIZES = {"1m": 1_000_000, "4m": 4_000_000}
# Traveller buckets: nightly_spark's default parts="auto", one per ~million stays (1 at 1M, 4 at 4M). Every bucket has
# a fixed cost (it scans the whole log, is planned and written as its own Spark jobs): about a quarter of the CPU of
# a 1M run split into four buckets, and a national run's buckets hold millions of stays each.
CHUNK_TRAVELLERS = 10_000  # one generator call: ~84k stays, ~25 MB in pandas
SIZES_RUN = tuple(s for s in os.environ.get("RISKMODEL_BENCH_SPARK_SIZES", "1m,4m").split(",") if s)

ABOUT = (
    "The nightly Spark pipeline (`riskmodel.integrations.spark_nightly.nightly_spark`: read the crossings "
    "log from Parquet, stays and every history feature with Spark windows (one shuffle per bucket), score every "
    "stay with the batch defaults in `mapInPandas`, whose tasks also count the drift bins and bands (one pass), "
    "write Parquet per traveller bucket) on `local[2]`, with its default `parts=\"auto\"`: one traveller bucket per 2 "
    "million crossings, about a million stays (1 at 1M, 4 at 4M: buckets of one size, as a national run's hold millions "
    "of stays each; `spark_parts_*`; until 2026-12-05 the benchmark ran a fixed four buckets at both sizes, and the 1M "
    "run took 40.1 s on a quiet machine against 32.8 s in one bucket: the bar below is met by that setting, the Spark "
    "code itself is no faster), on 1M and "
    "4M synthetic stays (ten years, generated to Parquet 10k travellers at a time, never the whole log in "
    "memory). Model: `configs/risk.yaml` on 15k travellers. `spark_rows_per_s_*`: stays / wall seconds, "
    "session start excluded, JVM warm-up included (the 1M run is the session's first large job, as a nightly "
    "job's is). `spark_driver_peak_gib_*`: peak RSS of the Python driver process (what "
    "collecting data to the driver would grow); `spark_jvm_peak_gib_*`: peak RSS of the local JVM, which in "
    "`local[2]` is the driver *and* both executors (heap capped at 2g). `inprocess_rows_per_s_1m`: the same "
    "work on the same 1M stays in one Python process, after the Spark session is stopped: read the same Parquet "
    "log, pandas `build_features`, chunked `score` (250k rows) with the same defaults, the same `DriftCounter`, "
    "Parquet writes. Fair both ways: each side reads the same files and writes the same rows, both may use both "
    "cores (Spark two task slots; in-process LightGBM's two threads, pandas one), neither reuses the other's "
    "work. `spark_over_inprocess` = Spark's stays/s over the in-process stays/s. "
    "(4M does not fit the in-process path comfortably on this box.) `spark_features_equal`: "
    "every column of `build_features_spark` equal to `build_features` on 3k travellers. `load_average_*`: the "
    "box's 1-minute load average at the start and end of the benchmark (2 cores; other engineers' jobs share "
    "it, so all seconds here are slower than on a quiet machine, and the two sides may see different loads). "
    "Runs in the pandas-2 venv (pyspark needs pandas < 3); RISKMODEL_BENCH_SPARK_SIZES=1m runs only the first size. "
    "Since 2026-12-06 the nightly Spark run checks the log against the crossings contract before any bucket (one "
    "more read and shuffle of the log: `spark_s_1m` 32.8 s before, 40.8 s after, in a run on the quiet box), so the "
    "in-process side checks it too (`build_features(validate=True)`; it skipped the check before): that run, with "
    "the in-process side still unchecked, read `spark_over_inprocess` 0.356 (NOT MET), no longer the same work on "
    "both sides. The change to the in-process side was made after seeing that run; the table below is the run after it: "
    "0.455, still NOT MET (Spark 43.9 s on 1M, in-process 50,046 stays/s with the check). The check on Spark is a pass "
    "of its own before the buckets; done inside the bucket pass it would cost no second read and shuffle, but a log "
    "found bad in a late bucket would then leave the earlier ones written (without `_SUCCESS`): not done this stop. "
    "Since the eighth round (2026-12-06 evening) a log Spark's own expressions find plainly valid (every rule of the "
    "contract mirrored conservatively) is not shipped to pandas for the check: timed alone on a 1M-stay log (2M "
    "crossings) on the quiet box, the check took 6.3-7.3 s against 7.9-11.4 s before, two runs each. The table below "
    "is the run after it: `spark_s_1m` 44.1 s (43.9 before; the saving is within the run-to-run spread), in-process "
    "45,723 stays/s (50,046 before): `spark_over_inprocess` 0.496, still NOT MET (bar 0.5). "
    "The table below is the run of 2026-12-07 (04:04, load 0.5 at the start) on the tenth round's code (the nightly "
    "check counts repeated crossing ids over the whole log): `spark_over_inprocess` 0.507, met, but within the "
    "run-to-run spread of the bar (Spark 47.1 s on 1M against 44.1, in-process 41,913 stays/s against 45,723: both "
    "sides slower, the in-process one more); read it as at the bar, not above it. Nothing was tuned for it. "
    "The run of 2026-12-07 09:32 (load 2.0 at the start) on the twelfth round's code, whose scoring "
    "checks and encoding are faster (h19-speed) and whose nightly tasks also count the night-against-night drift bins "
    "(h19-drift): Spark 43.9 s on 1M (47.1 before), in-process 46,863 stays/s (41,913 before): the in-process side "
    "gained more, and `spark_over_inprocess` reads 0.487, NOT MET (bar 0.5). It was not run again to see it pass. "
    "The table below is the run of 2026-12-07 16:09 (load 1.6 at the start) on the fourteenth round's code, whose stays "
    "refuse a crossing after the time of the run and last crossings after an impossible silence on both sides (on Spark "
    "one more top-k pass over the timestamps) and whose Spark seconds are built from the time's own fields (h21-ops, "
    "the lead): Spark 45.7 s on 1M (43.9 before), in-process 42,908 stays/s (46,863 before): `spark_over_inprocess` "
    "0.51, met, but within the run-to-run spread of the bar (0.507, 0.487, 0.51 over the last three runs); read it as "
    "at the bar, not above it. It was run once; nothing was tuned for it."
)
BARS = {
    "spark_features_equal": (">=", 1),  # 1 or 0: ">= 1" is "== 1"
    "spark_rows_per_s_4m_over_1m": (">=", 0.8),
    "spark_driver_peak_gib_4m": ("<=", 2.0),
    "spark_over_inprocess": (">=", 0.5),
}


class _PeakRss:
    """Sample the peak RSS of this process and of its Java children (the local Spark JVM) in a thread."""

    def __init__(self, every: float = 0.2):
        import psutil

        self.me = psutil.Process()
        self.every = every
        self.driver = self.jvm = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                self.driver = max(self.driver, self.me.memory_info().rss)
                jvm = sum(p.memory_info().rss for p in self.me.children(recursive=True) if "java" in p.name())
                self.jvm = max(self.jvm, jvm)
            except psutil.Error:
                pass
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _train(tmp: Path):
    from riskmodel.core.config import load_config
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import training_table
    from riskmodel.core.risk.config import RiskConfig
    from riskmodel.core.risk.model import RiskModel, time_split

    repo = Path(__file__).resolve().parents[1]
    cfg = load_config(repo / "configs" / "risk.yaml", RiskConfig)
    table = training_table(make_crossings(15_000, "2017-01-01", "2023-12-31", seed=17).crossings)
    parts = time_split(table, "entry_time", cfg.model.splits)
    model = RiskModel.from_config(cfg.model).fit(parts["train"], valid=parts["valid"], calib=parts["calib"])
    return model.save(tmp / "overstay-risk")


def write_log(folder: Path, stays: int, *, start_chunk: int = 0) -> tuple[int, int]:
    """Generate chunks of travellers to Parquet until ``stays`` entries are written; returns (stays, chunks)."""
    from riskmodel.core.datasets import make_crossings

    folder.mkdir(parents=True, exist_ok=True)
    done, k = 0, start_chunk
    while done < stays:
        log = make_crossings(CHUNK_TRAVELLERS, "2015-01-01", "2024-12-31", seed=1_000 + k).crossings
        # every chunk is its own population: prefix ids so travellers and crossings stay unique
        log["traveller_id"] = f"K{k:04d}-" + log["traveller_id"].astype(str)
        log["crossing_id"] = f"K{k:04d}-" + log["crossing_id"].astype(str)
        log.to_parquet(folder / f"chunk-{k:04d}.parquet", index=False)
        done += int((log["direction"] == "entry").sum())
        k += 1
    return done, k - start_chunk


def _features_equal(spark, tmp: Path) -> int:
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import build_features
    from riskmodel.integrations.spark_features import build_features_spark

    log = make_crossings(3_000, "2018-01-01", "2022-12-31", seed=11).crossings
    log.to_parquet(tmp / "eq.parquet", index=False)
    want = build_features(log).sort_values("stay_id").reset_index(drop=True)
    got = build_features_spark(spark.read.parquet(str(tmp / "eq.parquet"))).toPandas().sort_values("stay_id").reset_index(drop=True)
    if list(got.columns) != list(want.columns) or len(got) != len(want):
        return 0
    for c in want.columns:
        w, g = want[c], got[c]
        if pd.api.types.is_float_dtype(w.dtype):
            a, b = g.to_numpy(float, na_value=np.nan), w.to_numpy(float)
            if not np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True):
                return 0
        elif pd.api.types.is_datetime64_any_dtype(w.dtype):
            if not (pd.to_datetime(g).fillna(pd.Timestamp(0)) == w.fillna(pd.Timestamp(0))).all():
                return 0
        else:
            def plain(v):
                if pd.isna(v):
                    return None
                # a number as its value (Spark's 2.0 is pandas' 2, its 2.5 is not): int(v) read 2.5 as 2
                return float(v) if isinstance(v, bool | np.bool_ | int | np.integer | float | np.floating) else str(v)
            if [plain(v) for v in g] != [plain(v) for v in w]:
                return 0
    return 1


def _in_process(log_dir: Path, out: Path, folder: Path) -> tuple[int, float]:
    """The same work in one process: features, chunked scoring with the batch defaults, drift, Parquet."""
    from riskmodel import load, score
    from riskmodel.core.features import build_features
    from riskmodel.core.monitoring.drift import DriftCounter, profile_from_reference

    t = time.perf_counter()
    scorer = load(folder)
    # the crossings contract checked, as the Spark nightly run checks it before any bucket (since 2026-12-06)
    feats = build_features(pd.read_parquet(log_dir), validate=True)
    counter = DriftCounter(profile_from_reference(scorer.model.reference_))
    out.mkdir(parents=True)
    step = 250_000
    for i in range(0, len(feats), step):
        chunk = feats.iloc[i:i + step]
        scored = score(chunk, model=scorer, reasons=3, reasons_min_band="elevated", errors="flag", audit_log=False)
        counter.update(chunk.assign(probability=scored["probability"].to_numpy()))
        scored.to_parquet(out / f"part-{i // step:04d}.parquet", index=False)
    return len(feats), time.perf_counter() - t


def run() -> dict:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from riskmodel.integrations.spark_nightly import nightly_spark

    warnings.simplefilter("ignore")
    figures: dict = {"load_average_start": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory(prefix="riskmodel-bench-spark-") as tmp:
        tmp = Path(tmp)
        os.environ["RISKMODEL_AUDIT_LOG"] = str(tmp / "audit.jsonl")
        folder = _train(tmp)
        t = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]").appName("riskmodel-bench-nightly")
            .config("spark.sql.shuffle.partitions", "8").config("spark.driver.memory", "2g")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50000").getOrCreate()
        )
        spark.range(1).count()
        figures["spark_session_start_s"] = round(time.perf_counter() - t, 1)
        try:
            figures["spark_features_equal"] = _features_equal(spark, tmp)
            chunks = 0
            for size in SIZES_RUN:
                t = time.perf_counter()
                log_dir = tmp / f"log-{size}"
                if chunks:  # the larger log reuses the smaller one's chunks
                    log_dir.mkdir()
                    for f in sorted((tmp / f"log-{SIZES_RUN[0]}").glob("*.parquet")):
                        os.link(f, log_dir / f.name)
                got, more = write_log(log_dir, SIZES[size] - (figures.get(f"stays_{SIZES_RUN[0]}", 0) if chunks else 0),
                                      start_chunk=chunks)
                chunks += more
                figures[f"generate_s_{size}"] = round(time.perf_counter() - t, 1)
                with _PeakRss() as peak:
                    t = time.perf_counter()
                    res = nightly_spark(str(log_dir), str(tmp / f"scores-{size}"), model=folder, scope="all",
                                        spark=spark)
                    seconds = time.perf_counter() - t
                figures[f"spark_parts_{size}"] = res.parts  # parts="auto": one per ~million stays
                figures[f"stays_{size}"] = res.rows_out
                figures[f"spark_s_{size}"] = round(seconds, 1)
                figures[f"spark_rows_per_s_{size}"] = round(res.rows_out / seconds)
                figures[f"spark_driver_peak_gib_{size}"] = round(peak.driver / 2**30, 3)
                figures[f"spark_jvm_peak_gib_{size}"] = round(peak.jvm / 2**30, 3)
                print(f"  {size}: {figures}", file=sys.stderr, flush=True)
        finally:
            spark.stop()
        if "1m" in SIZES_RUN:
            rows, seconds = _in_process(tmp / "log-1m", tmp / "inprocess-1m", folder)
            figures["inprocess_rows_per_s_1m"] = round(rows / seconds)
            figures["spark_over_inprocess"] = round(figures["spark_rows_per_s_1m"] / figures["inprocess_rows_per_s_1m"], 3)
        if "spark_rows_per_s_4m" in figures:
            figures["spark_rows_per_s_4m_over_1m"] = round(figures["spark_rows_per_s_4m"] / figures["spark_rows_per_s_1m"], 3)
    figures["load_average_end"] = round(os.getloadavg()[0], 1)
    return figures
