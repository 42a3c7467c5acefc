"""The command line: the main job, synth and validate, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from riskmodel.apps.cli import cli_reference, main
from riskmodel.apps.cli.exits import EXIT_INPUT


def test_synth_then_validate(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["synth", "--travellers", "300", "--start", "2019-01-01", "--end", "2019-06-30", "--out", str(out), "--quiet"]) == 0
    crossings = pd.read_parquet(out / "crossings.parquet")
    assert len(crossings) > 300
    assert main(["validate", str(out / "crossings.parquet")]) == 0
    assert main(["validate", str(out / "stays.parquet"), "--table", "stays"]) == 0
    assert "meet the stays contract" in capsys.readouterr().out


def test_synth_hides_risk_by_default_and_not_with_no_hidden_risk(tmp_path):
    """The data from the shell follow the generator's default; ``--no-hidden-risk`` gives the older data."""
    args = ["synth", "--travellers", "300", "--start", "2019-01-01", "--end", "2019-06-30", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "default")]) == 0
    assert main(args + ["--out", str(tmp_path / "visible"), "--no-hidden-risk"]) == 0
    default, visible = (pd.read_parquet(tmp_path / name / "truth.parquet") for name in ("default", "visible"))
    assert default["latent"].abs().gt(0.01).mean() > 0.5  # a latent propensity per traveller
    # without hidden risk nothing is hidden: no latent, and the observable oracle is the full one
    assert visible["latent"].eq(0).all() and (visible["p_full"] == visible["p_observable"]).all()


def test_validate_reports_problems_and_fails(tmp_path, capsys, small_data):
    broken = small_data.crossings.head(200).drop(columns=["port"])
    path = tmp_path / "broken.csv"
    broken.to_csv(path, index=False)
    assert main(["validate", str(path)]) == 1
    assert "column `port`: required column is missing" in capsys.readouterr().out


def test_missing_input_is_a_clean_error(tmp_path, capsys):
    # exit 3 (cannot read the input) since the CLI separates it from bad usage (2)
    assert main(["validate", str(tmp_path / "nothing.parquet")]) == EXIT_INPUT
    assert "does not exist" in capsys.readouterr().err


def test_module_entry_point_has_every_command():
    run = subprocess.run([sys.executable, "-m", "riskmodel.apps.cli", "--help"], capture_output=True, text=True, check=True)
    for command in ("run", "synth", "validate", "train", "score", "forecast", "evaluate-scores"):
        assert command in run.stdout


def test_cli_reference_covers_every_command():
    text = cli_reference()
    for command in ("riskmodel run", "riskmodel synth", "riskmodel validate", "riskmodel train"):
        assert f"### `{command}`" in text


def test_validate_accepts_a_valid_stays_csv_and_reads_ids_as_text(tmp_path, capsys, small_data):
    from riskmodel.apps.cli.command import read_table

    stays = small_data.stays.head(300).copy()
    path = tmp_path / "stays.csv"
    stays.to_csv(path, index=False)
    assert main(["validate", str(path), "--table", "stays"]) == 0
    assert "meet the stays contract" in capsys.readouterr().out
    ids = tmp_path / "ids.csv"
    ids.write_text("traveller_id,crossing_id\n00123,1\n0123,2\n123,3\n", encoding="utf-8")
    assert list(read_table(ids)["traveller_id"]) == ["00123", "0123", "123"]


def test_the_promotion_line_says_what_happened_to_the_alias(capsys):
    """`riskmodel risk promote` printed "PROMOTED: version 2 (champion was 2)" when version 2 already held the alias
    (nothing moved) and "(champion was None)" for a first model: the duty officer reading the nightly log could not tell a
    promotion from a no-op."""
    from riskmodel.apps.cli.command import report_decision
    from riskmodel.integrations.tracking.registry import Decision

    assert report_decision(Decision(True, ("version 2 is already champion",), "2", "2")) == 0
    assert capsys.readouterr().out.splitlines()[0] == "KEPT: version 2 is already the champion"
    assert report_decision(Decision(True, ("no champion yet",), "1", None)) == 0
    assert capsys.readouterr().out.splitlines()[0] == "PROMOTED: version 1 (no champion before)"
    assert report_decision(Decision(True, ("better",), "3", "2")) == 0
    assert capsys.readouterr().out.splitlines()[0] == "PROMOTED: version 3 (champion was 2)"
    assert report_decision(Decision(False, ("worse",), "4", "3")) != 0
    assert capsys.readouterr().out.splitlines()[0] == "REFUSED: version 4 (champion is still 3)"


def test_every_option_of_every_command_says_what_it_does():
    """`monitor --seed`, `monitor --quiet` and `synth-sources --seed` were listed in --help and docs/CLI.md with no
    word: a newcomer could not tell what `monitor --seed` seeds, nor its default."""
    import argparse

    from riskmodel.apps.cli import build_parser

    bare = []

    def walk(p: argparse.ArgumentParser, prefix: str) -> None:
        for action in p._actions:  # argparse offers no public walk over subcommands
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{prefix} {name}")
            elif action.option_strings and not action.help:
                bare.append(f"{prefix} {action.option_strings[-1]}")

    walk(build_parser(), "riskmodel")
    assert not bare, f"options without help text: {bare}"


def test_run_help_says_where_the_models_go():
    """README's team server: `export MLFLOW_TRACKING_URI=...; riskmodel run` trains on that server. The help must not
    say "the local MLflow store" alone: a data scientist reading it would think the job ignores the variable."""
    text = cli_reference()
    listing = text.split("### `riskmodel train`", 1)[0]
    run_line = next(line for line in listing.splitlines() if line.strip().startswith("run "))
    run_help = text.split("### `riskmodel run`", 1)[1].split("### ", 1)[0]
    assert "MLFLOW_TRACKING_URI" in run_help, run_help
    assert "local MLflow store" not in run_line, run_line
