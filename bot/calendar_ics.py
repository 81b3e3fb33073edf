""".ics calendars of events (RFC 5545) through the icalendar library: one per event (the カレンダーに追加 link on
LINE) and a feed of all of them (/events.ics). Times carry TZID=Asia/Tokyo with its VTIMEZONE, so a recurring
event's RRULE repeats in Tokyo wall time, as bot/event_occurrences.py expands it. A cancelled event stays in
the feed with STATUS:CANCELLED and a higher SEQUENCE (Event.revision), so subscribed calendars update."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event as VEvent, vRecur

from bot.clock import to_tokyo, utc
from handlers.events_flex import ages_text, cost_text
from models.events import CANCELLED, Event

PRODID = "-//kyodo//協働プロジェクト イベント//JA"
DEFAULT_LENGTH = timedelta(hours=2)  # a start-only event: as long as its occurrences (bot/event_occurrences.py)
CONTENT_TYPE = "text/calendar; charset=utf-8"


def response(body: bytes, filename: str):
    """The .ics as a Flask response: opened inline (a phone hands it to its calendar app: カレンダーに追加)."""
    from flask import Response

    resp = Response(body, mimetype="text/calendar")
    resp.headers["Content-Type"] = CONTENT_TYPE
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def host_of(base_url: str) -> str:
    """The UID's domain part: the public site's host name (no port)."""
    return urlsplit(base_url).hostname or "localhost"


def calendar(events: list[Event], *, name: str, base_url: str, now, components=None) -> bytes:
    """A calendar of `events` (or of ready VEVENT `components`, e.g. a volunteer shift's)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Tokyo")
    for event in events:
        cal.add_component(vevent(event, base_url=base_url, now=now))
    for component in components or ():
        cal.add_component(component)
    cal.add_missing_timezones()  # VTIMEZONE for Asia/Tokyo, which every TZID above names
    return cal.to_ical()


def vevent(event: Event, *, base_url: str, now) -> VEvent:
    v = VEvent()
    v.add("uid", f"event-{event.id}@{host_of(base_url)}")
    v.add("dtstamp", utc(now))
    start = to_tokyo(event.starts_at)
    end = to_tokyo(event.ends_at) if event.ends_at is not None else None
    if event.all_day:
        v.add("dtstart", start.date())
        # DTEND of an all-day event is the day after its last day (exclusive); an end at 00:00 already is that.
        if end is None:
            stop = start.date() + timedelta(days=1)
        elif (end.hour, end.minute) == (0, 0):
            stop = end.date()
        else:
            stop = end.date() + timedelta(days=1)
        v.add("dtend", max(stop, start.date() + timedelta(days=1)))
    else:
        v.add("dtstart", start)
        v.add("dtend", end if end is not None and end > start else start + DEFAULT_LENGTH)
    if event.rrule:
        v.add("rrule", vRecur.from_ical(event.rrule))
    v.add("summary", ("【中止】" if event.status == CANCELLED else "") + event.title)
    location = "　".join(x for x in (event.place_name, event.address, event.address_note) if x)
    if location:
        v.add("location", location)
    if event.lat is not None and event.lon is not None:
        v.add("geo", (event.lat, event.lon))
    v.add("description", description(event))
    url = f"{base_url.rstrip('/')}/events/{event.id}"
    v.add("url", url)
    v.add("status", "CANCELLED" if event.status == CANCELLED else "CONFIRMED")
    v.add("sequence", max(0, event.revision or 0))
    if event.updated_at is not None:
        v.add("last-modified", utc(event.updated_at))
    if event.created_at is not None:
        v.add("created", utc(event.created_at))
    return v


def cost_with_note(event) -> str:
    """The LINE bubble's cost (handlers/events_flex.py) with the organiser's note: 500円（材料費）."""
    text = cost_text(event)
    return f"{text}（{event.cost_note}）" if event.cost_note and event.cost_note != text else text


def description(event: Event) -> str:
    lines = []
    if event.status == CANCELLED:
        lines.append("このイベントは中止になりました。" + (f"（{event.cancel_reason}）" if event.cancel_reason else ""))
    if event.description:
        lines.append(event.description)
    if event.time_note:
        lines.append(event.time_note)
    lines.append(f"対象：{ages_text(event.age_min, event.age_max)}")
    lines.append(f"費用：{cost_with_note(event)}")
    if event.registration_required:
        lines.append("申込：必要です。LINEの『イベント』から申し込めます。")
    if event.organiser_name:
        lines.append(f"主催：{event.organiser_name}")
    if event.phone:
        lines.append(f"連絡先：{event.phone}")
    return "\n".join(lines)


def shift_vevent(opportunity, shift, *, base_url: str, now) -> VEvent:
    """A volunteer shift (models/volunteer.py) as one VEVENT: the カレンダーに追加 of a sign-up on LINE."""
    v = VEvent()
    v.add("uid", f"shift-{shift.id}@{host_of(base_url)}")
    v.add("dtstamp", utc(now))
    v.add("dtstart", to_tokyo(shift.starts_at))
    v.add("dtend", to_tokyo(shift.ends_at))
    cancelled = shift.status == "cancelled"
    v.add("summary", ("【中止】" if cancelled else "") + f"ボランティア: {opportunity.title}")
    location = "　".join(x for x in (opportunity.place_name, opportunity.address) if x)
    if location:
        v.add("location", location)
    if opportunity.lat is not None and opportunity.lon is not None:
        v.add("geo", (opportunity.lat, opportunity.lon))
    details = [opportunity.description or "", f"持ち物: {opportunity.bring}" if opportunity.bring else ""]
    v.add("description", "\n".join(d for d in details if d))
    v.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if shift.updated_at is not None:
        v.add("last-modified", utc(shift.updated_at))
    return v

