"""Every input is read within 1.5 GB of memory or refused (PRODUCT.md §8): what a
file's cells will take is estimated before anything big is allocated, and the
child that probes .xls/.xlsb/.ods files reads them whole under that limit.

The full-size cases (a 2 MB shared string named by 2,000 cells, 20 million
one-letter CSV cells, a 1 MB .ods text repeated 1,000 times, a 1.6-million-column
CSV line) are in the hostile corpus (``tests/importers/badfiles.py``); here the
budget is made small so that the rules are checked on small files.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from cmdb_desktop.errors import BadFileError
from importers import readers, untrusted
from importers.readers import MAX_COLUMNS, open_spreadsheet, read_table
from tests.importers import badfiles
from tests.importers.sheets import write_xlsx

MEMORY = r"is refused: reading .* would take about [\d.,]+ GB of memory"


def test_shared_strings_named_by_many_cells_are_refused_before_loading(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(badfiles.shared_string_bomb())
    with open_spreadsheet(path) as book, pytest.raises(BadFileError, match=MEMORY) as err:
        book.read("CIs")
    assert "shared texts up to 2.1 MB long" in str(err.value)
    assert "sheet 'CIs'" in str(err.value)


def test_the_exact_count_lets_a_long_string_named_once_through(tmp_path: Path) -> None:
    """One long text, many short ones: the cheap bound (every cell the longest) is too
    big, so what the cells really name is counted, and that is small."""
    rows = [["Name", "Class", "Description"], ["web00", "Server", "x" * 30_000]]
    rows += [[f"web{i:05d}", "Server", f"note {i}"] for i in range(1, 12_000)]
    path = tmp_path / "long.xlsx"
    path.write_bytes(badfiles.shared_xlsx(rows))
    table = read_table(path)
    assert len(table) == 12_000 and table.rows[0][2] == "x" * 30_000


def test_a_table_of_shared_strings_too_big_alone_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(untrusted, "CELLS_MEMORY_BUDGET", 1_000_000)
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(badfiles.shared_string_bomb(cells=3))
    with pytest.raises(BadFileError, match="its table of shared texts"):
        open_spreadsheet(path)


def test_sheets_read_before_count_toward_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import keeps every sheet it read: the second sheet must fit beside the first."""
    rows = [["Name", "Class", "Status"]] + [[f"srv{i}", "Server", "In Use"] for i in range(5000)]
    path = write_xlsx(tmp_path / "two.xlsx", {"CIs": rows, "CIs 2": rows})
    with zipfile.ZipFile(path) as zf:
        member = untrusted.xlsx_sheet_parts(zf)["CIs"]
        check = untrusted.check_xlsx_sheet(path, zf, "CIs", member)
    kept, loading = check.python_bytes, check.peak_bytes
    monkeypatch.setattr(untrusted, "CELLS_MEMORY_BUDGET", 2 * kept + loading)
    with open_spreadsheet(path) as book:
        tables = book.read_many(["CIs", "CIs 2"])
    assert not any(isinstance(t, BadFileError) for t in tables)
    monkeypatch.setattr(untrusted, "CELLS_MEMORY_BUDGET", 2 * kept + loading - 1)
    with open_spreadsheet(path) as book:
        first, second = book.read_many(["CIs", "CIs 2"])
    assert not isinstance(first, BadFileError)
    assert isinstance(second, BadFileError)
    assert "sheet 'CIs 2'" in str(second) and "would take about" in str(second)


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
    with pytest.raises(BadFileError, match=r"Sheet 'wide': row 30,001 has 16,385 columns"):
        read_table(path)


def test_text_files_over_the_size_limit_are_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_TEXT_BYTES", 1000)
    path = tmp_path / "big.csv"
    path.write_bytes(badfiles.csv_bytes([("Name", "Class")] + [("srv", "Server")] * 200))
    with pytest.raises(BadFileError, match="are not read"):
        read_table(path)


def test_the_probing_child_reads_under_the_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An .ods whose cells take more than the limit once read kills only the child."""
    path = tmp_path / "repeated.ods"
    path.write_bytes(badfiles.ods_repeated_text(repeat=300, size=1024 * 1024))
    monkeypatch.setattr(untrusted, "CHILD_MEMORY_LIMIT", 400 * 1024**2)
    with pytest.raises(BadFileError, match="cannot be read safely: reading it took more than"):
        open_spreadsheet(path)
    path.write_bytes(badfiles.ods_repeated_text(repeat=3, size=1024))
    with open_spreadsheet(path) as book:
        assert len(book.read("CIs")) == 3
