"""Architecture guards: the core and the importers never load Qt; the CLI is the
only core module that may use the importers; the GUI never imports the CLI; SQL
text lives only in the core's storage modules."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _modules(package: str) -> list[str]:
    out = []
    for path in sorted((REPO / package).rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] == "__main__" or ("migrations" in parts and parts[-1] == "env"):
            continue
        if "versions" in parts:
            continue
        out.append(".".join(parts))
    return out


@pytest.mark.parametrize("package", ["cmdb_desktop", "importers"])
def test_package_never_loads_pyside6(package: str) -> None:
    modules = _modules(package)
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "", f"{package} loaded Qt: {result.stdout}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_dependencies_point_one_way() -> None:
    problems = []
    for path in (REPO / "cmdb_desktop").rglob("*.py"):
        rel = path.relative_to(REPO)
        used = _imports(path)
        in_cli = "cli" in rel.parts or rel.name in ("cli.py", "__main__.py")
        if "ui" in used:
            problems.append(f"{rel} imports ui")
        if "importers" in used and not in_cli:
            problems.append(f"{rel} imports importers (only the CLI may)")
        if not in_cli and "cmdb_desktop" in used:
            text = path.read_text(encoding="utf-8")
            if "cmdb_desktop.cli" in text:
                problems.append(f"{rel} imports the CLI")
    for path in (REPO / "importers").rglob("*.py"):
        if "ui" in _imports(path):
            problems.append(f"{path.relative_to(REPO)} imports ui")
    assert problems == []


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, dotted in full (``from a import b`` gives
    ``a`` and ``a.b``: b may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_ui_never_imports_the_cli() -> None:
    """The GUI is a front end beside the CLI, not on top of it (the default database
    path, for one, comes from ``cmdb_desktop.db``)."""
    problems = []
    for path in sorted((REPO / "ui").rglob("*.py")):
        cli = [
            m
            for m in _imported_modules(path)
            if m == "cmdb_desktop.cli" or m.startswith("cmdb_desktop.cli.")
        ]
        if cli or "cmdb_desktop.cli" in path.read_text(encoding="utf-8"):
            problems.append(f"{path.relative_to(REPO)} imports the CLI")
    assert problems == []


def test_gui_tests_share_helpers_not_test_modules() -> None:
    """A GUI test imports waits and fixtures from plain modules (or gets them as
    fixtures), never from another test module or a conftest."""
    problems = []
    for path in sorted((REPO / "tests" / "ui").glob("*.py")):
        for module in _imported_modules(path):
            last = module.split(".")[-1]
            if module.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                problems.append(f"{path.relative_to(REPO)} imports {module}")
    assert problems == []


#: The core's storage modules: the only places that write SQL as text (engine and
#: pragmas, what a database file is before it is opened, dialect seams, bulk
#: statements and table reads, the history writer's staged inserts, full-text
#: search, the table's typed page queries, the graph loader, the catalogue
#: loader, the facade's counters, the quick reader of a small command, migrations). Everything
#: else — services, importers, the GUI — speaks SQLAlchemy expressions or calls these.
STORAGE_MODULES = {
    "cmdb_desktop/db.py",
    "cmdb_desktop/sqlite_file.py",
    "cmdb_desktop/dialect.py",
    "cmdb_desktop/bulk.py",
    "cmdb_desktop/history.py",
    "cmdb_desktop/search.py",
    "cmdb_desktop/browse.py",
    "cmdb_desktop/graph.py",
    "cmdb_desktop/metamodel.py",
    "cmdb_desktop/cmdb.py",
    "cmdb_desktop/change_mgmt/storage.py",
    "cmdb_desktop/assets/storage.py",
    "cmdb_desktop/asof_store.py",
    "cmdb_desktop/team.py",
    "cmdb_desktop/live.py",
    "cmdb_desktop/quickread.py",
}
_SQL = re.compile(
    r"\b(SELECT\b.+\bFROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+(TEMP\s+)?"
    r"(TABLE|INDEX|TRIGGER)|DROP\s+TABLE|PRAGMA\s+\w+|BEGIN\s+(IMMEDIATE|DEFERRED))",
    re.S,
)


def _sql_texts(path: Path) -> list[tuple[int, str]]:
    """String literals (f-strings included) that read as SQL, and calls that run SQL text."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    sql_text = any(  # SQLAlchemy's text() is imported (other modules have text helpers)
        isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("sqlalchemy")
        and any(a.name == "text" for a in node.names)
        for node in ast.walk(tree)
    )
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _SQL.search(node.value) and not node.value.lstrip().startswith(("\n", "`")):
                found.append((node.lineno, node.value[:60]))
        elif isinstance(node, ast.JoinedStr):
            literal = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if _SQL.search(literal):
                found.append((node.lineno, literal[:60]))
        elif isinstance(node, ast.Attribute) and node.attr in (
            "exec_driver_sql",
            "driver_connection",
        ):
            found.append((node.lineno, node.attr))
        elif sql_text and isinstance(node, ast.Call) and getattr(node.func, "id", None) == "text":
            found.append((node.lineno, "text(…)"))
    return found


def _docstrings(path: Path) -> set[int]:
    """Line numbers of docstrings (prose may mention SELECT … FROM)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                lines.add(value.lineno)
    return lines


def test_sql_text_only_in_the_storage_modules() -> None:
    problems = []
    for package in ("cmdb_desktop", "importers", "ui"):
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel in STORAGE_MODULES or "/migrations/" in rel:
                continue
            docs = _docstrings(path)
            for line, what in _sql_texts(path):
                if line not in docs:
                    problems.append(f"{rel}:{line}: {what!r}")
    assert problems == []
