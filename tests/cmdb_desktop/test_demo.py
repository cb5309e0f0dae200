"""The demo generator: size, determinism and the layered structure."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from cmdb_desktop import demo
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ValidationError
from cmdb_desktop.models import ConfigurationItem as CI
from cmdb_desktop.models import Relationship as REL


def _graph(cmdb: Cmdb) -> tuple[dict[int, str], dict[int, list[int]]]:
    """Class of each CI, and for each CI the CIs it needs (targets of to_source types)."""
    meta = cmdb.meta
    with cmdb.read() as s:
        classes = {i: meta.class_by_id[c].name for i, c in s.execute(select(CI.id, CI.class_id))}
        needs: dict[int, list[int]] = defaultdict(list)
        for src, t, dst in s.execute(select(REL.source_id, REL.type_id, REL.target_id)):
            rtype = meta.relationship_type_by_id[t]
            if rtype.impact == "to_source":
                needs[src].append(dst)
            elif rtype.impact == "to_target":
                needs[dst].append(src)  # a group needs its members
    return classes, needs


def test_size_and_layers(demo_cmdb: Cmdb) -> None:
    assert demo_cmdb.items.count() == 2000
    counts = demo_cmdb.items.counts_by_class()
    for cls in (
        "Business Service",
        "Application Service",
        "Application",
        "Database",
        "Cluster",
        "Virtual Machine",
        "Server",
        "Rack",
        "Site",
        "Network Device",
        "Power Device",
        "Storage Device",
        "Workstation",
        "Software",
    ):
        assert counts.get(cls, 0) > 0, cls
    assert 1.5 < demo_cmdb.relations.count() / 2000 < 2.5


def test_every_business_service_reaches_hardware_through_the_layers(demo_cmdb: Cmdb) -> None:
    classes, needs = _graph(demo_cmdb)
    chain = [
        "Business Service",
        "Application Service",
        "Application",
        "Cluster",
        "Virtual Machine",
        "Server",
        "Rack",
        "Site",
    ]
    services = [i for i, c in classes.items() if c == "Business Service"]
    assert services
    for svc in services:
        frontier = {svc}
        for layer in chain[1:]:
            frontier = {n for f in frontier for n in needs[f] if classes[n] == layer}
            assert frontier, f"business service #{svc} does not reach a {layer}"


def test_redundancy_rules_and_flaws(demo_cmdb: Cmdb) -> None:
    with demo_cmdb.read() as s:
        rules = s.execute(
            select(CI.redundancy_min_up, CI.redundancy_min_up_pct).where(
                CI.class_id == demo_cmdb.meta.get_class("Cluster").id
            )
        ).all()
        statuses = {st for (st,) in s.execute(select(CI.status))}
        no_owner = s.execute(select(CI.id).where(CI.owner.is_(None))).all()
    assert all(up is not None or pct is not None for up, pct in rules)
    assert "Retired" in statuses
    assert no_owner


def test_deterministic(tmp_path: Path) -> None:
    names = []
    for run in range(2):
        with Cmdb.open(tmp_path / f"d{run}.sqlite") as c:
            demo.generate(c, 300, seed=42, today=date(2026, 1, 1))
            with c.read() as s:
                names.append(s.execute(select(CI.name, CI.serial_number).order_by(CI.id)).all())
    assert names[0] == names[1]


def test_refuses_non_empty_cmdb(cmdb: Cmdb) -> None:
    cmdb.items.create("Server", {"name": "x", "status": "In Use"})
    with pytest.raises(ValidationError, match="already holds 1 CIs"):
        demo.generate(cmdb, 300)


# -- redundancy as a real estate has it (issue 15) ---------------------------------
def _ids_of(cmdb: Cmdb, cls: str) -> list[int]:
    with cmdb.read() as s:
        return list(s.scalars(select(CI.id).where(CI.class_id == cmdb.meta.get_class(cls).id)))


def _needed(needs: dict[int, list[int]], start: int) -> set[int]:
    """Every CI ``start`` needs, directly or through others."""
    seen: set[int] = set()
    todo = [start]
    while todo:
        for n in needs[todo.pop()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def _single_site_clusters(cmdb: Cmdb) -> dict[int, int]:
    """Clusters of VMs whose members all sit on one site: cluster → that site."""
    classes, needs = _graph(cmdb)
    site_of: dict[int, int] = {}
    for vm in (i for i, c in classes.items() if c == "Virtual Machine"):
        sites = {n for n in _needed(needs, vm) if classes[n] == "Site"}
        assert len(sites) == 1, vm
        site_of[vm] = sites.pop()
    out: dict[int, int] = {}
    for cl in (i for i, c in classes.items() if c == "Cluster"):
        vms = [m for m in needs[cl] if classes[m] == "Virtual Machine"]
        homes = {site_of[vm] for vm in vms}
        if len(homes) == 1:
            out[cl] = homes.pop()
    return out


def test_one_storage_array_downs_no_business_service(demo_cmdb: Cmdb) -> None:
    arrays = _ids_of(demo_cmdb, "Storage Device")
    assert len(arrays) == 4
    for array in arrays:
        report = demo_cmdb.analysis.impact([array])
        services = [i for i in report.impacted if i.ci.class_name == "Business Service"]
        assert services, "every business service has some VM on the array: degraded"
        assert {i.state for i in services} == {"degraded"}, array


def test_one_server_rack_or_switch_downs_no_service(demo_cmdb: Cmdb) -> None:
    classes, _ = _graph(demo_cmdb)
    for cls in ("Rack", "Server", "Network Device", "Power Device"):
        for ci in [i for i, c in classes.items() if c == cls][:12]:
            report = demo_cmdb.analysis.impact([ci])
            down = [i.ci.name for i in report.impacted if i.service and i.state == "down"]
            assert down == [], (cls, ci, down)


def test_a_site_downs_exactly_the_services_with_no_second_site(demo_cmdb: Cmdb) -> None:
    classes, needs = _graph(demo_cmdb)
    single = _single_site_clusters(demo_cmdb)
    business = [i for i, c in classes.items() if c == "Business Service"]
    downed_somewhere = 0
    for site in _ids_of(demo_cmdb, "Site"):
        report = demo_cmdb.analysis.impact([site])
        states = {i.ci.id: i.state for i in report.impacted}
        for svc in business:
            one_site = any(single.get(n) == site for n in _needed(needs, svc))
            assert states[svc] == ("down" if one_site else "degraded"), (site, svc)
            downed_somewhere += one_site
    # the demo shows both: services that survive a site, and services that do not
    assert 0 < downed_somewhere


def test_spof_of_a_business_service_lists_only_what_has_no_redundancy(demo_cmdb: Cmdb) -> None:
    classes, needs = _graph(demo_cmdb)
    single = _single_site_clusters(demo_cmdb)
    redundant_kinds = {
        "Storage Device",
        "Server",
        "Virtual Machine",
        "Rack",
        "Power Device",
        "Network Device",
    }
    with_software = without_site = 0
    for svc in (i for i, c in classes.items() if c == "Business Service"):
        report = demo_cmdb.analysis.spof(svc)
        kinds = {d.ci.class_name for d in report.spof}
        assert not kinds & redundant_kinds, (svc, kinds & redundant_kinds)
        needed = _needed(needs, svc)
        sites = {d.ci.id for d in report.spof if d.ci.class_name == "Site"}
        assert sites == {single[n] for n in needed if n in single}, svc
        without_site += not sites
        with_software += "Software" in kinds
        assert len(report.spof) < report.dependencies / 4
    assert without_site, "some business service runs on two sites all the way down"
    software_apps = [
        a
        for a, c in classes.items()
        if c == "Application" and any(classes[n] == "Software" for n in needs[a])
    ]
    apps = [a for a, c in classes.items() if c == "Application"]
    assert len(software_apps) < len(apps) / 10, "software is not every application's predecessor"
