"""Free text from residents, end to end: signed webhook -> classifier -> router -> plan views."""
from __future__ import annotations

from bot.postback import decode
from tests.helpers import quick_labels
from tests.test_plan_bot import Chat, plan_bot  # noqa: F401  (fixture)


def _alts(msg: dict) -> list[dict]:
    return [i["action"] for i in (msg.get("quickReply") or {}).get("items", [])]


def test_typed_questions_reach_the_plan_views(plan_bot, emulator, user_id):  # noqa: F811
    chat = Chat(plan_bot, emulator, user_id)
    [project] = [m for m in chat.say("ｹｱﾀｳﾝって何？") if m["type"] == "flex"][:1]
    assert "ケアタウン" in project["altText"]
    action = chat.say("１０１")
    assert any("101" in (m.get("altText") or "") for m in action)
    years = chat.say("今年度の予定を教えてください😊")
    assert any("令和" in (m.get("altText") or m.get("text") or "") for m in years)
    [carousel] = [m for m in chat.say("協働プロジェクト一覧") if m["type"] == "flex"]
    assert len(carousel["contents"]["contents"]) == 7


def test_unclear_text_offers_the_closest_choices_and_they_work(plan_bot, emulator, user_id):  # noqa: F811
    chat = Chat(plan_bot, emulator, user_id)
    [msg] = chat.say("環境と文化")
    alts = _alts(msg)
    labels = quick_labels(msg)
    assert "もしかして" in msg["text"] and len(alts) >= 3
    assert any("共生圏" in lbl for lbl in labels) and any("文化" in lbl for lbl in labels)
    first = chat.tap(alts[0]["data"])
    assert decode(alts[0]["data"]).action == "plan.project"
    assert first[0]["type"] == "flex"


def test_off_topic_text_gets_the_menu_not_silence(plan_bot, emulator, user_id):  # noqa: F811
    chat = Chat(plan_bot, emulator, user_id)
    for text in ("asdfgh", "👍"):
        [msg] = chat.say(text)
        assert "読み取れません" in msg["text"]
        assert quick_labels(msg)
    # A topic the bot does not handle is told so, with where to ask (tests/test_out_of_scope_reply.py).
    for text in ("今日の天気は？", "ゴミの収集日は何曜日？"):
        [msg] = chat.say(text)
        assert "読み取れません" not in msg["text"] and "お答えできません" in msg["text"]
        assert quick_labels(msg)
