"""event failures: bounded attempts for webhook events (placeholder; filled in by the poison-event work)

Revision ID: 0004
Revises: 0003_admin
Create Date: 2026-11-26 09:00:00
"""
from __future__ import annotations

revision = "0004"
down_revision = "0003_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
