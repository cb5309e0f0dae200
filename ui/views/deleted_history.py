"""*CI › History of a Deleted CI…*: the history of a CI that is gone.

A deleted CI has no row in the table and no form, but its history is kept
(PRODUCT.md §3, §11). The dialog takes what ``cmdb history`` takes for one —
``#ID``, ``Class/Name`` or a name no existing CI has — finds it in the worker
(:meth:`cmdb_desktop.history.HistoryService.find_deleted`) and lists its
history, the delete record first. A reference that fits nothing, or several
deleted CIs, is explained in the dialog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.errors import CmdbError
from cmdb_desktop.values import to_text
from ui import jobs
from ui.models.history import HistoryModel
from ui.views.ci_panel import history_view

if TYPE_CHECKING:
    from ui.context import AppContext


class DeletedHistoryDialog(QDialog):
    """Look up a deleted CI and show its history (read in the worker)."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent or context.dialog_parent)
        self.context = context
        self.setWindowTitle("History of a deleted CI")
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.ref_edit = QLineEdit(self)
        self.ref_edit.setObjectName("deletedRef")
        self.ref_edit.setPlaceholderText("#ID, Class/Name or name of a deleted CI")
        self.ref_edit.returnPressed.connect(self.look_up)
        row.addWidget(self.ref_edit, 1)
        self.show_button = QPushButton("Show", self)
        self.show_button.setAutoDefault(False)
        self.show_button.clicked.connect(self.look_up)
        row.addWidget(self.show_button)
        layout.addLayout(row)
        self.title = QLabel("", self)
        self.title.setObjectName("deletedTitle")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.model = HistoryModel(self)
        self.view = history_view(self, self.model)
        layout.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def look_up(self, ref: str | None = None) -> None:
        """Find the deleted CI ``ref`` (default: the text typed) and show its history."""
        cmdb = self.context.cmdb
        text = (ref if isinstance(ref, str) else self.ref_edit.text()).strip()
        if cmdb is None or not text:
            return
        self.ref_edit.setText(text)
        self.title.setText("Looking it up…")
        self.context.runner.submit(
            "Reading a deleted CI's history",
            jobs.deleted_history,
            cmdb,
            text,
            on_done=self._found,
            on_error=self._not_found,
            key="deleted-history",
            replace=True,
            visible=False,
        )

    def _found(self, found: jobs.DeletedHistory) -> None:
        gone = found.ci
        self.title.setText(
            f"#{gone.id} {gone.class_name}/{gone.name} — deleted "
            f"{to_text(gone.deleted_at)} UTC by {gone.deleted_by}. "
            f"{len(found.entries):,} records, newest first."
        )
        self.model.set_entries(found.entries)

    def _not_found(self, exc: BaseException) -> None:
        self.model.clear()
        if isinstance(exc, CmdbError):
            self.title.setText(str(exc))
        else:
            self.title.setText("")
            self.context.report_error("History of a deleted CI", exc)
