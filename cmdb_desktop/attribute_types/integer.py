"""Whole numbers (criticality, redundancy minimum, counts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types.base import (
    BLANK,
    Converter,
    DateOrder,
    NumberType,
    in_range,
)
from cmdb_desktop.attribute_types.decimal import parse_number
from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo

#: What a database integer column holds (SQLite and PostgreSQL BIGINT alike).
MAX_INTEGER = 2**63 - 1


def parse_integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a whole number")
    if isinstance(raw, int):
        value = raw
    else:
        try:
            number = parse_number(raw)
        except ValueError:
            raise ValueError(f"{str(raw).strip()!r} is not a whole number") from None
        if not number.is_integer():
            raise ValueError(f"{str(raw).strip()!r} is not a whole number")
        value = int(number)
    if not -MAX_INTEGER <= value <= MAX_INTEGER:
        raise ValueError(f"{value} is too large for a whole-number field")
    return value


class IntegerType(NumberType):
    name = AttrType.INTEGER
    label = "Whole number"
    editor = EditorKind.INTEGER
    short = True

    def parse(self, raw: Any) -> int:
        return parse_integer(raw)

    def converter(self, attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
        slow = super().converter(attr, date_order)
        allowed = in_range(attr)

        def integer(raw: Any) -> Any:
            t = type(raw)
            if t is int and -MAX_INTEGER <= raw <= MAX_INTEGER and allowed(raw):
                return raw
            if t is float and raw.is_integer() and allowed(raw) and abs(raw) < 2**53:
                return int(raw)
            if t is str and not raw.strip():
                return BLANK
            return slow(raw)

        return integer

    def choice_list(self, attr: AttributeInfo) -> list[Any] | None:
        if attr.choices:
            return super().choice_list(attr)
        lo, hi = attr.min_value, attr.max_value
        if lo is not None and hi is not None and 0 <= hi - lo <= 10:
            return list(range(int(lo), int(hi) + 1))  # a small range (criticality 1–4)
        return None


INTEGER = IntegerType()
