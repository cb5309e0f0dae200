"""CMDB health: each check counts exactly the CIs it should."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from cmdb_desktop import health
from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ValidationError
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
    # Paris is free of every finding, so each check scores 100 for Site; only its
    # completeness (nothing required, the recommended owner 0 %) is not.
    site = rep.completeness["Site"]
    assert site.required == {} and site.recommended == {"owner": 0.0}
    assert site.score == 0.0
    checks = len(health.CHECKS)
    assert rep.class_scores["Site"] == pytest.approx(100 * checks / (1 + checks))
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


# -- the registry ------------------------------------------------------------------

#: The finding keys of ``cmdb health --format json`` before the registry existed:
#: scripts read them, so they stay (keys may be added, never renamed).
RELEASED_KEYS = {
    "orphans",
    "missing_required",
    "stale",
    "duplicates",
    "cycles",
    "related_to_retired",
    "warranty",
}


def test_every_key_is_registered_once() -> None:
    keys = [c.key for c in health.CHECKS]
    assert sorted(keys) == sorted(health.CheckKey) and len(set(keys)) == len(keys)
    assert RELEASED_KEYS <= {str(k) for k in keys}
    for c in health.CHECKS:
        assert c.title and c.describe() and "{" not in c.describe()


def test_report_runs_the_registry_in_order(cmdb: Cmdb, small: dict[str, int]) -> None:
    rep = health.report(cmdb, today=TODAY)
    assert list(rep.findings) == [c.key for c in health.CHECKS]
    data = rep.to_json()
    # the findings sit beside the report's own keys: none may shadow another
    own = {"today", "cis", "relationships", "score", "by_class", "by_status"}
    own |= {"class_scores", "completeness"}
    assert not own & {str(c.key) for c in health.CHECKS}
    assert data["orphans"]["count"] == rep.findings[health.CheckKey.ORPHANS].count == 1
    json.dumps(data)  # plain JSON (the StrEnum keys come out as their text)


def test_descriptions_follow_the_thresholds() -> None:
    stale = health.find_check("stale")
    assert stale.describe() == "Active CIs neither verified nor updated for 90 days"
    options = health.CheckOptions(TODAY, stale_days=30, warranty_days=14)
    assert "30 days" in stale.describe(options)
    assert "14 days" in health.find_check("warranty").describe(options)


def test_unknown_check_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="Unknown health check 'nope'"):
        health.find_check("nope")


def test_run_check_lists_every_ci(cmdb: Cmdb, small: dict[str, int]) -> None:
    finding = health.run_check(cmdb, "warranty", today=TODAY, sample=1)
    assert finding.count == 2 and len(finding.examples) == 1


def _health_cli(db: Path, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), "health", *args], out=out, err=err)
    assert err.getvalue() == ""
    return code, out.getvalue()


def test_cli_text_and_json_come_from_the_registry(
    cmdb: Cmdb, small: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cmdb.path
    assert path is not None
    cmdb.close()
    code, text = _health_cli(path, "--stale-days", "30")
    assert code == 0
    for c in health.CHECKS:
        assert f"{c.title}: " in text
    assert "neither verified nor updated for 30 days" in text
    code, text = _health_cli(path, "--format", "json")
    assert code == 0 and {str(c.key) for c in health.CHECKS} <= json.loads(text).keys()
    # Registering (here: keeping) a check is all the front ends need.
    kept = tuple(c for c in health.CHECKS if c.key != health.CheckKey.CYCLES)
    monkeypatch.setattr(health, "CHECKS", kept)
    code, text = _health_cli(path)
    assert code == 0 and "Impact cycles" not in text and "Orphans: 1 " in text
    code, text = _health_cli(path, "--format", "json")
    assert "cycles" not in json.loads(text) and "orphans" in json.loads(text)
