"""Yes / no."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types.base import BLANK, AttributeType, Converter, DateOrder
from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo

_TRUE = {"true", "yes", "y", "1", "x", "on", "t", "✓"}
_FALSE = {"false", "no", "n", "0", "off", "f", ""}


def parse_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{str(raw).strip()!r} is not yes/no (use yes, no, true, false, 1 or 0)")


class BooleanType(AttributeType):
    name = AttrType.BOOLEAN
    label = "Yes / no"
    editor = EditorKind.CHECK
    short = True

    def convert(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        return parse_boolean(raw)

    def converter(self, attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
        slow = super().converter(attr, date_order)

        def boolean(raw: Any) -> Any:
            if type(raw) is bool:
                return raw
            if type(raw) is str and not raw.strip():
                return BLANK
            return slow(raw)

        return boolean

    def choice_list(self, attr: AttributeInfo) -> list[Any] | None:
        return ["yes", "no"]


BOOLEAN = BooleanType()
