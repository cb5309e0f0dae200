"""The main window on a PostgreSQL server (team mode, PRODUCT.md §12): the
password of the URL is never shown: window title, status bar, tooltips, the
log of the session."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cmdb_desktop.cmdb import Cmdb
from tests.postgres import Team, pg_tcp_url
from tests.ui.waits import settle

PASSWORD = "Zq7-window-Pw"


def test_the_window_never_shows_the_password(
    qtbot: Any, pg: Cmdb, pg_server: str, make_window: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = create_engine(pg_server.format(db="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP ROLE IF EXISTS bob"))
        conn.execute(text(f"CREATE ROLE bob LOGIN SUPERUSER PASSWORD '{PASSWORD}'"))
    admin.dispose()
    pg.items.create("Server", {"name": "web01", "status": "In Use"})
    database = make_url(pg.url).database
    assert database
    url = pg_tcp_url(pg_server, database, user="bob", password=PASSWORD)
    shown: list[str] = []
    window = make_window()
    window.statusBar().messageChanged.connect(shown.append)
    window.open_database(url)
    settle(qtbot, window)
    assert window.cmdb is not None
    shown += [window.windowTitle(), window.db_label.text(), window.db_label.toolTip()]
    assert ":***@127.0.0.1" in window.windowTitle()
    logged = [r.getMessage() for r in caplog.records]
    assert not any(PASSWORD in s for s in shown + logged)
    window.save_layout()  # writes the settings file
    with open(window.settings.fileName(), encoding="utf-8") as f:
        assert PASSWORD not in f.read()


@pytest.mark.parametrize(
    ("role", "writes", "catalogue"),
    [("viewer", False, False), ("editor", True, False), ("admin", True, True)],
)
def test_the_window_greys_out_what_the_role_may_not_do(
    qtbot: Any, pg_team: Team, make_window: Any, role: str, writes: bool, catalogue: bool
) -> None:
    window = make_window()
    window.open_database(pg_team.urls[role])
    settle(qtbot, window)
    assert window.cmdb is not None and window.cmdb.role == role
    for action in (
        window.new_ci_action,
        window.set_field_action,
        window.add_relationship_action,
        window.save_filter_action,
        window.workbench.import_action,
    ):
        assert action.isEnabled() is writes, action.text()
    assert window.class_manager_action.isEnabled() is catalogue
    # what every role may do stays available
    assert window.find_action.isEnabled() and window.workbench.impact_action.isEnabled()
    assert window.workbench.audit_action.isEnabled()


def test_a_colleagues_change_shows_within_2_seconds(
    qtbot: Any, pg: Cmdb, make_window: Any
) -> None:
    """LISTEN/NOTIFY, not the 3 s poll: the table shows a CI another program added."""
    pg.items.create("Server", {"name": "web01", "status": "In Use"})
    window = make_window()
    window.open_database(pg.url)
    settle(qtbot, window)
    qtbot.waitUntil(lambda: window._watcher is not None and window._watcher.listening.is_set())
    assert window.browser.model.total == 1
    with Cmdb.open(pg.url, user="colleague") as colleague:
        colleague.items.create("Server", {"name": "web02", "status": "In Use"})
    qtbot.waitUntil(lambda: window.browser.model.total == 2, timeout=2000)


def test_connect_to_server_saves_the_connection_and_keeps_the_password_in_the_keyring(
    qtbot: Any,
    pg_team: Team,
    make_window: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring
    from PySide6.QtWidgets import QDialogButtonBox

    from tests.keyrings import MemoryKeyring
    from ui.views.connect_dialog import ConnectDialog

    monkeypatch.setenv("CMDB_CONNECTIONS", str(tmp_path / "connections.json"))
    ring = MemoryKeyring()
    before = keyring.get_keyring()
    keyring.set_keyring(ring)
    try:
        url = make_url(pg_team.urls["editor"])
        password = pg_team.passwords["editor"]
        dialog = ConnectDialog()
        qtbot.addWidget(dialog)
        dialog.name.setText("team")
        dialog.host.setText(str(url.host))
        dialog.port.setValue(int(url.port or 5432))
        dialog.database.setText(str(url.database))
        dialog.user.setText(str(url.username))
        dialog.password.setText(password)
        dialog.sslmode.setCurrentText("disable")
        assert dialog.remember.isChecked()
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        ok.click()
        assert dialog.result() == dialog.DialogCode.Accepted and dialog.url is not None
        assert password not in (tmp_path / "connections.json").read_text()
        assert password in ring.entries.values()
        # the next time: the saved connection, its password from the keyring
        again = ConnectDialog()
        qtbot.addWidget(again)
        assert again.saved.currentText() == "team" and again.password.text() == ""
        assert again.password.placeholderText() == "from the keyring"
        again.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
        assert again.url is not None
        window = make_window()
        window.open_database(again.url)
        settle(qtbot, window)
        assert window.cmdb is not None and window.cmdb.role == "editor"
        assert password not in window.windowTitle()
        window.save_layout()
        with open(window.settings.fileName(), encoding="utf-8") as f:
            assert password not in f.read()
    finally:
        keyring.set_keyring(before)
