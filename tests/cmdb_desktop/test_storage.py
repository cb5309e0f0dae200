"""Storage: pragmas, migrations with backup, the append-only history, bad files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import alembic_config, make_engine, upgrade
from cmdb_desktop.errors import SchemaError
from cmdb_desktop.migrations import FTS_TABLES, SCHEMA_HEAD, SCHEMA_REVISIONS, SCHEMA_TABLES


def test_pragmas(cmdb: Cmdb) -> None:
    with cmdb.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_revision_list_matches_alembic() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    revs = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert tuple(revs) == SCHEMA_REVISIONS
    assert script.get_current_head() == SCHEMA_HEAD


def test_schema_tables_match_the_migrations(tmp_path: Path) -> None:
    """What recognises a CMDB of an older version (no mark) is what the migrations made."""
    path = tmp_path / "steps.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    for revision in SCHEMA_REVISIONS:
        upgrade(engine, revision)
        with engine.connect() as conn:
            tables = {
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            }
        assert tables == SCHEMA_TABLES[revision] | FTS_TABLES, revision
    engine.dispose()


def test_upgrade_from_first_revision_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine, SCHEMA_REVISIONS[0])
    with engine.begin() as conn:  # fill it the way revision 0001 looked
        conn.execute(
            text(
                "INSERT INTO ci_class (id, name, abstract, service, required_fields, "
                "recommended_fields, expects_relationships, builtin) VALUES "
                "(1, 'Configuration Item', 1, 0, '[]', '[]', 1, 1), "
                "(2, 'Server', 0, 0, '[]', '[]', 1, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO relationship_type (id, name, reverse_name, impact, "
                "builtin) VALUES (1, 'Depends on', 'Used by', 'to_source', 1)"
            )
        )
        for i in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO ci (id, class_id, name, status, created_at, updated_at, version) "
                    f"VALUES ({i}, 2, 'srv{i}', 'In Use', '2024-01-01 00:00:00', "
                    "'2024-01-01 00:00:00', 1)"
                )
            )
        conn.execute(
            text(
                "INSERT INTO relationship (source_id, type_id, target_id, created_at) "
                "VALUES (1, 1, 2, '2024-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO change_record (at, user, source, entity, action, ci_id) "
                "VALUES ('2024-01-01 00:00:00', 'old', 'cli', 'ci', 'create', 1)"
            )
        )
    engine.dispose()

    with Cmdb.open(path) as c:
        assert c.backup_path is not None and c.backup_path.exists()
        assert [r.name for r in c.items.get_many([1, 2]).values()] == ["srv1", "srv2"]
        assert c.relations.count() == 1
        assert c.history.for_ci(1)[-1].user == "old"
        assert c.search.search("srv1") == [1]  # the FTS index came along
        c.saved.save("filter", "mine", {"q": "x"})  # revision 0002's table exists
    backup = sqlite3.connect(c.backup_path)
    assert backup.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    assert backup.execute("SELECT count(*) FROM ci").fetchone()[0] == 2
    backup.close()


@pytest.mark.backends
def test_history_is_append_only(cmdb: Cmdb) -> None:
    cmdb.items.create("Server", {"name": "a", "status": "In Use"})
    engine = create_engine(cmdb.url)
    with engine.connect() as conn:
        with pytest.raises(Exception, match="append-only"):
            conn.execute(text("""UPDATE change_record SET "user" = 'mallory'"""))
        conn.rollback()
        with pytest.raises(Exception, match="append-only"):
            conn.execute(text("DELETE FROM change_record"))
        conn.rollback()
    engine.dispose()
    assert cmdb.history.recent()[0].user == cmdb.user


def test_not_a_database(tmp_path: Path) -> None:
    bad = tmp_path / "notes.sqlite"
    bad.write_text("hello, I am a text file")
    with pytest.raises(SchemaError, match="not a CMDB"):
        Cmdb.open(bad)


def test_foreign_sqlite_database(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE stuff (x)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="not a CMDB"):
        Cmdb.open(other)


def test_missing_file_without_create(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="cmdb init"):
        Cmdb.open(tmp_path / "nope.sqlite", create=False)


def test_save_copy(cmdb: Cmdb, tmp_path: Path) -> None:
    cmdb.items.create("Server", {"name": "a", "status": "In Use"})
    dest = cmdb.save_copy(tmp_path / "copy.sqlite")
    with Cmdb.open(dest) as copy:
        assert copy.items.count() == 1


@pytest.mark.backends
def test_search(cmdb: Cmdb) -> None:
    a = cmdb.items.create(
        "Server", {"name": "web-prod-01", "status": "In Use", "serial_number": "ZX81"}
    ).created[0]
    b = cmdb.items.create(
        "Server", {"name": "db-prod-01", "status": "In Use", "owner": "Zoë Web"}
    ).created[0]
    assert cmdb.search.search("web") == [a, b] or set(cmdb.search.search("web")) == {a, b}
    assert cmdb.search.search("web-prod") == [a]
    assert cmdb.search.search("zx8") == [a]
    assert cmdb.search.search("zoe") == [b]  # diacritics folded
    assert cmdb.search.count("prod") == 2
    cmdb.items.update(a, {"name": "app-01"})
    assert cmdb.search.search("web-prod") == []
    assert cmdb.search.search("") == []
