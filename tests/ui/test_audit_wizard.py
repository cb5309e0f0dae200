"""The audit wizard: findings as the core finds them, report, verified stamp, undo."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from cmdb_desktop.cmdb import Cmdb
from importers.audit import AuditScope, audit_file
from tests.ui.waits import go_next, settle


def _scan(path: Path, cmdb_path: Path) -> Path:
    """Four servers as a scan sees them: one with another owner, one unknown serial."""
    with Cmdb.open(cmdb_path) as c:
        names = ["ams1-srv-000001", "ams1-srv-000003", "ams1-srv-000005"]
        records = [c.items.get(c.items.resolve(f"Server/{n}")) for n in names]
    rows = [["Hostname", "Serial", "Owner", "Class"]]
    for n, rec in enumerate(records):
        owner = "Somebody Else" if n == 0 else rec.values.get("owner") or ""
        rows.append([rec.name, rec.values["serial_number"], owner, "Server"])
    rows.append(["mystery-box", "SN-UNKNOWN-1", "Nobody", "Server"])
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_audit_wizard_shows_the_cores_findings_and_stamps_verified(
    qtbot: Any, qtmodeltester: Any, make_window: Any, demo_path: Path, tmp_path: Path, answer: Any
) -> None:
    path = _scan(tmp_path / "scan.csv", demo_path)
    with Cmdb.open(demo_path) as c:
        expected = audit_file(c, path, scope=AuditScope(statuses=["In Use"]))
        before = c.generations()
    window = make_window(demo_path)
    wizard = window.workbench.open_audit(str(path))
    qtbot.waitUntil(wizard.file_page.isComplete, timeout=10_000)
    go_next(qtbot, wizard, wizard.sheets_page)
    go_next(qtbot, wizard, wizard.scope_page)
    wizard.scope_page.set_scope(statuses=["In Use"])
    qtmodeltester.check(wizard.scope_page.editor.model)
    go_next(qtbot, wizard, wizard.findings_page)
    page = wizard.findings_page
    result = wizard.audit_result
    assert result.counts() == expected.counts()
    assert result.counts()["only_in_sheet"] == 1 and result.counts()["mismatched_fields"] == 1
    # the tabs hold both values of each mismatch, the unregistered row, the missing CIs
    assert page.mismatched.rowCount() == 1
    assert page.mismatched.row_values(0)[2:5] == (
        "Owner",
        str(expected.mismatched[0].cmdb),
        "Somebody Else",
    )
    assert page.only_sheet.row_values(0)[2] == "mystery-box"
    assert set(page.only_cmdb.ids()) == {r.id for r in expected.only_in_cmdb}
    assert page.matched.rowCount() == 2
    assert page.tabs.tabText(0) == "Mismatched (1)"
    for model in (page.mismatched, page.only_sheet, page.only_cmdb, page.errors, page.matched):
        qtmodeltester.check(model)
    with Cmdb.open(demo_path) as c:
        assert c.generations() == before  # an audit writes nothing
    # the report
    page.write_report(str(tmp_path / "audit.xlsx"))
    qtbot.waitUntil(lambda: "Report saved" in page.note.text(), timeout=10_000)
    from python_calamine import CalamineWorkbook

    sheets = CalamineWorkbook.from_path(str(tmp_path / "audit.xlsx")).sheet_names
    assert sheets[:4] == ["Summary", "Mismatched", "Only in sheet", "Only in CMDB"]
    # mark matched as verified: one batch, rolled back from the batches view
    matched = [r.id for r, _ in expected.matched]
    with Cmdb.open(demo_path) as c:
        verified_before = {i: c.items.get(i).values["last_verified"] for i in matched}
    page.stamp()
    qtbot.waitUntil(lambda: wizard.stamped is not None, timeout=10_000)
    batch = wizard.stamped
    with Cmdb.open(demo_path) as c:
        assert all(c.items.get(i).values["last_verified"] is not None for i in matched)
    page.note.linkActivated.emit(f"batch:{batch}")
    batches = window.workbench.batches
    qtbot.waitUntil(lambda: batches.selected() is not None, timeout=10_000)
    answer(QMessageBox.StandardButton.Yes)
    batches.ask_rollback()
    qtbot.waitUntil(lambda: batches.selected().status == "rolled_back", timeout=10_000)
    settle(qtbot, window)
    with Cmdb.open(demo_path) as c:
        assert {i: c.items.get(i).values["last_verified"] for i in matched} == verified_before


def test_an_unknown_class_in_the_scope_is_refused_with_its_name(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    path = _scan(tmp_path / "scan.csv", demo_path)
    window = make_window(demo_path)
    wizard = window.workbench.open_audit(str(path))
    qtbot.waitUntil(wizard.file_page.isComplete, timeout=10_000)
    go_next(qtbot, wizard, wizard.sheets_page)
    go_next(qtbot, wizard, wizard.scope_page)
    wizard.scope_page.classes.setText("Servers")
    wizard.next()
    assert wizard.currentPage() is wizard.scope_page
    assert "Servers" in wizard.scope_page.error.text()
    wizard.reject()
