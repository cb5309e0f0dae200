"""The real-shaped import (issue 20) writes exactly what it wrote before it was made fast.

The workbook is the bench's own shape (``bench.bench_import_shapes``, small):
software CIs with long descriptions and no Status column (given with a
default), and *Depends on* relationships that name their ends. It is imported
into an empty CMDB and every table the import writes is compared, row by row
in id order, with what the import wrote before the speed-ups of issue 20
(``RECORDED``): the CIs, the relationships, the history, the batch, the id
counters, the full-text index (every token of every column of every CI, as
FTS5 sees it, and its per-row sizes) and the definitions of the indexes and
triggers. Timestamps, request ids and the file's directory differ from run
to run and are replaced by placeholders first.

The same rows must also come out of the other write path (a dry run, then
:func:`importers.apply.apply_import` of the plan), and SQLite's own checks of
the indexes and of the FTS index must pass.

If an import is *meant* to write something else, the failure prints the new
digests to record here; a speed-up never is.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench.bench_import_shapes import write_workbook
from cmdb_desktop.cmdb import Cmdb
from importers.apply import apply_import, import_file

CIS = 1_400
#: Above the 5,000 rows from which relationships are written while the rest is checked.
RELATIONSHIPS = 5_300
DEFAULTS = {"status": "In Use"}

#: Table → (rows, SHA-256 of the normalised rows), as imported before issue 20's speed-ups.
RECORDED: dict[str, tuple[int, str]] = {
    "ci": (1400, "2b786a6f78250e1b55d14d7f01ff289547fc61a3d72df23ee6601fc197ee3839"),
    "relationship": (5300, "df38ee5bd0dd1740f0feca321fa7757ab04a2cc1be81ac5c8448cce9be900ff8"),
    "change_record": (6700, "ba5655347c056cc6bd72f042c49da211822b30e94799b9b793fb87bae3a9a2a3"),
    "import_batch": (1, "ac2d3e44dd713e222a4465f7a30a010b7d4f272873ab78e4fc1f2661ab9a2b74"),
    "sqlite_sequence": (2, "52046086cda0518e7a19f9185ac41c041c233cbaeffc84f6caebd885aa8961a2"),
    "ci_fts terms": (117473, "f00eba858f795a52366a06ba12537fc361c11ab0219581e9e43ed9ebfe432d45"),
    "ci_fts sizes": (1400, "f1bf1b1155dc75670244812b427ef2f834805cc2c8155150c1af53d018101e34"),
    "ci_fts config": (1, "da5c87e45bd591584bf2b7ac080aa9182a9714bdf2f9ae913c2e7d7530515dcb"),
    "schema": (22, "7dd07bf91b4812621766b048f0b93e9a24461457f08d582eb7284437811d09ed"),
}

_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Tables an import into an empty CMDB writes, and what describes its FTS index.
_TABLES = ("ci", "relationship", "change_record", "import_batch", "sqlite_sequence")


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shape") / "software.xlsx"
    write_workbook(path, CIS, RELATIONSHIPS)
    return path


def _imported(db: Path, workbook: Path, *, planned_first: bool = False) -> Path:
    Cmdb.open(db).close()
    with Cmdb.open(db, user="tester") as cmdb:
        if planned_first:
            dry = import_file(cmdb, workbook, defaults=DEFAULTS, dry_run=True)
            result = apply_import(cmdb, dry.plan)
        else:
            result = import_file(cmdb, workbook, defaults=DEFAULTS)
    assert result.batch_id is not None and not result.plan.errors
    return db


def _normal(value: Any, workbook: Path) -> Any:
    if isinstance(value, str):
        value = value.replace(str(workbook), "<file>")
        value = _TIME.sub("<time>", value)
        value = _UUID.sub("<uuid>", value)
    return value


def dump(db: Path, workbook: Path) -> dict[str, list[list[Any]]]:
    """What an import wrote, normalised, table by table (rows in id order)."""
    conn = sqlite3.connect(db)
    try:
        out: dict[str, list[list[Any]]] = {}
        for table in _TABLES:
            order = "name" if table == "sqlite_sequence" else "rowid"
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
            out[table] = [[_normal(v, workbook) for v in row] for row in rows]
        conn.execute("CREATE VIRTUAL TABLE temp.fts_terms USING fts5vocab(main, ci_fts, instance)")
        out["ci_fts terms"] = [
            list(r)
            for r in conn.execute(
                "SELECT term, doc, col, offset FROM temp.fts_terms ORDER BY 1, 2, 3, 4"
            )
        ]
        out["ci_fts sizes"] = [
            list(r) for r in conn.execute("SELECT id, hex(sz) FROM ci_fts_docsize ORDER BY id")
        ]
        out["ci_fts config"] = [
            list(r) for r in conn.execute("SELECT * FROM ci_fts_config ORDER BY k")
        ]
        out["schema"] = [
            list(r)
            for r in conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE tbl_name IN "
                "('ci', 'relationship', 'change_record', 'import_batch', 'ci_fts') "
                "ORDER BY type, name"
            )
        ]
        return out
    finally:
        conn.close()


def digests(tables: dict[str, list[list[Any]]]) -> dict[str, tuple[int, str]]:
    return {
        name: (len(rows), hashlib.sha256(json.dumps(rows).encode()).hexdigest())
        for name, rows in tables.items()
    }


def test_import_writes_what_it_wrote_before(workbook: Path, tmp_path: Path) -> None:
    db = _imported(tmp_path / "cmdb.sqlite", workbook)
    got = digests(dump(db, workbook))
    differ = {k: v for k, v in got.items() if RECORDED.get(k) != v}
    assert not differ, (
        "the import wrote other rows than before (table: rows, digest now); if that is "
        f"meant, record these in RECORDED: {json.dumps(differ, indent=1)}"
    )


def test_both_write_paths_write_the_same(workbook: Path, tmp_path: Path) -> None:
    streamed = dump(_imported(tmp_path / "streamed.sqlite", workbook), workbook)
    planned = dump(_imported(tmp_path / "planned.sqlite", workbook, planned_first=True), workbook)
    for table, rows in streamed.items():
        assert planned[table] == rows, table
    assert len(streamed["ci"]) == CIS
    assert len(streamed["relationship"]) == RELATIONSHIPS
    assert len(streamed["change_record"]) == CIS + RELATIONSHIPS


def test_indexes_and_search_index_are_sound(workbook: Path, tmp_path: Path) -> None:
    db = _imported(tmp_path / "cmdb.sqlite", workbook)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO ci_fts(ci_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()
