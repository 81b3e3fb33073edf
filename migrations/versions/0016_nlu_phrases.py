"""nlu phrases: residents' wordings staff taught the bot from the not-understood list (text -> intent, target)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 02:05:36
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nlu_phrases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('intent', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nlu_phrases')),
    sa.UniqueConstraint('text', name=op.f('uq_nlu_phrases_text')),
    sqlite_autoincrement=True  # ids never reused: bot/faq.py's cache compares (count, max id)
    )


def downgrade() -> None:
    op.drop_table('nlu_phrases')
