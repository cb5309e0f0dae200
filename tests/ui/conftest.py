"""Fixtures for the GUI tests: a real main window on a real SQLite file, or a view
alone with a real :class:`~ui.context.AppContext` (no window at all).

Every window gets its own settings file in the test's temporary folder, so
tests never read or write the user's layout, recent files or theme.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from cmdb_desktop.browse import BrowseFilter
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.db import copy_sqlite
from tests.ui.waits import settle

#: The offscreen platform reports every top-level size hint it cannot pass on;
#: it is noise, not a problem of ours. Every other Qt warning still fails a test.
OFFSCREEN_NOISE = r"This plugin does not support "


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture
def demo_path(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the session's 2,000-CI demo CMDB (safe to write to)."""
    path = tmp_path / "demo.sqlite"
    copy_sqlite(demo_db, path)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(
    qtbot: Any, settings: QSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """``make_window(db_path=None)``: a shown main window, with the CMDB open and settled."""
    from ui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(db_path: Path | None = None, **kwargs: Any) -> MainWindow:
        window = MainWindow(kwargs.pop("settings", settings))
        window.interactive = False
        # closed by this fixture (not qtbot), after unsaved edits are dealt with
        window.resize(1200, 800)
        window.show()
        windows.append(window)
        if db_path is not None:
            window.open_database(db_path)
            settle(qtbot, window)
            assert window.cmdb is not None
        return window

    yield make
    # a test may leave unsaved edits; closing must not wait for an answer
    monkeypatch.setattr(
        QMessageBox,
        "question",
        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard),
    )
    for window in windows:
        window.close()
        window.deleteLater()


class RecordedNavigation:
    """A :class:`ui.context.Navigation` without a window: it records where views send
    the user (``calls``); tests set what the user has chosen (``selection``,
    ``current``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.selection: list[int] = []
        self.current: int | None = None

    def show_ci(self, ci_id: int) -> None:
        self.calls.append(("show_ci", ci_id))

    def show_in_table(self, flt: BrowseFilter, label: str) -> None:
        self.calls.append(("show_in_table", (flt, label)))

    def show_workspace(self, key: str) -> None:
        self.calls.append(("show_workspace", key))

    def show_graph(
        self, ci_id: int, *, depth: int | None = None, direction: str | None = None
    ) -> None:
        self.calls.append(("show_graph", (ci_id, depth, direction)))

    def show_batches(self, batch_id: int | None = None) -> None:
        self.calls.append(("show_batches", batch_id))

    def open_import(self) -> None:
        self.calls.append(("open_import", None))

    def current_ci(self) -> int | None:
        return self.current

    def selected_ids(self) -> list[int]:
        return list(self.selection)


@pytest.fixture
def make_context(qtbot: Any, settings: QSettings) -> Iterator[Callable[[Path], Any]]:
    """``make_context(db_path)``: an :class:`~ui.context.AppContext` on that CMDB, with a
    :class:`RecordedNavigation` and a plain widget as the parent for dialogs; no
    main window. Messages and errors are kept in ``context.messages`` and
    ``context.errors``. The worker is stopped, then the CMDB closed, at the end."""
    from ui.context import AppContext

    made: list[tuple[Any, Cmdb]] = []

    def make(db_path: Path) -> Any:
        parent = QWidget()
        qtbot.addWidget(parent)
        context = AppContext(settings, parent, RecordedNavigation())
        context.messages = []
        context.errors = []
        context.messageShown.connect(context.messages.append)
        context.errorReported.connect(lambda title, exc: context.errors.append((title, exc)))
        cmdb = Cmdb.open(db_path, user="tester")
        made.append((context, cmdb))
        context.set_cmdb(cmdb)
        return context

    yield make
    for context, cmdb in made:
        context.runner.shutdown()
        context.set_cmdb(None)
        cmdb.close()


@pytest.fixture
def answer(monkeypatch: pytest.MonkeyPatch) -> Callable[[QMessageBox.StandardButton], list[str]]:
    """Make ``QMessageBox.question`` answer without showing anything; returns the questions."""
    asked: list[str] = []

    def set_answer(button: QMessageBox.StandardButton) -> list[str]:
        def question(_parent: Any, _title: str, text: str, *args: Any, **kw: Any) -> Any:
            asked.append(text)
            return button

        monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
        return asked

    return set_answer


@pytest.fixture
def no_message_boxes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record warnings/criticals/informations instead of showing them."""
    shown: list[tuple[str, str]] = []

    def record(_parent: Any, title: str, text: str, *args: Any, **kw: Any) -> Any:
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    for name in ("warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(record))
    return shown


@pytest.fixture
def clipboard_text() -> Callable[[], str]:
    return lambda: QApplication.clipboard().text()
