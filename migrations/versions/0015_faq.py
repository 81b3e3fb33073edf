"""faq: FAQ entries (よくある質問) and the not-understood list (nlu_misses: text and counts, no resident)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 01:33:34
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nlu_misses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('count >= 1', name=op.f('ck_nlu_misses_count')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nlu_misses')),
    sa.UniqueConstraint('text', name=op.f('uq_nlu_misses_text'))
    )
    with op.batch_alter_table('nlu_misses', schema=None) as batch_op:
        batch_op.create_index('ix_nlu_misses_last_seen', ['last_seen'], unique=False)

    op.create_table('faq_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('question', sa.String(length=200), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('examples', sa.JSON(), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published')", name=op.f('ck_faq_entries_status')),
    sa.CheckConstraint('length(answer) <= 1000', name=op.f('ck_faq_entries_answer_length')),
    sa.ForeignKeyConstraint(['created_by'], ['admin_accounts.id'], name=op.f('fk_faq_entries_created_by_admin_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries'))
    )
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_entries_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_entries_status'))

    op.drop_table('faq_entries')
    with op.batch_alter_table('nlu_misses', schema=None) as batch_op:
        batch_op.drop_index('ix_nlu_misses_last_seen')

    op.drop_table('nlu_misses')
