"""GUI part 2 on the main window: the impact, graph, services, health and batches
workspaces, the import and audit wizards, and their actions and menus.

:class:`Workbench` (``window.workbench``) builds the views, adds them as tabs
(:meth:`MainWindow.add_workspace`), puts their actions in an *Analysis* menu,
the *File* menu and the toolbar, and keeps them in step with the window:
a newly opened CMDB, changes (ours through ``bridge.changed``, other
programs' through ``bridge.external``) and the theme. Views talk to each
other only through it (the impact's states colour the graph; the graph's
*Add to the change set* feeds the impact).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from ui import jobs_import
from ui.jobs import PROBLEM_LIMIT
from ui.jobs_analysis import ImpactTable
from ui.theme import LIGHT
from ui.views.audit_wizard import AuditWizard
from ui.views.batches import BatchesView
from ui.views.graph_view import GraphView
from ui.views.health_dashboard import HealthDashboard
from ui.views.impact_workspace import ImpactWorkspace
from ui.views.import_wizard import ImportWizard
from ui.views.services import ServicesView
from ui.window_menus import make_action

if TYPE_CHECKING:
    from ui.main_window import MainWindow


class Workbench(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.impact = ImpactWorkspace(window)
        self.graph = GraphView(window)
        self.services = ServicesView(window)
        self.batches = BatchesView(window)
        self.health = HealthDashboard(window)
        self.import_wizard: ImportWizard | None = None
        self.audit_wizard: AuditWizard | None = None
        window.add_workspace("impact", "Impact", self.impact, "impact")
        window.add_workspace("graph", "Graph", self.graph, "graph")
        window.add_workspace("services", "Services", self.services, "service")
        window.add_workspace("health", "Health", self.health, "health")
        window.add_workspace("batches", "Batches", self.batches, "batches")
        self.views: list[Any] = [self.impact, self.graph, self.services, self.health, self.batches]
        self._actions(window)
        self._menus(window)
        window.databaseChanged.connect(self.set_cmdb)
        window.databaseShown.connect(lambda _cmdb: self.impact.refresh_scenarios())
        window.bridge.changed.connect(self._changed)
        window.bridge.external.connect(lambda _c: self._changed(None))
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
        self.actions = [
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
        file_menu = window.menus["file"]
        file_menu.insertActions(
            window.save_copy_action, [self.import_action, self.audit_action, self.batches_action]
        )
        file_menu.insertSeparator(window.save_copy_action)
        window.toolbar.insertActions(
            window.refresh_action, [self.import_action, self.impact_action, self.graph_action]
        )

    # -- state ---------------------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        for view in self.views:
            view.set_cmdb(cmdb)
        for action in self.actions:
            action.setEnabled(cmdb is not None)

    def _theme_changed(self) -> None:
        colours = self.window.theme.colours if self.window.theme is not None else LIGHT
        for view in self.views:
            view.set_colours(colours)

    def _changed(self, summary: ChangeSummary | None) -> None:
        """Recompute what depends on the impact graph when it may have moved."""
        if self.window.cmdb is None:
            return
        graph_moved = summary is None or summary.graph_changed or bool(summary.deleted)
        if summary is not None and summary.deleted:
            gone = set(summary.deleted)
            kept = [r for r in self.impact.change_set if r.id not in gone]
            if len(kept) != len(self.impact.change_set):
                self.impact.set_change_set(kept)
                return
        if graph_moved:
            if self.impact.change_set:
                self.impact.schedule()
            self.graph.refresh()
        if (summary is None or summary.batch_id is not None) and self.batches.isVisible():
            self.batches.refresh()

    def _assessed(self, table: ImpactTable | None) -> None:
        self.graph.set_states(table.states() if table is not None else None)

    def _add_to_change_set(self, ref: Any) -> None:
        self.impact.add([ref])
        self.window.show_workspace("impact")

    # -- commands --------------------------------------------------------------------
    def _current_ids(self) -> list[int]:
        ids = self.window.selected_ids()
        if not ids and self.window.panel.ci_id is not None:
            ids = [self.window.panel.ci_id]
        return ids

    def assess_selection(self) -> None:
        """A new change set from the table's selection (or the CI shown in the panel)."""
        cmdb = self.window.cmdb
        ids = self._current_ids()
        if cmdb is None:
            return
        if not ids:
            self.window.show_message("Select the CIs to assess in the table first.")
            self.window.show_workspace("impact")
            return
        self.impact.add_ids(ids, replace=True)
        self.window.show_workspace("impact")

    def show_graph(
        self, ci: int | None = None, *, depth: int | None = None, direction: str | None = None
    ) -> None:
        if self.window.cmdb is None:
            return
        if ci is None:
            ids = self._current_ids()
            ci = ids[0] if ids else None
        self.window.show_workspace("graph")
        if ci is not None:
            self.graph.show_ci(ci, depth=depth, direction=direction)

    def open_import(self, path: str | None = None) -> ImportWizard | None:
        """Open the import wizard (on ``path`` if given); returns it."""
        if self.window.cmdb is None:
            return None
        if self.import_wizard is not None:
            self.import_wizard.close()
        wizard = self.import_wizard = ImportWizard(self.window)
        wizard.imported.connect(lambda result: self.batches.refresh(select=result.batch_id))
        return self._open_wizard(wizard, path)

    def open_audit(self, path: str | None = None) -> AuditWizard | None:
        """Open the audit wizard (on ``path`` if given); returns it."""
        if self.window.cmdb is None:
            return None
        if self.audit_wizard is not None:
            self.audit_wizard.close()
        wizard = self.audit_wizard = AuditWizard(self.window)
        return self._open_wizard(wizard, path)

    def _open_wizard(self, wizard: Any, path: str | None) -> Any:
        cmdb = self.window.cmdb
        assert cmdb is not None
        if self.window.theme is not None:
            self.window.theme.style(wizard)

        def profiles(names: list[str]) -> None:
            wizard.profiles = names

        self.window.runner.submit(
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
        if self.window.cmdb is None:
            return
        self.window.show_workspace("batches")
        self.batches.refresh(select=batch_id)

    def show_batch_cis(self, batch_id: int) -> None:
        cmdb = self.window.cmdb
        if cmdb is None:
            return

        def done(ids: list[int]) -> None:
            self.window.show_workspace("browse")
            self.window.browser.set_ids(ids[:PROBLEM_LIMIT], f"Batch #{batch_id}")
            if len(ids) > PROBLEM_LIMIT:
                self.window.show_message(
                    f"Batch #{batch_id}: showing the first {PROBLEM_LIMIT:,} of {len(ids):,} CIs."
                )

        self.window.runner.submit(
            f"Listing the CIs of batch #{batch_id}",
            jobs_import.batch_ci_ids,
            cmdb,
            batch_id,
            on_done=done,
        )

    def show_health(self) -> None:
        if self.window.cmdb is not None:
            self.window.show_workspace("health")

    def show_services(self, ci: int | None = None) -> None:
        if self.window.cmdb is None:
            return
        self.window.show_workspace("services")
        if ci is not None:
            self.services.show_service(ci)
