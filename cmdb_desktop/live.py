"""Live refresh in team mode (PRODUCT.md §12): a colleague's commit shows in open
windows within 2 s.

Every writing transaction moves the change counters (:meth:`Cmdb.bump`); on
PostgreSQL it also sends ``NOTIFY cmdb_changes`` in that transaction, which the
server delivers at commit (and drops on rollback). A :class:`ChangeWatcher`
listens on its own connection, in its own thread, and calls back; the window
then reads the counters as its poll would (the poll stays, as the fallback).
SQLite has no notifications: there the poll is all.

This is a storage module (tests/test_layout.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

#: The notification channel of every CMDB database.
CHANNEL = "cmdb_changes"
#: How long the listening thread waits for a notification before it looks at
#: whether it was stopped (seconds).
_WAKE_S = 0.25
#: How long it waits before connecting again after losing the server (seconds).
_RETRY_S = 2.0


def notify_sql() -> str:
    """The statement a writing transaction runs to tell the listeners (PostgreSQL)."""
    return f"SELECT pg_notify('{CHANNEL}', '')"


class ChangeWatcher:
    """Calls ``on_change()`` (from its own thread) after each commit by anyone on
    the PostgreSQL database of ``url``; several commits in a burst may come as one
    call. :meth:`stop` ends it; it reconnects by itself after losing the server."""

    def __init__(self, url: str, on_change: Callable[[], None]) -> None:
        self._conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._on_change = on_change
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cmdb-listen", daemon=True)

    def start(self) -> ChangeWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stop.is_set():
                        if any(True for _ in conn.notifies(timeout=_WAKE_S)):
                            self._call()
            except psycopg.Error as exc:
                self.listening.clear()
                # psycopg's messages name host and user, never the password
                log.info("live refresh: lost the server (%s); retrying", type(exc).__name__)
                self._stop.wait(_RETRY_S)

    def _call(self) -> None:
        try:
            self._on_change()
        except Exception:  # a broken listener must not end the watching
            log.exception("live refresh listener failed")
