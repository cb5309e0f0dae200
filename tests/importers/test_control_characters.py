"""A name with a control character (left by an older version or another program)
round-trips through export and import: an .xlsx cell cannot hold the character,
so the export writes the name without it, and the identity rules fold it away,
so the re-import finds the same CI instead of creating a second one."""

from __future__ import annotations

from pathlib import Path

from cmdb_desktop.cmdb import Cmdb
from importers.apply import import_file
from importers.export import export_workbook
from tests.legacy import legacy_ci


def test_exported_control_character_name_reimports_onto_the_same_ci(
    cmdb: Cmdb, tmp_path: Path
) -> None:
    odd = legacy_ci(cmdb, "Application", "Billing\x07 App")
    legacy_ci(cmdb, "Server", "web\x0b01", serial_number="SN\x01-1")
    path = export_workbook(cmdb, tmp_path / "all.xlsx").path
    result = import_file(cmdb, path)
    counts = result.to_json()["cis"]
    assert counts["created"] == 0 and counts["errors"] == 0, result.to_json()["errors"]
    assert cmdb.items.count() == 2
    # Into an empty CMDB the export imports whole, without the characters.
    with Cmdb.open(tmp_path / "fresh.sqlite", user="t") as fresh:
        again = import_file(fresh, path)
        assert again.written and not again.errors
        assert {r.name for r in fresh.items.get_many(range(1, 3)).values()} == {
            "Billing App",
            "web01",
        }
    assert cmdb.items.get(odd).class_name == "Application"
