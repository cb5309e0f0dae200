"""A read-only CMDB — the file, or the folder it is in — opens for reading: show,
export, impact, health work. Every write is refused with exit 2 and "read-only",
and the file stays byte-identical.

The permissions are real (``chmod``); the commands run in their own process. As
root, that process drops the capability that lets root ignore permissions
(:mod:`tests.refusals`), so the file is read-only to it as to any user. A
folder SQLite cannot write to is the hard case: a WAL database normally needs
its ``-shm`` file there, so it is read as immutable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb_desktop import demo
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import downgrade, make_engine, to_url
from cmdb_desktop.migrations import SCHEMA_REVISIONS
from tests.importers.sheets import write_csv
from tests.refusals import (
    assert_clean,
    assert_refused,
    beside,
    fingerprint,
    permissions_apply,
    run_cmdb,
)

READS = (("show", "#1"), ("health",), ("impact", "#1"), ("--format", "json", "history", "#1"))
WRITES = (("set", "#1", "owner=Ann"), ("add", "Server", "web98"), ("rollback", "1"))


@pytest.fixture
def usual(tmp_path: Path) -> Path:
    """A demo CMDB, closed cleanly."""
    path = tmp_path / "cmdb" / "cmdb.sqlite"
    with Cmdb.open(path, user="demo") as cmdb:
        demo.generate(cmdb, 200, seed=3)
    return path


@pytest.fixture(autouse=True)
def permissions_apply_here(tmp_path: Path) -> None:
    if not permissions_apply(tmp_path):
        pytest.skip("this root cannot give up its power over file permissions (no CAP_SETPCAP)")


@pytest.fixture
def locked(usual: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """The CMDB made read-only one way or the other, and writable again afterwards."""
    what = usual if request.param == "file" else usual.parent
    what.chmod(0o444 if request.param == "file" else 0o555)
    yield usual
    what.chmod(0o644 if request.param == "file" else 0o755)


@pytest.mark.parametrize("locked", ["file", "folder"], indirect=True)
def test_reads_work_and_writes_are_refused(locked: Path, tmp_path: Path) -> None:
    db = locked
    before = fingerprint(db)
    export = tmp_path / "export.xlsx"
    for args in (*READS, ("export", "-o", str(export))):
        done = run_cmdb(db, *args, as_user=True)
        assert done.code == 0, f"{args}: {done.printed[-2000:]}"
        assert_clean(done)
    assert export.stat().st_size > 0
    sheet = write_csv(tmp_path / "more.csv", [["Name", "Class"], ["web99", "Server"]])
    for args in (*WRITES, ("import", str(sheet))):
        done = run_cmdb(db, *args, as_user=True)
        assert_refused(done, rf"{db} is read-only: ", "nothing was changed")
        assert fingerprint(db) == before, args
    if db.parent.stat().st_mode & 0o200 == 0:  # the folder: nothing could appear beside it
        assert beside(db) == [db.name]
    assert fingerprint(db) == before


@pytest.mark.parametrize("locked", ["file"], indirect=True)
def test_the_message_says_which(locked: Path) -> None:
    done = run_cmdb(locked, "set", "#1", "owner=Ann", as_user=True)
    assert "the file is read-only" in done.err


@pytest.mark.parametrize("locked", ["folder"], indirect=True)
def test_no_cmdb_is_created_in_a_read_only_folder(locked: Path) -> None:
    new = locked.with_name("new.sqlite")
    assert_refused(run_cmdb(new, "init", as_user=True), "Cannot create a CMDB at", "read-only")
    assert not new.exists()


def test_an_older_read_only_cmdb_says_it_needs_its_upgrade(usual: Path) -> None:
    """An older schema is upgraded (written) before this version can read it."""
    engine = make_engine(to_url(usual))
    downgrade(engine, SCHEMA_REVISIONS[0])
    engine.dispose()
    with sqlite3.connect(usual) as conn:  # as an older version leaves it: checkpointed
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    usual.chmod(0o444)
    try:
        before = fingerprint(usual)
        done = run_cmdb(usual, "show", "#1", as_user=True)
        assert_refused(done, "is read-only", "older version", "make it writable")
        assert fingerprint(usual) == before
        assert not list(usual.parent.glob("*.bak"))
    finally:
        usual.chmod(0o644)
