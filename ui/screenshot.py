"""``cmdb-desktop --screenshot OUT.png --view NAME [--select CI]``: render a view
offscreen, save it, exit (PRODUCT.md §6; the docs' pictures come from here).

Views are a small explicit table, :data:`VIEWS`: a name and a function
``render(window, ci_id) -> QWidget`` that prepares the main window (the
database is already open and settled) and returns the widget to grab:
``table`` and ``ci`` (the browser and the CI panel), ``impact`` (``--select``
is the change set), ``graph`` (``--select`` is the centre), ``import`` (the
import wizard's preview of a sample inventory made from the open CMDB, see
:func:`sample_inventory`), ``health`` (the dashboard), ``changes``, ``assets``
and ``diff`` (the workspaces of PRODUCT.md §9–§11).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QWidget, QWizardPage

from cmdb_desktop.errors import CmdbError
from ui.main_window import MainWindow

Render = Callable[[MainWindow, int | None], QWidget]

#: How long a screenshot may wait for the database work to finish (s).
SETTLE_TIMEOUT = 120.0


def wait_until(predicate: Callable[[], bool], timeout: float = SETTLE_TIMEOUT) -> bool:
    """Run the event loop until ``predicate()`` holds (True) or time runs out (False)."""
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    return True


def settle(window: MainWindow, timeout: float = SETTLE_TIMEOUT) -> bool:
    """Wait until the worker is idle and the table has its result, then paint."""
    ok = wait_until(lambda: window.runner.is_idle() and not window.browser.loading, timeout)
    # a few more turns of the loop so timers (debounces) and paints run
    for _ in range(5):
        loop = QEventLoop()
        QTimer.singleShot(30, loop.quit)
        loop.exec()
        if not window.is_settled():
            wait_until(window.is_settled, timeout)
    return ok


def _with_dock(window: MainWindow, ci_id: int | None) -> None:
    """Show the CI dock on ``ci_id`` (default: the table's first CI), as a user has it."""
    if ci_id is None:
        ci_id = window.browser.model.ci_id(0)
    window.dock("ci").show()
    if ci_id is not None:
        window.show_ci(ci_id)


def render_table(window: MainWindow, ci_id: int | None) -> QWidget:
    """The whole window: navigator, table and the CI dock (on ``--select`` if given)."""
    _with_dock(window, ci_id)
    return window


def render_ci(window: MainWindow, ci_id: int | None) -> QWidget:
    """The whole window with the CI dock on the selected CI (the first one in the table
    without --select)."""
    if ci_id is None:
        ci_id = window.browser.model.ci_id(0)
    if ci_id is None:
        raise CmdbError("The CMDB is empty: there is no CI to show (use --select).")
    _with_dock(window, ci_id)
    return window


def _first_of(window: MainWindow, class_name: str) -> int | None:
    assert window.cmdb is not None
    from cmdb_desktop import browse
    from cmdb_desktop.browse import BrowseFilter, BrowseSort

    info = window.cmdb.meta.find_class(class_name)
    if info is None:
        return None
    ids = browse.page_ids(window.cmdb, BrowseFilter(class_id=info.id), BrowseSort("name"), 0, 1)
    return ids[0] if ids else None


def render_impact(window: MainWindow, ci_id: int | None) -> QWidget:
    """The impact workspace with ``--select`` as the change set (default: the first
    storage array, whose failure reaches services through VMs and clusters)."""
    ci_id = ci_id or _first_of(window, "Storage Device") or window.browser.model.ci_id(0)
    if ci_id is None:
        raise CmdbError("The CMDB is empty: there is nothing to assess (use --select).")
    ws = window.workbench.impact
    _with_dock(window, ci_id)
    window.workbench.impact.add_ids([ci_id])
    window.show_workspace("impact")
    wait_until(lambda: not ws.is_busy() and ws.table is not None)
    settle(window)
    if ws.services_model.rowCount():
        ws.services_view.setCurrentIndex(ws.services_model.index(0, 0))
    return window


def render_graph(window: MainWindow, ci_id: int | None) -> QWidget:
    """The graph of ``--select`` (default: the first database, whose neighbourhood runs
    from business services down to power), both ways, 3 steps."""
    ci_id = ci_id or _first_of(window, "Database") or window.browser.model.ci_id(0)
    if ci_id is None:
        raise CmdbError("The CMDB is empty: there is nothing to draw (use --select).")
    view = window.workbench.graph
    _with_dock(window, ci_id)
    window.workbench.show_graph(ci_id, depth=3, direction="both")
    wait_until(lambda: view.result is not None and not window.runner.busy_with("graph"))
    return window


def sample_inventory(window: MainWindow, folder: Path, rows: int = 24) -> Path:
    """A CSV such as an inventory team sends: the CMDB's first servers under other
    headers, two with a new owner, one with an invalid criticality, four new ones."""
    import csv

    assert window.cmdb is not None
    from cmdb_desktop import browse
    from cmdb_desktop.browse import BrowseFilter, BrowseSort

    cmdb = window.cmdb
    info = cmdb.meta.find_class("Server")
    flt = BrowseFilter(class_id=info.id if info is not None else None)
    ids = browse.page_ids(cmdb, flt, BrowseSort("name"), 0, rows)
    keys = ["name", "serial_number", "asset_tag", "owner", "criticality", "status"]
    found = browse.rows(cmdb, ids, keys)
    out = folder / "inventory-2024-q3.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Hostname", "Serial No", "Asset", "Owner", "Criticality", "Lifecycle"])
        for n, ci in enumerate(ids):
            name, serial, tag, owner, crit, status = found[ci]
            if n in (2, 9):
                owner = "Infrastructure Team B"
            if n == 6:
                crit = "high"
            w.writerow([name, serial, tag, owner, crit, status])
        for k in range(4):
            w.writerow([f"par1-srv-new{k + 1:02}", f"SN-Q3-{k + 1:04}", "", "Ops", 3, "In Stock"])
    return out


def render_import(window: MainWindow, ci_id: int | None) -> QWidget:
    """The import wizard's preview of :func:`sample_inventory` (class Server)."""
    import tempfile

    folder = tempfile.TemporaryDirectory(prefix="cmdb-sample-")
    path = sample_inventory(window, Path(folder.name))
    wizard = window.workbench.open_import(str(path))
    if wizard is None:
        raise CmdbError("No CMDB is open.")

    def remove_sample(*_args: object) -> None:
        folder.cleanup()

    wizard.destroyed.connect(remove_sample)  # the sample goes with the wizard
    wizard.resize(window.size())  # --size applies to the wizard too
    wait_until(wizard.file_page.isComplete)

    def showing(page: QWizardPage) -> Callable[[], bool]:
        return lambda: wizard.currentPage() is page

    for page in (wizard.sheets_page, wizard.mapping_page):
        wizard.next()
        wait_until(showing(page))
    wizard.mapping_page.editor.set_default_class("Server")
    wizard.next()
    wait_until(showing(wizard.preview_page))
    settle(window)
    return wizard


def render_health(window: MainWindow, ci_id: int | None) -> QWidget:
    """The health dashboard listing the duplicate candidates (``--select`` is not used)."""
    board = window.workbench.health
    _with_dock(window, None)
    window.workbench.show_health()
    wait_until(lambda: board.report is not None and not board.is_busy())
    board.show_finding("duplicates")
    wait_until(lambda: board.finding is not None and not board.is_busy())
    return window


def render_changes(window: MainWindow, ci_id: int | None) -> QWidget:
    """The Changes workspace: the list, the calendar, and the first change opened
    (``--select`` is not used)."""
    view = window.workbench.changes
    _with_dock(window, None)
    window.show_workspace("changes")
    wait_until(lambda: view.board is not None and not window.runner.busy_with("changes"))
    if view.board is not None and view.board.assessments:
        view.select(view.board.assessments[0].change.id)
    return window


def render_assets(window: MainWindow, ci_id: int | None) -> QWidget:
    """The Assets workspace: lifecycle board, value by age, calendars, compliance."""
    view = window.workbench.assets
    _with_dock(window, None)
    window.show_workspace("assets")
    wait_until(lambda: view.overview is not None and not window.runner.busy_with("assets"))
    return window


def render_diff(window: MainWindow, ci_id: int | None) -> QWidget:
    """What Changed: from the first baseline (or the start of the history) to now."""
    view = window.workbench.diff
    _with_dock(window, None)
    window.show_workspace("diff")
    settle(window)
    from ui.views.diff_view import MOMENT, NOW

    kinds = [view.from_field.kind.itemText(i) for i in range(view.from_field.kind.count())]
    baselines = [k for k in kinds if k not in (MOMENT, NOW)]
    view.from_field.set_moment(baselines[0] if baselines else "2000-01-01")
    view.to_field.set_moment("Now")
    view.compare()
    wait_until(lambda: view.diff is not None and not window.runner.busy_with("diff"))
    return window


VIEWS: dict[str, Render] = {
    "table": render_table,
    "ci": render_ci,
    "impact": render_impact,
    "graph": render_graph,
    "import": render_import,
    "health": render_health,
    "changes": render_changes,
    "assets": render_assets,
    "diff": render_diff,
}

ALL_VIEWS = tuple(VIEWS)


def take(window: MainWindow, view: str, select: str | None, out: str | Path) -> Path:
    """Render ``view`` of the open CMDB into ``out`` (PNG). Raises CmdbError for bad input."""
    if view not in VIEWS:
        raise CmdbError(f"There is no {view!r} view; available: {', '.join(VIEWS)}.")
    if not settle(window):
        raise CmdbError("Timed out waiting for the CMDB to load.")
    ci_id = None
    if select is not None:
        assert window.cmdb is not None
        ci_id = window.cmdb.items.resolve(select)
    widget = VIEWS[view](window, ci_id)
    settle(window)
    window.statusBar().clearMessage()  # "Opened …" is a passing note, not the view
    if window.cmdb is not None and window.cmdb.path is not None:
        window.db_label.setText(window.cmdb.path.name)  # no folder of whoever took it
    image = widget.grab()
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        raise CmdbError(f"Cannot write {path}.")
    return path
