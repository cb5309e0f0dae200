"""Import, export and rollback on PostgreSQL (team mode), on a throw-away server.

The ``pg`` fixture (:mod:`tests.postgres`) skips these tests when the server or
psycopg is missing.
"""

from __future__ import annotations

from pathlib import Path

from cmdb_desktop.cmdb import Cmdb
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
