"""The *Services* workspace: what a service depends on, layer by layer, and where
it is fragile.

Choose a service (the list holds every CI of a service class; any CI can be
chosen with the search box). The worker computes its dependency map
(``analysis.depends``: every CI with an impact path to it, nearest first) and
its single points of failure (``analysis.spof``: each CI whose failure alone
takes it down, redundancy rules honoured). The left side draws the layers
(one bar per class, nearest layer on top, single points of failure in red);
the table lists the dependencies of the chosen layer, SPOFs first and red.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.analysis import Layer
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.items import CiRef
from ui import jobs_analysis
from ui.jobs_analysis import ServiceMap
from ui.models.rows import RowsModel
from ui.picture_paint import STATE_STYLE, IconRenderers
from ui.theme import LIGHT
from ui.views.ci_search import CiSearchBox
from ui.views.toolstrip import ToolStrip, html, make_action, sortable, tool_button

if TYPE_CHECKING:
    from ui.context import AppContext

SPOF_COLOUR = STATE_STYLE["down"][0]
ROW_HEIGHT = 34


class LayerMap(QWidget):
    """One bar per layer (class); ``layerChosen(class name | None)`` on click."""

    layerChosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layerMap")
        self.layers: list[Layer] = []
        self.spofs: dict[str, int] = {}
        self.icons: dict[str, str] = {}
        self.chosen: str | None = None
        self.colours = LIGHT
        self._renderers = IconRenderers()
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

    def set_layers(self, layers: list[Layer], spofs: dict[str, int], icons: dict[str, str]) -> None:
        self.layers, self.spofs, self.icons = layers, spofs, icons
        self.chosen = None
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(360, 12 + ROW_HEIGHT * max(1, len(self.layers)))

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def _row_at(self, y: float) -> int | None:
        row = int((y - 6) // ROW_HEIGHT)
        return row if 0 <= row < len(self.layers) else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        row = self._row_at(event.position().y())
        name = self.layers[row].class_name if row is not None else None
        self.chosen = None if name == self.chosen else name
        self.layerChosen.emit(self.chosen)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = self.colours
        biggest = max((layer.cis for layer in self.layers), default=1)
        label_w = 190.0
        bar_x = label_w + 12
        bar_w = max(40.0, self.width() - bar_x - 110)
        bold = QFont(self.font())
        bold.setBold(True)
        for n, layer in enumerate(self.layers):
            top = 6 + n * ROW_HEIGHT
            row = QRectF(4, top, self.width() - 8, ROW_HEIGHT - 4)
            if layer.class_name == self.chosen:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(c["chip"]))
                p.drawRoundedRect(row, 6, 6)
            self._renderers.get(self.icons.get(layer.class_name, "")).render(
                p, QRectF(10, top + 5, 20, 20)
            )
            p.setPen(QColor(c["text"]))
            p.setFont(self.font())
            p.drawText(
                QRectF(36, top, label_w - 30, ROW_HEIGHT - 4),
                int(Qt.AlignmentFlag.AlignVCenter),
                layer.class_name,
            )
            width = bar_w * layer.cis / biggest
            spof = self.spofs.get(layer.class_name, 0)
            bar = QRectF(bar_x, top + 8, max(width, 3.0), ROW_HEIGHT - 20)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(c["accent"]).lighter(150))
            p.drawRoundedRect(bar, 3, 3)
            if spof:
                p.setBrush(QColor(SPOF_COLOUR))
                p.drawRoundedRect(
                    QRectF(bar_x, top + 8, max(width * spof / layer.cis, 3.0), bar.height()), 3, 3
                )
            text = f"{layer.cis:,}"
            if spof:
                text += f"  ·  {spof:,} SPOF"
            p.setPen(QColor(SPOF_COLOUR) if spof else QColor(c["muted"]))
            p.setFont(bold if spof else self.font())
            p.drawText(
                QRectF(bar_x + width + 8, top, 110, ROW_HEIGHT - 4),
                int(Qt.AlignmentFlag.AlignVCenter),
                text,
            )
        p.end()


class ServicesView(QWidget):
    """Follows the context's CMDB. What a change makes out of date (the list of
    services, the map shown) is read again at once when shown, else when next shown."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("servicesView")
        self.context = context
        self.cmdb: Cmdb | None = None
        self.result: ServiceMap | None = None
        self._listed = False  # the list of services is read when shown, once per change
        self._map_stale = False
        from ui.views.ci_panel import make_search

        self.strip = ToolStrip(self)
        bar = self.strip.layout_
        self.services = QComboBox(self)
        self.services.setMinimumWidth(300)
        self.services.setPlaceholderText("Choose a service")
        self.services.activated.connect(self._service_chosen)
        search = make_search(context.runner, lambda: self.cmdb, "services-search")
        self.search_box = CiSearchBox(search, "…or any CI: name, #ID", self)
        self.search_box.picked.connect(lambda ref: self.show_service(ref.id))
        self.graph_action = make_action(
            self, "Show in graph", "graph", "Draw what this service depends on"
        )
        self.graph_action.triggered.connect(self._show_graph)
        bar.addWidget(QLabel("Service", self))
        bar.addWidget(self.services)
        bar.addWidget(self.search_box)
        bar.addWidget(tool_button(self, self.graph_action, text=True))
        bar.addStretch(1)
        self.header = ToolStrip(self, name="ciHeader")
        self.title = QLabel("Choose a service to see what it depends on.", self)
        self.title.setObjectName("servicesTitle")
        self.title.setWordWrap(True)
        self.header.layout_.addWidget(self.title, 1)
        self.layer_map = LayerMap(self)
        self.layer_map.layerChosen.connect(self._layer_chosen)
        self.model = RowsModel(("Distance", "Name", "Class", "Single point of failure"), self)
        self.model.bold_column = 3
        self.view = QTableView(self)
        self.view.setObjectName("serviceDependencies")
        self.view.setModel(self.model)
        sortable(self.view)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.view.doubleClicked.connect(self._open)
        self.view.clicked.connect(self._open)
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(8, 8, 8, 8)
        self.layers_title = QLabel("Layers", left)
        self.layers_title.setProperty("role", "subheading")
        ll.addWidget(self.layers_title)
        ll.addWidget(self.layer_map)
        ll.addStretch(1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(self.view)
        split.setStretchFactor(1, 1)
        split.setSizes([420, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addWidget(self.header)
        layout.addWidget(split, 1)
        self.graph_action.setEnabled(False)
        context.databaseChanged.connect(self.set_cmdb)
        context.bridge.changed.connect(self._changed)
        context.bridge.external.connect(lambda _catalogue: self._changed(None))
        if context.cmdb is not None:  # made while a CMDB is open
            self.set_cmdb(context.cmdb)

    def styled_parts(self) -> list[QWidget]:
        return [self.strip, self.header, self.layers_title]

    def set_colours(self, colours: dict[str, str]) -> None:
        self.layer_map.colours = colours
        self.layer_map.update()

    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.cmdb = cmdb
        self.services.clear()
        self.search_box.meta = cmdb.meta if cmdb is not None else None
        self._listed = False
        self._clear_map("Choose a service to see what it depends on.")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._catch_up()

    def _changed(self, summary: ChangeSummary | None) -> None:
        """``None``: another program wrote (anything may have moved)."""
        if self.cmdb is None:
            return
        changed_keys = {k for after in summary.after.values() for k in after} if summary else set()
        if (
            summary is None
            or summary.created
            or summary.deleted
            or summary.catalogue_changed
            or not changed_keys.isdisjoint({"name", "class"})
        ):
            self._listed = False  # which CIs are services, and their names
        if self.result is not None:
            if summary is not None and self.result.depends.ci.id in summary.deleted:
                self._clear_map("The service was deleted.")
            elif summary is None or summary.graph_changed or summary.deleted:
                self._map_stale = True
        if self.isVisible():
            self._catch_up()

    def _catch_up(self) -> None:
        self.load_services()
        if self._map_stale and self.result is not None:
            self._map_stale = False
            self.show_service(self.result.depends.ci.id)

    def _clear_map(self, title: str) -> None:
        self.result = None
        self._map_stale = False
        self.model.set_rows([])
        self.layer_map.set_layers([], {}, {})
        self.title.setText(title)
        self.graph_action.setEnabled(False)

    def load_services(self) -> None:
        """Fill the list of services (once per CMDB, when the view is first shown)."""
        if self.cmdb is None or self._listed:
            return
        self._listed = True

        def done(refs: list[CiRef]) -> None:
            self.services.clear()
            for ref in refs:
                self.services.addItem(f"{ref.name}  —  {ref.class_name}", ref.id)
            if self.result is not None:
                self.services.setCurrentIndex(self.services.findData(self.result.depends.ci.id))

        self.context.runner.submit(
            "Listing services",
            jobs_analysis.service_cis,
            self.cmdb,
            on_done=done,
            key="services-list",
            replace=True,
            visible=False,
        )

    def _service_chosen(self, index: int) -> None:
        ci = self.services.itemData(index)
        if ci is not None:
            self.show_service(int(ci))

    def show_service(self, ci: int) -> None:
        if self.cmdb is None:
            return
        self.title.setText("Finding dependencies and single points of failure…")
        self.context.runner.submit(
            "Service dependencies",
            jobs_analysis.service_map,
            self.cmdb,
            ci,
            on_done=self.show_map,
            on_error=lambda exc: self.context.report_error("Cannot map the service", exc),
            key="service-map",
            replace=True,
        )

    def show_map(self, result: ServiceMap) -> None:
        self.result = result
        deps = result.depends
        per_class: dict[str, int] = {}
        for d in result.spof.spof:
            per_class[d.ci.class_name] = per_class.get(d.ci.class_name, 0) + 1
        icons = {c.name: c.icon for c in self.cmdb.meta.classes} if self.cmdb else {}
        self.layer_map.set_layers(deps.layers, per_class, icons)
        ref = deps.ci
        n_spof = len(result.spof.spof)
        inactive = "" if deps.active else " It is retired, so nothing can take it down."
        self.title.setText(
            f"<b>{html(ref.name)}</b> ({html(ref.class_name)}) depends on "
            f"<b>{len(deps.dependencies):,}</b> CIs in {len(deps.layers):,} layers; "
            f"<span style='color:{SPOF_COLOUR}'><b>{n_spof:,}</b> single point"
            f"{'s' if n_spof != 1 else ''} of failure</span> (each takes it down alone)." + inactive
        )
        self.layers_title.setText("Layers (click one to list it)")
        idx = self.services.findData(ref.id)
        if idx >= 0:
            self.services.setCurrentIndex(idx)
        self.graph_action.setEnabled(True)
        self._fill(None)

    def _fill(self, class_name: str | None) -> None:
        if self.result is None:
            return
        spof_ids = self.result.spof_ids
        deps = [
            d
            for d in self.result.depends.dependencies
            if class_name is None or d.ci.class_name == class_name
        ]
        deps.sort(key=lambda d: (d.ci.id not in spof_ids, d.distance, d.ci.name.casefold()))
        self.model.set_rows(
            [
                (d.distance, d.ci.name, d.ci.class_name, "yes" if d.ci.id in spof_ids else "")
                for d in deps
            ],
            [d.ci.id for d in deps],
        )
        spof_rows = {n for n, d in enumerate(deps) if d.ci.id in spof_ids}
        self.model.foreground = lambda row, col: SPOF_COLOUR if row in spof_rows else None

    def _layer_chosen(self, class_name: str | None) -> None:
        self._fill(class_name)

    def _open(self, index: QModelIndex) -> None:
        ci = self.model.ci_id(index.row())
        if ci is not None:
            self.context.navigation.show_ci(ci)

    def _show_graph(self) -> None:
        if self.result is not None:
            self.context.navigation.show_graph(
                self.result.depends.ci.id, depth=3, direction="upstream"
            )
