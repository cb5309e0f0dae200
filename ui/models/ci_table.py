"""The CI table's model: the ids of the current result in order, plus a small row cache.

Invariants:

* ``rowCount()`` is the result's size as soon as it is counted (before that,
  the length of the first page); rows whose id has not arrived yet show a
  placeholder and are filled in when it does (``put_ids``).
* The GUI thread never reads the database, not even while painting: a row
  asked for (``data()``) that is not cached shows a placeholder ("…") and its
  block of ids (``BLOCK`` ids around it) is requested from the worker
  (:func:`ui.jobs.table_rows`). Requests made while one is in flight are
  coalesced into the next (the most recently asked rows first, at most
  ``REQUEST_ROWS``); rows arrive with the names their reference columns point
  at, and ``dataChanged`` repaints them. Only the first page's rows come with
  the query itself (``prefill``), so that the first paint needs no round trip.
* A result for another CMDB or other columns (a newer ``set_cmdb`` or
  ``set_columns``) is dropped. A CI that no longer exists shows as a greyed
  "(deleted)" row, a block that could not be read as "(not readable)"
  (``fetchFailed(message)``); neither raises.
* Rows are kept by CI id in an LRU cache of ``CACHE_ROWS`` rows, across
  queries. ``invalidate`` marks rows out of date: they stay on screen until
  their new values arrive (no flicker after every edit).
* Sorting and filtering never happen here: ``sort()`` only asks the owner
  (``sortRequested``) to run a new query in the worker.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap

from cmdb_desktop.attribute_types import REGISTRY
from cmdb_desktop.browse import Column
from cmdb_desktop.catalogue import INACTIVE_STATUSES
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.values import to_text
from ui import jobs, theme
from ui.tasks import TaskRunner

Index = QModelIndex | QPersistentModelIndex

#: Ids fetched per cache miss (about two screenfuls).
BLOCK = 64
#: Most rows one request to the worker reads (the rows asked for last win).
REQUEST_ROWS = 4 * BLOCK
#: What a row shows in its first column while its values are on their way.
PENDING_TEXT = "…"
DELETED_TEXT = "(deleted)"
UNREADABLE_TEXT = "(not readable)"
#: Rows kept in the cache.
CACHE_ROWS = 8192
#: Up to this many ids, :meth:`CiTableModel.rows_of` looks each one up (in C) instead
#: of walking every row in Python.
_FEW_IDS = 8
#: Role that returns the CI id of a row.
CI_ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: Role that returns the raw (typed) value of a cell.
VALUE_ROLE = Qt.ItemDataRole.UserRole + 2

#: Column types shown right-aligned: ids and the numeric attribute types.
_NUMERIC = frozenset({"id", *(name for name, kind in REGISTRY.items() if kind.numeric)})
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
    """One fetched row: typed values, display texts, icons, whether it is dimmed, and
    for a row that could not be read (deleted, or the read failed) why (``note``)."""

    __slots__ = ("values", "texts", "icons", "muted", "note")

    def __init__(
        self,
        values: tuple[Any, ...],
        texts: tuple[str, ...],
        icons: tuple[QIcon | None, ...] | None,
        muted: bool,
        note: str | None = None,
    ) -> None:
        self.values = values
        self.texts = texts
        self.icons = icons
        self.muted = muted
        self.note = note

    @classmethod
    def missing(cls, columns: int, text: str, note: str) -> CachedRow:
        """A greyed row that says why it shows nothing."""
        texts = (text, *([""] * (columns - 1))) if columns else ()
        return cls((None,) * columns, texts, None, True, note)


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
    #: ``(message)``: rows could not be read (they show as not readable).
    fetchFailed = Signal(str)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
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
        #: cached rows whose values are out of date (shown until new ones arrive)
        self._stale: set[int] = set()
        #: ids asked for and not yet sent to the worker, oldest first
        self._wanted: OrderedDict[int, None] = OrderedDict()
        #: ids wanted or being read (not asked for again meanwhile)
        self._requested: set[int] = set()
        self._in_flight = False
        #: bumped when results in flight no longer fit (another CMDB, other columns)
        self._generation = 0
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(0)
        self._flush_timer.timeout.connect(self._flush)

    # -- configuration -------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.beginResetModel()
        self._cmdb = cmdb
        self._ids = array("q")
        self._total = None
        self._complete = cmdb is None
        self._forget_rows()
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
        """Start a new result with its first page (its size is not known yet). Rows
        cached for its CIs stay: they are the same CIs' values."""
        self.beginResetModel()
        self._ids = array("q", ids)
        self._total = None
        self._complete = False
        self._waiting = (len(ids), -1)
        self.endResetModel()
        self.countChanged.emit()

    def prefill(
        self,
        rows: dict[int, tuple[Any, ...]],
        keys: Sequence[str],
        ref_names: dict[int, str] | None = None,
    ) -> None:
        """Rows the worker fetched with the first page, and the names of the CIs their
        reference columns point at (ignored if the columns changed meanwhile).

        They are formatted when first shown: the first paint waits only for the
        rows on screen."""
        if list(keys) == [c.key for c in self._columns]:
            self._raw.update(rows)
            self._ref_names.update(ref_names or {})
            self._stale.difference_update(rows)

    def set_result(self, ids: array[int]) -> None:
        """Replace the whole result at once (a refresh after the data changed; the
        rows that changed were invalidated already)."""
        self.beginResetModel()
        self._ids = ids
        self._total = len(ids)
        self._complete = True
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
        """The values of ``ci_ids`` (or of every row) are out of date: read them again
        as they are shown (the old values stay on screen until then)."""
        if ci_ids is None:
            self._stale.update(self._cache)
            self._raw.clear()
        else:
            for ci_id in ci_ids:
                if ci_id in self._cache:
                    self._stale.add(ci_id)
                self._raw.pop(ci_id, None)
        self._ref_names.clear()
        self._repaint()

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

    def rows_of(
        self, ci_ids: Collection[int], start: int = 0, end: int | None = None
    ) -> dict[int, int]:
        """CI id → row of those of ``ci_ids`` listed in rows ``start`` … ``end - 1``
        (a lookup per id when there are a few, else one pass over the rows)."""
        limit = min(len(self._ids), self.rowCount())
        end = limit if end is None else min(end, limit)
        start = max(start, 0)
        if not ci_ids or start >= end:
            return {}
        ids = self._ids
        if len(ci_ids) <= _FEW_IDS:
            found: dict[int, int] = {}
            for ci_id in ci_ids:
                try:
                    found[ci_id] = ids.index(ci_id, start, end)
                except ValueError:
                    continue
            return found
        wanted = ci_ids if isinstance(ci_ids, (set, frozenset)) else set(ci_ids)
        return {ci_id: row for row, ci_id in enumerate(ids[start:end], start) if ci_id in wanted}

    def ids_differ(self, offset: int, ids: Sequence[int]) -> bool:
        """Whether :meth:`put_ids` would put other CIs in rows that already have ids
        (the result moved between the first page and the stream of ids)."""
        old = self._ids[offset : offset + len(ids)]
        return old != array("q", ids[: len(old)])

    def ids_of_rows(self, ranges: Iterable[tuple[int, int]]) -> list[int]:
        """Ids of the rows in the inclusive ``(top, bottom)`` ranges, in row order."""
        out: list[int] = []
        limit = min(len(self._ids), self.rowCount())
        for top, bottom in sorted(ranges):
            out.extend(self._ids[max(top, 0) : min(bottom + 1, limit)])
        return out

    def values(self, row: int) -> tuple[Any, ...] | None:
        """The typed values of a row, or None while they are on their way (then they
        are asked for)."""
        cached = self._row(row)
        return cached.values if cached is not None else None

    @property
    def fetching(self) -> bool:
        """Rows were asked for and have not arrived yet."""
        return self._in_flight or bool(self._wanted)

    def is_loaded(self, row: int) -> bool:
        """The row shows its CI's current values (or why it cannot)."""
        ci_id = self.ci_id(row)
        if ci_id is None:
            return False
        return ci_id in self._raw or (ci_id in self._cache and ci_id not in self._stale)

    def _row(self, row: int) -> CachedRow | None:
        """The row's cached values; asks the worker for them when they are missing or
        out of date (never reads the database itself)."""
        ci_id = self.ci_id(row)
        if ci_id is None or self._cmdb is None:
            return None
        cached = self._cache.get(ci_id)
        if cached is None:
            raw = self._raw.pop(ci_id, None)
            if raw is not None:
                cached = self._store((ci_id,), {ci_id: raw})
        if (cached is None or ci_id in self._stale) and ci_id not in self._requested:
            self._request(row)
        return cached

    def _forget_rows(self) -> None:
        """Another CMDB or other columns: nothing cached or in flight fits any more."""
        self._cache.clear()
        self._raw.clear()
        self._ref_names.clear()
        self._stale.clear()
        self._wanted.clear()
        self._requested.clear()
        self._generation += 1

    # -- reading rows in the worker -------------------------------------------
    def _request(self, row: int) -> None:
        """Ask for the block of rows around ``row`` (those not cached, or out of date)."""
        start = max(0, row - BLOCK // 4)
        end = min(len(self._ids), self.rowCount(), start + BLOCK)
        for ci_id in self._ids[start:end]:
            if ci_id in self._requested or (ci_id in self._cache and ci_id not in self._stale):
                continue
            self._wanted[ci_id] = None
            self._requested.add(ci_id)
        self._flush_timer.start()

    def _flush(self) -> None:
        """Send what was asked for to the worker, one request at a time: the rows
        asked for last (the ones on screen now), the others are forgotten (a view
        asks again for what it still shows)."""
        if self._in_flight or not self._wanted or self._cmdb is None:
            return
        wanted = list(self._wanted)
        self._wanted.clear()
        ids, dropped = wanted[-REQUEST_ROWS:], wanted[:-REQUEST_ROWS]
        self._requested.difference_update(dropped)
        self._in_flight = True
        generation = self._generation
        self._runner.submit(
            "Reading rows",
            jobs.table_rows,
            self._cmdb,
            ids,
            [c.key for c in self._columns],
            on_done=lambda got: self._arrived(generation, ids, got),
            on_error=lambda exc: self._failed(generation, ids, exc),
            key="table-rows",
            visible=False,
            cancellable=False,  # a few ms of primary-key lookups
        )

    def _arrived(self, generation: int, ids: list[int], got: jobs.TableRows) -> None:
        self._in_flight = False
        if generation == self._generation:
            self._ref_names.update(got.ref_names)
            self._store(ids, got.rows)
            self._settled(ids)
        self._flush()

    def _failed(self, generation: int, ids: list[int], exc: BaseException) -> None:
        self._in_flight = False
        if generation == self._generation:
            note = f"This row could not be read: {exc}"
            row = CachedRow.missing(len(self._columns), UNREADABLE_TEXT, note)
            for ci_id in ids:
                self._cache[ci_id] = row
                self._cache.move_to_end(ci_id)
            self._trim()
            self._settled(ids)
            self.fetchFailed.emit(str(exc))
        self._flush()

    def _settled(self, ids: Iterable[int]) -> None:
        self._requested.difference_update(ids)
        self._stale.difference_update(ids)
        self._repaint()

    def _repaint(self) -> None:
        # A view repaints its whole viewport for any range of more than one cell,
        # so there is no point in working out which rows these are.
        if self.rowCount() and self._columns:
            self.dataChanged.emit(
                self.index(0, 0), self.index(self.rowCount() - 1, len(self._columns) - 1)
            )

    def _store(self, wanted: Iterable[int], got: dict[int, tuple[Any, ...]]) -> CachedRow | None:
        """Cache the rows of ``wanted`` (a CI missing from ``got`` was deleted); returns
        the last one."""
        row: CachedRow | None = None
        deleted: CachedRow | None = None
        for ci_id in wanted:
            values = got.get(ci_id)
            if values is not None:
                row = self._make_row(values)
            else:
                deleted = deleted or CachedRow.missing(
                    len(self._columns), DELETED_TEXT, "This CI was deleted since the list was read."
                )
                row = deleted
            self._cache[ci_id] = row
            self._cache.move_to_end(ci_id)
        self._trim()
        return row

    def _trim(self) -> None:
        while len(self._cache) > CACHE_ROWS:
            ci_id, _row = self._cache.popitem(last=False)
            self._stale.discard(ci_id)

    def _make_row(self, vals: tuple[Any, ...]) -> CachedRow:
        texts = []
        icons: list[QIcon | None] = []
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
            if role != _DISPLAY:
                return None
            if self.ci_id(row) is None:  # its id has not arrived yet (see put_ids)
                lo, hi = self._waiting
                self._waiting = (min(lo, row), max(hi, row))
                return "Loading…" if colno == 0 else None
            return PENDING_TEXT if colno == 0 else None
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
        if role == _TOOLTIP:
            if cached.note is not None:
                return cached.note
            if self._columns[colno].key == "name":
                class_col = self.column_of("class")
                cls = cached.values[class_col] if class_col is not None else ""
                return f"#{self.ci_id(row)} {cls}/{cached.values[colno]}".replace(" /", " ")
            # a column narrowed by the user elides its text: the tooltip gives it whole
            return cached.texts[colno] or None
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
