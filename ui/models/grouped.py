"""A two-level tree of groups and the rows under each (a CI's relationships by
label, the net changes of What Changed by kind): the index arithmetic in one
place, the content in the subclass."""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from ui.models import column_title

Index = QModelIndex | QPersistentModelIndex

#: internalId of a group's row; a row under a group carries that group's position.
GROUP = 0xFFFFFFFF


class GroupedTreeModel(QAbstractItemModel):
    """Subclasses set :attr:`headers`, keep :attr:`rows_under` (the rows under each
    group, in group order) as their content changes, and give ``data``."""

    headers: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows_under: Sequence[Sized] = []

    @staticmethod
    def is_group(index: Index) -> bool:
        return index.isValid() and index.internalId() == GROUP

    @staticmethod
    def group_of(index: Index) -> int:
        """The position of the group a row (not a group) is under."""
        return int(index.internalId())

    # -- Qt model interface --------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, GROUP)
        return self.createIndex(row, column, parent.row())

    # PySide6's stubs give QAbstractItemModel.parent two overloads (QObject.parent()
    # and parent(index)); Python cannot override only the second, which Qt calls.
    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == GROUP:
            return QModelIndex()
        return self.createIndex(int(index.internalId()), 0, GROUP)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self.rows_under)
        if parent.internalId() == GROUP and parent.column() == 0:
            return len(self.rows_under[parent.row()])
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(self.headers, section, orientation, role)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
