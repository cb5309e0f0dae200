"""*CI › History of a Deleted CI…*: a CI that is gone still shows its history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from tests.ui.waits import WAIT_MS, settle


def test_the_history_of_a_deleted_ci(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    cmdb = window.cmdb
    ci = cmdb.items.resolve("Server/ams1-srv-000001")
    cmdb.items.update(ci, {"owner": "Someone"})
    cmdb.items.delete(ci)
    settle(qtbot, window)
    window.deleted_history_action.trigger()
    dialog = window.deleted_history
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.ref_edit, f"#{ci}")
    qtbot.keyClick(dialog.ref_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=WAIT_MS)
    assert dialog.title.text().startswith(f"#{ci} Server/ams1-srv-000001 — deleted ")
    actions = [dialog.model.entry(n).action for n in range(dialog.model.rowCount())]
    assert actions[0] == "delete" and actions[-1] == "create"
    assert len(actions) == len(cmdb.history.for_ci(ci))
    # by name too, and a CI that exists is pointed at the panel, not listed
    dialog.look_up("ams1-srv-000001")
    qtbot.waitUntil(lambda: window.runner.is_idle(), timeout=WAIT_MS)
    assert dialog.model.rowCount() == len(actions)
    live = next(r for i, r in sorted(cmdb.items.refs(range(1, 50)).items()) if i != ci)
    dialog.look_up(f"{live.class_name}/{live.name}")
    qtbot.waitUntil(lambda: "is not deleted" in dialog.title.text(), timeout=WAIT_MS)
    assert dialog.model.rowCount() == 0
    dialog.look_up("#999999")
    qtbot.waitUntil(lambda: "nor a deleted one" in dialog.title.text(), timeout=WAIT_MS)
