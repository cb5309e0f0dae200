"""Painting a :class:`~ui.dependency_picture.Picture` with a QPainter.

One set of drawing functions serves the screen (the graph view's items call
:func:`paint_node` / :func:`paint_edge`) and the exports (PNG, SVG, the
change-board PDF draw the whole picture with :func:`paint_picture`). They
use only QPainter, QImage, QSvgRenderer, QSvgGenerator and QPdfWriter, which
Qt allows off the GUI thread, so exports run in the worker. Colours come in
as a plain dict (the theme's palette, :data:`ui.theme.LIGHT` / ``DARK``).

Reading a drawing: boxes are CIs (class icon, name, class and status),
dashed boxes are groups of hidden siblings; a line runs from a CI down to
what it depends on, labelled the way the relationship reads from the upper
end; impact flows up. Red boxes are down, amber ones degraded, violet ones
the change set; a thick accent line is a focused impact path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)
from PySide6.QtSvg import QSvgGenerator, QSvgRenderer

import resources
from cmdb_desktop.catalogue import INACTIVE_STATUSES
from cmdb_desktop.errors import BadFileError
from ui.dependency_picture import (
    CHANGED,
    DEGRADED,
    DOWN,
    EdgeLabel,
    Picture,
    PictureEdge,
    PictureNode,
    edge_labels,
)

Colours = Mapping[str, str]

#: (border, fill on a light background, fill on a dark one) per state.
STATE_STYLE = {
    DOWN: ("#d1242f", "#fdebec", "#4b1f23"),
    DEGRADED: ("#d4870f", "#fff4dd", "#47361a"),
    CHANGED: ("#7b4fe0", "#f0eafe", "#302552"),
}
STATE_TEXT = {DOWN: "DOWN", DEGRADED: "DEGRADED", CHANGED: "CHANGED"}
#: Margin around an exported picture (scene units).
MARGIN = 30.0
#: Largest side of an exported PNG (pixels); bigger pictures are scaled down.
MAX_PNG_SIDE = 16000


def is_dark(c: Colours) -> bool:
    return QColor(c["base"]).lightness() < 128


class IconRenderers:
    """Class icons as SVG renderers (one per icon name), for one thread's painting."""

    def __init__(self) -> None:
        self._cache: dict[str, QSvgRenderer] = {}

    def get(self, name: str) -> QSvgRenderer:
        found = self._cache.get(name)
        if found is None:
            file = resources.path("icons", "classes", f"{name or 'ci'}.svg")
            if not file.exists():
                file = resources.path("icons", "classes", "ci.svg")
            svg = file.read_text(encoding="utf-8").replace("currentColor", "#ffffff")
            found = self._cache[name] = QSvgRenderer(QByteArray(svg.encode("utf-8")))
        return found


def make_font(size: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


#: Point sizes in scene units. The graph view opens at no less than
#: ``graph_canvas.READABLE_ZOOM`` (0.8), where these read as 8.4 and 7.6 points
#: (the table's text is 9): not the 6-point squint of a shrunk drawing.
NAME_FONT = 10.5
SMALL_FONT = 9.5
BADGE_FONT = 8.0
#: Widest edge label (scene units); longer ones are elided, whole in the tooltip.
LABEL_WIDTH = 260.0


def node_rect(node: PictureNode) -> QRectF:
    return QRectF(node.x - node.width / 2, node.y - node.height / 2, node.width, node.height)


def paint_node(
    p: QPainter,
    node: PictureNode,
    rect: QRectF,
    c: Colours,
    icons: IconRenderers,
    *,
    selected: bool = False,
    hover: bool = False,
) -> None:
    """One box (a CI or a group) inside ``rect``."""
    dark = is_dark(c)
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    fill = QColor(c["base"])
    border = QColor(c["border"])
    width = 1.2
    style = Qt.PenStyle.SolidLine
    text = QColor(c["text"])
    bundle = node.group is not None or node.aggregate is not None
    if bundle:
        fill = QColor(c["alt"])
        style = Qt.PenStyle.DashLine
        border = QColor(c["muted"])
    if node.state in STATE_STYLE:
        b, light, deep = STATE_STYLE[node.state]
        border, fill, width = QColor(b), QColor(deep if dark else light), 2.0
    if node.status in INACTIVE_STATUSES:
        style = Qt.PenStyle.DashLine
        text = QColor(c["muted"])
    if node.on_path or node.centre:
        border, width = QColor(c["accent"]), 2.6
    if hover:
        fill = fill.darker(104) if not dark else fill.lighter(115)
    if selected:
        border, width = QColor(c["accent"]), 3.0
    pen = QPen(border, width, style)
    p.setPen(pen)
    p.setBrush(QBrush(fill))
    inner = rect.adjusted(width / 2, width / 2, -width / 2, -width / 2)
    if node.aggregate is not None:  # a stack of boxes: one card peeking out behind
        p.drawRoundedRect(inner.translated(4, -4), 8, 8)
    p.drawRoundedRect(inner, 8, 8)

    icon_size = 24.0 if not bundle else 22.0
    icon_rect = QRectF(rect.left() + 9, rect.center().y() - icon_size / 2, icon_size, icon_size)
    if bundle:
        p.setOpacity(0.55)
    icons.get(node.icon).render(p, icon_rect)
    p.setOpacity(1.0)
    left = icon_rect.right() + 8
    avail = rect.right() - left - 8
    if bundle:
        p.setPen(QColor(c["text"]))
        p.setFont(make_font(NAME_FONT, True))
        fm = QFontMetricsF(p.font())
        p.drawText(
            QRectF(left, rect.top(), avail, rect.height() / 2 + 2),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
            fm.elidedText(node.label, Qt.TextElideMode.ElideRight, avail),
        )
        p.setPen(QColor(c["muted"]))
        p.setFont(make_font(SMALL_FONT))
        fm = QFontMetricsF(p.font())
        hint = (
            "double-click to show them"
            if node.aggregate is None
            else f"layer {node.aggregate.layer + 1} · double-click"
        )
        p.drawText(
            QRectF(left, rect.center().y() + 3, avail, rect.height() / 2 - 3),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            fm.elidedText(hint, Qt.TextElideMode.ElideRight, avail),
        )
        p.restore()
        return
    badge = STATE_TEXT.get(node.state or "")
    name_avail = avail
    if badge:
        p.setFont(make_font(BADGE_FONT, True))
        bw = QFontMetricsF(p.font()).horizontalAdvance(badge) + 10
        badge_rect = QRectF(rect.right() - bw - 6, rect.top() + 4, bw, 15)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(STATE_STYLE[node.state or ""][0]))
        p.drawRoundedRect(badge_rect, 6, 6)
        p.setPen(QColor("#ffffff"))
        p.drawText(badge_rect, Qt.AlignmentFlag.AlignCenter, badge)
        name_avail = avail - bw - 4
    p.setPen(text)
    p.setFont(make_font(NAME_FONT, True))
    fm = QFontMetricsF(p.font())
    p.drawText(
        QRectF(left, rect.top() + 2, max(name_avail, 10), rect.height() / 2),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
        fm.elidedText(node.label, Qt.TextElideMode.ElideRight, max(name_avail, 10)),
    )
    p.setPen(QColor(c["muted"]))
    p.setFont(make_font(SMALL_FONT))
    sub = node.class_name + (f" · {node.status}" if node.status else "")
    fm = QFontMetricsF(p.font())
    p.drawText(
        QRectF(left, rect.center().y() + 2, avail, rect.height() / 2 - 3),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
        fm.elidedText(sub, Qt.TextElideMode.ElideRight, avail),
    )
    p.restore()


def edge_path(points: list[tuple[float, float]], spline: bool = False) -> QPainterPath:
    """Smooth vertical S-curves through the route's points, or (``spline``) the
    Bézier segments Graphviz dot drew."""
    path = QPainterPath(QPointF(*points[0]))
    if spline:
        for i in range(1, len(points) - 2, 3):
            path.cubicTo(QPointF(*points[i]), QPointF(*points[i + 1]), QPointF(*points[i + 2]))
        return path
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        dy = (y1 - y0) / 2
        path.cubicTo(QPointF(x0, y0 + dy), QPointF(x1, y1 - dy), QPointF(x1, y1))
    return path


def edge_pen(edge: PictureEdge, c: Colours, *, hover: bool = False) -> QPen:
    if edge.on_path:
        return QPen(QColor(c["accent"]), 3.0)
    colour = QColor(c["muted"])
    colour.setAlpha(255 if hover else 150)
    # a line standing for many relationships (between aggregates) is thicker
    extra = min(3.0, math.log2(edge.count)) if edge.count > 1 else 0.0
    return QPen(colour, (2.0 if hover else 1.3) + extra)


def paint_edge(p: QPainter, edge: PictureEdge, c: Colours, *, hover: bool = False) -> None:
    """The line and its arrowhead (at the end that is depended on)."""
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = edge_pen(edge, c, hover=hover)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(edge_path(edge.points, edge.spline))
    x, y = edge.points[-1]
    sign = -1.0 if edge.climbs else 1.0  # the arrow points the way the line ends
    size = 7.0 if not edge.on_path else 9.0
    head = QPolygonF(
        [
            QPointF(x, y),
            QPointF(x - size / 2, y - sign * size),
            QPointF(x + size / 2, y - sign * size),
        ]
    )
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(pen.color())
    p.drawPolygon(head)
    p.restore()


def label_text(label: EdgeLabel, font: QFont) -> str:
    """The label as drawn: elided to :data:`LABEL_WIDTH` (the tooltip gives it whole)."""
    return QFontMetricsF(font).elidedText(label.text, Qt.TextElideMode.ElideRight, LABEL_WIDTH)


def label_rect(label: EdgeLabel, font: QFont) -> QRectF:
    """Where a label goes: just above the box its lines point to (below, for lines
    that climb)."""
    fm = QFontMetricsF(font)
    w = fm.horizontalAdvance(label_text(label, font)) + 12
    h = fm.height() + 3
    offset = -(h + 10) if not label.climbs else 10
    return QRectF(label.x - w / 2, label.y + offset, w, h)


def paint_label(p: QPainter, label: EdgeLabel, c: Colours) -> None:
    if not label.text:
        return
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = make_font(SMALL_FONT)
    p.setFont(font)
    rect = label_rect(label, font)
    p.setPen(Qt.PenStyle.NoPen)
    bg = QColor(c["window"])
    bg.setAlpha(235)
    p.setBrush(bg)
    p.drawRoundedRect(rect, 4, 4)
    p.setPen(QColor(c["accent"]) if label.on_path else QColor(c["muted"]))
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, label_text(label, font))
    p.restore()


def paint_picture(
    p: QPainter,
    picture: Picture,
    c: Colours,
    icons: IconRenderers,
    target: QRectF,
    *,
    max_scale: float = 1.5,
) -> None:
    """The whole picture, scaled to fit (never enlarged past ``max_scale``), centred in
    ``target``."""
    w = picture.width + 2 * MARGIN
    h = picture.height + 2 * MARGIN
    scale = min(target.width() / w, target.height() / h, max_scale) if w and h else 1.0
    p.save()
    p.translate(
        target.left() + (target.width() - w * scale) / 2,
        target.top() + (target.height() - h * scale) / 2,
    )
    p.scale(scale, scale)
    p.translate(MARGIN, MARGIN)
    for edge in picture.edges:
        paint_edge(p, edge, c)
    for label in edge_labels(picture):
        paint_label(p, label, c)
    for node in picture.nodes:
        paint_node(p, node, node_rect(node), c, icons)
    p.restore()


def save_png(picture: Picture, path: str | Path, c: Colours, scale: float = 2.0) -> Path:
    out = Path(path)
    w = picture.width + 2 * MARGIN
    h = picture.height + 2 * MARGIN
    scale = min(scale, MAX_PNG_SIDE / max(w, h, 1.0))
    image = QImage(
        QSize(max(1, int(w * scale)), max(1, int(h * scale))), QImage.Format.Format_ARGB32
    )
    image.fill(QColor(c["base"]))
    painter = QPainter(image)
    paint_picture(
        painter,
        picture,
        c,
        IconRenderers(),
        QRectF(0, 0, image.width(), image.height()),
        max_scale=scale,
    )
    painter.end()
    # PySide6's stubs type the format as bytes, but it takes str (and refuses bytes)
    if not image.save(str(out), "PNG"):  # type: ignore[call-overload]
        raise BadFileError(f"Cannot write {out}: check the folder exists and is writable.")
    return out


def save_svg(picture: Picture, path: str | Path, c: Colours, title: str = "") -> Path:
    out = Path(path)
    w = picture.width + 2 * MARGIN
    h = picture.height + 2 * MARGIN
    generator = QSvgGenerator()
    generator.setFileName(str(out))
    generator.setSize(QSize(int(w), int(h)))
    generator.setViewBox(QRectF(0, 0, w, h))
    generator.setTitle(title or "Dependency graph")
    generator.setDescription("CMDB Desktop dependency graph")
    painter = QPainter()
    if not painter.begin(generator):
        raise BadFileError(f"Cannot write {out}: check the folder exists and is writable.")
    painter.fillRect(QRectF(0, 0, w, h), QColor(c["base"]))
    paint_picture(painter, picture, c, IconRenderers(), QRectF(0, 0, w, h))
    painter.end()
    if not out.exists():
        raise BadFileError(f"Cannot write {out}.")
    return out


def picture_size(picture: Picture) -> QSizeF:
    return QSizeF(picture.width + 2 * MARGIN, picture.height + 2 * MARGIN)
