"""Configuration items and relationships."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cmdb_desktop.models.base import Base, utcnow


class ConfigurationItem(Base):
    """One CI. Common and asset fields are columns; custom attributes are JSON.

    ``version`` is the optimistic-locking counter: every update increments it
    and an update that names an older version is refused.
    """

    __tablename__ = "ci"
    __table_args__ = (
        Index("ix_ci_class_name", "class_id", "name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("ci_class.id"))
    name: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str | None] = mapped_column(String(32), index=True)
    environment: Mapped[str | None] = mapped_column(String(32))
    criticality: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(255))
    support_group: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[str | None] = mapped_column(Text)
    last_verified: Mapped[date | None] = mapped_column(Date)
    redundancy_min_up: Mapped[int | None] = mapped_column(Integer)
    redundancy_min_up_pct: Mapped[float | None] = mapped_column(Float)
    # Hardware asset fields
    asset_tag: Mapped[str | None] = mapped_column(String(100), index=True)
    serial_number: Mapped[str | None] = mapped_column(String(100), index=True)
    manufacturer: Mapped[str | None] = mapped_column(String(255))
    model: Mapped[str | None] = mapped_column(String(255))
    purchase_date: Mapped[date | None] = mapped_column(Date)
    cost: Mapped[float | None] = mapped_column(Float)
    warranty_end: Mapped[date | None] = mapped_column(Date)
    assigned_to: Mapped[str | None] = mapped_column(String(255))
    end_of_life: Mapped[date | None] = mapped_column(Date)
    # Software / Application fields
    software_version: Mapped[str | None] = mapped_column(String(100))
    vendor: Mapped[str | None] = mapped_column(String(255))
    # Custom attributes, keyed by AttributeDef.key
    # None is SQL NULL (not the JSON text 'null'), whichever writer stores it.
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Licence key (schema revision 0006; last, where ADD COLUMN puts it): a column,
    # not custom JSON, because it is an identification key of class Licence.
    licence_key: Mapped[str | None] = mapped_column(String(255))


class Relationship(Base):
    """A typed, directed link between two distinct CIs; (source, type, target) is unique."""

    __tablename__ = "relationship"
    __table_args__ = (
        UniqueConstraint("source_id", "type_id", "target_id", name="uq_relationship_triple"),
        CheckConstraint("source_id <> target_id", name="no_self_loop"),
        Index("ix_relationship_target", "target_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("ci.id", ondelete="CASCADE"))
    type_id: Mapped[int] = mapped_column(ForeignKey("relationship_type.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("ci.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
