"""A read-only table of plain rows: the findings, previews and lists of part 2.

Each row is a tuple of values shown as text (``values.to_text``); a row may
carry a CI id (``CI_ID_ROLE``) and the model may colour rows or single cells
through callbacks. Sorting compares the raw values (numbers as numbers,
blanks last), so the rows stay plain Python data that jobs produce off the
GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from cmdb_desktop.values import to_text
from ui.models import column_title
from ui.models.ci_refs import CI_ID_ROLE

Index = QModelIndex | QPersistentModelIndex
#: ``colour(row, column)`` → a colour name or None.
CellColour = Callable[[int, int], str | None]


class RowsModel(QAbstractTableModel):
    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self._headers = list(headers)
        self._rows: list[tuple[Any, ...]] = []
        self._ids: list[int | None] = []
        self._order: list[int] = []
        self.background: CellColour | None = None
        self.foreground: CellColour | None = None
        self.bold_column: int | None = None
        self.decoration: Callable[[int, int], Any] | None = None
        self._sorted_by: tuple[int, Qt.SortOrder] | None = None

    def set_rows(
        self, rows: Sequence[tuple[Any, ...]], ids: Sequence[int | None] | None = None
    ) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._ids = list(ids) if ids is not None else [None] * len(self._rows)
        self._order = list(range(len(self._rows)))
        if self._sorted_by is not None:  # new rows keep the order the user chose
            self._order = self._sorted_order(*self._sorted_by)
        self.endResetModel()

    def source_row(self, row: int) -> int:
        """Position in the rows given to :meth:`set_rows` of the shown row ``row``."""
        return self._order[row]

    def row_values(self, row: int) -> tuple[Any, ...]:
        return self._rows[self._order[row]]

    def ci_id(self, row: int) -> int | None:
        return self._ids[self._order[row]] if 0 <= row < len(self._order) else None

    def ids(self) -> list[int]:
        return [i for i in (self._ids[k] for k in self._order) if i is not None]

    # -- Qt ----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(self._headers, section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not self.checkIndex(index):
            return None
        source = self._order[index.row()]
        col = index.column()
        row = self._rows[source]
        value = row[col] if col < len(row) else None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return "" if value is None else to_text(value)
        if role == CI_ID_ROLE:
            return self._ids[source]
        if role == Qt.ItemDataRole.BackgroundRole and self.background is not None:
            colour = self.background(source, col)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.ForegroundRole and self.foreground is not None:
            colour = self.foreground(source, col)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.FontRole and col == self.bold_column:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.DecorationRole and self.decoration is not None:
            return self.decoration(source, col)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._headers):
            return
        self._sorted_by = (column, order)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        before = [(self._order[p.row()], p.column()) for p in persistent]
        self._order = self._sorted_order(column, order)
        where = {k: i for i, k in enumerate(self._order)}
        self.changePersistentIndexList(persistent, [self.index(where[k], c) for k, c in before])
        self.layoutChanged.emit()

    def _sorted_order(self, column: int, order: Qt.SortOrder) -> list[int]:
        """Rows by ``column``: numbers, then text (case-insensitive), blanks last."""

        def key(k: int) -> tuple[int, Any]:
            value = self._rows[k][column] if column < len(self._rows[k]) else None
            if value is None or value == "":
                return (2, "")
            if isinstance(value, bool):
                return (1, str(value))
            if isinstance(value, int | float):
                return (0, value)
            return (1, to_text(value).casefold())

        keys = {k: key(k) for k in range(len(self._rows))}
        reverse = order == Qt.SortOrder.DescendingOrder
        numbers = sorted(
            (k for k in keys if keys[k][0] == 0), key=lambda k: keys[k][1], reverse=reverse
        )
        texts = sorted(
            (k for k in keys if keys[k][0] == 1), key=lambda k: keys[k][1], reverse=reverse
        )
        blanks = [k for k in range(len(self._rows)) if keys[k][0] == 2]
        return numbers + texts + blanks
