"""Helpers for the import/export tests: real files written to temporary folders."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """A workbook with one sheet per entry (rows as given; None for an empty cell)."""
    wb = Workbook()
    first = True
    for name, rows in sheets.items():
        if first:
            ws = wb.active
            assert ws is not None
            ws.title = name
            first = False
        else:
            ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return path


def write_csv(path: Path, rows: Iterable[Sequence[Any]], *, delimiter: str = ",") -> Path:
    lines = [delimiter.join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def content(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (FTS shadow tables aside): "identical in content"."""
    conn = sqlite3.connect(db)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'ci_fts%' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {n: conn.execute(f"SELECT * FROM {n} ORDER BY 1").fetchall() for n in names}
    finally:
        conn.close()


def cli(db: Path, *args: str) -> tuple[int, Any, str]:
    """Run ``cmdb --db DB --format json ARGS``: (exit code, parsed JSON or None, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), "--format", "json", *args], out=out, err=err)
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else None), err.getvalue()


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
