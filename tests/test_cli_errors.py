"""The CLI's exit codes and messages: every documented code, and no traceback for a broken input or machine."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.apps.cli import build_parser, main
from riskmodel.apps.cli.exits import EXIT_DATA, EXIT_ENVIRONMENT, EXIT_INPUT, EXIT_OK, EXIT_USAGE
from riskmodel.core.privacy import KEY_ENV

REPO = Path(__file__).resolve().parents[1]
KEY = "k" * 40


def _run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def crossings_file(tmp_path, small_data) -> Path:
    path = tmp_path / "crossings.parquet"
    small_data.crossings.head(300).to_parquet(path, index=False)
    return path


def test_exit_codes_are_documented_in_help_and_docs():
    help_text = build_parser().format_help()
    docs = (REPO / "docs" / "CLI.md").read_text(encoding="utf-8")
    for code in (EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INPUT, EXIT_ENVIRONMENT):
        assert f"\n  {code}  " in help_text
        assert f"\n  {code}  " in docs
    assert len({EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INPUT, EXIT_ENVIRONMENT}) == 5


def test_ok(crossings_file, capsys):
    assert _run(["validate", str(crossings_file)], capsys)[0] == EXIT_OK


def test_data_problem_raised_by_the_library_is_exit_1(tmp_path, capsys):
    """A SchemaError is about the data, not the command line: 1, not 2."""
    pd.DataFrame({"stay_id": ["a", "b"], "probability": [0.1, 0.9], "risk_band": ["low", "high"]}).to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame({"stay_id": ["a", "b"], "overstayed": [None, None]}).to_csv(tmp_path / "o.csv", index=False)
    code, err = _run(["evaluate-scores", str(tmp_path / "s.csv"), str(tmp_path / "o.csv")], capsys)
    assert code == EXIT_DATA
    assert "no scored stay has a known outcome" in err and err.startswith("riskmodel evaluate-scores: error:")


def test_bad_usage_is_exit_2(tmp_path, crossings_file, capsys, monkeypatch):
    with pytest.raises(SystemExit) as stop:
        main(["validate", str(crossings_file), "--table", "nonsense"])
    assert stop.value.code == EXIT_USAGE
    monkeypatch.delenv(KEY_ENV, raising=False)
    code, err = _run(["pseudonymise", str(crossings_file), str(tmp_path / "x.parquet")], capsys)
    assert code == EXIT_USAGE and KEY_ENV in err


def test_pseudonymise_without_a_key_names_what_a_cli_user_can_do(tmp_path, crossings_file, capsys, monkeypatch):
    """The library's message ended 'or pass key=', which a command-line user cannot: the CLI names the variable it reads."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    code, err = _run(["pseudonymise", str(crossings_file), str(tmp_path / "x.parquet")], capsys)
    assert code == EXIT_USAGE
    assert "key=" not in err and f"export {KEY_ENV}=" in err and "32" in err, err
    assert not (tmp_path / "x.parquet").exists()


def test_empty_csv_is_exit_3_naming_the_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    code, err = _run(["validate", str(path)], capsys)
    assert code == EXIT_INPUT
    assert f"`{path}`" in err and "empty" in err and "Fix:" in err


def test_corrupt_parquet_is_exit_3_naming_the_file(tmp_path, capsys):
    path = tmp_path / "corrupt.parquet"
    path.write_bytes(b"this is not parquet at all\n" * 50)
    code, err = _run(["validate", str(path), "--table", "stays"], capsys)
    assert code == EXIT_INPUT
    assert f"`{path}`" in err and "corrupt" in err


def test_truncated_parquet_names_the_file_among_several_inputs(tmp_path, crossings_file, capsys):
    """Two inputs: the message names the one that is broken, not the other."""
    whole = crossings_file.read_bytes()
    cut = tmp_path / "truncated.parquet"
    cut.write_bytes(whole[: len(whole) // 2])
    fc = pd.DataFrame({"unique_id": ["total"], "ds": ["2024-01-01"], "y": [1.0]})
    fc.to_csv(tmp_path / "actuals.csv", index=False)
    code, err = _run(["evaluate-forecasts", str(tmp_path / "actuals.csv"), str(cut)], capsys)
    assert code == EXIT_INPUT
    assert f"`{cut}`" in err and "actuals.csv" not in err


def _cut_csv(tmp_path, small_data) -> tuple[Path, Path]:
    """A crossings CSV, and a copy cut off in the middle of its last row (as a failed copy leaves it)."""
    whole = tmp_path / "crossings.csv"
    small_data.crossings.head(50).to_csv(whole, index=False)
    text = whole.read_text(encoding="utf-8")
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: text.rstrip("\n").rfind("\n") + 40], encoding="utf-8")
    return whole, cut


def test_a_csv_cut_off_mid_row_is_exit_3_not_a_short_row(tmp_path, small_data, capsys):
    """pandas reads a cut-off last row as a row with missing fields; the readers refuse it (validate and score alike)."""
    from riskmodel.integrations.batch.jobs import iter_chunks

    whole, cut = _cut_csv(tmp_path, small_data)
    code, err = _run(["validate", str(cut)], capsys)
    assert code == EXIT_INPUT
    assert f"`{cut}`" in err and "the file was cut off" in err and f"of the header's {small_data.crossings.shape[1]} fields" in err
    with pytest.raises(pd.errors.ParserError, match="cut off"):
        list(iter_chunks(cut, 1000))
    # a complete file without its final line end is not mistaken for a cut one
    whole.write_text(whole.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")
    assert _run(["validate", str(whole)], capsys)[0] == EXIT_OK
    assert sum(len(c) for c in iter_chunks(whole, 1000)) == 50


def test_truncated_file_gives_no_traceback_in_a_real_process(tmp_path, crossings_file):
    whole = crossings_file.read_bytes()
    cut = tmp_path / "truncated.parquet"
    cut.write_bytes(whole[: len(whole) - 100])
    run = subprocess.run([sys.executable, "-m", "riskmodel", "validate", str(cut)], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == EXIT_INPUT
    assert "Traceback" not in run.stderr and f"`{cut}`" in run.stderr
    assert run.stderr.count("\n") == 1  # one paragraph


def test_disk_full_is_exit_4_and_leaves_no_temp_file(tmp_path, crossings_file, capsys, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    out = tmp_path / "safe.parquet"

    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1")  # the disk filled up part-way through the write
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    code, err = _run(["pseudonymise", str(crossings_file), str(out)], capsys)
    assert code == EXIT_ENVIRONMENT
    assert "No space left on device" in err and "free disk space" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crossings.parquet"]


def test_permission_denied_on_the_output_is_exit_4(tmp_path, crossings_file, capsys, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)

    def denied(self, path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", denied)
    code, err = _run(["pseudonymise", str(crossings_file), str(tmp_path / "safe.parquet")], capsys)
    assert code == EXIT_ENVIRONMENT
    assert "Permission denied" in err and "write permission" in err


def test_a_bug_keeps_its_traceback(crossings_file, monkeypatch):
    """Only the documented kinds of failure are turned into messages; a programming error is not hidden."""
    import riskmodel.core.schema as schema

    def broken(df):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(schema, "check_crossings", broken)
    with pytest.raises(ZeroDivisionError):
        main(["validate", str(crossings_file)])


def test_both_module_entry_points_run():
    for module in ("riskmodel", "riskmodel.apps.cli"):
        run = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=REPO)
        assert run.returncode == EXIT_OK and "exit codes:" in run.stdout


def test_a_model_that_cannot_be_loaded_is_exit_3(tmp_path, crossings_file, capsys):
    code, err = _run(["score", str(crossings_file), str(tmp_path / "o.parquet"), "--model", str(tmp_path / "no-model")], capsys)
    assert code == EXIT_INPUT
    assert f"`{tmp_path / 'no-model'}`" in err and "not found" in err


def test_a_missing_config_names_the_full_command(tmp_path, capsys):
    code, err = _run(["train", "risk", "--config", str(tmp_path / "nope.yaml")], capsys)
    assert code == EXIT_INPUT
    assert err.startswith("riskmodel train risk: error: cannot read") and "nope.yaml" in err


def test_a_refused_gate_is_a_data_verdict_not_a_crash():
    from riskmodel.apps.cli.exits import EXIT_DATA, explain
    from riskmodel.core.exceptions import GateRefusedError

    code, message = explain(GateRefusedError("no champion for `overstay-risk`: ..."), [])
    assert code == EXIT_DATA and "no champion" in message


def test_a_closed_output_pipe_is_not_blamed_on_the_input(crossings_file):
    """`riskmodel validate x | head -0`: the pipe, not the input file, is at fault (exit 4, no traceback)."""
    proc = subprocess.Popen([sys.executable, "-m", "riskmodel", "validate", str(crossings_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    proc.stdout.close()  # before the command prints: its first line meets a closed pipe
    err = proc.stderr.read()
    assert proc.wait(60) == EXIT_ENVIRONMENT, err
    assert "closed it early" in err and "cannot read" not in err and "Traceback" not in err


def test_binary_content_in_a_csv_is_exit_3_not_a_traceback(tmp_path, capsys):
    """The csv module's own error (a bare carriage return in the header) was a traceback with exit 1."""
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\x00\x9f\x92a\rb\"c\x00\n" + bytes(range(256)) * 20)
    code, err = _run(["validate", str(path)], capsys)
    assert code == EXIT_INPUT
    assert f"`{path}`" in err and "not a CSV file" in err


def test_a_repeated_column_in_a_csv_header_is_a_data_problem_not_scored(tmp_path, fitted, capsys):
    """pandas renames the second `group_size` to `group_size.1` and the first copy was scored without a word."""
    _, folder, test = fitted
    rows = test.head(5)
    body = rows.assign(extra=999).rename(columns={"extra": "group_size"}).to_csv(index=False)
    (tmp_path / "dup.csv").write_text(body, encoding="utf-8")
    code, err = _run(["score", "--model", str(folder), "--quiet", str(tmp_path / "dup.csv"), str(tmp_path / "out.csv")], capsys)
    assert code == EXIT_DATA
    assert "`group_size`: column name appears 2 times in the header" in err
    assert not (tmp_path / "out.csv").exists()


def test_a_bad_reasons_option_is_exit_2_before_any_output(tmp_path, fitted, capsys):
    """`--reasons -1` reached score() in the first chunk as a bare ValueError: a traceback, exit 1."""
    _, folder, test = fitted
    test.head(5).to_parquet(tmp_path / "in.parquet")
    code, err = _run(["score", "--model", str(folder), "--quiet", "--reasons", "-1", str(tmp_path / "in.parquet"), str(tmp_path / "out")], capsys)
    assert code == EXIT_USAGE
    assert "`reasons` must be an int >= 0; got -1" in err
    assert not (tmp_path / "out").exists()


def test_a_csv_with_a_header_and_no_rows_is_valid_and_gives_an_empty_feature_table(tmp_path, small_data, capsys):
    """pandas reads a header-only CSV as text columns: `validate` and `features` refused it as "expected int values"."""
    path = tmp_path / "header.csv"
    small_data.crossings.head(0).to_csv(path, index=False)
    code, err = _run(["validate", str(path)], capsys)
    assert code == EXIT_OK, err
    code, err = _run(["features", "--quiet", str(path), str(tmp_path / "f.parquet")], capsys)
    assert code == EXIT_OK, err
    assert len(pd.read_parquet(tmp_path / "f.parquet")) == 0


def test_an_empty_folder_is_exit_3_not_a_table_missing_every_column(tmp_path, capsys):
    (tmp_path / "parts").mkdir()
    code, err = _run(["validate", str(tmp_path / "parts")], capsys)
    assert code == EXIT_INPUT
    assert "holds no .parquet file" in err and "required column is missing" not in err


@pytest.mark.parametrize(("argv", "words"), [
    (["features", "{c}", "{o}", "--as-of", "notadate"], "'notadate' is not a date"),
    (["features", "{c}", "{o}", "--as-of", "2024-13-45"], "is not a date"),
    (["features", "{c}", "{o}", "--as-of", "2024-06-30T00:00+07:00"], "has a time zone"),
    (["monitor", "--as-of", "notadate"], "is not a date"),
    (["monitor", "--as-of", "06/12/2026"], "'06/12/2026' is not a date in ISO 8601"),  # read as 12 June, meant 6 December
    (["monitor", "--as-of", "today"], "'today' is not a date in ISO 8601"),  # a list for the moment it was run, not a day
    (["nightly", "{c}", "{o}", "--as-of", "1/2/2024"], "is not a date in ISO 8601"),
    (["monitor", "--as-of", "2024-06-30", "--horizon", "0"], "expected a whole number >= 1"),
    (["nightly", "{c}", "{o}", "--as-of", "nat"], "is not a date"),
    (["nightly", "{c}", "{o}", "--parts", "0"], "neither auto nor a whole number >= 1"),
    (["nightly", "{c}", "{o}", "--parts", "many"], "'many' is neither auto nor a whole number >= 1"),
    (["synth", "--start", "nope"], "is not a date"),
    (["synth", "--travellers", "0"], "expected a whole number >= 1"),
    (["run", "--end", "31/31/2023"], "is not a date"),
    (["serve", "--model", "m", "--port", "70000"], "from 1 to 65535"),
    (["serve", "--model", "m", "--workers", "0"], ">= 1"),
    (["forecast", "--horizon", "3", "--out", "{o}", "--level", "abc"], "'abc' is not a whole number"),
    (["forecast", "--horizon", "-3", "--out", "{o}"], ">= 1"),
    (["trends", "{c}", "--level", "100"], "from 1 to 99"),
])
def test_a_bad_date_or_number_option_is_usage_exit_2_before_any_input_is_read(argv, words, tmp_path, capsys):
    """`--as-of notadate` was exit 1 ("the data has problems") after reading the whole log; some were a traceback."""
    argv = [a.format(c=tmp_path / "absent.csv", o=tmp_path / "out.parquet") for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == EXIT_USAGE and words in err and "Traceback" not in err, err


def test_a_period_that_ends_before_it_starts_is_usage_exit_2(tmp_path, capsys):
    code, err = _run(["synth", "--out", str(tmp_path / "s"), "--start", "2020-01-01", "--end", "2019-01-01"], capsys)
    assert code == EXIT_USAGE and "--end 2019-01-01 is not after --start 2020-01-01" in err
    assert not (tmp_path / "s").exists()


def test_spark_commands_without_the_spark_extra_name_it_exit_2(tmp_path, fitted, crossings_file, capsys, monkeypatch):
    """Without pyspark, `score --engine spark` and `nightly` ended in a traceback (ModuleNotFoundError), exit 1:
    "the data has problems" to a scheduler. A missing optional extra is how the command was called: exit 2, named."""
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")] + ["pyspark", "pyspark.sql"]:
        monkeypatch.setitem(sys.modules, name, None)  # as on a machine without the extra (imports of it fail)
    _, folder, test = fitted
    test.head(5).to_parquet(tmp_path / "stays.parquet")
    for argv in (["score", str(tmp_path / "stays.parquet"), str(tmp_path / "out"), "--engine", "spark"],
                 ["nightly", str(crossings_file), str(tmp_path / "nightly"), "--no-track"]):
        code, err = _run([*argv, "--model", str(folder), "--quiet"], capsys)
        assert code == EXIT_USAGE, err
        assert "the `spark` extra" in err and 'pip install "riskmodel[spark]"' in err, err


def test_forecast_without_model_or_history_names_both_options(tmp_path, capsys):
    """It printed "forecasting 3 periods with a default Forecaster fitted on --history" (there was none), then the
    library's words, "pass `model` ... or `history` ...": no option of this command."""
    code, err = _run(["forecast", "--horizon", "3", "--out", str(tmp_path / "fc.csv")], capsys)
    assert code == EXIT_USAGE
    assert "fitted on --history" not in err
    assert "pass --model (a logged forecaster's URI or folder) or --history (a unique_id/ds/y file to fit on)" in err
    assert not (tmp_path / "fc.csv").exists()


@pytest.mark.parametrize("command", [["score", "IN.parquet", "OUT.parquet", "--model", "MODEL"],
                                     ["score", "IN.parquet", "OUT", "--model", "MODEL", "--engine", "spark"],
                                     ["nightly", "IN", "OUT", "--model", "MODEL"]])
def test_a_purpose_that_could_name_someone_is_refused_before_any_work(tmp_path, capsys, command):
    """`--purpose` goes into the audit record as given, which holds no identifier: one with a passport number is
    refused in one paragraph (exit 2, a bad option), before the model is loaded or an input read: the model here does
    not exist and the input is no Parquet, and the refusal is about the purpose."""
    (tmp_path / "IN.parquet").write_bytes(b"not read")
    argv = [str(tmp_path / a) if a[:2].isupper() else a for a in command] + ["--purpose", "desk check of passport A1234567"]
    code, err = _run(argv, capsys)
    assert code == EXIT_USAGE and "`purpose` holds a run of 5 or more digits" in err and "A1234567" not in err, err


@pytest.mark.parametrize("command", ["validate", "score"])
def test_a_csv_saved_in_a_windows_code_page_is_named_as_not_utf8_with_the_fix(tmp_path, fitted, capsys, command):
    """Excel's plain 'CSV' saves in the Windows code page: 'hôtel' is byte 0xf4, and the command said the file was
    'corrupt, truncated or not in the format its name says', fix 're-export the file ... check it was copied'."""
    _, folder, test = fitted
    path = tmp_path / "cp1252.csv"
    test.head(5).astype({"accommodation": object}).assign(accommodation="h\u00f4tel").to_csv(path, index=False, encoding="cp1252")
    argv = {"validate": ["validate", str(path)],
            "score": ["score", "--model", str(folder), "--quiet", str(path), str(tmp_path / "out.csv")]}[command]
    code, err = _run(argv, capsys)
    assert code == EXIT_INPUT
    assert f"`{path}`" in err and "is not UTF-8 text" in err
    assert "save it as UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)')" in err


@pytest.mark.parametrize("kind", ["risk", "forecast"])
def test_a_config_s_data_csv_that_is_not_utf8_is_named_not_the_config(tmp_path, capsys, kind):
    """A data.crossings_path / data.series_path CSV in a Windows code page was reported as the config file being
    unreadable ('cannot read `risk.yaml`'): the reader did not say which file, and the config was the command's input."""
    import yaml

    data = tmp_path / "data.csv"
    data.write_bytes("unique_id,ds,y\nBal\u00ed,2024-01-01,3\n".encode("cp1252"))
    config = tmp_path / f"{kind}.yaml"
    base = yaml.safe_load((REPO / "configs" / f"{kind}.yaml").read_text()) if kind == "risk" else {}
    key = "crossings_path" if kind == "risk" else "series_path"
    config.write_text(yaml.safe_dump(base | {"data": (base.get("data") or {}) | {key: str(data)}}))
    code, err = _run(["train", kind, "--config", str(config), "--no-log", "--quiet"], capsys)
    assert code == EXIT_INPUT
    assert f"cannot read `{data}`: it is not UTF-8 text" in err and f"`{config}`" not in err
