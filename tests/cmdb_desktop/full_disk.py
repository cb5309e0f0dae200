"""Run one ``cmdb`` command on a copy of a CMDB on a small, nearly full file system
and report what happened (a plain helper module, not a test module).

``python -m tests.cmdb_desktop.full_disk FOLDER DB ARGS…``, run inside a private
mount namespace in which FOLDER is a small tmpfs (see test_full_disk): copies
DB into FOLDER, fills the rest of FOLDER but for a little room, runs ``cmdb
--db FOLDER/DB ARGS…`` in a child process, and prints one JSON line: its exit
code and output, whether the copy is byte-identical afterwards and passes
SQLite's integrity check, and what is left in FOLDER. ``{OUT}`` in ARGS stands
for a file in FOLDER.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.refusals import fingerprint

#: Free room left on the file system: enough to open the CMDB (its -shm file
#: takes 32 KiB), far too little for the command's writes.
ROOM = 96 * 1024


def main() -> None:
    folder, source, args = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    db = folder / source.name
    shutil.copyfile(source, db)
    free = shutil.disk_usage(folder).free
    with (folder / "filler").open("wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * max(0, free - ROOM))
    before = fingerprint(db)
    args = [a.replace("{OUT}", str(folder / "out.xlsx")) for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "cmdb_desktop", "--db", str(db), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    unchanged = fingerprint(db) == before
    left = sorted(p.name for p in folder.iterdir() if p.name != "filler")
    (folder / "filler").unlink()  # room for the check's own -shm file
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    intact = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    report = {
        "code": done.returncode,
        "out": done.stdout,
        "err": done.stderr,
        "unchanged": unchanged,
        "intact": intact,
        "left": left,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
