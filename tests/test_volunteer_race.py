"""The shift sign-up race over real HTTP (signed webhooks, posted concurrently and out of order):
200 residents (40 on SQLite, one writer at a time) tap 申し込む for a shift with 10 places → exactly 10
confirmed, the rest waitlisted in tap order; a double tap gives one sign-up; and cancellations concurrent with
sign-ups leave a consistent roster (confirmed = capacity, counters right, everyone earlier in line promoted
first) where every promoted resident is told once."""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot import registrations as R
from bot.clock import utc
from emulator import webhooks
from models.registrations import Registration
from tests.conftest import BACKEND
from tests.events_support import deliver
from tests.helpers import issue_reply_tokens, post_events
from tests.volunteer_support import add_opportunity, add_shift, pushes, residents

CAPACITY = 10
RESIDENTS = 200 if BACKEND == "postgresql" else 40
PAIRS = 50 if BACKEND == "postgresql" else 20  # cancellations and sign-ups at once


def tap(user: str, data: str, token: str, ts_ms: int) -> dict:
    ev = webhooks.postback_event(user, data, token)
    ev["timestamp"] = ts_ms
    return ev


def post_all(bot, bodies: list[list[dict]]) -> None:
    random.Random(17).shuffle(bodies)
    with ThreadPoolExecutor(max_workers=32) as pool:
        assert list(pool.map(lambda evs: post_events(bot.url, evs), bodies)) == [200] * len(bodies)
    bot.settle(timeout=240)


def new_shift(bot, capacity: int) -> int:
    now = datetime.now(timezone.utc)
    with bot.rt.sessions() as db:
        sid = add_shift(db, add_opportunity(db, now, "駅前の清掃"), now, now + timedelta(days=7),
                        capacity=capacity).id
        db.commit()
    return sid


def said(emulator, line: str) -> str:
    return " ".join(m.get("text", "") for r in emulator.sent(user=line) for m in r["messages"])


def test_capacity_never_exceeded_waitlist_in_tap_order(bot, emulator):
    shift_id = new_shift(bot, CAPACITY)
    people = residents(bot.rt, RESIDENTS)
    lines = [line for _, line in people]
    tokens = issue_reply_tokens(emulator, lines)
    base = int(time.time() * 1000) - 60_000
    arrival = {uid: base + 7 * i for i, (uid, _) in enumerate(people)}
    post_all(bot, [[tap(line, f"v=1&a=volunteer.join&id={shift_id}&ok=1", t, arrival[uid])]
                   for (uid, line), t in zip(people, tokens)])
    with bot.rt.sessions() as db:
        slot = R.find_slot(db, "shift", shift_id)
        rows = db.scalars(select(Registration).where(Registration.slot_id == slot.id)).all()
        assert len(rows) == RESIDENTS
        confirmed = [r for r in rows if r.status == "confirmed"]
        waiting = sorted((r for r in rows if r.status == "waitlisted"), key=lambda r: arrival[r.user_id])
        assert len(confirmed) == CAPACITY and len(waiting) == RESIDENTS - CAPACITY
        assert (slot.confirmed, slot.waiting) == (CAPACITY, RESIDENTS - CAPACITY)
        for r in rows:
            assert abs(utc(r.requested_at) - datetime.fromtimestamp(arrival[r.user_id] / 1000, tz=timezone.utc)) \
                < timedelta(milliseconds=1)
        assert [R.waitlist_position(db, r) for r in waiting] == list(range(1, len(waiting) + 1))
    for line in lines:
        s = said(emulator, line)
        assert "申し込みました" in s or "キャンセル待ち（" in s, s


def test_double_tap_gives_one_sign_up(bot, emulator):
    shift_id = new_shift(bot, 5)
    [(uid, line)] = residents(bot.rt, 1)
    tokens = issue_reply_tokens(emulator, [line] * 3)
    base = int(time.time() * 1000) - 10_000
    taps = [tap(line, f"v=1&a=volunteer.join&id={shift_id}&ok=1", t, base + i) for i, t in enumerate(tokens)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(lambda evs: post_events(bot.url, evs), [taps[:2], taps[2:]])) == [200, 200]
    bot.settle(timeout=30)
    with bot.rt.sessions() as db:
        regs = db.scalars(select(Registration)).all()
        assert len(regs) == 1 and regs[0].status == "confirmed"
        assert R.find_slot(db, "shift", shift_id).confirmed == 1
    s = said(emulator, line)
    assert s.count("申し込みました") == 1 and s.count("すでに申込済み") == 2


def test_cancellations_concurrent_with_sign_ups(bot, emulator):
    """capacity = PAIRS confirmed and PAIRS waiting; half of each cancel while PAIRS new residents sign up."""
    cap = PAIRS
    shift_id = new_shift(bot, cap)
    old = residents(bot.rt, 2 * cap)
    new = residents(bot.rt, PAIRS)
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    with bot.rt.sessions() as db:
        slot_id = R.find_slot(db, "shift", shift_id).id
        regs = [R.register(db, slot_id, uid, now=now, requested_at=now + timedelta(milliseconds=i)).registration
                for i, (uid, _) in enumerate(old)]
        db.commit()
        reg_ids = [r.id for r in regs]
    confirmed_old, waiting_old = list(zip(old[:cap], reg_ids[:cap])), list(zip(old[cap:], reg_ids[cap:]))
    leaving = confirmed_old[: cap // 2] + waiting_old[: PAIRS - cap // 2]
    base = int(time.time() * 1000) - 30_000
    people = [(line, f"v=1&a=regs.cancel&reg={rid}&ok=1") for (_, line), rid in leaving] + \
             [(line, f"v=1&a=volunteer.join&id={shift_id}&ok=1") for _, line in new]
    tokens = issue_reply_tokens(emulator, [p[0] for p in people])
    post_all(bot, [[tap(line, data, t, base + i)] for i, ((line, data), t) in enumerate(zip(people, tokens))])
    deliver(bot.rt)
    with bot.rt.sessions() as db:
        slot = R.find_slot(db, "shift", shift_id)
        rows = db.scalars(select(Registration).where(Registration.slot_id == slot.id)
                          .order_by(Registration.requested_at, Registration.id)).all()
        confirmed = [r for r in rows if r.status == "confirmed"]
        waiting = [r for r in rows if r.status == "waitlisted"]
        assert len(confirmed) == cap and slot.confirmed == cap and slot.waiting == len(waiting)
        assert len([r for r in rows if r.status == "cancelled"]) == PAIRS
        # Everyone who waited from before and stayed is in (they were ahead of every new sign-up).
        stayed = {rid for _, rid in waiting_old} - {rid for _, rid in leaving}
        assert stayed <= {r.id for r in confirmed}
        assert [R.waitlist_position(db, r) for r in waiting] == list(range(1, len(waiting) + 1))
        promoted = {r.user_id for r in rows
                    if any(a[0] == "waitlisted" and b[0] == "confirmed" for a, b in zip(r.history, r.history[1:]))}
        assert promoted >= {r.user_id for r in rows if r.id in stayed}
    for uid, line in old + new:
        told = len(pushes(emulator, line, "繰り上がりました"))
        assert told == (1 if uid in promoted else 0), (uid, told)
