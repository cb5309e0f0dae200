"""One editor widget per attribute type, all with the same small interface.

``raw()`` returns what the user entered, in the form the core's
:func:`cmdb_desktop.values.coerce` accepts (text as typed, a choice, a bool,
a CI id for a picked reference, or None when empty); ``set_value(value)``
shows a stored value; ``edited`` fires on every user change. Parsing and
checking stay in the core: a date may be typed as ``31/01/2024`` or
``31 Jan 2024`` exactly as in imports and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCalendarWidget,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from cmdb_desktop.attribute_types import type_of
from cmdb_desktop.catalogue import criticality_text
from cmdb_desktop.items import CiRef
from cmdb_desktop.metamodel import AttributeInfo, Metamodel
from cmdb_desktop.values import coerce_date, to_text
from cmdb_desktop.vocabulary import EditorKind
from ui.models.ci_refs import CiRefListModel
from ui.theme import icon

#: ``search(text, class_ids, deliver)``: look CIs up off the GUI thread and call
#: ``deliver(refs)`` with the results (the form wires this to the task runner).
SearchFn = Callable[[str, Iterable[int] | None, Callable[[list[CiRef]], None]], None]


def _blank_to_none(text: str) -> str | None:
    return text if text.strip() else None


class LineEditor(QLineEdit):
    """Text, integer and decimal attributes."""

    edited = Signal()

    def __init__(self, attr: AttributeInfo | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.textEdited.connect(lambda _t: self.edited.emit())
        if attr is not None and type_of(attr).numeric:
            self.setAlignment(Qt.AlignmentFlag.AlignRight)
            lo, hi = attr.min_value, attr.max_value
            # "not set" first, so the hint never reads as a value (issue 15)
            if lo is not None and hi is not None:
                self.setPlaceholderText(f"not set (allowed: {to_text(lo)} to {to_text(hi)})")
            elif lo is not None:
                self.setPlaceholderText(f"not set (allowed: {to_text(lo)} or more)")
            elif hi is not None:
                self.setPlaceholderText(f"not set (allowed: up to {to_text(hi)})")

    def raw(self) -> Any:
        return _blank_to_none(self.text())

    def set_value(self, value: Any) -> None:
        self.setText(to_text(value))


class TextAreaEditor(QPlainTextEdit):
    """Long text (descriptions)."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setFixedHeight(64)
        self.textChanged.connect(self._changed)
        self._loading = False

    def _changed(self) -> None:
        if not self._loading:
            self.edited.emit()

    def raw(self) -> Any:
        return _blank_to_none(self.toPlainText())

    def set_value(self, value: Any) -> None:
        self._loading = True
        try:
            self.setPlainText(to_text(value))
        finally:
            self._loading = False


class ChoiceEditor(QComboBox):
    """Choice lists; the first entry (—) means unset."""

    edited = Signal()

    def __init__(
        self,
        choices: Iterable[Any],
        parent: QWidget | None = None,
        label: Callable[[Any], str] = to_text,
    ) -> None:
        super().__init__(parent)
        self.addItem("—", None)
        for choice in choices:
            self.addItem(label(choice), choice)
        self.activated.connect(lambda _i: self.edited.emit())

    def raw(self) -> Any:
        return self.currentData()

    def set_value(self, value: Any) -> None:
        index = self.findData(value) if value is not None else 0
        if index < 0:  # a stored value outside the list (data from before a change)
            self.addItem(to_text(value), value)
            index = self.count() - 1
        self.setCurrentIndex(index)


class BooleanEditor(ChoiceEditor):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__([], parent)
        self.addItem("Yes", True)
        self.addItem("No", False)


class DateEditor(QWidget):
    """A date typed in any accepted form, or picked from a calendar."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.line = QLineEdit(self)
        self.line.setPlaceholderText("YYYY-MM-DD")
        self.line.textEdited.connect(lambda _t: self.edited.emit())
        self.button = QToolButton(self)
        self.button.setIcon(icon("calendar"))
        self.button.setToolTip("Pick a date")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        menu = QMenu(self.button)
        self.calendar = QCalendarWidget(menu)
        self.calendar.setGridVisible(False)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.calendar)
        menu.addAction(action)
        menu.aboutToShow.connect(self._sync_calendar)
        self.calendar.clicked.connect(self._picked)
        self.button.setMenu(menu)
        self._menu = menu
        layout.addWidget(self.line, 1)
        layout.addWidget(self.button)
        self.setFocusProxy(self.line)

    def _sync_calendar(self) -> None:
        try:
            current = coerce_date(self.line.text()) if self.line.text().strip() else None
        except ValueError:
            current = None
        day = current or date.today()
        self.calendar.setSelectedDate(QDate(day.year, day.month, day.day))

    def _picked(self, day: QDate) -> None:
        self.line.setText(date(day.year(), day.month(), day.day()).isoformat())
        self._menu.close()
        self.edited.emit()

    def raw(self) -> Any:
        return _blank_to_none(self.line.text())

    def set_value(self, value: Any) -> None:
        self.line.setText(to_text(value))


class CiCompletion(QLineEdit):
    """A line edit that looks CIs up as the user types (debounced; the lookup runs
    in the worker through ``search``) and offers them as completions; choosing
    one calls ``chosen(CiRef)``."""

    def __init__(
        self,
        search: SearchFn | None,
        chosen: Callable[[CiRef], None],
        delay_ms: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._search = search
        self._chosen_fn = chosen
        #: class ids the lookup is limited to (None: every class)
        self.classes: list[int] | None = None
        #: for the class icons of the completions
        self.meta: Metamodel | None = None
        self.model = CiRefListModel(self)
        self.completer_ = QCompleter(self.model, self)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        # PySide6's stubs lack the [type] selector of overloaded signals (it works)
        self.completer_.activated[QModelIndex].connect(self._activated)  # type: ignore[index]
        self.setCompleter(self.completer_)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._lookup)
        self.textEdited.connect(self._typed)

    def _typed(self, _text: str) -> None:
        if self._search is not None and self.text().strip():
            self._timer.start()

    def _lookup(self) -> None:
        text = self.text().strip()
        if self._search is not None and text:
            self._search(text, self.classes, self._deliver)

    def _deliver(self, refs: list[CiRef]) -> None:
        self.model.set_refs(refs, self.meta)
        if refs and self.hasFocus():
            self.completer_.complete()

    def _activated(self, index: QModelIndex) -> None:
        ref = self.model.ref(index.row())
        if ref is not None:
            self._chosen_fn(ref)


class ReferenceEditor(CiCompletion):
    """A reference to another CI: type to search (completion), pick, or give ``#ID``.

    ``raw()`` is the picked CI's id while the text still shows its name;
    edited text goes to the core as typed (``Class/Name``, a unique name or
    ``#ID``), which resolves it or says why it cannot.
    """

    edited = Signal()

    def __init__(
        self, attr: AttributeInfo, search: SearchFn | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(search, self._chosen, 200, parent)
        self._attr = attr
        self._id: int | None = None
        self._label = ""
        self.setPlaceholderText("Type to search, or #ID")
        if attr.reference_class_id is not None:
            self.classes = [attr.reference_class_id]
        self.textEdited.connect(lambda _t: self.edited.emit())

    def _chosen(self, ref: CiRef) -> None:
        self.set_reference(ref)
        self.edited.emit()

    def set_reference(self, ref: CiRef | None) -> None:
        self._id = ref.id if ref is not None else None
        self._label = ref.name if ref is not None else ""
        self.setText(self._label)
        self.setToolTip(ref.label() if ref is not None else "")

    def raw(self) -> Any:
        text = self.text().strip()
        if not text:
            return None
        if self._id is not None and text == self._label:
            return self._id
        return text

    def set_value(self, value: Any) -> None:
        """A stored id (its name is shown once :meth:`set_reference` gets the ref)."""
        self._id = value if isinstance(value, int) else None
        self._label = f"#{value}" if isinstance(value, int) else ""
        self.setText(self._label)


Editor = LineEditor | TextAreaEditor | ChoiceEditor | DateEditor | ReferenceEditor


def editor_for(
    attr: AttributeInfo, search: SearchFn | None, parent: QWidget | None = None
) -> Editor:
    """The right editor for an attribute's type (its :class:`EditorKind`)."""
    kind = type_of(attr).editor
    if kind == EditorKind.CHECK:
        return BooleanEditor(parent)
    if kind == EditorKind.DATE:
        return DateEditor(parent)
    if kind == EditorKind.REFERENCE:
        return ReferenceEditor(attr, search, parent)
    choices = type_of(attr).choice_list(attr)
    if choices is not None:  # choice lists, and small number ranges (criticality 1–4)
        if attr.key == "criticality":  # the number with its meaning: 1 – Mission critical
            return ChoiceEditor(choices, parent, lambda v: criticality_text(v) or to_text(v))
        return ChoiceEditor(choices, parent)
    if attr.key == "description":
        return TextAreaEditor(parent)
    return LineEditor(attr, parent)
