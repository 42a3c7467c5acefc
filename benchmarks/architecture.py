"""The shape of the package, measured: import cycles, imports of ``training/``, long functions.

``import_cycles`` counts strongly connected groups of ``riskmodel`` modules in the
static import graph, imports inside functions included (a package counts as
importing what its ``__init__`` imports, and ``from pkg import mod`` as importing
``pkg.mod``). ``library_imports_training`` counts modules of ``riskmodel/`` that
import the ``training`` scripts. ``functions_over_80_lines`` counts library
functions with more than 80 lines of code (docstring, blank and comment lines
excluded); ``functions_over_10_params`` those with more than 10 parameters
(``self``/``cls`` and ``__init__`` aside). tests/test_architecture.py holds the
same bars and shows each check failing on a bad example.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80
MAX_PARAMS = 10

ABOUT = __doc__.split("\n\n", 1)[1]
BARS = {
    "import_cycles": ("<=", 0),
    "library_imports_training": ("<=", 0),
    "functions_over_80_lines": ("<=", 0),
    "functions_over_10_params": ("<=", 0),
}


def modules(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``package_dir`` (a package folder)."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imported(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    base = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                target = ".".join(parts + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Edges between the package's modules (and to top-level names outside it, kept as they are)."""
    mods = modules(package_dir)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        edges = set()
        for target in _imported(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py"):
            resolved = target
            while resolved and resolved not in mods and "." in resolved:
                resolved = resolved.rpartition(".")[0]
            if resolved in mods and resolved != name:
                edges.add(resolved)
            elif resolved not in mods:
                edges.add(target.split(".")[0])
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start] & graph.keys())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child] & graph.keys()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def _code_lines(source_lines: list[str], node: ast.AST) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body:
        return 0
    lines = source_lines[body[0].lineno - 1 : node.end_lineno]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + (a.vararg is not None) + (a.kwarg is not None)
    first = (a.posonlyargs + a.args)[:1]
    return n - (1 if first and first[0].arg in ("self", "cls") else 0)


def long_functions(files: Iterable[Path]) -> tuple[list[str], list[str]]:
    """(functions over MAX_LINES lines of code, functions over MAX_PARAMS parameters) as ``file:line name (n)``."""
    too_long, too_many = [], []
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            where = f"{path}:{node.lineno} {node.name}"
            if (n := _code_lines(lines, node)) > MAX_LINES:
                too_long.append(f"{where} ({n} lines)")
            if node.name != "__init__" and (p := _params(node)) > MAX_PARAMS:
                too_many.append(f"{where} ({p} parameters)")
    return too_long, too_many


def measure(root: Path = ROOT) -> dict[str, object]:
    package = root / "riskmodel"
    graph = import_graph(package)
    found = cycles(graph)
    training = sorted(name for name, edges in graph.items() if "training" in edges)
    too_long, too_many = long_functions(sorted(package.rglob("*.py")))
    return {
        "import_cycles": len(found),
        "library_imports_training": len(training),
        "functions_over_80_lines": len(too_long),
        "functions_over_10_params": len(too_many),
        "modules": len(graph),
        "_details": {"cycles": found, "training": training, "long": too_long, "params": too_many},
    }


def run() -> dict[str, object]:
    figures = measure()
    details = figures.pop("_details")
    for key, items in details.items():
        for item in items:
            print(f"  {key}: {item}", file=sys.stderr)
    return figures
