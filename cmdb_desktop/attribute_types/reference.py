"""A reference to another CI: stored as its id, typed as ``#12``, ``Class/Name`` or a name.

Coercion gives an ``int`` for an id and the stripped text otherwise; the
writer resolves text against the CMDB (the item service one CI at a time,
the importer against its identity index) and checks the referenced class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cmdb_desktop.attribute_types.base import AttributeType, DateOrder, plain_text
from cmdb_desktop.attribute_types.text import checked_text
from cmdb_desktop.vocabulary import AttrType, EditorKind

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import AttributeInfo

_ID = re.compile(r"#\d+")


def parse_reference(raw: Any) -> int | str:
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a CI reference")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    text = checked_text(plain_text(raw))
    if _ID.fullmatch(text):
        return int(text[1:])
    return text


class ReferenceType(AttributeType):
    name = AttrType.REFERENCE
    label = "Reference to a CI"
    editor = EditorKind.REFERENCE

    def convert(self, attr: AttributeInfo, raw: Any, date_order: DateOrder = None) -> Any:
        return parse_reference(raw)


REFERENCE = ReferenceType()
