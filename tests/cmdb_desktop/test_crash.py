"""Kill a writer with SIGKILL at random moments: the database stays intact and every
bulk edit is entirely present or entirely absent."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import ChangeRecord
from cmdb_desktop.models import ConfigurationItem as CI
from tests.cmdb_desktop.workers import kill_inside_writes
from tests.dbstate import check_intact

REPO = Path(__file__).resolve().parents[2]


def _kill_loop(demo_cmdb: Cmdb, kills: int, seed: int) -> int:
    path = demo_cmdb.path
    assert path is not None
    with demo_cmdb.read() as s:
        ids = list(s.scalars(select(CI.id).order_by(CI.id).limit(400)))
        original = {
            r[0]: r[1] for r in s.execute(select(CI.id, CI.description).where(CI.id.in_(ids)))
        }
    demo_cmdb.close()
    rng = random.Random(seed)
    committed_total = 0
    for _ in range(kills):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.cmdb_desktop.workers",
                "bulk",
                str(path),
                ",".join(map(str, ids)),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Inside one of its first three bulk edits (or just past a commit), however
        # long the worker took to start.
        lines = kill_inside_writes(proc, rng, writes=3)
        committed_total += sum(1 for line in lines if "committed" in line)
        check_intact(path)
        with Cmdb.open(path) as c, c.read() as s:
            now = {
                r[0]: r[1] for r in s.execute(select(CI.id, CI.description).where(CI.id.in_(ids)))
            }
            if now == original:
                continue  # killed before the first edit committed: nothing to check
            descs = Counter(now.values())
            assert len(descs) == 1, f"a bulk edit was half-written: {descs}"
            (desc,) = descs
            if desc is not None:
                # the history of that edit is complete too
                n = s.scalar(
                    select(ChangeRecord.id)
                    .where(ChangeRecord.new_value == desc)
                    .order_by(ChangeRecord.id.desc())
                    .limit(1)
                )
                assert n is not None
                recs = s.scalars(
                    select(ChangeRecord.request_id).where(
                        ChangeRecord.field == "description", ChangeRecord.new_value == desc
                    )
                ).all()
                per_request = Counter(recs)
                assert all(v == len(ids) for v in per_request.values())
    return committed_total


def test_sigkill_during_bulk_edits(demo_cmdb: Cmdb) -> None:
    committed = _kill_loop(demo_cmdb, kills=6, seed=1)
    assert committed > 0, "the worker never got to write; the test proved nothing"


@pytest.mark.slow
def test_sigkill_during_bulk_edits_long(demo_cmdb: Cmdb) -> None:
    assert _kill_loop(demo_cmdb, kills=100, seed=2) > 0
