"""Write-then-deliver for everything the bot sends.

enqueue_* write an OutboxMessage and its batches (retry key included) inside the caller's
transaction; deliver() claims one batch, calls the adapter and records the outcome. A batch is
claimed with a conditional UPDATE, so two workers can never send the same batch at once, and a
push/multicast retried after a crash reuses its stored key (LINE answers 409 if it had it).
"""
from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable, Iterable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.clock import utc
from bot.line_adapter import DeliveryUncertain, InvalidReplyToken, LineError, usable_reply_token
from bot.logsafe import describe_exception
from models.outbox import (FAILED, MULTICAST, PENDING, PUSH, REPLY, SENDING, SENT, UNCERTAIN, OutboxBatch,
                           OutboxMessage)

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("kyodo.outbox")
MULTICAST_MAX = 500


def reply_values(*, now: datetime, user_id: str, reply_token: str | None, source_event_id: str,
                 event_ts_ms: int | None = None, token_ttl_s: float = 50.0) -> dict:
    """The batch columns of the answer to one webhook event. It goes as a push when the token is missing
    or already stale (an event picked up late by the sweeper)."""
    ts_ok = isinstance(event_ts_ms, int) and not isinstance(event_ts_ms, bool) and event_ts_ms > 0
    age = (utc(now).timestamp() * 1000 - event_ts_ms) / 1000 if ts_ok else 0.0  # type: ignore[operator]
    if age > token_ttl_s or not usable_reply_token(reply_token):
        reply_token = None  # a token that cannot be one is treated as absent: the answer goes by push
    # A deterministic key: re-processing the same event can never mint a second push.
    key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kyodo:event:{source_event_id}"))
    return dict(kind=REPLY if reply_token else PUSH, recipients=[user_id], recipient_count=1,
                reply_token=reply_token, retry_key=key, status=PENDING, attempts=0, created_at=now,
                next_attempt_at=now)


def enqueue_reply(db: Session, *, now: datetime, user_id: str, reply_token: str | None, messages: list[dict],
                  source_event_id: str, event_ts_ms: int | None = None, token_ttl_s: float = 50.0) -> OutboxBatch:
    """The answer to one webhook event (see reply_values)."""
    values = reply_values(now=now, user_id=user_id, reply_token=reply_token, source_event_id=source_event_id,
                          event_ts_ms=event_ts_ms, token_ttl_s=token_ttl_s)
    msg = OutboxMessage(purpose="reply", messages=messages, source_event_id=source_event_id, created_at=now)
    batch = OutboxBatch(**values)
    msg.batches.append(batch)
    db.add(msg)
    db.flush()
    return batch


@dataclass
class Reply:
    """One answer for enqueue_replies: what enqueue_reply takes, written in bulk."""

    user_id: str
    reply_token: str | None
    messages: list[dict]
    source_event_id: str
    event_ts_ms: int | None = None


@functools.lru_cache(maxsize=1)
def _pg_reply_insert():
    """WITH new_message AS (INSERT INTO outbox_messages ... RETURNING id) INSERT INTO outbox_batches
    SELECT new_message.id, ...: an answer's message and its batch in one statement."""
    m, b = OutboxMessage.__table__, OutboxBatch.__table__
    new = (insert(m).values(purpose="reply", messages=bindparam("messages", type_=m.c.messages.type),
                            source_event_id=bindparam("source_event_id"), created_at=bindparam("created_at"))
           .returning(m.c.id).cte("new_message"))
    cols = ["kind", "recipients", "recipient_count", "reply_token", "retry_key", "status", "attempts", "created_at",
            "next_attempt_at"]
    return insert(b).from_select(["message_id", *cols],
                                 select(new.c.id, *(bindparam(f"b_{c}", type_=b.c[c].type) for c in cols)))


def enqueue_replies(db: Session, *, now: datetime, replies: list[Reply], token_ttl_s: float = 50.0) -> list[int]:
    """The answers to many webhook events in two INSERT statements (Core, no ORM flush); returns the
    batch ids in the order of `replies`. Same rows and keys as enqueue_reply would write one by one."""
    if not replies:
        return []
    values = [reply_values(now=now, user_id=r.user_id, reply_token=r.reply_token, source_event_id=r.source_event_id,
                           event_ts_ms=r.event_ts_ms, token_ttl_s=token_ttl_s) for r in replies]
    m, b = OutboxMessage.__table__, OutboxBatch.__table__
    if db.get_bind().dialect.name == "postgresql":
        # One short statement per answer, sent together (psycopg pipelines an executemany): cheaper to
        # prepare than one INSERT with 64 rows of VALUES, whose SQL psycopg would parse every time.
        db.execute(_pg_reply_insert(), [dict({f"b_{k}": v for k, v in vals.items()}, messages=r.messages,
                                              source_event_id=r.source_event_id, created_at=now)
                                        for r, vals in zip(replies, values)])
        ids = dict(db.execute(select(m.c.source_event_id, b.c.id).join(b, b.c.message_id == m.c.id)
                              .where(m.c.source_event_id.in_([r.source_event_id for r in replies]))).all())
        return [ids[r.source_event_id] for r in replies]
    msg_ids = db.execute(insert(m).returning(m.c.id, sort_by_parameter_order=True),
                         [dict(purpose="reply", messages=r.messages, source_event_id=r.source_event_id, created_at=now)
                          for r in replies]).scalars().all()
    return list(db.execute(insert(b).returning(b.c.id, sort_by_parameter_order=True),
                           [dict(v, message_id=mid) for v, mid in zip(values, msg_ids)]).scalars().all())


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


@dataclass
class _Claimed:
    """The columns a delivery needs, read by the claiming UPDATE itself (no ORM round trips)."""

    id: int
    kind: str
    recipients: list[str]
    reply_token: str | None
    retry_key: str
    attempts: int
    created_at: datetime
    messages: list[dict]


def _claim(rt: "Runtime", batch_id: int, now: datetime) -> _Claimed | None:
    b = OutboxBatch
    with rt.autocommit_engine.begin() as conn:  # one statement: its own transaction
        row = conn.execute(
            update(b).where(b.id == batch_id, b.status == PENDING)
            .values(status=SENDING, claimed_at=now, attempts=b.attempts + 1)
            .returning(b.id, b.kind, b.recipients, b.reply_token, b.retry_key, b.attempts, b.created_at, b.message_id)
        ).first()
        if row is None:
            return None
        messages = conn.execute(select(OutboxMessage.messages).where(OutboxMessage.id == row.message_id)).scalar_one()
    return _Claimed(row.id, row.kind, row.recipients or [], row.reply_token, row.retry_key, row.attempts,
                    row.created_at, messages)


# Built once: every delivery ends with it, and a statement built per call costs more CPU in
# SQLAlchemy's cache-key walk than the database spends running it.
_SENT = (update(OutboxBatch).where(OutboxBatch.id == bindparam("b_id"))
         .values(status=SENT, kind=bindparam("b_kind"), reply_token=bindparam("b_token"), sent_at=bindparam("b_at"),
                 request_id=bindparam("b_request"), recipients=None, last_error=None))


def _finish(rt: "Runtime", batch_id: int, **values) -> None:
    with rt.autocommit_engine.begin() as conn:
        conn.execute(update(OutboxBatch).where(OutboxBatch.id == batch_id).values(**values))


def claim_many(rt: "Runtime", messages_by_batch: dict[int, list[dict]]) -> list[_Claimed]:
    """Claim many pending batches in one statement, their messages already at hand (the answers just
    written): what a worker does after committing a batch of events."""
    if not messages_by_batch:
        return []
    b, now = OutboxBatch, rt.now()
    with rt.autocommit_engine.begin() as conn:  # one statement: its own transaction
        rows = conn.execute(
            update(b).where(b.id.in_(list(messages_by_batch)), b.status == PENDING)
            .values(status=SENDING, claimed_at=now, attempts=b.attempts + 1)
            .returning(b.id, b.kind, b.recipients, b.reply_token, b.retry_key, b.attempts, b.created_at)
        ).all()
    return [_Claimed(r.id, r.kind, r.recipients or [], r.reply_token, r.retry_key, r.attempts, r.created_at,
                     messages_by_batch[r.id]) for r in rows]


def deliver(rt: "Runtime", batch_id: int) -> str:
    """Send one batch if it is pending; returns its resulting status."""
    now = rt.now()
    batch = _claim(rt, batch_id, now)
    if batch is None:
        return "skipped"
    return deliver_claimed(rt, batch, now)


def deliver_claimed(rt: "Runtime", batch: _Claimed, now: datetime,
                    sent: Callable[[dict], None] | None = None) -> str:
    """Send a batch this process holds (status sending) and record the outcome. `sent` takes the
    success record instead of writing it here, for record_sent to write many in one statement."""
    try:
        result = _send(rt, batch, now)
    except InvalidReplyToken as e:
        log.info("outbox %s: reply token unusable (%s); sending as push", batch.id, e.request_id)
        batch.kind, batch.reply_token = PUSH, None
        try:
            result = _send(rt, batch, now)
        except Exception as e2:
            return _failed(rt, batch, _as_line_error(batch.kind, e2), now)
    except DeliveryUncertain as e:
        _finish(rt, batch.id, status=UNCERTAIN, last_error=str(e))
        log.warning("outbox %s: delivery uncertain (%s); not resent to avoid a duplicate", batch.id, e)
        return UNCERTAIN
    except LineError as e:
        return _failed(rt, batch, e, now)
    except Exception as e:
        return _failed(rt, batch, _as_line_error(batch.kind, e), now)
    # ids are not kept once delivered
    record = dict(b_id=batch.id, b_kind=batch.kind, b_token=batch.reply_token, b_at=rt.now(),
                  b_request=result.request_id)
    if sent is not None:
        sent(record)
    else:
        record_sent(rt, [record])
    return SENT


def record_sent(rt: "Runtime", records: list[dict]) -> None:
    """Mark delivered batches sent (one executemany). Should the process die first, a batch stays
    `sending`: recover_stale resends a push under its retry key (LINE answers 409) and flags a reply."""
    if records:
        with rt.autocommit_engine.begin() as conn:
            conn.execute(_SENT, records)


def _as_line_error(kind: str, e: Exception) -> LineError:
    """Not LINE's answer but our side (a request the SDK refuses...): retrying cannot help."""
    return e if isinstance(e, LineError) else LineError(f"{kind}: {describe_exception(e)}")


def _send(rt: "Runtime", batch: _Claimed, now: datetime):
    to = batch.recipients
    if batch.kind == REPLY:
        age = (utc(now) - utc(batch.created_at)).total_seconds()
        if batch.reply_token and age <= rt.config.reply_token_ttl_s and batch.attempts <= 1:
            return rt.adapter.reply(batch.reply_token, batch.messages)
        raise InvalidReplyToken("reply token too old or already tried")
    if batch.kind == PUSH:
        return rt.adapter.push(to[0], batch.messages, batch.retry_key)
    return rt.adapter.multicast(to, batch.messages, batch.retry_key)


def _failed(rt: "Runtime", batch: _Claimed, err: LineError, now: datetime) -> str:
    values: dict = {"last_error": str(err)[:1000], "kind": batch.kind, "reply_token": batch.reply_token}
    if err.retryable and batch.attempts < rt.config.outbox_max_attempts:
        wait = max(err.retry_after or 0, min(3600, 5 * 2 ** batch.attempts))
        values.update(status=PENDING, next_attempt_at=now + timedelta(seconds=wait))
        log.warning("outbox %s: %s; retry in %ss", batch.id, err, wait)
    else:
        values.update(status=FAILED)
        log.error("outbox %s failed for good after %d attempts: %s (request %s)", batch.id, batch.attempts, err, err.request_id)
    _finish(rt, batch.id, **values)
    return values["status"]


def due_batches(rt: "Runtime", limit: int = 200, settle_s: float = 0.0) -> list[int]:
    with rt.sessions() as db:
        due = rt.now() - timedelta(seconds=settle_s)
        return list(db.scalars(
            select(OutboxBatch.id).where(OutboxBatch.status == PENDING, OutboxBatch.next_attempt_at <= due)
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


def sweep(rt: "Runtime", settle_s: float = 0.0) -> int:
    """Send what is due. `settle_s`: leave batches due for less than that to whoever wrote them (a
    worker's answers are claimed by its delivery pool a moment after their commit)."""
    recover_stale(rt)
    sent = 0
    for bid in due_batches(rt, settle_s=settle_s):
        try:
            if deliver(rt, bid) == SENT:
                sent += 1
        except Exception as e:  # one batch's trouble (the database) must not stop the others
            log.error("outbox %s: delivery stopped: %s", bid, describe_exception(e))
    return sent
