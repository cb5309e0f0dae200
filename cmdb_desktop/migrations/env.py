"""Alembic environment: always run on the connection handed in by cmdb_desktop.db."""

from __future__ import annotations

from alembic import context

from cmdb_desktop.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through cmdb_desktop.db.upgrade()")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # The FTS5 virtual table and its shadow tables are managed by hand.
    return not (type_ == "table" and name is not None and name.startswith("ci_fts"))


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
