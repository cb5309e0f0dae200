"""Guards on the tests themselves: a test module never imports from another test
module (or a conftest), and an optional driver skips only the tests that need it.

tests/ui is left out for now: its wizard tests still share steps (``go_next``)
through test modules.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHECKED = ("tests/cmdb_desktop", "tests/importers", "tests/bench")


def _test_modules() -> list[Path]:
    return sorted(p for folder in CHECKED for p in (REPO / folder).glob("test_*.py"))


def _imported_modules(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_guard_sees_the_test_modules() -> None:
    names = {p.name for p in _test_modules()}
    assert {"test_crash.py", "test_postgres.py", "test_readers.py", "test_harness.py"} <= names


@pytest.mark.parametrize("path", _test_modules(), ids=lambda p: p.name)
def test_no_imports_from_test_modules(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [
        name
        for name in _imported_modules(tree)
        if name.startswith("tests.")
        and (name.rsplit(".", 1)[-1].startswith("test_") or name.endswith(".conftest"))
    ]
    assert bad == [], f"{path.name} imports from test modules or conftests: {bad}"


def _module_level_calls(tree: ast.Module) -> list[ast.Call]:
    calls = []
    for node in tree.body:
        value = node.value if isinstance(node, ast.Expr | ast.Assign) else None
        if isinstance(value, ast.Call):
            calls.append(value)
    return calls


@pytest.mark.parametrize("path", _test_modules(), ids=lambda p: p.name)
def test_no_module_level_importorskip(path: Path) -> None:
    """At module level it skips every test of the module, SQLite ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skips = [
        call.lineno
        for call in _module_level_calls(tree)
        if isinstance(call.func, ast.Attribute) and call.func.attr == "importorskip"
    ]
    assert skips == [], f"{path.name}: module-level importorskip on line(s) {skips}"


def test_without_psycopg_only_the_postgres_tests_skip() -> None:
    """A module mixing SQLite and PostgreSQL tests, run where psycopg cannot be imported."""
    code = (
        "import sys\n"
        "sys.modules['psycopg'] = None  # as if it were not installed\n"
        "import pytest\n"
        "raise SystemExit(pytest.main(['-q', '-rs', '-p', 'no:cacheprovider', "
        "'tests/cmdb_desktop/test_history_integrity.py']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "1 skipped" in summary, summary
    assert "test_history_integrity.py:" in done.stdout and "psycopg" in done.stdout
