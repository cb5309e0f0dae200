"""The audit report (.xlsx): something an auditor can hand to a manager.

Sheets: **Summary** (what was compared, when, by whom, the counts with a bar
chart and data bars, the scope), then one sheet per kind of finding —
**Mismatched** (CI, field, CMDB value, sheet value, sheet row),
**Only in sheet** (unregistered assets), **Only in CMDB** (CIs nobody found)
and **Errors** (rows that could not be judged). Every finding sheet has a
frozen, styled header, filters on every column and widths that fit.

Written in openpyxl's write-only mode to a temporary file that replaces the
target only when complete; every text cell goes through
:mod:`importers.cells`, so no value is ever evaluated as a formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import DataBarRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cmdb_desktop.errors import BadFileError
from cmdb_desktop.history import current_user
from importers.audit import AuditResult
from importers.cells import header_cells, new_workbook, styled_cell

SUMMARY = "Summary"
MISMATCHED = "Mismatched"
ONLY_SHEET = "Only in sheet"
ONLY_CMDB = "Only in CMDB"
ERRORS = "Errors"

_TITLE = Font(bold=True, size=14)
_BOLD = Font(bold=True)
_FILLS = {
    "Matched": PatternFill("solid", fgColor="C6EFCE"),
    "Mismatched CIs": PatternFill("solid", fgColor="FFEB9C"),
    "Only in sheet": PatternFill("solid", fgColor="F4B6B6"),
    "Only in CMDB": PatternFill("solid", fgColor="F4B6B6"),
    "Rows with errors": PatternFill("solid", fgColor="D9D9D9"),
}
_WRAP = Alignment(wrap_text=True, vertical="top")
_MAX_WIDTH = 60


def _text(value: Any) -> Any:
    """Dates and numbers stay typed; everything else becomes text."""
    if value is None:
        return ""
    return value


def _table(
    wb: Workbook,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    explain: str,
) -> int:
    ws = wb.create_sheet(title)
    widths = [len(h) + 2 for h in header]
    body: list[list[Any]] = []
    for row in rows:
        values = [_text(v) for v in row]
        for i, v in enumerate(values):
            widths[i] = min(_MAX_WIDTH, max(widths[i], len(str(v)) + 2))
        body.append(values)
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A3"
    ws.append([styled_cell(ws, explain, font=Font(italic=True, color="595959"))])
    ws.append(header_cells(ws, tuple(header)))
    for values in body:
        ws.append([styled_cell(ws, v) for v in values])
    last = get_column_letter(len(header))
    ws.auto_filter.ref = f"A2:{last}{len(body) + 2}"
    return len(body)


def write_audit_report(result: AuditResult, path: str | Path) -> Path:
    """Write the report to ``path`` (BadFileError when it cannot be written)."""
    out = Path(path).expanduser()
    if out.suffix.lower() != ".xlsx":
        raise BadFileError(f"The audit report is an .xlsx workbook; {out.name} is not.")
    if not out.parent.is_dir():
        raise BadFileError(f"No folder {out.parent} to write the report into.")
    with new_workbook(out) as wb:
        counts = result.counts()

        ws = wb.create_sheet(SUMMARY)
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 14
        ws.column_dimensions["C"].width = 70
        ws.append([styled_cell(ws, "CMDB audit", font=_TITLE)])
        ws.append([])
        context = [
            ("File", str(result.file)),
            ("Sheets", ", ".join(result.sheets)),
            ("Audited by", current_user()),
            ("When", datetime.now().strftime("%Y-%m-%d %H:%M")),
            ("Rows compared", counts["rows"]),
            ("Scope (only in CMDB)", ", ".join(result.scope_classes) or "—"),
        ]
        if result.scope.locations:
            context.append(("Locations", ", ".join(result.scope.locations)))
        if result.scope.statuses:
            context.append(("Statuses", ", ".join(result.scope.statuses)))
        for label, value in context:
            ws.append([styled_cell(ws, label, font=_BOLD), styled_cell(ws, value)])
        ws.append([])
        first = len(context) + 4
        ws.append(header_cells(ws, ("Finding", "Count", "Meaning")))
        findings = [
            ("Matched", counts["matched"], "Found in the CMDB with every audited field equal."),
            (
                "Mismatched CIs",
                counts["mismatched_cis"],
                f"Found, but {counts['mismatched_fields']:,} field value(s) differ — see "
                f"'{MISMATCHED}'.",
            ),
            (
                "Only in sheet",
                counts["only_in_sheet"],
                "Listed in the sheet but not registered in the CMDB.",
            ),
            (
                "Only in CMDB",
                counts["only_in_cmdb"],
                "Registered in the CMDB (within the scope) but not listed in the sheet.",
            ),
            (
                "Rows with errors",
                counts["errors"],
                "Rows that could not be judged (ambiguous keys, duplicates, bad values).",
            ),
        ]
        for label, n, meaning in findings:
            ws.append(
                [
                    styled_cell(ws, label, font=_BOLD, fill=_FILLS[label]),
                    styled_cell(ws, n),
                    styled_cell(ws, meaning, alignment=_WRAP),
                ]
            )
        last = first + len(findings)
        ws.conditional_formatting.add(
            f"B{first + 1}:B{last}",
            DataBarRule(start_type="num", start_value=0, end_type="max", color="5B9BD5"),
        )
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Findings"
        chart.legend = None
        chart.height, chart.width = 7.5, 16
        chart.add_data(Reference(ws, min_col=2, min_row=first, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=first + 1, max_row=last))
        ws.add_chart(chart, f"A{last + 3}")
        if result.warnings:
            for _ in range(17):
                ws.append([])
            ws.append([styled_cell(ws, "Notes", font=_BOLD)])
            for w in result.warnings:
                ws.append([styled_cell(ws, w, alignment=_WRAP)])

        _table(
            wb,
            MISMATCHED,
            ("Class", "Name", "ID", "Field", "CMDB value", "Sheet value", "Sheet", "Row"),
            (
                (m.ci.class_name, m.ci.name, m.ci.id, m.label, m.cmdb, m.sheet, m.sheet_name, m.row)
                for m in result.mismatched
            ),
            "One row per differing field: what the CMDB holds and what the sheet says.",
        )
        _table(
            wb,
            ONLY_SHEET,
            ("Sheet", "Row", "Class", "Name", "Identified by"),
            ((s.sheet_name, s.row, s.class_name, s.name, s.key) for s in result.only_in_sheet),
            "Rows of the sheet that match no CI: unregistered assets.",
        )
        _table(
            wb,
            ONLY_CMDB,
            ("Class", "Name", "ID"),
            ((c.class_name, c.name, c.id) for c in result.only_in_cmdb),
            "CIs within the scope that no row of the sheet names.",
        )
        _table(
            wb,
            ERRORS,
            ("Sheet", "Row", "Column", "Problem"),
            ((e.sheet, e.row, e.column, e.message) for e in result.errors),
            "Rows that could not be compared; fix them and audit again.",
        )
    return out
