"""Sign-ups with capacity and a waitlist: the one mechanism behind event registration (step 7) and
volunteer shifts (step 8). Tables and the deletion hook: models/registrations.py.

Every change to a slot's registrations starts with `_lock`: an UPDATE of the slot row that returns its
counters. PostgreSQL holds that row lock until the transaction ends, so concurrent sign-ups for one slot
queue there and each decides on counters no other transaction can change meanwhile; SQLite has one writer
at a time anyway. The CHECK `confirmed <= capacity` and UNIQUE (slot, resident) back this up in the schema.

Promotion: when a place frees (a cancellation, a larger capacity), the first waitlisted registration in
arrival order (`requested_at`, then id) is confirmed in the same transaction, and the feature that owns the
slot's kind is told through the notifier it registered (`on_promoted`), which queues its push.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.clock import system_clock, utc
from models.registrations import (ATTENDED, CANCELLED, CONFIRMED, HOLDING, NO_SHOW, OFFERED, WAITLISTED, Registration,
                                  RegistrationSlot)

ACTIVE = (CONFIRMED, WAITLISTED, OFFERED)  # what a resident still has (not cancelled, not yet happened)

Notifier = Callable[[Session, Registration, RegistrationSlot, datetime], None]
_NOTIFIERS: dict[str, Notifier] = {}
_ON_CANCELLED: dict[str, Notifier] = {}
# The module that registers each kind's notifiers, imported before they are needed, so that every process
# (the web app, `kyodo privacy delete-user`, the scheduler) tells residents the same things.
FEATURE_MODULES = {"event": "bot.event_notices", "shift": "bot.volunteer_notices"}


@dataclass
class Outcome:
    """What happened. status: confirmed, waitlisted, already_confirmed, already_waitlisted, closed, not_open,
    past, not_found, cancelled, already_cancelled, capacity_set, below_confirmed."""

    status: str
    registration: Registration | None = None
    position: int | None = None  # place on the waitlist (1 = next), or the confirmed count for below_confirmed
    promoted: list[Registration] = field(default_factory=list)
    moved: list[Registration] = field(default_factory=list)  # set_capacity(overflow="waitlist"): sent back


@dataclass(frozen=True)
class OfferRule:
    """Promotions this close to the start ask the resident first (status OFFERED): they have `answer_in` to
    accept (never past the start), else the place passes to the next in line (`expire_offers`)."""

    within: timedelta
    answer_in: timedelta


_OFFER_RULES: dict[str, OfferRule] = {}


def offer_when_close(kind: str, *, within: timedelta, answer_in: timedelta) -> None:
    _OFFER_RULES[kind] = OfferRule(within, answer_in)


class SlotError(ValueError):
    """slot_for could not apply a capacity (below the confirmed count)."""


def on_promoted(kind: str, fn: Notifier) -> None:
    """The feature owning `kind` ("event", "shift") queues its own "a place is yours" message here."""
    _NOTIFIERS[kind] = fn


def on_cancelled(kind: str, fn: Notifier) -> None:
    """... and undoes what a cancelled registration no longer needs (a queued reminder) here, whoever
    cancelled: the resident, an organiser, or the deletion of the resident's data."""
    _ON_CANCELLED[kind] = fn


def _hook(table: dict[str, Notifier], kind: str) -> Notifier | None:
    if kind not in table and kind in FEATURE_MODULES:
        importlib.import_module(FEATURE_MODULES[kind])
    return table.get(kind)


def _now(now: datetime | None) -> datetime:
    return utc(now) if now is not None else system_clock()


def _lock(db: Session, slot_id: int):
    """Lock the slot row for this transaction; its counters and dates as of the lock (None: no such slot)."""
    row = db.execute(update(RegistrationSlot).where(RegistrationSlot.id == slot_id)
                     .values(lock_seq=RegistrationSlot.lock_seq + 1)
                     .returning(RegistrationSlot.kind, RegistrationSlot.capacity, RegistrationSlot.confirmed,
                                RegistrationSlot.waiting, RegistrationSlot.open, RegistrationSlot.opens_at,
                                RegistrationSlot.closes_at, RegistrationSlot.starts_at)
                     .execution_options(synchronize_session=False)).one_or_none()
    _forget_slot(db, slot_id)
    return row


def _forget_slot(db: Session, slot_id: int) -> None:
    """Counters change by UPDATE, not through the ORM: a loaded slot object must be read again."""
    obj = db.identity_map.get(db.identity_key(RegistrationSlot, slot_id))  # type: ignore[arg-type]
    if obj is not None:
        db.expire(obj)


def _count(db: Session, slot_id: int, *, confirmed: int = 0, waiting: int = 0) -> None:
    values = {}
    if confirmed:
        values["confirmed"] = RegistrationSlot.confirmed + confirmed
    if waiting:
        values["waiting"] = RegistrationSlot.waiting + waiting
    db.execute(update(RegistrationSlot).where(RegistrationSlot.id == slot_id).values(**values)
               .execution_options(synchronize_session=False))
    _forget_slot(db, slot_id)


def _set(reg: Registration, status: str, now: datetime) -> None:
    reg.status = status
    reg.changed_at = now
    reg.history = [*(reg.history or []), [status, now.isoformat()]]  # a new list: JSON columns track assignment


def _first_waiting(slot_id: int):
    """The slot's waitlist in arrival order."""
    return select(Registration).where(Registration.slot_id == slot_id, Registration.status == WAITLISTED) \
        .order_by(Registration.requested_at, Registration.id)


def slot_for(db: Session, kind: str, ref_id: int, *, capacity: int | None, starts_at: datetime,
             ends_at: datetime | None = None, closes_at: datetime | None = None,
             opens_at: datetime | None = None, now: datetime | None = None) -> RegistrationSlot:
    """The slot of (kind, ref_id), created or updated. A capacity below the confirmed count raises
    SlotError (use set_capacity with overflow="waitlist" to move people instead)."""
    # Stored as UTC: SQLite keeps a Tokyo-aware value as its naive wall time, which would read back 9 h off.
    starts_at, ends_at, closes_at, opens_at = (utc(d) if d is not None else None
                                               for d in (starts_at, ends_at, closes_at, opens_at))
    slot = find_slot(db, kind, ref_id)
    if slot is None:
        slot = RegistrationSlot(kind=kind, ref_id=ref_id, capacity=capacity, confirmed=0, waiting=0, lock_seq=0,
                                open=True, starts_at=starts_at, ends_at=ends_at, closes_at=closes_at,
                                opens_at=opens_at)
        db.add(slot)
        db.flush()
        return slot
    slot.starts_at, slot.ends_at, slot.closes_at, slot.opens_at = starts_at, ends_at, closes_at, opens_at
    db.flush()
    if capacity != slot.capacity:
        out = set_capacity(db, slot.id, capacity, now=now)
        if out.status == "below_confirmed":
            raise SlotError(f"capacity {capacity} below {out.position} confirmed")
    db.refresh(slot)
    return slot


def find_slot(db: Session, kind: str, ref_id: int) -> RegistrationSlot | None:
    return db.scalar(select(RegistrationSlot).where(RegistrationSlot.kind == kind, RegistrationSlot.ref_id == ref_id))


def register(db: Session, slot_id: int, user_id: int, *, now: datetime,
             requested_at: datetime | None = None) -> Outcome:
    """Confirm the resident if a place is free and nobody waits, else put them on the waitlist."""
    now = _now(now)
    row = _lock(db, slot_id)
    if row is None:
        return Outcome("not_found")
    existing = db.scalar(select(Registration).where(Registration.slot_id == slot_id,
                                                    Registration.user_id == user_id)
                         .execution_options(populate_existing=True))
    if existing is not None and existing.status in HOLDING:
        return Outcome("already_confirmed", existing)
    if existing is not None and existing.status == WAITLISTED:
        return Outcome("already_waitlisted", existing, waitlist_position(db, existing))
    if not row.open:
        return Outcome("closed")
    if now >= utc(row.starts_at):
        return Outcome("past")
    if row.closes_at is not None and now > utc(row.closes_at):
        return Outcome("closed")
    if row.opens_at is not None and now < utc(row.opens_at):
        return Outcome("not_open")
    free = row.capacity is None or (row.confirmed < row.capacity and row.waiting == 0)
    status = CONFIRMED if free else WAITLISTED
    # Arrival: when the resident asked (the webhook event's time), never later than now.
    asked = min(utc(requested_at), now) if requested_at is not None else now
    history = [[status, now.isoformat()]]
    if existing is not None:
        # Came back after cancelling: a new row (a new id, so a new place in line even at the same
        # instant), carrying the old row's history.
        history = [*(existing.history or []), *history]
        db.delete(existing)
        db.flush()
    reg = Registration(slot_id=slot_id, user_id=user_id, status=status, requested_at=asked, created_at=now,
                       changed_at=now, history=history)
    db.add(reg)
    _count(db, slot_id, confirmed=1 if free else 0, waiting=0 if free else 1)
    db.flush()
    return Outcome(status, reg, None if free else waitlist_position(db, reg))


def cancel(db: Session, registration_id: int, *, now: datetime | None, reason: str = "resident") -> Outcome:
    """Cancel one registration; a place it held goes to the first on the waitlist (before the start)."""
    now = _now(now)
    reg = db.get(Registration, registration_id)
    if reg is None:
        return Outcome("not_found")
    row = _lock(db, reg.slot_id)
    db.refresh(reg)  # as of the lock
    if reg.status == CANCELLED:
        return Outcome("already_cancelled", reg)
    was = reg.status
    _set(reg, CANCELLED, now)
    reg.offer_expires_at = None
    if was in HOLDING:
        _count(db, reg.slot_id, confirmed=-1)
    elif was == WAITLISTED:
        _count(db, reg.slot_id, waiting=-1)
    db.flush()
    if (undo := _hook(_ON_CANCELLED, row.kind)) is not None:
        undo(db, reg, db.get(RegistrationSlot, reg.slot_id), now)
    promoted = []
    if was in HOLDING and row.open and now < utc(row.starts_at):
        promoted = _promote(db, reg.slot_id, row.kind, now)
    return Outcome("cancelled", reg, promoted=promoted)


def _promote(db: Session, slot_id: int, kind: str, now: datetime) -> list[Registration]:
    """Fill free places from the waitlist in arrival order (the caller holds the slot lock)."""
    promoted = []
    while True:
        slot = db.get(RegistrationSlot, slot_id)
        if slot.capacity is not None and slot.confirmed >= slot.capacity:
            break
        nxt = db.scalars(_first_waiting(slot_id).limit(1)).first()
        if nxt is None:
            break
        rule = _OFFER_RULES.get(kind)
        starts = utc(slot.starts_at)
        if rule is not None and starts - now <= rule.within:
            _set(nxt, OFFERED, now)  # holds the place while they decide
            nxt.offer_expires_at = min(now + rule.answer_in, starts)
        else:
            _set(nxt, CONFIRMED, now)
        _count(db, slot_id, confirmed=1, waiting=-1)
        db.flush()
        promoted.append(nxt)
        notifier = _hook(_NOTIFIERS, kind)
        if notifier is not None:
            notifier(db, nxt, db.get(RegistrationSlot, slot_id), now)
    return promoted


def accept_offer(db: Session, registration_id: int, *, now: datetime) -> Outcome:
    """The resident accepts an offered place in time: confirmed. Too late: "expired" (the place has gone or
    goes to the next in line)."""
    now = _now(now)
    reg = db.get(Registration, registration_id)
    if reg is None:
        return Outcome("not_found")
    _lock(db, reg.slot_id)
    db.refresh(reg)
    if reg.status in (CONFIRMED,):
        return Outcome("already_confirmed", reg)
    if reg.status != OFFERED:
        return Outcome("expired", reg)
    if reg.offer_expires_at is not None and now >= utc(reg.offer_expires_at):
        cancel(db, reg.id, now=now, reason="offer_expired")
        return Outcome("expired", reg)
    _set(reg, CONFIRMED, now)
    reg.offer_expires_at = None
    db.flush()
    return Outcome("confirmed", reg)


def expire_offers(db: Session, *, now: datetime, limit: int = 200) -> list[Outcome]:
    """Offers not accepted in time pass to the next in line (scheduler, every few minutes)."""
    now = _now(now)
    ids = db.scalars(select(Registration.id).where(Registration.status == OFFERED,
                                                   Registration.offer_expires_at <= now)
                     .order_by(Registration.offer_expires_at).limit(limit)).all()
    out = []
    for rid in ids:
        reg = db.get(Registration, rid)
        db.refresh(reg)
        if reg.status == OFFERED:
            out.append(cancel(db, rid, now=now, reason="offer_expired"))
    return out


MARKABLE = (CONFIRMED, ATTENDED, NO_SHOW)  # a place held at the door: attendance may be marked or corrected


def mark_attendance(db: Session, registration_id: int, attended: bool, *, now: datetime) -> str:
    """出席 (attended) or 欠席 (no_show) for one registration that holds a place; the slot's counts do not change
    (both still hold it). Under the slot lock, so a tap and a cancellation are decided one after the other.
    Returns "attended", "no_show", "unchanged", "not_holding" (cancelled, waitlisted, offered) or "not_found"."""
    reg = db.get(Registration, registration_id)
    if reg is None or _lock(db, reg.slot_id) is None:
        return "not_found"
    db.refresh(reg)  # as of the lock: a cancellation that came first wins
    if reg.status not in MARKABLE:
        return "not_holding"
    wanted = ATTENDED if attended else NO_SHOW
    if reg.status == wanted:
        return "unchanged"
    _set(reg, wanted, _now(now))
    db.flush()
    return wanted


def set_capacity(db: Session, slot_id: int, capacity: int | None, *, now: datetime | None,
                 overflow: str = "refuse") -> Outcome:
    """Change a slot's capacity. Below the confirmed count: refused ("below_confirmed", position = the
    confirmed count), or with overflow="waitlist" the latest confirmed go back to the front of the waitlist.
    A larger capacity promotes from the waitlist."""
    now = _now(now)
    row = _lock(db, slot_id)
    if row is None:
        return Outcome("not_found")
    if capacity is not None and capacity < 0:
        raise ValueError("capacity must be >= 0")
    moved: list[Registration] = []
    if capacity is not None and capacity < row.confirmed:
        if overflow != "waitlist":
            return Outcome("below_confirmed", position=row.confirmed)
        last = db.scalars(select(Registration).where(Registration.slot_id == slot_id,
                                                     Registration.status == CONFIRMED)
                          .order_by(Registration.requested_at.desc(), Registration.id.desc())
                          .limit(row.confirmed - capacity)).all()
        if len(last) < row.confirmed - capacity:  # the rest attended / were offered: cannot be moved
            return Outcome("below_confirmed", position=row.confirmed)
        for reg in last:
            _set(reg, WAITLISTED, now)
        _count(db, slot_id, confirmed=-len(last), waiting=len(last))
        moved = last
    db.execute(update(RegistrationSlot).where(RegistrationSlot.id == slot_id).values(capacity=capacity)
               .execution_options(synchronize_session=False))
    _forget_slot(db, slot_id)
    db.flush()
    promoted = _promote(db, slot_id, row.kind, now) if row.open and now < utc(row.starts_at) else []
    return Outcome("capacity_set", promoted=promoted, moved=moved)


def close_slot(db: Session, kind: str, ref_id: int, *, now: datetime | None = None) -> RegistrationSlot | None:
    """No more sign-ups (the event was cancelled); the rows stay, so the residents can be told."""
    slot = find_slot(db, kind, ref_id)
    if slot is None:
        return None
    _lock(db, slot.id)
    db.execute(update(RegistrationSlot).where(RegistrationSlot.id == slot.id).values(open=False)
               .execution_options(synchronize_session=False))
    _forget_slot(db, slot.id)
    return slot


def waitlist_position(db: Session, reg: Registration) -> int | None:
    if reg.status != WAITLISTED:
        return None
    ahead = db.scalar(select(func.count()).select_from(Registration).where(
        Registration.slot_id == reg.slot_id, Registration.status == WAITLISTED,
        or_(Registration.requested_at < reg.requested_at,
            and_(Registration.requested_at == reg.requested_at, Registration.id < reg.id))))
    return int(ahead or 0) + 1


def registrations_of(db: Session, user_id: int, *, kinds: tuple[str, ...] = ("event", "shift"),
                     upcoming_after: datetime | None = None) -> list[tuple[Registration, RegistrationSlot]]:
    """The resident's live registrations (confirmed, offered, waitlisted), soonest first."""
    stmt = (select(Registration, RegistrationSlot).join(RegistrationSlot, RegistrationSlot.id == Registration.slot_id)
            .where(Registration.user_id == user_id, Registration.status.in_(ACTIVE), RegistrationSlot.kind.in_(kinds)))
    if upcoming_after is not None:
        stmt = stmt.where(func.coalesce(RegistrationSlot.ends_at, RegistrationSlot.starts_at) >= upcoming_after)
    return [(r, s) for r, s in db.execute(stmt.order_by(RegistrationSlot.starts_at, Registration.id))]


def roster(db: Session, slot_id: int) -> list[Registration]:
    """Everyone holding a place (in arrival order), then the waitlist in order; cancelled rows left out."""
    rows = db.scalars(select(Registration).where(Registration.slot_id == slot_id, Registration.status != CANCELLED)
                      .order_by(Registration.requested_at, Registration.id)).all()
    return [r for r in rows if r.status in HOLDING] + [r for r in rows if r.status == WAITLISTED]
