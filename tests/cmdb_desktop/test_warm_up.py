"""The database layer's start-up warm-up lives in the core and leaves nothing behind."""

from __future__ import annotations

from sqlalchemy import inspect

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import warm_up


def test_warm_up_on_a_private_database() -> None:
    warm_up()  # an in-memory database of its own; nothing to assert but that it runs


def test_warm_up_on_a_cmdb_changes_nothing(cmdb: Cmdb) -> None:
    tables = set(inspect(cmdb.engine).get_table_names())
    generations = cmdb.generations()
    warm_up(cmdb.engine)
    assert set(inspect(cmdb.engine).get_table_names()) == tables
    assert cmdb.generations() == generations  # and the engine still reads
