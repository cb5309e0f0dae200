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
  back (read from its history), CIs it created are deleted. If any later
  change touched those CIs or relationships, the rollback is refused with a
  :class:`~cmdb_desktop.errors.ConflictError` (exit code 3) naming them. The
  rollback is itself one transaction, recorded in the history with source
  ``"rollback"`` and the batch's id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.errors import ConflictError, NotFoundError
from cmdb_desktop.history import Source, current_user, snapshot_text
from cmdb_desktop.items import GRAPH_FIELDS, chunks, record_from_row
from cmdb_desktop.metamodel import Metamodel
from cmdb_desktop.models import (
    ChangeRecord,
    ImportBatch,
    change_record_table,
    ci_table,
    relationship_table,
    utcnow,
)
from cmdb_desktop.progress import Progress
from cmdb_desktop.values import coerce, to_storage, to_text

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

STATUS_APPLIED = "applied"
STATUS_ROLLED_BACK = "rolled_back"

#: Rows per executemany call (keeps memory flat and progress moving).
_CHUNK = 20_000

_HISTORY_COLUMNS = (
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


class _Bulk:
    """Bulk statements: ``executemany`` on the SQLite driver, Core elsewhere.

    On SQLite, rows arrive in storage form (dates as ISO text, JSON as text,
    timestamps as the ORM's text), and inserts go through a TEMP staging
    table and one ``INSERT … SELECT``: the FTS triggers then run inside a
    single statement instead of one per row, several times faster.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        conn = session.connection()
        self.dialect = conn.dialect
        self.sqlite = conn.dialect.name == "sqlite"
        self._conn = conn

    def stamp(self, value: datetime) -> Any:
        """A timestamp as the ORM stores it (text on SQLite)."""
        if not self.sqlite:
            return value
        proc = change_record_table.c.at.type.dialect_impl(self.dialect).bind_processor(self.dialect)
        return proc(value) if proc is not None else value

    def _cursor(self) -> Any:
        return self._conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        staged: bool = False,
    ) -> None:
        if not rows:
            return
        if not self.sqlite:
            self._conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
            return
        cols = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        cursor = self._cursor()
        try:
            if not staged:
                cursor.executemany(f"INSERT INTO main.{table.name} ({cols}) VALUES ({marks})", rows)
                return
            stage = f"temp.stage_{table.name}"
            cursor.execute(f"DROP TABLE IF EXISTS {stage}")
            cursor.execute(f"CREATE TABLE {stage} AS SELECT {cols} FROM main.{table.name} WHERE 0")
            try:
                cursor.executemany(f"INSERT INTO {stage} VALUES ({marks})", rows)
                cursor.execute(f"INSERT INTO main.{table.name} ({cols}) SELECT {cols} FROM {stage}")
            finally:
                cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        finally:
            cursor.close()

    def staged(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """Load rows into a fresh TEMP table (SQLite) and return its name.

        A first column ``id`` is the table's INTEGER PRIMARY KEY: rows read
        back ``ORDER BY id`` then come in key order without a sort.
        """
        stage = f"temp.stage_{name}"
        cursor = self._cursor()
        try:
            cursor.execute(f"DROP TABLE IF EXISTS {stage}")
            defs = [
                f"{c} INTEGER PRIMARY KEY" if n == 0 and c == "id" else c
                for n, c in enumerate(columns)
            ]
            cursor.execute(f"CREATE TABLE {stage} ({', '.join(defs)})")
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {stage} VALUES ({marks})", rows)
        finally:
            cursor.close()
        return stage

    def append(self, stage: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cursor = self._cursor()
        try:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {stage} VALUES ({marks})", rows)
        finally:
            cursor.close()

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        cursor = self._cursor()
        try:
            cursor.execute(sql, params)
        finally:
            cursor.close()

    def insert_returning_ids(
        self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> list[int]:
        """Insert without ids (other databases: their sequences assign them), in order."""
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        result = self._conn.execute(stmt, [dict(zip(columns, r, strict=True)) for r in rows])
        return [int(r[0]) for r in result]

    def execute(
        self, sql_sqlite: str, stmt: Any, rows: list[tuple[Any, ...]], keys: list[str]
    ) -> None:
        """Run one parameterised statement for many rows (values in storage form)."""
        if not rows:
            return
        if self.sqlite:
            cursor = self._cursor()
            try:
                cursor.executemany(sql_sqlite, rows)
            finally:
                cursor.close()
        else:
            self._conn.execute(stmt, [dict(zip(keys, r, strict=True)) for r in rows])

    def next_id(self, table: Table) -> int:
        """The id SQLite's AUTOINCREMENT would hand out next (valid inside this write)."""
        conn = self._conn
        top = conn.exec_driver_sql(f"SELECT max(id) FROM {table.name}").scalar() or 0
        seq = conn.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)
        ).scalar()
        return int(max(top, seq or 0)) + 1


class RelationshipBatch(NamedTuple):
    """New relationships as a JSON array of [source, type, target, sheet, row]."""

    payload: str
    size: int


_CI_COLUMNS = [c.name for c in ci_table.c]
_CI_POS = {name: i for i, name in enumerate(_CI_COLUMNS)}
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
        kind: str = "import",
        file: str | None = None,
        sheets: Sequence[str] | None = None,
        mapping: dict[str, Any] | None = None,
        source_kind: str = "import",
        progress: Progress | None = None,
    ) -> None:
        self.cmdb = cmdb
        self.session = session
        self.meta = cmdb.meta
        self.progress = progress or Progress()
        self.now = utcnow()
        self.user = cmdb.user
        self.file = file
        self.source_kind = source_kind
        batch = ImportBatch(
            kind=kind,
            file=file,
            sheets=list(sheets or []),
            mapping=mapping,
            user=self.user,
            created_at=self.now,
            counts={},
            status=STATUS_APPLIED,
        )
        session.add(batch)
        session.flush()
        self.batch = batch
        self.batch_id = int(batch.id)
        self.bulk = _Bulk(session)
        self.sqlite = self.bulk.sqlite
        self.stamp = self.bulk.stamp(self.now)
        self.summary = ChangeSummary(batch_id=self.batch_id)
        self.request_id = str(uuid.uuid4())
        # The columns every history row of this batch shares.
        self._who = (
            self.stamp,
            self.user,
            self.source_kind,
            self.request_id,
            self.batch_id,
            self.file,
        )
        self._layouts: dict[int, dict[str, tuple[int | None, bool, Any]]] = {}

    def _layout(self, class_id: int) -> dict[str, tuple[int | None, bool, Any]]:
        """Attribute key → (ci column position or None for custom, is a date, attribute)."""
        found = self._layouts.get(class_id)
        if found is None:
            found = {}
            for attr in self.meta.attributes_of(self.meta.class_by_id[class_id]):
                pos = _CI_POS[attr.column] if attr.column is not None else None
                found[attr.key] = (pos, attr.type == "date", attr)
            self._layouts[class_id] = found
        return found

    def _storage(self, value: Any, is_date: bool) -> Any:
        if self.sqlite and is_date and value is not None:
            return value.isoformat()
        return value

    def _json(self, document: dict[str, Any] | None) -> Any:
        if not document:
            return None
        return json.dumps(document) if self.sqlite else document

    # -- CIs -----------------------------------------------------------------
    def _ci_rows(self, items: Sequence[NewCi], first: int | None) -> list[list[Any]]:
        width = len(_CI_COLUMNS)
        p_id, p_class, p_name = _CI_POS["id"], _CI_POS["class_id"], _CI_POS["name"]
        p_attrs, p_created = _CI_POS["attributes"], _CI_POS["created_at"]
        p_updated, p_version = _CI_POS["updated_at"], _CI_POS["version"]
        sqlite = self.sqlite
        rows: list[list[Any]] = []
        for n, item in enumerate(items):
            layout = self._layout(item.class_id)
            row: list[Any] = [None] * width
            custom: dict[str, Any] | None = None
            for key, value in item.values.items():
                if value is None:
                    continue
                pos, is_date, attr = layout[key]
                if pos is None:
                    if custom is None:
                        custom = {}
                    custom[key] = to_storage(attr, value)
                elif is_date and sqlite:
                    row[pos] = value.isoformat()
                else:
                    row[pos] = value
            row[p_class] = item.class_id
            row[p_name] = item.name
            row[p_attrs] = self._json(custom)
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
            self.bulk.insert(
                change_record_table,
                _HISTORY_COLUMNS,
                [
                    (*self._who, it.sheet, it.row, "ci", "create", ci_id)
                    + (names[it.class_id], it.name, None, None, None, None, None)
                    for it, ci_id in zip(part, new_ids, strict=True)
                ],
            )
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
        cols = ", ".join(_CI_COLUMNS)
        self.progress.check()
        self.bulk.run(f"INSERT INTO main.ci ({cols}) SELECT {cols} FROM {staged.stage}")
        self.bulk.run(
            f"INSERT INTO main.change_record ({', '.join(_HISTORY_COLUMNS)}) "
            "SELECT ?, ?, ?, ?, ?, ?, s.src_sheet, s.src_row, 'ci', 'create', s.id, "
            "c.name, s.name, NULL, NULL, NULL, NULL, NULL "
            f"FROM {staged.stage} s JOIN main.ci_class c ON c.id = s.class_id ORDER BY s.id",
            self._who,
        )
        self.bulk.run(f"DROP TABLE {staged.stage}")
        ids = list(range(staged.first, staged.first + staged.count))
        self.summary.created.extend(ids)
        return ids

    def update_cis(
        self, items: Sequence[CiChange], *, done_before: int = 0, total: int = 0
    ) -> None:
        """Apply per-CI changes (grouped into one UPDATE per set of changed columns)."""
        meta = self.meta
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        history: list[tuple[Any, ...]] = []
        all_attrs = meta.all_attribute_keys
        who = self._who
        for n, item in enumerate(items, start=1):
            info = meta.class_by_id[item.class_id]
            own = meta.attribute_map(info)
            sets: dict[str, Any] = {}
            for key, (_old, new) in item.changes.items():
                if key == "class":
                    sets["class_id"] = item.class_id
                elif key == "name":
                    sets["name"] = item.name
                else:
                    attr = own.get(key) or all_attrs[key]
                    if attr.column is not None:
                        sets[attr.column] = self._storage(new, attr.type == "date")
            if item.custom is not None:
                sets["attributes"] = self._json(item.custom)
            cols = tuple(sorted(sets))
            groups.setdefault(cols, []).append((*(sets[c] for c in cols), self.stamp, item.ci_id))
            for key, (old, new) in item.changes.items():
                history.append(
                    (
                        *who,
                        item.sheet,
                        item.row,
                        "ci",
                        "update",
                        item.ci_id,
                        info.name,
                        item.name,
                        None,
                        None,
                        key,
                        to_text(old) if old is not None else None,
                        to_text(new) if new is not None else None,
                    )
                )
            self.summary.updated.append(item.ci_id)
            self.summary.before[item.ci_id] = {k: v[0] for k, v in item.changes.items()}
            self.summary.after[item.ci_id] = {k: v[1] for k, v in item.changes.items()}
            if n % 5000 == 0:
                self.progress.step(done_before + n, total)
        for cols, rows in groups.items():
            assignments = ", ".join(f"{c} = ?" for c in cols)
            sql = f"UPDATE ci SET {assignments}, updated_at = ?, version = version + 1 WHERE id = ?"
            stmt = (
                update(ci_table)
                .where(ci_table.c.id == _bind("b_id"))
                .values(
                    {c: _bind(f"b_{c}") for c in cols}
                    | {"updated_at": _bind("b_updated_at"), "version": ci_table.c.version + 1}
                )
            )
            keys = [f"b_{c}" for c in cols] + ["b_updated_at", "b_id"]
            for start in range(0, len(rows), _CHUNK):
                self.bulk.execute(sql, stmt, rows[start : start + _CHUNK], keys)
        for start in range(0, len(history), _CHUNK):
            self.bulk.insert(change_record_table, _HISTORY_COLUMNS, history[start : start + _CHUNK])
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
        stage = "temp.stage_relationship"
        self.bulk.run(f"DROP TABLE IF EXISTS {stage}")
        # The id as INTEGER PRIMARY KEY: the statements below read the rows in id
        # order without sorting them. Only integers and text travel through JSON
        # here, so nothing is rounded.
        self.bulk.run(
            f"CREATE TABLE {stage} (id INTEGER PRIMARY KEY, source_id, type_id, target_id, "
            "src_sheet, src_row)"
        )
        self.bulk.run(
            f"INSERT INTO {stage} SELECT ? + key, value ->> 0, value ->> 1, value ->> 2, "
            "value ->> 3, value ->> 4 FROM json_each(?)",
            (first, batch.payload),
        )
        self.bulk.run(
            f"INSERT INTO main.relationship ({', '.join(_REL_COLUMNS)}) "
            f"SELECT id, source_id, type_id, target_id, ?, ? FROM {stage} ORDER BY id",
            (self.stamp, self.batch_id),
        )
        # The history names both ends and the type, as the item service does.
        self.bulk.run(
            f"INSERT INTO main.change_record ({', '.join(_HISTORY_COLUMNS)}) "
            "SELECT ?, ?, ?, ?, ?, ?, r.src_sheet, r.src_row, 'relationship', 'create', "
            "r.source_id, sc.name, s.name, r.target_id, r.id, t.name, NULL, "
            "s.name || ' ' || t.name || ' ' || d.name "
            f"FROM {stage} r JOIN main.ci s ON s.id = r.source_id "
            "JOIN main.ci d ON d.id = r.target_id "
            "JOIN main.ci_class sc ON sc.id = s.class_id "
            "JOIN main.relationship_type t ON t.id = r.type_id ORDER BY r.id",
            self._who,
        )
        self.bulk.run(f"DROP TABLE {stage}")
        ids = list(range(first, first + batch.size))
        self.summary.relationships_created.extend(ids)
        return ids

    def _relationship_history(self, part: Sequence[NewRelationship], ids: list[int]) -> None:
        meta = self.meta
        ends = {r.source_id for r in part} | {r.target_id for r in part}
        briefs = _brief_map(self.session, meta, ends)
        types = meta.relationship_type_by_id
        rows = []
        for rid, r in zip(ids, part, strict=True):
            src, dst, type_name = briefs[r.source_id], briefs[r.target_id], types[r.type_id].name
            rows.append(
                (*self._who, r.sheet, r.row, "relationship", "create", src[0], src[1], src[2])
                + (dst[0], rid, type_name, None, f"{src[2]} {type_name} {dst[2]}")
            )
        self.bulk.insert(change_record_table, _HISTORY_COLUMNS, rows)

    def finish(self, counts: dict[str, Any]) -> ChangeSummary:
        """Record the counts and move the change counters (still inside the transaction)."""
        self.batch.counts = counts
        self.session.flush()
        self.cmdb.bump(self.session, graph=self.summary.graph_changed)
        return self.summary


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

    def rollback(self, batch_id: int, *, progress: Progress | None = None) -> ChangeSummary:
        """Undo a whole batch in one transaction (ConflictError if later edits touched it)."""
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
            conflicts = plan.conflicts(s)
            if conflicts:
                _refuse(s, meta, batch_id, conflicts)
            source = Source("rollback", batch_id=batch_id, file=batch.file)
            summary = ChangeSummary(batch_id=batch_id, graph_changed=True)
            total = len(plan.relationships) + len(plan.updates) + len(plan.created)
            progress.start("Rolling back", total)
            done = _delete_relationships(cmdb, s, plan.relationships, source, summary)
            progress.step(done, total)
            done += _restore_updates(cmdb, s, plan.updates, source, summary)
            progress.step(done, total)
            _delete_cis(cmdb, s, plan.created, source, summary, progress, done, total)
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

    def conflicts(self, s: Session) -> dict[int, int]:
        """CI id → first later record that touched it (CIs or relationships of this batch)."""
        cis = set(self.created) | set(self.updates)
        rels = set(self.relationships)
        cr = change_record_table.c
        # A batch rolled back since is as if it never happened: neither its
        # records nor those of its rollback count as later edits.
        undone = set(
            s.scalars(select(ImportBatch.id).where(ImportBatch.status == STATUS_ROLLED_BACK))
        )
        undone.add(self.batch_id)
        found: dict[int, int] = {}
        stmt = (
            select(cr.id, cr.ci_id, cr.related_ci_id, cr.relationship_id, cr.batch_id)
            .where(cr.id > self.last_record)
            .order_by(cr.id)
            .execution_options(yield_per=10_000)
        )
        for rec_id, ci_id, related, rel_id, batch in s.execute(stmt):
            if batch in undone:
                continue
            hit_rel = rel_id is not None and rel_id in rels
            for ci in (ci_id, related):
                if ci is not None and (ci in cis or hit_rel):
                    found.setdefault(ci, rec_id)
        return found


def _refuse(s: Session, meta: Metamodel, batch_id: int, conflicts: dict[int, int]) -> None:
    ci = ci_table.c
    names: dict[int, str] = {}
    cr = change_record_table.c
    for part in chunks(list(conflicts)[:50]):
        for ci_id, class_id, name in s.execute(
            select(ci.id, ci.class_id, ci.name).where(ci.id.in_(part))
        ):
            names[ci_id] = f"{meta.class_by_id[class_id].name}/{name} (#{ci_id})"
        for _rec, ci_id, ci_class, ci_name in s.execute(
            select(cr.id, cr.ci_id, cr.ci_class, cr.ci_name).where(cr.ci_id.in_(part))
        ):
            names.setdefault(ci_id, f"{ci_class}/{ci_name} (#{ci_id})")
    listed = [names.get(c, f"#{c}") for c in list(conflicts)[:20]]
    more = f" and {len(conflicts) - 20} more" if len(conflicts) > 20 else ""
    raise ConflictError(
        f"Batch {batch_id} cannot be rolled back: {len(conflicts)} of its CIs were changed "
        f"after it: {', '.join(listed)}{more}. Undo those later changes first (their history "
        "shows them), then roll back again.",
        {"batch": batch_id, "cis": sorted(conflicts)},
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


def _history_rows(
    cmdb: Cmdb, source: Source
) -> tuple[Callable[..., dict[str, Any]], list[dict[str, Any]]]:
    now = utcnow()
    request = str(uuid.uuid4())
    rows: list[dict[str, Any]] = []

    def add(entity: str, action: str, **kw: Any) -> dict[str, Any]:
        row = {
            "at": now,
            "user": cmdb.user,
            "source": source.kind,
            "request_id": request,
            "batch_id": source.batch_id,
            "file": source.file,
            "sheet": None,
            "row": None,
            "entity": entity,
            "action": action,
            "ci_id": None,
            "ci_class": None,
            "ci_name": None,
            "related_ci_id": None,
            "relationship_id": None,
            "field": None,
            "old_value": None,
            "new_value": None,
        }
        row.update(kw)
        rows.append(row)
        return row

    return add, rows


def _flush_history(s: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        s.execute(insert(ChangeRecord), rows[start : start + _CHUNK])
    rows.clear()


def _delete_relationships(
    cmdb: Cmdb, s: Session, rel_ids: list[int], source: Source, summary: ChangeSummary
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
    add, history = _history_rows(cmdb, source)
    for part in chunks([r.id for r in rows]):
        s.execute(relationship_table.delete().where(rel.id.in_(part)))
    for r in rows:
        type_name = meta.relationship_type_by_id[r.type_id].name
        src, dst = briefs[r.source_id], briefs[r.target_id]
        add(
            "relationship",
            "delete",
            ci_id=src[0],
            ci_class=src[1],
            ci_name=src[2],
            related_ci_id=dst[0],
            relationship_id=r.id,
            field=type_name,
            old_value=f"{src[2]} {type_name} {dst[2]}",
        )
        summary.relationships_deleted.append(r.id)
    _flush_history(s, history)
    return len(rel_ids)


def _restore_updates(
    cmdb: Cmdb,
    s: Session,
    updates: dict[int, list[tuple[str, str | None, str | None]]],
    source: Source,
    summary: ChangeSummary,
) -> int:
    """Put back the old value of every field the batch changed (newest change undone first)."""
    meta = cmdb.meta
    add, history = _history_rows(cmdb, source)
    ci = ci_table.c
    for part in chunks(list(updates)):
        for row in s.execute(select(ci_table).where(ci.id.in_(part))).all():
            current = record_from_row(meta, row)
            old_class = meta.class_by_id[row.class_id]
            restored_class = old_class
            name = row.name
            texts: dict[str, str | None] = {}
            for fld, old, _new in reversed(updates[row.id]):
                texts[fld] = old
            if "class" in texts and texts["class"]:
                restored_class = meta.get_class(texts["class"])
            if "name" in texts and texts["name"]:
                name = texts["name"]
            attrs = meta.all_attribute_keys | meta.attribute_map(restored_class)
            values: dict[str, Any] = {}
            custom = dict(row.attributes or {})
            custom_changed = False
            sets: dict[str, Any] = {}
            for fld, text in texts.items():
                if fld in ("class", "name"):
                    continue
                attr = attrs.get(fld)
                if attr is None:
                    continue
                value = coerce(attr, text) if text is not None else None
                values[fld] = value
                if attr.column is not None:
                    sets[attr.column] = value
                else:
                    custom_changed = True
                    if value is None:
                        custom.pop(fld, None)
                    else:
                        custom[fld] = to_storage(attr, value)
            if custom_changed:
                sets["attributes"] = custom or None
            sets.update(
                class_id=restored_class.id,
                name=name,
                updated_at=utcnow(),
                version=ci.version + 1,
            )
            s.execute(update(ci_table).where(ci.id == row.id).values(**sets))
            before: dict[str, Any] = {}
            after: dict[str, Any] = {}
            for fld, text in texts.items():
                now_value = current.get(fld) if fld != "class" else current.class_name
                now_text = to_text(now_value) if now_value is not None else None
                add(
                    "ci",
                    "update",
                    ci_id=row.id,
                    ci_class=restored_class.name,
                    ci_name=name,
                    field=fld,
                    old_value=now_text,
                    new_value=text,
                )
                before[fld] = now_value
                after[fld] = values.get(fld, text)
            summary.updated.append(row.id)
            summary.before[row.id] = before
            summary.after[row.id] = after
    _flush_history(s, history)
    return len(updates)


def _delete_cis(
    cmdb: Cmdb,
    s: Session,
    ids: list[int],
    source: Source,
    summary: ChangeSummary,
    progress: Progress,
    done: int,
    total: int,
) -> None:
    meta = cmdb.meta
    add, history = _history_rows(cmdb, source)
    ci = ci_table.c
    rel = relationship_table.c
    for n, part in enumerate(chunks(ids), start=1):
        records = [
            record_from_row(meta, r) for r in s.execute(select(ci_table).where(ci.id.in_(part)))
        ]
        # Relationships still touching them were made by this batch (others are conflicts).
        s.execute(
            relationship_table.delete().where(rel.source_id.in_(part) | rel.target_id.in_(part))
        )
        s.execute(ci_table.delete().where(ci.id.in_(part)))
        for rec in records:
            add(
                "ci",
                "delete",
                ci_id=rec.id,
                ci_class=rec.class_name,
                ci_name=rec.name,
                old_value=snapshot_text({"name": rec.name, **rec.values}),
            )
            summary.deleted.append(rec.id)
        if len(history) >= _CHUNK:
            _flush_history(s, history)
        progress.step(done + n * 500, total)
    _flush_history(s, history)


def batch_mapping_json(mapping: dict[str, Any] | None) -> str:
    """The mapping stored with a batch, as readable JSON text (for the batches view)."""
    return json.dumps(mapping or {}, indent=2, ensure_ascii=False)
