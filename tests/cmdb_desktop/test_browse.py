"""The table's queries: filters, sorting, counting, paging, streaming ids, rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop import browse
from cmdb_desktop.browse import BrowseFilter, BrowseSort
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CancelledError
from cmdb_desktop.progress import Progress


@pytest.fixture
def small(cmdb: Cmdb) -> Cmdb:
    rows = [
        (
            "Server",
            "web02",
            {
                "status": "In Use",
                "owner": "Alice Smith",
                "criticality": 2,
                "environment": "Production",
                "serial_number": "SN2",
            },
        ),
        (
            "Server",
            "web01",
            {
                "status": "In Use",
                "owner": "Bob Jones",
                "criticality": 1,
                "environment": "Test",
                "serial_number": "SN1",
            },
        ),
        ("Server", "db01", {"status": "Retired", "owner": "alice smith", "criticality": 4}),
        (
            "Database",
            "orders",
            {"status": "In Use", "owner": "Carol", "criticality": 1, "environment": "Production"},
        ),
        ("Application", "shop", {"status": "Planned", "software_version": "2.1"}),
    ]
    for cls, name, fields in rows:
        cmdb.items.create(cls, {"name": name, **fields})
    return cmdb


NAME_ORDER = BrowseSort()


def names(c: Cmdb, flt: BrowseFilter, sort: BrowseSort = NAME_ORDER) -> list[str]:
    ids = browse.all_ids(c, flt, sort)
    got = browse.rows(c, ids, ["name"])
    return [got[i][0] for i in ids]


def test_no_filter_sorts_by_name_then_id(small: Cmdb) -> None:
    assert names(small, BrowseFilter()) == ["db01", "orders", "shop", "web01", "web02"]
    assert browse.count(small, BrowseFilter()) == 5
    assert BrowseFilter().is_empty


def test_class_filter_includes_subclasses(small: Cmdb) -> None:
    meta = small.meta
    hardware = meta.get_class("Hardware")
    assert names(small, BrowseFilter(class_id=hardware.id)) == ["db01", "web01", "web02"]
    db = meta.get_class("Database")
    assert names(small, BrowseFilter(class_id=db.id)) == ["orders"]


def test_status_environment_criticality_owner_filters(small: Cmdb) -> None:
    assert names(small, BrowseFilter(statuses=("In Use",))) == ["orders", "web01", "web02"]
    assert names(small, BrowseFilter(environments=("Production",))) == ["orders", "web02"]
    assert names(small, BrowseFilter(criticalities=(1,))) == ["orders", "web01"]
    # owner: case-insensitive, anywhere in the text
    assert names(small, BrowseFilter(owner="ALICE")) == ["db01", "web02"]
    both = BrowseFilter(statuses=("In Use",), owner="alice")
    assert names(small, both) == ["web02"] and browse.count(small, both) == 1


def test_text_search_uses_the_full_text_index(small: Cmdb) -> None:
    assert names(small, BrowseFilter(text="web")) == ["web01", "web02"]
    assert names(small, BrowseFilter(text="SN1")) == ["web01"]
    assert names(small, BrowseFilter(text="smith")) == ["db01", "web02"]
    assert names(small, BrowseFilter(text="   ")) == names(small, BrowseFilter())


def test_explicit_ids(small: Cmdb) -> None:
    ids = browse.all_ids(small, BrowseFilter(text="web"), BrowseSort())
    assert names(small, BrowseFilter(ids=tuple(ids))) == ["web01", "web02"]
    assert names(small, BrowseFilter(ids=())) == []


def test_sorting(small: Cmdb) -> None:
    desc = BrowseSort("name", descending=True)
    assert names(small, BrowseFilter(), desc) == ["web02", "web01", "shop", "orders", "db01"]
    by_crit = names(small, BrowseFilter(), BrowseSort("criticality"))
    assert by_crit[0] == "shop"  # no criticality first (NULLs sort first in SQL)
    assert by_crit[1:3] == ["web01", "orders"] or by_crit[1:3] == ["orders", "web01"]
    by_class = names(small, BrowseFilter(), BrowseSort("class"))
    assert by_class == ["shop", "orders", "db01", "web01", "web02"]  # by class *name*
    by_id = names(small, BrowseFilter(), BrowseSort("id", descending=True))
    assert by_id == ["shop", "orders", "db01", "web01", "web02"]


def test_custom_attribute_column_and_sort(small: Cmdb) -> None:
    small.classes.add_attribute("Server", "Rack Units", "integer")
    small.classes.add_attribute("Server", "Go Live", "date")
    for name, units, live in (("web01", 2, "2024-03-01"), ("web02", 1, "2023-01-01")):
        small.items.update(
            small.items.resolve(f"Server/{name}"), {"rack_units": units, "go_live": live}
        )
    meta = small.meta
    server = meta.get_class("Server")
    keys = [c.key for c in browse.columns_for(meta, server)]
    assert "rack_units" in keys and "serial_number" in keys
    assert "rack_units" not in [c.key for c in browse.columns_for(meta)]
    flt = BrowseFilter(class_id=server.id)
    assert names(small, flt, BrowseSort("rack_units"))[-2:] == ["web02", "web01"]
    ids = browse.all_ids(small, flt, BrowseSort("name"))
    got = browse.rows(small, ids, ["name", "class", "rack_units", "go_live"])
    assert got[ids[1]] == ("web01", "Server", 2, date(2024, 3, 1))
    # a key the CI's class lacks is None, not an error
    orders = small.items.resolve("orders")
    assert browse.rows(small, [orders], ["name", "rack_units", "serial_number"])[orders] == (
        "orders",
        None,
        None,
    )


def test_page_ids_and_iter_ids(small: Cmdb) -> None:
    everything = list(browse.all_ids(small, BrowseFilter(), BrowseSort()))
    assert browse.page_ids(small, BrowseFilter(), BrowseSort(), 1, 2) == everything[1:3]
    chunks = list(browse.iter_ids(small, BrowseFilter(), BrowseSort(), chunk=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert [i for c in chunks for i in c] == everything


def test_iter_ids_checks_for_cancellation(small: Cmdb) -> None:
    progress = Progress()
    walk = browse.iter_ids(small, BrowseFilter(), BrowseSort(), chunk=2, progress=progress)
    next(walk)
    progress.cancel()
    with pytest.raises(CancelledError):
        next(walk)


def test_rows_skip_deleted_cis(small: Cmdb) -> None:
    ids = list(browse.all_ids(small, BrowseFilter(), BrowseSort()))
    small.items.delete(ids[0])
    got = browse.rows(small, ids, ["name", "status", "updated_at", "version"])
    assert ids[0] not in got and len(got) == 4
    assert browse.position_of(ids, ids[2]) == 2 and browse.position_of(ids, -1) is None


def test_class_counts_and_distinct_values(small: Cmdb) -> None:
    meta = small.meta
    counts = browse.class_counts(small)
    assert counts.grand_total == 5
    assert counts.total[meta.get_class("Hardware").id] == 3
    assert counts.total[meta.root.id] == 5
    assert counts.own.get(meta.get_class("Hardware").id, 0) == 0
    owners = browse.distinct_values(small, "owner")
    assert set(owners) == {"Alice Smith", "Bob Jones", "alice smith", "Carol"}


def test_filter_documents_round_trip(small: Cmdb) -> None:
    meta = small.meta
    flt = BrowseFilter(
        class_id=meta.get_class("Server").id,
        statuses=("In Use",),
        environments=("Test",),
        criticalities=(1, 2),
        owner="bob",
        text="web",
    )
    doc = flt.to_json(meta)
    assert doc == {
        "class": "Server",
        "status": ["In Use"],
        "environment": ["Test"],
        "criticality": [1, 2],
        "owner": "bob",
        "text": "web",
    }
    assert BrowseFilter.from_json(meta, doc) == flt
    assert BrowseFilter.from_json(meta, {"class": "Gone"}).class_id is None
    assert (
        flt.describe(meta) == "Server · In Use · Test · criticality 1 · criticality 2 · "
        'owner ~ bob · "web"'
    )
    assert BrowseFilter().describe(meta) == "All CIs"


def test_on_the_demo(demo_db: Path) -> None:
    with Cmdb.open(demo_db) as c:
        flt = BrowseFilter(text="ams1-srv")
        n = browse.count(c, flt)
        assert n == c.search.count("ams1-srv") > 0
        first = browse.page_ids(c, flt, BrowseSort(), 0, 10)
        assert list(browse.all_ids(c, flt, BrowseSort())[:10]) == first
        cols = [col.key for col in browse.columns_for(c.meta)]
        got: Any = browse.rows(c, first, cols)
        assert all(len(v) == len(cols) for v in got.values())


def test_on_postgres(pg: Cmdb) -> None:
    """The same queries on PostgreSQL (team mode): LIKE search, JSON sort, cursor ids."""
    for cls, name, fields in (
        ("Server", "web02", {"status": "In Use", "owner": "Alice"}),
        ("Server", "web01", {"status": "Retired", "owner": "Bob"}),
        ("Database", "orders", {"status": "In Use"}),
    ):
        pg.items.create(cls, {"name": name, **fields})
    pg.classes.add_attribute("Server", "Rack Units", "integer")
    pg.items.update(pg.items.resolve("web01"), {"rack_units": 4})
    pg.items.update(pg.items.resolve("web02"), {"rack_units": 2})
    assert names(pg, BrowseFilter()) == ["orders", "web01", "web02"]
    assert names(pg, BrowseFilter(text="web")) == ["web01", "web02"]
    assert names(pg, BrowseFilter(statuses=("In Use",), owner="ali")) == ["web02"]
    server = pg.meta.get_class("Server")
    assert names(pg, BrowseFilter(class_id=server.id), BrowseSort("rack_units")) == [
        "web02",
        "web01",
    ]
    assert names(pg, BrowseFilter(), BrowseSort("class")) == ["orders", "web01", "web02"]
    assert [len(c) for c in browse.iter_ids(pg, BrowseFilter(), BrowseSort(), chunk=2)] == [2, 1]
    assert browse.class_counts(pg).grand_total == 3
