"""Imports of real-shaped workbooks against the same floor (issue 20, PRODUCT.md §7 wave 2).

The workbook of ``bench_import`` is an export: short cells, every column the
CMDB has, relationships with their classes. Users bring other shapes. This
part generates (no external data) the one issue 20 measured on a real-world
file: software CIs with a version, a vendor and a long description, *Depends
on* relationships that name their source and target (no class columns, so
every reference is resolved by name) and no Status column — the status comes
from ``--default status="In Use"``. At full size it has the issue's 63k CIs
and 238k relationships; ``--quick`` scales both by the 10k/100k size ratio.

Figure: import into an empty CMDB (the CLI's path: defaults applied, history,
indexes and FTS written) vs the floor of the same file — calamine reading both
sheets + plain ``sqlite3`` ``executemany`` of their rows into plain tables —
measured alternately in the same run. Target ≤ 1.5×.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from bench.bench_import import floor
from bench.harness import CACHE, Figure, Measurement, Sizes, part
from cmdb_desktop.cmdb import Cmdb

SEED = 20
#: The real-world workbook of issue 20.
FULL_CIS = 63_000
FULL_RELATIONSHIPS = 238_000

_WORDS = (
    "agent client server library runtime driver toolkit framework service daemon plugin "
    "module connector gateway monitor scheduler parser compiler database cache broker "
    "the a of for with and to in on by from that which supports provides handles manages "
    "configuration logging metrics security network storage backup replication cluster"
).split()
_VENDORS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell")


def build_workbook(cis: int, relationships: int) -> Path:
    """The cached workbook: sheets "CIs" (no Status) and "Relationships" (names only)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"import-shape-software-{cis}-{relationships}.xlsx"
    if out.exists():
        return out
    tmp = out.with_name(out.name + ".building.xlsx")
    write_workbook(tmp, cis, relationships)
    tmp.rename(out)
    return out


def write_workbook(out: Path, cis: int, relationships: int) -> None:
    """Generate the shape (same seed, same rows for the same sizes) into ``out``;
    ``tests/importers/test_import_shapes.py`` imports a small one."""
    from openpyxl import Workbook

    rng = random.Random(SEED)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("CIs")
    ws.append(["Name", "Class", "Version", "Vendor", "Description"])
    names = []
    for i in range(cis):
        name = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{i:06d}"
        names.append(name)
        words = rng.randint(40, 120)  # 250–800 characters, like package descriptions
        description = " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."
        version = f"{rng.randint(0, 12)}.{rng.randint(0, 40)}.{rng.randint(0, 200)}"
        ws.append([name, "Software", version, rng.choice(_VENDORS), description])
    rels = wb.create_sheet("Relationships")
    rels.append(["Source", "Type", "Target"])
    seen: set[tuple[int, int]] = set()
    while len(seen) < relationships:
        source = rng.randrange(cis)
        # Dependencies pile up on a few libraries: the biggest hubs have thousands.
        target = int(cis * rng.random() ** 3)
        if source != target and (source, target) not in seen:
            seen.add((source, target))
            rels.append([names[source], "Depends on", names[target]])
    wb.save(out)


def import_once(path: Path, db: Path) -> tuple[float, dict[str, object]]:
    from importers.apply import import_file

    Cmdb.open(db).close()  # creating the schema is not part of the import
    start = time.perf_counter()
    with Cmdb.open(db, user="bench") as cmdb:
        result = import_file(cmdb, path, defaults={"status": "In Use"})
    seconds = time.perf_counter() - start
    return seconds, result.to_json()


def run(cis: int, relationships: int, repeat: int = 3) -> list[Figure]:
    path = build_workbook(cis, relationships)
    imports: list[float] = []
    floors: list[float] = []
    info: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as d:
        for i in range(repeat):
            floors.append(floor(path, Path(d) / f"floor{i}.sqlite"))
            imports.append(0.0)
            imports[-1], info = import_once(path, Path(d) / f"import{i}.sqlite")
    if info.get("errors"):
        raise RuntimeError(f"the shape workbook did not import cleanly: {info['errors']!r:.500}")
    size_mb = path.stat().st_size / 1e6
    return [
        Figure(
            f"import {cis:,} software CIs + {relationships:,} name-referenced rels, "
            "long text, no Status (empty CMDB)",
            Measurement("import", imports),
            Measurement("calamine read + sqlite3 executemany", floors),
            target=1.5,
            note=f"workbook {size_mb:.1f} MB; created {_created(info, 'cis')} CIs and "
            f"{_created(info, 'relationships')} relationships",
        )
    ]


def _created(info: dict[str, object], key: str) -> object:
    counts = info.get(key)
    return counts.get("created") if isinstance(counts, dict) else counts


@part("import-shapes")
def run_part(sizes: Sizes, quick: bool) -> list[Figure]:
    scale = sizes["medium"] / 100_000
    return run(round(FULL_CIS * scale), round(FULL_RELATIONSHIPS * scale), repeat=1 if quick else 3)


if __name__ == "__main__":
    import sys

    from bench.harness import report

    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    report(
        run(round(FULL_CIS * scale), round(FULL_RELATIONSHIPS * scale)),
        CACHE / "results-import-shapes.json",
    )
