"""Impact analysis against a recursive CTE on the same demo CMDB, in one run.

Figures (PRODUCT.md §7 and issues 3 and 8):

* **hub impact, warm** — ``cmdb.analysis.impact`` with states, distances,
  paths and names for a change set of data-centre sites whose blast radius is
  tens of thousands of CIs (the demo has no single CI that large; losing
  several sites at once is the change board's worst case), against a SQLite
  recursive CTE that returns only the reachable ids. Target ≤ 1.0×.
* **hub impact, cold CLI** — a new process: start, open, build the graph,
  compute, print the JSON. Target ≤ 4× the same CTE.
* **small CI**, **depends** and **spof** of the service with most
  dependencies — informational, each against its own CTE.
* **graph build** (in the running process) against the naive NetworkX build
  (every relationship row read and ``add_edges_from``, in a new process).
  Target ≤ 1.0× (issue 8, at 1M CIs).
* **graph ready after open** — a new process opens the CMDB and builds the
  graph, against the same naive build; both report their peak RSS. Target
  ≤ 1.0×.
* **patch after one edit** against a full reload of the graph.
* **memory** of a process that builds the graph and runs the hub impact,
  against the 1.5 GB budget.

rustworkx's ``descendants``/``ancestors`` on the same edges (a Rust BFS, no
states, no names) are reported beside the CTE as a physical-limit hint.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.datasets import dataset
from bench.harness import Figure, Measurement, measure

#: Grow the hub change set until its blast radius reaches this many CIs.
HUB_TARGET = 40_000
MEMORY_BUDGET_MB = 1536.0
#: Issue 3 sets the cold-CLI target (4× the CTE) on a graph of ~250k relationships;
#: on a tiny graph process start alone is many CTEs, on a huge one the build dominates.
COLD_TARGET_RELATIONSHIPS = (150_000, 350_000)


def _flows(conn: sqlite3.Connection) -> tuple[str, str]:
    rows = conn.execute("SELECT id, impact FROM relationship_type").fetchall()
    to_source = ",".join(str(i) for i, flow in rows if flow == "to_source") or "-1"
    to_target = ",".join(str(i) for i, flow in rows if flow == "to_target") or "-1"
    return to_source, to_target


def cte_reach(conn: sqlite3.Connection, seeds: list[int], upstream: bool = False) -> list[int]:
    """The reference: a recursive CTE returning the ids impact can reach from ``seeds``
    (or, ``upstream``, the ids that can reach them), following each type's impact flow
    and skipping Retired/Disposed CIs. No states, distances, paths or names."""
    to_source, to_target = _flows(conn)
    active = "(c.status IS NULL OR c.status NOT IN ('Retired','Disposed'))"
    seed_list = ",".join(str(s) for s in seeds)
    if upstream:
        to_source, to_target = to_target, to_source
    sql = f"""
        WITH RECURSIVE reach(id) AS (
            SELECT id FROM ci c WHERE id IN ({seed_list}) AND {active}
            UNION
            SELECT r.source_id FROM reach JOIN relationship r ON r.target_id = reach.id
                JOIN ci c ON c.id = r.source_id AND {active}
                WHERE r.type_id IN ({to_source})
            UNION
            SELECT r.target_id FROM reach JOIN relationship r ON r.source_id = reach.id
                JOIN ci c ON c.id = r.target_id AND {active}
                WHERE r.type_id IN ({to_target})
        )
        SELECT id FROM reach"""
    return [row[0] for row in conn.execute(sql)]


def _ids_of_class(conn: sqlite3.Connection, cls: str) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT ci.id FROM ci JOIN ci_class k ON k.id = ci.class_id"
            " WHERE k.name = ? AND ci.status = 'In Use' ORDER BY ci.id",
            (cls,),
        )
    ]


def _pick_hub(graph: Any, sites: list[int]) -> list[int]:
    """The sites with the largest blast radii, as many as it takes to reach HUB_TARGET."""
    from cmdb_desktop.impact import blast_radius, dependents

    ranked = sorted(sites, key=lambda s: -len(dependents(graph, s)))
    chosen: list[int] = []
    for site in ranked:
        chosen.append(site)
        if len(blast_radius(graph, chosen)) >= HUB_TARGET:
            break
    return chosen


def _forget_graph(db: Path) -> None:
    """Remove the impact graph kept beside ``db``: the next process loads it."""
    from cmdb_desktop.graph import snapshot_path

    snapshot_path(db).unlink(missing_ok=True)


def _cold_cli(db: Path, seeds: list[int], *, kept: bool = True) -> tuple[float, int]:
    if not kept:
        _forget_graph(db)
    start = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cmdb_desktop",
            "--db",
            str(db),
            "--format",
            "json",
            "impact",
            *[f"#{s}" for s in seeds],
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    return seconds, len(json.loads(out.stdout)["impacted"])


# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child of this
# (large) benchmark process would report the parent's peak.
_MEMORY_PROBE = """
import sys
from cmdb_desktop.cmdb import Cmdb
with Cmdb.open(sys.argv[1]) as cmdb:
    report = cmdb.analysis.impact([int(x) for x in sys.argv[2:]])
with open("/proc/self/status", encoding="ascii") as status:
    peak = next(line for line in status if line.startswith("VmHWM"))
print(int(peak.split()[1]) / 1024)
"""


# Both sides of "graph ready after open" run in a new process with their
# modules already imported: the clock runs from opening the file to a graph
# that answers queries, and the peak RSS is that process's own.
_NAIVE = """
import sqlite3, sys, time
import networkx as nx
start = time.perf_counter()
conn = sqlite3.connect(sys.argv[1])
rows = conn.execute("SELECT source_id, target_id FROM relationship").fetchall()
graph = nx.DiGraph()
graph.add_edges_from(rows)
seconds = time.perf_counter() - start
with open("/proc/self/status", encoding="ascii") as status:
    peak = next(line for line in status if line.startswith("VmHWM"))
print(seconds, int(peak.split()[1]) / 1024, graph.number_of_nodes())
"""

_READY = """
import sys, time
import numpy
from cmdb_desktop.cmdb import Cmdb
import cmdb_desktop.analysis
start = time.perf_counter()
cmdb = Cmdb.open(sys.argv[1])
graph = cmdb.analysis.graph()
seconds = time.perf_counter() - start
with open("/proc/self/status", encoding="ascii") as status:
    peak = next(line for line in status if line.startswith("VmHWM"))
print(seconds, int(peak.split()[1]) / 1024, len(graph))
"""


def _child(script: str, db: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of ``script`` run on ``db`` in a new process."""
    out = subprocess.run(
        [sys.executable, "-c", script, str(db)], check=True, capture_output=True, text=True
    )
    seconds, peak, _nodes = out.stdout.split()
    return float(seconds), float(peak)


def _rustworkx_hint(graph: Any, hub: list[int], service: int) -> dict[str, float]:
    try:
        import rustworkx as rx
    except ImportError:
        return {}
    import numpy as np

    g = rx.PyDiGraph()
    g.add_nodes_from(range(len(graph)))
    owners = np.repeat(np.arange(len(graph)), np.diff(graph.out_ptr))
    g.add_edges_from_no_data(list(zip(owners.tolist(), graph.out_idx.tolist(), strict=True)))
    hub_nodes = graph.index(hub).tolist()
    x = int(graph.index([service])[0])
    t_hub = measure(
        "rustworkx descendants", lambda: [rx.descendants(g, n) for n in hub_nodes], repeat=3
    )
    t_dep = measure("rustworkx ancestors", lambda: rx.ancestors(g, x), repeat=3)
    return {"rustworkx_hub_s": t_hub.median, "rustworkx_ancestors_s": t_dep.median}


def run(size: int) -> list[Figure]:
    from cmdb_desktop.cmdb import Cmdb
    from cmdb_desktop.graph import GraphCache

    db, _ = dataset(size)
    conn = sqlite3.connect(db)
    repeat = 5 if size <= 200_000 else 3
    figures: list[Figure] = []
    with Cmdb.open(db) as cmdb:
        build = measure(
            "ImpactGraph build from the database",
            lambda: GraphCache(cmdb).get(),
            repeat=3 if size <= 200_000 else 1,
        )
        graph = cmdb.analysis.graph()
        hub = _pick_hub(graph, _ids_of_class(conn, "Site"))
        cmdb.analysis.impact(hub)  # warm: graph cached, pages in the OS cache
        cte_ids = cte_reach(conn, hub)
        impacted = len(cmdb.analysis.impact(hub).impacted)
        warm = measure(
            "analysis.impact (states, distances, paths)", lambda: cmdb.analysis.impact(hub), repeat
        )
        cte = measure("recursive CTE, ids only", lambda: cte_reach(conn, hub), repeat)
        services = _ids_of_class(conn, "Business Service")
        from cmdb_desktop.impact import dependencies

        service = max(services, key=lambda s: len(dependencies(graph, s)))
        n_deps = len(dependencies(graph, service))
        hint = _rustworkx_hint(graph, hub, service)
        note = f"{len(hub)} sites, {impacted:,} impacted ({len(cte_ids) - len(hub):,} by the CTE)"
        if hint:
            note += f"; rustworkx descendants {hint['rustworkx_hub_s']:.3f} s"
        figures.append(
            Figure(
                f"impact hub warm ({size:,} CIs)",
                warm,
                cte,
                target=1.0,
                note=note,
                extra={"impacted": impacted, "hub": hub, **hint},
            )
        )

        times = 3 if size <= 200_000 else 2
        loading = [_cold_cli(db, hub, kept=False) for _ in range(times)]
        cold = [_cold_cli(db, hub) for _ in range(times)]  # the first run above kept its graph
        relationships = conn.execute("SELECT count(*) FROM relationship").fetchone()[0]
        low, high = COLD_TARGET_RELATIONSHIPS
        issue3_graph = low <= relationships <= high
        # PRODUCT.md §7 wave 2: ≤ 2× the CTE at 100k CIs, ≤ 3× at 1M.
        wave2 = 2.0 if issue3_graph else 3.0 if size >= 1_000_000 else None
        figures.append(
            Figure(
                f"impact hub cold CLI ({size:,} CIs)",
                Measurement("cmdb --format json impact (new process)", [c[0] for c in cold]),
                cte,
                target=wave2,
                note="process start, open, graph from the file kept beside the CMDB "
                "(checked against the database's counters), compute, JSON on stdout",
            )
        )
        figures.append(
            Figure(
                f"impact hub cold CLI, graph not kept ({size:,} CIs)",
                Measurement("cmdb --format json impact (new process)", [c[0] for c in loading]),
                cte,
                target=4.0 if issue3_graph else None,
                note="the first command after the kept graph is gone: the graph is loaded "
                "from the database and kept"
                + ("" if issue3_graph else "; issue 3's 4× target is set for ~250k relationships"),
            )
        )

        server = _ids_of_class(conn, "Server")[len(_ids_of_class(conn, "Server")) // 2]
        small = measure(
            "analysis.impact of one server", lambda: cmdb.analysis.impact([server]), repeat
        )
        small_cte = measure("recursive CTE, ids only", lambda: cte_reach(conn, [server]), repeat)
        figures.append(
            Figure(
                f"impact one server ({size:,} CIs)",
                small,
                small_cte,
                note=f"{len(cmdb.analysis.impact([server]).impacted)} impacted",
            )
        )

        deps = measure("analysis.depends", lambda: cmdb.analysis.depends(service), repeat)
        up_cte = measure(
            "recursive CTE upstream, ids only",
            lambda: cte_reach(conn, [service], upstream=True),
            repeat,
        )
        n_spof = len(cmdb.analysis.spof(service).spof)
        spof = measure("analysis.spof", lambda: cmdb.analysis.spof(service), repeat)
        dep_note = f"service #{service}: {n_deps:,} dependencies, {n_spof} single points of failure"
        if hint:
            dep_note += f"; rustworkx ancestors {hint['rustworkx_ancestors_s'] * 1000:.2f} ms"
        figures.append(
            Figure(f"depends largest service ({size:,} CIs)", deps, up_cte, note=dep_note)
        )
        figures.append(Figure(f"spof largest service ({size:,} CIs)", spof, up_cte, note=dep_note))

        naive = [_child(_NAIVE, db) for _ in range(1 if size > 200_000 else 3)]
        naive_m = Measurement("naive NetworkX build (rows + add_edges_from)", [n[0] for n in naive])
        naive_mb = max(n[1] for n in naive)
        figures.append(
            Figure(
                f"graph build ({size:,} CIs)",
                build,
                naive_m,
                target=1.0,
                note=f"{len(graph):,} nodes, {graph.edge_count:,} impact edges; in the running "
                "process; reference in a new process",
            )
        )
        ready = []
        for _ in range(3):
            _forget_graph(db)  # a load from the database, as the figure always measured
            ready.append(_child(_READY, db))
        figures.append(
            Figure(
                f"graph ready after open ({size:,} CIs)",
                Measurement("new process: Cmdb.open + analysis.graph()", [r[0] for r in ready]),
                naive_m,
                target=1.0,
                note=f"peak RSS {max(r[1] for r in ready):,.0f} MB vs naive NetworkX "
                f"{naive_mb:,.0f} MB",
                extra={"peak_mb": max(r[1] for r in ready), "naive_peak_mb": naive_mb},
            )
        )

        figures.append(_patch_figure(db, build, size))

    rss = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(db), *[str(h) for h in hub]],
        check=True,
        capture_output=True,
        text=True,
    )
    figures.append(
        Figure(
            f"memory, graph + hub impact ({size:,} CIs)",
            Measurement("peak RSS of the process", [float(rss.stdout.strip())], unit="MB"),
            Measurement("budget", [MEMORY_BUDGET_MB], unit="MB"),
            target=1.0,
        )
    )
    conn.close()
    return figures


def _patch_figure(db: Path, build: Measurement, size: int) -> Figure:
    """Time ``analysis.graph()`` right after one new relationship (on a scratch copy of the
    cached dataset, which stays untouched)."""
    import tempfile

    from cmdb_desktop.cmdb import Cmdb
    from cmdb_desktop.db import copy_sqlite

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "scratch.sqlite"
        copy_sqlite(db, scratch)
        with Cmdb.open(scratch) as cmdb:
            graph = cmdb.analysis.graph()
            a, b = graph.ids[:2].tolist()
            samples = []
            for _ in range(3):
                summary = cmdb.relations.relate(a, "Depends on", b)
                start = time.perf_counter()
                cmdb.analysis.graph()
                samples.append(time.perf_counter() - start)
                cmdb.relations.delete(summary.relationships_created[0])
                cmdb.analysis.graph()
            patches = cmdb.analysis.cache.patches
            reloads = cmdb.analysis.cache.loads - 1
    return Figure(
        f"graph after one edit ({size:,} CIs)",
        Measurement("patch from the history", samples),
        build,
        note=f"new relationship through the facade ({patches} patches, {reloads} reloads); "
        "reference: building from scratch",
    )
