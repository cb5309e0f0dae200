"""The drawing surface of a dependency picture: a QGraphicsView with one item per
box, line and label, painted by :mod:`ui.picture_paint`.

Zoom with the wheel (around the mouse), Ctrl++ / Ctrl+- / Ctrl+0 (fit); pan by
dragging the background, or with the mini-map (:class:`MiniMap`, bottom right,
shown while part of the drawing is out of view). Signals carry the picture's
node keys (a CI id, a group key or an aggregate key): ``nodeClicked``,
``nodeDoubleClicked`` (also Enter on the selected box) and ``nodeMenu`` (with
the global position). The canvas never reads the database.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ui.dependency_picture import EdgeLabel, Picture, PictureEdge, PictureNode, edge_labels
from ui.picture_paint import (
    MARGIN,
    SMALL_FONT,
    IconRenderers,
    edge_path,
    label_rect,
    label_text,
    make_font,
    paint_edge,
    paint_label,
    paint_node,
)
from ui.theme import LIGHT

#: Zoom limits (scale factors).
MIN_ZOOM = 0.05
MAX_ZOOM = 3.0
ZOOM_STEP = 1.2
#: A new drawing is shown whole unless that makes text unreadable: then at this
#: zoom, around its centre box (Fit shows everything).
READABLE_ZOOM = 0.8
#: The mini-map shows once less than this share of the drawing's width or height
#: is in view (a small graph, a scroll away from whole, needs none).
MINIMAP_AFTER = 0.6


class NodeItem(QGraphicsItem):
    def __init__(self, node: PictureNode, canvas: GraphCanvas) -> None:
        super().__init__()
        self.node = node
        self.canvas = canvas
        self.rect = QRectF(-node.width / 2, -node.height / 2, node.width, node.height)
        self._hover = False
        self.edges: list[EdgeItem] = []
        self.setPos(node.x, node.y)
        self.setZValue(2)
        self.setAcceptHoverEvents(True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        # text and icons are the expensive part: paint once per zoom level
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if node.aggregate is not None:
            self.setToolTip(
                f"{node.label} on layer {node.aggregate.layer + 1}: double-click or Enter "
                f"to open, right-click for more.\n"
                f"Big drawings show each class on each layer as one box; the toolbar's "
                f"Aggregate button turns this off."
            )
        elif node.group is not None:
            self.setToolTip(
                f"{node.label}: double-click to show them, right-click for more.\n"
                f"They are grouped so that big neighbourhoods stay readable."
            )
        else:
            status = f" · {node.status}" if node.status else ""
            state = f"\nState: {node.state}" if node.state else ""
            self.setToolTip(f"{node.label}\n{node.class_name}{status}{state}")

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-3, -8, 8, 3)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.rect, 8, 8)
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        paint_node(
            painter,
            self.node,
            self.rect,
            self.canvas.colours,
            self.canvas.icons,
            selected=self.isSelected(),
            hover=self._hover,
        )

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._set_hover(True)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._set_hover(False)

    def _set_hover(self, on: bool) -> None:
        self._hover = on
        self.update()
        for edge in self.edges:
            edge.set_hover(on)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self.canvas.nodeClicked.emit(self.node.key)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.canvas.nodeDoubleClicked.emit(self.node.key)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        self.scene().clearSelection()
        self.setSelected(True)
        self.canvas.nodeMenu.emit(self.node.key, event.screenPos())


class EdgeItem(QGraphicsItem):
    def __init__(self, edge: PictureEdge, canvas: GraphCanvas) -> None:
        super().__init__()
        self.edge = edge
        self.canvas = canvas
        self.path = edge_path(edge.points, edge.spline)
        self._hover = False
        self._bounds = self.path.boundingRect().adjusted(-10, -10, 10, 10)
        self.setZValue(1 if not edge.on_path else 1.5)
        if edge.label:
            self.setToolTip(edge.label)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(8)
        return stroker.createStroke(self.path)

    def set_hover(self, on: bool) -> None:
        self._hover = on
        self.update()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        paint_edge(painter, self.edge, self.canvas.colours, hover=self._hover)


class LabelItem(QGraphicsItem):
    """The one label of the lines ending at one box (see ``edge_labels``)."""

    def __init__(self, label: EdgeLabel, canvas: GraphCanvas) -> None:
        super().__init__()
        self.label = label
        self.canvas = canvas
        font = make_font(SMALL_FONT)
        self._rect = label_rect(label, font)
        self.setZValue(1.8)
        self.setToolTip(label.text)
        self.elided = label_text(label, font) != label.text

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        paint_label(painter, self.label, self.canvas.colours)


class MiniMap(QWidget):
    """The whole drawing in a corner of the canvas, with the part in view outlined;
    click or drag to move the view there. Shown only while the drawing does not
    fit in the view (:meth:`GraphCanvas.update_minimap`)."""

    #: Largest size (pixels).
    SIDE = QSize(220, 160)

    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__(canvas)
        self.setObjectName("graphMiniMap")
        self.canvas = canvas
        self.image = QPixmap()
        self.scene_rect = QRectF()
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("The whole drawing: click or drag to move the view")
        self.hide()

    def render_scene(self) -> None:
        """Paint the scene once into the picture shown (a new drawing, new colours)."""
        rect = self.canvas.scene().sceneRect()
        self.scene_rect = rect
        if rect.isEmpty():
            self.image = QPixmap()
            return
        scale = min(self.SIDE.width() / rect.width(), self.SIDE.height() / rect.height())
        size = QSize(max(40, int(rect.width() * scale)), max(30, int(rect.height() * scale)))
        self.setFixedSize(size)
        image = QPixmap(size)
        image.fill(QColor(self.canvas.colours["base"]))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.canvas.scene().render(painter, QRectF(0, 0, size.width(), size.height()), rect)
        painter.end()
        self.image = image
        self.update()

    def to_scene(self, point: QPointF) -> QPointF:
        r = self.scene_rect
        return QPointF(
            r.left() + point.x() / max(1, self.width()) * r.width(),
            r.top() + point.y() / max(1, self.height()) * r.height(),
        )

    def visible_rect(self) -> QRectF:
        """The part of the scene in view, in this widget's coordinates."""
        shown = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
        r = self.scene_rect
        if r.isEmpty():
            return QRectF()
        sx, sy = self.width() / r.width(), self.height() / r.height()
        out = QRectF(
            (shown.left() - r.left()) * sx,
            (shown.top() - r.top()) * sy,
            shown.width() * sx,
            shown.height() * sy,
        )
        return out.intersected(QRectF(0, 0, self.width(), self.height()))

    def paintEvent(self, event: QPaintEvent) -> None:
        c = self.canvas.colours
        p = QPainter(self)
        p.drawPixmap(0, 0, self.image)
        p.setPen(QPen(QColor(c["border"]), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1))
        accent = QColor(c["accent"])
        p.setPen(QPen(accent, 1.5))
        accent.setAlpha(40)
        p.setBrush(accent)
        p.drawRect(self.visible_rect().adjusted(0.75, 0.75, -0.75, -0.75))
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.canvas.centerOn(self.to_scene(event.position()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.canvas.centerOn(self.to_scene(event.position()))


class GraphCanvas(QGraphicsView):
    nodeClicked = Signal(object)
    nodeDoubleClicked = Signal(object)
    nodeMenu = Signal(object, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphCanvas")
        self.colours: Mapping[str, str] = LIGHT
        self.icons = IconRenderers()
        self.picture: Picture | None = None
        self.items_by_key: dict[int | str, NodeItem] = {}
        self.edge_items: list[EdgeItem] = []
        self.label_items: list[LabelItem] = []
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self._fit_pending = False
        self.minimap = MiniMap(self)
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.update_minimap())
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.update_minimap())

    # -- content ---------------------------------------------------------------
    def set_colours(self, colours: Mapping[str, str]) -> None:
        self.colours = colours
        self.setBackgroundBrush(QBrush(QColor(colours["base"])))
        for item in self.items_by_key.values():
            item.update()
        self._scene.update()
        if self.picture is not None:
            self.minimap.render_scene()
        self.minimap.update()

    def clear(self) -> None:
        self._scene.clear()
        self.items_by_key = {}
        self.edge_items = []
        self.label_items = []
        self.picture = None
        self.minimap.scene_rect = QRectF()
        self.minimap.hide()

    def set_picture(
        self, picture: Picture, *, fit: bool = True, focus: int | str | None = None
    ) -> None:
        """Draw ``picture`` (replacing what was there); fit it, or keep ``focus`` in view."""
        selected = [i.node.key for i in self._scene.selectedItems() if isinstance(i, NodeItem)]
        self.clear()
        self.picture = picture
        scene = self._scene
        for node in picture.nodes:
            item = NodeItem(node, self)
            scene.addItem(item)
            self.items_by_key[node.key] = item
        for edge in picture.edges:
            item_e = EdgeItem(edge, self)
            scene.addItem(item_e)
            self.edge_items.append(item_e)
            for key in (edge.upper, edge.lower):
                if key in self.items_by_key:
                    self.items_by_key[key].edges.append(item_e)
        for text in edge_labels(picture):
            label = LabelItem(text, self)
            scene.addItem(label)
            self.label_items.append(label)
        scene.setSceneRect(
            QRectF(-MARGIN, -MARGIN, picture.width + 2 * MARGIN, picture.height + 2 * MARGIN)
        )
        for key in selected:
            if key in self.items_by_key:
                self.items_by_key[key].setSelected(True)
        self.minimap.render_scene()
        if fit:
            self._fit_pending = not self.isVisible()
            self.fit(readable=True)
        elif focus is not None and focus in self.items_by_key:
            self.centerOn(self.items_by_key[focus])
        self.update_minimap()

    # -- the mini-map -----------------------------------------------------------------
    def update_minimap(self) -> None:
        """Show the mini-map in the bottom-right corner while part of the drawing is
        out of view; hide it when everything is in view (small graphs)."""
        rect = self._scene.sceneRect()
        if self.picture is None or rect.isEmpty():
            self.minimap.hide()
            return
        shown = self.mapToScene(self.viewport().rect()).boundingRect()
        if shown.width() >= MINIMAP_AFTER * rect.width() and (
            shown.height() >= MINIMAP_AFTER * rect.height()
        ):
            self.minimap.hide()  # (almost) all of it is in view: a scroll shows the rest
            return
        port = self.viewport().geometry()
        self.minimap.move(
            port.right() - self.minimap.width() - 10, port.bottom() - self.minimap.height() - 10
        )
        self.minimap.show()
        self.minimap.raise_()
        self.minimap.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.update_minimap()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter on the selected box does what a double-click does (open an aggregate
        or a group, centre on a CI)."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            chosen = [i for i in self._scene.selectedItems() if isinstance(i, NodeItem)]
            if chosen:
                self.nodeDoubleClicked.emit(chosen[0].node.key)
                event.accept()
                return
        super().keyPressEvent(event)

    def node_item(self, key: int | str) -> NodeItem | None:
        return self.items_by_key.get(key)

    def select(self, key: int | str) -> bool:
        item = self.items_by_key.get(key)
        if item is None:
            return False
        self._scene.clearSelection()
        item.setSelected(True)
        self.ensureVisible(item, 40, 40)
        return True

    # -- zoom ----------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        current = self.zoom()
        target = min(max(current * factor, MIN_ZOOM), MAX_ZOOM)
        if current > 0:
            self.scale(target / current, target / current)
        self.update_minimap()

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def fit(self, *, readable: bool = True) -> None:
        """See :meth:`_fit`; then the mini-map shows or hides."""
        self._fit(readable=readable)
        self.update_minimap()

    def _fit(self, *, readable: bool = True) -> None:
        """Show the whole picture (never blowing small ones up past 100 %). With
        ``readable`` (the default, and what Fit does: issue 15), never below
        :data:`READABLE_ZOOM` either: then the centre box (or the top of the
        drawing) is shown and the rest is a scroll away; zooming out with the
        wheel or the buttons still goes down to :data:`MIN_ZOOM`."""
        rect = self._scene.sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        floor = READABLE_ZOOM if readable else MIN_ZOOM
        if self.zoom() > 1.0:
            self.resetTransform()
        elif self.zoom() < floor:
            self.resetTransform()
            self.scale(floor, floor)
            # the graph's focus CI is centred; an impact picture (no focus) opens on
            # its top row, the services, not on the change set below (issue 15)
            centre = next((i for i in self.items_by_key.values() if i.node.centre), None)
            if centre is not None:
                self.centerOn(centre)
            else:
                self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / 2 / floor)
            return
        self.centerOn(rect.center())

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(ZOOM_STEP ** (delta / 120))
            event.accept()
            return
        super().wheelEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._fit_pending:  # fitted while hidden: the viewport had no real size yet
            self._fit_pending = False
            self.fit(readable=True)
