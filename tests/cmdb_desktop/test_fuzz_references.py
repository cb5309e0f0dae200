"""Fuzzing the CLI's reference parser and field assignments: any text gives an id or
a user-facing error, never a crash. ``--run-slow`` runs many more examples."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb_desktop.cli import main
from cmdb_desktop.cli.common import parse_assignments
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import AmbiguousReferenceError, CmdbError, NotFoundError

NAMES = ["web01", "Server/odd", "#7", "a/b/c", "Zoë", "  spaced  ", "dup"]
REFS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        NAMES
        + [
            "#1",
            "#0",
            "#-1",
            "#99999999999999999999",
            "Server/web01",
            "server/WEB01",
            "Virtual Machine/dup",
            "/",
            "#",
            "Rack/",
        ]
    ),
    st.builds(lambda a, b: f"{a}/{b}", st.text(max_size=10), st.text(max_size=10)),
)


@pytest.fixture(scope="module")
def fuzz_cmdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cmdb]:
    path = tmp_path_factory.mktemp("fuzz") / "f.sqlite"
    c = Cmdb.open(path)
    for name in NAMES:
        c.items.create("Server", {"name": name, "status": "In Use"})
    c.items.create("Virtual Machine", {"name": "dup", "status": "In Use"})
    yield c
    c.close()


def _examples(request: pytest.FixtureRequest) -> int:
    return 2000 if request.config.getoption("--run-slow") else 150


def test_resolve_never_crashes(fuzz_cmdb: Cmdb, request: pytest.FixtureRequest) -> None:
    @settings(
        max_examples=_examples(request),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(REFS)
    def check(ref: str) -> None:
        try:
            ci = fuzz_cmdb.items.resolve(ref)
        except (NotFoundError, AmbiguousReferenceError) as exc:
            assert str(exc)
        else:
            assert fuzz_cmdb.items.get(ci).id == ci

    check()


def test_cli_show_exit_codes(fuzz_cmdb: Cmdb, request: pytest.FixtureRequest) -> None:
    db = str(fuzz_cmdb.path)

    @settings(max_examples=_examples(request) // 3, deadline=None)
    @given(REFS)
    def check(ref: str) -> None:
        out, err = io.StringIO(), io.StringIO()
        code = main(["--db", db, "show", ref], out=out, err=err)
        assert code in (0, 2)
        assert "Traceback" not in err.getvalue()

    check()


@given(st.lists(st.text(max_size=20), max_size=5))
@settings(max_examples=200, deadline=None)
def test_assignments_parse_or_explain(pairs: list[str]) -> None:
    try:
        fields = parse_assignments(pairs)
    except CmdbError as exc:
        assert "FIELD=VALUE" in str(exc)
    else:
        assert all(k and k == k.strip() for k in fields)


def test_db_path_is_not_a_cmdb(tmp_path: Path) -> None:
    bad = tmp_path / "x.sqlite"
    bad.write_bytes(b"\x00" * 100)
    err = io.StringIO()
    assert main(["--db", str(bad), "show", "#1"], out=io.StringIO(), err=err) == 2
    assert "not a CMDB" in err.getvalue()
