"""Conflicts of 1,000 changes over a quarter against their 1,000 impacts, in one run.

PRODUCT.md §7 (wave 2): conflicts of 1,000 changes scheduled over a quarter
at 1M CIs ≤ 2× the time of computing their 1,000 impacts.

The schedule is drawn with a fixed seed from the demo CMDB's active CIs:
change sets of one to three CIs (servers, virtual machines, databases,
network and power devices, clusters), windows of one to six hours starting
on the hour anywhere in 90 days, with a blackout window over the Business
Services for a week and a maintenance window over a tenth of the servers.
Nothing is written to the dataset: the changes are given to the conflict
engine directly (:class:`~cmdb_desktop.change_mgmt.conflicts.ConflictFinder`,
which is what ``change conflicts`` and ``change list`` run after reading
the changes).

* **value** — every change's conflicts (same-ci, overlap, combined,
  blackout, outside-maintenance), one finder for the quarter, warm graph.
* **reference** — ``cmdb.analysis.impact`` of each change set (what
  ``cmdb impact`` computes: states, distances, paths, names).
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from bench.datasets import dataset
from bench.harness import Figure, measure

CHANGES = 1_000
SEED = 16
CLASSES = (
    "Server",
    "Virtual Machine",
    "Database",
    "Network Device",
    "Power Device",
    "Cluster",
    "Application",
)


def _ids(conn: sqlite3.Connection, classes: tuple[str, ...]) -> list[int]:
    marks = ",".join("?" for _ in classes)
    return [
        r[0]
        for r in conn.execute(
            "SELECT ci.id FROM ci JOIN ci_class c ON c.id = ci.class_id "
            f"WHERE c.name IN ({marks}) AND (ci.status IS NULL OR ci.status NOT IN "
            "('Retired','Disposed')) ORDER BY ci.id",
            classes,
        )
    ]


def schedule(candidates: list[int], n: int = CHANGES, seed: int = SEED) -> list[Any]:
    from cmdb_desktop.change_mgmt.conflicts import Planned

    rng = random.Random(seed)
    quarter = datetime(2027, 1, 1)
    out = []
    for i in range(1, n + 1):
        start = quarter + timedelta(hours=rng.randrange(90 * 24))
        cis = tuple(sorted(set(rng.sample(candidates, rng.randint(1, 3)))))
        out.append(Planned(i, start, start + timedelta(hours=rng.randint(1, 6)), cis, True))
    return out


def run(size: int) -> list[Figure]:
    from cmdb_desktop.change_mgmt.conflicts import ConflictFinder, ScopedWindow
    from cmdb_desktop.change_mgmt.windows import WindowRule
    from cmdb_desktop.cmdb import Cmdb

    db, _ = dataset(size)
    conn = sqlite3.connect(db)
    candidates = _ids(conn, CLASSES)
    services = frozenset(_ids(conn, ("Business Service",)))
    servers = _ids(conn, ("Server",))
    conn.close()
    changes = schedule(candidates)
    rng = random.Random(SEED)
    windows = [
        ScopedWindow(
            WindowRule(
                "quarter close", "blackout", datetime(2027, 3, 24), datetime(2027, 3, 31)
            ),
            services,
        ),
        ScopedWindow(
            WindowRule(
                "server nights",
                "maintenance",
                datetime(2027, 1, 1),
                None,
                "FREQ=DAILY;BYHOUR=22;BYMINUTE=0",
                timedelta(hours=6),
                "UTC",
            ),
            frozenset(rng.sample(servers, len(servers) // 10)),
        ),
    ]
    with Cmdb.open(db) as cmdb:
        graph = cmdb.analysis.graph()
        found: dict[str, int] = {}

        def conflicts() -> None:
            finder = ConflictFinder(graph, changes, windows)
            found.clear()
            for c in changes:
                for k in finder.conflicts(c):
                    found[k.kind] = found.get(k.kind, 0) + 1

        def impacts() -> None:
            for c in changes:
                cmdb.analysis.impact(c.change_set)

        impacts()  # warm: names and pages in the caches
        repeat = 3 if size <= 200_000 else 2
        value = measure("conflicts of 1,000 changes (ConflictFinder)", conflicts, repeat)
        reference = measure("1,000 impacts (analysis.impact)", impacts, repeat)
    return [
        Figure(
            f"change conflicts, quarter ({size:,} CIs)",
            value,
            reference,
            target=2.0,
            note=", ".join(f"{k} {v}" for k, v in sorted(found.items())),
            extra={"changes": CHANGES, "conflicts": found},
        )
    ]
