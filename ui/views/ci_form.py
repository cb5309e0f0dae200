"""The CI form, generated from the class's attribute definitions.

Sections: *General* (name, class and the attributes every CI has),
*Redundancy (impact)*, one section per ancestor class that adds built-in
attributes (*Asset* for hardware, *Software*…), and *Custom attributes*.
Required fields are marked with ``*``. Every edit is checked at once with the
core's own coercion (``values.coerce``) and required-field list, and the
message appears under the field; on save, the core's
``ValidationError.problems`` land in the same places.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from cmdb_desktop.catalogue import HARDWARE_CLASS
from cmdb_desktop.items import CiRecord, CiRef
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel
from cmdb_desktop.values import coerce
from ui.views.editors import Editor, LineEditor, ReferenceEditor, SearchFn, editor_for

REDUNDANCY_KEYS = ("redundancy_min_up", "redundancy_min_up_pct")


class FieldRow:
    """One form row: the editor, its label and its inline message."""

    def __init__(
        self, key: str, label: QLabel, editor: Any, message: QLabel, attr: AttributeInfo | None
    ) -> None:
        self.key = key
        self.label = label
        self.editor = editor
        self.message = message
        self.attr = attr

    def show_problem(self, text: str | None) -> None:
        self.message.setText(text or "")
        self.message.setVisible(bool(text))
        target = self.editor.line if hasattr(self.editor, "line") else self.editor
        target.setProperty("invalid", bool(text))
        target.style().unpolish(target)
        target.style().polish(target)


class CiForm(QScrollArea):
    """``dirtyChanged(bool)`` when the form starts or stops differing from the record."""

    dirtyChanged = Signal(bool)
    edited = Signal()

    def __init__(self, search: SearchFn | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ciForm")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._search = search
        self._meta: Metamodel | None = None
        self._info: ClassInfo | None = None
        self._record: CiRecord | None = None
        self._rows: dict[str, FieldRow] = {}
        self._built_for: tuple[int, int] | None = None  # (class id, id(meta))
        self._dirty = False
        self._loading = False
        self.name_edit: LineEditor | None = None
        self.class_combo: QComboBox | None = None
        self.setWidget(QWidget())

    # -- loading -------------------------------------------------------------
    @property
    def info(self) -> ClassInfo | None:
        return self._info

    @property
    def record(self) -> CiRecord | None:
        return self._record

    @property
    def is_new(self) -> bool:
        return self._record is None and self._info is not None

    @property
    def dirty(self) -> bool:
        return self._dirty

    def clear(self) -> None:
        self._meta = self._info = self._record = None
        self._rows = {}
        self._built_for = None
        #: What a new CI's form held when shown (its class's defaults): not an edit.
        self._prefilled: dict[str, Any] = {}
        self.name_edit = self.class_combo = None
        self.setWidget(QWidget())
        self._set_dirty(False)

    def load(
        self,
        meta: Metamodel,
        info: ClassInfo,
        record: CiRecord | None,
        references: dict[int, CiRef] | None = None,
        *,
        keep: dict[str, Any] | None = None,
    ) -> None:
        """Show ``record`` (None: a new CI of class ``info``). ``keep`` re-applies
        raw values the user had typed (after a class change)."""
        self._meta, self._info, self._record = meta, info, record
        self._loading = True
        try:
            if self._built_for != (info.id, id(meta)):
                self._build(meta, info)
            assert self.name_edit is not None and self.class_combo is not None
            self.name_edit.set_value(record.name if record else "")
            self.class_combo.setCurrentIndex(max(self.class_combo.findText(info.name), 0))
            # A new CI shows what it will get unless the user types otherwise.
            defaults = meta.schema(info).defaults if record is None else {}
            for key, row in self._rows.items():
                if key in ("name", "class"):
                    continue
                value = record.values.get(key) if record else defaults.get(key)
                row.editor.set_value(value)
                if isinstance(row.editor, ReferenceEditor) and isinstance(value, int):
                    row.editor.set_reference((references or {}).get(value))
            for key, raw in (keep or {}).items():
                kept = self._rows.get(key)
                if kept is not None and key != "class":
                    _set_raw(kept.editor, raw)
            self.clear_problems()
        finally:
            self._loading = False
        self._prefilled = self.changed_fields() if record is None and not keep else {}
        self._set_dirty(bool(keep) or self.is_new and self.changed_fields() != self._prefilled)

    def _build(self, meta: Metamodel, info: ClassInfo) -> None:
        page = QWidget()
        page.setObjectName("ciFormPage")
        outer = QVBoxLayout(page)
        outer.setContentsMargins(12, 8, 12, 12)
        outer.setSpacing(4)
        self._rows = {}
        required = set(meta.required_fields(info))
        sections: dict[str, list[AttributeInfo]] = {}
        for attr in meta.attributes_of(info):
            sections.setdefault(self._section_of(meta, attr), []).append(attr)

        general = self._section(outer, "General")
        self.name_edit = LineEditor(None, page)
        self.name_edit.setObjectName("field_name")
        self._add_row(general, "name", "Name", self.name_edit, None, required=True)
        self.class_combo = QComboBox(page)
        self.class_combo.setObjectName("field_class")
        for c in sorted(meta.classes, key=lambda c: c.name.casefold()):
            if not c.abstract:
                self.class_combo.addItem(c.name)
        self.class_combo.activated.connect(self._class_picked)
        self._add_row(general, "class", "Class", self.class_combo, None, required=True)
        for title, attrs in sections.items():
            layout = general if title == "General" else self._section(outer, title)
            for attr in attrs:
                editor = editor_for(attr, self._search, page)
                editor.setObjectName(f"field_{attr.key}")
                self._add_row(
                    layout, attr.key, attr.label, editor, attr, required=attr.key in required
                )
        outer.addStretch(1)
        self.setWidget(page)
        self._built_for = (info.id, id(meta))

    @staticmethod
    def _section_of(meta: Metamodel, attr: AttributeInfo) -> str:
        if not attr.builtin:
            return "Custom attributes"
        owner = meta.class_by_id[attr.class_id]
        if owner.parent_id is None:
            return "Redundancy (impact)" if attr.key in REDUNDANCY_KEYS else "General"
        if owner.name == HARDWARE_CLASS:
            return "Asset"
        return "Software" if attr.key in ("software_version", "vendor") else owner.name

    def _section(self, outer: QVBoxLayout, title: str) -> QFormLayout:
        heading = QLabel(title)
        heading.setProperty("role", "subheading")
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        outer.addSpacing(8)
        outer.addWidget(heading)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(4)
        outer.addLayout(form)
        return form

    def _add_row(
        self,
        form: QFormLayout,
        key: str,
        label: str,
        editor: QWidget,
        attr: AttributeInfo | None,
        *,
        required: bool,
    ) -> None:
        text = f"{label} *" if required else label
        label_widget = QLabel(text)
        if required:
            font = label_widget.font()
            font.setBold(True)
            label_widget.setFont(font)
        if attr is not None and attr.description:
            label_widget.setToolTip(attr.description)
            editor.setToolTip(attr.description)
        label_widget.setBuddy(editor)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(editor)
        message = QLabel()
        message.setObjectName(f"problem_{key}")
        message.setProperty("role", "error")
        message.setWordWrap(True)
        message.hide()
        column.addWidget(message)
        form.addRow(label_widget, box)
        row = FieldRow(key, label_widget, editor, message, attr)
        self._rows[key] = row
        signal = getattr(editor, "edited", None)
        if signal is not None:
            signal.connect(lambda k=key: self._edited(k))

    # -- editing -------------------------------------------------------------
    def editor(self, key: str) -> Any:
        """The editor widget of a field (``name``, ``class`` or an attribute key)."""
        return self._rows[key].editor

    def keys(self) -> list[str]:
        return list(self._rows)

    def labels(self) -> dict[str, str]:
        out = {"name": "Name", "class": "Class"}
        for key, row in self._rows.items():
            if row.attr is not None:
                out[key] = row.attr.label
        return out

    def raw_values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, row in self._rows.items():
            if key == "class":
                assert self.class_combo is not None
                out[key] = self.class_combo.currentText()
            else:
                out[key] = row.editor.raw()
        return out

    def changed_fields(self) -> dict[str, Any]:
        """What differs from the loaded record, as raw values for the core to check.

        For a new CI: every field given. A value the core cannot read counts
        as changed, so that saving reports the problem.
        """
        if self._info is None:
            return {}
        raws = self.raw_values()
        record = self._record
        if record is None:
            return {k: v for k, v in raws.items() if v is not None and k != "class"}
        out = {}
        if raws["class"] and raws["class"] != record.class_name:
            out["class"] = raws["class"]
        if (raws["name"] or "") != record.name:
            out["name"] = raws["name"]
        for key, row in self._rows.items():
            if row.attr is None:
                continue
            if not _same(row.attr, raws[key], record.values.get(key)):
                out[key] = raws[key]
        return out

    def _edited(self, key: str) -> None:
        if self._loading:
            return
        self.validate(key)
        self._set_dirty(bool(self.changed_fields()) or self.is_new)
        self.edited.emit()

    def validate(self, key: str) -> str | None:
        """Check one field as the core will; show and return the message (None if fine)."""
        row = self._rows.get(key)
        if row is None or self._meta is None or self._info is None:
            return None
        raw = row.editor.raw() if key != "class" else None
        problem: str | None = None
        if key in self._meta.required_fields(self._info) and raw is None:
            problem = f"{row.attr.label if row.attr else 'Name'} is required"
        elif row.attr is not None and row.attr.type != "reference" and raw is not None:
            try:
                coerce(row.attr, raw)
            except ValueError as exc:
                problem = str(exc)
        row.show_problem(problem)
        return problem

    def set_problems(self, problems: dict[str, str]) -> list[str]:
        """Show the core's problems next to their fields; return those with no field."""
        self.clear_problems()
        unplaced = []
        by_label = {normal(row.attr.label): k for k, row in self._rows.items() if row.attr}
        for key, message in problems.items():
            target = key if key in self._rows else by_label.get(normal(key))
            if target is None:
                unplaced.append(f"{key}: {message}" if key else message)
            else:
                self._rows[target].show_problem(message)
        return unplaced

    def clear_problems(self) -> None:
        for row in self._rows.values():
            row.show_problem(None)

    def problems(self) -> dict[str, str]:
        """The messages shown now (for tests and the status line)."""
        return {k: r.message.text() for k, r in self._rows.items() if r.message.text()}

    def focus_first(self) -> None:
        if self.name_edit is not None:
            self.name_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.name_edit.selectAll()

    def _class_picked(self, _index: int) -> None:
        """Another class: rebuild the form, keeping what was typed."""
        if self._meta is None or self.class_combo is None:
            return
        info = self._meta.find_class(self.class_combo.currentText())
        if info is None or self._info is None or info.id == self._info.id:
            return
        typed = {k: v for k, v in self.raw_values().items() if k != "class"}
        record = self._record
        self.load(self._meta, info, record, keep=typed)
        assert self.class_combo is not None
        self.class_combo.setCurrentIndex(max(self.class_combo.findText(info.name), 0))
        self._set_dirty(True)
        self.edited.emit()

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirtyChanged.emit(dirty)


def normal(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _same(attr: AttributeInfo, raw: Any, stored: Any) -> bool:
    if raw is None or stored is None:
        return raw is None and stored is None
    if attr.type == "reference":
        return bool(raw == stored)
    try:
        return bool(coerce(attr, raw) == stored)
    except ValueError:
        return False


def _set_raw(editor: Editor | Any, raw: Any) -> None:
    if isinstance(editor, QLineEdit | ReferenceEditor) and not isinstance(raw, int):
        editor.setText("" if raw is None else str(raw))
    else:
        editor.set_value(raw)
