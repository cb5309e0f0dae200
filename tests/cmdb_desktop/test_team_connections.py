"""Team mode connections on a real PostgreSQL server (PRODUCT.md §8, §12): every
way a connection fails is exit 2 and a clear message, and a password is never
printed: not in any output, log line or written report of a whole session.

The test server (:mod:`tests.postgres`) checks passwords on TCP logins.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from tests.postgres import PG_SUPERUSER_PASSWORD, pg_tcp_url

PASSWORD = "Zq7-colleague-Pw"


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def ann(pg: Cmdb, pg_server: str) -> str:
    """A TCP URL, with its password, of a login ``ann`` who may use ``pg``'s database."""
    admin = create_engine(pg_server.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP ROLE IF EXISTS ann"))
        conn.execute(text(f"CREATE ROLE ann LOGIN SUPERUSER PASSWORD '{PASSWORD}'"))
    admin.dispose()
    database = make_url(pg.url).database
    assert database
    return pg_tcp_url(pg_server, database, user="ann", password=PASSWORD)


@pytest.mark.parametrize(
    ("user", "password", "database", "expected"),
    [
        ("postgres", "wrong-Pw-123", "postgres", "check the user name and the password"),
        ("nobody", "wrong-Pw-123", "postgres", "check the user name and the password"),
        ("postgres", "", "postgres", "The server wants a password"),
        ("postgres", PG_SUPERUSER_PASSWORD, "no_such_cmdb", "has no such database"),
    ],
    ids=["wrong-password", "unknown-role", "no-password", "unknown-database"],
)
def test_a_refused_connection_is_exit_2_and_says_what_to_check(
    pg_server: str, user: str, password: str, database: str, expected: str
) -> None:
    url = pg_tcp_url(pg_server, database, user=user, password=password)
    for args in (("health",), ("--format", "json", "health"), ("init",)):
        code, out, err = _run("--db", url, *args)
        assert code == 2, err
        assert "Traceback" not in out + err
        assert f"Cannot connect to postgresql+psycopg://{user}" in err
        assert expected in err
        if password:
            assert password not in out + err and ":***@" in err


def test_unreachable_server_and_bad_url_are_exit_2() -> None:
    code, out, err = _run("--db", "postgresql://ann:Zq7-x@127.0.0.1:1/cmdb", "health")
    assert code == 2 and "Cannot connect to" in err and "Zq7-x" not in out + err
    code, out, err = _run("--db", "postgresql://ann:Zq7-x@db:port/cmdb", "health")
    assert code == 2 and "not a database URL" in err and "Zq7-x" not in out + err


def test_a_whole_session_never_prints_the_password(
    ann: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Every output, every log line (DEBUG included) and every written report."""
    caplog.set_level(logging.DEBUG)
    sheet = tmp_path / "servers.csv"
    sheet.write_text("name,status,serial_number\nweb01,In Use,S1\ndb01,In Use,S2\n")
    report = tmp_path / "impact.xlsx"
    printed = ""
    for args in (
        ("init",),
        ("health",),
        ("--format", "json", "health"),
        ("import", str(sheet), "--class", "Server"),
        ("relate", "web01", "Depends on", "db01"),
        ("impact", "db01", "-o", str(report)),
        ("--format", "json", "show", "web01"),
        ("history", "web01"),
        ("set", "web01", "owner=ann"),
    ):
        code, out, err = _run("--db", ann, *args)
        assert code == 0, (args, err)
        printed += out + err
    captured = capfd.readouterr()
    printed += captured.out + captured.err
    logged = "\n".join(r.getMessage() for r in caplog.records)
    cells = [
        str(c.value)
        for ws in openpyxl.load_workbook(report).worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]
    assert PASSWORD not in printed
    assert PASSWORD not in logged
    assert not any(PASSWORD in c for c in cells)
    assert ":***@127.0.0.1" in printed
    assert any(":***@127.0.0.1" in c for c in cells)
