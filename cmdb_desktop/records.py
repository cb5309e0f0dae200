"""What a reader gets back: CIs, relationships as seen from a CI, and the rules
that turn a reference (``#ID``, ``Class/Name``, a name) into one CI.

This module holds no SQL and imports no database library, so the services
(:mod:`cmdb_desktop.items`, :mod:`cmdb_desktop.relations`, over SQLAlchemy)
and the quick reader of a small command (:mod:`cmdb_desktop.quickread`, over
the driver alone) build the same records by the same rules, and a command
that only reads starts without loading SQLAlchemy (issue 20).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmdb_desktop.errors import AmbiguousReferenceError, NotFoundError
from cmdb_desktop.schema import CI_POSITION, timestamp
from cmdb_desktop.values import to_json

if TYPE_CHECKING:
    from cmdb_desktop.metamodel import ClassInfo, Metamodel

#: Candidates an ambiguous reference lists before "and N more".
_CANDIDATES_SHOWN = 20
#: Ids per ``IN (…)`` list.
_CHUNK = 500


@dataclass(frozen=True)
class CiRef:
    """The short form of a CI used in lists and JSON: id, name, class."""

    id: int
    name: str
    class_name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "class": self.class_name}

    def label(self) -> str:
        return f"{self.class_name}/{self.name} (#{self.id})"


@dataclass(frozen=True)
class CiRecord:
    """A whole CI: every attribute of its class (None when unset)."""

    id: int
    class_id: int
    class_name: str
    name: str
    version: int
    values: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def ref(self) -> CiRef:
        return CiRef(self.id, self.name, self.class_name)

    @property
    def status(self) -> str | None:
        return self.values.get("status")

    def get(self, key: str) -> Any:
        if key == "name":
            return self.name
        if key == "class":
            return self.class_name
        return self.values.get(key)

    def to_json(self) -> dict[str, Any]:
        """``{"id","name","class"}`` + every field + ``version`` + timestamps."""
        data: dict[str, Any] = {"id": self.id, "name": self.name, "class": self.class_name}
        for key, value in self.values.items():
            data[key] = to_json(value)
        data["version"] = self.version
        data["created_at"] = to_json(self.created_at)
        data["updated_at"] = to_json(self.updated_at)
        return data


def record_from_row(meta: Metamodel, row: Sequence[Any]) -> CiRecord:
    """A CiRecord from a whole ``ci`` row in table order (``select(ci_table)`` or the
    driver's own tuple); its class's schema decodes the values."""
    info = meta.class_by_id[row[CI_POSITION["class_id"]]]
    return CiRecord(
        id=row[CI_POSITION["id"]],
        class_id=info.id,
        class_name=info.name,
        name=row[CI_POSITION["name"]],
        version=row[CI_POSITION["version"]],
        values=meta.schema(info).decode(row),
        created_at=timestamp(row[CI_POSITION["created_at"]]),
        updated_at=timestamp(row[CI_POSITION["updated_at"]]),
    )


def chunks(ids: Iterable[int], size: int = _CHUNK) -> Iterator[list[int]]:
    """``ids`` in lists of at most ``size`` (for ``IN (…)`` lists)."""
    batch: list[int] = []
    for i in ids:
        batch.append(i)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class RelationshipView:
    """A relationship as seen from one CI.

    ``type`` is the stored (forward) type name; ``label`` is how it reads from
    this CI (``Depends on`` outgoing, ``Used by`` incoming); ``other`` is the CI
    at the far end.
    """

    id: int
    type: str
    label: str
    direction: str
    other: CiRef
    impact: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "label": self.label,
            "direction": self.direction,
            "other": self.other.to_json(),
        }


def relationship_views(meta: Metamodel, ci_id: int, rows: Any) -> list[RelationshipView]:
    """The relationships of CI ``ci_id`` from rows of (relationship id, type id,
    source id, target id, other CI's id, name, class id), grouped by label then
    name, as every front end lists them."""
    out: list[RelationshipView] = []
    for rel_id, type_id, source_id, _target_id, other_id, name, class_id in rows:
        rtype = meta.relationship_type_by_id[type_id]
        outgoing = source_id == ci_id
        out.append(
            RelationshipView(
                id=rel_id,
                type=rtype.name,
                label=rtype.name if outgoing else rtype.reverse_name,
                direction="outgoing" if outgoing else "incoming",
                other=CiRef(other_id, name, meta.class_by_id[class_id].name),
                impact=rtype.impact,
            )
        )
    out.sort(key=lambda r: (r.label.casefold(), r.other.name.casefold(), r.other.id))
    return out


#: Finds CIs named exactly ``name`` (or, failing that, case-insensitively), in a
#: class and its subclasses when one is given.
NameFinder = Callable[[str, "ClassInfo | None"], list[CiRef]]


def checked_id(ci_id: int, exists: Callable[[int], bool]) -> int:
    """``ci_id`` when a CI has it; NotFoundError otherwise (also for ids no database
    can hold, which are never looked up)."""
    if not 0 < ci_id < 2**63 or not exists(ci_id):
        raise NotFoundError(f"No CI with id #{ci_id}.")
    return ci_id


def resolve_reference(
    meta: Metamodel, ref: str | int, find: NameFinder, exists: Callable[[int], bool]
) -> int:
    """Resolve a CI reference: ``#ID``, ``Class/Name`` or a unique ``Name``.

    Raises NotFoundError, or AmbiguousReferenceError listing the candidates.
    """
    if isinstance(ref, int):
        return checked_id(ref, exists)
    text = ref.strip()
    if not text:
        raise NotFoundError("Empty CI reference: give #ID, Class/Name or Name.")
    if re.fullmatch(r"#\d+", text):
        return checked_id(int(text[1:]), exists)
    candidates: list[CiRef] = []
    info, name = meta.split_reference(text)
    if info is not None:
        candidates = find(name, info)
    if not candidates:
        candidates = find(text, None)
    if len(candidates) == 1:
        return candidates[0].id
    if not candidates:
        raise NotFoundError(
            f"No CI matches {text!r}. Use #ID, Class/Name or an exact name "
            "(search in the GUI finds partial names)."
        )
    listed = "; ".join(c.label() for c in candidates[:_CANDIDATES_SHOWN])
    rest = len(candidates) - _CANDIDATES_SHOWN
    more = f" and {rest} more" if rest > 0 else ""
    raise AmbiguousReferenceError(
        f"{text!r} names {len(candidates)} CIs: {listed}{more}. "
        "Use #ID or Class/Name to choose one.",
        [c.to_json() for c in candidates],
    )
