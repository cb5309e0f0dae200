"""Saved items: named filters, mapping profiles and impact scenarios.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 08:20:51
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("user", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_item")),
    )
    with op.batch_alter_table("saved_item", schema=None) as batch_op:
        batch_op.create_index("ix_saved_item_kind_name", ["kind", "name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("saved_item", schema=None) as batch_op:
        batch_op.drop_index("ix_saved_item_kind_name")
    op.drop_table("saved_item")
