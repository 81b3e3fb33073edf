"""Exactly once, in the database: which `kyodo scheduler` runs jobs (the lease), and which scheduled run
of a cron job has happened (its slot in job_runs).

The lease is one row taken with a conditional UPDATE (free, expired, or already ours) or, the first time,
an INSERT that only one process can win. The holder renews it every third of its lifetime from a thread of
its own; a holder that stops renewing (crashed, frozen) loses it when it expires and a standby takes over.
Before each job the runner renews it in the database (`confirm`), so a process that lost the lease while
paused runs nothing. What a job does while the lease changes hands is still guarded by the job itself:
cron slots are claimed in job_runs, publications carry a unique ref, sweeps claim rows conditionally.

Times are the app's clock (bot/clock.py, frozen in tests); schedulers on different hosts need their clocks
in NTP sync to well under the lease's lifetime.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import case, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import Clock, to_tokyo, utc
from models.scheduling import JobRun, SchedulerLease

log = logging.getLogger("kyodo.scheduler")

LEASE = "scheduler"
RELEASED = datetime(2000, 1, 1, tzinfo=timezone.utc)  # an expiry in the past: free for the next taker


def holder_id() -> str:
    """host:pid:random, so two processes (or two runners in one test process) never share an identity."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire(engine: Engine, holder: str, now: datetime, ttl_s: float, name: str = LEASE) -> bool:
    """Take or renew the lease until now + ttl; False while another holder's lease is unexpired."""
    now = utc(now)
    t = SchedulerLease.__table__
    until = now + timedelta(seconds=ttl_s)
    with engine.begin() as conn:
        # PostgreSQL: a concurrent taker waits on the row lock, then re-reads the WHERE and finds it taken.
        got = conn.execute(update(t).where(t.c.name == name, or_(t.c.holder == holder, t.c.expires_at < now))
                           .values(holder=holder, expires_at=until, renewed_at=now,
                                   acquired_at=case((t.c.holder == holder, t.c.acquired_at), else_=now))).rowcount
        if got:
            return True
        if conn.execute(select(t.c.name).where(t.c.name == name)).first() is not None:
            return False
    try:
        with engine.begin() as conn:
            conn.execute(insert(t).values(name=name, holder=holder, expires_at=until, acquired_at=now, renewed_at=now))
        return True
    except IntegrityError:  # another process inserted it first
        return False


def release(engine: Engine, holder: str, now: datetime, name: str = LEASE) -> None:
    """On a clean stop: hand the lease over at once instead of after it expires."""
    t = SchedulerLease.__table__
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.name == name, t.c.holder == holder)
                     .values(expires_at=RELEASED, renewed_at=utc(now)))


class Lease:
    """This process's side of the lease: a renewing thread, `held()` for a cheap local answer and
    `confirm()` (one UPDATE) before anything that must not run twice."""

    def __init__(self, engine: Engine, clock: Clock, *, ttl_s: float = 30.0, holder: str | None = None,
                 name: str = LEASE, on_acquired: Callable[[], None] | None = None) -> None:
        self.engine, self.clock, self.ttl_s, self.name = engine, clock, ttl_s, name
        self.holder = holder or holder_id()
        self.on_acquired = on_acquired
        self._valid_until = 0.0  # time.monotonic() until which our last successful renewal holds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def held(self) -> bool:
        return time.monotonic() < self._valid_until

    def confirm(self) -> bool:
        """Renew in the database now; True when this process holds the lease."""
        with self._lock:
            was = self.held()
            start = time.monotonic()
            try:
                ok = try_acquire(self.engine, self.holder, self.clock(), self.ttl_s, self.name)
            except Exception as e:  # database unreachable: we cannot know, so we do not run
                log.warning("%s lease: could not reach the database (%s)", self.name, type(e).__name__)
                ok = False
            # Count the lifetime from before the round trip, less a margin, so our view never outlives the row.
            self._valid_until = start + self.ttl_s * 0.9 if ok else 0.0
        if ok and not was:
            log.info("%s lease taken: this process runs the %s", self.name, self.name == LEASE and "jobs" or "deliveries")
            if self.on_acquired is not None:
                self.on_acquired()
        elif was and not ok:
            log.warning("%s lease lost: another process takes over", self.name)
        return ok

    def start(self) -> "Lease":
        """Try now, then renew (or keep trying, as a standby) every third of the lifetime."""
        self.confirm()
        self._thread = threading.Thread(target=self._loop, name="scheduler-lease", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            self.confirm()

    def stop(self, *, release_it: bool = True) -> None:
        """Stop renewing; `release_it=False` leaves the row to expire, as a crash would."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.ttl_s)
        with self._lock:
            if release_it and self.held():
                release(self.engine, self.holder, self.clock(), self.name)
            self._valid_until = 0.0


# -- cron slots ---------------------------------------------------------------------------------------------------

def last_slot(db: Session, job: str) -> datetime | None:
    at = db.scalar(select(JobRun.slot_at).where(JobRun.job == job))
    return utc(at) if at is not None else None


def claim_slot(db: Session, job: str, slot: datetime, holder: str, now: datetime) -> bool:
    """Mark `slot` as run for `job` in the caller's transaction, unless it (or a later one) already is.

    Commit it with the job's effects: a crash before the commit leaves the slot free for the next start,
    and a second process claiming the same slot waits for the first one's commit (row lock; SQLite's one
    writer) and then finds it taken.
    """
    slot, now = utc(slot), utc(now)
    t = JobRun.__table__
    got = db.execute(update(t).where(t.c.job == job, t.c.slot_at < slot)
                     .values(slot_at=slot, started_at=now, finished_at=None, holder=holder)).rowcount
    if got:
        return True
    if db.scalar(select(t.c.job).where(t.c.job == job)) is not None:
        return False
    try:
        with db.begin_nested():
            db.execute(insert(t).values(job=job, slot_at=slot, started_at=now, holder=holder))
        return True
    except IntegrityError:
        return False


def finish_slot(db: Session, job: str, now: datetime) -> None:
    db.execute(update(JobRun).where(JobRun.job == job).values(finished_at=utc(now)))


@dataclass(frozen=True)
class CronJob:
    """A job on the calendar (Asia/Tokyo). `fn(rt, db, slot, previous)` writes its effects in `db`; they
    commit together with the slot's claim. `previous`: the slot it last ran for (None the first time), so a
    job covering a period can start where the last run ended after downtime. A slot older than `grace` is
    not run any more (its news is stale)."""

    id: str
    fn: Callable[..., object]
    trigger: CronTrigger
    grace: timedelta


# How far back to look for the latest slot, widening until one is found (hourly .. yearly jobs).
_LOOKBACK = (timedelta(hours=2), timedelta(days=2), timedelta(days=8), timedelta(days=32), timedelta(days=367),
             timedelta(days=366 * 4 + 1))


def latest_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The trigger's latest fire time at or before `now` (UTC), or None if it never fired in 4 years."""
    now = utc(now)
    for back in _LOOKBACK:
        t = trigger.get_next_fire_time(None, now - back)
        if t is not None and t <= now:
            break
    else:
        return None
    while True:
        nxt = trigger.get_next_fire_time(t, t + timedelta(microseconds=1))
        if nxt is None or nxt > now:
            return utc(t)
        t = nxt


def run_slot(rt, job: CronJob, holder: str, now: datetime | None = None) -> bool:
    """Run `job` for its latest slot unless that slot already ran: the scheduled fire and the catch-up
    after downtime are this same call, so any number of missed slots run once, as the latest."""
    now = utc(now or rt.now())
    slot = latest_slot(job.trigger, now)
    if slot is None or now - slot > job.grace:
        return False
    with rt.sessions() as db:
        done = last_slot(db, job.id)
        if done is not None and done >= slot:
            return False
        if not claim_slot(db, job.id, slot, holder, now):
            return False
        job.fn(rt, db, slot, done)
        finish_slot(db, job.id, rt.now())
        db.commit()
    log.info("%s: ran for %s", job.id, to_tokyo(slot).isoformat())
    return True
