"""Identification rules (PRODUCT.md §3) as a reusable matcher."""

from __future__ import annotations

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import ci_table
from importers.reconcile import DuplicateTracker, IdentityIndex, Matcher, fields_for, key_of
from tests.legacy import legacy_ci


@pytest.fixture
def matcher(cmdb: Cmdb) -> Matcher:
    add = cmdb.items.create
    add("Server", {"name": "web01", "status": "In Use", "serial_number": "SN-1", "asset_tag": "A1"})
    add("Network Device", {"name": "sw01", "status": "In Use", "serial_number": "SN-2"})
    add("Server", {"name": "db01", "status": "In Use", "asset_tag": "A3"})
    add("Application", {"name": "crm", "status": "In Use"})
    add("Database", {"name": "crm", "status": "In Use"})
    with cmdb.read() as s:
        index = IdentityIndex.load(s, cmdb.meta, fields_for(cmdb.meta))
    return Matcher(cmdb.meta, index)


def _id(cmdb: Cmdb, name: str, cls: str) -> int:
    return next(r.id for r in cmdb.items.find_by_name(name) if r.class_name == cls)


def test_serial_first_across_the_hardware_subtree(cmdb: Cmdb, matcher: Matcher) -> None:
    server = cmdb.meta.get_class("Server")
    # The serial belongs to a network device: hardware is one identity space.
    m = matcher.match(server, {"name": "renamed", "serial_number": "sn-2 "})
    assert m.rule == ("serial_number",) and m.ci_id == _id(cmdb, "sw01", "Network Device")
    # First rule whose values are present decides: an unknown serial is a new CI,
    # even though the name exists.
    m = matcher.match(server, {"name": "web01", "serial_number": "SN-99"})
    assert m.new and m.ci_id is None
    # No serial: the asset tag decides, then the name.
    assert matcher.match(server, {"name": "x", "asset_tag": "A3"}).ci_id == _id(
        cmdb, "db01", "Server"
    )
    assert matcher.match(server, {"name": "WEB01"}).ci_id == _id(cmdb, "web01", "Server")


def test_name_within_class(cmdb: Cmdb, matcher: Matcher) -> None:
    app = cmdb.meta.get_class("Application")
    db = cmdb.meta.get_class("Database")
    assert matcher.match(app, {"name": "crm"}).ci_id == _id(cmdb, "crm", "Application")
    assert matcher.match(db, {"name": "crm"}).ci_id == _id(cmdb, "crm", "Database")
    # Without a class every CI is one space: two CIs are named crm.
    m = matcher.match(None, {"name": "crm"})
    assert m.ambiguous and m.ci_id is None and len(m.candidates) == 2


def test_exact_case_breaks_a_tie(cmdb: Cmdb) -> None:
    cmdb.items.create("Rack", {"name": "R1", "status": "In Use"})
    legacy_ci(cmdb, "Rack", "r1")  # one identity twice: only data from before can hold it
    with cmdb.read() as s:
        matcher = Matcher(cmdb.meta, IdentityIndex.load(s, cmdb.meta, ["name"]))
    rack = cmdb.meta.get_class("Rack")
    assert matcher.match(rack, {"name": "r1"}).ci_id == _id(cmdb, "r1", "Rack")
    assert matcher.match(rack, {"name": "R1 "}).ambiguous


def test_ranked_keys_replace_the_rules(cmdb: Cmdb, matcher: Matcher) -> None:
    keyed = Matcher(cmdb.meta, matcher.index, [["asset_tag"], ["name"]])
    server = cmdb.meta.get_class("Server")
    m = keyed.match(server, {"name": "web01", "serial_number": "SN-other", "asset_tag": "A1"})
    assert m.rule == ("asset_tag",) and m.ci_id == _id(cmdb, "web01", "Server")
    only_tags = Matcher(cmdb.meta, matcher.index, [["asset_tag"]])
    assert only_tags.match(server, {"name": "web01"}).rule is None  # no key has a value


def test_hard_keys_belong_to_one_ci(cmdb: Cmdb, matcher: Matcher) -> None:
    server = cmdb.meta.schema(cmdb.meta.get_class("Server"))
    new = {"name": "new", "asset_tag": "a1"}
    clash = matcher.identity_conflicts(server, new, server.identity_claims("new", new), None)
    assert clash == [(("asset_tag",), _id(cmdb, "web01", "Server"))]
    mine = {"name": "web01", "asset_tag": "A1"}
    claims = server.identity_claims("web01", mine)
    assert matcher.identity_conflicts(server, mine, claims, _id(cmdb, "web01", "Server")) == []


def test_index_of_a_subset_of_classes(cmdb: Cmdb, matcher: Matcher) -> None:
    app = cmdb.meta.get_class("Application")
    with cmdb.read() as s:
        index = IdentityIndex.load(s, cmdb.meta, ["name"], class_ids=[app.id])
        total = s.query(ci_table).count()
    assert len(index.class_of) == 1 < total


def test_duplicate_tracker_flags_every_row() -> None:
    tracker = DuplicateTracker()
    space = frozenset({1})
    tracker.claim(space, ("name",), {"name": "Web01"}, 0)
    tracker.claim(space, ("name",), {"name": "web01 "}, 3)
    tracker.claim(space, ("name",), {"name": "web02"}, 4)
    tracker.claim_ci(7, 5)
    tracker.claim_ci(7, 6)
    assert tracker.duplicates() == {0: [3], 3: [0], 5: [6], 6: [5]}


def test_key_folding() -> None:
    assert key_of("  Web  01 ") == key_of("web 01") == "web 01"
    assert key_of("") is None and key_of(None) is None
    assert key_of(2.0) == 2
