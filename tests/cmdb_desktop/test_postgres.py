"""The same core on PostgreSQL (team mode): a throw-away server in a temp folder.

Skips when PostgreSQL's server binaries or the psycopg driver are missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from cmdb_desktop import demo, health
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import StaleVersionError

pytest.importorskip("psycopg")


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not installed")
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        run_as = ["runuser", "-u", "postgres", "--"]
    base = tempfile.mkdtemp(prefix="cmdb-pg-")
    if run_as:
        shutil.chown(base, "postgres")
    data, port = os.path.join(base, "data"), _free_port()
    try:
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
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {exc}")
    yield f"postgresql+psycopg://postgres@/{{db}}?host={base}&port={port}"
    subprocess.run([*run_as, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg(pg_server: str, request: pytest.FixtureRequest) -> Iterator[Cmdb]:
    name = "t_" + request.node.name.lower()[:40]
    admin = create_engine(pg_server.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    c = Cmdb.open(pg_server.format(db=name), user="pg-tester")
    yield c
    c.close()


def test_core_on_postgres(pg: Cmdb) -> None:
    a = pg.items.create(
        "Server",
        {"name": "web01", "status": "In Use", "serial_number": "S1", "purchase_date": "2024-01-02"},
    ).created[0]
    b = pg.items.create("Rack", {"name": "r1", "status": "In Use"}).created[0]
    pg.relations.relate(a, "Located in", b)
    pg.items.update(a, {"owner": "x"}, expected_version=1)
    with pytest.raises(StaleVersionError):
        pg.items.update(a, {"owner": "y"}, expected_version=1)
    assert pg.search.search("web") == [a]
    assert [e.field for e in pg.history.for_ci(a)][0] == "owner"
    pg.classes.add_attribute("Server", "Slots", "integer")
    pg.items.update(a, {"slots": 3})
    pg.classes.update_class("Server", required_fields=["slots"])
    assert health.report(pg).findings["missing_required"].count == 0
    with pg.write() as s, pytest.raises(Exception, match="append-only"):
        s.execute(text("DELETE FROM change_record"))


def test_demo_then_more_cis_on_postgres(pg: Cmdb) -> None:
    demo.generate(pg, 300, seed=1)
    new = pg.items.create("Server", {"name": "after-demo", "status": "In Use"}).created[0]
    assert new > 300
    assert pg.items.count() == 301
    assert health.report(pg).total_cis == 301
