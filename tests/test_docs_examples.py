"""The examples the documentation shows run as written: the docstrings of the public API.

HOUSE_STYLE asks for "short runnable snippets" in every public docstring's Examples; nothing ran them,
so one could print another result than the one it shows (numpy 2 prints ``np.True_``, not ``True``).
"""

from __future__ import annotations

import doctest
import sys

import pytest

import riskmodel

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
