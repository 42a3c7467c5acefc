"""`riskmodel features`, the refusal of `riskmodel score` without features, and `riskmodel serve`'s start and stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

from riskmodel.apps.cli import main
from riskmodel.apps.cli.exits import EXIT_DATA, EXIT_ENVIRONMENT, EXIT_INPUT, EXIT_OK, EXIT_USAGE
from riskmodel.apps.cli.serve import server_env, stop_group
from riskmodel.core.datasets import make_crossings
from riskmodel.core.features import build_features
from riskmodel.core.stays import build_stays


@pytest.fixture(scope="module")
def crossings():
    return make_crossings(400, "2018-01-01", "2019-06-30", seed=9).crossings


def test_features_command_builds_build_features_table(crossings, tmp_path, capsys):
    src = tmp_path / "crossings.parquet"
    crossings.to_parquet(src, index=False)
    out = tmp_path / "features.parquet"
    assert main(["features", str(src), str(out), "--as-of", "2019-03-31", "--quiet"]) == EXIT_OK
    got = pd.read_parquet(out)
    pd.testing.assert_frame_equal(got, build_features(crossings, as_of="2019-03-31"), check_exact=True)
    assert f"{len(got):,} stays with features written" in capsys.readouterr().out


def test_features_command_from_csv_in_country(crossings, tmp_path):
    src = tmp_path / "crossings.csv"
    crossings.to_csv(src, index=False)
    out = tmp_path / "in_country.csv"
    assert main(["features", str(src), str(out), "--as-of", "2019-03-31", "--in-country", "--quiet"]) == EXIT_OK
    got = pd.read_csv(out)
    want = build_features(crossings, as_of="2019-03-31")
    assert list(got["stay_id"]) == list(want.loc[want["exit_time"].isna(), "stay_id"])


def test_features_command_refuses_a_bad_log_and_output(crossings, tmp_path, capsys):
    src = tmp_path / "crossings.parquet"
    crossings.drop(columns=["direction"]).to_parquet(src, index=False)
    assert main(["features", str(src), str(tmp_path / "f.parquet"), "--quiet"]) == EXIT_DATA
    assert "`direction`" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["features", str(src), str(tmp_path / "features.txt")])
    assert exc.value.code == EXIT_USAGE
    assert "must be a .parquet or .csv file" in capsys.readouterr().err


def test_features_refuses_an_as_of_day_after_the_log_ends(crossings, tmp_path, capsys):
    """A log says nothing about exits after its last day: read "as of" a later day, everyone still in the country
    when it ended would be labelled an overstayer (README: "never a guess"). Refused as `monitor` refuses it."""
    src = tmp_path / "crossings.parquet"
    crossings.to_parquet(src, index=False)
    last = crossings["timestamp"].max()
    assert last.normalize() == pd.Timestamp("2019-06-30")  # the fixture's log ends on its last day
    out = tmp_path / "features.parquet"
    assert main(["features", str(src), str(out), "--as-of", "2019-07-01", "--quiet"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "`--as-of` (2019-07-01) is after the last day of the crossings log (2019-06-30)" in err
    assert not out.exists()
    # the log's last day itself, to its end, is read as known: the day is on file
    assert main(["features", str(src), str(out), "--as-of", "2019-06-30 23:59", "--quiet"]) == EXIT_OK
    pd.testing.assert_frame_equal(pd.read_parquet(out), build_features(crossings, as_of="2019-06-30 23:59"), check_exact=True)


def test_score_refuses_stays_without_features_and_names_the_command(fitted, crossings, tmp_path, capsys):
    _, folder, _ = fitted
    raw = tmp_path / "stays.parquet"
    build_stays(crossings).to_parquet(raw, index=False)
    code = main(["score", str(raw), str(tmp_path / "scores.parquet"), "--model", str(folder), "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_DATA
    assert "`prior_visits`: feature column is missing" in err and "riskmodel features CROSSINGS" in err
    assert not (tmp_path / "scores.parquet").exists()
    feats = tmp_path / "features.parquet"
    assert main(["features", str(crossings_file(crossings, tmp_path)), str(feats), "--quiet"]) == EXIT_OK
    assert main(["score", str(feats), str(tmp_path / "scores.parquet"), "--model", str(folder), "--quiet"]) == EXIT_OK
    assert len(pd.read_parquet(tmp_path / "scores.parquet")) == len(build_stays(crossings))


def crossings_file(crossings, tmp_path):
    path = tmp_path / "log.parquet"
    crossings.to_parquet(path, index=False)
    return path


def test_serve_refuses_a_folder_that_is_no_mlflow_model(fitted, capsys):
    _, folder, _ = fitted
    assert main(["serve", "--model", str(folder)]) == EXIT_INPUT
    assert "is not an MLflow model (no MLmodel file)" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["not a host!", "999.1.1.1", "http://127.0.0.1", "bad_host.example", ""])
def test_serve_with_an_invalid_host_is_usage_exit_2(host, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--model", "m", "--host", host])
    err = capsys.readouterr().err
    assert stop.value.code == EXIT_USAGE and "is not an IP address or host name" in err and "Traceback" not in err, err


@pytest.mark.parametrize(("host", "words"), [
    ("192.0.2.1", "--host 192.0.2.1 is not an address of this machine"),  # TEST-NET-1: never a local address
    ("no-such-host.invalid", "--host no-such-host.invalid does not resolve to an address"),
])
def test_serve_on_a_host_that_is_not_this_machine_is_usage_exit_2(host, words, capsys):
    """Was: the model was verified, then uvicorn failed to bind and the command said only "the server exited"."""
    assert main(["serve", "--model", "m", "--host", host]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert words in err and "the server exited" not in err, err


def test_serve_on_a_port_in_use_names_the_port_and_host(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--model", "m", "--port", str(port)]) == EXIT_ENVIRONMENT
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err and "the server exited" not in err, err


def test_serve_env_puts_this_interpreter_bin_first():
    env = server_env({"PATH": "/usr/bin"})
    assert env["PATH"].split(os.pathsep) == [os.path.dirname(sys.executable), "/usr/bin"]


_STUBBORN = """
import signal, subprocess, sys, time
# a worker that ignores SIGTERM, as a hung uvicorn worker would
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
time.sleep(600)
"""


def _group_members(pgid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(entry))
    return out


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process groups from /proc")
def test_stop_group_stops_every_child_even_one_ignoring_sigterm():
    proc = subprocess.Popen([sys.executable, "-c", _STUBBORN], start_new_session=True)
    deadline = time.monotonic() + 30
    while len(_group_members(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_group_members(proc.pid)) == 2
    stop_group(proc, grace_s=1.0)
    assert _group_members(proc.pid) == []
    assert proc.returncode == -signal.SIGTERM
