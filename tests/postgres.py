"""PostgreSQL fixtures (team mode): a throw-away server in a temporary folder.

A pytest plugin (``pytest_plugins`` in ``tests/conftest.py``), not a test
module: any test takes ``pg`` (a new, empty CMDB database on that server) or
``pg_server`` (its URL template). One server per test session, on a private
port and data folder, started on first use (``make pytest`` installs the
Debian package through ``.ci/system-deps`` where it is missing). Local socket
connections are trusted; TCP connections on 127.0.0.1 need a password
(scram-sha-256), so that logins can be refused as on a real server
(:data:`PG_SUPERUSER_PASSWORD`, :func:`pg_tcp_url`). Without PostgreSQL's server
binaries or the psycopg driver, only the tests that take them skip, saying
why; the SQLite tests beside them in the same module still run.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cmdb_desktop.cmdb import Cmdb


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The superuser's password for TCP logins on the test server.
PG_SUPERUSER_PASSWORD = "pg-tests-superuser"


def pg_tcp_url(pg_server: str, db: str, user: str = "postgres", password: str = "") -> str:
    """A TCP (password-checked) URL to database ``db`` of the test server."""
    url = make_url(pg_server.format(db=db))
    port = url.query["port"]
    return (
        url.set(host="127.0.0.1", port=int(str(port)), username=user, password=password or None)
        .difference_update_query(["host", "port"])
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """``postgresql+psycopg://…/{db}``: the session's server (Unix socket, trusted)."""
    pytest.importorskip("psycopg", reason="the psycopg driver is not installed")
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not installed: "
            "apt-get install postgresql, or run `make pytest`"
        )
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
            [
                *run_as,
                initdb,
                "-D",
                data,
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
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
                f"-k {base} -h 127.0.0.1 -p {port} -c fsync=off",
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {exc}")
    url = f"postgresql+psycopg://postgres@/{{db}}?host={base}&port={port}"
    admin = create_engine(url.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"ALTER ROLE postgres PASSWORD '{PG_SUPERUSER_PASSWORD}'"))
    admin.dispose()
    yield url
    subprocess.run([*run_as, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``backends`` runs on both: its ``cmdb`` (tests/conftest.py) is a
    file, then a database on the session's server."""
    if metafunc.definition.get_closest_marker("backends") and "cmdb" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where ``cmdb`` lives: "sqlite" unless the test is marked ``backends``."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def pg(pg_server: str, request: pytest.FixtureRequest) -> Iterator[Cmdb]:
    """A new CMDB in its own database on the module's server."""
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    admin = create_engine(pg_server.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    c = Cmdb.open(pg_server.format(db=name), user="pg-tester")
    yield c
    c.close()


TEAM_DATABASE = "team_cmdb"


@dataclass
class Team:
    admin_url: str  # the server's superuser, on the postgres database
    urls: dict[str, str]  # role -> a login with that role, on DATABASE
    passwords: dict[str, str]


@pytest.fixture(scope="session")
def pg_team(pg_server: str) -> Iterator[Team]:
    """A team database set up by ``cmdb server setup``, with one login per role."""
    from cmdb_desktop.cli import main

    admin_url = pg_tcp_url(pg_server, "postgres", password=PG_SUPERUSER_PASSWORD)
    owner = create_engine(pg_server.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEAM_DATABASE}"))
    owner.dispose()
    out, err = io.StringIO(), io.StringIO()
    assert (
        main(["server", "setup", admin_url, "--database", TEAM_DATABASE], out=out, err=err) == 0
    ), err.getvalue()
    assert "schema created" in out.getvalue()
    db_admin = pg_tcp_url(pg_server, TEAM_DATABASE, password=PG_SUPERUSER_PASSWORD)
    urls, passwords = {}, {}
    with pytest.MonkeyPatch.context() as mp:
        for role in ("viewer", "editor", "admin"):
            user, password = f"{role}_login", f"Pw-{role}-9x"
            mp.setattr("sys.stdin", io.StringIO(password + "\n"))
            out, err = io.StringIO(), io.StringIO()
            code = main(
                ["--db", db_admin, "server", "grant", user, role, "--password-stdin"],
                out=out,
                err=err,
            )
            assert code == 0, err.getvalue()
            assert password not in out.getvalue() + err.getvalue()
            urls[role] = pg_tcp_url(pg_server, TEAM_DATABASE, user=user, password=password)
            passwords[role] = password
    yield Team(admin_url, urls, passwords)
