"""The shape of the package holds: layers, no cycles, no imports of training/, functions a reader can hold.

Each check is also shown refusing a bad example, so a check that cannot fail would be caught here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.architecture import MAX_LINES, MAX_PARAMS, cycles, import_graph, long_functions, measure

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    # the copy under test comes first on sys.path (the editable install's finder only answers after it)
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "riskmodel", root / "riskmodel", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


def test_import_contracts_are_kept():
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(r"Contracts: \d+ kept, 0 broken", run.stdout)


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/schema.py", "import riskmodel.apps.report", "Layers"),
        ("core/features.py", "def _late():\n    from riskmodel.integrations.tracking import registry", "Layers"),
        ("core/stays.py", "import mlflow", "The core imports no outside system"),
        ("integrations/batch/jobs.py", "from riskmodel.integrations import spark", "Integrations never import each other"),
        ("apps/report.py", "import mlflow", "Only the tracking integration imports MLflow"),
    ],
)
def test_import_contracts_refuse_a_wrong_import(tmp_path, module, line, contract):
    root = _copy(tmp_path)
    _append(root / "riskmodel" / module, line)
    run = _lint(root)
    assert run.returncode != 0
    assert re.search(rf"{re.escape(contract)}.*BROKEN", run.stdout), run.stdout[-3000:]


def test_package_has_no_import_cycles_and_never_imports_training():
    figures = measure(ROOT)
    details = figures.pop("_details")
    assert figures["import_cycles"] == 0, details["cycles"]
    assert figures["library_imports_training"] == 0, details["training"]


def test_no_function_is_too_long_or_takes_too_many_parameters():
    details = measure(ROOT)["_details"]
    assert details["long"] == [], f"functions over {MAX_LINES} lines of code"
    assert details["params"] == [], f"functions over {MAX_PARAMS} parameters"


def test_cycle_check_sees_imports_inside_functions(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    import pkg.a\n")
    (pkg / "c.py").write_text("import training.risk\n")
    graph = import_graph(pkg)
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
    assert "training" in graph["pkg.c"]
    (pkg / "b.py").write_text("def f():\n    return 1\n")
    assert cycles(import_graph(pkg)) == []


def test_function_size_check_counts_code_not_docstrings(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    doc = '    """' + "\n".join(["doc"] * 50) + '"""\n'
    ok = tmp_path / "ok.py"
    ok.write_text(f"def f(self, a, b, c, d, e, f, g, h, i, j):\n{doc}    # why\n{body}\n")
    bad = tmp_path / "bad.py"
    bad.write_text(f"def f(a, b, c, d, e, f, g, h, i, j, k):\n{body}\n    return x0\n")
    assert long_functions([ok]) == ([], [])
    too_long, too_many = long_functions([bad])
    assert len(too_long) == 1 and f"({MAX_LINES + 1} lines)" in too_long[0]
    assert len(too_many) == 1 and "(11 parameters)" in too_many[0]


def test_architecture_md_names_only_modules_that_exist():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(riskmodel/[\w/]*(?:\.py)?)", text))
    assert len(named) >= 20
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert missing == []
    for folder in ("riskmodel/core/", "riskmodel/integrations/", "riskmodel/apps/"):
        assert folder in text


def test_architecture_md_names_every_module_of_the_core_and_the_integrations():
    """'What lives where' is where a newcomer looks a module up: every module and package directly under
    riskmodel/core/ and riskmodel/integrations/ has a row (the Spark integration is four modules, not spark.py alone)."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| [a-z]+ \| `(riskmodel/[\w/]*(?:\.py)?)`", text, flags=re.M))
    modules = {
        f"{p.relative_to(ROOT).as_posix()}{'/' if p.is_dir() else ''}"
        for layer in ("core", "integrations")
        for p in (ROOT / "riskmodel" / layer).iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert sorted(modules - rows) == []


def test_training_is_not_installed_and_the_forecasting_package_has_its_own_name():
    import riskmodel
    import riskmodel.core.forecasting as forecasting

    assert callable(riskmodel.forecast) and not callable(forecasting)
    assert 'include = ["riskmodel*"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
