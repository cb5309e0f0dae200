"""Every item model passes Qt's model tester, with real data behind it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from cmdb_desktop import browse
from cmdb_desktop.browse import BrowseFilter, BrowseSort
from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import table_text, table_texts
from ui import jobs
from ui.models.ci_refs import CI_ID_ROLE as REF_ID_ROLE
from ui.models.ci_refs import CiRefListModel
from ui.models.ci_table import CI_ID_ROLE, CiTableModel, format_value
from ui.models.history import HistoryModel
from ui.models.navigator import KIND_ROLE, PAYLOAD_ROLE, NavigatorModel
from ui.models.relationships import OTHER_ID_ROLE, RelationshipModel
from ui.tasks import TaskRunner

pytestmark = pytest.mark.usefixtures("qapp")  # icons and pixmaps need a QApplication


@pytest.fixture
def demo(demo_db: Path) -> Any:
    with Cmdb.open(demo_db) as c:
        yield c


@pytest.fixture
def runner() -> Iterator[TaskRunner]:
    """The table's worker; stopped before the CMDB closes (fixtures end in reverse)."""
    r = TaskRunner()
    yield r
    r.shutdown()


def test_ci_table_model(qtbot: Any, qtmodeltester: Any, demo: Cmdb, runner: TaskRunner) -> None:
    model = CiTableModel(runner)
    model.set_cmdb(demo)
    model.set_columns([c for c in browse.columns_for(demo.meta) if c.key != "description"])
    flt, sort = BrowseFilter(), BrowseSort("name")
    model.set_first_page(browse.page_ids(demo, flt, sort, 0, 50))
    assert model.rowCount() == 50 and model.total is None
    model.set_total(2000)
    assert model.rowCount() == 2000
    # rows whose ids have not arrived yet are placeholders
    assert model.index(1500, 0).data() == "Loading…"
    assert model.index(1500, 0).data(CI_ID_ROLE) is None
    ids = browse.all_ids(demo, flt, sort)
    model.put_ids(0, ids[:1000])
    model.put_ids(1000, ids[1000:])
    model.finish(len(ids))
    assert model.complete and model.rowCount() == 2000
    assert model.index(1500, 0).data(CI_ID_ROLE) == ids[1500]
    qtmodeltester.check(model)
    name = table_text(qtbot, model, 0)
    assert name == demo.items.get(ids[0]).name
    assert model.row_of(ids[42]) == 42
    assert model.ids_of_rows([(3, 5), (10, 10)]) == [ids[3], ids[4], ids[5], ids[10]]


def test_ci_table_model_shrinks_and_refreshes(
    qtmodeltester: Any, demo: Cmdb, runner: TaskRunner
) -> None:
    model = CiTableModel(runner)
    model.set_cmdb(demo)
    model.set_columns(browse.columns_for(demo.meta)[:4])
    model.set_first_page([1, 2, 3])
    model.set_total(10)
    model.finish(3)
    assert model.rowCount() == 3
    model.set_result(browse.all_ids(demo, BrowseFilter(text="ams1"), BrowseSort("name")))
    qtmodeltester.check(model)
    spy: list[Any] = []
    model.dataChanged.connect(lambda a, b, *_: spy.append((a.row(), b.row())))
    model.invalidate([model.ci_id(0)])
    assert spy == [(0, model.rowCount() - 1)]


def test_reference_columns_show_names(
    qtbot: Any, demo_db: Path, tmp_path: Path, runner: TaskRunner
) -> None:
    """Referenced CIs read by name, whether the row came with the first page or later."""
    import shutil

    path = shutil.copy(demo_db, tmp_path / "refs.sqlite")
    with Cmdb.open(path) as c:
        c.classes.add_attribute("Server", "Installed In", "reference", reference_class="Site")
        site = c.items.resolve("Amsterdam DC1")
        server = c.meta.get_class("Server")
        servers = browse.page_ids(c, BrowseFilter(class_id=server.id), BrowseSort("name"), 0, 2)
        for ci_id in servers:
            c.items.update(ci_id, {"installed_in": site})
    with Cmdb.open(path) as c:
        model = CiTableModel(runner)
        model.set_cmdb(c)
        info = c.meta.get_class("Server")
        cols = [k for k in browse.columns_for(c.meta, info) if k.key in ("name", "installed_in")]
        model.set_columns(cols)
        keys = [k.key for k in cols]
        ref_col = keys.index("installed_in")
        # the first row as the worker sends it with the first page
        page = jobs.first_page(
            jobs.JobState(),
            c,
            BrowseFilter(class_id=server.id),
            BrowseSort("name"),
            2,
            keys,
            prefetch=1,
        )
        assert page.ids == servers and page.ref_names == {site: "Amsterdam DC1"}
        model.set_first_page(page.ids)
        model.prefill(page.rows, page.keys, page.ref_names)
        assert model.is_loaded(0) and not model.is_loaded(1)
        assert table_texts(qtbot, model, range(2), ref_col) == ["Amsterdam DC1"] * 2
        runner.shutdown()  # before the CMDB closes


def test_sort_request_goes_to_the_owner(demo: Cmdb, runner: TaskRunner) -> None:
    model = CiTableModel(runner)
    model.set_cmdb(demo)
    model.set_columns(browse.columns_for(demo.meta))
    asked: list[tuple[str, bool]] = []
    model.sortRequested.connect(lambda key, desc: asked.append((key, desc)))
    model.sort(model.column_of("owner"), Qt.SortOrder.DescendingOrder)
    assert asked == [("owner", True)]


def test_format_value(demo: Cmdb) -> None:
    from datetime import date, datetime

    cols = browse.column_map(demo.meta)
    assert format_value(cols["purchase_date"], date(2024, 1, 31)) == "2024-01-31"
    assert format_value(cols["updated_at"], datetime(2024, 1, 31, 12, 0)).startswith("2024-01-3")
    assert format_value(cols["cost"], 1234.5) == "1,234.50"
    assert format_value(cols["criticality"], None) == ""


def test_relationship_model(qtmodeltester: Any, demo: Cmdb) -> None:
    ci_id = demo.items.resolve("Server/ams1-srv-000001")
    views = demo.relations.of(ci_id)
    model = RelationshipModel()
    model.set_relationships(views, {c.name: c.icon for c in demo.meta.classes})
    qtmodeltester.check(model)
    assert model.total == len(views)
    labels = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert all("(" in label for label in labels)
    group = model.index(0, 0)
    child = model.index(0, 0, group)
    assert model.parent(child) == group
    assert child.data(OTHER_ID_ROLE) in {v.other.id for v in views}
    assert model.view_at(child) is not None and model.view_at(group) is None
    model.clear()
    qtmodeltester.check(model)


def test_history_model(qtmodeltester: Any, demo: Cmdb) -> None:
    ci_id = demo.items.resolve("Server/ams1-srv-000001")
    model = HistoryModel()
    model.set_entries(demo.history.for_ci(ci_id))
    qtmodeltester.check(model)
    assert model.rowCount() >= 1
    assert model.index(0, 2).data().startswith("Demo data")


def test_ci_ref_list_model(qtmodeltester: Any, demo: Cmdb) -> None:
    refs = jobs.search_cis(jobs.JobState(), demo, "ams1-srv", None)
    model = CiRefListModel()
    model.set_refs(refs, demo.meta)
    qtmodeltester.check(model)
    assert model.index(0, 0).data(REF_ID_ROLE) == refs[0].id
    assert model.index(0, 0).data(Qt.ItemDataRole.EditRole) == refs[0].name


def test_navigator_model(qtmodeltester: Any, demo: Cmdb) -> None:
    model = NavigatorModel()
    model.set_classes(demo.meta)
    model.set_counts(browse.class_counts(demo))
    model.set_filters([("Live", {"status": ["In Use"]})])
    model.set_problem_checks()
    model.set_problem_count("orphans", 3)
    qtmodeltester.check(model)
    root = model.section("Classes").child(0)
    assert root.data(KIND_ROLE) == "class"
    assert model.section("Classes").child(0, 1).text() == "2,000"
    assert model.section("Saved filters").child(0).data(PAYLOAD_ROLE)[0] == "Live"
