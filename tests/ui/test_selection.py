"""The table's selection is a set of CIs: whatever happens to the rows, the actions
(Delete, Ctrl+G, Ctrl+I) act on the CI the user sees selected and the panel shows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from cmdb_desktop import browse
from cmdb_desktop.browse import BrowseFilter, BrowseSort
from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import WAIT_MS, settle, table_text
from ui import jobs
from ui.views.browser import FIRST_PAGE


def _activate(qtbot: Any, window: Any) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def _first_visible_row(table: Any) -> int:
    """The first row wholly inside the viewport."""
    row = table.rowAt(0)
    if table.visualRect(table.model().index(row, 0)).top() < 0:
        row += 1
    return int(row)


def _click_row(table: Any, row: int, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
    """A real mouse click on the viewport, where the row is drawn."""
    rect = table.visualRect(table.model().index(row, 0))
    assert table.viewport().rect().contains(rect.center())
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def _selected_rows(table: Any) -> list[int]:
    return sorted({i.row() for i in table.selectionModel().selectedIndexes()})


def _search(qtbot: Any, window: Any, text: str) -> None:
    window.search_box.setFocus()
    qtbot.keyClicks(window.search_box, text)
    qtbot.waitUntil(lambda: window.browser.filter.text == text, timeout=5000)


def test_delete_graph_and_impact_act_on_the_clicked_row_after_a_search(
    qtbot: Any, make_window: Any, demo_path: Path, answer: Any
) -> None:
    window = make_window(demo_path)
    table = window.browser.table
    model = window.browser.model
    bar = table.verticalScrollBar()
    bar.setValue(bar.maximum())  # the unfiltered list was scrolled down
    _search(qtbot, window, "srv")
    settle(qtbot, window)
    assert model.total > 100
    assert bar.value() == 0, "a new result opens at its top"

    bar.setValue(bar.maximum() // 2)
    row = _first_visible_row(table)
    assert row > 0
    clicked = model.ci_id(row)
    name = table_text(qtbot, model, row)
    first = model.ci_id(0)
    _click_row(table, row)
    qtbot.waitUntil(lambda: window.panel.ci_id == clicked, timeout=WAIT_MS)
    settle(qtbot, window)
    # what the user sees: the clicked row, still under the pointer, selected and current
    assert _selected_rows(table) == [row]
    assert table.currentIndex().row() == row
    assert model.ci_id(table.rowAt(table.visualRect(model.index(row, 0)).center().y())) == clicked
    assert window.browser.selected_ids() == [clicked]
    assert window.browser.current_ci() == clicked

    _activate(qtbot, window)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    impact = window.workbench.impact
    qtbot.waitUntil(lambda: [r.id for r in impact.change_set] == [clicked], timeout=WAIT_MS)

    window.show_workspace("browse")
    _activate(qtbot, window)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    graph = window.workbench.graph
    qtbot.waitUntil(lambda: graph.request is not None, timeout=WAIT_MS)
    assert graph.request.centre == clicked
    settle(qtbot, window)

    window.show_workspace("browse")
    _activate(qtbot, window)
    table.setFocus()
    asked = answer(QMessageBox.StandardButton.Yes)
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    assert len(asked) == 1 and f"“{name}”" in asked[0]
    settle(qtbot, window)
    with Cmdb.open(demo_path) as c:
        assert not c.items.get_many([clicked])
        assert c.items.get_many([first])


def test_a_click_while_the_result_loads_is_not_undone_by_rows_arriving(
    qtbot: Any, make_window: Any, demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI current before a search lies beyond the first page: the user clicks a row
    of the first page before the rest of the ids arrive; their arrival must not move
    the selection back to the old CI (the panel shows the clicked one)."""
    window = make_window(demo_path)
    model = window.browser.model
    table = window.browser.table
    with Cmdb.open(demo_path) as c:
        found = browse.all_ids(c, BrowseFilter(text="srv"), BrowseSort())
    assert len(found) > FIRST_PAGE + 50
    far = found[FIRST_PAGE + 50]  # beyond the first page of the search
    window.show_ci(far)
    settle(qtbot, window)
    assert window.browser.current_ci() == far

    release = threading.Event()
    real: Callable[..., int] = jobs.count_and_ids

    def held(state: Any, *args: Any) -> int:
        release.wait(WAIT_MS / 1000)
        return real(state, *args)

    monkeypatch.setattr(jobs, "count_and_ids", held)
    try:
        _search(qtbot, window, "srv")
        qtbot.waitUntil(lambda: model.rowCount() > 0 and not model.complete, timeout=WAIT_MS)
        assert model.row_of(far) is None  # not on the first page
        assert window.browser.selected_ids() == [far]  # kept selected until its row arrives
        row = _first_visible_row(table) + 2
        clicked = model.ci_id(row)
        _click_row(table, row)
        # the click selects at once; the panel's load waits behind the held ids
        # (one worker), so the rest of the ids arrive only after the click
        assert window.browser.selected_ids() == [clicked]
    finally:
        release.set()
    qtbot.waitUntil(lambda: window.panel.ci_id == clicked, timeout=WAIT_MS)
    settle(qtbot, window)
    assert model.complete and model.row_of(far) is not None
    assert window.browser.selected_ids() == [clicked]
    assert window.browser.current_ci() == clicked
    assert _selected_rows(table) == [model.row_of(clicked)]


def test_selection_follows_its_cis_across_a_refresh_and_other_columns(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    """Rows move (a CI sorted before them is created, columns change): the same CIs
    stay selected, whatever rows they are on now."""
    window = make_window(demo_path)
    model = window.browser.model
    table = window.browser.table
    _search(qtbot, window, "srv")
    settle(qtbot, window)
    _click_row(table, 3)
    _click_row(table, 5, Qt.KeyboardModifier.ControlModifier)
    chosen = [model.ci_id(3), model.ci_id(5)]
    qtbot.waitUntil(lambda: window.browser.selected_ids() == chosen, timeout=WAIT_MS)
    window.cmdb.items.create("Server", {"name": "aaa-srv-first"})  # sorts before them
    qtbot.waitUntil(lambda: model.ci_id(3) != chosen[0], timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.browser.selected_ids() == chosen
    assert _selected_rows(table) == [model.row_of(chosen[0]), model.row_of(chosen[1])]
    window.browser.set_visible_keys(["name", "owner"])
    assert window.browser.selected_ids() == chosen
    assert window.browser.current_ci() == chosen[1]


def test_a_refused_switch_keeps_the_table_on_the_edited_ci(
    qtbot: Any, make_window: Any, demo_path: Path, answer: Any
) -> None:
    """Unsaved edits, a click on another row, "Cancel": the panel keeps the edited CI,
    and so does the table's selection (Delete would act on it)."""
    window = make_window(demo_path)
    model = window.browser.model
    table = window.browser.table
    _click_row(table, 2)
    edited = model.ci_id(2)
    qtbot.waitUntil(lambda: window.panel.ci_id == edited, timeout=WAIT_MS)
    settle(qtbot, window)
    owner = window.panel.form.editor("owner")
    line = getattr(owner, "line", owner)
    line.setFocus()
    qtbot.keyClicks(line, "x")
    qtbot.waitUntil(lambda: window.panel.dirty, timeout=WAIT_MS)
    answer(QMessageBox.StandardButton.Cancel)
    _click_row(table, 6)
    qtbot.waitUntil(lambda: window.browser.selected_ids() == [edited], timeout=WAIT_MS)
    assert window.panel.ci_id == edited
    assert window.browser.current_ci() == edited
