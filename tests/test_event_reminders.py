"""The day-before reminder (scheduler/event_reminders.py) to the emulator through kyodo deliver's loop: at 18:00
Tokyo the day before, once per registration across runs and restarts, held by quiet hours, never to a
cancelled or waitlisted registration, nor for a 中止 event, nor to someone who signed up after 18:00."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert, select

from bot import registrations as R
from bot.clock import TOKYO
from bot.event_notices import reminder_ref
from models.publications import Publication, PublicationRecipient
from models.subscriptions import Preference
from scheduler import event_reminders, jobs
from tests.events_support import add_event, add_residents, deliver

MORNING = datetime(2026, 6, 5, 9, 0, tzinfo=TOKYO)   # Friday
BEFORE = datetime(2026, 6, 5, 17, 59, tzinfo=TOKYO)
SIX = datetime(2026, 6, 5, 18, 0, tzinfo=TOKYO)
TOMORROW = datetime(2026, 6, 6, 10, 0, tzinfo=TOKYO)


def pushes(emulator, line_id: str) -> list[dict]:
    """The reminders the emulator accepted for this resident (C also gets the push of their promotion)."""
    return [r for r in emulator.sent(user=line_id) if r["kind"] in ("push", "multicast")
            and r["messages"][0]["text"].startswith("明日は")]


def sign_up(db, event, user_id: int, now: datetime):
    slot = R.find_slot(db, "event", event.id) or R.slot_for(
        db, "event", event.id, capacity=event.capacity, starts_at=event.starts_at, ends_at=event.ends_at, now=now)
    return R.register(db, slot.id, user_id, now=now)


@pytest.fixture
def world(bot):
    """Tomorrow's event (2 places) with A and B confirmed and C waiting; D for the day after; E for a 中止 event;
    Q with quiet hours 17:00-9:00."""
    bot.clock.set(MORNING)
    people = add_residents(bot.rt, 6)
    a, b, c, d, e, q = (uid for uid, _ in people)
    with bot.rt.sessions() as db:
        miso = add_event(db, MORNING, "親子で味噌づくり", starts=TOMORROW, registration_required=True, capacity=3,
                         place_name="緑公民館", address="小田原市緑1丁目")
        later = add_event(db, MORNING, "日曜の講座", starts=datetime(2026, 6, 7, 10, 0, tzinfo=TOKYO),
                          registration_required=True)
        off = add_event(db, MORNING, "中止の会", starts=datetime(2026, 6, 6, 14, 0, tzinfo=TOKYO),
                        registration_required=True)
        for uid in (a, b, q):
            assert sign_up(db, miso, uid, MORNING).status == "confirmed"
        assert sign_up(db, miso, c, MORNING).status == "waitlisted"
        assert sign_up(db, later, d, MORNING).status == "confirmed"
        assert sign_up(db, off, e, MORNING).status == "confirmed"
        off.status = "cancelled"
        R.close_slot(db, "event", off.id, now=MORNING)
        # B cancels in the afternoon: C moves up (and is reminded as confirmed); B is not.
        reg_b = db.scalar(select(R.Registration).where(R.Registration.user_id == b))
        assert [r.user_id for r in R.cancel(db, reg_b.id, now=MORNING).promoted] == [c]
        db.commit()
    with bot.rt.engine.begin() as conn:
        conn.execute(insert(Preference), [{"user_id": q, "frequency": "now", "quiet_start": 17 * 60,
                                           "quiet_end": 9 * 60, "topics_chosen": False, "updated_at": MORNING}])
    return {"bot": bot, "ids": dict(zip("abcdeq", people)), "miso": miso.id}


def reminder_pubs(bot) -> list[Publication]:
    with bot.rt.sessions() as db:
        return list(db.scalars(select(Publication).where(Publication.ref.like("reminder:%")).order_by(Publication.id)))


def test_sent_once_at_six_the_day_before_across_restarts(world, emulator):
    bot, ids = world["bot"], world["ids"]
    bot.clock.set(BEFORE)
    jobs.event_reminders(bot.rt)  # the scheduler's job
    assert reminder_pubs(bot) == []
    bot.clock.set(SIX)
    assert event_reminders.run(bot.rt) == 3  # A, C (promoted) and Q; not B, D, E
    pubs = reminder_pubs(bot)
    assert sorted(p.segment["user_ids"][0] for p in pubs) == sorted([ids["a"][0], ids["c"][0], ids["q"][0]])
    assert all(p.purpose == "registration" for p in pubs)
    text = pubs[0].messages[0]["text"]
    assert "明日は「親子で味噌づくり」です。" in text and "6月6日（土）10:00〜12:00" in text and "緑公民館" in text
    # Later runs, and a scheduler started afresh, queue nothing more.
    bot.clock.set(datetime(2026, 6, 5, 18, 5, tzinfo=TOKYO))
    assert event_reminders.run(bot.rt) == 0
    deliver(bot.rt)
    bot.clock.set(datetime(2026, 6, 5, 23, 55, tzinfo=TOKYO))
    assert event_reminders.run(bot.rt) == 0
    deliver(bot.rt)
    assert len(pushes(emulator, ids["a"][1])) == 1 and len(pushes(emulator, ids["c"][1])) == 1
    for who in "bde":
        assert pushes(emulator, ids[who][1]) == []
    # The next day's run reminds the day after's (D), once.
    bot.clock.set(datetime(2026, 6, 6, 18, 0, tzinfo=TOKYO))
    assert event_reminders.run(bot.rt) == 1
    assert event_reminders.run(bot.rt) == 0


def test_quiet_hours_hold_the_reminder_until_they_end(world, emulator):
    bot, ids = world["bot"], world["ids"]
    bot.clock.set(SIX)
    event_reminders.run(bot.rt)
    deliver(bot.rt)
    assert pushes(emulator, ids["q"][1]) == []           # 17:00-9:00 is quiet for Q
    assert len(pushes(emulator, ids["a"][1])) == 1
    with bot.rt.sessions() as db:
        [row] = db.execute(select(PublicationRecipient.delayed_until)
                           .where(PublicationRecipient.user_id == ids["q"][0])).all()
        assert row[0] is not None and row[0].astimezone(TOKYO) == datetime(2026, 6, 6, 9, 0, tzinfo=TOKYO)
    bot.clock.set(datetime(2026, 6, 6, 9, 0, tzinfo=TOKYO))
    deliver(bot.rt)
    assert len(pushes(emulator, ids["q"][1])) == 1


def test_cancelled_on_line_after_it_was_queued_is_not_sent(world, emulator):
    bot, ids = world["bot"], world["ids"]
    bot.clock.set(SIX)
    event_reminders.run(bot.rt)
    with bot.rt.sessions() as db:
        reg_a = db.scalar(select(R.Registration).where(R.Registration.user_id == ids["a"][0]))
        ref = reminder_ref(reg_a.id, TOMORROW.date())
    # A cancels from 申込状況 before kyodo deliver takes the reminder.
    status, _ = emulator.send_postback(ids["a"][1], f"v=1&a=regs.cancel&reg={reg_a.id}&ok=1")
    assert status == 200
    bot.settle()
    assert "キャンセルしました" in emulator.messages_for(ids["a"][1])[-1]["text"]
    with bot.rt.sessions() as db:
        assert db.scalar(select(Publication.status).where(Publication.ref == ref)) == "cancelled"
    deliver(bot.rt)
    assert pushes(emulator, ids["a"][1]) == []
    assert event_reminders.run(bot.rt) == 0


def test_signed_up_after_six_hears_the_confirmation_only(world, emulator):
    bot = world["bot"]
    [(late, _)] = add_residents(bot.rt, 1)
    bot.clock.set(datetime(2026, 6, 5, 19, 0, tzinfo=TOKYO))
    with bot.rt.sessions() as db:
        from models.events import Event

        slot = R.find_slot(db, "event", world["miso"])
        assert R.set_capacity(db, slot.id, 4, now=bot.rt.now()).status == "capacity_set"
        assert sign_up(db, db.get(Event, world["miso"]), late, bot.rt.now()).status == "confirmed"
        db.commit()
    assert event_reminders.run(bot.rt) == 3  # the three due at 18:00, not the late one
    assert late not in [p.segment["user_ids"][0] for p in reminder_pubs(bot)]
