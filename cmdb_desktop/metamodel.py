"""The loaded class catalogue: class tree, inherited attributes, relationship types.

A :class:`Metamodel` is an immutable snapshot read from the database; the
facade reloads it when the class manager changes something. Everything here is
plain data, safe to share between threads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from cmdb_desktop.catalogue import HARDWARE_CLASS, IMPACT_NONE, IMPACT_TO_SOURCE, ROOT_CLASS
from cmdb_desktop.errors import UnknownClassError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cmdb_desktop.assets.lifecycle import Lifecycle
    from cmdb_desktop.schema import ClassSchema


def _json(value: Any) -> Any:
    """A JSON column as read by the driver: text on SQLite, already decoded elsewhere."""
    return json.loads(value) if isinstance(value, str) else value


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
    #: (attribute key, value as typed) pairs this class sets for new CIs.
    defaults: tuple[tuple[str, Any], ...] = ()
    #: Lifecycle rules this class sets (JSON as stored), or None to inherit.
    lifecycle: Any = None


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
        # Plain SQL and tuples, not ORM objects or compiled statements: opening a
        # CMDB waits for this, and every new engine would compile afresh.
        conn = session.connection()
        return cls.from_driver(lambda sql: list(conn.exec_driver_sql(sql)))

    @classmethod
    def from_driver(cls, rows: Callable[[str], list[Any]]) -> Metamodel:
        """The catalogue read through ``rows(sql)``, a function that runs plain SQL and
        returns its rows: a session's connection, or the driver's own (the quick reader)."""
        classes = tuple(
            ClassInfo(
                id=row[0],
                name=row[1],
                parent_id=row[2],
                abstract=bool(row[3]),
                service=bool(row[4]),
                icon=row[5] or "",
                description=row[6] or "",
                id_rules=tuple(tuple(r) for r in rules) if (rules := _json(row[7])) else None,
                identity_scope=row[8],
                required_fields=tuple(_json(row[9]) or ()),
                recommended_fields=tuple(_json(row[10]) or ()),
                expects_relationships=bool(row[11]),
                builtin=bool(row[12]),
                defaults=tuple((_json(row[13]) or {}).items()),
                lifecycle=_json(row[14]),
            )
            for row in rows(
                "SELECT id, name, parent_id, abstract, service, icon, description, id_rules,"
                " identity_scope, required_fields, recommended_fields, expects_relationships,"
                " builtin, defaults, lifecycle FROM ci_class ORDER BY id"
            )
        )
        attributes = tuple(
            AttributeInfo(
                id=row[0],
                class_id=row[1],
                key=row[2],
                label=row[3],
                type=row[4],
                column=row[5],
                choices=tuple(choices) if (choices := _json(row[6])) is not None else None,
                reference_class_id=row[7],
                min_value=row[8],
                max_value=row[9],
                position=row[10],
                description=row[11] or "",
                builtin=bool(row[12]),
            )
            for row in rows(
                'SELECT id, class_id, "key", label, "type", "column", choices,'
                " reference_class_id, min_value, max_value, position, description, builtin"
                " FROM attribute_def ORDER BY position"
            )
        )
        types = tuple(
            RelationshipTypeInfo(
                id=row[0],
                name=row[1],
                reverse_name=row[2],
                impact=row[3],
                description=row[4] or "",
                builtin=bool(row[5]),
            )
            for row in rows(
                "SELECT id, name, reverse_name, impact, description, builtin"
                " FROM relationship_type ORDER BY id"
            )
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

    def split_reference(self, text: str) -> tuple[ClassInfo | None, str]:
        """``Class/Name`` → (that class, the name); anything else → (None, text).

        The class part must name a class (``Server/web01``); a name that merely
        holds a slash (``PP:MDF/2``) stays whole.
        """
        if "/" in text:
            cls_text, _, rest = text.partition("/")
            found = self.find_class(cls_text)
            if found is not None and rest.strip():
                return found, rest.strip()
        return None, text

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

    @cached_property
    def _per_class(self) -> dict[int, tuple[tuple[AttributeInfo, ...], dict[str, AttributeInfo]]]:
        # Filled on demand; tables and importers ask for every cell they handle.
        return {}

    def _class_attributes(
        self, info: ClassInfo
    ) -> tuple[tuple[AttributeInfo, ...], dict[str, AttributeInfo]]:
        found = self._per_class.get(info.id)
        if found is None:
            chain: list[AttributeInfo] = []
            for c in self.ancestors(info):
                chain.extend(sorted(self._own_attributes.get(c.id, []), key=lambda a: a.position))
            found = self._per_class[info.id] = (tuple(chain), {a.key: a for a in chain})
        return found

    def attributes_of(self, info: ClassInfo) -> list[AttributeInfo]:
        """Every attribute a CI of this class has, inherited ones first."""
        return list(self._class_attributes(info)[0])

    def attribute_map(self, info: ClassInfo) -> dict[str, AttributeInfo]:
        """Attributes of the class by key (computed once per class: shared, do not change it)."""
        return self._class_attributes(info)[1]

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

    def defaults(self, info: ClassInfo) -> dict[str, Any]:
        """Default values for new CIs of ``info`` (as typed; the nearest class wins)."""
        out: dict[str, Any] = {}
        for c in self.ancestors(info):
            out.update(c.defaults)
        return out

    def lifecycle(self, info: ClassInfo) -> Lifecycle:
        """The lifecycle rules of ``info``: those of the nearest class that sets them."""
        from cmdb_desktop.assets.lifecycle import Lifecycle

        for c in reversed(list(self.ancestors(info))):
            if c.lifecycle:
                return Lifecycle.from_json(c.lifecycle)
        return Lifecycle.unrestricted()

    def schema(self, info: ClassInfo) -> ClassSchema:
        """The write rules of class ``info`` (:class:`~cmdb_desktop.schema.ClassSchema`).

        Built once per class and metamodel: the metamodel is immutable, and a
        changed catalogue is a new metamodel.
        """
        found = self._schemas.get(info.id)
        if found is None:
            from cmdb_desktop.schema import ClassSchema

            found = self._schemas[info.id] = ClassSchema(self, info)
        return found

    @cached_property
    def _schemas(self) -> dict[int, ClassSchema]:
        return {}

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
