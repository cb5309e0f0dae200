"""The health dashboard: the core's report, every CI of a finding, into the table."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from cmdb_desktop import health
from cmdb_desktop.cmdb import Cmdb
from tests.ui.waits import settle


def test_dashboard_shows_the_report_and_lists_every_ci_of_a_finding(
    qtbot: Any, qtmodeltester: Any, make_window: Any, demo_path: Path
) -> None:
    window = make_window(demo_path)
    board = window.workbench.health
    window.workbench.health_action.trigger()
    qtbot.waitUntil(lambda: board.report is not None and not board.is_busy(), timeout=30_000)
    with Cmdb.open(demo_path) as other:
        expected = health.report(other, today=date.today())
        warranty = health.warranties_ending(other, date.today(), sample=10**9)
    assert round(board.report.score, 1) == round(expected.score, 1)
    for key, card in board.cards.items():
        assert card.count == expected.findings[key].count, key
    assert [b.key for b in board.class_chart.bars] == sorted(
        expected.class_scores, key=lambda c: (expected.class_scores[c], c)
    )
    qtmodeltester.check(board.completeness)
    # a card lists every CI (not a sample of 50)
    assert warranty.count > 50
    board.cards["warranty"].clicked.emit("warranty")
    qtbot.waitUntil(lambda: board.finding is not None and not board.is_busy(), timeout=20_000)
    assert sorted(board.list_model.ids()) == sorted(r.id for r in warranty.examples)
    qtmodeltester.check(board.list_model)
    # a class bar narrows the list to that class
    board.class_chart.chosen.emit("Server")
    assert board.list_model.rowCount() == warranty.by_class["Server"]
    # duplicates say why
    board.show_finding("duplicates")
    qtbot.waitUntil(
        lambda: (
            board.finding_key == "duplicates"
            and board.finding is not None
            and board.finding.title.startswith("Duplicate")
            and not board.is_busy()
        )
    )
    board.class_chart.chosen.emit("Server")  # clicking the chosen class again clears it
    assert all(
        "names" in board.list_model.row_values(r)[2] or "same" in board.list_model.row_values(r)[2]
        for r in range(board.list_model.rowCount())
    )
    # into the table
    ids = board.list_model.ids()
    board.show_table_action.trigger()
    settle(qtbot, window)
    assert window.workspaces.currentWidget() is window.browser
    assert window.browser.model.total == len(ids)
    # double-click opens a CI
    board.list_view.doubleClicked.emit(board.list_model.index(0, 0))
    settle(qtbot, window)
    assert window.panel.ci_id == board.list_model.ci_id(0)
