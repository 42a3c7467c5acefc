"""Chunked, resumable, crash-safe processing of large files.

A batch job reads its input (a Parquet file, a folder of Parquet parts, or a
CSV file) in fixed-size chunks, in a deterministic order, transforms each
chunk, and writes ``part-NNNNN.parquet`` into the output folder. Every part is
written to a temporary name and renamed into place, so a part either exists
whole or not at all. Killed and rerun, a job skips the parts already written
and produces output identical to an uninterrupted run: no row is lost or
duplicated. Rows in = rows out is checked per chunk and for the whole job.

The output folder holds ``_job.json`` (what produced it: the input's
fingerprint, chunk size and the caller's settings). Rerunning into a folder
made by a different job is refused, unless ``overwrite=True``. A folder that
holds anything a job does not write (the user's own files) is refused even then:
nothing a job did not write is deleted. An output that is the input, or lies
inside an input folder (whose every Parquet file is input), is refused. Nothing
is changed (no folder made, no job recorded, another job's output not yet
cleared) until the first part is ready to be written: a run that fails in its
first chunk, on a misspelt column say, leaves the output as it found it.

When the output path ends in ``.parquet`` or ``.csv``, parts go to a sibling
``<name>.parts/`` folder and are merged into the single file at the end,
again atomically; the parts folder is removed once the file is in place. What made
the file is kept beside it in ``<name>.job.json``: another job into a finished
file is refused unless ``overwrite=True``, as is a file no job wrote. A
column typed differently by chunk (pandas types each CSV chunk on its own)
gets one type that keeps every value, in the merged file or, for a folder
output, by rewriting the parts that differ before ``_SUCCESS`` is written: a chunk's all-missing column takes the
others' type, whole numbers widen to float, numbers and text become text.
A finished folder output is marked by an empty ``_SUCCESS`` file.

One run at a time writes an output: a run holds ``_running`` in the output folder (a file output's parts folder),
naming its host, process and start (:class:`~riskmodel.core.output_claim.OutputClaim`), from its start to its end.
Another run into the same output, with ``overwrite`` too, is refused naming the holder; the claim of a run whose process
is gone from this machine (killed) is taken over. A run that fails before its first part removes its claim, and the
folder when it made it, so the output is left as it was found.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.core.batch_result import BatchResult  # re-exported: the job engine returns it
from riskmodel.core.csv_files import check_csv, read_csv
from riskmodel.core.exceptions import BatchError
from riskmodel.core.output_claim import RUNNING, OutputClaim
from riskmodel.core.progress import ProgressHook
from riskmodel.core.temp_files import temp_beside

__all__ = ["BatchError", "BatchResult", "JobHooks", "run_job", "iter_chunks", "input_files", "count_rows", "check_chunk_rows"]

_JOB = "_job.json"
_SUCCESS = "_SUCCESS"
#: Names of the files a job writes in its folder beside its ``_``-records: its parts and their temporary files.
_PART = re.compile(r"part-\d{5}\.parquet")
_TEMP = re.compile(r"\..+\.tmp-\d+")


def input_files(path: str | Path) -> list[Path]:
    """The files of an input: the file itself, or a folder's Parquet parts in sorted order."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file() and not p.name.startswith(("_", ".")))
        if not files:
            raise BatchError(f"input folder `{path}` has no .parquet files; pass a Parquet file, a folder of parts, or a CSV file.")
        return files
    if not path.is_file():
        raise BatchError(f"input `{path}` does not exist; pass a Parquet file, a folder of Parquet parts, or a CSV file.")
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise BatchError(f"input `{path}` must end in .parquet or .csv; got `{path.suffix}`.")
    return [path]


def count_rows(path: str | Path) -> int | None:
    """Rows of a Parquet input from its metadata (None for CSV: counting would read it all)."""
    files = input_files(path)
    if files[0].suffix.lower() == ".csv":
        return None
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def iter_chunks(path: str | Path, chunk_rows: int, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """Yield the input in chunks of at most ``chunk_rows`` rows, always in the same order.

    Chunks never span two files, so the chunking of a folder is stable as long
    as its files are. A chunk's index is its rows' places in the whole input (0 for
    the first row of the first file), unless a Parquet file stored an index of its own.
    """
    yielded = False
    offset = 0
    for f in input_files(path):
        if f.suffix.lower() == ".csv":
            check_csv(f)
            # ids as text: "00123" and "123" are two stays, every chunk gets the same type, and an id "NA" stays "NA"
            for chunk in read_csv(f, chunksize=chunk_rows, usecols=columns):
                yielded = True
                offset += len(chunk)
                yield chunk
        else:
            pf = pq.ParquetFile(f)
            for batch in pf.iter_batches(batch_size=chunk_rows, columns=columns):
                yielded = True
                chunk = batch.to_pandas()
                if isinstance(chunk.index, pd.RangeIndex) and chunk.index.name is None:
                    # each batch counts from 0: a row numbered by its chunk would share its number with others
                    chunk.index = pd.RangeIndex(offset, offset + len(chunk))
                offset += len(chunk)
                yield chunk
            if not yielded and f == input_files(path)[-1]:
                # zero rows in: one empty chunk, so the output is an empty table with the output's columns
                yield pf.schema_arrow.empty_table().select(columns or pf.schema_arrow.names).to_pandas()
                yielded = True


def _fingerprint(path: str | Path) -> list[dict]:
    """Name, size and SHA-256 of every input file's whole content.

    The whole file is hashed, streamed in blocks (hashing runs at disk speed, a
    small cost beside scoring): a hash of the head and tail let an input edited
    in the middle, same size, resume with the old parts' results. The settings
    and the model version are in the job's ``spec`` beside this.
    """
    out = []
    root = Path(path)
    for f in input_files(path):
        with f.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        rel = f.name if root.is_file() else str(f.relative_to(root))
        out.append({"file": rel, "bytes": f.stat().st_size, "sha256": digest})
    return out


def _atomic_write_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic_write_table(pa.Table.from_pandas(df, preserve_index=False), path)


def _atomic_write_table(table: pa.Table, path: Path) -> None:
    tmp = temp_beside(path)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:  # disk full or no permission: leave nothing half-written behind
        tmp.unlink(missing_ok=True)


def _atomic_write_text(text: str, path: Path) -> None:
    tmp = temp_beside(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:  # a stale temp file beside no _job.json made every rerun look like another job's output
        tmp.unlink(missing_ok=True)


def _parts_dir(output: Path) -> Path:
    if output.suffix.lower() in (".parquet", ".csv"):
        return output.with_name(output.name + ".parts")
    return output


def _not_job_files(folder: Path) -> list[str]:
    """Names in ``folder`` a batch job never writes: anything but ``part-NNNNN.parquet``, ``_``-records and temp files."""
    return sorted(p.name for p in folder.iterdir()
                  if not (p.is_file() and (_PART.fullmatch(p.name) or p.name.startswith("_") or _TEMP.fullmatch(p.name))))


def _check_output_outside_input(input: Path, output: Path) -> None:
    """Refuse an output that is the input, or lies inside an input folder (every Parquet file under it is input)."""
    src, out = input.resolve(), output.resolve()
    if out == src:
        raise BatchError(f"output `{output}` is the input: it would be replaced by its own scores. Fix: write to another path.")
    if src.is_dir() and src in out.parents:
        raise BatchError(f"output `{output}` is inside the input folder `{input}`: every Parquet file there is read as input, "
                         "so the next run would read this run's output as stays. Fix: write the output outside the input folder.")


def _job_record(output: str | Path) -> Path:
    """Where a ``.parquet``/``.csv`` output's job is recorded (``<output>.job.json``, as ``_job.json`` in a folder)."""
    output = Path(output)
    return output.with_name(output.name + ".job.json")


def _check_file_output(output: Path, job_text: str, overwrite: bool) -> None:
    """Refuse, without ``overwrite``, a file output that holds another job's finished output or a file no job wrote."""
    if overwrite or not output.exists():
        return
    record = _job_record(output)
    if record.is_file() and record.read_text(encoding="utf-8") == job_text:
        return  # this job again: its output is made again, the same
    what = "the output of a different job (other input, model or settings)" if record.is_file() else "a file no batch job wrote"
    raise BatchError(
        f"output `{output}` holds {what}; nothing was changed. "
        "Fix: pass overwrite=True (CLI: --overwrite) to replace it, or choose another output."
    )


def _check_parts_dir(parts_dir: Path, job_text: str, overwrite: bool) -> bool:
    """Whether ``parts_dir`` holds another job's parts that this job will clear (``overwrite``); refuse otherwise.

    A folder holding anything a job does not write is refused even with ``overwrite``: clearing it would
    delete the user's files (an output of ``.``). Nothing is changed here: the folder is cleared and this job
    recorded only when its first part is ready (:func:`_claim_parts_dir`), so a run that fails before that leaves
    the output, and the last run's summary, as it found them.
    """
    job_file = parts_dir / _JOB
    if not (parts_dir.exists() and any(p.name != RUNNING for p in parts_dir.iterdir())):  # this run's claim is no output
        return False
    same = job_file.exists() and job_file.read_text(encoding="utf-8") == job_text
    foreign = [] if same else _not_job_files(parts_dir)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise BatchError(
            f"output `{parts_dir}` holds files not written by a batch job ({shown}); nothing was deleted. "
            "Fix: choose a new or empty output folder (overwrite=True, CLI --overwrite, replaces only a job's own output)."
        )
    if not same and not overwrite:
        raise BatchError(
            f"output `{parts_dir}` holds the output of a different job (other input, model or settings); "
            "pass overwrite=True (CLI: --overwrite) to replace it, or choose another output."
        )
    return not same


def _claim_parts_dir(parts_dir: Path, job_text: str, clear: bool) -> None:
    """Make ``parts_dir`` this job's: clear another job's parts (``clear``), drop half-written files, record the job."""
    if clear:  # files only (a folder is no job's: refused before), this run's claim kept
        for p in parts_dir.iterdir():
            if p.name != RUNNING:
                p.unlink()
    parts_dir.mkdir(parents=True, exist_ok=True)
    for stale in parts_dir.glob(".*.tmp-*"):  # half-written files of a killed run
        stale.unlink(missing_ok=True)
    _atomic_write_text(job_text, parts_dir / _JOB)
    (parts_dir / _SUCCESS).unlink(missing_ok=True)


@dataclass(frozen=True)
class JobHooks:
    """Callbacks of a batch job beside its transform.

    Attributes
    ----------
    on_chunk : callable, optional
        ``on_chunk(input_chunk, output_chunk)``, called for every chunk, written
        now or resumed, e.g. to accumulate a summary.
    start : callable, optional
        ``start()`` called once the output is accepted and the first part is ready to be written (or, when every
        part is resumed or there is none, before the output is completed): e.g. to remove the last run's summary of
        a file output, which would otherwise sit beside that file while this run changes it or after it dies. A run
        that fails before its first part changes nothing, so it does not call it.
    finish : callable, optional
        ``finish(result) -> dict`` called with the job's :class:`BatchResult` once every part is written and checked.
        A folder output: before it is marked ``_SUCCESS``, so what it writes (a run summary) is there before the
        marker that says the folder is complete; if it raises, the folder is not marked. A file output (which has no
        marker; its summary is the sign it is complete): once the file is in place, so what it writes never sits
        beside another run's file. Its result is returned in ``BatchResult.extra``.
    """

    on_chunk: Callable[[pd.DataFrame, pd.DataFrame], None] | None = None
    finish: Callable[[BatchResult], dict[str, Any]] | None = None
    start: Callable[[], None] | None = None


def run_job(
    input: str | Path,
    output: str | Path,
    transform: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    spec: dict[str, Any],
    chunk_rows: int = 200_000,
    overwrite: bool = False,
    hooks: JobHooks = JobHooks(),
    progress: bool | ProgressHook = True,
    description: str = "rows",
    columns: list[str] | None = None,
) -> BatchResult:
    """Run ``transform`` over ``input`` chunk by chunk into ``output``, resumably.

    Parameters
    ----------
    input : str or Path
        Parquet file, folder of Parquet parts, or CSV file.
    output : str or Path
        Output folder of parts, or a ``.parquet``/``.csv`` file to merge into.
    transform : callable
        ``transform(chunk) -> DataFrame`` with exactly one output row per input row.
    spec : dict
        JSON-serialisable settings that define the job (model version, options);
        a rerun resumes only when they are identical.
    chunk_rows : int, default=200_000
        Rows per chunk: bounds memory.
    overwrite : bool, default=False
        Start afresh when the output holds another job's parts.
    hooks : JobHooks, optional
        Callbacks beside the transform: ``on_chunk`` for every chunk (written
        now or resumed) and ``finish`` once all parts are written and checked.
    progress : bool or callable, default=True
        Show a progress bar on stderr; or a hook ``progress(description, rows_done, rows_total)``
        (:mod:`riskmodel.core.progress`) called after every chunk, for a caller that prints its own
        (``rows_total`` 0 while a CSV input is read: its rows are not counted first).
    description : str, default="rows"
        Label of the progress bar.
    columns : list of str, optional
        Read only these input columns.

    Returns
    -------
    BatchResult

    Raises
    ------
    BatchError
        On a bad input path, an output folder of a different job (or a finished file output of one, or a
        file or folder no job wrote), an output that is the input or lies inside an input folder, an output
        another live run is writing (its ``_running`` claim), or when a transform returns a different number of
        rows than it was given.
    """
    check_chunk_rows(chunk_rows)
    output = Path(output)
    _check_output_outside_input(Path(input), output)
    parts_dir = _parts_dir(output)
    # one run at a time: two runs into one output (a scheduler's retry while the first still runs) interleaved their
    # parts, and the second could mark _SUCCESS a folder holding the first's; taken before anything is read or changed
    claim = OutputClaim(parts_dir, job="the batch job", clash="interleave their parts",
                        wait="a scheduler's retry while the first run still runs: let it finish; a rerun of the same job "
                             "resumes its parts")
    claim.take()
    try:
        return _run_claimed(input, output, transform, spec=spec, chunk_rows=chunk_rows, overwrite=overwrite,
                            hooks=hooks, progress=progress, description=description, columns=columns)
    finally:
        # a file output's parts folder goes once empty (its parts merged); a folder output only if this run made it
        claim.release(folder_if_empty=True if parts_dir != output else None)


def _run_claimed(input, output: Path, transform, *, spec, chunk_rows, overwrite, hooks, progress, description,
                 columns) -> BatchResult:
    """:func:`run_job` once its output is claimed."""
    parts_dir = _parts_dir(output)
    job = {"input": _fingerprint(input), "chunk_rows": chunk_rows, "spec": spec}
    job_text = json.dumps(job, sort_keys=True, indent=1, default=str)
    if parts_dir != output:
        _check_file_output(output, job_text, overwrite)
    # nothing is touched until the first part is ready: a run failing in its first chunk (a misspelt passthrough
    # column) left its job record, refusing the corrected rerun, and with overwrite had deleted last night's output
    clear = _check_parts_dir(parts_dir, job_text, overwrite)
    claimed = False

    def claim() -> None:
        nonlocal claimed
        if not claimed:
            _claim_parts_dir(parts_dir, job_text, clear)
            if hooks.start is not None:
                hooks.start()
            claimed = True

    total = count_rows(input)
    bar = _bar(progress, total, description)
    rows_in = rows_out = resumed = 0
    index = -1
    try:
        for index, chunk in enumerate(iter_chunks(input, chunk_rows, columns)):
            part = parts_dir / f"part-{index:05d}.parquet"
            if not clear and part.exists():  # another job's parts, to be cleared, are never resumed
                out = pd.read_parquet(part)
                resumed += 1
            else:
                out = transform(chunk)
                if len(out) != len(chunk):
                    raise BatchError(f"chunk {index}: the transform returned {len(out)} rows for {len(chunk)}; nothing was written for it.")
                claim()
                _atomic_write_parquet(out, part)
            if len(out) != len(chunk):
                raise BatchError(
                    f"part `{part.name}` has {len(out)} rows but input chunk {index} has {len(chunk)}; "
                    "the input changed since the part was written: rerun with overwrite=True."
                )
            if hooks.on_chunk is not None:
                hooks.on_chunk(chunk, out)
            rows_in += len(chunk)
            rows_out += len(out)
            if bar is not None:
                bar.update(len(chunk))
            elif callable(progress):
                progress(description, rows_in, _known(total))
    finally:
        if bar is not None:
            bar.close()
    if total is None and callable(progress):  # a CSV's count is known once read: the last call has done == total
        progress(description, rows_in, rows_in)
    claim()  # every part resumed, or no chunk at all: the job is recorded before its output is completed
    n_parts = index + 1
    stray = sorted(p.name for p in parts_dir.glob("part-*.parquet") if int(p.stem.split("-")[1]) >= n_parts)
    if stray:
        raise BatchError(f"output `{parts_dir}` has parts beyond the input's {n_parts} chunks ({stray[:3]}); rerun with overwrite=True.")
    if rows_in != rows_out:
        raise BatchError(f"rows in ({rows_in}) != rows out ({rows_out}); the output is incomplete.")
    if parts_dir == output:
        _conform_parts(parts_dir, n_parts)
    result = BatchResult(output=output, rows_in=rows_in, rows_out=rows_out, parts=n_parts, resumed_parts=resumed)
    if parts_dir != output:
        # the record first: a kill between the two leaves a record of this job beside the last one's file, which
        # this job's rerun replaces; never the last job's record beside this job's file
        _atomic_write_text(job_text, _job_record(output))
        _merge(parts_dir, output, n_parts)
        _remove_parts_dir(parts_dir)
    # a folder: before its _SUCCESS, which says what finish writes (the run summary) is there; a file: once it is in place
    result.extra.update(hooks.finish(result) if hooks.finish is not None else {})
    if parts_dir == output:
        _atomic_write_text("", parts_dir / _SUCCESS)
    return result


def check_chunk_rows(chunk_rows: Any) -> None:
    """BatchError unless ``chunk_rows`` is an int >= 1 (a caller reading its input before :func:`run_job` checks first)."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise BatchError(f"`chunk_rows` must be an int >= 1; got {chunk_rows!r}.")


def _known(total: int | None) -> int:
    """A row count for a progress hook: 0 when unknown (a CSV is not counted before it is read; hooks take an int)."""
    return 0 if total is None else total


def _bar(progress: bool | ProgressHook, total: int | None, description: str):
    """A tqdm bar when ``progress`` is True; None for False or a hook (which is started here)."""
    if callable(progress):
        progress(description, 0, _known(total))
        return None
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=" rows", desc=description, mininterval=1.0, leave=True)


def _merge(parts_dir: Path, output: Path, n_parts: int) -> None:
    """Concatenate the parts into one file, atomically, streaming one part at a time."""
    tmp = temp_beside(output)
    parts = [parts_dir / f"part-{i:05d}.parquet" for i in range(n_parts)]
    try:
        if output.suffix.lower() == ".parquet":
            schema = _common_schema([pq.read_schema(p) for p in parts]) if parts else None
            writer = None
            for p in parts:
                table = pq.read_table(p)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(table.cast(schema) if table.schema != schema else table)
            if writer is not None:
                writer.close()
        else:
            for i, p in enumerate(parts):
                pd.read_parquet(p).to_csv(tmp, mode="w" if i == 0 else "a", header=i == 0, index=False)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_parts_dir(parts_dir: Path) -> None:
    """Remove a merged file output's parts, the job record last: a kill part-way leaves parts this job's rerun resumes.

    (shutil.rmtree removes in the folder's order: a kill after the record went left parts of no recorded job, and
    the identical rerun was refused as another job's.)
    """
    for p in parts_dir.iterdir():
        if p.name not in (_JOB, RUNNING):
            p.unlink(missing_ok=True)
    (parts_dir / _JOB).unlink(missing_ok=True)
    if not any(parts_dir.iterdir()):
        parts_dir.rmdir()  # else the run's claim is there: its release removes the folder with it


def _conform_parts(parts_dir: Path, n_parts: int) -> None:
    """Rewrite, atomically, the parts whose types differ from the parts' common schema: the folder reads as one table."""
    parts = [parts_dir / f"part-{i:05d}.parquet" for i in range(n_parts)]
    schemas = [pq.read_schema(p) for p in parts]
    if all(s.remove_metadata().equals(schemas[0].remove_metadata()) for s in schemas):
        return
    schema = _common_schema(schemas)
    for p, s in zip(parts, schemas, strict=True):
        if not s.remove_metadata().equals(schema.remove_metadata()):
            _atomic_write_table(pq.read_table(p).cast(schema), p)


def _common_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema every part can be cast to without losing a value.

    pandas types each CSV chunk on its own: a column all missing in one chunk is null there, and numbers
    in one chunk may be text in the next. Null takes the other parts' type, numbers widen (int to float),
    and types that do not merge (numbers and text) become text.
    """
    fields = []
    for f in schemas[0]:
        types = [s.field(f.name).type for s in schemas if s.get_field_index(f.name) >= 0]
        try:
            merged = pa.unify_schemas([pa.schema([pa.field(f.name, t)]) for t in types], promote_options="permissive")
            fields.append(merged.field(f.name))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            fields.append(pa.field(f.name, pa.large_string()))
    if [f.type for f in fields] == [f.type for f in schemas[0]]:
        return schemas[0]
    # the first part's pandas metadata would describe dtypes its columns no longer have
    return pa.schema(fields)
