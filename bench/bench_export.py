"""Export of the whole 1M-CI CMDB to the canonical workbook, against openpyxl's floor.

Figure: :func:`importers.export.export_workbook` (every CI with every
attribute its class has, every relationship by name and class, formula-safe
cells, sheets continued past Excel's row limit, a file that re-imports
unchanged) against the *floor* of writing the same workbook with openpyxl:
the same rows read with plain sqlite3 (``SELECT *`` of the CIs, the
relationships joined to their ends' names) and appended as they come to two
write-only sheets, with no checks, no styling and nothing to make them
importable. PRODUCT.md §4 has openpyxl write the exports, so that floor is
the price of the format; the ratio shows what the export adds to it.

At 1M CIs each side takes minutes, so each is measured once (the spread of
a single sample is 0); smaller datasets are measured three times.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from bench.datasets import dataset
from bench.harness import Figure, Measurement

#: Excel's rows per sheet, less the header (the floor continues on a new sheet, too).
SHEET_ROWS = 1_048_575


def floor(db: Path, out: Path) -> float:
    """sqlite3 rows appended to openpyxl write-only sheets, saved: the least an export costs."""
    from openpyxl import Workbook

    start = time.perf_counter()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    wb = Workbook(write_only=True)
    queries = {
        "CIs": "SELECT * FROM ci ORDER BY class_id, name, id",
        "Relationships": "SELECT s.name, t.name, d.name, sc.name, dc.name FROM relationship r"
        " JOIN ci s ON s.id = r.source_id JOIN ci d ON d.id = r.target_id"
        " JOIN relationship_type t ON t.id = r.type_id"
        " JOIN ci_class sc ON sc.id = s.class_id JOIN ci_class dc ON dc.id = d.class_id"
        " ORDER BY r.id",
    }
    for title, sql in queries.items():
        ws = wb.create_sheet(title)
        rows = 0
        for row in conn.execute(sql):
            if rows == SHEET_ROWS:
                ws = wb.create_sheet(f"{title} {len(wb.worksheets) + 1}")
                rows = 0
            ws.append(row)
            rows += 1
    wb.save(out)
    conn.close()
    return time.perf_counter() - start


def export_once(db: Path, out: Path) -> tuple[float, int, int]:
    from cmdb_desktop.cmdb import Cmdb
    from importers.export import export_workbook

    start = time.perf_counter()
    with Cmdb.open(db) as cmdb:
        result = export_workbook(cmdb, out)
    return time.perf_counter() - start, result.cis, result.relationships


def run(size: int) -> list[Figure]:
    db, _ = dataset(size)
    repeat = 1 if size > 200_000 else 3
    exports: list[float] = []
    floors: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(repeat):
            out = Path(d) / "export.xlsx"
            seconds, cis, rels = export_once(db, out)
            exports.append(seconds)
            megabytes = out.stat().st_size / 1e6
            out.unlink()
            floors.append(floor(db, Path(d) / "floor.xlsx"))
            (Path(d) / "floor.xlsx").unlink()
    return [
        Figure(
            f"export {size:,} CIs",
            Measurement("export_workbook", exports),
            Measurement("openpyxl write-only of the same rows", floors),
            note=f"{cis:,} CIs + {rels:,} relationships, {megabytes:.0f} MB; "
            f"{cis / min(exports):,.0f} CIs/s",
            extra={"cis": cis, "relationships": rels, "file_mb": round(megabytes, 1)},
        )
    ]
