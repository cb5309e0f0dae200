"""The GUI's background jobs are plain functions: tested here without any GUI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop import browse
from cmdb_desktop.browse import BrowseFilter, BrowseSort
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CancelledError, ConflictError
from cmdb_desktop.progress import Progress
from ui import jobs


@pytest.fixture
def demo(demo_path: Path) -> Any:
    with Cmdb.open(demo_path, user="tester") as c:
        yield c


def test_count_and_ids_streams_the_count_then_chunks(demo: Cmdb, monkeypatch: Any) -> None:
    monkeypatch.setattr(browse, "ID_CHUNK", 300)
    got: list[Any] = []
    state = jobs.JobState(partial=got.append)
    total = jobs.count_and_ids(state, demo, BrowseFilter(), BrowseSort("name"))
    assert total == 2000
    assert got[0] == 2000
    chunks = got[1:]
    assert [c.offset for c in chunks] == list(range(0, 2000, 300))
    ids = [i for c in chunks for i in c.ids]
    assert ids == list(browse.all_ids(demo, BrowseFilter(), BrowseSort("name")))


def test_count_and_ids_can_be_cancelled(demo: Cmdb, monkeypatch: Any) -> None:
    monkeypatch.setattr(browse, "ID_CHUNK", 100)
    progress = Progress()
    seen: list[Any] = []

    def partial(value: Any) -> None:
        seen.append(value)
        if len(seen) == 3:
            progress.cancel()

    with pytest.raises(CancelledError):
        jobs.count_and_ids(
            jobs.JobState(progress, partial), demo, BrowseFilter(), BrowseSort("name")
        )
    assert len(seen) == 3


def test_load_ci_has_everything_the_panel_shows(demo: Cmdb) -> None:
    ci_id = demo.items.resolve("Server/ams1-srv-000001")
    details = jobs.load_ci(jobs.JobState(), demo, ci_id)
    assert details.record.name == "ams1-srv-000001"
    assert details.relationships and details.history
    assert all(ci_id in (h.ci_id, h.related_ci_id) for h in details.history)


def test_search_cis_accepts_an_id(demo: Cmdb) -> None:
    ci_id = demo.items.resolve("Server/ams1-srv-000001")
    assert [r.id for r in jobs.search_cis(jobs.JobState(), demo, f"#{ci_id}", None)] == [ci_id]
    found = jobs.search_cis(jobs.JobState(), demo, "ams1-srv-00000", None, limit=5)
    assert len(found) == 5 and all(r.name.startswith("ams1-srv-00000") for r in found)


def test_delete_is_all_or_nothing_and_restore_brings_links_back(demo: Cmdb) -> None:
    a = demo.items.resolve("Server/ams1-srv-000001")
    b = demo.items.resolve("Server/ams1-srv-000003")
    demo.relations.relate(a, "Connected to", b)
    rels_a = {r.id for r in demo.relations.of(a)}
    rels_b = {r.id for r in demo.relations.of(b)}
    version_b = demo.items.get(b).version
    demo.items.update(b, {"owner": "Someone"})  # b moves on: a stale version
    with pytest.raises(ConflictError, match="nothing was deleted"):
        jobs.delete_cis(jobs.JobState(), demo, [a, b], {a: 1, b: version_b})
    # one transaction: a was never deleted, nothing is lost
    assert demo.items.get(a).name == "ams1-srv-000001"
    assert not [h for h in demo.history.for_ci(a) if h.action == "delete"]
    assert {r.id for r in demo.relations.of(a)} == rels_a
    summaries = jobs.delete_cis(jobs.JobState(), demo, [a, b])
    assert demo.items.find_by_name("ams1-srv-000001") == []
    snapshots = [s.snapshots[i] for s in summaries for i in s.deleted]
    jobs.restore_cis(jobs.JobState(), demo, snapshots)
    assert {r.id for r in demo.relations.of(a)} == rels_a
    assert {r.id for r in demo.relations.of(b)} == rels_b
    history = demo.history.for_ci(a)
    assert history[0].source == "undo"


def test_bulk_set_is_one_transaction_with_versions(demo: Cmdb) -> None:
    ids = browse.page_ids(demo, BrowseFilter(text="ams1-srv"), BrowseSort("name"), 0, 3)
    summary, versions = jobs.bulk_set(jobs.JobState(), demo, ids, "owner", "Team X")
    assert sorted(summary.updated) == sorted(ids)
    assert all(demo.items.get(i).version == versions[i] + 1 for i in ids)


def test_tsv_and_export(demo: Cmdb, tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    ids = browse.page_ids(demo, BrowseFilter(), BrowseSort("name"), 0, 10)
    demo.items.update(ids[0], {"description": "=1+1\twith a tab"})
    text = jobs.tsv_text(jobs.JobState(), demo, ids, ["name", "class", "description"])
    lines = text.splitlines()
    assert lines[0] == "Name\tClass\tDescription"
    assert lines[1].endswith("\t'=1+1 with a tab")  # an apostrophe keeps a paste as text
    out = jobs.export_xlsx(
        jobs.JobState(), demo, ids, ["owner", "description"], str(tmp_path / "x.xlsx")
    )
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("CIs").to_python()
    assert rows[0] == ["Name", "Class", "Owner", "Description"]
    assert len(rows) == 11
    assert rows[1][3] == "=1+1\twith a tab"  # stored as text, never as a formula


def test_problem_counts_and_ids(demo: Cmdb) -> None:
    got: list[Any] = []
    counts = jobs.problem_counts(jobs.JobState(partial=got.append), demo)
    assert set(counts) == {c.key for c in jobs.PROBLEM_CHECKS}
    assert got == list(counts.items())
    n, ids = jobs.problem_ids(jobs.JobState(), demo, "related_to_retired")
    assert n == counts["related_to_retired"] == len(ids)


def test_open_and_demo(tmp_path: Path) -> None:
    cmdb = jobs.create_demo(jobs.JobState(), tmp_path / "d.sqlite", 200)
    try:
        assert cmdb.items.count() == 200
    finally:
        cmdb.close()
    again = jobs.open_cmdb(jobs.JobState(), tmp_path / "d.sqlite")
    try:
        assert again.items.count() == 200
        gens, reloaded = jobs.generations(jobs.JobState(), again)
        assert set(gens) == {"data", "graph", "catalogue"} and reloaded is False
    finally:
        again.close()


def test_change_bridge_notices_a_write_right_after_opening(demo: Cmdb, qtbot: Any) -> None:
    from cmdb_desktop.cmdb import Cmdb as Facade
    from ui import jobs as ui_jobs
    from ui.changes import ChangeBridge

    bridge = ChangeBridge()
    bridge.attach(demo)
    other = Facade.open(demo.path)  # type: ignore[arg-type]
    try:
        other.items.update(1, {"owner": "someone else"})
    finally:
        other.close()
    with qtbot.waitSignal(bridge.external, timeout=2000):
        gens, reloaded = ui_jobs.generations(ui_jobs.JobState(), demo)
        bridge.note_generations(gens, reloaded)
    bridge.attach(None)
