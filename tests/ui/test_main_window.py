"""The main window driven like a user would, on real SQLite files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import settle, table_text, table_texts


def test_opens_a_cmdb_and_shows_the_first_page(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    model = window.browser.model
    assert model.total == 2000
    assert model.complete
    assert window.browser.count_label.text() == "2,000 CIs"
    assert window.count_label.text() == "2,000 CIs"
    assert window.windowTitle().startswith(str(demo_path))
    names = table_texts(qtbot, model, range(5))
    assert names == sorted(names, key=str)
    # navigator: live counts per class
    item = window.navigator.model.class_item(window.cmdb.meta.get_class("Server").id)
    count = item.parent().child(item.row(), 1)
    with Cmdb.open(demo_path) as other:
        servers = other.items.counts_by_class()["Server"]
    assert count.text() == f"{servers:,}"


def test_search_box_filters_with_match_count(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    qtbot.keyClicks(window.search_box, "ams1-srv")
    qtbot.waitUntil(lambda: window.browser.filter.text == "ams1-srv", timeout=5000)
    settle(qtbot, window)
    with Cmdb.open(demo_path) as c:
        expected = c.search.count("ams1-srv")
    assert window.browser.model.total == expected > 0
    assert window.match_label.text() == f"{expected:,} matches"
    assert window.count_label.text() == f"{expected:,} of 2,000 CIs"
    first = table_text(qtbot, window.browser.model, 0)
    assert first.startswith("ams1-srv")
    # Escape clears the search and everything comes back
    window.search_box.setFocus()
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.browser.filter.text == "", timeout=5000)
    settle(qtbot, window)
    assert window.browser.model.total == 2000


def test_a_pasted_page_in_the_search_box_gets_a_message(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    """A 100,000-character search is refused (cmdb_desktop.search.check_query), and the
    window says so instead of searching for a quarter of a minute."""
    window = make_window(demo_path)
    window.search_box.setText("ams1-srv " * 11_000)
    window.apply_search()
    qtbot.waitUntil(lambda: "Search failed" in window.statusBar().currentMessage(), timeout=10_000)
    assert "at most 1,000 are searched" in window.statusBar().currentMessage()
    window.search_box.setText("ams1-srv")
    window.apply_search()
    qtbot.waitUntil(lambda: window.browser.filter.text == "ams1-srv", timeout=5000)
    settle(qtbot, window)
    assert window.browser.model.total > 0


def test_class_in_navigator_filters_the_table(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    meta = window.cmdb.meta
    hardware = meta.get_class("Hardware")
    item = window.navigator.model.class_item(hardware.id)
    window.navigator.tree.clicked.emit(item.index())
    settle(qtbot, window)
    with Cmdb.open(demo_path) as c:
        counts = c.items.counts_by_class()
    expected = sum(counts.get(x.name, 0) for x in meta.descendants(hardware))
    assert window.browser.model.total == expected
    classes = set(table_texts(qtbot, window.browser.model, range(50), 1))
    assert classes <= {x.name for x in meta.descendants(hardware)}
    # hardware tables show the asset columns
    assert "serial_number" in window.browser.visible_keys()


def _select_rows(window: Any, first: int, last: int) -> None:
    """Select table rows first..last (through the selection model: QTableView.selectRow
    depends on the keyboard modifiers a previous test may have left behind)."""
    from PySide6.QtCore import QItemSelection, QItemSelectionModel

    model = window.browser.model
    selection = QItemSelection(model.index(first, 0), model.index(last, model.columnCount() - 1))
    sm = window.browser.table.selectionModel()
    sm.setCurrentIndex(model.index(first, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
    sm.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)


def _activate(qtbot: Any, window: Any) -> None:
    """Keyboard shortcuts need the window to be the active one (dialogs may have been)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def _fill(qtbot: Any, widget: Any, text: str) -> None:
    """Type into a field as a user would (select all, then type)."""
    line = getattr(widget, "line", widget)
    line.setFocus()
    line.selectAll()
    qtbot.keyClick(line, Qt.Key.Key_Delete)
    if text:
        qtbot.keyClicks(line, text)


def _choose(combo: Any, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, f"{text!r} not in the list"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_create_a_ci_through_the_form(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    window.new_ci("Server")
    form = window.panel.form
    assert form.raw_values()["status"] == "In Use"  # the class's default, shown
    assert not form.dirty  # shown, not typed: leaving asks nothing
    assert form.is_new
    assert window.panel.title.text() == "New Server"
    _fill(qtbot, form.editor("name"), "web-new-01")
    _choose(form.editor("status"), "In Use")
    _fill(qtbot, form.editor("serial_number"), "SN-GUI-0001")
    _fill(qtbot, form.editor("purchase_date"), "31 Jan 2024")
    _activate(qtbot, window)
    qtbot.keyClick(window.panel, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, window)
    with Cmdb.open(demo_path) as c:
        new_id = c.items.resolve("Server/web-new-01")
        record = c.items.get(new_id)
        history = c.history.for_ci(new_id)
    assert record.values["serial_number"] == "SN-GUI-0001"
    assert str(record.values["purchase_date"]) == "2024-01-31"
    assert history[0].source == "gui" and history[0].action == "create"
    # the panel now shows the saved CI, the table lists and selects it
    assert window.panel.ci_id == new_id
    assert not window.panel.dirty
    assert window.browser.model.total == 2001
    assert window.browser.current_ci() == new_id
    assert window.editor.undo_action.text() == "&Undo Create Server web-new-01"


def test_inline_validation_and_core_problems_next_to_fields(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    window.new_ci("Server")
    form = window.panel.form
    _fill(qtbot, form.editor("cost"), "lots")
    assert "not a number" in form.problems()["cost"]
    _fill(qtbot, form.editor("cost"), "1,250.50")
    assert "cost" not in form.problems()
    # save without a name: the core's problem lands next to the field (status has a default)
    window.panel.save()
    settle(qtbot, window)
    problems = form.problems()
    assert "name" in problems and "status" not in problems
    with Cmdb.open(demo_path) as c:
        assert c.items.count() == 2000


def _open_ci(qtbot: Any, window: Any, ref: str) -> int:
    ci_id = window.cmdb.items.resolve(ref)
    window.show_ci(ci_id)
    settle(qtbot, window)
    assert window.panel.ci_id == ci_id
    return ci_id


def test_edit_undo_redo(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    form = window.panel.form
    old_owner = window.cmdb.items.get(ci_id).values["owner"]
    _fill(qtbot, form.editor("owner"), "Alice Example")
    _choose(form.editor("environment"), "Test")
    assert window.panel.dirty and window.panel.save_button.isEnabled()
    window.panel.save_button.click()
    settle(qtbot, window)
    record = window.cmdb.items.get(ci_id)
    assert record.values["owner"] == "Alice Example"
    assert record.values["environment"] == "Test"
    assert record.version == 2
    assert not window.panel.dirty
    assert window.editor.undo_action.text() == ("&Undo Edit ams1-srv-000001 (Environment, Owner)")
    # the table row shows the new value (cache invalidated)
    row = window.browser.model.row_of(ci_id)
    owner_col = window.browser.model.column_of("owner")
    assert table_text(qtbot, window.browser.model, row, owner_col) == "Alice Example"

    window.editor.undo_action.trigger()
    settle(qtbot, window)
    record = window.cmdb.items.get(ci_id)
    assert record.values["owner"] == old_owner
    assert record.version == 3
    assert form.editor("owner").text() == old_owner  # the panel reloaded
    assert window.cmdb.history.for_ci(ci_id)[0].source == "undo"

    window.editor.redo_action.trigger()
    settle(qtbot, window)
    assert window.cmdb.items.get(ci_id).values["owner"] == "Alice Example"
    assert window.editor.stack.index() == 1


def test_relate_two_cis_navigate_and_undo(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    app_id = _open_ci(qtbot, window, "Apache Tomcat")
    before = len(window.cmdb.relations.of(app_id))
    window.add_relationship_action.trigger()
    picker = window.panel.picker
    assert picker is not None and picker.isVisible()
    picker.set_label("Used by")
    qtbot.keyClicks(picker.search_edit, "ams1-srv-000003")
    qtbot.waitUntil(lambda: picker.results.rowCount() > 0, timeout=5000)
    other = picker.results.ref(0)
    assert other is not None and other.name == "ams1-srv-000003"
    picker.add_button.click()
    settle(qtbot, window)
    rels = window.cmdb.relations.of(app_id)
    assert len(rels) == before + 1
    added = next(r for r in rels if r.other.id == other.id)
    assert added.label == "Used by" and added.direction == "incoming"
    # the relationship tree shows it under its label; double-click goes there
    model = window.panel.relationship_model
    groups = {model.index(r, 0).data(): r for r in range(model.rowCount())}
    group = next(r for label, r in groups.items() if label.startswith("Used by"))
    parent = model.index(group, 0)
    child = next(
        model.index(r, 0, parent)
        for r in range(model.rowCount(parent))
        if model.index(r, 0, parent).data() == "ams1-srv-000003"
    )
    window.panel.relationship_view.doubleClicked.emit(child)
    settle(qtbot, window)
    assert window.panel.ci_id == other.id
    assert window.back_action.isEnabled()
    # back and forward
    _activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    settle(qtbot, window)
    assert window.panel.ci_id == app_id
    window.forward_action.trigger()
    settle(qtbot, window)
    assert window.panel.ci_id == other.id
    # undo removes the relationship, redo brings it back
    assert window.editor.undo_action.text().startswith("&Undo Relate Apache Tomcat Used by")
    window.editor.undo()
    settle(qtbot, window)
    assert len(window.cmdb.relations.of(app_id)) == before
    window.editor.redo()
    settle(qtbot, window)
    assert len(window.cmdb.relations.of(app_id)) == before + 1


def test_remove_relationship_from_the_panel(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    before = window.cmdb.relations.of(ci_id)
    model = window.panel.relationship_model
    child = model.index(0, 0, model.index(0, 0))
    window.panel.relationship_view.setCurrentIndex(child)
    view = window.panel.selected_relationship()
    assert view is not None
    window.panel.remove_relationship_button.click()
    settle(qtbot, window)
    assert len(window.cmdb.relations.of(ci_id)) == len(before) - 1
    assert window.panel.relationship_model.total == len(before) - 1
    window.editor.undo()
    settle(qtbot, window)
    assert {r.other.id for r in window.cmdb.relations.of(ci_id)} == {r.other.id for r in before}


def test_stale_version_shows_both_values(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    _fill(qtbot, window.panel.form.editor("owner"), "Mine")
    # someone else saves first, from another program
    with Cmdb.open(demo_path, user="colleague") as other:
        other.items.update(ci_id, {"owner": "Theirs"})
    window.panel.save()
    qtbot.waitUntil(lambda: window.panel.conflict_dialog is not None, timeout=5000)
    dialog = window.panel.conflict_dialog
    assert dialog.isVisible()
    assert ("Owner", "Mine", "Theirs") in dialog.values()
    # nothing was overwritten so far
    assert window.cmdb.items.get(ci_id).values["owner"] == "Theirs"
    dialog.overwrite_button.click()
    settle(qtbot, window)
    record = window.cmdb.items.get(ci_id)
    assert record.values["owner"] == "Mine"
    assert record.version == 3


def test_stale_version_reload_keeps_theirs(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    _fill(qtbot, window.panel.form.editor("owner"), "Mine")
    with Cmdb.open(demo_path) as other:
        other.items.update(ci_id, {"owner": "Theirs"})
    window.panel.save()
    qtbot.waitUntil(lambda: window.panel.conflict_dialog is not None, timeout=5000)
    window.panel.conflict_dialog.reload_button.click()
    settle(qtbot, window)
    assert window.cmdb.items.get(ci_id).values["owner"] == "Theirs"
    assert window.panel.form.editor("owner").text() == "Theirs"
    assert not window.panel.dirty


def test_undo_after_someone_else_changed_the_ci_asks_first(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    _fill(qtbot, window.panel.form.editor("owner"), "Mine")
    window.panel.save()
    settle(qtbot, window)
    with Cmdb.open(demo_path) as other:
        other.items.update(ci_id, {"owner": "Theirs"})
    window.editor.undo()
    qtbot.waitUntil(lambda: window.editor.conflict_dialog is not None, timeout=5000)
    dialog = window.editor.conflict_dialog
    assert window.editor.stack.index() == 1  # the undo did not happen
    assert window.cmdb.items.get(ci_id).values["owner"] == "Theirs"
    dialog.cancel_button.click()
    assert window.editor.stack.index() == 1
    window.editor.undo()
    qtbot.waitUntil(lambda: window.editor.conflict_dialog is not None, timeout=5000)
    window.editor.conflict_dialog.overwrite_button.click()
    settle(qtbot, window)
    assert window.editor.stack.index() == 0
    old = window.cmdb.history.for_ci(ci_id)
    assert window.cmdb.items.get(ci_id).values["owner"] != "Theirs"
    assert old[0].source == "undo"


def test_delete_asks_then_undo_restores(
    qtbot: Any, make_window: Any, demo_path: Path, answer: Any
) -> None:
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    rels = {r.id for r in window.cmdb.relations.of(ci_id)}
    asked = answer(QMessageBox.StandardButton.No)
    _activate(qtbot, window)
    window.browser.table.setFocus()
    qtbot.keyClick(window.browser.table, Qt.Key.Key_Delete)
    assert asked and "ams1-srv-000001" in asked[0]
    assert window.cmdb.items.get(ci_id)
    answer(QMessageBox.StandardButton.Yes)
    window.delete_action.trigger()
    settle(qtbot, window)
    assert window.cmdb.items.find_by_name("ams1-srv-000001") == []
    assert window.browser.model.total == 1999
    assert "deleted" in window.panel.banner.text()
    window.editor.undo()
    settle(qtbot, window)
    assert window.cmdb.items.get(ci_id).name == "ams1-srv-000001"
    assert {r.id for r in window.cmdb.relations.of(ci_id)} == rels
    assert window.browser.model.total == 2000


def test_delete_several_and_undo(
    qtbot: Any, make_window: Any, demo_path: Path, answer: Any
) -> None:
    window = make_window(demo_path)
    _select_rows(window, 3, 5)
    ids = window.selected_ids()
    assert len(ids) == 3
    answer(QMessageBox.StandardButton.Yes)
    window.delete_selected()
    settle(qtbot, window)
    assert window.cmdb.items.count() == 1997
    assert window.editor.undo_action.text() == "&Undo Delete 3 CIs"
    window.editor.undo()
    settle(qtbot, window)
    assert window.cmdb.items.count() == 2000
    assert set(window.cmdb.items.get_many(ids)) == set(ids)


def test_class_manager_adds_an_attribute_that_appears_in_the_form(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    window.class_manager_action.trigger()
    manager = window.class_manager
    assert manager is not None and manager.isVisible()
    manager.select_class("Server")
    assert manager.current.name == "Server"
    manager.add_attribute_button.click()
    dialog = manager.attribute_dialog
    assert dialog is not None
    qtbot.keyClicks(dialog.label_edit, "Rack Units")
    dialog.type_combo.setCurrentIndex(dialog.type_combo.findData("integer"))
    dialog.accept()
    settle(qtbot, window)
    assert "Adding attribute Rack Units: done." in manager.message.text()
    keys = [manager.attributes.item(r, 1).text() for r in range(manager.attributes.rowCount())]
    assert "rack_units" in keys
    # the CI form of a server now has the field, and it saves
    form = window.panel.form
    assert "rack_units" in form.keys()
    assert form.labels()["rack_units"] == "Rack Units"
    _fill(qtbot, form.editor("rack_units"), "2")
    window.panel.save()
    settle(qtbot, window)
    assert window.cmdb.items.get(ci_id).values["rack_units"] == 2
    # and the table offers it as a column for servers
    server = window.cmdb.meta.get_class("Server")
    window.browser.set_class(server.id)
    settle(qtbot, window)
    window.browser.set_visible_keys([*window.browser.visible_keys(), "rack_units"])
    row = window.browser.model.row_of(ci_id)
    col = window.browser.model.column_of("rack_units")
    assert table_text(qtbot, window.browser.model, row, col) == "2"


def test_class_manager_refuses_with_a_message(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    window.open_class_manager()
    manager = window.class_manager
    manager.select_class("Server")
    manager.add_attribute("Server", "Serial Number", "text")
    settle(qtbot, window)
    assert "already has an attribute" in manager.message.text()
    assert manager.message.property("role") == "error"
    # required on a class holding CIs is refused with what to do instead
    manager.add_attribute("Server", "Rack Units", "integer", required=True)
    settle(qtbot, window)
    assert "add it as optional" in manager.message.text()


def test_class_manager_rules_and_required_fields(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    window.open_class_manager()
    manager = window.class_manager
    manager.select_class("Database")
    row = next(
        r
        for r in range(manager.attributes.rowCount())
        if manager.attributes.item(r, 1).text() == "owner"
    )
    manager.attributes.item(row, 4).setCheckState(Qt.CheckState.Checked)
    settle(qtbot, window)
    assert "owner" in window.cmdb.meta.get_class("Database").required_fields
    manager.set_rules([["name", "environment"]], "class")
    manager.apply_rules()
    settle(qtbot, window)
    info = window.cmdb.meta.get_class("Database")
    assert info.id_rules == (("name", "environment"),)
    assert manager.rules_list.item(0).text().startswith("1. Name + Environment")
    # rename a class
    manager.name_edit.setText("Database Instance")
    manager.apply_class()
    settle(qtbot, window)
    assert window.cmdb.meta.find_class("Database Instance") is not None
    assert manager.current.name == "Database Instance"
    names = [
        window.navigator.model.item(0).child(0).child(r).text()
        for r in range(window.navigator.model.item(0).child(0).rowCount())
    ]
    assert "Database Instance" in names


def test_class_manager_edits_the_defaults_new_cis_get(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    window.open_class_manager()
    manager = window.class_manager
    manager.select_class("Workstation")

    def cell(key: str) -> Any:
        table = manager.attributes
        row = next(r for r in range(table.rowCount()) if table.item(r, 1).text() == key)
        return table.item(row, 5)

    assert cell("status").text() == "In Use"  # inherited from Configuration Item
    assert "Set by Configuration Item" in cell("status").toolTip()
    cell("status").setText("in stock")
    settle(qtbot, window)
    cell("owner").setText("IT Desk")
    settle(qtbot, window)
    meta = window.cmdb.meta
    assert meta.defaults(meta.get_class("Workstation")) == {
        "status": "In Stock",
        "owner": "IT Desk",
    }
    assert meta.defaults(meta.get_class("Server")) == {"status": "In Use"}
    cell("criticality").setText("9")  # refused with the attribute's own message
    settle(qtbot, window)
    assert "above the maximum 4" in manager.message.text()
    new = window.cmdb.items.create("Workstation", {"name": "ws-new"}).created[0]
    record = window.cmdb.items.get(new)
    assert (record.status, record.values["owner"]) == ("In Stock", "IT Desk")


def test_saved_filters(qtbot: Any, make_window: Any, demo_path: Path, monkeypatch: Any) -> None:
    from PySide6.QtWidgets import QInputDialog

    window = make_window(demo_path)
    window.browser.status_button.set_selected(["In Use"])
    window.browser.status_button.changed.emit()
    window.browser.environment_button.set_selected(["Production"])
    window.browser.environment_button.changed.emit()
    settle(qtbot, window)
    with Cmdb.open(demo_path) as c:
        from cmdb_desktop.browse import BrowseFilter, count

        expected = count(c, BrowseFilter(statuses=("In Use",), environments=("Production",)))
    assert window.browser.model.total == expected
    monkeypatch.setattr(
        QInputDialog, "getText", staticmethod(lambda *a, **k: ("Live production", True))
    )
    window.navigator.save_button.click()
    settle(qtbot, window)
    assert window.navigator.model.filter_names() == ["Live production"]
    window.browser.clear_filters()
    settle(qtbot, window)
    assert window.browser.model.total == 2000
    section = window.navigator.model.section("Saved filters")
    window.navigator.tree.clicked.emit(section.child(0).index())
    settle(qtbot, window)
    assert window.browser.model.total == expected
    assert window.browser.status_button.selected() == ("In Use",)


def test_problem_list_shows_its_cis(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    from cmdb_desktop import health

    window = make_window(demo_path)
    finding = health.relationships_to_retired(window.cmdb, sample=10_000)
    section = window.navigator.model.section("Problems")
    item = next(
        section.child(r)
        for r in range(section.rowCount())
        if section.child(r).text() == "Related to retired CIs"
    )
    window.navigator.tree.clicked.emit(item.index())
    settle(qtbot, window)
    assert window.browser.model.total == finding.count > 0
    assert set(window.browser.model.ids) == {r.id for r in finding.examples}
    counts = section.child(item.row(), 1).text()
    assert counts == f"{finding.count:,}"
    assert window.browser.scope_label.text().startswith("Related to retired CIs")


def test_copy_rows_as_tab_separated_text(
    qtbot: Any, make_window: Any, demo_path: Path, clipboard_text: Any
) -> None:
    window = make_window(demo_path)
    table = window.browser.table
    _select_rows(window, 0, 1)
    _activate(qtbot, window)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = clipboard_text().splitlines()
    assert lines[0].split("\t")[:3] == ["Name", "Class", "Status"]
    assert len(lines) == 3
    assert lines[1].split("\t")[0] == table_text(qtbot, window.browser.model, 0)


def test_export_selection_to_xlsx(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    from python_calamine import CalamineWorkbook

    window = make_window(demo_path)
    _select_rows(window, 0, 0)
    out = tmp_path / "out.xlsx"
    window.browser.export_selection(str(out))
    settle(qtbot, window)
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("CIs").to_python()
    assert rows[0][:3] == ["Name", "Class", "Status"]
    assert rows[1][0] == table_text(qtbot, window.browser.model, 0)
    assert len(rows) == 2


def test_choose_columns_is_remembered_per_class(
    qtbot: Any, make_window: Any, demo_path: Path, settings: QSettings
) -> None:
    window = make_window(demo_path)
    window.browser.set_visible_keys(["name", "class", "owner", "id"])
    assert window.browser.visible_keys() == ["name", "class", "owner", "id"]
    window.close()
    again = make_window(demo_path)
    assert again.browser.visible_keys() == ["name", "class", "owner", "id"]
    server = again.cmdb.meta.get_class("Server")
    again.browser.set_class(server.id)
    settle(qtbot, again)
    assert "serial_number" in again.browser.visible_keys()  # its own default


def test_sort_by_clicking_a_header(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    header = window.browser.table.horizontalHeader()
    col = window.browser.model.column_of("criticality")
    header.setSortIndicator(col, Qt.SortOrder.DescendingOrder)
    settle(qtbot, window)
    assert window.browser.sort.key == "criticality" and window.browser.sort.descending
    values = table_texts(qtbot, window.browser.model, range(30), col)
    assert values[0] == "4"


def test_layout_and_recent_files_are_remembered(
    qtbot: Any, make_window: Any, demo_path: Path, settings: QSettings
) -> None:
    window = make_window(demo_path)
    window.dock("navigator").hide()
    window.close()
    assert settings.value("recent") == [str(demo_path)]
    again = make_window()
    assert not again.dock("navigator").isVisible()
    assert again.recent_menu.actions()[0].text() == str(demo_path)
    assert again.welcome.recent.count() == 1


def test_first_start_offers_the_demo(
    qtbot: Any, make_window: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    target = tmp_path / "first" / "cmdb.sqlite"
    monkeypatch.setenv("CMDB_DB", str(target))
    window = make_window()
    window.show_welcome(first_start=True)
    assert window.centre.currentWidget() is window.welcome
    assert str(target) in window.welcome.intro.text()
    window.welcome.size_box.setValue(300)
    window.welcome.demo_button.click()
    settle(qtbot, window, timeout=60_000)
    assert window.cmdb is not None and window.cmdb.path == target
    assert window.browser.model.total == 300
    assert window.centre.currentWidget() is window.workspaces


def test_save_a_copy_and_close(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    window = make_window(demo_path)
    copy = tmp_path / "copy.sqlite"
    window.save_copy(str(copy))
    settle(qtbot, window)
    with Cmdb.open(copy) as c:
        assert c.items.count() == 2000
    window.close_database()
    settle(qtbot, window)
    assert window.cmdb is None
    assert window.centre.currentWidget() is window.welcome
    assert not window.new_ci_action.isEnabled()


def test_changes_by_another_program_show_up(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    window._poll()
    settle(qtbot, window)
    with Cmdb.open(demo_path) as other:
        other.items.update(ci_id, {"owner": "Changed Elsewhere"})
        other.items.create("Server", {"name": "from-the-cli", "status": "Planned"})
    with qtbot.waitSignal(window.bridge.external, timeout=5000):
        window._poll()
    qtbot.waitUntil(lambda: window.browser.model.total == 2001, timeout=5000)
    settle(qtbot, window)
    assert window.panel.form.editor("owner").text() == "Changed Elsewhere"


def test_bulk_set_field_and_undo(
    qtbot: Any, make_window: Any, demo_path: Path, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QInputDialog

    window = make_window(demo_path)
    _select_rows(window, 0, 1)
    ids = window.selected_ids()
    before = {i: window.cmdb.items.get(i).values["owner"] for i in ids}
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("Owner", True)))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Team X", True)))
    window.ask_bulk_set()
    settle(qtbot, window)
    assert {window.cmdb.items.get(i).values["owner"] for i in ids} == {"Team X"}
    assert window.editor.undo_action.text() == "&Undo Set Owner on 2 CIs"
    window.editor.undo()
    settle(qtbot, window)
    assert {i: window.cmdb.items.get(i).values["owner"] for i in ids} == before


def test_reference_attribute_with_completion(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    with Cmdb.open(demo_path) as c:
        c.classes.add_attribute("Server", "Installed In", "reference", reference_class="Site")
        site = c.items.resolve("Amsterdam DC1")
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    editor = window.panel.form.editor("installed_in")
    editor.setFocus()
    qtbot.keyClicks(editor, "Amster")
    qtbot.waitUntil(lambda: editor.model.rowCount() > 0, timeout=5000)
    # only sites are offered
    assert {editor.model.ref(r).class_name for r in range(editor.model.rowCount())} == {"Site"}
    from PySide6.QtCore import QModelIndex

    popup_index = editor.completer_.completionModel().index(0, 0)
    editor.completer_.activated[QModelIndex].emit(popup_index)
    assert editor.raw() == site
    window.panel.save()
    settle(qtbot, window)
    assert window.cmdb.items.get(ci_id).values["installed_in"] == site
    # shown by name after reloading, and unchanged raw value is the id again
    assert window.panel.form.editor("installed_in").text() == "Amsterdam DC1"
    assert not window.panel.form.changed_fields()
    # typing a name that is not a site is refused next to the field
    _fill(qtbot, window.panel.form.editor("installed_in"), "ams1-srv-000003")
    window.panel.save()
    settle(qtbot, window)
    assert "is not a Site" in window.panel.form.problems()["installed_in"]


def test_keyboard_shortcuts(
    qtbot: Any, make_window: Any, demo_path: Path, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QApplication, QInputDialog

    window = make_window(demo_path)
    _activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.search_box
    ci_id = _open_ci(qtbot, window, "Server/ams1-srv-000001")
    _activate(qtbot, window)
    qtbot.keyClick(window.browser.table, Qt.Key.Key_F2)
    assert QApplication.focusWidget() is window.panel.form.editor("name")
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("Database", True)))
    qtbot.keyClick(window.browser.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.panel.form.is_new and window.panel.form.info.name == "Database"
    assert window.panel.ci_id is None and ci_id is not None


def test_theme_follows_the_choice(
    qtbot: Any, qapp: Any, settings: QSettings, demo_path: Path
) -> None:
    from PySide6.QtGui import QPalette

    from ui.main_window import MainWindow
    from ui.theme import DARK, LIGHT, Theme

    theme = Theme(qapp, "light")
    window = MainWindow(settings, theme)
    window.interactive = False
    try:
        window.show()
        window.set_theme("dark")
        assert qapp.palette().color(QPalette.ColorRole.Base).name() == DARK["base"]
        assert settings.value("theme") == "dark"
        assert window.theme_actions["dark"].isChecked()
        window.set_theme("light")
        assert qapp.palette().color(QPalette.ColorRole.Base).name() == LIGHT["base"]
        assert "@accent@" not in window.toolbar.styleSheet()  # placeholders are filled
        assert LIGHT["accent"] in window.toolbar.styleSheet()
    finally:
        window.close()


def test_stopping_the_load_keeps_what_arrived(
    qtbot: Any, make_window: Any, demo_path: Path, monkeypatch: Any
) -> None:
    from cmdb_desktop import browse

    monkeypatch.setattr(browse, "ID_CHUNK", 500)
    window = make_window(demo_path)
    browser = window.browser
    loaded: list[int] = []
    original = browser._ids_partial

    def stop_after_first_chunk(gen: int, refresh: bool, buffer: Any, value: Any) -> None:
        original(gen, refresh, buffer, value)
        if not isinstance(value, int):
            loaded.append(len(value.ids))
            task = next(t for t in window.runner._pending if t.title == "Loading CIs")
            window.job_status.task = task
            window.job_status.cancel()  # the status bar's cancel button

    monkeypatch.setattr(browser, "_ids_partial", stop_after_first_chunk)
    browser.run_query()
    settle(qtbot, window)
    assert loaded == [500]
    assert browser.model.total == 500 and browser.model.complete
    assert browser.count_label.text() == "500 CIs"


def test_long_history_says_how_much_is_shown(
    qtbot: Any, make_window: Any, demo_path: Path, monkeypatch: Any
) -> None:
    from ui import jobs

    monkeypatch.setattr(jobs, "HISTORY_LIMIT", 3)
    window = make_window(demo_path)
    ci_id = _open_ci(qtbot, window, "Amsterdam DC1")
    total = len(window.cmdb.history.for_ci(ci_id))
    assert total > 3 and window.cmdb.history.count_for_ci(ci_id) == total
    panel = window.panel
    assert panel.tabs.tabText(2) == f"History ({total:,})"
    assert panel.history_model.rowCount() == 3
    assert not panel.history_note.isHidden()
    assert panel.history_note.text().startswith(f"Showing the latest 3 of {total:,} changes")
    monkeypatch.setattr(jobs, "HISTORY_LIMIT", 500)
    _open_ci(qtbot, window, "Server/ams1-srv-000001")
    assert panel.history_note.isHidden()
