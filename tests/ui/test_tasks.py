"""The single worker: order, partial results, progress, cancellation, errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cmdb_desktop.errors import ValidationError
from ui.jobs import JobState
from ui.tasks import TaskRunner


@pytest.fixture
def runner(qapp: Any) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    assert r.shutdown(5000)


def _thread_name(state: JobState) -> str:
    return threading.current_thread().name


def test_jobs_run_in_order_off_the_gui_thread(qtbot: Any, runner: TaskRunner) -> None:
    done: list[Any] = []
    for n in range(5):
        runner.submit("job", lambda state, n=n: n, on_done=done.append)
    runner.submit("where", _thread_name, on_done=done.append)
    with qtbot.waitSignal(runner.idle, timeout=5000):
        pass
    assert done[:5] == [0, 1, 2, 3, 4]
    assert done[5] != threading.current_thread().name
    assert runner.is_idle()


def test_partial_results_and_progress(qtbot: Any, runner: TaskRunner) -> None:
    partials: list[Any] = []
    progress: list[tuple[str, int, int]] = []
    runner.progressed.connect(lambda _t, phase, d, total: progress.append((phase, d, total)))

    def job(state: JobState) -> str:
        state.progress.start("Working", 3)
        for i in range(3):
            state.partial(i)
            state.progress.step(i + 1, 3)
        return "ok"

    result: list[Any] = []
    runner.submit("job", job, on_partial=partials.append, on_done=result.append)
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert partials == [0, 1, 2] and result == ["ok"]
    assert progress[0] == ("Working", 0, 3) and progress[-1] == ("Working", 3, 3)


def test_replace_cancels_older_tasks_of_the_same_key(qtbot: Any, runner: TaskRunner) -> None:
    gate = threading.Event()
    done: list[Any] = []

    def slow(state: JobState, value: str) -> str:
        while not gate.wait(0.01):
            state.check()
        return value

    runner.submit("a", slow, "first", on_done=done.append, key="search")
    runner.submit("b", slow, "second", on_done=done.append, key="search", replace=True)
    gate.set()
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert done == ["second"]  # the first one's result is never delivered


def test_errors_go_to_their_handler_or_the_failed_signal(qtbot: Any, runner: TaskRunner) -> None:
    def bad(state: JobState) -> None:
        raise ValidationError("no good", {"name": "required"})

    handled: list[BaseException] = []
    runner.submit("bad", bad, on_error=handled.append)
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.submit("bad again", bad)
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert isinstance(handled[0], ValidationError)
    assert isinstance(blocker.args[1], ValidationError)


def test_a_broken_callback_does_not_stop_the_queue(qtbot: Any, runner: TaskRunner) -> None:
    def explode(_value: Any) -> None:
        raise RuntimeError("view bug")

    done: list[Any] = []
    with qtbot.waitSignal(runner.failed, timeout=5000):
        runner.submit("a", lambda state: 1, on_done=explode)
    runner.submit("b", lambda state: 2, on_done=done.append)
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert done == [2]


def test_cancelled_reads_are_dropped_and_say_so(qtbot: Any, runner: TaskRunner) -> None:
    gate = threading.Event()
    events: list[str] = []

    def slow(state: JobState) -> str:
        while not gate.wait(0.01):
            state.check()
        return "result"

    task = runner.submit(
        "read",
        slow,
        on_done=lambda _r: events.append("done"),
        on_cancelled=lambda: events.append("cancelled"),
    )
    task.cancel()
    gate.set()
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert events == ["cancelled"]


def test_writes_always_report_what_they_did(qtbot: Any, runner: TaskRunner) -> None:
    from cmdb_desktop.errors import CancelledError

    started = threading.Event()
    gate = threading.Event()
    got: list[Any] = []

    def write(state: JobState) -> str:
        started.set()
        gate.wait(5)
        return "written"  # it does not look at the cancel flag: the write happened

    task = runner.submit(
        "write", write, on_done=got.append, on_error=got.append, deliver_if_cancelled=True
    )
    assert started.wait(5)
    task.cancel()
    gate.set()
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert got == ["written"]

    # a write that stops on the flag reports the cancellation as an error
    def stopping(state: JobState) -> None:
        while True:
            state.check()
            threading.Event().wait(0.01)

    task = runner.submit("bulk", stopping, on_error=got.append, deliver_if_cancelled=True)
    task.cancel()
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert isinstance(got[-1], CancelledError)


def test_cancel_all_spares_uncancellable_tasks(qtbot: Any, runner: TaskRunner) -> None:
    gate = threading.Event()
    done: list[Any] = []
    runner.submit("hold", lambda state: gate.wait(5), cancellable=False)
    runner.submit("keep", lambda state: "kept", on_done=done.append, cancellable=False)
    runner.submit("drop", lambda state: "dropped", on_done=done.append)
    runner.cancel()
    gate.set()
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    assert done == ["kept"]
