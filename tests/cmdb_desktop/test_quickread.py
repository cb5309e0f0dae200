"""``cmdb show`` reads a current CMDB file through SQLite's driver alone (issue 20:
a small command starts fast). What it reads must be what the services read, CI by
CI, and it must leave the file as it found it."""

from __future__ import annotations

import io
import json
import random
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from cmdb_desktop.cli import main
from cmdb_desktop.cli.common import Context
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import make_engine, to_url, upgrade
from cmdb_desktop.errors import CmdbError
from cmdb_desktop.graph import snapshot_path
from cmdb_desktop.migrations import SCHEMA_REVISIONS
from cmdb_desktop.quickread import QuickReader
from cmdb_desktop.schema import CI_COLUMNS, CI_DATE_COLUMNS
from tests.refusals import beside, fingerprint


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "cmdb.sqlite"
    shutil.copyfile(demo_db, copy)
    with Cmdb.open(copy, user="tester") as cmdb:
        # What the demo lacks: a reference attribute, custom attributes of each kind.
        cmdb.classes.add_attribute("Server", "Backup Server", "reference", reference_class="Server")
        cmdb.classes.add_attribute("Server", "Rack Unit", "integer")
        cmdb.classes.add_attribute("Server", "Commissioned", "date")
        cmdb.classes.add_attribute("Server", "Tier", "choice", choices=["Gold", "Silver"])
        servers = _servers(cmdb)
        cmdb.items.update(
            servers[0],
            {"backup_server": servers[1], "rack_unit": 42, "commissioned": date(2024, 2, 29)},
        )
        cmdb.items.update(servers[1], {"tier": "Gold", "backup_server": servers[2]})
        cmdb.items.delete(servers[2])  # a reference to a deleted CI
    return copy


def _servers(cmdb: Cmdb) -> list[int]:
    info = cmdb.meta.get_class("Server")
    ids = [
        ci_id
        for ci_id, ref in cmdb.items.refs(range(1, 2001)).items()
        if ref.class_name == info.name
    ]
    return sorted(ids)[:3]


@pytest.fixture
def pair(db: Path) -> Iterator[tuple[QuickReader, Cmdb]]:
    reader = QuickReader.open(str(db))
    assert reader is not None
    cmdb = Cmdb.open(db, create=False)
    yield reader, cmdb
    reader.close()
    cmdb.close()


def test_the_written_out_columns_are_the_tables_columns() -> None:
    from cmdb_desktop.models import ci_table

    assert tuple(c.name for c in ci_table.c) == CI_COLUMNS
    dates = tuple(c.name for c in ci_table.c if type(c.type).__name__ == "Date")
    assert dates == CI_DATE_COLUMNS


def test_every_ci_and_its_relationships_read_as_the_services_read_them(
    pair: tuple[QuickReader, Cmdb],
) -> None:
    reader, cmdb = pair
    ids = sorted(cmdb.items.refs(range(1, 2005)))
    assert len(ids) == 1999
    for ci_id in ids:
        assert reader.get(ci_id) == cmdb.items.get(ci_id)
        assert reader.relations_of(ci_id) == cmdb.relations.of(ci_id)
    assert reader.refs(ids) == cmdb.items.refs(ids)
    assert reader.meta == cmdb.meta


def _outcome(resolve: object, ref: str) -> tuple[str, object]:
    try:
        return "id", resolve(ref)  # type: ignore[operator]
    except CmdbError as exc:
        return type(exc).__name__, (str(exc), getattr(exc, "candidates", None))


def test_references_resolve_alike(pair: tuple[QuickReader, Cmdb]) -> None:
    reader, cmdb = pair
    some = [cmdb.items.get(i) for i in (1, 7, 40, 400, 1500)]
    refs = ["#1", "#0", "#2001", "#99999999999999999999", "", "  ", "nothing-like-this"]
    for record in some:
        refs += [
            record.name,
            record.name.upper(),
            f" {record.name} ",
            f"{record.class_name}/{record.name}",
            f"{record.class_name.lower()}/{record.name}",
            f"Hardware/{record.name}",  # a class and its subclasses
            f"Nonexistent/{record.name}",
        ]
    cmdb.items.create("Server", {"name": "twin"})
    cmdb.items.create("Database", {"name": "twin"})
    refs += ["twin", "Server/twin", "TWIN"]
    # The reader opened before the twins existed; a new one sees them.
    fresh = QuickReader.open(str(reader.path))
    assert fresh is not None
    with fresh:
        for ref in refs:
            assert _outcome(fresh.resolve, ref) == _outcome(cmdb.items.resolve, ref), ref


def _show(db: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--db", str(db), *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_show_prints_what_the_services_would_have_printed(
    db: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Cmdb.open(db, create=False) as cmdb:
        cases = ["#1", "#2", *(f"#{i}" for i in _servers(cmdb)), "#5000", "no such CI"]
    quick = [_show(db, "--format", fmt, "show", ref) for ref in cases]
    monkeypatch.setattr(Context, "quick", lambda self: None)  # the services' path
    full = [_show(db, "--format", fmt, "show", ref) for ref in cases]
    assert quick == full
    assert "(deleted)" in "".join(out for _, out, _ in quick) or fmt == "json"
    assert [code for code, _, _ in quick] == [0] * (len(cases) - 2) + [2, 2]


def test_show_leaves_the_file_and_its_folder_as_they_were(db: Path) -> None:
    before, files = fingerprint(db), beside(db)
    assert files == [db.name]  # closed cleanly: no journal beside it
    code, out, err = _show(db, "show", "#1")
    assert code == 0, err
    assert fingerprint(db) == before and beside(db) == files


def test_a_file_the_program_must_upgrade_or_create_is_left_to_the_services(
    tmp_path: Path,
) -> None:
    older = tmp_path / "old.sqlite"
    engine = make_engine(to_url(older))
    upgrade(engine, SCHEMA_REVISIONS[-2])
    engine.dispose()
    assert QuickReader.open(str(older)) is None
    assert QuickReader.open(str(tmp_path / "new.sqlite")) is None
    assert QuickReader.open("postgresql://ann@db.example/cmdb") is None
    code, _, err = _show(older, "show", "#1")
    assert code == 2 and "No CI with id #1" in err  # opened, upgraded, then looked up


def test_a_foreign_database_is_refused_by_the_quick_reader_too(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = fingerprint(foreign)
    code, out, err = _show(foreign, "show", "#1")
    assert code == 2 and out == ""
    assert "is not a CMDB Desktop database" in err and "orders" in err
    assert fingerprint(foreign) == before and beside(foreign) == [foreign.name]


def _impact_json(db: Path, *args: str) -> tuple[int, object, str]:
    code, out, err = _show(db, "--format", "json", "impact", *args)
    return code, (json.loads(out) if out.strip() else None), err


def test_impact_on_the_kept_graph_reports_what_the_services_report(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Cmdb.open(db, create=False) as cmdb:
        cmdb.analysis.graph()  # loaded once, and kept beside the file
        ids = sorted(cmdb.items.refs(range(1, 2001)))
    assert snapshot_path(db).exists()
    rng = random.Random(5)
    cases: list[tuple[str, ...]] = [("#1",), ("#1", "--depth", "0"), ("#1", "--depth", "2")]
    for _ in range(12):
        picked = tuple(f"#{i}" for i in rng.sample(ids, rng.randint(1, 4)))
        cases.append(picked + (("--depth", str(rng.randint(0, 3))) if rng.random() < 0.3 else ()))
    cases += [("#999999",), ("#1", "--depth", "-1"), ("no such CI",)]
    quick = [_impact_json(db, *case) for case in cases]
    monkeypatch.setattr(Context, "quick", lambda self: None)  # the services' path
    full = [_impact_json(db, *case) for case in cases]
    assert quick == full
    assert sum(1 for code, data, _ in quick if code == 0 and data) == len(cases) - 3


def test_impact_leaves_a_graph_that_is_not_current_to_the_services(db: Path) -> None:
    with Cmdb.open(db, create=False) as cmdb:
        cmdb.analysis.graph()
        kept = snapshot_path(db).read_bytes()
        cmdb.items.update(1, {"status": "Retired"})  # the graph moved on
    reader = QuickReader.open(str(db))
    assert reader is not None
    with reader:
        assert reader.impact([1], None) is None
    code, data, err = _impact_json(db, "#1")  # the services patch it and keep it anew
    assert code == 0, err
    assert snapshot_path(db).read_bytes() != kept
    reader = QuickReader.open(str(db))
    assert reader is not None
    with reader:
        report = reader.impact([1], None)
        assert report is not None and report.inactive and not report.impacted


def test_a_graph_kept_for_another_cmdb_is_never_used(
    db: Path, demo_db: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.sqlite"
    shutil.copyfile(demo_db, other)
    with Cmdb.open(other, create=False) as cmdb:
        cmdb.items.create("Server", {"name": "only-in-the-other"})
        cmdb.analysis.graph()
    shutil.copyfile(snapshot_path(other), snapshot_path(db))
    reader = QuickReader.open(str(db))
    assert reader is not None
    with reader:
        assert reader.impact([1], None) is None
