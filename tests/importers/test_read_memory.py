"""Every input is read within 1.5 GB of memory or refused (PRODUCT.md §8): what a
text file's cells will take is estimated before it is parsed, and a row wider
than a spreadsheet is refused naming it.

The full-size cases (20 million one-letter CSV cells, a 1.6-million-column CSV
line) are in the hostile corpus (``tests/importers/badfiles.py``); here the
budget is made small so that the rules are checked on small files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cmdb_desktop.errors import BadFileError
from importers import readers, untrusted
from importers.readers import MAX_COLUMNS, read_table
from tests.importers import badfiles

MEMORY = r"is refused: reading .* would take about [\d.,]+ GB of memory"


def test_a_csv_of_many_tiny_cells_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(untrusted, "CELLS_MEMORY_BUDGET", 20_000_000)
    path = tmp_path / "tiny.csv"
    path.write_bytes(badfiles.csv_tiny_cells(lines=300, columns=1000))
    with pytest.raises(BadFileError, match=MEMORY + r" \(about 300,00\d cells\)"):
        read_table(path)
    # the same text in fewer, longer cells fits
    path.write_bytes(badfiles.csv_bytes([("Name", "Class")] + [("a" * 1000, "Server")] * 300))
    assert len(read_table(path)) == 300


def test_the_estimate_bounds_what_csv_rows_take() -> None:
    """The estimate is an upper bound of what the parsed rows really take."""
    import csv
    import io

    for text in (
        "a,b,c\n" * 20_000,
        ",,,,,,,,,\n" * 20_000,
        "\n".join(["x"] * 50_000),
        "name,Zürich,€uro\r\n" * 10_000,
        '"quoted, with commas",b\n' * 10_000,
    ):
        rows = list(csv.reader(io.StringIO(text, newline="")))
        real = sys.getsizeof(rows) + sum(
            sys.getsizeof(r) + sum(sys.getsizeof(v) for v in r if v) for r in rows
        )
        assert untrusted.text_cells_memory(text, ",") >= real, text[:20]


def test_a_csv_as_wide_as_a_spreadsheet_is_read(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(badfiles.csv_wide(MAX_COLUMNS - 3))  # Name, Class, Status and the rest
    assert len(read_table(path).columns) == MAX_COLUMNS


def test_a_wider_csv_row_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    rows = [("Name", "Class", "Status"), ("web01", "Server", "In Use")] * 15_000
    path.write_bytes(badfiles.csv_bytes(rows) + b",".join([b"x"] * (MAX_COLUMNS + 1)) + b"\n")
    with pytest.raises(BadFileError, match=r"wide\.csv: row 30,001 has 16,385 columns"):
        read_table(path)


def test_text_files_over_the_size_limit_are_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_TEXT_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_bytes(badfiles.csv_bytes([("Name", "Class")] + [("srv", "Server")] * 200))
    with pytest.raises(BadFileError, match="are not read"):
        read_table(path)
