"""The core's everyday operations on the 1M-CI CMDB, each against plain sqlite3.

Figures (issue 8), measured in one run on the same file:

* **open → first table page, core** — what the GUI's worker does when a CMDB
  is opened: :meth:`Cmdb.open` and the class catalogue, then the first page
  of ids in name order and the rows of a screenful (typed values, class
  names), against ``sqlite3.connect`` and the same two queries with no typing
  at all. The painted page, against a bare QSqlQueryModel, is
  :mod:`bench.bench_gui`'s (target ≤ 1.5× there).
* **search as you type, core** — each query of :data:`bench.bench_gui.QUERIES`
  typed in turn: the first page of matching ids (FTS5) and a screenful of
  rows, against the same SQL through sqlite3.
* **health report** — :func:`cmdb_desktop.health.report` (seven checks,
  completeness, scores) against sqlite3 reading every CI and relationship
  row once: the least any whole-CMDB check must do.
* **peak memory of a working session** — one process opens the CMDB and does
  what a user's session does (first page, every id of the table, a search,
  the impact graph, the hub impact, depends and spof of a large service, the
  health report); its peak RSS against the 1.5 GB budget.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.bench_gui import QUERIES
from bench.datasets import dataset
from bench.harness import BENCH_DIR, Figure, Measurement, measure

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

#: Rows in the first page of ids, and rows of it fetched whole (a screenful).
PAGE = 200
SCREEN = 40
MEMORY_BUDGET_MB = 1536.0

_ROW_SQL = (
    "SELECT ci.id, ci.name, k.name, ci.status, ci.environment, ci.criticality, ci.owner,"
    " ci.support_group, ci.updated_at FROM ci JOIN ci_class k ON k.id = ci.class_id"
    " WHERE ci.id IN ({marks})"
)


def _ours_first_page(db: Path) -> None:
    from cmdb_desktop import browse
    from cmdb_desktop.browse import BrowseFilter, BrowseSort
    from cmdb_desktop.cmdb import Cmdb

    cmdb = Cmdb.open(db)
    try:
        cmdb.reload_meta()
        ids = browse.page_ids(cmdb, BrowseFilter(), BrowseSort("name"), 0, PAGE)
        browse.rows(cmdb, ids[:SCREEN], browse.DEFAULT_COLUMNS)
    finally:
        cmdb.close()


def _raw_first_page(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        ids = [r[0] for r in conn.execute(f"SELECT id FROM ci ORDER BY name, id LIMIT {PAGE}")]
        first = ids[:SCREEN]
        conn.execute(_ROW_SQL.format(marks=",".join("?" * len(first))), first).fetchall()
    finally:
        conn.close()


def _ours_search(cmdb: Cmdb) -> None:
    from cmdb_desktop import browse
    from cmdb_desktop.browse import BrowseFilter, BrowseSort

    for text in QUERIES:
        ids = browse.page_ids(cmdb, BrowseFilter(text=text), BrowseSort("name"), 0, PAGE)
        browse.rows(cmdb, ids[:SCREEN], browse.DEFAULT_COLUMNS)


def _raw_search(conn: sqlite3.Connection) -> None:
    from cmdb_desktop.search import fts5_query

    for text in QUERIES:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM ci WHERE id IN (SELECT rowid FROM ci_fts WHERE ci_fts MATCH ?)"
                f" ORDER BY name, id LIMIT {PAGE}",
                (fts5_query(text),),
            )
        ]
        first = ids[:SCREEN]
        conn.execute(_ROW_SQL.format(marks=",".join("?" * len(first))), first).fetchall()


def _raw_scan(conn: sqlite3.Connection) -> None:
    for table in ("ci", "relationship"):
        for _ in conn.execute(f"SELECT * FROM {table}"):
            pass


_SESSION = """
import sys
from datetime import date
from bench.bench_impact import _ids_of_class, _pick_hub
from cmdb_desktop import browse, health
from cmdb_desktop.browse import BrowseFilter, BrowseSort
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.impact import dependencies
import sqlite3
db = sys.argv[1]
conn = sqlite3.connect(db)
with Cmdb.open(db) as cmdb:
    cmdb.reload_meta()
    ids = browse.page_ids(cmdb, BrowseFilter(), BrowseSort("name"), 0, 200)
    browse.rows(cmdb, ids[:40], browse.DEFAULT_COLUMNS)
    every = browse.all_ids(cmdb, BrowseFilter(), BrowseSort("name"))
    found = browse.all_ids(cmdb, BrowseFilter(text="ams1 srv"), BrowseSort("name"))
    graph = cmdb.analysis.graph()
    hub = _pick_hub(graph, _ids_of_class(conn, "Site"))
    report = cmdb.analysis.impact(hub)
    impacted = len(report.impacted)
    services = _ids_of_class(conn, "Business Service")
    service = max(services, key=lambda s: len(dependencies(graph, s)))
    cmdb.analysis.depends(service)
    cmdb.analysis.spof(service)
    health.report(cmdb, today=date.today())
with open("/proc/self/status", encoding="ascii") as status:
    peak = next(line for line in status if line.startswith("VmHWM"))
print(int(peak.split()[1]) / 1024, len(every), impacted)
"""


def session_memory(db: Path) -> tuple[float, str]:
    """Peak RSS (MB) of a process that does a user's whole session, and what it held."""
    out = subprocess.run(
        [sys.executable, "-c", _SESSION, str(db)],
        check=True,
        capture_output=True,
        text=True,
        cwd=BENCH_DIR.parent,
    )
    peak, ids, impacted = out.stdout.split()
    return float(peak), f"{int(ids):,} ids in the table, hub impact of {int(impacted):,} CIs"


def run(size: int) -> list[Figure]:
    from datetime import date

    from cmdb_desktop import health
    from cmdb_desktop.cmdb import Cmdb

    db, _ = dataset(size)
    label = f"{size:,} CIs"
    repeat = 7
    _ours_first_page(db)  # the file's first pages in the OS cache, code loaded
    _raw_first_page(db)
    first = measure(
        "Cmdb.open + catalogue + first page + rows", lambda: _ours_first_page(db), repeat
    )
    first_ref = measure(
        "sqlite3 connect + the same two queries", lambda: _raw_first_page(db), repeat
    )
    figures = [
        Figure(
            f"open → first table page, core ({label})",
            first,
            first_ref,
            note=f"{PAGE} ids in name order, {SCREEN} rows typed; the painted page is the GUI's",
        )
    ]

    conn = sqlite3.connect(db)
    with Cmdb.open(db) as cmdb:
        _ours_search(cmdb)
        _raw_search(conn)
        search = measure("browse.page_ids + rows per query", lambda: _ours_search(cmdb), 5)
        search_ref = measure("sqlite3, the same FTS5 SQL", lambda: _raw_search(conn), 5)
        figures.append(
            Figure(
                f"search as you type, core ({label})",
                Measurement(search.name, [s / len(QUERIES) for s in search.samples]),
                Measurement(search_ref.name, [s / len(QUERIES) for s in search_ref.samples]),
                note=f"mean per query over {', '.join(QUERIES)}",
            )
        )

        today = date.today()
        reports: list[object] = []
        check = measure(
            "health.report", lambda: reports.append(health.report(cmdb, today=today)), 2
        )
        scan = measure("sqlite3 reading every CI and relationship row", lambda: _raw_scan(conn), 2)
        findings = getattr(reports[-1], "findings", {})
        figures.append(
            Figure(
                f"health report ({label})",
                check,
                scan,
                note=", ".join(f"{k} {f.count:,}" for k, f in findings.items()),
            )
        )
    conn.close()

    peak, held = session_memory(db)
    figures.append(
        Figure(
            f"memory, a working session ({label})",
            Measurement("peak RSS of the process", [peak], unit="MB"),
            Measurement("budget", [MEMORY_BUDGET_MB], unit="MB"),
            target=1.0,
            note=f"open, first page, every id, search, graph, hub impact, depends, spof, "
            f"health; {held}",
        )
    )
    return figures


if __name__ == "__main__":
    from bench.harness import CACHE, report

    report(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), CACHE / "results-core.json")
