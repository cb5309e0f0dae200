"""Child-process workloads for the concurrency and crash tests.

Run as ``python -m tests.cmdb_desktop.workers KIND DB [ARGS…]`` from the
repository root. Each prints JSON lines with what it achieved.

A writer that a test kills announces each write (:func:`announce_writes`) and
the test kills it only after such a line (:func:`kill_inside_writes`): however
long the worker takes to start on a busy machine, the kill lands in a write,
never before the first one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from typing import Any

from sqlalchemy import Engine, event

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import StaleVersionError

#: Statements that make a transaction a write.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_ENDS = ("COMMIT", "ROLLBACK", "END")
#: The line a write prints for each statement after its first.
_STATEMENT = json.dumps({"statement": 1})


def _say(line: str) -> None:
    """One whole line on stdout in one write (atomic on a pipe): the writer's thread
    prints while the worker's main thread prints its own lines (:func:`say`), and a
    kill may come at any moment; no line may be cut into another."""
    os.write(sys.stdout.fileno(), (line + "\n").encode())


def say(data: Any) -> None:
    """A worker's JSON line, written the way :func:`_say` writes."""
    _say(json.dumps(data))


def announce_writes(engine: Engine) -> None:
    """Print ``{"writing": n}`` when the n-th write transaction runs its first write
    statement (on stdout, flushed: the transaction is open and unfinished then).

    SQLite's own trace hook sees every statement, including those the bulk
    writers run on raw DB-API cursors, which SQLAlchemy's events never see.
    """
    state = {"writing": False, "count": 0}

    def trace(statement: str) -> None:
        head = statement.lstrip()[:8].upper()
        if head.startswith(_ENDS):
            state["writing"] = False
        elif state["writing"]:
            _say(_STATEMENT)  # the write goes on: the killer's clock
        elif head.startswith(_WRITES):
            state["writing"] = True
            state["count"] += 1
            say({"writing": state["count"]})

    def on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.set_trace_callback(trace)

    event.listen(engine, "checkout", on_checkout)


def kill_inside_writes(
    proc: subprocess.Popen[str], rng: random.Random, *, writes: int
) -> list[dict[str, Any]]:
    """Let the worker reach its k-th write (k drawn from 1…``writes``), SIGKILL it at
    a random point of it, and return every JSON line it printed, in order (without
    the statement lines). Fails if the worker ended by itself (with its stderr, when
    that was piped).

    The worker's own lines are the clock: it prints a line for each statement of a
    write (:func:`announce_writes`), and the kill comes after a random fraction of
    the statements its previous write ran (the first write: after up to four), or
    just past the commit when the write ran fewer. No sleep, no guess about how long
    the worker takes to start or to write, on a fast machine or a slow one.
    """
    assert proc.stdout is not None
    target = rng.randint(1, writes)
    fraction = rng.random()
    lines: list[dict[str, Any]] = []
    seen = 0
    statements: int | None = None  # of the write in progress
    last_write = 4
    stop_after = -1
    while True:
        line = proc.stdout.readline()
        if not line:  # it exited by itself: reported below
            break
        if line.strip() == _STATEMENT:
            if statements is not None:
                statements += 1
                if seen == target and statements >= stop_after:
                    break
            continue
        lines.append(json.loads(line))
        if statements is not None:  # the write before ended (committed, or another began)
            if seen == target:
                break
            last_write, statements = statements, None
        if "writing" in lines[-1]:
            seen += 1
            statements = 0
            if seen == target:
                stop_after = round(fraction * last_write)
                if stop_after == 0:
                    break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The rest through the same reader: what readline() read ahead is in its buffer
    # (communicate() would read the pipe beneath it and begin in the middle of a line).
    rest = proc.stdout.read()
    err = proc.stderr.read() if proc.stderr is not None else ""
    assert proc.returncode == -signal.SIGKILL, f"the worker ended by itself: {err[-2000:]}"
    # The kill may cut the last line (nothing after its final newline is whole).
    whole = rest.split("\n")[:-1]
    lines += [json.loads(line) for line in whole if line.strip() not in ("", _STATEMENT)]
    return lines


def increment(db: str, ci_ids: list[int], rounds: int, user: str) -> dict[str, int]:
    """Optimistic read-modify-write of a counter on shared CIs; retry after a conflict."""
    cmdb = Cmdb.open(db, user=user)
    done = conflicts = 0
    try:
        for n in range(rounds):
            ci = ci_ids[n % len(ci_ids)]
            while True:
                rec = cmdb.items.get(ci)
                value = rec.values["counter"] or 0
                try:
                    cmdb.items.update(ci, {"counter": value + 1}, expected_version=rec.version)
                except StaleVersionError:
                    conflicts += 1
                    continue
                done += 1
                break
    finally:
        cmdb.close()
    return {"done": done, "conflicts": conflicts}


def bulk_edits(db: str, ci_ids: list[int]) -> None:
    """Bulk edits forever: batch k sets description "k" on every CI (killed from outside)."""
    cmdb = Cmdb.open(db, user="bulk")
    announce_writes(cmdb.engine)
    k = 0
    while True:
        k += 1
        cmdb.items.update_many({ci: {"description": f"batch {k}"} for ci in ci_ids})
        say({"committed": k})


def main() -> None:
    kind, db = sys.argv[1], sys.argv[2]
    ids = [int(x) for x in sys.argv[3].split(",")]
    if kind == "increment":
        print(json.dumps(increment(db, ids, int(sys.argv[4]), sys.argv[5])), flush=True)
    elif kind == "bulk":
        bulk_edits(db, ids)
    else:
        raise SystemExit(f"unknown worker {kind}")


if __name__ == "__main__":
    main()
