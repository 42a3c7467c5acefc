"""``riskmodel monitor`` and ``riskmodel synth-sources`` (riskmodel/apps/cli/monitor.py), through their own parser."""

from __future__ import annotations

import pandas as pd
import pytest

from riskmodel.apps.cli import build_parser, main
from riskmodel.apps.cli.monitor import SOURCE_FILES
from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import ConfigError


def _run(*argv: str) -> int:
    """The command's own function, so a library error reaches the test as it is raised."""
    args = build_parser().parse_args(list(argv))
    return args.func(args)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    data = make_crossings(1_500, "2021-01-01", "2023-12-31", seed=3)
    for name in ("crossings", "stays", "truth"):
        getattr(data, name).to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_synth_sources_then_monitor(data_dir, tmp_path, capsys):
    assert _run("synth-sources", "--data", str(data_dir)) == 0
    for name in SOURCE_FILES:
        assert (data_dir / f"{name}.parquet").exists()
    out = tmp_path / "lists"
    code = _run("monitor", "--as-of", "2023-09-30", "--data", str(data_dir), "--out", str(out), "--train-months", "9",
                "--save-model", str(tmp_path / "model"), "--quiet")
    assert code == 0
    printed = capsys.readouterr().out
    assert "as of 2023-09-30:" in printed and "unlinked records by reason" in printed
    overstays = pd.read_csv(out / "overstays.csv")
    at_risk = pd.read_csv(out / "at_risk.csv")
    assert list(overstays.columns) == ["office", "stay_id", "traveller_id", "nationality", "visa_type", "entry_time",
                                       "permit_end_now", "days_overstayed"]
    assert len(overstays) > 0 and (overstays["days_overstayed"] >= 1).all()
    assert at_risk["days_to_permit_end"].between(0, 13).all()
    # a saved model gives the same lists without refitting
    again = tmp_path / "again"
    assert _run("monitor", "--as-of", "2023-09-30", "--data", str(data_dir), "--out", str(again), "--model", str(tmp_path / "model"),
                "--quiet") == 0
    pd.testing.assert_frame_equal(pd.read_csv(again / "at_risk.csv"), at_risk)


def test_monitor_names_the_missing_files(tmp_path):
    with pytest.raises(ConfigError, match=r"lacks \['crossings.parquet', 'presence_reports.parquet'"):
        _run("monitor", "--as-of", "2023-09-30", "--data", str(tmp_path))
    with pytest.raises(ConfigError, match="give `--data DIR` \\(Parquet files\\) or `--database"):
        _run("monitor", "--as-of", "2023-09-30")


def test_monitor_is_a_riskmodel_command_with_a_one_paragraph_error(tmp_path, capsys):
    assert main(["monitor", "--as-of", "2023-09-30", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "crossings.parquet" in err
