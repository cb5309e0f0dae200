"""The few SQL expressions that differ between SQLite and PostgreSQL.

Everything else in the core is portable SQLAlchemy; keep dialect checks here
(and the search backends in :mod:`cmdb_desktop.search`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, func


def json_text(column: Any, key: str, dialect: str) -> Any:
    """The text of ``column[key]`` for a JSON document column."""
    if dialect == "postgresql":
        return column.op("->>")(key)
    return cast(func.json_extract(column, f'$."{key}"'), String)
