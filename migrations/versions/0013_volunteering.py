"""volunteering: opportunities, shifts, the name residents give, anonymous hours; publications.guard_registration_id

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 23:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = ('0008', '0012')  # publications (0008) gains a column; volunteering follows step 7
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volunteer_opportunities',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('place_name', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('project', sa.Integer(), nullable=True),
    sa.Column('action', sa.Integer(), nullable=True),
    sa.Column('bring', sa.Text(), nullable=True),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('min_age', sa.Integer(), nullable=True),
    sa.Column('accessibility', sa.Text(), nullable=True),
    sa.Column('remind_2h', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('external_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'pending', 'published', 'withdrawn')", name=op.f('ck_volunteer_opportunities_status')),
    sa.CheckConstraint('min_age IS NULL OR (min_age >= 0 AND min_age <= 120)', name=op.f('ck_volunteer_opportunities_min_age')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_volunteer_opportunities_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_opportunities')),
    sa.UniqueConstraint('external_key', name=op.f('uq_volunteer_opportunities_external_key'))
    )
    with op.batch_alter_table('volunteer_opportunities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_opportunities_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_volunteer_opportunities_status_district', ['status', 'district'], unique=False)

    op.create_table('volunteer_profiles',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteer_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_volunteer_profiles'))
    )
    op.create_table('volunteer_anonymous_hours',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('shifts', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['volunteer_opportunities.id'], name=op.f('fk_volunteer_anonymous_hours_opportunity_id_volunteer_opportunities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_volunteer_anonymous_hours_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_anonymous_hours'))
    )
    with op.batch_alter_table('volunteer_anonymous_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_anonymous_hours_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_anonymous_hours_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('volunteer_shifts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('opportunity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('signup_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'cancelled')", name=op.f('ck_volunteer_shifts_status')),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_volunteer_shifts_capacity')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_volunteer_shifts_ends_after_start')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['volunteer_opportunities.id'], name=op.f('fk_volunteer_shifts_opportunity_id_volunteer_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_shifts'))
    )
    with op.batch_alter_table('volunteer_shifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_shifts_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index('ix_volunteer_shifts_starts', ['starts_at'], unique=False)

    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guard_registration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_column('guard_registration_id')

    with op.batch_alter_table('volunteer_shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_shifts_starts')
        batch_op.drop_index(batch_op.f('ix_volunteer_shifts_opportunity_id'))

    op.drop_table('volunteer_shifts')
    with op.batch_alter_table('volunteer_anonymous_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_anonymous_hours_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_anonymous_hours_opportunity_id'))

    op.drop_table('volunteer_anonymous_hours')
    op.drop_table('volunteer_profiles')
    with op.batch_alter_table('volunteer_opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_opportunities_status_district')
        batch_op.drop_index(batch_op.f('ix_volunteer_opportunities_organisation_id'))

    op.drop_table('volunteer_opportunities')
