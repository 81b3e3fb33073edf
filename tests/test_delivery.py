"""The outbox and the adapter against the emulator: faults, retry keys, no duplicates, crash recovery."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from bot import dispatcher, outbox
from bot.webhook import store_events
from emulator import new_user_id
from models.outbox import FAILED, PENDING, SENT, UNCERTAIN, OutboxBatch
from models.webhook import DONE, PROCESSING, WebhookEvent
from tests.helpers import text_event

HELLO = [{"type": "text", "text": "こんにちは。お知らせです。"}]


def _push(bot, recipients, messages=HELLO) -> list[int]:
    with bot.rt.sessions() as db:
        msg = outbox.enqueue_push(db, now=bot.rt.now(), purpose="test", messages=messages, recipients=recipients)
        db.commit()
        return [b.id for b in msg.batches]


def _batch(bot, bid) -> OutboxBatch:
    with bot.rt.sessions() as db:
        return db.get(OutboxBatch, bid)


def test_429_with_retry_after_is_retried_and_delivered_once(bot, emulator, user_id):
    emulator.inject("push", "429", count=2, retry_after=0.2)
    [bid] = _push(bot, [user_id])
    t0 = time.monotonic()
    assert outbox.deliver(bot.rt, bid) == SENT
    assert time.monotonic() - t0 >= 0.4  # Retry-After honoured twice
    assert len(emulator.sent(user=user_id)) == 1
    keys = {r["headers"].get("X-Line-Retry-Key") or r["headers"].get("x-line-retry-key")
            for r in emulator.requests if r["path"].endswith("/push")}
    assert keys == {_batch(bot, bid).retry_key}  # the same key on every try


def test_500_is_retried(bot, emulator, user_id):
    emulator.inject("push", "500", count=2)
    [bid] = _push(bot, [user_id])
    assert outbox.deliver(bot.rt, bid) == SENT
    assert len(emulator.sent(user=user_id)) == 1


def test_timeout_after_acceptance_does_not_deliver_twice(bot, emulator, user_id):
    # The emulator accepts the push but answers after the client gave up; the retry with the
    # same key gets 409, which counts as delivered.
    emulator.inject("push", "hang", count=1, hang_seconds=1.5)
    [bid] = _push(bot, [user_id])
    assert outbox.deliver(bot.rt, bid) == SENT
    assert len(emulator.sent(user=user_id)) == 1
    assert any(r["status"] == 409 for r in emulator.requests)


def test_multicast_hang_and_429_mid_fanout_each_id_once(bot, emulator):
    users = [new_user_id() for _ in range(1200)]
    emulator.inject("multicast", "hang", count=1, hang_seconds=1.5)
    emulator.inject("multicast", "429", count=1, retry_after=0.1)
    bids = _push(bot, users)
    assert len(bids) == 3  # 500 + 500 + 200
    for bid in bids:
        assert outbox.deliver(bot.rt, bid) == SENT
    delivered = [u for r in emulator.sent(kind="multicast") for u in r["to"]]
    assert sorted(delivered) == sorted(users)


def test_persistent_500_is_rescheduled_then_failed_loudly(bot, emulator, user_id):
    emulator.inject("push", "500", count=1000)
    [bid] = _push(bot, [user_id])
    assert outbox.deliver(bot.rt, bid) == PENDING
    b = _batch(bot, bid)
    assert b.next_attempt_at is not None and b.last_error
    for _ in range(bot.rt.config.outbox_max_attempts):
        with bot.rt.sessions() as db:
            db.get(OutboxBatch, bid).next_attempt_at = bot.rt.now() - timedelta(seconds=1)
            db.commit()
        outbox.sweep(bot.rt)
    assert _batch(bot, bid).status == FAILED
    assert emulator.sent(user=user_id) == []
    emulator.inject("push", "500", count=0)


def test_permanent_4xx_fails_without_retry(bot, emulator, user_id):
    [bid] = _push(bot, [user_id], messages=[{"type": "text", "text": "x" * 5001}])
    assert outbox.deliver(bot.rt, bid) == FAILED
    assert "5000" in (_batch(bot, bid).last_error or "") or "text" in (_batch(bot, bid).last_error or "")
    assert sum(1 for r in emulator.requests if r["path"].endswith("/push")) == 1


def test_reply_that_times_out_is_not_resent_as_push(bot, emulator, user_id):
    emulator.inject("reply", "hang", count=1, hang_seconds=1.5)
    emulator.send_text(user_id, "ヘルプ")
    bot.settle()
    assert len(emulator.sent(user=user_id)) == 1  # the reply the emulator accepted; no extra push
    with bot.rt.sessions() as db:
        assert db.scalar(select(OutboxBatch.status)) == UNCERTAIN


def test_invalid_reply_token_falls_back_to_push(bot, emulator, user_id):
    from tests.helpers import post_events

    assert post_events(bot.url, [text_event(user_id, "ヘルプ", reply_token="not-issued-by-line")]) == 200
    bot.settle()
    [record] = emulator.sent(user=user_id)
    assert record["kind"] == "push" and record["retry_key"]


def test_event_stored_but_never_dispatched_is_swept_once(bot, emulator, user_id):
    # As if the process died right after answering 200: the rows exist, nobody is working on them.
    _, first = emulator.send_text(user_id, "ヘルプ")
    bot.settle()
    events = [text_event(user_id, "ヘルプ"), text_event(user_id, "退会")]
    store_events(bot.rt, events)
    assert dispatcher.sweep(bot.rt, older_than_s=0, inline=True) == 1
    assert dispatcher.sweep(bot.rt, older_than_s=0, inline=True) == 0
    with bot.rt.sessions() as db:
        assert set(db.scalars(select(WebhookEvent.status))) == {DONE}
    assert len(emulator.sent(user=user_id)) == 3


def test_event_claimed_by_a_dead_process_is_requeued_and_processed_once(bot, emulator, user_id):
    old_ts = int((time.time() - 600) * 1000)  # its reply token is long expired
    store_events(bot.rt, [text_event(user_id, "ヘルプ", ts_ms=old_ts)])
    with bot.rt.sessions() as db:
        ev = db.scalar(select(WebhookEvent))
        ev.status, ev.claim_token, ev.claimed_at = PROCESSING, "dead-process", bot.rt.now() - timedelta(minutes=10)
        db.commit()
    assert dispatcher.sweep(bot.rt, older_than_s=0, inline=True) == 1
    [record] = emulator.sent(user=user_id)
    assert record["kind"] == "push"  # stale token: the answer went as a push
    assert dispatcher.sweep(bot.rt, older_than_s=0, inline=True) == 0
    assert len(emulator.sent(user=user_id)) == 1


def test_sent_batches_keep_no_user_ids(bot, emulator, user_id):
    [bid] = _push(bot, [user_id])
    outbox.deliver(bot.rt, bid)
    b = _batch(bot, bid)
    assert b.status == SENT and b.recipients is None and b.recipient_count == 1
