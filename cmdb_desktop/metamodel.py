"""The loaded class catalogue: class tree, inherited attributes, relationship types.

A :class:`Metamodel` is an immutable snapshot read from the database; the
facade reloads it when the class manager changes something. Everything here is
plain data, safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmdb_desktop.catalogue import HARDWARE_CLASS, IMPACT_NONE, IMPACT_TO_SOURCE, ROOT_CLASS
from cmdb_desktop.errors import UnknownClassError, ValidationError
from cmdb_desktop.models import AttributeDef, CiClass, RelationshipType


@dataclass(frozen=True)
class AttributeInfo:
    id: int
    class_id: int
    key: str
    label: str
    type: str
    column: str | None
    choices: tuple[Any, ...] | None
    reference_class_id: int | None
    min_value: float | None
    max_value: float | None
    position: int
    description: str
    builtin: bool

    @property
    def is_custom(self) -> bool:
        return self.column is None


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    parent_id: int | None
    abstract: bool
    service: bool
    icon: str
    description: str
    id_rules: tuple[tuple[str, ...], ...] | None
    identity_scope: str | None
    required_fields: tuple[str, ...]
    recommended_fields: tuple[str, ...]
    expects_relationships: bool
    builtin: bool


@dataclass(frozen=True)
class RelationshipTypeInfo:
    id: int
    name: str
    reverse_name: str
    impact: str
    description: str
    builtin: bool

    def propagates(self) -> bool:
        return self.impact != IMPACT_NONE

    def impact_edge(self, source_id: int, target_id: int) -> tuple[int, int] | None:
        """The impact edge (from, to) this relationship yields, or None."""
        if self.impact == IMPACT_NONE:
            return None
        if self.impact == IMPACT_TO_SOURCE:
            return (target_id, source_id)
        return (source_id, target_id)


@dataclass(frozen=True)
class Identification:
    """How CIs of one class are told apart.

    ``rules`` are ranked key lists (first rule whose values are all present
    wins); ``class_ids`` is the identity space: the classes whose CIs compete
    for the same keys.
    """

    rules: tuple[tuple[str, ...], ...]
    class_ids: frozenset[int]


@dataclass(frozen=True)
class Metamodel:
    classes: tuple[ClassInfo, ...]
    attributes: tuple[AttributeInfo, ...]
    relationship_types: tuple[RelationshipTypeInfo, ...]
    _by_name: dict[str, ClassInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name.casefold(): c for c in self.classes})

    # -- loading -------------------------------------------------------------
    @classmethod
    def load(cls, session: Session) -> Metamodel:
        classes = tuple(
            ClassInfo(
                id=c.id,
                name=c.name,
                parent_id=c.parent_id,
                abstract=c.abstract,
                service=c.service,
                icon=c.icon or "",
                description=c.description or "",
                id_rules=tuple(tuple(r) for r in c.id_rules) if c.id_rules else None,
                identity_scope=c.identity_scope,
                required_fields=tuple(c.required_fields or ()),
                recommended_fields=tuple(c.recommended_fields or ()),
                expects_relationships=c.expects_relationships,
                builtin=c.builtin,
            )
            for c in session.scalars(select(CiClass).order_by(CiClass.id))
        )
        attributes = tuple(
            AttributeInfo(
                id=a.id,
                class_id=a.class_id,
                key=a.key,
                label=a.label,
                type=a.type,
                column=a.column,
                choices=tuple(a.choices) if a.choices is not None else None,
                reference_class_id=a.reference_class_id,
                min_value=a.min_value,
                max_value=a.max_value,
                position=a.position,
                description=a.description or "",
                builtin=a.builtin,
            )
            for a in session.scalars(select(AttributeDef).order_by(AttributeDef.position))
        )
        types = tuple(
            RelationshipTypeInfo(
                id=t.id,
                name=t.name,
                reverse_name=t.reverse_name,
                impact=t.impact,
                description=t.description or "",
                builtin=t.builtin,
            )
            for t in session.scalars(select(RelationshipType).order_by(RelationshipType.id))
        )
        return cls(classes, attributes, types)

    # -- classes -------------------------------------------------------------
    @cached_property
    def class_by_id(self) -> dict[int, ClassInfo]:
        return {c.id: c for c in self.classes}

    @cached_property
    def children(self) -> dict[int | None, list[ClassInfo]]:
        out: dict[int | None, list[ClassInfo]] = {}
        for c in self.classes:
            out.setdefault(c.parent_id, []).append(c)
        for kids in out.values():
            kids.sort(key=lambda c: c.name.casefold())
        return out

    def find_class(self, name: str) -> ClassInfo | None:
        return self._by_name.get(name.strip().casefold())

    def get_class(self, name_or_id: str | int) -> ClassInfo:
        """The class with this name (case-insensitive) or id; UnknownClassError otherwise."""
        if isinstance(name_or_id, int):
            try:
                return self.class_by_id[name_or_id]
            except KeyError:
                raise UnknownClassError(f"No class with id {name_or_id}.") from None
        found = self.find_class(name_or_id)
        if found is None:
            known = ", ".join(sorted(c.name for c in self.classes if not c.abstract))
            raise UnknownClassError(
                f"Unknown class {name_or_id!r}. Known classes: {known}.",
                {"class": f"unknown class {name_or_id!r}"},
            )
        return found

    def concrete_class(self, name: str) -> ClassInfo:
        """Like get_class, but refuses abstract classes (they hold no CIs)."""
        info = self.get_class(name)
        if info.abstract:
            subs = ", ".join(c.name for c in self.descendants(info) if not c.abstract)
            raise ValidationError(
                f"Class {info.name!r} is abstract and holds no CIs; use one of: {subs}.",
                {"class": "abstract class"},
            )
        return info

    def ancestors(self, info: ClassInfo) -> list[ClassInfo]:
        """The class and its ancestors, from the root down to the class itself."""
        chain = []
        cur: ClassInfo | None = info
        while cur is not None:
            chain.append(cur)
            cur = self.class_by_id.get(cur.parent_id) if cur.parent_id is not None else None
        chain.reverse()
        return chain

    def descendants(self, info: ClassInfo) -> Iterator[ClassInfo]:
        """The class itself and every class below it (depth first)."""
        stack = [info]
        while stack:
            cur = stack.pop()
            yield cur
            stack.extend(reversed(self.children.get(cur.id, [])))

    def subtree_ids(self, info: ClassInfo) -> frozenset[int]:
        return frozenset(c.id for c in self.descendants(info))

    def is_a(self, info: ClassInfo, ancestor_name: str) -> bool:
        target = ancestor_name.casefold()
        return any(c.name.casefold() == target for c in self.ancestors(info))

    def is_hardware(self, info: ClassInfo) -> bool:
        return self.is_a(info, HARDWARE_CLASS)

    @property
    def root(self) -> ClassInfo:
        return self.get_class(ROOT_CLASS)

    @cached_property
    def service_class_ids(self) -> frozenset[int]:
        return frozenset(c.id for c in self.classes if c.service)

    # -- attributes ----------------------------------------------------------
    @cached_property
    def _own_attributes(self) -> dict[int, list[AttributeInfo]]:
        out: dict[int, list[AttributeInfo]] = {}
        for a in self.attributes:
            out.setdefault(a.class_id, []).append(a)
        return out

    def attributes_of(self, info: ClassInfo) -> list[AttributeInfo]:
        """Every attribute a CI of this class has, inherited ones first."""
        out: list[AttributeInfo] = []
        for c in self.ancestors(info):
            out.extend(sorted(self._own_attributes.get(c.id, []), key=lambda a: a.position))
        return out

    def attribute_map(self, info: ClassInfo) -> dict[str, AttributeInfo]:
        return {a.key: a for a in self.attributes_of(info)}

    def find_attribute(self, info: ClassInfo, key_or_label: str) -> AttributeInfo | None:
        """An attribute by key or label, case- and spacing-insensitive."""
        wanted = normalise_label(key_or_label)
        for a in self.attributes_of(info):
            if normalise_label(a.key) == wanted or normalise_label(a.label) == wanted:
                return a
        return None

    @cached_property
    def all_attribute_keys(self) -> dict[str, AttributeInfo]:
        """One AttributeInfo per key across all classes (first definition wins)."""
        out: dict[str, AttributeInfo] = {}
        for a in self.attributes:
            out.setdefault(a.key, a)
        return out

    def required_fields(self, info: ClassInfo) -> list[str]:
        keys = ["name"]
        for c in self.ancestors(info):
            keys.extend(k for k in c.required_fields if k not in keys)
        return keys

    def recommended_fields(self, info: ClassInfo) -> list[str]:
        keys: list[str] = []
        for c in self.ancestors(info):
            keys.extend(k for k in c.recommended_fields if k not in keys)
        return keys

    def identification(self, info: ClassInfo) -> Identification:
        """The identification rules of PRODUCT.md §3 for CIs of ``info``."""
        for c in reversed(self.ancestors(info)):
            if c.id_rules:
                if c.identity_scope == "subtree":
                    space = self.subtree_ids(c)
                else:
                    space = frozenset({info.id})
                return Identification(c.id_rules, space)
        return Identification((("name",),), frozenset({info.id}))

    # -- relationship types --------------------------------------------------
    @cached_property
    def relationship_type_by_id(self) -> dict[int, RelationshipTypeInfo]:
        return {t.id: t for t in self.relationship_types}

    def relationship_type(self, name: str) -> tuple[RelationshipTypeInfo, bool]:
        """The type named ``name`` and whether the name was its *reverse* name.

        A reverse name (``Used by``) flips the direction: ``A Used by B`` is
        stored as ``B Depends on A``.
        """
        wanted = normalise_label(name)
        for t in self.relationship_types:
            if normalise_label(t.name) == wanted:
                return t, False
        for t in self.relationship_types:
            if normalise_label(t.reverse_name) == wanted:
                return t, True
        names = ", ".join(f"{t.name} / {t.reverse_name}" for t in self.relationship_types)
        raise ValidationError(
            f"Unknown relationship type {name!r}. Known types: {names}.",
            {"type": f"unknown relationship type {name!r}"},
        )


def normalise_label(text: str) -> str:
    """Case-, space- and punctuation-insensitive form for matching names and labels."""
    return "".join(ch for ch in text.casefold() if ch.isalnum() or ch == "%")


def class_names(infos: Iterable[ClassInfo]) -> list[str]:
    return [c.name for c in infos]
