"""The canonical workbook's ``Model`` sheet: classes, attributes, relationship types.

An export writes the whole data model here (one row per class, attribute and
relationship type; :func:`cmdb_desktop.model_spec.describe_model`), so the
workbook carries its model. Import reads it first and adopts what the CMDB
lacks (:func:`cmdb_desktop.model_spec.plan_model` — shown in a dry run,
created before the rows are planned). Text cells go through the cell-safety
helpers like every other sheet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmdb_desktop.metamodel import Metamodel
from cmdb_desktop.model_spec import MODEL_HEADERS, ModelRow, describe_model
from importers.cells import cell_value, needs_guard, safe_cell
from importers.workbook import MODEL_SHEET

__all__ = ["MODEL_SHEET", "read_model_rows", "write_model_sheet"]
#: More rows than any model has: a bigger sheet is not ours and is not read.
MAX_MODEL_ROWS = 20_000
_WIDTHS = {"Kind": 18, "Name": 26, "Class": 22, "Key": 20, "Choices": 36, "Description": 40}


def write_model_sheet(wb: Any, meta: Metamodel) -> str:
    """Append the Model sheet to a write-only workbook; its name."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(MODEL_SHEET)
    ws.freeze_panes = "A2"
    for i, header in enumerate(MODEL_HEADERS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(header, 12)
    head = []
    for title in MODEL_HEADERS:
        cell = safe_cell(ws, title)
        cell.font = Font(bold=True, color="FFFFFFFF")
        cell.fill = PatternFill("solid", start_color="FF35506B")
        head.append(cell)
    ws.append(head)
    for row in describe_model(meta):
        values = []
        for header in MODEL_HEADERS:
            value = row.values.get(header)
            if isinstance(value, str) and needs_guard(value):
                values.append(safe_cell(ws, value))
            else:
                values.append(cell_value(value))
        ws.append(values)
    return MODEL_SHEET


def read_model_rows(path: str | Path) -> list[ModelRow] | None:
    """The Model sheet's rows, or None when the workbook has none (or is not .xlsx)."""
    p = Path(path)
    if p.suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    from openpyxl import load_workbook

    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception:  # not a workbook openpyxl reads: the normal reader reports it
        return None
    try:
        if MODEL_SHEET not in wb.sheetnames:
            return None
        ws = wb[MODEL_SHEET]
        rows = ws.iter_rows(values_only=True, max_row=MAX_MODEL_ROWS + 1)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        if "Kind" not in header or "Name" not in header:
            return None
        out = []
        for values in rows:
            record = {h: v for h, v in zip(header, values, strict=False) if h}
            if any(v not in (None, "") for v in record.values()):
                out.append(ModelRow(record))
        return out
    finally:
        wb.close()
