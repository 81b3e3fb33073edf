"""The day-before reminder: a resident confirmed for an event that starts tomorrow (Tokyo) gets one push at
config.event_reminder_at (18:00 Tokyo) today, through bot.personal_push.notify (quiet hours kept, never capped).

Run every 300 s by the scheduler (scheduler/jobs.py). From the reminder time on, each run queues what is due
and not yet queued: the ref "reminder:reg:<registration>:<event date>" (bot/event_notices.reminder_ref) is
checked for all candidates in one query and makes publish() idempotent besides, so a restarted scheduler,
a second run or a missed run never sends twice, and a run after a downtime still sends before midnight.

Who: registrations still `confirmed` for an open slot of a published event (not 中止). Left out: those who
signed up (or were promoted) after today's reminder time, since their confirmation has just told them, and
the waitlisted. A resident who cancels before their reminder is sent has it withdrawn by the cancel
(bot/event_notices.withdraw_reminder) while kyodo deliver has not yet taken it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import TOKYO, to_tokyo, utc
from bot.event_notices import event_when, reminder_at, reminder_ref
from bot.event_search import day_range
from bot.personal_push import notify
from handlers import events_flex as F
from handlers import ui
from handlers.flex import tail_quick
from models.events import Event
from models.publications import Publication
from models.registrations import CONFIRMED, Registration, RegistrationSlot

log = logging.getLogger("kyodo.jobs")
T = F.T
KIND = "event"
BATCH = 1000  # registrations per transaction; the next run (5 minutes) takes the rest


def due_registrations(db: Session, now: datetime, at: str | None) -> list[tuple[int, int, int, datetime]]:
    """(registration id, users.id, event id, starts_at) of tomorrow's confirmed residents not yet reminded."""
    local = to_tokyo(now)
    due = datetime.combine(local.date(), reminder_at(at), TOKYO)
    if local < due:
        return []
    lo, hi = day_range(local.date() + timedelta(days=1))
    S = RegistrationSlot
    rows = db.execute(
        select(Registration.id, Registration.user_id, S.ref_id, S.starts_at)
        .join(S, S.id == Registration.slot_id).join(Event, Event.id == S.ref_id)
        .where(S.kind == KIND, S.open.is_(True), S.starts_at >= utc(lo), S.starts_at < utc(hi),
               Registration.status == CONFIRMED, Registration.changed_at < utc(due), Event.status == "published")
        .order_by(S.starts_at, Registration.id)).all()
    refs = {reminder_ref(r[0], to_tokyo(r[3]).date()): r for r in rows}
    sent: set[str] = set()
    keys = list(refs)
    for i in range(0, len(keys), 500):  # already queued, in one query per 500
        sent.update(db.scalars(select(Publication.ref).where(Publication.ref.in_(keys[i:i + 500]))))
    return [tuple(r) for ref, r in refs.items() if ref not in sent]


def _message(db: Session, event: Event, now: datetime) -> list[dict]:
    lines = [T["reminder"].format(title=event.title, when=event_when(db, event, now))]
    where = " ".join(p for p in (event.place_name, event.address) if p)
    if where:
        lines.append(T["reminder_where"].format(where=where))
    lines.append(T["reminder_end"])
    quick = tail_quick(ui.postback(T["btn_details"], "events.show", f"{event.title[:40]}を見る", id=event.id),
                       ui.postback(T["btn_regs"], "regs"))
    return [ui.text("\n".join(lines), quick)]


def remind(db: Session, *, now: datetime, at: str | None = "18:00", limit: int = BATCH) -> int:
    """Queue the due reminders (at most `limit`) in the caller's transaction; returns how many."""
    rows = due_registrations(db, now, at)[:limit]
    if not rows:
        return 0
    events = {e.id: e for e in db.scalars(select(Event).where(Event.id.in_({r[2] for r in rows})))}
    messages: dict[int, list[dict]] = {}
    for reg_id, user_id, event_id, starts_at in rows:
        event = events[event_id]
        if event_id not in messages:
            messages[event_id] = _message(db, event, now)
        notify(db, user_ids=[user_id], messages=messages[event_id], now=now,
               ref=reminder_ref(reg_id, to_tokyo(starts_at).date()), title=f"前日のお知らせ: {event.title}"[:200],
               guard_registration_id=reg_id)  # checked again when sent: cancelled or started -> not sent
    return len(rows)


def run(rt) -> int:
    now = rt.now()
    with rt.sessions() as db:
        n = remind(db, now=now, at=rt.config.event_reminder_at)
        db.commit()
    if n:
        log.info("event reminders: queued %d", n)
    return n
