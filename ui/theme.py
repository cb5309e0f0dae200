"""Light and dark palettes (following the system unless the user picks one),
the stylesheet, and tinted icons from ``resources/``.

The Fusion style draws the same on every platform and honours the palette
fully, so one stylesheet template (``resources/style.qss`` with ``@name@``
placeholders) serves both themes. Action icons are drawn in ``currentColor``
and tinted with the palette's text colour when rendered, so they stay legible
on a dark background; class icons are coloured tiles that work on both.
Dialog buttons (Yes, No, OK, Cancel) carry no stock icons, whatever the
desktop's platform theme asks for (:class:`AppStyle`, issue 15).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QObject, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleHintReturn,
    QStyleOption,
    QWidget,
)

import resources

MODES = ("system", "light", "dark")

LIGHT = {
    "window": "#f4f5f7",
    "base": "#ffffff",
    "alt": "#f7f8fa",
    "text": "#1f2328",
    "muted": "#636c76",
    "accent": "#2d6cdf",
    "accent_text": "#ffffff",
    "button": "#eceef1",
    "border": "#d0d7de",
    "grid": "#e6e9ed",
    "hover": "#e3e6ea",
    "chip": "#e4ecfb",
    "error": "#c62828",
    "warning_bg": "#fff4d6",
    "warning_fg": "#5c4400",
    "link": "#2d6cdf",
}

DARK = {
    "window": "#202329",
    "base": "#17191d",
    "alt": "#1c1f24",
    "text": "#e4e7eb",
    "muted": "#9aa3ad",
    "accent": "#3f7ff0",
    "accent_text": "#ffffff",
    "button": "#2b2f36",
    "border": "#383d45",
    "grid": "#2a2e35",
    "hover": "#30353d",
    "chip": "#27344d",
    "error": "#ff7b72",
    "warning_bg": "#3d3217",
    "warning_fg": "#f2d58a",
    "link": "#79a8ff",
}

#: Status colours for the table's status dot (same in both themes).
STATUS_COLOURS = {
    "Planned": "#8e9aaf",
    "Ordered": "#5b8def",
    "In Stock": "#14a098",
    "In Use": "#2ea043",
    "In Maintenance": "#e3a008",
    "Retired": "#9e6a6a",
    "Disposed": "#6e7681",
}


def system_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def colours(mode: str) -> dict[str, str]:
    dark = mode == "dark" or (mode == "system" and system_is_dark())
    return DARK if dark else LIGHT


def palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: c["window"],
        role.WindowText: c["text"],
        role.Base: c["base"],
        role.AlternateBase: c["alt"],
        role.Text: c["text"],
        role.PlaceholderText: c["muted"],
        role.Button: c["button"],
        role.ButtonText: c["text"],
        role.ToolTipBase: c["base"],
        role.ToolTipText: c["text"],
        role.Highlight: c["accent"],
        role.HighlightedText: c["accent_text"],
        role.Link: c["link"],
        role.BrightText: c["error"],
        role.Mid: c["border"],
        role.Midlight: c["grid"],
        role.Dark: c["border"],
        role.Light: c["base"],
    }
    for r, value in pairs.items():
        p.setColor(r, QColor(value))
    disabled = QColor(c["muted"])
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, disabled)
    return p


def stylesheet(c: dict[str, str]) -> str:
    text = resources.path("style.qss").read_text(encoding="utf-8")
    for key, value in c.items():
        text = text.replace(f"@{key}@", value)
    return text


class AppStyle(QProxyStyle):
    """Fusion, without the stock icons a desktop's platform theme (GNOME, KDE) would put
    on the Yes, No, OK and Cancel buttons of message boxes and dialogs (issue 15)."""

    def __init__(self, base: QStyle | None = None) -> None:
        if base is None:
            super().__init__("Fusion")
        else:
            super().__init__(base)

    def styleHint(
        self,
        hint: QStyle.StyleHint,
        option: QStyleOption | None = None,
        widget: QWidget | None = None,
        returnData: QStyleHintReturn | None = None,
    ) -> int:
        if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
            return 0
        return super().styleHint(hint, option, widget, returnData)


class Theme(QObject):
    """The application's current theme; ``changed`` fires after it is applied.

    The palette is application-wide. The stylesheet is *not*: it goes only on
    the widgets passed to :meth:`style` (toolbars, panels, dialogs) and never
    on the big item views, because a stylesheet anywhere above a table routes
    every cell through Qt's slower stylesheet painting (~3 ms per repaint of
    the CI table). Views take their colours from the palette instead.
    """

    changed = Signal()

    def __init__(self, app: QApplication, mode: str = "system") -> None:
        super().__init__(app)
        self._app = app
        self.mode = mode if mode in MODES else "system"
        self._styled: list[QWidget] = []
        if not isinstance(app.style(), AppStyle):
            app.setStyle(AppStyle())
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_changed)
        self.apply()

    @property
    def colours(self) -> dict[str, str]:
        return colours(self.mode)

    @property
    def dark(self) -> bool:
        return self.colours is DARK

    def set_mode(self, mode: str) -> None:
        self.mode = mode if mode in MODES else "system"
        self.apply()

    def style(self, *widgets: QWidget) -> None:
        """Give these widgets (and their children) the stylesheet, now and on changes."""
        sheet = stylesheet(self.colours)
        for widget in widgets:
            widget.setStyleSheet(sheet)
            self._styled.append(widget)
            widget.destroyed.connect(lambda _o=None, w=widget: self._forget(w))

    def _forget(self, widget: QWidget) -> None:
        self._styled = [w for w in self._styled if w is not widget]

    def apply(self) -> None:
        c = self.colours
        self._app.setPalette(palette(c))
        sheet = stylesheet(c)
        for widget in self._styled:
            widget.setStyleSheet(sheet)
        _tinted.cache_clear()
        self.changed.emit()

    def _system_changed(self, *_: object) -> None:
        if self.mode == "system":
            self.apply()


# -- icons --------------------------------------------------------------------


class SvgIconEngine(QIconEngine):
    """Renders an SVG at exactly the size asked for, when it is asked for.

    Rendering every icon at every size up front cost ~1 ms per icon at start;
    this draws only what is painted and caches the pixmaps.
    """

    def __init__(self, svg: bytes) -> None:
        super().__init__()
        self._svg = svg
        self._renderer = QSvgRenderer(QByteArray(svg))
        self._pixmaps: dict[tuple[int, int, int], QPixmap] = {}

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        # item views paint icons on every repaint: draw a cached pixmap
        scale = painter.device().devicePixelRatioF() if painter.device() else 1.0
        pm = self.scaledPixmap(rect.size(), mode, state, scale)
        painter.drawPixmap(rect, pm)

    def _render(self, size: QSize, mode: QIcon.Mode) -> QPixmap:
        pm = QPixmap(size)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if mode == QIcon.Mode.Disabled:
            painter.setOpacity(0.35)
        self._renderer.render(painter, QRectF(QRect(QPoint(0, 0), size)))
        painter.end()
        return pm

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        key = (size.width(), size.height(), int(mode.value))
        cached = self._pixmaps.get(key)
        if cached is None:
            cached = self._pixmaps[key] = self._render(size, mode)
        return cached

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        pm = QPixmap(
            self.pixmap(
                QSize(round(size.width() * scale), round(size.height() * scale)), mode, state
            )
        )
        pm.setDevicePixelRatio(scale)
        return pm

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        return size

    def clone(self) -> QIconEngine:
        return SvgIconEngine(self._svg)


#: Engines stay referenced here as long as their icons (Qt owns the C++ side).
_engines: list[SvgIconEngine] = []


@cache
def _tinted(kind: str, name: str, colour: str) -> QIcon:
    file = resources.path("icons", kind, f"{name}.svg")
    if not file.exists():
        file = resources.path("icons", "classes", "ci.svg")
    svg = file.read_text(encoding="utf-8").replace("currentColor", colour)
    engine = SvgIconEngine(svg.encode("utf-8"))
    _engines.append(engine)
    return QIcon(engine)


def icon(name: str) -> QIcon:
    """An action icon tinted for the current palette."""
    app = QGuiApplication.instance()
    colour = "#444c56"
    if app is not None:
        colour = QGuiApplication.palette().color(QPalette.ColorRole.Text).name()
    return _tinted("actions", name, colour)


def class_icon(name: str) -> QIcon:
    """The icon of a CI class (``ClassInfo.icon``); unknown names get the generic one."""
    return _tinted("classes", name or "ci", "#ffffff")


def app_icon() -> QIcon:
    return _tinted("", "app", "#ffffff")
