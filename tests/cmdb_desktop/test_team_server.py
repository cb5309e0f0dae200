"""``cmdb server setup / grant / check`` and the roles the database enforces
(PRODUCT.md §12), on the test session's PostgreSQL server.

One team database for the module: set up once, with a viewer, an editor and an
admin login; each test leaves it as it found it or only adds CIs.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import NotAllowedError
from tests.postgres import PG_SUPERUSER_PASSWORD, pg_tcp_url

DATABASE = "team_cmdb"


@dataclass
class Team:
    admin_url: str  # the server's superuser, on the postgres database
    urls: dict[str, str]  # role -> a login with that role, on DATABASE
    passwords: dict[str, str]


def _run(*args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None):
    out, err = io.StringIO(), io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def team(pg_server: str) -> Iterator[Team]:
    admin_url = pg_tcp_url(pg_server, "postgres", password=PG_SUPERUSER_PASSWORD)
    owner = create_engine(pg_server.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
    owner.dispose()
    out, err = io.StringIO(), io.StringIO()
    assert main(["server", "setup", admin_url, "--database", DATABASE], out=out, err=err) == 0, (
        err.getvalue()
    )
    assert "schema created" in out.getvalue()
    db_admin = pg_tcp_url(pg_server, DATABASE, password=PG_SUPERUSER_PASSWORD)
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
            urls[role] = pg_tcp_url(pg_server, DATABASE, user=user, password=password)
            passwords[role] = password
    yield Team(admin_url, urls, passwords)


def test_setup_is_safe_to_run_again(team: Team) -> None:
    code, out, err = _run("--format", "json", "server", "setup", team.admin_url,
                          "--database", DATABASE)
    assert code == 0, err
    data = json.loads(out)
    assert data["created_database"] is False and data["created_schema"] is False
    assert data["roles"] == {r: f"{DATABASE}_{r}" for r in ("viewer", "editor", "admin")}
    assert PG_SUPERUSER_PASSWORD not in out + err


def test_check_reports_version_schema_roles_and_latency(team: Team) -> None:
    code, out, err = _run("--db", team.urls["viewer"], "--format", "json", "server", "check")
    assert code == 0, err
    data = json.loads(out)
    assert data["server_version"] and data["schema"] == data["program_schema"]
    assert data["roles"]["viewer"]["members"] == ["viewer_login"]
    assert data["roles"]["editor"]["members"] == ["editor_login"]
    assert data["your_role"] == "viewer" and data["latency_ms"] >= 0
    assert team.passwords["viewer"] not in out + err
    code, out, err = _run("--db", team.urls["admin"], "server", "check")
    assert code == 0 and "Your role   admin" in out and "Latency" in out


def test_a_viewer_reads_but_cannot_write_through_the_app(team: Team) -> None:
    code, _, err = _run("--db", team.urls["editor"], "add", "Server", "seen-by-viewer",
                        "status=In Use")
    assert code == 0, err
    before = _run("--db", team.urls["viewer"], "--format", "json", "show", "seen-by-viewer")
    assert before[0] == 0
    for args in (
        ("set", "seen-by-viewer", "owner=vera"),
        ("add", "Server", "from-viewer", "status=In Use"),
        ("delete", "seen-by-viewer"),
    ):
        code, out, err = _run("--db", team.urls["viewer"], *args)
        assert code == 2, (args, err)
        assert "not allowed: your role is viewer" in err and "Traceback" not in err
    after = _run("--db", team.urls["viewer"], "--format", "json", "show", "seen-by-viewer")
    assert after == before
    with Cmdb.open(team.urls["viewer"]) as cmdb:
        assert cmdb.role == "viewer" and not cmdb.may("write")
        with pytest.raises(NotAllowedError, match="your role is viewer"):
            cmdb.items.create("Server", {"name": "x", "status": "In Use"})


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO ci (class_id, name, version) VALUES (1, 'sneaky', 1)",
        "UPDATE ci SET name = 'renamed'",
        "DELETE FROM relationship",
        "UPDATE cmdb_state SET data_generation = 0",
        "INSERT INTO change_record (ci_id) VALUES (1)",
        "DELETE FROM ci_class",
    ],
)
def test_a_viewer_cannot_write_with_plain_sql(team: Team, sql: str) -> None:
    """On the viewer's own connection, bypassing the program: the server refuses."""
    url = team.urls["viewer"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql)


def test_an_editor_writes_data_but_not_the_catalogue_nor_the_history(
    team: Team, tmp_path: Path
) -> None:
    sheet = tmp_path / "servers.csv"
    sheet.write_text("name,status\nimp-1,In Use\nimp-2,In Use\n")
    editor = team.urls["editor"]
    assert _run("--db", editor, "import", str(sheet), "--class", "Server")[0] == 0
    assert _run("--db", editor, "relate", "imp-1", "Depends on", "imp-2")[0] == 0
    assert _run("--db", editor, "set", "imp-1", "owner=ed")[0] == 0
    with Cmdb.open(editor) as cmdb:
        assert cmdb.role == "editor" and cmdb.may("write") and not cmdb.may("catalogue")
        with pytest.raises(NotAllowedError, match="your role is editor"):
            cmdb.classes.add_attribute("Server", "Slots", "integer")
    url = editor.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM change_record")
    with Cmdb.open(team.urls["admin"]) as cmdb:
        assert cmdb.role == "admin" and cmdb.may("catalogue")
        cmdb.classes.add_attribute("Server", "Rack units", "integer")


def test_only_an_admin_grants(team: Team) -> None:
    code, _, err = _run("--db", team.urls["editor"], "server", "grant", "viewer_login", "admin")
    assert code == 2 and "not allowed: your role is editor" in err


def test_server_commands_refuse_a_file(tmp_path: Path) -> None:
    code, _, err = _run("--db", str(tmp_path / "c.sqlite"), "server", "check")
    assert code == 2 and "is a file" in err
