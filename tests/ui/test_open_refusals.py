"""The window opening a file it must refuse — damaged, another program's database —
shows a message box saying so and stays usable; the file is left as it was."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cmdb import Cmdb
from tests.refusals import beside, fingerprint
from tests.ui.waits import WAIT_MS


def _damaged(folder: Path) -> Path:
    path = folder / "damaged.sqlite"
    with Cmdb.open(path) as cmdb:
        cmdb.items.create("Server", {"name": "web01"})
    os.truncate(path, path.stat().st_size // 2 - 100)  # cut short
    return path


def _foreign(folder: Path) -> Path:
    path = folder / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
    conn.execute("INSERT INTO alembic_version VALUES ('0001')")
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [(_damaged, "is damaged"), (_foreign, "is not a CMDB Desktop database")],
    ids=["damaged", "foreign"],
)
def test_refused_file_shows_a_message_box(
    qtbot: Any,
    make_window: Any,
    no_message_boxes: list[tuple[str, str]],
    tmp_path: Path,
    make: Any,
    message: str,
) -> None:
    db = make(tmp_path)
    before = fingerprint(db)
    window = make_window()
    window.interactive = True  # the message box a user gets (recorded, not shown)
    with qtbot.waitSignal(window.errorReported, timeout=WAIT_MS) as reported:
        window.open_database(db)
    title, text = reported.args
    assert title == "Cannot open the CMDB" and message in text and "Unexpected" not in text
    assert no_message_boxes == [(title, text)]
    assert window.cmdb is None and window.centre.currentWidget() is window.welcome
    assert fingerprint(db) == before and beside(db) == [db.name]
