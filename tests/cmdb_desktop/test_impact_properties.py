"""The impact engine against a deliberately naive reading of PRODUCT.md §5.

The naive model below is written from the specification alone: it builds the
impact edges from the relationship table (forward and reverse names), leaves
Retired/Disposed CIs out, and finds the least fixpoint by iterating the three
rules over every CI from "all ok" until nothing changes. The paths that explain
the states come from breadth-first searches restricted the way §5 says (through
down CIs for a down CI, through impacted CIs for a degraded one, and the
fallback docs/impact.md describes), dependencies from a backward search, and
single points of failure by trying every CI alone.

Hypothesis then compares it with the engine on random graphs: with cycles,
redundancy rules (count, percentage, both, impossible ones, zero), retired
CIs, parallel relationships, every relationship type and reverse names — once
on the pure engine (many examples) and once through the database, the graph
cache and the analysis service (fewer examples, each a new component of one
growing CMDB, so the cache's incremental patching is exercised as well).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.graph import GraphCache, ImpactGraph
from cmdb_desktop.impact import (
    blast_radius,
    cycle_groups,
    dependencies,
    example_cycle,
    shortest_path,
    single_points_of_failure,
)

# -- the specification, transcribed ---------------------------------------------------
#: PRODUCT.md §3: forward name → (reverse name, which way impact flows).
TYPES = {
    "Depends on": ("Used by", "target → source"),
    "Runs on": ("Runs", "target → source"),
    "Hosted on": ("Hosts", "target → source"),
    "Connected to": ("Connected from", "target → source"),
    "Powered by": ("Powers", "target → source"),
    "Located in": ("Contains", "target → source"),
    "Member of": ("Has member", "source → target"),
    "Backed up by": ("Backs up", "none"),
}
REVERSE = {reverse: forward for forward, (reverse, _) in TYPES.items()}
ALL_TYPE_NAMES = sorted(TYPES) + sorted(REVERSE)
INACTIVE = {"Retired", "Disposed"}
OK, DEGRADED, DOWN = "ok", "degraded", "down"


def naive_edge(a: int, type_name: str, b: int) -> tuple[int, int] | None:
    """The impact edge of the relationship ``a TYPE b`` as a user types it."""
    if type_name in REVERSE:
        a, b, type_name = b, a, REVERSE[type_name]
    flow = TYPES[type_name][1]
    if flow == "target → source":
        return (b, a)
    if flow == "source → target":
        return (a, b)
    return None


@dataclass
class NaiveModel:
    """CIs 0…n-1 with statuses, rules and relationships, analysed the slow, obvious way."""

    n: int
    relationships: list[tuple[int, str, int]]
    statuses: dict[int, str] = field(default_factory=dict)
    rules: dict[int, tuple[int | None, float | None]] = field(default_factory=dict)

    def active(self, ci: int) -> bool:
        return self.statuses.get(ci, "In Use") not in INACTIVE

    @property
    def edges(self) -> set[tuple[int, int]]:
        out = set()
        for a, t, b in self.relationships:
            edge = naive_edge(a, t, b)
            if edge is not None and self.active(edge[0]) and self.active(edge[1]):
                out.add(edge)
        return out

    def preds(self, ci: int) -> set[int]:
        return {u for u, v in self.edges if v == ci}

    def succs(self, ci: int) -> set[int]:
        return {v for u, v in self.edges if u == ci}

    def k(self, ci: int, n: int) -> int | None:
        min_up, pct = self.rules.get(ci, (None, None))
        ks = []
        if min_up is not None:
            ks.append(min_up)
        if pct is not None:
            ks.append(math.ceil(Decimal(str(pct)) * n / 100))
        return max(ks) if ks else None

    def states(self, change_set: Iterable[int]) -> dict[int, str]:
        """The least fixpoint, by Kleene iteration from "everything ok"."""
        s = {c for c in change_set if self.active(c)}
        cis = [c for c in range(self.n) if self.active(c)]
        preds = {c: self.preds(c) for c in cis}
        state = {c: (DOWN if c in s else OK) for c in cis}
        while True:
            new = {}
            for c in cis:
                if c in s:
                    new[c] = DOWN
                    continue
                p = preds[c]
                if all(state[x] == OK for x in p):
                    new[c] = OK
                    continue
                k = self.k(c, len(p))
                if k is None:
                    new[c] = DOWN if any(state[x] == DOWN for x in p) else DEGRADED
                else:
                    not_down = sum(1 for x in p if state[x] != DOWN)
                    new[c] = DOWN if not_down < k else DEGRADED
            if new == state:
                return state
            state = new

    def over_asking(self, ci: int) -> bool:
        """Its rule asks for more predecessors than it has (down once impacted at all)."""
        n = len(self.preds(ci))
        k = self.k(ci, n)
        return k is not None and k > n

    def shortest(
        self, change_set: Iterable[int], step: Callable[[int, int], bool]
    ) -> dict[int, int]:
        """Fewest impact edges from the change set, taking an edge u → v only if step(u, v)."""
        s = [c for c in change_set if self.active(c)]
        dist = {c: 0 for c in s}
        queue = deque(s)
        while queue:
            u = queue.popleft()
            for v in sorted(self.succs(u)):
                if v not in dist and step(u, v):
                    dist[v] = dist[u] + 1
                    queue.append(v)
        return dist

    def ancestors(self, ci: int) -> dict[int, int]:
        if not self.active(ci):
            return {}
        dist = {ci: 0}
        queue = deque([ci])
        while queue:
            u = queue.popleft()
            for v in self.preds(u):
                if v not in dist:
                    dist[v] = dist[u] + 1
                    queue.append(v)
        del dist[ci]
        return dist

    def spof(self, ci: int) -> set[int]:
        if not self.active(ci):
            return set()
        return {c for c in range(self.n) if c != ci and self.states({c}).get(ci) == DOWN}


# -- strategies ------------------------------------------------------------------------
PCTS = [0.0, 10.0, 25.0, 33.3, 50.0, 66.7, 75.0, 100.0]


@st.composite
def models(draw: st.DrawFn, max_cis: int = 12, max_rels: int = 30) -> NaiveModel:
    """Small but dense CMDBs: about three relationships per CI, most CIs active,
    over half of them with a redundancy rule (so thresholds of every kind occur)."""
    n = draw(st.integers(3, max_cis))
    status = st.sampled_from(["In Use"] * 5 + ["Planned", "In Maintenance", "Retired", "Disposed"])
    statuses = {c: draw(status) for c in range(n)}
    rules: dict[int, tuple[int | None, float | None]] = {}
    for c in range(n):
        kind = draw(st.sampled_from(["none", "none", "count", "count", "pct", "both"]))
        min_up = draw(st.integers(0, 3)) if kind in ("count", "both") else None
        pct = draw(st.sampled_from(PCTS)) if kind in ("pct", "both") else None
        if min_up is not None or pct is not None:
            rules[c] = (min_up, pct)
    m = draw(st.integers(min(max_rels, 2 * n), min(max_rels, 3 * n)))
    ci = st.integers(0, n - 1)
    raw = [draw(st.tuples(ci, st.sampled_from(ALL_TYPE_NAMES), ci)) for _ in range(m)]
    rels: list[tuple[int, str, int]] = []
    stored: set[tuple[int, str, int]] = set()
    for a, t, b in raw:
        if a == b:
            continue
        key = (b, REVERSE[t], a) if t in REVERSE else (a, t, b)
        if key in stored:  # the database keeps one (source, type, target)
            continue
        stored.add(key)
        rels.append((a, t, b))
    return NaiveModel(n, rels, statuses, rules)


@st.composite
def stacks(draw: st.DrawFn) -> NaiveModel:
    """Layered stacks like a real CMDB's (hardware, VMs, clusters, applications,
    services): each CI depends on two or three CIs of the layer below and now and
    then on one further down (a shortcut), a third of them are redundant groups
    whose rules never ask for more predecessors than there are, and a few edges
    point anywhere (cycles). A failure low down then often reaches a down CI as
    soon through a degraded group as through down CIs: a path §5 must not show."""
    layers = [list(range(draw(st.integers(2, 5)))) for _ in range(draw(st.integers(3, 6)))]
    n = 0
    for layer in layers:
        layer[:] = range(n, n + len(layer))
        n += len(layer)
    edges: set[tuple[int, int]] = set()
    for depth, layer in enumerate(layers[1:], start=1):
        below = layers[depth - 1]
        for ci in layer:
            for pred in draw(st.lists(st.sampled_from(below), min_size=2, max_size=3, unique=True)):
                edges.add((pred, ci))
            if depth > 1 and draw(st.booleans()):
                edges.add(
                    (draw(st.sampled_from([c for lay in layers[: depth - 1] for c in lay])), ci)
                )
    for _ in range(draw(st.integers(0, 2))):
        u, v = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if u != v:
            edges.add((u, v))
    rules: dict[int, tuple[int | None, float | None]] = {}
    for ci in range(n):
        preds = sum(1 for _, v in edges if v == ci)
        if preds > 1 and draw(st.integers(0, 2)) == 0:  # a redundant group
            rules[ci] = draw(
                st.sampled_from([(1, None), (None, 50.0), (preds - 1, None), (None, 66.7)])
            )
    relationships = [(v, "Depends on", u) for u, v in sorted(edges)]
    return NaiveModel(n, relationships, {}, rules)


def _engine_graph(model: NaiveModel) -> ImpactGraph:
    edges = []
    for a, t, b in model.relationships:
        edge = naive_edge(a, t, b)
        if edge is not None:
            edges.append(edge)
    inactive = [c for c in range(model.n) if not model.active(c)]
    return ImpactGraph.from_edges(edges, rules=model.rules, inactive=inactive)


# -- checks shared by both property tests ------------------------------------------------
def check_blast(
    model: NaiveModel,
    change_set: set[int],
    engine_state: dict[int, str],
    engine_distance: dict[int, int],
    engine_path: dict[int, list[int]],
) -> None:
    """Compare the engine's impacted CIs (id → state/distance/path) with the model.

    Every path starts in the change set, follows impact edges through impacted
    CIs, visits no CI twice and is as long as the CI's distance. A degraded
    CI's is the shortest through impacted CIs; a down CI's the shortest
    through down CIs (every CI on it down) whenever there is one — and there
    is one unless a rule asks for more predecessors than its CI has. Then it
    is the shortest through impacted CIs on which each down CI follows a down
    CI, except those over-asking CIs; failing that, the shortest through
    impacted CIs.
    """
    expected = model.states(change_set)
    impacted = {c: s for c, s in expected.items() if s != OK and c not in change_set}
    assert engine_state == impacted
    starts = {c for c in change_set if model.active(c)}
    down = {c for c, s in expected.items() if s == DOWN}  # the change set included
    over = {c for c in impacted if model.over_asking(c)}
    through_impacted = model.shortest(starts, lambda u, v: v in impacted)
    through_down = model.shortest(starts, lambda u, v: v in down)
    through_causes = model.shortest(
        starts, lambda u, v: v in impacted and (u in down or v not in down or v in over)
    )
    assert set(engine_distance) == set(engine_path) == set(impacted)
    edges = model.edges
    for ci, path in engine_path.items():
        steps = list(itertools.pairwise(path))
        assert path[0] in starts
        assert path[-1] == ci
        assert len(path) == engine_distance[ci] + 1, "distance is the path's length"
        assert len(set(path)) == len(path)
        assert all(step in edges for step in steps)
        assert all(p in impacted for p in path[1:]), "only through impacted CIs"
        if impacted[ci] == DEGRADED:
            assert engine_distance[ci] == through_impacted[ci], "shortest through impacted"
        elif ci in through_down:
            assert all(p in down for p in path), "a down CI is explained by down CIs"
            assert engine_distance[ci] == through_down[ci], "shortest through down CIs"
            if through_down[ci] > through_impacted[ci]:
                event("a down CI's path is longer than its shortest way in")
            nearest = [
                p for p in model.preds(ci) if through_impacted.get(p) == through_impacted[ci] - 1
            ]
            if min(nearest) not in down:
                event("a down CI's smallest nearest predecessor is degraded")
        else:
            assert any(o not in through_down for o in over), "only an over-asking rule"
            if ci in through_causes:
                event("a down CI explained through an over-asking rule")
                assert engine_distance[ci] == through_causes[ci]
                assert all(u in down or v not in down or v in over for u, v in steps)
                assert any(u not in down and v in over for u, v in steps)
            else:
                event("a down CI explained only through impacted CIs (a cycle)")
                assert engine_distance[ci] == through_impacted[ci]


def check_model_on_engine(model: NaiveModel, change_set: set[int]) -> None:
    graph = _engine_graph(model)
    radius = blast_radius(graph, sorted(change_set))
    ids = radius.ids.tolist()
    states = {i: radius.state(i) for i in ids}
    distances = dict(zip(ids, radius.distances.tolist(), strict=True))
    paths = dict(zip(ids, radius.paths(), strict=True))
    check_blast(model, change_set, states, distances, paths)
    assert {c: radius.path(c) for c in ids} == paths
    assert radius.down_count == sum(1 for s in states.values() if s == DOWN)
    # --depth N reports exactly the CIs within N steps
    for depth in (0, 1, 2):
        mask = radius.within(depth)
        assert set(radius.ids[mask].tolist()) == {c for c, d in distances.items() if d <= depth}


@settings(max_examples=400, deadline=None)
@given(model=models(), data=st.data())
def test_blast_radius_matches_the_naive_fixpoint(model: NaiveModel, data: st.DataObject) -> None:
    change_set = data.draw(st.sets(st.integers(0, model.n - 1), min_size=1, max_size=3))
    check_model_on_engine(model, change_set)


@settings(max_examples=150, deadline=None)
@given(model=models(max_cis=25, max_rels=70), data=st.data())
def test_larger_graphs_match_too(model: NaiveModel, data: st.DataObject) -> None:
    change_set = data.draw(st.sets(st.integers(0, model.n - 1), min_size=1, max_size=4))
    check_model_on_engine(model, change_set)


@settings(max_examples=300, deadline=None)
@given(model=stacks(), data=st.data())
def test_down_cis_are_explained_by_down_cis_in_stacks(
    model: NaiveModel, data: st.DataObject
) -> None:
    """No rule asks for more than its CI has, so every down CI's path is all down."""
    assert not any(model.over_asking(c) for c in range(model.n))
    low = st.integers(0, min(3, model.n - 1))  # failures low in the stack reach the most
    change_set = data.draw(
        st.sets(st.one_of(low, st.integers(0, model.n - 1)), min_size=1, max_size=2)
    )
    check_model_on_engine(model, change_set)
    radius = blast_radius(_engine_graph(model), sorted(change_set))
    states = model.states(change_set)
    for ci, path in zip(radius.ids.tolist(), radius.paths(), strict=True):
        if states[ci] == DOWN:
            assert all(states[p] == DOWN for p in path)
    # and the engine found them all without its search for over-asking rules
    assert radius._trees.shape[0] == 2


@settings(max_examples=300, deadline=None)
@given(model=models(), data=st.data())
def test_depends_spof_path_and_cycles_match(model: NaiveModel, data: st.DataObject) -> None:
    graph = _engine_graph(model)
    x = data.draw(st.integers(0, model.n - 1))
    deps = dependencies(graph, x)
    assert dict(zip(deps.ids.tolist(), deps.distances.tolist(), strict=True)) == model.ancestors(x)
    assert deps.distances.tolist() == sorted(deps.distances.tolist())
    assert set(single_points_of_failure(graph, x)) == model.spof(x)
    y = data.draw(st.integers(0, model.n - 1))
    path = shortest_path(graph, y, x)
    reach = model.ancestors(x)
    if y == x:
        assert path == [x]
    elif y in reach:
        assert len(path) == reach[y] + 1 and path[0] == y and path[-1] == x
        assert all(e in model.edges for e in itertools.pairwise(path))
    else:
        assert path == []
    # every CI of a cycle group reaches every other one, and no CI of another group
    # both reaches and is reached by it (the groups are whole components)
    groups = cycle_groups(graph)
    assert groups == sorted(groups) and all(g == sorted(g) for g in groups)
    for group in groups:
        for a in group:
            assert set(group) - {a} <= set(model.ancestors(a))
        cycle = example_cycle(graph, group)
        assert cycle[0] == cycle[-1] == min(group)
        assert all(e in model.edges for e in itertools.pairwise(cycle))
    for g1, g2 in itertools.combinations(groups, 2):
        assert not (g1[0] in model.ancestors(g2[0]) and g2[0] in model.ancestors(g1[0]))
    on_cycles = {c for g in groups for c in g}
    assert on_cycles == {
        c
        for c in range(model.n)
        if model.active(c) and any(p in model.ancestors(c) for p in model.succs(c))
    }


# -- the same through the database ------------------------------------------------------
@pytest.fixture(scope="module")
def growing_cmdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cmdb]:
    path: Path = tmp_path_factory.mktemp("props") / "props.sqlite"
    cmdb = Cmdb.open(path, user="tester")
    yield cmdb
    cmdb.close()


_counter = itertools.count()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(model=models(max_cis=8, max_rels=16), data=st.data())
def test_through_the_database(growing_cmdb: Cmdb, model: NaiveModel, data: st.DataObject) -> None:
    """CIs and relationships created through the facade (reverse names and all).

    Each example adds a new, separate component to one CMDB, so the analysis
    service's cached graph is patched from the history every time; at the end
    of each example a freshly loaded graph must agree with the patched one.
    """
    cmdb = growing_cmdb
    tag = next(_counter)
    assume(any(model.active(c) for c in range(model.n)))
    ids: dict[int, int] = {}
    for c in range(model.n):
        min_up, pct = model.rules.get(c, (None, None))
        fields = {"name": f"p{tag}-ci{c}", "status": model.statuses[c]}
        if min_up is not None:
            fields["redundancy_min_up"] = str(min_up)
        if pct is not None:
            fields["redundancy_min_up_pct"] = str(pct)
        ids[c] = cmdb.items.create("Cluster", fields).created[0]
    for a, t, b in model.relationships:
        cmdb.relations.relate(ids[a], t, ids[b])
    back = {v: k for k, v in ids.items()}
    change_set = data.draw(st.sets(st.integers(0, model.n - 1), min_size=1, max_size=3))
    report = cmdb.analysis.impact([ids[c] for c in sorted(change_set)])
    by_name = {f"p{tag}-ci{c}": c for c in range(model.n)}
    check_blast(
        model,
        change_set,
        {back[i.ci.id]: i.state for i in report.impacted},
        {back[i.ci.id]: i.distance for i in report.impacted},
        {back[i.ci.id]: [by_name[n] for n in i.path] for i in report.impacted},
    )
    assert [c.id for c in report.changed] == [ids[c] for c in sorted(change_set)]
    # --depth lists the same CIs with the same paths, those within the depth only
    depth = data.draw(st.integers(0, 3))
    near = cmdb.analysis.impact([ids[c] for c in sorted(change_set)], depth=depth)
    assert [(i.ci.id, i.state, i.distance, i.path) for i in near.impacted] == [
        (i.ci.id, i.state, i.distance, i.path) for i in report.impacted if i.distance <= depth
    ]
    x = data.draw(st.integers(0, model.n - 1))
    deps = cmdb.analysis.depends(ids[x])
    assert {back[d.ci.id]: d.distance for d in deps.dependencies} == model.ancestors(x)
    spof = cmdb.analysis.spof(ids[x])
    assert {back[s.ci.id] for s in spof.spof} == model.spof(x)
    # the patched graph equals one loaded from scratch
    patched = cmdb.analysis.graph()
    fresh = GraphCache(cmdb).get()
    assert patched.ids.tolist() == fresh.ids.tolist()
    assert sorted(patched.edges()) == sorted(fresh.edges())
    assert patched.thresholds.tolist() == fresh.thresholds.tolist()
