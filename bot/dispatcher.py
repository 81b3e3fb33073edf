"""Runs stored webhook events through the router, once each, a user's events in order.

The webhook only inserts rows; `submit(user_keys)` wakes a bounded thread pool. A user's queue is
drained by one thread at a time in this process, and the claim UPDATE refuses an event while an
earlier one of the same user is being processed anywhere (another worker process included).
"""
from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import aliased

from bot import outbox
from bot.logsafe import uid
from models.webhook import DONE, FAILED, PENDING, PROCESSING, WebhookEvent

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("kyodo.dispatch")


class Dispatcher:
    def __init__(self, rt: "Runtime", workers: int) -> None:
        self.rt = rt
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dispatch")
        self._lock = threading.Lock()
        self._active: set[str] = set()
        self._again: set[str] = set()
        self._idle = threading.Condition(self._lock)

    def submit(self, user_keys: Iterable[str]) -> None:
        for key in set(user_keys):
            with self._lock:
                if key in self._active:
                    self._again.add(key)  # the running drain will look once more
                    continue
                self._active.add(key)
            self._pool.submit(self._drain, key)

    def _drain(self, key: str) -> None:
        try:
            while True:
                claimed = claim_next(self.rt, key)
                if claimed is None:
                    with self._lock:
                        if key in self._again:
                            self._again.discard(key)
                            continue
                        self._active.discard(key)
                        self._idle.notify_all()
                        return
                process_claimed(self.rt, claimed)
        except Exception:
            log.exception("dispatcher: drain crashed; the sweeper will retry")
            with self._lock:
                self._active.discard(key)
                self._again.discard(key)
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._lock:
            return self._idle.wait_for(lambda: not self._active, timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


@dataclass(frozen=True)
class Claim:
    row_id: int
    token: str
    event_id: str
    body: dict


def claim_next(rt: "Runtime", key: str) -> Claim | None:
    """Claim this user's oldest pending event, unless one of theirs is already being processed."""
    now = rt.now()
    fresh = now - timedelta(seconds=rt.config.claim_timeout_s)
    busy = aliased(WebhookEvent)
    oldest = (select(WebhookEvent.id).where(WebhookEvent.user_key == key, WebhookEvent.status == PENDING)
              .order_by(WebhookEvent.event_ts, WebhookEvent.id).limit(1).scalar_subquery())
    token = str(uuid.uuid4())
    with rt.autocommit_engine.begin() as conn:  # one statement: its own transaction
        row = conn.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == oldest, WebhookEvent.status == PENDING,
                   ~exists().where(and_(busy.user_key == key, busy.status == PROCESSING, busy.claimed_at > fresh)))
            .values(status=PROCESSING, claim_token=token, claimed_at=now, attempts=WebhookEvent.attempts + 1)
            .returning(WebhookEvent.id, WebhookEvent.event_id, WebhookEvent.body)
        ).first()
    return Claim(row.id, token, row.event_id, row.body or {}) if row else None


def process_claimed(rt: "Runtime", claim: Claim) -> None:
    from handlers.router import handle_event

    batch_id = None
    body, event_id, event_row_id, token = claim.body, claim.event_id, claim.row_id, claim.token
    with rt.sessions() as db:
        error = None
        try:
            outcome = handle_event(rt, db, body)
        except Exception as e:  # a bug must not leave the resident in silence
            db.rollback()
            log.exception("handler failed for event %s (%s)", event_id, body.get("type"))
            from handlers.common import sorry

            error = f"{type(e).__name__}: {e}"[:1000]
            outcome = sorry(body)
        if outcome.replies and outcome.line_user_id:
            batch_id = outbox.enqueue_reply(db, now=rt.now(), user_id=outcome.line_user_id,
                                            reply_token=body.get("replyToken"), messages=outcome.replies,
                                            source_event_id=event_id, event_ts_ms=body.get("timestamp"),
                                            token_ttl_s=rt.config.reply_token_ttl_s).id
        # Only the holder of the claim may finish it: a stale claim taken over by the sweeper loses here.
        res = db.execute(update(WebhookEvent).where(WebhookEvent.id == event_row_id, WebhookEvent.claim_token == token)
                         .values(status=FAILED if error else DONE, processed_at=rt.now(), body=None, error=error))
        if res.rowcount != 1:
            db.rollback()
            log.warning("event %s: claim lost; discarding this run", event_id)
            return
        db.commit()
        log.debug("event %s %s from %s done", event_id, body.get("type"), uid(outcome.line_user_id))
    if batch_id is not None:
        outbox.deliver(rt, batch_id)


def requeue_stale(rt: "Runtime") -> int:
    """Events claimed by a process that died go back to pending."""
    cutoff = rt.now() - timedelta(seconds=rt.config.claim_timeout_s)
    with rt.sessions() as db:
        n = db.execute(update(WebhookEvent).where(WebhookEvent.status == PROCESSING, WebhookEvent.claimed_at < cutoff)
                       .values(status=PENDING, claim_token=None)).rowcount
        db.commit()
    if n:
        log.warning("sweeper: %d events were stuck in processing; requeued", n)
    return n


def pending_user_keys(rt: "Runtime", older_than_s: float = 0.0, limit: int = 1000) -> list[str]:
    cutoff = rt.now() - timedelta(seconds=older_than_s)
    with rt.sessions() as db:
        return list(db.scalars(select(WebhookEvent.user_key).where(WebhookEvent.status == PENDING,
                                                                     WebhookEvent.received_at <= cutoff)
                               .group_by(WebhookEvent.user_key).limit(limit)))


def sweep(rt: "Runtime", older_than_s: float = 5.0, *, inline: bool = False) -> int:
    """Pick up events nobody is processing. `inline` drains in this thread (scheduler process)."""
    requeue_stale(rt)
    keys = pending_user_keys(rt, older_than_s)
    if not keys:
        return 0
    if inline or rt.dispatcher is None:
        for key in keys:
            while (claimed := claim_next(rt, key)) is not None:
                process_claimed(rt, claimed)
    else:
        rt.dispatcher.submit(keys)  # type: ignore[attr-defined]
    return len(keys)
