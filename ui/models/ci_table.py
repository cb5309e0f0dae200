"""The CI table's model: the ids of the current result in order, plus a small row cache.

Invariants:

* ``rowCount()`` is the result's size as soon as it is counted (before that,
  the length of the first page); rows whose id has not arrived yet show a
  placeholder and are filled in when it does (``put_ids``).
* Row values are fetched for a block of ids around the first one asked for
  (a primary-key lookup of ``BLOCK`` ids, ~1 ms), kept in an LRU cache of
  ``CACHE_ROWS`` rows, and dropped when the CI changes (``invalidate``).
  Nothing else touches the database on the GUI thread.
* Sorting and filtering never happen here: ``sort()`` only asks the owner
  (``sortRequested``) to run a new query in the worker.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap

from cmdb_desktop.browse import Column
from cmdb_desktop.catalogue import INACTIVE_STATUSES
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.values import to_text
from ui import theme

Index = QModelIndex | QPersistentModelIndex

#: Ids fetched per cache miss (about two screenfuls).
BLOCK = 64
#: Rows kept in the cache.
CACHE_ROWS = 8192
#: Role that returns the CI id of a row.
CI_ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: Role that returns the raw (typed) value of a cell.
VALUE_ROLE = Qt.ItemDataRole.UserRole + 2

_NUMERIC = frozenset({"integer", "decimal", "id"})
_DECORATED = frozenset({"class", "status"})
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_DECORATION = int(Qt.ItemDataRole.DecorationRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
#: Roles a view asks for that this model never answers.
_UNUSED_ROLES = frozenset(
    int(r.value)
    for r in (
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.CheckStateRole,
        Qt.ItemDataRole.SizeHintRole,
        Qt.ItemDataRole.StatusTipRole,
        Qt.ItemDataRole.WhatsThisRole,
        Qt.ItemDataRole.EditRole,
        Qt.ItemDataRole.AccessibleTextRole,
        Qt.ItemDataRole.AccessibleDescriptionRole,
    )
)


class CachedRow:
    """One fetched row: typed values, display texts, icons, and whether it is dimmed."""

    __slots__ = ("values", "texts", "icons", "muted")

    def __init__(
        self,
        values: tuple[Any, ...],
        texts: tuple[str, ...],
        icons: tuple[Any, ...] | None,
        muted: bool,
    ) -> None:
        self.values = values
        self.texts = texts
        self.icons = icons
        self.muted = muted


def format_value(column: Column, value: Any) -> str:
    """How a cell reads: timestamps in local time to the minute, the rest as ``to_text``."""
    if value is None:
        return ""
    if column.type == "timestamp" and isinstance(value, datetime):
        local = value.replace(tzinfo=UTC).astimezone()
        return local.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if column.type == "decimal" and isinstance(value, float):
        return f"{value:,.2f}" if column.key == "cost" else to_text(value)
    return to_text(value)


_dots: dict[str, QIcon] = {}


def status_dot(status: str) -> QIcon:
    """A small coloured dot for a lifecycle status."""
    if status not in _dots:
        pm = QPixmap(24, 24)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.STATUS_COLOURS.get(status, "#8e9aaf")))
        painter.drawEllipse(6, 6, 12, 12)
        painter.end()
        _dots[status] = QIcon(pm)
    return _dots[status]


class CiTableModel(QAbstractTableModel):
    """Rows are CIs of the current result, columns are :class:`Column` s."""

    sortRequested = Signal(str, bool)
    countChanged = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._cmdb: Cmdb | None = None
        self._columns: list[Column] = []
        self._ids: array[int] = array("q")
        self._total: int | None = None
        self._complete = False
        # id -> row; insertion order = age (a screenful is fetched together,
        # the oldest screenfuls go first)
        self._cache: OrderedDict[int, CachedRow] = OrderedDict()
        #: rows handed over with the first page, made into CachedRows when shown
        self._raw: dict[int, tuple[Any, ...]] = {}
        self._align: list[int] = []
        #: per column: (column, is a reference, has an icon); see _make_row
        self._plan: list[tuple[Column, bool, bool]] = []
        self._status_col: int | None = None
        #: (lowest, highest) row shown as a placeholder since the result began
        self._waiting = (0, -1)
        self._ref_names: dict[int, str] = {}

    # -- configuration -------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.beginResetModel()
        self._cmdb = cmdb
        self._ids = array("q")
        self._total = None
        self._complete = cmdb is None
        self._forget_rows()
        self._ref_names.clear()
        self.endResetModel()
        self.countChanged.emit()

    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.beginResetModel()
        self._columns = list(columns)
        right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._align = [right if c.type in _NUMERIC else left for c in self._columns]
        self._plan = [
            (
                c,
                c.attribute is not None and c.attribute.type == "reference",
                c.key in _DECORATED,
            )
            for c in self._columns
        ]
        self._status_col = self.column_of("status")
        self._forget_rows()
        self.endResetModel()

    def column_of(self, key: str) -> int | None:
        for n, col in enumerate(self._columns):
            if col.key == key:
                return n
        return None

    # -- feeding results -----------------------------------------------------
    def set_first_page(self, ids: Sequence[int]) -> None:
        """Start a new result with its first page (its size is not known yet)."""
        self.beginResetModel()
        self._ids = array("q", ids)
        self._total = None
        self._complete = False
        self._forget_rows()
        self._waiting = (len(ids), -1)
        self.endResetModel()
        self.countChanged.emit()

    def prefill(self, rows: dict[int, tuple[Any, ...]], keys: Sequence[str]) -> None:
        """Rows the worker fetched with the first page (ignored if the columns changed).

        They are formatted when first shown: the first paint waits only for the
        rows on screen."""
        if list(keys) == [c.key for c in self._columns]:
            self._raw.update(rows)

    def set_result(self, ids: array[int]) -> None:
        """Replace the whole result at once (a refresh after the data changed)."""
        self.beginResetModel()
        self._ids = ids
        self._total = len(ids)
        self._complete = True
        self._forget_rows()
        self.endResetModel()
        self.countChanged.emit()

    def set_total(self, total: int) -> None:
        """The result's size is now known: grow or shrink to it."""
        self._resize(max(total, 0))
        self.countChanged.emit()

    def put_ids(self, offset: int, ids: Sequence[int]) -> None:
        """Ids for rows ``offset …``: they replace placeholders (or the first page)."""
        end = offset + len(ids)
        if end > self.rowCount():
            self._resize(end)
        changed_from = offset
        if len(self._ids) < offset:
            self._ids.extend([0] * (offset - len(self._ids)))
        old = self._ids[offset:end]
        self._ids[offset:end] = array("q", ids)
        if old == self._ids[offset : offset + len(old)]:
            changed_from = offset + len(old)  # the first page came back unchanged
        # Repaint only if a view asked for one of these rows while it was a
        # placeholder (a view repaints its whole viewport for a range).
        lo, hi = self._waiting
        first, last = max(changed_from, lo), min(end - 1, hi)
        if first <= last and self._columns:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self._columns) - 1))

    def finish(self, total: int) -> None:
        """Every id has arrived; the result has exactly ``total`` rows."""
        self._resize(total)
        del self._ids[total:]
        self._complete = True
        self.countChanged.emit()

    def _resize(self, rows: int) -> None:
        current = self.rowCount()
        if rows > current:
            self.beginInsertRows(QModelIndex(), current, rows - 1)
            self._total = rows
            self.endInsertRows()
        elif rows < current:
            self.beginRemoveRows(QModelIndex(), rows, current - 1)
            self._total = rows
            del self._ids[rows:]
            self.endRemoveRows()
        else:
            self._total = rows

    def invalidate(self, ci_ids: Iterable[int] | None = None) -> None:
        """Forget cached rows (of ``ci_ids``, or all) and repaint."""
        if ci_ids is None:
            self._forget_rows()
        else:
            for ci_id in ci_ids:
                self._cache.pop(ci_id, None)
                self._raw.pop(ci_id, None)
        self._ref_names.clear()
        if self.rowCount() and self._columns:
            self.dataChanged.emit(
                self.index(0, 0), self.index(self.rowCount() - 1, len(self._columns) - 1)
            )

    # -- queries -------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """True once every id of the result has arrived."""
        return self._complete

    @property
    def total(self) -> int | None:
        """The result's size, or None while it is being counted."""
        return self._total

    @property
    def ids(self) -> array[int]:
        return self._ids

    def ci_id(self, row: int) -> int | None:
        # invariant: len(self._ids) <= rowCount() (the result shrinks ids too)
        ids = self._ids
        return ids[row] if 0 <= row < len(ids) else None

    def row_of(self, ci_id: int) -> int | None:
        try:
            row = self._ids.index(ci_id)
        except ValueError:
            return None
        return row if row < self.rowCount() else None

    def ids_of_rows(self, ranges: Iterable[tuple[int, int]]) -> list[int]:
        """Ids of the rows in the inclusive ``(top, bottom)`` ranges, in row order."""
        out: list[int] = []
        limit = min(len(self._ids), self.rowCount())
        for top, bottom in sorted(ranges):
            out.extend(self._ids[max(top, 0) : min(bottom + 1, limit)])
        return out

    def values(self, row: int) -> tuple[Any, ...] | None:
        """The typed values of a row (fetched on demand), or None for a placeholder."""
        cached = self._row(row)
        return cached.values if cached is not None else None

    def _row(self, row: int) -> CachedRow | None:
        ci_id = self.ci_id(row)
        if ci_id is None or self._cmdb is None:
            return None
        cached = self._cache.get(ci_id)
        if cached is not None:
            return cached
        raw = self._raw.pop(ci_id, None)
        if raw is not None:
            # the names for every prefilled row at once: one query, not one per row
            self._learn_ref_names([raw, *self._raw.values()])
            self._store((ci_id,), {ci_id: raw})
        else:
            self._fetch_block(row)
        return self._cache.get(ci_id)

    def _forget_rows(self) -> None:
        self._cache.clear()
        self._raw.clear()

    def _fetch_block(self, row: int) -> None:
        from cmdb_desktop import browse

        assert self._cmdb is not None
        start = max(0, row - BLOCK // 4)
        end = min(len(self._ids), self.rowCount(), start + BLOCK)
        wanted = [i for i in self._ids[start:end] if i not in self._cache and i not in self._raw]
        keys = [c.key for c in self._columns]
        got = browse.rows(self._cmdb, wanted, keys)
        self._learn_ref_names(got.values())
        self._store(wanted, got)

    def _learn_ref_names(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Read the names of the CIs that reference columns of ``rows`` point at."""
        refs = [n for n, (_, reference, _) in enumerate(self._plan) if reference]
        if not refs or self._cmdb is None:
            return
        ref_ids = {v[n] for v in rows for n in refs if isinstance(v[n], int)}
        missing = [i for i in ref_ids if i not in self._ref_names]
        if missing:
            for ci_id, ref in self._cmdb.items.refs(missing).items():
                self._ref_names[ci_id] = ref.name

    def _store(self, wanted: Iterable[int], got: dict[int, tuple[Any, ...]]) -> None:
        empty = (None,) * len(self._columns)
        for ci_id in wanted:
            # A CI deleted since the query gets an empty row until the next refresh.
            self._cache[ci_id] = self._make_row(got.get(ci_id, empty))
        while len(self._cache) > CACHE_ROWS:
            self._cache.popitem(last=False)

    def _make_row(self, vals: tuple[Any, ...]) -> CachedRow:
        texts = []
        icons: list[Any] = []
        ref_names = self._ref_names
        for (col, reference, decorated), value in zip(self._plan, vals, strict=True):
            if reference and isinstance(value, int):
                texts.append(ref_names.get(value, f"#{value}"))
            else:
                texts.append(format_value(col, value))
            icons.append(self._decoration(col, value) if decorated else None)
        status_col = self._status_col
        muted = status_col is not None and vals[status_col] in INACTIVE_STATUSES
        return CachedRow(vals, tuple(texts), tuple(icons) if any(icons) else None, muted)

    # -- Qt model interface --------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return self._total if self._total is not None else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        col = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.label
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{col.label} ({col.key}) — click to sort"
        if role == Qt.ItemDataRole.TextAlignmentRole and col.type in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The hot path of every paint (each cell asks for ~7 roles): roles we
        # never answer leave first, the rest are tuple lookups in the row cache.
        if role in _UNUSED_ROLES or not index.isValid():
            return None
        colno = index.column()
        if role == _ALIGN:
            return self._align[colno] if colno < len(self._align) else None
        row = index.row()
        if role == CI_ID_ROLE:
            return self.ci_id(row)
        cached = self._row(row)
        if cached is None:
            if role == _DISPLAY:
                lo, hi = self._waiting
                self._waiting = (min(lo, row), max(hi, row))
                return "Loading…" if colno == 0 else None
            return None
        if colno >= len(cached.texts):
            return None
        if role == _DISPLAY:
            return cached.texts[colno]
        if role == _DECORATION:
            return cached.icons[colno] if cached.icons is not None else None
        if role == _FOREGROUND:
            if cached.muted:
                return QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
            return None
        if role == VALUE_ROLE:
            return cached.values[colno]
        if role == _TOOLTIP and self._columns[colno].key == "name":
            class_col = self.column_of("class")
            cls = cached.values[class_col] if class_col is not None else ""
            return f"#{self.ci_id(row)} {cls}/{cached.values[colno]}".replace(" /", " ")
        return None

    def _decoration(self, col: Column, value: Any) -> Any:
        if col.key == "class" and isinstance(value, str) and self._cmdb is not None:
            info = self._cmdb.meta.find_class(value)
            return theme.class_icon(info.icon if info is not None else "")
        if col.key == "status" and isinstance(value, str):
            return status_dot(value)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(self._columns):
            self.sortRequested.emit(
                self._columns[column].key, order == Qt.SortOrder.DescendingOrder
            )
