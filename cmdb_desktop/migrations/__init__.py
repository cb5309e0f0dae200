"""Alembic migrations.

``SCHEMA_REVISIONS`` lists every revision oldest first so that opening a
current database does not need to import Alembic at all; a test checks it
against Alembic's own script directory.
"""

SCHEMA_REVISIONS = ("0001", "0002", "0003")
SCHEMA_HEAD = SCHEMA_REVISIONS[-1]
