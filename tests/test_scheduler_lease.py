"""Exactly one scheduler runs the jobs, and runs missed during downtime run once.

Two schedulers here are two runners with their own engines (their own connection pools, as two
processes would have) on the same database, each with the real APScheduler, the real lease and the real
calendar jobs. The clock is frozen: the lease's expiry and the calendar's slots follow it, so a crash and a
three-week outage are a clock step, not a wait.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import TOKYO, FrozenClock, utc
from bot.config import ConfigError
from bot.publish import publish
from bot.runtime import build_runtime
from bot.segments import Segment
from models.publications import Publication
from models.scheduling import JobRun, SchedulerLease
from scheduler import digest, fiscal_year, runner
from scheduler.lease import CronJob, Lease, claim_slot, latest_slot, run_slot, try_acquire
from tests.conftest import make_config
from tests.test_fiscal_year_push import load_plan, resident

TTL = 0.6  # seconds: standbys retry every 0.2 s


@pytest.fixture
def runtimes(bot, database_url, emulator):
    """Two more runtimes on the bot's (wiped) database, each with its own engine, sharing one frozen clock."""
    clock = FrozenClock(datetime(2026, 4, 1, 10, 0, tzinfo=TOKYO))
    made = [build_runtime(make_config(database_url, emulator.base_url), clock=clock) for _ in range(2)]
    yield clock, made
    for rt in made:
        rt.close()


def wait_for(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def count(rt, stmt) -> int:
    with rt.sessions() as db:
        return db.scalar(stmt) or 0


def test_the_lease_has_one_holder_expires_when_not_renewed_and_is_handed_over_on_release(runtimes):
    clock, (rt_a, rt_b) = runtimes
    a, b = Lease(rt_a.engine, clock, ttl_s=30), Lease(rt_b.engine, clock, ttl_s=30)
    assert a.confirm() and a.held()
    assert not b.confirm() and not b.held()
    clock.advance(seconds=29)
    assert a.confirm()                 # renewed: good for another 30 s from now
    clock.advance(seconds=29)
    assert not b.confirm()
    clock.advance(seconds=2)           # a stopped renewing 31 s ago: a crash, as far as b can tell
    assert b.confirm()
    assert not a.confirm() and not a.held()
    b.stop()                           # a clean stop hands over at once
    assert a.confirm()
    with rt_a.sessions() as db:
        row = db.get(SchedulerLease, "scheduler")
        assert row.holder == a.holder and utc(row.acquired_at) == clock.now()


def test_processes_racing_for_a_free_lease_get_exactly_one_holder(runtimes):
    clock, (rt_a, rt_b) = runtimes
    for round_ in range(5):
        clock.advance(seconds=60)  # whoever held it last round has expired
        start = threading.Barrier(8)
        won: list[str] = []

        def race(i: int) -> None:
            engine = (rt_a, rt_b)[i % 2].engine
            start.wait()
            if try_acquire(engine, f"racer-{round_}-{i}", clock.now(), 30):
                won.append(f"racer-{round_}-{i}")

        threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, won
        with rt_a.sessions() as db:
            assert db.get(SchedulerLease, "scheduler").holder == won[0]


def test_a_slot_is_claimed_once_and_a_rolled_back_claim_leaves_it_free(runtimes):
    clock, (rt_a, rt_b) = runtimes
    slot = datetime(2026, 3, 27, 18, 0, tzinfo=TOKYO)
    with rt_a.sessions() as db:
        assert claim_slot(db, "job", slot, "a", clock.now())
        db.rollback()  # the job failed: its effects and its claim go together
    with rt_a.sessions() as db:
        assert claim_slot(db, "job", slot, "a", clock.now())
        db.commit()
    with rt_b.sessions() as db:
        assert not claim_slot(db, "job", slot, "b", clock.now())
        assert not claim_slot(db, "job", slot - timedelta(days=7), "b", clock.now())
        assert claim_slot(db, "job", slot + timedelta(days=7), "b", clock.now())
        db.commit()


def test_latest_slot_is_the_last_fire_at_or_before_now():
    weekly = digest.trigger("fri 18:00")
    assert latest_slot(weekly, datetime(2026, 5, 25, 10, tzinfo=TOKYO)) == datetime(2026, 5, 22, 18, tzinfo=TOKYO)
    assert latest_slot(weekly, datetime(2026, 5, 22, 18, tzinfo=TOKYO)) == datetime(2026, 5, 22, 18, tzinfo=TOKYO)
    assert latest_slot(weekly, datetime(2026, 5, 22, 17, 59, tzinfo=TOKYO)) == datetime(2026, 5, 15, 18, tzinfo=TOKYO)
    assert latest_slot(fiscal_year.TRIGGER, datetime(2027, 3, 31, 23, tzinfo=TOKYO)) == \
        datetime(2026, 4, 1, 9, tzinfo=TOKYO)
    with pytest.raises(ConfigError, match="KYODO_DIGEST_AT"):
        digest.trigger("friday at six")
    assert digest.trigger("off") is None


def test_down_for_three_weeks_the_digest_runs_once_on_start(runtimes):
    clock, (rt, _) = runtimes
    ran: list[datetime] = []
    job = CronJob("weekly_digest", lambda _rt, _db, slot, _previous: ran.append(slot), digest.trigger("fri 18:00"),
                  digest.PERIOD)
    clock.set(datetime(2026, 5, 1, 18, 0, 5, tzinfo=TOKYO))
    assert run_slot(rt, job, "a")      # the last digest before the outage
    clock.set(datetime(2026, 5, 25, 10, 0, tzinfo=TOKYO))  # back after 3 weeks: 8, 15 and 22 May were missed

    lease = Lease(rt.engine, clock, ttl_s=TTL)
    sched = runner.build_scheduler(rt, [("noop", lambda _rt: None, 3600)], lease=lease, cron=[job], background=True)
    sched.start()
    lease.start()  # takes the lease: the catch-up runs in the scheduler
    try:
        wait_for(lambda: len(ran) == 2)
        time.sleep(0.5)  # renewals keep coming; nothing more may run
    finally:
        sched.shutdown(wait=True)
        lease.stop()
    assert ran == [datetime(2026, 5, 1, 18, tzinfo=TOKYO), datetime(2026, 5, 22, 18, tzinfo=TOKYO)]
    assert not run_slot(rt, job, "b")  # a second start finds nothing missed
    with rt.sessions() as db:
        assert utc(db.get(JobRun, "weekly_digest").slot_at) == datetime(2026, 5, 22, 18, tzinfo=TOKYO)


def test_two_schedulers_at_once_run_each_job_once_and_the_standby_takes_over_after_a_crash(runtimes, emulator):
    clock, (rt_a, rt_b) = runtimes
    load_plan(rt_a)
    with rt_a.sessions() as db:
        resident(db, projects=(1, 3), topics=("progress",))
        weekly = resident(db, districts=("kozu",), frequency="weekly")
        publish(db, messages=[{"type": "text", "text": "国府津地区の清掃活動のお知らせです。"}],
                segment=Segment(districts=("kozu",)), topic="city", when=datetime(2026, 3, 25, 12, tzinfo=TOKYO),
                now=clock.now(), title="国府津地区の清掃活動")
        db.commit()
    ran: dict[str, list[str]] = {"a": [], "b": []}

    def scheduler_for(name: str, rt):
        lease = Lease(rt.engine, clock, ttl_s=TTL)
        sweep = ("sweep", lambda _rt: ran[name].append("sweep"), 0.1)
        sched = runner.build_scheduler(rt, [sweep], lease=lease, cron=[fiscal_year.JOB, digest.job("fri 18:00")],
                                       background=True)
        return sched, lease

    (sa, la), (sb, lb) = scheduler_for("a", rt_a), scheduler_for("b", rt_b)
    start = threading.Barrier(2)

    def go(sched, lease):
        start.wait()
        sched.start()
        lease.start()

    threads = [threading.Thread(target=go, args=pair) for pair in ((sa, la), (sb, lb))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        fiscal = select(func.count()).select_from(Publication).where(Publication.purpose == "fiscal_year")
        digests = select(func.count()).select_from(Publication).where(Publication.purpose == "digest")
        wait_for(lambda: count(rt_a, fiscal) > 0 and count(rt_a, digests) > 0)
        time.sleep(1.0)
        assert la.held() != lb.held()
        holder, standby = ("a", "b") if la.held() else ("b", "a")
        assert len(ran[holder]) >= 5 and ran[standby] == []
        with rt_a.sessions() as db:
            refs = sorted(db.scalars(select(Publication.ref).where(Publication.purpose == "fiscal_year")))
            runs = {r.job: r.holder for r in db.scalars(select(JobRun))}
            digest_users = [Segment.from_json(p.segment).user_ids
                            for p in db.scalars(select(Publication).where(Publication.purpose == "digest"))]
        assert refs == [fiscal_year.ref(2026, (1, 3))]  # one message per set of followed projects
        assert digest_users == [(weekly.id,)]
        winner = (la, lb)[holder == "b"].holder
        assert runs == {"fiscal_year": winner, "weekly_digest": winner}

        # The holder dies without a word (no release): the standby takes over once the lease expires.
        dead_sched, dead_lease = (sa, la) if holder == "a" else (sb, lb)
        dead_sched.shutdown(wait=True)
        dead_lease.stop(release_it=False)
        before = len(ran[holder])
        time.sleep(0.5)
        assert ran[standby] == []          # the lease has not expired on the (frozen) clock
        clock.advance(seconds=2)
        wait_for(lambda: len(ran[standby]) >= 3)
        assert len(ran[holder]) == before
        assert count(rt_a, fiscal) == 1    # the slots ran already: the new holder does not run them again
        assert count(rt_a, digests) == 1
    finally:
        for sched, lease in ((sa, la), (sb, lb)):
            if sched.running:
                sched.shutdown(wait=True)
            lease.stop()


def test_a_step_that_fails_at_start_does_not_keep_the_catch_up_from_running(runtimes, caplog):
    clock, (rt, _) = runtimes
    ran: list[datetime] = []
    job = CronJob("weekly_digest", lambda _rt, _db, slot, _previous: ran.append(slot), digest.trigger("fri 18:00"),
                  digest.PERIOD)

    def broken_sweep(_rt):
        raise ZeroDivisionError("division by zero")

    runner.on_lease_taken(rt, [("sweep_webhooks", broken_sweep, 30)], [job], "a")
    assert ran == [datetime(2026, 3, 27, 18, tzinfo=TOKYO)]
    assert "sweep_webhooks failed at start: ZeroDivisionError" in caplog.text
