"""One sheet's column mapping as an editable table (the import and audit wizards).

Rows are the sheet's columns; the user edits *Maps to* (an attribute, or
ignored), *Blank cells* (leave the CMDB's value, or clear it) and *Date
order*; value translations are edited in a dialog and counted here. Edits go
straight into the :class:`~importers.mapping.SheetMapping` (plain data), and a
target is used by one column at most: choosing it for a second column
un-maps the first, as the suggestions do.

A column of a CIs sheet may instead become a new attribute of the sheet's
class (issue 21): *Maps to* offers "Create as new attribute" with the type
inferred from its values (``offers``, from
:func:`importers.new_attributes.propose`); the chosen ones (``new``, edited
by the mapping editor) stay unmapped in the :class:`SheetMapping` until the
import creates them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from cmdb_desktop.attribute_types import REGISTRY
from cmdb_desktop.values import to_text
from importers.mapping import BLANK_CLEAR, BLANK_IGNORE, SheetMapping
from importers.new_attributes import NewAttribute
from importers.readers import Table
from ui.models import column_title

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Column", "Sample values", "Maps to", "Blank cells", "Value translations", "Date order")
HEADER, SAMPLE, TARGET, BLANK, VALUES, DATES = range(len(COLUMNS))
BLANK_TEXT = {BLANK_IGNORE: "leave the CMDB's value", BLANK_CLEAR: "clear the value"}
DATE_TEXT = {None: "automatic", "DMY": "day/month/year", "MDY": "month/day/year"}
IGNORED = "(ignored)"
#: The *Maps to* value of a column that becomes a new attribute.
NEW_ATTRIBUTE = "+new-attribute"
#: Role of the raw value behind an editable cell (target key, blank rule, date order).
VALUE_ROLE = Qt.ItemDataRole.UserRole + 2


class MappingModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.sheet: SheetMapping | None = None
        self.targets: list[tuple[str, str]] = []
        #: column → the new attribute it could become / it becomes (this sheet's).
        self.offers: dict[str, NewAttribute] = {}
        self.new: dict[str, NewAttribute] = {}
        self._labels: dict[str, str] = {}
        self._samples: dict[str, str] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def set_sheet(
        self,
        sheet: SheetMapping | None,
        table: Table | None,
        targets: list[tuple[str, str]],
        offers: dict[str, NewAttribute] | None = None,
        new: dict[str, NewAttribute] | None = None,
    ) -> None:
        """Show ``sheet`` (edited in place); ``targets`` are (key, label) pairs it may use;
        ``offers`` and ``new`` (edited in place) are its columns' new attributes."""
        self.beginResetModel()
        self.sheet = sheet
        self.offers = offers if offers is not None else {}
        self.new = new if new is not None else {}
        self.targets = list(targets)
        self._labels = dict(targets)
        self._samples = {}
        if table is not None:
            for col in table.columns:
                seen: list[str] = []
                for row in table.rows[:200]:
                    value = row[col.index] if col.index < len(row) else ""
                    text = to_text(value).strip() if value not in (None, "") else ""
                    if text and text not in seen:
                        seen.append(text)
                    if len(seen) == 3:
                        break
                self._samples[col.header] = ", ".join(seen)
        self.endResetModel()

    def label(self, target: str | None) -> str:
        return IGNORED if target is None else self._labels.get(target, target)

    def new_attribute(self, row: int) -> NewAttribute | None:
        """The new attribute the column of ``row`` becomes, if it becomes one."""
        if self.sheet is None or not 0 <= row < len(self.sheet.columns):
            return None
        return self.new.get(self.sheet.columns[row].column)

    def set_new_attribute(self, row: int, attribute: NewAttribute) -> None:
        """Make the column of ``row`` the new attribute ``attribute`` (edited or inferred)."""
        assert self.sheet is not None
        col = self.sheet.columns[row]
        col.target = None
        self.new[col.column] = attribute
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    # -- Qt ----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.sheet is None else len(self.sheet.columns)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(COLUMNS, section, orientation, role)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in (TARGET, BLANK, DATES):
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not self.checkIndex(index) or self.sheet is None:
            return None
        col = self.sheet.columns[index.row()]
        c = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if c == HEADER:
                return col.column
            if c == SAMPLE:
                return self._samples.get(col.column, "")
            if c == TARGET:
                made = self.new.get(col.column)
                if made is not None:
                    return describe_new(made, tooltip=role == Qt.ItemDataRole.ToolTipRole)
                return self.label(col.target)
            if c == BLANK:
                return BLANK_TEXT.get(col.blank, col.blank)
            if c == VALUES:
                n = len(col.values)
                return f"{n} value{'s' if n != 1 else ''}" if n else ""
            if c == DATES:
                return DATE_TEXT.get(col.date_order, col.date_order)
            return None
        if role in (VALUE_ROLE, Qt.ItemDataRole.EditRole):
            if c == TARGET:
                return NEW_ATTRIBUTE if col.column in self.new else col.target
            if c == BLANK:
                return col.blank
            if c == DATES:
                return col.date_order
            return None
        unmapped = col.target is None and col.column not in self.new
        if role == Qt.ItemDataRole.ForegroundRole and unmapped and c in (HEADER, TARGET):
            return QBrush(QColor("#8c959f"))
        if role == Qt.ItemDataRole.FontRole and c == TARGET and not unmapped:
            return self._bold
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or self.sheet is None or role != Qt.ItemDataRole.EditRole:
            return False
        row = index.row()
        col = self.sheet.columns[row]
        c = index.column()
        if c == TARGET:
            if value == NEW_ATTRIBUTE:
                offer = self.offers.get(col.column)
                if offer is None:
                    return False
                self.set_new_attribute(row, self.new.get(col.column, offer))
                return True
            target = value or None
            if target is not None and target not in self._labels:
                return False
            self.new.pop(col.column, None)
            col.target = target
            if target is not None:  # one column per target
                for n, other in enumerate(self.sheet.columns):
                    if n != row and other.target == target:
                        other.target = None
                        self.dataChanged.emit(self.index(n, 0), self.index(n, len(COLUMNS) - 1))
        elif c == BLANK:
            if value not in BLANK_TEXT:
                return False
            col.blank = value
        elif c == DATES:
            if value not in DATE_TEXT:
                return False
            col.date_order = value
        else:
            return False
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        return True

    def set_translations(self, row: int, values: dict[str, str]) -> None:
        assert self.sheet is not None
        self.sheet.columns[row].values = dict(values)
        self.dataChanged.emit(self.index(row, VALUES), self.index(row, VALUES))

    def row_of(self, header: str) -> int | None:
        if self.sheet is None:
            return None
        wanted = header.casefold()
        return next(
            (n for n, c in enumerate(self.sheet.columns) if c.column.casefold() == wanted), None
        )


def type_label(type_: str) -> str:
    """What the class manager calls an attribute type ("Date", "Yes/No"…)."""
    kind = REGISTRY.get(type_)
    return kind.label if kind is not None else type_


def describe_new(attribute: NewAttribute, *, tooltip: bool = False) -> str:
    """*Maps to* of a column that becomes a new attribute (the tooltip says more)."""
    text = f"New attribute: {attribute.label} ({type_label(attribute.type)})"
    if not tooltip:
        return text
    text = f"New attribute “{attribute.label}” of {attribute.class_name}: "
    text += type_label(attribute.type)
    if attribute.choices:
        text += " — " + ", ".join(attribute.choices)
    return text + f"; {attribute.values:,} value(s) in the file. Created when you import."
