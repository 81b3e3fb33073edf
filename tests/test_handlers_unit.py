"""Conversation logic as plain functions: no HTTP, no LINE, a real database session."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from bot.postback import PostbackError, decode, encode
from handlers.router import TABLES, handle_event
from tests.conftest import wipe


@pytest.fixture
def rt(live_bot):
    wipe(live_bot.rt)
    now = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
    return SimpleNamespace(now=lambda: now, config=live_bot.rt.config, sessions=live_bot.rt.sessions)


def _run(rt, body):
    with rt.sessions() as db:
        out = handle_event(rt, db, body)
        db.commit()
        return out


def _ev(kind, **kw):
    return {"type": kind, "timestamp": 0, "webhookEventId": "E", "source": {"type": "user", "userId": "U" + "1" * 32}, **kw}


def test_text_routes_through_intent_table(rt):
    out = _run(rt, _ev("message", message={"type": "text", "text": "へるぷ！！"}))
    assert "使い方" in out.replies[0]["text"]


def test_unknown_text_offers_menu(rt):
    out = _run(rt, _ev("message", message={"type": "text", "text": "asdfgh"}))  # nothing to read
    assert "読み取れません" in out.replies[0]["text"]
    assert len(out.replies[0]["quickReply"]["items"]) >= 6
    out = _run(rt, _ev("message", message={"type": "text", "text": "今日の天気は？"}))  # read, and not ours
    assert "お答えできません" in out.replies[0]["text"] and "読み取れません" not in out.replies[0]["text"]
    assert len(out.replies[0]["quickReply"]["items"]) >= 6


def test_sticker_and_image_get_a_kind_answer(rt):
    for m in ({"type": "sticker", "packageId": "1", "stickerId": "1"}, {"type": "image", "id": "1"}):
        out = _run(rt, _ev("message", message=m))
        assert out.replies and "ボタン" in out.replies[0]["text"]


def test_group_events_are_ignored(rt):
    out = _run(rt, {**_ev("message", message={"type": "text", "text": "ヘルプ"}), "source": {"type": "group", "groupId": "G"}})
    assert out.replies == [] and out.line_user_id is None


def test_every_main_menu_action_has_a_handler():
    from handlers.menu import MAIN_MENU

    for _label, action in MAIN_MENU:
        assert action in TABLES["POSTBACKS"], action


def test_postback_codec_round_trip_and_rejects_free_text():
    data = encode("plan.action", id=101, p=2)
    assert data == "v=1&a=plan.action&id=101&p=2"
    pb = decode(data)
    assert pb.action == "plan.action" and pb.int("id") == 101 and pb.int("p") == 2
    for bad in ("", "hello", "a=x", "v=1", "x" * 301):
        with pytest.raises(PostbackError):
            decode(bad)
    with pytest.raises(PostbackError):
        encode("a&b")
    with pytest.raises(PostbackError):
        encode("x", q="y" * 300)
    for own in ("v", "a"):  # the codec's version and action: a parameter of that name would replace them
        with pytest.raises(PostbackError):
            encode("survey.a", **{own: 0})


def test_missing_secrets_stop_startup_with_one_line():
    from bot.config import ConfigError, from_env, require_secrets

    cfg = from_env({"DATABASE_URL": "sqlite://"})
    with pytest.raises(ConfigError) as e:
        require_secrets(cfg)
    assert "LINE_CHANNEL_SECRET" in str(e.value) and "\n" not in str(e.value)
    demo = from_env({"KYODO_DEMO": "1"})
    require_secrets(demo)  # demo mode has throwaway secrets


def test_logs_never_show_user_ids(live_bot, emulator, caplog):
    import logging

    from emulator import new_user_id

    uid = new_user_id()
    caplog.set_level(logging.DEBUG)
    emulator.webhook_url = live_bot.url + "/callback"
    emulator.send_text(uid, "ヘルプ")
    emulator.send_text(uid, "退会")
    live_bot.settle()
    assert uid not in caplog.text
    assert "ヘルプ" not in caplog.text and "退会" not in caplog.text


def test_logs_never_show_user_ids_on_error_paths(bot, emulator, caplog, monkeypatch):
    """A handler that raises quoting the resident, a database error echoing the id, a poison event: each
    resident is still answered, and neither the log nor the stored error shows an id or a text."""
    import json
    import logging

    from sqlalchemy import select

    import handlers.router as router
    from emulator import new_user_id
    from models.users import User
    from models.webhook import WebhookEvent
    from tests.helpers import post, sign, text_event

    secrets = {"raise": "例外になる秘密の文", "duplicate": "重複になる秘密の文", "poison": "毒になる秘密の文"}
    raising, duplicating, poisoned = new_user_id(), new_user_id(), new_user_id()
    real = router.handle_event

    def failing(rt, db, body):
        text, line_id = body["message"]["text"], body["source"]["userId"]
        if text == secrets["raise"]:
            raise ValueError(f"cannot parse {text!r} from {line_id}")
        if text == secrets["duplicate"]:
            real(rt, db, body)  # creates the user ...
            db.add(User(line_user_id=line_id, active=True, created_at=rt.now()))
            db.flush()  # ... and again: the unique index refuses, quoting the id (DETAIL / parameters)
        return real(rt, db, body)

    monkeypatch.setattr(router, "handle_event", failing)
    caplog.set_level(logging.DEBUG)
    emulator.send_text(raising, secrets["raise"])
    emulator.send_text(duplicating, secrets["duplicate"])
    poison = text_event(poisoned, secrets["poison"])
    poison["replyToken"] = {"token": poisoned, "text": secrets["poison"]}
    body = json.dumps({"destination": "U" + "0" * 32, "events": [poison]}, ensure_ascii=False).encode()
    assert post(bot.url + "/callback", body, {"X-Line-Signature": sign(body)})[0] == 200
    bot.settle()

    for user in (raising, duplicating, poisoned):
        assert len(emulator.sent(user=user)) == 1, user  # an apology, an apology, the answer
    assert caplog.text.count("handler failed for event") == 2  # the error paths did run
    with bot.rt.sessions() as db:
        errors = " ".join(e for e in db.scalars(select(WebhookEvent.error)) if e)
    assert "ValueError" in errors and "IntegrityError" in errors
    for leak in (raising, duplicating, poisoned, *secrets.values()):
        assert leak not in caplog.text, leak
        assert leak not in errors, leak
