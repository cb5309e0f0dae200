"""Audit compare: exact findings on generated inventories and on real files; the
CMDB is untouched (except for an explicit 'last verified' stamp, which is a batch)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import ConfigurationItem as CI
from importers.apply import import_file
from importers.audit import AuditScope, audit_file, stamp_verified
from importers.audit_report import write_audit_report
from importers.mapping import ColumnMap, ImportMapping, SheetMapping
from importers.workbook import KIND_CIS
from tests.legacy import legacy_ci


def _snapshot(cmdb: Cmdb) -> list[tuple[object, ...]]:
    with cmdb.read() as s:
        return [tuple(r) for r in s.execute(select(CI.__table__).order_by(CI.id))]


def _inventory(cmdb: Cmdb, path: Path, cls: str) -> list[dict[str, str]]:
    """A physical inventory of every CI of ``cls``: name, serial, asset tag, owner."""
    with cmdb.read() as s:
        rows = s.execute(
            select(CI.name, CI.serial_number, CI.asset_tag, CI.owner, CI.purchase_date)
            .where(CI.class_id == cmdb.meta.get_class(cls).id)
            .order_by(CI.id)
        ).all()
    out = [
        {
            "Hostname": n,
            "S/N": sn or "",
            "Asset Tag": tag or "",
            "Owner": owner or "",
            "Purchased": d.strftime("%d/%m/%Y") if d else "",
        }
        for n, sn, tag, owner, d in rows
    ]
    _write_csv(path, out)
    return out


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_generated_inventory_findings_are_exact(demo_cmdb: Cmdb, tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    rows = _inventory(demo_cmdb, path, "Server")
    removed = rows[10:15]
    edited = {
        rows[20]["Hostname"]: ("Owner", "Somebody Else"),
        rows[21]["Hostname"]: ("Purchased", "01/01/2001"),
        rows[22]["Hostname"]: ("Hostname", rows[22]["Hostname"] + "-renamed"),
    }
    for r in rows:
        if r["Hostname"] in edited:
            col, value = edited[r["Hostname"]]
            r[col] = value
    added = [
        {
            "Hostname": f"unknown-{i}",
            "S/N": f"NEW{i}",
            "Asset Tag": "",
            "Owner": "",
            "Purchased": "",
        }
        for i in range(3)
    ]
    kept = [r for r in rows if r not in removed] + added
    _write_csv(path, kept)
    before = _snapshot(demo_cmdb)
    generations = demo_cmdb.generations()

    result = audit_file(demo_cmdb, path, default_class="Server")

    assert _snapshot(demo_cmdb) == before and demo_cmdb.generations() == generations
    assert sorted(s.name for s in result.only_in_sheet) == [f"unknown-{i}" for i in range(3)]
    assert all(s.key == f"Serial Number 'NEW{s.name[-1]}'" for s in result.only_in_sheet)
    assert sorted(c.name for c in result.only_in_cmdb) == sorted(r["Hostname"] for r in removed)
    fields = sorted((m.ci.name, m.field) for m in result.mismatched)
    assert fields == sorted(
        [
            (rows[20]["Hostname"], "owner"),
            (rows[21]["Hostname"], "purchase_date"),
            (rows[22]["Hostname"].removesuffix("-renamed"), "name"),
        ]
    )
    owner = next(m for m in result.mismatched if m.field == "owner")
    # rows[20] is the 16th row kept (5 removed before it); the header is row 1
    assert owner.sheet == "Somebody Else" and owner.row == 17
    assert len(result.matched) == len(kept) - 3 - 3
    assert result.errors == []
    data = result.to_json()
    assert {"matched", "mismatched", "only_in_sheet", "only_in_cmdb"} <= data.keys()
    assert set(data["mismatched"][0]) >= {"ci", "field", "cmdb", "sheet", "row"}


def test_scope_narrows_only_in_cmdb(demo_cmdb: Cmdb, tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    rows = _inventory(demo_cmdb, path, "Server")
    _write_csv(path, rows[:1])
    everything = audit_file(demo_cmdb, path, default_class="Server")
    assert len(everything.only_in_cmdb) == len(rows) - 1
    retired = audit_file(
        demo_cmdb, path, default_class="Server", scope=AuditScope(statuses=["retired"])
    )
    assert 0 < len(retired.only_in_cmdb) < len(rows)
    site = demo_cmdb.items.find_by_name("Amsterdam DC1")[0].id
    located = audit_file(
        demo_cmdb, path, default_class="Server", scope=AuditScope(locations=[f"#{site}"])
    )
    assert 0 < len(located.only_in_cmdb) < len(everything.only_in_cmdb)
    assert all(c.name.startswith("ams") for c in located.only_in_cmdb)
    wider = audit_file(
        demo_cmdb, path, default_class="Server", scope=AuditScope(classes=["Hardware"])
    )
    assert len(wider.only_in_cmdb) > len(everything.only_in_cmdb)


def test_report_and_stamp(demo_cmdb: Cmdb, tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    rows = _inventory(demo_cmdb, path, "Server")
    rows[0]["Owner"] = '=HYPERLINK("http://evil")'
    _write_csv(path, rows[:50])
    result = audit_file(demo_cmdb, path, default_class="Server")
    report = write_audit_report(result, tmp_path / "audit.xlsx")
    wb = load_workbook(report)
    assert wb.sheetnames == ["Summary", "Mismatched", "Only in sheet", "Only in CMDB", "Errors"]
    assert all(c.data_type != "f" for ws in wb for row in ws.iter_rows() for c in row)
    assert wb["Mismatched"]["D3"].value == "Owner"
    assert wb["Only in CMDB"].max_row == len(result.only_in_cmdb) + 2

    batch = stamp_verified(demo_cmdb, result)
    assert batch is not None
    ids = [ref.id for ref, _ in result.matched]
    assert all(demo_cmdb.items.get(i).values["last_verified"] for i in ids)
    assert demo_cmdb.batches.get(batch).kind == "audit"
    demo_cmdb.batches.rollback(batch)


def test_cli_audit(demo_cmdb: Cmdb, tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    rows = _inventory(demo_cmdb, path, "Server")
    _write_csv(path, rows[:-2])
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "--db",
            str(demo_cmdb.path),
            "--format",
            "json",
            "audit",
            str(path),
            "--class",
            "Server",
            "--key",
            "serial_number",
            "-o",
            str(tmp_path / "r.xlsx"),
        ],
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    data = json.loads(out.getvalue())
    assert data["matched"] == len(rows) - 2
    assert [c["name"] for c in data["only_in_cmdb"]] == sorted(
        (r["Hostname"] for r in rows[-2:]), key=str.casefold
    )
    assert (tmp_path / "r.xlsx").exists()
    code = main(
        ["--db", str(demo_cmdb.path), "audit", str(tmp_path / "missing.csv")],
        out=io.StringIO(),
        err=(err := io.StringIO()),
    )
    assert code == 2 and "missing.csv" in err.getvalue()


@pytest.mark.backends
def test_ambiguous_and_duplicate_rows_are_errors(cmdb: Cmdb, tmp_path: Path) -> None:
    for cls in ("Server", "Network Device"):  # one Hardware identity twice: data from before
        legacy_ci(cmdb, cls, "PP:MDF")
    cmdb.items.create("Server", {"name": "web01", "status": "In Use"})
    path = tmp_path / "x.csv"
    _write_csv(path, [{"Name": "PP:MDF"}, {"Name": "web01"}, {"Name": "web01"}])
    result = audit_file(cmdb, path)
    messages = [(e.row, e.message) for e in result.errors]
    assert any(r == 2 and "ambiguous" in m for r, m in messages)
    assert {r for r, _ in messages} == {2, 3, 4}
    assert result.matched == []


# -- real data -----------------------------------------------------------------------


def test_snipe_it_assets(cmdb: Cmdb, real_data: Path, tmp_path: Path) -> None:
    """Import the dirty Snipe-IT file by asset tag, then audit the BLANKS variant (same
    assets, empty and shifted headers) by serial then asset tag."""
    bad = real_data / "snipe-it" / "assets-sample-BAD.csv"
    statuses = {
        "Ready to Deploy": "In Stock",
        "Undeployable": "In Maintenance",
        "Lost": "Disposed",
        "Archived": "Retired",
        "Pending Diagnostics": "In Maintenance",
    }
    profile = ImportMapping(
        [
            SheetMapping(
                "assets-sample-BAD", KIND_CIS, [ColumnMap("Status", "status", values=statuses)]
            )
        ]
    )
    result = import_file(
        cmdb,
        bad,
        mapping=profile,
        keys=[["asset_tag"]],
        default_class="Workstation",
        defaults={"status": "In Use"},
    )
    assert result.written and not result.errors, result.errors[:3]
    before = _snapshot(cmdb)
    blanks = real_data / "snipe-it" / "assets-sample-BLANKS.csv"
    result = audit_file(
        cmdb, blanks, default_class="Workstation", keys=[["serial_number"], ["asset_tag"]]
    )
    assert _snapshot(cmdb) == before
    assert result.rows == 200 and result.errors == [] and result.only_in_sheet == []
    # Without the import's status translation, the sheet's own words differ.
    assert {m.field for m in result.mismatched} == {"status"}
    assert len(result.matched) + result.mismatched_cis == 200
    same = audit_file(
        cmdb,
        blanks,
        mapping=profile,
        default_class="Workstation",
        keys=[["serial_number"], ["asset_tag"]],
    )
    assert len(same.matched) == 200 and same.only_in_cmdb == []


def test_netbox_devices_hostname_key(cmdb: Cmdb, real_data: Path) -> None:
    devices = real_data / "netbox-demo-data" / "derived" / "devices.csv"
    with devices.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if row["name"]:  # repeated hostnames: as another tool left them, past today's rules
            legacy_ci(cmdb, "Network Device", row["name"])
    result = audit_file(cmdb, devices, default_class="Network Device")
    ambiguous = [e for e in result.errors if "ambiguous" in e.message]
    named = [r["name"] for r in rows if r["name"]]
    repeated = {n for n in named if named.count(n) > 1}
    assert repeated and {e.row for e in ambiguous} == {
        i + 2 for i, r in enumerate(rows) if r["name"] in repeated
    }
    unique = [n for n in named if n not in repeated]
    assert len(result.matched) + result.mismatched_cis == len(unique)
