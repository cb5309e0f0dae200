"""Time travel honours changes of the data model (PRODUCT.md §11): as of a moment,
the catalogue is the one of then — an attribute added later is absent, a renamed
class, attribute or relationship type shows under its old name, a deleted one is
back, a retyped attribute has its old type and its values as they were. Through
the command line a script uses, on real SQLite files, exports read back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.models import utcnow
from tests.commandline import cli
from tests.importers.sheets import write_xlsx

Sheets = dict[str, list[tuple[Any, ...]]]


def _moment() -> str:
    return utcnow().isoformat(sep="T")


def _workbook(path: Path) -> Sheets:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb}
    finally:
        wb.close()


def _differences(got: Sheets, want: Sheets) -> list[str]:
    out = [f"sheets {sorted(got)} != {sorted(want)}"] if sorted(got) != sorted(want) else []
    for name in sorted(set(got) & set(want)):
        extra = [r for r in got[name] if r not in want[name]]
        missing = [r for r in want[name] if r not in got[name]]
        if extra or missing or got[name] != want[name]:
            out.append(f"{name}: as of shows {extra}, then showed {missing}")
    return out


def _ok(db: Path, *args: str) -> Any:
    code, data, err = cli(db, *args)
    assert code == 0, f"{args}: {err}"
    return data


class _Story:
    """Runs steps on a CMDB and keeps, after each, the moment and what the CMDB said."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "cmdb.sqlite"
        self.taken: list[tuple[str, str, Sheets, dict[str, Any]]] = []

    def _export(self, name: str, *extra: str) -> Sheets:
        out = self.tmp / f"{name}.xlsx"
        _ok(self.db, "export", "-o", str(out), *extra)
        return _workbook(out)

    def _shown(self, *extra: str) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for name in ("web01", "db01", "fw01"):
            code, data, _err = cli(self.db, "show", name, *extra)
            if code == 0:
                data.pop(
                    "updated_at"
                )  # when a CI last changed is not rewound (§11: its fields are)
            shown[name] = data if code == 0 else None
        return shown

    def step(self, what: str, action: Callable[[], None]) -> None:
        action()
        moment = _moment()
        n = len(self.taken)
        self.taken.append((what, moment, self._export(f"then{n}"), self._shown()))

    def check(self) -> None:
        for n, (what, moment, then, shown) in enumerate(self.taken):
            again = self._export(f"asof{n}", "--as-of", moment)
            assert again == then, f"export as of step {n} ({what}): {_differences(again, then)}"
            seen = self._shown("--as-of", moment)
            diff = {
                ci: {k: (v, (shown[ci] or {}).get(k)) for k, v in (got or {}).items()
                     if v != (shown[ci] or {}).get(k)}
                for ci, got in seen.items()
            }  # fmt: skip
            assert seen == shown, f"show as of step {n} ({what}): {diff}"


def _with_cmdb(db: Path, work: Callable[[Cmdb], Any]) -> Callable[[], None]:
    def run() -> None:
        with Cmdb.open(db) as cmdb:
            work(cmdb)

    return run


def test_export_and_show_as_of_follow_attribute_changes(tmp_path: Path) -> None:
    story = _Story(tmp_path)
    db = story.db
    story.step("init", lambda: _ok(db, "init"))

    def cis() -> None:
        _ok(db, "add", "Server", "web01", "owner=alice")
        _ok(db, "add", "Database", "db01")
        _ok(db, "relate", "web01", "Depends on", "db01")

    story.step("CIs", cis)

    def slot() -> None:
        _ok(db, "attribute", "add", "Server", "Slot")
        _ok(db, "set", "web01", "slot=4")

    story.step("attribute added and filled", slot)
    story.step(
        "attribute relabelled",
        lambda: _ok(db, "attribute", "set", "Server", "slot", "--label", "Slot Number"),
    )
    story.step(
        "attribute retyped",
        lambda: _ok(db, "attribute", "set", "Server", "slot", "--type", "integer"),
    )

    def tier() -> None:
        _ok(
            db,
            "attribute",
            "add",
            "Server",
            "Tier",
            "--choices",
            "Gold,Silver",
            "--default",
            "Silver",
        )
        _ok(db, "set", "web01", "tier=Gold")
        _ok(db, "add", "Server", "web02")

    story.step("choice attribute with a default", tier)
    story.step(
        "choice renamed",
        lambda: _ok(db, "attribute", "set", "Server", "tier", "--rename-choice", "Gold=Platinum"),
    )
    story.step("made required", lambda: _ok(db, "attribute", "set", "Server", "tier", "--required"))
    story.step("attribute deleted", lambda: _ok(db, "attribute", "delete", "Server", "tier"))
    story.step(
        "attribute added through the service",
        _with_cmdb(
            db, lambda c: c.classes.add_attribute("Database", "Engine", "text", default="pg")
        ),
    )
    story.step(
        "and removed again",
        _with_cmdb(db, lambda c: c.classes.delete_attribute("Database", "engine")),
    )
    story.check()


def test_export_and_show_as_of_follow_class_and_relationship_type_changes(
    tmp_path: Path,
) -> None:
    story = _Story(tmp_path)
    db = story.db
    story.step("init", lambda: _ok(db, "init"))

    def cis() -> None:
        _ok(db, "add", "Server", "web01", "owner=alice")
        _ok(db, "add", "Database", "db01")

    story.step("CIs", cis)

    def appliance() -> None:
        _ok(db, "class", "add", "Appliance", "--parent", "Hardware", "--description", "boxes")
        _ok(db, "attribute", "add", "Appliance", "Ports", "--type", "integer", "--default", "8")
        _ok(db, "add", "Appliance", "fw01", "ports=24")

    story.step("class added", appliance)
    story.step("class renamed", lambda: _ok(db, "class", "rename", "Appliance", "Firewall"))
    story.step(
        "class moved",
        lambda: _ok(db, "class", "move", "Firewall", "--parent", "Configuration Item"),
    )
    story.step(
        "class changed through the service",
        _with_cmdb(
            db,
            lambda c: c.classes.update_class(
                "Firewall", description="edge", service=True, required_fields=["ports"]
            ),
        ),
    )
    story.step(
        "builtin class renamed", lambda: _ok(db, "class", "rename", "Database", "Data Store")
    )

    def reltype() -> None:
        _ok(db, "reltype", "add", "Mirrors", "--reverse", "Mirrored by", "--flow", "none")
        _ok(db, "relate", "db01", "Mirrors", "web01")
        _ok(db, "relate", "fw01", "Mirrors", "db01")

    story.step("relationship type added", reltype)
    story.step(
        "relationship type renamed",
        lambda: _ok(
            db,
            "reltype",
            "set",
            "Mirrors",
            "--name",
            "Protects",
            "--reverse",
            "Protected by",
            "--flow",
            "t2s",
        ),
    )

    def retire() -> None:
        _ok(db, "unrelate", "db01", "Protects", "web01")
        _ok(db, "unrelate", "fw01", "Protects", "db01")
        _ok(db, "reltype", "delete", "Protects")

    story.step("relationship type deleted", retire)
    story.step(
        "class deleted, its CI moved",
        lambda: _ok(db, "class", "delete", "Firewall", "--move-to", "Server"),
    )

    def empty() -> None:
        _ok(db, "class", "add", "Gadget", "--parent", "Hardware")
        _ok(db, "attribute", "add", "Gadget", "Colour", "--choices", "Red, Blue")

    story.step("empty class added", empty)
    story.step("empty class deleted", lambda: _ok(db, "class", "delete", "Gadget"))
    story.step(
        "type re-added under an old name",
        lambda: _ok(db, "reltype", "add", "Protects", "--reverse", "Guarded by", "--flow", "s2t"),
    )
    story.check()


def test_an_import_creating_attributes_and_its_rollback_rewind(tmp_path: Path) -> None:
    story = _Story(tmp_path)
    db = story.db
    story.step("init", lambda: _ok(db, "init"))

    def imported() -> None:
        path = write_xlsx(
            tmp_path / "in.xlsx",
            {"CIs": [["Name", "Class", "Owner", "Cabinet"], ["web01", "Server", "bob", "C7"]]},
        )
        _ok(db, "import", str(path), "--create-attributes")

    story.step("import with a new attribute", imported)

    def rollback() -> None:
        batches = _ok(db, "batches")["batches"]
        _ok(db, "rollback", str(batches[0]["id"]))

    story.step("rolled back", rollback)
    story.check()


def test_a_workbook_model_sheet_adopted_by_an_import_rewinds(tmp_path: Path) -> None:
    """An import adopts the Model sheet of another CMDB's export (classes,
    attributes, relationship types, class rules): before it, none of it."""
    with Cmdb.open(tmp_path / "other.sqlite", create=True) as other:
        other.classes.add_class("Appliance", "Hardware", description="Boxes")
        other.classes.add_attribute("Appliance", "Firmware", "text", default="1.0")
        other.classes.add_attribute("Appliance", "Zone", "choice", choices=["DMZ", "LAN"])
        other.classes.update_class(
            "Appliance", id_rules=[["serial_number"]], required_fields=["zone"]
        )
        other.classes.add_relationship_type("Protects", "Protected by", "to_target")
        fw = other.items.create(
            "Appliance", {"name": "fw01", "zone": "DMZ", "serial_number": "S1"}
        ).created[0]
        web = other.items.create("Server", {"name": "web01"}).created[0]
        other.relations.relate(fw, "Protects", web)
    _ok(tmp_path / "other.sqlite", "export", "-o", str(tmp_path / "other.xlsx"))
    story = _Story(tmp_path)
    db = story.db
    story.step("init", lambda: _ok(db, "init"))
    story.step("imported", lambda: _ok(db, "import", str(tmp_path / "other.xlsx")))
    story.step("class renamed", lambda: _ok(db, "class", "rename", "Appliance", "Box"))
    story.check()


def test_as_of_a_moment_before_an_attribute_existed_hides_it(tmp_path: Path) -> None:
    db = tmp_path / "cmdb.sqlite"
    _ok(db, "init")
    _ok(db, "add", "Server", "web01")
    before = _moment()
    _ok(db, "attribute", "add", "Server", "Rack Unit", "--type", "integer")
    _ok(db, "set", "web01", "rack_unit=12")
    _ok(db, "class", "rename", "Server", "Host")
    shown = _ok(db, "show", "web01", "--as-of", before)
    assert shown["class"] == "Server"
    assert "rack_unit" not in shown and "rack_unit" not in (shown.get("attributes") or {})
    now = _ok(db, "show", "web01")
    assert now["class"] == "Host"
    code, _data, err = cli(db, "show", "web01", "--as-of", before, "--format", "json")
    assert code == 0, err


@pytest.mark.parametrize("action", ["delete class", "delete attribute", "delete type"])
def test_new_deletions_record_the_definition_they_remove(tmp_path: Path, action: str) -> None:
    db = tmp_path / "cmdb.sqlite"
    _ok(db, "init")
    _ok(db, "class", "add", "Gadget", "--parent", "Hardware")
    _ok(db, "attribute", "add", "Gadget", "Colour", "--choices", "Red,Blue")
    _ok(db, "reltype", "add", "Feeds", "--reverse", "Fed by", "--flow", "s2t")
    if action == "delete class":
        _ok(db, "class", "delete", "Gadget")
    elif action == "delete attribute":
        _ok(db, "attribute", "delete", "Gadget", "colour")
    else:
        _ok(db, "reltype", "delete", "Feeds")
    with Cmdb.open(db) as cmdb:
        removal = [
            e for e in cmdb.history.model_changes() if e.action == "delete" and e.field is None
        ]
    assert len(removal) == 1
    assert removal[0].old_value and removal[0].old_value.startswith("{")
    assert removal[0].describe().startswith("model: removed ")


def _model_rows(sheets: Sheets) -> dict[tuple[Any, Any], dict[str, Any]]:
    """The Model sheet by (kind, name) — attributes by (kind, class.key)."""
    head, *rows = sheets["Model"]
    out: dict[tuple[Any, Any], dict[str, Any]] = {}
    for row in rows:
        record = dict(zip(head, row, strict=False))
        name = record["Name"]
        if record["Kind"] == "Attribute":
            name = f"{record['Class']}.{record['Key']}"
        out[(record["Kind"], name)] = record
    return out


def test_deletions_recorded_without_a_definition_come_back_as_far_as_their_records_go(
    tmp_path: Path,
) -> None:
    """Deletions recorded before they carried their definition (as the class
    manager wrote them then): the class returns under its parent with its
    attributes as text, the relationship type with its names and flow."""
    from cmdb_desktop.history import HistoryWriter, Source
    from cmdb_desktop.models import AttributeDef, CiClass, RelationshipType
    from cmdb_desktop.vocabulary import Action, ModelPart

    db = tmp_path / "cmdb.sqlite"
    _ok(db, "init")
    _ok(db, "class", "add", "Gadget", "--parent", "Hardware")
    _ok(db, "attribute", "add", "Gadget", "Colour Code")
    _ok(db, "reltype", "add", "Feeds", "--reverse", "Fed by", "--flow", "s2t")
    before = _moment()
    with Cmdb.open(db) as cmdb:
        meta = cmdb.meta
        gadget = meta.get_class("Gadget")
        colour = meta.find_attribute(gadget, "colour_code")
        feeds, _ = meta.relationship_type("Feeds")
        assert colour is not None
        with cmdb.write() as s:
            s.delete(s.get(AttributeDef, colour.id))
            s.delete(s.get(CiClass, gadget.id))
            s.delete(s.get(RelationshipType, feeds.id))
            s.flush()
            writer = HistoryWriter(s, "someone", Source())
            writer.model_changed(
                Action.DELETE,
                ModelPart.CLASS,
                "Gadget",
                {"parent": ("Hardware", None), "attributes": ("Colour Code", None)},
            )
            writer.model_changed(
                Action.DELETE,
                ModelPart.RELATIONSHIP_TYPE,
                "Feeds",
                {"reverse name": ("Fed by", None), "impact": ("to_target", None)},
            )
            writer.flush()
            cmdb.bump(s, catalogue=True)
    out = tmp_path / "asof.xlsx"
    _ok(db, "export", "-o", str(out), "--as-of", before)
    model = _model_rows(_workbook(out))
    assert model[("Class", "Gadget")]["Class"] == "Hardware"  # its parent
    attr = model[("Attribute", "Gadget.colour_code")]
    assert (attr["Name"], attr["Type"]) == ("Colour Code", "text")
    rtype = next(r for (kind, _n), r in model.items() if kind != "Class" and r["Name"] == "Feeds")
    assert rtype["Reverse"] == "Fed by"
    now = tmp_path / "now.xlsx"
    _ok(db, "export", "-o", str(now))
    assert ("Class", "Gadget") not in _model_rows(_workbook(now))


def test_lifecycle_rules_are_recorded_and_rewound(tmp_path: Path) -> None:
    from cmdb_desktop.asof import open_as_of

    db = tmp_path / "cmdb.sqlite"
    _ok(db, "init")
    before = _moment()
    _ok(db, "assets", "lifecycle", "Server", "--allow", "Retired=")
    between = _moment()
    _ok(db, "assets", "lifecycle", "Server", "--inherit")

    def retired_may_go(cmdb: Cmdb) -> Any:
        rules = cmdb.meta.lifecycle(cmdb.meta.get_class("Server")).to_json()
        return (rules.get("transitions") or {}).get("Retired", "any")

    with Cmdb.open(db) as live:
        recorded = [e for e in live.history.model_changes() if e.field == "lifecycle"]
        assert [(e.ci_name, e.action) for e in recorded] == [("Server", "update")] * 2
        now = retired_may_go(live)
        seen = {}
        for label, moment in (("before", before), ("between", between)):
            view = open_as_of(live, moment)
            try:
                seen[label] = retired_may_go(view.cmdb)
            finally:
                view.close()
    assert seen["between"] == []  # Retired was final then
    assert seen["before"] == now  # the rules before the edit are today's again
