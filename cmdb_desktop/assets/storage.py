"""Asset management's SQL, in one place (a storage module of tests/test_layout.py).

Whole-table reads use the driver's own cursor (dates come back as ISO text on
SQLite and are parsed by the caller through :func:`cmdb_desktop.schema.field_value`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.orm import Session

from cmdb_desktop.models import Custody, Person, StockThreshold, ci_table, relationship_table

#: The ci columns an asset read returns, in this order.
ASSET_COLUMNS = (
    "id",
    "class_id",
    "name",
    "status",
    "model",
    "manufacturer",
    "asset_tag",
    "serial_number",
    "cost",
    "purchase_date",
    "warranty_end",
    "end_of_life",
    "assigned_to",
    "attributes",
)


def asset_rows(
    s: Session, class_ids: Iterable[int], batch: int = 50_000
) -> Iterator[Sequence[Any]]:
    """Every CI of these classes, as tuples of :data:`ASSET_COLUMNS` (streamed; the
    driver's own rows: on SQLite dates are ISO text and the document JSON text)."""
    ids = sorted({int(i) for i in class_ids})
    if not ids:
        return
    cols = ", ".join(f'"{c}"' for c in ASSET_COLUMNS)
    sql = f"SELECT {cols} FROM ci WHERE class_id IN ({', '.join(map(str, ids))}) ORDER BY id"
    result = s.connection().execution_options(stream_results=True).exec_driver_sql(sql)
    while part := result.fetchmany(batch):
        yield from part


def rows_by_id(s: Session, ids: Iterable[int], chunk: int = 500) -> Iterator[Sequence[Any]]:
    """The CIs with these ids, as tuples of :data:`ASSET_COLUMNS`."""
    wanted = sorted({int(i) for i in ids})
    cols = [ci_table.c[name] for name in ASSET_COLUMNS]
    for n in range(0, len(wanted), chunk):
        part = wanted[n : n + chunk]
        yield from s.execute(select(*cols).where(ci_table.c.id.in_(part)))


def edges(s: Session, type_id: int) -> list[tuple[int, int]]:
    """(source, target) of every relationship of one type."""
    rows = s.execute(
        select(relationship_table.c.source_id, relationship_table.c.target_id).where(
            relationship_table.c.type_id == type_id
        )
    )
    return [(int(a), int(b)) for a, b in rows]


# -- people ---------------------------------------------------------------------
def add_person(s: Session, **fields: Any) -> int:
    result = cast(CursorResult[Any], s.execute(insert(Person).values(**fields)))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def people(s: Session, *, active_only: bool = False) -> list[Person]:
    stmt = select(Person).order_by(func.lower(Person.name), Person.id)
    if active_only:
        stmt = stmt.where(Person.active.is_(True))
    return list(s.scalars(stmt))


def person_by_id(s: Session, person_id: int) -> Person | None:
    return s.get(Person, person_id)


def people_named(s: Session, folded: str) -> list[Person]:
    """People whose name, email or employee id is ``folded`` (lower-cased, stripped)."""
    return list(
        s.scalars(
            select(Person).where(
                (func.lower(func.trim(Person.name)) == folded)
                | (func.lower(func.trim(Person.email)) == folded)
                | (func.lower(func.trim(Person.employee_id)) == folded)
            )
        )
    )


def employee_id_taken(s: Session, employee_id: str) -> bool:
    return s.scalar(select(Person.id).where(Person.employee_id == employee_id)) is not None


# -- custody --------------------------------------------------------------------
def open_custody(s: Session, ci_id: int) -> Custody | None:
    return s.scalar(select(Custody).where(Custody.ci_id == ci_id, Custody.checked_in.is_(None)))


def add_custody(s: Session, **fields: Any) -> int:
    result = cast(CursorResult[Any], s.execute(insert(Custody).values(**fields)))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def close_custody(s: Session, custody_id: int, on: date) -> None:
    s.execute(update(Custody).where(Custody.id == custody_id).values(checked_in=on))


def custody_rows(
    s: Session,
    *,
    ci_id: int | None = None,
    person_id: int | None = None,
    overdue_at: date | None = None,
    open_only: bool = False,
) -> list[tuple[Custody, str, str]]:
    """Custody records with the asset's and the person's names, newest first."""
    stmt = (
        select(Custody, ci_table.c.name, Person.name)
        .join(ci_table, ci_table.c.id == Custody.ci_id)
        .join(Person, Person.id == Custody.person_id)
        .order_by(Custody.checked_out.desc(), Custody.id.desc())
    )
    if ci_id is not None:
        stmt = stmt.where(Custody.ci_id == ci_id)
    if person_id is not None:
        stmt = stmt.where(Custody.person_id == person_id)
    if open_only:
        stmt = stmt.where(Custody.checked_in.is_(None))
    if overdue_at is not None:
        stmt = stmt.where(Custody.checked_in.is_(None), Custody.due < overdue_at)
    return [(c, str(a), str(p)) for c, a, p in s.execute(stmt)]


def assigned_texts(s: Session, class_ids: Iterable[int]) -> list[tuple[int, str, str]]:
    """(id, name, assigned to) of the CIs of these classes with an assignee."""
    rows = s.execute(
        select(ci_table.c.id, ci_table.c.name, ci_table.c.assigned_to).where(
            ci_table.c.class_id.in_(sorted(set(class_ids))),
            ci_table.c.assigned_to.is_not(None),
            ci_table.c.assigned_to != "",
        )
    )
    return [(int(i), str(n), str(a)) for i, n, a in rows]


# -- stock ----------------------------------------------------------------------
def thresholds(s: Session) -> dict[str, int]:
    return {t.model: t.minimum for t in s.scalars(select(StockThreshold))}


def set_threshold(s: Session, model: str, minimum: int | None) -> None:
    row = s.scalar(select(StockThreshold).where(StockThreshold.model == model))
    if minimum is None:
        if row is not None:
            s.delete(row)
        return
    if row is None:
        s.add(StockThreshold(model=model, minimum=minimum))
    else:
        row.minimum = minimum
