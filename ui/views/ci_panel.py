"""The CI panel: the form, the relationships (both directions) and the history of one CI.

It loads a CI in the worker (record, relationships, history and the names of
referenced CIs in one job), edits through the :class:`~ui.editing.Editor`
(so every save is undoable and a stale version opens the conflict dialog),
and follows the change notifications: a CI changed elsewhere reloads, unless
the user is editing it, in which case a banner says so and saving will show
both values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CmdbError, StaleVersionError, ValidationError
from cmdb_desktop.items import CiRef
from cmdb_desktop.records import RelationshipView
from cmdb_desktop.values import to_text
from ui import jobs
from ui.models.history import HistoryModel
from ui.models.relationships import OTHER_ID_ROLE, RelationshipModel
from ui.tasks import TaskRunner
from ui.theme import class_icon, icon
from ui.views.ci_form import CiForm
from ui.views.conflict import OVERWRITE, RELOAD, ConflictDialog, conflict_rows
from ui.views.editors import SearchFn
from ui.views.relationship_picker import RelationshipPicker

if TYPE_CHECKING:
    from ui.context import AppContext


def make_search(runner: TaskRunner, cmdb: Callable[[], Cmdb | None], key: str) -> SearchFn:
    """A :data:`SearchFn` that looks CIs up in the worker; newer lookups replace older."""

    def search(
        text: str, class_ids: Iterable[int] | None, deliver: Callable[[list[CiRef]], None]
    ) -> None:
        current = cmdb()
        if current is None:
            return
        runner.submit(
            "Searching",
            jobs.search_cis,
            current,
            text,
            list(class_ids) if class_ids is not None else None,
            30,
            on_done=deliver,
            key=key,
            replace=True,
            visible=False,
        )

    return search


def history_view(parent: QWidget, model: HistoryModel) -> QTreeView:
    """A flat list of history entries (the panel's History tab, the deleted-CI dialog)."""
    view = QTreeView(parent)
    view.setFrameShape(QFrame.Shape.NoFrame)
    view.setModel(model)
    view.setRootIsDecorated(False)
    view.setAlternatingRowColors(True)
    view.setUniformRowHeights(True)
    view.header().setStretchLastSection(True)
    view.setColumnWidth(0, 140)
    view.setColumnWidth(1, 80)
    view.setColumnWidth(2, 110)
    return view


class CiPanel(QWidget):
    """Signals: ``navigateRequested(ci_id)`` (double-click on a related CI),
    ``shown(ci_id | None)`` after a CI is displayed, ``created(ci_id)``.

    Follows the context's CMDB and its change bridge (:meth:`on_changed`)."""

    navigateRequested = Signal(int)
    shown = Signal(object)
    created = Signal(int)
    dirtyChanged = Signal(bool)
    message = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ciPanel")
        self.runner = context.runner
        self.editor = context.editor
        self.cmdb: Cmdb | None = None
        self.details: jobs.CiDetails | None = None
        self.ci_id: int | None = None
        self._pending_id: int | None = None
        self.picker: RelationshipPicker | None = None
        self.conflict_dialog: ConflictDialog | None = None
        self._search = make_search(self.runner, lambda: self.cmdb, "ci-panel-search")

        self.stack = QStackedWidget(self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)
        empty = QLabel("Select a CI in the table to see it here,\nor press Ctrl+N to create one.")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setProperty("role", "muted")
        self.stack.addWidget(empty)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_header())
        self.banner = QLabel()
        self.banner.setProperty("role", "banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        banner_box = QWidget()
        banner_layout = QVBoxLayout(banner_box)
        banner_layout.setContentsMargins(8, 6, 8, 0)
        banner_layout.addWidget(self.banner)
        layout.addWidget(banner_box)
        self.tabs = QTabWidget(page)
        self.tabs.setDocumentMode(True)
        self.form = CiForm(self._search, self)
        self.form.dirtyChanged.connect(self._dirty_changed)
        self.tabs.addTab(self.form, icon("details"), "Details")
        self.tabs.addTab(self._build_relationships(), icon("relationships"), "Relationships")
        self.history_model = HistoryModel(self)
        self.history_view = history_view(self, self.history_model)
        self.history_view.setObjectName("historyView")
        history_page = QWidget()
        history_layout = QVBoxLayout(history_page)
        history_layout.setContentsMargins(0, 0, 0, 0)
        self.history_note = QLabel()
        self.history_note.setObjectName("historyNote")
        self.history_note.setProperty("role", "muted")
        self.history_note.setContentsMargins(8, 4, 8, 4)
        self.history_note.hide()
        history_layout.addWidget(self.history_note)
        history_layout.addWidget(self.history_view)
        self.tabs.addTab(history_page, icon("history"), "History")
        layout.addWidget(self.tabs, 1)
        self.stack.addWidget(page)

        self.save_action = QAction(icon("save"), "&Save CI", self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self.save)
        self.save_action.setEnabled(False)
        self.revert_action = QAction(icon("revert"), "Re&vert Changes", self)
        self.revert_action.triggered.connect(self.revert)
        self.revert_action.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.revert)
        context.databaseChanged.connect(self.set_cmdb)
        context.bridge.changed.connect(self.on_changed)
        context.bridge.external.connect(lambda _catalogue: self.on_changed(None))
        if context.cmdb is not None:  # made while a CMDB is open
            self.set_cmdb(context.cmdb)

    # -- building ------------------------------------------------------------
    def _build_header(self) -> QWidget:
        header = QFrame()
        header.setObjectName("ciHeader")
        outer = QVBoxLayout(header)
        outer.setContentsMargins(10, 8, 10, 6)
        outer.setSpacing(4)
        row = QHBoxLayout()
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(34, 34)
        row.addWidget(self.icon_label)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.title = QLabel()
        self.title.setObjectName("ciTitle")
        self.title.setProperty("role", "heading")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setMinimumWidth(10)
        self.subtitle = QLabel()
        self.subtitle.setProperty("role", "subheading")
        self.subtitle.setMinimumWidth(10)
        self.subtitle.setWordWrap(True)  # "updated …" must never be cut (issue 15)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        row.addLayout(titles, 1)
        outer.addLayout(row)
        buttons = QHBoxLayout()
        self.back_button = QToolButton()
        self.forward_button = QToolButton()
        for b in (self.back_button, self.forward_button):
            b.setAutoRaise(True)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setEnabled(False)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("saveButton")
        self.save_button.setEnabled(False)
        self.save_button.setDefault(True)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        return header

    def _build_relationships(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 6, 6, 6)
        bar = QHBoxLayout()
        self.add_relationship_button = QPushButton(icon("link_add"), "Add…")
        self.add_relationship_button.setToolTip("Add a relationship to another CI")
        self.add_relationship_button.clicked.connect(self.open_picker)
        self.remove_relationship_button = QPushButton(icon("link_remove"), "Remove")
        self.remove_relationship_button.setToolTip("Remove the selected relationship (Del)")
        self.remove_relationship_button.clicked.connect(self.remove_selected_relationship)
        self.remove_relationship_button.setEnabled(False)
        bar.addWidget(self.add_relationship_button)
        bar.addWidget(self.remove_relationship_button)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.relationship_model = RelationshipModel(self)
        self.relationship_view = QTreeView(box)
        self.relationship_view.setObjectName("relationshipView")
        self.relationship_view.setFrameShape(QFrame.Shape.NoFrame)
        self.relationship_view.setModel(self.relationship_model)
        self.relationship_view.setUniformRowHeights(True)
        self.relationship_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.relationship_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.relationship_view.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.relationship_view.header().setStretchLastSection(False)
        self.relationship_view.setColumnWidth(1, 130)
        self.relationship_view.setColumnWidth(2, 70)
        self.relationship_view.doubleClicked.connect(self._relationship_activated)
        self.relationship_view.selectionModel().currentChanged.connect(
            lambda *_: self.remove_relationship_button.setEnabled(
                self.writable and self.selected_relationship() is not None
            )
        )
        remove = QAction("Remove relationship", self.relationship_view)
        remove.setShortcut(QKeySequence.StandardKey.Delete)
        remove.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove.triggered.connect(self.remove_selected_relationship)
        self.relationship_view.addAction(remove)
        layout.addWidget(self.relationship_view, 1)
        return box

    def set_navigation_actions(self, back: QAction, forward: QAction) -> None:
        self.back_button.setDefaultAction(back)
        self.forward_button.setDefaultAction(forward)
        for b in (self.back_button, self.forward_button):
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    # -- showing -------------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.cmdb = cmdb
        self.clear()

    @property
    def writable(self) -> bool:
        """Whether the open CMDB may be edited here (not a viewer's role, not the CMDB
        as it was at a moment: :meth:`Cmdb.may`)."""
        return self.cmdb is not None and self.cmdb.may("write")

    def clear(self) -> None:
        self.ci_id = None
        self._pending_id = None
        self.details = None
        self.form.clear()
        self.relationship_model.clear()
        self.history_model.clear()
        self.stack.setCurrentIndex(0)
        self.shown.emit(None)

    @property
    def dirty(self) -> bool:
        return self.form.dirty

    def show_ci(self, ci_id: int, *, force: bool = False) -> None:
        """Load and show a CI (asking first if unsaved edits would be lost)."""
        if self.cmdb is None:
            return
        if not force and ci_id == self.ci_id and self.details is not None and not self.dirty:
            return
        if not force and self.dirty and ci_id != self.ci_id and not self.confirm_discard():
            return
        self._pending_id = ci_id
        self.runner.submit(
            "Loading CI",
            jobs.load_ci,
            self.cmdb,
            ci_id,
            on_done=self._loaded,
            on_error=self._load_failed,
            key="ci-load",
            replace=True,
            visible=False,
        )

    def reload(self) -> None:
        if self.ci_id is not None:
            self.show_ci(self.ci_id, force=True)

    def confirm_discard(self) -> bool:
        """Ask what to do with unsaved edits; True if it is fine to move on."""
        name = self.form.record.name if self.form.record else "the new CI"
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"You changed {name} but did not save it. Discard your changes?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _loaded(self, details: jobs.CiDetails) -> None:
        if self.cmdb is None or details.record.id != self._pending_id:
            return
        self._pending_id = None
        self.details = details
        self.ci_id = details.record.id
        meta = self.cmdb.meta
        info = meta.class_by_id[details.record.class_id]
        self.form.load(meta, info, details.record, details.references)
        icons = {c.name: c.icon for c in meta.classes}
        self.relationship_model.set_relationships(details.relationships, icons)
        self.relationship_view.expandAll()
        self.history_model.set_entries(details.history)
        self.tabs.setTabText(1, f"Relationships ({len(details.relationships):,})")
        shown, total = len(details.history), max(details.history_total, len(details.history))
        self.tabs.setTabText(2, f"History ({total:,})")
        self.history_note.setText(
            f"Showing the latest {shown:,} of {total:,} changes (cmdb history lists them all)."
        )
        self.history_note.setVisible(shown < total)
        self.tabs.setTabEnabled(1, True)
        self.tabs.setTabEnabled(2, True)
        self._header(info.icon, details.record.name, self._subtitle(details))
        self.banner.hide()
        # a viewer's role, or the CMDB as it was: shown, not edited
        self.form.setEnabled(self.writable)
        self.add_relationship_button.setEnabled(self.writable)
        self.stack.setCurrentIndex(1)
        self.shown.emit(self.ci_id)

    def _load_failed(self, exc: BaseException) -> None:
        self._pending_id = None
        if isinstance(exc, CmdbError):
            self._show_banner(str(exc))
            self.message.emit(str(exc))
        else:
            raise exc

    @staticmethod
    def _subtitle(details: jobs.CiDetails) -> str:
        r = details.record
        updated = to_text(r.updated_at.replace(microsecond=0))
        return f"{r.class_name} · #{r.id} · version {r.version} · updated {updated} UTC"

    def _header(self, icon_name: str, title: str, subtitle: str) -> None:
        self.icon_label.setPixmap(class_icon(icon_name).pixmap(32, 32))
        self.title.setText(title)
        self.subtitle.setText(subtitle)

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()

    # -- creating ------------------------------------------------------------
    def new_ci(self, class_name: str) -> None:
        """Show an empty form for a new CI of ``class_name``."""
        if self.cmdb is None:
            return
        if self.dirty and not self.confirm_discard():
            return
        meta = self.cmdb.meta
        info = meta.concrete_class(class_name)
        self.ci_id = None
        self.details = None
        self.form.load(meta, info, None)
        self.relationship_model.clear()
        self.history_model.clear()
        self.tabs.setTabText(1, "Relationships")
        self.tabs.setTabText(2, "History")
        self.history_note.hide()
        self.tabs.setTabEnabled(1, False)
        self.tabs.setTabEnabled(2, False)
        self.tabs.setCurrentIndex(0)
        self._header(info.icon, f"New {info.name}", "Fill in the fields and press Save (Ctrl+S)")
        self.banner.hide()
        self.form.setEnabled(True)
        self.stack.setCurrentIndex(1)
        self._dirty_changed(True)
        self.form.focus_first()

    # -- saving --------------------------------------------------------------
    def _dirty_changed(self, dirty: bool) -> None:
        dirty = dirty or self.form.is_new
        self.save_action.setEnabled(dirty)
        self.revert_action.setEnabled(dirty)
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
        self.dirtyChanged.emit(dirty)

    def save(self) -> None:
        if self.cmdb is None or self.form.info is None or self.editor.busy or not self.writable:
            return
        fields = self.form.changed_fields()
        if self.form.is_new:
            class_name = self.form.info.name
            self.editor.create_ci(
                class_name, fields, on_done=self._created, on_error=self._save_failed
            )
            return
        record = self.form.record
        if record is None or not fields:
            return
        self._save(record.id, record.name, fields, record.version)

    def _save(self, ci_id: int, name: str, fields: dict[str, Any], version: int) -> None:
        self.message.emit(f"Saving {name}…")
        self.editor.update_ci(
            ci_id,
            name,
            fields,
            version,
            self.form.labels(),
            on_done=lambda _s: self._saved(ci_id),
            on_error=lambda exc: self._save_failed(exc, fields),
        )

    def _saved(self, ci_id: int) -> None:
        self.message.emit("Saved.")
        if ci_id == self.ci_id:
            self.show_ci(ci_id, force=True)

    def _created(self, new_id: int) -> None:
        self.message.emit("Created.")
        self.form.clear()
        self._dirty_changed(False)
        self.show_ci(new_id, force=True)
        self.created.emit(new_id)

    def _save_failed(self, exc: BaseException, fields: dict[str, Any] | None = None) -> None:
        if isinstance(exc, StaleVersionError) and self.cmdb is not None:
            self._conflict(exc, fields or {})
        elif isinstance(exc, ValidationError):
            rest = self.form.set_problems(exc.problems)
            self.tabs.setCurrentIndex(0)
            self.message.emit(f"Not saved: {exc}")
            if rest:
                self._show_banner("Not saved: " + "; ".join(rest))
        elif isinstance(exc, CmdbError):
            QMessageBox.warning(self, "Cannot save", str(exc))
        else:
            QMessageBox.critical(self, "Cannot save", f"Unexpected error: {exc}")

    def _conflict(self, exc: StaleVersionError, fields: dict[str, Any]) -> None:
        assert self.cmdb is not None
        rows = conflict_rows(self.cmdb.meta, exc, fields, self.form.labels())
        self.conflict_dialog = ConflictDialog(self, str(exc), rows)
        record = self.form.record

        def chosen(choice: str) -> None:
            self.conflict_dialog = None
            if choice == OVERWRITE and record is not None:
                self._save(record.id, record.name, fields, exc.actual)
            elif choice == RELOAD:
                self.form.clear()
                self.show_ci(exc.ci_id, force=True)

        self.conflict_dialog.chosen.connect(chosen)
        self.conflict_dialog.open()

    def revert(self) -> None:
        if self.form.is_new:
            self.form.clear()
            self._dirty_changed(False)
            self.clear()
        elif self.ci_id is not None:
            self.form.clear()
            self.show_ci(self.ci_id, force=True)

    # -- relationships -------------------------------------------------------
    def selected_relationship(self) -> RelationshipView | None:
        return self.relationship_model.view_at(self.relationship_view.currentIndex())

    def open_picker(self) -> None:
        if self.cmdb is None or self.details is None or not self.writable:
            return
        this = self.details.record.ref
        self.picker = RelationshipPicker(self, self.cmdb.meta, this, self._search)
        self.picker.chosen.connect(lambda label, other: self._relate(this, label, other))
        self.picker.open()

    def _relate(self, this: CiRef, label: str, other: CiRef) -> None:
        self.editor.relate(this.id, label, other.id, (this.name, other.name))

    def remove_selected_relationship(self) -> None:
        view = self.selected_relationship()
        if view is None or self.details is None or not self.writable:
            return
        this = self.details.record.ref
        self.editor.unrelate(this.id, view.label, view.other.id, (this.name, view.other.name))

    def _relationship_activated(self, index: QModelIndex) -> None:
        other = index.data(OTHER_ID_ROLE)
        if other is not None:
            self.navigateRequested.emit(int(other))

    # -- change notifications -----------------------------------------------
    def on_changed(self, summary: ChangeSummary | None) -> None:
        """Refresh after a write (ours or, with ``None``, someone else's)."""
        if self.ci_id is None or self.cmdb is None:
            return
        if summary is None:
            touched = True
        elif self.ci_id in summary.deleted:
            self.form.setEnabled(False)
            self.add_relationship_button.setEnabled(False)
            self._show_banner("This CI was deleted (Ctrl+Z brings it back if you deleted it).")
            return
        else:
            touched = (
                self.ci_id in summary.touched_ci_ids
                or bool(summary.relationships_created or summary.relationships_deleted)
                or summary.catalogue_changed
            )
        if not touched:
            return
        if self.dirty:
            self._show_banner(
                "This CI changed since you started editing. Saving will show both values."
            )
        else:
            self.reload()
