"""Bring the core's change notifications to the GUI thread.

``Cmdb.add_listener`` callbacks run on whichever thread wrote (our worker);
:class:`ChangeBridge` re-emits each :class:`ChangeSummary` as a Qt signal,
which a queued connection delivers on the GUI thread. Views connect to
``changed`` and refresh only what they show (Anki's "operations return what
changed" idea).

Writes by *other* programs (the CLI, a colleague on the same file) do not
call our listeners; :meth:`ChangeBridge.poll` compares the database's change
counters with what our own writes explain and emits ``external`` when
something else moved them.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb


class ChangeBridge(QObject):
    """``changed(summary)`` for our writes; ``external(catalogue_reloaded)`` for others'."""

    changed = Signal(object)
    external = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cmdb: Cmdb | None = None
        self._local_writes = 0
        self._last_data: int | None = None

    def attach(self, cmdb: Cmdb | None, data_generation: int | None = None) -> None:
        """Follow ``cmdb``; ``data_generation`` is its data counter when it was opened
        (read here when not given)."""
        if self._cmdb is not None:
            self._cmdb.remove_listener(self._on_change)
        self._cmdb = cmdb
        self._local_writes = 0
        self._last_data = None
        if cmdb is not None:
            cmdb.add_listener(self._on_change)
            # The baseline is the moment of opening (one tiny read, done by the
            # opening job when it can), so another program's write before the
            # first poll is still noticed.
            if data_generation is None:
                data_generation = cmdb.generations()["data"]
            self._last_data = data_generation

    def _on_change(self, summary: ChangeSummary) -> None:
        # Runs on the writing thread: only count and emit (queued to the GUI).
        self._local_writes += 1
        self.changed.emit(summary)

    def note_generations(self, generations: dict[str, int], catalogue_reloaded: bool) -> None:
        """Feed the result of a :func:`ui.jobs.generations` poll (on the GUI thread)."""
        data = generations["data"]
        if self._last_data is None:
            self._last_data = data
            self._local_writes = 0
            return
        moved = data - self._last_data
        ours = self._local_writes
        self._last_data = data
        self._local_writes = 0
        if moved > ours or catalogue_reloaded:
            self.external.emit(catalogue_reloaded)
