"""The 退会 confirmation for a resident who may only want fewer messages (「もう使わないと思います」): its buttons say
削除する / 削除しない, and 通知だけ止める stops notifications through the settings feature's own 通知を停止 (data kept);
after that, a typed 「はい」 deletes nothing."""
from __future__ import annotations

from sqlalchemy import select

from models.subscriptions import Preference
from models.users import User
from tests.helpers import quick_labels


def _ask(bot, emulator, user_id, text: str) -> dict:
    emulator.send_follow(user_id)
    emulator.send_text(user_id, text)
    bot.settle()
    return emulator.messages_for(user_id)[-1]


def test_the_confirmation_says_what_each_button_does_and_offers_stopping_notifications(bot, emulator, user_id):
    confirm = _ask(bot, emulator, user_id, "もう使わないと思います")
    assert confirm["type"] == "template" and confirm["template"]["type"] == "confirm"
    assert [a["label"] for a in confirm["template"]["actions"]] == ["削除する", "削除しない"]
    assert "通知だけ止める" in confirm["template"]["text"]
    assert quick_labels(confirm) == ["通知だけ止める"]
    mute = confirm["quickReply"]["items"][0]["action"]
    assert mute["data"] == "v=1&a=settings.stop"  # the settings feature's own action, not a copy


def test_stopping_notifications_keeps_the_data_and_ends_the_confirmation(bot, emulator, user_id):
    confirm = _ask(bot, emulator, user_id, "退会")
    emulator.send_postback(user_id, confirm["quickReply"]["items"][0]["action"]["data"])
    bot.settle()
    assert "通知を停止しました" in emulator.messages_for(user_id)[-1]["text"]
    emulator.send_text(user_id, "はい")  # no longer an answer to the 退会 question
    bot.settle()
    assert "削除しました" not in emulator.messages_for(user_id)[-1].get("text", "")
    with bot.rt.sessions() as db:
        user = db.scalar(select(User).where(User.line_user_id == user_id))
        assert user is not None and db.get(Preference, user.id).frequency == "off"


def test_typed_削除しない_keeps_everything(bot, emulator, user_id):
    _ask(bot, emulator, user_id, "退会")
    emulator.send_text(user_id, "削除しない")
    bot.settle()
    assert "取りやめました" in emulator.messages_for(user_id)[-1]["text"]
    with bot.rt.sessions() as db:
        assert db.scalar(select(User).where(User.line_user_id == user_id)) is not None
