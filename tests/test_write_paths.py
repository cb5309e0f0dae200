"""One rulebook for every write: the GUI's editor path, the CLI and an import
write the same records into the same rows and history, and see one identity
where a name, serial number or asset tag differs only in case or spacing.

Random records (classes with and without asset fields, typed values written
the many ways people write them) go through all three front ends, each into
its own CMDB; the stored rows must be equal column for column, and the
history the same changes. Then a variant of a stored identity (``SN-1`` →
`` sn-1 ``, ``Web01`` → ``WEB01``) is written through each: the GUI and the
CLI refuse it, the import finds the CI that is there and creates nothing.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import DuplicateError
from cmdb_desktop.history import Source
from cmdb_desktop.identity import fold_key
from importers.apply import import_file
from ui.jobs import JobState, create_ci, update_ci

HEADER = ["Name", "Class", "Serial Number", "Asset Tag", "Owner", "Cost", "Status", "Version"]
FIELDS = {  # header → CLI/form field
    "Serial Number": "serial_number",
    "Asset Tag": "asset_tag",
    "Owner": "owner",
    "Cost": "cost",
    "Status": "status",
    "Version": "software_version",
}
HARDWARE = ("Server", "Network Device")
SOFTWARE = ("Application", "Software")
CLASSES = (*HARDWARE, *SOFTWARE, "Database")


@st.composite
def records(draw: Any) -> list[dict[str, str]]:
    """Up to six records whose identities differ even when folded."""
    out: list[dict[str, str]] = []
    seen: set[Any] = set()
    for _ in range(draw(st.integers(1, 6))):
        cls = draw(st.sampled_from(CLASSES))
        rec = {"Class": cls, "Name": draw(st.sampled_from(["web01", "Web 02", "db-α", "Zürich"]))}
        rec["Name"] += draw(st.sampled_from(["", "-a", "-B"]))
        if cls in HARDWARE:
            if draw(st.booleans()):
                rec["Serial Number"] = draw(st.sampled_from(["SN-1", "sn-2", "SN 3", "ß-4"]))
            if draw(st.booleans()):
                rec["Asset Tag"] = draw(st.sampled_from(["A-1", "a-2", "TAG 3"]))
            rec["Cost"] = draw(st.sampled_from(["1,200.50", "99", "€ 7", "0"]))
        elif cls in SOFTWARE:
            rec["Version"] = draw(st.sampled_from(["1.0", "2.3.4", "10"]))
        rec["Owner"] = draw(st.sampled_from(["Alice", " Bob ", "carol"]))
        if draw(st.booleans()):
            rec["Status"] = draw(st.sampled_from(["in use", "Planned", "IN STOCK"]))
        identity = _identity(rec)
        # A name identifies Hardware only without serial and tag, but then it is
        # the name of every Hardware CI, whatever keys that one has.
        named = ("hw-name", fold_key(rec["Name"]))
        if identity in seen or any(k in seen for k in _hard_keys(rec)):
            continue
        if identity[:2] == ("hw", "Name") and named in seen:
            continue
        seen.add(identity)
        seen.update(_hard_keys(rec))
        if cls in HARDWARE:
            seen.add(named)
        out.append(rec)
    return out


def _hard_keys(rec: dict[str, str]) -> list[Any]:
    return [("hw", f, fold_key(rec[f])) for f in ("Serial Number", "Asset Tag") if rec.get(f)]


def _identity(rec: dict[str, str]) -> Any:
    """The decisive identity of PRODUCT.md §3 (serial → asset tag → name for Hardware)."""
    if rec["Class"] in HARDWARE:
        for f in ("Serial Number", "Asset Tag"):
            if rec.get(f):
                return ("hw", f, fold_key(rec[f]))
        return ("hw", "Name", fold_key(rec["Name"]))
    return (rec["Class"], "Name", fold_key(rec["Name"]))


def _fields(rec: dict[str, str]) -> dict[str, str]:
    return {"name": rec["Name"], **{FIELDS[h]: v for h, v in rec.items() if h in FIELDS}}


# -- the three front ends -------------------------------------------------------------


def write_gui(db: Path, recs: list[dict[str, str]]) -> None:
    """What the editor's Save runs on the worker (ui.jobs), with the GUI as source."""
    with Cmdb.open(db, user="u") as cmdb:
        for rec in recs:
            create_ci(JobState(), cmdb, rec["Class"], _fields(rec), source=Source.gui())


def cli(db: Path, *args: str) -> int:
    return main(["--db", str(db), *args], out=io.StringIO(), err=io.StringIO())


def write_cli(db: Path, recs: list[dict[str, str]]) -> None:
    with Cmdb.open(db, user="u"):
        pass
    for rec in recs:
        fields = [f"{k}={v}" for k, v in _fields(rec).items() if k != "name"]
        assert cli(db, "add", rec["Class"], rec["Name"], *fields) == 0


def write_import(db: Path, recs: list[dict[str, str]], folder: Path, *, clean: bool = True) -> None:
    path = folder / "records.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for rec in recs:
            w.writerow([rec.get(h, "") for h in HEADER])
    with Cmdb.open(db, user="u") as cmdb:
        result = import_file(cmdb, path)
        if clean:
            assert result.written and not result.errors, [str(e) for e in result.errors]


# -- what they wrote ------------------------------------------------------------------

_SKIP = {"created_at", "updated_at"}


def rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(ci)") if r[1] not in _SKIP]
        return conn.execute(f"SELECT {', '.join(cols)} FROM ci ORDER BY id").fetchall()


def history(db: Path) -> list[tuple[Any, ...]]:
    """Each record as what changed: creates by CI, updates by field old → new."""
    with sqlite3.connect(db) as conn:
        return [
            (entity, action, ci, cls, name) + ((field, old, new) if action == "update" else ())
            for entity, action, ci, cls, name, field, old, new in conn.execute(
                "SELECT entity, action, ci_id, ci_class, ci_name, field, old_value, new_value "
                "FROM change_record ORDER BY id"
            )
        ]


@pytest.fixture
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(recs=records(), variant=st.sampled_from(["upper", "lower", "spaced"]))
def test_three_front_ends_write_the_same_rows_and_history(
    recs: list[dict[str, str]], variant: str
) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        gui, cli_db, imp = folder / "gui.sqlite", folder / "cli.sqlite", folder / "import.sqlite"
        write_gui(gui, recs)
        write_cli(cli_db, recs)
        write_import(imp, recs, folder)
        assert rows(gui) == rows(cli_db) == rows(imp)
        assert history(gui) == history(cli_db) == history(imp)

        # A variant of a stored identity is that CI in every path.
        rec = dict(recs[0])
        key = next((f for f in ("Serial Number", "Asset Tag") if rec.get(f)), "Name")
        text = rec[key]
        rec[key] = {"upper": text.upper(), "lower": text.lower(), "spaced": f"  {text} "}[variant]
        if key != "Name":
            rec["Name"] = rec["Name"] + "-other"  # the key alone decides
        before = rows(gui)
        with Cmdb.open(gui, user="u") as cmdb, pytest.raises(DuplicateError):
            create_ci(JobState(), cmdb, rec["Class"], _fields(rec), source=Source.gui())
        assert rows(gui) == before
        fields = [f"{k}={v}" for k, v in _fields(rec).items() if k != "name"]
        assert cli(cli_db, "add", rec["Class"], rec["Name"], *fields) == 2
        assert rows(cli_db) == before
        count = len(rows(imp))
        write_import(imp, [rec], folder, clean=False)  # matched, or ambiguous: an error
        assert len(rows(imp)) == count  # never a second CI


def test_updates_through_the_three_front_ends_agree(folder: Path) -> None:
    recs = [
        {"Class": "Server", "Name": "web01", "Serial Number": "SN-1", "Owner": "Alice"},
        {"Class": "Application", "Name": "Billing", "Version": "1.0", "Owner": "Bob"},
    ]
    dbs = [folder / f"{n}.sqlite" for n in ("gui", "cli", "import")]
    write_gui(dbs[0], recs)
    write_cli(dbs[1], recs)
    write_import(dbs[2], recs, folder)
    # The same asset named by its serial in another case: its value is what was written.
    changes = {
        "owner": "Dora",
        "cost": "1.234,50",
        "status": "in maintenance",
        "serial number": " sn-1",
    }
    with Cmdb.open(dbs[0], user="u") as cmdb:
        update_ci(JobState(), cmdb, 1, changes, expected_version=1, source=Source.gui())
    assert cli(dbs[1], "set", "#1", *(f"{k}={v}" for k, v in changes.items())) == 0
    upd = {"Class": "Server", "Name": "web01", "Serial Number": " sn-1", "Owner": "Dora"}
    upd |= {"Cost": "1.234,50", "Status": "in maintenance"}
    write_import(dbs[2], [upd], folder)
    assert rows(dbs[0]) == rows(dbs[1]) == rows(dbs[2])
    assert history(dbs[0]) == history(dbs[1]) == history(dbs[2])
