"""The class manager: classes, attribute definitions, relationship types.

Changes that touch data (an attribute's type, deleting an attribute, moving
a CI between classes) are data migrations: every stored value is checked
first, and the CIs they change get history records.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cmdb_desktop.catalogue import ATTRIBUTE_TYPES, IMPACT_FLOWS, STATUSES, SYSTEM_FIELDS
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.errors import DuplicateError, NotFoundError, ValidationError
from cmdb_desktop.history import HistoryWriter, Source
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, normalise_label
from cmdb_desktop.models import AttributeDef, CiClass, ConfigurationItem, RelationshipType, utcnow
from cmdb_desktop.values import coerce, from_storage, to_json, to_storage
from cmdb_desktop.vocabulary import AttrType

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

CI = ConfigurationItem

_UNSET: Any = object()


def key_from_label(label: str) -> str:
    """``"Rack Units (U)"`` → ``"rack_units_u"``."""
    key = re.sub(r"[^0-9a-zA-Z]+", "_", label.strip()).strip("_").lower()
    if not key or key[0].isdigit():
        key = "attr_" + key
    return key[:64]


class ClassService:
    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    def _done(self, s: Session) -> ChangeSummary:
        self._cmdb.bump(s, catalogue=True)
        return ChangeSummary(catalogue_changed=True)

    def _finish(self, summary: ChangeSummary) -> ChangeSummary:
        self._cmdb.notify(summary)
        return summary

    def _class_row(self, s: Session, name: str) -> CiClass:
        info = self._cmdb.meta.get_class(name)
        row = s.get(CiClass, info.id)
        if row is None:
            raise NotFoundError(f"Class {name!r} no longer exists.")
        return row

    def _count_cis(self, s: Session, class_ids: Sequence[int] | frozenset[int]) -> int:
        return int(
            s.scalar(select(func.count()).select_from(CI).where(CI.class_id.in_(list(class_ids))))
            or 0
        )

    # -- classes -------------------------------------------------------------
    def add_class(
        self,
        name: str,
        parent: str,
        *,
        abstract: bool = False,
        service: bool = False,
        description: str = "",
        icon: str = "",
    ) -> ChangeSummary:
        name = name.strip()
        if not name:
            raise ValidationError("A class needs a name.", {"name": "required"})
        if "/" in name:
            raise ValidationError("Class names cannot contain '/'.", {"name": "no '/'"})
        meta = self._cmdb.meta
        if meta.find_class(name) is not None:
            raise DuplicateError(f"There is already a class {name!r}.", {"name": "taken"})
        parent_info = meta.get_class(parent)
        with self._cmdb.write() as s:
            s.add(
                CiClass(
                    name=name,
                    parent_id=parent_info.id,
                    abstract=abstract,
                    service=service,
                    description=description,
                    icon=icon or parent_info.icon,
                    required_fields=[],
                    recommended_fields=[],
                    expects_relationships=parent_info.expects_relationships,
                    builtin=False,
                )
            )
            summary = self._done(s)
        return self._finish(summary)

    def update_class(
        self,
        name: str,
        *,
        new_name: str | None = None,
        description: str | None = None,
        service: bool | None = None,
        abstract: bool | None = None,
        icon: str | None = None,
        required_fields: Sequence[str] | None = None,
        recommended_fields: Sequence[str] | None = None,
        id_rules: Sequence[Sequence[str]] | None | Any = _UNSET,
        identity_scope: str | None | Any = _UNSET,
        expects_relationships: bool | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> ChangeSummary:
        """Change a class's properties. Field lists are validated against its attributes.

        ``defaults`` (attribute key or label → value) replaces the values this
        class gives new CIs (subclasses inherit them; a blank value removes a
        default); each must be valid for its attribute.
        """
        meta = self._cmdb.meta
        info = meta.get_class(name)
        keys = {a.key for a in meta.attributes_of(info)} | {"name"}
        problems: dict[str, str] = {}
        stored_defaults: dict[str, Any] | None = None
        if defaults is not None:
            stored_defaults, default_problems = self._check_defaults(info, defaults)
            problems.update(default_problems)
        for label, fields in (
            ("required_fields", required_fields),
            ("recommended_fields", recommended_fields),
        ):
            if fields is not None:
                bad = [f for f in fields if f not in keys]
                if bad:
                    problems[label] = f"{info.name} has no attribute(s) {', '.join(bad)}"
        if id_rules is not _UNSET and id_rules is not None:
            for rule in id_rules:
                bad = [f for f in rule if f not in keys]
                if not rule or bad:
                    problems["id_rules"] = f"unknown attribute(s) in rule {list(rule)}"
        if identity_scope is not _UNSET and identity_scope not in (None, "class", "subtree"):
            problems["identity_scope"] = "must be 'class' or 'subtree'"
        if new_name is not None:
            new_name = new_name.strip()
            other = meta.find_class(new_name)
            if not new_name or "/" in new_name:
                problems["name"] = "a class name is required and cannot contain '/'"
            elif other is not None and other.id != info.id:
                problems["name"] = f"there is already a class {new_name!r}"
        if problems:
            raise ValidationError.from_problems(problems, f"Cannot change class {info.name}")
        with self._cmdb.write() as s:
            row = self._class_row(s, name)
            if abstract and not row.abstract:
                n = self._count_cis(s, [info.id])
                if n:
                    raise ValidationError(
                        f"{info.name} holds {n} CIs; move them to another class before making "
                        "it abstract.",
                        {"abstract": "class holds CIs"},
                    )
            if new_name is not None:
                row.name = new_name
            if description is not None:
                row.description = description
            if service is not None:
                row.service = service
            if abstract is not None:
                row.abstract = abstract
            if icon is not None:
                row.icon = icon
            if required_fields is not None:
                row.required_fields = list(required_fields)
            if recommended_fields is not None:
                row.recommended_fields = list(recommended_fields)
            if id_rules is not _UNSET:
                row.id_rules = [list(r) for r in id_rules] if id_rules else None
            if identity_scope is not _UNSET:
                row.identity_scope = identity_scope
            if expects_relationships is not None:
                row.expects_relationships = expects_relationships
            if stored_defaults is not None:
                row.defaults = stored_defaults or None
            summary = self._done(s)
            if service is not None:
                summary.graph_changed = True
        return self._finish(summary)

    def set_lifecycle(
        self,
        name: str,
        *,
        transitions: Mapping[str, Sequence[str]] | None = None,
        requires: Mapping[str, Sequence[str]] | None = None,
        inherit: bool = False,
    ) -> ChangeSummary:
        """Edit a class's lifecycle rules (PRODUCT.md §10); subclasses inherit them.

        ``transitions`` (status → statuses it may move to) and ``requires``
        (status → attribute keys or labels a CI needs to move there) replace
        those statuses' entries of the rules the class has now (its own or
        inherited); ``inherit`` drops the class's own rules instead.
        """
        meta = self._cmdb.meta
        info = meta.get_class(name)
        statuses = set(STATUSES)
        problems: dict[str, str] = {}
        stored: dict[str, Any] | None = None
        if not inherit:
            current = meta.lifecycle(info).to_json()
            moves = dict(current.get("transitions") or {s: list(STATUSES) for s in STATUSES})
            needs = dict(current.get("requires") or {})
            schema = meta.schema(info)
            for status, targets in (transitions or {}).items():
                bad = [t for t in (status, *targets) if t not in statuses]
                if bad:
                    problems[status] = f"unknown status(es) {', '.join(bad)}"
                    continue
                moves[status] = [t for t in targets if t != status]
            for status, fields in (requires or {}).items():
                if status not in statuses:
                    problems[status] = f"unknown status {status!r}"
                    continue
                keys: list[str] = []
                for f in fields:
                    attr = schema.find(f)
                    if attr is None:
                        problems[status] = f"{info.name} has no attribute {f!r}"
                    else:
                        keys.append(attr.key)
                needs[status] = keys
            stored = {"transitions": moves, "requires": {k: v for k, v in needs.items() if v}}
        if problems:
            raise ValidationError.from_problems(
                problems, f"Cannot change the lifecycle of {info.name}"
            )
        with self._cmdb.write() as s:
            row = self._class_row(s, name)
            row.lifecycle = stored
            summary = self._done(s)
        return self._finish(summary)

    def _check_defaults(
        self, info: ClassInfo, defaults: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Default values as stored (JSON form, keyed by attribute key) and the problems."""
        schema = self._cmdb.meta.schema(info)
        stored: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for key, raw in defaults.items():
            attr = schema.find(key)
            if attr is None:
                problems[key] = f"{info.name} has no attribute {key!r}"
                continue
            if attr.type == AttrType.REFERENCE:
                problems[attr.key] = "a reference has no default value"
                continue
            try:
                value = schema.coerce(attr, raw)
            except ValueError as exc:
                problems[attr.key] = f"default value: {exc}"
                continue
            if value is not None:
                stored[attr.key] = to_json(value)
        return stored, problems

    def delete_class(self, name: str) -> ChangeSummary:
        meta = self._cmdb.meta
        info = meta.get_class(name)
        if info.builtin:
            raise ValidationError(f"{info.name} is a built-in class and cannot be deleted.")
        if meta.children.get(info.id):
            raise ValidationError(f"{info.name} has subclasses; delete or move them first.")
        with self._cmdb.write() as s:
            n = self._count_cis(s, [info.id])
            if n:
                raise ValidationError(f"{info.name} holds {n} CIs; delete or move them first.")
            refs = s.scalar(
                select(func.count())
                .select_from(AttributeDef)
                .where(AttributeDef.reference_class_id == info.id)
            )
            if refs:
                raise ValidationError(f"{refs} reference attribute(s) point at {info.name}.")
            for attr in s.scalars(select(AttributeDef).where(AttributeDef.class_id == info.id)):
                s.delete(attr)
            s.delete(self._class_row(s, name))
            summary = self._done(s)
        return self._finish(summary)

    # -- attributes ----------------------------------------------------------
    def _check_attribute_spec(
        self,
        type_: str,
        choices: Sequence[Any] | None,
        reference_class: str | None,
        min_value: float | None,
        max_value: float | None,
    ) -> tuple[list[Any] | None, int | None]:
        problems: dict[str, str] = {}
        if type_ not in ATTRIBUTE_TYPES:
            problems["type"] = f"must be one of {', '.join(ATTRIBUTE_TYPES)}"
        clean_choices: list[Any] | None = None
        if type_ == "choice":
            clean_choices = [str(c).strip() for c in (choices or []) if str(c).strip()]
            if not clean_choices:
                problems["choices"] = "a choice list needs at least one choice"
            elif len({c.casefold() for c in clean_choices}) != len(clean_choices):
                problems["choices"] = "choices must differ (ignoring case)"
        ref_id = None
        if type_ == "reference" and reference_class:
            ref_info = self._cmdb.meta.find_class(reference_class)
            if ref_info is None:
                problems["reference_class"] = f"unknown class {reference_class!r}"
            else:
                ref_id = ref_info.id
        if min_value is not None and max_value is not None and min_value > max_value:
            problems["min_value"] = "minimum is above maximum"
        if problems:
            raise ValidationError.from_problems(problems, "Invalid attribute")
        return clean_choices, ref_id

    def add_attribute(
        self,
        class_name: str,
        label: str,
        type_: str = "text",
        *,
        key: str | None = None,
        choices: Sequence[Any] | None = None,
        reference_class: str | None = None,
        min_value: float | None = None,
        max_value: float | None = None,
        description: str = "",
        required: bool = False,
    ) -> ChangeSummary:
        """Add a custom attribute to a class (and so to its subclasses)."""
        meta = self._cmdb.meta
        info = meta.get_class(class_name)
        label = label.strip()
        if not label:
            raise ValidationError("An attribute needs a label.", {"label": "required"})
        key = key_from_label(key or label)
        # The key must be free along the whole line: ancestors and descendants.
        taken: dict[str, str] = {}
        for c in [*meta.ancestors(info), *meta.descendants(info)]:
            for a in meta.attributes_of(c):
                taken[a.key] = a.label
                taken[normalise_label(a.label)] = a.label
        if key in SYSTEM_FIELDS or key in ("class", "name"):
            raise DuplicateError(f"{key!r} is a reserved field name.", {"key": "reserved"})
        if key in taken or normalise_label(label) in taken:
            raise DuplicateError(
                f"{info.name} (or a class above or below it) already has an attribute {label!r}.",
                {"label": "taken"},
            )
        clean_choices, ref_id = self._check_attribute_spec(
            type_, choices, reference_class, min_value, max_value
        )
        if required:
            with self._cmdb.read() as s:
                n = self._count_cis(s, meta.subtree_ids(info))
            if n:
                raise ValidationError(
                    f"{n} existing CIs would lack the new required attribute {label!r}; add it "
                    "as optional, fill it in, then make it required.",
                    {"required": "existing CIs"},
                )
        with self._cmdb.write() as s:
            pos = int(
                s.scalar(
                    select(func.count())
                    .select_from(AttributeDef)
                    .where(AttributeDef.class_id == info.id)
                )
                or 0
            )
            s.add(
                AttributeDef(
                    class_id=info.id,
                    key=key,
                    label=label,
                    type=type_,
                    column=None,
                    choices=clean_choices,
                    reference_class_id=ref_id,
                    min_value=min_value,
                    max_value=max_value,
                    position=100 + pos,
                    description=description,
                    builtin=False,
                )
            )
            if required:
                row = self._class_row(s, info.name)
                row.required_fields = [*row.required_fields, key]
            summary = self._done(s)
        return self._finish(summary)

    def _attribute(self, class_name: str, key: str) -> tuple[ClassInfo, AttributeInfo]:
        meta = self._cmdb.meta
        info = meta.get_class(class_name)
        attr = meta.find_attribute(info, key)
        if attr is None:
            raise NotFoundError(f"{info.name} has no attribute {key!r}.")
        return info, attr

    def update_attribute(
        self,
        class_name: str,
        key: str,
        *,
        label: str | None = None,
        type_: str | None = None,
        choices: Sequence[Any] | None = None,
        min_value: float | None | Any = _UNSET,
        max_value: float | None | Any = _UNSET,
        description: str | None = None,
        source: Source | None = None,
    ) -> ChangeSummary:
        """Rename, retype or re-constrain an attribute.

        For a custom attribute whose type or constraints change, every stored
        value is converted first; if any cannot be, nothing changes and the
        error lists the CIs to fix. Built-in attributes keep their type.
        """
        info, attr = self._attribute(class_name, key)
        new_type = type_ or attr.type
        if attr.column is not None and new_type != attr.type:
            raise ValidationError(f"{attr.label} is built in; its type cannot change.")
        new_choices = (
            list(choices)
            if choices is not None
            else (list(attr.choices) if attr.choices is not None else None)
        )
        new_min = attr.min_value if min_value is _UNSET else min_value
        new_max = attr.max_value if max_value is _UNSET else max_value
        clean_choices, _ = self._check_attribute_spec(new_type, new_choices, None, new_min, new_max)
        if attr.type == "integer" and attr.column is not None:
            clean_choices = new_choices
        new_attr = AttributeInfo(
            attr.id,
            attr.class_id,
            attr.key,
            label or attr.label,
            new_type,
            attr.column,
            tuple(clean_choices) if clean_choices else None,
            attr.reference_class_id,
            new_min,
            new_max,
            attr.position,
            description if description is not None else attr.description,
            attr.builtin,
        )
        meta = self._cmdb.meta
        with self._cmdb.write() as s:
            summary = self._done(s)
            recorder = HistoryWriter(s, self._cmdb.user, source or Source())
            owner = meta.class_by_id[attr.class_id]
            self._migrate_values(s, owner, attr, new_attr, recorder, summary)
            row = s.get(AttributeDef, attr.id)
            assert row is not None
            row.label = new_attr.label
            row.type = new_type
            row.choices = clean_choices
            row.min_value = new_min
            row.max_value = new_max
            row.description = new_attr.description
            recorder.flush()
        return self._finish(summary)

    def _migrate_values(
        self,
        s: Session,
        owner: ClassInfo,
        old: AttributeInfo,
        new: AttributeInfo,
        recorder: HistoryWriter,
        summary: ChangeSummary,
    ) -> None:
        meta = self._cmdb.meta
        class_ids = list(meta.subtree_ids(owner))
        col = CI.__table__.c[old.column] if old.column else CI.attributes
        failures: list[str] = []
        changes: list[tuple[int, str, str, Any, Any, Any]] = []
        rows = s.execute(
            select(CI.id, CI.class_id, CI.name, col).where(CI.class_id.in_(class_ids))
        ).all()
        for ci_id, class_id, name, stored in rows:
            value = stored if old.column else from_storage(old, (stored or {}).get(old.key))
            if value is None:
                continue
            try:
                converted = coerce(new, value)
            except ValueError as exc:
                failures.append(f"{name!r} (#{ci_id}): {exc}")
                continue
            if converted != value:
                changes.append(
                    (ci_id, meta.class_by_id[class_id].name, name, value, converted, stored)
                )
        if failures:
            shown = "; ".join(failures[:20])
            more = f" and {len(failures) - 20} more" if len(failures) > 20 else ""
            raise ValidationError(
                f"{len(failures)} stored value(s) of {old.label} do not fit the new definition: "
                f"{shown}{more}. Fix them first.",
                {old.key: "existing values do not fit"},
            )
        for ci_id, class_name, name, value, converted, stored in changes:
            if old.column:
                vals: dict[str, Any] = {old.column: converted}
            else:
                doc = dict(stored or {})
                doc[old.key] = to_storage(new, converted)
                vals = {"attributes": doc}
            s.execute(
                update(CI)
                .where(CI.id == ci_id)
                .values(version=CI.version + 1, updated_at=utcnow(), **vals)
            )
            recorder.ci_updated(ci_id, class_name, name, old.key, value, converted)
            summary.updated.append(ci_id)

    def delete_attribute(
        self, class_name: str, key: str, *, source: Source | None = None
    ) -> ChangeSummary:
        """Remove a custom attribute; CIs holding a value lose it (recorded in history)."""
        meta = self._cmdb.meta
        info, attr = self._attribute(class_name, key)
        if attr.column is not None:
            raise ValidationError(f"{attr.label} is built in and cannot be deleted.")
        owner = meta.class_by_id[attr.class_id]
        with self._cmdb.write() as s:
            summary = self._done(s)
            recorder = HistoryWriter(s, self._cmdb.user, source or Source())
            rows = s.execute(
                select(CI.id, CI.class_id, CI.name, CI.attributes).where(
                    CI.class_id.in_(list(meta.subtree_ids(owner)))
                )
            ).all()
            for ci_id, class_id, name, doc in rows:
                if doc and doc.get(attr.key) is not None:
                    new_doc = {k: v for k, v in doc.items() if k != attr.key}
                    s.execute(
                        update(CI)
                        .where(CI.id == ci_id)
                        .values(
                            attributes=new_doc or None, version=CI.version + 1, updated_at=utcnow()
                        )
                    )
                    recorder.ci_updated(
                        ci_id,
                        meta.class_by_id[class_id].name,
                        name,
                        attr.key,
                        from_storage(attr, doc[attr.key]),
                        None,
                    )
                    summary.updated.append(ci_id)
            for c in meta.descendants(owner):
                row = s.get(CiClass, c.id)
                if row is not None:
                    for field in ("required_fields", "recommended_fields"):
                        current = getattr(row, field) or []
                        if attr.key in current:
                            setattr(row, field, [k for k in current if k != attr.key])
                    if row.id_rules and any(attr.key in r for r in row.id_rules):
                        row.id_rules = [r for r in row.id_rules if attr.key not in r] or None
            row_def = s.get(AttributeDef, attr.id)
            if row_def is not None:
                s.delete(row_def)
            recorder.flush()
        return self._finish(summary)

    # -- relationship types --------------------------------------------------
    def add_relationship_type(
        self, name: str, reverse_name: str, impact: str, description: str = ""
    ) -> ChangeSummary:
        name, reverse_name = name.strip(), reverse_name.strip()
        problems: dict[str, str] = {}
        if not name:
            problems["name"] = "required"
        if not reverse_name:
            problems["reverse_name"] = "required"
        if impact not in IMPACT_FLOWS:
            problems["impact"] = f"must be one of {', '.join(IMPACT_FLOWS)}"
        existing = {
            normalise_label(n)
            for t in self._cmdb.meta.relationship_types
            for n in (t.name, t.reverse_name)
        }
        for field, value in (("name", name), ("reverse_name", reverse_name)):
            if value and normalise_label(value) in existing:
                problems[field] = f"{value!r} is already a relationship type name"
        if name and normalise_label(name) == normalise_label(reverse_name):
            problems["reverse_name"] = "must differ from the forward name"
        if problems:
            raise ValidationError.from_problems(problems, "Cannot add relationship type")
        with self._cmdb.write() as s:
            s.add(
                RelationshipType(
                    name=name,
                    reverse_name=reverse_name,
                    impact=impact,
                    description=description,
                    builtin=False,
                )
            )
            summary = self._done(s)
        return self._finish(summary)
