"""Run benchmarks and record their figures in ``benchmarks/RESULTS.md``.

Usage: ``python -m benchmarks [NAME ...]`` (every benchmark when no name is given).
Prints one ``key: value`` line per figure and rewrites that benchmark's section of
RESULTS.md, with the machine, library versions and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.metadata
import os
import platform
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
_SKIP = {"__init__", "__main__", "common"}
_OPS = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, ">": lambda a, b: a > b}
_VERSIONS = ("riskmodel", "numpy", "pandas", "lightgbm", "scikit-learn", "statsmodels", "mlflow", "pyarrow")


def available() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in _SKIP and not p.stem.startswith("_"))


def _versions() -> str:
    parts = []
    for name in _VERSIONS:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(parts)


def _machine() -> str:
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # psutil is a core dependency; this only guards odd installs
        mem = "? GiB"
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}"


def _verdict(key, value, bars) -> str:
    if key not in bars:
        return ""
    op, threshold = bars[key]
    try:
        ok = _OPS[op](float(value), float(threshold))
    except (TypeError, ValueError):
        return f"bar {op} {threshold}: not comparable"
    return f"bar {op} {threshold}: {'met' if ok else 'NOT MET'}"


#: The value shown for a bar whose figure a run did not produce (an optional extra missing, a data folder absent).
NOT_MEASURED = "not measured"


def _unmeasured(figures: dict, bars: dict) -> dict[str, str]:
    """Each bar whose figure the run did not produce, with its verdict: shown and counted, never dropped.

    A bar left out of the table read as met: a forecast run without pyspark (or without the BPS folder)
    lost its Spark (or every BPS) bar with no word.
    """
    return {key: f"bar {op} {threshold}: NOT MEASURED" for key, (op, threshold) in bars.items() if key not in figures}


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_section(name: str, figures: dict, bars: dict, about: str, seconds: float) -> None:
    """Replace (or append) the ``## name`` section of RESULTS.md."""
    lines = [f"## {name}", ""]
    if about:
        lines += [about.strip(), ""]
    lines += [
        f"Run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {_machine()} ({seconds:.0f} s).  ",
        f"Versions: {_versions()}.",
        "",
        "| figure | value | bar |",
        "|---|---|---|",
    ]
    for key, value in figures.items():
        lines.append(f"| `{key}` | {_fmt(value)} | {_verdict(key, value, bars)} |")
    for key, verdict in _unmeasured(figures, bars).items():
        lines.append(f"| `{key}` | {NOT_MEASURED} | {verdict} |")
    section = "\n".join(lines) + "\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\nWritten by `python -m benchmarks`; do not edit by hand.\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {available()})")
    parser.add_argument("--no-write", action="store_true", help="print figures without touching RESULTS.md")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {available()}")
    failed = unmeasured = 0
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"# {name}", flush=True)
        start = time.perf_counter()
        figures = module.run()
        seconds = time.perf_counter() - start
        bars = getattr(module, "BARS", {})
        for key, value in figures.items():
            verdict = _verdict(key, value, bars)
            failed += "NOT MET" in verdict
            print(f"{key}: {_fmt(value)}" + (f"    ({verdict})" if verdict else ""), flush=True)
        for key, verdict in _unmeasured(figures, bars).items():
            unmeasured += 1
            print(f"{key}: {NOT_MEASURED}    ({verdict})", flush=True)
        if not args.no_write:
            write_section(name, figures, bars, getattr(module, "ABOUT", ""), seconds)
    if failed:
        print(f"{failed} bar(s) not met", file=sys.stderr)
    if unmeasured:
        print(f"{unmeasured} bar(s) not measured", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
