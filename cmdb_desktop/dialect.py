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


#: The text columns of ``ci`` that text search looks in (cmdb_desktop.search).
SEARCH_COLUMNS = (
    "name",
    "serial_number",
    "asset_tag",
    "owner",
    "assigned_to",
    "manufacturer",
    "model",
    "tags",
    "description",
)

#: PostgreSQL: the searched text of a CI, one lower-case string. The trigram
#: index of team mode (:func:`pg_search_index_sql`) is built on exactly this
#: expression, so that the search's LIKE uses it.
PG_SEARCH_TEXT = "lower(" + " || ' ' || ".join(
    f"coalesce(ci.{c}, '')" for c in SEARCH_COLUMNS
) + ")"


def pg_search_index_sql() -> list[str]:
    """The statements that give PostgreSQL's text search its index (pg_trgm + GIN);
    run by ``cmdb server setup``. Without them the search is the same, only slower."""
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX IF NOT EXISTS ci_search_trgm ON ci USING gin "
        f"(({PG_SEARCH_TEXT}) gin_trgm_ops)",
    ]
