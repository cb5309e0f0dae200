"""Our layered layout (ui/graph_layout.py) against Graphviz ``dot`` on the same
neighbourhoods of the demo CMDB: edge crossings, drawing area and time.

The neighbourhoods are those the graph view draws: for the first CIs of every
class (sites, services, databases, storage…), depth 2 both ways, built by
:func:`ui.dependency_picture.build_picture` as the view builds them — once
aggregated (the view's default, at most ~60 boxes) and once with every box
(up to 400). Both programs get the same boxes (sizes included), the same
edges and the view's spacing; crossings are counted on the lines as each
program draws them (:func:`ui.graph_layout.layout_crossings`), the area is
the bounding box of the boxes (:func:`ui.graph_layout.drawing_area`), the
time is the layout's (dot's includes starting the program, as the view
would pay it). Needs ``dot`` on PATH (Debian: ``.ci/system-deps PYTHON
graphviz``); without it the part says so and is skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.datasets import dataset
from bench.harness import Figure, Measurement, Sizes, part

#: CIs taken per class as centres, and the depth drawn around them.
PER_CLASS = 2
DEPTH = 2


@dataclass
class Case:
    """One drawing: its boxes, edges and sizes, as the view would lay it out."""

    name: str
    nodes: list[Any]
    edges: list[tuple[Any, Any]]
    sizes: dict[Any, tuple[float, float]]
    pinned: list[Any]
    rank: dict[Any, tuple[str, str]]


def cases(size: int, *, aggregate: bool, per_class: int = PER_CLASS) -> list[Case]:
    """The neighbourhoods measured in the demo of ``size`` CIs (see the module docstring)."""
    path, _ = dataset(size)
    return cases_of(path, aggregate=aggregate, per_class=per_class)


def cases_of(path: Path, *, aggregate: bool, per_class: int = PER_CLASS) -> list[Case]:
    """The neighbourhoods measured in the CMDB at ``path``."""
    from cmdb_desktop import browse
    from cmdb_desktop.browse import BrowseFilter, BrowseSort
    from cmdb_desktop.cmdb import Cmdb
    from ui.dependency_picture import build_picture
    from ui.graph_layout import AGGREGATE_OVER

    out = []
    with Cmdb.open(path, create=False) as cmdb:
        for info in sorted(cmdb.meta.classes, key=lambda c: c.name):
            if info.abstract:
                continue
            flt = BrowseFilter(class_id=info.id)
            for ci in browse.page_ids(cmdb, flt, BrowseSort("name"), 0, per_class):
                view = cmdb.analysis.neighbourhood(ci, DEPTH, "both")
                if view.number_of_edges() < 2:
                    continue
                picture = build_picture(
                    view,
                    [ci],
                    meta=cmdb.meta,
                    centre=ci,
                    aggregate_over=AGGREGATE_OVER if aggregate else None,
                )
                nodes = {n.key: n for n in picture.nodes}
                out.append(
                    Case(
                        f"{info.name} #{ci}",
                        list(nodes),
                        [(e.upper, e.lower) for e in picture.edges],
                        {k: (n.width, n.height) for k, n in nodes.items()},
                        [k for k, n in nodes.items() if n.service],
                        {
                            k: (n.class_name, n.label.casefold() if n.ci_id is not None else "~")
                            for k, n in nodes.items()
                        },
                    )
                )
    return out


def measure_cases(found: list[Case], repeat: int) -> dict[str, dict[str, list[float]]]:
    """Per program, per measure, one value per case (times: the best of ``repeat``)."""
    from ui.dependency_picture import LAYER_GAP
    from ui.graph_dot import dot_layout
    from ui.graph_layout import drawing_area, layered_layout, layout_crossings

    out: dict[str, dict[str, list[float]]] = {
        p: {"crossings": [], "area": [], "seconds": []} for p in ("ours", "dot")
    }
    for case in found:
        runs: dict[str, Any] = {}
        for program in ("ours", "dot"):
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                if program == "ours":
                    lay = layered_layout(
                        case.nodes,
                        case.edges,
                        case.sizes,
                        pinned=case.pinned,
                        order_key=case.rank.__getitem__,
                        layer_gap=LAYER_GAP,
                    )
                else:
                    lay = dot_layout(case.nodes, case.edges, case.sizes, layer_gap=LAYER_GAP)
                best = min(best, time.perf_counter() - start)
            runs[program] = lay
            out[program]["seconds"].append(best)
            out[program]["crossings"].append(float(layout_crossings(lay)))
            out[program]["area"].append(drawing_area(lay.pos, case.sizes))
    return out


def run(size: int, repeat: int = 3) -> list[Figure]:
    from ui.graph_dot import dot_program

    if dot_program() is None:
        print("layout: dot not installed (.ci/system-deps PYTHON graphviz); part skipped")
        return []
    figures = []
    for aggregate in (True, False):
        found = cases(size, aggregate=aggregate)
        got = measure_cases(found, repeat)
        kind = "aggregated" if aggregate else "every box"
        boxes = [len(c.nodes) for c in found]
        worse = sum(
            1
            for a, b in zip(got["ours"]["crossings"], got["dot"]["crossings"], strict=True)
            if a > b
        )
        better = sum(
            1
            for a, b in zip(got["ours"]["crossings"], got["dot"]["crossings"], strict=True)
            if a < b
        )
        note = (
            f"{len(found)} neighbourhoods of the {size:,}-CI demo, depth {DEPTH}, "
            f"{min(boxes)}–{max(boxes)} boxes; ours fewer crossings on {better}, more on {worse}"
        )
        for measure, unit in (("crossings", "crossings"), ("area", "units²"), ("seconds", "s")):
            ours, theirs = got["ours"][measure], got["dot"][measure]
            value = Measurement("ours", [sum(ours)], unit)
            ref = Measurement("dot", [sum(theirs)], unit)
            if measure == "area":
                value = Measurement("ours", [sum(ours) / 1e6], "M units²")
                ref = Measurement("dot", [sum(theirs) / 1e6], "M units²")
            figures.append(
                Figure(
                    f"layout {measure}, {kind} (sum over {len(found)})",
                    value,
                    ref,
                    note=note,
                    extra={
                        "per_case": {"names": [c.name for c in found], "boxes": boxes}
                        | {f"{p}_{measure}": got[p][measure] for p in ("ours", "dot")}
                    },
                )
            )
    return figures


@part("layout")
def run_part(sizes: Sizes, quick: bool) -> list[Figure]:
    return run(sizes["small"], repeat=1 if quick else 3)
