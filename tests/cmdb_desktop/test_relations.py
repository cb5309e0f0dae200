"""Relationships: validation, reverse names, both directions, history."""

from __future__ import annotations

import pytest

from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import DuplicateError, NotFoundError, ValidationError


@pytest.fixture
def pair(cmdb: Cmdb) -> tuple[int, int]:
    app = cmdb.items.create("Application Service", {"name": "Billing", "status": "In Use"})
    db = cmdb.items.create("Database", {"name": "billing-db", "status": "In Use"})
    return app.created[0], db.created[0]


def test_relate_and_list_both_directions(cmdb: Cmdb, pair: tuple[int, int]) -> None:
    app, db = pair
    cmdb.relations.relate(app, "Depends on", db)
    (out,) = cmdb.relations.of(app)
    (inc,) = cmdb.relations.of(db)
    assert (out.label, out.direction, out.other.id) == ("Depends on", "outgoing", db)
    assert (inc.label, inc.direction, inc.other.id) == ("Used by", "incoming", app)


def test_reverse_name_flips_direction(cmdb: Cmdb, pair: tuple[int, int]) -> None:
    app, db = pair
    cmdb.relations.relate(db, "used by", app)
    (out,) = cmdb.relations.of(app)
    assert (out.type, out.direction) == ("Depends on", "outgoing")


def test_no_self_relationship(cmdb: Cmdb, pair: tuple[int, int]) -> None:
    with pytest.raises(ValidationError, match="itself"):
        cmdb.relations.relate(pair[0], "Depends on", pair[0])


def test_no_duplicate_even_through_reverse_name(cmdb: Cmdb, pair: tuple[int, int]) -> None:
    app, db = pair
    cmdb.relations.relate(app, "Depends on", db)
    with pytest.raises(DuplicateError):
        cmdb.relations.relate(db, "Used by", app)
    assert cmdb.relations.count() == 1


def test_unknown_type(cmdb: Cmdb, pair: tuple[int, int]) -> None:
    with pytest.raises(ValidationError, match="Unknown relationship type"):
        cmdb.relations.relate(pair[0], "Likes", pair[1])


def test_unrelate_and_history(cmdb: Cmdb, pair: tuple[int, int]) -> None:
    app, db = pair
    cmdb.relations.relate(app, "Depends on", db)
    cmdb.relations.unrelate(app, "Depends on", db)
    with pytest.raises(NotFoundError):
        cmdb.relations.unrelate(app, "Depends on", db)
    for ci in (app, db):
        actions = [(e.entity, e.action) for e in cmdb.history.for_ci(ci)]
        assert actions[:2] == [("relationship", "delete"), ("relationship", "create")]


def test_graph_generation_moves(cmdb: Cmdb, pair: tuple[int, int]) -> None:
    before = cmdb.generations()["graph"]
    cmdb.relations.relate(pair[0], "Depends on", pair[1])
    assert cmdb.generations()["graph"] == before + 1
    cmdb.relations.relate(pair[1], "Backed up by", pair[0])  # carries no impact
    assert cmdb.generations()["graph"] == before + 1
