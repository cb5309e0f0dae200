"""The impact workspace driven like a change assessor would, on a real demo CMDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import settle
from ui.models.ci_refs import CI_ID_ROLE
from ui.models.impact import NAME, STATE


def wait_assessed(qtbot: Any, window: Any) -> Any:
    ws = window.workbench.impact
    qtbot.waitUntil(lambda: not ws.is_busy() and ws.table is not None, timeout=20_000)
    settle(qtbot, window)
    return ws


def listed(model: Any) -> dict[int, str]:
    return {
        model.index(r, NAME).data(CI_ID_ROLE): model.index(r, STATE).data()
        for r in range(model.rowCount())
    }


def test_impact_of_the_table_selection_matches_the_core(
    qtbot: Any, qtmodeltester: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    cmdb = window.cmdb
    array = cmdb.items.resolve("Storage Device/ams1-array01")
    window.show_ci(array)
    assert window.selected_ids() == [array]
    window.workbench.impact_action.trigger()
    assert window.workspaces.currentWidget() is window.workbench.impact
    ws = wait_assessed(qtbot, window)
    with Cmdb.open(demo_path) as other:
        expected = other.analysis.impact([array])
    assert listed(ws.model) == dict(zip(expected.columns.ids, expected.columns.states, strict=True))
    # services first, in the core's order, in their own table
    services = [ws.services_model.ci_id(r) for r in range(ws.services_model.rowCount())]
    assert services == [s.ci.id for s in expected.services]
    assert f"{len(expected.columns):,}" in ws.counts.text()
    qtmodeltester.check(ws.model)
    qtmodeltester.check(ws.services_model)
    # the breadcrumb explains the current row; a click on a name opens that CI
    ws.view.setCurrentIndex(ws.model.index(3, 0))
    k = ws.model.position(3)
    path = expected.impacted[k].path
    assert all(name in ws.breadcrumb.text() for name in path)
    first_hop = expected.path_ids(expected.columns.ids[k])[1]
    ws.breadcrumb.linkActivated.emit(f"ci:{first_hop}")
    settle(qtbot, window)
    assert window.panel.ci_id == first_hop


def test_changing_the_set_recomputes_and_filters_narrow_the_list(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    ws = window.workbench.impact
    cmdb = window.cmdb
    a = cmdb.items.resolve("Storage Device/ams1-array01")
    b = cmdb.items.resolve("Storage Device/ams1-array02")
    ws.add_ids([a])
    wait_assessed(qtbot, window)
    one = ws.model.rowCount()
    ws.add_ids([b])
    wait_assessed(qtbot, window)
    with Cmdb.open(demo_path) as other:
        both = other.analysis.impact([a, b])
    assert listed(ws.model) == dict(zip(both.columns.ids, both.columns.states, strict=True))
    assert ws.model.rowCount() >= one
    # filters: state, class, distance, name
    ws.state_filter.setCurrentIndex(ws.state_filter.findData("down"))
    assert set(listed(ws.model).values()) == {"down"}
    assert ws.model.rowCount() == both.counts["down"]
    ws.class_filter.setCurrentIndex(ws.class_filter.findData("Virtual Machine"))
    ws.distance_filter.setValue(2)
    ws.apply_filters()
    for r in range(ws.model.rowCount()):
        k = ws.model.position(r)
        assert both.columns.classes[k] == "Virtual Machine" and both.columns.distances[k] <= 2
        assert both.columns.states[k] == "down"
    # depth: the core's depth filter
    ws.state_filter.setCurrentIndex(0)
    ws.class_filter.setCurrentIndex(0)
    ws.distance_filter.setValue(0)
    ws.depth_box.setValue(1)
    wait_assessed(qtbot, window)
    assert ws.model.rowCount() == len([d for d in both.columns.distances if d <= 1])
    # removing everything empties the results
    ws.clear()
    qtbot.waitUntil(lambda: ws.table is None and not ws.is_busy(), timeout=5000)
    assert ws.model.rowCount() == 0


def test_scenarios_save_open_and_compare(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    window = make_window(demo_path)
    ws = window.workbench.impact
    cmdb = window.cmdb
    a = cmdb.items.resolve("Storage Device/ams1-array01")
    b = cmdb.items.resolve("Storage Device/ams1-array02")
    ws.add_ids([a])
    wait_assessed(qtbot, window)
    ws.save_scenario("array 1")
    ws.set_change_set([])
    ws.add_ids([a, b])
    wait_assessed(qtbot, window)
    ws.save_scenario("both arrays")
    qtbot.waitUntil(lambda: ws.scenarios.count() == 2, timeout=5000)
    ws.open_scenario("array 1")
    qtbot.waitUntil(lambda: [r.id for r in ws.change_set] == [a], timeout=5000)
    wait_assessed(qtbot, window)
    ws.compare("array 1", "both arrays")
    qtbot.waitUntil(lambda: getattr(ws, "comparison_dialog", None) is not None, timeout=10_000)
    dialog = ws.comparison_dialog
    with Cmdb.open(demo_path) as other:
        one = other.analysis.impact([a])
        two = other.analysis.impact([a, b])
    s1 = dict(zip(one.columns.ids, one.columns.states, strict=True))
    s2 = dict(zip(two.columns.ids, two.columns.states, strict=True))
    s1[a] = s2[a] = "changed"
    s2[b] = "changed"
    differ = {i for i in set(s1) | set(s2) if s1.get(i, "ok") != s2.get(i, "ok")}
    assert set(dialog.model.ids()) == differ and differ
    row = next(r for r in range(dialog.model.rowCount()) if dialog.model.ci_id(r) == b)
    assert dialog.model.row_values(row)[2:] == ("ok", "changed", "only in second")
    dialog.close()


def test_exports_xlsx_and_pdf(
    qtbot: Any, make_window: Any, demo_path: Path, tmp_path: Path
) -> None:
    from python_calamine import CalamineWorkbook

    window = make_window(demo_path)
    ws = window.workbench.impact
    ws.add_ids([window.cmdb.items.resolve("Storage Device/ams1-array01")])
    wait_assessed(qtbot, window)
    qtbot.waitUntil(lambda: ws.picture is not None, timeout=10_000)
    assert ws.canvas.items_by_key  # the picture is drawn
    ws.export_xlsx(str(tmp_path / "chg.xlsx"))
    ws.export_pdf(str(tmp_path / "chg.pdf"))
    settle(qtbot, window)
    book = CalamineWorkbook.from_path(str(tmp_path / "chg.xlsx"))
    assert book.sheet_names == ["Summary", "Impacted CIs"]
    rows = book.get_sheet_by_name("Impacted CIs").to_python()
    assert len(rows) - 1 == len(ws.table)
    pdf = (tmp_path / "chg.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("column", [0, 1, 2, 3, 4, 5])
def test_sorting_keeps_the_selection(
    qtbot: Any, make_window: Any, demo_path: Path, column: int
) -> None:
    window = make_window(demo_path)
    ws = window.workbench.impact
    ws.add_ids([window.cmdb.items.resolve("Storage Device/ams1-array01")])
    wait_assessed(qtbot, window)
    ws.view.setCurrentIndex(ws.model.index(5, 0))
    chosen = ws.model.ci_id(5)
    ws.view.horizontalHeader().setSortIndicator(column, Qt.SortOrder.DescendingOrder)
    assert ws.model.ci_id(ws.view.currentIndex().row()) == chosen
    assert ws.model.rowCount() == len(ws.table)


def test_the_workspace_alone_follows_the_changes_itself(
    qtbot: Any, make_context: Any, demo_path: Path
) -> None:
    """Built with an AppContext and no main window: it takes the chosen CIs from the
    navigation, assesses again when a write moves the impact graph, and drops
    deleted CIs from its change set, all from the change summaries it receives."""
    from ui.views.impact_workspace import ImpactWorkspace

    context = make_context(demo_path)
    ws = ImpactWorkspace(context)
    qtbot.addWidget(ws)
    cmdb = context.cmdb
    array = cmdb.items.resolve("Storage Device/ams1-array01")
    context.navigation.selection = [array]
    ws.add_selection()
    qtbot.waitUntil(lambda: ws.table is not None and not ws.is_busy(), timeout=20_000)
    assert [r.id for r in ws.change_set] == [array]
    first = ws.table
    # a new application that depends on the array: impacted once related
    created: list[int] = []
    context.editor.create_ci(
        "Application", {"name": "billing-x", "status": "In Use"}, on_done=created.append
    )
    qtbot.waitUntil(lambda: bool(created) and context.runner.is_idle())
    assert ws.table is first  # a new CI alone moves no impact
    context.editor.relate(created[0], "Depends on", array, ("billing-x", "ams1-array01"))
    qtbot.waitUntil(lambda: ws.table is not first and not ws.is_busy(), timeout=20_000)
    assert created[0] in listed(ws.model)
    # a double-click in the change set asks the navigation to show the CI
    ws.change_list.doubleClicked.emit(ws.change_model.index(0, 0))
    assert context.navigation.calls[-1] == ("show_ci", array)
    # deleting the changed CI empties the change set, and the result with it
    context.editor.delete_cis([array])
    qtbot.waitUntil(lambda: not ws.change_set and ws.table is None, timeout=20_000)
    assert context.errors == []
