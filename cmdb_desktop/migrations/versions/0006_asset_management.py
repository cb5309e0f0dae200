"""Asset management (PRODUCT.md §10): lifecycle rules per class, people, custody,
stock thresholds; the asset attributes, class Licence and the relationship types
Covers and Installed on in a CMDB created before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmdb_desktop import catalogue

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ci_class", sa.Column("lifecycle", sa.JSON(), nullable=True))
    op.add_column("ci", sa.Column("licence_key", sa.String(length=255), nullable=True))
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("department", sa.String(length=255), nullable=True),
        sa.Column("employee_id", sa.String(length=100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("employee_id", name=op.f("uq_person_employee_id")),
    )
    op.create_index(op.f("ix_person_name"), "person", ["name"], unique=False)
    op.create_table(
        "custody",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ci_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("checked_out", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("checked_in", sa.Date(), nullable=True),
        sa.Column("user", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["ci_id"], ["ci.id"], name=op.f("fk_custody_ci_id_ci"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_custody_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody")),
    )
    op.create_index("ix_custody_open", "custody", ["ci_id", "checked_in"], unique=False)
    op.create_index(op.f("ix_custody_person_id"), "custody", ["person_id"], unique=False)
    op.create_table(
        "stock_threshold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_threshold")),
        sa.UniqueConstraint("model", name=op.f("uq_stock_threshold_model")),
    )
    _seed_existing()


def _seed_existing() -> None:
    """A CMDB with a catalogue gets §10's defaults (a new one is seeded whole later)."""
    conn = op.get_bind()
    ci_class = sa.table(
        "ci_class",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("parent_id", sa.Integer),
        sa.column("abstract", sa.Boolean),
        sa.column("service", sa.Boolean),
        sa.column("icon", sa.String),
        sa.column("description", sa.Text),
        sa.column("required_fields", sa.JSON),
        sa.column("recommended_fields", sa.JSON),
        sa.column("expects_relationships", sa.Boolean),
        sa.column("builtin", sa.Boolean),
        sa.column("lifecycle", sa.JSON),
        sa.column("id_rules", sa.JSON),
        sa.column("identity_scope", sa.String),
    )
    attribute_def = sa.table(
        "attribute_def",
        sa.column("class_id", sa.Integer),
        sa.column("key", sa.String),
        sa.column("label", sa.String),
        sa.column("type", sa.String),
        sa.column("column", sa.String),
        sa.column("choices", sa.JSON),
        sa.column("min_value", sa.Float),
        sa.column("max_value", sa.Float),
        sa.column("position", sa.Integer),
        sa.column("description", sa.Text),
        sa.column("builtin", sa.Boolean),
    )
    rel_type = sa.table(
        "relationship_type",
        sa.column("name", sa.String),
        sa.column("reverse_name", sa.String),
        sa.column("impact", sa.String),
        sa.column("description", sa.Text),
        sa.column("builtin", sa.Boolean),
    )
    classes = {r.name: r.id for r in conn.execute(sa.select(ci_class.c.id, ci_class.c.name))}
    root = classes.get(catalogue.ROOT_CLASS)
    if root is None:
        return
    conn.execute(
        sa.update(ci_class)
        .where(ci_class.c.id == root)
        .values(lifecycle=catalogue.DEFAULT_LIFECYCLE)
    )

    def add_attributes(class_id: int, specs: list[catalogue.AttributeSpec]) -> None:
        have = set(
            conn.execute(sa.select(attribute_def.c.key).where(attribute_def.c.class_id == class_id))
            .scalars()
            .all()
        )
        pos = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(attribute_def.c.position), -1)).where(
                attribute_def.c.class_id == class_id
            )
        ).scalar_one()
        for spec in specs:
            if spec.key in have:
                continue
            pos += 1
            conn.execute(
                sa.insert(attribute_def).values(
                    class_id=class_id,
                    key=spec.key,
                    label=spec.label,
                    type=spec.type,
                    column=spec.column,
                    choices=spec.choices,
                    min_value=spec.min_value,
                    max_value=spec.max_value,
                    position=pos,
                    description=spec.description,
                    builtin=True,
                )
            )

    hardware = classes.get(catalogue.HARDWARE_CLASS)
    if hardware is not None:
        add_attributes(hardware, catalogue.HARDWARE_ATTRIBUTES)
    if catalogue.LICENCE_CLASS not in classes:
        spec = next(c for c in catalogue.DEFAULT_CLASSES if c.name == catalogue.LICENCE_CLASS)
        conn.execute(
            sa.insert(ci_class).values(
                name=spec.name,
                parent_id=root,
                abstract=False,
                service=False,
                icon=spec.icon,
                description=spec.description,
                required_fields=[],
                recommended_fields=list(spec.recommended),
                expects_relationships=spec.expects_relationships,
                id_rules=spec.id_rules,
                identity_scope=spec.identity_scope,
                builtin=True,
            )
        )
        licence = conn.execute(
            sa.select(ci_class.c.id).where(ci_class.c.name == spec.name)
        ).scalar_one()
        add_attributes(licence, spec.attributes)
    taken = {
        n for r in conn.execute(sa.select(rel_type.c.name, rel_type.c.reverse_name)) for n in r
    }
    for rt in catalogue.ASSET_RELATIONSHIP_TYPES:
        if rt.name in taken or rt.reverse_name in taken:
            continue
        conn.execute(
            sa.insert(rel_type).values(
                name=rt.name,
                reverse_name=rt.reverse_name,
                impact=str(rt.impact),
                description=rt.description,
                builtin=True,
            )
        )


def downgrade() -> None:
    op.drop_table("stock_threshold")
    op.drop_index(op.f("ix_custody_person_id"), table_name="custody")
    op.drop_index("ix_custody_open", table_name="custody")
    op.drop_table("custody")
    op.drop_index(op.f("ix_person_name"), table_name="person")
    op.drop_table("person")
    op.drop_column("ci_class", "lifecycle")
    op.drop_column("ci", "licence_key")
