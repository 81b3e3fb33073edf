"""「言い換えとして登録」 (step 10): staff turn a line of the not-understood list into a phrase that opens a menu
feature, a project or an action, in one step, on both databases. Through the real parts: the admin over HTTP, the
resident over signed webhooks through the emulator (the router asks bot/faq.phrase_route before the classifier);
the phrase list shows no resident; deleting a phrase stops it; organisation and survey accounts are refused."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from bot import faq
from bot.plan_loader import default_plan_path, load
from models.faq import NluMiss, NluPhrase
from tests.admin_support import T0
from tests.chat_support import Chat
from tests.test_faq_bot import all_text, faq_fresh, staff_client  # noqa: F401  (faq_fresh: autouse)

WORDS = "ぴよぴよぽんぽこりん"  # nothing in the bot understands this


def html(r) -> str:
    return r.get_data(as_text=True)


def opens_action(messages, no: int) -> bool:
    return any(m.get("type") == "flex" and m.get("altText", "").startswith(f"アクション{no} ") for m in messages)


def miss_id(db, text: str) -> int | None:
    return db.scalar(select(NluMiss.id).where(NluMiss.text == text))


def test_a_miss_registered_for_action_702_opens_it_for_residents_until_deleted(bot, emulator, user_id):
    load(bot.rt.sessions, default_plan_path(bot.rt.config.city), bot.rt.now())
    chat = Chat(bot, emulator, user_id)
    assert not opens_action(chat.say(WORDS), 702)
    with bot.rt.sessions() as db:
        mid = miss_id(db, WORDS)
    assert mid is not None

    staff = staff_client(bot)
    form_url = f"/admin/faq/misses/{mid}/phrase"
    assert f'href="{form_url}"' in html(staff.get("/admin/faq/misses"))  # the third one-step action on the row
    page = html(staff.get(form_url))
    for label in ("プロジェクト一覧", "こどもの居場所", "イベント", "ボランティア", "アンケート", "設定", "申込状況",
                  "ヘルプ", "退会", "プロジェクト7 ", "アクション702 "):
        assert f">{label}" in page, label
    r = staff.post(form_url, {"route": "plan.action:702"}, token_from=form_url)
    assert r.status_code == 302, html(r)
    with bot.rt.sessions() as db:
        assert db.execute(select(NluPhrase.text, NluPhrase.intent, NluPhrase.target, NluPhrase.created_by)).all() == [
            (WORDS, "plan.action", "702", "staff")]
        assert miss_id(db, WORDS) is None  # it left the not-understood list

    # The resident's same words now open the action; so do they with punctuation, katakana and a filler.
    for said in (WORDS, WORDS + "！", "ピヨピヨポンポコリンについて教えてください"):
        assert opens_action(chat.say(said), 702), said

    listing = html(staff.get("/admin/faq/phrases"))
    table = re.search(r'<table id="phrases">(.*?)</table>', listing, re.S)[1]
    assert re.findall(r"<th>([^<]*)</th>", table) == ["言葉", "開く先", "登録した日時", "登録した人", ""]
    assert WORDS in table and "アクション702 " in table and user_id not in listing
    pid = int(re.search(r'id="phrase-(\d+)"', table)[1])

    r = staff.post(f"/admin/faq/phrases/{pid}/delete", token_from="/admin/faq/phrases")
    assert r.status_code == 302
    assert "登録した言い換えはありません" in html(staff.get("/admin/faq/phrases"))
    reply = chat.say(WORDS)
    assert not opens_action(reply, 702) and "読み取れ" in all_text(reply)
    with bot.rt.sessions() as db:
        assert miss_id(db, WORDS) is not None  # counted as not understood again


def _misses(env, *texts) -> list[int]:
    with env.db() as db:
        for text in texts:
            faq.record_miss(db, text, T0)
        db.commit()
        return [miss_id(db, faq.miss_text(t)) for t in texts]


def test_the_form_checks_the_choice_and_refuses_a_wording_already_registered(admin_env):
    first, same, other = _misses(admin_env, "ぽこぽこ広場", "ポコポコ広場について", "もくもくの会って何？")
    staff = admin_env.signed_in("staff")
    url = f"/admin/faq/misses/{first}/phrase"
    assert staff.post(url, {}, token_from=url).status_code == 422
    assert staff.post(url, {"route": "plan.action:99999"}, token_from=url).status_code == 422  # not in the plan
    assert staff.post(url, {"route": "places"}, token_from=url).status_code == 302

    # Another line that folds to the same words: refused, with where the registered one leads.
    url = f"/admin/faq/misses/{same}/phrase"
    r = staff.post(url, {"route": "events"}, token_from=url)
    assert r.status_code == 409 and "「こどもの居場所」を開くよう登録されています" in html(r)
    url = f"/admin/faq/misses/{other}/phrase"
    assert staff.post(url, {"route": "volunteer"}, token_from=url).status_code == 302

    with admin_env.db() as db:
        assert faq.phrase_route(db, "ぽこぽこ広場。") == ("places", None)
        assert faq.phrase_route(db, "ポコポコ広場について") == ("places", None)
        assert faq.phrase_route(db, "もくもくの会") == ("volunteer", None)  # registered with a filler, said without
        assert faq.phrase_route(db, "もくもくの会って何") == ("volunteer", None)
        assert faq.phrase_route(db, "もくもく") is None  # the whole message, not a part of it
        assert miss_id(db, "ポコポコ広場について") == same  # the refused line stays in the list
    assert [a.action for a in admin_env.audit() if a.action.startswith("faq_phrase")] == [
        "faq_phrase.create", "faq_phrase.create"]
    assert all("ぽこ" not in a.summary and "もくもく" not in a.summary for a in admin_env.audit())


def test_a_change_made_by_another_process_is_noticed(admin_env):
    """No forget() here: the version (count, max id) alone must show an add, a delete, and a delete followed by
    an add (ids are never reused, SQLite included)."""
    now = T0
    with admin_env.db() as db:
        db.add(NluPhrase(text="くるくるバス", intent="plan.action", target="702", created_at=now, created_by="x"))
        db.commit()
        assert faq.phrase_route(db, "くるくるバス") == ("plan.action", "702")
        db.execute(delete(NluPhrase))
        db.add(NluPhrase(text="ぐるぐるバス", intent="help", created_at=now, created_by="x"))
        db.commit()
        assert faq.phrase_route(db, "くるくるバス") is None
        assert faq.phrase_route(db, "ぐるぐるバス") == ("help", None)
        db.execute(delete(NluPhrase))
        db.commit()
        assert faq.phrase_route(db, "ぐるぐるバス") is None


@pytest.mark.parametrize("who", ["orga", "survey"])
def test_organisations_and_survey_teams_are_refused(admin_env, who):
    (mid,) = _misses(admin_env, "ぽこぽこ広場")
    with admin_env.db() as db:
        p = NluPhrase(text="もくもくの会", intent="help", created_at=T0, created_by="staff")
        db.add(p)
        db.commit()
        pid = p.id
    c = admin_env.signed_in(who)
    for url in ("/admin/faq/phrases", f"/admin/faq/misses/{mid}/phrase"):
        assert c.get(url).status_code == 403, url
    for url in (f"/admin/faq/misses/{mid}/phrase", f"/admin/faq/phrases/{pid}/delete"):
        assert c.post(url, {"route": "help"}).status_code == 403, url
    with admin_env.db() as db:
        assert db.get(NluPhrase, pid) is not None and db.get(NluMiss, mid) is not None
        assert db.scalar(select(NluPhrase.id).where(NluPhrase.text == "ぽこぽこ広場")) is None
