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
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    # What load_workbook(read_only=True, data_only=True) does, but for this one
    # sheet: it sizes every sheet, and a sheet without a <dimension> element
    # (openpyxl's write-only mode, our exports) is parsed whole to do so — 1.2 s
    # on an exported 10,000-CI workbook whose Model sheet has 65 rows.
    try:
        reader = ExcelReader(p, read_only=True, data_only=True)
    except Exception:  # not a workbook openpyxl reads: the normal reader reports it
        return None
    try:
        try:
            reader.read_manifest()
            reader.read_strings()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)  # number formats tell dates
            part = next(
                (
                    rel.target
                    for sheet, rel in reader.parser.find_sheets()
                    if sheet.name == MODEL_SHEET
                    and rel.target in reader.valid_files
                    and "chartsheet" not in rel.Type
                ),
                None,
            )
            if part is None:
                return None
            ws = ReadOnlyWorksheet(reader.wb, MODEL_SHEET, part, reader.shared_strings)
        except Exception:  # as load_workbook failing: the normal reader reports it
            return None
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
        reader.archive.close()
