"""The data model in the user's hands (issue 21): every model change validated,
migrating the CIs' values or refusing with the values that would not convert,
recorded in the history, and relationship types whose flow drives impact."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import ValidationError
from tests.dbstate import content as snapshot


def add(cmdb: Cmdb, cls: str, name: str, **fields: str) -> int:
    return cmdb.items.create(cls, {"name": name, "status": "In Use", **fields}).created[0]


def impacted(cmdb: Cmdb, *changed: int) -> dict[str, str]:
    return {i.ci.name: i.state for i in cmdb.analysis.impact(changed).impacted}


# -- relationship types and impact (PRODUCT.md §5) -----------------------------


@pytest.mark.parametrize(
    ("flow", "down_app", "down_db"),
    [
        # app --Feeds--> db. t2s: a failure of the target (db) hits the source (app).
        ("t2s", {}, {"app": "down", "portal": "down"}),
        # s2t: a failure of the source (app) hits the target (db).
        ("s2t", {"db": "down"}, {}),
        # none: no impact edge at all; only the built-in Depends on edge remains.
        ("none", {}, {}),
    ],
)
def test_a_user_defined_type_with_each_flow_drives_impact(
    cmdb: Cmdb, flow: str, down_app: dict[str, str], down_db: dict[str, str]
) -> None:
    from cmdb_desktop.classes import parse_flow

    cmdb.classes.add_relationship_type("Feeds", "Fed by", parse_flow(flow))
    app = add(cmdb, "Application", "app")
    db = add(cmdb, "Database", "db")
    portal = add(cmdb, "Application", "portal")
    cmdb.relations.relate(app, "Feeds", db)
    cmdb.relations.relate(portal, "Depends on", app)  # app down → portal down (built in)
    expect_app = {"portal": "down", **down_app}
    if flow == "s2t":
        expect_app = {"portal": "down", "db": "down"}
    assert impacted(cmdb, app) == expect_app
    assert impacted(cmdb, db) == down_db
    assert impacted(cmdb, portal) == {}


def test_changing_a_types_flow_changes_impact_and_the_reverse_name_reads_back(
    cmdb: Cmdb,
) -> None:
    cmdb.classes.add_relationship_type("Feeds", "Fed by", "to_source")
    a, b = add(cmdb, "Application", "a"), add(cmdb, "Application", "b")
    cmdb.relations.relate(b, "Fed by", a)  # stored as a Feeds b
    assert impacted(cmdb, b) == {"a": "down"}
    cmdb.classes.update_relationship_type("Fed by", impact="to_target")
    assert impacted(cmdb, b) == {}
    assert impacted(cmdb, a) == {"b": "down"}
    cmdb.classes.update_relationship_type("Feeds", new_name="Supplies", reverse_name="Supplied by")
    rtype, reverse = cmdb.meta.relationship_type("supplied by")
    assert (rtype.name, reverse) == ("Supplies", True)
    cmdb.classes.update_relationship_type("Supplies", impact="none")
    assert impacted(cmdb, a) == {} and impacted(cmdb, b) == {}


def test_retiring_a_type_in_use_is_refused_with_the_count(cmdb: Cmdb, db_path: Path) -> None:
    cmdb.classes.add_relationship_type("Feeds", "Fed by", "to_source")
    a, b, c = (add(cmdb, "Application", n) for n in "abc")
    cmdb.relations.relate(a, "Feeds", b)
    cmdb.relations.relate(a, "Feeds", c)
    before = snapshot(db_path)
    with pytest.raises(ValidationError, match="2 relationship"):
        cmdb.classes.delete_relationship_type("Feeds")
    with pytest.raises(ValidationError, match="built-in"):
        cmdb.classes.delete_relationship_type("Depends on")
    assert snapshot(db_path) == before
    for rel in list(cmdb.relations.of(a)):
        cmdb.relations.delete(rel.id)
    cmdb.classes.delete_relationship_type("Feeds")
    with pytest.raises(ValidationError, match="Unknown relationship type"):
        cmdb.meta.relationship_type("Feeds")


# -- attributes: conversion dry run, choice lists, required, defaults ----------


def test_type_change_dry_run_then_refusal_lists_the_values(cmdb: Cmdb, db_path: Path) -> None:
    cmdb.classes.add_attribute("Server", "Slots", "text")
    add(cmdb, "Server", "a", slots="4")
    add(cmdb, "Server", "b", slots="many")
    add(cmdb, "Server", "c")
    preview = cmdb.classes.preview_attribute_change("Server", "slots", type_="integer")
    assert (preview.values, preview.changed, len(preview.failures)) == (2, 1, 1)
    assert preview.failures[0][1:3] == ("b", "many")
    assert "1 do not" in preview.describe() and "'b'" in preview.describe()
    before = snapshot(db_path)
    with pytest.raises(ValidationError, match="'b'.*many|many.*'b'"):
        cmdb.classes.update_attribute("Server", "slots", type_="integer")
    assert snapshot(db_path) == before


def test_choice_rename_moves_the_values_and_retiring_a_used_choice_is_refused(
    cmdb: Cmdb, db_path: Path
) -> None:
    cmdb.classes.add_attribute("Server", "Tier", "choice", choices=["Gold", "Silver", "Bronze"])
    a = add(cmdb, "Server", "a", tier="gold")
    b = add(cmdb, "Server", "b", tier="Silver")
    cmdb.classes.update_attribute("Server", "tier", rename_choices={"Gold": "Platinum"})
    assert cmdb.items.get(a).values["tier"] == "Platinum"
    attr = cmdb.meta.find_attribute(cmdb.meta.get_class("Server"), "tier")
    assert attr is not None and attr.choices == ("Platinum", "Silver", "Bronze")
    # retiring Bronze (unused) works; retiring Silver (b holds it) is refused, naming b
    cmdb.classes.update_attribute("Server", "tier", choices=["Platinum", "Silver"])
    before = snapshot(db_path)
    with pytest.raises(ValidationError, match="'b'"):
        cmdb.classes.update_attribute("Server", "tier", choices=["Platinum"])
    assert snapshot(db_path) == before
    # renaming onto an existing choice merges them
    cmdb.classes.update_attribute("Server", "tier", rename_choices={"Silver": "Platinum"})
    assert cmdb.items.get(b).values["tier"] == "Platinum"
    attr = cmdb.meta.find_attribute(cmdb.meta.get_class("Server"), "tier")
    assert attr is not None and attr.choices == ("Platinum",)
    assert any(e.field == "tier" and e.new_value == "Platinum" for e in cmdb.history.for_ci(b))


def test_required_and_defaults_are_set_per_class_and_checked(
    cmdb: Cmdb,
) -> None:
    cmdb.classes.add_attribute("Server", "Rack Units", "integer", default="2")
    assert (
        add(cmdb, "Server", "a")
        and cmdb.items.get(cmdb.items.resolve("Server/a")).values["rack_units"] == 2
    )
    cmdb.items.update(add(cmdb, "Server", "b"), {"rack_units": ""})  # cleared
    with pytest.raises(ValidationError):
        cmdb.classes.update_attribute("Server", "rack_units", default="many")
    cmdb.items.update(cmdb.items.resolve("Server/b"), {"rack_units": "1"})
    cmdb.classes.update_attribute("Server", "rack_units", required=True, default="4")
    info = cmdb.meta.get_class("Server")
    assert "rack_units" in cmdb.meta.required_fields(info)
    assert cmdb.meta.defaults(info)["rack_units"] == 4


# -- classes: move, delete with move-to ----------------------------------------


def test_deleting_a_class_in_use_is_refused_with_the_count_or_moves_its_cis(
    cmdb: Cmdb, db_path: Path
) -> None:
    cmdb.classes.add_class("Blade", "Server")
    cmdb.classes.add_attribute("Blade", "Slot", "integer")
    a = add(cmdb, "Blade", "a", slot="3")
    add(cmdb, "Blade", "b")
    before = snapshot(db_path)
    with pytest.raises(ValidationError, match="2 CI"):
        cmdb.classes.delete_class("Blade")
    assert snapshot(db_path) == before
    cmdb.classes.delete_class("Blade", move_to="Server")
    assert cmdb.meta.find_class("Blade") is None
    rec = cmdb.items.get(a)
    assert rec.class_name == "Server" and "slot" not in rec.values
    assert any(e.field == "class" for e in cmdb.history.for_ci(a))


def test_moving_a_class_keeps_or_refuses_inherited_values(cmdb: Cmdb) -> None:
    cmdb.classes.add_class("Appliance", "Hardware")
    cmdb.classes.add_class("Widget", "Appliance")
    cmdb.classes.add_attribute("Appliance", "Firmware")
    add(cmdb, "Widget", "w", firmware="1.2")
    with pytest.raises(ValidationError, match="Firmware"):
        cmdb.classes.update_class("Widget", parent="Server")
    with pytest.raises(ValidationError, match="subclasses|Widget"):
        cmdb.classes.update_class("Appliance", parent="Widget")
    cmdb.classes.add_class("Gizmo", "Appliance")
    cmdb.classes.update_class("Gizmo", parent="Network Device")
    gizmo = cmdb.meta.get_class("Gizmo")
    assert cmdb.meta.class_by_id[gizmo.parent_id or 0].name == "Network Device"


# -- the history shows who changed the model -----------------------------------


def test_history_shows_model_changes(cmdb: Cmdb) -> None:
    cmdb.classes.add_class("Blade", "Server")
    cmdb.classes.add_attribute("Blade", "Slot", "integer")
    cmdb.classes.update_attribute("Blade", "slot", label="Blade slot")
    cmdb.classes.add_relationship_type("Feeds", "Fed by", "none")
    cmdb.classes.update_relationship_type("Feeds", impact="to_source")
    cmdb.classes.delete_attribute("Blade", "slot")
    cmdb.classes.update_class("Blade", new_name="Blade Server")
    lines = [e.describe() for e in reversed(cmdb.history.model_changes())]
    assert lines[0].startswith("model: class 'Blade' parent: ∅ → Server")
    assert "model: attribute 'Blade.slot' label: Slot → Blade slot" in lines
    assert "model: relationship type 'Feeds' impact: none → to_source" in lines
    assert "model: class 'Blade' name: Blade → Blade Server" in lines
    assert any(
        line.startswith("model: attribute 'Blade.slot' label: Blade slot → ∅") for line in lines
    )
    assert {e.user for e in cmdb.history.model_changes()} == {cmdb.user}
