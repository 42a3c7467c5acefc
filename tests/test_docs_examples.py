"""The examples the documentation shows run as written: the public API's docstrings and the README's python blocks.

HOUSE_STYLE asks for "short runnable snippets" in every public docstring's Examples; nothing ran them,
so one could print another result than the one it shows (numpy 2 prints ``np.True_``, not ``True``).
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys

import pytest

import riskmodel

from .conftest import REPO

pytestmark = pytest.mark.slow

_NEEDS_SPARK = {"forecast_spark", "score_spark"}  # pyspark is an extra, absent from the pandas-3 venv


def _public_doctests() -> list[doctest.DocTest]:
    """Every docstring example of a name in ``riskmodel.__all__`` (methods included), with its module's globals,
    as ``pytest --doctest-modules`` would run it."""
    found: dict[str, doctest.DocTest] = {}
    for name in sorted(set(riskmodel.__all__) - _NEEDS_SPARK):
        obj = getattr(riskmodel, name)
        module = sys.modules.get(getattr(obj, "__module__", "") or "", riskmodel)
        for test in doctest.DocTestFinder().find(obj, name, module=module, globs=vars(module).copy()):
            if test.examples:
                found.setdefault(f"{test.filename}:{test.lineno}", test)
    return list(found.values())


_TESTS = _public_doctests()


def test_the_public_api_shows_examples():
    # the score, forecast, build_stays and make_crossings docstrings hold examples (HOUSE_STYLE's Examples section)
    names = {t.name.split(".")[0] for t in _TESTS}
    assert {"score", "forecast", "build_stays", "make_crossings", "Forecaster", "RiskModel"} <= names, names


@pytest.mark.parametrize("test", _TESTS, ids=[t.name for t in _TESTS])
def test_docstring_example_runs_as_written(test):
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(test, out=report.append, clear_globs=True)
    assert result.failed == 0, "".join(report)


def _readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.S)


# blocks that need what the reader was told to make first: the champions of `riskmodel run` (models:/...) or a Spark session
_README_BLOCKS = [b for b in _readme_python_blocks() if "models:/" not in b and "pyspark" not in b]


def test_readme_runs_every_python_block_it_can():
    # the tour, the forecaster and the trainer: none needs a store, so all three run here
    assert len(_README_BLOCKS) >= 3, [b.splitlines()[0] for b in _README_BLOCKS]


@pytest.mark.parametrize("block", _README_BLOCKS, ids=[b.splitlines()[0][:60] for b in _README_BLOCKS])
def test_readme_python_block_runs_as_written(block, tmp_path):
    """Copied into a fresh interpreter in a folder laid out as the clone the README speaks to (its ``configs/``)."""
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    env = {**os.environ, "PYTHONPATH": str(REPO), "RISKMODEL_AUDIT_LOG": str(tmp_path / "audit.jsonl")}
    run = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
