"""Change management (PRODUCT.md §9): changes and maintenance/blackout windows.

Added by schema revision 0005. Times are stored in UTC without tzinfo, like
every timestamp of the CMDB. The change set holds CI ids (a CI deleted later
drops out of it when read); approvals are kept in order as JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cmdb_desktop.models.base import Base, utcnow


class Change(Base):
    """One change record; ``version`` is its optimistic-locking counter."""

    __tablename__ = "change"
    __table_args__ = (Index("ix_change_start", "start"), Index("ix_change_state", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    start: Mapped[datetime] = mapped_column(DateTime)
    end: Mapped[datetime] = mapped_column(DateTime)
    change_set: Mapped[list[int]] = mapped_column(JSON, default=list)
    requester: Mapped[str] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(100))
    #: [{"who", "when", "decision", "note"}] in the order they were given.
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ChangeWindow(Base):
    """A maintenance or blackout window: one interval, or an RRULE + duration.

    ``scope`` is a list of ``{"ci": id}``, ``{"class": name}`` and
    ``{"location": id}`` entries. A recurring window expands in ``timezone``
    (an IANA name; None = the local zone), so 22:00 stays 22:00 across a
    daylight-saving change; ``start`` is then the rule's DTSTART in UTC.
    """

    __tablename__ = "change_window"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    start: Mapped[datetime | None] = mapped_column(DateTime)
    end: Mapped[datetime | None] = mapped_column(DateTime)
    rrule: Mapped[str | None] = mapped_column(Text)
    duration_min: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
