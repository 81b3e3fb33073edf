"""The ボランティア forms of the admin: an opportunity (活動) and one of its shifts (日時・定員・締切).

Built on listing_forms.py's reader (what was typed stays, the first problem per field is shown beside it in
Japanese) and its shared checks for 地区, 緯度・経度 inside the city, the plan's project and 施策番号, so the
volunteer pages say the same things the event pages say. Times are typed in Tokyo and stored in UTC.
"""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from bot.admin import listing_forms as lf
from bot.clock import to_tokyo, utc

CAPACITY_MAX = 10_000
# The shared checks read these fields too (ages, cost, contact); the volunteer form has none of them, so they
# are read as empty and dropped here.
KEPT_FROM_SHARED = ("district", "lat", "lon", "description", "project", "action")


def parse_opportunity(form: Mapping, ctx: lf.Context) -> lf.Parsed:
    p = lf.Parsed()
    r = lf.Reader(form, p)
    v = p.values
    v["title"] = r.text("title", "活動の名前", 200, required=True)
    v["place_name"] = r.text("place_name", "活動場所", 200)
    v["address"] = r.text("address", "住所", 300)
    lf._owner_and_text(r, p, ctx, district_required=False)  # 地区, 緯度・経度, 説明, プロジェクト, 施策番号
    for key in list(v):
        if key not in KEPT_FROM_SHARED and key not in ("title", "place_name", "address"):
            del v[key]
    v["bring"] = r.text("bring", "持ち物", 1000)
    v["conditions"] = r.text("conditions", "参加の条件", 1000)
    v["min_age"] = r.integer("min_age", "参加できる年齢", lo=0, hi=lf.AGE_MAX, unit="歳")
    v["accessibility"] = r.text("accessibility", "バリアフリー・配慮", 1000)
    v["remind_2h"] = r.check("remind_2h")
    return p


def opportunity_raw(item) -> dict:
    raw = {name: _show(getattr(item, name)) for name in (
        "title", "description", "district", "place_name", "address", "lat", "lon", "project", "bring",
        "conditions", "min_age", "accessibility")}
    raw["plan_action"] = _show(item.action)
    raw["remind_2h"] = bool(item.remind_2h)
    return raw


def parse_shift(form: Mapping, *, now: datetime, existing=None) -> lf.Parsed:
    """日付, 開始・終了時刻 (終了が翌日にまたがるときは終了日), 定員, 申込締切. `existing`: the stored shift
    when editing (a start already past may stay as it is)."""
    p = lf.Parsed()
    r = lf.Reader(form, p)
    v = p.values
    day = r.day("date", "日付")
    if day is None and "date" not in p.errors:
        r.fail("date", "日付を入力してください。")
    t1 = r.clock_time("start_time", "開始時刻")
    if t1 is None and "start_time" not in p.errors:
        r.fail("start_time", "開始時刻を入力してください。")
    t2 = r.clock_time("end_time", "終了時刻")
    if t2 is None and "end_time" not in p.errors:
        r.fail("end_time", "終了時刻を入力してください。")
    end_day = r.day("end_date", "終了日")
    starts_at = ends_at = None
    if day is not None and t1 is not None:
        starts_at = lf.tokyo(day, t1)
        changed = existing is None or utc(existing.starts_at) != starts_at
        if changed and starts_at < utc(now):
            r.fail("start_time", f"開始日時（{to_tokyo(starts_at):%Y/%m/%d %H:%M}）が過ぎています。"
                                 "これから先の日時を入力してください。")
        if t2 is not None:
            ends_at = lf.tokyo(end_day or day, t2)
            if ends_at <= starts_at:
                r.fail("end_time", "終了時刻は開始時刻より後にしてください（日付をまたぐときは終了日も入力します）。")
            elif (ends_at - starts_at).total_seconds() > 24 * 3600:
                r.fail("end_time", "1回のシフトは24時間までです。")
    v["starts_at"], v["ends_at"] = starts_at, ends_at

    capacity = r.integer("capacity", "定員", lo=-CAPACITY_MAX, hi=CAPACITY_MAX, unit="人")
    if capacity is None and "capacity" not in p.errors:
        r.fail("capacity", "定員を入力してください。")
    elif capacity is not None and capacity <= 0:
        r.fail("capacity", "定員は1人以上で入力してください。")
        capacity = None
    v["capacity"] = capacity

    deadline = lf.deadline_of(r, p)
    if deadline is not None:
        if starts_at is not None and deadline > starts_at:
            r.fail("deadline_date", f"申込締切（{to_tokyo(deadline):%m/%d %H:%M}）は開始日時"
                                    f"（{to_tokyo(starts_at):%m/%d %H:%M}）より前にしてください。")
    v["signup_deadline"] = deadline
    v["note"] = r.text("note", "このシフトの補足", 300)
    p.raw["move_to_waitlist"] = r.check("move_to_waitlist")
    return p


def shift_raw(shift) -> dict:
    start, end = to_tokyo(shift.starts_at), to_tokyo(shift.ends_at)
    raw = {"date": f"{start:%Y-%m-%d}", "start_time": f"{start:%H:%M}", "end_time": f"{end:%H:%M}",
           "end_date": f"{end:%Y-%m-%d}" if end.date() != start.date() else "",
           "capacity": str(shift.capacity), "note": shift.note or ""}
    if shift.signup_deadline is not None:
        dl = to_tokyo(shift.signup_deadline)
        raw["deadline_date"], raw["deadline_time"] = f"{dl:%Y-%m-%d}", f"{dl:%H:%M}"
    return raw


def _show(value) -> str:
    return "" if value is None else str(value)
