"""The class manager: classes, their attributes, required fields, identification rules.

Every change goes through ``cmdb.classes`` in the worker; the core validates
it and migrates stored data (retyping converts every value first and refuses
with the list of CIs to fix). Problems show in the dialog's message line.
The catalogue reloads after each change and every view rebuilds from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.attribute_types import REGISTRY
from cmdb_desktop.catalogue import STATUSES
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CmdbError, ValidationError
from cmdb_desktop.history import Source
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel
from cmdb_desktop.values import to_text
from cmdb_desktop.vocabulary import AttrType
from ui import jobs
from ui.tasks import TaskRunner
from ui.theme import class_icon, icon
from ui.views.model_editors import (
    DefinitionDialog,
    ModelCommand,
    RelationshipTypesPanel,
    Step,
    undo_source,
)

TYPE_LABELS = {name: kind.label for name, kind in REGISTRY.items()}
#: The attribute table's column of default values.
DEFAULT_COLUMN = 5


class AttributeDialog(QDialog):
    """Ask for a new attribute: label, type, choices or referenced class, required."""

    def __init__(self, parent: QWidget | None, meta: Metamodel, info: ClassInfo) -> None:
        super().__init__(parent)
        self.setObjectName("attributeDialog")
        self.setWindowTitle(f"Add an attribute to {info.name}")
        form = QFormLayout(self)
        self.label_edit = QLineEdit(self)
        self.label_edit.setPlaceholderText("e.g. Rack Units")
        form.addRow("Label", self.label_edit)
        self.type_combo = QComboBox(self)
        for name, kind in REGISTRY.items():
            self.type_combo.addItem(kind.label, name)
        form.addRow("Type", self.type_combo)
        self.choices_edit = QLineEdit(self)
        self.choices_edit.setPlaceholderText("Comma-separated, e.g. Gold, Silver, Bronze")
        form.addRow("Choices", self.choices_edit)
        self.reference_combo = QComboBox(self)
        self.reference_combo.addItem("Any class", None)
        for c in sorted(meta.classes, key=lambda c: c.name.casefold()):
            self.reference_combo.addItem(c.name, c.name)
        form.addRow("Refers to", self.reference_combo)
        self.description_edit = QLineEdit(self)
        form.addRow("Description", self.description_edit)
        self.required_box = QCheckBox("Required (only possible while the class holds no CIs)")
        form.addRow("", self.required_box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.type_combo.currentIndexChanged.connect(self._type_changed)
        self._type_changed()

    def _type_changed(self, *_: object) -> None:
        kind = self.type_combo.currentData()
        self.choices_edit.setEnabled(kind == "choice")
        self.reference_combo.setEnabled(kind == "reference")

    def spec(self) -> dict[str, Any]:
        kind = self.type_combo.currentData()
        spec: dict[str, Any] = {
            "label": self.label_edit.text().strip(),
            "type_": kind,
            "description": self.description_edit.text().strip(),
            "required": self.required_box.isChecked(),
        }
        if kind == "choice":
            spec["choices"] = [c.strip() for c in self.choices_edit.text().split(",")]
        if kind == "reference":
            spec["reference_class"] = self.reference_combo.currentData()
        return spec


class RuleDialog(QDialog):
    """Pick the attributes that together identify a CI (one rule)."""

    def __init__(self, parent: QWidget | None, fields: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an identification rule")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("A CI is identified by the values of all the checked fields:"))
        self.list = QListWidget(self)
        for key, label in fields:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def rule(self) -> list[str]:
        out = []
        for n in range(self.list.count()):
            item = self.list.item(n)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out


class LifecycleDialog(QDialog):
    """A class's lifecycle rules (PRODUCT.md §10): tick the statuses each status may
    move to; list the fields a move to a status requires (labels, comma-separated)."""

    def __init__(self, parent: QWidget | None, meta: Metamodel, info: ClassInfo) -> None:
        super().__init__(parent)
        self.setObjectName("lifecycleDialog")
        self.setWindowTitle(f"Lifecycle of {info.name}")
        rules = meta.lifecycle(info)
        labels = {a.key: a.label for a in meta.attributes_of(info)}
        self.inherit = False
        n = len(STATUSES)
        self.grid = QTableWidget(n, n + 1, self)
        self.grid.setObjectName("transitionGrid")
        self.grid.setHorizontalHeaderLabels([*STATUSES, "Entering it requires"])
        self.grid.setVerticalHeaderLabels([f"from {s}" for s in STATUSES])
        for r, old in enumerate(STATUSES):
            allowed = set(rules.next_statuses(old))
            for c, new in enumerate(STATUSES):
                item = QTableWidgetItem()
                if old == new:
                    item.setFlags(Qt.ItemFlag.NoItemFlags)
                else:
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                    state = Qt.CheckState.Checked if new in allowed else Qt.CheckState.Unchecked
                    item.setCheckState(state)
                self.grid.setItem(r, c, item)
            needs = [labels.get(k, k) for k in rules.requires.get(old, ())]
            self.grid.setItem(r, n, QTableWidgetItem(", ".join(needs)))
        self.grid.resizeColumnsToContents()
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Each row is a status: tick where a CI in it may move, and list the fields "
                "a CI needs to enter it.",
                self,
            )
        )
        layout.addWidget(self.grid, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        inherit = buttons.addButton("Use inherited", QDialogButtonBox.ButtonRole.ResetRole)
        inherit.clicked.connect(self._use_inherited)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(820, 330)

    def _use_inherited(self) -> None:
        self.inherit = True
        self.accept()

    def rules(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """(status → statuses it may move to, status → fields moving there requires)."""
        n = len(STATUSES)
        moves: dict[str, list[str]] = {}
        needs: dict[str, list[str]] = {}
        for r, old in enumerate(STATUSES):
            moves[old] = []
            for c, new in enumerate(STATUSES):
                item = self.grid.item(r, c)
                if old != new and item is not None and item.checkState() == Qt.CheckState.Checked:
                    moves[old].append(new)
            cell = self.grid.item(r, n)
            text = cell.text() if cell is not None else ""
            needs[old] = [f.strip() for f in text.split(",") if f.strip()]
        return moves, needs


class ClassManager(QDialog):
    """A non-modal window over the class catalogue; ``changed()`` after each change."""

    changed = Signal()

    def __init__(self, runner: TaskRunner, cmdb: Cmdb, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("classManager")
        self.setWindowTitle("Class manager")
        self.runner = runner
        self.cmdb = cmdb
        self.current: ClassInfo | None = None
        self.attribute_dialog: AttributeDialog | None = None
        self.rule_dialog: RuleDialog | None = None
        self.definition_dialog: DefinitionDialog | None = None
        self.undo_stack = QUndoStack(self)
        self._rules: list[list[str]] = []
        self._loading = False

        layout = QVBoxLayout(self)
        splitter = QSplitter(self)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget(left)
        self.tree.setObjectName("classTree")
        self.tree.setHeaderHidden(True)
        self.tree.currentItemChanged.connect(self._class_selected)
        left_layout.addWidget(self.tree, 1)
        self.add_class_button = QPushButton(icon("new"), "Add subclass…")
        self.add_class_button.clicked.connect(self.ask_add_class)
        left_layout.addWidget(self.add_class_button)
        class_buttons = QHBoxLayout()
        self.move_class_button = QPushButton("Move…")
        self.move_class_button.setObjectName("moveClassButton")
        self.move_class_button.clicked.connect(self.ask_move_class)
        self.delete_class_button = QPushButton(icon("delete"), "Delete…")
        self.delete_class_button.setObjectName("deleteClassButton")
        self.delete_class_button.clicked.connect(self.ask_delete_class)
        class_buttons.addWidget(self.move_class_button)
        class_buttons.addWidget(self.delete_class_button)
        left_layout.addLayout(class_buttons)
        splitter.addWidget(left)
        splitter.addWidget(self._build_details())
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 620])
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("classManagerTabs")
        self.tabs.addTab(splitter, "Classes")
        self.relationship_types = RelationshipTypesPanel(runner, cmdb, self)
        self.relationship_types.message.connect(self._panel_message)
        self.relationship_types.changed.connect(self.changed)
        self.tabs.addTab(self.relationship_types, "Relationship types")
        layout.addWidget(self.tabs, 1)
        self.message = QLabel("")
        self.message.setObjectName("classManagerMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.relationship_types.undoable.connect(self.push_undo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        # The model's own undo stack (Ctrl+Z / Ctrl+Shift+Z while this window has focus).
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)
        bottom = QHBoxLayout()
        for action in (self.undo_action, self.redo_action):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            bottom.addWidget(button)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
        self.resize(900, 640)
        self.reload()

    # -- building ------------------------------------------------------------
    def _build_details(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 0, 0, 0)
        group = QGroupBox("Class")
        form = QFormLayout(group)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("className")
        form.addRow("Name", self.name_edit)
        self.parent_label = QLabel()
        form.addRow("Parent", self.parent_label)
        self.description_edit = QLineEdit()
        form.addRow("Description", self.description_edit)
        flags = QHBoxLayout()
        self.abstract_box = QCheckBox("Abstract (groups subclasses, holds no CIs)")
        self.service_box = QCheckBox("Service class (listed first in impact)")
        flags.addWidget(self.abstract_box)
        flags.addWidget(self.service_box)
        flags.addStretch(1)
        form.addRow("", flags)
        self.apply_class_button = QPushButton("Apply")
        self.apply_class_button.clicked.connect(self.apply_class)
        self.lifecycle_button = QPushButton("Lifecycle…")
        self.lifecycle_button.setObjectName("lifecycleButton")
        self.lifecycle_button.setToolTip("Which status may follow which, and what a move requires")
        self.lifecycle_button.clicked.connect(self.ask_lifecycle)
        class_buttons = QHBoxLayout()
        class_buttons.addWidget(self.apply_class_button)
        class_buttons.addWidget(self.lifecycle_button)
        class_buttons.addStretch(1)
        form.addRow("", class_buttons)
        layout.addWidget(group)

        group = QGroupBox(
            "Attributes (inherited ones first; tick the required fields; double-click a "
            "default to change what new CIs get)"
        )
        col = QVBoxLayout(group)
        self.attributes = QTableWidget(0, 6)
        self.attributes.setObjectName("attributeTable")
        self.attributes.setHorizontalHeaderLabels(
            ["Label", "Key", "Type", "Defined in", "Required", "Default for new CIs"]
        )
        self.attributes.verticalHeader().hide()
        self.attributes.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.attributes.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # Only the default column's cells are editable (their flags say so).
        self.attributes.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.attributes.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.attributes.itemChanged.connect(self._required_toggled)
        col.addWidget(self.attributes, 1)
        row = QHBoxLayout()
        self.add_attribute_button = QPushButton(icon("new"), "Add attribute…")
        self.add_attribute_button.setObjectName("addAttributeButton")
        self.add_attribute_button.clicked.connect(self.ask_add_attribute)
        self.rename_attribute_button = QPushButton("Rename…")
        self.rename_attribute_button.clicked.connect(self.ask_rename_attribute)
        self.definition_button = QPushButton("Type and choices…")
        self.definition_button.setObjectName("definitionButton")
        self.definition_button.clicked.connect(self.ask_change_definition)
        self.delete_attribute_button = QPushButton(icon("delete"), "Delete")
        self.delete_attribute_button.clicked.connect(self.delete_attribute)
        for b in (
            self.add_attribute_button,
            self.rename_attribute_button,
            self.definition_button,
            self.delete_attribute_button,
        ):
            row.addWidget(b)
        row.addStretch(1)
        col.addLayout(row)
        layout.addWidget(group, 1)

        group = QGroupBox("Identification (first rule whose values are all present wins)")
        col = QVBoxLayout(group)
        self.rules_list = QListWidget()
        self.rules_list.setObjectName("rulesList")
        self.rules_list.setMaximumHeight(96)
        col.addWidget(self.rules_list)
        row = QHBoxLayout()
        self.scope_combo = QComboBox()
        self.scope_combo.addItem("Identity space: inherited", "inherit")
        self.scope_combo.addItem("Identity space: this class only", "class")
        self.scope_combo.addItem("Identity space: this class and its subclasses", "subtree")
        row.addWidget(self.scope_combo)
        add_rule = QPushButton("Add rule…")
        add_rule.clicked.connect(self.ask_add_rule)
        remove_rule = QPushButton("Remove")
        remove_rule.clicked.connect(self._remove_rule)
        up = QPushButton("Move up")
        up.clicked.connect(self._rule_up)
        inherit = QPushButton("Use inherited")
        inherit.clicked.connect(self._inherit_rules)
        self.apply_rules_button = QPushButton("Apply rules")
        self.apply_rules_button.clicked.connect(self.apply_rules)
        for b in (add_rule, remove_rule, up, inherit, self.apply_rules_button):
            row.addWidget(b)
        row.addStretch(1)
        col.addLayout(row)
        layout.addWidget(group)
        return box

    # -- showing -------------------------------------------------------------
    @property
    def meta(self) -> Metamodel:
        return self.cmdb.meta

    def reload(self) -> None:
        """Rebuild from the current catalogue, keeping the selected class."""
        keep = self.current.name if self.current else None
        meta = self.meta
        self.tree.blockSignals(True)
        self.tree.clear()
        items: dict[int, QTreeWidgetItem] = {}

        def add(parent: QTreeWidgetItem | None, info: ClassInfo) -> None:
            item = QTreeWidgetItem([info.name])
            item.setIcon(0, class_icon(info.icon))
            item.setData(0, Qt.ItemDataRole.UserRole, info.id)
            if parent is None:
                self.tree.addTopLevelItem(item)
            else:
                parent.addChild(item)
            items[info.id] = item
            for child in meta.children.get(info.id, []):
                add(item, child)

        add(None, meta.root)
        self.tree.expandAll()
        self.tree.blockSignals(False)
        target = meta.find_class(keep) if keep else None
        self.tree.setCurrentItem(items[(target or meta.root).id])
        self._show(target or meta.root)

    def select_class(self, name: str) -> None:
        info = self.meta.get_class(name)
        for item in self.tree.findItems(
            info.name, Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchExactly
        ):
            self.tree.setCurrentItem(item)

    def _class_selected(self, item: QTreeWidgetItem | None, _prev: Any) -> None:
        if item is None:
            return
        info = self.meta.class_by_id.get(item.data(0, Qt.ItemDataRole.UserRole))
        if info is not None:
            self._show(info)

    def _show(self, info: ClassInfo) -> None:
        meta = self.meta
        self.current = info
        self._loading = True
        try:
            self.name_edit.setText(info.name)
            parent = meta.class_by_id.get(info.parent_id) if info.parent_id else None
            self.parent_label.setText(parent.name if parent else "— (root)")
            self.description_edit.setText(info.description)
            self.abstract_box.setChecked(info.abstract)
            self.service_box.setChecked(info.service)
            required = set(meta.required_fields(info))
            own_required = set(info.required_fields)
            attrs = meta.attributes_of(info)
            self.attributes.setRowCount(len(attrs))
            for r, attr in enumerate(attrs):
                owner = meta.class_by_id[attr.class_id].name
                cells = [attr.label, attr.key, TYPE_LABELS.get(attr.type, attr.type), owner]
                for c, text in enumerate(cells):
                    cell = QTableWidgetItem(text)
                    cell.setData(Qt.ItemDataRole.UserRole, attr.key)
                    cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    self.attributes.setItem(r, c, cell)
                self.attributes.setItem(r, DEFAULT_COLUMN, self._default_cell(info, attr))
                check = QTableWidgetItem()
                check.setData(Qt.ItemDataRole.UserRole, attr.key)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                inherited_required = attr.key in required and attr.key not in own_required
                if not inherited_required:
                    flags |= Qt.ItemFlag.ItemIsUserCheckable
                check.setFlags(flags)
                check.setCheckState(
                    Qt.CheckState.Checked if attr.key in required else Qt.CheckState.Unchecked
                )
                if inherited_required:
                    check.setToolTip("Required by a class above this one")
                self.attributes.setItem(r, 4, check)
            own = info.id_rules is not None
            ident = meta.identification(info)
            self._rules = [list(r) for r in (info.id_rules or ident.rules)]
            self._show_rules(inherited=not own)
            scope = info.identity_scope or "inherit"
            self.scope_combo.setCurrentIndex(max(self.scope_combo.findData(scope), 0))
        finally:
            self._loading = False

    def _default_cell(self, info: ClassInfo, attr: AttributeInfo) -> QTableWidgetItem:
        """What new CIs of ``info`` get for ``attr``: this class's own default (editable),
        or one inherited from a class above (shown muted, and overridden by editing)."""
        meta = self.meta
        own = dict(info.defaults)
        value = meta.defaults(info).get(attr.key)
        cell = QTableWidgetItem(to_text(value))
        cell.setData(Qt.ItemDataRole.UserRole, attr.key)
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if attr.type != AttrType.REFERENCE:
            flags |= Qt.ItemFlag.ItemIsEditable
        cell.setFlags(flags)
        if value is not None and attr.key not in own:
            setter = next(
                c.name for c in reversed(meta.ancestors(info)) if attr.key in dict(c.defaults)
            )
            cell.setForeground(self.palette().placeholderText())
            cell.setToolTip(f"Set by {setter}; type a value to give {info.name} its own")
        elif attr.type == AttrType.REFERENCE:
            cell.setToolTip("A reference has no default value")
        return cell

    def _default_edited(self, item: QTableWidgetItem) -> None:
        """Save a changed default (a blank cell removes this class's own default)."""
        if self.current is None:
            return
        info = self.current
        key = str(item.data(Qt.ItemDataRole.UserRole))
        own = dict(info.defaults)
        text = item.text().strip()
        inherited = self.meta.defaults(info).get(key)
        if not text:
            if key not in own:
                return
            own.pop(key)
        elif key not in own and text == to_text(inherited):
            return  # the inherited value, unchanged
        else:
            own[key] = text
        self._run(
            f"Changing the defaults of {info.name}",
            self.cmdb.classes.update_class,
            info.name,
            defaults=own,
        )

    def _show_rules(self, *, inherited: bool = False) -> None:
        labels = self._labels()
        self.rules_list.clear()
        for n, rule in enumerate(self._rules, start=1):
            text = f"{n}. " + " + ".join(labels.get(k, k) for k in rule)
            if inherited:
                text += "   (inherited)"
            self.rules_list.addItem(text)

    def _labels(self) -> dict[str, str]:
        assert self.current is not None
        out = {"name": "Name"}
        out.update({a.key: a.label for a in self.meta.attributes_of(self.current)})
        return out

    def selected_attribute(self) -> str | None:
        row = self.attributes.currentRow()
        item = self.attributes.item(row, 1) if row >= 0 else None
        return item.text() if item is not None else None

    # -- running changes -----------------------------------------------------
    def _run(
        self,
        title: str,
        method: Callable[..., Any],
        *args: Any,
        select: str | None = None,
        undo: Step | None = None,
        **kwargs: Any,
    ) -> None:
        """Run one ``cmdb.classes`` method in the worker; afterwards show ``select``.
        With ``undo`` (the step that takes it back), the change goes on the undo stack."""
        self.message.setText(f"{title}…")
        self.message.setProperty("role", "muted")
        self._repolish(self.message)
        forward: Step = (method, args, kwargs)

        def done(_r: Any) -> None:
            if undo is not None:
                self.push_undo(title, forward, undo)
            self._done(title, select)

        self.runner.submit(
            title,
            jobs.call,
            method,
            *args,
            on_done=done,
            on_error=self._failed,
            **kwargs,
        )

    def push_undo(self, title: str, forward: Step, backward: Step) -> None:
        self.undo_stack.push(ModelCommand(title, forward, backward, self._replay))

    def _replay(self, title: str, step: Step) -> None:
        method, args, kwargs = step
        self.message.setText(f"{title}…")
        self.runner.submit(
            title,
            jobs.call,
            method,
            *args,
            on_done=lambda _r: self._done(title),
            on_error=self._failed,
            **kwargs,
        )

    def _done(self, title: str, select: str | None = None) -> None:
        self.message.setText(f"{title}: done.")
        self.message.setProperty("role", "muted")
        self._repolish(self.message)
        self.reload()
        self.relationship_types.reload()
        if select is not None and self.meta.find_class(select) is not None:
            self.select_class(select)
        self.changed.emit()

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, CmdbError):
            raise exc
        text = str(exc)
        if isinstance(exc, ValidationError) and exc.problems and not text:
            text = "; ".join(f"{k}: {v}" for k, v in exc.problems.items())
        self.message.setText(text)
        self.message.setProperty("role", "error")
        self._repolish(self.message)
        self.reload()

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    # -- class operations ----------------------------------------------------
    def ask_add_class(self) -> None:
        if self.current is None:
            return
        parent = self.current
        name, ok = QInputDialog.getText(
            self, "Add subclass", f"Name of the new subclass of {parent.name}:"
        )
        if ok and name.strip():
            self.add_class(name.strip(), parent.name)

    def add_class(self, name: str, parent: str, **flags: Any) -> None:
        self._run(
            f"Adding class {name}",
            self.cmdb.classes.add_class,
            name,
            parent,
            select=name,
            undo=(self.cmdb.classes.delete_class, (name,), {"source": undo_source()}),
            **flags,
        )

    def apply_class(self) -> None:
        if self.current is None:
            return
        info = self.current
        new_name = self.name_edit.text().strip()
        changes: dict[str, Any] = {}
        if new_name != info.name:
            changes["new_name"] = new_name
        if self.description_edit.text() != info.description:
            changes["description"] = self.description_edit.text()
        if self.abstract_box.isChecked() != info.abstract:
            changes["abstract"] = self.abstract_box.isChecked()
        if self.service_box.isChecked() != info.service:
            changes["service"] = self.service_box.isChecked()
        if not changes:
            self.message.setText("Nothing to change.")
            return
        back: dict[str, Any] = {
            "new_name": info.name,
            "description": info.description,
            "abstract": info.abstract,
            "service": info.service,
            "source": undo_source(),
        }
        self._run(
            f"Changing class {info.name}",
            self.cmdb.classes.update_class,
            info.name,
            select=new_name,
            undo=(self.cmdb.classes.update_class, (new_name,), back),
            **changes,
        )

    def _panel_message(self, text: str, error: bool) -> None:
        self.message.setText(text)
        self.message.setProperty("role", "error" if error else "muted")
        self._repolish(self.message)

    def ask_move_class(self) -> None:
        if self.current is None or self.current.parent_id is None:
            return
        info = self.current
        below = self.meta.subtree_ids(info)
        names = sorted((c.name for c in self.meta.classes if c.id not in below), key=str.casefold)
        parent = self.meta.class_by_id[info.parent_id or 0].name
        name, ok = QInputDialog.getItem(
            self, "Move class", f"Move {info.name} (and its subclasses) under:", names,
            names.index(parent) if parent in names else 0, False,
        )  # fmt: skip
        if ok and name and name != parent:
            self.move_class(info.name, name)

    def move_class(self, name: str, parent: str) -> None:
        info = self.meta.get_class(name)
        old = self.meta.class_by_id[info.parent_id or 0].name
        self._run(
            f"Moving {name} under {parent}",
            self.cmdb.classes.update_class,
            name,
            parent=parent,
            select=name,
            source=Source.gui(),
            undo=(
                self.cmdb.classes.update_class,
                (info.name,),
                {"parent": old, "source": undo_source()},
            ),
        )

    def ask_delete_class(self) -> None:
        if self.current is None:
            return
        from PySide6.QtWidgets import QMessageBox

        info = self.current
        answer = QMessageBox.question(
            self,
            "Delete class",
            f"Delete the class {info.name}? If CIs use it you choose where they move.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_class(info.name)

    def delete_class(self, name: str, move_to: str | None = None) -> None:
        title = f"Deleting class {name}"
        self.message.setText(f"{title}…")
        self.runner.submit(
            title,
            jobs.call,
            self.cmdb.classes.delete_class,
            name,
            move_to=move_to,
            source=Source.gui(),
            on_done=lambda _r: self._done(title),
            on_error=lambda exc: self._delete_refused(name, exc),
        )

    def _delete_refused(self, name: str, exc: BaseException) -> None:
        """A class whose CIs hold it back: offer to move them, then delete."""
        if not (isinstance(exc, ValidationError) and "class" in exc.problems):
            self._failed(exc)
            return
        info = self.meta.find_class(name)
        targets = sorted(
            (
                c.name
                for c in self.meta.classes
                if not c.abstract and c.id != (info.id if info else 0)
            ),
            key=str.casefold,
        )
        parent = self.meta.class_by_id.get(info.parent_id or 0) if info else None
        start = targets.index(parent.name) if parent and parent.name in targets else 0
        target, ok = QInputDialog.getItem(
            self, "Move the CIs", f"{exc} Move them to:", targets, start, False
        )
        if ok and target:
            self.delete_class(name, target)
        else:
            self._failed(exc)

    # -- attribute operations ------------------------------------------------
    def ask_change_definition(self) -> None:
        key = self.selected_attribute()
        if key is None or self.current is None:
            return
        attr = self.meta.find_attribute(self.current, key)
        if attr is None:
            return
        dialog = DefinitionDialog(self, self.runner, self.cmdb, self.current.name, attr)
        self.definition_dialog = dialog
        dialog.accepted.connect(lambda: self._definition_accepted(dialog))
        dialog.open()

    def _definition_accepted(self, dialog: DefinitionDialog) -> None:
        self.definition_dialog = None
        if self.current is None:
            return
        change = dialog.change()
        attr = dialog.attr
        back: dict[str, Any] = {"source": undo_source()}
        if "type_" in change:
            back["type_"] = attr.type
        if attr.choices is not None and ("choices" in change or "rename_choices" in change):
            back["choices"] = list(attr.choices)
            renames = change.get("rename_choices") or {}
            if renames:
                # values follow the names back (a merge cannot be split again)
                back["rename_choices"] = {new: old for old, new in renames.items()}
        elif "choices" in change:
            back["choices"] = None
        self._run(
            f"Changing {attr.label}",
            self.cmdb.classes.update_attribute,
            dialog.class_name,
            attr.key,
            source=Source.gui(),
            undo=(self.cmdb.classes.update_attribute, (dialog.class_name, attr.key), back),
            **change,
        )

    def ask_add_attribute(self) -> None:
        if self.current is None:
            return
        self.attribute_dialog = AttributeDialog(self, self.meta, self.current)
        self.attribute_dialog.accepted.connect(self._attribute_dialog_accepted)
        self.attribute_dialog.open()

    def _attribute_dialog_accepted(self) -> None:
        dialog = self.attribute_dialog
        self.attribute_dialog = None
        if dialog is None or self.current is None:
            return
        spec = dialog.spec()
        self.add_attribute(self.current.name, **spec)

    def add_attribute(
        self, class_name: str, label: str, type_: str = "text", **options: Any
    ) -> None:
        from cmdb_desktop.classes import key_from_label

        self._run(
            f"Adding attribute {label}",
            self.cmdb.classes.add_attribute,
            class_name,
            label,
            type_,
            undo=(
                self.cmdb.classes.delete_attribute,
                (class_name, key_from_label(options.get("key") or label)),
                {"source": undo_source()},
            ),
            **options,
        )

    def ask_rename_attribute(self) -> None:
        key = self.selected_attribute()
        if key is None or self.current is None:
            return
        label = self._labels().get(key, key)
        text, ok = QInputDialog.getText(
            self, "Rename attribute", "New label:", QLineEdit.EchoMode.Normal, label
        )
        if ok and text.strip() and text.strip() != label:
            self._run(
                f"Renaming {label}",
                self.cmdb.classes.update_attribute,
                self.current.name,
                key,
                label=text.strip(),
                undo=(
                    self.cmdb.classes.update_attribute,
                    (self.current.name, key),
                    {"label": label, "source": undo_source()},
                ),
            )

    def delete_attribute(self) -> None:
        key = self.selected_attribute()
        if key is None or self.current is None:
            return
        from PySide6.QtWidgets import QMessageBox

        label = self._labels().get(key, key)
        answer = QMessageBox.question(
            self,
            "Delete attribute",
            f"Delete the attribute {label}? CIs holding a value lose it (the history keeps it).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._run(
                f"Deleting attribute {label}",
                self.cmdb.classes.delete_attribute,
                self.current.name,
                key,
            )

    def _required_toggled(self, item: QTableWidgetItem) -> None:
        if self._loading or self.current is None:
            return
        if item.column() == DEFAULT_COLUMN:
            self._default_edited(item)
            return
        if item.column() != 4:
            return
        info = self.current
        key = str(item.data(Qt.ItemDataRole.UserRole))
        own = [k for k in info.required_fields if k != key]
        if item.checkState() == Qt.CheckState.Checked:
            own.append(key)
        self._run(
            f"Changing required fields of {info.name}",
            self.cmdb.classes.update_class,
            info.name,
            required_fields=own,
        )

    # -- identification rules ------------------------------------------------
    def ask_add_rule(self) -> None:
        if self.current is None:
            return
        fields = list(self._labels().items())
        self.rule_dialog = RuleDialog(self, fields)
        self.rule_dialog.accepted.connect(self._rule_dialog_accepted)
        self.rule_dialog.open()

    def _rule_dialog_accepted(self) -> None:
        dialog = self.rule_dialog
        self.rule_dialog = None
        if dialog is not None and dialog.rule():
            self._rules.append(dialog.rule())
            self._show_rules()

    def _remove_rule(self) -> None:
        row = self.rules_list.currentRow()
        if 0 <= row < len(self._rules):
            del self._rules[row]
            self._show_rules()

    def _rule_up(self) -> None:
        row = self.rules_list.currentRow()
        if 0 < row < len(self._rules):
            self._rules[row - 1], self._rules[row] = self._rules[row], self._rules[row - 1]
            self._show_rules()
            self.rules_list.setCurrentRow(row - 1)

    def ask_lifecycle(self) -> None:
        if self.current is None:
            return
        dialog = LifecycleDialog(self, self.meta, self.current)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.apply_lifecycle(dialog)

    def apply_lifecycle(self, dialog: LifecycleDialog) -> None:
        assert self.current is not None
        if dialog.inherit:
            self._run(
                f"Lifecycle of {self.current.name}",
                self.cmdb.classes.set_lifecycle,
                self.current.name,
                inherit=True,
            )
            return
        moves, needs = dialog.rules()
        self._run(
            f"Lifecycle of {self.current.name}",
            self.cmdb.classes.set_lifecycle,
            self.current.name,
            transitions=moves,
            requires=needs,
        )

    def _inherit_rules(self) -> None:
        if self.current is None:
            return
        self._run(
            f"Identification of {self.current.name}",
            self.cmdb.classes.update_class,
            self.current.name,
            id_rules=None,
            identity_scope=None,
        )

    def set_rules(self, rules: list[list[str]], scope: str | None = None) -> None:
        self._rules = [list(r) for r in rules]
        if scope is not None:
            self.scope_combo.setCurrentIndex(max(self.scope_combo.findData(scope), 0))
        self._show_rules()

    def apply_rules(self) -> None:
        if self.current is None:
            return
        scope = self.scope_combo.currentData()
        self._run(
            f"Identification of {self.current.name}",
            self.cmdb.classes.update_class,
            self.current.name,
            id_rules=self._rules or None,
            identity_scope=None if scope == "inherit" else scope,
        )
