"""The impact workspace's breadcrumb and picture show the engine's explaining path.

host1 carries web1, one of two VMs of a cluster with min up 1, and the
database: the cluster is degraded, the database down, so the shop is down. Its
quickest ways in are as short through the cluster as through the database;
only the database explains why it is down (PRODUCT.md §5).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cmdb_desktop.cmdb import Cmdb
from tests.cmdb_desktop.impact_examples import SHOP, build
from tests.ui.waits import settle
from ui import jobs_analysis
from ui.jobs import JobState


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.sqlite"
    with Cmdb.open(path, user="tester") as cmdb:
        build(cmdb, *SHOP)
    return path


EXPLAINED = ["host1", "web1", "orders-db", "Web Shop"]


def test_the_picture_draws_the_explaining_path(shop: Path) -> None:
    with Cmdb.open(shop) as cmdb:
        host1 = cmdb.items.resolve("host1")
        table = jobs_analysis.impact(JobState(), cmdb, [host1])
        shop_row = table.report.impacted[0]
        assert (shop_row.ci.name, shop_row.state, shop_row.path) == ("Web Shop", "down", EXPLAINED)
        picture = jobs_analysis.impact_picture(JobState(), cmdb, table)
        name = {n.key: n.label for n in picture.nodes}
        drawn = {(name[e.lower], name[e.upper]) for e in picture.edges}
    # the picture only draws explaining paths; the cluster–shop edge explains nothing
    assert ("web-cluster", "Web Shop") not in drawn
    assert {("web1", "orders-db"), ("orders-db", "Web Shop")} <= drawn


def test_the_breadcrumb_follows_the_engine(qtbot: Any, make_window: Any, shop: Path) -> None:
    window = make_window(shop)
    cmdb = window.cmdb
    host1 = cmdb.items.resolve("host1")
    window.show_ci(host1)
    window.workbench.impact_action.trigger()
    ws = window.workbench.impact
    qtbot.waitUntil(lambda: not ws.is_busy() and ws.table is not None, timeout=20_000)
    settle(qtbot, window)
    report = ws.table.report
    for row in range(ws.model.rowCount()):
        ws.view.setCurrentIndex(ws.model.index(row, 0))
        k = ws.model.position(row)
        text = ws.breadcrumb.text()
        assert f"is {report.columns.states[k]}" in text
        links = re.findall(r"<a href='ci:(\d+)'>([^<]*)</a>", text)
        assert [int(i) for i, _ in links] == report.path_ids(report.columns.ids[k])
        assert [n for _, n in links] == report.columns.paths[k]
        if report.columns.names[k] == "Web Shop":
            assert [n for _, n in links] == EXPLAINED
