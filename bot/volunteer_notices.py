"""What volunteers are told about their own sign-ups, by push (bot.personal_push.notify, each with a ref
unique to what it tells, so a retried handler or a second scheduler never tells twice):

- a place freed from the waitlist (on_promoted, kind "shift"): confirmed, or, within 24 hours of the start,
  OFFERED with 参加する / 辞退する to answer within 3 hours (offer_when_close; the scheduler passes expired
  offers on) — ref "shift:promoted:<registration>:<its change count>";
- a shift cancelled (shift_cancelled) or changed (shift_changed), a message from the organiser
  (message_volunteers);
- reminders and thanks are queued by scheduler/volunteer_jobs.py with the refs made here; a cancelled
  sign-up has its queued reminders withdrawn (on_cancelled), and the guard checks again at send time.

Imported by bot.registrations (FEATURE_MODULES["shift"]) before any promotion or cancellation of a shift.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import registrations as R
from bot.clock import utc
from bot.personal_push import notify
from bot.publish import cancel as cancel_publication
from handlers import ui
from handlers import volunteer_flex as F
from handlers.flex import tail_quick
from models.publications import Publication
from models.registrations import CONFIRMED, OFFERED, Registration, RegistrationSlot
from models.volunteer import KIND, Opportunity, Shift

T = F.T
OFFER_WITHIN = timedelta(hours=24)
OFFER_ANSWER_IN = timedelta(hours=3)
REMINDER_KINDS = ("day", "2h")


# -- refs (one per registration and kind, and per start time: a moved shift is reminded again) --------------------

def reminder_ref(registration_id: int, kind: str, starts_at: datetime) -> str:
    return f"shift:reminder:{kind}:{registration_id}:{utc(starts_at).strftime('%Y%m%dT%H%M')}"


def thanks_ref(registration_id: int) -> str:
    return f"shift:thanks:{registration_id}"


# -- shared pieces -------------------------------------------------------------------------------------------------

def _regs_quick() -> list[dict]:
    return tail_quick(ui.postback(T["btn_regs"], "regs"))


def words(shift: Shift, opportunity: Opportunity, now: datetime | None) -> dict:
    return dict(title=opportunity.title[:60], when=F.shift_when(shift, now), where=F.where_text(opportunity))


def volunteers(db: Session, shift_id: int, statuses=R.ACTIVE) -> list[int]:
    """users.id of the shift's sign-ups in `statuses`."""
    return list(db.scalars(select(Registration.user_id).join(RegistrationSlot, RegistrationSlot.id == Registration.slot_id)
                           .where(RegistrationSlot.kind == KIND, RegistrationSlot.ref_id == shift_id,
                                  Registration.status.in_(tuple(statuses))).order_by(Registration.user_id)))


# -- promotion ------------------------------------------------------------------------------------------------------

def offer_messages(reg: Registration, shift: Shift, opp: Opportunity, now: datetime) -> list[dict]:
    until = reg.offer_expires_at or shift.starts_at
    w = words(shift, opp, now)
    q = T["promoted_offered"].format(until=f"{F.when_text(until, None, now=now).rstrip('〜')}", **w)
    return [ui.text(q[:5000]),
            ui.confirm(q, T["join_confirm"].format(**w)[:240],
                       ui.postback(T["btn_accept"], "volunteer.accept", T["btn_accept"], reg=reg.id),
                       ui.postback(T["btn_decline"], "regs.cancel", T["btn_decline"], reg=reg.id))]


def on_promoted(db: Session, reg: Registration, slot: RegistrationSlot, now: datetime) -> None:
    shift = db.get(Shift, slot.ref_id)
    if shift is None:
        return
    opp = shift.opportunity
    if reg.status == OFFERED:
        msgs = offer_messages(reg, shift, opp, now)
    else:
        msgs = [ui.text(T["promoted_confirmed"].format(**words(shift, opp, now)), _regs_quick())]
    notify(db, user_ids=[reg.user_id], messages=msgs, now=now, title=f"繰り上げ: {opp.title}"[:200],
           ref=f"shift:promoted:{reg.id}:{len(reg.history or [])}")


def withdraw_reminders(db: Session, reg: Registration, slot: RegistrationSlot, now=None) -> int:
    """A cancelled sign-up's reminders not yet taken by kyodo deliver are cancelled (the guard stops the rest)."""
    refs = [reminder_ref(reg.id, k, slot.starts_at) for k in REMINDER_KINDS]
    n = 0
    for pub_id in db.scalars(select(Publication.id).where(Publication.ref.in_(refs))):
        n += bool(cancel_publication(db, pub_id))
    return n


R.offer_when_close(KIND, within=OFFER_WITHIN, answer_in=OFFER_ANSWER_IN)
R.on_promoted(KIND, on_promoted)
R.on_cancelled(KIND, withdraw_reminders)


# -- the organiser's changes and messages -------------------------------------------------------------------------

def shift_cancelled(db: Session, shift: Shift, *, now: datetime) -> Publication | None:
    """Close the sign-up and tell everyone signed up or waiting that the shift is cancelled (中止), once."""
    R.close_slot(db, KIND, shift.id, now=now)
    users = volunteers(db, shift.id)
    if not users:
        return None
    text = T["cancelled_push"].format(**words(shift, shift.opportunity, now))
    return notify(db, user_ids=users, messages=[ui.text(text, _regs_quick())], now=now,
                  ref=f"shift:{shift.id}:cancelled", title=f"中止: {shift.opportunity.title}"[:200])


def shift_changed(db: Session, shift: Shift, *, now: datetime) -> Publication | None:
    """Tell everyone signed up or waiting that the shift changed (once per saved version: its updated_at)."""
    users = volunteers(db, shift.id)
    if not users:
        return None
    text = T["changed_push"].format(**words(shift, shift.opportunity, now))
    stamp = utc(shift.updated_at or now).strftime("%Y%m%dT%H%M%S%f")
    return notify(db, user_ids=users, messages=[ui.text(text, _regs_quick())], now=now,
                  ref=f"shift:{shift.id}:changed:{stamp}", title=f"変更: {shift.opportunity.title}"[:200])


def message_volunteers(db: Session, shift: Shift, text: str, *, now: datetime,
                       ref: str | None = None) -> Publication | None:
    """The organiser's message to the shift's confirmed volunteers (those holding a place)."""
    users = volunteers(db, shift.id, statuses=(CONFIRMED, OFFERED))
    if not users:
        return None
    body = T["message_push"].format(text=text.strip()[:1500], **words(shift, shift.opportunity, now))
    ref = ref or f"shift:{shift.id}:message:{utc(now).strftime('%Y%m%dT%H%M%S%f')}"
    return notify(db, user_ids=users, messages=[ui.text(body, _regs_quick())], now=now, ref=ref,
                  title=f"連絡: {shift.opportunity.title}"[:200])


__all__ = ["message_volunteers", "on_promoted", "reminder_ref", "shift_cancelled", "shift_changed",
           "thanks_ref", "volunteers", "withdraw_reminders", "words"]
