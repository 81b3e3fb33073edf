"""Wording shared by the public event and place pages (and the .ics descriptions): dates and times in Tokyo,
ages, costs, opening hours. Plain functions from values to Japanese text, no database or Flask."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.clock import to_tokyo

WEEKDAYS = "月火水木金土日"  # date.weekday(): 0 = Monday
KIND_LABELS = {"shokudo": "こども食堂", "study": "学習支援", "hiroba": "子育てひろば",
               "afterschool": "放課後の居場所", "play": "遊び場", "other": "その他の居場所"}


def day_label(d: date, *, year: bool = True) -> str:
    """2026年12月5日（土） (or 12月5日（土） without the year)."""
    head = f"{d.year}年" if year else ""
    return f"{head}{d.month}月{d.day}日（{WEEKDAYS[d.weekday()]}）"


def hm(dt: datetime) -> str:
    return f"{dt.hour}:{dt.minute:02d}"


def when_label(starts_at: datetime, ends_at: datetime | None, *, all_day: bool = False, year: bool = True) -> str:
    """2026年12月5日（土）10:00〜12:00; an end on another day names that day; all-day events show dates only."""
    start = to_tokyo(starts_at)
    end = to_tokyo(ends_at) if ends_at is not None else None
    if all_day:
        if end is None or end.date() <= start.date():
            return day_label(start.date(), year=year)
        last = end.date() - timedelta(days=1) if (end.hour, end.minute) == (0, 0) else end.date()
        if last <= start.date():
            return day_label(start.date(), year=year)
        return f"{day_label(start.date(), year=year)}〜{day_label(last, year=last.year != start.year)}"
    text = f"{day_label(start.date(), year=year)}{hm(start)}〜"
    if end is None:
        return text
    if end.date() == start.date():
        return text + hm(end)
    return text + f"{day_label(end.date(), year=end.year != start.year)}{hm(end)}"


def ages_label(age_min: int | None, age_max: int | None) -> str:
    if age_min is None and age_max is None:
        return "どなたでも"
    if age_min is None:
        return f"{age_max}歳まで"
    if age_max is None:
        return f"{age_min}歳以上"
    return f"{age_min}歳" if age_min == age_max else f"{age_min}〜{age_max}歳"


def cost_label(cost_kind: str, cost_yen: int | None, cost_note: str | None = None) -> str:
    if cost_kind == "free":
        text = "無料"
    elif cost_kind == "per_meal":
        text = f"1食 {cost_yen:,}円" if cost_yen is not None else "食事代あり"
    else:
        text = f"{cost_yen:,}円" if cost_yen is not None else "有料"
    return f"{text}（{cost_note}）" if cost_note else text


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


def tel_href(phone: str | None) -> str | None:
    """tel:0465331234 from 0465-33-1234 (digits and a leading + only); None when there are no digits."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isascii() and ch.isdigit())
    if not digits:
        return None
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits
