"""places (こどもの居場所) and their hours, events and their occurrences, registrations with capacity and a waitlist

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-25 22:21:36
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registration_slots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('ref_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lock_seq', sa.Integer(), nullable=False),
    sa.Column('open', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('event', 'shift')", name=op.f('ck_registration_slots_kind')),
    sa.CheckConstraint('capacity IS NULL OR capacity >= 0', name=op.f('ck_registration_slots_capacity')),
    sa.CheckConstraint('capacity IS NULL OR confirmed <= capacity', name=op.f('ck_registration_slots_within_capacity')),
    sa.CheckConstraint('confirmed >= 0 AND waiting >= 0', name=op.f('ck_registration_slots_counts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_slots')),
    sa.UniqueConstraint('kind', 'ref_id', name='uq_registration_slots_kind_ref')
    )
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('external_key', sa.String(length=200), nullable=True),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_kana', sa.String(length=200), nullable=True),
    sa.Column('title_en', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('organiser_name', sa.String(length=200), nullable=True),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('place_name', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('address_note', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('access', sa.Text(), nullable=True),
    sa.Column('parking', sa.Text(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('all_day', sa.Boolean(), nullable=False),
    sa.Column('time_note', sa.String(length=500), nullable=True),
    sa.Column('rrule', sa.String(length=500), nullable=True),
    sa.Column('age_min', sa.Integer(), nullable=True),
    sa.Column('age_max', sa.Integer(), nullable=True),
    sa.Column('cost_kind', sa.String(length=12), nullable=False),
    sa.Column('cost_yen', sa.Integer(), nullable=True),
    sa.Column('cost_note', sa.String(length=300), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('registration_required', sa.Boolean(), nullable=False),
    sa.Column('registration_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registration_method', sa.Text(), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phone_ext', sa.String(length=20), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('project', sa.Integer(), nullable=True),
    sa.Column('action', sa.Integer(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('cancel_reason', sa.String(length=300), nullable=True),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.CheckConstraint("cost_kind IN ('free', 'amount', 'per_meal')", name=op.f('ck_events_cost_kind')),
    sa.CheckConstraint("status IN ('draft', 'pending', 'published', 'cancelled')", name=op.f('ck_events_status')),
    sa.CheckConstraint('age_min IS NULL OR age_max IS NULL OR age_min <= age_max', name=op.f('ck_events_ages')),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_events_capacity')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at >= starts_at', name=op.f('ck_events_ends_after_start')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_events_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('external_key', name=op.f('uq_events_external_key'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_events_status_starts', ['status', 'starts_at'], unique=False)

    op.create_table('places',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('external_key', sa.String(length=200), nullable=True),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_kana', sa.String(length=200), nullable=True),
    sa.Column('name_common', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('address_note', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('closed_on_holidays', sa.Boolean(), nullable=False),
    sa.Column('closed_year_end', sa.Boolean(), nullable=False),
    sa.Column('closed_dates', sa.JSON(), nullable=False),
    sa.Column('extra_dates', sa.JSON(), nullable=False),
    sa.Column('hours_note', sa.Text(), nullable=True),
    sa.Column('age_min', sa.Integer(), nullable=True),
    sa.Column('age_max', sa.Integer(), nullable=True),
    sa.Column('cost_kind', sa.String(length=12), nullable=False),
    sa.Column('cost_yen', sa.Integer(), nullable=True),
    sa.Column('cost_note', sa.String(length=300), nullable=True),
    sa.Column('booking_required', sa.Boolean(), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phone_ext', sa.String(length=20), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('accessibility', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('project', sa.Integer(), nullable=True),
    sa.Column('action', sa.Integer(), nullable=True),
    sa.Column('organiser_name', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("cost_kind IN ('free', 'amount', 'per_meal')", name=op.f('ck_places_cost_kind')),
    sa.CheckConstraint("kind IN ('shokudo', 'study', 'hiroba', 'afterschool', 'play', 'other')", name=op.f('ck_places_kind')),
    sa.CheckConstraint("status IN ('draft', 'pending', 'published', 'withdrawn')", name=op.f('ck_places_status')),
    sa.CheckConstraint('age_min IS NULL OR age_max IS NULL OR age_min <= age_max', name=op.f('ck_places_ages')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_places_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_places')),
    sa.UniqueConstraint('external_key', name=op.f('uq_places_external_key'))
    )
    with op.batch_alter_table('places', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_places_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_places_status_district', ['status', 'district'], unique=False)

    op.create_table('registrations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('slot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('offer_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.CheckConstraint("status IN ('confirmed', 'waitlisted', 'offered', 'cancelled', 'attended', 'no_show')", name=op.f('ck_registrations_status')),
    sa.ForeignKeyConstraint(['slot_id'], ['registration_slots.id'], name=op.f('fk_registrations_slot_id_registration_slots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_registrations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations')),
    sa.UniqueConstraint('slot_id', 'user_id', name='uq_registrations_slot_user')
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index('ix_registrations_slot_status_order', ['slot_id', 'status', 'requested_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registrations_user_id'), ['user_id'], unique=False)

    op.create_table('event_occurrences',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('visible', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_occurrences_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_occurrences'))
    )
    with op.batch_alter_table('event_occurrences', schema=None) as batch_op:
        batch_op.create_index('ix_event_occurrences_district_starts', ['district', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_occurrences_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_event_occurrences_starts', ['starts_at'], unique=False)

    op.create_table('place_hours',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('place_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Integer(), nullable=False),
    sa.Column('closes', sa.Integer(), nullable=False),
    sa.Column('weeks', sa.Integer(), nullable=False),
    sa.CheckConstraint('opens >= 0 AND opens < 1440 AND closes > opens AND closes <= 2880', name=op.f('ck_place_hours_minutes')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_place_hours_weekday')),
    sa.CheckConstraint('weeks >= 0 AND weeks < 64', name=op.f('ck_place_hours_weeks')),
    sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_place_hours_place_id_places'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_place_hours'))
    )
    with op.batch_alter_table('place_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_place_hours_place_id'), ['place_id'], unique=False)
        batch_op.create_index('ix_place_hours_weekday', ['weekday', 'place_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('place_hours', schema=None) as batch_op:
        batch_op.drop_index('ix_place_hours_weekday')
        batch_op.drop_index(batch_op.f('ix_place_hours_place_id'))

    op.drop_table('place_hours')
    with op.batch_alter_table('event_occurrences', schema=None) as batch_op:
        batch_op.drop_index('ix_event_occurrences_starts')
        batch_op.drop_index(batch_op.f('ix_event_occurrences_event_id'))
        batch_op.drop_index('ix_event_occurrences_district_starts')

    op.drop_table('event_occurrences')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrations_user_id'))
        batch_op.drop_index('ix_registrations_slot_status_order')

    op.drop_table('registrations')
    with op.batch_alter_table('places', schema=None) as batch_op:
        batch_op.drop_index('ix_places_status_district')
        batch_op.drop_index(batch_op.f('ix_places_organisation_id'))

    op.drop_table('places')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_status_starts')
        batch_op.drop_index(batch_op.f('ix_events_organisation_id'))

    op.drop_table('events')
    op.drop_table('registration_slots')
