"""The layered layout and the sibling grouping: pure functions, tested without Qt."""

from __future__ import annotations

import random
from typing import Any

import networkx as nx
import pytest

from ui.dependency_picture import build_picture, edge_labels, group_siblings, plural
from ui.graph_dot import COMPARE_STEPS, DotFailed, best_layout, dot_layout, dot_program, parse_plain
from ui.graph_layout import (
    aggregate_by_layer,
    assign_layers,
    break_cycles,
    count_crossings,
    drawing_area,
    drawing_crossings,
    layered_layout,
    layout_crossings,
    merge_edges,
    route_polyline,
    segments_cross,
)


def _random_dag(n: int, m: int, seed: int) -> list[tuple[int, int]]:
    rnd = random.Random(seed)
    edges = set()
    while len(edges) < m:
        a, b = rnd.randrange(n), rnd.randrange(n)
        if a < b:
            edges.add((a, b))
    return sorted(edges)


def test_layers_follow_the_edges_and_services_stay_on_top() -> None:
    edges = [("svc", "app"), ("app", "vm"), ("vm", "host"), ("lonely-top", "host")]
    layer = assign_layers(["svc", "app", "vm", "host", "lonely-top"], edges, pinned={"svc"})
    assert layer["svc"] < layer["app"] < layer["vm"] < layer["host"]
    # a node that only hangs above another is pulled down next to it
    assert layer["lonely-top"] == layer["host"] - 1


def test_cycles_are_broken_and_every_edge_still_drawn() -> None:
    nodes = ["a", "b", "c"]
    edges = [("a", "b"), ("b", "c"), ("c", "a")]
    assert len(break_cycles(nodes, edges)) == 1
    lay = layered_layout(nodes, edges)
    assert {(r.source, r.target) for r in lay.edges} == set(edges)
    climbing = [r for r in lay.edges if r.reversed]
    assert len(climbing) == 1
    r = climbing[0]
    assert lay.pos[r.source][1] > lay.pos[r.target][1]  # drawn upwards


@pytest.mark.parametrize("seed", range(5))
def test_layout_invariants_on_random_graphs(seed: int) -> None:
    n = 40
    edges = _random_dag(n, 70, seed)
    sizes = {i: (120.0 + 10 * (i % 3), 40.0) for i in range(n)}
    lay = layered_layout(list(range(n)), edges, sizes, node_gap=20.0)
    assert set(lay.pos) == set(range(n))
    for u, v in edges:  # every edge points down
        assert lay.layer[u] < lay.layer[v]
    for row in lay.order:  # no overlaps within a layer, in order
        xs = [lay.pos[k][0] for k in row]
        for a, b, xa, xb in zip(row, row[1:], xs, xs[1:], strict=False):
            assert xb - xa >= (sizes[a][0] + sizes[b][0]) / 2 + 20.0 - 1e-6
    for route in lay.edges:  # a point on every layer crossed
        span = lay.layer[route.target] - lay.layer[route.source]
        assert len(route.points) == span + 1
        assert route.points[0][1] < route.points[-1][1]
    assert min(x for x, _ in lay.pos.values()) >= 0


def test_ordering_removes_crossings() -> None:
    # Two parents whose children start interleaved: sweeps untangle them.
    nodes = ["p1", "p2", "a1", "b1", "a2", "b2"]
    edges = [("p1", "a1"), ("p1", "a2"), ("p2", "b1"), ("p2", "b2")]
    unsorted = layered_layout(nodes, edges, order_key=nodes.index, sweeps=0)
    best = layered_layout(nodes, edges, order_key=nodes.index)
    assert best.crossings == 0
    assert unsorted.crossings >= best.crossings
    assert count_crossings(best.order[0], best.order[1], edges) == 0


def _star(n_vms: int) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_node(1, name="host", service=False, **{"class": "Server"})
    g.add_node(2, name="rack", service=False, **{"class": "Rack"})
    g.add_edge(2, 1, types=["Located in"])
    for i in range(10, 10 + n_vms):
        g.add_node(i, name=f"vm{i:03}", service=False, **{"class": "Virtual Machine"})
        g.add_edge(1, i, types=["Hosted on"])
        g.add_node(i + 1000, name=f"app{i:03}", service=False, **{"class": "Application"})
        g.add_edge(i, i + 1000, types=["Runs on"])
    return g


def test_siblings_beyond_the_threshold_become_one_group() -> None:
    g = _star(40)
    shown, groups = group_siblings(g, [1], threshold=12)
    (group,) = [gr for gr in groups if gr.class_name == "Virtual Machine"]
    assert len(group.members) == 28 and group.label == "28 more Virtual Machines"
    assert group.side == "above" and group.parent == 1
    vms = [n for n in shown if g.nodes[n]["class"] == "Virtual Machine"]
    assert len(vms) == 12
    # what hangs only on hidden VMs is hidden too
    apps = [n for n in shown if g.nodes[n]["class"] == "Application"]
    assert len(apps) == 12
    # expanded: everything; kept CIs are always shown; a collapsed CI hides its far side
    shown_all, groups_all = group_siblings(g, [1], threshold=12, expanded={group.key: 40})
    assert len(shown_all) == len(g) and not groups_all
    shown_more, (more,) = group_siblings(g, [1], threshold=12, expanded={group.key: 30})
    assert len(more.members) == 10
    shown_keep, _ = group_siblings(g, [1], threshold=12, keep=[49])
    assert 49 in shown_keep
    shown_closed, closed = group_siblings(g, [1], threshold=12, collapsed=[1])
    assert shown_closed == {1} and {gr.class_name for gr in closed} == {"Rack", "Virtual Machine"}


def test_picture_draws_dependents_above_with_readable_labels() -> None:
    g = _star(3)
    picture = build_picture(g, [1], centre=1, states={1: "changed", 10: "down"})
    node = {n.key: n for n in picture.nodes}
    assert node[1].centre and node[1].state == "changed" and node[10].state == "down"
    assert node[10].y < node[1].y < node[2].y  # VM above its host above the rack
    assert node[1010].y < node[10].y
    edge = next(e for e in picture.edges if e.upper == 10)
    assert edge.lower == 1 and edge.label == "Hosted on"
    assert plural("Business Service", 2) == "Business Services"
    assert plural("Power Device", 1) == "Power Device"
    assert plural("Policy", 3) == "Policies"


def test_huge_neighbourhoods_are_cut_down_to_max_boxes() -> None:
    g = nx.DiGraph()
    g.add_node(0, name="site", **{"class": "Site"})
    for r in range(1, 41):  # 40 racks of 10 servers: no group beyond 12 at first
        g.add_node(r, name=f"rack{r:02}", **{"class": "Rack"})
        g.add_edge(0, r, types=["Located in"])
        for s in range(10):
            n = 100 * r + s
            g.add_node(n, name=f"srv{n}", **{"class": "Server"})
            g.add_edge(r, n, types=["Located in"])
    picture = build_picture(g, [0], max_boxes=120, aggregate_over=None)
    assert len(picture.nodes) <= 120 and picture.threshold < 12
    (racks,) = [gr for gr in picture.groups if gr.class_name == "Rack"]
    shown_racks = [n for n in picture.ci_ids if g.nodes[n]["class"] == "Rack"]
    assert len(racks.members) + len(shown_racks) == 40
    assert not set(racks.members) & picture.ci_ids


def _farm(racks: int, per_rack: int) -> tuple[list[str], list[tuple[str, str]], dict[str, str]]:
    """A site, ``racks`` racks in it, ``per_rack`` servers in each (edges point down)."""
    kind = {"site": "Site"}
    edges = []
    for r in range(racks):
        kind[f"r{r}"] = "Rack"
        edges.append((f"r{r}", "site"))
        for s in range(per_rack):
            kind[f"s{r}.{s}"] = "Server"
            edges.append((f"s{r}.{s}", f"r{r}"))
    return list(kind), edges, kind


def test_aggregates_are_one_box_per_class_and_layer_beyond_the_threshold() -> None:
    nodes, edges, kind = _farm(8, 10)  # 89 boxes
    aggs = aggregate_by_layer(nodes, edges, kind.__getitem__, over=60, keep=["s0.0"])
    by_kind = {a.kind: a for a in aggs}
    assert set(by_kind) == {"Server", "Rack"}  # one site: no bucket of 3
    assert len(by_kind["Server"].members) == 79  # the kept server stays alone
    assert by_kind["Server"].layer == 0 and by_kind["Rack"].layer == 1
    # an opened aggregate stays open, the other stays closed
    opened = aggregate_by_layer(
        nodes, edges, kind.__getitem__, over=60, expanded=[by_kind["Server"].key]
    )
    assert [a.kind for a in opened] == ["Rack"]
    assert aggregate_by_layer(nodes, edges, kind.__getitem__, over=100) == []


def test_edges_between_aggregates_are_merged_with_their_count() -> None:
    nodes, edges, kind = _farm(4, 3)
    stands_for = {n: f"agg:{kind[n]}" for n in nodes if kind[n] != "Site"}
    merged = merge_edges(edges, stands_for)
    assert {k: len(v) for k, v in merged.items()} == {
        ("agg:Server", "agg:Rack"): 12,
        ("agg:Rack", "site"): 4,
    }


def test_a_big_picture_draws_aggregates_with_counted_lines_and_one_label_per_end() -> None:
    g = nx.DiGraph()  # impact direction: site -> rack -> server
    g.add_node(0, name="site", **{"class": "Site"})
    for r in range(1, 9):
        g.add_node(r, name=f"rack{r}", **{"class": "Rack"})
        g.add_edge(0, r, types=["Located in"])
        for s in range(10):
            n = 100 * r + s
            g.add_node(n, name=f"srv{n}", **{"class": "Server"})
            g.add_edge(r, n, types=["Located in"])
    picture = build_picture(g, [0], centre=0, threshold=50)
    kinds = {a.kind: a for a in picture.aggregates}
    assert set(kinds) == {"Rack", "Server"}
    node = {n.key: n for n in picture.nodes}
    assert node[kinds["Server"].key].label == "80 Servers" and node[kinds["Server"].key].count == 80
    assert len(picture.nodes) == 3
    line = next(e for e in picture.edges if e.upper == kinds["Server"].key)
    assert line.lower == kinds["Rack"].key and line.count == 80 and line.label == "Located in"
    texts = sorted(lab.text for lab in edge_labels(picture))
    assert texts == ["Located in ×8", "Located in ×80"]
    # off: every box, one label per box end
    every = build_picture(g, [0], centre=0, threshold=50, aggregate_over=None)
    assert not every.aggregates and len(every.nodes) == 89
    labels = edge_labels(every)
    assert len(labels) == len({(lab.x, lab.y) for lab in labels}) == 9  # 8 racks + the site
    site_label = next(lab for lab in labels if lab.text.endswith("×8"))
    assert site_label.text == "Located in ×8"


def test_the_crossing_counter_counts_proper_crossings_only() -> None:
    assert segments_cross((0, 0), (2, 2), (0, 2), (2, 0))
    assert not segments_cross((0, 0), (1, 1), (1, 1), (2, 0))  # touching ends
    assert not segments_cross((0, 0), (1, 0), (0, 1), (1, 1))  # parallel
    x = [("a", "y", [(0, 0), (1, 1), (2, 2)]), ("b", "x", [(2, 0), (1, 0.5), (0, 2)])]
    assert drawing_crossings(x) == 1
    # edges sharing a node are not compared, even where they meet
    assert drawing_crossings([("a", "x", [(0, 0), (2, 2)]), ("a", "y", [(2, 0), (0, 2)])]) == 0
    # K(3,3) drawn straight between two rows: the classic 9 crossings
    k33 = [(u, v, [(float(u), 0.0), (float(v) - 10, 1.0)]) for u in range(3) for v in (10, 11, 12)]
    assert drawing_crossings(k33) == 9
    assert drawing_area({"a": (0.0, 0.0)}, {"a": (10.0, 4.0)}) == 40.0


@pytest.mark.parametrize("seed", range(3))
def test_the_crossing_counter_agrees_with_the_layer_counter(seed: int) -> None:
    """On a two-layer drawing with straight lines, geometric crossings are the
    layer-order inversions the ordering step counts."""
    rnd = random.Random(seed)
    up, low = list(range(8)), list(range(100, 108))
    edges = sorted({(rnd.choice(up), rnd.choice(low)) for _ in range(14)})
    routes = [(u, v, [(float(u), 0.0), (float(v - 100) + 0.5, 1.0)]) for u, v in edges]
    # layer counting also counts pairs that share a node (0 for those: they touch)
    assert drawing_crossings(routes) == count_crossings(up, low, edges)


needs_dot = pytest.mark.skipif(dot_program() is None, reason="Graphviz dot is not installed")


def test_dot_output_is_read_into_our_coordinates() -> None:
    """No dot needed: its plain output, y up in inches, becomes scene units, y down,
    each line carried on to the edge of the box it points to."""
    plain = "\n".join(
        [
            "graph 1 2 2",
            "node n0 1 1.5 1 0.5 x solid box black lightgrey",
            "node n1 1 0.5 1 0.5 x solid box black lightgrey",
            "edge n0 n1 4 1 1.25 1 1.1 1 0.95 1 0.8 solid black",
            "stop",
        ]
    )
    box = {"a": (72.0, 36.0), "b": (72.0, 36.0)}
    pos, routes, width, height = parse_plain(plain, ["a", "b"], [("a", "b")], box)
    assert pos == {"a": (72.0, 36.0), "b": (72.0, 108.0)} and (width, height) == (144.0, 144.0)
    (route,) = routes
    assert route.spline and not route.reversed
    assert route.points[0] == (72.0, 54.0) and route.points[-1] == (72.0, 90.0)
    assert (len(route.points) - 1) % 3 == 0  # whole Bézier segments
    with pytest.raises(DotFailed):
        parse_plain(plain, ["a", "b", "c"], [("a", "b")], box)


@needs_dot
def test_dot_lays_out_a_small_graph_like_ours() -> None:
    nodes = ["svc", "app1", "app2", "vm1", "vm2", "host"]
    edges = [
        ("svc", "app1"),
        ("svc", "app2"),
        ("app1", "vm2"),
        ("app2", "vm1"),
        ("vm1", "host"),
        ("vm2", "host"),
    ]
    lay = dot_layout(nodes, edges)
    assert set(lay.pos) == set(nodes)
    for u, v in edges:  # every line runs down, from box edge to box edge
        assert lay.pos[u][1] < lay.pos[v][1]
        route = next(r for r in lay.edges if (r.source, r.target) == (u, v))
        assert route.points[0][1] == pytest.approx(lay.pos[u][1] + 24, abs=1.0)
        assert route.points[-1][1] == pytest.approx(lay.pos[v][1] - 24)
    assert lay.crossings == 0 == layout_crossings(lay)
    # the view takes whichever crosses less; with nothing to gain it keeps ours
    chosen, by = best_layout(nodes, edges)
    assert by == "ours" and chosen.crossings == 0
    assert best_layout(nodes, edges, use_dot=False)[1] == "ours"


@needs_dot
def test_the_view_takes_dots_drawing_only_when_it_crosses_less() -> None:
    """A random tangle of 16 CIs (dot crosses 11 times where ours crosses 19 on this
    one): the graph view's picture takes dot's drawing, splines and all."""
    down = _random_dag(16, 26, 0)
    g = nx.DiGraph()
    for i in range(16):
        g.add_node(i, name=f"ci{i:02}", **{"class": "Application"})
    for u, v in down:  # impact flows up: from what is depended on to its dependent
        g.add_edge(v, u, types=["Depends on"])
    roots = [n for n in g if g.in_degree(n) == 0]
    ours = build_picture(g, roots, keep=list(g))
    theirs = build_picture(g, roots, keep=list(g), use_dot=True)
    assert ours.layout_by == "ours" and not any(e.spline for e in ours.edges)
    assert theirs.layout_by == "dot" and all(e.spline for e in theirs.edges)
    assert theirs.crossings == layout_crossings_of(theirs) < layout_crossings_of(ours)
    assert {(e.upper, e.lower) for e in theirs.edges} == {(e.upper, e.lower) for e in ours.edges}


def layout_crossings_of(picture: Any) -> int:
    return drawing_crossings(
        [
            (e.upper, e.lower, route_polyline(e.points, e.spline, COMPARE_STEPS))
            for e in picture.edges
        ]
    )
