"""Time travel (PRODUCT.md §7 wave 2, §11): ``--as-of`` against the same command now.

On a copy of the demo CMDB (the cached dataset is never touched), a moment T
is taken, then an edit session follows (owners changed, CIs added and
deleted, relationships added: :data:`EDITS` of each). Figures, each a new
process as a user runs it (cold):

* **export --as-of T** against ``export`` of the CMDB now. Target ≤ 2×.
* **impact --as-of T** of a hub CI against ``impact`` of it now. Target ≤ 2×.

``--as-of`` copies the file and undoes the history newer than T in the copy
(:mod:`cmdb_desktop.asof`): the price is one file copy plus the edits since T.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.datasets import dataset
from bench.harness import Figure, Measurement

EDITS = 200


def _cli(db: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cmdb_desktop", "--db", str(db), "--format", "json", *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def _hub(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT target_id FROM relationship GROUP BY target_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return int(row[0])


def _edit_session(db: Path) -> str:
    """Take a moment, then edit after it; the moment as ``--as-of`` takes it."""
    from cmdb_desktop.cmdb import Cmdb
    from cmdb_desktop.models import utcnow

    with Cmdb.open(db) as cmdb:
        moment = utcnow().isoformat()
        time.sleep(0.01)
        ids = [r.id for r in cmdb.items.refs(range(1, EDITS * 3)).values()][: EDITS * 2]
        for n, ci in enumerate(ids[:EDITS]):
            cmdb.items.update(ci, {"owner": f"bench-owner-{n}"})
        added = [
            cmdb.items.create("Server", {"name": f"asof-bench-{n}"}).created[0]
            for n in range(EDITS)
        ]
        for a, b in zip(added, ids[EDITS:], strict=False):
            cmdb.relations.relate(a, "Depends on", b)
        cmdb.items.delete_many(added[: EDITS // 2])
    return moment


def run(size: int, repeat: int = 2) -> list[Figure]:
    source, _ = dataset(size)
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "cmdb.sqlite"
        shutil.copyfile(source, db)
        moment = _edit_session(db)
        hub = f"#{_hub(db)}"
        out = Path(d) / "out.xlsx"
        figures = []
        for name, args in (
            ("export", ("export", "-o", str(out))),
            ("impact", ("impact", hub)),
        ):
            now = [_cli(db, *args) for _ in range(repeat)]
            then = [_cli(db, *args, "--as-of", moment) for _ in range(repeat)]
            figures.append(
                Figure(
                    f"{name} --as-of ({size:,} CIs, {EDITS * 3} edits since)",
                    Measurement(f"{name} --as-of", then),
                    Measurement(f"{name} now", now),
                    target=2.0,
                    note="new processes (cold); the same command on the CMDB now",
                )
            )
    return figures
