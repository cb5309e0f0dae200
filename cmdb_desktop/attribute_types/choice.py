"""One value of a list (status, environment, custom choice lists)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types.base import (
    BLANK,
    AttributeType,
    Converter,
    DateOrder,
    plain_text,
    quote_start,
)
from cmdb_desktop.attribute_types.text import checked_text
from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


class ChoiceType(AttributeType):
    name = AttrType.CHOICE
    label = "Choice list"
    editor = EditorKind.CHOICE

    def convert(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        text = checked_text(plain_text(raw))
        folded = _folded(text)
        for choice in attr.choices or ():
            if _folded(str(choice)) == folded:
                return choice
        allowed = ", ".join(str(c) for c in attr.choices or ())
        raise ValueError(f"{quote_start(text)} is not one of: {allowed}")

    def converter(self, attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
        slow = super().converter(attr, date_order)
        table = {_folded(str(c)): c for c in attr.choices or ()}

        def choice(raw: Any) -> Any:
            if type(raw) is str:
                s = raw.strip()
                if not s:
                    return BLANK
                hit = table.get(s.casefold())
                if hit is not None:
                    return hit
            return slow(raw)

        return choice

    def choice_list(self, attr: AttributeInfo) -> list[Any] | None:
        return list(attr.choices) if attr.choices else None


CHOICE = ChoiceType()
