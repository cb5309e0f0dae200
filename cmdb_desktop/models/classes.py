"""CI classes, their attribute definitions and the relationship types."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cmdb_desktop.models.base import Base


class CiClass(Base):
    """A node of the class tree. Attributes are inherited from the parent.

    ``defaults`` (attribute key → value a new CI gets when none is given)
    merge down the tree, the nearest class winning. ``id_rules`` (ranked
    lists of attribute keys) and ``identity_scope``
    (``"class"``: names are unique within the concrete class; ``"subtree"``:
    the whole subtree below this class is one identity space) are inherited
    from the nearest ancestor that sets them.
    """

    __tablename__ = "ci_class"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ci_class.id"))
    abstract: Mapped[bool] = mapped_column(Boolean, default=False)
    service: Mapped[bool] = mapped_column(Boolean, default=False)
    icon: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    id_rules: Mapped[list[list[str]] | None] = mapped_column(JSON)
    identity_scope: Mapped[str | None] = mapped_column(String(10))
    required_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Default values of attributes for new CIs (attribute key → value as typed),
    #: inherited and overridden down the tree. Added by schema revision 0003.
    defaults: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recommended_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Lifecycle rules ({"transitions": {status: [status…]}, "requires": {status:
    #: [attribute key…]}}), inherited from the nearest class that sets them.
    #: Added by schema revision 0006.
    lifecycle: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    expects_relationships: Mapped[bool] = mapped_column(Boolean, default=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class AttributeDef(Base):
    """A typed attribute of a class (and of its subclasses).

    Built-in attributes live in a column of ``ci`` named by ``column``; custom
    ones live in the CI's ``attributes`` JSON document under ``key``.
    """

    __tablename__ = "attribute_def"
    __table_args__ = (UniqueConstraint("class_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("ci_class.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    column: Mapped[str | None] = mapped_column(String(64))
    choices: Mapped[list[Any] | None] = mapped_column(JSON)
    reference_class_id: Mapped[int | None] = mapped_column(ForeignKey("ci_class.id"))
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class RelationshipType(Base):
    """A kind of relationship, read forward (``name``) or backward (``reverse_name``).

    ``impact`` is the direction impact flows: ``"to_source"`` (a failure of the
    target hits the source: *Depends on*), ``"to_target"`` (*Member of*: a
    member's failure hits the group) or ``"none"``.
    """

    __tablename__ = "relationship_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    reverse_name: Mapped[str] = mapped_column(String(64), unique=True)
    impact: Mapped[str] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
