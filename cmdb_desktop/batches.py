"""Batches: bulk writes recorded, listed and rolled back as a whole.

Every applied import (and other bulk operations: the demo, an audit's
"last verified" stamp) is one row of ``import_batch`` plus the history
records that carry its id. Two parts live here:

* :class:`BatchWriter` writes one batch inside a caller's write session with
  bulk statements (``executemany`` straight on the SQLite driver, Core
  ``executemany`` elsewhere): created CIs get one history record each
  (batch + sheet + row, no field-by-field snapshot, as PRODUCT.md §3
  allows), updates one record per changed field, relationships one each.
  Invariant: nothing is written outside the session it was given, so the
  batch commits or vanishes with that one transaction.
* :class:`BatchService` (``cmdb.batches``) lists batches and rolls one back:
  relationships it created are deleted, CIs it updated get their old values
  back (read from its history), CIs it created are deleted. The rollback is
  refused (:class:`~cmdb_desktop.errors.ConflictError`, exit code 3) only where
  it would undo or destroy something written after the batch that is still
  there — a field the batch wrote that holds another value now, a field of a
  CI it created that changed, a relationship added to (or removed from) a CI
  it created — and then the message names each CI, field, what the batch
  wrote and what it is now (:class:`RollbackConflict`). A later change that
  was undone, or that wrote the same value, is no conflict. The rollback is
  itself one transaction, recorded in the history with source ``"rollback"``
  and the batch's id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from cmdb_desktop.bulk import Bulk
from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.errors import ConflictError, NotFoundError, ValidationError
from cmdb_desktop.history import HistoryWriter, Source, current_user, relationship_text
from cmdb_desktop.items import GRAPH_FIELDS, CiRecord, chunks, record_from_row
from cmdb_desktop.metamodel import ClassInfo, Metamodel
from cmdb_desktop.models import (
    CiClass,
    ImportBatch,
    change_record_table,
    ci_table,
    relationship_table,
    utcnow,
)
from cmdb_desktop.progress import Progress
from cmdb_desktop.schema import CI_COLUMNS, CI_POSITION, CLASS, NAME, CiDiff, ClassSchema
from cmdb_desktop.values import to_text
from cmdb_desktop.vocabulary import Action, BatchKind, BatchStatus, ChangeSource, Entity

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

STATUS_APPLIED = BatchStatus.APPLIED
STATUS_ROLLED_BACK = BatchStatus.ROLLED_BACK
#: Key of ``import_batch.counts`` listing the attributes (``Class.key``) an import created.
ATTRIBUTES_CREATED = "attributes_created"

#: Rows per executemany call (keeps memory flat and progress moving).
_CHUNK = 20_000


@dataclass(frozen=True)
class BatchInfo:
    """One batch as listed: what, who, when, counts and whether it was rolled back."""

    id: int
    kind: str
    file: str | None
    sheets: list[str]
    user: str
    created_at: datetime
    counts: dict[str, Any]
    status: str
    rolled_back_at: datetime | None
    rolled_back_by: str | None
    mapping: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "file": self.file,
            "sheets": self.sheets,
            "user": self.user,
            "at": self.created_at.isoformat(timespec="seconds"),
            "counts": self.counts,
            "status": self.status,
            "rolled_back_at": (
                self.rolled_back_at.isoformat(timespec="seconds") if self.rolled_back_at else None
            ),
            "rolled_back_by": self.rolled_back_by,
        }


def _info(row: ImportBatch) -> BatchInfo:
    return BatchInfo(
        id=row.id,
        kind=row.kind,
        file=row.file,
        sheets=list(row.sheets or []),
        user=row.user,
        created_at=row.created_at,
        counts=dict(row.counts or {}),
        status=row.status,
        rolled_back_at=row.rolled_back_at,
        rolled_back_by=row.rolled_back_by,
        mapping=row.mapping,
    )


# -- bulk writing -------------------------------------------------------------------


@dataclass
class NewCi:
    """A CI to create: class, name, attribute values by key, and the row it came from."""

    class_id: int
    name: str
    values: dict[str, Any]
    sheet: str | None = None
    row: int | None = None


@dataclass
class CiChange:
    """Changes to one CI: ``changes`` maps field (attribute key, "name", "class") to
    (old, new); ``custom`` is the CI's whole new custom-attribute document when a
    custom attribute changed (None otherwise)."""

    ci_id: int
    class_id: int
    name: str
    changes: dict[str, tuple[Any, Any]]
    custom: dict[str, Any] | None = None
    sheet: str | None = None
    row: int | None = None


class NewRelationship(NamedTuple):
    """A relationship to create (source, type, target ids) and the row it came from."""

    source_id: int
    type_id: int
    target_id: int
    sheet: str | None = None
    row: int | None = None


@dataclass(frozen=True)
class StagedCis:
    """New CIs loaded into a TEMP table, ids ``first`` … ``first + count - 1``."""

    stage: str
    first: int
    count: int


class RelationshipBatch(NamedTuple):
    """New relationships as a JSON array of [source, type, target, sheet, row]."""

    payload: str
    size: int


_CI_COLUMNS = list(CI_COLUMNS)
_CI_POS = CI_POSITION
_REL_COLUMNS = ["id", "source_id", "type_id", "target_id", "created_at", "batch_id"]


class BatchWriter:
    """Writes one batch with bulk statements inside the caller's write session.

    Create the writer, call :meth:`create_cis`, :meth:`update_cis`,
    :meth:`create_relationships` in any order, then :meth:`finish`, all
    inside one ``with cmdb.write() as s:`` block. The caller notifies
    listeners with the returned summary after the commit.
    """

    def __init__(
        self,
        cmdb: Cmdb,
        session: Session,
        *,
        kind: str = BatchKind.IMPORT,
        file: str | None = None,
        sheets: Sequence[str] | None = None,
        mapping: dict[str, Any] | None = None,
        source_kind: str = ChangeSource.IMPORT,
        progress: Progress | None = None,
    ) -> None:
        self.cmdb = cmdb
        self.session = session
        self.meta = cmdb.meta
        self.progress = progress or Progress()
        self.now = utcnow()
        self.user = cmdb.user
        self.file = file
        batch = ImportBatch(
            kind=kind,
            file=file,
            sheets=list(sheets or []),
            mapping=mapping,
            user=self.user,
            created_at=self.now,
            counts={},
            status=BatchStatus.APPLIED,
        )
        session.add(batch)
        session.flush()
        self.batch = batch
        self.batch_id = int(batch.id)
        self.bulk = Bulk(session)
        self.sqlite = self.bulk.sqlite
        self.stamp = self.bulk.stamp(self.now)
        self.summary = ChangeSummary(batch_id=self.batch_id)
        self.history = HistoryWriter(
            session,
            self.user,
            Source(source_kind, batch_id=self.batch_id, file=file),
            at=self.now,
            bulk=self.bulk,
        )

    # -- CIs -----------------------------------------------------------------
    def _ci_rows(self, items: Sequence[NewCi], first: int | None) -> list[list[Any]]:
        p_id, p_class, p_name = _CI_POS["id"], _CI_POS["class_id"], _CI_POS["name"]
        p_created, p_updated, p_version = (
            _CI_POS["created_at"],
            _CI_POS["updated_at"],
            _CI_POS["version"],
        )
        text_storage = self.sqlite
        schemas: dict[int, ClassSchema] = {}
        rows: list[list[Any]] = []
        for n, item in enumerate(items):
            schema = schemas.get(item.class_id)
            if schema is None:
                schema = schemas[item.class_id] = self.meta.schema(
                    self.meta.class_by_id[item.class_id]
                )
            row = schema.encode_row(item.values, text_storage=text_storage)
            row[p_class] = item.class_id
            row[p_name] = item.name
            row[p_created] = row[p_updated] = self.stamp
            row[p_version] = 1
            if first is not None:
                row[p_id] = first + n
            rows.append(row)
        return rows

    def create_cis(
        self, items: Sequence[NewCi], *, done_before: int = 0, total: int = 0
    ) -> list[int]:
        """Insert CIs (ids assigned in order) with one history record each; returns the ids.

        History records of a bulk create hold no snapshot: they point at the
        batch, sheet and row the CI came from (PRODUCT.md §3).
        """
        if self.sqlite:
            staged = self.stage_cis(items, done_before=done_before, total=total)
            return self.insert_staged_cis(staged)
        ids: list[int] = []
        names = {c.id: c.name for c in self.meta.classes}
        for start in range(0, len(items), _CHUNK):
            part = items[start : start + _CHUNK]
            rows = self._ci_rows(part, None)
            new_ids = self.bulk.insert_returning_ids(
                ci_table, _CI_COLUMNS[1:], [r[1:] for r in rows]
            )
            for it, ci_id in zip(part, new_ids, strict=True):
                self.history.ci_created(
                    ci_id, names[it.class_id], it.name, None, where=(it.sheet, it.row)
                )
            self.history.flush()
            ids.extend(new_ids)
            self.progress.step(done_before + start + len(part), total)
        self.summary.created.extend(ids)
        return ids

    def stage_cis(
        self, items: Sequence[NewCi], *, done_before: int = 0, total: int = 0
    ) -> StagedCis:
        """SQLite: assign ids and load the new CIs into a TEMP table (the part that
        needs Python); :meth:`insert_staged_cis` then moves them in with two
        statements that run without the GIL, so another thread can work meanwhile."""
        first = self.bulk.next_id(ci_table)
        columns = [*_CI_COLUMNS, "src_sheet", "src_row"]
        stage = self.bulk.staged("ci", columns, [])
        for start in range(0, len(items), _CHUNK):
            part = items[start : start + _CHUNK]
            rows = self._ci_rows(part, first + start)
            for row, item in zip(rows, part, strict=True):
                row.append(item.sheet)
                row.append(item.row)
            self.bulk.append(stage, columns, rows)
            self.progress.step(done_before + start + len(part), total)
        return StagedCis(stage, first, len(items))

    def insert_staged_cis(self, staged: StagedCis) -> list[int]:
        self.progress.check()
        self.bulk.move_staged(staged.stage, ci_table, _CI_COLUMNS)
        recorded = self.history.cis_created_from(staged.stage)
        _check_references("CIs", recorded, staged.count)
        self.bulk.drop(staged.stage)
        ids = list(range(staged.first, staged.first + staged.count))
        self.summary.created.extend(ids)
        return ids

    def update_cis(
        self, items: Sequence[CiChange], *, done_before: int = 0, total: int = 0
    ) -> None:
        """Apply per-CI changes (grouped into one UPDATE per set of changed columns)."""
        meta = self.meta
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        history = self.history
        text_storage = self.sqlite
        for n, item in enumerate(items, start=1):
            info = meta.class_by_id[item.class_id]
            diff = CiDiff(item.changes, item.custom)
            sets = meta.schema(info).encode_changes(diff, text_storage=text_storage)
            cols = tuple(sorted(sets))
            groups.setdefault(cols, []).append((*(sets[c] for c in cols), self.stamp, item.ci_id))
            history.ci_changed(
                item.ci_id, info.name, item.name, item.changes, where=(item.sheet, item.row)
            )
            self.summary.updated.append(item.ci_id)
            self.summary.before[item.ci_id] = {k: v[0] for k, v in item.changes.items()}
            self.summary.after[item.ci_id] = {k: v[1] for k, v in item.changes.items()}
            if n % 5000 == 0:
                self.progress.step(done_before + n, total)
        moved_to = {item.class_id for item in items if CLASS in item.changes}
        if self.bulk.missing_ids(cast(Table, CiClass.__table__), moved_to):
            # The checks SQLite leaves to this writer (Cmdb.write(checked_bulk=True)).
            raise RuntimeError("a CI update names a class the CMDB does not have")
        for cols, rows in groups.items():
            for start in range(0, len(rows), _CHUNK):
                self.bulk.update_rows(ci_table, cols, rows[start : start + _CHUNK])
        history.flush()
        if any(GRAPH_FIELDS & item.changes.keys() for item in items):
            self.summary.graph_changed = True
        self.progress.step(done_before + len(items), total)

    # -- relationships ---------------------------------------------------------
    def create_relationships(
        self, items: Sequence[NewRelationship], *, done_before: int = 0, total: int = 0
    ) -> list[int]:
        """Insert relationships with one history record each; returns their ids."""
        ids: list[int] = []
        stamp, batch_id = self.stamp, self.batch_id
        for start in range(0, len(items), _CHUNK):
            part = items[start : start + _CHUNK]
            if self.sqlite:
                self.note_relationships(part)
                new_ids = self.insert_relationship_batch(self.relationship_batch(part))
            else:
                new_ids = self.bulk.insert_returning_ids(
                    relationship_table,
                    _REL_COLUMNS[1:],
                    [(r.source_id, r.type_id, r.target_id, stamp, batch_id) for r in part],
                )
                if self.bulk.dialect.name == "postgresql":
                    self.history.relationships_created_pg(
                        new_ids, [(r.sheet, r.row) for r in part]
                    )
                else:
                    self._relationship_history(part, new_ids)
                self.note_relationships(part)
                self.summary.relationships_created.extend(new_ids)
            ids.extend(new_ids)
            self.progress.step(done_before + start + len(part), total)
        return ids

    def note_relationships(self, items: Sequence[NewRelationship]) -> None:
        """Record in the summary whether these relationships move the impact graph."""
        if not self.summary.graph_changed:
            types = self.meta.relationship_type_by_id
            self.summary.graph_changed = any(types[r.type_id].propagates() for r in items)

    @staticmethod
    def relationship_batch(items: Sequence[NewRelationship]) -> RelationshipBatch:
        """SQLite: relationships as one JSON document (built in C), ready for
        :meth:`insert_relationship_batch`."""
        rows = [(r.source_id, r.type_id, r.target_id, r.sheet, r.row) for r in items]
        return RelationshipBatch(json.dumps(rows), len(rows))

    def insert_relationship_batch(self, batch: RelationshipBatch) -> list[int]:
        """SQLite: insert a :meth:`relationship_batch` (ids in order) and its history.

        Each step is one statement that SQLite runs without the GIL, none of
        them row by row from Python, so a helper thread can run this while the
        caller keeps working (nothing else may use the session meanwhile).
        """
        if not batch.size:
            return []
        first = self.bulk.next_id(relationship_table)
        # The id as INTEGER PRIMARY KEY: the statements below read the rows in id
        # order without sorting them.
        stage = self.bulk.stage_json_rows(
            "relationship",
            ["source_id", "type_id", "target_id", "src_sheet", "src_row"],
            first,
            batch.payload,
        )
        self.bulk.move_staged_with(
            stage,
            relationship_table,
            ["id", "source_id", "type_id", "target_id"],
            {"created_at": self.stamp, "batch_id": self.batch_id},
        )
        recorded = self.history.relationships_created_from(stage)
        _check_references("relationships", recorded, batch.size)
        self.bulk.drop(stage)
        ids = list(range(first, first + batch.size))
        self.summary.relationships_created.extend(ids)
        return ids

    def _relationship_history(self, part: Sequence[NewRelationship], ids: list[int]) -> None:
        meta = self.meta
        ends = {r.source_id for r in part} | {r.target_id for r in part}
        briefs = _brief_map(self.session, meta, ends)
        types = meta.relationship_type_by_id
        for rid, r in zip(ids, part, strict=True):
            self.history.relationship(
                Action.CREATE,
                rid,
                briefs[r.source_id],
                types[r.type_id].name,
                briefs[r.target_id],
                where=(r.sheet, r.row),
            )
        self.history.flush()

    def finish(self, counts: dict[str, Any]) -> ChangeSummary:
        """Record the counts and move the change counters (still inside the transaction)."""
        self.batch.counts = counts
        self.session.flush()
        self.cmdb.bump(self.session, graph=self.summary.graph_changed)
        return self.summary


def _check_references(what: str, recorded: int, written: int) -> None:
    """Every row inserted got its history record, so each one's class (CIs) or
    ends and type (relationships) exist: the history statement joins them. This
    is the check SQLite's foreign keys would make, for a whole batch at once
    (:meth:`cmdb_desktop.cmdb.Cmdb.write` turns those off with ``checked_bulk``)."""
    if recorded != written:
        raise RuntimeError(
            f"bulk write: {written - recorded} of {written} new {what} name a class, CI "
            "or relationship type the CMDB does not have"
        )


def _bind(name: str) -> Any:
    return bindparam(name)


# -- the service ------------------------------------------------------------------


class BatchService:
    """``cmdb.batches``: list batches, look one up, roll one back."""

    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    def list(self, *, limit: int | None = None) -> list[BatchInfo]:
        """Batches, newest first."""
        stmt = select(ImportBatch).order_by(ImportBatch.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._cmdb.read() as s:
            return [_info(b) for b in s.scalars(stmt)]

    def get(self, batch_id: int) -> BatchInfo:
        with self._cmdb.read() as s:
            row = s.get(ImportBatch, batch_id)
            if row is None:
                raise NotFoundError(f"No batch {batch_id}. `cmdb batches` lists them.")
            return _info(row)

    def note_created_attributes(self, batch_id: int, names: Sequence[str]) -> None:
        """Remember the attributes (``Class.key``) an import created for its unmapped
        columns, so rolling its batch back removes them too."""
        if not names:
            return
        with self._cmdb.write() as s:
            batch = s.get(ImportBatch, batch_id)
            if batch is None:
                raise NotFoundError(f"No batch {batch_id}.")
            batch.counts = {**(batch.counts or {}), ATTRIBUTES_CREATED: list(names)}

    def rollback(self, batch_id: int, *, progress: Progress | None = None) -> ChangeSummary:
        """Undo a whole batch in one transaction (ConflictError where that would undo a
        later change that is still there: see :meth:`_RollbackPlan.conflicts`)."""
        progress = progress or Progress()
        progress.start("Checking the batch")
        cmdb = self._cmdb
        meta = cmdb.meta
        with cmdb.write() as s:
            batch = s.get(ImportBatch, batch_id)
            if batch is None:
                raise NotFoundError(f"No batch {batch_id}. `cmdb batches` lists them.")
            if batch.status == STATUS_ROLLED_BACK:
                when = (
                    batch.rolled_back_at.isoformat(sep=" ", timespec="seconds")
                    if (batch.rolled_back_at)
                    else "earlier"
                )
                raise ConflictError(
                    f"Batch {batch_id} was already rolled back ({when} UTC by "
                    f"{batch.rolled_back_by or 'someone'}).",
                    {"batch": batch_id, "status": batch.status},
                )
            plan = _RollbackPlan.load(s, batch_id)
            progress.check()
            conflicts = plan.conflicts(s, meta)
            if conflicts:
                raise _refusal(batch_id, conflicts)
            # Relationships on CIs it created go with them, recorded one by one (a
            # relationship removed since and added again has a new id).
            plan.relationships = sorted(set(plan.relationships) | set(_touching(s, plan.created)))
            source = Source(ChangeSource.ROLLBACK, batch_id=batch_id, file=batch.file)
            history = HistoryWriter(s, cmdb.user, source)
            summary = ChangeSummary(batch_id=batch_id, graph_changed=True)
            total = len(plan.relationships) + len(plan.updates) + len(plan.created)
            progress.start("Rolling back", total)
            done = _delete_relationships(cmdb, s, plan.relationships, history, summary)
            progress.step(done, total)
            done += _restore_updates(cmdb, s, plan.updates, history, summary)
            progress.step(done, total)
            _delete_cis(cmdb, s, plan.created, history, summary, progress, done, total)
            # Attributes the import added for unmapped columns go with it (when unused).
            added = (batch.counts or {}).get(ATTRIBUTES_CREATED) or []
            if added and cmdb.classes.drop_unused_attributes(s, added, history):
                summary.catalogue_changed = True
                history.flush()  # the attributes' removal is history too (time travel undoes it)
            batch.status = STATUS_ROLLED_BACK
            batch.rolled_back_at = utcnow()
            batch.rolled_back_by = cmdb.user or current_user()
            s.flush()
            cmdb.bump(s, graph=True)
        cmdb.notify(summary)
        return summary


@dataclass
class _RollbackPlan:
    batch_id: int
    last_record: int
    created: list[int] = field(default_factory=list)
    updates: dict[int, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)
    relationships: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, s: Session, batch_id: int) -> _RollbackPlan:
        cr = change_record_table.c
        rows = s.execute(
            select(
                cr.id,
                cr.entity,
                cr.action,
                cr.ci_id,
                cr.relationship_id,
                cr.field,
                cr.old_value,
                cr.new_value,
            )
            .where(cr.batch_id == batch_id, cr.source != "rollback")
            .order_by(cr.id)
        ).all()
        plan = cls(batch_id, max((r.id for r in rows), default=0))
        rels: set[int] = set()
        for r in rows:
            if r.entity == "ci" and r.action == "create":
                plan.created.append(r.ci_id)
            elif r.entity == "ci" and r.action == "update":
                plan.updates.setdefault(r.ci_id, []).append((r.field, r.old_value, r.new_value))
            elif r.entity == "relationship" and r.action == "create":
                rels.add(r.relationship_id)
        # Bulk writers that keep no per-relationship history (the demo) still tag the rows.
        rels.update(
            s.scalars(
                select(relationship_table.c.id).where(relationship_table.c.batch_id == batch_id)
            )
        )
        plan.relationships = sorted(rels)
        created = set(plan.created)
        plan.updates = {k: v for k, v in plan.updates.items() if k not in created}
        return plan

    def conflicts(self, s: Session, meta: Metamodel) -> list[RollbackConflict]:
        """What rolling back would undo or destroy of the changes made after the batch.

        The value a later change found in a field is what the batch left there (every
        change is recorded), so for every field changed since: a CI the batch created
        conflicts when the field holds another value now (deleting the CI would lose
        it); a CI it updated, when the field is one the batch changed (restoring it
        would overwrite), or one the class the batch changed lacks (going back would
        clear it). The relationships of a CI it created must be the ones it created.
        A CI deleted since is left as it is (nothing of it is left to lose).
        """
        created = set(self.created)
        cis = created | set(self.updates)
        cr = change_record_table.c
        # per CI, field → what the batch left there (the old value of its first later change)
        found: dict[int, dict[str, str | None]] = {}
        stmt = (
            select(cr.ci_id, cr.field, cr.old_value)
            .where(
                cr.id > self.last_record,
                cr.entity == Entity.CI.value,
                cr.action == Action.UPDATE.value,
            )
            .order_by(cr.id)
            .execution_options(yield_per=10_000)
        )
        for ci_id, fld, old in s.execute(stmt):
            if ci_id in cis and fld is not None:
                found.setdefault(ci_id, {}).setdefault(fld, old)
        records = _records(s, meta, found)
        out: list[RollbackConflict] = []
        for ci_id, fields in found.items():
            record = records.get(ci_id)
            if record is None:
                continue
            wrote = {f: new for f, _old, new in self.updates.get(ci_id, [])}
            restored_class = _restored_class(meta, self.updates.get(ci_id))
            for fld, left in fields.items():
                now = _field_text(record, fld)
                if _same(now, left):
                    continue
                if ci_id in created:
                    why = "changed after the batch created the CI"
                elif fld in wrote:
                    why = "changed after the batch"
                elif (
                    restored_class is not None
                    and fld not in (NAME, CLASS)
                    and (fld not in meta.attribute_map(restored_class))
                ):
                    why = f"set after the batch; going back to {restored_class.name} clears it"
                else:
                    continue
                label = _field_label(meta, fld)
                out.append(RollbackConflict(ci_id, _label(record), fld, label, left, now, why))
        out.extend(self._relationship_conflicts(s, meta))
        out.sort(key=lambda c: (c.ci_id, c.field))
        return out

    def _relationship_conflicts(self, s: Session, meta: Metamodel) -> list[RollbackConflict]:
        """A CI the batch created must have exactly the relationships the batch gave
        it, compared as (source, type, target): one removed and added again is back."""
        created = set(self.created)
        if not created:
            return []
        rel = relationship_table.c
        cr = change_record_table.c
        # What the batch created: its rows still there (tagged with the batch), and
        # from its history those removed since.
        wrote: set[tuple[int, int, int]] = set()
        kept: set[int] = set()
        for rel_id, a, t, b in s.execute(
            select(rel.id, rel.source_id, rel.type_id, rel.target_id).where(
                rel.batch_id == self.batch_id
            )
        ):
            kept.add(rel_id)
            if a in created or b in created:
                wrote.add((a, t, b))
        for rel_id, a, type_name, b in s.execute(
            select(cr.relationship_id, cr.ci_id, cr.field, cr.related_ci_id).where(
                cr.batch_id == self.batch_id,
                cr.entity == Entity.RELATIONSHIP.value,
                cr.action == Action.CREATE.value,
            )
        ):
            if rel_id in kept or not (a in created or b in created):
                continue
            try:
                rtype, reverse = meta.relationship_type(type_name or "")
            except ValidationError:
                continue  # its type was deleted since, and every relationship of it
            wrote.add((b, rtype.id, a) if reverse else (a, rtype.id, b))
        now: set[tuple[int, int, int]] = set()
        for part in chunks(sorted(created)):
            now.update(
                (a, t, b)
                for a, t, b in s.execute(
                    select(rel.source_id, rel.type_id, rel.target_id).where(
                        rel.source_id.in_(part) | rel.target_id.in_(part)
                    )
                )
            )
        changed = sorted([(x, True) for x in now - wrote] + [(x, False) for x in wrote - now])
        names = _records(s, meta, {c for (a, _t, b), _ in changed for c in (a, b)})
        types = meta.relationship_type_by_id
        out: list[RollbackConflict] = []
        for (a, t, b), added in changed:
            if a not in names or b not in names:
                continue  # an end deleted since took the relationship with it
            text = relationship_text(names[a].name, types[t].name, names[b].name)
            ci = names[a] if a in created else names[b]
            if added:
                why = "added after the batch; deleting the CI would delete it"
                out.append(
                    RollbackConflict(
                        ci.id, _label(ci), "relationship", "Relationship", None, text, why
                    )
                )
            else:
                why = "created by the batch and removed since"
                out.append(
                    RollbackConflict(
                        ci.id, _label(ci), "relationship", "Relationship", text, None, why
                    )
                )
        return out


@dataclass(frozen=True)
class RollbackConflict:
    """One thing a rollback would undo or destroy: on CI ``ci_id`` (``ci`` names it),
    ``field`` (an attribute key, ``name``, ``class`` or ``relationship``) held
    ``wrote`` after the batch and holds ``now`` today (None: empty, or no such
    relationship); ``why`` says what the rollback would do to it."""

    ci_id: int
    ci: str
    field: str
    label: str
    wrote: str | None
    now: str | None
    why: str

    def describe(self) -> str:
        return (
            f"{self.ci}: {self.label} — the batch wrote {_shown(self.wrote)}, "
            f"it is now {_shown(self.now)} ({self.why})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ci": self.ci_id,
            "name": self.ci,
            "field": self.field,
            "batch_value": self.wrote,
            "current_value": self.now,
            "reason": self.why,
        }


def _shown(text: str | None) -> str:
    return "(nothing)" if text is None else repr(text)


def _same(a: str | None, b: str | None) -> bool:
    return (a or None) == (b or None)


def _field_text(record: CiRecord, fld: str) -> str | None:
    """A field of a CI as the history words it (see HistoryWriter)."""
    if fld == CLASS:
        return record.class_name
    if fld == NAME:
        return record.name
    value = record.values.get(fld)
    return to_text(value) if value is not None else None


def _field_label(meta: Metamodel, fld: str) -> str:
    if fld in (NAME, CLASS):
        return fld.capitalize()
    attr = meta.all_attribute_keys.get(fld)
    return attr.label if attr is not None else fld


def _label(record: CiRecord) -> str:
    return f"{record.class_name}/{record.name} (#{record.id})"


def _restored_class(
    meta: Metamodel, changes: list[tuple[str, str | None, str | None]] | None
) -> ClassInfo | None:
    """The class a rollback gives back to a CI whose class the batch changed."""
    if not changes:
        return None
    for fld, old, _new in changes:
        if fld == CLASS and old:
            return meta.find_class(old)
    return None


def _records(s: Session, meta: Metamodel, ids: Iterable[int]) -> dict[int, CiRecord]:
    out: dict[int, CiRecord] = {}
    for part in chunks(sorted(set(ids))):
        for row in s.execute(select(ci_table).where(ci_table.c.id.in_(part))):
            out[row.id] = record_from_row(meta, row)
    return out


def _touching(s: Session, ci_ids: Sequence[int]) -> list[int]:
    """Ids of the relationships that have one of ``ci_ids`` at either end."""
    rel = relationship_table.c
    out: list[int] = []
    for part in chunks(sorted(ci_ids)):
        out.extend(
            s.scalars(select(rel.id).where(rel.source_id.in_(part) | rel.target_id.in_(part)))
        )
    return out


#: Conflicts named in a refusal's message (the details list them all).
_LISTED = 20


def _refusal(batch_id: int, conflicts: Sequence[RollbackConflict]) -> ConflictError:
    """The refusal: one line per conflict (CI, field, what the batch wrote, what it is now)."""
    cis = sorted({c.ci_id for c in conflicts})
    lines = [f"  {c.describe()}" for c in conflicts[:_LISTED]]
    if len(conflicts) > _LISTED:
        lines.append(f"  … and {len(conflicts) - _LISTED} more (--format json lists all)")
    what = f"{len(cis)} of its CI{'s' if len(cis) != 1 else ''}"
    return ConflictError(
        f"Batch {batch_id} cannot be rolled back: {what} changed after it, and rolling back "
        "would undo that:\n" + "\n".join(lines) + "\nNothing was changed. Put back what the "
        "batch wrote (`cmdb set`, `cmdb relate` / `unrelate`, or undo in the desktop app), "
        "then roll back again; or keep the batch.",
        {"batch": batch_id, "cis": cis, "conflicts": [c.to_json() for c in conflicts]},
    )


def _brief_map(s: Session, meta: Metamodel, ids: Iterable[int]) -> dict[int, tuple[int, str, str]]:
    ci = ci_table.c
    out: dict[int, tuple[int, str, str]] = {}
    for part in chunks(ids):
        for ci_id, class_id, name in s.execute(
            select(ci.id, ci.class_id, ci.name).where(ci.id.in_(part))
        ):
            out[ci_id] = (ci_id, meta.class_by_id[class_id].name, name)
    return out


def _delete_relationships(
    cmdb: Cmdb, s: Session, rel_ids: list[int], history: HistoryWriter, summary: ChangeSummary
) -> int:
    meta = cmdb.meta
    rel = relationship_table.c
    rows: list[Any] = []
    for part in chunks(rel_ids):
        rows.extend(
            s.execute(
                select(rel.id, rel.source_id, rel.type_id, rel.target_id).where(rel.id.in_(part))
            ).all()
        )
    briefs = _brief_map(s, meta, {r.source_id for r in rows} | {r.target_id for r in rows})
    for part in chunks([r.id for r in rows]):
        s.execute(relationship_table.delete().where(rel.id.in_(part)))
    for r in rows:
        type_name = meta.relationship_type_by_id[r.type_id].name
        history.relationship(
            Action.DELETE, r.id, briefs[r.source_id], type_name, briefs[r.target_id]
        )
        summary.relationships_deleted.append(r.id)
    history.flush()
    return len(rel_ids)


def _restore_updates(
    cmdb: Cmdb,
    s: Session,
    updates: dict[int, list[tuple[str, str | None, str | None]]],
    history: HistoryWriter,
    summary: ChangeSummary,
) -> int:
    """Put back the old value of every field the batch changed (newest change undone first)."""
    meta = cmdb.meta
    ci = ci_table.c
    for part in chunks(list(updates)):
        for row in s.execute(select(ci_table).where(ci.id.in_(part))).all():
            current = record_from_row(meta, row)
            old_class = meta.class_by_id[current.class_id]
            texts: dict[str, str | None] = {}
            for fld, old, _new in reversed(updates[current.id]):
                texts[fld] = old
            class_text = texts.get(CLASS)
            restored_class = meta.get_class(class_text) if class_text else old_class
            name = texts.get(NAME) or current.name
            schema = meta.schema(restored_class)
            restored: dict[str, Any] = {}
            for fld, text in texts.items():
                attr = schema.by_key.get(fld)
                if attr is not None:
                    restored[fld] = schema.coerce(attr, text) if text is not None else None
            state = {k: current.values.get(k) for k in schema.by_key} | restored
            sets = schema.encode(
                state, clear_from=old_class if old_class.id != restored_class.id else None
            )
            sets.update(
                class_id=restored_class.id, name=name, updated_at=utcnow(), version=ci.version + 1
            )
            s.execute(update(ci_table).where(ci.id == current.id).values(**sets))
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            for fld, text in texts.items():
                now_value = current.class_name if fld == CLASS else current.get(fld)
                history.ci_updated(current.id, restored_class.name, name, fld, now_value, text)
                before[fld] = now_value
                after[fld] = restored.get(fld, text)
            summary.updated.append(current.id)
            summary.before[current.id] = before
            summary.after[current.id] = after
    history.flush()
    return len(updates)


def _delete_cis(
    cmdb: Cmdb,
    s: Session,
    ids: list[int],
    history: HistoryWriter,
    summary: ChangeSummary,
    progress: Progress,
    done: int,
    total: int,
) -> None:
    meta = cmdb.meta
    ci = ci_table.c
    rel = relationship_table.c
    for n, part in enumerate(chunks(ids), start=1):
        records = [
            record_from_row(meta, r) for r in s.execute(select(ci_table).where(ci.id.in_(part)))
        ]
        # Their relationships were deleted (and recorded) before, with the batch's own.
        s.execute(
            relationship_table.delete().where(rel.source_id.in_(part) | rel.target_id.in_(part))
        )
        s.execute(ci_table.delete().where(ci.id.in_(part)))
        for rec in records:
            history.ci_deleted(rec.id, rec.class_name, rec.name, rec.values)
            summary.deleted.append(rec.id)
        if len(history.rows) >= _CHUNK:
            history.flush()
        progress.step(done + n * 500, total)
    history.flush()


def batch_mapping_json(mapping: dict[str, Any] | None) -> str:
    """The mapping stored with a batch, as readable JSON text (for the batches view)."""
    return json.dumps(mapping or {}, indent=2, ensure_ascii=False)
