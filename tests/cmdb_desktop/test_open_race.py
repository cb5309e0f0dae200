"""Programs racing on one file, each a real ``cmdb`` process: two creating the same new
CMDB at once, a command reading it while it is created, a write while ``demo``
generates or writes. Every one succeeds, waits, or exits with a clear message;
never a traceback, never half a schema, never a catalogue seeded twice.

The races are started by events, not by sleeps: the children wait on a common
start signal (a line on their stdin) once Python and the program are loaded,
or the test acts on the line a child prints when it reaches a phase.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cmdb_desktop import catalogue
from cmdb_desktop.sqlite_file import APPLICATION_ID
from tests.dbstate import check_intact
from tests.refusals import REPO, Done, assert_clean, run_cmdb

#: A child that loads the program, says "ready", waits for the start line, runs one command.
_ON_SIGNAL = """
import sys
from cmdb_desktop.cli import run
print("ready", flush=True)
sys.stdin.readline()
sys.argv = ["cmdb", *sys.argv[1:]]
run()
"""


def _race(db: Path, *commands: tuple[str, ...]) -> list[Done]:
    """Run each command on ``db`` in its own process, all started at one signal."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ON_SIGNAL, "--db", str(db), "--format", "json", *command],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        results.append(Done(proc.returncode, out, err))
    return results


def _check_one_whole_cmdb(db: Path) -> None:
    check_intact(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        classes = conn.execute("SELECT count(*) FROM ci_class").fetchone()[0]
        types = conn.execute("SELECT count(*) FROM relationship_type").fetchone()[0]
    assert (classes, types) == (len(catalogue.DEFAULT_CLASSES), len(catalogue.RELATIONSHIP_TYPES))


@pytest.mark.parametrize("round_", range(4))
def test_two_programs_create_the_same_new_cmdb(tmp_path: Path, round_: int) -> None:
    db = tmp_path / "new.sqlite"
    first, second = _race(db, ("init",), ("init",))
    for done in (first, second):
        assert done.code == 0, done.printed
        assert_clean(done)
    created = [json.loads(done.out)["created"] for done in (first, second)]
    assert sorted(created) == [False, True], created
    _check_one_whole_cmdb(db)


@pytest.mark.parametrize("round_", range(3))
def test_a_command_while_the_cmdb_is_created(tmp_path: Path, round_: int) -> None:
    """``add`` never creates: it finds no CMDB yet (exit 2, saying so), or the whole one."""
    db = tmp_path / "new.sqlite"
    created, added = _race(db, ("init",), ("add", "Server", "web01"))
    assert created.code == 0, created.printed
    assert_clean(created)
    assert_clean(added)
    if added.code == 2:
        assert "No CMDB at" in added.err and "cmdb init" in added.err, added.err
    else:
        assert added.code == 0, added.printed
    _check_one_whole_cmdb(db)


def _demo(db: Path, size: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cmdb_desktop", "--db", str(db), "demo", "--size", str(size)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _until(proc: subprocess.Popen[str], phase: str) -> str:
    """Read the child's progress lines (stderr) until it reaches ``phase``."""
    assert proc.stderr is not None
    seen = ""
    while True:
        line = proc.stderr.readline()
        assert line, f"the child ended before {phase!r}: {seen}"
        seen += line
        if line.startswith(phase):
            return seen


def test_a_write_while_demo_generates(tmp_path: Path) -> None:
    """The demo is generated in memory for the CMDB as it was, then written. A CI
    added meanwhile (the demo's process is frozen while it generates, so the
    write lands in that window) made the demo collide with it: a traceback
    (UNIQUE constraint failed). Now the demo says the CMDB changed and writes
    nothing; the other program's CI is kept."""
    db = tmp_path / "new.sqlite"
    proc = _demo(db, 20_000)
    _until(proc, "Generating demo CMDB")
    proc.send_signal(signal.SIGSTOP)
    try:
        added = run_cmdb(db, "add", "Server", "intruder")
    finally:
        proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=600)
    demo = Done(proc.returncode, out, err)
    assert_clean(demo)
    assert_clean(added)
    assert added.code == 0, added.printed
    assert demo.code == 2 and "while the demo was being generated" in demo.err, demo.printed
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM ci").fetchall() == [("intruder",)]
    check_intact(db)


def test_a_write_while_demo_writes(tmp_path: Path) -> None:
    """The second writer waits for the demo's transaction, or says the CMDB is busy."""
    db = tmp_path / "new.sqlite"
    proc = _demo(db, 20_000)
    _until(proc, "Writing CIs")  # the demo holds the write lock now
    added = run_cmdb(db, "add", "Server", "latecomer")
    out, err = proc.communicate(timeout=600)
    demo = Done(proc.returncode, out, err)
    assert demo.code == 0, demo.printed
    assert_clean(demo)
    assert_clean(added)
    assert added.code == 0 or (added.code == 2 and "busy" in added.err), added.printed
    with sqlite3.connect(db) as conn:
        total = conn.execute("SELECT count(*) FROM ci").fetchone()[0]
    assert total == 20_000 + (added.code == 0)
    check_intact(db)
