"""How fast a small command starts (issue 20, PRODUCT.md §7 wave 2).

``cmdb show "#1"`` and ``cmdb set "#1" owner=…`` on the 10k-CI demo, each a
new process run through the installed ``cmdb`` script as a user would, against
the bare-Python reference ``python -c "import sqlite3, json"``. The samples
are interleaved (reference, show, set, reference, …) so that a neighbour's
load falls on both sides, and the ratio is of the medians.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.datasets import dataset
from bench.harness import Figure, Measurement, Sizes, part

#: PRODUCT.md §7: a small command starts in ≤ 6× the bare-Python reference.
TARGET = 6.0


def _cmdb_command() -> list[str]:
    script = Path(sys.executable).with_name("cmdb")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cmdb_desktop"]


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(size: int, repeat: int = 9) -> list[Figure]:
    source, _ = dataset(size)
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "cmdb.sqlite"
        shutil.copyfile(source, db)  # `set` writes: never into the cached dataset
        cmdb = [*_cmdb_command(), "--db", str(db)]
        reference = [sys.executable, "-c", "import sqlite3, json"]
        ref: list[float] = []
        show: list[float] = []
        write: list[float] = []
        orm: list[float] = []
        _wall([*cmdb, "show", "#1"])  # the first run pays the disk cache, not start-up
        for n in range(repeat):
            ref.append(_wall(reference))
            show.append(_wall([*cmdb, "show", "#1"]))
            write.append(_wall([*cmdb, "set", "#1", f"owner=Bench {n}"]))
            orm.append(_wall([sys.executable, "-c", "import sqlalchemy.orm"]))
    base = Measurement('python -c "import sqlite3, json"', ref)
    return [
        Figure(
            f'cmdb show "#1" start to end ({size:,} CIs)', Measurement("show", show), base, TARGET
        ),
        Figure(
            f'cmdb set "#1" start to end ({size:,} CIs)', Measurement("set", write), base, TARGET
        ),
        Figure(
            "import sqlalchemy.orm alone (what a command that writes pays)",
            Measurement("import sqlalchemy.orm", orm),
            base,
            note="what a command pays that writes through the services (set); show, and "
            "impact on a kept graph, read through sqlite3 alone (cmdb_desktop.quickread)",
        ),
    ]


@part("cli")
def run_part(sizes: Sizes, quick: bool) -> list[Figure]:
    return run(sizes["small"], repeat=3 if quick else 9)


if __name__ == "__main__":
    from bench.harness import CACHE, report

    report(run(10_000), CACHE / "results-cli.json")
