"""A CI's history as a table: when, who, where from, what (old → new)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from cmdb_desktop.history import HistoryEntry
from ui.models import column_title

Index = QModelIndex | QPersistentModelIndex

HEADERS = ("When", "Who", "Source", "What")

SOURCE_LABELS = {
    "gui": "Desktop",
    "cli": "Command line",
    "import": "Import",
    "rollback": "Rollback",
    "demo": "Demo data",
    "api": "API",
    "audit": "Audit",
    "undo": "Undo",
}


def source_text(entry: HistoryEntry) -> str:
    text = SOURCE_LABELS.get(entry.source, entry.source)
    if entry.batch_id:
        text += f" · batch {entry.batch_id}"
    if entry.file:
        text += f" · {entry.file}"
        if entry.sheet:
            text += f" / {entry.sheet}"
        if entry.row:
            text += f" row {entry.row}"
    return text


class HistoryModel(QAbstractTableModel):
    """Newest first, as :meth:`HistoryService.for_ci` returns them."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._entries: list[HistoryEntry] = []

    def set_entries(self, entries: list[HistoryEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def clear(self) -> None:
        self.set_entries([])

    def entry(self, row: int) -> HistoryEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(HEADERS, section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not self.checkIndex(index):
            return None
        e = self._entries[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return e.at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
            if col == 1:
                return e.user
            if col == 2:
                return source_text(e)
            return e.describe()
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 3:
                return e.describe()
            if col == 0:
                return f"{e.at.isoformat(sep=' ', timespec='seconds')} UTC"
            if col == 1:
                return e.user
            if col == 2:  # the Source column is narrow beside the dock (issue 15)
                return source_text(e)
        return None
