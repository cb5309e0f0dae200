"""Background jobs of the impact workspace, the graph and services views and the
health dashboard: plain functions ``fn(state, cmdb, …)`` (no Qt), run by
:class:`ui.tasks.TaskRunner` and tested without a GUI.

The core does the analysis (:mod:`cmdb_desktop.analysis`, :mod:`cmdb_desktop.health`);
these functions shape its answers for the views: numpy columns so that the
impact table filters instantly, laid-out pictures (:mod:`ui.dependency_picture`)
so that the GUI thread only draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

from cmdb_desktop import health
from cmdb_desktop.analysis import DependencyMap, ImpactReport, SpofReport
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CmdbError, NotFoundError, ValidationError
from cmdb_desktop.health import Finding, HealthReport
from cmdb_desktop.items import CiRef
from cmdb_desktop.models import ci_table
from ui.dependency_picture import CHANGED, GROUP_THRESHOLD, Picture, build_picture
from ui.graph_layout import AGGREGATE_OVER
from ui.jobs import JobState

#: Saved-item kind of impact scenarios.
SCENARIO = "scenario"
#: How many impacted services (or, without services, impacted CIs) the impact
#: picture explains with their paths.
PICTURE_PATHS = 12


# -- impact -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactTable:
    """An impact report with the columns the workspace filters on, as numpy arrays.

    Row ``k`` of every array is row ``k`` of ``report.columns`` (report order:
    services first). ``class_codes[k]`` indexes ``class_names``.
    """

    report: ImpactReport
    class_names: list[str]
    class_codes: npt.NDArray[np.int64]
    down: npt.NDArray[np.bool_]
    distances: npt.NDArray[np.int64]
    services: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.report.columns)

    def states(self) -> dict[int, str]:
        """CI id → ``changed`` / ``down`` / ``degraded`` (what a drawing colours)."""
        cols = self.report.columns
        out = dict(zip(cols.ids, cols.states, strict=True))
        out.update((c.id, CHANGED) for c in self.report.changed)
        return out

    def mask(
        self,
        *,
        class_name: str | None = None,
        state: str | None = None,
        max_distance: int | None = None,
        services_only: bool = False,
    ) -> npt.NDArray[np.bool_]:
        """Rows passing the workspace's filters."""
        keep = np.ones(len(self), dtype=bool)
        if class_name is not None:
            code = self.class_names.index(class_name) if class_name in self.class_names else -1
            keep &= self.class_codes == code
        if state == "down":
            keep &= self.down
        elif state == "degraded":
            keep &= ~self.down
        if max_distance is not None:
            keep &= self.distances <= max_distance
        if services_only:
            keep &= self.services
        return keep


def impact(
    state: JobState, cmdb: Cmdb, ids: Sequence[int], depth: int | None = None
) -> ImpactTable:
    """The blast radius of the change set ``ids`` (PRODUCT.md §5), ready for tables."""
    report = cmdb.analysis.impact(ids, depth=depth, progress=state.progress)
    cols = report.columns
    names = sorted(set(cols.classes))
    code = {n: i for i, n in enumerate(names)}
    return ImpactTable(
        report,
        names,
        np.array([code[c] for c in cols.classes], dtype=np.int64),
        np.array([s == "down" for s in cols.states], dtype=bool),
        np.array(cols.distances, dtype=np.int64),
        np.array(cols.services, dtype=bool),
    )


def picture_paths(table: ImpactTable, limit: int = PICTURE_PATHS) -> list[list[int]]:
    """The explanation paths the impact picture draws: every impacted service's
    (most critical first), or without services the nearest impacted CIs'."""
    cols = table.report.columns
    rows = [k for k in range(len(cols)) if cols.services[k]][:limit]
    if not rows:
        rows = list(range(min(limit, len(cols))))
    return [table.report.path_ids(cols.ids[k]) for k in rows]


def impact_picture(
    state: JobState, cmdb: Cmdb, table: ImpactTable, *, expanded: Mapping[str, int] | None = None
) -> Picture:
    """The change set, the impacted services and the paths between them, laid out."""
    changed = [c.id for c in table.report.changed]
    paths = picture_paths(table)
    state.progress.start("Drawing the impact")
    ids = list(dict.fromkeys([*changed, *(i for p in paths for i in p)]))
    view = cmdb.analysis.subgraph(ids)
    # Only the edges of the explanation paths: the picture says *why*, not everything.
    wanted = {(a, b) for p in paths for a, b in zip(p, p[1:], strict=False)}
    view.remove_edges_from([e for e in list(view.edges) if e not in wanted])
    # Every CI of these paths is drawn (no sibling groups): the picture explains.
    return build_picture(
        view,
        changed,
        meta=cmdb.meta,
        states=table.states(),
        expanded=expanded,
        keep=ids,
        check=state.check,
    )


def export_impact_xlsx(state: JobState, cmdb: Cmdb, report: ImpactReport, path: str) -> Path:
    from importers.impact_report import write_impact_report

    return write_impact_report(report, path, cmdb=cmdb.describe(), progress=state.progress)


def export_impact_pdf(
    state: JobState,
    cmdb: Cmdb,
    table: ImpactTable,
    picture: Picture | None,
    path: str,
    colours: Mapping[str, str],
    title: str = "",
) -> Path:
    """The change-board PDF (:mod:`ui.impact_pdf`; QPainter works off the GUI thread)."""
    from ui.impact_pdf import write_impact_pdf

    state.progress.start("Writing the PDF")
    return write_impact_pdf(
        path, table.report, picture, colours, cmdb=cmdb.describe(), title=title, check=state.check
    )


def refs_of(state: JobState, cmdb: Cmdb, ids: Sequence[int]) -> list[CiRef]:
    """The CIs ``ids`` (in that order; deleted ones left out), to add to a change set."""
    found = cmdb.items.refs(ids)
    return [found[i] for i in ids if i in found]


# -- scenarios ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A named change set (saved item of kind ``scenario``)."""

    name: str
    cis: list[CiRef]
    depth: int | None = None
    missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "cis": [c.id for c in self.cis],
            "refs": [f"{c.class_name}/{c.name}" for c in self.cis],
            "depth": self.depth,
        }


def scenario_names(state: JobState, cmdb: Cmdb) -> list[str]:
    return cmdb.saved.names(SCENARIO)


def save_scenario(
    state: JobState, cmdb: Cmdb, name: str, cis: Sequence[CiRef], depth: int | None
) -> str:
    if not cis:
        raise ValidationError("The change set is empty: add CIs before saving a scenario.")
    scenario = Scenario(name.strip(), list(cis), depth)
    cmdb.saved.save(SCENARIO, name, scenario.to_json())
    return scenario.name


def load_scenario(state: JobState, cmdb: Cmdb, name: str) -> Scenario:
    """A saved scenario; CIs deleted since are listed in ``missing`` (by id, then by
    their saved ``Class/Name``, which finds a CI re-imported under a new id)."""
    data = cmdb.saved.load(SCENARIO, name)
    ids = [int(i) for i in data.get("cis", [])]
    texts = list(data.get("refs", [])) + [""] * len(ids)
    found = cmdb.items.refs(ids)
    cis: list[CiRef] = []
    missing: list[str] = []
    for ci_id, text in zip(ids, texts, strict=False):
        if ci_id in found:
            cis.append(found[ci_id])
            continue
        try:
            other = cmdb.items.resolve(text) if text else None
        except CmdbError:  # an ambiguous or unknown name: reported as missing
            other = None
        if other is not None:
            cis.append(cmdb.items.refs([other])[other])
        else:
            missing.append(text or f"#{ci_id}")
    depth = data.get("depth")
    return Scenario(name, cis, int(depth) if depth is not None else None, missing)


def delete_scenario(state: JobState, cmdb: Cmdb, name: str) -> str:
    cmdb.saved.delete(SCENARIO, name)
    return name


@dataclass(frozen=True)
class ComparisonRow:
    ci: CiRef
    first: str
    second: str

    @property
    def change(self) -> str:
        if self.first == "ok":
            return "only in second"
        if self.second == "ok":
            return "only in first"
        return f"{self.first} → {self.second}"


@dataclass(frozen=True)
class Comparison:
    """What two scenarios impact differently (CIs impacted in both alike are left out)."""

    first: Scenario
    second: Scenario
    rows: list[ComparisonRow]
    same: int
    counts: tuple[dict[str, int], dict[str, int]]


def compare_scenarios(state: JobState, cmdb: Cmdb, first: str, second: str) -> Comparison:
    """Impact both scenarios and list the CIs whose state differs (``ok`` = not impacted).

    Members of a change set count as ``changed``.
    """
    a = load_scenario(state, cmdb, first)
    b = load_scenario(state, cmdb, second)
    for sc in (a, b):
        if not sc.cis:
            raise NotFoundError(f"Scenario {sc.name!r} has no CI left in the CMDB.")
    reports = []
    for sc in (a, b):
        state.check()
        reports.append(cmdb.analysis.impact([c.id for c in sc.cis], depth=sc.depth))
    states: list[dict[int, str]] = []
    refs: dict[int, CiRef] = {}
    for report in reports:
        cols = report.columns
        st = dict(zip(cols.ids, cols.states, strict=True))
        for i, n, k in zip(cols.ids, cols.names, cols.classes, strict=True):
            refs.setdefault(i, CiRef(i, n, k))
        for c in report.changed:
            st[c.id] = CHANGED
            refs.setdefault(c.id, c)
        states.append(st)
    rows = []
    same = 0
    rank = {CHANGED: 0, "down": 1, "degraded": 2, "ok": 3}
    for ci_id in set(states[0]) | set(states[1]):
        s1, s2 = states[0].get(ci_id, "ok"), states[1].get(ci_id, "ok")
        if s1 == s2:
            same += 1
            continue
        rows.append(ComparisonRow(refs[ci_id], s1, s2))
    rows.sort(key=lambda r: (min(rank[r.first], rank[r.second]), r.ci.name.casefold(), r.ci.id))
    return Comparison(a, b, rows, same, (reports[0].counts, reports[1].counts))


# -- the dependency graph ---------------------------------------------------------


@dataclass(frozen=True)
class GraphRequest:
    """What the graph view wants drawn.

    The neighbourhood of ``centre`` to ``depth`` in ``direction``, plus the
    one-step neighbourhoods of ``expanded_cis``, plus an impact path between
    the centre and ``path_to`` (either way round) when asked; drawn with
    ``expanded_groups`` open, ``collapsed`` CIs closed and ``states`` coloured.
    With ``aggregate``, a big drawing shows each class on each layer as one
    box, except the aggregates in ``expanded_aggregates``.
    """

    centre: int
    depth: int = 2
    direction: str = "both"
    expanded_cis: tuple[int, ...] = ()
    expanded_groups: frozenset[tuple[str, int]] = frozenset()
    collapsed: frozenset[int] = frozenset()
    path_to: int | None = None
    states: Mapping[int, str] | None = None
    threshold: int = GROUP_THRESHOLD
    aggregate: bool = True
    expanded_aggregates: frozenset[str] = frozenset()

    @property
    def expanded_groups_map(self) -> dict[str, int]:
        """Group key → how many of its members to show."""
        return dict(self.expanded_groups)

    def fetch_key(self) -> tuple[Any, ...]:
        """What decides which CIs are read (the rest only changes the drawing)."""
        return (self.centre, self.depth, self.direction, self.expanded_cis, self.path_to)


@dataclass
class GraphResult:
    request: GraphRequest
    picture: Picture
    view: Any  # networkx.DiGraph: kept so that redrawing needs no new reads
    path: list[CiRef] = field(default_factory=list)
    note: str = ""


def dependency_graph(
    state: JobState, cmdb: Cmdb, request: GraphRequest, previous: GraphResult | None = None
) -> GraphResult:
    """Read (unless ``previous`` read the same CIs) and lay out the graph view's drawing."""
    import networkx as nx

    analysis = cmdb.analysis
    note = ""
    path: list[int] = []
    if previous is not None and previous.request.fetch_key() == request.fetch_key():
        view = previous.view
        path = [c.id for c in previous.path]
        note = previous.note
    else:
        state.progress.start("Reading the neighbourhood")
        direction: Any = request.direction
        view = analysis.neighbourhood(request.centre, request.depth, direction)
        for ci in request.expanded_cis:
            state.check()
            view = nx.compose(view, analysis.neighbourhood(ci, 1, direction))
        if request.path_to is not None and request.path_to != request.centre:
            found = analysis.path(request.centre, request.path_to) or analysis.path(
                request.path_to, request.centre
            )
            path = [r.id for r in found]
            if path:
                view = nx.compose(view, analysis.subgraph(path))
            else:
                note = "Impact cannot flow between these two CIs (no impact path either way)."
    state.check()
    picture = build_picture(
        view,
        [request.centre],
        meta=cmdb.meta,
        states=request.states,
        path=path,
        threshold=request.threshold,
        expanded=request.expanded_groups_map,
        collapsed=request.collapsed,
        centre=request.centre,
        aggregate_over=AGGREGATE_OVER if request.aggregate else None,
        expanded_aggregates=request.expanded_aggregates,
        use_dot=True,
        check=state.check,
    )
    refs = cmdb.items.refs(path)
    return GraphResult(request, picture, view, [refs[i] for i in path if i in refs], note)


# -- services ---------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceMap:
    """A service's dependencies by layer and its single points of failure."""

    depends: DependencyMap
    spof: SpofReport

    @property
    def spof_ids(self) -> set[int]:
        return {d.ci.id for d in self.spof.spof}


def service_map(state: JobState, cmdb: Cmdb, ci: int) -> ServiceMap:
    state.progress.start("Finding dependencies")
    depends = cmdb.analysis.depends(ci)
    state.progress.start("Finding single points of failure")
    return ServiceMap(depends, cmdb.analysis.spof(ci, progress=state.progress))


def service_cis(state: JobState, cmdb: Cmdb) -> list[CiRef]:
    """Every CI of a service class, by class then name (the services view's list)."""
    meta = cmdb.meta
    classes = sorted(meta.service_class_ids)
    if not classes:
        return []
    c = ci_table.c
    with cmdb.read() as s:
        rows = s.execute(select(c.id, c.name, c.class_id).where(c.class_id.in_(classes))).all()
    refs = [CiRef(i, n, meta.class_by_id[k].name) for i, n, k in rows]
    refs.sort(key=lambda r: (r.class_name, r.name.casefold(), r.id))
    return refs


# -- health -----------------------------------------------------------------------

#: "All of them": the checks scan everything anyway; only the list grows.
ALL = 1 << 62


def health_report(state: JobState, cmdb: Cmdb, today: date | None = None) -> HealthReport:
    state.progress.start("Checking the CMDB's health")
    return health.report(cmdb, today=today)


def finding_cis(state: JobState, cmdb: Cmdb, key: str) -> Finding:
    """A health check with every CI it finds (``examples`` is not a sample here) and
    every group in ``details`` (duplicates, cycles), for the dashboard's list."""
    check = health.find_check(key)  # ValidationError for an unknown key
    state.progress.start("Listing CIs")
    return check.run(cmdb, health.CheckOptions(date.today(), sample=ALL))
