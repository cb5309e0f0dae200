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

def _diacritics() -> tuple[str, str]:
    """Lower-case Latin letters with a diacritic, and their base letters (``é`` →
    ``e``), as SQLite's FTS5 tokenizer folds them."""
    import unicodedata

    accented, base = [], []
    for code in range(0xC0, 0x250):
        char = chr(code)
        if char != char.lower():
            continue
        decomposed = unicodedata.normalize("NFD", char)
        if len(decomposed) > 1 and decomposed[0].isascii() and decomposed[0].isalpha():
            accented.append(char)
            base.append(decomposed[0])
    return "".join(accented), "".join(base)


_ACCENTED, _BASE = _diacritics()
#: Folds a search word as :data:`PG_SEARCH_TEXT` folds the text (str.translate).
FOLD_DIACRITICS = str.maketrans(_ACCENTED, _BASE)

#: PostgreSQL: the searched text of a CI, one lower-case string without
#: diacritics (translate() is immutable, unaccent() is not). The trigram index of
#: team mode (:func:`pg_search_index_sql`) is built on exactly this expression,
#: so that the search uses it.
PG_SEARCH_TEXT = (
    "translate(lower("
    + " || ' ' || ".join(f"coalesce(ci.{c}, '')" for c in SEARCH_COLUMNS)
    + f"), '{_ACCENTED}', '{_BASE}')"
)


def pg_search_index_sql() -> list[str]:
    """The statements that give PostgreSQL's text search its index (pg_trgm + GIN);
    run by ``cmdb server setup``. Without them the search is the same, only slower."""
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX IF NOT EXISTS ci_search_trgm ON ci USING gin "
        f"(({PG_SEARCH_TEXT}) gin_trgm_ops)",
    ]
