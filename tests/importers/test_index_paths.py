"""The identity index's fast paths give exactly the results of the full index.

A large CMDB meeting a small sheet indexes only the CIs its keys can match
(:meth:`IdentityIndex.load_matching`); a sheet listing about every CI reads
the index and the CI rows in one scan (:func:`importers.plan_cis.load_whole`).
Both must change nothing but speed: the same audit findings and the same dry
run, on values that fold in unusual ways (case, accents, tabs, runs of spaces).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import text

import importers.apply
import importers.plan_cis as plan_cis
from cmdb_desktop.cmdb import Cmdb
from importers import readers
from importers.apply import import_file
from importers.audit import audit_file
from importers.export import export_workbook
from importers.plan import load_source, plan_import, suggest_mapping
from importers.reconcile import IdentityIndex, fields_for
from tests.legacy import legacy_ci

TRICKY = [
    # (name in the CMDB, serial in the CMDB, how the sheet writes the name, the serial)
    ("Wéb-Prod 01", "SN-ÉTÉ-1", "WÉB-PROD 01", "sn-été-1"),
    ("tab\tname", "SN\tTAB", "TAB NAME", "sn tab"),
    ("two  spaces", "SN  2", "Two Spaces", "sn 2"),
    ("  padded  ", " SNPAD ", "padded", "snpad"),
    ("Straße", "SNSS", "STRASSE", "snss"),
    ("plain", "SN-PLAIN", "Plain", "SN-PLAIN"),
]


def _cmdb_with_tricky(cmdb: Cmdb) -> None:
    # Written past today's rules: a tab in a name or key was accepted by older versions.
    for name, serial, _, _ in TRICKY:
        legacy_ci(cmdb, "Server", name, serial_number=serial)


def _sheet(path: Path, rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Inventory"
    ws.append(["Name", "Class", "Serial Number", "Status"])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _rows(demo: Cmdb) -> list[list[Any]]:
    rows: list[list[Any]] = [
        [sheet_name, "Server", sheet_serial, "In Use"] for *_, sheet_name, sheet_serial in TRICKY
    ]
    rows.append(["new-one", "Server", "SN-NEW", "In Use"])
    # the demo's double registrations: one serial, two CIs (an ambiguous match)
    with demo.read() as s:
        twins = s.execute(
            text(
                "SELECT serial_number FROM ci WHERE serial_number IS NOT NULL "
                "GROUP BY serial_number HAVING count(*) > 1 LIMIT 3"
            )
        ).scalars()
        rows += [[f"twin-{n}", "Server", str(sn).lower(), "In Use"] for n, sn in enumerate(twins)]
    for ref in demo.items.refs(range(1, 60)).values():
        if ref.class_name in ("Server", "Workstation"):
            rows.append([ref.name, ref.class_name, "", "Retired"])
    return rows


@pytest.fixture
def narrowing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Narrow the index even for a test-sized CMDB."""
    monkeypatch.setattr(plan_cis, "MATCHING_MIN_CIS", 0)


def _full_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_cis, "matching_keys", lambda *a, **k: None)


def test_narrowed_index_audits_exactly_like_the_full_one(
    demo_cmdb: Cmdb, tmp_path: Path, narrowing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cmdb_with_tricky(demo_cmdb)
    sheet = _sheet(tmp_path / "inventory.xlsx", _rows(demo_cmdb))
    calls: list[int] = []
    real = IdentityIndex.load_matching.__func__  # type: ignore[attr-defined]

    def counting(cls: type[IdentityIndex], *args: Any, **kwargs: Any) -> IdentityIndex:
        index = real(cls, *args, **kwargs)
        calls.append(len(index.class_of))
        return index

    monkeypatch.setattr(IdentityIndex, "load_matching", classmethod(counting))
    narrowed = audit_file(demo_cmdb, sheet).to_json()
    assert calls and calls[0] < 2000 / 4  # it did narrow the index down
    _full_index(monkeypatch)
    full = audit_file(demo_cmdb, sheet).to_json()
    assert narrowed == full
    assert narrowed["counts"]["matched"] + narrowed["counts"]["mismatched_cis"] >= len(TRICKY)
    assert any("ambiguous" in e["message"] for e in narrowed["errors"])


def test_narrowed_index_plans_an_import_exactly_like_the_full_one(
    demo_cmdb: Cmdb, tmp_path: Path, narrowing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cmdb_with_tricky(demo_cmdb)
    sheet = _sheet(tmp_path / "servers.xlsx", _rows(demo_cmdb))
    narrowed = import_file(demo_cmdb, sheet, dry_run=True)
    _full_index(monkeypatch)
    full = import_file(demo_cmdb, sheet, dry_run=True)
    assert narrowed.to_json() == full.to_json()
    assert [(o.status, o.ci_id, o.changes) for o in narrowed.plan.rows] == [
        (o.status, o.ci_id, o.changes) for o in full.plan.rows
    ]


def test_reimport_reading_index_and_rows_in_one_scan_changes_nothing(
    demo_cmdb: Cmdb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cmdb_with_tricky(demo_cmdb)
    path = tmp_path / "export.xlsx"
    export_workbook(demo_cmdb, path)
    used: list[bool] = []
    real = plan_cis.load_whole

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        used.append(found is not None)
        return found

    monkeypatch.setattr(plan_cis, "load_whole", spy)
    again = import_file(demo_cmdb, path, dry_run=True)
    assert used == [True]
    counts = again.plan.counts()
    assert counts["cis"]["updated"] == counts["cis"]["created"] == counts["cis"]["errors"] == 0
    assert counts["relationships"]["created"] == 0


def _plan_rows(result: Any) -> list[tuple[Any, ...]]:
    return [(o.status, o.ci_id, o.changes, o.rel, o.note) for o in result.plan.rows]


def test_rows_read_ahead_plan_exactly_like_rows_read_in_the_plan(
    demo_cmdb: Cmdb, tmp_path: Path
) -> None:
    _cmdb_with_tricky(demo_cmdb)
    path = tmp_path / "export.xlsx"
    export_workbook(demo_cmdb, path)
    fields = fields_for(demo_cmdb.meta)
    ahead = plan_cis.read_ahead(demo_cmdb, fields, lambda: True)
    assert ahead is not None
    assert ahead.ci_rows is not None and ahead.index is not None and ahead.triples is not None
    source = load_source(path, meta=demo_cmdb.meta)
    mapping = suggest_mapping(source, demo_cmdb.meta)
    with_ahead = plan_import(demo_cmdb, source, mapping, ahead=ahead)
    without = plan_import(demo_cmdb, source, mapping)
    assert [(o.status, o.ci_id, o.changes, o.rel) for o in with_ahead.rows] == [
        (o.status, o.ci_id, o.changes, o.rel) for o in without.rows
    ]
    assert with_ahead.counts() == without.counts()
    assert with_ahead.counts()["cis"]["unchanged"] == len(ahead.ci_rows)


def test_rows_read_ahead_are_dropped_once_the_cmdb_changed(demo_cmdb: Cmdb, tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    export_workbook(demo_cmdb, path)
    ahead = plan_cis.read_ahead(demo_cmdb, fields_for(demo_cmdb.meta), lambda: True)
    assert ahead is not None and ahead.ci_rows is not None
    first = min(ahead.ci_rows)
    ref = demo_cmdb.items.refs([first])[first]
    demo_cmdb.items.update(first, {"description": "changed after the read-ahead"})
    source = load_source(path, meta=demo_cmdb.meta)
    mapping = suggest_mapping(source, demo_cmdb.meta)
    plan = plan_import(demo_cmdb, source, mapping, ahead=ahead)
    changed = [o for o in plan.rows if o.ci_id == first]
    assert [o.status for o in changed] == ["updated"], ref
    assert plan.counts() == plan_import(demo_cmdb, source, mapping).counts()


def test_reading_ahead_stops_when_the_sheet_is_there(
    demo_cmdb: Cmdb, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = fields_for(demo_cmdb.meta)
    assert plan_cis.read_ahead(demo_cmdb, fields, lambda: False) is None
    # The sheet arrives half-way through the CI rows: nothing partial is kept.
    monkeypatch.setattr(plan_cis, "_AHEAD_ROWS", 100)
    answers = iter([True, True, True])
    assert plan_cis.read_ahead(demo_cmdb, fields, lambda: next(answers, False)) is None
    # ... or after them: the rows are kept, the relationships are left to the plan.
    monkeypatch.setattr(plan_cis, "_AHEAD_ROWS", 10**9)
    answers = iter([True, True, True])
    ahead = plan_cis.read_ahead(demo_cmdb, fields, lambda: next(answers, False))
    assert ahead is not None and ahead.ci_rows is not None and ahead.index is not None
    assert len(ahead.ci_rows) == len(ahead.index.class_of) > 100
    assert ahead.triples is None


def test_import_file_uses_rows_read_ahead_while_the_first_sheet_loads(
    demo_cmdb: Cmdb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.xlsx"
    export_workbook(demo_cmdb, path)
    got: list[Any] = []
    real = plan_cis.read_ahead
    read = threading.Event()

    def spy(cmdb: Cmdb, fields: Any, busy: Any) -> Any:
        found = real(cmdb, fields, lambda: True)  # as if the sheet took its time
        got.append(found)
        read.set()
        return found

    monkeypatch.setattr(importers.apply, "read_ahead", spy)
    slow_load = readers.Spreadsheet._load

    def slow(self: Any, sheet: str) -> Any:
        # The first sheet arrives only after the rows were read ahead: the reader
        # waits on the read-ahead's own signal, not on a guess of how long it takes.
        read.wait(timeout=120)
        return slow_load(self, sheet)

    monkeypatch.setattr(readers.Spreadsheet, "_load", slow)
    with_ahead = import_file(demo_cmdb, path, dry_run=True)
    assert got and got[0] is not None
    monkeypatch.setattr(importers.apply, "read_ahead", lambda *a: None)
    without = import_file(demo_cmdb, path, dry_run=True)
    assert with_ahead.to_json() == without.to_json()
    assert _plan_rows(with_ahead) == _plan_rows(without)
