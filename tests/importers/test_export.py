"""Export and templates: round trips, safe cells, drop-down lists, long tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import BadFileError
from importers import export
from importers.apply import import_file
from importers.export import export_workbook, write_template
from tests.commandline import cli
from tests.dbstate import content


def test_round_trip_changes_nothing(demo_cmdb: Cmdb, tmp_path: Path) -> None:
    assert demo_cmdb.path is not None
    out = tmp_path / "all.xlsx"
    code, data, _ = cli(demo_cmdb.path, "export", "-o", str(out))
    assert code == 0 and data["cis"] == demo_cmdb.items.count()
    assert data["relationships"] == demo_cmdb.relations.count()
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames == ["CIs", "Relationships", "Model"]
    header = [c.value for c in next(wb["CIs"].iter_rows(max_row=1))]
    assert header[:3] == ["Name", "Class", "Status"]
    for label in ("Criticality", "Serial Number", "Redundancy (min up)", "Redundancy (min up %)"):
        assert label in header
    rel_header = [c.value for c in next(wb["Relationships"].iter_rows(max_row=1))]
    assert rel_header == ["Source", "Type", "Target", "Source Class", "Target Class"]
    wb.close()
    before = content(demo_cmdb.path)
    code, data, _ = cli(demo_cmdb.path, "import", str(out))
    assert code == 0, data["errors"][:3]
    assert data["batch"] is None
    assert data["cis"] == {
        "created": 0,
        "updated": 0,
        "unchanged": data["cis"]["unchanged"],
        "errors": 0,
    }
    assert data["cis"]["unchanged"] == demo_cmdb.items.count()
    assert data["relationships"]["created"] == 0 and data["relationships"]["errors"] == 0
    assert content(demo_cmdb.path) == before


def test_five_edited_cells_are_five_updates(demo_cmdb: Cmdb, tmp_path: Path) -> None:
    out = export_workbook(demo_cmdb, tmp_path / "all.xlsx").path
    wb = load_workbook(out)
    ws = wb["CIs"]
    header = [c.value for c in ws[1]]
    owner, status, crit = header.index("Owner"), header.index("Status"), header.index("Criticality")
    edits = [
        (2, owner, "New Owner"),
        (3, owner, None),
        (4, status, "In Maintenance"),
        (5, crit, 4),
        (6, owner, "Someone Else"),
    ]
    for row, col, value in edits:
        ws.cell(row=row, column=col + 1).value = value
    wb.save(out)
    result = import_file(demo_cmdb, out, blank="clear")
    counts = result.to_json()["cis"]
    assert counts["updated"] == 5 and counts["created"] == 0 and counts["errors"] == 0
    changed = [r for r in result.plan.rows if r.status == "updated"]
    assert sum(len(r.changes) for r in changed) == 5
    assert demo_cmdb.items.get(changed[-1].ci_id or 0).values["owner"] == "Someone Else"
    assert demo_cmdb.items.get(changed[1].ci_id or 0).values["owner"] is None


def test_text_that_looks_like_a_formula_is_never_one(cmdb: Cmdb, tmp_path: Path) -> None:
    for n, text in enumerate(["=1+2", "+cmd|' /C calc'!A0", "-5", "@SUM(A1)", "\tx"]):
        cmdb.items.create("Server", {"name": f"s{n}", "status": "In Use", "owner": text})
    cmdb.items.create("Server", {"name": "=evil()", "status": "In Use"})
    out = export_workbook(cmdb, tmp_path / "x.xlsx").path
    wb = load_workbook(out)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    result = import_file(cmdb, out)
    assert not result.errors and result.batch_id is None  # reads back unchanged


def test_export_of_some_classes(demo_cmdb: Cmdb, tmp_path: Path) -> None:
    result = export_workbook(demo_cmdb, tmp_path / "hw.xlsx", classes=["Hardware"])
    hardware = sum(
        n
        for cls, n in demo_cmdb.items.counts_by_class().items()
        if demo_cmdb.meta.is_hardware(demo_cmdb.meta.get_class(cls))
    )
    assert result.cis == hardware
    wb = load_workbook(result.path, read_only=True)
    classes = {r[1] for r in wb["CIs"].iter_rows(min_row=2, values_only=True)}
    assert classes <= {"Server", "Network Device", "Storage Device", "Workstation", "Power Device"}


def test_long_tables_continue_on_more_sheets(
    filled: Cmdb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "MAX_DATA_ROWS", 2)
    result = export_workbook(filled, tmp_path / "split.xlsx")
    assert result.sheets == ["CIs", "CIs 2", "CIs 3", "Relationships", "Relationships 2", "Model"]
    again = import_file(filled, result.path)
    assert not again.errors and again.batch_id is None
    assert again.to_json()["cis"]["unchanged"] == 5


def test_export_needs_an_xlsx_name(cmdb: Cmdb, tmp_path: Path) -> None:
    with pytest.raises(BadFileError, match=".xlsx"):
        export_workbook(cmdb, tmp_path / "out.csv")
    code, _, err = cli(tmp_path / "cmdb.sqlite", "export", "-o", str(tmp_path / "no" / "x.xlsx"))
    assert code == 2 and "does not exist" in err


def _validations(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation}


def test_template_with_drop_down_lists(cmdb: Cmdb, tmp_path: Path) -> None:
    code, data, _ = cli(tmp_path / "cmdb.sqlite", "template", "-o", str(tmp_path / "t.xlsx"))
    assert code == 0
    wb = load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["CIs", "Relationships", "Lists"]
    assert wb["Lists"].sheet_state == "hidden"
    ws = wb["CIs"]
    header = [c.value for c in ws[1]]
    checks = _validations(ws)
    lists = wb["Lists"]

    def values(formula: str) -> list[object]:
        rng = formula.split("!")[1].replace("$", "")
        return [c.value for row in lists[rng] for c in row]

    assert "Server" in values(checks["B2"]) and "Hardware" not in values(checks["B2"])
    status_col = chr(65 + header.index("Status"))
    assert values(checks[f"{status_col}2"]) == [
        "Planned",
        "Ordered",
        "In Stock",
        "In Use",
        "In Maintenance",
        "Retired",
        "Disposed",
    ]
    crit_col = chr(65 + header.index("Criticality"))
    assert values(checks[f"{crit_col}2"]) == [1, 2, 3, 4]
    rel_checks = _validations(wb["Relationships"])
    types = values(rel_checks["B2"])
    assert "Depends on" in types and "Used by" in types
    # An empty template imports as "no data rows"; hidden lists are never imported.
    code, data, err = cli(tmp_path / "cmdb.sqlite", "import", str(tmp_path / "t.xlsx"))
    assert code == 2 and "no data rows" in err


def test_template_for_one_class(cmdb: Cmdb, tmp_path: Path) -> None:
    out = write_template(cmdb, tmp_path / "apps.xlsx", class_name="Application")
    wb = load_workbook(out)
    header = [c.value for c in wb["CIs"][1]]
    assert "Version" in header and "Serial Number" not in header
    ws = wb["CIs"]
    ws.append(["billing", "Application", "In Use"])
    wb.save(out)
    result = import_file(cmdb, out)
    assert result.to_json()["cis"]["created"] == 1
    code, _, err = cli(tmp_path / "cmdb.sqlite", "template", "-o", str(out), "--class", "Nope")
    assert code == 2 and "Unknown class" in err
