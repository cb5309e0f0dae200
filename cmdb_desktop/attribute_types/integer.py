"""Whole numbers (criticality, redundancy minimum, counts)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types.base import (
    BLANK,
    Converter,
    DateOrder,
    NumberType,
    in_range,
)
from cmdb_desktop.attribute_types.decimal import exact_number
from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo

#: What a database integer column holds (SQLite and PostgreSQL BIGINT alike).
MAX_INTEGER = 2**63 - 1
#: Digits of MAX_INTEGER, less one (``Decimal.adjusted()`` of the largest 19-digit numbers).
_MAX_EXPONENT = len(str(MAX_INTEGER)) - 1


def parse_integer(raw: Any) -> int:
    """A whole number within what a database integer holds, exactly as written:
    ``"9007199254740993"`` stays odd (a float would round it), and a number
    beyond 64 bits is refused, never sent to the database."""
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a whole number")
    shown = str(raw).strip()
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError(f"{shown!r} is not a finite number")
        if not raw.is_integer():
            raise ValueError(f"{shown!r} is not a whole number")
        value = int(raw)
    else:
        try:
            number = raw if isinstance(raw, Decimal) else exact_number(raw)
        except ValueError:
            raise ValueError(f"{shown!r} is not a whole number") from None
        if number != number.to_integral_value():
            raise ValueError(f"{shown!r} is not a whole number")
        if number.adjusted() > _MAX_EXPONENT:  # never build a million-digit int
            raise _too_large(shown)
        value = int(number)
    if not -MAX_INTEGER <= value <= MAX_INTEGER:
        raise _too_large(shown)
    return value


def _too_large(shown: str) -> ValueError:
    return ValueError(
        f"{shown} is too large for a whole-number field "
        f"(the largest is {MAX_INTEGER:,}, the smallest -{MAX_INTEGER:,})"
    )


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
