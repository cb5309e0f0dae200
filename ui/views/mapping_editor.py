"""Edit how a file's columns map to the CMDB (shared by the import and audit wizards).

Per sheet: what it holds (CIs, relationships, or skip it), the class of rows
without a Class column, and per column: the attribute it fills (suggested
from its header), what a blank cell means, value translations ("Ready to
Deploy" → "In Stock") and the date order. For the whole file: ranked
identification keys (replacing PRODUCT.md §3's rules for this import),
defaults for new CIs, and saved mapping profiles (stored in the CMDB).
:meth:`MappingEditor.mapping` returns the edited
:class:`~importers.mapping.ImportMapping` or raises a ValidationError that
says what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
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

from cmdb_desktop.errors import ValidationError
from cmdb_desktop.metamodel import Metamodel
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
from importers.plan import ImportSource
from importers.workbook import KIND_CIS, KIND_RELATIONSHIPS
from ui.jobs_import import distinct_values
from ui.models.mapping import BLANK, BLANK_TEXT, DATE_TEXT, DATES, TARGET, VALUE_ROLE, MappingModel

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


class MappingEditor(QWidget):
    """``changed()`` after every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, audit: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("mappingEditor")
        self.audit = audit
        self.meta: Metamodel | None = None
        self.source: ImportSource | None = None
        self.mapping_: ImportMapping | None = None
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
        row.addStretch(1)
        layout.addLayout(row)
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
        self.class_combo.clear()
        self.class_combo.addItem(FROM_COLUMN, None)
        for info in sorted(meta.classes, key=lambda c: c.name):
            if not info.abstract:
                self.class_combo.addItem(info.name, info.name)
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
        guessed = self._guess_class(sm)
        self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(sm.default_class)))
        self.class_combo.setEnabled(sm.kind == KIND_CIS)
        self.model.set_sheet(sm, self.source.table(sm.sheet), self.targets(sm.kind))
        if guessed:
            self.changed.emit()

    def _guess_class(self, sm: SheetMapping) -> bool:
        """A CI sheet without a Class column gets a real class, not "(from the Class
        column)", which would refuse every new row (issue 15): the class its sheet is
        named after (Servers → Server), else Server, else the first class."""
        if (
            sm.kind != KIND_CIS
            or sm.default_class is not None
            or any(col.target == CLASS for col in sm.columns)
            or self.class_combo.count() < 2
        ):
            return False
        names = [str(self.class_combo.itemData(i)) for i in range(1, self.class_combo.count())]
        sheet = sm.sheet.casefold().strip()
        by_sheet = [n for n in names if sheet in (n.casefold(), n.casefold() + "s")]
        sm.default_class = (by_sheet or [n for n in names if n == "Server"] or names)[0]
        return True

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
        return [(None, "(ignored)"), *self.model.targets]

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

    def _class_chosen(self, _index: int) -> None:
        sm = self.sheet
        if sm is not None:
            sm.default_class = self.class_combo.currentData()
            self.changed.emit()

    def set_default_class(self, name: str | None) -> None:
        """Set the class of rows without one, for every CI sheet (what --class does)."""
        if self.mapping_ is None:
            return
        for sm in self.mapping_.sheets:
            if sm.kind == KIND_CIS:
                sm.default_class = name
        self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(name)))
        self.changed.emit()

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
