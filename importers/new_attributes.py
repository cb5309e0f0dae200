"""Unmapped columns that become new attributes (``import --create-attributes``).

:func:`propose` looks at every column of a CIs sheet that maps to no
attribute and proposes a new attribute of the sheet's target class (its
default class, or the nearest class above every class its rows name), with a
type inferred from the column's values (:func:`infer_type`: yes/no, whole
numbers, decimals, dates, a short list → choice, else text). The proposals are
shown in the dry run; :func:`create` adds them through the class service
(validated, recorded in the history) just before the rows are written, and the
import's batch remembers them so rolling it back removes them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cmdb_desktop.classes import key_from_label
from cmdb_desktop.errors import CmdbError
from cmdb_desktop.metamodel import AttributeInfo, ClassInfo, Metamodel, normalise_label
from cmdb_desktop.values import coerce
from cmdb_desktop.vocabulary import AttrType
from importers.mapping import (
    CLASS,
    ImportMapping,
    SheetMapping,
    column_date_order,
    is_blank_cell,
    translate,
)
from importers.workbook import KIND_CIS

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb
    from cmdb_desktop.history import Source
    from importers.plan import ImportSource

#: A column with at most this many distinct values, each used at least twice on
#: average, is a choice list.
MAX_CHOICES = 12
#: How many of the values that would not convert a check lists.
MAX_SHOWN = 20


@dataclass(frozen=True)
class NewAttribute:
    """A proposed attribute: the column it comes from and what it would be."""

    sheet: str
    column: str
    class_name: str
    label: str
    key: str
    type: str
    choices: tuple[str, ...] | None
    values: int

    def describe(self) -> str:
        kind = self.type
        if self.choices:
            kind += f": {', '.join(self.choices)}"
        return (
            f"column {self.column!r} of sheet {self.sheet!r} → new attribute {self.label} "
            f"of {self.class_name} ({kind}; {self.values} value(s))"
        )

    def edited(self, label: str, type_: str, choices: Sequence[str] | None) -> NewAttribute:
        """The same column as another label, type or choice list (what the wizard lets
        the user change); the key follows the label as :mod:`cmdb_desktop.classes` makes it."""
        label = label.strip()[:100]
        clean = tuple(c.strip() for c in choices or () if c.strip())
        return replace(
            self,
            label=label,
            key=key_from_label(label) if label else "",
            type=type_,
            choices=clean if type_ == AttrType.CHOICE and clean else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "column": self.column,
            "class": self.class_name,
            "label": self.label,
            "key": self.key,
            "type": self.type,
            "choices": list(self.choices) if self.choices else None,
            "values": self.values,
        }


def _probe(type_: str, choices: Sequence[str] | None = None) -> AttributeInfo:
    return AttributeInfo(
        0, 0, "probe", "probe", type_, None, tuple(choices) if choices else None,
        None, None, None, 0, "", False,
    )  # fmt: skip


def _all_convert(type_: str, values: Sequence[Any]) -> bool:
    probe = _probe(type_)
    try:
        for v in values:
            coerce(probe, v)
    except (ValueError, CmdbError):
        return False
    return True


def infer_type(values: Iterable[Any]) -> tuple[str, tuple[str, ...] | None]:
    """The attribute type that every non-blank value converts to (and, for a short
    list of repeated texts, the choices), text otherwise."""
    cells = [v for v in values if not is_blank_cell(v)]
    if not cells:
        return AttrType.TEXT, None
    texts = [str(v).strip() for v in cells]
    for type_ in (AttrType.BOOLEAN, AttrType.INTEGER, AttrType.DECIMAL, AttrType.DATE):
        if type_ == AttrType.BOOLEAN and len({t.casefold() for t in texts}) > 2:
            continue
        if _all_convert(type_, cells):
            return type_, None
    distinct: dict[str, str] = {}
    for t in texts:
        distinct.setdefault(" ".join(t.casefold().split()), t)
    if len(distinct) <= MAX_CHOICES and len(texts) >= 2 * len(distinct):
        return AttrType.CHOICE, tuple(sorted(distinct.values(), key=str.casefold))
    return AttrType.TEXT, None


def _target_class(meta: Metamodel, names: Iterable[str]) -> ClassInfo | None:
    """The nearest class above (or equal to) every named class."""
    common: list[ClassInfo] | None = None
    for name in names:
        info = meta.find_class(name)
        if info is None:
            continue
        chain = meta.ancestors(info)
        if common is None:
            common = chain
        else:
            common = [c for c, d in zip(common, chain, strict=False) if c.id == d.id]
    return common[-1] if common else None


def target_class(source: ImportSource, sm: SheetMapping, meta: Metamodel) -> ClassInfo | None:
    """The class a CIs sheet's new attributes belong to: its default class, or the
    nearest class above every class its Class column names."""
    if sm.default_class:
        return meta.find_class(sm.default_class)
    table = source.table(sm.sheet)
    class_map = sm.target_column(CLASS)
    if table is None or class_map is None:
        return None
    col = table.column(class_map.column)
    if col is None:
        return None
    names = {
        str(r[col.index]).strip()
        for r in table.rows
        if col.index < len(r) and not is_blank_cell(r[col.index])
    }
    return _target_class(meta, names)


def propose(source: ImportSource, mapping: ImportMapping, meta: Metamodel) -> list[NewAttribute]:
    """New attributes for the unmapped columns of the CIs sheets (see the module docstring)."""
    out: list[NewAttribute] = []
    taken: set[tuple[int, str]] = set()
    for sm in mapping.sheets:
        if sm.kind != KIND_CIS:
            continue
        table = source.table(sm.sheet)
        if table is None:
            continue
        by_header = {c.header.casefold(): c for c in table.columns}
        target = target_class(source, sm, meta)
        if target is None:
            continue
        known = {normalise_label(a.label) for a in meta.attributes_of(target)} | {
            a.key for a in meta.attributes_of(target)
        }
        below = {a.key for c in meta.descendants(target) for a in meta.attributes_of(c)}
        for cm in sm.columns:
            col = by_header.get(cm.column.casefold())
            if cm.target is not None or col is None or not col.header.strip():
                continue
            label = col.header.strip()[:100]
            key = key_from_label(label)
            if normalise_label(label) in known or key in known or key in below:
                continue
            if (target.id, key) in taken or key in ("name", "class", "id"):
                continue
            values = [r[col.index] for r in table.rows if col.index < len(r)]
            type_, choices = infer_type(values)
            filled = sum(1 for v in values if not is_blank_cell(v))
            if not filled:
                continue
            taken.add((target.id, key))
            out.append(
                NewAttribute(sm.sheet, cm.column, target.name, label, key, type_, choices, filled)
            )
    return out


@dataclass(frozen=True)
class CheckedAttribute:
    """A chosen new attribute as the import would create it (its class as the mapping
    now says), how many of its column's values would not convert, and what refuses it."""

    attribute: NewAttribute
    #: Distinct values (after the column's translations) the type refuses, at most MAX_SHOWN.
    unconverted: tuple[str, ...] = ()
    #: How many cells hold such values.
    unconverted_cells: int = 0
    #: Why the attribute cannot be created (a taken label, an empty choice list…).
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.unconverted_cells


def check(
    cmdb: Cmdb, source: ImportSource, mapping: ImportMapping, chosen: Sequence[NewAttribute]
) -> list[CheckedAttribute]:
    """Check chosen (possibly edited) new attributes against the file and the model,
    writing nothing: each gets its sheet's current class, its count of values, the
    values its type would not convert (with the column's translations and date order),
    and the error :meth:`~cmdb_desktop.classes.ClassService.add_attributes` would raise."""
    meta = cmdb.meta
    out: list[CheckedAttribute] = []
    accepted: list[tuple[str, str, str, Sequence[Any] | None]] = []
    for p in chosen:
        sm = mapping.sheet(p.sheet)
        table = source.table(p.sheet)
        cm = sm.column(p.column) if sm is not None else None
        col = table.column(p.column) if table is not None else None
        if sm is None or cm is None or table is None or col is None:
            missing = f"Sheet {p.sheet!r} has no column {p.column!r}."
            out.append(CheckedAttribute(p, problem=missing))
            continue
        target = target_class(source, sm, meta)
        if target is not None:
            p = replace(p, class_name=target.name)
        values = [r[col.index] for r in table.rows if col.index < len(r)]
        filled = [v for v in values if not is_blank_cell(v)]
        p = replace(p, values=len(filled))
        trans = translate(cm.values) if cm.values else None
        order = cm.date_order
        if p.type == AttrType.DATE and order is None:
            order = column_date_order(filled)
        probe = _probe(p.type, p.choices)
        bad: dict[str, None] = {}
        cells = 0
        for v in filled:
            try:
                coerce(probe, trans(v) if trans else v, date_order=order)
            except (ValueError, CmdbError):
                cells += 1
                bad.setdefault(str(v).strip())
        problem: str | None = None
        if target is None:
            problem = (
                f"Sheet {p.sheet!r}: choose the class of its rows; the new attribute belongs to it."
            )
        else:
            spec = (p.class_name, p.label, p.type, list(p.choices) if p.choices else None)
            try:
                cmdb.classes.check_new_attributes([*accepted, spec])
                accepted.append(spec)
            except CmdbError as exc:
                problem = str(exc)
        out.append(CheckedAttribute(p, tuple(list(bad)[:MAX_SHOWN]), cells, problem))
    return out


def create(
    cmdb: Cmdb, proposals: Sequence[NewAttribute], mapping: ImportMapping, source: Source
) -> None:
    """Add the proposed attributes and map their columns to them."""
    specs = [
        (p.class_name, p.label, p.type, list(p.choices) if p.choices else None) for p in proposals
    ]
    cmdb.classes.add_attributes(specs, source=source)
    meta = cmdb.meta
    for p in proposals:
        sm = mapping.sheet(p.sheet)
        cm = sm.column(p.column) if sm is not None else None
        attr = meta.find_attribute(meta.get_class(p.class_name), p.key)
        if cm is not None and attr is not None:
            cm.target = attr.key
