"""Free text (names of things, owners, descriptions, serial numbers)."""

from __future__ import annotations

from functools import cache
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


def column_limit(attr: AttributeInfo) -> int:
    """How many characters the attribute's value may have: what its own ``ci`` column
    holds (``String(100)`` for serial numbers…: PostgreSQL refuses more, so every
    path refuses it first, on SQLite too), else what a cell holds."""
    length = _column_lengths().get(attr.column) if attr.column is not None else None
    return min(length, MAX_TEXT_LENGTH) if length is not None else MAX_TEXT_LENGTH


@cache
def _column_lengths() -> dict[str, int]:
    """The length of each ``ci`` text column that has one (read from the table
    definition when first needed: reading a CI needs no SQLAlchemy)."""
    from cmdb_desktop.models import ci_table  # noqa: PLC0415

    lengths = {c.name: getattr(c.type, "length", None) for c in ci_table.c}
    return {name: n for name, n in lengths.items() if isinstance(n, int)}


class TextType(AttributeType):
    name = AttrType.TEXT
    label = "Text"
    editor = EditorKind.LINE

    def convert(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        text = checked_text(plain_text(raw))
        limit = column_limit(attr)
        if len(text) > limit:
            raise ValueError(
                f"{quote_start(text)} is {len(text):,} characters long; {attr.label} holds at "
                f"most {limit:,}"
            )
        return text

    def converter(self, attr: AttributeInfo, date_order: DateOrder = None) -> Converter:
        slow = super().converter(attr, date_order)
        limit = column_limit(attr)

        def text(raw: Any) -> Any:
            if type(raw) is str:
                s = raw.strip()
                if not s:
                    return BLANK
                if len(s) <= limit and "\x00" not in s:
                    return s
            return slow(raw)

        return text


TEXT = TextType()
