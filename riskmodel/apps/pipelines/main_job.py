"""The main job: data -> the risk model and the two arrival forecasters (per port, per nationality)
trained, registered and gated -> everyone in the country scored -> 90-day arrival forecasts per
port and per nationality -> the duty report. ``riskmodel run`` calls :func:`run_main_job`.

Every step reads and writes plain files in the output folder and models in
MLflow (``MLFLOW_TRACKING_URI``, default ``sqlite:///mlflow.db`` in the working
directory). A second run reuses what is still valid: the synthetic data when
its settings are unchanged, and the registered champions trained on that same
data (recorded in ``state.json``); scores, forecasts and the report are
always made afresh because they are cheap and date-dependent.

Referrals in ``workload.csv`` come from the risk of *arriving* travellers: the
entries of the last year are scored too, and their referral share per port,
nationality mix and month (:func:`riskmodel.core.operations.referral_shares`)
multiplies the arrival forecast over the whole horizon. Tonight's feed is
checked like with like (``drift.csv``). MLflow's own log lines and artifact
progress bars are hidden unless ``verbose=True``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskmodel.core.config import SHIPPED_CONFIGS, load_config
from riskmodel.core.exceptions import ConfigError, GateRefusedError, StaleForecastWarning
from riskmodel.core.progress import ProgressHook

__all__ = ["MainJobResult", "MainJobSettings", "run_main_job"]

REPO_CONFIGS = SHIPPED_CONFIGS  # the package's own (riskmodel/configs): also there when installed from a wheel


@dataclass
class MainJobResult:
    """Where the main job left its outputs."""

    out: Path
    scores: Path
    forecasts: Path
    nationality_forecasts: Path
    workload: Path
    drift: Path
    trends: Path
    report: Path
    risk_model: str
    forecast_model: str
    nationality_forecast_model: str
    seconds: float
    reused: list[str]
    #: The night's data checks in one line (:func:`~riskmodel.core.monitoring.drift.night_summary`): the verdict first.
    data_checks: str = ""


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read_state(out: Path) -> dict:
    path = out / "state.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _write_state(out: Path, state: dict) -> None:
    tmp = out / ".state.json.tmp"
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    tmp.replace(out / "state.json")


def _backtest_table(forecaster) -> pd.DataFrame:
    """Forecast accuracy per hierarchy level and model, with each MASE relative to seasonal naive.

    From the holdout window (``holdout_metrics_``: the served forecast and the simple
    peers on a window that chose and calibrated nothing); only when the history left
    no holdout window, from the selection windows, where the chosen model's score is
    optimistic. The ``window`` column says which, ``window_from`` and ``window_to``
    (``YYYY-MM-DD``) the first and last period scored there, so the report can say when.
    """
    held = forecaster.holdout_metrics_
    metrics, window, snaive_name = (held, "holdout", "peer:snaive") if len(held) else (forecaster.metrics_, "selection (optimistic)", "snaive")
    cols = [c for c in ("level", "model", "mase", "smape", "rmse", "coverage_80", "coverage_95", "msis_95") if c in metrics.columns]
    table = metrics[cols].copy()
    snaive = table[table["model"] == snaive_name].set_index("level")["mase"]
    table["mase_over_snaive"] = table["mase"] / table["level"].map(snaive)
    cv = forecaster.cv_
    scored = cv.loc[cv["holdout"].astype(bool) == (window == "holdout"), "ds"] if len(cv) else pd.Series(dtype="datetime64[ns]")
    span = [f"{d:%Y-%m-%d}" if pd.notna(d) else "" for d in (scored.min(), scored.max())]
    table.insert(0, "window", window)
    table.insert(1, "window_from", span[0])
    table.insert(2, "window_to", span[1])
    return table.sort_values(["level", "mase"]).reset_index(drop=True)


@dataclass(frozen=True)
class MainJobSettings:
    """What the main job runs on: the synthetic data, the forecast horizon and the training configs.

    Attributes
    ----------
    travellers, start, end, seed
        Synthetic data settings (:func:`riskmodel.make_crossings`).
    horizon : int, default=90
        Days of arrival forecasts.
    risk_config, forecast_config, nationality_forecast_config : str or Path
        Training configs: the risk model, the forecaster per port and the forecaster per
        nationality (their data sources are replaced by this job's log: ``crossings_path``, ``series_path``,
        ``n_travellers``, ``start``, ``end``, ``seed``; the risk config's ``data.cutoff`` and
        ``data.grace_days`` are kept); the two forecaster configs
        must be daily (``series.freq: D``): each forecast row is staffed as a day.
    operations_config : str or Path
        Throughput and referral handling per port (:class:`riskmodel.core.operations.OperationsConfig`).
    """

    travellers: int = 40_000
    start: str = "2017-01-01"
    end: str = "2023-12-31"
    seed: int = 0
    horizon: int = 90
    risk_config: str | Path = REPO_CONFIGS / "risk.yaml"
    forecast_config: str | Path = REPO_CONFIGS / "forecast_daily.yaml"
    nationality_forecast_config: str | Path = REPO_CONFIGS / "forecast_daily_nationality.yaml"
    operations_config: str | Path = REPO_CONFIGS / "operations.yaml"

    def check(self) -> None:
        """Raise ConfigError for a bad horizon or config file now, not after the steps before the one that reads it."""
        from riskmodel.core.forecasting import Forecaster
        from riskmodel.core.forecasting.config import ForecastConfig
        from riskmodel.core.forecasting.forecaster import check_calendar
        from riskmodel.core.operations import OperationsConfig, check_port_names
        from riskmodel.core.risk import RiskConfig

        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int) or self.horizon < 1:
            raise ConfigError(f"`horizon` must be an int >= 1 (days of arrival forecasts); got {self.horizon!r}.")
        try:
            last = pd.Timestamp(self.end)
        except (TypeError, ValueError):
            last = None  # a bad `end` is the generator's to refuse, naming it
        if last is not None and not pd.isna(last):
            # the forecasts start after the data's last day: a horizon past the calendar would fail at step 6, after training
            check_calendar(last.normalize(), self.horizon, "D")
        load_config(self.risk_config, RiskConfig)
        for key, path in (("forecast_config", self.forecast_config), ("nationality_forecast_config", self.nationality_forecast_config)):
            fcfg = load_config(path, ForecastConfig)
            Forecaster(**fcfg.forecaster_kwargs())  # checks every setting at construction
            # the job forecasts `horizon` days and staffs each forecast row as a day: a monthly forecaster's rows are months
            if fcfg.series.freq != "D":
                raise ConfigError(f"`{key}` {path}: `series.freq` is {fcfg.series.freq!r}, but the main job forecasts days and staffs "
                                  "each forecast row as one day; give a daily (`freq: D`) forecaster config, such as "
                                  "configs/forecast_daily.yaml.")
        # the job's data are synthetic, so its forecasts' ports are the reference table's: a misspelt port now, not at step 6
        check_port_names(load_config(self.operations_config, OperationsConfig))

    def data_key(self) -> str:
        """Digest of the data settings: earlier data and models are reused only when it is unchanged."""
        return _digest({"travellers": self.travellers, "start": self.start, "end": self.end, "seed": self.seed})


@dataclass
class _Run:
    """One run of the job: its settings, output folder, reuse state and progress line."""

    out: Path
    settings: MainJobSettings
    state: dict
    progress: Callable[[str], None]
    reused: list[str] = dataclasses.field(default_factory=list)
    counts: ProgressHook | None = None

    @property
    def data_dir(self) -> Path:
        return self.out / "data"

    def save_state(self) -> None:
        _write_state(self.out, self.state)

    def step_progress(self, m: str) -> None:
        self.progress(f"    {m}")

    @contextlib.contextmanager
    def timed(self, key: str, what: str, every: float = 15.0) -> Iterator[None]:
        """Heartbeat lines while a long step runs: elapsed seconds, and an ETA from the last run of it.

        The step's wall time is kept in ``step_seconds.json`` beside ``state.json`` (not in the
        state: new data clears the state, but not how long a step takes).
        """
        path = self.out / "step_seconds.json"
        seconds = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        last, start, stop = seconds.get(key), time.perf_counter(), threading.Event()

        def beat() -> None:
            while not stop.wait(every):
                elapsed = time.perf_counter() - start
                eta = f"; about {max(last - elapsed, 0):.0f} s left by the last run ({last:.0f} s)" if last else ""
                self.step_progress(f"still {what}: {elapsed:.0f} s{eta}")

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        seconds[key] = round(time.perf_counter() - start, 1)
        path.write_text(json.dumps(seconds, indent=1), encoding="utf-8")


@dataclass
class _RiskStep:
    name: str
    version: str
    config: object
    reliability: pd.DataFrame
    fairness: pd.DataFrame

    @property
    def uri(self) -> str:
        """The version the report names, pinned: ``@champion`` may have moved, or be answered from load's cache."""
        return f"models:/{self.name}/{self.version}"


@dataclass
class _ForecasterStep:
    name: str
    version: str
    history: pd.DataFrame
    backtest: Path

    @property
    def uri(self) -> str:
        """The version the report names, pinned: ``@champion`` may have moved, or be answered from load's cache."""
        return f"models:/{self.name}/{self.version}"


def _gated_champion(name: str) -> str | None:
    """The version behind ``name@champion``, None when the alias is unset.

    Checked as loading ``@champion`` checks it (a passed gate decision signed by riskmodel, or the
    emergency override): the steps then use this version by number, which loads unchecked.

    Raises
    ------
    ModelLoadError
        If the alias was moved past the gate by hand (and no override is given).
    """
    from riskmodel.integrations.tracking.loading import pin
    from riskmodel.integrations.tracking.registry import resolve_version

    if resolve_version(name, "champion") is None:
        return None
    return pin(f"models:/{name}@champion").rsplit("/", 1)[1]


def _file_stamp(path: Path) -> list[int]:
    """Size and modification time of a file the job wrote: another writer changes them."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _data_step(run: _Run) -> pd.DataFrame:
    """Generate the synthetic crossings, or reuse them when the data settings are unchanged."""
    from riskmodel.core.datasets import make_crossings

    s, data_dir = run.settings, run.data_dir
    if run.state.get("data") == s.data_key() and (data_dir / "crossings.parquet").exists():
        # `riskmodel synth` and `synth-sources` write to riskmodel-output/data by default: only the job's own file is reused
        stamp = _file_stamp(data_dir / "crossings.parquet")
        if run.state.setdefault("data_file", stamp) == stamp:  # a state from before the stamp was kept adopts the file once
            run.progress(f"1/7 reusing synthetic data in {data_dir}")
            run.reused.append("data")
            return pd.read_parquet(data_dir / "crossings.parquet")
        run.progress(f"    {data_dir / 'crossings.parquet'} was rewritten since this job made it (by another command?): making it again")
    run.progress(f"1/7 generating synthetic crossings for {s.travellers:,} travellers, {s.start} .. {s.end}")
    with run.timed("data", "generating synthetic crossings"):
        data = make_crossings(s.travellers, s.start, s.end, seed=s.seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("crossings", "stays", "truth"):
        tmp = data_dir / f".{name}.parquet.tmp"
        getattr(data, name).to_parquet(tmp, index=False)
        tmp.replace(data_dir / f"{name}.parquet")
    # new data: every model trained on the old data is stale
    run.state.clear()
    run.state["data"] = s.data_key()
    run.state["data_file"] = _file_stamp(data_dir / "crossings.parquet")
    run.save_state()
    return data.crossings


def _risk_step(run: _Run, crossings: pd.DataFrame) -> _RiskStep:
    """Train, register and gate the risk model, or reuse the champion trained on this data."""
    from riskmodel.apps.pipelines import risk as risk_pipeline
    from riskmodel.core.risk import RiskConfig
    from riskmodel.integrations.tracking.registry import resolve_version

    s = run.settings
    rcfg = load_config(s.risk_config, RiskConfig)
    rcfg = dataclasses.replace(rcfg, data=dataclasses.replace(rcfg.data, n_travellers=s.travellers, start=s.start, end=s.end, seed=s.seed))
    name = rcfg.tracking.registered_name
    key = _digest({"data": s.data_key(), "config": Path(s.risk_config).read_text(encoding="utf-8")})
    holdout = run.out / "risk_holdout.json"
    champion = resolve_version(name, "champion")
    if run.state.get("risk") == key and champion is not None and holdout.exists() and run.state.get("risk_files") == str(champion.version):
        run.progress(f"2/7 reusing the risk model {name} v{champion.version}{_reuse_note(run.state.get('risk_refused'))}")
        saved = json.loads(holdout.read_text(encoding="utf-8"))
        reliability, fairness = pd.DataFrame(saved["reliability"]), pd.DataFrame(saved["fairness"])
        run.reused.append("risk model")
    else:
        run.progress("2/7 training the overstay-risk model")
        with run.timed("risk", "training the risk model"):
            outcome = risk_pipeline.train(rcfg, crossings=crossings, log=True, progress=run.step_progress, on_progress=run.counts)
        # the version just trained: another trainer may have registered a newer challenger meanwhile
        decision = risk_pipeline.promote(rcfg, crossings=crossings, version=outcome.logged.version)
        run.progress(f"    gate: {'promoted to champion' if decision.passed else 'NOT promoted'}: {'; '.join(decision.reasons)}")
        reliability, fairness = outcome.result.reliability, outcome.result.fairness.table
        champion = resolve_version(name, "champion")
        if not decision.passed and champion is not None:
            reliability, fairness = _champion_evaluation(run, name, champion.version, (reliability, fairness))
        holdout.write_text(
            json.dumps({"reliability": reliability.to_dict("list"), "fairness": fairness.astype(object).where(fairness.notna(), None).to_dict("list")}, default=str),
            encoding="utf-8",
        )
        run.state["risk"] = key
        run.state["risk_files"] = None if champion is None else str(champion.version)
        run.state["risk_refused"] = None if decision.passed else str(outcome.logged.version if outcome.logged else "")
        run.save_state()
    version = _gated_champion(name)
    if version is None:
        raise GateRefusedError(
            f"no champion for `{name}`: the first model did not pass the gate (its bounds or the fairness audit); "
            "its reasons are on the model version's gate.reasons tag in MLflow. Fix: train on more data "
            "(e.g. --travellers 40000) or change the gate/fairness policy in the risk config (--risk-config)."
        )
    return _RiskStep(name=name, version=version, config=rcfg, reliability=reliability, fairness=fairness)


def _reuse_note(refused: str | None) -> str:
    """How the reused champion relates to this data: trained on it, or kept when the model trained on it was refused."""
    if refused is None:
        return " trained on this data"
    return f" (the challenger v{refused} trained on this data was refused by its gate; the champion is kept)"


def _champion_evaluation(run: _Run, name: str, version, challenger):
    """The champion's logged reliability and fairness tables: the report describes the model that scores.

    Empty tables (the ``challenger``'s columns) when the champion logged none."""
    from riskmodel.integrations.tracking.risk import logged_evaluation

    tables = logged_evaluation(name, "champion")
    if tables is None:
        # the refused challenger's tables would describe another model under the champion's name
        run.step_progress(f"the champion v{version} logged no evaluation tables: the report shows none (the refused challenger's "
                          "describe another model)")
        return tuple(pd.DataFrame(columns=t.columns) for t in challenger)
    run.step_progress(f"the report keeps the reliability and fairness tables of the champion v{version}, which still scores")
    return tables


def _forecaster_step(run: _Run, step: str, hierarchy: str, config: str | Path, label: str) -> _ForecasterStep:
    """Train, register and gate the forecaster of one hierarchy, or reuse it when trained on this data.

    ``history*.parquet`` and ``forecast_backtest*.csv`` (what the report shows) always describe the
    champion, which serves the forecasts: the challenger's when it is promoted, else the logged
    champion's; with no champion nothing is written and GateRefusedError is raised.
    """
    from riskmodel.apps.pipelines import forecast as forecast_pipeline
    from riskmodel.core.forecasting.config import ForecastConfig
    from riskmodel.integrations.tracking.registry import resolve_version

    out, state = run.out, run.state
    fcfg = load_config(config, ForecastConfig)
    fcfg = dataclasses.replace(fcfg, data=dataclasses.replace(fcfg.data, series_path=None, crossings_path=str(run.data_dir / "crossings.parquet")))
    name = fcfg.tracking.registered_name
    key = _digest({"data": run.settings.data_key(), "config": Path(config).read_text(encoding="utf-8")})
    suffix = "" if hierarchy == "port" else f"_{hierarchy}"
    history_path, backtest_path = out / f"history{suffix}.parquet", out / f"forecast_backtest{suffix}.csv"
    state_key = "forecast" if hierarchy == "port" else f"forecast_{hierarchy}"
    champion = resolve_version(name, "champion")
    reusable = state.get(state_key) == key and state.get(f"{state_key}_files") == (champion and str(champion.version))
    if reusable and champion is not None and history_path.exists() and backtest_path.exists():
        run.progress(f"{step} reusing the {label} {name} v{champion.version}{_reuse_note(state.get(f'{state_key}_refused'))}")
        run.reused.append(label)
    else:
        run.progress(f"{step} training the arrival forecaster per {hierarchy} (backtests choose the model)")
        with run.timed(state_key, f"fitting and backtesting the {label}"):
            fout = forecast_pipeline.train(fcfg, log=True, progress=run.step_progress, on_progress=run.counts)
        # the version just trained, whose history and backtest are written: not whatever @challenger is by now
        decision = forecast_pipeline.promote(fcfg, version=fout.logged.version)
        run.progress(f"    gate: {'promoted to champion' if decision.passed else 'NOT promoted'}: {'; '.join(decision.reasons)}")
        champion = resolve_version(name, "champion")
        if champion is not None:
            served = fout.forecaster if decision.passed else _logged_champion(run, name, champion.version)
            _write_forecaster_files(served, history_path, backtest_path)
            state[state_key] = key
            state[f"{state_key}_files"] = str(champion.version)
            state[f"{state_key}_refused"] = None if decision.passed else str(getattr(fout.logged, "version", ""))
            run.save_state()
    version = None if champion is None else _gated_champion(name)
    if version is None:
        raise GateRefusedError(
            f"no champion for `{name}`: the {label} did not pass its gate; its reasons are on the model "
            "version's gate.reasons tag in MLflow. Fix: train on more data or change the gate in its config."
        )
    return _ForecasterStep(name=name, version=version, history=pd.read_parquet(history_path), backtest=backtest_path)


def _logged_champion(run: _Run, name: str, version) -> object:
    """The champion as logged (verified on load): the report describes it, not a refused challenger."""
    from riskmodel.api import load

    run.step_progress(f"the report keeps the accuracy and history of the champion v{version}, which still serves the forecasts")
    return load(f"models:/{name}/{version}")  # the version named, not whatever the alias holds by now


def _write_forecaster_files(forecaster, history_path: Path, backtest_path: Path) -> None:
    """The history and the accuracy table the report reads, written each to a temporary file, then moved."""
    for path, frame, write in (
        (history_path, forecaster.history_[["unique_id", "ds", "y"]], lambda f, p: f.to_parquet(p, index=False)),
        (backtest_path, _backtest_table(forecaster), lambda f, p: f.to_csv(p, index=False)),
    ):
        tmp = path.with_name(f".{path.name}.tmp")
        write(frame, tmp)
        tmp.replace(path)


@dataclass
class _Scored:
    """The scoring step's tables: the in-country population's scores, the referral shares of
    recent arrivals and tonight's like-with-like data checks."""

    in_country: pd.DataFrame
    n_in_country: int
    shares: pd.DataFrame
    drift: pd.DataFrame


#: Days of recent entries scored for the referral share of arrivals: a year holds every season.
RECENT_ENTRY_DAYS = 365


def _score_step(run: _Run, crossings: pd.DataFrame, risk: _RiskStep) -> _Scored:
    """Score everyone in the country and the last year's entries; check tonight's feed."""
    from riskmodel.api import score, score_file
    from riskmodel.core.features import build_features
    from riskmodel.core.monitoring.drift import night_summary, nightly_checks
    from riskmodel.core.operations import referral_shares

    run.progress("5/7 scoring everyone currently in the country")
    run.step_progress(f"building the point-in-time features of {int((crossings['direction'] == 'entry').sum()):,} stays")
    with run.timed("features", "building features"):
        feats = build_features(crossings, validate=False)
    in_country = feats[feats["exit_time"].isna()].reset_index(drop=True)
    run.step_progress(f"scoring the {len(in_country):,} stays of people in the country")
    in_path = run.out / "in_country.parquet"
    in_country.to_parquet(in_path, index=False)
    uri = risk.uri
    score_file(
        in_path, run.out / "scores.parquet", model=uri, passthrough=("entry_port", "nationality", "region"),
        overwrite=True, progress=run.counts or False, purpose="main job: in-country population",
    )
    last = feats["entry_time"].max().normalize()
    recent = feats[feats["entry_time"] > last - pd.Timedelta(days=RECENT_ENTRY_DAYS)]
    run.step_progress(f"scoring the last {RECENT_ENTRY_DAYS} days' entries ({len(recent):,}) for the referral share of arrivals")
    recent_scored = score(recent, model=uri, reasons=0, passthrough=["entry_port", "nationality", "entry_time"],
                          purpose="main job: referral share of recent arrivals")
    drift = nightly_checks(feats, last)
    drift.to_csv(run.out / "drift.csv", index=False)
    bad = drift[drift["verdict"] != "green"]
    run.step_progress(f"data checks of {last:%Y-%m-%d}: {night_summary(drift)} ({len(bad)} of {len(drift)} checks not green)")
    return _Scored(in_country=pd.read_parquet(run.out / "scores.parquet"), n_in_country=len(in_country),
                   shares=referral_shares(recent_scored, window_days=RECENT_ENTRY_DAYS), drift=drift)


def _forecast_step(run: _Run, ports: _ForecasterStep, nats: _ForecasterStep, scored: _Scored) -> dict[str, pd.DataFrame]:
    """Arrival forecasts per port and per nationality, and the expected workload per port and day."""
    from riskmodel.core.operations import OperationsConfig, expected_workload

    frames = _served_forecasts(run, ports, nats)
    ops = load_config(run.settings.operations_config, OperationsConfig)
    # the CSV holds exactly what the report is drawn from (people to two decimals, shares to four)
    workload = expected_workload(frames["forecasts.parquet"], scored.shares, ops)
    shares = [c for c in workload.columns if c.startswith("referral_share")]
    workload = workload.round({**dict.fromkeys(workload.select_dtypes("float").columns, 2), **dict.fromkeys(shares, 4)})
    workload.to_csv(run.out / "workload.csv", index=False)
    frames["workload.csv"] = workload
    return frames


def _served_forecasts(run: _Run, ports: _ForecasterStep, nats: _ForecasterStep) -> dict[str, pd.DataFrame]:
    """The arrival forecasts per port and per nationality of the versions the steps name (the report's), written to
    ``forecasts*.parquet``."""
    from riskmodel.api import forecast

    horizon = run.settings.horizon
    run.progress(f"6/7 forecasting arrivals for the next {horizon} days per port and per nationality")
    with run.timed("forecasts", "forecasting"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StaleForecastWarning)
        frames = {
            "forecasts.parquet": forecast(horizon, model=ports.uri),
            "forecasts_nationality.parquet": forecast(horizon, model=nats.uri),
        }
    for w in caught:  # the others as they came; a stale outlook once for the job, in its own words
        if not issubclass(w.category, StaleForecastWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if any(issubclass(w.category, StaleForecastWarning) for w in caught):
        first = min(pd.Timestamp(f["ds"].min()) for f in frames.values())
        warnings.warn(
            f"the job's data ends {first - pd.Timedelta(days=1):%Y-%m-%d} and its forecasts start {first:%Y-%m-%d}, before "
            f"today ({dt.date.today():%Y-%m-%d}): the report's outlook and scores are as of the data's end, not of today "
            "(the job's data are synthetic and end then; the report says so first). Fix: for an outlook of now, train a "
            "forecaster on real crossings up to yesterday (`riskmodel train forecast`) and forecast from it (`riskmodel "
            "forecast`); this job runs on synthetic data only (its risk config's crossings_path is replaced by its own log), "
            "and --end moves that data's end.", StaleForecastWarning, stacklevel=2)
    for file, frame in frames.items():
        frame.to_parquet(run.out / file, index=False)
    return frames


def _trends_step(run: _Run, ports: _ForecasterStep, nats: _ForecasterStep) -> pd.DataFrame:
    """Trend signals of every port, every nationality and all arrivals, by calendar month (``trends.csv``).

    They depend on the history only, so they are reused while the data is unchanged.
    """
    from riskmodel.core.forecasting.trends import monthly_trends

    path = run.out / "trends.csv"
    if run.state.get("trends") == run.settings.data_key() and path.exists():
        run.reused.append("trend signals")
        return pd.read_csv(path, parse_dates=["last_month"])
    run.step_progress("trend signals per port and nationality: the last 3 complete months against a forecast made before them")
    frames = []
    with run.timed("trends", "checking the trends"):
        for step, keep in ((ports, lambda u: u.str.startswith("port/") | (u == "total")), (nats, lambda u: u.str.startswith("nationality/"))):
            history = step.history[keep(step.history["unique_id"].astype(str))]
            frames.append(monthly_trends(history, on_progress=run.counts))
    trends = pd.concat(frames, ignore_index=True)
    # the CSV holds exactly what the report shows: arrivals whole, changes to four decimals
    growth = [c for c in trends.columns if c.startswith(("growth_", "vs_pre_break_"))]
    trends = trends.round({"recent_3m": 0, **dict.fromkeys(growth, 4)})
    trends.to_csv(path, index=False)
    run.state["trends"] = run.settings.data_key()
    run.save_state()
    return trends


def _open_break_facts(steps: dict[str, _ForecasterStep]) -> dict[str, str]:
    """A report line per champion forecaster whose history ends inside a break (its ``open_breaks_``), with the fix."""
    from riskmodel.api import load
    from riskmodel.core.forecasting.breaks import open_breaks_message

    facts = {}
    for label, step in steps.items():
        table = getattr(load(step.uri), "open_breaks_", None)
        if table is not None and len(table):
            facts[f"forecaster, {label}: history ends inside a break"] = open_breaks_message(table)
    return facts


def _as_of_caution(settings: MainJobSettings, first: pd.Timestamp, today: dt.date) -> dict[str, str]:
    """The report's first caution: its figures are the synthetic generator's, as of the data's end (the report is drawn
    as of that night, so its own "not tomorrow" caution cannot fire; said here in the job's words)."""
    s = settings
    text = (f"every figure in this report comes from the synthetic generator ({s.travellers:,} travellers, {s.start} .. "
            f"{s.end}, seed {s.seed}), not from real crossings: read it as a demonstration, not as a plan for a port")
    if first.date() <= today:  # the report's "tomorrow" is the data's, not the reader's
        text += (f'; its "tomorrow" is {first:%A %d %B %Y}, the day after the data end, not the day after this report was '
                 f"made ({today:%Y-%m-%d})")
    return {"Synthetic data, as of its end": text + "."}


def _arrival_correlation(ports: _ForecasterStep, horizon: int):
    """How the port forecasts' errors moved together in the champion's backtest: between days within a week and within
    the horizon, and between ports on a day (the report's ranges of sums are simulated at it)."""
    from riskmodel.api import load
    from riskmodel.core.operations import error_correlation

    return error_correlation(load(ports.uri).cv_, blocks=tuple(sorted({7, horizon})))


def _report_step(run: _Run, risk: _RiskStep, forecasters: tuple[_ForecasterStep, _ForecasterStep], tables: dict[str, pd.DataFrame], scored: _Scored) -> Path:
    """The duty report from everything the earlier steps made."""
    from riskmodel.apps.report import ReportInputs, write_report
    from riskmodel.core.operations import OperationsConfig

    s, (ports, nats) = run.settings, forecasters
    run.progress("7/7 writing the report")
    backtest = pd.concat(
        [pd.read_csv(ports.backtest).assign(hierarchy="port"), pd.read_csv(nats.backtest).assign(hierarchy="nationality")],
        ignore_index=True,
    )
    backtest = backtest[["hierarchy", *[c for c in backtest.columns if c != "hierarchy"]]]
    fc = tables["forecasts.parquet"]
    facts = {
        "synthetic data": f"{s.travellers:,} travellers, {s.start} .. {s.end}, seed {s.seed}",
        "stays in the country": f"{scored.n_in_country:,}",
        "risk model": f"{risk.name} v{risk.version} (champion)",
        "forecaster, ports": f"{ports.name} v{ports.version} (champion)",
        "forecaster, nationalities": f"{nats.name} v{nats.version} (champion)",
        "forecast horizon": f"{s.horizon} days from {fc['ds'].min():%Y-%m-%d}",
        "reused from the last run": ", ".join(run.reused) or "nothing",
    }
    # said twice on purpose: first in the report (before the numbers it makes less sound), and in what was run
    cautions = {**_as_of_caution(s, pd.Timestamp(fc["ds"].min()), dt.date.today()),
                **_open_break_facts({"ports": ports, "nationalities": nats})}
    facts.update(cautions)
    from riskmodel.core.risk.fairness import COMPARISONS

    fairness_cfg = risk.config.fairness
    inputs = ReportInputs(
        scored=scored.in_country, forecasts=fc, history=ports.history,
        nationality_forecasts=tables["forecasts_nationality.parquet"], nationality_history=nats.history,
        reliability=risk.reliability, fairness=risk.fairness,
        fairness_bounds={bound: getattr(fairness_cfg, bound) for _, bound, *_ in COMPARISONS},
        fairness_confidence=fairness_cfg.confidence,
        backtest=backtest, workload=tables["workload.csv"], facts=facts, drift=scored.drift,
        arrival_correlation=_arrival_correlation(ports, s.horizon),
        shift_hours=load_config(s.operations_config, OperationsConfig).shift_hours,  # what the workload step counted in
        trends=tables["trends.csv"], cautions=cautions,
    )
    with run.timed("report", "drawing the report"):
        # the job plays the night at its data's end (as the data checks do): "tomorrow" is the forecasts' first day
        return write_report(run.out / "report.html", inputs, today=(fc["ds"].min() - pd.Timedelta(days=1)).date())


def run_main_job(
    out: str | Path = "riskmodel-output",
    settings: MainJobSettings | None = None,
    *,
    fresh: bool = False,
    progress: Callable[[str], None] = lambda _m: None,
    on_progress: ProgressHook | None = None,
    verbose: bool = False,
    **overrides,
) -> MainJobResult:
    """Run the main job end to end.

    Parameters
    ----------
    out : str or Path, default="riskmodel-output"
        Output folder: ``data/``, ``scores.parquet`` (+ summary), ``forecasts.parquet``
        (ports), ``forecasts_nationality.parquet``, ``workload.csv`` (every day of the horizon,
        :data:`riskmodel.core.operations.WORKLOAD_COLUMNS`), ``trends.csv`` (trend signals per
        port and nationality, :data:`riskmodel.core.forecasting.trends.MONTHLY_TREND_COLUMNS`),
        ``drift.csv``, ``report.html``, ``state.json``.
    settings : MainJobSettings, optional
        Data, horizon and configs; default ``MainJobSettings()``.
    fresh : bool, default=False
        Redo everything instead of reusing valid earlier results.
    progress : callable
        Receives one line per step.
    on_progress : callable, optional
        ``on_progress(what, done, total)`` (:mod:`riskmodel.core.progress`): counts within the
        long steps (risk training stages, backtest windows, rows scored).
    verbose : bool, default=False
        Let MLflow's own log lines and artifact progress bars through (hidden by default: they
        drown the job's progress).
    **overrides
        Fields of :class:`MainJobSettings` to replace (``travellers=8000, start="2018-01-01"``).

    Returns
    -------
    MainJobResult

    Raises
    ------
    ConfigError
        If an override is not a field of :class:`MainJobSettings`, or a setting or
        config file is refused (:meth:`MainJobSettings.check`), before any step runs.
    """
    started = time.perf_counter()
    settings = _with_overrides(settings or MainJobSettings(), overrides)
    settings.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(out=out, settings=settings, state={} if fresh else _read_state(out), progress=progress, counts=on_progress)
    with _mlflow_chatter(verbose):
        crossings = _data_step(run)
        risk = _risk_step(run, crossings)
        ports = _forecaster_step(run, "3/7", "port", settings.forecast_config, "forecaster")
        nats = _forecaster_step(run, "4/7", "nationality", settings.nationality_forecast_config, "nationality forecaster")
        scored = _score_step(run, crossings, risk)
        tables = _forecast_step(run, ports, nats, scored)
        tables["trends.csv"] = _trends_step(run, ports, nats)
        report = _report_step(run, risk, (ports, nats), tables, scored)
    from riskmodel.core.monitoring.drift import night_summary

    return MainJobResult(
        out=out, scores=out / "scores.parquet", forecasts=out / "forecasts.parquet",
        nationality_forecasts=out / "forecasts_nationality.parquet", workload=out / "workload.csv", drift=out / "drift.csv", trends=out / "trends.csv",
        report=report, risk_model=risk.uri,
        forecast_model=ports.uri, nationality_forecast_model=nats.uri,
        seconds=time.perf_counter() - started, reused=run.reused, data_checks=night_summary(scored.drift),
    )


#: MLflow's environment switches: its artifact progress bars, the run and experiment links it
#: prints, and the level its loggers get when mlflow is first imported (which happens inside the
#: job, in the tracking integration).
_MLFLOW_QUIET_ENV = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "MLFLOW_LOGGING_LEVEL": "WARNING", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
#: Loggers of MLflow and of the database migrations it runs when it creates a local store.
_MLFLOW_LOGGERS = ("mlflow", "alembic")
#: Lines MLflow prints itself, past its loggers and switches, when it registers a model.
MLFLOW_PRINTED = re.compile(r"^(Successfully registered model '|Created version '|Registered model '.*' already exists)")


class _DropLines(io.TextIOBase):
    """A text stream that passes every line on to ``target`` except those matching ``pattern``.

    Text is held until its line ends (``\n`` or ``\r``), then passed on or dropped whole. On a
    terminal a line passed on first clears the line it lands on: a progress line updated in place
    there (:class:`riskmodel.apps.cli.progress.Progress`) is redrawn after it rather than run into.
    """

    def __init__(self, target, pattern: re.Pattern):
        self.target, self.pattern, self.held = target, pattern, ""
        self.lock = threading.Lock()
        self.clear = "\r\x1b[K" if self.isatty() else ""

    def write(self, text: str) -> int:
        with self.lock:
            *lines, self.held = re.split(r"(?<=[\n\r])", self.held + text)
            for line in lines:
                if not self.pattern.search(line):
                    self.target.write(self.clear + line)
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str | None:  # type: ignore[override]
        return getattr(self.target, "encoding", None)

    def writable(self) -> bool:
        return True

    def close_over(self) -> None:
        """Pass on what is held (a last line without its end) and flush."""
        with self.lock:
            if self.held and not self.pattern.search(self.held):
                self.target.write(self.held)
            self.held = ""
        self.target.flush()


@contextlib.contextmanager
def _mlflow_chatter(verbose: bool) -> Iterator[None]:
    """Hide MLflow's INFO lines, artifact progress bars and printed notices for the duration (unless ``verbose``).

    Through logger names, MLflow's environment switches and a filter of the lines it prints
    itself on ``sys.stdout``/``sys.stderr`` ("Successfully registered model ...", "Created
    version ..."): this layer never imports mlflow. All are restored afterwards, so a caller's own
    settings survive the job. The job's progress lines go to the stream its printer was given
    (:class:`riskmodel.apps.cli.progress.Progress` keeps the stderr it was made with), not through
    the filter.
    """
    if verbose:
        yield
        return
    loggers = [logging.getLogger(name) for name in _MLFLOW_LOGGERS]
    levels = [lg.level for lg in loggers]
    env = {k: os.environ.get(k) for k in _MLFLOW_QUIET_ENV}
    streams = sys.stdout, sys.stderr
    os.environ.update(_MLFLOW_QUIET_ENV)
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    sys.stdout, sys.stderr = (_DropLines(stream, MLFLOW_PRINTED) for stream in streams)
    try:
        yield
    finally:
        filters = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = streams
        for f in filters:
            if isinstance(f, _DropLines):
                f.close_over()
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _with_overrides(settings: MainJobSettings, overrides: dict) -> MainJobSettings:
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(MainJobSettings)})
    if unknown:
        raise ConfigError(
            f"run_main_job got unknown setting(s) {unknown}; expected fields of MainJobSettings: "
            f"{[f.name for f in dataclasses.fields(MainJobSettings)]}. Fix: correct the name."
        )
    return dataclasses.replace(settings, **overrides)
