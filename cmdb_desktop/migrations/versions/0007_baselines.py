"""Baselines (named moments) and an index on the history's time, for as-of reads.

PRODUCT.md §11: ``baseline add NAME`` names a moment; ``--as-of`` and ``diff``
read the history newer than a moment.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "baseline",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_baseline_name", "baseline", ["name"], unique=True)
    op.create_index("ix_change_record_at", "change_record", ["at"])


def downgrade() -> None:
    op.drop_index("ix_change_record_at", table_name="change_record")
    op.drop_index("ix_baseline_name", table_name="baseline")
    op.drop_table("baseline")
