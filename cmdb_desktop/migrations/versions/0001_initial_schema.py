"""Initial schema: classes, attributes, CIs, relationships, history, batches.

Besides the tables: the one ``cmdb_state`` row, the triggers that make the
history append-only, and (SQLite only) the FTS5 index over CI text fields.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 08:20:31
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_HISTORY_GUARD = [
    """CREATE TRIGGER change_record_no_update BEFORE UPDATE ON change_record
       BEGIN SELECT RAISE(ABORT, 'history is append-only: change records cannot be updated');
       END""",
    """CREATE TRIGGER change_record_no_delete BEFORE DELETE ON change_record
       BEGIN SELECT RAISE(ABORT, 'history is append-only: change records cannot be deleted');
       END""",
]

POSTGRES_HISTORY_GUARD = [
    """CREATE FUNCTION change_record_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'history is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER change_record_append_only BEFORE UPDATE OR DELETE ON change_record
       FOR EACH ROW EXECUTE FUNCTION change_record_append_only()""",
]

_FTS_COLUMNS = (
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
_cols = ", ".join(_FTS_COLUMNS)
_new = ", ".join(f"new.{c}" for c in _FTS_COLUMNS)
_old = ", ".join(f"old.{c}" for c in _FTS_COLUMNS)

# External-content FTS5 index over the text fields people search; triggers
# keep it in step with ``ci`` inside the writing transaction.
SQLITE_FTS = [
    f"""CREATE VIRTUAL TABLE ci_fts USING fts5({_cols}, content='ci', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2", prefix='2 3')""",
    f"""CREATE TRIGGER ci_fts_ai AFTER INSERT ON ci BEGIN
        INSERT INTO ci_fts(rowid, {_cols}) VALUES (new.id, {_new}); END""",
    f"""CREATE TRIGGER ci_fts_ad AFTER DELETE ON ci BEGIN
        INSERT INTO ci_fts(ci_fts, rowid, {_cols}) VALUES ('delete', old.id, {_old}); END""",
    f"""CREATE TRIGGER ci_fts_au AFTER UPDATE OF {_cols} ON ci BEGIN
        INSERT INTO ci_fts(ci_fts, rowid, {_cols}) VALUES ('delete', old.id, {_old});
        INSERT INTO ci_fts(rowid, {_cols}) VALUES (new.id, {_new}); END""",
]


def upgrade() -> None:
    op.create_table(
        "change_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("sheet", sa.String(length=100), nullable=True),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("ci_id", sa.Integer(), nullable=True),
        sa.Column("ci_class", sa.String(length=100), nullable=True),
        sa.Column("ci_name", sa.String(length=255), nullable=True),
        sa.Column("related_ci_id", sa.Integer(), nullable=True),
        sa.Column("relationship_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_record")),
    )
    with op.batch_alter_table("change_record", schema=None) as batch_op:
        batch_op.create_index("ix_change_record_batch", ["batch_id"], unique=False)
        batch_op.create_index("ix_change_record_ci", ["ci_id"], unique=False)
        batch_op.create_index("ix_change_record_related", ["related_ci_id"], unique=False)

    op.create_table(
        "ci_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("abstract", sa.Boolean(), nullable=False),
        sa.Column("service", sa.Boolean(), nullable=False),
        sa.Column("icon", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id_rules", sa.JSON(), nullable=True),
        sa.Column("identity_scope", sa.String(length=10), nullable=True),
        sa.Column("required_fields", sa.JSON(), nullable=False),
        sa.Column("recommended_fields", sa.JSON(), nullable=False),
        sa.Column("expects_relationships", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["ci_class.id"], name=op.f("fk_ci_class_parent_id_ci_class")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci_class")),
        sa.UniqueConstraint("name", name=op.f("uq_ci_class_name")),
    )
    op.create_table(
        "cmdb_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("graph_generation", sa.Integer(), nullable=False),
        sa.Column("data_generation", sa.Integer(), nullable=False),
        sa.Column("catalogue_generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cmdb_state")),
    )
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("sheets", sa.JSON(), nullable=True),
        sa.Column("mapping", sa.JSON(), nullable=True),
        sa.Column("user", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rolled_back_at", sa.DateTime(), nullable=True),
        sa.Column("rolled_back_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    op.create_table(
        "relationship_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("reverse_name", sa.String(length=64), nullable=False),
        sa.Column("impact", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relationship_type")),
        sa.UniqueConstraint("name", name=op.f("uq_relationship_type_name")),
        sa.UniqueConstraint("reverse_name", name=op.f("uq_relationship_type_reverse_name")),
    )
    op.create_table(
        "attribute_def",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("column", sa.String(length=64), nullable=True),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.Column("reference_class_id", sa.Integer(), nullable=True),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["ci_class.id"], name=op.f("fk_attribute_def_class_id_ci_class")
        ),
        sa.ForeignKeyConstraint(
            ["reference_class_id"],
            ["ci_class.id"],
            name=op.f("fk_attribute_def_reference_class_id_ci_class"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute_def")),
        sa.UniqueConstraint("class_id", "key", name=op.f("uq_attribute_def_class_id")),
    )
    with op.batch_alter_table("attribute_def", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attribute_def_class_id"), ["class_id"], unique=False)

    op.create_table(
        "ci",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("environment", sa.String(length=32), nullable=True),
        sa.Column("criticality", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("support_group", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("last_verified", sa.Date(), nullable=True),
        sa.Column("redundancy_min_up", sa.Integer(), nullable=True),
        sa.Column("redundancy_min_up_pct", sa.Float(), nullable=True),
        sa.Column("asset_tag", sa.String(length=100), nullable=True),
        sa.Column("serial_number", sa.String(length=100), nullable=True),
        sa.Column("manufacturer", sa.String(length=255), nullable=True),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("purchase_date", sa.Date(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("warranty_end", sa.Date(), nullable=True),
        sa.Column("assigned_to", sa.String(length=255), nullable=True),
        sa.Column("end_of_life", sa.Date(), nullable=True),
        sa.Column("software_version", sa.String(length=100), nullable=True),
        sa.Column("vendor", sa.String(length=255), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["ci_class.id"], name=op.f("fk_ci_class_id_ci_class")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ci")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("ci", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ci_asset_tag"), ["asset_tag"], unique=False)
        batch_op.create_index("ix_ci_class_name", ["class_id", "name"], unique=False)
        batch_op.create_index(batch_op.f("ix_ci_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_ci_serial_number"), ["serial_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_ci_status"), ["status"], unique=False)

    op.create_table(
        "relationship",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("source_id <> target_id", name=op.f("ck_relationship_no_self_loop")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_relationship_batch_id_import_batch")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["ci.id"], name=op.f("fk_relationship_source_id_ci"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["ci.id"], name=op.f("fk_relationship_target_id_ci"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["relationship_type.id"],
            name=op.f("fk_relationship_type_id_relationship_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relationship")),
        sa.UniqueConstraint("source_id", "type_id", "target_id", name="uq_relationship_triple"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.create_index("ix_relationship_target", ["target_id"], unique=False)

    op.execute(
        "INSERT INTO cmdb_state (id, graph_generation, data_generation, "
        "catalogue_generation) VALUES (1, 0, 0, 0)"
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for sql in SQLITE_HISTORY_GUARD + SQLITE_FTS:
            op.execute(sql)
    elif dialect == "postgresql":
        for sql in POSTGRES_HISTORY_GUARD:
            op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in (
            "ci_fts_ai",
            "ci_fts_ad",
            "ci_fts_au",
            "change_record_no_update",
            "change_record_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS ci_fts")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS change_record_append_only ON change_record")
        op.execute("DROP FUNCTION IF EXISTS change_record_append_only()")
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.drop_index("ix_relationship_target")

    op.drop_table("relationship")
    with op.batch_alter_table("ci", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ci_status"))
        batch_op.drop_index(batch_op.f("ix_ci_serial_number"))
        batch_op.drop_index(batch_op.f("ix_ci_name"))
        batch_op.drop_index("ix_ci_class_name")
        batch_op.drop_index(batch_op.f("ix_ci_asset_tag"))

    op.drop_table("ci")
    with op.batch_alter_table("attribute_def", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attribute_def_class_id"))

    op.drop_table("attribute_def")
    op.drop_table("relationship_type")
    op.drop_table("import_batch")
    op.drop_table("cmdb_state")
    op.drop_table("ci_class")
    with op.batch_alter_table("change_record", schema=None) as batch_op:
        batch_op.drop_index("ix_change_record_related")
        batch_op.drop_index("ix_change_record_ci")
        batch_op.drop_index("ix_change_record_batch")

    op.drop_table("change_record")
