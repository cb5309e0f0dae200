"""Audit of a large inventory sheet against the 1M-CI CMDB, against the import floor.

The sheet is what an auditor brings back from a physical inventory: ``rows``
workstations (serial number, asset tag, name, class, manufacturer, model,
assigned to, status). Most are CIs of the demo CMDB, a few per cent disagree
with it (another user, another status), a few per cent are not registered at
all, and the rest of the CMDB's workstations are not in the sheet ("only in
CMDB", the default scope being the sheet's classes). It is built once from
the cached dataset and kept in ``bench/cache/``.

Figure: :func:`importers.audit.audit_file` (read, map, match every row by the
identification rules against the whole CMDB, compare typed values, list what
is missing) against the *import floor of the same sheet*: python-calamine
reading it + plain ``sqlite3`` ``executemany`` of its rows into a plain
table, measured in the same run. No target is set for it (issue 8 asks for
the figure); the import's ≤ 1.5× is the yardstick.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.bench_import import floor
from bench.datasets import dataset
from bench.harness import CACHE, Figure, Measurement

SEED = 8
HEADERS = (
    "Serial Number",
    "Asset Tag",
    "Name",
    "Class",
    "Manufacturer",
    "Model",
    "Assigned To",
    "Status",
)
#: Shares of the sheet's rows that disagree with the CMDB / are not registered.
MISMATCHED = 0.04
UNREGISTERED = 0.03


def build_sheet(size: int, rows: int) -> Path:
    """The cached inventory sheet of ``rows`` workstations for the ``size`` dataset."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"audit-{size}-{rows}.xlsx"
    if out.exists():
        return out
    from openpyxl import Workbook

    db, _ = dataset(size)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        cis = conn.execute(
            "SELECT ci.serial_number, ci.asset_tag, ci.name, ci.manufacturer, ci.model,"
            " ci.assigned_to, ci.status FROM ci JOIN ci_class k ON k.id = ci.class_id"
            " WHERE k.name = 'Workstation' ORDER BY ci.id"
        ).fetchall()
        people = sorted({r[5] for r in cis if r[5]})
    finally:
        conn.close()
    rng = random.Random(SEED)
    unregistered = int(rows * UNREGISTERED)
    chosen = rng.sample(cis, min(rows - unregistered, len(cis)))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Inventory")
    ws.append(list(HEADERS))
    for serial, tag, name, maker, model, user, status in chosen:
        if rng.random() < MISMATCHED:
            if rng.random() < 0.5:
                user = rng.choice(people)
            else:
                status = "In Stock" if status != "In Stock" else "In Use"
        ws.append([serial, tag, name, "Workstation", maker, model, user, status])
    for n in range(unregistered):
        ws.append(
            [
                f"NEW{n:07d}",
                f"AT-N{n:07d}",
                f"WS-NEW-{n:07d}",
                "Workstation",
                "Lenovo",
                "ThinkPad T14",
                rng.choice(people),
                "In Use",
            ]
        )
    tmp = out.with_name(out.name + ".building.xlsx")
    wb.save(tmp)
    tmp.rename(out)
    return out


def audit_once(db: Path, sheet: Path) -> tuple[float, dict[str, int]]:
    from cmdb_desktop.cmdb import Cmdb
    from importers.audit import audit_file

    start = time.perf_counter()
    with Cmdb.open(db) as cmdb:
        result = audit_file(cmdb, sheet)
    return time.perf_counter() - start, result.counts()


def run(size: int, rows: int = 100_000, repeat: int = 3) -> list[Figure]:
    db, _ = dataset(size)
    sheet = build_sheet(size, rows)
    audits: list[float] = []
    floors: list[float] = []
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as d:
        for i in range(repeat):
            floors.append(floor(sheet, Path(d) / f"floor{i}.sqlite"))
            seconds, counts = audit_once(db, sheet)
            audits.append(seconds)
    return [
        Figure(
            f"audit {rows:,}-row sheet vs {size:,}-CI CMDB",
            Measurement("audit_file", audits),
            Measurement("import floor of the sheet (calamine + executemany)", floors),
            note=", ".join(f"{k} {v:,}" for k, v in counts.items()),
            extra={"counts": counts},
        )
    ]
