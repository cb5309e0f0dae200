"""``cmdb class|attribute|reltype``: the data model from a script (issue 21)."""

from __future__ import annotations

from pathlib import Path

from tests.commandline import cli
from tests.dbstate import content


def test_class_and_attribute_commands(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    assert cli(db, "init")[0] == 0
    code, data, _ = cli(db, "class", "add", "Blade", "--parent", "Server")
    assert code == 0 and data["class"] == "Blade"
    code, data, _ = cli(db, "attribute", "add", "Blade", "Slot", "--type", "text")
    assert code == 0 and data["key"] == "slot"
    code, data, _ = cli(db, "attribute", "add", "Blade", "Tier", "--choices", "Gold,Silver")
    assert code == 0 and data["type"] == "choice"
    assert cli(db, "add", "Blade", "b1", "slot=4", "tier=gold")[0] == 0
    assert cli(db, "add", "Blade", "b2", "slot=many")[0] == 0

    # the dry run lists what would not convert, and the change is refused (exit 2, untouched)
    before = content(db)
    code, data, _ = cli(db, "attribute", "set", "Blade", "Slot", "--type", "integer", "--dry-run")
    assert code == 2 and data["dry_run"] and data["conversion"]["convert"] == 1
    assert data["conversion"]["failures"][0]["name"] == "b2"
    code, data, err = cli(db, "attribute", "set", "Blade", "Slot", "--type", "integer")
    assert code == 2 and "b2" in data["conversion"]["failures"][0]["name"]
    assert "Nothing changed" in err and content(db) == before
    assert cli(db, "set", "Blade/b2", "slot=2")[0] == 0
    code, data, _ = cli(db, "attribute", "set", "Blade", "Slot", "--type", "integer")
    assert code == 0 and data["conversion"]["changed"] == 2 and data["type"] == "integer"
    code, data, _ = cli(db, "show", "Blade/b1")
    assert data["slot"] == 4

    code, data, _ = cli(db, "attribute", "set", "Blade", "Tier", "--rename-choice", "Gold=Platinum")
    assert code == 0
    assert cli(db, "show", "Blade/b1")[1]["tier"] == "Platinum"
    code, data, err = cli(db, "attribute", "set", "Blade", "slot", "--required", "--default", "1")
    assert code == 0, err
    code, data, _ = cli(db, "class", "show", "Blade")
    slot = next(a for a in data["attributes"] if a["key"] == "slot")
    assert slot["required"] and slot["default"] == 1 and data["cis"] == 2

    code, _, err = cli(db, "class", "delete", "Blade")
    assert code == 2 and "2 CI" in err
    code, data, _ = cli(db, "class", "delete", "Blade", "--move-to", "Server")
    assert code == 0 and data["moved"] == 2
    code, data, _ = cli(db, "class", "list")
    assert "Blade" not in {c["name"] for c in data["classes"]}
    assert cli(db, "attribute", "set", "Server", "Nope", "--label", "x")[0] == 2


def test_reltype_commands(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    assert cli(db, "init")[0] == 0
    code, data, _ = cli(db, "reltype", "add", "Feeds", "--reverse", "Fed by", "--flow", "s2t")
    assert code == 0 and data["impact"] == "to_target"
    assert cli(db, "reltype", "add", "X", "--reverse", "Y", "--flow", "sideways")[0] == 2
    assert cli(db, "reltype", "add", "Depends on", "--reverse", "Q", "--flow", "none")[0] == 2
    cli(db, "add", "Application", "a")
    cli(db, "add", "Database", "b")
    assert cli(db, "relate", "Application/a", "Feeds", "Database/b")[0] == 0
    code, data, _ = cli(db, "impact", "Application/a")
    assert [i["name"] for i in data["impacted"]] == ["b"]
    code, data, _ = cli(db, "reltype", "set", "Fed by", "--flow", "t2s", "--name", "Supplies")
    assert code == 0 and data["name"] == "Supplies" and data["flow"] == "t2s"
    code, data, _ = cli(db, "impact", "Application/a")
    assert data["impacted"] == []
    code, data, _ = cli(db, "reltype", "list")
    feeds = next(t for t in data["relationship_types"] if t["name"] == "Supplies")
    assert feeds["relationships"] == 1 and not feeds["builtin"]
    code, _, err = cli(db, "reltype", "delete", "Supplies")
    assert code == 2 and "1 relationship" in err
    assert cli(db, "unrelate", "Application/a", "Supplies", "Database/b")[0] == 0
    assert cli(db, "reltype", "delete", "Supplies")[0] == 0
