"""Time-travel jobs for the GUI (PRODUCT.md §11), as plain functions (no Qt in here).

The as-of picker opens the CMDB as it was (:func:`open_as_of`: a rewound
private copy, :class:`cmdb_desktop.asof.AsOfView`) and reads the table's first
page in the same job, as opening a CMDB does (:func:`ui.jobs.open_for_browsing`);
the What Changed workspace folds the history between two moments
(:func:`diff`) and writes the same workbook as ``cmdb diff -o``
(:func:`export_diff`). Run by :class:`ui.tasks.TaskRunner`; tests call them
directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cmdb_desktop import asof
from cmdb_desktop.asof import AsOfView, BaselineInfo
from cmdb_desktop.browse import BrowseFilter, BrowseSort
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.metamodel import Metamodel
from ui.jobs import FirstPage, JobState, Opened, first_page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AsOfOpened:
    """The CMDB as it was (``view``; close it when done) and what the window shows
    first of it (``opened``: its read-only ``Cmdb``, the table's first page)."""

    view: AsOfView
    opened: Opened


def baselines(state: JobState, cmdb: Cmdb) -> list[BaselineInfo]:
    """The named moments of ``cmdb``, oldest first."""
    return asof.list_baselines(cmdb)


def add_baseline(state: JobState, cmdb: Cmdb, name: str) -> BaselineInfo:
    """Name this moment (a baseline to view or compare with later)."""
    return asof.add_baseline(cmdb, name)


def open_as_of(
    state: JobState,
    live: Cmdb,
    moment_text: str,
    columns: Callable[[Metamodel], Sequence[str]],
    limit: int,
    prefetch: int,
) -> AsOfOpened:
    """The CMDB as it was at ``moment_text`` (a time or a baseline name), opened
    read-only with its catalogue, and the table's first page of it.

    Cancelling (between copying and rewinding, or after) leaves no copy behind."""
    view = asof.open_as_of(live, moment_text, state.progress)
    try:
        cmdb = view.cmdb
        cmdb.reload_meta()
        _ = cmdb.role  # read here, so that the window greys out without SQL
        state.check()
        generation: int | None = None
        page: FirstPage | None = None
        try:
            generation = cmdb.generations()["data"]
            page = first_page(
                state, cmdb, BrowseFilter(), BrowseSort(), limit, columns(cmdb.meta), prefetch
            )
        except Exception:
            log.debug("reading the first page of the CMDB as it was failed", exc_info=True)
            generation = page = None
        state.check()
    except BaseException:
        view.close()
        raise
    return AsOfOpened(view, Opened(cmdb, generation, page))


def close_as_of(state: JobState, view: AsOfView) -> None:
    """Close the CMDB as it was and remove its copy (after the jobs queued before)."""
    view.close()


#: The groups of net changes, in the order (and with the titles) of the report's sheets:
#: (title, path in the diff document).
GROUPS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("CIs created", ("cis", "created")),
    ("CIs deleted", ("cis", "deleted")),
    ("Fields changed", ("cis", "changed")),
    ("Relationships created", ("relationships", "created")),
    ("Relationships deleted", ("relationships", "deleted")),
)


@dataclass(frozen=True)
class ChangeRow:
    """One net change as the What Changed workspace lists it."""

    #: The CI to show when the row is clicked (a relationship's source).
    ci_id: int | None
    what: str
    class_name: str
    field: str = ""
    old: str = ""
    new: str = ""
    #: The classes the change concerns (a relationship: both ends'), for filtering.
    classes: frozenset[str] = frozenset()

    def texts(self) -> tuple[str, ...]:
        return (self.what, self.class_name, self.field, self.old, self.new)


@dataclass(frozen=True)
class Diff:
    """Net changes between two moments: the ``cmdb diff`` document (what the report
    writes) and its rows in groups (:data:`GROUPS`)."""

    data: dict[str, Any]
    groups: tuple[tuple[str, tuple[ChangeRow, ...]], ...]

    @property
    def total(self) -> int:
        return sum(len(rows) for _title, rows in self.groups)


def diff(state: JobState, cmdb: Cmdb, start: str, end: str | None = None) -> Diff:
    """Net changes between two moments (``end`` None: now), as ``cmdb diff`` gives them,
    in rows for the What Changed workspace."""
    state.progress.start("Reading the history")
    data = asof.diff(cmdb, start, end)
    state.check()
    cis, rels = data["cis"], data["relationships"]
    classes: dict[int, str] = {}
    for ci in (*cis["created"], *cis["deleted"], *(c["ci"] for c in cis["changed"])):
        classes[int(ci["id"])] = str(ci["class"])
    ends = {
        int(i)
        for r in (*rels["created"], *rels["deleted"])
        for i in (r["source_id"], r["target_id"])
        if i is not None and int(i) not in classes
    }
    if ends:  # the ends that still exist; the others are in the lists above
        classes.update({i: ref.class_name for i, ref in cmdb.items.refs(ends).items()})

    def ci_row(ci: dict[str, Any]) -> ChangeRow:
        return ChangeRow(
            int(ci["id"]), str(ci["name"]), str(ci["class"]), classes=frozenset([ci["class"]])
        )

    def changed_row(c: dict[str, Any]) -> ChangeRow:
        ci = c["ci"]
        return ChangeRow(
            int(ci["id"]),
            str(ci["name"]),
            str(ci["class"]),
            str(c["field"]),
            "" if c["old"] is None else str(c["old"]),
            "" if c["new"] is None else str(c["new"]),
            frozenset([ci["class"]]),
        )

    def rel_row(r: dict[str, Any]) -> ChangeRow:
        ids = [int(i) for i in (r["source_id"], r["target_id"]) if i is not None]
        return ChangeRow(
            int(r["source_id"]) if r["source_id"] is not None else None,
            f"{r['source']} {r['type']} {r['target']}",
            "",
            str(r["type"]),
            classes=frozenset(classes[i] for i in ids if i in classes),
        )

    groups = (
        (GROUPS[0][0], tuple(ci_row(c) for c in cis["created"])),
        (GROUPS[1][0], tuple(ci_row(c) for c in cis["deleted"])),
        (GROUPS[2][0], tuple(changed_row(c) for c in cis["changed"])),
        (GROUPS[3][0], tuple(rel_row(r) for r in rels["created"])),
        (GROUPS[4][0], tuple(rel_row(r) for r in rels["deleted"])),
    )
    return Diff(data, groups)


def export_diff(state: JobState, data: dict[str, Any], target: str) -> Path:
    """Write ``data`` (a :func:`diff` result) as the ``cmdb diff -o`` workbook."""
    from importers.diff_report import write_diff_report

    state.progress.start("Writing the report")
    return write_diff_report(data, Path(target))
