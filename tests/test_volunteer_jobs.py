"""scheduler/volunteer_jobs.py to the emulator through kyodo deliver's loop: the day-before reminder at 18:00
Tokyo sent once across runs (a restart), never to a cancelled sign-up (withdrawn by the cancel, or stopped by
the guard at send time when the cancel came after it was queued), the 2-hour reminder of a 7:00 shift sent at
5:00 despite quiet hours, and the thank-you with the hours sent once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from bot import registrations as R
from bot.clock import TOKYO
from models.registrations import Registration
from scheduler import volunteer_jobs
from tests.events_support import deliver
from tests.volunteer_support import add_opportunity, add_shift, publications, pushes, reg_of, residents, sign_up

MORNING = datetime(2026, 6, 5, 9, 0, tzinfo=TOKYO)  # Friday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=TOKYO)


def test_day_before_reminder_once_never_to_a_cancelled_sign_up(bot, emulator):
    bot.clock.set(MORNING)
    people = residents(bot.rt, 4)
    (a, la), (b, lb), (c, lc), (d, ld) = people
    with bot.rt.sessions() as db:
        opp = add_opportunity(db, MORNING, "海岸清掃", place_name="国府津海岸", bring="軍手")
        sh = add_shift(db, opp, MORNING, at(6, 9), capacity=5)
        for uid, _ in people:
            assert sign_up(db, sh, uid, MORNING).status == "confirmed"
        db.commit()
        shift_id = sh.id
    bot.clock.set(at(5, 17, 59))
    assert volunteer_jobs.run(bot.rt)["reminded"] == 0
    bot.clock.set(at(5, 18))
    assert volunteer_jobs.run(bot.rt)["reminded"] == 4
    assert volunteer_jobs.run(bot.rt)["reminded"] == 0  # a restarted scheduler: nothing twice
    with bot.rt.sessions() as db:
        # C cancels: the queued reminder is withdrawn. D's cancel is written behind the hook's back (as when
        # kyodo deliver had already taken the reminder): the guard stops it at send time.
        R.cancel(db, reg_of(db, shift_id, c).id, now=at(5, 18))
        db.execute(update(Registration).where(Registration.id == reg_of(db, shift_id, d).id)
                   .values(status="cancelled"))
        db.commit()
    deliver(bot.rt)
    bot.clock.set(at(5, 18, 30))
    assert volunteer_jobs.run(bot.rt)["reminded"] == 0
    deliver(bot.rt)
    for line in (la, lb):
        [r] = pushes(emulator, line, "明日はボランティアの日")
        text = r["messages"][0]["text"]
        assert "6月6日（土）9:00〜12:00" in text and "国府津海岸" in text and "軍手" in text
    assert pushes(emulator, lc) == [] and pushes(emulator, ld) == []
    with bot.rt.sessions() as db:
        assert len(publications(db, "shift:reminder:day:")) == 4


def test_two_hour_reminder_of_an_early_shift_passes_quiet_hours(bot, emulator):
    bot.clock.set(at(6, 12))
    (a, la), (b, lb) = residents(bot.rt, 2)
    with bot.rt.sessions() as db:
        early = add_shift(db, add_opportunity(db, at(6, 12), "朝市の準備", remind_2h=True), at(6, 12), at(7, 7))
        plain = add_shift(db, add_opportunity(db, at(6, 12), "朝の見守り"), at(6, 12), at(7, 7))
        sign_up(db, early, a, at(6, 12))
        sign_up(db, plain, b, at(6, 12))
        db.commit()
    bot.clock.set(at(7, 4, 59))
    assert volunteer_jobs.run(bot.rt)["reminded"] == 0
    bot.clock.set(at(7, 5))  # quiet hours (21:00-8:00) still on
    assert volunteer_jobs.run(bot.rt)["reminded"] == 1
    deliver(bot.rt)
    [r] = pushes(emulator, la, "まもなくボランティアの時間")
    assert "6月7日（日）7:00〜10:00" in r["messages"][0]["text"]
    bot.clock.set(at(7, 5, 2))
    assert volunteer_jobs.run(bot.rt)["reminded"] == 0
    deliver(bot.rt)
    assert len(pushes(emulator, la)) == 1 and pushes(emulator, lb) == []  # remind_2h off: none


def test_thank_you_with_hours_once(bot, emulator):
    bot.clock.set(at(6, 8))
    (a, la), (b, lb) = residents(bot.rt, 2)
    with bot.rt.sessions() as db:
        sh = add_shift(db, add_opportunity(db, at(6, 8), "花壇の手入れ"), at(6, 8), at(6, 9), hours=2.5)
        for uid in (a, b):
            sign_up(db, sh, uid, at(6, 8))
        reg_of(db, sh.id, a).status = "attended"
        reg_of(db, sh.id, b).status = "no_show"
        db.commit()
    bot.clock.set(at(6, 11, 29))
    assert volunteer_jobs.run(bot.rt)["thanked"] == 0  # not yet ended
    bot.clock.set(at(6, 11, 30))
    assert volunteer_jobs.run(bot.rt)["thanked"] == 1
    assert volunteer_jobs.run(bot.rt)["thanked"] == 0
    deliver(bot.rt)
    [r] = pushes(emulator, la, "ありがとうございました")
    assert "記録した時間：2時間30分" in r["messages"][0]["text"]
    assert pushes(emulator, lb) == []
