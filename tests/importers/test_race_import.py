"""Imports and rollbacks racing GUI-style editors on the same CIs, in separate
processes: every stale save is refused and retried (none lost), a rollback
that would undo someone's later save (the owner, which imports write too) is
refused as a conflict (the batch then stays whole), one that would not (the
counters, which no import writes) goes ahead and keeps them, and nobody ever
sees "database is locked" (SQLite) or a raw driver error, a deadlock or a
serialization failure (PostgreSQL): the same harness runs on both backends."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import ConfigurationItem as CI
from cmdb_desktop.models import ImportBatch
from tests.dbstate import check_intact

REPO = Path(__file__).resolve().parents[2]


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.importers.workers", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def race(cmdb: Cmdb, tmp_path: Path, edits: int, imports: int) -> dict[str, int]:
    db = cmdb.url
    names = [f"shared-{i}" for i in range(4)]
    cmdb.classes.add_attribute("Server", "Counter", "integer")
    ids = [
        cmdb.items.create("Server", {"name": n, "status": "In Use", "counter": 0}).created[0]
        for n in names
    ]
    folder = tmp_path / "rounds"
    folder.mkdir()
    id_arg = ",".join(map(str, ids))
    procs = [
        _worker("edit", db, id_arg, str(edits)),
        _worker("edit", db, id_arg, str(edits)),
        _worker("import-rounds", db, str(folder), str(imports), ",".join(names)),
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert "locked" not in err.lower(), err[-3000:]
        assert "psycopg.errors" not in err and "deadlock" not in err.lower(), err[-3000:]
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    editors, importer = results[:2], results[2]
    saved = sum(r["done"] for r in editors)
    assert saved == 2 * edits, editors
    if cmdb.path is not None:
        check_intact(cmdb.path)
    with Cmdb.open(db) as c:
        # no save lost: the counters add up to the saves, each with one history record
        assert sum(c.items.get(i).values["counter"] for i in ids) == saved
        records = sum(1 for i in ids for e in c.history.for_ci(i) if e.field == "counter")
        assert records == saved
        # no rollback overwrote an editor's owner: each found the import's own value
        restored = [
            e for i in ids for e in c.history.for_ci(i) if e.source == "rollback" and e.field
        ]
        assert {e.field for e in restored} <= {"owner"}
        assert all((e.old_value or "").startswith("importer-") for e in restored), restored
        with c.read() as s:
            batches = s.execute(
                select(ImportBatch.id, ImportBatch.file, ImportBatch.status).order_by(
                    ImportBatch.id
                )
            ).all()
            present = Counter(
                name.split("-")[0] for name in s.scalars(select(CI.name).where(CI.name.like("r%")))
            )
    # each batch is whole: applied ones have their 200 CIs, rolled-back ones none
    assert len(batches) == importer["imported"] == imports
    for b in batches:
        k = Path(b.file or "").stem.split("-")[1]
        expected = 200 if b.status == "applied" else 0
        assert present.get(f"r{k}", 0) == expected, (b.id, b.status, present.get(f"r{k}"))
    assert sum(1 for b in batches if b.status == "applied") == importer["refused"]
    conflicts = sum(r["conflicts"] for r in editors)
    summary = {
        "saves": saved,
        "stale saves refused": conflicts,
        "imports": importer["imported"],
        "rollbacks": importer["rolled_back"],
        "rollbacks refused": importer["refused"],
    }
    print(f"\n{summary}, none lost")
    return summary


@pytest.mark.backends
def test_imports_rollbacks_and_editors_race(cmdb: Cmdb, tmp_path: Path) -> None:
    summary = race(cmdb, tmp_path, edits=150, imports=12)
    assert summary["stale saves refused"] + summary["rollbacks refused"] > 0


@pytest.mark.slow
@pytest.mark.backends
def test_imports_rollbacks_and_editors_race_long(cmdb: Cmdb, tmp_path: Path) -> None:
    summary = race(cmdb, tmp_path, edits=2000, imports=120)
    assert summary["stale saves refused"] > 0 and summary["rollbacks refused"] > 0
