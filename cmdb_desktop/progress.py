"""Progress reporting and cancellation for long jobs, independent of any GUI.

A long operation takes a :class:`Progress` and calls ``progress.step(done, total)``;
that checks the cancel flag (raising CancelledError) and, at most every
``interval`` seconds, hands the figure to the callback. The GUI's worker and
the CLI's stderr bar are two such callbacks.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from cmdb_desktop.errors import CancelledError

Callback = Callable[[str, int, int], None]


class Progress:
    def __init__(self, callback: Callback | None = None, *, interval: float = 0.1) -> None:
        self._callback = callback
        self._interval = interval
        self._last = 0.0
        self._cancel = threading.Event()
        self.phase = ""

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise CancelledError("Cancelled: nothing was written.")

    def start(self, phase: str, total: int = 0) -> None:
        self.phase = phase
        self._last = 0.0
        self.step(0, total, force=True)

    def step(self, done: int, total: int = 0, *, force: bool = False) -> None:
        self.check()
        if self._callback is None:
            return
        now = time.monotonic()
        if force or now - self._last >= self._interval or (total and done >= total):
            self._last = now
            self._callback(self.phase, done, total)


def stderr_bar(stream: TextIO | None = None) -> Callback:
    """A progress callback that draws a one-line bar on a terminal (stderr)."""
    out = stream or sys.stderr
    tty = out.isatty()
    last_phase = [""]

    def draw(phase: str, done: int, total: int) -> None:
        if not tty:
            if phase != last_phase[0]:
                last_phase[0] = phase
                print(f"{phase}…", file=out, flush=True)
            return
        if total:
            width = 30
            filled = int(width * min(done, total) / total)
            bar = "█" * filled + "·" * (width - filled)
            text = f"\r{phase:<28} {bar} {done:>9,}/{total:,}"
        else:
            text = f"\r{phase:<28} {done:>9,}"
        out.write(text)
        if total and done >= total:
            out.write("\n")
        out.flush()

    return draw
