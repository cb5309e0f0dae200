"""Small building blocks shared by the part-2 workspaces.

* :class:`ToolStrip`: the bar at the top of a workspace, styled like the
  browser's filter bar (the theme's stylesheet goes on strips and panels,
  never on the big item views, see :class:`ui.theme.Theme`);
* :func:`tool_button`, :func:`make_action`: icon buttons for actions;
* :func:`sortable`: header-click sorting that starts from the model's order;
* :func:`quick_resize`: "size to contents" from the first rows only;
* :func:`opens_cis`: double-clicking a row shows its CI;
* :func:`html`: escape text shown in rich-text labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QTableView,
    QToolButton,
    QWidget,
)

from ui.theme import icon

if TYPE_CHECKING:
    from ui.context import Navigation


class ToolStrip(QFrame):
    """A horizontal bar; ``layout_`` takes the widgets."""

    def __init__(self, parent: QWidget | None = None, *, name: str = "filterBar") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(8, 6, 8, 6)
        self.layout_.setSpacing(6)


def tool_button(parent: QWidget, action: QAction, *, text: bool = False) -> QToolButton:
    button = QToolButton(parent)
    button.setDefaultAction(action)
    button.setAutoRaise(True)
    if text:
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return button


def make_action(
    parent: QWidget, text: str, icon_name: str = "", tip: str = "", shortcut: str | None = None
) -> QAction:
    """An action whose icon follows the theme (``data()`` holds the icon name, which
    the main window uses to re-tint icons when the theme changes)."""
    action = QAction(text, parent)
    if icon_name:
        action.setIcon(icon(icon_name))
        action.setData(icon_name)
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    return action


#: Rows looked at when a column is sized to its contents: every row of a big
#: table would hold the GUI thread (1,000, Qt's default, takes ~0.3 s on 8 columns).
RESIZE_PRECISION = 60


def quick_resize(view: QTableView) -> None:
    """Size columns from the first rows only (see :data:`RESIZE_PRECISION`)."""
    view.horizontalHeader().setResizeContentsPrecision(RESIZE_PRECISION)


def sortable(view: QTableView) -> None:
    """Let the user sort by clicking headers, starting from the model's own order
    (Qt would otherwise sort by the first column at once); columns size quickly."""
    quick_resize(view)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.setSortingEnabled(True)


def rows_table(parent: QWidget, model: QAbstractItemModel, name: str) -> QTableView:
    """A read-only, sortable table of whole rows (findings, scores, lists)."""
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    sortable(view)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def opens_cis(
    view: QAbstractItemView, ci_id: Callable[[int], int | None], navigation: Navigation
) -> None:
    """Double-clicking row ``r`` of ``view`` shows CI ``ci_id(r)`` (rows without one:
    nothing)."""

    def open_row(index: QModelIndex) -> None:
        ci = ci_id(index.row())
        if ci is not None:
            navigation.show_ci(ci)

    view.doubleClicked.connect(open_row)


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
