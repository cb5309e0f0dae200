"""The impact graph kept beside a CMDB file (issue 20: cold CLI impact).

A new process starts from the kept graph only when it is exactly the
database's; after edits by anyone it is patched or reloaded, and the answers
are always those of a graph loaded from the database.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from cmdb_desktop import demo
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.graph import ImpactGraph, snapshot_path


def same_graph(a: ImpactGraph, b: ImpactGraph) -> bool:
    return all(
        np.array_equal(getattr(a, k), getattr(b, k))
        for k in ("ids", "out_ptr", "out_idx", "in_ptr", "in_idx", "thresholds")
    )


def loaded(db: Path) -> ImpactGraph:
    with Cmdb.open(db) as cmdb, cmdb.read() as s:
        return ImpactGraph.load(s)


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "cmdb.sqlite"
    shutil.copyfile(demo_db, copy)
    return copy


def impacted(db: Path, ci: int) -> tuple[list[int], int, int, int]:
    with Cmdb.open(db) as cmdb:
        report = cmdb.analysis.impact([ci])
        cache = cmdb.analysis.cache
        return (
            sorted(i.ci.id for i in report.impacted),
            cache.loads,
            cache.patches,
            (cache.from_snapshot),
        )


def test_a_new_process_starts_from_the_kept_graph(db: Path) -> None:
    assert not snapshot_path(db).exists()
    first, loads, _, kept = impacted(db, 1)
    assert (loads, kept) == (1, 0) and snapshot_path(db).exists()
    again, loads, patches, kept = impacted(db, 1)
    assert again == first and (loads, patches, kept) == (0, 0, 1)
    with Cmdb.open(db) as cmdb:
        assert same_graph(cmdb.analysis.graph(), loaded(db))


def test_an_edit_by_another_process_patches_the_kept_graph(db: Path) -> None:
    impacted(db, 1)
    with Cmdb.open(db, user="other") as cmdb:
        a, b = cmdb.analysis.graph().ids[:2].tolist()
        hub = cmdb.items.get(1)
        cmdb.relations.relate(b, "Depends on", a)
        cmdb.items.update(hub.id, {"status": "Retired"})
    ids, loads, patches, kept = impacted(db, a)
    assert (loads, kept) == (0, 0) and patches == 1
    with Cmdb.open(db) as cmdb:
        assert same_graph(cmdb.analysis.graph(), loaded(db))
        assert ids == sorted(i.ci.id for i in cmdb.analysis.impact([a]).impacted)


def test_a_write_outside_the_services_is_never_missed(db: Path) -> None:
    impacted(db, 1)
    conn = sqlite3.connect(db)
    a, b = conn.execute("SELECT id FROM ci ORDER BY id DESC LIMIT 2").fetchall()
    type_id = conn.execute("SELECT id FROM relationship_type WHERE name = 'Depends on'").fetchone()
    conn.execute(
        "INSERT INTO relationship (source_id, type_id, target_id, created_at)"
        " VALUES (?, ?, ?, '2026-01-01 00:00:00.000000')",
        (a[0], type_id[0], b[0]),
    )
    conn.commit()
    conn.close()
    _, loads, patches, kept = impacted(db, 1)
    assert kept == 0 and loads + patches == 1  # never taken as it was
    with Cmdb.open(db) as cmdb:
        assert same_graph(cmdb.analysis.graph(), loaded(db))


@pytest.mark.parametrize("damage", [b"", b"not a zip file", None])
def test_a_damaged_or_foreign_snapshot_is_ignored_and_replaced(
    db: Path, damage: bytes | None
) -> None:
    first, *_ = impacted(db, 1)
    path = snapshot_path(db)
    if damage is None:  # a valid file of another CMDB: its counters do not match
        other = db.with_name("other.sqlite")
        with Cmdb.open(other) as cmdb:
            demo.generate(cmdb, 200, seed=3)
            cmdb.analysis.graph()
        shutil.copyfile(snapshot_path(other), path)
    else:
        path.write_bytes(damage)
    again, loads, _, kept = impacted(db, 1)
    assert again == first and (loads, kept) == (1, 0)
    assert impacted(db, 1)[3] == 1  # rewritten: the next process uses it
