"""A database this program did not create is never modified (PRODUCT.md §8): not its
schema, not its journal mode, not one byte; no journal files appear beside it.
Ours are recognised by our mark (``PRAGMA application_id``) or, written by an
older version before the mark existed, by holding exactly the tables of the
revision they are stamped with — and those still open (and get the mark).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import make_engine, to_url, upgrade
from cmdb_desktop.errors import NotACmdbError, SchemaError
from cmdb_desktop.migrations import SCHEMA_HEAD, SCHEMA_REVISIONS
from cmdb_desktop.sqlite_file import APPLICATION_ID
from tests.refusals import assert_refused, beside, fingerprint, run_cmdb


def _database(path: Path, *statements: str, wal: bool = False) -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def _migrations_app(path: Path) -> Path:
    """Another program that keeps its schema with Alembic, as we do."""
    return _database(
        path,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('a1b2c3d4e5f6')",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT)",
        "INSERT INTO users (login) VALUES ('ann')",
    )


def _stamped_like_ours(path: Path) -> Path:
    """Another program whose Alembic revision happens to be one of ours."""
    return _database(
        path,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        f"INSERT INTO alembic_version VALUES ('{SCHEMA_REVISIONS[0]}')",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)",
    )


def _unstamped(path: Path) -> Path:
    """An Alembic-managed database never migrated: the version table is empty."""
    return _database(
        path,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
    )


def _in_wal_mode(path: Path) -> Path:
    """Another program's database in WAL mode (closed cleanly: no -wal file beside it)."""
    return _database(
        path,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('0003')",
        "CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER)",
        wal=True,
    )


def _our_tables_and_one_more(path: Path) -> Path:
    """A CMDB of an older version (no mark) to which something added a table: not
    recognisably ours any more."""
    engine = make_engine(to_url(path))
    upgrade(engine, SCHEMA_HEAD)
    engine.dispose()
    return _database(path, "PRAGMA application_id = 0", "CREATE TABLE extra (x)")


def _marked_by_another_program(path: Path) -> Path:
    """An empty database another program has claimed in its header."""
    return _database(path, "PRAGMA application_id = 1598903374")  # '_MPG' (GeoPackage-like)


FOREIGN: dict[str, Callable[[Path], Path]] = {
    "alembic-app": _migrations_app,
    "stamped-like-ours": _stamped_like_ours,
    "unstamped": _unstamped,
    "wal-mode": _in_wal_mode,
    "our-tables-and-one-more": _our_tables_and_one_more,
    "marked-by-another-program": _marked_by_another_program,
}


@pytest.mark.parametrize("kind", FOREIGN)
def test_a_foreign_database_is_refused_untouched(tmp_path: Path, kind: str) -> None:
    db = FOREIGN[kind](tmp_path / "other.sqlite")
    before, files = fingerprint(db), beside(db)
    # one command that may create a CMDB, one that writes to an existing one
    for args in (("init",), ("add", "Server", "web01")):
        done = run_cmdb(db, *args)
        assert_refused(done, rf"{db} is not a CMDB Desktop database", "nothing was changed")
        assert fingerprint(db) == before, f"{args} changed the file"
        assert beside(db) == files, f"{args} left files beside it"
    if kind == "alembic-app":
        assert "it holds tables alembic_version, users" in done.err


def test_the_core_refuses_before_touching_anything(tmp_path: Path) -> None:
    db = _in_wal_mode(tmp_path / "other.sqlite")
    before = fingerprint(db)
    with pytest.raises(NotACmdbError, match="ledger"):
        Cmdb.open(db)
    assert fingerprint(db) == before
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # as it was
    conn.close()


@pytest.mark.parametrize("revision", SCHEMA_REVISIONS)
def test_a_cmdb_of_an_older_version_still_opens_and_gets_our_mark(
    tmp_path: Path, revision: str
) -> None:
    """What earlier versions left: our tables at their revision, and no mark."""
    db = tmp_path / "old.sqlite"
    engine = make_engine(to_url(db))
    upgrade(engine, revision)
    engine.dispose()
    _database(db, "PRAGMA application_id = 0")
    done = run_cmdb(db, "--format", "json", "init")
    assert done.code == 0, done.err
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == (
            APPLICATION_ID if revision != SCHEMA_HEAD else 0  # a current one is left as it is
        )
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_HEAD


def test_a_new_cmdb_carries_our_mark(tmp_path: Path) -> None:
    with Cmdb.open(tmp_path / "new.sqlite"):
        pass
    with sqlite3.connect(tmp_path / "new.sqlite") as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_an_empty_file_becomes_a_cmdb_only_when_asked(tmp_path: Path) -> None:
    """0 bytes hold nothing to lose (``touch``, a file dialog's "new file"): ``init``
    makes a CMDB of it; a command that only reads says so and leaves it empty."""
    db = tmp_path / "touched.sqlite"
    db.touch()
    assert_refused(run_cmdb(db, "show", "web01"), "is empty", "cmdb init")
    assert db.stat().st_size == 0 and beside(db) == [db.name]
    done = run_cmdb(db, "--format", "json", "init")
    assert done.code == 0 and '"created": true' in done.out, done.printed
    with Cmdb.open(db, create=False) as cmdb:
        assert cmdb.meta.get_class("Server").name == "Server"


def test_an_empty_database_of_no_program_becomes_a_cmdb(tmp_path: Path) -> None:
    """A SQLite file without a single table nor anyone's mark (what ``sqlite3 x.db
    'VACUUM'`` leaves) is as empty as a 0-byte file."""
    db = _database(tmp_path / "blank.sqlite", "PRAGMA user_version = 0", "VACUUM")
    with Cmdb.open(db) as cmdb:
        assert cmdb.created


def test_missing_file_without_create_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="does not exist.*cmdb init"):
        Cmdb.open(tmp_path / "nope.sqlite", create=False)
    assert not (tmp_path / "nope.sqlite").exists()
