"""The import wizard and the batches view, driven page by page on real files."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QMessageBox, QWizard

from cmdb_desktop.cmdb import Cmdb
from importers.plan import CREATED, ERROR, UPDATED
from tests.importers.pipes import fifo_with_writer
from tests.ui.waits import WAIT_MS, go_next, settle
from ui.models.preview import CHANGED_BG, ERROR_BG
from ui.views.mapping_editor import FROM_COLUMN

SNIPE_STATUSES = {
    "Ready to Deploy": "In Stock",
    "Undeployable": "In Maintenance",
    "Pending Diagnostics": "In Maintenance",
    "Lost": "Disposed",
    "Archived": "Retired",
}


def count(path: Path) -> int:
    with Cmdb.open(path) as c:
        return c.items.count()


def generation(path: Path) -> dict[str, int]:
    with Cmdb.open(path) as c:
        return c.generations()


def open_on(qtbot: Any, window: Any, path: Path) -> Any:
    wizard = window.workbench.open_import(str(path))
    qtbot.waitUntil(wizard.file_page.isComplete, timeout=10_000)
    return wizard


def test_snipe_it_file_through_every_page_then_rollback(
    qtbot: Any,
    qtmodeltester: Any,
    make_window: Any,
    demo_path: Path,
    real_data: Path,
    answer: Any,
) -> None:
    path = real_data / "snipe-it" / "assets-sample-BAD.csv"
    window = make_window(demo_path)
    before = count(demo_path)
    wizard = open_on(qtbot, window, path)
    assert "CSV file, 1 sheet" in wizard.file_page.summary.text()
    go_next(qtbot, wizard, wizard.sheets_page)
    assert wizard.sheets_page.chosen() == ["assets-sample-BAD"]
    go_next(qtbot, wizard, wizard.mapping_page)
    editor = wizard.mapping_page.editor
    qtmodeltester.check(editor.model)
    used = editor.targets_in_use()
    assert used["Serial"] == "serial_number" and used["item Name"] == "name"
    assert used["Status"] == "status"
    # a class for the rows, a status for the blank ones, and Snipe-IT's words translated
    editor.set_default_class("Workstation")
    editor.status_default.setCurrentIndex(editor.status_default.findData("In Use"))
    editor.set_translations("Status", SNIPE_STATUSES)
    row = editor.model.row_of("Status")
    assert editor.model.index(row, 4).data() == "5 values"
    go_next(qtbot, wizard, wizard.preview_page)
    preview = wizard.preview_page
    assert wizard.plan.counts()["cis"] == {
        "created": 200,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
    }
    assert "200 new" in preview.counts.text()
    qtmodeltester.check(preview.model)
    preview.status_buttons[CREATED].setChecked(True)
    assert preview.model.rowCount() == 200
    preview.status_buttons[ERROR].setChecked(True)
    assert preview.model.rowCount() == 0
    assert preview.isComplete()
    go_next(qtbot, wizard, wizard.result_page)
    result = wizard.import_result
    assert result.written and result.batch_id is not None
    assert count(demo_path) == before + 200
    assert f"Batch #{result.batch_id}" in wizard.result_page.text.text()
    # the link opens the batch in the batches view, which rolls it back
    wizard.result_page.text.linkActivated.emit(f"batch:{result.batch_id}")
    batches = window.workbench.batches
    qtbot.waitUntil(lambda: batches.selected() is not None, timeout=10_000)
    assert window.workspaces.currentWidget() is batches
    assert batches.selected().id == result.batch_id
    qtmodeltester.check(batches.model)
    answer(QMessageBox.StandardButton.Yes)
    batches.rollback_action.trigger()
    qtbot.waitUntil(
        lambda: batches.selected() is not None and batches.selected().status == "rolled_back",
        timeout=20_000,
    )
    settle(qtbot, window)
    assert count(demo_path) == before
    assert not batches.rollback_action.isEnabled()


def _inventory(path: Path, cmdb_path: Path) -> Path:
    """Three known servers (one with a new owner, one with a bad criticality) and one new."""
    with Cmdb.open(cmdb_path) as c:
        names = ["ams1-srv-000001", "ams1-srv-000003", "ams1-srv-000005"]
        records = [c.items.get(c.items.resolve(f"Server/{n}")) for n in names]
    rows = [["Hostname", "S/N", "Owner", "Criticality", "Status"]]
    for n, rec in enumerate(records):
        owner = "New Owner" if n == 0 else rec.values.get("owner") or ""
        crit = "urgent" if n == 1 else rec.values.get("criticality") or ""
        rows.append([rec.name, rec.values["serial_number"], owner, crit, rec.values["status"]])
    rows.append(["ams9-new-001", "SN-NEW-001", "Ops", "2", "In Use"])
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_preview_highlights_changes_and_errors_and_imports_what_passed(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    path = _inventory(tmp_path / "inventory.csv", demo_path)
    window = make_window(demo_path)
    wizard = open_on(qtbot, window, path)
    go_next(qtbot, wizard, wizard.sheets_page)
    go_next(qtbot, wizard, wizard.mapping_page)
    wizard.mapping_page.editor.set_default_class("Server")
    go_next(qtbot, wizard, wizard.preview_page)
    preview = wizard.preview_page
    counts = wizard.plan.counts()["cis"]
    assert counts == {"created": 1, "updated": 1, "unchanged": 1, "errors": 1}
    model = preview.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    owner, crit = headers.index("Owner"), headers.index("Criticality")
    outcomes = {model.outcome(r).status: r for r in range(model.rowCount())}
    updated, failed = outcomes[UPDATED], outcomes[ERROR]
    assert (
        model.index(updated, owner).data(Qt.ItemDataRole.BackgroundRole).color().name()
        == CHANGED_BG
    )
    assert "→ New Owner" in model.index(updated, owner).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(failed, crit).data(Qt.ItemDataRole.BackgroundRole).color().name() == ERROR_BG
    assert preview.errors_model.rowCount() == 1
    assert preview.errors_model.row_values(0)[1:3] == (3, "Criticality")
    # all or nothing is refused while there are errors; only the rows that passed is allowed
    assert not preview.isComplete()
    preview.skip_errors.setChecked(True)
    assert preview.isComplete()
    go_next(qtbot, wizard, wizard.result_page)
    result = wizard.import_result
    assert result.batch_id is not None and result.rejects is not None and result.rejects.exists()
    with Cmdb.open(demo_path) as c:
        ci = c.items.get(c.items.resolve("Server/ams1-srv-000001"))
        assert ci.values["owner"] == "New Owner"
        assert c.items.find_by_name("ams9-new-001")
    wizard.result_page.text.linkActivated.emit(f"cis:{result.batch_id}")
    qtbot.waitUntil(lambda: window.browser.model.total == 2, timeout=10_000)


def test_cancel_and_stop_leave_the_database_untouched(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    path = _inventory(tmp_path / "inventory.csv", demo_path)
    window = make_window(demo_path)
    before = generation(demo_path)
    wizard = open_on(qtbot, window, path)
    go_next(qtbot, wizard, wizard.sheets_page)
    go_next(qtbot, wizard, wizard.mapping_page)
    wizard.mapping_page.editor.set_default_class("Server")
    go_next(qtbot, wizard, wizard.preview_page)
    preview = wizard.preview_page
    preview.skip_errors.setChecked(True)
    # Import, then Stop at once: the one transaction never commits
    wizard.next()
    preview.panel.stop()
    qtbot.waitUntil(lambda: not preview.panel.busy, timeout=10_000)
    settle(qtbot, window)
    assert wizard.currentPage() is preview
    assert "nothing was written" in preview.error.text().lower()
    assert generation(demo_path) == before
    # Cancel the wizard from the preview: nothing either
    wizard.reject()
    settle(qtbot, window)
    assert generation(demo_path) == before
    assert not wizard.isVisible()


def test_a_file_that_is_no_spreadsheet_gets_a_message(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    bogus = tmp_path / "assets.xlsx"
    bogus.write_bytes(b"%PDF-1.4 this is a PDF, not a workbook")
    window = make_window(demo_path)
    wizard = window.workbench.open_import(str(bogus))
    qtbot.waitUntil(lambda: wizard.file_page.error.isVisible(), timeout=10_000)
    assert "PDF" in wizard.file_page.error.text()
    assert not wizard.file_page.isComplete()
    wizard.reject()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_on_the_file_page(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    """As on the command line (tests/importers/test_pipes.py): refused at once, with a
    writer waiting behind the FIFO, and nothing read."""
    window = make_window(demo_path)
    before = generation(demo_path)
    data = b"Name,Class,Status\r\nweb-fifo,Server,In Use\r\n"
    with fifo_with_writer(tmp_path, "assets.csv", data) as fifo:
        wizard = window.workbench.open_import(str(fifo))
        qtbot.waitUntil(lambda: wizard.file_page.error.isVisible(), timeout=10_000)
        assert "is a pipe (FIFO), not a file" in wizard.file_page.error.text()
        assert not wizard.file_page.isComplete()
        wizard.reject()
    assert generation(demo_path) == before


def test_rollback_refused_after_later_edits_says_why(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path, answer: Any
) -> None:
    from importers.apply import import_file

    path = tmp_path / "new.csv"
    path.write_text("Name,Class,Status\nnew-app-1,Application,In Use\n", encoding="utf-8")
    with Cmdb.open(demo_path) as c:
        batch = import_file(c, path).batch_id
        ci = c.items.resolve("Application/new-app-1")
    window = make_window(demo_path)
    reported: list[tuple[str, str]] = []
    window.errorReported.connect(lambda title, text: reported.append((title, text)))
    window.cmdb.items.update(ci, {"owner": "Someone later"})  # touches the batch's CI
    window.workbench.show_batches(batch)
    batches = window.workbench.batches
    qtbot.waitUntil(lambda: batches.selected() is not None, timeout=10_000)
    answer(QMessageBox.StandardButton.Yes)
    batches.ask_rollback()
    qtbot.waitUntil(lambda: bool(reported), timeout=10_000)
    title, text = reported[0]
    assert title == f"Batch #{batch} cannot be rolled back"
    assert "new-app-1" in text
    with Cmdb.open(demo_path) as c:
        assert c.items.get(ci).values["owner"] == "Someone later"  # nothing undone


def test_typed_path_opens_at_once_and_a_file_without_class_gets_a_real_class(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    """Issue 15: Next is enabled as soon as a valid path is typed (no focus loss
    needed); a sheet without a Class column defaults to a real class, so new rows
    are not refused with "a new CI needs a class"; page 1 is not a huge dialog."""
    path = tmp_path / "servers.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["Name", "Serial"], ["fresh-host-01", "SN-FRESH-1"]])
    window = make_window(demo_path)
    wizard = window.workbench.open_import()
    assert wizard is not None
    assert wizard.width() < 1040 and wizard.height() < 720
    page = wizard.file_page
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert not next_button.isEnabled()
    page.path_edit.setFocus()
    qtbot.keyClicks(page.path_edit, str(path))
    assert page.path_edit.hasFocus() or not wizard.isActiveWindow()
    qtbot.waitUntil(next_button.isEnabled, timeout=WAIT_MS)  # the field still has focus
    assert page.isComplete() and "CSV file" in page.summary.text()
    # typing on makes it another path: Next waits for it, and comes back with it
    qtbot.keyClicks(page.path_edit, "x")
    assert not next_button.isEnabled()
    qtbot.keyClick(page.path_edit, Qt.Key.Key_Backspace)
    qtbot.waitUntil(next_button.isEnabled, timeout=WAIT_MS)
    go_next(qtbot, wizard, wizard.sheets_page)
    go_next(qtbot, wizard, wizard.mapping_page)
    editor = wizard.mapping_page.editor
    assert editor.sheet is not None and editor.sheet.default_class == "Server"
    assert editor.class_combo.currentText() == "Server"
    # no Class column: the class must be a real one, "(from the Class column)" is not offered
    assert editor.class_combo.findData(None) == -1
    assert FROM_COLUMN not in [
        editor.class_combo.itemText(i) for i in range(editor.class_combo.count())
    ]
    editor.set_default_class(None)  # what "from the column" would be: refused, a class stays
    assert editor.sheet.default_class == "Server"
    go_next(qtbot, wizard, wizard.preview_page)
    assert wizard.plan.counts()["cis"]["created"] == 1
    assert wizard.plan.counts()["cis"]["errors"] == 0


def _servers_with_extra_columns(path: Path) -> Path:
    """Six new servers and two columns the CMDB has no attribute for."""
    rows = [["Name", "Serial", "Shift", "Slots"]]
    for n, (shift, slots) in enumerate(
        [("Day", "1"), ("Night", "2"), ("Day", "4"), ("Night", "8"), ("Day", "2"), ("Day", "1")]
    ):
        rows.append([f"wiz-new-{n:02d}", f"SN-WIZ-{n:02d}", shift, slots])
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _server_attribute_keys(path: Path) -> set[str]:
    with Cmdb.open(path) as c:
        return {a.key for a in c.meta.attributes_of(c.meta.get_class("Server"))}


def test_unmapped_columns_become_new_attributes_confirmed_in_the_preview_and_rolled_back(
    qtbot: Any,
    make_window: Any,
    demo_path: Path,
    tmp_path: Path,
    answer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 21: an ignored column becomes a new attribute (type inferred, editable), the
    preview lists it with its values and those that would not convert, the import creates
    it in the batch, and rolling the batch back from the Batches view removes it."""
    from importers.new_attributes import NewAttribute
    from ui.models.mapping import NEW_ATTRIBUTE, TARGET
    from ui.views.mapping_editor import NewAttributeDialog

    path = _servers_with_extra_columns(tmp_path / "servers.csv")
    assert not {"shift", "slots", "patch_window"} & _server_attribute_keys(demo_path)
    window = make_window(demo_path)
    wizard = open_on(qtbot, window, path)
    go_next(qtbot, wizard, wizard.sheets_page)
    go_next(qtbot, wizard, wizard.mapping_page)
    editor = wizard.mapping_page.editor
    qtbot.waitUntil(lambda: ("servers", "Slots") in editor.offers, timeout=WAIT_MS)
    offer = editor.offers[("servers", "Shift")]
    assert (offer.type, offer.choices, offer.class_name) == ("choice", ("Day", "Night"), "Server")
    assert editor.offers[("servers", "Slots")].type == "integer"
    # the Maps-to choice offers it with the inferred type, and choosing it shows it
    row = editor.model.row_of("Shift")
    index = editor.model.index(row, TARGET)
    assert (NEW_ATTRIBUTE, "Create as new attribute (Choice list)") in editor._target_options(index)
    assert editor.model.setData(index, NEW_ATTRIBUTE)
    assert index.data() == "New attribute: Shift (Choice list)"
    assert editor.new_note.isVisible()
    # "all unmapped" takes the other one; the user relabels Shift and (wrongly) types Slots
    editor.new_all_button.click()
    assert [a.column for a in editor.new_attributes()] == ["Shift", "Slots"]
    shown: list[NewAttributeDialog] = []

    def relabel(dialog: NewAttributeDialog) -> int:  # what the user types in the dialog
        shown.append(dialog)
        assert "inferred type: Choice list (Day, Night)" in dialog.findChild(QLabel).text()
        dialog.label_edit.setText("")
        assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
        dialog.label_edit.setText("Patch Window")
        assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
        return int(QDialog.DialogCode.Accepted.value)

    monkeypatch.setattr(NewAttributeDialog, "exec", relabel)
    editor.table.setCurrentIndex(editor.model.index(row, 0))
    assert editor.new_edit_button.isEnabled()
    editor.new_edit_button.click()
    assert shown and index.data() == "New attribute: Patch Window (Choice list)"
    slots: NewAttribute = editor.model.new["Slots"]
    editor.set_new_attribute("Slots", slots.edited("Slots", "date", None))
    go_next(qtbot, wizard, wizard.preview_page)
    preview = wizard.preview_page
    assert preview.new_box.isVisible()
    found = [preview.new_model.row_values(r) for r in range(preview.new_model.rowCount())]
    rows = {values[1]: values for values in found}
    assert rows["Patch Window"] == (
        "Shift", "Patch Window", "Choice list: Day, Night", "Server", 6, ""
    )  # fmt: skip
    assert rows["Slots"][2:5] == ("Date", "Server", 6)
    assert rows["Slots"][5].startswith("6 cell(s)")
    assert "change its type" in preview.new_problems.text()
    assert not any("'Shift'" in w and "ignored" in w for w in wizard.plan.warnings)
    assert any("'Shift'" in w and "new attribute Patch Window" in w for w in wizard.plan.warnings)
    assert not preview.isComplete()  # nothing is imported with values that would be lost
    # back to the mapping: Slots is a whole number after all
    wizard.back()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.mapping_page, timeout=WAIT_MS)
    editor.set_new_attribute("Slots", slots.edited("Slots", "integer", None))
    go_next(qtbot, wizard, wizard.preview_page)
    assert not preview.new_problems.isVisible()
    assert wizard.plan.counts()["cis"]["created"] == 6
    assert preview.isComplete()
    assert not {"patch_window", "slots"} & _server_attribute_keys(demo_path)  # not yet
    go_next(qtbot, wizard, wizard.result_page)
    result = wizard.import_result
    assert result.written and result.batch_id is not None
    assert "Patch Window (Server)" in wizard.result_page.text.text()
    with Cmdb.open(demo_path) as c:
        server = c.meta.get_class("Server")
        added = {a.key: a for a in c.meta.attributes_of(server)}
        assert added["patch_window"].type == "choice" and added["slots"].type == "integer"
        ci = c.items.get(c.items.resolve("Server/wiz-new-03"))
        assert (ci.values["patch_window"], ci.values["slots"]) == ("Night", 8)
    # roll the batch back from the Batches view: the CIs and the attributes go
    wizard.result_page.text.linkActivated.emit(f"batch:{result.batch_id}")
    batches = window.workbench.batches
    qtbot.waitUntil(lambda: batches.selected() is not None, timeout=WAIT_MS)
    answer(QMessageBox.StandardButton.Yes)
    batches.rollback_action.trigger()
    qtbot.waitUntil(
        lambda: batches.selected() is not None and batches.selected().status == "rolled_back",
        timeout=WAIT_MS,
    )
    settle(qtbot, window)
    assert not {"patch_window", "slots"} & _server_attribute_keys(demo_path)
    with Cmdb.open(demo_path) as c:
        assert not c.items.find_by_name("wiz-new-03")


def test_a_class_column_mapped_later_offers_from_the_column_and_unmapped_takes_it_away(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    """Issue 15: "(from the Class column)" exists only while a column maps to Class; a
    sheet without one always has a real class (a sensible one: Server for an inventory)."""
    from ui.models.mapping import TARGET

    path = tmp_path / "inventory.csv"
    path.write_text("Name,Serial,Kind\nhost-a,SN-A,Server\n", encoding="utf-8")
    window = make_window(demo_path)
    wizard = open_on(qtbot, window, path)
    go_next(qtbot, wizard, wizard.sheets_page)
    go_next(qtbot, wizard, wizard.mapping_page)
    editor = wizard.mapping_page.editor
    sheet = editor.sheet
    assert sheet is not None and sheet.default_class == "Server"
    assert editor.class_combo.findData(None) == -1
    kind = editor.model.index(editor.model.row_of("Kind"), TARGET)
    assert editor.model.setData(kind, "class")
    assert editor.class_combo.itemText(0) == FROM_COLUMN
    assert editor.class_combo.currentText() == "Server"  # rows without a class
    editor.class_combo.setCurrentIndex(0)
    editor.class_combo.activated.emit(0)
    assert sheet.default_class is None  # now from the column
    assert editor.model.setData(kind, None)
    assert editor.class_combo.findData(None) == -1
    assert sheet.default_class == "Server" and editor.class_combo.currentText() == "Server"
    go_next(qtbot, wizard, wizard.preview_page)
    assert wizard.plan.counts()["cis"] == {"created": 1, "updated": 0, "unchanged": 0, "errors": 0}
    wizard.reject()


def test_dialog_buttons_carry_no_stock_icons() -> None:
    """Issue 15: the style says no icons on Yes/No/OK even where the desktop's platform
    theme asks for them (a base style that does is overruled)."""
    from PySide6.QtWidgets import QApplication, QDialogButtonBox, QProxyStyle, QStyle

    from ui.theme import AppStyle, Theme

    class IconsWanted(QProxyStyle):
        def styleHint(self, hint: Any, *args: Any) -> int:
            if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
                return 1
            return int(super().styleHint(hint, *args))

    hint = QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons
    wanting = IconsWanted("Fusion")
    assert wanting.styleHint(hint) == 1
    assert AppStyle(wanting).styleHint(hint) == 0
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    Theme(app, "light")
    assert isinstance(app.style(), AppStyle)
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Yes | QDialogButtonBox.StandardButton.No)
    assert all(b.icon().isNull() for b in box.buttons())
    box.deleteLater()
