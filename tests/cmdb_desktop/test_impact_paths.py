"""The path that explains each impacted CI's state (PRODUCT.md §5, docs/impact.md §4).

Worked examples through the facade, and the demo case of the "Trust" issue:
`cmdb impact ams1-array01` explained down services through degraded clusters
(since issue 15 an array downs no service in the demo; a site failure shows
the same trap: its quickest way in runs through clusters the other site keeps).
Every front end that shows a path (JSON, text, the .xlsx report) must show the
engine's one path and its length as the distance.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from cmdb_desktop import demo
from cmdb_desktop.analysis import ImpactReport
from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.graph import ImpactGraph
from cmdb_desktop.impact import blast_radius, dependents
from tests.cmdb_desktop.impact_examples import SHOP, build


def explained(report: ImpactReport) -> dict[str, tuple[str, int, list[str]]]:
    return {i.ci.name: (i.state, i.distance, i.path) for i in report.impacted}


def test_a_down_ci_is_never_explained_by_a_degraded_one(cmdb: Cmdb) -> None:
    """When host1 fails the cluster is only degraded and the database is down, so the
    shop is down; both are two steps from host1 and the cluster comes first by id,
    yet the shop's path goes through the database."""
    ids = build(cmdb, *SHOP)
    assert ids["web-cluster"] < ids["orders-db"]
    report = cmdb.analysis.impact([ids["host1"]])
    assert explained(report) == {
        "web1": ("down", 1, ["host1", "web1"]),
        "web-cluster": ("degraded", 2, ["host1", "web1", "web-cluster"]),
        "orders-db": ("down", 2, ["host1", "web1", "orders-db"]),
        "Web Shop": ("down", 3, ["host1", "web1", "orders-db", "Web Shop"]),
    }
    path = ["host1", "web1", "orders-db", "Web Shop"]
    assert report.path_ids(ids["Web Shop"]) == [ids[n] for n in path]


@pytest.fixture
def detour(cmdb: Cmdb) -> dict[str, int]:
    """A failure of ``core`` reaches ``app`` in two steps through a degraded pair, but
    takes it down only through a chain of four down CIs; ``report`` (min up 1 over
    ``app`` and a spare) is degraded, its quickest way in through ``app``."""
    return build(
        cmdb,
        [
            ("Server", "core", {}),
            ("Server", "spare", {}),
            ("Cluster", "pair", {"redundancy_min_up": 1}),
            ("Virtual Machine", "vm", {}),
            ("Database", "db", {}),
            ("Application", "api", {}),
            ("Application", "app", {}),
            ("Application", "report", {"redundancy_min_up": 1}),
            ("Application", "report-spare", {}),
        ],
        [
            ("core", "Member of", "pair"),
            ("spare", "Member of", "pair"),
            ("app", "Depends on", "pair"),
            ("vm", "Hosted on", "core"),
            ("db", "Hosted on", "vm"),
            ("api", "Depends on", "db"),
            ("app", "Depends on", "api"),
            ("report", "Depends on", "app"),
            ("report", "Depends on", "report-spare"),
        ],
    )


def test_a_down_ci_may_be_farther_than_its_quickest_way_in(
    cmdb: Cmdb, detour: dict[str, int]
) -> None:
    report = cmdb.analysis.impact([detour["core"]])
    assert explained(report) == {
        "pair": ("degraded", 1, ["core", "pair"]),
        "vm": ("down", 1, ["core", "vm"]),
        "db": ("down", 2, ["core", "vm", "db"]),
        "api": ("down", 3, ["core", "vm", "db", "api"]),
        "app": ("down", 4, ["core", "vm", "db", "api", "app"]),
        # degraded: the quickest way in, which passes app as it goes
        "report": ("degraded", 3, ["core", "pair", "app", "report"]),
    }
    # the engine lists CIs by distance, then id
    radius = report.radius
    assert radius.distances.tolist() == sorted(radius.distances.tolist())
    assert [radius.distance(i) for i in radius.ids.tolist()] == radius.distances.tolist()


def test_depth_counts_the_explaining_path(cmdb: Cmdb, detour: dict[str, int]) -> None:
    report = cmdb.analysis.impact([detour["core"]], depth=3)
    # app (distance 4) is left out, yet the path of report, within the depth, shows it
    assert explained(report) == {
        "pair": ("degraded", 1, ["core", "pair"]),
        "vm": ("down", 1, ["core", "vm"]),
        "db": ("down", 2, ["core", "vm", "db"]),
        "api": ("down", 3, ["core", "vm", "db", "api"]),
        "report": ("degraded", 3, ["core", "pair", "app", "report"]),
    }
    assert report.counts == {"down": 3, "degraded": 2}


def test_a_rule_asking_for_more_than_there_is_falls_back(cmdb: Cmdb) -> None:
    """``quorum`` asks for 3 members up but has 2: it is down as soon as it is hit,
    here by a degraded pair, with no down CI before it. What it takes down (``app``)
    is explained through it, not through the degraded ``cache`` that is nearer."""
    ids = build(
        cmdb,
        [
            ("Server", "core", {}),
            ("Server", "spare", {}),
            ("Cluster", "pair", {"redundancy_min_up": 1}),
            ("Server", "witness", {}),
            ("Cluster", "quorum", {"redundancy_min_up": 3}),
            ("Database", "cache", {"redundancy_min_up": 1}),
            ("Application", "app", {}),
        ],
        [
            ("core", "Member of", "pair"),
            ("spare", "Member of", "pair"),
            ("pair", "Member of", "quorum"),
            ("witness", "Member of", "quorum"),
            ("cache", "Depends on", "core"),
            ("cache", "Depends on", "spare"),
            ("app", "Depends on", "cache"),
            ("app", "Depends on", "quorum"),
        ],
    )
    assert cmdb.analysis.graph().threshold(ids["quorum"]) <= 0
    report = cmdb.analysis.impact([ids["core"]])
    assert explained(report) == {
        "pair": ("degraded", 1, ["core", "pair"]),
        "cache": ("degraded", 1, ["core", "cache"]),
        "quorum": ("down", 2, ["core", "pair", "quorum"]),
        "app": ("down", 3, ["core", "pair", "quorum", "app"]),
    }


def test_round_a_cycle_only_the_quickest_way_in_is_left(cmdb: Cmdb) -> None:
    """``app`` needs ``sidecar``, whose rule asks for more than its one predecessor
    (``app``) can give: a failure that only degrades ``app``'s other input still
    takes both down, and no path can explain ``app`` through down CIs."""
    ids = build(
        cmdb,
        [
            ("Server", "core", {}),
            ("Server", "spare", {}),
            ("Cluster", "pair", {"redundancy_min_up": 1}),
            ("Application", "app", {}),
            ("Application", "sidecar", {"redundancy_min_up": 2}),
        ],
        [
            ("core", "Member of", "pair"),
            ("spare", "Member of", "pair"),
            ("app", "Depends on", "pair"),
            ("app", "Depends on", "sidecar"),
            ("sidecar", "Depends on", "app"),
        ],
    )
    report = cmdb.analysis.impact([ids["core"]])
    assert explained(report) == {
        "pair": ("degraded", 1, ["core", "pair"]),
        "app": ("down", 2, ["core", "pair", "app"]),
        "sidecar": ("down", 3, ["core", "pair", "app", "sidecar"]),
    }


def test_down_cis_far_beyond_their_quickest_way_in() -> None:
    """A degraded group (min up 1) reaches ``a`` and ``b`` in two steps; they are down
    because of a chain of down CIs, three and six steps long. Both are settled by
    the search through down CIs (the fallback search is for over-asking rules only)."""
    s, group, spare, a, b = 0, 10, 11, 20, 21
    chain = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    g = ImpactGraph.from_edges(
        [*chain, (s, group), (spare, group), (group, a), (group, b), (2, a), (5, b)],
        rules={group: (1, None)},
    )
    r = blast_radius(g, [s])
    assert (r.state(group), r.state(a), r.state(b)) == ("degraded", "down", "down")
    assert (r.path(a), r.path(b)) == ([0, 1, 2, a], [0, 1, 2, 3, 4, 5, b])
    assert r.ids.tolist() == [1, group, 2, 3, a, 4, 5, b]
    assert r._trees.shape[0] == 2


# -- the demo case of the issue ---------------------------------------------------------
@pytest.fixture(scope="module")
def issue_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cmdb demo` as the issue ran it: 5,000 CIs, seed 1 (a fixed day, for the dates)."""
    path = tmp_path_factory.mktemp("issue") / "demo.sqlite"
    with Cmdb.open(path, user="demo") as cmdb:
        demo.generate(cmdb, 5000, seed=1, today=date(2025, 1, 6))
    return path


def cli(db: Path, *args: str) -> str:
    out, err = StringIO(), StringIO()
    assert main(["--db", str(db), *args], out=out, err=err) == 0, err.getvalue()
    return out.getvalue()


def test_the_demo_site_failure_explains_down_services_by_down_cis(
    issue_demo: Path, tmp_path: Path
) -> None:
    with Cmdb.open(issue_demo) as cmdb:
        site = cmdb.items.resolve("Site/Amsterdam DC1")
        report = cmdb.analysis.impact([site])
        graph = cmdb.analysis.graph()
    cols = report.columns
    state = dict(zip(cols.ids, cols.states, strict=True))
    state[site] = "down"
    reach = dependents(graph, site)
    quickest = dict(zip(reach.ids.tolist(), reach.distances.tolist(), strict=True))
    quickest[site] = 0

    def quickest_path(ci: int) -> list[int]:
        """The quickest way in, through the smallest ids (what the report used to show)."""
        path = [ci]
        while path[-1] != site:
            here = path[-1]
            path.append(
                min(p for p in graph.predecessors(here) if quickest.get(p) == quickest[here] - 1)
            )
        return path[::-1]

    trapped = []
    for k, ci in enumerate(cols.ids):
        path = report.path_ids(ci)
        assert path[0] == site and path[-1] == ci
        assert len(path) == len(cols.paths[k]) == cols.distances[k] + 1
        assert all(b in graph.successors(a) for a, b in itertools.pairwise(path))
        if cols.states[k] == "down":
            assert all(state[i] == "down" for i in path), cols.names[k]
            if cols.services[k] and "degraded" in {state[i] for i in quickest_path(ci)}:
                trapped.append(cols.names[k])
    # every one of the 14 down services has a quickest way in through a degraded CI
    assert sum(1 for k in range(len(cols)) if cols.services[k] and cols.states[k] == "down") == 14
    assert len(trapped) == 14 and "Corporate Banking" in trapped
    worker = next(i for i in report.impacted if i.ci.name == "Corporate Banking")
    assert worker.state == "down"
    assert "portal-api-00207" in worker.path

    # the JSON, the text and the .xlsx report show the engine's paths and distances
    data = json.loads(cli(issue_demo, "--format", "json", "impact", "Amsterdam DC1"))
    assert data["impacted"] == [i.to_json() for i in report.impacted]
    arrow = " → ".join(worker.path)
    assert any(
        "Corporate Banking" in line and arrow in line
        for line in cli(issue_demo, "impact", "Amsterdam DC1").splitlines()
    )
    xlsx = tmp_path / "impact.xlsx"
    cli(issue_demo, "impact", "Amsterdam DC1", "-o", str(xlsx))
    rows = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_name("Impacted CIs").to_python()
    header = rows[0]
    listed = {
        int(r[header.index("ID")]): (int(r[header.index("Distance")]), r[header.index("Path")])
        for r in rows[1:]
    }
    assert listed == {i.ci.id: (i.distance, " → ".join(i.path)) for i in report.impacted}
