"""The asset commands of PRODUCT.md §10, as a script runs them."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import openpyxl

from cmdb_desktop.cli import main


def run(db: Path, *args: str) -> tuple[int, Any, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), "--format", "json", *args], out=out, err=err)
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else None), err.getvalue()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_people_custody_value_licences_report(db_path: Path, tmp_path: Path) -> None:
    assert run(db_path, "init")[0] == 0
    ok = [
        (
            "add",
            "Workstation",
            '=HYPERLINK("x")',
            "status=In Stock",
            "cost=1200",
            "Purchase Date=2024-01-31",
            "Depreciation Method=Straight-line",
            "Useful Life (months)=24",
            "Salvage Value=0",
            "Model=X1",
            "Location=HQ",
        ),
        ("add", "Software", "Office"),
        ("add", "Licence", "office-lic", "Seats=1", "Licence Metric=Per device"),
        ("relate", "office-lic", "Covers", "Office"),
        ("add", "Workstation", "w2", "Assigned To=Ann"),
        ("relate", "Office", "Installed on", "w2"),
        ("add", "Workstation", "w3"),
        ("relate", "Office", "Installed on", "w3"),
        ("person", "add", "Ann Lee", "--email", "ann@example.com"),
    ]
    for args in ok:
        code, _out, err = run(db_path, *args)
        assert code == 0, (args, err)
    code, out, _ = run(db_path, "value", 'Workstation/=HYPERLINK("x")', "--at", "2024-03-31")
    assert code == 0
    assert out["method"] == "Straight-line" and out["at"] == "2024-03-31"
    assert out["book_value"] == 1100.0  # 2 of 24 months of 1200
    assert out["ci"]["class"] == "Workstation"
    code, out, _ = run(db_path, "licences")
    assert out == {
        "software": [
            {
                "ci": out["software"][0]["ci"],
                "metric": "Per device",
                "entitled": 1,
                "consumed": 2,
                "status": "over-deployed",
                "shortfall": 1,
                "spare": 0,
            }
        ]
    }
    assert out["software"][0]["ci"]["name"] == "Office"
    code, out, err = run(
        db_path, "checkout", "w3", "ann@example.com", "--on", "2024-04-01", "--due", "2024-05-01"
    )
    assert code == 0, err
    assert out["person"]["name"] == "Ann Lee"
    before = digest(db_path)
    code, _out, err = run(db_path, "checkout", "w3", "Ann Lee")
    assert code == 2 and "check it in first" in err and "Traceback" not in err
    code, _out, err = run(db_path, "checkout", "w3", "Nobody")
    assert code == 2 and "No person 'Nobody'" in err
    assert run(db_path, "checkout", "w2", "Ann Lee", "--due", "nope")[0] == 2  # usage
    assert digest(db_path) == before
    code, out, _ = run(db_path, "assets", "overdue", "--at", "2024-05-02")
    assert [o["ci"]["name"] for o in out["overdue"]] == ["w3"]
    code, out, _ = run(db_path, "person", "match")
    assert [u["assigned_to"] for u in out["unmatched"]] == ["Ann"]
    assert run(db_path, "checkin", "w3")[0] == 0
    code, out, _ = run(db_path, "person", "show", "Ann Lee")
    assert out["custody"][0]["checked_in"] is not None
    report = tmp_path / "assets.xlsx"
    code, out, err = run(db_path, "assets", "report", "-o", str(report), "--at", "2024-03-31")
    assert code == 0, err
    wb = openpyxl.load_workbook(report)
    assert wb.sheetnames == ["Summary", "Book values", "Totals", "Expiries", "Compliance", "Stock"]
    values = {r[0].value: r for r in wb["Book values"].iter_rows(min_row=2)}
    cell = values['=HYPERLINK("x")'][0]
    assert cell.data_type == "s" and cell.quotePrefix  # text, never a formula
    assert values['=HYPERLINK("x")'][9].value == 1100.0
    comp = [[c.value for c in r] for r in wb["Compliance"].iter_rows(min_row=2)]
    assert comp == [["Office", "Per device", 1, 2, "over-deployed", 1, 0]]


def test_lifecycle_command(db_path: Path) -> None:
    assert run(db_path, "init")[0] == 0
    code, out, _ = run(db_path, "assets", "lifecycle", "Server")
    assert out["transitions"]["Disposed"] == []
    assert out["requires"]["Retired"] == ["retirement_reason"]
    code, out, err = run(
        db_path,
        "assets",
        "lifecycle",
        "Server",
        "--allow",
        "Disposed=Planned",
        "--require",
        "Retired=",
    )
    assert code == 0, err
    assert out["transitions"]["Disposed"] == ["Planned"] and "Retired" not in out["requires"]
    assert run(db_path, "add", "Server", "s", "status=Disposed")[0] == 0
    assert run(db_path, "set", "s", "status=Planned")[0] == 0
    code, _out, err = run(db_path, "assets", "lifecycle", "Server", "--allow", "Gone=Planned")
    assert code == 2 and "unknown status" in err


def text(db: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_value_says_why_it_is_unknown_and_checkout_refuses_what_is_no_asset(
    db_path: Path,
) -> None:
    assert run(db_path, "init")[0] == 0
    for args in (
        ("add", "Workstation", "w1", "cost=1200", "Depreciation Method=Straight-line"),
        ("add", "Workstation", "w2", "cost=900"),
        ("add", "Workstation", "w3"),
        ("add", "Rack", "rack-1"),
        ("person", "add", "Ann Lee"),
    ):
        assert run(db_path, *args)[0] == 0, args
    assert text(db_path, "value", "w1", "--at", "2024-03-31")[1] == (
        "w1 at 2024-03-31: book value unknown — Straight-line depreciation needs a "
        "purchase date and a useful life\n"
    )
    assert text(db_path, "value", "w2", "--at", "2024-03-31")[1] == (
        "w2 at 2024-03-31: book value 900.00 (not depreciated)\n"
    )
    assert text(db_path, "value", "w3", "--at", "2024-03-31")[1] == (
        "w3 at 2024-03-31: book value unknown — no cost recorded\n"
    )
    before = digest(db_path)
    code, _, err = text(db_path, "checkout", "rack-1", "Ann Lee")
    assert code == 2
    assert err == (
        "error: Rack rack-1 cannot be checked out: only assets with an Assigned To field "
        "(Hardware and its subclasses) are checked out to people.\n"
    )
    assert digest(db_path) == before
