"""Hostile and broken files through ``cmdb import``: a clear message naming the file
(or the sheet, row and column of the one bad cell), exit 2, no crash, bounded
memory, no hang, and a database unchanged to the last byte of content.

The corpus (:mod:`tests.importers.badfiles`) is generated into
``tests/data/bad/`` and run in ONE child process under an address-space cap
(``RLIMIT_AS``): a native abort (python-calamine 0.9 aborts on a sheet that
reaches XFD1048576) or a runaway allocation kills the child, not the test
run, and shows as a failure naming the file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cmdb import Cmdb
from importers.untrusted import CHILD_MEMORY_LIMIT
from tests.importers import badfiles
from tests.importers.badfiles import BAD_STATUS, BadFile
from tests.importers.workers import digest

REPO = Path(__file__).resolve().parents[2]
BAD_DIR = REPO / "tests" / "data" / "bad"
#: Address space the importing process may use (a CLI import of these files
#: peaks far lower; the cap turns a runaway allocation into a failure).
MEMORY_CAP = 2 * 1024**3
#: Peak resident memory allowed for the whole corpus run in the importing process.
PEAK_MB = 1024
#: Peak of the probing children (importers.untrusted): they read .xls/.xlsb/.ods
#: files whole under this address-space limit, so a file that needs more dies
#: there (and is refused) instead of in the importing process.
CHILD_PEAK_MB = CHILD_MEMORY_LIMIT // 1024**2
#: Seconds the whole corpus may take: a hang guard, not a speed claim (how long a
#: file takes is printed, never asserted: a busy machine is not a failure).
CORPUS_SECONDS = 900
#: Longest message a user gets for one problem (60,000-character cells must not
#: come back whole inside an error).
MESSAGE_CHARS = 1000


@pytest.fixture(scope="session")
def corpus() -> list[tuple[BadFile, Path]]:
    return badfiles.build(BAD_DIR)


def run_corpus(db: Path, files: list[Path], cap: int = MEMORY_CAP) -> dict[str, dict[str, Any]]:
    """Import each file in one capped child; file name → its result line."""
    env = {**os.environ, "CMDB_TEST_MEMORY_CAP": str(cap)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.importers.workers", "corpus", str(db), *map(str, files)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=CORPUS_SECONDS,
        check=False,
    )
    results: dict[str, dict[str, Any]] = {}
    started = None
    for line in done.stdout.splitlines():
        data = json.loads(line)
        if "starting" in data:
            started = data["starting"]
        else:
            results[Path(data["file"]).name] = data
    if done.returncode != 0:
        pytest.fail(
            f"the importing process died (exit {done.returncode}) on {started}:\n"
            f"{done.stderr[-3000:]}"
        )
    return results


def problems_with(bad: BadFile, result: dict[str, Any]) -> list[str]:
    """Everything wrong with one file's outcome (empty when it behaved)."""
    out: list[str] = []
    data = result["json"] or {}
    errors = data.get("errors") or []
    if result["code"] != 2:
        out.append(f"exit {result['code']}, not 2")
    if not result["unchanged"]:
        out.append("the database changed")
    if "Traceback" in result["stderr"]:
        out.append("a traceback reached the user")
    if data.get("written"):
        out.append("written is true")
    if "root:" in json.dumps(data) + result["stderr"]:
        out.append("/etc/passwd leaked into the output")
    if not errors:
        return [*out, "no error reported"]
    for e in errors:
        if len(e["message"]) > MESSAGE_CHARS:
            out.append(f"a {len(e['message']):,}-character message")
    if bad.refused is not None:
        # one error: about the whole file (naming it), or about a whole sheet
        first = errors[0]
        if len(errors) != 1:
            out.append(f"expected one error, got {errors}")
        if not re.search(bad.refused, first["message"]):
            out.append(f"message {first['message']!r} does not match {bad.refused!r}")
        if first["sheet"] is None and bad.name not in first["message"]:
            out.append(f"message {first['message']!r} does not name the file")
    if bad.error is not None:
        sheet, row, column = bad.error
        hits = [e for e in errors if (e["sheet"], e["row"], e["column"]) == (sheet, row, column)]
        if not hits:
            out.append(f"no error at {bad.error}: {errors}")
        if any(e["sheet"] is None for e in errors):
            out.append(f"a file-level error besides the row errors: {errors}")
        created = (data.get("cis") or {}).get("created")
        if bad.created is not None and created != bad.created:
            out.append(f"{created} rows read as new CIs, expected {bad.created}")
    return out


def _seeded(tmp_path: Path) -> Path:
    db = tmp_path / "hostile.sqlite"
    with Cmdb.open(db, user="tester") as c:
        c.classes.add_attribute("Server", "Rack Unit", "integer")
        a = c.items.create("Server", {"name": "existing-01", "status": "In Use"}).created[0]
        b = c.items.create("Rack", {"name": "rack-1", "status": "In Use"}).created[0]
        c.relations.relate(a, "Located in", b)
    return db


def test_every_hostile_file_is_refused_cleanly(
    corpus: list[tuple[BadFile, Path]], tmp_path: Path
) -> None:
    db = _seeded(tmp_path)
    before = digest(db)
    results = run_corpus(db, [path for _, path in corpus])
    failures = []
    for bad, path in corpus:
        result = results.get(path.name)
        if result is None:
            failures.append(f"{path.name}: no result")
            continue
        for problem in problems_with(bad, result):
            failures.append(f"{path.name} ({bad.about}): {problem}")
    assert digest(db) == before
    peak = max(r["peak_mb"] for r in results.values())
    children = max(r["children_peak_mb"] for r in results.values())
    slowest = max(results.values(), key=lambda r: r["seconds"])
    refused = sum(1 for bad, _ in corpus if bad.refused)
    print(
        f"\n{len(corpus)} hostile files tried ({refused} refused as files, "
        f"{len(corpus) - refused} with the bad cell pinpointed); peak RSS {peak} MB "
        f"(probing children {children} MB); slowest {Path(slowest['file']).name} "
        f"{slowest['seconds']} s"
    )
    assert not failures, "\n".join(failures)
    assert peak <= PEAK_MB
    assert children <= CHILD_PEAK_MB


def test_corpus_covers_every_format(corpus: list[tuple[BadFile, Path]]) -> None:
    suffixes = {bad.suffix for bad, _ in corpus}
    assert {".xlsx", ".ods", ".xls", ".csv"} <= suffixes
    assert len(corpus) >= 60


def test_error_rows_keep_their_message_short(corpus: list[tuple[BadFile, Path]]) -> None:
    """The 60,000-character bad cell is named, but not repeated whole."""
    from importers.apply import import_file

    path = dict((bad.name, p) for bad, p in corpus)["60k-cells.csv"]
    with Cmdb.open(path.with_suffix(".sqlite")) as cmdb:
        result = import_file(cmdb, path, dry_run=True)
    status = [e for e in result.errors if e.column == "Status"]
    assert status and BAD_STATUS in status[0].message
    assert all(len(e.message) < MESSAGE_CHARS for e in result.errors)
    path.with_suffix(".sqlite").unlink()


def test_hidden_sheets_are_named_in_a_warning(corpus: list[tuple[BadFile, Path]]) -> None:
    from importers.plan import load_source

    path = dict((bad.name, p) for bad, p in corpus)["only-hidden-data.xlsx"]
    source = load_source(path)
    assert any("'CIs' is hidden" in w for w in source.warnings)


@pytest.mark.slow
def test_hostile_files_under_a_tight_memory_cap(
    corpus: list[tuple[BadFile, Path]], tmp_path: Path
) -> None:
    """The same corpus with 1 GiB of address space: still refused, never killed."""
    db = _seeded(tmp_path)
    results = run_corpus(db, [p for _, p in corpus], cap=1024**3)
    failures = [
        f"{p.name}: {problem}"
        for bad, p in corpus
        for problem in problems_with(bad, results[p.name])
    ]
    assert not failures, "\n".join(failures)
