"""Audit compare: what does the CMDB get wrong, according to a spreadsheet?

An audit never writes to the CMDB (stamping *last verified* is a separate,
explicit step that writes one batch). It reads the file exactly as an import
would — same readers, mapping suggestions and identification rules — runs the
import's dry run in *audit mode*, and sorts what it finds:

* **matched** — a row that identifies one CI and differs in no mapped field;
* **mismatched** — a row that identifies one CI whose values differ: one
  finding per field (CMDB value vs sheet value, with the sheet row). Values
  compare as typed values (dates, numbers, choice lists case-insensitively),
  never as raw strings. A blank cell is "not audited" unless its column's
  blank rule is ``clear``;
* **only in sheet** — a row that identifies no CI (an unregistered asset);
* **only in CMDB** — a CI within the scope that no row identifies. The scope
  is, by default, the classes that occur in the sheet (its Class column, the
  default class, and the classes of the CIs it matched), narrowed by class,
  location (CIs *Located in* a site or rack, transitively) and status;
* **errors** — rows that cannot be judged: an ambiguous match (several CIs
  fit the keys — never a guess), several rows naming the same CI, a cell that
  is not a valid value, a row without any identifying value.

>>> AuditScope.parse(["class=Server,Workstation", "status=In Use"]).statuses
['In Use']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cmdb_desktop.batches import BatchWriter, CiChange
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.items import CiRef, chunks
from cmdb_desktop.models import ConfigurationItem as CI
from cmdb_desktop.models import Relationship
from cmdb_desktop.progress import Progress
from cmdb_desktop.values import to_json
from importers.mapping import CLASS, KIND_SKIP, ImportMapping
from importers.plan import (
    CREATED,
    UNCHANGED,
    UPDATED,
    ImportPlan,
    RowError,
    load_source,
    plan_import,
    suggest_mapping,
)
from importers.workbook import KIND_CIS

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

SCOPE_KEYS = ("class", "location", "status")


@dataclass
class AuditScope:
    """Which CIs "only in CMDB" looks at. Empty lists mean "not narrowed"."""

    classes: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, specs: Iterable[str]) -> AuditScope:
        """``--scope class=Server,Workstation --scope location=Paris DC1 --scope status=In Use``."""
        scope = cls()
        for spec in specs:
            key, sep, value = spec.partition("=")
            key = key.strip().casefold()
            if not sep or key not in SCOPE_KEYS or not value.strip():
                raise ValidationError(
                    f"Bad scope {spec!r}: use class=…, location=… or status=… "
                    "(several values separated by commas).",
                    {"scope": spec},
                )
            parts = [p.strip() for p in value.split(",") if p.strip()]
            {"class": scope.classes, "location": scope.locations, "status": scope.statuses}[
                key
            ].extend(parts)
        return scope

    def to_json(self) -> dict[str, Any]:
        return {"classes": self.classes, "locations": self.locations, "statuses": self.statuses}


@dataclass(frozen=True)
class Mismatch:
    ci: CiRef
    field: str
    label: str
    cmdb: Any
    sheet: Any
    row: int
    sheet_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ci": self.ci.to_json(),
            "field": self.field,
            "label": self.label,
            "cmdb": to_json(self.cmdb),
            "sheet": to_json(self.sheet),
            "row": self.row,
            "sheet_name": self.sheet_name,
        }


@dataclass(frozen=True)
class SheetOnly:
    row: int
    key: str
    name: str | None
    class_name: str | None
    sheet_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "key": self.key,
            "name": self.name,
            "class": self.class_name,
            "sheet_name": self.sheet_name,
        }


@dataclass
class AuditResult:
    file: Path
    sheets: list[str]
    matched: list[tuple[CiRef, int]]
    mismatched: list[Mismatch]
    only_in_sheet: list[SheetOnly]
    only_in_cmdb: list[CiRef]
    errors: list[RowError]
    warnings: list[str]
    scope: AuditScope
    scope_classes: list[str]
    rows: int
    mapping: ImportMapping

    @property
    def mismatched_cis(self) -> int:
        return len({m.ci.id for m in self.mismatched})

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "matched": len(self.matched),
            "mismatched_cis": self.mismatched_cis,
            "mismatched_fields": len(self.mismatched),
            "only_in_sheet": len(self.only_in_sheet),
            "only_in_cmdb": len(self.only_in_cmdb),
            "errors": len(self.errors),
        }

    def to_json(self) -> dict[str, Any]:
        """PRODUCT.md §6: matched, mismatched, only_in_sheet, only_in_cmdb (+ context)."""
        return {
            "matched": len(self.matched),
            "mismatched": [m.to_json() for m in self.mismatched],
            "only_in_sheet": [s.to_json() for s in self.only_in_sheet],
            "only_in_cmdb": [c.to_json() for c in self.only_in_cmdb],
            "errors": [e.to_json() for e in self.errors],
            "warnings": self.warnings,
            "counts": self.counts(),
            "file": str(self.file),
            "sheets": self.sheets,
            "scope": {**self.scope.to_json(), "classes_used": self.scope_classes},
        }


def audit_file(
    cmdb: Cmdb,
    path: str | Path,
    *,
    mapping: ImportMapping | None = None,
    keys: Sequence[Sequence[str]] | None = None,
    default_class: str | None = None,
    sheets: Sequence[str] | None = None,
    scope: AuditScope | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    """Compare a spreadsheet with the CMDB (reads only). BadFileError for unreadable files."""
    progress = progress or Progress()
    meta = cmdb.meta
    scope = scope or AuditScope()
    if default_class:
        meta.concrete_class(default_class)
    source = load_source(path, meta=meta, sheets=sheets, progress=progress)
    plan_mapping = suggest_mapping(source, meta, mapping)
    if keys:
        plan_mapping.keys = [list(k) for k in keys]
    for sm in plan_mapping.sheets:
        if sm.kind != KIND_CIS:
            sm.kind = KIND_SKIP  # an audit compares CIs; relationships are not audited
        elif default_class and not sm.default_class:
            sm.default_class = default_class
    plan = plan_import(cmdb, source, plan_mapping, progress=progress, audit=True)
    return _judge(cmdb, plan, scope, progress)


def _judge(cmdb: Cmdb, plan: ImportPlan, scope: AuditScope, progress: Progress) -> AuditResult:
    meta = cmdb.meta
    matched: list[tuple[int, int]] = []
    mismatched_rows: list[tuple[int, Any]] = []
    only_sheet: list[SheetOnly] = []
    seen: set[int] = set()
    sheet_classes: set[int] = set()
    rows = 0
    for outcome in plan.rows:
        if outcome.kind != KIND_CIS:
            continue
        rows += 1
        if outcome.class_id is not None:
            sheet_classes.add(outcome.class_id)
        if outcome.ci_id is not None:
            seen.add(outcome.ci_id)
        if outcome.status == UNCHANGED and outcome.ci_id is not None:
            matched.append((outcome.ci_id, outcome.row))
        elif outcome.status == UPDATED and outcome.ci_id is not None:
            mismatched_rows.append((outcome.ci_id, outcome))
        elif outcome.status == CREATED:
            # In audit mode the planner leaves the identifying key in ``note``.
            only_sheet.append(
                SheetOnly(
                    outcome.row,
                    outcome.note or "",
                    outcome.name,
                    outcome.class_name,
                    outcome.sheet,
                )
            )
    refs = cmdb.items.refs([ci for ci, _ in matched] + [ci for ci, _ in mismatched_rows])
    labels = {a.key: a.label for a in meta.attributes}
    labels.update(name="Name", **{CLASS: "Class"})
    mismatches = [
        Mismatch(refs[ci], key, labels.get(key, key), old, new, o.row, o.sheet)
        for ci, o in mismatched_rows
        for key, (old, new) in o.changes.items()
    ]
    errors = list(plan.errors)
    # Classes of the CIs the sheet matched count as "occurring in the sheet".
    with cmdb.read() as s:
        for part in chunks(seen):
            sheet_classes.update(s.scalars(select(CI.class_id).where(CI.id.in_(part))))
    class_ids = _scope_classes(cmdb, scope, sheet_classes)
    progress.start("Looking for CIs the sheet does not list")
    only_cmdb = _only_in_cmdb(cmdb, scope, class_ids, seen)
    warnings = list(plan.warnings)
    if not class_ids:
        warnings.append(
            "No class occurs in the sheet (no Class column, no default class and no matched "
            "CI), so nothing is reported as only in the CMDB; choose a class or a scope."
        )
    return AuditResult(
        file=plan.source.path,
        sheets=[t.sheet for t in plan.source.tables],
        matched=[(refs[ci], row) for ci, row in matched],
        mismatched=mismatches,
        only_in_sheet=only_sheet,
        only_in_cmdb=only_cmdb,
        errors=errors,
        warnings=warnings,
        scope=scope,
        scope_classes=sorted(meta.class_by_id[c].name for c in class_ids),
        rows=rows,
        mapping=plan.mapping,
    )


def _scope_classes(cmdb: Cmdb, scope: AuditScope, sheet_classes: set[int]) -> set[int]:
    meta = cmdb.meta
    if not scope.classes:
        return set(sheet_classes)
    wanted: set[int] = set()
    for name in scope.classes:
        wanted |= meta.subtree_ids(meta.get_class(name))
    return wanted


def _located_in(cmdb: Cmdb, roots: Iterable[int]) -> set[int]:
    """Every CI *Located in* one of ``roots``, directly or through racks, rooms…"""
    located, _ = cmdb.meta.relationship_type("Located in")
    found: set[int] = set()
    frontier = set(roots)
    with cmdb.read() as s:
        while frontier:
            nxt: set[int] = set()
            for part in chunks(frontier):
                nxt.update(
                    s.scalars(
                        select(Relationship.source_id).where(
                            Relationship.type_id == located.id, Relationship.target_id.in_(part)
                        )
                    )
                )
            frontier = nxt - found
            found |= frontier
    return found


def _only_in_cmdb(
    cmdb: Cmdb, scope: AuditScope, class_ids: set[int], seen: set[int]
) -> list[CiRef]:
    if not class_ids:
        return []
    meta = cmdb.meta
    statuses: list[str] = []
    status_attr = meta.find_attribute(meta.root, "status")
    for st in scope.statuses:
        match = (
            next(
                (c for c in (status_attr.choices or ()) if str(c).casefold() == st.casefold()), None
            )
            if status_attr
            else None
        )
        if match is None:
            raise ValidationError(f"Unknown status {st!r} in the scope.", {"scope": st})
        statuses.append(str(match))
    within: set[int] | None = None
    if scope.locations:
        roots = [cmdb.items.resolve(loc) for loc in scope.locations]
        within = _located_in(cmdb, roots)
    stmt = select(CI.id, CI.name, CI.class_id).where(CI.class_id.in_(sorted(class_ids)))
    if statuses:
        stmt = stmt.where(CI.status.in_(statuses))
    out: list[CiRef] = []
    names = {c.id: c.name for c in meta.classes}
    with cmdb.read() as s:
        # Core rows, not the ORM's: this walks every CI of the scope.
        result = s.connection().execute(stmt.order_by(CI.id))
        for ci_id, name, class_id in result:
            if ci_id in seen or (within is not None and ci_id not in within):
                continue
            out.append(CiRef(ci_id, name, names[class_id]))
    out.sort(key=lambda r: (r.class_name, r.name.casefold(), r.id))
    return out


def stamp_verified(
    cmdb: Cmdb,
    result: AuditResult,
    *,
    today: date | None = None,
    progress: Progress | None = None,
) -> int | None:
    """Set *last verified* to ``today`` on every matched CI, as one batch (kind "audit").

    Returns the batch id (None when nothing needed stamping). The batch is in
    ``cmdb batches`` and rolls back like an import.
    """
    today = today or date.today()
    rows = {ref.id: row for ref, row in result.matched}
    sheet = result.sheets[0] if len(result.sheets) == 1 else None
    with cmdb.write() as s:
        changes: list[CiChange] = []
        for part in chunks(sorted(rows)):
            for ci_id, class_id, name, verified in s.execute(
                select(CI.id, CI.class_id, CI.name, CI.last_verified).where(CI.id.in_(part))
            ):
                if verified != today:
                    changes.append(
                        CiChange(
                            ci_id,
                            class_id,
                            name,
                            {"last_verified": (verified, today)},
                            sheet=sheet,
                            row=rows[ci_id],
                        )
                    )
        if not changes:
            return None
        writer = BatchWriter(
            cmdb,
            s,
            kind="audit",
            file=str(result.file),
            sheets=result.sheets,
            mapping=result.mapping.to_json(),
            source_kind="audit",
            progress=progress,
        )
        writer.update_cis(changes, total=len(changes))
        summary = writer.finish({"verified": len(changes)})
    cmdb.notify(summary)
    return writer.batch_id


def describe(result: AuditResult) -> str:
    c = result.counts()
    return (
        f"{c['rows']:,} rows: {c['matched']:,} matched, {c['mismatched_cis']:,} CIs with "
        f"{c['mismatched_fields']:,} differing fields, {c['only_in_sheet']:,} only in the sheet, "
        f"{c['only_in_cmdb']:,} only in the CMDB, {c['errors']:,} rows with errors"
    )
