"""Layered drawing of a dependency graph: layers, few crossings, tidy x positions.

Pure Python (no Qt): the graph view runs it in the worker and only draws the
result. The method is Sugiyama's:

1. **Cycles** are broken by reversing the back edges of a depth-first search
   (the drawing still shows them the right way round).
2. **Layers** by longest path from the top: a node with nothing above it is
   on layer 0, every other node one layer below the lowest node above it.
   Nodes that only hang *above* others (nothing points to them) are then
   pulled down to sit just above their highest child, unless they are
   ``pinned`` (the caller pins services so they stay on top).
3. Edges that span several layers get **dummy nodes**, one per crossed layer,
   so they bend around boxes and take part in the ordering.
4. **Ordering** within each layer: alternate downward and upward barycentre
   sweeps (each node moves to the mean position of its neighbours on the
   previous layer), keeping the order with the fewest crossings seen.
5. **x positions**: each layer in turn, nodes move towards the mean x of their
   neighbours, as close as their order and widths allow (an isotonic
   regression, exact for each layer), down and up a few times.

Input edges point *down*: ``(upper, lower)``, e.g. an application above the
virtual machine it runs on. Invariants of the :class:`Layout`: every node has a
position; within a layer nodes never overlap (at least ``node_gap`` apart);
every input edge has one route whose ``points`` run from its source's box to
its target's (bottom edge of the upper box, top edge of the lower one), with
one point on each layer in between.

>>> lay = layered_layout(["app", "vm", "db", "host"],
...                      [("app", "vm"), ("app", "db"), ("vm", "host"), ("db", "host")])
>>> [lay.layer[n] for n in ("app", "vm", "db", "host")]
[0, 1, 1, 2]
>>> lay.crossings
0
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

#: A node: anything hashable (the caller's keys come back in the layout).
K = TypeVar("K", bound=Hashable)

#: Default node box (width, height) in scene units.
NODE_SIZE = (200.0, 48.0)


@dataclass
class EdgeRoute(Generic[K]):
    """One input edge ``(source, target)`` as drawn: ``points`` lead from source to target.

    ``reversed`` edges were turned round to break a cycle: their source sits
    *below* their target, so the points climb. Our routes are drawn as
    vertical S-curves through the points; a ``spline`` route (Graphviz dot's)
    is a start point then three points per cubic Bézier segment (see
    :func:`route_polyline`).
    """

    source: K
    target: K
    points: list[tuple[float, float]]
    reversed: bool = False
    spline: bool = False


@dataclass
class Layout(Generic[K]):
    """Where everything goes (see the module docstring for the invariants)."""

    pos: dict[K, tuple[float, float]]
    layer: dict[K, int]
    edges: list[EdgeRoute[K]]
    crossings: int
    width: float
    height: float
    order: list[list[K]] = field(default_factory=list)


class _Dummy:
    """A bend point of a long edge (one per layer it crosses)."""

    __slots__ = ("edge", "step")

    def __init__(self, edge: int, step: int) -> None:
        self.edge = edge
        self.step = step

    def __repr__(self) -> str:
        return f"<dummy {self.edge}.{self.step}>"


def break_cycles(nodes: Sequence[K], edges: Iterable[tuple[K, K]]) -> set[tuple[K, K]]:
    """The edges to reverse so that the graph has no cycle (back edges of a DFS).

    >>> sorted(break_cycles(["a", "b"], [("a", "b"), ("b", "a")]))
    [('b', 'a')]
    """
    succ: dict[K, list[K]] = defaultdict(list)
    for u, v in edges:
        if u != v:
            succ[u].append(v)
    state: dict[K, int] = {}  # 1 on the stack, 2 done
    back: set[tuple[K, K]] = set()
    for root in nodes:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[K, Iterable[K]]] = [(root, iter(succ.get(root, ())))]
        while stack:
            node, it = stack[-1]
            for nxt in it:
                seen = state.get(nxt)
                if seen is None:
                    state[nxt] = 1
                    stack.append((nxt, iter(succ.get(nxt, ()))))
                    break
                if seen == 1:
                    back.add((node, nxt))
            else:
                state[node] = 2
                stack.pop()
    return back


def assign_layers(
    nodes: Sequence[K], edges: Sequence[tuple[K, K]], pinned: Iterable[K] = ()
) -> dict[K, int]:
    """Longest-path layers of an acyclic graph (edges point down), top nodes pulled down
    next to their children unless pinned (see the module docstring)."""
    pinned = set(pinned)
    preds: dict[K, list[K]] = defaultdict(list)
    succs: dict[K, list[K]] = defaultdict(list)
    indeg: dict[K, int] = dict.fromkeys(nodes, 0)
    for u, v in edges:
        preds[v].append(u)
        succs[u].append(v)
        indeg[v] += 1
    layer: dict[K, int] = {}
    ready = [n for n in nodes if indeg[n] == 0]
    while ready:
        node = ready.pop()
        layer[node] = max((layer[p] + 1 for p in preds[node]), default=0)
        for nxt in succs[node]:
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                ready.append(nxt)
    if len(layer) != len(indeg):
        raise ValueError("assign_layers needs an acyclic graph (see break_cycles)")
    for node in nodes:
        if not preds[node] and succs[node] and node not in pinned:
            layer[node] = min(layer[c] for c in succs[node]) - 1
    return layer


def count_crossings(
    upper: Sequence[Any], lower: Sequence[Any], edges: Iterable[tuple[Any, Any]]
) -> int:
    """Crossings between two adjacent layers (orders ``upper`` and ``lower``).

    >>> count_crossings(["a", "b"], ["x", "y"], [("a", "y"), ("b", "x")])
    1
    """
    up = {n: i for i, n in enumerate(upper)}
    low = {n: i for i, n in enumerate(lower)}
    pairs = sorted((up[u], low[v]) for u, v in edges if u in up and v in low)
    # Inversions of the lower positions, counted with a sorted list (small layers).
    seen: list[int] = []
    crossings = 0
    for _, p in pairs:
        k = bisect_right(seen, p)
        crossings += len(seen) - k
        seen.insert(k, p)
    return crossings


def _pair_crossings(first: list[int], second: list[int]) -> int:
    """Crossings between the edges of two neighbours in a layer, ``first`` left of
    ``second``, given their other ends' positions (edges above and below are kept
    apart by an offset, so they never count against each other)."""
    return sum(1 for p in first for q in second if p > q and (p >= 1_000_000) == (q >= 1_000_000))


def _isotonic(desired: list[float], gaps: list[float]) -> list[float]:
    """Positions closest (least squares) to ``desired`` keeping ``x[i+1] - x[i] >= gaps[i]``.

    Shifting by the cumulative gaps turns the constraint into "non-decreasing",
    which pool-adjacent-violators solves exactly.
    """
    offsets = [0.0]
    for g in gaps:
        offsets.append(offsets[-1] + g)
    target = [d - o for d, o in zip(desired, offsets, strict=True)]
    blocks: list[list[float]] = []  # [mean, weight, count]
    for t in target:
        blocks.append([t, 1.0, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            w = w1 + w2
            blocks.append([(m1 * w1 + m2 * w2) / w, w, int(c1 + c2)])
    out: list[float] = []
    for mean, _w, count in blocks:
        out.extend([mean] * int(count))
    return [y + o for y, o in zip(out, offsets, strict=True)]


def layered_layout(
    nodes: Sequence[K],
    edges: Sequence[tuple[K, K]],
    sizes: Mapping[K, tuple[float, float]] | None = None,
    *,
    pinned: Iterable[K] = (),
    order_key: Callable[[K], Any] | None = None,
    sweeps: int = 12,
    node_gap: float = 28.0,
    layer_gap: float = 90.0,
    check: Callable[[], None] | None = None,
) -> Layout[K]:
    """Lay out ``nodes`` with ``edges`` pointing down (see the module docstring).

    ``sizes`` gives (width, height) per node (default :data:`NODE_SIZE`);
    ``order_key`` the initial order within a layer (e.g. class then name, so
    siblings of a class sit together); ``check`` is called now and then and
    may raise to cancel.
    """
    check = check or (lambda: None)
    sizes = sizes or {}
    node_list = list(dict.fromkeys(nodes))
    known = set(node_list)
    clean = [(u, v) for u, v in dict.fromkeys(edges) if u in known and v in known and u != v]
    back = break_cycles(node_list, clean)
    dag = [(v, u) if (u, v) in back else (u, v) for u, v in clean]
    dag = list(dict.fromkeys(dag))
    layer = assign_layers(node_list, dag, pinned)
    if layer:
        low = min(layer.values())
        layer = {n: k - low for n, k in layer.items()}
    check()

    # -- dummy nodes for long edges ---------------------------------------------
    chains: list[list[Any]] = []
    n_layers = max(layer.values(), default=-1) + 1
    layers: list[list[Any]] = [[] for _ in range(n_layers)]
    rank = order_key or (lambda n: str(n))
    for node in sorted(node_list, key=rank):
        layers[layer[node]].append(node)
    lay_of: dict[Any, int] = dict(layer)
    down: dict[Any, list[Any]] = defaultdict(list)
    up: dict[Any, list[Any]] = defaultdict(list)
    for e, (u, v) in enumerate(dag):
        chain: list[Any] = [u]
        for step, k in enumerate(range(layer[u] + 1, layer[v])):
            d = _Dummy(e, step)
            lay_of[d] = k
            layers[k].append(d)
            chain.append(d)
        chain.append(v)
        chains.append(chain)
        for a, b in zip(chain, chain[1:], strict=False):
            down[a].append(b)
            up[b].append(a)
    check()

    # -- ordering -------------------------------------------------------------
    # Start from depth-first discovery order (roots and children by order_key):
    # a tree comes out crossing-free, and siblings start out side by side.
    discovered: dict[Any, int] = {}
    for root in sorted(node_list, key=lambda n: (layer[n], rank(n))):
        if root in discovered:
            continue
        stack = [root]
        while stack:
            node = stack.pop()
            if node in discovered:
                continue
            discovered[node] = len(discovered)
            kids = [c for c in down[node] if c not in discovered]
            kids.sort(
                key=lambda c: rank(c) if not isinstance(c, _Dummy) else rank(chains[c.edge][-1])
            )
            stack.extend(reversed(kids))
    for lyr in layers:
        lyr.sort(key=discovered.__getitem__)

    def total_crossings(order: list[list[Any]]) -> int:
        return sum(
            count_crossings(order[k], order[k + 1], ((a, b) for a in order[k] for b in down[a]))
            for k in range(len(order) - 1)
        )

    def sweep(order: list[list[Any]], downward: bool) -> None:
        rng = range(1, len(order)) if downward else range(len(order) - 2, -1, -1)
        for k in rng:
            ref = order[k - 1] if downward else order[k + 1]
            # positions as fractions of the layer's length, so that a node with no
            # neighbour there keeps its own place on the same scale (with plain
            # indices, a 140-box layer over a 40-box one sent those nodes to the
            # left end: 1,089 crossings on a site's neighbourhood, now ~640)
            where = {n: (i + 0.5) / len(ref) for i, n in enumerate(ref)}
            nbrs = up if downward else down
            keyed = []
            size = len(order[k])
            for i, n in enumerate(order[k]):
                ps = [where[p] for p in nbrs[n] if p in where]
                keyed.append((sum(ps) / len(ps) if ps else (i + 0.5) / size, i, n))
            keyed.sort(key=lambda t: (t[0], t[1]))
            order[k] = [n for _, _, n in keyed]

    def transpose(order: list[list[Any]]) -> None:
        """Swap neighbours within a layer while that removes crossings (local repair,
        until nothing improves or 20 passes)."""
        for _ in range(20):
            improved = False
            for k, lyr in enumerate(order):
                above = {n: i for i, n in enumerate(order[k - 1])} if k else {}
                below = {n: i for i, n in enumerate(order[k + 1])} if k + 1 < len(order) else {}
                for i in range(len(lyr) - 1):
                    a, b = lyr[i], lyr[i + 1]
                    pa = [above[p] for p in up[a]] + [below[q] + 1_000_000 for q in down[a]]
                    pb = [above[p] for p in up[b]] + [below[q] + 1_000_000 for q in down[b]]
                    if not pa or not pb:
                        continue
                    here = _pair_crossings(pa, pb)
                    swapped = _pair_crossings(pb, pa)
                    if swapped < here:
                        lyr[i], lyr[i + 1] = b, a
                        improved = True
            if not improved:
                return

    order = [list(lyr) for lyr in layers]
    best = [list(lyr) for lyr in order]
    best_crossings = total_crossings(order)
    for i in range(sweeps):
        if best_crossings == 0:
            break
        check()
        sweep(order, downward=i % 2 == 0)
        transpose(order)
        c = total_crossings(order)
        if c < best_crossings:
            best_crossings = c
            best = [list(lyr) for lyr in order]
    order = best

    # -- coordinates --------------------------------------------------------
    def width(n: Any) -> float:
        return 0.0 if isinstance(n, _Dummy) else sizes.get(n, NODE_SIZE)[0]

    def height(n: Any) -> float:
        return 0.0 if isinstance(n, _Dummy) else sizes.get(n, NODE_SIZE)[1]

    def gap(a: Any, b: Any) -> float:
        spacing = node_gap if not (isinstance(a, _Dummy) or isinstance(b, _Dummy)) else 10.0
        return (width(a) + width(b)) / 2 + spacing

    x: dict[Any, float] = {}
    for lyr in order:
        cursor = 0.0
        for i, n in enumerate(lyr):
            if i:
                cursor += gap(lyr[i - 1], n)
            x[n] = cursor
    widest = max((x[lyr[-1]] for lyr in order if lyr), default=0.0)
    for lyr in order:  # centre each layer under the widest one to start with
        if lyr:
            shift = (widest - x[lyr[-1]]) / 2
            for n in lyr:
                x[n] += shift
    for i in range(8):
        check()
        downward = i % 2 == 0
        rng = range(1, len(order)) if downward else range(len(order) - 2, -1, -1)
        for k in rng:
            lyr = order[k]
            nbrs = up if downward else down
            desired = []
            for n in lyr:
                ps = [x[p] for p in nbrs[n]]
                desired.append(sum(ps) / len(ps) if ps else x[n])
            placed = _isotonic(desired, [gap(a, b) for a, b in zip(lyr, lyr[1:], strict=False)])
            for n, value in zip(lyr, placed, strict=True):
                x[n] = value
    left = min((x[n] - width(n) / 2 for lyr in order for n in lyr), default=0.0)
    for n in x:
        x[n] -= left

    row_height = [max((height(n) for n in lyr), default=0.0) for lyr in order]
    y_top: list[float] = []
    cursor = 0.0
    for h in row_height:
        y_top.append(cursor)
        cursor += h + layer_gap
    centre_y = [t + h / 2 for t, h in zip(y_top, row_height, strict=True)]

    pos = {n: (x[n], centre_y[layer[n]]) for n in node_list}
    drawn: dict[tuple[Any, Any], list[tuple[float, float]]] = {}
    for (u, v), chain in zip(dag, chains, strict=True):
        pts = [(x[u], centre_y[layer[u]] + height(u) / 2)]
        pts += [(x[d], centre_y[lay_of[d]]) for d in chain[1:-1]]
        pts.append((x[v], centre_y[layer[v]] - height(v) / 2))
        drawn[(u, v)] = pts
    routes: list[EdgeRoute[K]] = []
    for u, v in clean:
        if (u, v) in back:
            routes.append(EdgeRoute(u, v, drawn[(v, u)][::-1], reversed=True))
        else:
            routes.append(EdgeRoute(u, v, list(drawn[(u, v)])))
    total_width = max((x[n] + width(n) / 2 for n in x), default=0.0)
    total_height = cursor - layer_gap if order else 0.0
    return Layout(
        pos=pos,
        layer=layer,
        edges=routes,
        crossings=best_crossings,
        width=total_width,
        height=max(total_height, 0.0),
        order=[[n for n in lyr if not isinstance(n, _Dummy)] for lyr in order],
    )


# -- aggregation ---------------------------------------------------------------------

#: Beyond this many boxes a drawing aggregates (see :func:`aggregate_by_layer`).
AGGREGATE_OVER = 60
#: A (layer, kind) bucket needs this many boxes to become one aggregate.
AGGREGATE_MIN = 3


@dataclass(frozen=True)
class Aggregate(Generic[K]):
    """Boxes of one ``kind`` (a class) on one ``layer`` of the drawing, drawn as one.

    ``members`` are the caller's node keys, in the order they were given.
    """

    key: str
    layer: int
    kind: str
    members: tuple[K, ...]


def aggregate_key(layer: int, kind: str) -> str:
    return f"agg:{layer}:{kind}"


def aggregate_by_layer(
    nodes: Sequence[K],
    edges: Sequence[tuple[K, K]],
    kind: Callable[[K], str],
    *,
    over: int = AGGREGATE_OVER,
    keep: Iterable[K] = (),
    expanded: Iterable[str] = (),
    pinned: Iterable[K] = (),
    min_size: int = AGGREGATE_MIN,
) -> list[Aggregate[K]]:
    """The aggregates of a drawing of more than ``over`` nodes (edges point down).

    Nodes are put on the layers :func:`layered_layout` would give them; every
    (layer, kind) bucket of at least ``min_size`` nodes outside ``keep`` becomes
    one :class:`Aggregate`, unless its key is in ``expanded`` (the user opened
    it). Every bucket is aggregated at once, so opening one never closes
    another. A drawing of ``over`` nodes or fewer has no aggregates.

    >>> nodes = ["host"] + [f"vm{i}" for i in range(5)]
    >>> edges = [(f"vm{i}", "host") for i in range(5)]
    >>> kinds = {"host": "Server"} | {f"vm{i}": "Virtual Machine" for i in range(5)}
    >>> [(a.key, len(a.members)) for a in aggregate_by_layer(nodes, edges, kinds.get, over=4)]
    [('agg:0:Virtual Machine', 5)]
    >>> aggregate_by_layer(nodes, edges, kinds.get, over=6)
    []
    """
    node_list = list(dict.fromkeys(nodes))
    if len(node_list) <= over:
        return []
    keep = set(keep)
    opened = set(expanded)
    known = set(node_list)
    clean = [(u, v) for u, v in dict.fromkeys(edges) if u in known and v in known and u != v]
    back = break_cycles(node_list, clean)
    dag = list(dict.fromkeys((v, u) if (u, v) in back else (u, v) for u, v in clean))
    layer = assign_layers(node_list, dag, pinned)
    low = min(layer.values(), default=0)
    buckets: dict[tuple[int, str], list[K]] = defaultdict(list)
    for node in node_list:
        if node not in keep:
            buckets[(layer[node] - low, kind(node))].append(node)
    out = []
    for (lyr, k), members in sorted(buckets.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        key = aggregate_key(lyr, k)
        if len(members) >= min_size and key not in opened:
            out.append(Aggregate(key, lyr, k, tuple(members)))
    return out


def merge_edges(
    edges: Iterable[tuple[K, K]], representative: Mapping[K, K]
) -> dict[tuple[K, K], list[tuple[K, K]]]:
    """Edges between representatives (a node stands for itself unless mapped), each
    with the input edges it stands for; edges inside one representative vanish.

    >>> merged = merge_edges([("a", "x"), ("b", "x"), ("a", "b")], {"a": "A", "b": "A"})
    >>> {k: len(v) for k, v in merged.items()}
    {('A', 'x'): 2}
    """
    out: dict[tuple[K, K], list[tuple[K, K]]] = {}
    for u, v in edges:
        a, b = representative.get(u, u), representative.get(v, v)
        if a != b:
            out.setdefault((a, b), []).append((u, v))
    return out


# -- measuring a drawing -----------------------------------------------------------------

Point = tuple[float, float]


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether two segments cross properly (touching at an end or overlapping is not
    a crossing).

    >>> segments_cross((0, 0), (2, 2), (0, 2), (2, 0))
    True
    >>> segments_cross((0, 0), (1, 1), (1, 1), (2, 0))
    False
    """
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def route_polyline(points: Sequence[Point], spline: bool = False, steps: int = 8) -> list[Point]:
    """The line a route is drawn as, sampled into ``steps`` pieces per curve: our
    S-curves (vertical tangents at each point) or a Bézier ``spline``.

    >>> route_polyline([(0, 0), (0, 10)], steps=2)
    [(0, 0), (0.0, 5.0), (0.0, 10.0)]
    """

    def cubic(p0: Point, p1: Point, p2: Point, p3: Point) -> list[Point]:
        out = []
        for k in range(1, steps + 1):
            t = k / steps
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
            out.append(
                (
                    a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                    a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
                )
            )
        return out

    if not points:
        return []
    line = [points[0]]
    if spline:
        for i in range(0, len(points) - 3, 3):
            line += cubic(points[i], points[i + 1], points[i + 2], points[i + 3])
        return line
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        dy = (y1 - y0) / 2
        line += cubic((x0, y0), (x0, y0 + dy), (x1, y1 - dy), (x1, y1))
    return line


def drawing_crossings(
    routes: Sequence[tuple[Hashable, Hashable, Sequence[Point]]],
) -> int:
    """Crossings in a drawing: pairs of segments of two edges that cross, each edge a
    ``(source, target, polyline)``. Edges sharing an end node are not compared
    (they meet at that node by design), so the figure is the same for any
    layout program whose polylines are given (ours, Graphviz ``dot``'s splines
    taken through their control points).

    >>> drawing_crossings([("a", "x", [(0, 0), (2, 2)]), ("b", "y", [(2, 0), (0, 2)])])
    1
    >>> drawing_crossings([("a", "x", [(0, 0), (0, 2)]), ("b", "y", [(2, 0), (2, 2)])])
    0
    """
    # (y low, y high, x low, x high, edge, a, b), swept down the drawing: layered
    # lines are short in y (one layer gap, sampled), so few pairs overlap
    segs: list[tuple[float, float, float, float, int, Point, Point]] = []
    ends: list[tuple[Hashable, Hashable]] = []
    for i, (u, v, pts) in enumerate(routes):
        ends.append((u, v))
        for a, b in zip(pts, pts[1:], strict=False):
            segs.append(
                (
                    min(a[1], b[1]),
                    max(a[1], b[1]),
                    min(a[0], b[0]),
                    max(a[0], b[0]),
                    i,
                    a,
                    b,
                )
            )
    segs.sort(key=lambda s: s[0])
    crossings = 0
    count = len(segs)
    for n in range(count):
        _ylo, yhi, xlo, xhi, i, a, b = segs[n]
        ui, vi = ends[i]
        k = n + 1
        while k < count:
            ylo2, _yhi2, xlo2, xhi2, j, c, d = segs[k]
            k += 1
            if ylo2 > yhi:
                break
            if xlo2 > xhi or xhi2 < xlo or j == i:
                continue
            uj, vj = ends[j]
            if uj == ui or uj == vi or vj == ui or vj == vi:
                continue
            if segments_cross(a, b, c, d):
                crossings += 1
    return crossings


def drawing_area(pos: Mapping[Any, Point], sizes: Mapping[Any, tuple[float, float]]) -> float:
    """Area of the bounding box of the boxes centred at ``pos`` (scene units²).

    >>> drawing_area({"a": (50, 20), "b": (250, 120)}, {"a": (100, 40), "b": (100, 40)})
    42000.0
    """
    if not pos:
        return 0.0
    xs0 = [x - sizes[k][0] / 2 for k, (x, y) in pos.items()]
    xs1 = [x + sizes[k][0] / 2 for k, (x, y) in pos.items()]
    ys0 = [y - sizes[k][1] / 2 for k, (x, y) in pos.items()]
    ys1 = [y + sizes[k][1] / 2 for k, (x, y) in pos.items()]
    return float((max(xs1) - min(xs0)) * (max(ys1) - min(ys0)))


def layout_crossings(layout: Layout[Any], steps: int = 8) -> int:
    """Crossings of the lines as drawn (:func:`route_polyline` of every route,
    counted by :func:`drawing_crossings`): one measure for any layout program."""
    return drawing_crossings(
        [(r.source, r.target, route_polyline(r.points, r.spline, steps)) for r in layout.edges]
    )
