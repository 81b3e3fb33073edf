"""アンケート on LINE through signed webhooks against the emulator (every message checked against LINE's limits by
Chat): the list and card, every question kind end to end, skip rules and 戻る across a branch, typed answers and
re-asking, pausing (やめる, the rich menu, another feature's words), resuming a day later, an old button, closing
mid-answer, a double submit, editing where allowed, a long list paged, anonymous and named rows, and a survey
aimed at a segment the resident is not in."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import utc
from models.subscriptions import SubscribedDistrict
from models.surveys import IN_PROGRESS, SINGLE, SUBMITTED, SurveyResponse
from models.users import User
from tests.chat_support import Chat, action, actions_in, texts
from tests.helpers import quick_labels
# city: the events tests' fixture (the plan and its 地区 loaded, the clock at NOON), used here by name
from tests.test_events_bot import NOON, city  # noqa: F401
from tests.surveys_support import build_survey


def make(city, **kw) -> int:
    with city.rt.sessions() as db:
        s = build_survey(db, utc(NOON), **kw)  # stored as UTC (SQLite keeps the wall time it is given)
        db.commit()
        return s.id


def responses(city, sid: int) -> list[SurveyResponse]:
    with city.rt.sessions() as db:
        return list(db.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == sid)))


def all_text(messages) -> str:
    return "\n".join(texts(messages))


def pick_date(chat: Chat, messages, date: str) -> list[dict]:
    """The date picker's answer: LINE posts the picker's data with params.date."""
    picker = next(i["action"] for m in messages for i in (m.get("quickReply") or {}).get("items", [])
                  if i["action"]["type"] == "datetimepicker")
    assert picker["mode"] == "date"
    return chat._collect(lambda: chat.emulator.send_postback(chat.user, picker["data"], params={"date": date}))


def start(chat: Chat, sid: int) -> list[dict]:
    card = chat.tap(f"v=1&a=survey.open&s={sid}")
    return chat.tap_label(card, "はじめる")


def test_every_kind_end_to_end_then_double_submit(city, emulator, user_id):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    listed = chat.tap("v=1&a=survey")
    assert listed[0]["text"] == "いま回答できるアンケートです。"
    assert "協働についてのアンケート" in texts(listed) and "未回答" in texts(listed)
    card = chat.tap_label(listed, "くわしく")
    body = all_text(card)
    assert "このアンケートは無記名です。回答とあなたのLINEアカウントは結びつけられません。" in body
    assert "質問：7問" in body and "締切：6月10日（水）12:00" in body and "5分ほどで終わります。" in body

    q1 = chat.tap_label(card, "はじめる")
    assert q1[-1]["text"].startswith("【1/7】市の協働の取り組みを知っていますか。")
    assert quick_labels(q1[-1]) == ["はい", "いいえ", "戻る", "中断"]
    q2 = chat.tap_label(q1, "はい")
    assert q2[-1]["type"] == "flex" and "2/7" in texts(q2) and "次へ（選択なし）" in [a["label"] for a in actions_in(q2)]
    q2 = chat.tap_label(q2, "☐ 広報紙")
    q2 = chat.tap_label(q2, "☐ LINE")
    assert "☑ 広報紙" in texts(q2) and "選択中：広報紙、LINE" in texts(q2)
    over = chat.tap_label(q2, "☐ 回覧板")
    assert over[0]["text"].startswith("選べるのは2つまでです。") and "☐ 回覧板" in texts(over)
    q3 = chat.tap_label(over, "次へ（2つ選択中）")
    assert "1（不満）〜5（満足）" in q3[-1]["text"]
    assert quick_labels(q3[-1]) == ["1", "2", "3", "4", "5", "戻る", "中断"]
    q4 = chat.tap_label(q3, "4")
    assert q4[-1]["text"].startswith("【4/7】年齢を教えてください。（任意）") and "スキップ" in quick_labels(q4[-1])
    again = chat.say("たくさん")
    assert again[0]["text"] == "0歳から120歳までの数字で入力してください。" and again[1]["text"].startswith("【4/7】")
    again = chat.say("130")
    assert again[0]["text"] == "0歳から120歳までの数字で入力してください。"
    q5 = chat.say("３０歳")  # full-width digits and the unit
    assert q5[-1]["text"].startswith("【5/7】ご意見があればどうぞ。") and "100文字以内" in q5[-1]["text"]
    too_long = chat.say("あ" * 101)
    assert "100文字以内でお願いします（いまは101文字です）。" == too_long[0]["text"]
    q6 = chat.tap_label(q5, "スキップ")
    assert q6[-1]["text"].startswith("【6/7】")
    q7 = pick_date(chat, q6, "2026-12-01")
    assert q7[0]["text"].startswith("【7/7】お住まいの地区を選んでください。")
    carousel = q7[1]["contents"]
    assert carousel["type"] == "carousel" and len(carousel["contents"]) > 1  # kana groups, as in 設定
    confirm = chat.tap_label(q7, "国府津")
    shown = texts(confirm)
    assert "回答の確認" in shown
    for answer in ("はい", "広報紙、LINE", "4", "30歳", "（回答なし）", "2026年12月1日", "国府津"):
        assert answer in shown, answer
    done = chat.tap_label(confirm, "送信する")
    assert done[0]["text"] == "回答を送信しました。ご協力ありがとうございました。"
    twice = chat.tap_label(confirm, "送信する")
    assert twice[0]["text"] == "回答済みです。ご協力ありがとうございました。"

    (row,) = responses(city, sid)
    assert row.status == SUBMITTED and row.user_id is None
    assert row.answers == {"q1": 0, "q2": [0, 1], "q3": 4, "q4": 30, "q5": None, "q6": "2026-12-01", "q7": "kozu"}
    assert "回答済み" in texts(chat.tap("v=1&a=survey"))
    assert chat.tap(f"v=1&a=survey.start&s={sid}")[0]["text"] == "回答済みです。ご協力ありがとうございました。"


def test_skip_rule_and_back_across_a_branch(city, emulator, user_id):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    q2 = chat.tap_label(start(chat, sid), "はい")
    q3 = chat.tap_label(chat.tap_label(q2, "☐ 回覧板"), "次へ（1つ選択中）")
    q4 = chat.tap_label(q3, "2")
    back3 = chat.tap_label(q4, "戻る")
    assert back3[-1]["text"].startswith("【3/7】") and "前回の回答：2" in back3[-1]["text"]
    assert "✓ 2" in quick_labels(back3[-1])
    back2 = chat.tap_label(back3, "戻る")
    assert "☑ 回覧板" in texts(back2)
    back1 = chat.tap_label(back2, "戻る")
    assert "前回の回答：はい" in back1[-1]["text"] and "✓ はい" in quick_labels(back1[-1])
    q4 = chat.tap_label(back1, "いいえ")  # いいえ skips q2 and q3
    assert q4[-1]["text"].startswith("【4/7】")
    chat.say("20")
    chat.say("駅前にベンチがほしいです")
    chat.say("12月5日")           # a typed date: the next 5 December
    confirm = chat.say("国府津")  # a typed 地区
    shown = all_text(confirm)
    assert "回覧板" not in shown and "Q2" not in shown and "Q3" not in shown and "2026年12月5日" in shown
    chat.tap_label(confirm, "送信する")
    (row,) = responses(city, sid)
    assert row.answers == {"q1": 1, "q4": 20, "q5": "駅前にベンチがほしいです", "q6": "2026-12-05", "q7": "kozu"}


def test_reask_pause_rich_menu_and_resume_a_day_later(city, emulator, user_id):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    q1 = start(chat, sid)
    again = chat.say("たぶん")
    assert again[0]["text"] == "ボタンから選んでください。" and again[1]["text"].startswith("【1/7】")
    q2 = chat.say("はい")  # an option typed is an answer
    assert "2/7" in texts(q2)
    paused = chat.say("やめる")
    assert paused[0]["text"] == ("アンケートを中断しました。続きは「アンケート」からいつでも再開できます"
                                 "（締切 6月10日（水）12:00）。")
    chat.say("広報紙")  # no longer an answer
    (row,) = responses(city, sid)
    assert row.current == "q2" and "q2" not in row.pending

    resumed = chat.tap(f"v=1&a=survey.start&s={sid}")
    assert resumed[0]["text"] == "前回の続きからです。" and "2/7" in texts(resumed)
    chat.tap("v=1&a=events")  # the rich menu: the survey pauses
    chat.say("回覧板")
    (row,) = responses(city, sid)
    assert row.current == "q2" and "q2" not in row.pending

    q2 = chat.tap(f"v=1&a=survey.start&s={sid}")
    volunteer = chat.say("ボランティア")  # another feature's words: paused and answered by it
    assert "2/7" not in texts(volunteer) and "ボランティア" in all_text(volunteer)

    city.clock.set(NOON + timedelta(days=1, hours=1))  # a day later: the conversation state has expired
    listed = chat.tap("v=1&a=survey")
    assert "回答中（2/7）" in texts(listed)
    card = chat.tap_label(listed, "くわしく")
    resumed = chat.tap_label(card, "続きから")
    assert resumed[0]["text"] == "前回の続きからです。" and "2/7" in texts(resumed)
    q3 = chat.tap_label(chat.tap_label(resumed, "☐ LINE"), "次へ（1つ選択中）")
    assert q3[-1]["text"].startswith("【3/7】")
    old = chat.tap_label(q1, "いいえ")  # a button of an earlier question
    assert old[0]["text"] == "そのボタンは前の質問のものです。いまの質問はこちらです。"
    assert old[1]["text"].startswith("【3/7】")
    (row,) = responses(city, sid)
    assert row.pending["q1"] == 0 and row.current == "q3" and row.status == IN_PROGRESS


def test_closing_mid_answer_records_nothing(city, emulator, user_id):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    q2 = chat.tap_label(start(chat, sid), "はい")
    city.clock.set(NOON + timedelta(days=8))  # closes_at was NOON + 7 days
    closed = chat.tap_label(q2, "☐ 広報紙")
    assert closed[0]["text"] == "このアンケートは締め切りました。ご協力ありがとうございました。"
    typed = chat.say("広報紙")
    assert "締め切りました" not in all_text(typed)  # the state was cleared: not taken as an answer
    assert chat.tap(f"v=1&a=survey.submit&s={sid}")[0]["text"].startswith("このアンケートは締め切りました。")
    (row,) = responses(city, sid)
    assert row.status == IN_PROGRESS and row.pending == {"q1": 0} and row.answers == {}
    assert chat.tap("v=1&a=survey")[0]["text"] == "いま回答できるアンケートはありません。"


def _answer_quickly(chat: Chat, sid: int) -> list[dict]:
    chat.tap_label(start(chat, sid), "いいえ")
    chat.say("40")
    chat.say("とくになし")
    chat.say("2026-12-01")
    return chat.say("緑")


def test_edit_when_allowed_and_not_otherwise(city, emulator, user_id):
    sid = make(city, allow_edit=True, anonymous=False)
    fixed = make(city, title="修正できないアンケート")
    chat = Chat(city, emulator, user_id)
    chat.tap_label(_answer_quickly(chat, sid), "送信する")
    chat.tap_label(_answer_quickly(chat, fixed), "送信する")
    listed = chat.tap("v=1&a=survey")
    assert "回答済み（修正できます）" in texts(listed) and "回答済み" in texts(listed)
    card = chat.tap(f"v=1&a=survey.open&s={sid}")
    assert "記名式のアンケートです。回答は調査チームが確認します。退会すると回答も削除されます。" in texts(card)
    q1 = chat.tap_label(card, "回答を修正する")
    assert q1[0]["text"].startswith("前回の回答を表示しています。") and "✓ いいえ" in quick_labels(q1[-1])
    q4 = chat.tap_label(q1, "✓ いいえ")
    assert "前回の回答：40歳" in q4[-1]["text"] and "前回のまま" in quick_labels(q4[-1])
    chat.say("41")
    q6 = chat.tap_label(chat.tap(f"v=1&a=survey.start&s={sid}"), "前回のまま")  # q5 as it was
    q7 = chat.tap_label(q6, "前回のまま")
    confirm = chat.tap_label(q7, "前回のまま")
    with city.rt.sessions() as db:  # the old answers still count until the new ones are sent
        row = db.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == sid))
        assert row.answers["q4"] == 40 and row.editing
        user = db.scalar(select(User).where(User.line_user_id == user_id))
        assert row.user_id == user.id  # a named survey
    assert chat.tap_label(confirm, "送信する")[0]["text"] == "回答を修正しました。ご協力ありがとうございました。"
    (row,) = responses(city, sid)
    assert row.answers == {"q1": 1, "q4": 41, "q5": "とくになし", "q6": "2026-12-01", "q7": "midori"}
    assert not row.editing and row.status == SUBMITTED
    refused = chat.tap(f"v=1&a=survey.edit&s={fixed}")
    assert refused[0]["text"] == "このアンケートは、送信したあとの修正はできません。"
    assert chat.tap(f"v=1&a=survey.start&s={fixed}")[0]["text"] == "回答済みです。ご協力ありがとうございました。"


def test_a_segment_the_resident_is_not_in(city, emulator, user_id):
    sid = make(city, segment={"districts": ["kozu"]})
    chat = Chat(city, emulator, user_id)
    assert chat.tap("v=1&a=survey")[0]["text"] == "いま回答できるアンケートはありません。"
    refused = chat.tap(f"v=1&a=survey.start&s={sid}")
    assert refused[0]["text"] == "申し訳ありません。このアンケートは対象の方にお願いしているものです。"
    assert responses(city, sid) == []
    with city.rt.sessions() as db:
        uid = db.scalar(select(User.id).where(User.line_user_id == user_id))
        db.add(SubscribedDistrict(user_id=uid, district="kozu"))
        db.commit()
    assert "協働についてのアンケート" in texts(chat.tap("v=1&a=survey"))
    assert chat.say("アンケート")[0]["text"].startswith("いま回答できるアンケートです。")


def test_a_long_list_pages_and_the_confirmation_goes_back(city, emulator, user_id):
    options = [f"選択肢{i}" for i in range(1, 14)]
    sid = make(city, questions=[dict(key="q1", kind=SINGLE, text="いちばん近い施設は？", options=options)])
    chat = Chat(city, emulator, user_id)
    page1 = start(chat, sid)
    assert page1[-1]["type"] == "flex" and "1〜10番目の選択肢（全13）" in texts(page1)
    assert quick_labels(page1[-1]) == ["戻る", "中断"]
    page2 = chat.tap_label(page1, "次の選択肢")
    assert "11〜13番目の選択肢（全13）" in texts(page2) and "前の選択肢" in [a["label"] for a in actions_in(page2)]
    confirm = chat.tap_label(page2, "12. 選択肢12")
    assert "選択肢12" in texts(confirm)
    back = chat.tap_label(confirm, "戻る")
    assert "前回の回答：選択肢12" in all_text(back)
    confirm = chat.tap_label(back, "1. 選択肢1")
    redo = chat.tap_label(confirm, "最初から直す")
    assert "1/1" in texts(redo)
    confirm = chat.tap_label(redo, "3. 選択肢3")
    chat.tap_label(confirm, "送信する")
    (row,) = responses(city, sid)
    assert row.answers == {"q1": 2}


def test_required_questions_cannot_be_skipped_and_need_a_choice(city, emulator, user_id):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    q2 = chat.tap_label(start(chat, sid), "はい")
    empty = chat.tap_label(q2, "次へ（選択なし）")
    assert empty[0]["text"] == "ひとつ以上選んでください。" and "2/7" in texts(empty)
    skip = chat.tap(f"v=1&a=survey.skip&s={sid}&q=q2")
    assert skip[0]["text"] == "この質問は回答が必要です。"
    pause = chat.tap_label(q2, "中断")
    assert pause[0]["text"].startswith("アンケートを中断しました。")
    assert action(pause, "続きから")["data"] == f"v=1&a=survey.start&s={sid}"
    (row,) = responses(city, sid)
    assert row.current == "q2" and row.pending == {"q1": 0}


@pytest.mark.parametrize("word", ["中断", "終わる"])
def test_other_stop_words(city, emulator, user_id, word):
    sid = make(city)
    chat = Chat(city, emulator, user_id)
    start(chat, sid)
    assert chat.say(word)[0]["text"].startswith("アンケートを中断しました。")
