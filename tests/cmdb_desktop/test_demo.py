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
