"""Temporary names for files written whole and then renamed into place, and the leftovers of killed writers.

A writer writes ``.NAME.tmp-PID`` beside its target and renames it over the target when done, so a reader never sees
half a file. A writer killed mid-write leaves its temporary file behind, and the next run has another pid: without
:func:`temp_beside` the leftover would stay beside the target for ever (a stray half copy of the data).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

__all__ = ["temp_beside"]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def temp_beside(path: Path) -> Path:
    """The temporary name this process writes ``path`` under, once those a killed run left for it are gone.

    Leftovers of processes no longer running are removed; a live one is another write still going.
    """
    prefix = f".{path.name}.tmp-"
    for stale in path.parent.glob(f"{glob.escape(prefix)}*"):
        pid = stale.name[len(prefix):]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            stale.unlink(missing_ok=True)
    return path.with_name(f"{prefix}{os.getpid()}")
