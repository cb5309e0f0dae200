"""The dialog for a stale version: someone else saved the CI first.

It shows, for every field the user changed, *your value* next to the value
stored now, and lets the user overwrite, take theirs, or go back to editing.
Nothing is ever overwritten without this choice. The dialog is window-modal
but opened with ``open()``, so it never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.errors import StaleVersionError
from cmdb_desktop.metamodel import Metamodel
from cmdb_desktop.values import to_text

OVERWRITE = "overwrite"
RELOAD = "reload"
CANCEL = "cancel"


def conflict_rows(
    meta: Metamodel, error: StaleVersionError, mine: dict[str, Any], labels: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(field label, your value, stored value) for every field in ``mine``."""
    current = error.current or {}
    rows = []
    for key, value in mine.items():
        theirs = current.get(key, "")
        rows.append((labels.get(key, key), _text(value), _text(theirs)))
    return rows


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return to_text(value)


class ConflictDialog(QDialog):
    """``chosen(choice)`` with OVERWRITE, RELOAD or CANCEL."""

    chosen = Signal(str)

    def __init__(
        self,
        parent: QWidget | None,
        message: str,
        rows: Sequence[tuple[str, str, str]],
        *,
        overwrite_text: str = "Save mine anyway",
        reload_text: str | None = "Discard mine, show theirs",
        cancel_text: str = "Keep editing",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflictDialog")
        self.setWindowTitle("Someone else saved first")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.choice = CANCEL
        self._announced = False
        layout = QVBoxLayout(self)
        intro = QLabel(message)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Field", "Your value", "Stored now"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 2 and row[1] != row[2]:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(self)
        self.overwrite_button = QPushButton(overwrite_text)
        buttons.addButton(self.overwrite_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.reload_button: QPushButton | None = None
        if reload_text:
            self.reload_button = QPushButton(reload_text)
            buttons.addButton(self.reload_button, QDialogButtonBox.ButtonRole.DestructiveRole)
            self.reload_button.clicked.connect(lambda: self._choose(RELOAD))
        self.cancel_button = QPushButton(cancel_text)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.overwrite_button.clicked.connect(lambda: self._choose(OVERWRITE))
        self.cancel_button.clicked.connect(lambda: self._choose(CANCEL))
        self.cancel_button.setDefault(True)
        layout.addWidget(buttons)
        self.resize(560, 160 + 28 * min(len(rows), 10))

    def values(self) -> list[tuple[str, str, str]]:
        """The rows as shown (for tests and screen readers)."""

        def text(r: int, c: int) -> str:
            item = self.table.item(r, c)
            return item.text() if item is not None else ""

        return [(text(r, 0), text(r, 1), text(r, 2)) for r in range(self.table.rowCount())]

    def _choose(self, choice: str) -> None:
        self.choice = choice
        if choice == CANCEL:
            self.reject()
        else:
            self.accept()

    def done(self, result: int) -> None:
        # accept(), reject() and Escape all end here; say what was chosen once.
        super().done(result)
        if not self._announced:
            self._announced = True
            self.chosen.emit(self.choice)
