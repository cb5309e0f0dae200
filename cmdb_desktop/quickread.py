"""A CMDB file read through SQLite's own driver, for a small command that must
start fast (issue 20, PRODUCT.md §7: ``cmdb show`` within 6× a bare Python).

Importing SQLAlchemy alone costs a small command about twelve times the bare
interpreter, so ``show`` reads a SQLite CMDB of the current schema revision with
:mod:`sqlite3` alone. Only the queries are this module's: what a file is before
it is opened comes from :func:`cmdb_desktop.sqlite_file.examine` (a foreign,
damaged or unreadable file is refused with the same messages), the catalogue
from :meth:`Metamodel.from_driver`, the decoding of a row from the class's
schema (:func:`cmdb_desktop.records.record_from_row`), references from
:func:`~cmdb_desktop.records.resolve_reference` and the order of
relationships from :func:`~cmdb_desktop.records.relationship_views`, the same
functions the services call. Anything else — a database URL, a file of an
older revision (which opening would upgrade), a file that does not exist yet,
a moment in the past — is left to :class:`~cmdb_desktop.cmdb.Cmdb`:
:meth:`QuickReader.open` returns None for it.

It never writes: the connection runs with ``PRAGMA query_only``, and a file
or folder we may not write is read through SQLite's read-only URI.
``tests/cmdb_desktop/test_quickread.py`` compares what it reads with what the
services read, CI by CI.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cmdb_desktop.metamodel import ClassInfo, Metamodel
from cmdb_desktop.migrations import SCHEMA_HEAD
from cmdb_desktop.records import (
    CiRecord,
    CiRef,
    RelationshipView,
    checked_id,
    chunks,
    record_from_row,
    relationship_views,
    resolve_reference,
)
from cmdb_desktop.schema import CI_COLUMNS
from cmdb_desktop.sqlite_file import examine, storage_error

if TYPE_CHECKING:
    from cmdb_desktop.analysis import ImpactReport
    from cmdb_desktop.progress import Progress

#: How long a read waits for a writer's lock (a rollback-journal write), in seconds.
_TIMEOUT = 15.0
_SELECT_CI = "SELECT " + ", ".join(f'"{c}"' for c in CI_COLUMNS) + " FROM ci WHERE id = ?"


class QuickReader:
    """Reads CIs and their relationships from one SQLite CMDB file, read-only."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self.meta = Metamodel.from_driver(self._rows)

    @classmethod
    def open(cls, target: str) -> QuickReader | None:
        """A reader of the CMDB file ``target``, or None when the full program must
        open it (a URL, a file of an older schema revision or not yet a CMDB).

        Raises what opening would raise for a foreign, damaged or unreadable file.
        """
        if "://" in target:
            return None
        path = Path(target).expanduser()
        found = examine(path, timeout=_TIMEOUT)
        if not found.exists or not found.marked or found.revision != SCHEMA_HEAD:
            return None
        try:
            conn = sqlite3.connect(
                found.own_reader_uri(), uri=True, timeout=_TIMEOUT, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise storage_error(exc, path) or exc from None
        try:
            conn.execute("PRAGMA query_only = ON")
            # One read transaction: every query sees the same state of the database, as
            # a service's session does (the graph's check and the names it then reads).
            conn.execute("BEGIN")
            return cls(path, conn)
        except sqlite3.Error as exc:
            conn.close()
            raise storage_error(exc, path) or exc from None
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> QuickReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) or exc from None

    # -- what the services offer, read-only ----------------------------------
    def resolve(self, ref: str | int) -> int:
        """Like :meth:`ItemService.resolve <cmdb_desktop.items.ItemService.resolve>`."""
        return resolve_reference(self.meta, ref, self.find_by_name, self._exists)

    def _exists(self, ci_id: int) -> bool:
        return bool(self._rows("SELECT 1 FROM ci WHERE id = ?", (ci_id,)))

    def find_by_name(self, name: str, info: ClassInfo | None = None) -> list[CiRef]:
        """CIs named exactly ``name`` (or, failing that, case-insensitively)."""
        where, params = "", []
        if info is not None:
            ids = self.meta.subtree_ids(info)
            where = f" AND class_id IN ({', '.join('?' * len(ids))})"
            params = list(ids)
        classes = self.meta.class_by_id
        for test, value in (("name = ?", name), ("lower(name) = ?", name.lower())):
            rows = self._rows(
                f"SELECT id, name, class_id FROM ci WHERE {test}{where} ORDER BY id",
                [value, *params],
            )
            if rows:
                return [CiRef(i, n, classes[c].name) for i, n, c in rows]
        return []

    def get(self, ci_id: int) -> CiRecord:
        """The CI with this id; NotFoundError otherwise."""
        rows: list[Any] = []

        def fetch(wanted: int) -> bool:
            rows.extend(self._rows(_SELECT_CI, (wanted,)))
            return bool(rows)

        checked_id(ci_id, fetch)
        return record_from_row(self.meta, rows[0])

    def refs(self, ids: Iterable[int]) -> dict[int, CiRef]:
        """Names and classes of CIs (missing ids are left out)."""
        classes = self.meta.class_by_id
        wanted = list(ids)
        out: dict[int, CiRef] = {}
        for part in chunks(wanted):
            marks = ", ".join("?" * len(part))
            for ci_id, name, class_id in self._rows(
                f"SELECT id, name, class_id FROM ci WHERE id IN ({marks})", part
            ):
                out[ci_id] = CiRef(ci_id, name, classes[class_id].name)
        return out

    def relations_of(self, ci_id: int) -> list[RelationshipView]:
        """Every relationship of a CI, both directions, grouped by label then name."""
        rows = self._rows(
            "SELECT r.id, r.type_id, r.source_id, r.target_id, c.id, c.name, c.class_id"
            " FROM relationship AS r JOIN ci AS c"
            " ON (r.source_id = ? AND c.id = r.target_id)"
            " OR (r.target_id = ? AND c.id = r.source_id)"
            " WHERE r.source_id = ? OR r.target_id = ?",
            (ci_id, ci_id, ci_id, ci_id),
        )
        return relationship_views(self.meta, ci_id, rows)

    def impact(
        self, cis: list[int], depth: int | None, progress: Progress | None = None
    ) -> ImpactReport | None:
        """Like :meth:`AnalysisService.impact <cmdb_desktop.analysis.AnalysisService.impact>`,
        on the impact graph kept beside the file; None when there is none that is
        current (the services then load or patch it, and keep it for the next command).
        """
        # numpy and the graph only now: `show` needs neither.
        from cmdb_desktop.analysis import change_set, impact_report  # noqa: PLC0415
        from cmdb_desktop.graph import kept_graph, snapshot_path  # noqa: PLC0415

        changed = change_set(cis, depth)
        kept = kept_graph(snapshot_path(self.path), lambda sql: self._rows(sql))
        if kept is None or not kept[1]:
            return None
        graph = kept[0]
        return impact_report(self.meta, changed, depth, lambda: graph, self._ci_rows, progress)

    def _ci_rows(self, ids: Sequence[int]) -> list[Any]:
        from cmdb_desktop.graph import SQLITE_CI_FACTS  # noqa: PLC0415

        return self._rows(SQLITE_CI_FACTS, (json.dumps([int(i) for i in ids]),))
