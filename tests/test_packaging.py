"""riskmodel installed from its wheel, not from the clone: what the package ships must be enough to run its defaults.

The main job (``riskmodel run``) and ``riskmodel monitor`` read the shipped configs by default; a service or a batch
machine installs the wheel, with no clone beside it. Built and installed for real (``pip wheel``, ``pip install
--target``), then imported from a folder that holds nothing of the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ("risk.yaml", "forecast.yaml", "forecast_daily.yaml", "forecast_daily_nationality.yaml", "operations.yaml")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this checkout and installed (without its dependencies, which this interpreter has) into a
    folder of its own; returns (wheel, target)."""
    tmp = tmp_path_factory.mktemp("wheel")
    # built from a copy of what a build reads: setuptools leaves build/ and *.egg-info in the tree it builds, and a later
    # build takes build/'s earlier files along (a file no longer declared would still be shipped)
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "riskmodel", source / "riskmodel", ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("riskmodel-*.whl")
    target = tmp / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    return wheel, target


@pytest.mark.slow
def test_the_wheel_ships_the_default_configs_as_the_repository_holds_them(installed):
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        missing = [n for n in SHIPPED if f"riskmodel/configs/{n}" not in names]
        assert not missing, f"the wheel lacks riskmodel/configs/{missing}"
        for n in SHIPPED:  # one set of defaults: the clone's configs/ and the wheel's are the same bytes
            assert z.read(f"riskmodel/configs/{n}") == (REPO / "configs" / n).read_bytes(), n


@pytest.mark.slow
def test_the_main_job_and_the_monitor_find_their_default_configs_in_an_installed_wheel(installed, tmp_path):
    """``riskmodel run`` from a wheel failed at once: "config file `<site-packages>/../configs/risk.yaml` does not
    exist" (the defaults were looked up beside a clone's riskmodel/ folder, and configs/ was not package data)."""
    _, target = installed
    probe = (
        "import riskmodel\n"
        "from pathlib import Path\n"
        "from riskmodel.apps.pipelines.main_job import MainJobSettings\n"
        "from riskmodel.apps.cli import monitor\n"
        "s = MainJobSettings(travellers=300)\n"
        "s.check()\n"  # loads every default config into its class, as the job's first step does
        "paths = [s.risk_config, s.forecast_config, s.nationality_forecast_config, s.operations_config, monitor.RISK_CONFIG]\n"
        "print(riskmodel.__file__)\n"
        "print(*(Path(p).resolve() for p in paths), sep='\\n')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    package, *paths = run.stdout.split()
    assert Path(package).is_relative_to(target), package  # the installed copy was imported, not the clone
    assert all(Path(p).is_relative_to(target / "riskmodel" / "configs") for p in paths), paths


def test_a_missing_config_named_as_a_shipped_one_points_to_the_shipped_copy(tmp_path, monkeypatch):
    """`riskmodel train risk` in a folder with no configs/ (a wheel's user): the default `configs/risk.yaml` is
    missing, and the error said only "pass the path of a YAML file", not that riskmodel ships one to start from."""
    from riskmodel.core.config import SHIPPED_CONFIGS, load_config
    from riskmodel.core.exceptions import ConfigError
    from riskmodel.core.risk import RiskConfig

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config("configs/risk.yaml", RiskConfig)
    assert str(SHIPPED_CONFIGS / "risk.yaml") in str(err.value), str(err.value)
    assert "configs/risk.yaml" in str(err.value) and "copy" in str(err.value)
    with pytest.raises(ConfigError) as other:  # a name riskmodel ships nothing as: no shipped copy offered
        load_config("configs/mine.yaml", RiskConfig)
    assert str(SHIPPED_CONFIGS) not in str(other.value), str(other.value)
