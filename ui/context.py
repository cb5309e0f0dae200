"""What a view may use of the application: :class:`AppContext`.

Views (the workspaces, the wizards, the pickers) are given an ``AppContext``,
never the main window. It is an explicit, typed interface:

* the open CMDB (:attr:`AppContext.cmdb`), with ``databaseChanged(cmdb | None)``
  and ``databaseShown(cmdb)`` (its first table page is on screen: background
  loads may start); while the user views the CMDB as it was at a moment
  (PRODUCT.md §11, :mod:`ui.time_travel`), ``cmdb`` is that read-only view,
  :attr:`~AppContext.as_of` names the moment and :attr:`~AppContext.present`
  is the CMDB as it is now (what a diff or a baseline reads and writes);
* the single worker (:attr:`~AppContext.runner`), the undoable writes
  (:attr:`~AppContext.editor`) and the change notifications
  (:attr:`~AppContext.bridge`): each view connects to ``bridge.changed`` and
  ``bridge.external`` itself and decides from the
  :class:`~cmdb_desktop.changes.ChangeSummary` what it must refresh (as Anki's
  screens do with ``OpChanges``);
* :attr:`~AppContext.navigation`: where a view may send the user (a CI, a set
  of CIs or a filter in the table, another workspace) and what the user has
  chosen in the table (a :class:`Navigation`, which the main window implements
  and a test can record);
* the last-used folder, the parent widget for dialogs, the theme, the settings,
  and feedback (:meth:`~AppContext.show_message`, :meth:`~AppContext.report_error`).

Nothing in it hands the window back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QWidget

from cmdb_desktop.browse import BrowseFilter
from cmdb_desktop.cmdb import Cmdb
from ui.changes import ChangeBridge
from ui.editing import Editor
from ui.jobs import PROBLEM_LIMIT
from ui.tasks import TaskRunner
from ui.theme import Theme


class Navigation(Protocol):
    """Where views send the user, and what the user has chosen in the table."""

    def show_ci(self, ci_id: int) -> None:
        """Show a CI in the CI panel (and select it in the table when it is listed)."""

    def show_in_table(self, flt: BrowseFilter, label: str) -> None:
        """Show the Browse table with what ``flt`` selects, titled ``label``; the table
        chooses the columns of the filter's class."""

    def show_workspace(self, key: str) -> None:
        """Bring a workspace to the front (``"browse"``, ``"impact"``, ``"graph"``…)."""

    def show_graph(
        self, ci_id: int, *, depth: int | None = None, direction: str | None = None
    ) -> None:
        """Draw the neighbourhood of a CI in the Graph workspace."""

    def show_batches(self, batch_id: int | None = None) -> None:
        """The Batches workspace, with ``batch_id`` selected."""

    def open_import(self) -> None:
        """Open the import wizard."""

    def current_ci(self) -> int | None:
        """The CI shown in the CI panel."""

    def selected_ids(self) -> list[int]:
        """The CIs selected in the table, in table order."""


class AppContext(QObject):
    """The application as views see it (see the module docstring).

    It owns the worker, the change bridge and the editor; the window (or a test)
    gives the settings, the parent for dialogs, the navigation and the theme.
    Feedback goes out as signals: ``messageShown(text)`` for the status bar and
    ``errorReported(title, error)`` for what the user must be told.
    """

    databaseChanged = Signal(object)
    databaseShown = Signal(object)
    messageShown = Signal(str)
    errorReported = Signal(str, object)

    def __init__(
        self,
        settings: QSettings,
        dialog_parent: QWidget,
        navigation: Navigation,
        theme: Theme | None = None,
    ) -> None:
        super().__init__(dialog_parent)
        self.settings = settings
        self.dialog_parent = dialog_parent
        self.navigation = navigation
        self.theme = theme
        self.runner = TaskRunner(self)
        self.bridge = ChangeBridge(self)
        self.editor = Editor(self.runner, dialog_parent)
        self._cmdb: Cmdb | None = None
        self._present: Cmdb | None = None
        self._as_of: str | None = None
        self._folder: Path | None = None

    # -- the database ----------------------------------------------------------------
    @property
    def cmdb(self) -> Cmdb | None:
        return self._cmdb

    def set_cmdb(self, cmdb: Cmdb | None, data_generation: int | None = None) -> None:
        """Follow ``cmdb`` (or none): the bridge and the editor first, then every view
        through ``databaseChanged``. ``data_generation``: see :meth:`ChangeBridge.attach`."""
        self._cmdb = cmdb
        if self._as_of is None:
            self._present = cmdb
        self.bridge.attach(cmdb, data_generation)
        self.editor.set_cmdb(cmdb)
        self.databaseChanged.emit(cmdb)

    def set_as_of(self, present: Cmdb | None, label: str | None) -> None:
        """Views will be shown the CMDB as it was at ``label`` (``None``: as it is now),
        a moment of ``present``; call before :meth:`set_cmdb` with its read-only view."""
        self._as_of = label
        self._present = present

    @property
    def as_of(self) -> str | None:
        """The moment the views show (a time or a baseline), or None for now."""
        return self._as_of

    @property
    def present(self) -> Cmdb | None:
        """The CMDB as it is now: :attr:`cmdb`, or while viewing the past, the CMDB
        the past is of."""
        return self._present

    def database_shown(self) -> None:
        """The open CMDB's first table page is on screen (``databaseShown``)."""
        if self._cmdb is not None:
            self.databaseShown.emit(self._cmdb)

    # -- what the user chose ---------------------------------------------------------
    def chosen_ids(self) -> list[int]:
        """The table's selection, else the CI shown in the panel, else nothing."""
        ids = self.navigation.selected_ids()
        current = self.navigation.current_ci()
        if not ids and current is not None:
            ids = [current]
        return ids

    def chosen_ci(self) -> int | None:
        """The one CI a single-CI action works on: the CI shown in the panel when it is
        selected in the table (or nothing is), else the first selected one."""
        ids = self.chosen_ids()
        current = self.navigation.current_ci()
        if current is not None and current in ids:
            return current
        return ids[0] if ids else None

    def show_ids(self, ids: Sequence[int], label: str, total: int | None = None) -> None:
        """List CIs in the table (at most :data:`~ui.jobs.PROBLEM_LIMIT` of them);
        ``total`` is how many there are when ``ids`` is only the first part."""
        total = len(ids) if total is None else total
        shown = tuple(ids[:PROBLEM_LIMIT])
        self.navigation.show_in_table(BrowseFilter(ids=shown), label)
        if total > len(shown):
            self.show_message(f"{label}: showing the first {len(shown):,} of {total:,} CIs.")

    # -- files -----------------------------------------------------------------------
    @property
    def last_folder(self) -> Path:
        """Where file dialogs start: the folder last chosen in one, else the open CMDB's
        folder, else the home folder."""
        if self._folder is not None and self._folder.is_dir():
            return self._folder
        if self._present is not None and self._present.path is not None:
            return self._present.path.parent
        return Path.home()

    def remember_folder(self, path: str | Path) -> None:
        """A file was chosen at ``path``: file dialogs start in its folder from now on."""
        self._folder = Path(path).parent

    # -- feedback --------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.messageShown.emit(text)

    def report_error(self, title: str, error: BaseException | str) -> None:
        """Tell the user (the window shows it; a CmdbError says what to fix)."""
        self.errorReported.emit(title, error)

    def style(self, *widgets: QWidget) -> None:
        """Give new top-level widgets (dialogs, wizards) the theme's look."""
        if self.theme is not None:
            self.theme.style(*widgets)
