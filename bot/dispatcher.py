"""Runs stored webhook events through the router, once each, a user's events in order.

The webhook only inserts rows; `submit(user_keys)` wakes a bounded thread pool. A user's queue is
drained by one thread at a time in this process, and the claim UPDATE refuses an event while an
earlier one of the same user is being processed anywhere (another worker process included).

Every claimed event ends done, failed, or pending for another try: an event that cannot be processed
(whatever raises, in the handler, the outbox or the commit) is tried at most `event_max_attempts`
times and then marked failed with a description that quotes no input, so it never holds up the same
resident's later events.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import aliased

from bot import outbox
from bot.logsafe import event_ref, describe_exception, format_exception, uid
from bot.webhook_shape import loggable_type
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
        except Exception as e:  # claiming failed (the database is away): the sweeper picks the user up later
            log.error("dispatcher: drain stopped: %s; the sweeper will retry", describe_exception(e))
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
    attempts: int = 1  # this claim included


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
            .returning(WebhookEvent.id, WebhookEvent.event_id, WebhookEvent.body, WebhookEvent.attempts)
        ).first()
    if row is None:
        return None
    return Claim(row.id, token, row.event_id, row.body if isinstance(row.body, dict) else {}, row.attempts)


def process_claimed(rt: "Runtime", claim: Claim) -> str:
    """Run one claimed event to an end; returns its status (done, failed, or pending for another try)."""
    if claim.attempts > rt.config.event_max_attempts:
        # Claimed again after the process running it stopped, as often as we allow: it may be what stopped it.
        return _record_failure(rt, claim, _gave_up(claim.attempts - 1))
    try:
        status, batch_id = _run(rt, claim)
    except Exception as e:  # the outbox, the commit, the database: anything outside the handler
        return _record_failure(rt, claim, describe_exception(e), exc=e)
    if batch_id is not None:
        _deliver(rt, batch_id, claim.event_id)
    return status


def _run(rt: "Runtime", claim: Claim) -> tuple[str, int | None]:
    from handlers.router import handle_event

    batch_id = None
    body, event_id, event_row_id, token = claim.body, claim.event_id, claim.row_id, claim.token
    with rt.sessions() as db:
        error = None
        try:
            outcome = handle_event(rt, db, body)
        except Exception as e:  # a bug must not leave the resident in silence
            db.rollback()
            from handlers.common import sorry

            error = describe_exception(e)
            log.error("handler failed for event %s (%s): %s\n%s", event_ref(event_id), loggable_type(str(body.get("type"))),
                      error, format_exception(e))
            outcome = sorry(body)
        if outcome.replies and outcome.line_user_id:
            batch_id = outbox.enqueue_reply(db, now=rt.now(), user_id=outcome.line_user_id,
                                            reply_token=body.get("replyToken"), messages=outcome.replies,
                                            source_event_id=event_id, event_ts_ms=body.get("timestamp"),
                                            token_ttl_s=rt.config.reply_token_ttl_s).id
        status = FAILED if error else DONE
        # Only the holder of the claim may finish it: a stale claim taken over by the sweeper loses here.
        res = db.execute(update(WebhookEvent).where(WebhookEvent.id == event_row_id, WebhookEvent.claim_token == token)
                         .values(status=status, processed_at=rt.now(), body=None, error=error, claim_token=None))
        if res.rowcount != 1:
            db.rollback()
            log.warning("event %s: claim lost; discarding this run", event_ref(event_id))
            return "lost", None
        db.commit()
        if log.isEnabledFor(logging.DEBUG):  # its arguments cost two keyed hashes per event
            log.debug("event %s %s from %s %s", event_ref(event_id), loggable_type(str(body.get("type"))),
                      uid(outcome.line_user_id), status)
    return status, batch_id


def _record_failure(rt: "Runtime", claim: Claim, error: str, exc: BaseException | None = None) -> str:
    """Back to pending for another try, or failed for good once the attempts are used up."""
    final = claim.attempts >= rt.config.event_max_attempts
    if final:
        values = dict(status=FAILED, processed_at=rt.now(), body=None, error=error, claim_token=None)
        log.error("event %s failed for good after %d attempts: %s%s", event_ref(claim.event_id), claim.attempts, error,
                  "\n" + format_exception(exc) if exc is not None else "")
    else:
        values = dict(status=PENDING, error=error, claim_token=None)
        log.warning("event %s: attempt %d of %d failed: %s", event_ref(claim.event_id), claim.attempts,
                    rt.config.event_max_attempts, error)
    try:
        with rt.autocommit_engine.begin() as conn:
            res = conn.execute(update(WebhookEvent)
                               .where(WebhookEvent.id == claim.row_id, WebhookEvent.claim_token == claim.token)
                               .values(**values))
    except Exception as e:  # the database is away: the claim times out and the sweeper takes the event back
        log.error("event %s: could not record the failure: %s", event_ref(claim.event_id), describe_exception(e))
        return PROCESSING
    if res.rowcount != 1:
        return "lost"
    if final:
        _apologise(rt, claim)
    else:
        time.sleep(rt.config.event_retry_delay_s * claim.attempts)  # a short pause before the same user's next try
    return values["status"]


def _apologise(rt: "Runtime", claim: Claim) -> None:
    """Best effort after a final failure: an apology by push, so the resident is not left in silence."""
    from handlers.common import sorry

    try:
        outcome = sorry(claim.body)
        if not (outcome.replies and outcome.line_user_id):
            return
        with rt.sessions() as db:
            batch_id = outbox.enqueue_reply(db, now=rt.now(), user_id=outcome.line_user_id, reply_token=None,
                                            messages=outcome.replies, source_event_id=claim.event_id).id
            db.commit()
    except Exception as e:
        log.warning("event %s: no apology sent either: %s", event_ref(claim.event_id), describe_exception(e))
        return
    _deliver(rt, batch_id, claim.event_id)


def _deliver(rt: "Runtime", batch_id: int, event_id: str) -> None:
    try:
        outbox.deliver(rt, batch_id)
    except Exception as e:  # the batch is stored; the outbox sweeper sends it
        log.error("event %s: delivery of batch %s stopped: %s", event_ref(event_id), batch_id, describe_exception(e))


def _gave_up(claims: int) -> str:
    return f"gave up: claimed {claims} times without finishing"


def requeue_stale(rt: "Runtime") -> int:
    """Events claimed by a process that died go back to pending, or fail once their attempts are used up."""
    cutoff = rt.now() - timedelta(seconds=rt.config.claim_timeout_s)
    stale = and_(WebhookEvent.status == PROCESSING, WebhookEvent.claimed_at < cutoff)
    limit = rt.config.event_max_attempts
    with rt.sessions() as db:
        failed = db.execute(update(WebhookEvent).where(stale, WebhookEvent.attempts >= limit)
                            .values(status=FAILED, claim_token=None, body=None, processed_at=rt.now(),
                                    error=_gave_up(limit))).rowcount
        n = db.execute(update(WebhookEvent).where(stale, WebhookEvent.attempts < limit)
                       .values(status=PENDING, claim_token=None)).rowcount
        db.commit()
    if n:
        log.warning("sweeper: %d events were stuck in processing; requeued", n)
    if failed:
        log.error("sweeper: %d events were stuck in processing %d times; marked failed", failed, limit)
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
