"""`kyodo sample load`: sample data for the demo (and `kyodo sample remove` to take it out again).

Each feature adds its sample data as one entry of LOADERS (step 7: children's places and events; step 8 adds
volunteer shifts, step 9 surveys). `load()` runs every loader in ONE transaction: all of it is in place, or
none. Sample rows carry source="sample", and each loader replaces only its own sample rows: loading again
updates them (ids kept, dates moved to the new today), removes the ones no longer in the file and never
touches a row of any other source.

Loading samples tells no resident anything: nothing here calls bot.publish or the listing notices
(bot/event_notices.py), so subscribers of a 地区 hear nothing about sample events.
"""
from __future__ import annotations

import hashlib
import importlib
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.clock import TOKYO, to_tokyo, utc
from bot.config import ROOT
from models.events import CANCELLED, EVENT_STATUSES, PUBLISHED, Event, EventOccurrence
from models.places import COST_KINDS, FREE, KINDS, Place, PlaceHours

SAMPLE = "sample"  # the `source` of every sample row
MARK = "（サンプル）"  # every title a person sees ends with it
KEY_PREFIX = "sample:"  # external_key of a sample row: "sample:<key in the file>"
LISTINGS_FILE = "sample_listings.yaml"


@dataclass(frozen=True)
class Loader:
    """One feature's sample data: load(db, *, city, now) -> one line saying what it wrote; remove(db) -> one
    line saying what it removed. Both run inside the caller's transaction and must not commit."""

    name: str
    load: str  # "module:function"
    remove: str


LOADERS: list[Loader] = [
    Loader("listings", "bot.sample_data:load_listings", "bot.sample_data:remove_listings"),
    Loader("volunteer", "bot.volunteer_samples:load_volunteer", "bot.volunteer_samples:remove_volunteer"),
    Loader("surveys", "bot.survey_samples:load_surveys", "bot.survey_samples:remove_surveys"),
]


class SampleDataError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _function(ref: str) -> Callable[..., str]:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


def load(sessions, *, city: str, now: datetime, loaders: list[Loader] | None = None) -> list[str]:
    """Run every loader in one transaction; returns their summary lines."""
    with sessions() as db, db.begin():
        return [f"{ld.name}: {_function(ld.load)(db, city=city, now=now)}" for ld in (loaders or LOADERS)]


def remove(sessions, *, loaders: list[Loader] | None = None) -> list[str]:
    # Last loaded, first removed: a later loader's rows may use an earlier one's (the sample residents who
    # hold places in shifts), so those go first and no one is promoted into a shift about to be removed.
    with sessions() as db, db.begin():
        lines = [f"{ld.name}: {_function(ld.remove)(db)}" for ld in reversed(loaders or LOADERS)]
        return lines[::-1]


# -- the listings file ----------------------------------------------------------------------------------------------

WEEKDAY_CHARS = "月火水木金土日"
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_RE = re.compile(r"^(?:第(?P<weeks>[1-5](?:・第?[1-5])*))?(?P<days>[月火水木金土日]+)\s+"
                      r"(?P<open>\d{1,2}:\d\d)-(?P<close>\d{1,2}:\d\d)$")


def listings_path(city: str) -> Path:
    return ROOT / "cities" / city / LISTINGS_FILE


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def parse_hours(text: str) -> list[dict]:
    """"第2・第4土 11:30-13:30" -> [{weekday: 5, opens: 690, closes: 810, weeks: 0b10100}]."""
    m = HOURS_RE.match(text.strip())
    if not m:
        raise ValueError(f"hours {text!r}: write e.g. '水 17:00-19:30' or '第2・第4土 11:30-13:30'")
    weeks = 0
    if m["weeks"]:
        for n in re.findall(r"[1-5]", m["weeks"]):
            weeks |= 1 << int(n)
    opens, closes = _minutes(m["open"]), _minutes(m["close"])
    if not (0 <= opens < 1440 and opens < closes <= 2880):
        raise ValueError(f"hours {text!r}: opening must be before closing (after midnight: 25:00)")
    return [{"weekday": WEEKDAY_CHARS.index(ch), "opens": opens, "closes": closes, "weeks": weeks}
            for ch in m["days"]]


def _hhmm(text: str) -> time:
    h, m = str(text).split(":")
    return time(int(h), int(m))


def start_day(when: dict, today: date, start: time, now_local: datetime) -> date:
    """The date a `when` names, relative to today (Tokyo); never one whose start has passed."""
    def begun(d: date) -> bool:
        return datetime.combine(d, start, TOKYO) <= now_local

    if "in_days" in when:
        d = today + timedelta(days=int(when["in_days"]))
        return d + timedelta(days=1) if begun(d) else d
    wd = WEEKDAY_NAMES.index(str(when["weekday"]).lower()[:3])
    d = today + timedelta(days=(wd - today.weekday()) % 7)
    nth = when.get("nth")
    while begun(d) or (nth and (d.day - 1) // 7 + 1 != int(nth)):
        d += timedelta(days=7)
    return d


def next_weekday(today: date, name: str) -> date:
    """The first such weekday after today (1 to 7 days ahead): a date off that falls on an opening day."""
    wd = WEEKDAY_NAMES.index(str(name).lower()[:3])
    return today + timedelta(days=(wd - today.weekday() - 1) % 7 + 1)


def _cost(value) -> tuple[str, int | None, str | None]:
    if value in (None, "free", FREE):
        return FREE, None, None
    kind = value.get("kind", FREE)
    if kind not in COST_KINDS:
        raise ValueError(f"cost kind {kind!r} is not one of {', '.join(COST_KINDS)}")
    return kind, value.get("yen"), value.get("note")


def _ages(value) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    lo, hi = value
    return lo, hi


def _near(center: tuple[float, float], key: str) -> tuple[float, float]:
    """A point within about 400 m of the 地区's centre, fixed per key (the same on every load)."""
    digest = hashlib.sha256(key.encode()).digest()
    dlat = (digest[0] / 255 - 0.5) * 0.007
    dlon = (digest[1] / 255 - 0.5) * 0.008
    return round(center[0] + dlat, 6), round(center[1] + dlon, 6)


@dataclass
class CityData:
    districts: dict[str, Any]  # key -> DistrictIn (name, center)
    actions: dict[int, int]  # action number -> project number


def city_data(city: str) -> CityData:
    from bot.plan_loader import default_plan_path, districts_path_for, read_districts, read_plan

    plan_path = default_plan_path(city)
    plan = read_plan(plan_path)
    districts = read_districts(districts_path_for(plan_path))
    return CityData(districts={d.key: d for d in districts.districts},
                    actions={a.no: p.no for p in plan.projects for a in p.actions})


def read_sample_file(path: Path, city: str) -> tuple[dict, CityData]:
    """A sample file's rows (an empty file reads as none) and the city's 地区 and plan to check them against."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}, city_data(city)


def check_row(row: dict, where: str, title_field: str, cd: CityData, seen: set[str]) -> list[str]:
    """What every sample row shares, each problem prefixed with `where`: a key used once (added to seen), the
    title marked as a sample, a known 地区 with a centre, and the plan's project and action."""
    problems: list[str] = []
    key = row.get("key")
    if not key or key in seen:
        problems.append(f"{where}: key missing or used twice")
    seen.add(key)
    if not str(row.get(title_field, "")).endswith(MARK):
        problems.append(f"{where}: {title_field} must end with {MARK}")
    if row.get("district") not in cd.districts:
        problems.append(f"{where}: unknown district {row.get('district')!r}")
    elif cd.districts[row["district"]].center is None:
        problems.append(f"{where}: district {row['district']!r} has no centre in districts.yaml")
    project, action = row.get("project"), row.get("action")
    if project is not None and project not in set(cd.actions.values()):
        problems.append(f"{where}: unknown project {project!r}")
    if action is not None and cd.actions.get(action) != project:
        problems.append(f"{where}: action {action!r} is not in project {project!r}")
    return problems


def check_when(when: dict) -> None:
    """Raises ValueError unless a row's `when` names a day (in_days, or a weekday)."""
    if not ("in_days" in when or str(when.get("weekday", ""))[:3].lower() in WEEKDAY_NAMES):
        raise ValueError("when needs in_days, or weekday: mon..sun (not `on`: YAML reads it as true)")


def read_listings(city: str) -> tuple[dict, CityData]:
    """The file, checked against the city's 地区 and plan; every problem at once (SampleDataError)."""
    path = listings_path(city)
    data, cd = read_sample_file(path, city)
    problems: list[str] = []
    seen: set[str] = set()
    for section, title_field in (("places", "name"), ("events", "title")):
        for i, row in enumerate(data.get(section) or []):
            where = f"{path.name}: {section}[{i}] ({row.get('key')})"
            problems += check_row(row, where, title_field, cd, seen)
            try:
                _cost(row.get("cost"))
                _ages(row.get("ages"))
                if section == "places":
                    if row.get("kind") not in KINDS:
                        raise ValueError(f"kind {row.get('kind')!r} is not one of {', '.join(KINDS)}")
                    if not row.get("hours"):
                        raise ValueError("no hours")
                    for h in row["hours"]:
                        parse_hours(h)
                    for wd in row.get("closed_next") or []:
                        next_weekday(date.today(), wd)
                else:
                    when = row.get("when") or {}
                    check_when(when)
                    _hhmm(when.get("start", ""))
                    if when.get("end"):
                        _hhmm(when["end"])
                    if row.get("status", PUBLISHED) not in EVENT_STATUSES:
                        raise ValueError(f"status {row.get('status')!r}")
                    if row.get("rrule"):
                        from bot.event_occurrences import validate_rrule

                        if (why := validate_rrule(row["rrule"])) is not None:
                            raise ValueError(why)
            except (ValueError, TypeError, AttributeError, KeyError) as e:
                problems.append(f"{where}: {e}")
    if problems:
        raise SampleDataError(problems)
    return data, cd


def _organisation_id(db: Session, name: str | None) -> int | None:
    """A row the file gives to an organisation by name (the demo's みどり子ども会) belongs to it when that
    organisation exists, so its account can edit it; otherwise to the city (None)."""
    if not name:
        return None
    from models.accounts import Organisation

    return db.scalar(select(Organisation.id).where(Organisation.name == name))


def _existing(db: Session, model) -> dict[str, Any]:
    return {row.external_key[len(KEY_PREFIX):]: row
            for row in db.scalars(select(model).where(model.source == SAMPLE, model.external_key.is_not(None)))
            if row.external_key.startswith(KEY_PREFIX)}


def _taken_by_others(db: Session, model, keys: list[str]) -> list[str]:
    """Keys whose external_key a non-sample row holds (never overwritten)."""
    ext = [KEY_PREFIX + k for k in keys]
    return list(db.scalars(select(model.external_key).where(model.external_key.in_(ext), model.source != SAMPLE)))


def _set(row, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def load_listings(db: Session, *, city: str, now: datetime) -> str:
    from bot.event_occurrences import materialise
    from bot.registrations import SlotError, slot_for

    data, cd = read_listings(city)
    now = utc(now)
    now_local = to_tokyo(now)
    today = now_local.date()
    place_rows, event_rows = data.get("places") or [], data.get("events") or []
    clash = _taken_by_others(db, Place, [r["key"] for r in place_rows]) + \
        _taken_by_others(db, Event, [r["key"] for r in event_rows])
    if clash:
        raise SampleDataError([f"{k} belongs to a row that is not sample data; nothing was loaded" for k in clash])

    # -- places
    places = _existing(db, Place)
    for row in place_rows:
        d = cd.districts[row["district"]]
        lat, lon = _near((d.center.lat, d.center.lon), row["key"])
        cost_kind, cost_yen, cost_note = _cost(row.get("cost"))
        age_min, age_max = _ages(row.get("ages"))
        values = dict(
            name=row["name"], kind=row["kind"], district=row["district"],
            address=row.get("address") or f"小田原市 {d.name}地区（サンプルの所在地）", lat=lat, lon=lon,
            closed_on_holidays=row.get("closed_on_holidays", True), closed_year_end=row.get("closed_year_end", True),
            closed_dates=[next_weekday(today, wd).isoformat() for wd in row.get("closed_next") or []],
            extra_dates=[{"date": (today + timedelta(days=x["in_days"])).isoformat(), "open": x["open"],
                          "close": x["close"]} for x in row.get("extra") or []],
            hours_note=row.get("hours_note"), age_min=age_min, age_max=age_max, cost_kind=cost_kind,
            cost_yen=cost_yen, cost_note=cost_note, booking_required=bool(row.get("booking")),
            phone=row.get("phone"), description=row.get("description"), accessibility=row.get("accessibility"),
            project=row.get("project"), action=row.get("action"), organiser_name=row.get("organiser"),
            organisation_id=_organisation_id(db, row.get("organisation")), status=row.get("status", PUBLISHED),
            verified_on=today)
        place = places.pop(row["key"], None)
        if place is None:
            place = Place(external_key=KEY_PREFIX + row["key"], source=SAMPLE, created_at=now, updated_at=now)
            db.add(place)
        _set(place, values)
        place.updated_at = now
        if place.status == PUBLISHED and place.published_at is None:
            place.published_at = now
        wanted = sorted((h["weekday"], h["opens"], h["closes"], h["weeks"])
                        for text in row["hours"] for h in parse_hours(text))
        if sorted((h.weekday, h.opens, h.closes, h.weeks) for h in place.hours) != wanted:
            place.hours = [PlaceHours(weekday=w, opens=o, closes=c, weeks=k) for w, o, c, k in wanted]
    gone_places = list(places.values())
    for place in gone_places:
        db.delete(place)

    # -- events
    events = _existing(db, Event)
    registration, nearly_full = 0, 0
    for row in event_rows:
        d = cd.districts[row["district"]]
        lat, lon = _near((d.center.lat, d.center.lon), row["key"])
        when = row["when"]
        start_t = _hhmm(when["start"])
        day = start_day(when, today, start_t, now_local)
        starts_at = datetime.combine(day, start_t, TOKYO)
        ends_at = datetime.combine(day, _hhmm(when["end"]), TOKYO) if when.get("end") else None
        cost_kind, cost_yen, cost_note = _cost(row.get("cost"))
        age_min, age_max = _ages(row.get("ages"))
        reg = row.get("registration")
        deadline = None
        if reg and reg.get("deadline"):
            dl = reg["deadline"]
            deadline = datetime.combine(day - timedelta(days=int(dl.get("days_before", 0))),
                                        _hhmm(dl.get("at", "17:00")), TOKYO)
        status = row.get("status", PUBLISHED)
        values = dict(
            title=row["title"], description=row.get("description"), organiser_name=row.get("organiser"),
            district=row["district"], place_name=row.get("place"),
            address=row.get("address") or f"小田原市 {d.name}地区（サンプルの所在地）", lat=lat, lon=lon,
            starts_at=utc(starts_at), ends_at=utc(ends_at) if ends_at else None, rrule=row.get("rrule"),
            age_min=age_min, age_max=age_max, cost_kind=cost_kind, cost_yen=cost_yen, cost_note=cost_note,
            capacity=(reg or {}).get("capacity", row.get("capacity")), registration_required=bool(reg),
            registration_deadline=utc(deadline) if deadline else None,
            phone=row.get("phone"), project=row.get("project"), action=row.get("action"),
            tags=list(row.get("tags") or []), status=status, cancel_reason=row.get("cancel_reason"),
            organisation_id=_organisation_id(db, row.get("organisation")))
        event = events.pop(row["key"], None)
        if event is None:
            event = Event(external_key=KEY_PREFIX + row["key"], source=SAMPLE, created_at=now, updated_at=now,
                          revision=1)
            db.add(event)
        else:
            # What a resident's calendar should notice (.ics SEQUENCE): the time or the status moved.
            moved = (utc(event.starts_at) != utc(starts_at) or
                     (event.ends_at and utc(event.ends_at)) != (ends_at and utc(ends_at)) or
                     event.rrule != values["rrule"] or event.status != status)
            if moved:
                event.revision = (event.revision or 1) + 1
        _set(event, values)
        event.updated_at = now
        if status in (PUBLISHED, CANCELLED) and event.published_at is None:
            event.published_at = now
        db.flush()
        materialise(db, event, now=now)
        if reg:
            registration += 1
            nearly_full += int(reg.get("capacity") is not None and reg["capacity"] - int(reg.get("taken") or 0) <= 2)
            try:
                slot = slot_for(db, "event", event.id, capacity=reg.get("capacity"), starts_at=utc(starts_at),
                                ends_at=utc(ends_at) if ends_at else None,
                                closes_at=utc(deadline) if deadline else None, now=now)
            except SlotError:
                continue  # residents of the demo hold more places than the file now allows: theirs are kept
            _take_places(db, slot.id, int(reg.get("taken") or 0), now)
    gone_events = list(events.values())
    _delete_events(db, [e.id for e in gone_events])

    districts = {r["district"] for r in place_rows + event_rows}
    return (f"{len(place_rows)} places, {len(event_rows)} events ({registration} with registration, "
            f"{nearly_full} nearly full) in {len(districts)} districts"
            + (f"; removed {len(gone_places)} places, {len(gone_events)} events no longer listed"
               if gone_places or gone_events else ""))


# Places already taken in a sample event ("nearly full") are held by sample residents: rows that follow
# nobody (active False: no push ever goes to them) with ids no LINE account can have.
SAMPLE_RESIDENT = "Usample{:026d}"


def _sample_residents(db: Session, n: int, now: datetime) -> list[int]:
    from models.users import User

    ids = [SAMPLE_RESIDENT.format(i) for i in range(1, n + 1)]
    known = {u.line_user_id: u.id for u in db.scalars(select(User).where(User.line_user_id.in_(ids)))}
    for line_id in ids:
        if line_id not in known:
            user = User(line_user_id=line_id, active=False, created_at=now)
            db.add(user)
            db.flush()
            known[line_id] = user.id
    return [known[i] for i in ids]


def _take_places(db: Session, slot_id: int, n: int, now: datetime) -> None:
    from bot.registrations import register
    from models.registrations import Registration

    if not n:
        return
    holding = set(db.scalars(select(Registration.user_id).where(Registration.slot_id == slot_id)))
    for uid in _sample_residents(db, n, now):
        if uid not in holding:  # a second load leaves the slot as it is
            register(db, slot_id, uid, now=now)


def _remove_sample_residents(db: Session) -> int:
    from models.privacy import delete_personal_data
    from models.users import User

    users = list(db.scalars(select(User).where(User.line_user_id.like("Usample%"), User.active.is_(False))))
    for user in users:
        delete_personal_data(db, user)
    return len(users)


def _delete_events(db: Session, ids: list[int]) -> None:
    """Sample events and what hangs on them: occurrences, and their registration slots (with registrations)."""
    if not ids:
        return
    from models.registrations import Registration, RegistrationSlot

    slots = select(RegistrationSlot.id).where(RegistrationSlot.kind == "event", RegistrationSlot.ref_id.in_(ids))
    db.execute(delete(Registration).where(Registration.slot_id.in_(slots)))
    db.execute(delete(RegistrationSlot).where(RegistrationSlot.kind == "event", RegistrationSlot.ref_id.in_(ids)))
    db.execute(delete(EventOccurrence).where(EventOccurrence.event_id.in_(ids)))
    db.execute(delete(Event).where(Event.id.in_(ids), Event.source == SAMPLE))


def remove_listings(db: Session) -> str:
    events = list(db.scalars(select(Event.id).where(Event.source == SAMPLE)))
    _delete_events(db, events)
    places = list(db.scalars(select(Place).where(Place.source == SAMPLE)))
    for place in places:
        db.delete(place)
    residents = _remove_sample_residents(db)
    return f"removed {len(places)} places, {len(events)} events, {residents} sample residents"


# -- command line and demo ----------------------------------------------------------------------------------------

def add_commands(sub) -> None:
    p = sub.add_parser("sample", help="sample data for the demo (titles marked （サンプル）)")
    psub = p.add_subparsers(dest="sample_command", required=True)
    ld = psub.add_parser("load", help="put the sample data into the database (again: replaces earlier samples)")
    ld.set_defaults(func=cmd_load)
    rm = psub.add_parser("remove", help="remove every sample row (source=sample); other rows are untouched")
    rm.set_defaults(func=cmd_remove)


def _with_sessions(cfg, fn):
    from bot.db import make_engine, make_sessions

    engine = make_engine(cfg.database_url, pool_size=1)
    try:
        return fn(make_sessions(engine))
    finally:
        engine.dispose()


def cmd_load(args) -> int:
    from bot.cli import config_for
    from bot.clock import system_clock

    cfg = config_for(args, need_secrets=False)
    try:
        lines = _with_sessions(cfg, lambda s: load(s, city=cfg.city, now=system_clock()))
    except (SampleDataError, FileNotFoundError) as e:
        print("kyodo sample load: nothing was loaded:", file=sys.stderr)
        for line in getattr(e, "problems", [str(e)]):
            print("  " + line, file=sys.stderr)
        return 1
    print("loaded sample data (nothing was sent to residents):")
    for line in lines:
        print("  " + line)
    return 0


def cmd_remove(args) -> int:
    from bot.cli import config_for

    cfg = config_for(args, need_secrets=False)
    for line in _with_sessions(cfg, lambda s: remove(s)):
        print("  " + line)
    return 0


def load_for_demo(cfg) -> None:
    """`make demo` set-up step (bot/demo.py: SETUP_STEPS): the same as `kyodo sample load`."""
    from bot.clock import system_clock

    from bot.plan_loader import wrap_at_commas

    for line in _with_sessions(cfg, lambda s: load(s, city=cfg.city, now=system_clock())):
        # e.g. "✓ sample listings: 26 places, 29 events (...)", wrapped for an 80-column terminal
        print("\n".join(wrap_at_commas(f"  ✓ sample {line}", width=78, indent="      ")))
