"""Decimal numbers (cost, percentages), written the way people write them."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types.base import (
    BLANK,
    Converter,
    DateOrder,
    NumberType,
    in_range,
)
from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo

_NUMBER_JUNK = re.compile(r"[\s\u00a0\u202f'’$€£¥]")


def _number_text(raw: Any) -> str:
    text = _NUMBER_JUNK.sub("", str(raw))
    if text.endswith("%"):
        text = text[:-1]
    if "," in text and "." in text:
        # Whichever comes last is the decimal separator.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", text):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    return text


def exact_number(raw: Any) -> Decimal:
    """The number written in ``raw``, digit for digit (``"1.234,50"`` → ``Decimal("1234.50")``):
    whole numbers beyond 2**53 keep every digit, which a float would round."""
    try:
        value = Decimal(_number_text(raw))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{str(raw).strip()!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{str(raw).strip()!r} is not a finite number")
    return value


def parse_number(raw: Any) -> float:
    """``"1,234.50"``, ``"1.234,50"``, ``"€ 99"``, 7 → a finite float."""
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if isinstance(raw, int | float | Decimal):
        try:
            value = float(raw)
        except OverflowError:
            raise ValueError(f"{raw!r} is too large a number") from None
    else:
        value = float(exact_number(raw))
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{str(raw).strip()!r} is not a finite number")
    return value


class DecimalType(NumberType):
    name = AttrType.DECIMAL
    label = "Decimal number"
    editor = EditorKind.DECIMAL

    def parse(self, raw: Any) -> float:
        return parse_number(raw)

    def converter(self, attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
        slow = super().converter(attr, date_order)
        allowed = in_range(attr)

        def decimal(raw: Any) -> Any:
            t = type(raw)
            if t is float and raw == raw and abs(raw) != math.inf and allowed(raw):
                return raw
            if t is int and abs(raw) < 2**53 and allowed(raw):
                return float(raw)
            if t is str and not raw.strip():
                return BLANK
            return slow(raw)

        return decimal

    def from_storage(self, stored: Any) -> Any:
        return float(stored) if isinstance(stored, int) else stored


DECIMAL = DecimalType()
