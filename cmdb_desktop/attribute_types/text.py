"""Free text (names of things, owners, descriptions, serial numbers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types.base import (
    BLANK,
    MAX_TEXT_LENGTH,
    AttributeType,
    Converter,
    DateOrder,
    plain_text,
    quote_start,
)
from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo


def checked_text(text: str) -> str:
    """Stripped text within a cell's limit and without NUL characters."""
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(
            f"{quote_start(text)} is {len(text):,} characters long; a cell holds at most "
            f"{MAX_TEXT_LENGTH:,}"
        )
    if "\x00" in text:
        raise ValueError(f"{quote_start(text)} contains a NUL character")
    return text


class TextType(AttributeType):
    name = AttrType.TEXT
    label = "Text"
    editor = EditorKind.LINE

    def convert(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        return checked_text(plain_text(raw))

    def converter(self, attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
        slow = super().converter(attr, date_order)

        def text(raw: Any) -> Any:
            if type(raw) is str:
                s = raw.strip()
                if not s:
                    return BLANK
                if len(s) <= MAX_TEXT_LENGTH and "\x00" not in s:
                    return s
            return slow(raw)

        return text


TEXT = TextType()
