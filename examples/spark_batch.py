"""Score stays and forecast port arrivals on Spark: the same code locally and on a cluster.

Without arguments it makes synthetic data, trains a small model into a temporary
folder and runs on ``local[2]``::

    python examples/spark_batch.py

On a cluster, give a registered model and Parquet paths the executors can read; the
driver resolves the model (only it needs ``MLFLOW_TRACKING_URI``) and ships it to the
executors as text::

    spark-submit --master yarn --archives riskmodel-env.tar.gz#env \\
        --conf spark.pyspark.python=./env/bin/python \\
        examples/spark_batch.py --model models:/overstay-risk@champion \\
        --stays s3a://bucket/stays/ --out s3a://bucket/scores/2026-11-28/

Needs the ``spark`` extra (pyspark 4, Java 17+, pandas 2.x).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def _demo_inputs(tmp: Path) -> tuple[str, str]:
    """A small model and a Parquet file of held-out stays, on synthetic data."""
    from riskmodel.core.config import load_config
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import training_table
    from riskmodel.core.risk.config import RiskConfig
    from riskmodel.core.risk.model import RiskModel, time_split

    repo = Path(__file__).resolve().parents[1]
    cfg = load_config(repo / "configs" / "risk.yaml", RiskConfig)
    table = training_table(make_crossings(4_000, "2017-01-01", "2023-12-31", seed=1).crossings)
    parts = time_split(table, "entry_time", cfg.model.splits)
    model = RiskModel.from_config(cfg.model)
    model.num_boost_round = 100
    folder = model.fit(parts["train"], valid=parts["valid"], calib=parts["calib"]).save(tmp / "overstay-risk")
    parts["test"].to_parquet(tmp / "stays.parquet", index=False)
    return str(folder), str(tmp / "stays.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="models:/overstay-risk@champion, a run URI or a model folder (default: train a demo model)")
    parser.add_argument("--stays", help="Parquet file or folder of stays with features (default: demo stays)")
    parser.add_argument("--out", help="output folder for the scores (default: a temporary folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run's scores at --out")
    parser.add_argument("--horizon", type=int, default=6, help="forecast horizon in months (default: %(default)s)")
    args = parser.parse_args()
    if bool(args.model) != bool(args.stays):
        parser.error("--model and --stays go together (without both, a demo model scores demo stays)")

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.forecasting import make_series
    from riskmodel.api import forecast_spark, score_parquet
    from riskmodel.integrations.spark import local_session

    spark, owned = local_session("riskmodel-example")  # under spark-submit: the cluster's session
    try:
        with tempfile.TemporaryDirectory(prefix="riskmodel-spark-example-") as tmp:
            tmp = Path(tmp)
            model, stays = (args.model, args.stays) if args.model and args.stays else _demo_inputs(tmp)
            out = args.out or str(tmp / "scores")
            done = score_parquet(stays, out, model=model, spark=spark, overwrite=args.overwrite or not args.out)
            print(f"scored {done.rows_out:,} stays into {done.output}: {done.extra['band_counts']}")
            print(spark.read.parquet(out).orderBy("probability", ascending=False).limit(5).toPandas().to_string(index=False))

        series = make_series(make_crossings(2_000, "2017-01-01", "2023-12-31", seed=0).crossings,
                             freq="M", levels=["total", "port_type", "port"])
        fc = forecast_spark(spark.createDataFrame(series.df.astype({"unique_id": object})), horizon=args.horizon,
                            hierarchy=series.hierarchy, freq="M", models=("snaive", "theta"), n_windows=2)
        print(fc[fc["unique_id"].isin(["total", "port/Ngurah Rai"])].round(0).to_string(index=False))
    finally:
        if owned:
            spark.stop()


if __name__ == "__main__":
    from riskmodel.core.exceptions import BatchError

    try:
        main()
    except BatchError as exc:  # e.g. --out holds an earlier run: the message names --overwrite
        sys.exit(f"error: {exc}")
