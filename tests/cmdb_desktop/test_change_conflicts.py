"""Conflicts of changes (PRODUCT.md §9) on hand-checked graphs, through the CLI."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.change_mgmt.records import ChangeService
from cmdb_desktop.cli import main
from cmdb_desktop.cli.common import capped_lines
from cmdb_desktop.cmdb import Cmdb
from tests.cmdb_desktop.change_examples import PERCENT, POWER
from tests.cmdb_desktop.impact_examples import build
from tests.commandline import cli


@pytest.fixture
def power(db_path: Path) -> Path:
    with Cmdb.open(db_path, create=True) as cmdb:
        build(cmdb, *POWER)
    return db_path


def _add(db: Path, title: str, start: str, end: str, *cis: str, submit: bool = True) -> int:
    args = ["change", "add", title, "--start", start, "--end", end]
    for ci in cis:
        args += ["--ci", ci]
    code, data, err = cli(db, *args)
    assert code == 0, err
    if submit:
        assert cli(db, "change", "move", str(data["id"]), "Submitted")[0] == 0
    return int(data["id"])


def _conflicts(db: Path, change: int) -> list[tuple[str, Any, Any, list[str]]]:
    code, data, err = cli(db, "change", "conflicts", str(change))
    assert code == 0, err
    assert data["change"] == change
    return [
        (c["kind"], c["with"], c["window"], sorted(ci["name"] for ci in c["cis"]))
        for c in data["conflicts"]
    ]


def test_combined_through_a_min_up_group(power: Path) -> None:
    # PDU A Tuesday 22:00–23:30, PDU B Tuesday 23:00–01:00: each alone only degrades
    # feeds, rack1 and Payroll (one feed of two is up, the group needs one); together
    # no feed is up, so feeds goes down and with it rack1 and Payroll.
    a = _add(power, "PDU A", "2026-12-08T22:00Z", "2026-12-08T23:30Z", "pdu-a")
    b = _add(power, "PDU B", "2026-12-08T23:00Z", "2026-12-09T01:00Z", "pdu-b")
    both = ["Payroll", "feeds", "rack1"]
    assert _conflicts(power, a) == [("overlap", b, None, both), ("combined", b, None, both)]
    assert _conflicts(power, b) == [("overlap", a, None, both), ("combined", a, None, both)]
    code, data, _ = cli(power, "change", "show", str(a))
    assert data["risk"]["level"] == "High"
    assert "combined conflict with change 2 (3 CIs)" in data["risk"]["reasons"]


def test_text_lists_services_first_and_stays_short(power: Path) -> None:
    a = _add(power, "PDU A", "2026-12-08T22:00Z", "2026-12-08T23:30Z", "pdu-a")
    _add(power, "PDU B", "2026-12-08T23:00Z", "2026-12-09T01:00Z", "pdu-b")
    out, err = io.StringIO(), io.StringIO()
    assert main(["--db", str(power), "change", "conflicts", str(a)], out=out, err=err) == 0
    lines = out.getvalue().splitlines()
    combined = lines.index("combined with change 2: 3 CIs, 1 of them services")
    # The service before the infrastructure that takes it down.
    assert lines[combined + 1].startswith("  Business Service/Payroll")
    out = io.StringIO()
    assert main(["--db", str(power), "change", "show", str(a)], out=out, err=err) == 0
    assert "    combined conflict with change 2 (3 CIs)" in out.getvalue().splitlines()


def test_capped_lines_count_the_rest() -> None:
    assert list(capped_lines(["a", "b", "c"], 2)) == [
        "  a",
        "  b",
        "  … and 1 more (--format json lists all)",
    ]
    assert list(capped_lines(["a"], 2, "    ")) == ["    a"]


def test_combined_through_a_percentage_rule(db_path: Path) -> None:
    with Cmdb.open(db_path, create=True) as cmdb:
        build(cmdb, *PERCENT)
    a = _add(db_path, "n1", "2026-12-08T22:00Z", "2026-12-08T23:00Z", "n1")
    b = _add(db_path, "n2", "2026-12-08T22:30Z", "2026-12-08T23:30Z", "n2")
    # One node down leaves 2 of 3 up (≥ 2 needed): grid degraded. Two leave 1: down.
    assert ("combined", b, None, ["Search", "grid"]) in _conflicts(db_path, a)
    # n3 on its own, later, meets nobody.
    c = _add(db_path, "n3", "2026-12-09T22:00Z", "2026-12-09T23:00Z", "n3")
    assert _conflicts(db_path, c) == []


def test_windows_that_only_touch_do_not_conflict(power: Path) -> None:
    a = _add(power, "PDU A", "2026-12-08T22:00Z", "2026-12-08T23:00Z", "pdu-a")
    b = _add(power, "PDU B", "2026-12-08T23:00Z", "2026-12-09T01:00Z", "pdu-b")
    c = _add(power, "PDU A again", "2026-12-08T21:00Z", "2026-12-08T22:00Z", "pdu-a")
    assert _conflicts(power, a) == []
    assert _conflicts(power, b) == []
    assert _conflicts(power, c) == []


def test_same_ci_and_overlap(power: Path) -> None:
    a = _add(power, "firmware", "2026-12-08T22:00Z", "2026-12-08T23:00Z", "pdu-a")
    b = _add(power, "cabling", "2026-12-08T22:30Z", "2026-12-08T23:30Z", "pdu-a", "rack1")
    # Same CI pdu-a. Overlap: a impacts feeds, rack1, Payroll; rack1 is in b's set,
    # feeds is impacted by b, Payroll too. Nothing new goes down under the union.
    assert _conflicts(power, a) == [
        ("same-ci", b, None, ["pdu-a"]),
        ("overlap", b, None, ["Payroll", "feeds", "rack1"]),
    ]


def test_only_active_changes_conflict(power: Path) -> None:
    a = _add(power, "PDU A", "2026-12-08T22:00Z", "2026-12-08T23:30Z", "pdu-a")
    _add(power, "PDU B draft", "2026-12-08T23:00Z", "2026-12-09T01:00Z", "pdu-b", submit=False)
    assert _conflicts(power, a) == []


def test_blackout_by_location_and_class(power: Path) -> None:
    code, _, err = cli(
        power,
        "window", "add", "year-end freeze", "--kind", "blackout",
        "--start", "2026-12-08T00:00Z", "--end", "2026-12-09T00:00Z",
        "--scope", "location=room-1",
    )  # fmt: skip
    assert code == 0, err
    # Both feeds in one change: feeds, rack1 and Payroll go down; rack1 is in room-1.
    a = _add(power, "both feeds", "2026-12-08T22:00Z", "2026-12-08T23:00Z", "pdu-a", "pdu-b")
    assert _conflicts(power, a) == [("blackout", None, "year-end freeze", ["rack1"])]
    # One feed only degrades rack1: no blackout conflict (only down CIs count).
    b = _add(power, "one feed", "2026-12-08T10:00Z", "2026-12-08T11:00Z", "pdu-a")
    assert _conflicts(power, b) == []
    # After the freeze: nothing.
    c = _add(power, "later", "2026-12-09T00:00Z", "2026-12-09T01:00Z", "pdu-a", "pdu-b")
    assert _conflicts(power, c) == []
    code, _, _ = cli(
        power,
        "window", "add", "power freeze", "--kind", "blackout",
        "--start", "2026-12-08T10:30Z", "--end", "2026-12-08T10:45Z",
        "--scope", "class=Power Device",
    )  # fmt: skip
    assert _conflicts(power, b) == [("blackout", None, "power freeze", ["pdu-a"])]


def test_outside_maintenance_with_a_recurring_window(power: Path) -> None:
    code, data, err = cli(
        power,
        "window", "add", "power slot", "--kind", "maintenance",
        "--rrule", "FREQ=WEEKLY;BYDAY=TU;BYHOUR=22;BYMINUTE=0",
        "--start", "2026-12-01T00:00Z", "--duration", "120", "--scope", "pdu-a",
    )  # fmt: skip
    assert code == 0, err
    assert data["rrule"].startswith("FREQ=WEEKLY")
    # With TZ unset in tests the local zone is the machine's; use a zone-free check:
    inside = _add(power, "in slot", "2026-12-08T22:30", "2026-12-08T23:30", "pdu-a")
    outside = _add(power, "late", "2026-12-15T23:30", "2026-12-16T00:30", "pdu-a")
    other = _add(power, "rack", "2026-12-16T10:00Z", "2026-12-16T11:00Z", "rack1")
    assert _conflicts(power, inside) == []
    assert _conflicts(power, outside) == [("outside-maintenance", None, "power slot", ["pdu-a"])]
    assert _conflicts(power, other) == []


def test_conflicts_see_a_changed_cmdb(power: Path) -> None:
    a = _add(power, "PDU A", "2026-12-08T22:00Z", "2026-12-08T23:30Z", "pdu-a")
    b = _add(power, "PDU B", "2026-12-08T23:00Z", "2026-12-09T01:00Z", "pdu-b")
    assert any(k == "combined" for k, *_ in _conflicts(power, a))
    with Cmdb.open(power) as cmdb:  # the group is told to need no feed: no redundancy
        feeds = cmdb.items.resolve("feeds")
        cmdb.items.update(feeds, {"redundancy_min_up": None})
    kinds = [k for k, *_ in _conflicts(power, a)]
    assert "combined" not in kinds  # each feed alone now takes the rack down
    with Cmdb.open(power) as cmdb:
        assert ChangeService(cmdb).get(b).state == "Submitted"


def test_import_a_change_schedule(power: Path, tmp_path: Path) -> None:
    import csv
    import hashlib

    sheet = tmp_path / "schedule.csv"
    rows = [
        ["Change", "Planned start", "Planned end", "CIs", "Type", "Assignee"],
        ["PDU A", "2026-12-08T22:00Z", "2026-12-08T23:30Z", "pdu-a", "Normal", "carol"],
        ["PDU B", "2026-12-08T23:00Z", "2026-12-09T01:00Z", "pdu-b; Rack/rack1", "", ""],
        ["broken", "2026-12-09T23:00Z", "2026-12-09T22:00Z", "pdu-c", "Sometimes", ""],
    ]
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    before = hashlib.sha256(power.read_bytes()).hexdigest()
    code, data, err = cli(power, "change", "import", str(sheet))
    assert code == 2
    assert data["changes"] == {"created": 0, "valid": 2, "errors": 1}
    assert {(e["row"], e["column"]) for e in data["errors"]} == {(4, "C"), (4, "D"), (4, "E")}
    assert hashlib.sha256(power.read_bytes()).hexdigest() == before  # all or nothing
    code, data, _ = cli(power, "change", "import", str(sheet), "--dry-run", "--skip-errors")
    assert code == 0 and data["dry_run"] and data["changes"]["created"] == 0
    code, data, _ = cli(power, "change", "import", str(sheet), "--skip-errors")
    assert code == 0 and data["changes"]["created"] == 2
    code, shown, _ = cli(power, "change", "show", str(data["ids"][1]))
    assert [c["name"] for c in shown["change_set"]] == ["pdu-b", "rack1"]
    assert shown["state"] == "Draft" and shown["kind"] == "Normal"
