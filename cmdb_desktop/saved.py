"""Named objects users save: filters, mapping profiles, impact scenarios."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cmdb_desktop.errors import NotFoundError, ValidationError
from cmdb_desktop.models import SavedItem, utcnow

if TYPE_CHECKING:
    from cmdb_desktop.cmdb import Cmdb

KINDS = ("filter", "mapping", "scenario")


class SavedItemService:
    def __init__(self, cmdb: Cmdb) -> None:
        self._cmdb = cmdb

    @staticmethod
    def _check(kind: str, name: str) -> str:
        if kind not in KINDS:
            raise ValidationError(f"Unknown kind of saved item {kind!r}.")
        name = name.strip()
        if not name:
            raise ValidationError("A saved item needs a name.", {"name": "required"})
        return name

    def save(self, kind: str, name: str, data: dict[str, Any]) -> None:
        """Create or replace the item ``name`` of ``kind``."""
        name = self._check(kind, name)
        with self._cmdb.write() as s:
            item = s.scalar(select(SavedItem).where(SavedItem.kind == kind, SavedItem.name == name))
            if item is None:
                s.add(
                    SavedItem(
                        kind=kind, name=name, data=data, user=self._cmdb.user, updated_at=utcnow()
                    )
                )
            else:
                item.data = data
                item.user = self._cmdb.user
                item.updated_at = utcnow()

    def load(self, kind: str, name: str) -> dict[str, Any]:
        with self._cmdb.read() as s:
            item = s.scalar(select(SavedItem).where(SavedItem.kind == kind, SavedItem.name == name))
            if item is None:
                raise NotFoundError(f"No saved {kind} named {name!r}.")
            return dict(item.data)

    def names(self, kind: str) -> list[str]:
        with self._cmdb.read() as s:
            return list(
                s.scalars(
                    select(SavedItem.name).where(SavedItem.kind == kind).order_by(SavedItem.name)
                )
            )

    def delete(self, kind: str, name: str) -> None:
        with self._cmdb.write() as s:
            item = s.scalar(select(SavedItem).where(SavedItem.kind == kind, SavedItem.name == name))
            if item is None:
                raise NotFoundError(f"No saved {kind} named {name!r}.")
            s.delete(item)
