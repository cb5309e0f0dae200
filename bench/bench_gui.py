"""The GUI at scale: first painted page, scroll to the end, search as you type,
peak memory and the longest stall of the GUI thread.

Each side runs in its own process (so peak memory is its own), offscreen, on
the same demo file, in the same run:

* **ours**: the real :class:`ui.main_window.MainWindow` (worker thread, id
  list + row cache, browse.py queries);
* **reference**: a bare ``QSqlQueryModel`` + ``QTableView`` over the same
  file with the same columns and order, which is the simplest thing that
  shows a big table in Qt.

Timings run from the request (open the file / apply the search / press
Ctrl+End) to the end of the first paint of the table's viewport that shows
the new rows; both windows are up and idle before the clock starts. A 5 ms
heartbeat timer on the GUI thread records the longest gap (a stall) over the
whole session. ``python -m bench.bench_gui [SIZE]`` runs
it alone; ``--child ours|reference --db FILE`` is one side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.datasets import dataset
from bench.harness import CACHE, Figure, Measurement, Sizes, part, report

#: What is typed into the search box, one query after another.
QUERIES = ("am", "ams1", "ams1 srv", "alice", "thinksystem", "db")
#: Child runs per side (medians are reported).
REPEAT = 3
#: The search box waits this long after the last keystroke; not part of the latency
#: (the same as ``ui.main_window.SEARCH_DEBOUNCE_MS``, kept here so the parent
#: process need not load Qt).
DEBOUNCE_MS = 150

COLUMNS_SQL = (
    "ci.id, ci.name, cls.name AS class, ci.status, ci.environment, ci.criticality, ci.owner, "
    "ci.support_group, ci.updated_at"
)


# -- the child side -----------------------------------------------------------


class _Probe:
    """Heartbeat (longest GUI-thread gap) and paint watcher for one table view."""

    def __init__(self, viewport: Any) -> None:
        from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

        self.max_gap = 0.0
        #: What the session is doing (open, scroll, search): the longest gap of each.
        self.phase = "open"
        self.gaps: dict[str, float] = {}
        #: The GUI thread's own CPU time within the longest gap of each phase: the
        #: rest of the gap it waited (for the core or the GIL).
        self.gap_cpu: dict[str, float] = {}
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)
        self.timer.start()
        self._armed: Callable[[], bool] | None = None
        self.painted_at: float | None = None
        probe = self

        class Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt name
                if event.type() == QEvent.Type.Paint and probe._armed is not None:
                    if probe._armed():
                        probe._armed = None
                        # paint now, here, and stop the clock when it is done
                        obj.removeEventFilter(self)
                        QCoreApplication.sendEvent(obj, event)
                        probe.painted_at = time.perf_counter()
                        obj.installEventFilter(self)
                        return True
                return False

        self.filter = Filter()
        viewport.installEventFilter(self.filter)

    def _beat(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap = now - self._last
        self.max_gap = max(self.max_gap, gap)
        if gap > self.gaps.get(self.phase, 0.0):
            self.gaps[self.phase] = gap
            self.gap_cpu[self.phase] = cpu - self._last_cpu
        self._last, self._last_cpu = now, cpu

    def arm(self, ready: Callable[[], bool]) -> None:
        """The next paint after ``ready()`` holds is the one we time."""
        self.painted_at = None
        self._armed = ready

    def reset_gap(self) -> None:
        self.max_gap = 0.0
        self.gaps = {}
        self.gap_cpu = {}
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()


def _wait(predicate: Callable[[], bool], timeout: float = 600.0) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.perf_counter() + timeout
    loop = QEventLoop()
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark step did not finish")
        QTimer.singleShot(1, loop.quit)
        loop.exec()


def _peak_mb() -> float:
    """This process's own peak RSS (VmHWM): ru_maxrss would carry over the peak of
    the benchmark process that started it (Linux keeps it across exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ours(db: str) -> dict[str, Any]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from ui.main_window import MainWindow
    from ui.theme import Theme

    settings_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-gui-{os.getpid()}.ini"
    theme = Theme(app, "light")
    window = MainWindow(QSettings(str(settings_file), QSettings.Format.IniFormat), theme)
    window.interactive = False
    window.resize(1400, 860)
    window.show()
    model = window.browser.model
    probe = _Probe(window.browser.table.viewport())
    _wait(window.is_settled)  # the window is up and idle, as a user finds it
    out: dict[str, Any] = {}

    # first painted page
    resets = [0]
    model.modelReset.connect(lambda: resets.__setitem__(0, resets[0] + 1))
    probe.reset_gap()
    start = time.perf_counter()
    probe.arm(lambda: model.rowCount() > 0 and model.ci_id(0) is not None)
    window.open_database(db)
    _wait(lambda: probe.painted_at is not None)
    out["first_page"] = probe.painted_at - start  # type: ignore[operator]

    # scroll to the end as soon as the size is known (Ctrl+End)
    probe.phase = "ids"
    _wait(lambda: model.total is not None)
    probe.phase = "scroll"
    start = time.perf_counter()
    last = model.total - 1  # type: ignore[operator]
    probe.arm(lambda: model.ci_id(last) is not None)
    window.browser.table.scrollToBottom()
    _wait(lambda: probe.painted_at is not None)
    out["scroll_end"] = probe.painted_at - start  # type: ignore[operator]
    _wait(window.is_settled)

    # search as you type (the debounce delay is not counted)
    latencies = []
    probe.phase = "search"
    for query in QUERIES:
        before = resets[0]
        start = time.perf_counter()
        probe.arm(lambda before=before: resets[0] > before)
        window.search_box.blockSignals(True)
        window.search_box.setText(query)
        window.search_box.blockSignals(False)
        window.apply_search()
        _wait(lambda: probe.painted_at is not None)
        latencies.append(probe.painted_at - start)  # type: ignore[operator]
        _wait(window.is_settled)
    out["search"] = latencies
    out["stall"] = probe.max_gap
    out["stall_by_phase"] = probe.gaps
    out["stall_cpu_by_phase"] = probe.gap_cpu
    out["peak_mb"] = _peak_mb()
    out["rows"] = model.total
    window.close()
    settings_file.unlink(missing_ok=True)
    return out


def child_idle(db: str) -> dict[str, Any]:
    """An idle window with the same heartbeat for :data:`IDLE_SECONDS`: what the OS
    scheduler alone costs the GUI thread (the floor under the stall figure)."""
    from PySide6.QtWidgets import QApplication, QTableView

    app = QApplication.instance() or QApplication([])
    view = QTableView()
    view.resize(1400, 860)
    view.show()
    probe = _Probe(view.viewport())
    _wait(lambda: True)
    probe.reset_gap()
    end = time.perf_counter() + IDLE_SECONDS
    _wait(lambda: time.perf_counter() > end)
    out = {"stall": probe.max_gap}
    view.close()
    del app
    return out


#: How long the idle heartbeat runs.
IDLE_SECONDS = 10.0


def child_reference(db: str) -> dict[str, Any]:
    from PySide6.QtSql import QSqlDatabase, QSqlQuery, QSqlQueryModel
    from PySide6.QtWidgets import QApplication, QTableView

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    view = QTableView()
    view.resize(1400, 860)
    view.show()
    probe = _Probe(view.viewport())
    _wait(lambda: True)
    out: dict[str, Any] = {}

    probe.reset_gap()
    start = time.perf_counter()
    database = QSqlDatabase.addDatabase("QSQLITE", "bench")
    database.setDatabaseName(db)
    database.setConnectOptions("QSQLITE_OPEN_READONLY")
    assert database.open(), database.lastError().text()
    model = QSqlQueryModel()
    probe.arm(lambda: model.rowCount() > 0)
    query = QSqlQuery(database)
    query.exec(
        f"SELECT {COLUMNS_SQL} FROM ci JOIN ci_class cls ON cls.id = ci.class_id "
        "ORDER BY ci.name, ci.id"
    )
    model.setQuery(query)
    view.setModel(model)
    _wait(lambda: probe.painted_at is not None)
    out["first_page"] = probe.painted_at - start  # type: ignore[operator]

    # scroll to the end: a QSqlQueryModel must fetch every row to get there
    start = time.perf_counter()
    while model.canFetchMore():
        model.fetchMore()
    probe.arm(lambda: True)
    view.scrollToBottom()
    _wait(lambda: probe.painted_at is not None)
    out["scroll_end"] = probe.painted_at - start  # type: ignore[operator]
    out["rows"] = model.rowCount()

    latencies = []
    for text in QUERIES:
        from cmdb_desktop.search import fts5_query

        start = time.perf_counter()
        probe.arm(lambda: True)
        q = QSqlQuery(database)
        q.prepare(
            f"SELECT {COLUMNS_SQL} FROM ci JOIN ci_class cls ON cls.id = ci.class_id "
            "WHERE ci.id IN (SELECT rowid FROM ci_fts WHERE ci_fts MATCH ?) "
            "ORDER BY ci.name, ci.id"
        )
        q.addBindValue(fts5_query(text))
        q.exec()
        model.setQuery(q)
        _wait(lambda: probe.painted_at is not None)
        latencies.append(probe.painted_at - start)  # type: ignore[operator]
    out["search"] = latencies
    out["stall"] = probe.max_gap
    out["peak_mb"] = _peak_mb()
    view.close()
    return out


# -- the parent side ----------------------------------------------------------


#: The core of the one-core run (issue 20: "a one-core laptop").
ONE_CORE = "0"


def _child(side: str, db: Path, *, pin: str | None = None) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    prefix = ["taskset", "-c", pin] if pin is not None else []
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "bench.bench_gui", "--child", side, "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} run failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _busy_neighbour() -> subprocess.Popen[bytes]:
    """A process spinning on :data:`ONE_CORE`: the other program a laptop runs meanwhile."""
    return subprocess.Popen(
        ["taskset", "-c", ONE_CORE, sys.executable, "-c", "while True: pass"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _longest(runs: list[dict[str, Any]], phase: str) -> str:
    """The longest stall of ``phase`` over ``runs``, with the GUI thread's CPU time in it."""
    worst = max(runs, key=lambda r: r["stall_by_phase"].get(phase, 0.0))
    gap = worst["stall_by_phase"].get(phase, 0.0) * 1000
    cpu = worst.get("stall_cpu_by_phase", {}).get(phase, 0.0) * 1000
    return f"{phase} {gap:.0f} ms (CPU {cpu:.0f} ms)"


def run(size: int, repeat: int = REPEAT, *, one_core: bool = False) -> list[Figure]:
    """Both sides ``repeat`` times, alternately; ``one_core``: each side pinned to one
    core that a busy loop shares (the GUI thread, the worker and the neighbour take
    turns on it)."""
    db, _built = dataset(size)
    ours: list[dict[str, Any]] = []
    ref: list[dict[str, Any]] = []
    pin = ONE_CORE if one_core else None
    neighbour = _busy_neighbour() if one_core else None
    try:
        for _ in range(repeat):
            ours.append(_child("ours", db, pin=pin))
            ref.append(_child("reference", db, pin=pin))
        idle = [_child("idle", db, pin=pin)["stall"] for _ in range(repeat)]
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()

    def m(name: str, runs: list[dict[str, Any]], key: str, unit: str = "s") -> Measurement:
        values = [statistics.median(r[key]) if isinstance(r[key], list) else r[key] for r in runs]
        return Measurement(name, values, unit)

    label = f"{size:,} CIs" + (", one core beside a busy loop" if one_core else "")
    gui = "MainWindow (worker + id list)"
    bare = "bare QSqlQueryModel + QTableView"
    stall = m("GUI: longest GUI-thread stall", ours, "stall")
    budget = Measurement("budget: 100 ms", [0.1])
    return [
        Figure(
            f"GUI first painted page, {label}",
            m(gui, ours, "first_page"),
            m(bare, ref, "first_page"),
            target=1.5,
        ),
        Figure(
            f"GUI scroll to the end, {label}",
            m(gui, ours, "scroll_end"),
            m(bare, ref, "scroll_end"),
            target=1.5,
            note="ours: Ctrl+End as soon as the size is known, until the last row is "
            "painted; reference: fetch every row (QSqlQueryModel's only way there)",
        ),
        Figure(
            f"GUI search-as-you-type latency, {label}",
            m(gui, ours, "search"),
            m(bare, ref, "search"),
            target=1.5,
            note=f"median over {', '.join(QUERIES)}; the {DEBOUNCE_MS} ms debounce comes on top",
        ),
        Figure(
            f"GUI peak memory, {label}",
            m(gui, ours, "peak_mb", "MB"),
            m(bare, ref, "peak_mb", "MB"),
            target=1.5,
            note=f"absolute limit 1,536 MB; ours {max(r['peak_mb'] for r in ours):,.0f} MB",
        ),
        Figure(
            f"GUI longest stall, {label}",
            stall,
            budget,
            target=1.0,
            note="5 ms heartbeat on the GUI thread over open, scroll and searches; "
            f"reference stalls {max(r['stall'] for r in ref):.2f} s; ours, longest by phase "
            "(the GUI thread's own CPU time within it): "
            + ", ".join(_longest(ours, phase) for phase in ("open", "ids", "scroll", "search")),
        ),
        Figure(
            f"GUI heartbeat of an idle window, {label}",
            Measurement("idle QTableView, same 5 ms heartbeat", idle),
            budget,
            note=f"{IDLE_SECONDS:.0f} s of nothing to do: the gap the OS scheduler alone "
            "makes (the floor under the stall figure)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_gui")
    parser.add_argument("size", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--child", choices=("ours", "reference", "idle"))
    parser.add_argument("--db")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument(
        "--one-core", action="store_true", help="pin to one core beside a busy loop"
    )
    args = parser.parse_args()
    if args.child:
        fn = {"ours": child_ours, "reference": child_reference, "idle": child_idle}[args.child]
        print(json.dumps(fn(args.db)), flush=True)
        # Skip interpreter teardown: PySide6 6.12 can crash freeing QtSql objects
        # at exit, after the figures are out (a known shiboken refcount issue).
        os._exit(0)
    # run alone, the figures go beside the dataset cache (bench/results.json is the suite's)
    report(run(args.size, args.repeat, one_core=args.one_core), CACHE / "results-gui.json")


@part("gui-one-core")
def run_one_core_part(sizes: Sizes, quick: bool) -> list[Figure]:
    """Issue 20: the GUI budget on a one-core laptop (after the two-core ``gui`` part)."""
    return run(sizes["large"], repeat=1 if quick else REPEAT, one_core=True)


if __name__ == "__main__":
    main()
