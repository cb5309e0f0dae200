"""The Batches view alone: an AppContext on a real CMDB and no main window."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from cmdb_desktop.batches import STATUS_ROLLED_BACK
from importers.apply import ImportResult, import_file
from ui.jobs import JobState
from ui.views.batches import BatchesView


def _two_servers(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        rows = [["Name", "Class", "Status"], ["bv-01", "Server", "In Use"]]
        csv.writer(fh).writerows([*rows, ["bv-02", "Server", "In Use"]])
    return path


def test_batches_view_follows_imports_and_rollbacks_itself(
    qtbot: Any, make_context: Any, demo_path: Path, tmp_path: Path, answer: Any
) -> None:
    context = make_context(demo_path)
    view = BatchesView(context)
    qtbot.addWidget(view)
    view.show()  # shown, it reads the batches
    qtbot.waitUntil(lambda: bool(view.batches) and context.runner.is_idle())
    before = [b.id for b in view.batches]
    # an import written by the worker: the view hears of its batch and reads again
    path = _two_servers(tmp_path / "servers.csv")
    results: list[ImportResult] = []

    def run_import(state: JobState) -> ImportResult:
        return import_file(context.cmdb, path, progress=state.progress)

    context.runner.submit("Importing", run_import, on_done=results.append)
    qtbot.waitUntil(lambda: len(view.batches) == len(before) + 1, timeout=20_000)
    batch = results[0].batch_id
    assert batch is not None and view.batches[0].id == batch
    # List its CIs: the navigation is asked to show exactly them in the table
    assert view.select(batch)
    view.cis_action.trigger()
    qtbot.waitUntil(lambda: bool(context.navigation.calls))
    kind, (flt, label) = context.navigation.calls[-1]
    assert kind == "show_in_table" and label == f"Batch #{batch}"
    assert sorted(flt.ids) == sorted(results[0].summary.created)
    # Roll back: the view shows the batch as rolled back, by itself
    answer(QMessageBox.StandardButton.Yes)
    view.ask_rollback()
    qtbot.waitUntil(
        lambda: view.batches[0].status == STATUS_ROLLED_BACK and context.runner.is_idle(),
        timeout=20_000,
    )
    assert context.messages[-1].startswith(f"Batch #{batch} rolled back: 2 CIs removed")
    assert not view.rollback_action.isEnabled()
    assert context.errors == []


def test_a_refused_rollback_names_the_field_and_both_values(
    qtbot: Any, make_context: Any, demo_path: Path, tmp_path: Path, answer: Any
) -> None:
    context = make_context(demo_path)
    cmdb = context.cmdb
    result = import_file(cmdb, _two_servers(tmp_path / "servers.csv"))
    assert result.batch_id is not None
    server = cmdb.items.resolve("Server/bv-01")
    cmdb.items.update(server, {"owner": "Zed"})
    view = BatchesView(context)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: bool(view.batches) and context.runner.is_idle())
    assert view.select(result.batch_id)
    answer(QMessageBox.StandardButton.Yes)
    view.ask_rollback()
    qtbot.waitUntil(lambda: bool(context.errors) and context.runner.is_idle(), timeout=20_000)
    (title, error), *_ = context.errors
    assert title == f"Batch #{result.batch_id} cannot be rolled back"
    assert f"Server/bv-01 (#{server}): Owner — the batch wrote (nothing), it is now 'Zed'" in str(
        error
    )
    assert view.batches[0].status != STATUS_ROLLED_BACK
    # set back as the batch left it, the rollback goes through
    cmdb.items.update(server, {"owner": None})
    view.ask_rollback()
    qtbot.waitUntil(
        lambda: view.batches[0].status == STATUS_ROLLED_BACK and context.runner.is_idle(),
        timeout=20_000,
    )
    assert len(context.errors) == 1
