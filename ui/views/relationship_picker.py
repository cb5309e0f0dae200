"""Add a relationship: choose how it reads from this CI, search the other CI, add.

Both directions are offered by name (``Depends on`` / ``Used by``…), so the
user never has to think about which end is the source: the core flips a
reverse name. The search runs in the worker as the user types.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.items import CiRef
from cmdb_desktop.metamodel import Metamodel
from ui.models.ci_refs import CiRefListModel
from ui.views.editors import SearchFn


class RelationshipPicker(QDialog):
    """``chosen(label, other)`` when the user adds a relationship."""

    chosen = Signal(str, object)

    def __init__(
        self, parent: QWidget | None, meta: Metamodel, this: CiRef, search: SearchFn
    ) -> None:
        super().__init__(parent)
        self.setObjectName("relationshipPicker")
        self.setWindowTitle(f"Add a relationship to {this.name}")
        self._meta = meta
        self._this = this
        self._search = search
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.type_combo = QComboBox(self)
        for t in meta.relationship_types:
            self.type_combo.addItem(f"{t.name}  →", t.name)
            self.type_combo.addItem(f"{t.reverse_name}  ←", t.reverse_name)
        form.addRow(f"{this.name}", self.type_combo)
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search by name, serial number, owner… or #ID")
        self.search_edit.setClearButtonEnabled(True)
        form.addRow("Other CI", self.search_edit)
        layout.addLayout(form)
        self.results = CiRefListModel(self)
        self.list = QListView(self)
        self.list.setModel(self.results)
        self.list.setUniformItemSizes(True)
        self.list.doubleClicked.connect(self._add_index)
        self.list.selectionModel().selectionChanged.connect(self._update)
        layout.addWidget(self.list, 1)
        self.status = QLabel("Type to search.")
        self.status.setProperty("role", "muted")
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.add_button = QPushButton("Add relationship")
        self.add_button.setDefault(True)
        self.add_button.setEnabled(False)
        buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.rejected.connect(self.reject)
        self.add_button.clicked.connect(self._add)
        layout.addWidget(buttons)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._lookup)
        self.search_edit.textChanged.connect(lambda _t: self._timer.start())
        self.resize(520, 420)

    def set_label(self, label: str) -> None:
        """Choose the relationship by how it reads from this CI (e.g. ``Depends on``)."""
        index = self.type_combo.findData(label)
        if index >= 0:
            self.type_combo.setCurrentIndex(index)

    @property
    def label(self) -> str:
        return str(self.type_combo.currentData())

    def _lookup(self) -> None:
        text = self.search_edit.text().strip()
        if not text:
            self.results.set_refs([])
            self.status.setText("Type to search.")
            return
        self.status.setText("Searching…")
        self._search(text, None, self._deliver)

    def _deliver(self, refs: list[CiRef]) -> None:
        refs = [r for r in refs if r.id != self._this.id]
        self.results.set_refs(refs, self._meta)
        self.status.setText(
            f"{len(refs)} match{'es' if len(refs) != 1 else ''}" if refs else "No CI matches."
        )
        if refs:
            self.list.setCurrentIndex(self.results.index(0, 0))
        self._update()

    def _update(self, *_: object) -> None:
        self.add_button.setEnabled(self.list.currentIndex().isValid())

    def _add_index(self, index: QModelIndex) -> None:
        self.list.setCurrentIndex(index)
        self._add()

    def _add(self) -> None:
        ref = self.results.ref(self.list.currentIndex().row())
        if ref is None:
            return
        self.chosen.emit(self.label, ref)
        self.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Down from the search box goes to the results, as in a browser's address bar.
        if event.key() == Qt.Key.Key_Down and self.search_edit.hasFocus():
            self.list.setFocus()
            return
        super().keyPressEvent(event)
