"""Events that cannot be processed never hold up a resident.

A replyToken that cannot be a token (an object, a list, 2**64, 300 characters, a lone surrogate) is
treated as absent and the event is answered by push; anything that raises outside the handler (the
outbox, the commit) is tried `event_max_attempts` times, then the event is marked failed with a
description that quotes no input; and the same resident's next message is answered by reply, at once.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import dispatcher
from models.webhook import DONE, FAILED, PENDING, PROCESSING, WebhookEvent
from tests.helpers import issue_reply_tokens, post, sign, text_event

SECRET = "秘密の相談です"  # a resident's text: never in a log line or an error column
POISON_TOKENS = {"object": {"t": "x"}, "list": ["x"], "2**64": 2**64, "300 chars": "a" * 300,
                 "lone surrogate": "tok\ud800en", "NUL": "tok\u0000en"}


def _post(bot, events) -> int:
    body = json.dumps({"destination": "U" + "0" * 32, "events": events}).encode()  # \ud800 stays an escape
    return post(bot.url + "/callback", body, {"X-Line-Signature": sign(body)})[0]


def _rows(bot) -> dict[str, WebhookEvent]:
    with bot.rt.sessions() as db:
        return {r.event_id: r for r in db.scalars(select(WebhookEvent))}


@pytest.mark.parametrize("token", POISON_TOKENS.values(), ids=POISON_TOKENS.keys())
def test_poison_reply_token_is_answered_by_push_and_blocks_nothing(bot, emulator, user_id, token):
    ev = text_event(user_id, "ヘルプ", event_id="POISONTOKEN1")
    ev["replyToken"] = token
    assert _post(bot, [ev]) == 200
    assert emulator.send_text(user_id, "ヘルプ")[0] == 200
    bot.settle(timeout=5)  # on the old code the first event stayed `processing` and this timed out

    assert [r["kind"] for r in emulator.sent(user=user_id)] == ["push", "reply"]
    assert {r.status for r in _rows(bot).values()} == {DONE}
    # A token that cannot be one is never sent to LINE: no reply request was refused.
    assert [r["status"] for r in emulator.requests if r["endpoint"] == "reply"] == [200]


def _failing_enqueue(monkeypatch, poison_id: str, user_id: str, times: int | None = None):
    """outbox.enqueue_reply raises for one event (`times` times, or always), quoting the resident."""
    from bot import outbox

    real, calls = outbox.enqueue_reply, []

    def enqueue(db, **kw):
        if kw["source_event_id"] == poison_id:
            calls.append(1)
            if times is None or len(calls) <= times:
                raise RuntimeError(f"cannot store the answer to {user_id}: {SECRET}")
        return real(db, **kw)

    monkeypatch.setattr(outbox, "enqueue_reply", enqueue)
    return calls


def test_failure_outside_the_handler_is_tried_a_bounded_number_of_times_then_failed(
        bot, emulator, user_id, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    calls = _failing_enqueue(monkeypatch, "POISONEVENT1", user_id)
    token = issue_reply_tokens(emulator, [user_id])[0]
    assert _post(bot, [text_event(user_id, SECRET, event_id="POISONEVENT1", reply_token=token)]) == 200
    assert emulator.send_text(user_id, "ヘルプ")[0] == 200
    bot.settle(timeout=5)

    limit = bot.rt.config.event_max_attempts
    assert limit == 3
    poison = _rows(bot)["POISONEVENT1"]
    assert (poison.status, poison.attempts, poison.body) == (FAILED, limit, None)
    assert len(calls) == limit + 1  # every attempt, and the apology (which fails the same way here)
    assert poison.error.startswith("RuntimeError: (message hidden") and " at tests/test_poison_events.py:" in poison.error
    assert user_id not in poison.error and SECRET not in poison.error
    # the resident's next message is answered by reply, not held up
    [answer] = emulator.sent(user=user_id)
    assert answer["kind"] == "reply" and "使い方" in answer["messages"][0]["text"]
    assert user_id not in caplog.text and SECRET not in caplog.text
    assert "POISONEVENT1" not in caplog.text  # the event id is any text the body carried: logged only as a keyed hash


def test_failure_that_heals_is_answered_on_the_next_attempt(bot, emulator, user_id, monkeypatch):
    calls = _failing_enqueue(monkeypatch, "FLAKYEVENT1", user_id, times=1)
    token = issue_reply_tokens(emulator, [user_id])[0]
    assert _post(bot, [text_event(user_id, "ヘルプ", event_id="FLAKYEVENT1", reply_token=token)]) == 200
    assert emulator.send_text(user_id, "ヘルプ")[0] == 200
    bot.settle(timeout=5)

    flaky = _rows(bot)["FLAKYEVENT1"]
    assert (flaky.status, flaky.attempts, len(calls)) == (DONE, 2, 2)
    assert [r["kind"] for r in emulator.sent(user=user_id)] == ["reply", "reply"]


def test_final_failure_sends_an_apology_by_push(bot, emulator, user_id, monkeypatch):
    """When only the answer could not be stored, the resident still hears that something went wrong."""
    from bot import outbox

    real, seen = outbox.enqueue_reply, []

    def enqueue(db, **kw):
        seen.append(kw["reply_token"])
        if kw["reply_token"] is not None:  # the answer by reply fails; the apology (a push) does not
            raise RuntimeError("boom")
        return real(db, **kw)

    monkeypatch.setattr(outbox, "enqueue_reply", enqueue)
    assert emulator.send_text(user_id, "ヘルプ")[0] == 200
    bot.settle(timeout=5)
    [apology] = emulator.sent(user=user_id)
    assert apology["kind"] == "push" and "申し訳" in apology["messages"][0]["text"]


def test_event_left_processing_by_a_dead_process_fails_once_its_attempts_are_used(bot, emulator, user_id):
    """The sweeper hands a stale claim back, but not for ever: it may be the event that killed the process."""
    from bot.logsafe import user_key

    limit = bot.rt.config.event_max_attempts
    long_ago = bot.rt.now() - timedelta(hours=1)
    with bot.rt.sessions() as db:
        for n, attempts in ((1, limit), (2, 1)):
            ev = text_event(user_id, "ヘルプ", event_id=f"STALE{n}", ts_ms=1_000 + n)
            db.add(WebhookEvent(event_id=ev["webhookEventId"], user_key=user_key(user_id), event_type="message",
                                event_ts=ev["timestamp"], redelivered=False, body=ev, status=PROCESSING,
                                attempts=attempts, claim_token="dead", received_at=long_ago, claimed_at=long_ago))
        db.commit()
    dispatcher.sweep(bot.rt, older_than_s=0, inline=True)
    rows = _rows(bot)
    assert (rows["STALE1"].status, rows["STALE1"].body) == (FAILED, None)
    assert "gave up" in rows["STALE1"].error
    assert rows["STALE2"].status == DONE  # requeued and processed (answered by push: its token is old)
    assert not [r for r in rows.values() if r.status in (PENDING, PROCESSING)]
