"""What a user sees cut: visible text that does not fit its widget (issue 15).

:func:`clipped_texts` walks every visible label, button, tab and header
section under a widget and names each text that is wider (or, for labels
that wrap, taller) than the room it has — unless it carries a tooltip, which
is how an elided text gives its full wording.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QHeaderView,
    QLabel,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QTabBar,
    QToolButton,
    QWidget,
)

from ui.views.charts import FindingCard  # noqa: E402

#: Slack for rounding between font metrics and layout (px).
SLACK = 2


def _shown(w: QWidget) -> bool:
    if not w.isVisible() or w.width() <= 0 or w.height() <= 0:
        return False
    # inside a scroll area, off-screen parts are reachable by scrolling: only what
    # lies within the window counts as clipped
    return not w.visibleRegion().isEmpty()


def _where(w: QWidget) -> str:
    names = []
    p: QWidget | None = w
    while p is not None and len(names) < 4:
        names.append(p.objectName() or type(p).__name__)
        p = p.parentWidget()
    return "/".join(reversed(names))


def _without_mnemonic(text: str) -> str:
    """The text as drawn: ``&`` marks a shortcut letter, ``&&`` is an ampersand."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _label(w: QLabel) -> str | None:
    text = w.text()
    if not text or w.textFormat() == Qt.TextFormat.RichText or "<" in text and ">" in text:
        return None
    if w.toolTip() or w.pixmap() is not None and not w.pixmap().isNull():
        return None
    if w.buddy() is not None:  # "&Title" shows "Title": the & marks the shortcut
        text = _without_mnemonic(text)
    fm = w.fontMetrics()
    room = w.contentsRect().adjusted(w.margin(), w.margin(), -w.margin(), -w.margin())
    room.adjust(w.indent() if w.indent() > 0 else 0, 0, 0, 0)
    if w.wordWrap():
        need = fm.boundingRect(room, int(Qt.TextFlag.TextWordWrap), text).height()
        if need > room.height() + SLACK:
            return f"label {text!r} needs {need} px of height, has {room.height()}"
        return None
    widest = max(fm.horizontalAdvance(line) for line in text.splitlines() or [text])
    if widest > room.width() + SLACK:
        return f"label {text!r} needs {widest} px, has {room.width()}"
    return None


def _button(w: QAbstractButton) -> str | None:
    text = _without_mnemonic(w.text())
    if not text or text in w.toolTip():
        return None  # a tooltip excuses a cut text only if it gives the text whole
    if isinstance(w, QToolButton) and w.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly:
        return None
    fm = w.fontMetrics()
    need = fm.horizontalAdvance(text)
    if not w.icon().isNull():
        need += w.iconSize().width() + 4
    if isinstance(w, QCheckBox | QRadioButton):
        opt = QStyleOptionButton()
        opt.initFrom(w)
        ind = w.style().pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, opt, w)
        need += ind + 4
    else:
        need += 8  # the frame's padding at its tightest
    if need > w.width() + SLACK:
        return f"button {text!r} needs {need} px, has {w.width()}"
    return None


def _tabs(w: QTabBar) -> list[str]:
    out = []
    fm = w.fontMetrics()
    for i in range(w.count()):
        text = w.tabText(i).replace("&", "")
        if not text or w.tabToolTip(i):
            continue
        rect = w.tabRect(i)
        need = fm.horizontalAdvance(text) + (0 if w.tabIcon(i).isNull() else w.iconSize().width())
        if need > rect.width() + SLACK:
            out.append(f"tab {text!r} needs {need} px, has {rect.width()}")
    return out


def _header(w: QHeaderView) -> list[str]:
    model = w.model()
    if model is None:
        return []
    out = []
    fm = w.fontMetrics()
    horizontal = w.orientation() == Qt.Orientation.Horizontal
    for section in range(w.count()):
        if w.isSectionHidden(section) or w.sectionSize(section) == 0:
            continue
        text = model.headerData(section, w.orientation(), Qt.ItemDataRole.DisplayRole)
        if not text or not horizontal:
            continue
        tip = model.headerData(section, w.orientation(), Qt.ItemDataRole.ToolTipRole)
        if tip:
            continue
        pos = w.sectionViewportPosition(section)
        if pos >= w.viewport().width():
            continue  # scrolled out of sight: reachable by scrolling
        need = fm.horizontalAdvance(str(text)) + 8
        if w.isSortIndicatorShown() and w.sortIndicatorSection() == section:
            need += 12
        if need > w.sectionSize(section) + SLACK:
            out.append(f"header {text!r} needs {need} px, has {w.sectionSize(section)}")
    return out


def _cells(w: QAbstractItemView) -> list[str]:
    """Visible cells whose text is cut (the delegate elides it) without a tooltip."""
    model = w.model()
    if model is None:
        return []
    out = []
    fm = w.fontMetrics()
    vp = w.viewport().rect()
    seen = 0
    y = vp.top() + 1
    while y < vp.bottom() and seen < 40:
        index = w.indexAt(vp.topLeft().__class__(vp.left() + 1, y))
        if not index.isValid():
            break
        row_rect = w.visualRect(index)
        seen += 1
        try:
            columns = model.columnCount(index.parent())
        except TypeError:  # a list model keeps columnCount private: one column
            columns = 1
        for col in range(columns):
            cell = index.siblingAtColumn(col)
            rect = w.visualRect(cell)
            if rect.isEmpty() or rect.right() > vp.right() or rect.left() < vp.left():
                continue  # partly scrolled out of sight: reachable by scrolling
            text = cell.data(Qt.ItemDataRole.DisplayRole)
            if text is None or text == "" or cell.data(Qt.ItemDataRole.ToolTipRole):
                continue
            text = str(text).splitlines()[0]
            room = min(rect.right(), vp.right()) - rect.left() - 8
            if cell.data(Qt.ItemDataRole.DecorationRole) is not None:
                room -= w.iconSize().width() if w.iconSize().width() > 0 else 16
                room -= 4
            need = fm.horizontalAdvance(text)
            if need > room + SLACK:
                out.append(f"cell {text!r} needs {need} px, has {room}")
        y = row_rect.bottom() + 2
    return out


def _card(w: FindingCard) -> str | None:
    """A health card's title: on at most two lines of the card (it wraps, never cuts)."""
    fm = w.fontMetrics()
    room = QRect(0, 0, w.width() - 24, 1000)
    need = fm.boundingRect(room, int(Qt.TextFlag.TextWordWrap), w.title).height()
    words_fit = all(fm.horizontalAdvance(word) <= room.width() for word in w.title.split())
    if need > 36 + SLACK or not words_fit:
        return f"card {w.title!r} needs {need} px of height in {room.width()} px, has 36"
    return None


def clipped_texts(root: QWidget) -> list[str]:
    """Every text under ``root`` that a user sees cut, as readable lines."""
    problems: list[str] = []
    widgets = [root, *root.findChildren(QWidget)]
    for w in widgets:
        if not _shown(w):
            continue
        found: list[str] = []
        if isinstance(w, FindingCard):
            found = [p for p in [_card(w)] if p]
        elif isinstance(w, QLabel):
            found = [p for p in [_label(w)] if p]
        elif isinstance(w, QAbstractButton):
            found = [p for p in [_button(w)] if p]
        elif isinstance(w, QTabBar):
            found = _tabs(w)
        elif isinstance(w, QHeaderView):
            found = _header(w)
        elif isinstance(w, QAbstractItemView):
            found = _cells(w)
        problems.extend(f"{_where(w)}: {p}" for p in found)
    return problems
