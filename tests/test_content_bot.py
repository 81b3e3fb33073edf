"""Answers from the content over signed webhooks (emulator → bot → emulator): a message no route understood gets
「こちらが関係ありそうです」 with one bubble per match, and each bubble's button opens the real view (the plan's
action, an event, a place, a volunteer shift, a survey); out-of-scope text gets the short not-understood answer
with the menu and no bubble, and is counted in the not-understood list; an FAQ entry answers its paraphrase."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import content_search as CS
from handlers import content_flex, fallback, nlu
from handlers.router import TABLES
from tests.chat_support import Chat, action, texts
from tests.events_support import add_event
from tests.places_support import add_place
from tests.surveys_support import build_survey
from tests.test_events_bot import NOON, at, bubbles, city  # noqa: F401  (city: the plan loaded, clock at NOON)
from tests.test_faq_bot import faq_fresh  # noqa: F401  (autouse: FAQ rows written here are seen at once)
from tests.volunteer_support import add_opportunity, add_shift

# Situations the plan's action 702 (地域交通のリ・デザイン) is about. The classifier (handlers/nlu.py) may learn
# any of them; the bot test needs one it leaves to the fallback, so the first such one is used.
SITUATIONS = ["最寄りの停留所が廃止された", "路線の運行経費の補助はありますか", "停留所がなくなって不便になりました",
              "乗合の交通の実証実験はどこでやっていますか"]


@pytest.fixture
def wired(monkeypatch):
    """The router's own table sends intent "unknown" to handlers/fallback.py (checked, not patched in)."""
    assert TABLES["INTENTS"].get("unknown") is fallback.answer_unknown
    CS.invalidate()
    monkeypatch.setattr(CS, "CHECK_INTERVAL_S", 0.0)
    monkeypatch.setattr(CS, "BACKGROUND", False)  # every message sees the rows the test just wrote
    yield
    CS.invalidate()


def card_titles(messages) -> list[str]:
    return [b["body"]["contents"][0]["text"] for b in bubbles(messages)]


def is_content_answer(messages) -> bool:
    return any(m.get("type") == "text" and m.get("text") == content_flex.INTRO for m in messages)


def test_a_situation_gets_bubbles_and_the_button_opens_the_action(city, wired, emulator, user_id, monkeypatch):
    # The classifier learns the situations it is shown (these four route to 702 by themselves today); what is
    # tested here is the answer when it is unsure, so it is made unsure of this one message.
    text = SITUATIONS[0]
    real = nlu.classify
    monkeypatch.setattr(nlu, "classify", lambda t, city=None: nlu.UNKNOWN if t == text else real(t, city))
    with city.rt.sessions() as db:
        assert [(m.kind, m.ref) for m in CS.search(db, text, NOON)][:1] == [("action", 702)]
    chat = Chat(city, emulator, user_id)
    got = chat.say(text)
    assert is_content_answer(got)
    assert "読み取れ" not in " ".join(texts(got))
    assert card_titles(got)[0].startswith("アクション702")
    assert 1 <= len(bubbles(got)) <= 3
    assert got[-1]["quickReply"]["items"][-1]["action"]["label"] == "メニュー"
    opened = chat.tap(action(got, "詳しく見る")["data"])
    assert any("地域交通のリ・デザイン" in t for t in texts(opened))


def test_event_place_volunteer_and_survey_bubbles_open_their_views(city, wired, emulator, user_id):
    with city.rt.sessions() as db:
        ev = add_event(db, NOON, "カブトムシ観察会", starts=at(10, 19), description="夜の森で甲虫を探します")
        add_place(db, NOON, "ひまわり亭", description="手作りの夕ごはん", rows=[(0, "17:00", "19:00")])
        opp = add_opportunity(db, NOON, "桜並木の手入れ", description="枝を払い、根元を整えます")
        add_shift(db, opp, NOON, at(20, 9))
        build_survey(db, NOON, title="公園の噴水についてのアンケート")
        db.commit()
    chat = Chat(city, emulator, user_id)
    got = chat.say("カブトムシを見たい")
    assert is_content_answer(got) and card_titles(got) == ["カブトムシ観察会"]
    assert "6月10日（水）19:00〜21:00" in texts(got)  # when, in Tokyo
    detail = chat.tap(action(got, "詳しく見る")["data"])
    assert "カブトムシ観察会" in texts(detail) and not is_content_answer(detail)

    got = chat.say("ひまわり亭")
    assert card_titles(got) == ["ひまわり亭"]
    assert "ひまわり亭" in " ".join(texts(chat.tap(action(got, "詳しく見る")["data"])))

    got = chat.say("桜並木")
    assert card_titles(got) == ["桜並木の手入れ"]
    assert "桜並木の手入れ" in " ".join(texts(chat.tap(action(got, "詳しく見る")["data"])))

    got = chat.say("噴水")
    assert card_titles(got) == ["公園の噴水についてのアンケート"]
    card = chat.tap(action(got, "アンケートを開く")["data"])
    assert any("公園の噴水についてのアンケート" in t for t in texts(card))


def test_a_withdrawn_event_is_no_longer_offered(city, wired, emulator, user_id):
    with city.rt.sessions() as db:
        ev = add_event(db, NOON, "カブトムシ観察会", starts=at(10, 19))
        db.commit()
    chat = Chat(city, emulator, user_id)
    assert card_titles(chat.say("カブトムシ")) == ["カブトムシ観察会"]
    from bot.event_occurrences import materialise
    from models.events import Event

    with city.rt.sessions() as db:
        e = db.get(Event, ev.id)
        e.status, e.updated_at = "draft", NOON + timedelta(minutes=1)
        materialise(db, e, now=NOON)
        db.commit()
    got = chat.say("カブトムシ")
    assert not is_content_answer(got) and bubbles(got) == []


def test_out_of_scope_gets_the_short_answer_and_is_counted_without_the_resident(city, wired, emulator, user_id):
    chat = Chat(city, emulator, user_id)
    for _ in range(2):
        got = chat.say("明日の天気はどうですか")
        assert not is_content_answer(got) and bubbles(got) == []
        assert got[-1].get("quickReply"), "the menu is offered"
    faq = pytest.importorskip("models.faq")
    with city.rt.sessions() as db:
        rows = db.execute(select(faq.NluMiss.text, faq.NluMiss.count)).all()
    assert [(t, n) for t, n in rows if "天気" in t] == [("明日の天気はどうですか", 2)]
    assert not any(user_id in str(v) for r in rows for v in r)


def test_a_published_name_is_answered_even_when_it_looks_out_of_scope(city, wired, emulator, user_id):
    # 天気 is an out-of-scope word (weather); a place the city publishes under a name containing it is still
    # answered when the resident types that name, while a weather question stays refused.
    with city.rt.sessions() as db:
        add_place(db, NOON, "お天気ひろば", description="雨の日も遊べる室内のひろば")
        db.commit()
    assert nlu.classify("お天気ひろば").target == nlu.OUT_OF_SCOPE
    chat = Chat(city, emulator, user_id)
    assert card_titles(chat.say("お天気ひろば")) == ["お天気ひろば"]
    got = chat.say("明日の天気はどうですか")
    assert not is_content_answer(got) and bubbles(got) == []


def test_an_faq_entry_answers_a_paraphrase(city, wired, emulator, user_id):
    faq = pytest.importorskip("models.faq")
    pytest.importorskip("bot.faq")
    with city.rt.sessions() as db:
        db.add(faq.FaqEntry(question="粗大ごみの出し方を教えてください", answer="環境事業センターに電話で申し込んでください。",
                            examples=["大きなごみを捨てたい", "ソファを処分したい"], department="環境事業センター",
                            status="published", created_at=NOON, updated_at=NOON))
        db.commit()
    got = Chat(city, emulator, user_id).say("粗大ごみはどうやって出せばいいですか")
    assert any("環境事業センターに電話で申し込んでください。" in t for t in texts(got))


def test_raw_text_is_the_message_as_typed_else_the_folded_text():
    """handlers/context.raw_text (fallback and content search read the typed words, not the router's fold)."""
    from handlers.context import Ctx, raw_text

    def ctx(event):
        return Ctx(event=event, user=None, db=None, now=NOON, config=None, text="こどもしょくどう")

    assert raw_text(ctx({"type": "message", "message": {"type": "text", "text": "ｺﾄﾞﾓ食堂"}})) == "ｺﾄﾞﾓ食堂"
    assert raw_text(ctx({"type": "message", "message": {"type": "text", "text": "  "}})) == "こどもしょくどう"
    assert raw_text(ctx({"type": "postback", "postback": {"data": "v=1&a=help"}})) == "こどもしょくどう"
    assert raw_text(ctx({"type": "message", "message": "not an object"})) == "こどもしょくどう"
