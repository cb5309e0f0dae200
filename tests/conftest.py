"""Shared fixtures: real SQLite files in temporary folders, real data when present."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# GUI tests run headless; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Helper modules with asserts of their own get pytest's detailed assert messages.
pytest.register_assert_rewrite("tests.dbstate", "tests.refusals")

from cmdb_desktop.cmdb import Cmdb  # noqa: E402

#: Fixture plugins shared by several packages of tests (a test module never imports
#: fixtures from another test module).
pytest_plugins = ["tests.postgres"]

REPO = Path(__file__).resolve().parent.parent
SHARED_REAL = (REPO.parent / "shared" / "data" / "real").resolve()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run the long variants too")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long variant: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cmdb.sqlite"


@pytest.fixture
def cmdb(db_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[Cmdb]:
    """A new, empty CMDB in a temporary file; for a test marked ``backends``, once
    in a file and once in a new database on the session's PostgreSQL server
    (:mod:`tests.postgres`)."""
    if backend == "postgresql":
        yield request.getfixturevalue("pg")
        return
    c = Cmdb.open(db_path, user="tester")
    yield c
    c.close()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-CI demo CMDB, built once per session; copy it before writing to it."""
    from cmdb_desktop import demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    with Cmdb.open(path, user="demo") as c:
        demo.generate(c, 2000, seed=7)
    return path


@pytest.fixture
def demo_cmdb(demo_db: Path, tmp_path: Path) -> Iterator[Cmdb]:
    """A private, writable copy of the session's demo CMDB."""
    from cmdb_desktop.db import copy_sqlite

    path = tmp_path / "demo-copy.sqlite"
    copy_sqlite(demo_db, path)
    c = Cmdb.open(path, user="tester")
    yield c
    c.close()


@pytest.fixture(scope="session")
def real_data() -> Iterator[Path]:
    """``../shared/data/real``; tests using it skip cleanly when it is absent.

    The data is not ours: the session fails if any test left a file there (a
    rejects workbook written beside an imported file, say).
    """
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/data/real is not available")
    before = {p for p in SHARED_REAL.rglob("*")}
    yield SHARED_REAL
    added = sorted(
        str(p.relative_to(SHARED_REAL)) for p in SHARED_REAL.rglob("*") if p not in before
    )
    assert not added, f"tests wrote into the shared real data: {added[:10]}"
