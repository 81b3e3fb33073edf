"""The welcome (a new follower: the greeting, then the 地区 question, handlers/account.py on_follow and
handlers/settings.py onboarding), through signed webhooks against the emulator: LINE shows only the LAST message's
quick replies, so the main menu the greeting points at (「下のボタンから選んでください」) is on the last message, with
あとで選ぶ; the 地区 carousel asks its question once (the first card), each card headed by its own kana group."""
from __future__ import annotations

from emulator import new_user_id
from tests.helpers import quick_labels
from tests.test_plan_bot import Chat, assert_no_rejections, bubbles, plan_bot, texts  # noqa: F401

MENU = ["プロジェクト", "こどもの居場所", "イベント", "ボランティア", "アンケート", "設定", "ヘルプ"]
QUESTION = "お住まいの地区はどちらですか"


def test_the_welcome_ends_with_the_menu_and_asks_its_question_once(plan_bot, emulator):  # noqa: F811
    user = new_user_id()
    chat = Chat(plan_bot, emulator, user)
    greeting, question = chat._collect(lambda: emulator.send_follow(user))
    assert "下のボタンから選んでください" in greeting["text"]
    assert quick_labels(question) == ["あとで選ぶ", *MENU]  # the last message's, the ones LINE shows

    cards = bubbles(question)
    assert len(cards) > 1
    headers = [texts(c["header"]) for c in cards]
    assert headers[0][0] == QUESTION and sum(QUESTION in h for h in headers) == 1
    assert len({tuple(h) for h in headers}) == len(headers)  # each card its own header (あ行, か行, …)
    assert sum("地区を押すと" in t for c in cards for t in texts(c["body"])) == 1

    # A 地区 from a later card works as one from the first.
    later = [a for a in cards[-1]["body"]["contents"] if a.get("type") == "button"]
    assert later and "地区を登録しました" in chat.tap(later[0]["action"]["data"])[0]["altText"]

    # A returning follower is not asked again: the greeting is the last message and keeps its menu.
    emulator.send_unfollow(user)
    [back] = chat._collect(lambda: emulator.send_follow(user))
    assert "おかえりなさい" in back["text"] and quick_labels(back) == MENU
    assert_no_rejections(emulator)
