"""A whole number beyond 64 bits — typed on the command line, in an import cell, in
a command's option, through the API's bulk path — is a clear validation error
(exit 2), never SQLite's "Python int too large" overflow nor a traceback, and
the database is unchanged. Within 64 bits, a number keeps every digit (a float
would round 9007199254740993 to ...992).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ValidationError
from tests.commandline import cli
from tests.dbstate import content
from tests.importers.sheets import write_csv, write_xlsx
from tests.refusals import assert_refused, fingerprint, run_cmdb

HUGE = "99999999999999999999999"  # 77 bits
EXACT = 2**53 + 1  # the first whole number a float cannot hold


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cmdb.sqlite"
    with Cmdb.open(path, user="tester") as cmdb:
        cmdb.classes.add_attribute("Server", "Slots", "integer")
        cmdb.classes.add_attribute("Server", "Peer", "reference", reference_class="Server")
        cmdb.items.create("Server", {"name": "web01"})
    return path


def test_the_command_line_refuses_it_in_its_own_process(db: Path) -> None:
    before = fingerprint(db)
    done = run_cmdb(db, "set", "web01", f"criticality={HUGE}")
    assert_refused(done, f"criticality: {HUGE} is too large for a whole-number field")
    assert fingerprint(db) == before


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        (f"redundancy_min_up={HUGE}", "too large"),
        (f"slots={HUGE}", "too large"),
        (f"slots=-{HUGE}", "too large"),
        ("slots=1e30", "too large"),
        (f"slots={'9' * 5000}", "too large"),  # more digits than Python converts by default
        ("slots=1e999999999", "too large"),  # never built as a billion-digit number
        (f"peer=#{HUGE}", f"No CI with id #{HUGE}"),
    ],
)
def test_every_integer_field_refuses_it(db: Path, assignment: str, message: str) -> None:
    rows = content(db)
    for args in (("set", "web01", assignment), ("add", "Server", "web02", assignment)):
        code, data, err = cli(db, *args)
        assert code == 2 and message in data["message"], (args, data, err)
    assert content(db) == rows


def test_a_64_bit_number_keeps_every_digit(db: Path) -> None:
    code, _, err = cli(db, "set", "web01", f"slots={EXACT}", f"redundancy_min_up={2**63 - 1}")
    assert code == 0, err
    _, shown, _ = cli(db, "show", "web01")
    assert (shown["slots"], shown["redundancy_min_up"]) == (EXACT, 2**63 - 1)


def test_import_cells_refuse_it_row_by_row(db: Path, tmp_path: Path) -> None:
    rows = content(db)
    sheet = write_csv(
        tmp_path / "servers.csv",
        [
            ["Name", "Class", "Slots", "Criticality", "Redundancy (min up)", "Peer"],
            ["web10", "Server", HUGE, "", "", ""],
            ["web11", "Server", "", HUGE, "", ""],
            ["web12", "Server", "", "", f"-{HUGE}", ""],
            ["web13", "Server", "", "", "", f"#{HUGE}"],
        ],
    )
    code, data, _ = cli(db, "import", str(sheet))
    assert code == 2 and not data["written"]
    where = {(e["row"], e["column"]): e["message"] for e in data["errors"]}
    assert "too large" in where[(2, "Slots")] and "too large" in where[(3, "Criticality")]
    assert "too large" in where[(4, "Redundancy (min up)")]
    assert f"#{HUGE}" in where[(5, "Peer")]
    assert content(db) == rows
    exact = write_csv(
        tmp_path / "exact.csv", [["Name", "Class", "Slots"], ["web20", "Server", EXACT]]
    )
    assert cli(db, "import", str(exact))[0] == 0
    assert cli(db, "show", "web20")[1]["slots"] == EXACT


def test_a_spreadsheet_number_beyond_64_bits(db: Path, tmp_path: Path) -> None:
    """Spreadsheets store numbers as doubles: 1e30 arrives as a float."""
    rows = content(db)
    book = write_xlsx(
        tmp_path / "servers.xlsx", {"CIs": [["Name", "Class", "Slots"], ["web30", "Server", 1e30]]}
    )
    code, data, _ = cli(db, "import", str(book))
    assert code == 2 and "too large" in data["errors"][0]["message"]
    assert content(db) == rows


@pytest.mark.parametrize(
    "args",
    [
        ("history", "web01", "--limit", HUGE),
        ("batches", "--limit", HUGE),
        ("batches", "--limit", f"-{HUGE}"),
        ("health", "--stale-days", HUGE),
        ("health", "--warranty-days", f"-{HUGE}"),
        ("demo", "--size", HUGE),
    ],
)
def test_options_refuse_it(
    tmp_path: Path, db: Path, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new.sqlite" if args[0] == "demo" else db
    if args[0] == "demo":
        with Cmdb.open(target):
            pass
    code, _, err = cli(target, *args)
    err += capsys.readouterr().err  # usage errors go to the process's own stderr
    assert code == 2 and "Traceback" not in err
    assert any(word in err for word in ("not between", "from 0 to", "at most")), err


def test_the_bulk_path_refuses_it(db: Path) -> None:
    rows = content(db)
    with Cmdb.open(db) as cmdb:
        web01 = cmdb.items.resolve("web01")
        with pytest.raises(ValidationError, match="too large"):
            cmdb.items.update_many({web01: {"slots": 2**64}})
        with pytest.raises(ValidationError, match="too large"):
            cmdb.items.create("Server", {"name": "web40", "criticality": -(2**70)})
        values: dict[str, Any] = {"redundancy_min_up": float(2**70)}
        with pytest.raises(ValidationError, match="too large"):
            cmdb.items.update(web01, values)
    assert content(db) == rows
