"""Blast radii of real third-party models (``../shared/data/real``), checked by hand.

Each converter reads the source as it is and creates CIs and relationships
through the facade, as a configuration manager would; the modelling choices
(which relation becomes which type, where redundancy belongs) are spelled out
beside each converter. NetworkX on the raw edge lists is the independent
cross-check where SOURCES.md quotes a figure.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as ET
import networkx as nx
import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import DuplicateError

Model = tuple[Cmdb, dict[Any, int]]


def _add(cmdb: Cmdb, cls: str, name: str, *, source_id: Any = None, **fields: Any) -> int:
    """Create a CI. Two CIs of one class may not share a name (it is their identity,
    PRODUCT.md §3): a repeated name is told apart by the source system's id, as a
    configuration manager moving the data in would, ``Oracle [7]``."""
    values = {"name": name, "status": "In Use"}
    values.update({k: str(v) for k, v in fields.items() if v is not None})
    try:
        return cmdb.items.create(cls, values).created[0]
    except DuplicateError:
        if source_id is None:
            raise
    values["name"] = f"{name} [{source_id}]"
    return cmdb.items.create(cls, values).created[0]


def _plain(name: str) -> str:
    """A CI name without the source id a repeated name was given."""
    return name.split(" [")[0]


def _states(cmdb: Cmdb, *change: int) -> dict[str, tuple[str, int]]:
    return {i.ci.name: (i.state, i.distance) for i in cmdb.analysis.impact(list(change)).impacted}


def _relate_once(cmdb: Cmdb, a: int, type_name: str, b: int) -> None:
    """Relate, skipping a relationship that already exists (two cables between the same
    two devices are one relationship in the CMDB)."""
    try:
        cmdb.relations.relate(a, type_name, b)
    except DuplicateError:
        pass


def _open(tmp_path_factory: pytest.TempPathFactory, name: str) -> Cmdb:
    return Cmdb.open(tmp_path_factory.mktemp(name) / f"{name}.sqlite", user="converter")


# -- iTop: a six-level chain with a redundant farm ----------------------------------------
ITOP_CLASSES = {
    "Server": "Server",
    "NetworkDevice": "Network Device",
    "Farm": "Cluster",
    "Hypervisor": "Software",
    "VirtualMachine": "Virtual Machine",
    "DBServer": "Database",
    "DatabaseSchema": "Database",
    "WebServer": "Software",
    "WebApplication": "Application",
    "ApplicationSolution": "Application Service",
}
#: (class, field) → the relationship "this CI <type> the CI the field names".
ITOP_LINKS = {
    ("VirtualMachine", "virtualhost_id"): "Hosted on",
    ("Hypervisor", "farm_id"): "Member of",  # a farm depends on its hypervisors
    ("Hypervisor", "server_id"): "Runs on",
    ("DBServer", "system_id"): "Runs on",
    ("WebServer", "system_id"): "Runs on",
    ("DatabaseSchema", "dbserver_id"): "Hosted on",
    ("WebApplication", "webserver_id"): "Runs on",
}
ITOP_CRITICALITY = {"high": 1, "medium": 2, "low": 3}


@pytest.fixture(scope="module")
def itop(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    """iTop's sample CIs. A Farm carries ``min up 1``: it keeps running while one of its
    hypervisors does. References to id 15 (both Server4 and VM4 have it) are ambiguous
    and left out, as a reconciliation would refuse to guess."""
    cmdb = _open(tmp_path_factory, "itop")
    elements: dict[str, list[Any]] = {}
    for path in sorted((real_data / "itop").glob("*.xml")):
        for el in ET.parse(path).getroot():
            if el.tag in ITOP_CLASSES or el.tag == "lnkApplicationSolutionToFunctionalCI":
                elements.setdefault(el.tag, []).append(el)
    ids: dict[Any, int] = {}
    owners: dict[str, list[int]] = {}
    for tag, cls in ITOP_CLASSES.items():
        for el in elements.get(tag, []):
            crit = ITOP_CRITICALITY.get(el.findtext("business_criticity") or "")
            rule = {"redundancy_min_up": 1} if tag == "Farm" else {}
            name = el.findtext("name")
            ci = _add(cmdb, cls, name, source_id=el.get("id"), criticality=crit, **rule)
            ids[(tag, el.get("id"))] = ci
            owners.setdefault(el.get("id"), []).append(ci)
    ambiguous = []
    for (tag, field), rtype in ITOP_LINKS.items():
        for el in elements.get(tag, []):
            ref = el.findtext(field)
            if not ref or ref == "0":
                continue
            targets = owners.get(ref, [])
            if len(targets) != 1:
                ambiguous.append((el.findtext("name"), field, ref))
                continue
            cmdb.relations.relate(ids[(tag, el.get("id"))], rtype, targets[0])
    for link in elements["lnkApplicationSolutionToFunctionalCI"]:
        solution = owners[link.findtext("applicationsolution_id")][0]
        targets = owners.get(link.findtext("functionalci_id"), [])
        if len(targets) != 1:
            ambiguous.append(("link", "functionalci_id", link.findtext("functionalci_id")))
            continue
        cmdb.relations.relate(solution, "Depends on", targets[0])
    ids["ambiguous"] = ambiguous  # type: ignore[assignment]
    yield cmdb, ids
    cmdb.close()


def test_itop_ambiguous_references_are_the_known_traps(itop: Model) -> None:
    _, ids = itop
    assert sorted(ids["ambiguous"]) == [  # type: ignore[call-overload]
        ("IIS", "system_id", "15"),
        ("link", "functionalci_id", "15"),
    ]


def test_itop_one_server_only_degrades_the_chain(itop: Model) -> None:
    cmdb, ids = itop
    states = _states(cmdb, ids[("Server", "2")])  # Server1 hosts ESX1
    assert states["ESX1"] == ("down", 1)
    assert states["Cluster1"] == ("degraded", 2)  # ESX2 still runs
    assert states["VM1"] == ("degraded", 3)
    assert states["Sales web site"] == ("degraded", 7)
    assert {s for name, (s, _) in states.items() if name != "ESX1"} == {"degraded"}


def test_itop_both_farm_servers_take_down_the_sales_web_site(itop: Model) -> None:
    cmdb, ids = itop
    report = cmdb.analysis.impact([ids[("Server", "2")], ids[("Server", "4")]])
    states = {i.ci.name: (i.state, i.distance) for i in report.impacted}
    assert states["Cluster1"] == ("down", 2)
    assert states["Sales web site"] == ("down", 7)
    sales = next(i for i in report.impacted if i.ci.name == "Sales web site")
    # the six levels: solution → solution → web app → web server → VM → farm → hypervisor → server
    assert len(sales.path) == 8 and sales.path[0] in ("Server1", "Server3")
    assert sales.path[2] == "Cluster1" and sales.path[-2] in ("CRM", "ERP")
    assert report.impacted[0].ci.class_name == "Application Service", "services first"
    assert all(i.state == "down" for i in report.impacted)
    assert "Cluster2" not in states and "Server2" not in states


def test_itop_single_points_of_failure_of_the_sales_web_site(itop: Model) -> None:
    cmdb, ids = itop
    report = cmdb.analysis.spof(ids[("ApplicationSolution", "30")])
    assert report.dependencies == 17
    assert sorted(_plain(s.ci.name) for s in report.spof) == sorted(
        [
            "CRM",
            "ERP",
            "Sugar CRM",
            "sugarcrmprod",
            "Odoo",
            "odooprod",
            "Apache",
            "Oracle",  # on VM3, serving sugarcrmprod
            "Oracle",  # on Server2, serving odooprod
            "VM1",
            "VM3",
            "Server2",
            "Cluster1",
        ]
    )
    deps = cmdb.analysis.depends(ids[("ApplicationSolution", "30")])
    assert max(d.distance for d in deps.dependencies) == 7
    assert {d.ci.name for d in deps.dependencies if d.distance == 7} == {"Server1", "Server3"}


# -- NetBox: the power chain -------------------------------------------------------------
NETBOX_CLASSES = {
    "dcim.region": "Site",
    "dcim.site": "Site",
    "dcim.location": "Site",
    "dcim.rack": "Rack",
    "dcim.device": "Network Device",
    "dcim.module": "Network Device",
    "dcim.powerfeed": "Power Device",
    "dcim.powerpanel": "Power Device",
    "dcim.virtualchassis": "Cluster",
    "virtualization.cluster": "Cluster",
    "virtualization.clustergroup": "Cluster",
    "virtualization.virtualmachine": "Virtual Machine",
    "circuits.circuit": "Network Device",
    "circuits.provider": "Business Service",
    "tenancy.tenant": "Business Service",
}


def _netbox_rows(real_data: Path) -> list[dict[str, str]]:
    path = real_data / "netbox-demo-data" / "derived" / "relationships.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _netbox_cis(cmdb: Cmdb, rows: list[dict[str, str]]) -> dict[Any, int]:
    ids: dict[Any, int] = {}
    for r in rows:
        for side in ("source", "target"):
            key = (r[f"{side}_type"], r[f"{side}_id"])
            if key not in ids:
                name = r[f"{side}_name"] or f"unnamed {key[0]} {key[1]}"  # 22 devices
                ids[key] = _add(cmdb, NETBOX_CLASSES[key[0]], name, source_id=key[1])
    return ids


@pytest.fixture(scope="module")
def netbox_as_listed(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    """SOURCES.md's sanity check: every relation read "source depends on target",
    ``connected_to`` both ways."""
    cmdb = _open(tmp_path_factory, "netbox_listed")
    rows = _netbox_rows(real_data)
    ids = _netbox_cis(cmdb, rows)
    for r in rows:
        a, b = ids[(r["source_type"], r["source_id"])], ids[(r["target_type"], r["target_id"])]
        if r["relation"] == "connected_to":
            _relate_once(cmdb, a, "Connected to", b)
            _relate_once(cmdb, b, "Connected to", a)
        else:
            _relate_once(cmdb, a, "Depends on", b)
    yield cmdb, ids
    cmdb.close()


def test_netbox_panel_1_as_sources_md_counts_it(netbox_as_listed: Model, real_data: Path) -> None:
    cmdb, ids = netbox_as_listed
    graph = cmdb.analysis.graph()
    assert (len(graph), graph.edge_count) == (517, 804)
    report = cmdb.analysis.impact([ids[("dcim.powerpanel", "1")]])
    assert len(report.impacted) == 59
    assert {i.state for i in report.impacted} == {"down"}
    # the independent reading: NetworkX ancestors on the raw edge list
    g = nx.DiGraph()
    for r in _netbox_rows(real_data):
        a, b = (r["source_type"], r["source_id"]), (r["target_type"], r["target_id"])
        g.add_edge(a, b)
        if r["relation"] == "connected_to":
            g.add_edge(b, a)
    expected = {ids[n] for n in nx.ancestors(g, ("dcim.powerpanel", "1"))}
    assert {i.ci.id for i in report.impacted} == expected
    # the caveat SOURCES.md warns about: through data cables, a power panel "reaches" circuits
    circuits = {v for k, v in ids.items() if k[0] == "circuits.circuit"}
    assert len(circuits & {i.ci.id for i in report.impacted}) == 3


@pytest.fixture(scope="module")
def netbox_modelled(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    """The same data modelled as PRODUCT.md §5 suggests.

    * Each rack fed by two feeds gets a power group (a Cluster, ``min up 1``): the
      feeds are *Member of* the group and the rack is *Powered by* the group.
    * Data cables are peers, not dependencies: a custom type that carries no impact.
    * Ownership by a tenant carries no impact either.
    """
    cmdb = _open(tmp_path_factory, "netbox_modelled")
    cmdb.classes.add_relationship_type("Cabled to", "Cabled from", "none")
    cmdb.classes.add_relationship_type("Owned by", "Owns", "none")
    rows = _netbox_rows(real_data)
    ids = _netbox_cis(cmdb, rows)
    types = {
        "located_in": "Located in",
        "part_of": "Located in",
        "installed_in": "Located in",
        "terminates_at": "Located in",
        "runs_on": "Runs on",
        "powered_by": "Powered by",
        "fed_from": "Powered by",
        "member_of": "Member of",
        "provided_by": "Depends on",
        "owned_by": "Owned by",
        "connected_to": "Cabled to",
    }
    feeds: dict[int, list[int]] = {}
    for r in rows:
        a, b = ids[(r["source_type"], r["source_id"])], ids[(r["target_type"], r["target_id"])]
        if r["relation"] == "powered_by" and r["source_type"] == "dcim.rack":
            feeds.setdefault(a, []).append(b)
            continue
        _relate_once(cmdb, a, types[r["relation"]], b)
    for rack, rack_feeds in feeds.items():
        if len(rack_feeds) == 1:
            cmdb.relations.relate(rack, "Powered by", rack_feeds[0])
            continue
        name = cmdb.items.get(rack).name
        group = _add(cmdb, "Cluster", f"{name} power (#{rack})", redundancy_min_up=1)
        for feed in rack_feeds:
            cmdb.relations.relate(feed, "Member of", group)
        cmdb.relations.relate(rack, "Powered by", group)
    yield cmdb, ids
    cmdb.close()


def test_netbox_panel_1_is_absorbed_by_the_b_feeds(netbox_modelled: Model) -> None:
    cmdb, ids = netbox_modelled
    report = cmdb.analysis.impact([ids[("dcim.powerpanel", "1")]])
    down = {i.ci.name for i in report.impacted if i.state == "down"}
    assert down == {f"P1-{n}A" for n in range(1, 17)}, "only panel 1's own feeds go down"
    by_class: dict[str, set[str]] = {}
    for i in report.impacted:
        by_class.setdefault(i.ci.class_name, set()).add(i.state)
    assert by_class["Cluster"] == {"degraded"}
    assert by_class["Rack"] == {"degraded"}
    racks = {i.ci.name for i in report.impacted if i.ci.class_name == "Rack"}
    assert racks == {f"R{f}0{n}" for f in (1, 2) for n in range(1, 9)}
    assert all(not i.ci.name.startswith("unnamed circuits") for i in report.impacted)
    assert not any(
        key[0] == "circuits.circuit" and value in {i.ci.id for i in report.impacted}
        for key, value in ids.items()
    ), "cables carry no impact: no circuit is reached"


def test_netbox_both_panels_take_the_rooms_down(netbox_modelled: Model) -> None:
    cmdb, ids = netbox_modelled
    one = cmdb.analysis.impact([ids[("dcim.powerpanel", "1")]])
    both = cmdb.analysis.impact([ids[("dcim.powerpanel", "1")], ids[("dcim.powerpanel", "2")]])
    assert {i.state for i in both.impacted} == {"down"}
    assert {i.ci.id for i in both.impacted} == {i.ci.id for i in one.impacted} | {
        i.ci.id for i in cmdb.analysis.impact([ids[("dcim.powerpanel", "2")]]).impacted
    }
    rack = next(i for i in both.impacted if i.ci.name == "R101")
    group = f"R101 power (#{ids[('dcim.rack', '14')]})"
    assert rack.distance == 3 and rack.path[-2:] == [group, "R101"]
    assert rack.path[0] in ("Panel 1", "Panel 2")
    spof = {s.ci.name for s in cmdb.analysis.spof(ids[("dcim.rack", "14")]).spof}
    assert group in spof
    assert not {"P1-1A", "P2-1B", "Panel 1", "Panel 2"} & spof, "the A/B feeds are redundant"


# -- microservices: DeathStarBench, OpenTelemetry demo, TrainTicket -------------------------
def _service_graph(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    edges: list[tuple[str, str, str]],
    classes: dict[str, str] | None = None,
    criticality: dict[str, int] | None = None,
) -> Model:
    cmdb = _open(tmp_path_factory, name)
    cmdb.classes.add_relationship_type("Reports to", "Receives reports from", "none")
    ids: dict[Any, int] = {}
    for node in sorted({n for e in edges for n in (e[0], e[2])}):
        cls = (classes or {}).get(node, "Application Service")
        ids[node] = _add(cmdb, cls, node, criticality=(criticality or {}).get(node))
    for a, t, b in edges:
        cmdb.relations.relate(ids[a], t, ids[b])
    return cmdb, ids


@pytest.fixture(scope="module")
def social_network(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    path = real_data / "deathstarbench" / "derived" / "service_edges.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["app"] == "socialNetwork"]
    stores = {r["target_service"] for r in rows if r["dependency_kind"] != "thrift-rpc"}
    edges = [(r["source_service"], "Depends on", r["target_service"]) for r in rows]
    cmdb, ids = _service_graph(
        tmp_path_factory, "social", edges, classes=dict.fromkeys(stores, "Database")
    )
    yield cmdb, ids
    cmdb.close()


def test_deathstarbench_user_mongodb(social_network: Model) -> None:
    """SOURCES.md: exactly eight services are affected; here they are all down (no
    redundancy is declared), and the user ↔ social-graph cycle is one group."""
    cmdb, ids = social_network
    states = _states(cmdb, ids["user-mongodb"])
    assert states == {
        "user-service": ("down", 1),
        "user-mention-service": ("down", 1),
        "compose-post-service": ("down", 2),
        "nginx-thrift": ("down", 2),
        "social-graph-service": ("down", 2),
        "text-service": ("down", 2),
        "home-timeline-service": ("down", 3),
        "write-home-timeline-service": ("down", 3),
    }
    assert [[m.name for m in c.members] for c in cmdb.analysis.cycles()] == [
        ["social-graph-service", "user-service"]
    ]
    spof = {s.ci.name for s in cmdb.analysis.spof(ids["nginx-thrift"]).spof}
    assert "user-mongodb" in spof and len(spof) == len(
        cmdb.analysis.depends(ids["nginx-thrift"]).dependencies
    ), "without redundancy every dependency is a single point of failure"


OBSERVABILITY = {"otel-collector", "jaeger", "prometheus", "grafana", "opensearch"}
FEATURE_FLAGS = {"flagd", "flagd-ui"}
OTEL_CRITICALITY = {"critical": 1, "high": 2, "medium": 3, "low": 4}


def _otel_rows(real_data: Path) -> tuple[list[dict[str, str]], dict[str, int]]:
    base = real_data / "opentelemetry-demo" / "derived"
    with (base / "service_edges.csv").open(encoding="utf-8", newline="") as fh:
        edges = list(csv.DictReader(fh))
    with (base / "services.csv").open(encoding="utf-8", newline="") as fh:
        crit = {
            r["service"]: OTEL_CRITICALITY[r["criticality_attr"]]
            for r in csv.DictReader(fh)
            if r["criticality_attr"]
        }
    return edges, crit


@pytest.fixture(scope="module")
def otel(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    """Telemetry and feature-flag edges become *Reports to*, a type that carries no
    impact: a collector outage loses traces, it does not stop the shop."""
    rows, crit = _otel_rows(real_data)
    quiet = OBSERVABILITY | FEATURE_FLAGS
    edges = [
        (
            r["source_service"],
            "Reports to" if quiet & {r["source_service"], r["target_service"]} else "Depends on",
            r["target_service"],
        )
        for r in rows
    ]
    classes = {"valkey-cart": "Database", "astronomy-db": "Database", "kafka": "Software"}
    cmdb, ids = _service_graph(tmp_path_factory, "otel", edges, classes, crit)
    yield cmdb, ids
    cmdb.close()


def test_otel_cart_store_failure_ranks_services_by_criticality(otel: Model) -> None:
    cmdb, ids = otel
    report = cmdb.analysis.impact([ids["valkey-cart"]])
    assert [(i.ci.name, i.criticality, i.state) for i in report.impacted] == [
        ("checkout", 1, "down"),
        ("frontend", 1, "down"),
        ("frontend-proxy", 1, "down"),
        ("cart", 2, "down"),
        ("load-generator", 4, "down"),
    ]
    assert cmdb.analysis.impact([ids["otel-collector"]]).impacted == []
    assert cmdb.analysis.cycles() == []


def test_otel_as_declared_has_the_43_cycle_tangle(real_data: Path) -> None:
    """Read literally (every edge propagates), the graph is one tangle of 19 services
    and a collector outage reaches 21 of them — the engine agrees with NetworkX."""
    from cmdb_desktop.graph import ImpactGraph
    from cmdb_desktop.impact import blast_radius, cycle_groups

    rows, _ = _otel_rows(real_data)
    names = sorted({n for r in rows for n in (r["source_service"], r["target_service"])})
    number = {n: i for i, n in enumerate(names)}
    g = nx.DiGraph((r["source_service"], r["target_service"]) for r in rows)
    assert len(list(nx.simple_cycles(g))) == 43
    graph = ImpactGraph.from_edges(
        (number[r["target_service"]], number[r["source_service"]]) for r in rows
    )
    groups = [{names[i] for i in group} for group in cycle_groups(graph)]
    assert groups == [c for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert len(groups[0]) == 19
    hit = {names[i] for i in blast_radius(graph, [number["otel-collector"]]).ids.tolist()}
    assert hit == nx.ancestors(g, "otel-collector") - {"otel-collector"} and len(hit) == 21


@pytest.fixture(scope="module")
def train_ticket(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Model]:
    path = real_data / "train-ticket" / "derived" / "static_service_edges.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    stores = {r["target_service"] for r in rows if r["dependency_kind"] in ("mongodb", "mysql")}
    edges = [(r["source_service"], "Depends on", r["target_service"]) for r in rows]
    cmdb, ids = _service_graph(
        tmp_path_factory, "train", edges, classes=dict.fromkeys(stores, "Database")
    )
    yield cmdb, ids
    cmdb.close()


def test_train_ticket_auth_store_and_cycles(train_ticket: Model, real_data: Path) -> None:
    cmdb, ids = train_ticket
    graph = cmdb.analysis.graph()
    assert (len(graph), graph.edge_count) == (65, 156)
    assert _states(cmdb, ids["ts-auth-mongo"]) == {
        "ts-auth-service": ("down", 1),
        "ts-user-service": ("down", 2),  # auth ↔ user: the cycle
        "ts-ui-dashboard": ("down", 2),
        "ts-admin-user-service": ("down", 3),
        "ts-cancel-service": ("down", 3),
        "ts-preserve-other-service": ("down", 3),
        "ts-preserve-service": ("down", 3),
    }
    cycles = [[m.name for m in c.members] for c in cmdb.analysis.cycles()]
    assert cycles == [
        ["ts-seat-service", "ts-travel-service", "ts-travel2-service"],
        ["ts-auth-service", "ts-user-service"],
    ]
    # every blast radius agrees with NetworkX ancestors on the raw edges
    path = real_data / "train-ticket" / "derived" / "static_service_edges.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        g = nx.DiGraph((r["source_service"], r["target_service"]) for r in csv.DictReader(fh))
    for name, ci in itertools.islice(sorted(ids.items()), 0, None, 3):
        report = cmdb.analysis.impact([ci])
        assert {i.ci.name for i in report.impacted} == nx.ancestors(g, name), name
    path_refs = cmdb.analysis.path(ids["ts-config-mongo"], ids["ts-ui-dashboard"])
    assert path_refs[0].name == "ts-config-mongo" and path_refs[-1].name == "ts-ui-dashboard"
    assert len(path_refs) - 1 == nx.shortest_path_length(g, "ts-ui-dashboard", "ts-config-mongo")
