"""bot/personal_push.py: a resident's own notices (reminder, promotion, change) reach them whatever they
chose for news (topic, 通知オフ), are never held back by the daily cap nor counted in it, wait for the end
of quiet hours, and go once per ref."""
from __future__ import annotations

from datetime import timedelta

from bot.personal_push import notify
from bot.publish import publish, report
from tests.fanout_support import NEWS, NOON, fan, received, residents  # noqa: F401  (fan: fixture)

NOTE = [{"type": "text", "text": "明日のイベントのお知らせです。"}]


def _notify(bot, ids, ref, **kw):
    with bot.rt.sessions() as db:
        pub = notify(db, user_ids=ids, messages=NOTE, ref=ref, now=bot.rt.now(), **kw)
        db.commit()
        return pub.id


def _report(bot, pid):
    with bot.rt.sessions() as db:
        return report(db, pid)


def test_reaches_residents_who_turned_news_off_or_chose_other_topics(bot, emulator, fan):
    off = residents(bot.rt, 2, frequency="off")
    picky = residents(bot.rt, 2, topics=("surveys",))
    pid = _notify(bot, [u for u, _ in off + picky], "t:1")
    fan.drain()
    assert received(emulator) == {line: 1 for _, line in off + picky}
    assert _report(bot, pid)["reached"] == 4


def test_not_capped_and_not_counted(bot, emulator, fan):
    people = residents(bot.rt, 3)
    for n in range(3):  # the day's three pieces of news
        with bot.rt.sessions() as db:
            publish(db, messages=NEWS, now=bot.rt.now(), title=f"n{n}")
            db.commit()
    fan.drain()
    pid = _notify(bot, [u for u, _ in people], "t:2")
    fan.drain()
    assert _report(bot, pid)["reached"] == 3 and _report(bot, pid)["skipped_capped"] == 0
    # ... and a personal notice earlier in the day leaves room for three pieces of news.
    bot.clock.advance(days=1)
    _notify(bot, [u for u, _ in people], "t:3")
    fan.drain()
    pids = []
    for n in range(3):
        with bot.rt.sessions() as db:
            pids.append(publish(db, messages=NEWS, now=bot.rt.now(), title=f"m{n}").id)
            db.commit()
    fan.drain()
    assert [_report(bot, p)["skipped_capped"] for p in pids] == [0, 0, 0]


def test_waits_for_quiet_hours_and_goes_once_per_ref(bot, emulator, fan):
    people = residents(bot.rt, 2, quiet=None)  # default quiet hours 21:00-8:00
    bot.clock.set(NOON.replace(hour=22))
    pid = _notify(bot, [u for u, _ in people], "t:4")
    assert _notify(bot, [u for u, _ in people], "t:4") == pid
    fan.drain()
    assert received(emulator) == {}
    bot.clock.advance(hours=10, minutes=1)
    fan.drain()
    assert received(emulator) == {line: 1 for _, line in people}


def test_nobody_to_tell_is_nothing(bot):
    with bot.rt.sessions() as db:
        assert notify(db, user_ids=[], messages=NOTE, ref="t:5", now=bot.rt.now()) is None


def test_a_guarded_reminder_is_not_sent_after_a_cancel_or_the_start(bot, emulator, fan):
    """Held by quiet hours, then: the registration cancelled -> nothing; another whose event started -> nothing;
    a third still holding its place -> sent when quiet hours end."""
    from datetime import timedelta

    from bot import registrations as R

    (a, _), (b, _), (c, line_c) = residents(bot.rt, 3, quiet=None)  # default quiet hours 21:00-8:00
    bot.clock.set(NOON.replace(hour=22))
    now = bot.rt.now()
    with bot.rt.sessions() as db:
        early = R.slot_for(db, "event", 901, capacity=5, starts_at=now + timedelta(hours=9))   # 7:00
        later = R.slot_for(db, "event", 902, capacity=5, starts_at=now + timedelta(hours=36))
        regs = {u: R.register(db, s.id, u, now=now).registration.id for u, s in ((a, later), (b, early), (c, later))}
        for u in (a, b, c):
            notify(db, user_ids=[u], messages=NOTE, ref=f"g:{u}", now=now, guard_registration_id=regs[u])
        db.commit()
    fan.drain()  # all three delayed to 8:00 by quiet hours
    with bot.rt.sessions() as db:
        R.cancel(db, regs[a], now=bot.rt.now())
        db.commit()
    bot.clock.advance(hours=10, minutes=1)  # 8:01: b's event began at 7:00
    fan.drain()
    assert received(emulator) == {line_c: 1}
