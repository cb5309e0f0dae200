"""Upgrading from the oldest schema keeps every row of every table.

The database is filled by the application itself (classes, custom attributes
of every type, CIs, relationships, edits, deletions, an import batch and a
rolled-back one, an audit stamp: so history, batches and the FTS index all
hold real rows), migrated down to the oldest revision (what an old version
left behind: the columns and tables added since are gone), then opened the
normal way:
a backup is written first, the schema is upgraded, and every row of every
table that existed before is still there, column for column — and the
application still works on them (search, history, the batch's rollback).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import downgrade, make_engine, to_url
from cmdb_desktop.migrations import SCHEMA_HEAD, SCHEMA_REVISIONS
from importers.apply import import_file
from importers.audit import audit_file, stamp_verified
from tests.importers.sheets import write_csv


def snapshot(path: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Table → (columns, rows in column order), FTS shadow tables included."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        out = {}
        for name in names:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]
            if not cols:  # the FTS virtual table itself: its shadow tables hold the rows
                continue
            order = ", ".join(str(i + 1) for i in range(len(cols)))  # some have no rowid
            rows = conn.execute(f"SELECT {', '.join(cols)} FROM {name} ORDER BY {order}").fetchall()
            out[name] = (cols, rows)
        return out
    finally:
        conn.close()


def fill(cmdb: Cmdb, folder: Path) -> None:
    """Everything a CMDB holds after some real use, written by the application."""
    classes = cmdb.classes
    classes.add_class("Blade Server", "Server", description="a blade in a chassis")
    classes.add_attribute("Server", "Slots", "integer", min_value=0, max_value=64)
    classes.add_attribute("Server", "Power (kW)", "decimal")
    classes.add_attribute("Server", "Installed", "date")
    classes.add_attribute("Server", "Monitored", "boolean")
    classes.add_attribute("Server", "Tier", "choice", choices=["gold", "silver"])
    classes.add_attribute("Server", "Backup Server", "reference", reference_class="Server")
    items = cmdb.items
    rack = items.create("Rack", {"name": "rack-1", "status": "In Use"}).created[0]
    backup = items.create("Server", {"name": "bkp01", "status": "In Use"}).created[0]
    web = items.create(
        "Blade Server",
        {
            "name": "web01",
            "status": "In Use",
            "serial_number": "SN-1",
            "cost": "1200.50",
            "purchase_date": "2024-01-31",
            "slots": 8,
            "power_kw": "1.5",
            "installed": "2024-02-01",
            "monitored": True,
            "tier": "gold",
            "backup_server": backup,
            "tags": "web, prod",
        },
    ).created[0]
    cmdb.relations.relate(web, "Located in", rack)
    cmdb.relations.relate(backup, "Located in", rack)
    items.update(web, {"owner": "Alice", "criticality": 1})
    gone = items.create("Server", {"name": "old01", "status": "Retired"}).created[0]
    items.delete_many([gone])
    first = write_csv(
        folder / "batch1.csv",
        [["Name", "Class", "Status", "Owner"], ["app01", "Application", "In Use", "Bob"]],
    )
    second = write_csv(
        folder / "batch2.csv",
        [
            ["Name", "Class", "Status"],
            ["tmp01", "Server", "Planned"],
            ["web01", "Blade Server", "In Maintenance"],
        ],
    )
    import_file(cmdb, first)
    rolled = import_file(cmdb, second)
    assert rolled.batch_id is not None
    cmdb.batches.rollback(rolled.batch_id)
    audit = audit_file(
        cmdb, write_csv(folder / "inventory.csv", [["Name", "Class"], ["web01", "Blade Server"]])
    )
    stamp_verified(cmdb, audit)


@pytest.mark.parametrize("oldest", SCHEMA_REVISIONS[:1])
def test_every_row_survives_the_upgrade(tmp_path: Path, oldest: str) -> None:
    path = tmp_path / "old.sqlite"
    with Cmdb.open(path, user="old-version") as old:
        fill(old, tmp_path)
    engine = make_engine(to_url(path))
    downgrade(engine, oldest)
    engine.dispose()
    before = snapshot(path)
    assert "saved_item" not in before  # really the old schema
    filled = {name for name, (_, rows) in before.items() if rows}
    assert {
        "ci",
        "relationship",
        "change_record",
        "import_batch",
        "attribute_def",
        "ci_class",
    } <= filled

    with Cmdb.open(path, user="new-version") as cmdb:
        assert cmdb.backup_path is not None
        after = snapshot(path)
        for name, (cols, rows) in before.items():
            if name == "alembic_version":
                continue  # the one row an upgrade must change
            now_cols, now_rows = after[name]
            kept = [now_cols.index(c) for c in cols]  # new columns may be added
            assert [tuple(r[i] for i in kept) for r in now_rows] == rows, name
        assert snapshot(cmdb.backup_path) == before  # the backup is the old database, whole
        # the application works on the old rows
        web = cmdb.items.resolve("web01")
        record = cmdb.items.get(web)
        assert record.values["slots"] == 8 and record.values["tier"] == "gold"
        assert record.values["owner"] == "Alice" and record.values["last_verified"] is not None
        assert cmdb.search.search("web01") == [web]
        assert [e.field for e in cmdb.history.for_ci(web)][:1] == ["last_verified"]
        applied = [b for b in cmdb.batches.list() if b.kind == "import" and b.status == "applied"]
        assert len(applied) == 1
        cmdb.batches.rollback(applied[0].id)
        assert not cmdb.items.find_by_name("app01")
        cmdb.saved.save("filter", "mine", {"q": "web"})  # the new revision's table works
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_HEAD
