"""Every example runs as a user would run it (the BPS one skips without ../shared/data)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import BPS_DATA, REPO

pytestmark = pytest.mark.slow

EXAMPLES = {
    "service_score.py": [],
    "nightly_batch.py": ["{tmp}/nightly"],
    "counter_demand.py": [],
    "retrain_risk.py": ["--travellers", "3000"],
    "forecast_ports.py": ["--travellers", "4000"],
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs(name, tmp_path):
    args = [a.format(tmp=tmp_path) for a in EXAMPLES[name]]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "RISKMODEL_AUDIT_LOG": str(tmp_path / "audit.jsonl")}
    run = subprocess.run([sys.executable, str(REPO / "examples" / name), *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip(), "the example printed nothing"


def test_bps_example_runs(tmp_path):
    script = REPO / "examples" / "forecast_bps.py"
    if not script.exists():
        pytest.fail("examples/forecast_bps.py is missing")
    if not (BPS_DATA / "bps_arrivals_by_port_2017_2023.csv").is_file():
        pytest.skip(f"real BPS series not found in {BPS_DATA}")
    run = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "MASE" in run.stdout
