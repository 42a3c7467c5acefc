"""Progress hooks: how a long computation in the core reports counts without knowing who listens.

A hook is any callable ``hook(what, done, total)``: ``done`` of ``total`` units of ``what``
(``"backtest windows and the final fit"``, ``"risk training stages"``, ``"rows scored"``) are
finished. It is called once with ``done=0`` when the work starts (so a listener can start its
clock for an ETA) and then after every unit; ``total`` may be corrected upwards or downwards
while the work runs (e.g. when fewer backtest windows fit the history than were planned), and the
last call has ``done == total``. Work counted in units of unequal length names itself with a
``what`` ending in ``" stages"`` before any ``": "`` (``"risk training stages: fit"``): listeners
show its counts without extrapolating an ETA from them. Functions take it as an optional ``on_progress`` argument,
default None: the core prints nothing itself; the command line renders it (counts and an ETA on
a terminal, plain lines in a log file).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["ProgressHook", "Stages"]

#: ``hook(what, done, total)``: see the module docstring.
ProgressHook = Callable[[str, int, int], None]


class Stages:
    """Report a fixed list of named stages to a hook, one unit per stage finished.

    ``what`` is reported as ``"<what> stages: <next stage>"``, so a listener shows what is running
    now and knows the units differ in length (no ETA from the pace so far).

    Parameters
    ----------
    hook : ProgressHook or None
        Where to report; None reports nothing.
    what : str
        The work, e.g. ``"risk training"``.
    names : sequence of str
        The stages in order.

    Examples
    --------
    >>> seen = []
    >>> stages = Stages(lambda w, d, t: seen.append((w, d, t)), "risk training", ["fit", "evaluate"])
    >>> stages.done("fit"); stages.done("evaluate")
    >>> seen
    [('risk training stages: fit', 0, 2), ('risk training stages: evaluate', 1, 2), ('risk training stages: done', 2, 2)]
    """

    def __init__(self, hook: ProgressHook | None, what: str, names: Sequence[str]):
        self.hook, self.what, self.names, self.n = hook, what, list(names), 0
        self._report()

    def _report(self) -> None:
        if self.hook is not None:
            now = self.names[self.n] if self.n < len(self.names) else "done"
            self.hook(f"{self.what} stages: {now}", self.n, len(self.names))

    def done(self, name: str) -> None:
        """Mark stage ``name`` finished (stages not listed, e.g. skipped ones, are counted when passed over)."""
        if name in self.names[self.n :]:
            self.n = self.names.index(name, self.n) + 1
            self._report()
