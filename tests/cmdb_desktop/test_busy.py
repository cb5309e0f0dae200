"""Another program holding the write lock: a writer waits for it (busy timeout), and
when it waited too long the user gets a BusyError (exit 2) that says what is
going on, never SQLite's raw "database is locked" nor a traceback. The same on
PostgreSQL (its write lock is an advisory lock), where a deadlock is a conflict."""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, text

from cmdb_desktop import db as db_module
from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import WRITE_LOCK_ATTEMPTS, Cmdb
from cmdb_desktop.errors import BusyError, ConflictError


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 300)


class _Attempts(list[str]):
    """The write-lock requests (``BEGIN IMMEDIATE``) a CMDB's engine sends."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def add(self, statement: str) -> None:
        with self._changed:
            self.append(statement)
            self._changed.notify_all()

    def wait_for(self, n: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self) >= n, timeout=60)


def _lock_attempts(cmdb: Cmdb) -> _Attempts:
    attempts = _Attempts()

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            attempts.add(statement)

    event.listen(cmdb.engine, "before_cursor_execute", seen)
    return attempts


@pytest.fixture
def server(db_path: Path) -> int:
    with Cmdb.open(db_path, user="tester") as c:
        return c.items.create("Server", {"name": "web01", "status": "In Use"}).created[0]


@pytest.fixture
def lock_holder(db_path: Path, server: int) -> Iterator[sqlite3.Connection]:
    """Another program in the middle of a long write transaction."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE cmdb_state SET data_generation = data_generation")
    yield conn
    conn.rollback()
    conn.close()


def test_waiting_too_long_is_a_clear_conflict(
    short_wait: None, db_path: Path, server: int, lock_holder: sqlite3.Connection
) -> None:
    with Cmdb.open(db_path, user="tester") as c:
        attempts = _lock_attempts(c)
        with pytest.raises(BusyError, match="busy") as info:
            c.items.update(server, {"owner": "Alice"})
        assert "locked" not in str(info.value)
        assert info.value.exit_code == 2
        # it asked for the lock (each time waiting the busy timeout) as often as it may
        assert len(attempts) == WRITE_LOCK_ATTEMPTS
        lock_holder.rollback()
        record = c.items.get(server)
        assert record.values["owner"] is None and record.version == 1


def test_cli_reports_busy_without_a_traceback(
    short_wait: None, db_path: Path, server: int, lock_holder: sqlite3.Connection
) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db_path), "set", "web01", "owner=Bob"], out=out, err=err)
    assert code == 2
    assert "busy" in err.getvalue() and "Traceback" not in err.getvalue()
    assert "database is locked" not in err.getvalue()


def test_a_writer_waits_for_a_short_lock(db_path: Path, server: int) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE cmdb_state SET data_generation = data_generation")
    failed: list[BaseException] = []
    try:
        with Cmdb.open(db_path, user="tester") as c:
            attempts = _lock_attempts(c)

            def save() -> None:
                try:
                    c.items.update(server, {"owner": "Carol"})
                except BaseException as exc:
                    failed.append(exc)

            writer = threading.Thread(target=save)
            writer.start()
            try:
                # The writer's own signal: it is asking for the lock we hold.
                assert attempts.wait_for(1)
                assert not failed  # it waits; the save below proves it never gave up
            finally:
                conn.rollback()  # the lock is free: the waiting writer goes on
                writer.join()
            assert failed == []
            assert c.items.get(server).values["owner"] == "Carol"
    finally:
        conn.close()


def test_reads_never_wait_for_a_writer(
    short_wait: None, db_path: Path, server: int, lock_holder: sqlite3.Connection
) -> None:
    with Cmdb.open(db_path, user="tester") as c:
        assert c.items.get(server).name == "web01"
        assert c.search.search("web01") == [server]


# -- PostgreSQL (team mode): the same lock, the same waits, the same words ----------


@pytest.fixture
def pg_server_ci(pg: Cmdb) -> int:
    return pg.items.create("Server", {"name": "web01", "status": "In Use"}).created[0]


@pytest.fixture
def pg_other(pg: Cmdb) -> Iterator[Connection]:
    """Another program's connection to the same database, in a transaction."""
    engine = create_engine(pg.url)
    with engine.connect() as conn:
        conn.begin()
        yield conn
        conn.rollback()
    engine.dispose()


def test_pg_waiting_too_long_for_another_writer_is_busy(
    short_wait: None, pg: Cmdb, pg_server_ci: int, pg_other: Connection
) -> None:
    from cmdb_desktop.db import take_write_lock

    take_write_lock(pg_other)  # another CMDB Desktop in the middle of a long write
    with pytest.raises(BusyError, match="busy") as info:
        pg.items.update(pg_server_ci, {"owner": "Alice"})
    assert info.value.exit_code == 2
    assert "lock timeout" not in str(info.value) and "psycopg.errors" not in str(info.value)
    # readers never wait for it
    assert pg.items.get(pg_server_ci).values["owner"] is None


def test_pg_a_row_held_by_another_program_is_busy_not_a_hang(
    short_wait: None, pg: Cmdb, pg_server_ci: int, pg_other: Connection
) -> None:
    """psql (or anything not taking our lock) holding a CI's row: the write waits
    the busy timeout, then says so."""
    pg_other.execute(text("SELECT id FROM ci WHERE id = :i FOR UPDATE"), {"i": pg_server_ci})
    with pytest.raises(BusyError, match="busy"):
        pg.items.update(pg_server_ci, {"owner": "Alice"})
    pg_other.rollback()
    pg.items.update(pg_server_ci, {"owner": "Alice"})
    assert pg.items.get(pg_server_ci).values["owner"] == "Alice"


def test_pg_deadlock_is_a_conflict_with_nothing_written(
    pg: Cmdb, pg_server_ci: int, pg_other: Connection
) -> None:
    """Another program holds the CI's row, then asks for the write lock this writer
    holds while it waits for that row: the server breaks the deadlock by refusing
    the writer (the other program looks for deadlocks only after a minute, so the
    writer's own check finds it first), which the user hears as a conflict."""
    from cmdb_desktop.db import take_write_lock

    pg_other.execute(text("SET LOCAL deadlock_timeout = '60s'"))
    pg_other.execute(text("SELECT id FROM ci WHERE id = :i FOR UPDATE"), {"i": pg_server_ci})
    failed: list[BaseException] = []
    locked = threading.Event()

    def took_lock(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "pg_advisory_xact_lock" in statement:
            locked.set()

    event.listen(pg.engine, "after_cursor_execute", took_lock)

    def save() -> None:
        try:
            pg.items.update(pg_server_ci, {"owner": "Alice"})
        except BaseException as exc:
            failed.append(exc)

    writer = threading.Thread(target=save)
    writer.start()
    try:
        # the writer's own signal: it holds the write lock (and goes on to the row)
        assert locked.wait(60)
        take_write_lock(pg_other)  # the writer breaks the cycle, so this is granted
    finally:
        pg_other.rollback()
        writer.join()
        event.remove(pg.engine, "after_cursor_execute", took_lock)
    assert len(failed) == 1 and type(failed[0]) is ConflictError, failed
    assert "nothing was written" in str(failed[0]) and "deadlock" not in str(failed[0])
    assert pg.items.get(pg_server_ci).values["owner"] is None
