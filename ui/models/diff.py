"""Net changes between two moments, grouped by kind (the What Changed workspace).

A two-level tree: one top row per group (CIs created, CIs deleted, fields
changed, relationships created, relationships deleted; its title says how many
rows it shows), the changes under it. The rows come ready from the worker
(:class:`ui.jobs_time_travel.Diff`); a text and a class filter narrow them here.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFont

from ui.jobs_time_travel import ChangeRow, Diff
from ui.models.ci_refs import CI_ID_ROLE
from ui.models.grouped import GroupedTreeModel, Index

HEADERS = ("CI", "Class", "Field", "Old", "New")


class DiffModel(GroupedTreeModel):
    headers = HEADERS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.diff: Diff | None = None
        self._titles: list[str] = []
        self._shown: list[list[ChangeRow]] = []
        self._text = ""
        self._class = ""

    # -- content -------------------------------------------------------------------
    def set_diff(self, diff: Diff | None) -> None:
        self.beginResetModel()
        self.diff = diff
        self._refilter()
        self.endResetModel()

    def set_filter(self, text: str = "", class_name: str = "") -> None:
        """Show the changes whose texts contain ``text`` (any case) and that concern
        ``class_name`` (empty: any)."""
        self.beginResetModel()
        self._text = text.strip().casefold()
        self._class = class_name
        self._refilter()
        self.endResetModel()

    def _keep(self, row: ChangeRow) -> bool:
        if self._class and self._class not in row.classes:
            return False
        return not self._text or any(self._text in t.casefold() for t in row.texts())

    def _refilter(self) -> None:
        groups = self.diff.groups if self.diff is not None else ()
        self._titles = [title for title, _rows in groups]
        self._shown = [[r for r in rows if self._keep(r)] for _title, rows in groups]
        self.rows_under = self._shown

    def classes(self) -> list[str]:
        """Every class the changes concern, sorted (the class filter's choices)."""
        found: set[str] = set()
        for _title, rows in self.diff.groups if self.diff is not None else ():
            for r in rows:
                found |= r.classes
        return sorted(found)

    def shown(self) -> list[tuple[str, list[ChangeRow]]]:
        """The groups and the changes they show now."""
        return list(zip(self._titles, self._shown, strict=True))

    def change(self, index: Index) -> ChangeRow | None:
        """The change at ``index`` (None for a group's row)."""
        if not index.isValid() or self.is_group(index):
            return None
        rows = self._shown[self.group_of(index)]
        return rows[index.row()] if 0 <= index.row() < len(rows) else None

    def group_index(self, title: str) -> QModelIndex:
        row = self._titles.index(title)
        return self.index(row, 0)

    # -- Qt ------------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not self.checkIndex(index):
            return None
        if self.is_group(index):
            if index.column() != 0:
                return None
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                return f"{self._titles[index.row()]} ({len(self._shown[index.row()]):,})"
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
            return None
        row = self.change(index)
        if row is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = row.texts()[index.column()]
            if role == Qt.ItemDataRole.ToolTipRole:
                return text or None
            return text
        if role == CI_ID_ROLE:
            return row.ci_id
        return None
