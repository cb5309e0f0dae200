"""The *What Changed* workspace (PRODUCT.md §11): net changes between two moments.

FROM is a moment (a date and time, UTC) or a baseline; TO is now (the
default), a moment or a baseline. *Compare* folds the history in between in the
worker (:func:`ui.jobs_time_travel.diff`, the same net changes as ``cmdb
diff``: a field changed and changed back is not listed, nor a CI created and
deleted in between) and lists them grouped by kind; a text and a class filter
narrow the list; clicking a change shows its CI (a relationship's source).
*Export…* writes the workbook ``cmdb diff -o`` writes.

The history is always read from the CMDB as it is now
(:attr:`ui.context.AppContext.present`), also while the window shows a past
moment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.asof import BaselineInfo, parse_moment
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CancelledError
from cmdb_desktop.models import utcnow
from ui import jobs_time_travel
from ui.jobs_time_travel import Diff
from ui.models.diff import DiffModel
from ui.theme import icon
from ui.time_travel import MomentEdit, to_qt
from ui.views.toolstrip import ToolStrip

if TYPE_CHECKING:
    from ui.context import AppContext

#: The moment choices besides the baselines.
NOW = "Now"
MOMENT = "A moment:"
#: The class filter's "no filter".
ALL_CLASSES = "All classes"


class MomentField(QWidget):
    """A moment to compare: *Now* (TO only), a date and time, or a baseline."""

    def __init__(self, name: str, *, now: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._now = now
        self.kind = QComboBox(self)
        self.kind.setObjectName(f"{name}Kind")
        self.kind.setToolTip("Now, a date and time (UTC), or a baseline (a named moment)")
        self.edit = MomentEdit(self)
        self.edit.setObjectName(f"{name}Edit")
        self.edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.edit.setCalendarPopup(True)
        self.edit.setToolTip("A date and time, UTC as the history shows times")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.kind)
        row.addWidget(self.edit)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.set_baselines([])

    def set_baselines(self, baselines: list[BaselineInfo]) -> None:
        chosen = self.kind.currentText()
        self.kind.blockSignals(True)
        self.kind.clear()
        if self._now:
            self.kind.addItem(NOW)
        self.kind.addItem(MOMENT)
        for b in baselines:
            self.kind.addItem(icon("star"), b.name)
            self.kind.setItemData(
                self.kind.count() - 1,
                f"{b.name}: {b.at:%Y-%m-%d %H:%M:%S} UTC, named by {b.user}",
                Qt.ItemDataRole.ToolTipRole,
            )
        found = self.kind.findText(chosen)
        self.kind.setCurrentIndex(found if found >= 0 else 0)
        self.kind.blockSignals(False)
        self._kind_changed()

    def _kind_changed(self, *_: object) -> None:
        self.edit.setVisible(self.kind.currentText() == MOMENT)

    def set_moment(self, text: str) -> None:
        """Choose ``text``: ``Now``, a baseline's name, or a time (parse_moment's form)."""
        found = self.kind.findText(text)
        if found >= 0:
            self.kind.setCurrentIndex(found)
            return
        self.kind.setCurrentIndex(self.kind.findText(MOMENT))
        self.edit.setDateTime(to_qt(parse_moment(text)))

    def text(self) -> str | None:
        """The moment as ``cmdb diff`` takes it (None: now)."""
        kind = self.kind.currentText()
        if kind == NOW:
            return None
        if kind == MOMENT:
            return self.edit.dateTime().toString("yyyy-MM-ddTHH:mm:ss")
        return kind


class DiffView(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diffView")
        self.context = context
        self.diff: Diff | None = None
        self._present: Cmdb | None = None
        self._stale = False

        self.strip = ToolStrip(self)
        strip = self.strip.layout_
        from_label = QLabel("From", self.strip)
        self.from_field = MomentField("diffFrom", now=False, parent=self.strip)
        self.from_field.edit.setDateTime(to_qt(utcnow() - timedelta(days=7)))
        to_label = QLabel("to", self.strip)
        self.to_field = MomentField("diffTo", now=True, parent=self.strip)
        self.to_field.edit.setDateTime(to_qt(utcnow()))
        self.compare_button = QPushButton(icon("compare"), "Compare", self.strip)
        self.compare_button.setObjectName("diffCompare")
        self.compare_button.setToolTip("Compare: list the net changes between the two moments")
        self.compare_button.clicked.connect(self.compare)
        self.export_button = QPushButton(icon("export"), "Export…", self.strip)
        self.export_button.setObjectName("diffExport")
        self.export_button.setToolTip(
            "Export…: write these changes as a workbook, one sheet per kind (as cmdb diff -o)"
        )
        self.export_button.clicked.connect(self.ask_export)
        self.export_button.setEnabled(False)
        for field in (self.from_field, self.to_field):
            field.edit.submitted.connect(self.compare)
        for w in (from_label, self.from_field, to_label, self.to_field):
            strip.addWidget(w)
        strip.addWidget(self.compare_button)
        strip.addStretch(1)
        strip.addWidget(self.export_button)

        self.filter_strip = ToolStrip(self, name="filterBar")
        fl = self.filter_strip.layout_
        self.filter_box = QLineEdit(self.filter_strip)
        self.filter_box.setObjectName("diffFilter")
        self.filter_box.setPlaceholderText("Filter the changes…")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self._refilter)
        self.class_box = QComboBox(self.filter_strip)
        self.class_box.setObjectName("diffClass")
        self.class_box.setToolTip("Only the changes that concern CIs of this class")
        self.class_box.addItem(ALL_CLASSES)
        self.class_box.currentIndexChanged.connect(self._refilter)
        self.summary = QLabel("", self.filter_strip)
        self.summary.setObjectName("diffSummary")
        self.summary.setProperty("role", "muted")
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        fl.addWidget(self.filter_box, 1)
        fl.addWidget(self.class_box)
        fl.addWidget(self.summary, 2)

        self.model = DiffModel(self)
        self.tree = QTreeView(self)
        self.tree.setObjectName("diffTree")
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 260)
        self.tree.setColumnWidth(1, 130)
        self.tree.setColumnWidth(2, 120)
        self.tree.setColumnWidth(3, 140)
        self.tree.clicked.connect(self._clicked)
        self.tree.activated.connect(self._clicked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addWidget(self.filter_strip)
        layout.addWidget(self.tree, 1)

        context.databaseChanged.connect(self._database_changed)
        context.bridge.changed.connect(self._changed)
        context.bridge.external.connect(lambda _catalogue: self._changed(None))
        self._database_changed(context.cmdb)

    def styled_parts(self) -> list[QWidget]:
        return [self.strip, self.filter_strip]

    def set_colours(self, colours: dict[str, str]) -> None:
        """The tree paints with the palette; nothing to keep."""

    # -- following the CMDB ----------------------------------------------------------
    def _database_changed(self, _cmdb: Cmdb | None) -> None:
        present = self.context.present
        enabled = present is not None
        for w in (self.compare_button, self.from_field, self.to_field):
            w.setEnabled(enabled)
        if present is self._present:
            return  # into the past or back: the same history, the same changes
        self._present = present
        self.set_diff(None)
        self.summary.setText("" if enabled else "Open a CMDB to compare two moments.")
        if present is not None:
            self.load_baselines()

    def _changed(self, summary: ChangeSummary | None) -> None:
        """The CMDB as it is now changed: a comparison with now is out of date."""
        if self.diff is None or self.context.as_of is not None or self.diff.data["to"] != "now":
            return
        if self.isVisible():
            self.compare()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.compare()

    def load_baselines(self) -> None:
        present = self.context.present
        if present is None:
            return

        def loaded(found: list[BaselineInfo]) -> None:
            if present is self.context.present:
                self.from_field.set_baselines(found)
                self.to_field.set_baselines(found)

        self.context.runner.submit(
            "Loading baselines",
            jobs_time_travel.baselines,
            present,
            on_done=loaded,
            on_error=lambda _exc: None,  # none to offer
            key="diff-baselines",
            replace=True,
            visible=False,
        )

    # -- comparing -------------------------------------------------------------------
    def compare(self) -> None:
        """List the net changes between FROM and TO (in the worker)."""
        present = self.context.present
        start = self.from_field.text()
        if present is None or start is None:
            return
        end = self.to_field.text()
        self._stale = False
        self.summary.setText("Comparing…")

        def done(diff: Diff) -> None:
            if present is self.context.present:
                self.set_diff(diff)

        self.context.runner.submit(
            f"Comparing {start} with {end or 'now'}",
            jobs_time_travel.diff,
            present,
            start,
            end,
            on_done=done,
            on_error=self._failed,
            key="diff",
            replace=True,
        )

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            return
        self.summary.setText("")
        self.context.report_error("Cannot compare", exc)

    def set_diff(self, diff: Diff | None) -> None:
        self.diff = diff
        self.model.set_diff(diff)
        chosen = self.class_box.currentText()
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItem(ALL_CLASSES)
        self.class_box.addItems(self.model.classes())
        found = self.class_box.findText(chosen)
        self.class_box.setCurrentIndex(max(found, 0))
        self.class_box.blockSignals(False)
        self._refilter()
        self.export_button.setEnabled(diff is not None)

    def _refilter(self, *_: object) -> None:
        chosen = self.class_box.currentText()
        self.model.set_filter(self.filter_box.text(), "" if chosen == ALL_CLASSES else chosen)
        self.tree.expandAll()
        diff = self.diff
        if diff is None:
            self.summary.setText("")
            self.summary.setToolTip("")
            return
        shown = sum(len(rows) for _title, rows in self.model.shown())
        data = diff.data
        text = f"{data['from']} → {data['to']}: {diff.total:,} net change(s)"
        if shown != diff.total:
            text += f", {shown:,} shown"
        self.summary.setText(text)
        self.summary.setToolTip(
            f"From {data['from']} ({data['from_at']} UTC) to {data['to']} ({data['to_at']} UTC)"
        )

    def _clicked(self, index: QModelIndex) -> None:
        row = self.model.change(index)
        if row is not None and row.ci_id is not None:
            self.context.navigation.show_ci(row.ci_id)

    # -- exporting -------------------------------------------------------------------
    def ask_export(self) -> None:
        if self.diff is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export the changes",
            str(self.context.last_folder / "changes.xlsx"),
            "Excel workbooks (*.xlsx)",
        )
        if path:
            self.context.remember_folder(path)
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Write the listed comparison (all of it, as ``cmdb diff -o``) to ``path``."""
        if self.diff is None:
            return
        self.context.runner.submit(
            "Writing the changes",
            jobs_time_travel.export_diff,
            self.diff.data,
            path,
            on_done=lambda out: self.context.show_message(f"Changes written to {out}."),
            on_error=lambda exc: self.context.report_error("Cannot write the changes", exc),
        )
