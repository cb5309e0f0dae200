"""Demo CMDBs of 10k, 100k and 1M CIs, built with `cmdb demo` and cached between runs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.harness import CACHE

SEED = 1


def dataset(size: int) -> tuple[Path, float | None]:
    """The cached demo CMDB of ``size`` CIs, and how long building it took (None if cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"demo-{size}.sqlite"
    if path.exists():
        return path, None
    tmp = path.with_name(path.name + ".building")
    for leftover in CACHE.glob(tmp.name + "*"):
        leftover.unlink()
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cmdb_desktop",
            "--db",
            str(tmp),
            "demo",
            "--size",
            str(size),
            "--seed",
            str(SEED),
        ],
        check=True,
    )
    seconds = time.perf_counter() - start
    # fold the WAL into the file so its size is the real size
    import sqlite3

    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(path)
    return path, seconds
