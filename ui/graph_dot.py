"""Graphviz ``dot`` as a second layered layout, run as a program (no Qt in here).

:func:`dot_layout` takes the same input as :func:`ui.graph_layout.layered_layout`
(nodes, edges pointing down, box sizes) and returns the same
:class:`~ui.graph_layout.Layout`, read from ``dot -Tplain``: the benchmark
(``bench/bench_layout.py``) measures both on the same neighbourhoods, and
:func:`best_layout` lets the graph view take dot's drawing when dot is on
``PATH`` and draws with fewer crossings, ours otherwise (or when dot fails).

Coordinates: dot works in inches with y growing upwards; the layout comes
back in scene units (1 unit = 1/72 inch, the unit of ``sizes``), y growing
downwards, the top-left box corner at (0, 0). An edge's ``points`` are dot's
spline: a start point then three points per cubic Bézier segment
(``EdgeRoute.spline``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from ui.graph_layout import NODE_SIZE, EdgeRoute, Layout, layered_layout, layout_crossings

K = TypeVar("K", bound=Hashable)

#: Longest a dot run may take before the view falls back to our layout (s; a
#: 400-box drawing takes well under one).
DOT_TIMEOUT = 5.0
#: Pieces per curve when the view compares the two drawings' crossings (the
#: benchmark samples finer; this is enough to tell which crosses less, at half
#: the cost in the worker).
COMPARE_STEPS = 4


class DotFailed(RuntimeError):
    """dot is missing, timed out or gave output we cannot read."""


def dot_program() -> str | None:
    """The path of ``dot`` when it is installed (on ``PATH``), else None."""
    return shutil.which("dot")


def dot_source(
    nodes: Sequence[Any],
    edges: Sequence[tuple[Any, Any]],
    sizes: Mapping[Any, tuple[float, float]],
    *,
    node_gap: float = 28.0,
    layer_gap: float = 90.0,
) -> str:
    """The dot text of a drawing: node ``i`` is named ``n<i>``; fixed-size boxes.

    >>> print(dot_source(["a", "b"], [("a", "b")], {}).splitlines()[-2])
    n0 -> n1;
    """
    index = {n: i for i, n in enumerate(nodes)}
    lines = [
        "digraph G {",
        f"graph [rankdir=TB, nodesep={node_gap / 72:.4f}, ranksep={layer_gap / 72:.4f}];",
        'node [shape=box, fixedsize=true, label=""];',
    ]
    for n, i in index.items():
        w, h = sizes.get(n, NODE_SIZE)
        lines.append(f"n{i} [width={w / 72:.4f}, height={h / 72:.4f}];")
    lines += [f"n{index[u]} -> n{index[v]};" for u, v in edges if u in index and v in index]
    return "\n".join(lines) + "\n}"


def parse_plain(
    text: str,
    nodes: Sequence[K],
    edges: Sequence[tuple[K, K]],
    sizes: Mapping[K, tuple[float, float]] | None = None,
) -> tuple[dict[K, tuple[float, float]], list[EdgeRoute[K]], float, float]:
    """Positions (box centres), routes, width and height from ``dot -Tplain`` output
    (scene units, y down). dot stops a line short of its box (room for its own
    arrowhead): a straight piece takes it to the box's edge, where ours end.

    >>> plain = "\\n".join([
    ...     "graph 1 2 2",
    ...     "node n0 1 1.5 1 0.5 x solid box black lightgrey",
    ...     "node n1 1 0.5 1 0.5 x solid box black lightgrey",
    ...     "edge n0 n1 4 1 1.25 1 1.1 1 0.95 1 0.8 solid black",
    ... ])
    >>> box = {"a": (72, 36), "b": (72, 36)}
    >>> pos, routes, w, h = parse_plain(plain, ["a", "b"], [("a", "b")], box)
    >>> pos["a"], pos["b"], routes[0].points[0], routes[0].points[-1]
    ((72.0, 36.0), (72.0, 108.0), (72.0, 54.0), (72.0, 90.0))
    """
    sizes = sizes or {}
    height = 0.0
    width = 0.0
    raw: dict[int, tuple[float, float]] = {}
    paths: dict[tuple[int, int], list[list[tuple[float, float]]]] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "graph":
            width, height = float(parts[2]) * 72, float(parts[3]) * 72
        elif parts[0] == "node":
            raw[int(parts[1][1:])] = (float(parts[2]) * 72, float(parts[3]) * 72)
        elif parts[0] == "edge":
            tail, head, count = int(parts[1][1:]), int(parts[2][1:]), int(parts[3])
            coords = [float(c) * 72 for c in parts[4 : 4 + 2 * count]]
            pts = list(zip(coords[0::2], coords[1::2], strict=True))
            paths.setdefault((tail, head), []).append(pts)
    if len(raw) != len(nodes):
        raise DotFailed(f"dot placed {len(raw)} of {len(nodes)} boxes")
    pos = {nodes[i]: (x, height - y) for i, (x, y) in raw.items()}
    index = {n: i for i, n in enumerate(nodes)}
    routes: list[EdgeRoute[K]] = []
    for u, v in edges:
        found = paths.get((index[u], index[v]))
        if not found:
            raise DotFailed(f"dot drew no line for an edge ({u!r} → {v!r})")
        pts = [(x, height - y) for x, y in found.pop()]
        climbs = pos[u][1] > pos[v][1]
        half = sizes.get(v, NODE_SIZE)[1] / 2
        end = (pts[-1][0], pos[v][1] + (half if climbs else -half))
        if abs(end[1] - pts[-1][1]) > 0.5:
            pts += [pts[-1], end, end]
        routes.append(EdgeRoute(u, v, pts, reversed=climbs, spline=True))
    return pos, routes, width, height


def dot_layout(
    nodes: Sequence[K],
    edges: Sequence[tuple[K, K]],
    sizes: Mapping[K, tuple[float, float]] | None = None,
    *,
    node_gap: float = 28.0,
    layer_gap: float = 90.0,
    program: str | None = None,
    timeout: float = DOT_TIMEOUT,
) -> Layout[K]:
    """Lay out like :func:`~ui.graph_layout.layered_layout`, with Graphviz ``dot``.

    ``crossings`` is :func:`~ui.graph_layout.layout_crossings` of the drawn
    lines, sampled with :data:`COMPARE_STEPS` (ours counts crossings between
    adjacent layers' orders instead). Raises
    :class:`DotFailed` when dot is missing, fails or times out.
    """
    sizes = sizes or {}
    node_list = list(dict.fromkeys(nodes))
    known = set(node_list)
    clean = [(u, v) for u, v in dict.fromkeys(edges) if u in known and v in known and u != v]
    exe = program or dot_program()
    if exe is None:
        raise DotFailed("dot is not installed (Debian: apt-get install graphviz)")
    source = dot_source(node_list, clean, sizes, node_gap=node_gap, layer_gap=layer_gap)
    try:
        run = subprocess.run(
            [exe, "-Tplain"],
            input=source,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DotFailed(f"dot did not finish: {exc}") from exc
    if run.returncode != 0:
        raise DotFailed(f"dot failed: {run.stderr.strip()[:300]}")
    pos, routes, width, height = parse_plain(run.stdout, node_list, clean, sizes)
    # layers: boxes whose centres share a y (dot ranks)
    ys = sorted({round(y, 1) for _, y in pos.values()})
    rank = {y: i for i, y in enumerate(ys)}
    layer = {n: rank[round(y, 1)] for n, (_x, y) in pos.items()}
    order = [
        sorted((n for n in node_list if layer[n] == k), key=lambda n: pos[n][0])
        for k in rank.values()
    ]
    layout = Layout(pos, layer, routes, 0, width, height, order)
    layout.crossings = layout_crossings(layout, COMPARE_STEPS)
    return layout


def best_layout(
    nodes: Sequence[K],
    edges: Sequence[tuple[K, K]],
    sizes: Mapping[K, tuple[float, float]] | None = None,
    *,
    use_dot: bool = True,
    order_key: Callable[[K], Any] | None = None,
    check: Callable[[], None] | None = None,
    node_gap: float = 28.0,
    layer_gap: float = 90.0,
    **options: Any,
) -> tuple[Layout[K], str]:
    """Our layout, or dot's when ``use_dot``, dot is installed and its lines cross
    fewer times (the benchmark found it does on the biggest drawings); with the
    name of the one taken (``"ours"`` or ``"dot"``). dot failing is no error:
    ours is drawn."""
    ours = layered_layout(
        nodes,
        edges,
        sizes,
        order_key=order_key,
        check=check,
        node_gap=node_gap,
        layer_gap=layer_gap,
        **options,
    )
    if not use_dot or ours.crossings == 0 or dot_program() is None:
        return ours, "ours"
    if check is not None:
        check()
    # dot keeps the input order where it can: give it ours (class, then name)
    ordered = sorted(dict.fromkeys(nodes), key=order_key) if order_key else list(nodes)
    try:
        theirs = dot_layout(ordered, edges, sizes, node_gap=node_gap, layer_gap=layer_gap)
    except DotFailed:
        return ours, "ours"
    if check is not None:
        check()
    if theirs.crossings < layout_crossings(ours, COMPARE_STEPS):
        return theirs, "dot"
    return ours, "ours"
