"""The CMDB's closed vocabularies as types.

Each is a :class:`~enum.StrEnum`: members compare equal to the strings stored
in the database and printed in JSON, so storage and the command-line contract
stay plain text while the code names every value it uses.
"""

from __future__ import annotations

from enum import StrEnum


class AttrType(StrEnum):
    """The type of an attribute (``attribute_def.type``); one module of
    :mod:`cmdb_desktop.attribute_types` implements each."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    REFERENCE = "reference"


class EditorKind(StrEnum):
    """Which editor a form shows for an attribute type (the GUI maps each to a widget)."""

    LINE = "line"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    CHECK = "check"
    CHOICE = "choice"
    REFERENCE = "reference"


class ImpactFlow(StrEnum):
    """Which way impact flows along a relationship type (``relationship_type.impact``)."""

    TO_SOURCE = "to_source"  # a failure of the target hits the source (Depends on)
    TO_TARGET = "to_target"  # a failure of the source hits the target (Member of)
    NONE = "none"


class BlankRule(StrEnum):
    """What a blank cell of an import column means (``ColumnMap.blank``)."""

    IGNORE = "ignore"  # leaves the CI's value alone
    CLEAR = "clear"  # clears it


class ChangeSource(StrEnum):
    """Where a recorded change came from (``change_record.source``)."""

    GUI = "gui"
    CLI = "cli"
    IMPORT = "import"
    ROLLBACK = "rollback"
    DEMO = "demo"
    API = "api"
    AUDIT = "audit"
    UNDO = "undo"


class Entity(StrEnum):
    """What a history record is about (``change_record.entity``)."""

    CI = "ci"
    RELATIONSHIP = "relationship"
    MODEL = "model"  # the data model: a class, an attribute or a relationship type
    CHANGE = "change"  # a change record of change management (PRODUCT.md §9)


class ModelPart(StrEnum):
    """Which part of the data model a ``model`` history record is about (its ``ci_class``)."""

    CLASS = "class"
    ATTRIBUTE = "attribute"
    RELATIONSHIP_TYPE = "relationship type"


class Action(StrEnum):
    """What happened to it (``change_record.action``)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class BatchKind(StrEnum):
    """What made a batch (``import_batch.kind``)."""

    IMPORT = "import"
    DEMO = "demo"
    AUDIT = "audit"


class BatchStatus(StrEnum):
    APPLIED = "applied"
    ROLLED_BACK = "rolled_back"


#: ``--db profile:NAME`` names a saved connection (:mod:`cmdb_desktop.connections`).
PROFILE_PREFIX = "profile:"
