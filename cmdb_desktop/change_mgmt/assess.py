"""Conflicts and risk of changes, read from one snapshot of the CMDB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cmdb_desktop.change_mgmt import storage
from cmdb_desktop.change_mgmt.conflicts import ConflictFinder, Planned
from cmdb_desktop.change_mgmt.records import (
    ACTIVE_STATES,
    ENDED_STATES,
    FAILED_STATES,
    Assessment,
    ChangeService,
)
from cmdb_desktop.change_mgmt.risk import ServiceHit, SpofHit, assess
from cmdb_desktop.errors import NotFoundError
from cmdb_desktop.items import CiRef

if TYPE_CHECKING:
    from cmdb_desktop.progress import Progress


def assess_changes(
    service: ChangeService, change_ids: Sequence[int] | None, progress: Progress | None
) -> dict[int, Assessment]:
    cmdb = service.cmdb
    meta = cmdb.meta
    services_classes = meta.service_class_ids
    with cmdb.read() as s:
        rows = storage.load_changes(s)
        by_id = {r.id: r for r in rows}
        wanted = list(change_ids) if change_ids is not None else [r.id for r in rows]
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise NotFoundError(f"No change with id {missing[0]}.")
        ci_rows = storage.ci_rows(s, sorted({i for r in rows for i in r.change_set}))
        windows = service.scoped_windows(s)
        graph = cmdb.analysis.cache.get(progress, s)
        planned = [
            Planned(
                r.id,
                r.start,
                r.end,
                tuple(i for i in r.change_set if i in ci_rows),
                r.state in ACTIVE_STATES,
            )
            for r in rows
        ]
        finder = ConflictFinder(graph, planned, windows, progress)
        out: dict[int, Assessment] = {}
        for change_id in wanted:
            row = by_id[change_id]
            plan = next(p for p in planned if p.id == change_id)
            conflicts = finder.conflicts(plan)
            impact = finder.impact(plan.change_set)
            facts = storage.ci_rows(s, impact.impacted.tolist())
            down = set(impact.down.tolist())
            refs = service._refs(s, plan.change_set)
            hit: list[tuple[CiRef, str, int | None]] = []
            for ci_id, (_, name, class_id, _status, crit) in sorted(
                facts.items(), key=lambda kv: (kv[1][4] or 99, kv[1][1])
            ):
                if class_id in services_classes:
                    info = meta.class_by_id.get(class_id)
                    ref = CiRef(ci_id, name, info.name if info else "")
                    hit.append((ref, "down" if ci_id in down else "degraded", crit))
            spofs: list[SpofHit] = []
            if len(plan.change_set) > 1:
                service_ids = {r.id for r, _, _ in hit}
                for member in plan.change_set:
                    alone = set(finder.impact([member]).down.tolist()) & service_ids
                    for ref, _, _ in hit:
                        if ref.id in alone:
                            spofs.append(SpofHit(refs[member].name, ref.name))
            mine = set(plan.change_set)
            past = [
                r
                for r in rows
                if r.id != change_id and r.state in ENDED_STATES and mine.intersection(r.change_set)
            ]
            risk = assess(
                kind=row.kind,
                services=[ServiceHit(r.name, st, c) for r, st, c in hit],
                spofs=spofs,
                conflicts=conflicts,
                past_failed=sum(r.state in FAILED_STATES for r in past),
                past_total=len(past),
            )
            out[change_id] = Assessment(
                change=service._view(row, refs),
                conflicts=tuple(conflicts),
                risk=risk,
                services=tuple((r, st) for r, st, _ in hit),
            )
        return out
