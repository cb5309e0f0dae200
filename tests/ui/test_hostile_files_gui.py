"""The GUI survives every hostile file: the import wizard, on a real window over a
real CMDB, is walked as far as each corpus file lets it (file → sheets →
mapping → preview). A file refused as a whole shows its message on the page
where reading failed; a file with one bad cell reaches the preview with that
cell listed, and the import stays refused. Afterwards the window still works
and the database is unchanged.

The worker runs the same readers as the command line; a native abort there
(python-calamine on a sheet reaching XFD1048576) would take this whole test
process down, which is the failure this test exists to catch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cmdb import Cmdb
from tests.importers import badfiles
from tests.importers.badfiles import BadFile
from tests.importers.workers import digest
from tests.ui.waits import settle

REPO = Path(__file__).resolve().parents[2]
BAD_DIR = REPO / "tests" / "data" / "bad"
WAIT_MS = 60_000


def _visible_error(page: Any) -> str | None:
    if page.error.isVisible() and not page.panel.busy:
        return str(page.error.text())
    return None


def walk(qtbot: Any, window: Any, path: Path) -> tuple[str, Any]:
    """Drive the wizard on ``path``: (where it stopped, the message or the plan)."""
    wizard = window.workbench.open_import(str(path))
    try:
        file_page = wizard.file_page
        qtbot.waitUntil(
            lambda: file_page.isComplete() or _visible_error(file_page) is not None,
            timeout=WAIT_MS,
        )
        if not file_page.isComplete():
            return "file", _visible_error(file_page)
        for page, following in (
            (file_page, wizard.sheets_page),
            (wizard.sheets_page, wizard.mapping_page),
            (wizard.mapping_page, wizard.preview_page),
        ):
            if wizard.currentPage() is not page:
                wizard.next()  # file page → sheets page needs no job
            wizard.next()
            qtbot.waitUntil(
                lambda p=page, f=following: (
                    wizard.currentPage() is f or _visible_error(p) is not None
                ),
                timeout=WAIT_MS,
            )
            if wizard.currentPage() is not following:
                return page.objectName() or type(page).__name__, _visible_error(page)
        qtbot.waitUntil(lambda: wizard.plan is not None, timeout=WAIT_MS)
        return "preview", wizard
    finally:
        pass


def check(qtbot: Any, window: Any, bad: BadFile, path: Path) -> list[str]:
    where, what = walk(qtbot, window, path)
    wizard = window.workbench.import_wizard
    problems: list[str] = []
    try:
        if where != "preview":
            if bad.refused is None:
                problems.append(f"stopped at {where}: {what}")
            elif not what or not re.search(bad.refused, what):
                problems.append(f"stopped at {where} with {what!r}, expected {bad.refused!r}")
            return problems
        plan = wizard.plan
        preview = wizard.preview_page
        if preview.isComplete():
            problems.append("the preview offers to import a file with errors")
        if bad.error is not None:
            places = {(e.sheet, e.row, e.column) for e in plan.errors}
            if bad.error not in places:
                problems.append(f"no error at {bad.error}: {sorted(map(str, places))[:5]}")
            if preview.errors_model.rowCount() < 1:
                problems.append("the preview lists no error")
        elif bad.refused is not None:
            text = " ".join(e.message for e in plan.errors)
            if not re.search(bad.refused, text):
                problems.append(f"preview errors {text!r} do not match {bad.refused!r}")
        return problems
    finally:
        wizard.reject()
        settle(qtbot, window)


@pytest.fixture(scope="module")
def corpus() -> list[tuple[BadFile, Path]]:
    return badfiles.build(BAD_DIR)


def test_the_gui_survives_every_hostile_file(
    qtbot: Any, make_window: Any, demo_path: Path, corpus: list[tuple[BadFile, Path]]
) -> None:
    before = digest(demo_path)
    window = make_window(demo_path)
    failures = []
    for bad, path in corpus:
        failures += [f"{bad.name}: {p}" for p in check(qtbot, window, bad, path)]
    assert not failures, "\n".join(failures)
    # the window still works: the worker is idle and answers a search
    settle(qtbot, window)
    qtbot.keyClicks(window.search_box, "ams1-srv-000001")
    qtbot.waitUntil(lambda: window.browser.filter.text == "ams1-srv-000001", timeout=5000)
    settle(qtbot, window)
    assert window.browser.model.total >= 1
    window.close()
    assert digest(demo_path) == before
    with Cmdb.open(demo_path) as c:
        assert c.items.count() == 2000
