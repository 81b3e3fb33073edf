"""A volunteer deletes their data (models.privacy.delete_personal_data, and 退会 on LINE): the name they gave is
gone, so are their sign-ups (rosters no longer show them), the next on the waitlist of their upcoming shift is
promoted and told once, and only anonymous totals of their attended hours remain, by fiscal year (April-March,
Tokyo) and opportunity. Other residents' data is untouched. Both databases."""
from __future__ import annotations

import importlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select

from bot import registrations as R
from bot.clock import TOKYO, utc
from models.accounts import Organisation
from models.privacy import delete_personal_data
from models.registrations import ATTENDED, NO_SHOW, Registration, RegistrationSlot
from models.volunteer import AnonymousHours, Opportunity, Shift, VolunteerProfile, fiscal_year_of
from tests.privacy_support import delete_on_line, two_followers, user_by_line


def tokyo(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


# Past shifts (start, end, attended?), by opportunity. 2026-04-01 07:00 in Tokyo is still March 31 in UTC: the
# fiscal year must be read in Tokyo.
CLEANUP = [(tokyo(2026, 3, 29, 9, 0), tokyo(2026, 3, 29, 12, 0), ATTENDED),      # 令和7年度, 180 min
           (tokyo(2026, 4, 1, 7, 0), tokyo(2026, 4, 1, 9, 0), ATTENDED),         # 令和8年度, 120 min
           (tokyo(2026, 6, 14, 9, 0), tokyo(2026, 6, 14, 11, 30), ATTENDED),     # 令和8年度, 150 min
           (tokyo(2026, 7, 5, 9, 0), tokyo(2026, 7, 5, 11, 0), NO_SHOW)]         # not counted
KITCHEN = [(tokyo(2026, 10, 4, 16, 0), tokyo(2026, 10, 4, 19, 0), ATTENDED)]     # 令和8年度, 180 min


def _opportunity(db, title: str, org_id: int | None, now: datetime) -> Opportunity:
    opp = Opportunity(title=title, district="kozu", status="published", organisation_id=org_id, created_at=now,
                      updated_at=now)
    db.add(opp)
    db.flush()
    return opp


def _shift(db, opp: Opportunity, starts: datetime, ends: datetime, capacity: int, now: datetime) -> int:
    shift = Shift(opportunity_id=opp.id, starts_at=utc(starts), ends_at=utc(ends), capacity=capacity,
                  created_at=now, updated_at=now)
    db.add(shift)
    db.flush()
    return R.slot_for(db, "shift", shift.id, capacity=capacity, starts_at=starts, ends_at=ends).id


def _attended(db, opp, shifts, users: list[int], now: datetime) -> list[int]:
    """Past shifts the residents signed up for (a week before) and then attended or missed."""
    slots = []
    for starts, ends, status in shifts:
        slot_id = _shift(db, opp, starts, ends, 5, now)
        for uid in users:
            reg = R.register(db, slot_id, uid, now=utc(starts) - timedelta(days=7)).registration
            reg.status = status  # checked in at the door (the roster's 出席 / 欠席)
            reg.history = [*reg.history, [status, utc(starts).isoformat()]]
        slots.append(slot_id)
    db.flush()
    return slots


@pytest.fixture
def volunteers(bot, emulator):
    """Two residents who follow the bot, both with a name for sign-ups and the same past shifts; the first holds
    the one place of an upcoming shift, the second waits for it, and the first also waits elsewhere."""
    leaver, other = two_followers(bot, emulator)
    now = bot.rt.now()
    with bot.rt.sessions() as db:
        org = Organisation(name="国府津海岸を守る会", created_at=now)
        db.add(org)
        db.flush()
        uid, oid = user_by_line(db, leaver).id, user_by_line(db, other).id
        db.add_all([VolunteerProfile(user_id=uid, display_name="海野はるか", updated_at=now),
                    VolunteerProfile(user_id=oid, display_name="浜田", updated_at=now)])
        cleanup = _opportunity(db, "海岸清掃", org.id, now)
        kitchen = _opportunity(db, "こども食堂の調理", None, now)
        past = _attended(db, cleanup, CLEANUP, [uid, oid], now) + _attended(db, kitchen, KITCHEN, [uid, oid], now)
        # Upcoming (three days ahead: a promotion is a confirmed place, not an offer), with one place.
        soon = now + timedelta(days=3)
        upcoming = _shift(db, kitchen, soon, soon + timedelta(hours=3), 1, now)
        assert R.register(db, upcoming, uid, now=now).status == "confirmed"
        assert R.register(db, upcoming, oid, now=now + timedelta(seconds=1)).status == "waitlisted"
        full = _shift(db, cleanup, soon + timedelta(days=1), soon + timedelta(days=1, hours=2), 1, now)
        assert R.register(db, full, oid, now=now).status == "confirmed"
        assert R.register(db, full, uid, now=now).status == "waitlisted"
        db.commit()
        return dict(leaver=leaver, other=other, uid=uid, oid=oid, org=org.id, cleanup=cleanup.id,
                    kitchen=kitchen.id, past=past, upcoming=upcoming, full=full)


def _delete_directly(bot, emulator, v) -> None:
    with bot.rt.sessions() as db:
        ran = delete_personal_data(db, user_by_line(db, v["leaver"]))
        db.commit()
    assert ran.index("volunteer") < ran.index("registrations")  # the attended rows are read before they go


def _delete_on_line(bot, emulator, v) -> None:
    delete_on_line(bot, emulator, v["leaver"])


@pytest.mark.parametrize("delete", [_delete_directly, _delete_on_line], ids=["delete_personal_data", "LINE"])
def test_a_volunteer_who_deletes_their_data_leaves_only_anonymous_hours(bot, emulator, volunteers, monkeypatch,
                                                                         delete):
    v = volunteers
    importlib.import_module(R.FEATURE_MODULES["shift"])  # first, or its import would replace the notifier below
    told = []
    monkeypatch.setitem(R._NOTIFIERS, "shift", lambda db, reg, slot, now: told.append((reg.user_id, slot.id,
                                                                                       reg.status)))
    with bot.rt.sessions() as db:
        before = {(s, r.user_id, r.status, tuple(map(tuple, r.history)))
                  for s in v["past"] for r in R.roster(db, s) if r.user_id == v["oid"]}
    delete(bot, emulator, v)

    with bot.rt.sessions() as db:
        # The name and the person are gone; their sign-ups with them, so no roster shows them.
        assert user_by_line(db, v["leaver"]) is None
        assert db.get(VolunteerProfile, v["uid"]) is None
        assert db.scalar(select(func.count()).select_from(Registration).where(Registration.user_id == v["uid"])) == 0
        assert all(r.user_id != v["uid"] for s in [*v["past"], v["upcoming"], v["full"]] for r in R.roster(db, s))
        # Their upcoming place went to the next in line, who was told once; the waitlist they were on shrank.
        assert told == [(v["oid"], v["upcoming"], "confirmed")]
        up, full = db.get(RegistrationSlot, v["upcoming"]), db.get(RegistrationSlot, v["full"])
        assert (up.confirmed, up.waiting) == (1, 0) and (full.confirmed, full.waiting) == (1, 0)
        assert [(r.user_id, r.status) for r in R.roster(db, v["upcoming"])] == [(v["oid"], "confirmed")]
        # Only totals remain: per fiscal year (Tokyo) and opportunity, with the organisation, and no person.
        hours = {(h.fiscal_year, h.opportunity_id, h.organisation_id): (h.shifts, h.minutes)
                 for h in db.scalars(select(AnonymousHours))}
        assert hours == {(2025, v["cleanup"], v["org"]): (1, 180),
                         (2026, v["cleanup"], v["org"]): (2, 270),
                         (2026, v["kitchen"], None): (1, 180)}
        assert db.scalar(select(func.count()).select_from(AnonymousHours)) == 3  # one row per total
        assert not {"user_id", "display_name", "line_user_id"} & {c.key for c in inspect(AnonymousHours).columns}
        # The other volunteer keeps their name, past shifts and history exactly.
        assert db.get(VolunteerProfile, v["oid"]).display_name == "浜田"
        after = {(s, r.user_id, r.status, tuple(map(tuple, r.history)))
                 for s in v["past"] for r in R.roster(db, s) if r.user_id == v["oid"]}
        assert after == before and len(after) == 5


def test_fiscal_years_are_read_in_tokyo():
    assert fiscal_year_of(utc(tokyo(2026, 4, 1, 7, 0))) == 2026  # 2026-03-31 22:00 UTC
    assert fiscal_year_of(tokyo(2026, 3, 31, 23, 59)) == 2025
    assert fiscal_year_of(datetime(2026, 3, 31, 15, 0)) == 2026  # naive, as SQLite returns it: UTC


def test_a_resident_with_no_volunteering_leaves_no_hours(bot, emulator, user_id):
    emulator.send_follow(user_id)
    bot.settle()
    with bot.rt.sessions() as db:
        user = user_by_line(db, user_id)
        db.add(VolunteerProfile(user_id=user.id, display_name="名前だけ", updated_at=bot.rt.now()))
        db.commit()
        delete_personal_data(db, user)
        db.commit()
        assert db.scalar(select(func.count()).select_from(VolunteerProfile)) == 0
        assert db.scalar(select(func.count()).select_from(AnonymousHours)) == 0
