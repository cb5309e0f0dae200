"""A deleted CI's history stays reachable: ``cmdb history "#9"`` shows it, delete
record and all, and says the CI is deleted (it used to answer "No CI with id")."""

from __future__ import annotations

from pathlib import Path

from cmdb_desktop.cmdb import Cmdb
from tests.commandline import cli


def _deleted(cmdb: Cmdb, name: str = "web01") -> int:
    ci = cmdb.items.create("Server", {"name": name, "owner": "Alice"}).created[0]
    cmdb.items.update(ci, {"owner": "Bob"})
    cmdb.items.delete(ci)
    return ci


def test_history_of_a_deleted_ci_by_id(cmdb: Cmdb, db_path: Path) -> None:
    ci = _deleted(cmdb)
    code, data, err = cli(db_path, "history", f"#{ci}")
    assert code == 0, err
    assert data["deleted"] is True
    assert data["ci"]["id"] == ci and data["ci"]["name"] == "web01"
    assert data["ci"]["class"] == "Server" and data["ci"]["deleted"] is True
    assert data["ci"]["deleted_by"] == "tester" and data["ci"]["deleted_at"]
    assert [(e["action"], e["field"]) for e in data["history"]] == [
        ("delete", None),
        ("update", "owner"),
        ("create", None),
    ]
    assert data["history"][0]["summary"] == "deleted Server 'web01'"


def test_by_class_and_name_or_name_among_deleted_cis(cmdb: Cmdb, db_path: Path) -> None:
    ci = _deleted(cmdb)
    for ref in ("Server/web01", "server/WEB01", "web01"):
        code, data, err = cli(db_path, "history", ref)
        assert code == 0 and data["ci"]["id"] == ci and data["deleted"] is True, (ref, err)


def test_a_live_ci_of_the_same_name_wins_and_the_id_still_finds_the_old_one(
    cmdb: Cmdb, db_path: Path
) -> None:
    old = _deleted(cmdb)
    new = cmdb.items.create("Server", {"name": "web01"}).created[0]
    code, data, _ = cli(db_path, "history", "web01")
    assert code == 0 and data["ci"]["id"] == new and data["deleted"] is False
    code, data, _ = cli(db_path, "history", f"#{old}")
    assert code == 0 and data["ci"]["id"] == old and data["deleted"] is True


def test_two_deleted_cis_of_one_name_are_ambiguous(cmdb: Cmdb, db_path: Path) -> None:
    first, second = _deleted(cmdb), _deleted(cmdb)
    code, data, err = cli(db_path, "history", "web01")
    assert code == 2 and "names 2 deleted CIs" in err
    assert f"#{first}" in err and f"#{second}" in err
    assert [c["id"] for c in data["candidates"]] == [first, second]


def test_unknown_and_restored_cis(cmdb: Cmdb, db_path: Path) -> None:
    code, _, err = cli(db_path, "history", "#9")
    assert code == 2 and "No CI with id #9, nor a deleted one" in err
    code, _, err = cli(db_path, "history", "nobody")
    assert code == 2 and "nor a deleted one" in err
    ci = cmdb.items.create("Server", {"name": "back"}).created[0]
    summary = cmdb.items.delete(ci)
    cmdb.items.restore(summary.snapshots[ci])  # undo: the same id, alive again
    code, data, _ = cli(db_path, "history", f"#{ci}")
    assert code == 0 and data["deleted"] is False
    assert [e["action"] for e in data["history"]][:2] == ["create", "delete"]
    assert cmdb.history.deleted_ci(ci) is None


def test_a_ci_a_rollback_deleted(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    from importers.apply import import_file
    from tests.importers.sheets import write_csv

    path = write_csv(tmp_path / "one.csv", [["Name", "Class"], ["tmp-01", "Server"]])
    result = import_file(cmdb, path)
    ci = cmdb.items.resolve("tmp-01")
    cmdb.batches.rollback(result.batch_id or 0)
    code, data, _ = cli(db_path, "history", "tmp-01")
    assert code == 0 and data["ci"]["id"] == ci and data["deleted"] is True
    assert [(e["action"], e["source"]) for e in data["history"]] == [
        ("delete", "rollback"),
        ("create", "import"),
    ]
