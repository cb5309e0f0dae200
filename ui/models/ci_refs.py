"""A list of CI references (search results) for pickers and completers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from cmdb_desktop.items import CiRef
from cmdb_desktop.metamodel import Metamodel
from ui import theme

Index = QModelIndex | QPersistentModelIndex

#: Role that returns the CI id of a row.
CI_ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: Role with the text a completer puts in the line edit (the bare name).
COMPLETION_ROLE = Qt.ItemDataRole.EditRole


class CiRefListModel(QAbstractListModel):
    """Rows read ``name — Class (#id)``; the edit role is the bare name."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._refs: list[CiRef] = []
        self._icons: dict[str, str] = {}

    def set_refs(self, refs: list[CiRef], meta: Metamodel | None = None) -> None:
        self.beginResetModel()
        self._refs = list(refs)
        if meta is not None:
            self._icons = {c.name: c.icon for c in meta.classes}
        self.endResetModel()

    def ref(self, row: int) -> CiRef | None:
        return self._refs[row] if 0 <= row < len(self._refs) else None

    @property
    def refs(self) -> list[CiRef]:
        return list(self._refs)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._refs)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not self.checkIndex(index):
            return None
        ref = self._refs[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{ref.name} — {ref.class_name} (#{ref.id})"
        if role == COMPLETION_ROLE:
            return ref.name
        if role == Qt.ItemDataRole.DecorationRole:
            return theme.class_icon(self._icons.get(ref.class_name, ""))
        if role == Qt.ItemDataRole.ToolTipRole:
            return ref.label()
        if role == CI_ID_ROLE:
            return ref.id
        return None
