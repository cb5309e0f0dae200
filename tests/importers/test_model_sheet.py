"""The canonical workbook carries its data model (issue 21): export a CMDB with
custom classes, attributes and relationship types, import the file into an
empty CMDB (dry run first), export again — the two workbooks are identical."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from cmdb_desktop.cmdb import Cmdb
from importers.apply import import_file
from importers.export import export_workbook
from tests.commandline import cli


def cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    wb = load_workbook(path, read_only=True)
    try:
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    finally:
        wb.close()


def customised(path: Path) -> Cmdb:
    cmdb = Cmdb.open(path, create=True)
    cmdb.classes.add_class("Appliance", "Hardware", description="Boxes we do not open")
    cmdb.classes.add_class("Firewall Appliance", "Appliance")
    cmdb.classes.add_attribute("Appliance", "Firmware", "text", default="1.0")
    cmdb.classes.add_attribute("Firewall Appliance", "Zone", "choice", choices=["DMZ", "=LAN"])
    cmdb.classes.add_attribute("Server", "Rack Units", "integer", min_value=1, max_value=10)
    cmdb.classes.add_attribute("Firewall Appliance", "Installed", "date")
    cmdb.classes.update_attribute("Firewall Appliance", "zone", required=True)
    cmdb.classes.add_relationship_type("Protects", "Protected by", "to_target")
    cmdb.classes.add_relationship_type("Mirrors", "Mirrored by", "none")
    # (created in the export's row order, so the empty CMDB gives them the same ids)
    srv = cmdb.items.create("Server", {"name": "web01", "rack_units": "2"}).created[0]
    fw = cmdb.items.create(
        "Firewall Appliance",
        {"name": "fw1", "serial_number": "FW-1", "zone": "DMZ", "installed": "2024-02-01"},
    ).created[0]
    cmdb.relations.relate(fw, "Protects", srv)
    cmdb.relations.relate(srv, "Depends on", fw)
    cmdb.relations.relate(srv, "Mirrored by", fw)
    return cmdb


def test_export_import_into_an_empty_cmdb_export_gives_identical_workbooks(
    tmp_path: Path,
) -> None:
    first = tmp_path / "first.xlsx"
    second = tmp_path / "second.xlsx"
    source = customised(tmp_path / "a.sqlite")
    try:
        result = export_workbook(source, first)
        assert result.sheets[-1] == "Model"
    finally:
        source.close()

    empty = tmp_path / "b.sqlite"
    # dry run first: it lists the model it would add and writes nothing
    code, data, _ = cli(empty, "import", str(first), "--dry-run")
    assert data["model"]["classes"] == ["Appliance", "Firewall Appliance"]
    assert set(data["model"]["relationship_types"]) == {"Protects", "Mirrors"}
    assert any("would add class Appliance" in w for w in data["warnings"])
    target = Cmdb.open(empty)
    try:
        assert target.meta.find_class("Appliance") is None
        assert target.items.count() == 0
        applied = import_file(target, first)
        assert applied.written and not applied.errors, applied.errors
        assert target.meta.find_class("Firewall Appliance") is not None
        assert any(e.ci_name == "Appliance" for e in target.history.model_changes())
        export_workbook(target, second)
    finally:
        target.close()
    assert cells(first) == cells(second)
    # impact follows the recreated flows: Protects s2t (fw → web01), Mirrors none
    code, data, _ = cli(empty, "impact", "Firewall Appliance/fw1")
    assert code == 0 and [i["name"] for i in data["impacted"]] == ["web01"]


def test_the_model_sheet_is_formula_safe_and_not_warned_about(tmp_path: Path) -> None:
    source = customised(tmp_path / "a.sqlite")
    try:
        out = export_workbook(source, tmp_path / "x.xlsx").path
        wb = load_workbook(out)
        zone = next(r for r in wb["Model"].iter_rows(values_only=True) if r[1] == "Zone")
        assert zone[5] == "DMZ | =LAN"
        assert all(c.data_type != "f" for row in wb["Model"].iter_rows() for c in row)
        again = import_file(source, out, dry_run=True)
        assert not any("'Model'" in w for w in again.warnings)
        assert again.model is not None and again.model.empty
    finally:
        source.close()
