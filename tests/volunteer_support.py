"""Opportunities, shifts, names and sign-ups on fixed data for the volunteer tests (bot, jobs, race)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select

from bot import registrations as R
from bot.clock import utc
from emulator import new_user_id
from models.publications import Publication
from models.registrations import Registration
from models.users import User
from models.volunteer import Opportunity, Shift, VolunteerProfile


def add_opportunity(db, now: datetime, title: str, *, district: str | None = "kozu", status: str = "published",
                    **fields) -> Opportunity:
    now = utc(now)
    opp = Opportunity(title=title, district=district, status=status, created_at=now, updated_at=now,
                      published_at=now if status == "published" else None,
                      **{"place_name": "公民館", **fields})
    db.add(opp)
    db.flush()
    return opp


def add_shift(db, opp: Opportunity, now: datetime, starts: datetime, *, hours: float = 3, capacity: int = 5,
              **fields) -> Shift:
    # Stored as UTC: SQLite keeps an aware value as its wall time.
    fields = {k: utc(v) if isinstance(v, datetime) else v for k, v in fields.items()}
    sh = Shift(opportunity_id=opp.id, starts_at=utc(starts), ends_at=utc(starts + timedelta(hours=hours)),
               capacity=capacity, created_at=utc(now), updated_at=utc(now), **fields)
    db.add(sh)
    db.flush()
    R.slot_for(db, "shift", sh.id, capacity=capacity, starts_at=sh.starts_at, ends_at=sh.ends_at,
               closes_at=sh.signup_deadline, now=now)
    return sh


def residents(rt, n: int, *, named: bool = True) -> list[tuple[int, str]]:
    """n following residents as (users.id, LINE id), in id order, each with a name for organisers."""
    now = rt.now()
    with rt.engine.begin() as c:
        rows = c.execute(insert(User).returning(User.id, User.line_user_id, sort_by_parameter_order=True),
                         [{"line_user_id": new_user_id(), "active": True, "created_at": now, "followed_at": now}
                          for _ in range(n)]).all()
        if named:
            c.execute(insert(VolunteerProfile), [{"user_id": r[0], "display_name": f"住民{i}", "updated_at": now}
                                                 for i, r in enumerate(rows)])
    return [(r[0], r[1]) for r in rows]


def sign_up(db, shift: Shift, user_id: int, now: datetime, requested_at: datetime | None = None):
    return R.register(db, R.find_slot(db, "shift", shift.id).id, user_id, now=now, requested_at=requested_at)


def reg_of(db, shift_id: int, user_id: int) -> Registration | None:
    slot = R.find_slot(db, "shift", shift_id)
    return db.scalar(select(Registration).where(Registration.slot_id == slot.id, Registration.user_id == user_id))


def pushes(emulator, line_id: str, starting: str | None = None) -> list[dict]:
    """Push messages the emulator accepted for this resident (optionally: whose first text starts so)."""
    out = []
    for r in emulator.sent(user=line_id):
        if r["kind"] in ("push", "multicast"):
            first = r["messages"][0].get("text", "")
            if starting is None or starting in first:
                out.append(r)
    return out


def publications(db, prefix: str) -> list[Publication]:
    return list(db.scalars(select(Publication).where(Publication.ref.like(prefix + "%"))))
