"""Promotion is atomic in the tracking store itself: a lease in the registry, not a lock on one machine.

Two promotions run at once in separate processes, each with its own TMPDIR and its own spelling of
the store's URI (a relative and an absolute sqlite path; 127.0.0.1 and localhost for a real
`mlflow server` whose store is PostgreSQL when it is installed). The worse model's gate is the slower one, so a race
(both read "no champion", the slower writes last) would leave the worse model as champion.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from riskmodel.core import audit
from riskmodel.core.exceptions import ConfigError, PromotionBusyError
from riskmodel.integrations.tracking import lease, registry, signing

from .conftest import mlflow_server

pytestmark = pytest.mark.slow  # starts processes and an MLflow server

WORKER = Path(__file__).with_name("promote_worker.py")
WORSE, BETTER = 0.80, 0.85


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One sqlite store for the tests below (a new store costs seconds of migrations); each test its own model."""
    root = tmp_path_factory.mktemp("leases")
    uri = f"sqlite:///{root / 'race.db'}"
    signing.store_key(uri, create=True)
    return root, uri


@pytest.fixture
def in_store(store, monkeypatch):
    root, uri = store
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return root, uri


def _versions(name: str) -> dict[float, str]:
    """Two versions of ``name`` in the current store: roc_auc 0.80 and 0.85."""
    client = registry.configure()
    mlflow.set_experiment("promotion-lease")
    client.create_registered_model(name)
    versions = {}
    for auc in (WORSE, BETTER):
        with mlflow.start_run() as run:
            mlflow.log_metric("roc_auc", auc)
        versions[auc] = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id).version
    return versions


def _race(tmp: Path, name: str, versions: dict[float, str], uris: tuple[str, str], cwd: Path) -> list[dict]:
    """Promote both versions at once from two processes with different TMPDIR and URI spellings."""
    procs, outs = [], []
    for i, (auc, delay) in enumerate(((WORSE, 2.0), (BETTER, 0.5))):
        tmpdir = tmp / f"tmp{i}"
        tmpdir.mkdir(exist_ok=True)
        ready, out = tmp / f"ready{i}", tmp / f"out{i}.json"
        ready.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
        env = {**os.environ, "MLFLOW_TRACKING_URI": uris[i], "TMPDIR": str(tmpdir)}
        procs.append(subprocess.Popen([sys.executable, str(WORKER), name, str(versions[auc]), str(delay), str(ready), str(tmp / "go"), str(out)],
                                      cwd=cwd, env=env, stderr=open(tmp / f"worker{i}.log", "w")))
        outs.append((ready, out))
    deadline = time.time() + 120
    while not all(r.exists() for r, _ in outs) and time.time() < deadline and all(p.poll() is None for p in procs):
        time.sleep(0.05)
    (tmp / "go").touch()
    for i, p in enumerate(procs):
        assert p.wait(180) == 0, (tmp / f"worker{i}.log").read_text()[-3000:]
    (tmp / "go").unlink()
    return [json.loads(out.read_text()) for _, out in outs]


def _check(name: str, versions: dict[float, str], results: list[dict]) -> None:
    """The better model is champion; both decisions are recorded; the later one compared with the earlier one's outcome."""
    client = MlflowClient()
    assert str(client.get_model_version_by_alias(name, "champion").version) == str(versions[BETTER])
    tags = {auc: client.get_model_version(name, str(v)).tags for auc, v in versions.items()}
    assert {t["gate.decision"] for t in tags.values()} <= {"promoted", "refused"}
    assert tags[BETTER]["gate.decision"] == "promoted"
    # one went first against no champion; the other compared with the champion as it was inside the lease
    compared = sorted(t["gate.compared_with"] for t in tags.values())
    if tags[WORSE]["gate.decision"] == "promoted":  # the worse went first, the better beat it
        assert tags[WORSE]["gate.compared_with"] == "none" and tags[BETTER]["gate.compared_with"] == str(versions[WORSE])
    else:  # the better went first, the worse was refused against it
        assert tags[BETTER]["gate.compared_with"] == "none" and tags[WORSE]["gate.compared_with"] == str(versions[BETTER])
    assert len(compared) == 2 and tags[WORSE]["gate.lease"] != tags[BETTER]["gate.lease"]
    assert {r["version"]: r["passed"] for r in results} == {str(v): tags[a]["gate.decision"] == "promoted" for a, v in versions.items()}
    with pytest.raises(MlflowException, match="not found|does not exist"):
        client.get_registered_model(lease.lease_name(name))  # released
    # and both decisions are in the audit log the two processes share
    events = [(r["model_version"], r["decision"], r["compared_with"]) for r in audit.read() if r["event"] == "promotion" and r["model_name"] == name]
    assert sorted(events) == sorted((str(v), tags[a]["gate.decision"], tags[a]["gate.compared_with"]) for a, v in versions.items())


def test_promotions_from_different_tmpdirs_and_uri_spellings_of_one_sqlite_store(in_store, tmp_path):
    root, absolute = in_store
    versions = _versions("race-sqlite")
    results = _race(tmp_path, "race-sqlite", versions, ("sqlite:///race.db", absolute), cwd=root)
    _check("race-sqlite", versions, results)


@pytest.fixture
def server_backend():
    """A PostgreSQL database for the server's store when PostgreSQL is installed (else the server's own sqlite)."""
    try:
        from riskmodel.integrations.database.server import postgres_bin_dir, temporary_postgres
    except ImportError:  # the `db` extra is not installed
        postgres_bin_dir = None
    if postgres_bin_dir is None or postgres_bin_dir() is None:
        yield None
        return
    with temporary_postgres() as url:
        yield url


def test_promotions_through_a_real_mlflow_server_on_postgresql(tmp_path, monkeypatch, server_backend):
    """Two URI spellings of one `mlflow server` (127.0.0.1 and localhost) whose store is PostgreSQL: HTTP and a PostgreSQL-backed store at once."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the server store's signing key
    with mlflow_server(tmp_path, backend=server_backend) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        versions = _versions("race-model")
        port = url.rsplit(":", 1)[1]
        results = _race(tmp_path, "race-model", versions, (url, f"http://localhost:{port}"), cwd=tmp_path)
        _check("race-model", versions, results)
    assert (tmp_path / "server.db").exists() == (server_backend is None)  # the store was PostgreSQL when installed


def _gate(passed=True):
    def decide(cand, champ):
        from types import SimpleNamespace

        return SimpleNamespace(passed=passed, reasons=["test gate"])

    return decide


def test_a_stale_lease_is_broken_after_its_ttl_and_recorded(in_store):
    versions = _versions("m")
    client = MlflowClient()
    # a promotion that crashed while holding the lease
    client.create_registered_model(lease.lease_name("m"), tags={"lease.token": "deadbeef", "lease.ttl_seconds": "1"})
    started = time.monotonic()
    d = registry.promote("m", _gate(), version=versions[BETTER], lease_ttl=1, wait=30)
    assert d.passed and time.monotonic() - started >= 1.0  # it waited the lease's ttl before breaking it
    broken = client.get_registered_model(lease.lease_name("m") + ".broken-deadbeef").tags
    assert broken["lease.token"] == "deadbeef" and "saw it unchanged" in broken["lease.broken_by"]
    assert str(client.get_model_version_by_alias("m", "champion").version) == str(versions[BETTER])


def test_a_held_lease_makes_the_other_promotion_wait_then_give_up(in_store):
    versions = _versions("held")
    client = MlflowClient()
    held = lease.acquire(client, "held", ttl=60, wait=0)
    with pytest.raises(PromotionBusyError, match=r"another promotion of `held` has held the lease `held\.promotion-lease`"):
        registry.promote("held", _gate(), version=versions[BETTER], lease_ttl=60, wait=0.5)
    assert "champion" not in client.get_registered_model("held").aliases
    assert "gate.decision" not in client.get_model_version("held", str(versions[BETTER])).tags
    held.release()
    assert registry.promote("held", _gate(), version=versions[BETTER], lease_ttl=60, wait=0).passed


def test_a_promotion_that_outlived_its_lease_moves_nothing(in_store):
    versions = _versions("slow")

    def slow(cand, champ):
        time.sleep(0.9)  # past ttl * (1 - SAFETY) of a 1 s lease: a waiter could break it any moment now
        return _gate()(cand, champ)

    with pytest.raises(PromotionBusyError, match="too\\s+little to move the alias safely"):
        registry.promote("slow", slow, version=versions[BETTER], lease_ttl=1, wait=0)
    client = MlflowClient()
    assert "champion" not in client.get_registered_model("slow").aliases
    assert "gate.decision" not in client.get_model_version("slow", str(versions[BETTER])).tags
    # its lease was not simply deleted (a waiter may be breaking it): it is recorded as broken by its own holder
    names = [m.name for m in client.search_registered_models()]
    tombs = [n for n in names if n.startswith(lease.lease_name("slow") + ".broken-")]
    assert lease.lease_name("slow") not in names and len(tombs) == 1
    assert client.get_registered_model(tombs[0]).tags["lease.broken_by"].startswith("its own holder")


def test_lease_settings_are_checked(in_store):
    with pytest.raises(ConfigError, match="`lease_ttl` must be > 0"):
        registry.promote("m", _gate(), lease_ttl=0)
    with pytest.raises(ConfigError, match="`wait` >= 0 seconds; got lease_ttl=60, wait=-1"):
        registry.promote("m", _gate(), lease_ttl=60, wait=-1)


def _valid_in_unity_catalog(name: str) -> bool:
    """Unity Catalog's rule for a model name: catalog.schema.model, each part <= 255 characters with no period,
    space, slash or control character (Databricks SQL reference, "Names")."""
    parts = name.split(".")
    bad = {".", " ", "/", "\x7f", *map(chr, range(0x20))}
    return len(parts) == 3 and all(0 < len(p) <= 255 and not (set(p) & bad) for p in parts)


def test_a_unity_catalog_model_gets_a_lease_name_unity_catalog_accepts():
    model = "main.immigration.overstay_risk"
    assert _valid_in_unity_catalog(model)
    name = lease.lease_name(model)
    assert _valid_in_unity_catalog(name) and name.startswith("main.immigration.") and name != model
    assert _valid_in_unity_catalog(lease.broken_name(name, "0123456789abcdef"))
    # MLflow's own registry keeps the name leases have always had, so an older riskmodel sharing the store takes the same one
    assert lease.lease_name("overstay-risk") == "overstay-risk.promotion-lease"
    assert lease.broken_name("overstay-risk.promotion-lease", "ab") == "overstay-risk.promotion-lease.broken-ab"


def test_a_stale_lease_of_a_three_part_name_is_broken_under_a_name_of_the_same_form(in_store):
    model = "main.immigration.stale"
    versions = _versions(model)
    client = MlflowClient()
    client.create_registered_model(lease.lease_name(model), tags={"lease.token": "deadbeef", "lease.ttl_seconds": "1"})
    assert registry.promote(model, _gate(), version=versions[BETTER], lease_ttl=1, wait=30).passed
    names = [m.name for m in client.search_registered_models()]
    assert lease.lease_name(model) not in names and "main.immigration.stale_promotion_lease_broken_deadbeef" in names


def test_a_lease_broken_and_taken_by_another_promotion_is_no_longer_held(in_store):
    client = MlflowClient()
    held = lease.acquire(client, "taken", ttl=60, wait=0)
    held.check()  # still ours, with its whole ttl left
    # a waiter judged it stale, broke it and took the lease itself
    assert lease._break(client, held.name, held.token, by="a test")
    other = lease.acquire(client, "taken", ttl=60, wait=0)
    assert other.token != held.token
    with pytest.raises(PromotionBusyError, match=f"no longer held by this promotion \\(its holder is now {other.token}\\)"):
        held.check()
    other.check()
    other.release()


@pytest.mark.parametrize(("ttl", "wait"), [(float("nan"), 1.0), (60.0, float("nan"))])
def test_a_nan_lease_setting_is_refused(ttl, wait):
    with pytest.raises(ConfigError, match="`lease_ttl` must be > 0 and `wait` >= 0"):
        lease.check_settings(ttl, wait)
