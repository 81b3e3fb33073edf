"""FAQ entries matched like any intent (step 10), through the real router on both databases: for every typed
message handlers/faq.weigh sets the entry the message asks against the classifier's answer. A paraphrase of an
entry that also names a feature reaches the entry's answer; a plain feature request reaches its feature even when
an entry mentions that feature; a close call offers the entry and the feature as buttons (versioned postbacks)
that open each; a staff-registered phrase and a crisis message still come before any of it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import faq
from bot.postback import VERSION, decode, encode
from handlers import faq as faq_view
from handlers import nlu, texts as T
from handlers.context import Ctx
from handlers.router import TABLES
from models.faq import PUBLISHED, FaqEntry, NluPhrase
from tests.admin_support import T0
from tests.chat_support import Chat, actions_in
from tests.test_faq_bot import all_text, faq_fresh  # noqa: F401  (faq_fresh: autouse)

# Entries a city might write, several about a menu feature (こども食堂 is こどもの居場所, 申込 is 申込状況 ...).
ENTRIES = [
    ("こども食堂の利用にお金はかかりますか", "こども食堂の多くは無料か、100円ほどでご利用いただけます。",
     ["子ども食堂は無料ですか", "こども食堂の利用料"]),
    ("イベントの申し込みをキャンセルするには？", "メニューの「申込状況」から取り消せます。",
     ["イベントの申込を取り消したい", "申し込んだイベントに行けなくなった"]),
    ("ボランティア保険には入る必要がありますか", "市の行事では、市がボランティア保険に加入しています。", ["ボランティアの保険"]),
    ("アンケートの回答をあとから修正できますか", "送った回答は直せません。もう一度お答えください。",
     ["アンケートの答えを直したい"]),
    ("粗大ごみの出し方を教えてください", "粗大ごみ受付センターへお申し込みください。", ["大きいごみの捨て方"]),
    ("死にたいときはどこに相談すればいいですか", "こころの相談窓口へお電話ください。", ["死にたい"]),
]


def add_entries(rt) -> dict[str, int]:
    with rt.sessions() as db:
        rows = [FaqEntry(question=q, answer=a, examples=ex, status=PUBLISHED, created_at=T0, updated_at=T0)
                for q, a, ex in ENTRIES]
        db.add_all(rows)
        db.commit()
        return {r.question: r.id for r in rows}


def answer_of(question: str) -> str:
    return next(a for q, a, _ in ENTRIES if q == question)


def test_the_router_sends_the_intent_faq_to_the_faq_view():
    assert TABLES["INTENTS"].get(faq_view.INTENT) is faq_view.on_intent


@pytest.mark.parametrize("text, route, question", [
    ("こども食堂はお金がかかりますか", "places", "こども食堂の利用にお金はかかりますか"),
    ("アンケートに答えたあと修正できる？", "survey", "アンケートの回答をあとから修正できますか"),
])
def test_a_paraphrase_that_names_a_feature_reaches_the_entry(bot, emulator, user_id, text, route, question):
    assert nlu.classify(text).name == route  # alone, the classifier would open the feature
    add_entries(bot.rt)
    body = all_text(Chat(bot, emulator, user_id).say(text))
    assert answer_of(question) in body and T.NOT_UNDERSTOOD_SUGGEST not in body


@pytest.mark.parametrize("text, route", [
    ("イベントを探したい", "events"),         # no entry near it
    ("子ども食堂を探したい", "places"),       # an entry mentions こども食堂, the message asks for the places
    ("こども食堂", "places"),
    ("ボランティアしたい", "volunteer"),      # an entry is about ボランティア保険
    ("イベントに申し込みたい", "events"),     # an entry is about cancelling a sign-up
    ("アンケート", "survey"),
])
def test_a_plain_feature_request_reaches_its_feature(bot, emulator, user_id, text, route):
    assert nlu.classify(text).name == route
    chat = Chat(bot, emulator, user_id)
    before = chat.say(text)  # no entries yet: the feature's own answer
    add_entries(bot.rt)
    assert chat.say(text) == before


def test_a_close_call_offers_the_entry_and_the_feature(bot, emulator, user_id):
    text, question = "アンケートの回答をあとで直せますか", "アンケートの回答をあとから修正できますか"
    assert nlu.classify(text).name == "survey"
    chat = Chat(bot, emulator, user_id)
    survey_list = chat.tap(encode("survey"))
    ids = add_entries(bot.rt)
    got = chat.say(text)
    assert got[-1]["text"] == T.NOT_UNDERSTOOD_SUGGEST
    buttons = [a for a in actions_in(got) if a.get("type") == "postback"]
    assert [b["label"] for b in buttons] == [question[:20], "アンケート", "メニュー"]
    assert buttons[0]["displayText"] == question  # the resident's side of the chat shows the whole question
    first = decode(buttons[0]["data"])
    assert (first.version, first.action, first.int("id")) == (VERSION, faq_view.ACTION, ids[question])
    assert answer_of(question) in all_text(chat.tap(buttons[0]["data"]))
    assert chat.tap(buttons[1]["data"]) == survey_list


def test_a_registered_phrase_and_a_crisis_come_before_any_entry(bot, emulator, user_id):
    add_entries(bot.rt)
    text = "こども食堂はお金がかかりますか"
    with bot.rt.sessions() as db:
        assert faq.match(db, text) is not None and faq.match(db, "死にたい") is not None
        db.add(NluPhrase(text=text, intent="help", created_at=T0, created_by="staff"))
        db.commit()
    chat = Chat(bot, emulator, user_id)
    assert chat.say(text) == chat.tap(encode("help"))  # where staff said, not the entry

    got = chat.say("死にたい")  # an entry answers these very words
    assert "0570-064-556" in got[0]["text"] and "こころの相談窓口へお電話ください" not in all_text(got)


# --- the rule itself, without the chat: each message against the classifier's own answer ---------------------

def weigh(db, text):
    return faq_view.weigh(Ctx(event={}, user=None, db=db, now=T0, config=None), text, nlu.classify(text))


@pytest.fixture
def entries(admin_env):
    add_entries(admin_env.rt)
    with admin_env.db() as db:
        yield db, {q: i for q, i in db.execute(select(FaqEntry.question, FaqEntry.id))}


def test_an_unsure_classifier_leaves_the_message_to_the_entry(entries):
    db, ids = entries
    for text, question in [("ボランティアに保険は必要？", "ボランティア保険には入る必要がありますか"),
                           ("粗大ゴミってどうやって出すの", "粗大ごみの出し方を教えてください")]:
        assert nlu.classify(text).name == "unknown"
        got = weigh(db, text)
        assert (got.name, got.target, got.alternatives) == ("faq", str(ids[question]), ())


def test_messages_no_entry_answers_keep_the_classifiers_answer(entries):
    db, _ = entries
    for text in ("プロジェクト3", "702", "ヘルプ", "通知を止めたい", "申込状況", "ありがとう"):
        assert weigh(db, text) == nlu.classify(text), text
