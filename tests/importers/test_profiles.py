"""Built-in profiles of known tools (PRODUCT.md §10) on their real exports
(../shared/data/real; skipped when absent, never written)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from cmdb_desktop.cmdb import Cmdb
from importers.profiles import PROFILES, SNIPE_STATUSES, choose
from tests.commandline import cli


def test_every_profile_chooses_its_variants_by_headers() -> None:
    assert choose("snipe-it", ["Item name", "seats", "expiration date"]).name == "licences"
    assert choose("snipe-it", ["First Name", "Last Name", "Username"]).name == "users"
    assert choose("netbox", ["name", "slug", "region"]).name == "sites"
    assert choose("glpi", ["Name", "Serial number", "Inventory number"]).name == "computers"
    assert choose("itop", ["Name", "Organization", "Brand", "Asset number"]).name == "ci"
    assert set(PROFILES) == {"snipe-it", "netbox", "glpi", "itop"}


def test_a_file_of_another_tool_is_refused(db_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("Colour,Flavour\nred,sweet\n", encoding="utf-8")
    code, _data, err = cli(db_path, "import", str(other), "--profile", "glpi")
    assert code == 2 and "does not look like a glpi export" in err


def test_snipe_it_assets_keep_tag_serial_model_status_assignee(
    cmdb: Cmdb, real_data: Path, db_path: Path
) -> None:
    path = real_data / "snipe-it" / "assets-sample-BAD.csv"
    code, data, err = cli(db_path, "import", str(path), "--profile", "snipe-it")
    assert code == 0, (data or {}).get("errors", err)[:3]
    assert data["cis"]["created"] == 200 and data["cis"]["errors"] == 0
    with path.open(encoding="mac_roman", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    at = {h: header.index(h) for h in ("Full Name", "Model name", "Serial", "Asset Tag", "Status")}
    stored = {a.asset_tag: a for a in cmdb.assets.assets()}
    for row in rows[1:]:
        asset = stored[row[at["Asset Tag"]]]
        assert asset.class_name == "Workstation"
        assert asset.serial_number == (row[at["Serial"]] or None)
        assert asset.model == row[at["Model name"]]
        assert asset.assigned_to == (row[at["Full Name"]] or None)
        status = row[at["Status"]]
        assert asset.status == (SNIPE_STATUSES[status] if status else "In Use")
    # the same rows with blank headers and shifted columns: recognised, nothing changes
    blanks = real_data / "snipe-it" / "assets-sample-BLANKS.csv"
    code, data, _ = cli(db_path, "import", str(blanks), "--profile", "snipe-it")
    assert code == 0 and data["cis"]["unchanged"] == 200


def test_snipe_it_clean_assets_licences_and_users(
    cmdb: Cmdb, real_data: Path, db_path: Path
) -> None:
    folder = real_data / "snipe-it"
    code, data, _ = cli(
        db_path, "import", str(folder / "assets-sample.csv"), "--profile", "snipe-it"
    )
    assert code == 0 and data["cis"]["created"] == 22
    assets = {a.asset_tag: a for a in cmdb.assets.assets()}
    icc = assets["ICC-2065556"]
    assert (icc.name, icc.model, icc.location) == (
        "Backhoe",
        'Macbook Pro 13"',
        "Wilkinson, Waters and Kerluke",
    )
    assert assets["WBH-2841795"].assigned_to == "gmccrackem2a@bing.com"
    code, data, _ = cli(
        db_path, "import", str(folder / "licenses-sample.csv"), "--profile", "snipe-it"
    )
    assert code == 0 and data["cis"]["created"] == 50  # same software name, other licence key
    licences = list(cmdb.assets.assets("Licence"))
    assert all(lic.get("seats") is not None for lic in licences)
    code, data, _ = cli(
        db_path, "import", str(folder / "users-sample.csv"), "--profile", "snipe-it"
    )
    assert code == 0 and data["people"]["created"] == 100
    code, data, _ = cli(
        db_path, "import", str(folder / "users-sample.csv"), "--profile", "snipe-it"
    )
    assert data["people"] == {"created": 0, "skipped": 100}  # known people are not doubled


def test_netbox_devices_and_sites(
    cmdb: Cmdb, real_data: Path, db_path: Path, tmp_path: Path
) -> None:
    folder = real_data / "netbox-demo-data" / "derived"
    code, data, _ = cli(db_path, "import", str(folder / "sites.csv"), "--profile", "netbox")
    assert code == 0 and data["cis"]["created"] == 24
    with (folder / "devices.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    names = Counter(r["name"] for r in rows if r["name"])
    code, data, err = cli(
        db_path,
        "import",
        str(folder / "devices.csv"),
        "--profile",
        "netbox",
        "--skip-errors",
        "--rejects",
        str(tmp_path / "rejects.xlsx"),
    )
    # the only rows refused: unnamed devices (nothing identifies them) and names that
    # repeat across sites (NetBox names are unique per site only)
    assert {e["message"].split(" (")[0].split(":")[0] for e in data["errors"]} == {
        "none of its identification keys has a value",
        "duplicate",
    }
    assert data["cis"]["created"] == sum(1 for n in names.values() if n == 1)
    pdu = next(r for r in rows if r["role"] == "PDU")
    (ref,) = cmdb.items.find_by_name(pdu["name"])
    rec = cmdb.items.get(ref.id)
    assert rec.class_name == "Power Device" and rec.values["location"] == pdu["site"]
