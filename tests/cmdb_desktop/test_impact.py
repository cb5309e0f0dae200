"""Worked examples of PRODUCT.md §5, checked by hand, through the facade."""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from cmdb_desktop import graph as graph_module
from cmdb_desktop import impact as impact_module
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import NotFoundError, ValidationError
from cmdb_desktop.graph import NEVER, ImpactGraph, down_thresholds, required_up
from cmdb_desktop.impact import blast_radius, single_points_of_failure
from cmdb_desktop.models import ci_table


def test_doctests_of_the_engine() -> None:
    for module in (graph_module, impact_module):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0, module.__name__


def add(cmdb: Cmdb, cls: str, name: str, **fields: Any) -> int:
    values = {"name": name, "status": "In Use"}
    values.update({k: str(v) for k, v in fields.items()})
    return cmdb.items.create(cls, values).created[0]


@pytest.fixture
def rack_room(cmdb: Cmdb) -> dict[str, int]:
    """§5's example: a rack fed by power feeds A and B behind a group, located in a room."""
    ids = {
        "room": add(cmdb, "Site", "Room 1"),
        "feed_a": add(cmdb, "Power Device", "Feed A"),
        "feed_b": add(cmdb, "Power Device", "Feed B"),
        "group": add(cmdb, "Cluster", "Rack 12 power", redundancy_min_up=1),
        "rack": add(cmdb, "Rack", "Rack 12"),
        "server": add(cmdb, "Server", "db01", criticality=2),
        "app": add(cmdb, "Application", "ledger"),
        "service": add(cmdb, "Business Service", "Payments", criticality=1),
    }
    rel = cmdb.relations.relate
    rel(ids["feed_a"], "Member of", ids["group"])
    rel(ids["group"], "Has member", ids["feed_b"])  # reverse name: Feed B Member of group
    rel(ids["rack"], "Powered by", ids["group"])
    rel(ids["room"], "Contains", ids["rack"])  # reverse name: rack Located in room
    rel(ids["server"], "Located in", ids["rack"])
    rel(ids["app"], "Runs on", ids["server"])
    rel(ids["service"], "Depends on", ids["app"])
    return ids


def _states(report: Any) -> dict[str, tuple[str, int]]:
    return {i.ci.name: (i.state, i.distance) for i in report.impacted}


@pytest.mark.backends
def test_one_feed_down_only_degrades_the_rack(cmdb: Cmdb, rack_room: dict[str, int]) -> None:
    report = cmdb.analysis.impact([rack_room["feed_a"]])
    assert _states(report) == {
        "Rack 12 power": ("degraded", 1),
        "Rack 12": ("degraded", 2),
        "db01": ("degraded", 3),
        "ledger": ("degraded", 4),
        "Payments": ("degraded", 5),
    }
    assert report.counts == {"down": 0, "degraded": 5}
    payments = report.impacted[0]
    assert payments.ci.name == "Payments" and payments.service
    assert payments.path == ["Feed A", "Rack 12 power", "Rack 12", "db01", "ledger", "Payments"]
    assert report.path_ids(rack_room["service"])[0] == rack_room["feed_a"]


@pytest.mark.backends
def test_both_feeds_down_take_everything_down(cmdb: Cmdb, rack_room: dict[str, int]) -> None:
    report = cmdb.analysis.impact([rack_room["feed_a"], rack_room["feed_b"]])
    assert {name: s for name, (s, _) in _states(report).items()} == {
        "Rack 12 power": "down",
        "Rack 12": "down",
        "db01": "down",
        "ledger": "down",
        "Payments": "down",
    }
    assert [c.name for c in report.changed] == ["Feed A", "Feed B"]


def test_the_room_is_not_redundant(cmdb: Cmdb, rack_room: dict[str, int]) -> None:
    report = cmdb.analysis.impact([rack_room["room"]])
    assert _states(report) == {
        "Rack 12": ("down", 1),
        "db01": ("down", 2),
        "ledger": ("down", 3),
        "Payments": ("down", 4),
    }
    spof = cmdb.analysis.spof(rack_room["service"])
    assert sorted(s.ci.name for s in spof.spof) == [
        "Rack 12",
        "Rack 12 power",
        "Room 1",
        "db01",
        "ledger",
    ]
    assert spof.dependencies == 7
    deps = cmdb.analysis.depends(rack_room["service"])
    assert [(d.ci.name, d.distance) for d in deps.dependencies] == [
        ("ledger", 1),
        ("db01", 2),
        ("Rack 12", 3),
        ("Rack 12 power", 4),
        ("Room 1", 4),
        ("Feed A", 5),
        ("Feed B", 5),
    ]
    assert [(layer.class_name, layer.cis) for layer in deps.layers] == [
        ("Application", 1),
        ("Server", 1),
        ("Rack", 1),
        ("Cluster", 1),
        ("Site", 1),
        ("Power Device", 2),
    ]


def test_retired_cis_neither_receive_nor_pass_impact(cmdb: Cmdb, rack_room: dict[str, int]) -> None:
    cmdb.items.update(rack_room["feed_b"], {"status": "Retired", "retirement_reason": "spare"})
    # The group now has one member: min up 1 of 1, so feed A alone takes it down.
    report = cmdb.analysis.impact([rack_room["feed_a"]])
    assert _states(report)["Rack 12 power"] == ("down", 1)
    assert cmdb.analysis.impact([rack_room["feed_b"]]).impacted == []
    assert cmdb.analysis.impact([rack_room["feed_b"]]).inactive[0].name == "Feed B"
    cmdb.items.update(rack_room["server"], {"status": "Retired", "retirement_reason": "old"})
    cmdb.items.update(
        rack_room["server"],
        {"status": "Disposed", "disposal_date": "2026-01-01", "disposal_method": "recycled"},
    )
    report = cmdb.analysis.impact([rack_room["room"]])
    assert _states(report) == {"Rack 12": ("down", 1)}
    assert not cmdb.analysis.depends(rack_room["server"]).active
    assert cmdb.analysis.spof(rack_room["server"]).spof == []


def test_depth_lists_only_near_cis(cmdb: Cmdb, rack_room: dict[str, int]) -> None:
    report = cmdb.analysis.impact([rack_room["room"]], depth=2)
    assert _states(report) == {"Rack 12": ("down", 1), "db01": ("down", 2)}
    assert report.counts == {"down": 2, "degraded": 0}
    assert cmdb.analysis.impact([rack_room["room"]], depth=0).impacted == []
    with pytest.raises(ValidationError):
        cmdb.analysis.impact([rack_room["room"]], depth=-1)
    with pytest.raises(ValidationError):
        cmdb.analysis.impact([])
    with pytest.raises(NotFoundError):
        cmdb.analysis.impact([rack_room["room"], 999_999])


@pytest.mark.backends
def test_a_cycle_terminates_with_the_least_fixpoint(cmdb: Cmdb) -> None:
    """user-service ↔ social-graph-service, as in DeathStarBench."""
    db = add(cmdb, "Database", "user-mongodb")
    user = add(cmdb, "Application", "user-service")
    graph = add(cmdb, "Application", "social-graph-service")
    cache = add(cmdb, "Database", "social-graph-redis")
    cmdb.relations.relate(user, "Depends on", db)
    cmdb.relations.relate(user, "Depends on", graph)
    cmdb.relations.relate(graph, "Depends on", user)
    cmdb.relations.relate(graph, "Depends on", cache)
    report = cmdb.analysis.impact([db])
    assert _states(report) == {
        "user-service": ("down", 1),
        "social-graph-service": ("down", 2),
    }
    assert report.impacted[1].path == ["user-mongodb", "user-service", "social-graph-service"]
    cycles = cmdb.analysis.cycles()
    assert [[m.name for m in c.members] for c in cycles] == [
        ["social-graph-service", "user-service"]
    ]
    assert [e.name for e in cycles[0].example] in (
        ["user-service", "social-graph-service", "user-service"],
        ["social-graph-service", "user-service", "social-graph-service"],
    )
    assert cycles[0].to_json()["members"][0]["class"] == "Application"
    # With a rule on the graph service, the cycle alone cannot keep it down.
    cmdb.items.update(graph, {"redundancy_min_up": "1"})
    report = cmdb.analysis.impact([cache])
    assert _states(report) == {
        "social-graph-service": ("degraded", 1),
        "user-service": ("degraded", 2),
    }


def test_cycle_groups_are_whole_components_however_long() -> None:
    # a ring of 200,000 CIs (no recursion to run out of), two triangles sharing a CI
    # (one group), a 2-cycle reached from both, and a chain that is on no cycle
    ring = [(i, i + 1) for i in range(1, 200_000)] + [(200_000, 1)]
    triangles = [(300_001, 300_002), (300_002, 300_003), (300_003, 300_001)]
    triangles += [(300_003, 300_004), (300_004, 300_005), (300_005, 300_003)]
    pair = [(300_005, 400_001), (1, 400_001), (400_001, 400_002), (400_002, 400_001)]
    chain = [(500_001, 500_002), (500_002, 500_003)]
    g = ImpactGraph.from_edges(ring + triangles + pair + chain)
    groups = impact_module.cycle_groups(g)
    assert [len(x) for x in groups] == [200_000, 5, 2]
    assert groups[1:] == [[300_001, 300_002, 300_003, 300_004, 300_005], [400_001, 400_002]]
    assert groups[0] == list(range(1, 200_001))
    assert impact_module.cycle_groups(ImpactGraph.from_edges(chain)) == []
    assert impact_module.cycle_groups(ImpactGraph.from_edges([])) == []


@pytest.mark.backends
def test_percentage_rule(cmdb: Cmdb) -> None:
    """A web tier of 4 VMs with min up 50 %: k = ceil(0.5 × 4) = 2 must stay up."""
    tier = add(cmdb, "Cluster", "web-tier", redundancy_min_up_pct=50)
    vms = [add(cmdb, "Virtual Machine", f"web{n}") for n in range(1, 5)]
    for vm in vms:
        cmdb.relations.relate(vm, "Member of", tier)
    states = [_states(cmdb.analysis.impact(vms[:k]))["web-tier"][0] for k in (1, 2, 3, 4)]
    assert states == ["degraded", "degraded", "down", "down"]
    # 33.3 % of 3 members is 0.999, i.e. one must stay up (decimal, not float noise)
    cmdb.items.update(tier, {"redundancy_min_up_pct": "33.3"})
    cmdb.items.update(vms[3], {"status": "Retired"})
    states = [_states(cmdb.analysis.impact(vms[:k]))["web-tier"][0] for k in (1, 2, 3)]
    assert states == ["degraded", "degraded", "down"]
    assert cmdb.analysis.spof(tier).spof == []


def test_thresholds_compile_every_kind_of_rule() -> None:
    n = np.array([3, 3, 3, 3, 3, 1, 0])
    min_up = np.array([-1, 2, -1, 1, 0, 3, 1])
    pct = np.array([np.nan, np.nan, 100.0, 50.0, np.nan, np.nan, np.nan])
    assert required_up(n, min_up, pct).tolist() == [-1, 2, 3, 2, 0, 3, 1]
    assert down_thresholds(n, min_up, pct).tolist() == [1, 2, 1, 2, NEVER, -1, 0]


def test_a_rule_asking_more_than_there_is_goes_down_when_impacted_at_all() -> None:
    # C needs 3 up but has 2 predecessors; B (min up 0) is at worst degraded.
    a, b, c, d = 1, 2, 3, 4
    g = ImpactGraph.from_edges([(a, b), (b, c), (d, c)], rules={b: (0, None), c: (3, None)})
    r = blast_radius(g, [a])
    assert (r.state(b), r.state(c)) == ("degraded", "down")
    assert single_points_of_failure(g, c) == [1, 2, 4]
    assert single_points_of_failure(g, b) == []


@pytest.mark.backends
def test_parallel_relationships_count_one_predecessor(cmdb: Cmdb) -> None:
    rack = add(cmdb, "Rack", "r1")
    pdu_a = add(cmdb, "Power Device", "pdu-a")
    pdu_b = add(cmdb, "Power Device", "pdu-b")
    server = add(cmdb, "Server", "s1", redundancy_min_up=1)
    cmdb.relations.relate(server, "Powered by", pdu_a)
    cmdb.relations.relate(server, "Located in", pdu_a)  # odd, but one predecessor all the same
    cmdb.relations.relate(server, "Powered by", pdu_b)
    cmdb.relations.relate(pdu_a, "Located in", rack)
    graph = cmdb.analysis.graph()
    assert graph.predecessors(server) == sorted([pdu_a, pdu_b])
    assert graph.threshold(server) == 2
    assert _states(cmdb.analysis.impact([pdu_a]))["s1"] == ("degraded", 1)
    assert graph.rule(server) == (1, None)
    assert graph.rule(rack) == (None, None)


@pytest.mark.backends
def test_report_order_services_first_by_criticality_then_state_then_name(cmdb: Cmdb) -> None:
    core = add(cmdb, "Server", "core")
    spare = add(cmdb, "Server", "spare")
    group = add(cmdb, "Cluster", "pair", redundancy_min_up=1)
    cmdb.relations.relate(core, "Member of", group)
    cmdb.relations.relate(spare, "Member of", group)
    specs = [
        ("Business Service", "zeta", 1, core),
        ("Application Service", "alpha", None, core),
        ("Business Service", "beta", 2, core),
        ("Application Service", "Gamma", 1, group),
        ("Business Service", "delta", 1, core),
        ("Application", "app-far", None, None),
        ("Application", "App-near", None, core),
        ("Database", "db-near", None, group),
    ]
    made = {}
    for cls, name, crit, target in specs:
        fields = {"criticality": crit} if crit is not None else {}
        made[name] = add(cmdb, cls, name, **fields)
        if target is not None:
            cmdb.relations.relate(made[name], "Depends on", target)
    cmdb.relations.relate(made["app-far"], "Depends on", made["App-near"])
    report = cmdb.analysis.impact([core])
    assert [(i.ci.name, i.state) for i in report.impacted] == [
        ("delta", "down"),  # criticality 1, down
        ("zeta", "down"),
        ("Gamma", "degraded"),  # criticality 1, degraded
        ("beta", "down"),  # criticality 2
        ("alpha", "down"),  # no criticality: last of the services
        ("App-near", "down"),  # then the others by distance, state, name
        ("pair", "degraded"),
        ("app-far", "down"),
        ("db-near", "degraded"),
    ]
    assert [s.ci.name for s in report.services] == ["delta", "zeta", "Gamma", "beta", "alpha"]
    assert report.impacted[0].criticality == 1


def test_spof_matches_brute_force_on_the_demo(demo_cmdb: Cmdb) -> None:
    """Realistic stacks (clusters of VMs, power pairs, core switch pairs) against trying
    every dependency alone."""
    meta = demo_cmdb.meta
    graph = demo_cmdb.analysis.graph()
    services = []
    for cls in ("Business Service", "Application Service", "Application", "Database"):
        class_id = meta.get_class(cls).id
        with demo_cmdb.read() as s:
            rows = s.execute(
                select(ci_table.c.id)
                .where(ci_table.c.class_id == class_id)
                .order_by(ci_table.c.id)
                .limit(4)
            ).all()
        services += [r[0] for r in rows]
    checked = 0
    for x in services:
        deps = impact_module.dependencies(graph, x).ids.tolist()
        brute = sorted(c for c in deps if blast_radius(graph, [c]).state(x) == "down")
        assert single_points_of_failure(graph, x) == brute
        checked += len(deps)
    assert checked > 500
    report = demo_cmdb.analysis.spof(services[0])
    assert report.dependencies > 0
    assert all(s.distance >= 1 for s in report.spof)
