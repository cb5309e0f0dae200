"""Undo/redo commands for every edit of CIs and relationships.

A command is pushed *after* its first application succeeded in the worker
(so its first ``redo()`` does nothing). Later ``undo()``/``redo()`` calls ask
the :class:`~ui.editing.Editor` to replay it: each direction is a job from
:mod:`ui.jobs` that goes through the facade (so the history records it, with
source ``undo`` for the way back), with the CI's *expected version* so that a
change someone else made in between is never overwritten silently.

Versions: the editor tracks, per CI, the version our last write left it at
(an update moves it up by exactly one; a create or restore leaves 1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand

from cmdb_desktop.changes import ChangeSummary
from cmdb_desktop.errors import StaleVersionError
from ui import jobs

if TYPE_CHECKING:
    from ui.editing import Editor

UNDO = "undo"
REDO = "redo"

Job = tuple[Callable[..., Any], tuple[Any, ...]]


def field_list(labels: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


class EditCommand(QUndoCommand):
    """Base of the commands. Each subclass defines :meth:`job`, the
    job function and arguments that replay it in that direction (``force``:
    without the version check, after the user chose to overwrite), and may
    override ``applied`` (take the result) and ``conflict`` (rows for the
    conflict dialog)."""

    def __init__(self, editor: Editor, text: str) -> None:
        super().__init__(text)
        self.editor = editor
        self._pushed = False

    def redo(self) -> None:
        if not self._pushed:  # the edit itself already ran before the push
            self._pushed = True
            return
        self.editor.replay(self, REDO)

    def undo(self) -> None:
        self.editor.replay(self, UNDO)

    # -- for subclasses --------------------------------------------------------
    #: ``job(direction, force)``: the job function and arguments that replay the
    #: command in ``direction`` (every subclass defines it as a method).
    job: Callable[[str, bool], Job]

    def applied(self, direction: str, result: Any) -> None:
        """The replay succeeded; update versions and snapshots."""

    def conflict(self, direction: str, error: StaleVersionError) -> list[tuple[str, str, str]]:
        """(field, the value the replay would write, stored value) rows for the dialog."""
        return []


class UpdateCommand(EditCommand):
    """One CI's fields changed; ``before``/``after`` come from the ChangeSummary."""

    def __init__(
        self,
        editor: Editor,
        ci_id: int,
        name: str,
        before: dict[str, Any],
        after: dict[str, Any],
        labels: Mapping[str, str],
    ) -> None:
        shown = [labels.get(k, k) for k in after]
        super().__init__(editor, f"Edit {name} ({field_list(shown)})")
        self.ci_id = ci_id
        self.before = before
        self.after = after
        self.labels = dict(labels)

    def values(self, direction: str) -> dict[str, Any]:
        return self.before if direction == UNDO else self.after

    def job(self, direction: str, force: bool) -> Job:
        expected = None if force else self.editor.versions.get(self.ci_id)
        source = jobs.UNDO if direction == UNDO else jobs.GUI
        return jobs.update_ci, (self.ci_id, self.values(direction), expected, source)

    def applied(self, direction: str, result: ChangeSummary) -> None:
        self.editor.bump_versions([self.ci_id])

    def conflict(self, direction: str, error: StaleVersionError) -> list[tuple[str, str, str]]:
        from ui.views.conflict import conflict_rows

        return conflict_rows(self.editor.meta, error, self.values(direction), self.labels)


class BulkUpdateCommand(EditCommand):
    """Many CIs changed in one transaction (``items.update_many``)."""

    def __init__(
        self,
        editor: Editor,
        text: str,
        before: dict[int, dict[str, Any]],
        after: dict[int, dict[str, Any]],
    ) -> None:
        super().__init__(editor, text)
        self.before = before
        self.after = after

    def job(self, direction: str, force: bool) -> Job:
        changes = self.before if direction == UNDO else self.after
        expected = None if force else self.editor.expected_versions(changes)
        source = jobs.UNDO if direction == UNDO else jobs.GUI
        return jobs.update_many, (changes, expected, source)

    def applied(self, direction: str, result: ChangeSummary) -> None:
        self.editor.bump_versions(result.updated)


class CreateCommand(EditCommand):
    """A CI was created: undo deletes it (keeping a snapshot), redo restores it."""

    def __init__(self, editor: Editor, ci_id: int, class_name: str, name: str) -> None:
        super().__init__(editor, f"Create {class_name} {name}")
        self.ci_id = ci_id
        self.snapshot: dict[str, Any] | None = None

    def job(self, direction: str, force: bool) -> Job:
        if direction == UNDO:
            versions = None if force else self.editor.expected_versions([self.ci_id])
            return jobs.delete_cis, ([self.ci_id], versions)
        assert self.snapshot is not None
        return jobs.restore_cis, ([self.snapshot],)

    def applied(self, direction: str, result: Any) -> None:
        if direction == UNDO:
            self.snapshot = result[0].snapshots[self.ci_id]
            self.editor.forget_versions([self.ci_id])
        else:
            self.editor.set_versions({self.ci_id: 1})


class DeleteCommand(EditCommand):
    """CIs were deleted (with their relationships): undo restores them, ids and all."""

    def __init__(self, editor: Editor, summaries: list[ChangeSummary]) -> None:
        self.snapshots = [s.snapshots[i] for s in summaries for i in s.deleted]
        names = [str(s["name"]) for s in self.snapshots]
        text = f"Delete {names[0]}" if len(names) == 1 else f"Delete {len(names):,} CIs"
        super().__init__(editor, text)
        self.ids = [int(s["id"]) for s in self.snapshots]

    def job(self, direction: str, force: bool) -> Job:
        if direction == UNDO:
            return jobs.restore_cis, (self.snapshots,)
        versions = None if force else self.editor.expected_versions(self.ids)
        return jobs.delete_cis, (self.ids, versions)

    def applied(self, direction: str, result: Any) -> None:
        if direction == UNDO:
            self.editor.set_versions({i: 1 for i in self.ids})
        else:
            self.snapshots = [s.snapshots[i] for s in result for i in s.deleted]
            self.editor.forget_versions(self.ids)


class RelateCommand(EditCommand):
    """``a LABEL b`` was added (``remove=False``) or removed (``remove=True``)."""

    def __init__(
        self, editor: Editor, a: int, label: str, b: int, names: tuple[str, str], *, remove: bool
    ) -> None:
        verb = "Remove" if remove else "Relate"
        super().__init__(editor, f"{verb} {names[0]} {label} {names[1]}")
        self.a, self.label, self.b = a, label, b
        self.remove = remove

    def job(self, direction: str, force: bool) -> Job:
        adding = (direction == REDO) != self.remove
        source = jobs.UNDO if direction == UNDO else jobs.GUI
        fn = jobs.relate if adding else jobs.unrelate
        return fn, (self.a, self.label, self.b, source)
