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
