"""Impact analysis as a service of the facade: ``cmdb.analysis``.

Takes CI ids, answers with :class:`~cmdb_desktop.items.CiRef` s, sorted as
PRODUCT.md §5 asks. The graph work is :mod:`cmdb_desktop.impact` over the
cached :class:`~cmdb_desktop.graph.ImpactGraph`; this module adds names,
classes and criticality, read in the same snapshot the graph was checked
against, so a result never mixes two states of the database.

Every method may run on a worker thread (each opens its own short session)
and takes an optional :class:`~cmdb_desktop.progress.Progress` for cancel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from cmdb_desktop import impact
from cmdb_desktop.catalogue import INACTIVE_STATUSES
from cmdb_desktop.errors import NotFoundError, ValidationError
from cmdb_desktop.graph import (
    GraphCache,
    ImpactGraph,
    IntArray,
    bulk_objects,
    fetch_ci_rows,
    snapshot_path,
)
from cmdb_desktop.impact import BlastRadius, Direction
from cmdb_desktop.progress import Progress
from cmdb_desktop.records import CiRef, chunks

if TYPE_CHECKING:
    import networkx as nx
    from sqlalchemy.orm import Session

    from cmdb_desktop.cmdb import Cmdb
    from cmdb_desktop.metamodel import Metamodel

#: Reads ``(id, name, class_id, status, criticality)`` of CIs (missing ones left
#: out): :func:`~cmdb_desktop.graph.fetch_ci_rows` in a session, or the quick reader.
CiRows = Callable[[Sequence[int]], list[Any]]

#: Ids per ``IN (…)`` when reading relationships (well below every database's parameter limit).
_NAME_CHUNK = 5000
#: Sorts after every real criticality (1 = most critical … 4).
_UNSET_CRITICALITY = 1_000_000


class CiFacts(NamedTuple):
    """What the analysis reads about a CI besides the graph."""

    ref: CiRef
    status: str | None
    criticality: int | None
    service: bool


# -- results ----------------------------------------------------------------------
class ImpactedCi(NamedTuple):
    """One impacted CI: its state, and the path (names, from the change set) that explains
    it, whose length is its distance (:func:`cmdb_desktop.impact.blast_radius`)."""

    ci: CiRef
    state: str
    distance: int
    path: list[str]
    service: bool
    criticality: int | None

    def to_json(self) -> dict[str, Any]:
        ref = self.ci
        return {
            "id": ref.id,
            "name": ref.name,
            "class": ref.class_name,
            "state": self.state,
            "distance": self.distance,
            "path": self.path,
        }


@dataclass(frozen=True)
class ImpactColumns:
    """The impacted CIs as parallel columns, already in report order.

    What a table view or a streaming writer wants: no object per row. Row
    ``k`` is the CI ``ids[k]`` named ``names[k]`` of class ``classes[k]``,
    ``states[k]`` ("down"/"degraded") at ``distances[k]`` along ``paths[k]``
    (names from a member of the change set to it: the path that explains the
    state, as long as the distance).
    """

    ids: list[int]
    names: list[str]
    classes: list[str]
    states: list[str]
    distances: list[int]
    paths: list[list[str]]
    services: list[bool]
    criticalities: list[int | None]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class ImpactReport:
    """The blast radius of a change set, ready to show or export.

    ``impacted`` lists service-class CIs first (by criticality, 1 first and
    unset last; then down before degraded; then name), then every other CI by
    distance, then down before degraded, then name. With ``depth`` only CIs
    within that distance are listed, and ``counts`` count what is listed.
    ``inactive`` names members of the change set that are Retired or Disposed
    (they take no part in impact). ``columns`` holds the same rows as
    columns (cheaper for big tables and streaming); ``radius`` the raw result
    (ids, paths as ids) for graph views.
    """

    changed: list[CiRef]
    columns: ImpactColumns = field(repr=False)
    depth: int | None
    inactive: list[CiRef]
    radius: BlastRadius = field(repr=False)

    @cached_property
    def impacted(self) -> list[ImpactedCi]:
        c = self.columns
        with bulk_objects():
            return [
                ImpactedCi(CiRef(i, n, k), state, d, path, service, crit)
                for i, n, k, state, d, path, service, crit in zip(
                    c.ids,
                    c.names,
                    c.classes,
                    c.states,
                    c.distances,
                    c.paths,
                    c.services,
                    c.criticalities,
                    strict=True,
                )
            ]

    @property
    def counts(self) -> dict[str, int]:
        down = self.columns.states.count(impact.DOWN)
        return {"down": down, "degraded": len(self.columns) - down}

    @property
    def services(self) -> list[ImpactedCi]:
        return [i for i in self.impacted if i.service]

    def path_ids(self, ci_id: int) -> list[int]:
        """The explanation path of one CI as ids (to highlight it in a graph view)."""
        return self.radius.path(ci_id)

    def to_json(self, *, items: bool = True) -> dict[str, Any]:
        """The PRODUCT.md §6 shape (plus ``depth``); ``items=False`` leaves ``impacted`` empty
        for a caller that streams the items itself."""
        return {
            "changed": [c.to_json() for c in self.changed],
            "impacted": [i.to_json() for i in self.impacted] if items else [],
            "counts": self.counts,
            "depth": self.depth,
        }


class Dependency(NamedTuple):
    ci: CiRef
    distance: int

    def to_json(self) -> dict[str, Any]:
        return {**self.ci.to_json(), "distance": self.distance}


class Layer(NamedTuple):
    """The dependencies of one class: how many, and the nearest one's distance."""

    class_name: str
    cis: int
    nearest: int

    def to_json(self) -> dict[str, Any]:
        return {"class": self.class_name, "count": self.cis, "distance": self.nearest}


@dataclass(frozen=True)
class DependencyMap:
    """Every CI with an impact path to ``ci``, nearest first (then class, then name)."""

    ci: CiRef
    dependencies: list[Dependency]
    active: bool = True

    @property
    def layers(self) -> list[Layer]:
        """Dependencies grouped by class, the nearest layer first."""
        seen: dict[str, list[int]] = {}
        for dep in self.dependencies:
            entry = seen.setdefault(dep.ci.class_name, [0, dep.distance])
            entry[0] += 1
            entry[1] = min(entry[1], dep.distance)
        layers = [Layer(name, n, nearest) for name, (n, nearest) in seen.items()]
        layers.sort(key=lambda layer: (layer.nearest, layer.class_name.casefold()))
        return layers

    def to_json(self) -> dict[str, Any]:
        return {
            "ci": self.ci.to_json(),
            "dependencies": [d.to_json() for d in self.dependencies],
            "layers": [layer.to_json() for layer in self.layers],
        }


@dataclass(frozen=True)
class SpofReport:
    """The single points of failure of ``ci``, nearest first (then class, then name)."""

    ci: CiRef
    spof: list[Dependency]
    dependencies: int
    active: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "ci": self.ci.to_json(),
            "spof": [s.to_json() for s in self.spof],
            "dependencies": self.dependencies,
        }


@dataclass(frozen=True)
class ImpactCycle:
    """CIs that impact one another; ``example`` is one shortest cycle (first CI repeated)."""

    members: list[CiRef]
    example: list[CiRef]

    def to_json(self) -> dict[str, Any]:
        return {
            "members": [m.to_json() for m in self.members],
            "example": [e.to_json() for e in self.example],
        }


# -- the service ------------------------------------------------------------------
class AnalysisService:
    """Blast radius, dependencies, single points of failure, paths and cycles."""

    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb
        # A SQLite file keeps its graph beside it, so that the next process (a CLI
        # command, the GUI opening it again) starts from it instead of a load.
        path = cmdb.path if cmdb.read_only is None else None
        self.cache = GraphCache(cmdb, snapshot=snapshot_path(path) if path is not None else None)

    def graph(self, progress: Progress | None = None) -> ImpactGraph:
        """The current impact graph (cached; patched or reloaded when the database moved on)."""
        return self.cache.get(progress)

    # -- reading facts ------------------------------------------------------------
    def _facts(self, s: Session, ids: Iterable[int]) -> dict[int, CiFacts]:
        return ci_facts(self._cmdb.meta, fetch_ci_rows(s, list(ids)))

    def _require(self, s: Session, ids: Sequence[int]) -> dict[int, CiFacts]:
        return required_facts(self._cmdb.meta, ids, lambda wanted: fetch_ci_rows(s, wanted))

    # -- blast radius ---------------------------------------------------------------
    def impact(
        self,
        cis: Iterable[int],
        *,
        depth: int | None = None,
        progress: Progress | None = None,
    ) -> ImpactReport:
        """What breaks if the CIs ``cis`` (the change set) fail or change.

        NotFoundError if a CI does not exist; ValidationError for an empty
        change set or a negative depth.
        """
        changed_ids = change_set(cis, depth)
        with self._cmdb.read() as s:
            return impact_report(
                self._cmdb.meta,
                changed_ids,
                depth,
                lambda: self.cache.get(progress, s),
                lambda ids: fetch_ci_rows(s, ids),
                progress,
            )

    # -- dependencies ---------------------------------------------------------------
    def depends(self, ci: int, *, depth: int | None = None) -> DependencyMap:
        """Every CI whose failure can reach ``ci`` (its service dependency map)."""
        with self._cmdb.read() as s:
            own = self._require(s, [ci])[ci]
            graph = self.cache.get(None, s)
            reach = impact.dependencies(graph, ci, depth)
            ids = reach.ids.tolist()
            facts = self._facts(s, ids)
        deps = [
            Dependency(facts[i].ref, d) for i, d in zip(ids, reach.distances.tolist(), strict=True)
        ]
        deps.sort(key=_dependency_order)
        return DependencyMap(own.ref, deps, own.status not in INACTIVE_STATUSES)

    def spof(self, ci: int, *, progress: Progress | None = None) -> SpofReport:
        """Each CI whose failure alone takes ``ci`` down, honouring redundancy rules."""
        with self._cmdb.read() as s:
            own = self._require(s, [ci])[ci]
            graph = self.cache.get(progress, s)
            reach = impact.dependencies(graph, ci)
            found = impact.single_points_of_failure(graph, ci, progress)
            distance = dict(zip(reach.ids.tolist(), reach.distances.tolist(), strict=True))
            facts = self._facts(s, found)
        spof = [Dependency(facts[i].ref, distance[i]) for i in found]
        spof.sort(key=_dependency_order)
        return SpofReport(own.ref, spof, len(reach), own.status not in INACTIVE_STATUSES)

    def path(self, source: int, target: int) -> list[CiRef]:
        """One shortest impact path from ``source`` to ``target``; [] when impact cannot flow."""
        with self._cmdb.read() as s:
            self._require(s, [source, target])
            graph = self.cache.get(None, s)
            ids = impact.shortest_path(graph, source, target)
            facts = self._facts(s, ids)
        return [facts[i].ref for i in ids]

    def cycles(self, progress: Progress | None = None) -> list[ImpactCycle]:
        """Groups of CIs that impact one another, largest first (for the health view)."""
        with self._cmdb.read() as s:
            graph = self.cache.get(progress, s)
            groups = impact.cycle_groups(graph)
            examples = [impact.example_cycle(graph, g) for g in groups]
            facts = self._facts(s, {i for g in groups for i in g})
        out = [
            ImpactCycle(
                sorted((facts[i].ref for i in g), key=lambda r: (r.name.casefold(), r.id)),
                [facts[i].ref for i in ex],
            )
            for g, ex in zip(groups, examples, strict=True)
        ]
        out.sort(key=lambda c: (-len(c.members), c.members[0].name.casefold()))
        return out

    # -- graph views ---------------------------------------------------------------
    def neighbourhood(self, ci: int, depth: int = 1, direction: Direction = "both") -> nx.DiGraph:
        """The CIs within ``depth`` impact edges of ``ci``, as a ``networkx.DiGraph``.

        ``direction``: ``upstream`` (what can impact it), ``downstream`` (what
        it impacts) or ``both``. Nodes are CI ids with ``name``, ``class``,
        ``status``, ``criticality``, ``service`` and ``distance``; edges point
        the way impact flows and carry ``types``, the relationship types
        (forward names) that make them. Retired CIs take no part in impact and
        so only ever appear as the centre.
        """
        if depth < 0:
            raise ValidationError("The depth must be 0 or more.", {"depth": "negative"})
        with self._cmdb.read() as s:
            own = self._require(s, [ci])
            graph = self.cache.get(None, s)
            reach = impact.neighbourhood(graph, ci, depth, direction)
            ids = reach.ids.tolist()
            facts = self._facts(s, ids)
            facts.update(own)
            view = graph.to_networkx(ids)
            types = self._edge_types(s, ids)
        view.add_node(ci)
        _describe(view, facts, types)
        for ci_id, d in zip(ids, reach.distances.tolist(), strict=True):
            view.nodes[ci_id]["distance"] = d
        return view

    def subgraph(self, cis: Iterable[int]) -> nx.DiGraph:
        """The impact graph among ``cis`` only: nodes and edges as :meth:`neighbourhood`
        gives them, without ``distance`` (to draw a path or a blast radius).

        NotFoundError if a CI does not exist; Retired CIs are nodes without edges.
        """
        ids = list(dict.fromkeys(int(c) for c in cis))
        with self._cmdb.read() as s:
            facts = self._require(s, ids)
            graph = self.cache.get(None, s)
            view = graph.to_networkx(ids)
            types = self._edge_types(s, ids)
        view.add_nodes_from(ids)
        _describe(view, facts, types)
        return view

    def _edge_types(self, s: Session, ids: list[int]) -> dict[tuple[int, int], set[str]]:
        """Relationship types behind each impact edge among ``ids``, keyed (from, to)."""
        from sqlalchemy import select  # noqa: PLC0415 (impact_report runs without SQLAlchemy)

        from cmdb_desktop.models import relationship_table  # noqa: PLC0415

        meta = self._cmdb.meta
        inside = set(ids)
        rel = relationship_table.c
        out: dict[tuple[int, int], set[str]] = {}
        for part in chunks(ids, _NAME_CHUNK):
            stmt = select(rel.source_id, rel.type_id, rel.target_id).where(rel.source_id.in_(part))
            for source, type_id, target in s.execute(stmt):
                rtype = meta.relationship_type_by_id.get(type_id)
                if target not in inside or rtype is None:
                    continue
                edge = rtype.impact_edge(source, target)
                if edge is not None:
                    out.setdefault(edge, set()).add(rtype.name)
        return out


def _class_name(meta: Metamodel, class_id: int) -> str:
    info = meta.class_by_id.get(class_id)
    return info.name if info is not None else f"class #{class_id}"


def ci_facts(meta: Metamodel, rows: Iterable[Any]) -> dict[int, CiFacts]:
    """Facts of CIs from their ``(id, name, class_id, status, criticality)`` rows."""
    services = meta.service_class_ids
    return {
        ci_id: CiFacts(
            CiRef(ci_id, name, _class_name(meta, class_id)), status, crit, class_id in services
        )
        for ci_id, name, class_id, status, crit in rows
    }


def required_facts(meta: Metamodel, ids: Sequence[int], ci_rows: CiRows) -> dict[int, CiFacts]:
    """Facts of the CIs ``ids``; NotFoundError naming those that do not exist."""
    facts = ci_facts(meta, ci_rows(list(ids)))
    missing = [i for i in ids if i not in facts]
    if missing:
        shown = ", ".join(f"#{i}" for i in missing[:20])
        raise NotFoundError(f"No CI with id {shown}.")
    return facts


def change_set(cis: Iterable[int], depth: int | None) -> list[int]:
    """The change set's CI ids, each once in the order given; ValidationError for an
    empty one or a negative depth."""
    changed_ids = list(dict.fromkeys(int(c) for c in cis))
    if not changed_ids:
        raise ValidationError("Name at least one CI to assess.", {"ci": "required"})
    if depth is not None and depth < 0:
        raise ValidationError("The depth must be 0 or more.", {"depth": "negative"})
    return changed_ids


def impact_report(
    meta: Metamodel,
    changed_ids: list[int],
    depth: int | None,
    graph: Callable[[], ImpactGraph],
    ci_rows: CiRows,
    progress: Progress | None = None,
) -> ImpactReport:
    """The blast radius of the change set ``changed_ids`` (PRODUCT.md §5) with names,
    classes, states, distances and one explanation path per CI, in the report's order.

    ``graph()`` gives the impact graph and ``ci_rows`` reads CIs, both in one
    snapshot of the database (:meth:`AnalysisService.impact` passes its session's;
    the quick reader of a small command its own connection).
    """
    changed = required_facts(meta, changed_ids, ci_rows)
    radius = impact.blast_radius(graph(), changed_ids, progress)
    mask = radius.within(depth)
    ids = radius.ids[mask]
    # Within a depth, a path may pass CIs that are farther along their own paths.
    beyond = [] if depth is None else _beyond(radius.on_paths(mask), ids, changed)
    with bulk_objects():
        rows = {r[0]: r for r in ci_rows(ids.tolist() + beyond)}
        id_list = ids.tolist()
        ordered = [rows[i] for i in id_list]
        down = radius.down[mask]
        distances = radius.distances[mask]
        names = [r[1] for r in ordered]
        class_ids = np.array([r[2] for r in ordered], dtype=np.int64)
        criticality = [r[4] for r in ordered]
        service = np.isin(class_ids, np.array(sorted(meta.service_class_ids)))
        order = _impact_order(ids, names, criticality, service, down, distances).tolist()
        labels = dict(zip(id_list, names, strict=True))
        labels.update((i, f.ref.name) for i, f in changed.items())
        labels.update((i, rows[i][1]) for i in beyond)
        paths = radius.paths(labels, mask)
        class_names = {c: _class_name(meta, c) for c in set(class_ids.tolist())}
        state = (impact.DEGRADED, impact.DOWN)
        down_list, dist_list, service_list = down.tolist(), distances.tolist(), service.tolist()
        columns = ImpactColumns(
            ids=[id_list[k] for k in order],
            names=[names[k] for k in order],
            classes=[class_names[ordered[k][2]] for k in order],
            states=[state[down_list[k]] for k in order],
            distances=[dist_list[k] for k in order],
            paths=[paths[k] for k in order],
            services=[service_list[k] for k in order],
            criticalities=[criticality[k] for k in order],
        )
    return ImpactReport(
        changed=[changed[i].ref for i in changed_ids],
        columns=columns,
        depth=depth,
        inactive=[changed[i].ref for i in changed_ids if changed[i].status in INACTIVE_STATUSES],
        radius=radius,
    )


def _beyond(on_paths: IntArray, listed: IntArray, changed: Iterable[int]) -> list[int]:
    """The CIs of ``on_paths`` that are neither ``listed`` nor ``changed``."""
    rest = np.setdiff1d(on_paths, listed, assume_unique=True)
    rest = np.setdiff1d(rest, np.fromiter(changed, dtype=np.int64), assume_unique=True)
    return [int(i) for i in rest.tolist()]


def _impact_order(
    ids: IntArray,
    names: list[str],
    criticality: list[int | None],
    service: npt.NDArray[np.bool_],
    down: npt.NDArray[np.bool_],
    distances: IntArray,
) -> IntArray:
    """Positions in report order: services by criticality (unset last), then state
    (down first), then name; then the others by distance, state and name. Ties
    go to the smaller id, so the order is total and stable."""
    n = len(names)
    folded = [name.casefold() for name in names]
    rank = np.empty(n, dtype=np.int64)
    rank[np.array(sorted(range(n), key=folded.__getitem__), dtype=np.int64)] = np.arange(n)
    crit = np.array([_UNSET_CRITICALITY if c is None else c for c in criticality], dtype=np.int64)
    second = np.where(service, crit, distances)
    return np.lexsort((ids, rank, (~down).astype(np.int64), second, (~service).astype(np.int64)))


def _dependency_order(dep: Dependency) -> tuple[Any, ...]:
    return (dep.distance, dep.ci.class_name.casefold(), dep.ci.name.casefold(), dep.ci.id)


def _describe(
    view: nx.DiGraph, facts: dict[int, CiFacts], types: dict[tuple[int, int], set[str]]
) -> None:
    """Name, class, status, criticality and service flag on every node of ``view``;
    the relationship types behind each edge."""
    for ci_id, attrs in view.nodes(data=True):
        f = facts[ci_id]
        attrs.update(
            name=f.ref.name,
            status=f.status,
            criticality=f.criticality,
            service=f.service,
            **{"class": f.ref.class_name},
        )
    for u, v, data in view.edges(data=True):
        data["types"] = sorted(types.get((u, v), ()))
