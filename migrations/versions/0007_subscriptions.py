"""residents' choices: preferences, subscribed districts / projects / topics

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 20:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _user_fk() -> sa.Column:
    return sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                     sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "preferences", _user_fk(),
        sa.Column("frequency", sa.String(8), nullable=False),
        sa.Column("quiet_start", sa.Integer(), nullable=True),
        sa.Column("quiet_end", sa.Integer(), nullable=True),
        sa.Column("topics_chosen", sa.Boolean(), nullable=False),
        sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    for table, column, type_ in (("subscribed_districts", "district", sa.String(32)),
                                 ("subscribed_projects", "project", sa.Integer()),
                                 ("subscribed_topics", "topic", sa.String(16))):
        op.create_table(table, _user_fk(), sa.Column(column, type_, primary_key=True))
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in (("subscribed_topics", "topic"), ("subscribed_projects", "project"),
                          ("subscribed_districts", "district")):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
        op.drop_table(table)
    op.drop_table("preferences")
