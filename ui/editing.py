"""Every edit the GUI makes: run in the worker, put on the undo stack, conflicts shown.

Views never write themselves; they call the :class:`Editor`:

* ``create_ci``, ``update_ci``, ``delete_cis``, ``bulk_set``, ``relate``,
  ``unrelate`` run the write as a job (through the facade, source ``gui``)
  and, once it succeeded, push the matching command from :mod:`ui.undo`;
* ``undo_action``/``redo_action`` are the menu and toolbar actions; they are
  disabled while a write is in flight, so replays never overlap;
* a replay that meets a newer version (someone else saved) restores the
  stack position and shows the :class:`~ui.views.conflict.ConflictDialog`;
  only the user's explicit choice overwrites.

GUI part 2 (impact workspace, import wizard…) makes its edits through the
same object (``MainWindow.editor``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QMessageBox, QWidget

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.errors import CmdbError, ConflictError, StaleVersionError
from cmdb_desktop.metamodel import Metamodel
from ui import jobs
from ui.tasks import TaskRunner
from ui.theme import icon
from ui.undo import (
    REDO,
    UNDO,
    BulkUpdateCommand,
    CreateCommand,
    DeleteCommand,
    EditCommand,
    RelateCommand,
    UpdateCommand,
)
from ui.views.conflict import OVERWRITE, ConflictDialog

Done = Callable[[Any], None] | None
Failed = Callable[[BaseException], None] | None


class Editor(QObject):
    """Writes through the worker; owns the undo stack and the version bookkeeping."""

    busyChanged = Signal(bool)
    #: A write (edit, undo or redo) finished; views refresh from the bridge anyway.
    written = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self.runner = runner
        self._parent = parent
        self.cmdb: Cmdb | None = None
        self.stack = QUndoStack(self)
        self.versions: dict[int, int] = {}
        self._busy = False
        self._restoring = False
        self._force: EditCommand | None = None
        self.conflict_dialog: ConflictDialog | None = None

        self.undo_action = QAction(icon("undo"), "&Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction(icon("redo"), "&Redo", self)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.redo_action.triggered.connect(self.redo)
        self.stack.indexChanged.connect(self._update_actions)
        self.stack.cleanChanged.connect(self._update_actions)
        self._update_actions()

    # -- state ---------------------------------------------------------------
    def set_cmdb(self, cmdb: Cmdb | None) -> None:
        """A different database: the undo history does not carry over."""
        self.cmdb = cmdb
        self.stack.clear()
        self.versions.clear()
        self._busy = False
        self._update_actions()

    @property
    def meta(self) -> Metamodel:
        assert self.cmdb is not None
        return self.cmdb.meta

    @property
    def busy(self) -> bool:
        return self._busy

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self._update_actions()
            self.busyChanged.emit(busy)

    def _update_actions(self, *_: object) -> None:
        # a viewer's role, or the CMDB as it was: nothing to undo there
        writes = self.cmdb is not None and self.cmdb.may("write")
        can_undo = writes and self.stack.canUndo() and not self._busy
        can_redo = writes and self.stack.canRedo() and not self._busy
        self.undo_action.setEnabled(can_undo)
        self.redo_action.setEnabled(can_redo)
        undo_text = self.stack.undoText()
        redo_text = self.stack.redoText()
        self.undo_action.setText(f"&Undo {undo_text}" if undo_text else "&Undo")
        self.redo_action.setText(f"&Redo {redo_text}" if redo_text else "&Redo")
        self.undo_action.setToolTip(f"Undo {undo_text}" if undo_text else "Nothing to undo")
        self.redo_action.setToolTip(f"Redo {redo_text}" if redo_text else "Nothing to redo")

    def undo(self) -> None:
        if self.stack.canUndo() and not self._busy:
            self.stack.undo()

    def redo(self) -> None:
        if self.stack.canRedo() and not self._busy:
            self.stack.redo()

    # -- versions ------------------------------------------------------------
    def set_versions(self, versions: Mapping[int, int]) -> None:
        self.versions.update(versions)

    def bump_versions(self, ids: Iterable[int]) -> None:
        """Our update moved these CIs up by one version (if we knew theirs)."""
        for i in ids:
            if i in self.versions:
                self.versions[i] += 1

    def forget_versions(self, ids: Iterable[int]) -> None:
        for i in ids:
            self.versions.pop(i, None)

    def expected_versions(self, ids: Iterable[int]) -> dict[int, int]:
        return {i: self.versions[i] for i in ids if i in self.versions}

    # -- running writes ------------------------------------------------------
    def _run(
        self,
        title: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        assert self.cmdb is not None, "no CMDB open"
        self._set_busy(True)

        def done(result: Any) -> None:
            self._set_busy(False)
            on_done(result)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            on_error(exc)

        # What a write did is always reported (deliver_if_cancelled); only the
        # bulk jobs, which check the cancel flag and roll back, offer a cancel.
        bulk = fn in (jobs.update_many, jobs.bulk_set, jobs.delete_cis, jobs.restore_cis)
        self.runner.submit(
            title,
            fn,
            self.cmdb,
            *args,
            on_done=done,
            on_error=failed,
            key="edit",
            deliver_if_cancelled=True,
            cancellable=bulk,
        )

    def _report(self, on_error: Failed, title: str) -> Callable[[BaseException], None]:
        def report(exc: BaseException) -> None:
            if on_error is not None:
                on_error(exc)
            elif isinstance(exc, CmdbError):
                QMessageBox.warning(self._parent, title, str(exc))
            else:
                QMessageBox.critical(
                    self._parent, title, f"Unexpected error: {exc}\n(see the log for details)"
                )

        return report

    # -- edits ---------------------------------------------------------------
    def create_ci(
        self,
        class_name: str,
        fields: Mapping[str, Any],
        *,
        on_done: Done = None,
        on_error: Failed = None,
    ) -> None:
        """Create a CI; ``on_done(new_id)``."""

        def done(summary: ChangeSummary) -> None:
            new_id = summary.created[0]
            self.versions[new_id] = 1
            name = str(fields.get("name", "")).strip() or f"#{new_id}"
            self.stack.push(CreateCommand(self, new_id, class_name, name))
            self.written.emit(summary)
            if on_done is not None:
                on_done(new_id)

        self._run(
            "Creating CI",
            jobs.create_ci,
            class_name,
            dict(fields),
            on_done=done,
            on_error=self._report(on_error, "Cannot create the CI"),
        )

    def update_ci(
        self,
        ci_id: int,
        name: str,
        fields: Mapping[str, Any],
        expected_version: int,
        labels: Mapping[str, str],
        *,
        on_done: Done = None,
        on_error: Failed = None,
    ) -> None:
        """Save changed fields of one CI read at ``expected_version``; ``on_done(summary)``.

        A StaleVersionError goes to ``on_error`` (the CI panel shows the
        conflict with the form's values).
        """

        def done(summary: ChangeSummary) -> None:
            if summary.updated:
                self.versions[ci_id] = expected_version + 1
                after = summary.after[ci_id]
                shown_name = str(after.get("name", name))
                self.stack.push(
                    UpdateCommand(self, ci_id, shown_name, summary.before[ci_id], after, labels)
                )
                self.written.emit(summary)
            if on_done is not None:
                on_done(summary)

        self._run(
            "Saving",
            jobs.update_ci,
            ci_id,
            dict(fields),
            expected_version,
            on_done=done,
            on_error=self._report(on_error, "Cannot save"),
        )

    def bulk_set(
        self,
        ids: Sequence[int],
        key: str,
        value: Any,
        label: str,
        *,
        on_done: Done = None,
        on_error: Failed = None,
    ) -> None:
        """Set one field on many CIs in one transaction."""

        def done(result: tuple[ChangeSummary, dict[int, int]]) -> None:
            summary, versions = result
            if summary.updated:
                self.versions.update({i: versions[i] + 1 for i in summary.updated})
                n = len(summary.updated)
                text = f"Set {label} on {n:,} CI{'s' if n != 1 else ''}"
                self.stack.push(
                    BulkUpdateCommand(self, text, dict(summary.before), dict(summary.after))
                )
                self.written.emit(summary)
            if on_done is not None:
                on_done(summary)

        self._run(
            f"Setting {label}",
            jobs.bulk_set,
            list(ids),
            key,
            value,
            on_done=done,
            on_error=self._report(on_error, f"Cannot set {label}"),
        )

    def delete_cis(
        self, ids: Sequence[int], *, on_done: Done = None, on_error: Failed = None
    ) -> None:
        """Delete CIs (all or none); ``on_done(list of summaries)``."""

        def done(summaries: list[ChangeSummary]) -> None:
            if summaries:
                self.stack.push(DeleteCommand(self, summaries))
                self.forget_versions(ids)
                for s in summaries:
                    self.written.emit(s)
            if on_done is not None:
                on_done(summaries)

        self._run(
            "Deleting",
            jobs.delete_cis,
            list(ids),
            None,
            on_done=done,
            on_error=self._report(on_error, "Cannot delete"),
        )

    def relate(
        self,
        a: int,
        label: str,
        b: int,
        names: tuple[str, str],
        *,
        on_done: Done = None,
        on_error: Failed = None,
    ) -> None:
        """Add ``a LABEL b`` (a reverse label such as ``Used by`` is stored flipped)."""
        self._relation(a, label, b, names, remove=False, on_done=on_done, on_error=on_error)

    def unrelate(
        self,
        a: int,
        label: str,
        b: int,
        names: tuple[str, str],
        *,
        on_done: Done = None,
        on_error: Failed = None,
    ) -> None:
        self._relation(a, label, b, names, remove=True, on_done=on_done, on_error=on_error)

    def _relation(
        self,
        a: int,
        label: str,
        b: int,
        names: tuple[str, str],
        *,
        remove: bool,
        on_done: Done,
        on_error: Failed,
    ) -> None:
        def done(summary: ChangeSummary) -> None:
            self.stack.push(RelateCommand(self, a, label, b, names, remove=remove))
            self.written.emit(summary)
            if on_done is not None:
                on_done(summary)

        fn = jobs.unrelate if remove else jobs.relate
        what = "remove the relationship" if remove else "add the relationship"
        self._run(
            "Saving relationship",
            fn,
            a,
            label,
            b,
            on_done=done,
            on_error=self._report(on_error, f"Cannot {what}"),
        )

    # -- replays (undo/redo) -------------------------------------------------
    def replay(self, command: EditCommand, direction: str) -> None:
        """Called by a command's undo()/redo(): run it in that direction."""
        if self._restoring:
            return  # the stack is only being put back after a failed replay
        force = self._force is command
        self._force = None
        fn, args = command.job(direction, force)
        verb = "Undoing" if direction == UNDO else "Redoing"

        def done(result: Any) -> None:
            command.applied(direction, result)
            summary = result if isinstance(result, ChangeSummary) else None
            self.written.emit(summary)

        def failed(exc: BaseException) -> None:
            self._put_back(direction)
            self._replay_failed(command, direction, exc)

        self._run(f"{verb} {command.text()}", fn, *args, on_done=done, on_error=failed)

    def _put_back(self, direction: str) -> None:
        """Move the stack's index back over a replay that did not happen."""
        self._restoring = True
        try:
            if direction == UNDO:
                self.stack.redo()
            else:
                self.stack.undo()
        finally:
            self._restoring = False

    def _replay_failed(self, command: EditCommand, direction: str, exc: BaseException) -> None:
        verb = "undo" if direction == UNDO else "redo"
        if isinstance(exc, ConflictError):
            rows = command.conflict(direction, exc) if isinstance(exc, StaleVersionError) else []
            dialog = ConflictDialog(
                self._parent,
                f"Cannot {verb} “{command.text()}”: {exc}",
                rows,
                overwrite_text=f"{verb.capitalize()} anyway",
                reload_text=None,
                cancel_text="Leave it",
            )
            dialog.chosen.connect(lambda choice: self._conflict_chosen(command, direction, choice))
            self.conflict_dialog = dialog
            dialog.open()
            return
        if isinstance(exc, CmdbError):
            QMessageBox.warning(self._parent, f"Cannot {verb}", str(exc))
        else:
            QMessageBox.critical(self._parent, f"Cannot {verb}", f"Unexpected error: {exc}")

    def _conflict_chosen(self, command: EditCommand, direction: str, choice: str) -> None:
        self.conflict_dialog = None
        if choice != OVERWRITE:
            return
        self._force = command
        if direction == UNDO:
            self.stack.undo()
        elif direction == REDO:
            self.stack.redo()
