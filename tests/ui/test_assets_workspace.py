"""The Assets workspace: lifecycle board, custody, calendars, licence drill-down, stock."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from cmdb_desktop.cmdb import Cmdb
from ui.views.assets_workspace import AssetsWorkspace, CheckoutDialog


def _estate(db_path: Path) -> None:
    soon = (date.today() + timedelta(days=20)).isoformat()
    with Cmdb.open(db_path, user="tester") as c:
        add = c.items.create
        office = add("Software", {"name": "Office"}).created[0]
        lic = add("Licence", {"name": "office-lic", "seats": 1, "expiry_date": soon}).created[0]
        c.relations.relate(lic, "Covers", office)
        for n in range(3):
            ws = add(
                "Workstation",
                {
                    "name": f"w{n}",
                    "status": "In Stock",
                    "model": "X1",
                    "cost": 1000,
                    "purchase_date": "2024-01-15",
                    "depreciation_method": "Straight-line",
                    "useful_life_months": 36,
                    "warranty_end": soon,
                },
            ).created[0]
            if n < 2:
                c.relations.relate(office, "Installed on", ws)
        c.assets.set_threshold("X1", 5)
        c.assets.add_person("Ann Lee", email="ann@example.com")
        late = c.assets.add_person("Bob Roy")
        w2 = c.items.resolve("w2")
        c.assets.checkout(w2, f"#{late['id']}", on=date(2025, 1, 1), due=date(2025, 2, 1))


def test_workspace_shows_everything_and_drills_down(
    qtbot: Any, qtmodeltester: Any, make_context: Any, db_path: Path
) -> None:
    _estate(db_path)
    context = make_context(db_path)
    view = AssetsWorkspace(context)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.overview is not None, timeout=20_000)
    ov = view.overview
    assert {b.key: b.value for b in view.state_chart.bars} == {"In Stock": 2, "In Use": 1}
    assert "1 overdue, 1 software over-deployed, 1 stock alerts" in view.summary.text()
    # lifecycle board → list of the state's assets
    view.state_chart.chosen.emit("In Stock")
    assert sorted(view.state_model.row_values(r)[0] for r in range(2)) == ["w0", "w1"]
    qtmodeltester.check(view.state_model)
    # custody: the overdue check-out is listed (and marked)
    assert view.custody_model.row_values(0)[:2] == ("w2", "Bob Roy")
    assert view._custody_colour(0, 0) is not None
    # calendars: three warranties and a licence end within 90 days
    kinds = sorted(view.calendar_model.row_values(r)[1] for r in range(4))
    assert kinds == ["licence expiry", "warranty", "warranty", "warranty"]
    assert sum(b.value for b in view.month_chart.bars) == 3
    # licences: drill down to the installations
    assert view.compliance_model.row_values(0)[:6] == (
        "Office",
        "Per device",
        1,
        2,
        "over-deployed",
        1,
    )
    view.compliance_view.selectRow(0)
    assert view.installs_model.rowCount() == 2
    assert view.licences_model.row_values(0)[0] == "office-lic"
    qtmodeltester.check(view.compliance_model)
    assert [view.stock_model.row_values(0)[i] for i in (0, 2, 4)] == ["X1", 2, "reorder"]
    assert ov is not None and ov.total_value > 0
    # check in the overdue asset: the board follows
    view.custody_view.selectRow(0)
    view.checkin_action.trigger()
    qtbot.waitUntil(
        lambda: (
            view.overview is not ov
            and view.overview is not None
            and view.custody_model.rowCount() == 0
        ),
        timeout=20_000,
    )
    assert any("Checked in w2" in m for m in context.messages)


def test_check_out_from_the_board(qtbot: Any, make_context: Any, db_path: Path) -> None:
    _estate(db_path)
    context = make_context(db_path)
    view = AssetsWorkspace(context)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.overview is not None, timeout=20_000)
    view.state_chart.chosen.emit("In Stock")
    view.state_view.selectRow(0)
    chosen = view.state_model.row_values(0)[0]

    def accept() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, CheckoutDialog)
        dialog.person.setCurrentIndex(0)
        dialog.accept()

    QTimer.singleShot(0, accept)
    view.checkout_action.trigger()
    qtbot.waitUntil(
        lambda: any(f"Checked out {chosen} to Ann Lee" in m for m in context.messages),
        timeout=20_000,
    )
    with Cmdb.open(db_path) as c:
        assert c.items.get(c.items.resolve(chosen)).values["assigned_to"] == "Ann Lee"


def test_the_wizard_offers_the_known_tools(cmdb: Cmdb, real_data: Path) -> None:
    from ui import jobs_import
    from ui.jobs import JobState

    names = jobs_import.mapping_profiles(JobState(), cmdb)
    assert names[:4] == list(jobs_import.BUILTIN_PROFILES)
    path = real_data / "snipe-it" / "assets-sample-BAD.csv"
    loaded = jobs_import.load_file(JobState(), cmdb, str(path), None, names[0])
    (sheet,) = loaded.mapping.sheets
    targets = {c.column: c.target for c in sheet.columns}
    assert targets["Asset Tag"] == "asset_tag" and targets["Serial"] == "serial_number"
    assert targets["Status"] == "status" and targets["Full Name"] == "assigned_to"
    assert sheet.default_class == "Workstation"


def test_class_manager_edits_the_lifecycle(qtbot: Any, make_window: Any, db_path: Path) -> None:
    from PySide6.QtCore import Qt

    from cmdb_desktop.catalogue import STATUSES
    from tests.ui.waits import settle
    from ui.views.class_manager import LifecycleDialog

    window = make_window(db_path)
    window.open_class_manager()
    manager = window.class_manager
    manager.select_class("Workstation")
    dialog = LifecycleDialog(manager, manager.meta, manager.current)
    qtbot.addWidget(dialog)
    disposed, planned = STATUSES.index("Disposed"), STATUSES.index("Planned")
    retired = STATUSES.index("Retired")
    assert dialog.grid.item(disposed, planned).checkState() == Qt.CheckState.Unchecked
    assert dialog.grid.item(retired, len(STATUSES)).text() == "Retirement Reason"
    dialog.grid.item(disposed, planned).setCheckState(Qt.CheckState.Checked)
    dialog.grid.item(retired, len(STATUSES)).setText("")
    manager.apply_lifecycle(dialog)
    settle(qtbot, window)
    assert "Lifecycle of Workstation: done." in manager.message.text()
    meta = window.cmdb.meta
    rules = meta.lifecycle(meta.get_class("Workstation"))
    assert rules.allowed("Disposed", "Planned") and "Retired" not in rules.requires
    server = meta.lifecycle(meta.get_class("Server"))
    assert not server.allowed("Disposed", "Planned")  # other classes keep theirs
