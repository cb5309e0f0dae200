"""How fast a canonical workbook imports, against the floor of reading and inserting it.

The workbook: a demo CMDB of ``cis`` CIs (double registrations removed, so
it imports cleanly into an empty CMDB), topped up with extra relationships
to ``relationships`` rows, exported with :func:`importers.export.export_workbook`.

Figures, each with its reference measured in the same run:

* **import into an empty CMDB** vs the *floor*: python-calamine reading the
  same file + plain ``sqlite3`` ``executemany`` of the same rows into plain
  tables (no indexes, triggers, history or checks). Target ≤ 1.5×.
* **unchanged re-import** (everything matched, compared, nothing written)
  vs the same floor. Target ≤ 1.0×.
* **openpyxl read-only** reading the same file, vs calamine reading it: the
  gap the readers avoid (no target; PRODUCT.md §7 says ~20×).
* **reading a 100k-row CSV** (UTF-8, and Windows-1252 whose code page is
  detected) with :func:`importers.readers.open_spreadsheet` vs the floor of
  decoding it with the right codec and ``list(csv.reader(…))``: what encoding
  detection, delimiter sniffing and header detection cost (no target).
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.datasets import dataset
from bench.harness import CACHE, Figure, Measurement
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import copy_sqlite

SEED = 4


def build_workbook(cis: int, relationships: int) -> Path:
    """The cached benchmark workbook (built from a demo CMDB on first use)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"import-{cis}-{relationships}.xlsx"
    if out.exists():
        return out
    from importers.export import export_workbook

    demo, _ = dataset(cis)
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "bench.sqlite"
        copy_sqlite(demo, db)
        conn = sqlite3.connect(db)
        # Double registrations (same serial twice) are errors in a file; drop the twins.
        conn.execute(
            "DELETE FROM ci WHERE id IN (SELECT max(id) FROM ci WHERE serial_number IS NOT NULL "
            "GROUP BY serial_number HAVING count(*) > 1)"
        )
        have = conn.execute("SELECT count(*) FROM relationship").fetchone()[0]
        ids = [r[0] for r in conn.execute("SELECT id FROM ci")]
        types = [r[0] for r in conn.execute("SELECT id FROM relationship_type")]
        existing = set(conn.execute("SELECT source_id, type_id, target_id FROM relationship"))
        rng = random.Random(SEED)
        extra = []
        while have + len(extra) < relationships:
            a, b = rng.sample(ids, 2)
            triple = (a, rng.choice(types), b)
            if triple not in existing:
                existing.add(triple)
                extra.append(triple)
        conn.executemany(
            "INSERT INTO relationship (source_id, type_id, target_id, created_at) "
            "VALUES (?, ?, ?, '2026-01-01 00:00:00.000000')",
            extra,
        )
        conn.commit()
        conn.close()
        with Cmdb.open(db) as cmdb:
            tmp = out.with_name(out.name + ".building.xlsx")
            export_workbook(cmdb, tmp)
            tmp.rename(out)
    return out


def floor(path: Path, db: Path) -> float:
    """Calamine read of both sheets + plain executemany of every row into plain tables."""
    import python_calamine as pc

    start = time.perf_counter()
    book = pc.CalamineWorkbook.from_path(str(path))
    sheets = {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    with conn:
        for n, rows in enumerate(sheets.values()):
            width = len(rows[0])
            cols = ", ".join(f"c{i}" for i in range(width))
            conn.execute(f"CREATE TABLE t{n} ({cols})")
            conn.executemany(
                f"INSERT INTO t{n} VALUES ({', '.join('?' for _ in range(width))})",
                ([None if v == "" else v for v in r] for r in rows[1:]),
            )
    conn.close()
    return time.perf_counter() - start


def openpyxl_read(path: Path) -> float:
    from openpyxl import load_workbook

    start = time.perf_counter()
    wb = load_workbook(path, read_only=True, data_only=True)
    for ws in wb.worksheets:
        for _ in ws.iter_rows(values_only=True):
            pass
    wb.close()
    return time.perf_counter() - start


def calamine_read(path: Path) -> float:
    import python_calamine as pc

    start = time.perf_counter()
    book = pc.CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
    return time.perf_counter() - start


#: Cities and owners of the benchmark CSV: every tenth cell has an accent.
_CITIES = ("Zürich", "Paris", "Genève", "Köln", "Málaga", "Lyon", "Berlin", "Oslo", "Rome", "Ghent")
_OWNERS = ("Renée", "José", "Ann", "Bob", "François", "Jürgen", "Zoë", "Kim", "Lee", "Max")


def build_csv(rows: int, encoding: str) -> Path:
    """The cached benchmark CSV: ``rows`` servers, ten columns, CRLF (as Excel writes)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"read-{rows}-{encoding}.csv"
    if out.exists():
        return out
    rng = random.Random(SEED)
    lines = ["Name,Class,Status,Owner,City,Serial Number,Cost,Purchase Date,Description,Tags"]
    for i in range(rows):
        lines.append(
            f"srv{i:06d},Server,In Use,{rng.choice(_OWNERS)},{rng.choice(_CITIES)},"
            f"SN{i:08d},{rng.randint(100, 9999)}.50,2024-0{rng.randint(1, 9)}-1{i % 10},"
            f"Rack {i % 40} row {i % 7},prod;web"
        )
    tmp = out.with_name(out.name + ".building")
    tmp.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    tmp.rename(out)
    return out


def csv_read(path: Path) -> float:
    from importers.readers import open_spreadsheet

    start = time.perf_counter()
    with open_spreadsheet(path) as book:
        book.read(book.sheet_names[0])
    return time.perf_counter() - start


def csv_floor(path: Path, encoding: str) -> float:
    import csv
    import io

    start = time.perf_counter()
    text = path.read_bytes().decode(encoding)
    list(csv.reader(io.StringIO(text, newline="")))
    return time.perf_counter() - start


def csv_figures(rows: int = 100_000, repeat: int = 3) -> list[Figure]:
    figures = []
    for encoding in ("utf-8", "cp1252"):
        path = build_csv(rows, encoding)
        ours = Measurement("open_spreadsheet + read", [csv_read(path) for _ in range(repeat)])
        floor_samples = [csv_floor(path, encoding) for _ in range(repeat)]
        bare = Measurement("decode + csv.reader", floor_samples)
        figures.append(
            Figure(
                f"read a {rows:,}-row CSV ({encoding})",
                ours,
                bare,
                note=f"{path.stat().st_size / 1e6:.1f} MB",
            )
        )
    return figures


def import_once(path: Path, db: Path) -> tuple[float, dict[str, object]]:
    from importers.apply import import_file

    start = time.perf_counter()
    with Cmdb.open(db, user="bench") as cmdb:
        result = import_file(cmdb, path)
    seconds = time.perf_counter() - start
    return seconds, result.to_json()


def run(cis: int = 63_000, relationships: int = 240_000, repeat: int = 3) -> list[Figure]:
    path = build_workbook(cis, relationships)
    imports: list[float] = []
    reimports: list[float] = []
    floors: list[float] = []
    info: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as d:
        for i in range(repeat):
            floors.append(floor(path, Path(d) / f"floor{i}.sqlite"))
            db = Path(d) / f"import{i}.sqlite"
            Cmdb.open(db).close()  # creating the schema is not part of the import
            seconds, info = import_once(path, db)
            imports.append(seconds)
            seconds, again = import_once(path, db)
            reimports.append(seconds)
            assert again["batch"] is None, again  # unchanged: nothing written
    cis_done = info["cis"]
    rels_done = info["relationships"]
    floor_m = Measurement("calamine read + sqlite3 executemany", floors)
    calamine = Measurement("calamine read", [calamine_read(path)])
    openpyxl = Measurement("openpyxl read-only", [openpyxl_read(path)])
    size_mb = path.stat().st_size / 1e6
    return [
        Figure(
            f"import {cis:,} CIs + {relationships:,} rels (empty CMDB)",
            Measurement("import", imports),
            floor_m,
            target=1.5,
            note=f"workbook {size_mb:.1f} MB; created {cis_done} / {rels_done}",
        ),
        Figure(
            "re-import unchanged",
            Measurement("re-import", reimports),
            floor_m,
            target=1.0,
        ),
        Figure(
            "openpyxl read-only vs calamine",
            openpyxl,
            calamine,
            note="the reading gap the importer avoids",
        ),
        *csv_figures(repeat=repeat),
    ]
