"""Volunteering's scheduled work, every 120 s (scheduler/jobs.py):

1. offers not accepted in time pass to the next in line (bot.registrations.expire_offers; the next is told
   by bot/volunteer_notices.on_promoted);
2. the day-before reminder at config.event_reminder_at (18:00 Tokyo), and 2 hours before the start when the
   opportunity asks for it (remind_2h; urgent, so quiet hours do not hold a reminder for a 7:00 shift);
3. after a shift ends, a thank-you with the hours recorded to each volunteer marked attended.

Each push goes through bot.personal_push.notify with a ref unique per registration and kind (a restarted or
second scheduler never sends twice: refs already queued are skipped here, and publish() is idempotent on
them besides); reminders carry guard_registration_id, so kyodo deliver sends them only while the sign-up
still holds its place and the shift has not started.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import registrations as R
from bot import volunteer_notices as N
from bot.clock import TOKYO, to_tokyo, utc
from bot.event_notices import reminder_at
from bot.event_search import day_range
from bot.personal_push import notify
from handlers import ui
from handlers import volunteer_flex as F
from handlers.flex import tail_quick
from models.publications import Publication
from models.registrations import ATTENDED, CONFIRMED, Registration, RegistrationSlot
from models.volunteer import KIND, OPEN, PUBLISHED, Opportunity, Shift

log = logging.getLogger("kyodo.jobs")
T = F.T
BATCH = 500
BEFORE = timedelta(hours=2)
THANKS_WITHIN = timedelta(days=7)  # attendance marked later than this after the shift is not thanked by push


def _rows(db: Session, *, starts_from: datetime | None = None, starts_before: datetime | None = None,
          ends_from: datetime | None = None, ends_before: datetime | None = None, status: str = CONFIRMED,
          changed_before: datetime | None = None, remind_2h: bool = False):
    S, SL = Shift, RegistrationSlot
    stmt = (select(Registration, S, Opportunity).join(SL, SL.id == Registration.slot_id)
            .join(S, (SL.kind == KIND) & (S.id == SL.ref_id)).join(Opportunity, Opportunity.id == S.opportunity_id)
            .where(Registration.status == status, Opportunity.status == PUBLISHED, S.status == OPEN))
    if status == CONFIRMED:
        stmt = stmt.where(SL.open.is_(True))
    for col, op, v in ((S.starts_at, ">=", starts_from), (S.starts_at, "<", starts_before),
                       (S.ends_at, ">=", ends_from), (S.ends_at, "<=", ends_before),
                       (Registration.changed_at, "<", changed_before)):
        if v is not None:
            stmt = stmt.where(col >= utc(v) if op == ">=" else col < utc(v) if op == "<" else col <= utc(v))
    if remind_2h:
        stmt = stmt.where(Opportunity.remind_2h.is_(True))
    return db.execute(stmt.order_by(S.starts_at, Registration.id).limit(BATCH * 4)).all()


def _unsent(db: Session, refs: list[str]) -> set[str]:
    sent: set[str] = set()
    for i in range(0, len(refs), 500):
        sent.update(db.scalars(select(Publication.ref).where(Publication.ref.in_(refs[i:i + 500]))))
    return set(refs) - sent


def _reminder(shift: Shift, opp: Opportunity, key: str, now: datetime) -> list[dict]:
    lines = [T[key].format(**N.words(shift, opp, now))]
    if opp.bring:
        lines.append(f"{T['bring']}：{opp.bring[:200]}")
    lines.append(T["reminder_end"])
    return [ui.text("\n".join(lines), tail_quick(
        ui.postback(T["btn_details"], "volunteer.show", f"{opp.title[:40]}を見る", id=shift.id),
        ui.postback(T["btn_regs"], "regs")))]


def remind(db: Session, *, now: datetime, at: str | None = "18:00") -> int:
    """Queue the due day-before and 2-hours-before reminders not yet queued; returns how many."""
    now = utc(now)
    local = to_tokyo(now)
    todo = []  # (registration, shift, opportunity, kind, urgent)
    due = datetime.combine(local.date(), reminder_at(at), TOKYO)
    if local >= due:
        lo, hi = day_range(local.date() + timedelta(days=1))
        # Signed up after the reminder time: the confirmation has just told them.
        todo += [(r, s, o, "day") for r, s, o in _rows(db, starts_from=lo, starts_before=hi, changed_before=due)]
    todo += [(r, s, o, "2h") for r, s, o in _rows(db, starts_from=now, starts_before=now + BEFORE + timedelta(minutes=1), remind_2h=True)
             if utc(s.starts_at) - BEFORE <= now and utc(r.changed_at) < utc(s.starts_at) - BEFORE]
    refs = {N.reminder_ref(r.id, k, s.starts_at): (r, s, o, k) for r, s, o, k in todo}
    n = 0
    for ref in sorted(_unsent(db, list(refs)))[:BATCH]:
        r, s, o, k = refs[ref]
        notify(db, user_ids=[r.user_id], messages=_reminder(s, o, "reminder_day" if k == "day" else "reminder_2h", now),
               now=now, ref=ref, guard_registration_id=r.id, urgent=k == "2h",
               title=f"{'前日' if k == 'day' else '2時間前'}のお知らせ: {o.title}"[:200])
        n += 1
    return n


def thank(db: Session, *, now: datetime) -> int:
    """A thank-you with the hours to each attended volunteer of a shift that has ended (once each)."""
    rows = _rows(db, ends_from=utc(now) - THANKS_WITHIN, ends_before=now, status=ATTENDED)
    refs = {N.thanks_ref(r.id): (r, s, o) for r, s, o in rows}
    n = 0
    for ref in sorted(_unsent(db, list(refs)))[:BATCH]:
        r, s, o = refs[ref]
        text = T["thanks"].format(hours=F.hours_text(s.minutes), **N.words(s, o, now))
        notify(db, user_ids=[r.user_id], now=now, ref=ref, title=f"お礼: {o.title}"[:200],
               messages=[ui.text(text, tail_quick(ui.postback(T["btn_record"], "volunteer.record"),
                                                  ui.postback(T["btn_find"], "volunteer")))])
        n += 1
    return n


def run(rt) -> dict:
    now = rt.now()
    with rt.sessions() as db:
        expired = len(R.expire_offers(db, now=now))
        db.commit()
    with rt.sessions() as db:
        reminded = remind(db, now=now, at=rt.config.event_reminder_at)
        thanked = thank(db, now=now)
        db.commit()
    if expired or reminded or thanked:
        log.info("volunteer: %d offers expired, %d reminders, %d thanks queued", expired, reminded, thanked)
    return {"expired": expired, "reminded": reminded, "thanked": thanked}
