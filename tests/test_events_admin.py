"""イベント in the admin over HTTP (Flask's test client, CSRF on, frozen clock at 2026-11-25 10:00 Tokyo), on
both databases: create with a preview drawn from the bot's own bubble, edit, every check in Japanese, another
organisation's event refused (403) on every route, publication with and without the city's approval, a
cancellation that tells the registrants, time/place changes that tell them, capacity changes, the registrations
list and its Excel-friendly CSV, and a message to the registrants."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot import registrations as regs
from models.events import Event, EventOccurrence
from models.publications import Publication
from models.registrations import RegistrationSlot
from models.users import User
from tests.admin_support import T0, fresh_env
from tests.listings_admin_support import (approval_app, approval_round_trip,  # noqa: F401 (approval_app: a fixture)
                                          assert_lists_show_own_only, assert_refused_on_every_route, count, created_id,
                                          publication)

NEW = "/admin/events/new"


def form(**kw) -> dict:
    data = {"title": "親子でクリスマス工作", "description": "紙とリボンで飾りを作ります。", "start_date": "2026-12-05",
            "start_time": "10:00", "end_time": "12:00", "district": "kozu", "place_name": "国府津公民館",
            "address": "小田原市国府津2丁目", "lat": "35.281", "lon": "139.205", "cost_kind": "free", "project": "3",
            "age_min": "3", "age_max": "12"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def make(env, who: str = "orga", **kw) -> int:
    return created_id(env.signed_in(who).post(NEW, form(**kw), token_from=NEW))


def get_event(env, event_id: int) -> Event:
    with env.db() as db:
        ev = db.get(Event, event_id)
        db.expunge(ev)
        return ev


def residents(env, n: int) -> list[int]:
    with env.db() as db:
        users = [User(line_user_id=f"U{i:032x}", active=True, created_at=T0, followed_at=T0) for i in range(1, n + 1)]
        db.add_all(users)
        db.commit()
        return [u.id for u in users]


def sign_up(env, event_id: int, user_ids: list[int]) -> list[str]:
    with env.db() as db:
        slot = regs.find_slot(db, "event", event_id)
        out = [regs.register(db, slot.id, uid, now=env.rt.now()).status for uid in user_ids]
        db.commit()
        return out


def published(env, who: str = "orga", **kw) -> int:
    event_id = make(env, who, **kw)
    r = env.signed_in(who).post(f"/admin/events/{event_id}/publish")
    assert r.status_code == 302
    assert get_event(env, event_id).status == "published"
    return event_id


# --- create, preview, edit ----------------------------------------------------------------------------------

def test_create_with_preview_then_edit(admin_env):
    orga = admin_env.signed_in("orga")
    page = orga.get(NEW).get_data(as_text=True)
    assert 'name="title"' in page and "国府津" in page and 'name="organisation_id"' not in page  # not offered
    r = orga.post(NEW, form(action="preview"), token_from=NEW)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    # The phone frame draws the bot's own bubble: its title and its when line.
    preview = html[html.index('id="phone-chat"'):]
    assert 'data-message="flex"' in preview and "親子でクリスマス工作" in preview and "12月5日" in preview
    assert count(admin_env, Event) == 0  # a preview saves nothing

    # A forged owner is ignored.
    event_id = created_id(orga.post(NEW, form(organisation_id=str(admin_env.ids["org_b"])), token_from=NEW))
    ev = get_event(admin_env, event_id)
    assert ev.organisation_id == admin_env.ids["org_a"] and ev.status == "draft" and ev.organiser_name == "みどり子ども会"
    assert ev.starts_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
    assert ev.ends_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc)
    assert (ev.district, ev.lat, ev.age_min, ev.age_max, ev.project) == ("kozu", 35.281, 3, 12, 3)
    assert count(admin_env, select(EventOccurrence).where(EventOccurrence.event_id == event_id)) == 1
    detail = orga.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "イベントを保存しました。公開するには「公開する」を押してください。" in detail
    assert "2026年12月5日（土） 10:00〜12:00" in detail and "下書き" in detail and "公開する" in detail
    assert 'data-message="flex"' in detail

    edit = orga.get(f"/admin/events/{event_id}/edit").get_data(as_text=True)
    assert 'value="2026-12-05"' in edit and 'value="10:00"' in edit and 'value="親子でクリスマス工作"' in edit
    r = orga.post(f"/admin/events/{event_id}/edit", form(title="親子でお正月飾り", rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=4"),
                  token_from=NEW)
    assert r.status_code == 302
    assert get_event(admin_env, event_id).title == "親子でお正月飾り"
    # The repetitions are materialised.
    assert count(admin_env, select(EventOccurrence).where(EventOccurrence.event_id == event_id)) == 4
    assert [e.summary for e in admin_env.audit("event.create")] == ["親子でクリスマス工作（12月5日（土）10:00）"]
    assert len(admin_env.audit("event.update")) == 1


def test_all_day_event_and_staff_chooses_the_organisation(admin_env):
    staff = admin_env.signed_in("staff")
    assert 'name="organisation_id"' in staff.get(NEW).get_data(as_text=True)
    ev = get_event(admin_env, created_id(staff.post(NEW, form(start_time="", end_time="",
                                                               organisation_id=str(admin_env.ids["org_b"])), token_from=NEW)))
    assert ev.all_day and ev.organisation_id == admin_env.ids["org_b"] and ev.ends_at is None
    assert ev.organiser_name == "あおば自治会"
    # Moved to another organisation: the shown name follows (it was the old organisation's).
    r = staff.post(f"/admin/events/{ev.id}/edit", form(start_time="", end_time="", organiser_name="あおば自治会",
                                                      organisation_id=str(admin_env.ids["org_a"])), token_from=NEW)
    assert r.status_code == 302
    moved = get_event(admin_env, ev.id)
    assert (moved.organisation_id, moved.organiser_name) == (admin_env.ids["org_a"], "みどり子ども会")
    r = staff.post(NEW, form(organisation_id="999999"), token_from=NEW)
    assert r.status_code == 422 and "主催の団体を一覧から選んでください。" in r.get_data(as_text=True)


@pytest.mark.parametrize("fields, message", [
    ({"end_time": "09:00"}, "終了日時は開始日時より後にしてください。"),
    ({"end_date": "2026-12-04", "end_time": ""}, "終了日時は開始日時より後にしてください。"),
    ({"start_date": "2026-11-25", "start_time": "09:59", "end_time": ""}, "開始日時（2026/11/25 09:59）が過ぎています"),
    ({"start_date": "2026-11-24", "start_time": "", "end_time": ""}, "が過ぎています。これから先の日時を入力してください。"),
    ({"capacity": "0"}, "定員は1人以上で入力してください（定員がないときは空欄にします）。"),
    ({"capacity": "-5"}, "定員は1人以上で入力してください"),
    ({"capacity": "たくさん"}, "定員は数字で入力してください。"),
    ({"district": "atlantis"}, "地区は一覧から選んでください。"),
    ({"lat": "35.681", "lon": "139.767"}, "緯度・経度（35.681, 139.767）が市の外を指しています。"),
    ({"lat": "139.205", "lon": "35.281"}, "入れ替わっていないか確かめてください。"),
    ({"lat": "35.281", "lon": ""}, "緯度と経度は両方入力してください"),
    ({"registration_required": "y", "deadline_date": "2026-12-05", "deadline_time": "11:00"},
     "申込締切（12/05 11:00）は開始日時（12/05 10:00）より前にしてください。"),
    ({"rrule": "FREQ=SOMETIMES"}, "繰り返しの指定（RRULE）を読み取れません。"),
    ({"rrule": "FREQ=HOURLY;COUNT=3"}, "繰り返しは「毎日」「毎週」「毎月」「毎年」のいずれかで指定してください。"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=SA;COUNT=4", "registration_required": "y"},
     "繰り返しのイベントでは参加申込を受け付けられません。申込が必要なときは、日付ごとに別のイベントとして登録してください。"),
    ({"age_min": "12", "age_max": "6"}, "対象年齢の下限（12歳）が上限（6歳）より上になっています。"),
    ({"title": ""}, "タイトルを入力してください。"),
    ({"start_date": "2026-02-30"}, "開始日は 2026-12-05 のように入力してください。"),
    ({"start_time": "25:00"}, "開始時刻は 10:00 のように入力してください。"),
    ({"cost_kind": "amount"}, "有料のときは金額を入力してください"),
    ({"url": "javascript:alert(1)"}, "ホームページは https:// で始まるアドレスを入力してください。"),
    ({"title": "あ" * 201}, "タイトルは200文字以内で入力してください（いま201文字）。"),
])
def test_each_check_answers_in_japanese_beside_its_field(admin_env, fields, message):
    orga = admin_env.signed_in("orga")
    r = orga.post(NEW, form(**fields), token_from=NEW)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert message in html
    assert 'class="field-error"' in html and 'aria-invalid="true"' in html and "直すところがあります" in html
    assert count(admin_env, Event) == 0


def test_full_width_digits_and_slashes_are_read(admin_env):
    event_id = make(admin_env, start_date="２０２６/１２/０５", start_time="１０：００", end_time="", capacity="２０人")
    ev = get_event(admin_env, event_id)
    assert ev.capacity == 20 and ev.starts_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)


def test_odd_input_never_gives_a_500(admin_env):
    orga = admin_env.signed_in("orga")
    for junk in ({"lat": "nan", "lon": "inf"}, {"lat": "1e400", "lon": "1"}, {"age_min": "9" * 30},
                 {"start_date": "9999-12-31"}, {"title": "\x00"}, {"capacity": "１" * 40}, {"tags": "、" * 500}):
        r = orga.post(NEW, form(**junk), token_from=NEW)
        assert r.status_code in (302, 400, 422), junk  # 400: the request guard refuses NUL bytes


# --- who may open what ---------------------------------------------------------------------------------------

def test_another_organisations_event_is_refused_on_every_route(admin_env):
    theirs = published(admin_env, "orgb", registration_required="y", capacity="5")
    before = get_event(admin_env, theirs)
    tried = assert_refused_on_every_route(admin_env, "admin.event", theirs,
                                          {"reason": "x", "text": "x", **form(title="乗っ取り")})
    assert tried >= 12
    after = get_event(admin_env, theirs)
    assert (after.title, after.status, after.revision) == (before.title, "published", 1)
    mine = make(admin_env, "orga", title="みどりの会のイベント")
    assert_lists_show_own_only(admin_env, "events", mine, mine_name="みどりの会のイベント", theirs_name="親子でクリスマス工作")


# --- publication and approval ----------------------------------------------------------------------------------

def test_publish_without_approval_announces_once(admin_env):
    event_id = make(admin_env)
    orga = admin_env.signed_in("orga")
    assert orga.post(f"/admin/events/{event_id}/publish").status_code == 302
    page = orga.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "公開しました。LINEとホームページのイベント一覧に表示されます。" in page and "中止する" in page
    ev = get_event(admin_env, event_id)
    assert ev.status == "published"
    assert ev.published_at is not None
    pub = publication(admin_env, f"listing:events:{event_id}")
    assert pub is not None and pub.topic == "events" and pub.segment["districts"] == ["kozu"]
    with admin_env.db() as db:
        assert db.scalars(select(EventOccurrence.visible).where(EventOccurrence.event_id == event_id)).all() == [True]
    r = orga.post(f"/admin/events/{event_id}/publish")
    assert r.status_code == 409 and "このイベントは「公開中」のため、公開の操作はできません。" in r.get_data(as_text=True)
    [entry] = admin_env.audit("event.publish")
    assert entry.actor_id == admin_env.ids["orga"]
    # An organisation may not approve, even its own.
    assert orga.post(f"/admin/events/{event_id}/approve").status_code == 403
    listing = orga.get("/admin/events?status=published").get_data(as_text=True)
    assert "親子でクリスマス工作" in listing and "公開中" in listing
    assert "親子でクリスマス工作" not in orga.get("/admin/events?status=draft").get_data(as_text=True)


def test_approval_on_organisations_submit_and_staff_approve_or_send_back(approval_app):  # noqa: F811
    env = fresh_env(*approval_app)
    event_id = make(env)

    def dates_hidden_while_pending(env):
        with env.db() as db:
            assert db.scalars(select(EventOccurrence.visible).where(EventOccurrence.event_id == event_id)).all() == [False]

    approval_round_trip(env, Event, event_id, noun="イベント", reason="会場の住所を番地まで書いてください。",
                        while_pending=dates_hidden_while_pending)
    with env.db() as db:  # approved: the dates are shown
        assert db.scalars(select(EventOccurrence.visible).where(EventOccurrence.event_id == event_id)).all() == [True]

    # Staff publish their own directly, approval or not.
    staff = env.signed_in("staff")
    own = make(env, "staff")
    staff.post(f"/admin/events/{own}/publish")
    assert get_event(env, own).status == "published"


def test_an_event_whose_dates_have_passed_is_neither_published_nor_approved(approval_app):  # noqa: F811
    env = fresh_env(*approval_app)
    waiting, draft = make(env, title="承認待ちの行事"), make(env)
    env.signed_in("orga").post(f"/admin/events/{waiting}/publish")
    assert get_event(env, waiting).status == "pending"
    env.clock.set(datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc))  # the next day: 12月5日 12:00 has passed
    orga, staff = env.signed_in("orga"), env.signed_in("staff")
    r = orga.post(f"/admin/events/{draft}/publish")
    assert r.status_code == 422
    assert "終わったイベントは公開できません。日時を直してから公開してください。" in r.get_data(as_text=True)
    r = staff.post(f"/admin/events/{waiting}/approve")
    assert r.status_code == 422
    assert "終わったイベントは公開できません。差し戻して日時を直してもらってください。" in r.get_data(as_text=True)
    assert (get_event(env, draft).status, get_event(env, waiting).status) == ("draft", "pending")
    assert publication(env, f"listing:events:{waiting}") is None
    assert env.audit("event.approve") == [] and len(env.audit("event.submit")) == 1


# --- registrations, changes, cancellation -------------------------------------------------------------------------

def test_cancel_tells_everyone_registered_and_closes_sign_up(admin_env):
    event_id = published(admin_env, registration_required="y", capacity="2")
    users = residents(admin_env, 4)
    assert sign_up(admin_env, event_id, users[:3]) == ["confirmed", "confirmed", "waitlisted"]
    orga = admin_env.signed_in("orga")
    r = orga.post(f"/admin/events/{event_id}/cancel", {"reason": ""})
    assert r.status_code == 422 and "中止の理由を入力してください" in r.get_data(as_text=True)
    assert get_event(admin_env, event_id).status == "published"

    r = orga.post(f"/admin/events/{event_id}/cancel", {"reason": "荒天のため"})
    assert r.status_code == 302
    ev = get_event(admin_env, event_id)
    assert (ev.status, ev.cancel_reason, ev.revision) == ("cancelled", "荒天のため", 2)
    pub = publication(admin_env, f"event:{event_id}:rev:2")
    assert pub is not None and sorted(pub.segment["user_ids"]) == sorted(users[:3])
    assert "荒天のため" in str(pub.messages)
    with admin_env.db() as db:
        slot = regs.find_slot(db, "event", event_id)
        assert slot.open is False
        assert regs.register(db, slot.id, users[3], now=T0).status == "closed"
        # 中止 stays visible.
        assert db.scalars(select(EventOccurrence.visible).where(EventOccurrence.event_id == event_id)).all() == [True]
    detail = orga.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "中止" in detail and "荒天のため" in detail and "編集する" not in detail
    assert orga.get(f"/admin/events/{event_id}/edit").status_code == 302  # not editable
    assert orga.post(f"/admin/events/{event_id}/cancel", {"reason": "再び"}).status_code == 409
    [entry] = admin_env.audit("event.cancel")
    assert entry.summary == "親子でクリスマス工作: 荒天のため"


def test_time_or_place_change_of_a_published_event_tells_registrants(admin_env):
    event_id = published(admin_env, registration_required="y", capacity="10")
    users = residents(admin_env, 2)
    sign_up(admin_env, event_id, users)
    orga = admin_env.signed_in("orga")
    # Words only: no new revision, nobody told.
    assert orga.post(f"/admin/events/{event_id}/edit", form(registration_required="y", capacity="10",
                                                            description="持ち物: はさみ"), token_from=NEW).status_code == 302
    assert get_event(admin_env, event_id).revision == 1
    assert publication(admin_env, f"event:{event_id}:rev:2") is None
    # A later start: revision 2, both told; the slot follows the new time.
    r = orga.post(f"/admin/events/{event_id}/edit", form(registration_required="y", capacity="10", start_time="13:00",
                                                         end_time="15:00"), token_from=NEW)
    assert r.status_code == 302
    assert get_event(admin_env, event_id).revision == 2
    pub = publication(admin_env, f"event:{event_id}:rev:2")
    assert sorted(pub.segment["user_ids"]) == sorted(users) and "日時" in str(pub.messages)
    with admin_env.db() as db:
        slot = regs.find_slot(db, "event", event_id)
        assert slot.starts_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 5, 4, 0, tzinfo=timezone.utc)
    # Another place: revision 3.
    orga.post(f"/admin/events/{event_id}/edit", form(registration_required="y", capacity="10", start_time="13:00",
                                                     end_time="15:00", place_name="国府津小学校"), token_from=NEW)
    assert get_event(admin_env, event_id).revision == 3
    assert "場所" in str(publication(admin_env, f"event:{event_id}:rev:3").messages)
    [entry] = [e for e in admin_env.audit("event.update") if "変更: 場所" in e.summary]


def test_capacity_cannot_drop_below_the_confirmed_and_a_larger_one_promotes(admin_env):
    event_id = published(admin_env, registration_required="y", capacity="2")
    users = residents(admin_env, 3)
    sign_up(admin_env, event_id, users)
    orga = admin_env.signed_in("orga")
    r = orga.post(f"/admin/events/{event_id}/edit", form(registration_required="y", capacity="1"), token_from=NEW)
    assert r.status_code == 422
    assert "参加が確定している方が2人いるため、定員を1人には減らせません（2人以上にしてください）。" in r.get_data(as_text=True)
    assert get_event(admin_env, event_id).capacity == 2
    r = orga.post(f"/admin/events/{event_id}/edit", form(capacity=""), token_from=NEW)
    assert r.status_code == 422 and "「参加申込が必要」を外せません" in r.get_data(as_text=True)
    r = orga.post(f"/admin/events/{event_id}/edit", form(registration_required="y", capacity="3"), token_from=NEW)
    assert r.status_code == 302
    with admin_env.db() as db:
        slot = regs.find_slot(db, "event", event_id)
        assert (slot.capacity, slot.confirmed, slot.waiting) == (3, 3, 0)
        # The one promoted from the waitlist is told (bot.event_notices' notifier).
        promoted = db.scalars(select(Publication).where(Publication.ref.like("event:promoted:%"))).all()
        assert [p.segment["user_ids"] for p in promoted] == [[users[2]]]


def test_registrations_list_and_excel_csv(admin_env):
    event_id = published(admin_env, registration_required="y", capacity="2")
    users = residents(admin_env, 3)
    for i, uid in enumerate(users):  # one minute apart, so the times show the order
        admin_env.clock.set(datetime(2026, 11, 25, 1, i, tzinfo=timezone.utc))
        sign_up(admin_env, event_id, [uid])
    orga = admin_env.signed_in("orga")
    page = orga.get(f"/admin/events/{event_id}/registrations").get_data(as_text=True)
    assert "参加確定 <strong>2人</strong>（定員2人）・キャンセル待ち <strong>1人</strong>" in page
    assert "キャンセル待ち1番目" in page and "2026/11/25 10:02:00" in page
    assert "U0000" not in page  # no LINE ids

    r = orga.get(f"/admin/events/{event_id}/registrations.csv")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in r.headers["Content-Disposition"] and "filename*=UTF-8''" in r.headers["Content-Disposition"]
    raw = r.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.startswith("番号,状態,詳しい状態,申込日時\r\n") and text.count("\r\n") == 4 and "\n\n" not in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1:] == [["1", "参加確定", "参加確定", "2026/11/25 10:00:00"],
                        ["2", "参加確定", "参加確定", "2026/11/25 10:01:00"],
                        ["1", "キャンセル待ち", "キャンセル待ち1番目", "2026/11/25 10:02:00"]]
    assert len(admin_env.audit("event.registrations_export")) == 1


def test_message_to_registrants_once_per_form(admin_env):
    event_id = published(admin_env, registration_required="y", capacity="1")
    users = residents(admin_env, 2)
    sign_up(admin_env, event_id, users)
    orga = admin_env.signed_in("orga")
    url = f"/admin/events/{event_id}/message"
    page = orga.get(url).get_data(as_text=True)
    assert '<strong id="confirmed">1人</strong>' in page and "キャンセル待ちの方 1人にも送れます" in page
    nonce = re.search(r'name="nonce" value="([0-9a-f]{32})"', page)[1]
    r = orga.post(url, {"nonce": nonce, "text": ""}, token_from=url)
    assert r.status_code == 422 and "送る文を入力してください。" in r.get_data(as_text=True)
    r = orga.post(url, {"nonce": nonce, "text": "あ" * 1001}, token_from=url)
    assert r.status_code == 422 and "1,000文字以内" in r.get_data(as_text=True)
    for _ in range(2):  # a double click sends once
        r = orga.post(url, {"nonce": nonce, "text": "集合場所は正面玄関です。\r\n上履きをお持ちください。"}, token_from=url)
        assert r.status_code == 302
    pub = publication(admin_env, f"event:{event_id}:msg:{nonce}")
    assert pub.segment["user_ids"] == [users[0]]  # confirmed only
    text = pub.messages[0]["text"]
    assert text.startswith("「親子でクリスマス工作」（12月5日（土）10:00）にお申し込みの方へ、みどり子ども会からのお知らせです。")
    assert text.endswith("集合場所は正面玄関です。\n上履きをお持ちください。")
    assert count(admin_env, select(Publication).where(Publication.ref.like(f"event:{event_id}:msg:%"))) == 1
    r = orga.post(url, {"text": "キャンセル待ちの方へも。", "with_waitlist": "y"}, token_from=url)
    assert r.status_code == 302
    with admin_env.db() as db:
        refs = db.scalars(select(Publication).where(Publication.ref.like(f"event:{event_id}:msg:%"))).all()
        assert len(refs) == 2 and sorted(max(refs, key=lambda p: p.id).segment["user_ids"]) == sorted(users)
    assert len(admin_env.audit("event.message")) == 3  # the double click is on record, the push went once


def test_message_needs_someone_to_send_to(admin_env):
    event_id = published(admin_env, registration_required="y")
    orga = admin_env.signed_in("orga")
    url = f"/admin/events/{event_id}/message"
    r = orga.post(url, {"text": "こんにちは"}, token_from=url)
    assert r.status_code == 422 and "送る相手（参加が確定している方）がいません。" in r.get_data(as_text=True)


def test_delete_a_draft_but_not_a_published_event(admin_env):
    orga = admin_env.signed_in("orga")
    draft = make(admin_env, registration_required="y", capacity="3")
    with admin_env.db() as db:
        assert regs.find_slot(db, "event", draft) is not None
    assert orga.post(f"/admin/events/{draft}/delete").status_code == 302
    assert "イベントを削除しました。" in orga.get("/admin/events").get_data(as_text=True)
    with admin_env.db() as db:
        assert db.get(Event, draft) is None and regs.find_slot(db, "event", draft) is None
    assert count(admin_env, RegistrationSlot) == 0
    live = published(admin_env)
    r = orga.post(f"/admin/events/{live}/delete")
    assert r.status_code == 409 and "「中止する」を使ってください" in r.get_data(as_text=True)
    assert len(admin_env.audit("event.delete")) == 1
