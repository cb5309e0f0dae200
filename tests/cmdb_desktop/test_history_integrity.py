"""History cannot be rewritten: the database refuses UPDATE and DELETE on
``change_record`` however they come — raw SQL, Core statements, or ORM objects
changed or deleted in the application's own write session — on SQLite and on
PostgreSQL; the refused transaction leaves history (and everything else) as
it was, and the application's own operations never need to rewrite it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import ChangeRecord, change_record_table

Tamper = Callable[[Session], None]


def _edit_one(s: Session) -> None:
    record = s.scalars(select(ChangeRecord).limit(1)).one()
    record.user = "mallory"
    s.flush()


def _delete_one(s: Session) -> None:
    record = s.scalars(select(ChangeRecord).limit(1)).one()
    s.delete(record)
    s.flush()


def _core_update(s: Session) -> None:
    s.execute(update(change_record_table).values(new_value="forged"))


def _core_delete(s: Session) -> None:
    s.execute(delete(change_record_table).where(change_record_table.c.entity == "ci"))


def _raw_sql(s: Session) -> None:
    s.execute(text("UPDATE change_record SET at = at"))


TAMPERING: dict[str, Tamper] = {
    "orm-edit": _edit_one,
    "orm-delete": _delete_one,
    "core-update": _core_update,
    "core-delete": _core_delete,
    "raw-sql": _raw_sql,
}


def _history(cmdb: Cmdb) -> list[tuple[object, ...]]:
    with cmdb.read() as s:
        return [tuple(r) for r in s.execute(select(change_record_table).order_by(ChangeRecord.id))]


def _fill(cmdb: Cmdb) -> None:
    a = cmdb.items.create("Server", {"name": "web01", "status": "In Use"}).created[0]
    b = cmdb.items.create("Rack", {"name": "r1", "status": "In Use"}).created[0]
    cmdb.relations.relate(a, "Located in", b)
    cmdb.items.update(a, {"owner": "Alice"})


def check_refused(cmdb: Cmdb, tamper: Tamper) -> None:
    before = _history(cmdb)
    generations = cmdb.generations()
    with pytest.raises(Exception, match="append-only"), cmdb.write() as s:
        cmdb.bump(s)  # the same transaction also did honest work: it goes too
        tamper(s)
    assert _history(cmdb) == before
    assert cmdb.generations() == generations


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_history_refuses_tampering_on_sqlite(cmdb: Cmdb, how: str) -> None:
    _fill(cmdb)
    check_refused(cmdb, TAMPERING[how])


def test_normal_work_never_rewrites_history(cmdb: Cmdb) -> None:
    """Deleting a CI (and its relationships), restoring it and rolling back a batch
    only ever add records: every earlier record is still there, unchanged."""
    _fill(cmdb)
    web = cmdb.items.resolve("web01")
    before = _history(cmdb)
    summary = cmdb.items.delete_many([web])
    cmdb.items.restore_many(list(summary.snapshots.values()))
    after = _history(cmdb)
    assert after[: len(before)] == before
    assert len(after) > len(before)
    with cmdb.read() as s:
        kept = s.scalar(
            select(func.count()).select_from(ChangeRecord).where(ChangeRecord.ci_id == web)
        )
    assert kept and kept >= 3  # create, update and delete of web01 all still point at it


# -- PostgreSQL (team mode), on the throw-away server of tests.postgres ---------------------
# (only these skip without PostgreSQL or psycopg; the SQLite tests above always run)


def test_history_refuses_tampering_on_postgres(pg: Cmdb) -> None:
    _fill(pg)
    for tamper in TAMPERING.values():
        check_refused(pg, tamper)
