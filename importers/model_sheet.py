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
    """The Model sheet's rows, or None when the workbook has none (or is no workbook).

    Read like every other sheet: through :func:`importers.readers.open_spreadsheet`
    (calamine, after the checks of :mod:`importers.untrusted`), so a hostile file
    meets the same limits here as in the import, and only this sheet is loaded.
    A file that cannot be read gives None: the import's own reading reports it.
    """
    from cmdb_desktop.errors import BadFileError
    from importers.readers import TEXT_FORMATS, open_spreadsheet, sniff_format

    p = Path(path)
    try:
        if sniff_format(p) in TEXT_FORMATS:
            return None
        book = open_spreadsheet(p)
    except (BadFileError, OSError):
        return None
    with book:
        if MODEL_SHEET not in book.sheet_names:
            return None
        try:
            rows, _first_row, _first_col = book.raw_rows(MODEL_SHEET)
        except BadFileError:
            return None
    if not rows or len(rows) > MAX_MODEL_ROWS + 1:
        return None
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    if "Kind" not in header or "Name" not in header:
        return None
    out = []
    for values in rows[1:]:
        record = {h: _plain(v) for h, v in zip(header, values, strict=False) if h}
        if any(v not in (None, "") for v in record.values()):
            out.append(ModelRow(record))
    return out


def _plain(value: Any) -> Any:
    """A cell as it was written: empty as None, whole numbers as int (calamine
    gives "" and floats)."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
