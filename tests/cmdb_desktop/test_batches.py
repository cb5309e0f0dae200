"""Batches: listed, and rolled back as a whole unless that would undo a later change
that is still there (then refused, naming CI, field and both values)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ConflictError, NotFoundError
from importers.apply import import_file
from tests.commandline import cli
from tests.dbstate import content
from tests.importers.sheets import write_xlsx


def _first(tmp_path: Path) -> Path:
    return write_xlsx(
        tmp_path / "first.xlsx",
        {
            "CIs": [
                ["Name", "Class", "Status", "Owner", "Serial Number"],
                ["web01", "Server", "In Use", "Alice", "SN1"],
                ["crm", "Application", "In Use", "Bob", None],
            ],
            "Relationships": [["Source", "Type", "Target"], ["crm", "Runs on", "web01"]],
        },
    )


def _second(tmp_path: Path) -> Path:
    """Updates web01 (owner, status, class → Network Device), creates app2 related to crm."""
    return write_xlsx(
        tmp_path / "second.xlsx",
        {
            "CIs": [
                ["Name", "Class", "Status", "Owner", "Serial Number", "Criticality"],
                ["web01", "Network Device", "In Maintenance", "Carol", "SN1", 2],
                ["app2", "Application", "Planned", None, None, None],
            ],
            "Relationships": [["Source", "Type", "Target"], ["app2", "Depends on", "crm"]],
        },
    )


def test_list_and_get(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    first = import_file(cmdb, _first(tmp_path))
    (info,) = cmdb.batches.list()
    assert info.id == first.batch_id and info.kind == "import" and info.user == "tester"
    assert info.file == str(tmp_path / "first.xlsx") and info.sheets == ["CIs", "Relationships"]
    assert info.counts["cis"]["created"] == 2 and info.status == "applied"
    assert info.mapping and info.mapping["sheets"][0]["sheet"] == "CIs"
    assert cmdb.batches.get(info.id) == info
    code, data, _ = cli(db_path, "batches")
    assert code == 0 and data["batches"][0]["id"] == info.id
    with pytest.raises(NotFoundError):
        cmdb.batches.get(999)


def test_rollback_restores_the_state_before(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    import_file(cmdb, _first(tmp_path))
    web01 = cmdb.items.resolve("web01")
    before = cmdb.items.get(web01)
    before_rels = {(r.type, r.other.name) for r in cmdb.relations.of(cmdb.items.resolve("crm"))}
    second = import_file(cmdb, _second(tmp_path))
    changed = cmdb.items.get(web01)
    assert changed.class_name == "Network Device" and changed.values["owner"] == "Carol"
    code, data, _ = cli(db_path, "rollback", str(second.batch_id))
    assert code == 0 and data["cis"] == {"deleted": 1, "restored": 1}
    assert data["relationships"] == {"deleted": 1}
    after = cmdb.items.get(web01)
    assert after.class_name == "Server"
    assert after.values == before.values
    assert after.version == before.version + 2  # changed, then changed back: never rewritten
    assert cmdb.items.find_by_name("app2") == []
    assert {(r.type, r.other.name) for r in cmdb.relations.of(cmdb.items.resolve("crm"))} == (
        before_rels
    )
    history = cmdb.history.for_ci(web01)
    assert history[0].source == "rollback" and history[0].batch_id == second.batch_id
    assert {(e.field, e.new_value) for e in history if e.source == "rollback"} >= {
        ("owner", "Alice"),
        ("class", "Server"),
        ("status", "In Use"),
    }
    assert cmdb.batches.get(second.batch_id or 0).status == "rolled_back"
    # A second rollback of the same batch is refused.
    code, data, err = cli(db_path, "rollback", str(second.batch_id))
    assert code == 3 and "already rolled back" in err


def test_rollback_of_a_whole_import(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    empty = content(db_path)
    first = import_file(cmdb, _first(tmp_path))
    cmdb.batches.rollback(first.batch_id or 0)
    now = content(db_path)
    assert now["ci"] == [] and now["relationship"] == []
    # Only history and the batch row remember it.
    assert {
        k: v for k, v in now.items() if k not in ("change_record", "import_batch", "cmdb_state")
    } == {
        k: v for k, v in empty.items() if k not in ("change_record", "import_batch", "cmdb_state")
    }
    deleted = [e for e in cmdb.history.for_batch(first.batch_id or 0) if e.action == "delete"]
    assert {e.entity for e in deleted} == {"ci", "relationship"} and len(deleted) == 3


def test_later_edits_block_the_rollback(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    first = import_file(cmdb, _first(tmp_path))
    crm = cmdb.items.resolve("crm")
    cmdb.items.update(crm, {"owner": "Zed"})
    before = content(db_path)
    code, data, err = cli(db_path, "rollback", str(first.batch_id))
    assert code == 3 and "Application/crm" in err and "changed after it" in err
    assert data["details"]["cis"] == [crm]
    assert content(db_path) == before
    with pytest.raises(ConflictError):
        cmdb.batches.rollback(first.batch_id or 0)


@pytest.mark.backends
def test_a_later_batch_blocks_until_it_is_rolled_back(cmdb: Cmdb, tmp_path: Path) -> None:
    first = import_file(cmdb, _first(tmp_path))
    second = import_file(cmdb, _second(tmp_path))  # touches web01 and relates to crm
    with pytest.raises(ConflictError, match="web01"):
        cmdb.batches.rollback(first.batch_id or 0)
    cmdb.batches.rollback(second.batch_id or 0)
    # With the later batch undone, nothing stands in the way.
    cmdb.batches.rollback(first.batch_id or 0)
    assert cmdb.items.count() == 0


def test_relationship_added_later_blocks(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    """Deleting a CI the batch created would delete someone's later relationship."""
    first = import_file(cmdb, _first(tmp_path))
    other = cmdb.items.create("Rack", {"name": "r1", "status": "In Use"}).created[0]
    web01 = cmdb.items.resolve("web01")
    cmdb.relations.relate(web01, "Located in", other)
    with pytest.raises(ConflictError, match="Server/web01"):
        cmdb.batches.rollback(first.batch_id or 0)
    code, data, err = cli(db_path, "rollback", str(first.batch_id))
    assert code == 3
    assert (
        f"Server/web01 (#{web01}): Relationship — the batch wrote (nothing), "
        "it is now 'web01 Located in r1' (added after the batch; deleting the CI would "
        "delete it)"
    ) in err
    assert data["details"]["cis"] == [web01]


def test_an_edit_undone_since_does_not_block(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    """Later changes that were undone, or wrote what the batch wrote, leave nothing to lose."""
    first = import_file(cmdb, _first(tmp_path))
    crm, web01 = cmdb.items.resolve("crm"), cmdb.items.resolve("web01")
    cmdb.items.update(crm, {"owner": "Zed"})
    cmdb.items.update(crm, {"owner": "Bob"})  # undone: back to what the batch wrote
    cmdb.items.update(web01, {"status": "In Maintenance", "name": "web01-old"})
    cmdb.items.update(web01, {"status": "In Use", "name": "web01"})
    rack = cmdb.items.create("Rack", {"name": "r1"}).created[0]
    cmdb.relations.relate(web01, "Located in", rack)
    cmdb.relations.unrelate(web01, "Located in", rack)
    # a relationship the batch made, removed and made again (a new id): as it was
    cmdb.relations.unrelate(crm, "Runs on", web01)
    cmdb.relations.relate(crm, "Runs on", web01)
    code, data, err = cli(db_path, "rollback", str(first.batch_id))
    assert code == 0, err
    assert data["cis"] == {"deleted": 2, "restored": 0} and data["relationships"] == {"deleted": 1}
    assert [r.name for r in cmdb.items.find_by_name("r1")] == ["r1"]
    assert cmdb.items.find_by_name("crm") == [] and cmdb.relations.count() == 0
    # the relationship went with its CI, recorded
    removed = [
        e
        for e in cmdb.history.for_batch(first.batch_id or 0)
        if e.source == "rollback" and e.entity == "relationship"
    ]
    assert [e.old_value for e in removed] == ["crm Runs on web01"]


def test_an_edit_kept_is_named_with_both_values(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    first = import_file(cmdb, _first(tmp_path))
    crm = cmdb.items.resolve("crm")
    cmdb.items.update(crm, {"owner": "Yan"})
    cmdb.items.update(crm, {"owner": "Zed"})
    before = content(db_path)
    code, data, err = cli(db_path, "rollback", str(first.batch_id))
    assert code == 3
    assert f"Application/crm (#{crm}): Owner — the batch wrote 'Bob', it is now 'Zed'" in err
    assert "Undo those later changes first" not in err
    (conflict,) = data["details"]["conflicts"]
    assert conflict == {
        "ci": crm,
        "name": f"Application/crm (#{crm})",
        "field": "owner",
        "batch_value": "Bob",
        "current_value": "Zed",
        "reason": "changed after the batch created the CI",
    }
    assert content(db_path) == before
    # the user sets it back as the batch wrote it: now it goes
    assert cli(db_path, "set", f"#{crm}", "owner=Bob")[0] == 0
    assert cli(db_path, "rollback", str(first.batch_id))[0] == 0


def test_updates_conflict_only_on_the_fields_the_batch_changed(
    cmdb: Cmdb, tmp_path: Path, db_path: Path
) -> None:
    import_file(cmdb, _first(tmp_path))
    cmdb.classes.add_attribute("Network Device", "Ports", "integer")
    second = import_file(cmdb, _second(tmp_path))  # web01: owner Carol, Network Device
    web01 = cmdb.items.resolve("web01")
    cmdb.items.update(web01, {"description": "rack 4"})  # not the batch's: kept
    cmdb.items.update(web01, {"owner": "Dora"})  # the batch's: restoring would lose it
    cmdb.items.update(web01, {"ports": 48})  # Server has no ports: going back clears it
    code, data, err = cli(db_path, "rollback", str(second.batch_id))
    assert code == 3
    fields = {
        (c["field"], c["batch_value"], c["current_value"]) for c in data["details"]["conflicts"]
    }
    assert fields == {("owner", "Carol", "Dora"), ("ports", None, "48")}
    assert "Ports — the batch wrote (nothing), it is now '48'" in err
    assert "going back to Server clears it" in err
    cmdb.items.update(web01, {"owner": "Carol", "ports": None})
    assert cli(db_path, "rollback", str(second.batch_id))[0] == 0
    after = cmdb.items.get(web01)
    assert after.class_name == "Server" and after.values["owner"] == "Alice"
    assert after.values["description"] == "rack 4"


def test_a_relationship_of_a_created_ci_removed_since_is_named(
    cmdb: Cmdb, tmp_path: Path, db_path: Path
) -> None:
    first = import_file(cmdb, _first(tmp_path))
    crm, web01 = cmdb.items.resolve("crm"), cmdb.items.resolve("web01")
    cmdb.relations.unrelate(crm, "Runs on", web01)
    code, data, err = cli(db_path, "rollback", str(first.batch_id))
    assert code == 3
    assert "Relationship — the batch wrote 'crm Runs on web01', it is now (nothing)" in err
    assert {c["field"] for c in data["details"]["conflicts"]} == {"relationship"}


def test_rollback_of_the_demo_batch(demo_cmdb: Cmdb) -> None:
    (demo,) = [b for b in demo_cmdb.batches.list() if b.kind == "demo"]
    summary = demo_cmdb.batches.rollback(demo.id)
    assert demo_cmdb.items.count() == 0 and demo_cmdb.relations.count() == 0
    assert len(summary.deleted) == demo.counts["cis"]


def test_unknown_batch(cmdb: Cmdb, db_path: Path) -> None:
    code, _, err = cli(db_path, "rollback", "42")
    assert code == 2 and "No batch 42" in err
    code, _, err = cli(db_path, "rollback", "forty-two")
    assert code == 2


def test_a_checked_bulk_write_refuses_a_dangling_reference(
    cmdb: Cmdb, tmp_path: Path, db_path: Path
) -> None:
    """SQLite's foreign-key lookups are off in an import's transaction; the batch
    writer's own check refuses a relationship to a CI that does not exist, and
    nothing is written."""
    from cmdb_desktop.batches import BatchWriter, NewRelationship

    import_file(cmdb, _first(tmp_path))
    before = content(db_path)
    depends = cmdb.meta.relationship_type("Depends on")[0].id
    with pytest.raises(RuntimeError, match="1 of 2 new relationships"):
        with cmdb.write(checked_bulk=True) as s:
            writer = BatchWriter(cmdb, s, file="x.xlsx")
            writer.create_relationships(
                [NewRelationship(1, depends, 2), NewRelationship(1, depends, 999)]
            )
    assert content(db_path) == before
    with cmdb.read() as s:  # the checks are back on for whoever uses the connection next
        assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
