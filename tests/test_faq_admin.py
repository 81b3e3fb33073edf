"""よくある質問 in the admin over HTTP (Flask's test client, CSRF on, frozen clock), on both databases: staff write an
entry with its phrasings, see the LINE answer in the preview, publish and unpublish it (bot/faq.py answers only
while it is published); a past review date shows 見直し時期; the not-understood list shows text, count and last
seen, no resident, and turns a line into a new entry or one more phrasing of an existing entry in one step;
organisation and survey accounts are refused (403) on every FAQ route."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import faq
from models.faq import DRAFT, PUBLISHED, FaqEntry, NluMiss
from tests.admin_support import T0
from tests.listings_admin_support import created_id
from tests.test_faq_bot import faq_fresh  # noqa: F401  (autouse)

NEW = "/admin/faq/new"


def form(**kw) -> dict:
    data = {"question": "粗大ごみの出し方を教えてください", "answer": "粗大ごみは事前の申し込みが必要です。電話 0465-00-0000",
            "examples": "粗大ごみを出したい\r\n大きいごみの捨て方\r\n\r\n粗大ごみを出したい", "department": "環境政策課",
            "review_on": "2027-03-31"}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def html(r) -> str:
    return r.get_data(as_text=True)


def entry(env, eid: int) -> FaqEntry:
    with env.db() as db:
        e = db.get(FaqEntry, eid)
        db.expunge(e)
        return e


def add_misses(env, *texts_and_days):
    with env.db() as db:
        for text, days_ago in texts_and_days:
            faq.record_miss(db, text, T0 - timedelta(days=days_ago))
        db.commit()


def miss_id(env, text: str) -> int:
    with env.db() as db:
        return db.scalar(select(NluMiss.id).where(NluMiss.text == text))


def test_staff_write_preview_publish_and_unpublish_an_entry(admin_env):
    staff = admin_env.signed_in("staff")
    assert "よくある質問" in html(staff.get("/admin/"))  # the nav link
    eid = created_id(staff.post(NEW, form(), token_from=NEW))
    e = entry(admin_env, eid)
    assert (e.status, e.question, e.examples, e.department, str(e.review_on)) == (
        DRAFT, "粗大ごみの出し方を教えてください", ["粗大ごみを出したい", "大きいごみの捨て方"], "環境政策課", "2027-03-31")
    assert e.created_by == admin_env.ids["staff"]
    with admin_env.db() as db:
        assert faq.match(db, "粗大ゴミってどうやって出すの") is None  # a draft answers nothing

    page = html(staff.get(f"/admin/faq/{eid}"))
    preview = re.search(r'<figure class="phone"[^>]*id="preview">(.*?)</figure>', page, re.S)[1]
    assert "粗大ごみは事前の申し込みが必要です。" in preview and "担当：環境政策課" in preview
    assert "プロジェクト" in preview  # the menu as quick replies under the answer

    r = staff.post(f"/admin/faq/{eid}/publish", token_from=f"/admin/faq/{eid}")
    assert r.status_code == 302 and entry(admin_env, eid).status == PUBLISHED
    with admin_env.db() as db:
        assert faq.match(db, "粗大ゴミってどうやって出すの")[0].id == eid

    edit = f"/admin/faq/{eid}/edit"
    assert "粗大ごみを出したい\n大きいごみの捨て方" in html(staff.get(edit))
    r = staff.post(edit, form(examples="ごみ処理券はどこで買えますか"), token_from=edit)
    assert r.status_code == 302 and entry(admin_env, eid).examples == ["ごみ処理券はどこで買えますか"]
    with admin_env.db() as db:  # the same frozen instant: the revision tells the index
        assert faq.match(db, "ごみ処理券を買いたい")[0].id == eid

    staff.post(f"/admin/faq/{eid}/unpublish", token_from=f"/admin/faq/{eid}")
    assert entry(admin_env, eid).status == DRAFT
    with admin_env.db() as db:
        assert faq.match(db, "ごみ処理券を買いたい") is None
    assert [a.action for a in admin_env.audit() if a.action.startswith("faq")] == [
        "faq.create", "faq.publish", "faq.update", "faq.unpublish"]

    staff.post(f"/admin/faq/{eid}/delete", token_from=f"/admin/faq/{eid}")
    with admin_env.db() as db:
        assert db.get(FaqEntry, eid) is None


def test_save_and_publish_in_one_step_and_the_checks(admin_env):
    admin = admin_env.signed_in("admin")
    r = admin.post(NEW, form(question="", answer="あ" * 1001, examples="\n".join(["例"] * 2 + ["い" * 201]),
                             review_on="3000-01-01"), token_from=NEW)
    assert r.status_code == 422
    errors = re.findall(r'field-error">([^<]*)', html(r))
    assert "入力してください。" in errors and "1000文字以内で入力してください。" in errors
    assert any("200文字以内" in x for x in errors) and any("2099年" in x for x in errors)
    with admin_env.db() as db:
        assert db.scalar(select(FaqEntry.id)) is None
    eid = created_id(admin.post(NEW, {**form(), "then": "publish"}, token_from=NEW))
    assert entry(admin_env, eid).status == PUBLISHED


def test_the_list_flags_entries_due_for_review(admin_env):
    staff = admin_env.signed_in("staff")
    due = created_id(staff.post(NEW, form(question="期限切れの質問", review_on="2026-11-24"), token_from=NEW))
    today = created_id(staff.post(NEW, form(question="今日見直す質問", review_on="2026-11-25"), token_from=NEW))
    later = created_id(staff.post(NEW, form(question="まだ先の質問", review_on="2026-11-26"), token_from=NEW))
    page = html(staff.get("/admin/faq"))
    row = {i: re.search(rf'<tr class="faq-row" id="faq-{i}">(.*?)</tr>', page, re.S)[1] for i in (due, today, later)}
    assert "見直し時期" in row[due] and "見直し時期" in row[today] and "見直し時期" not in row[later]
    assert "下書き" in row[due]


def test_the_not_understood_list_shows_text_count_and_last_seen_only(admin_env):
    add_misses(admin_env, ("空き家が心配", 3), ("空き家が心配", 1), ("空き家が心配", 0), ("道路の穴", 10),
               ("道路の穴", 2), ("ヘルフ", 0))
    staff = admin_env.signed_in("staff")
    page = html(staff.get("/admin/faq/misses"))
    table = re.search(r'<table id="misses">(.*?)</table>', page, re.S)[1]
    heads = re.findall(r"<th>([^<]*)</th>", table)
    assert heads == ["言葉", "回数", "最後に送られた日時", ""]
    rows = re.findall(r'<tr class="miss-row" id="miss-\d+">\s*<td class="wrap">([^<]*)</td>\s*'
                      r'<td class="count">(\d+)</td>\s*<td>([^<]*)</td>', table)
    assert [(t, int(n)) for t, n, _ in rows] == [("空き家が心配", 3), ("道路の穴", 2), ("ヘルフ", 1)]
    assert rows[0][2] == "2026/11/25 10:00"  # last seen, Tokyo
    assert "送った方は記録していません" in page
    recent = html(staff.get("/admin/faq/misses?sort=recent"))
    order = re.findall(r'<tr class="miss-row" id="miss-\d+">\s*<td class="wrap">([^<]*)</td>', recent)
    assert order[-1] == "道路の穴"
    assert "読み取れなかった言葉（3件）" in html(staff.get("/admin/faq"))


def test_make_an_entry_from_a_line_of_the_list(admin_env):
    add_misses(admin_env, ("空き家の管理を相談したい", 0), ("空き家の管理を相談したい", 0))
    mid = miss_id(admin_env, "空き家の管理を相談したい")
    staff = admin_env.signed_in("staff")
    url = f"/admin/faq/new?miss={mid}"
    page = html(staff.get(url))
    assert re.search(r'id="question"[^>]*value="空き家の管理を相談したい"', page)
    assert re.search(r'<textarea[^>]*id="examples"[^>]*>\s*空き家の管理を相談したい</textarea>', page)
    assert "（2回）" in page
    eid = created_id(staff.post(url, {**form(question="空き家の管理について相談したい", answer="都市政策課にご相談ください。",
                                              examples="空き家の管理を相談したい"), "then": "publish"}, token_from=url))
    assert entry(admin_env, eid).examples == ["空き家の管理を相談したい"]
    assert miss_id(admin_env, "空き家の管理を相談したい") is None  # answered: off the list
    with admin_env.db() as db:
        assert faq.match(db, "空き家の管理を相談したいです")[0].id == eid
    summaries = " ".join(a.summary for a in admin_env.audit())
    assert "空き家の管理を相談したい" not in summaries  # residents' words stay out of the audit log


def test_add_a_line_as_a_phrasing_of_an_existing_entry(admin_env):
    staff = admin_env.signed_in("staff")
    other = created_id(staff.post(NEW, {**form(question="市役所の開庁時間は？", answer="平日8時30分から17時15分です。",
                                              examples="窓口の受付時間"), "then": "publish"}, token_from=NEW))
    target = created_id(staff.post(NEW, {**form(), "then": "publish"}, token_from=NEW))
    add_misses(admin_env, ("でかいゴミ捨てたい", 0), ("よくわからない言葉", 0))
    mid = miss_id(admin_env, "でかいゴミ捨てたい")
    with admin_env.db() as db:
        assert faq.match(db, "でかいゴミ捨てたい") is None
    url = f"/admin/faq/misses/{mid}/append"
    page = html(staff.get(url))
    assert re.search(rf'value="{target}" checked', page) and not re.search(rf'value="{other}" checked', page)
    r = staff.post(url, {}, token_from=url)
    assert r.status_code == 422 and "選んでください" in html(r)
    r = staff.post(url, {"entry_id": str(target)}, token_from=url)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/faq/misses")
    assert entry(admin_env, target).examples == ["粗大ごみを出したい", "大きいごみの捨て方", "でかいゴミ捨てたい"]
    assert miss_id(admin_env, "でかいゴミ捨てたい") is None
    with admin_env.db() as db:
        assert faq.match(db, "でかいゴミ捨てたいんだけど")[0].id == target

    gone = miss_id(admin_env, "よくわからない言葉")
    r = staff.post(f"/admin/faq/misses/{gone}/delete", token_from="/admin/faq/misses")
    assert r.status_code == 302 and miss_id(admin_env, "よくわからない言葉") is None
    assert "読み取れなかった言葉はありません。" in html(staff.get("/admin/faq/misses"))
    assert [a.action for a in admin_env.audit() if a.action.startswith("faq")][-2:] == ["faq.add_example",
                                                                                        "faq_miss.delete"]


@pytest.mark.parametrize("who", ["orga", "survey"])
def test_organisations_and_survey_teams_are_refused(admin_env, who):
    add_misses(admin_env, ("空き家が心配", 0))
    with admin_env.db() as db:
        e = FaqEntry(question="質問", answer="答え", created_at=T0, updated_at=T0)
        db.add(e)
        db.commit()
        eid = e.id
    mid = miss_id(admin_env, "空き家が心配")
    c = admin_env.signed_in(who)
    assert "よくある質問" not in html(c.get("/admin/"))
    for url in ("/admin/faq", NEW, f"/admin/faq/{eid}", f"/admin/faq/{eid}/edit", "/admin/faq/misses",
                f"/admin/faq/misses/{mid}/append"):
        assert c.get(url).status_code == 403, url
    for url in (NEW, f"/admin/faq/{eid}/publish", f"/admin/faq/{eid}/delete", f"/admin/faq/misses/{mid}/delete",
                f"/admin/faq/misses/{mid}/append"):
        assert c.post(url, {"entry_id": str(eid), **form()}).status_code == 403, url
    with admin_env.db() as db:
        assert db.get(FaqEntry, eid).status == DRAFT and db.get(NluMiss, mid) is not None
