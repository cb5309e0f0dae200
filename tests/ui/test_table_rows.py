"""The CI table's rows come from the worker: the GUI thread never reads them.

A row that is not cached shows a placeholder and is asked for; requests made
together go in one read; a result that no longer fits (other columns) is
dropped; a CI deleted meanwhile or a read that fails shows as such.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from cmdb_desktop import browse
from cmdb_desktop.browse import BrowseFilter, BrowseSort
from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import table_text
from ui.jobs import JobState
from ui.models.ci_table import (
    BLOCK,
    DELETED_TEXT,
    PENDING_TEXT,
    REQUEST_ROWS,
    UNREADABLE_TEXT,
    VALUE_ROLE,
    CiTableModel,
)
from ui.tasks import TaskRunner

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    r.shutdown()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, int]]:
    """Every read of table rows: (whether the GUI thread made it, how many ids)."""
    done: list[tuple[bool, int]] = []
    real = browse.rows

    def rows(cmdb: Cmdb, ids: Any, keys: Any) -> Any:
        ids = list(ids)
        done.append((threading.current_thread() is threading.main_thread(), len(ids)))
        return real(cmdb, ids, keys)

    monkeypatch.setattr(browse, "rows", rows)
    return done


def _model(cmdb: Cmdb, runner: TaskRunner, keys: tuple[str, ...] = ("name", "owner")) -> Any:
    model = CiTableModel(runner)
    model.set_cmdb(cmdb)
    cols = browse.column_map(cmdb.meta)
    model.set_columns([cols[k] for k in keys])
    ids = browse.all_ids(cmdb, BrowseFilter(), BrowseSort("name"))
    model.set_first_page(ids)
    model.finish(len(ids))
    return model


def test_rows_arrive_from_the_worker(
    qtbot: Any, qtmodeltester: Any, demo_cmdb: Cmdb, runner: TaskRunner, reads: list[Any]
) -> None:
    model = _model(demo_cmdb, runner)
    assert model.index(0, 0).data() == PENDING_TEXT  # asked for, not read here
    assert model.index(0, 1).data() is None
    assert not model.is_loaded(0)
    with qtbot.waitSignal(model.dataChanged, timeout=10_000):
        pass
    assert model.is_loaded(0)
    assert model.index(0, 0).data() == demo_cmdb.items.get(model.ci_id(0)).name
    assert reads and not any(on_gui_thread for on_gui_thread, _n in reads)
    assert reads[0][1] == BLOCK  # the block around the row, in one read
    qtmodeltester.check(model)


def test_requests_made_together_go_in_one_read(
    qtbot: Any, demo_cmdb: Cmdb, runner: TaskRunner, reads: list[Any]
) -> None:
    model = _model(demo_cmdb, runner)
    for row in (0, 100, 200, 300, 1000, 1500):  # a fast scroll, in one pass of the loop
        model.index(row, 0).data()
    qtbot.waitUntil(lambda: runner.is_idle() and model.is_loaded(1500), timeout=10_000)
    assert len(reads) == 1 and reads[0][1] <= REQUEST_ROWS
    # the rows asked for last won; the older ones are asked for again when shown
    assert not model.is_loaded(0)
    assert table_text(qtbot, model, 0) == demo_cmdb.items.get(model.ci_id(0)).name


def test_a_result_for_other_columns_is_dropped(
    qtbot: Any, demo_cmdb: Cmdb, runner: TaskRunner
) -> None:
    model = _model(demo_cmdb, runner)
    release = threading.Event()
    runner.submit("Holding the worker", lambda _state: release.wait(10))
    model.index(0, 0).data()  # asks for (name, owner), queued behind the holder
    qtbot.waitUntil(lambda: runner.busy_with("table-rows"))
    cols = browse.column_map(demo_cmdb.meta)
    model.set_columns([cols["id"], cols["name"]])  # before the (name, owner) rows arrive
    release.set()
    qtbot.waitUntil(runner.is_idle, timeout=10_000)
    assert not model.is_loaded(0)  # dropped, not shown in the wrong columns
    ci_id = model.ci_id(0)
    assert table_text(qtbot, model, 0) == str(ci_id)
    assert model.index(0, 1).data() == demo_cmdb.items.get(ci_id).name


def test_a_deleted_ci_shows_as_deleted(
    qtbot: Any, qtmodeltester: Any, demo_cmdb: Cmdb, runner: TaskRunner
) -> None:
    model = _model(demo_cmdb, runner)
    gone = model.ci_id(1)
    demo_cmdb.items.delete(gone)  # after the ids were listed
    assert table_text(qtbot, model, 1) == DELETED_TEXT
    assert model.index(1, 1).data() == ""
    assert model.index(1, 0).data(VALUE_ROLE) is None
    assert model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) is not None  # greyed
    assert "deleted" in model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(0, 0).data() == demo_cmdb.items.get(model.ci_id(0)).name
    qtmodeltester.check(model)


def test_a_failed_read_shows_as_not_readable(
    qtbot: Any,
    qtmodeltester: Any,
    demo_cmdb: Cmdb,
    runner: TaskRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _model(demo_cmdb, runner)

    def broken(*_args: Any) -> Any:
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(browse, "rows", broken)
    with qtbot.waitSignal(model.fetchFailed, timeout=10_000) as failed:
        model.index(0, 0).data()
    assert failed.args == ["disk I/O error"]
    assert model.index(0, 0).data() == UNREADABLE_TEXT
    assert "disk I/O error" in model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    qtmodeltester.check(model)
    # read again once invalidated (a refresh), and it works again
    monkeypatch.undo()
    model.invalidate()
    assert table_text(qtbot, model, 0) == demo_cmdb.items.get(model.ci_id(0)).name


def test_invalidated_rows_keep_their_values_until_the_new_ones_arrive(
    qtbot: Any, demo_cmdb: Cmdb, runner: TaskRunner
) -> None:
    model = _model(demo_cmdb, runner)
    ci_id = model.ci_id(0)
    old = table_text(qtbot, model, 0, 1)
    demo_cmdb.items.update(ci_id, {"owner": "Someone New"})
    model.invalidate([ci_id])
    assert model.index(0, 1).data() == old  # no flash of placeholders
    assert not model.is_loaded(0)
    assert table_text(qtbot, model, 0, 1) == "Someone New"


def test_the_first_page_paints_without_a_round_trip(
    demo_cmdb: Cmdb, runner: TaskRunner, reads: list[Any]
) -> None:
    from ui import jobs

    model = CiTableModel(runner)
    model.set_cmdb(demo_cmdb)
    cols = browse.column_map(demo_cmdb.meta)
    model.set_columns([cols["name"], cols["owner"]])
    page = jobs.first_page(
        JobState(), demo_cmdb, BrowseFilter(), BrowseSort(), 50, ("name", "owner"), 20
    )
    model.set_first_page(page.ids)
    model.prefill(page.rows, page.keys, page.ref_names)
    reads.clear()
    texts = [model.index(r, 0).data() for r in range(20)]
    assert PENDING_TEXT not in texts and all(model.is_loaded(r) for r in range(20))
    assert reads == [] and runner.is_idle()
