"""The *Impact* workspace: "what breaks if these CIs change or fail?"

Build a change set (the search box, *Add selected rows*, *Assess Impact* on
the table's selection, or *Add to the change set* in the graph); the blast
radius is recomputed in the worker whenever the set or the depth changes
(a newer request cancels the older one). Results, PRODUCT.md §5:

* impacted **services** first (criticality, state, distance);
* every impacted **CI** with state, distance and the path that explains it,
  filterable by class, state, distance and name;
* the **breadcrumb** of the current row (click a name to open that CI);
* the **picture**: change set → impacted services along those paths;
* **scenarios**: save the change set by name, open it later, compare two;
* **export**: the .xlsx report (as the CLI's ``impact -o``) and a PDF for the
  change board with the picture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.items import CiRef
from ui import jobs_analysis
from ui.dependency_picture import Picture
from ui.jobs_analysis import Comparison, ImpactTable, Scenario
from ui.models.ci_refs import CiRefListModel
from ui.models.impact import CLASS, CRITICALITY, DISTANCE, NAME, PATH, STATE, ImpactModel
from ui.views.ci_search import CiSearchBox
from ui.views.graph_canvas import GraphCanvas
from ui.views.toolstrip import ToolStrip, html, make_action, opens_cis, tool_button

if TYPE_CHECKING:
    from ui.context import AppContext

#: Wait this long after the last change to the set before recomputing (ms).
RECOMPUTE_MS = 120
ANY_DEPTH = 0


def impact_table_view(parent: QWidget, model: ImpactModel) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setAlternatingRowColors(True)
    view.setSortingEnabled(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(24)
    header = view.horizontalHeader()
    header.setSectionsClickable(True)
    header.setSortIndicatorShown(True)
    header.sortIndicatorChanged.connect(model.sort)
    header.setStretchLastSection(True)
    header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # report order to start with
    # State, Criticality, Name and Why come first on screen, so the path and the
    # criticality show beside the CI dock at 1366×768; class and distance follow.
    # Names, classes, paths and the short headers give their full text as
    # tooltips (issue 15). The model's column order is unchanged.
    fm = view.fontMetrics()
    widths = {
        STATE: fm.horizontalAdvance("degraded") + 24,
        NAME: 200,
        CLASS: 130,
        DISTANCE: fm.horizontalAdvance("Distance") + 20,
        CRITICALITY: fm.horizontalAdvance("Criticality") + 20,
        PATH: 420,
    }
    for col, width in widths.items():
        view.setColumnWidth(col, width)
    for visual, col in enumerate((STATE, CRITICALITY, NAME, PATH, CLASS, DISTANCE)):
        header.moveSection(header.visualIndex(col), visual)
    return view


class ImpactWorkspace(QWidget):
    """Signals: ``assessed(ImpactTable)`` after each result (the graph colours from it).

    Follows the context's CMDB; a change that moved the impact graph assesses the
    change set again, and deleted CIs leave the change set."""

    assessed = Signal(object)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("impactWorkspace")
        self.context = context
        self.cmdb: Cmdb | None = None
        self.table: ImpactTable | None = None
        self.picture: Picture | None = None
        self._generation = 0
        from ui.views.ci_panel import make_search

        search = make_search(context.runner, lambda: self.cmdb, "impact-search")
        # -- top strip ------------------------------------------------------------
        self.strip = ToolStrip(self)
        bar = self.strip.layout_
        self.add_box = CiSearchBox(search, "Add to the change set: name, serial, #ID…", self)
        self.add_box.setMinimumWidth(180)
        self.add_box.setMaximumWidth(420)
        self.add_box.picked.connect(lambda ref: self.add([ref]))
        self.add_selection_action = make_action(
            self, "Add selected rows", "add", "Add the CIs selected in the Browse table"
        )
        self.add_selection_action.triggered.connect(self.add_selection)
        self.depth_box = QSpinBox(self)
        self.depth_box.setRange(ANY_DEPTH, 50)
        self.depth_box.setSpecialValueText("Any depth")
        self.depth_box.setPrefix("Depth ≤ ")
        self.depth_box.setToolTip("Report only CIs within this many impact steps of the change set")
        self.depth_box.valueChanged.connect(lambda _v: self.schedule())
        self.scenarios = QComboBox(self)
        self.scenarios.setPlaceholderText("Saved scenarios")
        self.open_action = make_action(self, "Open", "open", "Open the chosen scenario")
        self.open_action.triggered.connect(self.open_chosen)
        self.save_action = make_action(self, "Save…", "save", "Save the change set as a scenario")
        self.save_action.triggered.connect(self.ask_save)
        self.compare_action = make_action(
            self, "Compare…", "compare", "What two scenarios impact differently"
        )
        self.compare_action.triggered.connect(self.ask_compare)
        self.xlsx_action = make_action(
            self, "Excel report…", "export", "The impact report as an .xlsx workbook"
        )
        self.xlsx_action.triggered.connect(self.ask_export_xlsx)
        self.pdf_action = make_action(
            self, "PDF…", "pdf", "A PDF for the change board: the picture and the lists"
        )
        self.pdf_action.triggered.connect(self.ask_export_pdf)
        bar.addWidget(self.add_box, 1)
        bar.addWidget(tool_button(self, self.add_selection_action, text=True))
        bar.addWidget(self.depth_box)
        bar.addStretch(1)

        # -- left: the change set and the counts ---------------------------------
        self.left = QFrame(self)
        self.left.setObjectName("impactSide")
        side = QVBoxLayout(self.left)
        side.setContentsMargins(10, 10, 10, 10)
        heading = QLabel("Change set", self.left)
        heading.setProperty("role", "heading")
        side.addWidget(heading)
        hint = QLabel("Assumed down. Add CIs above, from the table or the graph.", self.left)
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)
        side.addWidget(hint)
        self.change_model = CiRefListModel(self)
        self.change_list = QListView(self.left)
        self.change_list.setObjectName("changeSet")
        self.change_list.setModel(self.change_model)
        self.change_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        opens_cis(self.change_list, self._change_set_id, context.navigation)
        side.addWidget(self.change_list, 1)
        buttons = QHBoxLayout()
        self.remove_button = QPushButton("Remove", self.left)
        self.remove_button.clicked.connect(self.remove_selected)
        self.clear_button = QPushButton("Clear", self.left)
        self.clear_button.clicked.connect(self.clear)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.clear_button)
        side.addLayout(buttons)
        saved = QLabel("Scenarios", self.left)
        saved.setProperty("role", "subheading")
        side.addSpacing(6)
        side.addWidget(saved)
        side.addWidget(self.scenarios)
        scenario_buttons = QHBoxLayout()
        scenario_buttons.setSpacing(2)
        for action in (self.open_action, self.save_action):
            scenario_buttons.addWidget(tool_button(self.left, action, text=True))
        scenario_buttons.addStretch(1)
        side.addLayout(scenario_buttons)
        # Compare… on its own row: three buttons side by side were cut at 1366×768
        compare_row = QHBoxLayout()
        compare_row.addWidget(tool_button(self.left, self.compare_action, text=True))
        compare_row.addStretch(1)
        side.addLayout(compare_row)
        side.addSpacing(6)
        self.counts = QLabel(self.left)
        self.counts.setObjectName("impactCounts")
        self.counts.setWordWrap(True)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        side.addWidget(self.counts)
        self.left.setMinimumWidth(200)
        self.left.setMaximumWidth(340)

        # -- right: services, CIs, picture --------------------------------------------
        self.services_model = ImpactModel(self)
        self.services_view = impact_table_view(self, self.services_model)
        self.services_view.setObjectName("impactedServices")
        self.model = ImpactModel(self)
        self.view = impact_table_view(self, self.model)
        self.view.setObjectName("impactedCis")
        for v in (self.view, self.services_view):
            v.selectionModel().currentRowChanged.connect(
                lambda cur, _prev, view=v: self._current_changed(view, cur)
            )
            v.doubleClicked.connect(lambda i, view=v: self._open_row(view, i))
        self.filters = ToolStrip(self, name="ciHeader")
        fl = self.filters.layout_
        self.class_filter = QComboBox(self)
        self.class_filter.addItem("All classes", None)
        self.state_filter = QComboBox(self)
        for text, key in (("Down and degraded", None), ("Down", "down"), ("Degraded", "degraded")):
            self.state_filter.addItem(text, key)
        self.distance_filter = QSpinBox(self)
        self.distance_filter.setRange(0, 50)
        self.distance_filter.setSpecialValueText("Any distance")
        self.distance_filter.setPrefix("Distance ≤ ")
        self.text_filter = QLineEdit(self)
        self.text_filter.setPlaceholderText("Name contains…")
        self.text_filter.setClearButtonEnabled(True)
        self.shown_label = QLabel(self)
        self.shown_label.setProperty("role", "muted")
        for w in (self.class_filter, self.state_filter, self.distance_filter):
            fl.addWidget(w)
        fl.addWidget(self.text_filter, 1)
        fl.addWidget(self.shown_label)
        self.class_filter.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.state_filter.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.distance_filter.valueChanged.connect(lambda _v: self.apply_filters())
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(150)
        self._text_timer.timeout.connect(self.apply_filters)
        self.text_filter.textChanged.connect(lambda _t: self._text_timer.start())
        cis_page = QWidget(self)
        cl = QVBoxLayout(cis_page)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.filters)
        cl.addWidget(self.view, 1)
        self.canvas = GraphCanvas(self)
        self.canvas.setObjectName("impactPicture")
        self.canvas.nodeClicked.connect(self._node_clicked)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(cis_page, "Impacted CIs")
        self.tabs.addTab(self.canvas, "Picture")
        services_box = QWidget(self)
        sl = QVBoxLayout(services_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(0)
        self.services_title = QLabel("Impacted services", self)
        self.services_title.setProperty("role", "subheading")
        self.services_head = ToolStrip(self, name="ciHeader")
        self.services_head.layout_.addWidget(self.services_title, 1)
        for action in (self.xlsx_action, self.pdf_action):
            self.services_head.layout_.addWidget(tool_button(self, action, text=True))
        sl.addWidget(self.services_head)
        sl.addWidget(self.services_view, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(services_box)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        self.breadcrumb = QLabel(self)
        self.breadcrumb.setObjectName("breadcrumb")
        self.breadcrumb.setTextFormat(Qt.TextFormat.RichText)
        self.breadcrumb.setWordWrap(True)
        self.breadcrumb.linkActivated.connect(self._crumb)
        self.crumb_strip = ToolStrip(self, name="ciHeader")
        self.crumb_strip.layout_.addWidget(self.breadcrumb, 1)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(0)
        rl.addWidget(split, 1)
        rl.addWidget(self.crumb_strip)
        body = QSplitter(Qt.Orientation.Horizontal, self)
        body.addWidget(self.left)
        body.addWidget(right)
        body.setStretchFactor(1, 1)
        body.setSizes([300, 1100])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addWidget(body, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RECOMPUTE_MS)
        self._timer.timeout.connect(self.recompute)
        self.change_model.modelReset.connect(self._update_actions)
        self._show_empty()
        context.databaseChanged.connect(self.set_cmdb)
        context.databaseShown.connect(lambda _cmdb: self.refresh_scenarios())
        context.bridge.changed.connect(self._changed)
        context.bridge.external.connect(lambda _catalogue: self._changed(None))
        if context.cmdb is not None:  # made while a CMDB is open (and shown)
            self.set_cmdb(context.cmdb)
            self.refresh_scenarios()

    def styled_parts(self) -> list[QWidget]:
        return [
            self.strip,
            self.left,
            self.filters,
            self.services_head,
            self.crumb_strip,
            self.tabs.tabBar(),
        ]

    def set_colours(self, colours: dict[str, str]) -> None:
        self.canvas.set_colours(colours)

    # -- state -------------------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.cmdb = cmdb
        self.add_box.meta = cmdb.meta if cmdb is not None else None
        self.change_model.set_refs([], cmdb.meta if cmdb is not None else None)
        self.table = None
        self.picture = None
        self.scenarios.clear()
        self._show_empty()
        # The scenario names are loaded once the CMDB's first table page is on
        # screen (databaseShown).

    def _changed(self, summary: ChangeSummary | None) -> None:
        """``None``: another program wrote (anything may have moved)."""
        if self.cmdb is None:
            return
        if summary is not None and summary.deleted:
            gone = set(summary.deleted)
            kept = [r for r in self.change_set if r.id not in gone]
            if len(kept) != len(self.change_set):
                self.set_change_set(kept)  # assesses again
                return
        if (summary is None or summary.graph_changed or summary.deleted) and self.change_set:
            self.schedule()

    @property
    def change_set(self) -> list[CiRef]:
        return self.change_model.refs

    def _change_set_id(self, row: int) -> int | None:
        ref = self.change_model.ref(row)
        return ref.id if ref is not None else None

    def _node_clicked(self, key: int | str) -> None:
        if isinstance(key, int):
            self.context.navigation.show_ci(key)

    def is_busy(self) -> bool:
        runner = self.context.runner
        return (
            self._timer.isActive() or runner.busy_with("impact") or runner.busy_with("impact-add")
        )

    def _update_actions(self) -> None:
        has_set = bool(self.change_set)
        has_result = self.table is not None
        # saving a scenario writes: not for a viewer's role, nor on the CMDB as it was
        self.save_action.setEnabled(has_set and self.cmdb is not None and self.cmdb.may("write"))
        self.xlsx_action.setEnabled(has_result)
        self.pdf_action.setEnabled(has_result)
        self.open_action.setEnabled(self.scenarios.count() > 0)
        self.compare_action.setEnabled(self.scenarios.count() > 1)
        self.remove_button.setEnabled(has_set)
        self.clear_button.setEnabled(has_set)
        self.add_selection_action.setEnabled(self.cmdb is not None)

    # -- the change set -----------------------------------------------------------
    def add(self, refs: list[CiRef]) -> None:
        current = self.change_set
        known = {r.id for r in current}
        new = [r for r in refs if r.id not in known]
        if not new:
            return
        self.set_change_set(current + new)

    def set_change_set(self, refs: list[CiRef], depth: int | None = None) -> None:
        assert self.cmdb is not None or not refs
        self.change_model.set_refs(list(dict.fromkeys(refs)), self.cmdb.meta if self.cmdb else None)
        if depth is not None or refs:
            self.depth_box.blockSignals(True)
            self.depth_box.setValue(depth or ANY_DEPTH)
            self.depth_box.blockSignals(False)
        self.schedule()

    def add_selection(self) -> None:
        ids = self.context.chosen_ids()
        if not ids or self.cmdb is None:
            self.context.show_message("Select CIs in the Browse table first.")
            return
        self.add_ids(ids)

    def add_ids(self, ids: list[int], *, replace: bool = False) -> None:
        """Add these CIs (or, with ``replace``, make them the change set); their names
        are read in the worker."""
        if self.cmdb is None:
            return

        def done(refs: list[CiRef]) -> None:
            if replace:
                self.set_change_set(refs)
            else:
                self.add(refs)

        self.context.runner.submit(
            "Adding to the change set",
            jobs_analysis.refs_of,
            self.cmdb,
            list(ids),
            on_done=done,
            key="impact-add",
            visible=False,
        )

    def remove_selected(self) -> None:
        rows = {i.row() for i in self.change_list.selectedIndexes()}
        keep = [r for n, r in enumerate(self.change_set) if n not in rows]
        self.set_change_set(keep)

    def clear(self) -> None:
        self.set_change_set([])

    def schedule(self) -> None:
        self._update_actions()
        self._timer.start()

    # -- computing ------------------------------------------------------------------
    def recompute(self) -> None:
        self._timer.stop()
        self._generation += 1
        generation = self._generation
        runner = self.context.runner
        runner.cancel("impact")
        runner.cancel("impact-picture")
        if self.cmdb is None or not self.change_set:
            self.table = None
            self.picture = None
            self._show_empty()
            self.assessed.emit(None)
            return
        depth = self.depth_box.value() or None
        self.counts.setText("<i>Assessing…</i>")

        def done(table: ImpactTable) -> None:
            if generation == self._generation:
                self.show_table(table)

        runner.submit(
            "Assessing impact",
            jobs_analysis.impact,
            self.cmdb,
            [r.id for r in self.change_set],
            depth,
            on_done=done,
            on_error=self._failed,
            key="impact",
            replace=True,
        )

    def _failed(self, exc: BaseException) -> None:
        self.counts.setText("")
        self.context.report_error("Cannot assess the impact", exc)

    def show_table(self, table: ImpactTable) -> None:
        self.table = table
        report = table.report
        icons = {c.name: c.icon for c in self.cmdb.meta.classes} if self.cmdb else {}
        self.services_model.set_table(table, np.nonzero(table.services)[0], icons)
        current = self.class_filter.currentData()
        self.class_filter.blockSignals(True)
        self.class_filter.clear()
        self.class_filter.addItem("All classes", None)
        for name in table.class_names:
            self.class_filter.addItem(name, name)
        self.class_filter.setCurrentIndex(max(0, self.class_filter.findData(current)))
        self.class_filter.blockSignals(False)
        self.model.set_table(table, None, icons)
        self.apply_filters()
        counts = report.counts
        services = int(table.services.sum())
        inactive = ""
        if report.inactive:
            names = ", ".join(html(c.name) for c in report.inactive)
            inactive = (
                f"<p style='color:#c62828'>{names}: retired or disposed, "
                "takes no part in impact.</p>"
            )
        self.counts.setText(
            f"<p style='font-size:20pt; font-weight:600; margin:0'>{len(table):,}</p>"
            f"<p style='margin:0'>CIs impacted</p>"
            f"<p style='margin-top:6px'><span style='color:#d1242f; font-weight:600'>"
            f"{counts['down']:,} down</span> · <span style='color:#d4870f; font-weight:600'>"
            f"{counts['degraded']:,} degraded</span><br>{services:,} services impacted</p>"
            + inactive
        )
        self.services_title.setText(
            f"Impacted services ({services:,})" if services else "No service is impacted"
        )
        self._update_actions()
        self.assessed.emit(table)
        self._draw_picture(table)

    def _draw_picture(self, table: ImpactTable) -> None:
        if self.cmdb is None:
            return

        def done(picture: Picture) -> None:
            if table is self.table:
                self.picture = picture
                self.canvas.set_picture(picture)

        self.context.runner.submit(
            "Drawing the impact",
            jobs_analysis.impact_picture,
            self.cmdb,
            table,
            on_done=done,
            key="impact-picture",
            replace=True,
            visible=False,
        )

    def _show_empty(self) -> None:
        self.services_model.set_table(None)
        self.model.set_table(None)
        self.canvas.clear()
        self.counts.setText(
            "<p style='color:gray'>Add CIs to the change set to see what they impact.</p>"
        )
        self.services_title.setText("Impacted services")
        self.shown_label.setText("")
        self.breadcrumb.setText("")
        self._update_actions()

    def apply_filters(self) -> None:
        table = self.table
        if table is None:
            return
        distance = self.distance_filter.value() or None
        mask = table.mask(
            class_name=self.class_filter.currentData(),
            state=self.state_filter.currentData(),
            max_distance=distance,
        )
        text = self.text_filter.text().strip().casefold()
        if text:
            names = table.report.columns.names
            mask &= np.fromiter((text in n.casefold() for n in names), bool, len(names))
        rows = np.nonzero(mask)[0]
        self.model.set_rows(rows)
        shown = len(rows)
        self.shown_label.setText(
            f"{shown:,} of {len(table):,}" if shown != len(table) else f"{shown:,} CIs"
        )

    # -- rows and breadcrumbs -------------------------------------------------------
    def _current_changed(self, view: QTableView, current: QModelIndex) -> None:
        model = view.model()
        assert isinstance(model, ImpactModel)
        k = model.position(current.row()) if current.isValid() else None
        if k is None or self.table is None:
            return
        report = self.table.report
        ids = report.path_ids(report.columns.ids[k])
        names = report.columns.paths[k]
        links = [f"<a href='ci:{i}'>{html(n)}</a>" for i, n in zip(ids, names, strict=False)]
        state = report.columns.states[k]
        self.breadcrumb.setText(
            f"<b>Why {html(report.columns.names[k])} is {state}:</b>&nbsp; " + " → ".join(links)
        )

    def _crumb(self, link: str) -> None:
        if link.startswith("ci:"):
            self.context.navigation.show_ci(int(link[3:]))

    def _open_row(self, view: QTableView, index: QModelIndex) -> None:
        model = view.model()
        assert isinstance(model, ImpactModel)
        ci_id = model.ci_id(index.row())
        if ci_id is not None:
            self.context.navigation.show_ci(ci_id)

    def select_ci(self, ci_id: int) -> bool:
        row = self.model.row_of(ci_id)
        if row is None:
            return False
        self.view.selectRow(row)
        self.view.setCurrentIndex(self.model.index(row, 0))
        return True

    # -- scenarios ------------------------------------------------------------------
    def refresh_scenarios(self, choose: str | None = None) -> None:
        if self.cmdb is None:
            return

        def done(names: list[str]) -> None:
            chosen = choose or self.scenarios.currentText()
            self.scenarios.clear()
            self.scenarios.addItems(names)
            if chosen in names:
                self.scenarios.setCurrentText(chosen)
            self._update_actions()

        self.context.runner.submit(
            "Loading scenarios",
            jobs_analysis.scenario_names,
            self.cmdb,
            on_done=done,
            key="scenarios",
            replace=True,
            visible=False,
        )

    def ask_save(self) -> None:
        name, ok = QInputDialog.getText(
            self,
            "Save scenario",
            "Name of the scenario (e.g. CHG-1042 replace array):",
            text=self.scenarios.currentText(),
        )
        if ok and name.strip():
            self.save_scenario(name.strip())

    def save_scenario(self, name: str) -> None:
        if self.cmdb is None:
            return

        def done(saved: str) -> None:
            self.refresh_scenarios(choose=saved)
            self.context.show_message(f"Scenario “{saved}” saved.")

        self.context.runner.submit(
            "Saving scenario",
            jobs_analysis.save_scenario,
            self.cmdb,
            name,
            self.change_set,
            self.depth_box.value() or None,
            on_done=done,
        )

    def open_chosen(self) -> None:
        name = self.scenarios.currentText()
        if name:
            self.open_scenario(name)

    def open_scenario(self, name: str) -> None:
        if self.cmdb is None:
            return

        def done(scenario: Scenario) -> None:
            self.set_change_set(scenario.cis, scenario.depth)
            if scenario.missing:
                self.context.report_error(
                    "Scenario",
                    f"These CIs of “{scenario.name}” are no longer in the CMDB: "
                    + ", ".join(scenario.missing),
                )

        self.context.runner.submit(
            "Opening scenario", jobs_analysis.load_scenario, self.cmdb, name, on_done=done
        )

    def ask_compare(self) -> None:
        names = [self.scenarios.itemText(i) for i in range(self.scenarios.count())]
        if len(names) < 2:
            return
        first, ok = QInputDialog.getItem(
            self, "Compare scenarios", "First scenario:", names, 0, False
        )
        if not ok:
            return
        rest = [n for n in names if n != first]
        second, ok = QInputDialog.getItem(
            self, "Compare scenarios", "Second scenario:", rest, 0, False
        )
        if ok:
            self.compare(first, second)

    def compare(self, first: str, second: str) -> None:
        if self.cmdb is None:
            return
        from ui.views.scenario_compare import ComparisonDialog

        def done(comparison: Comparison) -> None:
            self.comparison_dialog = ComparisonDialog(self, comparison, self.context.navigation)
            self.context.style(self.comparison_dialog)
            self.comparison_dialog.show()

        self.context.runner.submit(
            "Comparing scenarios",
            jobs_analysis.compare_scenarios,
            self.cmdb,
            first,
            second,
            on_done=done,
            on_error=lambda exc: self.context.report_error("Cannot compare", exc),
        )

    # -- export ----------------------------------------------------------------------
    def _default_name(self, suffix: str) -> str:
        base = self.scenarios.currentText() or (
            self.change_set[0].name if self.change_set else "impact"
        )
        safe = "".join(ch if ch.isalnum() or ch in "-_ ." else "-" for ch in base).strip()
        return str(self.context.last_folder / f"impact-{safe}{suffix}")

    def ask_export_xlsx(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the impact report", self._default_name(".xlsx"), "Excel workbook (*.xlsx)"
        )
        if path:
            self.context.remember_folder(path)
            self.export_xlsx(path)

    def export_xlsx(self, path: str) -> None:
        if self.table is None or self.cmdb is None:
            return
        self.context.runner.submit(
            "Writing the impact report",
            jobs_analysis.export_impact_xlsx,
            self.cmdb,
            self.table.report,
            path,
            on_done=lambda out: self.context.show_message(f"Impact report saved to {out}."),
            on_error=lambda exc: self.context.report_error("Cannot write the report", exc),
        )

    def ask_export_pdf(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "PDF for the change board", self._default_name(".pdf"), "PDF document (*.pdf)"
        )
        if path:
            self.context.remember_folder(path)
            self.export_pdf(path)

    def export_pdf(self, path: str) -> None:
        if self.table is None or self.cmdb is None:
            return
        from ui.theme import LIGHT

        title = self.scenarios.currentText()
        self.context.runner.submit(
            "Writing the PDF",
            jobs_analysis.export_impact_pdf,
            self.cmdb,
            self.table,
            self.picture,
            path,
            dict(LIGHT),  # printed on white whatever the screen's theme
            f"Impact assessment: {title}" if title else "",
            on_done=lambda out: self.context.show_message(f"PDF saved to {out}."),
            on_error=lambda exc: self.context.report_error("Cannot write the PDF", exc),
        )
