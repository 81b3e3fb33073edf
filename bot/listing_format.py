"""Wording the public event and place pages need beyond the LINE views' (handlers/events_flex.py,
handlers/places_flex.py, whose cost, age, time and kind wording the pages reuse so a resident reads the same on
both): day headings, and the weekly hours table. Plain functions, no database or Flask."""
from __future__ import annotations

from datetime import date

WEEKDAYS = "月火水木金土日"  # date.weekday(): 0 = Monday


def day_label(d: date, *, year: bool = True) -> str:
    """2026年12月5日（土） (or 12月5日（土） without the year)."""
    head = f"{d.year}年" if year else ""
    return f"{head}{d.month}月{d.day}日（{WEEKDAYS[d.weekday()]}）"


def minutes_label(minutes: int) -> str:
    """Minutes after midnight as 15:00, midnight as 24:00; past it (closes may pass 1440) as 翌1:00."""
    if minutes == 1440:
        return "24:00"
    if minutes > 1440:
        minutes -= 1440
        return f"翌{minutes // 60}:{minutes % 60:02d}"
    return f"{minutes // 60}:{minutes % 60:02d}"


def weeks_label(weeks: int) -> str:
    """The Nth-weekday mask of PlaceHours (bit 1 = 第1 ... bit 5 = 第5; 0 = every week): 第2・第4 / 毎週."""
    nths = [str(n) for n in range(1, 6) if weeks & (1 << n)]
    return "第" + "・第".join(nths) if nths else "毎週"
