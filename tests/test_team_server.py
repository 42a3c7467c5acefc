"""A real team `mlflow server` on 127.0.0.1: train and promote both models over HTTP, then score and forecast by alias."""

from __future__ import annotations

import json
import urllib.request

import pandas as pd
import pytest

from .conftest import REPO, mlflow_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    with mlflow_server(root) as url:
        yield url, root


def test_main_job_on_the_team_server(server, tmp_path, monkeypatch):
    url, root = server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.chdir(tmp_path)
    from riskmodel import forecast, score
    from riskmodel.apps.pipelines.main_job import run_main_job

    # 12,000 travellers: the size and the data owner's smaller-sample fairness policy of tests/test_main_job.py
    text = (REPO / "configs" / "risk.yaml").read_text(encoding="utf-8")
    small = text.replace("min_support: 500", "min_support: 100").replace("min_positives: 30", "min_positives: 5")
    (tmp_path / "risk_small.yaml").write_text(small.replace("max_calibration_ratio: 1.41", "max_calibration_ratio: 5.0"), encoding="utf-8")
    res = run_main_job(tmp_path / "out", travellers=12000, start="2018-01-01", risk_config=tmp_path / "risk_small.yaml")
    assert res.risk_model == "models:/overstay-risk/1" and res.forecast_model == "models:/arrival-forecast-daily/1"
    assert res.nationality_forecast_model == "models:/arrival-forecast-daily-nationality/1"
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()  # nothing went to a local store
    assert any((root / "artifacts").rglob("model.txt"))  # the server holds the artifacts

    _the_ui_lists_the_artifacts(url)

    rows = pd.read_parquet(tmp_path / "out" / "in_country.parquet").head(50)
    scored = score(rows, model="models:/overstay-risk@champion", reasons=1)
    stored = pd.read_parquet(res.scores).set_index("stay_id").loc[rows["stay_id"]]
    pd.testing.assert_series_equal(scored["probability"].reset_index(drop=True), stored["probability"].reset_index(drop=True), check_names=False)
    fc = forecast(30, model="models:/arrival-forecast-daily@champion")
    assert fc["unique_id"].str.startswith("port/").any() and fc.groupby("unique_id").size().eq(30).all()
    fc = forecast(30, model="models:/arrival-forecast-daily-nationality@champion")
    assert fc["unique_id"].str.startswith("nationality/").any() and fc.groupby("unique_id").size().eq(30).all()


def _the_ui_lists_the_artifacts(url: str) -> None:
    """The server's UI lists a run's and a logged model's artifacts of riskmodel's experiments (riskmodel+mlflow-artifacts:)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    mv = client.get_model_version("overstay-risk", "1")
    model_id = mv.source.split("/")[-1]
    assert client.get_logged_model(model_id).artifact_location.startswith("riskmodel+mlflow-artifacts:")

    def ajax(path: str) -> dict:
        with urllib.request.urlopen(f"{url}/ajax-api/2.0/mlflow/{path}", timeout=60) as resp:
            return json.loads(resp.read())

    run_files = {f["path"] for f in ajax(f"artifacts/list?run_id={mv.run_id}")["files"]}
    assert "model_card.md" in run_files, run_files
    model_files = {f["path"] for f in ajax(f"logged-models/{model_id}/artifacts/directories")["files"]}
    assert {"MLmodel", "manifest.json"} <= model_files, model_files


def test_mlflow_loaders_refuse_a_planted_loader_on_the_team_server(tmp_path, monkeypatch):
    """On a team server (artifacts proxied, riskmodel+mlflow-artifacts:) MLflow's own loaders must also get a model's files
    through riskmodel's scheme, verified: whoever can write the server's artifact folder plants MLflow's cloudpickle
    flavour in MLmodel, and every URI form of mlflow.pyfunc.load_model refuses it before the payload runs. Only a local
    store was tested: an MLflow that found a model's files over HTTP another way (a download URI the server resolves, a
    repository of its own for models:/m-<id>) would run the payload, and no test would have noticed."""
    import secrets

    from mlflow import MlflowClient

    from .conftest import log_promoted_risk_model
    from .test_mlflow_loaders import _plant, _refusal, _uri_forms

    (tmp_path / "server").mkdir()
    with mlflow_server(tmp_path / "server") as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        monkeypatch.setenv("RISKMODEL_SIGNING_KEY", secrets.token_hex(32))  # no key file in the home folder
        monkeypatch.chdir(tmp_path)
        name, logged, _, _ = log_promoted_risk_model()
        model_id = MlflowClient().get_model_version(name, logged.version).source.split("/")[-1]
        [stored] = [p.parent for p in (tmp_path / "server" / "artifacts").rglob("MLmodel") if p.parent.parent.name == model_id]
        _plant(stored, "cloudpickle", tmp_path / "marker")
        for form, uri in _uri_forms(name, logged).items():
            assert "content of MLmodel changed" in _refusal(uri), form
            assert not (tmp_path / "marker").exists(), f"{form}: the planted code ran"
