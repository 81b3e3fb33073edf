"""`kyodo worker`'s hot path: claim many residents' next events in one statement, run them in one
transaction, and hand their answers to a pool of delivery threads.

Guarantees are the per-event path's (bot/dispatcher.py), kept by construction:
- per-user order: a batch holds at most one event per resident, always that resident's oldest pending
  one in the statement's snapshot, and never one of a resident with an event still processing
  anywhere; a row another claim took meanwhile fails the `status = pending` re-check under its row
  lock, so a resident's second event is never handed out while the first is pending or processing.
  On PostgreSQL the claims also take turns (a transaction-level advisory lock): the second worker's
  snapshot then already holds the first one's claims, so it takes the next residents instead of
  queueing behind the same rows and coming back nearly empty.
- exactly once: the handlers' writes, every answer's outbox rows and `done` commit together, guarded
  by the batch's claim token; a lost claim or any failure rolls the whole batch back.
- a failing event does not affect the others: after any failure the batch's events run one by one
  through the per-event path (own transaction, bounded attempts, apology). An event tried before
  (its process died mid-batch, or it failed) is claimed and run alone, so a poison event that kills
  the process takes its neighbours down at most once.
"""
from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import and_, any_, exists, func, literal, or_, select, update

from bot import outbox
from bot.dispatcher import Claim, process_claimed
from bot.logsafe import describe_exception
from models.webhook import DONE, PENDING, PROCESSING, WebhookEvent

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("kyodo.dispatch")
_CLAIM_LOCK = 0x6B796F646F  # "kyodo": serialises batch claims across processes (PostgreSQL)
CLAIM_PLAN_SETTINGS = (("enable_bitmapscan", "off"), ("enable_sort", "off"))  # see claim_batch


@dataclass(frozen=True)
class BatchClaim(Claim):
    user_key: str = ""


@dataclass(frozen=True)
class Delivery:
    batch_id: int
    user_key: str
    messages: list


def claim_batch(rt: "Runtime", limit: int, exclude_keys: Iterable[str] = (), *,
                retries: bool = False) -> list[BatchClaim]:
    """Claim up to `limit` events, each the oldest pending event of a different resident who has none
    being processed (and is not in `exclude_keys`: residents whose answer this process is still sending).

    Only events never tried before; with `retries`, only events tried before (claimed by a process that
    stopped, or failed once): those run alone, so one that kills its process never takes others along."""
    now = rt.now()
    fresh = now - timedelta(seconds=rt.config.claim_timeout_s)
    w, e, b = (WebhookEvent.__table__.alias(n) for n in ("w", "e", "b"))
    # A per-candidate lookup of this resident's pending rows on ix_webhook_events_user_queue, whatever the
    # statistics say. When they were taken while the queue was empty (any quiet hour in production),
    # PostgreSQL believes one row is pending and reads the whole pending index once per candidate instead:
    # 40 ms per claim with 5,000 pending, not 1 ms, and every claim queues behind it (bench/e2e.py with
    # ANALYZE after warm-up: 200 answers/s). OFFSET 0 keeps the check a subplan rather than an anti-join,
    # and `status || ''` leaves user_key as the only indexable condition, so neither the pending-only
    # partial index nor the status index (both "cheaper" by those statistics) can be chosen.
    earlier = (select(literal(1)).where(e.c.user_key == w.c.user_key, (e.c.status + "") == PENDING,
                                        or_(e.c.event_ts < w.c.event_ts,
                                            and_(e.c.event_ts == w.c.event_ts, e.c.id < w.c.id)))
               .offset(0).exists())
    tried = w.c.attempts > 0 if retries else w.c.attempts == 0
    # Candidates: the first residents' oldest pending events in arrival order, walked along the partial
    # index of pending rows and cut off, so the claim's cost does not grow with the backlog. Four times
    # the batch leaves room for residents skipped below (busy, or answers still being sent).
    cand = (select(w.c.id, w.c.user_key).where(w.c.status == PENDING, tried, ~earlier)
            .order_by(w.c.id).limit(limit * 4).subquery("cand"))
    busy = exists().where(b.c.user_key == cand.c.user_key, b.c.status == PROCESSING, b.c.claimed_at > fresh)
    picked = select(cand.c.id).where(~busy)
    exclude = list(exclude_keys)
    if exclude:
        picked = picked.where(cand.c.user_key.not_in(exclude))
    picked = picked.order_by(cand.c.id).limit(limit)
    token = str(uuid.uuid4())
    t = WebhookEvent
    with rt.engine.begin() as conn:
        chosen = t.id.in_(picked.scalar_subquery())
        if conn.dialect.name == "postgresql":
            # One round trip: the lock (held until this commit) and the plan this statement is written for:
            # walk the pending index in id order and stop at the limit. With no statistics yet, PostgreSQL
            # would rather bitmap-scan and sort every pending row (25 ms at 5,000 pending instead of 1-3 ms).
            # set_config(..., true) holds for this transaction only.
            conn.execute(select(func.pg_advisory_xact_lock(_CLAIM_LOCK),
                                *(func.set_config(name, value, True) for name, value in CLAIM_PLAN_SETTINGS)))
            # The ids as an array: rows are then fetched by primary key, not by hashing every pending row.
            chosen = t.id == any_(func.array(picked.scalar_subquery()))
        rows = conn.execute(
            update(t).where(chosen, t.status == PENDING)
            .values(status=PROCESSING, claim_token=token, claimed_at=now, attempts=t.attempts + 1)
            .returning(t.id, t.event_id, t.body, t.attempts, t.user_key)
        ).all()
    return sorted((BatchClaim(r.id, token, r.event_id, r.body if isinstance(r.body, dict) else {}, r.attempts,
                              r.user_key) for r in rows), key=lambda c: c.row_id)


def run_batch(rt: "Runtime", claims: list[BatchClaim]) -> list[Delivery]:
    """Run claimed events to an end; returns the answers to deliver (those of events run one by one
    were delivered already)."""
    fresh = [c for c in claims if c.attempts == 1]
    for c in claims:
        if c.attempts != 1:  # tried before: maybe this event stopped the process that tried it
            process_claimed(rt, c)
    if not fresh:
        return []
    try:
        return _run_together(rt, fresh)
    except Exception as e:  # whatever it was, find the culprit by running them one by one
        log.warning("batch of %d events: %s; running them one by one", len(fresh), describe_exception(e))
    for c in fresh:
        process_claimed(rt, c)
    return []


class _ClaimLost(Exception):
    """Some event of the batch was taken back by the sweeper: this run must not count."""


def _run_together(rt: "Runtime", claims: list[BatchClaim]) -> list[Delivery]:
    from handlers.router import Known, handle_event
    from models.plan import memoise_plan_reads

    now = rt.now()
    replies: list[outbox.Reply] = []
    keys: list[str] = []
    with rt.sessions() as db:
        memoise_plan_reads(db)
        known = Known.load(db, [c.body for c in claims], now)
        for c in claims:
            # A handler that raises aborts the batch: the per-event path answers with an apology.
            outcome = handle_event(rt, db, c.body, known)
            if outcome.replies and outcome.line_user_id:
                replies.append(outbox.Reply(outcome.line_user_id, c.body.get("replyToken"), outcome.replies,
                                            c.event_id, c.body.get("timestamp")))
                keys.append(c.user_key)
        batch_ids = outbox.enqueue_replies(db, now=now, replies=replies, token_ttl_s=rt.config.reply_token_ttl_s)
        t = WebhookEvent
        res = db.execute(update(t).where(t.id.in_([c.row_id for c in claims]), t.claim_token == claims[0].token)
                         .values(status=DONE, processed_at=rt.now(), body=None, error=None, claim_token=None))
        if res.rowcount != len(claims):
            db.rollback()
            raise _ClaimLost(f"{len(claims) - res.rowcount} claims lost")
        db.commit()
    return [Delivery(bid, key, r.messages) for bid, key, r in zip(batch_ids, keys, replies)]


class DeliveryPool:
    """Threads that send answers while the worker runs the next batch. Remembers whose answers are in
    flight, so the next claim can leave those residents for later and their answers keep their order.
    The threads only talk to LINE; one more thread marks what they sent, many rows per statement."""

    FLUSH_S = 0.02

    def __init__(self, rt: "Runtime", threads: int) -> None:
        self.rt = rt
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="deliver")
        self._lock = threading.Lock()
        self._inflight: dict[str, int] = {}
        self._sent: list[dict] = []
        self._closing = threading.Event()
        self._recorder = threading.Thread(target=self._record_loop, name="deliver-record", daemon=True)
        self._recorder.start()

    def busy_keys(self) -> list[str]:
        with self._lock:
            return list(self._inflight)

    def backlog(self) -> int:
        """Answers claimed for sending and not yet sent."""
        with self._lock:
            return sum(self._inflight.values())

    def busy(self) -> bool:
        with self._lock:
            return bool(self._inflight) or bool(self._sent)

    def send(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        try:
            claimed = outbox.claim_many(self.rt, {d.batch_id: d.messages for d in deliveries})
        except Exception as e:  # the batches are stored; the outbox sweeper sends them
            log.error("delivery: could not claim %d batches: %s", len(deliveries), describe_exception(e))
            return
        key_of = {d.batch_id: d.user_key for d in deliveries}
        for batch in claimed:
            key = key_of[batch.id]
            with self._lock:
                self._inflight[key] = self._inflight.get(key, 0) + 1
            self._pool.submit(self._deliver, batch, key)

    def _deliver(self, batch, key: str) -> None:
        try:
            outbox.deliver_claimed(self.rt, batch, self.rt.now(), sent=self._record)
        except Exception as e:  # left `sending`: the outbox sweeper recovers it
            log.error("outbox %s: delivery stopped: %s", batch.id, describe_exception(e))
        finally:
            with self._lock:
                n = self._inflight.pop(key) - 1
                if n:
                    self._inflight[key] = n

    def _record(self, record: dict) -> None:
        with self._lock:
            self._sent.append(record)

    def _record_loop(self) -> None:
        while True:
            closing = self._closing.wait(self.FLUSH_S)
            with self._lock:
                records, self._sent = self._sent, []
            try:
                outbox.record_sent(self.rt, records)
            except Exception as e:  # they stay `sending`; recover_stale deals with them
                log.error("delivery: could not mark %d batches sent: %s", len(records), describe_exception(e))
            if closing:
                return

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
        self._closing.set()
        self._recorder.join()
