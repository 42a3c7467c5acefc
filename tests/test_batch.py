"""Chunked, resumable batch jobs: rows in = rows out, kill-and-rerun gives identical output."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from riskmodel.integrations.batch.jobs import BatchError, count_rows, iter_chunks, run_job


def _transform(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"stay_id": df["stay_id"].astype(str), "days": df["planned_stay_days"].astype("float64") * 2})


@pytest.fixture(scope="module")
def parts_folder(tmp_path_factory, small_data):
    folder = tmp_path_factory.mktemp("stays")
    stays = small_data.stays
    for i, piece in enumerate(np.array_split(np.arange(len(stays)), 3)):
        stays.iloc[piece].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


def test_rows_in_equal_rows_out_in_input_order(parts_folder, tmp_path, small_data):
    res = run_job(parts_folder, tmp_path / "out", _transform, spec={"v": 1}, chunk_rows=1000, progress=False)
    assert res.rows_in == res.rows_out == len(small_data.stays) == count_rows(parts_folder)
    out = pd.read_parquet(tmp_path / "out")
    assert list(out["stay_id"]) == list(small_data.stays["stay_id"])
    assert (tmp_path / "out" / "_SUCCESS").exists()


def test_single_file_outputs_are_merged(parts_folder, tmp_path, small_data):
    run_job(parts_folder, tmp_path / "scores.parquet", _transform, spec={}, chunk_rows=4000, progress=False)
    run_job(parts_folder, tmp_path / "scores.csv", _transform, spec={}, chunk_rows=4000, progress=False)
    a = pd.read_parquet(tmp_path / "scores.parquet")
    b = pd.read_csv(tmp_path / "scores.csv")
    assert len(a) == len(b) == len(small_data.stays)
    assert not (tmp_path / "scores.parquet.parts").exists()


def test_csv_input(tmp_path, small_data):
    small_data.stays.head(2500).to_csv(tmp_path / "in.csv", index=False)
    res = run_job(tmp_path / "in.csv", tmp_path / "o", _transform, spec={}, chunk_rows=1000, progress=False)
    assert res.rows_out == 2500 and res.parts == 3
    assert sum(len(c) for c in iter_chunks(tmp_path / "in.csv", 1000)) == 2500


def test_csv_input_reports_progress_the_command_line_can_show(tmp_path, small_data):
    """A CSV's row count is unknown before it is read (count_rows gives None), and the job passed that None to the
    progress hook as the total: the command line's renderer compared None > 0, so `riskmodel score IN.csv OUT` died
    with a TypeError before scoring a row unless --quiet. An unknown total is 0 (counts without a share), and the
    last call has done == total (the hook's contract), here the rows read."""
    import io

    from riskmodel.apps.cli.progress import Progress

    small_data.stays.head(2500).to_csv(tmp_path / "in.csv", index=False)
    calls, shown = [], io.StringIO()
    with Progress(quiet=False, stream=shown) as listener:
        def hook(what, done, total):
            calls.append((done, total))
            listener.count(what, done, total)

        res = run_job(tmp_path / "in.csv", tmp_path / "o", _transform, spec={}, chunk_rows=1000, progress=hook)
    assert res.rows_out == 2500
    assert calls[0] == (0, 0) and calls[-1] == (2500, 2500)
    assert "2,500" in shown.getvalue()


def test_rerun_resumes_and_refuses_another_job(parts_folder, tmp_path):
    out = tmp_path / "o"
    run_job(parts_folder, out, _transform, spec={"model": "v1"}, chunk_rows=2000, progress=False)
    again = run_job(parts_folder, out, _transform, spec={"model": "v1"}, chunk_rows=2000, progress=False)
    assert again.resumed_parts == again.parts
    with pytest.raises(BatchError, match=r"holds the output of a different job.*overwrite=True"):
        run_job(parts_folder, out, _transform, spec={"model": "v2"}, chunk_rows=2000, progress=False)
    fresh = run_job(parts_folder, out, _transform, spec={"model": "v2"}, chunk_rows=2000, progress=False, overwrite=True)
    assert fresh.resumed_parts == 0


def test_overwrite_never_deletes_files_no_job_wrote(parts_folder, tmp_path):
    # An output folder holding the user's own files (no _job.json, no parts) was refused as "the output of a
    # different job ... pass overwrite=True to replace it", and overwrite=True then deleted the whole folder:
    # `riskmodel score in.parquet . --overwrite` emptied the working directory. Nothing a job did not write is deleted.
    out = tmp_path / "work"
    out.mkdir()
    (out / "notes.txt").write_text("a week of notes")
    (out / "report.html").write_text("<html>last night's report</html>")
    for overwrite in (False, True):
        with pytest.raises(BatchError, match=r"not written by a batch job.*notes\.txt.*report\.html.*nothing was deleted"):
            run_job(parts_folder, out, _transform, spec={}, chunk_rows=2000, progress=False, overwrite=overwrite)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "report.html"]
    # a job's own output beside nothing else is still replaced with overwrite=True
    run_job(parts_folder, tmp_path / "o", _transform, spec={"model": "v1"}, chunk_rows=2000, progress=False)
    fresh = run_job(parts_folder, tmp_path / "o", _transform, spec={"model": "v2"}, chunk_rows=2000, progress=False, overwrite=True)
    assert fresh.resumed_parts == 0


@pytest.mark.parametrize("name", ["scores.parquet", "scores.csv"])
def test_a_finished_file_output_is_not_replaced_by_another_job_without_overwrite(parts_folder, tmp_path, name):
    # A folder output keeps its _job.json and refuses another job; a file output's record (its .parts folder) was
    # removed once merged, so another job (another region's extract, a wrong path in a schedule) replaced the
    # finished file silently. So was a file no job wrote (`riskmodel score in.parquet crossings.parquet`).
    out = tmp_path / name
    run_job(parts_folder, out, _transform, spec={"model": "v1"}, chunk_rows=2000, progress=False)
    before = out.read_bytes()
    with pytest.raises(BatchError, match=r"holds the output of a different job.*overwrite=True"):
        run_job(parts_folder, out, _transform, spec={"model": "v2"}, chunk_rows=2000, progress=False)
    assert out.read_bytes() == before
    run_job(parts_folder, out, _transform, spec={"model": "v1"}, chunk_rows=2000, progress=False)  # the same job again: fine
    run_job(parts_folder, out, _transform, spec={"model": "v2"}, chunk_rows=2000, progress=False, overwrite=True)
    mine = tmp_path / f"mine{out.suffix}"
    mine.write_text("the user's own file")
    with pytest.raises(BatchError, match=r"holds a file no batch job wrote.*overwrite=True"):
        run_job(parts_folder, mine, _transform, spec={}, chunk_rows=2000, progress=False)
    assert mine.read_text() == "the user's own file"


def test_an_output_inside_its_input_is_refused(tmp_path, small_data):
    # The input folder's parts are every *.parquet under it: an output written inside it was read back the next
    # night as input (300 stays became 600 rows "in = out"), and an output naming the input file replaced it.
    stays = tmp_path / "stays"
    stays.mkdir()
    small_data.stays.head(300).to_parquet(stays / "part-0.parquet", index=False)
    for output in (stays / "scores.parquet", stays / "scores", stays, stays / "part-0.parquet"):
        for overwrite in (False, True):
            with pytest.raises(BatchError, match=r"inside the input|is the input"):
                run_job(stays, output, _transform, spec={}, chunk_rows=1000, progress=False, overwrite=overwrite)
    with pytest.raises(BatchError, match=r"is the input"):
        run_job(stays / "part-0.parquet", stays / "part-0.parquet", _transform, spec={}, progress=False, overwrite=True)
    assert sorted(p.name for p in stays.iterdir()) == ["part-0.parquet"] and len(pd.read_parquet(stays)) == 300


def test_transform_losing_rows_is_refused(parts_folder, tmp_path):
    with pytest.raises(BatchError, match=r"chunk 0: the transform returned 10 rows for 1000"):
        run_job(parts_folder, tmp_path / "o", lambda df: df.head(10), spec={}, chunk_rows=1000, progress=False)
    assert not list((tmp_path / "o").glob("part-*.parquet"))


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        (lambda p: p / "missing.parquet", r"does not exist"),
        (lambda p: p, r"has no \.parquet files"),
        (lambda p: (p / "x.json").write_text("{}") and p / "x.json", r"must end in \.parquet or \.csv"),
    ],
)
def test_bad_inputs(tmp_path, make_path, message):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match=message):
        run_job(make_path(tmp_path / "empty"), tmp_path / "o", _transform, spec={}, progress=False)


_SLOW_JOB = """
import sys, time
import pandas as pd
from riskmodel.integrations.batch.jobs import run_job
def transform(df):
    time.sleep(0.4)
    return pd.DataFrame({"stay_id": df["stay_id"].astype(str), "days": df["planned_stay_days"].astype("float64") * 2})
run_job(sys.argv[1], sys.argv[2], transform, spec={"v": 1}, chunk_rows=500, progress=False)
"""


@pytest.mark.slow
def test_killed_and_rerun_is_identical_to_uninterrupted(parts_folder, tmp_path):
    reference = tmp_path / "reference"
    subprocess.run([sys.executable, "-c", _SLOW_JOB, str(parts_folder), str(reference)], check=True)
    out = tmp_path / "killed.parquet"
    rng = np.random.default_rng(0)
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", _SLOW_JOB, str(parts_folder), str(out)])
        time.sleep(1.5 + rng.uniform(0, 3.0))  # import time plus a few chunks (the job needs > 10 s)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 1, "the job finished before it could be killed; make it slower"
    subprocess.run([sys.executable, "-c", _SLOW_JOB, str(parts_folder), str(out)], check=True)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(reference))
    assert not list(tmp_path.glob(".*tmp*"))


def _dead_pid() -> int:
    """The id of a process that ran and ended (ids are not reused this soon)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.parametrize("name", ["scores.parquet", "scores.csv"])
def test_a_killed_runs_half_written_files_beside_a_file_output_are_removed_by_the_rerun(parts_folder, tmp_path, name):
    """CI caught it by chance: a run killed while it merged its parts into ``scores.parquet`` left
    ``.scores.parquet.tmp-<its pid>`` beside the output, and the rerun (another pid) finished and left it there for
    ever (and one killed while writing the job record left ``.scores.parquet.job.json.tmp-<pid>``). The rerun removes
    those of processes no longer running; another run's write still going (a live pid) is left alone."""
    dead = _dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        stale = [tmp_path / f".{name}.tmp-{dead}", tmp_path / f".{name}.job.json.tmp-{dead}"]
        going = tmp_path / f".{name}.tmp-{live.pid}"
        for p in [*stale, going]:
            p.write_bytes(b"half a file")
        run_job(parts_folder, tmp_path / name, _transform, spec={}, chunk_rows=4000, progress=False)
        assert sorted(p.name for p in tmp_path.glob(".*tmp*")) == [going.name]
        assert going.read_bytes() == b"half a file"
    finally:
        live.kill()
        live.wait()


class _Killed(BaseException):
    """Stands for a SIGKILL at one point of the job: nothing after it runs."""


@pytest.mark.parametrize("deleted", [0, 1, 2, 3])
def test_a_kill_while_the_parts_folder_is_removed_leaves_a_rerun_that_finishes(parts_folder, tmp_path, monkeypatch, deleted):
    """Once a file output is merged, its parts folder (parts and the job record `_job.json`) is removed. A kill
    after some of those files went could leave parts without their job record, and the identical rerun was then
    refused as "the output of a different job" until overwrite. At whatever point the removal stops, the rerun
    finishes and gives the uninterrupted output."""
    chunk_rows = -(-count_rows(parts_folder) // 3)  # three parts and the job record: four files, deleted in 0-3
    reference = tmp_path / "reference.parquet"
    run_job(parts_folder, reference, _transform, spec={}, chunk_rows=chunk_rows, progress=False)
    out = tmp_path / "scores.parquet"
    real_unlink, gone = os.unlink, []

    def unlink(path, *args, **kwargs):
        name = os.path.basename(os.fspath(path))
        if re.fullmatch(r"part-\d{5}\.parquet|_job\.json", name):
            if len(gone) == deleted:
                raise _Killed
            gone.append(name)
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(_Killed):
        run_job(parts_folder, out, _transform, spec={}, chunk_rows=chunk_rows, progress=False)
    monkeypatch.setattr(os, "unlink", real_unlink)
    run_job(parts_folder, out, _transform, spec={}, chunk_rows=chunk_rows, progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(reference))
    assert not (tmp_path / "scores.parquet.parts").exists()


def _marker(path, pid: int) -> None:
    import json
    import socket

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "started": "2023-07-01T01:00:00+00:00"}))


@pytest.mark.parametrize("name", ["out", "scores.parquet"])
def test_a_run_into_an_output_another_run_is_writing_is_refused_naming_it(parts_folder, tmp_path, name):
    """Two runs into one output at once (a scheduler's retry while the first still runs) each wrote its parts into the
    same folder, and the second's could end in a folder marked _SUCCESS beside the first's. A run holds
    OUTPUT/_running (host, pid, start; the parts folder's for a file output) while it writes: another run, with
    overwrite too, is refused at its start naming the holder and the fix, and nothing is written."""
    import socket

    out = tmp_path / name
    folder = out.with_name(out.name + ".parts") if name.endswith(".parquet") else out
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        _marker(folder / "_running", holder.pid)
        for overwrite in (False, True):
            with pytest.raises(BatchError, match=rf"`output` \S+ is being written by another run of the batch job \(host "
                                                 rf"{re.escape(socket.gethostname())}, pid {holder.pid}, since 2023-07-01T01:00:00"
                                                 r"\+00:00\).*nothing was written\. Fix: wait for it to end.*delete "
                                                 r"\S+_running and rerun"):
                run_job(parts_folder, out, _transform, spec={}, chunk_rows=1000, overwrite=overwrite, progress=False)
            assert sorted(p.name for p in folder.iterdir()) == ["_running"]  # nothing written, the holder's marker kept
            assert not out.exists() or out.is_dir()
    finally:
        holder.kill()
        holder.wait()


def test_a_claim_left_by_a_killed_run_is_taken_over_and_held_while_the_run_writes(parts_folder, tmp_path, small_data):
    import json

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    _marker(out / "_running", dead.pid)
    seen = []

    def spy(df: pd.DataFrame) -> pd.DataFrame:
        seen.append(json.loads((out / "_running").read_text())["pid"])
        return _transform(df)

    res = run_job(parts_folder, out, spy, spec={}, chunk_rows=4000, progress=False)
    assert res.rows_out == len(small_data.stays) and set(seen) == {os.getpid()}
    assert not (out / "_running").exists() and (out / "_SUCCESS").exists()


def test_a_run_that_fails_before_its_first_part_leaves_no_claim_and_no_folder(parts_folder, tmp_path):
    def boom(df: pd.DataFrame) -> pd.DataFrame:
        raise KeyError("a misspelt column")

    for name in ("out", "scores.parquet"):
        with pytest.raises(KeyError):
            run_job(parts_folder, tmp_path / name, boom, spec={}, chunk_rows=4000, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
