"""Progress people can read: step lines, and counts with an ETA within a long step.

:class:`Progress` is what every command passes as ``progress`` (one line per step) and, through
:meth:`Progress.count`, as the ``on_progress`` hook of the core (:mod:`riskmodel.core.progress`):
backtest windows, risk training stages, rows scored. On a terminal a count updates one line in
place; when stderr is a file or a pipe (a scheduled job's log) it becomes plain lines, at most one
every ``every`` seconds per piece of work plus its last, so a log shows the counts without the
carriage-return clutter of a progress bar.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["Progress", "eta_text"]


def _duration(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    hours, minutes = divmod(int(round(seconds / 60)), 60)
    return f"{hours} h {minutes:02d} min"


def eta_text(done: int, total: int, elapsed: float, pace: bool = True) -> str:
    """``"3/8 (38%), about 1 min 40 s left"``: counts, and the time left at the pace so far (unless not ``pace``).

    Examples
    --------
    >>> eta_text(3, 8, 60.0)
    '3/8 (38%), about 1 min 40 s left'
    >>> eta_text(0, 8, 5.0)
    '0/8 (0%)'
    >>> eta_text(8, 8, 75.0)
    '8/8 (100%) in 1 min 15 s'
    """
    share = f"{done:,}/{total:,} ({done / total:.0%})" if total > 0 else f"{done:,}"
    if total > 0 and done >= total:
        return f"{share} in {_duration(elapsed)}"
    if done <= 0 or total <= 0 or not pace:
        return share
    return f"{share}, about {_duration(elapsed / done * (total - done))} left"


def _paced(key: str) -> bool:
    """Whether the pace of the units done so far predicts the rest (not for stages)."""
    return not key.endswith(" stages")


class Progress:
    """Step lines and counts on stderr (silent with ``--quiet``).

    On a terminal a count updates one line in place and, inside ``with Progress(...) as p:``,
    a clock ticks on that line while nothing else is printed (the ETA of an open count is recomputed as time passes; without one,
    the seconds since the last line are shown), so the screen never sits still. In a file or a
    pipe, counts are plain lines, at most one every ``every`` seconds per piece of work plus its
    last, and nothing ticks.

    Parameters
    ----------
    quiet : bool
        Print nothing.
    stream : file-like, optional
        Where to write; default the ``sys.stderr`` of the moment it is made (so a filter that a
        job puts on ``sys.stderr`` afterwards never holds back its lines).
    every : float, default=10.0
        Seconds between the plain count lines of one piece of work when ``stream`` is not a terminal.
    tick : float, default=1.0
        Seconds between the clock's updates on a terminal; 0 for no clock.
    """

    def __init__(self, quiet: bool, stream: TextIO | None = None, every: float = 10.0, tick: float = 1.0):
        self.quiet = quiet
        self.start = time.perf_counter()
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self._open: str | None = None  # on the terminal: "count" (kept) or "clock" (erased) line shown in place
        self._count: tuple[str, str, int, int] | None = None  # the open count: key, what, done, total
        self._started: dict[str, float] = {}
        self._printed: dict[str, float] = {}
        self._last_line = self.start
        self._lock = threading.Lock()  # heartbeat threads and the clock print too
        self._stop = threading.Event()
        self._tick = tick
        self._clock: threading.Thread | None = None

    def __enter__(self) -> Progress:
        """Start the clock (on a terminal); leaving the block stops it and ends an open line."""
        if self.tty and not self.quiet and self._tick > 0 and self._clock is None:
            self._clock = threading.Thread(target=self._ticks, args=(self._tick,), daemon=True)
            self._clock.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the clock and end an open line in place."""
        self._stop.set()
        if self._clock is not None:
            self._clock.join()
        with self._lock:
            self._end_line()

    def _stamp(self) -> str:
        return f"[{time.perf_counter() - self.start:6.1f}s]"

    def _end_line(self) -> None:
        """Keep an open count line (end it) and erase an open clock line."""
        if self._open == "count":
            self.stream.write("\n")
        elif self._open == "clock":
            self.stream.write("\r\x1b[K")
        self._open, self._count = None, None

    def _ticks(self, tick: float) -> None:
        while not self._stop.wait(tick):
            with self._lock:
                now = time.perf_counter()
                if self._count is not None:
                    key, what, done, total = self._count
                    text = f"{self._stamp()}     {what}: {eta_text(done, total, now - self._started[key], _paced(key))}"
                elif now - self._last_line >= 2 * tick:
                    text = f"{self._stamp()}     ... {_duration(now - self._last_line)} since the last line"
                    self._open = "clock"
                else:
                    continue
                self.stream.write("\r\x1b[K" + text)
                self.stream.flush()

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        with self._lock:
            self._end_line()
            print(f"{self._stamp()} {message}", file=self.stream, flush=True)
            self._last_line = time.perf_counter()

    def count(self, what: str, done: int, total: int) -> None:
        """The core's progress hook: ``done`` of ``total`` units of ``what``.

        The work is known by the text of ``what`` before its first ``": "`` (the rest names the
        part running now, e.g. ``"risk training stages: intervals"``); its clock starts at
        ``done == 0``. Stages (work named ``"... stages"``) get counts without an ETA: they differ
        in length, so the pace of the first says nothing of the rest.
        """
        if self.quiet:
            return
        key, now = what.split(": ", 1)[0], time.perf_counter()
        with self._lock:
            if done <= 0 or key not in self._started:
                self._started[key] = now
                self._printed.pop(key, None)
            text = f"{self._stamp()}     {what}: {eta_text(done, total, now - self._started[key], _paced(key))}"
            finished = total > 0 and done >= total
            if self.tty:
                self.stream.write("\r\x1b[K" + text + ("\n" if finished else ""))
                self.stream.flush()
                self._open, self._count = (None, None) if finished else ("count", (key, what, done, total))
                self._last_line = now
                return
            if done <= 0 or (not finished and now - self._printed.get(key, -1e9) < self.every):
                return
            self._printed[key] = now
            print(text, file=self.stream, flush=True)
