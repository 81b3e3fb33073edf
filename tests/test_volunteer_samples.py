"""`kyodo sample load`, volunteering (bot/volunteer_samples.py, cities/odawara/sample_volunteer.yaml): loading
twice gives the same rows, other rows are never touched, nothing reaches residents, every title is marked
（サンプル）, and the demo's cases are there whatever the day: 10 places in the coming week, a nearly full shift
held by the events' sample residents, an early shift with a 2-hour reminder. Both databases."""
from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select

from bot import registrations as R
from bot import sample_data as S
from bot import volunteer_samples as V
from bot.clock import TOKYO, to_tokyo, utc
from bot.plan_loader import default_plan_path, districts_path_for, read_districts, read_plan
from models.registrations import Registration, RegistrationSlot
from models.users import User
from models.volunteer import Opportunity, Shift
from tests.sample_support import (NOW, add_resident, assert_nothing_published, assert_refused_as_a_whole, plain,
                                  rewritten)
from tests.sample_support import snapshot as rows_of

VOLUNTEER = [ld for ld in S.LOADERS if ld.name == "volunteer"]
LINE = "volunteer: 6 opportunities, 9 shifts (1 nearly full, 2 with a 2-hour reminder) in 6 districts, 5 projects"


def load(bot, now=NOW, loaders=VOLUNTEER) -> list[str]:
    return S.load(bot.rt.sessions, city="odawara", now=now, loaders=loaders)


def snapshot(bot) -> dict:
    """Every column of every row the volunteer loader writes."""
    return rows_of(bot, (Opportunity, Shift, RegistrationSlot, Registration, User))


def shifts_by_key(db) -> dict[str, list[Shift]]:
    return {o.external_key[len("sample:"):]: sorted(o.shifts, key=lambda s: s.id)
            for o in db.scalars(select(Opportunity))}


def test_load_twice_gives_the_same_rows(bot):
    assert load(bot) == [LINE]
    before = snapshot(bot)
    assert load(bot) == [LINE]
    assert snapshot(bot) == before
    assert len(before["volunteer_opportunities"]) == 6 and len(before["volunteer_shifts"]) == 9


def test_reloading_moves_dates_keeps_ids_and_a_residents_place(bot):
    load(bot)
    with bot.rt.sessions() as db:
        ids = {k: [s.id for s in v] for k, v in shifts_by_key(db).items()}
        salon = shifts_by_key(db)["sakurai-salon-tea"][0]
        starts = utc(salon.starts_at)
        slot = R.find_slot(db, "shift", salon.id)
        uid, _ = add_resident(bot)
        assert R.register(db, slot.id, uid, now=utc(NOW)).status == "confirmed"  # the last place
        db.commit()
    load(bot, NOW + timedelta(days=1))
    with bot.rt.sessions() as db:
        assert {k: [s.id for s in v] for k, v in shifts_by_key(db).items()} == ids
        salon = db.get(Shift, ids["sakurai-salon-tea"][0])
        assert utc(salon.starts_at) == starts + timedelta(days=1)
        slot = R.find_slot(db, "shift", salon.id)
        assert utc(slot.starts_at) == utc(salon.starts_at) and utc(slot.closes_at) == utc(salon.signup_deadline)
        assert (slot.capacity, slot.confirmed, slot.waiting) == (5, 5, 0)  # hers is kept, no sample one added
        assert db.scalar(select(Registration.status).where(Registration.user_id == uid)) == "confirmed"


def test_titles_districts_projects_and_the_demo_cases(bot):
    keys = {d.key: d for d in read_districts(districts_path_for(default_plan_path("odawara"))).districts}
    plan = read_plan(default_plan_path("odawara"))
    project_of = {a.no: p.no for p in plan.projects for a in p.actions}
    load(bot, loaders=S.LOADERS)  # with the listings: the sample residents are shared
    with bot.rt.sessions() as db:
        opportunities = list(db.scalars(select(Opportunity)))
        assert all(o.title.endswith("（サンプル）") for o in opportunities)
        assert all(o.source == "sample" and o.external_key.startswith("sample:") for o in opportunities)
        assert all(o.status == "published" and o.published_at is not None for o in opportunities)
        for o in opportunities:
            c = keys[o.district].center
            assert abs(o.lat - c.lat) < 0.005 and abs(o.lon - c.lon) < 0.005, o.district
            assert o.action is None or project_of[o.action] == o.project
        assert len({o.district for o in opportunities}) == 6 and len({o.project for o in opportunities}) == 5
        shifts = [s for o in opportunities for s in o.shifts]
        assert all(utc(s.starts_at) > utc(NOW) and s.ends_at > s.starts_at for s in shifts)
        slots = {s.ref_id: s for s in db.scalars(select(RegistrationSlot).where(RegistrationSlot.kind == "shift"))}
        assert set(slots) == {s.id for s in shifts}
        assert all(slots[s.id].capacity == s.capacity and slots[s.id].open for s in shifts)
        # Nearly full: 4 of 5 places held by the events' own sample residents (nine in all, none following).
        assert sorted((sl.capacity, sl.confirmed) for sl in slots.values() if sl.confirmed) == [(5, 4)]
        residents = db.scalars(select(User).where(User.line_user_id.like("Usample%"))).all()
        assert len(residents) == 9 and not any(u.active for u in residents)
        # The early beach clean-up reminds two hours before too.
        early = [o for o in opportunities if o.remind_2h]
        assert [o.external_key for o in early] == ["sample:kozu-beach-cleanup"]
        assert all(to_tokyo(s.starts_at).hour == 7 for s in early[0].shifts)
    assert S.remove(bot.rt.sessions) == ["listings: removed 26 places, 29 events, 9 sample residents",
                                         "volunteer: removed 6 opportunities, 9 shifts",
                                         "surveys: removed 1 surveys, 0 responses"]


@pytest.mark.parametrize("days, hour", [(0, 9), (0, 23), (2, 11), (3, 20), (40, 6)])
def test_ten_places_are_open_in_the_coming_week_whatever_the_day(bot, days, hour):
    now = datetime.combine((NOW + timedelta(days=days)).date(), datetime.min.time(), TOKYO) + timedelta(hours=hour)
    load(bot, now)
    with bot.rt.sessions() as db:
        ten = [s for s in db.scalars(select(Shift).where(Shift.capacity == 10))
               if utc(now) < utc(s.starts_at) <= utc(now) + timedelta(days=7)]
        assert len(ten) == 1, now
        slot = R.find_slot(db, "shift", ten[0].id)
        assert slot.open and slot.confirmed == 0 and slot.closes_at is None
        uid, _ = add_resident(bot)
        assert R.register(db, slot.id, uid, now=utc(now)).status == "confirmed"  # sign-up works right away
        # and nothing the demo shows has begun or closed already
        for s in db.scalars(select(Shift)):
            assert utc(s.starts_at) > utc(now)
            assert s.signup_deadline is None or utc(now) < utc(s.signup_deadline) <= utc(s.starts_at)


def test_other_rows_are_never_touched_and_stale_samples_go(bot):
    now = utc(NOW)
    uid, _ = add_resident(bot)
    with bot.rt.sessions() as db:
        mine = Opportunity(title="市の清掃ボランティア", district="kozu", status="published", source="admin",
                           created_at=now, updated_at=now)
        stale = Opportunity(title="もう載っていない活動（サンプル）", external_key="sample:gone", district="kozu",
                            status="published", source="sample", created_at=now, updated_at=now)
        db.add_all([mine, stale])
        db.flush()
        for opp in (mine, stale):
            shift = Shift(opportunity_id=opp.id, starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2,
                          hours=2), capacity=3, created_at=now, updated_at=now)
            db.add(shift)
            db.flush()
            slot = R.slot_for(db, "shift", shift.id, capacity=3, starts_at=shift.starts_at, ends_at=shift.ends_at)
            R.register(db, slot.id, uid, now=now)
        db.commit()
        ids = mine.id, mine.shifts[0].id, stale.id, stale.shifts[0].id

    def others() -> dict:
        with bot.rt.sessions() as db:
            slot = R.find_slot(db, "shift", ids[1])
            rows = [db.get(Opportunity, ids[0]), db.get(Shift, ids[1]), slot,
                    db.scalar(select(Registration).where(Registration.slot_id == slot.id))]
            return {type(r).__name__: tuple(plain(getattr(r, c.key)) for c in inspect(type(r)).mapper.column_attrs)
                    for r in rows}

    before = others()
    assert load(bot) == [LINE + "; removed 1 opportunities, 1 shifts no longer listed"]
    load(bot, NOW + timedelta(days=1))
    assert others() == before
    with bot.rt.sessions() as db:  # the sample row the file no longer lists is gone, with what hung on it
        assert db.get(Opportunity, ids[2]) is None and db.get(Shift, ids[3]) is None
        assert R.find_slot(db, "shift", ids[3]) is None
        assert db.scalar(select(func.count()).select_from(Registration).where(Registration.user_id == uid)) == 1
    # A key of the file that a non-sample row holds is refused as a whole: nothing is written.
    with bot.rt.sessions() as db:
        victim = db.scalar(select(Opportunity).where(Opportunity.external_key == "sample:soga-ume-harvest"))
        V._delete_opportunities(db, [victim])
        db.get(Opportunity, ids[0]).external_key = "sample:soga-ume-harvest"
        db.commit()
    assert_refused_as_a_whole(bot, lambda: load(bot, NOW + timedelta(days=2)), snapshot, "soga-ume-harvest")
    # `remove` takes out exactly the sample rows.
    assert S.remove(bot.rt.sessions, loaders=VOLUNTEER) == ["volunteer: removed 5 opportunities, 8 shifts"]
    with bot.rt.sessions() as db:
        assert [o.title for o in db.scalars(select(Opportunity))] == ["市の清掃ボランティア"]
        assert [s.id for s in db.scalars(select(Shift))] == [ids[1]]
        assert [s.ref_id for s in db.scalars(select(RegistrationSlot))] == [ids[1]]
        assert db.scalar(select(func.count()).select_from(Registration)) == 1


def test_a_shift_taken_off_the_file_goes_and_the_others_keep_their_ids(bot, tmp_path, monkeypatch):
    load(bot)
    with bot.rt.sessions() as db:
        beach = [s.id for s in shifts_by_key(db)["kozu-beach-cleanup"]]
    shorter = rewritten(tmp_path, V.volunteer_path("odawara"), lambda data: data["opportunities"][1]["shifts"].pop())
    monkeypatch.setattr(V, "volunteer_path", lambda city: shorter)
    (line,) = load(bot)
    assert line.endswith("; removed 0 opportunities, 1 shifts no longer listed")
    with bot.rt.sessions() as db:
        assert [s.id for s in shifts_by_key(db)["kozu-beach-cleanup"]] == beach[:1]
        assert R.find_slot(db, "shift", beach[1]) is None


def test_nothing_is_published_to_residents(bot, emulator):
    def load_twice():  # 国府津, where the resident listens, has a sample opportunity
        load(bot, loaders=S.LOADERS)
        load(bot, NOW + timedelta(days=1), loaders=S.LOADERS)

    assert_nothing_published(bot, emulator, load_twice)


def test_removing_the_samples_promises_no_place_to_a_waitlisted_resident(bot, monkeypatch):
    importlib.import_module(R.FEATURE_MODULES["shift"])  # first, or its import would replace the notifier below
    told = []
    monkeypatch.setitem(R._NOTIFIERS, "shift", lambda db, reg, slot, now: told.append(reg.user_id))
    now = bot.rt.now()  # the real clock: a deletion cancels places as of now
    load(bot, now, loaders=S.LOADERS)
    with bot.rt.sessions() as db:
        slot = R.find_slot(db, "shift", shifts_by_key(db)["sakurai-salon-tea"][0].id)
        first, second = add_resident(bot)[0], add_resident(bot)[0]
        assert R.register(db, slot.id, first, now=now).status == "confirmed"
        assert R.register(db, slot.id, second, now=now).status == "waitlisted"
        db.commit()
    S.remove(bot.rt.sessions)
    assert told == []  # the shift is being removed: "a place is yours" would be a false promise


def test_a_broken_file_loads_nothing_and_says_every_problem(bot, tmp_path, monkeypatch):
    def breaking(data):
        opp = data["opportunities"]
        opp[0]["district"] = "atlantis"
        opp[1]["title"] = "印のない活動"
        opp[2]["action"] = 701  # not in project 1
        opp[3]["shifts"][0]["when"] = {"on": "sat", "start": "09:00", "end": "10:00"}  # YAML 1.1 reads `on` as true
        opp[4]["shifts"][0]["when"]["end"] = "08:00"
        opp[4]["shifts"][1]["capacity"] = 0
        opp[5]["shifts"][0]["taken"] = 3

    broken = rewritten(tmp_path, V.volunteer_path("odawara"), breaking)
    monkeypatch.setattr(V, "volunteer_path", lambda city: broken)
    with pytest.raises(S.SampleDataError) as e:
        load(bot)
    text = "\n".join(e.value.problems)
    assert len(e.value.problems) == 7, text
    for part in ("unknown district 'atlantis'", "title must end with （サンプル）", "action 701 is not in project 1",
                 "when needs in_days, or weekday", "end must be after start", "capacity 0", "taken 3"):
        assert part in text
    assert all(rows == [] for rows in snapshot(bot).values())
