"""Shared seeded fixtures, built from the package's own synthetic generator."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.core.config import load_config
from riskmodel.core.features import training_table
from riskmodel.core.risk.config import RiskConfig
from riskmodel.core.risk.model import RiskModel, time_split

from riskmodel.core.datasets import make_crossings

REPO = Path(__file__).resolve().parents[1]
#: Counters of the property-based tests (tests/test_fuzz.py), printed at the end of the run.
FUZZ: dict[str, int] = {"examples": 0, "unexpected": 0}

#: The real BPS series live beside the repository, never inside it.
BPS_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def small_data():
    """About 15k stays over 2018-2019: enough for contract and logic tests."""
    return make_crossings(3_000, "2018-01-01", "2019-12-31", seed=11)


@pytest.fixture(scope="session")
def bps_data_dir() -> Path:
    if not (BPS_DATA / "bps_arrivals_by_port_2017_2023.csv").is_file():
        pytest.skip(f"real BPS series not found in {BPS_DATA}")
    return BPS_DATA


@pytest.fixture(autouse=True)
def _isolated_stores(tmp_path, monkeypatch):
    """No test writes to a tracking store or audit log outside its own temporary folder."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("RISKMODEL_AUDIT_LOG", str(tmp_path / "audit.jsonl"))


@pytest.fixture(scope="session")
def fitted(tmp_path_factory):
    """A small model trained from the shipped config, saved to a folder, and held-out rows."""
    from riskmodel.core.datasets import make_crossings

    cfg = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    table = training_table(make_crossings(6_000, "2017-01-01", "2023-12-31", seed=4).crossings)
    parts = time_split(table, "entry_time", cfg.model.splits)
    model = RiskModel.from_config(cfg.model)
    model.num_boost_round = 150
    model.fit(parts["train"], valid=parts["valid"], calib=parts["calib"])
    folder = model.save(tmp_path_factory.mktemp("model") / "overstay-risk")
    return model, folder, parts["test"].reset_index(drop=True)



def one_more_stay(crossings: pd.DataFrame, visa: str, stay_id: str, entered: pd.Timestamp, permit_days: int, left_days: int):
    """``crossings`` with one more stay of a new traveller: a copy of the first ``visa`` entry and its exit, moved."""
    direction, visas = crossings["direction"].astype(str), crossings["visa_type"].astype(str)
    entry = crossings[(direction == "entry") & (visas == visa)].iloc[[0]].copy()
    after = (crossings["traveller_id"] == entry["traveller_id"].iloc[0]) & (crossings["timestamp"] > entry["timestamp"].iloc[0])
    leave = crossings[after & (direction == "exit")].iloc[[0]].copy()
    for row, cid, days in ((entry, stay_id, 0), (leave, stay_id[:-1] + "9", left_days)):
        row["crossing_id"], row["traveller_id"], row["document_id"] = cid, "T" + stay_id[1:], "D" + stay_id[1:]
        row["timestamp"], row["permit_end"] = entered + pd.Timedelta(days=days), entered + pd.Timedelta(days=permit_days - 1)
    return pd.concat([crossings, entry, leave]).sort_values("timestamp", kind="stable").reset_index(drop=True)


def use_local_store(mp: pytest.MonkeyPatch, root: Path) -> None:
    """Point tracking, the audit log and the working directory at ``root``; no signing key from the
    environment (the store's own key is used) and no ungated override."""
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.setenv("RISKMODEL_AUDIT_LOG", str(root / "audit.jsonl"))
    mp.delenv("RISKMODEL_SIGNING_KEY", raising=False)
    mp.delenv("RISKMODEL_ALLOW_UNGATED", raising=False)
    mp.chdir(root)


def log_promoted_risk_model(challenger: bool = False):
    """Log a small risk model (the shipped config, a smaller-sample fairness policy for a small log)
    into the current store and promote it to champion through the gate; with ``challenger``, log the
    same model again as a version that is never promoted.

    Returns ``(name, champion_run, challenger_run or None, 20 feature rows)``."""
    import dataclasses

    from riskmodel.core.risk import train_risk_model
    from riskmodel.integrations.tracking.risk import log_risk_run, promote_risk

    cfg = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    cfg = dataclasses.replace(cfg, fairness=dataclasses.replace(cfg.fairness, min_support=100, min_positives=5, max_calibration_ratio=5.0))
    table = training_table(make_crossings(3_000, "2017-01-01", "2023-12-31", seed=31).crossings)
    result = train_risk_model(table, cfg.model, fairness=cfg.fairness, baselines=False)
    first = log_risk_run(result, cfg, table=table)
    assert promote_risk(cfg.tracking.registered_name, cfg.gate, config=cfg).passed  # the small-sample policy it was audited under
    second = log_risk_run(result, cfg, table=table) if challenger else None
    return cfg.tracking.registered_name, first, second, table.head(20).reset_index(drop=True)


def run_command(*argv: str) -> int:
    """A ``riskmodel`` command's own function, through its parser: a library error reaches the test as raised."""
    from riskmodel.apps.cli import build_parser

    args = build_parser().parse_args(list(argv))
    return args.func(args)


def write_synthetic_log(folder: Path, travellers: int, start: str = "2021-01-01", end: str = "2023-12-31", seed: int = 3) -> Path:
    """A ``riskmodel synth`` folder (crossings, stays, truth as Parquet) of ``travellers`` travellers."""
    data = make_crossings(travellers, start, end, seed=seed)
    for name in ("crossings", "stays", "truth"):
        getattr(data, name).to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def wait_for_http(url: str, proc: subprocess.Popen, log: Path, seconds: int, what: str) -> None:
    """Poll ``url`` until it answers; fail the test with the log's tail if ``proc`` exits or time runs out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if proc.poll() is not None:
                pytest.fail(f"{what} exited: " + log.read_text()[-2000:])
            time.sleep(1)
    pytest.fail(f"{what} did not answer {url.rsplit('/', 1)[-1]} within {seconds} s")


def stop(proc: subprocess.Popen, seconds: int = 60) -> None:
    """Stop a server a test started in its own session: SIGTERM, then SIGKILL to its group after ``seconds``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(root: Path, backend: str | None = None):
    """A real `mlflow server` on 127.0.0.1 (a free port), its store in ``root``; yields its URL, stops it after."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend or f"sqlite:///{root / 'server.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"), start_new_session=True,
        env={**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/health", proc, root / "server.log", 120, "mlflow server")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def postgres_url():
    """A real PostgreSQL server on 127.0.0.1 with a temporary data directory, one per test module."""
    from riskmodel.integrations.database.server import postgres_bin_dir, temporary_postgres

    if postgres_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/test installs Debian's postgresql when it can)")
    try:
        server = temporary_postgres()
        url = server.__enter__()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"PostgreSQL could not be started: {exc}")
    yield url
    server.__exit__(None, None, None)


def pytest_terminal_summary(terminalreporter):
    if FUZZ["examples"]:
        parts = ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(FUZZ.items()) if k.startswith("examples."))
        terminalreporter.write_line(f"fuzz: {FUZZ['examples']} generated examples run ({parts}), {FUZZ['unexpected']} unexpected exceptions")


def seasonal_panel(k: int, seed: int, base: float):
    """36 monthly points per series from 2017-01, strongly seasonal (log amplitude 0.6, noise 0.05):
    the months swing far more than the years differ. Series i has level ``base * (i + 1)``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    ds = pd.date_range("2017-01-01", periods=36, freq="MS")
    frames = []
    for i in range(k):
        z = np.log(base * (i + 1)) + 0.6 * np.sin(2 * np.pi * (np.arange(36) + i) / 12) + rng.normal(0, 0.05, 36)
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": np.round(np.exp(z))}))
    return pd.concat(frames, ignore_index=True)
