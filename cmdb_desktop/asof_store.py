"""Storage of time travel (PRODUCT.md §11): the SQL that reads the history by
time, rewinds a private copy of the CMDB, and keeps baselines.

:mod:`cmdb_desktop.asof` decides what to undo; this module only reads and
writes rows. Everything that writes here writes a *copy* (see
:func:`rewind_copy`), except :func:`add_baseline`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from cmdb_desktop.models import (
    AttributeDef,
    Baseline,
    CiClass,
    ImportBatch,
    RelationshipType,
    change_record_table,
    ci_table,
)
from cmdb_desktop.models import relationship_table as rel_table

_CHUNK = 500
_cr = change_record_table.c
_batch = cast(Table, ImportBatch.__table__)
_baseline = cast(Table, Baseline.__table__)
#: The catalogue's tables, in the order a rewind inserts them (classes first).
CATALOGUE_TABLES: tuple[str, ...] = ("ci_class", "attribute_def", "relationship_type")
_catalogue: dict[str, Table] = {
    "ci_class": cast(Table, CiClass.__table__),
    "attribute_def": cast(Table, AttributeDef.__table__),
    "relationship_type": cast(Table, RelationshipType.__table__),
}
#: The columns that must stay unique by themselves (renamed rows step aside first).
_UNIQUE = {"ci_class": ("name",), "relationship_type": ("name", "reverse_name")}


@dataclass(frozen=True)
class Record:
    """One history record, as time travel reads it."""

    id: int
    at: datetime
    request_id: str | None
    entity: str
    action: str
    ci_id: int | None
    ci_class: str | None
    ci_name: str | None
    related_ci_id: int | None
    relationship_id: int | None
    field: str | None
    old_value: str | None
    new_value: str | None


_COLUMNS = (
    _cr.id,
    _cr.at,
    _cr.request_id,
    _cr.entity,
    _cr.action,
    _cr.ci_id,
    _cr.ci_class,
    _cr.ci_name,
    _cr.related_ci_id,
    _cr.relationship_id,
    _cr.field,
    _cr.old_value,
    _cr.new_value,
)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def records_between(
    s: Session, after: datetime | None, until: datetime | None, *, newest_first: bool = False
) -> list[Record]:
    """History records with ``after < at <= until`` (None: unbounded), in id order."""
    stmt = select(*_COLUMNS)
    if after is not None:
        stmt = stmt.where(_cr.at > after)
    if until is not None:
        stmt = stmt.where(_cr.at <= until)
    stmt = stmt.order_by(_cr.id.desc() if newest_first else _cr.id)
    return [Record(*tuple(row)) for row in s.execute(stmt)]


def ci_records_until(s: Session, ci_ids: Sequence[int], until: datetime) -> list[Record]:
    """The CI records (not relationships) of ``ci_ids`` at or before ``until``, in id order."""
    out: list[Record] = []
    for part in _chunks(list(ci_ids)):
        stmt = (
            select(*_COLUMNS)
            .where(_cr.ci_id.in_(part), _cr.entity == "ci", _cr.at <= until)
            .order_by(_cr.id)
        )
        out.extend(Record(*tuple(row)) for row in s.execute(stmt))
    out.sort(key=lambda r: r.id)
    return out


def ci_rows(s: Session, ci_ids: Iterable[int]) -> list[Any]:
    """Whole ``ci`` rows (table order) of the CIs that exist among ``ci_ids``."""
    rows: list[Any] = []
    for part in _chunks(sorted(set(ci_ids))):
        rows.extend(s.execute(select(ci_table).where(ci_table.c.id.in_(part))))
    return rows


def existing_relationships(s: Session, rel_ids: Iterable[int]) -> set[int]:
    found: set[int] = set()
    for part in _chunks(sorted(set(rel_ids))):
        found.update(s.scalars(select(rel_table.c.id).where(rel_table.c.id.in_(part))))
    return found


def last_record_at(s: Session) -> datetime | None:
    found: datetime | None = s.scalar(select(func.max(_cr.at)))
    return found


def has_model_records(s: Session, after: datetime) -> bool:
    """Whether the data model changed after ``after`` (a rewind must undo it)."""
    stmt = select(_cr.id).where(_cr.at > after, _cr.entity == "model").limit(1)
    return s.scalar(stmt) is not None


# -- rewinding a copy -----------------------------------------------------------
def catalogue_rows(s: Session) -> dict[str, dict[int, dict[str, Any]]]:
    """Every row of the catalogue's tables (table → id → column → value; JSON
    columns decoded)."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for name in CATALOGUE_TABLES:
        table = _catalogue[name]
        out[name] = {row["id"]: dict(row) for row in s.execute(select(table)).mappings()}
    return out


def rewind_catalogue(
    s: Session,
    now: dict[str, dict[int, dict[str, Any]]],
    then: dict[str, dict[int, dict[str, Any]]],
) -> None:
    """Turn the catalogue rows ``now`` into ``then`` (both as :func:`catalogue_rows`
    gives them) in the private copy ``s``. Foreign keys are checked at commit, once
    the CIs and relationships are rewound too."""
    s.execute(text("PRAGMA defer_foreign_keys = ON"))
    for name in reversed(CATALOGUE_TABLES):
        table = _catalogue[name]
        gone = sorted(set(now[name]) - set(then[name]))
        for part in _chunks(gone):
            s.execute(delete(table).where(table.c.id.in_(part)))
    for name in CATALOGUE_TABLES:
        table = _catalogue[name]
        changed = [row for i, row in then[name].items() if i in now[name] and now[name][i] != row]
        unique = _UNIQUE.get(name, ())
        for row in changed:  # a renamed row steps aside first: names may swap
            if any(now[name][row["id"]][c] != row[c] for c in unique):
                aside = {c: f"~rewound {row['id']} {c}~" for c in unique}
                s.execute(update(table).where(table.c.id == row["id"]).values(**aside))
        for row in changed:
            values = {k: v for k, v in row.items() if k != "id"}
            s.execute(update(table).where(table.c.id == row["id"]).values(**values))
        new = [row for i, row in then[name].items() if i not in now[name]]
        if new:
            s.execute(insert(table), new)


def rewind_copy(
    s: Session,
    moment: datetime,
    *,
    delete_cis: Sequence[int],
    ci_updates: Sequence[dict[str, Any]],
    ci_inserts: Sequence[dict[str, Any]],
    delete_relationships: Sequence[int],
    relationship_inserts: Sequence[dict[str, Any]],
) -> None:
    """Write the CMDB as of ``moment`` into the (private copy) session ``s``.

    Its history and batches newer than ``moment`` go too, so the copy's own
    history reads as it did then. The history is append-only in a real CMDB
    (triggers); the copy drops those triggers first.
    """
    for part in _chunks(list(delete_relationships)):
        s.execute(delete(rel_table).where(rel_table.c.id.in_(part)))
    for part in _chunks(list(delete_cis)):
        s.execute(
            delete(rel_table).where(
                rel_table.c.source_id.in_(part) | rel_table.c.target_id.in_(part)
            )
        )
        s.execute(delete(ci_table).where(ci_table.c.id.in_(part)))
    for row in ci_updates:
        values = {k: v for k, v in row.items() if k != "id"}
        s.execute(update(ci_table).where(ci_table.c.id == row["id"]).values(**values))
    if ci_inserts:  # one statement for many rows: every row names the same columns
        keys = sorted({k for row in ci_inserts for k in row})
        s.execute(insert(ci_table), [{k: row.get(k) for k in keys} for row in ci_inserts])
    if relationship_inserts:
        s.execute(insert(rel_table), list(relationship_inserts))
    for name in ("change_record_no_update", "change_record_no_delete"):
        s.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    s.execute(delete(change_record_table).where(_cr.at > moment))
    batch = _batch.c
    s.execute(delete(_batch).where(batch.created_at > moment))
    s.execute(
        update(_batch)
        .where(batch.rolled_back_at > moment)
        .values(status="applied", rolled_back_at=None, rolled_back_by=None)
    )
    s.execute(delete(_baseline).where(_baseline.c.at > moment))


def drop_orphans(s: Session, classes: Sequence[int], types: Sequence[int]) -> None:
    """Last step of rewinding a copy's catalogue: CIs still of a class that did not
    exist then, and relationships still of a type that did not, go (none when the
    history is complete; a safety net for deletions recorded without a definition)."""
    for part in _chunks(list(types)):
        s.execute(delete(rel_table).where(rel_table.c.type_id.in_(part)))
    for part in _chunks(list(classes)):
        gone = select(ci_table.c.id).where(ci_table.c.class_id.in_(part)).scalar_subquery()
        s.execute(
            delete(rel_table).where(
                rel_table.c.source_id.in_(gone) | rel_table.c.target_id.in_(gone)
            )
        )
        s.execute(delete(ci_table).where(ci_table.c.class_id.in_(part)))


# -- baselines ------------------------------------------------------------------
def add_baseline(s: Session, name: str, at: datetime, user: str) -> None:
    s.execute(insert(_baseline).values(name=name, at=at, user=user, created_at=at))


def baseline_at(s: Session, name: str) -> tuple[str, datetime] | None:
    c = _baseline.c
    row = s.execute(select(c.name, c.at).where(func.lower(c.name) == name.strip().lower())).first()
    return (row.name, row.at) if row is not None else None


def baselines(s: Session) -> list[tuple[str, datetime, str]]:
    c = _baseline.c
    return [(r.name, r.at, r.user) for r in s.execute(select(c.name, c.at, c.user).order_by(c.at))]
