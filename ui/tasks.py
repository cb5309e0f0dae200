"""The single background worker: every job that touches the database runs here.

One worker thread takes :class:`Task` s in submission order (so a write and
the read that follows it never overtake each other), runs the job function
``fn(state, *args)`` from :mod:`ui.jobs`, and hands results, partial results
and progress back to the GUI thread by queued signals. The GUI thread never
waits for it.

Keys coalesce work: submitting with ``replace=True`` cancels every queued or
running task with the same key (a newer search makes the old one pointless).
A cancelled task's result is dropped and its ``on_cancelled`` called instead
-- except for tasks submitted with ``deliver_if_cancelled`` (writes): what a
write did is always reported, and a write that stopped on the cancel flag
reports a CancelledError to ``on_error``. Tasks with ``cancellable=False``
are never cancelled (``cancel()`` skips them; the status bar offers no button).

Usage (GUI part 2 runs its impact and graph jobs the same way)::

    runner.submit("Computing impact", impact_job, cmdb, ids,
                  on_done=self.show_result, key="impact", replace=True)
"""

from __future__ import annotations

import itertools
import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from cmdb_desktop.errors import CancelledError, CmdbError
from cmdb_desktop.progress import Progress
from ui.jobs import JobState

log = logging.getLogger(__name__)

#: Progress reaches the GUI at most this often (seconds).
PROGRESS_INTERVAL = 0.1


@dataclass(eq=False)
class Task:
    """One job submitted to the runner."""

    id: int
    title: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    on_partial: Callable[[Any], None] | None = None
    on_cancelled: Callable[[], None] | None = None
    deliver_if_cancelled: bool = False
    key: str | None = None
    visible: bool = True
    cancellable: bool = True
    progress: Progress = field(default_factory=Progress)

    def cancel(self) -> None:
        self.progress.cancel()

    @property
    def cancelled(self) -> bool:
        return self.progress.cancelled


class _Worker(QThread):
    """Runs tasks from a queue until it gets ``None``."""

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__()
        self.setObjectName("cmdb-worker")
        self._runner = runner
        self.queue: queue.Queue[Task | None] = queue.Queue()

    def run(self) -> None:
        while True:
            task = self.queue.get()
            if task is None:
                return
            runner = self._runner
            if task.cancelled:
                runner._delivered.emit(task, "cancelled", None)
                continue
            runner._delivered.emit(task, "started", None)
            state = JobState(task.progress, partial(runner._delivered.emit, task, "partial"))
            try:
                result = task.fn(state, *task.args, **task.kwargs)
            except CancelledError as exc:
                runner._delivered.emit(task, "cancelled", exc)
            except BaseException as exc:  # delivered to the GUI, which decides
                if not isinstance(exc, CmdbError):
                    log.exception("job %r failed", task.title)
                runner._delivered.emit(task, "error", exc)
            else:
                runner._delivered.emit(task, "done", result)


class TaskRunner(QObject):
    """Runs jobs one at a time on a worker thread; results come back as signals.

    Signals (all on the GUI thread): ``started(task)``, ``progressed(task,
    phase, done, total)``, ``finished(task)`` (after its callback, whether it
    succeeded, failed or was cancelled), ``failed(task, error)`` for errors
    nobody handled, and ``idle()`` when nothing is queued or running.
    """

    started = Signal(object)
    progressed = Signal(object, str, int, int)
    finished = Signal(object)
    failed = Signal(object, object)
    idle = Signal()
    _delivered = Signal(object, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._pending: list[Task] = []
        self._current: Task | None = None
        self._delivered.connect(self._deliver)
        self._worker = _Worker(self)
        self._worker.start()
        app = QCoreApplication.instance()
        if app is not None:  # never leave the thread running when the program ends
            app.aboutToQuit.connect(self.shutdown)

    # -- submitting ----------------------------------------------------------
    def submit(
        self,
        title: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        deliver_if_cancelled: bool = False,
        key: str | None = None,
        replace: bool = False,
        visible: bool = True,
        cancellable: bool = True,
        **kwargs: Any,
    ) -> Task:
        """Queue ``fn(state, *args, **kwargs)``; with ``replace``, cancel earlier tasks
        of the same ``key`` first. ``visible`` tasks show in the status bar."""
        if replace and key is not None:
            self.cancel(key)
        task = Task(
            next(self._ids),
            title,
            fn,
            args,
            kwargs,
            on_done,
            on_error,
            on_partial,
            on_cancelled,
            deliver_if_cancelled,
            key,
            visible,
            cancellable,
        )
        task.progress = Progress(partial(self._progress, task), interval=PROGRESS_INTERVAL)
        self._pending.append(task)
        self._worker.queue.put(task)
        return task

    def _progress(self, task: Task, phase: str, done: int, total: int) -> None:
        # called on the worker thread: only emit (queued to the GUI)
        self._delivered.emit(task, "progress", (phase, done, total))

    def cancel(self, key: str | None = None) -> None:
        """Cancel every cancellable queued or running task (with ``key``: only those)."""
        for task in list(self._pending):
            if task.cancellable and (key is None or task.key == key):
                task.cancel()

    # -- state ---------------------------------------------------------------
    @property
    def current(self) -> Task | None:
        return self._current

    def is_idle(self) -> bool:
        return not self._pending

    def busy_with(self, key: str) -> bool:
        return any(t.key == key and not t.cancelled for t in self._pending)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel everything, stop the worker and wait for it; False if it would not stop."""
        if self._worker.isFinished():
            return True
        self.cancel()
        self._worker.queue.put(None)
        return bool(self._worker.wait(timeout_ms))

    # -- delivery (GUI thread) -----------------------------------------------
    def _deliver(self, task: Task, kind: str, value: Any) -> None:
        if kind == "started":
            self._current = task
            self.started.emit(task)
            return
        if kind == "progress":
            if not task.cancelled:
                phase, done, total = value
                self.progressed.emit(task, phase, done, total)
            return
        if kind == "partial":
            if not task.cancelled and task.on_partial is not None:
                self._call(task, task.on_partial, value)
            return
        # a final result: done, error or cancelled
        if self._current is task:
            self._current = None
        if task in self._pending:
            self._pending.remove(task)
        try:
            deliver = not task.cancelled or task.deliver_if_cancelled
            if kind == "cancelled" and task.deliver_if_cancelled:
                kind, value = "error", value or CancelledError("Cancelled: nothing was written.")
            if kind == "done" and deliver:
                if task.on_done is not None:
                    self._call(task, task.on_done, value)
            elif kind == "error" and deliver:
                if task.on_error is not None:
                    self._call(task, task.on_error, value)
                elif not isinstance(value, CancelledError):
                    self.failed.emit(task, value)
            elif task.on_cancelled is not None:
                on_cancelled = task.on_cancelled
                self._call(task, lambda _none: on_cancelled(), None)
        finally:
            self.finished.emit(task)
            if not self._pending:
                self.idle.emit()

    def _call(self, task: Task, callback: Callable[[Any], None], value: Any) -> None:
        try:
            callback(value)
        except Exception as exc:  # a broken view must not stop the queue
            log.exception("callback of job %r failed", task.title)
            self.failed.emit(task, exc)
