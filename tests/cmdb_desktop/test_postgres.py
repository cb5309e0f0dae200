"""The same core on PostgreSQL (team mode): a throw-away server in a temp folder
(the ``pg`` fixtures of :mod:`tests.postgres`).

Skips when PostgreSQL's server binaries or the psycopg driver are missing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cmdb_desktop import demo, health
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import StaleVersionError


def test_core_on_postgres(pg: Cmdb) -> None:
    a = pg.items.create(
        "Server",
        {"name": "web01", "status": "In Use", "serial_number": "S1", "purchase_date": "2024-01-02"},
    ).created[0]
    b = pg.items.create("Rack", {"name": "r1", "status": "In Use"}).created[0]
    pg.relations.relate(a, "Located in", b)
    pg.items.update(a, {"owner": "x"}, expected_version=1)
    with pytest.raises(StaleVersionError):
        pg.items.update(a, {"owner": "y"}, expected_version=1)
    assert pg.search.search("web") == [a]
    assert [e.field for e in pg.history.for_ci(a)][0] == "owner"
    pg.classes.add_attribute("Server", "Slots", "integer")
    pg.items.update(a, {"slots": 3})
    pg.classes.update_class("Server", required_fields=["slots"])
    assert health.report(pg).findings["missing_required"].count == 0
    with pg.write() as s, pytest.raises(Exception, match="append-only"):
        s.execute(text("DELETE FROM change_record"))


def test_demo_then_more_cis_on_postgres(pg: Cmdb) -> None:
    demo.generate(pg, 300, seed=1)
    new = pg.items.create("Server", {"name": "after-demo", "status": "In Use"}).created[0]
    assert new > 300
    assert pg.items.count() == 301
    assert health.report(pg).total_cis == 301
