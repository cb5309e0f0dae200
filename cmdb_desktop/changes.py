"""What a write changed, so each front end can refresh just what it shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChangeSummary:
    """The effect of one committed operation.

    ``before`` / ``after`` hold, per updated CI, the changed fields' old and new
    values (attribute keys, plus ``"class"`` and ``"name"``), enough for an undo.
    ``snapshots`` holds, per deleted CI, its full record and relationships.
    """

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    relationships_created: list[int] = field(default_factory=list)
    relationships_deleted: list[int] = field(default_factory=list)
    before: dict[int, dict[str, Any]] = field(default_factory=dict)
    after: dict[int, dict[str, Any]] = field(default_factory=dict)
    snapshots: dict[int, dict[str, Any]] = field(default_factory=dict)
    graph_changed: bool = False
    catalogue_changed: bool = False
    batch_id: int | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.created
            or self.updated
            or self.deleted
            or self.relationships_created
            or self.relationships_deleted
            or self.catalogue_changed
        )

    @property
    def touched_ci_ids(self) -> set[int]:
        return set(self.created) | set(self.updated) | set(self.deleted)

    def merge(self, other: ChangeSummary) -> ChangeSummary:
        self.created.extend(other.created)
        self.updated.extend(i for i in other.updated if i not in self.updated)
        self.deleted.extend(other.deleted)
        self.relationships_created.extend(other.relationships_created)
        self.relationships_deleted.extend(other.relationships_deleted)
        for ci_id, vals in other.before.items():
            merged = dict(vals)
            merged.update(self.before.get(ci_id, {}))
            self.before[ci_id] = merged
        for ci_id, vals in other.after.items():
            self.after.setdefault(ci_id, {}).update(vals)
        self.snapshots.update(other.snapshots)
        self.graph_changed |= other.graph_changed
        self.catalogue_changed |= other.catalogue_changed
        self.batch_id = other.batch_id or self.batch_id
        return self
