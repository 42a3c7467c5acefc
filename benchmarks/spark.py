"""Batch scoring through local Spark against the in-process batch, same 2M stays, same run."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 2_000_000
PARTS = 8

ABOUT = (
    "A model trained from `configs/risk.yaml` on synthetic stays (15k travellers, 2017-2023); its "
    "held-out feature rows tiled to 2M stays in 8 Parquet parts. `spark_rows_per_s`: "
    "`riskmodel.integrations.spark.score_parquet` (read Parquet, `score_spark` via mapInPandas, write Parquet, "
    "count bands) on `local[2]`, session start excluded (`spark_session_start_s`). `inprocess_rows_per_s`: "
    "`riskmodel.integrations.batch.scoring.score_file` (chunked, resumable, with drift summary) on the same parts. "
    "Both with the batch defaults: reasons for band `elevated` and above, bad rows flagged. "
    "`spark_over_inprocess` > 1 means Spark is faster. Runs in the pandas-2 venv (pyspark needs pandas < 3)."
)
BARS: dict = {}  # no bar: local[2] on a 2-core box measures overhead, not what Spark is for (scale-out)


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
    return model.save(tmp / "overstay-risk"), parts["test"].reset_index(drop=True)


def _write_parts(rows: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True)
    per = ROWS // PARTS
    for p in range(PARTS):
        idx = np.resize(np.arange(len(rows)), per)
        part = rows.iloc[idx].reset_index(drop=True)
        part["stay_id"] = np.char.mod("B%09d", np.arange(p * per, (p + 1) * per))
        part.to_parquet(folder / f"part-{p:03d}.parquet", index=False)


def run() -> dict:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from riskmodel import score_file
    from riskmodel.api import score_parquet

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="riskmodel-bench-spark-") as tmp:
        tmp = Path(tmp)
        os.environ["RISKMODEL_AUDIT_LOG"] = str(tmp / "audit.jsonl")
        folder, rows = _train(tmp)
        _write_parts(rows, tmp / "stays")

        t = time.perf_counter()
        local = score_file(tmp / "stays", tmp / "scores-local", model=folder, progress=False, track=False)
        inprocess_s = time.perf_counter() - t

        t = time.perf_counter()
        spark = (
            SparkSession.builder.master("local[2]").appName("riskmodel-bench")
            .config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "2g")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50000").getOrCreate()
        )
        spark.range(1).count()
        start_s = time.perf_counter() - t
        try:
            t = time.perf_counter()
            done = score_parquet(tmp / "stays", tmp / "scores-spark", model=folder, spark=spark)
            spark_s = time.perf_counter() - t
        finally:
            spark.stop()
        same = pd.read_parquet(tmp / "scores-spark", columns=["stay_id", "probability"]).sort_values("stay_id")
        ref = pd.read_parquet(tmp / "scores-local", columns=["stay_id", "probability"]).sort_values("stay_id")
        max_diff = float(np.nanmax(np.abs(same["probability"].to_numpy() - ref["probability"].to_numpy())))
    return {
        "rows": done.rows_out,
        "inprocess_rows": local.rows_out,
        "spark_session_start_s": round(start_s, 1),
        "spark_s": round(spark_s, 1),
        "inprocess_s": round(inprocess_s, 1),
        "spark_rows_per_s": round(ROWS / spark_s),
        "inprocess_rows_per_s": round(ROWS / inprocess_s),
        "spark_over_inprocess": round(inprocess_s / spark_s, 3),
        "max_abs_probability_diff": max_diff,
    }
