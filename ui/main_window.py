"""The main window: menus, toolbar, status bar, the browser, the navigator and the CI panel.

It builds the :class:`~ui.context.AppContext` every view is given (the worker,
the editor, the change bridge, the open CMDB, navigation, the last-used
folder, feedback) and implements its navigation; it holds no SQL and no
business rules, and does not decide for the views what they refresh: each
follows the context's change bridge itself. The window keeps what is its own
(the navigator's counts and problems, the status bar, back/forward).
Extension points for later parts (impact workspace, graph view, import and
audit wizards, health dashboard):

* ``context`` (:class:`ui.context.AppContext`), which views are built with;
  ``runner``, ``editor`` and ``bridge`` are its worker, editor and bridge;
* the ``ciSelected(ci_id)`` signal, :meth:`selected_ids`, :meth:`show_ci`;
* :meth:`add_workspace` (a tab in the centre), :meth:`add_dock`, and
  ``menus`` (``"file"``, ``"edit"``, ``"ci"``, ``"view"``, ``"tools"``,
  ``"help"``) plus ``toolbar`` for their actions (built in
  :mod:`ui.window_menus`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QWidget,
)

from cmdb_desktop.browse import BrowseFilter
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import default_db_path, display_url
from cmdb_desktop.errors import CmdbError
from cmdb_desktop.live import ChangeWatcher
from ui import jobs, window_menus, workbench
from ui.context import AppContext
from ui.navigation import NavigationHistory
from ui.tasks import Task
from ui.theme import Theme, app_icon, icon
from ui.time_travel import TimeTravel
from ui.views.browser import BrowserView
from ui.views.ci_panel import CiPanel
from ui.views.class_manager import ClassManager
from ui.views.deleted_history import DeletedHistoryDialog
from ui.views.job_status import JobStatus
from ui.views.navigator import NavigatorView
from ui.views.stable_label import StableLabel
from ui.views.welcome import WelcomePage
from ui.window_menus import SEARCH_DEBOUNCE_MS  # noqa: F401 - part of this module's API

log = logging.getLogger(__name__)

RECENT_LIMIT = 8
#: How often other programs' changes are looked for (ms).
POLL_MS = 3000
#: Up to this many CIs the problem counts are kept up to date automatically;
#: above it they are computed when asked for (each check scans the CMDB and
#: would hold the single worker for seconds).
PROBLEMS_AUTO_LIMIT = 100_000
#: Name fragments of fields that "Set field on selection…" does not offer.
_SETTABLE_SKIP = ("name",)


def default_settings() -> QSettings:
    return QSettings("cmdb-desktop", "CMDB Desktop")


class _WindowNavigation:
    """The window's side of :class:`ui.context.Navigation` (views never see the window)."""

    def __init__(self, window: MainWindow) -> None:
        self._window = window

    def show_ci(self, ci_id: int) -> None:
        self._window.show_ci(ci_id)

    def show_in_table(self, flt: BrowseFilter, label: str) -> None:
        self._window.show_in_table(flt, label)

    def show_workspace(self, key: str) -> None:
        self._window.show_workspace(key)

    def show_graph(
        self, ci_id: int, *, depth: int | None = None, direction: str | None = None
    ) -> None:
        self._window.workbench.show_graph(ci_id, depth=depth, direction=direction)

    def show_batches(self, batch_id: int | None = None) -> None:
        self._window.workbench.show_batches(batch_id)

    def open_import(self) -> None:
        self._window.workbench.open_import()

    def current_ci(self) -> int | None:
        return self._window.panel.ci_id

    def selected_ids(self) -> list[int]:
        return self._window.selected_ids()


class MainWindow(QMainWindow):
    ciSelected = Signal(object)
    #: ``(title, message)`` of every error shown to the user (or, when not
    #: ``interactive``, instead of showing it: screenshots must never block).
    errorReported = Signal(str, str)
    #: A colleague committed on the server (team mode; emitted from the
    #: listening thread of cmdb_desktop.live, delivered on the GUI thread).
    remoteChanged = Signal()

    # Built onto the window by ui.window_menus (later parts add to them).
    new_db_action: QAction
    connect_action: QAction
    open_action: QAction
    demo_action: QAction
    save_copy_action: QAction
    close_action: QAction
    quit_action: QAction
    find_action: QAction
    new_ci_action: QAction
    edit_ci_action: QAction
    delete_action: QAction
    set_field_action: QAction
    add_relationship_action: QAction
    deleted_history_action: QAction
    back_action: QAction
    forward_action: QAction
    refresh_action: QAction
    class_manager_action: QAction
    save_filter_action: QAction
    shortcuts_action: QAction
    about_action: QAction
    theme_actions: dict[str, QAction]
    menus: dict[str, QMenu]
    recent_menu: QMenu
    toolbar: QToolBar
    search_box: QLineEdit
    search_action: QAction
    match_label: StableLabel
    _search_timer: QTimer
    db_label: QLabel
    count_label: StableLabel
    selection_label: StableLabel
    job_status: JobStatus

    def __init__(self, settings: QSettings | None = None, theme: Theme | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowIcon(app_icon())
        self.settings = settings or default_settings()
        self.theme = theme
        self.context = AppContext(self.settings, self, _WindowNavigation(self), theme)
        self.runner = self.context.runner
        self.bridge = self.context.bridge
        self.editor = self.context.editor
        self.navigation = NavigationHistory()
        self.class_manager: ClassManager | None = None
        self.deleted_history: DeletedHistoryDialog | None = None
        self._workspaces: dict[str, QWidget] = {}
        self._docks: dict[str, QDockWidget] = {}
        self._closing = False
        self._side_panels_for: Cmdb | None = None
        self.interactive = True

        self.browser = BrowserView(self.context, self)
        self.workspaces = QTabWidget(self)
        self.workspaces.setObjectName("workspaces")
        self.workspaces.setDocumentMode(True)
        self.workspaces.setTabBarAutoHide(True)
        self.add_workspace("browse", "Browse", self.browser, "search")
        self.welcome = WelcomePage(self)
        self.centre = QStackedWidget(self)
        self.centre.addWidget(self.welcome)
        self.centre.addWidget(self.workspaces)
        self.setCentralWidget(self.centre)

        self.navigator = NavigatorView(self)
        self.panel = CiPanel(self.context, self)
        self.navigator.setMinimumWidth(160)
        self.panel.setMinimumWidth(300)
        self.add_dock(
            "navigator", "Navigator", self.navigator, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.add_dock("ci", "CI", self.panel, Qt.DockWidgetArea.RightDockWidgetArea)

        window_menus.build_actions(self)
        window_menus.build_menus(self)
        window_menus.build_toolbar(self)
        window_menus.build_status_bar(self)
        self.workbench = workbench.Workbench(self)  # GUI part 2: impact, graph, wizards…
        self.time_travel = TimeTravel(self)  # the CMDB as it was (PRODUCT.md §11)
        self._connect()
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._poll)
        self._watcher: ChangeWatcher | None = None
        self.remoteChanged.connect(self._remote_change)
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(400)
        self._counts_timer.timeout.connect(self.refresh_counts)
        self._problems_timer = QTimer(self)
        self._problems_timer.setSingleShot(True)
        self._problems_timer.setInterval(3000)
        self._problems_timer.timeout.connect(self.refresh_problems)
        self.resize(1400, 860)
        self._restore_layout()
        self._set_cmdb(None)
        # Pay SQLAlchemy's one-time costs while the user looks at the window
        # (dropped if a CMDB is opened before it started: no use then).
        self.runner.submit("Starting", jobs.warm_up, visible=False, key="warm-up")

    @property
    def cmdb(self) -> Cmdb | None:
        """The open CMDB (the context's)."""
        return self.context.cmdb

    # -- extension points ----------------------------------------------------
    def add_workspace(self, key: str, title: str, widget: QWidget, icon_name: str = "") -> int:
        """Add a tab to the centre (GUI part 2: impact, graph, health…)."""
        self._workspaces[key] = widget
        if icon_name:
            return self.workspaces.addTab(widget, icon(icon_name), title)
        return self.workspaces.addTab(widget, title)

    def show_workspace(self, key: str) -> None:
        self.workspaces.setCurrentWidget(self._workspaces[key])

    def add_dock(
        self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea
    ) -> QDockWidget:
        """Add a dockable panel; its visibility and place are remembered."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")
        if self.theme is not None and hasattr(self, "toolbar"):
            self.theme.style(dock)  # docks added later (GUI part 2) get the look too
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        self._docks[key] = dock
        return dock

    def dock(self, key: str) -> QDockWidget:
        return self._docks[key]

    def is_settled(self) -> bool:
        """Nothing queued, running or about to start (debounced searches and refreshes);
        what the window shows matches the database. Tests and screenshots wait for it."""
        return (
            self.runner.is_idle()
            and not self.browser.loading
            and not self.browser.model.fetching
            and not self._search_timer.isActive()
            and not self._counts_timer.isActive()
        )

    def selected_ids(self) -> list[int]:
        """The CIs selected in the table (in table order)."""
        return self.browser.selected_ids()

    def show_shortcuts(self) -> None:
        window_menus.show_shortcuts(self)

    def show_about(self) -> None:
        window_menus.show_about(self)

    def _connect(self) -> None:
        self.welcome.demoRequested.connect(self.create_demo_default)
        self.welcome.newRequested.connect(self.ask_new_database)
        self.welcome.openRequested.connect(self.ask_open_database)
        self.welcome.recentChosen.connect(self.open_database)
        self.browser.currentCiChanged.connect(self._table_current_changed)
        self.browser.activated.connect(self._table_activated)
        self.browser.resultChanged.connect(self._update_counts_label)
        self.browser.firstResultShown.connect(self._fill_side_panels)
        self.browser.selectionChanged.connect(self._selection_changed)
        self.browser.message.connect(self.show_message)
        self.panel.navigateRequested.connect(self.show_ci)
        self.panel.created.connect(self._created)
        self.panel.message.connect(self.show_message)
        self.panel.dirtyChanged.connect(lambda _d: self._update_actions())
        self.navigator.classChosen.connect(self._class_chosen)
        self.navigator.filterChosen.connect(self._filter_chosen)
        self.navigator.problemChosen.connect(self._problem_chosen)
        self.navigator.deleteFilterRequested.connect(self.delete_filter)
        self.navigator.saveFilterRequested.connect(self.save_filter)
        self.navigator.problemsWanted.connect(self.refresh_problems)
        self.bridge.changed.connect(self._on_changed)
        self.bridge.external.connect(self._on_external_change)
        self.context.messageShown.connect(self.show_message)
        self.context.errorReported.connect(self.report_error)
        self.runner.failed.connect(self._job_failed)
        self.editor.busyChanged.connect(lambda _b: self._update_actions())
        if self.theme is not None:
            self.theme.changed.connect(self._theme_changed)
            # everything but the central views (see Theme.style)
            self.theme.style(
                self.toolbar,
                self.statusBar(),
                self.browser.filter_bar,
                self.welcome,
                self.workspaces.tabBar(),
                *self._docks.values(),
            )

    # -- layout and settings -------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
            self.time_travel.restore_state()
        else:
            # the table keeps most of the width: the CI dock takes about 28 % (issue 15)
            ci_width = min(440, max(340, round(self.width() * 0.28)))
            self.resizeDocks(
                [self.dock("navigator"), self.dock("ci")],
                [250, ci_width],
                Qt.Orientation.Horizontal,
            )

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def recent(self) -> list[str]:
        value = self.settings.value("recent")
        return [str(v) for v in value] if isinstance(value, list) else []

    def _remember(self, cmdb: Cmdb) -> None:
        if cmdb.path is None:
            return
        path = str(cmdb.path)
        paths = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue("recent", paths[:RECENT_LIMIT])
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent()
        for path in paths:
            self.recent_menu.addAction(icon("database"), path, lambda p=path: self.open_database(p))
        if paths:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear the list", self._clear_recent)
        self.recent_menu.setEnabled(bool(paths))
        self.welcome.set_recent([p for p in paths if Path(p).exists()])

    def _clear_recent(self) -> None:
        self.settings.remove("recent")
        self._fill_recent_menu()

    def set_theme(self, mode: str) -> None:
        self.settings.setValue("theme", mode)
        if mode in self.theme_actions:
            self.theme_actions[mode].setChecked(True)
        if self.theme is not None:
            self.theme.set_mode(mode)

    def _theme_changed(self) -> None:
        for action in self.findChildren(QAction):
            name = action.data()
            if isinstance(name, str) and name:
                action.setIcon(icon(name))
        self.editor.undo_action.setIcon(icon("undo"))
        self.editor.redo_action.setIcon(icon("redo"))
        self.browser.copy_action.setIcon(icon("copy"))
        self.browser.export_action.setIcon(icon("export"))
        self.browser.columns_action.setIcon(icon("columns"))
        self.browser.model.invalidate()

    # -- opening and closing -------------------------------------------------
    def show_welcome(self, *, first_start: bool = False) -> None:
        self.welcome.set_first_start(default_db_path() if first_start else None)
        self.centre.setCurrentWidget(self.welcome)

    def open_database(self, target: str | os.PathLike[str], *, create: bool = True) -> None:
        """Open (in the worker) and show a CMDB; the current one is closed first."""
        target = os.fspath(target)
        if "://" not in target and not create and not Path(target).exists():
            QMessageBox.warning(self, "Open", f"There is no file {target}.")
            return
        self.close_database()
        self.runner.cancel("warm-up")
        self.show_message(f"Opening {display_url(target)}…")
        # The table's first page is read by the same job, so that it paints as
        # soon as the window has the CMDB.
        columns, limit, prefetch = self.browser.first_page_request()
        self.runner.submit(
            f"Opening {Path(display_url(target)).name}",
            jobs.open_for_browsing,
            target,
            columns,
            limit,
            prefetch,
            on_done=self._opened,
            on_error=self._open_failed,
            cancellable=False,
        )

    def create_demo(self, target: str | os.PathLike[str], size: int, seed: int = 1) -> None:
        """Create a demo CMDB at ``target`` (in the worker, with progress) and show it."""
        self.close_database()
        self.runner.submit(
            f"Creating the demo CMDB ({size:,} CIs)",
            jobs.create_demo,
            os.fspath(target),
            size,
            seed,
            on_done=self._opened,
            on_error=self._open_failed,
        )

    def create_demo_default(self, size: int) -> None:
        path = default_db_path()
        if path.exists():
            self.open_database(path)
        else:
            self.create_demo(path, size)

    def _opened(self, result: Cmdb | jobs.Opened) -> None:
        opened = result if isinstance(result, jobs.Opened) else None
        cmdb = opened.cmdb if opened is not None else result
        assert isinstance(cmdb, Cmdb)
        if self._closing:
            cmdb.close()
            return
        self._set_cmdb(cmdb, opened)
        note = f"Opened {cmdb.describe()}"
        if cmdb.backup_path is not None:
            note += f" (schema upgraded; backup at {cmdb.backup_path})"
        if cmdb.read_only is not None:
            note += f" read-only: {cmdb.read_only}; changes will be refused"
        elif cmdb.role != "admin" and cmdb.path is None:
            note += f" as {cmdb.role}"
        self.show_message(note)

    def _open_failed(self, exc: BaseException) -> None:
        self.show_welcome()
        self.report_error("Cannot open the CMDB", exc)

    def close_database(self) -> None:
        """Detach every view, then close the CMDB after the jobs queued before it."""
        cmdb = self.cmdb
        if cmdb is None:
            return
        if self.panel.dirty and not self.panel.confirm_discard():
            return
        self.runner.cancel()
        # viewing the past: its copy goes, and the CMDB as it is now is the one to close
        present = self.time_travel.leave()
        self._set_cmdb(None)
        self.runner.submit(
            "Closing", jobs.close_cmdb, present or cmdb, visible=False, cancellable=False
        )

    def _set_cmdb(self, cmdb: Cmdb | None, opened: jobs.Opened | None = None) -> None:
        """Show ``cmdb`` (or nothing). The table comes first; the navigator, counts
        and saved filters follow once its first page is on screen, so that they
        do not compete with it (see :meth:`_fill_side_panels`). ``opened`` is what
        the opening job read besides (the first page, the change counters)."""
        self._side_panels_for = None
        # first: without a first page, its query runs while the rest is set up
        self.browser.set_cmdb(cmdb, opened.page if opened is not None else None)
        # the bridge, the editor, then every view (databaseChanged)
        self.context.set_cmdb(cmdb, opened.data_generation if opened is not None else None)
        self.navigation.clear()
        self.search_box.blockSignals(True)
        self.search_box.clear()
        self.search_box.blockSignals(False)
        if self.class_manager is not None:
            self.class_manager.close()
            self.class_manager = None
        if self.deleted_history is not None:
            self.deleted_history.close()
            self.deleted_history = None
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if cmdb is None:
            self._poll_timer.stop()
            self.navigator.set_meta(None)
            self.navigator.set_filters([])
            self.setWindowTitle("CMDB Desktop")
            self.db_label.setText("No CMDB open")
            self.centre.setCurrentWidget(self.welcome)
            self._fill_recent_menu()
        else:
            self.setWindowTitle(f"{cmdb.describe()} — CMDB Desktop")
            self.db_label.setText(cmdb.describe())
            self.db_label.setToolTip(display_url(cmdb.url))
            self.centre.setCurrentWidget(self.workspaces)
            self._total_cis = None
        self._update_actions()
        self._update_counts_label()

    def _fill_side_panels(self) -> None:
        """Navigator, counts, saved filters, change polling, the recent files: once per
        opened CMDB."""
        cmdb = self.cmdb
        if cmdb is None or self._side_panels_for is cmdb:
            return
        self._side_panels_for = cmdb
        self.navigator.set_meta(cmdb.meta)
        self.navigator.set_filters([])
        self.navigator.model.set_problem_checks()
        self.refresh_counts()
        self.refresh_filters()
        self._poll_timer.start()
        # team mode: a colleague's commit arrives within 2 s (LISTEN/NOTIFY)
        self._watcher = cmdb.watch(self.remoteChanged.emit)
        # Not before: the settings file is written on the next pass of the event
        # loop (about a millisecond), which would come before the first paint.
        if not self.time_travel.active:  # the CMDB as it was is a private copy
            self._remember(cmdb)
        self._fill_recent_menu()
        self.context.database_shown()

    def ask_connect(self) -> None:
        """File › Connect to server…: a saved connection (password from the keyring) or
        a new one; the password is never kept anywhere else."""
        from ui.views.connect_dialog import ConnectDialog

        dialog = ConnectDialog(self)
        if dialog.exec() and dialog.url is not None:
            self.open_database(dialog.url)

    def ask_open_database(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a CMDB",
            str(self.context.last_folder),
            "CMDB files (*.sqlite *.db);;All files (*)",
        )
        if path:
            self.context.remember_folder(path)
            self.open_database(path, create=False)

    def ask_new_database(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "New CMDB", str(self.context.last_folder / "cmdb.sqlite"), "CMDB files (*.sqlite)"
        )
        if not path:
            return
        self.context.remember_folder(path)
        if Path(path).exists():
            QMessageBox.warning(self, "New CMDB", f"{path} already exists; open it instead.")
            return
        self.open_database(path)

    def ask_create_demo(self) -> None:
        size, ok = QInputDialog.getInt(
            self, "Demo CMDB", "How many CIs?", 5000, 100, 2_000_000, 1000
        )
        if not ok:
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save the demo CMDB as",
            str(self.context.last_folder / "demo.sqlite"),
            "CMDB files (*.sqlite)",
        )
        if path:
            self.context.remember_folder(path)
            if Path(path).exists():
                QMessageBox.warning(self, "Demo CMDB", f"{path} already exists; choose a new file.")
                return
            self.create_demo(path, size)

    def ask_save_copy(self) -> None:
        if self.cmdb is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save a copy of the CMDB",
            str(self.context.last_folder / "cmdb-copy.sqlite"),
            "CMDB files (*.sqlite)",
        )
        if path:
            self.context.remember_folder(path)
            self.save_copy(path)

    def save_copy(self, path: str) -> None:
        if self.cmdb is None:
            return
        self.runner.submit(
            "Saving a copy",
            jobs.save_copy,
            self.cmdb,
            path,
            on_done=lambda out: self.show_message(f"Copy saved to {out}."),
            cancellable=False,
        )

    # -- counts, filters, problems -------------------------------------------
    def refresh_counts(self) -> None:
        if self.cmdb is None:
            return
        self.runner.submit(
            "Counting",
            jobs.class_counts,
            self.cmdb,
            on_done=self._counts_loaded,
            key="counts",
            replace=True,
            visible=False,
        )

    def _counts_loaded(self, counts: Any) -> None:
        first = self._total_cis is None
        self.navigator.set_counts(counts)
        self._total_cis = counts.grand_total
        self._update_counts_label()
        if first and self._problems_automatic():
            self.refresh_problems()

    def _problems_automatic(self) -> bool:
        return self._total_cis is not None and self._total_cis <= PROBLEMS_AUTO_LIMIT

    def refresh_filters(self) -> None:
        if self.cmdb is None:
            return
        self.runner.submit(
            "Loading saved filters",
            jobs.saved_filters,
            self.cmdb,
            on_done=self.navigator.set_filters,
            key="filters",
            replace=True,
            visible=False,
        )

    def refresh_problems(self) -> None:
        if self.cmdb is None:
            return
        self.runner.submit(
            "Checking for problems",
            jobs.problem_counts,
            self.cmdb,
            on_partial=lambda kv: self.navigator.set_problem_count(*kv),
            key="problems",
            replace=True,
            visible=False,
        )

    def _class_chosen(self, class_id: int | None) -> None:
        self.browser.set_class(class_id)

    def _filter_chosen(self, name: str, data: dict[str, Any]) -> None:
        if self.cmdb is None:
            return
        flt = BrowseFilter.from_json(self.cmdb.meta, data)
        self.show_in_table(flt, name)
        self.show_message(f"Filter “{name}”: {flt.describe(self.cmdb.meta)}")

    def _problem_chosen(self, key: str, title: str) -> None:
        if self.cmdb is None:
            return

        def done(result: tuple[int, tuple[int, ...]]) -> None:
            count, ids = result
            self.navigator.set_problem_count(key, count)
            self.context.show_ids(ids, f"{title} ({count:,})", total=count)

        self.runner.submit(
            f"Finding {title.lower()}",
            jobs.problem_ids,
            self.cmdb,
            key,
            on_done=done,
            key="problem-ids",
            replace=True,
        )

    def save_filter(self) -> None:
        answer = self.browser.ask_save_filter()
        if answer is None or self.cmdb is None:
            return
        name, data = answer
        self.runner.submit(
            "Saving filter",
            jobs.save_filter,
            self.cmdb,
            name,
            data,
            on_done=lambda _n: self.refresh_filters(),
            visible=False,
        )

    def delete_filter(self, name: str) -> None:
        if self.cmdb is None:
            return
        answer = QMessageBox.question(
            self, "Delete saved filter", f"Delete the saved filter “{name}”?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.runner.submit(
                "Deleting filter",
                jobs.delete_filter,
                self.cmdb,
                name,
                on_done=lambda _n: self.refresh_filters(),
                visible=False,
            )

    # -- search --------------------------------------------------------------
    def show_in_table(self, flt: BrowseFilter, label: str) -> None:
        """The Browse table with what ``flt`` selects (its text in the search box)."""
        self.search_box.blockSignals(True)
        self.search_box.setText(flt.text)
        self.search_box.blockSignals(False)
        self.browser.show_filter(flt, label)
        self.show_workspace("browse")

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def apply_search(self) -> None:
        self._search_timer.stop()
        self.browser.set_text(self.search_box.text())

    # -- navigation ----------------------------------------------------------
    def show_ci(self, ci_id: int, *, visit: bool = True) -> None:
        """Show a CI in the panel (and select it in the table when it is listed)."""
        if self.cmdb is None:
            return
        if self.panel.dirty and ci_id != self.panel.ci_id and not self.panel.confirm_discard():
            kept = self.panel.ci_id
            if kept is not None:
                # After the click that got here is over: Qt still selects the clicked
                # row when its mouse press handler resumes.
                QTimer.singleShot(0, lambda: self._reselect_panel_ci(kept))
            return
        if visit:
            self.navigation.visit(ci_id)
        self.panel.show_ci(ci_id, force=self.panel.dirty)
        self.browser.select_ci(ci_id)
        self.dock("ci").show()
        self._update_actions()
        self.ciSelected.emit(ci_id)

    def _reselect_panel_ci(self, ci_id: int) -> None:
        """The table's selection back on the CI the panel still shows (edits kept)."""
        if self.panel.ci_id == ci_id:
            self.browser.select_ci(ci_id)

    def _table_current_changed(self, ci_id: int | None) -> None:
        if ci_id is not None and ci_id != self.panel.ci_id:
            self.show_ci(ci_id)

    def _table_activated(self, ci_id: int) -> None:
        self.show_ci(ci_id)
        self.edit_current()

    def go_back(self) -> None:
        ci_id = self.navigation.back()
        if ci_id is not None:
            self.show_ci(ci_id, visit=False)

    def go_forward(self) -> None:
        ci_id = self.navigation.forward()
        if ci_id is not None:
            self.show_ci(ci_id, visit=False)

    # -- editing -------------------------------------------------------------
    def new_ci(self, class_name: str | None = None) -> None:
        """Start a new CI; the class is the navigator's (if concrete) or asked for."""
        if self.cmdb is None:
            return
        meta = self.cmdb.meta
        if class_name is None:
            info = meta.class_by_id.get(self.browser.filter.class_id or -1)
            if info is not None and not info.abstract:
                class_name = info.name
            else:
                names = sorted(c.name for c in meta.classes if not c.abstract)
                default = names.index("Server") if "Server" in names else 0
                chosen, ok = QInputDialog.getItem(
                    self, "New CI", "Class of the new CI:", names, default, False
                )
                if not ok:
                    return
                class_name = chosen
        self.dock("ci").show()
        self.panel.new_ci(class_name)

    def edit_current(self) -> None:
        if self.panel.ci_id is None and not self.panel.form.is_new:
            current = self.browser.current_ci()
            if current is None:
                return
            self.show_ci(current)
        self.dock("ci").show()
        self.dock("ci").raise_()
        self.panel.tabs.setCurrentIndex(0)
        self.panel.form.focus_first()

    def _created(self, ci_id: int) -> None:
        self.navigation.visit(ci_id)
        self._update_actions()
        self.browser.select_ci(ci_id)

    def delete_selected(self) -> None:
        if self.cmdb is None or self.editor.busy:
            return
        ids = self.browser.selected_ids()
        if not ids and self.panel.ci_id is not None:
            ids = [self.panel.ci_id]
        if not ids:
            return
        if len(ids) == 1:
            name = self.cmdb.items.refs(ids).get(ids[0])
            what = f"{name.class_name} “{name.name}”" if name else f"CI #{ids[0]}"
        else:
            what = f"these {len(ids):,} CIs"
        answer = QMessageBox.question(
            self,
            "Delete",
            f"Delete {what} and their relationships?\nYou can undo this with Ctrl+Z.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.editor.delete_cis(
            ids, on_done=lambda s: self.show_message(f"Deleted {len(s):,} CI(s).")
        )

    def ask_bulk_set(self) -> None:
        if self.cmdb is None:
            return
        ids = self.browser.selected_ids()
        if not ids:
            self.show_message("Select the CIs to change first.")
            return
        meta = self.cmdb.meta
        info = meta.class_by_id.get(self.browser.filter.class_id or -1) or meta.root
        attrs = [a for a in meta.attributes_of(info) if a.key not in _SETTABLE_SKIP]
        labels = [a.label for a in attrs]
        label, ok = QInputDialog.getItem(
            self, "Set field", f"Field to set on {len(ids):,} CIs:", labels, 0, False
        )
        if not ok:
            return
        attr = attrs[labels.index(label)]
        if attr.choices:
            options = ["(empty)"] + [str(c) for c in attr.choices]
            value, ok = QInputDialog.getItem(self, "Set field", f"New {label}:", options, 0, False)
            raw: Any = None if value == "(empty)" else value
        else:
            value, ok = QInputDialog.getText(self, "Set field", f"New {label} (empty clears it):")
            raw = value if value.strip() else None
        if ok:
            self.editor.bulk_set(
                ids,
                attr.key,
                raw,
                label,
                on_done=lambda s: self.show_message(f"Set {label} on {len(s.updated):,} CI(s)."),
            )

    def add_relationship(self) -> None:
        if self.panel.ci_id is None:
            current = self.browser.current_ci()
            if current is None:
                return
            self.show_ci(current)
        self.panel.tabs.setCurrentIndex(1)
        self.panel.open_picker()

    def show_deleted_history(self, ref: str | None = None) -> DeletedHistoryDialog | None:
        """The history of a deleted CI (looked up at once when ``ref`` is given)."""
        if self.cmdb is None:
            return None
        if self.deleted_history is None:
            self.deleted_history = DeletedHistoryDialog(self.context, self)
            self.context.style(self.deleted_history)
        dialog = self.deleted_history
        dialog.show()
        dialog.raise_()
        if ref:
            dialog.look_up(ref)
        return dialog

    def open_class_manager(self) -> None:
        if self.cmdb is None:
            return
        if self.class_manager is None:
            self.class_manager = ClassManager(self.runner, self.cmdb, self)
            if self.theme is not None:
                self.theme.style(self.class_manager)
        info = self.cmdb.meta.class_by_id.get(self.browser.filter.class_id or -1)
        if info is not None:
            self.class_manager.select_class(info.name)
        self.class_manager.show()
        self.class_manager.raise_()

    # -- refreshing after changes -------------------------------------------
    # The views (table, CI panel, workspaces) follow the bridge themselves; the
    # window refreshes what it owns: the navigator, the counts, back/forward.
    def _on_changed(self, summary: ChangeSummary) -> None:
        if self.cmdb is None:
            return
        if summary.catalogue_changed:
            self.navigator.set_meta(self.cmdb.meta)
        changed_keys = {k for after in summary.after.values() for k in after}
        if (
            summary.created
            or summary.deleted
            or "class" in changed_keys
            or summary.catalogue_changed
        ):
            self._counts_timer.start()
        if summary.deleted:
            self.navigation.forget(set(summary.deleted))
            self._update_actions()
        if self._problems_automatic():
            self._problems_timer.start()

    def _on_external_change(self, catalogue_reloaded: bool) -> None:
        if self.cmdb is None:
            return
        if catalogue_reloaded:
            self.navigator.set_meta(self.cmdb.meta)
        self._counts_timer.start()
        if self._problems_automatic():
            self._problems_timer.start()
        self.refresh_filters()
        self.show_message("The CMDB was changed by another program; refreshed.")

    def _remote_change(self) -> None:
        if self.cmdb is None:
            return
        if self.runner.is_idle():
            self._poll()
        else:  # the worker is busy: look again shortly (the poll is the fallback)
            QTimer.singleShot(250, self._remote_change)

    def _poll(self) -> None:
        if self.cmdb is None or not self.runner.is_idle():
            return
        self.runner.submit(
            "Checking for changes",
            jobs.generations,
            self.cmdb,
            on_done=lambda r: self.bridge.note_generations(*r),
            key="poll",
            replace=True,
            visible=False,
        )

    def refresh_all(self) -> None:
        if self.cmdb is None:
            return
        self.browser.model.invalidate()
        self.browser.refresh()
        self.refresh_counts()
        self.refresh_filters()
        self.refresh_problems()
        self.panel.reload()

    # -- status --------------------------------------------------------------
    _total_cis: int | None = None

    def _update_counts_label(self) -> None:
        if self.cmdb is None:
            self.count_label.setText("")
            self.match_label.setText("")
            return
        total = self._total_cis
        shown = self.browser.model.total
        text = f"{total:,} CIs" if total is not None else ""
        if shown is not None and total is not None and shown != total:
            text = f"{shown:,} of {total:,} CIs"
        self.count_label.setText(text)
        if self.browser.filter.text and shown is not None:
            self.match_label.setText(f"{shown:,} match{'es' if shown != 1 else ''}")
        elif self.browser.filter.text:
            self.match_label.setText("Searching…")
        else:
            self.match_label.setText("")

    def _selection_changed(self, n: int) -> None:
        self.selection_label.setText(f"{n:,} selected" if n > 1 else "")
        self._update_actions()

    def show_message(self, text: str, ms: int = 6000) -> None:
        self.statusBar().showMessage(text, ms)

    def _update_actions(self) -> None:
        open_ = self.cmdb is not None
        for action in (
            self.save_copy_action,
            self.close_action,
            self.new_ci_action,
            self.edit_ci_action,
            self.delete_action,
            self.set_field_action,
            self.add_relationship_action,
            self.deleted_history_action,
            self.refresh_action,
            self.find_action,
            self.class_manager_action,
            self.save_filter_action,
            self.browser.copy_action,
            self.browser.export_action,
            self.browser.columns_action,
        ):
            action.setEnabled(open_)
        if open_:
            self.delete_action.setEnabled(not self.editor.busy)
        if self.cmdb is not None:
            # team mode: what the login's role may not do is greyed out (the
            # database refuses it anyway)
            writes = self.cmdb.may("write")
            for action in (
                self.new_ci_action,
                self.edit_ci_action,
                self.delete_action,
                self.set_field_action,
                self.add_relationship_action,
                self.save_filter_action,
            ):
                action.setEnabled(action.isEnabled() and writes)
            self.class_manager_action.setEnabled(self.cmdb.may("catalogue"))
        self.back_action.setEnabled(open_ and self.navigation.can_back)
        self.forward_action.setEnabled(open_ and self.navigation.can_forward)
        self.search_box.setEnabled(open_)

    def _job_failed(self, task: Task, exc: BaseException) -> None:
        self.report_error(task.title, exc)

    def report_error(self, title: str, exc: BaseException | str) -> None:
        """Tell the user (a CmdbError says what to fix; anything else is a bug)."""
        if isinstance(exc, str) or isinstance(exc, CmdbError):
            text = str(exc)
        else:
            text = f"Unexpected error: {exc}\nDetails are in the log."
        self.errorReported.emit(title, text)
        if not self.interactive:
            log.warning("%s: %s", title, text)
        elif isinstance(exc, str) or isinstance(exc, CmdbError):
            QMessageBox.warning(self, title, text)
        else:
            QMessageBox.critical(self, title, text)

    # -- closing -------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:  # already shut down (a second close() is harmless)
            event.accept()
            return
        if self.panel.dirty and not self.panel.confirm_discard():
            event.ignore()
            return
        self._closing = True
        self.save_layout()
        self._poll_timer.stop()
        cmdb = self.cmdb
        self.runner.cancel()
        present = self.time_travel.leave()  # its copy is removed by the worker, in order
        self._set_cmdb(None)
        if self.class_manager is not None:
            self.class_manager.close()
        if not self.runner.shutdown():
            log.warning("the worker did not stop in time")
        self.time_travel.close_now()
        for opened in (cmdb, present):
            if opened is not None:
                opened.close()
        event.accept()
