"""partial index of pending webhook events, so the worker's claim walks only those, in arrival order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_events_pending", ["id"], unique=False,
                              postgresql_where=_PENDING, sqlite_where=_PENDING)


def downgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_pending", postgresql_where=_PENDING, sqlite_where=_PENDING)
