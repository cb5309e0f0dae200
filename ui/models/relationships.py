"""A CI's relationships as a two-level tree: one group per label (``Depends on``,
``Used by``…, as read from this CI), the related CIs below it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from cmdb_desktop.records import RelationshipView
from ui import theme
from ui.models.grouped import GroupedTreeModel, Index

#: Role that returns the RelationshipView of a child row.
RELATIONSHIP_ROLE = Qt.ItemDataRole.UserRole + 1
#: Role that returns the id of the CI at the far end of a child row.
OTHER_ID_ROLE = Qt.ItemDataRole.UserRole + 2

HEADERS = ("Relationship / CI", "Class", "ID")


class RelationshipModel(GroupedTreeModel):
    """Groups sorted by label (outgoing first), children by name."""

    headers = HEADERS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._groups: list[tuple[str, str, list[RelationshipView]]] = []
        self._class_icons: dict[str, str] = {}

    def set_relationships(
        self, views: list[RelationshipView], class_icons: dict[str, str] | None = None
    ) -> None:
        """``class_icons`` maps class names to icon names (``ClassInfo.icon``)."""
        self.beginResetModel()
        groups: dict[tuple[str, str], list[RelationshipView]] = {}
        for v in views:
            groups.setdefault((v.direction, v.label), []).append(v)
        order = sorted(groups, key=lambda k: (k[0] != "outgoing", k[1].casefold()))
        self._groups = [
            (
                direction,
                label,
                sorted(
                    groups[(direction, label)], key=lambda v: (v.other.name.casefold(), v.other.id)
                ),
            )
            for direction, label in order
        ]
        self.rows_under = [children for _, _, children in self._groups]
        self._class_icons = dict(class_icons or {})
        self.endResetModel()

    def clear(self) -> None:
        self.set_relationships([])

    @property
    def total(self) -> int:
        return sum(len(children) for _, _, children in self._groups)

    def view_at(self, index: Index) -> RelationshipView | None:
        if not index.isValid() or self.is_group(index):
            return None
        return self._groups[self.group_of(index)][2][index.row()]

    # -- Qt model interface --------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not self.checkIndex(index):
            return None
        col = index.column()
        if self.is_group(index):
            direction, label, children = self._groups[index.row()]
            if role == Qt.ItemDataRole.DisplayRole and col == 0:
                return f"{label} ({len(children)})"
            if role == Qt.ItemDataRole.ToolTipRole and col == 0:
                way = "from this CI" if direction == "outgoing" else "towards this CI"
                return f"{label}: {len(children)} relationship(s) {way}"
            return None
        view = self._groups[self.group_of(index)][2][index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (view.other.name, view.other.class_name, str(view.other.id))[col]
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return theme.class_icon(self._class_icons.get(view.other.class_name, ""))
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{view.label} {view.other.class_name}/{view.other.name} (#{view.other.id})"
        if role == RELATIONSHIP_ROLE:
            return view
        if role == OTHER_ID_ROLE:
            return view.other.id
        return None
