"""``import --create-attributes`` (issue 21): unmapped columns become attributes of
the sheet's class, typed from their values, listed by the dry run, part of the
import's batch (its rollback removes them)."""

from __future__ import annotations

from pathlib import Path

from cmdb_desktop.cmdb import Cmdb
from importers.new_attributes import infer_type
from tests.commandline import cli
from tests.dbstate import content


def test_infer_type() -> None:
    assert infer_type(["yes", "no", "", "Yes"]) == ("boolean", None)
    assert infer_type(["1", "20", "300"]) == ("integer", None)
    assert infer_type(["1.5", "2", "3,000.25"]) == ("decimal", None)
    assert infer_type(["2024-01-31", "2023-12-01"]) == ("date", None)
    assert infer_type(["Ops", "Dev", "ops", "Dev", "Ops", "Dev"]) == ("choice", ("Dev", "Ops"))
    assert infer_type(["a1", "b2", "c3"]) == ("text", None)
    assert infer_type(["", None]) == ("text", None)


def write_csv(path: Path) -> Path:
    path.write_text(
        "Name,Class,Racked,Slots,Installed,Shift,Note\n"
        "web01,Server,yes,2,2024-01-31,Day,first\n"
        "web02,Server,no,4,2024-02-29,Night,second\n"
        "db01,Server,yes,8,2023-12-01,Day,third\n"
        "db02,Server,no,1,2023-11-15,Night,\n",
        encoding="utf-8",
    )
    return path


def test_create_attributes_dry_run_apply_and_rollback(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    assert cli(db, "init")[0] == 0
    sheet = write_csv(tmp_path / "servers.csv")
    before = content(db)
    code, data, _ = cli(db, "import", str(sheet), "--create-attributes", "--dry-run")
    assert code == 0 and data["dry_run"]
    proposed = {a["label"]: (a["type"], a["class"]) for a in data["new_attributes"]}
    assert proposed == {
        "Racked": ("boolean", "Server"),
        "Slots": ("integer", "Server"),
        "Installed": ("date", "Server"),
        "Shift": ("choice", "Server"),
        "Note": ("text", "Server"),
    }
    assert any("Would add column 'Shift'" in w for w in data["warnings"])
    assert content(db) == before

    code, data, _ = cli(db, "import", str(sheet), "--create-attributes")
    assert code == 0 and data["cis"]["created"] == 4
    batch = data["batch"]
    code, ci, _ = cli(db, "show", "Server/web02")
    assert (ci["racked"], ci["slots"], ci["installed"], ci["shift"]) == (
        False,
        4,
        "2024-02-29",
        "Night",
    )
    with Cmdb.open(db) as cmdb:
        assert any(e.ci_name == "Server.shift" for e in cmdb.history.model_changes())

    assert cli(db, "rollback", str(batch))[0] == 0
    code, data, _ = cli(db, "class", "show", "Server")
    assert not {"racked", "slots", "installed", "shift", "note"} & {
        a["key"] for a in data["attributes"]
    }


def test_without_the_option_columns_stay_unmapped(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    sheet = write_csv(tmp_path / "servers.csv")
    code, data, _ = cli(db, "import", str(sheet))
    assert code == 0 and data["new_attributes"] == []
    assert any("'Shift'" in w and "maps to no attribute" in w for w in data["warnings"])


def test_check_gives_the_class_the_values_that_would_not_convert_and_refusals(
    tmp_path: Path,
) -> None:
    """What the import wizard's preview shows for edited proposals (writes nothing)."""
    from importers.new_attributes import check, propose
    from importers.plan import load_source, suggest_mapping

    db = tmp_path / "c.sqlite"
    sheet = write_csv(tmp_path / "servers.csv")
    with Cmdb.open(db) as cmdb:
        source = load_source(sheet, meta=cmdb.meta)
        mapping = suggest_mapping(source, cmdb.meta, None)
        by_column = {p.column: p for p in propose(source, mapping, cmdb.meta)}
        shift, slots, note = by_column["Shift"], by_column["Slots"], by_column["Note"]
        before = content(db)
        checked = check(
            cmdb,
            source,
            mapping,
            [
                shift.edited("Patch Window", "choice", ["Day"]),  # "Night" is not a choice
                slots.edited("Slots", "boolean", None),  # 2, 4, 8 are not yes/no
                note.edited("Owner", "text", None),  # Server has an Owner
                by_column["Racked"].edited("Patch window", "boolean", None),  # twice
            ],
        )
        assert content(db) == before
    window, slot, owner, twice = checked
    assert window.attribute.class_name == "Server" and window.attribute.key == "patch_window"
    assert (window.unconverted, window.unconverted_cells, window.problem) == (("Night",), 2, None)
    assert not window.ok
    assert set(slot.unconverted) == {"2", "4", "8"} and slot.attribute.values == 4
    assert owner.problem is not None and "already has an attribute" in owner.problem
    assert twice.problem is not None and "Two new attributes" in twice.problem
