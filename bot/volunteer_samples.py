"""`kyodo sample load`, volunteering: sample opportunities and their shifts (cities/<city>/sample_volunteer.yaml).

The LOADERS entry "volunteer" of bot/sample_data.py, and its patterns: rows keyed "sample:<key>" with
source="sample", updated in place on reload (ids kept, dates moved to the new today), sample rows no longer in
the file removed, no other row touched, everything inside the caller's transaction (no commit). A shift's
slot is a registration slot of kind "shift"; places already taken ("nearly full") are held by the same sample
residents the events use. Nothing here publishes or pushes anything.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.clock import TOKYO, to_tokyo, utc
from bot.config import ROOT
from bot.sample_data import (KEY_PREFIX, SAMPLE, CityData, SampleDataError, _existing, _hhmm, _near, _organisation_id,
                             _set, _take_places, _taken_by_others, check_row, check_when, read_sample_file, start_day)
from models.volunteer import CANCELLED, KIND, OPEN, OPPORTUNITY_STATUSES, PUBLISHED, Opportunity, Shift

VOLUNTEER_FILE = "sample_volunteer.yaml"


def volunteer_path(city: str) -> Path:
    return ROOT / "cities" / city / VOLUNTEER_FILE


def _check_shift(shift: dict) -> None:
    """Raises ValueError saying what is wrong with one shift of the file."""
    when = shift.get("when") or {}
    check_when(when)
    start, end = _hhmm(when.get("start", "")), _hhmm(when.get("end", ""))
    if end <= start:
        raise ValueError("end must be after start")
    capacity, taken = shift.get("capacity"), int(shift.get("taken") or 0)
    if not isinstance(capacity, int) or capacity <= 0:
        raise ValueError(f"capacity {capacity!r} must be a whole number above 0")
    if not 0 <= taken < capacity:
        raise ValueError(f"taken {taken} must leave a place free (capacity {capacity})")
    if dl := shift.get("deadline"):
        days = int(dl.get("days_before", 0))
        if days < 0 or (days == 0 and _hhmm(dl.get("at", "00:00")) > start):
            raise ValueError("the sign-up deadline must not be after the start")
    if shift.get("status", OPEN) not in (OPEN, CANCELLED):
        raise ValueError(f"status {shift.get('status')!r}")


def read_volunteer(city: str) -> tuple[dict, CityData]:
    """The file, checked against the city's 地区 and plan; every problem at once (SampleDataError)."""
    path = volunteer_path(city)
    data, cd = read_sample_file(path, city)
    problems: list[str] = []
    seen: set[str] = set()
    for i, row in enumerate(data.get("opportunities") or []):
        where = f"{path.name}: opportunities[{i}] ({row.get('key')})"
        problems += check_row(row, where, "title", cd, seen)
        if row.get("status", PUBLISHED) not in OPPORTUNITY_STATUSES:
            problems.append(f"{where}: status {row.get('status')!r}")
        min_age = row.get("min_age")
        if min_age is not None and not (isinstance(min_age, int) and 0 <= min_age <= 120):
            problems.append(f"{where}: min_age {min_age!r}")
        if not row.get("shifts"):
            problems.append(f"{where}: no shifts")
        for j, shift in enumerate(row.get("shifts") or []):
            try:
                _check_shift(shift)
            except (ValueError, TypeError, AttributeError, KeyError) as e:
                problems.append(f"{where}: shifts[{j}]: {e}")
    if problems:
        raise SampleDataError(problems)
    return data, cd


def _shift_times(shift: dict, today, now_local: datetime) -> tuple[datetime, datetime, datetime | None]:
    """Start, end and sign-up deadline (UTC) of a shift of the file, relative to today in Tokyo."""
    when = shift["when"]
    start_t = _hhmm(when["start"])
    day = start_day(when, today, start_t, now_local)
    starts_at = datetime.combine(day, start_t, TOKYO)
    ends_at = datetime.combine(day, _hhmm(when["end"]), TOKYO)
    deadline = None
    if dl := shift.get("deadline"):
        deadline = utc(datetime.combine(day - timedelta(days=int(dl.get("days_before", 0))),
                                        _hhmm(dl.get("at", "00:00")), TOKYO))
    return utc(starts_at), utc(ends_at), deadline


def _delete_shifts(db: Session, ids: list[int]) -> None:
    """Sample shifts with their registration slots and sign-ups (as the listings delete sample events: nobody is
    told, the demo's rows simply go)."""
    if not ids:
        return
    from models.registrations import Registration, RegistrationSlot

    slots = select(RegistrationSlot.id).where(RegistrationSlot.kind == KIND, RegistrationSlot.ref_id.in_(ids))
    db.execute(delete(Registration).where(Registration.slot_id.in_(slots)))
    db.execute(delete(RegistrationSlot).where(RegistrationSlot.kind == KIND, RegistrationSlot.ref_id.in_(ids)))
    db.execute(delete(Shift).where(Shift.id.in_(ids)))


def _delete_opportunities(db: Session, opportunities: list[Opportunity]) -> None:
    _delete_shifts(db, [s.id for o in opportunities for s in o.shifts])
    for o in opportunities:
        db.expire(o, ["shifts"])  # already deleted by statement: the ORM must not delete them again
        db.delete(o)


def load_volunteer(db: Session, *, city: str, now: datetime) -> str:
    from bot.registrations import SlotError, close_slot, slot_for

    data, cd = read_volunteer(city)
    now = utc(now)
    now_local = to_tokyo(now)
    today = now_local.date()
    rows = data.get("opportunities") or []
    clash = _taken_by_others(db, Opportunity, [r["key"] for r in rows])
    if clash:
        raise SampleDataError([f"{k} belongs to a row that is not sample data; nothing was loaded" for k in clash])

    existing = _existing(db, Opportunity)
    n_shifts, nearly_full, remind_2h, gone_shifts = 0, 0, 0, 0
    for row in rows:
        d = cd.districts[row["district"]]
        lat, lon = _near((d.center.lat, d.center.lon), row["key"])
        values = dict(
            title=row["title"], description=row.get("description"), district=row["district"],
            place_name=row.get("place"), address=row.get("address") or f"小田原市 {d.name}地区（サンプルの所在地）",
            lat=lat, lon=lon, project=row.get("project"), action=row.get("action"), bring=row.get("bring"),
            conditions=row.get("conditions"), min_age=row.get("min_age"), accessibility=row.get("accessibility"),
            remind_2h=bool(row.get("remind_2h")), status=row.get("status", PUBLISHED),
            organisation_id=_organisation_id(db, row.get("organisation")))
        opp = existing.pop(row["key"], None)
        if opp is None:
            opp = Opportunity(external_key=KEY_PREFIX + row["key"], source=SAMPLE, created_at=now, updated_at=now)
            db.add(opp)
        _set(opp, values)
        opp.updated_at = now
        if opp.status == PUBLISHED and opp.published_at is None:
            opp.published_at = now
        db.flush()

        # Shifts by position (the file has no key per shift): the same ids on every load.
        have = sorted(opp.shifts, key=lambda s: s.id)
        stale = have[len(row["shifts"]):]
        if stale:
            _delete_shifts(db, [s.id for s in stale])
            gone_shifts += len(stale)
            db.expire(opp, ["shifts"])
        for i, spec in enumerate(row["shifts"]):
            starts_at, ends_at, deadline = _shift_times(spec, today, now_local)
            status = spec.get("status", OPEN)
            shift = have[i] if i < len(have) else None
            if shift is None:
                shift = Shift(opportunity_id=opp.id, created_at=now, updated_at=now)
                db.add(shift)
            _set(shift, dict(starts_at=starts_at, ends_at=ends_at, capacity=spec["capacity"],
                             signup_deadline=deadline, status=status, note=spec.get("note")))
            shift.updated_at = now
            db.flush()
            n_shifts += 1
            remind_2h += int(opp.remind_2h)
            taken = int(spec.get("taken") or 0)
            nearly_full += int(spec["capacity"] - taken <= 2)
            try:
                slot = slot_for(db, KIND, shift.id, capacity=spec["capacity"], starts_at=starts_at, ends_at=ends_at,
                                closes_at=deadline, now=now)
            except SlotError:
                # Residents of the demo hold more places than the file now allows: theirs are kept.
                from bot.registrations import find_slot

                shift.capacity = find_slot(db, KIND, shift.id).capacity
                continue
            if status == CANCELLED:
                close_slot(db, KIND, shift.id, now=now)
            elif slot.open:
                _take_places(db, slot.id, taken, now)
    gone = list(existing.values())
    gone_shifts += sum(len(o.shifts) for o in gone)
    _delete_opportunities(db, gone)

    districts = {r["district"] for r in rows}
    projects = {r.get("project") for r in rows} - {None}
    return (f"{len(rows)} opportunities, {n_shifts} shifts ({nearly_full} nearly full, {remind_2h} with a 2-hour "
            f"reminder) in {len(districts)} districts, {len(projects)} projects"
            + (f"; removed {len(gone)} opportunities, {gone_shifts} shifts no longer listed"
               if gone or gone_shifts else ""))


def remove_volunteer(db: Session) -> str:
    opportunities = list(db.scalars(select(Opportunity).where(Opportunity.source == SAMPLE)))
    shifts = sum(len(o.shifts) for o in opportunities)
    _delete_opportunities(db, opportunities)
    return f"removed {len(opportunities)} opportunities, {shifts} shifts"
