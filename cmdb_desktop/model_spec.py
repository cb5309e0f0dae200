"""The data model as plain rows, and adopting such rows into a CMDB.

:func:`describe_model` lists every class, attribute and relationship type
of a metamodel as :class:`ModelRow` values (the workbook's ``Model`` sheet
writes them); :func:`plan_model` compares rows with a CMDB and lists what
adopting them would create (a dry run, writing nothing);
:meth:`ModelPlan.apply` writes that in ONE transaction, each part recorded
in the history as a model change.

Adopting only adds: a class, attribute or relationship type the CMDB lacks
is created; one it has is left as it is (a different definition is a
warning, never a silent change). A class's own required fields, defaults and
identification rules are taken when the class is new or the CMDB holds no CIs
yet (an import into an empty CMDB recreates the model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cmdb_desktop.catalogue import ATTRIBUTE_TYPES, SYSTEM_FIELDS
from cmdb_desktop.classes import flow_word, key_from_label, parse_flow
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.history import HistoryWriter, Source
from cmdb_desktop.metamodel import ClassInfo, Metamodel, normalise_label
from cmdb_desktop.models import AttributeDef, CiClass, RelationshipType
from cmdb_desktop.values import to_json
from cmdb_desktop.vocabulary import Action, AttrType, ModelPart

if TYPE_CHECKING:
    from cmdb_desktop.changes import ChangeSummary
    from cmdb_desktop.cmdb import Cmdb

KIND_CLASS = "Class"
KIND_ATTRIBUTE = "Attribute"
KIND_RELATIONSHIP_TYPE = "Relationship type"
#: The columns of the Model sheet, in order.
MODEL_HEADERS = (
    "Kind",
    "Name",
    "Class",
    "Key",
    "Type",
    "Choices",
    "Reference",
    "Min",
    "Max",
    "Abstract",
    "Service",
    "Required",
    "Identification",
    "Scope",
    "Defaults",
    "Reverse",
    "Flow",
    "Built in",
    "Description",
)
CHOICE_SEPARATOR = " | "


@dataclass(frozen=True)
class ModelRow:
    """One row of the Model sheet: header → text (or number/None)."""

    values: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.values.get("Kind") or "").strip()

    def text(self, header: str) -> str:
        value = self.values.get(header)
        return "" if value is None else str(value).strip()

    def flag(self, header: str) -> bool:
        return self.text(header).casefold() in ("yes", "true", "1", "y")

    def number(self, header: str) -> float | None:
        value = self.values.get(header)
        if value is None or str(value).strip() == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"Model sheet: {header} of {self.text('Name')!r} is not a number: {value!r}",
                {header: "not a number"},
            ) from None


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _number(value: float | None) -> Any:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def describe_model(meta: Metamodel) -> list[ModelRow]:
    """Every class (tree order), then its own attributes, then the relationship types."""
    rows: list[ModelRow] = []
    for c in meta.descendants(meta.root):
        parent = meta.class_by_id.get(c.parent_id) if c.parent_id else None
        rows.append(
            ModelRow(
                {
                    "Kind": KIND_CLASS,
                    "Name": c.name,
                    "Class": parent.name if parent else None,
                    "Abstract": _yes(c.abstract),
                    "Service": _yes(c.service),
                    "Required": ", ".join(c.required_fields) or None,
                    "Identification": " | ".join("+".join(r) for r in c.id_rules or ()) or None,
                    "Scope": c.identity_scope,
                    "Defaults": (
                        json.dumps(dict(c.defaults), sort_keys=True, ensure_ascii=False)
                        if c.defaults
                        else None
                    ),
                    "Built in": _yes(c.builtin),
                    "Description": c.description or None,
                }
            )
        )
        for a in sorted(
            (a for a in meta.attributes if a.class_id == c.id), key=lambda a: a.position
        ):
            ref = meta.class_by_id.get(a.reference_class_id) if a.reference_class_id else None
            rows.append(
                ModelRow(
                    {
                        "Kind": KIND_ATTRIBUTE,
                        "Name": a.label,
                        "Class": c.name,
                        "Key": a.key,
                        "Type": a.type,
                        "Choices": CHOICE_SEPARATOR.join(str(x) for x in a.choices)
                        if a.choices
                        else None,
                        "Reference": ref.name if ref else None,
                        "Min": _number(a.min_value),
                        "Max": _number(a.max_value),
                        "Built in": _yes(a.builtin),
                        "Description": a.description or None,
                    }
                )
            )
    for t in meta.relationship_types:
        rows.append(
            ModelRow(
                {
                    "Kind": KIND_RELATIONSHIP_TYPE,
                    "Name": t.name,
                    "Reverse": t.reverse_name,
                    "Flow": flow_word(t.impact),
                    "Built in": _yes(t.builtin),
                    "Description": t.description or None,
                }
            )
        )
    return rows


@dataclass
class _NewClass:
    name: str
    parent: str
    abstract: bool
    service: bool
    description: str


@dataclass
class _NewAttribute:
    class_name: str
    key: str
    label: str
    type: str
    choices: list[str] | None
    reference: str | None
    min_value: float | None
    max_value: float | None
    description: str


@dataclass
class _ClassRules:
    class_name: str
    required: list[str]
    id_rules: list[list[str]] | None
    scope: str | None
    defaults: dict[str, Any]


@dataclass
class ModelPlan:
    """What adopting a Model sheet would create, and what it leaves alone (warnings)."""

    classes: list[_NewClass] = field(default_factory=list)
    attributes: list[_NewAttribute] = field(default_factory=list)
    relationship_types: list[tuple[str, str, str, str]] = field(default_factory=list)
    rules: list[_ClassRules] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.classes or self.attributes or self.relationship_types or self.rules)

    def describe(self) -> list[str]:
        out = [f"class {c.name} (under {c.parent})" for c in self.classes]
        out += [f"attribute {a.class_name}.{a.label} ({a.type})" for a in self.attributes]
        out += [
            f"relationship type {n} / {r} (impact {flow_word(f)})"
            for n, r, f, _d in self.relationship_types
        ]
        out += [f"rules of class {r.class_name}" for r in self.rules]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "classes": [c.name for c in self.classes],
            "attributes": [f"{a.class_name}.{a.key}" for a in self.attributes],
            "relationship_types": [n for n, _r, _f, _d in self.relationship_types],
            "class_rules": [r.class_name for r in self.rules],
            "warnings": self.warnings,
        }

    def apply(self, cmdb: Cmdb, source: Source | None = None) -> ChangeSummary:
        """Create everything planned in one transaction, recorded in the history."""
        from cmdb_desktop.changes import ChangeSummary

        summary = ChangeSummary(catalogue_changed=True)
        if self.empty:
            return summary
        meta = cmdb.meta
        with cmdb.write() as s:
            recorder = HistoryWriter(s, cmdb.user, source or Source())
            ids = {c.name.casefold(): c.id for c in meta.classes}
            for c in self.classes:
                row = CiClass(
                    name=c.name,
                    parent_id=ids[c.parent.casefold()],
                    abstract=c.abstract,
                    service=c.service,
                    description=c.description,
                    icon=meta.class_by_id[ids[c.parent.casefold()]].icon
                    if ids[c.parent.casefold()] in meta.class_by_id
                    else "",
                    required_fields=[],
                    recommended_fields=[],
                    expects_relationships=True,
                    builtin=False,
                )
                s.add(row)
                s.flush()
                ids[c.name.casefold()] = row.id
                recorder.model_changed(
                    Action.CREATE,
                    ModelPart.CLASS,
                    c.name,
                    {"parent": (None, c.parent), "abstract": (None, c.abstract)},
                )
            positions: dict[int, int] = {}
            for a in self.attributes:
                class_id = ids[a.class_name.casefold()]
                positions[class_id] = positions.get(class_id, 0) + 1
                s.add(
                    AttributeDef(
                        class_id=class_id,
                        key=a.key,
                        label=a.label,
                        type=a.type,
                        column=None,
                        choices=a.choices,
                        reference_class_id=ids[a.reference.casefold()] if a.reference else None,
                        min_value=a.min_value,
                        max_value=a.max_value,
                        position=100 + positions[class_id] + _own_count(meta, class_id),
                        description=a.description,
                        builtin=False,
                    )
                )
                recorder.model_changed(
                    Action.CREATE,
                    ModelPart.ATTRIBUTE,
                    f"{a.class_name}.{a.key}",
                    {"label": (None, a.label), "type": (None, a.type)},
                )
            for name, reverse, flow, description in self.relationship_types:
                s.add(
                    RelationshipType(
                        name=name,
                        reverse_name=reverse,
                        impact=flow,
                        description=description,
                        builtin=False,
                    )
                )
                recorder.model_changed(
                    Action.CREATE,
                    ModelPart.RELATIONSHIP_TYPE,
                    name,
                    {"reverse name": (None, reverse), "impact": (None, flow)},
                )
            s.flush()
            for r in self.rules:
                class_row = s.get(CiClass, ids[r.class_name.casefold()])
                assert class_row is not None
                row = class_row
                changes = {
                    "required": (", ".join(row.required_fields or ()), ", ".join(r.required)),
                    "identification": (row.id_rules, r.id_rules),
                    "identity scope": (row.identity_scope, r.scope),
                    "defaults": (row.defaults, r.defaults or None),
                }
                row.required_fields = r.required
                row.id_rules = r.id_rules
                row.identity_scope = r.scope
                row.defaults = r.defaults or None
                recorder.model_changed(
                    Action.UPDATE,
                    ModelPart.CLASS,
                    r.class_name,
                    {k: v for k, v in changes.items() if v[0] != v[1]},
                )
            recorder.flush()
            cmdb.bump(s, catalogue=True)
        cmdb.notify(summary)
        return summary


def _own_count(meta: Metamodel, class_id: int) -> int:
    return sum(1 for a in meta.attributes if a.class_id == class_id)


def plan_model(cmdb: Cmdb, rows: list[ModelRow]) -> ModelPlan:
    """Compare Model rows with the CMDB: what adopting them would create. Writes nothing;
    a row that cannot be adopted (unknown parent, bad type…) raises ValidationError
    naming it."""
    meta = cmdb.meta
    plan = ModelPlan()
    empty = cmdb.items.count() == 0
    new_classes: dict[str, str] = {}  # folded name → parent name

    def class_exists(name: str) -> bool:
        return meta.find_class(name) is not None or name.casefold() in new_classes

    def keys_of(class_name: str) -> set[str]:
        """Attribute keys a class has (with its ancestors, existing and planned)."""
        chain: list[str] = []
        cur: str | None = class_name
        while cur:
            chain.append(cur.casefold())
            info = meta.find_class(cur)
            if info is not None:
                return {a.key for a in meta.attributes_of(info)} | {
                    a.key for a in plan.attributes if a.class_name.casefold() in chain
                }
            cur = new_classes.get(cur.casefold())
        return set()

    for row in rows:
        name = row.text("Name")
        if row.kind == KIND_CLASS:
            parent = row.text("Class")
            if not name or "/" in name:
                raise ValidationError(f"Model sheet: class name {name!r} is blank or has a '/'.")
            info = meta.find_class(name)
            if info is None and name.casefold() not in new_classes:
                if not parent or not class_exists(parent):
                    raise ValidationError(
                        f"Model sheet: class {name!r} is under {parent!r}, which is neither in "
                        "the CMDB nor earlier in the sheet.",
                        {"Class": "unknown parent"},
                    )
                parent_name = meta.find_class(parent)
                plan.classes.append(
                    _NewClass(
                        name,
                        parent_name.name if parent_name else parent,
                        row.flag("Abstract"),
                        row.flag("Service"),
                        row.text("Description"),
                    )
                )
                new_classes[name.casefold()] = parent
            elif info is not None:
                current = meta.class_by_id.get(info.parent_id) if info.parent_id else None
                if parent and (current is None or current.name.casefold() != parent.casefold()):
                    plan.warnings.append(
                        f"Class {info.name} is under {current.name if current else '—'} here, "
                        f"under {parent} in the file; left as it is."
                    )
        elif row.kind == KIND_ATTRIBUTE:
            class_name = row.text("Class")
            if not class_exists(class_name):
                raise ValidationError(
                    f"Model sheet: attribute {name!r} belongs to unknown class {class_name!r}."
                )
            key = key_from_label(row.text("Key") or name)
            type_ = row.text("Type").casefold() or AttrType.TEXT
            info = meta.find_class(class_name)
            existing = meta.find_attribute(info, key) if info is not None else None
            if existing is not None and info is not None:
                if existing.type != type_:
                    plan.warnings.append(
                        f"Attribute {info.name}.{existing.label} is {existing.type} here, "
                        f"{type_} in the file; left as it is."
                    )
                continue
            if key in keys_of(class_name):
                continue
            if type_ not in ATTRIBUTE_TYPES or key in SYSTEM_FIELDS or key in ("class", "name"):
                raise ValidationError(
                    f"Model sheet: attribute {class_name}.{name} has an unknown type "
                    f"{type_!r} or a reserved key {key!r}."
                )
            choices = [c.strip() for c in row.text("Choices").split("|") if c.strip()] or None
            if type_ == AttrType.CHOICE and not choices:
                raise ValidationError(f"Model sheet: choice attribute {name!r} has no choices.")
            reference = row.text("Reference") or None
            if reference and not class_exists(reference):
                raise ValidationError(
                    f"Model sheet: {name!r} refers to unknown class {reference!r}."
                )
            if reference and meta.find_class(reference):
                found = meta.find_class(reference)
                assert found is not None
                reference = found.name
            plan.attributes.append(
                _NewAttribute(
                    class_name if info is None else info.name,
                    key,
                    name,
                    type_,
                    choices if type_ == AttrType.CHOICE else None,
                    reference,
                    row.number("Min"),
                    row.number("Max"),
                    row.text("Description"),
                )
            )
        elif row.kind == KIND_RELATIONSHIP_TYPE:
            reverse = row.text("Reverse")
            flow = parse_flow(row.text("Flow") or "none")
            wanted = {normalise_label(name), normalise_label(reverse)}
            clash = [
                t
                for t in meta.relationship_types
                if wanted & {normalise_label(t.name), normalise_label(t.reverse_name)}
            ]
            if clash:
                t = clash[0]
                if normalise_label(t.name) != normalise_label(name) or t.impact != flow:
                    plan.warnings.append(
                        f"Relationship type {name} / {reverse} differs from {t.name} / "
                        f"{t.reverse_name} here; left as it is."
                    )
                continue
            if not name or not reverse or normalise_label(name) == normalise_label(reverse):
                raise ValidationError(
                    f"Model sheet: relationship type {name!r} needs distinct forward and "
                    "reverse names."
                )
            if any(normalise_label(n) in wanted for n, *_ in plan.relationship_types):
                continue
            plan.relationship_types.append((name, reverse, flow, row.text("Description")))
        elif row.kind:
            plan.warnings.append(f"Model sheet: rows of kind {row.kind!r} are not understood.")
    # Class rules (required, identification, defaults) of new classes, or all in an empty CMDB.
    for row in rows:
        if row.kind != KIND_CLASS:
            continue
        name = row.text("Name")
        info = meta.find_class(name)
        if info is not None and not empty:
            continue
        rules = _rules_of(row, name, info)
        if info is not None and (
            list(info.required_fields) == rules.required
            and ([list(r) for r in info.id_rules] if info.id_rules else None) == rules.id_rules
            and info.identity_scope == rules.scope
            and dict(info.defaults) == rules.defaults
        ):
            continue
        if info is None and not (rules.required or rules.id_rules or rules.defaults):
            continue
        keys = keys_of(name) | {"name"}
        bad = [
            k
            for k in rules.required + [k for r in rules.id_rules or [] for k in r]
            if k not in keys
        ]
        bad += [k for k in rules.defaults if k not in keys]
        if bad:
            raise ValidationError(
                f"Model sheet: class {name} names unknown attribute(s) "
                f"{', '.join(sorted(set(bad)))}."
            )
        plan.rules.append(rules)
    return plan


def _rules_of(row: ModelRow, name: str, info: ClassInfo | None) -> _ClassRules:
    required = [k.strip() for k in row.text("Required").split(",") if k.strip()]
    ident = row.text("Identification")
    id_rules = [[k for k in r.strip().split("+") if k] for r in ident.split("|") if r.strip()]
    try:
        defaults = json.loads(row.text("Defaults")) if row.text("Defaults") else {}
    except json.JSONDecodeError:
        raise ValidationError(
            f"Model sheet: the defaults of class {name} are not readable."
        ) from None
    if not isinstance(defaults, dict):
        raise ValidationError(f"Model sheet: the defaults of class {name} are not readable.")
    return _ClassRules(
        info.name if info is not None else name,
        required,
        id_rules or None,
        row.text("Scope") or None,
        {str(k): to_json(v) for k, v in defaults.items()},
    )
