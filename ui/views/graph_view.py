"""The *Graph* workspace: the neighbourhood of a CI, laid out in layers.

Choose the centre (search box, *Show in Graph* on the table's selection, or
*Centre here* on a box), the depth and the direction (what it depends on,
what depends on it, or both). Reading and layout run in the worker
(:func:`ui.jobs_analysis.dependency_graph`); this widget draws the
:class:`~ui.dependency_picture.Picture` and turns clicks into requests:

* click a box: its details in the CI panel; double-click (or Enter on) a
  group: show more of it; on an aggregate ("37 Virtual Machines", layer 3,
  drawn when the neighbourhood holds more than
  :data:`~ui.graph_layout.AGGREGATE_OVER` boxes): open it; right-click:
  expand / collapse / centre here / impact path / add to the change set /
  list in the table;
* *Aggregate* (a toggle): big drawings show each class on each layer as one
  box; off, every box is drawn;
* *Focus path…*: one shortest impact path between the centre and another CI,
  highlighted (``analysis.path``);
* the impact workspace passes its states (``set_states``) so boxes show down,
  degraded and the change set;
* *Export*: PNG or SVG of the whole drawing (in the worker).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QMenu,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.items import CiRef
from ui import jobs_analysis
from ui.dependency_picture import GROUP_STEP, Picture, PictureNode
from ui.jobs_analysis import GraphRequest, GraphResult
from ui.theme import icon
from ui.views.ci_search import CiSearchBox
from ui.views.graph_canvas import GraphCanvas
from ui.views.toolstrip import ToolStrip, html, make_action, tool_button

if TYPE_CHECKING:
    from ui.context import AppContext

DIRECTIONS = (
    ("both", "Both ways"),
    ("upstream", "What it depends on"),
    ("downstream", "What depends on it"),
)
MAX_DEPTH = 8


class GraphView(QWidget):
    """Signals: ``changeSetRequested(CiRef)`` (the user chose *Add to the change set*).

    Follows the context's CMDB, and draws again when a change may have moved the
    impact graph it shows."""

    changeSetRequested = Signal(object)
    drawn = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphView")
        self.context = context
        self.cmdb: Cmdb | None = None
        self.request: GraphRequest | None = None
        self.result: GraphResult | None = None
        self.states: dict[int, str] | None = None
        self.centre_ref: CiRef | None = None
        self._pending_path_to: CiRef | None = None

        from ui.views.ci_panel import make_search

        search = make_search(context.runner, lambda: self.cmdb, "graph-search")
        self.centre_box = CiSearchBox(search, "Centre on a CI: name, serial, #ID…", self)
        self.centre_box.setMinimumWidth(160)
        self.centre_box.setMaximumWidth(360)
        self.centre_box.picked.connect(lambda ref: self.show_ci(ref.id))
        self.depth_box = QSpinBox(self)
        self.depth_box.setRange(0, MAX_DEPTH)
        self.depth_box.setValue(2)
        self.depth_box.setPrefix("Depth ")
        self.depth_box.setToolTip("How many impact steps away from the centre to draw")
        self.direction = QComboBox(self)
        for key, text in DIRECTIONS:
            self.direction.addItem(text, key)
        self.depth_box.valueChanged.connect(lambda _v: self._refetch())
        self.direction.currentIndexChanged.connect(lambda _i: self._refetch())

        self.canvas = GraphCanvas(self)
        self.fit_action = self._action(
            "Fit", "fit", "Ctrl+0", "Show as much of the graph as stays readable (Ctrl+0)"
        )
        self.fit_action.triggered.connect(lambda: self.canvas.fit())
        self.zoom_in_action = self._action("Zoom in", "zoom_in", "Ctrl++", "Zoom in (Ctrl++)")
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.zoom_in_action.triggered.connect(lambda: self.canvas.zoom_in())
        self.zoom_out_action = self._action("Zoom out", "zoom_out", "Ctrl+-", "Zoom out (Ctrl+-)")
        self.zoom_out_action.triggered.connect(lambda: self.canvas.zoom_out())
        self.path_action = self._action(
            "Focus path…",
            "path",
            None,
            "Highlight the impact path between the centre and another CI",
        )
        self.path_action.triggered.connect(self.ask_path)
        self.clear_path_action = self._action("Clear path", "close", None, "Stop focusing the path")
        self.clear_path_action.triggered.connect(lambda: self.focus_path(None))
        self.export_action = self._action(
            "Export…", "image", None, "Save the drawing as PNG or SVG"
        )
        self.export_action.triggered.connect(self.ask_export)
        self.aggregate_action = self._action(
            "Aggregate",
            "classes",
            None,
            "Big drawings show each class on each layer as one box "
            "(double-click one to open it); off: every box is drawn",
        )
        self.aggregate_action.setCheckable(True)
        self.aggregate_action.setChecked(True)
        self.aggregate_action.toggled.connect(self.set_aggregate)

        self.strip = ToolStrip(self)
        bar = self.strip.layout_
        bar.addWidget(self.centre_box)
        bar.addWidget(self.depth_box)
        bar.addWidget(self.direction)
        bar.addSpacing(10)
        for action in (self.fit_action, self.zoom_in_action, self.zoom_out_action):
            bar.addWidget(tool_button(self, action))
        bar.addSpacing(10)
        bar.addWidget(tool_button(self, self.aggregate_action))
        for action in (self.path_action, self.clear_path_action, self.export_action):
            bar.addWidget(tool_button(self, action))
        bar.addStretch(1)
        self.header = ToolStrip(self, name="ciHeader")
        self.title = QLabel("Choose a CI to draw its neighbourhood.", self)
        self.title.setObjectName("graphTitle")
        self.title.setWordWrap(True)
        self.status = QLabel(self)
        self.status.setProperty("role", "muted")
        self.header.layout_.addWidget(self.title, 1)
        self.header.layout_.addWidget(self.status)
        self.note = QLabel(self)
        self.note.setProperty("role", "banner")
        self.note.setWordWrap(True)
        self.note.hide()
        self.canvas.nodeClicked.connect(self._clicked)
        self.canvas.nodeDoubleClicked.connect(self._double_clicked)
        self.canvas.nodeMenu.connect(self._menu)
        self.footer = ToolStrip(self, name="ciHeader")
        legend = QLabel(
            "Lines run from a CI down to what it depends on; impact flows up. "
            "Red: down · amber: degraded · violet: change set · dashed: grouped CIs "
            "(double-click or Enter to show them) · right-click a box for more.",
            self,
        )
        legend.setProperty("role", "muted")
        legend.setWordWrap(True)
        self.footer.layout_.addWidget(legend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addWidget(self.header)
        layout.addWidget(self.note)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.footer)
        for action in (self.fit_action, self.zoom_in_action, self.zoom_out_action):
            self.addAction(action)
        self._update_actions()
        context.databaseChanged.connect(self.set_cmdb)
        context.bridge.changed.connect(self._changed)
        context.bridge.external.connect(lambda _catalogue: self.refresh())
        if context.cmdb is not None:  # made while a CMDB is open
            self.set_cmdb(context.cmdb)

    def _action(self, text: str, icon_name: str, shortcut: str | None, tip: str) -> QAction:
        return make_action(self, text, icon_name, tip, shortcut)

    def styled_parts(self) -> list[QWidget]:
        """What gets the theme's stylesheet (not the canvas)."""
        return [self.strip, self.header, self.note, self.footer]

    # -- state -------------------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.cmdb = cmdb
        self.request = None
        self.result = None
        self.states = None
        self.centre_ref = None
        self.canvas.clear()
        self.centre_box.meta = cmdb.meta if cmdb is not None else None
        self.title.setText("Choose a CI to draw its neighbourhood.")
        self.status.setText("")
        self.note.hide()
        self._update_actions()

    def set_colours(self, colours: dict[str, str]) -> None:
        self.canvas.set_colours(colours)

    def _update_actions(self) -> None:
        drawn = self.request is not None
        for action in (
            self.fit_action,
            self.zoom_in_action,
            self.zoom_out_action,
            self.path_action,
            self.export_action,
        ):
            action.setEnabled(drawn)
        self.clear_path_action.setEnabled(
            self.request is not None and self.request.path_to is not None
        )

    @property
    def picture(self) -> Picture | None:
        return self.canvas.picture

    # -- requests ------------------------------------------------------------------
    def show_ci(
        self, ci_id: int, *, depth: int | None = None, direction: str | None = None
    ) -> None:
        """Draw the neighbourhood of ``ci_id`` (keeping the depth and direction unless given)."""
        if depth is not None:
            self.depth_box.blockSignals(True)
            self.depth_box.setValue(depth)
            self.depth_box.blockSignals(False)
        if direction is not None:
            self.direction.blockSignals(True)
            self.direction.setCurrentIndex(max(0, self.direction.findData(direction)))
            self.direction.blockSignals(False)
        self._submit(
            GraphRequest(
                ci_id,
                self.depth_box.value(),
                str(self.direction.currentData()),
                states=self.states,
                aggregate=self.aggregate_action.isChecked(),
            ),
            fit=True,
        )

    def set_aggregate(self, on: bool) -> None:
        """Draw big neighbourhoods as aggregates (on) or every box (off)."""
        if self.aggregate_action.isChecked() != on:
            self.aggregate_action.setChecked(on)  # comes back here through toggled
            return
        if self.request is not None and self.request.aggregate != on:
            self._submit(
                replace(self.request, aggregate=on, expanded_aggregates=frozenset()), fit=True
            )

    def set_states(self, states: dict[int, str] | None) -> None:
        """Colour boxes by impact state (from the impact workspace); None clears it."""
        self.states = states
        if self.request is not None:
            self._submit(replace(self.request, states=states), fit=False)

    def focus_path(self, other: int | None) -> None:
        if self.request is not None:
            self._submit(replace(self.request, path_to=other), fit=other is None)

    def _changed(self, summary: ChangeSummary) -> None:
        """A change that moved the impact graph or deleted CIs redraws (keeping the
        centre, depth and expansions); other edits leave the drawing as it is."""
        if summary.graph_changed or summary.deleted:
            self.refresh()

    def refresh(self) -> None:
        """Read the neighbourhood again (the database changed)."""
        if self.request is not None:
            self.result = None
            self._submit(self.request, fit=False)

    def _refetch(self) -> None:
        if self.request is not None:
            self._submit(
                replace(
                    self.request,
                    depth=self.depth_box.value(),
                    direction=str(self.direction.currentData()),
                    expanded_cis=(),
                    expanded_groups=frozenset(),
                    expanded_aggregates=frozenset(),
                    collapsed=frozenset(),
                ),
                fit=True,
            )

    def _submit(self, request: GraphRequest, *, fit: bool, focus: int | str | None = None) -> None:
        if self.cmdb is None:
            return
        previous = self.result
        self.request = request
        self._update_actions()
        self.status.setText("Drawing…")

        def done(result: GraphResult) -> None:
            if result.request is not self.request:
                return
            self._drawn(result, fit, focus)

        self.context.runner.submit(
            "Drawing the graph",
            jobs_analysis.dependency_graph,
            self.cmdb,
            request,
            previous,
            on_done=done,
            on_error=self._failed,
            key="graph",
            replace=True,
        )

    def _failed(self, exc: BaseException) -> None:
        self.status.setText("")
        self.context.report_error("Cannot draw the graph", exc)

    def _drawn(self, result: GraphResult, fit: bool, focus: int | str | None) -> None:
        self.result = result
        picture = result.picture
        self.canvas.set_picture(picture, fit=fit, focus=focus)
        centre = picture.node(result.request.centre)
        if centre is not None:
            self.centre_ref = CiRef(centre.ci_id or 0, centre.label, centre.class_name)
            way = dict(DIRECTIONS)[result.request.direction].lower()
            self.title.setText(
                f"<b>{html(centre.label)}</b> ({html(centre.class_name)}): {way}, "
                f"{result.request.depth} step{'s' if result.request.depth != 1 else ''}"
            )
        boxes = len(picture.ci_ids)
        text = f"{boxes:,} CIs drawn"
        if picture.total_cis > boxes:
            text = f"{boxes:,} of {picture.total_cis:,} CIs drawn, {len(picture.groups):,} groups"
        if picture.aggregates:
            text += f", {len(picture.aggregates):,} aggregates"
        self.status.setToolTip(
            "Laid out by Graphviz dot (its lines cross less on this drawing)"
            if picture.layout_by == "dot"
            else "Laid out by CMDB Desktop's layered layout"
        )
        self.status.setText(text)
        notes = []
        if result.note:
            notes.append(result.note)
        elif result.path:
            notes.append("Impact path: " + " → ".join(r.name for r in result.path))
        if self.states:
            notes.append("Colours show the impact workspace's assessment.")
        self.note.setText("  ".join(notes))
        self.note.setVisible(bool(notes))
        self._update_actions()
        self.drawn.emit()

    # -- interaction ---------------------------------------------------------------
    def _clicked(self, key: int | str) -> None:
        if isinstance(key, int):
            self.context.navigation.show_ci(key)

    def _double_clicked(self, key: int | str) -> None:
        if isinstance(key, int):
            self.show_ci(key)
        elif self._aggregate(key) is not None:
            self.expand_aggregate(key)
        else:
            self.expand_group(key)

    def _aggregate(self, key: str) -> PictureNode | None:
        node = self.picture.node(key) if self.picture is not None else None
        return node if node is not None and node.aggregate is not None else None

    def expand_aggregate(self, key: str) -> None:
        """Draw the boxes of one aggregate again (the others stay as they are)."""
        if self.request is None or self._aggregate(key) is None:
            return
        self._submit(
            replace(self.request, expanded_aggregates=self.request.expanded_aggregates | {key}),
            fit=False,
            focus=self._anchor_of(key),
        )

    def _anchor_of(self, key: str) -> int | str | None:
        """What to keep in view when an aggregate opens: one of its CIs or groups."""
        node = self._aggregate(key)
        if node is None or node.aggregate is None:
            return None
        return node.aggregate.members[0]

    def aggregate_cis(self, key: str) -> list[int]:
        """The CIs behind an aggregate box (those of its groups too)."""
        node = self._aggregate(key)
        if node is None or node.aggregate is None or self.picture is None:
            return []
        groups = {g.key: g for g in self.picture.groups}
        out: list[int] = []
        for member in node.aggregate.members:
            if isinstance(member, int):
                out.append(member)
            elif member in groups:
                out.extend(groups[member].members)
        return out

    def expand_group(self, key: str, *, everything: bool = False) -> None:
        if self.request is None or self.picture is None:
            return
        group = next((g for g in self.picture.groups if g.key == key), None)
        if group is None:
            return
        opened = dict(self.request.expanded_groups_map)
        shown_now = opened.get(key, self.picture.threshold)
        opened[key] = 1 << 30 if everything else shown_now + GROUP_STEP
        self._submit(
            replace(self.request, expanded_groups=frozenset(opened.items())),
            fit=False,
            focus=group.parent,
        )

    def expand(self, ci: int) -> None:
        if self.request is None:
            return
        if ci in self.request.collapsed:
            new = replace(self.request, collapsed=self.request.collapsed - {ci})
        elif ci != self.request.centre and ci not in self.request.expanded_cis:
            new = replace(self.request, expanded_cis=(*self.request.expanded_cis, ci))
        else:
            return
        self._submit(new, fit=False, focus=ci)

    def collapse(self, ci: int) -> None:
        if self.request is None:
            return
        expanded = tuple(c for c in self.request.expanded_cis if c != ci)
        new = replace(self.request, collapsed=self.request.collapsed | {ci}, expanded_cis=expanded)
        self._submit(new, fit=False, focus=ci)

    def _menu(self, key: int | str, pos: QPoint) -> None:
        menu = QMenu(self)
        aggregate = self._aggregate(key) if isinstance(key, str) else None
        if isinstance(key, str) and aggregate is not None:
            menu.addAction(
                f"Open (draw these {aggregate.count:,})", lambda: self.expand_aggregate(key)
            )
            menu.addAction(
                "List them in the table",
                lambda: self.context.show_ids(self.aggregate_cis(key), aggregate.label),
            )
            menu.addSeparator()
            menu.addAction("Draw every box (aggregate off)", lambda: self.set_aggregate(False))
        elif isinstance(key, str):
            group = next(
                (g for g in (self.picture.groups if self.picture else []) if g.key == key), None
            )
            if group is None:
                return
            menu.addAction(
                f"Show {min(GROUP_STEP, len(group.members)):,} more", lambda: self.expand_group(key)
            )
            menu.addAction(
                f"Show all {len(group.members):,}", lambda: self.expand_group(key, everything=True)
            )
            menu.addAction(
                "List them in the table",
                lambda: self.context.show_ids(list(group.members), group.label),
            )
        else:
            node = self.picture.node(key) if self.picture else None
            name = node.label if node else f"#{key}"
            menu.addAction(icon("details"), "Show details", lambda: self._clicked(key))
            menu.addAction(icon("graph"), "Centre the graph here", lambda: self.show_ci(key))
            menu.addSeparator()
            menu.addAction("Expand (show its neighbours)", lambda: self.expand(key))
            menu.addAction("Collapse (hide what hangs on it)", lambda: self.collapse(key))
            if self.request is not None and key != self.request.centre:
                menu.addAction(
                    icon("path"), "Focus the impact path to here", lambda: self.focus_path(key)
                )
            menu.addSeparator()
            menu.addAction(
                icon("impact"),
                "Add to the change set",
                lambda: self.changeSetRequested.emit(
                    CiRef(key, name, node.class_name if node else "")
                ),
            )
        menu.popup(pos)

    def ask_path(self) -> None:
        """Pick the other end of the path: the table's current CI, else ask by search."""
        from ui.views.ci_picker import pick_ci

        if self.request is None or self.cmdb is None:
            return
        ref = pick_ci(self, self.context, "Focus an impact path", "Path between the centre and:")
        if ref is not None:
            self.focus_path(ref.id)

    def ask_export(self) -> None:
        if self.picture is None:
            return
        name = (self.centre_ref.name if self.centre_ref else "graph").replace("/", "-")
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Export the graph",
            str(self.context.last_folder / f"{name}.png"),
            "PNG image (*.png);;SVG drawing (*.svg)",
        )
        if path:
            self.context.remember_folder(path)
            self.export(path)

    def export(self, path: str) -> None:
        if self.picture is None:
            return
        from ui.theme import LIGHT

        colours = dict(self.canvas.colours) if self.canvas.colours else LIGHT
        self.context.runner.submit(
            "Exporting the graph",
            export_picture,
            self.picture,
            path,
            colours,
            on_done=lambda out: self.context.show_message(f"Graph saved to {out}."),
            on_error=lambda exc: self.context.report_error("Cannot export the graph", exc),
        )


def export_picture(state: Any, picture: Picture, path: str, colours: dict[str, str]) -> Any:
    """Job: PNG or SVG by the file's extension (QPainter is allowed off the GUI thread)."""
    from cmdb_desktop.errors import ValidationError
    from ui.picture_paint import save_png, save_svg

    suffix = path.lower().rsplit(".", 1)[-1]
    if suffix == "png":
        return save_png(picture, path, colours)
    if suffix == "svg":
        return save_svg(picture, path, colours)
    raise ValidationError("Export the graph as .png or .svg.")
