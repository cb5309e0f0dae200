"""The navigator panel: classes with live counts, saved filters, problems.

Choosing an entry only emits a signal; the main window decides what the table
shows. Counts are loaded in the worker (one grouped query for classes, the
health checks for problems) and refreshed after changes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.browse import ClassCounts
from cmdb_desktop.metamodel import Metamodel
from ui.models.navigator import KIND_ROLE, PAYLOAD_ROLE, NavigatorModel
from ui.theme import icon


class NavigatorView(QWidget):
    """``classChosen(class_id)``, ``filterChosen(name, data)``,
    ``problemChosen(key, title)``, ``deleteFilterRequested(name)``,
    ``saveFilterRequested()``, ``problemsWanted()`` (the Problems heading was
    clicked: count them now)."""

    classChosen = Signal(object)
    filterChosen = Signal(str, object)
    problemChosen = Signal(str, str)
    deleteFilterRequested = Signal(str)
    saveFilterRequested = Signal()
    problemsWanted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("navigator")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.model = NavigatorModel(self)
        self.tree = QTreeView(self)
        self.tree.setObjectName("navigatorTree")
        self.tree.setFrameShape(QFrame.Shape.NoFrame)
        self.tree.setModel(self.model)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.clicked.connect(self._chosen)
        self.tree.activated.connect(self._chosen)
        layout.addWidget(self.tree, 1)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        self.save_button = QToolButton(self)
        self.save_button.setIcon(icon("star"))
        self.save_button.setText("Save filter…")
        self.save_button.setToolTip("Save what the table shows now as a named filter")
        self.save_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.save_button.setAutoRaise(True)
        self.save_button.clicked.connect(self.saveFilterRequested)
        bar.addWidget(self.save_button)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.model.set_problem_checks()
        self._expand_sections()

    def _expand_sections(self) -> None:
        for row in range(self.model.rowCount()):
            self.tree.expand(self.model.index(row, 0))

    def set_meta(self, meta: Metamodel | None) -> None:
        self.model.set_classes(meta)
        self._expand_sections()
        classes = self.model.section("Classes")
        if classes.rowCount():
            root = classes.child(0).index()
            self.tree.expand(root)

    def set_counts(self, counts: ClassCounts) -> None:
        self.model.set_counts(counts)

    def set_filters(self, filters: list[tuple[str, dict[str, Any]]]) -> None:
        self.model.set_filters(filters)
        self._expand_sections()

    def set_problem_count(self, key: str, n: int) -> None:
        self.model.set_problem_count(key, n)

    def select_class(self, class_id: int | None) -> None:
        item = self.model.class_item(class_id) if class_id is not None else None
        if item is None:
            self.tree.clearSelection()
            return
        self.tree.setCurrentIndex(item.index())

    def _chosen(self, index: QModelIndex) -> None:
        index = index.siblingAtColumn(0)
        kind = index.data(KIND_ROLE)
        payload = index.data(PAYLOAD_ROLE)
        if kind == "class":
            info_is_root = index.parent().data(KIND_ROLE) == "section"
            self.classChosen.emit(None if info_is_root else payload)
        elif kind == "filter":
            name, data = payload
            self.filterChosen.emit(name, data)
        elif kind == "problem":
            self.problemChosen.emit(payload, index.data())
        elif kind == "section" and index.data() == "PROBLEMS":
            self.problemsWanted.emit()

    def _context_menu(self, pos: QPoint) -> None:
        index = self.tree.indexAt(pos).siblingAtColumn(0)
        if index.data(KIND_ROLE) != "filter":
            return
        name = index.data(PAYLOAD_ROLE)[0]
        menu = QMenu(self)
        menu.addAction(
            icon("delete"),
            f"Delete saved filter “{name}”",
            lambda: self.deleteFilterRequested.emit(name),
        )
        menu.popup(self.tree.viewport().mapToGlobal(pos))
