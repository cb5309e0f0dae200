"""The class manager: classes, attribute definitions, relationship types.

Changes that touch data (an attribute's type, deleting an attribute, moving
a CI between classes) are data migrations: every stored value is checked
first, and the CIs they change get history records.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cmdb_desktop.catalogue import ATTRIBUTE_TYPES, IMPACT_FLOWS, STATUSES, SYSTEM_FIELDS
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.errors import DuplicateError, NotFoundError, ValidationError
from cmdb_desktop.history import HistoryWriter, Source, definition_of
from cmdb_desktop.metamodel import (
    AttributeInfo,
    ClassInfo,
    Metamodel,
    RelationshipTypeInfo,
    normalise_label,
)
from cmdb_desktop.models import (
    AttributeDef,
    CiClass,
    ConfigurationItem,
    Relationship,
    RelationshipType,
    utcnow,
)
from cmdb_desktop.values import coerce, from_storage, to_json, to_storage
from cmdb_desktop.vocabulary import Action, AttrType, ImpactFlow, ModelPart

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


#: Impact flows as the command line and the workbook spell them (PRODUCT.md §5).
FLOW_WORDS: dict[str, ImpactFlow] = {
    "t2s": ImpactFlow.TO_SOURCE,
    "s2t": ImpactFlow.TO_TARGET,
    "none": ImpactFlow.NONE,
}


def parse_flow(text: str) -> ImpactFlow:
    """``t2s`` / ``s2t`` / ``none`` (or the stored names) → the flow; ValidationError otherwise."""
    wanted = text.strip().casefold().replace("-", "_")
    if wanted in FLOW_WORDS:
        return FLOW_WORDS[wanted]
    for flow in ImpactFlow:
        if flow.value == wanted:
            return flow
    raise ValidationError(
        f"Unknown impact flow {text!r}: use t2s (a failure of the target hits the source), "
        "s2t (a failure of the source hits the target) or none.",
        {"flow": "t2s, s2t or none"},
    )


def flow_word(flow: str) -> str:
    return next(word for word, f in FLOW_WORDS.items() if f == flow)


@dataclass
class ConversionPreview:
    """What changing an attribute's definition would do to the stored values (a dry run).

    ``values``: CIs holding a value; ``changed``: values that convert to a
    different stored value; ``failures``: (CI id, CI name, value, why) of the
    values that would not convert — any refuses the change.
    """

    attribute: str
    values: int = 0
    changed: int = 0
    failures: list[tuple[int, str, Any, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        head = (
            f"{self.attribute}: {self.values:,} stored value(s), "
            f"{self.values - len(self.failures):,} convert ({self.changed:,} change)"
        )
        if not self.failures:
            return head + "."
        shown = "; ".join(f"{name!r} (#{i}): {why}" for i, name, _v, why in self.failures[:20])
        more = f" and {len(self.failures) - 20} more" if len(self.failures) > 20 else ""
        return f"{head}, {len(self.failures):,} do not: {shown}{more}"

    def to_json(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "values": self.values,
            "convert": self.values - len(self.failures),
            "changed": self.changed,
            "failures": [
                {"ci": i, "name": name, "value": to_json(v), "problem": why}
                for i, name, v, why in self.failures
            ],
        }


def _fold_choice(text: str) -> str:
    """How choices compare (the choice type's folding: case and spacing)."""
    return " ".join(text.casefold().split())


def _choices_text(choices: Sequence[Any] | None) -> str | None:
    return ", ".join(str(c) for c in choices) if choices is not None else None


def _class_rules(row: CiClass) -> dict[str, Any]:
    """The per-class rules naming attributes, as an attribute's deletion records them
    (before it strips the attribute from them)."""
    return {
        "required_fields": list(row.required_fields or ()),
        "recommended_fields": list(row.recommended_fields or ()),
        "id_rules": [list(r) for r in row.id_rules] if row.id_rules else None,
        "defaults": dict(row.defaults) if row.defaults else None,
    }


class ClassService:
    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    def _done(self, s: Session) -> ChangeSummary:
        self._cmdb.bump(s, catalogue=True)
        return ChangeSummary(catalogue_changed=True)

    def _finish(self, summary: ChangeSummary) -> ChangeSummary:
        self._cmdb.notify(summary)
        return summary

    def _record(
        self,
        s: Session,
        action: Action,
        part: ModelPart,
        name: str,
        changes: Mapping[str, tuple[Any, Any]] | None = None,
        source: Source | None = None,
        recorder: HistoryWriter | None = None,
    ) -> None:
        """Record a change of the model in the history, in the writing transaction ``s``."""
        writer = recorder or HistoryWriter(s, self._cmdb.user, source or Source())
        writer.model_changed(action, part, name, changes)
        if recorder is None:
            writer.flush()

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
        source: Source | None = None,
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
            self._record(
                s,
                Action.CREATE,
                ModelPart.CLASS,
                name,
                {"parent": (None, parent_info.name), "abstract": (None, abstract)},
                source,
            )
            summary = self._done(s)
        return self._finish(summary)

    def update_class(
        self,
        name: str,
        *,
        new_name: str | None = None,
        parent: str | None = None,
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
        source: Source | None = None,
    ) -> ChangeSummary:
        """Change a class's properties. Field lists are validated against its attributes.

        ``parent`` moves the class (and its subclasses) under another class:
        refused when it would lose attributes its CIs hold values of, or when
        its own attributes clash with the new parent's. ``defaults`` (attribute
        key or label → value) replaces the values this class gives new CIs
        (subclasses inherit them; a blank value removes a default); each must
        be valid for its attribute. Every changed property is recorded in the
        history.
        """
        meta = self._cmdb.meta
        info = meta.get_class(name)
        keys = {a.key for a in meta.attributes_of(info)} | {"name"}
        problems: dict[str, str] = {}
        new_parent: ClassInfo | None = None
        if parent is not None:
            new_parent = meta.get_class(parent)
            if new_parent.id == info.parent_id:
                new_parent = None
            elif info.parent_id is None:
                problems["parent"] = f"{info.name} is the root of the class tree and stays there"
            elif new_parent.id in meta.subtree_ids(info):
                problems["parent"] = f"{new_parent.name} is {info.name} or one of its subclasses"
            else:
                problems.update(self._move_problems(info, new_parent))
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
            elif new_name == info.name:
                new_name = None
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
            before = self._class_state(row)
            if new_name is not None:
                row.name = new_name
            if new_parent is not None:
                row.parent_id = new_parent.id
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
            after = self._class_state(row)
            changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            if changes:
                self._record(s, Action.UPDATE, ModelPart.CLASS, info.name, changes, source)
            summary = self._done(s)
            if service is not None or new_parent is not None:
                summary.graph_changed = True
        return self._finish(summary)

    def _class_state(self, row: CiClass) -> dict[str, Any]:
        """A class's properties as the history records them."""
        parent = self._cmdb.meta.class_by_id.get(row.parent_id) if row.parent_id else None
        return {
            "name": row.name,
            "parent": parent.name if parent is not None else None,
            "description": row.description or "",
            "service": bool(row.service),
            "abstract": bool(row.abstract),
            "icon": row.icon or "",
            "required": ", ".join(row.required_fields or ()),
            "recommended": ", ".join(row.recommended_fields or ()),
            "identification": " | ".join("+".join(r) for r in row.id_rules or ()),
            "identity scope": row.identity_scope,
            "expects relationships": bool(row.expects_relationships),
            "defaults": dict(row.defaults or {}),
        }

    def _move_problems(self, info: ClassInfo, new_parent: ClassInfo) -> dict[str, str]:
        """Why ``info`` cannot move under ``new_parent`` (empty when it can)."""
        meta = self._cmdb.meta
        kept = {a.key for a in meta.attributes_of(new_parent)}
        moving = [c for c in meta.descendants(info)]
        own = {a.key for c in moving for a in meta.attributes if a.class_id == c.id}
        clash = sorted(own & kept)
        problems: dict[str, str] = {}
        if clash:
            problems["parent"] = (
                f"{new_parent.name} already has attribute(s) {', '.join(clash)} that "
                f"{info.name} defines"
            )
            return problems
        lost = [
            a
            for a in meta.attributes_of(meta.class_by_id[info.parent_id or 0])
            if a.key not in kept
        ]
        if not lost:
            return problems
        lost_keys = {a.key for a in lost}
        for c in moving:
            used = (
                set(c.required_fields) | set(c.recommended_fields) | dict(c.defaults).keys()
            ) & (lost_keys)
            used |= {k for rule in c.id_rules or () for k in rule} & lost_keys
            if used:
                problems["parent"] = (
                    f"{c.name} uses {', '.join(sorted(used))}, which {new_parent.name} does not "
                    "have; change that first"
                )
                return problems
        with self._cmdb.read() as s:
            held = self._values_held(s, frozenset(c.id for c in moving), lost)
        if held:
            shown = ", ".join(f"{label} ({n})" for label, n in held.items())
            problems["parent"] = (
                f"CIs of {info.name} hold values of attribute(s) {new_parent.name} does not "
                f"have: {shown}; clear them or add the attributes to {new_parent.name} first"
            )
        return problems

    def _values_held(
        self, s: Session, class_ids: frozenset[int], attrs: Sequence[AttributeInfo]
    ) -> dict[str, int]:
        """How many CIs of ``class_ids`` hold a value of each of ``attrs`` (label → count)."""
        counts: dict[str, int] = {}
        for attr in attrs:
            col = CI.__table__.c[attr.column] if attr.column else CI.attributes
            n = 0
            for (stored,) in s.execute(select(col).where(CI.class_id.in_(list(class_ids)))):
                value = stored if attr.column else (stored or {}).get(attr.key)
                if value is not None and value != "":
                    n += 1
            if n:
                counts[attr.label] = n
        return counts

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
            before = dict(row.lifecycle) if row.lifecycle else None
            row.lifecycle = stored
            if before != stored:
                changes = {"lifecycle": (before, stored)}
                self._record(s, Action.UPDATE, ModelPart.CLASS, info.name, changes)
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

    def delete_class(
        self, name: str, *, move_to: str | None = None, source: Source | None = None
    ) -> ChangeSummary:
        """Delete a class without subclasses.

        Refused while CIs use it (the message gives their count) unless
        ``move_to`` names the class they move to first, in the same
        transaction: each move is validated like an edit of the CI's class
        (required fields, identity) and recorded in the CI's history.
        """
        meta = self._cmdb.meta
        info = meta.get_class(name)
        if info.builtin:
            raise ValidationError(f"{info.name} is a built-in class and cannot be deleted.")
        if meta.children.get(info.id):
            kids = ", ".join(c.name for c in meta.children[info.id])
            raise ValidationError(
                f"{info.name} has subclasses ({kids}); delete or move them first."
            )
        target = meta.concrete_class(move_to) if move_to is not None else None
        if target is not None and target.id == info.id:
            raise ValidationError(f"Move the CIs of {info.name} to another class, not itself.")
        with self._cmdb.write() as s:
            ci_ids = list(s.scalars(select(CI.id).where(CI.class_id == info.id).order_by(CI.id)))
            if ci_ids and target is None:
                raise ValidationError(
                    f"{info.name} holds {len(ci_ids)} CI(s); delete them or move them to another "
                    "class first (--move-to CLASS).",
                    {"class": f"holds {len(ci_ids)} CIs"},
                )
            refs = s.scalar(
                select(func.count())
                .select_from(AttributeDef)
                .where(AttributeDef.reference_class_id == info.id)
            )
            if refs:
                raise ValidationError(f"{refs} reference attribute(s) point at {info.name}.")
            summary = ChangeSummary(catalogue_changed=True)
            recorder = HistoryWriter(s, self._cmdb.user, source or Source())
            if target is not None:
                items = self._cmdb.items
                for ci_id in ci_ids:
                    items._update_one(s, ci_id, {"class": target.name}, None, recorder, summary)
            own = list(s.scalars(select(AttributeDef).where(AttributeDef.class_id == info.id)))
            class_row = self._class_row(s, name)
            definition = {
                "class": definition_of(class_row),
                "attributes": [definition_of(a) for a in own],
            }
            for attr in own:
                s.delete(attr)
            s.delete(class_row)
            parent = meta.class_by_id.get(info.parent_id) if info.parent_id else None
            recorder.model_changed(
                Action.DELETE,
                ModelPart.CLASS,
                info.name,
                {
                    "parent": (parent.name if parent else None, None),
                    "attributes": (", ".join(a.label for a in own), None),
                    **(
                        {"CIs moved to": (None, f"{target.name} ({len(ci_ids)})")} if target else {}
                    ),
                },
                definition=definition,
            )
            recorder.flush()
            self._cmdb.bump(s, catalogue=True, graph=bool(ci_ids))
            summary.graph_changed = summary.graph_changed or bool(ci_ids)
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

    def _new_key(self, info: ClassInfo, label: str, key: str | None) -> str:
        """The key of a new attribute of ``info``; refused when the label or key is
        blank, reserved, or taken along the class's line (ancestors and descendants)."""
        meta = self._cmdb.meta
        if not label:
            raise ValidationError("An attribute needs a label.", {"label": "required"})
        key = key_from_label(key or label)
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
        return key

    def check_new_attributes(
        self, specs: Sequence[tuple[str, str, str, Sequence[Any] | None]]
    ) -> None:
        """Raise the error :meth:`add_attributes` would raise for these specs (writes nothing)."""
        self._new_attribute_rows(specs)

    def _new_attribute_rows(
        self, specs: Sequence[tuple[str, str, str, Sequence[Any] | None]]
    ) -> list[tuple[ClassInfo, str, str, str, list[Any] | None]]:
        meta = self._cmdb.meta
        rows: list[tuple[ClassInfo, str, str, str, list[Any] | None]] = []
        seen: set[tuple[int, str]] = set()
        for class_name, label, type_, choices in specs:
            info = meta.get_class(class_name)
            key = self._new_key(info, label.strip(), None)
            lineage = {c.id for c in [*meta.ancestors(info), *meta.descendants(info)]}
            if any((cid, key) in seen for cid in lineage):
                raise DuplicateError(f"Two new attributes of {info.name} are called {label!r}.")
            seen.add((info.id, key))
            clean, _ = self._check_attribute_spec(type_, choices, None, None, None)
            rows.append((info, key, label.strip(), type_, clean))
        return rows

    def add_attributes(
        self,
        specs: Sequence[tuple[str, str, str, Sequence[Any] | None]],
        *,
        source: Source | None = None,
    ) -> ChangeSummary:
        """Add several optional attributes — (class, label, type, choices) each — in one
        transaction, each recorded in the history; all are refused if one is invalid."""
        rows = self._new_attribute_rows(specs)
        if not rows:
            return ChangeSummary()
        with self._cmdb.write() as s:
            recorder = HistoryWriter(s, self._cmdb.user, source or Source())
            for info, key, label, type_, clean in rows:
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
                        class_id=info.id, key=key, label=label, type=type_, column=None,
                        choices=clean, reference_class_id=None, min_value=None,
                        max_value=None, position=100 + pos, description="", builtin=False,
                    )
                )  # fmt: skip
                s.flush()
                recorder.model_changed(
                    Action.CREATE,
                    ModelPart.ATTRIBUTE,
                    f"{info.name}.{key}",
                    {
                        "label": (None, label),
                        "type": (None, type_),
                        **({"choices": (None, _choices_text(clean))} if clean else {}),
                    },
                )
            recorder.flush()
            summary = self._done(s)
        return self._finish(summary)

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
        default: Any = None,
        source: Source | None = None,
    ) -> ChangeSummary:
        """Add a custom attribute to a class (and so to its subclasses), recorded in the
        history; ``default`` is the value new CIs of the class get."""
        meta = self._cmdb.meta
        info = meta.get_class(class_name)
        label = label.strip()
        key = self._new_key(info, label, key)
        clean_choices, ref_id = self._check_attribute_spec(
            type_, choices, reference_class, min_value, max_value
        )
        stored_default: Any = None
        if default is not None and str(default).strip() != "":
            probe = AttributeInfo(
                0, info.id, key, label, type_, None,
                tuple(clean_choices) if clean_choices else None, ref_id,
                min_value, max_value, 0, "", False,
            )  # fmt: skip
            if type_ == AttrType.REFERENCE:
                raise ValidationError("A reference has no default value.", {"default": "none"})
            try:
                stored_default = {key: to_json(coerce(probe, default))}
            except ValueError as exc:
                raise ValidationError(f"Default of {label}: {exc}", {"default": str(exc)}) from None
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
            if stored_default:
                row = self._class_row(s, info.name)
                row.defaults = {**(row.defaults or {}), **stored_default}
            self._record(
                s,
                Action.CREATE,
                ModelPart.ATTRIBUTE,
                f"{info.name}.{key}",
                {
                    "label": (None, label),
                    "type": (None, type_),
                    **({"choices": (None, _choices_text(clean_choices))} if clean_choices else {}),
                    **({"required": (None, True)} if required else {}),
                    **({"default": (None, default)} if stored_default else {}),
                },
                source,
            )
            summary = self._done(s)
        return self._finish(summary)

    def drop_unused_attributes(
        self, s: Session, names: Sequence[str], recorder: HistoryWriter
    ) -> list[str]:
        """In the writing transaction ``s``: delete the custom attributes named
        ``Class.key`` that no CI holds a value of (an import's new attributes when
        its batch is rolled back); the ones deleted. One still in use stays."""
        meta = self._cmdb.meta
        dropped: list[str] = []
        for name in names:
            class_name, _, key = name.rpartition(".")
            info = meta.find_class(class_name)
            attr = meta.find_attribute(info, key) if info is not None else None
            if info is None or attr is None or attr.column is not None or attr.class_id != info.id:
                continue
            if self._values_held(s, meta.subtree_ids(info), [attr]):
                continue
            row = s.get(AttributeDef, attr.id)
            if row is None:
                continue
            rules_before: dict[str, dict[str, Any]] = {}
            for c in meta.descendants(info):
                class_row = s.get(CiClass, c.id)
                if class_row is not None and key in (class_row.required_fields or ()):
                    rules_before[str(c.id)] = _class_rules(class_row)
                    class_row.required_fields = [k for k in class_row.required_fields if k != key]
            definition = {"attribute": definition_of(row), "classes": rules_before}
            s.delete(row)
            recorder.model_changed(
                Action.DELETE,
                ModelPart.ATTRIBUTE,
                name,
                {"label": (attr.label, None), "type": (attr.type, None)},
                definition=definition,
            )
            dropped.append(name)
        if dropped:
            self._cmdb.bump(s, catalogue=True)
        return dropped

    def _attribute(self, class_name: str, key: str) -> tuple[ClassInfo, AttributeInfo]:
        meta = self._cmdb.meta
        info = meta.get_class(class_name)
        attr = meta.find_attribute(info, key)
        if attr is None:
            raise NotFoundError(f"{info.name} has no attribute {key!r}.")
        return info, attr

    def _new_definition(
        self,
        attr: AttributeInfo,
        *,
        label: str | None,
        type_: str | None,
        choices: Sequence[Any] | None,
        rename_choices: Mapping[str, str] | None,
        min_value: float | None | Any,
        max_value: float | None | Any,
        description: str | None,
    ) -> tuple[AttributeInfo, dict[str, str]]:
        """The attribute as it would be, and the choice renames (folded old → new)."""
        new_type = type_ or attr.type
        if attr.column is not None and new_type != attr.type:
            raise ValidationError(f"{attr.label} is built in; its type cannot change.")
        if label is not None and not label.strip():
            raise ValidationError("An attribute needs a label.", {"label": "required"})
        renames: dict[str, str] = {}
        for old, new in (rename_choices or {}).items():
            new = str(new).strip()
            if not new:
                raise ValidationError(
                    f"Choice {old!r} needs a new name.", {"choices": "blank new name"}
                )
            renames[_fold_choice(str(old))] = new
        if choices is not None:
            base = [str(c) for c in choices]
        elif attr.choices is not None:
            base = [str(c) for c in attr.choices]
        else:
            base = []
        if renames:
            known = {_fold_choice(c) for c in base}
            unknown = [o for o in (rename_choices or {}) if _fold_choice(str(o)) not in known]
            if unknown and choices is None:
                raise ValidationError(
                    f"{attr.label} has no choice(s) {', '.join(map(repr, unknown))}.",
                    {"choices": "unknown choice"},
                )
            seen: dict[str, str] = {}
            for c in base:
                renamed = renames.get(_fold_choice(c), c)
                seen.setdefault(_fold_choice(renamed), renamed)  # a rename onto a choice merges
            base = list(seen.values())
        new_choices = base if (choices is not None or attr.choices is not None or renames) else None
        new_min = attr.min_value if min_value is _UNSET else min_value
        new_max = attr.max_value if max_value is _UNSET else max_value
        clean_choices, _ = self._check_attribute_spec(new_type, new_choices, None, new_min, new_max)
        if new_type != AttrType.CHOICE and attr.column is None:
            clean_choices = None
        if attr.type == "integer" and attr.column is not None:
            clean_choices = new_choices
        new_attr = AttributeInfo(
            attr.id,
            attr.class_id,
            attr.key,
            label.strip() if label else attr.label,
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
        return new_attr, renames

    def preview_attribute_change(
        self,
        class_name: str,
        key: str,
        *,
        type_: str | None = None,
        choices: Sequence[Any] | None = None,
        rename_choices: Mapping[str, str] | None = None,
        min_value: float | None | Any = _UNSET,
        max_value: float | None | Any = _UNSET,
    ) -> ConversionPreview:
        """The dry run of a type, choice list or range change: how many stored
        values convert, how many change, and which do not convert. Writes nothing."""
        info, attr = self._attribute(class_name, key)
        new_attr, renames = self._new_definition(
            attr,
            label=None,
            type_=type_,
            choices=choices,
            rename_choices=rename_choices,
            min_value=min_value,
            max_value=max_value,
            description=None,
        )
        owner = self._cmdb.meta.class_by_id[attr.class_id]
        with self._cmdb.read() as s:
            preview, _changes = self._conversion(s, owner, attr, new_attr, renames)
        return preview

    def update_attribute(
        self,
        class_name: str,
        key: str,
        *,
        label: str | None = None,
        type_: str | None = None,
        choices: Sequence[Any] | None = None,
        rename_choices: Mapping[str, str] | None = None,
        min_value: float | None | Any = _UNSET,
        max_value: float | None | Any = _UNSET,
        description: str | None = None,
        required: bool | None = None,
        default: Any = _UNSET,
        source: Source | None = None,
    ) -> ChangeSummary:
        """Rename, retype or re-constrain an attribute, in one transaction.

        ``choices`` replaces the choice list (a choice left out is retired:
        refused while CIs hold it, with their names); ``rename_choices`` (old →
        new) renames choices and every stored value follows (renaming onto an
        existing choice merges the two). For a custom attribute whose type or
        constraints change, every stored value is converted first; if any
        cannot be, nothing changes and the error lists them
        (:meth:`preview_attribute_change` is the dry run). ``required`` and
        ``default`` set the attribute's rule on ``class_name`` (inherited by
        its subclasses). Built-in attributes keep their type. The changes are
        recorded in the history (the model, and each migrated CI value).
        """
        info, attr = self._attribute(class_name, key)
        new_attr, renames = self._new_definition(
            attr,
            label=label,
            type_=type_,
            choices=choices,
            rename_choices=rename_choices,
            min_value=min_value,
            max_value=max_value,
            description=description,
        )
        stored_default: dict[str, Any] | None = None
        if default is not _UNSET:
            current = {k: to_json(v) for k, v in info.defaults}
            current.pop(attr.key, None)
            if default is not None and str(default).strip() != "":
                if new_attr.type != attr.type or new_attr.choices != attr.choices:
                    value = coerce(new_attr, default)
                    if new_attr.type == AttrType.REFERENCE:
                        raise ValidationError(
                            "A reference has no default value.", {attr.key: "no default"}
                        )
                    current[attr.key] = to_json(value)
                    stored_default = current
                else:
                    checked, problems = self._check_defaults(info, {attr.key: default})
                    if problems:
                        raise ValidationError.from_problems(
                            problems, f"Cannot set the default of {attr.label}"
                        )
                    current.update(checked)
            stored_default = current
        meta = self._cmdb.meta
        with self._cmdb.write() as s:
            summary = self._done(s)
            recorder = HistoryWriter(s, self._cmdb.user, source or Source())
            owner = meta.class_by_id[attr.class_id]
            self._migrate_values(s, owner, attr, new_attr, recorder, summary, renames)
            row = s.get(AttributeDef, attr.id)
            assert row is not None
            changes: dict[str, tuple[Any, Any]] = {}
            for name, old, new in (
                ("label", attr.label, new_attr.label),
                ("type", attr.type, new_attr.type),
                ("choices", _choices_text(attr.choices), _choices_text(new_attr.choices)),
                ("minimum", attr.min_value, new_attr.min_value),
                ("maximum", attr.max_value, new_attr.max_value),
                ("description", attr.description, new_attr.description),
            ):
                if old != new:
                    changes[name] = (old, new)
            for old_fold, new_name in renames.items():
                changes[f"choice {old_fold!r}"] = (old_fold, new_name)
            row.label = new_attr.label
            row.type = new_attr.type
            row.choices = list(new_attr.choices) if new_attr.choices is not None else None
            row.min_value = new_attr.min_value
            row.max_value = new_attr.max_value
            row.description = new_attr.description
            if required is not None or stored_default is not None:
                class_row = self._class_row(s, info.name)
                if required is not None:
                    was = attr.key in meta.required_fields(info)
                    own = [k for k in class_row.required_fields or () if k != attr.key]
                    if required:
                        own.append(attr.key)
                    class_row.required_fields = own
                    if was != required:
                        changes[f"required in {info.name}"] = (was, required)
                if stored_default is not None:
                    old_default = dict(info.defaults).get(attr.key)
                    class_row.defaults = stored_default or None
                    if old_default != stored_default.get(attr.key):
                        changes[f"default in {info.name}"] = (
                            old_default,
                            stored_default.get(attr.key),
                        )
            if changes:
                recorder.model_changed(
                    Action.UPDATE, ModelPart.ATTRIBUTE, f"{owner.name}.{attr.key}", changes
                )
            recorder.flush()
        return self._finish(summary)

    def _conversion(
        self,
        s: Session,
        owner: ClassInfo,
        old: AttributeInfo,
        new: AttributeInfo,
        renames: Mapping[str, str],
    ) -> tuple[ConversionPreview, list[tuple[int, str, str, Any, Any, Any]]]:
        """Every stored value of ``old`` converted to ``new``: the preview and the changes
        (CI id, class name, CI name, old value, new value, stored document or value)."""
        meta = self._cmdb.meta
        class_ids = list(meta.subtree_ids(owner))
        col = CI.__table__.c[old.column] if old.column else CI.attributes
        preview = ConversionPreview(f"{owner.name}.{old.label}")
        changes: list[tuple[int, str, str, Any, Any, Any]] = []
        rows = s.execute(
            select(CI.id, CI.class_id, CI.name, col)
            .where(CI.class_id.in_(class_ids))
            .order_by(CI.id)
        ).all()
        for ci_id, class_id, name, stored in rows:
            value = stored if old.column else from_storage(old, (stored or {}).get(old.key))
            if value is None:
                continue
            preview.values += 1
            raw = renames.get(_fold_choice(str(value)), value) if renames else value
            try:
                converted = coerce(new, raw)
            except ValueError as exc:
                preview.failures.append((ci_id, name, value, str(exc)))
                continue
            if converted != value or type(converted) is not type(value):
                preview.changed += 1
                changes.append(
                    (ci_id, meta.class_by_id[class_id].name, name, value, converted, stored)
                )
        return preview, changes

    def _migrate_values(
        self,
        s: Session,
        owner: ClassInfo,
        old: AttributeInfo,
        new: AttributeInfo,
        recorder: HistoryWriter,
        summary: ChangeSummary,
        renames: Mapping[str, str] | None = None,
    ) -> None:
        preview, changes = self._conversion(s, owner, old, new, renames or {})
        if not preview.ok:
            raise ValidationError(
                f"{len(preview.failures)} stored value(s) of {old.label} do not fit the new "
                f"definition — {preview.describe()}. Fix them first.",
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
            rules_before: dict[str, dict[str, Any]] = {}
            for c in meta.descendants(owner):
                row = s.get(CiClass, c.id)
                if row is not None:
                    rules_before[str(c.id)] = _class_rules(row)
                    for field in ("required_fields", "recommended_fields"):
                        current = getattr(row, field) or []
                        if attr.key in current:
                            setattr(row, field, [k for k in current if k != attr.key])
                    if row.id_rules and any(attr.key in r for r in row.id_rules):
                        row.id_rules = [r for r in row.id_rules if attr.key not in r] or None
                    if row.defaults and attr.key in row.defaults:
                        row.defaults = {
                            k: v for k, v in row.defaults.items() if k != attr.key
                        } or None
            row_def = s.get(AttributeDef, attr.id)
            definition: dict[str, Any] | None = None
            if row_def is not None:
                definition = {"attribute": definition_of(row_def), "classes": rules_before}
                s.delete(row_def)
            recorder.model_changed(
                Action.DELETE,
                ModelPart.ATTRIBUTE,
                f"{owner.name}.{attr.key}",
                {"label": (attr.label, None), "type": (attr.type, None)},
                definition=definition,
            )
            recorder.flush()
        return self._finish(summary)

    # -- relationship types --------------------------------------------------
    def _check_type_names(
        self, name: str, reverse_name: str, *, exclude: int | None = None
    ) -> dict[str, str]:
        problems: dict[str, str] = {}
        if not name:
            problems["name"] = "required"
        if not reverse_name:
            problems["reverse_name"] = "required"
        existing = {
            normalise_label(n)
            for t in self._cmdb.meta.relationship_types
            if t.id != exclude
            for n in (t.name, t.reverse_name)
        }
        for field_name, value in (("name", name), ("reverse_name", reverse_name)):
            if value and normalise_label(value) in existing:
                problems[field_name] = f"{value!r} is already a relationship type name"
            elif len(value) > 64:
                problems[field_name] = "at most 64 characters"
        if name and normalise_label(name) == normalise_label(reverse_name):
            problems["reverse_name"] = "must differ from the forward name"
        return problems

    def add_relationship_type(
        self,
        name: str,
        reverse_name: str,
        impact: str,
        description: str = "",
        *,
        source: Source | None = None,
    ) -> ChangeSummary:
        """A new relationship type; ``impact`` is its :class:`ImpactFlow` (PRODUCT.md §5)."""
        name, reverse_name = name.strip(), reverse_name.strip()
        problems = self._check_type_names(name, reverse_name)
        if impact not in IMPACT_FLOWS:
            problems["impact"] = f"must be one of {', '.join(IMPACT_FLOWS)}"
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
            self._record(
                s,
                Action.CREATE,
                ModelPart.RELATIONSHIP_TYPE,
                name,
                {"reverse name": (None, reverse_name), "impact": (None, str(impact))},
                source,
            )
            summary = self._done(s)
        return self._finish(summary)

    def _type_row(self, s: Session, name: str) -> tuple[RelationshipType, bool]:
        rtype, reverse = self._cmdb.meta.relationship_type(name)
        row = s.get(RelationshipType, rtype.id)
        if row is None:
            raise NotFoundError(f"Relationship type {name!r} no longer exists.")
        return row, reverse

    def update_relationship_type(
        self,
        name: str,
        *,
        new_name: str | None = None,
        reverse_name: str | None = None,
        impact: str | None = None,
        description: str | None = None,
        source: Source | None = None,
    ) -> ChangeSummary:
        """Rename a relationship type (forward and reverse names), change its impact
        flow (the impact of every relationship of the type follows) or its description.
        ``name`` is its forward name (or its reverse name)."""
        rtype, _ = self._cmdb.meta.relationship_type(name)
        fwd = new_name.strip() if new_name is not None else rtype.name
        rev = reverse_name.strip() if reverse_name is not None else rtype.reverse_name
        problems = self._check_type_names(fwd, rev, exclude=rtype.id)
        if impact is not None and impact not in IMPACT_FLOWS:
            problems["impact"] = f"must be one of {', '.join(IMPACT_FLOWS)}"
        if problems:
            raise ValidationError.from_problems(
                problems, f"Cannot change relationship type {rtype.name}"
            )
        with self._cmdb.write() as s:
            row = s.get(RelationshipType, rtype.id)
            if row is None:
                raise NotFoundError(f"Relationship type {rtype.name!r} no longer exists.")
            before = (row.name, row.reverse_name, row.impact, row.description or "")
            row.name, row.reverse_name = fwd, rev
            if impact is not None:
                row.impact = impact
            if description is not None:
                row.description = description
            after = (row.name, row.reverse_name, row.impact, row.description or "")
            changes = {
                label: (old, new)
                for label, old, new in zip(
                    ("name", "reverse name", "impact", "description"), before, after, strict=True
                )
                if old != new
            }
            summary = ChangeSummary(catalogue_changed=True)
            if changes:
                self._record(
                    s, Action.UPDATE, ModelPart.RELATIONSHIP_TYPE, rtype.name, changes, source
                )
            flow_changed = before[2] != after[2]
            self._cmdb.bump(s, catalogue=True, graph=flow_changed)
            summary.graph_changed = flow_changed
        return self._finish(summary)

    def relationship_counts(self) -> dict[int, int]:
        """How many relationships each type has (type id → count)."""
        with self._cmdb.read() as s:
            rows = s.execute(
                select(Relationship.type_id, func.count()).group_by(Relationship.type_id)
            ).all()
        return {int(t): int(n) for t, n in rows}

    def count_relationships(self, name: str) -> int:
        """How many relationships are of the type named ``name``."""
        rtype, _ = self._cmdb.meta.relationship_type(name)
        with self._cmdb.read() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(Relationship)
                    .where(Relationship.type_id == rtype.id)
                )
                or 0
            )

    def delete_relationship_type(self, name: str, *, source: Source | None = None) -> ChangeSummary:
        """Retire a relationship type. Refused for built-in types and while
        relationships use it (with their count): delete those first."""
        rtype, _ = self._cmdb.meta.relationship_type(name)
        if rtype.builtin:
            raise ValidationError(
                f"{rtype.name} is a built-in relationship type and cannot be deleted."
            )
        with self._cmdb.write() as s:
            used = int(
                s.scalar(
                    select(func.count())
                    .select_from(Relationship)
                    .where(Relationship.type_id == rtype.id)
                )
                or 0
            )
            if used:
                raise ValidationError(
                    f"{used} relationship(s) are of type {rtype.name}; delete them first.",
                    {"type": f"{used} relationships use it"},
                )
            row, _ = self._type_row(s, rtype.name)
            definition = {"relationship type": definition_of(row)}
            s.delete(row)
            writer = HistoryWriter(s, self._cmdb.user, source or Source())
            writer.model_changed(
                Action.DELETE,
                ModelPart.RELATIONSHIP_TYPE,
                rtype.name,
                {"reverse name": (rtype.reverse_name, None), "impact": (rtype.impact, None)},
                definition=definition,
            )
            writer.flush()
            summary = self._done(s)
        return self._finish(summary)


# -- the model as plain data (CLI JSON, the workbook's Model sheet) -------------


def attribute_json(meta: Metamodel, info: ClassInfo, attr: AttributeInfo) -> dict[str, Any]:
    """One attribute as ``info`` sees it (required and default are per class)."""
    ref = meta.class_by_id.get(attr.reference_class_id) if attr.reference_class_id else None
    defaults = meta.defaults(info)
    return {
        "key": attr.key,
        "label": attr.label,
        "type": attr.type,
        "class": meta.class_by_id[attr.class_id].name,
        "inherited": attr.class_id != info.id,
        "builtin": attr.column is not None,
        "choices": list(attr.choices) if attr.choices is not None else None,
        "reference_class": ref.name if ref is not None else None,
        "min": attr.min_value,
        "max": attr.max_value,
        "required": attr.key in meta.required_fields(info),
        "default": to_json(defaults[attr.key]) if attr.key in defaults else None,
        "description": attr.description,
    }


def class_json(
    meta: Metamodel, info: ClassInfo, cis: int | None = None, *, attributes: bool = False
) -> dict[str, Any]:
    parent = meta.class_by_id.get(info.parent_id) if info.parent_id else None
    ident = meta.identification(info)
    out: dict[str, Any] = {
        "name": info.name,
        "parent": parent.name if parent is not None else None,
        "abstract": info.abstract,
        "service": info.service,
        "builtin": info.builtin,
        "description": info.description,
        "identification": [list(r) for r in ident.rules],
        "subclasses": [c.name for c in meta.children.get(info.id, [])],
    }
    if cis is not None:
        out["cis"] = cis
    if attributes:
        out["attributes"] = [attribute_json(meta, info, a) for a in meta.attributes_of(info)]
    return out


def relationship_type_json(rtype: RelationshipTypeInfo, count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": rtype.name,
        "reverse": rtype.reverse_name,
        "flow": flow_word(rtype.impact),
        "impact": rtype.impact,
        "builtin": rtype.builtin,
        "description": rtype.description,
    }
    if count is not None:
        out["relationships"] = count
    return out
