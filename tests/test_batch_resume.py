"""Batch resume reuses nothing stale and survives environment failures (issue 15, part 5).

The job fingerprint hashes every input byte, so an input edited in the middle
(same size) is another job; a write that fails (disk full, no permission)
leaves no temp file, so the rerun succeeds once the cause is gone; a killed
job's rerun really resumes (reports resumed parts) and matches an uninterrupted run.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.integrations.batch import jobs
from riskmodel.integrations.batch.jobs import BatchError, run_job


def _transform(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"stay_id": df["stay_id"].astype(str), "days": df["planned_stay_days"].astype("float64") * 2})


@pytest.fixture()
def csv_input(tmp_path) -> Path:
    n = 30_000  # about 400 KB: the middle is outside the first and last 64 KB the old fingerprint read
    df = pd.DataFrame({"stay_id": [f"S{i:07d}" for i in range(n)], "planned_stay_days": np.arange(n) % 90 + 10})
    path = tmp_path / "stays.csv"
    df.to_csv(path, index=False)
    return path


def _edit_middle_same_size(path: Path) -> int:
    """Change one digit of a planned stay in the middle of the file; returns that row's position."""
    text = path.read_text()
    row = 15_000
    lines = text.split("\n")
    sid, days = lines[row + 1].split(",")
    lines[row + 1] = f"{sid},{'2' if days[0] == '1' else '1'}{days[1:]}"  # days are 10..99: two digits stay two
    new = "\n".join(lines)
    assert len(new) == len(text) and new != text
    path.write_text(new)
    return row


def test_input_edited_in_the_middle_is_another_job(csv_input, tmp_path):
    out = tmp_path / "out"
    first = run_job(csv_input, out, _transform, spec={"v": 1}, chunk_rows=5_000, progress=False)
    assert first.parts == 6
    row = _edit_middle_same_size(csv_input)
    with pytest.raises(BatchError, match=r"holds the output of a different job \(other input, model or settings\)"):
        run_job(csv_input, out, _transform, spec={"v": 1}, chunk_rows=5_000, progress=False)
    again = run_job(csv_input, out, _transform, spec={"v": 1}, chunk_rows=5_000, overwrite=True, progress=False)
    assert again.resumed_parts == 0
    got = pd.concat(pd.read_parquet(p) for p in sorted(out.glob("part-*.parquet")))
    assert got["days"].iloc[row] == pd.read_csv(csv_input)["planned_stay_days"].iloc[row] * 2


def test_fingerprint_is_of_the_whole_content(csv_input):
    before = jobs._fingerprint(csv_input)
    _edit_middle_same_size(csv_input)
    after = jobs._fingerprint(csv_input)
    assert before[0]["bytes"] == after[0]["bytes"] and before[0]["sha256"] != after[0]["sha256"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
@pytest.mark.parametrize("where", ["part", "job"])
def test_rerun_after_disk_full_or_permission_error_succeeds(csv_input, tmp_path, monkeypatch, code, where):
    reference = run_job(csv_input, tmp_path / "reference.parquet", _transform, spec={"v": 1}, chunk_rows=5_000, progress=False)
    out = tmp_path / "out.parquet"
    real_write_table, real_write_text = jobs.pq.write_table, Path.write_text
    calls = {"n": 0}

    def failing_write_table(table, where_, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # third part: half a file, then the disk is full
            Path(where_).write_bytes(b"PAR1 half a part")
            raise OSError(code, os.strerror(code))
        return real_write_table(table, where_, *args, **kwargs)

    def failing_write_text(self, data, *args, **kwargs):
        if self.name.startswith("._job.json.tmp"):
            real_write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(code, os.strerror(code))
        return real_write_text(self, data, *args, **kwargs)

    if where == "part":
        monkeypatch.setattr(jobs.pq, "write_table", failing_write_table)
    else:
        monkeypatch.setattr(Path, "write_text", failing_write_text)
    with pytest.raises(OSError, match=os.strerror(code)):
        run_job(csv_input, out, _transform, spec={"v": 1}, chunk_rows=5_000, progress=False)
    monkeypatch.undo()  # the cause is gone
    assert not list(tmp_path.rglob(".*tmp*"))
    result = run_job(csv_input, out, _transform, spec={"v": 1}, chunk_rows=5_000, progress=False)
    assert result.resumed_parts == (2 if where == "part" else 0)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(reference.output))


_SLOW_JOB = """
import json, sys, time
import pandas as pd
from riskmodel.integrations.batch.jobs import run_job
def transform(df):
    time.sleep(0.4)
    return pd.DataFrame({"stay_id": df["stay_id"].astype(str), "days": df["planned_stay_days"].astype("float64") * 2})
r = run_job(sys.argv[1], sys.argv[2], transform, spec={"v": 1}, chunk_rows=1_000, progress=False)
print(json.dumps({"parts": r.parts, "resumed_parts": r.resumed_parts}))
"""


@pytest.mark.slow
def test_killed_job_is_resumed_not_redone(csv_input, tmp_path):
    out = tmp_path / "killed.parquet"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_JOB, str(csv_input), str(out)], stdout=subprocess.PIPE)
    parts = out.with_name(out.name + ".parts")
    deadline = time.monotonic() + 60
    while len(list(parts.glob("part-*.parquet"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the job finished before it could be killed; make it slower"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = len(list(parts.glob("part-*.parquet")))
    assert 3 <= written < 30
    done = subprocess.run([sys.executable, "-c", _SLOW_JOB, str(csv_input), str(out)], check=True, capture_output=True, text=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"parts": 30, "resumed_parts": written}
    expected = _transform(pd.read_csv(csv_input))
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert not list(tmp_path.glob(".*tmp*"))
