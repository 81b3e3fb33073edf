"""Write-then-deliver for everything the bot sends.

enqueue_* write an OutboxMessage and its batches (retry key included) inside the caller's
transaction; deliver() claims one batch, calls the adapter and records the outcome. A batch is
claimed with a conditional UPDATE, so two workers can never send the same batch at once, and a
push/multicast retried after a crash reuses its stored key (LINE answers 409 if it had it).
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import utc
from bot.line_adapter import DeliveryUncertain, InvalidReplyToken, LineError
from models.outbox import (FAILED, MULTICAST, PENDING, PUSH, REPLY, SENDING, SENT, UNCERTAIN, OutboxBatch,
                           OutboxMessage)

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("kyodo.outbox")
MULTICAST_MAX = 500


def enqueue_reply(db: Session, *, now: datetime, user_id: str, reply_token: str | None, messages: list[dict],
                  source_event_id: str, event_ts_ms: int | None = None, token_ttl_s: float = 50.0) -> OutboxBatch:
    """The answer to one webhook event. Goes as a push when the token is missing or already stale
    (an event picked up late by the sweeper)."""
    msg = OutboxMessage(purpose="reply", messages=messages, source_event_id=source_event_id, created_at=now)
    age = (utc(now).timestamp() * 1000 - event_ts_ms) / 1000 if event_ts_ms else 0.0
    if age > token_ttl_s:
        reply_token = None
    kind = REPLY if reply_token else PUSH
    # A deterministic key: re-processing the same event can never mint a second push.
    key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kyodo:event:{source_event_id}"))
    batch = OutboxBatch(kind=kind, recipients=[user_id], recipient_count=1, reply_token=reply_token,
                        retry_key=key, created_at=now, next_attempt_at=now)
    msg.batches.append(batch)
    db.add(msg)
    db.flush()
    return batch


def enqueue_push(db: Session, *, now: datetime, purpose: str, messages: list[dict], recipients: Iterable[str],
                 not_before: datetime | None = None) -> OutboxMessage:
    """A message to many: batches of at most 500 ids, each with its own retry key."""
    msg = OutboxMessage(purpose=purpose, messages=messages, created_at=now)
    chunk: list[str] = []

    def flush_chunk() -> None:
        kind = PUSH if len(chunk) == 1 else MULTICAST
        msg.batches.append(OutboxBatch(kind=kind, recipients=list(chunk), recipient_count=len(chunk),
                                       retry_key=str(uuid.uuid4()), created_at=now,
                                       next_attempt_at=not_before or now))
        chunk.clear()

    for rid in recipients:
        chunk.append(rid)
        if len(chunk) == MULTICAST_MAX:
            flush_chunk()
    if chunk:
        flush_chunk()
    db.add(msg)
    db.flush()
    return msg


def _claim(db: Session, batch_id: int, now: datetime) -> bool:
    res = db.execute(
        update(OutboxBatch)
        .where(OutboxBatch.id == batch_id, OutboxBatch.status == PENDING)
        .values(status=SENDING, claimed_at=now, attempts=OutboxBatch.attempts + 1)
    )
    db.commit()
    return res.rowcount == 1


def deliver(rt: "Runtime", batch_id: int) -> str:
    """Send one batch if it is pending; returns its resulting status."""
    with rt.sessions() as db:
        now = rt.now()
        if not _claim(db, batch_id, now):
            return "skipped"
        batch = db.get(OutboxBatch, batch_id)
        assert batch is not None
        messages = batch.message.messages
        try:
            result = _send(rt, batch, messages, now)
        except InvalidReplyToken as e:
            log.info("outbox %s: reply token unusable (%s); sending as push", batch.id, e.request_id)
            batch.kind, batch.reply_token = PUSH, None
            try:
                result = _send(rt, batch, messages, now)
            except LineError as e2:
                return _failed(db, rt, batch, e2, now)
        except DeliveryUncertain as e:
            batch.status, batch.last_error = UNCERTAIN, str(e)
            log.warning("outbox %s: delivery uncertain (%s); not resent to avoid a duplicate", batch.id, e)
            db.commit()
            return UNCERTAIN
        except LineError as e:
            return _failed(db, rt, batch, e, now)
        batch.status, batch.sent_at, batch.request_id = SENT, rt.now(), result.request_id
        batch.recipients, batch.last_error = None, None  # ids are not kept once delivered
        db.commit()
        return SENT


def _send(rt: "Runtime", batch: OutboxBatch, messages: list[dict], now: datetime):
    to = batch.recipients or []
    if batch.kind == REPLY:
        age = (utc(now) - utc(batch.created_at)).total_seconds()
        if batch.reply_token and age <= rt.config.reply_token_ttl_s and batch.attempts <= 1:
            return rt.adapter.reply(batch.reply_token, messages)
        raise InvalidReplyToken("reply token too old or already tried")
    if batch.kind == PUSH:
        return rt.adapter.push(to[0], messages, batch.retry_key)
    return rt.adapter.multicast(to, messages, batch.retry_key)


def _failed(db: Session, rt: "Runtime", batch: OutboxBatch, err: LineError, now: datetime) -> str:
    batch.last_error = str(err)[:1000]
    if err.retryable and batch.attempts < rt.config.outbox_max_attempts:
        wait = max(err.retry_after or 0, min(3600, 5 * 2 ** batch.attempts))
        batch.status, batch.next_attempt_at = PENDING, now + timedelta(seconds=wait)
        log.warning("outbox %s: %s; retry in %ss", batch.id, err, wait)
    else:
        batch.status = FAILED
        log.error("outbox %s failed for good after %d attempts: %s (request %s)", batch.id, batch.attempts, err, err.request_id)
    db.commit()
    return batch.status


def due_batches(rt: "Runtime", limit: int = 200) -> list[int]:
    with rt.sessions() as db:
        now = rt.now()
        return list(db.scalars(
            select(OutboxBatch.id).where(OutboxBatch.status == PENDING, OutboxBatch.next_attempt_at <= now)
            .order_by(OutboxBatch.id).limit(limit)))


def recover_stale(rt: "Runtime") -> int:
    """Batches left in `sending` by a dead process: pushes go again with the same key; replies
    cannot be retried safely (no key), so they are flagged, not resent."""
    cutoff = rt.now() - timedelta(seconds=rt.config.claim_timeout_s)
    with rt.sessions() as db:
        n = db.execute(update(OutboxBatch).where(OutboxBatch.status == SENDING, OutboxBatch.claimed_at < cutoff,
                                                 OutboxBatch.kind != REPLY).values(status=PENDING)).rowcount
        m = db.execute(update(OutboxBatch).where(OutboxBatch.status == SENDING, OutboxBatch.claimed_at < cutoff,
                                                 OutboxBatch.kind == REPLY)
                       .values(status=UNCERTAIN, last_error="process died during reply")).rowcount
        db.commit()
    if m:
        log.warning("outbox: %d replies were in flight when a process died; marked uncertain", m)
    return n


def sweep(rt: "Runtime") -> int:
    recover_stale(rt)
    sent = 0
    for bid in due_batches(rt):
        if deliver(rt, bid) == SENT:
            sent += 1
    return sent
