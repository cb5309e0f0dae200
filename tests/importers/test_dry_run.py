"""The dry run is a full record of what the import would do, and a promise: no import
fails (or does anything else) where its dry run said otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from cmdb_desktop.cmdb import Cmdb
from importers.apply import ImportResult, import_file
from importers.outcomes import SAMPLE_ROWS, RowKeys
from tests.commandline import cli
from tests.dbstate import content
from tests.importers.sheets import write_csv, write_xlsx


def _changes(filled: Cmdb, tmp_path: Path) -> Path:
    """Against ``filled``: an update, an unchanged row, a new CI, a CI found by its
    serial number, rows with errors; relationships created, unchanged, refused."""
    return write_xlsx(
        tmp_path / "changes.xlsx",
        {
            "CIs": [
                ["Name", "Class", "Status", "Serial Number", "Owner"],
                ["web01", "Server", "In Use", "SN-1", "Zed"],  # owner Alice → Zed
                ["crm", "Application", "In Use", None, "Carol"],  # unchanged
                ["app9", "Application", "Planned", None, "@team-ops"],  # new
                ["renamed-db", "Server", "In Use", "SN-3", None],  # db01 by serial
                ["broken", "Server", "Sideways", None, None],  # bad status
                ["ghost", "Spaceship", None, None, None],  # unknown class
            ],
            "Relationships": [
                ["Source", "Type", "Target"],
                ["crm", "Runs on", "web01"],  # exists
                ["app9", "Depends on", "crm"],  # new, to a new CI
                ["crm", "Runs on", "nowhere"],  # unknown target
            ],
        },
    )


def test_the_json_lists_every_row(filled: Cmdb, tmp_path: Path, db_path: Path) -> None:
    before = content(db_path)
    code, data, _ = cli(db_path, "import", str(_changes(filled, tmp_path)), "--dry-run")
    assert code == 2 and data["dry_run"] is True and content(db_path) == before
    # PRODUCT.md §6 keys are all still there
    assert {"dry_run", "batch", "cis", "relationships", "errors", "warnings"} <= set(data)
    rows = {(r["sheet"], r["row"]): r for r in data["rows"]}
    assert len(data["rows"]) == len(rows) == 6 + 3
    web01, db01 = filled.items.resolve("web01"), filled.items.resolve("db01")
    assert rows["CIs", 2] == {
        "sheet": "CIs",
        "row": 2,
        "kind": "ci",
        "outcome": "updated",
        "key": "SN-1",  # servers are found by serial number first
        "ci": web01,
        "class": "Server",
        "name": "web01",
        "changes": [{"field": "owner", "old": "Alice", "new": "Zed"}],
        "errors": [],
    }
    assert rows["CIs", 3]["outcome"] == "unchanged" and rows["CIs", 3]["key"] == "Application/crm"
    new = rows["CIs", 4]
    assert (new["outcome"], new["key"], new["ci"]) == ("created", "Application/app9", None)
    assert new["values"]["owner"] == "@team-ops" and new["changes"] == []
    by_serial = rows["CIs", 5]
    assert (by_serial["key"], by_serial["ci"]) == ("SN-3", db01)
    assert {"field": "name", "old": "db01", "new": "renamed-db"} in by_serial["changes"]
    bad = rows["CIs", 6]
    assert bad["outcome"] == "error" and bad["errors"][0]["column"] == "Status"
    assert rows["CIs", 7]["errors"][0]["message"].startswith("unknown class 'Spaceship'")
    assert [rows["Relationships", n]["outcome"] for n in (2, 3, 4)] == [
        "unchanged",
        "created",
        "error",
    ]
    assert rows["Relationships", 3]["key"] == "app9 Depends on crm"
    assert rows["Relationships", 4]["key"] == "crm Runs on nowhere"


def test_the_real_import_records_the_ids_it_created(cmdb: Cmdb, servers_xlsx: Path) -> None:
    result = import_file(cmdb, servers_xlsx)
    created = [r for r in result.to_json()["rows"] if r["kind"] == "ci"]
    assert sorted(r["ci"] for r in created) == sorted(result.summary.created)  # type: ignore[union-attr]
    assert all(filled_id is not None for filled_id in (r["ci"] for r in created))


def _many_new(tmp_path: Path, n: int) -> Path:
    rows: list[list[Any]] = [["Name", "Class", "Status", "Owner"]]
    rows += [[f"new-{i:03}", "Server", "In Use", None] for i in range(n)]
    rows += [["web01", "Server", "In Use", "Zed"], ["web02", "Server", "In Use", "Bob"]]
    return write_csv(tmp_path / "many.csv", rows)


def test_the_text_shows_a_sample_of_each_outcome(
    filled: Cmdb, tmp_path: Path, db_path: Path
) -> None:
    import io

    from cmdb_desktop.cli import main

    out, err = io.StringIO(), io.StringIO()
    path = _many_new(tmp_path, 25)
    code = main(["--db", str(db_path), "import", str(path), "--dry-run"], out=out, err=err)
    text = out.getvalue()
    assert code == 0, err.getvalue()
    assert "Created (25):" in text and "+ many row 2: Server/new-000" in text
    assert f"… and {25 - SAMPLE_ROWS} more" in text
    assert "Updated (1):" in text and "~ many row 27: Server/web01 (#" in text
    assert "owner: Alice → Zed" in text
    assert "Unchanged (1):" in text and "= many row 28: Server/web02" in text
    assert '--format json (its "rows"), or -o FILE.xlsx' in text


def test_the_workbook_has_a_sheet_per_outcome(filled: Cmdb, tmp_path: Path, db_path: Path) -> None:
    target = tmp_path / "diff.xlsx"
    before = content(db_path)
    code, data, _ = cli(
        db_path, "import", str(_changes(filled, tmp_path)), "--dry-run", "-o", str(target)
    )
    assert code == 2 and data["outcomes"] == str(target) and content(db_path) == before
    wb = load_workbook(target)
    assert wb.sheetnames == ["Summary", "Created", "Updated", "Unchanged", "Errors"]
    for ws in wb.worksheets:  # nothing anyone's spreadsheet program would evaluate
        assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]

    def lines(title: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in wb[title].iter_rows(min_row=2, values_only=True)]

    created = lines("Created")
    assert ("CIs", 4, "CI", "Application/app9", "Application") == created[0][:5]
    assert "owner: @team-ops" in created[0][5]
    assert ("Relationships", 3, "Relationship", "app9 Depends on crm") == created[1][:4]
    updated = lines("Updated")
    web01 = filled.items.resolve("web01")
    assert ("CIs", 2, "CI", "SN-1", web01, "owner", "Alice", "Zed") in updated
    assert len([u for u in updated if u[1] == 5]) == 2  # db01: name and status, a line each
    assert {u[1] for u in lines("Unchanged")} == {3, 2}
    errors = lines("Errors")
    assert [(e[0], e[1], e[4]) for e in errors] == [
        ("CIs", 6, "Status"),
        ("CIs", 7, "Class"),
        ("Relationships", 4, "Target"),
    ]


def _records(result: ImportResult) -> list[tuple[Any, ...]]:
    """Every row as a comparison sees it (a created CI's id is known only after writing)."""
    keys = RowKeys(result.plan)
    out = []
    for o in result.plan.rows:
        out.append(
            (
                o.sheet,
                o.row,
                o.kind,
                o.status,
                keys.key(o),
                None if o.status == "created" else o.ci_id,
                o.class_name,
                o.name,
                {k: tuple(v) for k, v in o.changes.items()},
                [e.to_json() for e in o.errors],
                o.note,
            )
        )
    return out


def dry_then_real(cmdb: Cmdb, path: Path, **options: Any) -> ImportResult:
    """Run the dry run, then the import, and hold the import to the dry run's word."""
    dry = import_file(cmdb, path, dry_run=True, **options)
    real = import_file(cmdb, path, **options)
    assert _records(real) == _records(dry), path
    assert [e.to_json() for e in real.errors] == [e.to_json() for e in dry.errors]
    assert real.written == (not dry.errors or options.get("skip_errors", False)), path
    if dry.errors and not options.get("skip_errors"):
        assert real.batch_id is None
    return real


def _synthetic(tmp_path: Path, filled: Cmdb) -> Iterator[tuple[Path, dict[str, Any]]]:
    yield _changes(filled, tmp_path), {}
    yield _changes(filled, tmp_path), {"skip_errors": True}
    yield _many_new(tmp_path, 30), {}
    yield _many_new(tmp_path, 30), {}  # now unchanged
    yield (
        write_csv(
            tmp_path / "keys.csv",
            [
                ["Name", "Class", "Asset Tag", "Serial Number", "Criticality"],
                ["WEB01", "Server", "AT-1", "sn-1", 1],  # web01, folded
                ["twin", "Server", None, "SN-2", 2],  # web02's serial on another name
                ["twin", "Server", None, "SN-77", 2],  # the same new name twice
                ["dup-a", "Server", "AT-9", None, 9],  # criticality out of range
                ["dup-b", "Server", "AT-9", None, 3],  # AT-9 claimed twice
                ["long", "Server", None, "X" * 150, 3],  # longer than the column holds
            ],
        ),
        {"skip_errors": True},
    )
    yield (
        write_xlsx(
            tmp_path / "links.xlsx",
            {
                "Relationships": [
                    ["Source", "Type", "Target", "Source Class", "Target Class"],
                    ["web01", "Located in", "rack-a", None, None],  # exists
                    ["rack-a", "Contains", "web02", None, None],  # reverse name, new
                    ["web02", "Located in", "rack-a", None, None],  # the same again
                    ["crm", "Runs on", "crm", None, None],  # itself
                    ["crm", "Runs on", "db01", "Application", "Rack"],  # wrong class
                ]
            },
        ),
        {},
    )
    yield (
        write_csv(
            tmp_path / "move.csv",
            [["Name", "Class", "Owner"], ["db01", "Network Device", "Dan"], ["rack-a", "", ""]],
        ),
        {"blank": "clear"},
    )


def test_no_import_does_other_than_its_dry_run_said(filled: Cmdb, tmp_path: Path) -> None:
    for path, options in _synthetic(tmp_path, filled):
        dry_then_real(filled, path, **options)


#: Real exports, with what each needs to import at all (a class for rows without one).
_REAL_CLASSES = (None, "Server")


def test_no_import_of_real_data_does_other_than_its_dry_run_said(
    real_data: Path, tmp_path: Path
) -> None:
    files = sorted(real_data.rglob("*.csv"))
    if not files:
        pytest.skip("no CSV files under the real data")
    for n, path in enumerate(files):
        for cls in _REAL_CLASSES:
            with Cmdb.open(tmp_path / f"real-{n}-{cls}.sqlite", user="tester") as cmdb:
                rejects = tmp_path / f"rejects-{n}-{cls}.xlsx"  # never beside the real file
                first = dry_then_real(
                    cmdb, path, default_class=cls, skip_errors=True, rejects_path=rejects
                )
                if first.written:  # once more: what is there now is unchanged or updated
                    dry_then_real(cmdb, path, default_class=cls)


def test_a_value_longer_than_its_column_fails_the_dry_run_too(
    cmdb: Cmdb, tmp_path: Path, db_path: Path
) -> None:
    """PostgreSQL refuses a 150-character serial number in its String(100) column; a
    dry run on SQLite passed it, then the import failed there. Every path now refuses
    it first, on any database."""
    serial = "X" * 150
    path = write_csv(
        tmp_path / "long.csv", [["Name", "Class", "Serial Number"], ["a", "Server", serial]]
    )
    code, data, _ = cli(db_path, "import", str(path), "--dry-run")
    assert code == 2
    (error,) = data["errors"]
    assert (error["row"], error["column"]) == (2, "Serial Number")
    assert "is 150 characters long; Serial Number holds at most 100" in error["message"]
    code, _, err = cli(db_path, "add", "Server", "b", f"serial_number={serial}")
    assert code == 2 and "holds at most 100" in err
    assert cmdb.items.count() == 0
