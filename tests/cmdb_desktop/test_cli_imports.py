"""A small command loads only what it uses (issue 20: the CLI starts fast).

Each check runs the command in a new interpreter, as a user's shell would, and
reads back which top-level packages were imported by the time it finished. The
time itself is measured by the benchmark (``bench/bench_cli.py``), never here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: Spreadsheet, GUI, importer and graph-library packages.
HEAVY = (
    "openpyxl",
    "python_calamine",
    "importers",
    "PySide6",
    "shiboken6",
    "networkx",
    "scipy",
    "pandas",
    "rustworkx",
    "alembic",
)

PROBE = """
import json, sys
from cmdb_desktop.cli import main
code = main(sys.argv[1:])
heavy = {heavy!r}
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy) | (
    {{"numpy"}} if "numpy" in sys.modules else set()) | (
    {{"sqlalchemy"}} if "sqlalchemy" in sys.modules else set()))
print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""


def probe(db: Path, *args: str) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), "--db", str(db), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return int(report["code"]), list(report["loaded"])


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "cmdb.sqlite"
    shutil.copyfile(demo_db, copy)
    return copy


@pytest.mark.parametrize(
    "args",
    [("show", "#1"), ("--format", "json", "show", "#1"), ("show", "Amsterdam DC1")],
)
def test_show_reads_the_file_without_sqlalchemy_or_any_heavy_module(
    db: Path, args: tuple[str, ...]
) -> None:
    # Not even SQLAlchemy: a current CMDB file is read through sqlite3 alone
    # (cmdb_desktop.quickread), and showing a CI needs no graph (no numpy).
    code, loaded = probe(db, *args)
    assert code == 0
    assert loaded == []


def test_show_of_a_file_not_found_still_says_so_without_sqlalchemy(db: Path) -> None:
    code, loaded = probe(db, "show", "#999999")
    assert code == 2
    assert loaded == []


def test_set_imports_no_spreadsheet_gui_importer_or_graph_module(db: Path) -> None:
    code, loaded = probe(db, "set", "#1", "owner=Alice")
    assert code == 0
    assert loaded == ["sqlalchemy"]  # a write goes through the services


def test_impact_loads_numpy_for_the_graph_and_nothing_heavier(db: Path) -> None:
    code, loaded = probe(db, "--format", "json", "impact", "#1")
    assert code == 0
    assert loaded == ["numpy", "sqlalchemy"]  # the graph is loaded and kept beside the file
    code, loaded = probe(db, "--format", "json", "impact", "#1")
    assert code == 0
    assert loaded == ["numpy"]  # the kept graph, checked and used without SQLAlchemy


def test_import_still_finds_its_importer_when_it_runs(db: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "cis.csv"
    sheet.write_text("Name,Class,Status\nweb-probe-01,Server,In Use\n", encoding="utf-8")
    code, loaded = probe(db, "import", str(sheet))
    assert code == 0
    assert "importers" in loaded and "python_calamine" in loaded
