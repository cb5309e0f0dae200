"""The impact graph read from the database, and the cache that keeps it current."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert

from cmdb_desktop import graph as graph_module
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.graph import GraphCache, ImpactGraph, fetch_relationships, load_rows
from cmdb_desktop.models import relationship_table, utcnow


def add(cmdb: Cmdb, cls: str, name: str, **fields: Any) -> int:
    values = {"name": name, "status": "In Use"}
    values.update({k: str(v) for k, v in fields.items()})
    return cmdb.items.create(cls, values).created[0]


def naive_edges(db: Path) -> set[tuple[int, int]]:
    """Impact edges computed with plain sqlite3, straight from PRODUCT.md §5."""
    conn = sqlite3.connect(db)
    try:
        flows = dict(conn.execute("SELECT id, impact FROM relationship_type"))
        retired = {
            r[0] for r in conn.execute("SELECT id FROM ci WHERE status IN ('Retired','Disposed')")
        }
        out = set()
        for s, t, d in conn.execute("SELECT source_id, type_id, target_id FROM relationship"):
            if flows[t] == "none" or s in retired or d in retired:
                continue
            out.add((d, s) if flows[t] == "to_source" else (s, d))
        return out
    finally:
        conn.close()


def test_every_relationship_type_points_impact_the_right_way(cmdb: Cmdb) -> None:
    a = add(cmdb, "Application", "a")
    b = add(cmdb, "Server", "b")
    expected = {
        "Depends on": (b, a),
        "Runs on": (b, a),
        "Hosted on": (b, a),
        "Connected to": (b, a),
        "Powered by": (b, a),
        "Located in": (b, a),
        "Member of": (a, b),
    }
    for type_name, edge in expected.items():
        cmdb.relations.relate(a, type_name, b)
        assert set(cmdb.analysis.graph().edges()) == {edge}, type_name
        cmdb.relations.unrelate(a, type_name, b)
        assert set(cmdb.analysis.graph().edges()) == set()
    cmdb.relations.relate(a, "Backed up by", b)
    assert list(cmdb.analysis.graph().edges()) == []
    # Reverse names flip the stored direction, and with it the impact.
    cmdb.relations.relate(a, "Used by", b)  # b Depends on a: a impacts b
    assert set(cmdb.analysis.graph().edges()) == {(a, b)}
    cmdb.relations.relate(a, "Has member", b)  # b Member of a: b impacts a
    assert set(cmdb.analysis.graph().edges()) == {(a, b), (b, a)}


def test_a_new_relationship_type_changes_the_catalogue_and_reloads(cmdb: Cmdb) -> None:
    a = add(cmdb, "Database", "primary")
    b = add(cmdb, "Database", "replica")
    cache = cmdb.analysis.cache
    assert len(cmdb.analysis.graph()) == 0
    cmdb.classes.add_relationship_type("Replicates to", "Replica of", "to_target")
    cmdb.relations.relate(a, "Replicates to", b)
    assert set(cmdb.analysis.graph().edges()) == {(a, b)}
    assert cache.loads == 2 and cache.patches == 0


def test_the_demo_graph_matches_a_plain_reading(demo_cmdb: Cmdb) -> None:
    assert demo_cmdb.path is not None
    graph = demo_cmdb.analysis.graph()
    assert set(graph.edges()) == naive_edges(demo_cmdb.path)
    assert graph.edge_count == len(naive_edges(demo_cmdb.path))
    assert np.all(np.diff(graph.ids) > 0)
    # every node has an edge; predecessor lists mirror successor lists
    degree = np.diff(graph.out_ptr) + np.diff(graph.in_ptr)
    assert degree.min() >= 1
    flipped = {(v, u) for u in graph.ids.tolist()[:300] for v in graph.predecessors(u)}
    assert flipped <= {(u, v) for v, u in graph.edges()} | {(v, u) for v, u in graph.edges()}
    for ci in graph.ids.tolist()[:200]:
        for succ in graph.successors(ci):
            assert ci in graph.predecessors(succ)
    with demo_cmdb.read() as s:
        fast = fetch_relationships(s)
        plain = fetch_relationships(s, packed=False)
    assert sorted(map(tuple, fast.tolist())) == sorted(map(tuple, plain.tolist()))


def test_huge_ids_take_the_unpacked_road(cmdb: Cmdb) -> None:
    small = add(cmdb, "Server", "small")
    big = cmdb.items.create("Rack", {"name": "big", "status": "In Use"}, ci_id=2**40 + 7)
    big_id = big.created[0]
    cmdb.relations.relate(small, "Located in", big_id)
    graph = cmdb.analysis.graph()
    assert set(graph.edges()) == {(big_id, small)}
    assert graph.index([big_id, small, 12345]).tolist() == [1, 0, -1]


def test_retired_cis_are_left_out_and_come_back(cmdb: Cmdb) -> None:
    a = add(cmdb, "Application", "a")
    b = add(cmdb, "Server", "b")
    c = add(cmdb, "Rack", "c")
    cmdb.relations.relate(a, "Runs on", b)
    cmdb.relations.relate(b, "Located in", c)
    assert set(cmdb.analysis.graph().edges()) == {(b, a), (c, b)}
    cmdb.items.update(b, {"status": "Retired", "retirement_reason": "old"})
    graph = cmdb.analysis.graph()
    assert list(graph.edges()) == [] and b not in graph and len(graph) == 0
    cmdb.items.update(b, {"status": "In Stock"})  # redeployed (PRODUCT.md §10)
    assert set(cmdb.analysis.graph().edges()) == {(b, a), (c, b)}
    assert cmdb.analysis.cache.loads == 1


def test_local_and_foreign_edits_patch_the_cached_graph(cmdb: Cmdb, db_path: Path) -> None:
    a = add(cmdb, "Application", "a")
    b = add(cmdb, "Server", "b")
    cmdb.relations.relate(a, "Runs on", b)
    cache = cmdb.analysis.cache
    first = cmdb.analysis.graph()
    assert cmdb.analysis.graph() is first, "unchanged database: the same graph"
    cmdb.items.update(a, {"owner": "Alice", "name": "a-renamed"})  # not a graph change
    assert cmdb.analysis.graph() is first

    other = Cmdb.open(db_path, user="someone-else")  # another process, as far as we know
    try:
        c = add(other, "Rack", "c")
        other.relations.relate(b, "Located in", c)
        other.items.update(b, {"redundancy_min_up": "1"})
        graph = cmdb.analysis.graph()
        assert set(graph.edges()) == {(b, a), (c, b)}
        assert graph.threshold(b) == 1
        d = add(other, "Power Device", "d")
        other.relations.relate(b, "Powered by", d)
        assert cmdb.analysis.graph().threshold(b) == 2
        other.items.delete(c)
    finally:
        other.close()
    graph = cmdb.analysis.graph()
    assert set(graph.edges()) == {(b, a), (d, b)}
    assert graph.threshold(b) == 1
    assert cache.loads == 1 and cache.patches == 3
    snapshot = cmdb.items.delete(d).snapshots[d]
    assert set(cmdb.analysis.graph().edges()) == {(b, a)}
    cmdb.items.restore(snapshot)
    assert set(cmdb.analysis.graph().edges()) == {(b, a), (d, b)}
    assert cache.loads == 1
    fresh = GraphCache(cmdb).get()
    assert sorted(fresh.edges()) == sorted(cmdb.analysis.graph().edges())


def test_writes_that_skip_the_history_force_a_reload(cmdb: Cmdb) -> None:
    a = add(cmdb, "Application", "a")
    b = add(cmdb, "Server", "b")
    c = add(cmdb, "Rack", "c")
    e = add(cmdb, "Site", "e")
    cmdb.relations.relate(a, "Runs on", b)
    cache = cmdb.analysis.cache
    cmdb.analysis.graph()
    located_in = cmdb.meta.relationship_type("Located in")[0].id

    def sneak(source: int, target: int) -> None:
        with cmdb.write() as s:
            s.execute(
                insert(relationship_table).values(
                    source_id=source, type_id=located_in, target_id=target, created_at=utcnow()
                )
            )
            cmdb.bump(s, graph=True)

    sneak(b, c)  # no history at all
    assert set(cmdb.analysis.graph().edges()) == {(b, a), (c, b)}
    assert cache.loads == 2
    sneak(a, e)  # no history for this one, but another edit elsewhere has some
    d = add(cmdb, "Site", "d")
    cmdb.relations.relate(c, "Located in", d)
    assert set(cmdb.analysis.graph().edges()) == {(b, a), (c, b), (e, a), (d, c)}
    assert cache.loads == 3
    sneak(b, e)  # and the only history since is an edit of a field the graph ignores
    cmdb.items.update(a, {"owner": "Bob"})
    assert (e, b) in set(cmdb.analysis.graph().edges())
    assert cache.loads == 4


def test_a_long_backlog_reloads(cmdb: Cmdb, monkeypatch: pytest.MonkeyPatch) -> None:
    a = add(cmdb, "Application", "a")
    cmdb.analysis.graph()
    monkeypatch.setattr(graph_module, "PATCH_LIMIT", 3)
    servers = [add(cmdb, "Server", f"s{n}") for n in range(3)]
    for s in servers:
        cmdb.relations.relate(a, "Runs on", s)
    assert len(list(cmdb.analysis.graph().edges())) == 3
    assert cmdb.analysis.cache.loads == 2


def test_one_graph_for_concurrent_callers(demo_cmdb: Cmdb) -> None:
    got: list[ImpactGraph] = []

    def ask() -> None:
        got.append(demo_cmdb.analysis.graph())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(g is got[0] for g in got)
    assert demo_cmdb.analysis.cache.loads == 1
    demo_cmdb.analysis.cache.invalidate()
    assert demo_cmdb.analysis.cache.peek() is None
    assert demo_cmdb.analysis.graph() is not got[0]


def test_load_rows_reports_progress_and_generation(demo_cmdb: Cmdb) -> None:
    from cmdb_desktop.progress import Progress

    seen: list[tuple[str, int, int]] = []
    with demo_cmdb.read() as s:
        rows = load_rows(s, Progress(lambda *a: seen.append(a), interval=0))
    assert rows.generation == demo_cmdb.generations()["graph"]
    assert rows.last_change is not None and rows.last_change > 0
    assert seen[0][0] == "Loading the impact graph" and seen[-1][1:] == (3, 3)


def test_networkx_views(demo_cmdb: Cmdb) -> None:
    graph = demo_cmdb.analysis.graph()
    hub = int(graph.ids[np.argmax(np.diff(graph.out_ptr))])
    whole = graph.to_networkx()
    assert whole.number_of_nodes() == len(graph)
    assert whole.number_of_edges() == graph.edge_count
    view = demo_cmdb.analysis.neighbourhood(hub, depth=2, direction="downstream")
    assert view.nodes[hub]["distance"] == 0
    assert all(view.nodes[n]["distance"] <= 2 for n in view.nodes)
    assert set(view.successors(hub)) == set(graph.successors(hub))
    for u, v, data in view.edges(data=True):
        assert (u, v) in set(graph.to_networkx([u, v]).edges())
        assert data["types"], (u, v)
    some = next(iter(view.nodes))
    assert {"name", "class", "status", "service", "distance"} <= set(view.nodes[some])
    up = demo_cmdb.analysis.neighbourhood(hub, depth=1, direction="upstream")
    assert set(up.nodes) == {hub, *graph.predecessors(hub)}
    both = demo_cmdb.analysis.neighbourhood(hub, depth=1)
    assert set(both.nodes) == {hub, *graph.predecessors(hub), *graph.successors(hub)}
    with pytest.raises(ValueError):
        demo_cmdb.analysis.neighbourhood(hub, direction="sideways")  # type: ignore[arg-type]
    lonely = add(demo_cmdb, "Server", "lonely")
    view = demo_cmdb.analysis.neighbourhood(lonely, depth=3)
    assert list(view.nodes) == [lonely] and view.nodes[lonely]["name"] == "lonely"
