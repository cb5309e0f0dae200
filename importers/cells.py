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

import gc
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._writer import ALL_TEMP_FILES
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

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


@contextmanager
def new_workbook(target: Path, *, write_only: bool = True) -> Iterator[Workbook]:
    """A new workbook, saved as ``target`` (:func:`save_workbook`) when the block ends.

    A write-only sheet spills its rows into a temporary file as they are
    appended, so a full disk can stop the writing long before the save: a
    failure to write, then or while saving, is the BadFileError that names
    ``target``, and nothing is left behind (no file, no temporary file, no
    second traceback from a half-written stream).
    """
    wb = Workbook(write_only=write_only)
    try:
        yield wb
    except OSError as exc:
        _let_go(wb, exc)
        raise _cannot_write(target, exc) from None
    except BaseException as exc:
        _let_go(wb, exc)
        raise
    save_workbook(wb, target)


def save_workbook(wb: Workbook, target: Path) -> Path:
    """Save ``wb`` as ``target`` in one step: written beside it under a hidden name,
    then renamed over it, so a failure never leaves half a file or a damaged old one.
    BadFileError (saying what to do) if the file cannot be written."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        _write_archive(wb, partial)
        os.replace(partial, target)
    except OSError as exc:
        _let_go(wb, exc)
        partial.unlink(missing_ok=True)
        raise _cannot_write(target, exc) from None
    except BaseException as exc:
        _let_go(wb, exc)
        partial.unlink(missing_ok=True)
        raise
    return target


def _write_archive(wb: Workbook, path: Path) -> None:
    """What ``wb.save(path)`` does, with the archive closed even when writing fails:
    left open, its destructor would try to finish it on the same full disk and
    print a second traceback."""
    if wb.write_only and not wb.worksheets:
        wb.create_sheet()
    # openpyxl writes each sheet of an ordinary workbook to a temporary file first
    # and deletes it once in the archive; a failure leaves the last one behind.
    # (Workbooks are saved by one thread at a time: the CLI's, or the GUI's worker.)
    temporary = set(ALL_TEMP_FILES)
    archive = ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        wb.properties.modified = datetime.now(tz=UTC).replace(tzinfo=None)
        ExcelWriter(wb, archive).save()
    except BaseException:
        with suppress(OSError, ValueError):
            archive.close()  # closes the file even when finishing the archive fails
        for leftover in set(ALL_TEMP_FILES) - temporary:
            with suppress(OSError, ValueError):
                ALL_TEMP_FILES.remove(leftover)
                os.remove(leftover)
        raise


def _let_go(wb: Workbook, exc: BaseException) -> None:
    """Finish, now and quietly, what a failed write leaves half-done: ``wb``'s own
    streams (:func:`discard_workbook`) and those openpyxl made for the save and
    dropped on the way out (only the frames of ``exc``'s traceback hold them).
    Finished later by the garbage collector on the same full disk, each would
    print a traceback of its own ("Exception ignored in …")."""
    previous = sys.unraisablehook

    def quiet(unraisable: sys.UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, OSError):
            previous(unraisable)

    sys.unraisablehook = quiet
    try:
        discard_workbook(wb)
        traceback.clear_frames(exc.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = previous


def discard_workbook(wb: Workbook) -> None:
    """Let go of a workbook that will not be saved: close each write-only sheet's
    row streams (now, quietly: closed later by the garbage collector, a stream on
    a full disk prints a traceback) and delete the temporary files they wrote."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        for stream in (getattr(ws, "_rows", None), getattr(writer, "xf", None)):
            if stream is not None:
                with suppress(Exception):
                    stream.close()
        if writer is not None and isinstance(getattr(writer, "out", None), str):
            with suppress(Exception):
                writer.cleanup()  # removes the temporary file and openpyxl's note of it


def _cannot_write(target: Path, exc: OSError) -> BadFileError:
    return BadFileError(
        f"Cannot write {target}: {exc.strerror or exc}. Nothing was written: free some space "
        "if the disk is full, close the file if a spreadsheet program has it open, or "
        "choose another file."
    )
