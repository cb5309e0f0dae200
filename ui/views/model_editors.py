"""The class manager's editors for changes that migrate data or touch impact.

* :class:`DefinitionDialog` changes an attribute's type or choice list
  (adding, renaming — the values follow — and retiring choices). *Check*
  runs the conversion's dry run in the worker and shows how many stored values
  convert and which do not; *Apply* is enabled only after a clean check of
  exactly what is in the fields.
* :class:`RelationshipTypesPanel` lists the relationship types with their
  impact flow and relationship counts, and adds, edits (names, flow) and
  retires them.

All work runs in the worker (``ui.jobs.call`` on ``cmdb.classes``), and the
core validates and records every change (docs/model.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoCommand
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.attribute_types import REGISTRY
from cmdb_desktop.classes import ConversionPreview, flow_word
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CmdbError
from cmdb_desktop.history import Source
from cmdb_desktop.metamodel import AttributeInfo, RelationshipTypeInfo
from cmdb_desktop.vocabulary import AttrType, ImpactFlow
from ui import jobs
from ui.tasks import TaskRunner

FLOW_LABELS = {
    ImpactFlow.TO_SOURCE: "Target → source (a failure of the target hits the source)",
    ImpactFlow.TO_TARGET: "Source → target (a failure of the source hits the target)",
    ImpactFlow.NONE: "None (no impact along it)",
}


def _split(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _renames(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        old, sep, new = part.partition("=")
        if sep and old.strip() and new.strip():
            out[old.strip()] = new.strip()
    return out


class DefinitionDialog(QDialog):
    """Change an attribute's type and choices, with the conversion's dry run first."""

    def __init__(
        self,
        parent: QWidget | None,
        runner: TaskRunner,
        cmdb: Cmdb,
        class_name: str,
        attr: AttributeInfo,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("definitionDialog")
        self.setWindowTitle(f"Type and choices of {attr.label}")
        self.runner, self.cmdb, self.class_name, self.attr = runner, cmdb, class_name, attr
        self.checked: tuple[Any, ...] | None = None
        self.preview: ConversionPreview | None = None
        form = QFormLayout(self)
        self.type_combo = QComboBox(self)
        for name, kind in REGISTRY.items():
            if name != AttrType.REFERENCE or attr.type == AttrType.REFERENCE:
                self.type_combo.addItem(kind.label, name)
        self.type_combo.setCurrentIndex(self.type_combo.findData(attr.type))
        self.type_combo.setEnabled(attr.column is None)
        form.addRow("Type", self.type_combo)
        self.choices_edit = QLineEdit(", ".join(str(c) for c in attr.choices or ()), self)
        self.choices_edit.setToolTip(
            "The choice list, comma-separated: add a choice by writing it, retire one by "
            "removing it (refused while CIs hold it)."
        )
        form.addRow("Choices", self.choices_edit)
        self.renames_edit = QLineEdit(self)
        self.renames_edit.setToolTip(
            "Rename choices as Old=New, comma-separated; stored values follow. Renaming onto "
            "an existing choice merges the two."
        )
        form.addRow("Rename choices", self.renames_edit)
        self.result_label = QLabel("Check how the stored values convert before applying.")
        self.result_label.setObjectName("conversionResult")
        self.result_label.setWordWrap(True)
        form.addRow(self.result_label)
        self.check_button = QPushButton("Check")
        self.check_button.setObjectName("checkConversion")
        self.check_button.clicked.connect(self.check)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.addButton(self.check_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.apply_button = buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        for w in (self.choices_edit, self.renames_edit):
            w.textChanged.connect(self._edited)
        self.type_combo.currentIndexChanged.connect(self._edited)
        self._edited()

    def change(self) -> dict[str, Any]:
        """The update_attribute keywords of what the fields say."""
        type_ = str(self.type_combo.currentData())
        out: dict[str, Any] = {}
        if type_ != self.attr.type:
            out["type_"] = type_
        if type_ == AttrType.CHOICE:
            choices = _split(self.choices_edit.text())
            renames = _renames(self.renames_edit.text())
            if renames:
                out["rename_choices"] = renames
            if tuple(choices) != tuple(str(c) for c in self.attr.choices or ()):
                out["choices"] = choices
        return out

    def _key(self) -> tuple[Any, ...]:
        return tuple(sorted((k, repr(v)) for k, v in self.change().items()))

    def _edited(self, *_: object) -> None:
        is_choice = self.type_combo.currentData() == AttrType.CHOICE
        self.choices_edit.setEnabled(is_choice)
        self.renames_edit.setEnabled(is_choice and self.attr.type == AttrType.CHOICE)
        self.apply_button.setEnabled(
            self.checked == self._key() and self.preview is not None and self.preview.ok
        )

    def check(self) -> None:
        change = self.change()
        if not change:
            self.result_label.setText("Nothing to change.")
            return
        key = self._key()
        self.result_label.setText("Checking the stored values…")
        self.check_button.setEnabled(False)
        self.runner.submit(
            f"Checking {self.attr.label}",
            jobs.call,
            self.cmdb.classes.preview_attribute_change,
            self.class_name,
            self.attr.key,
            on_done=lambda preview: self._checked(key, preview),
            on_error=self._failed,
            **change,
        )

    def _checked(self, key: tuple[Any, ...], preview: ConversionPreview) -> None:
        self.check_button.setEnabled(True)
        self.preview, self.checked = preview, key
        text = preview.describe()
        if not preview.ok:
            text += " Fix or clear those values first."
        self.result_label.setText(text)
        self._edited()

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, CmdbError):
            raise exc
        self.check_button.setEnabled(True)
        self.preview = self.checked = None
        self.result_label.setText(str(exc))
        self._edited()


class RelationshipTypeDialog(QDialog):
    """Names, impact flow and description of a new or existing relationship type."""

    def __init__(self, parent: QWidget | None, rtype: RelationshipTypeInfo | None) -> None:
        super().__init__(parent)
        self.setObjectName("relationshipTypeDialog")
        self.setWindowTitle(
            "Add a relationship type" if rtype is None else f"Relationship type {rtype.name}"
        )
        form = QFormLayout(self)
        self.name_edit = QLineEdit(rtype.name if rtype else "", self)
        self.name_edit.setToolTip("Read forward: source NAME target (e.g. Replicates to)")
        form.addRow("Name", self.name_edit)
        self.reverse_edit = QLineEdit(rtype.reverse_name if rtype else "", self)
        self.reverse_edit.setToolTip("Read backward: target NAME source (e.g. Replica of)")
        form.addRow("Reverse name", self.reverse_edit)
        self.flow_combo = QComboBox(self)
        for flow, label in FLOW_LABELS.items():
            self.flow_combo.addItem(label, str(flow))
        self.flow_combo.setCurrentIndex(
            self.flow_combo.findData(str(rtype.impact if rtype else ImpactFlow.TO_SOURCE))
        )
        form.addRow("Impact flows", self.flow_combo)
        self.description_edit = QLineEdit(rtype.description if rtype else "", self)
        form.addRow("Description", self.description_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class RelationshipTypesPanel(QWidget):
    """The relationship types: forward and reverse names, impact flow, how many use each."""

    changed = Signal()
    message = Signal(str, bool)  # text, is an error
    #: A change succeeded: (title, forward step, backward step) for the undo stack.
    undoable = Signal(str, object, object)

    def __init__(self, runner: TaskRunner, cmdb: Cmdb, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("relationshipTypesPanel")
        self.runner, self.cmdb = runner, cmdb
        self.counts: dict[int, int] = {}
        self.dialog: RelationshipTypeDialog | None = None
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 5, self)
        self.table.setObjectName("relationshipTypeTable")
        self.table.setHorizontalHeaderLabels(
            ["Name", "Reverse name", "Impact flows", "Relationships", "Built in"]
        )
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda *_: self.ask_edit())
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add type…")
        self.add_button.setObjectName("addRelationshipType")
        self.add_button.clicked.connect(self.ask_add)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.ask_edit)
        self.retire_button = QPushButton("Retire")
        self.retire_button.clicked.connect(self.retire)
        for b in (self.add_button, self.edit_button, self.retire_button):
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)
        retire_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        retire_key.activated.connect(self.retire)
        self.reload()

    def reload(self) -> None:
        """Show the catalogue's types now, and their counts once the worker has them."""
        self._fill()
        self.runner.submit(
            "Counting relationships",
            jobs.call,
            self.cmdb.classes.relationship_counts,
            on_done=self._counted,
            on_error=lambda exc: self._error(exc),
            visible=False,
        )

    def _counted(self, counts: dict[int, int]) -> None:
        self.counts = counts
        self._fill()

    def _fill(self) -> None:
        types = self.cmdb.meta.relationship_types
        keep = self.selected()
        self.table.setRowCount(len(types))
        for r, t in enumerate(types):
            n = self.counts.get(t.id)
            texts = [
                t.name,
                t.reverse_name,
                f"{FLOW_LABELS[ImpactFlow(t.impact)].split(' (')[0]} ({flow_word(t.impact)})",
                "…" if n is None else f"{n:,}",
                "yes" if t.builtin else "",
            ]
            for c, text in enumerate(texts):
                self.table.setItem(r, c, QTableWidgetItem(text))
            if keep is not None and t.id == keep.id:
                self.table.selectRow(r)

    def selected(self) -> RelationshipTypeInfo | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        if item is None:
            return None
        return next((t for t in self.cmdb.meta.relationship_types if t.name == item.text()), None)

    def select(self, name: str) -> None:
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.text() == name:
                self.table.selectRow(r)

    def _run(
        self,
        title: str,
        method: Callable[..., Any],
        *args: Any,
        undo: Step | None = None,
        **kwargs: Any,
    ) -> None:
        self.message.emit(f"{title}…", False)
        forward: Step = (method, args, {**kwargs, "source": Source.gui()})
        self.runner.submit(
            title,
            jobs.call,
            method,
            *args,
            on_done=lambda _r: self._done(title, forward, undo),
            on_error=self._error,
            source=Source.gui(),
            **kwargs,
        )

    def _done(self, title: str, forward: Step | None = None, undo: Step | None = None) -> None:
        if forward is not None and undo is not None:
            self.undoable.emit(title, forward, undo)
        self.message.emit(f"{title}: done.", False)
        self.reload()
        self.changed.emit()

    def _error(self, exc: BaseException) -> None:
        if not isinstance(exc, CmdbError):
            raise exc
        self.message.emit(str(exc), True)

    def ask_add(self) -> None:
        self.dialog = RelationshipTypeDialog(self, None)
        self.dialog.accepted.connect(self._add_accepted)
        self.dialog.open()

    def _add_accepted(self) -> None:
        d, self.dialog = self.dialog, None
        if d is None:
            return
        self.add(
            d.name_edit.text(),
            d.reverse_edit.text(),
            str(d.flow_combo.currentData()),
            d.description_edit.text().strip(),
        )

    def add(self, name: str, reverse: str, flow: str, description: str = "") -> None:
        self._run(
            f"Adding relationship type {name.strip()}",
            self.cmdb.classes.add_relationship_type,
            name,
            reverse,
            flow,
            description,
            undo=(
                self.cmdb.classes.delete_relationship_type,
                (name.strip(),),
                {"source": undo_source()},
            ),
        )

    def ask_edit(self) -> None:
        rtype = self.selected()
        if rtype is None:
            return
        self.dialog = RelationshipTypeDialog(self, rtype)
        self.dialog.accepted.connect(lambda: self._edit_accepted(rtype))
        self.dialog.open()

    def _edit_accepted(self, rtype: RelationshipTypeInfo) -> None:
        d, self.dialog = self.dialog, None
        if d is None:
            return
        self.edit(
            rtype.name,
            new_name=d.name_edit.text(),
            reverse_name=d.reverse_edit.text(),
            impact=str(d.flow_combo.currentData()),
            description=d.description_edit.text().strip(),
        )

    def edit(self, name: str, **changes: Any) -> None:
        rtype, _ = self.cmdb.meta.relationship_type(name)
        now = (changes.get("new_name") or rtype.name).strip()
        back = {
            "new_name": rtype.name,
            "reverse_name": rtype.reverse_name,
            "impact": rtype.impact,
            "description": rtype.description,
            "source": undo_source(),
        }
        self._run(
            f"Changing relationship type {name}",
            self.cmdb.classes.update_relationship_type,
            name,
            undo=(self.cmdb.classes.update_relationship_type, (now,), back),
            **changes,
        )

    def retire(self) -> None:
        rtype = self.selected()
        if rtype is None:
            return
        answer = QMessageBox.question(
            self,
            "Retire relationship type",
            f"Retire {rtype.name} / {rtype.reverse_name}? (Refused while relationships use it.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._run(
                f"Retiring relationship type {rtype.name}",
                self.cmdb.classes.delete_relationship_type,
                rtype.name,
                undo=(
                    self.cmdb.classes.add_relationship_type,
                    (rtype.name, rtype.reverse_name, rtype.impact, rtype.description),
                    {"source": undo_source()},
                ),
            )


#: One replayable model change: a ``cmdb.classes`` method, its arguments and keywords.
Step = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def undo_source() -> Source:
    from cmdb_desktop.vocabulary import ChangeSource

    return Source(ChangeSource.UNDO)


class ModelCommand(QUndoCommand):
    """A model change on the class manager's undo stack: pushed after it succeeded
    (its first redo does nothing); undo and redo replay ``backward``/``forward``
    through ``replay`` (the worker, validated and recorded like any change)."""

    def __init__(
        self, text: str, forward: Step, backward: Step, replay: Callable[[str, Step], None]
    ) -> None:
        super().__init__(text)
        self.forward, self.backward, self.replay = forward, backward, replay
        self._pushed = False

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self.replay(f"Redo {self.text()}", self.forward)

    def undo(self) -> None:
        self.replay(f"Undo {self.text()}", self.backward)
