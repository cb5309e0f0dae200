"""A formula cell without a saved result (PRODUCT.md §8) is an error of that cell,
never a blank: in import (whatever the blank rule) and in audit, in .xlsx files as
openpyxl writes them and in .ods, in CI and relationship sheets.

The files are written by openpyxl (which stores formulas without calculating
them, :func:`tests.importers.sheets.write_xlsx`) or by hand
(:mod:`tests.importers.badfiles`), never committed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdb_desktop.cmdb import Cmdb
from importers import untrusted
from importers.apply import import_file
from importers.audit import audit_file
from importers.readers import NO_RESULT_MESSAGE, read_table
from tests.commandline import cli
from tests.dbstate import content
from tests.importers import badfiles
from tests.importers.sheets import write_xlsx


def _errors_at(errors: list[dict[str, object]]) -> set[tuple[object, object, object]]:
    return {(e["sheet"], e["row"], e["column"]) for e in errors}


def _owners(folder: Path, web01: str, web02: str) -> Path:
    """web01 and web02 with these Owner cells, as openpyxl writes them."""
    rows = [["Name", "Class", "Owner"], ["web01", "Server", web01], ["web02", "Server", web02]]
    return write_xlsx(folder / "owners.xlsx", {"CIs": rows})


@pytest.fixture
def owned(cmdb: Cmdb) -> Cmdb:
    cmdb.items.create("Server", {"name": "web01", "status": "In Use", "owner": "Alice"})
    cmdb.items.create("Server", {"name": "web02", "status": "In Use", "owner": "Bob"})
    return cmdb


def test_blank_rule_clear_never_erases_a_value_behind_a_formula(
    owned: Cmdb, db_path: Path, tmp_path: Path
) -> None:
    """The bug: openpyxl wrote Owner as =…, the cell read blank, "clear" erased Alice."""
    path = _owners(tmp_path, '="Al"&"ice"', "Bob")
    before = content(db_path)
    code, data, _ = cli(db_path, "import", str(path), "--blank", "clear")
    assert code == 2
    assert data["errors"] == [
        {"sheet": "CIs", "row": 2, "column": "Owner", "message": NO_RESULT_MESSAGE}
    ]
    assert content(db_path) == before
    assert owned.items.get(owned.items.resolve("web01")).values["owner"] == "Alice"


def test_skip_errors_writes_the_other_rows_and_rejects_that_one(
    owned: Cmdb, tmp_path: Path
) -> None:
    path = _owners(tmp_path, "=C3", "Carol")
    result = import_file(owned, path, blank="clear", skip_errors=True)
    assert result.written
    assert [(e.row, e.column) for e in result.errors] == [(2, "Owner")]
    assert owned.items.get(owned.items.resolve("web01")).values["owner"] == "Alice"
    assert owned.items.get(owned.items.resolve("web02")).values["owner"] == "Carol"


def test_audit_reports_the_cell_instead_of_a_difference(owned: Cmdb, tmp_path: Path) -> None:
    path = _owners(tmp_path, "=1+1", "Bob")
    result = audit_file(owned, path)
    data = result.to_json()
    assert _errors_at(data["errors"]) == {("CIs", 2, "Owner")}
    assert data["errors"][0]["message"] == NO_RESULT_MESSAGE
    assert data["mismatched"] == [] and data["matched"] == 1


def test_a_formula_in_a_column_nothing_reads_is_no_error(cmdb: Cmdb, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "extra.xlsx",
        {"CIs": [["Name", "Class", "Scratch"], ["web01", "Server", "=NOW()"]]},
    )
    result = import_file(cmdb, path, dry_run=True)
    assert not result.errors
    assert result.plan.counts()["cis"]["created"] == 1


def test_an_empty_text_result_is_a_blank(cmdb: Cmdb, tmp_path: Path) -> None:
    """``t="str"`` with an empty ``<v>`` is a saved result: the empty text."""
    body = badfiles.rows_xml([("Name", "Class", "Owner"), ("web01", "Server")])
    body = body.removesuffix("</row>") + '<c r="C2" t="str"><f>""</f><v></v></c></row>'
    path = tmp_path / "empty.xlsx"
    path.write_bytes(badfiles.one_sheet(body))
    table = read_table(path)
    assert table.no_result == {}
    assert import_file(cmdb, path, dry_run=True).errors == []


@pytest.mark.parametrize("style", ["openpyxl", "no-v", "shared", "prefixed", "implied", "row"])
def test_every_way_of_writing_it_is_found(tmp_path: Path, style: str) -> None:
    path = tmp_path / f"{style}.xlsx"
    path.write_bytes(badfiles.no_result(style))
    table = read_table(path)
    status = table.column("Status")
    assert status is not None
    assert status.index in table.no_result[4]
    assert 4 in table.row_numbers


def test_a_relationship_row_with_such_a_cell_is_an_error(cmdb: Cmdb, tmp_path: Path) -> None:
    cmdb.items.create("Server", {"name": "web01", "status": "In Use"})
    cmdb.items.create("Rack", {"name": "rack-1", "status": "In Use"})
    rows = [
        ["Source", "Type", "Target"],
        ["web01", "Located in", "=A3"],
        ["web01", "Located in", "rack-1"],
    ]
    write_xlsx(tmp_path / "rels.xlsx", {"Relationships": rows})
    result = import_file(cmdb, tmp_path / "rels.xlsx", skip_errors=True)
    assert [(e.sheet, e.row, e.column, e.message) for e in result.errors] == [
        ("Relationships", 2, "Target", NO_RESULT_MESSAGE)
    ]
    assert result.plan.counts()["relationships"]["created"] == 1


def test_ods_formulas_with_no_result(cmdb: Cmdb, tmp_path: Path) -> None:
    path = tmp_path / "no-result.ods"
    path.write_bytes(badfiles.ods_no_result())
    result = import_file(cmdb, path, dry_run=True)
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (4, "Status", NO_RESULT_MESSAGE)
    ]


def test_ods_repeated_cells_and_rows_count_as_often_as_they_repeat(tmp_path: Path) -> None:
    rows = badfiles.ods_rows([("Name", "Class", "Status")]) + (
        '<table:table-row table:number-rows-repeated="2"><table:table-cell '
        'table:formula="of:=1" table:number-columns-repeated="2"/></table:table-row>'
    )
    path = tmp_path / "repeats.ods"
    path.write_bytes(badfiles.ods({"CIs": rows}))
    assert untrusted.ods_no_result(path) == {"CIs": [(1, 0), (1, 1), (2, 0), (2, 1)]}


def test_cells_split_between_two_pieces_of_the_stream_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sheet's XML is scanned in pieces; a cell is never cut in two."""
    rows: list[list[object]] = [["Name", "Class", "Owner"]]
    rows += [[f"web{i:02d}", "Server", f"=A{i + 2}"] for i in range(40)]
    path = write_xlsx(tmp_path / "many.xlsx", {"CIs": rows})
    whole = read_table(path).no_result
    assert len(whole) == 40
    for size in (37, 64, 101, 256):
        monkeypatch.setattr(untrusted, "_CHUNK", size)
        assert read_table(path).no_result == whole, size


def test_too_many_are_refused_for_the_sheet_naming_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(untrusted, "MAX_FORMULA_GAPS", 5)
    rows: list[list[object]] = [["Name", "Class", "Owner"]]
    rows += [[f"web{i:02d}", "Server", "=1"] for i in range(10)]
    path = write_xlsx(tmp_path / "lots.xlsx", {"CIs": rows})
    with pytest.raises(Exception, match=r"more than 5 formulas with no saved result.*C2"):
        read_table(path)
