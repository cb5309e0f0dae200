"""Column suggestions, editable profiles, and per-cell coercion."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cmdb_desktop.attribute_types import BLANK
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import BadFileError, ValidationError
from importers.mapping import (
    ColumnMap,
    ImportMapping,
    SheetMapping,
    apply_profile,
    converter,
    guess_kind,
    load_profile,
    parse_keys,
    profile_names,
    save_profile,
    suggest_sheet,
    suggest_target,
)
from importers.readers import Column, Table


def _table(headers: list[str], sheet: str = "Sheet1") -> Table:
    cols = [Column(i, chr(65 + i), h, h) for i, h in enumerate(headers)]
    return Table(sheet, 1, cols, [], [])


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Serial", "serial_number"),
        ("S/N", "serial_number"),
        ("Serial Number", "serial_number"),
        ("serial_number", "serial_number"),
        ("Hostname", "name"),
        ("Host name", "name"),
        ("NAME", "name"),
        ("CI Class", "class"),
        ("Asset Tag", "asset_tag"),
        ("Barcode", "asset_tag"),
        ("Purchase Cost", "cost"),
        ("Warranty Expires", "warranty_end"),
        ("Asset EOL Date", "end_of_life"),
        ("Redundancy (min up %)", "redundancy_min_up_pct"),
        ("Redundancy (min up)", "redundancy_min_up"),
        ("Favourite colour", None),
    ],
)
def test_suggestions(cmdb: Cmdb, header: str, target: str | None) -> None:
    assert suggest_target(header, cmdb.meta)[0] == target


def test_one_column_per_target(cmdb: Cmdb) -> None:
    # Both would mean the assignee; the surer one wins, the other stays unmapped.
    sm = suggest_sheet(_table(["Name", "Full Name", "Username"]), cmdb.meta)
    targets = {c.column: c.target for c in sm.columns}
    assert targets == {"Name": "name", "Full Name": None, "Username": "assigned_to"}


def test_relationship_sheets_are_recognised(cmdb: Cmdb) -> None:
    assert guess_kind(_table(["Source", "Type", "Target"], "Links")) == "relationships"
    assert guess_kind(_table(["source_name", "relation", "target_name"])) == "relationships"
    assert guess_kind(_table(["Name", "Class"], "Relationships 2")) == "relationships"
    assert guess_kind(_table(["Name", "Type"], "Racks")) == "cis"
    sm = suggest_sheet(_table(["From", "Relationship", "To", "Source Class"]), cmdb.meta)
    assert [c.target for c in sm.columns] == ["source", "type", "target", "source_class"]


def test_profile_round_trip_as_file(tmp_path: Path) -> None:
    mapping = ImportMapping(
        sheets=[
            SheetMapping(
                "assets",
                "cis",
                [
                    ColumnMap("Serial", "serial_number"),
                    ColumnMap("Status", "status", "clear", {"Ready to Deploy": "In Stock"}),
                    ColumnMap("Bought", "purchase_date", date_order="MDY"),
                    ColumnMap("Notes", None),
                ],
                default_class="Workstation",
            )
        ],
        keys=[["serial_number"], ["asset_tag"]],
        defaults={"status": "In Use"},
    )
    path = mapping.save(tmp_path / "snipe.json")
    again = ImportMapping.load(path)
    assert again.to_json() == mapping.to_json()
    with pytest.raises(BadFileError, match="not a mapping profile"):
        (tmp_path / "junk.json").write_text("[1, 2", encoding="utf-8")
        ImportMapping.load(tmp_path / "junk.json")
    with pytest.raises(ValidationError, match="blank rule"):
        ColumnMap.from_json({"column": "x", "target": None, "blank": "sometimes"})


def test_profile_saved_in_the_cmdb(cmdb: Cmdb) -> None:
    mapping = ImportMapping([SheetMapping("CIs", "cis", [ColumnMap("Host", "name")])])
    save_profile(cmdb, "inventory", mapping)
    assert profile_names(cmdb) == ["inventory"]
    assert load_profile(cmdb, "inventory").to_json() == mapping.to_json()


def test_profile_applies_to_a_new_file(cmdb: Cmdb) -> None:
    profile = ImportMapping(
        [SheetMapping("old-name", "cis", [ColumnMap("Host", "name"), ColumnMap("Tag", None)])],
        blank="clear",
    )
    sm = apply_profile(profile, _table(["Host", "Tag", "Serial"], "march"), cmdb.meta)
    assert [(c.column, c.target, c.blank) for c in sm.columns] == [
        ("Host", "name", "ignore"),
        ("Tag", None, "ignore"),
        ("Serial", "serial_number", "clear"),
    ]


def test_keys_by_label_or_key(cmdb: Cmdb) -> None:
    assert parse_keys(cmdb.meta, ["Serial Number", "asset_tag,name"]) == [
        ["serial_number"],
        ["asset_tag", "name"],
    ]
    assert parse_keys(cmdb.meta, []) is None
    with pytest.raises(ValidationError, match="Unknown key"):
        parse_keys(cmdb.meta, ["shoe size"])


def _attr(cmdb: Cmdb, key: str):  # type: ignore[no-untyped-def]
    return cmdb.meta.all_attribute_keys[key]


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("cost", "1,234.50", 1234.5),
        ("cost", "1.234,50", 1234.5),
        ("cost", 99, 99.0),
        ("criticality", 2.0, 2),
        ("criticality", " 3 ", 3),
        ("status", "in use", "In Use"),
        ("status", "IN   STOCK", "In Stock"),
        ("purchase_date", "2024-01-31", date(2024, 1, 31)),
        ("purchase_date", "31/01/2024", date(2024, 1, 31)),
        ("purchase_date", "31 Jan 2024", date(2024, 1, 31)),
        ("purchase_date", date(2024, 1, 31), date(2024, 1, 31)),
        ("purchase_date", 45322.0, date(2024, 1, 31)),
        ("owner", "  Alice  ", "Alice"),
        ("owner", 12.0, "12"),
        ("owner", "   ", BLANK),
    ],
)
def test_converters(cmdb: Cmdb, key: str, raw: object, expected: object) -> None:
    assert converter(_attr(cmdb, key))(raw) == expected


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("cost", "twelve", "is not a number"),
        ("criticality", 7, "above the maximum 4"),
        ("criticality", 2.5, "not a whole number"),
        ("status", "Lost", "is not one of"),
        ("purchase_date", "03/04/2024", "could be day/month or month/day"),
        ("purchase_date", "yesterday", "is not a date"),
    ],
)
def test_converter_errors(cmdb: Cmdb, key: str, raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        converter(_attr(cmdb, key))(raw)


def test_date_order_decides_ambiguous_dates(cmdb: Cmdb) -> None:
    attr = _attr(cmdb, "purchase_date")
    assert converter(attr, "MDY")("03/04/2024") == date(2024, 3, 4)
    assert converter(attr, "DMY")("03/04/2024") == date(2024, 4, 3)
