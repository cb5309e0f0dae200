"""Recording and reading the change history.

Every service write goes through a :class:`HistoryRecorder` bound to the same
session, so the change and its history commit (or roll back) together.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from cmdb_desktop.models import ChangeRecord, utcnow
from cmdb_desktop.values import to_json, to_text

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

SOURCE_KINDS = ("gui", "cli", "import", "rollback", "demo", "api", "audit", "undo")


def current_user() -> str:
    """The OS user name (who), never failing."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return os.environ.get("USER") or os.environ.get("USERNAME") or f"uid{os.getuid()}"


@dataclass(frozen=True)
class Source:
    """Where a change comes from: the front end, and for imports the batch, file and row."""

    kind: str = "api"
    batch_id: int | None = None
    file: str | None = None
    sheet: str | None = None
    row: int | None = None

    def at(self, sheet: str | None, row: int | None) -> Source:
        return replace(self, sheet=sheet, row=row)

    @classmethod
    def cli(cls) -> Source:
        return cls("cli")

    @classmethod
    def gui(cls) -> Source:
        return cls("gui")


def snapshot_text(values: dict[str, Any]) -> str:
    return json.dumps(
        {k: to_json(v) for k, v in values.items() if v is not None},
        ensure_ascii=False,
        sort_keys=True,
    )


class HistoryRecorder:
    """Collects change records for one transaction and writes them in one statement."""

    def __init__(self, session: Session, user: str, source: Source) -> None:
        self.session = session
        self.user = user
        self.source = source
        self.request_id = str(uuid.uuid4())
        self.at = utcnow()
        self.rows: list[dict[str, Any]] = []

    def _row(self, entity: str, action: str, source: Source | None = None, **kw: Any) -> None:
        src = source or self.source
        row = {
            "at": self.at,
            "user": self.user,
            "source": src.kind,
            "request_id": self.request_id,
            "batch_id": src.batch_id,
            "file": src.file,
            "sheet": src.sheet,
            "row": src.row,
            "entity": entity,
            "action": action,
            "ci_id": None,
            "ci_class": None,
            "ci_name": None,
            "related_ci_id": None,
            "relationship_id": None,
            "field": None,
            "old_value": None,
            "new_value": None,
        }
        row.update(kw)
        self.rows.append(row)

    def ci_created(
        self,
        ci_id: int,
        class_name: str,
        name: str,
        values: dict[str, Any] | None,
        source: Source | None = None,
    ) -> None:
        self._row(
            "ci",
            "create",
            source,
            ci_id=ci_id,
            ci_class=class_name,
            ci_name=name,
            new_value=snapshot_text(values) if values is not None else None,
        )

    def ci_updated(
        self,
        ci_id: int,
        class_name: str,
        name: str,
        field: str,
        old: Any,
        new: Any,
        source: Source | None = None,
    ) -> None:
        self._row(
            "ci",
            "update",
            source,
            ci_id=ci_id,
            ci_class=class_name,
            ci_name=name,
            field=field,
            old_value=to_text(old) if old is not None else None,
            new_value=to_text(new) if new is not None else None,
        )

    def ci_deleted(
        self,
        ci_id: int,
        class_name: str,
        name: str,
        values: dict[str, Any],
        source: Source | None = None,
    ) -> None:
        self._row(
            "ci",
            "delete",
            source,
            ci_id=ci_id,
            ci_class=class_name,
            ci_name=name,
            old_value=snapshot_text(values),
        )

    def relationship(
        self,
        action: str,
        rel_id: int,
        source_ci: tuple[int, str, str],
        type_name: str,
        target_ci: tuple[int, str, str],
        source: Source | None = None,
    ) -> None:
        """``source_ci``/``target_ci`` are (id, class name, CI name)."""
        text = f"{source_ci[2]} {type_name} {target_ci[2]}"
        self._row(
            "relationship",
            action,
            source,
            ci_id=source_ci[0],
            ci_class=source_ci[1],
            ci_name=source_ci[2],
            related_ci_id=target_ci[0],
            relationship_id=rel_id,
            field=type_name,
            old_value=text if action == "delete" else None,
            new_value=text if action == "create" else None,
        )

    def flush(self) -> int:
        n = len(self.rows)
        if self.rows:
            self.session.execute(insert(ChangeRecord), self.rows)
            self.rows = []
        return n


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime
    user: str
    source: str
    batch_id: int | None
    file: str | None
    sheet: str | None
    row: int | None
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
    request_id: str | None

    def describe(self) -> str:
        """One line a person reads: what happened."""
        if self.entity == "relationship":
            verb = "added" if self.action == "create" else "removed"
            return f"relationship {verb}: {self.new_value or self.old_value}"
        if self.action == "create":
            where = ""
            if self.batch_id:
                where = f" (batch {self.batch_id}" + (f", row {self.row})" if self.row else ")")
            return f"created {self.ci_class} {self.ci_name!r}{where}"
        if self.action == "delete":
            return f"deleted {self.ci_class} {self.ci_name!r}"
        old = self.old_value if self.old_value is not None else "∅"
        new = self.new_value if self.new_value is not None else "∅"
        return f"{self.field}: {old} → {new}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": to_json(self.at),
            "user": self.user,
            "source": self.source,
            "batch": self.batch_id,
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "entity": self.entity,
            "action": self.action,
            "ci": self.ci_id,
            "ci_name": self.ci_name,
            "related_ci": self.related_ci_id,
            "relationship": self.relationship_id,
            "field": self.field,
            "old": self.old_value,
            "new": self.new_value,
            "summary": self.describe(),
        }


def _entry(rec: ChangeRecord) -> HistoryEntry:
    return HistoryEntry(
        id=rec.id,
        at=rec.at,
        user=rec.user,
        source=rec.source,
        batch_id=rec.batch_id,
        file=rec.file,
        sheet=rec.sheet,
        row=rec.row,
        entity=rec.entity,
        action=rec.action,
        ci_id=rec.ci_id,
        ci_class=rec.ci_class,
        ci_name=rec.ci_name,
        related_ci_id=rec.related_ci_id,
        relationship_id=rec.relationship_id,
        field=rec.field,
        old_value=rec.old_value,
        new_value=rec.new_value,
        request_id=rec.request_id,
    )


class HistoryService:
    """Reads the history; it has no way to change it."""

    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    def for_ci(self, ci_id: int, *, limit: int | None = None) -> list[HistoryEntry]:
        """Everything that happened to a CI and its relationships, newest first."""
        stmt = (
            select(ChangeRecord)
            .where(or_(ChangeRecord.ci_id == ci_id, ChangeRecord.related_ci_id == ci_id))
            .order_by(ChangeRecord.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def count_for_ci(self, ci_id: int) -> int:
        """How many entries :meth:`for_ci` would return without a limit."""
        stmt = select(func.count()).where(
            or_(ChangeRecord.ci_id == ci_id, ChangeRecord.related_ci_id == ci_id)
        )
        with self._cmdb.read() as s:
            return int(s.scalar(stmt) or 0)

    def for_batch(self, batch_id: int) -> list[HistoryEntry]:
        stmt = (
            select(ChangeRecord).where(ChangeRecord.batch_id == batch_id).order_by(ChangeRecord.id)
        )
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def recent(self, limit: int = 100) -> list[HistoryEntry]:
        stmt = select(ChangeRecord).order_by(ChangeRecord.id.desc()).limit(limit)
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def since(self, record_id: int, ci_ids: Iterable[int] | None = None) -> list[HistoryEntry]:
        """Records newer than ``record_id`` (optionally touching ``ci_ids``), oldest first."""
        stmt = select(ChangeRecord).where(ChangeRecord.id > record_id)
        if ci_ids is not None:
            ids = list(ci_ids)
            stmt = stmt.where(or_(ChangeRecord.ci_id.in_(ids), ChangeRecord.related_ci_id.in_(ids)))
        with self._cmdb.read() as s:
            return [_entry(r) for r in s.scalars(stmt.order_by(ChangeRecord.id))]
