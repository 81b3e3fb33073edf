"""bot/event_occurrences.py: an event's dates as rows; RFC 5545 rules in Tokyo wall time; bad rules refused."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.clock import TOKYO, utc
from bot.event_occurrences import materialise, validate_rrule
from models.events import CANCELLED, DRAFT, PUBLISHED, Event, EventOccurrence


def _event(**kw):
    now = utc(datetime(2026, 11, 1, tzinfo=TOKYO))
    base = dict(title="t", starts_at=utc(datetime(2026, 12, 5, 10, 0, tzinfo=TOKYO)),
                ends_at=utc(datetime(2026, 12, 5, 12, 0, tzinfo=TOKYO)), status=PUBLISHED, district="kozu",
                created_at=now, updated_at=now)
    base.update(kw)
    return Event(**base)


def _rows(db, event):
    return [(utc(o.starts_at).astimezone(TOKYO), utc(o.ends_at) - utc(o.starts_at), o.district, o.visible)
            for o in db.scalars(select(EventOccurrence).where(EventOccurrence.event_id == event.id)
                                .order_by(EventOccurrence.starts_at))]


def test_single_and_weekly_in_tokyo_wall_time(bot):
    now = utc(datetime(2026, 11, 1, tzinfo=TOKYO))
    with bot.rt.sessions() as db:
        one = _event()
        assert materialise(db, one, now=now) == 1
        weekly = _event(rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=4", ends_at=None)
        materialise(db, weekly, now=now)
        db.commit()
        assert _rows(db, one) == [(datetime(2026, 12, 5, 10, 0, tzinfo=TOKYO), timedelta(hours=2), "kozu", True)]
        got = _rows(db, weekly)
        assert [r[0].date().isoformat() for r in got] == ["2026-12-05", "2026-12-12", "2026-12-19", "2026-12-26"]
        assert all(r[0].hour == 10 and r[1] == timedelta(hours=2) for r in got)


def test_open_ended_rule_stops_at_the_horizon_and_status_sets_visibility(bot):
    now = utc(datetime(2026, 11, 1, tzinfo=TOKYO))
    with bot.rt.sessions() as db:
        ev = _event(rrule="FREQ=DAILY", status=DRAFT)
        assert materialise(db, ev, now=now, horizon_days=60) == 26  # 12/5 .. 12/30 (the horizon ends 12/31 0:00)
        assert not any(r[3] for r in _rows(db, ev))
        ev.status = CANCELLED
        materialise(db, ev, now=now, horizon_days=60)
        assert all(r[3] for r in _rows(db, ev))  # 中止 stays visible


def test_a_long_running_series_keeps_its_future_not_its_past(bot):
    now = utc(datetime(2026, 11, 1, tzinfo=TOKYO))
    with bot.rt.sessions() as db:
        ev = _event(starts_at=utc(datetime(2024, 1, 6, 10, 0, tzinfo=TOKYO)), ends_at=None, rrule="FREQ=DAILY")
        materialise(db, ev, now=now, horizon_days=30)
        got = [r[0].date().isoformat() for r in _rows(db, ev)]
        assert got[0] == "2026-10-31" and got[-1] == "2026-11-30"


def test_validate_rrule():
    assert validate_rrule("FREQ=WEEKLY;BYDAY=SA;COUNT=10") is None
    assert validate_rrule("RRULE:FREQ=MONTHLY;BYDAY=2SA") is None
    assert validate_rrule("") is None
    assert "読み取れません" in validate_rrule("毎週土曜")
    assert "読み取れません" in validate_rrule("FREQ=WEEKLY\nX")
    assert "毎日" in validate_rrule("FREQ=HOURLY;COUNT=3")
