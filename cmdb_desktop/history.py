"""Recording and reading the change history.

Every write — the item and relation services, the batch writer of imports,
rollbacks, the demo — records its history through one :class:`HistoryWriter`
bound to its own session, so the change and its history commit (or roll
back) together. :class:`HistoryService` reads it; nothing can change it.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, literal, or_, select
from sqlalchemy.orm import Session

from cmdb_desktop.bulk import Bulk
from cmdb_desktop.errors import AmbiguousReferenceError, NotFoundError
from cmdb_desktop.models import (
    ChangeRecord,
    CiClass,
    RelationshipType,
    change_record_table,
    ci_table,
    relationship_table,
    utcnow,
)
from cmdb_desktop.values import to_json, to_text
from cmdb_desktop.vocabulary import Action, ChangeSource, Entity, ModelPart

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

SOURCE_KINDS = tuple(ChangeSource)

#: Columns of ``change_record`` every writer fills, in the order rows are built.
HISTORY_COLUMNS = (
    "at",
    "user",
    "source",
    "request_id",
    "batch_id",
    "file",
    "sheet",
    "row",
    "entity",
    "action",
    "ci_id",
    "ci_class",
    "ci_name",
    "related_ci_id",
    "relationship_id",
    "field",
    "old_value",
    "new_value",
)

#: Rows per insert statement (keeps memory flat).
_CHUNK = 20_000


def current_user() -> str:
    """The OS user name (who), never failing."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return os.environ.get("USER") or os.environ.get("USERNAME") or f"uid{os.getuid()}"


@dataclass(frozen=True)
class Source:
    """Where a change comes from: the front end, and for imports the batch, file and row."""

    kind: str = ChangeSource.API
    batch_id: int | None = None
    file: str | None = None
    sheet: str | None = None
    row: int | None = None

    def at(self, sheet: str | None, row: int | None) -> Source:
        return replace(self, sheet=sheet, row=row)

    @classmethod
    def cli(cls) -> Source:
        return cls(ChangeSource.CLI)

    @classmethod
    def gui(cls) -> Source:
        return cls(ChangeSource.GUI)


def snapshot_text(values: Mapping[str, Any]) -> str:
    return json.dumps(
        {k: to_json(v) for k, v in values.items() if v is not None},
        ensure_ascii=False,
        sort_keys=True,
    )


def definition_of(row: Any) -> dict[str, Any]:
    """A catalogue row (class, attribute definition, relationship type) as a deletion
    records it: every column by name, JSON-ready."""
    return {c.name: to_json(getattr(row, c.name)) for c in row.__table__.columns}


def relationship_text(source_name: str, type_name: str, target_name: str) -> str:
    """How the history words a relationship: ``web01 Runs on vm01``."""
    return f"{source_name} {type_name} {target_name}"


#: The sheet and row a record came from (overrides the writer's :class:`Source`).
Where = tuple[str | None, int | None]


def _text(value: Any) -> str | None:
    return to_text(value) if value is not None else None


class HistoryWriter:
    """The one writer of the change history (PRODUCT.md §3).

    Bound to the write session of one operation: records collect as rows and
    are inserted with :meth:`flush` in that session, so the change and its
    history commit or roll back together. All records of one writer share
    when, who, a request id and where from (:class:`Source`; each record may
    name its own sheet and row). A create records a snapshot of the CI, or —
    for a bulk import, which PRODUCT.md allows — only the batch, sheet and
    row it came from; an update records one row per field (old → new); a
    delete records a snapshot. The SQL strategies at the end write the same
    rows for a whole staged batch in one statement.
    """

    def __init__(
        self,
        session: Session,
        user: str,
        source: Source,
        *,
        at: datetime | None = None,
        bulk: Bulk | None = None,
    ) -> None:
        self.session = session
        self.user = user
        self.source = source
        self.request_id = str(uuid.uuid4())
        self.at = at or utcnow()
        self.bulk = bulk or Bulk(session)
        self.rows: list[tuple[Any, ...]] = []
        self.change_rows: list[dict[str, Any]] = []
        self._stamp = self.bulk.stamp(self.at)

    @property
    def who(self) -> tuple[Any, ...]:
        """The leading columns shared by this writer's records (at … file)."""
        src = self.source
        return (self._stamp, self.user, src.kind, self.request_id, src.batch_id, src.file)

    def _add(
        self,
        entity: Entity,
        action: Action,
        source: Source | None,
        ci: tuple[int | None, str, str],
        *,
        related: int | None = None,
        relationship: int | None = None,
        field: str | None = None,
        old: str | None = None,
        new: str | None = None,
        where: Where | None = None,
    ) -> None:
        src = source or self.source
        sheet, row = where if where is not None else (src.sheet, src.row)
        self.rows.append(
            (
                self._stamp,
                self.user,
                src.kind,
                self.request_id,
                src.batch_id,
                src.file,
                sheet,
                row,
                entity,
                action,
                *ci,
                related,
                relationship,
                field,
                old,
                new,
            )
        )

    def ci_created(
        self,
        ci_id: int,
        class_name: str,
        name: str,
        values: Mapping[str, Any] | None,
        source: Source | None = None,
        where: Where | None = None,
    ) -> None:
        """``values`` None: a bulk create, recorded by batch, sheet and row only."""
        snapshot = snapshot_text({"name": name, **values}) if values is not None else None
        self._add(
            Entity.CI, Action.CREATE, source, (ci_id, class_name, name), new=snapshot, where=where
        )

    def ci_updated(
        self,
        ci_id: int,
        class_name: str,
        name: str,
        field: str,
        old: Any,
        new: Any,
        source: Source | None = None,
        where: Where | None = None,
    ) -> None:
        self._add(
            Entity.CI,
            Action.UPDATE,
            source,
            (ci_id, class_name, name),
            field=field,
            old=_text(old),
            new=_text(new),
            where=where,
        )

    def ci_changed(
        self,
        ci_id: int,
        class_name: str,
        name: str,
        changes: Mapping[str, tuple[Any, Any]],
        source: Source | None = None,
        where: Where | None = None,
    ) -> None:
        """One update record per changed field (``changes``: field → (old, new))."""
        for field, (old, new) in changes.items():
            self.ci_updated(ci_id, class_name, name, field, old, new, source, where)

    def ci_deleted(
        self,
        ci_id: int,
        class_name: str,
        name: str,
        values: Mapping[str, Any],
        source: Source | None = None,
    ) -> None:
        self._add(
            Entity.CI,
            Action.DELETE,
            source,
            (ci_id, class_name, name),
            old=snapshot_text({"name": name, **values}),
        )

    def relationship(
        self,
        action: Action | str,
        rel_id: int,
        source_ci: tuple[int, str, str],
        type_name: str,
        target_ci: tuple[int, str, str],
        source: Source | None = None,
        where: Where | None = None,
    ) -> None:
        """``source_ci``/``target_ci`` are (id, class name, CI name)."""
        text = relationship_text(source_ci[2], type_name, target_ci[2])
        self._add(
            Entity.RELATIONSHIP,
            Action(action),
            source,
            source_ci,
            related=target_ci[0],
            relationship=rel_id,
            field=type_name,
            old=text if action == Action.DELETE else None,
            new=text if action == Action.CREATE else None,
            where=where,
        )

    def model_changed(
        self,
        action: Action,
        part: ModelPart,
        name: str,
        changes: Mapping[str, tuple[Any, Any]] | None = None,
        *,
        definition: Mapping[str, Any] | None = None,
    ) -> None:
        """A change of the data model: ``part`` (class, attribute, relationship
        type) named ``name`` (``Class.attribute`` for an attribute) was created,
        deleted, or had ``changes`` (property → (old, new)), one record each.
        Stored with entity ``model``, the part in ``ci_class`` and the name in
        ``ci_name``; no CI id.

        ``definition`` (a deletion's snapshot: the rows removed, see
        :func:`definition_of`) adds one record without a field whose old value
        is that snapshot as JSON, so time travel can put the definition back
        (:mod:`cmdb_desktop.asof_model`). Deletions recorded before it existed
        carry only their property records."""
        who = (None, str(part), name)
        if not changes and definition is None:
            self._add(Entity.MODEL, action, None, who)
            return
        for field, (old, new) in (changes or {}).items():
            self._add(Entity.MODEL, action, None, who, field=field, old=_text(old), new=_text(new))
        if definition is not None:
            text = json.dumps(definition, ensure_ascii=False, sort_keys=True, default=to_json)
            self._add(Entity.MODEL, action, None, who, old=text)

    def change_event(
        self,
        change_id: int,
        title: str,
        action: Action | str,
        *,
        field: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> None:
        """A change record (PRODUCT.md §9) was created, edited (one record per
        field: state, approvals, change set …) or deleted; ``ci_name`` holds its title."""
        src = self.source
        self.change_rows.append(
            {
                "at": self.at,
                "user": self.user,
                "source": src.kind,
                "request_id": self.request_id,
                "entity": Entity.CHANGE.value,
                "action": Action(action).value,
                "ci_class": "Change",
                "ci_name": title,
                "field": field,
                "old_value": old,
                "new_value": new,
                "change_id": change_id,
            }
        )

    def flush(self) -> int:
        """Insert the collected records (in this writer's session); how many."""
        if self.change_rows:
            self.session.execute(insert(change_record_table), self.change_rows)
            self.change_rows = []
        n = len(self.rows)
        for start in range(0, n, _CHUNK):
            self.bulk.insert(
                change_record_table, HISTORY_COLUMNS, self.rows[start : start + _CHUNK]
            )
        self.rows = []
        return n

    # -- SQL strategies for staged bulk writes (SQLite) ----------------------------
    def cis_created_from(self, stage: str) -> int:
        """One create record per CI of a staging table (``id``, ``class_id``,
        ``name``, ``src_sheet``, ``src_row``), in id order, in one statement;
        how many (a CI whose class does not exist gets none)."""
        return self.bulk.run(
            f"INSERT INTO main.change_record ({', '.join(HISTORY_COLUMNS)}) "
            "SELECT ?, ?, ?, ?, ?, ?, s.src_sheet, s.src_row, 'ci', 'create', s.id, "
            "c.name, s.name, NULL, NULL, NULL, NULL, NULL "
            f"FROM {stage} s JOIN main.ci_class c ON c.id = s.class_id ORDER BY s.id",
            self.who,
        )

    def relationships_created_from(self, stage: str) -> int:
        """One create record per relationship of a staging table (``id``,
        ``source_id``, ``type_id``, ``target_id``, ``src_sheet``, ``src_row``),
        naming both ends and the type as :meth:`relationship` does; how many
        (a relationship whose end or type does not exist gets none)."""
        return self.bulk.run(
            f"INSERT INTO main.change_record ({', '.join(HISTORY_COLUMNS)}) "
            "SELECT ?, ?, ?, ?, ?, ?, r.src_sheet, r.src_row, 'relationship', 'create', "
            "r.source_id, sc.name, s.name, r.target_id, r.id, t.name, NULL, "
            "s.name || ' ' || t.name || ' ' || d.name "
            f"FROM {stage} r JOIN main.ci s ON s.id = r.source_id "
            "JOIN main.ci d ON d.id = r.target_id "
            "JOIN main.ci_class sc ON sc.id = s.class_id "
            "JOIN main.relationship_type t ON t.id = r.type_id ORDER BY r.id",
            self.who,
        )

    def relationships_created_pg(
        self, ids: Sequence[int], wheres: Sequence[tuple[str | None, int | None]]
    ) -> None:
        """PostgreSQL: one create record per relationship of ``ids`` (just written),
        with the sheet and row each came from (``wheres``, in the same order), built
        by the server in one statement as :meth:`relationships_created_from` does
        on SQLite: the same rows :meth:`relationship` writes, in id order, without
        reading the CIs' names back into Python."""
        self.flush()  # the records collected so far come first
        at, user, kind, request_id, batch_id, file = self.who
        cols = ", ".join(f'"{c}"' for c in HISTORY_COLUMNS)
        self.bulk.run(
            f"INSERT INTO change_record ({cols}) "
            "SELECT %s, %s, %s, %s, %s, %s, x.w_sheet, x.w_row, 'relationship', 'create', "
            "r.source_id, sc.name, s.name, r.target_id, r.id, t.name, NULL, "
            "s.name || ' ' || t.name || ' ' || d.name "
            "FROM unnest(%s::integer[], %s::text[], %s::integer[]) AS x(w_id, w_sheet, w_row) "
            "JOIN relationship r ON r.id = x.w_id JOIN ci s ON s.id = r.source_id "
            "JOIN ci d ON d.id = r.target_id JOIN ci_class sc ON sc.id = s.class_id "
            "JOIN relationship_type t ON t.id = r.type_id ORDER BY r.id",
            (
                at,
                user,
                str(kind),
                request_id,
                batch_id,
                file,
                list(ids),
                [w[0] for w in wheres],
                [w[1] for w in wheres],
            ),
        )

    def relationships_of_batch(self) -> None:
        """One create record per relationship tagged with this writer's batch
        (the demo writes relationships without staging them)."""
        rel = relationship_table.alias("r")
        src = ci_table.alias("s")
        dst = ci_table.alias("d")
        rtype = RelationshipType.__table__.alias("t")
        cls = CiClass.__table__.alias("c")
        who = self.source
        query = (
            select(
                literal(self.at),
                literal(self.user),
                literal(str(who.kind)),
                literal(self.request_id),
                literal(who.batch_id),
                literal(Entity.RELATIONSHIP.value),
                literal(Action.CREATE.value),
                rel.c.source_id,
                cls.c.name,
                src.c.name,
                rel.c.target_id,
                rel.c.id,
                rtype.c.name,
                src.c.name + " " + rtype.c.name + " " + dst.c.name,
            )
            .select_from(rel)
            .join(src, src.c.id == rel.c.source_id)
            .join(dst, dst.c.id == rel.c.target_id)
            .join(rtype, rtype.c.id == rel.c.type_id)
            .join(cls, cls.c.id == src.c.class_id)
            .where(rel.c.batch_id == who.batch_id)
            .order_by(rel.c.id)
        )
        unset = {"file", "sheet", "row", "old_value"}
        columns = [c for c in HISTORY_COLUMNS if c not in unset]
        self.session.execute(insert(change_record_table).from_select(columns, query))


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime
    user: str
    source: str
    batch_id: int | None
    file: str | None
    sheet: str | None
    row: int | None
    entity: str
    action: str
    ci_id: int | None
    ci_class: str | None
    ci_name: str | None
    related_ci_id: int | None
    relationship_id: int | None
    field: str | None
    old_value: str | None
    new_value: str | None
    request_id: str | None

    def describe(self) -> str:
        """One line a person reads: what happened."""
        if self.entity == Entity.MODEL:
            what = f"{self.ci_class} {self.ci_name!r}"
            if self.action == Action.CREATE and self.field is None:
                return f"model: added {what}"
            if self.action == Action.DELETE and self.field is None:
                return f"model: removed {what}"
            old = self.old_value if self.old_value is not None else "∅"
            new = self.new_value if self.new_value is not None else "∅"
            return f"model: {what} {self.field}: {old} → {new}"
        if self.entity == "relationship":
            verb = "added" if self.action == "create" else "removed"
            return f"relationship {verb}: {self.new_value or self.old_value}"
        if self.action == "create":
            where = ""
            if self.batch_id:
                where = f" (batch {self.batch_id}" + (f", row {self.row})" if self.row else ")")
            return f"created {self.ci_class} {self.ci_name!r}{where}"
        if self.action == "delete":
            return f"deleted {self.ci_class} {self.ci_name!r}"
        old = self.old_value if self.old_value is not None else "∅"
        new = self.new_value if self.new_value is not None else "∅"
        return f"{self.field}: {old} → {new}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": to_json(self.at),
            "user": self.user,
            "source": self.source,
            "batch": self.batch_id,
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "entity": self.entity,
            "action": self.action,
            "ci": self.ci_id,
            "ci_name": self.ci_name,
            "related_ci": self.related_ci_id,
            "relationship": self.relationship_id,
            "field": self.field,
            "old": self.old_value,
            "new": self.new_value,
            "summary": self.describe(),
        }


@dataclass(frozen=True)
class DeletedCi:
    """A CI that is gone, as the record of its deletion names it (its history stays)."""

    id: int
    name: str
    class_name: str
    deleted_at: datetime
    deleted_by: str

    def label(self) -> str:
        return f"{self.class_name}/{self.name} (#{self.id}, deleted)"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "class": self.class_name,
            "deleted": True,
            "deleted_at": to_json(self.deleted_at),
            "deleted_by": self.deleted_by,
        }


def _entry(rec: ChangeRecord) -> HistoryEntry:
    return HistoryEntry(
        id=rec.id,
        at=rec.at,
        user=rec.user,
        source=rec.source,
        batch_id=rec.batch_id,
        file=rec.file,
        sheet=rec.sheet,
        row=rec.row,
        entity=rec.entity,
        action=rec.action,
        ci_id=rec.ci_id,
        ci_class=rec.ci_class,
        ci_name=rec.ci_name,
        related_ci_id=rec.related_ci_id,
        relationship_id=rec.relationship_id,
        field=rec.field,
        old_value=rec.old_value,
        new_value=rec.new_value,
        request_id=rec.request_id,
    )


class HistoryService:
    """Reads the history; it has no way to change it."""

    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    def for_ci(self, ci_id: int, *, limit: int | None = None) -> list[HistoryEntry]:
        """Everything that happened to a CI and its relationships, newest first."""
        stmt = (
            select(ChangeRecord)
            .where(or_(ChangeRecord.ci_id == ci_id, ChangeRecord.related_ci_id == ci_id))
            .order_by(ChangeRecord.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def deleted_ci(self, ci_id: int) -> DeletedCi | None:
        """The CI ``ci_id`` if it was deleted and is still gone (ids are never reused),
        named as the record of its deletion names it; None for a CI that exists or
        never did."""
        cr = change_record_table.c
        with self._cmdb.read() as s:
            if s.scalar(select(ci_table.c.id).where(ci_table.c.id == ci_id)) is not None:
                return None
            last = s.execute(
                select(cr.action, cr.ci_class, cr.ci_name, cr.at, cr.user)
                .where(cr.ci_id == ci_id, cr.entity == Entity.CI.value)
                .order_by(cr.id.desc())
                .limit(1)
            ).first()
        if last is None or last.action != Action.DELETE.value:
            return None
        return DeletedCi(ci_id, last.ci_name or "", last.ci_class or "", last.at, last.user)

    def find_deleted(self, ref: str) -> DeletedCi:
        """A deleted CI by reference: ``#ID``, ``Class/Name`` or ``Name`` (a name compared
        case-insensitively among deleted CIs only). NotFoundError, or
        AmbiguousReferenceError listing the candidates when a name fits several."""
        text = ref.strip()
        if text.startswith("#") and text[1:].isdigit():
            ci_id = int(text[1:])
            found = self.deleted_ci(ci_id) if 0 < ci_id < 2**63 else None
            if found is None:
                raise NotFoundError(f"No CI with id #{ci_id}, nor a deleted one.")
            return found
        cls_name, _, name = text.rpartition("/") if "/" in text else ("", "", text)
        candidates = self._deleted_named(name.strip(), cls_name.strip() or None)
        if not candidates and cls_name:
            candidates = self._deleted_named(text, None)  # a name with a slash in it
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise NotFoundError(f"No CI matches {text!r}, nor a deleted one.")
        listed = "; ".join(c.label() for c in candidates[:20])
        raise AmbiguousReferenceError(
            f"{text!r} names {len(candidates)} deleted CIs: {listed}. Use #ID to choose one.",
            [c.to_json() for c in candidates],
        )

    def _deleted_named(self, name: str, class_name: str | None) -> list[DeletedCi]:
        cr = change_record_table.c
        stmt = select(cr.ci_id).where(
            cr.entity == Entity.CI.value,
            cr.action == Action.DELETE.value,
            func.lower(cr.ci_name) == name.lower(),
        )
        if class_name is not None:
            stmt = stmt.where(func.lower(cr.ci_class) == class_name.lower())
        with self._cmdb.read() as s:
            ids = sorted({i for i in s.scalars(stmt.distinct()) if i is not None})
        found = [self.deleted_ci(i) for i in ids]
        return [d for d in found if d is not None]

    def for_change(self, change_id: int) -> list[HistoryEntry]:
        """Everything that happened to a change record, newest first."""
        stmt = (
            select(ChangeRecord)
            .where(ChangeRecord.change_id == change_id, ChangeRecord.entity == Entity.CHANGE.value)
            .order_by(ChangeRecord.id.desc())
        )
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def count_for_ci(self, ci_id: int) -> int:
        """How many entries :meth:`for_ci` would return without a limit."""
        stmt = select(func.count()).where(
            or_(ChangeRecord.ci_id == ci_id, ChangeRecord.related_ci_id == ci_id)
        )
        with self._cmdb.read() as s:
            return int(s.scalar(stmt) or 0)

    def for_batch(self, batch_id: int) -> list[HistoryEntry]:
        stmt = (
            select(ChangeRecord).where(ChangeRecord.batch_id == batch_id).order_by(ChangeRecord.id)
        )
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def recent(self, limit: int = 100) -> list[HistoryEntry]:
        stmt = select(ChangeRecord).order_by(ChangeRecord.id.desc()).limit(limit)
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def model_changes(self, limit: int = 100) -> list[HistoryEntry]:
        """Changes of the data model (classes, attributes, relationship types), newest first."""
        stmt = (
            select(ChangeRecord)
            .where(ChangeRecord.entity == Entity.MODEL.value)
            .order_by(ChangeRecord.id.desc())
            .limit(limit)
        )
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def since(self, record_id: int, ci_ids: Iterable[int] | None = None) -> list[HistoryEntry]:
        """Records newer than ``record_id`` (optionally touching ``ci_ids``), oldest first."""
        stmt = select(ChangeRecord).where(ChangeRecord.id > record_id)
        if ci_ids is not None:
            ids = list(ci_ids)
            stmt = stmt.where(or_(ChangeRecord.ci_id.in_(ids), ChangeRecord.related_ci_id.in_(ids)))
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt.order_by(ChangeRecord.id))]
