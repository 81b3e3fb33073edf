"""Children's places for the tests: plain objects for opening-hours rules, and rows in the database."""
from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from models.places import PUBLISHED, Place, PlaceHours


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def hours(weekday: int, opens: str, closes: str, weeks: int = 0) -> SimpleNamespace:
    return SimpleNamespace(weekday=weekday, opens=minutes(opens), closes=minutes(closes), weeks=weeks)


def plain_place(rows, *, closed_on_holidays=True, closed_year_end=True, closed_dates=(), extra_dates=()):
    return SimpleNamespace(hours=list(rows), closed_on_holidays=closed_on_holidays, closed_year_end=closed_year_end,
                           closed_dates=list(closed_dates), extra_dates=list(extra_dates))


def add_place(db, now: datetime, name: str, *, district: str = "kozu", kind: str = "shokudo",
              rows=(), status: str = PUBLISHED, **kw) -> Place:
    """One place with its weekly rows ((weekday, "HH:MM", "HH:MM"[, weeks]) tuples). Flushed, not committed."""
    p = Place(name=name, kind=kind, district=district, status=status, created_at=now, updated_at=now,
              published_at=now if status == PUBLISHED else None, **kw)
    p.hours = [PlaceHours(weekday=r[0], opens=minutes(r[1]), closes=minutes(r[2]), weeks=r[3] if len(r) > 3 else 0)
               for r in rows]
    db.add(p)
    db.flush()
    return p


WEEKDAYS = range(5)


def weekdays(opens: str, closes: str) -> list[tuple]:
    return [(wd, opens, closes) for wd in WEEKDAYS]


def full_place(db, now: datetime, name: str = "こども食堂みかん（テスト）", **kw) -> Place:
    """A place with every field a parent reads filled in."""
    base = dict(district="kozu", kind="shokudo", address="小田原市国府津1-2-3", address_note="国府津公民館 2階",
                lat=35.2781, lon=139.2030, age_min=0, age_max=18, cost_kind="per_meal", cost_yen=300,
                cost_note="こどもは無料、大人は1食300円", booking_required=True, contact_name="山田",
                phone="0465-00-0000", phone_ext="12", url="https://example.org/mikan",
                accessibility="車いすで入れます（エレベーターあり）", description="毎週水曜の夕ごはん。宿題もできます。",
                note="雨天でも開きます", organiser_name="みかんの会", hours_note="材料がなくなり次第終了します",
                verified_on=date(2026, 5, 20), rows=[(2, "17:00", "19:30")])
    base.update(kw)
    return add_place(db, now, name, **base)
