"""Time travel in the window (PRODUCT.md §11): the as-of picker turns every view into
a read-only view of a past moment, clearly marked; back to now edits again; the
What Changed workspace lists the net changes between two moments and clicks
through to the CI. A real CMDB file written at recorded times, the real picker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import QApplication

from cmdb_desktop.asof import add_baseline
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import utcnow
from tests.ui.waits import WAIT_MS, settle, table_text


def _next_second(qtbot: Any) -> datetime:
    """The next whole second (UTC), once the clock has passed it: writes after this
    are recorded after it, writes before it were recorded before (the picker's
    moments are whole seconds). Waits on the clock, at most a second."""
    now = utcnow()
    boundary = now.replace(microsecond=0) + timedelta(seconds=1)
    qtbot.waitUntil(lambda: utcnow() > boundary, timeout=WAIT_MS)
    return boundary


@dataclass
class Story:
    path: Path
    before: datetime  # web01 owned by alice, db01 exists, web01 Depends on db01
    web01: int
    db01: int
    app01: int


@pytest.fixture
def story(tmp_path: Path, qtbot: Any) -> Story:
    """web01 (owner alice) depends on db01; then, after ``before``: web01's owner
    becomes carol, db01 is deleted (and its relationship with it), app01 is created,
    and mail01 is created and deleted again (not a net change)."""
    path = tmp_path / "cmdb.sqlite"
    with Cmdb.open(path, user="tester") as cmdb:
        web01 = cmdb.items.create("Server", {"name": "web01", "owner": "alice"}).created[0]
        db01 = cmdb.items.create("Database", {"name": "db01", "owner": "dba"}).created[0]
        cmdb.relations.relate(web01, "Depends on", db01)
        cmdb.items.update(web01, {"owner": "bob"})
        cmdb.items.update(web01, {"owner": "alice"})
        before = _next_second(qtbot)
        add_baseline(cmdb, "audit-q2", before.isoformat())
        cmdb.items.update(web01, {"owner": "carol"})
        cmdb.items.delete(db01)
        app01 = cmdb.items.create("Application", {"name": "app01"}).created[0]
        mail01 = cmdb.items.create("Server", {"name": "mail01"}).created[0]
        cmdb.items.delete(mail01)
    return Story(path, before, web01, db01, app01)


def _choose(qtbot: Any, window: Any, moment: datetime) -> None:
    """Pick ``moment`` in the toolbar's date and time box and press Enter."""
    picker = window.time_travel.picker
    window.time_travel.pick_action.trigger()  # Ctrl+Shift+T
    picker.edit.setDateTime(
        QDateTime.fromString(moment.strftime("%Y-%m-%dT%H:%M:%S"), "yyyy-MM-ddTHH:mm:ss")
    )
    qtbot.keyClick(picker.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.time_travel.active, timeout=WAIT_MS)
    settle(qtbot, window)


def _owner_of(qtbot: Any, window: Any, ci: int) -> Any:
    model = window.browser.model
    row = model.row_of(ci)
    assert row is not None
    col = model.column_of("owner")
    assert col is not None
    return table_text(qtbot, model, row, col)


def _editing_actions(window: Any) -> list[Any]:
    return [
        window.new_ci_action,
        window.edit_ci_action,
        window.delete_action,
        window.set_field_action,
        window.add_relationship_action,
        window.save_filter_action,
        window.class_manager_action,
        window.workbench.import_action,
        window.workbench.batches.rollback_action,
        window.workbench.batches.import_action,
        window.workbench.changes.new_action,
        window.workbench.assets.checkout_action,
        window.time_travel.add_baseline_action,
    ]


def test_a_past_moment_shows_the_old_values_read_only_until_back_to_now(
    qtbot: Any, make_window: Any, story: Story
) -> None:
    window = make_window(story.path)
    model = window.browser.model
    assert model.total == 2 and model.row_of(story.db01) is None  # web01 and app01
    assert _owner_of(qtbot, window, story.web01) == "carol"
    window.show_ci(story.web01)
    settle(qtbot, window)
    assert all(a.isEnabled() for a in _editing_actions(window)[:8])
    assert not window.time_travel.bar.isVisible()

    _choose(qtbot, window, story.before)

    # the table as it was: db01 is back, web01 belongs to alice, app01 is not there
    model = window.browser.model
    assert model.total == 2
    assert model.row_of(story.app01) is None and model.row_of(story.db01) is not None
    assert _owner_of(qtbot, window, story.web01) == "alice"
    # clearly marked, and nothing edits the past
    banner = window.time_travel.banner
    assert window.time_travel.bar.isVisible() and banner.isVisible()
    moment = story.before.isoformat(sep=" ", timespec="seconds")
    assert banner.label.text() == f"Viewing the CMDB as of {moment} — read-only"
    assert banner.back_button.isVisible()
    for action in _editing_actions(window):
        assert not action.isEnabled(), action.text()
    assert not window.editor.undo_action.isEnabled()
    assert not window.editor.redo_action.isEnabled()
    window.show_ci(story.web01)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: window.panel.details is not None, timeout=WAIT_MS)
    assert window.panel.details.record.get("owner") == "alice"
    assert not window.panel.form.isEnabled()
    assert not window.panel.add_relationship_button.isEnabled()
    # web01 Depends on db01 then; Del on it in the CI panel does nothing
    errors: list[str] = []
    window.errorReported.connect(lambda _title, text: errors.append(text))
    panel = window.panel
    assert panel.relationship_model.rowCount() > 0
    panel.relationship_view.expandAll()
    rel = next(
        panel.relationship_model.index(r, 0, panel.relationship_model.index(g, 0))
        for g in range(panel.relationship_model.rowCount())
        for r in range(panel.relationship_model.rowCount(panel.relationship_model.index(g, 0)))
    )
    panel.relationship_view.setCurrentIndex(rel)
    assert panel.selected_relationship() is not None
    assert not panel.remove_relationship_button.isEnabled()
    panel.remove_selected_relationship()
    panel.open_picker()
    settle(qtbot, window)
    assert errors == [] and panel.picker is None  # no refusal to read, no picker
    assert "as of" in window.windowTitle()
    assert window.recent() == [str(story.path)]  # the private copy is never "recent"
    # the past keeps working as the present does: analysis on that graph
    assert window.workbench.impact_action.isEnabled()

    qtbot.mouseClick(banner.back_button, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    assert not window.time_travel.active and not window.time_travel.bar.isVisible()
    assert window.browser.model.total == 2
    assert window.browser.model.row_of(story.app01) is not None
    assert _owner_of(qtbot, window, story.web01) == "carol"
    assert all(a.isEnabled() for a in _editing_actions(window)[:8])
    assert window.time_travel.add_baseline_action.isEnabled()
    assert "as of" not in window.windowTitle()
    # editing works again, on the CMDB as it is now
    window.show_ci(story.web01)
    settle(qtbot, window)
    assert window.panel.form.isEnabled()


def test_a_baseline_from_the_drop_down_and_alt_home(
    qtbot: Any, make_window: Any, story: Story
) -> None:
    window = make_window(story.path)
    picker = window.time_travel.picker
    qtbot.waitUntil(lambda: [b.name for b in picker.baselines] == ["audit-q2"], timeout=WAIT_MS)
    chosen = [a for a in picker.menu.actions() if a.text().startswith("audit-q2")]
    assert len(chosen) == 1
    chosen[0].trigger()
    qtbot.waitUntil(lambda: window.time_travel.active, timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.time_travel.banner.label.text() == (
        "Viewing the CMDB as of audit-q2 — read-only"
    )
    assert _owner_of(qtbot, window, story.web01) == "alice"
    assert not window.new_ci_action.isEnabled()
    # Alt+Home: back to now
    assert window.time_travel.now_action.shortcut().toString() == "Alt+Home"
    window.time_travel.now_action.trigger()
    settle(qtbot, window)
    assert not window.time_travel.active and window.new_ci_action.isEnabled()
    assert _owner_of(qtbot, window, story.web01) == "carol"


def test_a_moment_that_is_not_a_moment_says_what_to_give(
    qtbot: Any, make_window: Any, story: Story
) -> None:
    window = make_window(story.path)
    errors: list[tuple[str, str]] = []
    window.errorReported.connect(lambda title, text: errors.append((title, text)))
    window.time_travel.view_as_of("last tuesday")
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert "not a moment" in errors[0][1]
    assert not window.time_travel.active and window.new_ci_action.isEnabled()


def test_closing_the_cmdb_while_in_the_past_removes_the_copy(
    qtbot: Any, make_window: Any, story: Story
) -> None:
    window = make_window(story.path)
    _choose(qtbot, window, story.before)
    copy_dir = window.time_travel.view._dir
    assert copy_dir.exists()
    window.close_database()
    settle(qtbot, window)
    assert window.cmdb is None and not window.time_travel.active
    assert not copy_dir.exists()
    assert not window.time_travel.bar.isVisible()
    QApplication.processEvents()


def test_cancelling_the_trip_leaves_the_present_and_no_copy(
    qtbot: Any, make_window: Any, story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    window = make_window(story.path)
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    window.time_travel.view_as_of(story.before.isoformat())
    window.runner.cancel("as-of")  # the status bar's Cancel
    settle(qtbot, window)
    assert not window.time_travel.active and window.new_ci_action.isEnabled()
    assert not window.time_travel.bar.isVisible()
    assert list(temp.iterdir()) == []  # made or not, the copy is gone
    # and the next trip works
    _choose(qtbot, window, story.before)
    assert _owner_of(qtbot, window, story.web01) == "alice"


def test_editing_the_present_updates_a_comparison_with_now(
    qtbot: Any, make_window: Any, story: Story
) -> None:
    window = make_window(story.path)
    view = _compare(qtbot, window, "audit-q2")
    before = view.diff
    window.editor.bulk_set([story.app01], "owner", "erin", "Owner")
    qtbot.waitUntil(lambda: view.diff is not before, timeout=WAIT_MS)
    settle(qtbot, window)
    # app01 was created since: its owner is part of its creation, not a changed field
    assert _listed(view) == EXPECTED
    window.editor.bulk_set([story.web01], "owner", "alice", "Owner")
    qtbot.waitUntil(lambda: _listed(view)["Fields changed"] == [], timeout=WAIT_MS)


# -- What Changed ------------------------------------------------------------------
def _compare(qtbot: Any, window: Any, start: str, end: str = "Now") -> Any:
    """Open What Changed (Ctrl+Shift+D), choose FROM and TO, press Compare."""
    workbench = window.workbench
    assert workbench.diff_action.shortcut().toString() == "Ctrl+Shift+D"
    workbench.diff_action.trigger()
    view = workbench.diff
    assert window.workspaces.currentWidget() is view
    qtbot.waitUntil(lambda: view.from_field.kind.count() > 1, timeout=WAIT_MS)  # baselines
    view.from_field.set_moment(start)
    view.to_field.set_moment(end)
    view.diff = None
    qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.diff is not None, timeout=WAIT_MS)
    settle(qtbot, window)
    return view


def _listed(view: Any) -> dict[str, list[tuple[str, ...]]]:
    """What the tree shows: group title → the rows' texts."""
    model = view.model
    out: dict[str, list[tuple[str, ...]]] = {}
    for g in range(model.rowCount()):
        group = model.index(g, 0)
        rows = []
        for r in range(model.rowCount(group)):
            rows.append(tuple(model.index(r, c, group).data() for c in range(model.columnCount())))
        out[str(group.data()).rsplit(" (", 1)[0]] = rows
    return out


EXPECTED = {
    "CIs created": [("app01", "Application", "", "", "")],
    "CIs deleted": [("db01", "Database", "", "", "")],
    "Fields changed": [("web01", "Server", "owner", "alice", "carol")],
    "Relationships created": [],
    "Relationships deleted": [("web01 Depends on db01", "", "Depends on", "", "")],
}


@pytest.mark.parametrize("start", ["moment", "audit-q2"])
def test_what_changed_lists_exactly_the_net_changes_and_clicks_through(
    qtbot: Any, make_window: Any, story: Story, start: str
) -> None:
    window = make_window(story.path)
    moment = story.before.isoformat(sep="T") if start == "moment" else start
    view = _compare(qtbot, window, moment)
    # owner alice → bob → alice before FROM, mail01 created and deleted after: not listed
    assert _listed(view) == EXPECTED
    assert view.model.group_index("Fields changed").data() == "Fields changed (1)"
    # clicking a change selects its CI, as the other views do
    group = view.model.group_index("Fields changed")
    index = view.model.index(0, 0, group)
    rect = view.tree.visualRect(index)
    qtbot.mouseClick(view.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.panel.ci_id == story.web01, timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.browser.current_ci() == story.web01
    created = view.model.index(0, 0, view.model.group_index("CIs created"))
    qtbot.mouseClick(
        view.tree.viewport(), Qt.MouseButton.LeftButton, pos=view.tree.visualRect(created).center()
    )
    qtbot.waitUntil(lambda: window.panel.ci_id == story.app01, timeout=WAIT_MS)


def test_what_changed_filters_by_text_and_class(
    qtbot: Any, make_window: Any, story: Story
) -> None:
    window = make_window(story.path)
    view = _compare(qtbot, window, "audit-q2")
    classes = [view.class_box.itemText(i) for i in range(view.class_box.count())]
    assert classes == ["All classes", "Application", "Database", "Server"]
    view.class_box.setCurrentText("Database")
    listed = _listed(view)
    assert listed["CIs deleted"] == EXPECTED["CIs deleted"]
    assert listed["Relationships deleted"] == EXPECTED["Relationships deleted"]  # db01 is an end
    assert listed["CIs created"] == [] and listed["Fields changed"] == []
    view.class_box.setCurrentText("All classes")
    qtbot.keyClicks(view.filter_box, "CAROL")
    listed = _listed(view)
    assert listed["Fields changed"] == EXPECTED["Fields changed"]
    assert sum(len(rows) for rows in listed.values()) == 1
    assert "4 net change(s), 1 shown" in view.summary.text()


def test_what_changed_exports_the_workbook_cmdb_diff_writes(
    qtbot: Any, make_window: Any, story: Story, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from tests.commandline import cli

    window = make_window(story.path)
    view = _compare(qtbot, window, "audit-q2")
    ours = tmp_path / "ours.xlsx"
    view.export_to(str(ours))
    qtbot.waitUntil(ours.exists, timeout=WAIT_MS)
    settle(qtbot, window)
    theirs = tmp_path / "theirs.xlsx"
    code, _data, err = cli(story.path, "diff", "audit-q2", "-o", str(theirs))
    assert code == 0, err

    def sheets(path: Path) -> dict[str, list[tuple[Any, ...]]]:
        wb = load_workbook(path, read_only=True)
        try:
            return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb}
        finally:
            wb.close()

    a, b = sheets(ours), sheets(theirs)
    assert list(a) == list(b)
    for title in a:
        if title == "Summary":  # "To: now (…)" is the moment each was made
            assert [r for r in a[title] if r[0] != "To"] == [r for r in b[title] if r[0] != "To"]
        else:
            assert a[title] == b[title], title


def test_what_changed_reads_the_present_while_viewing_the_past(
    qtbot: Any, make_window: Any, story: Story
) -> None:
    window = make_window(story.path)
    _choose(qtbot, window, story.before)
    view = _compare(qtbot, window, "audit-q2")
    assert _listed(view) == EXPECTED
    assert window.time_travel.active  # still in the past


def test_the_diff_model_passes_the_model_tester(
    qtbot: Any, qtmodeltester: Any, story: Story
) -> None:
    from ui import jobs_time_travel
    from ui.jobs import JobState
    from ui.models.diff import DiffModel

    with Cmdb.open(story.path) as cmdb:
        diff = jobs_time_travel.diff(JobState(), cmdb, "audit-q2")
    model = DiffModel()
    qtmodeltester.check(model)
    model.set_diff(diff)
    qtmodeltester.check(model)
    model.set_filter("web01", "Server")
    qtmodeltester.check(model)
    assert [len(rows) for _t, rows in model.shown()] == [0, 0, 1, 0, 1]


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_the_banner_and_what_changed_fit_at_1366x768(
    qtbot: Any, qapp: Any, settings: Any, story: Story, mode: str
) -> None:
    from tests.ui.fit import clipped_texts
    from ui.main_window import MainWindow
    from ui.theme import Theme

    theme = Theme(qapp, mode)
    window = MainWindow(settings, theme)
    window.interactive = False
    try:
        window.resize(1366, 768)
        window.show()
        window.open_database(story.path)
        settle(qtbot, window)
        _choose(qtbot, window, story.before)
        problems = [f"as of: {p}" for p in clipped_texts(window)]
        view = _compare(qtbot, window, "audit-q2")
        assert view.diff is not None
        problems += [f"what changed: {p}" for p in clipped_texts(window)]
        assert window.time_travel.banner.isVisible()
    finally:
        window.close()
        theme.set_mode("light")
    assert problems == [], "\n".join(problems)
