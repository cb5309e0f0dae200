"""Change management: changes, maintenance and blackout windows, change history.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-04 04:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("change_set", sa.JSON(), nullable=False),
        sa.Column("requester", sa.String(length=100), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change")),
    )
    op.create_index("ix_change_start", "change", ["start"])
    op.create_index("ix_change_state", "change", ["state"])
    op.create_table(
        "change_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=True),
        sa.Column("end", sa.DateTime(), nullable=True),
        sa.Column("rrule", sa.Text(), nullable=True),
        sa.Column("duration_min", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_window")),
        sa.UniqueConstraint("name", name=op.f("uq_change_window_name")),
    )
    # A plain ADD COLUMN: a batch (copy-and-move) would drop the triggers that
    # keep the history append-only.
    op.add_column("change_record", sa.Column("change_id", sa.Integer(), nullable=True))
    op.create_index("ix_change_record_change_id", "change_record", ["change_id"])


def downgrade() -> None:
    op.drop_index("ix_change_record_change_id", table_name="change_record")
    with op.batch_alter_table("change_record", schema=None) as batch_op:
        batch_op.drop_column("change_id")
    op.drop_table("change_window")
    op.drop_index("ix_change_state", table_name="change")
    op.drop_index("ix_change_start", table_name="change")
    op.drop_table("change")
