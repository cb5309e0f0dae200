"""Conflicts between changes, and between a change and windows (PRODUCT.md §9).

Pure functions over an :class:`~cmdb_desktop.graph.ImpactGraph`: the impact
of a change set is :func:`cmdb_desktop.impact.blast_radius` (§5, redundancy
included), the one rulebook; nothing here re-derives a state.

Windows are half-open, [start, end): a change that ends at 22:00 and one
that starts at 22:00 do not overlap. Against every other *active* change D
whose window overlaps C's:

- ``same-ci``: CIs in both change sets;
- ``overlap``: CIs impacted (down or degraded) by one change that are in the
  other's change set or impacted by it, other than the ``same-ci`` ones;
- ``combined``: CIs down under S_C ∪ S_D, down under neither alone and in
  neither set: redundancy defeated by two changes at once. A CI can only be
  combined if both changes reach it (its state depends on its ancestors
  alone), so the union is computed only for pairs whose reaches meet.

Against windows: ``blackout`` (C's window meets a blackout window whose
scope holds a CI of S_C or a CI down under S_C) and ``outside-maintenance``
(a CI of S_C lies in some maintenance window's scope, and C's window lies
inside none of the windows covering it; one conflict per covering window).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from cmdb_desktop.change_mgmt.windows import BLACKOUT, MAINTENANCE, WindowRule
from cmdb_desktop.graph import ImpactGraph
from cmdb_desktop.impact import blast_radius
from cmdb_desktop.progress import Progress

SAME_CI = "same-ci"
OVERLAP = "overlap"
COMBINED = "combined"
BLACKOUT_CONFLICT = "blackout"
OUTSIDE_MAINTENANCE = "outside-maintenance"
CONFLICT_KINDS = (SAME_CI, OVERLAP, COMBINED, BLACKOUT_CONFLICT, OUTSIDE_MAINTENANCE)

IdArray = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True)
class Planned:
    """A change as the conflict rules see it."""

    id: int
    start: datetime
    end: datetime
    change_set: tuple[int, ...]
    active: bool = True


@dataclass(frozen=True)
class ScopedWindow:
    """A window and the CIs its scope holds (resolved by the caller)."""

    rule: WindowRule
    scope: frozenset[int]

    @property
    def name(self) -> str:
        return self.rule.name


@dataclass(frozen=True)
class Conflict:
    kind: str
    with_change: int | None
    window: str | None
    cis: tuple[int, ...]

    def to_json(self, ref: Any = None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "with": self.with_change,
            "window": self.window,
            "cis": [ref(c) for c in self.cis] if ref is not None else list(self.cis),
        }


@dataclass(frozen=True)
class Impact:
    """One change set's impact as sorted id arrays."""

    change_set: IdArray
    impacted: IdArray  # down or degraded, outside the set
    down: IdArray
    reach: IdArray = field(repr=False)  # set ∪ impacted


def _ids(values: Iterable[int]) -> IdArray:
    return np.array(sorted(set(values)), dtype=np.int64)


def impact_of(graph: ImpactGraph, change_set: Iterable[int]) -> Impact:
    members = _ids(change_set)
    radius = blast_radius(graph, members.tolist())
    impacted = np.sort(radius.ids)
    down = np.sort(radius.ids[radius.down])
    return Impact(members, impacted, down, np.union1d(members, impacted))


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals meet (touching end-to-start does not)."""
    return a_start < b_end and b_start < a_end


class ConflictFinder:
    """The conflicts of any of ``changes`` against the others and ``windows``.

    Impacts are computed once per change set and kept, so asking for every
    change costs one blast radius per change plus one per overlapping pair
    whose reaches meet.
    """

    def __init__(
        self,
        graph: ImpactGraph,
        changes: Sequence[Planned],
        windows: Sequence[ScopedWindow] = (),
        progress: Progress | None = None,
    ) -> None:
        self.graph = graph
        self.changes = {c.id: c for c in changes}
        self.windows = list(windows)
        self.progress = progress or Progress()
        self._active = sorted((c for c in changes if c.active), key=lambda c: (c.start, c.id))
        self._starts = [c.start for c in self._active]
        self._impacts: dict[tuple[int, ...], Impact] = {}

    def impact(self, change_set: Iterable[int]) -> Impact:
        key = tuple(sorted(set(change_set)))
        found = self._impacts.get(key)
        if found is None:
            self.progress.check()
            found = self._impacts[key] = impact_of(self.graph, key)
        return found

    def overlapping(self, change: Planned) -> list[Planned]:
        """Other active changes whose window meets ``change``'s."""
        last = bisect.bisect_left(self._starts, change.end)
        return [d for d in self._active[:last] if d.id != change.id and d.end > change.start]

    def conflicts(self, change: Planned) -> list[Conflict]:
        out: list[Conflict] = []
        mine = self.impact(change.change_set)
        for other in self.overlapping(change):
            out.extend(self._between(change, mine, other))
        out.extend(self._against_windows(change, mine))
        return out

    def _between(self, change: Planned, mine: Impact, other: Planned) -> list[Conflict]:
        theirs = self.impact(other.change_set)
        out: list[Conflict] = []
        same = np.intersect1d(mine.change_set, theirs.change_set)
        if same.size:
            out.append(Conflict(SAME_CI, other.id, None, tuple(same.tolist())))
        hit = np.union1d(
            np.intersect1d(mine.impacted, theirs.reach),
            np.intersect1d(theirs.impacted, mine.change_set),
        )
        hit = np.setdiff1d(hit, same)
        if hit.size:
            out.append(Conflict(OVERLAP, other.id, None, tuple(hit.tolist())))
        if np.intersect1d(mine.reach, theirs.reach).size:
            both = self.impact(tuple(mine.change_set.tolist()) + tuple(theirs.change_set.tolist()))
            combined = np.setdiff1d(both.down, np.union1d(mine.down, theirs.down))
            combined = np.setdiff1d(combined, np.union1d(mine.change_set, theirs.change_set))
            if combined.size:
                out.append(Conflict(COMBINED, other.id, None, tuple(combined.tolist())))
        return out

    def _against_windows(self, change: Planned, mine: Impact) -> list[Conflict]:
        out: list[Conflict] = []
        exposed = set(np.union1d(mine.change_set, mine.down).tolist())
        members = mine.change_set.tolist()
        for w in self.windows:
            if w.rule.kind != BLACKOUT:
                continue
            cis = sorted(exposed & w.scope)
            if cis and w.rule.intersects(change.start, change.end):
                out.append(Conflict(BLACKOUT_CONFLICT, None, w.name, tuple(cis)))
        maintenance = [w for w in self.windows if w.rule.kind == MAINTENANCE]
        holds = {
            w.name: w.rule.contains(change.start, change.end)
            for w in maintenance
            if w.scope.intersection(members)
        }
        for w in maintenance:
            if w.name not in holds:
                continue
            outside = [
                c
                for c in members
                if c in w.scope and not any(holds[v.name] for v in maintenance if c in v.scope)
            ]
            if outside:
                out.append(Conflict(OUTSIDE_MAINTENANCE, None, w.name, tuple(outside)))
        return out
