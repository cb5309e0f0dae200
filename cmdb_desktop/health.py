"""CMDB health: how complete, connected and trustworthy the data is.

Each check is a function over the database returning plain data; the report
aggregates them. Checks run in SQL so they stay fast at a million CIs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, or_, select

from cmdb_desktop.dialect import json_text
from cmdb_desktop.items import CI, CI_TABLE, CiRef
from cmdb_desktop.models import Relationship

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

REL = Relationship

#: How many example CIs each finding lists (counts are always complete).
SAMPLE = 50


@dataclass
class Finding:
    """One kind of problem: how many CIs have it, and some of them."""

    count: int = 0
    examples: list[CiRef] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "examples": [e.to_json() for e in self.examples]}


@dataclass
class HealthReport:
    total_cis: int
    total_relationships: int
    by_class: dict[str, int]
    by_status: dict[str, int]
    orphans: Finding
    missing_required: Finding
    missing_required_by_field: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "cis": self.total_cis,
            "relationships": self.total_relationships,
            "by_class": self.by_class,
            "by_status": self.by_status,
            "orphans": self.orphans.to_json(),
            "missing_required": self.missing_required.to_json(),
            "missing_required_by_field": self.missing_required_by_field,
        }


def _refs(cmdb: Cmdb, rows: list[Any]) -> list[CiRef]:
    names = cmdb.meta.class_by_id
    return [CiRef(r.id, r.name, names[r.class_id].name) for r in rows]


def orphans(cmdb: Cmdb, sample: int = SAMPLE) -> Finding:
    """CIs with no relationship at all, in classes that expect some."""
    expecting = [c.id for c in cmdb.meta.classes if c.expects_relationships and not c.abstract]
    cond = (
        CI.class_id.in_(expecting)
        & ~exists().where(REL.source_id == CI.id)
        & ~exists().where(REL.target_id == CI.id)
    )
    with cmdb.read() as s:
        n = int(s.scalar(select(func.count()).select_from(CI).where(cond)) or 0)
        rows = s.execute(
            select(CI.id, CI.name, CI.class_id).where(cond).order_by(CI.id).limit(sample)
        ).all()
    return Finding(n, _refs(cmdb, list(rows)))


def missing_required(cmdb: Cmdb, sample: int = SAMPLE) -> tuple[Finding, dict[str, int]]:
    """CIs lacking a field their class requires (possible after a class change)."""
    meta = cmdb.meta
    per_field: dict[str, int] = {}
    conds = []
    with cmdb.read() as s:
        for info in meta.classes:
            if info.abstract:
                continue
            attrs = meta.attribute_map(info)
            for key in meta.required_fields(info):
                if key == "name" or key not in attrs:
                    continue
                column = attrs[key].column
                col = (
                    CI_TABLE.c[column]
                    if column is not None
                    else json_text(CI.attributes, key, cmdb.engine.dialect.name)
                )
                cond = (CI.class_id == info.id) & (col.is_(None) | (col == ""))
                n = int(s.scalar(select(func.count()).select_from(CI).where(cond)) or 0)
                if n:
                    label = f"{info.name}: {attrs[key].label}"
                    per_field[label] = n
                    conds.append(cond)
        if not conds:
            return Finding(), per_field
        any_missing = or_(*conds)
        total = int(s.scalar(select(func.count()).select_from(CI).where(any_missing)) or 0)
        rows = s.execute(
            select(CI.id, CI.name, CI.class_id).where(any_missing).order_by(CI.id).limit(sample)
        ).all()
    return Finding(total, _refs(cmdb, list(rows))), per_field


def report(cmdb: Cmdb) -> HealthReport:
    missing, per_field = missing_required(cmdb)
    return HealthReport(
        total_cis=cmdb.items.count(),
        total_relationships=cmdb.relations.count(),
        by_class=dict(sorted(cmdb.items.counts_by_class().items())),
        by_status=dict(sorted(cmdb.items.counts_by_status().items())),
        orphans=orphans(cmdb),
        missing_required=missing,
        missing_required_by_field=per_field,
    )
