"""The class manager's model edits (issue 21): relationship types tab, a type change
checked before it is applied, a class deleted with its CIs moved elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from tests.ui.waits import settle


def _manager(qtbot: Any, make_window: Any, demo_path: Path) -> tuple[Any, Any]:
    window = make_window(demo_path)
    window.open_class_manager()
    manager = window.class_manager
    assert manager is not None
    settle(qtbot, window)
    return window, manager


def test_relationship_types_tab_adds_edits_and_retires(
    qtbot: Any, make_window: Any, demo_path: Path, answer: Any
) -> None:
    window, manager = _manager(qtbot, make_window, demo_path)
    panel = manager.relationship_types
    assert manager.tabs.tabText(1) == "Relationship types"
    rows = panel.table.rowCount()
    panel.add("Replicates to", "Replica of", "to_target")
    settle(qtbot, window)
    assert panel.table.rowCount() == rows + 1
    rtype, _ = window.cmdb.meta.relationship_type("Replica of")
    assert rtype.impact == "to_target"
    panel.edit("Replicates to", impact="none", reverse_name="Replicated from")
    settle(qtbot, window)
    assert window.cmdb.meta.relationship_type("Replicated from")[0].impact == "none"
    assert "Changing relationship type Replicates to: done." in manager.message.text()
    # undo takes the names and the flow back; redo applies them again
    assert manager.undo_action.text() == "&Undo Changing relationship type Replicates to"
    manager.undo_action.trigger()
    settle(qtbot, window)
    assert window.cmdb.meta.relationship_type("Replica of")[0].impact == "to_target"
    manager.redo_action.trigger()
    settle(qtbot, window)
    assert window.cmdb.meta.relationship_type("Replicated from")[0].impact == "none"
    # a built-in type in use cannot be retired: the refusal shows in the message line
    answer(QMessageBox.StandardButton.Yes)
    panel.select("Depends on")
    panel.retire()
    settle(qtbot, window)
    assert manager.message.property("role") == "error" and "built-in" in manager.message.text()
    panel.select("Replicates to")
    panel.retire()
    settle(qtbot, window)
    assert all(t.name != "Replicates to" for t in window.cmdb.meta.relationship_types)
    assert any(
        e.ci_name == "Replicates to" and e.source == "gui"
        for e in window.cmdb.history.model_changes()
    )


def test_a_type_change_is_checked_before_it_applies(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window, manager = _manager(qtbot, make_window, demo_path)
    window.cmdb.classes.add_attribute("Server", "Slots", "text")
    a = window.cmdb.items.create("Server", {"name": "slot-a", "slots": "4"}).created[0]
    window.cmdb.items.create("Server", {"name": "slot-b", "slots": "many"})
    manager.reload()
    manager.select_class("Server")
    row = next(
        r
        for r in range(manager.attributes.rowCount())
        if manager.attributes.item(r, 1).text() == "slots"
    )
    manager.attributes.selectRow(row)
    manager.definition_button.click()
    dialog = manager.definition_dialog
    assert dialog is not None and not dialog.apply_button.isEnabled()
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("integer"))
    dialog.check_button.click()
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=30_000)
    assert "1 do not" in dialog.result_label.text() and "slot-b" in dialog.result_label.text()
    assert not dialog.apply_button.isEnabled()
    window.cmdb.items.update(window.cmdb.items.resolve("Server/slot-b"), {"slots": "6"})
    dialog.check_button.click()
    qtbot.waitUntil(lambda: dialog.preview is not None and dialog.preview.ok, timeout=30_000)
    assert dialog.apply_button.isEnabled()
    dialog.apply_button.click()
    settle(qtbot, window)
    assert window.cmdb.items.get(a).values["slots"] == 4
    slots = window.cmdb.meta.find_attribute(window.cmdb.meta.get_class("Server"), "slots")
    assert slots is not None and slots.type == "integer"
    manager.undo_action.trigger()
    settle(qtbot, window)
    slots = window.cmdb.meta.find_attribute(window.cmdb.meta.get_class("Server"), "slots")
    assert slots is not None and slots.type == "text"
    assert window.cmdb.items.get(a).values["slots"] == "4"
    assert any(e.source == "undo" for e in window.cmdb.history.model_changes())


def test_deleting_a_class_in_use_offers_to_move_its_cis(
    qtbot: Any,
    make_window: Any,
    demo_path: Path,
    answer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window, manager = _manager(qtbot, make_window, demo_path)
    window.cmdb.classes.add_class("Blade", "Server")
    ci = window.cmdb.items.create("Blade", {"name": "blade-1"}).created[0]
    manager.reload()
    manager.select_class("Blade")
    offered: list[str] = []

    def get_item(_p: Any, _t: str, text: str, items: list[str], *args: Any) -> Any:
        offered.append(text)
        return "Server", True

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(get_item))
    answer(QMessageBox.StandardButton.Yes)
    manager.delete_class_button.click()
    settle(qtbot, window)
    qtbot.waitUntil(lambda: window.cmdb.meta.find_class("Blade") is None, timeout=30_000)
    settle(qtbot, window)
    assert "holds 1 CI" in offered[0]
    assert window.cmdb.items.get(ci).class_name == "Server"
    assert "Deleting class Blade: done." in manager.message.text()
