"""The dry run, row by row: what importing each row of one sheet would do.

Rows are the sheet's rows (as the spreadsheet numbers them) with their
outcome; columns: *Row*, *Outcome*, then the file's mapped columns as they are
in the file, then *What changes*. A cell whose field would change is amber
(tooltip: old → new); a cell with an error is red (tooltip: why); new CIs are
green. A status filter (created / updated / unchanged / error) narrows the
rows without re-planning.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from cmdb_desktop.values import to_text
from importers.plan import CREATED, ERROR, UNCHANGED, UPDATED, ImportPlan, RowOutcome

Index = QModelIndex | QPersistentModelIndex

CHANGED_BG = "#ffe8a3"
ERROR_BG = "#f9c5c5"
CREATED_BG = "#cdeccf"
STATUS_TEXT = {CREATED: "new", UPDATED: "updated", UNCHANGED: "unchanged", ERROR: "error"}
STATUS_FG = {CREATED: "#1a7f37", UPDATED: "#9a6700", UNCHANGED: "#636c76", ERROR: "#c62828"}
ROW, OUTCOME = 0, 1


def _shown(value: Any) -> str:
    return "(blank)" if value is None else to_text(value)


class PreviewModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.plan: ImportPlan | None = None
        self.sheet: str | None = None
        self._outcomes: list[RowOutcome] = []
        self._shown: list[RowOutcome] = []
        self._headers: list[str] = []
        self._indices: list[int] = []  # column index in the table's rows
        self._targets: list[str | None] = []
        self._position: dict[int, int] = {}
        self._rows: list[list[Any]] = []
        self.status: str | None = None

    def set_plan(
        self, plan: ImportPlan | None, sheet: str | None, status: str | None = None
    ) -> None:
        self.beginResetModel()
        self.plan, self.sheet, self.status = plan, sheet, status
        self._outcomes, self._headers, self._indices, self._targets = [], [], [], []
        self._rows, self._position = [], {}
        if plan is not None and sheet is not None:
            self._outcomes = [o for o in plan.rows if o.sheet == sheet]
            table = plan.source.table(sheet)
            mapping = plan.mapping.sheet(sheet)
            if table is not None and mapping is not None:
                for cm in mapping.columns:
                    col = table.column(cm.column)
                    if cm.target is not None and col is not None:
                        self._headers.append(col.header)
                        self._indices.append(col.index)
                        self._targets.append(cm.target)
                self._rows = table.rows
                self._position = {n: i for i, n in enumerate(table.row_numbers)}
        self._filter()
        self.endResetModel()

    def set_status(self, status: str | None) -> None:
        self.beginResetModel()
        self.status = status
        self._filter()
        self.endResetModel()

    def _filter(self) -> None:
        if self.status is None:
            self._shown = self._outcomes
        else:
            self._shown = [o for o in self._outcomes if o.status == self.status]

    def outcome(self, row: int) -> RowOutcome | None:
        return self._shown[row] if 0 <= row < len(self._shown) else None

    # -- Qt ----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3 + len(self._headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if section == ROW:
            return "Row"
        if section == OUTCOME:
            return "Outcome"
        if 2 <= section < 2 + len(self._headers):
            return self._headers[section - 2]
        if section == 2 + len(self._headers):
            return "What changes"
        return None

    def _cell(self, outcome: RowOutcome, k: int) -> Any:
        i = self._position.get(outcome.row)
        if i is None:
            return None
        row = self._rows[i]
        index = self._indices[k]
        return row[index] if index < len(row) else None

    def _error_for(self, outcome: RowOutcome, header: str) -> str | None:
        for e in outcome.errors:
            if e.column is not None and e.column.casefold() == header.casefold():
                return e.message
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not self.checkIndex(index):
            return None
        o = self._shown[index.row()]
        c = index.column()
        last = 2 + len(self._headers)
        if role == Qt.ItemDataRole.DisplayRole:
            if c == ROW:
                return o.row
            if c == OUTCOME:
                return STATUS_TEXT.get(o.status, o.status)
            if c == last:
                return o.describe()
            value = self._cell(o, c - 2)
            return "" if value is None or value == "" else to_text(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            if c == last or c == OUTCOME:
                return o.describe() or None
            if c >= 2:
                k = c - 2
                err = self._error_for(o, self._headers[k])
                if err:
                    return err
                target = self._targets[k]
                if target in o.changes:
                    old, new = o.changes[target]
                    return f"{_shown(old)} → {_shown(new)}"
            return None
        if role == Qt.ItemDataRole.BackgroundRole and 2 <= c < last:
            k = c - 2
            if o.errors and self._error_for(o, self._headers[k]):
                return QBrush(QColor(ERROR_BG))
            if o.status == UPDATED and self._targets[k] in o.changes:
                return QBrush(QColor(CHANGED_BG))
            return None
        if role == Qt.ItemDataRole.BackgroundRole and c == OUTCOME:
            if o.status == CREATED:
                return QBrush(QColor(CREATED_BG))
            if o.status == ERROR:
                return QBrush(QColor(ERROR_BG))
            if o.status == UPDATED:
                return QBrush(QColor(CHANGED_BG))
            return None
        if role == Qt.ItemDataRole.ForegroundRole and c == OUTCOME:
            return QBrush(QColor(STATUS_FG.get(o.status, "#1f2328")))
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and 2 <= c < last
            and (
                self._error_for(o, self._headers[c - 2])
                or (o.status == UPDATED and self._targets[c - 2] in o.changes)
            )
        ):
            return QBrush(QColor("#1f2328"))  # legible on the light highlight in dark themes
        return None
