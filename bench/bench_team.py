"""Team mode (PRODUCT.md §7, §12): the same work on PostgreSQL as on SQLite,
both measured in the same run.

A private PostgreSQL server is started for the run (initdb + pg_ctl in a
temporary folder, a private port, as in tests/postgres.py; the Debian package
``postgresql`` must be installed). Figures, each with SQLite as the reference:

* **import of the canonical workbook** (bench_import's: ``cis`` CIs and their
  relationships) into an empty CMDB. Target ≤ 2×.
* **hub impact, warm** — ``cmdb.analysis.impact`` of the sites whose blast
  radius is largest (bench_impact's hub), on the CMDB that import wrote.
  Target ≤ 2×.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.bench_impact import _pick_hub
from bench.bench_import import build_workbook
from bench.harness import Figure, measure


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@contextmanager
def private_server() -> Iterator[str]:
    """``postgresql+psycopg://…/{db}`` of a throw-away server for this run."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise SystemExit("bench team: install PostgreSQL (apt-get install postgresql)")
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = tempfile.mkdtemp(prefix="cmdb-bench-pg-")
    if run_as:
        shutil.chown(base, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = os.path.join(base, "data")
    subprocess.run(
        [*run_as, initdb, "-D", data, "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            data,
            "-l",
            os.path.join(base, "log"),
            "-o",
            f"-k {base} -h '' -p {port}",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@/{{db}}?host={base}&port={port}"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", data, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _fresh_database(server: str, name: str) -> str:
    admin = create_engine(server.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.format(db=name)


def run(cis: int, relationships: int, repeat: int = 1) -> list[Figure]:
    from cmdb_desktop.cmdb import Cmdb
    from importers.apply import import_file

    book = build_workbook(cis, relationships)
    figures: list[Figure] = []
    with private_server() as server, tempfile.TemporaryDirectory() as d:
        targets: dict[str, str] = {}

        def fresh(kind: str) -> None:
            if kind == "sqlite":
                path = Path(d) / "bench.sqlite"
                for p in Path(d).glob("bench.sqlite*"):
                    p.unlink()
                targets[kind] = str(path)
            else:
                targets[kind] = _fresh_database(server, "bench_team")
            Cmdb.open(targets[kind]).close()  # the schema is not part of the import

        def do_import(kind: str) -> None:
            with Cmdb.open(targets[kind]) as cmdb:
                result = import_file(cmdb, book)
                assert result.written and not result.errors

        lite = measure(
            "SQLite import", lambda: do_import("sqlite"), repeat, setup=lambda: fresh("sqlite")
        )
        pg = measure(
            "PostgreSQL import",
            lambda: do_import("postgresql"),
            repeat,
            setup=lambda: fresh("postgresql"),
        )
        figures.append(Figure(f"team: import {cis:,}-CI workbook on PostgreSQL", pg, lite, 2.0))
        hubs = {}
        impacts = {}
        for kind in ("sqlite", "postgresql"):
            cmdb = Cmdb.open(targets[kind])
            graph = cmdb.analysis.graph()
            site = cmdb.meta.get_class("Site").id
            with cmdb.read() as s:
                sites = [
                    int(r[0])
                    for r in s.execute(
                        text(
                            "SELECT id FROM ci WHERE class_id = :c AND status = 'In Use' "
                            "ORDER BY id"
                        ),
                        {"c": site},
                    )
                ]
            hubs[kind] = _pick_hub(graph, sites)
            cmdb.analysis.impact(hubs[kind])  # warm
            impacts[kind] = cmdb
        lite_i = measure(
            "SQLite hub impact", lambda: impacts["sqlite"].analysis.impact(hubs["sqlite"]), 5
        )
        pg_i = measure(
            "PostgreSQL hub impact",
            lambda: impacts["postgresql"].analysis.impact(hubs["postgresql"]),
            5,
        )
        for cmdb in impacts.values():
            cmdb.close()
        figures.append(
            Figure(
                "team: hub impact on PostgreSQL (warm)",
                pg_i,
                lite_i,
                2.0,
                note=f"{len(hubs['sqlite'])} sites",
            )
        )
    return figures
