"""What the privacy tests share: two residents who follow the bot, finding a resident by LINE id, and deleting
one's data through LINE (退会 → はい) as a resident does it."""
from __future__ import annotations

from sqlalchemy import select

from models.users import User


def user_by_line(db, line_id: str) -> User | None:
    return db.scalar(select(User).where(User.line_user_id == line_id))


def two_followers(bot, emulator) -> tuple[str, str]:
    """Two new residents who have followed the bot (the webhooks handled): their LINE ids, the leaver first."""
    from emulator import new_user_id

    leaver, other = new_user_id(), new_user_id()
    for line_id in (leaver, other):
        emulator.send_follow(line_id)
    bot.settle()
    return leaver, other


def delete_on_line(bot, emulator, line_id: str) -> None:
    """退会, then the confirmation's first button; the bot says the data is gone."""
    emulator.send_text(line_id, "退会")
    bot.settle()
    yes = emulator.messages_for(line_id)[-1]["template"]["actions"][0]
    emulator.send_postback(line_id, yes["data"])
    bot.settle()
    assert "削除しました" in emulator.messages_for(line_id)[-1]["text"]
