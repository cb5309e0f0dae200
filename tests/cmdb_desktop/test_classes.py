"""The class manager: new classes and attributes, data migrations."""

from __future__ import annotations

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import DuplicateError, ValidationError


def test_add_class_inherits_attributes(cmdb: Cmdb) -> None:
    cmdb.classes.add_class("Load Balancer", "Network Device")
    info = cmdb.meta.get_class("Load Balancer")
    keys = {a.key for a in cmdb.meta.attributes_of(info)}
    assert {"status", "serial_number", "asset_tag"} <= keys
    assert cmdb.meta.identification(info).class_ids == cmdb.meta.subtree_ids(
        cmdb.meta.get_class("Hardware")
    )


def test_custom_attribute_round_trip(cmdb: Cmdb) -> None:
    cmdb.classes.add_attribute("Server", "Rack Units", "integer", min_value=1, max_value=10)
    cmdb.classes.add_attribute("Server", "Tier", "choice", choices=["Gold", "Silver"])
    ci = cmdb.items.create(
        "Server", {"name": "a", "status": "In Use", "Rack Units": "2", "tier": "gold"}
    ).created[0]
    rec = cmdb.items.get(ci)
    assert rec.values["rack_units"] == 2 and rec.values["tier"] == "Gold"
    with pytest.raises(ValidationError, match="above the maximum"):
        cmdb.items.update(ci, {"rack_units": 11})


def test_attribute_names_must_be_free_along_the_tree(cmdb: Cmdb) -> None:
    with pytest.raises(DuplicateError):
        cmdb.classes.add_attribute("Server", "Serial Number")
    cmdb.classes.add_attribute("Server", "Blade Slot")
    with pytest.raises(DuplicateError):
        cmdb.classes.add_attribute("Hardware", "Blade Slot")


def test_retype_attribute_migrates_or_refuses(cmdb: Cmdb) -> None:
    cmdb.classes.add_attribute("Server", "Slots", "text")
    a = cmdb.items.create("Server", {"name": "a", "status": "In Use", "slots": "4"}).created[0]
    b = cmdb.items.create("Server", {"name": "b", "status": "In Use", "slots": "many"}).created[0]
    with pytest.raises(ValidationError, match="'b'"):
        cmdb.classes.update_attribute("Server", "slots", type_="integer")
    cmdb.items.update(b, {"slots": "6"})
    cmdb.classes.update_attribute("Server", "slots", type_="integer")
    assert cmdb.items.get(a).values["slots"] == 4
    assert any(e.field == "slots" and e.new_value == "4" for e in cmdb.history.for_ci(a))


def test_delete_attribute_records_lost_values(cmdb: Cmdb) -> None:
    cmdb.classes.add_attribute("Server", "Note")
    ci = cmdb.items.create("Server", {"name": "a", "status": "In Use", "note": "hi"}).created[0]
    cmdb.classes.delete_attribute("Server", "note")
    assert "note" not in cmdb.items.get(ci).values
    assert cmdb.history.for_ci(ci)[0].old_value == "hi"


def test_required_fields_and_id_rules(cmdb: Cmdb) -> None:
    cmdb.classes.update_class("Server", required_fields=["owner"])
    with pytest.raises(ValidationError, match="Owner is required"):
        cmdb.items.create("Server", {"name": "a", "status": "In Use"})
    with pytest.raises(ValidationError):
        cmdb.classes.update_class("Server", id_rules=[["nonsense"]])


def test_other_process_sees_catalogue_change(cmdb: Cmdb) -> None:
    other = Cmdb.open(cmdb.path)  # type: ignore[arg-type]
    try:
        other.meta  # noqa: B018 - load it
        cmdb.classes.add_class("Blade", "Server")
        assert other.refresh() is True
        assert other.meta.find_class("Blade") is not None
    finally:
        other.close()


def test_relationship_type(cmdb: Cmdb) -> None:
    cmdb.classes.add_relationship_type("Replicates to", "Replica of", "none")
    rtype, reverse = cmdb.meta.relationship_type("replica of")
    assert (rtype.name, reverse) == ("Replicates to", True)
    with pytest.raises(ValidationError):
        cmdb.classes.add_relationship_type("Depends on", "x", "none")
