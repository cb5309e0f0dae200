"""The AppContext views are given: the CMDB, the chosen CIs, listing CIs, folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ui.jobs import PROBLEM_LIMIT


def test_following_a_cmdb(qtbot: Any, make_context: Any, demo_path: Path) -> None:
    context = make_context(demo_path)
    cmdb = context.cmdb
    assert context.editor.cmdb is cmdb
    with qtbot.waitSignal(context.databaseChanged) as changed:
        context.set_cmdb(None)
    assert changed.args == [None] and context.editor.cmdb is None
    with qtbot.assertNotEmitted(context.databaseShown):
        context.database_shown()  # no CMDB: nothing to announce
    context.set_cmdb(cmdb)
    with qtbot.waitSignal(context.databaseShown) as shown:
        context.database_shown()
    assert shown.args == [cmdb]


def test_chosen_ids_and_listing_them(make_context: Any, demo_path: Path) -> None:
    context = make_context(demo_path)
    nav = context.navigation
    assert context.chosen_ids() == []
    nav.current = 7
    assert context.chosen_ids() == [7]  # the CI in the panel when nothing is selected
    nav.selection = [3, 5]
    assert context.chosen_ids() == [3, 5]
    context.show_ids([1, 2, 3], "Three")
    kind, (flt, label) = nav.calls[-1]
    assert kind == "show_in_table" and flt.ids == (1, 2, 3) and label == "Three"
    assert context.messages == []
    many = list(range(1, PROBLEM_LIMIT + 11))
    context.show_ids(many, "Many")
    assert len(nav.calls[-1][1][0].ids) == PROBLEM_LIMIT
    assert context.messages[-1] == (
        f"Many: showing the first {PROBLEM_LIMIT:,} of {PROBLEM_LIMIT + 10:,} CIs."
    )


def test_last_folder(make_context: Any, demo_path: Path, tmp_path: Path) -> None:
    context = make_context(demo_path)
    assert context.last_folder == demo_path.parent  # the open CMDB's folder at first
    chosen = tmp_path / "reports"
    chosen.mkdir()
    context.remember_folder(chosen / "impact.xlsx")
    assert context.last_folder == chosen
    chosen.rmdir()  # gone: back to the CMDB's folder
    assert context.last_folder == demo_path.parent
    cmdb = context.cmdb
    context.set_cmdb(None)
    assert context.last_folder == Path.home()
    context.set_cmdb(cmdb)
