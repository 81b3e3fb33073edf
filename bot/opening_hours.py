"""When a children's place is open: its weekly rows (models/places.py: PlaceHours) and the exceptions on the place
(national holidays, the year end 12/29-1/3, dates off, extra dates), all in Tokyo wall time.

Rules, in order, for one Tokyo day:
  1. a date in `closed_dates` is closed, whatever else applies;
  2. the weekly rows for that weekday (only in the month's Nth week when `weeks` says so) unless the day is a
     national holiday (holidays.Japan: 振替休日 and 国民の休日 included) and `closed_on_holidays`, or within
     12/29-1/3 and `closed_year_end`;
  3. `extra_dates` add openings on their dates (an organiser who lists a date means it, holiday or not).
A row may close after midnight (closes > 1440): the opening runs into the next day. Openings of one day that
overlap or touch are merged, so "open now" and "until when" read as a resident would expect.

Search runs this for many places per query, so it works on plain attributes (a Place, or any object with the
same fields) and caches the holiday calendar per year.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from bot.clock import TOKYO, to_tokyo

HORIZON_DAYS = 120   # a 第5土曜 can be three months away; beyond this a place counts as having no opening planned
WEEKDAYS = "月火水木金土日"


@dataclass(frozen=True)
class Opening:
    start: datetime  # aware, Asia/Tokyo
    end: datetime

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


@lru_cache(maxsize=16)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.Japan(years=year).keys())


def is_holiday(day: date) -> bool:
    return day in _holidays(day.year)


def year_end(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def week_of_month(day: date) -> int:
    """1 for the first seven days of the month (the first Saturday is in week 1), ... 5."""
    return (day.day - 1) // 7 + 1


def _hhmm(value) -> int | None:
    """'10:00' -> 600; '25:30' allowed (after midnight); anything else None."""
    if not isinstance(value, str) or ":" not in value:
        return None
    h, _, m = value.strip().partition(":")
    if not (h.isdigit() and m.isdigit()):
        return None
    minutes = int(h) * 60 + int(m)
    return minutes if int(m) < 60 and 0 <= minutes <= 2880 else None


def _iso(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


class Schedule:
    """One place's rules in the form the day loop wants. Built per call from a place (its rows are few), or by
    a search straight from selected columns (`from_parts`) without loading ORM objects."""

    __slots__ = ("by_weekday", "holidays_off", "year_end_off", "closed", "extra")

    def __init__(self, rows, holidays_off: bool, year_end_off: bool, closed_dates, extra_dates) -> None:
        # rows: (weekday, opens, closes, weeks) tuples
        self.by_weekday: dict[int, list[tuple[int, int, int]]] = {}
        for wd, opens, closes, weeks in rows:
            self.by_weekday.setdefault(wd, []).append((opens, closes, weeks or 0))
        self.holidays_off = bool(holidays_off)
        self.year_end_off = bool(year_end_off)
        self.closed = {d for d in (_iso(x) for x in closed_dates) if d} if closed_dates else set()
        self.extra: dict[date, list[tuple[int, int]]] = {}
        for item in extra_dates or ():
            if not isinstance(item, dict):
                continue
            day, opens, closes = _iso(item.get("date")), _hhmm(item.get("open")), _hhmm(item.get("close"))
            if day and opens is not None and closes is not None and opens < 1440:
                if closes <= opens:
                    closes += 1440  # 22:00-02:00 written as such
                self.extra.setdefault(day, []).append((opens, closes))

    @classmethod
    def of(cls, place) -> "Schedule":
        if isinstance(place, Schedule):
            return place
        return cls(((h.weekday, h.opens, h.closes, h.weeks) for h in place.hours or ()), place.closed_on_holidays,
                   place.closed_year_end, place.closed_dates, place.extra_dates)

    def spans(self, day: date) -> list[tuple[int, int]]:
        """(opens, closes) minutes after the day's midnight, sorted and merged."""
        rows = self.by_weekday.get(day.weekday())
        if not rows and not self.extra:
            return []
        if self.closed and day in self.closed:
            return []
        out: list[tuple[int, int]] = []
        if rows and not ((self.year_end_off and year_end(day)) or (self.holidays_off and is_holiday(day))):
            nth = 1 << week_of_month(day)
            out = [(o, c) for o, c, weeks in rows if not weeks or weeks & nth]
        if self.extra and day in self.extra:
            out = out + self.extra[day]
        if len(out) > 1:
            out.sort()
            merged = [out[0]]
            for o, c in out[1:]:
                if o <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], c))
                else:
                    merged.append((o, c))
            out = merged
        return out

    def openings(self, day: date) -> list[Opening]:
        return [_opening(day, o, c) for o, c in self.spans(day)]

    def may_open(self) -> bool:
        return bool(self.by_weekday or self.extra)


def _opening(day: date, opens: int, closes: int) -> Opening:
    midnight = datetime(day.year, day.month, day.day, tzinfo=TOKYO)
    return Opening(midnight + timedelta(minutes=opens), midnight + timedelta(minutes=closes))


def opens_on(place, day: date) -> list[tuple[datetime, datetime]]:
    """Openings that start on `day` (Tokyo), as (start, end) aware Tokyo datetimes, earliest first."""
    return [(o.start, o.end) for o in Schedule.of(place).openings(day)]


def openings_on(place, day: date) -> list[Opening]:
    return Schedule.of(place).openings(day)


def next_opening(place, at: datetime, *, horizon_days: int = HORIZON_DAYS, beyond: bool = True) -> Opening | None:
    """The opening running at `at` (start <= at < end), else the next one to start; None when nothing is planned
    within the horizon (extra dates are looked for beyond it). A place closing at 17:00 is closed at 17:00 sharp.
    `place`: a Place (or the same fields) or a Schedule."""
    s = Schedule.of(place)
    if not s.may_open():
        return None
    at = to_tokyo(at)
    today = at.date()
    base = today.toordinal()
    # Seconds since today's Tokyo midnight (Tokyo has no daylight saving); spans compare in minutes.
    rel = at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6
    # Yesterday first: an opening across midnight may still be running.
    for offset in range(-1, horizon_days + 1):
        day = date.fromordinal(base + offset)
        for o, c in s.spans(day):
            if (offset * 1440 + c) * 60 > rel:
                return _opening(day, o, c)
    if beyond and s.extra:  # an extra date announced far ahead
        last = date.fromordinal(base + horizon_days)
        for day in sorted(d for d in s.extra if d > last):
            for o, c in s.spans(day):
                return _opening(day, o, c)
    return None


def next_opening_on(place, day: date, at: datetime) -> Opening | None:
    """The first opening starting on `day` that has not ended at `at` (for "open on Saturday" searches)."""
    at = to_tokyo(at)
    return next((o for o in Schedule.of(place).openings(day) if o.end > at), None)


def is_open(place, at: datetime) -> bool:
    o = next_opening(place, at, horizon_days=0, beyond=False)
    return o is not None and o.contains(to_tokyo(at))


def clock_text(dt: datetime, base: date) -> str:
    """9:30, or 翌2:00 when the time falls on the day after `base`."""
    t = to_tokyo(dt)
    s = f"{t.hour}:{t.minute:02d}"
    days = (t.date() - base).days
    if days == 1 and t.hour == 0 and t.minute == 0:
        return "24:00"
    return s if days <= 0 else ("翌" if days == 1 else f"{days}日後") + s


def describe_next(opening: Opening | None, now: datetime) -> str:
    """One wording for LINE and the web: 「今日 15:00〜18:00」「次は 明日 10:00」「次は 土曜 10:00」
    「次は 8/15（土）10:00」; while open since yesterday 「開いています（2:00まで）」."""
    if opening is None:
        return "次に開く日は未定です"
    now = to_tokyo(now)
    today = now.date()
    start, end = to_tokyo(opening.start), to_tokyo(opening.end)
    day = start.date()
    if day < today:
        return f"開いています（{clock_text(end, today)}まで）"
    if day == today:
        return f"今日 {clock_text(start, day)}〜{clock_text(end, day)}"
    at = clock_text(start, day)
    delta = (day - today).days
    if delta == 1:
        return f"次は 明日 {at}"
    if delta < 7:
        return f"次は {WEEKDAYS[day.weekday()]}曜 {at}"
    return f"次は {day.month}/{day.day}（{WEEKDAYS[day.weekday()]}）{at}"


def weekly_text(place) -> list[str]:
    """The weekly pattern as lines for a detail view: 「土曜（第2・第4）10:00〜12:00」."""
    lines = []
    for h in sorted(place.hours or (), key=lambda h: (h.weekday, h.opens)):
        weeks = [str(n) for n in range(1, 6) if (h.weeks or 0) & (1 << n)]
        which = f"（第{'・第'.join(weeks)}）" if weeks else ""
        start = f"{h.opens // 60}:{h.opens % 60:02d}"
        end = f"{'翌' if h.closes > 1440 else ''}{(h.closes % 1440) // 60}:{h.closes % 60:02d}" \
            if h.closes != 1440 else "24:00"
        lines.append(f"{WEEKDAYS[h.weekday]}曜{which} {start}〜{end}")
    return lines


def exceptions_text(place) -> list[str]:
    out = []
    if place.closed_on_holidays:
        out.append("祝日は休み")
    if place.closed_year_end:
        out.append("年末年始（12/29〜1/3）は休み")
    return out
