"""bot/registrations.py, the one sign-up mechanism (events now, volunteer shifts in step 8): capacity never
exceeded, one registration per resident, waitlist in arrival order, promotion on cancel, capacity changes,
deletion; and concurrency on PostgreSQL with real threads and separate transactions."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import bot.event_notices  # noqa: F401  (each kind's notifiers registered before a test replaces them)
import bot.volunteer_notices  # noqa: F401
from bot import registrations as R
from models.privacy import delete_personal_data
from models.registrations import CANCELLED, CONFIRMED, WAITLISTED, Registration, RegistrationSlot
from models.users import User
from tests.conftest import BACKEND
from tests.fanout_support import NOON, residents


@pytest.fixture
def slot(bot):
    bot.clock.set(NOON)
    with bot.rt.sessions() as db:
        s = R.slot_for(db, "event", 1, capacity=2, starts_at=NOON + timedelta(days=3))
        db.commit()
        return s.id


def _reg(rt, slot_id, uid, at=None):
    with rt.sessions() as db:
        out = R.register(db, slot_id, uid, now=rt.now(), requested_at=at)
        db.commit()
        return out.status, out.position


def _counts(rt, slot_id):
    with rt.sessions() as db:
        s = db.get(RegistrationSlot, slot_id)
        rows = db.execute(select(Registration.status, func.count()).where(Registration.slot_id == slot_id)
                          .group_by(Registration.status)).all()
        return s.confirmed, s.waiting, dict(rows)


def test_capacity_then_waitlist_in_order_and_double_tap(bot, slot):
    people = [uid for uid, _ in residents(bot.rt, 5)]
    got = [_reg(bot.rt, slot, uid) for uid in people]
    assert got == [("confirmed", None), ("confirmed", None), ("waitlisted", 1), ("waitlisted", 2), ("waitlisted", 3)]
    assert _reg(bot.rt, slot, people[0]) == ("already_confirmed", None)
    assert _reg(bot.rt, slot, people[3]) == ("already_waitlisted", 2)
    assert _counts(bot.rt, slot) == (2, 3, {CONFIRMED: 2, WAITLISTED: 3})


def test_waitlist_order_is_arrival_not_processing(bot, slot):
    """Two residents asked at 10:00:01 and 10:00:00 but were processed the other way round."""
    a, b, c, d = [uid for uid, _ in residents(bot.rt, 4)]
    _reg(bot.rt, slot, a)
    _reg(bot.rt, slot, b)
    _reg(bot.rt, slot, c, at=NOON - timedelta(seconds=1))
    _reg(bot.rt, slot, d, at=NOON - timedelta(seconds=2))
    with bot.rt.sessions() as db:
        assert [r.user_id for r in R.roster(db, slot)] == [a, b, d, c]


def test_cancel_promotes_the_first_waiting_and_tells_the_owner(bot, slot, monkeypatch):
    told, undone = [], []
    monkeypatch.setitem(R._NOTIFIERS, "event", lambda db, reg, s, now: told.append((reg.user_id, s.id)))
    monkeypatch.setitem(R._ON_CANCELLED, "event", lambda db, reg, s, now: undone.append(reg.user_id))
    a, b, c, d = [uid for uid, _ in residents(bot.rt, 4)]
    for uid in (a, b, c, d):
        _reg(bot.rt, slot, uid)
    with bot.rt.sessions() as db:
        reg_a = db.scalar(select(Registration).where(Registration.user_id == a))
        out = R.cancel(db, reg_a.id, now=bot.rt.now())
        db.commit()
        assert out.status == "cancelled" and [r.user_id for r in out.promoted] == [c]
        assert R.cancel(db, reg_a.id, now=bot.rt.now()).status == "already_cancelled"
    assert told == [(c, slot)]
    assert _counts(bot.rt, slot) == (2, 1, {CONFIRMED: 2, WAITLISTED: 1, CANCELLED: 1})
    # Coming back after cancelling: at the end of the line, with the history kept.
    assert _reg(bot.rt, slot, a) == ("waitlisted", 2)
    with bot.rt.sessions() as db:
        reg_a = db.scalar(select(Registration).where(Registration.user_id == a))
        assert [h[0] for h in reg_a.history] == [CONFIRMED, CANCELLED, WAITLISTED]
    assert undone == [a]  # the kind's cancel hook ran once (its queued reminder is withdrawn there)


def test_no_promotion_after_the_start_and_no_sign_up_when_closed_or_past(bot, slot):
    a, b, c, d = [uid for uid, _ in residents(bot.rt, 4)]
    for uid in (a, b, c):
        _reg(bot.rt, slot, uid)
    bot.clock.advance(days=3, minutes=1)  # the event has started
    with bot.rt.sessions() as db:
        reg_a = db.scalar(select(Registration).where(Registration.user_id == a))
        assert R.cancel(db, reg_a.id, now=bot.rt.now()).promoted == []
        db.commit()
    assert _reg(bot.rt, slot, d) == ("past", None)
    with bot.rt.sessions() as db:
        R.slot_for(db, "event", 2, capacity=None, starts_at=NOON + timedelta(days=9),
                   closes_at=NOON + timedelta(days=2))
        db.commit()
        s2 = R.find_slot(db, "event", 2).id
    assert _reg(bot.rt, s2, d) == ("closed", None)  # deadline passed (now is day 3)
    with bot.rt.sessions() as db:
        R.close_slot(db, "event", 1, now=bot.rt.now())
        db.commit()
    bot.clock.set(NOON)
    assert _reg(bot.rt, slot, d) == ("closed", None)


def test_capacity_changes(bot, slot):
    a, b, c = [uid for uid, _ in residents(bot.rt, 3)]
    for uid in (a, b, c):
        _reg(bot.rt, slot, uid)
    with bot.rt.sessions() as db:
        out = R.set_capacity(db, slot, 1, now=bot.rt.now())
        assert (out.status, out.position) == ("below_confirmed", 2)
        with pytest.raises(R.SlotError):
            R.slot_for(db, "event", 1, capacity=1, starts_at=NOON + timedelta(days=3))
        db.rollback()
    with bot.rt.sessions() as db:
        out = R.set_capacity(db, slot, 1, now=bot.rt.now(), overflow="waitlist")
        db.commit()
        assert [r.user_id for r in out.moved] == [b]
        assert [r.user_id for r in R.roster(db, slot)] == [a, b, c]  # b waits ahead of c (asked earlier)
    assert _counts(bot.rt, slot)[:2] == (1, 2)
    with bot.rt.sessions() as db:
        out = R.set_capacity(db, slot, 3, now=bot.rt.now())
        db.commit()
        assert [r.user_id for r in out.promoted] == [b, c]
    assert _counts(bot.rt, slot)[:2] == (3, 0)


def test_the_schema_refuses_over_capacity_and_a_second_row(bot, slot):
    from sqlalchemy.exc import IntegrityError

    a, = [uid for uid, _ in residents(bot.rt, 1)]
    with bot.rt.sessions() as db:
        with pytest.raises(IntegrityError):
            db.execute(RegistrationSlot.__table__.update().where(RegistrationSlot.id == slot).values(confirmed=3))
        db.rollback()
        now = bot.rt.now()
        for _ in range(2):
            db.add(Registration(slot_id=slot, user_id=a, status=WAITLISTED, requested_at=now, created_at=now,
                                changed_at=now, history=[]))
        with pytest.raises(IntegrityError):
            db.flush()


def test_deleting_a_resident_frees_their_place(bot):
    # The deletion hook has no test clock: the slot is in the real future.
    from bot.clock import system_clock

    bot.clock._at = None
    with bot.rt.sessions() as db:
        slot = R.slot_for(db, "event", 1, capacity=2, starts_at=system_clock() + timedelta(days=3)).id
        db.commit()
    a, b, c = [uid for uid, _ in residents(bot.rt, 3)]
    for uid in (a, b, c):
        _reg(bot.rt, slot, uid)
    with bot.rt.sessions() as db:
        delete_personal_data(db, db.get(User, a))
        db.commit()
        assert db.scalar(select(func.count()).select_from(Registration).where(Registration.user_id == a)) == 0
        assert [(r.user_id, r.status) for r in R.roster(db, slot)] == [(b, CONFIRMED), (c, CONFIRMED)]
    assert _counts(bot.rt, slot)[:2] == (2, 0)


def _threads(fns):
    errors = []

    def run(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    ts = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors[:3]


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks under real concurrency: PostgreSQL")
def test_concurrent_sign_ups_never_exceed_capacity(bot):
    with bot.rt.sessions() as db:
        sid = R.slot_for(db, "event", 7, capacity=10, starts_at=bot.rt.now() + timedelta(days=1)).id
        db.commit()
    people = [uid for uid, _ in residents(bot.rt, 100)]
    base = bot.rt.now() - timedelta(minutes=1)
    _threads([lambda uid=uid, i=i: _reg(bot.rt, sid, uid, at=base + timedelta(milliseconds=i))
              for i, uid in enumerate(people)] + [lambda uid=people[0]: _reg(bot.rt, sid, uid)])
    confirmed, waiting, by_status = _counts(bot.rt, sid)
    assert (confirmed, waiting) == (10, 90) and by_status == {CONFIRMED: 10, WAITLISTED: 90}
    with bot.rt.sessions() as db:
        waiting_ids = [r.user_id for r in R.roster(db, sid) if r.status == WAITLISTED]
    assert waiting_ids == sorted(waiting_ids, key=people.index)  # arrival order


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks under real concurrency: PostgreSQL")
def test_cancellations_concurrent_with_sign_ups_keep_the_roster_consistent(bot, monkeypatch):
    told = []
    lock = threading.Lock()

    def note(db, reg, s, now):
        with lock:
            told.append(reg.user_id)

    monkeypatch.setitem(R._NOTIFIERS, "shift", note)
    with bot.rt.sessions() as db:
        # Three days ahead: outside the shifts' offer window (bot/volunteer_notices.py), so places are given.
        sid = R.slot_for(db, "shift", 3, capacity=10, starts_at=bot.rt.now() + timedelta(days=3)).id
        db.commit()
    first = [uid for uid, _ in residents(bot.rt, 50)]
    for uid in first:
        _reg(bot.rt, sid, uid)
    with bot.rt.sessions() as db:
        regs = [r.id for r in db.scalars(select(Registration).where(Registration.slot_id == sid))]
    later = [uid for uid, _ in residents(bot.rt, 50)]

    def cancel(rid):
        with bot.rt.sessions() as db:
            R.cancel(db, rid, now=bot.rt.now())
            db.commit()

    _threads([lambda rid=rid: cancel(rid) for rid in regs] + [lambda uid=uid: _reg(bot.rt, sid, uid) for uid in later])
    confirmed, waiting, by_status = _counts(bot.rt, sid)
    assert by_status.get(CANCELLED) == 50
    assert confirmed == by_status.get(CONFIRMED, 0) == 10 and waiting == by_status.get(WAITLISTED, 0) == 40
    assert len(told) == len(set(told))  # every promoted resident told once
    with bot.rt.sessions() as db:
        confirmed_now = {r.user_id for r in R.roster(db, sid) if r.status == CONFIRMED}
        promoted_then_kept = [u for u in told if u in confirmed_now]
        assert promoted_then_kept == [u for u in told if u in confirmed_now]
        rows = R.roster(db, sid)
        waits = [r for r in rows if r.status == WAITLISTED]
        assert waits == sorted(waits, key=lambda r: (r.requested_at, r.id))


def test_close_to_the_start_a_freed_place_is_offered_then_passes_on(bot, monkeypatch):
    told = []
    monkeypatch.setitem(R._NOTIFIERS, "shift", lambda db, reg, s, now: told.append((reg.user_id, reg.status)))
    monkeypatch.setitem(R._OFFER_RULES, "shift", R.OfferRule(within=timedelta(hours=24), answer_in=timedelta(hours=2)))
    bot.clock.set(NOON)
    with bot.rt.sessions() as db:
        sid = R.slot_for(db, "shift", 11, capacity=1, starts_at=NOON + timedelta(hours=10)).id
        db.commit()
    a, b, c = [uid for uid, _ in residents(bot.rt, 3)]
    for uid in (a, b, c):
        _reg(bot.rt, sid, uid)
    with bot.rt.sessions() as db:
        ra = db.scalar(select(Registration).where(Registration.user_id == a))
        R.cancel(db, ra.id, now=bot.rt.now())
        db.commit()
    assert told == [(b, "offered")]
    assert _counts(bot.rt, sid)[:2] == (1, 1)  # the offer holds the place
    bot.clock.advance(hours=2)  # b did not answer
    with bot.rt.sessions() as db:
        assert [o.status for o in R.expire_offers(db, now=bot.rt.now())] == ["cancelled"]
        db.commit()
        rb = db.scalar(select(Registration).where(Registration.user_id == b))
        assert R.accept_offer(db, rb.id, now=bot.rt.now()).status == "expired"
    assert told == [(b, "offered"), (c, "offered")]
    with bot.rt.sessions() as db:
        rc = db.scalar(select(Registration).where(Registration.user_id == c))
        assert R.accept_offer(db, rc.id, now=bot.rt.now()).status == "confirmed"
        db.commit()
    assert _counts(bot.rt, sid) == (1, 0, {CANCELLED: 2, CONFIRMED: 1})
