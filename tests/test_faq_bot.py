"""The FAQ round trip through the real parts, on both databases: staff add an entry in the admin over HTTP and
publish it; a resident's paraphrase, sent as a signed webhook through the emulator, gets the entry's answer; a
message nothing understands is counted in the not-understood list (text and count, no resident); the answer's
button (faq, id=) shows it while it is published.

bot/faq.match itself is covered without the router in tests/test_faq_match.py."""
from __future__ import annotations

from sqlalchemy import select

from bot.postback import encode
from models.faq import FaqEntry, NluMiss
from tests.admin_support import Client, seed
from tests.chat_support import Chat, texts
from tests.listings_admin_support import created_id

NOT_UNDERSTOOD_WORDS = ("読み取れ", "わかりませんでした")


def staff_client(bot) -> Client:
    seed(bot.rt, bot.rt.now())
    c = Client(bot.app)
    assert c.login("staff@example.jp").status_code == 302
    return c


def publish_entry(c: Client, **kw) -> int:
    data = {"question": "粗大ごみの出し方を教えてください", "answer": "粗大ごみは、前の週までに粗大ごみ受付センターへお申し込みください。",
            "examples": "粗大ごみを出したい\n大きいごみの捨て方", "department": "環境政策課", "review_on": "", "then": "publish"}
    data.update(kw)
    return created_id(c.post("/admin/faq/new", data, token_from="/admin/faq/new"))


def all_text(messages) -> str:
    return "\n".join(texts(messages)) + "\n".join(m.get("altText", "") for m in messages)


def test_a_residents_paraphrase_reaches_the_entry_staff_published(bot, emulator, user_id):
    c = staff_client(bot)
    eid = publish_entry(c)
    chat = Chat(bot, emulator, user_id)
    reply = chat.say("粗大ゴミってどうやって出すの？")
    body = all_text(reply)
    assert "粗大ごみ受付センターへお申し込みください" in body and "担当：環境政策課" in body
    assert not any(w in body for w in NOT_UNDERSTOOD_WORDS)

    # Unpublished in the admin: the same words no longer get that answer (the index notices at once).
    c.post(f"/admin/faq/{eid}/unpublish", token_from=f"/admin/faq/{eid}")
    assert "粗大ごみ受付センター" not in all_text(chat.say("粗大ゴミってどうやって出すの？"))


def test_what_nothing_understands_is_counted_without_the_resident(bot, emulator, user_id):
    from emulator import new_user_id

    text = "ぴよぴよぽんぽこりん"
    for uid in (user_id, new_user_id()):
        reply = Chat(bot, emulator, uid).say(text)
        assert reply  # never silence: the short answer and the menu
    with bot.rt.sessions() as db:
        rows = db.execute(select(NluMiss.text, NluMiss.count)).all()
    assert [(t, n) for t, n in rows if t == text] == [(text, 2)]
    c = staff_client(bot)
    page = c.get("/admin/faq/misses").get_data(as_text=True)
    assert text in page and user_id not in page


def test_the_answer_button_shows_a_published_entry_only(bot, emulator, user_id):
    c = staff_client(bot)
    eid = publish_entry(c)
    chat = Chat(bot, emulator, user_id)
    assert "粗大ごみ受付センターへお申し込みください" in all_text(chat.tap(encode("faq", id=eid)))
    c.post(f"/admin/faq/{eid}/unpublish", token_from=f"/admin/faq/{eid}")
    assert "いまは表示できません" in all_text(chat.tap(encode("faq", id=eid)))
    assert "いまは表示できません" in all_text(chat.tap(encode("faq", id=eid + 1000)))
    with bot.rt.sessions() as db:
        assert db.get(FaqEntry, eid) is not None
