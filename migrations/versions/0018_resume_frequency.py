"""preferences.resume_frequency: the frequency a resident had before 通知を停止, which 通知を再開 restores

Stopping set the frequency to off and kept nothing else, so resuming always started again at すぐに, even for a
resident who had chosen 週1回のまとめ. Rows stopped before this revision have none kept and resume at すぐに.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("preferences", sa.Column("resume_frequency", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("resume_frequency")
