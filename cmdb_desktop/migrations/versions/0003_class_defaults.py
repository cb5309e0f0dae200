"""Per-class default values; status is no longer required (it defaults to In Use).

PRODUCT.md §3 (second release): only name (and, for a new CI, its class) is
required by default; every attribute may carry a per-class default value and
status defaults to In Use. A CMDB created by the first release has the
built-in root class requiring Status: that requirement becomes the default
value instead. Requirements users added themselves are kept.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 20:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROOT = "Configuration Item"


def upgrade() -> None:
    # A plain ADD COLUMN (no table copy: other tables' foreign keys point at ci_class).
    op.add_column("ci_class", sa.Column("defaults", sa.JSON(), nullable=True))
    ci_class = sa.table(
        "ci_class",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("required_fields", sa.JSON),
        sa.column("defaults", sa.JSON),
    )
    conn = op.get_bind()
    row = conn.execute(
        sa.select(ci_class.c.id, ci_class.c.required_fields).where(
            ci_class.c.name == ROOT, ci_class.c.builtin.is_(True)
        )
    ).first()
    if row is None:
        return
    required = row.required_fields
    if isinstance(required, str):
        required = json.loads(required)
    required = [k for k in (required or []) if k != "status"]
    conn.execute(
        sa.update(ci_class)
        .where(ci_class.c.id == row.id)
        .values(required_fields=required, defaults={"status": "In Use"})
    )


def downgrade() -> None:
    op.drop_column("ci_class", "defaults")  # SQLite 3.35+ drops a column in place
