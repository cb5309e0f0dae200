"""A full disk during an import or an export aborts the command with exit 2 and a
clear message; the database is byte-identical and intact, no half-written file
is left, and no second traceback comes from a half-written stream's destructor.

Two honest full disks, each in a real process:

- a file-size limit (``RLIMIT_FSIZE``): every write past it fails with
  ``EFBIG`` where a full disk fails with ``ENOSPC`` (SQLite reports a disk I/O
  error); it needs no privilege, so it runs everywhere;
- a real full file system: a small tmpfs, mounted in a private mount namespace
  (``unshare --mount --map-root-user``) and filled but for a little room
  (``ENOSPC``; SQLite reports "database or disk is full"); skipped where user
  namespaces are not allowed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.dbstate import check_intact, content
from tests.importers.sheets import write_csv
from tests.refusals import (
    REPO,
    Done,
    assert_clean,
    assert_refused,
    beside,
    fingerprint,
    run_cmdb,
)

#: What a file may grow to under the limit: room to open a CMDB (its -shm file is
#: 32 KiB), far too little for the writes below.
LIMIT = 256 * 1024


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    """A copy of the session's 2,000-CI demo CMDB (its export is megabytes)."""
    path = tmp_path / "cmdb.sqlite"
    shutil.copyfile(demo_db, path)
    return path


@pytest.fixture(scope="module")
def big_sheet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 new servers with long descriptions: megabytes to write."""
    rows: list[list[Any]] = [["Name", "Class", "Description"]]
    rows += [[f"imported{i:05d}", "Server", "x" * 300] for i in range(5000)]
    return write_csv(tmp_path_factory.mktemp("sheet") / "servers.csv", rows)


def test_import_on_a_full_disk(db: Path, big_sheet: Path) -> None:
    before, rows = fingerprint(db), content(db)
    done = run_cmdb(db, "import", str(big_sheet), file_size_limit=LIMIT)
    assert_refused(done, rf"Cannot write to {db}: ", "Nothing was changed", "free some space")
    assert fingerprint(db) == before
    check_intact(db)
    assert content(db) == rows


def test_export_on_a_full_disk(db: Path, tmp_path: Path) -> None:
    """openpyxl spills each sheet's rows into a temporary file long before the save."""
    before = fingerprint(db)
    out = tmp_path / "export.xlsx"
    done = run_cmdb(db, "export", "-o", str(out), file_size_limit=LIMIT)
    assert_refused(done, rf"Cannot write {out}: File too large", "Nothing was written")
    assert not out.exists() and beside(out) == []
    assert not list(tmp_path.glob(".export.xlsx*"))
    assert fingerprint(db) == before


def test_saving_a_workbook_on_a_full_disk(tmp_path: Path) -> None:
    """An ordinary workbook fails while its archive is written: the archive and the
    sheet's stream are closed at once, quietly, and their temporary files deleted."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    out = tmp_path / "big.xlsx"
    code = f"""
import os, resource, signal, sys, tempfile
from pathlib import Path
from openpyxl import Workbook
from cmdb_desktop.errors import BadFileError
from importers.cells import save_workbook
tempfile.tempdir = {str(private_tmp)!r}
wb = Workbook()
for i in range(30000):
    wb.active.append([os.urandom(8).hex(), i, f"text {{i}}"])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT}, {LIMIT}))
try:
    save_workbook(wb, Path({str(out)!r}))
except BadFileError as exc:
    print(exc)
del wb
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "Exception ignored" not in done.stderr, done.stderr
    assert f"Cannot write {out}: File too large" in done.stdout
    assert list(tmp_path.iterdir()) == [private_tmp] and list(private_tmp.iterdir()) == []


def _on_full_file_system(tmp_path: Path, db: Path, *args: str) -> dict[str, Any]:
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mount = 'mount -t tmpfs -o size=16m tmpfs "$0" && exec "$@"'
    worker = [sys.executable, "-m", "tests.cmdb_desktop.full_disk", str(folder), str(db), *args]
    done = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", mount, str(folder), *worker],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0 and not done.stdout:
        pytest.skip(f"no private tmpfs here (user namespaces?): {done.stderr.strip()[-300:]}")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare(1) here")
@pytest.mark.parametrize("command", ["import", "export"])
def test_on_a_real_full_file_system(
    db: Path, big_sheet: Path, tmp_path: Path, command: str
) -> None:
    args = ("import", str(big_sheet)) if command == "import" else ("export", "-o", "{OUT}")
    result = _on_full_file_system(tmp_path, db, *args)
    assert result["code"] == 2, result
    assert_clean(Done(result["code"], result["out"], result["err"]))
    if command == "import":
        assert "the disk is full" in result["err"] and "Nothing was changed" in result["err"]
    else:
        assert "No space left on device" in result["err"], result["err"]
    assert result["unchanged"] and result["intact"]
    assert result["left"] == [db.name], result["left"]
