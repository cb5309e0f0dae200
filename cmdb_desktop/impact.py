"""Impact analysis over an :class:`~cmdb_desktop.graph.ImpactGraph` (PRODUCT.md §5).

Pure functions: the graph comes first, CI ids go in and come out, nothing
touches the database. :mod:`cmdb_desktop.analysis` adds names and classes.

Semantics. A *change set* S is assumed down. Every other CI gets a state in
ok < degraded < down, the least fixpoint of:

- a CI none of whose impact predecessors is down or degraded is ok;
- otherwise, with no redundancy rule, it is down if any predecessor is down,
  else degraded;
- otherwise, with a rule ``min up = k`` (or ``min up % = p``, k = ceil(p·n/100))
  over its n impact predecessors, it is down if fewer than k of them are not
  down, else degraded.

So the impacted CIs are exactly those reachable from S, and only the
down/degraded split needs the fixpoint. Distance is the fewest impact edges
from S, and each impacted CI gets one shortest path (from a member of S).

A rack fed by power feeds A and B through a group (a Cluster with
``min up = 1``), and located in a room:

>>> from cmdb_desktop.graph import ImpactGraph
>>> FEED_A, FEED_B, GROUP, RACK, ROOM, SERVER = 1, 2, 3, 4, 5, 6
>>> g = ImpactGraph.from_edges(
...     [(FEED_A, GROUP), (FEED_B, GROUP),   # feeds are Member of the group
...      (GROUP, RACK), (ROOM, RACK),        # rack Powered by group, Located in room
...      (RACK, SERVER)],                    # server Located in rack
...     rules={GROUP: (1, None)})
>>> r = blast_radius(g, [FEED_A])
>>> [(ci, r.state(ci), r.distance(ci)) for ci in r.ids.tolist()]
[(3, 'degraded', 1), (4, 'degraded', 2), (6, 'degraded', 3)]
>>> r.path(SERVER)
[1, 3, 4, 6]
>>> r = blast_radius(g, [FEED_A, FEED_B])
>>> [r.state(ci) for ci in (GROUP, RACK, SERVER)]
['down', 'down', 'down']
>>> blast_radius(g, [ROOM]).state(RACK), blast_radius(g, [ROOM]).state(GROUP)
('down', 'ok')

Cycles terminate and keep the least fixpoint. Here B and C impact each
other; C carries a 50 % rule over its three predecessors B, D and E (so it
needs ceil(1.5) = 2 of them not down). A failure of A takes B down but only
degrades C; a failure of D and E takes C down, and C takes B with it.

>>> A, B, C, D, E = 1, 2, 3, 4, 5
>>> g = ImpactGraph.from_edges([(A, B), (B, C), (C, B), (D, C), (E, C)],
...                            rules={C: (None, 50.0)})
>>> r = blast_radius(g, [A])
>>> r.state(B), r.state(C), r.distance(C)
('down', 'degraded', 2)
>>> r = blast_radius(g, [D])
>>> r.state(C), r.state(B)
('degraded', 'degraded')
>>> r = blast_radius(g, [D, E])
>>> r.state(C), r.state(B)
('down', 'down')
>>> single_points_of_failure(g, C), single_points_of_failure(g, B)
([], [1, 3])
>>> dependencies(g, C).ids.tolist(), dependencies(g, C).distances.tolist()
([2, 4, 5, 1], [1, 1, 1, 2])
>>> shortest_path(g, A, C)
[1, 2, 3]
>>> cycle_groups(g)
[[2, 3]]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np

from cmdb_desktop.graph import (
    NEVER,
    ImpactGraph,
    IntArray,
    gather,
    unique_first,
    unique_sorted,
)
from cmdb_desktop.progress import Progress

T = TypeVar("T")

DOWN = "down"
DEGRADED = "degraded"
OK = "ok"
CHANGED = "changed"

Direction = Literal["upstream", "downstream", "both"]

#: Above this many path cells the paths are walked one by one instead of in one matrix.
_PATH_MATRIX_CELLS = 20_000_000


# -- blast radius -------------------------------------------------------------
@dataclass(frozen=True)
class BlastRadius:
    """The impact of one change set.

    ``ids`` are the impacted CIs (every CI outside the change set whose
    state is not ok), in breadth-first order: by distance, then by id.
    ``distances``, ``down`` and ``parents`` run parallel to it; a parent is
    the CI before this one on its shortest path (a member of the change set
    or another impacted CI). ``changed`` is the change set as given (ids
    repeated once), including CIs that impact nothing (isolated or Retired).
    """

    graph: ImpactGraph
    changed: tuple[int, ...]
    ids: IntArray
    distances: IntArray
    down: np.ndarray[Any, np.dtype[np.bool_]]
    parents: IntArray
    _nodes: IntArray = field(repr=False)
    _parent_of: IntArray = field(repr=False)
    _position: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.ids.size)

    @property
    def down_count(self) -> int:
        return int(self.down.sum())

    @property
    def degraded_count(self) -> int:
        return len(self) - self.down_count

    def _pos(self, ci_id: int) -> int | None:
        if not self._position and self.ids.size:
            self._position.update(zip(self.ids.tolist(), range(self.ids.size), strict=True))
        return self._position.get(ci_id)

    def state(self, ci_id: int) -> str:
        """``"changed"`` (a member of the change set), ``"down"``, ``"degraded"`` or ``"ok"``."""
        if ci_id in self.changed:
            return CHANGED
        pos = self._pos(ci_id)
        if pos is None:
            return OK
        return DOWN if bool(self.down[pos]) else DEGRADED

    def distance(self, ci_id: int) -> int | None:
        """Fewest impact edges from the change set (0 for its members, None if not impacted)."""
        if ci_id in self.changed:
            return 0
        pos = self._pos(ci_id)
        return None if pos is None else int(self.distances[pos])

    def path(self, ci_id: int) -> list[int]:
        """One shortest impact path from a member of the change set to ``ci_id``."""
        if ci_id in self.changed:
            return [ci_id]
        pos = self._pos(ci_id)
        if pos is None:
            return []
        out = [ci_id]
        node = int(self._nodes[pos])
        while (node := int(self._parent_of[node])) >= 0:
            out.append(int(self.graph.ids[node]))
        out.reverse()
        return out

    def within(self, depth: int | None) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Mask over ``ids`` of the CIs at distance ≤ ``depth`` (all when None)."""
        if depth is None:
            return np.ones(self.ids.size, dtype=bool)
        return np.asarray(self.distances <= depth)

    def paths(
        self,
        labels: Mapping[int, T] | None = None,
        mask: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    ) -> list[list[Any]]:
        """Every impacted CI's path (parallel to ``ids``, or to ``ids[mask]``).

        Each path is a list of CI ids, or of ``labels[id]`` when ``labels`` is
        given. All paths are built at once, one vectorised step per level.
        """
        nodes = self._nodes if mask is None else self._nodes[mask]
        dist = self.distances if mask is None else self.distances[mask]
        if nodes.size == 0:
            return []
        deepest = int(dist.max())
        if nodes.size * (deepest + 1) > _PATH_MATRIX_CELLS:
            ids = self.ids if mask is None else self.ids[mask]
            walked = [self.path(int(i)) for i in ids.tolist()]
            if labels is None:
                return walked
            return [[labels[i] for i in p] for p in walked]
        steps = np.empty((nodes.size, deepest + 1), dtype=np.int64)
        steps[:, deepest] = nodes
        current = nodes
        for column in range(deepest - 1, -1, -1):
            current = np.where(current >= 0, self._parent_of[np.maximum(current, 0)], -1)
            steps[:, column] = current
        present = steps >= 0
        if labels is None:
            cells: np.ndarray[Any, Any] = np.where(
                present, self.graph.ids[np.maximum(steps, 0)], -1
            )
        else:
            used = unique_sorted(steps[present])
            table = np.empty(len(self.graph), dtype=object)
            table[used] = [labels[i] for i in self.graph.ids[used].tolist()]
            cells = table[np.maximum(steps, 0)]
        rows = cells.tolist()
        return [row[deepest - d :] for row, d in zip(rows, dist.tolist(), strict=True)]


def blast_radius(
    graph: ImpactGraph, change_set: Iterable[int], progress: Progress | None = None
) -> BlastRadius:
    """The state, distance and path of every CI the change set impacts.

    Reachability and distances come from one breadth-first search from all
    members at once; the down/degraded split is the least fixpoint, reached
    by pushing "down" forward from the change set: a CI turns down when the
    number of its down predecessors reaches its down threshold (see
    :func:`cmdb_desktop.graph.down_thresholds`), and a CI whose rule asks for
    more predecessors than it has is down as soon as it is impacted. Each CI
    turns down at most once, so this ends, cycles or not. Both phases work a
    whole level at a time on arrays.
    """
    progress = progress or Progress()
    changed = tuple(dict.fromkeys(int(c) for c in change_set))
    index = graph.index(changed)
    sources = unique_sorted(index[index >= 0])
    n = len(graph)
    dist = np.full(n, -1, dtype=np.int64)
    parent_of = np.full(n, -1, dtype=np.int64)
    dist[sources] = 0
    levels: list[IntArray] = []
    frontier = sources
    level = 0
    while frontier.size:
        progress.check()
        reached, owner = gather(graph.out_ptr, graph.out_idx, frontier)
        new = dist[reached] < 0
        if not new.any():
            break
        reached, first = unique_first(reached[new])
        level += 1
        dist[reached] = level
        parent_of[reached] = owner[new][first]
        levels.append(reached)
        frontier = reached
    nodes = np.concatenate(levels) if levels else np.zeros(0, dtype=np.int64)

    thresholds = graph.thresholds
    down = np.zeros(n, dtype=bool)
    down[sources] = True
    eager = nodes[thresholds[nodes] <= 0]
    down[eager] = True
    down_preds = np.zeros(n, dtype=np.int64)
    wave = np.concatenate([sources, eager])
    while wave.size:
        progress.check()
        reached, _ = gather(graph.out_ptr, graph.out_idx, wave)
        hit, times = np.unique(reached, return_counts=True)
        open_ = ~down[hit]
        hit, times = hit[open_], times[open_]
        down_preds[hit] += times
        wave = hit[down_preds[hit] >= thresholds[hit]]
        down[wave] = True

    return BlastRadius(
        graph=graph,
        changed=changed,
        ids=graph.ids[nodes],
        distances=dist[nodes],
        down=down[nodes],
        parents=graph.ids[parent_of[nodes]] if nodes.size else np.zeros(0, dtype=np.int64),
        _nodes=nodes,
        _parent_of=parent_of,
    )


# -- dependencies, paths, neighbourhoods -------------------------------------
@dataclass(frozen=True)
class Reach:
    """CIs found by a breadth-first search, in order: ``ids`` with their ``distances``."""

    ids: IntArray
    distances: IntArray

    def __len__(self) -> int:
        return int(self.ids.size)


def _bfs(
    ptr: IntArray, idx: IntArray, starts: IntArray, n: int, depth: int | None = None
) -> tuple[IntArray, IntArray]:
    """Breadth-first from ``starts`` (node indexes): nodes found (BFS order) and distances."""
    dist = np.full(n, -1, dtype=np.int64)
    dist[starts] = 0
    found: list[IntArray] = []
    frontier = starts
    level = 0
    while frontier.size and (depth is None or level < depth):
        reached, _ = gather(ptr, idx, frontier)
        reached = unique_sorted(reached[dist[reached] < 0])
        if reached.size == 0:
            break
        level += 1
        dist[reached] = level
        found.append(reached)
        frontier = reached
    nodes = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    return nodes, dist[nodes]


def dependencies(graph: ImpactGraph, ci_id: int, depth: int | None = None) -> Reach:
    """Every CI with an impact path to ``ci_id`` (its service dependency map).

    Ordered by distance (fewest impact edges to ``ci_id``), then id; the CI
    itself is left out even when it lies on a cycle.
    """
    start = graph.index([ci_id])
    if start[0] < 0:
        return Reach(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    nodes, dist = _bfs(graph.in_ptr, graph.in_idx, start, len(graph), depth)
    return Reach(graph.ids[nodes], dist)


def dependents(graph: ImpactGraph, ci_id: int, depth: int | None = None) -> Reach:
    """Every CI that ``ci_id`` has an impact path to (what its failure can reach)."""
    start = graph.index([ci_id])
    if start[0] < 0:
        return Reach(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    nodes, dist = _bfs(graph.out_ptr, graph.out_idx, start, len(graph), depth)
    return Reach(graph.ids[nodes], dist)


def neighbourhood(
    graph: ImpactGraph, ci_id: int, depth: int = 1, direction: Direction = "both"
) -> Reach:
    """The CI and the CIs within ``depth`` impact edges of it.

    ``upstream`` follows edges backwards (what can impact it), ``downstream``
    forwards (what it impacts), ``both`` is the union (distance: the shorter).
    The CI itself comes first, at distance 0.
    """
    if direction not in ("upstream", "downstream", "both"):
        raise ValueError(f"direction must be upstream, downstream or both, not {direction!r}")
    parts: list[Reach] = [Reach(np.array([ci_id], dtype=np.int64), np.zeros(1, dtype=np.int64))]
    if direction in ("upstream", "both"):
        parts.append(dependencies(graph, ci_id, depth))
    if direction in ("downstream", "both"):
        parts.append(dependents(graph, ci_id, depth))
    ids = np.concatenate([p.ids for p in parts])
    dist = np.concatenate([p.distances for p in parts])
    order = np.lexsort((ids, dist))
    ids, dist = ids[order], dist[order]
    _, first = unique_first(ids)
    first.sort()
    return Reach(ids[first], dist[first])


def shortest_path(graph: ImpactGraph, source: int, target: int) -> list[int]:
    """One shortest impact path from ``source`` to ``target`` (CI ids), or [] if none.

    Among equally short paths the one through the smallest ids at each step
    is chosen, so the answer is stable. A CI's path to itself is ``[ci]``.
    """
    if source == target:
        return [source]
    ends = graph.index([source, target])
    if ends[0] < 0 or ends[1] < 0:
        return []
    goal = int(ends[1])
    n = len(graph)
    parent_of = np.full(n, -1, dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    seen[ends[0]] = True
    frontier = ends[:1]
    while frontier.size and not seen[goal]:
        reached, owner = gather(graph.out_ptr, graph.out_idx, frontier)
        new = ~seen[reached]
        reached, first = unique_first(reached[new])
        seen[reached] = True
        parent_of[reached] = owner[new][first]
        frontier = reached
    if not seen[goal]:
        return []
    path = [goal]
    while int(parent_of[path[-1]]) >= 0:
        path.append(int(parent_of[path[-1]]))
    return [int(graph.ids[i]) for i in reversed(path)]


# -- single points of failure --------------------------------------------------
def single_points_of_failure(
    graph: ImpactGraph, ci_id: int, progress: Progress | None = None
) -> list[int]:
    """Every CI c ≠ ``ci_id`` whose failure alone (S = {c}) leaves ``ci_id`` down.

    Ascending ids. Only CIs with an impact path to ``ci_id`` (its ancestors A)
    can qualify, and states inside A ∪ {ci_id} depend only on A (A holds every
    predecessor of its members), so the work stays inside A. Three facts
    keep it fast on services with thousands of dependencies:

    1. *Sure failures.* A CI whose down threshold is ≤ 1 goes down as soon as
       one predecessor is down. Walking back from ``ci_id`` through such CIs
       finds every c with a path to ``ci_id`` made only of them: each is a
       single point of failure without any simulation (with no redundancy
       rule in the way, that is all of A).
    2. *Monotonicity.* If c's failure takes d down, then S = {c} ends in the
       same states as S = {c, d}, which are at least those of S = {d}. So d a
       single point of failure ⇒ c is one, and c not one ⇒ no CI that c
       takes down is one.
    3. *Early stop.* A simulated failure stops as soon as it takes down
       ``ci_id`` or a CI already known to be a single point of failure.

    The remaining candidates are simulated farthest first, so one failure
    high up (a site, a core network) that ``ci_id`` survives rules out
    everything it takes down.
    """
    progress = progress or Progress()
    start = graph.index([ci_id])
    if start[0] < 0:
        return []
    x = int(start[0])
    thresholds = graph.thresholds
    if int(thresholds[x]) >= NEVER:
        return []
    nodes, dist = _bfs(graph.in_ptr, graph.in_idx, start, len(graph))
    if nodes.size == 0:
        return []
    members = np.concatenate([[x], nodes])
    local = {int(g): i for i, g in enumerate(members.tolist())}
    m = members.size
    # successors inside A ∪ {x} only: nothing outside can feed back into A.
    succ: list[list[int]] = []
    for g in members.tolist():
        outs = graph.out_idx[graph.out_ptr[g] : graph.out_ptr[g + 1]].tolist()
        succ.append([local[o] for o in outs if o in local])
    thr = thresholds[members].tolist()
    needs_reach = any(t <= 0 for t in thr[1:]) or thr[0] <= 0

    # 1. sure failures: paths to x through threshold-≤1 CIs only.
    known: dict[int, bool] = {}
    if thr[0] <= 1:
        preds: list[list[int]] = [[] for _ in range(m)]
        for u in range(m):
            for v in succ[u]:
                preds[v].append(u)
        stack = [0]
        passed = {0}
        while stack:
            v = stack.pop()
            for u in preds[v]:
                if u == 0:
                    continue
                known[u] = True
                if thr[u] <= 1 and u not in passed:
                    passed.add(u)
                    stack.append(u)

    # 2./3. simulate the rest, farthest from x first.
    order = [local[g] for g in nodes[np.argsort(-dist, kind="stable")].tolist()]
    done = 0
    for c in order:
        done += 1
        if c in known:
            continue
        progress.step(done, len(order))
        took_down, fell = _fails_alone(c, succ, thr, known, needs_reach)
        known[c] = fell
        if not fell:
            for d in took_down:
                known.setdefault(d, False)
    return sorted(int(graph.ids[members[i]]) for i, yes in known.items() if yes and i != 0)


def _fails_alone(
    c: int, succ: list[list[int]], thr: list[int], known: dict[int, bool], needs_reach: bool
) -> tuple[list[int], bool]:
    """Push the failure of local node ``c`` forward; (CIs it took down, whether node 0 fell).

    Stops early (with a partial list) once node 0 or a known single point of
    failure goes down.
    """
    down = {c}
    wave = [c]
    if needs_reach:
        # A CI whose rule asks for more than it has is down once impacted at all.
        seen = {c}
        queue = [c]
        for u in queue:
            for v in succ[u]:
                if v not in seen:
                    seen.add(v)
                    queue.append(v)
                    if thr[v] <= 0:
                        if v == 0 or known.get(v):
                            return [], True
                        down.add(v)
                        wave.append(v)
    count: dict[int, int] = {}
    while wave:
        u = wave.pop()
        for v in succ[u]:
            if v in down:
                continue
            k = count.get(v, 0) + 1
            count[v] = k
            if k >= thr[v]:
                if v == 0 or known.get(v):
                    return [], True
                down.add(v)
                wave.append(v)
    down.discard(c)
    return list(down), False


# -- cycles ---------------------------------------------------------------------
def cycle_groups(graph: ImpactGraph) -> list[list[int]]:
    """Groups of CIs that impact one another (strongly connected, two or more CIs).

    Every CI of a group lies on an impact cycle with every other. Groups are
    sorted by their smallest id; ids ascend within a group. CIs with no
    predecessor or no successor left are peeled off first (in bulk, on
    arrays), so the search only walks what can still hold a cycle.
    """
    n = len(graph)
    alive = np.ones(n, dtype=bool)
    indeg = np.diff(graph.in_ptr).astype(np.int64)
    outdeg = np.diff(graph.out_ptr).astype(np.int64)
    dead = np.flatnonzero((indeg == 0) | (outdeg == 0))
    while dead.size:
        alive[dead] = False
        succ, _ = gather(graph.out_ptr, graph.out_idx, dead)
        pred, _ = gather(graph.in_ptr, graph.in_idx, dead)
        np.subtract.at(indeg, succ, 1)
        np.subtract.at(outdeg, pred, 1)
        touched = unique_sorted(np.concatenate([succ, pred]))
        touched = touched[alive[touched]]
        dead = touched[(indeg[touched] <= 0) | (outdeg[touched] <= 0)]
    rest = np.flatnonzero(alive)
    if rest.size == 0:
        return []
    adjacency: dict[int, list[int]] = {}
    for u in rest.tolist():
        outs = graph.out_idx[graph.out_ptr[u] : graph.out_ptr[u + 1]]
        adjacency[u] = outs[alive[outs]].tolist()
    groups = [c for c in _strong_components(adjacency) if len(c) > 1]
    out = [sorted(int(graph.ids[i]) for i in c) for c in groups]
    out.sort()
    return out


def _strong_components(adjacency: Mapping[int, list[int]]) -> list[list[int]]:
    """Tarjan's algorithm without recursion (deep chains must not hit Python's stack limit)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in adjacency:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            targets = adjacency.get(v, [])
            recurse = False
            while i < len(targets):
                w = targets[i]
                i += 1
                if w not in index:
                    work.append((v, i))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                out.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def example_cycle(graph: ImpactGraph, group: Iterable[int]) -> list[int]:
    """One shortest impact cycle through the smallest CI of ``group`` (first CI repeated last).

    >>> g = ImpactGraph.from_edges([(1, 2), (2, 3), (3, 1), (2, 1)])
    >>> example_cycle(g, [1, 2, 3])
    [1, 2, 1]
    """
    members = sorted(set(group))
    if not members:
        return []
    start = members[0]
    inside = set(members)
    best: list[int] = []
    for nxt in graph.successors(start):
        if nxt not in inside:
            continue
        back = _path_within(graph, nxt, start, inside)
        if back and (not best or len(back) + 1 < len(best)):
            best = [start, *back]
    return best


def _path_within(graph: ImpactGraph, source: int, target: int, inside: set[int]) -> list[int]:
    parent: dict[int, int | None] = {source: None}
    queue = [source]
    for u in queue:
        if u == target:
            break
        for v in graph.successors(u):
            if v in inside and v not in parent:
                parent[v] = u
                queue.append(v)
    if target not in parent:
        return []
    path = [target]
    while (p := parent[path[-1]]) is not None:
        path.append(p)
    path.reverse()
    return path
