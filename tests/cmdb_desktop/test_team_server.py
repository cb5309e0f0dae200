"""``cmdb server setup / grant / check`` and the roles the database enforces
(PRODUCT.md §12), on the test session's PostgreSQL server.

One team database for the session (``pg_team`` of :mod:`tests.postgres`): set up
once, with a viewer, an editor and an admin login; each test leaves it as it
found it or only adds CIs.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import NotAllowedError
from tests.postgres import PG_SUPERUSER_PASSWORD, Team
from tests.postgres import TEAM_DATABASE as DATABASE


def _run(*args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None):
    out, err = io.StringIO(), io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_setup_is_safe_to_run_again(pg_team: Team) -> None:
    code, out, err = _run(
        "--format", "json", "server", "setup", pg_team.admin_url, "--database", DATABASE
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["created_database"] is False and data["created_schema"] is False
    assert data["roles"] == {r: f"{DATABASE}_{r}" for r in ("viewer", "editor", "admin")}
    assert PG_SUPERUSER_PASSWORD not in out + err


def test_check_reports_version_schema_roles_and_latency(pg_team: Team) -> None:
    code, out, err = _run("--db", pg_team.urls["viewer"], "--format", "json", "server", "check")
    assert code == 0, err
    data = json.loads(out)
    assert data["server_version"] and data["schema"] == data["program_schema"]
    assert data["roles"]["viewer"]["members"] == ["viewer_login"]
    assert data["roles"]["editor"]["members"] == ["editor_login"]
    assert data["your_role"] == "viewer" and data["latency_ms"] >= 0
    assert pg_team.passwords["viewer"] not in out + err
    code, out, err = _run("--db", pg_team.urls["admin"], "server", "check")
    assert code == 0 and "Your role   admin" in out and "Latency" in out


def test_a_viewer_reads_but_cannot_write_through_the_app(pg_team: Team) -> None:
    code, _, err = _run(
        "--db", pg_team.urls["editor"], "add", "Server", "seen-by-viewer", "status=In Use"
    )
    assert code == 0, err
    before = _run("--db", pg_team.urls["viewer"], "--format", "json", "show", "seen-by-viewer")
    assert before[0] == 0
    for args in (
        ("set", "seen-by-viewer", "owner=vera"),
        ("add", "Server", "from-viewer", "status=In Use"),
        ("delete", "seen-by-viewer"),
    ):
        code, out, err = _run("--db", pg_team.urls["viewer"], *args)
        assert code == 2, (args, err)
        assert "not allowed: your role is viewer" in err and "Traceback" not in err
    after = _run("--db", pg_team.urls["viewer"], "--format", "json", "show", "seen-by-viewer")
    assert after == before
    with Cmdb.open(pg_team.urls["viewer"]) as cmdb:
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
def test_a_viewer_cannot_write_with_plain_sql(pg_team: Team, sql: str) -> None:
    """On the viewer's own connection, bypassing the program: the server refuses."""
    import psycopg  # pg_team skips without it

    url = pg_team.urls["viewer"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql)


def test_an_editor_writes_data_but_not_the_catalogue_nor_the_history(
    pg_team: Team, tmp_path: Path
) -> None:
    sheet = tmp_path / "servers.csv"
    sheet.write_text("name,status\nimp-1,In Use\nimp-2,In Use\n")
    editor = pg_team.urls["editor"]
    assert _run("--db", editor, "import", str(sheet), "--class", "Server")[0] == 0
    assert _run("--db", editor, "relate", "imp-1", "Depends on", "imp-2")[0] == 0
    assert _run("--db", editor, "set", "imp-1", "owner=ed")[0] == 0
    with Cmdb.open(editor) as cmdb:
        assert cmdb.role == "editor" and cmdb.may("write") and not cmdb.may("catalogue")
        with pytest.raises(NotAllowedError, match="your role is editor"):
            cmdb.classes.add_attribute("Server", "Slots", "integer")
    import psycopg

    url = editor.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM change_record")
    with Cmdb.open(pg_team.urls["admin"]) as cmdb:
        assert cmdb.role == "admin" and cmdb.may("catalogue")
        cmdb.classes.add_attribute("Server", "Rack units", "integer")


def test_only_an_admin_grants(pg_team: Team) -> None:
    code, _, err = _run("--db", pg_team.urls["editor"], "server", "grant", "viewer_login", "admin")
    assert code == 2 and "not allowed: your role is editor" in err


def test_server_commands_refuse_a_file(tmp_path: Path) -> None:
    code, _, err = _run("--db", str(tmp_path / "c.sqlite"), "server", "check")
    assert code == 2 and "is a file" in err


def test_text_search_on_postgres_uses_the_trigram_index(pg_team: Team) -> None:
    from sqlalchemy import select

    from cmdb_desktop.models import ConfigurationItem as CI

    with Cmdb.open(pg_team.urls["editor"]) as cmdb:
        a = cmdb.items.create(
            "Server", {"name": "trgm-web_01", "status": "In Use", "serial_number": "SN-777"}
        ).created[0]
        cmdb.items.create("Server", {"name": "trgm-db", "status": "In Use"})
        assert cmdb.search.search("trgm web") == [a]
        assert cmdb.search.search("sn-777") == [a]
        assert cmdb.search.search("web_01") == [a]
        assert cmdb.search.search("trgm_web") == []  # "_" is no wildcard
        assert cmdb.search.count("trgm") == 2
        with cmdb.read() as s:
            s.execute(text("SET LOCAL enable_seqscan = off"))
            clause = cmdb.search.filter_clause(s, "trgm web")
            assert clause is not None
            stmt = select(CI.id).where(clause)
            compiled = stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
            plan = "\n".join(r[0] for r in s.execute(text(f"EXPLAIN {compiled}")))
        assert "ci_search_trgm" in plan
