"""SIGKILL a process that imports a large workbook and rolls it back, again and
again, at random moments: afterwards the file passes ``PRAGMA integrity_check``,
the CMDB opens, and the batch is there entirely (its 11,100 CI rows, 10,000
relationships and the history of each) or not at all (and then its rollback
is entirely there instead). The same file also updates 100 existing CIs, so
a half-applied batch or a half-done rollback would show in their owners.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import ChangeRecord, ImportBatch, Relationship
from cmdb_desktop.models import ConfigurationItem as CI
from tests.cmdb_desktop.workers import kill_inside_writes
from tests.dbstate import check_intact

REPO = Path(__file__).resolve().parents[2]
NEW_SERVERS = 10_000
RACKS = NEW_SERVERS // 10
OLD = 100
BATCH_CIS = NEW_SERVERS + RACKS + OLD


def write_workbook(path: Path) -> Path:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("CIs")
    ws.append(["Name", "Class", "Status", "Owner"])
    for i in range(OLD):
        ws.append([f"old-{i:03d}", "Server", "In Use", "after"])
    for i in range(NEW_SERVERS):
        ws.append([f"new-{i:06d}", "Server", "In Use", "Ops"])
    for i in range(RACKS):
        ws.append([f"rack-{i:05d}", "Rack", "In Use", "Ops"])
    rels = wb.create_sheet("Relationships")
    rels.append(["Source", "Type", "Target"])
    for i in range(NEW_SERVERS):
        rels.append([f"new-{i:06d}", "Located in", f"rack-{i // 10:05d}"])
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_workbook(tmp_path_factory.mktemp("crash") / "big.xlsx")


def _fresh(path: Path) -> None:
    with Cmdb.open(path, user="tester") as c:
        for i in range(OLD):
            c.items.create(
                "Server", {"name": f"old-{i:03d}", "status": "In Use", "owner": "before"}
            )


def check_all_or_nothing(path: Path) -> str:
    """The state after a kill: "applied" (one whole batch in) or "absent" (every batch
    entirely rolled back). Fails on anything in between."""
    check_intact(path)
    with Cmdb.open(path) as c, c.read() as s:
        new = s.scalar(select(func.count()).select_from(CI).where(CI.name.like("new-%"))) or 0
        racks = s.scalar(select(func.count()).select_from(CI).where(CI.name.like("rack-%"))) or 0
        rels = s.scalar(select(func.count()).select_from(Relationship)) or 0
        owners = Counter(s.scalars(select(CI.owner).where(CI.name.like("old-%"))))
        batches = {b.id: b.status for b in s.scalars(select(ImportBatch))}
        history = Counter(
            (r.batch_id, r.source, r.entity, r.action)
            for r in s.execute(
                select(
                    ChangeRecord.batch_id,
                    ChangeRecord.source,
                    ChangeRecord.entity,
                    ChangeRecord.action,
                ).where(ChangeRecord.batch_id.is_not(None))
            )
        )
    applied = [b for b, status in batches.items() if status == "applied"]
    # the import itself: whole in every batch that exists
    for b in batches:
        assert history[(b, "import", "ci", "create")] == NEW_SERVERS + RACKS, (b, history)
        assert history[(b, "import", "ci", "update")] == OLD
        assert history[(b, "import", "relationship", "create")] == NEW_SERVERS
    if new == 0:
        assert racks == 0 and rels == 0, (new, racks, rels)
        assert owners == Counter({"before": OLD}), owners
        assert not applied
        for b in batches:  # each rollback whole too
            assert history[(b, "rollback", "ci", "delete")] == NEW_SERVERS + RACKS
            assert history[(b, "rollback", "relationship", "delete")] == NEW_SERVERS
            assert history[(b, "rollback", "ci", "update")] == OLD
        return "absent"
    assert (new, racks, rels) == (NEW_SERVERS, RACKS, NEW_SERVERS), (new, racks, rels)
    assert owners == Counter({"after": OLD}), owners
    assert len(applied) == 1, batches
    (b,) = applied
    assert not any(k[0] == b and k[1] == "rollback" for k in history), "half a rollback"
    return "applied"


def _kill_loop(path: Path, workbook: Path, kills: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    seen = Counter[str]()
    for _ in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.importers.workers", "import", str(path), str(workbook)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Writes alternate import, rollback, import…: in one of the first four, at a
        # random moment, however long the worker took to start.
        lines = kill_inside_writes(proc, rng, writes=4)
        seen["imports committed"] += sum(1 for x in lines if "imported" in x)
        seen["rollbacks committed"] += sum(1 for x in lines if "rolled_back" in x)
        # what the kill interrupted: the last thing the worker said it started
        began = [x for x in lines if "writing" not in x]
        last = began[-1] if began else {}
        seen["killed during a rollback" if "imported" in last else "killed during an import"] += 1
        seen[check_all_or_nothing(path)] += 1
    return dict(seen)


def test_sigkill_during_import_and_rollback(tmp_path: Path, workbook: Path) -> None:
    path = tmp_path / "crash.sqlite"
    _fresh(path)
    seen = _kill_loop(path, workbook, kills=7, seed=11)
    print(f"\n7 kills survived: {seen}")
    # the test proved something only if writes really happened between kills
    assert seen.get("imports committed", 0) > 0
    assert seen.get("killed during an import", 0) > 0


@pytest.mark.slow
def test_sigkill_during_import_and_rollback_long(tmp_path: Path, workbook: Path) -> None:
    path = tmp_path / "crash.sqlite"
    _fresh(path)
    seen = _kill_loop(path, workbook, kills=60, seed=12)
    print(f"\n60 kills survived: {seen}")
    assert seen.get("killed during a rollback", 0) > 0
    assert seen.get("rollbacks committed", 0) > 0
