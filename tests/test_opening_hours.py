"""Opening hours: weekly rows, 第N週, national holidays (振替休日 and 国民の休日 too), 12/29-1/3, dates off, extra
dates, rows across midnight, and the one wording residents read. Pure functions; the rows are plain objects, the
same fields as Place / PlaceHours."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot import opening_hours as OH
from bot.clock import TOKYO
from tests.places_support import hours, plain_place


def at(y, m, d, hh=12, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


WEEKDAYS_15_17 = [hours(wd, "15:00", "17:00") for wd in range(5)]


def test_closing_at_17_is_open_at_16_59_and_closed_at_17_00():
    p = plain_place(WEEKDAYS_15_17)
    monday = at(2026, 6, 1, 16, 59)
    assert OH.is_open(p, monday)
    o = OH.next_opening(p, monday)
    assert (o.start, o.end) == (at(2026, 6, 1, 15), at(2026, 6, 1, 17))
    assert OH.describe_next(o, monday) == "今日 15:00〜17:00"

    closing = at(2026, 6, 1, 17, 0)
    assert not OH.is_open(p, closing)
    o = OH.next_opening(p, closing)
    assert o.start == at(2026, 6, 2, 15)  # Tuesday's, not Monday's that just ended
    assert OH.describe_next(o, closing) == "次は 明日 15:00"
    # Opening time itself is open (start <= at < end); one minute before is not.
    assert OH.is_open(p, at(2026, 6, 2, 15, 0)) and not OH.is_open(p, at(2026, 6, 2, 14, 59))
    # Before opening on the same day: today's opening, not yet running.
    morning = at(2026, 6, 2, 9)
    assert OH.describe_next(OH.next_opening(p, morning), morning) == "今日 15:00〜17:00"


def test_friday_evening_points_to_monday_by_weekday_name():
    p = plain_place(WEEKDAYS_15_17)
    friday = at(2026, 6, 5, 18)
    o = OH.next_opening(p, friday)
    assert o.start == at(2026, 6, 8, 15) and OH.describe_next(o, friday) == "次は 月曜 15:00"


@pytest.mark.parametrize("holiday, name", [
    (date(2026, 5, 4), "みどりの日"), (date(2026, 5, 6), "振替休日"), (date(2026, 9, 22), "国民の休日"),
    (date(2026, 11, 23), "勤労感謝の日"),
])
def test_national_holidays_close_a_place_that_closes_on_holidays(holiday, name):
    assert OH.is_holiday(holiday), name
    row = hours(holiday.weekday(), "10:00", "12:00")
    closed = plain_place([row])
    assert OH.opens_on(closed, holiday) == []
    assert not OH.is_open(closed, datetime.combine(holiday, datetime.min.time(), TOKYO) + timedelta(hours=11))
    o = OH.next_opening(closed, datetime.combine(holiday, datetime.min.time(), TOKYO))
    assert o.start.date() == holiday + timedelta(days=7)  # the next week's same weekday
    # The same rows on a place that stays open on holidays.
    opened = plain_place([row], closed_on_holidays=False)
    assert [s.date() for s, _ in OH.opens_on(opened, holiday)] == [holiday]
    # And the weekday a week later is no holiday: open either way.
    assert OH.opens_on(closed, holiday + timedelta(days=7))


def test_the_year_end_closure_covers_12_29_to_1_3():
    daily = [hours(wd, "10:00", "16:00") for wd in range(7)]
    p = plain_place(daily, closed_on_holidays=False)
    days = {d: bool(OH.opens_on(p, d)) for d in (date(2026, 12, 28) + timedelta(days=i) for i in range(8))}
    assert days == {date(2026, 12, 28): True, date(2026, 12, 29): False, date(2026, 12, 30): False,
                    date(2026, 12, 31): False, date(2027, 1, 1): False, date(2027, 1, 2): False,
                    date(2027, 1, 3): False, date(2027, 1, 4): True}
    o = OH.next_opening(p, at(2026, 12, 28, 17))
    assert o.start == at(2027, 1, 4, 10)
    assert OH.describe_next(o, at(2026, 12, 28, 17)) == "次は 1/4（月）10:00"
    # Without the closure, 12/31 is an ordinary Thursday (1/1 then still closes as a holiday if asked to).
    open_all = plain_place(daily, closed_on_holidays=False, closed_year_end=False)
    assert OH.opens_on(open_all, date(2026, 12, 31)) and OH.opens_on(open_all, date(2027, 1, 1))
    assert not OH.opens_on(plain_place(daily, closed_year_end=False), date(2027, 1, 1))


def test_first_saturday_counts_from_the_first_day_of_the_month():
    first_sat = plain_place([hours(5, "10:00", "12:00", weeks=0b10)])  # 第1土曜
    assert date(2026, 8, 1).weekday() == 5  # Saturday the 1st: that is the 第1土曜
    o = OH.next_opening(first_sat, at(2026, 7, 27, 9))
    assert o.start == at(2026, 8, 1, 10)
    # After it: the next month's first Saturday (5 September), not the second Saturday of August.
    assert OH.next_opening(first_sat, at(2026, 8, 1, 12)).start == at(2026, 9, 5, 10)
    # November 2026 starts on a Sunday: the 第1土曜 is the 7th; the 8th would already be a 第2 day.
    assert OH.week_of_month(date(2026, 11, 7)) == 1 and OH.week_of_month(date(2026, 11, 8)) == 2
    assert OH.next_opening(first_sat, at(2026, 11, 1, 9)).start == at(2026, 11, 7, 10)


def test_second_and_fourth_saturdays_and_a_fifth():
    p = plain_place([hours(5, "13:00", "15:00", weeks=0b10100)])  # 第2・第4土曜
    got, t = [], at(2026, 8, 1, 0)
    for _ in range(4):
        o = OH.next_opening(p, t)
        got.append(o.start.date())
        t = o.end
    assert got == [date(2026, 8, 8), date(2026, 8, 22), date(2026, 9, 12), date(2026, 9, 26)]
    fifth = plain_place([hours(5, "13:00", "15:00", weeks=0b100000)])
    assert OH.next_opening(fifth, at(2026, 9, 1)).start.date() == date(2026, 10, 31)  # next 第5土曜 after 8/29
    assert OH.weekly_text(p) == ["土曜（第2・第4） 13:00〜15:00"]


def test_across_midnight_is_judged_in_tokyo_not_utc():
    # Friday 20:00 to Saturday 02:00 (closes past 1440).
    night = plain_place([hours(4, "20:00", "26:00")])
    sat_0130 = datetime(2026, 6, 5, 16, 30, tzinfo=timezone.utc)  # = Saturday 01:30 in Tokyo; Friday in UTC
    assert OH.is_open(night, sat_0130)
    o = OH.next_opening(night, sat_0130)
    assert (o.start, o.end) == (at(2026, 6, 5, 20), at(2026, 6, 6, 2))
    assert OH.describe_next(o, sat_0130) == "開いています（2:00まで）"
    assert OH.describe_next(o, at(2026, 6, 5, 19)) == "今日 20:00〜翌2:00"
    assert not OH.is_open(night, datetime(2026, 6, 5, 17, 0, tzinfo=timezone.utc))  # Saturday 02:00 JST
    # Saturday's own openings do not include Friday night's.
    assert OH.opens_on(night, date(2026, 6, 6)) == []
    assert OH.weekly_text(night) == ["金曜 20:00〜翌2:00"]

    # A Saturday morning row asked at Friday 23:30 UTC (Saturday 08:30 in Tokyo): "today", not "tomorrow".
    sat = plain_place([hours(5, "10:00", "12:00")])
    friday_utc = datetime(2026, 6, 5, 23, 30, tzinfo=timezone.utc)
    o = OH.next_opening(sat, friday_utc)
    assert o.start == at(2026, 6, 6, 10) and OH.describe_next(o, friday_utc) == "今日 10:00〜12:00"
    # ... and Friday 14:00 UTC (23:00 Friday in Tokyo) still says tomorrow.
    late = datetime(2026, 6, 5, 14, 0, tzinfo=timezone.utc)
    assert OH.describe_next(OH.next_opening(sat, late), late) == "次は 明日 10:00"


def test_dates_off_and_extra_dates():
    p = plain_place([hours(2, "15:00", "18:00")], closed_dates=["2026-06-03"],
                    extra_dates=[{"date": "2026-05-05", "open": "10:00", "close": "14:00"},   # こどもの日 (a holiday)
                                 {"date": "2026-06-03", "open": "10:00", "close": "11:00"},   # also a date off
                                 {"date": "bad", "open": "x"}, "junk"])
    assert OH.opens_on(p, date(2026, 6, 3)) == []  # a date off wins over everything
    assert OH.next_opening(p, at(2026, 6, 1)).start == at(2026, 6, 10, 15)
    assert OH.opens_on(p, date(2026, 5, 5)) == [(at(2026, 5, 5, 10), at(2026, 5, 5, 14))]  # listed, so open
    # An extra date far beyond the weekly horizon is still found for a place with no weekly rows.
    far = plain_place([], extra_dates=[{"date": "2027-08-01", "open": "9:00", "close": "12:00"}])
    assert OH.next_opening(far, at(2026, 6, 1)).start == at(2027, 8, 1, 9)
    assert OH.next_opening(plain_place([]), at(2026, 6, 1)) is None
    assert OH.describe_next(None, at(2026, 6, 1)) == "次に開く日は未定です"


def test_overlapping_rows_merge_and_far_dates_show_the_date():
    p = plain_place([hours(5, "10:00", "12:00"), hours(5, "12:00", "15:00"), hours(5, "11:00", "13:00")])
    assert OH.opens_on(p, date(2026, 6, 6)) == [(at(2026, 6, 6, 10), at(2026, 6, 6, 15))]
    monthly = plain_place([hours(5, "10:00", "12:00", weeks=0b1000)])  # 第3土曜
    now = at(2026, 6, 1)
    assert OH.describe_next(OH.next_opening(monthly, now), now) == "次は 6/20（土）10:00"
    assert OH.describe_next(OH.next_opening(p, now), now) == "次は 土曜 10:00"


def test_the_holiday_calendar_is_built_once_per_year():
    OH._holidays.cache_clear()
    p = plain_place([hours(wd, "09:00", "10:00") for wd in range(7)])
    for i in range(400):
        OH.opens_on(p, date(2026, 1, 1) + timedelta(days=i))
    info = OH._holidays.cache_info()
    assert info.misses == 2 and info.hits > 300  # 2026 and 2027, each read once
