"""A damaged CMDB file — cut short, its first pages overwritten, its schema or one of
its tables garbled, random bytes — is reported as damaged with the way out
(restore a backup), exit 2, never a traceback, and stays exactly as it was.

Damage that shows in the file's outline (its header, its size, its schema)
is found when the file is examined, before any command runs; damage deeper in
is found by the query that reaches it, in whatever command that is.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cmdb_desktop import demo
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import DamagedDatabaseError
from tests.importers.sheets import write_csv
from tests.refusals import assert_refused, beside, fingerprint, run_cmdb

PAGE = 4096  # SQLite's default page size, which ours use


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo CMDB, closed cleanly (everything in the file, no -wal beside it)."""
    path = tmp_path_factory.mktemp("intact") / "cmdb.sqlite"
    with Cmdb.open(path, user="demo") as cmdb:
        demo.generate(cmdb, 300, seed=5)
    assert beside(path) == [path.name]
    return path


def _overwrite(path: Path, offset: int, size: int) -> None:
    noise = random.Random(offset).randbytes(size)
    with path.open("r+b") as fh:
        fh.seek(offset)
        fh.write(noise)


def _cut_mid_page(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2 - 100)


def _cut_at_a_page(path: Path) -> None:
    os.truncate(path, path.stat().st_size // PAGE // 2 * PAGE)


def _first_pages_overwritten(path: Path) -> None:
    _overwrite(path, 0, 2 * PAGE)


def _schema_overwritten(path: Path) -> None:
    _overwrite(path, 100, PAGE - 100)  # page 1 after the header: the schema's root


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(1).randbytes(path.stat().st_size))


def _ci_table_overwritten(path: Path) -> None:
    """The root page of the CI table: the outline is intact, every CI is unreachable."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ci'").fetchone()
    conn.close()
    _overwrite(path, (root - 1) * PAGE, PAGE)


#: Damage seen when the file is examined → the pattern of the message.
OUTLINE: dict[str, tuple[Callable[[Path], None], str]] = {
    "cut-mid-page": (_cut_mid_page, r"is damaged: its size .* is not a whole number of"),
    "cut-at-a-page": (_cut_at_a_page, r"is damaged: it holds \d+ of the \d+ pages"),
    "first-pages-overwritten": (_first_pages_overwritten, r"not an SQLite file.*damaged"),
    "schema-overwritten": (_schema_overwritten, r"is damaged: SQLite reports"),
    "random-bytes": (_random_bytes, r"not an SQLite file.*damaged"),
}


def _damaged_copy(intact: Path, folder: Path, damage: Callable[[Path], None]) -> Path:
    db = folder / "cmdb.sqlite"
    shutil.copyfile(intact, db)
    damage(db)
    return db


@pytest.mark.parametrize("kind", OUTLINE)
def test_damage_in_the_outline_is_reported_before_any_command(
    intact: Path, tmp_path: Path, kind: str
) -> None:
    damage, message = OUTLINE[kind]
    db = _damaged_copy(intact, tmp_path, damage)
    before = fingerprint(db)
    for args in (("show", "#1"), ("set", "#1", "owner=Ann")):
        done = run_cmdb(db, *args)
        assert_refused(done, rf"{db}", message, r"[Rr]estore it from a backup \(the \.bak files")
        assert "nothing was changed" in done.err
        assert fingerprint(db) == before and beside(db) == [db.name], args


def test_damage_deep_inside_is_reported_by_the_query_that_meets_it(
    intact: Path, tmp_path: Path
) -> None:
    db = _damaged_copy(intact, tmp_path, _ci_table_overwritten)
    backup = db.with_name(f"{db.name}.schema-0002-20260101-120000.bak")
    shutil.copyfile(intact, backup)
    before = fingerprint(db)
    sheet = write_csv(tmp_path / "more.csv", [["Name", "Class"], ["web99", "Server"]])
    export = tmp_path / "out.xlsx"
    for args in (
        ("show", "#1"),
        ("health",),
        ("export", "-o", str(export)),
        ("impact", "#1"),
        ("set", "#1", "owner=Ann"),
        ("add", "Server", "web98"),
        ("import", str(sheet)),
    ):
        done = run_cmdb(db, *args)
        assert_refused(done, rf"{db} is damaged: SQLite reports", str(backup))
        assert fingerprint(db) == before, args
        assert not export.exists()
    assert set(beside(db)) == {db.name, backup.name}


def test_the_core_raises_the_same_error(intact: Path, tmp_path: Path) -> None:
    db = _damaged_copy(intact, tmp_path, _ci_table_overwritten)
    with Cmdb.open(db) as cmdb, pytest.raises(DamagedDatabaseError, match="is damaged"):
        cmdb.items.get(1)
    db = _damaged_copy(intact, tmp_path, _cut_at_a_page)
    with pytest.raises(DamagedDatabaseError, match="is damaged"):
        Cmdb.open(db)
