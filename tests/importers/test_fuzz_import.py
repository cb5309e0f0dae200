"""Fuzzing the import path: random headers, cells, types, encodings and delimiters
through CSV and .xlsx files. Whatever the file holds, the import gives a result
or a user-facing error (CmdbError) — never another exception — and an import
that is refused writes nothing. ``--run-slow`` runs many more examples.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb_desktop.cli import main
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CmdbError
from importers.apply import import_file
from tests.importers.badfiles import XSheet, one_sheet, rows_xml, xlsx
from tests.importers.workers import digest

KNOWN_HEADERS = [
    "Name",
    "Class",
    "Status",
    "Serial Number",
    "Asset Tag",
    "Cost",
    "Purchase Date",
    "Criticality",
    "Owner",
    "Redundancy (min up)",
    "Redundancy (min up %)",
    "Environment",
    "Tags",
    "Slots",  # a custom integer attribute
    "Source",
    "Type",
    "Target",
    "ID",
]
KNOWN_VALUES = [
    "Server",
    "Rack",
    "Application",
    "Business Service",
    "Configuration Item",  # abstract
    "In Use",
    "Retired",
    "Production",
    "Depends on",
    "Used by",
    "web01",
    "web02",
    "rack-1",
    "1",
    "0",
    "-3",
    "4.5",
    "1e308",
    "NaN",
    "2024-02-30",
    "31/01/2024",
    "=1+2",
    "@x",
    "",
    " ",
    "#1",
]
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
cells = st.one_of(
    st.sampled_from(KNOWN_VALUES),
    text,
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1900, 1, 1)),
    st.none(),
)
headers = st.lists(st.one_of(st.sampled_from(KNOWN_HEADERS), text), min_size=1, max_size=8)


names = st.one_of(st.sampled_from(["web01", "web02", "rack-1", "new-1", "new-2"]), text)
plausible = st.tuples(
    names,
    st.sampled_from(["Server", "Rack", "Application", "Virtual Machine", "Configuration Item"]),
    st.sampled_from(["In Use", "Retired", "Planned", "in use", "", "Broken"]),
)


@st.composite
def tables(draw: st.DrawFn) -> list[list[Any]]:
    """Mostly tables that look like CI sheets (so rows get planned, created and
    updated), sometimes anything at all."""
    extra = draw(headers)
    if draw(st.integers(0, 9)) < 7:
        head = ["Name", "Class", "Status", *extra]
        row = st.builds(
            lambda first, rest: [*first, *rest],
            plausible,
            st.lists(cells, max_size=len(extra) + 1),
        )
    else:
        head = list(extra)
        row = st.lists(cells, max_size=len(extra) + 2)
    rows = draw(st.lists(row, max_size=12))
    return [head, *rows]


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    rows = draw(tables())
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quote = draw(st.booleans())
    lines = []
    for row in rows:
        fields = [_csv_text(v) for v in row]
        if quote:
            fields = ['"' + f.replace('"', '""') + '"' for f in fields]
        lines.append(delimiter.join(fields))
    body = newline.join(lines) + newline
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    data = body.encode(encoding, errors="replace")
    if draw(st.booleans()) and data:
        # a few flipped bytes: broken encodings, stray NULs, cut multi-byte sequences
        flips = draw(
            st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=4)
        )
        buf = bytearray(data)
        for pos, byte in flips:
            buf[pos] = byte
        data = bytes(buf)
    return data


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    return value


@st.composite
def xlsx_files(draw: st.DrawFn) -> bytes:
    sheets = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["CIs", "Relationships", "Sheet1", "Data", "CIs (2)"]), tables()
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda t: t[0],
        )
    )
    parts = []
    for name, rows in sheets:
        start = draw(st.integers(1, 3))
        body = rows_xml([[_xlsx_value(v) for v in row] for row in rows], start)
        parts.append(XSheet(name, body, state=draw(st.sampled_from(["visible"] * 4 + ["hidden"]))))
    if len(parts) == 1:
        return one_sheet(parts[0].body, name=parts[0].name)
    return xlsx(parts)


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cmdb, Path]]:
    folder = tmp_path_factory.mktemp("fuzz-import")
    c = Cmdb.open(folder / "fuzz.sqlite", user="fuzzer")
    c.classes.add_attribute("Server", "Slots", "integer")
    for name in ("web01", "web02"):
        c.items.create("Server", {"name": name, "status": "In Use", "serial_number": name.upper()})
    c.items.create("Rack", {"name": "rack-1", "status": "In Use"})
    yield c, folder
    c.close()


def _examples(request: pytest.FixtureRequest, normal: int) -> int:
    return normal * 20 if request.config.getoption("--run-slow") else normal


def check_import(cmdb: Cmdb, path: Path, data: bytes, dry_run: bool) -> None:
    """Import ``data`` as ``path``: a result or a CmdbError; nothing written unless
    the result says so (and then it is rolled back, so examples stay independent)."""
    path.write_bytes(data)
    assert cmdb.path is not None
    before = digest(cmdb.path)
    try:
        result = import_file(cmdb, path, dry_run=dry_run)
    except CmdbError as exc:
        assert str(exc)
        assert digest(cmdb.path) == before
        return
    for e in result.errors:
        assert e.message and len(e.message) < 2000
    if result.batch_id is None:
        assert digest(cmdb.path) == before
    else:
        assert result.written and not result.errors and not dry_run
        cmdb.batches.rollback(result.batch_id)


def test_fuzz_csv(fuzz_db: tuple[Cmdb, Path], request: pytest.FixtureRequest) -> None:
    cmdb, folder = fuzz_db

    @settings(
        max_examples=_examples(request, 60),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(csv_files(), st.booleans())
    def check(data: bytes, dry_run: bool) -> None:
        check_import(cmdb, folder / "fuzz.csv", data, dry_run)

    check()


def test_fuzz_xlsx(fuzz_db: tuple[Cmdb, Path], request: pytest.FixtureRequest) -> None:
    cmdb, folder = fuzz_db

    @settings(
        max_examples=_examples(request, 40),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(xlsx_files(), st.booleans())
    def check(data: bytes, dry_run: bool) -> None:
        check_import(cmdb, folder / "fuzz.xlsx", data, dry_run)

    check()


def test_fuzz_raw_bytes(fuzz_db: tuple[Cmdb, Path], request: pytest.FixtureRequest) -> None:
    """Arbitrary bytes under every spreadsheet extension."""
    cmdb, folder = fuzz_db

    @settings(
        max_examples=_examples(request, 40),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        st.one_of(
            st.binary(max_size=300),
            st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
            st.binary(max_size=200).map(lambda b: codecs.BOM_UTF16_LE + b),
            st.binary(max_size=200).map(lambda b: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b),
        ),
        st.sampled_from([".xlsx", ".xls", ".ods", ".xlsb", ".csv", ".tsv", ".txt"]),
    )
    def check(data: bytes, suffix: str) -> None:
        check_import(cmdb, folder / f"raw{suffix}", data, dry_run=True)

    check()


def test_fuzz_cli_dry_run(fuzz_db: tuple[Cmdb, Path], request: pytest.FixtureRequest) -> None:
    """Through ``cmdb import --dry-run``: exit 0 or 2, JSON on stdout, no traceback."""
    cmdb, folder = fuzz_db
    assert cmdb.path is not None
    db = str(cmdb.path)

    @settings(
        max_examples=_examples(request, 15),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.one_of(csv_files(), xlsx_files()))
    def check(data: bytes) -> None:
        path = folder / ("cli.xlsx" if data.startswith(b"PK") else "cli.csv")
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        code = main(
            ["--db", db, "--format", "json", "import", "--dry-run", str(path)], out=out, err=err
        )
        assert code in (0, 2), err.getvalue()
        assert "Traceback" not in err.getvalue()
        assert out.getvalue().strip().startswith("{")

    check()
