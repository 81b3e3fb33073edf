"""What residents are told about events and places, by push:

- a newly published event or place, to the subscribers of its 地区 or project (bot.publish, topic
  "events"/"places", ref "listing:<table>:<id>": told once, however often it is saved or re-published);
- a change to, or the cancellation of, an event they registered for (bot.personal_push.notify, ref
  "event:<id>:rev:<revision>": each revision is told once);
- a place freed for them from the waitlist (the "event" notifier of bot.registrations.on_promoted, registered
  when this module is imported; ref "event:promoted:<registration>:<its change count>").

The day-before reminder is scheduler/event_reminders.py; its ref is `reminder_ref` here, so that a resident
who cancels can have a reminder not yet sent withdrawn (`withdraw_reminder`).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import registrations as R
from bot.clock import TOKYO, to_tokyo, utc
from bot.personal_push import notify
from bot.publish import cancel as cancel_publication, publish
from bot.segments import ANY, Segment
from handlers import ui
from handlers import events_flex as F
from handlers.flex import flex_message, tail_quick
from models.events import Event, EventOccurrence
from models.places import Place
from models.publications import Publication
from models.registrations import Registration, RegistrationSlot

log = logging.getLogger("kyodo.events")
T = F.T
KIND = "event"
LISTING_PURPOSE = "listing"


# -- refs ----------------------------------------------------------------------------------------------------------

def listing_ref(item) -> str:
    return f"listing:{item.__tablename__}:{item.id}"


def revision_ref(event: Event) -> str:
    return f"event:{event.id}:rev:{event.revision}"


def reminder_ref(registration_id: int, day: date) -> str:
    return f"reminder:reg:{registration_id}:{day.isoformat()}"


def reminder_at(text: str | None) -> time:
    """config.event_reminder_at ("18:00") as a time; a value that cannot be read is 18:00."""
    try:
        hh, mm = (int(x) for x in (text or "").strip().split(":"))
        return time(hh, mm)
    except ValueError:
        return time(18, 0)


def reminder_due(starts_at: datetime, at: str | None) -> datetime:
    """When the day-before reminder of something starting at `starts_at` goes out (Tokyo, aware)."""
    day = to_tokyo(starts_at).date() - timedelta(days=1)
    return datetime.combine(day, reminder_at(at), TOKYO)


# -- shared pieces -------------------------------------------------------------------------------------------------

def _first_occurrence(db: Session, event: Event, now: datetime) -> EventOccurrence:
    """The occurrence a notice talks about: the next one not yet ended, else the first (a one-day event's)."""
    occ = db.scalar(select(EventOccurrence).where(EventOccurrence.event_id == event.id,
                                                  EventOccurrence.ends_at > utc(now))
                    .order_by(EventOccurrence.starts_at).limit(1))
    if occ is None:
        occ = db.scalar(select(EventOccurrence).where(EventOccurrence.event_id == event.id)
                        .order_by(EventOccurrence.starts_at).limit(1))
    if occ is None:  # not materialised (should not happen): the event's own dates, unsaved
        from bot.event_occurrences import length_of

        occ = EventOccurrence(id=0, event_id=event.id, starts_at=event.starts_at,
                              ends_at=utc(event.starts_at) + length_of(event), district=event.district,
                              visible=False)
    return occ


def _district_name(db: Session, key: str | None) -> str | None:
    if not key:
        return None
    from models.plan import District

    return db.scalar(select(District.name).where(District.key == key))


def _project_name(db: Session, no: int | None) -> str | None:
    if no is None:
        return None
    from models.plan import Project

    row = db.execute(select(Project.short_name, Project.name).where(Project.number == no)).first()
    return (row[0] or row[1]) if row else None


def event_when(db: Session, event: Event, now: datetime) -> str:
    return F.occurrence_when(event, _first_occurrence(db, event, now), now)


def _regs_quick() -> list[dict]:
    return tail_quick(ui.postback(T["btn_regs"], "regs"))


def registrants(db: Session, event_id: int, statuses: Iterable[str] = R.ACTIVE) -> list[int]:
    """users.id of everyone still holding or waiting for a place at the event."""
    return list(db.scalars(select(Registration.user_id).join(RegistrationSlot, RegistrationSlot.id == Registration.slot_id)
                           .where(RegistrationSlot.kind == KIND, RegistrationSlot.ref_id == event_id,
                                  Registration.status.in_(tuple(statuses)))
                           .order_by(Registration.user_id)))


# -- new listings -------------------------------------------------------------------------------------------------

def _listing_messages(db: Session, item, now: datetime, base_url: str | None) -> tuple[str, list[dict]]:
    district = _district_name(db, item.district)
    project = _project_name(db, item.project)
    area = (T["area_district"].format(name=district) if district else
            T["area_project"].format(name=project) if project else T["area_city"])
    if isinstance(item, Event):
        title = item.title
        intro = T["new_listing_event"].format(area=area)
        occ = _first_occurrence(db, item, now)
        bub = F.event_bubble(item, occ, now=now, district_name=district, base_url=base_url)
    else:
        title = item.name
        intro = T["new_listing_place"].format(area=area)
        bub = _place_bubble(item, now)
    msgs = [ui.text(intro)]
    if bub is not None:
        msgs.append(flex_message(title[:300], [bub]))
    else:
        msgs[0] = ui.text(f"{intro}\n「{title}」")
    return title, msgs


def _place_bubble(place: Place, now: datetime) -> dict | None:
    """The places helper's bubble (handlers/places_flex.place_bubble) with its next opening."""
    try:
        from bot.opening_hours import next_opening
        from handlers.places_flex import place_bubble
    except ImportError:  # pragma: no cover - the places views are part of the same step
        return None
    return place_bubble(place, now=now, opening=next_opening(place, to_tokyo(now)))


def announce_listing(db: Session, item, *, now: datetime, base_url: str | None = None) -> Publication | None:
    """Tell the subscribers of the item's 地区 or project about a newly published event or place (once).
    Nothing for an item that is not published, or that names neither a 地区 nor a project (a segment
    without either would reach everyone)."""
    is_event = isinstance(item, Event)
    if item.status != "published" or (not item.district and item.project is None):
        return None
    if is_event and _all_ended(db, item, now):
        return None
    topic = "events" if is_event else "places"
    seg = Segment(districts=(item.district,) if item.district else (),
                  projects=(int(item.project),) if item.project is not None else (),
                  match=ANY, others_topic=topic)
    title, msgs = _listing_messages(db, item, now, base_url)
    return publish(db, messages=msgs, segment=seg, topic=topic, purpose=LISTING_PURPOSE, ref=listing_ref(item),
                   title=title[:200], now=now)


def _all_ended(db: Session, event: Event, now: datetime) -> bool:
    return db.scalar(select(EventOccurrence.id).where(EventOccurrence.event_id == event.id,
                                                      EventOccurrence.ends_at > utc(now)).limit(1)) is None


# -- changes and cancellations (registrants only) ----------------------------------------------------------------

def _what(what) -> str:
    labels = F.V["what_changed"]
    if isinstance(what, str):
        keys = [what]
    else:
        keys = [str(w) for w in what or ()]
    words = [labels.get(k, k) for k in keys if k]
    return "・".join(dict.fromkeys(words)) or labels["details"]


def event_changed(db: Session, event: Event, *, now: datetime, what="details",
                  base_url: str | None = None) -> Publication | None:
    """Tell everyone registered (or waiting) that the event changed (`what`: "time", "place", "capacity",
    "details", a list of them, or words). Once per revision: bump `event.revision` before calling."""
    users = registrants(db, event.id)
    if not users:
        return None
    occ = _first_occurrence(db, event, now)
    msgs = [ui.text(T["changed"].format(title=event.title, what=_what(what)), _regs_quick()),
            flex_message(event.title[:300], [F.event_bubble(event, occ, now=now, base_url=base_url,
                                                            district_name=_district_name(db, event.district))])]
    return notify(db, user_ids=users, messages=msgs, ref=revision_ref(event), now=now,
                  title=f"変更: {event.title}"[:200])


def event_cancelled(db: Session, event: Event, *, now: datetime) -> Publication | None:
    """Tell everyone registered (or waiting) that the event is cancelled (中止), and close its sign-up."""
    R.close_slot(db, KIND, event.id, now=now)
    users = registrants(db, event.id)
    if not users:
        return None
    text = T["cancelled_push"].format(title=event.title, when=event_when(db, event, now))
    if event.cancel_reason:
        text += "\n" + T["cancelled_reason"].format(reason=event.cancel_reason)
    return notify(db, user_ids=users, messages=[ui.text(text, _regs_quick())], ref=revision_ref(event), now=now,
                  title=f"中止: {event.title}"[:200])


# -- promotion from the waitlist ------------------------------------------------------------------------------------

def on_promoted(db: Session, registration: Registration, slot: RegistrationSlot, now: datetime) -> None:
    """bot.registrations' notifier for kind "event": the resident's place is confirmed; tell them by push."""
    event = db.get(Event, slot.ref_id)
    if event is None:
        return
    text = T["promoted"].format(title=event.title, when=event_when(db, event, now))
    notify(db, user_ids=[registration.user_id], messages=[ui.text(text, _regs_quick())],
           ref=f"event:promoted:{registration.id}:{len(registration.history or [])}", now=now,
           title=f"繰り上げ: {event.title}"[:200])


R.on_promoted(KIND, on_promoted)


# -- the reminder of a cancelled registration ---------------------------------------------------------------------

def withdraw_reminder(db: Session, registration: Registration, slot: RegistrationSlot, now=None) -> bool:
    """Cancel the day-before reminder of a registration just cancelled, if it is queued and not yet
    sending. (Once kyodo deliver has taken it, e.g. held for quiet hours, it can no longer be stopped
    from here: see scheduler/event_reminders.py.)"""
    day = to_tokyo(slot.starts_at).date()
    pub_id = db.scalar(select(Publication.id).where(Publication.ref == reminder_ref(registration.id, day)))
    return cancel_publication(db, pub_id) if pub_id is not None else False


R.on_cancelled(KIND, withdraw_reminder)  # whoever cancels: the resident, an organiser, a deletion


__all__ = ["reminder_at", "reminder_due", "announce_listing", "event_cancelled", "event_changed", "listing_ref", "on_promoted", "registrants",
           "reminder_ref", "revision_ref", "withdraw_reminder"]
