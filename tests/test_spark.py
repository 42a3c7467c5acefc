"""Spark adapters against the in-process functions, on a real local Spark session (local[2]).

pyspark needs pandas < 3, so scripts/test runs this file in .venv-pandas2 (which installs the
``spark`` extra). In the pandas-3 venv, where pyspark is deliberately absent, the file skips;
on pandas 2 a missing pyspark is a broken install and fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

if importlib.util.find_spec("pyspark") is None and int(pd.__version__.split(".")[0]) >= 3:
    pytest.skip("pyspark needs pandas < 3: scripts/test runs this file in .venv-pandas2", allow_module_level=True)

from pyspark.errors import PythonException  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

from riskmodel.apps.cli import main  # noqa: E402
from riskmodel.core.datasets import make_crossings  # noqa: E402
from riskmodel.core.exceptions import ConfigError, SchemaError  # noqa: E402
from riskmodel.core.forecasting import Forecaster, make_series, output_columns as forecast_columns, reconcile  # noqa: E402
from riskmodel import forecast_spark, load, score, score_spark  # noqa: E402
from riskmodel.core.scoring import output_columns  # noqa: E402
from riskmodel.integrations.spark import model_payload  # noqa: E402

pytestmark = pytest.mark.spark

TEXT = ["risk_band", "reason_1", "reason_2", "reason_3", "model_name", "model_version", "error"]
FC = {"models": ("snaive", "theta"), "n_windows": 2, "freq": "M"}


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers run this venv's python
    session = (
        SparkSession.builder.master("local[2]")
        .appName("riskmodel-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def stays(fitted, tmp_path_factory):
    """A few thousand held-out feature rows with unique ids, as a Parquet file (the production input)."""
    _, _, rows = fitted
    reps = -(-3_000 // len(rows))
    table = pd.concat([rows] * reps, ignore_index=True).iloc[:3_000].copy()
    table["stay_id"] = [f"S{i:06d}" for i in range(len(table))]
    path = tmp_path_factory.mktemp("stays") / "stays.parquet"
    table.to_parquet(path, index=False)
    return path


def _same(got: pd.DataFrame, want: pd.DataFrame, id_column: str = "stay_id") -> None:
    assert list(got.columns) == list(want.columns)
    got = got.sort_values(id_column, kind="stable").reset_index(drop=True)
    want = want.sort_values(id_column, kind="stable").reset_index(drop=True)
    assert got[id_column].tolist() == want[id_column].tolist()
    np.testing.assert_allclose(got["probability"].to_numpy(float), want["probability"].to_numpy(float), rtol=0, atol=1e-9)
    for c in [c for c in TEXT if c in want.columns]:
        a = [None if pd.isna(v) else str(v) for v in got[c]]
        b = [None if pd.isna(v) else str(v) for v in want[c]]
        assert a == b, c


def test_score_spark_equals_score(spark, fitted, stays):
    _, folder, _ = fitted
    local = score(pd.read_parquet(stays), model=folder, reasons=3)
    sdf = spark.read.parquet(str(stays)).repartition(3)
    out = score_spark(sdf, model=folder, reasons=3)
    assert out.columns == output_columns("stay_id", 3)
    got = out.toPandas()
    assert len(got) == len(local) == 3_000
    assert got["risk_band"].notna().all() and got["reason_1"].notna().all()
    _same(got, local)


def test_score_spark_flags_bad_rows_like_score(spark, fitted, stays, tmp_path):
    model, folder, _ = fitted
    table = pd.read_parquet(stays).iloc[:500].copy()
    count = "prior_visits"  # a count: the data contract allows no negative value
    table[count] = table[count].astype(float)
    table.loc[[3, 250], count] = -5.0
    table["batch_tag"] = "X"
    path = tmp_path / "bad.parquet"
    table.to_parquet(path, index=False)
    local = score(table, model=folder, errors="flag", reasons=2, reasons_min_band="elevated", passthrough=["batch_tag"])
    assert local["error"].notna().sum() == 2  # the check below then compares a real flag
    got = score_spark(spark.read.parquet(str(path)), model=folder, errors="flag", reasons=2,
                      reasons_min_band="elevated", passthrough=["batch_tag"]).toPandas()
    assert list(got.columns) == [*output_columns("stay_id", 2), "batch_tag"]
    assert (got["batch_tag"] == "X").all()
    _same(got, local)
    with pytest.raises(PythonException, match="negative value"):
        score_spark(spark.read.parquet(str(path)), model=folder).collect()


def test_score_spark_checks_its_arguments_on_the_driver(spark, fitted, stays):
    _, folder, _ = fitted
    sdf = spark.read.parquet(str(stays))
    with pytest.raises(SchemaError, match="record_id"):
        score_spark(sdf, model=folder, id_column="record_id")
    with pytest.raises(SchemaError, match="nope"):
        score_spark(sdf, model=folder, passthrough=["nope"])
    with pytest.raises(ValueError, match="`errors` must be"):
        score_spark(sdf, model=folder, errors="ignore")


def test_model_ships_as_its_saved_text_files(fitted):
    model, folder, _ = fitted
    payload = model_payload(folder)
    assert payload["model.txt"] == (folder / "model.txt").read_text(encoding="utf-8")
    assert set(payload) == {"model.txt", "meta.json", "name", "version", "sha256"}
    assert all(isinstance(v, str) for v in payload.values())


def test_cli_score_engine_spark_writes_the_same_scores(spark, fitted, stays, tmp_path, capsys):
    _, folder, _ = fitted
    out = tmp_path / "scores"
    rc = main(["score", str(stays), str(out), "--model", str(folder), "--engine", "spark", "--reasons-min-band", "all", "--quiet"])
    assert rc == 0
    assert "rows out: 3,000" in capsys.readouterr().out
    got = pd.read_parquet(out)
    _same(got, score(pd.read_parquet(stays), model=folder, reasons=3, errors="flag"))
    assert spark.sparkContext._jsc is not None  # the CLI did not stop a session it did not start


def test_cli_score_engine_spark_uses_the_batch_defaults(spark, fitted, stays, tmp_path, capsys):
    """No options: bad rows flagged (exit 0), reasons only for elevated and high, as the local engine."""
    _, folder, _ = fitted
    table = pd.read_parquet(stays)
    table["prior_visits"] = table["prior_visits"].astype(float)
    table.loc[[5], "prior_visits"] = -5.0  # a count: the data contract allows no negative value
    path = tmp_path / "stays.parquet"
    table.to_parquet(path, index=False)
    assert main(["score", str(path), str(tmp_path / "scores"), "--model", str(folder), "--engine", "spark", "--quiet"]) == 0
    assert "flagged rows by column (their `error` column says what is wrong): prior_visits 1\n" in capsys.readouterr().out
    got = pd.read_parquet(tmp_path / "scores")
    _same(got, score(table, model=folder, reasons=3, reasons_min_band="elevated", errors="flag"))
    assert got.loc[got["stay_id"] == table.loc[5, "stay_id"], "error"].str.contains("prior_visits").all()
    bands = got["risk_band"].astype(object)
    assert (bands == "low").sum() > 100 and got.loc[bands == "low", "reason_1"].isna().all()
    assert bands.isin(["elevated", "high"]).sum() > 10 and got.loc[bands.isin(["elevated", "high"]), "reason_1"].notna().all()


def test_score_parquet_returns_the_in_process_result_type(spark, fitted, stays, tmp_path):
    from riskmodel.core.batch_result import BatchResult
    from riskmodel.integrations.spark import score_parquet

    _, folder, _ = fitted
    out = tmp_path / "scores"
    done = score_parquet(stays, out, model=folder, spark=spark)
    assert isinstance(done, BatchResult)
    assert (done.output, done.rows_in, done.rows_out, done.resumed_parts) == (out, 3_000, 3_000, 0)
    assert done.parts == len(list(out.glob("part-*.parquet"))) >= 1
    bands = pd.read_parquet(out)["risk_band"].astype(object).value_counts().to_dict()
    assert done.extra["engine"] == "spark"
    assert {k: v for k, v in done.extra["band_counts"].items() if v} == bands


def test_spark_example_runs(fitted, stays, tmp_path):
    _, folder, _ = fitted
    env = {**os.environ, "RISKMODEL_AUDIT_LOG": str(tmp_path / "audit.jsonl"), "PYSPARK_PYTHON": sys.executable}
    script = Path(__file__).resolve().parents[1] / "examples" / "spark_batch.py"
    run = subprocess.run([sys.executable, str(script), "--model", str(folder), "--stays", str(stays), "--out", str(tmp_path / "scores")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "scored 3,000 stays" in run.stdout
    assert "theta+bottom_up" in run.stdout or "snaive+bottom_up" in run.stdout  # the default reconciliation
    assert len(pd.read_parquet(tmp_path / "scores")) == 3_000
    # the example deleted an existing --out without a word (it always passed overwrite=True), and a --model without
    # --stays (or the other way round) was dropped for the demo model and stays
    again = subprocess.run(run.args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode != 0 and "--overwrite" in again.stderr
    assert len(pd.read_parquet(tmp_path / "scores")) == 3_000
    alone = subprocess.run([sys.executable, str(script), "--model", str(folder)], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)
    assert alone.returncode == 2 and "--model and --stays go together" in alone.stderr


# ----------------------------------------------------------------------------- forecasting


@pytest.fixture(scope="module")
def crossings():
    return make_crossings(1_500, "2017-01-01", "2023-12-31", seed=3).crossings


@pytest.fixture(scope="module")
def series(crossings):
    return make_series(crossings, freq="M", levels=("total", "port_type", "port"))


def _per_series(df: pd.DataFrame, horizon: int) -> pd.DataFrame:
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, g in df.groupby("unique_id", sort=True):
            frames.append(Forecaster(h=horizon, level=(80, 95), reconcile=None, **FC).fit(g).predict())
    return pd.concat(frames, ignore_index=True)


def _pooled(df: pd.DataFrame, horizon: int) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Forecaster(h=horizon, level=(80, 95), reconcile=None, **FC).fit(df).predict()


def _spark_history(spark, df: pd.DataFrame):
    return spark.createDataFrame(df.assign(unique_id=df["unique_id"].astype(object)))


def test_forecast_spark_equals_per_series_forecasts(spark, series):
    df = series.df
    assert df["unique_id"].nunique() >= 24
    got = forecast_spark(_spark_history(spark, df), horizon=6, pool=False, **FC)
    want = _per_series(df, 6)
    assert list(got.columns) == forecast_columns((80, 95))
    assert got["unique_id"].tolist() == want["unique_id"].tolist()
    assert (got["ds"].to_numpy() == want["ds"].to_numpy()).all()
    assert got["model"].tolist() == want["model"].tolist()
    for c in forecast_columns((80, 95))[2:-1]:
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=0, atol=1e-6, err_msg=c)


def test_forecast_spark_reconciles_after_the_distributed_step(spark, crossings):
    small = make_series(crossings, freq="M", levels=("total", "port_type"))
    got = forecast_spark(_spark_history(spark, small.df), horizon=6, hierarchy=small.hierarchy, reconcile="wls_struct", **FC)
    base = _pooled(small.df, 6)
    want = reconcile(base, small.hierarchy, method="wls_struct")
    np.testing.assert_allclose(got["y_hat"].to_numpy(float), want["y_hat"].to_numpy(float), rtol=0, atol=1e-6)
    assert got["model"].str.endswith("+wls_struct").all()
    wide = got.pivot(index="ds", columns="unique_id", values="y_hat")
    bottom = small.hierarchy.bottom
    np.testing.assert_allclose(wide["total"].to_numpy(), wide[bottom].sum(axis=1).to_numpy(), rtol=1e-9)


def test_forecast_spark_reconciles_bottom_up_by_default_keeping_each_series_interval(spark, crossings):
    # As in-process: the default keeps each bottom series' calibrated bounds and sums them up
    # (wls_struct, the default until 2026-12-05, moved them and under-covered).
    small = make_series(crossings, freq="M", levels=("total", "port_type"))
    got = forecast_spark(_spark_history(spark, small.df), horizon=6, hierarchy=small.hierarchy, **FC)
    assert got["model"].str.endswith("+bottom_up").all()
    base = _pooled(small.df, 6)
    bottom = small.hierarchy.bottom
    for col in ("y_lo_80", "y_hi_80", "y_lo_95", "y_hi_95"):
        wide, own = (f.pivot(index="ds", columns="unique_id", values=col) for f in (got, base))
        np.testing.assert_allclose(wide[bottom].to_numpy(), own[bottom].clip(lower=0).to_numpy(), rtol=0, atol=1e-6, err_msg=col)
        np.testing.assert_allclose(wide["total"].to_numpy(), wide[bottom].sum(axis=1).to_numpy(), rtol=1e-9, err_msg=col)


def test_forecast_spark_pools_choice_and_calibration_like_one_in_process_fit(spark, series):
    # Issue 13 part 6: per-series fits calibrated each series' intervals on its own few
    # errors; pooled, Spark gives the in-process fit of all series, intervals included.
    df = series.df
    train, test = df[df["ds"] < df["ds"].max() - pd.DateOffset(months=5)], df[df["ds"] >= df["ds"].max() - pd.DateOffset(months=5)]
    got = forecast_spark(_spark_history(spark, train), horizon=6, **FC)
    want = _pooled(train, 6)
    assert got["model"].tolist() == want["model"].tolist()
    for c in forecast_columns((80, 95))[2:-1]:
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=0, atol=1e-6, err_msg=c)

    def cov95(fc):
        m = test.merge(fc, on=["unique_id", "ds"])
        return float(((m["y"] >= m["y_lo_95"]) & (m["y"] <= m["y_hi_95"])).mean())

    per_series = forecast_spark(_spark_history(spark, train), horizon=6, pool=False, **FC)
    assert abs(cov95(got) - cov95(want)) <= 0.02
    assert not np.allclose(per_series["y_hi_95"].to_numpy(float), want["y_hi_95"].to_numpy(float))


def test_forecast_spark_reads_the_history_once_on_the_executors_and_never_collects_it(spark, series):
    # Issue 13 part 6: calibration needs all backtest errors on the driver, not the history; the
    # driver used to collect the whole history (series x periods rows) for the interval scales.
    # An accumulator counts the history rows each action reads: the executors' fits read them once.
    from pyspark.sql import functions as F, types as T

    df = series.df
    reads = spark.sparkContext.accumulator(0)

    def counted(y):
        reads.add(1)
        return y

    history = _spark_history(spark, df).withColumn("y", F.udf(counted, T.DoubleType())(F.col("y").cast("double")))
    got = forecast_spark(history, horizon=6, **FC)
    assert reads.value == len(df)
    want = _pooled(df, 6)
    for c in forecast_columns((80, 95))[2:-1]:
        np.testing.assert_allclose(got[c].to_numpy(float), want[c].to_numpy(float), rtol=0, atol=1e-6, err_msg=c)


def test_forecast_spark_reports_its_stages(spark, crossings):
    small = make_series(crossings, freq="M", levels=("total", "port_type"))
    seen: list[tuple] = []
    forecast_spark(_spark_history(spark, small.df), horizon=6, hierarchy=small.hierarchy, reconcile="bottom_up",
                   on_progress=lambda *a: seen.append(a), **FC)
    names = ["model runs per group on the executors", "choice and calibration on the driver", "reconciliation", "done"]
    assert seen == [(f"spark forecast stages: {name}", i, 3) for i, name in enumerate(names)]


def test_forecast_spark_refuses_bad_settings(spark, series):
    sdf = _spark_history(spark, series.df.head(10))
    with pytest.raises(ConfigError, match="`horizon` must be"):
        forecast_spark(sdf, horizon=0)
    with pytest.raises(ConfigError, match="mint_shrink"):
        forecast_spark(sdf, horizon=3, reconcile="mint_shrink")
    with pytest.raises(ConfigError, match="set by forecast_spark"):
        forecast_spark(sdf, horizon=3, h=4)
    with pytest.raises(SchemaError, match="y"):
        forecast_spark(sdf.drop("y"), horizon=3)


def test_a_missing_feature_is_refused_or_flagged_never_scored(spark, fitted, stays):
    _, folder, _ = fitted
    df = spark.read.parquet(str(stays)).drop("visa_type")
    with pytest.raises(SchemaError, match="visa_type"):
        score_spark(df, model=folder, errors="raise")
    out = score_spark(df, model=folder, errors="flag", reasons=0, audit_log=False).toPandas()
    assert out["probability"].isna().all() and out["error"].str.contains("visa_type").all()


def test_a_passthrough_column_named_as_an_output_column_is_refused_when_the_plan_is_built(spark, fitted):
    """Yesterday's scores joined back onto the features, with passthrough=["probability", "risk_band", "error"]:
    score() refuses this up front; score_spark built the plan and failed only inside the UDF at run time
    (a PythonException wrapping a Java trace), after the job had started. No Spark action runs here."""
    _, folder, rows = fitted
    sdf = spark.createDataFrame(rows.head(5).assign(probability=0.5, risk_band="stale", error="old"))
    with pytest.raises(SchemaError, match=re.escape("column `probability`: passthrough column has the name of an output column")) as caught:
        score_spark(sdf, model=folder, errors="flag", passthrough=["probability", "risk_band", "error"], audit_log=False)
    assert "column `risk_band`" in str(caught.value) and "column `error`" in str(caught.value)
    assert "rename it before scoring (e.g. `input_probability`)" in str(caught.value)
    # the id column is copied as given either way, as in-process
    assert score_spark(sdf, model=folder, passthrough=["stay_id"], audit_log=False).columns == output_columns("stay_id", 3)


def test_misspelt_feature_columns_are_named_as_score_names_them(spark, fitted):
    """score() names the input column a missing feature was probably meant to be (`Visa_Type` for visa_type). The
    Spark plan said only "required feature column is missing" and, under errors="flag", sent the workers the
    feature columns only, so their score() no longer saw `Visa_Type` to name it in each row's error."""
    _, folder, rows = fitted
    sdf = spark.createDataFrame(rows.head(6)).withColumnRenamed("visa_type", "Visa_Type")
    with pytest.raises(SchemaError, match=re.escape(
            "column `visa_type`: feature column is missing; the input has `Visa_Type`. Fix: rename `Visa_Type` to `visa_type`")):
        score_spark(sdf, model=folder, audit_log=False)
    out = score_spark(sdf, model=folder, errors="flag", reasons=0, audit_log=False).toPandas()
    assert len(out) == 6 and out["probability"].isna().all()
    assert (out["error"] == "visa_type: feature column is missing; the input has `Visa_Type`").all()


def test_a_column_that_appears_twice_is_refused_on_the_driver_as_score_refuses_it(spark, fitted):
    """A feature column twice (a join that kept both sides' group_size): score() names it; the Spark plan failed
    with Spark's own AnalysisException ("[AMBIGUOUS_REFERENCE] Reference `group_size` is ambiguous")."""
    _, folder, rows = fitted
    sdf = spark.createDataFrame(rows.head(6))
    twice = sdf.join(sdf.select("stay_id", "group_size"), "stay_id")
    for errors in ("raise", "flag"):
        with pytest.raises(SchemaError, match=re.escape("column `group_size`: column appears more than once. Fix: keep one column named `group_size`")):
            score_spark(twice, model=folder, errors=errors, audit_log=False)
    # an extra column nothing reads, given twice, is ignored as score() ignores it (it used to refuse every row)
    from pyspark.sql import functions as F

    noted = sdf.withColumn("note", F.lit("x"))
    extra = noted.join(noted.select("stay_id", "note"), "stay_id")
    assert score_spark(extra, model=folder, reasons=0, audit_log=False).count() == 6


def test_a_passthrough_column_named_twice_is_copied_once_as_in_process(spark, fitted):
    """score() gives passthrough=["desk", "desk"] one `desk` column; the Spark plan declared two and the job failed
    in the JVM (a Py4JJavaError) when the output was read."""
    _, folder, rows = fitted
    sdf = spark.createDataFrame(rows.head(6).assign(desk="A7"))
    out = score_spark(sdf, model=folder, reasons=0, passthrough=["desk", "desk"], audit_log=False)
    assert out.columns == [*output_columns("stay_id", 0), "desk"]
    assert out.toPandas()["desk"].tolist() == ["A7"] * 6


def test_score_parquet_raising_on_bad_rows_raises_the_schema_error_of_score(spark, fitted, tmp_path):
    """errors="raise" on the Spark engine failed with a PythonException around a Java trace, so
    `riskmodel score --engine spark --errors raise` died with a traceback instead of exit 1 and the error
    naming the rows, as the local engine does. The driver now raises the workers' SchemaError."""
    from riskmodel.integrations.spark import score_parquet

    _, folder, rows = fitted
    table = rows.head(40).copy()
    table["stay_id"] = [f"S{i:03d}" for i in range(40)]
    table["prior_visits"] = table["prior_visits"].astype(float)
    table.loc[3, "prior_visits"] = -5.0
    table.loc[7, "prior_visits"] = np.inf
    path = tmp_path / "stays.parquet"
    table.to_parquet(path, index=False)
    with pytest.raises(SchemaError) as caught:
        score_parquet(path, tmp_path / "scores", model=folder, errors="raise", spark=spark)
    text = str(caught.value)
    assert "column `prior_visits`: negative value where training never had one (1 row: S003)" in text
    assert "column `prior_visits`: infinite value (1 row: S007)" in text
    assert "Traceback" not in text and "riskmodel-problems" not in text
    assert main(["score", str(path), str(tmp_path / "cli"), "--model", str(folder), "--engine", "spark",
                 "--errors", "raise", "--quiet"]) == 1


def test_column_names_holding_a_dot_are_read_as_named(spark, fitted):
    """score() copies a passthrough column `desk.no` and ignores other columns whatever their names; the Spark plan
    selected columns by name, which Spark parses (`desk`.`no`, a field of a struct): an AnalysisException, both for
    the passthrough and for the extra columns the workers get to name a missing feature's misspelling."""
    _, folder, rows = fitted
    sdf = spark.createDataFrame(rows.head(6).assign(**{"desk.no": "A7"})).drop("visa_type")
    out = score_spark(sdf, model=folder, errors="flag", reasons=0, passthrough=["desk.no"], audit_log=False).toPandas()
    assert out["desk.no"].tolist() == ["A7"] * 6
    assert (out["error"] == "visa_type: feature column is missing").all() and out["probability"].isna().all()


def test_a_passthrough_column_named_as_an_output_column_in_another_case_is_refused_where_spark_ignores_case(spark, fitted):
    """Spark resolves names without case by default: passthrough=["Probability"] gave an output with `Probability`
    beside `probability`, which Spark refused only when written ([COLUMN_ALREADY_EXISTS]) or read
    ([AMBIGUOUS_REFERENCE]). In that session it is the output column's name, refused as score() refuses
    `probability`."""
    _, folder, rows = fitted
    assert spark.conf.get("spark.sql.caseSensitive") == "false"  # Spark's default
    sdf = spark.createDataFrame(rows.head(3).assign(Probability=0.5))
    with pytest.raises(SchemaError, match=re.escape("column `Probability`: passthrough column has the name of an output column")):
        score_spark(sdf, model=folder, passthrough=["Probability"], audit_log=False)


def test_a_column_of_a_type_the_workers_cannot_read_is_refused_on_the_driver(spark, fitted):
    """Interval columns cannot reach pandas (pyarrow has no array class for them): even under errors="flag" every
    task failed with a PythonException ending in pyarrow's "KeyError: 21", and no row came back. score() refuses a
    value that is no number; the plan now names such columns and their fix before any job runs."""
    from pyspark.sql import functions as F

    _, folder, rows = fitted
    sdf = (spark.createDataFrame(rows.head(3))
           .withColumn("group_size", F.expr("INTERVAL '1' YEAR"))
           .withColumn("entry_month", F.expr("make_interval(0, 1)")))
    with pytest.raises(SchemaError) as caught:
        score_spark(sdf, model=folder, errors="flag", audit_log=False)
    text = str(caught.value)
    assert "column `group_size`: Spark type interval year cannot be sent to score()" in text
    assert "column `entry_month`: Spark type interval cannot be sent to score()" in text
    assert "Fix: cast `group_size` to a number" in text


def test_an_extra_column_named_as_a_feature_in_another_case_is_ignored_as_score_ignores_it(spark, fitted):
    """A raw `VISA_TYPE` beside the feature `visa_type`: score() ignores it (names are case-sensitive); Spark,
    resolving names without case, failed the plan with an AnalysisException ([AMBIGUOUS_REFERENCE] `visa_type`)."""
    _, folder, rows = fitted
    table = rows.head(6).assign(VISA_TYPE="C1_VISIT")
    got = score_spark(spark.createDataFrame(table), model=folder, audit_log=False).toPandas()
    _same(got, score(table, model=folder, audit_log=False))
    assert got["probability"].notna().all()


def test_decimal_columns_score_on_spark_as_their_floats_in_process(spark, fitted):
    """A NUMERIC column read from a database is a DecimalType column on Spark and reaches the workers' score() as
    Decimal objects: every row came back flagged "expected a number". The scores must be those of the floats
    in-process, and a Decimal above a feature's bound is flagged on Spark as the float is in-process."""
    from pyspark.sql import functions as F

    model, folder, rows = fitted
    table = rows.head(40).copy()
    table["stay_id"] = [f"S{i:03d}" for i in range(40)]
    numbers = [c for c in model.features if c not in model.levels_ and c in table.columns
               and pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])]
    assert {"group_size", "prior_visits", "planned_over_permitted"} <= set(numbers)
    table = table.astype({c: float for c in numbers})
    table.loc[5, "group_size"] = 201.0  # above the contract's 200
    # 18 decimal places: more digits than a double needs, so each Decimal names its float
    sdf = spark.createDataFrame(table).withColumns({c: F.col(c).cast("decimal(38,18)") for c in numbers})
    assert sdf.schema["group_size"].dataType.simpleString() == "decimal(38,18)"
    got = score_spark(sdf, model=folder, errors="flag", reasons=3, audit_log=False).toPandas()
    local = score(table, model=folder, errors="flag", reasons=3, audit_log=False)
    assert local["error"].tolist() == [None] * 5 + ["group_size: above 200; expected a whole number from 1 to 200"] + [None] * 34
    _same(got, local)


def test_score_parquet_overwrite_never_deletes_files_no_job_wrote(spark, fitted, stays, tmp_path):
    # Review 13 (spark) 01: `--engine spark --overwrite` handed the output to Spark's mode("overwrite"), which
    # deleted the folder whatever it held (an output of `.` emptied the working folder); the local engine refuses it.
    from riskmodel.core.exceptions import BatchError
    from riskmodel.integrations.spark import score_parquet

    _, folder, _ = fitted
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(BatchError, match=r"not written by a batch job \(notes.txt\); nothing was deleted"):
        score_parquet(stays, home, model=folder, overwrite=True, spark=spark)
    assert (home / "notes.txt").read_text(encoding="utf-8") == "mine"
    # a job's own earlier output is still replaced
    out = tmp_path / "scores"
    score_parquet(stays, out, model=folder, spark=spark)
    assert score_parquet(stays, out, model=folder, overwrite=True, spark=spark).rows_out == 3_000


def test_forecast_spark_refuses_a_series_that_stopped_early_with_or_without_pooling(spark, series):
    # Review 13 (spark) 02: with pool=False each group is its own Forecaster, whose latest period is its own series'
    # last: a series cut six months short was forecast for those past months, in one table with the others' future.
    df = series.df
    latest = df["ds"].max()
    uid = sorted(df["unique_id"].unique())[-1]
    cut = df[(df["unique_id"] != uid) | (df["ds"] <= latest - pd.DateOffset(months=6))]
    last = (latest - pd.DateOffset(months=6)).strftime("%Y-%m")
    for pool in (True, False):
        with pytest.raises(SchemaError, match=rf"1 series stop before {latest:%Y-%m}.*\(1 row: {re.escape(uid)} last {last}\)"):
            forecast_spark(_spark_history(spark, cut), horizon=3, pool=pool, **FC)


def test_forecast_spark_refuses_text_dates_and_counts_as_forecast_refuses_them(spark, series):
    # Review 13 (spark) 06: the groups ran pd.to_datetime and astype(float) first, so a history read from CSV as text
    # was forecast where Forecaster.fit refuses it, and day-first text ('01/02/2023', 1 February) was read month
    # first and then refused as "not at a period start", quoting dates that were never in the data.
    df = series.df.assign(unique_id=series.df["unique_id"].astype(object))
    text = df.assign(ds=df["ds"].dt.strftime("%Y-%m-%d"), y=df["y"].astype(int).astype(str))
    with pytest.raises(SchemaError, match=r"(?s)column `ds`: must be a date or timestamp, got string.*"
                                          r"- column `y`: must be numeric, got string"):
        forecast_spark(spark.createDataFrame(text), horizon=3, **FC)
    day_first = df.assign(ds=df["ds"].dt.strftime("%d/%m/%Y"))
    with pytest.raises(SchemaError, match=r"column `ds`: must be a date or timestamp, got string"):
        forecast_spark(spark.createDataFrame(day_first), horizon=3, pool=False, **FC)


def test_forecast_spark_gives_the_warnings_of_the_in_process_fit(spark):
    # Review 13 (spark) 11: the pooled fit on the driver ran under warnings.simplefilter("ignore") and never warned
    # after: a port that opened four months ago and 80%/95% ends that coincide (two backtest windows) were said
    # in-process and nowhere on Spark (only the "(too young)" label was left).
    from riskmodel.core.forecasting.forecaster import IntervalWarning, YoungSeriesWarning

    ds = pd.date_range("2019-01-01", "2023-12-01", freq="MS")
    steady = pd.DataFrame({"unique_id": "A", "ds": ds, "y": 100 + 20 * np.sin(np.arange(len(ds)))})
    opened = pd.DataFrame({"unique_id": "NEW", "ds": ds, "y": np.r_[np.zeros(len(ds) - 4), [400, 520, 480, 510]]})
    df = pd.concat([steady, opened], ignore_index=True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        forecast_spark(spark.createDataFrame(df), horizon=3, **FC)
    young = [w for w in seen if issubclass(w.category, YoungSeriesWarning)]
    assert young and "NEW" in str(young[0].message)
    assert any(issubclass(w.category, IntervalWarning) for w in seen)


def test_score_parquet_into_an_earlier_output_names_the_overwrite_option(spark, fitted, stays, tmp_path):
    # Review 13 (spark) 07: a second run into the same output stopped with Spark's AnalysisException
    # "[PATH_ALREADY_EXISTS] ... Set mode as "overwrite"" (a Spark API setting, and a Java trace), not the CLI's option.
    from riskmodel.core.exceptions import BatchError
    from riskmodel.integrations.spark import score_parquet

    _, folder, _ = fitted
    out = tmp_path / "scores"
    score_parquet(stays, out, model=folder, spark=spark)
    with pytest.raises(BatchError, match=r"already exists; nothing was written\. Fix: pass overwrite=True \(CLI: --overwrite\)"):
        score_parquet(stays, out, model=folder, spark=spark)
    assert len(pd.read_parquet(out)) == 3_000


def test_forecast_spark_refuses_a_hierarchy_whose_total_is_not_the_sum_of_its_parts(spark):
    """300 a month arrive at ports the extract does not list: the total's history is its parts' plus 300. Forecaster.fit
    refuses it (reconciled, the total is served as its parts' sum, 300 a month short, with no word); forecast_spark
    reconciled it all the same. Refused before any task, naming the series and its first periods, as in-process; a part
    whose history starts later (its missing periods count as none arrived) is coherent and forecast."""
    from tests.test_forecast_edges import _parts_and_total

    settings = {"freq": "M", "models": ["snaive"], "n_windows": 2, "breaks": ()}
    df, hierarchy, (total, parts) = _parts_and_total(300.0)
    with pytest.raises(SchemaError, match=rf"column `y`: 1 series not the sum of their parts.*series: T \(60 rows: T 2015-01: "
                                          rf"{total:g} against {parts:g}, T 2015-02: .*\)\. Fix: add a bottom series"):
        forecast_spark(_spark_history(spark, df), horizon=6, hierarchy=hierarchy, **settings)
    df, hierarchy, _ = _parts_and_total(0.0, b_from="2017-06-01")
    got = forecast_spark(_spark_history(spark, df), horizon=6, hierarchy=hierarchy, **settings)
    wide = got.pivot(index="ds", columns="unique_id", values="y_hat")
    np.testing.assert_allclose(wide["T"].to_numpy(), (wide["A"] + wide["B"]).to_numpy(), rtol=1e-9)


def test_forecast_spark_refuses_a_history_whose_series_are_not_the_hierarchys(spark):
    """Review 17 (Spark) finding 09: reconciled, a series of the history that the hierarchy lacks was forecast alone and
    labelled "+bottom_up" as if reconciled, and one the hierarchy names but the history lacks failed with a ValueError
    after every group's models had run. Forecaster.fit refuses both, naming them; so does forecast_spark, before any task."""
    from tests.test_forecast_edges import _parts_and_total

    settings = {"freq": "M", "models": ["snaive"], "n_windows": 2, "breaks": ()}
    df, hierarchy, _ = _parts_and_total(0.0)
    extra = pd.concat([df, df[df["unique_id"] == "A"].assign(unique_id="X")])
    with pytest.raises(SchemaError, match=r"column `unique_id`: series of `history` are not in the hierarchy \(1 row.*X.*Fix: drop them"):
        forecast_spark(_spark_history(spark, extra), horizon=6, hierarchy=hierarchy, **settings)
    short = df[df["unique_id"] != "B"]
    with pytest.raises(SchemaError, match=r"column `unique_id`: series of the hierarchy are missing from `history` \(1 row.*B.*Fix: pass every"):
        forecast_spark(_spark_history(spark, short), horizon=6, hierarchy=hierarchy, **settings)


def _repeated_across_partitions(stays, tmp_path, *, blanks: bool = False) -> Path:
    """600 stays as three Parquet files (three partitions on Spark), row 500 under row 6's id: one stay twice, its
    copies in the first and the last file; with ``blanks``, two rows of blank text and two without an id, also in
    two files each (score() flags those on their own, never as repeats), and one negative count."""
    table = pd.read_parquet(stays).iloc[:600].copy()
    table.loc[500, "stay_id"] = table.loc[6, "stay_id"]
    if blanks:
        table.loc[[100, 450], "stay_id"] = " "
        table.loc[[150, 550], "stay_id"] = None
        table["prior_visits"] = table["prior_visits"].astype(float)
        table.loc[300, "prior_visits"] = -5.0  # a count: the data contract allows no negative value
    folder = tmp_path / "night"
    folder.mkdir()
    for i in range(3):
        table.iloc[i * 200 : (i + 1) * 200].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


def test_a_stay_repeated_in_another_partition_is_flagged_as_score_file_flags_it(spark, fitted, stays, tmp_path):
    """score_spark called score() per Arrow batch: an id given in two partitions was scored twice, two probabilities
    under one stay, while score_file flags both copies ("id given to more than one row") whatever the chunks."""
    from pyspark.sql import functions as F

    from riskmodel.integrations.batch.scoring import score_file
    from riskmodel.integrations.spark import score_parquet

    _, folder, _ = fitted
    night = _repeated_across_partitions(stays, tmp_path, blanks=True)
    repeated = pd.read_parquet(night)["stay_id"].iloc[6]
    sdf = spark.read.parquet(str(night))
    where = sdf.where(F.col("stay_id") == repeated).select(F.spark_partition_id().alias("p")).distinct().count()
    assert where == 2  # the copies are in two partitions, so in two score() calls
    local = score_file(night, tmp_path / "local", model=folder, progress=False)
    want = pd.read_parquet(local.output)
    assert want.loc[want["stay_id"] == repeated, "error"].tolist() == ["stay_id: id given to more than one row"] * 2
    assert want["error"].notna().sum() == 7 and not want["error"].str.contains("more than one", na=False).iloc[[100, 150]].any()
    done = score_parquet(night, tmp_path / "spark", model=folder, spark=spark)
    _same(pd.read_parquet(tmp_path / "spark"), want)
    # the CLI prints them as for the local engine: which column to fix, for how many rows
    by_column = [("stay_id", 6), ("prior_visits", 1)]  # most rows first
    assert list(done.extra["flagged_by_column"].items()) == list(local.extra["summary"]["flagged_by_column"].items()) == by_column
    lazy = score_spark(sdf, model=folder, errors="flag", reasons_min_band="elevated").toPandas()
    _same(lazy, want)


def test_a_stay_repeated_in_another_partition_is_refused_before_any_output_with_errors_raise(spark, fitted, stays, tmp_path):
    from riskmodel.integrations.batch.scoring import score_file
    from riskmodel.integrations.spark import score_parquet

    _, folder, _ = fitted
    night = _repeated_across_partitions(stays, tmp_path)
    with pytest.raises(SchemaError) as local:
        score_file(night, tmp_path / "local", model=folder, errors="raise", progress=False)
    with pytest.raises(SchemaError) as caught:
        score_parquet(night, tmp_path / "spark", model=folder, errors="raise", spark=spark)
    assert str(caught.value) == str(local.value)
    assert not (tmp_path / "spark").exists()
    with pytest.raises(PythonException, match="id given to more than one row"):
        score_spark(spark.read.parquet(str(night)), model=folder, errors="raise").collect()
