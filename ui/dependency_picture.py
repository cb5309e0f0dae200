"""What a dependency drawing shows, decided off the GUI thread (no Qt in here).

A :class:`Picture` is built from a piece of the impact graph (a
``networkx.DiGraph`` from :meth:`cmdb_desktop.analysis.AnalysisService.neighbourhood`,
whose edges point the way impact flows) and laid out by
:mod:`ui.graph_layout`. The graph view and the impact workspace only draw it.

Rules of the drawing:

* **Services on top, infrastructure below**: an edge is drawn from the CI that
  depends (above) to what it depends on (below), labelled the way the
  relationship reads in that direction (``Runs on``, ``Has member``…). Impact
  flows upwards, against the arrows.
* **Big neighbourhoods stay readable**: walking out from the roots (the centre
  CI, or the change set), the neighbours one step further that share a class
  and a side (above or below) form a *sibling group*. Beyond ``threshold``
  members, the first ones are shown and the rest become one group node
  ("608 more Virtual Machines"), with everything only reachable through them.
  A group the user expanded shows as many members as it was opened to
  (``expanded`` maps its key to that number); a CI the user collapsed hides
  all its farther neighbours behind group nodes. CIs in ``keep`` (the change
  set, a focused path) are always shown. If the drawing would still hold
  more than ``max_boxes`` CIs, the threshold is lowered until it does not.

>>> import networkx as nx
>>> g = nx.DiGraph()
>>> g.add_node(1, name="host", **{"class": "Server"})
>>> for i in range(2, 32):
...     g.add_node(i, name=f"vm{i:02}", **{"class": "Virtual Machine"})
...     g.add_edge(1, i, types=["Hosted on"])
>>> shown, groups = group_siblings(g, [1], threshold=12)
>>> len(shown), groups[0].label
(13, '18 more Virtual Machines')
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ui.graph_dot import best_layout
from ui.graph_layout import (
    AGGREGATE_OVER,
    Aggregate,
    aggregate_by_layer,
    merge_edges,
)

if TYPE_CHECKING:
    import networkx as nx

    from cmdb_desktop.metamodel import Metamodel

#: Siblings of one class shown before the rest are grouped.
GROUP_THRESHOLD = 12
#: Most boxes a drawing holds (the threshold drops until it fits).
MAX_BOXES = 400
#: How many more members "show more" on a group reveals.
GROUP_STEP = 48
#: Box sizes (scene units).
CI_SIZE = (240.0, 54.0)
GROUP_SIZE = (240.0, 50.0)
#: Room between layers (scene units): enough for one line of edge labels.
LAYER_GAP = 76.0

ABOVE = "above"
BELOW = "below"

#: States a node may be drawn in.
CHANGED = "changed"
DOWN = "down"
DEGRADED = "degraded"


@dataclass(frozen=True)
class Group:
    """Hidden siblings: ``members`` of class ``class_name`` on one ``side`` of ``parent``."""

    key: str
    parent: int
    class_name: str
    side: str
    members: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{len(self.members):,} more {plural(self.class_name, len(self.members))}"


def plural(class_name: str, n: int) -> str:
    """ "Virtual Machines", "Business Services", "Power Devices"."""
    if n == 1:
        return class_name
    if class_name.endswith("y") and not class_name.endswith(("ay", "ey", "oy")):
        return class_name[:-1] + "ies"
    if class_name.endswith(("s", "x", "ch", "sh")):
        return class_name + "es"
    return class_name + "s"


def group_key(parent: int, class_name: str, side: str) -> str:
    return f"group:{parent}:{side}:{class_name}"


def group_siblings(
    view: nx.DiGraph,
    roots: Sequence[int],
    *,
    threshold: int = GROUP_THRESHOLD,
    expanded: Mapping[str, int] | None = None,
    collapsed: Iterable[int] = (),
    keep: Iterable[int] = (),
    rank: Callable[[int], Any] | None = None,
) -> tuple[set[int], list[Group]]:
    """The CIs to show and the groups standing for the rest (see the module docstring).

    ``rank`` orders siblings (those shown first come first); by default by name.
    """
    opened = dict(expanded or {})
    collapsed = set(collapsed)
    keep = set(keep)
    order = rank or (lambda n: (str(view.nodes[n].get("name", "")).casefold(), n))
    roots = [r for r in roots if r in view]
    distance = {r: 0 for r in roots}
    queue = deque(roots)
    while queue:  # undirected BFS: how far each CI is from the roots
        node = queue.popleft()
        for nxt in (*view.successors(node), *view.predecessors(node)):
            if nxt not in distance:
                distance[nxt] = distance[node] + 1
                queue.append(nxt)
    shown: set[int] = set(roots)
    hidden: set[int] = set()
    groups: list[Group] = []
    frontier = sorted(roots, key=order)
    while frontier:
        nxt_frontier: list[int] = []
        for parent in frontier:
            buckets: dict[tuple[str, str], list[int]] = {}
            for child in (*view.successors(parent), *view.predecessors(parent)):
                if child in shown or child in hidden:
                    continue
                if distance.get(child) != distance[parent] + 1:
                    continue
                side = ABOVE if view.has_edge(parent, child) else BELOW
                cls = str(view.nodes[child].get("class", ""))
                buckets.setdefault((cls, side), []).append(child)
            for (cls, side), kids in sorted(buckets.items()):
                kids = sorted(set(kids), key=lambda n: (n not in keep, order(n)))
                key = group_key(parent, cls, side)
                limit = 0 if parent in collapsed else opened.get(key, threshold)
                if len(kids) <= limit:
                    show, rest = kids, []
                else:
                    show = [k for k in kids[:limit]] + [k for k in kids[limit:] if k in keep]
                    rest = [k for k in kids[limit:] if k not in keep]
                shown.update(show)
                nxt_frontier.extend(show)
                if rest:
                    hidden.update(rest)
                    groups.append(Group(key, parent, cls, side, tuple(rest)))
        frontier = nxt_frontier
    # CIs not reachable from the roots (a focused path's far end, say) are shown.
    shown.update(n for n in view.nodes if n not in distance)
    return shown, groups


# -- the picture ------------------------------------------------------------------


@dataclass
class PictureNode:
    """A box: a CI (``ci_id``) or a group of hidden siblings (``group``)."""

    key: int | str
    label: str
    class_name: str
    x: float = 0.0
    y: float = 0.0
    width: float = CI_SIZE[0]
    height: float = CI_SIZE[1]
    ci_id: int | None = None
    icon: str = ""
    status: str | None = None
    service: bool = False
    state: str | None = None
    centre: bool = False
    on_path: bool = False
    group: Group | None = None
    aggregate: Aggregate[int | str] | None = None
    #: CIs behind a group or an aggregate box (1 for a CI).
    count: int = 1


@dataclass
class PictureEdge:
    """A line from the dependent CI (``upper``) to what it depends on (``lower``)."""

    upper: int | str
    lower: int | str
    label: str
    points: list[tuple[float, float]]
    on_path: bool = False
    climbs: bool = False
    #: Relationships the line stands for (more than one between aggregates).
    count: int = 1
    #: ``points`` are Bézier segments (Graphviz dot's drawing), not our S-curves.
    spline: bool = False


@dataclass
class Picture:
    """Everything to draw, in scene coordinates (origin top-left)."""

    nodes: list[PictureNode]
    edges: list[PictureEdge]
    width: float
    height: float
    groups: list[Group] = field(default_factory=list)
    crossings: int = 0
    total_cis: int = 0
    threshold: int = GROUP_THRESHOLD
    aggregates: list[Aggregate[int | str]] = field(default_factory=list)
    #: Which layout drew it: ``"ours"`` or ``"dot"`` (Graphviz, see ui.graph_dot).
    layout_by: str = "ours"

    def node(self, key: int | str) -> PictureNode | None:
        return next((n for n in self.nodes if n.key == key), None)

    @property
    def ci_ids(self) -> set[int]:
        return {n.ci_id for n in self.nodes if n.ci_id is not None}


def edge_label(meta: Metamodel | None, types: Iterable[str]) -> str:
    """How the relationships behind an impact edge read from the dependent (upper) end."""
    words = []
    for name in types:
        if meta is None:
            words.append(name)
            continue
        info, _ = meta.relationship_type(name)
        # to_source: the source depends on the target (Runs on); to_target: the
        # target depends on the source (Member of), so read it backwards.
        words.append(info.name if info.impact == "to_source" else info.reverse_name)
    return ", ".join(dict.fromkeys(words))


def _asked_for(
    view: nx.DiGraph, shown: set[int], groups: Sequence[Group], expanded: Mapping[str, int]
) -> set[int | str]:
    """The boxes of the sibling groups the user opened (the CIs and what is left of
    the group): they stay single boxes, never aggregated again."""
    out: set[int | str] = set()
    by_key = {g.key: g for g in groups}
    for key in expanded:
        _, parent_text, side, cls = key.split(":", 3)
        parent = int(parent_text)
        if parent not in view:
            continue
        kin = view.successors(parent) if side == ABOVE else view.predecessors(parent)
        out.update(n for n in kin if n in shown and view.nodes[n].get("class") == cls)
        if key in by_key:
            out.add(key)
    return out


def aggregate_label(kind: str, count: int) -> str:
    """ "37 Virtual Machines"."""
    return f"{count:,} {plural(kind, count)}"


def build_picture(
    view: nx.DiGraph,
    roots: Sequence[int],
    *,
    meta: Metamodel | None = None,
    states: Mapping[int, str] | None = None,
    path: Sequence[int] = (),
    threshold: int = GROUP_THRESHOLD,
    expanded: Mapping[str, int] | None = None,
    collapsed: Iterable[int] = (),
    centre: int | None = None,
    keep: Iterable[int] = (),
    max_boxes: int = MAX_BOXES,
    aggregate_over: int | None = AGGREGATE_OVER,
    expanded_aggregates: Iterable[str] = (),
    use_dot: bool = False,
    check: Callable[[], None] | None = None,
) -> Picture:
    """Group, aggregate, label and lay out ``view`` (edges in impact direction) for
    drawing.

    ``states`` colours CIs (``changed``, ``down``, ``degraded``); ``path`` is
    a focused impact path (ids in impact order) drawn highlighted; CIs in
    ``keep`` are never grouped away. ``aggregate_over`` None draws no
    aggregates (the view's *Aggregate* toggle off). ``use_dot`` lets Graphviz
    dot lay it out when installed and better (:func:`ui.graph_dot.best_layout`).
    """
    states = dict(states or {})
    icons = {c.name: c.icon for c in meta.classes} if meta is not None else {}
    keep = set(keep) | set(path) | set(roots)
    while True:
        shown, groups = group_siblings(
            view, roots, threshold=threshold, expanded=expanded, collapsed=collapsed, keep=keep
        )
        if len(shown) + len(groups) <= max_boxes or threshold <= 1:
            break
        threshold = max(1, threshold // 2)
    if check is not None:
        check()
    on_path = set(zip(path, path[1:], strict=False))
    on_path_cis = set(path)
    nodes: dict[int | str, PictureNode] = {}
    for ci in shown:
        data = view.nodes[ci]
        cls = str(data.get("class", ""))
        nodes[ci] = PictureNode(
            key=ci,
            label=str(data.get("name", f"#{ci}")),
            class_name=cls,
            ci_id=ci,
            icon=icons.get(cls, ""),
            status=data.get("status"),
            service=bool(data.get("service")),
            state=states.get(ci),
            centre=ci == centre,
            on_path=ci in on_path_cis,
        )
    for g in groups:
        nodes[g.key] = PictureNode(
            key=g.key,
            label=g.label,
            class_name=g.class_name,
            icon=icons.get(g.class_name, ""),
            width=GROUP_SIZE[0],
            height=GROUP_SIZE[1],
            group=g,
            count=len(g.members),
        )
    # Edges drawn downwards: (dependent, dependency) = (v, u) for impact u -> v.
    down: list[tuple[int | str, int | str]] = []
    labels: dict[tuple[int | str, int | str], str] = {}
    for u, v, data in view.edges(data=True):
        if u in shown and v in shown:
            pair: tuple[int | str, int | str] = (v, u)
            down.append(pair)
            labels[pair] = edge_label(meta, data.get("types", ()))
    for g in groups:
        # one line between the parent and the group, labelled like its members' edges
        sample = g.members[0]
        if g.side == ABOVE:
            pair = (g.key, g.parent)
            types = view.edges[g.parent, sample].get("types", ())
        else:
            pair = (g.parent, g.key)
            types = view.edges[sample, g.parent].get("types", ())
        down.append(pair)
        labels[pair] = edge_label(meta, types)
    pinned = [k for k, n in nodes.items() if n.service]

    aggregates: list[Aggregate[int | str]] = []
    if aggregate_over is not None and len(nodes) > aggregate_over:
        asked = _asked_for(view, shown, groups, expanded or {}) | keep | set(states)
        aggregates = aggregate_by_layer(
            list(nodes),
            down,
            lambda k: nodes[k].class_name,
            over=aggregate_over,
            keep=asked,
            expanded=expanded_aggregates,
            pinned=pinned,
        )
    if aggregates:
        stands_for: dict[int | str, int | str] = {}
        for agg in aggregates:
            count = sum(nodes[m].count for m in agg.members)
            nodes[agg.key] = PictureNode(
                key=agg.key,
                label=aggregate_label(agg.kind, count),
                class_name=agg.kind,
                icon=icons.get(agg.kind, ""),
                width=GROUP_SIZE[0],
                height=GROUP_SIZE[1],
                aggregate=agg,
                count=count,
            )
            for m in agg.members:
                stands_for[m] = agg.key
                del nodes[m]
        merged = merge_edges(down, stands_for)
        down = list(merged)
        counts = {pair: len(under) for pair, under in merged.items()}
        labels = {
            pair: ", ".join(dict.fromkeys(labels[e] for e in under))
            for pair, under in merged.items()
        }
        pinned = [k for k, n in nodes.items() if n.service]
    else:
        counts = {}
    if check is not None:
        check()
    sizes = {k: (n.width, n.height) for k, n in nodes.items()}

    def rank(key: int | str) -> tuple[str, str]:
        n = nodes[key]
        return (n.class_name, n.label.casefold() if n.ci_id is not None else "~")

    layout, layout_by = best_layout(
        list(nodes),
        down,
        sizes,
        use_dot=use_dot,
        pinned=pinned,
        order_key=rank,
        check=check,
        layer_gap=LAYER_GAP,
    )
    for key, (x, y) in layout.pos.items():
        nodes[key].x, nodes[key].y = x, y
    edges = [
        PictureEdge(
            route.source,
            route.target,
            labels[(route.source, route.target)],
            route.points,
            on_path=(route.target, route.source) in on_path,
            climbs=route.reversed,
            count=counts.get((route.source, route.target), 1),
            spline=route.spline,
        )
        for route in layout.edges
    ]
    return Picture(
        list(nodes.values()),
        edges,
        layout.width,
        layout.height,
        groups,
        layout.crossings,
        len(view),
        threshold,
        aggregates,
        layout_by,
    )


@dataclass(frozen=True)
class EdgeLabel:
    """The one label of the lines that end at one box: ``text`` centred at (x, y),
    the end of the lines (``climbs``: the lines end at the box's bottom)."""

    text: str
    x: float
    y: float
    climbs: bool = False
    on_path: bool = False


def edge_labels(picture: Picture) -> list[EdgeLabel]:
    """One label per line end: the lines that end at the same point of the same box
    share one, their labels counted ("Runs on ×3 · Depends on").

    >>> e = [PictureEdge(a, "host", "Hosted on", [(0, 0), (5, 9)]) for a in "abc"]
    >>> e.append(PictureEdge("d", "host", "Depends on", [(9, 0), (5, 9)]))
    >>> [lab.text for lab in edge_labels(Picture([], e, 10, 10))]
    ['Hosted on ×3 · Depends on']
    """
    ends: dict[tuple[object, bool], list[PictureEdge]] = {}
    for edge in picture.edges:
        if edge.label:
            ends.setdefault((edge.lower, edge.climbs), []).append(edge)
    out = []
    for (_box, climbs), edges in ends.items():
        counted: dict[str, int] = {}
        for edge in edges:
            counted[edge.label] = counted.get(edge.label, 0) + edge.count
        text = " · ".join(f"{lab} ×{n:,}" if n > 1 else lab for lab, n in counted.items())
        x, y = edges[0].points[-1]
        out.append(EdgeLabel(text, x, y, climbs, any(e.on_path for e in edges)))
    return out
