"""The mutation harness (benchmarks/_mutants.py) still points at the code it mutates.

A refactor that moves a guard leaves its mutant "not applicable": the guard is then silently
no longer checked by the harness. Each mutant's snippet must occur exactly once in its file.
"""

from __future__ import annotations

from benchmarks._mutants import MUTANTS

from .conftest import REPO


def test_every_mutant_applies_to_exactly_one_place():
    stale = {m.id: (REPO / m.path).read_text(encoding="utf-8").count(m.old) for m in MUTANTS}
    assert len(stale) == len(MUTANTS) > 50
    assert {k: n for k, n in stale.items() if n != 1} == {}
