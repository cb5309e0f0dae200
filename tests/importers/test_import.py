"""Importing as a user does: dry run, all-or-nothing, skip errors, every error at once."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CancelledError
from cmdb_desktop.progress import Progress
from importers.apply import apply_import, import_file
from importers.mapping import ColumnMap, ImportMapping, SheetMapping
from importers.plan import load_source, plan_import, suggest_mapping
from tests.commandline import cli
from tests.dbstate import content
from tests.importers.sheets import write_csv, write_xlsx
from tests.legacy import legacy_ci

IMPORT_KEYS = {"dry_run", "batch", "cis", "relationships", "errors", "warnings"}


def test_create_then_unchanged(cmdb: Cmdb, servers_xlsx: Path, db_path: Path) -> None:
    code, data, _ = cli(db_path, "import", str(servers_xlsx))
    assert code == 0, data
    assert IMPORT_KEYS <= data.keys()
    assert data["dry_run"] is False and isinstance(data["batch"], int)
    assert data["cis"] == {"created": 5, "updated": 0, "unchanged": 0, "errors": 0}
    assert data["relationships"] == {"created": 3, "unchanged": 0, "errors": 0}
    web02 = cmdb.items.get("web02")
    assert web02.values["cost"] == 1300.25 and web02.values["purchase_date"] == date(2024, 1, 31)
    # "web02 Runs crm" is the reverse name: stored as crm Runs on web02.
    rels = {(r.type, r.direction, r.other.name) for r in cmdb.relations.of(web02.id)}
    assert rels == {("Runs on", "incoming", "crm")}
    code, data, _ = cli(db_path, "import", str(servers_xlsx))
    assert code == 0 and data["batch"] is None
    assert data["cis"]["unchanged"] == 5 and data["relationships"]["unchanged"] == 3


def test_dry_run_writes_nothing(cmdb: Cmdb, servers_xlsx: Path, db_path: Path) -> None:
    before = content(db_path)
    code, data, _ = cli(db_path, "import", str(servers_xlsx), "--dry-run")
    assert code == 0 and data["dry_run"] is True and data["batch"] is None
    assert data["cis"]["created"] == 5
    assert content(db_path) == before


@pytest.mark.backends
def test_updates_report_old_and_new(filled: Cmdb, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "edit.xlsx",
        {"CIs": [["Name", "Class", "Owner", "Cost"], ["web01", "Server", "Dave", 1200.5]]},
    )
    plan = plan_import(filled, *_source(filled, path))
    (row,) = plan.rows
    assert row.status == "updated" and row.changes == {"owner": ("Alice", "Dave")}
    assert "owner: Alice → Dave" in row.describe()
    result = apply_import(filled, plan)
    assert filled.items.get("web01").values["owner"] == "Dave"
    history = filled.history.for_ci(row.ci_id or 0)
    assert history[0].field == "owner" and history[0].batch_id == result.batch_id
    assert history[0].sheet == "CIs" and history[0].row == 2


def _source(cmdb: Cmdb, path: Path):  # type: ignore[no-untyped-def]
    source = load_source(path, meta=cmdb.meta)
    return source, suggest_mapping(source, cmdb.meta)


def test_every_error_at_once_with_sheet_rows(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "bad.xlsx",
        {
            "CIs": [
                ["Inventory export"],
                ["Name", "Class", "Status", "Cost", "Criticality"],
                ["ok1", "Server", "In Use", 10, 1],
                ["bad-cost", "Server", "In Use", "ten", 1],
                ["ok2", "Server", "In Use", 10, 1],
                ["two-bad", "Server", "Lost", "1,2,3", 9],
                ["no-class", "Spaceship", "In Use", None, None],
            ]
        },
    )
    before = content(db_path)
    code, data, err = cli(db_path, "import", str(path))
    assert code == 2 and "Traceback" not in err
    assert content(db_path) == before
    found = {(e["row"], e["column"]) for e in data["errors"]}
    assert found == {
        (4, "Cost"),
        (6, "Status"),
        (6, "Cost"),
        (6, "Criticality"),
        (7, "Class"),
    }
    assert all(e["sheet"] == "CIs" for e in data["errors"])
    assert data["cis"]["errors"] == 3 and data["cis"]["created"] == 2
    assert any("Spaceship" in e["message"] for e in data["errors"])


@pytest.mark.parametrize(
    ("name", "payload", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n\n  \n", "no data"),
        ("header-only.csv", b"Name,Class\n", "no data rows"),
        ("picture.xlsx", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a spreadsheet"),
        ("cut.xlsx", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "damaged or truncated"),
    ],
)
def test_unreadable_files_exit_2(
    cmdb: Cmdb, tmp_path: Path, db_path: Path, name: str, payload: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(payload)
    before = content(db_path)
    code, data, err = cli(db_path, "import", str(path))
    assert code == 2 and message in err and "Traceback" not in err
    assert data["errors"] and message in data["message"]
    assert IMPORT_KEYS <= data.keys()
    assert content(db_path) == before


def test_missing_name_column(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [["Serial", "Owner"], ["SN1", "Alice"]])
    before = content(db_path)
    code, data, _ = cli(db_path, "import", str(path), "--class", "Server")
    assert code == 2
    assert any("no Name column" in e["message"] for e in data["errors"])
    assert content(db_path) == before


def test_stray_cell_at_xfd1048576_exits_2(cmdb: Cmdb, tmp_path: Path, db_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "CIs"
    ws.append(["Name", "Class", "Status"])
    ws.append(["web01", "Server", "In Use"])
    ws["XFD1048576"] = "x"
    wb.save(tmp_path / "stray.xlsx")
    before = content(db_path)
    code, data, err = cli(db_path, "import", str(tmp_path / "stray.xlsx"))
    assert code == 2 and "XFD1048576" in err
    assert content(db_path) == before


def test_skip_errors_commits_the_rest_and_writes_rejects(
    cmdb: Cmdb, tmp_path: Path, db_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "mixed.xlsx",
        {
            "CIs": [
                ["Name", "Class", "Status", "Cost"],
                ["good", "Server", "In Use", 1],
                ["=cmd|' /C calc'!A0", "Server", "In Use", "lots"],
                ["also-good", "Server", "In Use", 2],
            ],
            "Relationships": [
                ["Source", "Type", "Target"],
                ["good", "Depends on", "also-good"],
                ["good", "Depends on", "=cmd|' /C calc'!A0"],
            ],
        },
    )
    code, data, _ = cli(db_path, "import", str(path))
    assert code == 2 and data["batch"] is None and cmdb.items.count() == 0
    rejects = tmp_path / "rejected.xlsx"
    code, data, _ = cli(db_path, "import", str(path), "--skip-errors", "--rejects", str(rejects))
    assert code == 0 and data["batch"] and data["rejects"] == str(rejects)
    assert data["cis"]["created"] == 2 and data["relationships"]["created"] == 1
    assert {c.name for c in cmdb.items.find_by_name("good")} == {"good"}
    wb = load_workbook(rejects)
    ws = wb["CIs"]
    header = [c.value for c in ws[1]]
    assert header[0] == "Row" and header[-1] == "Error"
    row = [c for c in ws[2]]
    assert row[0].value == 3 and "Cost" in str(row[-1].value)
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)  # no live formulas
    assert wb["Relationships"].max_row == 2


def test_skip_errors_default_rejects_path(cmdb: Cmdb, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [["Name", "Class", "Status"], ["a", "Server", "Lost"]])
    result = import_file(cmdb, path, skip_errors=True)
    assert result.rejects == tmp_path / "in-rejects.xlsx" and result.rejects.exists()


@pytest.mark.backends
def test_relationship_resolution(filled: Cmdb, tmp_path: Path) -> None:
    filled.items.create("Rack", {"name": "web01", "status": "In Use"})  # a second web01
    path = write_xlsx(
        tmp_path / "rels.xlsx",
        {
            "Relationships": [
                ["Source", "Type", "Target", "Source Class", "Target Class"],
                ["crm", "Depends on", "web01", None, None],
                ["crm", "Depends on", "web01", None, "Server"],
                ["crm", "Runs on", "web01", None, "Server"],
                ["web01", "Runs", "crm", "Server", None],
                ["crm", "Teleports to", "db01", None, None],
                ["crm", "Depends on", "nowhere", None, None],
                ["crm", "Depends on", "crm", None, None],
                ["crm", "Depends on", "web01", None, "Server"],
            ]
        },
    )
    plan = plan_import(filled, *_source(filled, path))
    by_row = {r.row: r for r in plan.rows}
    assert by_row[2].status == "error" and "ambiguous" in by_row[2].errors[0].message
    assert "Server/web01" in by_row[2].errors[0].message
    assert by_row[3].status == "created"
    assert by_row[4].status == "unchanged"  # exists since the first import
    assert by_row[5].status == "unchanged"  # "web01 Runs crm" is crm Runs on web01
    assert "unknown relationship type" in by_row[6].errors[0].message
    assert "no CI named 'nowhere'" in by_row[7].errors[0].message
    assert "itself" in by_row[8].errors[0].message
    assert by_row[9].status == "unchanged" and by_row[9].note == "repeats row 3"


@pytest.mark.backends
def test_relationships_to_rows_of_the_same_file(cmdb: Cmdb, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "new.xlsx",
        {
            "CIs": [
                ["Name", "Class", "Status"],
                ["app", "Application", "In Use"],
                ["vm", "Virtual Machine", "Broken"],
                ["vm2", "Virtual Machine", "In Use"],
            ],
            "Relationships": [
                ["Source", "Type", "Target"],
                ["app", "Runs on", "vm"],
                ["app", "Runs on", "vm2"],
            ],
        },
    )
    plan = plan_import(cmdb, *_source(cmdb, path))
    rels = [r for r in plan.rows if r.kind == "relationships"]
    assert (
        rels[0].status == "error"
        and "row 3 of 'CIs', which has errors" in rels[0].errors[0].message
    )
    assert rels[1].status == "created" and rels[1].name == "app Runs on vm2"


@pytest.mark.backends
def test_duplicates_within_the_file(cmdb: Cmdb, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "dups.xlsx",
        {
            "CIs": [
                ["Name", "Class", "Status", "Serial Number"],
                ["a", "Server", "In Use", "SN1"],
                ["b", "Server", "In Use", "sn1"],
                ["c", "Application", "In Use", None],
                ["C", "Application", "In Use", None],
                ["c", "Database", "In Use", None],
            ]
        },
    )
    plan = plan_import(cmdb, *_source(cmdb, path))
    statuses = [r.status for r in plan.rows]
    assert statuses == ["error", "error", "error", "error", "created"]
    assert "this row and row 3" in plan.rows[0].errors[0].message


def test_ambiguous_match_is_an_error(filled: Cmdb, tmp_path: Path) -> None:
    legacy_ci(filled, "Application", "crm", status="Planned")  # a second crm, from before
    path = write_csv(tmp_path / "u.csv", [["Name", "Owner"], ["crm", "Zoe"]])
    plan = plan_import(filled, *_source(filled, path))
    (row,) = plan.rows
    assert row.status == "error" and "ambiguous match" in row.errors[0].message


@pytest.mark.backends
def test_blank_rule_ignore_or_clear(filled: Cmdb, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "blank.xlsx",
        {"CIs": [["Name", "Class", "Owner", "Cost"], ["web01", "Server", None, None]]},
    )
    assert plan_import(filled, *_source(filled, path)).rows[0].status == "unchanged"
    result = import_file(filled, path, blank="clear")
    assert result.to_json()["cis"]["updated"] == 1
    values = filled.items.get("web01").values
    assert values["owner"] is None and values["cost"] is None


def test_keys_given_for_the_import(filled: Cmdb, tmp_path: Path, db_path: Path) -> None:
    filled.items.update(filled.items.resolve("web01"), {"asset_tag": "TAG-1"})
    # Renamed and re-serialled, found by its asset tag.
    path = write_csv(
        tmp_path / "k.csv",
        [["Hostname", "Asset Tag", "Serial", "Class"], ["web01-new", "tag-1", "SN-9", "Server"]],
    )
    code, data, _ = cli(db_path, "import", str(path), "--key", "Asset Tag", "--dry-run")
    assert code == 0 and data["cis"]["updated"] == 1
    # By §3 the unknown serial decides: a new CI, whose asset tag is taken.
    code, data, _ = cli(db_path, "import", str(path), "--dry-run")
    assert code == 2 and "Asset Tag 'tag-1' already belongs to Server/web01" in str(data["errors"])


@pytest.mark.backends
def test_defaults_and_class_for_a_foreign_file(cmdb: Cmdb, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "hosts.csv", [["Hostname", "S/N"], ["h1", "X1"], ["h2", "X2"]])
    result = import_file(cmdb, path, default_class="Workstation", defaults={"status": "in stock"})
    assert result.to_json()["cis"]["created"] == 2
    rec = cmdb.items.get("h1")
    assert rec.class_name == "Workstation" and rec.values["status"] == "In Stock"
    assert rec.values["serial_number"] == "X1"


def test_value_translations_from_a_profile(cmdb: Cmdb, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [["Name", "State"], ["h1", "Ready to Deploy"]])
    profile = ImportMapping(
        [
            SheetMapping(
                "s",
                "cis",
                [
                    ColumnMap("Name", "name"),
                    ColumnMap("State", "status", values={"ready to deploy": "In Stock"}),
                ],
                default_class="Workstation",
            )
        ]
    )
    result = import_file(cmdb, path, mapping=profile)
    assert not result.errors and cmdb.items.get("h1").values["status"] == "In Stock"


@pytest.mark.backends
def test_history_of_a_bulk_create_points_at_batch_and_row(filled: Cmdb) -> None:
    rec = filled.items.get("db01")
    (entry,) = [e for e in filled.history.for_ci(rec.id) if e.entity == "ci"]
    assert entry.action == "create" and entry.source == "import"
    assert entry.batch_id is not None and entry.sheet == "CIs" and entry.row == 4
    rels = [e for e in filled.history.for_ci(filled.items.resolve("crm")) if e.entity != "ci"]
    assert {e.new_value for e in rels} == {"crm Runs on web01", "crm Runs on web02"}


def test_cancel_writes_nothing(cmdb: Cmdb, servers_xlsx: Path, db_path: Path) -> None:
    before = content(db_path)
    progress = Progress()
    source, mapping = _source(cmdb, servers_xlsx)
    plan = plan_import(cmdb, source, mapping)

    def stop(phase: str, done: int, total: int) -> None:
        if phase == "Writing" and done:
            progress.cancel()

    progress = Progress(stop, interval=0)
    with pytest.raises(CancelledError):
        apply_import(cmdb, plan, progress=progress)
    assert content(db_path) == before


@pytest.mark.backends
def test_stale_plan_is_checked_again(filled: Cmdb, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [["Name", "Class", "Owner"], ["web01", "Server", "Eve"]])
    plan = plan_import(filled, *_source(filled, path))
    assert plan.rows[0].changes == {"owner": ("Alice", "Eve")}
    # Someone else saves first; applying re-plans against what is there now.
    filled.items.update(filled.items.resolve("web01"), {"owner": "Frank"})
    result = apply_import(filled, plan)
    assert result.plan.rows[0].changes == {"owner": ("Frank", "Eve")}
    history = filled.history.for_ci(filled.items.resolve("web01"))
    assert (history[0].old_value, history[0].new_value) == ("Frank", "Eve")


def test_import_runs_off_the_gui_thread(cmdb: Cmdb, servers_xlsx: Path) -> None:
    seen: list[str] = []
    progress = Progress(lambda phase, done, total: seen.append(phase), interval=0)
    box: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: box.update(result=import_file(cmdb, servers_xlsx, progress=progress))
    )
    worker.start()
    worker.join(60)
    assert box["result"] and "Writing" in seen and "Checking CIs" in seen


def test_text_output(
    cmdb: Cmdb, servers_xlsx: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from cmdb_desktop.cli import main

    out, err = io.StringIO(), io.StringIO()
    assert (
        main(["--db", str(db_path), "import", str(servers_xlsx), "--dry-run"], out=out, err=err)
        == 0
    )
    text = out.getvalue()
    assert text.startswith("Dry run (nothing written): servers.xlsx")
    assert "CIs: 5 created" in text


def test_mapping_file_and_saved_profile_on_the_command_line(
    cmdb: Cmdb, tmp_path: Path, db_path: Path
) -> None:
    path = write_csv(tmp_path / "m.csv", [["Host", "Kind", "State"], ["h1", "Server", "In Use"]])
    saved = tmp_path / "profile.json"
    code, data, _ = cli(db_path, "import", str(path), "--dry-run", "--save-mapping", str(saved))
    assert code == 2  # "Host" and "Kind" mean nothing yet: no Name column
    profile = ImportMapping.load(saved)
    sheet = profile.sheets[0]
    for col in sheet.columns:
        col.target = {"Host": "name", "Kind": "class", "State": "status"}[col.column]
    profile.save(saved)
    code, data, _ = cli(db_path, "import", str(path), "--mapping", str(saved))
    assert code == 0 and data["cis"]["created"] == 1
    from importers.mapping import save_profile

    save_profile(cmdb, "hosts", profile)
    code, data, _ = cli(db_path, "import", str(path), "--mapping", "hosts", "--dry-run")
    assert code == 0 and data["cis"]["unchanged"] == 1
    code, data, err = cli(db_path, "import", str(path), "--mapping", "nope")
    assert code == 2 and "no saved mapping profile" in err


@pytest.mark.parametrize("phase", ["Checking CIs", "Checking relationships", "Writing"])
def test_cancel_during_a_one_call_import(
    cmdb: Cmdb, servers_xlsx: Path, db_path: Path, phase: str
) -> None:
    before = content(db_path)
    progress = Progress()

    def stop(at: str, done: int, total: int) -> None:
        if at == phase:
            progress.cancel()

    progress = Progress(stop, interval=0)
    with pytest.raises(CancelledError):
        import_file(cmdb, servers_xlsx, progress=progress)
    assert content(db_path) == before


@pytest.mark.backends
def test_custom_attributes_round_trip(cmdb: Cmdb, tmp_path: Path) -> None:
    cmdb.classes.add_attribute("Server", "Rack Units", "integer", min_value=1)
    cmdb.classes.add_attribute("Server", "Backup", "boolean")
    cmdb.classes.add_attribute("Server", "Tier", "choice", choices=["Gold", "Silver"])
    cmdb.classes.add_attribute("Server", "Commissioned", "date")
    cmdb.classes.add_attribute("Server", "Primary Rack", "reference", reference_class="Rack")
    cmdb.items.create("Rack", {"name": "r1", "status": "In Use"})
    path = write_xlsx(
        tmp_path / "custom.xlsx",
        {
            "CIs": [
                [
                    "Name",
                    "Class",
                    "Status",
                    "Rack Units",
                    "Backup",
                    "Tier",
                    "Commissioned",
                    "Primary Rack",
                ],
                ["web01", "Server", "In Use", 2, "yes", "gold", "2024-02-01", "Rack/r1"],
                ["web02", "Server", "In Use", "zero", "maybe", "Bronze", "never", "r9"],
            ]
        },
    )
    plan = plan_import(cmdb, *_source(cmdb, path))
    assert plan.rows[0].status == "created"
    bad = {e.column for e in plan.rows[1].errors}
    assert bad == {"Rack Units", "Backup", "Tier", "Commissioned", "Primary Rack"}
    import_file(cmdb, path, skip_errors=True, rejects_path=tmp_path / "rej.xlsx")
    values = cmdb.items.get("web01").values
    assert values["rack_units"] == 2 and values["backup"] is True and values["tier"] == "Gold"
    assert values["commissioned"] == date(2024, 2, 1)
    assert values["primary_rack"] == cmdb.items.resolve("r1")
    from importers.export import export_workbook

    out = export_workbook(cmdb, tmp_path / "back.xlsx").path
    again = import_file(cmdb, out)
    assert not again.errors and again.batch_id is None
    assert again.to_json()["cis"]["unchanged"] == 2
