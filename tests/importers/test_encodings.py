"""Text encodings of CSV/TSV files (PRODUCT.md §4, §8): UTF-8 with or without a BOM,
legacy code pages detected, and a file that is not consistently in one encoding
refused with its offending rows, never decoded as another encoding.

The classic accident: a UTF-8 export into which one row was pasted from a
Windows-1252 file. Read whole as cp1252, every UTF-8 "Zürich DC" became
"ZÃ¼rich DC", a new, duplicate site.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import BadFileError
from importers.audit import audit_file
from importers.readers import decode_text, open_spreadsheet, read_table
from tests.commandline import cli
from tests.dbstate import content

HEADER = "Name,Class,Status,Description"


def _rows(n: int, start: int = 1) -> list[str]:
    return [f"site-{i:03d},Site,In Use,Zürich DC" for i in range(start, start + n)]


def _write(path: Path, lines: list[str | bytes], *, bom: bool = False) -> Path:
    """UTF-8 lines, except those given as bytes (written as they are), CRLF."""
    raw = b"\r\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\r\n"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + raw)
    return path


def _cp1252_row(name: str = "site-x") -> bytes:
    return f"{name},Site,In Use,Zürich DC".encode("cp1252")


def test_utf8_with_one_cp1252_row_is_refused_with_that_row(tmp_path: Path) -> None:
    # row 1 header, rows 2-4 UTF-8, row 5 a quoted cell over two lines (one row,
    # as a spreadsheet shows it), rows 6-7 UTF-8, row 8 Windows-1252
    lines: list[str | bytes] = [HEADER, *_rows(3), 'note,Site,In Use,"two\nlines"']
    path = _write(tmp_path / "sites.csv", [*lines, *_rows(2, 4), _cp1252_row()])
    with pytest.raises(BadFileError) as info:
        open_spreadsheet(path)
    message = str(info.value)
    assert message.startswith("sites.csv: Row 8 is not UTF-8, while the rest of the file is.")
    assert "not consistently in one encoding" in message
    assert "save the whole file as UTF-8" in message
    assert "Ã" not in message


def test_the_row_is_found_far_down_a_large_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.csv", [HEADER, *_rows(20_000), _cp1252_row(), *_rows(5)])
    with pytest.raises(BadFileError, match=r"^big\.csv: Row 20,002 is not UTF-8"):
        read_table(path)


def test_many_offending_rows_are_summarised(tmp_path: Path) -> None:
    bad = [_cp1252_row(f"x{i}") for i in range(12)]
    path = _write(tmp_path / "many.csv", [HEADER, *_rows(20), *bad])
    with pytest.raises(BadFileError) as info:
        read_table(path)
    assert "Rows 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 and 2 more are not UTF-8" in str(info.value)


def test_a_bom_then_rows_in_another_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.csv", [HEADER, _cp1252_row(), *_rows(1)], bom=True)
    with pytest.raises(BadFileError) as info:
        read_table(path)
    assert str(info.value).startswith(
        "bom.csv: Row 2 is not UTF-8, although the file starts with a UTF-8 marker (BOM)."
    )


def test_cp1252_with_a_utf8_row_names_the_utf8_row(tmp_path: Path) -> None:
    lines: list[str | bytes] = [HEADER, *(_cp1252_row(f"s{i}") for i in range(5)), *_rows(1)]
    path = _write(tmp_path / "legacy.csv", lines)
    with pytest.raises(BadFileError) as info:
        read_table(path)
    assert str(info.value).startswith(
        "legacy.csv: Row 7 is UTF-8, while the rest of the file is in another encoding"
    )


def test_wholly_cp1252_still_reads_as_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    text = HEADER + "\r\n" + "\r\n".join(_rows(50)) + "\r\nsite-x,Site,In Use,Café “Le Zinc” €\r\n"
    path.write_bytes(text.encode("cp1252"))
    with open_spreadsheet(path) as book:
        assert book.encoding == "cp1252"
        assert book.warnings == ["legacy.csv: not UTF-8; read as Windows-1252 (cp1252)"]
        table = book.read(book.sheet_names[0])
    assert {r[3] for r in table.rows} == {"Zürich DC", "Café “Le Zinc” €"}


@pytest.mark.parametrize(
    "text",
    [
        "Name,Owner\nweb01,É\n",  # one letter that every candidate reads
        "Name,Cost,Note\nsrv1,€ 1200,“quoted” – dash\nsrv2,£ 5,…\n",
        "Name,Temp\nsrv1,40°C\nsrv2,±5\n",
        "Name,City\nsrv1,Ørsted\nsrv2,Århus\n",
    ],
)
def test_western_text_that_other_code_pages_fit_stays_cp1252(text: str) -> None:
    assert decode_text(text.encode("cp1252"))[:2] == (text, "cp1252")


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1251", "Name,City,Owner\n" + "srv,Москва,Ольга Иванова\n" * 20),
        ("cp1253", "Name,City,Owner\n" + "srv,Αθήνα,Γιώργος Παπαδόπουλος\n" * 20),
    ],
)
def test_non_latin_code_pages_are_detected(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(text.encode(encoding))
    with open_spreadsheet(path) as book:
        assert book.encoding == encoding
        assert f"({encoding})" in book.warnings[0]
        assert book.read(book.sheet_names[0]).rows[0][1] == text.splitlines()[1].split(",")[1]


def test_undefined_bytes_are_shown_and_counted() -> None:
    text, encoding, note = decode_text(b"Name\r\nRen\xe9e \x81\r\n")
    assert (text, encoding) == ("Name\r\nRenée \ufffd\r\n", "cp1252")
    assert note is not None and "1 undecodable byte" in note


def _mixed_file(tmp_path: Path) -> Path:
    return _write(tmp_path / "sites.csv", [HEADER, *_rows(3), _cp1252_row(), *_rows(2, 4)])


def test_import_refuses_and_writes_nothing(cmdb: Cmdb, db_path: Path, tmp_path: Path) -> None:
    cmdb.items.create("Site", {"name": "site-001", "status": "In Use"})
    cmdb.close()
    before = content(db_path)
    code, data, err = cli(db_path, "import", str(_mixed_file(tmp_path)))
    assert code == 2 and "Traceback" not in err
    (error,) = data["errors"]
    assert error["sheet"] is None
    assert error["message"].startswith("sites.csv: Row 5 is not UTF-8")
    assert content(db_path) == before  # no "ZÃ¼rich DC" anywhere


def test_audit_refuses_it_too(cmdb: Cmdb, tmp_path: Path) -> None:
    with pytest.raises(BadFileError, match=r"sites\.csv: Row 5 is not UTF-8"):
        audit_file(cmdb, _mixed_file(tmp_path))


def test_an_accidental_utf8_sequence_in_legacy_text_is_no_mix() -> None:
    """As Snipe-IT's dirty sample ships: old-Mac text where "Sokod" + CC A9 happens to
    be valid UTF-8 (U+0329, a combining mark nobody types), the other rows not at all."""
    raw = b"Name,City\rsrv1,Sokod\xcc\xa9\rsrv2,Luts\x89\xdb\xaak\r"
    text, encoding, note = decode_text(raw)
    assert encoding == "mac_roman" and text.splitlines()[1] == "srv1,SokodÃ©"
    assert note == "not UTF-8; read as Mac Roman (old Mac CSV)"
