"""Exit codes of the ``riskmodel`` command and the one-paragraph messages behind them.

A scheduler reading the exit code must be able to tell "the data is bad" (fix
the data, or accept the gate's verdict) from "the input could not be read"
(the file is missing or broken) from "the machine failed" (retry once the disk
or permissions are fixed) from "the command was called wrongly". Only errors
that none of these explain (bugs) keep their traceback.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Sequence
from pathlib import Path

from riskmodel.core.exceptions import (
    DatabaseUnavailableError, GateRefusedError, ModelLoadError, RiskModelError, SchemaError, UnreadableFileError,
)

__all__ = [
    "EXIT_OK", "EXIT_DATA", "EXIT_USAGE", "EXIT_INPUT", "EXIT_ENVIRONMENT", "EXIT_NIGHT_RED", "EXIT_CODES_HELP",
    "InputFileError", "read_errors", "explain",
]

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2  # argparse's own code for a bad command line
EXIT_INPUT = 3
EXIT_ENVIRONMENT = 4
#: ``riskmodel nightly``: every output written, but tonight's data read red against the last good night: not to be used.
EXIT_NIGHT_RED = 5

EXIT_CODES_HELP = """\
exit codes:
  0  done
  1  the data has problems (validation found some, or a bad row under --errors raise) or a gate refused
  2  bad usage: an argument, option, config file or environment variable was refused, or an extra
     the command needs (spark, db) is not installed
  3  cannot read an input: a missing, unreadable, corrupt, truncated or empty file, or a model that
     cannot be loaded
  4  the environment failed: disk full, permission denied, read-only file system; rerun once fixed
     (finished parts of a batch job are reused)
  5  nightly only: the night's outputs are written, but tonight's data read red against the last good
     night (a port's rows gone, a column emptied): do not use them until checked; no _SUCCESS marker
     (codes 1-4: the run failed, and its output folder has no _SUCCESS either)
"""

# optional extras (pyproject.toml): a command that needs one on a machine without it was called wrongly, not given bad data
_EXTRAS = {"pyspark": "spark", "sqlalchemy": "db", "psycopg": "db"}

# errnos that say the machine, not the data or the command line, is at fault
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EMFILE, errno.ENFILE, errno.ENOMEM}


class InputFileError(UnreadableFileError):
    """A file the command reads is missing, unreadable, corrupt or empty (exit 3); arguments as its base class."""

    def __init__(self, path: str | Path, problem: str, fix: str):
        super().__init__(Path(path), problem, fix)

    @classmethod
    def from_exception(cls, path: str | Path, exc: BaseException) -> InputFileError:
        """The error for ``path`` from what the reader raised."""
        import pandas as pd

        if isinstance(exc, FileNotFoundError):
            return cls(path, "the file does not exist", "check the path")
        if isinstance(exc, PermissionError):
            return cls(path, "permission denied", "give this user read permission on the file")
        if isinstance(exc, pd.errors.EmptyDataError):
            return cls(path, "the file is empty (no header, no rows)", "pass a file with a header line and rows")
        if isinstance(exc, UnicodeDecodeError):  # Excel's plain "CSV" writes the Windows code page: 'hôtel' is byte 0xf4
            from riskmodel.core.csv_files import NOT_UTF8_FIX, not_utf8

            return cls(path, not_utf8(exc), NOT_UTF8_FIX)
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return cls(path, f"it is corrupt, truncated or not in the format its name says ({detail})",
                   "re-export the file (Parquet or CSV with a header line) and check it was copied completely")


def read_errors() -> tuple[type[BaseException], ...]:
    """What pandas and pyarrow raise for a file they cannot read."""
    import pandas as pd
    import pyarrow as pa

    return (OSError, UnicodeDecodeError, pa.ArrowException, pd.errors.ParserError, pd.errors.EmptyDataError)


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return str(a) == str(b)


def _environment(exc: OSError) -> tuple[int, str]:
    where = f" on `{exc.filename}`" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(exc):
        fix = "free disk space or write to another folder, then rerun"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "give this user write permission there, or write to another folder, then rerun"
    else:
        fix = "check the machine (files open, memory, file system) and rerun"
    return EXIT_ENVIRONMENT, f"the environment failed{where}: {exc.strerror or exc}. Fix: {fix}."


#: What a Java I/O failure says when the machine, not the data, is at fault (a full disk or quota, a read-only mount,
#: no permission, a folder that cannot be made): raised inside Spark as Py4JJavaError (or a Spark Connect error).
_JAVA_ENVIRONMENT = re.compile(
    r"((?:java\.io\.|java\.nio\.file\.|org\.apache\.hadoop\.)[\w.$]*(?:Exception|Error)\b:?[^\n]*?"
    r"(?:No space left on device|Disk quota exceeded|quota .{0,40}exceeded|Read-only file system|Permission denied"
    r"|Mkdirs failed|AccessDenied)[^\n]*)", re.IGNORECASE)


def _spark_environment(exc: BaseException) -> tuple[int, str] | None:
    """Exit 4 for an error raised through Spark (py4j, pyspark) whose Java cause is the machine's, else None."""
    if not type(exc).__module__.startswith(("py4j", "pyspark")):
        return None
    found = _JAVA_ENVIRONMENT.search(str(exc))
    if found is None:
        return None
    cause = found.group(1).strip()
    low = cause.lower()
    if "space" in low or "quota" in low:
        fix = "free disk space (or raise the quota) or write to another folder, then rerun"
    else:
        fix = "give this user write permission there, or write to another folder, then rerun"
    return EXIT_ENVIRONMENT, (f"the environment failed inside Spark: {cause[:500]}. Fix: {fix} (finished parts of a batch "
                              "job are reused).")


def explain(exc: BaseException, inputs: Sequence[str | Path]) -> tuple[int, str] | None:
    """The exit code and message for an error a command raised, or None for a bug (keep the traceback).

    Parameters
    ----------
    exc : BaseException
        What the command raised.
    inputs : sequence of str or Path
        The files the command reads, to name the one that failed.
    """
    if isinstance(exc, UnreadableFileError | ModelLoadError):
        return EXIT_INPUT, str(exc)
    if isinstance(exc, SchemaError | GateRefusedError):
        return EXIT_DATA, str(exc)
    missing = (getattr(exc, "name", None) or "").split(".")[0] if isinstance(exc, ModuleNotFoundError) else ""
    if missing in _EXTRAS:
        extra = _EXTRAS[missing]
        return EXIT_USAGE, (f"this needs the `{extra}` extra, which is not installed here (no module `{missing}`). "
                            f'Fix: pip install "riskmodel[{extra}]" into this environment'
                            + (" (Java 17+); without Spark, `riskmodel features` then `riskmodel score` run locally" if extra == "spark" else "")
                            + ".")
    if isinstance(exc, DatabaseUnavailableError):
        return EXIT_ENVIRONMENT, str(exc)
    spark_environment = _spark_environment(exc)
    if spark_environment is not None:
        return spark_environment
    if isinstance(exc, RiskModelError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, BrokenPipeError):  # an OSError, but about where the output goes, not an input file
        return EXIT_ENVIRONMENT, (
            "the reader of this command's output closed it early (e.g. `| head`) while the command was still printing. "
            "Fix: let the reader take all of the output, or pass --quiet where the command has it."
        )
    filename = getattr(exc, "filename", None)
    is_input = filename is not None and any(_same_file(filename, p) for p in inputs)
    if isinstance(exc, FileNotFoundError | NotADirectoryError) and filename is not None and not is_input:
        return EXIT_USAGE, f"no such file or folder `{filename}`. Fix: correct the path or create the folder."
    if isinstance(exc, OSError) and not is_input and (
        exc.errno in _ENVIRONMENT_ERRNOS or "No space left on device" in str(exc) or filename is not None
    ):
        return _environment(exc)
    if isinstance(exc, read_errors()):
        named = filename if is_input else (inputs[0] if len(inputs) == 1 else None)
        message = str(InputFileError.from_exception(named or "?", exc))
        if named is None:  # several inputs and the reader did not say which: name them all
            message = message.replace("`?`", "one of " + (", ".join(f"`{p}`" for p in inputs) or "the inputs"), 1)
        return EXIT_INPUT, message
    return None
