"""How long `cmdb demo --size N` takes, and how big the file is."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Figure, Measurement


def _raw_floor(path: Path, n_cis: int, n_rels: int) -> float:
    """Reference: plain sqlite3 executemany of as many narrow rows into one table pair."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE ci (id INTEGER PRIMARY KEY, class_id INT, name TEXT, status TEXT,"
        " owner TEXT, serial TEXT)"
    )
    conn.execute("CREATE TABLE rel (id INTEGER PRIMARY KEY, s INT, t INT, k INT)")
    start = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO ci VALUES (?,?,?,?,?,?)",
            ((i, i % 14, f"ci-{i}", "In Use", "Someone", f"SN{i}") for i in range(1, n_cis + 1)),
        )
        conn.executemany(
            "INSERT INTO rel VALUES (?,?,?,?)",
            ((i, i % n_cis + 1, (i * 7) % n_cis + 1, i % 8) for i in range(1, n_rels + 1)),
        )
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def run(size: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "demo.sqlite"
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
                "demo",
                "--size",
                str(size),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        import json

        info = json.loads(out.stdout)
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        size_mb = os.path.getsize(db) / 1e6
        floor = _raw_floor(Path(d) / "floor.sqlite", info["cis"], info["relationships"])
    return [
        Figure(
            f"demo --size {size:,}",
            Measurement("cmdb demo", [seconds]),
            Measurement("sqlite3 executemany (narrow rows)", [floor]),
            note=(
                f"{info['cis']:,} CIs, {info['relationships']:,} relationships, "
                f"file {size_mb:,.0f} MB"
            ),
            extra={
                "file_mb": round(size_mb, 1),
                "cis": info["cis"],
                "relationships": info["relationships"],
            },
        )
    ]
