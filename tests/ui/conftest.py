"""Fixtures for the GUI tests: a real main window on a real SQLite file.

Every window gets its own settings file in the test's temporary folder, so
tests never read or write the user's layout, recent files or theme.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

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
