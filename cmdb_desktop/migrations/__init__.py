"""Alembic migrations.

``SCHEMA_REVISIONS`` lists every revision oldest first so that opening a
current database does not need to import Alembic at all; a test checks it
against Alembic's own script directory.

``SCHEMA_TABLES`` says which tables each revision's schema holds (on SQLite;
PostgreSQL has no ``ci_fts`` tables). A file that older versions of this
program wrote carries no marker of ours, so it is recognised by holding
exactly these tables at the revision it is stamped with; a test checks them
against what the migrations create.
"""

SCHEMA_REVISIONS = ("0001", "0002", "0003", "0005", "0006", "0007")
SCHEMA_HEAD = SCHEMA_REVISIONS[-1]

#: The full-text index (SQLite only): the FTS5 table and its shadow tables.
FTS_TABLES = frozenset({"ci_fts", "ci_fts_config", "ci_fts_data", "ci_fts_docsize", "ci_fts_idx"})

_FIRST_TABLES = frozenset(
    {
        "alembic_version",
        "attribute_def",
        "change_record",
        "ci",
        "ci_class",
        "cmdb_state",
        "import_batch",
        "relationship",
        "relationship_type",
    }
)
SCHEMA_TABLES: dict[str, frozenset[str]] = {
    "0001": _FIRST_TABLES,
    "0002": _FIRST_TABLES | {"saved_item"},
    "0003": _FIRST_TABLES | {"saved_item"},
    "0005": _FIRST_TABLES | {"saved_item", "change", "change_window"},
    "0006": _FIRST_TABLES
    | {"saved_item", "change", "change_window", "person", "custody", "stock_threshold"},
    "0007": _FIRST_TABLES
    | {
        "saved_item",
        "change",
        "change_window",
        "person",
        "custody",
        "stock_threshold",
        "baseline",
    },
}
