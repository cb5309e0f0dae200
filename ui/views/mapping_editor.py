"""Edit how a file's columns map to the CMDB (shared by the import and audit wizards).

Per sheet: what it holds (CIs, relationships, or skip it), the class of rows
without a Class column, and per column: the attribute it fills (suggested
from its header), what a blank cell means, value translations ("Ready to
Deploy" → "In Stock") and the date order. For the whole file: ranked
identification keys (replacing PRODUCT.md §3's rules for this import),
defaults for new CIs, and saved mapping profiles (stored in the CMDB).
A column of a CIs sheet may become a new attribute of the sheet's class
(issue 21): *Maps to* offers "Create as new attribute" with the type inferred
from its values (:meth:`MappingEditor.set_offers`, computed in the worker by
:func:`ui.jobs_import.attribute_proposals`), "Create all unmapped" does it
for every unmapped column, and :class:`NewAttributeDialog` changes the label,
the type and the choice list; :meth:`MappingEditor.new_attributes` lists them.
:meth:`MappingEditor.mapping` returns the edited
:class:`~importers.mapping.ImportMapping` or raises a ValidationError that
says what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
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
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.attribute_types import REGISTRY
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.metamodel import Metamodel
from cmdb_desktop.vocabulary import AttrType
from importers.mapping import (
    CLASS,
    ID,
    KIND_SKIP,
    NAME,
    RELATIONSHIP_LABELS,
    ImportMapping,
    SheetMapping,
    parse_keys,
)
from importers.new_attributes import NewAttribute
from importers.plan import ImportSource
from importers.workbook import KIND_CIS, KIND_RELATIONSHIPS
from ui.jobs_import import distinct_values
from ui.models.mapping import (
    BLANK,
    BLANK_TEXT,
    DATE_TEXT,
    DATES,
    IGNORED,
    NEW_ATTRIBUTE,
    TARGET,
    VALUE_ROLE,
    MappingModel,
    type_label,
)

Index = QModelIndex | QPersistentModelIndex
KIND_TEXT = {KIND_CIS: "CIs", KIND_RELATIONSHIPS: "Relationships", KIND_SKIP: "Skip this sheet"}
FROM_COLUMN = "(from the Class column)"


class ComboDelegate(QStyledItemDelegate):
    """Edits a cell with a combo box of ``options(index)`` = [(value, text)]."""

    def __init__(
        self, options: Callable[[Index], list[tuple[Any, str]]], parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._options = options

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        combo = QComboBox(parent)
        for value, text in self._options(index):
            combo.addItem(text, value)
        combo.setMaxVisibleItems(20)
        combo.activated.connect(lambda _i, c=combo: self.commitData.emit(c))
        return combo

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        editor.setCurrentIndex(max(0, editor.findData(index.data(VALUE_ROLE))))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class TranslationsDialog(QDialog):
    """Value in the file → value in the CMDB, for one column."""

    def __init__(
        self,
        parent: QWidget,
        column: str,
        found: list[str],
        choices: list[str] | None,
        current: dict[str, str],
    ) -> None:
        super().__init__(parent)
        self.setObjectName("translationsDialog")
        self.setWindowTitle(f"Translate the values of “{column}”")
        layout = QVBoxLayout(self)
        hint = QLabel(
            "Say what each value in the file means in the CMDB. Leave a row blank to "
            "import the value as it is.",
            self,
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        values = list(dict.fromkeys([*found, *current]))
        self.table = QTableWidget(len(values), 2, self)
        self.table.setHorizontalHeaderLabels(["In the file", "In the CMDB"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self._editors: list[QComboBox | QLineEdit] = []
        for n, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(n, 0, item)
            editor: QComboBox | QLineEdit
            if choices:
                editor = QComboBox(self.table)
                editor.addItem("", "")
                for choice in choices:
                    editor.addItem(choice, choice)
                editor.setCurrentIndex(max(0, editor.findData(current.get(value, ""))))
            else:
                editor = QLineEdit(current.get(value, ""), self.table)
            self.table.setCellWidget(n, 1, editor)
            self._editors.append(editor)
        self._values = values
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(480, 420)

    def translations(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for value, editor in zip(self._values, self._editors, strict=True):
            text = editor.currentData() if isinstance(editor, QComboBox) else editor.text()
            if text and text.strip() and text.strip() != value:
                out[value] = text.strip()
        return out


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class NewAttributeDialog(QDialog):
    """Label, type and choice list of the new attribute a column becomes; shows what
    was inferred from the column's values."""

    def __init__(self, parent: QWidget | None, attribute: NewAttribute, inferred: NewAttribute):
        super().__init__(parent)
        self.setObjectName("newAttributeDialog")
        self.setWindowTitle(f"New attribute from “{attribute.column}”")
        self.base = attribute
        form = QFormLayout(self)
        kind = type_label(inferred.type)
        if inferred.choices:
            kind += f" ({', '.join(inferred.choices)})"
        about = QLabel(
            f"Column “{attribute.column}” of sheet “{attribute.sheet}” holds "
            f"{attribute.values:,} value(s); inferred type: {kind}. The attribute is "
            f"added to the class {attribute.class_name} when you import, and removed "
            "again if the import's batch is rolled back.",
            self,
        )
        about.setWordWrap(True)
        form.addRow(about)
        self.label_edit = QLineEdit(attribute.label, self)
        self.label_edit.setMaxLength(100)
        form.addRow("Label", self.label_edit)
        self.type_combo = QComboBox(self)
        for name, kind_ in REGISTRY.items():
            if name != AttrType.REFERENCE:
                self.type_combo.addItem(kind_.label, name)
        self.type_combo.setCurrentIndex(max(0, self.type_combo.findData(attribute.type)))
        form.addRow("Type", self.type_combo)
        choices = attribute.choices or inferred.choices or ()
        self.choices_edit = QLineEdit(", ".join(choices), self)
        self.choices_edit.setPlaceholderText("Comma-separated, e.g. Gold, Silver, Bronze")
        form.addRow("Choices", self.choices_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.label_edit.textChanged.connect(self._edited)
        self.choices_edit.textChanged.connect(self._edited)
        self.type_combo.currentIndexChanged.connect(self._edited)
        self._edited()
        self.resize(460, self.sizeHint().height())

    def _edited(self, *_: object) -> None:
        is_choice = self.type_combo.currentData() == AttrType.CHOICE
        self.choices_edit.setEnabled(is_choice)
        ok = bool(self.label_edit.text().strip()) and (
            not is_choice or bool(_split(self.choices_edit.text()))
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def attribute(self) -> NewAttribute:
        """The column's new attribute as the fields say."""
        return self.base.edited(
            self.label_edit.text(),
            str(self.type_combo.currentData()),
            _split(self.choices_edit.text()),
        )


class MappingEditor(QWidget):
    """``changed()`` after every edit; ``class_changed()`` when the class of a sheet's
    rows or what a sheet holds changed (the new attributes' class follows)."""

    changed = Signal()
    class_changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, audit: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("mappingEditor")
        self.audit = audit
        self.meta: Metamodel | None = None
        self.source: ImportSource | None = None
        self.mapping_: ImportMapping | None = None
        #: (sheet, column) → the new attribute the column could become (inferred).
        self.offers: dict[tuple[str, str], NewAttribute] = {}
        #: sheet → column → the new attribute it becomes (as the user edited it).
        self.new_by_sheet: dict[str, dict[str, NewAttribute]] = {}
        #: The classes a sheet's rows may default to (not abstract), by name.
        self.class_names: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.sheet_combo = QComboBox(self)
        self.sheet_combo.currentIndexChanged.connect(self._sheet_chosen)
        self.kind_combo = QComboBox(self)
        for kind, text in KIND_TEXT.items():
            if not audit or kind != KIND_RELATIONSHIPS:
                self.kind_combo.addItem(text, kind)
        self.kind_combo.activated.connect(self._kind_chosen)
        self.class_combo = QComboBox(self)
        self.class_combo.setMinimumWidth(180)
        self.class_combo.activated.connect(self._class_chosen)
        top.addWidget(QLabel("Sheet", self))
        top.addWidget(self.sheet_combo, 1)
        top.addWidget(QLabel("holds", self))
        top.addWidget(self.kind_combo)
        top.addWidget(QLabel("Class of rows without one", self))
        top.addWidget(self.class_combo, 1)
        layout.addLayout(top)
        self.model = MappingModel(self)
        self.model.dataChanged.connect(lambda *_: self.changed.emit())
        self.table = QTableView(self)
        self.table.setObjectName("mappingTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.AllEditTriggers
            & ~QAbstractItemView.EditTrigger.CurrentChanged
        )
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 170), (2, 190), (3, 170), (4, 130), (5, 130)):
            self.table.setColumnWidth(col, width)
        self.table.setItemDelegateForColumn(TARGET, ComboDelegate(self._target_options, self))
        self.table.setItemDelegateForColumn(
            BLANK, ComboDelegate(lambda _i: list(BLANK_TEXT.items()), self)
        )
        self.table.setItemDelegateForColumn(
            DATES, ComboDelegate(lambda _i: list(DATE_TEXT.items()), self)
        )
        self.table.doubleClicked.connect(self._double_clicked)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.values_button = QPushButton("Value translations…", self)
        self.values_button.setToolTip("Say what the selected column's values mean in the CMDB")
        self.values_button.clicked.connect(self.edit_translations)
        row.addWidget(self.values_button)
        self.new_all_button = QPushButton("Create all unmapped as new attributes", self)
        self.new_all_button.setObjectName("createAllUnmapped")
        self.new_all_button.setToolTip(
            "Every ignored column of a CIs sheet becomes a new attribute of the sheet's class, "
            "typed from its values (shown in the preview before anything is written)"
        )
        self.new_all_button.clicked.connect(self.create_all_unmapped)
        self.new_edit_button = QPushButton("Edit new attribute…", self)
        self.new_edit_button.setObjectName("editNewAttribute")
        self.new_edit_button.setToolTip(
            "Change the label, type or choice list of the new attribute the selected "
            "column becomes"
        )
        self.new_edit_button.clicked.connect(self.edit_new_attribute)
        row.addWidget(self.new_all_button)
        row.addWidget(self.new_edit_button)
        if audit:
            self.new_all_button.hide()
            self.new_edit_button.hide()
        row.addStretch(1)
        layout.addLayout(row)
        self.new_note = QLabel(self)
        self.new_note.setObjectName("newAttributesNote")
        self.new_note.setWordWrap(True)
        layout.addWidget(self.new_note)
        self.model.dataChanged.connect(lambda *_: self._new_changed())
        self.model.dataChanged.connect(lambda *_: self._columns_edited())
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._new_changed())
        form = QFormLayout()
        self.keys_edit = QLineEdit(self)
        self.keys_edit.setPlaceholderText(
            "Default rules (hardware: serial, asset tag, name; others: name in class). "
            "E.g. Asset Tag; Serial Number"
        )
        self.keys_edit.setToolTip(
            "Ranked identification keys, separated by ';' (a rule of several fields: "
            "'Name, Site'). The first rule whose values a row has decides."
        )
        self.keys_edit.textEdited.connect(lambda _t: self.changed.emit())
        form.addRow("Identify rows by", self.keys_edit)
        self.status_default = QComboBox(self)
        self.environment_default = QComboBox(self)
        if not audit:
            defaults = QHBoxLayout()
            defaults.addWidget(QLabel("Status", self))
            defaults.addWidget(self.status_default)
            defaults.addWidget(QLabel("Environment", self))
            defaults.addWidget(self.environment_default)
            defaults.addStretch(1)
            form.addRow("New CIs get (when blank)", defaults)
        layout.addLayout(form)

    # -- content -------------------------------------------------------------------
    def set_mapping(self, meta: Metamodel, source: ImportSource, mapping: ImportMapping) -> None:
        self.meta, self.source, self.mapping_ = meta, source, mapping
        self.offers, self.new_by_sheet = {}, {}
        self.class_names = [
            info.name for info in sorted(meta.classes, key=lambda c: c.name) if not info.abstract
        ]
        for combo, key in (
            (self.status_default, "status"),
            (self.environment_default, "environment"),
        ):
            combo.clear()
            combo.addItem("(as in the file)", None)
            attr = meta.find_attribute(meta.root, key)
            for choice in (attr.choices or ()) if attr else ():
                combo.addItem(str(choice), choice)
            combo.setCurrentIndex(max(0, combo.findData(mapping.defaults.get(key))))
        self.keys_edit.setText(
            "; ".join(", ".join(self._key_label(k) for k in rule) for rule in mapping.keys or [])
        )
        self.sheet_combo.blockSignals(True)
        self.sheet_combo.clear()
        sheets = [sm for sm in mapping.sheets if not self.audit or sm.kind != KIND_RELATIONSHIPS]
        for sm in sheets:
            self.sheet_combo.addItem(sm.sheet, sm.sheet)
        self.sheet_combo.blockSignals(False)
        self.sheet_combo.setEnabled(len(sheets) > 1)
        self._sheet_chosen(0)

    def _key_label(self, key: str) -> str:
        if key == NAME or self.meta is None:
            return key.capitalize() if key == NAME else key
        attr = self.meta.all_attribute_keys.get(key)
        return attr.label if attr is not None else key

    @property
    def sheet(self) -> SheetMapping | None:
        if self.mapping_ is None:
            return None
        return self.mapping_.sheet(str(self.sheet_combo.currentData() or ""))

    def _sheet_chosen(self, _index: int) -> None:
        sm = self.sheet
        if sm is None or self.source is None:
            self.model.set_sheet(None, None, [])
            return
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(sm.kind)))
        guessed = self._fill_classes(sm)
        self.class_combo.setEnabled(sm.kind == KIND_CIS)
        self.model.set_sheet(
            sm,
            self.source.table(sm.sheet),
            self.targets(sm.kind),
            self._offers_of(sm) if not self.audit else {},
            self.new_by_sheet.setdefault(sm.sheet, {}),
        )
        self._new_changed()
        if guessed:
            self.changed.emit()

    @staticmethod
    def _has_class_column(sm: SheetMapping) -> bool:
        return any(col.target == CLASS for col in sm.columns)

    def _fill_classes(self, sm: SheetMapping) -> bool:
        """The class choices of ``sm``: "(from the Class column)" only when a column maps
        to Class (issue 15); True when the sheet's class had to be guessed."""
        guessed = self._guess_class(sm)
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        if self._has_class_column(sm):
            self.class_combo.addItem(FROM_COLUMN, None)
        for name in self.class_names:
            self.class_combo.addItem(name, name)
        self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(sm.default_class)))
        self.class_combo.blockSignals(False)
        return guessed

    def _guess_class(self, sm: SheetMapping) -> bool:
        """A CI sheet without a Class column gets a real class, never "(from the Class
        column)", which would refuse every new row (issue 15): the class its sheet is
        named after (Servers → Server), else Server, else the first class."""
        if (
            sm.kind != KIND_CIS
            or sm.default_class is not None
            or self._has_class_column(sm)
            or not self.class_names
        ):
            return False
        names = self.class_names
        sheet = sm.sheet.casefold().strip()
        by_sheet = [n for n in names if sheet in (n.casefold(), n.casefold() + "s")]
        sm.default_class = (by_sheet or [n for n in names if n == "Server"] or names)[0]
        return True

    def _columns_edited(self) -> None:
        """A column mapped to Class or away from it changes the class choices."""
        sm = self.sheet
        if sm is None or sm.kind != KIND_CIS:
            return
        offered = self.class_combo.count() > 0 and self.class_combo.itemData(0) is None
        if offered != self._has_class_column(sm):
            if self._fill_classes(sm):
                self.changed.emit()
            self.class_changed.emit()

    def targets(self, kind: str) -> list[tuple[str, str]]:
        """(key, label) of what a column of a sheet of ``kind`` may fill."""
        if kind == KIND_RELATIONSHIPS:
            return list(RELATIONSHIP_LABELS.items())
        out = [(NAME, "Name"), (CLASS, "Class"), (ID, "ID (tie-breaker)")]
        if self.meta is not None:
            attrs = sorted(self.meta.all_attribute_keys.values(), key=lambda a: a.label.casefold())
            out += [(a.key, a.label) for a in attrs]
        return out

    def _target_options(self, index: Index) -> list[tuple[Any, str]]:
        options: list[tuple[Any, str]] = [(None, IGNORED)]
        sm = self.model.sheet
        if sm is not None and 0 <= index.row() < len(sm.columns):
            offer = self.model.offers.get(sm.columns[index.row()].column)
            if offer is not None:
                made = self.model.new.get(offer.column, offer)
                options.append(
                    (NEW_ATTRIBUTE, f"Create as new attribute ({type_label(made.type)})")
                )
        return [*options, *self.model.targets]

    def _kind_chosen(self, _index: int) -> None:
        sm = self.sheet
        if sm is None:
            return
        kind = self.kind_combo.currentData()
        if kind != sm.kind:
            sm.kind = kind
            if kind != KIND_SKIP:  # targets of the other kind mean nothing here
                valid = {k for k, _ in self.targets(kind)}
                for col in sm.columns:
                    if col.target not in valid:
                        col.target = None
            self._sheet_chosen(self.sheet_combo.currentIndex())
            self.changed.emit()
            self.class_changed.emit()

    def _class_chosen(self, _index: int) -> None:
        sm = self.sheet
        if sm is not None:
            sm.default_class = self.class_combo.currentData()
            self.changed.emit()
            self.class_changed.emit()

    def set_default_class(self, name: str | None) -> None:
        """Set the class of rows without one, for every CI sheet (what --class does);
        None (from the Class column) only for sheets that have one."""
        if self.mapping_ is None:
            return
        for sm in self.mapping_.sheets:
            if sm.kind == KIND_CIS:
                sm.default_class = name
                self._guess_class(sm)
        current = self.sheet
        self.class_combo.setCurrentIndex(
            max(0, self.class_combo.findData(current.default_class if current else name))
        )
        self.changed.emit()
        self.class_changed.emit()

    # -- new attributes (issue 21) -------------------------------------------------
    def _offers_of(self, sm: SheetMapping) -> dict[str, NewAttribute]:
        if sm.kind != KIND_CIS:
            return {}
        return {col: a for (sheet, col), a in self.offers.items() if sheet == sm.sheet}

    def set_offers(self, offers: dict[tuple[str, str], NewAttribute]) -> None:
        """What each column could become (inferred in the worker); the columns already
        chosen keep the user's label, type and choices and follow their sheet's class,
        those whose sheet has no class any more go back to ignored."""
        self.offers = dict(offers)
        for sheet, chosen in self.new_by_sheet.items():
            for column, made in list(chosen.items()):
                offer = offers.get((sheet, column))
                if offer is None:
                    del chosen[column]
                else:
                    chosen[column] = replace(
                        made, class_name=offer.class_name, values=offer.values
                    )
        if self.mapping_ is not None:
            self._sheet_chosen(self.sheet_combo.currentIndex())

    def set_new_attribute(self, column: str, attribute: NewAttribute | None = None) -> None:
        """Make ``column`` of the current sheet a new attribute: ``attribute`` (edited), or
        the one inferred from its values. ValidationError when it cannot be one."""
        row = self.model.row_of(column)
        sm = self.sheet
        if row is None or sm is None:
            raise ValidationError(f"The sheet has no column {column!r}.")
        offer = self.model.offers.get(sm.columns[row].column)
        if offer is None:
            raise ValidationError(
                f"Column {column!r} cannot become a new attribute: its sheet needs a class, "
                "and its header must not name an attribute the class already has."
            )
        self.model.set_new_attribute(row, attribute or self.model.new.get(offer.column, offer))

    def create_all_unmapped(self) -> int:
        """Every ignored column of every CIs sheet that can become a new attribute becomes
        one; returns how many did."""
        if self.mapping_ is None:
            return 0
        made = 0
        for sm in self.mapping_.sheets:
            if sm.kind != KIND_CIS:
                continue
            chosen = self.new_by_sheet.setdefault(sm.sheet, {})
            for col in sm.columns:
                offer = self.offers.get((sm.sheet, col.column))
                if col.target is None and offer is not None and col.column not in chosen:
                    chosen[col.column] = offer
                    made += 1
        self._sheet_chosen(self.sheet_combo.currentIndex())
        if not made:
            self.new_note.setText(
                "No ignored column can become a new attribute (each needs values, a sheet "
                "with a class, and a header the class does not have yet)."
            )
            self.new_note.show()
        self.changed.emit()
        return made

    def edit_new_attribute(self) -> None:
        """Ask for the label, type and choices of the selected column's new attribute."""
        row = self.table.currentIndex().row()
        sm = self.sheet
        if sm is None or not 0 <= row < len(sm.columns):
            return
        offer = self.model.offers.get(sm.columns[row].column)
        if offer is None:
            return
        current = self.model.new.get(offer.column, offer)
        dialog = NewAttributeDialog(self, current, offer)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.model.set_new_attribute(row, dialog.attribute())

    def _new_changed(self) -> None:
        row = self.table.currentIndex().row()
        sm = self.model.sheet
        offered = sm is not None and 0 <= row < len(sm.columns)
        self.new_edit_button.setEnabled(
            offered and sm is not None and sm.columns[row].column in self.model.offers
        )
        self.new_all_button.setEnabled(bool(self.offers))
        chosen = self.new_attributes()
        if chosen:
            names = ", ".join(f"{a.label} ({type_label(a.type)})" for a in chosen[:6])
            more = f" and {len(chosen) - 6} more" if len(chosen) > 6 else ""
            self.new_note.setText(
                f"New attributes, created when you import (check them in the preview): "
                f"{names}{more}."
            )
        else:
            self.new_note.setText("")
        self.new_note.setVisible(bool(self.new_note.text()))

    def new_attributes(self) -> list[NewAttribute]:
        """The new attributes the chosen columns of the CIs sheets become, in sheet order."""
        if self.mapping_ is None:
            return []
        out: list[NewAttribute] = []
        for sm in self.mapping_.sheets:
            if sm.kind != KIND_CIS:
                continue
            chosen = self.new_by_sheet.get(sm.sheet, {})
            for col in sm.columns:
                made = chosen.get(col.column)
                if made is not None and col.target is None:
                    out.append(made)
        return out

    # -- translations --------------------------------------------------------------
    def _double_clicked(self, index: QModelIndex) -> None:
        if index.column() == 4:
            self.edit_translations()

    def edit_translations(self) -> None:
        row = self.table.currentIndex().row()
        sm = self.sheet
        if sm is None or self.source is None or not 0 <= row < len(sm.columns):
            return
        col = sm.columns[row]
        choices = None
        if self.meta is not None and col.target is not None:
            attr = self.meta.all_attribute_keys.get(col.target)
            if attr is not None and attr.choices:
                choices = [str(c) for c in attr.choices]
        found = distinct_values(self.source, sm.sheet, col.column)
        dialog = TranslationsDialog(self, col.column, found, choices, col.values)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.model.set_translations(row, dialog.translations())

    def set_translations(self, column: str, values: dict[str, str]) -> None:
        row = self.model.row_of(column)
        if row is None:
            raise ValidationError(f"The sheet has no column {column!r}.")
        self.model.set_translations(row, values)

    # -- the result ----------------------------------------------------------------
    def mapping(self) -> ImportMapping:
        """The edited mapping; ValidationError (what to fix) for bad keys or unusable sheets."""
        assert self.mapping_ is not None and self.meta is not None
        m = self.mapping_
        specs = [part for part in self.keys_edit.text().split(";") if part.strip()]
        m.keys = parse_keys(self.meta, specs)
        m.defaults = {
            k: v
            for k, v in (
                ("status", self.status_default.currentData()),
                ("environment", self.environment_default.currentData()),
            )
            if v is not None
        }
        for sm in m.sheets:
            targets = {c.target for c in sm.columns}
            if sm.kind == KIND_CIS and sm.default_class is None and CLASS not in targets:
                raise ValidationError(
                    f"Sheet {sm.sheet!r} has no Class column: choose the class of its rows."
                )
            if sm.kind == KIND_CIS and not targets - {None}:
                raise ValidationError(
                    f"Sheet {sm.sheet!r}: map at least the column that names or identifies "
                    "the CIs (Name, Serial Number…), or choose “Skip this sheet”."
                )
            if sm.kind == KIND_RELATIONSHIPS and not {"source", "type", "target"} <= targets:
                raise ValidationError(
                    f"Sheet {sm.sheet!r}: a relationships sheet needs Source, Type and Target "
                    "columns."
                )
        return m

    def targets_in_use(self) -> dict[str, str]:
        """column → target of the current sheet (for tests and summaries)."""
        sm = self.sheet
        return {c.column: c.target for c in sm.columns if c.target} if sm else {}
