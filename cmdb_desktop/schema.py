"""The write rules of one CI class, in one place: :class:`ClassSchema`.

Every path that writes a CI — the form and the CLI through the item service,
an import through its planner and the batch writer, a rollback, an undo —
asks the class's schema, so a rule is written once:

* **fields**: which attributes the class has (inherited ones first), found by
  key or label;
* **values**: each attribute's type coerces what people type or a cell holds
  (:mod:`cmdb_desktop.attribute_types`), the same function in every path;
  names and identity keys refuse control characters;
* **new CIs**: the class's default values fill what is not given, then the
  attributes a user marked required must have a value;
* **identity**: which key rules a CI claims (PRODUCT.md §3), compared folded
  (:mod:`cmdb_desktop.identity`);
* **changes**: the field-by-field difference between a stored CI and its new
  values (moving to another class clears what the new class lacks), which is
  also what the history records;
* **storage**: a value sits in its ``ci`` column, or, for an attribute with no
  column, in the CI's custom-attributes JSON document; :meth:`ClassSchema.encode`
  and :meth:`ClassSchema.decode` are the only code that knows which.

A schema is immutable and belongs to one :class:`~cmdb_desktop.metamodel.Metamodel`
(``meta.schema(info)``): safe to share between threads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cmdb_desktop.assets.lifecycle import state_problems
from cmdb_desktop.attribute_types import type_of
from cmdb_desktop.errors import (
    AmbiguousReferenceError,
    NotFoundError,
    UnknownFieldError,
    ValidationError,
)
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel
from cmdb_desktop.vocabulary import AttrType

NAME = "name"
CLASS = "class"
MAX_NAME_LENGTH = 255
#: Fields whose change can alter the impact graph.
GRAPH_FIELDS = frozenset({"status", "redundancy_min_up", "redundancy_min_up_pct", "class"})

#: Columns of ``ci`` in table order: a row read with ``SELECT *`` (ORM Core or the
#: driver's own cursor) is decoded by position. Written out rather than read from
#: :data:`cmdb_desktop.models.ci_table`, so that decoding a row needs no SQLAlchemy
#: (a small command's quick reader); ``tests/cmdb_desktop/test_records.py`` holds
#: both to the same order.
CI_COLUMNS: tuple[str, ...] = (
    "id", "class_id", "name", "status", "environment", "criticality", "owner",
    "support_group", "description", "tags", "last_verified", "redundancy_min_up",
    "redundancy_min_up_pct", "asset_tag", "serial_number", "manufacturer", "model",
    "purchase_date", "cost", "warranty_end", "assigned_to", "end_of_life",
    "software_version", "vendor", "attributes", "created_at", "updated_at", "version",
    "licence_key",
)  # fmt: skip
CI_POSITION: dict[str, int] = {name: i for i, name in enumerate(CI_COLUMNS)}
_ATTRIBUTES = CI_POSITION["attributes"]
#: The date columns (the driver's own cursor returns them as text), and their positions.
CI_DATE_COLUMNS: tuple[str, ...] = ("last_verified", "purchase_date", "warranty_end", "end_of_life")
CI_DATE_POSITIONS: tuple[int, ...] = tuple(CI_POSITION[c] for c in CI_DATE_COLUMNS)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

#: Resolves a reference attribute's typed value (an id or ``Class/Name`` text) to a CI id.
ReferenceResolver = Callable[[AttributeInfo, int | str], int]


def _has(value: Any) -> bool:
    """A key value is present (typed values are stripped: blank text is None already)."""
    return value is not None and value != ""


def name_problem(text: str) -> str | None:
    """What is wrong with a CI name (already stripped), or None."""
    if not text:
        return "a name is required"
    if len(text) > MAX_NAME_LENGTH:
        return f"is {len(text)} characters; the limit is {MAX_NAME_LENGTH}"
    if "\x00" in text:
        return "contains a NUL character"
    return None


def control_problem(text: str) -> str | None:
    """Why ``text`` cannot be a name or an identity key: a control character (or None).

    Checked where a write *sets* a name or key (PRODUCT.md §8): a CI an older
    version stored with a tab in its name still re-imports unchanged.
    """
    found = _CONTROL.search(text)
    if found is None:
        return None
    return (
        f"contains a control character (U+{ord(found.group()):04X}); names and identity "
        "keys must be plain text"
    )


def check_name(raw: Any) -> str:
    """A CI name from typed text or a cell; ValueError says what is wrong."""
    if raw is None:
        text = ""
    elif isinstance(raw, float) and raw.is_integer():
        text = str(int(raw))
    else:
        text = str(raw).strip()
    problem = name_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


def document(value: Any) -> dict[str, Any]:
    """A custom-attributes document as read (a dict, JSON text, or nothing)."""
    if not value or value == "null":  # most CIs have no custom attributes
        return {}
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value)


@dataclass(frozen=True)
class CiDiff:
    """What writing new values changes on a stored CI.

    ``changes`` maps field (attribute key, ``"name"``, ``"class"``) to
    (old, new); ``custom`` is the CI's whole new custom-attributes document
    (storage form) when a custom attribute changed, else None.
    """

    changes: dict[str, tuple[Any, Any]]
    custom: dict[str, Any] | None

    def __bool__(self) -> bool:
        return bool(self.changes)


class ClassSchema:
    """The rules for writing CIs of one class (see the module docstring)."""

    def __init__(self, meta: Metamodel, info: ClassInfo) -> None:
        self.meta = meta
        self.info = info
        self.attributes: tuple[AttributeInfo, ...] = tuple(meta.attributes_of(info))
        self.by_key: Mapping[str, AttributeInfo] = meta.attribute_map(info)
        self.identification = meta.identification(info)
        #: Attribute keys some identification rule of this class uses.
        self.key_fields = frozenset(f for rule in self.identification.rules for f in rule)
        self._value_keys = tuple(sorted(self.key_fields - {NAME}))
        #: Attributes a CI must have a value for (beyond the name).
        self.required: tuple[AttributeInfo, ...] = tuple(
            self.by_key[k] for k in meta.required_fields(info) if k in self.by_key
        )
        self.custom: tuple[AttributeInfo, ...] = tuple(a for a in self.attributes if a.is_custom)
        # key → (position in a ci row or None for the custom document, is a date)
        self._layout: dict[str, tuple[int | None, bool]] = {
            a.key: (
                CI_POSITION[a.column] if a.column is not None else None,
                a.type == AttrType.DATE,
            )
            for a in self.attributes
        }
        self._defaults: dict[str, Any] | None = None
        self._default_problems: dict[str, str] = {}
        self._merged: tuple[Mapping[str, Any], dict[str, Any]] | None = None
        self.lifecycle = meta.lifecycle(info)
        self._labels = {a.key: a.label for a in self.attributes}

    # -- fields ------------------------------------------------------------------
    def find(self, key_or_label: str) -> AttributeInfo | None:
        """An attribute by key or label, case- and spacing-insensitive."""
        return self.by_key.get(key_or_label) or self.meta.find_attribute(self.info, key_or_label)

    def coerce(self, attr: AttributeInfo, raw: Any) -> Any:
        """``raw`` as ``attr``'s value (None for blank); ValueError says what is wrong."""
        return type_of(attr).coerce(attr, raw)

    def plain_text_problems(self, name: str | None, values: Mapping[str, Any]) -> dict[str, str]:
        """Control characters in a name or identity key a write sets (field → message).

        ``name`` None: the write keeps the name; ``values``: only what it sets.
        """
        problems: dict[str, str] = {}
        if name is not None and _CONTROL.search(name) is not None:
            problems[NAME] = control_problem(name) or ""
        for key in self._value_keys:
            value = values.get(key)
            if type(value) is str and _CONTROL.search(value) is not None:
                problems[key] = control_problem(value) or ""
        return problems

    # -- new CIs and required fields ---------------------------------------------
    @property
    def defaults(self) -> dict[str, Any]:
        """The class's default values for new CIs, typed (invalid ones are left out
        and reported by :attr:`default_problems`)."""
        if self._defaults is None:
            found: dict[str, Any] = {}
            for key, raw in self.meta.defaults(self.info).items():
                attr = self.by_key.get(key)
                if attr is None:
                    continue
                try:
                    value = self.coerce(attr, raw)
                except ValueError as exc:
                    self._default_problems[key] = f"default value: {exc}"
                    continue
                if value is not None:
                    found[key] = value
            self._defaults = found
        return self._defaults

    @property
    def default_problems(self) -> dict[str, str]:
        self.defaults  # noqa: B018 - computing them finds the problems
        return self._default_problems

    def with_defaults(
        self, values: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """A new CI's values: those given (blanks dropped), then ``extra`` defaults
        (an import's own, already typed), then the class's defaults."""
        kept = {k: v for k, v in values.items() if v is not None}
        defaults = self._merged_defaults(extra) if extra else self._defaults
        if defaults is None:
            defaults = self.defaults
        for key, value in defaults.items():
            if key not in kept:
                kept[key] = value
        return kept

    def _merged_defaults(self, extra: Mapping[str, Any]) -> Mapping[str, Any]:
        # An import asks with the same mapping for every row: merge it once.
        cached = self._merged
        if cached is not None and cached[0] is extra:
            return cached[1]
        merged = {**self.defaults, **{k: v for k, v in extra.items() if k in self.by_key}}
        self._merged = (extra, merged)
        return merged

    def missing_required(self, values: Mapping[str, Any]) -> list[AttributeInfo]:
        """Required attributes without a value in ``values`` (a CI's whole state)."""
        return [a for a in self.required if values.get(a.key) is None]

    def required_message(self, attr: AttributeInfo) -> str:
        return f"{attr.label} is required for {self.info.name}"

    def state_problems(
        self,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any],
        changed: Iterable[str] | None = None,
    ) -> dict[str, str]:
        """Lifecycle and date rules (PRODUCT.md §10) a write breaks (field → message):
        a transition the class does not allow, a field the new status requires, a
        warranty or disposal before the purchase. ``before`` None: a new CI."""
        return state_problems(
            self.lifecycle,
            self._labels,
            before,
            after,
            None if changed is None else frozenset(changed),
        )

    # -- validating typed input (the form, the CLI) --------------------------------
    def validate(
        self,
        fields: Mapping[str, Any],
        *,
        existing: Mapping[str, Any] | None = None,
        existing_name: str | None = None,
        resolve: ReferenceResolver | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Check ``fields`` (keys or labels → typed input) for a CI of this class.

        Returns (name, values): the values given, coerced, plus — for a new CI
        (``existing`` None) — the class's defaults. Every problem is collected
        and raised together: UnknownFieldError if a field is unknown, else
        ValidationError.
        """
        problems: dict[str, str] = {}
        unknown = False
        values: dict[str, Any] = {}
        name = existing_name
        for key, raw in fields.items():
            folded = key.strip().casefold()
            if folded == NAME:
                try:
                    name = check_name(raw)
                except ValueError as exc:
                    problems[NAME] = str(exc)
                continue
            if folded == CLASS:
                continue
            attr = self.find(key)
            if attr is None:
                unknown = True
                problems[key] = f"class {self.info.name} has no attribute {key!r}"
                continue
            try:
                value = self.coerce(attr, raw)
                if attr.type == AttrType.REFERENCE and value is not None and resolve is not None:
                    value = resolve(attr, value)
            except (ValueError, NotFoundError, AmbiguousReferenceError) as exc:
                problems[attr.key] = str(exc)
                continue
            values[attr.key] = value
        if name is None and NAME not in problems:
            problems[NAME] = "a name is required"
        set_name = name if existing is None or name != existing_name else None
        for key, problem in self.plain_text_problems(set_name, values).items():
            problems.setdefault(key, problem)
        if existing is None:
            values = self.with_defaults(values)
            merged: Mapping[str, Any] = values
        else:
            merged = {**existing, **values}
        for attr in self.missing_required(merged):
            problems.setdefault(attr.key, self.required_message(attr))
        for key, problem in self.state_problems(existing, merged, values.keys()).items():
            problems.setdefault(key, problem)
        if problems:
            cls = UnknownFieldError if unknown else ValidationError
            what = f"{self.info.name} {name!r}" if name else self.info.name
            raise cls.from_problems(problems, f"Cannot save {what}")
        assert name is not None
        return name, values

    # -- identity ------------------------------------------------------------------
    def identity_claims(
        self,
        name: str | None,
        values: Mapping[str, Any],
        changed: Iterable[str] | None = None,
    ) -> list[tuple[str, ...]]:
        """The key rules no other CI of the identity space may share with this one.

        Every *hard* rule (all but the last: serial number, asset tag) whose
        values are present, and the rule that identifies the CI when it is the
        last one (its name): two CIs that an import could not tell apart must
        not exist. With ``changed`` (the fields an update changes), only rules
        touching them: an edit elsewhere never trips over older duplicates.
        """
        rules = self.identification.rules

        def present(rule: Sequence[str]) -> bool:
            if len(rule) == 1:  # nearly every rule: one field (an import asks per row)
                f = rule[0]
                return _has(name if f == NAME else values.get(f))
            return all(_has(name if f == NAME else values.get(f)) for f in rule)

        claims = [r for r in rules[:-1] if present(r)]
        if not claims and present(rules[-1]):
            claims.append(rules[-1])  # the last rule decides: it is the identity
        if changed is not None:
            touched = set(changed)
            if CLASS not in touched:
                claims = [r for r in claims if touched.intersection(r)]
        return claims

    def key_values(self, rule: Sequence[str], name: str | None, values: Mapping[str, Any]) -> str:
        """A rule's values as a message shows them (``'SN-1'`` or ``'a', 'b'``)."""
        return ", ".join(repr(name if f == NAME else values.get(f)) for f in rule)

    def rule_label(self, rule: Sequence[str]) -> str:
        return ", ".join(
            "Name" if f == NAME else (self.by_key[f].label if f in self.by_key else f) for f in rule
        )

    # -- changes -------------------------------------------------------------------
    def diff(
        self,
        existing_class: ClassInfo,
        existing_name: str,
        existing: Mapping[str, Any],
        name: str,
        values: Mapping[str, Any],
    ) -> CiDiff:
        """What writing ``name`` and ``values`` as a CI of *this* class changes on a
        stored CI (of ``existing_class``, with ``existing`` values).

        Values not given keep what the CI has; a move to this class clears the
        attributes it lacks.
        """
        changes: dict[str, tuple[Any, Any]] = {}
        custom_changed = False
        if existing_class.id != self.info.id:
            changes[CLASS] = (existing_class.name, self.info.name)
            for key, old_attr in self.meta.attribute_map(existing_class).items():
                if key not in self.by_key and existing.get(key) is not None:
                    changes[key] = (existing[key], None)
                    custom_changed |= old_attr.is_custom
        if name != existing_name:
            changes[NAME] = (existing_name, name)
        for key in values:
            if key not in self.by_key:
                raise KeyError(f"class {self.info.name} has no attribute {key!r}")
        # In the class's attribute order, whatever order the fields came in: every
        # path records the same history for the same change.
        for attr in self.attributes:
            if attr.key in values:
                value, old = values[attr.key], existing.get(attr.key)
                if old != value:
                    changes[attr.key] = (old, value)
                    custom_changed |= attr.is_custom
        custom = None
        if custom_changed:
            state = {k: existing.get(k) for k in self.by_key}
            state.update(values)
            custom = self.custom_document(state) or {}
        return CiDiff(changes, custom)

    # -- storage -------------------------------------------------------------------
    def custom_document(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The custom-attributes document for a CI's values (None when empty)."""
        doc: dict[str, Any] = {}
        for attr in self.custom:
            value = values.get(attr.key)
            if value is not None:
                doc[attr.key] = type_of(attr).to_storage(value)
        return doc or None

    def encode(
        self, values: Mapping[str, Any], *, clear_from: ClassInfo | None = None
    ) -> dict[str, Any]:
        """``ci`` columns → stored value for a CI of this class with these values.

        Every column attribute of the class is written (None where no value)
        and ``attributes`` holds the custom document. ``clear_from``, the class
        a CI moves from, also blanks the columns it had and this class lacks.
        """
        row: dict[str, Any] = {}
        if clear_from is not None:
            for attr in self.meta.attributes_of(clear_from):
                if attr.column is not None and attr.key not in self.by_key:
                    row[attr.column] = None
        for attr in self.attributes:
            if attr.column is not None:
                row[attr.column] = values.get(attr.key)
        row["attributes"] = self.custom_document(values)
        return row

    def encode_row(self, values: Mapping[str, Any], *, text_storage: bool) -> list[Any]:
        """A whole ``ci`` row (table order) holding ``values``, for bulk inserts.

        ``text_storage``: the driver's own cursor takes dates and the JSON
        document as text (SQLite). Id, class, name, timestamps and version are
        left to the caller.
        """
        row: list[Any] = [None] * len(CI_COLUMNS)
        custom: dict[str, Any] | None = None
        layout = self._layout
        for key, value in values.items():
            if value is None:
                continue
            pos, is_date = layout[key]
            if pos is None:
                if custom is None:
                    custom = {}
                custom[key] = type_of(self.by_key[key]).to_storage(value)
            elif is_date and text_storage:
                row[pos] = value.isoformat()
            else:
                row[pos] = value
        if custom:
            row[_ATTRIBUTES] = json.dumps(custom) if text_storage else custom
        return row

    def encode_changes(self, diff: CiDiff, *, text_storage: bool) -> dict[str, Any]:
        """``ci`` column → new stored value for the fields ``diff`` changes (bulk updates)."""
        sets: dict[str, Any] = {}
        every = self.meta.all_attribute_keys
        for key, (_old, new) in diff.changes.items():
            if key == CLASS:
                sets["class_id"] = self.info.id
            elif key == NAME:
                sets["name"] = new
            else:
                attr = self.by_key.get(key) or every[key]
                if attr.column is not None:
                    is_date = attr.type == AttrType.DATE and new is not None
                    sets[attr.column] = new.isoformat() if is_date and text_storage else new
        if diff.custom is not None:
            doc = diff.custom or None
            sets["attributes"] = json.dumps(doc) if doc and text_storage else doc
        return sets

    def decode(self, row: Sequence[Any]) -> dict[str, Any]:
        """Every attribute's value from a whole ``ci`` row in table order
        (a Core row of ``select(ci_table)`` or the driver's own tuple)."""
        doc = document(row[_ATTRIBUTES])
        return {
            attr.key: field_value(
                attr, row[CI_POSITION[attr.column]] if attr.column is not None else None, doc
            )
            for attr in self.attributes
        }

    def expression(self, key: str, dialect: str) -> Any:
        """The SQL expression of a field on ``ci`` (its column, or its JSON text)."""
        if key == NAME:
            from cmdb_desktop.models import ci_table  # noqa: PLC0415 (SQLAlchemy: queries only)

            return ci_table.c.name
        attr = self.by_key.get(key) or self.meta.all_attribute_keys.get(key)
        if attr is None:
            raise KeyError(f"unknown field {key!r}")
        return field_expression(attr, dialect)


def field_value(attr: AttributeInfo, column_value: Any, doc: Mapping[str, Any]) -> Any:
    """An attribute's typed value from what a ``ci`` row holds: its column's value
    (``column_value``; dates may come as text from the driver's own cursor), or
    its entry in the custom-attributes document ``doc``."""
    if attr.column is not None:
        if type(column_value) is str and attr.type == AttrType.DATE:
            return date.fromisoformat(column_value[:10])
        return column_value
    stored = doc.get(attr.key)
    return None if stored is None else type_of(attr).from_storage(stored)


def field_expression(attr: AttributeInfo, dialect: str) -> Any:
    """An attribute's SQL expression on ``ci``: its column, or its text in the JSON document."""
    from cmdb_desktop.dialect import json_text  # noqa: PLC0415 (SQLAlchemy: queries only)
    from cmdb_desktop.models import ci_table  # noqa: PLC0415

    if attr.column is not None:
        return ci_table.c[attr.column]
    return json_text(ci_table.c.attributes, attr.key, dialect)


def timestamp(value: Any) -> datetime:
    """A stored timestamp as a datetime (the driver's own cursor returns text)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return datetime.min
