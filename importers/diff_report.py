"""The ``diff`` report (PRODUCT.md §11): net changes between two moments as a
workbook, one sheet per kind of change, every cell formula-safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from importers.cells import header_cells, new_workbook, safe_row

#: (sheet title, path in the diff document, header, row of one entry).
SHEETS: tuple[tuple[str, tuple[str, str], tuple[str, ...]], ...] = (
    ("CIs created", ("cis", "created"), ("ID", "Class", "Name")),
    ("CIs deleted", ("cis", "deleted"), ("ID", "Class", "Name")),
    ("Fields changed", ("cis", "changed"), ("ID", "Class", "Name", "Field", "Old", "New")),
    (
        "Relationships created",
        ("relationships", "created"),
        ("Source", "Type", "Target", "Source ID", "Target ID"),
    ),
    (
        "Relationships deleted",
        ("relationships", "deleted"),
        ("Source", "Type", "Target", "Source ID", "Target ID"),
    ),
)


def _row(kind: tuple[str, str], item: dict[str, Any]) -> list[Any]:
    if kind[0] == "relationships":
        return [item["source"], item["type"], item["target"], item["source_id"], item["target_id"]]
    if kind[1] == "changed":
        ci = item["ci"]
        return [ci["id"], ci["class"], ci["name"], item["field"], item["old"], item["new"]]
    return [item["id"], item["class"], item["name"]]


def write_diff_report(diff: dict[str, Any], target: Path) -> Path:
    """Write ``diff`` (the ``cmdb diff`` JSON document) to ``target``."""
    with new_workbook(target) as wb:
        ws = wb.create_sheet("Summary")
        ws.append(header_cells(ws, ["", ""]))
        ws.append(safe_row(ws, ["From", f"{diff['from']} ({diff['from_at']} UTC)"]))
        ws.append(safe_row(ws, ["To", f"{diff['to']} ({diff['to_at']} UTC)"]))
        for title, kind, _header in SHEETS:
            ws.append(safe_row(ws, [title, len(diff[kind[0]][kind[1]])]))
        for title, kind, header in SHEETS:
            sheet = wb.create_sheet(title)
            sheet.append(header_cells(sheet, list(header)))
            for item in diff[kind[0]][kind[1]]:
                sheet.append(safe_row(sheet, _row(kind, item)))
    return target
