"""event failures: webhook events may be `skipped` (stored, never processed); the status column says
which of its five states an event is in, and nothing else.

An event that cannot be processed ends `failed` after Config.event_max_attempts claims (the `attempts`
and `error` columns exist since 0001); an event in a shape LINE may send in future is stored `skipped`
with the reason in `error`.

Revision ID: 0004
Revises: 0003_admin
Create Date: 2026-11-26 09:00:00
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003_admin"
branch_labels = None
depends_on = None

STATUSES = ("pending", "processing", "done", "failed", "skipped")


def upgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_check_constraint("status", f"status IN {STATUSES}")


def downgrade() -> None:
    op.execute("UPDATE webhook_events SET status = 'failed' WHERE status = 'skipped'")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_webhook_events_status"), type_="check")
