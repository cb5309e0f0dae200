"""The attribute types: one module each, registered here.

Adding a type (see docs/architecture.md): write its module (a subclass of
:class:`~cmdb_desktop.attribute_types.base.AttributeType`), add its name to
:class:`~cmdb_desktop.vocabulary.AttrType`, list it in :data:`REGISTRY`, and,
only if it needs an editor no other type has, map its
:class:`~cmdb_desktop.vocabulary.EditorKind` to a widget in ui/views/editors.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cmdb_desktop.attribute_types.base import (
    BLANK,
    MAX_TEXT_LENGTH,
    AttributeType,
    Converter,
    DateOrder,
    is_blank,
)
from cmdb_desktop.attribute_types.boolean import BOOLEAN
from cmdb_desktop.attribute_types.choice import CHOICE
from cmdb_desktop.attribute_types.date import DATE
from cmdb_desktop.attribute_types.decimal import DECIMAL
from cmdb_desktop.attribute_types.integer import INTEGER
from cmdb_desktop.attribute_types.reference import REFERENCE
from cmdb_desktop.attribute_types.text import TEXT
from cmdb_desktop.vocabulary import AttrType

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo

#: Every attribute type by name.
REGISTRY: dict[str, AttributeType] = {
    t.name: t for t in (TEXT, INTEGER, DECIMAL, DATE, BOOLEAN, CHOICE, REFERENCE)
}


def attribute_type(name: str) -> AttributeType:
    """The type called ``name``; ValueError names the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(REGISTRY)
        raise ValueError(f"unknown attribute type {name!r} (known: {known})") from None


def type_of(attr: AttributeInfo) -> AttributeType:
    return attribute_type(attr.type)


__all__ = [
    "BLANK",
    "MAX_TEXT_LENGTH",
    "REGISTRY",
    "AttrType",
    "AttributeType",
    "Converter",
    "DateOrder",
    "attribute_type",
    "is_blank",
    "type_of",
]
