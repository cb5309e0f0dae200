"""The .xlsx impact report for a change board, read back as a reviewer would open it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import BadFileError, ValidationError
from importers.impact_report import (
    IMPACTED_HEADER,
    IMPACTED_SHEET,
    SUMMARY_SHEET,
    write_impact_report,
)

HOSTILE = '=HYPERLINK("http://evil","x")'


def add(cmdb: Cmdb, cls: str, name: str, **fields: Any) -> int:
    values = {"name": name, "status": "In Use"}
    values.update({k: str(v) for k, v in fields.items()})
    return cmdb.items.create(cls, values).created[0]


@pytest.fixture
def assessed(cmdb: Cmdb) -> dict[str, int]:
    ids = {
        "switch": add(cmdb, "Network Device", "core-sw1"),
        "server": add(cmdb, "Server", HOSTILE),
        "app": add(cmdb, "Application", "-billing"),
        "svc": add(cmdb, "Business Service", "Billing", criticality=1),
        "other": add(cmdb, "Application Service", "+Reports"),
        "group": add(cmdb, "Cluster", "pair", redundancy_min_up=1),
        "spare": add(cmdb, "Server", "spare"),
    }
    cmdb.relations.relate(ids["server"], "Connected to", ids["switch"])
    cmdb.relations.relate(ids["app"], "Runs on", ids["server"])
    cmdb.relations.relate(ids["svc"], "Depends on", ids["app"])
    cmdb.relations.relate(ids["server"], "Member of", ids["group"])
    cmdb.relations.relate(ids["spare"], "Member of", ids["group"])
    cmdb.relations.relate(ids["other"], "Depends on", ids["group"])
    return ids


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(c for c in row) for row in ws.iter_rows(values_only=True)]


def test_report_for_a_change_board(cmdb: Cmdb, assessed: dict[str, int], tmp_path: Path) -> None:
    report = cmdb.analysis.impact([assessed["switch"]])
    out = write_impact_report(report, tmp_path / "CHG-0042.xlsx", cmdb="test.sqlite", user="ann")
    assert out == tmp_path / "CHG-0042.xlsx"
    assert not list(tmp_path.glob(".*partial"))
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SUMMARY_SHEET, IMPACTED_SHEET]

    summary = wb[SUMMARY_SHEET]
    cells = [c for row in _rows(summary) for c in row if c is not None]
    assert "Impact assessment" in cells and "test.sqlite" in cells and "ann" in cells
    assert "core-sw1" in cells, "the change set"
    flat = _rows(summary)
    counts = {r[0]: r[1] for r in flat if r and r[0] in ("Impacted CIs", "Down", "Degraded")}
    assert counts == {"Impacted CIs": 5, "Down": 3, "Degraded": 2}
    service_rows = [r for r in flat if r[3] in ("Billing", "+Reports")]
    assert [(r[0], r[1], r[3]) for r in service_rows] == [
        (1, "down", "Billing"),
        (None, "degraded", "+Reports"),
    ]
    assert service_rows[0][6] == f"core-sw1 → {HOSTILE} → -billing → Billing"
    assert any(r[0] == "down" and r[1] and "stops working" in r[1] for r in flat)

    sheet = wb[IMPACTED_SHEET]
    rows = _rows(sheet)
    assert rows[0] == IMPACTED_HEADER
    assert len(rows) == 6
    assert [r[3] for r in rows[1:]] == [item.ci.name for item in report.impacted]
    assert rows[1][:4] == ("down", 3, "Business Service", "Billing")
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:H6"
    assert sheet.column_dimensions["H"].width > 20
    # text that a spreadsheet would run is kept as text
    hostile = next(c for c in sheet["D"] if c.value == HOSTILE)
    assert hostile.data_type == "s" and hostile.quotePrefix
    assert next(c for c in sheet["D"] if c.value == "-billing").quotePrefix
    down = next(c for c in sheet["A"][1:] if c.value == "down")
    degraded = next(c for c in sheet["A"][1:] if c.value == "degraded")
    assert down.fill.fgColor.rgb != degraded.fill.fgColor.rgb
    assert sheet["A1"].font.bold


def test_nothing_impacted_and_depth(cmdb: Cmdb, assessed: dict[str, int], tmp_path: Path) -> None:
    report = cmdb.analysis.impact([assessed["svc"]])
    out = write_impact_report(report, tmp_path / "none.xlsx")
    wb = openpyxl.load_workbook(out)
    assert _rows(wb[IMPACTED_SHEET]) == [IMPACTED_HEADER]
    assert any(r[0] == "No service is impacted." for r in _rows(wb[SUMMARY_SHEET]))
    report = cmdb.analysis.impact([assessed["switch"]], depth=1)
    wb = openpyxl.load_workbook(write_impact_report(report, tmp_path / "d1.xlsx"))
    assert any(r[0] == "Depth" for r in _rows(wb[SUMMARY_SHEET]))
    assert len(_rows(wb[IMPACTED_SHEET])) == 2


def test_retired_members_of_the_change_set_are_noted(
    cmdb: Cmdb, assessed: dict[str, int], tmp_path: Path
) -> None:
    cmdb.items.update(assessed["spare"], {"status": "Retired", "retirement_reason": "spare"})
    report = cmdb.analysis.impact([assessed["spare"], assessed["switch"]])
    wb = openpyxl.load_workbook(write_impact_report(report, tmp_path / "r.xlsx"))
    notes = [r for r in _rows(wb[SUMMARY_SHEET]) if r[2] == "spare"]
    assert notes and "Retired" in notes[0][3]


def test_refuses_bad_targets_and_never_leaves_half_a_file(
    cmdb: Cmdb, assessed: dict[str, int], tmp_path: Path
) -> None:
    report = cmdb.analysis.impact([assessed["switch"]])
    with pytest.raises(ValidationError, match=r"\.xlsx"):
        write_impact_report(report, tmp_path / "report.ods")
    with pytest.raises(BadFileError, match="does not exist"):
        write_impact_report(report, tmp_path / "nope" / "report.xlsx")
    target = tmp_path / "taken.xlsx"
    target.mkdir()  # a folder where the file should go: replacing it fails
    with pytest.raises(BadFileError, match="Cannot write"):
        write_impact_report(report, target)
    assert target.is_dir() and not list(tmp_path.glob(".*partial"))
    existing = tmp_path / "old.xlsx"
    existing.write_bytes(b"old report")
    write_impact_report(report, existing)
    assert openpyxl.load_workbook(existing).sheetnames == [SUMMARY_SHEET, IMPACTED_SHEET]
