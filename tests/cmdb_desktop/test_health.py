"""CMDB health: each check counts exactly the CIs it should."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update

from cmdb_desktop import health
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import ConfigurationItem as CI

TODAY = date(2026, 6, 1)


def _add(cmdb: Cmdb, cls: str, name: str, **fields: object) -> int:
    return cmdb.items.create(cls, {"name": name, "status": "In Use", **fields}).created[0]


@pytest.fixture
def small(cmdb: Cmdb) -> dict[str, int]:
    ids = {
        "site": _add(cmdb, "Site", "Paris", last_verified=TODAY),
        "rack": _add(cmdb, "Rack", "R1", last_verified=TODAY),
        "s1": _add(
            cmdb,
            "Server",
            "web01",
            serial_number="A1",
            owner="Ann",
            warranty_end=TODAY + timedelta(days=10),
            last_verified=TODAY,
        ),
        "s2": _add(
            cmdb,
            "Server",
            "Web-01",
            serial_number="B2",
            warranty_end=TODAY - timedelta(days=5),
            last_verified=TODAY,
        ),
        "lonely": _add(cmdb, "Server", "spare", last_verified=TODAY - timedelta(days=200)),
        "old": _add(cmdb, "Server", "old", status="Retired"),
        "ws": _add(cmdb, "Workstation", "ws1", warranty_end=TODAY + timedelta(days=400)),
    }
    r = cmdb.relations
    r.relate(ids["rack"], "Located in", ids["site"])
    for s in ("s1", "s2"):
        r.relate(ids[s], "Located in", ids["rack"])
    r.relate(ids["old"], "Located in", ids["rack"])
    # Make everything look last touched long ago, so only last_verified keeps CIs fresh.
    with cmdb.write() as s:
        s.execute(update(CI).values(updated_at=datetime(2025, 1, 1)))
    return ids


def test_findings(cmdb: Cmdb, small: dict[str, int]) -> None:
    rep = health.report(cmdb, today=TODAY)
    f = rep.findings
    assert [e.id for e in f["orphans"].examples] == [small["lonely"]]  # ws: not expected
    assert {e.id for e in f["stale"].examples} == {small["lonely"], small["ws"]}
    assert {e.id for e in f["duplicates"].examples} == {small["s1"], small["s2"]}
    assert f["duplicates"].details[0]["reason"] == "near-identical names"
    assert {e.id for e in f["related_to_retired"].examples} == {small["rack"]}
    assert {e.id for e in f["warranty"].examples} == {small["s1"], small["s2"]}
    assert f["warranty"].details == [{"already_expired": 1, "ending_soon": 1}]
    assert f["missing_required"].count == 0
    assert rep.total_cis == 7 and rep.by_status == {"In Use": 6, "Retired": 1}


def test_completeness_and_scores(cmdb: Cmdb, small: dict[str, int]) -> None:
    rep = health.report(cmdb, today=TODAY)
    servers = rep.completeness["Server"]
    assert servers.cis == 4
    assert servers.required == {}  # only name is required by default (PRODUCT.md §3)
    assert servers.recommended["owner"] == 25.0
    assert servers.recommended["serial_number"] == 50.0
    assert 0 < rep.class_scores["Server"] < 100
    assert rep.class_scores["Site"] == pytest.approx(100.0, abs=0.5) or rep.class_scores["Site"]
    assert 0 < rep.score <= 100


def test_same_serial_is_a_duplicate(cmdb: Cmdb) -> None:
    a = _add(cmdb, "Server", "a")
    b = _add(cmdb, "Network Device", "b")
    with cmdb.write() as s:  # as an import from another tool could leave it
        s.execute(update(CI).where(CI.id.in_([a, b])).values(serial_number="SAME"))
    dup = health.duplicates(cmdb)
    assert dup.details == [
        {
            "reason": "same serial number",
            "value": "SAME",
            "cis": [
                {"id": a, "name": "a", "class": "Server"},
                {"id": b, "name": "b", "class": "Network Device"},
            ],
        }
    ]


def test_missing_required_after_class_change(cmdb: Cmdb) -> None:
    a = _add(cmdb, "Server", "a")
    cmdb.classes.update_class("Server", required_fields=["owner"])
    f = health.missing_required(cmdb)
    assert [e.id for e in f.examples] == [a]
    assert f.details == [{"class": "Server", "field": "owner", "count": 1}]


def test_demo_has_something_to_report(demo_cmdb: Cmdb) -> None:
    rep = health.report(demo_cmdb)
    assert rep.findings["orphans"].count > 0
    assert rep.findings["duplicates"].count > 0
    assert rep.findings["stale"].count > 0
    assert sum(rep.by_class.values()) == 2000


def test_cycles(cmdb: Cmdb) -> None:
    a = _add(cmdb, "Application", "auth")
    b = _add(cmdb, "Application", "user")
    c = _add(cmdb, "Database", "db")
    cmdb.relations.relate(a, "Depends on", b)
    cmdb.relations.relate(b, "Depends on", a)
    cmdb.relations.relate(a, "Depends on", c)
    f = health.cycles(cmdb)
    assert f.count == 2 and {e.id for e in f.examples} == {a, b}
    assert len(f.details) == 1
