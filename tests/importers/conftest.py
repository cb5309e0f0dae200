"""Fixtures for the import/export tests: real files written to temporary folders.

Plain helpers live in :mod:`tests.importers.sheets`, :mod:`tests.dbstate` and
:mod:`tests.commandline` (test modules import those, never a conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdb_desktop.cmdb import Cmdb
from tests.importers.sheets import write_xlsx


@pytest.fixture
def servers_xlsx(tmp_path: Path) -> Path:
    """A small canonical workbook: three servers, an application, a rack; relationships."""
    return write_xlsx(
        tmp_path / "servers.xlsx",
        {
            "CIs": [
                ["Name", "Class", "Status", "Serial Number", "Owner", "Cost", "Purchase Date"],
                ["web01", "Server", "In Use", "SN-1", "Alice", 1200.5, "2024-01-31"],
                ["web02", "Server", "In Use", "SN-2", "Bob", "1,300.25", "31/01/2024"],
                ["db01", "Server", "In Stock", "SN-3", None, None, None],
                ["crm", "Application", "In Use", None, "Carol", None, None],
                ["rack-a", "Rack", "In Use", None, None, None, None],
            ],
            "Relationships": [
                ["Source", "Type", "Target"],
                ["crm", "Runs on", "web01"],
                ["web02", "Runs", "crm"],
                ["web01", "Located in", "rack-a"],
            ],
        },
    )


@pytest.fixture
def filled(cmdb: Cmdb, servers_xlsx: Path) -> Cmdb:
    """The CMDB after importing ``servers_xlsx``."""
    from importers.apply import import_file

    result = import_file(cmdb, servers_xlsx)
    assert result.written and not result.errors, result.to_json()
    return cmdb
