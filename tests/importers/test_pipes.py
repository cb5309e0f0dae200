"""A FIFO or a pipe is refused, never half read (PRODUCT.md §8): ``cmdb import`` and
``cmdb audit`` of a FIFO with a writer behind it, of ``/dev/stdin`` fed by a pipe
and of ``/dev/fd/N`` (what ``<(cat file.csv)`` passes) all exit 2 with a message
that says what to do, in seconds, and leave the database unchanged. Before, a FIFO
hung the import forever and a pipe lost its first 8 KiB.

Each command runs in a child process with a timeout, so a regression fails the
test instead of hanging the suite. The GUI wizard's side is in
``tests/ui/test_import_wizard.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import BadFileError
from importers.mapping import ImportMapping
from importers.readers import open_spreadsheet
from tests.dbstate import content
from tests.importers.pipes import fifo_with_writer

REPO = Path(__file__).resolve().parents[2]
#: A hang guard for each command, not a speed claim.
TIMEOUT_S = 120
#: Over 8 KiB, so a reader that sniffs 8 KiB and opens the file again would lose rows.
CSV = "Name,Class,Status\r\n" + "".join(f"srv{i:04d},Server,In Use\r\n" for i in range(600))
PIPE_MESSAGE = "is a pipe (FIFO), not a file"

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")


def cmdb(db: Path, *args: str, **kwargs: Any) -> tuple[int, dict[str, Any] | None, str]:
    """``python -m cmdb_desktop --db DB --format json ARGS`` in a child process."""
    done = subprocess.run(
        [sys.executable, "-m", "cmdb_desktop", "--db", str(db), "--format", "json", *args],
        cwd=REPO,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
        **kwargs,
    )
    out = done.stdout.decode()
    return done.returncode, (json.loads(out) if out.strip() else None), done.stderr.decode()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cmdb.sqlite"
    with Cmdb.open(path) as c:
        c.items.create("Server", {"name": "existing", "status": "In Use"})
    return path


@pytest.mark.parametrize("command", ["import", "audit"])
def test_a_fifo_is_refused_without_waiting(db: Path, tmp_path: Path, command: str) -> None:
    before = content(db)
    with fifo_with_writer(tmp_path, "assets.csv", CSV.encode()) as fifo:
        code, data, err = cmdb(db, command, str(fifo))
    assert code == 2, err
    assert PIPE_MESSAGE in err and "Save the data to a file first" in err
    assert "Traceback" not in err
    if command == "import":
        assert data is not None and data["written"] is False
        assert PIPE_MESSAGE in data["errors"][0]["message"]
    assert content(db) == before


def test_dev_stdin_fed_by_a_pipe_is_refused(db: Path) -> None:
    before = content(db)
    code, data, err = cmdb(db, "import", "/dev/stdin", input=CSV.encode())
    assert code == 2, err
    assert data is not None and PIPE_MESSAGE in data["errors"][0]["message"]
    assert content(db) == before


def test_process_substitution_is_refused(db: Path) -> None:
    """``cmdb import <(cat assets.csv)`` hands over ``/dev/fd/N``, a pipe."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, CSV.encode()[:4096])  # fits the pipe's buffer: never blocks
        os.close(write_end)
        write_end = -1
        code, data, err = cmdb(db, "import", f"/dev/fd/{read_end}", pass_fds=(read_end,))
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    assert code == 2, err
    assert data is not None and PIPE_MESSAGE in data["errors"][0]["message"]


def test_dev_stdin_redirected_from_a_file_is_read_whole(db: Path, tmp_path: Path) -> None:
    """``cmdb import /dev/stdin < assets.csv``: a regular file behind it, read whole."""
    path = tmp_path / "assets.csv"
    path.write_text(CSV, encoding="utf-8")
    with path.open("rb") as stdin:
        code, data, err = cmdb(db, "import", "/dev/stdin", stdin=stdin)
    assert code == 0, err
    assert data is not None and data["cis"]["created"] == 600


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused(db: Path) -> None:
    code, data, err = cmdb(db, "import", "/dev/zero")
    assert code == 2, err
    assert data is not None and "is a device, not a file" in data["errors"][0]["message"]


def test_the_readers_refuse_it_in_process(tmp_path: Path) -> None:
    """What the GUI's jobs call (``open_spreadsheet``), and a mapping profile given as a
    FIFO: refused from its file type alone, never opened."""
    with fifo_with_writer(tmp_path, "assets.csv", CSV.encode()) as fifo:
        with pytest.raises(BadFileError, match=re.escape(PIPE_MESSAGE)):
            open_spreadsheet(fifo)
    with fifo_with_writer(tmp_path, "profile.json", b"{}") as fifo:
        with pytest.raises(BadFileError, match="pipe"):
            ImportMapping.load(fifo)
