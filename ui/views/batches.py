"""The *Batches* workspace: every import (and audit stamp, and demo) as one batch.

Lists ``cmdb.batches.list()`` newest first: when, who, what kind, which file
and sheets, the counts, and whether it was rolled back. *Roll back* undoes a
whole batch in one transaction after asking; where that would undo a later
change that is still there, the core refuses with a conflict naming each CI,
field, what the batch wrote and what it is now, and that message is shown as
it is (nothing was changed). *List CIs* shows the CIs a
batch touched in the Browse table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.batches import STATUS_ROLLED_BACK, BatchInfo
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ConflictError
from ui import jobs_import
from ui.models.rows import RowsModel
from ui.views.toolstrip import ToolStrip, make_action, sortable, tool_button

if TYPE_CHECKING:
    from ui.context import AppContext

KIND_TEXT = {"import": "Import", "audit": "Audit: verified", "demo": "Demo data"}


def counts_text(counts: dict[str, Any]) -> str:
    cis = counts.get("cis")
    if isinstance(cis, dict):
        parts = [f"{cis.get(k, 0):,} {k}" for k in ("created", "updated") if cis.get(k)]
        rels = counts.get("relationships") or {}
        if isinstance(rels, dict) and rels.get("created"):
            parts.append(f"{rels['created']:,} relationships")
        return ", ".join(parts) or "no change"
    return ", ".join(f"{v:,} {k}" if isinstance(v, int) else f"{k}: {v}" for k, v in counts.items())


def list_batch_cis(context: AppContext, batch_id: int) -> None:
    """List the CIs a batch touched in the Browse table (read in the worker)."""
    cmdb = context.cmdb
    if cmdb is None:
        return
    context.runner.submit(
        f"Listing the CIs of batch #{batch_id}",
        jobs_import.batch_ci_ids,
        cmdb,
        batch_id,
        on_done=lambda ids: context.show_ids(ids, f"Batch #{batch_id}"),
    )


class BatchesView(QWidget):
    """Follows the context's CMDB; reads the batches again when shown, and when a
    batch was written or rolled back (or another program wrote) while it is shown."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchesView")
        self.context = context
        self.cmdb: Cmdb | None = None
        self.batches: list[BatchInfo] = []
        self._select_after: int | None = None
        self.strip = ToolStrip(self)
        self.rollback_action = make_action(
            self, "Roll back…", "rollback", "Undo the selected batch as a whole"
        )
        self.rollback_action.triggered.connect(self.ask_rollback)
        self.cis_action = make_action(
            self, "List its CIs", "search", "Show the CIs the batch touched in the table"
        )
        self.cis_action.triggered.connect(self.list_cis)
        self.refresh_action = make_action(self, "Refresh", "refresh", "Read the batches again")
        self.refresh_action.triggered.connect(self.refresh)
        self.import_action = make_action(self, "Import…", "import", "Import a spreadsheet")
        self.import_action.triggered.connect(lambda: context.navigation.open_import())
        for action in (
            self.import_action,
            self.rollback_action,
            self.cis_action,
            self.refresh_action,
        ):
            self.strip.layout_.addWidget(tool_button(self, action, text=True))
        self.strip.layout_.addStretch(1)
        self.note = QLabel(self)
        self.note.setProperty("role", "muted")
        self.strip.layout_.addWidget(self.note)
        self.model = RowsModel(
            ("Batch", "When", "Kind", "File", "Sheets", "User", "What it did", "State"), self
        )
        self.model.foreground = self._colour
        self.view = QTableView(self)
        self.view.setObjectName("batchesTable")
        self.view.setModel(self.model)
        sortable(self.view)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._update_actions())
        self.view.doubleClicked.connect(lambda _i: self.list_cis())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.strip)
        layout.addWidget(self.view, 1)
        self._update_actions()
        context.databaseChanged.connect(self.set_cmdb)
        context.bridge.changed.connect(self._changed)
        context.bridge.external.connect(lambda _catalogue: self._changed(None))
        if context.cmdb is not None:  # made while a CMDB is open
            self.set_cmdb(context.cmdb)

    def styled_parts(self) -> list[QWidget]:
        return [self.strip]

    def set_colours(self, colours: dict[str, str]) -> None:
        """The table takes its colours from the palette."""

    def _colour(self, row: int, col: int) -> str | None:
        if row < len(self.batches) and self.batches[row].status == STATUS_ROLLED_BACK:
            return "#8c959f"
        return None

    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        self.cmdb = cmdb
        self.batches = []
        self.model.set_rows([])
        self._update_actions()
        if cmdb is not None and self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def _changed(self, summary: ChangeSummary | None) -> None:
        """An import, an audit stamp or a rollback makes a batch (or changes one);
        another program's writes may have. Hidden, it reads them when shown."""
        if (summary is None or summary.batch_id is not None) and self.isVisible():
            self.refresh()

    def selected(self) -> BatchInfo | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        batch_id = self.model.ci_id(index.row())
        return next((b for b in self.batches if b.id == batch_id), None)

    def _update_actions(self) -> None:
        batch = self.selected()
        writes = self.cmdb is not None and self.cmdb.may("write")
        self.rollback_action.setEnabled(
            writes and batch is not None and batch.status != STATUS_ROLLED_BACK
        )
        self.cis_action.setEnabled(batch is not None)
        self.refresh_action.setEnabled(self.cmdb is not None)
        self.import_action.setEnabled(writes)

    # -- loading -------------------------------------------------------------------
    def refresh(self, select: int | None = None) -> None:
        if self.cmdb is None:
            return
        if select is not None:
            self._select_after = select
        self.context.runner.submit(
            "Loading batches",
            jobs_import.list_batches,
            self.cmdb,
            on_done=self.show_batches,
            key="batches",
            replace=True,
            visible=False,
        )

    def show_batches(self, batches: list[BatchInfo]) -> None:
        keep = self._select_after
        if keep is None:
            current = self.selected()
            keep = current.id if current is not None else None
        self._select_after = None
        self.batches = batches
        rows = [
            (
                b.id,
                b.created_at.strftime("%Y-%m-%d %H:%M"),
                KIND_TEXT.get(b.kind, b.kind),
                b.file or "",
                ", ".join(b.sheets),
                b.user,
                counts_text(b.counts or {}),
                "rolled back" + (f" by {b.rolled_back_by}" if b.rolled_back_by else "")
                if b.status == STATUS_ROLLED_BACK
                else "applied",
            )
            for b in batches
        ]
        self.model.set_rows(rows, [b.id for b in batches])
        self.view.resizeColumnsToContents()
        self.note.setText(f"{len(batches):,} batch{'es' if len(batches) != 1 else ''}")
        if keep is not None:
            self.select(keep)
        self._update_actions()

    def select(self, batch_id: int) -> bool:
        for row in range(self.model.rowCount()):
            if self.model.ci_id(row) == batch_id:
                self.view.selectRow(row)
                self.view.setCurrentIndex(self.model.index(row, 0))
                return True
        return False

    # -- actions -------------------------------------------------------------------
    def ask_rollback(self) -> None:
        batch = self.selected()
        if batch is None:
            return
        answer = QMessageBox.question(
            self,
            "Roll back",
            f"Undo batch #{batch.id} ({counts_text(batch.counts or {})}) as a whole?\n"
            "CIs it created are deleted, CIs it changed get their old values back.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.rollback(batch.id)

    def rollback(self, batch_id: int) -> None:
        if self.cmdb is None:
            return

        def done(summary: ChangeSummary) -> None:
            self.context.show_message(
                f"Batch #{batch_id} rolled back: {len(summary.deleted):,} CIs removed, "
                f"{len(summary.updated):,} restored."
            )
            self.refresh(select=batch_id)

        def failed(exc: BaseException) -> None:
            title = (
                f"Batch #{batch_id} cannot be rolled back"
                if isinstance(exc, ConflictError)
                else "Roll back failed"
            )
            self.context.report_error(title, exc)
            self.refresh(select=batch_id)

        self.context.runner.submit(
            f"Rolling back batch #{batch_id}",
            jobs_import.rollback_batch,
            self.cmdb,
            batch_id,
            on_done=done,
            on_error=failed,
            deliver_if_cancelled=True,
        )

    def list_cis(self) -> None:
        batch = self.selected()
        if batch is not None:
            list_batch_cis(self.context, batch.id)
