"""Credentials are never printed (PRODUCT.md §8, §12): a database URL's password
shows as ``***`` in every output, message and report, and an unreachable server
is a clear message (exit 2), not a traceback."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.engine import make_url

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import display_url, make_engine
from cmdb_desktop.errors import DatabaseConnectionError
from importers.impact_report import SUMMARY_SHEET, write_impact_report
from tests.refusals import assert_refused, run_cmdb

REPO = Path(__file__).resolve().parents[2]
UNREACHABLE = "postgresql://user:secret@127.0.0.1:1/db"
SHOWN = "postgresql://user:***@127.0.0.1:1/db"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (UNREACHABLE, SHOWN),
        (
            "postgresql+psycopg://ann:s%40cret@db:5432/cmdb",
            "postgresql+psycopg://ann:***@db:5432/cmdb",
        ),
        (
            "postgresql://ann@db/cmdb?password=secret&sslmode=require",
            "postgresql://ann@db/cmdb?password=***&sslmode=require",
        ),
        ("postgresql://ann@db/cmdb?sslpassword=secret", "postgresql://ann@db/cmdb?sslpassword=***"),
        # a raw "@" in the password: SQLAlchemy would put the rest of it in the host
        ("postgresql://ann:se@cret@db/cmdb", "postgresql://ann:***@db/cmdb"),
        # no URL SQLAlchemy can parse (the port is not a number): masked all the same
        ("postgresql://ann:secret@db:port/cmdb", "postgresql://ann:***@db:port/cmdb"),
        ("postgresql://ann@db/cmdb", "postgresql://ann@db/cmdb"),
        ("sqlite:////var/cmdb/cmdb.sqlite", "sqlite:////var/cmdb/cmdb.sqlite"),
        ("/home/ann/cmdb:secret@x.sqlite", "/home/ann/cmdb:secret@x.sqlite"),  # a path, as it is
    ],
)
def test_display_url(url: str, shown: str) -> None:
    assert display_url(url) == shown
    if "://" in url and "secret" in url:
        assert "secret" not in display_url(url) and "cret" not in display_url(url)


def test_describe_a_file_is_its_path(cmdb: Cmdb) -> None:
    assert cmdb.describe() == str(cmdb.path)


def test_impact_report_summary_hides_the_password(cmdb: Cmdb, tmp_path: Path) -> None:
    ci = cmdb.items.create("Server", {"name": "web01", "status": "In Use"}).created[0]
    report = cmdb.analysis.impact([ci])
    out = write_impact_report(report, tmp_path / "impact.xlsx", cmdb=UNREACHABLE, user="ann")
    ws = openpyxl.load_workbook(out)[SUMMARY_SHEET]
    assert (ws["A2"].value, ws["B2"].value) == ("CMDB", SHOWN)
    cells = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any("secret" in c for c in cells)


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", UNREACHABLE, *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ("health",),
        ("--format", "json", "health"),
        ("impact", "web01", "-o", "REPORT"),
        ("--format", "json", "impact", "web01", "-o", "REPORT"),
        ("show", "web01"),
        ("init",),
    ],
)
def test_unreachable_server_is_a_clear_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    report = tmp_path / "impact.xlsx"
    code, out, err = _cli(*(str(report) if a == "REPORT" else a for a in args))
    assert code == 2
    assert "secret" not in out + err
    assert "Traceback" not in out + err
    assert f"Cannot connect to {SHOWN}" in err
    assert "Check that the server is running" in err
    if "json" in args:
        data = json.loads(out)
        assert data["error"] == "DatabaseConnectionError" and SHOWN in data["message"]
    assert not report.exists()


def test_unreachable_server_from_the_installed_command(tmp_path: Path) -> None:
    """As a user runs it: the process's own stdout and stderr, logging included."""
    done = subprocess.run(
        [sys.executable, "-m", "cmdb_desktop", "--db", UNREACHABLE, "health"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "secret" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr and SHOWN in done.stderr


def test_missing_driver_is_a_clear_error() -> None:
    if importlib.util.find_spec("pymssql") is not None:
        pytest.skip("pymssql is installed here")
    with pytest.raises(DatabaseConnectionError, match="driver is not installed") as info:
        make_engine("mssql+pymssql://sa:secret@db/cmdb")
    assert "secret" not in str(info.value)


def test_unknown_driver_is_a_clear_error() -> None:
    with pytest.raises(DatabaseConnectionError, match="no database kind or driver") as info:
        make_engine("mssql+nosuchdriver://sa:secret@db/cmdb")
    assert "secret" not in str(info.value)


def test_unreadable_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseConnectionError, match="not a database URL") as info:
        Cmdb.open("postgresql://ann:secret@db:port/cmdb")
    assert "secret" not in str(info.value)


# -- on a real server (skips without PostgreSQL or psycopg) --------------------------------


def test_a_password_is_never_printed_on_postgres(pg: Cmdb, tmp_path: Path) -> None:
    """The server trusts local users, so the password is accepted and never needed:
    what matters is every output of a session opened with it."""
    url = make_url(pg.url).set(password="secret").render_as_string(hide_password=False)
    assert "secret" in url
    pg.items.create("Server", {"name": "web01", "status": "In Use"})
    with Cmdb.open(url) as opened:
        assert "secret" not in opened.describe() and ":***@" in opened.describe()
    report = tmp_path / "impact.xlsx"
    printed = ""
    for args in (
        ("health",),
        ("--format", "json", "health"),
        ("impact", "web01", "-o", str(report)),
        ("--format", "json", "show", "web01"),
    ):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--db", url, *args], out=out, err=err)
        assert code == 0, err.getvalue()
        printed += out.getvalue() + err.getvalue()
    assert "secret" not in printed and ":***@" in printed
    ws = openpyxl.load_workbook(report)[SUMMARY_SHEET]
    assert ws["A2"].value == "CMDB" and ":***@" in ws["B2"].value
    assert "secret" not in ws["B2"].value


def test_missing_database_on_postgres(pg: Cmdb) -> None:
    url = make_url(pg.url).set(database="no_such_cmdb", password="secret")
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", url.render_as_string(hide_password=False), "health"], out=out, err=err)
    assert code == 2 and "Traceback" not in err.getvalue()
    assert "Cannot connect to" in err.getvalue() and "no_such_cmdb" in err.getvalue()
    assert "secret" not in out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("foo://x", "knows no database kind or driver 'foo'"),
        ("foo://ann:secret@db/cmdb", "knows no database kind or driver 'foo'"),
        ("file:///var/cmdb.sqlite", "knows no database kind or driver 'file'"),
        ("sqlite://", "in-memory database"),
    ],
)
def test_a_url_we_cannot_use_is_a_clear_error(url: str, message: str) -> None:
    """In the process a user runs: exit 2, the message, no traceback, no password."""
    done = run_cmdb(url, "init")
    assert_refused(done, message)
    assert "secret" not in done.printed
