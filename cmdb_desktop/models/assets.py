"""Asset management's own tables (PRODUCT.md §10): people, custody, stock thresholds.

Added by schema revision 0006.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cmdb_desktop.models.base import Base, utcnow


class Person(Base):
    """Someone assets are checked out to. ``name`` is what ``Assigned To`` holds."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))
    employee_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Custody(Base):
    """One check-out of an asset to a person; ``checked_in`` is None while it is out."""

    __tablename__ = "custody"
    __table_args__ = (Index("ix_custody_open", "ci_id", "checked_in"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ci_id: Mapped[int] = mapped_column(ForeignKey("ci.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    location: Mapped[str | None] = mapped_column(String(255))
    checked_out: Mapped[date] = mapped_column(Date)
    due: Mapped[date | None] = mapped_column(Date)
    checked_in: Mapped[date | None] = mapped_column(Date)
    user: Mapped[str] = mapped_column(String(100))


class StockThreshold(Base):
    """Reorder threshold of a model: alert when fewer are In Stock."""

    __tablename__ = "stock_threshold"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(255), unique=True)
    minimum: Mapped[int] = mapped_column(Integer)
