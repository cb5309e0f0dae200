"""SQLAlchemy models (typed declarative). Import from here."""

from typing import cast

from sqlalchemy import Table

from cmdb_desktop.models.assets import Custody, Person, StockThreshold
from cmdb_desktop.models.base import Base, utcnow
from cmdb_desktop.models.change_mgmt import Change, ChangeWindow
from cmdb_desktop.models.classes import AttributeDef, CiClass, RelationshipType
from cmdb_desktop.models.history import ChangeRecord, CmdbState, ImportBatch, SavedItem
from cmdb_desktop.models.items import ConfigurationItem, Relationship
from cmdb_desktop.models.timetravel import Baseline

# Core-level tables for bulk statements (typed as Table for mypy).
ci_table = cast(Table, ConfigurationItem.__table__)
relationship_table = cast(Table, Relationship.__table__)
change_record_table = cast(Table, ChangeRecord.__table__)

__all__ = [
    "change_record_table",
    "ci_table",
    "relationship_table",
    "AttributeDef",
    "Baseline",
    "Base",
    "Change",
    "ChangeRecord",
    "ChangeWindow",
    "CiClass",
    "CmdbState",
    "ConfigurationItem",
    "Custody",
    "Person",
    "StockThreshold",
    "ImportBatch",
    "Relationship",
    "RelationshipType",
    "SavedItem",
    "utcnow",
]
