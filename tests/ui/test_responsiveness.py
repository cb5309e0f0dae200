"""The GUI never blocks: a large impact and a large import run in the worker.

Checked by what runs where, not by how long it takes (these machines are
shared; speed is the benchmarks' business — bench/bench_gui.py measures the
longest stall of the GUI thread at 1M CIs): while the user works through a
large impact and a large import, no SQL statement runs on the GUI thread,
and the result reaches the GUI while its thread is free to handle events
(a timer keeps firing throughout).
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from sqlalchemy import event

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import copy_sqlite
from tests.ui.waits import go_next, settle


@contextmanager
def watched(cmdb: Cmdb) -> Iterator[dict[str, int]]:
    """Count SQL statements run on the GUI thread and elsewhere, and heartbeats of a
    10 ms timer on the GUI thread, while the block runs."""
    gui = threading.get_ident()
    seen = {"gui": 0, "worker": 0, "beats": 0}

    def statement(*_args: Any) -> None:
        seen["gui" if threading.get_ident() == gui else "worker"] += 1

    def beat() -> None:
        seen["beats"] += 1

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(beat)
    event.listen(cmdb.engine, "before_cursor_execute", statement)
    timer.start()
    try:
        yield seen
    finally:
        timer.stop()
        event.remove(cmdb.engine, "before_cursor_execute", statement)


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cmdb_desktop import demo

    path = tmp_path_factory.mktemp("big") / "big.sqlite"
    with Cmdb.open(path, user="demo") as c:
        demo.generate(c, 30_000, seed=3)
    return path


@pytest.fixture
def big_path(big_db: Path, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "big.sqlite"
    copy_sqlite(big_db, path)
    yield path


def test_a_large_impact_never_blocks_the_gui(qtbot: Any, make_window: Any, big_path: Path) -> None:
    window = make_window(big_path)
    ws = window.workbench.impact
    site_class = window.cmdb.meta.get_class("Site").id
    with Cmdb.open(big_path) as other:
        sites = [r for r in other.items.find_by_name("Amsterdam DC1")]
        sites += [r for r in other.items.find_by_name("Berlin DC1")]
    assert sites and all(r.class_name == "Site" for r in sites) and site_class
    with watched(window.cmdb) as seen:
        ws.add([*sites])
        window.show_workspace("impact")
        qtbot.waitUntil(lambda: ws.table is not None and not ws.is_busy(), timeout=120_000)
        qtbot.waitUntil(lambda: ws.picture is not None, timeout=120_000)
        ws.tabs.setCurrentIndex(1)  # the picture
        ws.state_filter.setCurrentIndex(1)
        ws.text_filter.setText("vm")
        ws.apply_filters()
        settle(qtbot, window, timeout=120_000)
    assert len(ws.table) > 8_000
    assert seen["worker"] > 0 and seen["gui"] == 0, seen
    assert seen["beats"] > 0  # the GUI thread kept handling events


def test_a_large_import_never_blocks_the_gui(
    qtbot: Any, make_window: Any, big_path: Path, tmp_path: Path
) -> None:
    rows = 20_000
    path = tmp_path / "workstations.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Hostname", "Serial Number", "Asset Tag", "Owner", "Status", "Model"])
        for n in range(rows):
            w.writerow(
                [f"lt-{n:06}", f"SNX{n:08}", f"AT-X{n:07}", f"user{n % 97}", "In Use", "T14"]
            )
    window = make_window(big_path)
    before = window.cmdb.items.count()
    with watched(window.cmdb) as seen:
        wizard = window.workbench.open_import(str(path))
        qtbot.waitUntil(wizard.file_page.isComplete, timeout=60_000)
        go_next(qtbot, wizard, wizard.sheets_page)
        go_next(qtbot, wizard, wizard.mapping_page)
        wizard.mapping_page.editor.set_default_class("Workstation")
        go_next(qtbot, wizard, wizard.preview_page)
        assert wizard.plan.counts()["cis"]["created"] == rows
        go_next(qtbot, wizard, wizard.result_page)
        settle(qtbot, window, timeout=120_000)
    assert seen["worker"] > 0 and seen["gui"] == 0, seen
    assert seen["beats"] > 0  # the GUI thread kept handling events
    assert window.cmdb.items.count() == before + rows
