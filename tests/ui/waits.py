"""Waiting for the GUI in tests: on its own state, never on sleeps.

A plain module (neither a test module nor a conftest), so any GUI test can
import these without importing another test module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: How long a GUI test waits for the worker by default (ms): only a bound for a
#: test that fails (a passing one goes on at the event), so generous enough for
#: one busy CPU shared with other programs.
WAIT_MS = 60_000


def settle(qtbot: Any, window: Any, timeout: int = WAIT_MS) -> None:
    """Wait until the worker has nothing left and the table has its whole result."""
    qtbot.waitUntil(window.is_settled, timeout=timeout)


def go_next(qtbot: Any, wizard: Any, page: Any) -> None:
    """Press Next and wait for ``page`` (the current page's job runs first)."""
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is page, timeout=30_000)


def table_texts(qtbot: Any, model: Any, rows: Iterable[int], col: int = 0) -> list[Any]:
    """Cells of the CI table once their rows came from the worker (asking for them
    as a view would, by reading them)."""
    wanted = list(rows)

    def loaded() -> bool:
        for row in wanted:
            model.index(row, col).data()
        return all(model.is_loaded(row) for row in wanted)

    qtbot.waitUntil(loaded, timeout=WAIT_MS)
    return [model.index(row, col).data() for row in wanted]


def table_text(qtbot: Any, model: Any, row: int, col: int = 0) -> Any:
    """One cell of the CI table (see :func:`table_texts`)."""
    return table_texts(qtbot, model, [row], col)[0]
