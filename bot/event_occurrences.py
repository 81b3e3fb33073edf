"""An event's dates as rows: the first start, and each repetition of its RFC 5545 rule up to a horizon.

Searches ("this week", "near me", "in 国府津") then read one indexed table instead of expanding rules per
query. Rules are read by python-dateutil (rrulestr) in Tokyo wall time, so 「毎週土曜 10:00」 stays at
10:00 whatever UTC says. `materialise` is called after every change to an event (admin, CSV import,
sample data); `extend_all` (daily, from the scheduler) keeps long series filled ahead.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from dateutil.rrule import rrulestr
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.clock import TOKYO, utc
from models.events import VISIBLE, Event, EventOccurrence

HORIZON_DAYS = 366
MAX_OCCURRENCES = 400  # a daily rule over a year, and a bound on what one bad rule can write
DEFAULT_LENGTH = timedelta(hours=2)  # an event given only a start time
ALL_DAY_LENGTH = timedelta(days=1)


def _rule(text: str, first: datetime):
    """dateutil's rule for `text` starting at `first` (Tokyo wall time, naive): raises ValueError."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or len(body) > 500:
        raise ValueError("empty or multi-line rule")
    rule = rrulestr(body, dtstart=first, forceset=False, ignoretz=True)
    if not hasattr(rule, "_freq"):
        raise ValueError("not a single RRULE")
    return rule


def validate_rrule(text: str | None) -> str | None:
    """None when the rule is usable, else a Japanese message for the form or the import report."""
    if not text or not text.strip():
        return None
    try:
        rule = _rule(text, datetime(2026, 1, 1, 10, 0))
    except (ValueError, TypeError, OverflowError):
        return "繰り返しの指定（RRULE）を読み取れません。例: FREQ=WEEKLY;BYDAY=SA;COUNT=10"
    if rule._freq > 3:  # HOURLY, MINUTELY, SECONDLY: not how community events repeat
        return "繰り返しは「毎日」「毎週」「毎月」「毎年」のいずれかで指定してください。"
    return None


def length_of(event: Event) -> timedelta:
    if event.ends_at is not None:
        return utc(event.ends_at) - utc(event.starts_at)
    return ALL_DAY_LENGTH if event.all_day else DEFAULT_LENGTH


def starts_of(event: Event, *, now: datetime, horizon_days: int = HORIZON_DAYS) -> list[datetime]:
    """Every start (aware UTC) from a day before now up to now + horizon, at most MAX_OCCURRENCES (the
    first start alone when none falls in that window)."""
    first = utc(event.starts_at)
    if not event.rrule:
        return [first]
    local_first = first.astimezone(TOKYO).replace(tzinfo=None)
    until = (utc(now) + timedelta(days=horizon_days)).astimezone(TOKYO).replace(tzinfo=None)
    try:
        rule = _rule(event.rrule, local_first)
    except (ValueError, TypeError, OverflowError):
        return [first]  # a rule that cannot be read: the first date still shows (forms refuse such rules)
    # Dates already over are not kept (a series begun years ago would otherwise fill MAX_OCCURRENCES with
    # the past); a day back keeps today's earlier showings.
    since = max(local_first, (utc(now) - timedelta(days=1)).astimezone(TOKYO).replace(tzinfo=None))
    out = []
    for local in rule.xafter(since, count=MAX_OCCURRENCES, inc=True):
        if local > until:
            break
        out.append(local.replace(tzinfo=TOKYO).astimezone(first.tzinfo))
    return out or [first]


def materialise(db: Session, event: Event, *, now: datetime, horizon_days: int = HORIZON_DAYS) -> int:
    """Rebuild the event's occurrence rows (flushes the event first); returns how many it has."""
    if event.id is None:
        db.add(event)
        db.flush()
    db.execute(delete(EventOccurrence).where(EventOccurrence.event_id == event.id))
    length = length_of(event)
    visible = event.status in VISIBLE
    rows = [{"event_id": event.id, "starts_at": s, "ends_at": s + length, "district": event.district,
             "visible": visible} for s in starts_of(event, now=now, horizon_days=horizon_days)]
    db.execute(EventOccurrence.__table__.insert(), rows)
    db.expire(event, ["occurrences"])
    return len(rows)


def extend_all(db: Session, *, now: datetime) -> int:
    """Re-materialise every visible repeating event (daily job): an open-ended 「毎週土曜」 stays filled a
    year ahead."""
    n = 0
    for event in db.scalars(select(Event).where(Event.rrule.is_not(None), Event.status.in_(VISIBLE))):
        materialise(db, event, now=now)
        n += 1
    return n
