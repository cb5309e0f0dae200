"""Reading spreadsheets as users hand them over: encodings, delimiters, headers, bad files."""

from __future__ import annotations

import codecs
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font

from cmdb_desktop.errors import BadFileError
from importers.readers import decode_text, open_spreadsheet, read_table, sniff_delimiter
from tests.importers.sheets import write_xlsx

ROWS = [["Name", "Serial", "City"], ["web01", "SN1", "Zürich"], ["web02", "SN2", "Kraków"]]


def _csv_bytes(delimiter: str = ",", newline: str = "\n") -> str:
    return newline.join(delimiter.join(r) for r in ROWS) + newline


@pytest.mark.parametrize(
    ("encoding", "prefix", "newline"),
    [
        ("utf-8", b"", "\n"),
        ("utf-8", codecs.BOM_UTF8, "\r\n"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "\r\n"),
        ("cp1250", b"", "\n"),
    ],
)
def test_csv_encodings(tmp_path: Path, encoding: str, prefix: bytes, newline: str) -> None:
    text = _csv_bytes(newline=newline)
    if encoding == "cp1250":
        # Kraków has no cp1252 byte; a Western-European file holds Zürich only.
        text = text.replace("Kraków", "Krakow")
        path = tmp_path / "x.csv"
        path.write_bytes(text.encode("cp1252"))
    else:
        path = tmp_path / "x.csv"
        path.write_bytes(prefix + text.encode(encoding))
    table = read_table(path)
    assert table.headers == ["Name", "Serial", "City"]
    assert [r[2] for r in table.rows][0] == "Zürich"
    assert table.row_numbers == [2, 3]


def test_cp1252_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("Name;Owner\nweb01;Renée\n".encode("cp1252"))
    with open_spreadsheet(path) as book:
        assert book.encoding == "cp1252" and book.delimiter == ";"
        assert any("cp1252" in w for w in book.warnings)
        assert book.read(book.sheet_names[0]).rows[0][1] == "Renée"


def test_mac_cr_only_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(_csv_bytes(newline="\r").replace("Kraków", "Krakow").encode("mac_roman"))
    table = read_table(path)
    assert len(table.rows) == 2 and table.rows[0][2] == "Zürich"


def test_quoted_multiline_cell_is_one_row(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('Name,Notes\nweb01,"line one\nline two"\nweb02,plain\n', encoding="utf-8")
    table = read_table(path)
    assert table.rows[0][1] == "line one\nline two"
    assert table.row_numbers == [2, 3]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_sniffing(delimiter: str) -> None:
    assert sniff_delimiter(_csv_bytes(delimiter)) == delimiter


def test_decode_prefers_utf8() -> None:
    text, encoding, note = decode_text("Zürich".encode())
    assert (text, encoding, note) == ("Zürich", "utf-8", None)


def test_header_detection_skips_title_and_keeps_sheet_row_numbers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "t.xlsx",
        {
            "Inventory": [
                ["Server inventory, March 2024"],
                [],
                ["Name", "Serial Number", "Cost"],
                ["web01", "SN1", 10],
                [],
                ["web02", "SN2", 20],
            ]
        },
    )
    table = read_table(path)
    assert table.header_row == 3
    assert table.row_numbers == [4, 6]
    assert [r[0] for r in table.rows] == ["web01", "web02"]


def test_data_away_from_a1_keeps_real_rows_and_letters(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws["C3"], ws["D3"] = "Name", "Owner"
    ws["C4"], ws["D4"] = "web01", "Alice"
    ws["C7"] = "web02"
    wb.save(tmp_path / "away.xlsx")
    table = read_table(tmp_path / "away.xlsx")
    assert table.header_row == 3
    assert table.row_numbers == [4, 7]
    assert [c.letter for c in table.columns] == ["C", "D"]


def test_duplicate_and_empty_headers(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("Name,Category,,Category,\nweb01,a,x,b,\n", encoding="utf-8")
    table = read_table(path)
    assert table.headers == ["Name", "Category", "Column C", "Category (2)"]
    assert any("repeats column B" in w for w in table.warnings)
    assert any("column C has data but no header" in w for w in table.warnings)


def test_typed_cells_come_through(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "types.xlsx",
        {"S": [["Name", "When", "Count", "Flag"], ["a", date(2024, 1, 31), 3, True]]},
    )
    row = read_table(path).rows[0]
    assert row[1] == date(2024, 1, 31) and row[2] == 3 and row[3] is True


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG image"),
        (b"%PDF-1.7 binary", "PDF document"),
        (b"\x00\x01\x02\x03" * 100, "binary file"),
        (b"<html><table><tr><td>1</td></tr></table></html>", "web page"),
        (b"PK\x03\x04" + b"\x00" * 200, "damaged or truncated"),
    ],
)
def test_not_a_spreadsheet(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(BadFileError, match=message):
        read_table(path)


def test_truncated_workbook(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", {"CIs": [["Name"], *[[f"n{i}"] for i in range(500)]]})
    data = good.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadFileError, match="damaged or truncated"):
        read_table(cut)


def test_encrypted_workbook(tmp_path: Path) -> None:
    # An encrypted .xlsx is an OLE container with an EncryptedPackage stream.
    path = tmp_path / "secret.xlsx"
    path.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512 + "EncryptedPackage".encode("utf-16-le")
    )
    with pytest.raises(BadFileError, match="password-protected"):
        read_table(path)


def test_word_document_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    with pytest.raises(BadFileError, match="Word document"):
        read_table(path)


def test_formatting_far_away_is_read_correctly(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Name", "Owner"])
    ws.append(["web01", "Alice"])
    ws["XFD1048576"].font = Font(bold=True)  # formatted, empty: calamine ignores it
    wb.save(tmp_path / "styled.xlsx")
    table = read_table(tmp_path / "styled.xlsx")
    assert table.headers == ["Name", "Owner"] and len(table.rows) == 1


_STRAY = """
import sys
from pathlib import Path
from importers.readers import read_table
from cmdb_desktop.errors import BadFileError
try:
    read_table(Path(sys.argv[1]))
except BadFileError as exc:
    print("refused:", exc)
    sys.exit(2)
print("read")
"""


def test_value_at_xfd1048576_is_refused_without_crashing(tmp_path: Path) -> None:
    # calamine 0.9 aborts the whole process on this sheet; the reader must refuse it
    # first. Run in a child so a regression shows as a failure, not a dead test run.
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "CIs"
    ws["A1"], ws["A2"] = "Name", "web01"
    ws["XFD1048576"] = "stray"
    wb.save(tmp_path / "stray.xlsx")
    done = subprocess.run(
        [sys.executable, "-c", _STRAY, str(tmp_path / "stray.xlsx")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "XFD1048576" in done.stdout and "cannot be read safely" in done.stdout


def test_lying_dimension_is_ignored(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "dim.xlsx", {"CIs": [["Name"], ["web01"]]})
    # Rewrite the declared dimension to claim the whole sheet: the scan must not care.
    patched = tmp_path / "patched.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data.replace(b'<dimension ref="A1:A2"', b'<dimension ref="A1:XFD1048576"')
            dst.writestr(item, data)
    assert len(read_table(patched).rows) == 1


def test_real_ralph_delimiters(real_data: Path) -> None:
    for name, delimiter in (
        ("warehouses.csv", ","),
        ("warehouses_semicolon.csv", ";"),
        ("warehouses_tab.csv", "\t"),
    ):
        with open_spreadsheet(real_data / "ralph" / name) as book:
            assert book.delimiter == delimiter
            table = book.read(book.sheet_names[0])
        assert table.headers == ["id", "name"]
        assert len(table.rows) >= 2
    names = {r[1] for r in read_table(real_data / "ralph" / "warehouses.csv").rows}
    assert "Poznań" in names


_ODS_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    '<office:body><office:spreadsheet><table:table table:name="CIs">{rows}</table:table>'
    "</office:spreadsheet></office:body></office:document-content>"
)


def _ods(path: Path, rows: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", _ODS_CONTENT.format(rows=rows))
        zf.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest='
            '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
            'manifest:full-path="/" manifest:media-type='
            '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
        )
    return path


def _cell(text: str) -> str:
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def test_ods_is_read_after_a_probe_in_a_child(tmp_path: Path) -> None:
    rows = (
        f"<table:table-row>{_cell('Name')}{_cell('Class')}</table:table-row>"
        f"<table:table-row>{_cell('web01')}{_cell('Server')}</table:table-row>"
    )
    table = read_table(_ods(tmp_path / "ok.ods", rows))
    assert table.headers == ["Name", "Class"] and table.rows == [["web01", "Server"]]


def test_ods_with_a_far_cell_is_refused(tmp_path: Path) -> None:
    rows = (
        f"<table:table-row>{_cell('Name')}</table:table-row>"
        "<table:table-row table:number-rows-repeated='1048574'>"
        f"<table:table-cell table:number-columns-repeated='16383'/>{_cell('x')}</table:table-row>"
    )
    with pytest.raises(BadFileError, match="cannot be read safely"):
        read_table(_ods(tmp_path / "far.ods", rows))


_GUARDED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
from pathlib import Path
from importers.readers import read_table
from cmdb_desktop.errors import BadFileError
try:
    table = read_table(Path(sys.argv[1]))
except BadFileError as exc:
    print("refused:", exc)
    sys.exit(2)
print("read", len(table.rows))
"""


def _crafted(tmp_path: Path, name: str, extra_rows: bytes) -> Path:
    """A valid workbook whose sheet XML gets ``extra_rows`` appended by hand."""
    base = write_xlsx(tmp_path / f"{name}.base.xlsx", {"CIs": [["Name"], ["web01"]]})
    out = tmp_path / f"{name}.xlsx"
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", extra_rows + b"</sheetData>")
            dst.writestr(item, data)
    return out


_VALUE = b't="inlineStr"><is><t>x</t></is></c></row>'


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        # Beyond the format's row limit: calamine does not check it.
        ("eight-digits", b'<row r="12345678"><c r="A12345678" ' + _VALUE),
        # Not the canonical `<c r="…"` form: other order, case, spacing, no r.
        (
            "r-not-first",
            b'<row r="1048576"><c t="inlineStr" r="XFD1048576"><is><t>x</t></is></c></row>',
        ),
        ("lower-case", b'<row r="1048576"><c r="xfd1048576" ' + _VALUE),
        ("new-line", b'<row r="1048576"><c\nr="XFD1048576" ' + _VALUE),
        ("implied", b'<row r="50000000"><c ' + _VALUE),
        ("escaped", b'<row r="1048576"><c r="&#88;FD1048576" ' + _VALUE),
        ("long-letters", b'<row r="3"><c r="' + b"Z" * 5000 + b'3" ' + _VALUE),
        (
            "prefixed",
            b'<row r="1048576"><x:c xmlns:x="urn:x" r="XFD1048576" '
            + _VALUE.replace(b"</c>", b"</x:c>"),
        ),
    ],
)
def test_far_cells_in_any_form_are_refused(tmp_path: Path, name: str, extra: bytes) -> None:
    path = _crafted(tmp_path, name, extra)
    done = subprocess.run(
        [sys.executable, "-c", _GUARDED, str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
        timeout=120,
    )
    assert done.returncode in (0, 2), done.stderr[-2000:]
    if done.returncode == 2:
        assert "cannot be read safely" in done.stdout


def test_sheet_part_named_unusually_is_still_checked(tmp_path: Path) -> None:
    # A relationship target calamine may resolve differently from us (a backslash):
    # every worksheet part is checked then.
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "CIs"
    ws["A1"], ws["XFD1048576"] = "Name", "stray"
    wb.save(tmp_path / "plain.xlsx")
    out = tmp_path / "odd.xlsx"
    with zipfile.ZipFile(tmp_path / "plain.xlsx") as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"/xl/worksheets/sheet1.xml", b"worksheets\\sheet1.xml")
                data = data.replace(b"worksheets/sheet1.xml", b"worksheets\\sheet1.xml")
            dst.writestr(item, data)
    done = subprocess.run(
        [sys.executable, "-c", _GUARDED, str(out)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
        timeout=120,
    )
    assert done.returncode == 2 and "cannot be read safely" in done.stdout, done.stderr[-2000:]
