"""Real third-party exports (../shared/data/real; skipped when absent)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from cmdb_desktop.cmdb import Cmdb
from importers.apply import apply_import, import_file
from importers.mapping import ColumnMap, ImportMapping, SheetMapping
from importers.plan import load_source, plan_import, suggest_mapping
from tests.commandline import cli
from tests.dbstate import content
from tests.importers.sheets import write_csv
from tests.legacy import legacy_ci

SNIPE_STATUSES = {
    "Ready to Deploy": "In Stock",
    "Undeployable": "In Maintenance",
    "Pending Diagnostics": "In Maintenance",
    "Lost": "Disposed",
    "Archived": "Retired",
}
NETBOX_STATUSES = {
    "active": "In Use",
    "planned": "Planned",
    "staged": "Ordered",
    "offline": "In Maintenance",
    "failed": "In Maintenance",
    "inventory": "In Stock",
    "decommissioning": "Retired",
    "retired": "Retired",
    "available": "In Stock",
    "reserved": "Planned",
    "deprecated": "Retired",
}


def test_snipe_it_clean_assets(cmdb: Cmdb, real_data: Path, db_path: Path) -> None:
    path = real_data / "snipe-it" / "assets-sample.csv"  # UTF-8 with BOM
    code, data, _ = cli(
        db_path, "import", str(path), "--class", "Workstation", "--default", "status=In Use"
    )
    assert code == 0, data["errors"][:3]
    assert data["cis"]["created"] == 22
    assert any("'Checkout Type'" in w for w in data["warnings"])  # unknown columns: warnings
    tag = "ICC-2065556"
    (ci,) = [
        r
        for r in cmdb.items.find_by_name("Backhoe")
        if cmdb.items.get(r.id).values["asset_tag"] == tag
    ]
    values = cmdb.items.get(ci.id).values
    assert values["purchase_date"] == date(2023, 1, 23)  # 1/23/23: m/d/yy, inferred
    assert values["cost"] == 2266.13 and values["manufacturer"] == "Berge Inc"
    # Names repeat in this file (two "Backhoe"s): the asset tag tells them apart.
    code, data, _ = cli(db_path, "import", str(path), "--class", "Workstation")
    assert code == 0 and data["cis"]["unchanged"] == 22 and data["batch"] is None


@pytest.mark.parametrize("name", ["assets-sample-BAD.csv", "assets-sample-BLANKS.csv"])
def test_snipe_it_broken_exports(cmdb: Cmdb, real_data: Path, name: str) -> None:
    path = real_data / "snipe-it" / name
    source = load_source(path, meta=cmdb.meta)
    (table,) = source.tables
    assert len(table.rows) == 200  # old-Mac CR line ends split correctly
    assert any("Mac Roman" in w for w in source.warnings)  # not UTF-8: said so
    text = " ".join(str(v) for row in table.rows for v in row)
    assert "\ufffd" not in text
    if name.endswith("BAD.csv"):
        assert "Category (2)" in table.headers and "Company (2)" in table.headers
    mapping = suggest_mapping(source, cmdb.meta)
    sheet = mapping.sheets[0]
    assert sheet.target_column("name").column == "item Name"  # type: ignore[union-attr]
    assert sheet.target_column("serial_number").column == "Serial"  # type: ignore[union-attr]
    # Without translations, Snipe-IT statuses are errors, each with its row.
    sheet.default_class = "Workstation"
    mapping.defaults = {"status": "In Use"}
    plan = plan_import(cmdb, source, mapping)
    assert plan.errors and all(e.column == "Status" for e in plan.errors)
    status = sheet.target_column("status")
    assert status is not None
    status.values = dict(SNIPE_STATUSES)
    plan = plan_import(cmdb, source, mapping)
    assert plan.ok and plan.counts()["cis"]["created"] == 200
    apply_import(cmdb, plan)
    blank_serials = [r for r in plan.rows if r.values.get("serial_number") is None]
    assert len(blank_serials) == 17  # matched by asset tag instead
    again = plan_import(cmdb, source, mapping)
    assert again.counts()["cis"]["unchanged"] == 200


def _netbox_mapping(sheet: str, columns: dict[str, str | None], cls: str) -> ImportMapping:
    maps = [
        ColumnMap(col, target, values=dict(NETBOX_STATUSES) if target == "status" else {})
        for col, target in columns.items()
    ]
    return ImportMapping([SheetMapping(sheet, "cis", maps, default_class=cls)])


def test_netbox_names_are_not_keys(cmdb: Cmdb, real_data: Path, tmp_path: Path) -> None:
    derived = real_data / "netbox-demo-data" / "derived"
    sites = import_file(
        cmdb,
        derived / "sites.csv",
        mapping=_netbox_mapping("sites", {"name": "name", "status": "status"}, "Site"),
    )
    assert not sites.errors and sites.to_json()["cis"]["created"] == 24
    # Every branch rack is called "Comms closet": duplicates in the file, reported
    # on every such row, never one picked.
    racks_mapping = _netbox_mapping("racks", {"name": "name", "status": "status"}, "Rack")
    racks = import_file(cmdb, derived / "racks.csv", mapping=racks_mapping)
    assert not racks.written
    closets = [r for r in racks.plan.rows if r.name == "Comms closet"]
    assert len(closets) > 2 and all(r.status == "error" for r in closets)
    assert "identify the same CI" in closets[0].errors[0].message
    # Devices: 22 have no name, three patch panels share one.
    devices = import_file(
        cmdb,
        derived / "devices.csv",
        mapping=_netbox_mapping(
            "devices",
            {"name": "name", "status": "status", "manufacturer": "manufacturer", "model": "model"},
            "Network Device",
        ),
        skip_errors=True,
        rejects_path=tmp_path / "devices-rejects.xlsx",
    )
    counts = devices.to_json()["cis"]
    assert counts["errors"] == 22 + 3 and counts["created"] == 72 - 25
    # Two racks of the same name in the CMDB: a relationship naming one is ambiguous.
    for site in ("A", "B"):  # one identity twice: only data from before can hold it
        legacy_ci(cmdb, "Rack", "Comms closet", owner=site)
    rows = [["Source", "Type", "Target"]]
    with (derived / "relationships.csv").open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            if rec["relation"] == "located_in" and rec["source_type"] == "dcim.device":
                rows.append([rec["source_name"], rec["relation"], rec["target_name"]])
    links = write_csv(tmp_path / "located.csv", rows)
    assert cmdb.path is not None
    before = content(cmdb.path)
    result = import_file(cmdb, links)
    messages = [e.message for e in result.errors]
    assert any("ambiguous: 2 CIs are named 'Comms closet'" in m for m in messages)
    assert not result.written and content(cmdb.path) == before


def test_netbox_relationship_file_as_is(cmdb: Cmdb, real_data: Path) -> None:
    path = real_data / "netbox-demo-data" / "derived" / "relationships.csv"
    source = load_source(path, meta=cmdb.meta)
    mapping = suggest_mapping(source, cmdb.meta)
    assert mapping.sheets[0].kind == "relationships"
    plan = plan_import(cmdb, source, mapping)
    # Nothing is known yet and "part_of" etc. are no types here: every row says why.
    assert plan.counts()["relationships"]["errors"] == len(source.tables[0].rows)
    messages = " ".join(e.message for e in plan.errors)
    assert "unknown relationship type 'part_of'" in messages and "no CI named" in messages


def test_ralph_asset_export(cmdb: Cmdb, real_data: Path, db_path: Path, tmp_path: Path) -> None:
    path = real_data / "ralph" / "management_ip_blank.csv"
    # Ralph keeps statuses as numbers: without a translation that is an error per row.
    code, data, _ = cli(db_path, "import", str(path), "--class", "Storage Device")
    assert code == 2 and data["errors"][0]["column"] == "status"
    assert "'2' is not one of" in data["errors"][0]["message"]
    # A profile (saved by the first run, edited) translates them.
    profile_path = tmp_path / "ralph.json"
    cli(db_path, "import", str(path), "--dry-run", "--save-mapping", str(profile_path))
    profile = ImportMapping.load(profile_path)
    status = profile.sheets[0].target_column("status")
    assert status is not None and profile.sheets[0].target_column("serial_number") is not None
    status.values = {"2": "In Use"}
    profile.sheets[0].sheet = "ralph assets"  # any name: a one-sheet profile fits any CSV
    profile.save(profile_path)
    code, data, _ = cli(
        db_path, "import", str(path), "--class", "Storage Device", "--mapping", str(profile_path)
    )
    assert code == 0 and data["cis"]["created"] == 1
    rec = cmdb.items.get("EMC1-3")
    assert rec.values["serial_number"] == "M000000015L" and rec.values["status"] == "In Use"
    # The same asset with a management IP: matched by serial, nothing to change
    # (the IP maps to no attribute and is a warning).
    existing = real_data / "ralph" / "management_ip_existing.csv"
    code, data, _ = cli(
        db_path,
        "import",
        str(existing),
        "--class",
        "Storage Device",
        "--mapping",
        str(profile_path),
    )
    assert code == 0 and data["cis"]["unchanged"] == 1
    assert any("management_ip" in w for w in data["warnings"])
    # No name column at all: a clear error, nothing written.
    code, data, _ = cli(db_path, "import", str(real_data / "ralph" / "back_office_assets.csv"))
    assert code == 2 and "no Name column" in data["errors"][0]["message"]


@pytest.mark.parametrize(
    "name", ["warehouses.csv", "warehouses_semicolon.csv", "warehouses_tab.csv"]
)
def test_ralph_delimiters_import(cmdb: Cmdb, real_data: Path, name: str) -> None:
    result = import_file(
        cmdb, real_data / "ralph" / name, default_class="Site", defaults={"status": "In Use"}
    )
    assert not result.errors and result.to_json()["cis"]["created"] >= 2
    names = {r.name for r in result.plan.rows}
    assert names & {"Poznań", "Warszawa", "London", "Zakopane", "Warsaw", "Paris"}
