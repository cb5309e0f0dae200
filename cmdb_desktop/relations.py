"""Relationships between CIs: relate, unrelate, list both directions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.errors import DuplicateError, NotFoundError, ValidationError
from cmdb_desktop.history import HistoryWriter, Source
from cmdb_desktop.items import CI, chunks
from cmdb_desktop.metamodel import RelationshipTypeInfo
from cmdb_desktop.models import Relationship, relationship_table, utcnow
from cmdb_desktop.records import RelationshipView, relationship_views

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

REL = Relationship
REL_TABLE = relationship_table


class RelationService:
    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    def _ci_brief(self, s: Session, ci_id: int) -> tuple[int, str, str]:
        row = s.execute(select(CI.id, CI.class_id, CI.name).where(CI.id == ci_id)).first()
        if row is None:
            raise NotFoundError(f"No CI with id #{ci_id}.")
        return (row.id, self._cmdb.meta.class_by_id[row.class_id].name, row.name)

    def _orient(self, a: int, type_name: str, b: int) -> tuple[int, RelationshipTypeInfo, int]:
        rtype, reverse = self._cmdb.meta.relationship_type(type_name)
        return (b, rtype, a) if reverse else (a, rtype, b)

    def relate(
        self, a: int, type_name: str, b: int, *, source: Source | None = None
    ) -> ChangeSummary:
        """Record ``a TYPE b``. A reverse name (``Used by``) is stored flipped.

        Refuses self-relationships and duplicates (DuplicateError).
        """
        src, rtype, dst = self._orient(a, type_name, b)
        if src == dst:
            raise ValidationError(
                "A relationship cannot join a CI to itself.", {"target": "same CI as source"}
            )
        with self._cmdb.write() as s:
            sb, db = self._ci_brief(s, src), self._ci_brief(s, dst)
            dup = s.scalar(
                select(REL.id).where(
                    REL.source_id == src, REL.type_id == rtype.id, REL.target_id == dst
                )
            )
            if dup is not None:
                raise DuplicateError(
                    f"{sb[2]!r} already {rtype.name.lower()} {db[2]!r} (relationship #{dup}).",
                    {"relationship": "already exists"},
                )
            recorder = HistoryWriter(s, self._cmdb.user, source or Source())
            rel_id = int(
                s.execute(
                    REL_TABLE.insert().values(
                        source_id=src, type_id=rtype.id, target_id=dst, created_at=utcnow()
                    )
                ).inserted_primary_key[0]  # type: ignore[attr-defined]
            )
            recorder.relationship("create", rel_id, sb, rtype.name, db)
            recorder.flush()
            self._cmdb.bump(s, graph=rtype.propagates())
        summary = ChangeSummary(relationships_created=[rel_id], graph_changed=rtype.propagates())
        self._cmdb.notify(summary)
        return summary

    def unrelate(
        self, a: int, type_name: str, b: int, *, source: Source | None = None
    ) -> ChangeSummary:
        """Remove ``a TYPE b`` (NotFoundError if there is no such relationship)."""
        src, rtype, dst = self._orient(a, type_name, b)
        with self._cmdb.read() as s:
            rel_id = s.scalar(
                select(REL.id).where(
                    REL.source_id == src, REL.type_id == rtype.id, REL.target_id == dst
                )
            )
            if rel_id is None:
                sb, db = self._ci_brief(s, src), self._ci_brief(s, dst)
                raise NotFoundError(f"{sb[2]!r} is not {rtype.name.lower()} {db[2]!r}.")
        return self.delete(rel_id, source=source)

    def delete(self, rel_id: int, *, source: Source | None = None) -> ChangeSummary:
        with self._cmdb.write() as s:
            row = s.execute(select(REL_TABLE).where(REL.id == rel_id)).first()
            if row is None:
                raise NotFoundError(f"No relationship #{rel_id}.")
            recorder = HistoryWriter(s, self._cmdb.user, source or Source())
            summary = ChangeSummary()
            self._delete_rows(s, [row], recorder, summary)
            recorder.flush()
            self._cmdb.bump(s, graph=summary.graph_changed)
        self._cmdb.notify(summary)
        return summary

    def _delete_rows(
        self, s: Session, rows: list[Any], recorder: HistoryWriter, summary: ChangeSummary
    ) -> list[dict[str, Any]]:
        """Delete relationship rows with history; return their restorable descriptions."""
        meta = self._cmdb.meta
        ends = {r.source_id for r in rows} | {r.target_id for r in rows}
        briefs: dict[int, tuple[int, str, str]] = {}
        for part in chunks(ends):
            for ci_id, class_id, name in s.execute(
                select(CI.id, CI.class_id, CI.name).where(CI.id.in_(part))
            ):
                briefs[ci_id] = (ci_id, meta.class_by_id[class_id].name, name)
        out = []
        for part in chunks([r.id for r in rows]):
            s.execute(REL_TABLE.delete().where(REL.id.in_(part)))
        for r in rows:
            rtype = meta.relationship_type_by_id[r.type_id]
            recorder.relationship(
                "delete", r.id, briefs[r.source_id], rtype.name, briefs[r.target_id]
            )
            summary.relationships_deleted.append(r.id)
            summary.graph_changed |= rtype.propagates()
            out.append(
                {
                    "id": r.id,
                    "source_id": r.source_id,
                    "type": rtype.name,
                    "target_id": r.target_id,
                    "created_at": r.created_at,
                }
            )
        return out

    def _delete_touching(
        self, s: Session, ci_ids: list[int], recorder: HistoryWriter, summary: ChangeSummary
    ) -> list[dict[str, Any]]:
        rows: list[Any] = []
        for part in chunks(ci_ids):
            rows.extend(
                s.execute(
                    select(REL_TABLE).where(or_(REL.source_id.in_(part), REL.target_id.in_(part)))
                )
            )
        unique = {r.id: r for r in rows}
        return self._delete_rows(s, list(unique.values()), recorder, summary)

    def _restore(
        self,
        s: Session,
        rels: Iterable[Mapping[str, Any]],
        recorder: HistoryWriter,
        summary: ChangeSummary,
    ) -> None:
        meta = self._cmdb.meta
        for rel in rels:
            try:
                sb = self._ci_brief(s, rel["source_id"])
                db = self._ci_brief(s, rel["target_id"])
                rtype, _ = meta.relationship_type(rel["type"])
            except (NotFoundError, ValidationError):
                continue
            exists = s.scalar(
                select(REL.id).where(
                    REL.source_id == sb[0], REL.type_id == rtype.id, REL.target_id == db[0]
                )
            )
            if exists is not None:
                continue
            s.execute(
                REL_TABLE.insert().values(
                    id=rel.get("id"),
                    source_id=sb[0],
                    type_id=rtype.id,
                    target_id=db[0],
                    created_at=rel.get("created_at") or utcnow(),
                )
            )
            recorder.relationship("create", rel["id"], sb, rtype.name, db)
            summary.relationships_created.append(rel["id"])

    # -- reading -------------------------------------------------------------
    def of(self, ci_id: int) -> list[RelationshipView]:
        """Every relationship of a CI, both directions, grouped by label then name."""
        with self._cmdb.read() as s:
            stmt = (
                select(
                    REL.id,
                    REL.type_id,
                    REL.source_id,
                    REL.target_id,
                    CI.id.label("oid"),
                    CI.name,
                    CI.class_id,
                )
                .join(
                    CI,
                    or_(
                        and_(REL.source_id == ci_id, CI.id == REL.target_id),
                        and_(REL.target_id == ci_id, CI.id == REL.source_id),
                    ),
                )
                .where(or_(REL.source_id == ci_id, REL.target_id == ci_id))
            )
            return relationship_views(self._cmdb.meta, ci_id, s.execute(stmt).all())

    def count(self) -> int:
        with self._cmdb.read() as s:
            return int(s.scalar(select(func.count()).select_from(REL_TABLE)) or 0)

    def counts_by_type(self) -> dict[str, int]:
        meta = self._cmdb.meta
        with self._cmdb.read() as s:
            rows = s.execute(select(REL.type_id, func.count()).group_by(REL.type_id)).all()
        return {meta.relationship_type_by_id[t].name: n for t, n in rows}
