"""Child-process workloads for the hostile-file, crash and race tests of imports.

Run as ``python -m tests.importers.workers KIND …`` from the repository root;
each prints JSON lines. A child is what a test can cap (address space),
measure (peak RSS), kill (SIGKILL) or lose to a native abort without taking
the test run down.

* ``corpus DB FILE…``: ``cmdb --db DB --format json import FILE`` for each
  file, in this one process under ``RLIMIT_AS`` (``CMDB_TEST_MEMORY_CAP``);
  one line per file with the exit code, the JSON, stderr's tail, seconds and
  a content digest of the database before and after.
* ``import DB FILE``: import FILE forever as fresh batches (after each one,
  roll it back so the next import creates everything again), printing when
  each write begins (``writing``) and what was committed; killed from outside.
* ``edit DB IDS ROUNDS``: GUI-style saves (read, change, save with the
  version read) on the given CIs, retrying after conflicts.
* ``import-rounds DB FOLDER ROUNDS NAMES``: import a file that updates the
  named CIs and creates others, then roll it back, ROUNDS times.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from cmdb_desktop.cli import main as cli_main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ConflictError, NotFoundError, StaleVersionError
from tests.cmdb_desktop.workers import announce_writes, say


def digest(db: str | Path) -> str:
    """A hash of every row of every table (FTS shadow tables aside)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        h = hashlib.sha256()
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'ci_fts%' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for name in names:
            h.update(name.encode())
            for row in conn.execute(f"SELECT * FROM {name} ORDER BY 1"):
                h.update(repr(row).encode())
        return h.hexdigest()
    finally:
        conn.close()


def _cap_memory() -> None:
    cap = int(os.environ.get("CMDB_TEST_MEMORY_CAP", "0"))
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _own_peak_mb() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux keeps that across exec,
    so it would report the peak of the pytest process that started this worker."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def corpus(db: str, files: list[str]) -> None:
    _cap_memory()
    for name in files:
        print(json.dumps({"starting": name}), flush=True)
        before = digest(db)
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        code = cli_main(["--db", db, "--format", "json", "import", name], out=out, err=err)
        seconds = time.perf_counter() - started
        text = out.getvalue()
        try:
            data: Any = json.loads(text) if text.strip() else None
        except ValueError:
            data = {"unparsable": text[:2000]}
        if isinstance(data, dict):
            # warnings can be long lists (one per unmapped column): keep a sample
            warnings = data.get("warnings") or []
            data["warnings"] = warnings[:20]
            data["warning_count"] = len(warnings)
            data["errors"] = (data.get("errors") or [])[:50]
        peak = _own_peak_mb()
        # probing children (importers.untrusted) count too
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        print(
            json.dumps(
                {
                    "file": name,
                    "code": code,
                    "json": data,
                    "stderr": err.getvalue()[-3000:],
                    "seconds": round(seconds, 3),
                    "peak_mb": peak,
                    "children_peak_mb": children,
                    "unchanged": digest(db) == before,
                }
            ),
            flush=True,
        )


def import_forever(db: str, path: str) -> None:
    """Import, print the batch, roll it back, print that, again and again."""
    from importers.apply import import_file

    cmdb = Cmdb.open(db, user="importer")
    announce_writes(cmdb.engine)  # the crash test kills only after a "writing" line
    # A kill may have come between an import and its rollback: finish that first.
    for batch in cmdb.batches.list():
        if batch.kind == "import" and batch.status == "applied":
            say({"imported": batch.id})
            cmdb.batches.rollback(batch.id)
            say({"rolled_back": batch.id})
    while True:
        result = import_file(cmdb, path)
        assert result.written and result.batch_id is not None, result.to_json()
        say({"imported": result.batch_id})
        cmdb.batches.rollback(result.batch_id)
        say({"rolled_back": result.batch_id})


def edit(db: str, ids: list[int], rounds: int) -> dict[str, int]:
    """Save a counter (and the owner ``editor``, a field the imports write too) on
    CIs the way the GUI does (with the version read); a stale save is refused and
    retried from a fresh read; a CI another process deleted (a rolled-back import)
    is skipped."""
    cmdb = Cmdb.open(db, user="editor")
    done = conflicts = gone = 0
    try:
        for n in range(rounds):
            ci = ids[n % len(ids)]
            while True:
                try:
                    rec = cmdb.items.get(ci)
                except NotFoundError:
                    gone += 1
                    break
                value = rec.values.get("counter") or 0
                try:
                    cmdb.items.update(
                        ci, {"counter": value + 1, "owner": "editor"}, expected_version=rec.version
                    )
                except StaleVersionError:
                    conflicts += 1
                    continue
                except NotFoundError:
                    gone += 1
                    break
                done += 1
                break
    finally:
        cmdb.close()
    return {"done": done, "conflicts": conflicts, "gone": gone}


def import_rounds(db: str, folder: str, rounds: int, shared: list[str]) -> dict[str, int]:
    """Round k imports a file that sets the owner of the ``shared`` CIs (alternating
    values) and creates 200 CIs of its own, then rolls that batch back. A rollback
    refused because an editor saved another owner on one of those CIs meanwhile
    counts as a conflict (the batch then stays, whole)."""
    from importers.apply import import_file

    cmdb = Cmdb.open(db, user="importer")
    out = {"imported": 0, "rolled_back": 0, "refused": 0}
    try:
        for k in range(rounds):
            path = Path(folder) / f"round-{k}.csv"
            lines = ["Name,Class,Status,Owner"]
            lines += [f"{name},Server,In Use,importer-{k % 2}" for name in shared]
            lines += [f"r{k}-{j},Server,In Use,importer" for j in range(200)]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            result = import_file(cmdb, path)
            assert result.written and result.batch_id is not None, result.to_json()
            out["imported"] += 1
            if k % 2:
                _editor_saved_since(cmdb, shared)
            try:
                cmdb.batches.rollback(result.batch_id)
                out["rolled_back"] += 1
            except ConflictError:
                out["refused"] += 1
    finally:
        cmdb.close()
    return out


def _editor_saved_since(cmdb: Cmdb, names: list[str], limit: float = 5.0) -> None:
    """Wait (at most ``limit`` seconds) until an editor saved one of the named CIs:
    its rollback then has someone's later save to refuse to undo."""
    ids = [ref.id for name in names for ref in cmdb.items.find_by_name(name)]
    versions = {i: r.version for i, r in cmdb.items.get_many(ids).items()}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        now = cmdb.items.get_many(ids)
        if any(r.version != versions.get(i) for i, r in now.items()):
            return
        _wait_for_the_writer(cmdb)


def _wait_for_the_writer(cmdb: Cmdb) -> None:
    """Wait until whoever writes now commits: take the CMDB's write lock (SQLite's
    BEGIN IMMEDIATE, PostgreSQL's advisory lock, as every save does) and let it go."""
    from cmdb_desktop.db import take_write_lock

    with cmdb.engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            take_write_lock(conn)


def main() -> None:
    kind = sys.argv[1]
    if kind == "corpus":
        corpus(sys.argv[2], sys.argv[3:])
    elif kind == "import":
        import_forever(sys.argv[2], sys.argv[3])
    elif kind == "edit":
        ids = [int(x) for x in sys.argv[3].split(",")]
        print(json.dumps(edit(sys.argv[2], ids, int(sys.argv[4]))), flush=True)
    elif kind == "import-rounds":
        shared = sys.argv[5].split(",")
        result = import_rounds(sys.argv[2], sys.argv[3], int(sys.argv[4]), shared)
        print(json.dumps(result), flush=True)
    else:
        raise SystemExit(f"unknown worker {kind}")


if __name__ == "__main__":
    main()
