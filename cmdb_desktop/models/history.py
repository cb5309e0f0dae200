"""History (change log), import batches and the small shared state tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmdb_desktop.models.base import Base, utcnow


class ImportBatch(Base):
    """One applied bulk operation (import, demo, audit stamp) that can be rolled back."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="import")
    file: Mapped[str | None] = mapped_column(Text)
    sheets: Mapped[list[str] | None] = mapped_column(JSON)
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    user: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="applied")
    rolled_back_at: Mapped[datetime | None] = mapped_column(DateTime)
    rolled_back_by: Mapped[str | None] = mapped_column(String(100))


class ChangeRecord(Base):
    """One entry of the append-only history.

    ``entity`` is ``"ci"`` or ``"relationship"``; ``action`` is ``"create"``,
    ``"update"`` or ``"delete"``. A CI update writes one record per field.
    A create or delete writes one record whose value is a JSON snapshot of the
    whole CI (or, for a bulk import, no snapshot but the batch and row it came
    from). Relationship records name the source CI in ``ci_id`` and the target
    in ``related_ci_id``, so both CIs' histories show them. No foreign keys:
    history outlives what it describes. Database triggers refuse UPDATE and
    DELETE on this table.
    """

    __tablename__ = "change_record"
    __table_args__ = (
        Index("ix_change_record_ci", "ci_id"),
        Index("ix_change_record_related", "related_ci_id"),
        Index("ix_change_record_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(36))
    batch_id: Mapped[int | None] = mapped_column(Integer)
    file: Mapped[str | None] = mapped_column(Text)
    sheet: Mapped[str | None] = mapped_column(String(100))
    row: Mapped[int | None] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(8))
    ci_id: Mapped[int | None] = mapped_column(Integer)
    ci_class: Mapped[str | None] = mapped_column(String(100))
    ci_name: Mapped[str | None] = mapped_column(String(255))
    related_ci_id: Mapped[int | None] = mapped_column(Integer)
    relationship_id: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(100))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    #: The change record (PRODUCT.md §9) an ``entity = "change"`` record is about.
    #: Added by schema revision 0005.
    change_id: Mapped[int | None] = mapped_column(Integer, index=True)


class CmdbState(Base):
    """One row of counters other processes can watch.

    ``graph_generation`` moves whenever the impact graph may have changed
    (relationships, statuses, redundancy rules, deletions), so a cached graph
    knows when to reload; ``data_generation`` moves on every write.
    """

    __tablename__ = "cmdb_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    graph_generation: Mapped[int] = mapped_column(Integer, default=0)
    data_generation: Mapped[int] = mapped_column(Integer, default=0)
    catalogue_generation: Mapped[int] = mapped_column(Integer, default=0)


class SavedItem(Base):
    """Named user objects: saved filters, mapping profiles, impact scenarios.

    ``kind`` separates the namespaces; ``data`` is the object as JSON.
    Added by schema revision 0002.
    """

    __tablename__ = "saved_item"
    __table_args__ = (Index("ix_saved_item_kind_name", "kind", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    user: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
