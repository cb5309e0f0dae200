"""Two main windows, each with its own Cmdb, on one SQLite file (two desktop
sessions on a shared file behave the same): the second save of a CI shows the
conflict dialog instead of overwriting, the user's choice is honoured, and
each window picks up the other's changes when it polls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import WAIT_MS, settle


def _fill(qtbot: Any, widget: Any, text: str) -> None:
    line = getattr(widget, "line", widget)
    line.setFocus()
    line.selectAll()
    qtbot.keyClick(line, Qt.Key.Key_Delete)
    qtbot.keyClicks(line, text)


def _stored_owner(path: Path, ci: int) -> Any:
    with Cmdb.open(path) as c:
        return c.items.get(ci).values["owner"]


def _two_windows_on(qtbot: Any, make_window: Any, path: Path, ref: str) -> tuple[Any, Any, int]:
    a, b = make_window(path), make_window(path)
    assert a.cmdb is not b.cmdb
    ci = a.cmdb.items.resolve(ref)
    for w in (a, b):
        w.show_ci(ci)
        settle(qtbot, w)
        assert w.panel.ci_id == ci
        # the first change poll (every 3 s) takes the baseline the next ones compare to
        w._poll()
        settle(qtbot, w)
    return a, b, ci


def test_second_save_shows_the_conflict_dialog(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    a, b, ci = _two_windows_on(qtbot, make_window, demo_path, "Server/ams1-srv-000001")
    _fill(qtbot, a.panel.form.editor("owner"), "From A")
    a.panel.save()
    settle(qtbot, a)
    assert _stored_owner(demo_path, ci) == "From A"

    # B still shows the version it loaded: its save must not overwrite A's
    _fill(qtbot, b.panel.form.editor("owner"), "From B")
    b.panel.save()
    qtbot.waitUntil(lambda: b.panel.conflict_dialog is not None, timeout=WAIT_MS)
    dialog = b.panel.conflict_dialog
    assert dialog.isVisible()
    assert ("Owner", "From B", "From A") in dialog.values()
    assert _stored_owner(demo_path, ci) == "From A"

    # "Discard mine, show theirs": B shows A's value, and its next save is no conflict
    dialog.reload_button.click()
    settle(qtbot, b)
    assert b.panel.form.editor("owner").text() == "From A"
    _fill(qtbot, b.panel.form.editor("owner"), "From B, knowingly")
    b.panel.save()
    settle(qtbot, b)
    assert b.panel.conflict_dialog is None or not b.panel.conflict_dialog.isVisible()
    assert _stored_owner(demo_path, ci) == "From B, knowingly"

    # A learns of B's change when it polls and shows it (it had nothing unsaved)
    a._poll()
    qtbot.waitUntil(
        lambda: a.panel.form.editor("owner").text() == "From B, knowingly", timeout=WAIT_MS
    )


def test_overwrite_after_seeing_both_values(qtbot: Any, make_window: Any, demo_path: Path) -> None:
    a, b, ci = _two_windows_on(qtbot, make_window, demo_path, "Server/ams1-srv-000005")
    version = a.cmdb.items.get(ci).version
    _fill(qtbot, a.panel.form.editor("owner"), "From A")
    _fill(qtbot, b.panel.form.editor("owner"), "From B")
    a.panel.save()
    settle(qtbot, a)
    b.panel.save()
    qtbot.waitUntil(lambda: b.panel.conflict_dialog is not None, timeout=WAIT_MS)
    b.panel.conflict_dialog.overwrite_button.click()
    settle(qtbot, b)
    with Cmdb.open(demo_path) as c:
        record = c.items.get(ci)
        assert record.values["owner"] == "From B"
        assert record.version == version + 2
        # both saves are in the history, nothing silently lost
        owners = [e.new_value for e in c.history.for_ci(ci) if e.field == "owner"]
        assert owners[:2] == ["From B", "From A"]


def test_undo_in_one_window_after_the_other_saved_asks_first(
    qtbot: Any, make_window: Any, demo_path: Path
) -> None:
    a, b, ci = _two_windows_on(qtbot, make_window, demo_path, "Server/ams1-srv-000003")
    _fill(qtbot, a.panel.form.editor("owner"), "From A")
    a.panel.save()
    settle(qtbot, a)
    b._poll()
    qtbot.waitUntil(lambda: b.panel.form.editor("owner").text() == "From A", timeout=WAIT_MS)
    _fill(qtbot, b.panel.form.editor("owner"), "From B")
    b.panel.save()
    settle(qtbot, b)
    a.editor.undo()  # would put back the owner from before A's edit, over B's
    qtbot.waitUntil(lambda: a.editor.conflict_dialog is not None, timeout=WAIT_MS)
    assert _stored_owner(demo_path, ci) == "From B"
    a.editor.conflict_dialog.cancel_button.click()
    assert _stored_owner(demo_path, ci) == "From B"
