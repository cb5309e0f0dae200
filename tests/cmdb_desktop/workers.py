"""Child-process workloads for the concurrency and crash tests.

Run as ``python -m tests.cmdb_desktop.workers KIND DB [ARGS…]`` from the
repository root. Each prints one JSON line with what it achieved.
"""

from __future__ import annotations

import json
import sys
import time

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import StaleVersionError


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
    k = 0
    while True:
        k += 1
        cmdb.items.update_many({ci: {"description": f"batch {k}"} for ci in ci_ids})
        print(json.dumps({"committed": k}), flush=True)
        time.sleep(0.001)


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
