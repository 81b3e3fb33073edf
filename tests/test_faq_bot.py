"""The FAQ round trip through the real parts, on both databases: staff add an entry in the admin over HTTP and
publish it; a resident's paraphrase, sent as a signed webhook through the emulator, gets the entry's answer; a
message nothing understands is counted in the not-understood list (text and count, no resident); the answer's
button (faq, id=) shows it while it is published.

bot/faq.match itself is covered without the router in tests/test_faq_match.py."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import faq
from bot.postback import encode
from models.faq import FaqEntry, NluMiss
from tests.admin_support import Client, seed
from tests.chat_support import Chat, texts
from tests.listings_admin_support import created_id

NOT_UNDERSTOOD_WORDS = ("読み取れ", "わかりませんでした")


@pytest.fixture(autouse=True)
def faq_fresh(monkeypatch):
    """bot/faq.py's copies ask for the version at every message (in production at most every CHECK_INTERVAL_S),
    so rows a test writes directly are seen; none outlives its test (the next one starts on a wiped database).
    Modules that write entries or phrases import this fixture."""
    monkeypatch.setattr(faq, "CHECK_INTERVAL_S", 0.0)
    faq.forget()
    yield
    faq.forget()


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


def test_a_deleted_entrys_button_never_shows_the_next_entry(bot, emulator, user_id):
    """Ids are never reused (SQLite AUTOINCREMENT since migration 0017, PostgreSQL's sequence): a resident's old
    answer button, and the audit log, keep naming the entry that was deleted, not the one staff add next."""
    c = staff_client(bot)
    old = publish_entry(c)
    chat = Chat(bot, emulator, user_id)
    assert "粗大ごみ受付センター" in all_text(chat.tap(encode("faq", id=old)))
    c.post(f"/admin/faq/{old}/delete", token_from=f"/admin/faq/{old}")
    with bot.rt.sessions() as db:
        assert db.get(FaqEntry, old) is None  # it was the last (the highest) id: SQLite would have handed it out again
    new = publish_entry(c, question="犬の登録について教えてください", answer="犬の登録は生活環境課で受け付けています。",
                        examples="犬を飼い始めた")
    assert new > old
    assert "いまは表示できません" in all_text(chat.tap(encode("faq", id=old)))
    assert "生活環境課" in all_text(chat.tap(encode("faq", id=new)))


def test_the_version_is_asked_at_most_once_per_interval_and_an_admin_edit_is_seen_at_once(bot, emulator, user_id,
                                                                                           monkeypatch):
    """The router reads the staff's phrases and the FAQ index for typed messages; each asks the database whether
    it is stale at most every CHECK_INTERVAL_S, not per message. An edit made through the admin in this process
    is seen at the next message all the same (the admin calls bot/faq.forget)."""
    from sqlalchemy import event

    monkeypatch.setattr(faq, "CHECK_INTERVAL_S", 30.0)
    c = staff_client(bot)
    eid = publish_entry(c)
    asked = {"faq_entries": 0, "nlu_phrases": 0}

    def count(conn, cursor, statement, params, context, executemany):
        for table in asked:  # the version queries: count(*), max(id) ... of the table
            asked[table] += f"max({table}.id)" in statement

    chat = Chat(bot, emulator, user_id)
    event.listen(bot.rt.engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert "粗大ごみ受付センター" in all_text(chat.say("粗大ゴミってどうやって出すの？"))
            assert "粗大ごみ受付センター" in all_text(chat.say("大きいごみはどう捨てればいい"))
        assert asked == {"faq_entries": 1, "nlu_phrases": 1}  # the first message after the admin's save

        c.post(f"/admin/faq/{eid}/unpublish", token_from=f"/admin/faq/{eid}")
        assert "粗大ごみ受付センター" not in all_text(chat.say("粗大ゴミってどうやって出すの？"))
        c.post(f"/admin/faq/{eid}/publish", token_from=f"/admin/faq/{eid}")
        for _ in range(3):
            assert "粗大ごみ受付センター" in all_text(chat.say("粗大ゴミってどうやって出すの？"))
        assert asked == {"faq_entries": 3, "nlu_phrases": 3}  # once after each of the two saves

        monkeypatch.setattr(faq, "CHECK_INTERVAL_S", 0.0)  # the interval has passed
        chat.say("粗大ゴミってどうやって出すの？")
        assert asked == {"faq_entries": 4, "nlu_phrases": 4}
    finally:
        event.remove(bot.rt.engine, "before_cursor_execute", count)


def test_a_change_from_another_process_is_seen_after_the_interval(admin_env, monkeypatch):
    """Rows written without this process's admin (another web process) reach the copies once the interval has
    passed, not before: the price of not asking per message."""
    from models.faq import NluPhrase, PUBLISHED
    from tests.admin_support import T0

    monkeypatch.setattr(faq, "CHECK_INTERVAL_S", 30.0)
    with admin_env.db() as db:
        assert faq.match(db, "粗大ゴミってどうやって出すの") is None and faq.phrase_route(db, "くるくるバス") is None
        db.add(FaqEntry(question="粗大ごみの出し方を教えてください", answer="申し込んでください。", examples=[],
                        status=PUBLISHED, created_at=T0, updated_at=T0))
        db.add(NluPhrase(text="くるくるバス", intent="plan.action", target="702", created_at=T0, created_by="x"))
        db.commit()
        assert faq.match(db, "粗大ゴミってどうやって出すの") is None and faq.phrase_route(db, "くるくるバス") is None
        monkeypatch.setattr(faq, "CHECK_INTERVAL_S", 0.0)
        assert faq.match(db, "粗大ゴミってどうやって出すの") is not None
        assert faq.phrase_route(db, "くるくるバス") == ("plan.action", "702")
