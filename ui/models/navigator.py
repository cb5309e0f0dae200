"""The navigator's tree: the class tree with live counts, saved filters, problems.

A :class:`QStandardItemModel` with two columns (name, count). Every item
carries what choosing it means in ``KIND_ROLE`` (``"class"``, ``"filter"``,
``"problem"`` or ``"section"``) and ``PAYLOAD_ROLE`` (class id, filter
document, problem key).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel

from cmdb_desktop.browse import ClassCounts
from cmdb_desktop.metamodel import ClassInfo, Metamodel
from ui import theme
from ui.jobs import PROBLEM_CHECKS

KIND_ROLE = Qt.ItemDataRole.UserRole + 1
PAYLOAD_ROLE = Qt.ItemDataRole.UserRole + 2

SECTIONS = ("Classes", "Saved filters", "Problems")


def _count_item(n: int | None = None) -> QStandardItem:
    item = QStandardItem("" if n is None else f"{n:,}")
    item.setEditable(False)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class NavigatorModel(QStandardItemModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(["", ""])
        self._sections: dict[str, QStandardItem] = {}
        self._class_rows: dict[int, tuple[QStandardItem, QStandardItem]] = {}
        self._problem_rows: dict[str, QStandardItem] = {}
        for name in SECTIONS:
            item = QStandardItem(name.upper())
            font = QFont()
            font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
            font.setBold(True)
            item.setFont(font)
            item.setData("section", KIND_ROLE)
            item.setEditable(False)
            item.setSelectable(False)
            if name == "Problems":
                item.setToolTip("Click to count the problems now")
            self.appendRow([item, _count_item()])
            self._sections[name] = item

    def section(self, name: str) -> QStandardItem:
        return self._sections[name]

    # -- classes -------------------------------------------------------------
    def set_classes(self, meta: Metamodel | None) -> None:
        root = self._sections["Classes"]
        root.removeRows(0, root.rowCount())
        self._class_rows.clear()
        if meta is None:
            return

        def add(parent: QStandardItem, info: ClassInfo) -> None:
            item = QStandardItem(theme.class_icon(info.icon), info.name)
            item.setEditable(False)
            item.setData("class", KIND_ROLE)
            item.setData(info.id, PAYLOAD_ROLE)
            tip = info.description or info.name
            if info.abstract:
                tip += " (abstract: groups its subclasses)"
            item.setToolTip(tip)
            if info.abstract:
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
            count = _count_item()
            parent.appendRow([item, count])
            self._class_rows[info.id] = (item, count)
            for child in meta.children.get(info.id, []):
                add(item, child)

        add(root, meta.root)

    def set_counts(self, counts: ClassCounts) -> None:
        for class_id, (_item, count) in self._class_rows.items():
            count.setText(f"{counts.total.get(class_id, 0):,}")

    def class_item(self, class_id: int) -> QStandardItem | None:
        row = self._class_rows.get(class_id)
        return row[0] if row else None

    # -- saved filters -------------------------------------------------------
    def set_filters(self, filters: list[tuple[str, dict[str, Any]]]) -> None:
        root = self._sections["Saved filters"]
        root.removeRows(0, root.rowCount())
        for name, data in filters:
            item = QStandardItem(theme.icon("star"), name)
            item.setEditable(False)
            item.setData("filter", KIND_ROLE)
            item.setData((name, data), PAYLOAD_ROLE)
            item.setToolTip(", ".join(f"{k}: {v}" for k, v in data.items()) or "everything")
            root.appendRow([item, _count_item()])

    def filter_names(self) -> list[str]:
        root = self._sections["Saved filters"]
        return [root.child(r).text() for r in range(root.rowCount())]

    # -- problems ------------------------------------------------------------
    def set_problem_checks(self) -> None:
        root = self._sections["Problems"]
        root.removeRows(0, root.rowCount())
        self._problem_rows.clear()
        for check in PROBLEM_CHECKS:
            item = QStandardItem(theme.icon("problem"), check.title)
            item.setEditable(False)
            item.setData("problem", KIND_ROLE)
            item.setData(check.key, PAYLOAD_ROLE)
            count = _count_item()
            root.appendRow([item, count])
            self._problem_rows[check.key] = count

    def set_problem_count(self, key: str, n: int) -> None:
        if key in self._problem_rows:
            self._problem_rows[key].setText(f"{n:,}")

    def refresh_icons(self, meta: Metamodel | None) -> None:
        if meta is None:
            return
        for class_id, (item, _count) in self._class_rows.items():
            info = meta.class_by_id.get(class_id)
            if info is not None:
                item.setIcon(theme.class_icon(info.icon))
