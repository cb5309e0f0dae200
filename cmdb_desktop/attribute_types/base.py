"""What every attribute type provides, and the pieces several types share.

An :class:`AttributeType` bundles, for one kind of value: coercion from what
people type or a spreadsheet holds (one function, with one set of messages,
for the form, the CLI and the importer: :meth:`AttributeType.converter` is
the importer's fast path and must agree with :meth:`AttributeType.coerce`,
which a property test checks on random input), the form the value takes in
the custom-attributes JSON document, how it reads as text (history, tables,
reports), the drop-down a spreadsheet template offers, and which editor a
form shows.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo

MAX_TEXT_LENGTH = 32767  # what a spreadsheet cell can hold

#: Day-month order for dates like 03/04/2024: "DMY", "MDY", or None (refuse ambiguity).
DateOrder = str | None


class _Blank:
    """A converter's answer for a blank cell (None would mean "clear")."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BLANK"


BLANK: Any = _Blank()

#: raw cell → typed value, or BLANK for a blank cell; ValueError with the message.
Converter = Callable[[Any], Any]


def is_blank(raw: Any) -> bool:
    """None, empty or white-space text, or NaN: no value at all."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    return isinstance(raw, float) and math.isnan(raw)


def quote_start(text: str, length: int = 60) -> str:
    """``'text'``, or its start and an ellipsis when long (errors name a value, not repeat it)."""
    if len(text) <= length:
        return repr(text)
    return f"{text[:length]!r}…"


def format_number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def plain_text(raw: Any) -> str:
    """A cell or typed value as stripped text (integral floats without ``.0``)."""
    if isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))  # spreadsheets hand integral numbers over as floats
    elif isinstance(raw, datetime):
        text = raw.isoformat(sep=" ")
    elif isinstance(raw, date):
        text = raw.isoformat()
    else:
        text = str(raw)
    return text.strip()


class AttributeType(ABC):
    """One attribute type. Subclasses set the class attributes and override
    :meth:`convert` (and, where it pays, :meth:`converter`)."""

    name: ClassVar[AttrType]
    #: What the class manager calls it.
    label: ClassVar[str]
    editor: ClassVar[EditorKind]
    #: Right-aligned in tables, a number format in exports.
    numeric: ClassVar[bool] = False
    #: Column width in written workbooks: short values (dates, numbers) or text.
    short: ClassVar[bool] = False

    # -- coercion --------------------------------------------------------------
    @abstractmethod
    def convert(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        """A non-blank ``raw`` as this type's value; ValueError says what is wrong."""

    def coerce(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        """``raw`` as this type's value, None for blank input."""
        if is_blank(raw):
            return None
        return self.convert(attr, raw, date_order)

    def converter(self, attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
        """A function raw → value (BLANK for blank) with :meth:`coerce`'s semantics.

        Types override it with a fast path for the cells spreadsheets usually
        hold; anything unusual falls back to :meth:`convert`.
        """

        def convert(raw: Any) -> Any:
            if is_blank(raw):
                return BLANK
            return self.convert(attr, raw, date_order)

        return convert

    # -- storage and display ----------------------------------------------------
    def to_storage(self, value: Any) -> Any:
        """The value as the custom-attributes JSON document holds it."""
        return value

    def from_storage(self, stored: Any) -> Any:
        return stored

    def choice_list(self, attr: AttributeInfo) -> list[Any] | None:
        """The values to offer as a list — a template's drop-down, a form's combo box —
        or None for free input."""
        return None


class NumberType(AttributeType):
    """Integer and decimal: parsed the way people write numbers, then range-checked."""

    numeric = True

    @abstractmethod
    def parse(self, raw: Any) -> float | int:
        """The number ``raw`` stands for; ValueError says what is wrong."""

    def convert(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        value = self.parse(raw)
        check_range(attr, value)
        return value

    def choice_list(self, attr: AttributeInfo) -> list[Any] | None:
        return list(attr.choices) if attr.choices else None


def check_range(attr: AttributeInfo, value: float | int) -> None:
    """A number's allowed values and bounds (integer and decimal attributes)."""
    if attr.choices and value not in attr.choices:
        allowed = ", ".join(str(c) for c in attr.choices)
        raise ValueError(f"{format_number(value)} is not one of {allowed}")
    if attr.min_value is not None and value < attr.min_value:
        raise ValueError(
            f"{format_number(value)} is below the minimum {format_number(attr.min_value)}"
        )
    if attr.max_value is not None and value > attr.max_value:
        raise ValueError(
            f"{format_number(value)} is above the maximum {format_number(attr.max_value)}"
        )


def in_range(attr: AttributeInfo) -> Callable[[float | int], bool]:
    """A quick test: is a number allowed as it is (no message needed)?"""
    lo, hi, choices = attr.min_value, attr.max_value, attr.choices

    def test(x: float | int) -> bool:
        return (lo is None or x >= lo) and (hi is None or x <= hi) and (not choices or x in choices)

    return test
