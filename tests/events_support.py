"""Events on fixed data for the event tests (search, bot, notices, reminders, the registration race), and kyodo
deliver's loop run to the end for the notice tests."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert

from bot.event_occurrences import materialise
from bot.fanout import Fanout
from emulator import new_user_id
from models.events import Event
from models.users import User


def add_event(db, now: datetime, title: str, *, starts: datetime, hours: float | None = 2, status: str = "published",
              district: str | None = "kozu", **fields) -> Event:
    """A saved event with its occurrences materialised. `hours`: its length (None = start only)."""
    ev = Event(title=title, starts_at=starts, ends_at=starts + timedelta(hours=hours) if hours is not None else None,
               status=status, district=district, created_at=now, updated_at=now,
               published_at=now if status in ("published", "cancelled") else None, **fields)
    db.add(ev)
    db.flush()
    materialise(db, ev, now=now)
    return ev


def add_residents(rt, n: int) -> list[tuple[int, str]]:
    """n following residents as (users.id, LINE id), in id order."""
    now = rt.now()
    with rt.engine.begin() as c:
        rows = c.execute(insert(User).returning(User.id, User.line_user_id, sort_by_parameter_order=True),
                         [{"line_user_id": new_user_id(), "active": True, "created_at": now, "followed_at": now}
                          for _ in range(n)]).all()
    return [(r[0], r[1]) for r in rows]


def deliver(rt) -> None:
    """kyodo deliver's loop in this process (2 senders, no pacing) until what is due now has gone out."""
    fan = Fanout(rt, threads=2, rate=0).start()
    try:
        fan.drain()
    finally:
        fan.shutdown()
