"""plan glossary (abbreviations and their glosses); district aliases and the estimated-centre flag

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = ("0002_plan",)  # the districts table; 0002 is a branch of its own off 0001_core

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plan_glossary",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("gloss", sa.String(length=200), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_glossary")),
        sa.UniqueConstraint("term", name=op.f("uq_plan_glossary_term")),
    )
    # Existing rows get an empty alias list and a centre that is not flagged; `kyodo plan load` fills them.
    with op.batch_alter_table("districts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aliases", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("center_estimated", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("districts", schema=None) as batch_op:
        batch_op.drop_column("center_estimated")
        batch_op.drop_column("aliases")
    op.drop_table("plan_glossary")
