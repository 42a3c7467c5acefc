"""Shared seeded fixtures, built from the package's own synthetic generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmodel.datasets import make_crossings

REPO = Path(__file__).resolve().parents[1]
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
def _isolated_mlflow(tmp_path, monkeypatch):
    """No test writes to a tracking store outside its own temporary folder."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
