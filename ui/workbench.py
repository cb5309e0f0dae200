"""GUI part 2 on the main window: the impact, graph, services, health, batches and
What Changed workspaces, the import and audit wizards, and their actions and menus.

:class:`Workbench` (``window.workbench``) builds the views with the window's
:class:`~ui.context.AppContext`, adds them as tabs
(:meth:`MainWindow.add_workspace`), puts their actions in an *Analysis* menu,
the *File* menu and the toolbar, and keeps their colours in step with the
theme. Each view follows the open CMDB and the changes through the context
itself. Views talk to each other only through the workbench (the impact's
states colour the graph; the graph's *Add to the change set* feeds the impact).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.items import CiRef
from ui import jobs_import
from ui.jobs_analysis import ImpactTable
from ui.theme import LIGHT
from ui.views.assets_workspace import AssetsWorkspace
from ui.views.audit_wizard import AuditWizard
from ui.views.batches import BatchesView
from ui.views.changes_view import ChangesView
from ui.views.diff_view import DiffView
from ui.views.graph_view import GraphView
from ui.views.health_dashboard import HealthDashboard
from ui.views.impact_workspace import ImpactWorkspace
from ui.views.import_wizard import ImportWizard
from ui.views.services import ServicesView
from ui.views.wizard_pages import SpreadsheetWizard
from ui.window_menus import make_action

if TYPE_CHECKING:
    from ui.main_window import MainWindow

W = TypeVar("W", bound=SpreadsheetWizard)


class Workspace(Protocol):
    """What the workbench asks of each of its workspaces."""

    def styled_parts(self) -> list[QWidget]:
        """The widgets that get the theme's stylesheet."""

    def set_colours(self, colours: dict[str, str]) -> None:
        """The theme's colours, for what the workspace paints itself."""


class Workbench(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.context = context = window.context
        self.impact = ImpactWorkspace(context, window)
        self.graph = GraphView(context, window)
        self.services = ServicesView(context, window)
        self.batches = BatchesView(context, window)
        self.health = HealthDashboard(context, window)
        self.changes = ChangesView(context, window)
        self.import_wizard: ImportWizard | None = None
        self.audit_wizard: AuditWizard | None = None
        window.add_workspace("impact", "Impact", self.impact, "impact")
        window.add_workspace("graph", "Graph", self.graph, "graph")
        window.add_workspace("services", "Services", self.services, "service")
        window.add_workspace("health", "Health", self.health, "health")
        window.add_workspace("batches", "Batches", self.batches, "batches")
        window.add_workspace("changes", "Changes", self.changes, "calendar")
        self.assets = AssetsWorkspace(context, window)  # PRODUCT.md §10
        window.add_workspace("assets", "Assets", self.assets, "hardware")
        self.diff = DiffView(context, window)  # PRODUCT.md §11
        window.add_workspace("diff", "What Changed", self.diff, "compare")
        self.views: list[Workspace] = [
            self.impact,
            self.graph,
            self.services,
            self.health,
            self.batches,
            self.changes,
            self.assets,
            self.diff,
        ]
        self._actions(window)
        self._menus(window)
        context.databaseChanged.connect(self._enable)
        self.impact.assessed.connect(self._assessed)
        self.graph.changeSetRequested.connect(self._add_to_change_set)
        if window.theme is not None:
            window.theme.changed.connect(self._theme_changed)
            parts: list[QWidget] = []
            for view in self.views:
                parts += view.styled_parts()
            window.theme.style(*parts)
        self._theme_changed()

    # -- actions and menus -----------------------------------------------------------
    def _actions(self, window: MainWindow) -> None:
        self.impact_action = make_action(
            window,
            "Assess &Impact of Selection",
            self.assess_selection,
            QKeySequence("Ctrl+I"),
            "impact",
            "What breaks if the selected CIs fail or change (Ctrl+I)",
        )
        self.graph_action = make_action(
            window,
            "Show in &Graph",
            lambda: self.show_graph(),
            QKeySequence("Ctrl+G"),
            "graph",
            "Draw the current CI's dependencies (Ctrl+G)",
        )
        self.services_action = make_action(
            window,
            "&Service Dependencies",
            self.show_services,
            None,
            "service",
            "What a service depends on and its single points of failure",
        )
        self.health_action = make_action(
            window,
            "&Health Dashboard",
            lambda: self.show_health(),
            None,
            "health",
            "Scores, completeness and the problems to fix",
        )
        self.import_action = make_action(
            window,
            "&Import Spreadsheet…",
            lambda: self.open_import(),
            QKeySequence("Ctrl+Shift+I"),
            "import",
            "Import CIs and relationships from a spreadsheet, with a preview (Ctrl+Shift+I)",
        )
        self.audit_action = make_action(
            window,
            "&Audit Against a Spreadsheet…",
            lambda: self.open_audit(),
            None,
            "audit",
            "Compare an inventory or a scan with the CMDB (writes nothing)",
        )
        self.batches_action = make_action(
            window,
            "Import &Batches",
            lambda: self.show_batches(),
            None,
            "batches",
            "Every import as one batch; roll one back",
        )
        self.changes_action = make_action(
            window,
            "&Changes",
            lambda: self.show_changes(),
            QKeySequence("Ctrl+Shift+H"),
            "calendar",
            "Change records, their conflicts and risk, the change calendar (Ctrl+Shift+H)",
        )
        self.diff_action = make_action(
            window,
            "&What Changed…",
            lambda: self.show_diff(),
            QKeySequence("Ctrl+Shift+D"),
            "compare",
            "Net changes between two moments or since a baseline (Ctrl+Shift+D)",
        )
        self.actions = [
            self.diff_action,
            self.changes_action,
            self.impact_action,
            self.graph_action,
            self.services_action,
            self.health_action,
            self.import_action,
            self.audit_action,
            self.batches_action,
        ]

    def _menus(self, window: MainWindow) -> None:
        bar = window.menuBar()
        menu = QMenu("&Analysis", window)
        bar.insertMenu(window.menus["tools"].menuAction(), menu)
        window.menus["analysis"] = menu
        menu.addActions(
            [self.impact_action, self.graph_action, self.services_action, self.health_action]
        )
        menu.addSeparator()
        menu.addActions([self.changes_action, self.diff_action])
        file_menu = window.menus["file"]
        file_menu.insertActions(
            window.save_copy_action, [self.import_action, self.audit_action, self.batches_action]
        )
        file_menu.insertSeparator(window.save_copy_action)
        window.toolbar.insertActions(
            window.refresh_action, [self.import_action, self.impact_action, self.graph_action]
        )

    # -- state ---------------------------------------------------------------------
    def _enable(self, cmdb: Cmdb | None) -> None:
        for action in self.actions:
            action.setEnabled(cmdb is not None)
        if cmdb is not None:
            # team mode: a viewer neither imports nor rolls back
            self.import_action.setEnabled(cmdb.may("write"))

    def _theme_changed(self) -> None:
        colours = self.window.theme.colours if self.window.theme is not None else LIGHT
        for view in self.views:
            view.set_colours(colours)

    def _assessed(self, table: ImpactTable | None) -> None:
        self.graph.set_states(table.states() if table is not None else None)

    def _add_to_change_set(self, ref: CiRef) -> None:
        self.impact.add([ref])
        self.window.show_workspace("impact")

    # -- commands --------------------------------------------------------------------
    def assess_selection(self) -> None:
        """A new change set from the table's selection (or the CI shown in the panel)."""
        cmdb = self.context.cmdb
        ids = self.context.chosen_ids()
        if cmdb is None:
            return
        if not ids:
            self.context.show_message("Select the CIs to assess in the table first.")
            self.window.show_workspace("impact")
            return
        self.impact.add_ids(ids, replace=True)
        self.window.show_workspace("impact")

    def show_graph(
        self, ci: int | None = None, *, depth: int | None = None, direction: str | None = None
    ) -> None:
        if self.context.cmdb is None:
            return
        if ci is None:
            ci = self.context.chosen_ci()
        self.window.show_workspace("graph")
        if ci is not None:
            self.graph.show_ci(ci, depth=depth, direction=direction)

    def open_import(self, path: str | None = None) -> ImportWizard | None:
        """Open the import wizard (on ``path`` if given); returns it."""
        if self.context.cmdb is None:
            return None
        if self.import_wizard is not None:
            self.import_wizard.close()
        wizard = self.import_wizard = ImportWizard(self.context)
        wizard.imported.connect(lambda result: self.batches.refresh(select=result.batch_id))
        return self._open_wizard(wizard, path)

    def open_audit(self, path: str | None = None) -> AuditWizard | None:
        """Open the audit wizard (on ``path`` if given); returns it."""
        if self.context.cmdb is None:
            return None
        if self.audit_wizard is not None:
            self.audit_wizard.close()
        wizard = self.audit_wizard = AuditWizard(self.context)
        return self._open_wizard(wizard, path)

    def _open_wizard(self, wizard: W, path: str | None) -> W:
        cmdb = self.context.cmdb
        assert cmdb is not None
        self.context.style(wizard)

        def profiles(names: list[str]) -> None:
            wizard.profiles = names

        self.context.runner.submit(
            "Loading mapping profiles",
            jobs_import.mapping_profiles,
            cmdb,
            on_done=profiles,
            visible=False,
        )
        wizard.show()
        if path:
            wizard.set_file(path)
        return wizard

    def show_batches(self, batch_id: int | None = None) -> None:
        if self.context.cmdb is None:
            return
        self.window.show_workspace("batches")
        self.batches.refresh(select=batch_id)

    def show_changes(self) -> None:
        if self.context.cmdb is not None:
            self.window.show_workspace("changes")

    def show_diff(self, start: str | None = None, end: str | None = None) -> None:
        """The What Changed workspace; with ``start``, compare it with ``end`` (None: now)."""
        if self.context.cmdb is None:
            return
        self.window.show_workspace("diff")
        if start is not None:
            self.diff.from_field.set_moment(start)
            self.diff.to_field.set_moment(end or "Now")
            self.diff.compare()

    def show_health(self) -> None:
        if self.context.cmdb is not None:
            self.window.show_workspace("health")

    def show_services(self, ci: int | None = None) -> None:
        if self.context.cmdb is None:
            return
        self.window.show_workspace("services")
        if ci is not None:
            self.services.show_service(ci)
