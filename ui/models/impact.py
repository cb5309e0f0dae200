"""The impacted CIs as a table: columns straight from the core's report, filtered
with numpy (a 500,000-row blast radius filters in milliseconds).

Rows are positions into :class:`~ui.jobs_analysis.ImpactTable` (report
order: services by criticality, then everything by distance). Columns:
state, name, class, distance, criticality, path. ``CI_ID_ROLE`` gives the
CI id; the state column is coloured; the path column's tooltip is the whole
explanation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from cmdb_desktop.catalogue import criticality_text
from ui.jobs_analysis import ImpactTable
from ui.models import column_title
from ui.models.ci_refs import CI_ID_ROLE
from ui.picture_paint import STATE_STYLE
from ui.theme import class_icon

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("State", "Name", "Class", "Distance", "Criticality", "Why (impact path)")
#: The headers' tooltips: narrow columns elide their titles, the tooltip says them whole.
HEADER_TIPS = (
    "State: down or degraded",
    "Name",
    "Class",
    "Distance: impact steps from the change set",
    "Criticality: 1 – Mission critical, 2 – High, 3 – Medium, 4 – Low",
    "Why (impact path): the chain of failures from the change set to this CI",
)
STATE, NAME, CLASS, DISTANCE, CRITICALITY, PATH = range(len(COLUMNS))


class ImpactModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.table: ImpactTable | None = None
        self.rows: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._icons: dict[str, str] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def set_table(
        self,
        table: ImpactTable | None,
        rows: npt.NDArray[np.int64] | None = None,
        icons: dict[str, str] | None = None,
    ) -> None:
        self.beginResetModel()
        self.table = table
        if icons is not None:
            self._icons = icons
        if table is None:
            self.rows = np.zeros(0, dtype=np.int64)
        else:
            self.rows = rows if rows is not None else np.arange(len(table), dtype=np.int64)
        self.endResetModel()

    def set_rows(self, rows: npt.NDArray[np.int64]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def position(self, row: int) -> int | None:
        """Report row of the shown row ``row``."""
        return int(self.rows[row]) if 0 <= row < len(self.rows) else None

    def ci_id(self, row: int) -> int | None:
        k = self.position(row)
        return self.table.report.columns.ids[k] if k is not None and self.table else None

    def row_of(self, ci_id: int) -> int | None:
        if self.table is None:
            return None
        ids = self.table.report.columns.ids
        hits = np.nonzero(np.array(ids, dtype=np.int64)[self.rows] == ci_id)[0]
        return int(hits[0]) if hits.size else None

    # -- Qt ----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(len(self.rows))

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return HEADER_TIPS[section] if 0 <= section < len(HEADER_TIPS) else None
        return column_title(COLUMNS, section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not self.checkIndex(index) or self.table is None:
            return None
        k = int(self.rows[index.row()])
        cols = self.table.report.columns
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == STATE:
                return cols.states[k]
            if col == NAME:
                return cols.names[k]
            if col == CLASS:
                return cols.classes[k]
            if col == DISTANCE:
                return cols.distances[k]
            if col == CRITICALITY:
                crit = cols.criticalities[k]
                return "" if crit is None else crit
            if col == PATH:
                return " → ".join(cols.paths[k])
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == PATH:
                return "\n→ ".join(cols.paths[k])
            if col == NAME:
                return f"#{cols.ids[k]} {cols.classes[k]}/{cols.names[k]}"
            if col == CLASS:
                return cols.classes[k]
            if col == CRITICALITY:
                return criticality_text(cols.criticalities[k]) or "No criticality set"
            return None
        if role == CI_ID_ROLE:
            return cols.ids[k]
        if role == Qt.ItemDataRole.ForegroundRole and col == STATE:
            return QBrush(QColor(STATE_STYLE[cols.states[k]][0]))
        if role == Qt.ItemDataRole.FontRole and (
            col == STATE or (col == NAME and cols.services[k])
        ):
            return self._bold
        if role == Qt.ItemDataRole.DecorationRole and col == NAME:
            return class_icon(self._icons.get(cols.classes[k], ""))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (DISTANCE, CRITICALITY):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the shown rows (report order is "Why" ascending: it is the default)."""
        if self.table is None or not 0 <= column < len(COLUMNS):
            return
        cols = self.table.report.columns
        rows = self.rows
        if column == STATE:
            key: Any = (~self.table.down)[rows]
        elif column == DISTANCE:
            key = self.table.distances[rows]
        elif column == CLASS:
            key = self.table.class_codes[rows]
        elif column == CRITICALITY:
            key = np.array(
                [
                    c if c is not None else 99
                    for c in (cols.criticalities[k] for k in rows.tolist())
                ],
                dtype=np.int64,
            )
        elif column == NAME:
            names = [cols.names[k].casefold() for k in rows.tolist()]
            key = np.argsort(np.array(names, dtype=object), kind="stable")
            key = np.argsort(key, kind="stable")
        else:
            key = rows  # report order
        ordered = rows[np.argsort(key, kind="stable")]
        if order == Qt.SortOrder.DescendingOrder:
            ordered = ordered[::-1].copy()
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        before = [(int(self.rows[i.row()]), i.column()) for i in persistent]
        self.rows = ordered
        if persistent:
            where = {int(k): n for n, k in enumerate(ordered.tolist())}
            self.changePersistentIndexList(persistent, [self.index(where[k], c) for k, c in before])
        self.layoutChanged.emit()
