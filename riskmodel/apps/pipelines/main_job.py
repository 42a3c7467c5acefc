"""The main job: data -> the risk model and the two arrival forecasters (per port, per nationality)
trained, registered and gated -> everyone in the country scored -> 90-day arrival forecasts per
port and per nationality -> the duty report. ``riskmodel run`` calls :func:`run_main_job`.

Every step reads and writes plain files in the output folder and models in
MLflow (``MLFLOW_TRACKING_URI``, default ``sqlite:///mlflow.db`` in the working
directory). A second run reuses what is still valid: the synthetic data when
its settings are unchanged, and the registered champions trained on that same
data (recorded in ``state.json``); scores, forecasts and the report are
always made afresh because they are cheap and date-dependent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskmodel.core.config import load_config

__all__ = ["MainJobResult", "run_main_job"]

REPO_CONFIGS = Path(__file__).resolve().parents[3] / "configs"


@dataclass
class MainJobResult:
    """Where the main job left its outputs."""

    out: Path
    scores: Path
    forecasts: Path
    nationality_forecasts: Path
    workload: Path
    report: Path
    risk_model: str
    forecast_model: str
    nationality_forecast_model: str
    seconds: float
    reused: list[str]


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read_state(out: Path) -> dict:
    path = out / "state.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _write_state(out: Path, state: dict) -> None:
    tmp = out / ".state.json.tmp"
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    tmp.replace(out / "state.json")


def _backtest_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Backtest accuracy per hierarchy level and model, with each model's MASE relative to seasonal naive."""
    cols = [c for c in ("level", "model", "mase", "smape", "rmse", "coverage_80", "coverage_95") if c in metrics.columns]
    table = metrics[cols].copy()
    snaive = table[table["model"] == "snaive"].set_index("level")["mase"]
    table["mase_over_snaive"] = table["mase"] / table["level"].map(snaive)
    return table.sort_values(["level", "mase"]).reset_index(drop=True)


@dataclass
class _ForecasterStep:
    name: str
    version: str
    history: pd.DataFrame
    backtest: Path


def _forecaster_step(
    step: str,
    hierarchy: str,
    config: str | Path,
    data_key: str,
    data_dir: Path,
    out: Path,
    state: dict,
    reused: list[str],
    label: str,
    progress: Callable[[str], None],
) -> _ForecasterStep:
    """Train, register and gate the forecaster of one hierarchy, or reuse it when trained on this data."""
    from riskmodel.core.forecasting.config import ForecastConfig
    from riskmodel.integrations.tracking.registry import resolve_version
    from riskmodel.apps.pipelines import forecast as forecast_pipeline

    fcfg = load_config(config, ForecastConfig)
    fcfg = dataclasses.replace(fcfg, data=dataclasses.replace(fcfg.data, series_path=None, crossings_path=str(data_dir / "crossings.parquet")))
    name = fcfg.tracking.registered_name
    key = _digest({"data": data_key, "config": Path(config).read_text(encoding="utf-8")})
    suffix = "" if hierarchy == "port" else f"_{hierarchy}"
    history_path, backtest_path = out / f"history{suffix}.parquet", out / f"forecast_backtest{suffix}.csv"
    state_key = "forecast" if hierarchy == "port" else f"forecast_{hierarchy}"
    champion = resolve_version(name, "champion")
    if state.get(state_key) == key and champion is not None and history_path.exists() and backtest_path.exists():
        progress(f"{step} reusing the {label} {name} v{champion.version} trained on this data")
        reused.append(label)
    else:
        progress(f"{step} training the arrival forecaster per {hierarchy} (backtests choose the model)")
        fout = forecast_pipeline.train(fcfg, log=True, progress=lambda m: progress(f"    {m}"))
        decision = forecast_pipeline.promote(fcfg)
        progress(f"    gate: {'promoted to champion' if decision.passed else 'NOT promoted'}: {'; '.join(decision.reasons)}")
        fout.forecaster.history_[["unique_id", "ds", "y"]].to_parquet(history_path, index=False)
        _backtest_table(fout.forecaster.metrics_).to_csv(backtest_path, index=False)
        state[state_key] = key
        _write_state(out, state)
        champion = resolve_version(name, "champion")
    if champion is None:
        raise RuntimeError(f"no champion for {name}: the {label} did not pass its gate; see the run in MLflow")
    return _ForecasterStep(name=name, version=str(champion.version), history=pd.read_parquet(history_path), backtest=backtest_path)


def run_main_job(
    out: str | Path = "riskmodel-output",
    *,
    travellers: int = 20_000,
    start: str = "2017-01-01",
    end: str = "2023-12-31",
    seed: int = 0,
    fresh: bool = False,
    horizon: int = 90,
    risk_config: str | Path = REPO_CONFIGS / "risk.yaml",
    forecast_config: str | Path = REPO_CONFIGS / "forecast_daily.yaml",
    nationality_forecast_config: str | Path = REPO_CONFIGS / "forecast_daily_nationality.yaml",
    progress: Callable[[str], None] = lambda _m: None,
) -> MainJobResult:
    """Run the main job end to end.

    Parameters
    ----------
    out : str or Path, default="riskmodel-output"
        Output folder: ``data/``, ``scores.parquet`` (+ summary), ``forecasts.parquet``
        (ports), ``forecasts_nationality.parquet``, ``workload.csv``, ``report.html``,
        ``state.json``.
    travellers, start, end, seed
        Synthetic data settings.
    fresh : bool, default=False
        Redo everything instead of reusing valid earlier results.
    horizon : int, default=90
        Days of arrival forecasts.
    risk_config, forecast_config, nationality_forecast_config : str or Path
        Training configs: the risk model, the forecaster per port and the forecaster per
        nationality (their data sections are replaced by this job's data).
    progress : callable
        Receives one line per step.

    Returns
    -------
    MainJobResult
    """
    from riskmodel.api import score_file
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import build_features
    from riskmodel.api import forecast
    from riskmodel.apps.report import expected_workload, write_report
    from riskmodel.core.risk import RiskConfig
    from riskmodel.apps.pipelines import risk as risk_pipeline

    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {} if fresh else _read_state(out)
    reused: list[str] = []
    data_key = _digest({"travellers": travellers, "start": start, "end": end, "seed": seed})
    data_dir = out / "data"

    # 1. data
    if state.get("data") == data_key and (data_dir / "crossings.parquet").exists():
        progress(f"1/7 reusing synthetic data in {data_dir}")
        crossings = pd.read_parquet(data_dir / "crossings.parquet")
        reused.append("data")
    else:
        progress(f"1/7 generating synthetic crossings for {travellers:,} travellers, {start} .. {end}")
        data = make_crossings(travellers, start, end, seed=seed)
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in ("crossings", "stays", "truth"):
            tmp = data_dir / f".{name}.parquet.tmp"
            getattr(data, name).to_parquet(tmp, index=False)
            tmp.replace(data_dir / f"{name}.parquet")
        crossings = data.crossings
        state = {"data": data_key}
        _write_state(out, state)

    # 2. risk model: train, register as challenger, gate to champion
    rcfg = load_config(risk_config, RiskConfig)
    rcfg = dataclasses.replace(rcfg, data=dataclasses.replace(rcfg.data, n_travellers=travellers, start=start, end=end, seed=seed))
    risk_name = rcfg.tracking.registered_name
    risk_key = _digest({"data": data_key, "config": Path(risk_config).read_text(encoding="utf-8")})
    from riskmodel.integrations.tracking.registry import resolve_version

    champion = resolve_version(risk_name, "champion")
    reliability = fairness = None
    if state.get("risk") == risk_key and champion is not None and (out / "risk_holdout.json").exists():
        progress(f"2/7 reusing the risk model {risk_name} v{champion.version} trained on this data")
        saved = json.loads((out / "risk_holdout.json").read_text(encoding="utf-8"))
        reliability = pd.DataFrame(saved["reliability"])
        fairness = pd.DataFrame(saved["fairness"])
        reused.append("risk model")
    else:
        progress("2/7 training the overstay-risk model")
        outcome = risk_pipeline.train(rcfg, crossings=crossings, log=True, progress=lambda m: progress(f"    {m}"))
        decision = risk_pipeline.promote(rcfg)
        progress(f"    gate: {'promoted to champion' if decision.passed else 'NOT promoted'}: {'; '.join(decision.reasons)}")
        reliability = outcome.result.reliability
        fairness = outcome.result.fairness.table
        (out / "risk_holdout.json").write_text(
            json.dumps({"reliability": reliability.to_dict("list"), "fairness": fairness.astype(object).where(fairness.notna(), None).to_dict("list")}, default=str),
            encoding="utf-8",
        )
        state["risk"] = risk_key
        _write_state(out, state)
    champion = resolve_version(risk_name, "champion")
    if champion is None:
        raise RuntimeError(f"no champion for {risk_name}: the first model did not pass the gate's absolute bounds; see the run in MLflow")

    # 3-4. arrival forecasters, one per hierarchy (ports; nationalities): train on daily series, register, gate
    ports = _forecaster_step(
        "3/7", "port", forecast_config, data_key, data_dir, out, state, reused, "forecaster", progress,
    )
    nats = _forecaster_step(
        "4/7", "nationality", nationality_forecast_config, data_key, data_dir, out, state, reused,
        "nationality forecaster", progress,
    )

    # 4. score everyone in the country at the end of the data
    progress("5/7 scoring everyone currently in the country")
    feats = build_features(crossings, validate=False)
    in_country = feats[feats["exit_time"].isna()].reset_index(drop=True)
    in_path = out / "in_country.parquet"
    in_country.to_parquet(in_path, index=False)
    scores_path = out / "scores.parquet"
    score_file(
        in_path, scores_path, model=f"models:/{risk_name}@champion", passthrough=("entry_port", "nationality", "region"),
        overwrite=True, progress=False, purpose="main job: in-country population",
    )
    scored = pd.read_parquet(scores_path)

    # 6. forecasts
    progress(f"6/7 forecasting arrivals for the next {horizon} days per port and per nationality")
    fc = forecast(horizon, model=f"models:/{ports.name}@champion")
    fc_path = out / "forecasts.parquet"
    fc.to_parquet(fc_path, index=False)
    fc_nat = forecast(horizon, model=f"models:/{nats.name}@champion")
    fc_nat_path = out / "forecasts_nationality.parquet"
    fc_nat.to_parquet(fc_nat_path, index=False)
    workload = expected_workload(fc, scored, days=14)
    workload_path = out / "workload.csv"
    workload.to_csv(workload_path, index=False)

    # 7. report
    progress("7/7 writing the report")
    backtest = pd.concat(
        [pd.read_csv(ports.backtest).assign(hierarchy="port"), pd.read_csv(nats.backtest).assign(hierarchy="nationality")],
        ignore_index=True,
    )
    backtest = backtest[["hierarchy", *[c for c in backtest.columns if c != "hierarchy"]]]
    report = write_report(
        out / "report.html",
        scored=scored,
        forecasts=fc,
        history=ports.history,
        nationality_forecasts=fc_nat,
        nationality_history=nats.history,
        reliability=reliability,
        fairness=fairness,
        fairness_bounds={"max_referral_ratio": rcfg.fairness.max_referral_ratio, "max_fpr_ratio": rcfg.fairness.max_fpr_ratio},
        backtest=backtest,
        workload=workload,
        facts={
            "synthetic data": f"{travellers:,} travellers, {start} .. {end}, seed {seed}",
            "stays in the country": f"{len(in_country):,}",
            "risk model": f"{risk_name} v{champion.version} (champion)",
            "forecaster, ports": f"{ports.name} v{ports.version} (champion)",
            "forecaster, nationalities": f"{nats.name} v{nats.version} (champion)",
            "forecast horizon": f"{horizon} days from {fc['ds'].min():%Y-%m-%d}",
            "reused from the last run": ", ".join(reused) or "nothing",
        },
    )
    return MainJobResult(
        out=out, scores=scores_path, forecasts=fc_path, nationality_forecasts=fc_nat_path, workload=workload_path,
        report=report, risk_model=f"models:/{risk_name}/{champion.version}",
        forecast_model=f"models:/{ports.name}/{ports.version}",
        nationality_forecast_model=f"models:/{nats.name}/{nats.version}",
        seconds=time.perf_counter() - started, reused=reused,
    )
