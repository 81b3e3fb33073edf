"""bot/event_notices.py: a new listing reaches its 地区's and project's subscribers who hear about events (or
places) once; a change or a cancellation reaches the event's registrants (not the cancelled) once per
revision, whatever their notification settings; a resident promoted from the waitlist is told; all through
kyodo deliver to the emulator."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert, select

from bot import registrations as R
from bot.clock import TOKYO
from bot.event_notices import announce_listing, event_cancelled, event_changed, registrants
from bot.plan_loader import default_plan_path, load
from models.places import Place
from models.publications import Publication
from models.subscriptions import SubscribedProject
from tests.events_support import add_event, add_residents, deliver
from tests.fanout_support import audience, residents

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=TOKYO)  # a Monday, outside the default quiet hours
SAT = datetime(2026, 6, 6, 10, 0, tzinfo=TOKYO)


def got(emulator) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in emulator.sent():
        if r["kind"] in ("push", "multicast"):
            for to in r["to"]:
                out.setdefault(to, []).append(r["messages"][0].get("text") or r["messages"][0].get("altText"))
    return out


@pytest.fixture
def now(bot):
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), NOON)  # 地区 and project names
    bot.clock.set(NOON)
    return NOON


def test_new_event_reaches_its_district_and_project_subscribers_once(bot, now, emulator):
    kozu = residents(bot.rt, 2, districts=("kozu",), topics=("events",))
    kozu_city_only = residents(bot.rt, 1, districts=("kozu",))                  # never chose topics: city news only
    kozu_surveys = residents(bot.rt, 1, districts=("kozu",), topics=("surveys",))
    other = residents(bot.rt, 1, districts=("midori",), topics=("events",))
    p3 = residents(bot.rt, 1, topics=("events",))
    nobody = residents(bot.rt, 1)
    with bot.rt.engine.begin() as c:
        c.execute(insert(SubscribedProject), [{"user_id": p3[0][0], "project": 3}])
    with bot.rt.sessions() as db:
        ev = add_event(db, now, "国府津こども将棋", starts=SAT, district="kozu", project=3, lat=35.278, lon=139.203)
        pub = announce_listing(db, ev, now=now)
        assert announce_listing(db, ev, now=now).id == pub.id  # saved again, published again: the same one
        assert pub.topic == "events" and pub.ref == f"listing:events:{ev.id}"
        assert sorted(audience(db, pub)) == sorted(u for u, _ in kozu + p3)
        assert "国府津地区の新しいイベント" in pub.messages[0]["text"]
        assert pub.messages[1]["contents"]["body"]["contents"][0]["text"] == "国府津こども将棋"
        # Not announced: a draft, an event naming neither 地区 nor project (it would reach everyone), one over.
        assert announce_listing(db, add_event(db, now, "下書き", starts=SAT, status="draft"), now=now) is None
        assert announce_listing(db, add_event(db, now, "市全体", starts=SAT, district=None), now=now) is None
        assert announce_listing(db, add_event(db, now, "終わった会", starts=datetime(2026, 5, 1, 10, tzinfo=TOKYO)),
                                now=now) is None
        db.commit()
    deliver(bot.rt)
    heard = got(emulator)
    assert sorted(heard) == sorted(line for _, line in kozu + p3)
    for _, line in kozu_city_only + kozu_surveys + other + nobody:
        assert line not in heard
    with bot.rt.sessions() as db:
        assert db.scalar(select(Publication.id).where(Publication.ref.like("listing:%")).order_by(Publication.id.desc())) \
            == pub.id


def test_new_place_goes_to_places_subscribers(bot, now):
    wants = residents(bot.rt, 1, districts=("kozu",), topics=("places",))
    events_only = residents(bot.rt, 1, districts=("kozu",), topics=("events",))
    with bot.rt.sessions() as db:
        place = Place(name="国府津こども食堂", kind="shokudo", district="kozu", status="published", created_at=now,
                      updated_at=now, published_at=now, address="小田原市国府津")
        db.add(place)
        db.flush()
        pub = announce_listing(db, place, now=now)
        assert pub.topic == "places" and pub.ref == f"listing:places:{place.id}"
        assert audience(db, pub) == [wants[0][0]] and events_only[0][0] not in audience(db, pub)
        assert "こどもの居場所" in pub.messages[0]["text"]
        assert "国府津こども食堂" in str(pub.messages)
        db.commit()


@pytest.fixture
def registered(bot, now):
    """An event with 2 places: A and B confirmed, C waiting, D cancelled; E registered for another event."""
    people = add_residents(bot.rt, 5)
    with bot.rt.sessions() as db:
        ev = add_event(db, now, "親子で味噌づくり", starts=SAT, registration_required=True, capacity=2, district="midori")
        other = add_event(db, now, "別の会", starts=SAT, registration_required=True)
        slot = R.slot_for(db, "event", ev.id, capacity=2, starts_at=ev.starts_at, now=now)
        slot2 = R.slot_for(db, "event", other.id, capacity=None, starts_at=other.starts_at, now=now)
        a, b, c, d, e = (u for u, _ in people)
        out = [R.register(db, slot.id, u, now=now).status for u in (a, b, c, d)]
        assert out == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
        R.cancel(db, db.scalar(select(R.Registration.id).where(R.Registration.user_id == d)), now=now)
        R.register(db, slot2.id, e, now=now)
        db.commit()
        ids = ev.id
    return {"event": ids, "people": dict(zip("abcde", people))}


def test_change_reaches_registrants_once_per_revision(bot, now, registered, emulator):
    p = registered["people"]
    # A turned notifications off: a notice about their own registration still reaches them.
    with bot.rt.engine.begin() as c:
        from models.subscriptions import Preference

        c.execute(insert(Preference), [{"user_id": p["a"][0], "frequency": "off", "quiet_start": None,
                                        "quiet_end": None, "topics_chosen": True, "updated_at": now}])
    with bot.rt.sessions() as db:
        from models.events import Event

        ev = db.get(Event, registered["event"])
        assert registrants(db, ev.id) == sorted([p["a"][0], p["b"][0], p["c"][0]])
        ev.revision += 1
        first = event_changed(db, ev, now=now, what=["time", "place"])
        assert event_changed(db, ev, now=now, what="time").id == first.id  # the same revision: told once
        assert first.ref == f"event:{ev.id}:rev:2" and first.purpose == "registration"
        assert "日時・場所が変わりました" in first.messages[0]["text"]
        ev.revision += 1
        second = event_changed(db, ev, now=now, what="details")
        assert second.id != first.id and "内容が変わりました" in second.messages[0]["text"]
        db.commit()
    deliver(bot.rt)
    heard = got(emulator)
    for who in "abc":
        assert len(heard[p[who][1]]) == 2
    assert p["d"][1] not in heard and p["e"][1] not in heard


def test_cancellation_closes_sign_up_and_tells_registrants(bot, now, registered, emulator):
    p = registered["people"]
    late = add_residents(bot.rt, 1)[0]
    with bot.rt.sessions() as db:
        from models.events import Event

        ev = db.get(Event, registered["event"])
        ev.status, ev.cancel_reason, ev.revision = "cancelled", "講師の体調不良のため", ev.revision + 1
        pub = event_cancelled(db, ev, now=now)
        assert event_cancelled(db, ev, now=now).id == pub.id
        text = pub.messages[0]["text"]
        assert "「親子で味噌づくり」（6月6日（土）10:00〜12:00）は、中止になりました。" in text and "講師の体調不良" in text
        slot = R.find_slot(db, "event", ev.id)
        assert R.register(db, slot.id, late[0], now=now).status == "closed"
        # A cancelling now frees no place for C: nobody is promoted into a cancelled event.
        reg_a = db.scalar(select(R.Registration.id).where(R.Registration.user_id == p["a"][0]))
        assert R.cancel(db, reg_a, now=now).promoted == []
        db.commit()
    deliver(bot.rt)
    heard = got(emulator)
    assert sorted(heard) == sorted(p[w][1] for w in "abc")


def test_promotion_is_told_by_push(bot, now, registered, emulator):
    p = registered["people"]
    with bot.rt.sessions() as db:
        reg_b = db.scalar(select(R.Registration.id).where(R.Registration.user_id == p["b"][0]))
        [promoted] = R.cancel(db, reg_b, now=now).promoted
        assert promoted.user_id == p["c"][0]
        [pub] = db.scalars(select(Publication).where(Publication.ref.like("event:promoted:%"))).all()
        assert pub.segment["user_ids"] == [p["c"][0]]
        db.commit()
    deliver(bot.rt)
    heard = got(emulator)
    assert list(heard) == [p["c"][1]] and "参加が確定しました" in heard[p["c"][1]][0]
    # C cancels and comes back to the waitlist, then a larger capacity promotes again: told again.
    late = add_residents(bot.rt, 1)[0]
    with bot.rt.sessions() as db:
        reg_c = db.scalar(select(R.Registration).where(R.Registration.user_id == p["c"][0]))
        R.cancel(db, reg_c.id, now=now)
        slot = R.find_slot(db, "event", registered["event"])
        db.commit()
    with bot.rt.sessions() as db:
        assert R.register(db, slot.id, late[0], now=now).status == "confirmed"
        assert R.register(db, slot.id, p["c"][0], now=now).status == "waitlisted"
        assert [r.user_id for r in R.set_capacity(db, slot.id, 3, now=now).promoted] == [p["c"][0]]
        db.commit()
    deliver(bot.rt)
    assert len(got(emulator)[p["c"][1]]) == 2
