"""Live refresh on PostgreSQL (PRODUCT.md §12): a colleague's commit reaches the
other sessions' watchers (LISTEN/NOTIFY) at commit, never for a rolled-back
write. Synchronised on events with a 2 s bound, never a sleep."""

from __future__ import annotations

import threading

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ValidationError


def test_a_colleagues_commit_reaches_the_watcher(pg: Cmdb) -> None:
    changed = threading.Event()
    with Cmdb.open(pg.url, user="colleague") as colleague:
        watcher = pg.watch(changed.set)
        assert watcher is not None
        try:
            assert watcher.listening.wait(10)
            with pytest.raises(ValidationError):  # refused: nothing committed
                colleague.items.create("Server", {"name": "", "status": "In Use"})
            assert not changed.is_set()
            colleague.items.create("Server", {"name": "web01", "status": "In Use"})
            assert changed.wait(2.0)
            changed.clear()
            colleague.items.update(colleague.items.resolve("web01"), {"owner": "ann"})
            assert changed.wait(2.0)
        finally:
            watcher.stop()


def test_a_file_has_no_watcher(cmdb: Cmdb) -> None:
    assert cmdb.watch(lambda: None) is None
