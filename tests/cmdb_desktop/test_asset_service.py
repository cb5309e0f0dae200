"""People and custody, licence compliance, stock and calendars (PRODUCT.md §10)."""

from __future__ import annotations

from datetime import date

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import NotFoundError, ValidationError


def add(cmdb: Cmdb, cls: str, name: str, **fields: object) -> int:
    return cmdb.items.create(cls, {"name": name, **fields}).created[0]


def test_checkout_and_checkin_keep_custody_history(cmdb: Cmdb) -> None:
    cmdb.assets.add_person("Ann Lee", email="ann@example.com", employee_id="E1")
    bob = cmdb.assets.add_person("Bob Roy", department="Finance")
    laptop = add(cmdb, "Workstation", "lt-1", status="In Stock")
    out = cmdb.assets.checkout(laptop, "ann@example.com", due=date(2026, 2, 1), on=date(2026, 1, 5))
    assert out["person"]["name"] == "Ann Lee" and out["due"] == "2026-02-01"
    rec = cmdb.items.get(laptop)
    assert (rec.values["status"], rec.values["assigned_to"]) == ("In Use", "Ann Lee")
    with pytest.raises(ValidationError, match="checked out to Ann Lee since 2026-01-05"):
        cmdb.assets.checkout(laptop, "Bob Roy")
    assert [o["ci"]["name"] for o in cmdb.assets.overdue(date(2026, 2, 2))] == ["lt-1"]
    assert cmdb.assets.overdue(date(2026, 2, 1)) == []
    cmdb.assets.checkin(laptop, on=date(2026, 2, 3))
    rec = cmdb.items.get(laptop)
    assert (rec.values["status"], rec.values["assigned_to"]) == ("In Stock", None)
    assert cmdb.assets.overdue(date(2026, 3, 1)) == []
    cmdb.assets.checkout(laptop, f"#{bob['id']}", on=date(2026, 3, 1))
    history = cmdb.assets.custody(laptop)
    assert [(h["person"]["name"], h["checked_in"]) for h in history] == [
        ("Bob Roy", None),
        ("Ann Lee", "2026-02-03"),
    ]
    assert [c["ci"]["name"] for c in cmdb.assets.person("E1")["custody"]] == ["lt-1"]


def test_checkout_obeys_the_lifecycle(cmdb: Cmdb) -> None:
    cmdb.assets.add_person("Ann")
    old = add(cmdb, "Workstation", "old", status="Retired", retirement_reason="broken")
    with pytest.raises(ValidationError, match="cannot change from Retired to In Use"):
        cmdb.assets.checkout(old, "Ann")
    assert cmdb.assets.custody(old) == []
    with pytest.raises(NotFoundError, match="No person 'Zed'"):
        cmdb.assets.checkout(old, "Zed")
    with pytest.raises(ValidationError, match="not checked out"):
        cmdb.assets.checkin(old)


def test_free_text_assignees_matched_to_people(cmdb: Cmdb) -> None:
    cmdb.assets.add_person("Ann Lee", email="ann@example.com")
    cmdb.assets.add_person("Bob Roy")
    a = add(cmdb, "Workstation", "a", assigned_to="ann lee ")
    b = add(cmdb, "Workstation", "b", assigned_to="ANN@example.com")
    add(cmdb, "Workstation", "c", assigned_to="Carol")
    result = cmdb.assets.match_assignees()
    assert sorted(m["ci"]["name"] for m in result["matched"]) == ["a", "b"]
    assert [(u["ci"]["name"], u["assigned_to"]) for u in result["unmatched"]] == [("c", "Carol")]
    assert cmdb.items.get(a).values["assigned_to"] == "Ann Lee"
    assert cmdb.items.get(b).values["assigned_to"] == "Ann Lee"
    assert len(cmdb.assets.person("Ann Lee")["custody"]) == 2


@pytest.fixture
def estate(cmdb: Cmdb) -> Cmdb:
    """Office (per device, 5 seats + an expired 10 and a retired 10) on 4 devices, one
    retired; CAD (per user, 2 seats) on 4 devices shared by 3 people."""
    office = add(cmdb, "Software", "Office")
    cad = add(cmdb, "Software", "CAD")
    lic = [
        add(cmdb, "Licence", "office-a", seats=5, licence_metric="Per device"),
        add(
            cmdb,
            "Licence",
            "office-old",
            seats=10,
            licence_metric="Per device",
            expiry_date="2025-12-31",
        ),
        add(
            cmdb,
            "Licence",
            "office-ret",
            seats=10,
            licence_metric="Per device",
            status="Retired",
        ),
    ]
    for lid in lic:
        cmdb.relations.relate(lid, "Covers", office)
    cad_lic = add(
        cmdb, "Licence", "cad-a", seats=2, licence_metric="Per user", expiry_date="2026-06-30"
    )
    cmdb.relations.relate(cad_lic, "Covers", cad)
    devices = [
        add(cmdb, "Workstation", "w1", assigned_to="Ann"),
        add(cmdb, "Workstation", "w2", assigned_to="ann"),  # the same person
        add(cmdb, "Workstation", "w3", assigned_to="Bob"),
        add(cmdb, "Workstation", "w4", assigned_to="Cy", status="Retired", retirement_reason="old"),
        add(cmdb, "Server", "s1", assigned_to="Dee"),
    ]
    for d in devices[:4]:
        cmdb.relations.relate(office, "Installed on", d)
    for d in (devices[0], devices[1], devices[2], devices[4]):
        cmdb.relations.relate(cad, "Installed on", d)
    return cmdb


def test_compliance(estate: Cmdb) -> None:
    got = {c.software["name"]: c for c in estate.assets.compliance(date(2026, 1, 15))}
    office, cad = got["Office"], got["CAD"]
    # expired and retired licences do not count; the retired device does not consume
    assert (office.metric, office.entitled, office.consumed) == ("Per device", 5, 3)
    assert (office.status, office.shortfall, office.spare) == ("compliant", 0, 2)
    # Ann (twice), Bob, Dee: 3 people on 2 seats
    assert (cad.metric, cad.entitled, cad.consumed) == ("Per user", 2, 3)
    assert (cad.status, cad.shortfall) == ("over-deployed", 1)
    # after its expiry CAD has no entitlement at all
    later = {c.software["name"]: c for c in estate.assets.compliance(date(2026, 7, 1))}
    assert (later["CAD"].entitled, later["CAD"].shortfall) == (0, 3)
    # on the expiry day the licence still counts
    on_day = {c.software["name"]: c for c in estate.assets.compliance(date(2026, 6, 30))}
    assert on_day["CAD"].entitled == 2


def test_stock_thresholds_and_calendar(cmdb: Cmdb) -> None:
    for n, loc in enumerate(["HQ", "HQ", "Depot"]):
        add(cmdb, "Workstation", f"x{n}", status="In Stock", model="X1", location=loc)
    add(cmdb, "Workstation", "y", status="In Use", model="Y2")
    cmdb.assets.set_threshold("X1", 5)
    cmdb.assets.set_threshold("Y2", 1)
    lines = [(s.model, s.location, s.in_stock, s.alert) for s in cmdb.assets.stock()]
    assert lines == [("X1", "Depot", 1, True), ("X1", "HQ", 2, True), ("Y2", "(any)", 0, True)]
    assert [(a["model"], a["short"]) for a in cmdb.assets.stock_alerts()] == [("X1", 2), ("Y2", 1)]
    add(
        cmdb,
        "Server",
        "w",
        purchase_date="2025-01-01",
        warranty_end="2026-01-20",
        end_of_life="2026-03-01",
        lease_end="2026-01-10",
    )
    add(cmdb, "Licence", "l", expiry_date="2026-01-31", seats=1)
    entries = [(e.kind, e.on.isoformat()) for e in cmdb.assets.calendar(30, date(2026, 1, 5))]
    assert entries == [
        ("lease", "2026-01-10"),
        ("warranty", "2026-01-20"),
        ("licence expiry", "2026-01-31"),
    ]
