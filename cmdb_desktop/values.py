"""Typed attribute values: coercion from what people type, storage and display.

One place decides what ``"1,234.50"``, ``"31/01/2024"`` or ``"yes"`` mean, so
the CLI, the GUI and the importers accept the same input: each attribute
type's module in :mod:`cmdb_desktop.attribute_types` does, and this module
is the short way to call it. Coercion raises :class:`ValueError` with a
message a user can act on; callers attach the field, sheet, row and column.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from cmdb_desktop.attribute_types import BLANK, MAX_TEXT_LENGTH, DateOrder, is_blank, type_of
from cmdb_desktop.attribute_types.base import format_number, plain_text, quote_start
from cmdb_desktop.attribute_types.boolean import parse_boolean as coerce_boolean
from cmdb_desktop.attribute_types.date import infer_date_order, parse_date_text
from cmdb_desktop.attribute_types.date import parse_date as coerce_date
from cmdb_desktop.attribute_types.decimal import parse_number as coerce_decimal
from cmdb_desktop.attribute_types.integer import parse_integer as coerce_integer
from cmdb_desktop.attribute_types.text import checked_text
from cmdb_desktop.metamodel import AttributeInfo

__all__ = [
    "BLANK",
    "MAX_TEXT_LENGTH",
    "DateOrder",
    "coerce",
    "coerce_boolean",
    "coerce_date",
    "coerce_decimal",
    "coerce_integer",
    "coerce_text",
    "format_number",
    "from_storage",
    "infer_date_order",
    "is_blank",
    "parse_date_text",
    "quote_start",
    "to_json",
    "to_storage",
    "to_text",
]


def coerce(attr: AttributeInfo, raw: Any, *, date_order: DateOrder = None) -> Any:
    """Turn ``raw`` (typed text, a spreadsheet cell, a Python value) into the attribute's type.

    Blank input gives None. Reference attributes return an ``int`` CI id when
    given one (``12`` or ``"#12"``) and otherwise the stripped text, which the
    item service resolves against the database.

    >>> from cmdb_desktop.metamodel import AttributeInfo
    >>> cost = AttributeInfo(0, 0, "cost", "Cost", "decimal", "cost", None, None, 0, None, 0, "",
    ...                      True)
    >>> coerce(cost, "1,234.50")
    1234.5
    """
    return type_of(attr).coerce(attr, raw, date_order)


def coerce_text(raw: Any) -> str:
    """Stripped text within a cell's limit and without NUL characters."""
    return checked_text(plain_text(raw))


# -- storage ------------------------------------------------------------------


def to_storage(attr: AttributeInfo, value: Any) -> Any:
    """How a value sits in the custom-attributes JSON document."""
    return None if value is None else type_of(attr).to_storage(value)


def from_storage(attr: AttributeInfo, stored: Any) -> Any:
    return None if stored is None else type_of(attr).from_storage(stored)


# -- display ------------------------------------------------------------------


def to_text(value: Any) -> str:
    """Plain text for history, tables and reports; None becomes ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def to_json(value: Any) -> Any:
    """A JSON-serialisable form (dates as ISO strings)."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value
