"""The Changes workspace alone: an AppContext on a real CMDB and no main window."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from PySide6.QtCore import QPoint, Qt

from cmdb_desktop.change_mgmt.records import ChangeService
from cmdb_desktop.cmdb import Cmdb
from tests.cmdb_desktop.change_examples import POWER
from tests.cmdb_desktop.impact_examples import build
from ui.views.change_calendar import LABEL
from ui.views.changes_view import ChangesView

START = datetime(2026, 12, 8, 22)


def _power(path: Path) -> dict[str, int]:
    with Cmdb.open(path, create=True) as cmdb:
        ids = build(cmdb, *POWER)
        alice = ChangeService(cmdb, user="alice")
        for title, ci, hour in (("PDU A", "pdu-a", 0), ("PDU B", "pdu-b", 1)):
            change = alice.add(title, START + timedelta(hours=hour),
                               START + timedelta(hours=hour + 2), [ids[ci]])  # fmt: skip
            alice.move(change.id, "Submitted")
        return ids


def _idle(qtbot: Any, context: Any, view: ChangesView) -> None:
    qtbot.waitUntil(lambda: view.board is not None and context.runner.is_idle(), timeout=20_000)


def test_list_form_states_and_calendar(qtbot: Any, make_context: Any, tmp_path: Path) -> None:
    db = tmp_path / "changes.sqlite"
    _power(db)
    context = make_context(db)
    view = ChangesView(context)
    qtbot.addWidget(view)
    view.resize(1400, 800)
    view.show()
    _idle(qtbot, context, view)
    assert view.model.rowCount() == 2
    assert [view.model.row_values(r)[7] for r in range(2)] == [2, 2]  # overlap + combined
    assert view.select(1)
    assert view.current is not None and view.current.change.title == "PDU A"
    assert "combined with change #2" in view.conflicts_list.item(1).text()
    assert view.calendar.shows(view.current.change.start)  # the calendar follows the choice
    assert view.risk_label.text().splitlines()[0] == f"Risk {view.current.risk.level}:"
    shown = {s for s, b in view.state_buttons.items() if not b.isHidden()}
    assert shown == {"Draft", "Approved", "Cancelled"}
    # Filters: by state and by text.
    view.state_filter.setCurrentText("Draft")
    assert view.model.rowCount() == 0
    view.state_filter.setCurrentText("Active")
    view.text_filter.setText("pdu-b")
    assert view.model.rowCount() == 1 and view.model.ci_id(0) == 2
    view.text_filter.clear()
    view.state_filter.setCurrentText("All states")
    assert view.select(1)
    # Send it back to Draft: only Submitted and Cancelled are offered then.
    qtbot.mouseClick(view.state_buttons["Draft"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.current is not None and view.current.change.state == "Draft")
    _idle(qtbot, context, view)
    assert view.select(1)
    shown = {s for s, b in view.state_buttons.items() if not b.isHidden()}
    assert shown == {"Submitted", "Cancelled"}
    # The calendar: drag PDU B two hours later, then undo.
    view.calendar.show_time(START)
    view.calendar.set_mode("week")
    bars = view.calendar.visible_bars()
    row = next(i for i, b in enumerate(bars) if b.id == 2)
    rect = view.calendar.bar_rect(row, bars[row])
    start = rect.center().toPoint()
    hour = (view.calendar.width() - LABEL - 4) / (7 * 24)
    end = start + QPoint(round(2 * hour), 0)
    qtbot.mousePress(view.calendar, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.calendar, end)
    qtbot.mouseRelease(view.calendar, Qt.MouseButton.LeftButton, pos=end)
    qtbot.waitUntil(lambda: view.undo_stack.canUndo(), timeout=20_000)
    _idle(qtbot, context, view)
    with Cmdb.open(db) as cmdb:
        moved = ChangeService(cmdb).get(2)
    assert moved.start - START - timedelta(hours=1) >= timedelta(minutes=90)
    view.undo_stack.undo()
    qtbot.waitUntil(lambda: context.runner.is_idle(), timeout=20_000)
    with Cmdb.open(db) as cmdb:
        back = ChangeService(cmdb).get(2)
    assert back.start == START + timedelta(hours=1) and back.version == moved.version + 1
    assert context.errors == []


def test_board_pack_and_draft_from_selection(qtbot: Any, make_context: Any, tmp_path: Path) -> None:
    db = tmp_path / "changes.sqlite"
    ids = _power(db)
    context = make_context(db)
    view = ChangesView(context)
    qtbot.addWidget(view)
    view.show()
    _idle(qtbot, context, view)
    context.navigation.selection = [ids["rack1"]]
    view.new_action.trigger()
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=20_000)
    _idle(qtbot, context, view)
    assert view.current is not None and view.current.change.state == "Draft"
    assert [r.name for r in view.current.change.change_set] == ["rack1"]
    assert view.select(1)
    target = tmp_path / "pack.xlsx"
    view.write_pack(str(target))
    qtbot.waitUntil(lambda: target.exists() and context.runner.is_idle(), timeout=20_000)
    wb = load_workbook(target, read_only=True)
    assert wb.sheetnames == ["Change", "Conflicts", "Impacted services"]
    kinds = {row[0] for row in wb["Conflicts"].iter_rows(min_row=2, values_only=True)}
    assert kinds == {"overlap", "combined"}
    wb.close()
    pdf = tmp_path / "pack.pdf"
    view.write_pack(str(pdf))
    qtbot.waitUntil(lambda: pdf.exists() and context.runner.is_idle(), timeout=20_000)
    assert pdf.read_bytes().startswith(b"%PDF-1.4")
    assert context.errors == []
