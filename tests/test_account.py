"""Follow, unfollow, help, not-understood and leaving, through signed webhooks and the emulator."""
from __future__ import annotations

from sqlalchemy import func, select

from models.conversation import ConversationState
from models.outbox import OutboxBatch
from models.users import User
from models.webhook import WebhookEvent
from tests.helpers import leave_buttons, quick_labels


def _user(bot, user_id):
    with bot.rt.sessions() as db:
        return db.scalar(select(User).where(User.line_user_id == user_id))


def test_follow_greets_with_main_menu_and_stores_user(bot, emulator, user_id):
    emulator.send_follow(user_id)
    bot.settle()
    msg = emulator.messages_for(user_id)[0]  # then the once-only question (tests/test_settings.py)
    assert "友だち追加ありがとうございます" in msg["text"]
    assert quick_labels(msg)[:6] == ["プロジェクト", "こどもの居場所", "イベント", "ボランティア", "アンケート", "設定"]
    u = _user(bot, user_id)
    assert u.active and u.followed_at is not None


def test_unfollow_marks_inactive_and_refollow_welcomes_back(bot, emulator, user_id):
    emulator.send_follow(user_id)
    emulator.send_unfollow(user_id)
    bot.settle()
    assert _user(bot, user_id).active is False
    assert len(emulator.sent(user=user_id)) == 1  # nothing answers an unfollow
    emulator.send_follow(user_id)
    bot.settle()
    assert _user(bot, user_id).active is True
    assert "おかえりなさい" in emulator.messages_for(user_id)[-1]["text"]


def test_help_and_gibberish_never_get_silence(bot, emulator, user_id):
    emulator.send_text(user_id, "ヘルプ")
    emulator.send_text(user_id, "ｱｓｄｆｇｈ")
    emulator.send_sticker = getattr(emulator, "send_sticker", None)
    bot.settle()
    help_msg, unknown = emulator.messages_for(user_id)
    assert "使い方" in help_msg["text"]
    assert "読み取れません" in unknown["text"] and "プロジェクト" in quick_labels(unknown)


def test_stale_or_foreign_postback_is_answered_politely(bot, emulator, user_id):
    emulator.send_postback(user_id, "v=0&a=old")
    emulator.send_postback(user_id, "hello world")
    emulator.send_postback(user_id, "v=1&a=no.such.action")
    bot.settle()
    assert all("古くなっています" in m["text"] for m in emulator.messages_for(user_id))


def test_leave_asks_then_deletes_personal_data(bot, emulator, user_id):
    emulator.send_follow(user_id)
    emulator.send_text(user_id, "退会")
    bot.settle()
    confirm = emulator.messages_for(user_id)[-1]
    assert confirm["type"] == "template" and confirm["template"]["type"] == "confirm"
    yes = confirm["template"]["actions"][0]
    emulator.send_postback(user_id, yes["data"])
    bot.settle()
    assert "削除しました" in emulator.messages_for(user_id)[-1]["text"]
    with bot.rt.sessions() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 0
        assert db.scalar(select(func.count()).select_from(ConversationState)) == 0
        assert db.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.user_key != "deleted")) == 0
        assert all(b.recipients is None for b in db.scalars(select(OutboxBatch)))


def test_leave_can_be_cancelled_and_a_late_yes_deletes_nothing(bot, emulator, user_id):
    emulator.send_text(user_id, "データ削除")
    bot.settle()
    confirm = emulator.messages_for(user_id)[-1]
    yes, no = confirm["template"]["actions"]
    emulator.send_postback(user_id, no["data"])
    emulator.send_postback(user_id, yes["data"])  # the question is no longer open
    bot.settle()
    cancelled, expired = emulator.messages_for(user_id)[-2:]
    assert "取りやめました" in cancelled["text"] and "もう一度" in expired["text"]
    assert _user(bot, user_id) is not None


def test_leave_confirmation_expires(bot, emulator, user_id):
    from datetime import timedelta

    emulator.send_text(user_id, "退会")
    bot.settle()
    yes = emulator.messages_for(user_id)[-1]["template"]["actions"][0]
    bot.clock.set(bot.rt.now() + timedelta(minutes=11))
    emulator.send_postback(user_id, yes["data"])
    bot.settle()
    assert "時間が過ぎました" in emulator.messages_for(user_id)[-1]["text"]
    assert _user(bot, user_id) is not None


def test_every_reply_passes_line_limits(bot, emulator, user_id):
    from emulator.limits import check_messages

    for t in ("ヘルプ", "退会", "こんにちは", "？？", "プロジェクト", "イベント"):
        emulator.send_text(user_id, t)
    bot.settle()
    records = emulator.sent(user=user_id)
    assert len(records) == 6
    for r in records:
        assert check_messages(r["messages"]) == []


def test_an_old_delete_button_after_leaving_says_the_data_is_already_deleted(bot, emulator, user_id):
    yes = leave_buttons(bot, emulator, user_id)[0]
    emulator.send_postback(user_id, yes["data"])
    bot.settle()
    assert "削除しました" in emulator.messages_for(user_id)[-1]["text"]
    emulator.send_postback(user_id, yes["data"])  # the same button, tapped again later
    bot.settle()
    answer = emulator.messages_for(user_id)[-1]["text"]
    assert "すでに削除されています" in answer and "時間が過ぎました" not in answer
    with bot.rt.sessions() as db:  # answering the tap stored nothing about them again
        assert db.scalar(select(func.count()).select_from(User)) == 0
        assert db.scalar(select(func.count()).select_from(ConversationState)) == 0
    emulator.send_text(user_id, "ヘルプ")  # and they can come back at any time
    bot.settle()
    assert "使い方" in emulator.messages_for(user_id)[-1]["text"] and _user(bot, user_id) is not None


def test_an_old_cancel_button_after_leaving_does_not_pretend_the_data_is_kept(bot, emulator, user_id):
    yes, no = leave_buttons(bot, emulator, user_id)
    emulator.send_postback(user_id, yes["data"])
    bot.settle()
    emulator.send_postback(user_id, no["data"])  # the old 「やめる」, tapped after the data is gone
    bot.settle()
    answer = emulator.messages_for(user_id)[-1]["text"]
    assert "すでに削除されています" in answer and "取りやめました" not in answer
    with bot.rt.sessions() as db:  # no row is kept for this tap...
        assert db.scalar(select(func.count()).select_from(User)) == 0
        assert db.scalar(select(func.count()).select_from(ConversationState)) == 0
    emulator.send_postback(user_id, yes["data"])  # ...so the old 「削除する」 still tells the truth
    bot.settle()
    answer = emulator.messages_for(user_id)[-1]["text"]
    assert "すでに削除されています" in answer and "時間が過ぎました" not in answer


def test_cancel_without_a_pending_question_says_the_check_is_over(bot, emulator, user_id):
    from bot.postback import encode

    emulator.send_text(user_id, "ヘルプ")  # a resident who never asked to leave
    emulator.send_postback(user_id, encode("leave.no"))
    bot.settle()
    msg = emulator.messages_for(user_id)[-1]
    assert "退会の確認は終わっています" in msg["text"] and "取りやめました" not in msg["text"]
    assert quick_labels(msg)[0] == "プロジェクト"
    assert _user(bot, user_id) is not None  # their data stays


def test_greeting_names_what_the_account_does_and_nothing_as_still_coming(bot, emulator, user_id):
    emulator.send_follow(user_id)
    bot.settle()
    greeting = emulator.messages_for(user_id)[0]["text"]
    assert "今年度の予定" in greeting and "今年の" not in greeting
    assert "準備中" not in greeting
    assert all(w in greeting for w in ("プロジェクト", "こどもの居場所", "イベント", "ボランティア", "アンケート"))


def test_help_offers_leaving_as_a_button_and_no_feature_still_to_come(bot, emulator, user_id):
    emulator.send_text(user_id, "ヘルプ")
    bot.settle()
    msg = emulator.messages_for(user_id)[-1]
    assert "設定" not in msg["text"] and len(msg["text"]) < 160
    leave = next(i["action"] for i in msg["quickReply"]["items"] if i["action"]["label"] == "退会・データ削除")
    emulator.send_postback(user_id, leave["data"])
    bot.settle()
    assert emulator.messages_for(user_id)[-1]["template"]["type"] == "confirm"


def test_after_deleting_the_last_answer_still_has_a_way_back(bot, emulator, user_id):
    yes, _ = leave_buttons(bot, emulator, user_id)
    emulator.send_postback(user_id, yes["data"])
    bot.settle()
    done = emulator.messages_for(user_id)[-1]
    assert "削除しました" in done["text"] and "「メニュー」を押して" in done["text"]
    [back] = [i["action"] for i in done["quickReply"]["items"]]
    with bot.rt.sessions() as db:  # offering the button stores nothing
        assert db.scalar(select(func.count()).select_from(User)) == 0
    emulator.send_postback(user_id, back["data"])
    bot.settle()
    assert "使い方" in emulator.messages_for(user_id)[-1]["text"]
