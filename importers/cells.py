"""Formula-safe spreadsheet cells for everything we write with openpyxl.

openpyxl stores any string that starts with ``=`` as a formula, and
spreadsheet programs may evaluate text starting with ``+``, ``-``, ``@``, a
tab or a carriage return (CSV/DDE injection). Every text value we write goes
through :func:`safe_cell` or :func:`set_safe`: such text is stored as a
string cell with Excel's *quote prefix*, so no program evaluates it and the
value reads back unchanged (exports round-trip) — except that XML normalises
line ends, so a lone carriage return reads back as a line feed.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from cmdb_desktop.errors import BadFileError

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: openpyxl refuses these control characters in cell text.
_ILLEGAL = {c: None for c in range(32) if c not in (9, 10, 13)}


def needs_guard(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def clean_text(value: str) -> str:
    """Drop the control characters an .xlsx file cannot hold."""
    return value.translate(_ILLEGAL)


def cell_value(value: Any) -> Any:
    """What a Python value becomes in a cell (bools stay bools, None stays empty)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, datetime | date | int | float | bool) or value is None:
        return value
    return clean_text(str(value))


def set_safe(cell: Cell | WriteOnlyCell, value: Any) -> Cell | WriteOnlyCell:
    """Assign ``value`` to ``cell`` so that it can never be evaluated as a formula."""
    value = cell_value(value)
    cell.value = value
    if needs_guard(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def safe_cell(ws: Worksheet, value: Any) -> WriteOnlyCell:
    """A write-only cell holding ``value`` safely (for ``ws.append`` in write-only mode)."""
    cell = WriteOnlyCell(ws)
    set_safe(cell, value)
    return cell


def safe_row(ws: Worksheet, values: list[Any]) -> list[WriteOnlyCell]:
    return [safe_cell(ws, v) for v in values]


#: The header style every report shares: white bold text on dark blue.
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")


def styled_cell(ws: Worksheet, value: Any, **style: Any) -> WriteOnlyCell:
    """:func:`safe_cell` with style attributes (``font=…``, ``fill=…``, ``alignment=…``)."""
    cell = safe_cell(ws, value)
    for key, val in style.items():
        setattr(cell, key, val)
    return cell


def header_cells(ws: Worksheet, names: list[str] | tuple[str, ...]) -> list[WriteOnlyCell]:
    """A report's header row in the shared header style."""
    return [styled_cell(ws, n, font=HEADER_FONT, fill=HEADER_FILL) for n in names]


def save_workbook(wb: Workbook, target: Path) -> Path:
    """Save ``wb`` as ``target`` in one step: written beside it under a hidden name,
    then renamed over it, so a failure never leaves half a file or a damaged old one.
    BadFileError (saying what to do) if the file cannot be written."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        wb.save(partial)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BadFileError(
            f"Cannot write {target}: {exc.strerror or exc}. "
            "Close it if a spreadsheet program has it open, or choose another file."
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
