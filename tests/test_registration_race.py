"""The registration race over real HTTP: 200 residents tap 申し込む at once (signed webhooks, posted concurrently
and out of order) for an event with 10 places. On PostgreSQL (40 residents on SQLite, one writer at a time):
exactly 10 confirmed, the rest waitlisted in arrival order (the webhook timestamps, whatever order the bot
processed them in), the slot's counters right, and every resident answered. A double tap (the same postback
twice in one body and once more in another request at the same moment) gives one registration."""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot import registrations as R
from bot.clock import utc
from emulator import new_user_id, webhooks
from models.registrations import Registration
from models.users import User
from tests.conftest import BACKEND
from tests.events_support import add_event
from tests.helpers import issue_reply_tokens, post_events

CAPACITY = 10
RESIDENTS = 200 if BACKEND == "postgresql" else 40


def join_event(user: str, event_id: int, token: str, ts_ms: int) -> dict:
    ev = webhooks.postback_event(user, f"v=1&a=events.join&id={event_id}&ok=1", token)
    ev["timestamp"] = ts_ms
    return ev


def replies_to(emulator, user: str) -> list[str]:
    return [m.get("text", "") for r in emulator.sent(user=user) for m in r["messages"]]


def test_capacity_never_exceeded_waitlist_in_arrival_order(bot, emulator):
    now = datetime.now(timezone.utc)
    with bot.rt.sessions() as db:
        event_id = add_event(db, now, "先着10名の味噌づくり", starts=now + timedelta(days=7),
                             registration_required=True, capacity=CAPACITY).id
        db.commit()
    users = [new_user_id() for _ in range(RESIDENTS)]
    tokens = issue_reply_tokens(emulator, users)
    base = int(time.time() * 1000) - 60_000  # a minute ago: taps are never later than the bot's clock
    arrival = {u: base + 7 * i for i, u in enumerate(users)}  # distinct, in list order
    bodies = [[join_event(u, event_id, t, arrival[u])] for u, t in zip(users, tokens)]
    random.Random(16).shuffle(bodies)  # posted out of order, and concurrently
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(lambda evs: post_events(bot.url, evs), bodies))
    assert statuses == [200] * RESIDENTS
    bot.settle(timeout=180)

    with bot.rt.sessions() as db:
        slot = R.find_slot(db, "event", event_id)
        rows = db.scalars(select(Registration).where(Registration.slot_id == slot.id)).all()
        line_of = dict(db.execute(select(User.id, User.line_user_id)).all())
        assert len(rows) == RESIDENTS
        confirmed = [r for r in rows if r.status == "confirmed"]
        waiting = [r for r in rows if r.status == "waitlisted"]
        assert len(confirmed) == CAPACITY and len(waiting) == RESIDENTS - CAPACITY
        assert (slot.confirmed, slot.waiting) == (CAPACITY, RESIDENTS - CAPACITY)
        # Each arrival time is the resident's tap, to the millisecond.
        for r in rows:
            tapped = datetime.fromtimestamp(arrival[line_of[r.user_id]] / 1000, tz=timezone.utc)
            assert abs(utc(r.requested_at) - tapped) < timedelta(milliseconds=1)
        # The waitlist is in tap order: positions 1..n follow the timestamps.
        by_tap = sorted(waiting, key=lambda r: arrival[line_of[r.user_id]])
        assert [R.waitlist_position(db, r) for r in by_tap] == list(range(1, len(waiting) + 1))
        # Cancelling a confirmed place promotes the earliest tap still waiting.
        out = R.cancel(db, confirmed[0].id, now=datetime.now(timezone.utc))
        assert [p.id for p in out.promoted] == [by_tap[0].id]
        db.rollback()
    # Every resident was answered: confirmed or with a place on the waitlist.
    for u in users:
        said = " ".join(replies_to(emulator, u))
        assert "申込みました" in said or "キャンセル待ち（" in said, said


def test_double_tap_gives_one_registration(bot, emulator):
    now = datetime.now(timezone.utc)
    with bot.rt.sessions() as db:
        event_id = add_event(db, now, "親子で味噌づくり", starts=now + timedelta(days=7), registration_required=True,
                             capacity=5).id
        db.commit()
    user = new_user_id()
    tokens = issue_reply_tokens(emulator, [user] * 3)
    base = int(time.time() * 1000) - 10_000
    taps = [join_event(user, event_id, t, base + i) for i, t in enumerate(tokens)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # two taps in one body, one more at the same moment
        statuses = list(pool.map(lambda evs: post_events(bot.url, evs), [taps[:2], taps[2:]]))
    assert statuses == [200, 200]
    bot.settle(timeout=30)
    with bot.rt.sessions() as db:
        regs = db.scalars(select(Registration)).all()
        assert len(regs) == 1 and regs[0].status == "confirmed"
        assert R.find_slot(db, "event", event_id).confirmed == 1
    said = replies_to(emulator, user)
    assert sum("申込みました" in s for s in said) == 1
    assert sum("すでに申込済み" in s for s in said) == 2
