"""The CI browser: filter bar, the big table, and the queries behind it.

A new filter or sort runs two jobs in the worker: the first page (painted as
soon as it arrives), then the count and every id of the result, streamed in
chunks (rows whose id has not arrived show "Loading…"). A refresh after a
change loads the new ids quietly and swaps them in, keeping the scroll
position. Newer queries cancel older ones.

The selection is a set of CIs, never of row numbers: whenever the rows change
under it (a new result, a refresh, other columns, ids that arrive in another
order) the selected CIs and the current one are re-selected by id as their
rows arrive (:class:`KeptSelection`); what the user selects meanwhile wins.
Every action reads the selected CI ids (:meth:`BrowserView.selected_ids`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QItemSelectionRange,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop import browse
from cmdb_desktop.browse import BrowseFilter, BrowseSort, Column
from cmdb_desktop.catalogue import CRITICALITIES, ENVIRONMENTS, STATUSES
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CancelledError
from cmdb_desktop.metamodel import ClassInfo, Metamodel
from ui import jobs
from ui.models.ci_table import BLOCK, CI_ID_ROLE, CiTableModel
from ui.theme import icon
from ui.views.stable_label import StableLabel

if TYPE_CHECKING:
    from ui.context import AppContext

#: Rows in the first page of a new result.
FIRST_PAGE = 200
#: A first page not painted within this time (a table on screen that was not
#: repainted after all) stops holding back the rest of the result (ms).
PAINT_FALLBACK_MS = 100
#: Above this many rows, copying runs in the worker.
SYNC_COPY_LIMIT = 2000


def choose_columns(meta: Metamodel, info: ClassInfo | None, saved: Any) -> list[str]:
    """The columns a class shows: the saved choice (a list of keys; those the class
    lacks are dropped), else :func:`cmdb_desktop.browse.default_columns`."""
    available = {c.key for c in browse.columns_for(meta, info)}
    keys = [str(k) for k in saved] if isinstance(saved, list) else []
    return [k for k in keys if k in available] or browse.default_columns(meta, info)


def _settings_key(info: ClassInfo | None) -> str:
    """Where the column choice for a class (None: all CIs) is saved."""
    return f"columns/{info.name if info else '*'}"


@dataclass
class KeptSelection:
    """The CIs selected (and the current one) when the table's rows changed under them.

    They are selected again by id as their rows arrive; ``pending`` are those not
    found yet. ``scroll``: bring the current CI into view when it arrives (a new
    result, and nobody scrolled or clicked since). Dropped once the result is
    complete, or as soon as the user selects or moves the current row."""

    current: int | None
    selected: set[int]
    pending: set[int] = field(default_factory=set)
    scroll: bool = False


def _runs(rows: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Sorted row numbers as inclusive (first, last) runs of consecutive rows."""
    start = prev = -2
    for row in rows:
        if row != prev + 1:
            if start >= 0:
                yield start, prev
            start = row
        prev = row
    if start >= 0:
        yield start, prev


class _PaintWatch(QObject):
    """Calls ``painting()`` when the watched widget gets a paint event (before it paints)."""

    def __init__(self, painting: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._painting = painting

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.Paint:
            self._painting()
        return False


class MultiChoiceButton(QToolButton):
    """A filter button with a checkable menu (Status ▾, Environment ▾…)."""

    changed = Signal()

    def __init__(self, title: str, choices: Sequence[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        menu = QMenu(self)
        self.actions_: list[QAction] = []
        for choice in choices:
            action = menu.addAction(str(choice))
            action.setCheckable(True)
            action.setData(choice)
            action.toggled.connect(self._toggled)
            self.actions_.append(action)
        self.setMenu(menu)
        self._refresh_text()

    def selected(self) -> tuple[Any, ...]:
        return tuple(a.data() for a in self.actions_ if a.isChecked())

    def set_selected(self, values: Sequence[Any]) -> None:
        wanted = set(values)
        for a in self.actions_:
            if a.isChecked() != (a.data() in wanted):
                a.blockSignals(True)
                a.setChecked(a.data() in wanted)
                a.blockSignals(False)
        self._refresh_text()

    def _toggled(self, _checked: bool) -> None:
        self._refresh_text()
        self.changed.emit()

    def _refresh_text(self) -> None:
        chosen = self.selected()
        if not chosen:
            text = self._title
        elif len(chosen) == 1:
            text = f"{self._title}: {chosen[0]}"
        else:
            text = f"{self._title}: {len(chosen)}"
        if text != self.text():  # an unchanged text must not re-lay out the bar
            self.setText(text)
            self.setToolTip(
                f"{self._title}: " + (", ".join(str(c) for c in chosen) if chosen else "any")
            )


class BrowserView(QWidget):
    """Signals: ``currentCiChanged(ci_id | None)``, ``activated(ci_id)`` (Enter or
    double-click), ``resultChanged()`` (count or loading state moved),
    ``filterChanged(BrowseFilter)``, ``saveFilterRequested()``.

    The owner shows a CMDB with :meth:`set_cmdb` (with the first page when it was
    read already); changes reach the table through the context's change bridge,
    and it decides itself what to read again."""

    currentCiChanged = Signal(object)
    #: The first page of a new database's first query is on screen (or failed).
    firstResultShown = Signal()
    activated = Signal(int)
    resultChanged = Signal()
    filterChanged = Signal(object)
    selectionChanged = Signal(int)
    message = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("browser")
        self.context = context
        self.runner = context.runner
        self.settings = context.settings
        self.cmdb: Cmdb | None = None
        self.filter = BrowseFilter()
        self.sort = BrowseSort()
        self._generation = 0
        self._loading = False
        #: the selection to put back as rows arrive (see KeptSelection)
        self._kept: KeptSelection | None = None
        #: a new result is arriving: scroll to the current CI (or to the top)
        self._new_result = False
        #: > 0 while the view itself changes the selection (not the user)
        self._ours = 0
        self._refresh_pending = False
        self._owner_completion_loaded = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_filter_bar())

        self.model = CiTableModel(context.runner, self)
        self.model.sortRequested.connect(self._sort_requested)
        self.model.fetchFailed.connect(
            lambda text: self.message.emit(f"Some rows could not be read: {text}")
        )
        self.model.countChanged.connect(self.resultChanged)
        self.table = QTableView(self)
        self.table.setObjectName("ciTable")
        self.table.setFrameShape(QFrame.Shape.NoFrame)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        self.table.setCornerButtonEnabled(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self._header_sort)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self.show_column_menu)
        self.table.doubleClicked.connect(self._activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        # After the view and its selection model have dealt with a reset (connected later).
        self.model.modelAboutToBeReset.connect(self._keep_selection)
        self.model.modelReset.connect(self._reselect)
        self.table.verticalScrollBar().actionTriggered.connect(self._user_scrolled)
        layout.addWidget(self.table, 1)

        open_action = QAction("Open", self.table)
        open_action.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        open_action.triggered.connect(self._open_current)
        self.table.addAction(open_action)
        self.copy_action = QAction(icon("copy"), "&Copy as Text", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_action.triggered.connect(self.copy_selection)
        self.table.addAction(self.copy_action)
        self.export_action = QAction(icon("export"), "&Export Selection…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.export_selection)
        self.table.addAction(self.export_action)
        self.columns_action = QAction(icon("columns"), "Choose &Columns…", self)
        self.columns_action.triggered.connect(
            lambda: self.show_column_menu(self.table.horizontalHeader().rect().bottomLeft())
        )

        #: the generation whose first page waits for its paint (see _first_page)
        self._awaiting_paint: int | None = None
        self._paint_watch = _PaintWatch(self._first_page_painting, self)
        self._paint_fallback = QTimer(self)
        self._paint_fallback.setSingleShot(True)
        self._paint_fallback.setInterval(PAINT_FALLBACK_MS)
        self._paint_fallback.timeout.connect(self._first_page_not_painted)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(250)
        self._refresh_timer.timeout.connect(self.refresh)
        self._set_columns_for_class()
        context.bridge.changed.connect(self._changed)
        context.bridge.external.connect(self._changed_elsewhere)

    # -- filter bar ----------------------------------------------------------
    def _build_filter_bar(self) -> QWidget:
        bar = QFrame(self)
        bar.setObjectName("filterBar")
        self.filter_bar = bar
        row = QHBoxLayout(bar)
        row.setContentsMargins(8, 4, 8, 4)
        row.setSpacing(6)
        # Labels whose text changes while typing get fixed widths: a label that
        # grew would re-lay out the whole window (docks included) per keystroke.
        self.scope_label = StableLabel("M" * 11, bar, padding=24)
        self.scope_label.setText("All CIs")
        self.scope_label.setProperty("role", "chip")
        self.scope_label.setObjectName("scopeLabel")
        row.addWidget(self.scope_label)
        self.status_button = MultiChoiceButton("Status", STATUSES, bar)
        self.environment_button = MultiChoiceButton("Environment", ENVIRONMENTS, bar)
        self.criticality_button = MultiChoiceButton("Criticality", CRITICALITIES, bar)
        for b in (self.status_button, self.environment_button, self.criticality_button):
            b.changed.connect(self._filter_widgets_changed)
            row.addWidget(b)
        self.owner_edit = QLineEdit(bar)
        self.owner_edit.setObjectName("ownerFilter")
        self.owner_edit.setPlaceholderText("Owner contains…")
        self.owner_edit.setClearButtonEnabled(True)
        self.owner_edit.setMaximumWidth(180)
        self.owner_edit.setMinimumWidth(90)
        self._owner_timer = QTimer(self)
        self._owner_timer.setSingleShot(True)
        self._owner_timer.setInterval(300)
        self._owner_timer.timeout.connect(self._filter_widgets_changed)
        self.owner_edit.textEdited.connect(lambda _t: self._owner_timer.start())
        self.owner_edit.textEdited.connect(lambda _t: self._load_owner_completion())
        row.addWidget(self.owner_edit)
        self.clear_button = QToolButton(bar)
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Clear the status, environment, criticality and owner filters")
        self.clear_button.setAutoRaise(True)
        self.clear_button.clicked.connect(self.clear_filters)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        self.count_label = StableLabel(
            "8,888,888 matches …",
            bar,
            alignment=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
        )
        self.count_label.setObjectName("countLabel")
        self.count_label.setProperty("role", "muted")
        row.addWidget(self.count_label)
        return bar

    def _filter_widgets_changed(self) -> None:
        self.set_filter(
            BrowseFilter(
                class_id=self.filter.class_id,
                statuses=tuple(self.status_button.selected()),
                environments=tuple(self.environment_button.selected()),
                criticalities=tuple(int(c) for c in self.criticality_button.selected()),
                owner=self.owner_edit.text().strip(),
                text=self.filter.text,
                ids=self.filter.ids,
            )
        )

    def _sync_filter_widgets(self) -> None:
        self.status_button.set_selected(self.filter.statuses)
        self.environment_button.set_selected(self.filter.environments)
        self.criticality_button.set_selected(self.filter.criticalities)
        if self.owner_edit.text().strip() != self.filter.owner:
            self.owner_edit.setText(self.filter.owner)

    def _load_owner_completion(self) -> None:
        if self._owner_completion_loaded or self.cmdb is None:
            return
        self._owner_completion_loaded = True

        def done(values: list[Any]) -> None:
            completer = QCompleter(sorted(str(v) for v in values), self.owner_edit)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            self.owner_edit.setCompleter(completer)

        self.runner.submit(
            "Loading owners", jobs.distinct_values, self.cmdb, "owner", on_done=done, visible=False
        )

    # -- database ------------------------------------------------------------
    def first_page_request(self) -> tuple[Callable[[Metamodel], list[str]], int, int]:
        """What :func:`ui.jobs.open_for_browsing` needs to read the first page of a
        CMDB being opened, as :meth:`set_cmdb` will show it: how to choose its
        columns (the saved choice for all CIs, copied here on the GUI thread), the
        page size and how many rows to fetch with it."""
        saved = self.settings.value(_settings_key(None))
        keys = [str(k) for k in saved] if isinstance(saved, list) else None
        return partial(choose_columns, info=None, saved=keys), FIRST_PAGE, self._rows_on_screen()

    def set_cmdb(self, cmdb: Cmdb | None, first: jobs.FirstPage | None = None) -> None:
        """Show ``cmdb`` unfiltered; ``first`` is its first page when the opening job
        read it already (see :meth:`first_page_request`), else it is queried."""
        self.runner.cancel("browse")
        self.cmdb = cmdb
        self.filter = BrowseFilter()
        self.sort = BrowseSort()
        self._owner_completion_loaded = False
        # Qt takes nullptr to remove the completer; PySide6's stubs do not say Optional
        self.owner_edit.setCompleter(None)  # type: ignore[arg-type]
        self._sync_filter_widgets()
        self.model.set_cmdb(cmdb)
        self._kept = None  # ids of another CMDB mean nothing here
        self._set_columns_for_class()
        if cmdb is not None and first is not None:
            self._generation += 1
            self._loading = True
            self._first_page(self._generation, first)
        elif cmdb is not None:
            self.run_query()
        self._update_labels()

    # -- filtering and sorting -----------------------------------------------
    def set_filter(self, flt: BrowseFilter) -> None:
        """Show what ``flt`` selects (a new query, first page first)."""
        class_changed = flt.class_id != self.filter.class_id
        self.filter = flt
        self._sync_filter_widgets()
        if class_changed:
            self._set_columns_for_class()
        self.filterChanged.emit(flt)
        self.run_query()

    def set_class(self, class_id: int | None) -> None:
        self.set_filter(
            BrowseFilter(
                class_id=class_id,
                statuses=self.filter.statuses,
                environments=self.filter.environments,
                criticalities=self.filter.criticalities,
                owner=self.filter.owner,
                text=self.filter.text,
            )
        )

    def set_text(self, text: str) -> None:
        """The search box's text (already debounced by the caller)."""
        if text.strip() == self.filter.text.strip():
            return
        f = self.filter
        self.set_filter(
            BrowseFilter(
                f.class_id,
                f.statuses,
                f.environments,
                f.criticalities,
                f.owner,
                text.strip(),
                f.ids,
            )
        )

    def show_filter(self, flt: BrowseFilter, label: str) -> None:
        """Show what ``flt`` selects; ``label`` names an explicit list of CIs (a problem
        list, a batch) in the scope chip (other filters describe themselves)."""
        self.set_filter(flt)
        if flt.ids is not None:
            self._set_scope(label)

    def _set_scope(self, text: str) -> None:
        if text != self.scope_label.text():
            self.scope_label.setText(text)  # elided when painted
            self.scope_label.setToolTip(text)

    def clear_filters(self) -> None:
        self.set_filter(BrowseFilter(class_id=self.filter.class_id, text=self.filter.text))

    def _header_sort(self, section: int, order: Qt.SortOrder) -> None:
        self.model.sort(section, order)

    def _sort_requested(self, key: str, descending: bool) -> None:
        sort = BrowseSort(key, descending)
        if sort != self.sort:
            self.sort = sort
            self.run_query()

    # -- columns -------------------------------------------------------------
    def _class_info(self) -> ClassInfo | None:
        if self.cmdb is None or self.filter.class_id is None:
            return None
        return self.cmdb.meta.class_by_id.get(self.filter.class_id)

    def _settings_key(self) -> str:
        return _settings_key(self._class_info())

    def _set_columns_for_class(self) -> None:
        if self.cmdb is None:
            self.model.set_columns([])
            return
        meta = self.cmdb.meta
        info = self._class_info()
        available = {c.key: c for c in browse.columns_for(meta, info)}
        keys = choose_columns(meta, info, self.settings.value(self._settings_key()))
        self._apply_columns([available[k] for k in keys])

    def _apply_columns(self, columns: list[Column]) -> None:
        self.model.set_columns(columns)
        header = self.table.horizontalHeader()
        widths = {
            "name": 230,
            "class": 130,
            "status": 110,
            "criticality": 95,
            "environment": 115,
            "owner": 140,
            "support_group": 165,
            "updated_at": 130,
            "created_at": 130,
            "id": 70,
            "version": 60,
        }
        # the class column shows an icon and the longest class names whole
        fm = self.table.fontMetrics()
        icon_room = self.table.iconSize().width() if self.table.iconSize().width() > 0 else 16
        classes = self.cmdb.meta.classes if self.cmdb is not None else []
        longest = max((fm.horizontalAdvance(c.name) for c in classes), default=0)
        widths["class"] = max(widths["class"], longest + icon_room + 24)
        for n, col in enumerate(columns):
            header.resizeSection(n, widths.get(col.key, 120))
        sort_col = self.model.column_of(self.sort.key)
        header.blockSignals(True)
        if sort_col is None:
            header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        else:
            order = (
                Qt.SortOrder.DescendingOrder
                if self.sort.descending
                else Qt.SortOrder.AscendingOrder
            )
            header.setSortIndicator(sort_col, order)
        header.blockSignals(False)

    def visible_keys(self) -> list[str]:
        return [c.key for c in self.model.columns]

    def set_visible_keys(self, keys: Sequence[str]) -> None:
        """Show these columns (for this class) and remember the choice."""
        if self.cmdb is None:
            return
        available = {c.key: c for c in browse.columns_for(self.cmdb.meta, self._class_info())}
        chosen = [available[k] for k in keys if k in available]
        if not chosen:
            return
        self.settings.setValue(self._settings_key(), [c.key for c in chosen])
        self._apply_columns(chosen)

    def show_column_menu(self, pos: Any) -> None:
        if self.cmdb is None:
            return
        menu = QMenu(self)
        shown = self.visible_keys()
        for col in browse.columns_for(self.cmdb.meta, self._class_info()):
            action = menu.addAction(col.label)
            action.setCheckable(True)
            action.setChecked(col.key in shown)
            action.setEnabled(col.key != "name")
            action.toggled.connect(partial(self._toggle_column, col.key))
        menu.addSeparator()
        menu.addAction("Reset to defaults", self._reset_columns)
        menu.popup(self.table.horizontalHeader().mapToGlobal(pos))

    def _toggle_column(self, key: str, on: bool) -> None:
        keys = self.visible_keys()
        if on and key not in keys:
            keys.append(key)
        elif not on and key in keys:
            keys.remove(key)
        self.set_visible_keys(keys)

    def _reset_columns(self) -> None:
        self.settings.remove(self._settings_key())
        self._set_columns_for_class()

    # -- queries -------------------------------------------------------------
    def run_query(self) -> None:
        """A new result: the first page, then the count and every id."""
        if self.cmdb is None:
            return
        self._generation += 1
        gen = self._generation
        self.runner.cancel("browse")
        self._loading = True
        self._update_labels()
        self.runner.submit(
            "Searching",
            jobs.first_page,
            self.cmdb,
            self.filter,
            self.sort,
            FIRST_PAGE,
            self.visible_keys(),
            self._rows_on_screen(),
            on_done=partial(self._first_page, gen),
            on_error=partial(self._query_failed, gen),
            key="browse",
            visible=False,
        )

    def refresh(self) -> None:
        """Reload the ids of the same filter after a change, keeping position."""
        if self.cmdb is None:
            return
        if self.runner.busy_with("browse"):
            self._refresh_pending = True
            return
        self._generation += 1
        self._loading = True
        self._update_labels()
        self._submit_ids(self._generation, refresh=True)

    def schedule_refresh(self) -> None:
        self._refresh_timer.start()

    # -- changes -------------------------------------------------------------
    def _changed(self, summary: ChangeSummary) -> None:
        """Our own write: repaint the rows it changed; query again only when the
        result itself may have moved (CIs came or went, or a change touched what
        the table filters or sorts by)."""
        if self.cmdb is None:
            return
        if summary.catalogue_changed:
            self._set_columns_for_class()
        # created and deleted too: an id can come back (undo restores it)
        self.model.invalidate(summary.touched_ci_ids)
        changed_keys = {k for after in summary.after.values() for k in after}
        if (
            summary.created
            or summary.deleted
            or summary.catalogue_changed
            or (
                summary.updated
                and (
                    not self.filter.is_empty
                    or self.sort.key in changed_keys
                    or "class" in changed_keys
                )
            )
        ):
            self.schedule_refresh()

    def _changed_elsewhere(self, catalogue_reloaded: bool) -> None:
        """Another program wrote: anything shown may be out of date."""
        if self.cmdb is None:
            return
        if catalogue_reloaded:
            self._set_columns_for_class()
        self.model.invalidate()
        self.schedule_refresh()

    def _submit_ids(self, gen: int, *, refresh: bool) -> None:
        assert self.cmdb is not None
        buffer: list[Any] = []
        self.runner.submit(
            "Loading CIs",
            jobs.count_and_ids,
            self.cmdb,
            self.filter,
            self.sort,
            on_partial=partial(self._ids_partial, gen, refresh, buffer),
            on_done=partial(self._ids_done, gen, refresh, buffer),
            on_cancelled=partial(self._ids_cancelled, gen),
            on_error=partial(self._query_failed, gen),
            key="browse",
        )

    def _rows_on_screen(self) -> int:
        """How many rows to fetch with the first page: a screenful, at least a block
        (the viewport may not have its final height yet when a CMDB opens)."""
        height = self.table.verticalHeader().defaultSectionSize()
        return max(self.table.viewport().height() // max(height, 1) + 2, BLOCK)

    def _first_page(self, gen: int, page: jobs.FirstPage) -> None:
        if gen != self._generation:
            return
        # The reset keeps the selection by id (_keep_selection, _reselect) and scrolls
        # to the current CI if it is on this page; a new result otherwise opens at the top.
        self._new_result = True
        try:
            with self._selecting():
                self.model.set_first_page(page.ids)
        finally:
            self._new_result = False
        if not self.table.currentIndex().isValid():
            self.table.scrollToTop()
        self.model.prefill(page.rows, page.keys, page.ref_names)
        # Stream the rest (and let the side panels fill) only after this page is
        # painted: the worker's Python work would otherwise compete with the
        # paint for the GIL. A table that is not on screen gets no paint: then
        # it goes ahead at once (or after a while, if it was not noticed).
        if self._awaiting_paint is None:
            self.table.viewport().installEventFilter(self._paint_watch)
        self._awaiting_paint = gen
        self._paint_fallback.start()
        # after the caller is done (opening a CMDB shows the table after this)
        QTimer.singleShot(0, self._unless_on_screen)

    def _first_page_painting(self) -> None:
        """The viewport is painting (a zero timer runs once that is done)."""
        gen = self._awaiting_paint
        self._stop_awaiting_paint()
        if gen is not None:
            QTimer.singleShot(0, partial(self._after_first_page, gen))

    def _unless_on_screen(self) -> None:
        if self._awaiting_paint is not None and not self.table.viewport().isVisible():
            self._first_page_not_painted()

    def _first_page_not_painted(self) -> None:
        gen = self._awaiting_paint
        self._stop_awaiting_paint()
        if gen is not None:
            self._after_first_page(gen)

    def _stop_awaiting_paint(self) -> None:
        if self._awaiting_paint is not None:
            self._awaiting_paint = None
            self._paint_fallback.stop()
            self.table.viewport().removeEventFilter(self._paint_watch)

    def _after_first_page(self, gen: int) -> None:
        if gen == self._generation and self.cmdb is not None:
            self._submit_ids(gen, refresh=False)
            self.firstResultShown.emit()

    def _ids_partial(self, gen: int, refresh: bool, buffer: list[Any], value: Any) -> None:
        if gen != self._generation:
            return
        if refresh:
            buffer.append(value)
            return
        if isinstance(value, int):
            with self._selecting():
                self.model.set_total(value)
            return
        # Rows that had ids get others when the result moved since its first page
        # was read: the selection must follow its CIs, not stay on those rows.
        moved = self.model.ids_differ(value.offset, value.ids)
        if moved:
            self._keep_selection()
        with self._selecting():
            self.model.put_ids(value.offset, value.ids)
            if moved:
                self.table.selectionModel().clear()
        if moved:
            self._reselect()
        else:
            self._reselect(value.offset, value.offset + len(value.ids))

    def _ids_done(self, gen: int, refresh: bool, buffer: list[Any], total: int) -> None:
        if gen != self._generation:
            return
        if refresh:
            from array import array

            ids: array[int] = array("q")
            for value in buffer:
                if not isinstance(value, int):
                    ids.extend(value.ids)
            self._swap_result(ids)
        else:
            with self._selecting():
                self.model.finish(total)
            self._kept = None  # every id is here: what was not found is not listed
        self._loading = False
        self._update_labels()
        if self._refresh_pending:
            self._refresh_pending = False
            self.schedule_refresh()

    def _ids_cancelled(self, gen: int) -> None:
        """The user stopped loading (a newer query cancels silently: other generation)."""
        if gen != self._generation:
            return
        loaded = len(self.model.ids)
        with self._selecting():
            self.model.finish(loaded)
        self._kept = None
        self._loading = False
        self._update_labels()
        self.message.emit(f"Loading stopped: the table lists the first {loaded:,} CIs.")

    def _swap_result(self, ids: Any) -> None:
        scroll = self.table.verticalScrollBar().value()
        with self._selecting():
            self.model.set_result(ids)  # the selection follows its CIs (_reselect)
        self.table.verticalScrollBar().setValue(scroll)

    def _query_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        if isinstance(exc, CancelledError):
            return
        self.firstResultShown.emit()
        self._loading = False
        self._update_labels()
        self.message.emit(f"Search failed: {exc}")

    @property
    def loading(self) -> bool:
        """True while a query or a scheduled refresh has not delivered its result."""
        return self._loading or self._refresh_timer.isActive() or self._refresh_pending

    def _update_labels(self) -> None:
        total = self.model.total
        if self.cmdb is None:
            text = ""
        elif total is None:
            text = "Searching…"
        else:
            what = "match" if self.filter.text else "CI"
            plural = "es" if what == "match" else "s"
            text = f"{total:,} {what}{plural if total != 1 else ''}"
            if self._loading:
                text += " …"
        self.count_label.setText(text)
        if self.filter.ids is None:
            info = self._class_info()
            scope = info.name if info is not None else "All CIs"
            if self.filter.text:
                scope += f" · “{self.filter.text}”"
            self._set_scope(scope)
        self.resultChanged.emit()

    # -- selection -----------------------------------------------------------
    def current_ci(self) -> int | None:
        """The CI of the current row (or, while its row is on its way, the kept one)."""
        index = self.table.currentIndex()
        if index.isValid():
            return self.model.ci_id(index.row())
        kept = self._kept
        return kept.current if kept is not None and kept.current in kept.pending else None

    def selected_ids(self, limit: int | None = None) -> list[int]:
        """Ids of the selected CIs: the selected rows in table order (ranges, never one
        index per row), then those kept selected whose rows have not arrived yet."""
        ranges = sorted({(r.top(), r.bottom()) for r in self._selected_ranges()})
        out = list(dict.fromkeys(self.model.ids_of_rows(ranges)))
        kept = self._kept
        if kept is not None and kept.pending:
            out += sorted(kept.pending & kept.selected)
        return out[:limit] if limit is not None else out

    def _selected_ranges(self) -> list[QItemSelectionRange]:
        selection = self.table.selectionModel().selection()
        return [selection.at(n) for n in range(selection.count())]

    def select_ci(self, ci_id: int) -> bool:
        """Make ``ci_id`` the current, selected row if it is in the result; False if it
        is not (it is selected when its row arrives, if the result is still loading).

        A CI that is the current row already (the user's click or keys made it so)
        keeps the user's selection and scroll position: scrolling under a mouse
        press would make Qt select the row that then lies under the pointer."""
        index = self.table.currentIndex()
        if index.isValid() and self.model.ci_id(index.row()) == ci_id:
            return True
        row = self.model.row_of(ci_id)
        if row is None:
            self._kept = None
            if not self.model.complete or self.loading:
                # select it when the result arrives
                self._kept = KeptSelection(ci_id, {ci_id}, {ci_id}, scroll=True)
            return False
        self._kept = None
        self._select_row(row)
        return True

    def _select_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        with self._selecting():
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    @contextmanager
    def _selecting(self) -> Iterator[None]:
        """Selection changes inside are the view's own, not the user's."""
        self._ours += 1
        try:
            yield
        finally:
            self._ours -= 1

    def _keep_selection(self) -> None:
        """The rows are about to change: remember the selected and current CIs by id
        (with those still kept from an earlier change whose rows have not arrived)."""
        index = self.table.currentIndex()
        current = self.model.ci_id(index.row()) if index.isValid() else None
        ranges = sorted({(r.top(), r.bottom()) for r in self._selected_ranges()})
        selected = set(self.model.ids_of_rows(ranges))
        scroll = self._new_result
        kept = self._kept
        if kept is not None:
            if current is None:
                current = kept.current
            selected |= kept.selected
            scroll = scroll or kept.scroll
        if current is None and not selected:
            self._kept = None
            return
        pending = selected | ({current} if current is not None else set())
        self._kept = KeptSelection(current, selected, pending, scroll)

    def _reselect(self, start: int = 0, end: int | None = None) -> None:
        """Select again the kept CIs listed in rows ``start`` … ``end - 1`` (all rows by
        default); once the result is complete nothing more is kept."""
        kept = self._kept
        if kept is None:
            return
        found = self.model.rows_of(kept.pending, start, end) if kept.pending else {}
        last_column = self.model.columnCount() - 1
        if found and last_column >= 0:
            kept.pending.difference_update(found)
            rows = sorted(row for ci_id, row in found.items() if ci_id in kept.selected)
            selection = QItemSelection()
            for top, bottom in _runs(rows):
                selection.select(self.model.index(top, 0), self.model.index(bottom, last_column))
            model = self.table.selectionModel()
            current_row = found.get(kept.current) if kept.current is not None else None
            with self._selecting():
                if rows:
                    model.select(selection, QItemSelectionModel.SelectionFlag.Select)
                if current_row is not None:
                    model.setCurrentIndex(
                        self.model.index(current_row, 0),
                        QItemSelectionModel.SelectionFlag.NoUpdate,
                    )
            if current_row is not None and kept.scroll:
                self.table.scrollTo(
                    self.model.index(current_row, 0), QAbstractItemView.ScrollHint.PositionAtCenter
                )
        if self.model.complete or not kept.pending:
            self._kept = None

    def _user_scrolled(self, _action: int) -> None:
        """The user moved the scroll bar (wheel, keys, drag): leave the view where it is."""
        if self._kept is not None:
            self._kept.scroll = False

    def _current_changed(self, current: Any, _previous: Any) -> None:
        if self._ours:
            return
        self._kept = None  # the user chose: nothing older comes back
        ci_id = current.data(CI_ID_ROLE) if current.isValid() else None
        self.currentCiChanged.emit(ci_id)

    def _selection_changed(self, *_: object) -> None:
        if not self._ours:
            self._kept = None
        n = sum(r.bottom() - r.top() + 1 for r in self._selected_ranges())
        self.selectionChanged.emit(n)

    def _activated(self, index: Any) -> None:
        ci_id = index.data(CI_ID_ROLE)
        if ci_id is not None:
            self.activated.emit(int(ci_id))

    def _open_current(self) -> None:
        ci_id = self.current_ci()
        if ci_id is not None:
            self.activated.emit(ci_id)

    # -- copy and export -----------------------------------------------------
    def copy_selection(self) -> None:
        ids = self.selected_ids()
        if not ids or self.cmdb is None:
            return
        keys = self.visible_keys()
        if len(ids) <= SYNC_COPY_LIMIT:
            text = jobs.tsv_text(jobs.JobState(), self.cmdb, ids, keys)
            self._to_clipboard(text, len(ids))
            return
        self.runner.submit(
            f"Copying {len(ids):,} CIs",
            jobs.tsv_text,
            self.cmdb,
            ids,
            keys,
            on_done=lambda text: self._to_clipboard(text, len(ids)),
        )

    def _to_clipboard(self, text: str, n: int) -> None:
        QGuiApplication.clipboard().setText(text)
        self.message.emit(f"Copied {n:,} CI{'s' if n != 1 else ''} as tab-separated text.")

    def export_selection(self, path: str | None = None) -> None:
        """Write the selected CIs (or, with nothing selected, the whole result) to .xlsx."""
        if self.cmdb is None:
            return
        ids = self.selected_ids() or list(self.model.ids)
        if not ids:
            return
        if not self.model.complete and not self.selected_ids():
            QMessageBox.information(
                self, "Export", "The result is still loading; try again in a moment."
            )
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Export to a workbook",
                str(self.context.last_folder / "cmdb-export.xlsx"),
                "Excel workbook (*.xlsx)",
            )
            if not path:
                return
            self.context.remember_folder(path)
            if not path.lower().endswith(".xlsx"):
                path += ".xlsx"
        keys = self.visible_keys()
        self.runner.submit(
            f"Exporting {len(ids):,} CIs",
            jobs.export_xlsx,
            self.cmdb,
            ids,
            keys,
            path,
            on_done=lambda out: self.message.emit(f"Exported {len(ids):,} CIs to {out}."),
        )

    def ask_save_filter(self) -> tuple[str, dict[str, Any]] | None:
        """Ask for a name for the current filter; (name, document) or None."""
        if self.cmdb is None:
            return None
        name, ok = QInputDialog.getText(
            self,
            "Save filter",
            "Name of the saved filter:",
            QLineEdit.EchoMode.Normal,
            self.filter.describe(self.cmdb.meta),
        )
        if not ok or not name.strip():
            return None
        return name.strip(), self.filter.to_json(self.cmdb.meta)
