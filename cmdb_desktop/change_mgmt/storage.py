"""The SQL of change management: changes, windows and the CIs a scope covers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from cmdb_desktop.graph import fetch_ci_rows
from cmdb_desktop.models import Change, ChangeWindow, SavedItem, ci_table

#: ``saved_item`` kind and name of the change-management settings.
SETTINGS_KIND = "settings"
SETTINGS_NAME = "change_management"


def get_change(s: Session, change_id: int) -> Change | None:
    return s.get(Change, change_id)


def load_changes(
    s: Session,
    *,
    ids: Sequence[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    states: Sequence[str] | None = None,
) -> list[Change]:
    """Changes by start, then id; ``start``/``end`` keep those whose window meets
    [start, end) (half-open)."""
    stmt = select(Change).order_by(Change.start, Change.id)
    if ids is not None:
        stmt = stmt.where(Change.id.in_(list(ids)))
    if start is not None:
        stmt = stmt.where(Change.end > start)
    if end is not None:
        stmt = stmt.where(Change.start < end)
    if states:
        stmt = stmt.where(Change.state.in_(list(states)))
    return list(s.scalars(stmt))


def load_windows(s: Session) -> list[ChangeWindow]:
    return list(s.scalars(select(ChangeWindow).order_by(ChangeWindow.name)))


def window_named(s: Session, name: str) -> ChangeWindow | None:
    return s.scalars(select(ChangeWindow).where(ChangeWindow.name == name)).first()


def ci_rows(s: Session, ids: Sequence[int]) -> dict[int, Any]:
    """``id → (id, name, class_id, status, criticality)`` of the CIs that exist."""
    return {int(r[0]): r for r in fetch_ci_rows(s, list(ids))}


def cis_of_classes(s: Session, class_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(class_ids))
    if not wanted:
        return set()
    return {int(i) for i in s.scalars(select(ci_table.c.id).where(ci_table.c.class_id.in_(wanted)))}


def located_in(s: Session, locations: Iterable[int]) -> set[int]:
    """The locations and every CI *Located in* them, transitively."""
    roots = sorted(set(locations))
    if not roots:
        return set()
    rows = s.execute(
        text(
            "WITH RECURSIVE inside(id) AS ("
            " SELECT id FROM ci WHERE id IN :roots"
            " UNION"
            " SELECT r.source_id FROM relationship r"
            " JOIN relationship_type t ON t.id = r.type_id AND t.name = 'Located in'"
            " JOIN inside i ON r.target_id = i.id"
            ") SELECT id FROM inside"
        ).bindparams(bindparam("roots", expanding=True)),
        {"roots": roots},
    )
    return {int(r[0]) for r in rows}


def settings(s: Session) -> dict[str, Any]:
    row = s.scalars(
        select(SavedItem).where(SavedItem.kind == SETTINGS_KIND, SavedItem.name == SETTINGS_NAME)
    ).first()
    return dict(row.data) if row is not None else {}


def save_settings(s: Session, data: dict[str, Any], user: str) -> None:
    row = s.scalars(
        select(SavedItem).where(SavedItem.kind == SETTINGS_KIND, SavedItem.name == SETTINGS_NAME)
    ).first()
    if row is None:
        s.add(SavedItem(kind=SETTINGS_KIND, name=SETTINGS_NAME, data=data, user=user))
    else:
        row.data = data
        row.user = user
