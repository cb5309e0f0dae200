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
down/degraded split needs the fixpoint. Each impacted CI gets one path from
a member of S that explains its state, and its distance is that path's
length: for a degraded CI the shortest through impacted CIs, for a down CI
the shortest through down CIs only (with a fallback for CIs that a rule
asking for more predecessors than they have takes down; see
:func:`blast_radius`).

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

A server on a cluster of two VMs (``min up 1``) and on a database on the
first VM alone: losing that VM's host leaves the cluster degraded and the
database down, so the server is down. Its path runs through the database,
never through the degraded cluster, even though the cluster comes first:

>>> HOST, VM1, VM2, CLUSTER, DB, APP = 1, 2, 3, 4, 5, 6
>>> g = ImpactGraph.from_edges(
...     [(HOST, VM1), (VM1, CLUSTER), (VM2, CLUSTER), (VM1, DB), (CLUSTER, APP), (DB, APP)],
...     rules={CLUSTER: (1, None)})
>>> r = blast_radius(g, [HOST])
>>> r.state(CLUSTER), r.state(DB), r.state(APP), r.path(APP)
('degraded', 'down', 'down', [1, 2, 5, 6])

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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from cmdb_desktop.graph import (
    NEVER,
    ImpactGraph,
    Int32Array,
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
#: Which shortest-path tree explains an impacted CI (see :func:`blast_radius`).
_THROUGH_IMPACTED = 0
_THROUGH_DOWN = 1
_THROUGH_CAUSES = 2


@dataclass(frozen=True)
class BlastRadius:
    """The impact of one change set.

    ``ids`` are the impacted CIs (every CI outside the change set whose
    state is not ok), by distance, then by id. ``distances``, ``down`` and
    ``parents`` run parallel to it. Each impacted CI has one path that
    explains its state (see :func:`blast_radius`); its distance is that
    path's length in impact edges and its parent the CI before it on that
    path (a member of the change set or another impacted CI). ``changed``
    is the change set as given (ids repeated once), including CIs that
    impact nothing (isolated or Retired).
    """

    graph: ImpactGraph
    changed: tuple[int, ...]
    ids: IntArray
    distances: IntArray
    down: np.ndarray[Any, np.dtype[np.bool_]]
    parents: IntArray
    _nodes: IntArray = field(repr=False)
    #: Parent pointers of the shortest-path trees, one row per kind of path.
    _trees: Int32Array = field(repr=False)
    #: Row of ``_trees`` each impacted CI's path is walked in (parallel to ``ids``).
    _tree: np.ndarray[Any, np.dtype[np.int8]] = field(repr=False)
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
        """Length of the path that explains the CI's state (0 for members of the change
        set, None if not impacted)."""
        if ci_id in self.changed:
            return 0
        pos = self._pos(ci_id)
        return None if pos is None else int(self.distances[pos])

    def path(self, ci_id: int) -> list[int]:
        """The path that explains the CI's state: from a member of the change set to ``ci_id``."""
        if ci_id in self.changed:
            return [ci_id]
        pos = self._pos(ci_id)
        if pos is None:
            return []
        out = [ci_id]
        parent_of = self._trees[int(self._tree[pos])]
        node = int(self._nodes[pos])
        while (node := int(parent_of[node])) >= 0:
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
        given (it must name every CI of :meth:`on_paths`). All paths are built
        at once, one vectorised step per level.
        """
        if mask is not None and mask.all():
            mask = None  # everything: the same, without copies, and labels are quicker
        dist = self.distances if mask is None else self.distances[mask]
        steps = self._steps(mask)
        if steps is None:
            ids = self.ids if mask is None else self.ids[mask]
            walked = [self.path(int(i)) for i in ids.tolist()]
            if labels is None:
                return walked
            return [[labels[i] for i in p] for p in walked]
        if steps.size == 0:
            return []
        present = steps >= 0
        if labels is None:
            cells: np.ndarray[Any, Any] = np.where(
                present, self.graph.ids[np.maximum(steps, 0)], -1
            )
        else:
            if mask is None:  # every impacted CI is on its own path, and nothing else is
                changed = self.graph.index(self.changed)
                used = np.concatenate([self._nodes, changed[changed >= 0]])
            else:
                used = unique_sorted(steps[present])
            table = np.empty(len(self.graph), dtype=object)
            table[used] = [labels[i] for i in self.graph.ids[used].tolist()]
            cells = table[np.maximum(steps, 0)]
        rows = cells.tolist()
        deepest = steps.shape[1] - 1
        return [row[deepest - d :] for row, d in zip(rows, dist.tolist(), strict=True)]

    def on_paths(self, mask: np.ndarray[Any, np.dtype[np.bool_]] | None = None) -> IntArray:
        """Every CI on the paths of ``ids`` (or of ``ids[mask]``), ascending ids.

        A path may pass a CI that is farther away along its own path (a
        degraded CI's shortest way in may pass a down CI whose path through
        down CIs is longer), so ``--depth`` may leave out CIs its paths show.
        """
        steps = self._steps(mask)
        if steps is None:
            ids = self.ids if mask is None else self.ids[mask]
            on = {c for i in ids.tolist() for c in self.path(int(i))}
            return np.array(sorted(on), dtype=np.int64)
        return self.graph.ids[unique_sorted(steps[steps >= 0])]

    def _steps(self, mask: np.ndarray[Any, np.dtype[np.bool_]] | None) -> IntArray | None:
        """The paths of ``ids`` (or ``ids[mask]``) as a matrix of node indexes, one row
        each, right-aligned and padded with -1 on the left; None if it would be too big."""
        nodes = self._nodes if mask is None else self._nodes[mask]
        tree = self._tree if mask is None else self._tree[mask]
        if nodes.size == 0:
            return np.zeros((0, 1), dtype=np.int64)
        deepest = int((self.distances if mask is None else self.distances[mask]).max())
        if nodes.size * (deepest + 1) > _PATH_MATRIX_CELLS:
            return None
        # All trees in one flat array: row t of node i is at t·n + i.
        flat = self._trees.reshape(-1)
        offset = tree.astype(np.int64) * self._trees.shape[1]
        steps = np.empty((nodes.size, deepest + 1), dtype=np.int64)
        steps[:, deepest] = nodes
        current = nodes
        for column in range(deepest - 1, -1, -1):
            current = np.where(current >= 0, flat[offset + np.maximum(current, 0)], -1)
            steps[:, column] = current
        return steps


def blast_radius(
    graph: ImpactGraph, change_set: Iterable[int], progress: Progress | None = None
) -> BlastRadius:
    """The state, distance and explaining path of every CI the change set impacts.

    Three phases, each working a whole level at a time on arrays:

    1. *Reach.* The impacted CIs are exactly those reachable from the change
       set S: one breadth-first search from all members at once.
    2. *States.* The least fixpoint, reached by pushing "down" forward from
       S: a CI turns down when the number of its down predecessors reaches
       its down threshold (see :func:`cmdb_desktop.graph.down_thresholds`);
       a CI whose rule asks for more predecessors than it has is down as
       soon as it is impacted. Each CI turns down at most once, so this
       ends, cycles or not.
    3. *Explanations* (:func:`_explain_down`). A degraded CI's path is its
       shortest through impacted CIs (phase 1's search). A down CI's path is
       its shortest through down CIs only. A down CI without such a path owes
       its state to a rule that asks for more predecessors than its CI has;
       its path is the shortest through impacted CIs on which every down CI
       follows a down CI, except the CIs with such a rule, which may follow
       any impacted CI; when even that does not exist (such a CI is impacted
       only round a cycle through the very CI it takes down), the shortest
       through impacted CIs.

    A CI's distance is the length of its path. Among equally short paths of
    its kind, the one whose last step comes from the smallest CI id is
    taken, and so on back to the change set.
    """
    progress = progress or Progress()
    changed = tuple(dict.fromkeys(int(c) for c in change_set))
    index = graph.index(changed)
    sources = unique_sorted(index[index >= 0])
    n = len(graph)
    # Parent pointers, one row per kind of path. Only the entries of impacted CIs and
    # of the change set are ever read, so the rest is left unwritten (and unpaid for).
    trees = np.empty((2, n), dtype=np.int32)
    trees[:, sources] = -1
    dist, levels = _search(graph, sources, trees[_THROUGH_IMPACTED], progress)
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

    quickest = dist[nodes]
    distances = quickest
    tree = np.zeros(nodes.size, dtype=np.int8)
    is_down = down[nodes]
    if is_down.any():
        # The counts are spent: their array holds the distances through down CIs next.
        trees, tree, distances = _explain_down(
            graph, sources, nodes, quickest, is_down, levels, down, trees, down_preds, progress
        )
        moved = np.flatnonzero(distances != quickest)
        if moved.size:
            order = _slot_in(distances * n + nodes, moved)
            nodes, distances = nodes[order], distances[order]
            tree, is_down = tree[order], is_down[order]

    parent = trees[tree.astype(np.int64), nodes]
    return BlastRadius(
        graph=graph,
        changed=changed,
        ids=graph.ids[nodes],
        distances=distances,
        down=is_down,
        parents=graph.ids[parent] if nodes.size else np.zeros(0, dtype=np.int64),
        _nodes=nodes,
        _trees=trees,
        _tree=tree,
    )


def _slot_in(key: IntArray, moved: IntArray) -> IntArray:
    """The order that sorts ``key``, when only the positions ``moved`` are out of order."""
    moved = moved[np.argsort(key[moved])]
    stay = np.ones(key.size, dtype=bool)
    stay[moved] = False
    kept = np.flatnonzero(stay)
    return np.insert(kept, np.searchsorted(key[kept], key[moved]), moved)


def _explain_down(
    graph: ImpactGraph,
    sources: IntArray,
    nodes: IntArray,
    quickest: IntArray,
    is_down: npt.NDArray[np.bool_],
    levels: list[IntArray],
    down: npt.NDArray[np.bool_],
    trees: Int32Array,
    through_down: IntArray,
    progress: Progress,
) -> tuple[Int32Array, npt.NDArray[np.int8], IntArray]:
    """The paths of the down CIs among ``nodes``: the impacted CIs, found by a search
    through impacted CIs at distances ``quickest``, level by level in ``levels``, its
    parents in row 0 of ``trees``; ``is_down`` says which are down, ``down`` (indexed
    by node) which of all CIs. Returns the trees (a third row when needed), which tree
    each CI's path is in, and its distance (see :func:`blast_radius`).

    ``through_down`` is scratch space, one entry per CI of the graph.
    """
    parent_of = trees[_THROUGH_DOWN]
    plain_parent = trees[_THROUGH_IMPACTED]
    through_down[nodes] = -1
    through_down[sources] = 0
    # Most down CIs are as near through down CIs as through any. Then the nearest
    # predecessors through down CIs are exactly the down ones one level up that are
    # that near themselves, and the search's parent (the smallest one level up) is the
    # smallest of them whenever it is one of them.
    for level, found in enumerate(levels, start=1):
        fallen = found[down[found]]
        near = plain_parent[fallen]
        ok = through_down[near] == level - 1
        through_down[fallen[ok]] = level
        parent_of[fallen[ok]] = near[ok]
    # The others: settle them nearest first, each from its smallest down predecessor
    # settled one step nearer (a breadth-first search, pulled). Only down predecessors
    # are kept, and their entries of ``through_down`` are all set.
    late = nodes[is_down & (through_down[nodes] < 0)]
    if late.size:
        preds, target = gather(graph.in_ptr, graph.in_idx, late)
        keep = down[preds]
        preds, target = preds[keep], target[keep]
        level, top = 1, len(levels)  # top: the farthest settled so far
        while preds.size and level <= top + 1:
            progress.check()
            ok = through_down[preds] == level - 1
            if ok.any():
                got, first = unique_first(target[ok])
                through_down[got] = level
                parent_of[got] = preds[ok][first]
                top = max(top, level)
                open_ = through_down[target] < 0
                preds, target = preds[open_], target[open_]
            level += 1

    distances = np.where(is_down, through_down[nodes], quickest)
    tree = is_down.astype(np.int8)  # _THROUGH_DOWN or _THROUGH_IMPACTED
    stranded = distances < 0
    if stranded.any():
        # Down only because of a rule that asks for more predecessors than its CI has.
        pushed = down & (graph.thresholds > 0)
        trees = np.vstack([trees, np.full((1, len(graph)), -1, dtype=np.int32)])
        causes, _ = _search(
            graph,
            sources,
            trees[_THROUGH_CAUSES],
            progress,
            admit=lambda u, v: down[u] | ~pushed[v],
        )
        explained = stranded & (causes[nodes] >= 0)
        tree[explained] = _THROUGH_CAUSES
        distances[explained] = causes[nodes][explained]
        rest = stranded & ~explained
        tree[rest] = _THROUGH_IMPACTED
        distances[rest] = quickest[rest]
    return trees, tree, distances


def _search(
    graph: ImpactGraph,
    sources: IntArray,
    parent_of: Int32Array,
    progress: Progress,
    admit: Callable[[IntArray, IntArray], npt.NDArray[np.bool_]] | None = None,
) -> tuple[IntArray, list[IntArray]]:
    """Breadth-first along impact edges from ``sources``, taking an edge u → v only
    where ``admit(u, v)`` holds: distances (-1: not reached) and the levels found, each
    ascending. Sets ``parent_of`` of each CI found to the smallest CI one level up with
    an edge to it."""
    dist = np.full(len(graph), -1, dtype=np.int64)
    dist[sources] = 0
    levels: list[IntArray] = []
    frontier = sources
    level = 0
    while frontier.size:
        progress.check()
        reached, owner = gather(graph.out_ptr, graph.out_idx, frontier)
        new = dist[reached] < 0
        if admit is not None:
            new &= admit(owner, reached)
        if not new.any():
            break
        found, first = unique_first(reached[new])
        level += 1
        dist[found] = level
        parent_of[found] = owner[new][first]
        levels.append(found)
        frontier = found
    return dist, levels


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
    sorted by their smallest id; ids ascend within a group. The components
    come from SciPy's ``connected_components`` (compiled code, straight on
    the graph's successor arrays): on the 1M-CI demo it takes a fifth of a
    second where a Tarjan written in Python took seconds once cycles abound.
    SciPy is imported here, on first use, not by every command that loads
    this module.
    """
    n = len(graph)
    if n == 0:
        return []
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import connected_components

    # 32-bit indexes: SciPy's graph routines work in them and would convert anyway.
    successors = csr_array(
        (
            np.ones(graph.edge_count, dtype=np.int8),
            graph.out_idx.astype(np.int32),
            graph.out_ptr.astype(np.int32),
        ),
        shape=(n, n),
    )
    _, labels = connected_components(successors, directed=True, connection="strong")
    members = np.flatnonzero(np.bincount(labels)[labels] > 1)
    if members.size == 0:
        return []
    members = members[np.lexsort((members, labels[members]))]
    cuts = np.flatnonzero(np.diff(labels[members])) + 1
    groups: list[list[int]] = [graph.ids[part].tolist() for part in np.split(members, cuts)]
    groups.sort()
    return groups


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
