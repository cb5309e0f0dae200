"""The few SQL expressions that differ between SQLite and PostgreSQL.

Everything else in the core is portable SQLAlchemy; keep dialect checks here
(and the search backends in :mod:`cmdb_desktop.search`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, func, text


def json_text(column: Any, key: str, dialect: str) -> Any:
    """The text of ``column[key]`` for a JSON document column."""
    if dialect == "postgresql":
        return column.op("->>")(key)
    return cast(func.json_extract(column, f'$."{key}"'), String)


def sync_id_sequence(session: Any, table: str) -> None:
    """After rows were inserted with explicit ids, move the id generator past them.

    SQLite's AUTOINCREMENT follows on its own; PostgreSQL's sequence does not.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )
