"""Creating, changing and deleting CIs through the facade: validation, locking, history."""

from __future__ import annotations

from datetime import date

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import (
    AmbiguousReferenceError,
    ConflictError,
    DuplicateError,
    NotFoundError,
    StaleVersionError,
    UnknownClassError,
    UnknownFieldError,
    ValidationError,
)


def _create(cmdb: Cmdb, cls: str, name: str, **fields: object) -> int:
    return cmdb.items.create(cls, {"name": name, "status": "In Use", **fields}).created[0]


def test_create_coerces_typed_fields(cmdb: Cmdb) -> None:
    ci = _create(
        cmdb,
        "Server",
        "web01",
        cost="1,234.50",
        purchase_date="31/01/2024",
        criticality="2",
        serial_number=" SN-1 ",
    )
    rec = cmdb.items.get(ci)
    assert rec.class_name == "Server"
    assert rec.values["cost"] == 1234.5
    assert rec.values["purchase_date"] == date(2024, 1, 31)
    assert rec.values["criticality"] == 2
    assert rec.values["serial_number"] == "SN-1"
    assert rec.version == 1


def test_labels_work_as_field_names(cmdb: Cmdb) -> None:
    ci = cmdb.items.create(
        "Server", {"Name": "a", "Status": "in use", "Serial Number": "X1"}
    ).created[0]
    rec = cmdb.items.get(ci)
    assert rec.values["status"] == "In Use"  # choices match case-insensitively
    assert rec.values["serial_number"] == "X1"


def test_unknown_class(cmdb: Cmdb) -> None:
    with pytest.raises(UnknownClassError, match="Unknown class 'Toaster'"):
        cmdb.items.create("Toaster", {"name": "t1"})


def test_abstract_class_holds_no_cis(cmdb: Cmdb) -> None:
    with pytest.raises(ValidationError, match="abstract"):
        cmdb.items.create("Hardware", {"name": "box", "status": "In Use"})


def test_missing_name(cmdb: Cmdb) -> None:
    with pytest.raises(ValidationError) as err:
        cmdb.items.create("Server", {"name": "  ", "status": "In Use"})
    assert "name" in err.value.problems


def test_status_defaults_to_in_use_and_only_name_is_required(cmdb: Cmdb) -> None:
    ci = cmdb.items.create("Server", {"name": "x"}).created[0]
    assert cmdb.items.get(ci).status == "In Use"
    with pytest.raises(ValidationError) as err:
        cmdb.items.create("Server", {"status": "In Use"})
    assert set(err.value.problems) == {"name"}


def test_required_where_a_user_marked_it(cmdb: Cmdb) -> None:
    cmdb.classes.update_class("Server", required_fields=["owner"])
    with pytest.raises(ValidationError) as err:
        cmdb.items.create("Server", {"name": "x"})
    assert err.value.problems == {"owner": "Owner is required for Server"}


def test_class_defaults_fill_new_cis(cmdb: Cmdb) -> None:
    cmdb.classes.update_class("Workstation", defaults={"status": "In Stock", "owner": "IT"})
    ws = cmdb.items.get(cmdb.items.create("Workstation", {"name": "ws1"}).created[0])
    assert (ws.status, ws.values["owner"]) == ("In Stock", "IT")
    given = cmdb.items.create("Workstation", {"name": "ws2", "owner": "Bob"}).created[0]
    assert cmdb.items.get(given).values["owner"] == "Bob"
    srv = cmdb.items.get(cmdb.items.create("Server", {"name": "s1"}).created[0])
    assert (srv.status, srv.values["owner"]) == ("In Use", None)


def test_wrong_attribute_types_are_all_reported(cmdb: Cmdb) -> None:
    with pytest.raises(ValidationError) as err:
        cmdb.items.create(
            "Server",
            {
                "name": "x",
                "status": "Broken",
                "cost": "cheap",
                "purchase_date": "yesterday",
                "criticality": "9",
            },
        )
    problems = err.value.problems
    assert set(problems) == {"status", "cost", "purchase_date", "criticality"}
    assert "not one of" in problems["status"]
    assert "not a number" in problems["cost"]
    assert "not a date" in problems["purchase_date"]
    assert "above the maximum 4" in problems["criticality"]
    assert cmdb.items.count() == 0


def test_unknown_field(cmdb: Cmdb) -> None:
    with pytest.raises(UnknownFieldError) as err:
        cmdb.items.create("Database", {"name": "db", "status": "In Use", "serial_number": "S"})
    assert "no attribute 'serial_number'" in str(err.value)


def test_identity_keys_are_folded_in_every_write(cmdb: Cmdb) -> None:
    a = _create(cmdb, "Server", "a", serial_number="SN-1")
    with pytest.raises(DuplicateError, match="already belongs to Server/a"):
        _create(cmdb, "Network Device", "b", serial_number=" sn-1 ")  # one Hardware space
    _create(cmdb, "Server", "a", serial_number="SN-2")  # a name may repeat: serials decide
    with pytest.raises(DuplicateError, match="Name 'A'"):
        _create(cmdb, "Server", "A")  # no serial, no tag: the name identifies it
    web = _create(cmdb, "Application", "Web01")
    with pytest.raises(DuplicateError):
        _create(cmdb, "Application", "web01")
    _create(cmdb, "Database", "web01")  # another class, another identity space
    with pytest.raises(DuplicateError):
        cmdb.items.update(a, {"serial_number": "sn-2"})
    cmdb.items.update(web, {"name": "WEB01"})  # its own identity: fine
    assert cmdb.items.count() == 4


def test_control_characters_are_refused_in_names_and_keys(cmdb: Cmdb) -> None:
    with pytest.raises(ValidationError, match="control character"):
        _create(cmdb, "Server", "web\x0701")
    with pytest.raises(ValidationError, match="control character"):
        _create(cmdb, "Server", "web01", serial_number="SN\t1")
    ci = _create(cmdb, "Server", "web01", description="line 1\nline 2")  # free text may
    assert cmdb.items.get(ci).values["description"] == "line 1\nline 2"


def test_update_records_each_field_and_bumps_version(cmdb: Cmdb) -> None:
    ci = _create(cmdb, "Server", "web01")
    summary = cmdb.items.update(ci, {"owner": "alice", "cost": "10"}, expected_version=1)
    assert summary.after[ci] == {"owner": "alice", "cost": 10.0}
    assert cmdb.items.get(ci).version == 2
    fields = {(e.action, e.field, e.old_value, e.new_value) for e in cmdb.history.for_ci(ci)}
    assert ("update", "owner", None, "alice") in fields
    assert ("update", "cost", None, "10") in fields


def test_update_without_change_keeps_version(cmdb: Cmdb) -> None:
    ci = _create(cmdb, "Server", "web01", owner="alice")
    assert cmdb.items.update(ci, {"owner": "alice"}).empty
    assert cmdb.items.get(ci).version == 1


def test_stale_version_is_a_conflict(cmdb: Cmdb) -> None:
    ci = _create(cmdb, "Server", "web01")
    cmdb.items.update(ci, {"owner": "first"}, expected_version=1)
    with pytest.raises(StaleVersionError) as err:
        cmdb.items.update(ci, {"owner": "second"}, expected_version=1)
    assert err.value.exit_code == 3
    assert err.value.current["owner"] == "first"
    assert cmdb.items.get(ci).values["owner"] == "first"


def test_two_facades_on_one_file_detect_conflicts(cmdb: Cmdb, db_path: object) -> None:
    ci = _create(cmdb, "Server", "web01")
    other = Cmdb.open(cmdb.path, user="colleague")  # type: ignore[arg-type]
    try:
        seen = cmdb.items.get(ci).version
        other.items.update(ci, {"owner": "colleague"}, expected_version=seen)
        with pytest.raises(StaleVersionError):
            cmdb.items.update(ci, {"owner": "me"}, expected_version=seen)
    finally:
        other.close()


def test_change_class_clears_attributes_it_lacks(cmdb: Cmdb) -> None:
    ci = _create(cmdb, "Server", "x", serial_number="S1", owner="bob")
    summary = cmdb.items.update(ci, {"class": "Virtual Machine"})
    rec = cmdb.items.get(ci)
    assert rec.class_name == "Virtual Machine"
    assert "serial_number" not in rec.values
    assert rec.values["owner"] == "bob"
    assert summary.before[ci]["serial_number"] == "S1"
    assert any(e.field == "class" for e in cmdb.history.for_ci(ci))


def test_delete_records_snapshot_and_restore_undoes(cmdb: Cmdb) -> None:
    a = _create(cmdb, "Server", "a", owner="o")
    b = _create(cmdb, "Rack", "r")
    cmdb.relations.relate(a, "Located in", b)
    summary = cmdb.items.delete(a)
    assert cmdb.relations.count() == 0
    hist = cmdb.history.for_ci(a)
    assert [e.action for e in hist][:2] == ["delete", "delete"]
    assert '"owner": "o"' in (hist[0].old_value or "")
    cmdb.items.restore(summary.snapshots[a])
    assert cmdb.items.get(a).values["owner"] == "o"
    assert [r.other.id for r in cmdb.relations.of(a)] == [b]


def test_resolve_references(cmdb: Cmdb) -> None:
    a = _create(cmdb, "Server", "web01")
    b = _create(cmdb, "Virtual Machine", "web01")
    c = _create(cmdb, "Rack", "rack/1")
    assert cmdb.items.resolve(f"#{a}") == a
    assert cmdb.items.resolve("Server/web01") == a
    assert cmdb.items.resolve("virtual machine/web01") == b
    assert cmdb.items.resolve("rack/1") == c  # 'rack/1' is a name, and Rack/'1' matches nothing
    with pytest.raises(AmbiguousReferenceError) as err:
        cmdb.items.resolve("web01")
    assert {x["id"] for x in err.value.candidates} == {a, b}
    with pytest.raises(NotFoundError):
        cmdb.items.resolve("nothing")
    with pytest.raises(NotFoundError):
        cmdb.items.resolve("#999")


def test_reference_attribute(cmdb: Cmdb) -> None:
    cmdb.classes.add_attribute(
        "Server", "Primary Contact Site", "reference", reference_class="Site"
    )
    site = _create(cmdb, "Site", "Paris")
    srv = _create(cmdb, "Server", "s1", primary_contact_site="Paris")
    assert cmdb.items.get(srv).values["primary_contact_site"] == site
    with pytest.raises(ValidationError, match="is not a Site"):
        cmdb.items.update(srv, {"primary_contact_site": f"#{srv}"})


def test_listener_gets_summary(cmdb: Cmdb) -> None:
    seen = []
    cmdb.add_listener(seen.append)
    ci = _create(cmdb, "Server", "a")
    cmdb.items.update(ci, {"owner": "x"})
    assert [s.created for s in seen] == [[ci], []]
    assert seen[1].updated == [ci]


def test_update_many_is_all_or_nothing(cmdb: Cmdb) -> None:
    a = _create(cmdb, "Server", "a")
    b = _create(cmdb, "Server", "b")
    with pytest.raises(ValidationError) as err:
        cmdb.items.update_many({a: {"owner": "x"}, b: {"cost": "lots"}})
    assert list(err.value.problems) == [f"#{b} cost"]
    assert cmdb.items.get(a).values["owner"] is None
    summary = cmdb.items.update_many(
        {a: {"owner": "x"}, b: {"owner": "y"}}, expected_versions={a: 1, b: 1}
    )
    assert sorted(summary.updated) == [a, b]
    assert len({e.request_id for ci in (a, b) for e in cmdb.history.for_ci(ci)[:1]}) == 1


def test_update_many_reports_stale_versions(cmdb: Cmdb) -> None:
    a = _create(cmdb, "Server", "a")
    cmdb.items.update(a, {"owner": "other"})
    with pytest.raises(ConflictError, match="changed by someone else") as err:
        cmdb.items.update_many({a: {"owner": "me"}}, expected_versions={a: 1})
    assert err.value.details["stale"] == [a]


def test_delete_many_and_restore_many(cmdb: Cmdb) -> None:
    a, b, c = (_create(cmdb, "Server", n) for n in "abc")
    cmdb.relations.relate(a, "Depends on", b)
    cmdb.relations.relate(b, "Depends on", c)
    cmdb.items.update(c, {"owner": "x"})
    with pytest.raises(ConflictError):
        cmdb.items.delete_many([a, c], expected_versions={a: 1, c: 1})
    assert cmdb.items.count() == 3
    summary = cmdb.items.delete_many([a, b])
    assert cmdb.items.count() == 1 and cmdb.relations.count() == 0
    cmdb.items.restore_many(list(summary.snapshots.values()))
    assert cmdb.items.count() == 3 and cmdb.relations.count() == 2
