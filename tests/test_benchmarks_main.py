"""`python -m benchmarks` (benchmarks/__main__.py) shows every bar of a benchmark, also one whose figure a run did not produce."""

from __future__ import annotations

import sys
import types

import pytest

import benchmarks.__main__ as bm


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """A benchmark with three bars whose run (as without pyspark and without the BPS folder) produced one figure."""
    module = types.ModuleType("benchmarks.fake")
    module.BARS = {"fc_synth_nyepi_ratio": ("<", 0.05), "fc_spark_cov95_gap": ("<=", 0.02), "fc_bps2019_cov95": (">=", 0.88)}
    module.ABOUT = "a run without pyspark and without ../shared/data"
    module.run = lambda: {"fc_synth_nyepi_ratio": 0.0013}
    monkeypatch.setitem(sys.modules, "benchmarks.fake", module)
    monkeypatch.setattr(bm, "available", lambda: ["fake"])
    monkeypatch.setattr(bm, "RESULTS", tmp_path / "RESULTS.md")
    return module


def test_a_bar_whose_figure_the_run_did_not_produce_is_shown_not_measured_and_counted(fake, capsys):
    # a run without pyspark left fc_spark_cov95_gap out, and the section read as if every bar were met
    assert bm.main(["fake"]) == 0
    text = bm.RESULTS.read_text(encoding="utf-8")
    assert "| `fc_synth_nyepi_ratio` | 0.0013 | bar < 0.05: met |" in text
    assert "| `fc_spark_cov95_gap` | not measured | bar <= 0.02: NOT MEASURED |" in text
    assert "| `fc_bps2019_cov95` | not measured | bar >= 0.88: NOT MEASURED |" in text
    out, err = capsys.readouterr()
    assert "fc_spark_cov95_gap: not measured    (bar <= 0.02: NOT MEASURED)" in out
    assert "2 bar(s) not measured" in err
