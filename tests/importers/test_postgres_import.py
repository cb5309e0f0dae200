"""Import, export and rollback on PostgreSQL (team mode), on a throw-away server.

The ``pg`` fixture (:mod:`tests.postgres`) skips these tests when the server or
psycopg is missing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from cmdb_desktop import demo
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import Base, ci_table, relationship_table
from importers.apply import import_file
from importers.export import export_workbook


def test_import_round_trip_and_rollback_on_postgres(
    pg: Cmdb,
    servers_xlsx: Path,
    tmp_path: Path,
) -> None:
    first = import_file(pg, servers_xlsx)
    assert first.written and not first.errors, first.to_json()
    assert first.to_json()["cis"]["created"] == 5
    assert pg.relations.count() == 3
    web02 = pg.items.get("web02")
    assert web02.values["cost"] == 1300.25
    created = [e for e in pg.history.for_ci(web02.id) if e.entity == "ci"]
    assert created[0].batch_id == first.batch_id and created[0].row == 3
    out = export_workbook(pg, tmp_path / "pg.xlsx").path
    again = import_file(pg, out)
    assert again.batch_id is None and again.to_json()["cis"]["unchanged"] == 5
    edit = tmp_path / "edit.csv"
    edit.write_text("Name,Class,Owner\nweb01,Server,Zoe\n", encoding="utf-8")
    second = import_file(pg, edit)
    assert second.to_json()["cis"]["updated"] == 1
    pg.batches.rollback(second.batch_id or 0)
    assert pg.items.get("web01").values["owner"] == "Alice"
    pg.batches.rollback(first.batch_id or 0)
    assert pg.items.count() == 0 and pg.relations.count() == 0
    # New CIs after a bulk import get fresh ids from the sequence.
    new = pg.items.create("Rack", {"name": "after", "status": "In Use"}).created[0]
    assert new > max(web02.id, 5)


def _rows(cmdb: Cmdb) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, read through the ORM's types (a date is a date on both
    backends), without row ids, timestamps and request ids (the moment of writing,
    a random token per write); CIs and
    relationships are named by their natural keys instead of their ids."""
    with cmdb.read() as s:
        names = {i: n for i, n in s.execute(select(ci_table.c.id, ci_table.c.name))}
        rel = relationship_table.c
        rel_keys = {
            i: (names[a], t, names[b])
            for i, a, t, b in s.execute(select(rel.id, rel.source_id, rel.type_id, rel.target_id))
        }
        refs = {
            "ci_id": names,
            "related_ci_id": names,
            "source_id": names,
            "target_id": names,
            "relationship_id": rel_keys,
        }
        out: dict[str, list[tuple[object, ...]]] = {}
        for table in Base.metadata.sorted_tables:
            keep = [
                c
                for c in table.c
                if c.name not in ("id", "at", "request_id") and not c.name.endswith("_at")
            ]
            rows = []
            for row in s.execute(select(*keep)):
                values = []
                for col, value in zip(keep, row, strict=True):
                    mapping = refs.get(col.name) if table.name != "cmdb_state" else None
                    values.append(mapping.get(value, value) if mapping and value else value)
                rows.append(tuple(values))
            out[table.name] = sorted(rows, key=repr)
        return out


def test_bulk_import_writes_the_same_rows_on_both_backends(pg: Cmdb, tmp_path: Path) -> None:
    """The PostgreSQL bulk path (COPY) writes exactly what SQLite's writes: every
    table, every column (custom attributes, dates, costs, history with sheet and
    row), ids and write times aside."""
    source = tmp_path / "source.sqlite"
    with Cmdb.open(source, user="demo") as c:
        demo.generate(c, 400, seed=3)
        book = export_workbook(c, tmp_path / "demo.xlsx").path
    lite = Cmdb.open(tmp_path / "lite.sqlite", user="importer")
    pg.user = "importer"
    try:
        results = [import_file(cmdb, book) for cmdb in (lite, pg)]
        for result in results:
            assert result.written and not result.errors, result.to_json()
        assert results[0].to_json()["cis"] == results[1].to_json()["cis"]
        expected, got = _rows(lite), _rows(pg)
        assert sum(map(len, got.values())) > 2000
        for name in expected:
            assert got[name] == expected[name], name
    finally:
        lite.close()
