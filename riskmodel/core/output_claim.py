"""A run's hold on its output folder: ``OUTPUT/_running``, naming the host, process and start of the run writing it.

Two runs into one output at once (a scheduler's retry while the first still runs, two people starting the same
night) would each write their parts over the other's. A run takes the claim before it writes or deletes anything;
a second run finds it and is refused, naming the holder and the fix. A claim whose process is gone from this machine
(a killed run) is taken over; one held from another machine is never judged dead from here.

:class:`OutputClaim` keeps the marker on the local file system (the in-process batch job); the Spark nightly run
reads and writes it through Spark's file system, any URI, with the same rules.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path
from typing import Any

from riskmodel.core.exceptions import BatchError

__all__ = ["OutputClaim", "RUNNING", "process_alive"]

#: The marker's name in the output folder.
RUNNING = "_running"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputClaim:
    """``folder/_running`` on the local file system, held by one run at a time.

    Parameters
    ----------
    folder : str or Path
        The output folder (made by :meth:`take` when missing; removed again by :meth:`release` when it is left empty).
    job : str
        The job's name in messages ("the batch scoring job").
    clash : str
        What two runs at once would do ("interleave their parts").
    wait : str
        Advice after "wait for it to end", in parentheses.
    facts : dict, optional
        More facts about this run written in the marker (``as_of``).
    """

    def __init__(self, folder: str | Path, *, job: str, clash: str, wait: str, facts: dict[str, Any] | None = None):
        self.folder = str(folder).rstrip("/")
        self.uri = f"{self.folder}/{RUNNING}"
        self.path: Path | None = Path(self.uri)  # the marker on this side's file system (None: not reachable from here)
        self.job, self.clash, self.wait = job, clash, wait
        self.mine = {"host": socket.gethostname(), "pid": os.getpid(),
                     "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **(facts or {})}
        self.made_folder = not self._folder_exists()

    # storage: the local file system here (the Spark nightly run overrides these four with Spark's)
    def _folder_exists(self) -> bool:
        return self.path is not None and self.path.parent.exists()

    def read(self) -> str | None:
        """The marker's text, None when there is none."""
        path = self.path
        return path.read_text("utf-8", "replace") if path is not None and path.exists() else None

    def write(self, *, exclusive: bool) -> bool:
        """Write this run's marker; False when ``exclusive`` and a marker is there (another run created it first)."""
        path = self.path
        if path is None:  # nowhere to mark from here
            return True
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x" if exclusive else "w", encoding="utf-8") as f:
                f.write(json.dumps(self.mine))
        except FileExistsError:
            return False
        return True

    def _remove(self, *, folder_if_empty: bool) -> None:
        path = self.path
        if path is None:
            return
        path.unlink(missing_ok=True)
        if folder_if_empty and path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()

    def describe(self, held: dict) -> str:
        """The holder in a refusal: host, pid, start."""
        return f"host {held.get('host')}, pid {held.get('pid')}, since {held.get('started')}"

    def take(self) -> None:
        """Hold the output, or refuse it when another run holds it; a holder that died on this machine is taken over."""
        for _ in range(3):  # a marker removed or taken over between two steps here: try again
            if self.write(exclusive=True):
                return
            text = self.read()
            if text is None:
                continue
            try:
                held = json.loads(text)
                pid = int(held["pid"]) if held.get("host") == self.mine["host"] else None
            except (ValueError, TypeError, KeyError, AttributeError):
                held, pid = {"host": "?", "pid": "?", "started": f"? (the marker reads {text[:60]!r})"}, None
            if pid is None or process_alive(pid):
                raise BatchError(
                    f"`output` {self.folder} is being written by another run of {self.job} ({self.describe(held)}): "
                    f"two runs into one output {self.clash}; nothing was written. Fix: wait for it to end ({self.wait}); "
                    f"if that run is dead (its machine restarted, its process killed), delete {self.uri} and rerun.")
            self.release(held)  # its process is gone from this machine: a killed run's marker
        raise BatchError(f"`output` {self.folder}: could not take {self.uri}, other runs taking it at the same "
                         f"time. Fix: run one run of {self.job} into an output at a time.")

    def release(self, held: dict | None = None, *, folder_if_empty: bool | None = None) -> None:
        """Remove the marker when it is ``held`` (default: this run's), and then the output folder if it is left empty
        and (``folder_if_empty``, default) this run made it."""
        text = self.read()
        try:
            if text is None or json.loads(text) != (held if held is not None else self.mine):
                return
        except ValueError:
            return
        drop = (self.made_folder if folder_if_empty is None else folder_if_empty) and held is None
        self._remove(folder_if_empty=drop)
