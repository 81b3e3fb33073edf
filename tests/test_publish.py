"""bot/publish.py: publish() inside the caller's transaction, ref idempotency, cancel, bad input; and the outbox's
deletion hook working in SQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import outbox
from bot.fanout import Fanout
from bot.publish import cancel, publish, report
from bot.segments import Segment
from models.outbox import CANCELLED, PENDING, OutboxBatch
from models.privacy import delete_personal_data
from models.publications import CANCELLED as P_CANCELLED, SCHEDULED, SENDING, Publication, PublicationRecipient
from models.users import User
from tests.fanout_support import NEWS, NOON, fan, received, residents  # noqa: F401  (fan: fixture)




def test_nothing_is_written_unless_the_caller_commits(bot, fan, emulator):
    residents(bot.rt, 2)
    with bot.rt.sessions() as db:
        pub = publish(db, messages=NEWS, now=bot.rt.now(), title="取り消される")
        assert pub.id and pub.status == SCHEDULED
        db.rollback()
    fan.drain()
    assert received(emulator) == {}
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Publication)) == 0


def test_same_ref_twice_returns_the_first_and_sends_once(bot, fan, emulator):
    people = residents(bot.rt, 3)
    with bot.rt.sessions() as db:
        first = publish(db, messages=NEWS, ref="announcement:12", now=bot.rt.now())
        db.commit()
    with bot.rt.sessions() as db:
        again = publish(db, messages=[{"type": "text", "text": "別の文"}], ref="announcement:12", now=bot.rt.now())
        db.commit()
        assert again.id == first.id and again.messages == NEWS
        assert db.scalar(select(func.count()).select_from(Publication)) == 1
    fan.drain()
    assert received(emulator) == {line: 1 for _, line in people}


def test_cancel_before_sending(bot, fan, emulator):
    residents(bot.rt, 4)
    with bot.rt.sessions() as db:
        later = publish(db, messages=NEWS, when=bot.rt.now().replace(hour=23), now=bot.rt.now())
        db.commit()
    fan.drain()
    with bot.rt.sessions() as db:
        assert cancel(db, later.id) is True
        db.commit()
    bot.clock.advance(hours=12)
    fan.drain()
    assert received(emulator) == {}
    with bot.rt.sessions() as db:
        rep = report(db, later.id)
    assert (rep["status"], rep["reached"]) == (P_CANCELLED, 0)


def test_cancel_once_sending_has_started_is_refused(bot, emulator):
    bot.clock.set(NOON)
    residents(bot.rt, 3)
    with bot.rt.sessions() as db:
        pub = publish(db, messages=NEWS, now=bot.rt.now())
        db.commit()
    f = Fanout(bot.rt, threads=1, rate=0)
    f.step(), f.step()  # expanded; sending has started
    with bot.rt.sessions() as db:
        assert db.get(Publication, pub.id).status == SENDING
        assert cancel(db, pub.id) is False
        db.commit()
    f.start()
    try:
        f.drain()
    finally:
        f.shutdown()
    assert len(received(emulator)) == 3


def test_explicit_user_ids_and_an_empty_list(bot, fan, emulator):
    people = residents(bot.rt, 5)
    with bot.rt.sessions() as db:
        some = publish(db, messages=NEWS, user_ids=[people[1][0], people[3][0]], now=bot.rt.now())
        none = publish(db, messages=NEWS, user_ids=[], now=bot.rt.now())
        db.commit()
    fan.drain()
    assert received(emulator) == {people[1][1]: 1, people[3][1]: 1}
    with bot.rt.sessions() as db:
        assert report(db, some.id)["reached"] == 2
        assert report(db, none.id)["reached"] == 0


def test_a_long_explicit_list_stays_under_the_databases_parameter_limits(bot, fan, emulator):
    """A digest group can name 100,000 residents: each expansion statement carries only its id range's ids
    (SQLite refuses more than 32,766 parameters, PostgreSQL 65,535)."""
    people = residents(bot.rt, 3)
    far = range(10**6, 10**6 + 70_000)  # ids nobody has: only their count matters here
    with bot.rt.sessions() as db:
        pub = publish(db, messages=NEWS, user_ids=[*(p[0] for p in people), *far], now=bot.rt.now())
        db.commit()
    fan.drain()
    assert received(emulator) == {p[1]: 1 for p in people}
    with bot.rt.sessions() as db:
        assert report(db, pub.id)["reached"] == 3


@pytest.mark.parametrize("kw", [dict(messages=[]), dict(messages=NEWS * 6), dict(messages=["text"]),
                                dict(messages=NEWS, topic="nope"),
                                dict(messages=NEWS, when=NOON.replace(tzinfo=None))])
def test_bad_input_is_refused(bot, kw):
    with bot.rt.sessions() as db, pytest.raises(ValueError):
        publish(db, **kw)


def test_segment_is_stored_and_read_back(bot):
    seg = Segment(districts=("kozu",), projects=(3,), match="all")
    with bot.rt.sessions() as db:
        pub = publish(db, messages=NEWS, segment=seg, topic="progress", urgent=True, title="t", now=NOON)
        db.commit()
        assert Segment.from_json(db.get(Publication, pub.id).segment) == seg


def test_explicit_residents_keep_every_other_part_of_the_segment(bot):
    seg = Segment(districts=("kozu",), topics=("events",), others_topic="city")
    with bot.rt.sessions() as db:
        pub = publish(db, messages=NEWS, segment=seg, user_ids=[7, 3], now=NOON)
        db.commit()
        stored = Segment.from_json(db.get(Publication, pub.id).segment)
    assert stored.others_topic == "city" and stored.user_ids == (3, 7) and stored.districts == ("kozu",)


def test_deletion_hook_cancels_and_strips_in_sql(bot, emulator):
    (uid, line), (_, other) = residents(bot.rt, 2)
    now = bot.rt.now()
    with bot.rt.sessions() as db:
        reply = outbox.enqueue_reply(db, now=now, user_id=line, reply_token="a" * 32, messages=NEWS,
                                     source_event_id="EV1")
        push_other = outbox.enqueue_reply(db, now=now, user_id=other, reply_token=None, messages=NEWS,
                                          source_event_id="EV2")
        multi = outbox.enqueue_push(db, now=now, purpose="test", messages=NEWS, recipients=[line, other])
        pub = publish(db, messages=NEWS, now=now)
        db.commit()
        ids = (reply.id, push_other.id, multi.batches[0].id)
    with bot.rt.sessions() as db:
        delete_personal_data(db, db.get(User, uid))
        db.commit()
    with bot.rt.sessions() as db:
        r, p, m = (db.get(OutboxBatch, i) for i in ids)
        assert (r.status, r.recipients, r.recipient_count) == (CANCELLED, [], 0)
        assert (p.status, p.recipients) == (PENDING, [other])  # someone else's: untouched
        assert (m.status, m.recipients, m.recipient_count) == (PENDING, [other], 1)
        assert db.scalar(select(func.count()).select_from(PublicationRecipient)) == 0
        assert db.get(Publication, pub.id).skipped_deleted == 0  # not yet expanded: nothing to count
        db.execute(OutboxBatch.__table__.update().values(status=CANCELLED))  # nothing left for the bot to send
        db.commit()
