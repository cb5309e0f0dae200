"""Exports never carry live formulas, and guarded text reads back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from importers.cells import safe_row, set_safe

DANGEROUS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("x")']


@pytest.mark.parametrize("write_only", [True, False])
def test_no_formula_cells(tmp_path: Path, write_only: bool) -> None:
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("x") if write_only else wb.active
    assert ws is not None
    if write_only:
        ws.append(safe_row(ws, DANGEROUS + ["plain", 3, None]))
    else:
        for col, value in enumerate(DANGEROUS + ["plain", 3, None], start=1):
            set_safe(ws.cell(row=1, column=col), value)
    path = tmp_path / "out.xlsx"
    wb.save(path)
    back = load_workbook(path)
    cells = list(back.worksheets[0].iter_rows(values_only=False))[0]
    assert all(c.data_type != "f" for c in cells)
    # XML turns a bare CR into LF; everything else reads back exactly.
    assert [c.value for c in cells][: len(DANGEROUS)] == [v.replace("\r", "\n") for v in DANGEROUS]
