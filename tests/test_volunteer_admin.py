"""ボランティア in the admin over HTTP (Flask's test client, CSRF on, frozen clock at 2026-11-25 10:00 Tokyo), on
both databases: opportunities and shifts with every check in Japanese, a shift's registration slot, lowering the
capacity below the confirmed (refused, or the last sign-ups moved to the waitlist when asked), the roster with
the chosen names only, 出席 / 欠席 and the hours, the Excel-friendly CSV, a message to a shift's volunteers, a
cancelled shift, and another organisation refused (403) on every volunteer route, a shift under the wrong
opportunity a 404."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot import registrations as regs
from bot.volunteer_roster import mark_attendance
from models.publications import Publication
from models.registrations import Registration
from models.users import User
from models.volunteer import Opportunity, Shift, VolunteerProfile
from tests.admin_support import T0
from tests.listings_admin_support import approval_app, count, created_id, publication  # noqa: F401 (a fixture)

NEW = "/admin/volunteer/new"
SHIFT_DAY = datetime(2026, 12, 5, 0, 5, tzinfo=timezone.utc)  # 12/5 09:05 in Tokyo: at the door


def opp_form(**kw) -> dict:
    data = {"title": "海岸清掃ボランティア", "description": "御幸の浜のごみを拾います。", "district": "kozu",
            "place_name": "御幸の浜", "lat": "35.245", "lon": "139.160", "bring": "軍手、飲み物",
            "conditions": "1時間ほど歩ける方", "min_age": "10", "project": "3", "remind_2h": "y"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def shift_form(**kw) -> dict:
    data = {"date": "2026-12-05", "start_time": "09:00", "end_time": "12:00", "capacity": "3",
            "deadline_date": "2026-12-04", "deadline_time": "18:00"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def make_opp(env, who: str = "orga", **kw) -> int:
    return created_id(env.signed_in(who).post(NEW, opp_form(**kw), token_from=NEW))


def add_shift(env, opp_id: int, who: str = "orga", **kw) -> int:
    url = f"/admin/volunteer/{opp_id}/shifts/new"
    r = env.signed_in(who).post(url, shift_form(**kw), token_from=url)
    assert r.status_code == 302, re.findall(r'field-error">([^<]*)', r.get_data(as_text=True))
    with env.db() as db:
        return db.scalar(select(Shift.id).where(Shift.opportunity_id == opp_id).order_by(Shift.id.desc()).limit(1))


def residents(env, names: list[str | None]) -> list[int]:
    """Residents, each with the name they chose to give (None: no name given)."""
    with env.db() as db:
        base = db.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0
        users = [User(line_user_id=f"U{base + i + 1:032x}", active=True, created_at=T0, followed_at=T0)
                 for i in range(len(names))]
        db.add_all(users)
        db.flush()
        for u, name in zip(users, names):
            if name:
                db.add(VolunteerProfile(user_id=u.id, display_name=name, updated_at=T0))
        db.commit()
        return [u.id for u in users]


def sign_up(env, shift_id: int, user_ids: list[int], *, minute_apart: bool = False) -> list[str]:
    out = []
    for i, uid in enumerate(user_ids):
        if minute_apart:
            env.clock.set(datetime(2026, 11, 25, 1, i, tzinfo=timezone.utc))
        with env.db() as db:
            slot = regs.find_slot(db, "shift", shift_id)
            out.append(regs.register(db, slot.id, uid, now=env.rt.now()).status)
            db.commit()
    return out


def statuses(env, shift_id: int) -> dict[int, str]:
    with env.db() as db:
        slot = regs.find_slot(db, "shift", shift_id)
        return {r.user_id: r.status for r in db.scalars(select(Registration).where(Registration.slot_id == slot.id))}


def errors_of(response) -> list[str]:
    return re.findall(r'field-error">([^<]*)', response.get_data(as_text=True))


# --- opportunities ----------------------------------------------------------------------------------------------

def test_create_edit_publish_and_withdraw_an_opportunity(admin_env):
    orga = admin_env.signed_in("orga")
    page = orga.get(NEW).get_data(as_text=True)
    assert 'name="remind_2h"' in page and 'name="organisation_id"' not in page
    opp_id = make_opp(admin_env)
    with admin_env.db() as db:
        o = db.get(Opportunity, opp_id)
        assert (o.organisation_id, o.status, o.district, o.lat, o.min_age, o.remind_2h, o.project) == \
            (admin_env.ids["org_a"], "draft", "kozu", 35.245, 10, True, 3)
        assert o.bring == "軍手、飲み物" and o.conditions == "1時間ほど歩ける方"
    edit = f"/admin/volunteer/{opp_id}/edit"
    assert 'value="海岸清掃ボランティア"' in orga.get(edit).get_data(as_text=True)
    assert orga.post(edit, opp_form(title="海岸清掃", remind_2h=None), token_from=edit).status_code == 302
    with admin_env.db() as db:
        o = db.get(Opportunity, opp_id)
        assert o.title == "海岸清掃" and o.remind_2h is False
    r = orga.post(f"/admin/volunteer/{opp_id}/publish")
    assert r.status_code == 302
    assert "公開しました。" in orga.get(f"/admin/volunteer/{opp_id}").get_data(as_text=True)
    r = orga.post(f"/admin/volunteer/{opp_id}/publish")  # already published
    assert r.status_code == 409 and "公開の操作はできません" in r.get_data(as_text=True)
    assert orga.post(f"/admin/volunteer/{opp_id}/withdraw").status_code == 302
    with admin_env.db() as db:
        assert db.get(Opportunity, opp_id).status == "withdrawn"
    assert [e.action for e in admin_env.audit() if e.action.startswith("volunteer.")] == \
        ["volunteer.create", "volunteer.update", "volunteer.publish", "volunteer.withdraw"]
    # The list: A's own only; staff see A's and B's.
    make_opp(admin_env, "orgb", title="Bの花壇づくり")
    listing = orga.get("/admin/volunteer").get_data(as_text=True)
    assert "海岸清掃" in listing and "Bの花壇づくり" not in listing
    staff_list = admin_env.signed_in("staff").get("/admin/volunteer").get_data(as_text=True)
    assert "海岸清掃" in staff_list and "Bの花壇づくり" in staff_list


@pytest.mark.parametrize("fields, field, message", [
    ({"title": ""}, "title", "活動の名前を入力してください。"),
    ({"lat": "35.0", "lon": "139.0"}, "lat", "が市の外を指しています"),
    ({"lat": "35.25", "lon": ""}, "lon", "緯度と経度は両方入力してください"),
    ({"district": "atlantis"}, "district", "地区は一覧から選んでください。"),
    ({"min_age": "200"}, "min_age", "参加できる年齢は0から120までの数で入力してください。"),
])
def test_opportunity_checks_in_japanese(admin_env, fields, field, message):
    orga = admin_env.signed_in("orga")
    r = orga.post(NEW, opp_form(**fields), token_from=NEW)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(rf'id="{field}-error" class="field-error">[^<]*{re.escape(message)}', html), errors_of(r)
    assert count(admin_env, Opportunity) == 0


# --- shifts -----------------------------------------------------------------------------------------------------

def test_a_shift_is_a_registration_slot(admin_env):
    opp_id = make_opp(admin_env)
    shift_id = add_shift(admin_env, opp_id)
    with admin_env.db() as db:
        shift = db.get(Shift, shift_id)
        slot = regs.find_slot(db, "shift", shift_id)
        assert shift.minutes == 180 and shift.capacity == 3
        assert (slot.capacity, slot.open) == (3, True)
        assert slot.starts_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 5, 0, 0, tzinfo=timezone.utc)
        assert slot.closes_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
    page = admin_env.signed_in("orga").get(f"/admin/volunteer/{opp_id}").get_data(as_text=True)
    assert "2026年12月5日（土）09:00〜12:00" in page and "確定 0人・待ち 0人" in page


@pytest.mark.parametrize("fields, field, message", [
    ({"end_time": "08:00"}, "end_time", "終了時刻は開始時刻より後にしてください"),
    ({"date": "2026-11-24"}, "start_time", "開始日時（2026/11/24 09:00）が過ぎています。これから先の日時を入力してください。"),
    ({"capacity": "0"}, "capacity", "定員は1人以上で入力してください。"),
    ({"capacity": "-3"}, "capacity", "定員は1人以上で入力してください。"),
    ({"capacity": ""}, "capacity", "定員を入力してください。"),
    ({"capacity": "たくさん"}, "capacity", "定員は数字で入力してください。"),
    ({"deadline_date": "2026-12-06"}, "deadline_date", "申込締切（12/06 18:00）は開始日時（12/05 09:00）より前にしてください。"),
    ({"date": "2026-13-01"}, "date", "日付は 2026-12-05 のように入力してください。"),
    ({"start_time": "25:00"}, "start_time", "開始時刻は 10:00 のように入力してください。"),
])
def test_shift_checks_in_japanese(admin_env, fields, field, message):
    opp_id = make_opp(admin_env)
    url = f"/admin/volunteer/{opp_id}/shifts/new"
    r = admin_env.signed_in("orga").post(url, shift_form(**fields), token_from=url)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(rf'id="{field}-error" class="field-error">[^<]*{re.escape(message)}', html), errors_of(r)
    assert count(admin_env, Shift) == 0


def test_lowering_capacity_is_refused_or_moves_the_last_to_the_waitlist(admin_env):
    opp_id = make_opp(admin_env)
    shift_id = add_shift(admin_env, opp_id, capacity="3")
    users = residents(admin_env, ["佐藤", "鈴木", "高橋", "田中"])
    assert sign_up(admin_env, shift_id, users, minute_apart=True) == ["confirmed"] * 3 + ["waitlisted"]
    orga = admin_env.signed_in("orga")
    url = f"/admin/volunteer/{opp_id}/shifts/{shift_id}/edit"
    r = orga.post(url, shift_form(capacity="1"), token_from=url)
    html = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "参加が確定している方が3人いるため、定員を1人には減らせません。" in html
    assert 'name="move_to_waitlist"' in html and "最後に申し込んだ2人をキャンセル待ちの先頭に移して" in html
    with admin_env.db() as db:
        assert db.get(Shift, shift_id).capacity == 3 and regs.find_slot(db, "shift", shift_id).capacity == 3
    r = orga.post(url, shift_form(capacity="1", move_to_waitlist="y"), token_from=url)
    assert r.status_code == 302
    assert "最後に申し込んだ2人をキャンセル待ちの先頭に移しました。" in orga.get(r.headers["Location"]).get_data(as_text=True)
    with admin_env.db() as db:
        slot = regs.find_slot(db, "shift", shift_id)
        assert (db.get(Shift, shift_id).capacity, slot.capacity, slot.confirmed, slot.waiting) == (1, 1, 1, 3)
        waitlist = [r.user_id for r in regs.roster(db, slot.id) if r.status == "waitlisted"]
    assert statuses(admin_env, shift_id)[users[0]] == "confirmed"
    assert waitlist == [users[1], users[2], users[3]]  # the moved keep their arrival order, ahead of the rest
    # A larger capacity promotes from the front of the waitlist.
    assert orga.post(url, shift_form(capacity="2"), token_from=url).status_code == 302
    assert statuses(admin_env, shift_id)[users[1]] == "confirmed"
    assert any("キャンセル待ちへ2人" in e.summary for e in admin_env.audit("volunteer.shift_update"))


def test_time_change_and_cancel_of_a_shift(admin_env):
    opp_id = make_opp(admin_env)
    shift_id = add_shift(admin_env, opp_id)
    users = residents(admin_env, ["佐藤"])
    sign_up(admin_env, shift_id, users)
    orga = admin_env.signed_in("orga")
    url = f"/admin/volunteer/{opp_id}/shifts/{shift_id}/edit"
    r = orga.post(url, shift_form(start_time="10:00", end_time="13:00"), token_from=url)
    assert r.status_code == 302
    with admin_env.db() as db:
        slot = regs.find_slot(db, "shift", shift_id)
        assert slot.starts_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
    assert "変更: 日時" in admin_env.audit("volunteer.shift_update")[-1].summary
    changed = count(admin_env, select(Publication).where(Publication.ref.like(f"shift:{shift_id}:changed:%")))
    assert changed == 1  # the volunteers are told (bot.volunteer_notices.shift_changed)
    r = orga.post(url, shift_form(start_time="10:00", end_time="13:00", capacity="4"), token_from=url)
    assert r.status_code == 302 and count(admin_env, select(Publication).where(
        Publication.ref.like(f"shift:{shift_id}:changed:%"))) == 1  # not the time: nobody told again
    r = orga.post(f"/admin/volunteer/{opp_id}/shifts/{shift_id}/cancel")
    assert r.status_code == 302
    with admin_env.db() as db:
        assert db.get(Shift, shift_id).status == "cancelled" and regs.find_slot(db, "shift", shift_id).open is False
        slot_id = regs.find_slot(db, "shift", shift_id).id
        assert regs.register(db, slot_id, residents(admin_env, [None])[0], now=T0).status == "closed"
    assert publication(admin_env, f"shift:{shift_id}:cancelled").segment["user_ids"] == users
    r = orga.post(f"/admin/volunteer/{opp_id}/shifts/{shift_id}/cancel")
    assert r.status_code == 409 and "すでに中止しています" in r.get_data(as_text=True)
    r = orga.get(url)  # a cancelled shift is not edited
    assert r.status_code == 302


# --- roster -----------------------------------------------------------------------------------------------------

def test_roster_shows_chosen_names_only_and_attendance_gives_hours(admin_env):
    opp_id = make_opp(admin_env)
    shift_id = add_shift(admin_env, opp_id, capacity="2")
    users = residents(admin_env, ["さくら", None, "ゆうき"])
    sign_up(admin_env, shift_id, users, minute_apart=True)
    orga = admin_env.signed_in("orga")
    url = f"/admin/volunteer/{opp_id}/shifts/{shift_id}/roster"
    html = orga.get(url).get_data(as_text=True)
    assert "さくら" in html and "（お名前の登録なし）" in html
    assert re.search(r'<ol id="waitlist">\s*<li class="waiting-person">ゆうき</li>', html)
    assert "U0000" not in html and 'action="' + url + '/' not in html  # no LINE ids; no buttons before the day
    assert "出欠はシフトの当日から記録できます。" in html
    with admin_env.db() as db:
        reg_ids = {r.user_id: r.id for r in db.scalars(select(Registration))}
    r = orga.post(f"{url}/{reg_ids[users[0]]}", {"attendance": "attended"}, token_from=url)
    assert r.status_code == 409 and statuses(admin_env, shift_id)[users[0]] == "confirmed"

    admin_env.clock.set(SHIFT_DAY)
    orga = admin_env.signed_in("orga")  # a new sign-in on the day (sessions expire)
    html = orga.get(url).get_data(as_text=True)
    assert html.count('value="attended"') == 2 and html.count('value="no_show"') == 2
    r = orga.post(f"{url}/{reg_ids[users[0]]}", {"attendance": "attended"}, token_from=url)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"#reg-{reg_ids[users[0]]}")
    assert orga.post(f"{url}/{reg_ids[users[1]]}", {"attendance": "no_show"}, token_from=url).status_code == 302
    html = orga.get(url).get_data(as_text=True)
    assert '<strong id="attended-count">1人</strong>' in html and '<strong id="hours-total">3時間</strong>' in html
    assert statuses(admin_env, shift_id) == {users[0]: "attended", users[1]: "no_show", users[2]: "waitlisted"}
    # A correction: 欠席 -> 出席; hours follow; the counters are unchanged (both hold the place).
    assert orga.post(f"{url}/{reg_ids[users[1]]}", {"attendance": "attended"}, token_from=url).status_code == 302
    html = orga.get(url).get_data(as_text=True)
    assert '<strong id="hours-total">6時間</strong>' in html
    with admin_env.db() as db:
        slot = regs.find_slot(db, "shift", shift_id)
        assert (slot.confirmed, slot.waiting) == (2, 1)
        hist = [h[0] for h in db.get(Registration, reg_ids[users[1]]).history]
        assert hist == ["confirmed", "no_show", "attended"]
    # The waitlisted cannot be marked; a bad choice is a message; the audit names no one.
    r = orga.post(f"{url}/{reg_ids[users[2]]}", {"attendance": "attended"}, token_from=url)
    assert r.status_code == 409 and "出欠を記録できません" in r.get_data(as_text=True)
    r = orga.post(f"{url}/{reg_ids[users[0]]}", {"attendance": "maybe"}, token_from=url)
    assert r.status_code == 422 and "出席か欠席のボタンを押してください。" in r.get_data(as_text=True)
    summaries = [e.summary for e in admin_env.audit("volunteer.attendance")]
    assert len(summaries) == 3 and not any("さくら" in s for s in summaries)


def test_mark_attendance_refuses_a_cancelled_sign_up(admin_env):
    opp_id = make_opp(admin_env)
    shift_id = add_shift(admin_env, opp_id)
    users = residents(admin_env, ["さくら"])
    sign_up(admin_env, shift_id, users)
    with admin_env.db() as db:
        reg = db.scalar(select(Registration))
        regs.cancel(db, reg.id, now=T0)
        assert mark_attendance(db, reg.id, True, now=SHIFT_DAY) == "not_holding"
        assert mark_attendance(db, 999999, True, now=SHIFT_DAY) == "not_found"


def test_roster_csv_for_excel(admin_env):
    opp_id = make_opp(admin_env)
    shift_id = add_shift(admin_env, opp_id, capacity="2", start_time="09:00", end_time="11:30")
    users = residents(admin_env, ["さくら", "山田, 太郎", "ゆうき"])
    sign_up(admin_env, shift_id, users, minute_apart=True)
    admin_env.clock.set(SHIFT_DAY)
    with admin_env.db() as db:
        reg = db.scalar(select(Registration).where(Registration.user_id == users[0]))
        mark_attendance(db, reg.id, True, now=SHIFT_DAY)
        db.commit()
    r = admin_env.signed_in("orga").get(f"/admin/volunteer/{opp_id}/shifts/{shift_id}/roster.csv")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    raw = r.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.startswith("名前,状態,申込日時,出欠,時間\r\n") and text.count("\r\n") == 4 and "\n\n" not in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1:] == [["さくら", "参加確定", "2026/11/25 10:00:00", "出席", "2.5"],
                        ["山田, 太郎", "参加確定", "2026/11/25 10:01:00", "未記録", ""],
                        ["ゆうき", "キャンセル待ち1番目", "2026/11/25 10:02:00", "", ""]]
    assert len(admin_env.audit("volunteer.roster_export")) == 1


def test_message_to_a_shifts_volunteers_once_per_form(admin_env):
    opp_id = make_opp(admin_env)
    shift_id = add_shift(admin_env, opp_id, capacity="1")
    users = residents(admin_env, ["さくら", "ゆうき"])
    sign_up(admin_env, shift_id, users)
    orga = admin_env.signed_in("orga")
    url = f"/admin/volunteer/{opp_id}/shifts/{shift_id}/message"
    page = orga.get(url).get_data(as_text=True)
    assert '<strong id="confirmed">1人</strong>' in page
    nonce = re.search(r'name="nonce" value="([0-9a-f]{32})"', page)[1]
    r = orga.post(url, {"nonce": nonce, "text": ""}, token_from=url)
    assert r.status_code == 422 and "送る文を入力してください。" in r.get_data(as_text=True)
    r = orga.post(url, {"nonce": nonce, "text": "あ" * 1001}, token_from=url)
    assert r.status_code == 422 and "1,000文字以内" in r.get_data(as_text=True)
    for _ in range(2):  # a double click sends once
        assert orga.post(url, {"nonce": nonce, "text": "集合は正面玄関です。"}, token_from=url).status_code == 302
    pub = publication(admin_env, f"shift:{shift_id}:msg:{nonce}")
    assert pub.segment["user_ids"] == [users[0]] and pub.purpose == "registration"
    assert "集合は正面玄関です。" in pub.messages[0]["text"] and "海岸清掃ボランティア" in pub.messages[0]["text"]
    assert count(admin_env, select(Publication).where(Publication.ref.like(f"shift:{shift_id}:msg:%"))) == 1
    other = add_shift(admin_env, opp_id, date="2026-12-06")
    r = orga.post(f"/admin/volunteer/{opp_id}/shifts/{other}/message", {"text": "こんにちは"}, token_from=url)
    assert r.status_code == 422 and "送る相手（参加が確定している方）がいません。" in r.get_data(as_text=True)


# --- who may ------------------------------------------------------------------------------------------------------

def volunteer_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin.volunteer") and "item_id" in rule.rule:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, rule.rule


def _url(rule: str, item_id: int, shift_id: int, reg_id: int) -> str:
    for name, value in (("item_id", item_id), ("shift_id", shift_id), ("reg_id", reg_id)):
        rule = re.sub(rf"<(int:)?{name}>", str(value), rule)
    return rule


def test_another_organisation_is_refused_on_every_volunteer_route(admin_env):
    theirs = make_opp(admin_env, "orgb", title="Bの花壇づくり")
    their_shift = add_shift(admin_env, theirs, "orgb")
    sign_up(admin_env, their_shift, residents(admin_env, ["Bの人"]))
    with admin_env.db() as db:
        their_reg = db.scalar(select(Registration.id))
    admin_env.clock.set(SHIFT_DAY)
    orga = admin_env.signed_in("orga")
    token = orga.token("/admin/")
    denied = len(admin_env.audit("access.denied"))
    routes = list(volunteer_routes(admin_env.app))
    endpoints = {e for e, _, _ in routes}
    assert {"admin.volunteer_item", "admin.volunteer_edit", "admin.volunteer_publish", "admin.volunteer_withdraw",
            "admin.volunteer_shift_new", "admin.volunteer_shift_edit", "admin.volunteer_shift_cancel",
            "admin.volunteer_roster", "admin.volunteer_attendance", "admin.volunteer_roster_csv",
            "admin.volunteer_message"} <= endpoints
    data = {**opp_form(title="乗っ取り"), **shift_form(capacity="1"), "attendance": "attended", "text": "x",
            "csrf_token": token}
    for endpoint, method, rule in routes:
        r = orga.c.open(_url(rule, theirs, their_shift, their_reg), method=method, data=data)
        assert r.status_code == 403, (endpoint, method, r.status_code)
    assert len(admin_env.audit("access.denied")) == denied + len(routes)
    # A's own opportunity id with B's shift: not found under it (404), and nothing changed.
    mine = make_opp(admin_env)
    for endpoint, method, rule in routes:
        if "shift_id" not in rule:
            continue
        r = orga.c.open(_url(rule, mine, their_shift, their_reg), method=method, data=data)
        assert r.status_code == 404, (endpoint, method, r.status_code)
    with admin_env.db() as db:
        assert db.get(Opportunity, theirs).title == "Bの花壇づくり"
        shift = db.get(Shift, their_shift)
        assert (shift.capacity, shift.status) == (3, "open")
        assert db.get(Registration, their_reg).status == "confirmed"
    assert publication(admin_env, "x") is None
    assert count(admin_env, select(Publication).where(Publication.ref.like("shift:%:msg:%"))) == 0
    # B's own account and the staff reach it.
    for who in ("orgb", "staff"):
        assert admin_env.signed_in(who).get(f"/admin/volunteer/{theirs}/shifts/{their_shift}/roster").status_code == 200


def test_a_shift_or_sign_up_under_the_wrong_opportunity_is_not_found(admin_env):
    first, second = make_opp(admin_env), make_opp(admin_env, title="二つ目")
    shift = add_shift(admin_env, first)
    other_shift = add_shift(admin_env, second)
    sign_up(admin_env, other_shift, residents(admin_env, ["さくら"]))
    with admin_env.db() as db:
        reg = db.scalar(select(Registration.id))
    admin_env.clock.set(SHIFT_DAY)
    orga = admin_env.signed_in("orga")
    assert orga.get(f"/admin/volunteer/{second}/shifts/{shift}/roster").status_code == 404
    assert orga.get(f"/admin/volunteer/{first}/shifts/{shift}/roster").status_code == 200
    assert orga.post(f"/admin/volunteer/{first}/shifts/{shift}/cancel").status_code == 302  # own: works
    # A sign-up of another shift, through this shift's roster: 404.
    url = f"/admin/volunteer/{second}/shifts/{other_shift}/roster"
    r = orga.post(f"/admin/volunteer/{first}/shifts/{shift}/roster/{reg}", {"attendance": "attended"}, token_from=url)
    assert r.status_code == 404
    assert orga.get(f"/admin/volunteer/{first}/shifts/999999/roster").status_code == 404
    assert orga.get("/admin/volunteer/999999").status_code == 404


def test_staff_choose_the_organisation_and_odd_input_is_a_message_not_a_500(admin_env):
    staff = admin_env.signed_in("staff")
    assert 'name="organisation_id"' in staff.get(NEW).get_data(as_text=True)
    opp_id = created_id(staff.post(NEW, opp_form(organisation_id=str(admin_env.ids["org_b"])), token_from=NEW))
    with admin_env.db() as db:
        assert db.get(Opportunity, opp_id).organisation_id == admin_env.ids["org_b"]
    r = staff.post(NEW, opp_form(organisation_id="9" * 20), token_from=NEW)
    assert r.status_code == 422 and "主催の団体を一覧から選んでください。" in r.get_data(as_text=True)
    url = f"/admin/volunteer/{opp_id}/shifts/new"
    for odd in ({"capacity": "9" * 30}, {"date": "0000-00-00"}, {"start_time": "１０：００", "end_time": "９:00"},
                {"deadline_time": "10:00", "deadline_date": ""}, {"end_date": "2026-12-07"}):
        r = staff.post(url, shift_form(**odd), token_from=url)
        assert r.status_code == 422, (odd, r.status_code)
    assert staff.get(f"/admin/volunteer/{opp_id}/shifts/{2**31}/roster").status_code == 404
    r = staff.post(f"/admin/volunteer/{opp_id}/shifts/new", shift_form(start_time="１０：００", end_time="１２：００"),
                   token_from=url)  # full-width digits are read
    assert r.status_code == 302
    assert count(admin_env, Shift) == 1


def test_with_the_citys_approval_an_organisation_asks_and_staff_approve(approval_app):  # noqa: F811
    from tests.admin_support import fresh_env

    env = fresh_env(*approval_app)
    opp_id = make_opp(env)
    orga, staff = env.signed_in("orga"), env.signed_in("staff")
    page = f"/admin/volunteer/{opp_id}"
    assert "承認を依頼する" in orga.get(page).get_data(as_text=True)
    assert orga.post(f"{page}/publish").status_code == 302
    assert "市の職員の承認を待っています。" in orga.get(page).get_data(as_text=True)
    assert orga.post(f"{page}/approve").status_code == 403
    assert staff.post(f"{page}/send_back", {"reason": "場所を詳しく"}).status_code == 302
    assert "市の職員から差し戻されました: 場所を詳しく" in orga.get(page).get_data(as_text=True)
    assert orga.post(f"{page}/publish").status_code == 302
    assert staff.post(f"{page}/approve").status_code == 302
    with env.db() as db:
        assert db.get(Opportunity, opp_id).status == "published"
    assert [e.action for e in env.audit() if e.action.startswith("volunteer.")][1:] == \
        ["volunteer.submit", "volunteer.send_back", "volunteer.submit", "volunteer.approve"]
