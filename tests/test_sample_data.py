"""`kyodo sample load`: the demo's sample places and events. Loading twice gives the same rows, other rows are
never touched, nothing reaches residents, every 地区 key is real, every title is marked （サンプル）, and the dates
follow today. Both databases; the command itself runs as a real process."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from bot import sample_data as S
from bot.clock import to_tokyo, utc
from bot.plan_loader import default_plan_path, districts_path_for, load as load_plan, read_districts, read_plan
from models.events import Event, EventOccurrence
from models.places import KINDS, Place, PlaceHours
from models.registrations import Registration, RegistrationSlot
from models.users import User
from tests.conftest import ROOT
from tests.sample_support import (NOW, add_resident, assert_nothing_published, assert_refused_as_a_whole, plain,
                                  rewritten)
from tests.sample_support import snapshot as rows_of

TABLES = (Place, PlaceHours, Event, EventOccurrence, RegistrationSlot)


LISTINGS = [S.LOADERS[0]]  # this file tests the listings' loader; volunteering has tests/test_volunteer_samples.py


def load(bot, now=NOW) -> list[str]:
    return S.load(bot.rt.sessions, city="odawara", now=now, loaders=LISTINGS)


def snapshot(bot) -> dict:
    """Every column of every row the sample loader writes (occurrences without their ids, which are rebuilt)."""
    return rows_of(bot, TABLES, skip=lambda model, column: model is EventOccurrence and column == "id")


def row_of(bot, model, ident) -> tuple:
    with bot.rt.sessions() as db:
        row = db.get(model, ident)
        return tuple(plain(getattr(row, c.key)) for c in inspect(model).mapper.column_attrs)


def districts() -> dict:
    return {d.key: d for d in read_districts(districts_path_for(default_plan_path("odawara"))).districts}


def test_load_twice_gives_the_same_rows(bot):
    first = load(bot)
    before = snapshot(bot)
    assert load(bot) == first
    assert snapshot(bot) == before
    assert len(before["places"]) >= 20 and len(before["events"]) >= 20


def test_the_samples_cover_districts_kinds_projects_and_the_demo_cases(bot):
    (line,) = load(bot)
    assert line.startswith("listings: 26 places, 29 events (7 with registration, 1 nearly full) in 26 districts")
    keys = districts()
    plan = read_plan(default_plan_path("odawara"))
    project_of = {a.no: p.no for p in plan.projects for a in p.actions}
    with bot.rt.sessions() as db:
        places = list(db.scalars(select(Place)))
        events = list(db.scalars(select(Event)))
        slots = {s.ref_id: s for s in db.scalars(select(RegistrationSlot).where(RegistrationSlot.kind == "event"))}
        assert all(r.source == "sample" and r.external_key.startswith("sample:") for r in places + events)
        # Every title a person sees is marked, and every 地区 is one of the city's, with the point near its centre.
        assert all(p.name.endswith("（サンプル）") for p in places)
        assert all(e.title.endswith("（サンプル）") for e in events)
        for row in places + events:
            assert row.district in keys
            c = keys[row.district].center
            assert abs(row.lat - c.lat) < 0.005 and abs(row.lon - c.lon) < 0.005, row.district
            assert row.action is None or project_of[row.action] == row.project
        assert len({r.district for r in places + events}) >= 20
        assert {p.kind for p in places} == set(KINDS)
        assert {e.project for e in events} == set(range(1, 8))
        assert all(p.hours for p in places)
        assert any(p.booking_required for p in places) and any(p.closed_dates for p in places) \
            and any(p.extra_dates for p in places)
        # Registration: a slot per event that needs it; one nearly full (9 of 10 held by sample residents,
        # who follow nobody: no push can reach them).
        needing = [e for e in events if e.registration_required]
        assert len(needing) >= 5 and {e.id for e in needing} == set(slots)
        assert all(slots[e.id].capacity == e.capacity and slots[e.id].open for e in needing)
        assert [(s.capacity, s.confirmed) for s in slots.values() if s.confirmed] == [(10, 9)]
        holders = db.scalars(select(User).join(Registration, Registration.user_id == User.id)).all()
        assert len(holders) == 9 and not any(u.active for u in holders)
        # Recurring, cancelled (stays visible) and pending (not visible) ones.
        recurring = [e for e in events if e.rrule]
        assert len(recurring) >= 2
        for e in recurring:
            n = db.scalar(select(func.count()).where(EventOccurrence.event_id == e.id))
            assert n > 1, e.title
        cancelled = [e for e in events if e.status == "cancelled"]
        assert len(cancelled) == 1 and cancelled[0].cancel_reason
        pending = [e for e in events if e.status == "pending"]
        assert pending and all(not o.visible for e in pending for o in e.occurrences)
        assert all(o.visible for e in cancelled for o in e.occurrences)


def test_dates_follow_today_so_the_demo_always_has_this_week_and_weekend(bot):
    from bot.event_search import find_events, this_week, this_weekend

    # Thursday morning, Saturday 11:00 (the morning's events have begun), Sunday 8:00, a Tuesday weeks later.
    for now in (NOW, NOW + timedelta(days=2, hours=2), NOW + timedelta(days=2, hours=23), NOW + timedelta(days=40)):
        load(bot, now)  # the same rows, moved to the new today
        with bot.rt.sessions() as db:
            events = list(db.scalars(select(Event)))
            assert all(utc(e.starts_at) > utc(now) for e in events)  # nothing already begun
            assert all(utc(e.starts_at) < utc(now) + timedelta(days=45) for e in events)
            week = find_events(db, now=now, start=this_week(now)[0], end=this_week(now)[1], limit=50)
            weekend = find_events(db, now=now, start=this_weekend(now)[0], end=this_weekend(now)[1], limit=50)
            assert len(week) >= 3 and len(weekend) >= 3, (now, len(week), len(weekend))  # Sunday: week = weekend
            for e in events:  # a registration deadline is never after the event starts
                assert e.registration_deadline is None or e.registration_deadline <= e.starts_at
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Event)) == 29  # four loads, still one set


def test_reloading_keeps_ids_and_residents_registrations(bot):
    from bot.registrations import find_slot, register

    load(bot)
    with bot.rt.sessions() as db:
        full = db.scalar(select(Event).where(Event.external_key == "sample:saiwai-cooking"))
        ids = {e.external_key: e.id for e in db.scalars(select(Event))}
        slot = find_slot(db, "event", full.id)
        uid, _ = add_resident(bot)
        assert register(db, slot.id, uid, now=bot.rt.now()).status == "confirmed"
        db.commit()
    load(bot, NOW + timedelta(days=1))
    with bot.rt.sessions() as db:
        assert {e.external_key: e.id for e in db.scalars(select(Event))} == ids
        slot = find_slot(db, "event", ids["sample:saiwai-cooking"])
        assert slot.confirmed == 10 and slot.capacity == 10  # the demo resident's place is kept, no one added
        assert register(db, slot.id, add_resident(bot)[0], now=bot.rt.now()).status == "waitlisted"
        moved = db.get(Event, ids["sample:midori-toys"])
        assert moved.revision == 2  # its date moved with today: calendars see a new SEQUENCE
        assert utc(slot.starts_at) == utc(db.get(Event, ids["sample:saiwai-cooking"]).starts_at)


def test_other_rows_are_never_touched_and_stale_samples_go(bot):
    from bot.event_occurrences import materialise
    from bot.registrations import slot_for

    now = utc(NOW)
    with bot.rt.sessions() as db:
        mine = Place(name="市が登録した食堂", kind="shokudo", district="kozu", status="published", source="admin",
                     created_at=now, updated_at=now, hours=[PlaceHours(weekday=2, opens=900, closes=1080, weeks=0)])
        imported = Event(title="CSVのイベント", external_key="14206:1", starts_at=now + timedelta(days=2),
                         status="published", source="csv", created_at=now, updated_at=now, district="kozu")
        stale = Event(title="もう載っていないサンプル（サンプル）", external_key="sample:gone", starts_at=now,
                      status="published", source="sample", created_at=now, updated_at=now)
        db.add_all([mine, imported, stale])
        db.flush()
        for ev in (imported, stale):
            materialise(db, ev, now=now)
            slot_for(db, "event", ev.id, capacity=5, starts_at=ev.starts_at)
        db.commit()
        ids = mine.id, mine.hours[0].id, imported.id, stale.id

    def others() -> list:
        with bot.rt.sessions() as db:
            occ = [(o.starts_at, o.ends_at, o.district, o.visible)
                   for o in db.scalars(select(EventOccurrence).where(EventOccurrence.event_id == ids[2]))]
            slot = db.scalar(select(RegistrationSlot).where(RegistrationSlot.ref_id == ids[2]))
        return [row_of(bot, Place, ids[0]), row_of(bot, PlaceHours, ids[1]), row_of(bot, Event, ids[2]), occ,
                row_of(bot, RegistrationSlot, slot.id)]

    before = others()
    load(bot)
    load(bot, NOW + timedelta(days=1))
    assert others() == before
    with bot.rt.sessions() as db:  # the sample row the file no longer lists is gone, with what hung on it
        assert db.get(Event, ids[3]) is None
        assert db.scalar(select(func.count()).where(EventOccurrence.event_id == ids[3])) == 0
        assert db.scalar(select(func.count()).where(RegistrationSlot.ref_id == ids[3])) == 0
    # A key of the file that a non-sample row holds is refused as a whole: nothing is written.
    with bot.rt.sessions() as db:
        db.execute(Event.__table__.delete().where(Event.external_key == "sample:kozu-beach"))
        db.get(Event, ids[2]).external_key = "sample:kozu-beach"
        db.commit()
    assert_refused_as_a_whole(bot, lambda: load(bot, NOW + timedelta(days=2)), snapshot, "kozu-beach")
    # `remove` takes out exactly the sample rows.
    assert S.remove(bot.rt.sessions, loaders=LISTINGS) == ["listings: removed 26 places, 28 events, 9 sample residents"]
    with bot.rt.sessions() as db:
        assert [p.name for p in db.scalars(select(Place))] == ["市が登録した食堂"]
        assert [e.title for e in db.scalars(select(Event))] == ["CSVのイベント"]
        assert [s.ref_id for s in db.scalars(select(RegistrationSlot))] == [ids[2]]
        assert db.scalar(select(func.count()).select_from(PlaceHours)) == 1


def test_nothing_is_published_to_residents(bot, emulator):
    def load_twice():  # 国府津, where the resident listens, has sample places and events
        load(bot)
        load(bot, NOW + timedelta(days=1))

    assert_nothing_published(bot, emulator, load_twice)


def test_a_broken_file_loads_nothing_and_says_every_problem(bot, tmp_path, monkeypatch):
    def breaking(data):
        data["places"][0]["district"] = "atlantis"
        data["places"][1]["name"] = "印のない名前"
        data["places"][2]["hours"] = ["水曜の夕方"]
        data["events"][0]["when"] = {"on": "sat", "start": "09:00"}  # YAML 1.1 reads `on` as true
        data["events"][1]["action"] = 701  # not in the event's project 3
        data["events"][2]["rrule"] = "FREQ=SOMETIMES"

    broken = rewritten(tmp_path, S.listings_path("odawara"), breaking)
    monkeypatch.setattr(S, "listings_path", lambda city: broken)
    with pytest.raises(S.SampleDataError) as e:
        load(bot)
    text = "\n".join(e.value.problems)
    assert len(e.value.problems) == 6, text
    for part in ("unknown district 'atlantis'", "name must end with （サンプル）", "hours '水曜の夕方'",
                 "when needs in_days, or weekday", "action 701 is not in project 3", "RRULE"):
        assert part in text
    assert all(rows == [] for rows in snapshot(bot).values())


def test_the_command_loads_into_the_configured_database(bot, database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "KYODO_DEMO": "1"}
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "bot.cli", "sample", "load"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[:2] == [
            "loaded sample data (nothing was sent to residents):",
            "  listings: 26 places, 29 events (7 with registration, 1 nearly full) in 26 districts"]
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Event)) == 29
        assert db.scalar(select(func.count()).select_from(Place)) == 26
    out = subprocess.run([sys.executable, "-m", "bot.cli", "sample", "remove"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "removed 26 places, 29 events" in out.stdout


def test_the_demo_loads_the_samples_after_its_accounts():
    from bot.demo import SETUP_STEPS

    assert SETUP_STEPS.index("bot.sample_data:load_for_demo") > SETUP_STEPS.index("bot.admin.demo:demo_accounts")


def test_the_demo_organisation_owns_its_sample_rows(bot):
    from bot.admin.demo import DEMO_ORGANISATION
    from models.accounts import Organisation

    load(bot)
    with bot.rt.sessions() as db:
        assert all(e.organisation_id is None for e in db.scalars(select(Event)))  # no such organisation yet
        org = Organisation(name=DEMO_ORGANISATION, created_at=utc(NOW))
        db.add(org)
        db.commit()
    load(bot)
    with bot.rt.sessions() as db:
        owned = [e.title for e in db.scalars(select(Event).where(Event.organisation_id == org.id))]
        assert "こども食堂で一緒に料理をしよう（サンプル）" in owned
        assert db.scalar(select(func.count()).where(Place.organisation_id == org.id)) == 1


def test_sample_pages_show_this_weeks_events(bot):
    load_plan(bot.rt.sessions, default_plan_path("odawara"), bot.rt.now(), publish_news=False)
    bot.clock.set(NOW)
    load(bot)
    client = bot.app.test_client()
    html = client.get("/events").get_data(as_text=True)
    assert "（サンプル）" in html and "中止" in html
    with bot.rt.sessions() as db:
        cancelled = db.scalar(select(Event).where(Event.status == "cancelled"))
        pending = db.scalar(select(Event).where(Event.status == "pending"))
        place = db.scalar(select(Place).where(Place.external_key == "sample:midori-shokudo"))
    assert "このイベントは中止になりました" in client.get(f"/events/{cancelled.id}").get_data(as_text=True)
    assert client.get(f"/events/{pending.id}").status_code == 404
    assert "みどり子ども食堂（サンプル）" in client.get(f"/places/{place.id}").get_data(as_text=True)
    first = to_tokyo(utc(NOW)).date()
    assert f"{first.year}年{first.month}月" in html
