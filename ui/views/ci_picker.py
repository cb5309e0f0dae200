"""Ask the user for one CI: the CI panel's current CI is offered first, or search.

:func:`pick_ci` shows a small modal dialog and returns the chosen
:class:`~cmdb_desktop.items.CiRef` (None when cancelled). Searching, and
reading the name of the current CI, run in the worker like every other lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.items import CiRef
from ui import jobs_analysis
from ui.models.ci_refs import CiRefListModel

if TYPE_CHECKING:
    from ui.context import AppContext


class CiPickerDialog(QDialog):
    def __init__(self, parent: QWidget, context: AppContext, title: str, prompt: str) -> None:
        super().__init__(parent)
        from ui.views.ci_panel import make_search

        self.setObjectName("ciPicker")
        self.setWindowTitle(title)
        cmdb = context.cmdb
        self._search = make_search(context.runner, lambda: context.cmdb, "picker-search")
        self._meta = cmdb.meta if cmdb is not None else None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(prompt, self))
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Search by name, serial number, owner… or #ID")
        self.edit.setClearButtonEnabled(True)
        layout.addWidget(self.edit)
        self.results = CiRefListModel(self)
        self.list = QListView(self)
        self.list.setModel(self.results)
        self.list.doubleClicked.connect(self._double_clicked)
        layout.addWidget(self.list, 1)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(180)
        self._timer.timeout.connect(self._lookup)
        self.edit.textEdited.connect(lambda _t: self._timer.start())
        current = context.navigation.current_ci()
        if current is not None and cmdb is not None:
            context.runner.submit(
                "Reading the current CI",
                jobs_analysis.refs_of,
                cmdb,
                [current],
                on_done=self._offer_current,
                key="picker-search",
                visible=False,
            )
        self.resize(460, 360)

    def _offer_current(self, refs: list[CiRef]) -> None:
        if refs and not self.edit.text().strip():  # unless a search came first
            self._deliver(refs)

    def _lookup(self) -> None:
        text = self.edit.text().strip()
        if text:
            self._search(text, None, self._deliver)

    def _deliver(self, refs: list[CiRef]) -> None:
        self.results.set_refs(refs, self._meta)
        if refs:
            self.list.setCurrentIndex(self.results.index(0, 0))

    def _double_clicked(self, index: QModelIndex) -> None:
        self.list.setCurrentIndex(index)
        self.accept()

    def chosen(self) -> CiRef | None:
        return self.results.ref(self.list.currentIndex().row())


def pick_ci(parent: QWidget, context: AppContext, title: str, prompt: str) -> CiRef | None:
    dialog = CiPickerDialog(parent, context, title, prompt)
    if dialog.exec() == QDialog.DialogCode.Accepted:
        return dialog.chosen()
    return None
