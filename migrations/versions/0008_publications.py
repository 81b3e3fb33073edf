"""publications and their recipients (the fan-out of pushes)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(120), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("topic", sa.String(16), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("frequencies", sa.JSON(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", BigId, sa.ForeignKey("outbox_messages.id", ondelete="SET NULL",
                                                     name="fk_publications_message_id_outbox_messages"),
                  nullable=True),
        sa.Column("expanded_to", BigId, nullable=False),
        sa.Column("skipped_deleted", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),  # report counts once the recipient rows are pruned
        sa.PrimaryKeyConstraint("id", name="pk_publications"),
        sa.UniqueConstraint("ref", name="uq_publications_ref"),
    )
    op.create_index("ix_publications_status_not_before", "publications", ["status", "not_before"])
    op.create_table(
        "publication_recipients",
        sa.Column("publication_id", BigId, sa.ForeignKey("publications.id", ondelete="CASCADE",
                                                         name="fk_publication_recipients_publication_id_publications"),
                  nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE",
                                                  name="fk_publication_recipients_user_id_users"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delayed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batch_id", BigId, nullable=True),  # outbox_batches.id; no foreign key (see the model)
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("publication_id", "user_id", name="pk_publication_recipients"),
        postgresql_with={"fillfactor": 70},  # room for HOT updates: every row changes state twice
    )
    op.create_index("ix_publication_recipients_user_id", "publication_recipients", ["user_id"])
    # The daily cap's count per resident and Tokyo day (one primary-key row read per recipient).
    op.create_table(
        "push_counts",
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE",
                                                  name="fk_push_counts_user_id_users"), nullable=False),
        sa.Column("jst_day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "jst_day", name="pk_push_counts"),
    )


def downgrade() -> None:
    op.drop_table("push_counts")
    op.drop_index("ix_publication_recipients_user_id", table_name="publication_recipients")
    op.drop_table("publication_recipients")
    op.drop_index("ix_publications_status_not_before", table_name="publications")
    op.drop_table("publications")
