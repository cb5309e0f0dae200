"""Another program holding the write lock: a writer waits for it (busy timeout), and
when it waited too long the user gets a BusyError (exit 3) that says what is
going on, never SQLite's raw "database is locked" nor a traceback."""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb_desktop import db as db_module
from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import BusyError


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 300)


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
        started = time.monotonic()
        with pytest.raises(BusyError, match="busy") as info:
            c.items.update(server, {"owner": "Alice"})
        assert "locked" not in str(info.value)
        assert info.value.exit_code == 3
        assert time.monotonic() - started >= 0.5  # it did wait, twice
        lock_holder.rollback()
        record = c.items.get(server)
        assert record.values["owner"] is None and record.version == 1


def test_cli_reports_busy_without_a_traceback(
    short_wait: None, db_path: Path, server: int, lock_holder: sqlite3.Connection
) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db_path), "set", "web01", "owner=Bob"], out=out, err=err)
    assert code == 3
    assert "busy" in err.getvalue() and "Traceback" not in err.getvalue()
    assert "database is locked" not in err.getvalue()


def test_a_writer_waits_for_a_short_lock(db_path: Path, server: int) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE cmdb_state SET data_generation = data_generation")
    release = threading.Timer(0.4, conn.rollback)
    release.start()
    try:
        with Cmdb.open(db_path, user="tester") as c:
            c.items.update(server, {"owner": "Carol"})
            assert c.items.get(server).values["owner"] == "Carol"
    finally:
        release.join()
        conn.close()


def test_reads_never_wait_for_a_writer(
    short_wait: None, db_path: Path, server: int, lock_holder: sqlite3.Connection
) -> None:
    with Cmdb.open(db_path, user="tester") as c:
        assert c.items.get(server).name == "web01"
        assert c.search.search("web01") == [server]
