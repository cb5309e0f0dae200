"""Worker jobs of the change-management workspace: plain functions over the
core's :class:`~cmdb_desktop.change_mgmt.records.ChangeService` (never on the
GUI thread)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cmdb_desktop.change_mgmt.records import Assessment, ChangeService, ChangeView
from cmdb_desktop.cmdb import Cmdb
from cmdb_desktop.history import Source
from ui.jobs import JobState
from ui.jobs_analysis import load_scenario


@dataclass(frozen=True)
class WindowSpan:
    name: str
    kind: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ChangeBoard:
    """What the workspace shows: every change assessed, and the windows' occurrences
    from a week before the first change to a week after the last (a year at most)."""

    assessments: list[Assessment]
    windows: list[WindowSpan]


def _service(cmdb: Cmdb) -> ChangeService:
    return ChangeService(cmdb, Source.gui())


def load_board(state: JobState, cmdb: Cmdb) -> ChangeBoard:
    service = _service(cmdb)
    views = service.changes()
    found = service.assess([v.id for v in views], state.progress) if views else {}
    spans: list[WindowSpan] = []
    if views:
        lo = min(v.start for v in views) - timedelta(days=7)
        hi = min(max(v.end for v in views) + timedelta(days=7), lo + timedelta(days=366))
        for rule, _scope in service.windows():
            state.progress.check()
            spans += [WindowSpan(rule.name, rule.kind, s, e) for s, e in rule.between(lo, hi)]
    return ChangeBoard([found[v.id] for v in views], spans)


def add_change(
    state: JobState,
    cmdb: Cmdb,
    title: str,
    start: datetime,
    end: datetime,
    cis: Sequence[int],
    kind: str = "Normal",
) -> ChangeView:
    return _service(cmdb).add(title, start, end, cis, kind=kind)


def draft_from_scenario(
    state: JobState, cmdb: Cmdb, name: str, start: datetime, end: datetime
) -> ChangeView:
    """A saved impact scenario becomes a Draft change with its CIs."""
    scenario = load_scenario(state, cmdb, name)
    return _service(cmdb).add(name, start, end, [c.id for c in scenario.cis])


def update_change(
    state: JobState, cmdb: Cmdb, change_id: int, fields: Mapping[str, str | None], version: int
) -> ChangeView:
    return _service(cmdb).update(change_id, fields, if_version=version)


def reschedule(
    state: JobState, cmdb: Cmdb, change_id: int, start: datetime, end: datetime, version: int
) -> ChangeView:
    return _service(cmdb).reschedule(change_id, start, end, if_version=version)


def edit_cis(
    state: JobState,
    cmdb: Cmdb,
    change_id: int,
    add: Sequence[int],
    remove: Sequence[int],
    version: int,
) -> ChangeView:
    return _service(cmdb).edit_cis(change_id, add=add, remove=remove, if_version=version)


def move_change(
    state: JobState, cmdb: Cmdb, change_id: int, target: str, note: str | None, version: int
) -> ChangeView:
    return _service(cmdb).move(change_id, target, note=note, if_version=version)


def approve_change(
    state: JobState, cmdb: Cmdb, change_id: int, decision: str, note: str | None, version: int
) -> ChangeView:
    return _service(cmdb).approve(change_id, decision, note=note, if_version=version)


def write_pack(state: JobState, cmdb: Cmdb, change_id: int, path: str) -> Path:
    from importers.change_board import write_board_pack

    return write_board_pack(_service(cmdb), change_id, path, state.progress)
