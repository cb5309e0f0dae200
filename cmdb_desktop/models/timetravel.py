"""Baselines: named moments of the CMDB (PRODUCT.md §11), and the index as-of reads use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cmdb_desktop.models.base import Base, utcnow
from cmdb_desktop.models.history import ChangeRecord


class Baseline(Base):
    """A named moment (``baseline add NAME``); ``diff NAME`` compares it with now.

    Added by schema revision 0007.
    """

    __tablename__ = "baseline"
    __table_args__ = (Index("ix_baseline_name", "name", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


#: As-of reads select the history newer than a moment (revision 0007).
change_record_at_index = Index("ix_change_record_at", ChangeRecord.__table__.c.at)
