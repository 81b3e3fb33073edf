"""お知らせ over HTTP (Flask's test client, CSRF on, frozen clock at 2026-11-25 10:00 Tokyo): composing with
preview and count, validation, each role (団体 drafts and submits, cannot send), approval by a second person
above the threshold, send now / schedule / cancel, test send, the report, and the audit entries."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot import quota
from bot.admin import announce_flow as flow
from bot.quota import QuotaInfo
from bot.segments import ALL, ANY, Segment
from models.announcements import Announcement
from models.staff_link import StaffLink
from tests.admin_support import T0
from tests.announcements_support import add_residents, publisher  # noqa: F401 (fixture)

NEW = "/admin/announcements/new"


def form(**kw) -> dict:
    data = {"title": "防災訓練のお知らせ", "body": "12月1日に防災訓練を行います。", "target": "everyone", "match": "any",
            "link_label": ""}
    data.update(kw)
    return data


@pytest.fixture
def residents(admin_env) -> list[int]:
    with admin_env.db() as db:
        return add_residents(db, T0)


def created(env, title: str) -> Announcement:
    with env.db() as db:
        return db.scalar(select(Announcement).where(Announcement.title == title))


def make(env, who: str, **kw) -> int:
    c = env.signed_in(who)
    r = c.post(NEW, form(**kw), token_from=NEW)
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("/", 1)[1])


# --- segments on fixed data ---------------------------------------------------------------------------------

def test_counting_a_segment_on_fixed_residents(admin_env, residents):
    with admin_env.db() as db:
        def n(urgent=False, **kw):
            return flow.count(db, Segment(**kw), urgent)

        assert n() == 3 and n(urgent=True) == 4  # urgent reaches those who chose other topics too
        assert n(districts=("kozu",)) == 2  # the one who stopped notifications and the one who blocked are out
        assert n(districts=("soga",)) == 1 and n(districts=("soga",), urgent=True) == 2
        assert n(districts=("kozu",), projects=(3,), match=ALL) == 1
        assert n(districts=("kozu",), projects=(5,), match=ANY) == 3
        # Topics named: they decide (chose any of them), 市からのお知らせ is not required on top.
        assert n(topics=("events",)) == 2 and n(topics=("city",)) == 3 and n(topics=("events", "city")) == 4
        assert n(districts=("soga",), topics=("events",), match=ALL) == 2
    assert flow.describe(Segment(districts=("kozu", "soga"), projects=(3,), match=ALL), "odawara") == \
        "地区: 国府津・曽我、プロジェクト: 3 のすべてに当てはまる方"


# --- compose, preview, validation ------------------------------------------------------------------------

def test_compose_preview_shows_the_phone_and_count_then_save(admin_env, residents):
    staff = admin_env.signed_in("staff")
    page = staff.get(NEW).get_data(as_text=True)
    assert page.count('name="districts"') == 26 and "北部" in page and "橘" in page
    assert "選んだ条件のすべてに当てはまる方だけに届ける（かつ）" in page and 'id="body-count"' in page
    assert "js/announcements.js" in page
    data = form(body="国府津の皆さまへ\n道路工事のお知らせです。", target="chosen", districts="kozu",
                link_url="https://www.city.odawara.kanagawa.jp/", link_label="工事の詳細", action="preview")
    r = staff.post(NEW, data, token_from=NEW)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert '<div class="bubble bubble-text" data-message="text">国府津の皆さまへ\n道路工事のお知らせです。</div>' in html
    assert '<span class="link-button" title="https://www.city.odawara.kanagawa.jp/">工事の詳細</span>' in html
    assert re.search(r"届く人数（プレビュー時点）: <strong>2人</strong>", html)
    assert "地区: 国府津 の方" in html
    assert created(admin_env, "防災訓練のお知らせ") is None  # a preview saves nothing
    data["action"] = "save"
    r = staff.post(NEW, data, token_from=NEW)
    assert r.status_code == 302
    ann = created(admin_env, "防災訓練のお知らせ")
    assert ann.segment == {"districts": ["kozu"], "match": "any", "projects": [], "topics": []}
    assert ann.status == "draft" and ann.audience == 2 and ann.organisation_id is None
    detail = staff.get(r.headers["Location"]).get_data(as_text=True)
    assert "工事の詳細" in detail and "今すぐ配信する" in detail  # 2 ≤ the threshold: staff may send directly
    [entry] = admin_env.audit("announcement.create")
    assert entry.summary == "防災訓練のお知らせ（2人）" and entry.actor_id == admin_env.ids["staff"]


def test_validation_too_long_text_http_link_and_no_condition(admin_env):
    staff = admin_env.signed_in("staff")
    r = staff.post(NEW, form(body="あ" * 5001), token_from=NEW)
    assert r.status_code == 422 and "本文が長すぎます（5,001文字）。LINEで送れるのは5,000文字までです。" in r.get_data(as_text=True)
    # LINE counts UTF-16 code units: an emoji is 2.
    r = staff.post(NEW, form(body="😀" * 2501), token_from=NEW)
    assert r.status_code == 422 and "（5,002文字）" in r.get_data(as_text=True)
    # 緊急 adds 【緊急】 (4) to the same text message.
    assert staff.post(NEW, form(body="あ" * 4997, urgent="y"), token_from=NEW).status_code == 422
    assert staff.post(NEW, form(body="あ" * 4996, urgent="y", title="ちょうど"), token_from=NEW).status_code == 302
    r = staff.post(NEW, form(link_url="http://example.jp/"), token_from=NEW)
    assert r.status_code == 422 and "リンクは https:// で始まるアドレスにしてください" in r.get_data(as_text=True)
    r = staff.post(NEW, form(link_url="javascript:alert(1)"), token_from=NEW)
    assert r.status_code == 422
    r = staff.post(NEW, form(target="chosen"), token_from=NEW)
    assert r.status_code == 422 and "条件を一つ以上選んでください" in r.get_data(as_text=True)
    r = staff.post(NEW, form(target="chosen", districts="atlantis"), token_from=NEW)
    assert r.status_code == 422
    with admin_env.db() as db:
        assert [a.title for a in db.scalars(select(Announcement).where(Announcement.organisation_id.is_(None)))] == ["ちょうど"]


# --- roles and approval ------------------------------------------------------------------------------------

def test_organisation_drafts_and_submits_but_cannot_send_staff_approves_and_sends(admin_env, residents, publisher):
    ids = admin_env.ids
    org = admin_env.signed_in("orga")
    item = make(admin_env, "orga", title="子ども食堂", organisation_id=ids["org_b"])
    path = f"/admin/announcements/{item}"
    with admin_env.db() as db:
        assert db.get(Announcement, item).organisation_id == ids["org_a"]  # the forged organisation is ignored
    page = org.get(path).get_data(as_text=True)
    assert "承認を依頼する" in page and "今すぐ配信する" not in page
    for step in ("send", "schedule", "approve", "test", "cancel"):
        assert org.post(f"{path}/{step}", {"at": "2026-12-01 09:00"}, token_from=path).status_code == 403
    assert org.post(f"{path}/submit", token_from=path).status_code == 302
    assert publisher.published() == []
    staff = admin_env.signed_in("staff")
    r = staff.post(f"{path}/send", token_from=path)  # not approved yet
    assert r.status_code == 409 and "団体が作成したお知らせは、作成者以外の職員の承認が必要です" in r.get_data(as_text=True)
    assert staff.post(f"{path}/approve", token_from=path).status_code == 302
    assert staff.post(f"{path}/send", token_from=path).status_code == 302
    [call] = publisher.published()
    assert call["ref"] == f"announcement:{item}" and call["purpose"] == "announcement" and call["topic"] == "city"
    assert call["when"] is None and call["messages"] == [{"type": "text", "text": "12月1日に防災訓練を行います。"}]
    with admin_env.db() as db:
        ann = db.get(Announcement, item)
        assert ann.status == "sent" and ann.publication_id is not None and ann.sent_by_id == ids["staff"]
        assert ann.approved_by_id == ids["staff"] and ann.created_by_id == ids["orga"]
    # Sending twice does nothing more.
    assert staff.post(f"{path}/send", token_from=path).status_code == 409
    assert [e.action for e in admin_env.audit() if e.action.startswith("announcement.")] == [
        "announcement.create", "announcement.submit", "announcement.approve", "announcement.send"]
    assert {e.summary.split(" ")[0] for e in admin_env.audit("access.denied")} == {"POST"}
    # Organisation B never sees A's announcement.
    assert admin_env.signed_in("orgb").get(path).status_code == 403


def test_over_the_threshold_a_second_person_must_approve(admin_env, residents, publisher, monkeypatch):
    monkeypatch.setattr(admin_env.rt, "config", admin_env.rt.config.with_(approval_threshold=2))
    staff, admin = admin_env.signed_in("staff"), admin_env.signed_in("admin")
    item = make(admin_env, "staff", title="全員へ")  # reaches 3 > 2
    path = f"/admin/announcements/{item}"
    assert "承認を依頼する" in staff.get(path).get_data(as_text=True)
    r = staff.post(f"{path}/send", token_from=path)
    assert r.status_code == 409 and "2人を超える方に届くお知らせ（3人）は、作成者以外の職員の承認が必要です" in r.get_data(as_text=True)
    assert staff.post(f"{path}/submit", token_from=path).status_code == 302
    r = staff.post(f"{path}/approve", token_from=path)  # the author cannot approve their own
    assert r.status_code == 403 and "自分で作成・依頼したお知らせは承認できません" in r.get_data(as_text=True)
    assert admin.post(f"{path}/approve", token_from=path).status_code == 302
    # An edit after approval sends it back to draft: what was approved is not what would go.
    r = staff.post(f"{path}/edit", form(title="全員へ", body="直しました。"), token_from=f"{path}/edit")
    assert r.status_code == 302
    with admin_env.db() as db:
        assert db.get(Announcement, item).status == "draft" and db.get(Announcement, item).approved_by_id is None
    assert staff.post(f"{path}/send", token_from=path).status_code == 409
    staff.post(f"{path}/submit", token_from=path)
    admin.post(f"{path}/approve", token_from=path)
    assert staff.post(f"{path}/send", token_from=path).status_code == 302  # the author may send once approved
    assert len(publisher.published()) == 1
    # Under the threshold, staff send without anyone else.
    small = make(admin_env, "staff", title="国府津へ", target="chosen", districts="kozu")
    assert staff.post(f"/admin/announcements/{small}/send", token_from=path).status_code == 302
    assert len(publisher.published()) == 2


# --- schedule, cancel, test send, report --------------------------------------------------------------------

def test_schedule_refuses_the_past_then_schedules_and_cancels(admin_env, residents, publisher):
    staff = admin_env.signed_in("staff")
    item = make(admin_env, "staff", title="予約するお知らせ")
    path = f"/admin/announcements/{item}"
    r = staff.post(f"{path}/schedule", {"at": "2026-11-25T09:59"}, token_from=path)  # T0 is 10:00 in Tokyo
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "配信日時が過ぎています（2026/11/25 09:59）。これから先の日時を選んでください。" in html
    assert 'value="2026-11-25T09:59"' in html  # what was typed stays
    r = staff.post(f"{path}/schedule", {"at": "来週"}, token_from=path)
    assert r.status_code == 422 and "2026-12-01 09:00 のように入力してください" in r.get_data(as_text=True)
    assert publisher.published() == []
    assert staff.post(f"{path}/schedule", {"at": "2026-12-01T09:00"}, token_from=path).status_code == 302
    [call] = publisher.published()
    assert call["when"] == datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
    page = staff.get(path).get_data(as_text=True)
    assert "配信予約中（2026/12/01 09:00 に配信）" in page and "配信予約を取り消す" in page
    assert staff.post(f"{path}/delete", token_from=path).status_code == 409  # cancel first
    assert staff.post(f"{path}/cancel", token_from=path).status_code == 302
    assert ("cancel", (created(admin_env, "予約するお知らせ").publication_id,)) in publisher.calls
    assert created(admin_env, "予約するお知らせ").status == "cancelled"
    assert staff.post(f"{path}/cancel", token_from=path).status_code == 409
    schedule = admin_env.audit("announcement.schedule")
    assert [e.summary for e in schedule] == ["予約するお知らせ（2026/12/01 09:00・3人）"]
    assert len(admin_env.audit("announcement.cancel")) == 1


def test_test_send_goes_only_to_the_staff_members_linked_line_account(admin_env, residents, publisher):
    staff = admin_env.signed_in("staff")
    item = make(admin_env, "staff", title="テストするお知らせ", urgent="y")
    path = f"/admin/announcements/{item}"
    assert "先に「LINE連携」の画面でコードを表示し" in staff.get(path).get_data(as_text=True)
    r = staff.post(f"{path}/test", token_from=path)
    assert r.status_code == 409 and "連携してください" in r.get_data(as_text=True)
    with admin_env.db() as db:  # even with notifications off, a test reaches its owner
        db.add(StaffLink(account_id=admin_env.ids["staff"], user_id=residents[4], linked_at=T0))
        db.commit()
    assert staff.post(f"{path}/test", token_from=path).status_code == 302
    [call] = publisher.published()
    assert call["user_ids"] == [residents[4]] and call["purpose"] == "test" and call.get("ref") is None
    assert call["messages"][0]["text"].startswith("【緊急】")
    assert created(admin_env, "テストするお知らせ").status == "draft"  # a test is not the real send
    [entry] = admin_env.audit("announcement.test_send")
    assert entry.actor_id == admin_env.ids["staff"]


def test_report_page_after_sending(admin_env, residents, publisher):
    staff = admin_env.signed_in("staff")
    item = make(admin_env, "staff", title="結果を見る")
    path = f"/admin/announcements/{item}"
    assert staff.get(f"{path}/report").status_code == 404  # nothing sent yet
    staff.post(f"{path}/send", token_from=path)
    html = staff.get(f"{path}/report").get_data(as_text=True)
    for label in ("届いた", "ブロック・友だち解除していた", "通知をひかえる時間のため後で届ける", "1日の上限に達していて送らなかった",
                  "配信後24時間以内にブロックした方", "送れなかったもの"):
        assert label in html
    assert 'id="r-reached">0人' in html


def test_quota_remaining_warning_and_line_unreachable(admin_env, residents, monkeypatch):
    staff = admin_env.signed_in("staff")
    item = make(admin_env, "staff", title="上限")
    answers = iter([QuotaInfo(1000, 998, None), QuotaInfo(None, None, "LINEが応答しませんでした"), QuotaInfo(1000, 10, None)])
    monkeypatch.setattr(quota, "month_quota", lambda rt: next(answers))
    html = staff.get(f"/admin/announcements/{item}").get_data(as_text=True)
    assert "残り 2通" in html and "このお知らせ（3人）を送ると、今月の上限を超えます。" in html
    html = staff.get(f"/admin/announcements/{item}").get_data(as_text=True)
    assert "今月の配信数を、LINEに問い合わせることができませんでした（LINEが応答しませんでした）" in html
    html = staff.get(f"/admin/announcements/{item}").get_data(as_text=True)
    assert "残り 990通" in html and "上限を超えます" not in html


def test_an_uploaded_image_goes_into_the_preview_and_the_messages(admin_env, residents, publisher):
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (1600, 900), (200, 40, 40)).save(png, "PNG")
    staff = admin_env.signed_in("staff")
    data = form(title="画像つき", image=(io.BytesIO(png.getvalue()), "poster.png"))
    data["csrf_token"] = staff.token(NEW)
    r = staff.c.post(NEW, data=data, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    path = r.headers["Location"]
    html = staff.get(path).get_data(as_text=True)
    assert 'data-message="image"><img src="http://127.0.0.1:5000/media/' in html
    assert staff.post(f"{path}/send", token_from=path).status_code == 302
    [call] = publisher.published()
    assert [m["type"] for m in call["messages"]] == ["text", "image"]
    assert call["messages"][1]["originalContentUrl"].startswith("http://127.0.0.1:5000/media/")
    # Not an image: refused beside the field with bot.media's Japanese reason, nothing saved.
    data = form(title="偽物", image=(io.BytesIO(b"not an image at all"), "fake.png"))
    data["csrf_token"] = staff.token(NEW)
    r = staff.c.post(NEW, data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and 'id="image-error"' in r.get_data(as_text=True)
    assert created(admin_env, "偽物") is None
