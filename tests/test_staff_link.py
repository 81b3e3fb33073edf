"""A staff member links their own LINE account for テスト配信, end to end: the admin page over real HTTP
gives a one-time code, the code goes to the bot as a signed webhook text from the emulator, the bot
answers in Japanese and links; expired, wrong, reused and guessed codes; unlinking; the resident's
deletion removes the link; everything audit-logged."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot.admin.staff_link import MAX_FAILURES, code_hash, linked_user
from models.accounts import Account, AuditEntry
from models.staff_link import StaffLink, StaffLinkCode, StaffLinkFailure
from models.users import User
from tests.helpers import leave_buttons
from tests.live_admin import live_admin_bot, staff_env  # noqa: F401  (fixtures)

CODE_RE = re.compile(r'<code id="link-code">連携 (\d{6})</code>')
LINKED = "管理画面のアカウントと、このLINEを連携しました。"
WRONG = "連携できませんでした。コードが違うか、有効期限（10分）が過ぎています。"
THROTTLED = "続けて間違えたため、しばらく受け付けを止めています。"


def ask_code(client) -> str:
    r = client.post("/admin/line-link/code", token_from="/admin/line-link")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    m = CODE_RE.search(r.text)
    assert m, r.text
    return m.group(1)


def follow(bot, emulator, user: str) -> None:
    emulator.send_follow(user)
    bot.settle()


def say(bot, emulator, user: str, text: str) -> str:
    before = len(emulator.messages_for(user))
    emulator.send_text(user, text)
    bot.settle()
    msgs = emulator.messages_for(user)[before:]
    assert len(msgs) == 1, msgs
    return msgs[0]["text"]


def linked_line_id(bot, account_id: int) -> str | None:
    with bot.rt.sessions() as db:
        user = linked_user(db, db.get(Account, account_id))
        return user.line_user_id if user is not None else None


def actions(bot, action_prefix: str = "staff_link.") -> list[tuple[str, int | None, str | None]]:
    with bot.rt.sessions() as db:
        return [(e.action, e.actor_id, e.object_id) for e in db.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith(action_prefix)).order_by(AuditEntry.id))]


def test_code_from_the_admin_sent_to_the_bot_links_that_line_account(staff_env, emulator, user_id):
    bot, ids, login = staff_env
    staff = login("staff")
    page = staff.get("/admin/line-link").text
    assert "まだ連携していません。" in page and "連携コードを出す" in page
    code = ask_code(staff)
    with bot.rt.sessions() as db:  # only a keyed hash is stored, never the code
        [row] = db.scalars(select(StaffLinkCode)).all()
        assert row.account_id == ids["staff"] and code not in row.code_hash
        assert row.code_hash == code_hash(code, bot.rt.config.secret_key)
    follow(bot, emulator, user_id)
    # Full-width digits and a space, as a phone keyboard may type them.
    wide = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert say(bot, emulator, user_id, f"連携　{wide[:3]} {wide[3:]}").startswith(LINKED)
    assert linked_line_id(bot, ids["staff"]) == user_id
    page = staff.get("/admin/line-link").text
    assert "連携済み" in page and "連携を解除する" in page
    # Single use: the same code from someone else links nothing.
    other = user_id[:-4] + "beef"
    follow(bot, emulator, other)
    assert say(bot, emulator, other, f"連携 {code}").startswith(WRONG)
    assert linked_line_id(bot, ids["staff"]) == user_id
    assert actions(bot) == [("staff_link.code", ids["staff"], str(ids["staff"])),
                            ("staff_link.link", ids["staff"], str(ids["staff"]))]


def test_expired_and_wrong_codes_get_one_answer_and_a_new_code_replaces_the_old(staff_env, emulator, user_id):
    bot, ids, login = staff_env
    org = login("orga")  # an organisation account links too, for its own tests
    code = ask_code(org)
    follow(bot, emulator, user_id)
    bot.clock.advance(minutes=10, seconds=1)
    expired = say(bot, emulator, user_id, f"連携 {code}")
    wrong = say(bot, emulator, user_id, f"連携 {(int(code) + 1) % 1_000_000:06d}")
    assert expired == wrong and expired.startswith(WRONG)  # nothing tells which
    first = ask_code(org)
    second = ask_code(org)
    with bot.rt.sessions() as db:
        assert len(db.scalars(select(StaffLinkCode)).all()) == 1
    if first != second:
        assert say(bot, emulator, user_id, f"連携 {first}").startswith(WRONG)
    assert say(bot, emulator, user_id, f"LINE連携コード：{second}").startswith(LINKED)
    assert linked_line_id(bot, ids["orga"]) == user_id


def test_guesses_are_limited_per_line_user(staff_env, emulator, user_id):
    bot, ids, login = staff_env
    staff = login("staff")
    code = ask_code(staff)
    follow(bot, emulator, user_id)
    guesses = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, MAX_FAILURES + 1)]
    for guess in guesses:
        assert say(bot, emulator, user_id, f"連携 {guess}").startswith(WRONG)
    # Over the limit, even the right code is not looked at.
    assert say(bot, emulator, user_id, f"連携 {code}").startswith(THROTTLED)
    assert linked_line_id(bot, ids["staff"]) is None
    # Another LINE user is not affected.
    other = user_id[:-4] + "cafe"
    follow(bot, emulator, other)
    assert say(bot, emulator, other, f"連携 {code}").startswith(LINKED)
    # After the window, the first user may try again (with a fresh code).
    bot.clock.advance(minutes=16)
    code = ask_code(staff)
    assert say(bot, emulator, user_id, f"連携 {code}").startswith(LINKED)
    assert linked_line_id(bot, ids["staff"]) == user_id  # moved to this LINE account
    with bot.rt.sessions() as db:
        assert db.scalars(select(StaffLinkFailure)).all() == []
        assert len(db.scalars(select(StaffLink)).all()) == 1
    assert [a for a, *_ in actions(bot)].count("staff_link.throttled") == 1


def test_ordinary_messages_are_not_taken_for_codes(staff_env, emulator, user_id):
    bot, ids, login = staff_env
    staff = login("staff")
    code = ask_code(staff)
    follow(bot, emulator, user_id)
    for text in (code, f"連携 {code} です", "連携", "協働と連携について"):
        assert not say(bot, emulator, user_id, text).startswith((LINKED, WRONG, THROTTLED)), text
    assert linked_line_id(bot, ids["staff"]) is None
    with bot.rt.sessions() as db:
        assert db.scalars(select(StaffLinkFailure)).all() == []


def test_unlink_from_the_admin_and_roles(staff_env, emulator, user_id):
    bot, ids, login = staff_env
    staff = login("staff")
    follow(bot, emulator, user_id)
    assert say(bot, emulator, user_id, f"連携 {ask_code(staff)}").startswith(LINKED)
    r = staff.post("/admin/line-link/unlink", token_from="/admin/line-link")
    assert r.status_code == 302 and r.headers["Location"] == "/admin/line-link"
    assert "LINEとの連携を解除しました。" in staff.get("/admin/line-link").text
    assert linked_line_id(bot, ids["staff"]) is None
    assert [a for a, *_ in actions(bot)] == ["staff_link.code", "staff_link.link", "staff_link.unlink"]
    r = staff.post("/admin/line-link/unlink", csrf=False)
    assert r.status_code == 400
    survey = login("survey")
    assert survey.get("/admin/line-link").status_code == 403
    assert survey.post("/admin/line-link/code").status_code == 403


def test_the_link_goes_when_the_resident_deletes_their_data(staff_env, emulator, user_id):
    bot, ids, login = staff_env
    staff = login("staff")
    follow(bot, emulator, user_id)
    assert say(bot, emulator, user_id, f"連携 {ask_code(staff)}").startswith(LINKED)
    yes, _no = leave_buttons(bot, emulator, user_id)
    emulator.send_postback(user_id, yes["data"])
    bot.settle()
    with bot.rt.sessions() as db:
        assert db.scalar(select(User).where(User.line_user_id == user_id)) is None
        assert db.scalars(select(StaffLink)).all() == []
    assert linked_line_id(bot, ids["staff"]) is None
    assert actions(bot)[-1] == ("staff_link.unlink", None, str(ids["staff"]))
    assert "まだ連携していません。" in staff.get("/admin/line-link").text


def test_a_blocked_linked_account_is_shown(staff_env, emulator, user_id):
    bot, ids, login = staff_env
    staff = login("staff")
    follow(bot, emulator, user_id)
    assert say(bot, emulator, user_id, f"連携 {ask_code(staff)}").startswith(LINKED)
    emulator.send_unfollow(user_id)
    bot.settle()
    assert "いまこのアカウントをブロックしています" in staff.get("/admin/line-link").text
