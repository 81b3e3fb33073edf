"""`kyodo deliver`: sends publications (bot/publish.py), separately from `kyodo worker`'s replies.

For each due publication, in short transactions:
1. expand: its segment's residents into publication_recipients with INSERT ... SELECT, one users.id
   range at a time (the cursor is saved with each range, so a restart resumes; memory stays flat);
2. then, repeatedly, the next <= 500 due rows, checked at that moment in SQL: unfollowed and opted-out
   residents are skipped, residents inside their quiet hours are pushed back to the end of them (urgent
   ignores quiet hours), residents over the daily cap are skipped (urgent exempt); the rest become one
   outbox batch (multicast, or push for one) whose retry key is committed with the rows before any call;
3. sender threads send each batch (reading its LINE ids from the rows, so a resident deleted meanwhile
   is gone), paced at the configured calls per second. 429/5xx/timeouts: back off with jitter and resend
   with the same key (409 = delivered). Another 4xx fails that batch for good, with LINE's message and
   request id. A batch left unsent by a crash (SIGKILL) is resent with its key when the process starts.
"""
from __future__ import annotations

import logging
import os
import queue
import random
import signal
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import (Date, Integer, and_, bindparam, case, event, exists, func, insert, literal, or_, select, text,
                        update)
from sqlalchemy.orm import aliased

from bot.clock import TOKYO, utc
from bot.line_adapter import LineAdapter, LineError
from bot.logsafe import describe_exception
from bot.runtime import Runtime, build_runtime
from bot import segments
from bot.segments import Segment, recipients
from models.outbox import CANCELLED as B_CANCELLED, FAILED as B_FAILED, MULTICAST, PUSH, SENT as B_SENT
from models.outbox import OutboxBatch, OutboxMessage
from models.publications import (UNCAPPED_PURPOSES, BATCH_FANOUT, DONE, EXPANDING, OPEN_STATES, R_BATCHED, R_CAPPED, R_DELAYED,
                                 R_FAILED, R_OPTED_OUT, R_PENDING, R_SENT, R_UNFOLLOWED, SCHEDULED, SENDING, WAITING,
                                 Publication, PublicationRecipient, PushCount)
from models.registrations import CONFIRMED, OFFERED, Registration, RegistrationSlot
from models.subscriptions import DEFAULT_QUIET_END, DEFAULT_QUIET_START, Preference
from models.users import User

log = logging.getLogger("kyodo.deliver")

CHUNK = 500           # LINE's multicast limit
CHUNKS_PER_STEP = 8   # of one publication before looking again for a more urgent one
EXPAND_SPAN = 25_000  # users.id range per expansion transaction
# 429/5xx/timeouts are retried for as long as LINE is away (the backoff is capped), but not past the
# retry key's life: LINE keeps a key for 24 hours, after which a resend could deliver a second time.
KEY_LIFE_S = 23 * 3600
RECOVER_EVERY_S = 60.0  # how often the loop looks for batches a sender could not record
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.2, 10.0

PR = PublicationRecipient
LEASE_NAME = "deliver"  # scheduler/lease.py's table, its own row


class Pacer:
    """At most `rate` calls per second across all sender threads, evenly spaced (LINE counts per channel),
    and a shared pause after a 429: the limit is the channel's, so every thread waits."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            time.sleep(at - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


def _jit_off(dbapi_conn, _rec) -> None:
    with dbapi_conn.cursor() as cur:
        cur.execute("SET jit = off")
    dbapi_conn.commit()


def quiet_minute(now: datetime) -> int:
    t = utc(now).astimezone(TOKYO)
    return t.hour * 60 + t.minute


def quiet_end_after(now: datetime, end_minute: int) -> datetime:
    """The next time it is `end_minute` after midnight in Tokyo, after `now` (UTC)."""
    t = utc(now).astimezone(TOKYO)
    end = t.replace(hour=end_minute // 60, minute=end_minute % 60, second=0, microsecond=0)
    if end <= t:
        end = (end.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=TOKYO)
    return utc(end)


def day_start(now: datetime) -> datetime:
    """Midnight in Tokyo of `now`'s day, as UTC (the daily cap's day)."""
    t = utc(now).astimezone(TOKYO)
    return utc(t.replace(hour=0, minute=0, second=0, microsecond=0))


def jst_day(now: datetime) -> date:
    """The day in Tokyo of `now` (the daily cap's day, push_counts.jst_day)."""
    return utc(now).astimezone(TOKYO).date()


def _count_pushes(dialect: str):
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE: +1 on today's push_counts row of each resident in the
    batch just written (one statement per batch, in the batch's transaction, so a rollback takes it back)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    rows = select(PR.user_id, bindparam("jday", type_=Date()), literal(1)).where(
        PR.publication_id == bindparam("p"), PR.user_id.between(bindparam("lo"), bindparam("hi")),
        PR.batch_id == bindparam("bid"))
    t = PushCount.__table__  # Core, not the ORM's bulk insert (which refuses a SELECT with ON CONFLICT)
    stmt = upsert(t).from_select(["user_id", "jst_day", "n"], rows)
    return stmt.on_conflict_do_update(index_elements=[t.c.user_id, t.c.jst_day], set_={"n": t.c.n + 1})


# Built once (see _facts): the chunk's rows still due become the batch.
_BATCH_ROWS = (update(PR).where(PR.publication_id == bindparam("p"), PR.status.in_(WAITING),
                                PR.user_id.between(bindparam("lo"), bindparam("hi")),
                                PR.due_at <= bindparam("now", type_=PR.due_at.type))
               .values(status=R_BATCHED, batch_id=bindparam("bid"), sent_at=bindparam("now", type_=PR.sent_at.type))
               .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Job:
    """A written batch for a sender: its rows are the publication's between two users.ids with its batch id
    (found by the primary key; batch_id itself has no index)."""

    batch_id: int
    publication_id: int
    first_user: int
    last_user: int
    kind: str | None = None  # known when just written; None: read from the batch (a restart)
    retry_key: str | None = None
    message_id: int | None = None

    def rows(self):
        return and_(PR.publication_id == self.publication_id,
                    PR.user_id.between(self.first_user, self.last_user), PR.batch_id == self.batch_id)


GUARDED = (CONFIRMED, OFFERED)  # a guarded notice's registration still holds its place


class Fanout:
    """The delivery loop. `step()` does one unit of database work; sender threads make the calls."""

    def __init__(self, rt: Runtime, *, adapter: LineAdapter | None = None, threads: int | None = None,
                 rate: float | None = None, cap: int | None = None, rng=random.random) -> None:
        cfg = rt.config
        self.rt = rt
        self.threads = threads or cfg.fanout_threads
        self.cap = cfg.daily_push_cap if cap is None else cap
        # One try per call: retries are ours (jittered backoff, same key, forever-ish), not the adapter's.
        self.adapter = adapter or LineAdapter(cfg.with_(line_max_attempts=1,
                                                        delivery_threads=max(cfg.delivery_threads, self.threads + 2)))
        self.pacer = Pacer(cfg.fanout_rate_per_s if rate is None else rate)
        self.rng = rng
        self.queue: queue.Queue[Job | None] = queue.Queue(maxsize=self.threads * 2)
        self._inflight: set[int] = set()
        self._lock = threading.Lock()
        self._cursor: dict[int, int] = {}         # publication -> last users.id taken in this pass
        self._next_due: dict[int, datetime] = {}  # publication -> when its delayed rows come due
        self._messages: dict[int, list] = {}      # outbox message id -> its LINE messages (one per publication)
        self._facts_cache: dict[int, object] = {}  # publication -> its chunk query
        self._senders: list[threading.Thread] = []
        self._count_stmt = _count_pushes(rt.engine.dialect.name)
        self.stop = threading.Event()
        if rt.engine.dialect.name == "postgresql":
            # Short statements on a few hundred rows: PostgreSQL's JIT (on by default) would spend
            # more compiling them than running them.
            event.listen(rt.engine, "connect", _jit_off)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self, *, recover: bool = True) -> "Fanout":
        for n in range(self.threads):
            t = threading.Thread(target=self._sender, name=f"fanout-{n}", daemon=True)
            t.start()
            self._senders.append(t)
        if recover:
            self.recover()
        return self

    def shutdown(self, timeout: float = 10.0) -> None:
        for _ in self._senders:
            self.queue.put(None)
        deadline = time.monotonic() + timeout
        for t in self._senders:
            t.join(max(0.0, deadline - time.monotonic()))
        self._senders = []

    def recover(self, older_than_s: float | None = None) -> int:
        """Batches written but not confirmed (the process died, or a sender lost the database after the
        call): send them again with their own retry keys; LINE answers 409 for those it already had.
        `older_than_s`: only batches written that long ago and not in this process's hands (the loop's
        periodic look, so a lost database write does not wait for a restart)."""
        with self.rt.sessions() as db:
            stmt = select(OutboxBatch.id).where(OutboxBatch.status == BATCH_FANOUT).order_by(OutboxBatch.id)
            if older_than_s is not None:
                stmt = stmt.where(OutboxBatch.created_at < self.rt.now() - timedelta(seconds=older_than_s))
            with self._lock:
                inflight = set(self._inflight)
            ids = [i for i in db.scalars(stmt) if i not in inflight]
            # Where their rows are (batch_id has no index: one scan, at start only).
            jobs = {r[0]: Job(*r) for r in db.execute(
                select(PR.batch_id, PR.publication_id, func.min(PR.user_id), func.max(PR.user_id))
                .where(PR.batch_id.in_(ids)).group_by(PR.batch_id, PR.publication_id))} if ids else {}
        for bid in ids:
            if bid in jobs:
                self._submit(jobs[bid])
            else:  # everyone in it deleted their data meanwhile
                self._record(Job(bid, 0, 0, 0), B_CANCELLED, R_FAILED)
        if ids:
            log.info("deliver: resending %d unconfirmed batches with their retry keys", len(ids))
        return len(ids)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._inflight)

    def drain(self, timeout: float = 60.0) -> None:
        """Work until nothing is due and nothing is in flight (tests, `kyodo deliver --once`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.step():
                continue
            if self.busy():
                time.sleep(0.005)
            elif not self.step():  # one more look: a batch confirmed meanwhile may finish a publication
                return
        raise TimeoutError("fan-out did not drain")

    def run(self, poll_s: float = 0.5, may_run=None) -> None:
        """Loop until stopped. `may_run()`: whether this process holds the delivery lease; each time it
        comes to hold it, batches another holder left unconfirmed are resent first (with their keys)."""
        held = may_run is None
        last_recover = time.monotonic()
        while not self.stop.is_set():
            if may_run is not None:
                now_held = may_run()
                if not now_held:
                    held = False
                    self.stop.wait(poll_s)
                    continue
                if not held:
                    held = True
                    self.recover()
            try:
                if time.monotonic() - last_recover > RECOVER_EVERY_S:
                    last_recover = time.monotonic()
                    self.recover(older_than_s=RECOVER_EVERY_S)
                worked = self.step()
            except Exception as e:  # the database is away: try again shortly
                log.error("deliver: %s", describe_exception(e))
                worked = False
                self.stop.wait(2.0)
            if not worked:
                self.stop.wait(poll_s if not self.busy() else 0.02)

    # -- the database side -----------------------------------------------------------------------------------
    def step(self) -> bool:
        """One unit of work on the most urgent due publication; False if there was none."""
        now = self.rt.now()
        with self.rt.sessions() as db:
            pubs = db.execute(select(Publication.id, Publication.status)
                              .where(Publication.status.in_(OPEN_STATES), Publication.not_before <= now)
                              .order_by(Publication.urgent.desc(), Publication.not_before, Publication.id)
                              .limit(50)).all()
        for pid, status in pubs:
            if status in (SCHEDULED, EXPANDING):
                self._expand(pid, now)
                return True
            nxt = self._next_due.get(pid)
            if nxt is not None and nxt > now:
                continue
            pub = self._pub_info(pid)
            if pub is None:
                continue
            if not self._take_chunk(pid, pub, now):
                continue
            # Some more chunks of the same publication before looking for a more urgent one: the
            # list and the publication's row are read once per few thousand residents, not per 500.
            for _ in range(CHUNKS_PER_STEP - 1):
                if not self._take_chunk(pid, pub, now):
                    break
            return True
        return False

    def _pub_info(self, pid: int):
        with self.rt.sessions() as db:
            pub = db.execute(select(Publication.urgent, Publication.topic, Publication.frequencies,
                                    Publication.message_id, Publication.status,
                                    Publication.purpose.in_(UNCAPPED_PURPOSES).label("personal"),
                                    Publication.guard_registration_id.label("guard"))
                             .where(Publication.id == pid)).one()
            if pub.status != SENDING:
                return None
            if pub.message_id not in self._messages:
                if len(self._messages) > 64:  # a long-running process: forget finished ones now and then
                    self._messages.clear()
                    self._facts_cache.clear()
                self._messages[pub.message_id] = db.scalar(select(OutboxMessage.messages)
                                                           .where(OutboxMessage.id == pub.message_id))
            return pub

    def _expand(self, pid: int, now: datetime) -> None:
        with self.rt.sessions() as db:
            pub = db.get(Publication, pid)
            if pub.status == SCHEDULED:
                db.execute(update(Publication).where(Publication.id == pid, Publication.status == SCHEDULED)
                           .values(status=EXPANDING))
            lo = pub.expanded_to
            top = db.scalar(select(func.max(User.id))) or 0
            if lo >= top:
                # Everyone is in: the outbox message every batch will point at, and sending starts.
                msg_id = db.execute(insert(OutboxMessage).values(purpose=pub.purpose[:32], messages=pub.messages,
                                                                 created_at=now)
                                    .returning(OutboxMessage.id)).scalar_one()
                n = db.execute(update(Publication).where(Publication.id == pid, Publication.status.in_((SCHEDULED, EXPANDING)))
                               .values(status=SENDING, message_id=msg_id, started_at=now)).rowcount
                if n:
                    db.commit()
                    self._cursor[pid] = 0
                    if db.get_bind().dialect.name == "postgresql":
                        # Thousands of rows just arrived: without fresh statistics the planner may sort
                        # the whole publication for every chunk of 500.
                        with self.rt.autocommit_engine.connect() as conn:
                            conn.execute(text("ANALYZE publication_recipients"))
                else:
                    db.rollback()  # cancelled meanwhile
                return
            hi = lo + EXPAND_SPAN
            seg = Segment.from_json(pub.segment)
            if seg.user_ids:
                # Explicit residents (a digest group, a test send): only this range's ids go into the
                # statement, so a list of 100,000 never meets the databases' limit on parameters
                # (SQLite 32,766, PostgreSQL 65,535); EXPAND_SPAN keeps each range under both.
                seg = replace(seg, user_ids=tuple(u for u in seg.user_ids if lo < u <= hi))
            if seg.user_ids or not Segment.from_json(pub.segment).user_ids:
                who = recipients(seg, topic=pub.topic, frequencies=tuple(pub.frequencies), urgent=pub.urgent)
                who = who.order_by(None).where(User.id > lo, User.id <= hi).with_only_columns(
                    literal(pid, PR.publication_id.type), User.id, literal(R_PENDING, PR.status.type),
                    bindparam("due", now, type_=PR.due_at.type))
                db.execute(insert(PR).from_select(["publication_id", "user_id", "status", "due_at"], who))
            n = db.execute(update(Publication).where(Publication.id == pid, Publication.status.in_((SCHEDULED, EXPANDING)))
                           .values(expanded_to=hi)).rowcount
            if n:
                db.commit()
            else:
                db.rollback()

    def _take_chunk(self, pid: int, pub, now: datetime) -> bool:
        """The next <= 500 due rows after this pass's cursor, checked and batched in one transaction.
        False when the pass found nothing (then: done, waiting for delayed rows, or batches in flight)."""
        after = self._cursor.get(pid, 0)
        with self.rt.sessions() as db:
            # One query reads each resident's state now: following, still wanting it, inside quiet
            # hours (then: when they end), over today's cap. Python sorts; a few UPDATEs write it.
            stmt = self._facts_cache.get(pid)
            if stmt is None:
                stmt = self._facts_cache[pid] = self._facts(pid, pub)
            rows = db.execute(stmt, {"after": after, "now": now, "jday": jst_day(now),
                                     "minute": quiet_minute(now)}).all()
            if not rows:
                db.rollback()
                return self._end_of_pass(pid, now, after)
            send: list[int] = []
            marks: dict[tuple, list[int]] = defaultdict(list)
            for uid, active, wants, quiet_end, capped in rows:
                if not active:
                    marks[(R_UNFOLLOWED, None)].append(uid)
                elif not wants:
                    marks[(R_OPTED_OUT, None)].append(uid)
                elif quiet_end is not None:
                    marks[(R_DELAYED, quiet_end_after(now, int(quiet_end)))].append(uid)
                elif capped:
                    marks[(R_CAPPED, None)].append(uid)
                else:
                    send.append(uid)
            mine = and_(PR.publication_id == pid, PR.status.in_(WAITING))
            for (status, until), uids in marks.items():
                values = {"status": status} if until is None else {"status": status, "due_at": until,
                                                                   "delayed_until": until}
                db.execute(update(PR).where(mine, PR.user_id.in_(uids)).values(**values)
                           .execution_options(synchronize_session=False))
            bid = None
            kind, key = PUSH if len(send) == 1 else MULTICAST, str(uuid.uuid4())
            if send:
                bid = db.execute(insert(OutboxBatch).values(
                    message_id=pub.message_id, kind=kind, recipient_count=len(send),
                    retry_key=key, status=BATCH_FANOUT, attempts=0, created_at=now,
                    next_attempt_at=now).returning(OutboxBatch.id)).scalar_one()
                # The rows left due in the chunk's range are exactly `send` (the others changed state or
                # due time above); a range, not 500 parameters the driver would parse every time.
                n = db.execute(_BATCH_ROWS, {"p": pid, "lo": rows[0][0], "hi": rows[-1][0], "now": now,
                                             "bid": bid}).rowcount
                if n != len(send):  # another process took some of them meanwhile: leave them to it
                    db.rollback()
                    return True
                if not (pub.urgent or pub.personal):  # the daily cap's count (緊急 and personal: not counted)
                    db.execute(self._count_stmt, {"p": pid, "lo": rows[0][0], "hi": rows[-1][0], "bid": bid,
                                                  "jday": jst_day(now)})
            db.commit()  # the retry key is stored before the call
        self._cursor[pid] = rows[-1][0]
        if bid is not None:
            self._submit(Job(bid, pid, send[0], send[-1], kind, key, pub.message_id))
        return True

    def _facts(self, pid: int, pub):
        """SELECT user_id, active, wants (notifications on, topic chosen), quiet_end (set when inside quiet
        hours now), capped (today's pushes >= the cap): the next CHUNK due rows after users.id :after.
        Built once per publication (parameters :after, :now, :day, :minute): building and keying a
        statement this size costs more Python than PostgreSQL spends running it."""
        now = bindparam("now", type_=PR.due_at.type)
        after = bindparam("after", type_=PR.user_id.type)
        qp = aliased(Preference)
        # bot.segments' rule, on the joined preferences row (read per chunk, a correlated subquery would
        # look the row up once more for every resident).
        wants = segments.wants(topic=pub.topic, frequencies=tuple(pub.frequencies), urgent=pub.urgent,
                               user_id=PR.user_id, frequency=qp.frequency, topics_chosen=qp.topics_chosen)
        if pub.guard is not None:
            # A reminder: only while its registration still holds a place and before the start (a cancelled
            # sign-up hears nothing more; a reminder held by quiet hours past the start is not sent).
            wants = and_(wants, exists().where(Registration.id == pub.guard, Registration.status.in_(GUARDED),
                                               RegistrationSlot.id == Registration.slot_id,
                                               RegistrationSlot.starts_at > now))
        if pub.urgent:  # 緊急: no quiet hours, no cap
            quiet_col, capped_col = literal(None, Preference.quiet_end.type), literal(False)
        else:
            no_pref = qp.user_id.is_(None)  # no row: the default quiet hours
            start = case((no_pref, DEFAULT_QUIET_START), else_=qp.quiet_start)
            end = case((no_pref, DEFAULT_QUIET_END), else_=qp.quiet_end)
            m = bindparam("minute", type_=Integer())
            inside = and_(start.is_not(None), end.is_not(None),
                          or_(and_(start < end, start <= m, end > m),        # e.g. 13:00-15:00
                              and_(start > end, or_(start <= m, end > m))))  # e.g. 21:00-8:00, over midnight
            quiet_col = case((inside, end), else_=None)
            # Today's count is one primary-key row (push_counts), however long the resident's history: a
            # count over their publication rows read every row they ever had, per chunk. 緊急 pushes are
            # not counted: three typhoon warnings must not silence the day's other news. Nor are pushes
            # about the resident's own registration (a reminder, a place freed): they asked for those.
            today = (select(PushCount.n).where(PushCount.user_id == PR.user_id,
                                               PushCount.jst_day == bindparam("jday", type_=Date()))
                     .scalar_subquery())
            capped_col = (func.coalesce(today, 0) >= self.cap) if self.cap > 0 and not pub.personal \
                else literal(False)
        return (select(PR.user_id, User.active, case((wants, True), else_=False), quiet_col, capped_col)
                .join(User, User.id == PR.user_id).outerjoin(qp, and_(qp.user_id == PR.user_id, qp.user_id > after))
                # The bound on every side of the joins: PostgreSQL does not carry it over by itself, and a
                # merge join would read users and preferences from the first id for every chunk.
                .where(PR.publication_id == pid, PR.status.in_(WAITING), PR.due_at <= now, PR.user_id > after,
                       User.id > after)
                .order_by(PR.user_id).limit(CHUNK))

    def _end_of_pass(self, pid: int, now: datetime, after: int) -> bool:
        """Nothing more due after the cursor. Start a new pass if rows came due meanwhile; else finish the
        publication once no batch is in flight, or sleep on it until its delayed rows come due."""
        with self.rt.sessions() as db:
            waiting_due = db.scalar(select(func.min(PR.due_at)).where(PR.publication_id == pid, PR.status.in_(WAITING)))
            in_flight = db.scalar(select(func.count()).select_from(PR)
                                  .where(PR.publication_id == pid, PR.status == R_BATCHED)) or 0
            if waiting_due is not None:
                self._cursor[pid] = 0
                if utc(waiting_due) <= now:
                    return after > 0  # a new pass from the start (if this was not already one)
                self._next_due[pid] = utc(waiting_due)
                return False
            if in_flight:
                return False
            n = db.execute(update(Publication).where(Publication.id == pid, Publication.status == SENDING)
                           .values(status=DONE, finished_at=now)).rowcount
            db.commit()
        self._cursor.pop(pid, None)
        self._next_due.pop(pid, None)
        if n:
            log.info("deliver: publication %s done", pid)
        return bool(n)

    # -- the LINE side ---------------------------------------------------------------------------------------
    def _submit(self, job: "Job") -> None:
        with self._lock:
            if job.batch_id in self._inflight:
                return
            self._inflight.add(job.batch_id)
        self.queue.put(job)  # blocks when the senders are behind: memory stays flat

    def _sender(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            try:
                self.send(job)
            except Exception as e:  # the database went away: the batch stays `fanout`, resent at next start
                log.error("deliver: batch %s: %s", job.batch_id, describe_exception(e))
            finally:
                with self._lock:
                    self._inflight.discard(job.batch_id)

    def send(self, job: "Job") -> str:
        """Send one written batch until LINE accepts it (or refuses it for good); record the outcome."""
        bid = job.batch_id
        with self.rt.engine.connect() as conn:
            if job.kind is None:  # a batch found at start: what the producer would have handed over
                b = conn.execute(select(OutboxBatch.kind, OutboxBatch.retry_key, OutboxBatch.status,
                                        OutboxBatch.message_id).where(OutboxBatch.id == bid)).one()
                if b.status != BATCH_FANOUT:
                    return b.status
                job = Job(bid, job.publication_id, job.first_user, job.last_user, b.kind, b.retry_key, b.message_id)
            messages = self._messages.get(job.message_id)
            if messages is None:
                messages = self._messages[job.message_id] = conn.scalar(
                    select(OutboxMessage.messages).where(OutboxMessage.id == job.message_id))
            # The LINE ids from the rows, now: a resident deleted since the batch was written is gone.
            to = list(conn.scalars(select(User.line_user_id).join(PR, PR.user_id == User.id)
                                   .where(job.rows(), PR.status == R_BATCHED,
                                          User.id.between(job.first_user, job.last_user)).order_by(User.id)))
        if not to:  # everyone in it deleted their data meanwhile
            self._record(job, B_CANCELLED, R_FAILED)
            return B_CANCELLED
        tries, started = 0, time.monotonic()
        while True:
            tries += 1
            self.pacer.wait()
            try:
                if job.kind == PUSH:
                    result = self.adapter.push(to[0], messages, job.retry_key)
                else:
                    result = self.adapter.multicast(to, messages, job.retry_key)
            except LineError as e:
                # LINE's monthly message limit answers 429 too, and stays until the month ends.
                for_good = e.status == 429 and "monthly limit" in str(e).lower()
                if e.retryable and not for_good and time.monotonic() - started < KEY_LIFE_S \
                        and not self.stop.is_set():
                    wait = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(tries - 1, 8)) * (0.5 + self.rng() / 2)
                    if e.retry_after:
                        wait = max(wait, e.retry_after * (1 + self.rng() / 5))
                    if e.status == 429:
                        self.pacer.pause(wait)  # the channel's limit: every thread waits
                    log.warning("deliver: batch %s: %s; again in %.2f s", bid, e, wait)
                    time.sleep(wait)
                    continue
                if e.retryable and self.stop.is_set():  # left `fanout`: resent when delivery starts again
                    return BATCH_FANOUT
                log.error("deliver: batch %s failed for good: %s (request %s)", bid, e, e.request_id)
                self._record(job, B_FAILED, R_FAILED, error=str(e)[:1000], request_id=e.request_id, tries=tries)
                return B_FAILED
            except Exception as e:  # our side (a body the SDK refuses...): trying again cannot help
                log.error("deliver: batch %s failed: %s", bid, describe_exception(e))
                self._record(job, B_FAILED, R_FAILED, error=describe_exception(e)[:1000], tries=tries)
                return B_FAILED
            self._record(job, B_SENT, R_SENT, request_id=result.request_id, tries=tries)
            return B_SENT

    def _record(self, job: "Job", status: str, row_status: str, *, error: str | None = None,
                request_id: str | None = None, tries: int = 0) -> None:
        now, bid = self.rt.now(), job.batch_id
        with self.rt.engine.begin() as conn:
            if row_status == R_FAILED and job.publication_id:
                # Refused for good: these residents got nothing, so the batch's day gives their count back.
                written = conn.scalar(select(OutboxBatch.created_at).where(OutboxBatch.id == bid))
                uncounted = conn.scalar(select(or_(Publication.urgent, Publication.purpose.in_(UNCAPPED_PURPOSES)))
                                        .where(Publication.id == job.publication_id))
                if written is not None and not uncounted:
                    conn.execute(update(PushCount).where(
                        PushCount.jst_day == jst_day(written), PushCount.n > 0,
                        PushCount.user_id.in_(select(PR.user_id).where(job.rows(), PR.status == R_BATCHED)))
                        .values(n=PushCount.n - 1))
            conn.execute(update(OutboxBatch).where(OutboxBatch.id == bid)
                         .values(status=status, sent_at=now if status == B_SENT else None, request_id=request_id,
                                 last_error=error, attempts=OutboxBatch.attempts + tries))
            values = {"status": row_status}
            if row_status == R_SENT:
                values["sent_at"] = now
            conn.execute(update(PR).where(job.rows(), PR.status == R_BATCHED).values(**values))


def run(config, *, nice: int = 19, once: bool = False, poll_s: float = 0.5) -> int:
    """`kyodo deliver`: lower priority than the web and `kyodo worker` (replies win the CPU)."""
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    from scheduler.lease import Lease

    rt = build_runtime(config)
    fan = Fanout(rt)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: fan.stop.set())
    # One delivering process at a time (a database lease, as for `kyodo scheduler`): a second one started
    # by mistake stands by, so it neither resends the first one's in-flight batches nor races its daily
    # cap counts; it takes over when the first stops (at once) or dies (after the lease's lifetime).
    lease = Lease(rt.engine, rt.now, ttl_s=config.scheduler_lease_s, name=LEASE_NAME).start()
    fan.start(recover=False)
    log.info("deliver started (%d threads, %.0f calls/s, daily cap %d)%s", fan.threads,
             config.fanout_rate_per_s, fan.cap, "" if lease.held() else "; standing by: another process delivers")
    try:
        if once:
            while not lease.held() and not fan.stop.wait(0.2):
                pass
            fan.recover()
            fan.drain(timeout=24 * 3600)
        else:
            fan.run(poll_s, may_run=lease.held)
    except KeyboardInterrupt:
        fan.stop.set()
    finally:
        fan.shutdown()
        lease.stop()
        rt.close()
    return 0


__all__ = ["Fanout", "Pacer", "day_start", "jst_day", "quiet_end_after", "run"]
