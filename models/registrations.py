"""Registrations with capacity and a waitlist: one mechanism for event sign-ups (step 7) and volunteer
shifts (step 8).

A `RegistrationSlot` is one thing people sign up for (kind "event" + the event id, kind "shift" + the
shift id), with its capacity and live counters. A `Registration` is one resident's place in one slot.

The guarantees live in the database, on SQLite and PostgreSQL alike:
- never over capacity: every change to a slot's registrations first locks the slot row (an UPDATE of
  `lock_seq`, which PostgreSQL holds to commit and SQLite takes as its single write lock), then decides from
  the counters it read under that lock; the CHECK `confirmed <= capacity` is the backstop.
- one registration per resident per slot: UNIQUE (slot_id, user_id); cancelling and coming back reuses the row.
- waitlist order = arrival order: `requested_at` is when the resident asked (the webhook event's timestamp),
  ties broken by id, and promotion takes the first waitlisted row in that order.
The logic is bot/registrations.py; this module is the tables and the deletion hook.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, BigId
from models.privacy import deletion_hook

# status
CONFIRMED = "confirmed"
WAITLISTED = "waitlisted"
OFFERED = "offered"      # step 8: promoted close to the start, asked to confirm within a time limit
CANCELLED = "cancelled"
ATTENDED = "attended"    # step 8: checked in at the door
NO_SHOW = "no_show"
STATUSES = (CONFIRMED, WAITLISTED, OFFERED, CANCELLED, ATTENDED, NO_SHOW)
HOLDING = (CONFIRMED, OFFERED, ATTENDED, NO_SHOW)  # statuses that take one of the slot's places
KINDS = ("event", "shift")


class RegistrationSlot(Base):
    __tablename__ = "registration_slots"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_registration_slots_kind_ref"),
        CheckConstraint("kind IN ('event', 'shift')", name="kind"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
        CheckConstraint("confirmed >= 0 AND waiting >= 0", name="counts"),
        CheckConstraint("capacity IS NULL OR confirmed <= capacity", name="within_capacity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    ref_id: Mapped[int] = mapped_column(BigId)
    capacity: Mapped[int | None]  # None = no limit
    confirmed: Mapped[int] = mapped_column(default=0)  # registrations in HOLDING statuses
    waiting: Mapped[int] = mapped_column(default=0)  # registrations WAITLISTED
    opens_at: Mapped[datetime | None]  # sign-up not before (None = now)
    closes_at: Mapped[datetime | None]  # sign-up deadline (None = until starts_at)
    starts_at: Mapped[datetime]  # of the event or shift: reminders and "too late" are measured from it
    ends_at: Mapped[datetime | None]
    # Written by every change: the row lock that serialises registrations of one slot.
    lock_seq: Mapped[int] = mapped_column(default=0)
    open: Mapped[bool] = mapped_column(default=True)  # False when the event or shift is cancelled


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("slot_id", "user_id", name="uq_registrations_slot_user"),
        CheckConstraint("status IN ('confirmed', 'waitlisted', 'offered', 'cancelled', 'attended', 'no_show')",
                        name="status"),
        Index("ix_registrations_slot_status_order", "slot_id", "status", "requested_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slot_id: Mapped[int] = mapped_column(BigId, ForeignKey("registration_slots.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    requested_at: Mapped[datetime]  # arrival: the waitlist's order
    created_at: Mapped[datetime]
    changed_at: Mapped[datetime]
    offer_expires_at: Mapped[datetime | None]  # step 8: an OFFERED place passes on after this
    # Every change as [status, ISO time] (step 8 shows and exports them); small, bounded by the flow.
    history: Mapped[list] = mapped_column(default=list)


@deletion_hook("registrations", order=50)
def delete_registrations(db: Session, user) -> None:
    """Cancel (and so free, promoting the next in line) every place the resident still holds or waits for,
    then delete their rows. Attended and no-show rows of past shifts are deleted without cancelling: the
    slot's counts stay as they were (anonymous), and nobody is promoted into the past."""
    from bot.registrations import cancel  # the mechanism; imported late (bot imports models)

    for reg in db.scalars(select(Registration).where(Registration.user_id == user.id,
                                                     Registration.status.in_((CONFIRMED, WAITLISTED, OFFERED)))):
        cancel(db, reg.id, now=None, reason="deleted")
    db.execute(Registration.__table__.delete().where(Registration.user_id == user.id))
